// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pools on real device-dax in the guest: metadata persisted through
 * libpmem2, named regions reattached by an unrelated process, SIGKILL at
 * random moments, at 2M and 1G units; a table that follows its device on
 * a 4K-aligned one.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "concurrency.h"
#include "crash-loop.h"
#include "daxalloc.h"
#include "guest-devices.h"
#include "pool-helpers.h"

TestSuite(devdax_pool, .init = th_ctx_setup, .fini = th_ctx_teardown, .timeout = 600);

struct reattach {
	const char *devname, *name;
	uint64_t seed;
};

/* A fresh process (fork + its own context) finds the region by name. */
static int reattach(const void *arg)
{
	const struct reattach *a = arg;
	struct daxalloc_ctx *c = NULL;
	struct daxalloc_dev *d = NULL;
	struct daxalloc_pool *p = NULL;
	struct daxalloc_region *r = NULL;

	if (daxalloc_ctx_new(&c) || daxalloc_dev_open(c, a->devname, &d) ||
	    daxalloc_pool_open(d, 0, &p) || daxalloc_region_open(p, a->name, 0, &r))
		return 2;
	/* 1: found, but not intact */
	return th_verify(daxalloc_region_get_address(r), daxalloc_region_get_size(r), a->seed) < 0;
}

static void named_region_survives(const char *label, uint64_t size)
{
	const struct guest_dev *gd = guest_dev(label);
	struct daxalloc_dev *dev = th_dev_open(th_ctx, gd->name);
	struct daxalloc_pool *pool = th_pool_create(dev);
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
	struct daxalloc_region *r = NULL;

	cr_assert_eq(daxalloc_pool_get_stats(pool, &st), 0);
	cr_expect_eq(st.unit, gd->align);
	if (st.capacity < size)
		size = st.capacity;
	cr_assert_eq(daxalloc_alloc(pool, size, "survivor", 0, &r), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_region_get_offset(r) % gd->align, 0);
	th_fill(daxalloc_region_get_address(r), daxalloc_region_get_size(r), 77);
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	cr_expect_eq(th_in_child(reattach, &(struct reattach){ gd->name, "survivor", 77 }), 0,
		     "another process could not reattach 'survivor' intact");
}

Test(devdax_pool, named_region_survives_2m)
{
	named_region_survives("dyn2m", 64u << 20);
}
Test(devdax_pool, named_region_survives_1g)
{
	named_region_survives("static1g", 1u << 30);
}

/* @rounds kills, each within @delay_us: the child needs longer under emulation. */
static void crash_loop_on(const char *label, int rounds, int delay_us)
{
	struct daxalloc_dev *dev = th_dev_formatted(th_ctx, guest_dev(label)->name);

	crash_loop_run_delay(dev, rounds, delay_us);
	daxalloc_dev_close(&dev);
}

Test(devdax_pool, crash_loop_2m)
{
	/* emulated CPU: give the child up to 60 ms, so kills land mid-operation */
	crash_loop_on("dyn2m", 150, 60000);
}

/* 1G units: the guest's 1G devices hold one data unit after the metadata. */
Test(devdax_pool, crash_loop_1g)
{
	/* filling 1G under emulation takes a while: kill within 300 ms */
	crash_loop_on("static1g", 30, 300000);
}

Test(devdax_pool, processes_and_threads_never_overlap_2m)
{
	const struct guest_dev *gd = guest_dev("dyn2m");
	struct daxalloc_dev *dev = th_dev_open(th_ctx, gd->name);

	concurrency_run(dev);
	daxalloc_dev_close(&dev);
}

static int count_region(const struct daxalloc_region_info *info, void *arg)
{
	(void)info;
	(*(uint32_t *)arg)++;
	return 0;
}

#define LARGE_REGIONS 3000u

/* Another process opens the pool: every region there, the first and last intact. */
static int all_back(const void *arg)
{
	struct daxalloc_ctx *c = NULL;
	struct daxalloc_dev *d = NULL;
	struct daxalloc_pool *p = NULL;
	struct daxalloc_region *r = NULL;
	uint32_t n = 0;
	char name[16];

	if (daxalloc_ctx_new(&c) || daxalloc_dev_open(c, arg, &d) ||
	    daxalloc_pool_open(d, DAXALLOC_POOL_RDONLY, &p) ||
	    daxalloc_pool_foreach_region(p, count_region, &n))
		return 2;
	if (n != LARGE_REGIONS)
		return 3;
	for (uint32_t i = 0; i < LARGE_REGIONS; i += LARGE_REGIONS - 1) {
		snprintf(name, sizeof(name), "r%u", i);
		if (daxalloc_region_open(p, name, 0, &r) ||
		    th_verify(daxalloc_region_get_address(r), daxalloc_region_get_size(r), i) < 0)
			return 4;
		daxalloc_region_close(&r);
	}
	return 0;
}

/*
 * Format 2.1 on real device-dax: a 4K-aligned device of more units than
 * 2,048 gets a table that follows it, mapped past the first 2 MiB; a
 * device made for the case in the region of recfgdyn, destroyed after.
 */
Test(devdax_pool, large_table_on_a_4k_device)
{
	const struct guest_dev *gd = guest_dev("recfgdyn");
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
	struct daxalloc_region *r = NULL;
	struct daxalloc_pool *pool;
	struct daxalloc_dev *dev;
	char devname[32], name[16];

	cr_assert_eq(daxalloc_dev_create(th_ctx, gd->region, UINT64_C(64) << 20, DAXALLOC_SIZE_4K,
					 devname, sizeof(devname)),
		     0, "%s", daxalloc_errmsg());
	dev = th_dev_open(th_ctx, devname);
	pool = th_pool_create(dev);
	cr_assert_eq(daxalloc_pool_get_stats(pool, &st), 0, "%s", daxalloc_errmsg());
	cr_expect_gt(st.max_regions, DAXALLOC_POOL_MAX_REGIONS);
	for (uint32_t i = 0; i < LARGE_REGIONS; i++) {
		snprintf(name, sizeof(name), "r%u", i);
		cr_assert_eq(daxalloc_alloc(pool, 4096, name, 0, &r), 0, "%s: %s", name,
			     daxalloc_errmsg());
		th_fill(daxalloc_region_get_address(r), daxalloc_region_get_size(r), i);
		daxalloc_region_close(&r);
	}
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	cr_expect_eq(th_in_child(all_back, devname), 0,
		     "another process did not find the %u regions intact", LARGE_REGIONS);
	cr_expect_eq(daxalloc_dev_destroy(th_ctx, devname, DAXALLOC_RECONFIG_DESTROY_DATA), 0, "%s",
		     daxalloc_errmsg());
}
