// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pool's in-memory indexes (pool-index.h).  Treaps: expected depth
 * O(log n) whatever order regions come and go in, and split and merge
 * keep insertion and removal to a few lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pool-index.h"
#include "private.h"

static int pix_cmp(const struct pix_node *a, uint64_t k1, uint64_t k2)
{
	if (a->k1 != k1)
		return a->k1 < k1 ? -1 : 1;
	if (a->k2 != k2)
		return a->k2 < k2 ? -1 : 1;
	return 0;
}

/* @t into the keys below (k1, k2) (*a) and the others (*b). */
static void pix_split(struct pix_node *v, uint32_t t, uint64_t k1, uint64_t k2, uint32_t *a,
		      uint32_t *b)
{
	if (t == PIX_NIL) {
		*a = *b = PIX_NIL;
	} else if (pix_cmp(&v[t], k1, k2) < 0) {
		pix_split(v, v[t].r, k1, k2, &v[t].r, b);
		*a = t;
	} else {
		pix_split(v, v[t].l, k1, k2, a, &v[t].l);
		*b = t;
	}
}

/* Every key of @a below every key of @b. */
static uint32_t pix_merge(struct pix_node *v, uint32_t a, uint32_t b)
{
	if (a == PIX_NIL)
		return b;
	if (b == PIX_NIL)
		return a;
	if (v[a].pri > v[b].pri) {
		v[a].r = pix_merge(v, v[a].r, b);
		return a;
	}
	v[b].l = pix_merge(v, a, v[b].l);
	return b;
}

static uint32_t pix_rand(struct pool_index *x)
{
	/* xorshift32: priorities need only look random */
	x->rnd ^= x->rnd << 13;
	x->rnd ^= x->rnd >> 17;
	x->rnd ^= x->rnd << 5;
	return x->rnd;
}

static void pix_tree_add(struct pool_index *x, struct pix_node *v, uint32_t *root, uint32_t t)
{
	uint32_t a, b;

	v[t].l = v[t].r = PIX_NIL;
	v[t].pri = pix_rand(x);
	pix_split(v, *root, v[t].k1, v[t].k2, &a, &b);
	*root = pix_merge(v, pix_merge(v, a, t), b);
}

static void pix_tree_del(struct pix_node *v, uint32_t *root, uint64_t k1, uint64_t k2)
{
	uint32_t a, m, b;

	/* keys are unique: (k1, k2 + 1) is the next one up (k2 is never UINT64_MAX) */
	pix_split(v, *root, k1, k2, &a, &b);
	pix_split(v, b, k1, k2 + 1, &m, &b);
	*root = pix_merge(v, a, b);
}

/* Smallest key at or above (k1, k2). */
static uint32_t pix_ceil(const struct pix_node *v, uint32_t t, uint64_t k1, uint64_t k2)
{
	uint32_t best = PIX_NIL;

	while (t != PIX_NIL) {
		if (pix_cmp(&v[t], k1, k2) >= 0) {
			best = t;
			t = v[t].l;
		} else {
			t = v[t].r;
		}
	}
	return best;
}

/* Largest key below (k1, k2). */
static uint32_t pix_floor_below(const struct pix_node *v, uint32_t t, uint64_t k1, uint64_t k2)
{
	uint32_t best = PIX_NIL;

	while (t != PIX_NIL) {
		if (pix_cmp(&v[t], k1, k2) < 0) {
			best = t;
			t = v[t].r;
		} else {
			t = v[t].l;
		}
	}
	return best;
}

static uint32_t pix_hash(const struct pool_index *x, const char *name)
{
	return dxa_name_hash(name) & x->hmask;
}

static void pix_name_link(struct pool_index *x, uint32_t slot)
{
	uint32_t b = pix_hash(x, x->ent[slot].name);

	x->hnext[slot] = x->hhead[b];
	x->hhead[b] = slot;
}

static void pix_relink(struct pool_index *x, uint32_t t)
{
	while (t != PIX_NIL) {
		pix_relink(x, x->on[t].l);
		if (x->ent[t].flags & DXA_ENTRY_NAMED)
			pix_name_link(x, t);
		t = x->on[t].r;
	}
}

/* Heads for twice @n names at least; without memory the chains get longer, nothing fails. */
static void pix_hash_size(struct pool_index *x, uint32_t n)
{
	uint32_t size = 1024, *h;

	while (size < 2 * (uint64_t)n && size < (UINT32_C(1) << 31))
		size *= 2;
	if (x->hhead && size <= x->hmask + 1)
		return;
	h = realloc(x->hhead, (size_t)size * sizeof(*h));
	if (!h)
		return;
	x->hhead = h;
	x->hmask = size - 1;
	memset(x->hhead, 0xff, (size_t)size * sizeof(*h));
	pix_relink(x, x->oroot);
}

static void pix_name_add(struct pool_index *x, uint32_t slot)
{
	uint32_t b;

	if (!(x->ent[slot].flags & DXA_ENTRY_NAMED))
		return;
	b = pix_hash(x, x->ent[slot].name);
	x->hnext[slot] = x->hhead[b];
	x->hhead[b] = slot;
}

static void pix_name_del(struct pool_index *x, uint32_t slot)
{
	uint32_t *pp;

	if (!(x->ent[slot].flags & DXA_ENTRY_NAMED))
		return;
	for (pp = &x->hhead[pix_hash(x, x->ent[slot].name)]; *pp != PIX_NIL; pp = &x->hnext[*pp])
		if (*pp == slot) {
			*pp = x->hnext[slot];
			return;
		}
}

/* A node of @v: a freed one, else the first never used. */
static uint32_t pix_alloc(struct pix_node *v, uint32_t *freed, uint32_t *top)
{
	uint32_t s = *freed;

	if (s == PIX_NIL)
		return (*top)++;
	*freed = v[s].l;
	return s;
}

static void pix_gap_add(struct pool_index *x, uint64_t start, uint64_t end)
{
	uint32_t g;

	if (end <= start)
		return;
	g = pix_alloc(x->gn, &x->gfree, &x->gtop);
	x->gn[g].k1 = end - start;
	x->gn[g].k2 = start;
	pix_tree_add(x, x->gn, &x->groot, g);
}

static void pix_gap_del(struct pool_index *x, uint64_t start, uint64_t end)
{
	uint32_t g;

	if (end <= start)
		return;
	g = pix_ceil(x->gn, x->groot, end - start, start);
	pix_tree_del(x->gn, &x->groot, end - start, start);
	x->gn[g].l = x->gfree;
	x->gfree = g;
}

int pix_init(struct pool_index *x, uint32_t cap)
{
	memset(x, 0, sizeof(*x));
	x->cap = cap;
	x->ent = big_reserve(cap, sizeof(*x->ent));
	x->on = big_reserve(cap, sizeof(*x->on));
	x->gn = big_reserve((size_t)cap + 1, sizeof(*x->gn));
	x->hnext = big_reserve(cap, sizeof(*x->hnext));
	x->oroot = PIX_NIL;
	pix_hash_size(x, 0);
	if (!x->ent || !x->on || !x->gn || !x->hhead || !x->hnext) {
		pix_fini(x);
		return -1;
	}
	return 0;
}

void pix_fini(struct pool_index *x)
{
	big_release(x->ent, x->cap, sizeof(*x->ent));
	big_release(x->on, x->cap, sizeof(*x->on));
	big_release(x->gn, (size_t)x->cap + 1, sizeof(*x->gn));
	free(x->hhead);
	big_release(x->hnext, x->cap, sizeof(*x->hnext));
	memset(x, 0, sizeof(*x));
}

static void pix_clear(struct pool_index *x, uint64_t data_start, uint64_t data_end)
{
	x->n = x->unnamed = 0;
	x->data_start = data_start;
	x->data_end = data_end;
	x->rnd = 2463534242u;
	x->oroot = x->groot = PIX_NIL;
	x->efree = x->gfree = PIX_NIL;
	x->etop = x->gtop = 0;
	memset(x->hhead, 0xff, ((size_t)x->hmask + 1) * sizeof(*x->hhead));
}

static int pix_key_cmp(const void *a, const void *b)
{
	const struct pix_node *x = a, *y = b;

	return pix_cmp(x, y->k1, y->k2);
}

/*
 * A treap of nodes 0..n-1 of @v, already in key order, in O(n): each node
 * pops the nodes of lower priority off the right spine (@stack) and takes
 * them as its left subtree.  Returns the root.
 */
static uint32_t pix_tree_build(struct pool_index *x, struct pix_node *v, uint32_t n, uint32_t *stack)
{
	uint32_t top = 0;

	for (uint32_t t = 0; t < n; t++) {
		uint32_t last = PIX_NIL;

		v[t].pri = pix_rand(x);
		v[t].r = PIX_NIL;
		while (top && v[stack[top - 1]].pri < v[t].pri)
			last = stack[--top];
		v[t].l = last;
		if (top)
			v[stack[top - 1]].r = t;
		stack[top++] = t;
	}
	return top ? stack[0] : PIX_NIL;
}

void pix_build(struct pool_index *x, const struct dxa_entry *ents, uint32_t n, uint64_t data_start,
	       uint64_t data_end)
{
	uint32_t *stack = malloc(((size_t)n + 1) * sizeof(*stack));
	uint64_t prev = data_start;
	uint32_t g = 0;

	pix_clear(x, data_start, data_end);
	pix_hash_size(x, n);
	big_hint(x->ent, (size_t)n * sizeof(*x->ent), (size_t)x->cap * sizeof(*x->ent));
	big_hint(x->on, (size_t)n * sizeof(*x->on), (size_t)x->cap * sizeof(*x->on));
	big_hint(x->gn, ((size_t)n + 1) * sizeof(*x->gn), ((size_t)x->cap + 1) * sizeof(*x->gn));
	if (!stack) {
		/* one at a time: slower, the same trees */
		for (uint32_t i = 0; i < n; i++) {
			uint32_t s = pix_alloc(x->on, &x->efree, &x->etop);

			if (x->ent != ents)
				x->ent[s] = ents[i];
			x->unnamed += !(ents[i].flags & DXA_ENTRY_NAMED);
			x->on[s].k1 = ents[i].offset;
			x->on[s].k2 = 0;
			pix_tree_add(x, x->on, &x->oroot, s);
			pix_name_add(x, s);
			pix_gap_add(x, prev, ents[i].offset);
			prev = ents[i].offset + ents[i].length;
		}
		pix_gap_add(x, prev, data_end);
		x->n = n;
		x->valid = true;
		return;
	}
	/* Slots 0..n-1 in offset order, and the free extents between them. */
	for (uint32_t i = 0; i <= n; i++) {
		uint64_t next = i < n ? ents[i].offset : data_end;

		if (next > prev) {
			x->gn[g].k1 = next - prev;
			x->gn[g++].k2 = prev;
		}
		if (i == n)
			break;
		if (x->ent != ents)
			x->ent[i] = ents[i];
		x->unnamed += !(ents[i].flags & DXA_ENTRY_NAMED);
		x->on[i].k1 = ents[i].offset;
		x->on[i].k2 = 0;
		pix_name_add(x, i);
		prev = ents[i].offset + ents[i].length;
	}
	x->etop = n;
	x->oroot = pix_tree_build(x, x->on, n, stack);
	qsort(x->gn, g, sizeof(*x->gn), pix_key_cmp);
	x->gtop = g;
	x->groot = pix_tree_build(x, x->gn, g, stack);
	free(stack);
	x->n = n;
	x->valid = true;
}

void pix_build_take(struct pool_index *x, struct dxa_entry **ents, uint32_t n, uint64_t data_start,
		    uint64_t data_end)
{
	struct dxa_entry *t = x->ent;

	/* slot i is entry i after a build: the sorted table is the slot array as it is */
	x->ent = *ents;
	*ents = t;
	pix_build(x, x->ent, n, data_start, data_end);
}

uint32_t pix_find_name(const struct pool_index *x, const char *name)
{
	for (uint32_t s = x->hhead[pix_hash(x, name)]; s != PIX_NIL; s = x->hnext[s])
		if (strcmp(x->ent[s].name, name) == 0)
			return s;
	return PIX_NIL;
}

uint32_t pix_find_offset(const struct pool_index *x, uint64_t offset)
{
	uint32_t s = pix_ceil(x->on, x->oroot, offset, 0);

	return s != PIX_NIL && x->on[s].k1 == offset ? s : PIX_NIL;
}

uint32_t pix_next(const struct pool_index *x, uint64_t offset)
{
	return pix_ceil(x->on, x->oroot, offset, 0);
}

bool pix_best_fit(const struct pool_index *x, uint64_t size, uint64_t *where)
{
	uint32_t g = pix_ceil(x->gn, x->groot, size, 0);

	if (g == PIX_NIL)
		return false;
	*where = x->gn[g].k2;
	return true;
}

/* The free extent around @offset: from the end of the entry below to the start of the one above. */
static void pix_around(const struct pool_index *x, uint64_t offset, uint64_t *start, uint64_t *end)
{
	uint32_t below = pix_floor_below(x->on, x->oroot, offset, 0);
	uint32_t above = pix_ceil(x->on, x->oroot, offset + 1, 0);

	*start = below == PIX_NIL ? x->data_start : x->ent[below].offset + x->ent[below].length;
	*end = above == PIX_NIL ? x->data_end : x->ent[above].offset;
}

uint32_t pix_insert(struct pool_index *x, const struct dxa_entry *e)
{
	uint64_t start, end;
	uint32_t s;

	pix_around(x, e->offset, &start, &end);
	pix_gap_del(x, start, end);
	pix_gap_add(x, start, e->offset);
	pix_gap_add(x, e->offset + e->length, end);
	s = pix_alloc(x->on, &x->efree, &x->etop);
	x->ent[s] = *e;
	x->unnamed += !(e->flags & DXA_ENTRY_NAMED);
	x->on[s].k1 = e->offset;
	x->on[s].k2 = 0;
	pix_tree_add(x, x->on, &x->oroot, s);
	pix_name_add(x, s);
	x->n++;
	if (x->n > (x->hmask + 1) / 2)
		pix_hash_size(x, x->n);
	return s;
}

void pix_remove(struct pool_index *x, uint32_t slot)
{
	const struct dxa_entry *e = &x->ent[slot];
	uint64_t start, end;

	pix_name_del(x, slot);
	x->unnamed -= !(e->flags & DXA_ENTRY_NAMED);
	pix_tree_del(x->on, &x->oroot, e->offset, 0);
	pix_around(x, e->offset, &start, &end);
	pix_gap_del(x, start, e->offset);
	pix_gap_del(x, e->offset + e->length, end);
	pix_gap_add(x, start, end);
	x->on[slot].l = x->efree;
	x->efree = slot;
	x->n--;
}

void pix_update(struct pool_index *x, uint32_t slot, const struct dxa_entry *e)
{
	pix_name_del(x, slot);
	x->unnamed += !(e->flags & DXA_ENTRY_NAMED);
	x->unnamed -= !(x->ent[slot].flags & DXA_ENTRY_NAMED);
	x->ent[slot] = *e;
	pix_name_add(x, slot);
}

static uint32_t pix_walk(const struct pool_index *x, uint32_t t, struct dxa_entry *out, uint32_t k,
			 uint32_t *crc)
{
	while (t != PIX_NIL) {
		k = pix_walk(x, x->on[t].l, out, k, crc);
		out[k++] = x->ent[t];
		if (crc)
			*crc = daxalloc_crc32c(*crc, &x->ent[t], sizeof(x->ent[t]));
		t = x->on[t].r;
	}
	return k;
}

uint32_t pix_export(const struct pool_index *x, struct dxa_entry *out)
{
	return pix_walk(x, x->oroot, out, 0, NULL);
}

uint32_t pix_export_crc(const struct pool_index *x, struct dxa_entry *out, uint32_t *crc)
{
	*crc = 0;
	return pix_walk(x, x->oroot, out, 0, crc);
}
