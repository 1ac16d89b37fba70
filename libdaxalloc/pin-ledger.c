// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pin ledger: which process pins what on a device, visible to every
 * process that uses the device.
 *
 * It lives where the pool lock and the owners' leases live, in the
 * device's own memory (owner.c says why): a container reaches the device
 * through a node of its own, in a mount namespace with its own /run, and
 * sees other pids, so a file of records keyed by pid would hide its pins
 * from the host and the host's from it.  A record names the lease of the
 * pool handle it was made through; it is live while that lease is held,
 * which the kernel ends when the process dies, in any namespace.  A pin
 * that could not be undone keeps its handle's lease for as long as the
 * process lives (owner_release), so its record stays live too.
 *
 * fork() hands the consumer (a VFIO container, a ring, a verbs context)
 * to the child, and the kernel's pin lives as long as any holder of it,
 * not as long as the pinner: its records are marked forked, and a forked
 * record outlives the lease while any process holds a file that is the
 * consumer's (same st_dev/st_ino: for VFIO and verbs that is any handle
 * of the kind, and for io_uring on older kernels, which errs on the safe
 * side).  Only a process in the pinner's pid namespace can look; any
 * other takes it as live.  A record found dead is cleared, so that a
 * later holder of a like file cannot revive it.
 *
 * Records are taken and read under the pool lock; the owner clears its
 * own with a compare-and-swap.  The head counts the records in use (the
 * highest taken + 1) so that readers look at no more than that.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pin.h"
#include "reconfig.h"

#define LEDGER_OFFSET (DXA_LOCK_OFFSET + (UINT64_C(512) << 10))
#define LEDGER_RECS 2047u

struct ledger_head {
	uint64_t gen;  /* the lock generation the records belong to */
	uint32_t used; /* 1 + the highest record taken in that generation */
	uint8_t reserved[256 - 12];
};

struct ledger {
	struct ledger_head head;
	struct pin_ledger_rec rec[LEDGER_RECS];
};

_Static_assert(sizeof(struct pin_ledger_rec) == 256, "ledger records are 256 bytes");
_Static_assert(LEDGER_OFFSET + sizeof(struct ledger) <= DXA_META_MIN,
	       "the pin ledger fits in the smallest metadata unit");

static struct ledger *ledger_of(struct daxalloc_pool *pool)
{
	return (struct ledger *)((char *)pool->mm.addr + LEDGER_OFFSET);
}

/*
 * Reads of the ledger go through guarded copies (meta_read): a record
 * that does not read may hold a live pin, so it is never taken, and a
 * look for pins that meets one fails with -EIO naming it.
 */
static int unreadable(struct daxalloc_pool *pool, const char *what, uint64_t off, size_t len)
{
	return daxalloc_err(EIO,
			    "%s: the pin ledger's %s (bytes 0x%llx-0x%llx of the device) is unreadable (media error): whether a pin reaches the memory cannot be told",
			    pool->dev->name, what, (unsigned long long)off,
			    (unsigned long long)(off + len - 1));
}

/* Records in use: 0 for another boot's or bytes never written; -EIO when the head does not read. */
static int ledger_used(struct daxalloc_pool *pool)
{
	struct ledger_head h;

	if (meta_read(&pool->mm, LEDGER_OFFSET, &h, sizeof(h)) < 0)
		return unreadable(pool, "head", LEDGER_OFFSET, sizeof(h));
	if (h.gen != pool->lock_gen)
		return 0;
	return h.used > LEDGER_RECS ? (int)LEDGER_RECS : (int)h.used;
}

/* Record @i copied out of device memory: 0, or -EIO. */
static int rec_copy(struct daxalloc_pool *pool, uint32_t i, struct pin_ledger_rec *r)
{
	uint64_t off = LEDGER_OFFSET + offsetof(struct ledger, rec) + (uint64_t)i * sizeof(*r);

	return meta_read(&pool->mm, off, r, sizeof(*r));
}

void pin_ledger_forking(struct pin_ledger_rec *where, uint64_t lease, uint64_t id)
{
	if (where->lease == lease && where->id == id)
		__atomic_fetch_or(&where->flags, PIN_REC_FORKED, __ATOMIC_ACQ_REL);
}

/*
 * Is the record live?  @h (may be NULL) names, for a forked record whose
 * pinner is gone, the process holding the consumer (pid 0: cannot tell).
 */
static bool rec_live(struct daxalloc_pool *pool, const struct pin_ledger_rec *r, struct holder *h)
{
	struct holder ignored;
	uint64_t ns;

	if (!h)
		h = &ignored;
	memset(h, 0, sizeof(*h));
	if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) != PIN_REC_LIVE || r->gen != pool->lock_gen)
		return false;
	if (owner_lease_alive(pool, r->lease))
		return true;
	if (!(__atomic_load_n(&r->flags, __ATOMIC_ACQUIRE) & PIN_REC_FORKED))
		return false;
	ns = procfs_self_pidns();
	if (!ns || ns != r->pidns)
		return true; /* its children are out of sight: fail closed */
	return holders_find_file(r->cons_dev, r->cons_ino, h) != 0;
}

int pin_ledger_add(struct daxalloc_pool *pool, struct pin_ledger_rec *rec,
		   struct pin_ledger_rec **where)
{
	struct ledger *l = ledger_of(pool);
	int used;
	uint32_t i;

	if (!pool->lockm || !pool->lease)
		return daxalloc_err(EIO, "%s: the pool handle holds no lease to record a pin under",
				    pool->dev->name);
	used = ledger_used(pool);
	if (used < 0)
		return used;
	/* The first record free: neither live nor unreadable. */
	for (i = 0; i < (uint32_t)used; i++) {
		struct pin_ledger_rec r;

		if (rec_copy(pool, i, &r) == 0 && !rec_live(pool, &r, NULL))
			break;
	}
	if (i == LEDGER_RECS)
		return daxalloc_err(ENOSPC,
				    "%s: %u pins are recorded on this device, the most its ledger holds",
				    pool->dev->name, LEDGER_RECS);
	rec->gen = pool->lock_gen;
	rec->lease = pool->lease;
	rec->state = 0;
	memcpy(&l->rec[i], rec, sizeof(*rec));
	__atomic_store_n(&l->rec[i].state, PIN_REC_LIVE, __ATOMIC_RELEASE);
	if (i >= (uint32_t)used) {
		__atomic_store_n(&l->head.used, i + 1, __ATOMIC_RELEASE);
		__atomic_store_n(&l->head.gen, pool->lock_gen, __ATOMIC_RELEASE);
	}
	*where = &l->rec[i];
	return 0;
}

void pin_ledger_remove(struct pin_ledger_rec *where, uint64_t lease, uint64_t id)
{
	uint32_t live = PIN_REC_LIVE;

	if (where->lease == lease && where->id == id)
		__atomic_compare_exchange_n(&where->state, &live, 0, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE);
}

void pin_ledger_set_consumer(struct pin_ledger_rec *where, uint64_t lease, uint64_t id,
			     const char *consumer)
{
	if (where->lease != lease || where->id != id)
		return;
	memset(where->consumer, 0, sizeof(where->consumer));
	snprintf(where->consumer, sizeof(where->consumer), "%.*s", (int)sizeof(where->consumer) - 1,
		 consumer);
}

static int by_offset(const void *a, const void *b)
{
	const struct pin_ledger_rec *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int pin_ledger_read(struct daxalloc_pool *pool, struct pin_ledger_rec **out)
{
	struct ledger *l = ledger_of(pool);
	struct pin_ledger_rec *v;
	int used, n = 0;

	*out = NULL;
	if (!pool->lockm)
		return 0;
	used = ledger_used(pool);
	if (used <= 0)
		return used;
	v = calloc((size_t)used, sizeof(*v));
	if (!v)
		return daxalloc_err(ENOMEM, "out of memory");
	for (uint32_t i = 0; i < (uint32_t)used; i++) {
		uint32_t live = PIN_REC_LIVE;
		struct holder h;

		if (rec_copy(pool, i, &v[n]) < 0) {
			free(v);
			return unreadable(pool, "record",
					  (uint64_t)((char *)&l->rec[i] - (char *)pool->mm.addr),
					  sizeof(l->rec[i]));
		}
		if (v[n].state != PIN_REC_LIVE)
			continue;
		if (!rec_live(pool, &v[n], &h)) {
			/* Dead for good: a later holder of a like file must not revive it. */
			__atomic_compare_exchange_n(&l->rec[i].state, &live, 0, false,
						    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
			continue;
		}
		if (h.pid) {
			/* The pinner is gone: name who holds its consumer now. */
			v[n].pid = (uint32_t)h.pid;
			snprintf(v[n].command, sizeof(v[n].command), "%.*s",
				 (int)sizeof(v[n].command) - 1, h.comm);
		}
		/* Texts are the writer's: never trust their ends. */
		v[n].region[sizeof(v[n].region) - 1] = '\0';
		v[n].command[sizeof(v[n].command) - 1] = '\0';
		v[n].consumer[sizeof(v[n].consumer) - 1] = '\0';
		n++;
	}
	if (n == 0) {
		free(v);
		return 0;
	}
	qsort(v, (size_t)n, sizeof(*v), by_offset);
	*out = v;
	return n;
}

static void who_line(char *who, size_t len, int count, const char *consumer, int pid,
		     const char *command)
{
	if (!who || !len)
		return;
	if (count == 0)
		snprintf(who, len, "nobody");
	else if (count == 1)
		snprintf(who, len, "%s, pid %d (%s)", consumer, pid, command);
	else
		snprintf(who, len, "%s, pid %d (%s), and %d more", consumer, pid, command, count - 1);
}

int pin_ledger_count(struct daxalloc_pool *pool, char *who, size_t wholen)
{
	struct pin_ledger_rec *recs;
	int n = pin_ledger_read(pool, &recs);

	if (n < 0)
		return n;
	if (n > 0)
		who_line(who, wholen, n, recs[0].consumer, (int)recs[0].pid, recs[0].command);
	else
		who_line(who, wholen, 0, "", 0, "");
	free(recs);
	return n;
}
