/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A test-only device: an ordinary memfd (no huge pages) of any size with a
 * small unit, posing as a stand-in, for measuring the pool engine at region
 * counts no device here holds.  Built into test programs only; the library
 * offers no way to open it.
 */
#ifndef DAXALLOC_TESTDEV_H
#define DAXALLOC_TESTDEV_H

#include <stdint.h>

struct daxalloc_ctx;
struct daxalloc_dev;

/* A device "testdev:<unit>" of @size bytes; close it with daxalloc_dev_close(). */
int testdev_open(struct daxalloc_ctx *ctx, uint64_t size, uint64_t unit, struct daxalloc_dev **out);

#endif
