// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pins: the checks every consumer shares (range, consumer, RLIMIT_MEMLOCK),
 * the list of this process's pins, and the ledger glue that lets other
 * processes see them and refuses to free what is pinned.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pin.h"

#define KNOWN_FLAGS (DAXALLOC_PIN_READONLY | DAXALLOC_PIN_IOVA_AUTO | DAXALLOC_PIN_URING_SLOTS)

static pthread_mutex_t pins_lock = PTHREAD_MUTEX_INITIALIZER;
static struct daxalloc_pin *pins; /* every live pin of this process */
static atomic_uint_fast64_t next_id = 1;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/*
 * fork(): the child holds every consumer fd the parent holds, and with it
 * the kernel's pins.  Mark this process's records, so that they outlive
 * its lease while a process may still hold such a consumer.
 */
static void pins_forking(void)
{
	pthread_mutex_lock(&pins_lock);
	for (struct daxalloc_pin *p = pins; p; p = p->next)
		if (p->rec && p->pid == getpid())
			pin_ledger_forking(p->rec, p->lease, p->id);
	pthread_mutex_unlock(&pins_lock);
}

static void pins_atfork(void)
{
	pthread_atfork(pins_forking, NULL, NULL);
}

/* The consumers by kind; names known also where a back end is not built in. */
#ifdef DAXALLOC_HAVE_RDMA
#define RDMA_BACK_END (&pin_rdma_back_end)
#else
#define RDMA_BACK_END NULL
#endif
/* clang-format off */
static const struct pin_ops kinds[] = {
	[DAXALLOC_PIN_VFIO] =    { "vfio",     "VmLck", true,  true,  &pin_vfio_back_end },
	[DAXALLOC_PIN_IOMMUFD] = { "iommufd",  "VmPin", false, false, &pin_iommufd_back_end },
	[DAXALLOC_PIN_RDMA] =    { "rdma",     "VmPin", true,  false, RDMA_BACK_END },
	[DAXALLOC_PIN_URING] =   { "io_uring", "VmPin", false, false, &pin_uring_back_end },
};
/* clang-format on */

static const struct pin_ops *kind_ops(enum daxalloc_pin_kind kind)
{
	if ((unsigned int)kind >= sizeof(kinds) / sizeof(kinds[0]) || !kinds[kind].name)
		return NULL;
	return &kinds[kind];
}

/* The back end of @kind; NULL: unknown, or not built in. */
static const struct pin_ops *ops_for(enum daxalloc_pin_kind kind)
{
	const struct pin_ops *ops = kind_ops(kind);

	return ops && ops->back_end ? ops : NULL;
}

DAXALLOC_EXPORT const char *daxalloc_pin_kind_name(enum daxalloc_pin_kind kind)
{
	const struct pin_ops *ops = kind_ops(kind);

	return ops ? ops->name : "unknown";
}

int pin_check_fd(struct daxalloc_pin *p, int fd, const char *what)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return daxalloc_err(EBADF, "%s: %s fd %d is not an open file descriptor",
				    pin_devname(p), what, fd);
	p->cons_dev = (uint64_t)st.st_dev;
	p->cons_ino = (uint64_t)st.st_ino;
	return 0;
}

int pin_dup_fd(struct daxalloc_pin *p, int fd, const char *what)
{
	p->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (p->fd < 0)
		return daxalloc_err(errno, "%s: cannot duplicate %s fd %d: %s", pin_devname(p),
				    what, fd, strerror(errno));
	return 0;
}

static void pin_free(struct daxalloc_pin *p)
{
	if (p->fd >= 0)
		close(p->fd);
	dev_put(p->dev);
	free(p);
}

static int check_range(struct daxalloc_region *r, uint64_t offset, uint64_t length)
{
	const char *dev = r->pool->dev->name;
	uint64_t align = r->pool->dev->align;
	char a[32];

	daxalloc_size_format(align, a, sizeof(a));
	if (length == 0)
		return daxalloc_err(EINVAL, "%s: pin length 0: a pin covers at least one %s page",
				    dev, a);
	if (offset % align)
		return daxalloc_err(EINVAL,
				    "%s: pin offset 0x%llx is not a multiple of the device alignment %s",
				    dev, (unsigned long long)offset, a);
	if (length % align)
		return daxalloc_err(EINVAL,
				    "%s: pin length 0x%llx is not a multiple of the device alignment %s",
				    dev, (unsigned long long)length, a);
	return region_inside(r, offset, length, dev, "pin range ");
}

static bool has_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK);
}

/* Is this pin charged against RLIMIT_MEMLOCK?  Sets *limit to the limit. */
static bool memlock_applies(const struct daxalloc_pin *p, uint64_t *limit)
{
	struct rlimit rl;

	if (p->ops->devdax_uncharged && p->dev->type == DAXALLOC_DEV_DEVDAX)
		return false;
	if (has_cap_ipc_lock())
		return false;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return false;
	*limit = rl.rlim_cur;
	return true;
}

/* The words for a pin over RLIMIT_MEMLOCK; @kernel: the kernel said so. */
static int memlock_refusal(const struct daxalloc_pin *p, uint64_t limit, bool kernel)
{
	uint64_t have = 0;
	char l[32], h[32];

	procfs_self_status_bytes(p->ops->charged_as, &have);
	daxalloc_size_format(p->length, l, sizeof(l));
	daxalloc_size_format(have, h, sizeof(h));
	return daxalloc_err(ENOMEM,
			    "%s: %spinning %s for %s needs RLIMIT_MEMLOCK of at least %llu bytes (%s already pinned by this process%s), the limit is %llu; "
			    "raise it (ulimit -l, LimitMEMLOCK=) or grant CAP_IPC_LOCK",
			    pin_devname(p), kernel ? "the kernel refused (ENOMEM): " : "", l,
			    p->ops->name, (unsigned long long)(have + p->length), h,
			    p->ops->limit_on_counter ?
				    "" :
				    ", and the kernel counts what every process of this user has pinned this way",
			    (unsigned long long)limit);
}

/* Could the pin be over @limit?  Unknown (a per-user count) counts as yes. */
static bool over_limit(const struct daxalloc_pin *p, uint64_t limit)
{
	uint64_t have = 0;

	if (!p->ops->limit_on_counter)
		return true;
	procfs_self_status_bytes(p->ops->charged_as, &have);
	return have + p->length > limit;
}

/*
 * Refuse up front only what the kernel would refuse: pins it charges,
 * checked on a counter the library can read.  The kernel's own refusal
 * is a bare ENOMEM; daxalloc_pin() explains it afterwards.
 */
static int check_memlock(struct daxalloc_pin *p)
{
	uint64_t limit;

	if (!p->ops->limit_on_counter || !memlock_applies(p, &limit) || !over_limit(p, limit))
		return 0;
	return memlock_refusal(p, limit, false);
}

static int ledger_record(struct daxalloc_pin *p)
{
	struct daxalloc_region *r = p->region;
	struct pin_ledger_rec rec = { 0 };

	rec.pid = (uint32_t)p->pid;
	rec.id = p->id;
	rec.since = (uint64_t)p->since;
	rec.offset = r->offset + p->offset;
	rec.length = p->length;
	rec.region_offset = r->offset;
	rec.region_length = r->length;
	rec.kind = (uint32_t)p->target.kind;
	rec.cons_dev = p->cons_dev;
	rec.cons_ino = p->cons_ino;
	rec.pidns = procfs_self_pidns();
	if (r->named)
		snprintf(rec.region, sizeof(rec.region), "%s", r->name);
	prctl(PR_GET_NAME, rec.command);
	rec.command[sizeof(rec.command) - 1] = '\0';
	snprintf(rec.consumer, sizeof(rec.consumer), "%.*s", (int)sizeof(rec.consumer) - 1,
		 p->consumer);
	p->lease = r->pool->lease;
	return pin_ledger_add(r->pool, &rec, &p->rec);
}

static void ledger_forget(struct daxalloc_pin *p)
{
	if (!p->rec)
		return;
	pin_ledger_remove(p->rec, p->lease, p->id);
	p->rec = NULL;
}

/* Exported through versions.c: 0.1's target had no size (compat-0.1.c). */
int daxalloc_pin(struct daxalloc_region *region, uint64_t offset, uint64_t length,
		 const struct daxalloc_pin_target *target, struct daxalloc_pin **out)
{
	API_CALL(region_ctx(region));
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT };
	struct daxalloc_pin *p;
	char before[sizeof(p->consumer)];
	uint64_t t0;
	int rc;

	if (!out)
		return daxalloc_err(EINVAL, "daxalloc_pin: NULL out-pointer");
	*out = NULL;
	if (!region || !target)
		return daxalloc_err(EINVAL, "daxalloc_pin: NULL %s", region ? "target" : "region");
	rc = SIZED(target, pin_target);
	if (rc < 0)
		return rc;
	memcpy(&t, target, (size_t)rc);
	target = &t;
	if (!region->pool)
		return daxalloc_err(EINVAL, "daxalloc_pin: the region's pool was closed");
	if (target->flags & ~KNOWN_FLAGS)
		return daxalloc_err(EINVAL, "daxalloc_pin: unknown flags 0x%x",
				    target->flags & ~KNOWN_FLAGS);
	rc = check_range(region, offset, length);
	if (rc < 0)
		return rc;
	if (!ops_for(target->kind)) {
		if (target->kind == DAXALLOC_PIN_RDMA)
			return daxalloc_err(EOPNOTSUPP,
					    "%s: RDMA pin: libdaxalloc was built without RDMA support (libibverbs missing at build time)",
					    region->pool->dev->name);
		return daxalloc_err(EINVAL, "daxalloc_pin: unknown consumer kind %d",
				    (int)target->kind);
	}
	pthread_once(&fork_once, pins_atfork);
	p = calloc(1, sizeof(*p));
	if (!p)
		return daxalloc_err(ENOMEM, "out of memory");
	p->region = region;
	p->dev = dev_get(region->pool->dev);
	p->fd = -1;
	p->region_offset = region->offset;
	if (region->named)
		snprintf(p->region_name, sizeof(p->region_name), "%s", region->name);
	p->ops = ops_for(target->kind);
	p->target = *target;
	p->offset = offset;
	p->length = length;
	p->addr = (char *)daxalloc_region_get_address(region) + offset;
	p->pid = getpid();
	p->id = atomic_fetch_add(&next_id, 1);
	p->rec = NULL;
	p->iova = UINT64_MAX;
	p->uring_first = -1;
	p->since = time(NULL);
	snprintf(p->consumer, sizeof(p->consumer), "%s", p->ops->name);

	/*
	 * A region freed through another handle is still mapped here, but its
	 * memory may be another region's now: check that first, under the pool
	 * lock, and record the pin under it before the kernel pins, so a
	 * concurrent free (which reads the ledger under that lock) never
	 * misses it.
	 */
	rc = region_lock_live(region);
	if (rc == 0) {
		rc = p->ops->back_end->check(p);
		if (rc == 0)
			rc = check_memlock(p);
		if (rc == 0)
			rc = ledger_record(p);
		pool_unlock(region->pool);
	}
	if (rc < 0) {
		pin_free(p);
		return rc;
	}
	snprintf(before, sizeof(before), "%s", p->consumer);
	t0 = mono_ns();
	rc = p->ops->back_end->pin(p);
	p->pin_ns = mono_ns() - t0;
	if (rc < 0) {
		char msg[512];
		uint64_t limit;

		if (rc == -ENOMEM && memlock_applies(p, &limit) && over_limit(p, limit))
			memlock_refusal(p, limit, true);
		snprintf(msg, sizeof(msg), "%s", daxalloc_errmsg());
		ledger_forget(p);
		pin_free(p);
		return daxalloc_err(-rc, "%s", msg);
	}
	/* The kernel's answer (IOVA, keys) makes the record more useful. */
	if (p->rec && strcmp(before, p->consumer) != 0 && pool_lock(region->pool) == 0) {
		pin_ledger_set_consumer(p->rec, p->lease, p->id, p->consumer);
		pool_unlock(region->pool);
	}
	pthread_mutex_lock(&pins_lock);
	p->next = pins;
	pins = p;
	pthread_mutex_unlock(&pins_lock);
	info(p->dev->ctx, "%s: pinned [0x%llx, +0x%llx) for %s in %.3f ms", p->dev->name,
	     (unsigned long long)(region->offset + offset), (unsigned long long)length, p->consumer,
	     (double)p->pin_ns / 1e6);
	*out = p;
	return 0;
}

static void relist(struct daxalloc_pin *p)
{
	pthread_mutex_lock(&pins_lock);
	p->next = pins;
	pins = p;
	pthread_mutex_unlock(&pins_lock);
}

/*
 * Unpin @p (unlisted by the caller).  When the consumer refuses, the
 * kernel may still hold the pages: the pin goes back on the list and its
 * record stays, so its memory is not freed and reused under the DMA.
 */
static int release(struct daxalloc_pin *p)
{
	int rc;

	rc = p->ops->back_end->unpin(p);
	if (rc < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", daxalloc_errmsg());
		relist(p);
		return daxalloc_err(-rc,
				    "%s; the pin stays recorded and its memory is not freed while this process lives",
				    msg);
	}
	ledger_forget(p);
	dbg(p->dev->ctx, "%s: unpinned %s", p->dev->name, p->consumer);
	pin_free(p);
	return 0;
}

DAXALLOC_EXPORT int daxalloc_unpin(struct daxalloc_pin **pp)
{
	API_CALL(NULL);
	struct daxalloc_pin *p, **link;
	bool found = false;
	pid_t owner = 0;
	int rc;

	if (!pp || !*pp)
		return daxalloc_err(EINVAL, "daxalloc_unpin: NULL pin (already unpinned?)");
	p = *pp;
	/* Look the handle up before touching it: a stale one must not crash. */
	pthread_mutex_lock(&pins_lock);
	for (link = &pins; *link; link = &(*link)->next)
		if (*link == p) {
			found = true;
			owner = p->pid;
			if (owner == getpid())
				*link = p->next;
			break;
		}
	pthread_mutex_unlock(&pins_lock);
	if (!found)
		return daxalloc_err(EINVAL,
				    "daxalloc_unpin: %p is not a live pin (already unpinned, or its region or pool was closed)",
				    (void *)p);
	api_call_ctx(p->dev->ctx);
	if (owner != getpid())
		return daxalloc_err(EINVAL,
				    "daxalloc_unpin: the pin belongs to pid %d (made before fork); only it can unpin",
				    (int)owner);
	rc = release(p);
	if (rc == 0)
		*pp = NULL;
	return rc;
}

int pin_release_region(struct daxalloc_region *region)
{
	int stuck = 0;

	for (;;) {
		struct daxalloc_pin *p = NULL, **pp;

		pthread_mutex_lock(&pins_lock);
		for (pp = &pins; *pp; pp = &(*pp)->next)
			if ((*pp)->region == region && (*pp)->pid == getpid()) {
				p = *pp;
				*pp = p->next;
				break;
			}
		pthread_mutex_unlock(&pins_lock);
		if (!p)
			return stuck;
		info(p->dev->ctx, "%s: closing the region unpins %s", p->dev->name, p->consumer);
		if (release(p) < 0) {
			warn(region->pool->ctx, "%s", daxalloc_errmsg());
			daxalloc_err_clear(); /* warned: the close goes on */
			/*
			 * Back on the list: detach it from the region that goes
			 * away.  Its record stays in the ledger, under a lease
			 * the pool handle keeps while this process lives.
			 */
			pthread_mutex_lock(&pins_lock);
			p->region = NULL;
			p->rec = NULL;
			pthread_mutex_unlock(&pins_lock);
			region->pool->pins_stuck++;
			stuck++;
		}
	}
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int pin_find_overlap(struct daxalloc_pool *pool, uint64_t offset, uint64_t length,
		     struct pin_holder *h)
{
	struct pin_ledger_rec *recs;
	int n, hits = 0;

	memset(h, 0, sizeof(*h));
	n = pin_ledger_read(pool, &recs);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (!overlaps(recs[i].offset, recs[i].length, offset, length))
			continue;
		if (hits++ == 0) {
			h->pid = (int)recs[i].pid;
			snprintf(h->command, sizeof(h->command), "%s", recs[i].command);
			snprintf(h->consumer, sizeof(h->consumer), "%s", recs[i].consumer);
		}
	}
	free(recs);
	h->count = hits;
	return hits;
}

int pin_refuse_free(struct daxalloc_pool *pool, uint64_t offset, uint64_t length, const char *name)
{
	struct pin_holder h;
	char what[96];
	int n = pin_find_overlap(pool, offset, length, &h);

	if (n < 0) {
		char msg[400];

		/* What cannot be checked may be pinned: freeing it could hand DMA memory out again. */
		snprintf(msg, sizeof(msg), "%s", daxalloc_errmsg());
		return daxalloc_err(-n,
				    "%s; refusing to free what may be pinned (fix or remove the ledger once no process holds pins)",
				    msg);
	}
	if (n == 0)
		return 0;
	if (name)
		snprintf(what, sizeof(what), "region '%s'", name);
	else if (length == UINT64_MAX)
		snprintf(what, sizeof(what), "its memory");
	else
		snprintf(what, sizeof(what), "the region at 0x%llx", (unsigned long long)offset);
	return daxalloc_err(EBUSY, "%s: %s is pinned by %s in pid %d (%s)%s; unpin it before freeing",
			    pool->dev->name, what, h.consumer, h.pid, h.command,
			    n > 1 ? ", and more" : "");
}

struct pin_list {
	struct daxalloc_pin_info *v;
	int n;
};

static int cmp_info(const void *a, const void *b)
{
	const struct daxalloc_pin_info *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int ledger_infos(struct daxalloc_pool *pool, struct pin_list *l)
{
	struct pin_ledger_rec *recs;
	int n = pin_ledger_read(pool, &recs);

	if (n < 0)
		return n;
	l->v = calloc((size_t)n + 1, sizeof(*l->v));
	if (!l->v) {
		free(recs);
		return daxalloc_err(ENOMEM, "out of memory");
	}
	for (int k = 0; k < n; k++) {
		struct daxalloc_pin_info *i = &l->v[l->n++];
		const struct pin_ledger_rec *r = &recs[k];

		i->struct_size = sizeof(*i);
		i->kind = (enum daxalloc_pin_kind)r->kind;
		snprintf(i->region, sizeof(i->region), "%.*s", (int)sizeof(r->region) - 1, r->region);
		i->region_offset = r->region_offset;
		i->offset = r->offset;
		i->length = r->length;
		i->pid = (int)r->pid;
		snprintf(i->command, sizeof(i->command), "%.*s", (int)sizeof(r->command) - 1,
			 r->command);
		i->since = r->since;
		pin_consumer_parse(r->consumer, i);
	}
	free(recs);
	return 0;
}

/* Exported through versions.c: 0.1's info had no size (compat-0.1.c). */
int daxalloc_pool_foreach_pin(struct daxalloc_pool *pool,
			      int (*fn)(const struct daxalloc_pin_info *, void *), void *arg)
{
	API_CALL(pool ? pool->ctx : NULL);
	struct pin_list l = { 0 };
	struct api_saved s;
	int rc;

	rc = pool_lock_foreach(pool, fn != NULL, "daxalloc_pool_foreach_pin", false);
	if (rc < 0)
		return rc;
	rc = ledger_infos(pool, &l);
	pool_unlock(pool);
	if (rc < 0)
		return rc;
	qsort(l.v, (size_t)l.n, sizeof(*l.v), cmp_info);
	/* Callbacks run unlocked, so they may call back into the library. */
	api_pause(&s);
	for (int i = 0; i < l.n && rc == 0; i++)
		rc = fn(&l.v[i], arg);
	api_resume(&s);
	free(l.v);
	return rc;
}

DAXALLOC_GETTER(enum daxalloc_pin_kind, pin, kind, target.kind, 0)
DAXALLOC_GETTER(struct daxalloc_region *, pin, region, region, NULL)
DAXALLOC_GETTER(void *, pin, address, addr, NULL)
DAXALLOC_GETTER(uint64_t, pin, offset, offset, 0)
DAXALLOC_GETTER(uint64_t, pin, length, length, 0)
DAXALLOC_GETTER(uint64_t, pin, pin_time_ns, pin_ns, 0)
DAXALLOC_GETTER(uint64_t, pin, iova, iova, UINT64_MAX)
DAXALLOC_GETTER(struct ibv_mr *, pin, mr, mr, NULL)
DAXALLOC_GETTER(uint32_t, pin, lkey, lkey, 0)
DAXALLOC_GETTER(uint32_t, pin, rkey, rkey, 0)
DAXALLOC_GETTER(int, pin, uring_index, uring_first, -1)
DAXALLOC_GETTER(unsigned int, pin, uring_count, uring_count, 0)
