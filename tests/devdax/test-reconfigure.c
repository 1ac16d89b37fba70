// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reconfiguration on real devices in the guest: alignment cycles on a
 * dynamic device and on a pmem namespace, refusals while another process
 * maps the device or holds its memory pinned for DMA, devices created,
 * resized and destroyed in the hmem region, and QEMU backing guest RAM
 * with a device made for it.
 *
 * Only the table's recfgdyn and recfgns and the region's free capacity
 * are used; every test puts them back as found (the suite's .fini checks,
 * and repairs what a failed test left).  The tests share those devices,
 * so they run one at a time (see main()).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/options.h>
#include <daxctl/libdaxctl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "consumers.h"
#include "daxalloc.h"
#include "guest-devices.h"
#include "refuse-syscall.h"
#include "run-ctl.h"

#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)
#define DESTROY DAXALLOC_RECONFIG_DESTROY_DATA

static struct daxalloc_ctx *ctx;
static char before[64][32]; /* devices with memory before the first test */
static int nbefore;

/* ---- sysfs, read directly: what the kernel says, not what the library says */

static uint64_t attr(const char *dev, const char *name)
{
	char path[128], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/%s", dev, name);
	f = fopen(path, "re");
	if (!f)
		return UINT64_MAX;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtoull(buf, NULL, 0);
}

static bool enabled(const char *dev)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/driver", dev);
	return access(path, F_OK) == 0;
}

static int devices_with_memory(char (*names)[32], int max)
{
	FILE *p = popen("ls /sys/bus/dax/devices", "re");
	char line[64];
	int n = 0;

	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p) && n < max) {
		line[strcspn(line, "\n")] = '\0';
		if (attr(line, "size") != 0 && attr(line, "size") != UINT64_MAX)
			snprintf(names[n++], 32, "%.31s", line);
	}
	pclose(p);
	return n;
}

static bool was_there(const char *name)
{
	for (int i = 0; i < nbefore; i++)
		if (strcmp(before[i], name) == 0)
			return true;
	return false;
}

/*
 * The devices with memory before the first test, passed to the test
 * processes in $RECONFIGURE_BASELINE ("dax0.1 dax0.2 ...").
 */
static void baseline(void)
{
	char list[64 * 33] = "", *save = NULL, *tok;
	const char *env = getenv("RECONFIGURE_BASELINE");

	if (env) {
		snprintf(list, sizeof(list), "%s", env);
		nbefore = 0;
		for (tok = strtok_r(list, " ", &save); tok && nbefore < 64;
		     tok = strtok_r(NULL, " ", &save))
			snprintf(before[nbefore++], 32, "%.31s", tok);
		return;
	}
	nbefore = devices_with_memory(before, 64);
	for (int i = 0; i < nbefore; i++) {
		strcat(list, before[i]);
		strcat(list, " ");
	}
	setenv("RECONFIGURE_BASELINE", list, 1);
}

/* ---- running daxalloc-ctl -------------------------------------------------- */

/* ---- the devices as found, and back to that afterwards ------------------------ */

static void put_back(struct daxalloc_ctx *c, const struct guest_dev *gd)
{
	const unsigned int all = DESTROY | DAXALLOC_RECONFIG_IGNORE_DMA;

	if (!enabled(gd->name)) {
		char cmd[96];

		snprintf(cmd, sizeof(cmd), "daxctl enable-device %s >/dev/null 2>&1", gd->name);
		if (system(cmd) != 0)
			fprintf(stderr, "%s: could not be enabled again\n", gd->name);
	}
	if (strcmp(gd->kind, "dynamic") == 0 && attr(gd->name, "size") != gd->size &&
	    daxalloc_dev_resize(c, gd->name, gd->size, all) < 0)
		fprintf(stderr, "%s: size not restored: %s\n", gd->name, daxalloc_errmsg());
	if (attr(gd->name, "align") != gd->align &&
	    daxalloc_dev_set_align(c, gd->name, gd->align, all) < 0)
		fprintf(stderr, "%s: align not restored: %s\n", gd->name, daxalloc_errmsg());
}

/*
 * Undo what a failed test left: scratch devices, recfg devices changed.
 * Returns how many table devices still differ from the table.
 */
static int repair(struct daxalloc_ctx *c)
{
	const struct guest_dev *gds;
	char now[64][32];
	int n, ngd, off = 0;

	n = devices_with_memory(now, 64);
	for (int i = 0; i < n; i++)
		if (!was_there(now[i]) &&
		    daxalloc_dev_destroy(c, now[i], DESTROY | DAXALLOC_RECONFIG_IGNORE_DMA) < 0)
			fprintf(stderr, "%s: left behind: %s\n", now[i], daxalloc_errmsg());
	gds = guest_devs(&ngd);
	for (int i = 0; i < ngd; i++)
		if (strncmp(gds[i].label, "recfg", 5) == 0)
			put_back(c, &gds[i]);
	for (int i = 0; i < ngd; i++) {
		if (attr(gds[i].name, "size") == gds[i].size &&
		    attr(gds[i].name, "align") == gds[i].align && enabled(gds[i].name))
			continue;
		fprintf(stderr,
			"%s (%s): size %llu align %llu %s; the table says %llu, %llu, enabled\n",
			gds[i].name, gds[i].label, (unsigned long long)attr(gds[i].name, "size"),
			(unsigned long long)attr(gds[i].name, "align"),
			enabled(gds[i].name) ? "enabled" : "disabled",
			(unsigned long long)gds[i].size, (unsigned long long)gds[i].align);
		off++;
	}
	return off;
}

static void setup(void)
{
	guest_devs(&(int){ 0 });
	setenv("DAXALLOC_DISABLE_TIMEOUT", "20", 1);
	baseline();
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0, "%s", daxalloc_errmsg());
	/* a test before may have failed holding the device: its process is gone now */
	cr_assert_eq(repair(ctx), 0, "the devices are not as the table says");
}

/*
 * A failed test may still hold what it opened, which blocks a repair
 * here; the next test's setup (and main) repair in a fresh process.
 */
static void teardown(void)
{
	cr_expect_eq(repair(ctx), 0, "this test left the devices changed");
	daxalloc_ctx_delete(&ctx);
}

TestSuite(reconfigure, .init = setup, .fini = teardown, .timeout = 600);
TestSuite(subdev, .init = setup, .fini = teardown, .timeout = 600);

/* ---- helpers ---------------------------------------------------------------- */

static struct daxalloc_dev *listed(const char *name)
{
	struct daxalloc_dev *d;

	daxalloc_dev_foreach(ctx, d)
		if (strcmp(daxalloc_dev_get_name(d), name) == 0)
			return d;
	return NULL;
}

/*
 * At @align (was @old): a mapping of one unit works and the kernel serves
 * it with pages of @align; a mapping that only the old alignment allowed
 * is refused by the kernel itself.
 */
static void check_maps(const char *name, uint64_t align, uint64_t old)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_map *map = NULL;
	char path[64];
	volatile uint64_t *p;
	void *raw;
	int fd;

	cr_assert_eq(daxalloc_dev_open(ctx, name, &dev), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_dev_get_align(dev), align);
	cr_assert_eq(daxalloc_map_new(dev, 0, align, NULL, 0, &map), 0, "%s: %s", name,
		     daxalloc_errmsg());
	p = daxalloc_map_get_address(map);
	p[0] = 0x5eed;
	p[align / 8 - 1] = align;
	cr_expect_eq(p[0], 0x5eed);
	cr_expect_eq(p[align / 8 - 1], align);
	cr_expect_eq(daxalloc_map_get_kernel_page_size(map), (int64_t)align,
		     "%s: KernelPageSize %lld at align %llu", name,
		     (long long)daxalloc_map_get_kernel_page_size(map), (unsigned long long)align);
	daxalloc_map_delete(&map);
	if (old < align) {
		snprintf(path, sizeof(path), "/dev/%s", name);
		fd = open(path, O_RDWR | O_CLOEXEC);
		cr_assert_geq(fd, 0);
		errno = 0;
		raw = mmap(NULL, old, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		cr_expect_eq(raw, MAP_FAILED, "%s: an mmap of %llu bytes worked at align %llu",
			     name, (unsigned long long)old, (unsigned long long)align);
		cr_expect_eq(errno, EINVAL);
		if (raw != MAP_FAILED)
			munmap(raw, old);
		close(fd);
		cr_expect_eq(daxalloc_map_new(dev, 0, old, NULL, 0, &map), -EINVAL);
	} else {
		/* now a smaller unit works too */
		cr_expect_eq(daxalloc_map_new(dev, 0, align, NULL, 0, &map), 0);
		daxalloc_map_delete(&map);
	}
	daxalloc_dev_close(&dev);
}

static void scratch(uint64_t size, uint64_t align, char *name)
{
	const struct guest_dev *gd = guest_dev("recfgdyn");

	cr_assert_eq(daxalloc_dev_create(ctx, gd->region, size, align, name, 32), 0, "%s",
		     daxalloc_errmsg());
	cr_assert_eq(attr(name, "size"), size);
	cr_assert_eq(attr(name, "align"), align);
	cr_assert(enabled(name));
}

static double since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

/* ---- alignment cycles ------------------------------------------------------- */

Test(reconfigure, dynamic_cycle_4k_2m_1g_4k)
{
	const struct guest_dev *gd = guest_dev("recfgdyn");
	const uint64_t steps[] = { DAXALLOC_SIZE_2M, DAXALLOC_SIZE_1G, DAXALLOC_SIZE_4K };
	uint64_t prev = gd->align;

	cr_assert_eq(attr(gd->name, "align"), DAXALLOC_SIZE_4K, "recfgdyn starts at 4K");
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct daxalloc_dev *d;
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		cr_assert_eq(daxalloc_dev_set_align(ctx, gd->name, steps[i], 0), 0, "%s",
			     daxalloc_errmsg());
		cr_log_info("%s: align %llu -> %llu in %.2f s", gd->name, (unsigned long long)prev,
			    (unsigned long long)steps[i], since(&t0));
		cr_expect_eq(attr(gd->name, "align"), steps[i]);
		cr_expect_eq(attr(gd->name, "size"), gd->size, "the memory stays");
		cr_expect(enabled(gd->name));
		/* the same context sees the change */
		d = listed(gd->name);
		cr_assert_not_null(d);
		cr_expect_eq(daxalloc_dev_get_align(d), steps[i]);
		check_maps(gd->name, steps[i], prev);
		if (steps[i] == DAXALLOC_SIZE_1G) {
			/* at 1G it grows through "mapping", in whole 1G pieces */
			cr_assert_eq(daxalloc_dev_resize(ctx, gd->name, G, 0), 0, "%s",
				     daxalloc_errmsg());
			cr_expect_eq(attr(gd->name, "size"), G);
			cr_assert_eq(daxalloc_dev_resize(ctx, gd->name, gd->size, 0), 0, "%s",
				     daxalloc_errmsg());
			cr_expect_eq(attr(gd->name, "size"), gd->size);
			cr_expect_eq(attr(gd->name, "mapping1/start") % G, 0, "the new piece on 1G");
			cr_expect(enabled(gd->name));
		}
		prev = steps[i];
	}
	/* one range again, as found: at 4K a grow extends the first range */
	cr_assert_eq(daxalloc_dev_resize(ctx, gd->name, G, 0), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_dev_resize(ctx, gd->name, gd->size, 0), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(attr(gd->name, "mapping1/start"), UINT64_MAX, "a single range");
}

/* Enabling one device makes the kernel bind every idle one: they must stay down. */
Test(reconfigure, other_disabled_devices_stay_disabled)
{
	const struct guest_dev *gd = guest_dev("recfgdyn");
	char idle[32];
	FILE *f;

	scratch(DAXALLOC_SIZE_2M * 16, DAXALLOC_SIZE_2M, idle);
	f = fopen("/sys/bus/dax/drivers/device_dax/unbind", "we");
	cr_assert_not_null(f);
	fprintf(f, "%s", idle);
	fclose(f);
	cr_assert_not(enabled(idle), "%s could not be unbound", idle);
	cr_assert_eq(daxalloc_dev_set_align(ctx, gd->name, DAXALLOC_SIZE_2M, 0), 0, "%s",
		     daxalloc_errmsg());
	cr_expect(enabled(gd->name));
	cr_expect_not(enabled(idle), "%s came up with %s", idle, gd->name);
	cr_assert_eq(daxalloc_dev_set_align(ctx, gd->name, DAXALLOC_SIZE_4K, 0), 0, "%s",
		     daxalloc_errmsg());
	cr_expect_not(enabled(idle), "%s came up with %s", idle, gd->name);
	/* disabled, its pool cannot be read: destroying it needs the data flag */
	cr_expect_eq(daxalloc_dev_destroy(ctx, idle, DAXALLOC_RECONFIG_DESTROY_DATA), 0, "%s",
		     daxalloc_errmsg());
}

Test(reconfigure, pmem_cycle_4k_2m_1g_4k)
{
	const struct guest_dev *gd = guest_dev("recfgns");
	const uint64_t steps[] = { DAXALLOC_SIZE_2M, DAXALLOC_SIZE_1G, DAXALLOC_SIZE_4K };
	const uint64_t sizes[] = { 2046 * M, G, 2046 * M };
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	uint64_t prev = gd->align;
	char ns[64];

	cr_assert_eq(attr(gd->name, "align"), DAXALLOC_SIZE_4K, "recfgns starts at 4K");
	cr_assert_not_null(listed(gd->name));
	cr_assert_not_null(daxalloc_dev_get_namespace(listed(gd->name)));
	/* a copy: each change lists the devices afresh */
	snprintf(ns, sizeof(ns), "%s", daxalloc_dev_get_namespace(listed(gd->name)));
	/* it destroys the data: not without saying so */
	cr_expect_eq(daxalloc_dev_set_align(ctx, gd->name, DAXALLOC_SIZE_1G, 0), -EPERM);
	cr_expect(strstr(daxalloc_errmsg(), "destroys its data (usable size 2046M -> 1G)"), "%s",
		  daxalloc_errmsg());
	cr_expect_eq(attr(gd->name, "align"), DAXALLOC_SIZE_4K);
	cr_expect(enabled(gd->name));
	/* a pool on it does not survive as a pool */
	cr_assert_eq(daxalloc_dev_open(ctx, gd->name, &dev), 0);
	cr_assert_eq(daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &pool), 0, "%s",
		     daxalloc_errmsg());
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		uint64_t size_before = attr(gd->name, "size");

		if (steps[i] == DAXALLOC_SIZE_1G) {
			/* this step through the command, which reports the loss */
			static struct ctl_run run;

			ctl_runf(&run, "reconfigure %s --align 1G --destroy-data", gd->name);
			cr_assert_eq(run.status, 0, "%s", run.err);
			cr_expect(strstr(run.out,
					 "usable size 2046M -> 1G (1022M lost to alignment padding)"),
				  "%s", run.out);
			/* another process changed it: a new context lists it as it is now */
			daxalloc_ctx_delete(&ctx);
			cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
		} else {
			cr_assert_eq(daxalloc_dev_set_align(ctx, gd->name, steps[i], DESTROY), 0,
				     "%s", daxalloc_errmsg());
		}
		cr_log_info("%s (%s): align %llu -> %llu, usable %llu -> %llu", gd->name, ns,
			    (unsigned long long)prev, (unsigned long long)steps[i],
			    (unsigned long long)size_before,
			    (unsigned long long)attr(gd->name, "size"));
		cr_expect_eq(attr(gd->name, "align"), steps[i], "the device keeps its name");
		cr_expect_eq(attr(gd->name, "size"), sizes[i], "usable size at align %llu",
			     (unsigned long long)steps[i]);
		cr_expect(enabled(gd->name));
		cr_expect_eq(daxalloc_dev_get_align(listed(gd->name)), steps[i]);
		check_maps(gd->name, steps[i], prev);
		if (i == 0) {
			cr_assert_eq(daxalloc_dev_open(ctx, gd->name, &dev), 0);
			cr_expect_eq(daxalloc_pool_open(dev, 0, &pool), -ENODATA,
				     "the pool is gone: %s", daxalloc_errmsg());
			daxalloc_pool_close(&pool);
			daxalloc_dev_close(&dev);
		}
		prev = steps[i];
	}
}

/* The new devdax instance needs a random uuid: without one nothing changes. */
Test(reconfigure, pmem_without_random_bytes_is_unchanged)
{
	const struct guest_dev *gd = guest_dev("recfgns");
	uint64_t size = attr(gd->name, "size");
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct daxalloc_ctx *c = NULL;
		int rc;

		if (refuse_syscall(SYS_getrandom, ENOSYS) < 0)
			_exit(3);
		if (daxalloc_ctx_new(&c) < 0)
			_exit(4);
		rc = daxalloc_dev_set_align(c, gd->name, DAXALLOC_SIZE_2M, DESTROY);
		fprintf(stderr, "without getrandom: %d %s\n", rc, daxalloc_errmsg());
		_exit(rc == -ENOSYS && strstr(daxalloc_errmsg(), "cannot make a uuid") ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	cr_assert_neq(WEXITSTATUS(st), 3, "no seccomp filter here");
	cr_expect_eq(WEXITSTATUS(st), 0, "not refused for want of a uuid (status %d)",
		     WEXITSTATUS(st));
	cr_expect_eq(attr(gd->name, "align"), DAXALLOC_SIZE_4K);
	cr_expect_eq(attr(gd->name, "size"), size);
	cr_expect(enabled(gd->name));
}

Test(reconfigure, dynamic_named_regions_need_destroy_data)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	char name[32];
	static struct ctl_run run;

	scratch(64 * M, DAXALLOC_SIZE_2M, name);
	cr_assert_eq(daxalloc_dev_open(ctx, name, &dev), 0);
	cr_assert_eq(daxalloc_pool_create(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_alloc(pool, 2 * M, "keep-me", 0, &r), 0, "%s", daxalloc_errmsg());
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	cr_expect_eq(daxalloc_dev_set_align(ctx, name, DAXALLOC_SIZE_4K, 0), -EBUSY);
	cr_expect(strstr(daxalloc_errmsg(), "1 named region ('keep-me')"), "%s", daxalloc_errmsg());
	cr_expect_eq(attr(name, "align"), DAXALLOC_SIZE_2M);
	cr_expect(enabled(name));
	ctl_runf(&run, "reconfigure %s --align 4K", name);
	cr_expect_eq(run.status, 1, "%s", run.err);
	cr_expect(strstr(run.err, "keep-me"), "%s", run.err);
	cr_expect_eq(strchr(run.err, '\n'), run.err + strlen(run.err) - 1, "one line: %s", run.err);
	cr_expect_eq(daxalloc_dev_destroy(ctx, name, 0), -EBUSY, "destroying loses it too");
	cr_assert_eq(daxalloc_dev_set_align(ctx, name, DAXALLOC_SIZE_4K, DESTROY), 0, "%s",
		     daxalloc_errmsg());
	cr_assert_eq(daxalloc_dev_open(ctx, name, &dev), 0);
	cr_expect_eq(daxalloc_pool_open(dev, 0, &pool), -ENODATA, "erased, not a changed pool: %s",
		     daxalloc_errmsg());
	daxalloc_dev_close(&dev);
	cr_expect_eq(daxalloc_dev_destroy(ctx, name, 0), 0, "%s", daxalloc_errmsg());
}

/* Memory is not cleared between devices: a pool must not outlive its device. */
Test(reconfigure, destroyed_pool_does_not_show_in_the_next_device)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	char name[32], again[32];
	uint64_t start;

	scratch(64 * M, DAXALLOC_SIZE_2M, name);
	start = attr(name, "mapping0/start");
	cr_assert_eq(daxalloc_dev_open(ctx, name, &dev), 0);
	cr_assert_eq(daxalloc_pool_create(dev, 0, &pool), 0, "a new device holds no pool: %s",
		     daxalloc_errmsg());
	cr_assert_eq(daxalloc_alloc(pool, 2 * M, "old-data", 0, &r), 0, "%s", daxalloc_errmsg());
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	cr_assert_eq(daxalloc_dev_destroy(ctx, name, DESTROY), 0, "%s", daxalloc_errmsg());
	scratch(64 * M, DAXALLOC_SIZE_2M, again);
	cr_expect_eq(attr(again, "mapping0/start"), start, "the same memory again");
	cr_assert_eq(daxalloc_dev_open(ctx, again, &dev), 0);
	cr_expect_eq(daxalloc_pool_open(dev, 0, &pool), -ENODATA, "%s", daxalloc_errmsg());
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	cr_expect_eq(daxalloc_dev_destroy(ctx, again, 0), 0, "%s", daxalloc_errmsg());
}

/* ---- refusals while in use ---------------------------------------------------- */

/* A process that opens (and maps) the device and keeps using it until told. */
static pid_t holder(const char *name, bool map, int *go)
{
	int ready[2], cont[2];
	char c;
	pid_t pid;

	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(cont), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char path[64];
		volatile char *p = NULL;
		uint64_t len = attr(name, "align");
		int fd;

		snprintf(path, sizeof(path), "/dev/%s", name);
		fd = open(path, O_RDWR);
		if (fd < 0)
			_exit(2);
		if (map) {
			p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (p == MAP_FAILED)
				_exit(3);
			close(fd);
			p[0] = 0x42;
		}
		if (write(ready[1], "r", 1) != 1 || read(cont[0], &c, 1) != 1)
			_exit(4);
		/* still there, and still ours */
		if (map) {
			p[1] = 0x43;
			_exit(p[0] == 0x42 && p[1] == 0x43 ? 0 : 5);
		}
		_exit(0);
	}
	close(ready[1]);
	close(cont[0]);
	cr_assert_eq(read(ready[0], &c, 1), 1, "the holder did not start");
	close(ready[0]);
	*go = cont[1];
	return pid;
}

static int release(pid_t pid, int go)
{
	int st;

	cr_expect_eq(write(go, "g", 1), 1);
	close(go);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void refused_while_held(bool map)
{
	const struct guest_dev *gd = guest_dev("recfgdyn");
	char want[64];
	static struct ctl_run run;
	int go;
	pid_t pid = holder(gd->name, map, &go);

	snprintf(want, sizeof(want), "pid %d (test-guest-reco) %s", (int)pid,
		 map ? "has it mapped" : "has it open");
	cr_expect_eq(daxalloc_dev_set_align(ctx, gd->name, DAXALLOC_SIZE_2M,
					    DESTROY | DAXALLOC_RECONFIG_IGNORE_DMA),
		     -EBUSY);
	cr_expect(strstr(daxalloc_errmsg(), want), "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_dev_resize(ctx, gd->name, gd->size - 2 * M, DESTROY), -EBUSY);
	cr_expect_eq(daxalloc_dev_destroy(ctx, gd->name, DESTROY), -EBUSY);
	cr_expect(strstr(daxalloc_errmsg(), want), "%s", daxalloc_errmsg());
	ctl_runf(&run, "reconfigure %s --align 2M --destroy-data", gd->name);
	cr_expect_eq(run.status, 1);
	cr_expect(strstr(run.err, want), "%s", run.err);
	/* intact: same alignment and size, enabled, and the holder's memory still works */
	cr_expect_eq(attr(gd->name, "align"), gd->align);
	cr_expect_eq(attr(gd->name, "size"), gd->size);
	cr_expect(enabled(gd->name));
	cr_expect_eq(release(pid, go), 0, "the holder lost its mapping");
}

Test(reconfigure, refused_while_another_process_maps_it)
{
	refused_while_held(true);
}
Test(reconfigure, refused_while_another_process_has_it_open)
{
	refused_while_held(false);
}

/*
 * Memory pinned by VFIO and then unmapped from the CPU side: no process
 * maps the device any more, the kernel shows no pin, and a 6.1 kernel
 * would disable the device at once and leave the IOMMU pointing at it.
 * The refusal must come first, and quickly.
 */
Test(reconfigure, vfio_pin_after_cpu_unmap_refused_without_hang)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_map *map = NULL;
	struct consumer_vfio v;
	struct timespec t0;
	char name[32], want[64];

	scratch(64 * M, DAXALLOC_SIZE_2M, name);
	cr_assert_eq(consumer_vfio_open(&v, guest_vfio_group()), 0, "%s", consumer_errmsg());
	cr_assert_eq(daxalloc_dev_open(ctx, name, &dev), 0);
	cr_assert_eq(daxalloc_map_new(dev, 0, 64 * M, NULL, 0, &map), 0, "%s", daxalloc_errmsg());
	memset(daxalloc_map_get_address(map), 0x3c, 64 * M);
	cr_assert_eq(consumer_vfio_map(&v, daxalloc_map_get_address(map), 64 * M, CONSUMER_IOVA), 0,
		     "%s", consumer_errmsg());
	daxalloc_map_delete(&map);
	daxalloc_dev_close(&dev);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_expect_eq(daxalloc_dev_set_align(ctx, name, DAXALLOC_SIZE_4K, DESTROY), -EBUSY);
	snprintf(want, sizeof(want), "pid %d (test-guest-reco) holds /dev/vfio/", (int)getpid());
	cr_expect(strstr(daxalloc_errmsg(), want), "%s", daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "pin memory for DMA"), "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_dev_destroy(ctx, name, DESTROY), -EBUSY);
	cr_expect_lt(since(&t0), 10.0, "refusing took %.1f s", since(&t0));
	cr_expect_eq(attr(name, "align"), DAXALLOC_SIZE_2M);
	cr_expect(enabled(name));
	cr_expect_eq(consumer_vfio_unmap(&v, 64 * M, CONSUMER_IOVA), 0, "%s", consumer_errmsg());
	consumer_vfio_close(&v);
	/* released: now it goes through */
	cr_expect_eq(daxalloc_dev_set_align(ctx, name, DAXALLOC_SIZE_4K, 0), 0, "%s",
		     daxalloc_errmsg());
	cr_expect_eq(daxalloc_dev_destroy(ctx, name, 0), 0, "%s", daxalloc_errmsg());
}

/* A pin made through the library is named from the pin ledger. */
Test(reconfigure, library_pin_refused_from_the_ledger)
{
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_VFIO };
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	struct daxalloc_pin *pin = NULL;
	char name[32];
	struct consumer_vfio v;

	scratch(64 * M, DAXALLOC_SIZE_2M, name);
	cr_assert_eq(consumer_vfio_open(&v, guest_vfio_group()), 0, "%s", consumer_errmsg());
	cr_assert_eq(daxalloc_dev_open(ctx, name, &dev), 0);
	cr_assert_eq(daxalloc_pool_create(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_alloc(pool, 4 * M, NULL, 0, &r), 0, "%s", daxalloc_errmsg());
	t.vfio.container_fd = v.container;
	t.vfio.iova = CONSUMER_IOVA;
	cr_assert_eq(daxalloc_pin(r, 0, 4 * M, &t, &pin), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_dev_set_align(ctx, name, DAXALLOC_SIZE_4K,
					    DESTROY | DAXALLOC_RECONFIG_IGNORE_DMA),
		     -EBUSY);
	cr_expect(strstr(daxalloc_errmsg(), "the pin ledger lists 1 pin of its memory"), "%s",
		  daxalloc_errmsg());
	cr_expect_eq(attr(name, "align"), DAXALLOC_SIZE_2M);
	cr_expect_eq(daxalloc_unpin(&pin), 0, "%s", daxalloc_errmsg());
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	consumer_vfio_close(&v);
	cr_expect_eq(daxalloc_dev_destroy(ctx, name, 0), 0, "%s", daxalloc_errmsg());
}

/* ---- devices in the dynamic region -------------------------------------------- */

Test(subdev, round_trip)
{
	const struct guest_dev *gd = guest_dev("recfgdyn");
	struct daxalloc_daxregion_info before_info = { DAXALLOC_DAXREGION_INFO_INIT },
				       info = before_info;
	struct daxalloc_dev *dev = NULL, *d;
	struct daxalloc_map *map = NULL;
	char name[32];

	cr_assert_eq(daxalloc_daxregion_get_info(ctx, gd->region, &before_info), 0, "%s",
		     daxalloc_errmsg());
	cr_log_info("dax region %d: %llu free, largest %llu, %llu for 1G devices", gd->region,
		    (unsigned long long)before_info.available,
		    (unsigned long long)before_info.largest_free,
		    (unsigned long long)before_info.available_1g);
	scratch(64 * M, DAXALLOC_SIZE_2M, name);
	d = listed(name);
	cr_assert_not_null(d, "the context lists the new device");
	cr_expect_eq(daxalloc_dev_get_size(d), 64 * M);
	cr_expect_eq(daxalloc_dev_get_region_kind(d), DAXALLOC_REGION_DYNAMIC);
	cr_assert_eq(daxalloc_daxregion_get_info(ctx, gd->region, &info), 0);
	cr_expect_eq(info.available, before_info.available - 64 * M);
	cr_expect_eq(info.devices, before_info.devices + 1);
	cr_assert_eq(daxalloc_dev_open(ctx, name, &dev), 0);
	cr_assert_eq(daxalloc_map_new(dev, 0, 64 * M, NULL, 0, &map), 0, "%s", daxalloc_errmsg());
	memset(daxalloc_map_get_address(map), 0x77, 64 * M);
	daxalloc_map_delete(&map);
	daxalloc_dev_close(&dev);
	cr_assert_eq(daxalloc_dev_resize(ctx, name, 128 * M, 0), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(attr(name, "size"), 128 * M);
	cr_expect(enabled(name));
	cr_expect_eq(daxalloc_dev_get_size(listed(name)), 128 * M);
	cr_assert_eq(daxalloc_daxregion_get_info(ctx, gd->region, &info), 0);
	cr_expect_eq(info.available, before_info.available - 128 * M);
	cr_assert_eq(daxalloc_dev_resize(ctx, name, 32 * M, 0), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(attr(name, "size"), 32 * M);
	cr_assert_eq(daxalloc_dev_open(ctx, name, &dev), 0);
	cr_expect_eq(daxalloc_map_new(dev, 0, 32 * M, NULL, 0, &map), 0, "%s", daxalloc_errmsg());
	daxalloc_map_delete(&map);
	daxalloc_dev_close(&dev);
	cr_assert_eq(daxalloc_dev_destroy(ctx, name, 0), 0, "%s", daxalloc_errmsg());
	cr_expect_null(listed(name));
	cr_expect(attr(name, "size") == 0 || attr(name, "size") == UINT64_MAX);
	cr_assert_eq(daxalloc_daxregion_get_info(ctx, gd->region, &info), 0);
	cr_expect_eq(info.available, before_info.available, "the memory is back");
}

static struct json_object *parse_json(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	cr_assert_not_null(o, "not JSON: %s", text);
	return o;
}

static uint64_t jget(struct json_object *o, const char *key)
{
	struct json_object *v;

	cr_assert(json_object_object_get_ex(o, key, &v), "no '%s' in %s", key,
		  json_object_to_json_string(o));
	return json_object_get_uint64(v);
}

/* What `daxalloc-ctl regions-free --json` says dynamic region @region has free. */
static uint64_t region_free(int region)
{
	static struct ctl_run run;
	struct json_object *o, *v;
	uint64_t avail = 0;

	ctl_runf(&run, "regions-free --json");
	cr_assert_eq(run.status, 0, "%s", run.err);
	o = parse_json(run.out);
	for (size_t i = 0; i < json_object_array_length(o); i++) {
		struct json_object *r = json_object_array_get_idx(o, i);

		if ((int)jget(r, "id") == region && json_object_object_get_ex(r, "kind", &v) &&
		    strcmp(json_object_get_string(v), "dynamic") == 0)
			avail = jget(r, "available_size");
	}
	json_object_put(o);
	return avail;
}

Test(subdev, cli_round_trip)
{
	const struct guest_dev *gd = guest_dev("recfgdyn");
	struct json_object *o, *v;
	uint64_t free_before = 0, free_after = 0;
	char name[32];
	static struct ctl_run run;

	free_before = region_free(gd->region);
	cr_assert_gt(free_before, 64 * M);
	ctl_runf(&run, "create-device --region %d --size 64M --json", gd->region);
	cr_assert_eq(run.status, 0, "%s", run.err);
	o = parse_json(run.out);
	cr_assert(json_object_object_get_ex(o, "chardev", &v));
	snprintf(name, sizeof(name), "%s", json_object_get_string(v));
	cr_expect_eq(jget(o, "size"), 64 * M);
	cr_expect_eq(jget(o, "align"), DAXALLOC_SIZE_2M, "the default alignment");
	json_object_put(o);
	ctl_runf(&run, "resize %s --size 96M", name);
	cr_expect_eq(run.status, 0, "%s", run.err);
	cr_expect(strstr(run.out, "96M at align 2M"), "%s", run.out);
	cr_expect_eq(attr(name, "size"), 96 * M);
	ctl_runf(&run, "resize %s --size 95M", name);
	cr_expect_eq(run.status, 1);
	cr_expect(strstr(run.err, "nearest valid sizes: 94M or 96M"), "%s", run.err);
	ctl_runf(&run, "reconfigure %s --align 4K --json", name);
	cr_expect_eq(run.status, 0, "%s", run.err);
	o = parse_json(run.out);
	cr_expect_eq(jget(o, "old_align"), DAXALLOC_SIZE_2M);
	cr_expect_eq(jget(o, "align"), DAXALLOC_SIZE_4K);
	cr_expect_eq(jget(o, "size"), 96 * M);
	cr_expect(json_object_object_get_ex(o, "namespace_recreated", &v) &&
		  !json_object_get_boolean(v));
	json_object_put(o);
	ctl_runf(&run, "regions-free");
	cr_expect_eq(run.status, 0);
	cr_expect(strstr(run.out, "REGION"), "%s", run.out);
	ctl_runf(&run, "destroy-device %s", name);
	cr_expect_eq(run.status, 0, "%s", run.err);
	cr_expect(strstr(run.out, "destroyed"), "%s", run.out);
	free_after = region_free(gd->region);
	cr_expect_eq(free_after, free_before);
	ctl_runf(&run, "reconfigure %s --align 3M", gd->name);
	cr_expect_eq(run.status, 2, "a bad command line");
	ctl_runf(&run, "destroy-device");
	cr_expect_eq(run.status, 2);
}

Test(subdev, sizes_that_break_the_alignment_are_refused)
{
	const struct guest_dev *gd = guest_dev("recfgdyn");
	struct daxalloc_daxregion_info info = { DAXALLOC_DAXREGION_INFO_INIT };
	char name[32], s2[32];

	cr_expect_eq(daxalloc_dev_create(ctx, gd->region, 3 * M, DAXALLOC_SIZE_2M, name, 32),
		     -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "nearest valid sizes: 2M or 4M"), "%s",
		  daxalloc_errmsg());
	cr_expect_eq(daxalloc_dev_create(ctx, gd->region, 1536 * M, DAXALLOC_SIZE_1G, name, 32),
		     -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "1G or 2G"), "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_daxregion_get_info(ctx, gd->region, &info), 0);
	cr_assert_lt(info.available_1g, G, "the table leaves no whole 1G free");
	cr_expect_eq(daxalloc_dev_create(ctx, gd->region, G, DAXALLOC_SIZE_1G, name, 32), -ENOSPC);
	cr_expect(strstr(daxalloc_errmsg(), "of which 0 in whole 1G pieces on 1G boundaries"), "%s",
		  daxalloc_errmsg());
	cr_expect_eq(daxalloc_dev_create(ctx, gd->region, info.available + 2 * M, DAXALLOC_SIZE_2M,
					 name, 32),
		     -ENOSPC);
	/* an existing device: realigned or resized against the rules */
	scratch(64 * M, DAXALLOC_SIZE_2M, s2);
	cr_expect_eq(daxalloc_dev_set_align(ctx, s2, DAXALLOC_SIZE_1G, 0), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(),
			 "size 64M is not a multiple of the alignment 1G; nearest valid size: 1G"),
		  "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_dev_resize(ctx, s2, 65 * M, 0), -EINVAL);
	cr_expect_eq(daxalloc_dev_resize(ctx, s2, 64 * M + info.available + 2 * M, 0), -ENOSPC);
	cr_expect_eq(attr(s2, "size"), 64 * M);
	cr_expect_eq(attr(s2, "align"), DAXALLOC_SIZE_2M);
	cr_expect(enabled(s2), "a refusal leaves it enabled");
	cr_expect_eq(daxalloc_dev_set_align(ctx, "dax99.99", DAXALLOC_SIZE_2M, 0), -ENODEV);
	cr_expect_eq(daxalloc_dev_set_align(ctx, s2, 3 * M, 0), -EINVAL);
	cr_expect_eq(daxalloc_dev_destroy(ctx, s2, 0), 0, "%s", daxalloc_errmsg());
}

/*
 * libdaxctl's setters answer -ENXIO whatever the kernel said; the write
 * itself carries the kernel's errno, which errno still holds after the
 * setter returns.  The library reports that one (rc_daxctl_set()):
 * measured here so that stays true.
 */
Test(subdev, kernel_errno_where_libdaxctl_says_enxio)
{
	struct daxctl_region *region;
	struct daxctl_ctx *dc = NULL;
	struct daxctl_dev *dd, *found = NULL;
	char name[32], path[128], cmd[96];
	int fd, rc;

	scratch(64 * M, DAXALLOC_SIZE_2M, name);
	cr_assert_eq(daxctl_new(&dc), 0);
	daxctl_set_log_priority(dc, 0);
	daxctl_region_foreach(dc, region)
		daxctl_dev_foreach(region, dd)
			if (strcmp(daxctl_dev_get_devname(dd), name) == 0)
				found = dd;
	cr_assert_not_null(found);
	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/align", name);
	/* enabled: the kernel says EBUSY */
	errno = 0;
	rc = daxctl_dev_set_align(found, DAXALLOC_SIZE_4K);
	cr_expect_eq(errno, EBUSY, "errno after libdaxctl's setter: %s", strerror(errno));
	fd = open(path, O_WRONLY);
	cr_assert_geq(fd, 0);
	errno = 0;
	cr_expect_eq(write(fd, "4096", 4), -1);
	cr_expect_eq(errno, EBUSY);
	close(fd);
	cr_log_info("%s enabled, align 4K: libdaxctl %d, kernel %s", name, rc, strerror(EBUSY));
	cr_expect_eq(rc, -ENXIO);
	/* disabled, 1G on 64M: the kernel says EINVAL */
	snprintf(cmd, sizeof(cmd), "daxctl disable-device %s >/dev/null 2>&1", name);
	cr_assert_eq(system(cmd), 0);
	errno = 0;
	rc = daxctl_dev_set_align(found, DAXALLOC_SIZE_1G);
	cr_expect_eq(errno, EINVAL, "errno after libdaxctl's setter: %s", strerror(errno));
	fd = open(path, O_WRONLY);
	errno = 0;
	cr_expect_eq(write(fd, "1073741824", 10), -1);
	cr_expect_eq(errno, EINVAL);
	close(fd);
	cr_log_info("%s disabled, align 1G on 64M: libdaxctl %d, kernel %s", name, rc,
		    strerror(EINVAL));
	cr_expect_eq(rc, -ENXIO);
	cr_expect_eq(attr(name, "align"), DAXALLOC_SIZE_2M);
	daxctl_unref(dc);
	/* the library on the disabled device: no pool can be read, so only with DESTROY */
	cr_expect_eq(daxalloc_dev_destroy(ctx, name, 0), -EBUSY);
	cr_expect(strstr(daxalloc_errmsg(), "it is disabled"), "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_dev_set_align(ctx, name, DAXALLOC_SIZE_4K, DESTROY), 0, "%s",
		     daxalloc_errmsg());
	cr_expect_eq(attr(name, "align"), DAXALLOC_SIZE_4K);
	cr_expect_not(enabled(name), "a disabled device stays disabled");
	cr_expect_eq(daxalloc_dev_destroy(ctx, name, DESTROY), 0, "%s", daxalloc_errmsg());
}

/* ---- guest RAM for QEMU ---------------------------------------------------------- */

/* Read @fd until @want shows up or @secs pass. */
static bool wait_output(int fd, const char *want, int secs, char *buf, size_t len)
{
	struct timespec t0;
	size_t used = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	buf[0] = '\0';
	while (since(&t0) < secs) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 500) <= 0)
			continue;
		n = read(fd, buf + used, len - 1 - used);
		if (n <= 0)
			return false;
		used += (size_t)n;
		buf[used] = '\0';
		if (strstr(buf, want))
			return true;
		if (used + 1 >= len)
			used = 0;
	}
	return false;
}

Test(subdev, one_g_device_backs_qemu_guest_ram)
{
	const struct guest_dev *gd = guest_dev("recfgdyn");
	char line[1024], *argv[40], *save = NULL, dev[32] = "", id[64] = "", want[96], buf[8192];
	char first[1024];
	struct daxalloc_daxregion_info info = { DAXALLOC_DAXREGION_INFO_INIT };
	int in[2], out[2], argc = 0, st;
	static struct ctl_run run;
	uint64_t start;
	pid_t qemu;

	/* room for 1G on a 1G boundary: recfgdyn gives up its second gigabyte */
	cr_assert_eq(daxalloc_dev_resize(ctx, gd->name, G, 0), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_daxregion_get_info(ctx, gd->region, &info), 0);
	cr_expect_geq(info.available_1g, G);
	ctl_runf(&run, "vm-backing --region %d --size 1G --align 1G --id guestram", gd->region);
	cr_assert_eq(run.status, 0, "%s", run.err);
	cr_log_info("vm-backing printed: %s", run.out);
	snprintf(first, sizeof(first), "%.1023s", run.out);
	cr_assert_eq(sscanf(run.out, "-object memory-backend-file,id=%63[^,],mem-path=/dev/%31[^,],",
			    id, dev),
		     2, "%s", run.out);
	cr_expect_eq(attr(dev, "size"), G);
	cr_expect_eq(attr(dev, "align"), G);
	start = attr(dev, "mapping0/start");
	cr_expect_eq(start % G, 0, "%s starts at 0x%llx", dev, (unsigned long long)start);
	cr_expect(strstr(run.out, "-machine memory-backend="), "%s", run.out);
	cr_expect(strstr(run.out, ",size=1G,align=1G,share=on"), "%s", run.out);
	/* QEMU with exactly those options, on a machine that never runs */
	cr_assert_lt(snprintf(line, sizeof(line),
			      "qemu-system-x86_64 -machine none -nodefaults -display none -monitor stdio -S %s",
			      run.out),
		     (int)sizeof(line));
	line[strcspn(line, "\n")] = '\0';
	for (char *tok = strtok_r(line, " ", &save); tok && argc < 39;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	cr_assert_eq(pipe(in), 0);
	cr_assert_eq(pipe(out), 0);
	qemu = fork();
	cr_assert_geq(qemu, 0);
	if (qemu == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(in[1]);
		close(out[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	snprintf(want, sizeof(want), "memory backend: %s", id);
	cr_expect_eq(write(in[1], "info memdev\n", 12), 12);
	cr_expect(wait_output(out[0], want, 120, buf, sizeof(buf)), "QEMU said: %s", buf);
	/* QEMU maps the device: the library names it */
	cr_expect_eq(daxalloc_dev_destroy(ctx, dev, DESTROY), -EBUSY);
	snprintf(want, sizeof(want), "pid %d (qemu-system-x86) has it mapped", (int)qemu);
	cr_expect(strstr(daxalloc_errmsg(), want), "%s", daxalloc_errmsg());
	cr_expect_eq(write(in[1], "quit\n", 5), 5);
	close(in[1]);
	waitpid(qemu, &st, 0);
	close(out[0]);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "QEMU status 0x%x", st);
	/* The same --id again: the same device, nothing created. */
	ctl_runf(&run, "vm-backing --region %d --size 1G --align 1G --id guestram", gd->region);
	cr_expect_eq(run.status, 0, "%s", run.err);
	cr_expect(strncmp(run.out, first, sizeof(first) - 1) == 0,
		  "a second vm-backing --id guestram: %s, first %s", run.out, first);
	snprintf(want, sizeof(want), "<path>/dev/%s</path>", dev);
	ctl_runf(&run, "vm-backing --size 1G --align 1G --id guestram --libvirt");
	cr_expect_eq(run.status, 0, "%s", run.err);
	cr_expect(strstr(run.out, want) &&
			  strstr(run.out, "<memory model='nvdimm' access='shared'>") &&
			  strstr(run.out, "<size unit='KiB'>1048576</size>"),
		  "%s", run.out);
	ctl_runf(&run, "vm-backing --size 2G --align 1G --id guestram");
	cr_expect_eq(run.status, 1, "another size for the same --id: %s", run.out);
	cr_expect(strstr(run.err, dev), "%s", run.err);
	cr_expect_eq(daxalloc_dev_destroy(ctx, dev, 0), 0, "%s", daxalloc_errmsg());
	/* recfgdyn grows back into the same place: one range again */
	start = attr(gd->name, "mapping0/start");
	cr_assert_eq(daxalloc_dev_resize(ctx, gd->name, gd->size, 0), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(attr(gd->name, "size"), gd->size);
	cr_expect_eq(attr(gd->name, "mapping0/start"), start);
	cr_expect_eq(attr(gd->name, "mapping1/start"), UINT64_MAX, "a single range");
}

/*
 * The devices are shared between the tests: one test at a time.  After
 * the last, this process (which never held a device) puts back what a
 * failed test left, and fails the run if it cannot.
 */
int main(int argc, char *argv[])
{
	struct criterion_test_set *tests = criterion_initialize();
	int rc = 0;

	criterion_options.jobs = 1;
	if (getenv("DAXALLOC_GUEST_DEVICES"))
		baseline();
	if (criterion_handle_args(argc, argv, true))
		rc = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	if (getenv("DAXALLOC_GUEST_DEVICES")) {
		struct daxalloc_ctx *c = NULL;

		if (daxalloc_ctx_new(&c) < 0 || repair(c) != 0) {
			fprintf(stderr, "test-guest-reconfigure: the devices are not as found\n");
			rc = 1;
		}
		daxalloc_ctx_delete(&c);
	}
	return rc;
}
