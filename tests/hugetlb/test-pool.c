// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pool on the hugetlb stand-in (2M units): format, named and unnamed
 * regions, best fit and coalescing, names, refusals that leave the
 * metadata byte-identical, damaged copies, orphans of dead processes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daxalloc.h"
#include "metadata.h"
#include "persist.h"
#include "pool-helpers.h"
#include "pool.h"
#include "refuse-syscall.h"

#define M (UINT64_C(1) << 20)
#define META (2 * M)
#define META_USED DXA_META_USED

static void setup(void)
{
	th_pool_setup("hugetlb:2M:64M");
}

static void teardown(void)
{
	daxalloc_pool_close(&th_pool);
	cr_expect_null(th_pool);
	th_pool_teardown();
}

TestSuite(pool, .init = setup, .fini = teardown, .timeout = 120);

static struct daxalloc_region *alloc(uint64_t size, const char *name)
{
	struct daxalloc_region *r = NULL;

	cr_assert_eq(daxalloc_alloc(th_pool, size, name, 0, &r), 0, "alloc %llu '%s': %s",
		     (unsigned long long)size, name ? name : "", daxalloc_errmsg());
	return r;
}

static struct daxalloc_pool_stats stats(void)
{
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };

	cr_assert_eq(daxalloc_pool_get_stats(th_pool, &st), 0, "%s", daxalloc_errmsg());
	return st;
}

Test(pool, fresh_pool_stats)
{
	struct daxalloc_pool_stats st = stats();

	cr_expect_eq(st.unit, 2 * M);
	cr_expect_eq(st.capacity, 62 * M);
	cr_expect_eq(st.free, 62 * M);
	cr_expect_eq(st.largest_free, 62 * M);
	cr_expect_eq(st.free_extents, 1);
	cr_expect_eq(st.regions, 0);
	cr_expect_eq(st.max_regions, DAXALLOC_POOL_MAX_REGIONS);
	cr_expect_eq(st.fragmentation, 0.0);
	cr_expect_eq(daxalloc_pool_get_dev(th_pool), th_dev);
}

Test(pool, named_region_round_trip)
{
	struct daxalloc_region *r = alloc(5 * M, "buffers");
	struct daxalloc_region *again = NULL;
	uint64_t off = daxalloc_region_get_offset(r);

	cr_expect_eq(daxalloc_region_get_size(r), 6 * M, "5M rounds up to 3 units");
	cr_expect_eq(off % (2 * M), 0);
	cr_expect_geq(off, META);
	cr_expect_str_eq(daxalloc_region_get_name(r), "buffers");
	cr_expect_eq(daxalloc_region_get_pool(r), th_pool);
	cr_expect_eq((uintptr_t)daxalloc_region_get_address(r) % (2 * M), 0);
	th_fill(daxalloc_region_get_address(r), 6 * M, 42);
	daxalloc_region_close(&r);
	cr_expect_null(r);
	cr_expect_eq(stats().used, 6 * M, "closing a named region keeps it");
	cr_assert_eq(daxalloc_region_open(th_pool, "buffers", DAXALLOC_ALLOC_POPULATE, &again), 0,
		     "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_region_get_offset(again), off);
	cr_expect_eq(th_verify(daxalloc_region_get_address(again), 6 * M, 42), 0);
	cr_expect_eq(daxalloc_region_free(&again), 0, "%s", daxalloc_errmsg());
	cr_expect_null(again);
	cr_expect_eq(stats().used, 0);
	cr_expect_eq(daxalloc_region_open(th_pool, "buffers", 0, &again), -ENOENT);
}

Test(pool, unnamed_region_is_freed_on_close)
{
	struct daxalloc_region *r = alloc(2 * M, NULL);

	cr_expect_null(daxalloc_region_get_name(r));
	cr_expect_eq(stats().regions, 1);
	daxalloc_region_close(&r);
	cr_expect_eq(stats().regions, 0);
}

Test(pool, close_pool_frees_unnamed_keeps_named)
{
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };

	alloc(2 * M, NULL);
	alloc(2 * M, "keep");
	daxalloc_pool_close(&th_pool);
	cr_assert_eq(daxalloc_pool_open(th_dev, 0, &th_pool), 0, "%s", daxalloc_errmsg());
	st = stats();
	cr_expect_eq(st.regions, 1);
	cr_expect_eq(st.named_regions, 1);
}

Test(pool, zero_flag_zeroes)
{
	struct daxalloc_region *r = alloc(2 * M, "z");
	struct daxalloc_region *z = NULL;

	memset(daxalloc_region_get_address(r), 0xff, 2 * M);
	daxalloc_region_free(&r);
	cr_assert_eq(daxalloc_alloc(th_pool, 2 * M, "z", DAXALLOC_ALLOC_ZERO, &z), 0);
	for (uint64_t i = 0; i < 2 * M; i += 4096)
		cr_assert_eq(((unsigned char *)daxalloc_region_get_address(z))[i], 0);
	daxalloc_region_close(&z);
}

Test(pool, best_fit_picks_the_tightest_hole)
{
	struct daxalloc_region *a = alloc(2 * M, "a"), *b = alloc(4 * M, "b");
	struct daxalloc_region *c = alloc(2 * M, "c"), *d = alloc(6 * M, "d");
	struct daxalloc_region *e = alloc(2 * M, "e"), *x;
	uint64_t b_off = daxalloc_region_get_offset(b);

	daxalloc_region_free(&d); /* 6M hole */
	daxalloc_region_free(&b); /* 4M hole */
	cr_expect_eq(stats().free_extents, 3);
	x = alloc(4 * M, "x");
	cr_expect_eq(daxalloc_region_get_offset(x), b_off, "4M went to 0x%llx, not the 4M hole",
		     (unsigned long long)daxalloc_region_get_offset(x));
	daxalloc_region_close(&a);
	daxalloc_region_close(&c);
	daxalloc_region_close(&e);
	daxalloc_region_close(&x);
}

Test(pool, free_coalesces)
{
	struct daxalloc_region *r[5];
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };

	for (int i = 0; i < 5; i++) {
		char n[8];

		snprintf(n, sizeof(n), "r%d", i);
		r[i] = alloc(2 * M, n);
	}
	daxalloc_region_free(&r[1]);
	daxalloc_region_free(&r[3]);
	st = stats();
	cr_expect_eq(st.free_extents, 3);
	cr_expect_gt(st.fragmentation, 0.0);
	daxalloc_region_free(&r[2]); /* joins the holes of 1 and 3 */
	st = stats();
	cr_expect_eq(st.free_extents, 2);
	cr_expect_eq(st.largest_free, 52 * M);
	daxalloc_region_free(&r[0]);
	daxalloc_region_free(&r[4]);
	st = stats();
	cr_expect_eq(st.free_extents, 1);
	cr_expect_eq(st.free, 62 * M);
	cr_expect_eq(st.fragmentation, 0.0);
}

Test(pool, full_pool_says_so)
{
	struct daxalloc_region *big = alloc(62 * M, "all"), *r = NULL;

	cr_expect_eq(daxalloc_alloc(th_pool, 2 * M, NULL, 0, &r), -ENOSPC);
	cr_expect(strstr(daxalloc_errmsg(), "no free extent of 2M"), "%s", daxalloc_errmsg());
	cr_expect_null(r);
	cr_expect_eq(daxalloc_alloc(th_pool, 1ull << 40, NULL, 0, &r), -ENOSPC);
	daxalloc_region_close(&big);
}

Test(pool, rename_rules)
{
	struct daxalloc_region *a = alloc(2 * M, "a");
	struct daxalloc_region *b = alloc(2 * M, "b");

	cr_expect_eq(daxalloc_pool_rename(th_pool, "a", "b"), -EEXIST);
	cr_expect_eq(daxalloc_pool_rename(th_pool, "nope", "c"), -ENOENT);
	cr_expect_eq(daxalloc_pool_rename(th_pool, "a", "bad/name"), -EINVAL);
	cr_expect_eq(daxalloc_pool_rename(th_pool, "a", "c"), 0, "%s", daxalloc_errmsg());
	cr_expect_str_eq(daxalloc_region_get_name(a), "c");
	daxalloc_region_close(&a);
	daxalloc_region_close(&b);
	cr_expect_eq(daxalloc_region_open(th_pool, "c", 0, &a), 0);
	daxalloc_region_close(&a);
}

Test(pool, free_by_name_rules)
{
	struct daxalloc_region *a = alloc(2 * M, "a");

	cr_expect_eq(daxalloc_pool_free_name(th_pool, "a"), -EBUSY);
	cr_expect(strstr(daxalloc_errmsg(), "mapped by this process"), "%s", daxalloc_errmsg());
	daxalloc_region_close(&a);
	cr_expect_eq(daxalloc_pool_free_name(th_pool, "a"), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_pool_free_name(th_pool, "a"), -ENOENT);
	cr_expect_eq(daxalloc_region_free(&a), -EINVAL, "a freed handle is NULL");
}

Test(pool, region_freed_elsewhere)
{
	struct daxalloc_region *a = alloc(2 * M, "a");
	struct daxalloc_pool *other = NULL;
	pid_t pid;
	int st;

	/* Another handle of this process may not free it while a maps it... */
	cr_assert_eq(daxalloc_pool_open(th_dev, 0, &other), 0);
	cr_expect_eq(daxalloc_pool_free_name(other, "a"), -EBUSY);
	daxalloc_pool_close(&other);
	/*
	 * ...nor may another process while this one maps it; an operator's
	 * forced free can (after the child drops its inherited mapping).
	 */
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		daxalloc_region_close(&a);
		if (daxalloc_pool_open(th_dev, 0, &other) ||
		    daxalloc_pool_free_name(other, "a") != -EBUSY)
			_exit(1);
		daxalloc_pool_close(&other);
		_exit(daxalloc_pool_open(th_dev, DAXALLOC_POOL_FORCE_FREE, &other) ||
				      daxalloc_pool_free_name(other, "a") ?
			      2 :
			      0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "child: %d (1: plain free not refused, 2: forced free failed)",
		  WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	cr_expect_eq(daxalloc_region_free(&a), -ENOENT);
	cr_expect(strstr(daxalloc_errmsg(), "already freed"), "%s", daxalloc_errmsg());
}

struct bad_alloc {
	uint64_t size;
	const char *name;
	unsigned int flags;
	int err;
};

Test(pool, refusals_leave_metadata_identical)
{
	static const struct bad_alloc bad[] = {
		{ 0, "zero", 0, EINVAL },
		{ 2 * M, "", 0, EINVAL },
		{ 2 * M, "has/slash", 0, EINVAL },
		{ 2 * M, "ctl\x01char", 0, EINVAL },
		{ 2 * M, "-dash", 0, EINVAL },
		{ 2 * M, "1234567890123456789012345678901234567890123456789012345678901234", 0,
		  ENAMETOOLONG },
		{ 2 * M, "dup", 0, EEXIST },
		{ 2 * M, "flags", 0x100, EINVAL },
		{ UINT64_MAX, "huge", 0, ENOSPC },
		{ 64 * M, "toolarge", 0, ENOSPC },
	};
	struct daxalloc_region *dup = alloc(2 * M, "dup");
	struct daxalloc_map *raw = NULL;
	char *meta = th_raw_map(th_dev, META, &raw), *before = malloc(META_USED);

	memcpy(before, meta, META_USED);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct daxalloc_region *r = NULL;

		cr_expect_eq(daxalloc_alloc(th_pool, bad[i].size, bad[i].name, bad[i].flags, &r),
			     -bad[i].err, "case %zu: %s", i, daxalloc_errmsg());
		cr_expect_null(r);
		cr_expect_eq(memcmp(before, meta, META_USED), 0, "case %zu changed the metadata", i);
	}
	cr_expect_eq(daxalloc_pool_rename(th_pool, "dup", "a\tb"), -EINVAL);
	cr_expect_eq(daxalloc_pool_free_name(th_pool, "../dup"), -EINVAL);
	cr_expect_eq(memcmp(before, meta, META_USED), 0);
	free(before);
	daxalloc_map_delete(&raw);
	daxalloc_region_close(&dup);
}

Test(pool, create_refuses_existing_pool)
{
	struct daxalloc_pool *p2 = NULL;

	alloc(2 * M, "precious");
	cr_expect_eq(daxalloc_pool_create(th_dev, 0, &p2), -EEXIST);
	cr_expect(strstr(daxalloc_errmsg(), "1 regions (1 named)"), "%s", daxalloc_errmsg());
	cr_expect_null(p2);
	cr_expect_eq(stats().named_regions, 1);
	cr_expect_eq(daxalloc_pool_create(th_dev, 0x8, &p2), -EINVAL);
}

Test(pool, unformatted_device)
{
	struct daxalloc_dev *d2 = th_dev_open(th_ctx, "hugetlb:2M:8M");
	struct daxalloc_pool *p2 = NULL;

	cr_expect_eq(daxalloc_pool_open(d2, 0, &p2), -ENODATA);
	cr_expect(strstr(daxalloc_errmsg(), "holds no pool"), "%s", daxalloc_errmsg());
	cr_expect_null(p2);
	daxalloc_dev_close(&d2);
	d2 = th_dev_open(th_ctx, "hugetlb:2M:2M");
	cr_expect_eq(daxalloc_pool_create(d2, 0, &p2), -ENOSPC, "no room for data");
	daxalloc_dev_close(&d2);
}

/* Both copies of a slot's header (format 1.1 keeps two). */
static void put_header(char *meta, int slot, void (*change)(char *hdr))
{
	change(meta + slot * 4096);
	change(meta + slot * 4096 + 2048);
}

static void flip(char *hdr)
{
	hdr[20] ^= 0x40;
}

Test(pool, damaged_standby_table_is_harmless)
{
	struct daxalloc_map *raw = NULL;
	char *meta = th_raw_map(th_dev, META, &raw);
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_region *r;
	int standby;

	alloc(2 * M, "first");
	r = alloc(2 * M, "second");
	daxalloc_region_close(&r);
	/* a repair checkpoints the state (journal records) into both tables */
	cr_assert_eq(daxalloc_pool_check(th_dev, DAXALLOC_CHECK_REPAIR, &rep), 0, "%s",
		     th_check_said(&rep));
	standby = !rep.active_copy;
	/* the older copy's table: as an interrupted update leaves it */
	meta[8192 + standby * 256 * 1024 + 8] ^= 0x01;
	cr_expect_eq(daxalloc_pool_check(th_dev, 0, &rep), 0, "%s", th_check_said(&rep));
	cr_expect_not(rep.standby_valid);
	cr_expect_eq(stats().named_regions, 2, "nothing rolled back");
	cr_expect_eq(daxalloc_pool_check(th_dev, DAXALLOC_CHECK_REPAIR, &rep), 0);
	cr_expect(rep.standby_valid);
	daxalloc_map_delete(&raw);
}

Test(pool, both_copies_damaged)
{
	struct daxalloc_map *raw = NULL;
	char *meta = th_raw_map(th_dev, META, &raw);
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_pool *p2 = NULL;

	put_header(meta, 0, flip);
	put_header(meta, 1, flip);
	cr_expect_eq(daxalloc_pool_open(th_dev, 0, &p2), -EUCLEAN);
	cr_expect(strstr(daxalloc_errmsg(), "corrupt"), "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_pool_check(th_dev, DAXALLOC_CHECK_REPAIR, &rep), 1);
	cr_expect_eq(rep.active_copy, -1);
	cr_expect_eq(rep.first.code, DAXALLOC_CHECK_NO_VALID_COPY, "%s", th_check_said(&rep));
	cr_expect(strstr(th_check_said(&rep), "neither copy"), "%s", th_check_said(&rep));
	/* and create without force refuses to paper over it */
	cr_expect_eq(daxalloc_pool_create(th_dev, 0, &p2), -EUCLEAN);
	daxalloc_map_delete(&raw);
}

Test(pool, orphans_of_dead_processes_are_reclaimed)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_pool *p2 = NULL;

	th_make_orphan(th_dev, 4 * M);
	cr_expect_eq(daxalloc_pool_check(th_dev, 0, &rep), 1);
	cr_expect_eq(rep.orphans, 1);
	cr_expect_eq(rep.first.code, DAXALLOC_CHECK_ORPHANS, "%s", th_check_said(&rep));
	cr_expect_eq(rep.first.count, 1);
	cr_expect(strstr(th_check_said(&rep), "died"), "%s", th_check_said(&rep));
	cr_assert_eq(daxalloc_pool_open(th_dev, 0, &p2), 0);
	cr_expect_eq(daxalloc_pool_check(th_dev, 0, &rep), 0, "%s", th_check_said(&rep));
	cr_expect_eq(stats().regions, 0);
	daxalloc_pool_close(&p2);
}

static int count_region(const struct daxalloc_region_info *ri, void *arg)
{
	(void)ri;
	(*(int *)arg)++;
	return 0;
}

static int count_pin(const struct daxalloc_pin_info *pi, void *arg)
{
	(void)pi;
	(*(int *)arg)++;
	return 0;
}

/*
 * A read-only open (what listing commands and completion use) changes no
 * byte of the pool: an orphan stays for check --repair or a writer's open,
 * and calls that would write are refused.
 */
Test(pool, read_only_open_changes_nothing)
{
	struct daxalloc_map *raw = NULL;
	char *meta = th_raw_map(th_dev, META, &raw), *before = malloc(META_USED);
	struct daxalloc_region *named = alloc(2 * M, "kept"), *r = (void *)1;
	struct daxalloc_pool *ro = NULL, *rw = NULL;
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
	int n = 0, pins = 0;

	th_make_orphan(th_dev, 4 * M);
	daxalloc_region_close(&named);
	memcpy(before, meta, META_USED);

	cr_assert_eq(daxalloc_pool_open(th_dev, DAXALLOC_POOL_RDONLY, &ro), 0, "%s",
		     daxalloc_errmsg());
	cr_expect_eq(daxalloc_pool_get_stats(ro, &st), 0);
	cr_expect_eq(st.regions, 2, "the orphan is still listed");
	cr_expect_eq(daxalloc_pool_foreach_region(ro, count_region, &n), 0);
	cr_expect_eq(n, 2);
	cr_expect_eq(daxalloc_pool_foreach_pin(ro, count_pin, &pins), 0);
	cr_expect_eq(daxalloc_alloc(ro, 2 * M, "new", 0, &r), -EROFS);
	cr_expect(strstr(daxalloc_errmsg(), "read-only"), "%s", daxalloc_errmsg());
	cr_expect_null(r);
	cr_expect_eq(daxalloc_pool_free_name(ro, "kept"), -EROFS);
	cr_expect_eq(daxalloc_pool_rename(ro, "kept", "other"), -EROFS);
	/* A named region maps, read-only. */
	cr_expect_eq(daxalloc_region_open(ro, "kept", 0, &r), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_region_free(&r), -EROFS);
	cr_expect_not_null(r, "a refused free leaves the region open");
	daxalloc_region_close(&r);
	daxalloc_pool_close(&ro);
	cr_expect_eq(memcmp(before, meta, META_USED), 0, "a read-only open changed the metadata");

	/* The test can fail: a writer's open reclaims the orphan, which changes it. */
	cr_assert_eq(daxalloc_pool_open(th_dev, 0, &rw), 0);
	cr_expect_neq(memcmp(before, meta, META_USED), 0);
	daxalloc_pool_close(&rw);
	cr_expect_eq(daxalloc_pool_open(th_dev, 0x80, &ro), -EINVAL);
	free(before);
	daxalloc_map_delete(&raw);
}

/* Another process maps a region: freeing it would hand that memory out under it. */
Test(pool, free_refused_while_another_process_maps_it)
{
	struct daxalloc_region *r = alloc(4 * M, "shared");
	struct daxalloc_pool *forced = NULL;
	char pid[32];
	pid_t child;
	struct handshake go;

	daxalloc_region_close(&r);
	child = th_hold_region(th_dev, "shared", &go);
	snprintf(pid, sizeof(pid), "mapped by pid %d", child);
	cr_expect_eq(daxalloc_pool_free_name(th_pool, "shared"), -EBUSY);
	cr_expect(strstr(daxalloc_errmsg(), pid), "%s", daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "'shared'"), "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_region_open(th_pool, "shared", 0, &r), 0);
	cr_expect_eq(daxalloc_region_free(&r), -EBUSY, "%s", daxalloc_errmsg());
	cr_expect_not_null(r);
	daxalloc_region_close(&r);
	/* The operator's override: freed although the child still maps it. */
	cr_assert_eq(daxalloc_pool_open(th_dev, DAXALLOC_POOL_FORCE_FREE, &forced), 0);
	cr_expect_eq(daxalloc_pool_free_name(forced, "shared"), 0, "%s", daxalloc_errmsg());
	daxalloc_pool_close(&forced);
	cr_expect_eq(th_release_region(child, &go), 0);
	cr_expect_eq(daxalloc_pool_free_name(th_pool, "shared"), -ENOENT);
}

/* In a new process: open the pool and free @name; exit 0 if refused with -EBUSY naming @want. */
static pid_t try_free_elsewhere(const char *name, const char *want, bool new_pid_ns)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct daxalloc_pool *p = NULL;
		int rc;

		if (new_pid_ns) {
			pid_t inner;

			/* A container: it sees neither the host's processes nor their /proc. */
			if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
				_exit(20);
			inner = fork();
			if (inner != 0)
				_exit(inner < 0 ? 21 : th_exit_status(inner));
			if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			    mount("proc", "/proc", "proc", 0, NULL) < 0)
				_exit(22);
		}
		if (daxalloc_pool_open(th_dev, 0, &p) < 0)
			_exit(23);
		rc = daxalloc_pool_free_name(p, name);
		if (rc != -EBUSY || (want && !strstr(daxalloc_errmsg(), want))) {
			fprintf(stderr, "free '%s': %d: %s\n", name, rc, daxalloc_errmsg());
			_exit(1);
		}
		daxalloc_pool_close(&p);
		_exit(0);
	}
	return pid;
}

/* Mapped by a process the freer cannot see (its pid namespace hides it): still refused. */
Test(pool, free_refused_from_another_pid_namespace)
{
	struct daxalloc_region *r = alloc(4 * M, "seen");
	char want[48];

	if (geteuid() != 0)
		cr_skip_test("a new pid namespace needs root");
	th_fill(daxalloc_region_get_address(r), 4 * M, 31);
	snprintf(want, sizeof(want), "mapped by pid %d", getpid());
	cr_expect_eq(th_exit_status(try_free_elsewhere("seen", want, true)), 0,
		     "a process in another pid namespace freed a region this one maps");
	cr_expect_eq(th_verify(daxalloc_region_get_address(r), 4 * M, 31), 0);
	cr_expect_eq(daxalloc_region_free(&r), 0, "%s", daxalloc_errmsg());
}

/*
 * fork(): the child maps what its parent mapped.  Once the parent lets its
 * handle go, the child still holds the memory: neither the parent nor a
 * third process may free it until the child is gone.
 */
Test(pool, free_refused_while_a_forked_child_maps_it)
{
	struct daxalloc_region *r = alloc(4 * M, "inherited");
	struct handshake go;
	char want[48];
	pid_t child;

	child = handshake_fork(&go);
	if (child == 0)
		_exit(handshake_wait_go(&go) < 0);
	daxalloc_region_close(&r);
	snprintf(want, sizeof(want), "mapped by pid %d", child);
	cr_expect_eq(daxalloc_pool_free_name(th_pool, "inherited"), -EBUSY,
		     "the parent freed what its child maps");
	cr_expect(strstr(daxalloc_errmsg(), want), "%s", daxalloc_errmsg());
	cr_expect_eq(th_exit_status(try_free_elsewhere("inherited", want, false)), 0,
		     "another process freed what a forked child maps");
	handshake_go(&go);
	handshake_close(&go);
	cr_expect_eq(th_exit_status(child), 0);
	cr_expect_eq(daxalloc_pool_free_name(th_pool, "inherited"), 0, "%s", daxalloc_errmsg());
}

/*
 * The pool's uuid tells its journal records from those of an earlier pool
 * on the device: without random bytes, formatting fails and changes
 * nothing (it once fell back to the time of day).
 */
Test(pool, format_without_random_bytes_fails)
{
	struct daxalloc_map *raw = NULL;
	char *meta = th_raw_map(th_dev, META, &raw), *before = malloc(META_USED);
	pid_t pid;
	int st;

	alloc(2 * M, "kept");
	memcpy(before, meta, META_USED);
	pid = fork();
	if (pid == 0) {
		struct daxalloc_pool *p = NULL;
		int rc;

		if (refuse_syscall(SYS_getrandom, ENOSYS) < 0)
			_exit(3);
		rc = daxalloc_pool_create(th_dev, DAXALLOC_POOL_FORCE, &p);
		if (rc != -ENOSYS || !strstr(daxalloc_errmsg(), "uuid") || p)
			fprintf(stderr, "format: %d %s\n", rc, daxalloc_errmsg());
		_exit(rc == -ENOSYS && strstr(daxalloc_errmsg(), "uuid") && !p ? 0 : 1);
	}
	st = th_exit_status(pid);
	cr_assert_neq(st, 3, "no seccomp filter here");
	cr_expect_eq(st, 0, "format without random bytes did not fail as it should");
	cr_expect_eq(memcmp(before, meta, META_USED), 0, "the failed format changed the metadata");
	free(before);
	daxalloc_map_delete(&raw);
}

static int kill_at, persists;

static void die_at_persist(enum persist_seam_event ev, uint64_t off, uint64_t len)
{
	(void)off;
	(void)len;
	if (ev == PERSIST_SEAM_META && ++persists == kill_at)
		raise(SIGKILL);
}

struct listing {
	char text[4096];
	size_t len;
};

static int list_region(const struct daxalloc_region_info *ri, void *arg)
{
	struct listing *l = arg;

	l->len += (size_t)snprintf(l->text + l->len, sizeof(l->text) - l->len, "%s@%llx+%llx ",
				   ri->name, (unsigned long long)ri->offset,
				   (unsigned long long)ri->size);
	return l->len < sizeof(l->text) - 1 ? 0 : 1;
}

static void list_regions(struct daxalloc_pool *pool, struct listing *l)
{
	l->len = 0;
	l->text[0] = 0;
	cr_assert_eq(daxalloc_pool_foreach_region(pool, list_region, l), 0, "%s", daxalloc_errmsg());
}

/*
 * A handle that let the lock go last, with the state loaded, does not read
 * the state again while nobody has held the lock since.  A process killed
 * holding it leaves "owner died" there, not its name: killed at each
 * persist of an allocation in turn, what it left is seen by the live
 * handle exactly as by a fresh open.
 */
Test(pool, a_live_handle_sees_what_a_killed_holder_left)
{
	struct listing seen, fresh;
	int died = 0, st = -1;

	for (kill_at = 1; kill_at < 24 && st != 0; kill_at++) {
		struct daxalloc_pool *p = NULL;
		struct handshake h;
		char name[32];
		pid_t pid;

		snprintf(name, sizeof(name), "killed-%d", kill_at);
		pid = handshake_fork(&h);
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			struct daxalloc_region *r = NULL;

			if (daxalloc_pool_open(th_dev, 0, &p) < 0 ||
			    handshake_ready(&h, NULL, 0) < 0 || handshake_wait_go(&h) < 0)
				_exit(1);
			persists = 0;
			persist_test_seam = die_at_persist;
			_exit(daxalloc_alloc(p, 2 * M, name, 0, &r) < 0 ? 2 : 0);
		}
		cr_assert(handshake_wait_ready(&h, NULL, 0), "the child could not open the pool");
		/* the child has opened: this handle lets the lock go last, then the child takes it */
		list_regions(th_pool, &seen);
		handshake_go(&h);
		st = th_exit_status(pid);
		handshake_close(&h);
		cr_assert(st == 0 || st == 128 + SIGKILL, "the child failed (%d) at persist %d", st,
			  kill_at);
		died += st != 0;
		list_regions(th_pool, &seen);
		cr_assert_eq(daxalloc_pool_open(th_dev, 0, &p), 0, "%s", daxalloc_errmsg());
		list_regions(p, &fresh);
		daxalloc_pool_close(&p);
		cr_expect_str_eq(seen.text, fresh.text,
				 "killed at persist %d: the live handle saw %s", kill_at,
				 st ? "the state before" : "another state");
	}
	cr_expect_eq(st, 0, "the allocation never got past its persists");
	cr_expect_gt(died, 0, "no child died holding the lock");
}

static int alloc_named_elsewhere(const void *arg)
{
	struct daxalloc_pool *p = NULL;
	struct daxalloc_region *r = NULL;

	if (daxalloc_pool_open(th_dev, 0, &p) < 0 || daxalloc_alloc(p, 2 * M, arg, 0, &r) < 0)
		return 1;
	daxalloc_region_close(&r);
	daxalloc_pool_close(&p);
	return 0;
}

/*
 * A hold that did not load the state (listing pins takes the lock without
 * it) must not name its handle as up to date: after another process's
 * change, the handle's next look still sees that change.
 */
Test(pool, a_hold_without_a_load_claims_nothing)
{
	struct listing seen, fresh;
	struct daxalloc_pool *p = NULL;
	int pins = 0;

	list_regions(th_pool, &seen); /* this handle lets the lock go last */
	cr_assert_eq(th_in_child(alloc_named_elsewhere, "made-elsewhere"), 0,
		     "the child could not allocate");
	cr_assert_eq(daxalloc_pool_foreach_pin(th_pool, count_pin, &pins), 0, "%s",
		     daxalloc_errmsg());
	list_regions(th_pool, &seen);
	cr_assert_eq(daxalloc_pool_open(th_dev, 0, &p), 0, "%s", daxalloc_errmsg());
	list_regions(p, &fresh);
	daxalloc_pool_close(&p);
	cr_expect(strstr(seen.text, "made-elsewhere@"), "the handle missed another's change: %s",
		  seen.text);
	cr_expect_str_eq(seen.text, fresh.text);
}

/* Unnamed alloc+free pairs through @pool until its journal holds at least @records. */
static void changes_until(struct daxalloc_pool *pool, uint32_t records)
{
	while (pool->jused < records) {
		struct daxalloc_region *r = th_alloc(pool, 2 * M, NULL);

		cr_assert_eq(daxalloc_region_free(&r), 0, "%s", daxalloc_errmsg());
	}
}

static void reopen(void)
{
	daxalloc_pool_close(&th_pool);
	cr_assert_eq(daxalloc_pool_open(th_dev, 0, &th_pool), 0, "%s", daxalloc_errmsg());
}

/*
 * A writer's close folds a journal of pool_fold_min() records or more
 * into the table: the next open replays none and finds the same regions.
 * With fewer, the records stay for the next open to replay.
 */
Test(pool, a_writers_close_folds_a_long_journal)
{
	uint32_t min = pool_fold_min(th_pool), used;
	struct listing before, after;
	uint64_t seq;

	cr_assert_gt(min, 2);
	for (int i = 0; i < 3; i++) {
		char name[16];
		struct daxalloc_region *r;

		snprintf(name, sizeof(name), "keep-%d", i);
		r = alloc(2 * M, name);
		daxalloc_region_close(&r);
	}
	changes_until(th_pool, min - 2);
	used = th_pool->jused;
	cr_assert_lt(used, min);
	list_regions(th_pool, &before);
	reopen();
	cr_expect_eq(th_pool->jused, used, "%u records before the close, %u replayed after", used,
		     th_pool->jused);
	list_regions(th_pool, &after);
	cr_expect_str_eq(after.text, before.text);

	changes_until(th_pool, min);
	seq = th_pool->hdr.seq;
	list_regions(th_pool, &before);
	reopen();
	cr_expect_eq(th_pool->jused, 0, "the close left %u records to replay", th_pool->jused);
	cr_expect_gt(th_pool->hdr.seq, seq, "no checkpoint since");
	list_regions(th_pool, &after);
	cr_expect_str_eq(after.text, before.text);
}

static int close_inherited(const void *arg)
{
	(void)arg;
	daxalloc_pool_close(&th_pool);
	return 0;
}

/* Closes that must not write fold nothing: a read-only handle's, a forked child's. */
Test(pool, only_a_writers_own_close_folds)
{
	struct daxalloc_map *raw = NULL;
	char *meta = th_raw_map(th_dev, META, &raw), *before = malloc(META_USED);
	struct daxalloc_pool *ro = NULL;

	changes_until(th_pool, pool_fold_min(th_pool));
	memcpy(before, meta, META_USED);
	cr_assert_eq(daxalloc_pool_open(th_dev, DAXALLOC_POOL_RDONLY, &ro), 0, "%s",
		     daxalloc_errmsg());
	cr_expect_eq(ro->jused, th_pool->jused);
	daxalloc_pool_close(&ro);
	cr_expect_eq(memcmp(before, meta, META_USED), 0, "a read-only close wrote the metadata");
	cr_assert_eq(th_in_child(close_inherited, NULL), 0);
	cr_expect_eq(memcmp(before, meta, META_USED), 0, "a forked child's close wrote the metadata");
	/* the test can fail: the writer's own close folds */
	reopen();
	cr_expect_neq(memcmp(before, meta, META_USED), 0);
	cr_expect_eq(th_pool->jused, 0);
	free(before);
	daxalloc_map_delete(&raw);
}
