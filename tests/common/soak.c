// SPDX-License-Identifier: LGPL-2.1-or-later
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <liburing.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pool-helpers.h"
#include "soak.h"

#define MAX_WORKERS 16
#define MAX_OWN 6

/* Counters and the first failure, shared by the parent and every worker. */
struct shared {
	atomic_uint_fast64_t ops, allocs, frees, pins, adopted, verified;
	atomic_int stop;
	atomic_int failed;
	char msg[512];
};

struct own {
	struct daxalloc_region *r;
	char name[48]; /* "" when unnamed */
	uint64_t seed;
};

struct worker {
	struct daxalloc_dev *dev;
	struct daxalloc_pool *pool;
	struct shared *sh;
	struct own own[MAX_OWN];
	int n;
	uint64_t unit;
	unsigned int next;
	bool pin_uring;
	struct io_uring ring;
};

static __attribute__((noreturn, format(printf, 2, 3))) void fail(struct worker *w, const char *fmt,
								 ...)
{
	char m[sizeof(w->sh->msg)];
	va_list ap;
	int n;

	n = snprintf(m, sizeof(m), "pid %d: ", (int)getpid());
	va_start(ap, fmt);
	vsnprintf(m + n, sizeof(m) - (size_t)n, fmt, ap);
	va_end(ap);
	/* The first failure's message is the one reported. */
	if (atomic_exchange(&w->sh->failed, 1) == 0)
		memcpy(w->sh->msg, m, sizeof(m));
	_exit(3);
}

/*
 * KIND.OWNER.MAKER.K: kind "p" pending (being filled), "s" sealed, "a"
 * adopted; OWNER the process that holds it now, MAKER the one that filled
 * it with the pattern of seed_of(MAKER, K).
 */
struct rname {
	char kind;
	int owner, maker;
	unsigned int k;
};

static void make_name(char *buf, size_t len, const struct rname *n)
{
	snprintf(buf, len, "%c.%d.%d.%u", n->kind, n->owner, n->maker, n->k);
}

static uint64_t seed_of(int pid, unsigned int k)
{
	return (uint64_t)pid << 24 | k;
}

static bool parse_name(const char *name, struct rname *n)
{
	return sscanf(name, "%c.%d.%d.%u", &n->kind, &n->owner, &n->maker, &n->k) == 4 &&
	       strchr("psa", n->kind);
}

static bool alive(int pid)
{
	return kill(pid, 0) == 0 || errno != ESRCH;
}

static void drop_own(struct worker *w, int i)
{
	w->own[i] = w->own[--w->n];
}

static void op_alloc(struct worker *w)
{
	struct daxalloc_region *r = NULL;
	unsigned int k = w->next++;
	uint64_t units = 1 + (uint64_t)(rand() % 3), size = units * w->unit, seed;
	bool named = rand() % 2;
	char pending[48] = "", sealed[48] = "";
	int rc;

	if (w->n == MAX_OWN)
		return;
	/* Sizes off the unit must round up. */
	if (rand() % 2)
		size -= w->unit / 2;
	seed = seed_of(getpid(), k);
	if (named) {
		struct rname n = { 'p', getpid(), getpid(), k };

		make_name(pending, sizeof(pending), &n);
		n.kind = 's';
		make_name(sealed, sizeof(sealed), &n);
	}
	rc = daxalloc_alloc(w->pool, size, named ? pending : NULL, 0, &r);
	if (rc == -ENOSPC)
		return;
	if (rc < 0)
		fail(w, "alloc %llu: %s", (unsigned long long)size, daxalloc_errmsg());
	atomic_fetch_add(&w->sh->allocs, 1);
	if (daxalloc_region_get_size(r) != units * w->unit || daxalloc_region_get_offset(r) % w->unit)
		fail(w, "alloc %llu gave [0x%llx, +0x%llx)", (unsigned long long)size,
		     (unsigned long long)daxalloc_region_get_offset(r),
		     (unsigned long long)daxalloc_region_get_size(r));
	th_fill(daxalloc_region_get_address(r), daxalloc_region_get_size(r), seed);
	/* Sealed only once the pattern is complete: a kill before leaves it pending. */
	if (named && daxalloc_pool_rename(w->pool, pending, sealed) < 0)
		fail(w, "rename %s: %s", pending, daxalloc_errmsg());
	w->own[w->n].r = r;
	w->own[w->n].seed = seed;
	snprintf(w->own[w->n].name, sizeof(w->own[w->n].name), "%s", sealed);
	w->n++;
}

static void op_verify(struct worker *w)
{
	struct own *o;

	if (!w->n)
		return;
	o = &w->own[rand() % w->n];
	if (th_verify(daxalloc_region_get_address(o->r), daxalloc_region_get_size(o->r), o->seed))
		fail(w, "region %s at 0x%llx lost its pattern", o->name[0] ? o->name : "(unnamed)",
		     (unsigned long long)daxalloc_region_get_offset(o->r));
	/* A named one is also found again by name, at the same place. */
	if (o->name[0] && rand() % 2) {
		uint64_t off = daxalloc_region_get_offset(o->r);

		daxalloc_region_close(&o->r);
		if (daxalloc_region_open(w->pool, o->name, 0, &o->r) < 0)
			fail(w, "reopen %s: %s", o->name, daxalloc_errmsg());
		if (daxalloc_region_get_offset(o->r) != off)
			fail(w, "%s moved from 0x%llx", o->name, (unsigned long long)off);
	}
	atomic_fetch_add(&w->sh->verified, 1);
}

static void free_own(struct worker *w, int i)
{
	struct own *o = &w->own[i];
	int rc;

	if (o->name[0] && rand() % 2) {
		daxalloc_region_close(&o->r);
		rc = daxalloc_pool_free_name(w->pool, o->name);
	} else if (!o->name[0] && rand() % 2) {
		daxalloc_region_close(&o->r); /* frees an unnamed region */
		rc = 0;
	} else {
		rc = daxalloc_region_free(&o->r);
	}
	if (rc < 0)
		fail(w, "free %s: %s", o->name[0] ? o->name : "(unnamed)", daxalloc_errmsg());
	atomic_fetch_add(&w->sh->frees, 1);
	drop_own(w, i);
}

/* Pinned: freeing is refused and changes nothing; unpinned twice: refused. */
static void op_pin(struct worker *w)
{
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_URING };
	struct daxalloc_pin *p = NULL, *stale;
	struct own *o;
	int rc;

	if (!w->pin_uring || !w->n)
		return;
	o = &w->own[rand() % w->n];
	t.uring.ring = &w->ring;
	rc = daxalloc_pin(o->r, 0, w->unit, &t, &p);
	if (rc == -ENOMEM)
		return; /* RLIMIT_MEMLOCK without CAP_IPC_LOCK */
	if (rc < 0)
		fail(w, "pin %s: %s", o->name, daxalloc_errmsg());
	if (daxalloc_region_free(&o->r) != -EBUSY || !o->r)
		fail(w, "free of pinned %s was not refused: %s", o->name, daxalloc_errmsg());
	if (o->name[0] && daxalloc_pool_free_name(w->pool, o->name) != -EBUSY)
		fail(w, "free by name of pinned %s was not refused: %s", o->name, daxalloc_errmsg());
	stale = p;
	if (daxalloc_unpin(&p) < 0 || p)
		fail(w, "unpin: %s", daxalloc_errmsg());
	if (daxalloc_unpin(&stale) != -EINVAL)
		fail(w, "a second unpin was not refused");
	atomic_fetch_add(&w->sh->pins, 1);
}

static void op_stats(struct worker *w)
{
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };

	if (daxalloc_pool_get_stats(w->pool, &st) < 0)
		fail(w, "stats: %s", daxalloc_errmsg());
	if (st.used + st.free != st.capacity || st.largest_free > st.free)
		fail(w, "stats: used %llu + free %llu != capacity %llu", (unsigned long long)st.used,
		     (unsigned long long)st.free, (unsigned long long)st.capacity);
}

struct pick {
	char name[DAXALLOC_NAME_MAX + 1];
	int seen;
};

/* Reservoir choice of one named region whose holder is gone. */
static int pick_dead(const struct daxalloc_region_info *ri, void *arg)
{
	struct pick *pk = arg;
	struct rname n;

	if (!ri->name[0] || !parse_name(ri->name, &n) || alive(n.owner))
		return 0;
	if (rand() % ++pk->seen == 0)
		snprintf(pk->name, sizeof(pk->name), "%s", ri->name);
	return 0;
}

/*
 * Take over one region a killed process left: rename it to ours (only one
 * adopter wins), check its pattern when it was sealed, free it.  Returns
 * false when there was nothing to adopt.
 */
static bool adopt(struct daxalloc_pool *pool, char *why, size_t whylen)
{
	struct daxalloc_region *r = NULL;
	struct pick pk = { .seen = 0 };
	struct rname n;
	char mine[48];
	int rc;

	why[0] = '\0';
	if (daxalloc_pool_foreach_region(pool, pick_dead, &pk) < 0) {
		snprintf(why, whylen, "listing: %s", daxalloc_errmsg());
		return false;
	}
	if (!pk.name[0] || !parse_name(pk.name, &n))
		return false;
	if (n.kind == 'p') {
		rc = daxalloc_pool_free_name(pool, pk.name);
		if (rc < 0 && rc != -ENOENT)
			snprintf(why, whylen, "free %s: %s", pk.name, daxalloc_errmsg());
		return true;
	}
	n.kind = 'a';
	n.owner = getpid();
	make_name(mine, sizeof(mine), &n);
	rc = daxalloc_pool_rename(pool, pk.name, mine);
	if (rc == -ENOENT)
		return true; /* another adopter was quicker */
	if (rc < 0) {
		snprintf(why, whylen, "rename %s: %s", pk.name, daxalloc_errmsg());
		return true;
	}
	if (daxalloc_region_open(pool, mine, 0, &r) < 0) {
		snprintf(why, whylen, "open %s: %s", mine, daxalloc_errmsg());
		return true;
	}
	if (th_verify(daxalloc_region_get_address(r), daxalloc_region_get_size(r),
		      seed_of(n.maker, n.k)))
		snprintf(why, whylen, "%s (was %s) lost its pattern", mine, pk.name);
	else if (daxalloc_region_free(&r) < 0)
		snprintf(why, whylen, "free %s: %s", mine, daxalloc_errmsg());
	daxalloc_region_close(&r);
	return true;
}

static void op_adopt(struct worker *w)
{
	char why[256];

	if (adopt(w->pool, why, sizeof(why)))
		atomic_fetch_add(&w->sh->adopted, 1);
	if (why[0])
		fail(w, "adopting: %s", why);
}

static void __attribute__((noreturn)) worker_main(struct worker *w, unsigned int seed)
{
	srand(seed);
	if (daxalloc_pool_open(w->dev, 0, &w->pool) < 0)
		fail(w, "pool open: %s", daxalloc_errmsg());
	w->unit = daxalloc_dev_get_align(w->dev);
	if (w->pin_uring && io_uring_queue_init(4, &w->ring, 0) < 0)
		fail(w, "io_uring_queue_init failed");
	while (!atomic_load(&w->sh->stop)) {
		int op = rand() % 16;

		if (op < 5)
			op_alloc(w);
		else if (op < 8)
			op_verify(w);
		else if (op < 11 && w->n)
			free_own(w, rand() % w->n);
		else if (op < 13)
			op_pin(w);
		else if (op < 14)
			op_stats(w);
		else
			op_adopt(w);
		atomic_fetch_add(&w->sh->ops, 1);
	}
	/* Survivors give back everything they hold. */
	while (w->n)
		free_own(w, 0);
	daxalloc_pool_close(&w->pool);
	_exit(0);
}

static pid_t spawn(struct daxalloc_dev *dev, struct shared *sh, bool pin_uring, unsigned int seed)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		static struct worker w;

		w.dev = dev;
		w.sh = sh;
		w.pin_uring = pin_uring;
		worker_main(&w, seed);
	}
	return pid;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_regions(const struct daxalloc_region_info *ri, void *arg)
{
	(void)ri;
	(*(int *)arg)++;
	return 0;
}

void soak_run(struct daxalloc_dev *dev, const struct soak_opts *opts, struct soak_result *res)
{
	const char *env = getenv("DAXALLOC_SOAK_SECONDS");
	int seconds = env && atoi(env) > 0 ? atoi(env) : opts->default_seconds;
	int nw = opts->workers < MAX_WORKERS ? opts->workers : MAX_WORKERS;
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
	struct daxalloc_pool *pool = NULL;
	pid_t pids[MAX_WORKERS];
	unsigned int seq = 0;
	struct shared *sh;
	char why[256];
	double end, stop_by;
	int left, st_;

	memset(res, 0, sizeof(*res));
	res->seconds = seconds;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(sh, MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	srand((unsigned int)time(NULL) ^ (unsigned int)getpid());
	for (int i = 0; i < nw; i++)
		pids[i] = spawn(dev, sh, opts->pin_uring, (unsigned int)rand() + seq++);
	res->spawned = (unsigned int)nw;

	end = now() + seconds;
	while (now() < end && !atomic_load(&sh->failed)) {
		int i = rand() % nw;

		usleep(10000 + (useconds_t)(rand() % 60000));
		kill(pids[i], SIGKILL);
		cr_assert_eq(waitpid(pids[i], &st_, 0), pids[i]);
		if (!WIFSIGNALED(st_))
			break; /* it failed by itself: reported below */
		res->kills++;
		pids[i] = spawn(dev, sh, opts->pin_uring, (unsigned int)rand() + seq++);
		res->spawned++;
	}

	/* Survivors free what they hold and exit 0. */
	atomic_store(&sh->stop, 1);
	stop_by = now() + 60;
	left = nw;
	while (left && now() < stop_by) {
		left = 0;
		for (int i = 0; i < nw; i++) {
			if (pids[i] <= 0)
				continue;
			if (waitpid(pids[i], &st_, WNOHANG) == 0) {
				left++;
				continue;
			}
			cr_expect(WIFEXITED(st_) && WEXITSTATUS(st_) == 0,
				  "worker %d ended with status %#x: %s", pids[i], st_, sh->msg);
			pids[i] = 0;
		}
		if (left)
			usleep(10000);
	}
	for (int i = 0; i < nw; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &st_, 0);
			cr_expect_fail("worker %d did not stop within 60 s", pids[i]);
		}
	cr_assert_eq(atomic_load(&sh->failed), 0, "%s", sh->msg);

	/* Nothing is corrupt: at most the unnamed regions of killed workers are left over. */
	cr_assert_geq(daxalloc_pool_check(dev, 0, &rep), 0, "%s", daxalloc_errmsg());
	cr_expect(rep.problems == 0 || (rep.problems == 1 && rep.orphans > 0), "%s",
		  th_check_said(&rep));
	/* Opening reclaims those; then every named leftover is adopted and freed. */
	cr_assert_eq(daxalloc_pool_open(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	while (adopt(pool, why, sizeof(why)) || why[0]) {
		cr_assert_eq(why[0], '\0', "%s", why);
		res->adopted++;
	}
	cr_assert_eq(daxalloc_pool_get_stats(pool, &st), 0, "%s", daxalloc_errmsg());
	if (st.regions) {
		int n = 0;

		daxalloc_pool_foreach_region(pool, count_regions, &n);
		cr_expect_fail("%u regions (%d listed) left behind", st.regions, n);
	}
	cr_expect_eq(st.free, st.capacity, "capacity lost: %llu of %llu bytes free",
		     (unsigned long long)st.free, (unsigned long long)st.capacity);
	cr_expect_eq(st.free_extents, 1);
	daxalloc_pool_close(&pool);
	cr_expect_eq(daxalloc_pool_check(dev, 0, &rep), 0, "%s", th_check_said(&rep));
	cr_expect_eq(rep.regions, 0);

	res->ops = atomic_load(&sh->ops);
	res->allocs = atomic_load(&sh->allocs);
	res->frees = atomic_load(&sh->frees);
	res->pins = atomic_load(&sh->pins);
	res->adopted += atomic_load(&sh->adopted);
	res->verified = atomic_load(&sh->verified);
	cr_log_info("soak: %d s, %d workers: %llu operations (%llu allocs, %llu frees, %llu pins, "
		    "%llu verifications, %llu regions of killed workers adopted), %u kills",
		    seconds, nw, (unsigned long long)res->ops, (unsigned long long)res->allocs,
		    (unsigned long long)res->frees, (unsigned long long)res->pins,
		    (unsigned long long)res->verified, (unsigned long long)res->adopted, res->kills);
	munmap(sh, sizeof(*sh));
}
