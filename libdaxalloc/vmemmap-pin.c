// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The consumers that time pinning for daxalloc_vmemmap_measure()'s pin
 * path probe: a VFIO type1 container, an RDMA protection domain, an
 * io_uring ring.  The same consumer pins device-dax at 4K and 2M and
 * hugetlb 2M pages; vmemmap.c compares the three.  They pin
 * a plain mapping with raw calls, not through daxalloc_pin(): that needs
 * a pool, and formatting one would destroy what the device holds.
 *
 * Each is opened just before the timing and closed right after: the
 * disable that follows refuses while any process, this one included,
 * holds a handle that can pin memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#ifdef DAXALLOC_HAVE_RDMA
#include "verbs.h"
#endif

#include "uring.h"
#include "vmemmap.h"

/* Above the 32-bit MSI window and low enough for any IOMMU's address width. */
#define VMC_IOVA (UINT64_C(1) << 32)

int vm_parse_release(const char *release, unsigned int *major, unsigned int *minor)
{
	if (!release || sscanf(release, "%u.%u", major, minor) != 2)
		return -EINVAL;
	return 0;
}

static void DAXALLOC_PRINTF(3, 4) add_why(char *why, size_t len, const char *fmt, ...)
{
	size_t used = strlen(why);
	va_list ap;

	if (used + 3 >= len)
		return;
	if (used) {
		memcpy(why + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(why + used, len - used, fmt, ap);
	va_end(ap);
}

/* ---- VFIO type1 ------------------------------------------------------------ */

static int vfio_group_open(const char *path, struct vm_consumer *c, char *why, size_t len)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	const char *fail = NULL;
	int g, k = -1, e = 0;

	g = open(path, O_RDWR | O_CLOEXEC);
	if (g < 0) {
		e = errno;
		add_why(why, len, "%s: %s", path, e == EBUSY ? "in use" : strerror(e));
		return -e;
	}
	errno = 0;
	if (ioctl(g, VFIO_GROUP_GET_STATUS, &st) < 0)
		fail = "VFIO_GROUP_GET_STATUS failed";
	else if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		fail = "not viable (a device of the group is bound to another driver)";
	else if (st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET)
		fail = "already in a container";
	else if ((k = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC)) < 0)
		fail = "cannot open /dev/vfio/vfio";
	else if (ioctl(k, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		fail = "unknown VFIO API version";
	else if (ioctl(g, VFIO_GROUP_SET_CONTAINER, &k) < 0)
		fail = "VFIO_GROUP_SET_CONTAINER failed";
	else if (ioctl(k, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 &&
		 ioctl(k, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		fail = "no type1 IOMMU";
	if (fail) {
		e = errno ? errno : ENODEV;
		add_why(why, len, "%s: %s", path, fail);
		if (k >= 0)
			close(k);
		close(g);
		return -e;
	}
	c->kind = VMC_VFIO;
	c->group = g;
	c->container = k;
	snprintf(c->name, sizeof(c->name), "vfio %s", path);
	snprintf(c->spec, sizeof(c->spec), "vfio:%s", path);
	return 0;
}

/* The first group under /dev/vfio that nobody uses. */
static int vfio_find(struct vm_consumer *c, char *why, size_t len)
{
	struct dirent *de;
	char path[300];
	int rc = -ENODEV;
	DIR *d;

	d = opendir("/dev/vfio");
	if (!d) {
		add_why(why, len, "no VFIO group (/dev/vfio is missing)");
		return -ENODEV;
	}
	while (rc < 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/dev/vfio/%s", de->d_name);
		rc = vfio_group_open(path, c, why, len);
	}
	closedir(d);
	if (rc == -ENODEV && !why[0])
		add_why(why, len, "no VFIO group in /dev/vfio");
	return rc;
}

static int vfio_pin(struct vm_consumer *c, void *addr, uint64_t len, uint64_t *ns)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)addr,
		.iova = VMC_IOVA,
		.size = len,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = VMC_IOVA,
		.size = len,
	};
	uint64_t t0 = mono_ns();

	if (ioctl(c->container, VFIO_IOMMU_MAP_DMA, &map) < 0)
		return daxalloc_err(errno, "%s: VFIO_IOMMU_MAP_DMA of %llu bytes: %s", c->name,
				    (unsigned long long)len, strerror(errno));
	*ns = mono_ns() - t0;
	if (ioctl(c->container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
		return daxalloc_err(errno, "%s: VFIO_IOMMU_UNMAP_DMA: %s", c->name, strerror(errno));
	return 0;
}

/* ---- RDMA -------------------------------------------------------------------- */

#ifdef DAXALLOC_HAVE_RDMA
static int rdma_open(const char *want, struct vm_consumer *c, char *why, size_t len)
{
	const struct verbs *ib = verbs_get();
	struct ibv_device **list;
	struct ibv_context *v = NULL;
	struct ibv_pd *pd = NULL;
	int n = 0;

	if (!ib) {
		add_why(why, len, "%s", daxalloc_errmsg());
		return -EOPNOTSUPP;
	}
	list = ib->get_device_list(&n);
	for (int i = 0; list && i < n && !v; i++) {
		if (want && strcmp(ib->get_device_name(list[i]), want) != 0)
			continue;
		v = ib->open_device(list[i]);
		if (v) {
			snprintf(c->name, sizeof(c->name), "rdma %s", ib->get_device_name(list[i]));
			snprintf(c->spec, sizeof(c->spec), "rdma:%s", ib->get_device_name(list[i]));
		}
	}
	if (list)
		ib->free_device_list(list);
	if (v)
		pd = ib->alloc_pd(v);
	if (!pd) {
		if (v)
			ib->close_device(v);
		add_why(why, len, "no usable RDMA device%s%s", want ? " " : "", want ? want : "");
		return -ENODEV;
	}
	c->kind = VMC_RDMA;
	c->verbs = v;
	c->pd = pd;
	return 0;
}

static int rdma_pin(struct vm_consumer *c, void *addr, uint64_t len, uint64_t *ns)
{
	const struct verbs *ib = verbs_get();
	uint64_t t0 = mono_ns();
	struct ibv_mr *mr = ib ? ib->reg_mr(c->pd, addr, (size_t)len, IBV_ACCESS_LOCAL_WRITE) : NULL;

	if (!mr)
		return daxalloc_err(errno ? errno : EIO, "%s: ibv_reg_mr of %llu bytes: %s", c->name,
				    (unsigned long long)len, strerror(errno ? errno : EIO));
	*ns = mono_ns() - t0;
	ib->dereg_mr(mr);
	return 0;
}

static void rdma_close(struct vm_consumer *c)
{
	const struct verbs *ib = verbs_get();

	ib->dealloc_pd(c->pd);
	ib->close_device(c->verbs);
}
#else
static int rdma_open(const char *want, struct vm_consumer *c, char *why, size_t len)
{
	(void)want;
	(void)c;
	add_why(why, len, "RDMA: this build has no libibverbs");
	return -EOPNOTSUPP;
}

static int rdma_pin(struct vm_consumer *c, void *addr, uint64_t len, uint64_t *ns)
{
	return -EOPNOTSUPP;
}

static void rdma_close(struct vm_consumer *c)
{
}
#endif

/* ---- io_uring ------------------------------------------------------------------ */

static int uring_open(struct vm_consumer *c, char *why, size_t len)
{
	const struct uring *u = uring_get();
	int rc;

	if (!u) {
		add_why(why, len, "%s", daxalloc_errmsg());
		return -EOPNOTSUPP;
	}
	rc = u->queue_init(2, &c->ring, 0);
	if (rc < 0) {
		add_why(why, len, "io_uring: %s", strerror(-rc));
		return rc;
	}
	c->kind = VMC_URING;
	snprintf(c->name, sizeof(c->name), "io_uring");
	snprintf(c->spec, sizeof(c->spec), "io_uring");
	return 0;
}

static int uring_pin(struct vm_consumer *c, void *addr, uint64_t len, uint64_t *ns)
{
	struct iovec iov[64];
	unsigned int n = 0;
	uint64_t t0;
	int rc;

	/* A fixed buffer holds at most 1 GiB. */
	for (uint64_t off = 0; off < len && n < 64; off += DAXALLOC_SIZE_1G, n++) {
		iov[n].iov_base = (char *)addr + off;
		iov[n].iov_len = len - off < DAXALLOC_SIZE_1G ? len - off : DAXALLOC_SIZE_1G;
	}
	t0 = mono_ns();
	rc = uring_get()->register_buffers(&c->ring, iov, n);
	if (rc < 0)
		return daxalloc_err(-rc, "io_uring: registering %llu bytes as fixed buffers: %s%s",
				    (unsigned long long)len, strerror(-rc),
				    rc == -EOPNOTSUPP ? " (kernels before 6.5 take only anonymous or hugetlb memory)" : "");
	*ns = mono_ns() - t0;
	uring_get()->unregister_buffers(&c->ring);
	return 0;
}

/* ---- the choice -------------------------------------------------------------- */

int vmc_open(const char *spec, bool devdax, const char *release, struct vm_consumer *c,
	     char *why, size_t len)
{
	(void)release;
	memset(c, 0, sizeof(*c));
	c->container = c->group = -1;
	why[0] = '\0';
	if (spec) {
		if (strncmp(spec, "vfio:", 5) == 0)
			return vfio_group_open(spec + 5, c, why, len);
		if (strcmp(spec, "vfio") == 0)
			return vfio_find(c, why, len);
		if (strcmp(spec, "rdma") == 0)
			return rdma_open(NULL, c, why, len);
		if (strncmp(spec, "rdma:", 5) == 0)
			return rdma_open(spec + 5, c, why, len);
		if (strcmp(spec, "io_uring") == 0)
			return uring_open(c, why, len);
		add_why(why, len, "unknown consumer '%s' (vfio[:/dev/vfio/N], rdma[:DEV] or io_uring)",
			spec);
		return -EINVAL;
	}
	if (!devdax && uring_open(c, why, len) == 0)
		return 0;
	if (vfio_find(c, why, len) == 0)
		return 0;
	if (rdma_open(NULL, c, why, len) == 0)
		return 0;
	/* Whether io_uring takes device-dax memory is the kernel's answer to the pin. */
	if (devdax)
		return uring_open(c, why, len);
	return -ENODEV;
}

int vmc_pin_ns(struct vm_consumer *c, void *addr, uint64_t len, uint64_t *ns)
{
	switch (c->kind) {
	case VMC_VFIO:
		return vfio_pin(c, addr, len, ns);
	case VMC_RDMA:
		return rdma_pin(c, addr, len, ns);
	case VMC_URING:
		return uring_pin(c, addr, len, ns);
	default:
		return daxalloc_err(EINVAL, "no pin consumer open");
	}
}

void vmc_close(struct vm_consumer *c)
{
	switch (c->kind) {
	case VMC_VFIO:
		close(c->container);
		close(c->group);
		break;
	case VMC_RDMA:
		rdma_close(c);
		break;
	case VMC_URING:
		uring_get()->queue_exit(&c->ring);
		break;
	default:
		break;
	}
	c->kind = VMC_NONE;
}
