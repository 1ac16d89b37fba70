// SPDX-License-Identifier: LGPL-2.1-or-later
/* The ownership rules of pools (see ownership.h and tests/README.md). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "consumers.h"
#include "ownership.h"
#include "pool-helpers.h"

static uint64_t unit_of(struct daxalloc_dev *dev)
{
	return daxalloc_dev_get_align(dev);
}

/* The README idiom: open, else create, else (lost the race) open. */
static int open_else_create(struct daxalloc_dev *dev, struct daxalloc_pool **pool)
{
	int rc = daxalloc_pool_open(dev, 0, pool);

	if (rc == -ENODATA)
		rc = daxalloc_pool_create(dev, 0, pool);
	if (rc == -EEXIST)
		rc = daxalloc_pool_open(dev, 0, pool);
	return rc;
}

/* More creators than cores: one is preempted inside another's window. */
#define CREATORS 6

static int creator(struct daxalloc_dev *dev, int id, int round, volatile int *barrier)
{
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	char name[32];

	__atomic_add_fetch(barrier, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(barrier, __ATOMIC_SEQ_CST) < CREATORS)
		sched_yield();
	if (open_else_create(dev, &pool) < 0) {
		fprintf(stderr, "creator %d round %d: %s\n", id, round, daxalloc_errmsg());
		return 1;
	}
	snprintf(name, sizeof(name), "c%d", id);
	if (daxalloc_alloc(pool, unit_of(dev), name, 0, &r) < 0) {
		fprintf(stderr, "creator %d round %d: alloc: %s\n", id, round, daxalloc_errmsg());
		return 1;
	}
	th_fill(daxalloc_region_get_address(r), daxalloc_region_get_size(r),
		(uint64_t)round * CREATORS + (uint64_t)id);
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	return 0;
}

void own_create_race(struct daxalloc_dev *dev, int rounds)
{
	struct daxalloc_map *raw = NULL;
	char *meta = th_raw_map(dev, unit_of(dev), &raw);
	volatile int *barrier =
		mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int wiped = 0;

	cr_assert_neq((void *)barrier, MAP_FAILED);
	for (int round = 0; round < rounds && !wiped; round++) {
		struct daxalloc_pool *pool = NULL;
		pid_t pid[CREATORS];

		/* No pool: both header copies without a signature. */
		memset(meta, 0, 8192);
		*barrier = 0;
		for (int i = 0; i < CREATORS; i++) {
			pid[i] = fork();
			cr_assert_geq(pid[i], 0);
			if (pid[i] == 0)
				_exit(creator(dev, i, round, barrier));
		}
		for (int i = 0; i < CREATORS; i++)
			cr_assert_eq(th_exit_status(pid[i]), 0, "round %d: creator %d failed",
				     round, i);
		cr_assert_eq(daxalloc_pool_open(dev, 0, &pool), 0, "round %d: %s", round,
			     daxalloc_errmsg());
		for (int i = 0; i < CREATORS; i++) {
			struct daxalloc_region *r = NULL;
			char name[32];

			snprintf(name, sizeof(name), "c%d", i);
			if (daxalloc_region_open(pool, name, 0, &r) < 0) {
				cr_expect_fail("round %d: region '%s' of creator %d was wiped by the other's format: %s",
					       round, name, i, daxalloc_errmsg());
				wiped = 1;
				continue;
			}
			cr_expect_eq(th_verify(daxalloc_region_get_address(r),
					       daxalloc_region_get_size(r),
					       (uint64_t)round * CREATORS + (uint64_t)i),
				     0, "round %d: region '%s' lost its contents", round, name);
			daxalloc_region_close(&r);
		}
		daxalloc_pool_close(&pool);
	}
	munmap((void *)barrier, 4096);
	daxalloc_map_delete(&raw);
}

struct spot {
	uint64_t offset, size;
	int found;
};

static int find_spot(const struct daxalloc_region_info *i, void *arg)
{
	struct spot *s = arg;

	if (i->offset == s->offset && i->size == s->size && !i->name[0] && i->owner_alive)
		s->found = 1;
	return 0;
}

static int listed_alive(struct daxalloc_pool *pool, struct daxalloc_region *r)
{
	struct spot s = { daxalloc_region_get_offset(r), daxalloc_region_get_size(r), 0 };

	cr_assert_eq(daxalloc_pool_foreach_region(pool, find_spot, &s), 0, "%s", daxalloc_errmsg());
	return s.found;
}

static int overlaps(struct daxalloc_region *a, struct daxalloc_region *b)
{
	uint64_t ao = daxalloc_region_get_offset(a), bo = daxalloc_region_get_offset(b);

	return ao < bo + daxalloc_region_get_size(b) && bo < ao + daxalloc_region_get_size(a);
}

void own_fork_child(struct daxalloc_dev *dev)
{
	struct daxalloc_pool *pool = th_pool_create(dev);
	struct daxalloc_region *mine[2] = { 0 }, *more[4] = { 0 };
	uint64_t unit = unit_of(dev);
	pid_t pid;

	for (int i = 0; i < 2; i++) {
		cr_assert_eq(daxalloc_alloc(pool, unit, NULL, 0, &mine[i]), 0, "%s",
			     daxalloc_errmsg());
		th_fill(daxalloc_region_get_address(mine[i]), unit, 500 + (uint64_t)i);
	}
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct daxalloc_pool *own = NULL;
		struct daxalloc_region *r = NULL;
		int bad = 0, rc;

		/* The inherited handle is the parent's: refused, saying why. */
		rc = daxalloc_alloc(pool, unit, NULL, 0, &r);
		if (rc != -ECHILD || !strstr(daxalloc_errmsg(), "fork")) {
			fprintf(stderr, "child: alloc on the inherited handle: %d (%s)\n", rc,
				daxalloc_errmsg());
			bad |= 1;
		}
		rc = daxalloc_region_free(&mine[0]);
		if (rc != -ECHILD) {
			fprintf(stderr, "child: free through the inherited handle: %d (%s)\n", rc,
				daxalloc_errmsg());
			bad |= 2;
		}
		/* Closing releases the child's copies only. */
		daxalloc_region_close(&mine[1]);
		daxalloc_pool_close(&pool);
		/* Its own handle works: the child is an owner of its own. */
		if (daxalloc_pool_open(dev, 0, &own) < 0 ||
		    daxalloc_alloc(own, unit, NULL, 0, &r) < 0) {
			fprintf(stderr, "child: own handle: %s\n", daxalloc_errmsg());
			bad |= 4;
		} else {
			th_fill(daxalloc_region_get_address(r), unit, 999);
		}
		_exit(bad); /* dies holding r: an orphan */
	}
	cr_expect_eq(th_exit_status(pid), 0,
		     "the child was not refused on the inherited handle (see its output)");
	for (int i = 0; i < 2; i++) {
		cr_expect(listed_alive(pool, mine[i]),
			  "the parent's region at 0x%llx vanished after the child closed the inherited handle",
			  (unsigned long long)daxalloc_region_get_offset(mine[i]));
		cr_expect_eq(th_verify(daxalloc_region_get_address(mine[i]), unit, 500 + (uint64_t)i),
			     0, "the parent's region %d lost its contents", i);
	}
	/* The next allocations (reclaiming the child's orphan) never hand the parent's out. */
	for (int k = 0; k < 4; k++) {
		cr_assert_eq(daxalloc_alloc(pool, unit, NULL, 0, &more[k]), 0, "%s",
			     daxalloc_errmsg());
		for (int i = 0; i < 2; i++)
			cr_expect(!overlaps(more[k], mine[i]),
				  "alloc handed out 0x%llx, the parent's live region",
				  (unsigned long long)daxalloc_region_get_offset(more[k]));
	}
	daxalloc_pool_close(&pool);
}

void own_two_handles(struct daxalloc_dev *dev)
{
	struct daxalloc_pool *a = th_pool_create(dev), *b = NULL;
	struct daxalloc_region *ra = NULL, *rb = NULL, *ua = NULL;
	uint64_t unit = unit_of(dev);

	cr_assert_eq(daxalloc_pool_open(dev, 0, &b), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_alloc(a, unit, "shared", 0, &ra), 0, "%s", daxalloc_errmsg());
	th_fill(daxalloc_region_get_address(ra), unit, 41);
	/* Mapped through a: b may not free it, by name or through its own handle. */
	cr_expect_eq(daxalloc_pool_free_name(b, "shared"), -EBUSY,
		     "a second handle freed a region the first maps");
	cr_expect(strstr(daxalloc_errmsg(), "shared") != NULL, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_region_open(b, "shared", 0, &rb), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_region_free(&rb), -EBUSY,
		     "a second handle freed a region the first maps");
	cr_expect_neq(rb, NULL, "a refused free must leave the handle open");
	cr_expect_eq(th_verify(daxalloc_region_get_address(ra), unit, 41), 0);
	/* An unnamed region of a survives b closing. */
	cr_assert_eq(daxalloc_alloc(a, unit, NULL, 0, &ua), 0, "%s", daxalloc_errmsg());
	daxalloc_region_close(&rb);
	daxalloc_pool_close(&b);
	cr_expect(listed_alive(a, ua), "closing one handle freed another handle's unnamed region");
	/* Once the first handle closes it, the free goes through. */
	cr_assert_eq(daxalloc_pool_open(dev, 0, &b), 0, "%s", daxalloc_errmsg());
	daxalloc_region_close(&ra);
	cr_expect_eq(daxalloc_pool_free_name(b, "shared"), 0, "%s", daxalloc_errmsg());
	daxalloc_pool_close(&b);
	daxalloc_pool_close(&a);
}

void own_enospc_reclaims_orphans(struct daxalloc_dev *dev)
{
	struct daxalloc_pool *pool = th_pool_create(dev);
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
	struct daxalloc_region *r = NULL;
	pid_t pid;

	cr_assert_eq(daxalloc_pool_get_stats(pool, &st), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct daxalloc_pool *own = NULL;
		struct daxalloc_region *x = NULL;

		/* Take everything, then die holding it. */
		if (daxalloc_pool_open(dev, 0, &own) < 0 ||
		    daxalloc_alloc(own, st.capacity, NULL, 0, &x) < 0) {
			fprintf(stderr, "child: %s\n", daxalloc_errmsg());
			_exit(1);
		}
		_exit(0);
	}
	cr_assert_eq(th_exit_status(pid), 0);
	/* The handle opened before: its alloc must reclaim, not report ENOSPC. */
	cr_expect_eq(daxalloc_alloc(pool, st.capacity, NULL, 0, &r), 0,
		     "alloc did not reclaim the dead process's region: %s", daxalloc_errmsg());
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
}

/* The container side: new pid + mount namespaces, own /proc, own device node. */
static int in_container(struct daxalloc_dev *dev, const char *devname, const char *node,
			const struct own_pinner *pinner, struct handshake *h)
{
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *d = dev;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r[3] = { 0 };
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT };
	struct daxalloc_pin *pin = NULL;
	uint64_t unit = unit_of(dev);
	struct consumer cons;
	int bad = 0;

	if (consumer_open(&cons, pinner->kind, pinner->where) < 0) {
		fprintf(stderr, "container: %s\n", consumer_errmsg());
		return 9;
	}
	consumer_target(&cons, &t);
	/* Its own /run too: nothing kept there is shared with the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", 0, NULL) < 0 ||
	    mount("tmpfs", "/run", "tmpfs", 0, "mode=755") < 0) {
		fprintf(stderr, "container: mounts: %m\n");
		return 10;
	}
	if (node) {
		/* A node of its own, as container runtimes make them (--device). */
		struct stat st;

		if (stat(node, &st) < 0 || mount("tmpfs", "/dev", "tmpfs", 0, "mode=755") < 0 ||
		    mknod(node, S_IFCHR | 0600, st.st_rdev) < 0) {
			fprintf(stderr, "container: node %s: %m\n", node);
			return 11;
		}
		if (daxalloc_ctx_new(&ctx) < 0 || daxalloc_dev_open(ctx, devname, &d) < 0) {
			fprintf(stderr, "container: %s\n", daxalloc_errmsg());
			return 12;
		}
	}
	if (getpid() != 1) {
		fprintf(stderr, "container: not pid 1 of a new pid namespace\n");
		return 13;
	}
	if (daxalloc_pool_open(d, 0, &pool) < 0) {
		fprintf(stderr, "container: %s\n", daxalloc_errmsg());
		return 14;
	}
	for (int i = 0; i < 3; i++) {
		if (daxalloc_alloc(pool, unit, NULL, 0, &r[i]) < 0) {
			fprintf(stderr, "container: alloc: %s\n", daxalloc_errmsg());
			return 15;
		}
		th_fill(daxalloc_region_get_address(r[i]), unit, 7000 + (uint64_t)i);
	}
	if (daxalloc_pin(r[1], 0, unit, &t, &pin) < 0) {
		fprintf(stderr, "container: pin: %s\n", daxalloc_errmsg());
		return 17;
	}
	if (handshake_ready(h, NULL, 0) < 0 || handshake_wait_go(h) < 0)
		return 16;
	if (daxalloc_unpin(&pin) < 0) {
		fprintf(stderr, "container: unpin: %s\n", daxalloc_errmsg());
		bad = 1;
	}
	for (int i = 0; i < 3; i++) {
		if (th_verify(daxalloc_region_get_address(r[i]), unit, 7000 + (uint64_t)i)) {
			fprintf(stderr, "container: region %d was overwritten\n", i);
			bad = 1;
		}
		if (!listed_alive(pool, r[i])) {
			fprintf(stderr, "container: region %d was reclaimed\n", i);
			bad = 1;
		}
	}
	daxalloc_pool_close(&pool);
	return bad;
}

struct pins_seen {
	int n;
	struct daxalloc_pin_info first;
};

static int see_pin(const struct daxalloc_pin_info *i, void *arg)
{
	struct pins_seen *s = arg;

	if (s->n++ == 0)
		s->first = *i;
	return 0;
}

void own_container(struct daxalloc_dev *dev, const char *devname, const char *node_in_ns,
		   const struct own_pinner *pinner)
{
	struct daxalloc_pool *pool = th_pool_create(dev), *host = NULL, *fresh = NULL;
	struct daxalloc_region *got[64] = { 0 };
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
	struct pins_seen seen = { 0 };
	struct handshake h;
	int n = 0;
	pid_t pid;

	daxalloc_pool_close(&pool);
	pid = handshake_fork(&h);
	if (pid == 0) {
		pid_t inner;

		if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0) {
			fprintf(stderr, "unshare: %m\n");
			_exit(20);
		}
		inner = fork();
		if (inner == 0)
			_exit(in_container(dev, devname, node_in_ns, pinner, &h));
		_exit(inner < 0 ? 21 : th_exit_status(inner));
	}
	if (!handshake_wait_ready(&h, NULL, 0))
		cr_assert_fail("the container process did not start (status %d)",
			       th_exit_status(pid));
	/* The host opens (reclaims orphans), checks, repairs, allocates all, frees. */
	cr_assert_eq(daxalloc_pool_open(dev, 0, &host), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_pool_check(dev, 0, &rep), 0, "check: %s", th_check_said(&rep));
	cr_expect_eq(rep.orphans, 0, "check counts the container's live regions as orphans");
	cr_expect_geq(daxalloc_pool_check(dev, DAXALLOC_CHECK_REPAIR, &rep), 0, "%s",
		      daxalloc_errmsg());
	cr_assert_eq(daxalloc_pool_get_stats(host, &st), 0);
	cr_expect_eq(st.regions, 3, "the host sees %u regions, the container holds 3", st.regions);
	/* The container's pin, as the host sees it: pid 1 of its namespace. */
	cr_assert_eq(daxalloc_pool_foreach_pin(host, see_pin, &seen), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(seen.n, 1, "the host lists %d pins, the container holds 1", seen.n);
	if (seen.n) {
		cr_expect_eq(seen.first.pid, 1, "the pin's pid %d", seen.first.pid);
		char consumer[128];

		cr_expect_gt(daxalloc_pin_info_describe(&seen.first, consumer, sizeof(consumer)), 0);
		cr_expect(strstr(consumer, daxalloc_pin_kind_name(pinner->kind)), "consumer '%s'",
			  consumer);
	}
	cr_expect_eq(daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &fresh), -EBUSY,
		     "a format went through the container's pin");
	cr_expect(strstr(daxalloc_errmsg(), "pinned by"), "%s", daxalloc_errmsg());
	cr_expect_null(fresh);
	for (char name[16]; n < 64; n++) {
		snprintf(name, sizeof(name), "h%d", n);
		if (daxalloc_alloc(host, unit_of(dev), n % 2 ? name : NULL, 0, &got[n]) < 0)
			break;
		th_fill(daxalloc_region_get_address(got[n]), unit_of(dev), 1);
	}
	for (int i = 0; i < n; i++)
		daxalloc_region_free(&got[i]);
	daxalloc_pool_close(&host);
	cr_assert_eq(handshake_go(&h), 0);
	cr_expect_eq(th_exit_status(pid), 0, "the container lost regions (see its output)");
	handshake_close(&h);
	/* Everything is free again: the container closed what it held. */
	cr_assert_eq(daxalloc_pool_open(dev, 0, &host), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_pool_get_stats(host, &st), 0);
	cr_expect_eq(st.regions, 0, "%u regions left", st.regions);
	seen.n = 0;
	cr_expect_eq(daxalloc_pool_foreach_pin(host, see_pin, &seen), 0);
	cr_expect_eq(seen.n, 0, "%d pins left", seen.n);
	daxalloc_pool_close(&host);
}
