// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The metadata mapping and how writes to the device are made durable.
 * On a pmem namespace (static region), libpmem2 maps the metadata and
 * supplies the flush and fence that fit the platform (cache-line flushes,
 * or none with eADR); region data uses the same functions.  Dynamic
 * regions (hmem, CXL RAM) and the hugetlb stand-in are volatile memory: a
 * power loss takes everything, so ordered stores are all that crash
 * consistency needs.  A device-dax device whose region kind could not be
 * learnt may be persistent: it is flushed with the CPU's own instructions
 * (libpmem2 1.12 crashes on device-dax that no ndctl namespace backs).
 */
#include <cpuid.h>
#include <errno.h>
#include <libpmem2.h>
#include <stdlib.h>
#include <string.h>

#include "persist.h"
#include "private.h"
#include "sigbus.h"

void (*persist_test_seam)(enum persist_seam_event ev, uint64_t off, uint64_t len);
const struct meta_bad *persist_test_poison;
unsigned int persist_test_npoison;
void (*persist_test_mapped)(const struct meta_map *mm);

static void fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void flush_nop(const void *p, size_t n)
{
	(void)p;
	(void)n;
}

static void persist_nop(const void *p, size_t n)
{
	(void)p;
	(void)n;
	fence();
}

/* ---- flushing without libpmem2: CLWB, else CLFLUSHOPT, else CLFLUSH ---- */

#define LINE 64u

__attribute__((target("clwb"))) static void flush_clwb(const void *p, size_t n)
{
	for (uintptr_t a = (uintptr_t)p & ~(uintptr_t)(LINE - 1); a < (uintptr_t)p + n; a += LINE)
		__builtin_ia32_clwb((void *)a);
}

__attribute__((target("clflushopt"))) static void flush_clflushopt(const void *p, size_t n)
{
	for (uintptr_t a = (uintptr_t)p & ~(uintptr_t)(LINE - 1); a < (uintptr_t)p + n; a += LINE)
		__builtin_ia32_clflushopt((void *)a);
}

static void flush_clflush(const void *p, size_t n)
{
	for (uintptr_t a = (uintptr_t)p & ~(uintptr_t)(LINE - 1); a < (uintptr_t)p + n; a += LINE)
		__builtin_ia32_clflush((void *)a);
}

static void drain_sfence(void)
{
	__builtin_ia32_sfence();
}

static void (*cpu_flush(void))(const void *, size_t)
{
	unsigned int a, b, c, d;

	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		if (b & (1u << 24))
			return flush_clwb;
		if (b & (1u << 23))
			return flush_clflushopt;
	}
	return flush_clflush;
}

static void (*cpu_flush_fn)(const void *, size_t);

static void persist_cpu(const void *p, size_t n)
{
	cpu_flush_fn(p, n);
	drain_sfence();
}

enum daxalloc_durability persist_durability_for(enum daxalloc_dev_type type,
						enum daxalloc_region_kind kind)
{
	if (type != DAXALLOC_DEV_DEVDAX || kind == DAXALLOC_REGION_DYNAMIC ||
	    kind == DAXALLOC_REGION_NONE)
		return DAXALLOC_DURABILITY_VOLATILE;
	return DAXALLOC_DURABILITY_FLUSH;
}

int meta_map_open(struct daxalloc_dev *dev, uint64_t len, struct meta_map *mm)
{
	return meta_map_open_at(dev, 0, len, mm);
}

int meta_map_open_at(struct daxalloc_dev *dev, uint64_t off, uint64_t len, struct meta_map *mm)
{
	struct pmem2_config *cfg = NULL;
	struct pmem2_source *src = NULL;
	int rc;

	memset(mm, 0, sizeof(*mm));
	mm->durability = persist_durability_for(dev->type, dev->region_kind);
	if (mm->durability == DAXALLOC_DURABILITY_VOLATILE ||
	    dev->region_kind != DAXALLOC_REGION_STATIC) {
		rc = daxalloc_map_new(dev, off, len, NULL, 0, &mm->map);
		if (rc < 0)
			return rc;
		mm->addr = daxalloc_map_get_address(mm->map);
		mm->len = len;
		mm->dev_off = off;
		if (mm->durability == DAXALLOC_DURABILITY_VOLATILE) {
			mm->persist = persist_nop;
			mm->flush = flush_nop;
			mm->drain = fence;
		} else {
			/* kind unknown: may be persistent memory, so flush */
			cpu_flush_fn = cpu_flush();
			mm->persist = persist_cpu;
			mm->flush = cpu_flush_fn;
			mm->drain = drain_sfence;
		}
		if (persist_test_mapped)
			persist_test_mapped(mm);
		return 0;
	}
	rc = pmem2_source_from_fd(&src, dev->fd);
	if (rc == 0)
		rc = pmem2_config_new(&cfg);
	if (rc == 0)
		rc = pmem2_config_set_required_store_granularity(cfg, PMEM2_GRANULARITY_PAGE);
	if (rc == 0)
		rc = pmem2_config_set_offset(cfg, (size_t)off);
	if (rc == 0)
		rc = pmem2_config_set_length(cfg, (size_t)len);
	if (rc == 0)
		rc = pmem2_map_new(&mm->pmap, cfg, src);
	if (rc) {
		rc = daxalloc_err(rc < 0 && rc > -4096 ? -rc : EIO,
				  "%s: cannot map the pool metadata with libpmem2: %s", dev->name,
				  pmem2_errormsg());
	} else {
		struct pmem2_badblock_context *bbc = NULL;
		struct pmem2_badblock bb;

		/* Known media errors: their lines are never read (a read would be a machine check). */
		if (pmem2_badblock_context_new(&bbc, src) == 0) {
			while (mm->nbad < sizeof(mm->bad) / sizeof(mm->bad[0]) &&
			       pmem2_badblock_next(bbc, &bb) == 0)
				if (bb.offset < off + len && bb.offset + bb.length > off)
					mm->bad[mm->nbad++] =
						(struct meta_bad){ bb.offset, bb.length };
			pmem2_badblock_context_delete(&bbc);
		}
		mm->addr = pmem2_map_get_address(mm->pmap);
		mm->len = len;
		mm->dev_off = off;
		mm->persist = pmem2_get_persist_fn(mm->pmap);
		mm->flush = pmem2_get_flush_fn(mm->pmap);
		mm->drain = pmem2_get_drain_fn(mm->pmap);
		if (pmem2_map_get_store_granularity(mm->pmap) == PMEM2_GRANULARITY_BYTE)
			mm->durability = DAXALLOC_DURABILITY_STORE;
	}
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	return rc;
}

void meta_map_close(struct meta_map *mm)
{
	if (mm->pmap)
		pmem2_map_delete(&mm->pmap);
	daxalloc_map_delete(&mm->map);
	mm->addr = NULL;
}

void meta_persist(const struct meta_map *mm, const void *p, size_t n)
{
	if (persist_test_seam)
		persist_test_seam(PERSIST_SEAM_META,
				  mm->dev_off + (uint64_t)((const char *)p - (const char *)mm->addr),
				  n);
	mm->persist(p, n);
}

void data_persist(const struct meta_map *mm, uint64_t dev_off, const void *p, size_t n)
{
	if (persist_test_seam)
		persist_test_seam(PERSIST_SEAM_DATA, dev_off, n);
	mm->persist(p, n);
}

void data_flush(const struct meta_map *mm, uint64_t dev_off, const void *p, size_t n)
{
	if (persist_test_seam)
		persist_test_seam(PERSIST_SEAM_DATA_FLUSH, dev_off, n);
	mm->flush(p, n);
}

void data_drain(const struct meta_map *mm)
{
	if (persist_test_seam)
		persist_test_seam(PERSIST_SEAM_DRAIN, 0, 0);
	mm->drain();
}

void data_zero(const struct meta_map *mm, uint64_t dev_off, void *p, size_t n)
{
	memset(p, 0, n);
	data_persist(mm, dev_off, p, n);
}

/* Does a known media error (in whole cache lines) touch [a, e)? */
static bool known_bad(const struct meta_map *mm, uint64_t a, uint64_t e)
{
	for (unsigned int i = 0; i < mm->nbad + persist_test_npoison; i++) {
		const struct meta_bad *b =
			i < mm->nbad ? &mm->bad[i] : &persist_test_poison[i - mm->nbad];
		uint64_t lo = b->off & ~(uint64_t)(LINE - 1);
		uint64_t hi = (b->off + b->len + LINE - 1) & ~(uint64_t)(LINE - 1);

		if (lo < e && hi > a)
			return true;
	}
	return false;
}

int meta_read(const struct meta_map *mm, uint64_t off, void *dst, size_t len)
{
	const char *base = mm->addr; /* device offset dev_off */
	struct sigbus_fault f;
	uint64_t end = off + len;
	bool bad = false;

	if (off < mm->dev_off || off - mm->dev_off > mm->len || len > mm->len - (off - mm->dev_off)) {
		memset(dst, 0, len);
		return -EIO;
	}
	if (!known_bad(mm, off, end) && sigbus_copy(dst, base + (off - mm->dev_off), len, &f) == 0)
		return 0;
	/*
	 * Line by line, never touching lines known bad; a line that faults
	 * (poison nobody listed) reads as zero with what its fault covers.
	 */
	for (uint64_t l = off & ~(uint64_t)(LINE - 1); l < end;) {
		uint64_t a = l < off ? off : l, e = l + LINE > end ? end : l + LINE;

		if (known_bad(mm, a, e)) {
			memset((char *)dst + (a - off), 0, e - a);
			bad = true;
		} else if (sigbus_copy((char *)dst + (a - off), base + (a - mm->dev_off), e - a,
				       &f) < 0) {
			uint64_t fo = f.addr - (uintptr_t)base + mm->dev_off;

			/* the rest of the granule faults too: skip it */
			e = (fo & ~(uint64_t)(f.granule - 1)) + f.granule;
			if (e < l + LINE)
				e = l + LINE;
			if (e > end)
				e = end;
			memset((char *)dst + (a - off), 0, e - a);
			bad = true;
		}
		l = (e + LINE - 1) & ~(uint64_t)(LINE - 1);
	}
	return bad ? -EIO : 0;
}
