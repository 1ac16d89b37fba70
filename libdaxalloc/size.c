// SPDX-License-Identifier: LGPL-2.1-or-later
/* Parsing and printing of sizes and alignments (binary units only). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "private.h"

static int unit_shift(const char *suffix)
{
	static const struct {
		const char *name;
		int shift;
	} units[] = {
		/* clang-format off */
		{ "", 0 },    { "B", 0 },    { "K", 10 },   { "KiB", 10 },
		{ "M", 20 },  { "MiB", 20 }, { "G", 30 },   { "GiB", 30 },
		{ "T", 40 },  { "TiB", 40 }, { "P", 50 },   { "PiB", 50 },
		{ "E", 60 },  { "EiB", 60 },
		/* clang-format on */
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(suffix, units[i].name) == 0)
			return units[i].shift;
	return -1;
}

DAXALLOC_EXPORT int daxalloc_size_parse(const char *str, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = str;
	int shift;

	if (!str || !out)
		return daxalloc_err(EINVAL, "size: NULL argument");
	/* Hex, as messages print offsets: bytes only, a unit would read as a digit. */
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		for (p += 2; isxdigit((unsigned char)*p); p++) {
			if (v >> 60)
				return daxalloc_err(ERANGE, "size '%s': larger than 2^64-1 bytes",
						    str);
			v = v << 4 | (uint64_t)(isdigit((unsigned char)*p) ?
							*p - '0' :
							tolower((unsigned char)*p) - 'a' + 10);
		}
		if (p == str + 2 || *p)
			return daxalloc_err(EINVAL,
					    "size '%s': after 0x only hex digits (bytes, no unit)",
					    str);
		*out = v;
		return 0;
	}
	if (!isdigit((unsigned char)*p))
		return daxalloc_err(EINVAL,
				    "size '%s': must start with a digit (e.g. 4K, 2M, 1G, 2GiB, 4096)",
				    str);
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return daxalloc_err(ERANGE, "size '%s': larger than 2^64-1 bytes", str);
		v = v * 10 + d;
	}
	shift = unit_shift(p);
	if (shift < 0) {
		if (strcasecmp(p, "KB") == 0 || strcasecmp(p, "MB") == 0 ||
		    strcasecmp(p, "GB") == 0 || strcasecmp(p, "TB") == 0)
			return daxalloc_err(EINVAL,
					    "size '%s': decimal units are ambiguous; write %.*s%c or %.*s%ciB",
					    str, (int)(p - str), str, toupper((unsigned char)*p),
					    (int)(p - str), str, toupper((unsigned char)*p));
		return daxalloc_err(EINVAL,
				    "size '%s': unknown unit '%s' (use K, M, G, T, KiB, MiB, GiB, TiB or none)",
				    str, p);
	}
	if (shift && v > (UINT64_MAX >> shift))
		return daxalloc_err(ERANGE, "size '%s': larger than 2^64-1 bytes", str);
	*out = v << shift;
	return 0;
}

DAXALLOC_EXPORT int daxalloc_size_format(uint64_t size, char *buf, size_t buflen)
{
	static const char units[] = "KMGTPE";
	int shift = 0, n;
	char unit = 0;

	if (!buf || !buflen)
		return daxalloc_err(EINVAL, "size_format: no buffer");
	while (size && shift < 60 && (size & ((UINT64_C(1) << (shift + 10)) - 1)) == 0) {
		unit = units[shift / 10];
		shift += 10;
	}
	if (unit)
		n = snprintf(buf, buflen, "%llu%c", (unsigned long long)(size >> shift), unit);
	else
		n = snprintf(buf, buflen, "%llu", (unsigned long long)size);
	if (n < 0 || (size_t)n >= buflen)
		return daxalloc_err(ENOSPC, "size_format: buffer of %zu bytes too small", buflen);
	return n;
}

DAXALLOC_EXPORT bool daxalloc_align_is_valid(uint64_t align)
{
	return align == DAXALLOC_SIZE_4K || align == DAXALLOC_SIZE_2M || align == DAXALLOC_SIZE_1G;
}

const char *size_str(uint64_t v, char *buf, size_t len)
{
	if (daxalloc_size_format(v, buf, len) < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}
