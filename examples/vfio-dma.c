// SPDX-License-Identifier: MIT
/*
 * Build: cc -o vfio-dma vfio-dma.c $(pkg-config --cflags --libs libdaxalloc)
 *
 * A real device DMAs into device-dax memory through the IOMMU.
 *
 *   vfio-dma DEV GROUP BDF      e.g. vfio-dma dax0.0 /dev/vfio/1 0000:00:01.0
 *
 * DEV holds a pool (daxalloc-ctl format DEV).  The device is QEMU's "edu"
 * (1234:11e8) bound to vfio-pci.  A region is pinned into a VFIO type1
 * container at an IOVA; the edu DMA engine copies a pattern from the
 * region into its own 4K buffer, then from there into another part of the
 * region, and the CPU checks the bytes.
 *
 * edu BAR0: 0x00 identification, 0x80 DMA source, 0x88 DMA destination,
 * 0x90 byte count, 0x98 command (bit 0 start, cleared when done; bit 1
 * direction: 0 = from RAM into the device, 1 = from the device into RAM).
 * The device buffer sits at device address 0x40000; the device only
 * drives 28 address bits, so the IOVA stays below 256M.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <daxalloc.h>

#define EDU_ID 0x00
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_CMD_START 0x1
#define EDU_CMD_TO_RAM 0x2
#define EDU_BUF 0x40000
/*
 * The buffer holds 4K, but QEMU 7.2 stops the whole VM ("hardware error")
 * when a transfer ends exactly at its end: move less.
 */
#define EDU_XFER 2048

#define IOVA 0x1000000ull /* 16M: below the 28-bit DMA limit */
#define BACK 0x10000ull   /* where the copy comes back, in the region */

static int fail(const char *what)
{
	fprintf(stderr, "vfio-dma: %s: %s\n", what, daxalloc_errmsg());
	return 1;
}

static int sysfail(const char *what)
{
	fprintf(stderr, "vfio-dma: %s: %s\n", what, strerror(errno));
	return 1;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

struct vfio {
	int container, group, device;
	volatile uint32_t *bar0;
	size_t bar0_len;
};

static int vfio_open(struct vfio *v, const char *group, const char *bdf)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_region_info bar = { .argsz = sizeof(bar), .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t cmd;
	void *p;

	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		return sysfail("/dev/vfio/vfio");
	v->group = open(group, O_RDWR | O_CLOEXEC);
	if (v->group < 0)
		return sysfail(group);
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &gs) < 0 || !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		fprintf(stderr,
			"vfio-dma: %s is not viable: bind every device of the group to vfio-pci\n",
			group);
		return 1;
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) < 0)
		return sysfail("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 &&
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		return sysfail("VFIO_SET_IOMMU");
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (v->device < 0)
		return sysfail(bdf);
	/* A PCI device only masters the bus once told to. */
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0 ||
	    pread(v->device, &cmd, sizeof(cmd), (off_t)cfg.offset + PCI_COMMAND) != sizeof(cmd))
		return sysfail("reading the PCI command register");
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(v->device, &cmd, sizeof(cmd), (off_t)cfg.offset + PCI_COMMAND) != sizeof(cmd))
		return sysfail("enabling bus mastering");
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &bar) < 0)
		return sysfail("BAR0 region info");
	if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		fprintf(stderr, "vfio-dma: %s: BAR0 cannot be mapped\n", bdf);
		return 1;
	}
	p = mmap(NULL, (size_t)bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, v->device,
		 (off_t)bar.offset);
	if (p == MAP_FAILED)
		return sysfail("mmap BAR0");
	v->bar0 = p;
	v->bar0_len = (size_t)bar.size;
	return 0;
}

static void reg_write(struct vfio *v, unsigned int off, uint32_t val)
{
	v->bar0[off / 4] = val;
}

static uint32_t reg_read(struct vfio *v, unsigned int off)
{
	return v->bar0[off / 4];
}

/* One transfer by the edu DMA engine; waits until the start bit clears. */
static int edu_dma(struct vfio *v, uint32_t src, uint32_t dst, uint32_t cmd)
{
	struct timespec t0;

	reg_write(v, EDU_DMA_SRC, src);
	reg_write(v, EDU_DMA_DST, dst);
	reg_write(v, EDU_DMA_CNT, EDU_XFER);
	reg_write(v, EDU_DMA_CMD, cmd | EDU_CMD_START);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (reg_read(v, EDU_DMA_CMD) & EDU_CMD_START) {
		if (ms_since(&t0) > 10000) {
			fprintf(stderr,
				"vfio-dma: the DMA from 0x%x to 0x%x did not finish in 10 s\n", src,
				dst);
			return -1;
		}
		usleep(1000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	struct daxalloc_pin *pin = NULL;
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_VFIO };
	struct vfio v = { -1, -1, -1, NULL, 0 };
	unsigned char *base;
	uint64_t size;
	uint32_t id;
	int rc;

	if (argc != 4) {
		fprintf(stderr,
			"usage: vfio-dma DEV GROUP BDF   (e.g. dax0.0 /dev/vfio/1 0000:00:01.0)\n");
		return 2;
	}
	if (daxalloc_ctx_new(&ctx) < 0 || daxalloc_dev_open(ctx, argv[1], &dev) < 0)
		return fail(argv[1]);
	rc = daxalloc_pool_open(dev, 0, &pool);
	if (rc < 0)
		return fail(rc == -ENODATA ? "format it first (daxalloc-ctl format DEV)" : "pool");
	size = daxalloc_dev_get_align(dev);
	if (daxalloc_alloc(pool, size, NULL, DAXALLOC_ALLOC_ZERO, &r) < 0)
		return fail("alloc");
	base = daxalloc_region_get_address(r);
	if (vfio_open(&v, argv[2], argv[3]))
		return 1;
	id = reg_read(&v, EDU_ID);
	if ((id & 0xff) != 0xed) {
		fprintf(stderr, "vfio-dma: %s is not an edu device (id 0x%08x)\n", argv[3], id);
		return 1;
	}

	t.vfio.container_fd = v.container;
	t.vfio.iova = IOVA;
	if (daxalloc_pin(r, 0, size, &t, &pin) < 0)
		return fail("pin");
	printf("vfio-dma: %s: pinned %llu bytes at IOVA 0x%llx in %.3f ms\n", argv[1],
	       (unsigned long long)size, (unsigned long long)daxalloc_pin_get_iova(pin),
	       daxalloc_pin_get_pin_time_ns(pin) / 1e6);

	for (unsigned int i = 0; i < EDU_XFER; i++)
		base[i] = (unsigned char)(i * 7 + 3);
	/* RAM -> device buffer, then device buffer -> another place in RAM. */
	if (edu_dma(&v, (uint32_t)IOVA, EDU_BUF, 0) ||
	    edu_dma(&v, EDU_BUF, (uint32_t)(IOVA + BACK), EDU_CMD_TO_RAM))
		return 1;
	if (memcmp(base, base + BACK, EDU_XFER) != 0) {
		fprintf(stderr, "vfio-dma: the bytes the device wrote back differ\n");
		return 1;
	}
	printf("vfio-dma: the edu device copied %d bytes region -> device -> region through the IOMMU\n",
	       EDU_XFER);

	if (daxalloc_unpin(&pin) < 0)
		return fail("unpin");
	munmap((void *)v.bar0, v.bar0_len);
	close(v.device);
	ioctl(v.group, VFIO_GROUP_UNSET_CONTAINER);
	close(v.group);
	close(v.container);
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
	return 0;
}
