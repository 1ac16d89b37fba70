// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Entry points whose types or parameters changed after a release keep the
 * released ones (compat-0.1.c, NAME@LIBDAXALLOC_0.1) and get new ones, the
 * defaults that programs built now bind: NAME@@LIBDAXALLOC_0.2, here.  The
 * implementations keep the plain names, hidden, so that the tests and the
 * preload library, which link the library's objects without a version
 * script of these nodes, call them as they are (this file and
 * compat-0.1.c are linked into the shared library only).
 */
#include "private.h"

DAXALLOC_SYMVER(daxalloc_daxregion_foreach_0_2, "daxalloc_daxregion_foreach@@LIBDAXALLOC_0.2")
int daxalloc_daxregion_foreach_0_2(struct daxalloc_ctx *ctx,
				   int (*fn)(const struct daxalloc_daxregion_info *info, void *arg),
				   void *arg)
{
	return daxalloc_daxregion_foreach(ctx, fn, arg);
}

DAXALLOC_SYMVER(daxalloc_daxregion_get_info_0_2, "daxalloc_daxregion_get_info@@LIBDAXALLOC_0.2")
int daxalloc_daxregion_get_info_0_2(struct daxalloc_ctx *ctx, int region_id,
				    struct daxalloc_daxregion_info *info)
{
	return daxalloc_daxregion_get_info(ctx, region_id, info);
}

DAXALLOC_SYMVER(daxalloc_pin_0_2, "daxalloc_pin@@LIBDAXALLOC_0.2")
int daxalloc_pin_0_2(struct daxalloc_region *region, uint64_t offset, uint64_t length,
		     const struct daxalloc_pin_target *target, struct daxalloc_pin **pin)
{
	return daxalloc_pin(region, offset, length, target, pin);
}

DAXALLOC_SYMVER(daxalloc_pool_check_0_2, "daxalloc_pool_check@@LIBDAXALLOC_0.2")
int daxalloc_pool_check_0_2(struct daxalloc_dev *dev, unsigned int flags,
			    struct daxalloc_check_report *report)
{
	return daxalloc_pool_check(dev, flags, report);
}

DAXALLOC_SYMVER(daxalloc_pool_foreach_pin_0_2, "daxalloc_pool_foreach_pin@@LIBDAXALLOC_0.2")
int daxalloc_pool_foreach_pin_0_2(struct daxalloc_pool *pool,
				  int (*fn)(const struct daxalloc_pin_info *info, void *arg),
				  void *arg)
{
	return daxalloc_pool_foreach_pin(pool, fn, arg);
}

DAXALLOC_SYMVER(daxalloc_pool_foreach_region_0_2, "daxalloc_pool_foreach_region@@LIBDAXALLOC_0.2")
int daxalloc_pool_foreach_region_0_2(struct daxalloc_pool *pool,
				     int (*fn)(const struct daxalloc_region_info *info, void *arg),
				     void *arg)
{
	return daxalloc_pool_foreach_region(pool, fn, arg);
}

DAXALLOC_SYMVER(daxalloc_pool_get_stats_0_2, "daxalloc_pool_get_stats@@LIBDAXALLOC_0.2")
int daxalloc_pool_get_stats_0_2(struct daxalloc_pool *pool, struct daxalloc_pool_stats *st)
{
	return daxalloc_pool_get_stats(pool, st);
}

DAXALLOC_SYMVER(daxalloc_vmemmap_model_0_2, "daxalloc_vmemmap_model@@LIBDAXALLOC_0.2")
int daxalloc_vmemmap_model_0_2(uint64_t size, uint64_t align, struct daxalloc_vmemmap_model *model)
{
	return daxalloc_vmemmap_model(size, align, model);
}

DAXALLOC_SYMVER(daxalloc_vmemmap_match_0_2, "daxalloc_vmemmap_match@@LIBDAXALLOC_0.2")
int daxalloc_vmemmap_match_0_2(const struct daxalloc_vmemmap_model *model, int64_t measured)
{
	return daxalloc_vmemmap_match(model, measured);
}

DAXALLOC_SYMVER(daxalloc_vmemmap_pin_verdict_0_2, "daxalloc_vmemmap_pin_verdict@@LIBDAXALLOC_0.2")
int daxalloc_vmemmap_pin_verdict_0_2(uint64_t ns_4k, uint64_t ns_2m, uint64_t ns_hugetlb_2m)
{
	return daxalloc_vmemmap_pin_verdict(ns_4k, ns_2m, ns_hugetlb_2m);
}
