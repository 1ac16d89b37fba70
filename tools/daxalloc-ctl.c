// SPDX-License-Identifier: GPL-2.0-or-later
/* daxalloc-ctl: the command line front end, one table of subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

const char *ctl_prog = "daxalloc-ctl";

static int cmd_help(struct daxalloc_ctx *ctx, struct ctl_args *a);

/* ---- each command's options ---------------------------------------------------- */

static const struct ctl_opt json_opts[] = { CTL_BASE_OPTIONS, CTL_OPT_JSON, CTL_OPT_END };
static const struct ctl_opt base_opts[] = { CTL_BASE_OPTIONS, CTL_OPT_END };

static const struct ctl_opt map_opts[] = {
	CTL_BASE_OPTIONS,
	CTL_OPT_SIZE("how much to map (default: what fits of 1G)", 0),
	CTL_OPT("offset", 'o', "OFF", "where in the device (default: past a pool's metadata)", 0),
	CTL_OPT("read-only", CTL_O_READ_ONLY, NULL, "map read-only and only read: write nothing", 0),
	CTL_OPT("destroy-data", CTL_O_DESTROY, NULL,
		"write the pattern on a pool or persistent memory too", 0),
	CTL_OPT("populate", CTL_O_POPULATE, NULL, "fault every page in at map time", 0),
	CTL_OPT("sync", CTL_O_SYNC, NULL, "map with MAP_SYNC", 0),
	CTL_OPT_JSON,
	CTL_OPT_END,
};

static const struct ctl_opt format_opts[] = {
	CTL_BASE_OPTIONS,
	CTL_OPT_FORCE("format a device that holds a pool, destroying its regions", 0),
	CTL_OPT_JSON,
	CTL_OPT_END,
};

static const struct ctl_opt alloc_opts[] = {
	CTL_BASE_OPTIONS,
	CTL_OPT_SIZE("the region's size, rounded up to the unit", CTL_OPT_REQUIRED),
	CTL_OPT("name", 'n', "NAME", "the region's name (at most 63 bytes)", CTL_OPT_REQUIRED),
	CTL_OPT_JSON,
	CTL_OPT_END,
};

static const struct ctl_opt free_opts[] = {
	CTL_BASE_OPTIONS,
	CTL_OPT_FORCE("free it although a process maps or pins it (they may still write)", 0),
	CTL_OPT_END,
};

static const struct ctl_opt check_opts[] = {
	CTL_BASE_OPTIONS,
	CTL_OPT("repair", CTL_O_REPAIR, NULL, "rewrite the metadata and reclaim orphans", 0),
	CTL_OPT_FORCE("repair also by going back to an older state", .within = CTL_O_REPAIR),
	CTL_OPT_JSON,
	CTL_OPT_END,
};

static const struct ctl_opt reconfigure_opts[] = {
	CTL_BASE_OPTIONS,
	CTL_OPT_ALIGN("the new alignment", CTL_OPT_REQUIRED),
	CTL_OPT("mode", CTL_O_MODE, "devdax|system-ram", "the new mode", CTL_OPT_OR),
	CTL_RECONFIG_OPTIONS,
	CTL_OPT_JSON,
	CTL_OPT_END,
};

static const struct ctl_opt create_opts[] = {
	CTL_BASE_OPTIONS,
	CTL_NEW_DEVICE_OPTIONS("2M"),
	CTL_OPT_JSON,
	CTL_OPT_END,
};

static const struct ctl_opt resize_opts[] = {
	CTL_BASE_OPTIONS,     CTL_OPT_SIZE("the new size", CTL_OPT_REQUIRED),
	CTL_RECONFIG_OPTIONS, CTL_OPT_JSON,
	CTL_OPT_END,
};

static const struct ctl_opt destroy_opts[] = { CTL_BASE_OPTIONS, CTL_RECONFIG_OPTIONS, CTL_OPT_END };

static const struct ctl_opt vm_backing_opts[] = {
	CTL_BASE_OPTIONS,
	CTL_NEW_DEVICE_OPTIONS("1G"),
	CTL_OPT("id", CTL_O_ID, "ID", "the QEMU object id; the same ID gives the same device again",
		0),
	CTL_OPT("numa", CTL_O_NUMA, NULL, "back a guest NUMA node (-numa node,memdev=)", 0),
	CTL_OPT("libvirt", CTL_O_LIBVIRT, NULL, "print libvirt domain XML instead", 0),
	CTL_OPT("json", 'j', NULL, "print JSON instead", CTL_OPT_OR),
	CTL_OPT_END,
};

static const struct ctl_opt vmemmap_opts[] = {
	CTL_BASE_OPTIONS,
	CTL_OPT_SIZE("model memory of this size instead of a device", 0),
	CTL_OPT("measure", CTL_O_MEASURE, NULL,
		"disable and enable DEV at each alignment, measuring", 0),
	CTL_OPT("cycles", CTL_O_CYCLES, "N", "cycles per alignment (default 5)",
		.within = CTL_O_MEASURE),
	CTL_OPT_ALIGN("measure at this alignment only", .within = CTL_O_MEASURE),
	CTL_OPT("pin-with", CTL_O_PIN_WITH, "C", "time pins with io_uring, rdma or vfio:GROUP",
		.within = CTL_O_MEASURE),
	CTL_OPT("no-pin", CTL_O_NO_PIN, NULL, "do not time the pin path", .within = CTL_O_MEASURE),
	CTL_OPT("ignore-dma", CTL_O_IGNORE_DMA, NULL,
		"go on although DMA into the device may be under way", .within = CTL_O_MEASURE),
	CTL_OPT_JSON,
	CTL_OPT_END,
};

static const struct ctl_cmd commands[] = {
	{ "list", cmd_list, "", json_opts, "list the device-dax devices and the default device" },
	{ "info", cmd_info, "[DEV]", json_opts, "show one device (default device if DEV is omitted)" },
	{ "map", cmd_map, "[DEV]", map_opts,
	  "map an aligned region, write and verify a pattern (or only read: --read-only), check the kernel page size" },
	{ "format", cmd_format, "DEV", format_opts,
	  "make DEV a pool (--force destroys the regions of an existing pool)" },
	{ "df", cmd_df, "DEV", json_opts,
	  "capacity, free space and fragmentation of the pool on DEV" },
	{ "regions", cmd_regions, "DEV", json_opts, "list the regions of the pool on DEV" },
	{ "alloc", cmd_alloc, "DEV", alloc_opts, "allocate a named region" },
	{ "free", cmd_free, "DEV NAME", free_opts,
	  "free the named region; refused while another process maps or pins it (--force: they may still write into it)" },
	{ "rename", cmd_rename, "DEV OLD NEW", base_opts, "rename a region" },
	{ "check", cmd_check, "DEV", check_opts,
	  "verify the pool metadata on DEV; --repair rewrites it and reclaims orphans" },
	{ "pins", cmd_pins, "DEV", json_opts,
	  "who pins what on DEV (VFIO, iommufd, RDMA, io_uring), in every process" },
	{ "reconfigure", cmd_reconfigure, "DEV", reconfigure_opts,
	  "change DEV's alignment (a pmem namespace is re-created: needs --destroy-data)" },
	{ "create-device", cmd_create_device, "", create_opts,
	  "create a devdax device in a dynamic dax region (default align 2M)" },
	{ "resize", cmd_resize, "DEV", resize_opts,
	  "grow or shrink a device of a dynamic dax region" },
	{ "destroy-device", cmd_destroy_device, "DEV", destroy_opts,
	  "destroy a device of a dynamic dax region, freeing its memory" },
	{ "regions-free", cmd_regions_free, "", json_opts,
	  "the dax regions and their free capacity (in all, and for 1G devices)" },
	{ "vm-backing", cmd_vm_backing, "", vm_backing_opts,
	  "create a device for guest RAM and print the QEMU options using it (default align 1G)" },
	{ "vmemmap", cmd_vmemmap, "[DEV]", vmemmap_opts,
	  "struct page overhead at 4K/2M/1G, modelled and measured, and the pin path" },
	{ "help", cmd_help, "[COMMAND]", base_opts, "show this help, or one command's" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_help(FILE *f)
{
	char usage[512];

	fprintf(f, "usage: %s [--version] COMMAND [ARGS]\n\ncommands:\n", ctl_prog);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		ctl_usage_line(commands[i].pos, commands[i].opts, usage, sizeof(usage));
		fprintf(f, "  %-9s %s\n            %s\n", commands[i].name, usage,
			commands[i].summary);
	}
	fprintf(f, "\nDEV is a device-dax name (dax0.0), its path (/dev/dax0.0), or the stand-in\n"
		   "hugetlb:2M / hugetlb:1G[:SIZE]; without DEV: $DAXALLOC_DEVICE, else the first\n"
		   "enabled devdax device, else the stand-in.\n"
		   "SIZE: bytes, hex bytes (0x200000) or 4K, 2M, 1G, 2GiB (binary units).\n"
		   "Every command takes --help.\n"
		   "Exit status: 0 success, 1 the operation failed, 2 bad command line.\n");
}

int ctl_help_cmd(const char *cmd)
{
	const struct ctl_cmd *c = ctl_find(cmd);
	char usage[512];

	if (!c)
		return ctl_fail(CTL_USAGE, "help: unknown command '%s' (see '%s help')", cmd,
				ctl_prog);
	ctl_usage_line(c->pos, c->opts, usage, sizeof(usage));
	printf("usage: %s %s %s\n  %s\n", ctl_prog, c->name, usage, c->summary);
	ctl_print_options(c->opts);
	return CTL_OK;
}

static int cmd_help(struct daxalloc_ctx *ctx, struct ctl_args *a)
{
	(void)ctx;
	if (a->npos > 1)
		return ctl_fail(CTL_USAGE, "help: takes at most one command name");
	if (a->npos)
		return ctl_help_cmd(a->pos[0]);
	print_help(stdout);
	return CTL_OK;
}

const struct ctl_cmd *ctl_find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

const struct ctl_cmd *ctl_commands(size_t *n)
{
	*n = NCOMMANDS;
	return commands;
}

int ctl_main(int argc, char **argv)
{
	struct daxalloc_ctx *ctx = NULL;
	const struct ctl_cmd *cmd;
	struct ctl_args a;
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
	rc = ctl_parse(cmd->name, cmd->opts, argc - 1, argv + 1, &a);
	if (rc)
		return rc == CTL_DONE ? CTL_OK : rc;
	if (cmd->fn != cmd_help) {
		rc = daxalloc_ctx_new(&ctx);
		if (rc < 0)
			return ctl_lib_fail(rc);
	}
	rc = cmd->fn(ctx, &a);
	daxalloc_ctx_delete(&ctx);
	return rc == CTL_DONE ? CTL_OK : rc;
}
