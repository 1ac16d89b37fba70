// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: size and stand-in name parsing.  Whatever is accepted
 * must print back to a string that parses to the same value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[128], out[32];
	uint64_t v, back, align, sz;

	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (daxalloc_size_parse(in, &v) == 0) {
		if (daxalloc_size_format(v, out, sizeof(out)) < 0 ||
		    daxalloc_size_parse(out, &back) != 0 || back != v)
			abort();
	}
	if (hugetlb_parse_name(in, &align, &sz) == 0 &&
	    (sz == 0 || sz % align || !daxalloc_align_is_valid(align)))
		abort();
	return 0;
}
