// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The heap in regions of a pool on the hugetlb stand-in: unnamed and named
 * regions, model-checked sequences, one heap per region, a full region,
 * large objects in threads that exit.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "daxalloc.h"
#include "heap-model.h"
#include "pool-helpers.h"

#define M (UINT64_C(1) << 20)

static void setup(void)
{
	th_pool_setup("hugetlb:2M:256M");
}

TestSuite(heap_region, .init = setup, .fini = th_pool_teardown, .timeout = 120);

/* A heap on @r; asserts. */
static struct daxalloc_heap *heap_on(struct daxalloc_region *r, unsigned int flags)
{
	struct daxalloc_heap *h = NULL;

	cr_assert_eq(daxalloc_heap_create(r, flags, &h), 0, "%s", daxalloc_errmsg());
	return h;
}

static void model_run(struct daxalloc_heap *h, uint64_t seed, int steps)
{
	struct hm m;
	struct daxalloc_heap_stats st = { DAXALLOC_HEAP_STATS_INIT };
	uint64_t bytes, objects;

	hm_init(&m, h, seed, 16384);
	for (int i = 0; i < steps; i++)
		cr_assert_eq(hm_step(&m), 0, "%s", m.err);
	cr_assert_eq(hm_check_all(&m), 0, "%s", m.err);
	hm_totals(&m, &bytes, &objects);
	cr_assert_eq(daxalloc_heap_get_stats(h, &st), 0);
	cr_expect_eq(st.in_use, bytes);
	cr_expect_eq(st.objects, objects);
	cr_assert_eq(hm_free_all(&m), 0, "%s", m.err);
	hm_fini(&m);
}

Test(heap_region, unnamed_region)
{
	struct daxalloc_region *r = th_alloc(th_pool, 64 * M, NULL);
	struct daxalloc_heap *h = heap_on(r, DAXALLOC_HEAP_COUNT), *h2 = NULL;

	cr_expect_eq(daxalloc_heap_get_region(h), r);
	cr_expect_eq(daxalloc_heap_create(r, 0, &h2), -EBUSY);
	cr_expect_null(h2);
	model_run(h, 1, 30000);
	void *p = daxalloc_heap_malloc(h, 100);
	cr_expect((char *)p >= (char *)daxalloc_region_get_address(r) &&
		  (char *)p < (char *)daxalloc_region_get_address(r) + 64 * M);
	daxalloc_heap_free(h, p);
	daxalloc_heap_destroy(&h);
	daxalloc_region_close(&r);
}

/* A heap on a named region starts empty: whatever the region held is not read. */
Test(heap_region, named_region_is_volatile)
{
	struct daxalloc_region *r = th_alloc(th_pool, 32 * M, "heap");
	struct daxalloc_heap *h = NULL;
	struct daxalloc_heap_stats st = { DAXALLOC_HEAP_STATS_INIT };

	memset(daxalloc_region_get_address(r), 0xa5, 32 * M); /* garbage */
	h = heap_on(r, DAXALLOC_HEAP_COUNT);
	cr_assert_eq(daxalloc_heap_get_stats(h, &st), 0);
	cr_expect_eq(st.size, 32 * M);
	cr_expect_eq(st.in_use, 0);
	model_run(h, 2, 20000);
	daxalloc_heap_destroy(&h);
	/* Again, after the heap is gone: a fresh heap, same region. */
	h = heap_on(r, DAXALLOC_HEAP_COUNT);
	model_run(h, 3, 20000);
	daxalloc_heap_destroy(&h);
	cr_assert_eq(daxalloc_region_free(&r), 0, "%s", daxalloc_errmsg());
}

Test(heap_region, full_region)
{
	struct daxalloc_region *r = th_alloc(th_pool, 4 * M, NULL);
	struct daxalloc_heap *h = heap_on(r, DAXALLOC_HEAP_COUNT);
	struct daxalloc_heap_stats st = { DAXALLOC_HEAP_STATS_INIT };
	int n = 0;

	while (daxalloc_heap_malloc(h, 4096))
		n++;
	cr_expect_eq(errno, ENOMEM);
	cr_expect_gt(n, 512, "only %d pages in 4 MiB", n);
	cr_assert_eq(daxalloc_heap_get_stats(h, &st), 0);
	cr_expect_leq(st.mapped, 4 * M);
	cr_expect_eq(st.objects, (uint64_t)n);
	daxalloc_heap_destroy(&h);
	daxalloc_region_close(&r);
}

/* Not counted (the default): the same heap, statistics say "not counted" instead of a guess. */
Test(heap_region, uncounted_by_default)
{
	struct daxalloc_region *r = th_alloc(th_pool, 8 * M, NULL);
	struct daxalloc_heap *h = heap_on(r, 0);
	struct daxalloc_heap_stats st = { DAXALLOC_HEAP_STATS_INIT };
	void *p[64];

	for (int i = 0; i < 64; i++) {
		p[i] = daxalloc_heap_malloc(h, 16 + 37 * (size_t)i);
		cr_assert_not_null(p[i]);
		memset(p[i], i, 16 + 37 * (size_t)i);
		cr_expect_geq(daxalloc_heap_usable_size(h, p[i]), 16 + 37 * (size_t)i);
	}
	p[1] = daxalloc_heap_realloc(h, p[1], 9000);
	cr_assert_not_null(p[1]);
	cr_expect_eq(((unsigned char *)p[1])[52], 1, "realloc lost the contents");
	cr_assert_eq(daxalloc_heap_get_stats(h, &st), 0);
	cr_expect_gt(st.mapped, 0);
	cr_expect_eq(st.in_use, 0);
	cr_expect_eq(st.objects, 0);
	cr_expect_eq(st.fragmentation, -1.0);
	for (int i = 0; i < 64; i++)
		daxalloc_heap_free(h, p[i]);
	daxalloc_heap_destroy(&h);
	cr_assert_eq(daxalloc_region_free(&r), 0, "%s", daxalloc_errmsg());
}

/*
 * Large objects (8065 B to 64 KiB) go through each thread's cache: threads
 * run the model up to 64 KiB and exit; their caches come back to the heap.
 */
static struct daxalloc_heap *threads_heap;

static void *model_thread(void *arg)
{
	struct hm m;
	intptr_t bad = 0;

	hm_init(&m, threads_heap, (uintptr_t)arg, 64 * 1024);
	for (int i = 0; i < 5000 && !bad; i++)
		bad = hm_step(&m) < 0;
	bad = bad || hm_free_all(&m) < 0;
	if (bad)
		fprintf(stderr, "%s\n", m.err);
	hm_fini(&m);
	return (void *)bad;
}

static int fit_64k(struct daxalloc_heap *h)
{
	static void *p[1024];
	int n = 0;

	while (n < 1024 && (p[n] = daxalloc_heap_malloc(h, 64 * 1024)))
		n++;
	for (int i = 0; i < n; i++)
		daxalloc_heap_free(h, p[i]);
	return n;
}

Test(heap_region, large_objects_threads)
{
	struct daxalloc_region *r = th_alloc(th_pool, 64 * M, NULL);
	struct daxalloc_heap *h = heap_on(r, DAXALLOC_HEAP_COUNT);
	struct daxalloc_heap_stats st = { DAXALLOC_HEAP_STATS_INIT };
	pthread_t t[3];
	void *bad;
	int base, after;

	base = fit_64k(h);
	daxalloc_heap_destroy(&h);
	threads_heap = h = heap_on(r, DAXALLOC_HEAP_COUNT);
	for (uintptr_t i = 0; i < 3; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, model_thread, (void *)(i + 1)), 0);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], &bad);
		cr_expect_null(bad, "thread %d: the model failed", i);
	}
	cr_assert_eq(daxalloc_heap_get_stats(h, &st), 0);
	cr_expect_eq(st.in_use, 0);
	cr_expect_eq(st.objects, 0);
	/*
	 * What the threads' caches held is back: 79% fit again (54% without
	 * the flush at thread exit); the model's small objects keep their
	 * slabs and the pool keeps blocks of other sizes apart (82% without
	 * the cache).
	 */
	after = fit_64k(h);
	cr_log_info("%d objects of 64 KiB after the threads, %d before", after, base);
	cr_expect_geq(after, base * 3 / 4, "%d objects of 64 KiB after the threads, %d before",
		      after, base);
	daxalloc_heap_destroy(&h);
	daxalloc_region_close(&r);
}
