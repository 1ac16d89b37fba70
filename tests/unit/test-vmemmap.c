// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The vmemmap model against the overhead table (per TiB, 64-byte struct
 * page) and odd sizes; the kernel-version rules; the measurement's
 * reading of free memory from a fake procfs and its checks of options;
 * and the JSON shape of `daxalloc-ctl vmemmap --size` and of the
 * stand-in's measurement.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daxalloc.h"
#include "fake-tree.h"
#include "private.h"
#include "run-ctl.h"
#include "vmemmap-measure.h"

#define K (UINT64_C(1) << 10)
#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)
#define T (UINT64_C(1) << 40)

enum {
	NO = DAXALLOC_VMEMMAP_NO_DEDUP,
	TWO = DAXALLOC_VMEMMAP_DEDUP_2PAGE,
	ONE = DAXALLOC_VMEMMAP_DEDUP_1PAGE
};

static struct daxalloc_vmemmap_model model(uint64_t size, uint64_t align)
{
	struct daxalloc_vmemmap_model m = { DAXALLOC_VMEMMAP_MODEL_INIT };

	cr_assert_eq(daxalloc_vmemmap_model(size, align, &m), 0, "%s", daxalloc_errmsg());
	return m;
}

/* ---- the table, per TiB ------------------------------------------------------ */

struct table_row {
	uint64_t align, no, two, one;
};

/* | align | no dedup | dedup, 2 pages | dedup, 1 page | */
static const struct table_row table[] = {
	{ 4 * K, 16 * G, 16 * G, 16 * G },
	{ 2 * M, 16 * G, 4 * G, 2 * G },
	{ 1 * G, 16 * G, 8 * M, 4 * M },
};

Test(vmemmap_model, per_tib_matches_the_table)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct daxalloc_vmemmap_model m = model(T, table[i].align);

		cr_expect_eq(m.size, T);
		cr_expect_eq(m.base_pages, T / (4 * K));
		cr_expect_eq(m.struct_pages[NO], table[i].no, "align %llu: no dedup %llu",
			     (unsigned long long)table[i].align,
			     (unsigned long long)m.struct_pages[NO]);
		cr_expect_eq(m.struct_pages[TWO], table[i].two, "align %llu: 2-page %llu",
			     (unsigned long long)table[i].align,
			     (unsigned long long)m.struct_pages[TWO]);
		cr_expect_eq(m.struct_pages[ONE], table[i].one, "align %llu: 1-page %llu",
			     (unsigned long long)table[i].align,
			     (unsigned long long)m.struct_pages[ONE]);
	}
}

Test(vmemmap_model, page_tables_per_tib)
{
	/* 16 GiB of memmap mapped with 4K pages: 8192 page-table pages */
	cr_expect_eq(model(T, 2 * M).page_tables[TWO], 32 * M);
	cr_expect_eq(model(T, 1 * G).page_tables[ONE], 32 * M);
	cr_expect_eq(model(T, 1 * G).total[TWO], 40 * M);
	/* without compound pages whole sections are mapped with 2M pages */
	cr_expect_eq(model(T, 4 * K).page_tables[TWO], 0);
	cr_expect_eq(model(T, 2 * M).page_tables[NO], 0);
	cr_expect_eq(model(T, 2 * M).compound_pages, T / (2 * M));
	cr_expect_eq(model(T, 4 * K).compound_pages, 0);
}

/* What Debian's 6.1 took for a 4 GiB hmem device (MemFree + per-CPU lists). */
Test(vmemmap_model, four_gib_as_measured_on_6_1)
{
	cr_expect_eq(model(4 * G, 4 * K).total[TWO], 64 * M);
	cr_expect_eq(model(4 * G, 2 * M).total[TWO], 16 * M + 128 * K);
	cr_expect_eq(model(4 * G, 1 * G).total[TWO], 160 * K);
	cr_expect_eq(model(4 * G, 1 * G).total[ONE], 144 * K);
}

/* ---- odd sizes --------------------------------------------------------------- */

Test(vmemmap_model, size_not_a_multiple_is_rounded_to_whole_units)
{
	struct daxalloc_vmemmap_model m = model(3 * G + 2 * M, 1 * G);

	cr_expect_eq(m.size, 4 * G);
	cr_expect_eq(m.compound_pages, 4);
	cr_expect_eq(m.struct_pages[NO], 64 * M);
	cr_expect_eq(m.struct_pages[TWO], 4 * 8 * K);
	cr_expect_eq(m.struct_pages[ONE], 4 * 4 * K);

	m = model(3 * G + 2 * M, 2 * M);
	cr_expect_eq(m.size, 3 * G + 2 * M);
	cr_expect_eq(m.compound_pages, 1537);
	cr_expect_eq(m.struct_pages[NO], (3 * G + 2 * M) / 64);
	cr_expect_eq(m.struct_pages[TWO], 1537 * 8 * K);
	/* the 2M past the last whole section is mapped with 4K pages */
	cr_expect_eq(m.page_tables[NO], 4 * K);
	/* 48.03 MiB of memmap: 25 page-table pages */
	cr_expect_eq(m.page_tables[TWO], 25 * 4 * K);
}

Test(vmemmap_model, tiny_sizes)
{
	struct daxalloc_vmemmap_model m = model(4097, 4 * K);

	cr_expect_eq(m.size, 8 * K);
	cr_expect_eq(m.base_pages, 2);
	cr_expect_eq(m.struct_pages[NO], 128);
	cr_expect_eq(m.struct_pages[ONE], 128, "no compound pages at 4K: no dedup");
	cr_expect_eq(m.page_tables[NO], 4 * K);

	m = model(1, 2 * M);
	cr_expect_eq(m.size, 2 * M);
	cr_expect_eq(m.compound_pages, 1);
	cr_expect_eq(m.struct_pages[NO], 32 * K);
	cr_expect_eq(m.struct_pages[TWO], 8 * K);
	cr_expect_eq(m.struct_pages[ONE], 4 * K);

	m = model(0, 1 * G);
	cr_expect_eq(m.size, 0);
	for (int r = 0; r < DAXALLOC_VMEMMAP_ROWS; r++)
		cr_expect_eq(m.total[r], 0);
}

Test(vmemmap_model, totals_add_up)
{
	uint64_t sizes[] = { 1, 4 * K, 129 * M, 3 * G, 5 * T + 6 * M };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (int a = 0; a < 3; a++) {
			uint64_t al = (uint64_t[]){ 4 * K, 2 * M, 1 * G }[a];
			struct daxalloc_vmemmap_model m = model(sizes[i], al);

			for (int r = 0; r < DAXALLOC_VMEMMAP_ROWS; r++)
				cr_expect_eq(m.total[r], m.struct_pages[r] + m.page_tables[r]);
			cr_expect_geq(m.struct_pages[NO], m.struct_pages[TWO]);
			cr_expect_geq(m.struct_pages[TWO], m.struct_pages[ONE]);
			cr_expect_eq(m.size % al, 0);
			cr_expect_geq(m.size, sizes[i]);
			cr_expect_lt(m.size - sizes[i], al);
		}
}

Test(vmemmap_model, refuses_bad_arguments)
{
	struct daxalloc_vmemmap_model m = { DAXALLOC_VMEMMAP_MODEL_INIT };

	cr_expect_eq(daxalloc_vmemmap_model(G, 64 * K, &m), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "64K"), "%s", daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "4K, 2M or 1G"), "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_vmemmap_model(UINT64_MAX, 2 * M, &m), -ERANGE);
	cr_expect_eq(daxalloc_vmemmap_model(G, 2 * M, NULL), -EINVAL);
	/* a model without its size: neither filled nor read */
	m.struct_size = 0;
	m.size = 7;
	cr_expect_eq(daxalloc_vmemmap_model(G, 2 * M, &m), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "DAXALLOC_VMEMMAP_MODEL_INIT"), "%s", daxalloc_errmsg());
	cr_expect_eq(m.size, 7);
	cr_expect_eq(daxalloc_vmemmap_match(&m, 0), -EINVAL);
	m.struct_size = sizeof(m);
	cr_expect_eq(daxalloc_vmemmap_model(G, 2 * M, &m), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(m.size, G);
}

/* ---- kernel versions, matching, pin path ---------------------------------------- */

Test(vmemmap_kernel, row_by_version_and_memmap_place)
{
	cr_expect_eq(daxalloc_vmemmap_kernel_row("5.18.19", true), NO);
	cr_expect_eq(daxalloc_vmemmap_kernel_row("5.19.0", true), TWO);
	cr_expect_eq(daxalloc_vmemmap_kernel_row("6.1.0-56-amd64", true), TWO);
	cr_expect_eq(daxalloc_vmemmap_kernel_row("4.19.0", true), NO);
	cr_expect_eq(daxalloc_vmemmap_kernel_row("6.12.3", false), NO, "memmap on the device");
	cr_expect_eq(daxalloc_vmemmap_kernel_row("linux", true), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "linux"), "%s", daxalloc_errmsg());
	cr_expect_geq(daxalloc_vmemmap_kernel_row(NULL, true), 0, "the running kernel");
}

Test(vmemmap_kernel, match_picks_the_nearest_row)
{
	struct daxalloc_vmemmap_model m2 = model(4 * G, 2 * M), m1 = model(4 * G, 1 * G);
	struct daxalloc_vmemmap_model m4 = model(4 * G, 4 * K);

	cr_expect_eq(daxalloc_vmemmap_match(&m2, (int64_t)(16 * M + 400 * K)), TWO);
	cr_expect_eq(daxalloc_vmemmap_match(&m2, (int64_t)(8 * M + 100 * K)), ONE);
	cr_expect_eq(daxalloc_vmemmap_match(&m2, (int64_t)(66 * M)), NO);
	cr_expect_eq(daxalloc_vmemmap_match(&m2, (int64_t)(40 * M)), -ENOENT, "far from every row");
	cr_expect_eq(daxalloc_vmemmap_match(&m1, (int64_t)(162 * K)), TWO);
	cr_expect_eq(daxalloc_vmemmap_match(&m1, -20 * (int64_t)K), ONE, "noise below zero");
	cr_expect_eq(daxalloc_vmemmap_match(&m4, (int64_t)(65 * M)), NO, "equal rows: no dedup");
}

Test(vmemmap_kernel, pin_path)
{
	cr_expect_eq(daxalloc_vmemmap_kernel_pin_path("6.1.0-56-amd64", false),
		     DAXALLOC_VMEMMAP_PIN_BASE_PAGE);
	cr_expect_eq(daxalloc_vmemmap_kernel_pin_path("6.14.2", false),
		     DAXALLOC_VMEMMAP_PIN_BASE_PAGE);
	cr_expect_eq(daxalloc_vmemmap_kernel_pin_path("6.15.0", false), DAXALLOC_VMEMMAP_PIN_UNKNOWN);
	cr_expect_eq(daxalloc_vmemmap_kernel_pin_path("6.17.1", false),
		     DAXALLOC_VMEMMAP_PIN_COMPOUND);
	cr_expect_eq(daxalloc_vmemmap_kernel_pin_path("6.1.0", true), DAXALLOC_VMEMMAP_PIN_COMPOUND);
	cr_expect_eq(daxalloc_vmemmap_kernel_pin_path("x", true), -EINVAL);
	/* same cost per GiB at 2M and 1G: per base page; 1G twice as cheap: per compound page */
	/* 1 GiB pinned in the guest (ms at devdax 4K, devdax 2M, hugetlb 2M) */
	cr_expect_eq(daxalloc_vmemmap_pin_verdict(191000000, 157000000, 29000000),
		     DAXALLOC_VMEMMAP_PIN_BASE_PAGE, "6.1, RDMA");
	cr_expect_eq(daxalloc_vmemmap_pin_verdict(212000000, 129000000, 17000000),
		     DAXALLOC_VMEMMAP_PIN_BASE_PAGE, "6.12, io_uring");
	cr_expect_eq(daxalloc_vmemmap_pin_verdict(167000000, 4200000, 5000000),
		     DAXALLOC_VMEMMAP_PIN_COMPOUND, "7.2, io_uring");
	cr_expect_eq(daxalloc_vmemmap_pin_verdict(19800000, 8700000, 1700000),
		     DAXALLOC_VMEMMAP_PIN_BASE_PAGE, "6.1, VFIO");
	cr_expect_eq(daxalloc_vmemmap_pin_verdict(396500000, 141000000, 26600000),
		     DAXALLOC_VMEMMAP_PIN_BASE_PAGE, "6.12, VFIO");
	/* without the hugetlb reference, only a clear 4K/2M ratio decides */
	cr_expect_eq(daxalloc_vmemmap_pin_verdict(167, 4, 0), DAXALLOC_VMEMMAP_PIN_COMPOUND);
	cr_expect_eq(daxalloc_vmemmap_pin_verdict(191, 157, 0), DAXALLOC_VMEMMAP_PIN_BASE_PAGE);
	cr_expect_eq(daxalloc_vmemmap_pin_verdict(212, 80, 0), DAXALLOC_VMEMMAP_PIN_UNKNOWN);
	/* the two tests disagree: no verdict */
	cr_expect_eq(daxalloc_vmemmap_pin_verdict(200, 30, 5), DAXALLOC_VMEMMAP_PIN_UNKNOWN);
	cr_expect_eq(daxalloc_vmemmap_pin_verdict(200, 150, 140), DAXALLOC_VMEMMAP_PIN_UNKNOWN);
	cr_expect_eq(daxalloc_vmemmap_pin_verdict(0, 100, 10), DAXALLOC_VMEMMAP_PIN_UNKNOWN);
	cr_expect_eq(daxalloc_vmemmap_pin_verdict(100, 0, 10), DAXALLOC_VMEMMAP_PIN_UNKNOWN);
	cr_expect_str_eq(daxalloc_vmemmap_pin_path_name(DAXALLOC_VMEMMAP_PIN_COMPOUND),
			 "compound_page");
	cr_expect_str_eq(daxalloc_vmemmap_row_name(TWO), "dedup_2page");
	cr_expect_str_eq(daxalloc_vmemmap_row_name(7), "unknown");
}

/* ---- free memory through the procfs root ------------------------------------------ */

Test(vmemmap_procfs, memfree_and_per_cpu_lists)
{
	struct fake_tree t;
	uint64_t memfree = 0, pcp = 1;
	long page = sysconf(_SC_PAGESIZE);

	fake_tree_new(&t);
	fake_tree_file(&t, "meminfo", "MemTotal:        4009144 kB\nMemFree:         3891784 kB\n");
	fake_tree_file(&t, "zoneinfo",
		       "Node 0, zone      DMA\n  pages free     3840\n  pagesets\n    cpu: 0\n"
		       "              count: 9\n              high:  5175\n    cpu: 1\n"
		       "              count: 2364\n              high:  5175\n");
	cr_expect_eq(vmemmap_free_memory(&memfree, &pcp), 0);
	cr_expect_eq(memfree, UINT64_C(3891784) * 1024);
	cr_expect_eq(pcp, UINT64_C(2373) * (uint64_t)page);
	/* no zoneinfo: MemFree alone */
	fake_tree_delete(&t);
	fake_tree_new(&t);
	fake_tree_file(&t, "meminfo", "MemFree:  100 kB\n");
	cr_expect_eq(vmemmap_free_memory(&memfree, &pcp), 0);
	cr_expect_eq(memfree, 102400);
	cr_expect_eq(pcp, 0);
	/* no meminfo: an error */
	fake_tree_delete(&t);
	fake_tree_new(&t);
	cr_expect_eq(vmemmap_free_memory(&memfree, &pcp), -ENOENT);
	fake_tree_delete(&t);
}

Test(vmemmap_procfs, meminfo_fields_from_one_read)
{
	static const char *const f[] = { "Cached", "SwapCached", "Slab", "SecPageTables" };
	struct fake_tree t;
	uint64_t v[4] = { 1, 1, 1, 1 };

	fake_tree_new(&t);
	fake_tree_file(&t, "meminfo",
		       "MemFree:         3891784 kB\nSwapCached:            8 kB\n"
		       "Cached:            40000 kB\nActive(anon):       12 kB\nSlab:  700 kB\n");
	cr_expect_eq(procfs_meminfo(f, 4, v), 0);
	/* "SwapCached" is not read as "Cached"; a field this kernel lacks reads 0 */
	cr_expect_eq(v[0], UINT64_C(40000) * 1024);
	cr_expect_eq(v[1], UINT64_C(8) * 1024);
	cr_expect_eq(v[2], UINT64_C(700) * 1024);
	cr_expect_eq(v[3], 0);
	cr_expect_eq(procfs_meminfo(f + 3, 1, v), -ENOENT);
	fake_tree_delete(&t);
	fake_tree_new(&t);
	cr_expect_eq(procfs_meminfo(f, 1, v), -ENOENT);
	fake_tree_delete(&t);
}

/* ---- the CLI's JSON ----------------------------------------------------------------- */

static struct ctl_run r;

static struct json_object *get(struct json_object *o, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
		struct json_object *next = NULL;

		if (k[0] >= '0' && k[0] <= '9') {
			cr_assert(json_object_is_type(o, json_type_array), "%s: not an array at %s",
				  path, k);
			next = json_object_array_get_idx(o, (size_t)atoi(k));
		} else {
			cr_assert(json_object_object_get_ex(o, k, &next), "%s: no key '%s'", path, k);
		}
		o = next;
	}
	return o;
}

static uint64_t u64(struct json_object *o, const char *path)
{
	struct json_object *v = get(o, path);

	cr_assert(json_object_is_type(v, json_type_int), "%s is not an integer", path);
	return json_object_get_uint64(v);
}

static const char *str(struct json_object *o, const char *path)
{
	struct json_object *v = get(o, path);

	cr_assert(json_object_is_type(v, json_type_string), "%s is not a string", path);
	return json_object_get_string(v);
}

static struct json_object *run_json(const char *size)
{
	struct json_object *o;

	ctl_run(&r, (const char *const[]){ "vmemmap", "--size", size, "--json", NULL }, 0);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	o = json_tokener_parse(r.out);
	cr_assert_not_null(o, "not JSON: %s", r.out);
	return o;
}

Test(vmemmap_cli, json_shape_for_a_tib)
{
	struct json_object *o = run_json("1T"), *t;
	static const char *const rows[] = { "no_dedup", "dedup_2page", "dedup_1page" };
	char p[128];

	cr_expect_gt(strlen(str(o, "kernel.release")), 0);
	cr_expect_str_neq(str(o, "kernel.dedup"), "unknown");
	cr_expect_str_neq(str(o, "kernel.pin_path"), "");
	cr_expect_eq(u64(o, "page_size"), 4096);
	cr_expect_eq(u64(o, "struct_page_size"), 64);
	cr_assert_eq(json_object_array_length(get(o, "targets")), 1);
	t = get(o, "targets.0");
	cr_expect(json_object_is_type(get(t, "name"), json_type_null));
	cr_expect(json_object_is_type(get(t, "align"), json_type_null));
	cr_expect(json_object_is_type(get(t, "measured"), json_type_null));
	cr_expect_eq(u64(t, "size"), T);
	cr_expect_str_eq(str(t, "memmap"), "ram");
	cr_assert_eq(json_object_array_length(get(t, "model")), 3);
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(u64(t, (snprintf(p, sizeof(p), "model.%d.align", i), p)),
			     table[i].align);
		for (int k = 0; k < 3; k++) {
			uint64_t want = k == 0 ? table[i].no : k == 1 ? table[i].two : table[i].one;

			snprintf(p, sizeof(p), "model.%d.struct_pages.%s", i, rows[k]);
			cr_expect_eq(u64(t, p), want, "%s", p);
			snprintf(p, sizeof(p), "model.%d.per_tib.struct_pages.%s", i, rows[k]);
			cr_expect_eq(u64(t, p), want, "%s", p);
			snprintf(p, sizeof(p), "model.%d.total.%s", i, rows[k]);
			u64(t, p);
			snprintf(p, sizeof(p), "model.%d.page_tables.%s", i, rows[k]);
			u64(t, p);
		}
		snprintf(p, sizeof(p), "model.%d.kernel_row", i);
		cr_expect(strstr("no_dedup dedup_2page dedup_1page", str(t, p)), "%s", str(t, p));
		snprintf(p, sizeof(p), "model.%d.device", i);
		cr_expect_eq(u64(t, p), 0, "memmap in RAM: the device pays nothing");
		snprintf(p, sizeof(p), "model.%d.ram", i);
		u64(t, p);
	}
	cr_expect_str_eq(str(t, "model.0.kernel_row"), "no_dedup", "no compound pages at 4K");
	cr_expect_str_eq(str(t, "pin_path.verdict"), str(o, "kernel.pin_path"));
	cr_expect(json_object_is_type(get(t, "pin_path.measured"), json_type_boolean));
	cr_expect(json_object_is_type(get(t, "pin_path.ns_2m"), json_type_null));
	cr_expect(strstr(str(t, "pin_path.how"), "version"), "%s", str(t, "pin_path.how"));
	json_object_put(o);
}

Test(vmemmap_cli, json_for_an_odd_size)
{
	struct json_object *o = run_json("3073M"), *t = get(o, "targets.0");

	cr_expect_eq(u64(t, "size"), 3073 * M);
	/* 1G: four whole units cover it */
	cr_expect_eq(u64(t, "model.2.modelled_size"), 4 * G);
	cr_expect_eq(u64(t, "model.2.compound_pages"), 4);
	cr_expect_eq(u64(t, "model.2.struct_pages.dedup_2page"), 32 * K);
	/* 2M: 1537 units (the last one partly) */
	cr_expect_eq(u64(t, "model.1.modelled_size"), 3074 * M);
	cr_expect_eq(u64(t, "model.1.struct_pages.dedup_1page"), 1537 * 4 * K);
	cr_expect_eq(u64(t, "model.0.modelled_size"), 3073 * M);
	cr_expect_eq(u64(t, "model.0.struct_pages.no_dedup"), 3073 * M / 64);
	json_object_put(o);
}

static void expect_usage(const char *const *args, const char *want)
{
	ctl_run(&r, args, 0);
	cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
	cr_expect(strstr(r.err, want), "'%s' lacks '%s'", r.err, want);
	cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
}

Test(vmemmap_cli, usage_errors)
{
	expect_usage((const char *const[]){ "vmemmap", "--measure", NULL }, "--measure needs DEV");
	expect_usage((const char *const[]){ "vmemmap", "--size", "0", NULL }, "--size 0");
	expect_usage((const char *const[]){ "vmemmap", "dax0.0", "--size", "1G", NULL }, "not both");
	expect_usage((const char *const[]){ "vmemmap", "--cycles", "3", NULL }, "go with --measure");
	expect_usage((const char *const[]){ "vmemmap", "dax0.0", "--measure", "--cycles", "99", NULL },
		     "--cycles 99");
	expect_usage((const char *const[]){ "vmemmap", "dax0.0", "--measure", "--align", "64K", NULL },
		     "4K, 2M or 1G");
}

Test(vmemmap_cli, table_for_a_size)
{
	ctl_run(&r, (const char *const[]){ "vmemmap", "--size", "4G", NULL }, 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "ALIGN"), "%s", r.out);
	cr_expect(strstr(r.out, "16.0 MiB"), "2M, 2-page: %s", r.out);
	cr_expect(strstr(r.out, "160 KiB"), "1G with page tables: %s", r.out);
	cr_expect(strstr(r.out, "pin path:"), "%s", r.out);
}

/* ---- the measurement (tools/vmemmap-measure.c) --------------------------------- */

/* Checked before anything else: no root, no device needed. */
Test(vmemmap, measure_refuses_bad_options_first)
{
	struct vmemmap_opts o = { .cycles = VMEMMAP_MAX_CYCLES + 1 };
	struct vmemmap_report rep;
	struct daxalloc_ctx *ctx;

	cr_assert_eq(daxalloc_ctx_new(&ctx), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(vmemmap_measure(ctx, "dax0.0", &o, &rep), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "17 cycles: between 1 and 16"), "%s", daxalloc_errmsg());
	o.cycles = 1;
	o.align = 64 * K;
	cr_expect_eq(vmemmap_measure(ctx, "dax0.0", &o, &rep), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "4K, 2M or 1G"), "%s", daxalloc_errmsg());
	/* good options get past the checks, to the device */
	o.align = 0;
	cr_expect_neq(vmemmap_measure(ctx, "dax999.999", &o, &rep), -EINVAL);
	cr_expect_eq(rep.samples[1].align, DAXALLOC_SIZE_2M);
	daxalloc_ctx_delete(&ctx);
}

/*
 * daxalloc-ctl runs the measurement as daxalloc-vmemmap-measure and reads
 * its reply: on the stand-in, without pinning, nothing is disabled and no
 * huge page is taken.
 */
Test(vmemmap_cli, measure_of_the_standin_through_its_program)
{
	struct json_object *o, *t;

	ctl_run(&r,
		(const char *const[]){ "vmemmap", "hugetlb:2M:4M", "--measure", "--no-pin",
				       "--json", NULL },
		0);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	o = json_tokener_parse(r.out);
	cr_assert_not_null(o, "not JSON: %s", r.out);
	t = get(o, "targets.0");
	cr_expect_str_eq(str(t, "name"), "hugetlb:2M:4M");
	cr_expect(json_object_get_boolean(get(t, "standin")));
	cr_expect_eq(u64(t, "measured.cycles"), 5);
	for (int i = 0; i < 3; i++) {
		char p[64];

		snprintf(p, sizeof(p), "measured.samples.%d.why", i);
		cr_expect(strstr(str(t, p), "stand-in is RAM"), "%s", str(t, p));
	}
	cr_expect_eq(u64(t, "measured.samples.1.align"), DAXALLOC_SIZE_2M);
	cr_expect(json_object_is_type(get(t, "pin_path.consumer"), json_type_null));
	cr_expect(strstr(str(t, "pin_path.how"), "hugetlb memory"), "%s", str(t, "pin_path.how"));
	json_object_put(o);
}
