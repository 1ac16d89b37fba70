// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Media errors nobody listed: the kernel learns of poison only when a load
 * consumes it, and tells the process with SIGBUS.  No real poison can be
 * made safely here; a page of the library's metadata mapping replaced by
 * a mapping of an empty memfd faults the same way (SIGBUS, BUS_ADRERR) on
 * every access, as unlisted poison would.  The pool lives on the
 * test-only memfd device (4K pages), so no huge page is needed.
 *
 * Opens and checks read around such a page by the rules of a damaged
 * copy: the other copy when the newest state reads elsewhere, else a
 * refusal naming the unreadable bytes, and check names what a repair
 * would lose.  A SIGBUS that is not the library's (elsewhere, or outside
 * its reads) ends the process as it would without the library, or
 * reaches the handler the program installed before it.  Each case died
 * of SIGBUS before the library guarded its reads.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daxalloc.h"
#include "metadata.h"
#include "persist.h"
#include "pool.h"
#include "pool-helpers.h"
#include "testdev.h"

#define K UINT64_C(4096)
#define M (UINT64_C(1) << 20)

static struct daxalloc_ctx *ctx;
static struct daxalloc_dev *dev;

/* Pages (metadata offsets) made to fault in every metadata mapping the library makes. */
static uint64_t holes[4];
static int nholes;
static char *last_meta;

/* A page that faults on any access: an empty memfd mapped there (at @addr, or anywhere). */
static char *hole_at(void *addr)
{
	int fd = memfd_create("sigbus-hole", MFD_CLOEXEC);
	void *p = mmap(addr, K, PROT_READ | PROT_WRITE, MAP_SHARED | (addr ? MAP_FIXED : 0), fd, 0);

	if (fd < 0 || p == MAP_FAILED)
		abort();
	close(fd);
	return p;
}

static void on_mapped(const struct meta_map *mm)
{
	last_meta = mm->addr;
	for (int i = 0; i < nholes; i++)
		hole_at(last_meta + holes[i]);
}

static void poison(uint64_t off)
{
	holes[nholes++] = off & ~(K - 1);
}

static void unpoison(void)
{
	nholes = 0;
}

static void make_pool(bool checkpoints)
{
	struct daxalloc_pool *pool;

	pool_test_checkpoint_each = checkpoints;
	pool = th_pool_create(dev);
	daxalloc_region_close((struct daxalloc_region *[]){ th_alloc(pool, 2 * M, "first") });
	daxalloc_region_close((struct daxalloc_region *[]){ th_alloc(pool, 4 * M, "second") });
	daxalloc_pool_close(&pool);
}

static void setup(void)
{
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	/* 2,048 units of data: the 2.0 layout, whose places the cases name */
	cr_assert_eq(testdev_open(ctx, dxa_meta_size(K) + DXA_MAX_ENTRIES * K, K, &dev), 0, "%s",
		     daxalloc_errmsg());
	persist_test_mapped = on_mapped;
}

static void teardown(void)
{
	persist_test_mapped = NULL;
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}

TestSuite(sigbus, .init = setup, .fini = teardown, .timeout = 120);

/* ---- what the pool shows ---- */

static int count_region(const struct daxalloc_region_info *ri, void *arg)
{
	int *n = arg;

	(*n)++;
	return strcmp(ri->name, "first") && strcmp(ri->name, "second") ? -1 : 0;
}

/* Open with @flags; 0 when the two regions are there, else the error. */
static int open_both(unsigned int flags)
{
	struct daxalloc_pool *p = NULL;
	int rc = daxalloc_pool_open(dev, flags, &p), n = 0;

	if (rc < 0)
		return rc;
	rc = daxalloc_pool_foreach_region(p, count_region, &n);
	daxalloc_pool_close(&p);
	return rc < 0 ? rc : n == 2 ? 0 : -ERANGE;
}

static int newest_slot(void)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };

	cr_assert_eq(daxalloc_pool_check(dev, 0, &rep), 0, "%s", th_check_said(&rep));
	return rep.active_copy;
}

/* The words "unreadable" and the first byte of [@off, +4K) as the library prints it. */
static void expect_names_range(const char *msg, uint64_t off)
{
	char hex[32];

	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)(off & ~(K - 1)));
	cr_expect(strstr(msg, "unreadable"), "not said unreadable: %s", msg);
	cr_expect(strstr(msg, hex), "does not name %s: %s", hex, msg);
}

/* ---- metadata that faults ---- */

Test(sigbus, older_table_unreadable_opens_from_the_newest)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct th_findings f = { 0 };
	int n;

	make_pool(true);
	n = newest_slot();
	poison(dxa_table_offset(!n));
	cr_expect_eq(open_both(DAXALLOC_POOL_RDONLY), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(open_both(0), 0, "%s", daxalloc_errmsg());
	/* the copy that lost its redundancy is a problem, not a rollback */
	cr_expect_gt(daxalloc_pool_check_each(dev, 0, &rep, th_finding, &f), 0);
	cr_expect_eq(f.losses, 0);
	cr_expect(th_findings_say(&f, "unreadable"), "check did not say copy %d is unreadable", !n);
	cr_expect_eq(rep.active_copy, n);
	cr_expect_eq(rep.regions, 2);
	unpoison();
	cr_expect_eq(open_both(0), 0, "%s", daxalloc_errmsg());
}

/* With [@off, +4K) unreadable, open refuses (@want) naming it, check names a loss, nothing is written. */
static void refused_and_loss_named(uint64_t off, int want)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct th_findings f = { 0 };

	poison(off);
	cr_expect_eq(open_both(DAXALLOC_POOL_RDONLY), want, "opened with 0x%llx unreadable",
		     (unsigned long long)off);
	expect_names_range(daxalloc_errmsg(), off);
	cr_expect_eq(open_both(0), want);
	cr_expect_gt(daxalloc_pool_check_each(dev, 0, &rep, th_finding, &f), 0);
	cr_expect_gt(f.losses, 0, "what going back loses is not named");
	/* a repair without force names the loss and writes nothing */
	cr_expect_gt(daxalloc_pool_check(dev, DAXALLOC_CHECK_REPAIR, &rep), 0);
	cr_expect_eq(rep.repaired, 0);
	unpoison();
	cr_expect_eq(open_both(0), 0, "%s", daxalloc_errmsg());
}

Test(sigbus, newest_table_unreadable_refuses_and_check_names_the_loss)
{
	int n;

	make_pool(true);
	n = newest_slot();
	refused_and_loss_named(dxa_table_offset(n), -EUCLEAN);
	cr_expect_eq(newest_slot(), n, "the unreadable table was rolled back");
}

Test(sigbus, header_page_unreadable_refuses)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	int n;

	make_pool(true);
	n = newest_slot();
	/* either slot: the one left may not be the newest */
	for (int slot = 0; slot < 2; slot++) {
		unpoison();
		poison(dxa_hdr_offset(slot, 0));
		cr_expect_eq(open_both(DAXALLOC_POOL_RDONLY), -EUCLEAN, "slot %d (newest %d)", slot,
			     n);
		expect_names_range(daxalloc_errmsg(), dxa_hdr_offset(slot, 0));
		cr_expect_gt(daxalloc_pool_check(dev, 0, &rep), 0);
	}
	unpoison();
	cr_expect_eq(open_both(0), 0, "%s", daxalloc_errmsg());
}

Test(sigbus, journal_records_unreadable_refuse_and_check_names_the_loss)
{
	make_pool(false);
	refused_and_loss_named(dxa_jrec_offset(0, 0), -EIO);
}

Test(sigbus, lock_area_unreadable_refuses)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };

	make_pool(true);
	poison(DXA_LOCK_OFFSET);
	cr_expect_eq(open_both(0), -EIO);
	expect_names_range(daxalloc_errmsg(), DXA_LOCK_OFFSET);
	cr_expect_eq(daxalloc_pool_check(dev, 0, &rep), -EIO);
	expect_names_range(daxalloc_errmsg(), DXA_LOCK_OFFSET);
	unpoison();
	cr_expect_eq(open_both(0), 0, "%s", daxalloc_errmsg());
}

static int count_unnamed(const struct daxalloc_region_info *ri, void *arg)
{
	*(int *)arg += !ri->name[0];
	return 0;
}

Test(sigbus, unreadable_lease_slots_are_skipped)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_pool *p = NULL, *q = NULL, *held[31];
	struct daxalloc_region *r = NULL;
	int unnamed = 0;

	make_pool(true);
	/*
	 * Lease slots 31-62 share a page with nothing the pool lock reads:
	 * handles hold slots 0-30, the next is made to meet that page.
	 */
	for (int i = 0; i < 31; i++)
		cr_assert_eq(daxalloc_pool_open(dev, 0, &held[i]), 0, "%s", daxalloc_errmsg());
	poison(DXA_LOCK_OFFSET + 5 * K);
	cr_assert_eq(daxalloc_pool_open(dev, 0, &p), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_alloc(p, 2 * M, NULL, 0, &r), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_pool_check(dev, 0, &rep), 0, "%s", th_check_said(&rep));
	cr_expect_eq(rep.orphans, 0, "a live handle's region taken for an orphan");
	/* a second open reclaims nothing of the first's */
	cr_assert_eq(daxalloc_pool_open(dev, 0, &q), 0, "%s", daxalloc_errmsg());
	daxalloc_pool_close(&q);
	cr_expect_eq(daxalloc_pool_foreach_region(p, count_unnamed, &unnamed), 0);
	cr_expect_eq(unnamed, 1);
	daxalloc_region_close(&r);
	daxalloc_pool_close(&p);
	for (int i = 0; i < 31; i++)
		daxalloc_pool_close(&held[i]);
}

static int count_pin(const struct daxalloc_pin_info *info, void *arg)
{
	(void)info;
	(*(int *)arg)++;
	return 0;
}

/* Where the pin ledger lies in the lock area (pin-ledger.c). */
#define LEDGER_OFFSET (DXA_LOCK_OFFSET + (UINT64_C(512) << 10))

Test(sigbus, pin_ledger_unreadable_refuses_frees)
{
	struct daxalloc_pool *p = NULL, *f = NULL;
	int pins = 0;

	make_pool(true);
	poison(LEDGER_OFFSET);
	cr_assert_eq(daxalloc_pool_open(dev, 0, &p), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_pool_foreach_pin(p, count_pin, &pins), -EIO);
	expect_names_range(daxalloc_errmsg(), LEDGER_OFFSET);
	/* a pin it cannot see may still reach the memory: no free, no format */
	cr_expect_eq(daxalloc_pool_free_name(p, "first"), -EIO);
	expect_names_range(daxalloc_errmsg(), LEDGER_OFFSET);
	cr_expect_eq(daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &f), -EIO);
	daxalloc_pool_close(&p);
	cr_expect_eq(open_both(0), 0, "%s", daxalloc_errmsg());
	unpoison();
	cr_assert_eq(daxalloc_pool_open(dev, 0, &p), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_pool_free_name(p, "first"), 0, "%s", daxalloc_errmsg());
	daxalloc_pool_close(&p);
}

/* ---- a SIGBUS that is not the library's ---- */

/* Run @fn in a child; its wait status. */
static int in_child(void (*fn)(void))
{
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* what ends it is in its status; a sanitizer's report of it is noise */
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 2);
		fn();
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static char *own_hole;

static void touch_own_hole(void)
{
	(void)*(volatile char *)own_hole;
}

/* A read of the faulting older table that does not fail: check reads both copies. */
static int read_older_table(void)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };

	return daxalloc_pool_check(dev, 0, &rep);
}

/* Let the library read unreadable metadata (installing its handler), then touch @own_hole. */
static void use_library_then_touch(void)
{
	if (read_older_table() < 0)
		_exit(3);
	touch_own_hole();
}

/* Touch the unreadable metadata page outside any read of the library's (the pool open). */
static void touch_metadata_hole(void)
{
	struct daxalloc_pool *p = NULL;

	if (daxalloc_pool_open(dev, DAXALLOC_POOL_RDONLY, &p) != 0)
		_exit(3);
	(void)*(volatile char *)(last_meta + holes[0]);
}

static void raise_sigbus(void)
{
	raise(SIGBUS);
}

static void use_library_then_raise(void)
{
	if (read_older_table() < 0)
		_exit(3);
	raise(SIGBUS);
}

static void describe(int st, char *buf, size_t len)
{
	if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
}

static void expect_same_end(int want, int got, const char *what)
{
	char a[40], b[40];

	describe(want, a, sizeof(a));
	describe(got, b, sizeof(b));
	cr_expect_eq(want, got, "%s: %s, without the library %s", what, b, a);
}

static void make_pool_with_checkpoints(void)
{
	make_pool(true);
}

/*
 * The pool of these cases: its older table faults, so check reads around
 * a fault (opening reads the newest copy's table alone).  Made in a child, and the newest copy found by looking:
 * this process reads no metadata through the library, so its children
 * start without the library's handler, as a program does.
 */
static void older_table_faults(void)
{
	struct daxalloc_map *raw = NULL;
	const struct dxa_hdr *h[2];
	char *meta;
	int st = in_child(make_pool_with_checkpoints);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "making the pool failed (%#x)", st);
	cr_assert_eq(daxalloc_map_new(dev, 0, 2 * DXA_HDR_SLOT_SIZE, NULL, 0, &raw), 0, "%s",
		     daxalloc_errmsg());
	meta = daxalloc_map_get_address(raw);
	h[0] = (const struct dxa_hdr *)(meta + dxa_hdr_offset(0, 0));
	h[1] = (const struct dxa_hdr *)(meta + dxa_hdr_offset(1, 0));
	poison(dxa_table_offset(h[0]->seq > h[1]->seq ? 1 : 0));
	daxalloc_map_delete(&raw);
	own_hole = hole_at(NULL);
}

Test(sigbus, other_faults_end_the_process_as_without_the_library)
{
	int plain;

	older_table_faults();
	/* without the library (under a sanitizer: its report and exit status) */
	plain = in_child(touch_own_hole);
	cr_expect(WIFSIGNALED(plain) || WEXITSTATUS(plain) != 0, "a fault did not end the child");
	expect_same_end(plain, in_child(use_library_then_touch), "a fault elsewhere");
	expect_same_end(plain, in_child(touch_metadata_hole),
			"a fault in the metadata outside a read");
	expect_same_end(in_child(raise_sigbus), in_child(use_library_then_raise), "a SIGBUS sent");
}

/* The page the program's handler expects the fault in: its own hole, or the metadata's. */
static char *volatile want_page;

static void own_siginfo(int sig, siginfo_t *si, void *uc)
{
	char *a = si->si_addr, *w = want_page ? want_page : last_meta + holes[0];

	(void)uc;
	_exit(sig == SIGBUS && si->si_code == BUS_ADRERR && a >= w && a < w + K ? 42 : 41);
}

static void own_plain(int sig)
{
	_exit(sig == SIGBUS ? 43 : 41);
}

static void with_siginfo_handler(void)
{
	struct sigaction sa = { .sa_sigaction = own_siginfo, .sa_flags = SA_SIGINFO };

	sigaction(SIGBUS, &sa, NULL);
	want_page = own_hole;
	use_library_then_touch();
}

static void with_plain_handler(void)
{
	struct sigaction sa = { .sa_handler = own_plain };

	sigaction(SIGBUS, &sa, NULL);
	use_library_then_touch();
}

/* The program's handler installed after the library's: it sees every SIGBUS, the library's too. */
static void with_handler_after_ours(void)
{
	struct sigaction sa = { .sa_sigaction = own_siginfo, .sa_flags = SA_SIGINFO };

	if (read_older_table() < 0)
		_exit(3);
	sigaction(SIGBUS, &sa, NULL);
	want_page = NULL; /* the metadata mapping the next check makes */
	read_older_table();
	_exit(4);
}

Test(sigbus, other_faults_reach_the_programs_handler)
{
	int st;

	older_table_faults();
	st = in_child(with_siginfo_handler);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 42, "SA_SIGINFO handler not reached (%#x)", st);
	st = in_child(with_plain_handler);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 43, "plain handler not reached (%#x)", st);
	/* as the manual page says: then its reads fault as before */
	st = in_child(with_handler_after_ours);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 42,
		  "a later handler missed a read's fault (%#x)", st);
}

static void guard_off_then_check(void)
{
	setenv("DAXALLOC_SIGBUS_GUARD", "0", 1);
	read_older_table();
}

Test(sigbus, guard_off_by_environment)
{
	older_table_faults();
	/* DAXALLOC_SIGBUS_GUARD=0: no handler, a read of the fault ends the process as before */
	expect_same_end(in_child(touch_own_hole), in_child(guard_off_then_check),
			"a read with the guard off");
}

/*
 * Another thread's fault inside the range a read of the library's covers
 * is not that read's: one thread scans a pool over and over (its reads
 * cover the faulting page) while another touches that page.
 */
static pthread_barrier_t bar;
static char *volatile shared_hole;

static void *fault_in_metadata(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&bar);
	usleep(1000);
	(void)*(volatile char *)shared_hole;
	return NULL;
}

static void other_thread_faults_while_reading(void)
{
	struct daxalloc_pool *p = NULL;
	struct dxa_scan s;
	pthread_t t;

	if (daxalloc_pool_open(dev, DAXALLOC_POOL_RDONLY, &p) != 0)
		_exit(3);
	shared_hole = last_meta + holes[0];
	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&t, NULL, fault_in_metadata, NULL);
	pthread_barrier_wait(&bar);
	for (int i = 0; i < 100000; i++)
		pool_scan(p, &s);
	_exit(5);
}

Test(sigbus, another_threads_fault_is_not_a_read)
{
	older_table_faults();
	expect_same_end(in_child(touch_own_hole), in_child(other_thread_faults_while_reading),
			"another thread's fault in the metadata");
}
