// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Aligned MAP_SHARED mappings.  The kernel refuses unaligned devdax
 * mappings with a bare EINVAL; we check every rule first and say which
 * one was broken.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "private.h"

#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define MAP_KNOWN_FLAGS (DAXALLOC_MAP_SYNC | DAXALLOC_MAP_POPULATE | DAXALLOC_MAP_READONLY)

struct daxalloc_map {
	struct daxalloc_dev *dev;
	void *addr;
	uint64_t offset;
	uint64_t length;
};

/* The alignment in words, written only for a refusal: mapping is a fast path. */
static const char *align_text(const struct daxalloc_dev *dev, char a[32])
{
	daxalloc_size_format(dev->align, a, 32);
	return a;
}

static int check_request(struct daxalloc_dev *dev, uint64_t offset, uint64_t length, void *addr,
			 unsigned int flags)
{
	char a[32];

	if (!dev->opened || dev->fd < 0)
		return daxalloc_err(EINVAL, "%s: not open; open it with daxalloc_dev_open()",
				    dev->name);
	if (flags & ~MAP_KNOWN_FLAGS)
		return daxalloc_err(EINVAL, "%s: unknown map flags 0x%x", dev->name,
				    flags & ~MAP_KNOWN_FLAGS);
	if (length == 0)
		return daxalloc_err(EINVAL, "%s: length 0: a mapping needs at least one %s page",
				    dev->name, align_text(dev, a));
	if (offset % dev->align)
		return daxalloc_err(EINVAL,
				    "%s: offset 0x%llx is not a multiple of the device alignment %s",
				    dev->name, (unsigned long long)offset, align_text(dev, a));
	if (length % dev->align)
		return daxalloc_err(EINVAL,
				    "%s: length 0x%llx is not a multiple of the device alignment %s",
				    dev->name, (unsigned long long)length, align_text(dev, a));
	if ((uintptr_t)addr % dev->align)
		return daxalloc_err(EINVAL,
				    "%s: address %p is not a multiple of the device alignment %s",
				    dev->name, addr, align_text(dev, a));
	if (offset > dev->size || length > dev->size - offset)
		return daxalloc_err(EINVAL,
				    "%s: range [0x%llx, +0x%llx) lies outside the device (size 0x%llx)",
				    dev->name, (unsigned long long)offset,
				    (unsigned long long)length, (unsigned long long)dev->size);
	if (length > SIZE_MAX / 2)
		return daxalloc_err(EINVAL, "%s: length 0x%llx is too large for this address space",
				    dev->name, (unsigned long long)length);
	if ((flags & DAXALLOC_MAP_SYNC) && dev->type != DAXALLOC_DEV_DEVDAX)
		return daxalloc_err(EOPNOTSUPP,
				    "%s: MAP_SYNC needs a device-dax device; the stand-in is not persistent",
				    dev->name);
	return 0;
}

/* An address range aligned to @align, held by a PROT_NONE placeholder. */
static void *reserve_aligned(uint64_t length, uint64_t align)
{
	size_t span = (size_t)(length + align);
	uintptr_t base, start;
	void *p;

	p = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return MAP_FAILED;
	base = (uintptr_t)p;
	start = (base + align - 1) & ~(uintptr_t)(align - 1);
	if (start > base)
		munmap(p, start - base);
	if (base + span > start + length)
		munmap((void *)(start + length), base + span - (start + length));
	return (void *)start;
}

/*
 * device-dax and hugetlbfs place a mapping on their page size by
 * themselves; only where the kernel did not is a placeholder needed.
 */
static void *map_aligned(size_t length, uint64_t align, int prot, int mflags, int fd, off_t off)
{
	void *p = mmap(NULL, length, prot, mflags, fd, off), *want;
	int e;

	if (p == MAP_FAILED || (uintptr_t)p % align == 0)
		return p;
	munmap(p, length);
	want = reserve_aligned(length, align);
	if (want == MAP_FAILED)
		return MAP_FAILED;
	p = mmap(want, length, prot, mflags | MAP_FIXED, fd, off);
	if (p == MAP_FAILED) {
		e = errno;
		munmap(want, length);
		errno = e;
	}
	return p;
}

/*
 * A process that turned transparent huge pages off (prctl PR_SET_THP_DISABLE,
 * as redis-server does when it starts; or MADV_NOHUGEPAGE) gets no 2M or 1G
 * faults from the kernel, and device-dax pages come only in the device's
 * alignment: the first touch of a page is SIGBUS (seen on 6.1 and 7.2).
 * Faulting the pages in ahead (MADV_POPULATE_*, which fails instead of
 * killing) keeps them: the page tables stay whatever the process does next.
 * @always: now, whether or not THP is off yet (a heap; its process may turn
 * it off later); else only when it is off already.
 */
int map_prefault(struct daxalloc_dev *dev, void *p, uint64_t length, bool write, bool always)
{
	char a[32];

	if (!dev || dev->type == DAXALLOC_DEV_HUGETLB || dev->align <= 4096)
		return 0;
	if (!always && prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 1)
		return 0;
	if (madvise(p, (size_t)length, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0)
		return 0;
	if (errno == EINVAL)
		return 0; /* a kernel before 5.14 cannot fault ahead: as before */
	if (errno != EFAULT)
		return daxalloc_err(errno, "%s: cannot fault in %llu bytes ahead: %s", dev->name,
				    (unsigned long long)length, strerror(errno));
	return daxalloc_err(EOPNOTSUPP,
			    "%s: the kernel refuses %s faults to this process (transparent huge pages are off for it: prctl PR_SET_THP_DISABLE): map device-dax before turning them off",
			    dev->name, size_str(dev->align, a, sizeof(a)));
}

DAXALLOC_EXPORT int daxalloc_map_new(struct daxalloc_dev *dev, uint64_t offset, uint64_t length,
				     void *addr, unsigned int flags, struct daxalloc_map **out)
{
	API_CALL(dev ? dev->ctx : NULL);
	struct daxalloc_map *m;
	int prot = PROT_READ, mflags, rc;
	void *p;

	if (!out)
		return daxalloc_err(EINVAL, "daxalloc_map_new: NULL out-pointer");
	*out = NULL;
	if (!dev)
		return daxalloc_err(EINVAL, "daxalloc_map_new: NULL device");
	rc = check_request(dev, offset, length, addr, flags);
	if (rc == 0 && dev->type == DAXALLOC_DEV_HUGETLB)
		rc = hugetlb_take_pages(dev);
	if (rc < 0)
		return rc;
	m = calloc(1, sizeof(*m));
	if (!m)
		return daxalloc_err(ENOMEM, "out of memory");
	if (!(flags & DAXALLOC_MAP_READONLY))
		prot |= PROT_WRITE;
	mflags = flags & DAXALLOC_MAP_SYNC ? MAP_SHARED_VALIDATE | MAP_SYNC : MAP_SHARED;
	if (flags & DAXALLOC_MAP_POPULATE)
		mflags |= MAP_POPULATE;
	if (addr) {
		p = mmap(addr, (size_t)length, prot, mflags | MAP_FIXED_NOREPLACE, dev->fd,
			 (off_t)offset);
		if (p != MAP_FAILED && p != addr) {
			/* kernels before 4.17 take the flag as a hint */
			munmap(p, (size_t)length);
			p = MAP_FAILED;
			errno = EEXIST;
		}
	} else {
		p = map_aligned((size_t)length, dev->align, prot, mflags, dev->fd, (off_t)offset);
	}
	if (p == MAP_FAILED) {
		int e = errno;

		if (e == EEXIST)
			rc = daxalloc_err(e, "%s: address %p is already in use", dev->name, addr);
		else if (e == ENOMEM && dev->type == DAXALLOC_DEV_HUGETLB)
			rc = daxalloc_err(e,
					  "%s: the kernel has too few free huge pages for %llu bytes",
					  dev->name, (unsigned long long)length);
		else
			rc = daxalloc_err(e, "%s: mmap of [0x%llx, +0x%llx) failed: %s", dev->name,
					  (unsigned long long)offset, (unsigned long long)length,
					  strerror(e));
		free(m);
		return rc;
	}
	rc = map_prefault(dev, p, length, prot & PROT_WRITE, false);
	if (rc < 0) {
		munmap(p, (size_t)length);
		free(m);
		return rc;
	}
	m->dev = dev_get(dev);
	m->addr = p;
	m->offset = offset;
	m->length = length;
	dbg(dev->ctx, "%s: mapped [0x%llx, +0x%llx) at %p", dev->name, (unsigned long long)offset,
	    (unsigned long long)length, p);
	*out = m;
	return 0;
}

DAXALLOC_EXPORT void daxalloc_map_delete(struct daxalloc_map **pm)
{
	struct daxalloc_map *m;

	if (!pm || !*pm)
		return;
	m = *pm;
	munmap(m->addr, (size_t)m->length);
	dev_put(m->dev);
	free(m);
	*pm = NULL;
}

DAXALLOC_GETTER(void *, map, address, addr, NULL)
DAXALLOC_GETTER(uint64_t, map, length, length, 0)
DAXALLOC_GETTER(uint64_t, map, offset, offset, 0)
DAXALLOC_GETTER(struct daxalloc_dev *, map, dev, dev, NULL)

DAXALLOC_EXPORT int64_t daxalloc_map_get_kernel_page_size(struct daxalloc_map *map)
{
	API_CALL(map ? map->dev->ctx : NULL);
	uint64_t sz;
	int rc;

	if (!map)
		return daxalloc_err(EINVAL, "NULL map");
	rc = procfs_smaps_kernel_page_size(map->addr, &sz);
	if (rc < 0)
		return daxalloc_err(-rc, "cannot read KernelPageSize of %p from smaps: %s",
				    map->addr, strerror(-rc));
	return (int64_t)sz;
}
