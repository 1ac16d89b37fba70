// SPDX-License-Identifier: GPL-2.0-or-later
/* format, df, regions, alloc, free, rename, check: the pool on a device. */
#include <getopt.h>
#include <inttypes.h>
#include <syslog.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

struct pool_args {
	const char *dev;
	const char *pos[2];	/* positional arguments after DEV */
	int npos;
	struct ctl_args o;
};

/* DEV [ARGS...] plus the options @opts of this command. */
static int parse(const char *cmd, int argc, char **argv, const struct option *opts, int want_pos,
		 struct pool_args *a)
{
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = ctl_parse(cmd, argc, argv, opts, &a->o)))
		return rc;
	if (optind >= argc)
		return ctl_fail(CTL_USAGE, "%s: missing DEV (a device name such as dax0.0)", cmd);
	a->dev = argv[optind++];
	while (optind < argc && a->npos < want_pos)
		a->pos[a->npos++] = argv[optind++];
	if (a->npos < want_pos)
		return ctl_fail(CTL_USAGE, "%s: missing argument (see '%s help %s')", cmd, ctl_prog, cmd);
	if (optind < argc)
		return ctl_fail(CTL_USAGE, "%s: unexpected argument '%s'", cmd, argv[optind]);
	return 0;
}

static const struct option json_opts[] = { CTL_BASE_OPTIONS, CTL_OPT_JSON, CTL_OPT_END };
static const struct option base_opts[] = { CTL_BASE_OPTIONS, CTL_OPT_END };

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

/* The pool's figures as df --json and format --json print them. */
static void print_stats_json(struct daxalloc_dev *dev, const struct daxalloc_pool_stats *st)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "device", json_object_new_string(daxalloc_dev_get_name(dev)));
	json_object_object_add(o, "unit", json_object_new_uint64(st->unit));
	json_object_object_add(o, "capacity", json_object_new_uint64(st->capacity));
	json_object_object_add(o, "used", json_object_new_uint64(st->used));
	json_object_object_add(o, "free", json_object_new_uint64(st->free));
	json_object_object_add(o, "largest_free", json_object_new_uint64(st->largest_free));
	json_object_object_add(o, "free_extents", json_object_new_int(st->free_extents));
	json_object_object_add(o, "regions", json_object_new_int(st->regions));
	json_object_object_add(o, "named_regions", json_object_new_int(st->named_regions));
	json_object_object_add(o, "max_regions", json_object_new_int(st->max_regions));
	json_object_object_add(o, "fragmentation", json_object_new_double(st->fragmentation));
	ctl_json_print(o);
	json_object_put(o);
}

int cmd_format(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
	struct pool_args a;
	char u[32], c[32];
	int rc;

	static const struct option opts[] = {
		CTL_BASE_OPTIONS, CTL_OPT_FORCE, CTL_OPT_JSON, CTL_OPT_END,
	};

	if ((rc = parse("format", argc, argv, opts, 0, &a)))
		return rc;
	rc = daxalloc_dev_open(ctx, a.dev, &dev);
	if (rc < 0)
		return ctl_lib_fail(rc);
	/* A stand-in is kept until 'destroy-device', or the pool would end with this command. */
	rc = daxalloc_pool_create(dev, (a.o.force ? DAXALLOC_POOL_FORCE : 0) | DAXALLOC_POOL_KEEP,
				  &pool);
	if (rc < 0) {
		daxalloc_dev_close(&dev);
		return ctl_lib_fail(rc);
	}
	daxalloc_pool_get_stats(pool, &st);
	if (a.o.json) {
		print_stats_json(dev, &st);
	} else {
		printf("%s: formatted; %s units, %s usable\n", a.dev, ctl_size(st.unit, u, sizeof(u)),
		       ctl_size(st.capacity, c, sizeof(c)));
	}
	close_pool(&dev, &pool);
	return CTL_OK;
}

int cmd_df(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
	struct pool_args a;
	char b[5][32];
	int rc;

	if ((rc = parse("df", argc, argv, json_opts, 0, &a)))
		return rc;
	if ((rc = open_pool(ctx, a.dev, DAXALLOC_POOL_RDONLY, &dev, &pool)))
		return rc;
	rc = daxalloc_pool_get_stats(pool, &st);
	if (rc < 0) {
		close_pool(&dev, &pool);
		return ctl_lib_fail(rc);
	}
	if (a.o.json) {
		print_stats_json(dev, &st);
	} else {
		printf("%-10s %6s %10s %10s %10s %12s %8s %7s\n", "DEVICE", "UNIT", "CAPACITY", "USED",
		       "FREE", "LARGEST-FREE", "REGIONS", "FRAG");
		printf("%-10s %6s %10s %10s %10s %12s %8u %6.1f%%\n", daxalloc_dev_get_name(dev),
		       ctl_size(st.unit, b[0], 32), ctl_size(st.capacity, b[1], 32),
		       ctl_size(st.used, b[2], 32), ctl_size(st.free, b[3], 32),
		       ctl_size(st.largest_free, b[4], 32), st.regions, st.fragmentation * 100.0);
	}
	close_pool(&dev, &pool);
	return CTL_OK;
}

struct list_state {
	bool json;
	struct json_object *arr;
	int n;
};

static int print_region(const struct daxalloc_region_info *ri, void *arg)
{
	struct list_state *ls = arg;
	char s[32], o[32], when[32];
	time_t t = (time_t)ri->created;

	if (ls->json) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "name", ri->name[0] ? json_object_new_string(ri->name) : NULL);
		json_object_object_add(x, "offset", json_object_new_uint64(ri->offset));
		json_object_object_add(x, "size", json_object_new_uint64(ri->size));
		json_object_object_add(x, "owner_pid", ri->owner_pid ? json_object_new_int(ri->owner_pid) : NULL);
		json_object_object_add(x, "owner_alive", json_object_new_boolean(ri->owner_alive));
		json_object_object_add(x, "created", json_object_new_uint64(ri->created));
		json_object_array_add(ls->arr, x);
		return 0;
	}
	if (ls->n++ == 0)
		printf("%-24s %12s %8s %-20s %s\n", "NAME", "OFFSET", "SIZE", "CREATED", "OWNER");
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
	snprintf(o, sizeof(o), "0x%" PRIx64, ri->offset);
	if (ri->name[0])
		printf("%-24s %12s %8s %-20s -\n", ri->name, o, ctl_size(ri->size, s, sizeof(s)), when);
	else
		printf("%-24s %12s %8s %-20s pid %d%s\n", "(unnamed)", o, ctl_size(ri->size, s, sizeof(s)),
		       when, ri->owner_pid, ri->owner_alive ? "" : " (dead)");
	return 0;
}

int cmd_regions(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct list_state ls = { 0 };
	struct pool_args a;
	int rc;

	if ((rc = parse("regions", argc, argv, json_opts, 0, &a)))
		return rc;
	if ((rc = open_pool(ctx, a.dev, DAXALLOC_POOL_RDONLY, &dev, &pool)))
		return rc;
	ls.json = a.o.json;
	if (a.o.json)
		ls.arr = json_object_new_array();
	rc = daxalloc_pool_foreach_region(pool, print_region, &ls);
	if (rc < 0) {
		json_object_put(ls.arr);
		close_pool(&dev, &pool);
		return ctl_lib_fail(rc);
	}
	if (a.o.json) {
		ctl_json_print(ls.arr);
		json_object_put(ls.arr);
	} else if (ls.n == 0) {
		printf("%s: no regions\n", a.dev);
	}
	close_pool(&dev, &pool);
	return CTL_OK;
}

int cmd_alloc(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	struct pool_args a;
	char s[32];
	int rc;

	static const struct option opts[] = {
		CTL_BASE_OPTIONS, CTL_OPT_SIZE, CTL_OPT_NAME, CTL_OPT_JSON, CTL_OPT_END,
	};

	if ((rc = parse("alloc", argc, argv, opts, 0, &a)))
		return rc;
	if (!a.o.size_given || !a.o.name)
		return ctl_fail(CTL_USAGE, "alloc: needs --size SIZE and --name NAME (a region the CLI makes must have a name)");
	if ((rc = open_pool(ctx, a.dev, 0, &dev, &pool)))
		return rc;
	rc = daxalloc_alloc(pool, a.o.size, a.o.name, 0, &r);
	if (rc < 0) {
		close_pool(&dev, &pool);
		return ctl_lib_fail(rc);
	}
	if (a.o.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "device", json_object_new_string(daxalloc_dev_get_name(dev)));
		json_object_object_add(o, "name", json_object_new_string(a.o.name));
		json_object_object_add(o, "offset", json_object_new_uint64(daxalloc_region_get_offset(r)));
		json_object_object_add(o, "size", json_object_new_uint64(daxalloc_region_get_size(r)));
		ctl_json_print(o);
		json_object_put(o);
	} else {
		printf("%s: region '%s', %s at offset 0x%" PRIx64 "\n", a.dev, a.o.name,
		       ctl_size(daxalloc_region_get_size(r), s, sizeof(s)),
		       daxalloc_region_get_offset(r));
	}
	daxalloc_region_close(&r);
	close_pool(&dev, &pool);
	return CTL_OK;
}

/* free and rename: one call on names in the pool, then a one-line report. */
static int name_op(struct daxalloc_ctx *ctx, int argc, char **argv, bool rename)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct pool_args a;
	int rc;

	static const struct option free_opts[] = { CTL_BASE_OPTIONS, CTL_OPT_FORCE, CTL_OPT_END };

	if ((rc = parse(rename ? "rename" : "free", argc, argv, rename ? base_opts : free_opts,
			rename ? 2 : 1, &a)))
		return rc;
	/* --force: the library logs who still maps or pins what it frees. */
	if (a.o.force)
		daxalloc_ctx_set_log_priority(ctx, LOG_WARNING > daxalloc_ctx_get_log_priority(ctx) ?
							   LOG_WARNING : daxalloc_ctx_get_log_priority(ctx));
	if ((rc = open_pool(ctx, a.dev, a.o.force ? DAXALLOC_POOL_FORCE_FREE : 0, &dev, &pool)))
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

int cmd_free(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	return name_op(ctx, argc, argv, false);
}

int cmd_rename(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	return name_op(ctx, argc, argv, true);
}

struct findings {
	const char *dev;
	struct json_object *list;	/* --json: every finding */
};

static void on_finding(int kind, const char *line, void *arg)
{
	static const char *const kinds[] = { "problem", "loss", "note" };
	struct findings *f = arg;
	const char *k = kind >= 0 && kind <= 2 ? kinds[kind] : "problem";

	if (f->list) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "kind", json_object_new_string(k));
		json_object_object_add(o, "text", json_object_new_string(line));
		json_object_array_add(f->list, o);
		return;
	}
	/* every finding on standard error, a line each; the summary follows */
	fprintf(stderr, "%s: %s: %s\n", f->dev, k, line);
}

int cmd_check(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_dev *dev = NULL;
	struct findings f = { 0 };
	struct pool_args a;
	unsigned int flags;
	int rc;

	static const struct option opts[] = {
		CTL_BASE_OPTIONS, CTL_OPT_REPAIR, CTL_OPT_FORCE, CTL_OPT_JSON, CTL_OPT_END,
	};

	if ((rc = parse("check", argc, argv, opts, 0, &a)))
		return rc;
	if (a.o.force && !a.o.repair)
		return ctl_fail(CTL_USAGE, "check: --force only goes with --repair");
	flags = (a.o.repair ? DAXALLOC_CHECK_REPAIR : 0) | (a.o.force ? DAXALLOC_CHECK_FORCE : 0);
	rc = daxalloc_dev_open(ctx, a.dev, &dev);
	if (rc < 0)
		return ctl_lib_fail(rc);
	f.dev = a.dev;
	if (a.o.json)
		f.list = json_object_new_array();
	rc = daxalloc_pool_check_each(dev, flags, &rep, on_finding, &f);
	daxalloc_dev_close(&dev);
	if (rc < 0) {
		json_object_put(f.list);
		return ctl_lib_fail(rc);
	}
	if (a.o.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "device", json_object_new_string(a.dev));
		json_object_object_add(o, "clean", json_object_new_boolean(rep.problems == 0));
		json_object_object_add(o, "active_copy", json_object_new_int(rep.active_copy));
		json_object_object_add(o, "sequence", json_object_new_uint64(rep.sequence));
		json_object_object_add(o, "standby_valid", json_object_new_boolean(rep.standby_valid));
		json_object_object_add(o, "regions", json_object_new_int(rep.regions));
		json_object_object_add(o, "orphans", json_object_new_int(rep.orphans));
		json_object_object_add(o, "problems", json_object_new_int(rep.problems));
		json_object_object_add(o, "repaired", json_object_new_int(rep.repaired));
		json_object_object_add(o, "first_problem",
				       rep.first_problem[0] ? json_object_new_string(rep.first_problem) : NULL);
		json_object_object_add(o, "findings", f.list);
		ctl_json_print(o);
		json_object_put(o);
	} else if (rep.problems == 0) {
		printf("%s: clean; %u regions, copy %d at sequence %" PRIu64 "%s%s\n", a.dev, rep.regions,
		       rep.active_copy, rep.sequence,
		       rep.standby_valid ? "" : " (standby copy was mid-update: harmless)",
		       rep.repaired ? "; repaired" : "");
	}
	if (rep.problems)
		return ctl_fail(CTL_FAILED, "%s: %u problem(s): %s%s", a.dev, rep.problems,
				rep.first_problem,
				a.o.repair || strstr(rep.first_problem, "--force") ? "" : " (run with --repair)");
	return CTL_OK;
}
