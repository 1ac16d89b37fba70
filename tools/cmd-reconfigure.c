// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * reconfigure, create-device, resize, destroy-device, regions-free,
 * vm-backing: changing device-dax devices and dynamic regions.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"

struct rc_args {
	const char *dev;
	bool json, numa;
	unsigned int flags;	/* DAXALLOC_RECONFIG_* */
	uint64_t align, size;
	int region;
	const char *id;
	struct ctl_args o;
};

/*
 * DEV first when @want_dev, then the options @opts of the command;
 * @need_size, @need_align: that option is required.
 */
static int parse(const char *cmd, int argc, char **argv, const struct option *opts,
		 bool need_size, bool need_align, bool want_dev, struct rc_args *a)
{
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = ctl_parse(cmd, argc, argv, opts, &a->o)))
		return rc;
	a->json = a->o.json;
	a->numa = a->o.numa;
	a->flags = a->o.reconfig_flags;
	a->align = a->o.align;
	a->size = a->o.size;
	a->region = a->o.region;
	a->id = a->o.id;
	if ((need_size && !a->o.size_given) || (need_align && !a->o.align_given))
		return ctl_fail(CTL_USAGE, "%s: %s is required (see '%s help %s')", cmd,
				need_size && !a->o.size_given ? "--size" : "--align", ctl_prog, cmd);
	if (want_dev) {
		if (optind >= argc)
			return ctl_fail(CTL_USAGE, "%s: missing DEV (a device name such as dax0.1)", cmd);
		a->dev = argv[optind++];
	}
	if (optind < argc)
		return ctl_fail(CTL_USAGE, "%s: unexpected argument '%s'", cmd, argv[optind]);
	return 0;
}

struct snapshot {
	bool found;
	char name[32];
	char ns[64];
	uint64_t size, align;
	int region;
};

static void snap(struct daxalloc_ctx *ctx, const char *dev, const char *ns, struct snapshot *s)
{
	struct daxalloc_dev *d;

	if (strncmp(dev, "/dev/", 5) == 0)
		dev += 5;
	memset(s, 0, sizeof(*s));
	daxalloc_dev_foreach(ctx, d) {
		const char *n = daxalloc_dev_get_namespace(d);

		if (ns ? !n || strcmp(n, ns) != 0 : strcmp(daxalloc_dev_get_name(d), dev) != 0)
			continue;
		s->found = true;
		snprintf(s->name, sizeof(s->name), "%s", daxalloc_dev_get_name(d));
		snprintf(s->ns, sizeof(s->ns), "%s", n ? n : "");
		s->size = daxalloc_dev_get_size(d);
		s->align = daxalloc_dev_get_align(d);
		s->region = daxalloc_dev_get_region_id(d);
		return;
	}
}

static struct json_object *json_u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static const char *mode_of(struct daxalloc_ctx *ctx, const char *dev)
{
	struct daxalloc_dev *d;

	if (strncmp(dev, "/dev/", 5) == 0)
		dev += 5;
	daxalloc_dev_foreach(ctx, d)
		if (strcmp(daxalloc_dev_get_name(d), dev) == 0)
			return daxalloc_dev_get_mode(d);
	return "unknown";
}

/* reconfigure DEV --mode devdax|system-ram */
static int set_mode(struct daxalloc_ctx *ctx, const struct rc_args *a)
{
	char before[16];
	int rc;

	snprintf(before, sizeof(before), "%s", mode_of(ctx, a->dev));
	rc = daxalloc_dev_set_mode(ctx, a->dev, a->o.mode, a->flags);
	if (rc < 0)
		return ctl_lib_fail(rc);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "device", json_object_new_string(a->dev));
		json_object_object_add(o, "old_mode", json_object_new_string(before));
		json_object_object_add(o, "mode", json_object_new_string(mode_of(ctx, a->dev)));
		ctl_json_print(o);
		json_object_put(o);
		return CTL_OK;
	}
	if (strcmp(before, a->o.mode) == 0)
		printf("%s: already in %s mode\n", a->dev, a->o.mode);
	else
		printf("%s: mode %s -> %s\n", a->dev, before, mode_of(ctx, a->dev));
	return CTL_OK;
}

int cmd_reconfigure(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	struct snapshot before, after;
	char a0[32], a1[32], s0[32], s1[32], lost[32];
	struct rc_args a;
	int rc;

	static const struct option opts[] = {
		CTL_BASE_OPTIONS, CTL_OPT_ALIGN, CTL_OPT_MODE, CTL_OPT_DESTROY, CTL_OPT_IGNORE_DMA,
		CTL_OPT_JSON, CTL_OPT_END,
	};

	rc = parse("reconfigure", argc, argv, opts, false, false, true, &a);
	if (rc)
		return rc;
	if (a.o.mode && a.o.align_given)
		return ctl_fail(CTL_USAGE, "reconfigure: --align or --mode, one at a time");
	if (a.o.mode)
		return set_mode(ctx, &a);
	if (!a.o.align_given)
		return ctl_fail(CTL_USAGE, "reconfigure: --align or --mode is required (see '%s help reconfigure')",
				ctl_prog);
	snap(ctx, a.dev, NULL, &before);
	rc = daxalloc_dev_set_align(ctx, a.dev, a.align, a.flags);
	if (rc < 0)
		return ctl_lib_fail(rc);
	/* A re-created namespace comes back as a new device: find it by namespace. */
	snap(ctx, before.name, before.ns[0] ? before.ns : NULL, &after);
	if (!after.found)
		return ctl_fail(CTL_FAILED, "%s: reconfigured, but no longer listed", a.dev);
	if (a.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "device", json_object_new_string(after.name));
		json_object_object_add(o, "namespace",
				       after.ns[0] ? json_object_new_string(after.ns) : NULL);
		json_object_object_add(o, "old_align", json_u64(before.align));
		json_object_object_add(o, "align", json_u64(after.align));
		json_object_object_add(o, "old_size", json_u64(before.size));
		json_object_object_add(o, "size", json_u64(after.size));
		/* A re-created namespace lost its contents. */
		json_object_object_add(o, "namespace_recreated",
				       json_object_new_boolean(after.ns[0] && before.align != after.align));
		ctl_json_print(o);
		json_object_put(o);
		return CTL_OK;
	}
	ctl_size(before.align, a0, sizeof(a0));
	ctl_size(after.align, a1, sizeof(a1));
	ctl_size(before.size, s0, sizeof(s0));
	ctl_size(after.size, s1, sizeof(s1));
	if (before.align == after.align)
		printf("%s: already at align %s\n", after.name, a1);
	else if (after.ns[0])
		printf("%s: align %s -> %s; %s re-created, usable size %s -> %s%s%s%s\n", after.name,
		       a0, a1, after.ns, s0, s1, after.size < before.size ? " (" : "",
		       after.size < before.size ?
			       ctl_size(before.size - after.size, lost, sizeof(lost)) : "",
		       after.size < before.size ? " lost to alignment padding)" : "");
	else
		printf("%s: align %s -> %s; size %s\n", after.name, a0, a1, s1);
	return CTL_OK;
}

static int print_dev(struct daxalloc_ctx *ctx, const char *name, bool json, const char *verb)
{
	struct daxalloc_dev *d;

	daxalloc_dev_foreach(ctx, d) {
		char s[32], al[32];

		if (strcmp(daxalloc_dev_get_name(d), name) != 0)
			continue;
		if (json) {
			struct json_object *o = ctl_dev_json(d);

			ctl_json_print(o);
			json_object_put(o);
		} else {
			printf("%s: %s; %s at align %s in dax region %d\n", name, verb,
			       ctl_size(daxalloc_dev_get_size(d), s, sizeof(s)),
			       ctl_size(daxalloc_dev_get_align(d), al, sizeof(al)),
			       daxalloc_dev_get_region_id(d));
		}
		return CTL_OK;
	}
	return ctl_fail(CTL_FAILED, "%s: %s, but no longer listed", name, verb);
}

int cmd_create_device(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	char name[32];
	struct rc_args a;
	int rc;

	static const struct option opts[] = {
		CTL_BASE_OPTIONS, CTL_OPT_SIZE, CTL_OPT_ALIGN, CTL_OPT_REGION, CTL_OPT_JSON,
		CTL_OPT_END,
	};

	rc = parse("create-device", argc, argv, opts, true, false, false, &a);
	if (rc)
		return rc;
	if (!a.o.align_given)
		a.align = DAXALLOC_SIZE_2M;
	rc = daxalloc_dev_create(ctx, a.region, a.size, a.align, name, sizeof(name));
	if (rc < 0)
		return ctl_lib_fail(rc);
	return print_dev(ctx, name, a.json, "created");
}

int cmd_resize(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	struct rc_args a;
	int rc;

	static const struct option opts[] = {
		CTL_BASE_OPTIONS, CTL_OPT_SIZE, CTL_OPT_DESTROY, CTL_OPT_IGNORE_DMA, CTL_OPT_JSON,
		CTL_OPT_END,
	};

	rc = parse("resize", argc, argv, opts, true, false, true, &a);
	if (rc)
		return rc;
	rc = daxalloc_dev_resize(ctx, a.dev, a.size, a.flags);
	if (rc < 0)
		return ctl_lib_fail(rc);
	return print_dev(ctx, strncmp(a.dev, "/dev/", 5) == 0 ? a.dev + 5 : a.dev, a.json,
			 "resized");
}

int cmd_destroy_device(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	struct rc_args a;
	int rc;

	static const struct option opts[] = {
		CTL_BASE_OPTIONS, CTL_OPT_DESTROY, CTL_OPT_IGNORE_DMA, CTL_OPT_END,
	};

	rc = parse("destroy-device", argc, argv, opts, false, false, true, &a);
	if (rc)
		return rc;
	rc = daxalloc_dev_destroy(ctx, a.dev, a.flags);
	if (rc < 0)
		return ctl_lib_fail(rc);
	printf("%s: %s\n", a.dev, strncmp(a.dev, "hugetlb:", 8) == 0 ?
	       "released; its huge pages are free again" : "destroyed");
	return CTL_OK;
}

struct region_out {
	bool json;
	int n;
	struct json_object *arr;
};

static int region_row(const struct daxalloc_daxregion_info *r, void *arg)
{
	struct region_out *o = arg;
	char sz[32], fr[32], lg[32], f1[32], l1[32], st[32];

	if (o->json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "id", json_object_new_int(r->id));
		json_object_object_add(j, "kind",
				       json_object_new_string(daxalloc_region_kind_name(r->kind)));
		json_object_object_add(j, "start", r->start == UINT64_MAX ? NULL : json_u64(r->start));
		json_object_object_add(j, "size", json_u64(r->size));
		json_object_object_add(j, "align", json_u64(r->align));
		json_object_object_add(j, "available_size", json_u64(r->available));
		json_object_object_add(j, "largest_free", json_u64(r->largest_free));
		json_object_object_add(j, "available_1g", json_u64(r->available_1g));
		json_object_object_add(j, "largest_free_1g", json_u64(r->largest_free_1g));
		json_object_object_add(j, "devices", json_object_new_int((int)r->devices));
		json_object_array_add(o->arr, j);
		return 0;
	}
	if (o->n++ == 0)
		printf("%-6s %-8s %8s %8s %8s %8s %8s %7s %s\n", "REGION", "KIND", "SIZE", "FREE",
		       "LARGEST", "FREE-1G", "LARG-1G", "DEVICES", "START");
	if (r->start == UINT64_MAX)
		snprintf(st, sizeof(st), "-");
	else
		snprintf(st, sizeof(st), "0x%" PRIx64, r->start);
	printf("%-6d %-8s %8s %8s %8s %8s %8s %7u %s\n", r->id, daxalloc_region_kind_name(r->kind),
	       ctl_size(r->size, sz, sizeof(sz)), ctl_size(r->available, fr, sizeof(fr)),
	       ctl_size(r->largest_free, lg, sizeof(lg)), ctl_size(r->available_1g, f1, sizeof(f1)),
	       ctl_size(r->largest_free_1g, l1, sizeof(l1)), r->devices, st);
	return 0;
}

int cmd_regions_free(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	struct region_out o = { 0 };
	struct rc_args a;
	int rc;

	static const struct option opts[] = { CTL_BASE_OPTIONS, CTL_OPT_JSON, CTL_OPT_END };

	rc = parse("regions-free", argc, argv, opts, false, false, false, &a);
	if (rc)
		return rc;
	o.json = a.json;
	if (a.json)
		o.arr = json_object_new_array();
	rc = daxalloc_daxregion_foreach(ctx, region_row, &o);
	if (rc < 0) {
		json_object_put(o.arr);
		return ctl_lib_fail(rc);
	}
	if (a.json) {
		if (json_object_array_length(o.arr))	/* none: nothing, as daxctl */
			ctl_json_print(o.arr);
		json_object_put(o.arr);
	} else if (o.n == 0) {
		printf("no dax regions on this machine\n");
	}
	return CTL_OK;
}

/*
 * A device sized for guest RAM, and the QEMU options that back the
 * guest's memory with it, on one line so that $(...) can pass them on.
 */
/*
 * vm-backing --id ID is idempotent: the device made for ID is noted in the
 * run folder, which lasts as long as devices of dynamic regions do (one
 * boot), and a later call with the same ID and sizes gives it again.
 */
static const char *run_dir(void)
{
	const char *run = secure_getenv("DAXALLOC_RUNDIR");

	return run && *run ? run : "/run/daxalloc";
}

static void id_path(const char *id, char *path, size_t len)
{
	snprintf(path, len, "%s/vm-backing-%s", run_dir(), id);
}

/* The device noted for @id: 1 if it still is one of @size and @align, 0 if none, -1 (said) if it differs. */
static int noted_device(struct daxalloc_ctx *ctx, const char *id, uint64_t size, uint64_t align,
			char *name, size_t len)
{
	struct daxalloc_dev *d;
	char path[512], s[32], a[32];
	FILE *f;

	id_path(id, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(name, (int)len, f))
		name[0] = '\0';
	fclose(f);
	name[strcspn(name, "\n")] = '\0';
	daxalloc_dev_foreach(ctx, d) {
		if (strcmp(daxalloc_dev_get_name(d), name) != 0)
			continue;
		if (!daxalloc_dev_is_enabled(d))
			return 0;
		if (daxalloc_dev_get_size(d) != size || daxalloc_dev_get_align(d) != align) {
			ctl_fail(CTL_FAILED,
				 "vm-backing: --id %s is %s, of %s at align %s; destroy it first ('%s destroy-device %s') to make another",
				 id, name, ctl_size(daxalloc_dev_get_size(d), s, sizeof(s)),
				 ctl_size(daxalloc_dev_get_align(d), a, sizeof(a)), ctl_prog, name);
			return -1;
		}
		return 1;
	}
	return 0;
}

static void note_device(const char *id, const char *name)
{
	char path[512];
	FILE *f;

	id_path(id, path, sizeof(path));
	mkdir(run_dir(), 0755);
	f = fopen(path, "we");
	if (f) {
		bool ok = fprintf(f, "%s\n", name) > 0;

		if (fclose(f) == 0 && ok)
			return;
	}
	fprintf(stderr,
		"%s: vm-backing: cannot note %s for --id %s in %s: %s; the next call makes another device\n",
		ctl_prog, name, id, path, strerror(errno));
}

/* libvirt's view of the same: the device as an nvdimm memory device of the domain. */
static void print_libvirt(const char *name, uint64_t size, uint64_t align)
{
	printf("<memoryBacking>\n  <access mode='shared'/>\n</memoryBacking>\n");
	printf("<memory model='nvdimm' access='shared'>\n  <source>\n    <path>/dev/%s</path>\n"
	       "    <alignsize unit='KiB'>%llu</alignsize>\n  </source>\n  <target>\n"
	       "    <size unit='KiB'>%llu</size>\n    <node>0</node>\n  </target>\n</memory>\n",
	       name, (unsigned long long)(align >> 10), (unsigned long long)(size >> 10));
}

int cmd_vm_backing(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	char name[32], id[64], sz[32], al[32], opt[3][256];
	struct rc_args a;
	int rc;

	static const struct option opts[] = {
		CTL_BASE_OPTIONS, CTL_OPT_SIZE, CTL_OPT_ALIGN, CTL_OPT_REGION, CTL_OPT_ID,
		CTL_OPT_NUMA, CTL_OPT_LIBVIRT, CTL_OPT_JSON, CTL_OPT_END,
	};

	rc = parse("vm-backing", argc, argv, opts, true, false, false, &a);
	if (rc)
		return rc;
	if (!a.o.align_given)
		a.align = DAXALLOC_SIZE_1G;
	if (a.id && (!a.id[0] || strpbrk(a.id, ", =/")))
		return ctl_fail(CTL_USAGE, "vm-backing: --id '%s': a QEMU object id has no ',', '=', '/' or space",
				a.id);
	if (a.o.libvirt && a.json)
		return ctl_fail(CTL_USAGE, "vm-backing: --libvirt or --json, one at a time");
	rc = a.id ? noted_device(ctx, a.id, a.size, a.align, name, sizeof(name)) : 0;
	if (rc < 0)
		return CTL_FAILED;
	if (rc == 0) {
		rc = daxalloc_dev_create(ctx, a.region, a.size, a.align, name, sizeof(name));
		if (rc < 0)
			return ctl_lib_fail(rc);
		if (a.id)
			note_device(a.id, name);
	}
	snprintf(id, sizeof(id), "%s", a.id ? a.id : "");
	if (!a.id)
		snprintf(id, sizeof(id), "mem-%s", name);
	if (a.o.libvirt) {
		print_libvirt(name, a.size, a.align);
		return CTL_OK;
	}
	ctl_size(a.size, sz, sizeof(sz));
	ctl_size(a.align, al, sizeof(al));
	snprintf(opt[0], sizeof(opt[0]),
		 "memory-backend-file,id=%s,mem-path=/dev/%s,size=%s,align=%s,share=on", id, name, sz,
		 al);
	if (a.numa)
		snprintf(opt[1], sizeof(opt[1]), "node,memdev=%s", id);
	else
		snprintf(opt[1], sizeof(opt[1]), "memory-backend=%s", id);
	snprintf(opt[2], sizeof(opt[2]), "%s", sz);
	if (a.json) {
		struct json_object *o = json_object_new_object(), *args = json_object_new_array();

		json_object_object_add(o, "device", json_object_new_string(name));
		json_object_object_add(o, "size", json_u64(a.size));
		json_object_object_add(o, "align", json_u64(a.align));
		json_object_object_add(o, "id", json_object_new_string(id));
		json_object_array_add(args, json_object_new_string("-object"));
		json_object_array_add(args, json_object_new_string(opt[0]));
		json_object_array_add(args, json_object_new_string(a.numa ? "-numa" : "-machine"));
		json_object_array_add(args, json_object_new_string(opt[1]));
		json_object_array_add(args, json_object_new_string("-m"));
		json_object_array_add(args, json_object_new_string(opt[2]));
		json_object_object_add(o, "qemu_args", args);
		ctl_json_print(o);
		json_object_put(o);
		return CTL_OK;
	}
	printf("-object %s %s %s -m %s\n", opt[0], a.numa ? "-numa" : "-machine", opt[1], opt[2]);
	return CTL_OK;
}
