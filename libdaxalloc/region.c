// SPDX-License-Identifier: LGPL-2.1-or-later
/* Regions: best-fit allocation, named lookup, free, rename, listing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pin.h"
#include "pool.h"
#include "reconfig.h"

/* Lookups through the pool's index (pool-index.c): slots, -1 when absent. */
static int find_name(struct daxalloc_pool *pool, const char *name)
{
	uint32_t s = pix_find_name(&pool->ix, name);

	return s == PIX_NIL ? -1 : (int)s;
}

static int find_offset(struct daxalloc_pool *pool, uint64_t offset)
{
	uint32_t s = pix_find_offset(&pool->ix, offset);

	return s == PIX_NIL ? -1 : (int)s;
}

/* Smallest free extent that fits, lowest offset on ties. */
static bool best_fit(struct daxalloc_pool *pool, uint64_t size, uint64_t *where)
{
	return pix_best_fit(&pool->ix, size, where);
}

static int check_name(const char *name)
{
	char why[160];
	int rc = dxa_name_check(name, why, sizeof(why));

	return rc < 0 ? daxalloc_err(-rc, "%s", why) : 0;
}

/*
 * -EBUSY naming the process when another live process maps [offset,
 * +length): freed, the memory goes to the next allocation while that
 * process can still write there.
 */
static int refuse_mapped(struct daxalloc_pool *pool, uint64_t offset, uint64_t length,
			 const char *name)
{
	struct holder h;
	char what[96];
	int n = owner_find_mapper(pool, offset, length, &h);

	if (n <= 0)
		return n;
	if (name)
		snprintf(what, sizeof(what), "region '%s'", name);
	else
		snprintf(what, sizeof(what), "the region at 0x%llx", (unsigned long long)offset);
	return daxalloc_err(EBUSY,
			    "%s: %s is mapped by pid %d (%s)%s; freed, its memory would go to the next allocation while that process can still write there; close it there first",
			    pool->dev->name, what, h.pid, h.comm, n > 1 ? " and others" : "");
}

/*
 * Pinned or mapped elsewhere, or not to be told: -EBUSY (or the ledger's
 * error).  With DAXALLOC_POOL_FORCE_FREE the operator takes the risk: logged.
 */
static int refuse_in_use(struct daxalloc_pool *pool, uint64_t offset, uint64_t length,
			 const char *name)
{
	int rc = pin_refuse_free(pool, offset, length, name);

	if (rc == 0)
		rc = refuse_mapped(pool, offset, length, name);
	if (rc < 0 && pool->force_free) {
		warn(pool->ctx, "%s; freed anyway (forced)", daxalloc_errmsg());
		daxalloc_err_clear();
		rc = 0;
	}
	return rc;
}

/* Check @name, lock, load, find it: returns its index with the lock held. */
static int lock_find(struct daxalloc_pool *pool, const char *name)
{
	int rc = check_name(name), i;

	if (rc < 0)
		return rc;
	rc = pool_lock_load(pool);
	if (rc < 0)
		return rc;
	i = find_name(pool, name);
	if (i < 0) {
		pool_unlock(pool);
		return daxalloc_err(ENOENT, "%s: no region named '%s'", pool->dev->name, name);
	}
	return i;
}

/*
 * Map @e for a handle; the caller recorded it in the handle's mapping
 * records under the pool lock (owner_maps_add), and this undoes that on
 * failure.
 */
static int region_map(struct daxalloc_pool *pool, const struct dxa_entry *e, unsigned int flags,
		      struct daxalloc_region **out)
{
	struct daxalloc_region *r = calloc(1, sizeof(*r));
	unsigned int mflags = flags & DAXALLOC_ALLOC_POPULATE ? DAXALLOC_MAP_POPULATE : 0;
	int rc;

	/* A read-only pool writes nothing on the device, regions included. */
	if (pool->rdonly)
		mflags |= DAXALLOC_MAP_READONLY;
	if (!r) {
		owner_maps_del(pool, e->offset);
		return daxalloc_err(ENOMEM, "out of memory");
	}
	rc = owner_mapped_get(&pool->key, e->offset);
	if (rc < 0) {
		owner_maps_del(pool, e->offset);
		free(r);
		return rc;
	}
	rc = daxalloc_map_new(pool->dev, e->offset, e->length, NULL, mflags, &r->map);
	if (rc < 0) {
		owner_mapped_put(&pool->key, e->offset);
		owner_maps_del(pool, e->offset);
		free(r);
		return rc;
	}
	r->recorded = true;
	r->pool = pool;
	r->counted = true;
	r->offset = e->offset;
	r->length = e->length;
	r->named = e->flags & DXA_ENTRY_NAMED;
	memcpy(r->name, e->name, sizeof(r->name));
	pthread_mutex_lock(&pool->open_lock);
	r->next = pool->open;
	pool->open = r;
	pthread_mutex_unlock(&pool->open_lock);
	*out = r;
	return 0;
}

static void unlink_open(struct daxalloc_region *r)
{
	struct daxalloc_region **pp;

	pthread_mutex_lock(&r->pool->open_lock);
	for (pp = &r->pool->open; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	pthread_mutex_unlock(&r->pool->open_lock);
}

/* The entry at @offset, if it is still the region a handle describes; else -1. */
static int find_same(struct daxalloc_pool *pool, uint64_t offset, bool named, const char *name)
{
	int i = find_offset(pool, offset);

	if (i < 0 || (bool)(pool_ent(pool, i)->flags & DXA_ENTRY_NAMED) != named ||
	    (named && strcmp(pool_ent(pool, i)->name, name) != 0) ||
	    (!named && pool_ent(pool, i)->owner_lease != pool->lease))
		return -1;
	return i;
}

/* Remove the entry at @offset if it is still the one @r describes. */
static int drop_entry(struct daxalloc_pool *pool, uint64_t offset, bool named, const char *name)
{
	int rc = pool_lock_load(pool), i;

	if (rc < 0)
		return rc;
	i = find_same(pool, offset, named, name);
	if (i < 0) {
		pool_unlock(pool);
		return daxalloc_err(ENOENT, "%s: region at 0x%llx was already freed",
				    pool->dev->name, (unsigned long long)offset);
	}
	pool_remove_entry(pool, (uint32_t)i);
	pool_unlock(pool);
	return 0;
}

int region_lock_live(struct daxalloc_region *r)
{
	struct daxalloc_pool *pool = r->pool;
	int rc = pool_lock_load(pool), i;

	if (rc < 0)
		return rc;
	i = find_same(pool, r->offset, r->named, r->name);
	if (i < 0 || pool_ent(pool, i)->length != r->length) {
		pool_unlock(pool);
		if (r->named)
			return daxalloc_err(ENOENT,
					    "%s: region '%s' at 0x%llx was freed (or renamed) through another handle; its memory may belong to another region now",
					    pool->dev->name, r->name, (unsigned long long)r->offset);
		return daxalloc_err(ENOENT,
				    "%s: region at 0x%llx was freed through another handle; its memory may belong to another region now",
				    pool->dev->name, (unsigned long long)r->offset);
	}
	return 0;
}

/* Zero a new region and make the zeros durable before anything names it. */
static void region_zero(struct daxalloc_region *r)
{
	data_zero(&r->pool->mm, r->offset, daxalloc_map_get_address(r->map), r->length);
}

/* Turn the reservation @r (unnamed, this process's) into the named region @name. */
static int region_publish(struct daxalloc_region *r, const char *name)
{
	struct daxalloc_pool *pool = r->pool;
	struct dxa_entry e;
	int rc = pool_lock_load(pool), i;

	if (rc < 0)
		return rc;
	i = find_same(pool, r->offset, false, "");
	if (i < 0) {
		pool_unlock(pool);
		return daxalloc_err(ENOENT,
				    "%s: the extent reserved at 0x%llx for '%s' was freed meanwhile",
				    pool->dev->name, (unsigned long long)r->offset, name);
	}
	if (find_name(pool, name) >= 0) {
		pool_unlock(pool);
		return daxalloc_err(EEXIST, "%s: a region named '%s' exists already",
				    pool->dev->name, name);
	}
	e = *pool_ent(pool, i);
	e.flags = DXA_ENTRY_NAMED;
	e.owner_pid = 0;
	e.owner_start = 0;
	e.owner_boot = 0;
	dxa_name_put(e.name, sizeof(e.name), name);
	pool_update_entry(pool, (uint32_t)i, &e);
	pool_unlock(pool);
	/* the handle now describes the named region */
	pthread_mutex_lock(&pool->open_lock);
	r->named = true;
	dxa_name_put(r->name, sizeof(r->name), name);
	pthread_mutex_unlock(&pool->open_lock);
	return 0;
}

DAXALLOC_EXPORT int daxalloc_alloc(struct daxalloc_pool *pool, uint64_t size, const char *name,
				   unsigned int flags, struct daxalloc_region **out)
{
	API_CALL(pool ? pool->ctx : NULL);
	struct dxa_entry e = { 0 };
	uint64_t where = 0;
	bool reserve;
	char sz[32];
	int rc;

	if (!out)
		return daxalloc_err(EINVAL, "daxalloc_alloc: NULL out-pointer");
	*out = NULL;
	if (!pool)
		return daxalloc_err(EINVAL, "daxalloc_alloc: NULL pool");
	if (flags & ~(DAXALLOC_ALLOC_ZERO | DAXALLOC_ALLOC_POPULATE))
		return daxalloc_err(EINVAL, "daxalloc_alloc: unknown flags 0x%x", flags);
	if ((rc = pool_check_writable(pool, "allocate")) < 0)
		return rc;
	if (size == 0)
		return daxalloc_err(EINVAL, "%s: size 0: a region holds at least one unit",
				    pool->dev->name);
	if (size > pool_data_end(pool))
		return daxalloc_err(ENOSPC, "%s: %llu bytes is more than the whole device",
				    pool->dev->name, (unsigned long long)size);
	size = (size + pool->geo.unit - 1) / pool->geo.unit * pool->geo.unit;
	if (name && (rc = check_name(name)) < 0)
		return rc;
	rc = pool_lock_load(pool);
	if (rc < 0)
		return rc;
	if (name && find_name(pool, name) >= 0) {
		pool_unlock(pool);
		return daxalloc_err(EEXIST, "%s: a region named '%s' exists already",
				    pool->dev->name, name);
	}
	/* Space of dead processes is free space: reclaim it before giving up. */
	if (pool->n >= pool->hdr.table_max || !best_fit(pool, size, &where)) {
		uint32_t gone = pool_reclaim_orphans(pool);

		if (gone) {
			info(pool->ctx, "%s: reclaimed %u regions of processes that died",
			     pool->dev->name, gone);
		}
	}
	if (pool->n >= pool->hdr.table_max) {
		pool_unlock(pool);
		return daxalloc_err(ENOSPC, "%s: the pool holds the maximum of %u regions",
				    pool->dev->name, pool->hdr.table_max);
	}
	if (!best_fit(pool, size, &where)) {
		pool_unlock(pool);
		daxalloc_size_format(size, sz, sizeof(sz));
		return daxalloc_err(ENOSPC, "%s: no free extent of %s (see daxalloc-ctl df %s)",
				    pool->dev->name, sz, pool->dev->name);
	}
	e.offset = where;
	e.length = size;
	e.created = (uint64_t)time(NULL);
	/*
	 * A named region is published only once it is what it claims to be:
	 * with initialisation to do, first reserve the extent as an unnamed
	 * region of this process (killed meanwhile, it is an orphan, reclaimed
	 * at the next open), initialise and persist it, then publish the name.
	 */
	reserve = name && (flags & DAXALLOC_ALLOC_ZERO);
	if (name && !reserve) {
		e.flags = DXA_ENTRY_NAMED;
		dxa_name_put(e.name, sizeof(e.name), name);
	} else {
		e.owner_pid = (uint32_t)pool->my_pid;
		e.owner_start = pool->my_start;
		e.owner_boot = pool->my_boot;
		e.owner_lease = pool->lease;
	}
	pool_insert_entry(pool, &e);
	owner_maps_add(pool, e.offset);
	pool_unlock(pool);

	rc = region_map(pool, &e, flags, out);
	if (rc < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", daxalloc_errmsg());
		drop_entry(pool, e.offset, name && !reserve, e.name);
		return daxalloc_err(-rc, "%s", msg);
	}
	if (flags & DAXALLOC_ALLOC_ZERO)
		region_zero(*out);
	if (reserve && (rc = region_publish(*out, name)) < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", daxalloc_errmsg());
		daxalloc_region_close(out); /* unnamed: frees the reservation */
		return daxalloc_err(-rc, "%s", msg);
	}
	return 0;
}

DAXALLOC_EXPORT int daxalloc_region_open(struct daxalloc_pool *pool, const char *name,
					 unsigned int flags, struct daxalloc_region **out)
{
	API_CALL(pool ? pool->ctx : NULL);
	struct dxa_entry e;
	int i;

	if (!out)
		return daxalloc_err(EINVAL, "daxalloc_region_open: NULL out-pointer");
	*out = NULL;
	if (!pool)
		return daxalloc_err(EINVAL, "daxalloc_region_open: NULL pool");
	if (flags & ~DAXALLOC_ALLOC_POPULATE)
		return daxalloc_err(EINVAL, "daxalloc_region_open: unknown flags 0x%x", flags);
	i = lock_find(pool, name);
	if (i < 0)
		return i;
	e = *pool_ent(pool, i);
	/* A read-only handle maps too: others must see it before its free. */
	if (pool->lease_slot < 0 && !pool_is_inherited(pool) && (i = owner_claim(pool)) < 0) {
		pool_unlock(pool);
		return i;
	}
	owner_maps_add(pool, e.offset);
	pool_unlock(pool);
	return region_map(pool, &e, flags, out);
}

/*
 * Stop counting @r as mapped by this process: before its entry goes, so
 * that a region allocated at the same offset meanwhile is not counted twice.
 */
static void region_uncount(struct daxalloc_region *r)
{
	if (r->counted)
		owner_mapped_put(&r->pool->key, r->offset);
	r->counted = false;
}

/* Out of the mapping records, once unmapped, before its extent can be freed. */
static void region_unrecord(struct daxalloc_region *r)
{
	if (r->recorded)
		owner_maps_del(r->pool, r->offset);
	r->recorded = false;
}

static void region_release(struct daxalloc_region *r)
{
	pin_release_region(r);
	unlink_open(r);
	daxalloc_map_delete(&r->map);
	region_uncount(r);
	region_unrecord(r);
}

/*
 * Handles whose pool was closed while the caller still held them: unmapped
 * and done with, but the caller's to close.  Kept here, reachable, until it
 * does: so that closing the pool first, then its regions (the order object
 * wrappers destroy them in), is no use after free.
 */
static pthread_mutex_t orphans_lock = PTHREAD_MUTEX_INITIALIZER;
static struct daxalloc_region *orphans;

static int orphaned(const char *fn)
{
	return daxalloc_err(EINVAL,
			    "%s: the region's pool was closed; only daxalloc_region_close() is left to do",
			    fn);
}

/* Close @r, keeping its handle (in free, or in the orphans when @keep). */
static void region_close_handle(struct daxalloc_region *r, bool keep)
{
	int stuck;

	/* The memory goes away: so do its pins, before it can be reused. */
	stuck = pin_release_region(r);
	region_uncount(r);
	if (!r->named && !stuck) {
		daxalloc_map_delete(&r->map); /* before its extents are free */
		region_unrecord(r);
	}
	/*
	 * Nobody else can reach an unnamed region: closing it frees it, unless
	 * a pin could not be undone (then it stays this process's until it
	 * exits).  In a forked child it is the parent's: the child drops its copy only.
	 */
	if (!r->named && !stuck && !pool_is_inherited(r->pool) &&
	    drop_entry(r->pool, r->offset, false, "") < 0) {
		warn(r->pool->ctx, "%s", daxalloc_errmsg());
		daxalloc_err_clear(); /* warned: the close goes on */
	}
	region_release(r);
	if (!keep) {
		free(r);
		return;
	}
	r->pool = NULL;
	pthread_mutex_lock(&orphans_lock);
	r->next = orphans;
	orphans = r;
	pthread_mutex_unlock(&orphans_lock);
}

void region_orphan(struct daxalloc_region *r)
{
	region_close_handle(r, true);
}

DAXALLOC_EXPORT void daxalloc_region_close(struct daxalloc_region **pr)
{
	struct daxalloc_region *r, **pp;

	if (!pr || !*pr)
		return;
	r = *pr;
	*pr = NULL;
	if (r->pool) {
		region_close_handle(r, false);
		return;
	}
	pthread_mutex_lock(&orphans_lock);
	for (pp = &orphans; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	pthread_mutex_unlock(&orphans_lock);
	free(r);
}

DAXALLOC_EXPORT int daxalloc_region_free(struct daxalloc_region **pr)
{
	API_CALL(pr ? region_ctx(*pr) : NULL);
	struct daxalloc_region *r;
	struct daxalloc_pool *pool;
	int rc, i;

	if (!pr || !*pr)
		return daxalloc_err(EINVAL, "daxalloc_region_free: NULL region");
	r = *pr;
	pool = r->pool;
	if (!pool)
		return orphaned("daxalloc_region_free");
	if ((rc = pool_check_writable(pool, "free a region")) < 0)
		return rc;
	/* Pins are looked for under the pool lock: daxalloc_pin() records under it. */
	rc = pool_lock_load(pool);
	if (rc == 0) {
		i = find_same(pool, r->offset, r->named, r->name);
		if (i < 0) {
			rc = daxalloc_err(ENOENT, "%s: region at 0x%llx was already freed",
					  pool->dev->name, (unsigned long long)r->offset);
		} else {
			rc = refuse_in_use(pool, r->offset, r->length, r->named ? r->name : NULL);
			/* Another handle of this process maps it too: in use. */
			if (rc == 0 && owner_mapped_count(&pool->key, r->offset) > 1)
				rc = daxalloc_err(EBUSY,
						  "%s: region %s%s%sat 0x%llx is also mapped through another handle of this process; close that first",
						  pool->dev->name, r->named ? "'" : "",
						  r->named ? r->name : "", r->named ? "' " : "",
						  (unsigned long long)r->offset);
			if (rc < 0) {
				/* Refused, the region stays open and mapped, pins and all. */
				pool_unlock(pool);
				return rc;
			}
			region_uncount(r);
			/* Unmapped before the extents are free: nobody else may see them mapped here. */
			daxalloc_map_delete(&r->map);
			region_unrecord(r);
			pool_remove_entry(pool, (uint32_t)i);
		}
		pool_unlock(pool);
	}
	region_release(r);
	free(r);
	*pr = NULL;
	return rc;
}

DAXALLOC_EXPORT int daxalloc_pool_free_name(struct daxalloc_pool *pool, const char *name)
{
	API_CALL(pool ? pool->ctx : NULL);
	int rc, i;

	if (!pool)
		return daxalloc_err(EINVAL, "daxalloc_pool_free_name: NULL pool");
	if ((rc = pool_check_writable(pool, "free a region")) < 0)
		return rc;
	i = lock_find(pool, name);
	if (i < 0)
		return i;
	/* A pin says more than "mapped": check it first. */
	rc = refuse_in_use(pool, pool_ent(pool, i)->offset, pool_ent(pool, i)->length, name);
	/* Mapped through any handle of this process, it is in use. */
	if (rc == 0 && owner_mapped_count(&pool->key, pool_ent(pool, i)->offset))
		rc = daxalloc_err(EBUSY, "%s: region '%s' is mapped by this process; close it first",
				  pool->dev->name, name);
	if (rc < 0) {
		pool_unlock(pool);
		return rc;
	}
	pool_remove_entry(pool, (uint32_t)i);
	pool_unlock(pool);
	return 0;
}

DAXALLOC_EXPORT int daxalloc_pool_rename(struct daxalloc_pool *pool, const char *from, const char *to)
{
	API_CALL(pool ? pool->ctx : NULL);
	struct dxa_entry e;
	int rc, i;

	if (!pool)
		return daxalloc_err(EINVAL, "daxalloc_pool_rename: NULL pool");
	if ((rc = pool_check_writable(pool, "rename a region")) < 0)
		return rc;
	if ((rc = check_name(to)) < 0)
		return rc;
	i = lock_find(pool, from);
	if (i < 0)
		return i;
	if (strcmp(from, to) != 0 && find_name(pool, to) >= 0) {
		pool_unlock(pool);
		return daxalloc_err(EEXIST, "%s: a region named '%s' exists already",
				    pool->dev->name, to);
	}
	e = *pool_ent(pool, i);
	dxa_name_put(e.name, sizeof(e.name), to);
	pool_update_entry(pool, (uint32_t)i, &e);
	pool_unlock(pool);
	pthread_mutex_lock(&pool->open_lock);
	for (struct daxalloc_region *r = pool->open; r; r = r->next)
		if (r->named && strcmp(r->name, from) == 0)
			dxa_name_put(r->name, sizeof(r->name), to);
	pthread_mutex_unlock(&pool->open_lock);
	return 0;
}

/* Exported through versions.c: 0.1's info had no size (compat-0.1.c). */
int daxalloc_pool_foreach_region(struct daxalloc_pool *pool,
				 int (*fn)(const struct daxalloc_region_info *, void *), void *arg)
{
	API_CALL(pool ? pool->ctx : NULL);
	struct dxa_entry *snap;
	struct api_saved s;
	uint32_t n;
	int rc;

	rc = pool_lock_foreach(pool, fn != NULL, "daxalloc_pool_foreach_region", true);
	if (rc < 0)
		return rc;
	n = pool->n;
	snap = malloc((size_t)n * sizeof(*snap) + 1);
	if (!snap) {
		pool_unlock(pool);
		return daxalloc_err(ENOMEM, "out of memory");
	}
	memcpy(snap, pool_table(pool), (size_t)n * sizeof(*snap));
	pool_unlock(pool);
	/* Callbacks run unlocked, so they may call back into the library. */
	api_pause(&s);
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		struct daxalloc_region_info info = { .struct_size = sizeof(info) };
		bool named = snap[i].flags & DXA_ENTRY_NAMED;

		memcpy(info.name, snap[i].name, sizeof(info.name));
		info.offset = snap[i].offset;
		info.size = snap[i].length;
		info.owner_pid = named ? 0 : (int)snap[i].owner_pid;
		info.owner_alive = named || pool_owner_alive(pool, &snap[i]);
		info.created = snap[i].created;
		rc = fn(&info, arg);
	}
	api_resume(&s);
	free(snap);
	return rc;
}

struct daxalloc_ctx *region_ctx(struct daxalloc_region *r)
{
	return r && r->pool ? r->pool->ctx : NULL;
}

DAXALLOC_EXPORT void *daxalloc_region_get_address(struct daxalloc_region *r)
{
	return r && r->pool ? daxalloc_map_get_address(r->map) : NULL;
}

DAXALLOC_EXPORT uint64_t daxalloc_region_get_size(struct daxalloc_region *r)
{
	return r ? r->length : 0;
}

DAXALLOC_EXPORT uint64_t daxalloc_region_get_offset(struct daxalloc_region *r)
{
	return r ? r->offset : 0;
}

DAXALLOC_EXPORT const char *daxalloc_region_get_name(struct daxalloc_region *r)
{
	return r && r->named ? r->name : NULL;
}

DAXALLOC_EXPORT struct daxalloc_pool *daxalloc_region_get_pool(struct daxalloc_region *r)
{
	return r ? r->pool : NULL;
}

DAXALLOC_EXPORT enum daxalloc_durability daxalloc_region_get_durability(struct daxalloc_region *r)
{
	return r && r->pool ? r->pool->mm.durability : DAXALLOC_DURABILITY_VOLATILE;
}

int region_inside(struct daxalloc_region *r, uint64_t off, uint64_t len, const char *who,
		  const char *what)
{
	if (off > r->length || len > r->length - off)
		return daxalloc_err(EINVAL,
				    "%s: %s[0x%llx, +0x%llx) is not inside the region of %llu bytes",
				    who, what, (unsigned long long)off, (unsigned long long)len,
				    (unsigned long long)r->length);
	return 0;
}

static int region_range(struct daxalloc_region *r, uint64_t off, uint64_t len, const char *fn)
{
	if (!r)
		return daxalloc_err(EINVAL, "%s: NULL region", fn);
	if (!r->pool)
		return orphaned(fn);
	return region_inside(r, off, len, fn, "");
}

/* Flush (and with @fence, fence) a checked range of @r. */
static int region_sync(struct daxalloc_region *r, uint64_t off, uint64_t len, bool fence,
		       const char *fn)
{
	int rc = region_range(r, off, len, fn);
	const char *p;

	if (rc < 0)
		return rc;
	p = (const char *)daxalloc_map_get_address(r->map) + off;
	if (fence)
		data_persist(&r->pool->mm, r->offset + off, p, (size_t)len);
	else
		data_flush(&r->pool->mm, r->offset + off, p, (size_t)len);
	return 0;
}

DAXALLOC_EXPORT int daxalloc_region_persist(struct daxalloc_region *r, uint64_t off, uint64_t len)
{
	API_CALL(region_ctx(r));
	return region_sync(r, off, len, true, "daxalloc_region_persist");
}

DAXALLOC_EXPORT int daxalloc_region_flush(struct daxalloc_region *r, uint64_t off, uint64_t len)
{
	API_CALL(region_ctx(r));
	return region_sync(r, off, len, false, "daxalloc_region_flush");
}

DAXALLOC_EXPORT void daxalloc_region_drain(struct daxalloc_region *r)
{
	if (r && r->pool)
		data_drain(&r->pool->mm);
}

DAXALLOC_EXPORT daxalloc_persist_fn daxalloc_region_get_persist_fn(struct daxalloc_region *r)
{
	return r && r->pool ? r->pool->mm.persist : NULL;
}
