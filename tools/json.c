// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every object daxalloc-ctl reports, built here and only here from what the
 * library returns.  --json prints the object; the text output reads the
 * same object back (ctl_j*()), so the two cannot tell different stories.
 * Keys follow the schema in the manual page: daxctl's names for what daxctl
 * also reports, snake_case, raw integers, null for what is not known.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

void ctl_json_print(struct json_object *obj)
{
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ---- reading back ------------------------------------------------------------ */

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

const char *ctl_jstr(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	return v ? json_object_get_string(v) : NULL;
}

uint64_t ctl_ju64(struct json_object *o, const char *key)
{
	return json_object_get_uint64(get(o, key));
}

int64_t ctl_ji64(struct json_object *o, const char *key)
{
	return json_object_get_int64(get(o, key));
}

bool ctl_jbool(struct json_object *o, const char *key)
{
	return json_object_get_boolean(get(o, key));
}

double ctl_jdouble(struct json_object *o, const char *key)
{
	return json_object_get_double(get(o, key));
}

bool ctl_jnull(struct json_object *o, const char *key)
{
	return !get(o, key);
}

/* ---- building ---------------------------------------------------------------- */

static void add(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

static struct json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static struct json_object *str(const char *s)
{
	return json_object_new_string(s);
}

/* NULL, and "" where the library says "none" with an empty string, become null. */
static struct json_object *str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

/*
 * A member of a library struct reported as it is, under @key: a table of
 * them says which members of a struct an object carries, in their order.
 */
struct jfield {
	const char *key;
	enum { J_U64, J_INT, J_BOOL, J_DOUBLE } kind;
	size_t at;
};

/*
 * FIELD(key, member) of the struct T the table is for; the kind follows
 * the member's type, and a type not listed fails the build.
 */
#define FIELD(key, m)                                  \
	{                                              \
		key,                                   \
			_Generic(((T *)0)->m, uint64_t \
				 : J_U64, int          \
				 : J_INT, uint32_t     \
				 : J_INT, bool         \
				 : J_BOOL, double      \
				 : J_DOUBLE),          \
			offsetof(T, m)                 \
	}

static struct json_object *field_value(const struct jfield *f, const void *from)
{
	const void *v = (const char *)from + f->at;

	switch (f->kind) {
	case J_U64:
		return u64(*(const uint64_t *)v);
	case J_BOOL:
		return json_object_new_boolean(*(const bool *)v);
	case J_DOUBLE:
		return json_object_new_double(*(const double *)v);
	default:
		return json_object_new_int(*(const int *)v);
	}
}

static void add_fields(struct json_object *o, const void *from, const struct jfield *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		add(o, f[i].key, field_value(&f[i], from));
}

#define ADD_FIELDS(o, from, fields) add_fields(o, from, fields, sizeof(fields) / sizeof(fields[0]))

/*
 * A device: chardev, size, align, target_node, numa_node, mode as daxctl
 * says them (state only when disabled: a disabled device is in mode devdax,
 * with "state": "disabled").
 */
struct json_object *ctl_json_dev(struct daxalloc_dev *dev)
{
	struct json_object *o = json_object_new_object();
	const char *ns = daxalloc_dev_get_namespace(dev);
	uint64_t res = daxalloc_dev_get_resource(dev);
	bool standin = daxalloc_dev_is_standin(dev);
	const char *mode = daxalloc_dev_get_mode(dev);

	add(o, "chardev", str(daxalloc_dev_get_name(dev)));
	add(o, "path", daxalloc_dev_get_path(dev) ? str(daxalloc_dev_get_path(dev)) : NULL);
	add(o, "type", str(standin ? "hugetlb" : "devdax"));
	add(o, "standin", json_object_new_boolean(standin));
	add(o, "size", u64(daxalloc_dev_get_size(dev)));
	add(o, "align", u64(daxalloc_dev_get_align(dev)));
	add(o, "numa_node", json_object_new_int(daxalloc_dev_get_numa_node(dev)));
	add(o, "target_node", json_object_new_int(daxalloc_dev_get_target_node(dev)));
	add(o, "region_id", json_object_new_int(daxalloc_dev_get_region_id(dev)));
	add(o, "region_kind", str(daxalloc_region_kind_name(daxalloc_dev_get_region_kind(dev))));
	add(o, "resource", res == UINT64_MAX ? NULL : u64(res));
	add(o, "mode", str(mode));
	if (!daxalloc_dev_is_enabled(dev) && strcmp(mode, "system-ram") != 0)
		add(o, "state", str("disabled"));
	add(o, "namespace", ns ? str(ns) : NULL);
	if (!standin)
		add(o, "memmap", str(daxalloc_dev_memmap_in_ram(dev) ? "ram" : "device"));
	return o;
}

/* "enabled", "disabled" or "system-ram" (online as RAM: not a device to use). */
const char *ctl_json_dev_state(struct json_object *dev)
{
	if (strcmp(ctl_jstr(dev, "mode"), "system-ram") == 0)
		return "system-ram";
	return ctl_jnull(dev, "state") ? "enabled" : "disabled";
}

struct json_object *ctl_json_map(struct daxalloc_dev *dev, const struct ctl_map_result *m)
{
	struct json_object *o = json_object_new_object();

	add(o, "device", str(daxalloc_dev_get_name(dev)));
	add(o, "standin", json_object_new_boolean(daxalloc_dev_is_standin(dev)));
	add(o, "offset", u64(m->offset));
	add(o, "length", u64(m->length));
	add(o, "align", u64(daxalloc_dev_get_align(dev)));
	add(o, "kernel_page_size",
	    m->kernel_page_size < 0 ? NULL : json_object_new_int64(m->kernel_page_size));
	add(o, "read_only", json_object_new_boolean(m->read_only));
	add(o, "bad_pages", u64(m->bad_pages));
	add(o, "seconds", json_object_new_double(m->seconds));
	return o;
}

/* The pool's figures, as df and format report them. */
struct json_object *ctl_json_pool_stats(struct daxalloc_dev *dev, const struct daxalloc_pool_stats *st)
{
	struct json_object *o = json_object_new_object();

#define T struct daxalloc_pool_stats
	static const struct jfield fields[] = {
		FIELD("unit", unit),
		FIELD("capacity", capacity),
		FIELD("used", used),
		FIELD("free", free),
		FIELD("largest_free", largest_free),
		FIELD("free_extents", free_extents),
		FIELD("regions", regions),
		FIELD("named_regions", named_regions),
		FIELD("max_regions", max_regions),
		FIELD("fragmentation", fragmentation),
	};
#undef T

	add(o, "device", str(daxalloc_dev_get_name(dev)));
	ADD_FIELDS(o, st, fields);
	return o;
}

struct json_object *ctl_json_region(const struct daxalloc_region_info *ri)
{
	struct json_object *o = json_object_new_object();

	add(o, "name", str_or_null(ri->name));
	add(o, "offset", u64(ri->offset));
	add(o, "size", u64(ri->size));
	add(o, "owner_pid", ri->owner_pid ? json_object_new_int(ri->owner_pid) : NULL);
	add(o, "owner_alive", json_object_new_boolean(ri->owner_alive));
	add(o, "created", u64(ri->created));
	return o;
}

struct json_object *ctl_json_alloc(struct daxalloc_dev *dev, const char *name,
				   struct daxalloc_region *r)
{
	struct json_object *o = json_object_new_object();

	add(o, "device", str(daxalloc_dev_get_name(dev)));
	add(o, "name", str(name));
	add(o, "offset", u64(daxalloc_region_get_offset(r)));
	add(o, "size", u64(daxalloc_region_get_size(r)));
	return o;
}

struct json_object *ctl_json_finding(const struct daxalloc_check_finding *f)
{
	static const char *const kinds[] = { "problem", "loss", "note" };
	struct json_object *o = json_object_new_object();
	int n = daxalloc_check_finding_describe(f, NULL, 0);
	char *line = malloc(n < 0 ? 1 : (size_t)n + 1);

	if (line && daxalloc_check_finding_describe(f, line, (size_t)n + 1) < 0)
		line[0] = '\0';
	add(o, "kind", str(f->kind <= DAXALLOC_CHECK_NOTE ? kinds[f->kind] : "problem"));
	add(o, "text", str(line ? line : ""));
	free(line);
	return o;
}

/*
 * @findings: taken over.  @rep's first findings carry the metadata's words
 * (.detail) from the callback, for the first problem in words.
 */
struct json_object *ctl_json_check(const char *dev, const struct daxalloc_check_report *rep,
				   struct json_object *findings)
{
#define T struct daxalloc_check_report
	static const struct jfield fields[] = {
		FIELD("active_copy", active_copy),
		FIELD("sequence", sequence),
		FIELD("standby_valid", standby_valid),
		FIELD("regions", regions),
		FIELD("orphans", orphans),
		FIELD("problems", problems),
		FIELD("repaired", repaired),
	};
#undef T
	char first[256]; /* the length of 0.1's first_problem, which --json kept */

	if (daxalloc_check_report_describe(rep, first, sizeof(first)) < 0)
		first[0] = '\0';
	struct json_object *o = json_object_new_object();

	add(o, "device", str(dev));
	add(o, "clean", json_object_new_boolean(rep->problems == 0));
	ADD_FIELDS(o, rep, fields);
	add(o, "first_problem", str_or_null(first));
	add(o, "findings", findings);
	return o;
}

struct json_object *ctl_json_pin(const struct daxalloc_pin_info *pi)
{
	struct json_object *o = json_object_new_object();
	char consumer[128]; /* the longest: rdma, a 63-character device name and two keys */

	if (daxalloc_pin_info_describe(pi, consumer, sizeof(consumer)) < 0)
		consumer[0] = '\0';

	add(o, "region", str_or_null(pi->region));
	add(o, "region_offset", u64(pi->region_offset));
	add(o, "offset", u64(pi->offset));
	add(o, "length", u64(pi->length));
	add(o, "kind", str(daxalloc_pin_kind_name(pi->kind)));
	add(o, "pid", json_object_new_int(pi->pid));
	add(o, "command", str(pi->command));
	add(o, "since", u64(pi->since));
	add(o, "consumer", str(consumer));
	return o;
}

struct json_object *ctl_json_mode(const char *dev, const char *old_mode, const char *mode)
{
	struct json_object *o = json_object_new_object();

	add(o, "device", str(dev));
	add(o, "old_mode", str(old_mode));
	add(o, "mode", str(mode));
	return o;
}

struct json_object *ctl_json_realign(const char *dev, const char *ns, uint64_t old_align,
				     uint64_t align, uint64_t old_size, uint64_t size)
{
	struct json_object *o = json_object_new_object();

	add(o, "device", str(dev));
	add(o, "namespace", str_or_null(ns));
	add(o, "old_align", u64(old_align));
	add(o, "align", u64(align));
	add(o, "old_size", u64(old_size));
	add(o, "size", u64(size));
	/* A re-created namespace lost its contents. */
	add(o, "namespace_recreated", json_object_new_boolean(ns && *ns && old_align != align));
	return o;
}

struct json_object *ctl_json_daxregion(const struct daxalloc_daxregion_info *r)
{
#define T struct daxalloc_daxregion_info
	static const struct jfield fields[] = {
		FIELD("size", size),
		FIELD("align", align),
		FIELD("available_size", available),
		FIELD("largest_free", largest_free),
		FIELD("available_1g", available_1g),
		FIELD("largest_free_1g", largest_free_1g),
		FIELD("devices", devices),
	};
#undef T
	struct json_object *o = json_object_new_object();

	add(o, "id", json_object_new_int(r->id));
	add(o, "kind", str(daxalloc_region_kind_name(r->kind)));
	add(o, "start", r->start == UINT64_MAX ? NULL : u64(r->start));
	ADD_FIELDS(o, r, fields);
	return o;
}

/* @args: QEMU's arguments, NULL-terminated. */
struct json_object *ctl_json_vm_backing(const char *dev, uint64_t size, uint64_t align,
					const char *id, const char *const *args)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	add(o, "device", str(dev));
	add(o, "size", u64(size));
	add(o, "align", u64(align));
	add(o, "id", str(id));
	for (; *args; args++)
		json_object_array_add(a, str(*args));
	add(o, "qemu_args", a);
	return o;
}

/* ---- vmemmap ------------------------------------------------------------------ */

#define TIB (UINT64_C(1) << 40)

static const uint64_t aligns[3] = { DAXALLOC_SIZE_4K, DAXALLOC_SIZE_2M, DAXALLOC_SIZE_1G };

/* The row @t's kernel applies at @align. */
static int kernel_row(const struct ctl_vmemmap_target *t, uint64_t align)
{
	return align == DAXALLOC_SIZE_4K ? DAXALLOC_VMEMMAP_NO_DEDUP : t->row;
}

static uint64_t ram_of(const struct daxalloc_vmemmap_model *m, int row, bool in_ram)
{
	return in_ram ? m->total[row] : 0;
}

/* With the memmap on the device its struct pages take device capacity, undeduplicated. */
static uint64_t device_of(const struct daxalloc_vmemmap_model *m, bool in_ram)
{
	return in_ram ? 0 : m->struct_pages[DAXALLOC_VMEMMAP_NO_DEDUP];
}

static struct json_object *jrows(const uint64_t *v)
{
	struct json_object *o = json_object_new_object();

	for (int r = 0; r < DAXALLOC_VMEMMAP_ROWS; r++)
		json_object_object_add(o, daxalloc_vmemmap_row_name(r), json_object_new_uint64(v[r]));
	return o;
}

static struct json_object *jmodel(const struct ctl_vmemmap_target *t, uint64_t align)
{
	struct daxalloc_vmemmap_model m = { DAXALLOC_VMEMMAP_MODEL_INIT },
				      tib = { DAXALLOC_VMEMMAP_MODEL_INIT };
	struct json_object *o = json_object_new_object(), *pt = json_object_new_object();
	int row = kernel_row(t, align);
	bool measured = t->row_measured;

	daxalloc_vmemmap_model(t->size, align, &m);
	daxalloc_vmemmap_model(TIB, align, &tib);
	json_object_object_add(o, "align", json_object_new_uint64(align));
	json_object_object_add(o, "modelled_size", json_object_new_uint64(m.size));
	json_object_object_add(o, "compound_pages", json_object_new_uint64(m.compound_pages));
	json_object_object_add(o, "struct_pages", jrows(m.struct_pages));
	json_object_object_add(o, "page_tables", jrows(m.page_tables));
	json_object_object_add(o, "total", jrows(m.total));
	json_object_object_add(o, "kernel_row",
			       json_object_new_string(daxalloc_vmemmap_row_name(row)));
	json_object_object_add(o, "kernel_row_from",
			       json_object_new_string(align == DAXALLOC_SIZE_4K ? "page_size" :
						      measured                  ? "measurement" :
										  "version"));
	json_object_object_add(o, "ram", json_object_new_uint64(ram_of(&m, row, t->in_ram)));
	json_object_object_add(o, "device", json_object_new_uint64(device_of(&m, t->in_ram)));
	json_object_object_add(pt, "struct_pages", jrows(tib.struct_pages));
	json_object_object_add(pt, "page_tables", jrows(tib.page_tables));
	json_object_object_add(pt, "total", jrows(tib.total));
	json_object_object_add(pt, "ram", json_object_new_uint64(ram_of(&tib, row, t->in_ram)));
	json_object_object_add(pt, "device", json_object_new_uint64(device_of(&tib, t->in_ram)));
	json_object_object_add(o, "per_tib", pt);
	return o;
}

static struct json_object *jsample(const struct vmemmap_sample *sm)
{
	struct json_object *o = json_object_new_object(), *b = json_object_new_array();

	json_object_object_add(o, "align", json_object_new_uint64(sm->align));
	json_object_object_add(o, "measured", json_object_new_boolean(sm->measured));
	json_object_object_add(o, "why", sm->measured ? NULL : str_or_null(sm->why));
	for (int i = 0; sm->measured && i < sm->cycles; i++)
		json_object_array_add(b, json_object_new_int64(sm->bytes[i]));
	json_object_object_add(o, "bytes", b);
	json_object_object_add(o, "median", sm->measured ? json_object_new_int64(sm->median) : NULL);
	json_object_object_add(o, "min", sm->measured ? json_object_new_int64(sm->min) : NULL);
	json_object_object_add(o, "max", sm->measured ? json_object_new_int64(sm->max) : NULL);
	json_object_object_add(o, "match",
			       sm->measured && sm->match >= 0 ?
				       json_object_new_string(daxalloc_vmemmap_row_name(sm->match)) :
				       NULL);
	json_object_object_add(o, "ambiguous", json_object_new_boolean(sm->ambiguous));
	return o;
}

static struct json_object *jpin(const struct vmemmap_pin *p)
{
	struct json_object *o = json_object_new_object();
	bool timed = p->ns_4k || p->ns_2m || p->ns_1g;

	json_object_object_add(o, "verdict",
			       json_object_new_string(daxalloc_vmemmap_pin_path_name(p->verdict)));
	json_object_object_add(o, "expected",
			       json_object_new_string(daxalloc_vmemmap_pin_path_name(p->expected)));
	json_object_object_add(o, "measured", json_object_new_boolean(timed));
	json_object_object_add(o, "conclusive", json_object_new_boolean(p->conclusive));
	json_object_object_add(o, "consumer", str_or_null(p->consumer));
	json_object_object_add(o, "length", timed ? json_object_new_uint64(p->length) : NULL);
	json_object_object_add(o, "ns_4k", p->ns_4k ? json_object_new_uint64(p->ns_4k) : NULL);
	json_object_object_add(o, "ns_2m", p->ns_2m ? json_object_new_uint64(p->ns_2m) : NULL);
	json_object_object_add(o, "ns_1g", p->ns_1g ? json_object_new_uint64(p->ns_1g) : NULL);
	json_object_object_add(o, "ns_hugetlb_2m",
			       p->ns_hugetlb_2m ? json_object_new_uint64(p->ns_hugetlb_2m) : NULL);
	json_object_object_add(o, "how", json_object_new_string(p->how));
	return o;
}

static struct json_object *jtarget(const struct ctl_vmemmap_target *t, int cycles)
{
	struct json_object *o = json_object_new_object(), *model = json_object_new_array();

	json_object_object_add(o, "name", str_or_null(t->name));
	json_object_object_add(o, "size", json_object_new_uint64(t->size));
	json_object_object_add(o, "align", t->align ? json_object_new_uint64(t->align) : NULL);
	json_object_object_add(o, "region_kind",
			       t->name[0] ?
				       json_object_new_string(daxalloc_region_kind_name(t->kind)) :
				       NULL);
	json_object_object_add(o, "standin", json_object_new_boolean(t->standin));
	json_object_object_add(o, "memmap",
			       t->standin ? NULL :
					    json_object_new_string(t->in_ram ? "ram" : "device"));
	for (int i = 0; !t->standin && i < 3; i++)
		json_object_array_add(model, jmodel(t, aligns[i]));
	json_object_object_add(o, "model", model);
	if (t->measured) {
		struct json_object *m = json_object_new_object(), *s = json_object_new_array();
		struct json_object *r = json_object_new_object();

		json_object_object_add(m, "cycles", json_object_new_int(cycles));
		json_object_object_add(m, "method", json_object_new_string("unaccounted_memory"));
		for (int i = 0; i < 3; i++)
			json_object_array_add(s, jsample(&t->rep.samples[i]));
		json_object_object_add(m, "samples", s);
		json_object_object_add(r, "align", json_object_new_uint64(t->rep.align));
		json_object_object_add(r, "enabled", json_object_new_boolean(t->rep.enabled));
		json_object_object_add(m, "restored", r);
		json_object_object_add(o, "measured", m);
	} else {
		json_object_object_add(o, "measured", NULL);
	}
	json_object_object_add(o, "pin_path", jpin(&t->rep.pin));
	return o;
}

/* The whole report of vmemmap: the kernel's ways, then each target. */
struct json_object *ctl_json_vmemmap(const char *release, int row, bool row_measured, int pin_path,
				     const struct ctl_vmemmap_target *t, int n, int cycles)
{
	struct json_object *o = json_object_new_object(), *k = json_object_new_object();
	struct json_object *arr = json_object_new_array();

	add(k, "release", str(release));
	add(k, "dedup", str(daxalloc_vmemmap_row_name(row)));
	add(k, "dedup_from", str(row_measured ? "measurement" : "version"));
	add(k, "pin_path", str(daxalloc_vmemmap_pin_path_name(pin_path)));
	add(o, "kernel", k);
	add(o, "page_size", u64(DAXALLOC_SIZE_4K));
	add(o, "struct_page_size", json_object_new_int(64));
	for (int i = 0; i < n; i++)
		json_object_array_add(arr, jtarget(&t[i], cycles));
	add(o, "targets", arr);
	return o;
}
