// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * daxalloc_dev_set_mode() and 'reconfigure --mode' on a scratch device of
 * the guest's dynamic region: to system-ram (its memory online as RAM) and
 * back to devdax, with the gate's refusals on the way.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daxalloc.h"
#include "guest-devices.h"
#include "run-ctl.h"

#define M (UINT64_C(1) << 20)

static struct ctl_run r;

static uint64_t mem_total(void)
{
	unsigned long long kb = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

static const char *mode_of(struct daxalloc_ctx *ctx, const char *name)
{
	struct daxalloc_dev *d;

	daxalloc_dev_foreach(ctx, d)
		if (strcmp(daxalloc_dev_get_name(d), name) == 0)
			return daxalloc_dev_get_mode(d);
	return "?";
}

Test(mode, system_ram_and_back, .timeout = 600)
{
	const struct guest_dev *g = guest_dev("dyn2m");
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *reg = NULL;
	uint64_t before;
	char name[32];
	int rc;

	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	cr_assert_eq(daxalloc_dev_create(ctx, g->region, 256 * M, 2 * M, name, sizeof(name)), 0,
		     "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_dev_open(ctx, name, &dev), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &pool), 0, "%s",
		     daxalloc_errmsg());
	cr_assert_eq(daxalloc_alloc(pool, 2 * M, "kept", 0, &reg), 0, "%s", daxalloc_errmsg());

	/* Open here: refused, naming this process. */
	cr_expect_eq(daxalloc_dev_set_mode(ctx, name, "system-ram", DAXALLOC_RECONFIG_DESTROY_DATA),
		     -EBUSY, "%s", daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "system-ram"), "%s", daxalloc_errmsg());
	daxalloc_region_close(&reg);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	/* A named region: lost only when asked. */
	cr_expect_eq(daxalloc_dev_set_mode(ctx, name, "system-ram", 0), -EBUSY, "%s",
		     daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "'kept'"), "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_dev_set_mode(ctx, name, "ram", 0), -EINVAL);
	cr_expect_str_eq(mode_of(ctx, name), "devdax");

	before = mem_total();
	rc = daxalloc_dev_set_mode(ctx, name, "system-ram", DAXALLOC_RECONFIG_DESTROY_DATA);
	cr_assert_eq(rc, 0, "%s", daxalloc_errmsg());
	cr_expect_str_eq(mode_of(ctx, name), "system-ram");
	cr_expect_gt(mem_total(), before, "MemTotal did not grow (%llu)", (unsigned long long)before);
	cr_expect_eq(daxalloc_dev_set_mode(ctx, name, "system-ram", 0), 0, "already: %s",
		     daxalloc_errmsg());
	ctl_runl(&r, "list", NULL);
	cr_expect(strstr(r.out, "system-ram"), "%s", r.out);

	/* Back through the CLI: offline, devdax, the old pool erased. */
	ctl_runl(&r, "reconfigure", name, "--mode", "devdax", NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "mode system-ram -> devdax"), "%s", r.out);
	cr_expect_eq(mem_total(), before, "MemTotal %llu, was %llu",
		     (unsigned long long)mem_total(), (unsigned long long)before);
	ctl_runl(&r, "reconfigure", name, "--mode", "devdax", "--align", "2M", NULL);
	cr_expect_eq(r.status, 2, "--mode with --align: %s", r.err);
	daxalloc_ctx_delete(&ctx);
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	cr_assert_eq(daxalloc_dev_open(ctx, name, &dev), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_pool_open(dev, 0, &pool), -ENODATA,
		     "a pool from before the memory was RAM: %s", daxalloc_errmsg());
	daxalloc_dev_close(&dev);
	cr_expect_eq(daxalloc_dev_destroy(ctx, name, DAXALLOC_RECONFIG_DESTROY_DATA), 0, "%s",
		     daxalloc_errmsg());
	daxalloc_ctx_delete(&ctx);
}
