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

#endif
