// SPDX-License-Identifier: GPL-2.0-or-later
/* pins: who pins what on a device, across processes. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

static int add_pin(const struct daxalloc_pin_info *pi, void *arg)
{
	json_object_array_add(arg, ctl_json_pin(pi));
	return 0;
}

static void print_pin_head(void)
{
	printf("%-20s %12s %8s %-8s %7s %-15s %-19s %s\n", "REGION", "OFFSET", "LENGTH", "KIND",
	       "PID", "COMMAND", "SINCE", "CONSUMER");
}

static void print_pin(struct json_object *x)
{
	char l[32], o[32], when[32];
	const char *region = ctl_jstr(x, "region");

	ctl_time(ctl_ju64(x, "since"), when, sizeof(when));
	snprintf(o, sizeof(o), "0x%" PRIx64, ctl_ju64(x, "offset"));
	printf("%-20s %12s %8s %-8s %7d %-15s %-19s %s\n", region ? region : "(unnamed)", o,
	       ctl_size(ctl_ju64(x, "length"), l, sizeof(l)), ctl_jstr(x, "kind"),
	       (int)ctl_ji64(x, "pid"), ctl_jstr(x, "command"), when, ctl_jstr(x, "consumer"));
}

int cmd_pins(struct daxalloc_ctx *ctx, struct ctl_args *a)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct json_object *arr;
	const char *name;
	int rc;

	if (a->npos < 1)
		return ctl_fail(CTL_USAGE, "pins: missing DEV (a device name such as dax0.0)");
	name = a->pos[0];
	if (a->npos > 1)
		return ctl_fail(CTL_USAGE, "pins: unexpected argument '%s'", a->pos[1]);
	rc = daxalloc_dev_open(ctx, name, &dev);
	if (rc < 0)
		return ctl_lib_fail(rc);
	if (daxalloc_dev_is_standin(dev)) {
		daxalloc_dev_close(&dev);
		return ctl_fail(CTL_FAILED,
				"%s: a stand-in's memory and pins belong to the process that made it; list them there with daxalloc_pool_foreach_pin()",
				name);
	}
	rc = daxalloc_pool_open(dev, DAXALLOC_POOL_RDONLY, &pool);
	if (rc < 0) {
		daxalloc_dev_close(&dev);
		return ctl_lib_fail(rc);
	}
	arr = json_object_new_array();
	rc = daxalloc_pool_foreach_pin(pool, add_pin, arr);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	if (rc < 0) {
		json_object_put(arr);
		return ctl_lib_fail(rc);
	}
	ctl_print_rows(arr, a->json, print_pin_head, print_pin, name, "pins");
	return CTL_OK;
}
