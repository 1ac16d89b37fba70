// SPDX-License-Identifier: GPL-2.0-or-later
/* Output and argument helpers shared by the subcommands. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

int ctl_getopt(const char *cmd, int argc, char **argv, const struct option *opts)
{
	char shorts[64] = ":";	/* ':' first: a missing argument returns ':' */
	size_t n = 1;
	const char *bad;
	int c, idx = -1;

	for (const struct option *o = opts; o->name && n + 3 < sizeof(shorts); o++) {
		if (o->val > 0xff)
			continue;
		shorts[n++] = (char)o->val;
		if (o->has_arg == required_argument)
			shorts[n++] = ':';
	}
	shorts[n] = '\0';
	opterr = 0;	/* getopt's own messages take two lines: ours take one */
	c = getopt_long(argc, argv, shorts, opts, &idx);
	if (c == 'h') {
		ctl_help_cmd(cmd);
		return -CTL_DONE;
	}
	if (c != '?' && c != ':')
		return c;
	/* The word as given: "--force", "--size" or "-z". */
	bad = argv[optind - 1];
	if (optopt && optopt < 0x100 && strncmp(bad, "--", 2) != 0) {
		static char dash[3] = "-";

		dash[1] = (char)optopt;
		bad = dash;
	}
	if (c == ':')
		ctl_fail(CTL_USAGE, "%s: %.*s needs a value (see '%s %s --help')", cmd,
			 (int)strcspn(bad, "="), bad, ctl_prog, cmd);
	else
		ctl_fail(CTL_USAGE, "%s: no option %.*s here (see '%s %s --help')", cmd,
			 (int)strcspn(bad, "="), bad, ctl_prog, cmd);
	return -CTL_USAGE;
}

int ctl_take_opt(const char *cmd, int c, struct ctl_args *a)
{
	char *end;

	switch (c) {
	case 'j': a->json = true; break;
	case 'f': a->force = true; break;
	case 'n': a->name = optarg; break;
	case 's':
		if (ctl_parse_size("--size", optarg, &a->size))
			return CTL_USAGE;
		a->size_given = true;
		break;
	case 'o':
		if (ctl_parse_size("--offset", optarg, &a->offset))
			return CTL_USAGE;
		a->offset_given = true;
		break;
	case 'a':
		if (ctl_parse_size("--align", optarg, &a->align))
			return CTL_USAGE;
		if (!daxalloc_align_is_valid(a->align))
			return ctl_fail(CTL_USAGE, "%s: --align %s: device-dax offers 4K, 2M or 1G",
					cmd, optarg);
		a->align_given = true;
		break;
	case CTL_O_REPAIR: a->repair = true; break;
	case CTL_O_POPULATE: a->populate = true; break;
	case CTL_O_SYNC: a->sync = true; break;
	case CTL_O_REGION:
		a->region = (int)strtol(optarg, &end, 10);
		if (*end || end == optarg || a->region < 0)
			return ctl_fail(CTL_USAGE, "%s: --region %s: expected a dax region id (0, 1, ...)",
					cmd, optarg);
		break;
	case CTL_O_DESTROY: a->reconfig_flags |= DAXALLOC_RECONFIG_DESTROY_DATA; break;
	case CTL_O_IGNORE_DMA: a->reconfig_flags |= DAXALLOC_RECONFIG_IGNORE_DMA; break;
	case CTL_O_ID: a->id = optarg; break;
	case CTL_O_NUMA: a->numa = true; break;
	case CTL_O_MODE: a->mode = optarg; break;
	case CTL_O_READ_ONLY: a->read_only = true; break;
	case CTL_O_LIBVIRT: a->libvirt = true; break;
	default:
		return ctl_fail(CTL_USAGE, "%s: option %d not handled", cmd, c);
	}
	return 0;
}

int ctl_parse(const char *cmd, int argc, char **argv, const struct option *opts,
	      struct ctl_args *a)
{
	int c, rc;

	memset(a, 0, sizeof(*a));
	a->region = -1;
	optind = 1;
	while ((c = ctl_getopt(cmd, argc, argv, opts)) != -1) {
		if (c < 0)
			return -c;
		rc = ctl_take_opt(cmd, c, a);
		if (rc)
			return rc;
	}
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

const char *ctl_dev_state(struct daxalloc_dev *dev)
{
	if (strcmp(daxalloc_dev_get_mode(dev), "system-ram") == 0)
		return "system-ram";
	return daxalloc_dev_is_enabled(dev) ? "enabled" : "disabled";
}

/*
 * The stable JSON shape of a device (schema in the manual page): daxctl's
 * keys for what daxctl also reports (chardev, size, align, target_node,
 * numa_node, mode, state only when disabled), snake_case, raw integers.
 */
struct json_object *ctl_dev_json(struct daxalloc_dev *dev)
{
	struct json_object *o = json_object_new_object();
	const char *path = daxalloc_dev_get_path(dev);
	const char *ns = daxalloc_dev_get_namespace(dev);
	uint64_t res = daxalloc_dev_get_resource(dev);
	bool standin = daxalloc_dev_is_standin(dev);

	json_object_object_add(o, "chardev", json_object_new_string(daxalloc_dev_get_name(dev)));
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
	/* As daxctl: a disabled device is in mode devdax, with "state": "disabled". */
	json_object_object_add(o, "mode", json_object_new_string(daxalloc_dev_get_mode(dev)));
	if (!daxalloc_dev_is_enabled(dev) && strcmp(daxalloc_dev_get_mode(dev), "system-ram") != 0)
		json_object_object_add(o, "state", json_object_new_string("disabled"));
	json_object_object_add(o, "namespace", ns ? json_object_new_string(ns) : NULL);
	if (!standin)
		json_object_object_add(o, "memmap", json_object_new_string(
				daxalloc_dev_memmap_in_ram(dev) ? "ram" : "device"));
	return o;
}
