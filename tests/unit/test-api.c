// SPDX-License-Identifier: LGPL-2.1-or-later
/* Error paths of the public API that need no device. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "daxalloc.h"
#include "private.h"
#include "refusal.h"

static struct daxalloc_ctx *ctx;

static void setup(void)
{
	unsetenv("DAXALLOC_DEVICE");
	unsetenv("DAXALLOC_LOG");
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0, "%s", daxalloc_errmsg());
}

static void teardown(void)
{
	daxalloc_ctx_delete(&ctx);
	cr_expect_null(ctx, "delete must NULL the pointer");
}

TestSuite(api, .init = setup, .fini = teardown);

Test(api, version_matches_header)
{
	char want[32];

	snprintf(want, sizeof(want), "%d.%d.%d", DAXALLOC_VERSION_MAJOR, DAXALLOC_VERSION_MINOR,
		 DAXALLOC_VERSION_MICRO);
	cr_expect_str_eq(daxalloc_version(), want);
}

/* Decided by the preprocessor, each part in turn; the header is 0.2.0. */
#if !DAXALLOC_CHECK_VERSION(0, 2, 0) || !DAXALLOC_CHECK_VERSION(0, 1, 9) || \
	DAXALLOC_CHECK_VERSION(0, 2, 1) || DAXALLOC_CHECK_VERSION(1, 0, 0)
#error DAXALLOC_CHECK_VERSION disagrees with the version macros
#endif

Test(api, check_version)
{
	int major = DAXALLOC_VERSION_MAJOR, minor = DAXALLOC_VERSION_MINOR;
	int micro = DAXALLOC_VERSION_MICRO;

	cr_expect(DAXALLOC_CHECK_VERSION(major, minor, micro));
	cr_expect(DAXALLOC_CHECK_VERSION(0, 0, 0));
	cr_expect(DAXALLOC_CHECK_VERSION(major, minor, 0));
	cr_expect(!DAXALLOC_CHECK_VERSION(major, minor, micro + 1));
	cr_expect(!DAXALLOC_CHECK_VERSION(major, minor + 1, 0));
	cr_expect(!DAXALLOC_CHECK_VERSION(major + 1, 0, 0));
	if (minor > 0)
		cr_expect(DAXALLOC_CHECK_VERSION(major, minor - 1, micro + 99));
	if (major > 0)
		cr_expect(DAXALLOC_CHECK_VERSION(major - 1, minor + 99, 99));
}

Test(api, null_out_pointers)
{
	struct daxalloc_dev *dev = (void *)1;
	struct daxalloc_map *map = (void *)1;

	cr_expect_eq(daxalloc_ctx_new(NULL), -EINVAL);
	cr_expect_eq(daxalloc_dev_open(ctx, "hugetlb:2M", NULL), -EINVAL);
	cr_expect_eq(daxalloc_dev_open(NULL, "hugetlb:2M", &dev), -EINVAL);
	cr_expect_null(dev, "out-pointer must be cleared on failure");
	cr_expect_eq(daxalloc_map_new(NULL, 0, 4096, NULL, 0, &map), -EINVAL);
	cr_expect_null(map);
	cr_expect_eq(daxalloc_map_new(NULL, 0, 4096, NULL, 0, NULL), -EINVAL);
	/* destructors accept NULL and pointers to NULL */
	daxalloc_ctx_delete(NULL);
	daxalloc_dev_close(NULL);
	daxalloc_map_delete(NULL);
	dev = NULL;
	daxalloc_dev_close(&dev);
	cr_expect_eq(daxalloc_map_get_kernel_page_size(NULL), -EINVAL);
}

struct bad_name {
	const char *name;
	int err;
	const char *says;
};

static const struct bad_name bad_names[] = {
	{ "", EINVAL, "empty device name" },
	{ "foo", EINVAL, "not a device name" },
	{ "dax", EINVAL, "not a device name" },
	{ "dax0", EINVAL, "not a device name" },
	{ "dax0.", EINVAL, "not a device name" },
	{ "dax0.0.0", EINVAL, "not a device name" },
	{ "dax-1.0", EINVAL, "not a device name" },
	{ "../dax0.0", ENODEV, "No such file" },
	{ "dax99.99", ENODEV, "no such device-dax device" },
	{ "/dev/dax99.99", ENODEV, "no such device-dax device" },
	{ "/dev/zero", ENODEV, "not a device-dax device" },
	{ "/tmp", ENODEV, "is a directory" },
	{ "/nonexistent/dax0.0", ENODEV, "No such file" },
	{ "hugetlb:", EINVAL, "must be 2M or 1G" },
	{ "hugetlb:4K", EINVAL, "must be 2M or 1G" },
	{ "hugetlb:3M", EINVAL, "must be 2M or 1G" },
	{ "hugetlb:2m", EINVAL, "must be 2M or 1G" },
	{ "hugetlb:2M:0", EINVAL, "non-zero multiple" },
	{ "hugetlb:2M:3M", EINVAL, "non-zero multiple" },
	{ "hugetlb:1G:512M", EINVAL, "non-zero multiple" },
	{ "hugetlb:1G:lots", EINVAL, "must start with a digit" },
	{ "hugetlb:2M:99999999999999999999", ERANGE, "larger than" },
};

Test(api, open_refuses_bad_names)
{
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		struct daxalloc_dev *dev = NULL;
		int rc = daxalloc_dev_open(ctx, bad_names[i].name, &dev);

		cr_expect_eq(rc, -bad_names[i].err, "'%s': rc %d (%s)", bad_names[i].name, rc,
			     daxalloc_errmsg());
		cr_expect_null(dev);
		refusal_expect_says(bad_names[i].name, bad_names[i].says);
	}
}

Test(api, open_refuses_regular_file)
{
	char path[] = "/tmp/daxalloc-regular-XXXXXX";
	struct daxalloc_dev *dev = NULL;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	cr_expect_eq(daxalloc_dev_open(ctx, path, &dev), -ENODEV);
	cr_expect(strstr(daxalloc_errmsg(), "regular file"), "%s", daxalloc_errmsg());
	unlink(path);
}

Test(api, default_from_environment_is_checked)
{
	struct daxalloc_dev *dev = NULL;

	setenv("DAXALLOC_DEVICE", "hugetlb:5M", 1);
	cr_expect_eq(daxalloc_dev_open(ctx, NULL, &dev), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "hugetlb:5M"), "%s", daxalloc_errmsg());
	setenv("DAXALLOC_DEVICE", "nodev", 1);
	cr_expect_eq(daxalloc_dev_open(ctx, NULL, &dev), -EINVAL);
	unsetenv("DAXALLOC_DEVICE");
}

static void *other_thread(void *arg)
{
	uint64_t v;

	(void)arg;
	daxalloc_size_parse("7Q", &v);
	return strdup(daxalloc_errmsg());
}

Test(api, errmsg_is_per_thread)
{
	pthread_t th;
	uint64_t v;
	void *theirs;

	daxalloc_size_parse("", &v);
	cr_assert(strstr(daxalloc_errmsg(), "must start with a digit"));
	pthread_create(&th, NULL, other_thread, NULL);
	pthread_join(th, &theirs);
	cr_expect(strstr(theirs, "unknown unit"), "%s", (char *)theirs);
	cr_expect(strstr(daxalloc_errmsg(), "must start with a digit"),
		  "another thread's failure overwrote ours: %s", daxalloc_errmsg());
	free(theirs);
}

static int logged;
static int logged_prio;

static void catch_log(struct daxalloc_ctx *c, int prio, const char *msg, void *ud)
{
	(void)c;
	cr_expect_eq(ud, &logged);
	cr_expect_not_null(msg);
	logged++;
	logged_prio = prio;
}

Test(api, log_priority_and_callback)
{
	struct daxalloc_dev *dev = NULL;

	daxalloc_ctx_set_log_fn(ctx, catch_log, &logged);
	daxalloc_ctx_set_log_priority(ctx, LOG_ERR);
	cr_expect_eq(daxalloc_ctx_get_log_priority(ctx), LOG_ERR);
	daxalloc_log(ctx, LOG_DEBUG, "hidden %d", 1);
	cr_expect_eq(logged, 0);
	daxalloc_ctx_set_log_priority(ctx, 99);
	cr_expect_eq(daxalloc_ctx_get_log_priority(ctx), LOG_DEBUG);
	daxalloc_log(ctx, LOG_DEBUG, "shown %d", 2);
	cr_expect_eq(logged, 1);
	cr_expect_eq(logged_prio, LOG_DEBUG);
	daxalloc_dev_open(ctx, "hugetlb:3M", &dev);
	cr_expect_eq(daxalloc_ctx_get_log_priority(NULL), -EINVAL);
}

Test(api, log_level_names)
{
	cr_expect_eq(daxalloc_log_parse_priority("debug"), LOG_DEBUG);
	cr_expect_eq(daxalloc_log_parse_priority("INFO"), LOG_INFO);
	cr_expect_eq(daxalloc_log_parse_priority("err"), LOG_ERR);
	cr_expect_eq(daxalloc_log_parse_priority("warn"), LOG_WARNING);
	cr_expect_eq(daxalloc_log_parse_priority("6"), LOG_INFO);
	cr_expect_eq(daxalloc_log_parse_priority("8"), -1);
	cr_expect_eq(daxalloc_log_parse_priority("loud"), -1);
	cr_expect_eq(daxalloc_log_parse_priority(""), -1);
}

Test(api, log_level_from_environment)
{
	struct daxalloc_ctx *c2 = NULL;

	setenv("DAXALLOC_LOG", "info", 1);
	cr_assert_eq(daxalloc_ctx_new(&c2), 0);
	cr_expect_eq(daxalloc_ctx_get_log_priority(c2), LOG_INFO);
	daxalloc_ctx_delete(&c2);
	unsetenv("DAXALLOC_LOG");
}

Test(api, region_kind_names)
{
	cr_expect_str_eq(daxalloc_region_kind_name(DAXALLOC_REGION_STATIC), "static");
	cr_expect_str_eq(daxalloc_region_kind_name(DAXALLOC_REGION_DYNAMIC), "dynamic");
	cr_expect_str_eq(daxalloc_region_kind_name(DAXALLOC_REGION_NONE), "none");
	cr_expect_str_eq(daxalloc_region_kind_name(42), "unknown");
}
