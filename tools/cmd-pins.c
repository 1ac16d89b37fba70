// SPDX-License-Identifier: GPL-2.0-or-later
/* pins: who pins what on a device, across processes. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

struct pins_state {
	bool json;
	struct json_object *arr;
	int n;
};

static int print_pin(const struct daxalloc_pin_info *pi, void *arg)
{
	struct pins_state *ps = arg;
	char l[32], o[32], when[32];
	time_t t = (time_t)pi->since;

	if (ps->json) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "region", pi->region[0] ? json_object_new_string(pi->region) : NULL);
		json_object_object_add(x, "region_offset", json_object_new_uint64(pi->region_offset));
		json_object_object_add(x, "offset", json_object_new_uint64(pi->offset));
		json_object_object_add(x, "length", json_object_new_uint64(pi->length));
		json_object_object_add(x, "kind", json_object_new_string(daxalloc_pin_kind_name(pi->kind)));
		json_object_object_add(x, "pid", json_object_new_int(pi->pid));
		json_object_object_add(x, "command", json_object_new_string(pi->command));
		json_object_object_add(x, "since", json_object_new_uint64(pi->since));
		json_object_object_add(x, "consumer", json_object_new_string(pi->consumer));
		json_object_array_add(ps->arr, x);
		return 0;
	}
	if (ps->n++ == 0)
		printf("%-20s %12s %8s %-8s %7s %-15s %-19s %s\n", "REGION", "OFFSET", "LENGTH", "KIND",
		       "PID", "COMMAND", "SINCE", "CONSUMER");
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
	snprintf(o, sizeof(o), "0x%" PRIx64, pi->offset);
	printf("%-20s %12s %8s %-8s %7d %-15s %-19s %s\n", pi->region[0] ? pi->region : "(unnamed)",
	       o, ctl_size(pi->length, l, sizeof(l)), daxalloc_pin_kind_name(pi->kind), pi->pid,
	       pi->command, when, pi->consumer);
	return 0;
}

int cmd_pins(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { CTL_BASE_OPTIONS, CTL_OPT_JSON, CTL_OPT_END };
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct pins_state ps = { 0 };
	struct ctl_args a;
	const char *name;
	int rc;

	if ((rc = ctl_parse("pins", argc, argv, opts, &a)))
		return rc;
	ps.json = a.json;
	if (optind >= argc)
		return ctl_fail(CTL_USAGE, "pins: missing DEV (a device name such as dax0.0)");
	name = argv[optind++];
	if (optind < argc)
		return ctl_fail(CTL_USAGE, "pins: unexpected argument '%s'", argv[optind]);
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
	if (ps.json)
		ps.arr = json_object_new_array();
	rc = daxalloc_pool_foreach_pin(pool, print_pin, &ps);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	if (rc < 0) {
		json_object_put(ps.arr);
		return ctl_lib_fail(rc);
	}
	if (ps.json) {
		ctl_json_print(ps.arr);
		json_object_put(ps.arr);
	} else if (ps.n == 0) {
		printf("%s: no pins\n", name);
	}
	return CTL_OK;
}
