// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Validation of the on-device format.  Everything read from the device is
 * hostile until checked: every bound is checked before it is used.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "metadata.h"
#include "private.h"

uint64_t dxa_meta_size(uint64_t unit)
{
	uint64_t need = DXA_META_MIN > DXA_META_USED ? DXA_META_MIN : DXA_META_USED;

	return (need + unit - 1) / unit * unit;
}

uint32_t dxa_hdr_crc(const struct dxa_hdr *hdr)
{
	return daxalloc_crc32c(0, hdr, offsetof(struct dxa_hdr, hdr_crc));
}

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == ':' || c == '@' || c == '+';
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

#define FAIL(err, ...)                                  \
	do {                                            \
		snprintf(why, whylen, __VA_ARGS__);     \
		return -(err);                          \
	} while (0)

int dxa_slot_validate(const struct dxa_hdr *hdr, const void *table, int slot,
		      const struct dxa_geometry *geo, char *why, size_t whylen)
{
	const struct dxa_entry *e = table;
	uint64_t want_table = DXA_TABLE0_OFFSET + (uint64_t)slot * DXA_TABLE_SIZE;
	uint64_t prev_end;
	char w2[128];

	if (memcmp(hdr->magic, DXA_MAGIC, sizeof(hdr->magic)) != 0)
		FAIL(ENODATA, "copy %d: no pool signature", slot);
	if (dxa_hdr_crc(hdr) != hdr->hdr_crc)
		FAIL(EUCLEAN, "copy %d: header checksum mismatch", slot);
	if (hdr->version_major != DXA_VERSION_MAJOR)
		FAIL(EPROTONOSUPPORT, "copy %d: format version %u.%u, this library reads %u.x",
		     slot, hdr->version_major, hdr->version_minor, DXA_VERSION_MAJOR);
	if (hdr->unit != geo->unit)
		FAIL(EXDEV, "copy %d: pool was formatted with %llu-byte units, the device alignment is now %llu",
		     slot, (unsigned long long)hdr->unit, (unsigned long long)geo->unit);
	if (hdr->dev_size != geo->dev_size)
		FAIL(EXDEV, "copy %d: pool was formatted on a %llu-byte device, it now has %llu bytes",
		     slot, (unsigned long long)hdr->dev_size, (unsigned long long)geo->dev_size);
	if (hdr->data_start != geo->meta_size)
		FAIL(EUCLEAN, "copy %d: data starts at 0x%llx, expected 0x%llx", slot,
		     (unsigned long long)hdr->data_start, (unsigned long long)geo->meta_size);
	if (hdr->table_offset != want_table)
		FAIL(EUCLEAN, "copy %d: table at 0x%llx, expected 0x%llx", slot,
		     (unsigned long long)hdr->table_offset, (unsigned long long)want_table);
	if (hdr->table_max != DXA_MAX_ENTRIES || hdr->nentries > hdr->table_max)
		FAIL(EUCLEAN, "copy %d: %u entries in a table of %u", slot, hdr->nentries,
		     hdr->table_max);
	if (daxalloc_crc32c(0, table, (size_t)hdr->nentries * DXA_ENTRY_SIZE) != hdr->table_crc)
		FAIL(EUCLEAN, "copy %d: region table checksum mismatch", slot);
	prev_end = hdr->data_start;
	for (uint32_t i = 0; i < hdr->nentries; i++) {
		const struct dxa_entry *x = &e[i];

		if (x->length == 0 || x->offset % geo->unit || x->length % geo->unit)
			FAIL(EUCLEAN, "copy %d: region %u [0x%llx, +0x%llx) is not unit-aligned", slot,
			     i, (unsigned long long)x->offset, (unsigned long long)x->length);
		if (x->offset < prev_end)
			FAIL(EUCLEAN, "copy %d: region %u at 0x%llx overlaps or is out of order", slot,
			     i, (unsigned long long)x->offset);
		if (x->offset > geo->dev_size || x->length > geo->dev_size - x->offset)
			FAIL(EUCLEAN, "copy %d: region %u [0x%llx, +0x%llx) runs past the device", slot,
			     i, (unsigned long long)x->offset, (unsigned long long)x->length);
		if (x->flags & ~DXA_ENTRY_KNOWN_FLAGS)
			FAIL(EUCLEAN, "copy %d: region %u has unknown flags 0x%x", slot, i, x->flags);
		if (memchr(x->name, '\0', sizeof(x->name)) == NULL)
			FAIL(EUCLEAN, "copy %d: region %u name is not terminated", slot, i);
		if (x->flags & DXA_ENTRY_NAMED) {
			if (dxa_name_check(x->name, w2, sizeof(w2)) < 0)
				FAIL(EUCLEAN, "copy %d: region %u: %s", slot, i, w2);
			for (uint32_t j = 0; j < i; j++)
				if ((e[j].flags & DXA_ENTRY_NAMED) &&
				    strcmp(e[j].name, x->name) == 0)
					FAIL(EUCLEAN, "copy %d: region name '%s' appears twice", slot,
					     x->name);
		} else if (x->name[0]) {
			FAIL(EUCLEAN, "copy %d: unnamed region %u carries a name", slot, i);
		}
		prev_end = x->offset + x->length;
	}
	return 0;
}
