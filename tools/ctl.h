/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared pieces of daxalloc-ctl: the subcommand table and output helpers. */
#ifndef DAXALLOC_CTL_H
#define DAXALLOC_CTL_H

#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "daxalloc.h"

/* Exit statuses, documented in the man page and `daxalloc-ctl help`. */
enum {
	CTL_OK = 0,
	CTL_FAILED = 1,	/* the operation failed; the message says why */
	CTL_USAGE = 2,	/* bad command line */
	/*
	 * Not an exit status: the command is done and the run succeeds
	 * (--help was printed).  ctl_main() turns it into CTL_OK, so option
	 * parsers can stop without exit() and ctl_main() can run in-process.
	 */
	CTL_DONE = 100,
};

struct ctl_cmd {
	const char *name;
	int (*fn)(struct daxalloc_ctx *ctx, int argc, char **argv);
	const char *args;
	const char *summary;
};

extern const char *ctl_prog;

/*
 * Options: each command lists the ones it takes, from these entries
 * (as daxctl builds its tables from BASE_OPTIONS() and friends), and
 * ctl_parse() refuses any other.  Values above 0xff have no short form.
 */
enum {
	CTL_O_REPAIR = 0x100,
	CTL_O_POPULATE,
	CTL_O_SYNC,
	CTL_O_REGION,
	CTL_O_DESTROY,
	CTL_O_IGNORE_DMA,
	CTL_O_ID,
	CTL_O_NUMA,
	CTL_O_MODE,
	CTL_O_READ_ONLY,
	CTL_O_LIBVIRT,
	CTL_O_FIRST_PRIVATE = 0x200,	/* a command's own, handled by the command */
};
#define CTL_OPT_HELP		{ "help", no_argument, NULL, 'h' }
#define CTL_OPT_JSON		{ "json", no_argument, NULL, 'j' }
#define CTL_OPT_FORCE		{ "force", no_argument, NULL, 'f' }
#define CTL_OPT_SIZE		{ "size", required_argument, NULL, 's' }
#define CTL_OPT_OFFSET		{ "offset", required_argument, NULL, 'o' }
#define CTL_OPT_ALIGN		{ "align", required_argument, NULL, 'a' }
#define CTL_OPT_NAME		{ "name", required_argument, NULL, 'n' }
#define CTL_OPT_REPAIR		{ "repair", no_argument, NULL, CTL_O_REPAIR }
#define CTL_OPT_POPULATE	{ "populate", no_argument, NULL, CTL_O_POPULATE }
#define CTL_OPT_SYNC		{ "sync", no_argument, NULL, CTL_O_SYNC }
#define CTL_OPT_REGION		{ "region", required_argument, NULL, CTL_O_REGION }
#define CTL_OPT_DESTROY		{ "destroy-data", no_argument, NULL, CTL_O_DESTROY }
#define CTL_OPT_IGNORE_DMA	{ "ignore-dma", no_argument, NULL, CTL_O_IGNORE_DMA }
#define CTL_OPT_ID		{ "id", required_argument, NULL, CTL_O_ID }
#define CTL_OPT_NUMA		{ "numa", no_argument, NULL, CTL_O_NUMA }
#define CTL_OPT_MODE		{ "mode", required_argument, NULL, CTL_O_MODE }
#define CTL_OPT_READ_ONLY	{ "read-only", no_argument, NULL, CTL_O_READ_ONLY }
#define CTL_OPT_LIBVIRT		{ "libvirt", no_argument, NULL, CTL_O_LIBVIRT }
#define CTL_OPT_END		{ NULL, 0, NULL, 0 }
/* What every command takes. */
#define CTL_BASE_OPTIONS	CTL_OPT_HELP

/* The options given, once parsed. */
struct ctl_args {
	bool json, force, repair, populate, sync, numa, read_only, libvirt;
	unsigned int reconfig_flags;	/* DAXALLOC_RECONFIG_* */
	uint64_t size, offset, align;
	bool size_given, offset_given, align_given;
	const char *name, *id, *mode;
	int region;			/* -1: not given */
};

/*
 * getopt_long over @opts, for command @cmd: returns the next option's
 * value, -1 at the end, or -CTL_DONE after printing --help on stdout,
 * -CTL_USAGE after one line naming an option @cmd does not take or one
 * missing its argument.  optind is then at the first argument left.
 */
int ctl_getopt(const char *cmd, int argc, char **argv, const struct option *opts);
/*
 * All options into @a (sizes parsed, --align checked); 0, or the exit
 * status to return (CTL_DONE for --help).  Options of a command's own
 * (CTL_O_FIRST_PRIVATE and up) are refused: such a command loops over
 * ctl_getopt() itself and passes the others to ctl_take_opt().
 */
int ctl_parse(const char *cmd, int argc, char **argv, const struct option *opts,
	      struct ctl_args *a);
int ctl_take_opt(const char *cmd, int c, struct ctl_args *a);
/* The usage line and summary of @cmd on stdout (help CMD, CMD --help). */
int ctl_help_cmd(const char *cmd);

/* The whole command: main() of daxalloc-ctl, callable more than once. */
int ctl_main(int argc, char **argv);
/* The subcommand called @name, or NULL. */
const struct ctl_cmd *ctl_find(const char *name);

/* One line on stderr: "daxalloc-ctl: <what>"; returns @status. */
int ctl_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A library failure: its message already names device, value and rule. */
int ctl_lib_fail(int rc);
int ctl_usage(const char *cmd);
int ctl_parse_size(const char *opt, const char *arg, uint64_t *out);
const char *ctl_size(uint64_t v, char *buf, size_t len);
void ctl_json_print(struct json_object *obj);
struct json_object *ctl_dev_json(struct daxalloc_dev *dev);
/* "enabled", "disabled" or "system-ram" (online as RAM: not a device to use). */
const char *ctl_dev_state(struct daxalloc_dev *dev);

int cmd_list(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_info(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_map(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_format(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_df(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_regions(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_alloc(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_free(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_rename(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_check(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_pins(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_reconfigure(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_create_device(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_resize(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_destroy_device(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_regions_free(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_vm_backing(struct daxalloc_ctx *ctx, int argc, char **argv);
int cmd_vmemmap(struct daxalloc_ctx *ctx, int argc, char **argv);

#endif
