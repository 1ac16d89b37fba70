// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * daxalloc-heap-bench: malloc/free pairs per second of the daxalloc heap
 * on a device region, against glibc's malloc on DRAM and memkind's fixed
 * kind on another region of the same device, in the same run, alternating.
 *
 *   daxalloc-heap-bench [--device DEV] [--threads 1,2,4] [--rounds N]
 *                       [--repeat N] [--json]
 *
 * Each thread allocates a batch of 64 objects (writing one byte of each),
 * then frees them, over and over; sizes 16 B to 64 KiB, and a mix drawn
 * log-uniformly from that range.  Every value is the best of --repeat runs.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_MEMKIND
#include <memkind.h>
#endif

#include "daxalloc.h"

enum { A_GLIBC, A_HEAP, A_MEMKIND, NALLOC };
static const char *alloc_name[] = { "glibc (DRAM)", "daxalloc heap", "memkind fixed" };
static const char *alloc_key[] = { "glibc", "daxalloc", "memkind" };

#define BATCH 64
#define MIXED 0

static struct daxalloc_heap *heap;
#ifdef HAVE_MEMKIND
static memkind_t kind;
#endif

struct job {
	int alloc;
	size_t size;		/* MIXED: 16 B .. 64 KiB */
	long rounds;
	unsigned seed;
	pthread_barrier_t *start;
};

static inline void *a_malloc(int a, size_t n)
{
	switch (a) {
	case A_HEAP:
		return daxalloc_heap_malloc(heap, n);
#ifdef HAVE_MEMKIND
	case A_MEMKIND:
		return memkind_malloc(kind, n);
#endif
	default:
		return malloc(n);
	}
}

static inline void a_free(int a, void *p)
{
	switch (a) {
	case A_HEAP:
		daxalloc_heap_free(heap, p);
		break;
#ifdef HAVE_MEMKIND
	case A_MEMKIND:
		memkind_free(kind, p);
		break;
#endif
	default:
		free(p);
	}
}

static void *worker(void *arg)
{
	struct job *j = arg;
	size_t sizes[BATCH];
	void *p[BATCH];
	unsigned s = j->seed;

	for (int i = 0; i < BATCH; i++) {
		if (j->size != MIXED) {
			sizes[i] = j->size;
			continue;
		}
		s = s * 1103515245u + 12345u;
		int bits = 4 + (s >> 16) % 12;	/* 16 .. 32K, then up to 2x */
		s = s * 1103515245u + 12345u;
		sizes[i] = ((size_t)1 << bits) + ((s >> 8) % ((size_t)1 << bits));
	}
	pthread_barrier_wait(j->start);
	for (long r = 0; r < j->rounds; r++) {
		for (int i = 0; i < BATCH; i++) {
			p[i] = a_malloc(j->alloc, sizes[i]);
			if (!p[i]) {
				fprintf(stderr, "heap-bench: %s: out of memory\n",
					alloc_name[j->alloc]);
				exit(1);
			}
			*(volatile char *)p[i] = (char)i;
		}
		for (int i = 0; i < BATCH; i++)
			a_free(j->alloc, p[i]);
	}
	return NULL;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Pairs per second of @threads threads. */
static double run(int alloc, int threads, size_t size, long rounds)
{
	pthread_t t[64];
	struct job j[64];
	pthread_barrier_t start;
	double t0;

	pthread_barrier_init(&start, NULL, threads + 1);
	for (int i = 0; i < threads; i++) {
		j[i] = (struct job){ alloc, size, rounds, 1u + 7919u * i, &start };
		pthread_create(&t[i], NULL, worker, &j[i]);
	}
	/* The clock starts before the release: a descheduled main thread
	 * must not miss the workers' time. */
	t0 = now();
	pthread_barrier_wait(&start);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	t0 = now() - t0;
	pthread_barrier_destroy(&start);
	return (double)threads * rounds * BATCH / t0;
}

static void die(const char *what)
{
	fprintf(stderr, "heap-bench: %s: %s\n", what, daxalloc_errmsg());
	exit(1);
}

int main(int argc, char **argv)
{
	const char *device = "hugetlb:2M:1G";
	int threads[8] = { 1, 2, 4 }, nthreads = 3, repeat = 3;
	long rounds = 20000;
	bool json = false;
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const size_t sizes[] = { 16, 64, 256, 1024, 4096, 16384, 65536, MIXED };
	const int nsizes = sizeof(sizes) / sizeof(sizes[0]);
	struct daxalloc_ctx *ctx;
	struct daxalloc_dev *dev;
	struct daxalloc_pool *pool;
	struct daxalloc_region *r1, *r2;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 't': {
			char *s = optarg, *tok;
			nthreads = 0;
			while ((tok = strsep(&s, ",")) && nthreads < 8)
				threads[nthreads++] = atoi(tok);
			break;
		}
		case 'r':
			rounds = atol(optarg);
			break;
		case 'n':
			repeat = atoi(optarg);
			break;
		case 'j':
			json = true;
			break;
		default:
			fprintf(stderr, "usage: daxalloc-heap-bench [--device DEV] [--threads 1,2,4] "
					"[--rounds N] [--repeat N] [--json]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	for (int i = 0; i < nthreads; i++)
		if (threads[i] < 1 || threads[i] > 64)
			return fprintf(stderr, "heap-bench: threads must be 1..64\n"), 2;

	if (daxalloc_ctx_new(&ctx) < 0 || daxalloc_dev_open(ctx, device, &dev) < 0)
		die(device);
	if (daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &pool) < 0)
		die("format");
	if (daxalloc_alloc(pool, 256ull << 20, NULL, 0, &r1) < 0 ||
	    daxalloc_alloc(pool, 256ull << 20, NULL, 0, &r2) < 0)
		die("regions of 256 MiB");
	if (daxalloc_heap_create(r1, 0, &heap) < 0)
		die("heap");
#ifdef HAVE_MEMKIND
	if (memkind_create_fixed(daxalloc_region_get_address(r2), daxalloc_region_get_size(r2),
				 &kind) != 0) {
		fprintf(stderr, "heap-bench: memkind_create_fixed failed\n");
		return 1;
	}
#endif

	double best[NALLOC][8][8] = { { { 0 } } };
	for (int rep = 0; rep < repeat; rep++)
		for (int ti = 0; ti < nthreads; ti++)
			for (int si = 0; si < nsizes; si++)
				for (int a = 0; a < NALLOC; a++) {
#ifndef HAVE_MEMKIND
					if (a == A_MEMKIND)
						continue;
#endif
					/* memkind's fixed kind is ~10x slower: fewer rounds */
					long n = a == A_MEMKIND ? rounds / 10 : rounds;
					double v = run(a, threads[ti], sizes[si], n);
					if (v > best[a][ti][si])
						best[a][ti][si] = v;
				}

	struct utsname u;
	uname(&u);
	if (json) {
		printf("{\"device\": \"%s\", \"kernel\": \"%s\", \"cpus\": %ld, \"repeat\": %d,"
		       " \"rounds\": %ld, \"batch\": %d, \"results\": [\n",
		       daxalloc_dev_get_name(dev), u.release, sysconf(_SC_NPROCESSORS_ONLN), repeat,
		       rounds, BATCH);
		const char *sep = "";
		for (int ti = 0; ti < nthreads; ti++)
			for (int si = 0; si < nsizes; si++)
				for (int a = 0; a < NALLOC; a++) {
					if (best[a][ti][si] == 0)
						continue;
					printf("%s {\"alloc\": \"%s\", \"threads\": %d, \"size\": %zu,"
					       " \"pairs_per_s\": %.0f}",
					       sep, alloc_key[a], threads[ti], sizes[si],
					       best[a][ti][si]);
					sep = ",\n";
				}
		printf("\n]}\n");
	} else {
		printf("%-8s %-8s %14s %14s %14s %8s %8s\n", "threads", "size", "glibc/s",
		       "daxalloc/s", "memkind/s", "dax/gl", "mk/gl");
		for (int ti = 0; ti < nthreads; ti++)
			for (int si = 0; si < nsizes; si++) {
				double g = best[A_GLIBC][ti][si];
				char sz[24];
				if (sizes[si] == MIXED)
					snprintf(sz, sizeof(sz), "mixed");
				else
					snprintf(sz, sizeof(sz), "%zu", sizes[si]);
				printf("%-8d %-8s %14.0f %14.0f %14.0f %8.2f %8.2f\n", threads[ti], sz,
				       g, best[A_HEAP][ti][si], best[A_MEMKIND][ti][si],
				       best[A_HEAP][ti][si] / g, best[A_MEMKIND][ti][si] / g);
			}
	}
	daxalloc_heap_destroy(&heap);
	daxalloc_region_close(&r1);
	daxalloc_region_close(&r2);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
	return 0;
}
