/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * In-memory indexes of a pool's regions, so that what an alloc, a free, an
 * open by name or a rename costs does not grow with the regions held:
 * entries at stable slots, ordered by offset (a treap), named ones in a
 * hash, and the free extents ordered by (length, offset) for best fit.
 * Built from the table at load, kept in step with every change after.
 */
#ifndef DAXALLOC_POOL_INDEX_H
#define DAXALLOC_POOL_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "bigmem.h"
#include "metadata.h"

#define PIX_NIL UINT32_MAX

/* A treap node, in an array, linked by index: key (k1, k2). */
struct pix_node {
	uint64_t k1, k2;
	uint32_t l, r, pri;
};

struct pool_index {
	uint32_t cap; /* entries it holds at most */
	uint32_t n;
	uint32_t unnamed; /* of them without a name: what orphan reclaim looks at */
	bool valid;       /* mirrors the pool's state */
	uint64_t data_start, data_end;
	struct dxa_entry *ent; /* by slot */
	struct pix_node *on;   /* by slot: the entries by offset */
	uint32_t oroot, efree; /* efree: freed slots, linked by on[].l */
	uint32_t etop;         /* slots above it never used since the last build */
	struct pix_node *gn;   /* free extents by (length, offset): cap + 1 nodes */
	uint32_t groot, gfree, gtop;
	uint32_t *hhead, *hnext, hmask; /* named entries by name: sized by n, not cap */
	uint32_t rnd;
};

/*
 * Room for @cap entries.  The arrays are only reserved (big_reserve()):
 * what a build or a change costs follows the entries held, not @cap.
 */
int pix_init(struct pool_index *x, uint32_t cap);
void pix_fini(struct pool_index *x);
/* Rebuild from a valid table (sorted by offset, not overlapping, inside the data area). */
void pix_build(struct pool_index *x, const struct dxa_entry *ents, uint32_t n, uint64_t data_start,
	       uint64_t data_end);
/* The same, taking @ents (cap entries, from big_reserve()) as its own and giving back its old array. */
void pix_build_take(struct pool_index *x, struct dxa_entry **ents, uint32_t n, uint64_t data_start,
		    uint64_t data_end);
/* Slot of the region named @name, of the entry at @offset, or PIX_NIL. */
uint32_t pix_find_name(const struct pool_index *x, const char *name);
uint32_t pix_find_offset(const struct pool_index *x, uint64_t offset);
/* The first entry at @offset or above, in offset order; PIX_NIL past the last. */
uint32_t pix_next(const struct pool_index *x, uint64_t offset);
/* Smallest free extent of at least @size bytes, lowest offset on ties. */
bool pix_best_fit(const struct pool_index *x, uint64_t size, uint64_t *where);
/* Add @e (inside a free extent; n < cap); returns its slot. */
uint32_t pix_insert(struct pool_index *x, const struct dxa_entry *e);
void pix_remove(struct pool_index *x, uint32_t slot);
/* Replace the entry at @slot by @e, same offset and length (a name given or changed). */
void pix_update(struct pool_index *x, uint32_t slot, const struct dxa_entry *e);
/* The entries in offset order into @out; returns how many. */
uint32_t pix_export(const struct pool_index *x, struct dxa_entry *out);
/* The same, with the CRC-32C of what it wrote in *@crc, taken from the index, not read back from @out. */
uint32_t pix_export_crc(const struct pool_index *x, struct dxa_entry *out, uint32_t *crc);

#endif
