// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Real device-dax devices in the guest: static pmem namespaces and dynamic
 * hmem devices, at 2M and 1G.  Open, report, map with the kernel serving
 * pages of the device alignment, and refuse what the kernel would refuse.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daxalloc.h"
#include "guest-devices.h"
#include "pool-helpers.h"

static struct daxalloc_ctx *ctx;

static void setup(void)
{
	unsetenv("DAXALLOC_DEVICE");
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0, "%s", daxalloc_errmsg());
}

static void teardown(void)
{
	daxalloc_ctx_delete(&ctx);
}

TestSuite(devdax, .init = setup, .fini = teardown, .timeout = 300);

/* The guest's device @label, opened; its row in *@gdp unless @gdp is NULL. */
static struct daxalloc_dev *open_label(const char *label, const struct guest_dev **gdp)
{
	const struct guest_dev *gd = guest_dev(label);
	struct daxalloc_dev *dev = NULL;

	cr_assert_eq(daxalloc_dev_open(ctx, gd->name, &dev), 0, "%s: %s", gd->name,
		     daxalloc_errmsg());
	if (gdp)
		*gdp = gd;
	return dev;
}

static void check_info(const char *label, enum daxalloc_region_kind kind)
{
	const struct guest_dev *gd;
	struct daxalloc_dev *dev = open_label(label, &gd), *bypath = NULL;

	cr_expect_not(daxalloc_dev_is_standin(dev));
	cr_expect_eq(daxalloc_dev_get_type(dev), DAXALLOC_DEV_DEVDAX);
	cr_expect_str_eq(daxalloc_dev_get_name(dev), gd->name);
	cr_expect_str_eq(daxalloc_dev_get_path(dev), gd->path);
	cr_expect_eq(daxalloc_dev_get_size(dev), gd->size);
	cr_expect_eq(daxalloc_dev_get_align(dev), gd->align);
	cr_expect_eq(daxalloc_dev_get_region_id(dev), gd->region);
	cr_expect_eq(daxalloc_dev_get_region_kind(dev), kind, "%s: kind %s", gd->name,
		     daxalloc_region_kind_name(daxalloc_dev_get_region_kind(dev)));
	cr_expect(daxalloc_dev_is_enabled(dev));
	cr_expect_neq(daxalloc_dev_get_resource(dev), UINT64_MAX, "root sees the resource");
	cr_expect_eq(daxalloc_dev_get_resource(dev) % gd->align, 0);
	cr_expect_geq(daxalloc_dev_get_numa_node(dev), -1);
	if (kind == DAXALLOC_REGION_STATIC) {
		cr_expect_not_null(daxalloc_dev_get_namespace(dev));
		if (daxalloc_dev_get_namespace(dev))
			cr_expect_eq(strncmp(daxalloc_dev_get_namespace(dev), "namespace", 9), 0);
		cr_expect(daxalloc_dev_memmap_in_ram(dev), "namespaces are made with -M mem");
	} else {
		cr_expect_null(daxalloc_dev_get_namespace(dev));
		cr_expect_geq(daxalloc_dev_get_target_node(dev), 0);
	}
	/* the same device by its path */
	cr_assert_eq(daxalloc_dev_open(ctx, gd->path, &bypath), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_dev_get_size(bypath), gd->size);
	daxalloc_dev_close(&bypath);
	daxalloc_dev_close(&dev);
}

#define INFO_CASE(name, label, kind)      \
	Test(devdax, info_##name)         \
	{                                 \
		check_info(#label, kind); \
	}

INFO_CASE(static_2m, static2m, DAXALLOC_REGION_STATIC)
INFO_CASE(static_1g, static1g, DAXALLOC_REGION_STATIC)
INFO_CASE(dynamic_1g, dyn1g, DAXALLOC_REGION_DYNAMIC)
INFO_CASE(dynamic_2m, dyn2m, DAXALLOC_REGION_DYNAMIC)

Test(devdax, enumeration_lists_every_guest_device)
{
	const struct guest_dev *gds;
	struct daxalloc_dev *d;
	int n, found = 0;

	gds = guest_devs(&n);
	for (int i = 0; i < n; i++)
		daxalloc_dev_foreach(ctx, d)
			if (strcmp(daxalloc_dev_get_name(d), gds[i].name) == 0)
				found++;
	cr_expect_eq(found, n, "listed %d of the guest's %d devices", found, n);
}

Test(devdax, default_is_a_real_device)
{
	struct daxalloc_dev *dev = NULL;

	guest_devs(&(int){ 0 });
	cr_assert_eq(daxalloc_dev_open(ctx, NULL, &dev), 0, "%s", daxalloc_errmsg());
	cr_expect_not(daxalloc_dev_is_standin(dev), "default fell back to %s",
		      daxalloc_dev_get_name(dev));
	daxalloc_dev_close(&dev);
}

/* Map @len at 0; the kernel must serve it with pages of the device alignment. */
static void map_region(const char *label, uint64_t len)
{
	const struct guest_dev *gd;
	struct daxalloc_dev *dev = open_label(label, &gd);
	struct daxalloc_map *map = NULL;
	volatile uint64_t *p;
	int rc;

	rc = daxalloc_map_new(dev, 0, len, NULL, 0, &map);
	if (len % gd->align) {
		/* a 2M region on a 1G device breaks the rule: refused, named */
		cr_expect_eq(rc, -EINVAL);
		cr_expect(strstr(daxalloc_errmsg(), "not a multiple of the device alignment"), "%s",
			  daxalloc_errmsg());
		cr_expect(strstr(daxalloc_errmsg(), gd->name), "%s", daxalloc_errmsg());
		daxalloc_dev_close(&dev);
		return;
	}
	cr_assert_eq(rc, 0, "%s: %s", gd->name, daxalloc_errmsg());
	p = daxalloc_map_get_address(map);
	for (uint64_t off = 0; off < len; off += 1u << 20)
		p[off / 8] = off ^ 0x5aa5;
	for (uint64_t off = 0; off < len; off += 1u << 20)
		cr_assert_eq(p[off / 8], off ^ 0x5aa5, "%s: offset %llu", gd->name,
			     (unsigned long long)off);
	cr_expect_eq(daxalloc_map_get_kernel_page_size(map), (int64_t)gd->align,
		     "%s: KernelPageSize %lld, align %llu", gd->name,
		     (long long)daxalloc_map_get_kernel_page_size(map),
		     (unsigned long long)gd->align);
	daxalloc_map_delete(&map);
	daxalloc_dev_close(&dev);
}

/* One case per device and size, named after both. */
#define MAP_CASE(size, label, len)         \
	Test(devdax, map_##size##_##label) \
	{                                  \
		map_region(#label, len);   \
	}

MAP_CASE(2m, static2m, 2u << 20)
MAP_CASE(1g, static2m, 1u << 30)
MAP_CASE(2m, static1g, 2u << 20)
MAP_CASE(1g, static1g, 1u << 30)
MAP_CASE(2m, dyn2m, 2u << 20)
MAP_CASE(1g, dyn1g, 1u << 30)
MAP_CASE(2m, dyn1g, 2u << 20)

Test(devdax, contents_survive_remap)
{
	struct daxalloc_dev *dev = open_label("dyn2m", NULL);
	struct daxalloc_map *a = NULL, *b = NULL;

	cr_assert_eq(daxalloc_map_new(dev, 2u << 20, 2u << 20, NULL, 0, &a), 0, "%s",
		     daxalloc_errmsg());
	strcpy(daxalloc_map_get_address(a), "kept across mappings");
	daxalloc_map_delete(&a);
	cr_assert_eq(daxalloc_map_new(dev, 0, 4u << 20, NULL, DAXALLOC_MAP_POPULATE, &b), 0, "%s",
		     daxalloc_errmsg());
	cr_expect_str_eq((char *)daxalloc_map_get_address(b) + (2u << 20), "kept across mappings");
	daxalloc_map_delete(&b);
	daxalloc_dev_close(&dev);
}

Test(devdax, map_sync_is_accepted)
{
	struct daxalloc_dev *dev = open_label("static2m", NULL);
	struct daxalloc_map *map = NULL;

	cr_expect_eq(daxalloc_map_new(dev, 0, 2u << 20, NULL, DAXALLOC_MAP_SYNC, &map), 0, "%s",
		     daxalloc_errmsg());
	daxalloc_map_delete(&map);
	daxalloc_dev_close(&dev);
}

Test(devdax, unaligned_requests_refused_by_library)
{
	const struct guest_dev *gd;
	struct daxalloc_dev *dev = open_label("static1g", &gd);
	struct daxalloc_map *map = NULL;

	cr_expect_eq(daxalloc_map_new(dev, 2u << 20, 1u << 30, NULL, 0, &map), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(),
			 "offset 0x200000 is not a multiple of the device alignment 1G"),
		  "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_map_new(dev, 0, gd->size + (1u << 30), NULL, 0, &map), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), "outside the device"), "%s", daxalloc_errmsg());
	cr_expect_null(map);
	daxalloc_dev_close(&dev);
}

/* The rule the library enforces is the kernel's: a raw unaligned mmap fails. */
Test(devdax, kernel_refuses_unaligned_mmap_too)
{
	const struct guest_dev *gd = guest_dev("dyn1g");
	int fd = open(gd->path, O_RDWR | O_CLOEXEC);
	void *p;

	cr_assert_geq(fd, 0, "%s: %s", gd->path, strerror(errno));
	p = mmap(NULL, 2u << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_expect_eq(p, MAP_FAILED, "the kernel mapped 2M of a 1G device");
	cr_expect_eq(errno, EINVAL);
	p = mmap(NULL, 1u << 30, PROT_READ, MAP_PRIVATE, fd, 0);
	cr_expect_eq(p, MAP_FAILED, "private mappings of devdax are refused");
	close(fd);
}

/*
 * A process with transparent huge pages off (prctl PR_SET_THP_DISABLE, as
 * redis-server does when it starts) gets no 2M faults: what does this
 * kernel do with a raw mapping (populate it: EFAULT or not), and does the
 * library answer the same, never with a SIGBUS later?  Child exit codes:
 * 0 mapped and every page touched, 10 refused saying why, 11 refused
 * otherwise, 12 setup failed; +20 when the raw populate failed.
 */
static int thp_off_child(const void *arg)
{
	const struct guest_dev *gd = arg;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_map *map = NULL;
	int fd, raw_refused, rc;
	char *p;

	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0 || daxalloc_dev_open(ctx, gd->name, &dev) < 0)
		return 12;
	fd = open(gd->path, O_RDWR | O_CLOEXEC);
	p = mmap(NULL, 4u << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fd < 0 || p == MAP_FAILED)
		return 12;
	raw_refused = madvise(p, 4u << 20, MADV_POPULATE_WRITE) < 0 && errno == EFAULT;
	munmap(p, 4u << 20);
	close(fd);
	rc = daxalloc_map_new(dev, 0, 4u << 20, NULL, 0, &map);
	if (rc == -EOPNOTSUPP && strstr(daxalloc_errmsg(), "PR_SET_THP_DISABLE"))
		return 10 + 20 * raw_refused;
	if (rc < 0) {
		fprintf(stderr, "map: %s\n", daxalloc_errmsg());
		return 11 + 20 * raw_refused;
	}
	p = daxalloc_map_get_address(map);
	for (uint64_t off = 0; off < (4u << 20); off += 4096)
		p[off] = 1; /* SIGBUS here, if the kernel refused and the library mapped */
	daxalloc_map_delete(&map);
	return 20 * raw_refused;
}

Test(devdax, thp_off_process_is_told_not_killed)
{
	int code = th_in_child(thp_off_child, guest_dev("static2m"));

	cr_assert_lt(code, 128, "the child died of signal %d (a SIGBUS is what must not happen)",
		     code - 128);
	cr_assert_neq(code % 20, 12, "the child could not set up");
	cr_log_info("this kernel %s 2M faults to a process with THP off; the library %s",
		    code >= 20 ? "refuses" : "allows",
		    code % 20 == 10 ? "refused, saying why" : "mapped");
	if (code >= 20)
		cr_expect_eq(code, 30, "the kernel refuses, the library did not say so (code %d)",
			     code);
	else
		cr_expect_eq(code, 0, "the kernel allows, yet the library refused (code %d)", code);
}

/*
 * A heap made before the program turns THP off keeps working after
 * (redis-server's order), and in a child it forks (redis' BGSAVE): the
 * child gets no page tables for the device and no device-dax faults.
 */
static int heap_after_thp_off(const void *arg)
{
	const struct guest_dev *gd = arg;
	char *first = NULL;
	pid_t kid;
	int kst;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	struct daxalloc_heap *h = NULL;

	if (daxalloc_dev_open(ctx, gd->name, &dev) < 0 ||
	    daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &pool) < 0 ||
	    daxalloc_alloc(pool, 64u << 20, NULL, 0, &r) < 0 ||
	    daxalloc_heap_create(r, DAXALLOC_HEAP_FORK_COPY, &h) < 0) {
		fprintf(stderr, "setup: %s\n", daxalloc_errmsg());
		return 12;
	}
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0)
		return 12;
	for (int i = 0; i < 40000; i++) {
		char *o = daxalloc_heap_malloc(h, 1024);

		if (!o)
			return 13;
		memset(o, i, 1024); /* SIGBUS on a page not faulted before */
		first = first ? first : o;
	}
	kid = fork();
	if (kid == 0) {
		char *o = daxalloc_heap_malloc(h, 1024);

		_exit(first[0] == 0 && first[1023] == 0 && o && memset(o, 7, 1024) ? 0 : 14);
	}
	if (kid < 0 || waitpid(kid, &kst, 0) != kid)
		return 12;
	return WIFEXITED(kst) ? WEXITSTATUS(kst) : 100 + WTERMSIG(kst);
}

Test(devdax, heap_lives_on_after_thp_is_turned_off)
{
	int code = th_in_child(heap_after_thp_off, guest_dev("dyn2m"));

	cr_expect_eq(code, 0, "the heap's program %s %d after turning THP off",
		     code >= 128 ? "died of signal" : "exited", code >= 128 ? code - 128 : code);
}
