/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pin consumers set up by hand, as a program without the library
 * does: a VFIO type1 container, an iommufd IOAS with a VFIO device cdev
 * attached, an RDMA protection domain, an io_uring ring; and each one's
 * own pin call.  Shared by the pin tests and daxalloc-bench.  Calls return
 * 0 or -errno and leave a one-line message for the calling thread in
 * consumer_errmsg(); nothing is asserted, so children may use them.
 */
#ifndef CONSUMERS_H
#define CONSUMERS_H

#include <liburing.h>
#include <stdint.h>

#include "daxalloc.h"

struct ibv_context;
struct ibv_pd;
struct ibv_mr;

/* The IOVA the raw calls and consumer_target() use: 4G. */
#define CONSUMER_IOVA (UINT64_C(1) << 32)

struct consumer_vfio {
	int container, group;
};

struct consumer_iommufd {
	int fd, dev; /* /dev/iommu and the attached VFIO device cdev */
	uint32_t ioas, devid;
};

struct consumer_rdma {
	struct ibv_context *ib;
	struct ibv_pd *pd;
	struct ibv_mr *mr; /* consumer_pin()'s registration */
};

/* One consumer of any kind: only the member of its kind is used. */
struct consumer {
	enum daxalloc_pin_kind kind;
	uint64_t iova; /* VFIO, iommufd */
	struct consumer_vfio vfio;
	struct consumer_iommufd iommufd;
	struct consumer_rdma rdma;
	struct io_uring ring;
};

const char *consumer_errmsg(void);

/* @group_path (/dev/vfio/N) in a new container, type1v2 (else type1) IOMMU set. */
int consumer_vfio_open(struct consumer_vfio *v, const char *group_path);
void consumer_vfio_close(struct consumer_vfio *v);
/* VFIO_IOMMU_MAP_DMA / UNMAP_DMA of [@addr, +@len) at @iova. */
int consumer_vfio_map(struct consumer_vfio *v, void *addr, uint64_t len, uint64_t iova);
int consumer_vfio_unmap(struct consumer_vfio *v, uint64_t len, uint64_t iova);

/*
 * /dev/iommu, an IOAS, and the VFIO device cdev @cdev bound and attached
 * to it: without an attached device IOMMU_IOAS_MAP only records the
 * range and pins nothing.
 */
int consumer_iommufd_open(struct consumer_iommufd *u, const char *cdev);
/* Detaches the device and destroys the IOAS; -errno of IOMMU_DESTROY. */
int consumer_iommufd_close(struct consumer_iommufd *u);
int consumer_iommufd_map(struct consumer_iommufd *u, void *addr, uint64_t len, uint64_t iova);
int consumer_iommufd_unmap(struct consumer_iommufd *u, uint64_t len, uint64_t iova);

/* RDMA device @ibdev (rxe0 in the guest) opened, a protection domain allocated. */
int consumer_rdma_open(struct consumer_rdma *r, const char *ibdev);
void consumer_rdma_close(struct consumer_rdma *r);

int consumer_uring_open(struct io_uring *ring);
/* IORING_REGISTER_BUFFERS of [@addr, +@len), in buffers of at most 1 GiB. */
int consumer_uring_register(struct io_uring *ring, void *addr, uint64_t len);

/*
 * A consumer of @kind: @where names the VFIO group, the iommufd's VFIO
 * device cdev or the RDMA device (io_uring: unused).
 */
int consumer_open(struct consumer *c, enum daxalloc_pin_kind kind, const char *where);
void consumer_close(struct consumer *c);
/* The same consumer as the library's pin target, at c->iova. */
void consumer_target(struct consumer *c, struct daxalloc_pin_target *t);
/* The consumer's own pin call of [@addr, +@len) and its undoing. */
int consumer_pin(struct consumer *c, void *addr, uint64_t len);
int consumer_unpin(struct consumer *c, uint64_t len);
/* The names of those calls: "VFIO_IOMMU_MAP_DMA", "ibv_dereg_mr", ... */
const char *consumer_pin_call(enum daxalloc_pin_kind kind);
const char *consumer_unpin_call(enum daxalloc_pin_kind kind);

#endif
