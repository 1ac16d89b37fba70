// SPDX-License-Identifier: LGPL-2.1-or-later
/* The pin consumers by hand (consumers.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#ifdef HAVE_IBVERBS
#include <infiniband/verbs.h>
#endif

#include "consumers.h"
#include "iommufd-uapi.h"

#define GiB (UINT64_C(1) << 30)

static __thread char msg[320];

const char *consumer_errmsg(void)
{
	return msg;
}

/* Set the message (@fmt, then ": " and strerror(@e)); returns -@e. */
static int fail(int e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int e, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(e));
	return -e;
}

/*
 * The end of an open that failed at @step, errno saying why: @undo(@c)
 * closes what it had opened (a message of its own is replaced), and the
 * message names @what, @name and the step.  Returns -errno.
 */
static int open_failed(void (*undo)(void *c), void *c, const char *what, const char *name,
		       const char *step)
{
	int e = errno;

	undo(c);
	return fail(e, "%s %s: %s", what, name, step);
}

/* The undo of open_failed(): the consumer's own close. */
static void vfio_undo(void *v)
{
	consumer_vfio_close(v);
}

static void iommufd_undo(void *u)
{
	consumer_iommufd_close(u);
}

/* A consumer's map or unmap ioctl @req of a range; a failure names the call and the range. */
#define RANGE_IOCTL(fd, req, arg, len, iova) range_ioctl(fd, req, #req, arg, len, iova)
static int range_ioctl(int fd, unsigned long req, const char *call, void *arg, uint64_t len,
		       uint64_t iova)
{
	if (ioctl(fd, req, arg) < 0)
		return fail(errno, "%s of %llu bytes at IOVA 0x%llx", call, (unsigned long long)len,
			    (unsigned long long)iova);
	return 0;
}

/* ---- VFIO type1 ------------------------------------------------------------ */

int consumer_vfio_open(struct consumer_vfio *v, const char *group_path)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	const char *step = "/dev/vfio/vfio";

	v->group = -1;
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		goto fail;
	step = "VFIO_GET_API_VERSION";
	errno = EPROTO;
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		goto fail;
	step = group_path;
	v->group = open(group_path, O_RDWR | O_CLOEXEC);
	if (v->group < 0)
		goto fail;
	step = "VFIO_GROUP_GET_STATUS";
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &st) < 0)
		goto fail;
	step = "not viable (a device of the group is bound to another driver)";
	errno = EBUSY;
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		goto fail;
	step = "VFIO_GROUP_SET_CONTAINER";
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) < 0)
		goto fail;
	step = "VFIO_SET_IOMMU";
	if (ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0 ||
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) == 0)
		return 0;
fail:
	return open_failed(vfio_undo, v, "VFIO group", group_path, step);
}

void consumer_vfio_close(struct consumer_vfio *v)
{
	if (v->group >= 0) {
		ioctl(v->group, VFIO_GROUP_UNSET_CONTAINER);
		close(v->group);
	}
	if (v->container >= 0)
		close(v->container);
	v->group = v->container = -1;
}

int consumer_vfio_map(struct consumer_vfio *v, void *addr, uint64_t len, uint64_t iova)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)addr,
		.iova = iova,
		.size = len,
	};

	return RANGE_IOCTL(v->container, VFIO_IOMMU_MAP_DMA, &m, len, iova);
}

int consumer_vfio_unmap(struct consumer_vfio *v, uint64_t len, uint64_t iova)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = len };
	int rc = RANGE_IOCTL(v->container, VFIO_IOMMU_UNMAP_DMA, &u, len, iova);

	if (rc < 0)
		return rc;
	if (u.size != len)
		return fail(EIO, "VFIO_IOMMU_UNMAP_DMA at IOVA 0x%llx unmapped %llu bytes of %llu",
			    (unsigned long long)iova, (unsigned long long)u.size,
			    (unsigned long long)len);
	return 0;
}

/* ---- iommufd ----------------------------------------------------------------- */

int consumer_iommufd_open(struct consumer_iommufd *u, const char *cdev)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	const char *step = "/dev/iommu";

	memset(u, 0, sizeof(*u));
	u->dev = -1;
	u->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (u->fd < 0)
		goto fail;
	step = "IOMMU_IOAS_ALLOC";
	if (ioctl(u->fd, IOMMU_IOAS_ALLOC, &a) < 0)
		goto fail;
	u->ioas = a.out_ioas_id;
	step = cdev;
	u->dev = open(cdev, O_RDWR | O_CLOEXEC);
	if (u->dev < 0)
		goto fail;
	step = "VFIO_DEVICE_BIND_IOMMUFD";
	b.iommufd = u->fd;
	if (ioctl(u->dev, VFIO_DEVICE_BIND_IOMMUFD, &b) < 0)
		goto fail;
	u->devid = b.out_devid;
	step = "VFIO_DEVICE_ATTACH_IOMMUFD_PT";
	at.pt_id = u->ioas;
	if (ioctl(u->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) == 0)
		return 0;
fail:
	return open_failed(iommufd_undo, u, "iommufd with", cdev, step);
}

int consumer_iommufd_close(struct consumer_iommufd *u)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = u->ioas };
	int rc = 0;

	if (u->dev >= 0)
		close(u->dev); /* detaches and unbinds */
	if (u->fd >= 0) {
		if (ioctl(u->fd, IOMMU_DESTROY, &d) < 0)
			rc = fail(errno, "IOMMU_DESTROY of IOAS %u", u->ioas);
		close(u->fd);
	}
	u->dev = u->fd = -1;
	return rc;
}

int consumer_iommufd_map(struct consumer_iommufd *u, void *addr, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.ioas_id = u->ioas,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)addr,
		.length = len,
		.iova = iova,
	};

	return RANGE_IOCTL(u->fd, IOMMU_IOAS_MAP, &m, len, iova);
}

int consumer_iommufd_unmap(struct consumer_iommufd *u, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_unmap m = {
		.size = sizeof(m),
		.ioas_id = u->ioas,
		.iova = iova,
		.length = len,
	};

	return RANGE_IOCTL(u->fd, IOMMU_IOAS_UNMAP, &m, len, iova);
}

/* ---- RDMA ------------------------------------------------------------------------ */

#ifdef HAVE_IBVERBS
int consumer_rdma_open(struct consumer_rdma *r, const char *ibdev)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	int e;

	memset(r, 0, sizeof(*r));
	for (int i = 0; list && list[i] && !r->ib; i++)
		if (strcmp(ibv_get_device_name(list[i]), ibdev) == 0)
			r->ib = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	if (!r->ib)
		return fail(ENODEV, "RDMA device %s: cannot open it", ibdev);
	errno = 0;
	r->pd = ibv_alloc_pd(r->ib);
	if (r->pd)
		return 0;
	e = errno ? errno : ENOMEM;
	ibv_close_device(r->ib);
	r->ib = NULL;
	return fail(e, "RDMA device %s: ibv_alloc_pd", ibdev);
}

void consumer_rdma_close(struct consumer_rdma *r)
{
	if (r->mr)
		ibv_dereg_mr(r->mr);
	if (r->pd)
		ibv_dealloc_pd(r->pd);
	if (r->ib)
		ibv_close_device(r->ib);
	memset(r, 0, sizeof(*r));
}

static int rdma_reg(struct consumer_rdma *r, void *addr, uint64_t len)
{
	errno = 0;
	r->mr = ibv_reg_mr(r->pd, addr, (size_t)len,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	if (!r->mr)
		return fail(errno ? errno : EIO, "ibv_reg_mr of %llu bytes", (unsigned long long)len);
	return 0;
}

static int rdma_dereg(struct consumer_rdma *r)
{
	int rc = r->mr ? ibv_dereg_mr(r->mr) : 0;

	r->mr = NULL;
	return rc ? fail(rc, "ibv_dereg_mr") : 0;
}
#else
int consumer_rdma_open(struct consumer_rdma *r, const char *ibdev)
{
	memset(r, 0, sizeof(*r));
	return fail(EOPNOTSUPP, "RDMA device %s: built without libibverbs", ibdev);
}

void consumer_rdma_close(struct consumer_rdma *r)
{
	(void)r;
}

static int rdma_reg(struct consumer_rdma *r, void *addr, uint64_t len)
{
	(void)r, (void)addr, (void)len;
	return fail(EOPNOTSUPP, "ibv_reg_mr: built without libibverbs");
}

static int rdma_dereg(struct consumer_rdma *r)
{
	(void)r;
	return 0;
}
#endif

/* ---- io_uring ---------------------------------------------------------------------- */

int consumer_uring_open(struct io_uring *ring)
{
	int rc = io_uring_queue_init(4, ring, 0);

	return rc < 0 ? fail(-rc, "io_uring_queue_init") : 0;
}

int consumer_uring_register(struct io_uring *ring, void *addr, uint64_t len)
{
	unsigned int n = (unsigned int)((len + GiB - 1) / GiB);
	struct iovec iov[n ? n : 1];
	int rc;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t rest = len - (uint64_t)i * GiB;

		iov[i].iov_base = (char *)addr + (uint64_t)i * GiB;
		iov[i].iov_len = (size_t)(rest < GiB ? rest : GiB);
	}
	rc = io_uring_register_buffers(ring, iov, n);
	return rc < 0 ? fail(-rc, "io_uring_register_buffers of %llu bytes", (unsigned long long)len) :
			0;
}

/* ---- any consumer ------------------------------------------------------------------- */

int consumer_open(struct consumer *c, enum daxalloc_pin_kind kind, const char *where)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->iova = CONSUMER_IOVA;
	c->vfio.container = c->vfio.group = -1;
	c->iommufd.fd = c->iommufd.dev = -1;
	switch (kind) {
	case DAXALLOC_PIN_URING:
		return consumer_uring_open(&c->ring);
	case DAXALLOC_PIN_VFIO:
		return consumer_vfio_open(&c->vfio, where);
	case DAXALLOC_PIN_IOMMUFD:
		return consumer_iommufd_open(&c->iommufd, where);
	case DAXALLOC_PIN_RDMA:
		return consumer_rdma_open(&c->rdma, where);
	}
	return fail(EINVAL, "pin kind %d", (int)kind);
}

void consumer_close(struct consumer *c)
{
	if (c->kind == DAXALLOC_PIN_URING)
		io_uring_queue_exit(&c->ring);
	consumer_vfio_close(&c->vfio);
	consumer_iommufd_close(&c->iommufd);
	consumer_rdma_close(&c->rdma);
}

void consumer_target(struct consumer *c, struct daxalloc_pin_target *t)
{
	memset(t, 0, sizeof(*t));
	t->struct_size = sizeof(*t);
	t->kind = c->kind;
	t->vfio.container_fd = c->vfio.container;
	t->vfio.iova = c->iova;
	t->iommufd.fd = c->iommufd.fd;
	t->iommufd.ioas_id = c->iommufd.ioas;
	t->iommufd.iova = c->iova;
	t->rdma.pd = c->rdma.pd;
	t->uring.ring = &c->ring;
}

int consumer_pin(struct consumer *c, void *addr, uint64_t len)
{
	switch (c->kind) {
	case DAXALLOC_PIN_URING:
		return consumer_uring_register(&c->ring, addr, len);
	case DAXALLOC_PIN_VFIO:
		return consumer_vfio_map(&c->vfio, addr, len, c->iova);
	case DAXALLOC_PIN_IOMMUFD:
		return consumer_iommufd_map(&c->iommufd, addr, len, c->iova);
	case DAXALLOC_PIN_RDMA:
		return rdma_reg(&c->rdma, addr, len);
	}
	return fail(EINVAL, "pin kind %d", (int)c->kind);
}

int consumer_unpin(struct consumer *c, uint64_t len)
{
	int rc;

	switch (c->kind) {
	case DAXALLOC_PIN_URING:
		rc = io_uring_unregister_buffers(&c->ring);
		return rc < 0 ? fail(-rc, "io_uring_unregister_buffers") : 0;
	case DAXALLOC_PIN_VFIO:
		return consumer_vfio_unmap(&c->vfio, len, c->iova);
	case DAXALLOC_PIN_IOMMUFD:
		return consumer_iommufd_unmap(&c->iommufd, len, c->iova);
	case DAXALLOC_PIN_RDMA:
		return rdma_dereg(&c->rdma);
	}
	return fail(EINVAL, "pin kind %d", (int)c->kind);
}

const char *consumer_pin_call(enum daxalloc_pin_kind kind)
{
	return kind == DAXALLOC_PIN_URING   ? "io_uring_register_buffers" :
	       kind == DAXALLOC_PIN_VFIO    ? "VFIO_IOMMU_MAP_DMA" :
	       kind == DAXALLOC_PIN_IOMMUFD ? "IOMMU_IOAS_MAP" :
					      "ibv_reg_mr";
}

const char *consumer_unpin_call(enum daxalloc_pin_kind kind)
{
	return kind == DAXALLOC_PIN_URING   ? "io_uring_unregister_buffers" :
	       kind == DAXALLOC_PIN_VFIO    ? "VFIO_IOMMU_UNMAP_DMA" :
	       kind == DAXALLOC_PIN_IOMMUFD ? "IOMMU_IOAS_UNMAP" :
					      "ibv_dereg_mr";
}
