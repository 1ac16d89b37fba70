/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The iommufd uAPI (include/uapi/linux/iommufd.h, Linux 6.2) and the VFIO
 * device cdev calls that attach a device to an IOAS (linux/vfio.h, 6.6),
 * for kernel headers older than that.  Used by the library, the benchmark
 * and the guest's pin tests.
 */
#ifndef DAXALLOC_IOMMUFD_UAPI_H
#define DAXALLOC_IOMMUFD_UAPI_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>

#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#else
#define IOMMUFD_TYPE (';')
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, 0x80)
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, 0x81)
#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, 0x84)
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, 0x85)
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, 0x86)
enum {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};
struct iommu_destroy {
	uint32_t size;
	uint32_t id;
};
struct iommu_ioas_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t out_ioas_id;
};
struct iommu_ioas_iova_ranges {
	uint32_t size;
	uint32_t ioas_id;
	uint32_t num_iovas;
	uint32_t __reserved;
	uint64_t allowed_iovas;
	uint64_t out_iova_alignment;
};
struct iommu_ioas_map {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	uint32_t __reserved;
	uint64_t user_va;
	uint64_t length;
	uint64_t iova;
};
struct iommu_ioas_unmap {
	uint32_t size;
	uint32_t ioas_id;
	uint64_t iova;
	uint64_t length;
};
#endif

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	uint32_t argsz;
	uint32_t flags;
	int32_t iommufd;
	uint32_t out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
struct vfio_device_attach_iommufd_pt {
	uint32_t argsz;
	uint32_t flags;
	uint32_t pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#endif
