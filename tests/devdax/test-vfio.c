// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A devdax region handed to VFIO type1 for DMA: the kernel pins it
 * (FOLL_LONGTERM is allowed on device-dax) and maps it in the IOMMU.
 * The guest binds QEMU's edu device to vfio-pci behind an emulated VT-d.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "daxalloc.h"
#include "guest-devices.h"

struct vfio {
	int container, group;
};

static void vfio_open(struct vfio *v)
{
	const char *grp = getenv("DAXALLOC_GUEST_VFIO_GROUP");
	struct vfio_group_status st = { .argsz = sizeof(st) };

	guest_devs(&(int){ 0 });
	if (!grp)
		cr_assert_fail("the guest bound no device to vfio-pci ($DAXALLOC_GUEST_VFIO_GROUP unset)");
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	cr_assert_geq(v->container, 0, "/dev/vfio/vfio: %s", strerror(errno));
	cr_assert_eq(ioctl(v->container, VFIO_GET_API_VERSION), VFIO_API_VERSION);
	cr_assert(ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	v->group = open(grp, O_RDWR | O_CLOEXEC);
	cr_assert_geq(v->group, 0, "%s: %s", grp, strerror(errno));
	cr_assert_eq(ioctl(v->group, VFIO_GROUP_GET_STATUS, &st), 0);
	cr_assert(st.flags & VFIO_GROUP_FLAGS_VIABLE, "%s is not viable", grp);
	cr_assert_eq(ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container), 0, "%s",
		     strerror(errno));
	cr_assert_eq(ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0, "%s",
		     strerror(errno));
}

static void vfio_close(struct vfio *v)
{
	ioctl(v->group, VFIO_GROUP_UNSET_CONTAINER);
	close(v->group);
	close(v->container);
}

static void dma_map_unmap(const char *label, uint64_t len)
{
	const struct guest_dev *gd = guest_dev(label);
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_map *map = NULL;
	struct vfio v;
	struct vfio_iommu_type1_dma_map dm = { .argsz = sizeof(dm) };
	struct vfio_iommu_type1_dma_unmap du = { .argsz = sizeof(du) };

	vfio_open(&v);
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	cr_assert_eq(daxalloc_dev_open(ctx, gd->name, &dev), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_map_new(dev, 0, len, NULL, 0, &map), 0, "%s", daxalloc_errmsg());
	memset(daxalloc_map_get_address(map), 0x3c, 4096);
	dm.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	dm.vaddr = (uintptr_t)daxalloc_map_get_address(map);
	dm.iova = 1ull << 32;
	dm.size = len;
	cr_expect_eq(ioctl(v.container, VFIO_IOMMU_MAP_DMA, &dm), 0,
		     "VFIO_IOMMU_MAP_DMA of %s (%llu bytes): %s", gd->name,
		     (unsigned long long)len, strerror(errno));
	du.iova = dm.iova;
	du.size = dm.size;
	cr_expect_eq(ioctl(v.container, VFIO_IOMMU_UNMAP_DMA, &du), 0, "%s", strerror(errno));
	cr_expect_eq(du.size, len, "unmapped %llu bytes", (unsigned long long)du.size);
	vfio_close(&v);
	daxalloc_map_delete(&map);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}

Test(vfio, dma_map_devdax_2m, .timeout = 300)
{
	dma_map_unmap("dyn2m", 64u << 20);
}

Test(vfio, dma_map_devdax_1g, .timeout = 300)
{
	dma_map_unmap("static1g", 1u << 30);
}
