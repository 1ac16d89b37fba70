// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A devdax region handed to VFIO type1 for DMA: the kernel pins it
 * (FOLL_LONGTERM is allowed on device-dax) and maps it in the IOMMU.
 * The guest binds QEMU's edu device to vfio-pci behind an emulated VT-d.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "consumers.h"
#include "daxalloc.h"
#include "guest-devices.h"

static void dma_map_unmap(const char *label, uint64_t len)
{
	const struct guest_dev *gd = guest_dev(label);
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_map *map = NULL;
	struct consumer_vfio v;
	void *p;

	cr_assert_eq(consumer_vfio_open(&v, guest_vfio_group()), 0, "%s", consumer_errmsg());
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	cr_assert_eq(daxalloc_dev_open(ctx, gd->name, &dev), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_map_new(dev, 0, len, NULL, 0, &map), 0, "%s", daxalloc_errmsg());
	p = daxalloc_map_get_address(map);
	memset(p, 0x3c, 4096);
	cr_expect_eq(consumer_vfio_map(&v, p, len, CONSUMER_IOVA), 0, "%s: %s", gd->name,
		     consumer_errmsg());
	cr_expect_eq(consumer_vfio_unmap(&v, len, CONSUMER_IOVA), 0, "%s", consumer_errmsg());
	consumer_vfio_close(&v);
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
