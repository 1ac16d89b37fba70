// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pool's in-memory indexes against a plain model (a sorted table
 * scanned end to end, as the pool did before it had indexes): after every
 * random insertion, removal and rename, each lookup, the best fit and the
 * table in offset order must agree.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool-index.h"
#include "private.h"

#define UNIT 4096u
#define START (8u * UNIT)
#define CAP 300u
#define UNITS 2000u
#define END (START + (uint64_t)UNITS * UNIT)

static struct dxa_entry model[CAP];
static uint32_t mn;
static struct pool_index x;

static uint32_t rnd(void)
{
	static uint32_t s = 12345;

	s = s * 1103515245u + 12345u;
	return s >> 8;
}

/* The model's best fit: smallest gap that fits, lowest offset on ties. */
static bool model_fit(uint64_t size, uint64_t *where, uint32_t *at)
{
	uint64_t prev = START, best = UINT64_MAX;
	bool found = false;

	for (uint32_t i = 0; i <= mn; i++) {
		uint64_t next = i < mn ? model[i].offset : END;

		if (next - prev >= size && next - prev < best) {
			best = next - prev;
			*where = prev;
			*at = i;
			found = true;
		}
		if (i < mn)
			prev = model[i].offset + model[i].length;
	}
	return found;
}

static int model_name(const char *name)
{
	for (uint32_t i = 0; i < mn; i++)
		if ((model[i].flags & DXA_ENTRY_NAMED) && strcmp(model[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void agree(void)
{
	static struct dxa_entry out[CAP], out2[CAP];
	uint32_t n = pix_export(&x, out), crc;
	uint32_t unnamed = 0;

	cr_assert_eq(n, mn);
	cr_assert_eq(x.n, mn);
	cr_assert(memcmp(out, model, (size_t)n * sizeof(out[0])) == 0, "tables differ");
	/* what a checkpoint writes: the same table, and the checksum of all its bytes */
	memset(out2, 0xa5, sizeof(out2));
	cr_assert_eq(pix_export_crc(&x, out2, &crc), n);
	cr_assert(memcmp(out2, model, (size_t)n * sizeof(out2[0])) == 0, "tables differ");
	cr_assert_eq(crc, daxalloc_crc32c(0, model, (size_t)n * sizeof(model[0])),
		     "export's checksum 0x%08x is not the table's", crc);
	for (uint32_t i = 0; i < mn; i++)
		unnamed += !(model[i].flags & DXA_ENTRY_NAMED);
	cr_assert_eq(x.unnamed, unnamed, "unnamed: %u, model %u", x.unnamed, unnamed);
	for (uint64_t size = UNIT; size <= 64u * UNIT; size *= 2) {
		uint64_t w1 = 0, w2 = 0;
		uint32_t at;
		bool f1 = pix_best_fit(&x, size, &w1), f2 = model_fit(size, &w2, &at);

		cr_assert_eq(f1, f2, "size %llu: fit %d, model %d", (unsigned long long)size, f1, f2);
		cr_assert_eq(w1, w2, "size %llu: at 0x%llx, model 0x%llx", (unsigned long long)size,
			     (unsigned long long)w1, (unsigned long long)w2);
	}
	for (uint32_t i = 0; i < mn; i++) {
		uint32_t s = pix_find_offset(&x, model[i].offset);

		cr_assert_neq(s, PIX_NIL);
		cr_assert_eq(x.ent[s].offset, model[i].offset);
		if (model[i].flags & DXA_ENTRY_NAMED)
			cr_assert_eq(pix_find_name(&x, model[i].name), s);
		cr_assert_eq(pix_find_offset(&x, model[i].offset + UNIT) == PIX_NIL,
			     i + 1 == mn || model[i + 1].offset != model[i].offset + UNIT);
	}
}

static void random_name(char *name, size_t len)
{
	snprintf(name, len, "r%u", rnd() % 400);
}

Test(pool_index, agrees_with_a_scanned_table)
{
	cr_assert_eq(pix_init(&x, CAP), 0);
	pix_build(&x, model, 0, START, END);
	for (int step = 0; step < 20000; step++) {
		uint32_t op = rnd() % 10;

		if (op < 5 && mn < CAP) {
			struct dxa_entry e = { 0 };
			uint64_t where;
			uint32_t at;

			e.length = (uint64_t)(1 + rnd() % (rnd() % 4 ? 4 : 40)) * UNIT;
			if (!model_fit(e.length, &where, &at))
				continue;
			e.offset = where;
			e.created = (uint64_t)step;
			if (rnd() % 2) {
				e.flags = DXA_ENTRY_NAMED;
				random_name(e.name, sizeof(e.name));
				if (model_name(e.name) >= 0)
					continue;
			}
			pix_insert(&x, &e);
			memmove(&model[at + 1], &model[at], (size_t)(mn - at) * sizeof(e));
			model[at] = e;
			mn++;
		} else if (op < 9 && mn) {
			uint32_t i = rnd() % mn;

			pix_remove(&x, pix_find_offset(&x, model[i].offset));
			memmove(&model[i], &model[i + 1], (size_t)(mn - i - 1) * sizeof(model[0]));
			mn--;
		} else if (mn) {
			uint32_t i = rnd() % mn;
			struct dxa_entry e = model[i];

			/* a rename, or a reservation given its name */
			e.flags = DXA_ENTRY_NAMED;
			memset(e.name, 0, sizeof(e.name));
			random_name(e.name, sizeof(e.name));
			if (model_name(e.name) >= 0)
				continue;
			pix_update(&x, pix_find_offset(&x, e.offset), &e);
			model[i] = e;
		}
		if (step % 7 == 0)
			agree();
		if (step % 1000 == 999) {
			/* a reload: rebuilt from the table, the same answers */
			pix_build(&x, model, mn, START, END);
			agree();
		} else if (step % 1000 == 499) {
			/* the same, the table's array taken over as the index's own */
			struct dxa_entry *t = big_reserve(CAP, sizeof(*t));

			cr_assert(t);
			memcpy(t, model, (size_t)mn * sizeof(*t));
			pix_build_take(&x, &t, mn, START, END);
			big_release(t, CAP, sizeof(*t));
			agree();
		}
	}
	agree();
	pix_fini(&x);
}

Test(pool_index, names_gone_are_not_found)
{
	struct dxa_entry e = { .offset = START, .length = UNIT, .flags = DXA_ENTRY_NAMED };
	uint64_t where;

	cr_assert_eq(pix_init(&x, 4), 0);
	pix_build(&x, NULL, 0, START, START + 4u * UNIT);
	snprintf(e.name, sizeof(e.name), "a");
	pix_insert(&x, &e);
	cr_assert_neq(pix_find_name(&x, "a"), PIX_NIL);
	e.flags = 0;
	memset(e.name, 0, sizeof(e.name));
	pix_update(&x, pix_find_offset(&x, START), &e);
	cr_assert_eq(pix_find_name(&x, "a"), PIX_NIL);
	cr_assert_eq(pix_find_name(&x, ""), PIX_NIL, "unnamed entries are not in the name hash");
	cr_assert(pix_best_fit(&x, 3u * UNIT, &where));
	cr_assert_eq(where, START + UNIT);
	cr_assert(!pix_best_fit(&x, 4u * UNIT, &where));
	pix_remove(&x, pix_find_offset(&x, START));
	cr_assert(pix_best_fit(&x, 4u * UNIT, &where), "freed extents merge with their neighbours");
	cr_assert_eq(where, START);
	pix_fini(&x);
}
