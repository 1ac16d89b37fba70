// SPDX-License-Identifier: LGPL-2.1-or-later
#include <criterion/criterion.h>
#include <string.h>

#include "daxalloc.h"
#include "refusal.h"

void refusal_expect_says(const char *in, const char *says)
{
	cr_expect(strstr(daxalloc_errmsg(), says), "'%s': message '%s' lacks '%s'", in,
		  daxalloc_errmsg(), says);
}
