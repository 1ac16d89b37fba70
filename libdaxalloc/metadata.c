// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Validation of the on-device format.  Everything read from the device is
 * hostile until checked: every bound is checked before it is used.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bigmem.h"
#include "metadata.h"
#include "private.h"

uint64_t dxa_meta_size(uint64_t unit)
{
	uint64_t need = DXA_META_MIN > DXA_META_USED ? DXA_META_MIN : DXA_META_USED;

	return (need + unit - 1) / unit * unit;
}

uint32_t dxa_capacity_for(uint64_t dev_size, uint64_t unit)
{
	uint64_t meta = dxa_meta_size(unit);
	uint64_t units = dev_size > meta ? (dev_size - meta) / unit : 0;

	if (units <= DXA_MAX_ENTRIES)
		return DXA_MAX_ENTRIES;
	return units < DXA_CAPACITY_LIMIT ? (uint32_t)units : DXA_CAPACITY_LIMIT;
}

void dxa_layout(uint32_t table_max, uint64_t unit, struct dxa_layout *l)
{
	uint64_t tlen = (uint64_t)table_max * DXA_ENTRY_SIZE;

	if (table_max <= DXA_MAX_ENTRIES) {
		l->table_offset[0] = dxa_table_offset(0);
		l->table_offset[1] = dxa_table_offset(1);
		l->journal_offset = DXA_JOURNAL_OFFSET;
		l->journal_cells = DXA_JOURNAL_CELLS;
		l->meta_size = dxa_meta_size(unit);
		return;
	}
	/* Past the lock area, which stays where every version looks for it. */
	l->table_offset[0] = DXA_BIG_TABLE_OFFSET;
	l->table_offset[1] = DXA_BIG_TABLE_OFFSET + tlen;
	l->journal_offset = DXA_BIG_TABLE_OFFSET + 2 * tlen;
	l->journal_cells = table_max / 4;
	if (l->journal_cells < DXA_BIG_JOURNAL_MIN)
		l->journal_cells = DXA_BIG_JOURNAL_MIN;
	if (l->journal_cells > DXA_BIG_JOURNAL_MAX)
		l->journal_cells = DXA_BIG_JOURNAL_MAX;
	l->meta_size = l->journal_offset + (uint64_t)l->journal_cells * DXA_JCELL_SIZE;
	l->meta_size = (l->meta_size + unit - 1) / unit * unit;
}

uint32_t dxa_hdr_crc(const struct dxa_hdr *hdr)
{
	return daxalloc_crc32c(0, hdr, offsetof(struct dxa_hdr, hdr_crc));
}

static bool name_char_ok(char c)
{
	/* a table: every name of every table is checked at open */
	static const bool ok[256] = {
		['a' ... 'z'] = true, ['A' ... 'Z'] = true, ['0' ... '9'] = true,
		['.'] = true,         ['_'] = true,         ['-'] = true,
		[':'] = true,         ['@'] = true,         ['+'] = true,
	};

	return ok[(unsigned char)c];
}

void dxa_name_put(char *dst, size_t size, const char *name)
{
	size_t n = strnlen(name, size - 1);

	memcpy(dst, name, n);
	memset(dst + n, 0, size - n);
}

int dxa_name_check(const char *name, char *why, size_t whylen)
{
	size_t n;

	if (!name || !*name) {
		snprintf(why, whylen, "a region name must not be empty");
		return -EINVAL;
	}
	n = strnlen(name, DXA_NAME_MAX + 1);
	if (n > DXA_NAME_MAX) {
		snprintf(why, whylen, "region name is longer than %u characters", DXA_NAME_MAX);
		return -ENAMETOOLONG;
	}
	if (name[0] == '-' || name[0] == '.') {
		snprintf(why, whylen, "region name '%s' must not start with '%c'", name, name[0]);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (!name_char_ok(name[i])) {
			unsigned char c = (unsigned char)name[i];

			if (c < 0x20 || c == 0x7f)
				snprintf(why, whylen,
					 "region name has a control character (0x%02x) at position %zu",
					 c, i);
			else
				snprintf(why, whylen,
					 "region name has '%c' at position %zu; allowed: letters, digits and . _ - : @ +",
					 c, i);
			return -EINVAL;
		}
	return 0;
}

/* clang-format off */
#define FAIL(err, ...)                                  \
	do {                                            \
		snprintf(why, whylen, __VA_ARGS__);     \
		return -(err);                          \
	} while (0)
/* clang-format on */

int dxa_hdr_validate(const struct dxa_hdr *hdr, int slot, const struct dxa_geometry *geo, char *why,
		     size_t whylen)
{
	bool grows = hdr->version_major > 2 || (hdr->version_major == 2 && hdr->version_minor >= 1);
	struct dxa_layout l;

	if (memcmp(hdr->magic, DXA_MAGIC, sizeof(hdr->magic)) != 0)
		FAIL(ENODATA, "copy %d: no pool signature", slot);
	if (dxa_hdr_crc(hdr) != hdr->hdr_crc)
		FAIL(EUCLEAN, "copy %d: header checksum mismatch", slot);
	if (hdr->version_major > DXA_VERSION_MAJOR || hdr->version_major < DXA_VERSION_OLDEST)
		FAIL(EPROTONOSUPPORT,
		     "copy %d: format version %u.%u, this library reads %u.x to %u.x", slot,
		     hdr->version_major, hdr->version_minor, DXA_VERSION_OLDEST, DXA_VERSION_MAJOR);
	if (hdr->seq >= DXA_SEQ_LIMIT)
		FAIL(EUCLEAN,
		     "copy %d: sequence number %llu is impossible (2^63 or more updates): the header was altered",
		     slot, (unsigned long long)hdr->seq);
	if (hdr->unit != geo->unit)
		FAIL(EXDEV,
		     "copy %d: pool was formatted with %llu-byte units, the device alignment is now %llu",
		     slot, (unsigned long long)hdr->unit, (unsigned long long)geo->unit);
	if (hdr->dev_size != geo->dev_size)
		FAIL(EXDEV,
		     "copy %d: pool was formatted on a %llu-byte device, it now has %llu bytes",
		     slot, (unsigned long long)hdr->dev_size, (unsigned long long)geo->dev_size);
	/* 2,048 entries, or (2.1) what the device gave at format: nothing else is written. */
	if ((hdr->table_max != DXA_MAX_ENTRIES &&
	     (!grows || hdr->table_max != dxa_capacity_for(hdr->dev_size, hdr->unit))) ||
	    hdr->nentries > hdr->table_max)
		FAIL(EUCLEAN, "copy %d: %u entries in a table of %u", slot, hdr->nentries,
		     hdr->table_max);
	if (hdr->table_max > dxa_geo_cap(geo))
		FAIL(ENOMEM, "copy %d: a table of %u entries; this reader holds %u", slot,
		     hdr->table_max, dxa_geo_cap(geo));
	dxa_layout(hdr->table_max, hdr->unit, &l);
	if (hdr->data_start != l.meta_size)
		FAIL(EUCLEAN, "copy %d: data starts at 0x%llx, expected 0x%llx", slot,
		     (unsigned long long)hdr->data_start, (unsigned long long)l.meta_size);
	if (hdr->table_offset != l.table_offset[slot])
		FAIL(EUCLEAN, "copy %d: table at 0x%llx, expected 0x%llx", slot,
		     (unsigned long long)hdr->table_offset, (unsigned long long)l.table_offset[slot]);
	if (hdr->version_major >= 2 &&
	    (hdr->journal_offset != l.journal_offset || hdr->journal_cells != l.journal_cells ||
	     hdr->journal_rec != DXA_JREC_SIZE))
		FAIL(EUCLEAN,
		     "copy %d: journal of %u records of %u bytes at 0x%llx, expected %u of %u at 0x%llx",
		     slot, hdr->journal_cells, hdr->journal_rec,
		     (unsigned long long)hdr->journal_offset, l.journal_cells, DXA_JREC_SIZE,
		     (unsigned long long)l.journal_offset);
	return 0;
}

int dxa_entry_validate(const struct dxa_entry *x, uint32_t i, int slot, uint64_t prev_end,
		       const struct dxa_geometry *geo, char *why, size_t whylen)
{
	char w2[128];

	if (x->length == 0 || x->offset % geo->unit || x->length % geo->unit)
		FAIL(EUCLEAN, "copy %d: region %u [0x%llx, +0x%llx) is not unit-aligned", slot, i,
		     (unsigned long long)x->offset, (unsigned long long)x->length);
	if (x->offset < prev_end)
		FAIL(EUCLEAN, "copy %d: region %u at 0x%llx overlaps or is out of order", slot, i,
		     (unsigned long long)x->offset);
	if (x->offset > geo->dev_size || x->length > geo->dev_size - x->offset)
		FAIL(EUCLEAN, "copy %d: region %u [0x%llx, +0x%llx) runs past the device", slot, i,
		     (unsigned long long)x->offset, (unsigned long long)x->length);
	if (x->flags & ~DXA_ENTRY_KNOWN_FLAGS)
		FAIL(EUCLEAN, "copy %d: region %u has unknown flags 0x%x", slot, i, x->flags);
	if (memchr(x->name, '\0', sizeof(x->name)) == NULL)
		FAIL(EUCLEAN, "copy %d: region %u name is not terminated", slot, i);
	if (x->flags & DXA_ENTRY_NAMED) {
		if (dxa_name_check(x->name, w2, sizeof(w2)) < 0)
			FAIL(EUCLEAN, "copy %d: region %u: %s", slot, i, w2);
	} else if (x->name[0]) {
		FAIL(EUCLEAN, "copy %d: unnamed region %u carries a name", slot, i);
	}
	return 0;
}

/*
 * The names of a table seen so far, so that telling whether a name repeats
 * does not compare every pair: open addressing, each slot the name's hash
 * (high half, so that most mismatches need no string compare) and its
 * entry number + 1.  Without memory for it, every pair is compared.
 */
struct name_set {
	const struct dxa_entry *e;
	uint64_t *slot;
	uint32_t mask, n;
};

static void names_init(struct name_set *s, const struct dxa_entry *e, uint32_t n)
{
	uint32_t size = 16;

	while (size < 2 * n)
		size *= 2;
	s->e = e;
	s->n = 0;
	s->mask = size - 1;
	s->slot = big_reserve(size, sizeof(*s->slot));
	if (s->slot) /* filled all over, by hash */
		big_hint(s->slot, size * sizeof(*s->slot), size * sizeof(*s->slot));
}

static void names_free(struct name_set *s)
{
	if (s->slot)
		big_release(s->slot, (size_t)s->mask + 1, sizeof(*s->slot));
	s->slot = NULL;
}

uint32_t dxa_name_hash(const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	while (*name)
		h = (h ^ (uint8_t)*name++) * 16777619u;
	return h;
}

/* The entry holding @name (hash @h), or -1. */
static int64_t names_find(const struct name_set *s, const char *name, uint32_t h)
{
	for (uint32_t i = h & s->mask; s->slot[i]; i = (i + 1) & s->mask) {
		uint32_t at = (uint32_t)s->slot[i] - 1;

		if ((uint32_t)(s->slot[i] >> 32) == h && strcmp(s->e[at].name, name) == 0)
			return at;
	}
	return -1;
}

/*
 * The slot where entry @i's name will be looked for, fetched into the cache
 * a few entries ahead: names hash all over a set of megabytes, and waiting
 * for each slot in turn was most of the check of a large table.
 */
#define NAMES_AHEAD 8

static void names_prefetch(const struct name_set *s, uint32_t i)
{
	if (s->slot && (s->e[i].flags & DXA_ENTRY_NAMED))
		__builtin_prefetch(&s->slot[dxa_name_hash(s->e[i].name) & s->mask], 1);
}

/* Add entry @i's name; false when an earlier entry has it. */
static bool names_add(struct name_set *s, uint32_t i)
{
	const char *name = s->e[i].name;
	uint32_t h, k;

	if (!s->slot) {
		for (uint32_t j = 0; j < i; j++)
			if ((s->e[j].flags & DXA_ENTRY_NAMED) && strcmp(s->e[j].name, name) == 0)
				return false;
		return true;
	}
	h = dxa_name_hash(name);
	if (names_find(s, name, h) >= 0)
		return false;
	for (k = h & s->mask; s->slot[k]; k = (k + 1) & s->mask)
		;
	s->slot[k] = (uint64_t)h << 32 | (i + 1);
	s->n++;
	return true;
}

/* dxa_table_validate(), the names of a valid table kept in @keep (free its slot) if asked. */
static int table_validate(const struct dxa_hdr *hdr, const void *table, int slot,
			  const struct dxa_geometry *geo, char *why, size_t whylen,
			  struct name_set *keep)
{
	const struct dxa_entry *e = table;
	struct name_set names;
	uint64_t prev_end;
	int rc = 0;

	if (daxalloc_crc32c(0, table, (size_t)hdr->nentries * DXA_ENTRY_SIZE) != hdr->table_crc)
		FAIL(EUCLEAN, "copy %d: region table checksum mismatch", slot);
	names_init(&names, e, hdr->nentries);
	prev_end = hdr->data_start;
	for (uint32_t i = 0; i < hdr->nentries && rc == 0; i++) {
		const struct dxa_entry *x = &e[i];

		if (i + NAMES_AHEAD < hdr->nentries)
			names_prefetch(&names, i + NAMES_AHEAD);

		rc = dxa_entry_validate(x, i, slot, prev_end, geo, why, whylen);
		if (rc == 0 && (x->flags & DXA_ENTRY_NAMED) && !names_add(&names, i)) {
			snprintf(why, whylen, "copy %d: region name '%s' appears twice", slot,
				 x->name);
			rc = -EUCLEAN;
		}
		prev_end = x->offset + x->length;
	}
	if (keep && rc == 0 && names.slot)
		*keep = names;
	else
		names_free(&names);
	return rc;
}

int dxa_table_validate(const struct dxa_hdr *hdr, const void *table, int slot,
		       const struct dxa_geometry *geo, char *why, size_t whylen)
{
	return table_validate(hdr, table, slot, geo, why, whylen, NULL);
}

int dxa_slot_validate(const struct dxa_hdr *hdr, const void *table, int slot,
		      const struct dxa_geometry *geo, char *why, size_t whylen)
{
	int rc = dxa_hdr_validate(hdr, slot, geo, why, whylen);

	return rc < 0 ? rc : dxa_table_validate(hdr, table, slot, geo, why, whylen);
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	/* zero first, and each byte the same as the next: memcmp's pace, not a byte loop's */
	return !n || (!c[0] && memcmp(c, c + 1, n - 1) == 0);
}

uint32_t dxa_jrec_crc(const struct dxa_jrec *r)
{
	return daxalloc_crc32c(0, r, offsetof(struct dxa_jrec, crc));
}

void dxa_jrec_make(struct dxa_jrec *r, const struct dxa_hdr *h, uint32_t cell, enum dxa_jop op,
		   const struct dxa_entry *e)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->magic, DXA_JREC_MAGIC, sizeof(r->magic));
	r->op = op;
	memcpy(r->uuid, h->uuid, sizeof(r->uuid));
	r->base = h->seq;
	r->seq = h->seq + 1 + cell;
	r->e = *e;
	r->crc = dxa_jrec_crc(r);
}

enum jcopy { JC_VALID, JC_UNWRITTEN, JC_BAD };

/* One copy of a record: this checkpoint's record for @cell, never written since, or neither. */
static enum jcopy jcopy_judge(const struct dxa_jrec *r, int io, const struct dxa_hdr *h, uint32_t cell)
{
	if (io < 0)
		return JC_BAD;
	if (all_zero(r, sizeof(*r)))
		return JC_UNWRITTEN;
	if (memcmp(r->magic, DXA_JREC_MAGIC, sizeof(r->magic)) != 0 || dxa_jrec_crc(r) != r->crc)
		return JC_BAD;
	/* Intact: of this pool and checkpoint, or left from an older one (or an older pool). */
	if (memcmp(r->uuid, h->uuid, sizeof(r->uuid)) != 0 || r->base != h->seq)
		return r->base < h->seq || memcmp(r->uuid, h->uuid, sizeof(r->uuid)) != 0 ?
			       JC_UNWRITTEN :
			       JC_BAD;
	return r->seq == h->seq + 1 + cell ? JC_VALID : JC_BAD;
}

bool dxa_jrec_clean(const struct dxa_jrec *r, const struct dxa_hdr *h, uint32_t cell)
{
	return jcopy_judge(r, 0, h, cell) == JC_UNWRITTEN;
}

/* The first entry at or after @offset. */
static uint32_t tab_lower(const struct dxa_entry *tab, uint32_t n, uint64_t offset)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (tab[mid].offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The names of a table under replay: the offset of the entry holding each,
 * so that a record's name is checked against the others without a scan.
 * The names stay in the table (it moves as records apply); a slot holds
 * an offset, 0 when free, 1 when removed (the metadata lies there, no
 * entry).  Built at the first named record; without memory, a scan.
 */
struct name_map {
	uint64_t *slot;
	uint32_t mask;
	bool built;
};

static void nmap_add(struct name_map *m, const char *name, uint64_t offset)
{
	uint32_t i = dxa_name_hash(name) & m->mask;

	while (m->slot[i] > 1)
		i = (i + 1) & m->mask;
	m->slot[i] = offset;
}

static void nmap_del(struct name_map *m, const char *name, uint64_t offset)
{
	for (uint32_t i = dxa_name_hash(name) & m->mask; m->slot[i]; i = (i + 1) & m->mask)
		if (m->slot[i] == offset) {
			m->slot[i] = 1;
			return;
		}
}

/* @more: records that may still add a name; slots stay at least half free. */
static void nmap_build(struct name_map *m, const struct dxa_entry *tab, uint32_t n, uint32_t more)
{
	uint32_t size = 16;

	m->built = true;
	while (size < 2 * (n + more))
		size *= 2;
	m->mask = size - 1;
	m->slot = calloc(size, sizeof(*m->slot));
	for (uint32_t i = 0; m->slot && i < n; i++)
		if (tab[i].flags & DXA_ENTRY_NAMED)
			nmap_add(m, tab[i].name, tab[i].offset);
}

/* Does an entry other than the one at @at hold @name? */
static bool name_taken(const struct name_map *m, const struct dxa_entry *tab, uint32_t n,
		       uint32_t at, const char *name)
{
	if (!m->slot) {
		for (uint32_t j = 0; j < n; j++)
			if (j != at && (tab[j].flags & DXA_ENTRY_NAMED) &&
			    strcmp(tab[j].name, name) == 0)
				return true;
		return false;
	}
	for (uint32_t i = dxa_name_hash(name) & m->mask; m->slot[i]; i = (i + 1) & m->mask) {
		uint32_t j;

		if (m->slot[i] == 1)
			continue;
		j = tab_lower(tab, n, m->slot[i]);
		if (j != at && j < n && tab[j].offset == m->slot[i] && strcmp(tab[j].name, name) == 0)
			return true;
	}
	return false;
}

/* Apply one record to the table; 0, or -EUCLEAN when it does not fit the state. */
static int jrec_apply(const struct dxa_jrec *r, const struct dxa_geometry *geo,
		      const struct dxa_hdr *h, struct dxa_entry *tab, uint32_t *n, uint32_t cell,
		      struct name_map *m, char *why, size_t whylen)
{
	const struct dxa_entry *e = &r->e;
	uint32_t at = tab_lower(tab, *n, e->offset);
	uint64_t prev_end;
	char w[128];

	if (r->op == DXA_JOP_DEL) {
		if (at == *n || tab[at].offset != e->offset || tab[at].length != e->length)
			FAIL(EUCLEAN,
			     "journal record %u (sequence %llu) removes a region the state does not hold (0x%llx)",
			     cell, (unsigned long long)r->seq, (unsigned long long)e->offset);
		if (m->slot && (tab[at].flags & DXA_ENTRY_NAMED))
			nmap_del(m, tab[at].name, tab[at].offset);
		memmove(&tab[at], &tab[at + 1], (size_t)(*n - at - 1) * sizeof(*tab));
		(*n)--;
		return 0;
	}
	if (r->op != DXA_JOP_PUT)
		FAIL(EUCLEAN, "journal record %u (sequence %llu) has unknown operation %u", cell,
		     (unsigned long long)r->seq, r->op);
	prev_end = at ? tab[at - 1].offset + tab[at - 1].length : h->data_start;
	if (dxa_entry_validate(e, at, 0, prev_end, geo, w, sizeof(w)) < 0)
		FAIL(EUCLEAN, "journal record %u (sequence %llu): %s", cell,
		     (unsigned long long)r->seq, w + (strncmp(w, "copy 0: ", 8) == 0 ? 8 : 0));
	{
		bool replace = at < *n && tab[at].offset == e->offset;
		uint32_t next = at + (replace ? 1 : 0);

		if (next < *n && e->offset + e->length > tab[next].offset)
			FAIL(EUCLEAN,
			     "journal record %u (sequence %llu): region at 0x%llx overlaps the next",
			     cell, (unsigned long long)r->seq, (unsigned long long)e->offset);
		if ((e->flags & DXA_ENTRY_NAMED) && !m->built)
			nmap_build(m, tab, *n, h->journal_cells - cell);
		if ((e->flags & DXA_ENTRY_NAMED) && name_taken(m, tab, *n, replace ? at : *n, e->name))
			FAIL(EUCLEAN,
			     "journal record %u (sequence %llu): region name '%s' appears twice",
			     cell, (unsigned long long)r->seq, e->name);
		if (m->slot && replace && (tab[at].flags & DXA_ENTRY_NAMED))
			nmap_del(m, tab[at].name, tab[at].offset);
		if (!replace) {
			if (*n >= h->table_max)
				FAIL(EUCLEAN,
				     "journal record %u (sequence %llu): more than %u regions",
				     cell, (unsigned long long)r->seq, h->table_max);
			memmove(&tab[at + 1], &tab[at], (size_t)(*n - at) * sizeof(*tab));
			(*n)++;
		}
		tab[at] = *e;
		if (m->slot && (e->flags & DXA_ENTRY_NAMED))
			nmap_add(m, e->name, e->offset);
	}
	return 0;
}

/*
 * Read the record of @cell: 1 with the copy to use in *@use, 0 at the end
 * of the records, or -errno with @why when both copies are damaged.
 */
static int jrec_read(const struct dxa_hdr *h, dxa_read_fn rd, void *arg, uint32_t cell,
		     struct dxa_jrec r[2], int *use, uint32_t *repaired, char *why, size_t whylen)
{
	enum jcopy j[2];
	int io[2];

	/* the second copy matters only when the first is not valid */
	for (int k = 0; k < 2; k++) {
		io[k] = rd(arg, dxa_jrec_at(h, cell, k), &r[k], sizeof(r[k]));
		j[k] = jcopy_judge(&r[k], io[k], h, cell);
		if (k == 0 && j[0] == JC_VALID) {
			*use = 0;
			return 1;
		}
	}
	if (j[1] == JC_VALID) {
		*use = 1;
		(*repaired)++;
		return 1;
	}
	/*
	 * Nothing of this checkpoint's here (whatever the second copy holds
	 * from before), or an append cut short in its first copy: the end.
	 * An append makes its second copy clean first.
	 */
	if (j[0] == JC_UNWRITTEN || j[1] == JC_UNWRITTEN)
		return 0;
	if (io[0] < 0 && io[1] < 0)
		FAIL(EIO,
		     "journal record %u (sequence %llu, bytes 0x%llx-0x%llx) is unreadable in both copies (media error): that change and any after it are lost",
		     cell, (unsigned long long)(h->seq + 1 + cell),
		     (unsigned long long)dxa_jrec_at(h, cell, 0),
		     (unsigned long long)dxa_jrec_at(h, cell, 1) + DXA_JREC_SIZE - 1);
	FAIL(EUCLEAN,
	     "journal record %u (sequence %llu) is damaged in both copies: that change and any after it are lost",
	     cell, (unsigned long long)(h->seq + 1 + cell));
}

/* Record by record, each checked against the state it follows: the rules' reference. */
static int replay_exact(const struct dxa_hdr *h, const struct dxa_geometry *geo, dxa_read_fn rd,
			void *arg, struct dxa_entry *tab, uint32_t *n, uint32_t from,
			uint32_t *used, uint32_t *repaired, char *why, size_t whylen)
{
	struct name_map m = { 0 };
	uint32_t cell;
	int rc = 0;

	for (cell = from; cell < h->journal_cells; cell++) {
		struct dxa_jrec r[2];
		int use;

		rc = jrec_read(h, rd, arg, cell, r, &use, repaired, why, whylen);
		if (rc <= 0)
			break;
		rc = jrec_apply(&r[use], geo, h, tab, n, cell, &m, why, whylen);
		if (rc < 0)
			break;
	}
	*used = cell;
	free(m.slot);
	return rc;
}

/*
 * The same result without moving the table for every record: the last
 * record for each offset, kept in a hash, then merged into the table once
 * and the outcome checked as a whole.  The checks per record that need no
 * neighbours (a removal of what is not there, an entry invalid on its
 * own, too many regions) are made as records come; overlaps and repeated
 * names in the end.  Anything wrong, and the exact replay runs instead
 * on the untouched table to say which record and how.
 */
#define JBATCH 64u /* journal cells read at once (both copies: 32 KiB) */

/* A record read, in the order read. */
struct jput {
	struct dxa_entry e;
	uint32_t order;
	bool del;
};

static int jput_cmp(const void *a, const void *b)
{
	const struct jput *x = a, *y = b;

	if (x->e.offset != y->e.offset)
		return x->e.offset < y->e.offset ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * The same result as record by record without moving the table for each
 * record: the records sorted by offset (then order), each offset's chain
 * checked against what the table holds there, the entries they leave
 * merged into the table in place once, the outcome checked where it
 * changed (neighbours of new entries; their names against all others).
 * Anything wrong, and the exact replay runs on the untouched table to say
 * which record and how.  Returns 0 with the table replaced, 1 when the
 * exact replay must decide, -ENOMEM.
 */
/* Does a record of @rec (sorted by offset) touch @offset? */
static bool rec_touches(const struct jput *rec, uint32_t nrec, uint64_t offset)
{
	uint32_t lo = 0, hi = nrec;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (rec[mid].e.offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nrec && rec[lo].e.offset == offset;
}

/* @base: the names of @tab as validated, or NULL (then every name is hashed here). */
static int replay_fast(const struct dxa_hdr *h, const struct dxa_geometry *geo, dxa_read_fn rd,
		       void *arg, struct dxa_entry *tab, uint32_t *n, uint32_t from, uint32_t *used,
		       uint32_t *repaired, const struct name_set *base)
{
	uint32_t cells = h->journal_cells > from ? h->journal_cells - from : 0;
	uint32_t nrec = 0, nput = 0, cur = *n, kept = 0, cell, i, k, w, bfrom = 0, bn = 0, rcap;
	struct dxa_jrec *batch = NULL;
	bool bok = false;
	struct jput *rec = NULL;
	struct dxa_entry *put = NULL;
	struct name_set names = { 0 }, own = { 0 };
	uint64_t prev_end;
	char w2[300];
	int rc = 1;

	/* Room for what is there, not for the journal: a reload often finds one new record. */
	rcap = cells < JBATCH ? (cells ? cells : 1) : JBATCH;
	rec = big_reserve(rcap, sizeof(*rec));
	batch = malloc(2 * JBATCH * sizeof(*batch));
	if (!rec || !batch) {
		big_release(rec, rcap, sizeof(*rec));
		free(batch);
		return -ENOMEM;
	}
	for (cell = from; cell < h->journal_cells; cell++) {
		struct dxa_jrec r[2];
		int use = 0, got;

		/*
		 * Cells read JBATCH at a time.  A cell whose first copy is not
		 * valid, or of a batch with an unreadable line, is read on its own.
		 */
		if (cell >= bfrom + bn) {
			bfrom = cell;
			bn = h->journal_cells - cell < JBATCH ? h->journal_cells - cell : JBATCH;
			bok = rd(arg, dxa_jrec_at(h, cell, 0), batch, (size_t)bn * DXA_JCELL_SIZE) ==
			      0;
		}
		if (bok && jcopy_judge(&batch[2 * (cell - bfrom)], 0, h, cell) == JC_VALID) {
			r[0] = batch[2 * (cell - bfrom)];
			got = 1;
		} else {
			got = jrec_read(h, rd, arg, cell, r, &use, repaired, w2, sizeof(w2));
		}
		if (got < 0)
			goto out;
		if (got == 0)
			break;
		if (r[use].e.offset == 0 || (r[use].op != DXA_JOP_PUT && r[use].op != DXA_JOP_DEL))
			goto out;
		if (r[use].op == DXA_JOP_PUT &&
		    dxa_entry_validate(&r[use].e, 0, 0, h->data_start, geo, w2, sizeof(w2)) < 0)
			goto out;
		if (nrec == rcap) {
			struct jput *more = big_grow(rec, rcap, (size_t)rcap * 2, sizeof(*rec));

			if (!more) {
				rc = -ENOMEM;
				goto out;
			}
			rec = more;
			rcap *= 2;
		}
		rec[nrec].e = r[use].e;
		rec[nrec].order = nrec;
		rec[nrec].del = r[use].op == DXA_JOP_DEL;
		nrec++;
	}
	*used = cell;
	if (nrec == 0) {
		rc = 0;
		goto out;
	}
	qsort(rec, nrec, sizeof(*rec), jput_cmp);
	put = big_reserve(nrec, sizeof(*put));
	if (put)
		big_hint(put, (size_t)nrec * sizeof(*put), (size_t)nrec * sizeof(*put));
	if (!put) {
		rc = -ENOMEM;
		goto out;
	}
	/* Each offset's records in order, against what the table holds there (one pass). */
	for (i = 0, k = 0; i < nrec;) {
		uint64_t off = rec[i].e.offset;
		const struct dxa_entry *now;

		while (k < *n && tab[k].offset < off)
			k++;
		now = k < *n && tab[k].offset == off ? &tab[k] : NULL;
		for (; i < nrec && rec[i].e.offset == off; i++) {
			if (rec[i].del) {
				if (!now || now->length != rec[i].e.length)
					goto out;
				now = NULL;
				cur--;
			} else {
				cur += !now;
				now = &rec[i].e;
			}
		}
		if (now && now != &tab[k])
			put[nput++] = *now;
	}
	if (cur > h->table_max)
		goto out;
	/*
	 * Checked before anything moves (the exact replay needs the table
	 * untouched): the whole outcome in offset order, and the new names
	 * against each other and every name no record touched.
	 */
	names_init(&names, put, nput);
	if (!names.slot)
		goto out;
	if (!base || !base->slot) {
		/* the table's names, as validation would have kept them */
		names_init(&own, tab, *n);
		if (!own.slot)
			goto out;
		for (i = 0; i < *n; i++)
			if ((tab[i].flags & DXA_ENTRY_NAMED) && !names_add(&own, i))
				goto out;
		base = &own;
	}
	for (i = 0; i < nput; i++) {
		int64_t j;

		if (!(put[i].flags & DXA_ENTRY_NAMED))
			continue;
		if (!names_add(&names, i))
			goto out;
		/* a name the table holds at an offset no record touched */
		j = names_find(base, put[i].name, dxa_name_hash(put[i].name));
		if (j >= 0 && !rec_touches(rec, nrec, tab[j].offset))
			goto out;
	}
	prev_end = h->data_start;
	for (i = 0, k = 0, w = 0; i < *n || k < nput;) {
		const struct dxa_entry *e;

		/* skip what a record touched: the next record offset at or above it */
		while (w < nrec && i < *n && rec[w].e.offset < tab[i].offset)
			w++;
		if (i < *n && w < nrec && rec[w].e.offset == tab[i].offset) {
			i++;
			continue;
		}
		if (k < nput && (i == *n || put[k].offset < tab[i].offset)) {
			e = &put[k++];
		} else {
			e = &tab[i++];
			kept++;
		}
		if (e->offset < prev_end)
			goto out;
		prev_end = e->offset + e->length;
	}
	if (kept + nput != cur)
		goto out;
	/* Now in place: the untouched entries close up, then the new ones merge in from the end. */
	big_hint(tab, (size_t)cur * sizeof(*tab), (size_t)dxa_geo_cap(geo) * sizeof(*tab));
	for (i = 0, k = 0, w = 0; i < *n; i++) {
		while (w < nrec && rec[w].e.offset < tab[i].offset)
			w++;
		if (w < nrec && rec[w].e.offset == tab[i].offset)
			continue;
		tab[k++] = tab[i];
	}
	for (uint32_t t = cur, p = nput; p > 0;) {
		if (k > 0 && tab[k - 1].offset > put[p - 1].offset)
			tab[--t] = tab[--k];
		else
			tab[--t] = put[--p];
	}
	*n = cur;
	rc = 0;
out:
	names_free(&names);
	names_free(&own);
	free(batch);
	big_release(rec, rcap, sizeof(*rec));
	big_release(put, nrec, sizeof(*put));
	return rc;
}

bool dxa_test_replay_exact;

static int journal_replay(const struct dxa_hdr *h, const struct dxa_geometry *geo, dxa_read_fn rd,
			  void *arg, struct dxa_entry *tab, uint32_t *n, uint32_t from,
			  uint32_t *used, uint32_t *repaired, char *why, size_t whylen,
			  const struct name_set *base)
{
	uint32_t fixed = 0;

	if (!dxa_test_replay_exact &&
	    replay_fast(h, geo, rd, arg, tab, n, from, used, &fixed, base) == 0) {
		*repaired += fixed;
		return 0;
	}
	return replay_exact(h, geo, rd, arg, tab, n, from, used, repaired, why, whylen);
}

int dxa_journal_replay(const struct dxa_hdr *h, const struct dxa_geometry *geo, dxa_read_fn rd,
		       void *arg, struct dxa_entry *tab, uint32_t *n, uint32_t from, uint32_t *used,
		       uint32_t *repaired, char *why, size_t whylen)
{
	return journal_replay(h, geo, rd, arg, tab, n, from, used, repaired, why, whylen, NULL);
}

/* Read both header copies of @slot and pick the one in use. */
static void scan_slot(const struct dxa_geometry *geo, dxa_read_fn rd, void *arg, int slot,
		      struct dxa_copy *c)
{
	memset(c, 0, sizeof(*c));
	c->use = -1;
	for (int k = 0; k < 2; k++) {
		char w[140];
		int io = rd(arg, dxa_hdr_offset(slot, k), &c->raw[k], sizeof(c->raw[k]));

		c->hdr_blank[k] = !io && all_zero(&c->raw[k], sizeof(c->raw[k]));
		if (io < 0) {
			c->hdr_rc[k] = -EIO;
			snprintf(c->hdr_why[k], sizeof(c->hdr_why[k]),
				 "copy %d: header %d (bytes 0x%llx-0x%llx) is unreadable (media error)",
				 slot, k, (unsigned long long)dxa_hdr_offset(slot, k),
				 (unsigned long long)dxa_hdr_offset(slot, k) + sizeof(c->raw[k]) - 1);
			continue;
		}
		c->hdr_rc[k] = dxa_hdr_validate(&c->raw[k], slot, geo, w, sizeof(w));
		if (c->hdr_rc[k] < 0)
			snprintf(c->hdr_why[k], sizeof(c->hdr_why[k]), "%s%s", w,
				 k ? " (second header)" : "");
	}
	/* The valid copy with the higher sequence: copy 1 is written first. */
	if (c->hdr_rc[0] == 0 && (c->hdr_rc[1] != 0 || c->raw[0].seq >= c->raw[1].seq))
		c->use = 0;
	else if (c->hdr_rc[1] == 0)
		c->use = 1;
	if (c->use < 0) {
		if (c->hdr_blank[0] && c->hdr_blank[1])
			c->state = DXA_COPY_BLANK;
		else if (c->hdr_blank[1] && c->hdr_rc[0] != -EIO)
			c->state = DXA_COPY_LEGACY_DAMAGED;
		else
			c->state = DXA_COPY_DAMAGED;
		return;
	}
	c->hdr = c->raw[c->use];
	c->state = DXA_COPY_NOT_READ;
}

/* Read and check the table of a slot with a header in use. */
static void scan_table(const struct dxa_geometry *geo, dxa_read_fn rd, void *arg, int slot,
		       struct dxa_entry *tab, struct dxa_copy *c, struct name_set *names)
{
	c->table_rc = rd(arg, c->hdr.table_offset, tab, (size_t)c->hdr.nentries * DXA_ENTRY_SIZE);
	if (c->table_rc < 0)
		snprintf(c->table_why, sizeof(c->table_why),
			 "copy %d: region table (bytes 0x%llx-0x%llx) is unreadable (media error)",
			 slot, (unsigned long long)c->hdr.table_offset,
			 (unsigned long long)(c->hdr.table_offset +
					      (uint64_t)c->hdr.nentries * DXA_ENTRY_SIZE - 1));
	else
		c->table_rc = table_validate(&c->hdr, tab, slot, geo, c->table_why,
					     sizeof(c->table_why), names);
	c->state = c->table_rc == 0 ? DXA_COPY_VALID : DXA_COPY_STALE;
}

/* clang-format off */
#define SAY(err, ...)                                           \
	do {                                                    \
		snprintf(s->why, sizeof(s->why), __VA_ARGS__);  \
		return s->rc = -(err);                          \
	} while (0)
/* clang-format on */

/* @names: each slot's table's names, kept for the replay (the caller frees them). */
static int scan_in(const struct dxa_geometry *geo, dxa_read_fn rd, void *arg,
		   struct dxa_entry *tab[2], struct dxa_scan *s, bool both, struct name_set names[2])
{
	struct dxa_copy *c = s->c;
	bool signed_any = false;
	int n, o;

	memset(s, 0, sizeof(*s));
	s->newest = s->older = -1;
	for (int slot = 0; slot < 2; slot++)
		scan_slot(geo, rd, arg, slot, &c[slot]);
	/* The older table only for check: opening needs the newest alone. */
	for (int slot = 0; slot < 2; slot++)
		if (c[slot].use >= 0 &&
		    (both || c[!slot].use < 0 || c[slot].hdr.seq >= c[!slot].hdr.seq))
			scan_table(geo, rd, arg, slot, tab[slot], &c[slot], &names[slot]);
	for (int slot = 0; slot < 2; slot++)
		for (int k = 0; k < 2; k++) {
			signed_any |= c[slot].hdr_rc[k] != -ENODATA;
			if (c[slot].use == 0 && k == 1 && c[slot].hdr_blank[1])
				s->legacy = true;
		}
	if (!signed_any)
		SAY(ENODATA, "holds no pool");
	/* A newer format or a changed device, said by a header that passed its checksum. */
	for (int err = EPROTONOSUPPORT; err; err = err == EPROTONOSUPPORT ? EXDEV : 0)
		for (int slot = 0; slot < 2; slot++)
			for (int k = 0; k < 2; k++)
				if (c[slot].hdr_rc[k] == -err)
					SAY(err, "%s", c[slot].hdr_why[k]);
	if (c[0].use < 0 && c[1].use < 0) {
		if (c[0].state == DXA_COPY_BLANK || c[1].state == DXA_COPY_BLANK)
			SAY(EUCLEAN, "pool metadata is corrupt (%s; %s): an interrupted format?",
			    c[0].state == DXA_COPY_BLANK ? c[1].hdr_why[0] : c[0].hdr_why[0],
			    c[0].state == DXA_COPY_BLANK ? c[1].hdr_why[1] : c[0].hdr_why[1]);
		SAY(EUCLEAN, "pool metadata is corrupt (%.140s; %.140s; %.140s; %.140s)",
		    c[0].hdr_why[0], c[0].hdr_why[1], c[1].hdr_why[0], c[1].hdr_why[1]);
	}
	if (c[0].use >= 0 && c[1].use >= 0) {
		if (c[0].hdr.seq == c[1].hdr.seq) {
			s->newest = 0;
			s->older = 1;
			SAY(EUCLEAN, "both copies claim sequence number %llu: one was altered",
			    (unsigned long long)c[0].hdr.seq);
		}
		n = c[1].hdr.seq > c[0].hdr.seq;
		s->older = !n;
	} else {
		n = c[0].use >= 0 ? 0 : 1;
	}
	s->newest = n;
	o = !n;
	if (c[n].table_rc < 0) {
		if (s->older >= 0)
			SAY(EUCLEAN,
			    "the newest metadata (copy %d, sequence %llu) is damaged: %s; the older copy (sequence %llu) lacks the last change, so the pool is not opened",
			    n, (unsigned long long)c[n].hdr.seq, c[n].table_why,
			    (unsigned long long)c[o].hdr.seq);
		SAY(EUCLEAN,
		    "the newest metadata (copy %d, sequence %llu) is damaged: %s; the other copy %s",
		    n, (unsigned long long)c[n].hdr.seq, c[n].table_why,
		    c[o].state == DXA_COPY_BLANK ? "was never written" : "is unreadable too");
	}
	if (c[o].state == DXA_COPY_DAMAGED)
		SAY(EUCLEAN,
		    "copy %d has no readable header (%s; %s): it may hold a newer state than copy %d (sequence %llu), so the pool is not opened",
		    o, c[o].hdr_why[0], c[o].hdr_why[1], n, (unsigned long long)c[n].hdr.seq);
	s->n = c[n].hdr.nentries;
	s->seq = c[n].hdr.seq;
	if (c[n].hdr.version_major >= 2) {
		char w[300];
		int rc = journal_replay(&c[n].hdr, geo, rd, arg, tab[n], &s->n, 0, &s->jused,
					&s->jrepaired, w, sizeof(w), &names[n]);

		s->seq += s->jused;
		if (rc < 0) {
			s->jdamaged = true;
			SAY(-rc, "%s (after copy %d, sequence %llu)", w, n,
			    (unsigned long long)c[n].hdr.seq);
		}
	}
	return s->rc = 0;
}

static int scan(const struct dxa_geometry *geo, dxa_read_fn rd, void *arg, struct dxa_entry *tab[2],
		struct dxa_scan *s, bool both)
{
	struct name_set names[2] = { { 0 }, { 0 } };
	int rc = scan_in(geo, rd, arg, tab, s, both, names);

	names_free(&names[0]);
	names_free(&names[1]);
	return rc;
}

int dxa_scan(const struct dxa_geometry *geo, dxa_read_fn rd, void *arg, struct dxa_entry *tab[2],
	     struct dxa_scan *s)
{
	return scan(geo, rd, arg, tab, s, true);
}

int dxa_scan_newest(const struct dxa_geometry *geo, dxa_read_fn rd, void *arg,
		    struct dxa_entry *tab[2], struct dxa_scan *s)
{
	return scan(geo, rd, arg, tab, s, false);
}

int dxa_table_recover(const struct dxa_hdr *nh, struct dxa_entry *newest,
		      const struct dxa_entry *older, uint32_t nolder, const struct dxa_geometry *geo)
{
	size_t tlen = (size_t)nh->nentries * DXA_ENTRY_SIZE;
	uint32_t cand[4], ncand = 0;
	char why[160];

	/* Entries of the newest table found nowhere in the older one. */
	for (uint32_t i = 0; i < nh->nentries; i++) {
		/* the older table is valid: sorted by offset */
		uint32_t j = tab_lower(older, nolder, newest[i].offset);

		if (j < nolder && memcmp(&newest[i], &older[j], sizeof(older[j])) == 0)
			continue;
		if (ncand == 4)
			return -1;
		cand[ncand++] = i;
	}
	for (uint32_t k = 0; k < ncand; k++) {
		uint32_t i = cand[k];
		struct dxa_entry keep = newest[i];

		/* An update moves entries by one place at most (orphan reclaim: more). */
		for (uint32_t j = i > 8 ? i - 8 : 0; j < nolder && j <= i + 8; j++) {
			newest[i] = older[j];
			if (daxalloc_crc32c(0, newest, tlen) == nh->table_crc &&
			    dxa_table_validate(nh, newest, 0, geo, why, sizeof(why)) == 0)
				return 0;
		}
		newest[i] = keep;
	}
	return -1;
}
