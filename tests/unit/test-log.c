// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A failed call's message reaches the log function of the context it
 * concerns, at LOG_ERR, as daxalloc_errmsg() gives it; the default logger
 * prints none.  On the test-only memfd device: no huge pages needed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <unistd.h>

#include "daxalloc.h"
#include "testdev.h"

struct catch
{
	int errors;      /* messages at LOG_ERR */
	char last[1024]; /* the last of them */
};

static void catch_log(struct daxalloc_ctx *c, int prio, const char *msg, void *ud)
{
	struct catch *k = ud;

	(void)c;
	if (prio != LOG_ERR)
		return;
	k->errors++;
	snprintf(k->last, sizeof(k->last), "%s", msg);
}

static struct daxalloc_ctx *ctx;
static struct catch caught;

static void setup(void)
{
	unsetenv("DAXALLOC_DEVICE");
	unsetenv("DAXALLOC_LOG");
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0, "%s", daxalloc_errmsg());
	memset(&caught, 0, sizeof(caught));
	daxalloc_ctx_set_log_fn(ctx, catch_log, &caught);
}

static void teardown(void)
{
	daxalloc_ctx_delete(&ctx);
}

TestSuite(log, .init = setup, .fini = teardown);

/* @rc failed, and the log got exactly one message more: the one the caller reads. */
static void expect_logged(int rc, int before, const char *what)
{
	cr_assert_lt(rc, 0, "%s should fail", what);
	cr_expect_eq(caught.errors, before + 1, "%s: %d messages logged, expected 1", what,
		     caught.errors - before);
	cr_expect_str_eq(caught.last, daxalloc_errmsg(), "%s: log and daxalloc_errmsg() differ",
			 what);
}

Test(log, device_map_pool_and_region_errors)
{
	struct daxalloc_dev *dev = NULL, *bad = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	struct daxalloc_map *m = NULL;
	struct daxalloc_pool *pool2 = NULL;
	struct daxalloc_pool_stats bad_st = { .struct_size = 0 };
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	uint64_t unit = 64 << 10;

	expect_logged(daxalloc_dev_open(ctx, "hugetlb:3M", &bad), 0, "dev_open hugetlb:3M");
	cr_assert_eq(testdev_open(ctx, 64ull << 20, unit, &dev), 0, "%s", daxalloc_errmsg());
	expect_logged(daxalloc_map_new(dev, 4096, unit, NULL, 0, &m), 1, "map_new unaligned");
	cr_assert_eq(daxalloc_pool_create(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	expect_logged(daxalloc_alloc(pool, 1ull << 40, "big", 0, &r), 2, "alloc 1T");
	expect_logged(daxalloc_region_open(pool, "missing", 0, &r), 3, "region_open missing");
	expect_logged(daxalloc_pool_rename(pool, "missing", "other"), 4, "pool_rename missing");
	cr_assert_eq(daxalloc_alloc(pool, unit, "here", 0, &r), 0, "%s", daxalloc_errmsg());
	expect_logged(daxalloc_region_persist(r, 0, 2 * unit), 5, "persist past the end");
	daxalloc_region_close(&r);
	expect_logged(daxalloc_pool_create(dev, 0, &pool2), 6, "pool_create over a pool");
	expect_logged(daxalloc_pool_get_stats(pool, &bad_st), 7, "pool_get_stats of size 0");
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);

	/* A device with no pool: open and check say so to the log too. */
	cr_assert_eq(testdev_open(ctx, 64ull << 20, unit, &dev), 0, "%s", daxalloc_errmsg());
	expect_logged(daxalloc_pool_open(dev, 0, &pool), 8, "pool_open without a pool");
	expect_logged(daxalloc_pool_check(dev, 0, &rep), 9, "pool_check without a pool");
	daxalloc_dev_close(&dev);
}

/* Calls that succeed log no error, whatever the library tried and dropped on the way. */
Test(log, success_logs_nothing)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL, *again = NULL;
	struct daxalloc_heap *heap = NULL;
	uint64_t unit = 64 << 10;

	cr_assert_eq(testdev_open(ctx, 64ull << 20, unit, &dev), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_pool_create(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_alloc(pool, 4 * unit, "kept", DAXALLOC_ALLOC_ZERO, &r), 0, "%s",
		     daxalloc_errmsg());
	cr_assert_eq(daxalloc_region_open(pool, "kept", 0, &again), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_heap_create(again, 0, &heap), 0, "%s", daxalloc_errmsg());
	daxalloc_heap_free(heap, daxalloc_heap_malloc(heap, 100));
	daxalloc_heap_destroy(&heap);
	cr_assert_eq(daxalloc_region_persist(r, 0, unit), 0, "%s", daxalloc_errmsg());
	daxalloc_region_close(&again);
	cr_assert_eq(daxalloc_pool_rename(pool, "kept", "moved"), 0, "%s", daxalloc_errmsg());
	daxalloc_region_close(&r);
	cr_assert_eq(daxalloc_pool_free_name(pool, "moved"), 0, "%s", daxalloc_errmsg());
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	cr_expect_eq(caught.errors, 0, "a successful call logged '%s'", caught.last);
}

struct inside {
	struct daxalloc_pool *pool;
	int logged; /* errors logged when the call in the callback returned */
};

static int open_missing(const struct daxalloc_region_info *ri, void *arg)
{
	struct daxalloc_region *r = NULL;
	struct inside *in = arg;

	(void)ri;
	if (daxalloc_region_open(in->pool, "missing", 0, &r) < 0)
		in->logged = caught.errors;
	return 0;
}

/* A callback's calls are the caller's: each logs as it returns, the walk that succeeds logs nothing. */
Test(log, calls_from_a_callback)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	struct inside in = { .logged = -1 };
	uint64_t unit = 64 << 10;

	cr_assert_eq(testdev_open(ctx, 64ull << 20, unit, &dev), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_pool_create(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_alloc(pool, unit, "here", 0, &r), 0, "%s", daxalloc_errmsg());
	in.pool = pool;
	cr_assert_eq(daxalloc_pool_foreach_region(pool, open_missing, &in), 0, "%s",
		     daxalloc_errmsg());
	cr_expect_eq(in.logged, 1,
		     "the failed call in the callback logged %d messages as it returned", in.logged);
	cr_expect_eq(caught.errors, 1, "%d messages logged in all, expected 1 (last '%s')",
		     caught.errors, caught.last);
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
}

Test(log, priority_filters_errors)
{
	struct daxalloc_dev *dev = NULL;

	daxalloc_ctx_set_log_priority(ctx, LOG_CRIT);
	cr_expect_lt(daxalloc_dev_open(ctx, "hugetlb:3M", &dev), 0);
	cr_expect_eq(caught.errors, 0, "below LOG_ERR, '%s' was logged", caught.last);
	daxalloc_ctx_set_log_priority(ctx, LOG_ERR);
	expect_logged(daxalloc_dev_open(ctx, "hugetlb:5M", &dev), 0, "at LOG_ERR");
	daxalloc_ctx_set_log_priority(ctx, LOG_DEBUG);
	expect_logged(daxalloc_dev_open(ctx, "hugetlb:7M", &dev), 1, "at LOG_DEBUG");
}

/* Errors of calls that concern no context (a size, a NULL object) go to no log. */
Test(log, no_context_no_log)
{
	uint64_t v;

	cr_expect_lt(daxalloc_size_parse("12Q", &v), 0);
	cr_expect_lt(daxalloc_alloc(NULL, 4096, NULL, 0, NULL), 0);
	cr_expect_eq(caught.errors, 0, "'%s' was logged", caught.last);
}

/* Programs that set no log function print no more than before: errors are theirs to report. */
Test(log, default_logger_prints_no_errors)
{
	struct daxalloc_dev *dev = NULL;
	char buf[256] = "";
	int saved = dup(2), fd = memfd_create("stderr", 0);
	ssize_t n;

	cr_assert(saved >= 0 && fd >= 0);
	daxalloc_ctx_set_log_fn(ctx, NULL, NULL);
	fflush(stderr);
	dup2(fd, 2);
	daxalloc_dev_open(ctx, "hugetlb:3M", &dev);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	cr_expect_eq(n, 0, "the default logger printed: %s", buf);
}

#define ROUNDS 200

struct worker {
	int id;
	struct catch caught;
	int rc;
	char msg[1024];
};

/* Each thread fails on its own context with its own name: its log holds only its messages. */
static void *work(void *arg)
{
	struct worker *w = arg;
	struct daxalloc_ctx *c = NULL;
	struct daxalloc_dev *dev = NULL;
	char name[32];

	if ((w->rc = daxalloc_ctx_new(&c)) < 0)
		return NULL;
	daxalloc_ctx_set_log_fn(c, catch_log, &w->caught);
	snprintf(name, sizeof(name), "hugetlb:%dM", 2 * w->id + 1);
	for (int i = 0; i < ROUNDS; i++) {
		w->rc = daxalloc_dev_open(c, name, &dev);
		if (w->rc >= 0 || strcmp(w->caught.last, daxalloc_errmsg()) != 0 ||
		    !strstr(w->caught.last, name)) {
			snprintf(w->msg, sizeof(w->msg),
				 "round %d: rc %d, logged '%.400s', errmsg '%.400s'", i, w->rc,
				 w->caught.last, daxalloc_errmsg());
			break;
		}
	}
	daxalloc_ctx_delete(&c);
	return NULL;
}

Test(log, two_threads_two_contexts)
{
	struct worker w[2] = { { .id = 1 }, { .id = 2 } };
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(w[i].msg[0], '\0', "thread %d: %s", w[i].id, w[i].msg);
		cr_expect_eq(w[i].caught.errors, ROUNDS, "thread %d: %d errors logged, expected %d",
			     w[i].id, w[i].caught.errors, ROUNDS);
	}
	cr_expect_eq(caught.errors, 0, "the main thread's context got '%s'", caught.last);
}
