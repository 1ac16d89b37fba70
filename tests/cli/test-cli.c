// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * daxalloc-ctl as a user meets it: exit statuses, one-line errors that
 * name the device, the value and the rule, and the JSON shapes.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ctl-json.h"
#include "run-ctl.h"

/* A failure is exactly one line on stderr, naming every @want. */
static void expect_one_line_error(struct ctl_run *r, int status, const char *const *want)
{
	cr_expect_eq(r->status, status, "exit %d, want %d; stderr: %s", r->status, status, r->err);
	cr_expect_eq(ctl_lines(r->err), 1, "stderr is not one line: '%s'", r->err);
	cr_expect_eq(strncmp(r->err, "daxalloc-ctl: ", 14), 0, "%s", r->err);
	for (; *want; want++)
		cr_expect(strstr(r->err, *want), "'%s' lacks '%s'", r->err, *want);
}

static struct ctl_run r;

Test(cli, version)
{
	ctl_runl(&r, "--version", NULL);
	cr_expect_eq(r.status, 0);
	cr_expect_str_eq(r.out, "daxalloc-ctl 0.2.0\n");
}

Test(cli, help_lists_every_command)
{
	ctl_runl(&r, "help", NULL);
	cr_expect_eq(r.status, 0);
	for (const char *const *c = (const char *const[]){ "list", "info", "map", "help", NULL };
	     *c; c++)
		cr_expect(strstr(r.out, *c), "help lacks %s", *c);
	cr_expect(strstr(r.out, "Exit status"));
	ctl_runl(&r, "help", "map", NULL);
	cr_expect_eq(r.status, 0);
	cr_expect(strstr(r.out, "--populate"));
}

Test(cli, usage_errors_exit_2)
{
	ctl_runl(&r, NULL);
	cr_expect_eq(r.status, 2);
	ctl_runl(&r, "frobnicate", NULL);
	expect_one_line_error(&r, 2, (const char *const[]){ "unknown command 'frobnicate'", NULL });
	ctl_runl(&r, "help", "frobnicate", NULL);
	expect_one_line_error(&r, 2, (const char *const[]){ "frobnicate", NULL });
	ctl_runl(&r, "list", "extra", NULL);
	expect_one_line_error(&r, 2, (const char *const[]){ "unexpected argument 'extra'", NULL });
}

Test(cli, bad_sizes_are_refused)
{
	ctl_runl(&r, "map", "hugetlb:2M:8M", "--size", "3MB", NULL);
	expect_one_line_error(&r, 2, (const char *const[]){ "--size", "3MB", "ambiguous", NULL });
	ctl_runl(&r, "map", "hugetlb:2M:8M", "--size", "lots", NULL);
	expect_one_line_error(&r, 2, (const char *const[]){ "'lots'", "digit", NULL });
	ctl_runl(&r, "map", "hugetlb:2M:8M", "--offset", "-2M", NULL);
	expect_one_line_error(&r, 2, (const char *const[]){ "--offset", "-2M", NULL });
}

Test(cli, alignment_rule_names_device_value_rule)
{
	ctl_runl(&r, "map", "hugetlb:2M:8M", "--offset", "1M", "--size", "2M", NULL);
	expect_one_line_error(&r, 1,
			      (const char *const[]){ "hugetlb:2M:8M", "0x100000",
						     "not a multiple of the device alignment 2M",
						     NULL });
	ctl_runl(&r, "map", "hugetlb:2M:8M", "--size", "16M", NULL);
	expect_one_line_error(&r, 1,
			      (const char *const[]){ "hugetlb:2M:8M", "outside the device", NULL });
}

Test(cli, bad_devices)
{
	ctl_runl(&r, "info", "/dev/zero", NULL);
	expect_one_line_error(&r, 1, (const char *const[]){ "/dev/zero", "not a device-dax", NULL });
	ctl_runl(&r, "info", "dax77.3", NULL);
	expect_one_line_error(&r, 1, (const char *const[]){ "dax77.3", "no such", NULL });
	ctl_runl(&r, "info", "hugetlb:3M", NULL);
	expect_one_line_error(&r, 1, (const char *const[]){ "hugetlb:3M", "2M or 1G", NULL });
}

static const char *const dev_keys[] = { "chardev",   "path",        "type",      "standin",
					"size",      "align",       "numa_node", "target_node",
					"region_id", "region_kind", "resource",  "namespace",
					NULL };

Test(cli, info_json_shape)
{
	struct json_object *o, *v;

	ctl_runl(&r, "info", "hugetlb:2M:4M", "--json", NULL);
	o = ctl_json(&r);
	for (const char *const *k = dev_keys; *k; k++)
		cr_expect(json_object_object_get_ex(o, *k, NULL), "missing key %s", *k);
	json_object_object_get_ex(o, "size", &v);
	cr_expect_eq(json_object_get_uint64(v), 4u << 20);
	json_object_object_get_ex(o, "align", &v);
	cr_expect_eq(json_object_get_uint64(v), 2u << 20);
	json_object_object_get_ex(o, "standin", &v);
	cr_expect(json_object_get_boolean(v));
	json_object_object_get_ex(o, "type", &v);
	cr_expect_str_eq(json_object_get_string(v), "hugetlb");
	json_object_put(o);
}

Test(cli, list_json_is_an_array_of_devices)
{
	struct json_object *arr;

	ctl_runl(&r, "list", "--json", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	if (!r.out[0])
		return; /* no devices: nothing, as daxctl (cli_options::json_like_daxctl) */
	arr = ctl_json(&r);
	cr_assert(json_object_is_type(arr, json_type_array));
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *d = json_object_array_get_idx(arr, i);

		for (const char *const *k = dev_keys; *k; k++)
			cr_expect(json_object_object_get_ex(d, *k, NULL), "device %zu lacks %s", i,
				  *k);
		cr_expect(json_object_object_get_ex(d, "memmap", NULL));
	}
	json_object_put(arr);
}

/*
 * The main job (tools/run.sh): `list` names the default device, and `map`
 * without a device maps exactly that one: on the host the stand-in the
 * kernel can serve (1G pages where offered, else 2M), in the devdax guest
 * the first enabled device.  As run.sh does, in the guest read-only: the
 * device is persistent memory there, and writing is refused without
 * --destroy-data.  On the stand-in the pattern is written and verified.
 */
static long free_1g_pages(void)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages", "re");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

Test(cli, map_verifies_on_the_default_device, .timeout = 120)
{
	bool guest = getenv("DAXALLOC_GUEST_DEVICES") != NULL;
	char def[128];
	const char *p;

	ctl_runl(&r, "list", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	p = strstr(r.out, "default device: ");
	cr_assert_not_null(p, "%s", r.out);
	cr_assert_eq(sscanf(p, "default device: %127s", def), 1, "%s", r.out);
	cr_expect_eq(strncmp(def, "hugetlb:", 8) == 0, !guest, "default %s", def);
	if (!guest)
		cr_expect_str_eq(def, free_1g_pages() > 0 ? "hugetlb:1G" : "hugetlb:2M");
	if (guest)
		ctl_runl(&r, "map", "--size", "1G", "--read-only", NULL);
	else
		ctl_runl(&r, "map", "--size", "1G", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, def), "list named %s as the default, map used: %s", def, r.out);
	cr_expect_eq(strstr(r.out, "stand-in") != NULL, !guest, "%s", r.out);
	cr_expect(strstr(r.out, "kernel page size"), "%s", r.out);
	cr_expect(strstr(r.out, guest ? "not written, every page read" : "verified"), "%s", r.out);
}

/*
 * The stand-in is fresh memory of this process: no pool to spare, the map
 * starts at 0 (on a real device the pattern starts past the pool metadata:
 * the devdax guest tests that).
 */
Test(cli, map_standin_from_offset_0)
{
	struct json_object *o;

	ctl_runl(&r, "map", "hugetlb:2M:8M", "--json", NULL);
	o = ctl_json(&r);
	cr_expect_eq(ctl_json_u64(o, "offset"), 0, "%s", r.out);
	cr_expect_eq(ctl_json_u64(o, "length"), 8u << 20, "%s", r.out);
	json_object_put(o);
}

Test(cli, map_read_only_writes_nothing)
{
	struct json_object *o, *v;

	ctl_runl(&r, "map", "hugetlb:2M:8M", "--read-only", "--json", NULL);
	o = ctl_json(&r);
	cr_expect(json_object_object_get_ex(o, "read_only", &v) && json_object_get_boolean(v), "%s",
		  r.out);
	cr_expect_eq(ctl_json_u64(o, "bad_pages"), 0);
	json_object_put(o);
	ctl_runl(&r, "map", "hugetlb:2M:8M", "--read-only", "--destroy-data", NULL);
	expect_one_line_error(&r, 2, (const char *const[]){ "--read-only", "--destroy-data", NULL });
}
