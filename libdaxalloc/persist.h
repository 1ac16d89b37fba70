/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef DAXALLOC_PERSIST_H
#define DAXALLOC_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "daxalloc.h"

struct pmem2_map;
struct daxalloc_map;
struct daxalloc_dev;

struct meta_map {
	void *addr;
	uint64_t len;
	uint64_t dev_off; /* where addr lies in the device */
	enum daxalloc_durability durability;
	void (*persist)(const void *p, size_t n); /* flush + fence */
	void (*flush)(const void *p, size_t n);
	void (*drain)(void);
	struct pmem2_map *pmap; /* device-dax on a pmem namespace */
	/* media errors in the metadata known at open (libpmem2's bad blocks) */
	unsigned int nbad;
	struct meta_bad {
		uint64_t off, len;
	} bad[16];
	struct daxalloc_map *map; /* everything else */
};

/*
 * How writes to a device are made durable: RAM (the stand-in, hmem and
 * CXL RAM regions) is volatile; everything else is flushed, also when the
 * region kind could not be learnt (flush unless known volatile).
 */
enum daxalloc_durability persist_durability_for(enum daxalloc_dev_type type,
						enum daxalloc_region_kind kind);

int meta_map_open(struct daxalloc_dev *dev, uint64_t len, struct meta_map *mm);
/* The same for [@off, @off + @len) of the device (@off a multiple of its alignment). */
int meta_map_open_at(struct daxalloc_dev *dev, uint64_t off, uint64_t len, struct meta_map *mm);
void meta_map_close(struct meta_map *mm);
/* Make [p, p+n) of the metadata durable (flush + fence, or a fence on RAM). */
void meta_persist(const struct meta_map *mm, const void *p, size_t n);
/* Region data at @p (device offset @dev_off): flush + fence, flush only, fence. */
void data_persist(const struct meta_map *mm, uint64_t dev_off, const void *p, size_t n);
void data_flush(const struct meta_map *mm, uint64_t dev_off, const void *p, size_t n);
void data_drain(const struct meta_map *mm);
/* Zero region data and make it durable before returning. */
void data_zero(const struct meta_map *mm, uint64_t dev_off, void *p, size_t n);
/*
 * Copy [off, off+len) of the metadata (device offsets) into @dst: 0, or -EIO when part of
 * it is unreadable (a media error); those bytes read as zero.
 */
int meta_read(const struct meta_map *mm, uint64_t off, void *dst, size_t len);

/*
 * Test seam, internal and never exported: when set, called with every
 * flush or fence the library issues on a pool's metadata or region data,
 * before it takes effect (offsets from the start of the device).  Tests
 * use it to know what a power loss at that point would keep.
 */
enum persist_seam_event {
	PERSIST_SEAM_META,       /* metadata [off, off+len) flushed and fenced */
	PERSIST_SEAM_DATA,       /* region data [off, off+len) flushed and fenced */
	PERSIST_SEAM_DATA_FLUSH, /* region data flushed, not yet fenced */
	PERSIST_SEAM_DRAIN,      /* the fence after flushes */
};
extern void (*persist_test_seam)(enum persist_seam_event ev, uint64_t off, uint64_t len);
/*
 * Test seam, internal: metadata ranges that read as media errors on any
 * device, as libpmem2's bad-block list reports them on persistent memory.
 */
extern const struct meta_bad *persist_test_poison;
extern unsigned int persist_test_npoison;
/*
 * Test seam, internal: called with every metadata mapping once made, so a
 * test can make parts of it fault as unlisted media errors do.
 */
extern void (*persist_test_mapped)(const struct meta_map *mm);

#endif
