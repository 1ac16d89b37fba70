// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * reconfigure, create-device, resize, destroy-device, regions-free,
 * vm-backing: changing device-dax devices and dynamic regions.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"

struct rc_args {
	const char *dev;
	uint64_t align; /* --align, or the command's default */
	const struct ctl_args *o;
};

/*
 * DEV when @want_dev, and nothing else after the options; --size is
 * required with @need_size; --align, when not given, is @align (if not 0).
 */
static int parse(const char *cmd, const struct ctl_args *o, bool need_size, bool want_dev,
		 uint64_t align, struct rc_args *a)
{
	int i = 0;

	memset(a, 0, sizeof(*a));
	a->o = o;
	a->align = !o->align_given && align ? align : o->align;
	if (need_size && !a->o->size_given)
		return ctl_fail(CTL_USAGE, "%s: --size is required (see '%s help %s')", cmd,
				ctl_prog, cmd);
	if (want_dev) {
		if (i >= o->npos)
			return ctl_fail(CTL_USAGE, "%s: missing DEV (a device name such as dax0.1)",
					cmd);
		a->dev = o->pos[i++];
	}
	if (i < o->npos)
		return ctl_fail(CTL_USAGE, "%s: unexpected argument '%s'", cmd, o->pos[i]);
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
	struct json_object *o;
	char before[16];
	int rc;

	snprintf(before, sizeof(before), "%s", mode_of(ctx, a->dev));
	rc = daxalloc_dev_set_mode(ctx, a->dev, a->o->mode, a->o->reconfig_flags);
	if (rc < 0)
		return ctl_lib_fail(rc);
	o = ctl_json_mode(a->dev, before, mode_of(ctx, a->dev));
	if (a->o->json)
		ctl_json_print(o);
	else if (strcmp(ctl_jstr(o, "old_mode"), a->o->mode) == 0)
		printf("%s: already in %s mode\n", a->dev, a->o->mode);
	else
		printf("%s: mode %s -> %s\n", a->dev, ctl_jstr(o, "old_mode"), ctl_jstr(o, "mode"));
	json_object_put(o);
	return CTL_OK;
}

static void print_realign(struct json_object *o)
{
	uint64_t old_size = ctl_ju64(o, "old_size"), size = ctl_ju64(o, "size");
	const char *name = ctl_jstr(o, "device"), *ns = ctl_jstr(o, "namespace");
	char a0[32], a1[32], s0[32], s1[32], lost[32];

	ctl_size(ctl_ju64(o, "old_align"), a0, sizeof(a0));
	ctl_size(ctl_ju64(o, "align"), a1, sizeof(a1));
	ctl_size(old_size, s0, sizeof(s0));
	ctl_size(size, s1, sizeof(s1));
	if (ctl_ju64(o, "old_align") == ctl_ju64(o, "align"))
		printf("%s: already at align %s\n", name, a1);
	else if (ns)
		printf("%s: align %s -> %s; %s re-created, usable size %s -> %s%s%s%s\n", name, a0,
		       a1, ns, s0, s1, size < old_size ? " (" : "",
		       size < old_size ? ctl_size(old_size - size, lost, sizeof(lost)) : "",
		       size < old_size ? " lost to alignment padding)" : "");
	else
		printf("%s: align %s -> %s; size %s\n", name, a0, a1, s1);
}

int cmd_reconfigure(struct daxalloc_ctx *ctx, struct ctl_args *given)
{
	struct snapshot before, after;
	struct json_object *o;
	struct rc_args a;
	int rc;

	rc = parse("reconfigure", given, false, true, 0, &a);
	if (rc)
		return rc;
	if (a.o->mode && a.o->align_given)
		return ctl_fail(CTL_USAGE, "reconfigure: --align or --mode, one at a time");
	if (a.o->mode)
		return set_mode(ctx, &a);
	if (!a.o->align_given)
		return ctl_fail(CTL_USAGE,
				"reconfigure: --align or --mode is required (see '%s help reconfigure')",
				ctl_prog);
	snap(ctx, a.dev, NULL, &before);
	rc = daxalloc_dev_set_align(ctx, a.dev, a.align, a.o->reconfig_flags);
	if (rc < 0)
		return ctl_lib_fail(rc);
	/* A re-created namespace comes back as a new device: find it by namespace. */
	snap(ctx, before.name, before.ns[0] ? before.ns : NULL, &after);
	if (!after.found)
		return ctl_fail(CTL_FAILED, "%s: reconfigured, but no longer listed", a.dev);
	o = ctl_json_realign(after.name, after.ns, before.align, after.align, before.size,
			     after.size);
	if (a.o->json)
		ctl_json_print(o);
	else
		print_realign(o);
	json_object_put(o);
	return CTL_OK;
}

static int print_dev(struct daxalloc_ctx *ctx, const char *name, bool json, const char *verb)
{
	struct daxalloc_dev *d;

	daxalloc_dev_foreach(ctx, d) {
		struct json_object *o;
		char s[32], al[32];

		if (strcmp(daxalloc_dev_get_name(d), name) != 0)
			continue;
		o = ctl_json_dev(d);
		if (json)
			ctl_json_print(o);
		else
			printf("%s: %s; %s at align %s in dax region %d\n", name, verb,
			       ctl_size(ctl_ju64(o, "size"), s, sizeof(s)),
			       ctl_size(ctl_ju64(o, "align"), al, sizeof(al)),
			       (int)ctl_ji64(o, "region_id"));
		json_object_put(o);
		return CTL_OK;
	}
	return ctl_fail(CTL_FAILED, "%s: %s, but no longer listed", name, verb);
}

int cmd_create_device(struct daxalloc_ctx *ctx, struct ctl_args *given)
{
	char name[32];
	struct rc_args a;
	int rc;

	rc = parse("create-device", given, true, false, DAXALLOC_SIZE_2M, &a);
	if (rc)
		return rc;
	rc = daxalloc_dev_create(ctx, a.o->region, a.o->size, a.align, name, sizeof(name));
	if (rc < 0)
		return ctl_lib_fail(rc);
	return print_dev(ctx, name, a.o->json, "created");
}

/* resize and destroy-device: a device of a dynamic dax region, changed by name. */
static int dev_change(struct daxalloc_ctx *ctx, struct ctl_args *given, bool resize)
{
	struct rc_args a;
	int rc;

	rc = parse(resize ? "resize" : "destroy-device", given, resize, true, 0, &a);
	if (rc)
		return rc;
	rc = resize ? daxalloc_dev_resize(ctx, a.dev, a.o->size, a.o->reconfig_flags) :
		      daxalloc_dev_destroy(ctx, a.dev, a.o->reconfig_flags);
	if (rc < 0)
		return ctl_lib_fail(rc);
	if (resize)
		return print_dev(ctx, strncmp(a.dev, "/dev/", 5) == 0 ? a.dev + 5 : a.dev,
				 a.o->json, "resized");
	printf("%s: %s\n", a.dev,
	       strncmp(a.dev, "hugetlb:", 8) == 0 ? "released; its huge pages are free again" :
						    "destroyed");
	return CTL_OK;
}

int cmd_resize(struct daxalloc_ctx *ctx, struct ctl_args *given)
{
	return dev_change(ctx, given, true);
}

int cmd_destroy_device(struct daxalloc_ctx *ctx, struct ctl_args *given)
{
	return dev_change(ctx, given, false);
}

static int add_daxregion(const struct daxalloc_daxregion_info *r, void *arg)
{
	json_object_array_add(arg, ctl_json_daxregion(r));
	return 0;
}

static void print_daxregion(struct json_object *j, bool first)
{
	char sz[32], fr[32], lg[32], f1[32], l1[32], st[32];

	if (first)
		printf("%-6s %-8s %8s %8s %8s %8s %8s %7s %s\n", "REGION", "KIND", "SIZE", "FREE",
		       "LARGEST", "FREE-1G", "LARG-1G", "DEVICES", "START");
	if (ctl_jnull(j, "start"))
		snprintf(st, sizeof(st), "-");
	else
		snprintf(st, sizeof(st), "0x%" PRIx64, ctl_ju64(j, "start"));
	printf("%-6d %-8s %8s %8s %8s %8s %8s %7u %s\n", (int)ctl_ji64(j, "id"),
	       ctl_jstr(j, "kind"), ctl_size(ctl_ju64(j, "size"), sz, sizeof(sz)),
	       ctl_size(ctl_ju64(j, "available_size"), fr, sizeof(fr)),
	       ctl_size(ctl_ju64(j, "largest_free"), lg, sizeof(lg)),
	       ctl_size(ctl_ju64(j, "available_1g"), f1, sizeof(f1)),
	       ctl_size(ctl_ju64(j, "largest_free_1g"), l1, sizeof(l1)),
	       (unsigned int)ctl_ji64(j, "devices"), st);
}

int cmd_regions_free(struct daxalloc_ctx *ctx, struct ctl_args *given)
{
	struct json_object *arr;
	struct rc_args a;
	size_t n;
	int rc;

	rc = parse("regions-free", given, false, false, 0, &a);
	if (rc)
		return rc;
	arr = json_object_new_array();
	rc = daxalloc_daxregion_foreach(ctx, add_daxregion, arr);
	if (rc < 0) {
		json_object_put(arr);
		return ctl_lib_fail(rc);
	}
	n = json_object_array_length(arr);
	if (a.o->json && n) /* none: nothing, as daxctl */
		ctl_json_print(arr);
	for (size_t i = 0; !a.o->json && i < n; i++)
		print_daxregion(json_object_array_get_idx(arr, i), i == 0);
	if (!a.o->json && n == 0)
		printf("no dax regions on this machine\n");
	json_object_put(arr);
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
static void print_libvirt(struct json_object *o)
{
	printf("<memoryBacking>\n  <access mode='shared'/>\n</memoryBacking>\n");
	printf("<memory model='nvdimm' access='shared'>\n  <source>\n    <path>/dev/%s</path>\n"
	       "    <alignsize unit='KiB'>%llu</alignsize>\n  </source>\n  <target>\n"
	       "    <size unit='KiB'>%llu</size>\n    <node>0</node>\n  </target>\n</memory>\n",
	       ctl_jstr(o, "device"), (unsigned long long)(ctl_ju64(o, "align") >> 10),
	       (unsigned long long)(ctl_ju64(o, "size") >> 10));
}

/* QEMU's arguments on one line, so that $(...) can pass them on. */
static void print_qemu_args(struct json_object *o)
{
	struct json_object *args = NULL;

	json_object_object_get_ex(o, "qemu_args", &args);
	for (size_t i = 0; i < json_object_array_length(args); i++)
		printf("%s%s", i ? " " : "",
		       json_object_get_string(json_object_array_get_idx(args, i)));
	printf("\n");
}

int cmd_vm_backing(struct daxalloc_ctx *ctx, struct ctl_args *given)
{
	char name[32], id[64], sz[32], al[32], opt[3][256];
	struct json_object *o;
	struct rc_args a;
	int rc;

	rc = parse("vm-backing", given, true, false, DAXALLOC_SIZE_1G, &a);
	if (rc)
		return rc;
	if (a.o->id && (!a.o->id[0] || strpbrk(a.o->id, ", =/")))
		return ctl_fail(CTL_USAGE,
				"vm-backing: --id '%s': a QEMU object id has no ',', '=', '/' or space",
				a.o->id);
	if (a.o->libvirt && a.o->json)
		return ctl_fail(CTL_USAGE, "vm-backing: --libvirt or --json, one at a time");
	rc = a.o->id ? noted_device(ctx, a.o->id, a.o->size, a.align, name, sizeof(name)) : 0;
	if (rc < 0)
		return CTL_FAILED;
	if (rc == 0) {
		rc = daxalloc_dev_create(ctx, a.o->region, a.o->size, a.align, name, sizeof(name));
		if (rc < 0)
			return ctl_lib_fail(rc);
		if (a.o->id)
			note_device(a.o->id, name);
	}
	snprintf(id, sizeof(id), "%s", a.o->id ? a.o->id : "");
	if (!a.o->id)
		snprintf(id, sizeof(id), "mem-%s", name);
	ctl_size(a.o->size, sz, sizeof(sz));
	ctl_size(a.align, al, sizeof(al));
	snprintf(opt[0], sizeof(opt[0]),
		 "memory-backend-file,id=%s,mem-path=/dev/%s,size=%s,align=%s,share=on", id, name,
		 sz, al);
	if (a.o->numa)
		snprintf(opt[1], sizeof(opt[1]), "node,memdev=%s", id);
	else
		snprintf(opt[1], sizeof(opt[1]), "memory-backend=%s", id);
	snprintf(opt[2], sizeof(opt[2]), "%s", sz);
	o = ctl_json_vm_backing(name, a.o->size, a.align, id,
				(const char *const[]){ "-object", opt[0],
						       a.o->numa ? "-numa" : "-machine", opt[1],
						       "-m", opt[2], NULL });
	if (a.o->libvirt)
		print_libvirt(o);
	else if (a.o->json)
		ctl_json_print(o);
	else
		print_qemu_args(o);
	json_object_put(o);
	return CTL_OK;
}
