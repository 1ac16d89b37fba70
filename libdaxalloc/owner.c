// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Owners: what "this process" holds of a device, across all its pool
 * handles.  A device is known by what the kernel knows it by: the device
 * number of a device-dax node (every node made for it, in any mount
 * namespace, has the same one), the inode of the stand-in's memfd.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool.h"

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
	uint8_t pad[64 - sizeof(pthread_mutex_t)];
};

struct lock_owner {
	pthread_mutex_t lease;
	uint64_t gen;		/* area generation this slot was initialized in */
	uint64_t id;		/* lease id while held, 0 when free */
	uint32_t pid;		/* as the owner sees itself: for messages only */
	uint8_t pad[128 - sizeof(pthread_mutex_t) - 20];
};

struct lock_area {
	uint64_t gen;		/* (boot << 16) | instance + 1 */
	uint64_t next_inst;
	uint64_t next_lease;
	uint8_t pad[40];
	struct lock_inst inst[LOCK_INSTANCES];
	struct lock_owner owners[LOCK_OWNERS];
};

_Static_assert(sizeof(struct lock_owner) == 128, "owner slots are 128 bytes");
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
			return 0;
		}
		k = __atomic_fetch_add(&a->next_inst, 1, __ATOMIC_ACQ_REL) % LOCK_INSTANCES;
		if (robust_init(&a->inst[k].m))
			return daxalloc_err(EIO, "%s: cannot initialize the pool lock", pool->dev->name);
		mine = boot_tag(pool) << 16 | (k + 1);
		if (__atomic_compare_exchange_n(&a->gen, &g, mine, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			g = mine;
		/* else: g holds what another published; look again */
	}
}

/* Does @dev hold something that is, or was, a pool?  Only then may we write the area. */
static bool looks_like_pool(struct daxalloc_pool *pool)
{
	const char *base = pool->mm.addr;

	/* Any header copy of either slot: a damaged one may still be repaired. */
	for (int slot = 0; slot < 2; slot++)
		for (int copy = 0; copy < 2; copy++)
			if (memcmp(base + (size_t)slot * DXA_HDR_SLOT_SIZE +
				   (size_t)copy * DXA_HDR_COPY_OFFSET,
				   DXA_MAGIC, sizeof(DXA_MAGIC)) == 0)
				return true;
	return false;
}

int owner_lock(struct daxalloc_pool *pool)
{
	int rc;

	if (!pool->lockm) {
		if (!pool->creating && !looks_like_pool(pool))
			return daxalloc_err(ENODATA,
					    "%s: holds no pool; format it with daxalloc_pool_create() or 'daxalloc-ctl format %s'",
					    pool->dev->name, pool->dev->name);
		rc = area_ready(pool);
		if (rc < 0)
			return rc;
	}
	rc = pthread_mutex_lock(pool->lockm);
	if (rc == EOWNERDEAD) {
		/* Killed mid-update: the two metadata copies keep the state whole. */
		dbg(pool->ctx, "%s: a process died holding the pool lock", pool->dev->name);
		pthread_mutex_consistent(pool->lockm);
		rc = 0;
	}
	if (rc)
		return daxalloc_err(rc, "%s: cannot take the pool lock in device memory: %s",
				    pool->dev->name, strerror(rc));
	return 0;
}

void owner_unlock(struct daxalloc_pool *pool)
{
	pthread_mutex_unlock(pool->lockm);
}

/*
 * The lease thread: locks and unlocks leases for the process, one request
 * at a time, and otherwise sleeps.  Started on first use, again in a
 * forked child that opens a pool (fork copies no thread).
 */
static pthread_mutex_t lt_call = PTHREAD_MUTEX_INITIALIZER;	/* one caller at a time */
static pthread_mutex_t lt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lt_cv = PTHREAD_COND_INITIALIZER;
static pthread_once_t lt_once = PTHREAD_ONCE_INIT;
static pid_t lt_pid;		/* the process the thread runs in */
static pthread_mutex_t *lt_mutex;	/* request: lock (lt_op 1) or unlock (2) it */
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

/* Is the slot's lease held?  (trylock: EBUSY yes; acquired or owner died: no.) */
static bool lease_held(pthread_mutex_t *m)
{
	int rc = pthread_mutex_trylock(m);

	if (rc == EBUSY)
		return true;
	if (rc == EOWNERDEAD)
		pthread_mutex_consistent(m);
	if (rc == 0 || rc == EOWNERDEAD)
		pthread_mutex_unlock(m);
	return false;
}

int owner_claim(struct daxalloc_pool *pool)
{
	struct lock_area *a = area_of(pool);
	int rc;

	for (uint32_t i = 0; i < LOCK_OWNERS; i++) {
		struct lock_owner *o = &a->owners[i];

		if (o->gen != pool->lock_gen) {
			/* Never used this boot: the bytes are anything. */
			if (robust_init(&o->lease))
				continue;
			o->id = 0;
			o->gen = pool->lock_gen;
		} else if (o->id && lease_held(&o->lease)) {
			continue;
		}
		rc = lt_request(1, &o->lease);
		if (rc < 0)
			return rc;
		o->id = __atomic_add_fetch(&a->next_lease, 1, __ATOMIC_ACQ_REL) << 16 | i;
		if (o->id == 0)
			o->id = UINT64_C(1) << 16 | i;
		o->pid = (uint32_t)getpid();
		pool->lease = o->id;
		pool->lease_slot = (int)i;
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
	o = &area_of(pool)->owners[pool->lease_slot];
	if (o->id == pool->lease) {
		o->id = 0;
		lt_request(2, &o->lease);
	}
	pool->lease_slot = -1;
	pool->lease = 0;
}

bool owner_lease_alive(struct daxalloc_pool *pool, uint64_t lease)
{
	struct lock_area *a = area_of(pool);
	struct lock_owner *o;
	uint32_t slot = (uint32_t)(lease & 0xffff);

	if (!pool->lockm || slot >= LOCK_OWNERS)
		return false;
	if (lease == pool->lease)
		return true;
	o = &a->owners[slot];
	if (__atomic_load_n(&o->gen, __ATOMIC_ACQUIRE) != pool->lock_gen ||
	    __atomic_load_n(&o->id, __ATOMIC_ACQUIRE) != lease)
		return false;
	return lease_held(&o->lease);
}
