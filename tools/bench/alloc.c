// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * alloc: alloc+free pairs per second, one thread and several, against
 * mmap+munmap of the device by hand, libpmem2 (pmem2_map_new/delete) and
 * memkind's hugetlb kind; and on a pool that already holds many regions.
 */
#include <errno.h>
#include <inttypes.h>
#include <libpmem2.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#ifdef HAVE_MEMKIND
#include <memkind.h>
#endif

#include "bench.h"
/* The machine's huge page counters, read and written as the library does. */
#include "private.h"

enum alloc_way { W_LIB, W_MMAP, W_PMEM2, W_MEMKIND, W_N };

struct worker {
	pthread_t th;
	pthread_barrier_t *bar;
	enum alloc_way way;
	struct bench_dev *d;
	bool named;
	int idx, rc;
	long done;       /* pairs completed */
	uint64_t budget; /* ns to keep going for, at least 3 pairs */
	uint64_t off;
	uint64_t t0, t1; /* this worker's own run */
	char err[256];
};

/*
 * Make @pages 2M huge pages available to memkind as surplus pages: the
 * overcommit limit is raised, never nr_hugepages, so the kernel frees
 * what memkind took when its last user goes, even if this run is killed.
 * bench_alloc_done() puts the limit back.
 */
static int hp2m_ensure(struct bench *b, uint64_t pages)
{
	uint64_t fr = 0, rs = 0, oc = 0, sp = 0, m = 2 * MiB;

	if (sysfs_hugepages_read(m, "free_hugepages", &fr) < 0 ||
	    sysfs_hugepages_read(m, "resv_hugepages", &rs) < 0 ||
	    sysfs_hugepages_read(m, "nr_overcommit_hugepages", &oc) < 0 ||
	    sysfs_hugepages_read(m, "surplus_hugepages", &sp) < 0)
		return -ENOENT;
	if (fr >= rs && fr - rs >= pages)
		return 0;
	if (!b->hp2m_raised)
		b->hp2m_overcommit = oc;
	if (sysfs_hugepages_write(m, "nr_overcommit_hugepages", sp + pages) < 0)
		return -EACCES;
	b->hp2m_raised = true;
	return 0;
}

void bench_alloc_done(struct bench *b)
{
	if (b->hp2m_raised)
		sysfs_hugepages_write(2 * MiB, "nr_overcommit_hugepages", b->hp2m_overcommit);
	b->hp2m_raised = false;
}

/* libpmem2's mapping of one unit at w->off; a failure sets w->rc and w->err. */
static void pmem2_setup(struct worker *w, struct pmem2_config **cfg, struct pmem2_source **src)
{
	w->rc = pmem2_source_from_fd(src, w->d->rawfd);
	if (!w->rc)
		w->rc = pmem2_config_new(cfg);
	if (!w->rc)
		w->rc = pmem2_config_set_required_store_granularity(*cfg, PMEM2_GRANULARITY_PAGE);
	if (!w->rc)
		w->rc = pmem2_config_set_offset(*cfg, (size_t)w->off);
	if (!w->rc)
		w->rc = pmem2_config_set_length(*cfg, (size_t)w->d->align);
	if (w->rc)
		snprintf(w->err, sizeof(w->err), "libpmem2: %s", pmem2_errormsg());
}

/* One alloc+free pair the worker's way; a failure sets w->rc and w->err. */
static void one_pair(struct worker *w, const char *name, struct pmem2_config *cfg,
		     struct pmem2_source *src)
{
	uint64_t unit = w->d->align;

	switch (w->way) {
	case W_LIB: {
		struct daxalloc_region *r;

		w->rc = daxalloc_alloc(w->d->pool, unit, w->named ? name : NULL, 0, &r);
		if (!w->rc)
			w->rc = daxalloc_region_free(&r);
		if (w->rc)
			snprintf(w->err, sizeof(w->err), "%s", daxalloc_errmsg());
		break;
	}
	case W_MMAP: {
		void *p = mmap(NULL, (size_t)unit, PROT_READ | PROT_WRITE, MAP_SHARED, w->d->rawfd,
			       (off_t)w->off);

		if (p == MAP_FAILED) {
			w->rc = -errno;
			snprintf(w->err, sizeof(w->err), "mmap: %s", strerror(errno));
		} else {
			munmap(p, (size_t)unit);
		}
		break;
	}
	case W_PMEM2: {
		struct pmem2_map *m;

		w->rc = pmem2_map_new(&m, cfg, src);
		if (!w->rc)
			w->rc = pmem2_map_delete(&m);
		if (w->rc)
			snprintf(w->err, sizeof(w->err), "libpmem2: %s", pmem2_errormsg());
		break;
	}
	case W_MEMKIND:
#ifdef HAVE_MEMKIND
	{
		void *p;

		w->rc = -memkind_posix_memalign(MEMKIND_HUGETLB, &p, 2 * MiB, (size_t)unit);
		if (!w->rc)
			memkind_free(MEMKIND_HUGETLB, p);
		else
			snprintf(w->err, sizeof(w->err), "memkind_posix_memalign: %s",
				 strerror(-w->rc));
	}
#endif
	break;
	case W_N:
		break;
	}
}

static void *alloc_worker(void *arg)
{
	struct worker *w = arg;
	struct pmem2_config *cfg = NULL;
	struct pmem2_source *src = NULL;
	uint64_t deadline;
	char name[32];

	snprintf(name, sizeof(name), "bench-a%d", w->idx);
	if (w->way == W_PMEM2)
		pmem2_setup(w, &cfg, &src);
	pthread_barrier_wait(w->bar);
	w->t0 = now_ns();
	deadline = w->t0 + w->budget;
	/* A time budget, not a count: pmem2 on devdax is 1000x slower than mmap. */
	for (w->done = 0; !w->rc && (w->done < 3 || now_ns() < deadline); w->done++)
		one_pair(w, name, cfg, src);
	w->t1 = now_ns();
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	return NULL;
}

/* Pairs per second of @threads workers busy for @ns each; NAN on error. */
static double alloc_run(struct bench_dev *d, enum alloc_way way, bool named, int threads,
			uint64_t ns, char *err, size_t errlen)
{
	long pairs = 0;
	struct worker w[threads];
	pthread_barrier_t bar;
	uint64_t t0, t1;
	int rc = 0;

	pthread_barrier_init(&bar, NULL, (unsigned int)threads + 1);
	for (int i = 0; i < threads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].bar = &bar;
		w[i].way = way;
		w[i].d = d;
		w[i].named = named;
		w[i].idx = i;
		w[i].budget = ns;
		/* By hand, each thread maps its own unit of the data area. */
		w[i].off = d->data + (uint64_t)i * d->align;
		pthread_create(&w[i].th, NULL, alloc_worker, &w[i]);
	}
	pthread_barrier_wait(&bar);
	for (int i = 0; i < threads; i++)
		pthread_join(w[i].th, NULL);
	pthread_barrier_destroy(&bar);
	/* From the first start to the last end: this thread may run late. */
	t0 = UINT64_MAX;
	t1 = 0;
	for (int i = 0; i < threads; i++) {
		t0 = w[i].t0 < t0 ? w[i].t0 : t0;
		t1 = w[i].t1 > t1 ? w[i].t1 : t1;
	}
	for (int i = 0; i < threads; i++)
		if (w[i].rc && !rc) {
			rc = w[i].rc;
			snprintf(err, errlen, "%s", w[i].err);
		}
	if (rc)
		return NAN;
	for (int i = 0; i < threads; i++)
		pairs += w[i].done;
	return (double)pairs / ((double)(t1 - t0) / 1e9);
}

int bench_fill_pool(struct bench_dev *d, int count, char *why, size_t len)
{
	for (int i = 0; i < count; i++) {
		struct daxalloc_region *r;
		char name[32];

		snprintf(name, sizeof(name), "bench-fill-%d", i);
		if (daxalloc_alloc(d->pool, d->align, name, 0, &r) < 0) {
			snprintf(why, len, "filling the pool: %s", daxalloc_errmsg());
			return -1;
		}
		/* Named regions stay on the device, unmapped. */
		daxalloc_region_close(&r);
	}
	return 0;
}

/* @d's pool holds @count regions more, or @why says why not: 0 or -1. */
static int fill_for(struct bench_dev *d, int count, char *why, size_t len)
{
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };

	if (daxalloc_pool_get_stats(d->pool, &st) < 0 ||
	    st.largest_free / d->align < (uint64_t)count + 1) {
		snprintf(why, len, "%s: no room for %d regions", d->name, count + 1);
		return -1;
	}
	return bench_fill_pool(d, count, why, len);
}

/*
 * The same pairs on a pool that already holds @count regions: what still
 * grows with the table (finding a name or a best fit, the checkpoint a
 * full journal writes) shows against the pairs on an empty pool.
 */
static void alloc_full_pool(struct bench *b, const char *spec, int reps, int count)
{
	uint64_t a = standin_align(spec);
	double lib[2][reps], base[reps];
	char why[512] = "", lerr[2][256] = { "", "" }, berr[256] = "", variant[96], al[32];
	struct bench_dev d;

	/* 1G units: no machine here has room for hundreds of them. */
	if (a == GiB)
		return;
	if (bench_dev_open(b, spec, (uint64_t)(count + 1) * (a ? a : 1), &d, why, sizeof(why)) < 0)
		goto fail;
	if (d.align > 2 * MiB) {
		bench_dev_close(&d);
		return;
	}
	if (fill_for(&d, count, why, sizeof(why)) < 0) {
		bench_dev_close(&d);
		goto fail;
	}
	szs(d.align, al, sizeof(al));
	say("alloc: %s units, pool of %d regions on %s", al, count, d.name);
	for (int rep = 0; rep < reps; rep++) {
		uint64_t ns = b->quick ? 20000000 : 200000000;

		for (int nm = 0; nm < 2; nm++)
			lib[nm][rep] = lerr[nm][0] ? NAN :
						     alloc_run(&d, W_LIB, nm, 1, ns, lerr[nm],
							       sizeof(lerr[nm]));
		base[rep] = berr[0] ? NAN : alloc_run(&d, W_MMAP, false, 1, ns, berr, sizeof(berr));
	}
	for (int nm = 0; nm < 2; nm++) {
		struct result *r;

		snprintf(variant, sizeof(variant), "%s %s units, 1 thread, %d regions held",
			 nm ? "named" : "unnamed", al, count);
		r = add_result(b, "alloc", variant, d.name, "mmap+munmap", best_high(lib[nm], reps),
			       best_high(base, reps), "pairs/s", true, reps);
		if (lerr[nm][0])
			note(r, "library: %s", lerr[nm]);
		if (berr[0])
			note(r, "baseline: %s", berr);
	}
	bench_dev_free_leftovers(&d);
	bench_dev_close(&d);
	return;
fail:
	snprintf(variant, sizeof(variant), "pool of %d regions", count);
	note(add_result(b, "alloc", variant, spec, "mmap+munmap", NAN, NAN, "pairs/s", true, 0),
	     "%s", why);
}

/* memkind's hugetlb kind takes 2M pages from the kernel's pool: can it have them? */
static void memkind_ready(struct bench *b, struct bench_dev *d, int threads, bool *try, char *err,
			  size_t len)
{
#ifdef HAVE_MEMKIND
	uint64_t pages = (uint64_t)threads * (d->align / (2 * MiB) + 1) + 16;

	if (!d->standin)
		return;
	*try = true;
	if (hp2m_ensure(b, pages) < 0)
		snprintf(err, len, "needs %" PRIu64 " free 2M huge pages (reserve them as root)",
			 pages);
	else if (memkind_check_available(MEMKIND_HUGETLB) != 0)
		snprintf(err, len, "memkind reports its hugetlb kind unavailable");
#else
	(void)b, (void)d, (void)threads, (void)try, (void)err, (void)len;
#endif
}

/* The rows of one thread count: the library's pairs against each baseline's. */
static void alloc_threads(struct bench *b, struct bench_dev *d, int th, int reps)
{
	static const char *const way_name[] = {
		[W_MMAP] = "mmap+munmap",
		[W_PMEM2] = "pmem2_map_new+delete",
		[W_MEMKIND] = "memkind hugetlb",
	};
	uint64_t ns = b->quick ? 20000000 : 200000000;
	double base[W_N][reps], lib[2][reps];
	char berr[W_N][256] = { "", "", "", "" }, lerr[2][256] = { "", "" }, variant[96], al[32];
	bool try_way[W_N] = { false, true, true, false };

	szs(d->align, al, sizeof(al));
	memkind_ready(b, d, th, &try_way[W_MEMKIND], berr[W_MEMKIND], sizeof(berr[0]));
	say("alloc: %s units, %d thread(s) on %s", al, th, d->name);
	for (int rep = 0; rep < reps; rep++) {
		for (int nm = 0; nm < 2; nm++)
			lib[nm][rep] = lerr[nm][0] ? NAN :
						     alloc_run(d, W_LIB, nm, th, ns, lerr[nm],
							       sizeof(lerr[nm]));
		for (int wy = W_MMAP; wy <= W_MEMKIND; wy++)
			base[wy][rep] = !try_way[wy] || berr[wy][0] ?
						NAN :
						alloc_run(d, (enum alloc_way)wy, false, th, ns,
							  berr[wy], sizeof(berr[wy]));
	}
	for (int nm = 0; nm < 2; nm++) {
		snprintf(variant, sizeof(variant), "%s %s units, %d thread%s",
			 nm ? "named" : "unnamed", al, th, th > 1 ? "s" : "");
		for (int wy = W_MMAP; wy <= W_MEMKIND; wy++) {
			struct result *r;

			if (wy == W_MEMKIND && !d->standin)
				continue;
			r = add_result(b, "alloc", variant, d->name, way_name[wy],
				       best_high(lib[nm], reps), best_high(base[wy], reps),
				       "pairs/s", true, reps);
			if (lerr[nm][0])
				note(r, "library: %s", lerr[nm]);
			if (berr[wy][0])
				note(r, "baseline: %s", berr[wy]);
			if (wy == W_PMEM2 && berr[wy][0] && d->standin && d->align == GiB)
				note(r,
				     "libpmem2 places mappings on 2M boundaries, a 1G hugetlb file needs 1G ones");
			else if (wy == W_MEMKIND && !try_way[wy])
				note(r, "baseline: built without memkind");
			if (wy == W_MEMKIND && !berr[wy][0] && try_way[wy])
				note(r, "memkind uses 2M pages whatever the unit");
		}
	}
}

void bench_alloc_dev(struct bench *b, const char *spec)
{
	int reps = iters(b, 5), tcount[2] = { 1, b->threads };
	uint64_t a = standin_align(spec);
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
	char why[512], variant[96], al[32];
	struct bench_dev d;

	/* The stand-in gets a unit per thread; a real device has what it has. */
	if (bench_dev_open(b, spec, (uint64_t)b->threads * a, &d, why, sizeof(why)) < 0 &&
	    (!a || bench_dev_open(b, spec, a, &d, why, sizeof(why)) < 0)) {
		skip_result(b, "alloc", spec ? spec : "default", spec, "pairs/s", true, why);
		return;
	}
	/* A real device may hold fewer units than threads. */
	if (daxalloc_pool_get_stats(d.pool, &st) == 0 &&
	    st.largest_free / d.align < (uint64_t)b->threads)
		tcount[1] = (int)(st.largest_free / d.align);
	for (int ti = 0; ti < 2; ti++) {
		if (ti == 1 && tcount[1] <= 1) {
			struct result *r;

			szs(d.align, al, sizeof(al));
			snprintf(variant, sizeof(variant), "%s units, %d threads", al, b->threads);
			r = add_result(b, "alloc", variant, d.name, "", NAN, NAN, "pairs/s", true, 0);
			note(r, "the device holds %d unit(s) free: no room for %d threads at once",
			     tcount[1], b->threads);
			continue;
		}
		alloc_threads(b, &d, tcount[ti], reps);
	}
	bench_dev_close(&d);
	alloc_full_pool(b, spec, reps, b->quick ? 32 : 512);
	if (!b->quick)
		alloc_full_pool(b, spec, reps, 2000); /* near the table's 2048 */
}
