// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: daxalloc-ctl's command line, run in-process through
 * ctl_main().  Input: the arguments after the program name, separated by
 * NUL bytes.
 *
 * The run must not touch the machine.  sysfs and procfs point at an empty
 * folder (so the stand-in cannot reserve huge pages and every pool stays
 * unopened), the pin ledger at a private folder, the default device is a
 * stand-in, device-dax names are never passed on, and only commands known
 * to change nothing outside the process run (a command added later is
 * skipped until it is listed here).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#define MAX_ARGS 32
#define MAX_INPUT 4096

static char sys_root[] = "/tmp/daxalloc-fuzz-sys-XXXXXX";
static char run_dir[] = "/tmp/daxalloc-fuzz-run-XXXXXX";

/* Read-only, or confined to this process's memory. */
static const char *const safe_commands[] = {
	"list",   "info",  "map",  "df",           "regions", "alloc", "free",
	"rename", "check", "pins", "regions-free", "vmemmap", "help",  NULL,
};

static void cleanup(void)
{
	rmdir(sys_root);
	rmdir(run_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(sys_root) || !mkdtemp(run_dir)) {
		perror("fuzz-cli: mkdtemp");
		abort();
	}
	atexit(cleanup);
	setenv("DAXALLOC_SYSFS_ROOT", sys_root, 1);
	setenv("DAXALLOC_PROCFS_ROOT", sys_root, 1);
	setenv("DAXALLOC_RUNDIR", run_dir, 1);
	setenv("DAXALLOC_DEVICE", "hugetlb:2M:4M", 1);
	setenv("DAXALLOC_LOG", "err", 1);
	return 0;
}

static bool names_devdax(const char *arg)
{
	if (strncmp(arg, "/dev/", 5) == 0)
		arg += 5;
	return strncmp(arg, "dax", 3) == 0;
}

/* vmemmap --measure (or an abbreviation, or -m in a cluster) disables devices. */
static bool measures(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			return false;
		if (strncmp(a, "--m", 3) == 0)
			return true;
		if (a[0] == '-' && a[1] != '-' && strchr(a, 'm'))
			return true;
	}
	return false;
}

static bool allowed(int argc, char **argv)
{
	bool safe = false;

	for (int i = 1; i < argc; i++)
		if (names_devdax(argv[i]))
			return false;
	if (argc < 2 || !ctl_find(argv[1]))
		return true; /* usage errors, --version, --help */
	for (const char *const *c = safe_commands; *c; c++)
		safe |= strcmp(argv[1], *c) == 0;
	if (!safe)
		return false;
	return strcmp(argv[1], "vmemmap") != 0 || !measures(argc, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[MAX_INPUT + 1];
	char *argv[MAX_ARGS + 2];
	int argc = 0, rc;
	size_t i = 0;

	if (size > MAX_INPUT)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *)"daxalloc-ctl";
	while (i < size && argc <= MAX_ARGS) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	if (!allowed(argc, argv))
		return -1; /* not kept in the corpus */
	rc = ctl_main(argc, argv);
	fflush(stdout);
	if (rc != CTL_OK && rc != CTL_FAILED && rc != CTL_USAGE) {
		fprintf(stderr, "fuzz-cli: exit status %d is none of 0, 1, 2\n", rc);
		abort();
	}
	return 0;
}
