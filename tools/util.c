// SPDX-License-Identifier: GPL-2.0-or-later
/* Output and argument helpers shared by the subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

int ctl_fail(int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Arguments are quoted: keep their control characters off the terminal. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	fprintf(stderr, "%s: %s\n", ctl_prog, msg);
	return status;
}

int ctl_lib_fail(int rc)
{
	const char *msg = daxalloc_errmsg();

	if (!msg || !*msg)
		return ctl_fail(CTL_FAILED, "%s", strerror(-rc));
	return ctl_fail(CTL_FAILED, "%s", msg);
}

int ctl_parse_size(const char *opt, const char *arg, uint64_t *out)
{
	if (daxalloc_size_parse(arg, out) < 0)
		return ctl_fail(CTL_USAGE, "%s: %s", opt, daxalloc_errmsg());
	return 0;
}

const char *ctl_size(uint64_t v, char *buf, size_t len)
{
	if (daxalloc_size_format(v, buf, len) < 0)
		snprintf(buf, len, "?");
	return buf;
}

void ctl_json_print(struct json_object *obj)
{
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
						      JSON_C_TO_STRING_SPACED |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
}

static struct json_object *json_u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

/* The stable JSON shape of a device: snake_case keys, raw integers. */
struct json_object *ctl_dev_json(struct daxalloc_dev *dev)
{
	struct json_object *o = json_object_new_object();
	const char *path = daxalloc_dev_get_path(dev);
	const char *ns = daxalloc_dev_get_namespace(dev);
	uint64_t res = daxalloc_dev_get_resource(dev);
	bool standin = daxalloc_dev_is_standin(dev);

	json_object_object_add(o, "name", json_object_new_string(daxalloc_dev_get_name(dev)));
	json_object_object_add(o, "path", path ? json_object_new_string(path) : NULL);
	json_object_object_add(o, "type", json_object_new_string(standin ? "hugetlb" : "devdax"));
	json_object_object_add(o, "standin", json_object_new_boolean(standin));
	json_object_object_add(o, "size", json_u64(daxalloc_dev_get_size(dev)));
	json_object_object_add(o, "align", json_u64(daxalloc_dev_get_align(dev)));
	json_object_object_add(o, "numa_node", json_object_new_int(daxalloc_dev_get_numa_node(dev)));
	json_object_object_add(o, "target_node",
			       json_object_new_int(daxalloc_dev_get_target_node(dev)));
	json_object_object_add(o, "region_id", json_object_new_int(daxalloc_dev_get_region_id(dev)));
	json_object_object_add(o, "region_kind", json_object_new_string(daxalloc_region_kind_name(
							   daxalloc_dev_get_region_kind(dev))));
	json_object_object_add(o, "resource", res == UINT64_MAX ? NULL : json_u64(res));
	json_object_object_add(o, "enabled", json_object_new_boolean(daxalloc_dev_is_enabled(dev)));
	json_object_object_add(o, "namespace", ns ? json_object_new_string(ns) : NULL);
	if (!standin)
		json_object_object_add(o, "memmap", json_object_new_string(
				daxalloc_dev_memmap_in_ram(dev) ? "ram" : "device"));
	return o;
}
