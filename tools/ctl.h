/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared pieces of daxalloc-ctl: the subcommand table and output helpers. */
#ifndef DAXALLOC_CTL_H
#define DAXALLOC_CTL_H

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
