// SPDX-License-Identifier: LGPL-2.1-or-later
/* Ownership rules of pools on the stand-in (see tests/common/ownership.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ownership.h"
#include "pool-helpers.h"
#include "pool.h"

static struct daxalloc_ctx *ctx;
static struct daxalloc_dev *dev;

static void setup(void)
{
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	dev = th_dev_open(ctx, "hugetlb:2M:64M");
}

static void teardown(void)
{
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}

TestSuite(ownership, .init = setup, .fini = teardown, .timeout = 300);

Test(ownership, concurrent_create_formats_once) { own_create_race(dev, 200); }
Test(ownership, forked_child_never_frees_the_parents) { own_fork_child(dev); }
Test(ownership, two_handles_one_process) { own_two_handles(dev); }
Test(ownership, alloc_reclaims_orphans_before_enospc) { own_enospc_reclaims_orphans(dev); }

static const struct own_pinner uring_pinner = { DAXALLOC_PIN_URING, NULL };

Test(ownership, container_regions_are_never_reclaimed)
{
	if (geteuid() != 0)
		cr_skip_test("new pid and mount namespaces need root");
	own_container(dev, "hugetlb:2M:64M", NULL, &uring_pinner);
}

/* In a new process: open the pool; exit 0 when that gives @want (and names @who, if set). */
static int open_elsewhere(int want, const char *who)
{
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct daxalloc_pool *p = NULL;
		int rc = daxalloc_pool_open(dev, 0, &p);

		if (rc != want || (who && !strstr(daxalloc_errmsg(), who))) {
			fprintf(stderr, "open: %d: %s\n", rc, daxalloc_errmsg());
			_exit(1);
		}
		daxalloc_pool_close(&p);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/*
 * A reconfiguration closes the pool between its last look for users and
 * the disable (reconfigure.c, rc_gate()): others back off with -EBUSY
 * naming it while it lives, the reconfigurer itself goes on, and the
 * mark of one that died, or that reopened, stops nobody.
 */
Test(ownership, reconfiguration_closes_the_pool)
{
	struct daxalloc_pool *pool = th_pool_create(dev), *again = NULL;
	char who[48];
	pid_t pid;
	int st;

	snprintf(who, sizeof(who), "pid %d is reconfiguring it", getpid());
	cr_assert_eq(pool_lock(pool), 0, "%s", daxalloc_errmsg());
	owner_close_for(pool, 60);
	pool_unlock(pool);
	cr_expect_eq(open_elsewhere(-EBUSY, who), 0, "another process opened a pool being reconfigured");
	cr_expect_eq(daxalloc_pool_open(dev, 0, &again), 0, "the reconfigurer itself: %s",
		     daxalloc_errmsg());
	daxalloc_pool_close(&again);
	cr_assert_eq(pool_lock(pool), 0);
	owner_reopen(pool);
	pool_unlock(pool);
	cr_expect_eq(open_elsewhere(0, NULL), 0, "the pool stayed closed after the reconfiguration");

	/* A reconfigurer that dies leaves a mark that stops nobody. */
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct daxalloc_pool *p = NULL;

		if (daxalloc_pool_open(dev, 0, &p) < 0 || pool_lock(p) < 0)
			_exit(1);
		owner_close_for(p, 60);
		pool_unlock(p);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_expect_eq(open_elsewhere(0, NULL), 0, "a dead reconfigurer's mark closed the pool");

	/* Bytes a device held before (a test pattern) are no mark. */
	memset((char *)pool->mm.addr + DXA_LOCK_OFFSET + 36, 0x77, 28);
	cr_expect_eq(open_elsewhere(0, NULL), 0, "stale bytes in the lock area closed the pool");
	daxalloc_pool_close(&pool);
}

/*
 * A child made without fork()'s handlers (the clone system call itself,
 * as _Fork() and some runtimes do) is still told from its parent: the
 * library's cached pid lives in a page the kernel wipes in any child.
 */
Test(ownership, child_of_a_raw_clone_is_refused_too)
{
	struct daxalloc_pool *pool = th_pool_create(dev);
	struct daxalloc_region *r = NULL;
	long pid;

	/* the parent's pid is cached by now */
	cr_assert_eq(daxalloc_alloc(pool, 2 << 20, NULL, 0, &r), 0, "%s", daxalloc_errmsg());
	daxalloc_region_close(&r);
	pid = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int rc = daxalloc_alloc(pool, 2 << 20, NULL, 0, &r);

		syscall(SYS_exit_group, rc == -ECHILD ? 0 : 1);
	}
	cr_expect_eq(th_exit_status((pid_t)pid), 0,
		     "a child of a raw clone used its parent's handle");
	daxalloc_pool_close(&pool);
}
