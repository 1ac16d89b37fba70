// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Ownership rules of pools on real device-dax in the guest (see
 * tests/common/ownership.c): a dynamic (hmem) device and a static pmem
 * namespace, whose metadata goes through libpmem2.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "guest-devices.h"
#include "ownership.h"
#include "pool-helpers.h"

static struct daxalloc_ctx *ctx;

static void setup(void)
{
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
}

static void teardown(void)
{
	daxalloc_ctx_delete(&ctx);
}

TestSuite(devdax_ownership, .init = setup, .fini = teardown, .timeout = 900);

#define ON(label, body)                                                 \
	do {                                                            \
		const struct guest_dev *gd = guest_dev(label);          \
		struct daxalloc_dev *dev = th_dev_open(ctx, gd->name);  \
		body;                                                   \
		daxalloc_dev_close(&dev);                               \
	} while (0)

/* 50 rounds, not 200: six processes a round are slow under emulation. */
Test(devdax_ownership, concurrent_create_formats_once) { ON("dyn2m", own_create_race(dev, 50)); }
Test(devdax_ownership, forked_child_never_frees_the_parents) { ON("dyn2m", own_fork_child(dev)); }
Test(devdax_ownership, forked_child_pmem) { ON("static2m", own_fork_child(dev)); }
Test(devdax_ownership, two_handles_one_process) { ON("dyn2m", own_two_handles(dev)); }
Test(devdax_ownership, alloc_reclaims_orphans_before_enospc) { ON("dyn2m", own_enospc_reclaims_orphans(dev)); }
/* The container pins for VFIO: io_uring cannot pin device-dax before Linux 6.5. */
static int vfio_target(struct daxalloc_pin_target *t)
{
	const char *grp = getenv("DAXALLOC_GUEST_VFIO_GROUP");
	struct guest_vfio v;
	int e;

	if (!grp)
		return ENODEV;
	e = guest_vfio_attach(&v, grp);
	if (e)
		return e;
	t->kind = DAXALLOC_PIN_VFIO;
	t->vfio.container_fd = v.container;
	t->vfio.iova = UINT64_C(1) << 32;
	return 0;
}

static const struct own_pinner vfio_pinner = { "vfio", vfio_target };

Test(devdax_ownership, container_with_its_own_node) { ON("dyn2m", own_container(dev, gd->name, gd->path, &vfio_pinner)); }
Test(devdax_ownership, container_with_its_own_node_pmem) { ON("static2m", own_container(dev, gd->name, gd->path, &vfio_pinner)); }
