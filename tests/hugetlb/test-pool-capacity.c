// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A pool's table follows its device (format 2.1): on a device of many
 * units it holds more regions than the 2,048 of format 2.0, its journal
 * replays into a large table, and a pool of format 2.0 on such a device
 * still opens, keeps its 2,048 entries and the data that lies where larger
 * tables would go.  On the test-only memfd device (tests/common/testdev.h),
 * 4 KiB units, so no huge pages.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "daxalloc.h"
#include "metadata.h"
#include "private.h"
#include "testdev.h"

#define UNIT 4096u
#define REGIONS 2500u

static struct daxalloc_ctx *ctx;
static struct daxalloc_dev *dev;
static struct daxalloc_pool *pool;
static uint64_t dev_size;

static void setup(void)
{
	dev_size = dxa_meta_size(UNIT) * 4 + (uint64_t)(REGIONS + 64) * UNIT;
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	cr_assert_eq(testdev_open(ctx, dev_size, UNIT, &dev), 0, "%s", daxalloc_errmsg());
}

static void teardown(void)
{
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}

TestSuite(capacity, .init = setup, .fini = teardown);

static int count_region(const struct daxalloc_region_info *info, void *arg)
{
	(void)info;
	(*(uint32_t *)arg)++;
	return 0;
}

static uint32_t regions(struct daxalloc_pool *p)
{
	uint32_t n = 0;

	cr_assert_eq(daxalloc_pool_foreach_region(p, count_region, &n), 0, "%s", daxalloc_errmsg());
	return n;
}

static struct daxalloc_pool_stats stats(struct daxalloc_pool *p)
{
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };

	cr_assert_eq(daxalloc_pool_get_stats(p, &st), 0, "%s", daxalloc_errmsg());
	return st;
}

static void alloc_named(struct daxalloc_pool *p, const char *name)
{
	struct daxalloc_region *r;

	cr_assert_eq(daxalloc_alloc(p, UNIT, name, 0, &r), 0, "%s: %s", name, daxalloc_errmsg());
	daxalloc_region_close(&r);
}

Test(capacity, more_regions_than_format_2_0_held)
{
	cr_assert_eq(daxalloc_pool_create(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(stats(pool).max_regions, dxa_capacity_for(dev_size, UNIT));
	for (uint32_t i = 0; i < REGIONS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "r%u", i);
		alloc_named(pool, name);
	}
	cr_expect_geq(stats(pool).max_regions, REGIONS);
	daxalloc_pool_close(&pool);
	cr_assert_eq(daxalloc_pool_open(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(regions(pool), REGIONS);
}

/* Name and offset of every region, in offset order, as one string. */
static int describe_region(const struct daxalloc_region_info *info, void *arg)
{
	char *s = arg;

	size_t used = strlen(s);

	snprintf(s + used, (size_t)REGIONS * 64 - used, "%s@%llx ", info->name,
		 (unsigned long long)info->offset);
	return 0;
}

static char *state_of(struct daxalloc_pool *p)
{
	char *s = calloc(REGIONS, 64);

	cr_assert(s);
	cr_assert_eq(daxalloc_pool_foreach_region(p, describe_region, s), 0, "%s", daxalloc_errmsg());
	return s;
}

Test(capacity, a_large_tables_journal_replays_to_the_same_state)
{
	struct daxalloc_pool *other;
	char *before, *after;

	cr_assert_eq(daxalloc_pool_create(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	/* Changes of every kind, most of them left in the journal: adds, frees, renames. */
	for (uint32_t i = 0; i < REGIONS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "r%u", i);
		alloc_named(pool, name);
		if (i % 3 == 2 && (i - 1) % 7 != 6) {
			snprintf(name, sizeof(name), "r%u", i - 1);
			cr_assert_eq(daxalloc_pool_free_name(pool, name), 0, "%s", daxalloc_errmsg());
		}
		if (i % 7 == 6) {
			char to[32];

			snprintf(name, sizeof(name), "r%u", i);
			snprintf(to, sizeof(to), "renamed%u", i);
			cr_assert_eq(daxalloc_pool_rename(pool, name, to), 0, "%s",
				     daxalloc_errmsg());
		}
	}
	before = state_of(pool);
	/* another handle reads the journal another process would have appended */
	cr_assert_eq(daxalloc_pool_open(dev, 0, &other), 0, "%s", daxalloc_errmsg());
	after = state_of(other);
	cr_expect_str_eq(after, before);
	free(after);
	daxalloc_pool_close(&other);
	daxalloc_pool_close(&pool);
	cr_assert_eq(daxalloc_pool_open(dev, DAXALLOC_POOL_RDONLY, &pool), 0, "%s",
		     daxalloc_errmsg());
	after = state_of(pool);
	cr_expect_str_eq(after, before);
	free(after);
	free(before);
}

/* A pool as format 2.0 wrote it on this device: 2,048 entries, data from 2 MiB on. */
static void write_pool_2_0(uint32_t nregions)
{
	struct daxalloc_map *m = NULL;
	struct dxa_entry *t = calloc(nregions, sizeof(*t));
	struct dxa_hdr h = { 0 };
	char *meta;

	cr_assert(t);
	cr_assert_eq(daxalloc_map_new(dev, 0, dxa_meta_size(UNIT), NULL, 0, &m), 0, "%s",
		     daxalloc_errmsg());
	meta = daxalloc_map_get_address(m);
	for (uint32_t i = 0; i < nregions; i++) {
		t[i].offset = dxa_meta_size(UNIT) + (uint64_t)i * UNIT;
		t[i].length = UNIT;
		t[i].flags = DXA_ENTRY_NAMED;
		snprintf(t[i].name, sizeof(t[i].name), "old%u", i);
	}
	memcpy(h.magic, DXA_MAGIC, sizeof(h.magic));
	h.version_major = 2;
	h.version_minor = 0;
	h.dev_size = dev_size;
	h.unit = UNIT;
	h.data_start = dxa_meta_size(UNIT);
	h.table_max = DXA_MAX_ENTRIES;
	h.nentries = nregions;
	h.table_crc = daxalloc_crc32c(0, t, (size_t)nregions * DXA_ENTRY_SIZE);
	cr_assert_eq(getrandom(h.uuid, sizeof(h.uuid), 0), (ssize_t)sizeof(h.uuid));
	h.journal_offset = DXA_JOURNAL_OFFSET;
	h.journal_cells = DXA_JOURNAL_CELLS;
	h.journal_rec = DXA_JREC_SIZE;
	for (int slot = 0; slot < 2; slot++) {
		h.seq = 1 + (uint64_t)slot;
		h.table_offset = dxa_table_offset(slot);
		h.hdr_crc = dxa_hdr_crc(&h);
		memcpy(meta + dxa_table_offset(slot), t, (size_t)nregions * DXA_ENTRY_SIZE);
		for (int k = 0; k < 2; k++)
			memcpy(meta + dxa_hdr_offset(slot, k), &h, sizeof(h));
	}
	daxalloc_map_delete(&m);
	free(t);
}

static unsigned int hdr_minor(int slot)
{
	struct daxalloc_map *m = NULL;
	struct dxa_hdr h;

	cr_assert_eq(daxalloc_map_new(dev, 0, dxa_meta_size(UNIT), NULL, DAXALLOC_MAP_READONLY, &m),
		     0, "%s", daxalloc_errmsg());
	memcpy(&h, (char *)daxalloc_map_get_address(m) + dxa_hdr_offset(slot, 0), sizeof(h));
	daxalloc_map_delete(&m);
	return h.version_minor;
}

Test(capacity, a_pool_of_format_2_0_keeps_its_table_and_its_data)
{
	struct daxalloc_region *r;
	uint32_t *data;
	char name[32];

	write_pool_2_0(2000);
	/* the data of its first region lies where a large table 0 would go: a pattern there */
	cr_assert_eq(daxalloc_pool_open(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_region_open(pool, "old0", 0, &r), 0, "%s", daxalloc_errmsg());
	data = daxalloc_region_get_address(r);
	for (uint32_t i = 0; i < UNIT / 4; i++)
		data[i] = 0xc0ffee00u + i;
	daxalloc_region_close(&r);
	cr_expect_eq(stats(pool).max_regions, DXA_MAX_ENTRIES);
	cr_expect_eq(regions(pool), 2000);
	daxalloc_pool_close(&pool);

	/* read-only leaves it as it was */
	cr_assert_eq(daxalloc_pool_open(dev, DAXALLOC_POOL_RDONLY, &pool), 0, "%s",
		     daxalloc_errmsg());
	daxalloc_pool_close(&pool);
	cr_expect_eq(hdr_minor(0) + hdr_minor(1), 0);

	/* written to the end of its table and beyond: 2,048 regions, the rest refused */
	cr_assert_eq(daxalloc_pool_open(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	for (uint32_t i = 2000; i < DXA_MAX_ENTRIES; i++) {
		snprintf(name, sizeof(name), "new%u", i);
		alloc_named(pool, name);
	}
	cr_expect_eq(daxalloc_alloc(pool, UNIT, "one-too-many", 0, &r), -ENOSPC);
	cr_expect(strstr(daxalloc_errmsg(), "maximum of 2048 regions"), "%s", daxalloc_errmsg());
	/* more changes than its journal holds, twice: both copies checkpointed */
	for (uint32_t i = 0; i <= 2 * DXA_JOURNAL_CELLS + 1; i++)
		cr_assert_eq(daxalloc_pool_rename(pool, i % 2 ? "moved" : "new2000",
						  i % 2 ? "new2000" : "moved"),
			     0, "%s", daxalloc_errmsg());
	daxalloc_pool_close(&pool);
	cr_assert_eq(daxalloc_pool_open(dev, DAXALLOC_POOL_RDONLY, &pool), 0, "%s",
		     daxalloc_errmsg());
	cr_expect_eq(regions(pool), DXA_MAX_ENTRIES);
	cr_expect_eq(stats(pool).max_regions, DXA_MAX_ENTRIES);
	cr_assert_eq(daxalloc_region_open(pool, "old0", 0, &r), 0, "%s", daxalloc_errmsg());
	data = daxalloc_region_get_address(r);
	for (uint32_t i = 0; i < UNIT / 4; i++)
		if (data[i] != 0xc0ffee00u + i)
			cr_assert_fail("old0's word %u is 0x%x: the region's data was overwritten",
				       i, data[i]);
	daxalloc_region_close(&r);
	/* checkpointed: the headers now say 2.1, the layout unchanged */
	cr_expect_eq(hdr_minor(0) + hdr_minor(1), 2u * DXA_VERSION_MINOR);
}
