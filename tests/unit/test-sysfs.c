// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sysfs/procfs reading against a fake tree laid out like the kernel's:
 * an hmem (dynamic) region and a pmem namespace (static) region.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "fake-tree.h"
#include "private.h"

static struct fake_tree t;

#define HMEM "devices/platform/hmem.0"
#define PMEM "devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0/region0/dax0.1"

static void setup(void)
{
	fake_tree_new(&t);
	/* dynamic: the region's "create" attribute is visible */
	fake_tree_file(&t, HMEM "/dax_region/id", "0\n");
	fake_tree_file(&t, HMEM "/dax_region/create", "dax0.1\n");
	fake_tree_file(&t, HMEM "/dax0.0/numa_node", "1\n");
	fake_tree_link(&t, "bus/dax/devices/dax0.0", "../../../" HMEM "/dax0.0");
	/* static: "create" is hidden by the kernel */
	fake_tree_file(&t, PMEM "/dax_region/id", "1\n");
	fake_tree_file(&t, PMEM "/dax1.0/numa_node", "-1\n");
	fake_tree_link(&t, "bus/dax/devices/dax1.0", "../../../" PMEM "/dax1.0");
	/* a device without a region folder: something we do not understand */
	fake_tree_file(&t, "devices/odd/dax9.0/numa_node", "0\n");
	fake_tree_link(&t, "bus/dax/devices/dax9.0", "../../../devices/odd/dax9.0");
	fake_tree_file(&t, "kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "7\n");
	fake_tree_file(&t, "kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "9\n");
	fake_tree_file(&t, "bad/number", "12abc\n");
	fake_tree_file(&t, "bad/big", "99999999999999999999999\n");
	fake_tree_file(&t, "bad/hex", "0x1000\n");
}

static void teardown(void)
{
	fake_tree_delete(&t);
}

TestSuite(sysfs, .init = setup, .fini = teardown);

Test(sysfs, root_is_redirected)
{
	cr_expect_str_eq(sysfs_root(), t.root);
}

Test(sysfs, region_kind_dynamic_and_static)
{
	enum daxalloc_region_kind k = DAXALLOC_REGION_UNKNOWN;

	cr_expect_eq(sysfs_dax_region_kind("dax0.0", &k), 0);
	cr_expect_eq(k, DAXALLOC_REGION_DYNAMIC);
	cr_expect_eq(sysfs_dax_region_kind("dax1.0", &k), 0);
	cr_expect_eq(k, DAXALLOC_REGION_STATIC);
}

Test(sysfs, region_kind_unknown_layouts)
{
	enum daxalloc_region_kind k = DAXALLOC_REGION_UNKNOWN;

	cr_expect_eq(sysfs_dax_region_kind("dax9.0", &k), -ENOENT);
	cr_expect_eq(sysfs_dax_region_kind("dax5.5", &k), -ENOENT);
	cr_expect_eq(k, DAXALLOC_REGION_UNKNOWN);
}

Test(sysfs, numa_node)
{
	int node = 42;

	cr_expect_eq(sysfs_dax_numa_node("dax0.0", &node), 0);
	cr_expect_eq(node, 1);
	cr_expect_eq(sysfs_dax_numa_node("dax1.0", &node), 0);
	cr_expect_eq(node, -1);
	cr_expect_eq(sysfs_dax_numa_node("dax7.7", &node), -ENOENT);
}

Test(sysfs, numbers_are_validated)
{
	uint64_t v = 5;
	int i = 5;

	cr_expect_eq(sysfs_read_u64("bad/number", &v), -EINVAL);
	cr_expect_eq(sysfs_read_u64("bad/big", &v), -EINVAL);
	cr_expect_eq(v, 5);
	cr_expect_eq(sysfs_read_int("bad/big", &i), -EINVAL);
	cr_expect_eq(sysfs_read_u64("bad/hex", &v), 0);
	cr_expect_eq(v, 0x1000);
}

Test(sysfs, hugepages_read_write)
{
	uint64_t v = 0;
	char buf[32];

	cr_expect_eq(sysfs_hugepages_read(2u << 20, "free_hugepages", &v), 0);
	cr_expect_eq(v, 7);
	cr_expect_eq(sysfs_hugepages_write(2u << 20, "nr_hugepages", 12), 0);
	fake_tree_read(&t, "kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", buf, sizeof(buf));
	cr_expect_str_eq(buf, "12");
	cr_expect_eq(sysfs_hugepages_read(1u << 30, "free_hugepages", &v), -ENOENT);
}

Test(sysfs, smaps_picks_the_right_vma)
{
	uint64_t sz = 0;

	fake_tree_file(&t, "self/smaps",
		       "7f0000000000-7f0000200000 rw-s 00000000 00:05 12 /dev/dax0.0\n"
		       "Size:               2048 kB\n"
		       "KernelPageSize:     2048 kB\n"
		       "AnonHugePages:         0 kB\n"
		       "7f0040000000-7f0080000000 rw-s 00000000 00:05 13 /dev/dax1.0\n"
		       "Size:            1048576 kB\n"
		       "KernelPageSize:  1048576 kB\n"
		       "7fff00000000-7fff00001000 rw-p 00000000 00:00 0\n"
		       "KernelPageSize:        4 kB\n");
	cr_expect_eq(procfs_smaps_kernel_page_size((void *)0x7f0040000000ull, &sz), 0);
	cr_expect_eq(sz, 1ull << 30);
	cr_expect_eq(procfs_smaps_kernel_page_size((void *)0x7f0000000000ull, &sz), 0);
	cr_expect_eq(sz, 2u << 20);
	cr_expect_eq(procfs_smaps_kernel_page_size((void *)0x7f0000001000ull, &sz), -ENOENT);
}
