/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Model checking for daxalloc_heap_*: random sequences of malloc, calloc,
 * realloc, aligned_alloc and free, checked against a model of every live
 * object (its size, alignment, contents and usable size) and of the heap's
 * statistics.
 */
#ifndef HEAP_MODEL_H
#define HEAP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "daxalloc.h"

struct hm_obj {
	unsigned char *p;
	size_t size; /* asked for */
	size_t usable;
	uint32_t seed; /* contents: hm_byte(seed, i) */
};

struct hm {
	struct daxalloc_heap *heap;
	struct hm_obj *objs;
	size_t nobjs, cap;
	uint64_t rng;
	size_t max_size;        /* largest object asked for */
	uint64_t ops, failures; /* failures: NULL for lack of room */
	char err[256];          /* first mismatch, "" if none */
};

void hm_init(struct hm *m, struct daxalloc_heap *heap, uint64_t seed, size_t max_size);
/* One random operation; returns 0, or -1 with m->err set on a mismatch. */
int hm_step(struct hm *m);
/* Every live object's contents and usable size, no two overlapping. */
int hm_check_all(struct hm *m);
/* The sum of usable sizes and the count of live objects. */
void hm_totals(const struct hm *m, uint64_t *bytes, uint64_t *objects);
/* Free everything (checking contents first). */
int hm_free_all(struct hm *m);
void hm_fini(struct hm *m);

#endif
