// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fault: first touch of every page of a region, and a populating
 * allocation, against mmap of the same memory by hand; with 4K pages
 * where no device has them, a shmem memfd alone.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"

static long faults_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static void fault_rows(struct bench *b, const char *al, const char *len, const char *device,
		       const char *base, double lt[][2], double lf[][2], double bt[][2],
		       double bf[][2], int n, const char *why)
{
	static const char *const how[2] = { "first touch", "populate" };
	double v[4][n];

	for (int k = 0; k < 2; k++) {
		char variant[96];
		struct result *r[2];

		for (int i = 0; i < n; i++) {
			v[0][i] = lt ? lt[i][k] : NAN;
			v[1][i] = bt[i][k];
			v[2][i] = lf ? lf[i][k] : NAN;
			v[3][i] = bf[i][k];
		}
		snprintf(variant, sizeof(variant), "%s %s, %s", al, len, how[k]);
		r[0] = add_result(b, "fault", variant, device, base, best_low(v[0], n),
				  best_low(v[1], n), "ms/GiB", false, n);
		r[1] = add_result(b, "faults", variant, device, base, best_low(v[2], n),
				  best_low(v[3], n), "faults/GiB", false, n);
		if (why)
			for (int j = 0; j < 2; j++)
				note(r[j], "%s", why);
	}
}

/* The touch of [@p, +@len) timed from @t0 and @f0: milliseconds and faults per GiB. */
static void touch_timed(char *p, uint64_t len, uint64_t stride, uint64_t t0, long f0, double *ms,
			double *faults)
{
	uint64_t t1;
	long f1;

	touch_write(p, len, stride);
	t1 = now_ns();
	f1 = faults_now();
	*ms = ms_per_gib(t1 - t0, len);
	*faults = (double)(f1 - f0) / ((double)len / (double)GiB);
}

/* Map, touch every page, unmap: the timed part is the touch (or the populating map). */
static int fault_raw(int fd, uint64_t off, uint64_t len, uint64_t stride, bool populate, double *ms,
		     double *faults)
{
	int flags = fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED;
	uint64_t t0 = 0;
	long f0 = 0;
	char *p;

	if (populate) {
		f0 = faults_now();
		t0 = now_ns();
	}
	p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, flags | (populate ? MAP_POPULATE : 0),
		 fd, (off_t)off);
	if (p == MAP_FAILED)
		return -errno;
	if (!populate) {
		f0 = faults_now();
		t0 = now_ns();
	}
	touch_timed(p, len, stride, t0, f0, ms, faults);
	munmap(p, (size_t)len);
	return 0;
}

static int fault_lib(struct bench_dev *d, uint64_t len, bool populate, double *ms, double *faults)
{
	struct daxalloc_region *r;
	uint64_t t0 = 0;
	long f0 = 0;
	int rc;

	if (populate) {
		f0 = faults_now();
		t0 = now_ns();
	}
	rc = daxalloc_alloc(d->pool, len, NULL, populate ? DAXALLOC_ALLOC_POPULATE : 0, &r);
	if (rc < 0)
		return rc;
	if (!populate) {
		f0 = faults_now();
		t0 = now_ns();
	}
	touch_timed(daxalloc_region_get_address(r), len, d->align, t0, f0, ms, faults);
	daxalloc_region_free(&r);
	return 0;
}

void bench_fault_dev(struct bench *b, const char *spec)
{
	uint64_t a = standin_align(spec), len = b->quick ? (a ? a : 2 * MiB) : b->size, off;
	int n = iters(b, 5), rc;
	double lt[n][2], lf[n][2], bt[n][2], bf[n][2];
	char why[512] = "", al[32], ls[32];
	struct daxalloc_region *probe;
	struct bench_dev d;

	if (bench_dev_open_len(b, spec, &len, &d, why, sizeof(why)) < 0) {
		skip_result(b, "fault", spec ? spec : "default", spec, "ms/GiB", false, why);
		return;
	}
	len = roundup(len, d.align);
	if (d.align == PAGE_4K)
		b->saw_4k = true;
	/* Where the library puts it; the baseline maps that same memory. */
	rc = daxalloc_alloc(d.pool, len, NULL, 0, &probe);
	if (rc < 0) {
		skip_result(b, "fault", d.name, d.name, "ms/GiB", false, daxalloc_errmsg());
		bench_dev_close(&d);
		return;
	}
	off = daxalloc_region_get_offset(probe);
	daxalloc_region_free(&probe);
	say("fault: %s on %s", szs(len, ls, sizeof(ls)), d.name);
	/*
	 * One untimed round first: on the stand-in it puts the pages in the
	 * memfd, where they then stay, as device-dax memory always is.
	 */
	for (int i = -1; i < n && !why[0]; i++) {
		for (int k = 0; k < 2; k++) {
			double m1 = 0, f1 = 0, m2 = 0, f2 = 0;

			if (i & 1) {
				rc = fault_raw(d.rawfd, off, len, d.align, k, &m2, &f2);
				if (rc == 0)
					rc = fault_lib(&d, len, k, &m1, &f1);
			} else {
				rc = fault_lib(&d, len, k, &m1, &f1);
				if (rc == 0)
					rc = fault_raw(d.rawfd, off, len, d.align, k, &m2, &f2);
			}
			if (rc < 0) {
				snprintf(why, sizeof(why), "%s",
					 daxalloc_errmsg()[0] ? daxalloc_errmsg() : strerror(-rc));
				break;
			}
			if (i < 0)
				continue;
			lt[i][k] = m1;
			lf[i][k] = f1;
			bt[i][k] = m2;
			bf[i][k] = f2;
		}
	}
	if (why[0])
		for (int i = 0; i < n; i++)
			lt[i][0] = lt[i][1] = bt[i][0] = bt[i][1] = lf[i][0] = lf[i][1] = bf[i][0] =
				bf[i][1] = NAN;
	fault_rows(b, szs(d.align, al, sizeof(al)), ls, d.name, "mmap of the device", lt, lf, bt,
		   bf, n, why[0] ? why : NULL);
	bench_dev_close(&d);
}

/* 4K pages on the host: a shmem memfd, resident like device memory. */
void bench_fault_4k(struct bench *b)
{
	uint64_t len = b->quick ? 16 * MiB : b->size;
	int n = iters(b, 5), fd;
	double bt[n][2], bf[n][2];
	char ls[32], why[128];

	fd = memfd_create("daxalloc-bench-4k", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)len) < 0) {
		snprintf(why, sizeof(why), "memfd: %s", strerror(errno));
		skip_result(b, "fault", "4K", "shmem", "ms/GiB", false, why);
		if (fd >= 0)
			close(fd);
		return;
	}
	say("fault: %s on 4K shmem", szs(len, ls, sizeof(ls)));
	for (int i = -1; i < n; i++)
		for (int k = 0; k < 2; k++) {
			double m = NAN, f = NAN;

			if (fault_raw(fd, 0, len, PAGE_4K, k, &m, &f) < 0)
				m = f = NAN;
			if (i >= 0) {
				bt[i][k] = m;
				bf[i][k] = f;
			}
		}
	close(fd);
	fault_rows(b, "4K", ls, "shmem", "mmap of a memfd", NULL, NULL, bt, bf, n,
		   "no library value: the stand-in has no 4K pages (shmem memfd, kernel only)");
}
