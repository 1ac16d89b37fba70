// SPDX-License-Identifier: LGPL-2.1-or-later
#include <criterion/criterion.h>

#include "pool-helpers.h"

struct daxalloc_dev *th_dev_open(struct daxalloc_ctx *ctx, const char *name)
{
	struct daxalloc_dev *dev = NULL;

	cr_assert_eq(daxalloc_dev_open(ctx, name, &dev), 0, "%s: %s", name, daxalloc_errmsg());
	return dev;
}

struct daxalloc_pool *th_pool_create(struct daxalloc_dev *dev)
{
	struct daxalloc_pool *pool = NULL;

	cr_assert_eq(daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &pool), 0, "%s",
		     daxalloc_errmsg());
	return pool;
}

void *th_raw_map(struct daxalloc_dev *dev, uint64_t len, struct daxalloc_map **map)
{
	cr_assert_eq(daxalloc_map_new(dev, 0, len, NULL, 0, map), 0, "%s", daxalloc_errmsg());
	return daxalloc_map_get_address(*map);
}

void th_fill(void *p, uint64_t len, uint64_t seed)
{
	for (uint64_t off = 0; off < len; off += 4096)
		*(volatile uint64_t *)((char *)p + off) = seed * 0x9e3779b97f4a7c15ull + off;
}

int th_verify(const void *p, uint64_t len, uint64_t seed)
{
	for (uint64_t off = 0; off < len; off += 4096)
		if (*(const volatile uint64_t *)((const char *)p + off) !=
		    seed * 0x9e3779b97f4a7c15ull + off)
			return -1;
	return 0;
}
