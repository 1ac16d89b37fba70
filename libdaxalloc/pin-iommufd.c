// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * iommufd (Linux 6.2 and later): IOMMU_IOAS_MAP puts the range into an
 * I/O address space; devices attached to it then reach it.  Older kernels
 * have no /dev/iommu: the pin says so instead of failing obscurely.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "iommufd-uapi.h"
#include "pin.h"

static int no_iommufd(struct daxalloc_pin *p)
{
	struct utsname u;

	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	return daxalloc_err(EOPNOTSUPP,
			    "%s: this kernel (%s) has no iommufd: /dev/iommu is missing (needs Linux 6.2 or later with CONFIG_IOMMUFD); pin through VFIO type1 instead",
			    pin_devname(p), u.release);
}

static int iommufd_check(struct daxalloc_pin *p)
{
	struct iommu_ioas_iova_ranges r = { .size = sizeof(r) };
	int fd = p->target.iommufd.fd;
	uint64_t iova = p->target.iommufd.iova;
	bool have = access("/dev/iommu", F_OK) == 0;

	if (pin_check_fd(p, fd, "iommufd") < 0)
		return have ? -EBADF : no_iommufd(p);
	r.ioas_id = p->target.iommufd.ioas_id;
	/* num_iovas 0: the kernel answers EMSGSIZE with the count, or 0 if none. */
	if (ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &r) < 0 && errno != EMSGSIZE) {
		int e = errno;

		if (e == ENOTTY)
			return have ? daxalloc_err(ENOTTY,
						   "%s: fd %d is not an iommufd (open /dev/iommu)",
						   pin_devname(p), fd) :
				      no_iommufd(p);
		if (e == ENOENT)
			return daxalloc_err(ENOENT,
					    "%s: iommufd fd %d has no IOAS %u (IOMMU_IOAS_ALLOC makes one)",
					    pin_devname(p), fd, r.ioas_id);
		return daxalloc_err(e, "%s: IOMMU_IOAS_IOVA_RANGES on iommufd fd %d: %s",
				    pin_devname(p), fd, strerror(e));
	}
	if (!(p->target.flags & DAXALLOC_PIN_IOVA_AUTO)) {
		if (r.out_iova_alignment > 1 && iova % r.out_iova_alignment)
			return daxalloc_err(EINVAL,
					    "%s: IOVA 0x%llx is not a multiple of the IOAS alignment 0x%llx",
					    pin_devname(p), (unsigned long long)iova,
					    (unsigned long long)r.out_iova_alignment);
		snprintf(p->consumer, sizeof(p->consumer), "iommufd fd %d, ioas %u, iova 0x%llx",
			 fd, r.ioas_id, (unsigned long long)iova);
	} else {
		snprintf(p->consumer, sizeof(p->consumer), "iommufd fd %d, ioas %u", fd, r.ioas_id);
	}
	return pin_dup_fd(p, fd, "iommufd");
}

static int iommufd_pin(struct daxalloc_pin *p)
{
	struct iommu_ioas_map m = { .size = sizeof(m) };
	int fd = p->fd;

	m.flags = IOMMU_IOAS_MAP_READABLE;
	if (!(p->target.flags & DAXALLOC_PIN_READONLY))
		m.flags |= IOMMU_IOAS_MAP_WRITEABLE;
	if (!(p->target.flags & DAXALLOC_PIN_IOVA_AUTO)) {
		m.flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
		m.iova = p->target.iommufd.iova;
	}
	m.ioas_id = p->target.iommufd.ioas_id;
	m.user_va = (uintptr_t)p->addr;
	m.length = p->length;
	if (ioctl(fd, IOMMU_IOAS_MAP, &m) < 0) {
		int e = errno;

		if (e == EEXIST)
			return daxalloc_err(e,
					    "%s: IOVA range [0x%llx, +0x%llx) is already used in IOAS %u",
					    pin_devname(p), (unsigned long long)m.iova,
					    (unsigned long long)m.length, m.ioas_id);
		return daxalloc_err(e, "%s: IOMMU_IOAS_MAP of 0x%llx bytes into IOAS %u: %s",
				    pin_devname(p), (unsigned long long)m.length, m.ioas_id,
				    strerror(e));
	}
	p->iova = m.iova;
	if (p->target.flags & DAXALLOC_PIN_IOVA_AUTO)
		snprintf(p->consumer, sizeof(p->consumer), "iommufd fd %d, ioas %u, iova 0x%llx",
			 fd, m.ioas_id, (unsigned long long)m.iova);
	return 0;
}

static int iommufd_unpin(struct daxalloc_pin *p)
{
	struct iommu_ioas_unmap u = { .size = sizeof(u) };

	u.ioas_id = p->target.iommufd.ioas_id;
	u.iova = p->iova;
	u.length = p->length;
	if (ioctl(p->fd, IOMMU_IOAS_UNMAP, &u) < 0) {
		return daxalloc_err(errno, "%s: IOMMU_IOAS_UNMAP at IOVA 0x%llx: %s",
				    pin_devname(p), (unsigned long long)u.iova, strerror(errno));
	}
	return 0;
}

const struct pin_back_end pin_iommufd_back_end = { iommufd_check, iommufd_pin, iommufd_unpin };
