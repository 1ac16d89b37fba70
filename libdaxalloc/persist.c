// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The metadata mapping and how writes to it are made durable.  On a pmem
 * namespace (static region), libpmem2 maps it and supplies the persist
 * function that fits the platform (cache-line flush + fence, or nothing
 * with eADR).  Dynamic regions (hmem, CXL RAM) and the hugetlb stand-in
 * are volatile memory: a power loss takes everything, so ordered stores
 * are all that crash consistency needs.  (libpmem2 1.12 also crashes on
 * device-dax that no ndctl namespace backs.)
 */
#include <errno.h>
#include <libpmem2.h>
#include <stdlib.h>
#include <string.h>

#include "persist.h"
#include "private.h"

static void persist_nop(const void *p, size_t n)
{
	(void)p;
	(void)n;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int meta_map_open(struct daxalloc_dev *dev, uint64_t len, struct meta_map *mm)
{
	struct pmem2_config *cfg = NULL;
	struct pmem2_source *src = NULL;
	int rc;

	memset(mm, 0, sizeof(*mm));
	if (dev->type != DAXALLOC_DEV_DEVDAX || dev->region_kind != DAXALLOC_REGION_STATIC) {
		rc = daxalloc_map_new(dev, 0, len, NULL, 0, &mm->map);
		if (rc < 0)
			return rc;
		mm->addr = daxalloc_map_get_address(mm->map);
		mm->len = len;
		mm->persist = persist_nop;
		return 0;
	}
	rc = pmem2_source_from_fd(&src, dev->fd);
	if (rc == 0)
		rc = pmem2_config_new(&cfg);
	if (rc == 0)
		rc = pmem2_config_set_required_store_granularity(cfg, PMEM2_GRANULARITY_PAGE);
	if (rc == 0)
		rc = pmem2_config_set_length(cfg, (size_t)len);
	if (rc == 0)
		rc = pmem2_map_new(&mm->pmap, cfg, src);
	if (rc) {
		rc = daxalloc_err(rc < 0 && rc > -4096 ? -rc : EIO,
				  "%s: cannot map the pool metadata with libpmem2: %s", dev->name,
				  pmem2_errormsg());
	} else {
		mm->addr = pmem2_map_get_address(mm->pmap);
		mm->len = len;
		mm->persist = pmem2_get_persist_fn(mm->pmap);
	}
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	return rc;
}

void meta_map_close(struct meta_map *mm)
{
	if (mm->pmap)
		pmem2_map_delete(&mm->pmap);
	daxalloc_map_delete(&mm->map);
	mm->addr = NULL;
}

void meta_persist(const struct meta_map *mm, const void *p, size_t n)
{
	mm->persist(p, n);
}

void data_zero(const struct meta_map *mm, uint64_t dev_off, void *p, size_t n)
{
	(void)dev_off;
	memset(p, 0, n);
	mm->persist(p, n);
}

int meta_read(const struct meta_map *mm, uint64_t off, void *dst, size_t len)
{
	if (off > mm->len || len > mm->len - off) {
		memset(dst, 0, len);
		return -EIO;
	}
	memcpy(dst, (const char *)mm->addr + off, len);
	return 0;
}
