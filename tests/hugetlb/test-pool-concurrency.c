// SPDX-License-Identifier: LGPL-2.1-or-later
/* Processes and threads at once on the stand-in (see tests/common/concurrency.c). */
#include <criterion/criterion.h>

#include "concurrency.h"
#include "pool-helpers.h"

Test(pool_concurrency, processes_and_threads_never_overlap, .timeout = 300)
{
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev;

	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	dev = th_dev_open(ctx, "hugetlb:2M:512M");
	concurrency_run(dev);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}
