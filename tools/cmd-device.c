// SPDX-License-Identifier: GPL-2.0-or-later
/* list and info: what devices there are and what each offers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* [DEV]: list takes no DEV. */
static int parse_dev(const char *cmd, const struct ctl_args *a, const char **dev)
{
	int i = 0;

	if (dev && i < a->npos)
		*dev = a->pos[i++];
	if (i < a->npos)
		return ctl_fail(CTL_USAGE, "%s: unexpected argument '%s'", cmd, a->pos[i]);
	return 0;
}

/* A size as the tables print it: "2M". */
static const char *jsize(struct json_object *o, const char *key, char *buf, size_t len)
{
	return ctl_size(ctl_ju64(o, key), buf, len);
}

/* "0x100000000", or "-" when the kernel does not say. */
static const char *jresource(struct json_object *o, char *buf, size_t len)
{
	if (ctl_jnull(o, "resource"))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "0x%" PRIx64, ctl_ju64(o, "resource"));
	return buf;
}

static void print_row(struct json_object *d, bool first)
{
	char s[32], a[32], res[32];
	const char *ns = ctl_jstr(d, "namespace");

	if (first)
		printf("%-10s %-8s %8s %6s %5s %6s %6s %-8s %-14s %s\n", "DEVICE", "KIND", "SIZE",
		       "ALIGN", "NODE", "TARGET", "REGION", "STATE", "RESOURCE", "NAMESPACE");
	printf("%-10s %-8s %8s %6s %5d %6d %6d %-8s %-14s %s\n", ctl_jstr(d, "chardev"),
	       ctl_jstr(d, "region_kind"), jsize(d, "size", s, sizeof(s)),
	       jsize(d, "align", a, sizeof(a)), (int)ctl_ji64(d, "numa_node"),
	       (int)ctl_ji64(d, "target_node"), (int)ctl_ji64(d, "region_id"),
	       ctl_json_dev_state(d), jresource(d, res, sizeof(res)), ns ? ns : "-");
}

int cmd_list(struct daxalloc_ctx *ctx, struct ctl_args *args)
{
	struct json_object *arr;
	struct daxalloc_dev *d;
	const char *def;
	size_t n;
	int rc;

	rc = parse_dev("list", args, NULL);
	if (rc)
		return rc;
	arr = json_object_new_array();
	daxalloc_dev_foreach(ctx, d)
		json_object_array_add(arr, ctl_json_dev(d));
	n = json_object_array_length(arr);
	if (args->json) {
		/* No devices, no output: as daxctl list. */
		if (n)
			ctl_json_print(arr);
		json_object_put(arr);
		return CTL_OK;
	}
	for (size_t i = 0; i < n; i++)
		print_row(json_object_array_get_idx(arr, i), i == 0);
	json_object_put(arr);
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

static void print_info(struct json_object *d)
{
	const char *ns = ctl_jstr(d, "namespace"), *path = ctl_jstr(d, "path");
	char s[32], a[32], res[32];

	printf("device:      %s%s\n", ctl_jstr(d, "chardev"),
	       ctl_jbool(d, "standin") ? "  (stand-in: hugetlb memory, not device-dax)" : "");
	printf("path:        %s\n", path ? path : "-");
	printf("size:        %s (%" PRIu64 " bytes)\n", jsize(d, "size", s, sizeof(s)),
	       ctl_ju64(d, "size"));
	printf("align:       %s\n", jsize(d, "align", a, sizeof(a)));
	printf("numa node:   %d\n", (int)ctl_ji64(d, "numa_node"));
	printf("target node: %d\n", (int)ctl_ji64(d, "target_node"));
	printf("region:      %d (%s)\n", (int)ctl_ji64(d, "region_id"), ctl_jstr(d, "region_kind"));
	printf("resource:    %s\n", jresource(d, res, sizeof(res)));
	printf("mode:        %s\n", ctl_jstr(d, "mode"));
	printf("state:       %s\n", ctl_json_dev_state(d));
	if (ns)
		printf("namespace:   %s (struct pages in %s)\n", ns,
		       strcmp(ctl_jstr(d, "memmap"), "ram") == 0 ? "RAM" : "the device");
}

int cmd_info(struct daxalloc_ctx *ctx, struct ctl_args *args)
{
	struct daxalloc_dev *dev = NULL;
	struct json_object *o;
	const char *name = NULL;
	int rc;

	rc = parse_dev("info", args, &name);
	if (rc)
		return rc;
	rc = daxalloc_dev_open(ctx, name, &dev);
	if (rc < 0)
		return ctl_lib_fail(rc);
	o = ctl_json_dev(dev);
	daxalloc_dev_close(&dev);
	if (args->json)
		ctl_json_print(o);
	else
		print_info(o);
	json_object_put(o);
	return CTL_OK;
}
