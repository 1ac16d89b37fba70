/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * liburing, found at run time (uring.c, dynload.h): its header gives the
 * types and inline helpers; the functions below are the ones the library
 * calls, so that programs and packages that never pin for io_uring neither
 * load nor depend on liburing.
 */
#ifndef DAXALLOC_URING_H
#define DAXALLOC_URING_H

#include <liburing.h>

struct uring {
	int (*register_buffers)(struct io_uring *ring, const struct iovec *iovecs,
				unsigned int nr_iovecs);
	int (*register_buffers_update_tag)(struct io_uring *ring, unsigned int off,
					   const struct iovec *iovecs, const __u64 *tags,
					   unsigned int nr);
	int (*unregister_buffers)(struct io_uring *ring);
};

/* The functions, loaded on first use; NULL (message set) when liburing cannot be. */
const struct uring *uring_get(void);

#endif
