// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The stand-in's huge pages, machine-wide: opening one (as info does)
 * takes none, mapping takes them, and they all come back when the process
 * ends, even by SIGKILL; a kept stand-in outlives processes until released.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daxalloc.h"
#include "handshake.h"

#define HP "/sys/kernel/mm/hugepages/hugepages-2048kB/"

static uint64_t hp(const char *attr)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), HP "%s", attr);
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fscanf(f, "%llu", &v), 1);
	fclose(f);
	return v;
}

static char rundir[] = "/tmp/daxalloc-standin-XXXXXX";

static void setup(void)
{
	if (access(HP "free_hugepages", R_OK) != 0)
		cr_skip_test("this kernel offers no 2M huge pages");
	cr_assert_not_null(mkdtemp(rundir));
	setenv("DAXALLOC_RUNDIR", rundir, 1);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", rundir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", rundir);
}

TestSuite(standin, .init = setup, .fini = teardown, .timeout = 120);

/* Pages taken since: free ones used plus surplus ones made. */
static int64_t taken(uint64_t free0, uint64_t surplus0)
{
	return (int64_t)free0 - (int64_t)hp("free_hugepages") + (int64_t)hp("surplus_hugepages") -
	       (int64_t)surplus0;
}

/* A stand-in larger than the free pages: the rest must come as surplus. */
static void beyond_free(char *name, size_t len, uint64_t *pages)
{
	uint64_t free_p = hp("free_hugepages"), resv = hp("resv_hugepages");

	*pages = (free_p > resv ? free_p - resv : 0) + 8;
	snprintf(name, len, "hugetlb:2M:%lluM", (unsigned long long)*pages * 2);
}

Test(standin, open_takes_no_pages)
{
	struct daxalloc_ctx *ctx;
	struct daxalloc_dev *dev;
	struct daxalloc_map *map;
	uint64_t free0 = hp("free_hugepages"), nr0 = hp("nr_hugepages");
	uint64_t surplus0 = hp("surplus_hugepages");

	if (geteuid() != 0)
		cr_skip_test("needs root to take surplus huge pages");
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	cr_assert_eq(daxalloc_dev_open(ctx, "hugetlb:2M:16M", &dev), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(hp("free_hugepages"), free0, "opening took %lld free pages",
		     (long long)free0 - (long long)hp("free_hugepages"));
	cr_expect_eq(hp("nr_hugepages"), nr0, "opening grew the pool");
	cr_assert_eq(daxalloc_map_new(dev, 0, 2u << 20, NULL, 0, &map), 0, "%s", daxalloc_errmsg());
	/* the first map takes the whole stand-in, as a device's memory exists whole */
	cr_expect_eq(taken(free0, surplus0), 8, "a map of the stand-in took %lld pages",
		     (long long)taken(free0, surplus0));
	daxalloc_map_delete(&map);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
	cr_expect_eq(hp("free_hugepages"), free0);
}

Test(standin, sigkill_gives_pages_back)
{
	uint64_t nr0 = hp("nr_hugepages"), surplus0 = hp("surplus_hugepages");
	uint64_t persistent0 = nr0 - surplus0, over0 = hp("nr_overcommit_hugepages"), pages;
	char name[64], c;
	int p[2], st;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to take surplus huge pages");
	beyond_free(name, sizeof(name), &pages);
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct daxalloc_ctx *ctx;
		struct daxalloc_dev *dev;
		struct daxalloc_map *map;

		if (daxalloc_ctx_new(&ctx) < 0 || daxalloc_dev_open(ctx, name, &dev) < 0 ||
		    daxalloc_map_new(dev, 0, pages << 21, NULL, DAXALLOC_MAP_POPULATE, &map) < 0) {
			fprintf(stderr, "child: %s\n", daxalloc_errmsg());
			_exit(1);
		}
		if (write(p[1], "m", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &c, 1), 1, "the child could not map %s", name);
	cr_expect_geq(hp("nr_hugepages"), nr0 + 8,
		      "the child holds %llu pages beyond the free ones", (unsigned long long)8);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(p[0]);
	/*
	 * nr_hugepages counts persistent and surplus pages; the stand-in
	 * never changes the persistent ones (others on the machine may), so
	 * its pages are back when the surplus is.
	 */
	cr_expect_eq(hp("surplus_hugepages"), surplus0, "%llu surplus pages left after SIGKILL",
		     (unsigned long long)(hp("surplus_hugepages") - surplus0));
	cr_expect_eq(hp("nr_hugepages") - hp("surplus_hugepages"), persistent0,
		     "nr_hugepages %llu after SIGKILL, was %llu: grown by pages nobody holds",
		     (unsigned long long)hp("nr_hugepages"), (unsigned long long)nr0);
	cr_expect_eq(hp("nr_overcommit_hugepages"), over0, "the overcommit limit stayed raised");
}

static void ctx_open(struct daxalloc_ctx **ctx, struct daxalloc_dev **dev, const char *name)
{
	cr_assert_eq(daxalloc_ctx_new(ctx), 0);
	cr_assert_eq(daxalloc_dev_open(*ctx, name, dev), 0, "%s", daxalloc_errmsg());
}

Test(standin, kept_outlives_the_process_until_released)
{
	struct daxalloc_ctx *ctx;
	struct daxalloc_dev *dev;
	struct daxalloc_pool *pool;
	struct daxalloc_region *r;
	uint64_t free0 = hp("free_hugepages"), surplus0 = hp("surplus_hugepages");
	pid_t pid;
	int st;

	if (geteuid() != 0)
		cr_skip_test("needs root to mount hugetlbfs");
	/* A child keeps a pool with a region and exits. */
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		ctx_open(&ctx, &dev, "hugetlb:2M:16M");
		if (daxalloc_pool_create(dev, DAXALLOC_POOL_KEEP, &pool) < 0 ||
		    daxalloc_alloc(pool, 4u << 20, "kept", 0, &r) < 0) {
			fprintf(stderr, "child: %s\n", daxalloc_errmsg());
			_exit(1);
		}
		memset(daxalloc_region_get_address(r), 0x5a, 4u << 20);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_expect_eq(taken(free0, surplus0), 8, "the kept stand-in holds %lld pages, not 8",
		     (long long)taken(free0, surplus0));

	/* Another process finds it by the short name, with the region's bytes. */
	ctx_open(&ctx, &dev, "hugetlb:2M");
	cr_expect_eq(daxalloc_dev_get_size(dev), 16u << 20);
	cr_assert_eq(daxalloc_pool_open(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_region_open(pool, "kept", 0, &r), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(((unsigned char *)daxalloc_region_get_address(r))[(4u << 20) - 1], 0x5a);
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	/* another size is another stand-in, empty, and says which one is kept */
	cr_assert_eq(daxalloc_dev_open(ctx, "hugetlb:2M:32M", &dev), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_pool_open(dev, 0, &pool), -ENODATA);
	cr_expect(strstr(daxalloc_errmsg(), "hugetlb:2M:16M"), "%s", daxalloc_errmsg());
	daxalloc_dev_close(&dev);

	/* Released only with its data, and then its pages go back. */
	cr_expect_eq(daxalloc_dev_destroy(ctx, "hugetlb:2M", 0), -EBUSY);
	cr_expect(strstr(daxalloc_errmsg(), "1 regions"), "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_dev_destroy(ctx, "hugetlb:2M", DAXALLOC_RECONFIG_DESTROY_DATA), 0,
		     "%s", daxalloc_errmsg());
	cr_expect_eq(hp("free_hugepages"), free0);
	cr_expect_eq(hp("surplus_hugepages"), surplus0);
	cr_expect_eq(daxalloc_dev_destroy(ctx, "hugetlb:2M", 0), -ENOENT);
	daxalloc_ctx_delete(&ctx);
}

/*
 * The stand-in lock lives in a folder others can reach: anyone who holds
 * it must not hang a stand-in forever.  The wait ends, naming the holder.
 */
Test(standin, a_held_lock_is_waited_for_a_bounded_time)
{
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_map *m = NULL;
	char path[256], want[32];
	struct handshake h;
	pid_t holder;
	int rc;

	snprintf(path, sizeof(path), "%s/hugetlb.lock", rundir);
	holder = handshake_fork(&h);
	if (holder == 0) {
		int fd = open(path, O_RDWR | O_CREAT, 0644);

		if (fd < 0 || flock(fd, LOCK_EX) < 0 || handshake_ready(&h, NULL, 0) < 0)
			_exit(1);
		_exit(handshake_wait_go(&h) < 0);
	}
	cr_assert(handshake_wait_ready(&h, NULL, 0));
	setenv("DAXALLOC_LOCK_TIMEOUT", "1", 1);
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	cr_assert_eq(daxalloc_dev_open(ctx, "hugetlb:2M:4M", &dev), 0, "%s", daxalloc_errmsg());
	rc = daxalloc_map_new(dev, 0, 2 << 20, NULL, 0, &m);
	cr_expect_eq(rc, -EBUSY, "%s", daxalloc_errmsg());
	snprintf(want, sizeof(want), "held by pid %d", holder);
	cr_expect(strstr(daxalloc_errmsg(), want), "%s", daxalloc_errmsg());
	cr_assert_eq(handshake_go(&h), 0);
	handshake_close(&h);
	waitpid(holder, NULL, 0);
	cr_expect_eq(daxalloc_map_new(dev, 0, 2 << 20, NULL, 0, &m), 0, "once let go: %s",
		     daxalloc_errmsg());
	daxalloc_map_delete(&m);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
	unsetenv("DAXALLOC_LOCK_TIMEOUT");
}
