// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which memory is flushed: everything but memory known to be RAM.  A
 * device-dax device whose region kind could not be learnt may be
 * persistent memory, so its writes are flushed too.
 */
#include <criterion/criterion.h>

#include "persist.h"

Test(persist, flush_unless_known_volatile)
{
	cr_expect_eq(persist_durability_for(DAXALLOC_DEV_DEVDAX, DAXALLOC_REGION_UNKNOWN),
		     DAXALLOC_DURABILITY_FLUSH, "an unknown kind must be flushed");
	cr_expect_eq(persist_durability_for(DAXALLOC_DEV_DEVDAX, DAXALLOC_REGION_STATIC),
		     DAXALLOC_DURABILITY_FLUSH);
	cr_expect_eq(persist_durability_for(DAXALLOC_DEV_DEVDAX, DAXALLOC_REGION_DYNAMIC),
		     DAXALLOC_DURABILITY_VOLATILE);
	cr_expect_eq(persist_durability_for(DAXALLOC_DEV_HUGETLB, DAXALLOC_REGION_NONE),
		     DAXALLOC_DURABILITY_VOLATILE);
}
