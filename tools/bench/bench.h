/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daxalloc-bench's parts: main.c (options, devices, results, output) and
 * one file per metric (pin.c, alloc.c, fault.c, restart.c).  The run's
 * state is one struct bench, passed to every part.
 */
#ifndef DAXALLOC_BENCH_H
#define DAXALLOC_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daxalloc.h"

#define GiB (UINT64_C(1) << 30)
#define MiB (UINT64_C(1) << 20)
#define PAGE_4K UINT64_C(4096)
#define MAX_DEVS 8

enum {
	M_PIN = 1 << 0,
	M_ALLOC = 1 << 1,
	M_FAULT = 1 << 2,
	M_RESTART = 1 << 3,
	M_ALL = (1 << 4) - 1,
};

/* One row of the output: the library's value against its baseline's. */
struct result {
	char metric[32];
	char variant[96];
	char device[64];
	char baseline[64];
	double lib, base; /* NAN: not measured */
	const char *unit;
	bool higher_better;
	int iterations;
	char note[256];
};

struct bench {
	bool json, quick, format;
	int iters; /* 0: each metric's default */
	int threads;
	uint64_t size;    /* pin, fault and restart size */
	uint64_t pin_max; /* the large pin: at most this */
	const char *devs[MAX_DEVS];
	int ndevs;
	unsigned int only;
	const char *vfio_group, *rdma_dev, *tmpdir;
	const char *iommufd_cdev; /* a VFIO device cdev to attach to the IOAS */
	struct daxalloc_ctx *ctx;
	struct result *res;
	size_t nres, capres;
	char machine[192], kernel[128];
	bool saw_4k;              /* a 4K device was measured: no anonymous stand-in */
	bool no_4k;               /* --no-4k: not even then */
	bool no_held;             /* --no-held: no pins on a pool holding many regions */
	bool hp2m_raised;         /* the 2M overcommit limit was raised for memkind */
	uint64_t hp2m_overcommit; /* its value before */
};

/* A device with a pool, and the same memory opened by hand. */
struct bench_dev {
	char name[96];
	struct daxalloc_dev *dev;
	struct daxalloc_pool *pool;
	uint64_t align;
	uint64_t data; /* where regions start: the metadata before */
	bool standin;
	int rawfd;
};

/* main.c */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t now_ns(void);
uint64_t roundup(uint64_t v, uint64_t a);
double ms_per_gib(uint64_t ns, uint64_t len);
/* Best of the finite values (lowest cost, highest rate); NAN when none. */
double best_of(const double *v, int n, bool higher_better);
#define best_low(v, n) best_of(v, n, false)
#define best_high(v, n) best_of(v, n, true)
const char *szs(uint64_t v, char *buf, size_t len);
int iters(const struct bench *b, int dflt);
struct result *add_result(struct bench *b, const char *metric, const char *variant,
			  const char *device, const char *baseline, double lib, double base,
			  const char *unit, bool higher_better, int n);
void note(struct result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A row that measured nothing, and why. */
void skip_result(struct bench *b, const char *metric, const char *variant, const char *device,
		 const char *unit, bool higher_better, const char *why);
/* "hugetlb:1G[:SIZE]" -> its page size; 0 when @spec is not a stand-in. */
uint64_t standin_align(const char *spec);
/* Bytes of /proc/meminfo's @field. */
uint64_t meminfo_bytes(const char *field);
/* Huge pages of size @align free and unreserved: memory the stand-in can use. */
uint64_t hugetlb_free_bytes(uint64_t align);
/*
 * Open @spec with a pool that has @need bytes free in one piece.  The
 * stand-in is sized for the need; a real device must hold a pool already,
 * or --format makes one.  0 or -errno with a reason in @why.
 */
int bench_dev_open(struct bench *b, const char *spec, uint64_t need, struct bench_dev *d, char *why,
		   size_t whylen);
/* The same for @len bytes; a quick run that cannot have them tries 1G. */
int bench_dev_open_len(struct bench *b, const char *spec, uint64_t *len, struct bench_dev *d,
		       char *why, size_t whylen);
void bench_dev_close(struct bench_dev *d);
/* Free the regions this benchmark left (named "bench-..."). */
void bench_dev_free_leftovers(struct bench_dev *d);
/* The metadata a pool on a device of @align keeps for itself. */
uint64_t bench_meta_size(uint64_t align);
/* One byte written per @stride: each write is one first-touch fault. */
void touch_write(char *p, uint64_t len, uint64_t stride);
/* One word read per 4K page: what reading the data back costs at least. */
uint64_t touch_read(const char *p, uint64_t len);

/* The metrics: each adds its rows for device @spec (NULL: the default). */
void bench_pin_dev(struct bench *b, const char *spec);
/* 4K pages where no device has them: anonymous memory, the kernel alone. */
void bench_pin_anon(struct bench *b);
void bench_alloc_dev(struct bench *b, const char *spec);
/* Puts back the 2M huge page limit raised for memkind. */
void bench_alloc_done(struct bench *b);
/* Named regions filling the pool, each one unit: 0 or -1 with @why. */
int bench_fill_pool(struct bench_dev *d, int count, char *why, size_t len);
void bench_fault_dev(struct bench *b, const char *spec);
void bench_fault_4k(struct bench *b);
void bench_restart_dev(struct bench *b, const char *spec);

#endif
