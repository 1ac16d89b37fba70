/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every object a pin hangs on, on the stand-in: context, device, pool, a
 * region and an io_uring pin of its first 2M.  For the tests of what
 * happens to all of them together (closed in any order, across exec).
 */
#ifndef PIN_CHAIN_H
#define PIN_CHAIN_H

#include "consumers.h"
#include "daxalloc.h"

struct pin_chain {
	struct daxalloc_ctx *ctx;
	struct daxalloc_dev *dev;
	struct daxalloc_pool *pool;
	struct daxalloc_region *region; /* "kept" */
	struct daxalloc_pin *pin;
	struct consumer uring;
};

/* The chain on the stand-in @dev (a name such as "hugetlb:2M:8M"), its region of @size. */
void pin_chain_make(struct pin_chain *c, const char *dev, uint64_t size);
/* Closes what is still open, pin first, context last. */
void pin_chain_close(struct pin_chain *c);

#endif
