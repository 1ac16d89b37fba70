// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * daxalloc-ctl's command line conventions, for every subcommand: --help
 * prints the usage on stdout and exits 0; an option the command does not
 * use is refused (exit 2, one line); sizes may be written in hex, as the
 * messages print them.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctl-json.h"
#include "run-ctl.h"

static struct ctl_run r;

/* The subcommands, read from `daxalloc-ctl help` as completion does. */
static int commands(char names[][32], int max)
{
	int n = 0;
	char *save, *line;

	ctl_runl(&r, "help", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	for (line = strtok_r(r.out, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save))
		if (line[0] == ' ' && line[1] == ' ' && line[2] >= 'a' && line[2] <= 'z' &&
		    sscanf(line, " %31s", names[n]) == 1)
			n++;
	return n;
}

Test(cli_options, every_command_takes_help)
{
	char names[40][32], want[64];
	int n = commands(names, 40);

	cr_assert_geq(n, 18, "help lists only %d commands", n);
	for (int i = 0; i < n; i++) {
		ctl_runl(&r, names[i], "--help", NULL);
		cr_expect_eq(r.status, 0, "%s --help: exit %d, stderr %s", names[i], r.status, r.err);
		snprintf(want, sizeof(want), "usage: daxalloc-ctl %s", names[i]);
		cr_expect_eq(strncmp(r.out, want, strlen(want)), 0, "%s --help printed '%s'",
			     names[i], r.out);
		cr_expect_str_empty(r.err, "%s --help wrote to stderr: %s", names[i], r.err);
		/* -h is the same, and --help wins over a missing DEV */
		ctl_runl(&r, names[i], "-h", NULL);
		cr_expect_eq(r.status, 0, "%s -h: exit %d, stderr %s", names[i], r.status, r.err);
	}
}

/*
 * Options another command takes, refused where they mean nothing: one
 * line naming the command, the option and the rule (which commands take
 * it, and what this one takes).
 */
static const struct {
	const char *args[6];
	const char *opt;
	const char *owner; /* a command that takes it; NULL: none does */
} unused[] = {
	{ { "df", "hugetlb:2M:4M", "--force" }, "--force", "format" },
	{ { "regions", "hugetlb:2M:4M", "--repair" }, "--repair", "check" },
	{ { "list", "--size", "2M" }, "--size", "alloc" },
	{ { "info", "hugetlb:2M:4M", "--force" }, "--force", "free" },
	{ { "free", "hugetlb:2M:4M", "x", "--json" }, "--json", "regions" },
	{ { "rename", "hugetlb:2M:4M", "a", "b", "--size", "2M" }, "--size", "map" },
	{ { "check", "hugetlb:2M:4M", "--size", "2M" }, "--size", "resize" },
	{ { "pins", "hugetlb:2M:4M", "--repair" }, "--repair", "check" },
	{ { "map", "hugetlb:2M:4M", "--name", "x" }, "--name", "alloc" },
	{ { "map", "hugetlb:2M:4M", "-n", "x" }, "-n", "alloc" },
	{ { "format", "hugetlb:2M:4M", "--size", "2M" }, "--size", "create-device" },
	{ { "alloc", "hugetlb:2M:4M", "--force", "--size", "2M" }, "--force", "check" },
	{ { "regions-free", "--size", "2M" }, "--size", "vm-backing" },
	{ { "destroy-device", "dax9.9", "--json" }, "--json", "list" },
	{ { "vmemmap", "--force" }, "--force", "format" },
	{ { "vmemmap", "--id", "x" }, "--id", "vm-backing" },
	{ { "df", "hugetlb:2M:4M", "--frobnicate" }, "--frobnicate", NULL },
	{ { "df", "hugetlb:2M:4M", "-z" }, "-z", NULL },
};

Test(cli_options, unused_options_are_refused)
{
	for (size_t i = 0; i < sizeof(unused) / sizeof(unused[0]); i++) {
		ctl_run(&r, unused[i].args, 0);
		cr_expect_eq(r.status, 2, "%s ... %s: exit %d; stderr %s", unused[i].args[0],
			     unused[i].opt, r.status, r.err);
		cr_expect_eq(ctl_lines(r.err), 1, "%s ... %s: stderr not one line: %s",
			     unused[i].args[0], unused[i].opt, r.err);
		cr_expect(strstr(r.err, unused[i].opt), "%s: '%s' lacks %s", unused[i].args[0],
			  r.err, unused[i].opt);
		cr_expect(strstr(r.err, unused[i].args[0]), "'%s' does not name the command %s",
			  r.err, unused[i].args[0]);
		if (unused[i].owner)
			cr_expect(strstr(r.err, unused[i].owner),
				  "%s ... %s: '%s' does not say that %s takes it",
				  unused[i].args[0], unused[i].opt, r.err, unused[i].owner);
	}
}

/* The options of @cmd's usage line: "--size SIZE" gives "--size" and takes_value. */
static int usage_options(const char *cmd, char opts[][32], bool *takes_value, int max)
{
	char *p, *save, *line;
	int n = 0;

	ctl_runl(&r, "help", cmd, NULL);
	cr_assert_eq(r.status, 0, "help %s: %s", cmd, r.err);
	line = strtok_r(r.out, "\n", &save);
	for (p = strstr(line, "--"); p && n < max; p = strstr(p + 2, "--")) {
		size_t len = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-") + 2;

		snprintf(opts[n], 32, "%.*s", (int)len, p);
		takes_value[n] = p[len] == ' ' && p[len + 1] >= 'A' && p[len + 1] <= 'Z';
		takes_value[n] |= p[len] == ' ' && p[len + 1] >= '0' && p[len + 1] <= '9';
		takes_value[n] |= strncmp(p + len, " devdax", 7) == 0;
		n++;
	}
	return n;
}

/*
 * Every command against every option that another command's usage
 * shows: taken if its own usage shows it, else refused naming both.
 */
Test(cli_options, each_command_takes_only_its_own, .timeout = 240)
{
	static char names[40][32], opts[40][16][32], all[64][32];
	static bool val[40][16], all_val[64];
	int n = commands(names, 40), nopts[40], nall = 0, refused = 0;

	for (int i = 0; i < n; i++) {
		nopts[i] = usage_options(names[i], opts[i], val[i], 16);
		for (int j = 0; j < nopts[i]; j++) {
			int k = 0;

			while (k < nall && strcmp(all[k], opts[i][j]) != 0)
				k++;
			if (k == nall && nall < 64) {
				memcpy(all[nall], opts[i][j], sizeof(all[nall]));
				all_val[nall++] = val[i][j];
			}
		}
	}
	cr_assert_geq(nall, 20, "only %d options in all usages", nall);
	for (int i = 0; i < n; i++)
		for (int k = 0; k < nall; k++) {
			const char *args[] = { names[i], all[k], all_val[k] ? "2M" : NULL, NULL };
			bool own = false;

			for (int j = 0; j < nopts[i]; j++)
				own |= strcmp(opts[i][j], all[k]) == 0;
			if (own)
				continue;
			ctl_run(&r, args, 0);
			refused++;
			cr_expect_eq(r.status, 2, "%s %s: exit %d (%s)", names[i], all[k], r.status,
				     r.err);
			cr_expect_eq(ctl_lines(r.err), 1, "%s %s: %s", names[i], all[k], r.err);
			cr_expect(strstr(r.err, names[i]) && strstr(r.err, all[k]) &&
					  strstr(r.err, " not of "),
				  "%s %s: '%s' names not the command, the option and whose it is",
				  names[i], all[k], r.err);
		}
	cr_log_info("%d foreign options refused on %d commands", refused, n);
}

Test(cli_options, missing_option_argument_is_one_line)
{
	ctl_runl(&r, "map", "hugetlb:2M:4M", "--size", NULL);
	cr_expect_eq(r.status, 2, "%s", r.err);
	cr_expect_eq(ctl_lines(r.err), 1, "%s", r.err);
	cr_expect(strstr(r.err, "--size"), "%s", r.err);
	/* and a value given to a flag of the command's own */
	ctl_runl(&r, "df", "hugetlb:2M:4M", "--json=1", NULL);
	cr_expect_eq(r.status, 2, "%s", r.err);
	cr_expect_eq(ctl_lines(r.err), 1, "%s", r.err);
	cr_expect(strstr(r.err, "df: --json takes no value"), "%s", r.err);
}

Test(cli_options, hex_sizes, .timeout = 60)
{
	ctl_runl(&r, "map", "hugetlb:2M:4M", "--size", "0x200000", "--offset", "0x200000", NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "mapped 2M at offset 2M"), "%s", r.out);
}

/*
 * daxctl's key names for the facts daxctl reports: chardev, mode while a
 * driver is bound, state only when disabled; no list, no output.
 */
Test(cli_options, json_like_daxctl)
{
	struct json_object *o, *v;

	ctl_runl(&r, "info", "hugetlb:2M:4M", "--json", NULL);
	o = ctl_json(&r);
	cr_assert(json_object_object_get_ex(o, "chardev", &v), "no chardev: %s", r.out);
	cr_expect_str_eq(json_object_get_string(v), "hugetlb:2M:4M");
	cr_assert(json_object_object_get_ex(o, "mode", &v), "no mode: %s", r.out);
	for (const char *const *k = (const char *const[]){ "name", "enabled", "state", NULL }; *k; k++)
		cr_expect_not(json_object_object_get_ex(o, *k, NULL), "key %s: %s", *k, r.out);
	json_object_put(o);

	ctl_runl(&r, "list", NULL);
	if (strstr(r.out, "no device-dax devices")) {
		ctl_runl(&r, "list", "--json", NULL);
		cr_expect_eq(r.status, 0, "%s", r.err);
		cr_expect_str_empty(r.out, "an empty list printed '%s'", r.out);
	}
}
