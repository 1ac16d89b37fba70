/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals shared by pool.c, region.c and check.c. */
#ifndef DAXALLOC_POOL_H
#define DAXALLOC_POOL_H

#include <pthread.h>
#include <unistd.h>

#include "metadata.h"
#include "persist.h"
#include "pool-index.h"
#include "private.h"

/* A device as the kernel knows it (see owner.c). */
struct owner_key {
	uint64_t dev, ino;
};

struct daxalloc_region {
	struct daxalloc_pool *pool;
	struct daxalloc_map *map;
	uint64_t offset;
	uint64_t length;
	bool named;
	bool counted;  /* in owner.c's count of what this process maps */
	bool recorded; /* in the handle's mapping records in device memory */
	char name[DXA_NAME_MAX + 1];
	struct daxalloc_region *next;
};

struct daxalloc_pool {
	struct daxalloc_dev *dev;
	struct daxalloc_ctx *ctx;
	int lockfd;           /* own open file: flock excludes other opens */
	bool flocked;         /* taken with the lock (pools of format 1.x) */
	pthread_mutex_t lock; /* threads of this process */
	struct meta_map mm;
	struct meta_map tm; /* tables past mm (format 2.1, large ones): mapped when a header names them */
	struct dxa_geometry geo; /* table_cap: the largest table this device's pool may have */
	int active;              /* slot holding the current state */
	struct dxa_hdr hdr;      /* copy of the active header */
	struct dxa_entry *ents;  /* copy of the active table, sorted by offset */
	bool ents_stale;         /* changed through ix since: pool_table() brings it up to date */
	uint32_t n;
	struct pool_index ix;      /* the same entries, indexed: valid after a load */
	uint32_t jused;            /* journal records after the active checkpoint */
	uint32_t jclean;           /* cell + 1 found clean, no other hold since; 0: not looked */
	struct dxa_entry *scratch; /* the other copy while loading */
	bool legacy;               /* format 1.0 header copies seen at the last load */
	uint64_t my_pid, my_start, my_boot;
	struct owner_key key;   /* the device, whichever node opened it */
	pthread_mutex_t *lockm; /* the pool lock in device memory (owner.c) */
	uint64_t lock_gen;      /* the lock area's generation it belongs to */
	bool creating;          /* may set up the lock area on a device without a pool */
	uint64_t *lock_holder;  /* beside the lock: who let it go last with the state loaded */
	uint64_t lock_token;    /* this handle's name there, never 0 */
	bool lock_unchanged;    /* this hold: nobody held the lock since this handle, loaded */
	bool synced;            /* this hold loaded the state: the holder may name this handle */
	uint64_t lease;         /* this handle's lease id, 0: none */
	int lease_slot;
	unsigned int pins_stuck;      /* pins it could not undo: the lease stays held */
	pthread_mutex_t open_lock;    /* guards the list below */
	struct daxalloc_region *open; /* regions this pool has mapped */
	bool rdonly;                  /* DAXALLOC_POOL_RDONLY: never commit */
	bool force_free;              /* DAXALLOC_POOL_FORCE_FREE */
};

/* Map the metadata and take the pool's own lock file; no validation. */
int pool_attach(struct daxalloc_dev *dev, struct daxalloc_pool **out);
void pool_detach(struct daxalloc_pool *pool);
/* -ECHILD (and the message) when a forked child uses its parent's handle. */
int pool_inherited(struct daxalloc_pool *pool);
/* This process's pid, cheaply (owner.c). */
pid_t owner_self_pid(void);
static inline bool pool_is_inherited(const struct daxalloc_pool *pool)
{
	return (uint64_t)owner_self_pid() != pool->my_pid;
}
/* Lock (threads + processes) without loading; -ECHILD after fork. */
int pool_lock(struct daxalloc_pool *pool);
/* Lock (threads + processes) and load the newest valid copy. */
int pool_lock_load(struct daxalloc_pool *pool);
/* Lock only. */
int pool_lock(struct daxalloc_pool *pool);
void pool_unlock(struct daxalloc_pool *pool);
/* A foreach's arguments (@have_fn: a callback given) checked, then the lock (@load: and the table). */
int pool_lock_foreach(struct daxalloc_pool *pool, bool have_fn, const char *what, bool load);
/*
 * Make a change durable (lock held, the index and n already changed): @op
 * on @e as one journal record, or a checkpoint when the journal is full.
 */
void pool_log(struct daxalloc_pool *pool, enum dxa_jop op, const struct dxa_entry *e);
/* Test seam: every change is a checkpoint (the tests of the table copies' rules). */
extern bool pool_test_checkpoint_each;
/*
 * Write the state (the index's, or pool->ents/n when current) as the
 * standby copy, then its header; the journal restarts.
 */
void pool_checkpoint(struct daxalloc_pool *pool);
/* Records from which a writer's close folds the journal into the table. */
uint32_t pool_fold_min(const struct daxalloc_pool *pool);
/* dxa_read_fn over both maps (@arg: the pool). */
int pool_meta_read(void *arg, uint64_t off, void *dst, size_t len);
/* Read and classify both copies: slot 0's table into ents, slot 1's into scratch. */
void pool_scan(struct daxalloc_pool *pool, struct dxa_scan *s);
/* The error (and message) for a scan that found no usable state. */
int pool_scan_error(struct daxalloc_pool *pool, const struct dxa_scan *s);
/* Make @slot of a scan the state (active, hdr, n, ents). */
void pool_adopt(struct daxalloc_pool *pool, const struct dxa_scan *s, int slot);
/* Rewrite a format 1.x pool as the current format (lock held). */
void pool_upgrade(struct daxalloc_pool *pool);
bool pool_owner_alive(struct daxalloc_pool *pool, const struct dxa_entry *e);
/* Remove unnamed regions of dead processes; returns how many. */
uint32_t pool_reclaim_orphans(struct daxalloc_pool *pool);
/* The entries sorted by offset (pool->ents, brought up to date from the index). */
struct dxa_entry *pool_table(struct daxalloc_pool *pool);
/* Build the index if the table changed behind it (a load, a scan, a format). */
void pool_index(struct daxalloc_pool *pool);
static inline struct dxa_entry *pool_ent(struct daxalloc_pool *pool, uint32_t slot)
{
	return &pool->ix.ent[slot];
}
/* Add @e (inside a free extent) and log it; returns its slot. */
uint32_t pool_insert_entry(struct daxalloc_pool *pool, const struct dxa_entry *e);
/* Give the entry at @slot the flags and name of @e and log it. */
void pool_update_entry(struct daxalloc_pool *pool, uint32_t slot, const struct dxa_entry *e);
/* Remove the entry at index slot @slot and log it. */
void pool_remove_entry(struct daxalloc_pool *pool, uint32_t slot);
uint64_t pool_data_end(struct daxalloc_pool *pool);
/* -EROFS naming @what when the pool was opened read-only, else 0. */
int pool_check_writable(struct daxalloc_pool *pool, const char *what);
/*
 * Lock @r's pool and check that @r is still allocated (not freed through
 * another handle or process): 0 with the lock held, or -ENOENT.
 */
int region_lock_live(struct daxalloc_region *r);
/* 0 when [@off, +@len) lies inside @r, else -EINVAL naming @who and @what ("" or "pin range "). */
int region_inside(struct daxalloc_region *r, uint64_t off, uint64_t len, const char *who,
		  const char *what);
/* The pool closes: unmap @r, unpin, free it if unnamed; the handle stays the caller's to close. */
void region_orphan(struct daxalloc_region *r);

/* owner.c: the pool lock and owners' leases in device memory */
int owner_lock(struct daxalloc_pool *pool);
void owner_unlock(struct daxalloc_pool *pool);
/* Mark the device closed to pool users for @seconds at most (lock held): a reconfiguration. */
void owner_close_for(struct daxalloc_pool *pool, unsigned int seconds);
/* Remove this process's mark (lock held). */
void owner_reopen(struct daxalloc_pool *pool);
/* Take a lease for @pool (lock held). */
int owner_claim(struct daxalloc_pool *pool);
/* Test seam: called in owner_claim() once the lease is taken. */
extern void (*owner_test_claimed)(struct daxalloc_pool *pool);
/* Give it back (lock held). */
void owner_release(struct daxalloc_pool *pool);
/* Is the owner holding @lease alive? */
bool owner_lease_alive(struct daxalloc_pool *pool, uint64_t lease);
int owner_dev_key(struct daxalloc_dev *dev, struct owner_key *key);
/* Count the regions this process maps, over all its pool handles. */
int owner_mapped_get(const struct owner_key *key, uint64_t offset);
void owner_mapped_put(const struct owner_key *key, uint64_t offset);
unsigned int owner_mapped_count(const struct owner_key *key, uint64_t offset);
/* Records in device memory of what each handle maps, for other processes' frees. */
void owner_maps_reset(struct daxalloc_pool *pool, uint32_t slot);
void owner_maps_claim(struct daxalloc_pool *pool);
void owner_maps_release(struct daxalloc_pool *pool);
void owner_maps_add(struct daxalloc_pool *pool, uint64_t offset);
void owner_maps_del(struct daxalloc_pool *pool, uint64_t offset);
struct holder;
int owner_find_mapper(struct daxalloc_pool *pool, uint64_t offset, uint64_t length, struct holder *h);

#endif
