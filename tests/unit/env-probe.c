// SPDX-License-Identifier: LGPL-2.1-or-later
/* Prints what the library takes from the environment (test-secure-env.c runs it setuid). */
#include <stdio.h>

#include "daxalloc.h"
#include "private.h"

int main(void)
{
	printf("sysfs=%s procfs=%s device=%s\n", sysfs_root(), procfs_root(),
	       daxalloc_ctx_get_default_device(NULL));
	return 0;
}
