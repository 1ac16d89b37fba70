// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * daxalloc-heap-bench: malloc/free pairs per second of the daxalloc heap
 * on a device region (uncounted and with DAXALLOC_HEAP_COUNT), against
 * glibc's malloc on DRAM, tbbmalloc's scalable_malloc on DRAM and
 * memkind's fixed kind on another region of the same device, in one run.
 *
 *   daxalloc-heap-bench [--device DEV] [--threads 1,2,4] [--sizes 16,1024,0]
 *                       [--rounds N] [--slot-ms MS] [--batch N] [--wall-clock]
 *                       [--slots] [--json]
 *
 * Each thread allocates a batch of objects (64, --batch), writing one byte
 * of each, then frees them, over and over; sizes 16 B to 64 KiB, and a mix
 * drawn log-uniformly from that range (size 0).
 *
 * How it is measured, so that a ratio repeats on a busy machine: per
 * thread count and size, the same worker threads run every allocator in
 * short slots (about --slot-ms each), in rounds (41, --rounds); each round
 * runs every allocator once, the order turning from round to round, after
 * one untimed round to warm up.  glibc, the heaps and tbbmalloc do the
 * same number of batches per slot (calibrated on glibc); memkind, far
 * slower at some sizes, gets its own count.  A value is the median of its
 * slots' pairs per second; a ratio is the median of the per-round ratios
 * (each against the glibc slot of the same round), with its quartiles;
 * --slots prints every slot.  glibc is told to keep freed memory
 * (M_TRIM_THRESHOLD, M_MMAP_THRESHOLD), as the heap does: otherwise it
 * gives 64 freed objects of 4 KiB and up back to the kernel every batch and
 * measures page faults, not malloc.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
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

enum { A_GLIBC, A_HEAP, A_COUNTED, A_TBB, A_MEMKIND, NALLOC };
static const char *alloc_name[] = { "glibc (DRAM)", "daxalloc heap", "daxalloc heap, counted",
				    "tbbmalloc (DRAM)", "memkind fixed" };
static const char *alloc_key[] = { "glibc", "daxalloc", "daxalloc-counted", "tbbmalloc", "memkind" };

/*
 * tbbmalloc's own scalable_malloc on DRAM, the allocator under the heap
 * without the pool and without libdaxalloc: what the heap costs beyond it
 * is ours.  Found in the libtbbmalloc.so.2 that libdaxalloc loaded.
 */
static void *(*tbb_malloc)(size_t);
static void (*tbb_free)(void *);

#define MAXBATCH 256
#define MIXED 0
#define MAXT 64
#define MAXROUNDS 1001

static int batch = 64; /* objects allocated, then freed */
static bool show_slots;
static struct daxalloc_heap *heaps[NALLOC];
#ifdef HAVE_MEMKIND
static memkind_t kind;
#endif

/* What the workers do next; written by the main thread between barriers. */
static struct {
	int alloc;   /* -1: exit */
	size_t size; /* MIXED: 16 B .. 64 KiB */
	long batches;
} job;
static pthread_barrier_t go, done;

static inline void *a_malloc(int a, size_t n)
{
	switch (a) {
	case A_HEAP:
	case A_COUNTED:
		return daxalloc_heap_malloc(heaps[a], n);
	case A_TBB:
		return tbb_malloc(n);
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
	case A_COUNTED:
		daxalloc_heap_free(heaps[a], p);
		break;
	case A_TBB:
		tbb_free(p);
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

static void sizes_for(size_t size, unsigned s, size_t sizes[MAXBATCH])
{
	for (int i = 0; i < batch; i++) {
		if (size != MIXED) {
			sizes[i] = size;
			continue;
		}
		s = s * 1103515245u + 12345u;
		int bits = 4 + (s >> 16) % 12; /* 16 .. 32K, then up to 2x */
		s = s * 1103515245u + 12345u;
		sizes[i] = ((size_t)1 << bits) + ((s >> 8) % ((size_t)1 << bits));
	}
}

/* The same loop for every allocator: a switch the compiler hoists out. */
static void batches(int a, const size_t sizes[MAXBATCH], long n)
{
	void *p[MAXBATCH];

	for (long r = 0; r < n; r++) {
		for (int i = 0; i < batch; i++) {
			p[i] = a_malloc(a, sizes[i]);
			if (!p[i]) {
				fprintf(stderr, "heap-bench: %s: out of memory\n", alloc_name[a]);
				exit(1);
			}
			*(volatile char *)p[i] = (char)i;
		}
		for (int i = 0; i < batch; i++)
			a_free(a, p[i]);
	}
}

static void *worker(void *arg)
{
	unsigned seed = 1u + 7919u * (unsigned)(uintptr_t)arg;
	size_t sizes[MAXBATCH];

	for (;;) {
		pthread_barrier_wait(&go);
		if (job.alloc < 0)
			return NULL;
		sizes_for(job.size, seed, sizes);
		batches(job.alloc, sizes, job.batches);
		pthread_barrier_wait(&done);
	}
}

static clockid_t clock_id = CLOCK_PROCESS_CPUTIME_ID;

static double now(void)
{
	struct timespec t;

	clock_gettime(clock_id, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/*
 * One slot: seconds for the workers to do @n batches each.  By default the
 * seconds are the process's CPU time (every thread's): what other programs
 * on the machine take costs a slot nothing.  Pairs per second are then per
 * CPU-second.
 */
static double slot(int alloc, size_t size, long n)
{
	double t0;

	job.alloc = alloc;
	job.size = size;
	job.batches = n;
	t0 = now();
	pthread_barrier_wait(&go);
	pthread_barrier_wait(&done);
	return now() - t0;
}

/* Batches per thread that make a slot of @alloc last about @ms. */
static long calibrate(int alloc, size_t size, double ms)
{
	long n = 4;
	double t;

	while ((t = slot(alloc, size, n)) < ms * 1e-3 / 4 && n < (1L << 30))
		n *= 2;
	n = (long)(n * (ms * 1e-3 / t));
	return n > 0 ? n : 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The @q quantile (0..1) of @v[0..n), which it sorts. */
static double quantile(double *v, int n, double q)
{
	double pos = q * (n - 1);
	int i = (int)pos;

	qsort(v, n, sizeof(*v), cmp_double);
	return i + 1 < n ? v[i] + (pos - i) * (v[i + 1] - v[i]) : v[i];
}

struct result {
	double pairs_per_s;               /* median */
	double ratio, ratio_q1, ratio_q3; /* ÷ glibc */
	long batches;                     /* per thread and slot */
	bool done;
};

static void measure(int threads, size_t size, int rounds, double ms, const bool use[NALLOC],
		    struct result res[NALLOC])
{
	static double rate[NALLOC][MAXROUNDS], ratio[MAXROUNDS];
	long n[NALLOC];
	int order[NALLOC], k = 0;

	for (int a = 0; a < NALLOC; a++)
		if (use[a])
			order[k++] = a;
	n[A_GLIBC] = calibrate(A_GLIBC, size, ms);
	for (int a = 0; a < NALLOC; a++)
		if (a != A_GLIBC && use[a])
			n[a] = a == A_MEMKIND ? calibrate(a, size, ms) : n[A_GLIBC];
	for (int r = -1; r < rounds; r++) {
		for (int i = 0; i < k; i++) {
			/* round r starts at allocator r mod k: each goes first as often */
			int a = order[((r < 0 ? 0 : r) + i) % k];
			double t = slot(a, size, n[a]);

			if (r >= 0)
				rate[a][r] = (double)threads * n[a] * batch / t;
			if (r >= 0 && show_slots)
				fprintf(stderr, "threads %d size %zu round %d %s %.0f pairs/s\n",
					threads, size, r, alloc_key[a], rate[a][r]);
		}
	}
	for (int a = 0; a < NALLOC; a++) {
		if (!use[a])
			continue;
		for (int r = 0; r < rounds; r++)
			ratio[r] = rate[a][r] / rate[A_GLIBC][r];
		res[a].ratio = quantile(ratio, rounds, 0.5);
		res[a].ratio_q1 = quantile(ratio, rounds, 0.25);
		res[a].ratio_q3 = quantile(ratio, rounds, 0.75);
		res[a].pairs_per_s = quantile(rate[a], rounds, 0.5);
		res[a].batches = n[a];
		res[a].done = true;
	}
}

__attribute__((noreturn)) static void die(const char *what)
{
	fprintf(stderr, "heap-bench: %s: %s\n", what, daxalloc_errmsg());
	exit(1);
}

static int parse_list(char *s, long *out, int max)
{
	char *tok;
	int n = 0;

	while ((tok = strsep(&s, ",")) && n < max)
		out[n++] = atol(tok);
	return n;
}

int main(int argc, char **argv)
{
	const char *device = "hugetlb:2M:1G";
	long threads[8] = { 1, 2, 4 }, sizes[16] = { 16, 64, 256, 1024, 4096, 16384, 65536, MIXED };
	int nthreads = 3, nsizes = 8, rounds = 41;
	double ms = 4;
	bool json = false, use[NALLOC] = { true, true, true, true, false };
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "sizes", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "slot-ms", required_argument, NULL, 'm' },
		{ "batch", required_argument, NULL, 'b' },
		{ "slots", no_argument, NULL, 'v' },
		{ "wall-clock", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct result res[8][16][NALLOC];
	struct daxalloc_ctx *ctx;
	struct daxalloc_dev *dev;
	struct daxalloc_pool *pool;
	struct daxalloc_region *r1, *r2, *r3;
	int c;

#ifdef HAVE_MEMKIND
	use[A_MEMKIND] = true;
#endif
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 't':
			nthreads = parse_list(optarg, threads, 8);
			break;
		case 's':
			nsizes = parse_list(optarg, sizes, 16);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'm':
			ms = atof(optarg);
			break;
		case 'b':
			batch = atoi(optarg);
			break;
		case 'v':
			show_slots = true;
			break;
		case 'w':
			clock_id = CLOCK_MONOTONIC;
			break;
		case 'j':
			json = true;
			break;
		default:
			fprintf(stderr, "usage: daxalloc-heap-bench [--device DEV] [--threads 1,2,4] "
					"[--sizes 16,1024,0] [--rounds N] [--slot-ms MS] [--batch N] "
					"[--wall-clock] [--slots] [--json]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	for (int i = 0; i < nthreads; i++)
		if (threads[i] < 1 || threads[i] > MAXT)
			return fprintf(stderr, "heap-bench: threads must be 1..%d\n", MAXT), 2;
	for (int i = 0; i < nsizes; i++)
		if (sizes[i] < 0 || sizes[i] > (1L << 20))
			return fprintf(stderr, "heap-bench: sizes must be 0 (mixed) .. 1 MiB\n"), 2;
	if (rounds < 1 || rounds > MAXROUNDS || !(ms > 0) || batch < 1 || batch > MAXBATCH)
		return fprintf(stderr,
			       "heap-bench: rounds must be 1..%d, slot-ms > 0, "
			       "batch 1..%d\n",
			       MAXROUNDS, MAXBATCH),
		       2;

	tbb_malloc = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "scalable_malloc");
	tbb_free = (void (*)(void *))dlsym(RTLD_DEFAULT, "scalable_free");
	if (!tbb_malloc || !tbb_free)
		use[A_TBB] = false;
	/* The heap keeps what is freed; so does glibc here (see the top). */
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);

	if (daxalloc_ctx_new(&ctx) < 0 || daxalloc_dev_open(ctx, device, &dev) < 0)
		die(device);
	if (daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &pool) < 0)
		die("format");
	if (daxalloc_alloc(pool, 256ull << 20, NULL, 0, &r1) < 0 ||
	    daxalloc_alloc(pool, 256ull << 20, NULL, 0, &r2) < 0 ||
	    daxalloc_alloc(pool, 256ull << 20, NULL, 0, &r3) < 0)
		die("regions of 256 MiB");
	if (daxalloc_heap_create(r1, 0, &heaps[A_HEAP]) < 0 ||
	    daxalloc_heap_create(r3, DAXALLOC_HEAP_COUNT, &heaps[A_COUNTED]) < 0)
		die("heap");
#ifdef HAVE_MEMKIND
	if (memkind_create_fixed(daxalloc_region_get_address(r2), daxalloc_region_get_size(r2),
				 &kind) != 0) {
		fprintf(stderr, "heap-bench: memkind_create_fixed failed\n");
		return 1;
	}
#endif

	for (int ti = 0; ti < nthreads; ti++) {
		pthread_t t[MAXT];

		pthread_barrier_init(&go, NULL, threads[ti] + 1);
		pthread_barrier_init(&done, NULL, threads[ti] + 1);
		for (long i = 0; i < threads[ti]; i++)
			pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
		for (int si = 0; si < nsizes; si++)
			measure(threads[ti], sizes[si], rounds, ms, use, res[ti][si]);
		job.alloc = -1;
		pthread_barrier_wait(&go);
		for (int i = 0; i < threads[ti]; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&go);
		pthread_barrier_destroy(&done);
	}

	struct utsname u;
	uname(&u);
	if (json) {
		printf("{\"device\": \"%s\", \"kernel\": \"%s\", \"cpus\": %ld, \"rounds\": %d,"
		       " \"slot_ms\": %g, \"batch\": %d, \"stat\": \"median\", \"clock\": \"%s\","
		       " \"results\": [\n",
		       daxalloc_dev_get_name(dev), u.release, sysconf(_SC_NPROCESSORS_ONLN), rounds,
		       ms, batch, clock_id == CLOCK_MONOTONIC ? "wall" : "cpu");
		const char *sep = "";
		for (int ti = 0; ti < nthreads; ti++)
			for (int si = 0; si < nsizes; si++)
				for (int a = 0; a < NALLOC; a++) {
					struct result *x = &res[ti][si][a];

					if (!x->done)
						continue;
					printf("%s {\"alloc\": \"%s\", \"threads\": %ld, \"size\": %ld,"
					       " \"pairs_per_s\": %.0f, \"ratio\": %.3f,"
					       " \"ratio_q1\": %.3f, \"ratio_q3\": %.3f,"
					       " \"batches\": %ld}",
					       sep, alloc_key[a], threads[ti], sizes[si],
					       x->pairs_per_s, x->ratio, x->ratio_q1, x->ratio_q3,
					       x->batches);
					sep = ",\n";
				}
		printf("\n]}\n");
	} else {
		printf("%-7s %-6s %12s %12s %18s %18s %7s %7s\n", "threads", "size", "glibc/s",
		       "heap/s", "heap/gl (q1-q3)", "cnt/gl (q1-q3)", "tbb/gl", "mk/gl");
		for (int ti = 0; ti < nthreads; ti++)
			for (int si = 0; si < nsizes; si++) {
				struct result *x = res[ti][si];
				char sz[24], r1s[32], r3s[32];

				if (sizes[si] == MIXED)
					snprintf(sz, sizeof(sz), "mixed");
				else
					snprintf(sz, sizeof(sz), "%ld", sizes[si]);
				snprintf(r1s, sizeof(r1s), "%.2f (%.2f-%.2f)", x[A_HEAP].ratio,
					 x[A_HEAP].ratio_q1, x[A_HEAP].ratio_q3);
				snprintf(r3s, sizeof(r3s), "%.2f (%.2f-%.2f)", x[A_COUNTED].ratio,
					 x[A_COUNTED].ratio_q1, x[A_COUNTED].ratio_q3);
				printf("%-7ld %-6s %12.0f %12.0f %18s %18s %7.2f %7.2f\n",
				       threads[ti], sz, x[A_GLIBC].pairs_per_s, x[A_HEAP].pairs_per_s,
				       r1s, r3s, x[A_TBB].ratio, x[A_MEMKIND].ratio);
			}
	}
	for (int a = 0; a < NALLOC; a++)
		daxalloc_heap_destroy(&heaps[a]);
	daxalloc_region_close(&r1);
	daxalloc_region_close(&r2);
	daxalloc_region_close(&r3);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
	return 0;
}
