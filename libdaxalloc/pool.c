// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pools: formatting, opening, locking, loading and committing metadata.
 * Every operation takes the lock, reloads the newest valid copy (other
 * processes may have changed it), changes a private copy and commits it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "pin.h"
#include "pool.h"
#include "reconfig.h"

uint64_t pool_data_end(struct daxalloc_pool *pool)
{
	return pool->geo.dev_size / pool->geo.unit * pool->geo.unit;
}

int pool_check_writable(struct daxalloc_pool *pool, const char *what)
{
	if (!pool->rdonly)
		return 0;
	return daxalloc_err(EROFS,
			    "%s: the pool was opened read-only (DAXALLOC_POOL_RDONLY); cannot %s",
			    pool->dev->name, what);
}

int pool_attach(struct daxalloc_dev *dev, struct daxalloc_pool **out)
{
	struct daxalloc_pool *pool;
	char path[64];
	int rc;

	*out = NULL;
	if (!dev || !dev->opened)
		return daxalloc_err(EINVAL, "%s: not open; open it with daxalloc_dev_open()",
				    dev ? dev->name : "device");
	if (dev->size < dxa_meta_size(dev->align) + dev->align)
		return daxalloc_err(ENOSPC,
				    "%s: %llu bytes is too small for a pool: metadata takes %llu, plus one %llu-byte unit",
				    dev->name, (unsigned long long)dev->size,
				    (unsigned long long)dxa_meta_size(dev->align),
				    (unsigned long long)dev->align);
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return daxalloc_err(ENOMEM, "out of memory");
	/* Reserved, touched as entries come: a large device's room costs nothing until used. */
	pool->geo.table_cap = dxa_capacity_for(dev->size, dev->align);
	pool->ents = big_reserve(pool->geo.table_cap, sizeof(*pool->ents));
	pool->scratch = big_reserve(pool->geo.table_cap, sizeof(*pool->scratch));
	if (!pool->ents || !pool->scratch || pix_init(&pool->ix, pool->geo.table_cap) < 0) {
		big_release(pool->ents, pool->geo.table_cap, sizeof(*pool->ents));
		big_release(pool->scratch, pool->geo.table_cap, sizeof(*pool->scratch));
		free(pool);
		return daxalloc_err(ENOMEM, "out of memory");
	}
	pool->dev = dev_get(dev);
	pool->ctx = dev->ctx;
	pool->geo.dev_size = dev->size;
	pool->geo.unit = dev->align;
	pool->geo.meta_size = dxa_meta_size(dev->align);
	pool->active = -1;
	pool->lease_slot = -1;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_mutex_init(&pool->open_lock, NULL);
	/* A fresh open file description: flock() then excludes this process's other pools too. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", dev->fd);
	pool->lockfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pool->lockfd < 0) {
		rc = daxalloc_err(errno, "%s: cannot open a lock handle: %s", dev->name,
				  strerror(errno));
		goto fail;
	}
	rc = owner_dev_key(dev, &pool->key);
	if (rc < 0)
		goto fail;
	rc = meta_map_open(dev, pool->geo.meta_size, &pool->mm);
	if (rc < 0)
		goto fail;
	pool->my_pid = (uint64_t)getpid();
	if ((rc = procfs_pid_starttime(getpid(), &pool->my_start)) < 0 ||
	    (rc = procfs_boot_id_hash(&pool->my_boot)) < 0) {
		/* The real reason (EMFILE, EACCES...), not a generic EIO. */
		rc = daxalloc_err(-rc,
				  "cannot read this process's start time or the boot id from /proc: %s",
				  strerror(-rc));
		goto fail;
	}
	*out = pool;
	return 0;
fail:
	pool_detach(pool);
	return rc;
}

void pool_detach(struct daxalloc_pool *pool)
{
	if (!pool)
		return;
	if (pool->mm.addr)
		meta_map_close(&pool->mm);
	if (pool->tm.addr)
		meta_map_close(&pool->tm);
	if (pool->lockfd >= 0)
		close(pool->lockfd);
	pthread_mutex_destroy(&pool->lock);
	pthread_mutex_destroy(&pool->open_lock);
	dev_put(pool->dev);
	big_release(pool->ents, pool->geo.table_cap, sizeof(*pool->ents));
	big_release(pool->scratch, pool->geo.table_cap, sizeof(*pool->scratch));
	pix_fini(&pool->ix);
	free(pool);
}

/*
 * The tables of a large 2.1 pool lie past the first map.  They are mapped
 * only once a header names them: on a device whose pool keeps 2,048
 * entries the same bytes hold regions, which this process must not map
 * (a mapping there would count as a user of them).
 */
static int pool_tables_map(struct daxalloc_pool *pool)
{
	struct dxa_layout l;

	dxa_layout(pool->geo.table_cap, pool->geo.unit, &l);
	if (pool->tm.addr || l.meta_size <= pool->mm.len)
		return 0;
	return meta_map_open_at(pool->dev, pool->mm.len, l.meta_size - pool->mm.len, &pool->tm);
}

static struct meta_map *pool_map_of(struct daxalloc_pool *pool, uint64_t off)
{
	return off < pool->mm.len ? &pool->mm : &pool->tm;
}

static char *pool_meta_ptr(struct daxalloc_pool *pool, uint64_t off)
{
	struct meta_map *m = pool_map_of(pool, off);

	return (char *)m->addr + (off - m->dev_off);
}

/* From 1 MiB on, a table's worth of metadata: faulted in ahead (below). */
#define POOL_POPULATE_MIN (UINT64_C(1) << 20)

/*
 * The pages of @len bytes at @off mapped in one call, ahead of a large
 * read or write, not by a fault each; where that fails, the faults come
 * as before.  The first checkpoint after an open writes a table this
 * mapping never touched: where faults are dear (4 KiB pages in a virtual
 * machine) they were half of it.
 */
static void pool_meta_populate(struct daxalloc_pool *pool, uint64_t off, size_t len, bool write)
{
	uintptr_t a = (uintptr_t)pool_meta_ptr(pool, off) & ~(uintptr_t)4095;

	madvise((void *)a, (uintptr_t)pool_meta_ptr(pool, off) + len - a,
		write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
}

int pool_meta_read(void *arg, uint64_t off, void *dst, size_t len)
{
	struct daxalloc_pool *pool = arg;

	if (off + len > pool->mm.len && off < pool->mm.len) {
		memset(dst, 0, len);
		return -EIO; /* no read spans the two maps */
	}
	if (off >= pool->mm.len && pool_tables_map(pool) < 0) {
		memset(dst, 0, len);
		return -EIO;
	}
	if (len >= POOL_POPULATE_MIN) {
		/* a large table: its pages mapped in one call, not one fault each; @dst filled fast */
		pool_meta_populate(pool, off, len, false);
		big_hint(dst, len, (size_t)pool->geo.table_cap * DXA_ENTRY_SIZE);
	}
	return meta_read(pool_map_of(pool, off), off, dst, len);
}

void pool_scan(struct daxalloc_pool *pool, struct dxa_scan *s)
{
	struct dxa_entry *tab[2] = { pool->ents, pool->scratch };

	dxa_scan(&pool->geo, pool_meta_read, pool, tab, s);
}

void pool_adopt(struct daxalloc_pool *pool, const struct dxa_scan *s, int slot)
{
	/* pool_scan() read slot 0's table into ents and slot 1's into scratch */
	if (slot == 1) {
		struct dxa_entry *t = pool->ents;

		pool->ents = pool->scratch;
		pool->scratch = t;
	}
	pool->active = slot;
	pool->hdr = s->c[slot].hdr;
	pool->ents_stale = false;
	pool->ix.valid = false;
	/*
	 * The newest slot comes with its journal applied (up to a damaged
	 * record, for check); another slot, or a damaged newest table, without.
	 */
	if (slot == s->newest && (s->rc == 0 || s->jdamaged)) {
		pool->n = s->n;
		pool->jused = s->jused;
	} else {
		pool->n = pool->hdr.nentries;
		pool->jused = 0;
	}
	pool->jclean = 0; /* the next cell not looked at yet */
}

/*
 * The lock says nobody held it since this handle let it go with the state
 * loaded; what writes without it (erasing a pool's headers when the device
 * is reconfigured) shows in the active header's first copy.
 */
static bool pool_hdr_same(struct daxalloc_pool *pool)
{
	struct dxa_hdr h;

	return meta_read(&pool->mm, dxa_hdr_offset(pool->active, 0), &h, sizeof(h)) == 0 &&
	       memcmp(&h, &pool->hdr, sizeof(h)) == 0;
}

/*
 * Nobody committed since we last loaded or committed (we hold the lock):
 * both copies of the active header are byte for byte the one we hold,
 * and neither standby copy is newer.
 */
static bool pool_unchanged(struct daxalloc_pool *pool)
{
	struct dxa_hdr h;

	uint64_t seq;

	for (int k = 0; k < 2; k++) {
		if (meta_read(&pool->mm, dxa_hdr_offset(pool->active, k), &h, sizeof(h)) < 0 ||
		    memcmp(&h, &pool->hdr, sizeof(h)) != 0)
			return false;
		/* of a standby copy only its sequence number matters here */
		if (meta_read(&pool->mm,
			      dxa_hdr_offset(!pool->active, k) + offsetof(struct dxa_hdr, seq),
			      &seq, sizeof(seq)) < 0 ||
		    seq >= pool->hdr.seq)
			return false;
	}
	return true;
}

struct dxa_entry *pool_table(struct daxalloc_pool *pool)
{
	if (pool->ents_stale) {
		/* after an open the array is the index's first, never touched: huge pages, not faults */
		big_hint(pool->ents, (size_t)pool->ix.n * DXA_ENTRY_SIZE,
			 (size_t)pool->geo.table_cap * DXA_ENTRY_SIZE);
		pool->n = pix_export(&pool->ix, pool->ents);
		pool->ents_stale = false;
	}
	return pool->ents;
}

void pool_index(struct daxalloc_pool *pool)
{
	if (!pool->ix.valid) {
		pix_build_take(&pool->ix, &pool->ents, pool->n, pool->hdr.data_start,
			       pool_data_end(pool));
		pool->ents_stale = true; /* the index has its entries: exported when next asked */
	}
}

/*
 * Has anyone appended a record at the journal's next cell since?  A cell
 * found clean is remembered for the append this lock hold may make.
 */
static bool pool_journal_grew(struct daxalloc_pool *pool)
{
	struct dxa_jrec r[2]; /* a cell's two copies lie side by side */

	pool->jclean = 0;
	if (pool->jused >= pool->hdr.journal_cells)
		return false;
	if (pool_meta_read(pool, dxa_jrec_at(&pool->hdr, pool->jused, 0), r, sizeof(r)) < 0 ||
	    !dxa_jrec_clean(&r[0], &pool->hdr, pool->jused))
		return true;
	/* the same bytes as a clean first copy are as clean: no second checksum */
	if (memcmp(&r[0], &r[1], sizeof(r[0])) != 0 && !dxa_jrec_clean(&r[1], &pool->hdr, pool->jused))
		return true;
	pool->jclean = pool->jused + 1;
	return false;
}

/* Pick the newest valid copy; explain when it cannot be trusted. */
static int pool_load_state(struct daxalloc_pool *pool)
{
	struct dxa_scan s;

	/*
	 * Our copy of the table was validated then and still is the state,
	 * with the records other processes appended since.  Without any, the
	 * index is the state as it is: nothing here grows with the table.
	 */
	if (pool->active >= 0 && pool->lock_unchanged && pool->hdr.version_major >= 2 &&
	    pool_hdr_same(pool)) {
		pool_index(pool);
		return 0;
	}
	if (pool->active >= 0 && pool_unchanged(pool)) {
		uint32_t used, repaired = 0;
		char why[300];

		if (pool->hdr.version_major < 2 || !pool_journal_grew(pool)) {
			pool_index(pool);
			return 0;
		}
		if (dxa_journal_replay(&pool->hdr, &pool->geo, pool_meta_read, pool,
				       pool_table(pool), &pool->n, pool->jused, &used, &repaired,
				       why, sizeof(why)) == 0) {
			if (used != pool->jused)
				pool->ix.valid = false;
			pool->jused = used;
			pool_index(pool);
			return 0;
		}
		/* damaged: the whole scan says how */
	}
	{
		struct dxa_entry *tab[2] = { pool->ents, pool->scratch };

		dxa_scan_newest(&pool->geo, pool_meta_read, pool, tab, &s);
	}
	pool->legacy = s.legacy;
	if (s.rc == 0) {
		pool_adopt(pool, &s, s.newest);
		pool_index(pool);
		return 0;
	}
	pool->active = -1;
	pool->n = 0;
	pool->ents_stale = false;
	pool->ix.valid = false;
	return pool_scan_error(pool, &s);
}

/* Loaded in this hold: the unlock may then name this handle as up to date. */
static int pool_load(struct daxalloc_pool *pool)
{
	int rc = pool_load_state(pool);

	pool->synced = rc == 0;
	return rc;
}

int pool_scan_error(struct daxalloc_pool *pool, const struct dxa_scan *s)
{
	const char *n = pool->dev->name;

	if (s->rc == -ENODATA)
		return daxalloc_err(ENODATA,
				    "%s: holds no pool; format it with daxalloc_pool_create() or 'daxalloc-ctl format %s'",
				    n, n);
	if (s->rc != -EUCLEAN)
		return daxalloc_err(-s->rc, "%s: %s", n, s->why);
	return daxalloc_err(EUCLEAN, "%s: %s; see 'daxalloc-ctl check %s'", n, s->why, n);
}

int pool_inherited(struct daxalloc_pool *pool)
{
	if ((uint64_t)owner_self_pid() == pool->my_pid)
		return 0;
	/*
	 * A forked child is another owner: through its parent's handle it
	 * would free the parent's regions and share its lock.  Refuse.
	 */
	return daxalloc_err(ECHILD,
			    "%s: this pool handle belongs to pid %llu, the parent of this process; after fork() a child opens its own with daxalloc_pool_open()",
			    pool->dev->name, (unsigned long long)pool->my_pid);
}

int pool_lock(struct daxalloc_pool *pool)
{
	int rc = pool_inherited(pool);

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&pool->lock);
	rc = owner_lock(pool);
	if (rc < 0) {
		pthread_mutex_unlock(&pool->lock);
		return rc;
	}
	pool->synced = false; /* until a load in this hold */
	if (!pool->lock_unchanged)
		pool->jclean = 0; /* another may have appended there */
	/*
	 * Also the lock the releases before the lock in device memory take (on
	 * this node only), while the pool may be in their format (1.x): from
	 * 2.0 on they refuse the pool at their next look, so only the upgrade
	 * and what comes before it need to exclude them.
	 */
	pool->flocked = pool->active < 0 || pool->hdr.version_major < 2;
	while (pool->flocked && (rc = flock(pool->lockfd, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		rc = daxalloc_err(errno, "%s: cannot lock the pool: %s", pool->dev->name,
				  strerror(errno));
		owner_unlock(pool);
		pthread_mutex_unlock(&pool->lock);
		return rc;
	}
	return 0;
}

int pool_lock_load(struct daxalloc_pool *pool)
{
	int rc = pool_lock(pool);

	if (rc < 0)
		return rc;
	rc = pool_load(pool);
	if (rc < 0)
		pool_unlock(pool);
	return rc;
}

int pool_lock_foreach(struct daxalloc_pool *pool, bool have_fn, const char *what, bool load)
{
	if (!pool || !have_fn)
		return daxalloc_err(EINVAL, "%s: NULL argument", what);
	return load ? pool_lock_load(pool) : pool_lock(pool);
}

void pool_unlock(struct daxalloc_pool *pool)
{
	if (pool->flocked)
		flock(pool->lockfd, LOCK_UN);
	owner_unlock(pool);
	pthread_mutex_unlock(&pool->lock);
}

static void pool_write_hdr(struct daxalloc_pool *pool, int slot, int copy, const struct dxa_hdr *h)
{
	char *hp = (char *)pool->mm.addr + dxa_hdr_offset(slot, copy);

	memcpy(hp, h, sizeof(*h));
	meta_persist(&pool->mm, hp, sizeof(*h));
}

/* Clear the journal (format, upgrade from 1.x): no old bytes may look like a damaged record. */
static void pool_journal_clear(struct daxalloc_pool *pool)
{
	struct dxa_layout l;
	char *j;
	size_t len;

	dxa_layout(pool->hdr.table_max, pool->geo.unit, &l);
	j = pool_meta_ptr(pool, l.journal_offset);
	len = (size_t)l.journal_cells * DXA_JCELL_SIZE;

	memset(j, 0, len);
	meta_persist(pool_map_of(pool, l.journal_offset), j, len);
	pool->jused = 0;
	pool->jclean = 0;
}

void pool_checkpoint(struct daxalloc_pool *pool)
{
	int target = pool->active == 0 ? 1 : 0;
	size_t tlen = (size_t)pool->n * DXA_ENTRY_SIZE;
	struct dxa_hdr h = pool->hdr;
	struct dxa_layout l;
	uint32_t crc;
	char *tbl;

	dxa_layout(h.table_max, h.unit, &l);
	tbl = pool_meta_ptr(pool, l.table_offset[target]);
	if (h.version_major < 2)
		pool_journal_clear(pool);
	/* 1: the standby table, durable before any header names it */
	if (tlen >= POOL_POPULATE_MIN)
		pool_meta_populate(pool, l.table_offset[target], tlen, true);
	if (pool->ents_stale) {
		/* the index writes the sorted table where it goes: no copy in memory in between */
		pool->n = pix_export_crc(&pool->ix, (struct dxa_entry *)tbl, &crc);
		tlen = (size_t)pool->n * DXA_ENTRY_SIZE;
	} else {
		memcpy(tbl, pool->ents, tlen);
		crc = daxalloc_crc32c(0, pool->ents, tlen);
	}
	meta_persist(pool_map_of(pool, l.table_offset[target]), tbl, tlen ? tlen : 1);
	/* 2: its header, numbered above every record: the second copy, then the first */
	h.seq = pool->hdr.seq + pool->jused + 1;
	h.version_major = DXA_VERSION_MAJOR;
	h.version_minor = DXA_VERSION_MINOR;
	h.journal_offset = l.journal_offset;
	h.journal_cells = l.journal_cells;
	h.journal_rec = DXA_JREC_SIZE;
	h.table_offset = l.table_offset[target];
	h.nentries = pool->n;
	h.table_crc = crc;
	h.hdr_crc = dxa_hdr_crc(&h);
	pool_write_hdr(pool, target, 1, &h);
	pool_write_hdr(pool, target, 0, &h); /* the commit point is the first durable copy */
	pool->hdr = h;
	pool->active = target;
	pool->jused = 0; /* the records before are in the table now */
	pool->jclean = 0;
}

bool pool_test_checkpoint_each;

uint32_t pool_fold_min(const struct daxalloc_pool *pool)
{
	return pool->hdr.journal_cells / 8 ? pool->hdr.journal_cells / 8 : 1;
}

void pool_log(struct daxalloc_pool *pool, enum dxa_jop op, const struct dxa_entry *e)
{
	struct dxa_jrec r;

	/* 1.x (upgraded at the first write) or a full journal: the whole state at once */
	if (pool->hdr.version_major < 2 || pool->jused >= pool->hdr.journal_cells ||
	    pool_test_checkpoint_each) {
		pool_checkpoint(pool);
		return;
	}
	/*
	 * A second copy an older append left cut short is cleared first: a
	 * first copy cut short beside it would look like damage.
	 */
	if (pool->jclean != pool->jused + 1 &&
	    (pool_meta_read(pool, dxa_jrec_at(&pool->hdr, pool->jused, 1), &r, sizeof(r)) < 0 ||
	     !dxa_jrec_clean(&r, &pool->hdr, pool->jused))) {
		uint64_t o = dxa_jrec_at(&pool->hdr, pool->jused, 1);
		char *b = pool_meta_ptr(pool, o);

		memset(b, 0, sizeof(r));
		meta_persist(pool_map_of(pool, o), b, sizeof(r));
	}
	dxa_jrec_make(&r, &pool->hdr, pool->jused, op, e);
	/* the first copy durable before the second: one of them is always whole */
	for (int k = 0; k < 2; k++) {
		uint64_t o = dxa_jrec_at(&pool->hdr, pool->jused, k);
		char *p = pool_meta_ptr(pool, o);

		memcpy(p, &r, sizeof(r));
		meta_persist(pool_map_of(pool, o), p, sizeof(r));
	}
	pool->jused++;
}

void pool_upgrade(struct daxalloc_pool *pool)
{
	unsigned int from_major = pool->hdr.version_major, from_minor = pool->hdr.version_minor;

	/* Two checkpoints: both slots in format 2.x, which 1.x readers refuse. */
	pool_checkpoint(pool);
	pool_checkpoint(pool);
	pool->legacy = false;
	info(pool->ctx, "%s: pool format %u.%u upgraded to %u.%u (a journal of %u records)",
	     pool->dev->name, from_major, from_minor, DXA_VERSION_MAJOR, DXA_VERSION_MINOR,
	     pool->hdr.journal_cells);
}

bool pool_owner_alive(struct daxalloc_pool *pool, const struct dxa_entry *e)
{
	uint64_t start;

	if (e->owner_boot != pool->my_boot)
		return false;
	if (e->owner_lease)
		return owner_lease_alive(pool, e->owner_lease);
	/* Written by an older version of the library: a pid in its namespace. */
	if (procfs_pid_starttime((int)e->owner_pid, &start) < 0)
		return false;
	return start == e->owner_start;
}

/* Changes go through the index; the sorted table follows when next asked for. */
uint32_t pool_insert_entry(struct daxalloc_pool *pool, const struct dxa_entry *e)
{
	uint32_t slot = pix_insert(&pool->ix, e);

	pool->n++;
	pool->ents_stale = true;
	pool_log(pool, DXA_JOP_PUT, e);
	return slot;
}

void pool_update_entry(struct daxalloc_pool *pool, uint32_t slot, const struct dxa_entry *e)
{
	pix_update(&pool->ix, slot, e);
	pool->ents_stale = true;
	pool_log(pool, DXA_JOP_PUT, e);
}

void pool_remove_entry(struct daxalloc_pool *pool, uint32_t slot)
{
	struct dxa_entry gone = *pool_ent(pool, slot);

	/* Logged once removed: a full journal checkpoints the table as it is now. */
	pix_remove(&pool->ix, slot);
	pool->n--;
	pool->ents_stale = true;
	pool_log(pool, DXA_JOP_DEL, &gone);
}

uint32_t pool_reclaim_orphans(struct daxalloc_pool *pool)
{
	uint32_t gone = 0, slot;

	pool_index(pool);
	if (!pool->ix.unnamed)
		return 0; /* named regions are never orphans: nothing to walk */
	/* In offset order through the index: a removal (or checkpoint) leaves the walk valid. */
	for (slot = pix_next(&pool->ix, 0); slot != PIX_NIL;) {
		struct dxa_entry *e = pool_ent(pool, slot);
		uint64_t next = e->offset + 1;
		struct holder h;

		/*
		 * A dying owner drops its lease before the kernel tears down its
		 * mappings: while any process still maps the extent it stays an
		 * orphan, else its next owner shares memory with the dying one.
		 */
		if (!(e->flags & DXA_ENTRY_NAMED) && !pool_owner_alive(pool, e) &&
		    holders_find_mapper(pool->dev->fd, e->offset, e->length, &h) == 0) {
			dbg(pool->ctx, "%s: reclaiming [0x%llx, +0x%llx) of dead pid %u",
			    pool->dev->name, (unsigned long long)e->offset,
			    (unsigned long long)e->length, e->owner_pid);
			pool_remove_entry(pool, slot);
			gone++;
		}
		slot = pix_next(&pool->ix, next);
	}
	return gone;
}

static int pool_format(struct daxalloc_pool *pool)
{
	char *base = pool->mm.addr;
	struct dxa_hdr *h = &pool->hdr;
	struct dxa_layout l;
	uint8_t uuid[16];
	int rc;

	/* The pool's identity tells its journal records from an earlier pool's: never a constant. */
	if (getrandom(uuid, sizeof(uuid), 0) != (ssize_t)sizeof(uuid))
		return daxalloc_err(errno, "%s: cannot make the pool's uuid: getrandom: %s",
				    pool->dev->name, strerror(errno));

	dxa_layout(pool->geo.table_cap, pool->geo.unit, &l);
	rc = pool_tables_map(pool);
	if (rc < 0)
		return rc;
	/* Invalidate both copies first, so a torn format never looks like a pool. */
	memset(base, 0, 2 * DXA_HDR_SLOT_SIZE);
	meta_persist(&pool->mm, base, 2 * DXA_HDR_SLOT_SIZE);
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, DXA_MAGIC, sizeof(h->magic));
	h->version_major = DXA_VERSION_MAJOR;
	h->version_minor = DXA_VERSION_MINOR;
	h->dev_size = pool->geo.dev_size;
	h->unit = pool->geo.unit;
	h->data_start = l.meta_size;
	h->table_max = pool->geo.table_cap;
	h->format_time = (uint64_t)time(NULL);
	memcpy(h->uuid, uuid, sizeof(h->uuid));
	h->journal_offset = l.journal_offset;
	h->journal_cells = l.journal_cells;
	h->journal_rec = DXA_JREC_SIZE;
	pool->n = 0;
	pool->ents_stale = false;
	pool->ix.valid = false;
	pool->active = 1;
	pool_journal_clear(pool); /* records of an earlier pool carry its uuid: cleared anyway */
	pool_checkpoint(pool);    /* slot 0, seq 1 */
	pool_checkpoint(pool);    /* slot 1, seq 2: both copies valid */
	return 0;
}

/* The out-pointer (cleared) and the flags of @fn, an entry point that makes a handle. */
static int pool_args(const char *fn, struct daxalloc_pool **out, unsigned int flags,
		     unsigned int known)
{
	if (!out)
		return daxalloc_err(EINVAL, "%s: NULL out-pointer", fn);
	*out = NULL;
	if (flags & ~known)
		return daxalloc_err(EINVAL, "%s: unknown flags 0x%x", fn, flags);
	return 0;
}

DAXALLOC_EXPORT int daxalloc_pool_create(struct daxalloc_dev *dev, unsigned int flags,
					 struct daxalloc_pool **out)
{
	struct daxalloc_pool *pool;
	int rc;
	API_CALL(dev ? dev->ctx : NULL);

	rc = pool_args("daxalloc_pool_create", out, flags, DAXALLOC_POOL_FORCE | DAXALLOC_POOL_KEEP);
	if (rc < 0)
		return rc;
	if ((flags & DAXALLOC_POOL_KEEP) && dev && dev->type == DAXALLOC_DEV_HUGETLB &&
	    (rc = hugetlb_keep(dev)) < 0)
		return rc;
	rc = pool_attach(dev, &pool);
	if (rc < 0)
		return rc;
	/*
	 * Look and format under one hold of the lock: of creators racing on
	 * an empty device exactly one formats; the others find its pool.
	 */
	pool->creating = true;
	rc = pool_lock(pool);
	if (rc < 0) {
		pool_detach(pool);
		return rc;
	}
	rc = pool_load(pool);
	if (rc == 0 && !(flags & DAXALLOC_POOL_FORCE)) {
		const struct dxa_entry *ents = pool_table(pool);
		uint32_t named = 0, n = pool->n;

		for (uint32_t i = 0; i < n; i++)
			named += !!(ents[i].flags & DXA_ENTRY_NAMED);
		pool_unlock(pool);
		pool_detach(pool);
		return daxalloc_err(EEXIST,
				    "%s: already holds a pool with %u regions (%u named); formatting again destroys them (force it with DAXALLOC_POOL_FORCE / --force, or open it)",
				    dev->name, n, named);
	}
	if (rc < 0 && rc != -ENODATA && !(flags & DAXALLOC_POOL_FORCE)) {
		/* Something pool-like we cannot read: never overwrite it unasked. */
		pool_unlock(pool);
		pool_detach(pool);
		return daxalloc_err(-rc,
				    "%s; formatting destroys it (force it with DAXALLOC_POOL_FORCE / --force)",
				    daxalloc_errmsg());
	}
	/* No pool, or one forced over: what the look found is no error of this call. */
	daxalloc_err_clear();
	/* Formatting frees every region: never under a DMA that still reaches one. */
	rc = pin_refuse_free(pool, 0, UINT64_MAX, NULL);
	if (rc < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", daxalloc_errmsg());
		pool_unlock(pool);
		pool_detach(pool);
		return daxalloc_err(-rc, "%s (formatting frees every region)", msg);
	}
	rc = pool_format(pool);
	if (rc == 0)
		rc = owner_claim(pool);
	pool_unlock(pool);
	if (rc < 0) {
		pool_detach(pool);
		return rc;
	}
	info(dev->ctx, "%s: formatted a pool of %llu-byte units", dev->name,
	     (unsigned long long)pool->geo.unit);
	*out = pool;
	return 0;
}

DAXALLOC_EXPORT int daxalloc_pool_open(struct daxalloc_dev *dev, unsigned int flags,
				       struct daxalloc_pool **out)
{
	struct daxalloc_pool *pool;
	uint32_t gone;
	int rc;
	API_CALL(dev ? dev->ctx : NULL);

	rc = pool_args("daxalloc_pool_open", out, flags,
		       DAXALLOC_POOL_RDONLY | DAXALLOC_POOL_FORCE_FREE);
	if (rc < 0)
		return rc;
	if ((rc = hugetlb_no_pool_yet(dev)) < 0)
		return rc;
	rc = pool_attach(dev, &pool);
	if (rc < 0)
		return rc;
	pool->rdonly = flags & DAXALLOC_POOL_RDONLY;
	pool->force_free = flags & DAXALLOC_POOL_FORCE_FREE;
	rc = pool_lock_load(pool);
	if (rc < 0) {
		pool_detach(pool);
		return rc;
	}
	/* Read-only: no upgrade, and orphans stay for a writer (or check --repair). */
	if ((pool->legacy || pool->hdr.version_major < DXA_VERSION_MAJOR) && !pool->rdonly)
		pool_upgrade(pool);
	gone = pool->rdonly ? 0 : pool_reclaim_orphans(pool);
	if (gone) {
		info(dev->ctx, "%s: reclaimed %u regions of processes that died", dev->name, gone);
	}
	/* A lease keeps unnamed regions: a read-only handle makes none, and writes none. */
	rc = pool->rdonly ? 0 : owner_claim(pool);
	pool_unlock(pool);
	if (rc < 0) {
		pool_detach(pool);
		return rc;
	}
	*out = pool;
	return 0;
}

/*
 * A writer that leaves folds a journal holding an eighth of its cells or
 * more into the table, as SQLite's last connection folds its WAL: the next
 * open (a restart's) reads the table alone instead of replaying every
 * record.  Each record replayed costs an open as much as some forty
 * entries written cost a checkpoint, and a large table's journal has a
 * quarter as many cells as the table entries: from an eighth on, the fold
 * costs less than the replay it saves.  A handle that sees fewer records
 * (others appended since) does not look further; a writer killed leaves
 * its records to the next open, as ever.  Needs the lock.
 */
static void pool_fold_journal(struct daxalloc_pool *pool)
{
	if (pool->rdonly || pool->active < 0 || pool->hdr.version_major < 2 ||
	    pool->jused < pool_fold_min(pool))
		return;
	if (pool_load(pool) == 0 && pool->hdr.version_major >= 2 && pool->jused >= pool_fold_min(pool))
		pool_checkpoint(pool);
}

DAXALLOC_EXPORT void daxalloc_pool_close(struct daxalloc_pool **ppool)
{
	struct daxalloc_pool *pool;

	if (!ppool || !*ppool)
		return;
	pool = *ppool;
	for (;;) {
		struct daxalloc_region *r;

		pthread_mutex_lock(&pool->open_lock);
		r = pool->open;
		pthread_mutex_unlock(&pool->open_lock);
		if (!r)
			break;
		region_orphan(r);
	}
	/* A forked child holds no lease of its parent's handle. */
	if (!pool_is_inherited(pool) && pool_lock(pool) == 0) {
		pool_fold_journal(pool);
		owner_release(pool);
		pool_unlock(pool);
	}
	pool_detach(pool);
	*ppool = NULL;
}

DAXALLOC_EXPORT struct daxalloc_dev *daxalloc_pool_get_dev(struct daxalloc_pool *pool)
{
	return pool ? pool->dev : NULL;
}

/* Exported through versions.c: 0.1's stats had no size (compat-0.1.c). */
int daxalloc_pool_get_stats(struct daxalloc_pool *pool, struct daxalloc_pool_stats *out)
{
	struct daxalloc_pool_stats all, *st = &all;
	const struct dxa_entry *ents;
	uint64_t prev, end;
	int rc, n;
	API_CALL(pool ? pool->ctx : NULL);

	if (!pool || !out)
		return daxalloc_err(EINVAL, "daxalloc_pool_get_stats: NULL argument");
	n = SIZED(out, pool_stats);
	if (n < 0)
		return n;
	rc = pool_lock_load(pool);
	if (rc < 0)
		return rc;
	ents = pool_table(pool);
	memset(st, 0, sizeof(*st));
	st->unit = pool->geo.unit;
	st->max_regions = pool->hdr.table_max;
	end = pool_data_end(pool);
	st->capacity = end - pool->hdr.data_start;
	prev = pool->hdr.data_start;
	for (uint32_t i = 0; i <= pool->n; i++) {
		uint64_t next = i < pool->n ? ents[i].offset : end;

		if (next > prev) {
			st->free += next - prev;
			st->free_extents++;
			if (next - prev > st->largest_free)
				st->largest_free = next - prev;
		}
		if (i < pool->n) {
			st->used += ents[i].length;
			st->regions++;
			st->named_regions += !!(ents[i].flags & DXA_ENTRY_NAMED);
			prev = ents[i].offset + ents[i].length;
		}
	}
	pool_unlock(pool);
	st->fragmentation = st->free ? 1.0 - (double)st->largest_free / (double)st->free : 0.0;
	sized_copy(out, &all, n);
	return 0;
}
