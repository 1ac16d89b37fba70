// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The stand-in's huge page reservation, against a fake
 * /sys/kernel/mm/hugepages: when it may reserve, what it says when it may
 * not, and that a failed attempt leaves the pool as it was.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake-tree.h"
#include "private.h"

#define HP2M "kernel/mm/hugepages/hugepages-2048kB/"

/* The 2M pool's @file holds @want; else say so with @fmt (one %s: what it holds). */
/* clang-format off */
#define expect_hp2m(file, want, fmt)                                        \
	do {                                                                \
		char buf_[32];                                              \
                                                                            \
		fake_tree_read(&t, HP2M file, buf_, sizeof(buf_));          \
		cr_expect_eq(atoi(buf_), want, fmt, buf_);                  \
	} while (0)
/* clang-format on */

static struct fake_tree t;
static struct daxalloc_ctx *ctx;

static void setup(void)
{
	fake_tree_new(&t);
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
}

static void teardown(void)
{
	daxalloc_ctx_delete(&ctx);
	fake_tree_delete(&t);
}

TestSuite(hugetlb_pool, .init = setup, .fini = teardown);

static void pool(const char *nr, const char *free_p, const char *resv)
{
	fake_tree_file(&t, HP2M "nr_hugepages", nr);
	fake_tree_file(&t, HP2M "free_hugepages", free_p);
	fake_tree_file(&t, HP2M "resv_hugepages", resv);
}

Test(hugetlb_pool, enough_free_pages_opens)
{
	struct daxalloc_dev *dev = NULL;
	int rc;

	pool("8\n", "8\n", "0\n");
	/*
	 * The fake pool says 8 are free, so nothing is reserved; the memfd
	 * then takes real pages, which this machine may not have.
	 */
	rc = daxalloc_dev_open(ctx, "hugetlb:2M:16M", &dev);
	if (rc == -ENOMEM) {
		cr_expect(strstr(daxalloc_errmsg(), "cannot take 8 huge pages"), "%s",
			  daxalloc_errmsg());
	} else {
		cr_assert_eq(rc, 0, "%s", daxalloc_errmsg());
		cr_expect(daxalloc_dev_is_standin(dev));
		cr_expect_eq(daxalloc_dev_get_size(dev), 16u << 20);
		cr_expect_eq(daxalloc_dev_get_align(dev), 2u << 20);
		cr_expect_eq(daxalloc_dev_get_region_kind(dev), DAXALLOC_REGION_NONE);
		cr_expect_null(daxalloc_dev_get_path(dev));
		daxalloc_dev_close(&dev);
		cr_expect_null(dev);
	}
	/* never grown: missing pages are taken as surplus, at the first map */
	expect_hp2m("nr_hugepages", 8, "the pool was left at %s");
}

Test(hugetlb_pool, reserved_pages_are_not_free)
{
	struct daxalloc_dev *dev = NULL;

	/*
	 * 8 free but 6 promised to others: 2 usable, 8 needed, and no
	 * overcommit limit this process may raise (the fake tree has none).
	 */
	pool("8\n", "8\n", "6\n");
	cr_expect_eq(daxalloc_dev_open(ctx, "hugetlb:2M:16M", &dev), -ENOMEM);
	cr_expect(strstr(daxalloc_errmsg(), "needs 8 free 2M pages, 2 available"), "%s",
		  daxalloc_errmsg());
	expect_hp2m("nr_hugepages", 8, "the pool size changed: %s");
}

/* Opening describes: with surplus pages allowed, nothing is taken or changed before a map. */
Test(hugetlb_pool, open_changes_nothing)
{
	struct daxalloc_dev *dev = NULL;

	pool("0\n", "0\n", "0\n");
	fake_tree_file(&t, HP2M "nr_overcommit_hugepages", "0\n");
	if (geteuid() != 0)
		cr_skip_test("needs root to write the overcommit limit");
	cr_assert_eq(daxalloc_dev_open(ctx, "hugetlb:2M:64G", &dev), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_dev_get_size(dev), 64ull << 30);
	daxalloc_dev_close(&dev);
	expect_hp2m("nr_hugepages", 0, "the pool size changed: %s");
	expect_hp2m("nr_overcommit_hugepages", 0, "the overcommit limit changed: %s");
}

Test(hugetlb_pool, cannot_reserve_says_how)
{
	struct daxalloc_dev *dev = NULL;
	uid_t saved = geteuid();
	char path[PATH_MAX + 256];

	pool("1\n", "1\n", "0\n");
	snprintf(path, sizeof(path), "%s/" HP2M "nr_hugepages", t.root);
	chmod(path, 0444);
	chmod(t.root, 0755);
	/* root writes anyway: drop to an unprivileged effective uid for the call */
	if (saved == 0)
		cr_assert_eq(seteuid(65534), 0, "seteuid: %s", strerror(errno));
	cr_expect_eq(daxalloc_dev_open(ctx, "hugetlb:2M:8M", &dev), -ENOMEM);
	if (saved == 0)
		cr_assert_eq(seteuid(0), 0);
	cr_expect_null(dev);
	cr_expect(strstr(daxalloc_errmsg(), "needs 4 free 2M pages, 1 available"), "%s",
		  daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(),
			 "echo 4 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"),
		  "%s", daxalloc_errmsg());
}

Test(hugetlb_pool, unreadable_pool)
{
	struct daxalloc_dev *dev = NULL;

	fake_tree_file(&t, HP2M "free_hugepages", "0\n");
	fake_tree_file(&t, HP2M "resv_hugepages", "many\n");
	fake_tree_file(&t, HP2M "nr_hugepages", "0\n");
	cr_expect_eq(daxalloc_dev_open(ctx, "hugetlb:2M:4M", &dev), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "cannot read the huge page pool"), "%s",
		  daxalloc_errmsg());
}

Test(hugetlb_pool, no_such_page_size)
{
	struct daxalloc_dev *dev = NULL;

	cr_expect_eq(daxalloc_dev_open(ctx, "hugetlb:1G", &dev), -EOPNOTSUPP);
	cr_expect(strstr(daxalloc_errmsg(), "no 1G huge pages"), "%s", daxalloc_errmsg());
}
