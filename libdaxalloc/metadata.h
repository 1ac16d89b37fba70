/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The on-device pool format.  It lives in the first unit(s) of the device
 * (at least 2 MiB).  Two copies ("slots") of a header and a region table;
 * an update writes the standby slot completely, then its header with a
 * higher sequence number, so a crash at any point leaves one valid slot
 * with either the old or the new state.  Little-endian (x86-64 only).
 */
#ifndef DAXALLOC_METADATA_H
#define DAXALLOC_METADATA_H

#include <stddef.h>
#include <stdint.h>

#define DXA_MAGIC "DAXPOOL"		/* 8 bytes with the NUL */
#define DXA_VERSION_MAJOR 1u
#define DXA_VERSION_MINOR 0u
#define DXA_HDR_SLOT_SIZE 4096u
#define DXA_MAX_ENTRIES 2048u
#define DXA_ENTRY_SIZE 128u
#define DXA_TABLE_SIZE (DXA_MAX_ENTRIES * DXA_ENTRY_SIZE)
#define DXA_TABLE0_OFFSET (2u * DXA_HDR_SLOT_SIZE)
#define DXA_META_USED (DXA_TABLE0_OFFSET + 2u * DXA_TABLE_SIZE)
#define DXA_META_MIN (UINT64_C(2) << 20)
#define DXA_NAME_MAX 63u

/*
 * The lock area (owner.c): live lock and owner state, valid for one boot,
 * in the metadata unit past both tables.  Formatting never touches it.
 */
#define DXA_LOCK_OFFSET (UINT64_C(1) << 20)

#define DXA_ENTRY_NAMED 0x1u
#define DXA_ENTRY_KNOWN_FLAGS DXA_ENTRY_NAMED

struct dxa_hdr {
	char magic[8];
	uint32_t version_major;
	uint32_t version_minor;
	uint64_t seq;
	uint64_t dev_size;	/* device size when formatted */
	uint64_t unit;		/* allocation unit: the device alignment */
	uint64_t data_start;	/* first allocatable byte (end of metadata) */
	uint64_t table_offset;	/* this slot's table, from device start */
	uint32_t table_max;
	uint32_t nentries;
	uint32_t table_crc;	/* over nentries * DXA_ENTRY_SIZE bytes */
	uint32_t flags;
	uint8_t uuid[16];
	uint64_t format_time;
	uint8_t reserved[156];
	uint32_t hdr_crc;	/* over everything above */
};

struct dxa_entry {
	uint64_t offset;	/* from device start, multiple of unit */
	uint64_t length;	/* multiple of unit, > 0 */
	uint32_t flags;
	uint32_t owner_pid;	/* unnamed regions: who may keep them */
	uint64_t owner_start;	/* the owner's start time (clock ticks since boot) */
	uint64_t owner_boot;	/* hash of the boot id the owner ran under */
	uint64_t created;	/* seconds since the epoch */
	char name[64];		/* NUL-terminated; empty when unnamed */
	uint64_t owner_lease;	/* unnamed: the owner's lease (owner.c); 0: judge by pid */
	uint8_t reserved[8];
};

_Static_assert(sizeof(struct dxa_hdr) == 256, "header is 256 bytes on disk");
_Static_assert(sizeof(struct dxa_entry) == DXA_ENTRY_SIZE, "entry is 128 bytes on disk");

struct dxa_geometry {
	uint64_t dev_size;
	uint64_t unit;
	uint64_t meta_size;	/* bytes reserved for metadata, multiple of unit */
};

/* Metadata size for a device of this alignment. */
uint64_t dxa_meta_size(uint64_t unit);

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
/* A name a region may have: 1..63 of [A-Za-z0-9._:@+-], not starting with '-' or '.'. */
int dxa_name_check(const char *name, char *why, size_t whylen);

#endif
