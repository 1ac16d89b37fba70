// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reconfiguration without a kernel: the size and alignment rules, where a
 * region's free memory lies (from a fake sysfs laid out like an hmem
 * region), placement of 1G devices, a pmem namespace's usable size, the
 * safety gate against a fake procfs and a pin ledger, and the disable
 * that must not hang (a FIFO stands in for an unbind that blocks), and
 * the uuid of a re-created namespace's devdax instance.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake-tree.h"
#include "pin.h"
#include "reconfig.h"
#include "refuse-syscall.h"

#define G (UINT64_C(1) << 30)
#define M (UINT64_C(1) << 20)

static struct fake_tree t;

/* ---- rules ---------------------------------------------------------------- */

Test(rules, granule)
{
	cr_expect_eq(layout_granule(DAXALLOC_SIZE_4K), 2 * M, "4K devices are whole 2M units");
	cr_expect_eq(layout_granule(DAXALLOC_SIZE_2M), 2 * M);
	cr_expect_eq(layout_granule(DAXALLOC_SIZE_1G), G);
}

Test(rules, size_multiple_of_alignment)
{
	cr_expect_eq(layout_check_size("dax0.1", 2 * G, G), 0);
	cr_expect_eq(layout_check_size("dax0.1", 4 * M, DAXALLOC_SIZE_4K), 0);
	cr_expect_eq(layout_check_size("dax0.1", 1536 * M, G), -EINVAL);
	cr_expect_str_eq(daxalloc_errmsg(),
			 "dax0.1: size 1536M is not a multiple of the alignment 1G; nearest valid sizes: 1G or 2G");
	cr_expect_eq(layout_check_size("dax0.1", 512 * M, G), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "nearest valid size: 1G"), "%s", daxalloc_errmsg());
	cr_expect_eq(layout_check_size("dax0.1", 3 * M, DAXALLOC_SIZE_4K), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "hotplug units, even at align 4K"), "%s",
		  daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "2M or 4M"), "%s", daxalloc_errmsg());
	cr_expect_eq(layout_check_size("dax0.1", 0, DAXALLOC_SIZE_2M), -EINVAL);
}

Test(rules, ranges_start_and_end_on_alignment)
{
	struct dax_range ok[] = { { 4 * G, G }, { 6 * G, 2 * G } };
	struct dax_range off[] = { { 4 * G, G }, { 5 * G + 512 * M, G } };
	struct dax_range short_end[] = { { 4 * G, G + 2 * M } };

	cr_expect_eq(layout_check_ranges("dax0.2", ok, 2, G), 0);
	cr_expect_eq(layout_check_ranges("dax0.2", off, 2, DAXALLOC_SIZE_2M), 0);
	cr_expect_eq(layout_check_ranges("dax0.2", off, 2, G), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "dax0.2: its memory 0x160000000-0x19fffffff starts"),
		  "%s", daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "not on a 1G boundary"), "%s", daxalloc_errmsg());
	cr_expect_eq(layout_check_ranges("dax0.2", short_end, 1, G), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "ends"), "%s", daxalloc_errmsg());
}

Test(rules, free_pieces_on_boundaries)
{
	/* region 4G..7G: 4G-5G used, 5G-5.5G used, 6G-6.5G used */
	struct dax_range used[] = { { 4 * G, G }, { 5 * G, 512 * M }, { 6 * G, 512 * M } };
	struct dax_range out[8];
	uint64_t total;
	int n;

	n = layout_free_pieces(4 * G, 3 * G, used, 3, 2 * M, out, 8, &total);
	cr_assert_eq(n, 2);
	cr_expect_eq(out[0].start, 5 * G + 512 * M);
	cr_expect_eq(out[0].len, 512 * M);
	cr_expect_eq(out[1].start, 6 * G + 512 * M);
	cr_expect_eq(total, G);
	n = layout_free_pieces(4 * G, 3 * G, used, 3, G, out, 8, &total);
	cr_expect_eq(n, 0, "no whole 1G piece on a 1G boundary");
	cr_expect_eq(total, 0);
	/* free the 1G at 6G */
	used[2] = (struct dax_range){ 7 * G, 0 };
	n = layout_free_pieces(4 * G, 3 * G, used, 2, G, out, 8, &total);
	cr_assert_eq(n, 1);
	cr_expect_eq(out[0].start, 6 * G);
	cr_expect_eq(out[0].len, G);
	/* an empty region: one piece; more pieces than room: counted */
	n = layout_free_pieces(4 * G, 3 * G, NULL, 0, G, out, 0, &total);
	cr_expect_eq(n, 1);
	cr_expect_eq(total, 3 * G);
}

Test(rules, plan_prefers_one_piece)
{
	struct dax_range free[] = { { 5 * G, G }, { 8 * G, 3 * G }, { 12 * G, G } };
	struct dax_range out[4];
	int n;

	n = layout_plan(free, 3, 2 * G, G, out, 4);
	cr_assert_eq(n, 1);
	cr_expect_eq(out[0].start, 8 * G);
	cr_expect_eq(out[0].len, 2 * G);
	n = layout_plan(free, 3, G, G, out, 4);
	cr_assert_eq(n, 1);
	cr_expect_eq(out[0].start, 5 * G, "first fit");
	n = layout_plan(free, 3, 5 * G, G, out, 4);
	cr_assert_eq(n, 3);
	cr_expect_eq(out[0].len + out[1].len + out[2].len, 5 * G);
	cr_expect_eq(out[2].start, 12 * G);
	cr_expect_eq(out[2].len, G);
	cr_expect_eq(layout_plan(free, 3, 6 * G, G, out, 4), -ENOSPC);
	cr_expect_eq(layout_plan(free, 3, G + 2 * M, G, out, 4), -EINVAL);
}

Test(rules, namespace_usable_size)
{
	/* 2G namespace at 13G, struct pages in RAM: what the guest shows */
	cr_expect_eq(layout_ns_usable(13 * G, 2 * G, DAXALLOC_SIZE_4K, false), 2046 * M);
	cr_expect_eq(layout_ns_usable(13 * G, 2 * G, DAXALLOC_SIZE_2M, false), 2046 * M);
	cr_expect_eq(layout_ns_usable(13 * G, 2 * G, DAXALLOC_SIZE_1G, false), G);
	/* the 3G static1g namespace of the guest: 2G at 1G */
	cr_expect_eq(layout_ns_usable(10 * G, 3 * G, DAXALLOC_SIZE_1G, false), 2 * G);
	/* 1G namespace at 1G: nothing left */
	cr_expect_eq(layout_ns_usable(13 * G, G, DAXALLOC_SIZE_1G, false), 0);
	/* struct pages on the device: 64 bytes per 4K page come off first */
	cr_expect_eq(layout_ns_usable(13 * G, 2 * G, DAXALLOC_SIZE_2M, true), 2048 * M - 34 * M);
}

/* ---- a fake hmem region --------------------------------------------------- */

#define HMEM "devices/platform/hmem.0"

static void dev(const char *region_dir, const char *name, const char *size)
{
	char rel[256], target[256];

	snprintf(rel, sizeof(rel), "%s/%s/size", region_dir, name);
	fake_tree_file(&t, rel, size);
	snprintf(rel, sizeof(rel), "%s/%s/align", region_dir, name);
	fake_tree_file(&t, rel, "2097152\n");
	snprintf(rel, sizeof(rel), "bus/dax/devices/%s", name);
	snprintf(target, sizeof(target), "../../../%s/%s", region_dir, name);
	fake_tree_link(&t, rel, target);
}

static void mapping(const char *region_dir, const char *name, int id, const char *start,
		    const char *end, const char *pgoff)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "%s/%s/mapping%d/start", region_dir, name, id);
	fake_tree_file(&t, rel, start);
	snprintf(rel, sizeof(rel), "%s/%s/mapping%d/end", region_dir, name, id);
	fake_tree_file(&t, rel, end);
	snprintf(rel, sizeof(rel), "%s/%s/mapping%d/page_offset", region_dir, name, id);
	fake_tree_file(&t, rel, pgoff);
}

static void setup(void)
{
	fake_tree_new(&t);
	/* dynamic region 0 at 4G, 3G: dax0.1 4G-5G, dax0.2 6G-6.5G then 5G-5.5G */
	fake_tree_file(&t, HMEM "/dax_region/id", "0\n");
	fake_tree_file(&t, HMEM "/dax_region/size", "3221225472\n");
	fake_tree_file(&t, HMEM "/dax_region/align", "2097152\n");
	fake_tree_file(&t, HMEM "/dax_region/available_size", "1073741824\n");
	fake_tree_file(&t, HMEM "/dax_region/create", "dax0.2\n");
	fake_tree_file(&t, HMEM "/dax_region/seed", "\n");
	fake_tree_file(&t, HMEM "/dax_region/delete", "");
	dev(HMEM, "dax0.0", "0\n");
	fake_tree_file(&t, HMEM "/dax0.0/resource", "0x100000000\n");
	dev(HMEM, "dax0.1", "1073741824\n");
	mapping(HMEM, "dax0.1", 0, "0x100000000\n", "0x13fffffff\n", "0x0\n");
	dev(HMEM, "dax0.2", "1073741824\n");
	mapping(HMEM, "dax0.2", 0, "0x180000000\n", "0x19fffffff\n", "0x0\n");
	mapping(HMEM, "dax0.2", 3, "0x140000000\n", "0x15fffffff\n", "0x20000\n");
	fake_tree_file(&t, HMEM "/dax0.2/mapping", "");
	fake_tree_link(&t, HMEM "/dax0.1/driver", "../../../../bus/dax/drivers/device_dax");
	fake_tree_dir(&t, "bus/dax/drivers/device_dax");
	/* a static region: one pmem namespace */
	fake_tree_file(&t, "devices/ndbus0/region1/dax1.0/dax_region/id", "1\n");
	fake_tree_file(&t, "devices/ndbus0/region1/dax1.0/dax_region/size", "2145386496\n");
	dev("devices/ndbus0/region1/dax1.0", "dax1.0", "2145386496\n");
	mapping("devices/ndbus0/region1/dax1.0", "dax1.0", 0, "0x200200000\n", "0x27fffffff\n",
		"0x0\n");
	/* a dynamic region without an empty device: /proc/iomem says where it is */
	fake_tree_file(&t, "devices/platform/hmem.2/dax_region/id", "2\n");
	fake_tree_file(&t, "devices/platform/hmem.2/dax_region/size", "4294967296\n");
	fake_tree_file(&t, "devices/platform/hmem.2/dax_region/available_size", "3221225472\n");
	fake_tree_file(&t, "devices/platform/hmem.2/dax_region/create", "\n");
	dev("devices/platform/hmem.2", "dax2.1", "1073741824\n");
	mapping("devices/platform/hmem.2", "dax2.1", 0, "0x400000000\n", "0x43fffffff\n", "0x0\n");
	fake_tree_file(&t, "iomem",
		       "00000000-00000fff : Reserved\n"
		       "100000000-17fffffff : hmem.0\n"
		       "  100000000-17fffffff : Soft Reserved\n"
		       "    100000000-13fffffff : dax0.1\n"
		       "400000000-4ffffffff : hmem.2\n"
		       "  400000000-4ffffffff : Soft Reserved\n"
		       "    400000000-43fffffff : dax2.1\n");
	setenv("DAXALLOC_RUNDIR", t.root, 1);
}

static void teardown(void)
{
	unsetenv("DAXALLOC_RUNDIR");
	unsetenv("DAXALLOC_DISABLE_TIMEOUT");
	fake_tree_delete(&t);
}

TestSuite(layout, .init = setup, .fini = teardown);

Test(layout, device_ranges_in_device_order)
{
	struct dax_range r[4];
	int n = layout_dev_ranges("dax0.2", r, 4);

	cr_assert_eq(n, 2);
	cr_expect_eq(r[0].start, 6 * G, "page offset 0 first");
	cr_expect_eq(r[0].len, 512 * M);
	cr_expect_eq(r[1].start, 5 * G);
	cr_expect_eq(layout_dev_ranges("dax0.0", r, 4), 0);
	cr_expect_eq(layout_dev_ranges("dax5.5", r, 4), -ENOENT);
}

Test(layout, driver)
{
	char drv[32];

	cr_expect_eq(layout_dev_driver("dax0.1", drv, sizeof(drv)), 0);
	cr_expect_str_eq(drv, "device_dax");
	cr_expect_eq(layout_dev_driver("dax0.2", drv, sizeof(drv)), 0);
	cr_expect_str_eq(drv, "");
	cr_expect_eq(layout_dev_driver("dax5.5", drv, sizeof(drv)), -ENOENT);
}

Test(layout, dynamic_region)
{
	struct dax_region_layout rl;

	cr_assert_eq(layout_region_of("dax0.2", &rl), 0);
	cr_expect_eq(rl.id, 0);
	cr_expect_eq(rl.kind, DAXALLOC_REGION_DYNAMIC);
	cr_expect_eq(rl.start, 4 * G, "from the empty dax0.0");
	cr_expect_eq(rl.size, 3 * G);
	cr_expect_eq(rl.available, G);
	cr_expect_eq(rl.ndevs, 2);
	cr_expect_str_eq(rl.devs[0], "dax0.1");
	cr_assert_eq(rl.nused, 3);
	cr_expect_eq(rl.used[0].start, 4 * G);
	cr_expect_eq(rl.used[1].start, 5 * G);
	cr_expect_eq(rl.used[2].start, 6 * G);
}

Test(layout, region_start_from_iomem)
{
	struct dax_region_layout rl;

	cr_assert_eq(layout_region_by_id(2, &rl), 0);
	cr_expect_eq(rl.start, 16 * G);
	cr_expect_eq(rl.available, 3 * G);
	cr_expect_eq(layout_region_by_id(1, &rl), -ENODEV, "static regions have no room");
	cr_expect_eq(layout_region_by_id(7, &rl), -ENODEV);
}

struct seen {
	int n, dynamic, statics;
};

static int count_region(const struct daxalloc_daxregion_info *info, void *arg)
{
	struct seen *s = arg;

	s->n++;
	if (info->kind == DAXALLOC_REGION_DYNAMIC)
		s->dynamic++;
	else
		s->statics++;
	return 0;
}

Test(layout, public_region_info)
{
	struct daxalloc_daxregion_info info = { DAXALLOC_DAXREGION_INFO_INIT };
	struct daxalloc_ctx *ctx = NULL;
	struct seen s = { 0 };
	uint64_t avail = 1;

	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	cr_assert_eq(daxalloc_daxregion_get_info(ctx, 0, &info), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(info.start, 4 * G);
	cr_expect_eq(info.size, 3 * G);
	cr_expect_eq(info.align, 2 * M);
	cr_expect_eq(info.available, G);
	cr_expect_eq(info.largest_free, 512 * M);
	cr_expect_eq(info.available_1g, 0);
	cr_expect_eq(info.devices, 2);
	cr_expect_eq(daxalloc_daxregion_get_available(ctx, 0, DAXALLOC_SIZE_2M, &avail), 0);
	cr_expect_eq(avail, G);
	cr_expect_eq(daxalloc_daxregion_get_available(ctx, 0, DAXALLOC_SIZE_1G, &avail), 0);
	cr_expect_eq(avail, 0);
	cr_expect_eq(daxalloc_daxregion_get_available(ctx, 2, DAXALLOC_SIZE_1G, &avail), 0);
	cr_expect_eq(avail, 3 * G);
	cr_expect_eq(daxalloc_daxregion_get_info(ctx, 1, &info), -ENODEV);
	cr_expect(strstr(daxalloc_errmsg(), "dax region 1"), "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_daxregion_foreach(ctx, count_region, &s), 0);
	cr_expect_eq(s.n, 3);
	cr_expect_eq(s.dynamic, 2);
	cr_expect_eq(s.statics, 1);
	daxalloc_ctx_delete(&ctx);
}

Test(layout, create_without_room_is_refused_before_asking)
{
	struct daxalloc_ctx *ctx = NULL;
	char name[32] = "x", buf[64];

	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	cr_expect_eq(daxalloc_dev_create(ctx, 0, G, DAXALLOC_SIZE_1G, name, sizeof(name)), -ENOSPC);
	cr_expect_str_eq(name, "");
	cr_expect(strstr(daxalloc_errmsg(),
			 "dax region 0: no room to create 1G at align 1G: 1G free, of which 0 in whole 1G pieces"),
		  "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_dev_create(ctx, 0, G + 2 * M, DAXALLOC_SIZE_2M, name, sizeof(name)),
		     -ENOSPC);
	fake_tree_read(&t, HMEM "/dax_region/create", buf, sizeof(buf));
	cr_expect_str_eq(buf, "dax0.2\n", "no device was asked for");
	daxalloc_ctx_delete(&ctx);
}

Test(layout, create_failure_gives_the_seed_back)
{
	struct daxalloc_ctx *ctx = NULL;
	char name[32] = "x", buf[64];

	/* the kernel answers "create" with a new empty seed, whose align cannot be set */
	fake_tree_file(&t, HMEM "/dax_region/seed", "dax0.3\n");
	fake_tree_file(&t, HMEM "/dax0.3/size", "0\n");
	fake_tree_file(&t, HMEM "/dax0.3/resource", "0x100000000\n");
	fake_tree_link(&t, "bus/dax/devices/dax0.3", "../../../" HMEM "/dax0.3");
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	cr_expect_eq(daxalloc_dev_create(ctx, 0, 64 * M, DAXALLOC_SIZE_2M, name, sizeof(name)),
		     -ENOENT);
	cr_expect_str_eq(name, "");
	cr_expect(strstr(daxalloc_errmsg(), "dax0.3: the kernel refused align 2M"), "%s",
		  daxalloc_errmsg());
	fake_tree_read(&t, HMEM "/dax_region/create", buf, sizeof(buf));
	cr_expect_str_eq(buf, "1", "a device was asked for");
	fake_tree_read(&t, HMEM "/dax_region/delete", buf, sizeof(buf));
	cr_expect_str_eq(buf, "dax0.3", "and deleted again");
	fake_tree_read(&t, HMEM "/dax0.3/size", buf, sizeof(buf));
	cr_expect_str_eq(buf, "0");
	daxalloc_ctx_delete(&ctx);
}

Test(layout, create_refuses_bad_sizes_before_touching_anything)
{
	struct daxalloc_ctx *ctx = NULL;
	char name[32], buf[64];

	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	cr_expect_eq(daxalloc_dev_create(ctx, 0, 1536 * M, DAXALLOC_SIZE_1G, name, sizeof(name)),
		     -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "1G or 2G"), "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_dev_create(ctx, 0, 2 * M, 3 * M, name, sizeof(name)), -EINVAL);
	cr_expect_eq(daxalloc_dev_create(ctx, 1, 2 * M, 2 * M, name, sizeof(name)), -ENODEV);
	fake_tree_read(&t, HMEM "/dax_region/create", buf, sizeof(buf));
	cr_expect_str_eq(buf, "dax0.2\n", "no device was asked for");
	daxalloc_ctx_delete(&ctx);
}

/* ---- the gate --------------------------------------------------------------- */

static void holder_proc(int pid, const char *comm, const char *fd3)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "%d/comm", pid);
	fake_tree_file(&t, rel, comm);
	snprintf(rel, sizeof(rel), "%d/maps", pid);
	fake_tree_file(&t, rel, "");
	snprintf(rel, sizeof(rel), "%d/fd/3", pid);
	fake_tree_link(&t, rel, fd3);
}

Test(layout, gate_refuses_users_then_dma_then_disabled)
{
	struct daxalloc_ctx *ctx = NULL;
	struct rc_gate g;

	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	holder_proc(4242, "qemu-system-x86\n", "/dev/vfio/vfio");
	cr_expect_eq(rc_gate(ctx, "dax0.2", false, 0, "change its alignment", &g), -EBUSY);
	cr_expect(strstr(daxalloc_errmsg(),
			 "dax0.2: refusing to change its alignment: pid 4242 (qemu-system-x86) holds /dev/vfio/vfio"),
		  "%s", daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "--ignore-dma"), "%s", daxalloc_errmsg());
	/* with the DMA handle allowed: a disabled device's pool cannot be read */
	cr_expect_eq(rc_gate(ctx, "dax0.2", false, DAXALLOC_RECONFIG_IGNORE_DMA, "resize it", &g),
		     -EBUSY);
	cr_expect(strstr(daxalloc_errmsg(), "it is disabled"), "%s", daxalloc_errmsg());
	cr_expect_eq(rc_gate(ctx, "dax0.2", false,
			     DAXALLOC_RECONFIG_IGNORE_DMA | DAXALLOC_RECONFIG_DESTROY_DATA,
			     "resize it", &g),
		     0, "%s", daxalloc_errmsg());
	/* someone with the device open beats every flag */
	holder_proc(4243, "reader\n", "/dev/dax0.2");
	cr_expect_eq(rc_gate(ctx, "dax0.2", false,
			     DAXALLOC_RECONFIG_IGNORE_DMA | DAXALLOC_RECONFIG_DESTROY_DATA,
			     "destroy it", &g),
		     -EBUSY);
	cr_expect(strstr(daxalloc_errmsg(), "pid 4243 (reader) has it open"), "%s",
		  daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "SIGBUS"), "%s", daxalloc_errmsg());
	daxalloc_ctx_delete(&ctx);
}

/* ---- the disable that cannot hang ------------------------------------------- */

static bool wait_for_content(const char *path, const char *want, int ms)
{
	char buf[64];

	for (int i = 0; i < ms / 20; i++) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if (strcmp(buf, want) == 0)
				return true;
		}
		usleep(20000);
	}
	return false;
}

static void paths(char *fifo, char *u1, char *u2, size_t len)
{
	cr_assert_lt(snprintf(fifo, len, "%s/unbind", t.root), (int)len);
	cr_assert_lt(snprintf(u1, len, "%s/new_id", t.root), (int)len);
	cr_assert_lt(snprintf(u2, len, "%s/bind", t.root), (int)len);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	fake_tree_file(&t, "new_id", "");
	fake_tree_file(&t, "bind", "");
}

Test(guard, blocked_write_times_out_and_is_undone_later, .timeout = 30)
{
	char fifo[PATH_MAX], u1[PATH_MAX], u2[PATH_MAX], buf[64];
	struct timespec a, b;
	pid_t helper;
	int rc, rd;
	ssize_t n;

	fake_tree_new(&t);
	paths(fifo, u1, u2, sizeof(fifo));
	clock_gettime(CLOCK_MONOTONIC, &a);
	/* nobody reads the FIFO: the write blocks like an unbind waiting for pages */
	rc = rc_guarded_write(fifo, "dax0.7", u1, u2, 500, &helper);
	clock_gettime(CLOCK_MONOTONIC, &b);
	cr_expect_eq(rc, -ETIMEDOUT);
	cr_expect_gt(helper, 0);
	cr_expect_lt(b.tv_sec - a.tv_sec, 5, "returned in time");
	fake_tree_read(&t, "new_id", buf, sizeof(buf));
	cr_expect_str_eq(buf, "", "nothing undone while the write still blocks");
	/* the wait ends: the helper finishes the write, then puts things back */
	rd = open(fifo, O_RDONLY);
	cr_assert_geq(rd, 0);
	n = read(rd, buf, sizeof(buf) - 1);
	cr_expect_eq(n, 6);
	close(rd);
	cr_expect(wait_for_content(u1, "dax0.7", 5000), "undo 1 written");
	cr_expect(wait_for_content(u2, "dax0.7", 5000), "undo 2 written");
	fake_tree_delete(&t);
}

Test(guard, quick_write_is_kept, .timeout = 30)
{
	char fifo[PATH_MAX], u1[PATH_MAX], u2[PATH_MAX], buf[64], file[PATH_MAX];
	pid_t helper = 0;

	fake_tree_new(&t);
	paths(fifo, u1, u2, sizeof(fifo));
	fake_tree_file(&t, "unbind-file", "");
	cr_assert_lt(snprintf(file, sizeof(file), "%s/unbind-file", t.root), (int)sizeof(file));
	cr_expect_eq(rc_guarded_write(file, "dax0.7", u1, u2, 5000, &helper), 0);
	cr_expect_eq(helper, -1);
	fake_tree_read(&t, "unbind-file", buf, sizeof(buf));
	cr_expect_str_eq(buf, "dax0.7");
	usleep(200000);
	fake_tree_read(&t, "new_id", buf, sizeof(buf));
	cr_expect_str_eq(buf, "", "a write that finished in time is not undone");
	cr_assert_lt(snprintf(file, sizeof(file), "%s/no/such/attr", t.root), (int)sizeof(file));
	cr_expect_eq(rc_guarded_write(file, "dax0.7", u1, u2, 5000, &helper), -ENOENT);
	fake_tree_delete(&t);
}

/* The helper must not keep the caller's descriptors: a VFIO container it kept would keep its pins. */
Test(guard, helper_keeps_no_descriptor_of_the_caller, .timeout = 30)
{
	char fifo[PATH_MAX], u1[PATH_MAX], u2[PATH_MAX], c;
	struct pollfd p;
	int pipefd[2], rd;
	pid_t helper;

	fake_tree_new(&t);
	paths(fifo, u1, u2, sizeof(fifo));
	cr_assert_eq(pipe(pipefd), 0); /* without O_CLOEXEC, as a careless caller has */
	cr_expect_eq(rc_guarded_write(fifo, "dax0.7", u1, u2, 300, &helper), -ETIMEDOUT);
	close(pipefd[1]);
	p = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	cr_expect_eq(poll(&p, 1, 2000), 1, "the helper holds the pipe open");
	cr_expect_eq(read(pipefd[0], &c, 1), 0, "end of file: nobody else has the write end");
	close(pipefd[0]);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	close(rd);
	fake_tree_delete(&t);
}

Test(guard, timeout_from_environment)
{
	unsetenv("DAXALLOC_DISABLE_TIMEOUT");
	cr_expect_eq(rc_timeout_ms(), 30000);
	setenv("DAXALLOC_DISABLE_TIMEOUT", "2.5", 1);
	cr_expect_eq(rc_timeout_ms(), 2500);
	setenv("DAXALLOC_DISABLE_TIMEOUT", "soon", 1);
	cr_expect_eq(rc_timeout_ms(), 30000);
	unsetenv("DAXALLOC_DISABLE_TIMEOUT");
}

Test(layout, disable_that_blocks_says_pin_and_comes_back, .timeout = 30)
{
	struct daxalloc_ctx *ctx = NULL;
	char fifo[PATH_MAX], buf[64];
	int rd;

	cr_assert_lt(snprintf(fifo, sizeof(fifo), "%s/bus/dax/drivers/device_dax/unbind", t.root),
		     (int)sizeof(fifo));
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	fake_tree_file(&t, "bus/dax/drivers/device_dax/remove_id", "");
	fake_tree_file(&t, "bus/dax/drivers/device_dax/new_id", "");
	fake_tree_file(&t, "bus/dax/drivers/device_dax/bind", "");
	setenv("DAXALLOC_DISABLE_TIMEOUT", "1", 1);
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	cr_expect_eq(rc_disable(ctx, "dax0.1"), -ETIMEDOUT);
	cr_expect(strstr(daxalloc_errmsg(), "dax0.1: disabling did not finish in 1 s"), "%s",
		  daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "held by a pin"), "%s", daxalloc_errmsg());
	fake_tree_read(&t, "bus/dax/drivers/device_dax/remove_id", buf, sizeof(buf));
	cr_expect_str_eq(buf, "dax0.1");
	rd = open(fifo, O_RDONLY);
	cr_assert_geq(rd, 0);
	cr_expect_gt(read(rd, buf, sizeof(buf)), 0);
	close(rd);
	cr_assert_lt(snprintf(fifo, sizeof(fifo), "%s/bus/dax/drivers/device_dax/bind", t.root),
		     (int)sizeof(fifo));
	cr_expect(wait_for_content(fifo, "dax0.1", 5000), "bound again once the wait ended");
	/* a device bound to another driver is not ours to disable */
	cr_expect_eq(rc_disable(ctx, "dax1.0"), 0, "no driver: nothing to do");
	fake_tree_link(&t, "devices/ndbus0/region1/dax1.0/dax1.0/driver", "../../kmem");
	cr_expect_eq(rc_disable(ctx, "dax1.0"), -EBUSY);
	cr_expect(strstr(daxalloc_errmsg(), "bound to kmem"), "%s", daxalloc_errmsg());
	daxalloc_ctx_delete(&ctx);
}

/* ---- without root --------------------------------------------------------------- */

static void root_only(const char *rel)
{
	char path[PATH_MAX];

	cr_assert_lt(snprintf(path, sizeof(path), "%s/%s", t.root, rel), (int)sizeof(path));
	cr_assert_eq(chmod(path, 0400), 0, "%s: %s", path, strerror(errno));
}

Test(layout, without_root_says_so_and_hides_nothing_else)
{
	struct dax_region_layout rl;
	char path[PATH_MAX];
	int st, bad = 0;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to make files only root may read");
	/* as the kernel has them: where memory lies is root's to read */
	root_only(HMEM "/dax0.0/resource");
	root_only(HMEM "/dax0.1/mapping0/start");
	root_only(HMEM "/dax0.2/mapping0/start");
	root_only(HMEM "/dax0.2/mapping3/start");
	root_only(HMEM "/dax0.2/align");
	cr_assert_eq(chmod(t.root, 0755), 0, "mkdtemp made it private");
	cr_assert_lt(snprintf(path, sizeof(path), "%s/" HMEM "/dax0.2/align", t.root),
		     (int)sizeof(path));
	/* a child gives up root, so that this process can still clean up */
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(64);
		if (layout_region_by_id(0, &rl) != 0)
			_exit(1);
		bad |= rl.start != UINT64_MAX ? 2 : 0; /* unknown, not guessed */
		bad |= rl.available != G ? 4 : 0;      /* what everybody may read */
		bad |= rl.ndevs != 2 ? 8 : 0;
		bad |= rc_check_writable("dax0.2", path) != -EACCES ? 16 : 0;
		bad |= !strstr(daxalloc_errmsg(), "dax0.2: reconfiguring needs root") ? 32 : 0;
		_exit(bad);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	bad = WEXITSTATUS(st);
	cr_assert_neq(bad, 64, "could not become nobody");
	cr_expect_eq(bad & 1, 0, "the region could not be read without root");
	cr_expect_eq(bad & 2, 0, "the region's start was guessed");
	cr_expect_eq(bad & 4, 0, "available_size not read");
	cr_expect_eq(bad & 8, 0, "devices not listed");
	cr_expect_eq(bad & 16, 0, "an attribute only root may write passed as writable");
	cr_expect_eq(bad & 32, 0, "the message does not say that root is needed");
}

/* ---- the uuid of a re-created devdax instance ------------------------------- */

Test(namespace, uuid_is_random_version_4)
{
	unsigned char a[16], b[16];

	cr_assert_eq(ns_new_uuid("dax1.0", "namespace1.0", a), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(ns_new_uuid("dax1.0", "namespace1.0", b), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(a[6] >> 4, 4, "version 4");
	cr_expect_eq(a[8] >> 6, 2, "the RFC 4122 variant");
	cr_expect_neq(memcmp(a, b, 16), 0, "two uuids alike");
}

/* Without random bytes there is no uuid: an error, never a constant (it once was 0x5a...). */
Test(namespace, uuid_without_random_bytes_fails)
{
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		unsigned char uu[16];
		int rc;

		memset(uu, 0, sizeof(uu));
		if (refuse_syscall(SYS_getrandom, ENOSYS) < 0)
			_exit(3);
		rc = ns_new_uuid("dax1.0", "namespace1.0", uu);
		if (rc != -ENOSYS)
			_exit(1);
		/* device, namespace, what and why, and that nothing changed */
		if (!strstr(daxalloc_errmsg(),
			    "dax1.0: cannot make a uuid for a devdax instance of namespace1.0: getrandom: Function not implemented; it is unchanged"))
			_exit(2);
		for (int i = 0; i < 16; i++)
			if (uu[i])
				_exit(4);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	cr_assert_neq(WEXITSTATUS(st), 3, "no seccomp filter here");
	cr_expect_eq(WEXITSTATUS(st), 0,
		     "1: not -ENOSYS, 2: the message, 4: a uuid was written anyway");
}
