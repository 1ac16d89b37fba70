// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the on-device metadata validator, fed whole slots
 * (header + region table) as a hostile device would present them.
 * Input: 256 header bytes, then table bytes.  The geometry is taken from
 * the header's own fields half of the time, so the deep checks are reached.
 * The same input also becomes a whole metadata image for the scan that
 * decides which copy is the state (and the exact repair of a damaged
 * newest table): slot 0 as given, slot 1 a copy one update newer or older
 * whose second header, table entries and readability the input's
 * reserved bytes vary.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "metadata.h"
#include "private.h"

static struct dxa_entry table[DXA_MAX_ENTRIES];
static struct dxa_entry tabs[2][DXA_MAX_ENTRIES];
static unsigned char image[DXA_META_USED];
static uint8_t unreadable; /* bit k: header copy k of slot 0/1 (0-3), bit 4/5: table 0/1 */

static int image_read(void *arg, uint64_t off, void *dst, size_t len)
{
	int rc = 0;

	(void)arg;
	memcpy(dst, image + off, len);
	for (int slot = 0; slot < 2; slot++) {
		for (int k = 0; k < 2; k++)
			if ((unreadable >> (slot * 2 + k) & 1) && off == dxa_hdr_offset(slot, k))
				rc = -EIO;
		if ((unreadable >> (4 + slot) & 1) && off == dxa_table_offset(slot))
			rc = -EIO;
	}
	if (rc)
		memset(dst, 0, len);
	return rc;
}

static void scan_image(const struct dxa_hdr *hdr, size_t tlen, const struct dxa_geometry *geo)
{
	struct dxa_entry *tab[2] = { tabs[0], tabs[1] };
	struct dxa_hdr h1 = *hdr;
	struct dxa_scan s;

	memset(image, 0, sizeof(image));
	memcpy(image + dxa_hdr_offset(0, 0), hdr, sizeof(*hdr));
	if (hdr->reserved[2] & 1)
		memcpy(image + dxa_hdr_offset(0, 1), hdr, sizeof(*hdr));
	memcpy(image + dxa_table_offset(0), table, tlen);
	memcpy(image + dxa_table_offset(1), table, tlen);
	/* slot 1: one update away, one entry changed */
	h1.seq = hdr->reserved[2] & 2 ? hdr->seq + 1 : hdr->seq - 1;
	h1.table_offset = dxa_table_offset(1);
	if (tlen >= DXA_ENTRY_SIZE)
		image[dxa_table_offset(1) + hdr->reserved[3] % DXA_ENTRY_SIZE] ^= hdr->reserved[4];
	h1.table_crc = daxalloc_crc32c(0, image + dxa_table_offset(1),
				       (size_t)(h1.nentries <= DXA_MAX_ENTRIES ? h1.nentries : 0) *
					       DXA_ENTRY_SIZE);
	if (hdr->reserved[2] & 4)
		h1.hdr_crc = dxa_hdr_crc(&h1);
	memcpy(image + dxa_hdr_offset(1, 0), &h1, sizeof(h1));
	memcpy(image + dxa_hdr_offset(1, 1), &h1, sizeof(h1));
	/*
	 * The journal: the table's bytes again as records after the newest
	 * checkpoint, made to pass their checksums (flag 8), in one copy or
	 * both (flag 16), so that replay applies arbitrary entries.
	 */
	if (hdr->reserved[2] & 8) {
		const struct dxa_hdr *nh = h1.seq > hdr->seq ? &h1 : hdr;

		for (uint32_t c = 0; c < tlen / DXA_JREC_SIZE && c < DXA_JOURNAL_CELLS; c++) {
			struct dxa_jrec r;

			memcpy(&r, (const char *)table + (size_t)c * DXA_JREC_SIZE, sizeof(r));
			memcpy(r.magic, DXA_JREC_MAGIC, sizeof(r.magic));
			memcpy(r.uuid, nh->uuid, sizeof(r.uuid));
			r.base = nh->seq;
			r.seq = nh->seq + 1 + c;
			r.crc = dxa_jrec_crc(&r);
			memcpy(image + dxa_jrec_offset(c, 0), &r, sizeof(r));
			if (hdr->reserved[2] & 16)
				memcpy(image + dxa_jrec_offset(c, 1), &r, sizeof(r));
		}
	}
	unreadable = hdr->reserved[5];
	dxa_scan(geo, image_read, NULL, tab, &s);
	if (s.newest >= 0 && s.c[s.newest].use >= 0 && s.c[s.newest].table_rc < 0 &&
	    s.c[!s.newest].state == DXA_COPY_VALID)
		dxa_table_recover(&s.c[s.newest].hdr, tabs[s.newest], tabs[!s.newest],
				  s.c[!s.newest].hdr.nentries, geo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dxa_geometry geo = { UINT64_C(64) << 20, UINT64_C(2) << 20, UINT64_C(2) << 20 };
	struct dxa_hdr hdr;
	char why[256];
	size_t tlen;

	if (size < sizeof(hdr))
		return 0;
	memcpy(&hdr, data, sizeof(hdr));
	tlen = size - sizeof(hdr);
	if (tlen > sizeof(table))
		tlen = sizeof(table);
	memset(table, 0, sizeof(table));
	memcpy(table, data + sizeof(hdr), tlen);
	if (hdr.reserved[0] & 1) {
		/* a device shaped like the header says, within reason */
		if (hdr.unit != 4096 && hdr.unit != (2u << 20) && hdr.unit != (1u << 30))
			return 0;
		geo.unit = hdr.unit;
		geo.dev_size = hdr.dev_size;
		geo.meta_size = dxa_meta_size(hdr.unit);
	}
	dxa_slot_validate(&hdr, table, (int)(hdr.reserved[1] & 1), &geo, why, sizeof(why));
	if (geo.dev_size >= geo.meta_size && geo.meta_size >= DXA_META_USED)
		scan_image(&hdr, tlen, &geo);
	dxa_name_check((const char *)data + sizeof(hdr) - 64, why, sizeof(why));
	return 0;
}
