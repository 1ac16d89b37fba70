// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Concurrency soak on the stand-in (2M units): workers allocate, fill,
 * verify, free and pin (io_uring) while being SIGKILLed at random; see
 * tests/common/soak.h.  $DAXALLOC_SOAK_SECONDS sets the length (10 s).
 */
#include <criterion/criterion.h>

#include "pool-helpers.h"
#include "soak.h"

Test(soak, kill_storm_leaves_a_clean_pool, .timeout = 3600)
{
	const struct soak_opts opts = { .default_seconds = 10, .workers = 4, .pin_uring = true };
	struct daxalloc_ctx *ctx = NULL;
	struct soak_result res;
	struct daxalloc_dev *dev;

	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	dev = th_dev_formatted(ctx, "hugetlb:2M:64M");
	soak_run(dev, &opts, &res);
	cr_expect_gt(res.kills, 0);
	cr_expect_gt(res.allocs, 0);
	cr_expect_gt(res.pins, 0);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}
