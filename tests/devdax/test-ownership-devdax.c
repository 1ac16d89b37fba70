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

TestSuite(devdax_ownership, .init = th_ctx_setup, .fini = th_ctx_teardown, .timeout = 900);

/* clang-format off */
#define ON(label, body)                                                 \
	do {                                                            \
		const struct guest_dev *gd = guest_dev(label);          \
		struct daxalloc_dev *dev = th_dev_open(th_ctx, gd->name);  \
		body;                                                   \
		daxalloc_dev_close(&dev);                               \
	} while (0)
/* clang-format on */

/* 50 rounds, not 200: six processes a round are slow under emulation. */
Test(devdax_ownership, concurrent_create_formats_once)
{
	ON("dyn2m", own_create_race(dev, 50));
}
Test(devdax_ownership, forked_child_never_frees_the_parents)
{
	ON("dyn2m", own_fork_child(dev));
}
Test(devdax_ownership, forked_child_pmem)
{
	ON("static2m", own_fork_child(dev));
}
Test(devdax_ownership, two_handles_one_process)
{
	ON("dyn2m", own_two_handles(dev));
}
Test(devdax_ownership, alloc_reclaims_orphans_before_enospc)
{
	ON("dyn2m", own_enospc_reclaims_orphans(dev));
}
/* The container pins for VFIO: io_uring cannot pin device-dax before Linux 6.5. */
#define VFIO_PINNER (&(struct own_pinner){ DAXALLOC_PIN_VFIO, guest_vfio_group() })

Test(devdax_ownership, container_with_its_own_node)
{
	ON("dyn2m", own_container(dev, gd->name, gd->path, VFIO_PINNER));
}
Test(devdax_ownership, container_with_its_own_node_pmem)
{
	ON("static2m", own_container(dev, gd->name, gd->path, VFIO_PINNER));
}
