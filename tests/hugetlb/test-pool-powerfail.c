// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Power loss at every persist point.  A random sequence of allocations
 * (named, unnamed, zeroed), frees and renames runs on a pool while the
 * library's persist test seam reports every flush and fence.  The test
 * keeps a shadow of what the device would hold durably: at each flush of
 * the metadata, before it takes effect, the images a power loss could
 * leave are made (nothing unflushed kept, all of it, and random subsets of
 * the unflushed cache lines with their 8-byte words torn) and judged by
 * the engine's own scan, as the next open would.  Every image must open,
 * and hold exactly the state before or after the operation in progress
 * (for a zeroed named region also the unnamed reservation between);
 * after each operation returns, the shadow alone must hold its result;
 * a zeroed region visible by name must have had its zeros made durable
 * before.  Crash points: $DAXALLOC_POWERFAIL_OPS operations' worth, on a
 * pool of 2,048 entries (the stand-in) and on one whose table follows its
 * device past the first map (format 2.1, the test-only memfd device),
 * half as many there.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daxalloc.h"
#include "metadata.h"
#include "persist.h"
#include "pool-helpers.h"
#include "pool.h"
#include "testdev.h"

#define M (UINT64_C(1) << 20)
#define LINE 64

static char *meta;            /* the device as the CPU sees it */
static char *durable, *image; /* what a power loss keeps; what one leaves */
static uint64_t meta_len, nlines;
static struct dxa_geometry pgeo; /* the pool's, as its next open reads it */
static struct dxa_entry *tabs[2];
static uint32_t *dirty;

/* The states an image may show during the operation in progress. */
struct state {
	uint32_t n;
	struct dxa_entry e[DXA_MAX_ENTRIES];
};
static struct state before, after, got;

struct point {
	bool ok;           /* opened */
	bool zero_durable; /* the new region's zeros were durable by then */
	struct state *s;
	char why[160];
};

#define MAX_POINTS 64
static struct point points[MAX_POINTS];
static struct state point_states[MAX_POINTS];
static int npoints;
static long total_points;
static bool data_seen;                    /* a durable data range covered the new region */
static uint64_t pending_off, pending_len; /* the zeroed region being made, if known */

static int image_read(void *arg, uint64_t off, void *dst, size_t len)
{
	memcpy(dst, (const char *)arg + off, len);
	return 0;
}

static int scan(const char *img, struct state *s, char *why, size_t whylen)
{
	struct dxa_entry *tab[2] = { tabs[0], tabs[1] };
	struct dxa_scan sc;

	if (dxa_scan(&pgeo, image_read, (void *)img, tab, &sc) < 0) {
		snprintf(why, whylen, "%.150s", sc.why);
		return -1;
	}
	/* the newest checkpoint with the journal applied */
	s->n = sc.n;
	memcpy(s->e, tabs[sc.newest], s->n * sizeof(s->e[0]));
	return 0;
}

static void judge(void)
{
	struct point *p;

	if (npoints == MAX_POINTS)
		return;
	p = &points[npoints];
	p->s = &point_states[npoints];
	p->ok = scan(image, p->s, p->why, sizeof(p->why)) == 0;
	p->zero_durable = data_seen;
	npoints++;
	total_points++;
}

static void seam(enum persist_seam_event ev, uint64_t off, uint64_t len)
{
	uint32_t nd = 0;

	if (ev == PERSIST_SEAM_DATA) {
		/* durable zeros for the whole reservation count; the test writes no data */
		data_seen = true;
		pending_off = off;
		pending_len = len;
		return;
	}
	if (ev != PERSIST_SEAM_META)
		return;
	for (uint32_t l = 0; l < nlines; l++)
		if (memcmp(meta + l * LINE, durable + l * LINE, LINE) != 0)
			dirty[nd++] = l;
	/* power lost just before this flush: none, all, or some unflushed lines got out */
	memcpy(image, durable, meta_len);
	judge();
	for (uint32_t i = 0; i < nd; i++)
		memcpy(image + dirty[i] * LINE, meta + dirty[i] * LINE, LINE);
	judge();
	for (int k = 0; k < 3 && nd; k++) {
		memcpy(image, durable, meta_len);
		for (uint32_t i = 0; i < nd; i++) {
			char *to = image + dirty[i] * LINE, *from = meta + dirty[i] * LINE;

			if (rand() % 2)
				continue;
			if (k == 2) {
				/* a line caught mid-write: each 8-byte word old or new */
				for (int w = 0; w < LINE; w += 8)
					if (rand() % 2)
						memcpy(to + w, from + w, 8);
			} else {
				memcpy(to, from, LINE);
			}
		}
		judge();
	}
	/* the flush itself */
	for (uint64_t l = off / LINE; l * LINE < off + len && l < nlines; l++)
		memcpy(durable + l * LINE, meta + l * LINE, LINE);
}

static bool same(const struct state *a, const struct state *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (a->e[i].offset != b->e[i].offset || a->e[i].length != b->e[i].length ||
		    a->e[i].flags != b->e[i].flags || a->e[i].owner_pid != b->e[i].owner_pid ||
		    strcmp(a->e[i].name, b->e[i].name) != 0)
			return false;
	return true;
}

/* @s is @after with region @name still the unnamed reservation of this process. */
static bool reservation_of(const struct state *s, const char *name)
{
	if (!name || s->n != after.n)
		return false;
	for (uint32_t i = 0; i < s->n; i++) {
		const struct dxa_entry *x = &s->e[i], *y = &after.e[i];

		if (x->offset != y->offset || x->length != y->length)
			return false;
		if (strcmp(y->name, name) == 0) {
			if (x->flags || x->name[0] || x->owner_pid != (uint32_t)getpid())
				return false;
		} else if (x->flags != y->flags || strcmp(x->name, y->name) ||
			   x->owner_pid != y->owner_pid) {
			return false;
		}
	}
	return true;
}

static bool named_in(const struct state *s, const char *name)
{
	for (uint32_t i = 0; i < s->n; i++)
		if ((s->e[i].flags & DXA_ENTRY_NAMED) && strcmp(s->e[i].name, name) == 0)
			return true;
	return false;
}

static void check_points(int op, const char *what, const char *zeroed_name)
{
	char why[160];

	for (int i = 0; i < npoints; i++) {
		struct point *p = &points[i];

		cr_assert(p->ok, "op %d (%s), crash point %d: the pool would not open: %s", op,
			  what, i, p->why);
		cr_assert(same(p->s, &before) || same(p->s, &after) ||
				  reservation_of(p->s, zeroed_name),
			  "op %d (%s), crash point %d: %u regions, neither the state before (%u) nor after (%u)",
			  op, what, i, p->s->n, before.n, after.n);
		if (zeroed_name && named_in(p->s, zeroed_name))
			cr_assert(p->zero_durable,
				  "op %d (%s), crash point %d: '%s' is named before its zeros were durable",
				  op, what, i, zeroed_name);
	}
	/* acknowledged: durable already, with nothing more flushed */
	cr_assert_eq(scan(durable, &got, why, sizeof(why)), 0, "op %d (%s): %s", op, what, why);
	cr_assert(same(&got, &after), "op %d (%s) returned, but a power loss now loses it", op, what);
}

#define MAXNAMES 24
#define MAXANON 4

static int ops_wanted(void)
{
	const char *env = getenv("DAXALLOC_POWERFAIL_OPS");

	return env ? atoi(env) : 5000;
}

/*
 * @ops operations on a pool of @dev, regions of 1-3 @grain, its metadata
 * [0, @len) simulated; @cap: the entries its table may have; every
 * @checkpoints-th operation (if not 0) a checkpoint, whatever the journal holds.
 */
static void run_ops(struct daxalloc_dev *dev, uint64_t grain, uint64_t len, uint32_t cap, int ops,
		    int checkpoints)
{
	struct daxalloc_region *anon[MAXANON] = { NULL };
	struct daxalloc_map *raw = NULL;
	struct daxalloc_pool *pool;
	char names[MAXNAMES][16];
	int nnames = 0;
	char why[160];

	srand((unsigned int)time(NULL));
	pgeo = (struct dxa_geometry){ daxalloc_dev_get_size(dev), daxalloc_dev_get_align(dev),
				      dxa_meta_size(daxalloc_dev_get_align(dev)), cap };
	meta_len = len;
	nlines = len / LINE;
	durable = malloc(len);
	image = malloc(len);
	dirty = malloc(nlines * sizeof(*dirty));
	tabs[0] = calloc(cap, sizeof(*tabs[0]));
	tabs[1] = calloc(cap, sizeof(*tabs[1]));
	cr_assert(durable && image && dirty && tabs[0] && tabs[1]);
	pool = th_pool_create(dev);
	meta = th_raw_map(dev, (len + pgeo.unit - 1) / pgeo.unit * pgeo.unit, &raw);
	memcpy(durable, meta, len);
	persist_test_seam = seam;
	for (int op = 0; op < ops; op++) {
		pool_test_checkpoint_each = checkpoints && op % checkpoints == 0;
		struct daxalloc_region *r = NULL;
		const char *zeroed = NULL;
		char what[48];
		int k = rand() % 10, rc = 0;

		cr_assert_eq(scan(meta, &before, why, sizeof(why)), 0, "%s", why);
		npoints = 0;
		data_seen = false;
		pending_off = pending_len = 0;
		if (k < 4 && nnames < MAXNAMES) {
			bool zero = k < 2;

			snprintf(names[nnames], sizeof(names[0]), "r%d", op);
			snprintf(what, sizeof(what), "alloc%s %s", zero ? " zeroed" : "",
				 names[nnames]);
			rc = daxalloc_alloc(pool, (1 + (uint64_t)(rand() % 3)) * grain,
					    names[nnames], zero ? DAXALLOC_ALLOC_ZERO : 0, &r);
			if (rc == 0) {
				zeroed = zero ? names[nnames] : NULL;
				nnames++;
				daxalloc_region_close(&r);
			}
		} else if (k < 6 && nnames) {
			int i = rand() % nnames;

			snprintf(what, sizeof(what), "free %s", names[i]);
			rc = daxalloc_pool_free_name(pool, names[i]);
			memcpy(names[i], names[--nnames], sizeof(names[i]));
		} else if (k < 7 && nnames) {
			int i = rand() % nnames;

			snprintf(what, sizeof(what), "rename %s", names[i]);
			snprintf(names[i], sizeof(names[i]), "n%d", op);
			rc = daxalloc_pool_rename(pool, what + 7, names[i]);
		} else {
			int i = rand() % MAXANON;

			if (anon[i]) {
				snprintf(what, sizeof(what), "close unnamed");
				daxalloc_region_close(&anon[i]);
			} else {
				snprintf(what, sizeof(what), "alloc unnamed");
				rc = daxalloc_alloc(pool, grain, NULL,
						    rand() % 2 ? DAXALLOC_ALLOC_ZERO : 0, &anon[i]);
			}
		}
		cr_assert(rc == 0 || rc == -ENOSPC, "op %d (%s): %s", op, what, daxalloc_errmsg());
		cr_assert_eq(scan(meta, &after, why, sizeof(why)), 0, "%s", why);
		check_points(op, what, zeroed);
	}
	persist_test_seam = NULL;
	pool_test_checkpoint_each = false;
	cr_log_info("%d operations, %ld crash points judged", ops, total_points);
	for (int i = 0; i < MAXANON; i++)
		daxalloc_region_close(&anon[i]);
	daxalloc_map_delete(&raw);
	daxalloc_pool_close(&pool);
	free(durable);
	free(image);
	free(dirty);
	free(tabs[0]);
	free(tabs[1]);
}

Test(powerfail, every_persist_point, .timeout = 280)
{
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev;

	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	dev = th_dev_open(ctx, "hugetlb:2M:64M");
	run_ops(dev, 2 * M, DXA_META_USED, DXA_MAX_ENTRIES, ops_wanted(), 0);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}

/* Tables and journal past the first map: every place the header names. */
Test(powerfail, every_persist_point_large_table, .timeout = 280)
{
	const uint64_t unit = 4096, grain = 4 * unit;
	uint64_t size = dxa_meta_size(unit) + 2600 * unit;
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev;
	struct dxa_layout l;

	/* a device whose table (capacity 2,600) and journal lie past 2 MiB */
	dxa_layout(dxa_capacity_for(size, unit), unit, &l);
	size = l.meta_size + 2600 * unit;
	dxa_layout(dxa_capacity_for(size, unit), unit, &l);
	cr_assert_gt(dxa_capacity_for(size, unit), DXA_MAX_ENTRIES);
	cr_assert_geq(l.table_offset[0], dxa_meta_size(unit));
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	cr_assert_eq(testdev_open(ctx, size, unit, &dev), 0, "%s", daxalloc_errmsg());
	/* its journal holds 2,048 records: checkpoints made often, not only when it fills */
	run_ops(dev, grain, l.meta_size, dxa_capacity_for(size, unit), ops_wanted() / 2, 8);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}

/* ---- the public durability calls: ranges checked, each reaches the flush it promises ---- */

static uint64_t seen_off, seen_len;
static int seen_ev = -1;

static void record(enum persist_seam_event ev, uint64_t off, uint64_t len)
{
	seen_ev = (int)ev;
	seen_off = off;
	seen_len = len;
}

Test(powerfail, region_persist_api)
{
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev;
	struct daxalloc_pool *pool;
	struct daxalloc_region *r = NULL;
	daxalloc_persist_fn fn;
	uint64_t base;

	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	dev = th_dev_open(ctx, "hugetlb:2M:64M");
	pool = th_pool_create(dev);
	cr_assert_eq(daxalloc_alloc(pool, 4 * M, "data", 0, &r), 0, "%s", daxalloc_errmsg());
	base = daxalloc_region_get_offset(r);
	/* the stand-in is RAM: a power loss takes it, and it says so */
	cr_expect_eq(daxalloc_region_get_durability(r), DAXALLOC_DURABILITY_VOLATILE);
	persist_test_seam = record;
	cr_expect_eq(daxalloc_region_persist(r, 4096, 100), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(seen_ev, PERSIST_SEAM_DATA);
	cr_expect_eq(seen_off, base + 4096);
	cr_expect_eq(seen_len, 100);
	cr_expect_eq(daxalloc_region_flush(r, 0, 4 * M), 0);
	cr_expect_eq(seen_ev, PERSIST_SEAM_DATA_FLUSH);
	daxalloc_region_drain(r);
	cr_expect_eq(seen_ev, PERSIST_SEAM_DRAIN);
	persist_test_seam = NULL;
	cr_expect_eq(daxalloc_region_persist(r, 4 * M - 10, 11), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "not inside the region"), "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_region_flush(r, UINT64_MAX, 2), -EINVAL);
	cr_expect_eq(daxalloc_region_persist(NULL, 0, 1), -EINVAL);
	fn = daxalloc_region_get_persist_fn(r);
	cr_assert_not_null(fn);
	fn(daxalloc_region_get_address(r), 64);
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}
