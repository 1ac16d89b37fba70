// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The README's pool commands on a machine without device-dax: format keeps
 * the stand-in, so df, regions, alloc, free and check find the pool in
 * later runs; destroy-device releases it.  Read-only commands take no
 * huge pages.  In a private run folder.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include "ctl-json.h"
#include "run-ctl.h"

static struct ctl_run r;
static char rundir[] = "/tmp/daxalloc-cli-standin-XXXXXX";

static void setup(void)
{
	if (access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) != 0)
		cr_skip_test("this kernel offers no 2M huge pages");
	cr_assert_not_null(mkdtemp(rundir));
	setenv("DAXALLOC_RUNDIR", rundir, 1);
}

static void teardown(void)
{
	char cmd[128];

	/* whatever a failed case left kept */
	ctl_runl(&r, "destroy-device", "hugetlb:2M", "--destroy-data", NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", rundir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", rundir);
}

TestSuite(cli_standin, .init = setup, .fini = teardown, .timeout = 120);

/* Runs daxalloc-ctl ARGS... --json: it must succeed and print one JSON value. */
static struct json_object *run_json(const char *const *args)
{
	ctl_run(&r, args, 0);
	return ctl_json(&r);
}

Test(cli_standin, pool_commands_across_runs)
{
	struct json_object *o;
	char lf[32];

	if (geteuid() != 0)
		cr_skip_test("keeping a stand-in mounts hugetlbfs: needs root");
	o = run_json((const char *const[]){ "format", "hugetlb:2M:32M", "--json", NULL });
	cr_expect_eq(ctl_json_u64(o, "unit"), 2u << 20);
	cr_expect_eq(ctl_json_u64(o, "capacity"), 30u << 20);
	json_object_put(o);

	o = run_json((const char *const[]){ "alloc", "hugetlb:2M", "--size", "4M", "--name", "a",
					    "--json", NULL });
	cr_expect_eq(ctl_json_u64(o, "size"), 4u << 20);
	cr_expect_eq(ctl_json_u64(o, "offset"), 2u << 20);
	json_object_put(o);
	ctl_runl(&r, "alloc", "hugetlb:2M", "--size", "2M", "--name", "b", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	ctl_runl(&r, "free", "hugetlb:2M", "a", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);

	/* 30M usable from 2M, b at 6M: free 4M before it and 24M after */
	o = run_json((const char *const[]){ "df", "hugetlb:2M", "--json", NULL });
	cr_expect_eq(ctl_json_u64(o, "free"), 28u << 20);
	cr_expect_eq(ctl_json_u64(o, "largest_free"), 24u << 20);
	json_object_put(o);
	ctl_runl(&r, "df", "hugetlb:2M", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(lf, sizeof(lf), " 24M ");
	cr_expect(strstr(r.out, lf), "df shows no LARGEST-FREE of 24M:\n%s", r.out);
	ctl_runl(&r, "regions", "hugetlb:2M:32M", NULL);
	cr_expect(strstr(r.out, "b ") && !strstr(r.out, "a "), "%s", r.out);
	ctl_runl(&r, "check", "hugetlb:2M", NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);

	/* released only with its data */
	ctl_runl(&r, "destroy-device", "hugetlb:2M", NULL);
	cr_expect_eq(r.status, 1, "%s", r.err);
	cr_expect(strstr(r.err, "--destroy-data"), "%s", r.err);
	ctl_runl(&r, "destroy-device", "hugetlb:2M", "--destroy-data", NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	ctl_runl(&r, "df", "hugetlb:2M", NULL);
	cr_expect_eq(r.status, 1);
	cr_expect(strstr(r.err, "holds no pool"), "%s", r.err);
}

/* info describes a stand-in larger than the free pages, and takes none. */
Test(cli_standin, info_takes_no_pages)
{
	unsigned long long free_p = 0, surplus0 = 0, surplus1 = 0;
	char name[64], want[64];
	FILE *f;

	f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "re");
	cr_assert(f && fscanf(f, "%llu", &free_p) == 1);
	fclose(f);
	f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/surplus_hugepages", "re");
	cr_assert(f && fscanf(f, "%llu", &surplus0) == 1);
	fclose(f);
	snprintf(name, sizeof(name), "hugetlb:2M:%lluM", (free_p + 16) * 2);
	ctl_runl(&r, "info", name, "--json", NULL);
	if (geteuid() == 0)
		cr_expect_eq(r.status, 0, "%s", r.err);
	snprintf(want, sizeof(want), "%llu", (free_p + 16) << 21);
	if (r.status == 0)
		cr_expect(strstr(r.out, want), "%s", r.out);
	f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/surplus_hugepages", "re");
	cr_assert(f && fscanf(f, "%llu", &surplus1) == 1);
	fclose(f);
	cr_expect_eq(surplus1, surplus0, "info left surplus pages");
}
