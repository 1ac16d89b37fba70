// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Who uses a device, read from a fake procfs laid out like the kernel's:
 * open file descriptors, mappings, DMA handles, and the traps (a longer
 * name with the same prefix, io_uring without buffers, vanished and
 * unreadable processes).  One case reads the real /proc.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fake-tree.h"
#include "reconfig.h"

static struct fake_tree t;

#define MAPLINE(dev) "7f0000000000-7f0040000000 rw-s 00000000 00:05 517 " dev "\n"

static void proc(int pid, const char *comm)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "%d/comm", pid);
	fake_tree_file(&t, rel, comm);
	snprintf(rel, sizeof(rel), "%d/fd", pid);
	fake_tree_dir(&t, rel);
	snprintf(rel, sizeof(rel), "%d/maps", pid);
	fake_tree_file(&t, rel,
		       "55d000000000-55d000021000 r-xp 00000000 08:01 1234 /usr/bin/prog\n"
		       "7f1000000000-7f1000200000 rw-p 00000000 00:00 0 \n");
}

static void fd(int pid, int n, const char *target)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "%d/fd/%d", pid, n);
	fake_tree_link(&t, rel, target);
}

static void setup(void)
{
	fake_tree_new(&t);
	fake_tree_file(&t, "bus/dax/devices/dax0.1/dev", "252:1\n");
	proc(100, "opener\n");
	fd(100, 0, "/dev/null");
	fd(100, 3, "/dev/dax0.1");
	proc(200, "mapper\n");
	fake_tree_file(&t, "200/maps", MAPLINE("/dev/dax0.1"));
	proc(300, "other-dev\n");
	fd(300, 3, "/dev/dax0.10");
	fake_tree_file(&t, "300/maps", MAPLINE("/dev/dax0.10"));
	proc(400, "vfio-user\n");
	fd(400, 5, "/dev/vfio/vfio");
	fd(400, 6, "/dev/vfio/12");
	proc(500, "uring\n");
	fd(500, 7, "anon_inode:[io_uring]");
	fake_tree_file(&t, "500/fdinfo/7",
		       "SqMask:\t0x3f\nUserFiles:\t0\nUserBufs:\t2\n    0: 0x7f00/1073741824\n");
	proc(501, "uring-nobufs\n");
	fd(501, 7, "anon_inode:[io_uring]");
	fake_tree_file(&t, "501/fdinfo/7", "SqMask:\t0x3f\nUserBufs:\t0\n");
	proc(600, "verbs\n");
	fd(600, 9, "/dev/infiniband/uverbs0");
	/* gone between listing and reading: no fd folder, no maps */
	fake_tree_file(&t, "800/comm", "ghost\n");
	/* not processes */
	fake_tree_link(&t, "self", "100");
	fake_tree_dir(&t, "sys/kernel");
	fake_tree_file(&t, "uptime", "1.0 1.0\n");
}

static void teardown(void)
{
	fake_tree_delete(&t);
}

TestSuite(holders, .init = setup, .fini = teardown);

static const struct holder *find(const struct holder *h, int n, int pid)
{
	for (int i = 0; i < n; i++)
		if (h[i].pid == pid)
			return &h[i];
	return NULL;
}

Test(holders, finds_open_mapped_and_dma_handles)
{
	struct holder h[16];
	const struct holder *x;
	int n = holders_scan("dax0.1", h, 16);

	cr_assert_eq(n, 5, "found %d: %s", n, daxalloc_errmsg());
	x = find(h, n, 100);
	cr_assert_not_null(x);
	cr_expect_eq(x->what, HOLDER_OPEN);
	cr_expect_str_eq(x->comm, "opener");
	x = find(h, n, 200);
	cr_assert_not_null(x);
	cr_expect_eq(x->what, HOLDER_MAPPED);
	x = find(h, n, 400);
	cr_assert_not_null(x);
	cr_expect_eq(x->what, HOLDER_DMA);
	cr_expect_eq(strncmp(x->dma, "/dev/vfio/", 10), 0, "%s", x->dma);
	x = find(h, n, 500);
	cr_assert_not_null(x);
	cr_expect_eq(x->what, HOLDER_DMA);
	cr_expect(strstr(x->dma, "io_uring"), "%s", x->dma);
	x = find(h, n, 600);
	cr_assert_not_null(x);
	cr_expect_str_eq(x->dma, "/dev/infiniband/uverbs0");
	/* a name with the same prefix, and io_uring without buffers, are no holders */
	cr_expect_null(find(h, n, 300));
	cr_expect_null(find(h, n, 501));
	for (int i = 1; i < n; i++)
		cr_expect_lt(h[i - 1].pid, h[i].pid, "sorted by pid");
}

Test(holders, other_device_is_found_separately)
{
	struct holder h[4];
	int n = holders_scan("dax0.10", h, 4);

	/* pid 300 uses dax0.10; the DMA holders count for every device */
	cr_assert_eq(n, 4, "found %d", n);
	cr_expect_eq(h[0].pid, 300);
	cr_expect_eq(h[0].what, HOLDER_OPEN | HOLDER_MAPPED);
}

Test(holders, count_beyond_the_array)
{
	struct holder h[2];
	char buf[300];
	int n = holders_scan("dax0.1", h, 2);

	cr_assert_eq(n, 5);
	cr_expect_eq(h[0].pid, 100);
	cr_expect_eq(h[1].pid, 200);
	holders_describe(h, 2, n, HOLDER_OPEN | HOLDER_MAPPED, buf, sizeof(buf));
	cr_expect_str_eq(buf,
			 "pid 100 (opener) has it open, pid 200 (mapper) has it mapped and 3 more");
}

Test(holders, users_of_the_device_are_kept_before_dma_handles)
{
	struct holder h[1];
	int n;

	/* the lowest pid only holds a DMA handle */
	proc(50, "early-vfio\n");
	fd(50, 4, "/dev/vfio/vfio");
	n = holders_scan("dax0.1", h, 1);
	cr_assert_eq(n, 6);
	cr_expect_eq(h[0].pid, 100, "got pid %d", h[0].pid);
	cr_expect_eq(h[0].what, HOLDER_OPEN);
}

Test(holders, describe_dma)
{
	struct holder h[16];
	char buf[300];
	int n = holders_scan("dax0.1", h, 16);

	holders_describe(h, n, n, HOLDER_DMA, buf, sizeof(buf));
	cr_expect(strstr(buf, "pid 400 (vfio-user) holds /dev/vfio/"), "%s", buf);
	cr_expect(strstr(buf, "pid 500 (uring) holds io_uring with registered buffers"), "%s", buf);
	cr_expect_null(strstr(buf, "opener"), "%s", buf);
}

Test(holders, nobody_uses_an_unknown_device)
{
	struct holder h[16];
	int n = holders_scan("dax7.7", h, 16);

	/* only the DMA handle holders, who could pin anything */
	cr_expect_eq(n, 3);
	for (int i = 0; i < n; i++)
		cr_expect_eq(h[i].what, HOLDER_DMA);
}

Test(holders, unreadable_process_is_an_error_naming_it)
{
	struct holder h[16];
	int n;

	/* a fd "folder" that cannot be listed stands for one we may not read */
	fake_tree_file(&t, "700/comm", "secret\n");
	fake_tree_file(&t, "700/fd", "not a folder");
	n = holders_scan("dax0.1", h, 16);
	cr_expect_lt(n, 0);
	cr_expect(strstr(daxalloc_errmsg(), "pid 700 (secret)"), "%s", daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "dax0.1"), "%s", daxalloc_errmsg());
}

Test(holders, no_proc_is_an_error)
{
	struct holder h[4];

	setenv("DAXALLOC_PROCFS_ROOT", "/nonexistent-procfs", 1);
	cr_expect_eq(holders_scan("dax0.1", h, 4), -ENOENT);
	cr_expect(strstr(daxalloc_errmsg(), "/nonexistent-procfs"), "%s", daxalloc_errmsg());
}

/*
 * The real procfs entries of this process (some others' may be closed to
 * us): it holds the device by its number, under another name.
 */
Test(holders, real_proc_matches_by_device_number)
{
	char num[32], rel[32], target[64];
	struct holder h[8];
	struct stat st;
	int f, n;

	f = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(f, 0);
	cr_assert_eq(fstat(f, &st), 0);
	snprintf(num, sizeof(num), "%u:%u\n", major(st.st_rdev), minor(st.st_rdev));
	fake_tree_file(&t, "bus/dax/devices/dax9.9/dev", num);
	snprintf(rel, sizeof(rel), "%d", getpid());
	snprintf(target, sizeof(target), "/proc/%d", getpid());
	fake_tree_link(&t, rel, target);
	n = holders_scan("dax9.9", h, 8);
	/* the three DMA holders, pid 100 whose fd 0 is the real /dev/null, and us */
	cr_assert_eq(n, 5, "n=%d %s", n, daxalloc_errmsg());
	cr_assert_not_null(find(h, n, getpid()));
	cr_expect_eq(find(h, n, getpid())->what, HOLDER_OPEN, "found by device number");
	cr_assert_not_null(find(h, n, 100));
	cr_expect_eq(find(h, n, 100)->what, HOLDER_OPEN);
	close(f);
}
