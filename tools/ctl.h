/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared pieces of daxalloc-ctl: the subcommand table and output helpers. */
#ifndef DAXALLOC_CTL_H
#define DAXALLOC_CTL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "daxalloc.h"
#include "options.h"
#include "vmemmap-measure.h"

/* Exit statuses, documented in the man page and `daxalloc-ctl help`. */
enum {
	CTL_OK = 0,
	CTL_FAILED = 1, /* the operation failed; the message says why */
	CTL_USAGE = 2,  /* bad command line */
	/*
	 * Not an exit status: the command is done and the run succeeds
	 * (--help was printed).  ctl_main() turns it into CTL_OK, so option
	 * parsers can stop without exit() and ctl_main() can run in-process.
	 */
	CTL_DONE = 100,
};

struct ctl_cmd {
	const char *name;
	/* Called with the options parsed from @opts; what follows them in a->pos. */
	int (*fn)(struct daxalloc_ctx *ctx, struct ctl_args *a);
	const char *pos; /* the arguments after the name: "DEV NAME" */
	const struct ctl_opt *opts;
	const char *summary;
};

extern const char *ctl_prog;

/* The usage line and summary of @cmd on stdout (help CMD, CMD --help). */
int ctl_help_cmd(const char *cmd);

/* The whole command: main() of daxalloc-ctl, callable more than once. */
int ctl_main(int argc, char **argv);
/* The subcommand called @name, or NULL. */
const struct ctl_cmd *ctl_find(const char *name);
/* Every subcommand, in the order help lists them; *@n of them. */
const struct ctl_cmd *ctl_commands(size_t *n);

/* One line on stderr: "daxalloc-ctl: <what>"; returns @status. */
int ctl_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A library failure: its message already names device, value and rule. */
int ctl_lib_fail(int rc);
int ctl_parse_size(const char *opt, const char *arg, uint64_t *out);
const char *ctl_size(uint64_t v, char *buf, size_t len);
/* @secs since the epoch as local "YYYY-MM-DD HH:MM:SS"; returns @buf. */
const char *ctl_time(uint64_t secs, char *buf, size_t len);
/*
 * A listing: the JSON array @arr, or @head and a @row a member, or
 * "DEV: no WHAT"; drops @arr.
 */
void ctl_print_rows(struct json_object *arr, bool json, void (*head)(void),
		    void (*row)(struct json_object *x), const char *dev, const char *what);

/*
 * tools/json.c: every object the commands report.  --json prints it; the
 * text output reads it back with ctl_j*().
 */
struct ctl_map_result {
	uint64_t offset, length, bad_pages;
	int64_t kernel_page_size; /* -errno if unknown */
	bool read_only;
	double seconds;
};

void ctl_json_print(struct json_object *obj);
const char *ctl_jstr(struct json_object *o, const char *key); /* NULL: null */
uint64_t ctl_ju64(struct json_object *o, const char *key);
int64_t ctl_ji64(struct json_object *o, const char *key);
bool ctl_jbool(struct json_object *o, const char *key);
double ctl_jdouble(struct json_object *o, const char *key);
bool ctl_jnull(struct json_object *o, const char *key); /* null or absent */

struct json_object *ctl_json_dev(struct daxalloc_dev *dev);
/* "enabled", "disabled" or "system-ram" (online as RAM: not a device to use). */
const char *ctl_json_dev_state(struct json_object *dev);
struct json_object *ctl_json_map(struct daxalloc_dev *dev, const struct ctl_map_result *m);
struct json_object *ctl_json_pool_stats(struct daxalloc_dev *dev,
					const struct daxalloc_pool_stats *st);
struct json_object *ctl_json_region(const struct daxalloc_region_info *ri);
struct json_object *ctl_json_alloc(struct daxalloc_dev *dev, const char *name,
				   struct daxalloc_region *r);
struct json_object *ctl_json_finding(const struct daxalloc_check_finding *f);
struct json_object *ctl_json_check(const char *dev, const struct daxalloc_check_report *rep,
				   struct json_object *findings);
struct json_object *ctl_json_pin(const struct daxalloc_pin_info *pi);
struct json_object *ctl_json_mode(const char *dev, const char *old_mode, const char *mode);
struct json_object *ctl_json_realign(const char *dev, const char *ns, uint64_t old_align,
				     uint64_t align, uint64_t old_size, uint64_t size);
struct json_object *ctl_json_daxregion(const struct daxalloc_daxregion_info *r);
/* What vmemmap reports on: a device, or memory of --size (no name, no align). */
struct ctl_vmemmap_target {
	char name[64]; /* "" for --size */
	uint64_t size;
	uint64_t align; /* 0 for --size */
	enum daxalloc_region_kind kind;
	bool standin;
	bool in_ram;
	bool measured;
	struct vmemmap_report rep;
	int row;           /* the dedup its kernel does at 2M and 1G */
	bool row_measured; /* @row from its measurement, not the kernel's version */
};
struct json_object *ctl_json_vmemmap(const char *release, int row, bool row_measured, int pin_path,
				     const struct ctl_vmemmap_target *t, int n, int cycles);
struct json_object *ctl_json_vm_backing(const char *dev, uint64_t size, uint64_t align,
					const char *id, const char *const *args);

int cmd_list(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_info(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_map(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_format(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_df(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_regions(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_alloc(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_free(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_rename(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_check(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_pins(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_reconfigure(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_create_device(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_resize(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_destroy_device(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_regions_free(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_vm_backing(struct daxalloc_ctx *ctx, struct ctl_args *a);
int cmd_vmemmap(struct daxalloc_ctx *ctx, struct ctl_args *a);

#endif
