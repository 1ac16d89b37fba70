// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pin: daxalloc_pin/unpin against the consumer's own call (io_uring
 * buffer registration, VFIO_IOMMU_MAP_DMA, IOMMU_IOAS_MAP, ibv_reg_mr) on
 * the same memory, at the base size and the largest that fits, and again
 * on a pool holding many other regions.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"
#include "consumers.h"

/* The consumers asked for: io_uring always, the others when named. */
static int consumers_list(const struct bench *b, enum daxalloc_pin_kind *kinds, const char **where)
{
	int n = 0;

	kinds[n] = DAXALLOC_PIN_URING;
	where[n++] = NULL;
	if (b->vfio_group) {
		kinds[n] = DAXALLOC_PIN_VFIO;
		where[n++] = b->vfio_group;
	}
	if (b->rdma_dev) {
		kinds[n] = DAXALLOC_PIN_RDMA;
		where[n++] = b->rdma_dev;
	}
	if (b->iommufd_cdev) {
		kinds[n] = DAXALLOC_PIN_IOMMUFD;
		where[n++] = b->iommufd_cdev;
	}
	return n;
}

/*
 * Pin and unpin [addr, +len) N times each way, alternating which goes
 * first; @r may be NULL (no library: memory the stand-in cannot offer),
 * and then @nolib says why.
 */
static void pin_pair(struct bench *b, struct consumer *c, struct daxalloc_region *r, void *addr,
		     uint64_t len, const char *variant, const char *device, const char *nolib)
{
	enum { MAX_N = 40 };
	int n = iters(b, 5), lib_rc = 0, raw_rc = 0;
	double lp[MAX_N], lu[MAX_N], rp[MAX_N], ru[MAX_N], own[MAX_N];
	char lib_err[300] = "", raw_err[320] = "";
	struct daxalloc_pin_target t;
	struct result *pr, *ur;
	uint64_t warm = 0, roff = 0;

	if (n > MAX_N)
		n = MAX_N;
	if (r)
		roff = (uint64_t)((char *)addr - (char *)daxalloc_region_get_address(r));
	consumer_target(c, &t);
	/* One untimed round: first-use costs (page tables, caches) go to nobody. */
	for (int i = -1; i < n; i++) {
		/*
		 * Short pins (1G pages) drown in the neighbours' noise: take
		 * more of them, about a second's worth, so the best is clean.
		 */
		if (i == 0 && b->iters == 0 && !b->quick && warm && warm < 100000000) {
			n = (int)(1000000000 / warm);
			n = n < 5 ? 5 : n > MAX_N ? MAX_N : n;
		}
		for (int k = 0; k < 2; k++) {
			bool lib = (k ^ (i & 1)) == 0;
			uint64_t t0, t1, t2;
			int rc;

			if (lib && (!r || lib_rc))
				continue;
			if (!lib && raw_rc)
				continue;
			if (lib) {
				struct daxalloc_pin *p = NULL;

				t0 = now_ns();
				rc = daxalloc_pin(r, roff, len, &t, &p);
				t1 = now_ns();
				/* The library's share: its wall time less the kernel call. */
				if (rc == 0 && i >= 0)
					own[i] = (double)(t1 - t0 - daxalloc_pin_get_pin_time_ns(p)) /
						 1e3;
				if (rc == 0)
					rc = daxalloc_unpin(&p);
				t2 = now_ns();
				if (rc < 0) {
					lib_rc = rc;
					snprintf(lib_err, sizeof(lib_err), "%s", daxalloc_errmsg());
				}
			} else {
				t0 = now_ns();
				rc = consumer_pin(c, addr, len);
				t1 = now_ns();
				if (rc == 0)
					rc = consumer_unpin(c, len);
				t2 = now_ns();
				if (rc < 0) {
					raw_rc = rc;
					snprintf(raw_err, sizeof(raw_err), "%s", consumer_errmsg());
				}
			}
			warm += t2 - t0;
			if (getenv("DAXALLOC_BENCH_TRACE"))
				say("  %s pin %.3f ms, unpin %.3f ms", lib ? "library" : "kernel",
				    (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6);
			if (i < 0)
				continue;
			(lib ? lp : rp)[i] = rc < 0 ? NAN : ms_per_gib(t1 - t0, len);
			(lib ? lu : ru)[i] = rc < 0 ? NAN : ms_per_gib(t2 - t1, len);
		}
	}
	if (!r || lib_rc)
		for (int i = 0; i < n; i++)
			lp[i] = lu[i] = own[i] = NAN;
	if (raw_rc)
		for (int i = 0; i < n; i++)
			rp[i] = ru[i] = NAN;
	pr = add_result(b, "pin", variant, device, consumer_pin_call(c->kind), best_low(lp, n),
			best_low(rp, n), "ms/GiB", false, n);
	ur = add_result(b, "unpin", variant, device, consumer_unpin_call(c->kind), best_low(lu, n),
			best_low(ru, n), "ms/GiB", false, n);
	if (r && !lib_rc) {
		double o = best_low(own, n);

		note(pr, "library's own work per pin: %.1f us (%.2f%% of the best kernel pin)", o,
		     100 * o / 1e3 / (best_low(rp, n) * (double)len / (double)GiB));
	}
	if (!r) {
		note(pr, "no library value: %s", nolib);
		note(ur, "%s", pr->note);
	}
	if (lib_rc) {
		note(pr, "library: %s", lib_err);
		note(ur, "library: %s", lib_err);
	}
	if (raw_rc) {
		note(pr, "kernel: %s", raw_err);
		note(ur, "kernel: %s", raw_err);
	}
}

/*
 * Each consumer asked for, opened in turn, pins [@addr, +@len) (of @r,
 * or NULL: the kernel alone, @nolib says why); the variant is the
 * consumer's name and @suffix.
 */
static void pin_each_consumer(struct bench *b, struct daxalloc_region *r, void *addr, uint64_t len,
			      const char *device, const char *where, const char *nolib,
			      const char *suffix)
{
	enum daxalloc_pin_kind kinds[4];
	const char *at[4];
	int nk = consumers_list(b, kinds, at);

	for (int k = 0; k < nk; k++) {
		struct consumer c;
		char variant[96];

		snprintf(variant, sizeof(variant), "%s %s", daxalloc_pin_kind_name(kinds[k]), suffix);
		if (consumer_open(&c, kinds[k], at[k]) < 0) {
			skip_result(b, "pin", variant, device, "ms/GiB", false, consumer_errmsg());
			continue;
		}
		say("pin: %s on %s", variant, where);
		pin_pair(b, &c, r, addr, len, variant, device, nolib);
		consumer_close(&c);
	}
}

/* A row per consumer asked for, saying why none was measured. */
static void skip_each_consumer(struct bench *b, const char *suffix, const char *device,
			       const char *why)
{
	enum daxalloc_pin_kind kinds[4];
	const char *at[4];
	int nk = consumers_list(b, kinds, at);

	for (int k = 0; k < nk; k++) {
		char variant[96];

		snprintf(variant, sizeof(variant), "%s %s", daxalloc_pin_kind_name(kinds[k]), suffix);
		skip_result(b, "pin", variant, device, "ms/GiB", false, why);
	}
}

/* The sizes to pin: the base size and the largest that fits (<= --pin-max). */
static int pin_sizes(const struct bench *b, uint64_t align, uint64_t room, uint64_t *sz)
{
	uint64_t base = roundup(b->size, align), big = b->pin_max, meta = bench_meta_size(align);
	bool exact = room != 0;
	int n = 0;

	sz[n++] = base;
	/* On shared memory (RAM, hugetlb): leave the rest of the machine 4 GiB. */
	if (!room) {
		uint64_t avail = meminfo_bytes("MemAvailable") + hugetlb_free_bytes(align);

		room = avail > 4 * GiB + meta ? avail - 4 * GiB - meta : 0;
	}
	if (big > room)
		big = room;
	big = big / align * align;
	/* powers of two of GiB read better; keep a device's exact capacity */
	if (big >= GiB && !(exact && big == room)) {
		uint64_t p = GiB;

		while (p * 2 <= big)
			p *= 2;
		big = p;
	}
	if (big > base && !b->quick)
		sz[n++] = big;
	return n;
}

/*
 * Huge pages of size @align mapped by hand, populated: what a program
 * without the library pins when the stand-in cannot be had (it needs a
 * page more than the region, for its metadata).
 */
static void *hugetlb_map(uint64_t align, uint64_t len)
{
	int huge = align == GiB ? 30 : 21; /* MAP_HUGE_1GB, MAP_HUGE_2MB */
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE |
			       (huge << MAP_HUGE_SHIFT),
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * The base pin again, with the pool holding many other regions: a pin
 * checks under the pool lock that its region is still allocated.
 */
static void pin_full_pool(struct bench *b, const char *spec, uint64_t align, uint64_t len)
{
	int count = b->quick ? 32 : 512;
	struct daxalloc_region *r = NULL;
	char why[512] = "", suffix[96], s[32], al[32];
	struct bench_dev d;

	if (bench_dev_open(b, spec, len + (uint64_t)count * align, &d, why, sizeof(why)) < 0) {
		snprintf(suffix, sizeof(suffix), "%d regions held", count);
		skip_result(b, "pin", suffix, spec, "ms/GiB", false, why);
		return;
	}
	if (daxalloc_alloc(d.pool, len, "bench-pin", DAXALLOC_ALLOC_POPULATE, &r) < 0) {
		snprintf(why, sizeof(why), "%s", daxalloc_errmsg());
	} else {
		struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };

		if (daxalloc_pool_get_stats(d.pool, &st) == 0 &&
		    st.largest_free / d.align < (uint64_t)count)
			snprintf(why, sizeof(why), "%s: no room for %d more regions", d.name, count);
		else
			bench_fill_pool(&d, count, why, sizeof(why));
	}
	snprintf(suffix, sizeof(suffix), "%s %s, %d regions held", szs(d.align, al, sizeof(al)),
		 szs(len, s, sizeof(s)), count);
	if (why[0])
		skip_each_consumer(b, suffix, d.name, why);
	else
		pin_each_consumer(b, r, daxalloc_region_get_address(r), len, d.name, d.name, NULL,
				  suffix);
	daxalloc_region_free(&r);
	bench_dev_free_leftovers(&d);
	bench_dev_close(&d);
}

/* What one size of the pin run pins: a region of the device, or huge pages by hand. */
static void pin_one_size(struct bench *b, const char *spec, uint64_t a, uint64_t len, bool first)
{
	struct daxalloc_region *r = NULL;
	char why[512], suffix[96], s[32], al[32];
	struct bench_dev d;
	void *raw = NULL;
	int rc;

	rc = bench_dev_open(b, spec, len, &d, why, sizeof(why));
	/* The largest may not fit after all: try half as much. */
	while (rc < 0 && !first && len / 2 > roundup(b->size, a)) {
		len /= 2;
		rc = bench_dev_open(b, spec, len, &d, why, sizeof(why));
	}
	if (rc == 0) {
		rc = daxalloc_alloc(d.pool, len, "bench-pin", DAXALLOC_ALLOC_POPULATE, &r);
		if (rc < 0) {
			snprintf(why, sizeof(why), "%s", daxalloc_errmsg());
			bench_dev_close(&d);
		}
	}
	/* No stand-in: the kernel's side alone, on huge pages mapped by hand. */
	if (rc < 0 && first && standin_align(spec))
		raw = hugetlb_map(a, len);
	snprintf(suffix, sizeof(suffix), "%s %s", szs(a, al, sizeof(al)), szs(len, s, sizeof(s)));
	if (rc == 0) {
		pin_each_consumer(b, r, daxalloc_region_get_address(r), len, d.name, d.name, NULL,
				  suffix);
		daxalloc_region_free(&r);
		bench_dev_close(&d);
	} else if (raw) {
		pin_each_consumer(b, NULL, raw, len, spec, "huge pages mapped by hand", why, suffix);
		munmap(raw, len);
	} else {
		skip_each_consumer(b, suffix, spec ? spec : "default", why);
	}
}

void bench_pin_dev(struct bench *b, const char *spec)
{
	uint64_t sizes[2], a = standin_align(spec), room = 0;
	char why[512];
	int nsz;

	/* A real device: its free space decides the large size. */
	if (!a) {
		struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
		struct bench_dev d;

		if (bench_dev_open(b, spec, 0, &d, why, sizeof(why)) < 0) {
			skip_result(b, "pin", "pin", spec ? spec : "default", "ms/GiB", false, why);
			return;
		}
		a = d.align;
		if (!d.standin && daxalloc_pool_get_stats(d.pool, &st) == 0)
			room = st.largest_free;
		bench_dev_close(&d);
	}
	if (a == PAGE_4K)
		b->saw_4k = true;
	nsz = pin_sizes(b, a, room, sizes);
	for (int i = 0; i < nsz; i++)
		pin_one_size(b, spec, a, sizes[i], i == 0);
	if (a <= 2 * MiB && !b->no_held)
		pin_full_pool(b, spec, a, sizes[0]);
}

void bench_pin_anon(struct bench *b)
{
	uint64_t sizes[2];
	int nsz = pin_sizes(b, PAGE_4K, 0, sizes);
	char variant[96], s[32];

	for (int i = 0; i < nsz; i++) {
		uint64_t len = sizes[i];
		struct consumer c;
		char *p;

		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		snprintf(variant, sizeof(variant), "io_uring 4K %s", szs(len, s, sizeof(s)));
		if (p == MAP_FAILED) {
			skip_result(b, "pin", variant, "anonymous", "ms/GiB", false, strerror(errno));
			continue;
		}
		/* 4K pages for real: no transparent huge pages behind our back. */
		madvise(p, len, MADV_NOHUGEPAGE);
		touch_write(p, len, PAGE_4K);
		if (consumer_open(&c, DAXALLOC_PIN_URING, NULL) < 0) {
			skip_result(b, "pin", variant, "anonymous", "ms/GiB", false,
				    consumer_errmsg());
		} else {
			say("pin: %s on anonymous memory", variant);
			pin_pair(b, &c, NULL, p, len, variant, "anonymous",
				 "the stand-in has no 4K pages (anonymous memory, kernel only)");
			consumer_close(&c);
		}
		munmap(p, len);
	}
}
