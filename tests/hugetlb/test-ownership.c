// SPDX-License-Identifier: LGPL-2.1-or-later
/* Ownership rules of pools on the stand-in (see tests/common/ownership.c). */
#include <criterion/criterion.h>
#include <unistd.h>

#include "ownership.h"
#include "pool-helpers.h"

static struct daxalloc_ctx *ctx;
static struct daxalloc_dev *dev;

static void setup(void)
{
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	dev = th_dev_open(ctx, "hugetlb:2M:64M");
}

static void teardown(void)
{
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}

TestSuite(ownership, .init = setup, .fini = teardown, .timeout = 300);

Test(ownership, concurrent_create_formats_once) { own_create_race(dev, 200); }
Test(ownership, forked_child_never_frees_the_parents) { own_fork_child(dev); }
Test(ownership, two_handles_one_process) { own_two_handles(dev); }
Test(ownership, alloc_reclaims_orphans_before_enospc) { own_enospc_reclaims_orphans(dev); }

Test(ownership, container_regions_are_never_reclaimed)
{
	if (geteuid() != 0)
		cr_skip_test("new pid and mount namespaces need root");
	own_container(dev, "hugetlb:2M:64M", NULL);
}
