/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals of the vmemmap measurement: the consumers that time pinning
 * (vmemmap-pin.c), used by vmemmap.c.
 */
#ifndef DAXALLOC_VMEMMAP_H
#define DAXALLOC_VMEMMAP_H

#include <liburing.h>

#include "private.h"

enum vmc_kind {
	VMC_NONE = 0,
	VMC_VFIO,
	VMC_RDMA,
	VMC_URING,
};

struct vm_consumer {
	enum vmc_kind kind;
	char name[64];		/* "vfio /dev/vfio/3", "rdma rxe0", "io_uring" */
	char spec[80];		/* opens the same again: "vfio:/dev/vfio/3", "rdma:rxe0" */
	int container, group;	/* VFIO */
	void *verbs, *pd;	/* RDMA: struct ibv_context, struct ibv_pd */
	struct io_uring ring;
};

/*
 * Open the consumer named by @spec ("vfio:/dev/vfio/N", "rdma", "rdma:DEV",
 * "io_uring"; NULL: the first that works, VFIO first for devdax memory,
 * io_uring first for hugetlb memory, last for devdax memory, whatever the
 * kernel: a kernel that refuses it (before 6.5) says so when pinning).
 * @release is unused.  On failure @why says what was tried.
 */
int vmc_open(const char *spec, bool devdax, const char *release, struct vm_consumer *c,
	     char *why, size_t len);
/* Pin [@addr, @addr + @len) and unpin it; *@ns gets the time the pin took. */
int vmc_pin_ns(struct vm_consumer *c, void *addr, uint64_t len, uint64_t *ns);
void vmc_close(struct vm_consumer *c);

/* "6.1.0-56-amd64" -> 6, 1; -EINVAL when it does not start with a version. */
int vm_parse_release(const char *release, unsigned int *major, unsigned int *minor);

#endif
