/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals shared by pool.c, region.c and check.c. */
#ifndef DAXALLOC_POOL_H
#define DAXALLOC_POOL_H

#include <pthread.h>

#include "metadata.h"
#include "persist.h"
#include "private.h"

struct daxalloc_region {
	struct daxalloc_pool *pool;
	struct daxalloc_map *map;
	uint64_t offset;
	uint64_t length;
	bool named;
	char name[DXA_NAME_MAX + 1];
	struct daxalloc_region *next;
};

struct daxalloc_pool {
	struct daxalloc_dev *dev;
	struct daxalloc_ctx *ctx;
	int lockfd;			/* own open file: flock excludes other opens */
	pthread_mutex_t lock;		/* threads of this process */
	struct meta_map mm;
	struct dxa_geometry geo;
	int active;			/* slot holding the current state */
	struct dxa_hdr hdr;		/* copy of the active header */
	struct dxa_entry *ents;		/* copy of the active table, sorted by offset */
	uint32_t n;
	struct dxa_entry *scratch;	/* the other copy while loading */
	bool legacy;			/* format 1.0 header copies seen at the last load */
	uint64_t my_pid, my_start, my_boot;
	pthread_mutex_t open_lock;	/* guards the list below */
	struct daxalloc_region *open;	/* regions this pool has mapped */
};

/* Map the metadata and take the pool's own lock file; no validation. */
int pool_attach(struct daxalloc_dev *dev, struct daxalloc_pool **out);
void pool_detach(struct daxalloc_pool *pool);
/* Lock (threads + processes) and load the newest valid copy. */
int pool_lock_load(struct daxalloc_pool *pool);
/* Lock only. */
int pool_lock(struct daxalloc_pool *pool);
void pool_unlock(struct daxalloc_pool *pool);
/* Write pool->ents/n as the new state (standby copy, then its header). */
void pool_commit(struct daxalloc_pool *pool);
/* Read and classify both copies: slot 0's table into ents, slot 1's into scratch. */
void pool_scan(struct daxalloc_pool *pool, struct dxa_scan *s);
/* The error (and message) for a scan that found no usable state. */
int pool_scan_error(struct daxalloc_pool *pool, const struct dxa_scan *s);
/* Make @slot of a scan the state (active, hdr, n, ents). */
void pool_adopt(struct daxalloc_pool *pool, const struct dxa_scan *s, int slot);
/* Add the second header copy to slots written by format 1.0 (lock held). */
void pool_migrate(struct daxalloc_pool *pool);
bool pool_owner_alive(struct daxalloc_pool *pool, const struct dxa_entry *e);
/* Remove unnamed regions of dead processes; returns how many. */
uint32_t pool_reclaim_orphans(struct daxalloc_pool *pool);
void pool_remove_entry(struct daxalloc_pool *pool, uint32_t idx);
uint64_t pool_data_end(struct daxalloc_pool *pool);
/*
 * Lock @r's pool and check that @r is still allocated (not freed through
 * another handle or process): 0 with the lock held, or -ENOENT.
 */
int region_lock_live(struct daxalloc_region *r);

#endif
