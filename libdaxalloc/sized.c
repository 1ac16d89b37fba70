// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Structs that grow (daxalloc.h): the caller says how big its struct is,
 * and the library takes only sizes it knows.  Each sized struct has had
 * one layout so far; when one grows, its older sizes join the one known
 * here and the library reads and writes the prefix they cover.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "private.h"

int sized_check(const char *type, uint32_t size, size_t known)
{
	char init[48];
	size_t i;

	if (size == known)
		return (int)size;
	for (i = 0; type[i] && i < sizeof(init) - 1; i++)
		init[i] = (char)toupper((unsigned char)type[i]);
	init[i] = '\0';
	if (size == 0)
		return daxalloc_err(EINVAL,
				    "struct daxalloc_%s: .struct_size is 0: set it with DAXALLOC_%s_INIT",
				    type, init);
	return daxalloc_err(EINVAL,
			    "struct daxalloc_%s: .struct_size %u: this library knows %zu (DAXALLOC_%s_INIT of its header); built against a later one?",
			    type, size, known, init);
}

void sized_copy(void *out, const void *all, int n)
{
	memcpy(out, all, (size_t)n);
	/* struct_size leads every sized struct: the caller's stays */
	memcpy(out, &(uint32_t){ (uint32_t)n }, sizeof(uint32_t));
}
