/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef DAXALLOC_PERSIST_H
#define DAXALLOC_PERSIST_H

#include <stddef.h>
#include <stdint.h>

struct pmem2_map;
struct daxalloc_map;
struct daxalloc_dev;

struct meta_map {
	void *addr;
	uint64_t len;
	void (*persist)(const void *p, size_t n);
	struct pmem2_map *pmap;		/* device-dax */
	struct daxalloc_map *map;	/* stand-in */
};

int meta_map_open(struct daxalloc_dev *dev, uint64_t len, struct meta_map *mm);
void meta_map_close(struct meta_map *mm);
/* Make [p, p+n) of the metadata durable (flush + fence, or a fence on RAM). */
void meta_persist(const struct meta_map *mm, const void *p, size_t n);
/*
 * Zero region data at @p (device offset @dev_off) and make it durable
 * (non-temporal stores on persistent memory).
 */
void data_zero(const struct meta_map *mm, uint64_t dev_off, void *p, size_t n);
/*
 * Copy [off, off+len) of the metadata into @dst: 0, or -EIO when part of
 * it is unreadable (a media error); those bytes read as zero.
 */
int meta_read(const struct meta_map *mm, uint64_t off, void *dst, size_t len);

#endif
