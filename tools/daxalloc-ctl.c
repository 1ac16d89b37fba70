// SPDX-License-Identifier: GPL-2.0-or-later
/* daxalloc-ctl: the command line front end, one table of subcommands. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

const char *ctl_prog = "daxalloc-ctl";

static int cmd_help(struct daxalloc_ctx *ctx, int argc, char **argv);

static const struct ctl_cmd commands[] = {
	{ "list", cmd_list, "[--json]", "list the device-dax devices and the default device" },
	{ "info", cmd_info, "[DEV] [--json]", "show one device (default device if DEV is omitted)" },
	{ "map", cmd_map,
	  "[DEV] [--size SIZE] [--offset OFF] [--read-only] [--destroy-data] [--populate] [--sync] [--json]",
	  "map an aligned region, write and verify a pattern (or only read: --read-only), check the kernel page size" },
	{ "format", cmd_format, "DEV [--force] [--json]",
	  "make DEV a pool (--force destroys the regions of an existing pool)" },
	{ "df", cmd_df, "DEV [--json]", "capacity, free space and fragmentation of the pool on DEV" },
	{ "regions", cmd_regions, "DEV [--json]", "list the regions of the pool on DEV" },
	{ "alloc", cmd_alloc, "DEV --size SIZE --name NAME [--json]",
	  "allocate a named region" },
	{ "free", cmd_free, "DEV NAME [--force]",
	  "free the named region; refused while another process maps or pins it (--force: they may still write into it)" },
	{ "rename", cmd_rename, "DEV OLD NEW", "rename a region" },
	{ "check", cmd_check, "DEV [--repair [--force]] [--json]",
	  "verify the pool metadata on DEV; --repair rewrites it and reclaims orphans" },
	{ "pins", cmd_pins, "DEV [--json]",
	  "who pins what on DEV (VFIO, iommufd, RDMA, io_uring), in every process" },
	{ "reconfigure", cmd_reconfigure, "DEV --align 4K|2M|1G | --mode devdax|system-ram [--destroy-data] [--ignore-dma] [--json]",
	  "change DEV's alignment (a pmem namespace is re-created: needs --destroy-data)" },
	{ "create-device", cmd_create_device, "--size SIZE [--align 4K|2M|1G] [--region N] [--json]",
	  "create a devdax device in a dynamic dax region (default align 2M)" },
	{ "resize", cmd_resize, "DEV --size SIZE [--destroy-data] [--ignore-dma] [--json]",
	  "grow or shrink a device of a dynamic dax region" },
	{ "destroy-device", cmd_destroy_device, "DEV [--destroy-data] [--ignore-dma]",
	  "destroy a device of a dynamic dax region, freeing its memory" },
	{ "regions-free", cmd_regions_free, "[--json]",
	  "the dax regions and their free capacity (in all, and for 1G devices)" },
	{ "vm-backing", cmd_vm_backing,
	  "--size SIZE [--align 4K|2M|1G] [--region N] [--id ID] [--numa] [--libvirt|--json]",
	  "create a device for guest RAM and print the QEMU options using it (default align 1G)" },
	{ "vmemmap", cmd_vmemmap,
	  "[DEV] [--size SIZE] [--measure [--cycles N] [--align A] [--pin-with C] [--no-pin] [--ignore-dma]] [--json]",
	  "struct page overhead at 4K/2M/1G, modelled and measured, and the pin path" },
	{ "help", cmd_help, "[COMMAND]", "show this help, or one command's" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_help(FILE *f)
{
	fprintf(f, "usage: %s [--version] COMMAND [ARGS]\n\ncommands:\n", ctl_prog);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n            %s\n", commands[i].name, commands[i].args,
			commands[i].summary);
	fprintf(f,
		"\nDEV is a device-dax name (dax0.0), its path (/dev/dax0.0), or the stand-in\n"
		"hugetlb:2M / hugetlb:1G[:SIZE]; without DEV: $DAXALLOC_DEVICE, else the first\n"
		"enabled devdax device, else the stand-in.\n"
		"SIZE: bytes, hex bytes (0x200000) or 4K, 2M, 1G, 2GiB (binary units).\n"
		"Every command takes --help.\n"
		"Exit status: 0 success, 1 the operation failed, 2 bad command line.\n");
}

int ctl_help_cmd(const char *cmd)
{
	const struct ctl_cmd *c = ctl_find(cmd);

	if (!c)
		return ctl_fail(CTL_USAGE, "help: unknown command '%s' (see '%s help')", cmd, ctl_prog);
	printf("usage: %s %s %s\n  %s\n", ctl_prog, c->name, c->args, c->summary);
	return CTL_OK;
}

static int cmd_help(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { CTL_BASE_OPTIONS, CTL_OPT_END };
	struct ctl_args a;
	int rc;

	(void)ctx;
	if ((rc = ctl_parse("help", argc, argv, opts, &a)))
		return rc;
	if (argc - optind > 1)
		return ctl_fail(CTL_USAGE, "help: takes at most one command name");
	if (optind < argc)
		return ctl_help_cmd(argv[optind]);
	print_help(stdout);
	return CTL_OK;
}

int ctl_usage(const char *cmd)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			fprintf(stderr, "usage: %s %s %s\n", ctl_prog, cmd, commands[i].args);
	return CTL_USAGE;
}

const struct ctl_cmd *ctl_find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

/*
 * getopt keeps its place inside the previous argv (glibc's nextchar) when a
 * parse stops early; optind = 0 makes it start afresh.  The subcommands then
 * set optind = 1 as usual.
 */
static void getopt_reset(void)
{
	char *none[] = { (char *)ctl_prog, NULL };

	optind = 0;
	getopt(1, none, "");
}

int ctl_main(int argc, char **argv)
{
	struct daxalloc_ctx *ctx = NULL;
	const struct ctl_cmd *cmd;
	int rc;

	if (argc < 2) {
		print_help(stderr);
		return CTL_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("%s %s\n", ctl_prog, daxalloc_version());
		return CTL_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_help(stdout);
		return CTL_OK;
	}
	cmd = ctl_find(argv[1]);
	if (!cmd)
		return ctl_fail(CTL_USAGE, "unknown command '%s' (see '%s help')", argv[1], ctl_prog);
	if (cmd->fn != cmd_help) {
		rc = daxalloc_ctx_new(&ctx);
		if (rc < 0)
			return ctl_lib_fail(rc);
	}
	getopt_reset();
	rc = cmd->fn(ctx, argc - 1, argv + 1);
	daxalloc_ctx_delete(&ctx);
	return rc == CTL_DONE ? CTL_OK : rc;
}
