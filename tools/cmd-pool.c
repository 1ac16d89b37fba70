// SPDX-License-Identifier: GPL-2.0-or-later
/* format, df, regions, alloc, free, rename, check: the pool on a device. */
#include <inttypes.h>
#include <syslog.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

struct pool_args {
	const char *dev;
	const char *pos[2]; /* positional arguments after DEV */
	int npos;
	const struct ctl_args *o;
};

/* DEV and @want_pos arguments after it. */
static int parse(const char *cmd, const struct ctl_args *o, int want_pos, struct pool_args *a)
{
	int i = 0;

	memset(a, 0, sizeof(*a));
	a->o = o;
	if (i >= o->npos)
		return ctl_fail(CTL_USAGE, "%s: missing DEV (a device name such as dax0.0)", cmd);
	a->dev = o->pos[i++];
	while (i < o->npos && a->npos < want_pos)
		a->pos[a->npos++] = o->pos[i++];
	if (a->npos < want_pos)
		return ctl_fail(CTL_USAGE, "%s: missing argument (see '%s help %s')", cmd, ctl_prog,
				cmd);
	if (i < o->npos)
		return ctl_fail(CTL_USAGE, "%s: unexpected argument '%s'", cmd, o->pos[i]);
	return 0;
}

/* @flags: DAXALLOC_POOL_RDONLY for commands that only look. */
static int open_pool(struct daxalloc_ctx *ctx, const char *name, unsigned int flags,
		     struct daxalloc_dev **dev, struct daxalloc_pool **pool)
{
	int rc = daxalloc_dev_open(ctx, name, dev);

	if (rc < 0)
		return ctl_lib_fail(rc);
	rc = daxalloc_pool_open(*dev, flags, pool);
	if (rc < 0) {
		daxalloc_dev_close(dev);
		return ctl_lib_fail(rc);
	}
	return 0;
}

static void close_pool(struct daxalloc_dev **dev, struct daxalloc_pool **pool)
{
	daxalloc_pool_close(pool);
	daxalloc_dev_close(dev);
}

/* The pool's figures as JSON in @o; closes the pool and its device either way. */
static int stats_and_close(struct daxalloc_dev **dev, struct daxalloc_pool **pool,
			   struct json_object **o)
{
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
	int rc = daxalloc_pool_get_stats(*pool, &st);

	if (rc == 0)
		*o = ctl_json_pool_stats(*dev, &st);
	close_pool(dev, pool);
	return rc < 0 ? ctl_lib_fail(rc) : 0;
}

int cmd_format(struct daxalloc_ctx *ctx, struct ctl_args *args)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct json_object *o;
	struct pool_args a;
	char u[32], c[32];
	int rc;

	if ((rc = parse("format", args, 0, &a)))
		return rc;
	rc = daxalloc_dev_open(ctx, a.dev, &dev);
	if (rc < 0)
		return ctl_lib_fail(rc);
	/* A stand-in is kept until 'destroy-device', or the pool would end with this command. */
	rc = daxalloc_pool_create(dev, (a.o->force ? DAXALLOC_POOL_FORCE : 0) | DAXALLOC_POOL_KEEP,
				  &pool);
	if (rc < 0) {
		daxalloc_dev_close(&dev);
		return ctl_lib_fail(rc);
	}
	if ((rc = stats_and_close(&dev, &pool, &o)))
		return rc;
	if (a.o->json)
		ctl_json_print(o);
	else
		printf("%s: formatted; %s units, %s usable\n", a.dev,
		       ctl_size(ctl_ju64(o, "unit"), u, sizeof(u)),
		       ctl_size(ctl_ju64(o, "capacity"), c, sizeof(c)));
	json_object_put(o);
	return CTL_OK;
}

int cmd_df(struct daxalloc_ctx *ctx, struct ctl_args *args)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct json_object *o;
	struct pool_args a;
	char b[5][32];
	int rc;

	if ((rc = parse("df", args, 0, &a)))
		return rc;
	if ((rc = open_pool(ctx, a.dev, DAXALLOC_POOL_RDONLY, &dev, &pool)))
		return rc;
	if ((rc = stats_and_close(&dev, &pool, &o)))
		return rc;
	if (a.o->json) {
		ctl_json_print(o);
	} else {
		printf("%-10s %6s %10s %10s %10s %12s %8s %7s\n", "DEVICE", "UNIT", "CAPACITY",
		       "USED", "FREE", "LARGEST-FREE", "REGIONS", "FRAG");
		printf("%-10s %6s %10s %10s %10s %12s %8u %6.1f%%\n", ctl_jstr(o, "device"),
		       ctl_size(ctl_ju64(o, "unit"), b[0], 32),
		       ctl_size(ctl_ju64(o, "capacity"), b[1], 32),
		       ctl_size(ctl_ju64(o, "used"), b[2], 32),
		       ctl_size(ctl_ju64(o, "free"), b[3], 32),
		       ctl_size(ctl_ju64(o, "largest_free"), b[4], 32),
		       (unsigned int)ctl_ju64(o, "regions"), ctl_jdouble(o, "fragmentation") * 100.0);
	}
	json_object_put(o);
	return CTL_OK;
}

static int add_region(const struct daxalloc_region_info *ri, void *arg)
{
	json_object_array_add(arg, ctl_json_region(ri));
	return 0;
}

static void print_region_head(void)
{
	printf("%-24s %12s %8s %-20s %s\n", "NAME", "OFFSET", "SIZE", "CREATED", "OWNER");
}

static void print_region(struct json_object *x)
{
	char s[32], o[32], when[32];
	const char *name = ctl_jstr(x, "name");

	ctl_time(ctl_ju64(x, "created"), when, sizeof(when));
	snprintf(o, sizeof(o), "0x%" PRIx64, ctl_ju64(x, "offset"));
	ctl_size(ctl_ju64(x, "size"), s, sizeof(s));
	if (name)
		printf("%-24s %12s %8s %-20s -\n", name, o, s, when);
	else
		printf("%-24s %12s %8s %-20s pid %d%s\n", "(unnamed)", o, s, when,
		       (int)ctl_ji64(x, "owner_pid"), ctl_jbool(x, "owner_alive") ? "" : " (dead)");
}

int cmd_regions(struct daxalloc_ctx *ctx, struct ctl_args *args)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct json_object *arr;
	struct pool_args a;
	int rc;

	if ((rc = parse("regions", args, 0, &a)))
		return rc;
	if ((rc = open_pool(ctx, a.dev, DAXALLOC_POOL_RDONLY, &dev, &pool)))
		return rc;
	arr = json_object_new_array();
	rc = daxalloc_pool_foreach_region(pool, add_region, arr);
	close_pool(&dev, &pool);
	if (rc < 0) {
		json_object_put(arr);
		return ctl_lib_fail(rc);
	}
	ctl_print_rows(arr, a.o->json, print_region_head, print_region, a.dev, "regions");
	return CTL_OK;
}

int cmd_alloc(struct daxalloc_ctx *ctx, struct ctl_args *args)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	struct json_object *o;
	struct pool_args a;
	char s[32];
	int rc;

	if ((rc = parse("alloc", args, 0, &a)))
		return rc;
	if (!a.o->size_given || !a.o->name)
		return ctl_fail(CTL_USAGE,
				"alloc: needs --size SIZE and --name NAME (a region the CLI makes must have a name)");
	if ((rc = open_pool(ctx, a.dev, 0, &dev, &pool)))
		return rc;
	rc = daxalloc_alloc(pool, a.o->size, a.o->name, 0, &r);
	if (rc < 0) {
		close_pool(&dev, &pool);
		return ctl_lib_fail(rc);
	}
	o = ctl_json_alloc(dev, a.o->name, r);
	if (a.o->json)
		ctl_json_print(o);
	else
		printf("%s: region '%s', %s at offset 0x%" PRIx64 "\n", a.dev, ctl_jstr(o, "name"),
		       ctl_size(ctl_ju64(o, "size"), s, sizeof(s)), ctl_ju64(o, "offset"));
	json_object_put(o);
	daxalloc_region_close(&r);
	close_pool(&dev, &pool);
	return CTL_OK;
}

/* free and rename: one call on names in the pool, then a one-line report. */
static int name_op(struct daxalloc_ctx *ctx, struct ctl_args *args, bool rename)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct pool_args a;
	int rc;

	if ((rc = parse(rename ? "rename" : "free", args, rename ? 2 : 1, &a)))
		return rc;
	/* --force: the library logs who still maps or pins what it frees. */
	if (a.o->force)
		daxalloc_ctx_set_log_priority(ctx, LOG_WARNING > daxalloc_ctx_get_log_priority(ctx) ?
							   LOG_WARNING :
							   daxalloc_ctx_get_log_priority(ctx));
	if ((rc = open_pool(ctx, a.dev, a.o->force ? DAXALLOC_POOL_FORCE_FREE : 0, &dev, &pool)))
		return rc;
	rc = rename ? daxalloc_pool_rename(pool, a.pos[0], a.pos[1]) :
		      daxalloc_pool_free_name(pool, a.pos[0]);
	close_pool(&dev, &pool);
	if (rc < 0)
		return ctl_lib_fail(rc);
	if (rename)
		printf("%s: renamed '%s' to '%s'\n", a.dev, a.pos[0], a.pos[1]);
	else
		printf("%s: freed region '%s'\n", a.dev, a.pos[0]);
	return CTL_OK;
}

int cmd_free(struct daxalloc_ctx *ctx, struct ctl_args *args)
{
	return name_op(ctx, args, false);
}

int cmd_rename(struct daxalloc_ctx *ctx, struct ctl_args *args)
{
	return name_op(ctx, args, true);
}

/* The findings, and the metadata's words for the first problem and loss, which the report quotes. */
struct check_seen {
	struct json_object *findings;
	char *first, *loss;
	bool have_first, have_loss;
};

static void on_finding(const struct daxalloc_check_finding *f, void *arg)
{
	struct check_seen *c = arg;

	json_object_array_add(c->findings, ctl_json_finding(f));
	if (f->kind != DAXALLOC_CHECK_NOTE && !c->have_first) {
		c->have_first = true;
		c->first = f->detail ? strdup(f->detail) : NULL;
	}
	if (f->kind == DAXALLOC_CHECK_LOSS && !c->have_loss) {
		c->have_loss = true;
		c->loss = f->detail ? strdup(f->detail) : NULL;
	}
}

/* every finding on standard error, a line each; the summary follows */
static void print_findings(const char *dev, struct json_object *f)
{
	for (size_t i = 0; i < json_object_array_length(f); i++) {
		struct json_object *x = json_object_array_get_idx(f, i);

		fprintf(stderr, "%s: %s: %s\n", dev, ctl_jstr(x, "kind"), ctl_jstr(x, "text"));
	}
}

static void print_check(struct json_object *o)
{
	struct json_object *f = NULL;
	const char *dev = ctl_jstr(o, "device");

	json_object_object_get_ex(o, "findings", &f);
	print_findings(dev, f);
	if (ctl_ji64(o, "problems") == 0)
		printf("%s: clean; %u regions, copy %d at sequence %" PRIu64 "%s%s\n", dev,
		       (unsigned int)ctl_ji64(o, "regions"), (int)ctl_ji64(o, "active_copy"),
		       ctl_ju64(o, "sequence"),
		       ctl_jbool(o, "standby_valid") ? "" : " (standby copy was mid-update: harmless)",
		       ctl_ji64(o, "repaired") ? "; repaired" : "");
}

int cmd_check(struct daxalloc_ctx *ctx, struct ctl_args *args)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_dev *dev = NULL;
	struct check_seen seen = { 0 };
	struct json_object *o;
	struct pool_args a;
	unsigned int flags;
	char first[256]; /* as long as 0.1's first_problem */
	int rc;

	if ((rc = parse("check", args, 0, &a)))
		return rc;
	if (a.o->force && !a.o->repair)
		return ctl_fail(CTL_USAGE, "check: --force only goes with --repair");
	flags = (a.o->repair ? DAXALLOC_CHECK_REPAIR : 0) | (a.o->force ? DAXALLOC_CHECK_FORCE : 0);
	rc = daxalloc_dev_open(ctx, a.dev, &dev);
	if (rc < 0)
		return ctl_lib_fail(rc);
	seen.findings = json_object_new_array();
	rc = daxalloc_pool_check_each(dev, flags, &rep, on_finding, &seen);
	daxalloc_dev_close(&dev);
	rep.first.detail = seen.first;
	rep.first_loss.detail = seen.loss;
	if (rc < 0) {
		if (!a.o->json)
			print_findings(a.dev, seen.findings);
		json_object_put(seen.findings);
		rc = ctl_lib_fail(rc);
		goto out;
	}
	o = ctl_json_check(a.dev, &rep, seen.findings);
	if (a.o->json)
		ctl_json_print(o);
	else
		print_check(o);
	json_object_put(o);
	rc = CTL_OK;
	if (rep.problems) {
		if (daxalloc_check_report_describe(&rep, first, sizeof(first)) < 0)
			first[0] = '\0';
		rc = ctl_fail(CTL_FAILED, "%s: %u problem(s): %s%s", a.dev, rep.problems, first,
			      a.o->repair || rep.first.code == DAXALLOC_CHECK_NEEDS_FORCE ?
				      "" :
				      " (run with --repair)");
	}
out:
	free(seen.first);
	free(seen.loss);
	return rc;
}
