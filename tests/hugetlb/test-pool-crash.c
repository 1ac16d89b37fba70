// SPDX-License-Identifier: LGPL-2.1-or-later
/* SIGKILL at random moments during alloc/free on the stand-in (2M units). */
#include <criterion/criterion.h>

#include "crash-loop.h"
#include "pool-helpers.h"

Test(pool_crash, sigkill_anywhere_loses_nothing_acknowledged, .timeout = 900)
{
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev;

	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	dev = th_dev_formatted(ctx, "hugetlb:2M:512M");
	crash_loop_run(dev, 500);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}
