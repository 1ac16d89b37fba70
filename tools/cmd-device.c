// SPDX-License-Identifier: GPL-2.0-or-later
/* list and info: what devices there are and what each offers. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* [DEV] [--json]: list takes no DEV. */
static int parse_json_only(const char *cmd, int argc, char **argv, bool *json, const char **dev)
{
	static const struct option opts[] = { CTL_BASE_OPTIONS, CTL_OPT_JSON, CTL_OPT_END };
	struct ctl_args a;
	int rc;

	if ((rc = ctl_parse(cmd, argc, argv, opts, &a)))
		return rc;
	*json = a.json;
	if (dev && optind < argc)
		*dev = argv[optind++];
	if (optind < argc)
		return ctl_fail(CTL_USAGE, "%s: unexpected argument '%s'", cmd, argv[optind]);
	return 0;
}

int cmd_list(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	struct daxalloc_dev *d;
	bool json = false;
	const char *def;
	int rc, n = 0;

	rc = parse_json_only("list", argc, argv, &json, NULL);
	if (rc)
		return rc;
	if (json) {
		struct json_object *arr = json_object_new_array();

		daxalloc_dev_foreach(ctx, d)
			json_object_array_add(arr, ctl_dev_json(d));
		/* No devices, no output: as daxctl list. */
		if (json_object_array_length(arr))
			ctl_json_print(arr);
		json_object_put(arr);
		return CTL_OK;
	}
	daxalloc_dev_foreach(ctx, d) {
		char s[32], a[32], res[32];
		const char *ns = daxalloc_dev_get_namespace(d);
		uint64_t r = daxalloc_dev_get_resource(d);

		if (n++ == 0)
			printf("%-10s %-8s %8s %6s %5s %6s %6s %-8s %-14s %s\n", "DEVICE", "KIND",
			       "SIZE", "ALIGN", "NODE", "TARGET", "REGION", "STATE", "RESOURCE",
			       "NAMESPACE");
		if (r == UINT64_MAX)
			snprintf(res, sizeof(res), "-");
		else
			snprintf(res, sizeof(res), "0x%" PRIx64, r);
		printf("%-10s %-8s %8s %6s %5d %6d %6d %-8s %-14s %s\n", daxalloc_dev_get_name(d),
		       daxalloc_region_kind_name(daxalloc_dev_get_region_kind(d)),
		       ctl_size(daxalloc_dev_get_size(d), s, sizeof(s)),
		       ctl_size(daxalloc_dev_get_align(d), a, sizeof(a)),
		       daxalloc_dev_get_numa_node(d), daxalloc_dev_get_target_node(d),
		       daxalloc_dev_get_region_id(d),
		       ctl_dev_state(d), res, ns ? ns : "-");
	}
	if (n == 0)
		printf("no device-dax devices on this machine\n");
	def = daxalloc_ctx_get_default_device(ctx);
	if (strncmp(def, "hugetlb:", 8) != 0)
		printf("default device: %s\n", def);
	else
		printf("default device: %s (a stand-in: huge pages, not device-dax%s)\n", def,
		       strcmp(def, "hugetlb:1G") == 0 ? "; hugetlb:2M if no 1G page can be had" : "");
	return CTL_OK;
}

int cmd_info(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	const char *name = NULL, *ns, *path;
	struct daxalloc_dev *dev = NULL;
	char s[32], a[32];
	bool json = false;
	uint64_t r;
	int rc;

	rc = parse_json_only("info", argc, argv, &json, &name);
	if (rc)
		return rc;
	rc = daxalloc_dev_open(ctx, name, &dev);
	if (rc < 0)
		return ctl_lib_fail(rc);
	if (json) {
		struct json_object *o = ctl_dev_json(dev);

		ctl_json_print(o);
		json_object_put(o);
		daxalloc_dev_close(&dev);
		return CTL_OK;
	}
	ns = daxalloc_dev_get_namespace(dev);
	path = daxalloc_dev_get_path(dev);
	r = daxalloc_dev_get_resource(dev);
	printf("device:      %s%s\n", daxalloc_dev_get_name(dev),
	       daxalloc_dev_is_standin(dev) ? "  (stand-in: hugetlb memory, not device-dax)" : "");
	printf("path:        %s\n", path ? path : "-");
	printf("size:        %s (%" PRIu64 " bytes)\n",
	       ctl_size(daxalloc_dev_get_size(dev), s, sizeof(s)), daxalloc_dev_get_size(dev));
	printf("align:       %s\n", ctl_size(daxalloc_dev_get_align(dev), a, sizeof(a)));
	printf("numa node:   %d\n", daxalloc_dev_get_numa_node(dev));
	printf("target node: %d\n", daxalloc_dev_get_target_node(dev));
	printf("region:      %d (%s)\n", daxalloc_dev_get_region_id(dev),
	       daxalloc_region_kind_name(daxalloc_dev_get_region_kind(dev)));
	if (r == UINT64_MAX)
		printf("resource:    -\n");
	else
		printf("resource:    0x%" PRIx64 "\n", r);
	printf("mode:        %s\n", daxalloc_dev_get_mode(dev));
	printf("state:       %s\n", ctl_dev_state(dev));
	if (ns)
		printf("namespace:   %s (struct pages in %s)\n", ns,
		       daxalloc_dev_memmap_in_ram(dev) ? "RAM" : "the device");
	daxalloc_dev_close(&dev);
	return CTL_OK;
}
