// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VFIO type1: VFIO_IOMMU_MAP_DMA pins the range and maps it in the IOMMU
 * at the caller's IOVA; VFIO_IOMMU_UNMAP_DMA undoes both.
 */
#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "pin.h"

static int vfio_check(struct daxalloc_pin *p)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	int fd = p->target.vfio.container_fd, rc;
	uint64_t iova = p->target.vfio.iova, pg;

	rc = pin_check_fd(p, fd, "VFIO container");
	if (rc < 0)
		return rc;
	if (ioctl(fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return daxalloc_err(ENOTTY, "%s: fd %d is not a VFIO container (open /dev/vfio/vfio)",
				    pin_devname(p), fd);
	if (ioctl(fd, VFIO_IOMMU_GET_INFO, &info) < 0)
		return daxalloc_err(EINVAL,
				    "%s: VFIO container fd %d has no IOMMU yet: add a group (VFIO_GROUP_SET_CONTAINER) and VFIO_SET_IOMMU first",
				    pin_devname(p), fd);
	/* The smallest IOMMU page the container supports sets the IOVA rule. */
	pg = (info.flags & VFIO_IOMMU_INFO_PGSIZES) && info.iova_pgsizes ?
		     info.iova_pgsizes & -info.iova_pgsizes :
		     4096;
	if (iova % pg)
		return daxalloc_err(EINVAL,
				    "%s: IOVA 0x%llx is not a multiple of the IOMMU page size 0x%llx",
				    pin_devname(p), (unsigned long long)iova, (unsigned long long)pg);
	if (iova + p->length < iova)
		return daxalloc_err(EINVAL, "%s: IOVA 0x%llx + 0x%llx wraps around", pin_devname(p),
				    (unsigned long long)iova, (unsigned long long)p->length);
	snprintf(p->consumer, sizeof(p->consumer), "vfio container fd %d, iova 0x%llx", fd,
		 (unsigned long long)iova);
	return pin_dup_fd(p, fd, "VFIO container");
}

static int vfio_pin(struct daxalloc_pin *p)
{
	struct vfio_iommu_type1_dma_map m = { .argsz = sizeof(m) };
	int fd = p->fd;

	m.flags = VFIO_DMA_MAP_FLAG_READ;
	if (!(p->target.flags & DAXALLOC_PIN_READONLY))
		m.flags |= VFIO_DMA_MAP_FLAG_WRITE;
	m.vaddr = (uintptr_t)p->addr;
	m.iova = p->target.vfio.iova;
	m.size = p->length;
	if (ioctl(fd, VFIO_IOMMU_MAP_DMA, &m) < 0) {
		int e = errno;

		if (e == EEXIST)
			return daxalloc_err(e,
					    "%s: IOVA range [0x%llx, +0x%llx) overlaps a mapping already in VFIO container fd %d",
					    pin_devname(p), (unsigned long long)m.iova,
					    (unsigned long long)m.size, fd);
		if (e == ENOMEM)
			return daxalloc_err(e,
					    "%s: VFIO_IOMMU_MAP_DMA of 0x%llx bytes: out of memory or over RLIMIT_MEMLOCK",
					    pin_devname(p), (unsigned long long)m.size);
		return daxalloc_err(e,
				    "%s: VFIO_IOMMU_MAP_DMA of [0x%llx, +0x%llx) at IOVA 0x%llx: %s",
				    pin_devname(p),
				    (unsigned long long)(p->region->offset + p->offset),
				    (unsigned long long)m.size, (unsigned long long)m.iova,
				    strerror(e));
	}
	p->iova = m.iova;
	return 0;
}

static int vfio_unpin(struct daxalloc_pin *p)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u) };
	int fd = p->fd;

	u.iova = p->iova;
	u.size = p->length;
	/* Our own duplicate: the container lives until this unmap, whoever closed theirs. */
	if (ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &u) < 0) {
		return daxalloc_err(errno, "%s: VFIO_IOMMU_UNMAP_DMA at IOVA 0x%llx: %s",
				    pin_devname(p), (unsigned long long)u.iova, strerror(errno));
	}
	if (u.size != p->length)
		return daxalloc_err(EIO, "%s: VFIO unmapped 0x%llx bytes at IOVA 0x%llx, not 0x%llx",
				    pin_devname(p), (unsigned long long)u.size,
				    (unsigned long long)u.iova, (unsigned long long)p->length);
	return 0;
}

const struct pin_back_end pin_vfio_back_end = { vfio_check, vfio_pin, vfio_unpin };
