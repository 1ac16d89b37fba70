// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The heap on ordinary shared memory (no device needed): model-checked
 * random sequences, threads that free each other's objects, a full heap,
 * statistics, fork with and without a private copy, foreign pointers, the
 * per-thread cache of large objects (thread exit, a heap destroyed under
 * it, a full heap), and that linking the library leaves the process's
 * malloc alone.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daxalloc.h"
#include "heap.h"
#include "heap-model.h"

#define MiB ((size_t)1 << 20)

static void *area(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	/* Device memory holds whatever was there before: never zeros. */
	memset(p, 0xa5, size < 64 * MiB ? size : 64 * MiB);
	return p;
}

static struct daxalloc_heap *heap_on(void *p, size_t size, unsigned flags)
{
	struct daxalloc_heap *h = NULL;

	/* counted: the model checks the statistics */
	cr_assert_eq(heap_create_range(p, size, flags | DAXALLOC_HEAP_COUNT, &h), 0, "%s",
		     daxalloc_errmsg());
	cr_assert_not_null(h);
	return h;
}

static void expect_stats_match(struct daxalloc_heap *h, const struct hm *m)
{
	struct daxalloc_heap_stats st = { DAXALLOC_HEAP_STATS_INIT };
	uint64_t bytes, objects;

	hm_totals(m, &bytes, &objects);
	cr_assert_eq(daxalloc_heap_get_stats(h, &st), 0);
	cr_expect_eq(st.in_use, bytes, "in_use %llu, model %llu", (unsigned long long)st.in_use,
		     (unsigned long long)bytes);
	cr_expect_eq(st.objects, objects);
	cr_expect_leq(st.in_use, st.mapped);
	cr_expect_leq(st.mapped, st.size);
	cr_expect(st.fragmentation >= 0.0 && st.fragmentation <= 1.0);
}

/* No object in use (cached ones are not). */
static void expect_empty(struct daxalloc_heap *h)
{
	struct daxalloc_heap_stats st = { DAXALLOC_HEAP_STATS_INIT };

	cr_assert_eq(daxalloc_heap_get_stats(h, &st), 0);
	cr_expect_eq(st.in_use, 0, "%llu bytes in use", (unsigned long long)st.in_use);
	cr_expect_eq(st.objects, 0);
}

/* Statistics go only into a struct whose size the library knows. */
Test(heap, stats_need_their_size)
{
	size_t size = 64 * MiB;
	void *p = area(size);
	struct daxalloc_heap *h = heap_on(p, size, 0);
	struct daxalloc_heap_stats st = { .struct_size = 0, .size = 7 };

	cr_expect_eq(daxalloc_heap_get_stats(h, &st), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(),
			 "struct daxalloc_heap_stats: .struct_size is 0: set it with DAXALLOC_HEAP_STATS_INIT"),
		  "%s", daxalloc_errmsg());
	cr_expect_eq(st.size, 7, "nothing written");
	st.struct_size = sizeof(st) - 8;
	cr_expect_eq(daxalloc_heap_get_stats(h, &st), -EINVAL);
	st.struct_size = sizeof(st);
	cr_expect_eq(daxalloc_heap_get_stats(h, &st), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(st.struct_size, sizeof(st));
	cr_expect_eq(st.size, size);
	daxalloc_heap_destroy(&h);
	munmap(p, size);
}

/*
 * The model on @h: @steps steps from @seed with objects up to @max, each
 * object and the statistics checked every @every steps (0: at the end
 * only), all freed whenever more than @most are live (0: never); then
 * checked, freed and compared again.  Returns the allocations refused.
 */
static uint64_t model_run(struct daxalloc_heap *h, uint64_t seed, size_t max, int steps, int every,
			  size_t most)
{
	uint64_t failures;
	struct hm m;

	hm_init(&m, h, seed, max);
	for (int i = 0; i < steps; i++) {
		cr_assert_eq(hm_step(&m), 0, "seed %llu: %s", (unsigned long long)seed, m.err);
		if (every && i % every == 0) {
			cr_assert_eq(hm_check_all(&m), 0, "%s", m.err);
			expect_stats_match(h, &m);
		}
		if (most && m.nobjs > most)
			cr_assert_eq(hm_free_all(&m), 0, "%s", m.err);
	}
	cr_assert_eq(hm_check_all(&m), 0, "%s", m.err);
	expect_stats_match(h, &m);
	failures = m.failures;
	cr_assert_eq(hm_free_all(&m), 0, "%s", m.err);
	expect_stats_match(h, &m); /* cached objects count as freed */
	hm_fini(&m);
	return failures;
}

Test(heap, model_small_objects, .timeout = 120)
{
	size_t size = 256 * MiB;
	void *p = area(size);
	struct daxalloc_heap *h = heap_on(p, size, 0);

	for (uint64_t seed = 1; seed <= 4; seed++)
		cr_assert_eq(model_run(h, seed, 4096, 40000, 5000, 0), 0, "seed %llu",
			     (unsigned long long)seed);
	daxalloc_heap_destroy(&h);
	cr_assert_null(h);
	munmap(p, size);
}

Test(heap, model_up_to_1m, .timeout = 120)
{
	size_t size = 512 * MiB;
	void *p = area(size);
	struct daxalloc_heap *h = heap_on(p, size, 0);

	/* freed above 200 objects: the live set stays below the heap size */
	model_run(h, 99, MiB, 6000, 0, 200);
	daxalloc_heap_destroy(&h);
	munmap(p, size);
}

/* Threads run their own sequences and free each other's objects. */
#define NTHREADS 4
static struct daxalloc_heap *shared_heap;
static _Atomic(void *) mailbox[64];
static _Atomic int thread_errors;
static size_t worker_max; /* largest object of the model and the mailbox */

static void *worker(void *arg)
{
	struct hm m;
	uint64_t seed = (uintptr_t)arg;

	hm_init(&m, shared_heap, seed, worker_max);
	for (int i = 0; i < 30000; i++) {
		if (hm_step(&m) < 0) {
			fprintf(stderr, "thread %llu: %s\n", (unsigned long long)seed, m.err);
			thread_errors++;
			break;
		}
		/* Hand an object of our own to another thread, free one we got. */
		size_t n = worker_max > 8192 && i % 4 == 0 ? 8100 + (size_t)i * 37 % 57000 :
							     24 + (size_t)i % 200;
		void *mine = daxalloc_heap_malloc(shared_heap, n);
		if (!mine) {
			thread_errors++;
			break;
		}
		memset(mine, (int)seed, 24);
		void *got = atomic_exchange(&mailbox[(seed * 7 + i) % 64], mine);
		if (got) {
			unsigned char *g = got;
			/* a whole object from someone: 24 equal bytes */
			for (int k = 1; k < 24; k++)
				if (g[k] != g[0])
					thread_errors++;
			daxalloc_heap_free(shared_heap, got);
		}
	}
	if (hm_free_all(&m) < 0) {
		fprintf(stderr, "thread %llu: %s\n", (unsigned long long)seed, m.err);
		thread_errors++;
	}
	hm_fini(&m);
	return NULL;
}

static void threads_case(size_t max)
{
	size_t size = 512 * MiB;
	void *p = area(size);
	pthread_t t[NTHREADS];

	worker_max = max;
	shared_heap = heap_on(p, size, 0);
	for (uintptr_t i = 0; i < NTHREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, worker, (void *)(i + 1)), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(thread_errors, 0);
	for (int i = 0; i < 64; i++) {
		void *x = atomic_exchange(&mailbox[i], NULL);
		daxalloc_heap_free(shared_heap, x);
	}
	expect_empty(shared_heap);
	daxalloc_heap_destroy(&shared_heap);
	munmap(p, size);
}

Test(heap, threads, .timeout = 180)
{
	threads_case(8192);
}

/* Large objects too, cached by one thread, freed by another. */
Test(heap, threads_large, .timeout = 180)
{
	threads_case(64 * 1024);
}

Test(heap, full_heap_fails_then_recovers, .timeout = 60)
{
	size_t size = 8 * MiB;
	void *p = area(size);
	struct daxalloc_heap *h = heap_on(p, size, 0);
	void *objs[100000];
	int n = 0;
	struct daxalloc_heap_stats st = { DAXALLOC_HEAP_STATS_INIT };

	while (n < 100000 && (objs[n] = daxalloc_heap_malloc(h, 1000)))
		n++;
	cr_assert_lt(n, 100000, "an 8 MiB heap held 100000 objects of 1000 bytes");
	cr_expect_eq(errno, ENOMEM);
	cr_expect_gt(n, 4000, "only %d objects of 1000 bytes in 8 MiB", n);
	cr_expect_null(daxalloc_heap_malloc(h, 16 * MiB));
	cr_assert_eq(daxalloc_heap_get_stats(h, &st), 0);
	cr_expect_leq(st.mapped, size);
	cr_expect_gt(st.in_use, size / 2);
	for (int i = 0; i < n; i++)
		daxalloc_heap_free(h, objs[i]);
	/* The memory comes back: nearly as many fit again (the allocator's
	 * caches may keep a few). */
	int again = 0;
	while (again < n && (objs[again] = daxalloc_heap_malloc(h, 1000)))
		again++;
	cr_expect_geq(again, n - n / 20, "%d objects after freeing all, %d before", again, n);
	daxalloc_heap_destroy(&h);
	munmap(p, size);
}

Test(heap, edge_cases)
{
	size_t size = 64 * MiB;
	void *p = area(size);
	struct daxalloc_heap *h = heap_on(p, size, 0), *h2 = NULL;
	void *a, *b;

	/* One heap per range. */
	cr_expect_eq(heap_create_range((char *)p + MiB, MiB, 0, &h2), -EBUSY);
	cr_expect_null(h2);
	cr_expect_eq(heap_create_range(p, size, 0x80, &h2), -EINVAL);
	cr_expect_eq(daxalloc_heap_create(NULL, 0, &h2), -EINVAL);
	cr_expect_neq(daxalloc_errmsg()[0], '\0');

	a = daxalloc_heap_malloc(h, 0);
	b = daxalloc_heap_malloc(h, 0);
	cr_expect(a && b && a != b);
	cr_expect_null(daxalloc_heap_realloc(h, a, 0)); /* frees a */
	daxalloc_heap_free(h, b);
	daxalloc_heap_free(h, NULL);
	cr_expect_eq(daxalloc_heap_usable_size(h, NULL), 0);
	cr_expect_null(daxalloc_heap_calloc(h, SIZE_MAX / 2, 4));
	cr_expect_eq(errno, ENOMEM);
	cr_expect_null(daxalloc_heap_aligned_alloc(h, 48, 16));
	cr_expect_eq(errno, EINVAL);
	a = daxalloc_heap_aligned_alloc(h, 2 * MiB, 100);
	cr_expect_not_null(a);
	cr_expect_eq((uintptr_t)a % (2 * MiB), 0);
	daxalloc_heap_free(h, a);
	a = daxalloc_heap_realloc(h, NULL, 100); /* malloc */
	cr_expect(daxalloc_heap_owns(h, a));
	cr_expect_not(daxalloc_heap_owns(h, &h));
	/* The range's bounds, as the inlined check of every free sees them. */
	cr_expect(daxalloc_heap_owns(h, p));
	cr_expect(daxalloc_heap_owns(h, (char *)p + size - 1));
	cr_expect_not(daxalloc_heap_owns(h, (char *)p + size));
	cr_expect_not(daxalloc_heap_owns(h, (char *)p - 1));
	cr_expect_not(daxalloc_heap_owns(NULL, p));
	daxalloc_heap_free(h, a);
	cr_expect_null(daxalloc_heap_get_region(h)); /* made on a range */
	daxalloc_heap_destroy(&h);
	daxalloc_heap_destroy(&h); /* NULL: nothing */
	/* The range is free for a new heap. */
	h = heap_on(p, size, 0);
	daxalloc_heap_destroy(&h);
	munmap(p, size);
}

Test(heap, foreign_free_aborts, .signal = SIGABRT)
{
	size_t size = 16 * MiB;
	void *p = area(size);
	struct daxalloc_heap *h = heap_on(p, size, 0);
	int x;

	daxalloc_heap_free(h, &x);
}

/* One byte past the end is foreign too, for free and for realloc. */
Test(heap, free_past_end_aborts, .signal = SIGABRT)
{
	size_t size = 16 * MiB;
	char *p = area(size + 4096);
	struct daxalloc_heap *h = heap_on(p, size, 0);

	daxalloc_heap_free(h, p + size);
}

Test(heap, realloc_before_start_aborts, .signal = SIGABRT)
{
	size_t size = 16 * MiB;
	char *p = area(size + 4096);
	struct daxalloc_heap *h = heap_on(p + 4096, size, 0);

	daxalloc_heap_realloc(h, p + 4095, 64);
}

/* The rule: linking libdaxalloc (and tbbmalloc) leaves malloc as it was. */
Test(heap, process_malloc_not_replaced)
{
	size_t size = 16 * MiB;
	void *p = area(size);
	struct daxalloc_heap *h = heap_on(p, size, 0);
	const char *names[] = { "malloc",  "free",           "calloc",
				"realloc", "posix_memalign", "malloc_usable_size" };
	void *obj = malloc(100);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		Dl_info info;
		void *fn = dlsym(RTLD_DEFAULT, names[i]);

		cr_assert_not_null(fn, "%s", names[i]);
		cr_assert(dladdr(fn, &info), "%s", names[i]);
		cr_expect_null(strstr(info.dli_fname, "tbbmalloc"), "%s comes from %s", names[i],
			       info.dli_fname);
		cr_expect_null(strstr(info.dli_fname, "daxalloc"), "%s comes from %s", names[i],
			       info.dli_fname);
		cr_expect_null(strstr(info.dli_fname, "jemalloc"), "%s comes from %s", names[i],
			       info.dli_fname);
	}
	cr_expect_not(daxalloc_heap_owns(h, obj));
	free(obj);
	daxalloc_heap_destroy(&h);
}

static void fork_case(unsigned flags)
{
	size_t size = 64 * MiB;
	void *p = area(size);
	struct daxalloc_heap *h = heap_on(p, size, flags);
	char *s = daxalloc_heap_malloc(h, 64);
	char *big[16];
	int status;
	pid_t pid;

	strcpy(s, "parent");
	/* Large objects in this thread's cache when it forks. */
	for (int i = 0; i < 16; i++)
		big[i] = daxalloc_heap_malloc(h, 30000);
	for (int i = 0; i < 16; i++)
		daxalloc_heap_free(h, big[i]);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int ok = strcmp(s, "parent") == 0;

		if (flags & DAXALLOC_HEAP_FORK_COPY) {
			/* Private copy: write and allocate freely. */
			strcpy(s, "child");
			for (int i = 0; i < 10000; i++)
				memset(daxalloc_heap_malloc(h, 100), 0x5a, 100);
			/* The cached ones, in the child's copy. */
			for (int i = 0; i < 16; i++) {
				big[i] = daxalloc_heap_malloc(h, 30000);
				ok &= big[i] && daxalloc_heap_owns(h, big[i]);
				if (big[i])
					memset(big[i], 0x5a, 30000);
			}
			for (int i = 0; i < 16; i++)
				daxalloc_heap_free(h, big[i]);
		} else {
			strcpy(s, "shared"); /* the parent's memory */
		}
		_exit(ok ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* With the copy the child wrote its own; without, the parent's. */
	cr_expect_str_eq(s, flags & DAXALLOC_HEAP_FORK_COPY ? "parent" : "shared");
	/* The parent's heap is intact: its objects do not collide with anything. */
	struct hm m;
	hm_init(&m, h, 5, 64 * 1024);
	for (int i = 0; i < 5000; i++)
		cr_assert_eq(hm_step(&m), 0, "%s", m.err);
	cr_assert_eq(hm_free_all(&m), 0, "%s", m.err);
	hm_fini(&m);
	daxalloc_heap_free(h, s);
	daxalloc_heap_destroy(&h);
	munmap(p, size);
}

Test(heap, fork_copy)
{
	fork_case(DAXALLOC_HEAP_FORK_COPY);
}

Test(heap, fork_without_copy_shares)
{
	fork_case(0);
}

/* ---- the per-thread cache of large objects (8065 B to 64 KiB) ---- */

Test(heap, model_large_objects, .timeout = 120)
{
	size_t size = 256 * MiB;
	void *p = area(size);
	struct daxalloc_heap *h = heap_on(p, size, 0);

	cr_assert_eq(model_run(h, 7, 64 * 1024, 20000, 2000, 0), 0);
	daxalloc_heap_destroy(&h);
	munmap(p, size);
}

/* A freed large object comes back whole: usable size, realloc, calloc. */
Test(heap, large_object_reused)
{
	size_t size = 64 * MiB;
	void *p = area(size);
	struct daxalloc_heap *h = heap_on(p, size, 0);
	struct daxalloc_heap_stats st = { DAXALLOC_HEAP_STATS_INIT };
	unsigned char *a, *b;
	size_t us;

	a = daxalloc_heap_malloc(h, 10000);
	cr_assert_not_null(a);
	us = daxalloc_heap_usable_size(h, a);
	cr_expect_geq(us, 10000);
	daxalloc_heap_free(h, a);
	expect_empty(h);
	b = daxalloc_heap_malloc(h, 9000); /* same 4 KiB class: from the cache */
	cr_expect_eq(b, a);
	cr_expect_eq(daxalloc_heap_usable_size(h, b), us);
	cr_assert_eq(daxalloc_heap_get_stats(h, &st), 0);
	cr_expect_eq(st.in_use, us);
	cr_expect_eq(st.objects, 1);
	for (size_t i = 0; i < 9000; i++)
		b[i] = (unsigned char)(i * 7);
	b = daxalloc_heap_realloc(h, b, 40000);
	cr_assert_not_null(b);
	cr_expect_geq(daxalloc_heap_usable_size(h, b), 40000);
	for (size_t i = 0; i < 9000; i++)
		cr_assert_eq(b[i], (unsigned char)(i * 7), "byte %zu", i);
	b = daxalloc_heap_realloc(h, b, 100);
	cr_assert_not_null(b);
	for (size_t i = 0; i < 100; i++)
		cr_assert_eq(b[i], (unsigned char)(i * 7), "byte %zu", i);
	daxalloc_heap_free(h, b);
	/* calloc of a cached object that held something */
	a = daxalloc_heap_malloc(h, 20000);
	memset(a, 0xff, 20000);
	daxalloc_heap_free(h, a);
	b = daxalloc_heap_calloc(h, 1, 20000);
	cr_expect_eq(b, a);
	for (size_t i = 0; i < 20000; i++)
		cr_assert_eq(b[i], 0, "calloc byte %zu", i);
	daxalloc_heap_free(h, b);
	expect_empty(h);
	daxalloc_heap_destroy(&h);
	munmap(p, size);
}

/* How many objects of @osize fit in what @h has left (then freed). */
static int fit(struct daxalloc_heap *h, size_t osize)
{
	static void *objs[100000];
	int n = 0;

	while (n < 100000 && (objs[n] = daxalloc_heap_malloc(h, osize)))
		n++;
	for (int i = 0; i < n; i++)
		daxalloc_heap_free(h, objs[i]);
	return n;
}

static void *cache_and_exit(void *arg)
{
	struct daxalloc_heap *h = arg;
	void *objs[64];

	for (int i = 0; i < 64; i++)
		objs[i] = daxalloc_heap_malloc(h, 64 * 1024); /* from the pool */
	for (int i = 0; i < 64; i++)
		daxalloc_heap_free(h, objs[i]); /* 4 MiB in this thread's cache */
	return NULL;
}

/*
 * 4 MiB of 64 KiB objects cached, by a thread that exits (@in_thread) or by
 * this one, whose malloc finds the heap full: as many objects of 32 KiB fit
 * as in a fresh heap, the cache having gone back to the pool.
 */
static void cache_comes_back(bool in_thread)
{
	size_t size = 16 * MiB;
	void *p = area(size);
	struct daxalloc_heap *h = heap_on(p, size, 0);
	pthread_t t;
	int base, after;

	base = fit(h, 32 * 1024);
	daxalloc_heap_destroy(&h);
	h = heap_on(p, size, 0);
	if (in_thread) {
		cr_assert_eq(pthread_create(&t, NULL, cache_and_exit, h), 0);
		pthread_join(t, NULL);
	} else {
		cache_and_exit(h);
	}
	after = fit(h, 32 * 1024);
	cr_expect_geq(after, base - base / 20,
		      "%d objects of 32 KiB with 4 MiB of 64 KiB ones cached (%s), %d in a fresh heap",
		      after, in_thread ? "thread exited" : "this thread", base);
	daxalloc_heap_destroy(&h);
	munmap(p, size);
}

Test(heap, thread_exit_returns_cache, .timeout = 60)
{
	cache_comes_back(true);
}

Test(heap, full_heap_takes_cache_back, .timeout = 60)
{
	cache_comes_back(false);
}

/*
 * A heap destroyed while another thread holds cached objects of it, and a
 * new heap on the same range (most likely at the same address): that
 * thread's objects of the old heap are never handed out by the new one.
 */
static struct daxalloc_heap *_Atomic stale_heap;
static pthread_barrier_t stale_step;

static void *cache_then_use_new(void *arg)
{
	void *objs[32];

	pthread_barrier_wait(&stale_step); /* main makes the heap */
	for (int i = 0; i < 32; i++)
		objs[i] = daxalloc_heap_malloc(stale_heap, 20000);
	for (int i = 0; i < 32; i++)
		daxalloc_heap_free(stale_heap, objs[i]);
	pthread_barrier_wait(&stale_step); /* main destroys, makes the new heap */
	pthread_barrier_wait(&stale_step);
	for (int i = 0; i < 32; i++) {
		objs[i] = daxalloc_heap_malloc(stale_heap, 20000);
		if (objs[i])
			memset(objs[i], 0xee, 20000);
	}
	for (int i = 0; i < 32; i++)
		daxalloc_heap_free(stale_heap, objs[i]);
	return NULL;
}

Test(heap, destroyed_under_a_thread_cache, .timeout = 60)
{
	size_t size = 64 * MiB;
	void *p = area(size);
	struct daxalloc_heap *h, *old;
	struct hm m;
	pthread_t t;

	pthread_barrier_init(&stale_step, NULL, 2);
	cr_assert_eq(pthread_create(&t, NULL, cache_then_use_new, NULL), 0);
	/* Made last, so that freed it goes back to malloc's top. */
	stale_heap = old = h = heap_on(p, size, 0);
	pthread_barrier_wait(&stale_step);
	pthread_barrier_wait(&stale_step);
	daxalloc_heap_destroy(&h);
	h = heap_on(p, size, 0);
	/* Usually at the old address (malloc hands the same block back): the
	 * case only the generation tells apart. */
	if (h != old)
		fprintf(stderr, "the new heap is not at the old one's address\n");
	/* The new heap's objects cover where the old one's cached ones were. */
	hm_init(&m, h, 11, 64 * 1024);
	for (int i = 0; i < 3000; i++)
		cr_assert_eq(hm_step(&m), 0, "%s", m.err);
	stale_heap = h;
	pthread_barrier_wait(&stale_step);
	pthread_join(t, NULL); /* and its cache goes at exit, to no dead pool */
	cr_assert_eq(hm_check_all(&m), 0, "%s", m.err);
	expect_stats_match(h, &m);
	cr_assert_eq(hm_free_all(&m), 0, "%s", m.err);
	hm_fini(&m);
	daxalloc_heap_destroy(&h);
	pthread_barrier_destroy(&stale_step);
	munmap(p, size);
}
