/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libibverbs, found at run time (verbs.c, dynload.h): the library is built
 * with its header but not linked against it, so that programs and packages
 * that never pin for RDMA neither load nor depend on it.
 */
#ifndef DAXALLOC_VERBS_H
#define DAXALLOC_VERBS_H

#include <infiniband/verbs.h>

struct verbs {
	const char *(*get_device_name)(struct ibv_device *device);
	struct ibv_mr *(*reg_mr)(struct ibv_pd *pd, void *addr, size_t length, int access);
	int (*dereg_mr)(struct ibv_mr *mr);
};

/* The functions, loaded on first use; NULL (message set) when libibverbs cannot be. */
const struct verbs *verbs_get(void);

#endif
