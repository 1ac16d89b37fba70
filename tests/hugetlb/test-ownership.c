// SPDX-License-Identifier: LGPL-2.1-or-later
/* Ownership rules of pools on the stand-in (see tests/common/ownership.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
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

Test(ownership, concurrent_create_formats_once)
{
	own_create_race(dev, 200);
}
Test(ownership, forked_child_never_frees_the_parents)
{
	own_fork_child(dev);
}
Test(ownership, two_handles_one_process)
{
	own_two_handles(dev);
}
Test(ownership, alloc_reclaims_orphans_before_enospc)
{
	own_enospc_reclaims_orphans(dev);
}

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
	cr_expect_eq(open_elsewhere(-EBUSY, who), 0,
		     "another process opened a pool being reconfigured");
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

/* The claimer below: the pool lock is let go, the lease kept, as by a process being killed. */
static int claim_pipe = -1;

static void claim_then_die_slowly(struct daxalloc_pool *p)
{
	char c = 1;

	pool_unlock(p);
	if (write(claim_pipe, &c, 1) < 0)
		_exit(2);
	pause();
	_exit(3);
}

/*
 * Killed, a process's threads end one by one: the pool lock its main
 * thread held is free before the lease its lease thread holds is.  A
 * process killed while it claimed a dead owner's slot thus shows, for a
 * moment, a lease held over what the slot's dead owner mapped: that must
 * not make a region of the dead owner's look mapped by a live process.
 */
Test(ownership, a_claim_cut_short_revives_no_dead_owner)
{
	struct daxalloc_pool *pool = th_pool_create(dev), *p = NULL;
	struct daxalloc_region *r = NULL;
	int fds[2], st;
	pid_t a, b;
	char c;

	daxalloc_pool_close(&pool);
	/* A maps a named region and is killed. */
	a = fork();
	cr_assert_geq(a, 0);
	if (a == 0) {
		if (daxalloc_pool_open(dev, 0, &p) < 0 ||
		    daxalloc_alloc(p, 2 << 20, "kept", 0, &r) < 0)
			_exit(1);
		raise(SIGKILL);
	}
	cr_assert_eq(waitpid(a, &st, 0), a);
	cr_assert(WIFSIGNALED(st), "the first child failed: status %#x", st);
	/* B takes A's slot and is stopped with the lease held and the pool lock free. */
	cr_assert_eq(pipe(fds), 0);
	b = fork();
	cr_assert_geq(b, 0);
	if (b == 0) {
		/* Never outlives the test, whatever fails there: it holds the stand-in's pages. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(60);
		claim_pipe = fds[1];
		owner_test_claimed = claim_then_die_slowly;
		daxalloc_pool_open(dev, 0, &p);
		_exit(4);
	}
	cr_assert_eq(read(fds[0], &c, 1), 1, "the second child never claimed a slot");
	cr_assert_eq(daxalloc_pool_open(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_pool_free_name(pool, "kept"), 0,
		     "a region of a dead process was refused: %s", daxalloc_errmsg());
	kill(b, SIGKILL);
	waitpid(b, &st, 0);
	close(fds[0]);
	close(fds[1]);
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
