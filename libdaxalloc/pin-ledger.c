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
	uint64_t gen;		/* the lock generation the records belong to */
	uint32_t used;		/* 1 + the highest record taken in that generation */
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

/* Records of another boot, or bytes never written: nothing in use. */
static uint32_t ledger_used(struct daxalloc_pool *pool)
{
	struct ledger_head *h = &ledger_of(pool)->head;
	uint32_t used;

	if (__atomic_load_n(&h->gen, __ATOMIC_ACQUIRE) != pool->lock_gen)
		return 0;
	used = __atomic_load_n(&h->used, __ATOMIC_ACQUIRE);
	return used > LEDGER_RECS ? LEDGER_RECS : used;
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
static bool rec_live(struct daxalloc_pool *pool, const struct pin_ledger_rec *r,
		     struct holder *h)
{
	struct holder ignored;
	uint64_t ns;

	if (!h)
		h = &ignored;
	memset(h, 0, sizeof(*h));
	if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) != PIN_REC_LIVE ||
	    r->gen != pool->lock_gen)
		return false;
	if (owner_lease_alive(pool, r->lease))
		return true;
	if (!(__atomic_load_n(&r->flags, __ATOMIC_ACQUIRE) & PIN_REC_FORKED))
		return false;
	ns = procfs_self_pidns();
	if (!ns || ns != r->pidns)
		return true;	/* its children are out of sight: fail closed */
	return holders_find_file(r->cons_dev, r->cons_ino, h) != 0;
}

int pin_ledger_add(struct daxalloc_pool *pool, struct pin_ledger_rec *rec,
		   struct pin_ledger_rec **where)
{
	struct ledger *l = ledger_of(pool);
	uint32_t used = ledger_used(pool), i;

	if (!pool->lockm || !pool->lease)
		return daxalloc_err(EIO, "%s: the pool handle holds no lease to record a pin under",
				    pool->dev->name);
	for (i = 0; i < used && rec_live(pool, &l->rec[i], NULL); i++)
		;
	if (i == LEDGER_RECS)
		return daxalloc_err(ENOSPC, "%s: %u pins are recorded on this device, the most its ledger holds",
				    pool->dev->name, LEDGER_RECS);
	rec->gen = pool->lock_gen;
	rec->lease = pool->lease;
	rec->state = 0;
	memcpy(&l->rec[i], rec, sizeof(*rec));
	__atomic_store_n(&l->rec[i].state, PIN_REC_LIVE, __ATOMIC_RELEASE);
	if (i >= used) {
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
	uint32_t used = ledger_used(pool);
	struct pin_ledger_rec *v;
	int n = 0;

	*out = NULL;
	if (!pool->lockm || used == 0)
		return 0;
	v = calloc(used, sizeof(*v));
	if (!v)
		return daxalloc_err(ENOMEM, "out of memory");
	for (uint32_t i = 0; i < used; i++) {
		uint32_t live = PIN_REC_LIVE;
		struct holder h;

		if (__atomic_load_n(&l->rec[i].state, __ATOMIC_ACQUIRE) != PIN_REC_LIVE)
			continue;
		if (!rec_live(pool, &l->rec[i], &h)) {
			/* Dead for good: a later holder of a like file must not revive it. */
			__atomic_compare_exchange_n(&l->rec[i].state, &live, 0, false,
						    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
			continue;
		}
		v[n] = l->rec[i];
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
		snprintf(who, len, "%s, pid %d (%s), and %d more", consumer, pid, command,
			 count - 1);
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
