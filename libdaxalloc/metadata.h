/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The on-device pool format.  It lives in the first unit(s) of the device
 * (at least 2 MiB).  Two copies ("slots") of a header and a region table;
 * an update writes the standby slot's table completely and makes it
 * durable, then its header with a higher sequence number, so a crash at
 * any point leaves one valid slot with either the old or the new state.
 * Little-endian (x86-64 only).
 *
 * Format 1.1 stores each slot's header twice, at the start and in the
 * middle of its 4 KiB header area (1.0 left that space zero, and 1.0
 * readers ignore it).  The copy in the middle is written and made durable
 * first, so an interrupted update never leaves both damaged.  That lets
 * damage be told apart from an interrupted update:
 *  - the newest header always describes a table that was durable before
 *    the header was written, so a newest header whose table fails its
 *    checksum is damage, never an interrupted update: the pool is not
 *    opened (opening the older copy would silently lose the last change);
 *  - a slot with neither header copy readable may have held the newest
 *    state: refused too;
 *  - one damaged header copy is survived (the other has the same state).
 * Sequence numbers of 2^63 and above cannot come from updates (one a
 * nanosecond would take 292 years): such a header is damaged.
 *
 * Format 2.0 adds a journal: a change is one 256-byte record (the entry
 * as it now is, or its removal) written twice, each copy made durable in
 * turn, so the cost of a change does not grow with the table.  The table
 * slots become checkpoints: the newest one plus the records made after it
 * (same pool uuid, base = its sequence number, consecutive sequence
 * numbers from base + 1) is the state.  When the journal is full the
 * state is written to the standby slot as before and the records start
 * again from the first cell.  At the end of the records:
 *  - first copy valid: applied (the second may have been cut short);
 *  - first copy not valid, second valid: the first was damaged, applied;
 *  - first copy never written for this base (zero, or a record of an
 *    older checkpoint or pool), or cut short with the second never
 *    written for this base: the end (an append cut short, or none);
 *  - both copies written and neither valid: damage to an acknowledged
 *    change: the pool is not opened.
 * An append first makes the second copy clean if an older append left it
 * cut short (zeros, durable), so "both cut short" never comes from crashes.
 * 1.x readers refuse 2.0 (major version), so none of them can miss the
 * journal; a 1.x pool is upgraded when first opened for writing.
 *
 * Format 2.1: the table follows the device.  Its capacity (table_max) is
 * fixed at format from the device's size and unit (dxa_capacity_for()):
 * 2,048 entries (the 2.0 layout, byte for byte) unless the device has more
 * units than that; then both tables lie past the lock area, from 2 MiB on,
 * a journal of a quarter as many records as the table has entries (2,048
 * to 32,768) after them, and the data after the journal (dxa_layout()): a
 * checkpoint rewrites the table, so the records between two of them grow
 * with it and what a change costs does not.  Every place is in the header
 * and checked against the layout its table_max gives.  A 2.0 pool keeps its
 * 2,048 entries (data may lie where larger tables would go) and is written
 * as 2.1 at its next checkpoint; 2.0 was never a released format, so no
 * reader that refuses the larger layout exists.
 */
#ifndef DAXALLOC_METADATA_H
#define DAXALLOC_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The lock area (owner.c): live lock and owner state, valid for one boot,
 * in the metadata unit past the tables and the journal.  Formatting never
 * touches it.
 */
#define DXA_LOCK_OFFSET (UINT64_C(1) << 20)

#define DXA_MAGIC "DAXPOOL"   /* 8 bytes with the NUL */
#define DXA_VERSION_MAJOR 2u  /* 2.0: the journal */
#define DXA_VERSION_MINOR 1u  /* 2.1: the table follows the device */
#define DXA_VERSION_OLDEST 1u /* 1.x pools are read and upgraded */
#define DXA_HDR_SLOT_SIZE 4096u
#define DXA_HDR_COPY_OFFSET 2048u /* the second header copy, in its slot */
#define DXA_SEQ_LIMIT (UINT64_C(1) << 63)
#define DXA_MAX_ENTRIES 2048u /* the table of 1.x and 2.0, and of 2.1 on small devices */
#define DXA_CAPACITY_LIMIT (UINT32_C(1) << 20)   /* entries a table of 2.1 holds at most */
#define DXA_BIG_TABLE_OFFSET (UINT64_C(2) << 20) /* 2.1, capacity above 2,048: table 0 */
#define DXA_BIG_JOURNAL_MIN 2048u                /* 2.1, capacity above 2,048: records at least */
#define DXA_BIG_JOURNAL_MAX 32768u               /* and at most (16 MiB) */
#define DXA_ENTRY_SIZE 128u
#define DXA_TABLE_SIZE (DXA_MAX_ENTRIES * DXA_ENTRY_SIZE)
#define DXA_TABLE0_OFFSET (2u * DXA_HDR_SLOT_SIZE)
#define DXA_JOURNAL_OFFSET (DXA_TABLE0_OFFSET + 2u * DXA_TABLE_SIZE)
#define DXA_JREC_SIZE 256u
#define DXA_JCELL_SIZE (2u * DXA_JREC_SIZE) /* a record's two copies */
#define DXA_JOURNAL_CELLS ((uint32_t)((DXA_LOCK_OFFSET - DXA_JOURNAL_OFFSET) / DXA_JCELL_SIZE))
#define DXA_META_USED (DXA_JOURNAL_OFFSET + DXA_JOURNAL_CELLS * DXA_JCELL_SIZE)
#define DXA_META_MIN (UINT64_C(2) << 20)
#define DXA_NAME_MAX 63u

#define DXA_ENTRY_NAMED 0x1u
#define DXA_ENTRY_KNOWN_FLAGS DXA_ENTRY_NAMED

struct dxa_hdr {
	char magic[8];
	uint32_t version_major;
	uint32_t version_minor;
	uint64_t seq;
	uint64_t dev_size;     /* device size when formatted */
	uint64_t unit;         /* allocation unit: the device alignment */
	uint64_t data_start;   /* first allocatable byte (end of metadata) */
	uint64_t table_offset; /* this slot's table, from device start */
	uint32_t table_max;
	uint32_t nentries;
	uint32_t table_crc; /* over nentries * DXA_ENTRY_SIZE bytes */
	uint32_t flags;
	uint8_t uuid[16];
	uint64_t format_time;
	uint64_t journal_offset; /* 2.0: from device start */
	uint32_t journal_cells;  /* 2.0: records it holds */
	uint32_t journal_rec;    /* 2.0: bytes per record copy */
	uint8_t reserved[140];
	uint32_t hdr_crc; /* over everything above */
};

struct dxa_entry {
	uint64_t offset; /* from device start, multiple of unit */
	uint64_t length; /* multiple of unit, > 0 */
	uint32_t flags;
	uint32_t owner_pid;   /* unnamed regions: who may keep them */
	uint64_t owner_start; /* the owner's start time (clock ticks since boot) */
	uint64_t owner_boot;  /* hash of the boot id the owner ran under */
	uint64_t created;     /* seconds since the epoch */
	char name[64];        /* NUL-terminated; empty when unnamed */
	uint64_t owner_lease; /* unnamed: the owner's lease (owner.c); 0: judge by pid */
	uint8_t reserved[8];
};

#define DXA_JREC_MAGIC "DXJR"
enum dxa_jop {
	DXA_JOP_PUT = 1, /* the entry at e.offset is now e (added or changed) */
	DXA_JOP_DEL = 2, /* the entry e (offset and length) is gone */
};

struct dxa_jrec {
	char magic[4];
	uint32_t op;      /* enum dxa_jop */
	uint8_t uuid[16]; /* the pool's */
	uint64_t base;    /* sequence number of the checkpoint it follows */
	uint64_t seq;     /* base + 1 + its cell */
	struct dxa_entry e;
	uint8_t reserved[84];
	uint32_t crc; /* over everything above */
};

_Static_assert(sizeof(struct dxa_hdr) == 256, "header is 256 bytes on disk");
_Static_assert(sizeof(struct dxa_jrec) == DXA_JREC_SIZE, "a record is 256 bytes on disk");
_Static_assert(DXA_META_USED <= DXA_LOCK_OFFSET, "the journal ends before the lock area");
_Static_assert(sizeof(struct dxa_entry) == DXA_ENTRY_SIZE, "entry is 128 bytes on disk");

struct dxa_geometry {
	uint64_t dev_size;
	uint64_t unit;
	uint64_t meta_size; /* bytes of metadata mapped: the 2.0 size, or more (dxa_layout()) */
	uint32_t table_cap; /* entries the reader's tables hold; 0: DXA_MAX_ENTRIES */
};

/* Metadata size of the 2.0 layout (2,048 entries) for a device of this alignment. */
uint64_t dxa_meta_size(uint64_t unit);

/* Where a table of @table_max entries puts its parts (format 2.x). */
struct dxa_layout {
	uint64_t table_offset[2];
	uint64_t journal_offset;
	uint32_t journal_cells;
	uint64_t meta_size; /* the data start: a multiple of the unit */
};

/* The capacity a pool formatted now on this device gets. */
uint32_t dxa_capacity_for(uint64_t dev_size, uint64_t unit);
void dxa_layout(uint32_t table_max, uint64_t unit, struct dxa_layout *l);
/* Entries a reader with this geometry can hold. */
static inline uint32_t dxa_geo_cap(const struct dxa_geometry *geo)
{
	return geo->table_cap ? geo->table_cap : DXA_MAX_ENTRIES;
}

/*
 * Validate one slot copied out of the device: header (magic, version,
 * checksum, geometry against @geo) and table (bounds, checksum, entries
 * sorted, aligned, inside the data area, not overlapping, names valid and
 * unique).  @table points at the slot's table in the metadata mapping
 * (DXA_TABLE_SIZE bytes).  Returns 0, or -errno with a reason in @why.
 */
int dxa_slot_validate(const struct dxa_hdr *hdr, const void *table, int slot,
		      const struct dxa_geometry *geo, char *why, size_t whylen);

uint32_t dxa_hdr_crc(const struct dxa_hdr *hdr);
/* The parts of dxa_slot_validate(): one header copy, one table. */
int dxa_hdr_validate(const struct dxa_hdr *hdr, int slot, const struct dxa_geometry *geo, char *why,
		     size_t whylen);
int dxa_table_validate(const struct dxa_hdr *hdr, const void *table, int slot,
		       const struct dxa_geometry *geo, char *why, size_t whylen);
/* One entry on its own (alignment, bounds, flags, name); @prev_end: end of the one before. */
int dxa_entry_validate(const struct dxa_entry *e, uint32_t i, int slot, uint64_t prev_end,
		       const struct dxa_geometry *geo, char *why, size_t whylen);

/* Offset of header copy @copy of slot @slot, and of a slot's table (2.0 layout), from device start. */
static inline uint64_t dxa_hdr_offset(int slot, int copy)
{
	return (uint64_t)slot * DXA_HDR_SLOT_SIZE + (uint64_t)copy * DXA_HDR_COPY_OFFSET;
}

static inline uint64_t dxa_table_offset(int slot)
{
	return DXA_TABLE0_OFFSET + (uint64_t)slot * DXA_TABLE_SIZE;
}

/* Offset of copy @copy of journal record @cell (2.0 layout), from device start. */
static inline uint64_t dxa_jrec_offset(uint32_t cell, int copy)
{
	return DXA_JOURNAL_OFFSET + (uint64_t)cell * DXA_JCELL_SIZE + (uint64_t)copy * DXA_JREC_SIZE;
}

/* The same, in the journal header @h describes (any layout). */
static inline uint64_t dxa_jrec_at(const struct dxa_hdr *h, uint32_t cell, int copy)
{
	return h->journal_offset + (uint64_t)cell * DXA_JCELL_SIZE + (uint64_t)copy * DXA_JREC_SIZE;
}

uint32_t dxa_jrec_crc(const struct dxa_jrec *r);
/* Is this copy of cell @cell never written after checkpoint @h (zero, older, another pool's)? */
bool dxa_jrec_clean(const struct dxa_jrec *r, const struct dxa_hdr *h, uint32_t cell);
/* Fill @r (crc included) for cell @cell after the checkpoint @h. */
void dxa_jrec_make(struct dxa_jrec *r, const struct dxa_hdr *h, uint32_t cell, enum dxa_jop op,
		   const struct dxa_entry *e);

/*
 * How the metadata is read: @len bytes at @off (from device start) into
 * @dst.  Returns 0, or -EIO when part of it could not be read (a media
 * error); those bytes read as zero.
 */
typedef int (*dxa_read_fn)(void *arg, uint64_t off, void *dst, size_t len);

enum dxa_copy_state {
	DXA_COPY_BLANK,          /* both header copies all zero: never written */
	DXA_COPY_VALID,          /* a header and the table it describes */
	DXA_COPY_STALE,          /* a header, but its table was (being) overwritten */
	DXA_COPY_DAMAGED,        /* no header copy readable, not blank */
	DXA_COPY_LEGACY_DAMAGED, /* format 1.0 (second copy blank), its one header damaged */
	DXA_COPY_NOT_READ,       /* a header; its table not read (dxa_scan_newest(), older copy) */
};

struct dxa_copy {
	struct dxa_hdr raw[2]; /* the header copies as read */
	int hdr_rc[2];         /* each copy: 0 or -errno (-ENODATA: no signature) */
	bool hdr_blank[2];     /* all zero */
	char hdr_why[2][160];
	int use;            /* header copy in use, -1 if none */
	struct dxa_hdr hdr; /* that copy */
	int table_rc;       /* its table: 0 or -errno (valid when use >= 0) */
	char table_why[160];
	enum dxa_copy_state state;
};

struct dxa_scan {
	struct dxa_copy c[2];
	int newest;         /* slot of the newest valid header, -1 if none */
	int older;          /* the other slot if its header is valid, else -1 */
	bool legacy;        /* a header copy 1 is blank beside a valid copy 0 */
	uint32_t n;         /* entries of the state: the newest table after the journal */
	uint32_t jused;     /* journal records applied after the newest checkpoint */
	uint32_t jrepaired; /* of which the first copy was damaged (the second used) */
	bool jdamaged;      /* rc: a record both of whose copies are damaged */
	uint64_t seq;       /* the state's sequence number (checkpoint + records) */
	int rc;             /* 0: the newest copy is the state; else -errno */
	char why[600];      /* when rc < 0: what is wrong, without the device name */
};

/*
 * Read and classify both slots, and decide which is the state: the
 * newest valid header, whose table must be intact, and (format 2.0) the
 * journal records after it, applied to its table (s->n entries).  Tables
 * land in @tab[slot] (dxa_geo_cap(@geo) entries each).  Returns s->rc:
 * -ENODATA no pool signature anywhere, -EPROTONOSUPPORT or -EXDEV from a
 * header that passed its checksum, -EUCLEAN damage that could hide the
 * newest state (s->why says which), else 0.
 */
int dxa_scan(const struct dxa_geometry *geo, dxa_read_fn rd, void *arg, struct dxa_entry *tab[2],
	     struct dxa_scan *s);
/* The same without reading the older copy's table (what opening needs; check reads both). */
int dxa_scan_newest(const struct dxa_geometry *geo, dxa_read_fn rd, void *arg,
		    struct dxa_entry *tab[2], struct dxa_scan *s);

/*
 * Apply the journal records after checkpoint @h from cell @from on to
 * @tab (*@n entries, sorted by offset).  *@used: the cell after the last
 * one applied; *@repaired counts records whose first copy was damaged.
 * Returns 0 at the end of the records, or -EUCLEAN (-EIO when unreadable)
 * with @why when a record is damaged or does not apply (@tab then holds
 * the state up to the record before).
 */
int dxa_journal_replay(const struct dxa_hdr *h, const struct dxa_geometry *geo, dxa_read_fn rd,
		       void *arg, struct dxa_entry *tab, uint32_t *n, uint32_t from, uint32_t *used,
		       uint32_t *repaired, char *why, size_t whylen);
/* Test seam: replay record by record only (the reference the faster replay is tested against). */
extern bool dxa_test_replay_exact;

/*
 * The newest table failed its checksum and @older is the older copy's
 * valid table: try to restore the newest exactly, replacing one entry
 * that differs from every older entry by an older entry so that the
 * checksum matches.  Returns 0 with @newest repaired in place, or -1.
 */
int dxa_table_recover(const struct dxa_hdr *nh, struct dxa_entry *newest,
		      const struct dxa_entry *older, uint32_t nolder, const struct dxa_geometry *geo);
/* The hash of a region name the in-memory name sets use. */
uint32_t dxa_name_hash(const char *name);
/* A name a region may have: 1..63 of [A-Za-z0-9._:@+-], not starting with '-' or '.'. */
int dxa_name_check(const char *name, char *why, size_t whylen);
/* @name (checked) into a field of @size bytes, the rest zero: no format string parsed per call. */
void dxa_name_put(char *dst, size_t size, const char *name);

#endif
