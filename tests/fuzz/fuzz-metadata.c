// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the on-device metadata validator, fed whole slots
 * (header + region table) as a hostile device would present them.
 * Input: 256 header bytes, then table bytes.  The geometry is taken from
 * the header's own fields half of the time, so the deep checks are reached.
 */
#include <stdint.h>
#include <string.h>

#include "metadata.h"
#include "private.h"

static struct dxa_entry table[DXA_MAX_ENTRIES];

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
	dxa_name_check((const char *)data + sizeof(hdr) - 64, why, sizeof(why));
	return 0;
}
