/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The heap's internals shared with the preload library and the tests. */
#ifndef DAXALLOC_HEAP_H
#define DAXALLOC_HEAP_H

#include <stddef.h>

#include "daxalloc.h"

/*
 * A heap over [base, base + size) (page-aligned), without a region: the
 * preload library and the tests use it; daxalloc_heap_create() calls it.
 */
int heap_create_range(void *base, size_t size, unsigned int flags, struct daxalloc_heap **heap);
/* Bytes of the range handed to the allocator so far (the high-water mark). */
size_t heap_mapped(struct daxalloc_heap *heap);
void *heap_base(struct daxalloc_heap *heap);
size_t heap_size(struct daxalloc_heap *heap);

#endif
