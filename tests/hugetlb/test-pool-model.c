// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Random alloc/free sequences against a simple model of the device:
 * no overlap, free space accounted exactly, best fit, coalescing complete.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daxalloc.h"
#include "pool-helpers.h"

#define UNIT (UINT64_C(2) << 20)
#define UNITS 255 /* data units of a 512M stand-in (one for metadata) */
#define OPS 3000

struct live {
	struct daxalloc_region *r;
	uint64_t first, n; /* in units from the start of data */
	uint64_t seed;
};

static bool used[UNITS];

/* Calls @fn(first, length) for every maximal run of free units. */
static void free_runs(void (*fn)(uint64_t first, uint64_t len, void *arg), void *arg)
{
	for (uint64_t i = 0; i < UNITS;) {
		uint64_t j = i;

		if (used[i]) {
			i++;
			continue;
		}
		while (j < UNITS && !used[j])
			j++;
		fn(i, j - i, arg);
		i = j;
	}
}

struct fit {
	uint64_t want, best_len;
	int64_t best;
};

static void fit_run(uint64_t first, uint64_t len, void *arg)
{
	struct fit *f = arg;

	if (len >= f->want && len < f->best_len) {
		f->best_len = len;
		f->best = (int64_t)first;
	}
}

/* Smallest free run that fits @n units, lowest first on ties; -1 if none. */
static int64_t model_best_fit(uint64_t n)
{
	struct fit f = { n, UINT64_MAX, -1 };

	free_runs(fit_run, &f);
	return f.best;
}

struct totals {
	uint64_t free_units, largest;
	uint32_t extents;
};

static void total_run(uint64_t first, uint64_t len, void *arg)
{
	struct totals *t = arg;

	(void)first;
	t->free_units += len;
	t->extents++;
	if (len > t->largest)
		t->largest = len;
}

static void model_stats(uint64_t *free_units, uint32_t *extents, uint64_t *largest)
{
	struct totals t = { 0 };

	free_runs(total_run, &t);
	*free_units = t.free_units;
	*extents = t.extents;
	*largest = t.largest;
}

Test(pool_model, random_sequences_match_the_model, .timeout = 300)
{
	static struct live lives[UNITS];
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev;
	struct daxalloc_pool *pool;
	uint64_t base;
	int nlive = 0;
	unsigned int seed =
		(unsigned int)(getenv("DAXALLOC_TEST_SEED") ? atoi(getenv("DAXALLOC_TEST_SEED")) :
							      12345);

	cr_log_info("seed %u (set DAXALLOC_TEST_SEED to replay)", seed);
	srand(seed);
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	dev = th_dev_open(ctx, "hugetlb:2M:512M");
	pool = th_pool_create(dev);
	base = UNIT; /* metadata takes the first unit */
	for (int op = 0; op < OPS; op++) {
		bool do_alloc = nlive == 0 || (rand() % 100) < 55;

		if (do_alloc) {
			uint64_t n = 1 + (uint64_t)(rand() % 24);
			int64_t want = model_best_fit(n);
			struct daxalloc_region *r = NULL;
			char name[32];
			bool named = rand() % 2;
			int rc;

			snprintf(name, sizeof(name), "r%d", op);
			/* sizes that are not unit multiples round up */
			rc = daxalloc_alloc(pool, n * UNIT - (rand() % 2 ? UNIT / 2 : 0),
					    named ? name : NULL, 0, &r);
			if (want < 0) {
				cr_assert_eq(rc, -ENOSPC,
					     "op %d: model has no room for %llu units, rc %d", op,
					     (unsigned long long)n, rc);
				continue;
			}
			cr_assert_eq(rc, 0, "op %d: %s", op, daxalloc_errmsg());
			cr_assert_eq(daxalloc_region_get_size(r), n * UNIT);
			cr_assert_eq(daxalloc_region_get_offset(r), base + (uint64_t)want * UNIT,
				     "op %d: not best fit: got unit %llu, model says %lld", op,
				     (unsigned long long)((daxalloc_region_get_offset(r) - base) /
							  UNIT),
				     (long long)want);
			for (uint64_t u = 0; u < n; u++) {
				cr_assert_not(used[want + (int64_t)u], "op %d: overlap at unit %llu",
					      op, (unsigned long long)(want + (int64_t)u));
				used[want + (int64_t)u] = true;
			}
			lives[nlive] = (struct live){ r, (uint64_t)want, n, (uint64_t)op };
			th_fill(daxalloc_region_get_address(r), n * UNIT, (uint64_t)op);
			nlive++;
		} else {
			int k = rand() % nlive;
			struct live l = lives[k];

			cr_assert_eq(th_verify(daxalloc_region_get_address(l.r), l.n * UNIT, l.seed),
				     0, "op %d: region of op %llu lost its contents", op,
				     (unsigned long long)l.seed);
			cr_assert_eq(daxalloc_region_free(&lives[k].r), 0, "%s", daxalloc_errmsg());
			for (uint64_t u = 0; u < l.n; u++)
				used[l.first + u] = false;
			lives[k] = lives[--nlive];
		}
		if (op % 50 == 0 || op == OPS - 1) {
			struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
			uint64_t fu, lg;
			uint32_t ext;

			model_stats(&fu, &ext, &lg);
			cr_assert_eq(daxalloc_pool_get_stats(pool, &st), 0);
			cr_assert_eq(st.free, fu * UNIT, "op %d: free %llu, model %llu", op,
				     (unsigned long long)st.free, (unsigned long long)(fu * UNIT));
			cr_assert_eq(st.used + st.free, st.capacity);
			cr_assert_eq(st.free_extents, ext,
				     "op %d: %u free extents, model %u (coalescing)", op,
				     st.free_extents, ext);
			cr_assert_eq(st.largest_free, lg * UNIT);
			cr_assert_eq(st.regions, (uint32_t)nlive);
		}
	}
	while (nlive > 0)
		daxalloc_region_free(&lives[--nlive].r);
	{
		struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };

		daxalloc_pool_get_stats(pool, &st);
		cr_expect_eq(st.free, st.capacity, "capacity lost after freeing everything");
		cr_expect_eq(st.free_extents, 1);
	}
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}
