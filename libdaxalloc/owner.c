// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Owners: what "this process" holds of a device, across all its pool
 * handles.  A device is known by what the kernel knows it by: the device
 * number of a device-dax node (every node made for it, in any mount
 * namespace, has the same one), the inode of the stand-in's memfd.
 */
#include <errno.h>
#include <stddef.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pool.h"
#include "reconfig.h"

/*
 * This process's pid without a system call on every pool lock: kept in a
 * page the kernel wipes in a child of any fork (MADV_WIPEONFORK, whatever
 * made the child: fork(), _Fork(), clone()), so a child reads 0 and asks
 * again.  Without that page, getpid() every time.
 */
static pid_t *pid_page;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void pid_page_make(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return;
	if (madvise(p, 4096, MADV_WIPEONFORK) < 0) {
		munmap(p, 4096);
		return;
	}
	pid_page = p;
}

pid_t owner_self_pid(void)
{
	pid_t pid;

	pthread_once(&pid_once, pid_page_make);
	if (!pid_page)
		return getpid();
	pid = __atomic_load_n(pid_page, __ATOMIC_RELAXED);
	if (!pid) {
		pid = getpid();
		__atomic_store_n(pid_page, pid, __ATOMIC_RELAXED);
	}
	return pid;
}

int owner_dev_key(struct daxalloc_dev *dev, struct owner_key *key)
{
	struct stat st;

	if (fstat(dev->fd, &st) < 0)
		return daxalloc_err(errno, "%s: cannot stat the device: %s", dev->name,
				    strerror(errno));
	if (S_ISCHR(st.st_mode)) {
		key->dev = 0;
		key->ino = st.st_rdev;
	} else {
		key->dev = st.st_dev;
		key->ino = st.st_ino;
	}
	return 0;
}

/* Every region this process maps through any pool handle. */
struct mapped {
	struct owner_key key;
	uint64_t offset;
	unsigned int count;
	struct mapped *next;
};

static pthread_mutex_t mapped_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapped *mapped;

static struct mapped **mapped_find(const struct owner_key *key, uint64_t offset)
{
	struct mapped **pp;

	for (pp = &mapped; *pp; pp = &(*pp)->next)
		if ((*pp)->key.dev == key->dev && (*pp)->key.ino == key->ino &&
		    (*pp)->offset == offset)
			break;
	return pp;
}

int owner_mapped_get(const struct owner_key *key, uint64_t offset)
{
	struct mapped **pp, *m;
	int rc = 0;

	pthread_mutex_lock(&mapped_lock);
	pp = mapped_find(key, offset);
	if (*pp) {
		(*pp)->count++;
	} else if ((m = calloc(1, sizeof(*m)))) {
		m->key = *key;
		m->offset = offset;
		m->count = 1;
		*pp = m;
	} else {
		rc = daxalloc_err(ENOMEM, "out of memory");
	}
	pthread_mutex_unlock(&mapped_lock);
	return rc;
}

void owner_mapped_put(const struct owner_key *key, uint64_t offset)
{
	struct mapped **pp, *m;

	pthread_mutex_lock(&mapped_lock);
	pp = mapped_find(key, offset);
	m = *pp;
	if (m && --m->count == 0) {
		*pp = m->next;
		free(m);
	}
	pthread_mutex_unlock(&mapped_lock);
}

unsigned int owner_mapped_count(const struct owner_key *key, uint64_t offset)
{
	struct mapped **pp;
	unsigned int n;

	pthread_mutex_lock(&mapped_lock);
	pp = mapped_find(key, offset);
	n = *pp ? (*pp)->count : 0;
	pthread_mutex_unlock(&mapped_lock);
	return n;
}

/*
 * Exclusion and owner identity, keyed by the device itself.
 *
 * What all users of a device share is not a file: a container reaches the
 * device through a node of its own (mknod, another inode, another mount
 * namespace), so flock() and fcntl() locks on the node exclude nothing
 * between it and the host, and /run differs too.  Pids do not name a
 * process across pid namespaces.  What every node shares is the device's
 * memory: the kernel keys a futex in a shared mapping by the device's own
 * inode and offset (device-dax points every node's file at one inode
 * mapping; the stand-in is one memfd), whichever node mapped it.  So the
 * lock and the owners' leases are robust process-shared mutexes in the
 * metadata unit (DXA_LOCK_OFFSET): the kernel itself releases a robust
 * mutex, marking it "owner died", when the thread holding it dies, in any
 * namespace.
 *
 *  - The pool lock: one robust mutex.  A process killed holding it leaves
 *    EOWNERDEAD; the two metadata copies make that safe to continue.
 *  - An owner (one pool handle) holds a lease: a robust mutex in an owner
 *    slot, locked for as long as the handle is open by a thread of the
 *    library that lives as long as the process (robust mutexes belong to
 *    threads; the caller's threads may come and go).  Unnamed regions
 *    name their owner's lease; the owner is alive exactly while a trylock
 *    of that lease fails with EBUSY.  fork() does not copy the thread:
 *    a child holds no lease of its parent's.  exec and death drop it.
 *
 * The area is live state of one boot: on persistent memory it outlives a
 * reboot, and the first bytes of a fresh device are anything.  Its
 * generation word names the boot and which of DXA_LOCK_INSTANCES mutexes
 * is the lock.  The first process of a boot initializes an instance no
 * one uses (taken with an atomic add, so racing initializers take
 * different ones) and publishes it with a compare-and-swap: a loser, even
 * one stopped for minutes, only ever wrote its own unpublished instance.
 * Owner slots carry the generation they were initialized under.
 */
#define LOCK_INSTANCES 256u
#define LOCK_OWNERS 1024u

struct lock_inst {
	pthread_mutex_t m;
	/*
	 * The handle that let the lock go last, with the state it had loaded
	 * (0: none).  Every unlock writes it; a holder that dies writes none
	 * and leaves "owner died".  A handle that finds itself named here
	 * knows nobody has held the lock since: the metadata is as it left it.
	 */
	uint64_t holder;
	uint8_t pad[64 - sizeof(pthread_mutex_t) - sizeof(uint64_t)];
};

struct lock_owner {
	pthread_mutex_t lease;
	uint64_t gen; /* area generation this slot was initialized in */
	uint64_t id;  /* lease id while held, 0 when free */
	uint32_t pid; /* as the owner sees itself: for messages only */
	uint8_t pad[128 - sizeof(pthread_mutex_t) - 20];
};

struct lock_area {
	uint64_t gen; /* (boot << 16) | instance + 1 */
	uint64_t next_inst;
	uint64_t next_lease;
	uint64_t slots_gen;  /* the generation slots_used counts in */
	uint32_t slots_used; /* 1 + the highest owner slot claimed (under the pool lock) */
	/* A reconfiguration under way (owner_close_for); 0: none. */
	uint32_t closing_pid;
	uint64_t closing_start; /* the reconfigurer's start time */
	uint64_t closing_pidns; /* and its pid namespace */
	uint32_t closing_until; /* CLOCK_REALTIME seconds it lasts at most */
	uint32_t closing_sum; /* of the above and the generation: bytes never written are no mark */
	struct lock_inst inst[LOCK_INSTANCES];
	struct lock_owner owners[LOCK_OWNERS];
};

_Static_assert(sizeof(struct lock_owner) == 128, "owner slots are 128 bytes");
_Static_assert(sizeof(struct lock_inst) == 64, "lock instances are 64 bytes");
_Static_assert(offsetof(struct lock_area, inst) == 64, "the lock area's head is 64 bytes");
_Static_assert(DXA_LOCK_OFFSET >= DXA_META_USED, "the lock area lies past the tables");
_Static_assert(DXA_LOCK_OFFSET + sizeof(struct lock_area) <= DXA_META_MIN,
	       "the lock area fits in the smallest metadata unit");

static struct lock_area *area_of(struct daxalloc_pool *pool)
{
	return (struct lock_area *)((char *)pool->mm.addr + DXA_LOCK_OFFSET);
}

static int robust_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int rc;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	rc = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return rc;
}

static uint64_t boot_tag(struct daxalloc_pool *pool)
{
	return pool->my_boot & UINT64_C(0xffffffffffff);
}

/* The pool lock of this boot, initialized by whoever comes first. */
static int area_ready(struct daxalloc_pool *pool)
{
	struct lock_area *a = area_of(pool);
	uint64_t g = __atomic_load_n(&a->gen, __ATOMIC_ACQUIRE), mine;

	for (;;) {
		uint64_t k;

		if (g >> 16 == boot_tag(pool) && (g & 0xffff) >= 1 && (g & 0xffff) <= LOCK_INSTANCES) {
			pool->lock_gen = g;
			pool->lockm = &a->inst[(g & 0xffff) - 1].m;
			pool->lock_holder = &a->inst[(g & 0xffff) - 1].holder;
			/* a name no other handle of this boot has: from the shared counter */
			do
				pool->lock_token =
					__atomic_add_fetch(&a->next_lease, 1, __ATOMIC_ACQ_REL);
			while (!pool->lock_token);
			return 0;
		}
		k = __atomic_fetch_add(&a->next_inst, 1, __ATOMIC_ACQ_REL) % LOCK_INSTANCES;
		a->inst[k].holder = 0; /* the bytes of an earlier boot name nobody */
		if (robust_init(&a->inst[k].m))
			return daxalloc_err(EIO, "%s: cannot initialize the pool lock",
					    pool->dev->name);
		mine = boot_tag(pool) << 16 | (k + 1);
		if (__atomic_compare_exchange_n(&a->gen, &g, mine, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			g = mine;
		/* else: g holds what another published; look again */
	}
}

/* Does @dev hold something that is, or was, a pool?  Only then may we write the area. */
static int looks_like_pool(struct daxalloc_pool *pool)
{
	bool unread = false;

	/* Any header copy of either slot: a damaged one may still be repaired. */
	for (int slot = 0; slot < 2; slot++)
		for (int copy = 0; copy < 2; copy++) {
			char m[sizeof(DXA_MAGIC)];

			if (meta_read(&pool->mm, dxa_hdr_offset(slot, copy), m, sizeof(m)) < 0)
				unread = true;
			else if (memcmp(m, DXA_MAGIC, sizeof(m)) == 0)
				return 1;
		}
	if (unread)
		return daxalloc_err(EIO,
				    "%s: no pool header is readable (bytes 0x0-0x%x of the device: media error), so whether it holds a pool cannot be told",
				    pool->dev->name, 2 * DXA_HDR_SLOT_SIZE - 1);
	return 0;
}

/*
 * The lock area is used in place (robust mutexes, atomics): no copy can
 * stand between it and its users.  Its head and lock instances are read
 * once, guarded, before a handle first uses them, so that poison nobody
 * listed there fails the open instead of killing the process.
 */
static int area_probe(struct daxalloc_pool *pool)
{
	const uint64_t len = offsetof(struct lock_area, owners);
	char buf[512];

	for (uint64_t at = 0; at < len; at += sizeof(buf))
		if (meta_read(&pool->mm, DXA_LOCK_OFFSET + at, buf, sizeof(buf)) < 0)
			return daxalloc_err(EIO,
					    "%s: the pool lock (bytes 0x%llx-0x%llx of the device) is unreadable (media error): the pool cannot be locked",
					    pool->dev->name, (unsigned long long)DXA_LOCK_OFFSET,
					    (unsigned long long)(DXA_LOCK_OFFSET + len - 1));
	return 0;
}

/*
 * Reconfiguration disables the device, which takes its memory from every
 * mapping, so nobody may start using a pool between its check for users
 * and the disable.  The device-memory lock cannot be held across: the
 * reconfigurer must unmap it too.  So it leaves a mark under the lock,
 * then checks for users again, then disables; a pool user that takes the
 * lock and finds the mark of a live reconfigurer backs off with -EBUSY.
 * Live: its pid runs with the start time it had (looked up where its pid
 * namespace is ours), else until the mark's deadline.
 */
static uint32_t closing_sum(struct daxalloc_pool *pool, uint32_t pid)
{
	struct lock_area *a = area_of(pool);
	uint64_t v[5] = { pid, a->closing_start, a->closing_pidns, a->closing_until, pool->lock_gen };

	return daxalloc_crc32c(0x6d61726b, v, sizeof(v));
}

static bool closing_live(struct daxalloc_pool *pool, bool *mine)
{
	struct lock_area *a = area_of(pool);
	uint32_t pid = __atomic_load_n(&a->closing_pid, __ATOMIC_ACQUIRE);
	uint64_t start;

	*mine = false;
	if (!pid || (uint64_t)time(NULL) >= a->closing_until ||
	    a->closing_sum != closing_sum(pool, pid))
		return false;
	if (pid == (uint32_t)getpid() && a->closing_start == pool->my_start) {
		*mine = true;
		return true;
	}
	if (procfs_self_pidns() == a->closing_pidns && a->closing_pidns)
		return procfs_pid_starttime((int)pid, &start) == 0 && start == a->closing_start;
	return true;
}

void owner_close_for(struct daxalloc_pool *pool, unsigned int seconds)
{
	struct lock_area *a = area_of(pool);

	a->closing_start = pool->my_start;
	a->closing_pidns = procfs_self_pidns();
	a->closing_until = (uint32_t)((uint64_t)time(NULL) + seconds);
	a->closing_sum = closing_sum(pool, (uint32_t)getpid());
	__atomic_store_n(&a->closing_pid, (uint32_t)getpid(), __ATOMIC_RELEASE);
}

void owner_reopen(struct daxalloc_pool *pool)
{
	bool mine;

	if (closing_live(pool, &mine) && mine)
		__atomic_store_n(&area_of(pool)->closing_pid, 0, __ATOMIC_RELEASE);
}

int owner_lock(struct daxalloc_pool *pool)
{
	bool mine;
	int rc;

	if (!pool->lockm) {
		rc = pool->creating ? 1 : looks_like_pool(pool);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return daxalloc_err(ENODATA,
					    "%s: holds no pool; format it with daxalloc_pool_create() or 'daxalloc-ctl format %s'",
					    pool->dev->name, pool->dev->name);
		rc = area_probe(pool);
		if (rc < 0)
			return rc;
		rc = area_ready(pool);
		if (rc < 0)
			return rc;
	}
	rc = pthread_mutex_lock(pool->lockm);
	pool->lock_unchanged =
		rc == 0 && __atomic_load_n(pool->lock_holder, __ATOMIC_RELAXED) == pool->lock_token;
	if (rc == EOWNERDEAD) {
		/* Killed mid-update: the two metadata copies keep the state whole. */
		dbg(pool->ctx, "%s: a process died holding the pool lock", pool->dev->name);
		pthread_mutex_consistent(pool->lockm);
		rc = 0;
	}
	if (rc)
		return daxalloc_err(rc, "%s: cannot take the pool lock in device memory: %s",
				    pool->dev->name, strerror(rc));
	if (closing_live(pool, &mine) && !mine) {
		uint32_t pid = area_of(pool)->closing_pid;

		pthread_mutex_unlock(pool->lockm);
		return daxalloc_err(EBUSY,
				    "%s: pid %u is reconfiguring it (disabling it takes its memory away); try again once that is done",
				    pool->dev->name, pid);
	}
	return 0;
}

void owner_unlock(struct daxalloc_pool *pool)
{
	/* Named only with the state loaded in this hold: else the next hold loads. */
	__atomic_store_n(pool->lock_holder,
			 pool->synced && pool->active >= 0 ? pool->lock_token : 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(pool->lockm);
}

/*
 * The lease thread: locks and unlocks leases for the process, one request
 * at a time, and otherwise sleeps.  Started on first use, again in a
 * forked child that opens a pool (fork copies no thread).
 */
static pthread_mutex_t lt_call = PTHREAD_MUTEX_INITIALIZER; /* one caller at a time */
static pthread_mutex_t lt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lt_cv = PTHREAD_COND_INITIALIZER;
static pthread_once_t lt_once = PTHREAD_ONCE_INIT;
static pid_t lt_pid;              /* the process the thread runs in */
static pthread_mutex_t *lt_mutex; /* request: lock (lt_op 1) or unlock (2) it */
static int lt_op, lt_rc;

static void *lease_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lt_lock);
	for (;;) {
		while (!lt_op)
			pthread_cond_wait(&lt_cv, &lt_lock);
		if (lt_op == 1) {
			lt_rc = pthread_mutex_lock(lt_mutex);
			if (lt_rc == EOWNERDEAD)
				lt_rc = pthread_mutex_consistent(lt_mutex);
		} else {
			lt_rc = pthread_mutex_unlock(lt_mutex);
		}
		lt_op = 0;
		pthread_cond_broadcast(&lt_cv);
	}
	return NULL;
}

static void lt_prepare(void)
{
	pthread_mutex_lock(&lt_call);
}

static void lt_parent(void)
{
	pthread_mutex_unlock(&lt_call);
}

static void lt_child(void)
{
	pthread_mutex_init(&lt_call, NULL);
	pthread_mutex_init(&lt_lock, NULL);
	pthread_cond_init(&lt_cv, NULL);
	lt_op = 0;
}

static void lt_atfork(void)
{
	pthread_atfork(lt_prepare, lt_parent, lt_child);
}

static int lt_request(int op, pthread_mutex_t *m)
{
	int rc;

	pthread_once(&lt_once, lt_atfork);
	pthread_mutex_lock(&lt_call);
	if (lt_pid != getpid()) {
		sigset_t all, old;
		pthread_attr_t at;
		pthread_t t;

		/* No signal is ever delivered to it: the caller's handlers stay the caller's. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&at, 64 * 1024);
		rc = pthread_create(&t, &at, lease_thread, NULL);
		pthread_attr_destroy(&at);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc) {
			pthread_mutex_unlock(&lt_call);
			return daxalloc_err(rc, "cannot start the thread that holds pool leases: %s",
					    strerror(rc));
		}
		lt_pid = getpid();
	}
	pthread_mutex_lock(&lt_lock);
	lt_mutex = m;
	lt_op = op;
	pthread_cond_broadcast(&lt_cv);
	while (lt_op)
		pthread_cond_wait(&lt_cv, &lt_lock);
	rc = lt_rc;
	pthread_mutex_unlock(&lt_lock);
	pthread_mutex_unlock(&lt_call);
	return rc ? daxalloc_err(rc, "cannot take a pool lease: %s", strerror(rc)) : 0;
}

/*
 * Is the slot's lease held?  Read, never taken: the futex word of a robust
 * mutex holds its owner's thread id, and the kernel sets FUTEX_OWNER_DIED
 * in it when that thread dies.  (Probing with trylock would hold a dead
 * lease for a moment, and another prober would see it held by a live one.)
 */
static bool lease_held(pthread_mutex_t *m)
{
	uint32_t w = __atomic_load_n((uint32_t *)&m->__data.__lock, __ATOMIC_ACQUIRE);

	return (w & FUTEX_TID_MASK) != 0 && !(w & FUTEX_OWNER_DIED);
}

static bool slot_readable(struct daxalloc_pool *pool, uint32_t i);
void (*owner_test_claimed)(struct daxalloc_pool *pool);

int owner_claim(struct daxalloc_pool *pool)
{
	struct lock_area *a = area_of(pool);
	uint64_t id;
	int rc;

	for (uint32_t i = 0; i < LOCK_OWNERS; i++) {
		struct lock_owner *o = &a->owners[i];

		if (!slot_readable(pool, i)) {
			info(pool->ctx, "%s: lease slot %u is unreadable (media error): skipped",
			     pool->dev->name, i);
			continue;
		}
		if (o->gen != pool->lock_gen) {
			/* Never used this boot: the bytes are anything. */
			if (robust_init(&o->lease))
				continue;
			o->id = 0;
			o->gen = pool->lock_gen;
		} else if (lease_held(&o->lease)) {
			continue; /* its owner's, or a claim under way in a dying process */
		}
		/*
		 * The dead owner is forgotten before its lease is taken: the
		 * threads of a process killed here end one by one, the pool
		 * lock free before this lease, and for that moment a held
		 * lease over the dead owner's id and mappings would make them
		 * look alive.  An id of 0 is nobody's.
		 */
		__atomic_store_n(&o->id, 0, __ATOMIC_RELEASE);
		owner_maps_reset(pool, i);
		rc = lt_request(1, &o->lease);
		if (rc < 0)
			return rc;
		if (owner_test_claimed)
			owner_test_claimed(pool);
		o->pid = (uint32_t)getpid();
		id = __atomic_add_fetch(&a->next_lease, 1, __ATOMIC_ACQ_REL) << 16 | i;
		if (id == 0)
			id = UINT64_C(1) << 16 | i;
		__atomic_store_n(&o->id, id, __ATOMIC_RELEASE);
		pool->lease = id;
		pool->lease_slot = (int)i;
		if (a->slots_gen != pool->lock_gen) {
			a->slots_gen = pool->lock_gen;
			a->slots_used = 0;
		}
		if (a->slots_used < i + 1)
			a->slots_used = i + 1;
		owner_maps_claim(pool);
		return 0;
	}
	return daxalloc_err(EUSERS, "%s: %u pool handles are open on this device, the most it serves",
			    pool->dev->name, LOCK_OWNERS);
}

void owner_release(struct daxalloc_pool *pool)
{
	struct lock_owner *o;

	if (pool->lease_slot < 0)
		return;
	owner_maps_release(pool);
	o = &area_of(pool)->owners[pool->lease_slot];
	/* A pin it could not undo may still reach the memory: its record and regions stay this process's. */
	if (o->id == pool->lease && !pool->pins_stuck) {
		o->id = 0;
		lt_request(2, &o->lease);
	}
	pool->lease_slot = -1;
	pool->lease = 0;
}

bool owner_lease_alive(struct daxalloc_pool *pool, uint64_t lease)
{
	struct lock_area *a = area_of(pool);
	struct lock_owner o;
	uint32_t slot = (uint32_t)(lease & 0xffff);

	if (!pool->lockm || slot >= LOCK_OWNERS)
		return false;
	if (lease == pool->lease)
		return true;
	/* Read through a guarded copy: an unreadable lease may be held (fail closed). */
	if (meta_read(&pool->mm, (uint64_t)((char *)&a->owners[slot] - (char *)pool->mm.addr), &o,
		      sizeof(o)) < 0)
		return true;
	if (o.gen != pool->lock_gen || o.id != lease)
		return false;
	return lease_held(&o.lease);
}

/*
 * Mapping records: which regions each owner maps, kept in device memory
 * beside its lease, so that a free refused because another process maps
 * the region costs a look at the live leases, not a read of every
 * /proc/PID/maps on the machine (which also sees only the caller's pid
 * namespace).  Slot i records what the handle holding lease slot i maps.
 *
 * An entry is the region's device offset with flag bits: MAP_LIVE while
 * its owner maps it, MAP_FORKED once the owner forked with it mapped (a
 * child may map it still, whatever becomes of the owner).  Only where
 * the records cannot tell is /proc read: entries of a dead owner (the
 * kernel may not have torn its mappings down yet), forked entries, and
 * owners with more mappings than entries (overflow).  Entries are added
 * under the pool lock, before the mapping exists, so a free, which looks
 * under the same lock, never misses one; any process may clear an entry
 * /proc shows to be stale (compare-and-swap).
 */
#define MAPS_OFFSET (DXA_LOCK_OFFSET + (UINT64_C(160) << 10))
#define MAPS_PER_OWNER 29u
#define MAP_LIVE UINT64_C(1)
#define MAP_FORKED UINT64_C(2)
#define MAP_FLAGS (MAP_LIVE | MAP_FORKED)

struct owner_maps {
	uint64_t gen;      /* the lock generation the records belong to */
	uint64_t overflow; /* live mappings not recorded */
	uint64_t sticky;   /* forked with unrecorded mappings: look in /proc */
	uint64_t off[MAPS_PER_OWNER];
};

_Static_assert(sizeof(struct owner_maps) == 256, "mapping records are 256 bytes a slot");
_Static_assert(MAPS_OFFSET >= DXA_LOCK_OFFSET + sizeof(struct lock_area),
	       "the mapping records lie past the lock area");
_Static_assert(MAPS_OFFSET + LOCK_OWNERS * sizeof(struct owner_maps) <=
		       DXA_LOCK_OFFSET + (UINT64_C(416) << 10),
	       "the mapping records end where the pin ledger's space begins");

static struct owner_maps *maps_of(struct daxalloc_pool *pool, uint32_t slot)
{
	return (struct owner_maps *)((char *)pool->mm.addr + MAPS_OFFSET) + slot;
}

/* Can lease slot @i and its mapping records be read (no media error)?  Never claim one that cannot. */
static bool slot_readable(struct daxalloc_pool *pool, uint32_t i)
{
	uint64_t o =
		DXA_LOCK_OFFSET + offsetof(struct lock_area, owners) + i * sizeof(struct lock_owner);
	uint64_t m = (uint64_t)((char *)maps_of(pool, i) - (char *)pool->mm.addr);
	char buf[sizeof(struct owner_maps)];

	return meta_read(&pool->mm, o, buf, sizeof(struct lock_owner)) == 0 &&
	       meta_read(&pool->mm, m, buf, sizeof(struct owner_maps)) == 0;
}

/* The slots this process holds leases in, to skip its own and to mark them at fork. */
static pthread_mutex_t mine_lock = PTHREAD_MUTEX_INITIALIZER;
static struct owner_maps *mine[64];
static unsigned int nmine;

static void mine_add(struct owner_maps *m)
{
	pthread_mutex_lock(&mine_lock);
	if (nmine < sizeof(mine) / sizeof(mine[0]))
		mine[nmine++] = m;
	pthread_mutex_unlock(&mine_lock);
}

static void mine_del(struct owner_maps *m)
{
	pthread_mutex_lock(&mine_lock);
	for (unsigned int i = 0; i < nmine; i++)
		if (mine[i] == m) {
			mine[i] = mine[--nmine];
			break;
		}
	pthread_mutex_unlock(&mine_lock);
}

/* fork(): what the parent maps now, a child may map until it exits or execs. */
static void maps_forking(void)
{
	pthread_mutex_lock(&mine_lock);
	for (unsigned int i = 0; i < nmine; i++) {
		struct owner_maps *m = mine[i];

		for (uint32_t k = 0; k < MAPS_PER_OWNER; k++)
			if (__atomic_load_n(&m->off[k], __ATOMIC_ACQUIRE) & MAP_LIVE)
				__atomic_fetch_or(&m->off[k], MAP_FORKED, __ATOMIC_ACQ_REL);
		if (__atomic_load_n(&m->overflow, __ATOMIC_ACQUIRE))
			__atomic_store_n(&m->sticky, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&mine_lock);
}

static void maps_forked_child(void)
{
	/* The parent's slots are not the child's. */
	pthread_mutex_init(&mine_lock, NULL);
	nmine = 0;
}

static pthread_once_t maps_once = PTHREAD_ONCE_INIT;

static void maps_atfork(void)
{
	pthread_atfork(maps_forking, NULL, maps_forked_child);
}

static bool is_mine(const struct owner_maps *m)
{
	bool yes = false;

	pthread_mutex_lock(&mine_lock);
	for (unsigned int i = 0; i < nmine && !yes; i++)
		yes = mine[i] == m;
	pthread_mutex_unlock(&mine_lock);
	return yes;
}

/* A slot about to be claimed: forget its last owner's entries, but not what children may map. */
void owner_maps_reset(struct daxalloc_pool *pool, uint32_t slot)
{
	struct owner_maps *m = maps_of(pool, slot);

	if (m->gen != pool->lock_gen) {
		memset(m, 0, sizeof(*m)); /* another boot's, or anything */
		m->gen = pool->lock_gen;
	} else {
		/* What a dead owner's children may map stays, as theirs. */
		for (uint32_t k = 0; k < MAPS_PER_OWNER; k++)
			m->off[k] = m->off[k] & MAP_FORKED ? m->off[k] & ~MAP_LIVE : 0;
		m->overflow = 0;
	}
}

/* A claimed slot's records are this process's own from now on. */
void owner_maps_claim(struct daxalloc_pool *pool)
{
	pthread_once(&maps_once, maps_atfork);
	mine_add(maps_of(pool, (uint32_t)pool->lease_slot));
}

void owner_maps_release(struct daxalloc_pool *pool)
{
	if (pool->lease_slot >= 0)
		mine_del(maps_of(pool, (uint32_t)pool->lease_slot));
}

/* Record that this handle maps the region at @offset (pool lock held). */
void owner_maps_add(struct daxalloc_pool *pool, uint64_t offset)
{
	struct owner_maps *m;

	if (pool->lease_slot < 0)
		return;
	m = maps_of(pool, (uint32_t)pool->lease_slot);
	for (uint32_t k = 0; k < MAPS_PER_OWNER; k++) {
		uint64_t empty = 0;

		if (__atomic_compare_exchange_n(&m->off[k], &empty, offset | MAP_LIVE, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return;
	}
	__atomic_add_fetch(&m->overflow, 1, __ATOMIC_ACQ_REL);
}

/* This handle no longer maps the region at @offset (after munmap). */
void owner_maps_del(struct daxalloc_pool *pool, uint64_t offset)
{
	struct owner_maps *m;

	if (pool->lease_slot < 0 || pool_is_inherited(pool))
		return;
	m = maps_of(pool, (uint32_t)pool->lease_slot);
	for (uint32_t k = 0; k < MAPS_PER_OWNER; k++) {
		uint64_t want = offset | MAP_LIVE, v = __atomic_load_n(&m->off[k], __ATOMIC_ACQUIRE);

		if ((v & ~MAP_FLAGS) != offset || !(v & MAP_LIVE))
			continue;
		/* Forked: a child may map it still; leave it to /proc to say when not. */
		if (v & MAP_FORKED)
			__atomic_compare_exchange_n(&m->off[k], &v, (v & ~MAP_LIVE), false,
						    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		else
			__atomic_compare_exchange_n(&m->off[k], &want, 0, false, __ATOMIC_ACQ_REL,
						    __ATOMIC_ACQUIRE);
		return;
	}
	if (__atomic_load_n(&m->overflow, __ATOMIC_ACQUIRE))
		__atomic_sub_fetch(&m->overflow, 1, __ATOMIC_ACQ_REL);
}

/* Clear the entries in [offset, +length) that no process can be mapping any more. */
static void maps_forget(struct daxalloc_pool *pool, uint32_t upto, uint64_t offset, uint64_t length)
{
	struct lock_area *a = area_of(pool);

	for (uint32_t i = 0; i < upto; i++) {
		struct owner_maps *m = maps_of(pool, i);
		bool alive = a->owners[i].id && lease_held(&a->owners[i].lease);

		for (uint32_t k = 0; k < MAPS_PER_OWNER; k++) {
			uint64_t v = __atomic_load_n(&m->off[k], __ATOMIC_ACQUIRE);

			if (v && (v & ~MAP_FLAGS) >= offset && (v & ~MAP_FLAGS) < offset + length &&
			    (!(v & MAP_LIVE) || !alive))
				__atomic_compare_exchange_n(&m->off[k], &v, 0, false,
							    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		}
	}
}

/*
 * Does another process map [offset, +length)?  (Pool lock held.)  1 with
 * @h naming it, 0 no, or -errno.  From the records; /proc only where they
 * cannot tell (see above).
 */
int owner_find_mapper(struct daxalloc_pool *pool, uint64_t offset, uint64_t length, struct holder *h)
{
	struct lock_area *a = area_of(pool);
	uint32_t upto;
	bool ask_proc = false;
	int n;

	memset(h, 0, sizeof(*h));
	if (!pool->lockm)
		return holders_find_mapper(pool->dev->fd, offset, length, h);
	upto = a->slots_gen == pool->lock_gen ? a->slots_used : LOCK_OWNERS;
	if (upto > LOCK_OWNERS)
		upto = LOCK_OWNERS;
	for (uint32_t i = 0; i < upto; i++) {
		struct lock_owner *o = &a->owners[i];
		struct owner_maps *m = maps_of(pool, i);
		bool live_hit = false, other_hit = false, alive, own;

		if (__atomic_load_n(&m->gen, __ATOMIC_ACQUIRE) != pool->lock_gen)
			continue;
		for (uint32_t k = 0; k < MAPS_PER_OWNER; k++) {
			uint64_t v = __atomic_load_n(&m->off[k], __ATOMIC_ACQUIRE);

			if (v && (v & ~MAP_FLAGS) >= offset && (v & ~MAP_FLAGS) < offset + length) {
				live_hit |= !!(v & MAP_LIVE);
				other_hit |= !!(v & MAP_FORKED);
			}
		}
		if (__atomic_load_n(&m->sticky, __ATOMIC_ACQUIRE))
			other_hit = true;
		own = (live_hit || other_hit) && is_mine(m);
		/* This process's own mappings are its caller's to count (owner_mapped_count). */
		if (own)
			live_hit = false;
		else if (__atomic_load_n(&m->overflow, __ATOMIC_ACQUIRE))
			other_hit = true; /* its mappings are not all recorded */
		if (!live_hit && !other_hit)
			continue;
		alive = __atomic_load_n(&o->id, __ATOMIC_ACQUIRE) &&
			__atomic_load_n(&o->gen, __ATOMIC_ACQUIRE) == pool->lock_gen &&
			lease_held(&o->lease);
		if (alive && live_hit) {
			h->pid = (int)o->pid;
			h->what = HOLDER_MAPPED;
			snprintf(h->comm, sizeof(h->comm), "holding the pool open");
			return 1;
		}
		/* Dying, forked, overflowed: the kernel knows, in this pid namespace. */
		ask_proc = true;
	}
	if (!ask_proc)
		return 0;
	n = holders_find_mapper(pool->dev->fd, offset, length, h);
	if (n == 0)
		maps_forget(pool, upto, offset, length);
	return n;
}
