// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap-model.h"

static uint64_t next(struct hm *m)
{
	/* xorshift64* */
	m->rng ^= m->rng >> 12;
	m->rng ^= m->rng << 25;
	m->rng ^= m->rng >> 27;
	return m->rng * UINT64_C(2685821657736338717);
}

static inline unsigned char hm_byte(uint32_t seed, size_t i)
{
	return (unsigned char)((seed * 2654435761u + i * 40503u) >> 13);
}

static void fill(unsigned char *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = hm_byte(seed, i);
}

static int verify(struct hm *m, const struct hm_obj *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (o->p[i] != hm_byte(o->seed, i)) {
			snprintf(m->err, sizeof(m->err),
				 "op %llu: object %p (size %zu) byte %zu is 0x%02x, wrote 0x%02x",
				 (unsigned long long)m->ops, (void *)o->p, o->size, i, o->p[i],
				 hm_byte(o->seed, i));
			return -1;
		}
	}
	return 0;
}

void hm_init(struct hm *m, struct daxalloc_heap *heap, uint64_t seed, size_t max_size)
{
	memset(m, 0, sizeof(*m));
	m->heap = heap;
	m->rng = seed * 0x9E3779B97F4A7C15ull + 1;
	m->max_size = max_size;
}

/* Sizes spread evenly over the powers of two from 1 to max_size, and 0. */
static size_t pick_size(struct hm *m)
{
	uint64_t r = next(m);
	int bits = 0;

	while ((UINT64_C(1) << (bits + 1)) <= m->max_size)
		bits++;
	if (r % 64 == 0)
		return 0;
	size_t base = (size_t)1 << (r >> 8) % (bits + 1);
	size_t s = base + (size_t)(next(m) % base);
	return s > m->max_size ? m->max_size : s;
}

static int check_new(struct hm *m, struct hm_obj *o, size_t align)
{
	size_t us = daxalloc_heap_usable_size(m->heap, o->p);

	if (!daxalloc_heap_owns(m->heap, o->p)) {
		snprintf(m->err, sizeof(m->err), "op %llu: %p is outside the heap",
			 (unsigned long long)m->ops, (void *)o->p);
		return -1;
	}
	if (us < o->size) {
		snprintf(m->err, sizeof(m->err), "op %llu: usable size %zu < asked %zu",
			 (unsigned long long)m->ops, us, o->size);
		return -1;
	}
	if ((uintptr_t)o->p % align) {
		snprintf(m->err, sizeof(m->err), "op %llu: %p not aligned to %zu",
			 (unsigned long long)m->ops, (void *)o->p, align);
		return -1;
	}
	o->usable = us;
	return 0;
}

static void push(struct hm *m, struct hm_obj o)
{
	if (m->nobjs == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 256;
		m->objs = realloc(m->objs, m->cap * sizeof(*m->objs));
		if (!m->objs)
			abort();
	}
	m->objs[m->nobjs++] = o;
}

int hm_step(struct hm *m)
{
	uint64_t r = next(m);
	struct hm_obj o = { 0 }, *x;
	size_t i, align = 16;
	/* Grow while few objects live, shrink while many. */
	unsigned op = r % 100;
	bool want_free = m->nobjs > 0 && (op < 35 + (m->nobjs > 2000 ? 30 : 0));

	m->ops++;
	if (want_free) {
		i = (size_t)(next(m) % m->nobjs);
		x = &m->objs[i];
		if (verify(m, x, x->size) < 0)
			return -1;
		if (op % 4 == 0) { /* realloc instead of free */
			size_t n = pick_size(m);
			unsigned char *q = daxalloc_heap_realloc(m->heap, x->p, n);

			if (n == 0) { /* freed */
				*x = m->objs[--m->nobjs];
				return 0;
			}
			if (!q) {
				m->failures++;
				return verify(m, x, x->size); /* untouched */
			}
			o = *x;
			o.p = q;
			o.size = n;
			/* The common prefix moved with it. */
			size_t keep = x->size < n ? x->size : n;
			o.size = keep;
			if (verify(m, &o, keep) < 0)
				return -1;
			o.size = n;
			if (check_new(m, &o, 16) < 0)
				return -1;
			fill(o.p, n, o.seed);
			*x = o;
			return 0;
		}
		daxalloc_heap_free(m->heap, x->p);
		*x = m->objs[--m->nobjs];
		return 0;
	}
	o.size = pick_size(m);
	o.seed = (uint32_t)next(m);
	switch (op % 3) {
	case 0:
		o.p = daxalloc_heap_malloc(m->heap, o.size);
		break;
	case 1:
		o.p = daxalloc_heap_calloc(m->heap, 1, o.size);
		if (o.p) {
			for (i = 0; i < o.size; i++) {
				if (o.p[i]) {
					snprintf(m->err, sizeof(m->err),
						 "op %llu: calloc(%zu) byte %zu is 0x%02x",
						 (unsigned long long)m->ops, o.size, i, o.p[i]);
					return -1;
				}
			}
		}
		break;
	default:
		align = (size_t)1 << (4 + next(m) % 9); /* 16 .. 4096 */
		o.p = daxalloc_heap_aligned_alloc(m->heap, align, o.size);
		break;
	}
	if (!o.p) {
		if (errno != ENOMEM) {
			snprintf(m->err, sizeof(m->err), "op %llu: NULL with errno %d, not ENOMEM",
				 (unsigned long long)m->ops, errno);
			return -1;
		}
		m->failures++;
		return 0;
	}
	if (check_new(m, &o, align) < 0)
		return -1;
	fill(o.p, o.size, o.seed);
	push(m, o);
	return 0;
}

static int by_addr(const void *a, const void *b)
{
	const struct hm_obj *x = a, *y = b;

	return x->p < y->p ? -1 : x->p > y->p;
}

int hm_check_all(struct hm *m)
{
	qsort(m->objs, m->nobjs, sizeof(*m->objs), by_addr);
	for (size_t i = 0; i < m->nobjs; i++) {
		struct hm_obj *o = &m->objs[i];

		if (verify(m, o, o->size) < 0)
			return -1;
		if (daxalloc_heap_usable_size(m->heap, o->p) != o->usable) {
			snprintf(m->err, sizeof(m->err), "%p: usable size changed from %zu to %zu",
				 (void *)o->p, o->usable, daxalloc_heap_usable_size(m->heap, o->p));
			return -1;
		}
		if (i + 1 < m->nobjs && o->p + o->usable > m->objs[i + 1].p) {
			snprintf(m->err, sizeof(m->err), "%p + %zu overlaps %p", (void *)o->p,
				 o->usable, (void *)m->objs[i + 1].p);
			return -1;
		}
	}
	return 0;
}

void hm_totals(const struct hm *m, uint64_t *bytes, uint64_t *objects)
{
	*bytes = 0;
	for (size_t i = 0; i < m->nobjs; i++)
		*bytes += m->objs[i].usable;
	*objects = m->nobjs;
}

int hm_free_all(struct hm *m)
{
	if (hm_check_all(m) < 0)
		return -1;
	for (size_t i = 0; i < m->nobjs; i++)
		daxalloc_heap_free(m->heap, m->objs[i].p);
	m->nobjs = 0;
	return 0;
}

void hm_fini(struct hm *m)
{
	free(m->objs);
	m->objs = NULL;
	m->nobjs = m->cap = 0;
}
