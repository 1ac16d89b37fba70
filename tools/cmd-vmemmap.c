// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vmemmap: what a device's struct pages cost in RAM at 4K, 2M and 1G, as
 * modelled and, with --measure, as measured; and the pin path the kernel
 * takes for its pages.
 *
 * --json prints one object; its shape is stable (snake_case keys, byte
 * counts as integers):
 *
 *   {
 *     "kernel": {
 *       "release": "6.1.0-56-amd64",
 *       "dedup": ROW,              row at 2M/1G with the memmap in RAM
 *       "dedup_from": "measurement" | "version",   the 2M measurement when it
 *                                  matched one row, else the version's
 *       "pin_path": PATH           what the version says for device-dax
 *     },
 *     "page_size": 4096,
 *     "struct_page_size": 64,
 *     "targets": [ {               each device, or the --size given
 *       "name": "dax0.3" | null,   null for --size
 *       "size": N,
 *       "align": N | null,         the device's alignment
 *       "region_kind": "dynamic" | "static" | "none" | "unknown" | null,
 *       "standin": false,
 *       "memmap": "ram" | "device" | null,   null: the stand-in has none
 *       "model": [ {               4K, 2M, 1G; [] for the stand-in
 *         "align": N,
 *         "modelled_size": N,      whole units of align covering size
 *         "compound_pages": N,
 *         "struct_pages": { "no_dedup": N, "dedup_2page": N, "dedup_1page": N },
 *         "page_tables": { same keys },   page tables mapping the struct pages
 *         "total": { same keys },
 *         "kernel_row": ROW,       the row this kernel applies
 *         "kernel_row_from": "page_size" | "measurement" | "version",
 *         "ram": N,                RAM this kernel takes
 *         "device": N,             device capacity the memmap takes (--map=dev)
 *         "per_tib": { "struct_pages": {...}, "page_tables": {...},
 *                      "total": {...}, "ram": N, "device": N }
 *       } ],
 *       "measured": null | {       null without --measure
 *         "cycles": N,
 *         "method": "unaccounted_memory",   see below
 *         "samples": [ {           4K, 2M, 1G
 *           "align": N,
 *           "measured": BOOL,
 *           "why": STRING | null,  why it was not measured
 *           "bytes": [N, ...],     RAM one enable took, per cycle
 *           "median": N | null, "min": N | null, "max": N | null,
 *           "match": ROW | null,   null: no row within 25% or 4 MiB
 *           "ambiguous": BOOL      another row is as near, within the spread
 *         } ],
 *         "restored": { "align": N, "enabled": BOOL }
 *       },
 *       "pin_path": {
 *         "verdict": PATH,
 *         "expected": PATH,        from the kernel version
 *         "measured": BOOL,        pinning was timed at 2M or 1G
 *         "conclusive": BOOL,      the timing decided the verdict
 *         "consumer": STRING | null,
 *         "length": N | null,      bytes pinned per try
 *         "ns_4k": N | null, "ns_2m": N | null, "ns_1g": N | null,
 *         "ns_hugetlb_2m": N | null,
 *         "how": STRING
 *       }
 *     } ]
 *   }
 *
 * ROW is "no_dedup", "dedup_2page" or "dedup_1page"; PATH is "base_page",
 * "compound_page" or "unknown".  Measured byte counts may be negative
 * (noise around a small cost).  "unaccounted_memory": what an enable
 * takes out of free memory (MemFree and the per-CPU free lists) plus the
 * uses /proc/meminfo accounts (page cache, anonymous, slab, stacks, page
 * tables), from readings that the next one agrees with, in cycles whose
 * enable and disable agree (see libdaxalloc/vmemmap.c).
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "ctl.h"
#include "progress.h"

#define TIB (UINT64_C(1) << 40)
#define MAX_TARGETS 64

static const uint64_t aligns[3] = { DAXALLOC_SIZE_4K, DAXALLOC_SIZE_2M, DAXALLOC_SIZE_1G };

struct target {
	char name[64];		/* "" for --size */
	uint64_t size;
	uint64_t align;		/* 0 for --size */
	enum daxalloc_region_kind kind;
	bool standin;
	bool in_ram;
	bool measured;
	struct daxalloc_vmemmap_report rep;
};

struct vm_args {
	const char *dev;
	uint64_t size;
	bool measure, json, pin, ignore_dma;
	int cycles;
	uint64_t align;
	const char *pin_with;
};

/* "16.1 MiB": three figures, binary units; negative for noise below zero. */
static const char *hsize(int64_t v, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;	/* INT64_MIN too */
	double d = (double)u;
	int i = 0;

	while (d >= 1024 && i < 6) {
		d /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%s%llu B", v < 0 ? "-" : "", (unsigned long long)u);
	else
		snprintf(buf, len, "%s%.*f %s", v < 0 ? "-" : "", d < 9.995 ? 2 : d < 99.95 ? 1 : 0, d,
			 unit[i]);
	return buf;
}

static const char *row_text(int row)
{
	switch (row) {
	case DAXALLOC_VMEMMAP_NO_DEDUP:
		return "no dedup";
	case DAXALLOC_VMEMMAP_DEDUP_2PAGE:
		return "2-page dedup";
	case DAXALLOC_VMEMMAP_DEDUP_1PAGE:
		return "1-page dedup";
	default:
		return "no row";
	}
}

static const char *path_text(int path)
{
	switch (path) {
	case DAXALLOC_VMEMMAP_PIN_BASE_PAGE:
		return "per base page (one reference per 4K page)";
	case DAXALLOC_VMEMMAP_PIN_COMPOUND:
		return "per compound page (one reference per 2M or 1G page)";
	default:
		return "unknown";
	}
}

/*
 * The dedup @t's kernel does: what its 2M measurement matched, when one
 * row matched and no other is as near (at 2M the 2-page and 1-page rows
 * differ by half; at 1G by a few KiB, less than the noise, so 1G cannot
 * tell), else what the kernel's version says.  @measured: which it was.
 */
static int dedup_row(const struct target *t, bool *measured)
{
	const struct daxalloc_vmemmap_sample *sm = &t->rep.samples[1];
	int r;

	*measured = t->measured && !t->standin && sm->measured && sm->align == DAXALLOC_SIZE_2M &&
		    sm->match >= 0 && !sm->ambiguous;
	if (*measured)
		return sm->match;
	r = daxalloc_vmemmap_kernel_row(NULL, t->in_ram);
	return r < 0 ? DAXALLOC_VMEMMAP_NO_DEDUP : r;
}

/* The row @t's kernel applies at @align. */
static int kernel_row(const struct target *t, uint64_t align)
{
	bool measured;

	return align == DAXALLOC_SIZE_4K ? DAXALLOC_VMEMMAP_NO_DEDUP : dedup_row(t, &measured);
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

/* ---- JSON ------------------------------------------------------------------ */

static struct json_object *jrows(const uint64_t *v)
{
	struct json_object *o = json_object_new_object();

	for (int r = 0; r < DAXALLOC_VMEMMAP_ROWS; r++)
		json_object_object_add(o, daxalloc_vmemmap_row_name(r), json_object_new_uint64(v[r]));
	return o;
}

static struct json_object *jmodel(const struct target *t, uint64_t align)
{
	struct daxalloc_vmemmap_model m = { DAXALLOC_VMEMMAP_MODEL_INIT }, tib = { DAXALLOC_VMEMMAP_MODEL_INIT };
	struct json_object *o = json_object_new_object(), *pt = json_object_new_object();
	int row = kernel_row(t, align);
	bool measured;

	dedup_row(t, &measured);
	daxalloc_vmemmap_model(t->size, align, &m);
	daxalloc_vmemmap_model(TIB, align, &tib);
	json_object_object_add(o, "align", json_object_new_uint64(align));
	json_object_object_add(o, "modelled_size", json_object_new_uint64(m.size));
	json_object_object_add(o, "compound_pages", json_object_new_uint64(m.compound_pages));
	json_object_object_add(o, "struct_pages", jrows(m.struct_pages));
	json_object_object_add(o, "page_tables", jrows(m.page_tables));
	json_object_object_add(o, "total", jrows(m.total));
	json_object_object_add(o, "kernel_row", json_object_new_string(daxalloc_vmemmap_row_name(row)));
	json_object_object_add(o, "kernel_row_from",
			       json_object_new_string(align == DAXALLOC_SIZE_4K ? "page_size" :
						      measured ? "measurement" : "version"));
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

static struct json_object *jstr_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

static struct json_object *jsample(const struct daxalloc_vmemmap_sample *sm)
{
	struct json_object *o = json_object_new_object(), *b = json_object_new_array();

	json_object_object_add(o, "align", json_object_new_uint64(sm->align));
	json_object_object_add(o, "measured", json_object_new_boolean(sm->measured));
	json_object_object_add(o, "why", sm->measured ? NULL : jstr_or_null(sm->why));
	for (int i = 0; sm->measured && i < sm->cycles; i++)
		json_object_array_add(b, json_object_new_int64(sm->bytes[i]));
	json_object_object_add(o, "bytes", b);
	json_object_object_add(o, "median", sm->measured ? json_object_new_int64(sm->median) : NULL);
	json_object_object_add(o, "min", sm->measured ? json_object_new_int64(sm->min) : NULL);
	json_object_object_add(o, "max", sm->measured ? json_object_new_int64(sm->max) : NULL);
	json_object_object_add(o, "match", sm->measured && sm->match >= 0 ?
				      json_object_new_string(daxalloc_vmemmap_row_name(sm->match)) : NULL);
	json_object_object_add(o, "ambiguous", json_object_new_boolean(sm->ambiguous));
	return o;
}

static struct json_object *jpin(const struct daxalloc_vmemmap_pin *p)
{
	struct json_object *o = json_object_new_object();
	bool timed = p->ns_4k || p->ns_2m || p->ns_1g;

	json_object_object_add(o, "verdict", json_object_new_string(daxalloc_vmemmap_pin_path_name(p->verdict)));
	json_object_object_add(o, "expected", json_object_new_string(daxalloc_vmemmap_pin_path_name(p->expected)));
	json_object_object_add(o, "measured", json_object_new_boolean(timed));
	json_object_object_add(o, "conclusive", json_object_new_boolean(p->conclusive));
	json_object_object_add(o, "consumer", jstr_or_null(p->consumer));
	json_object_object_add(o, "length", timed ? json_object_new_uint64(p->length) : NULL);
	json_object_object_add(o, "ns_4k", p->ns_4k ? json_object_new_uint64(p->ns_4k) : NULL);
	json_object_object_add(o, "ns_2m", p->ns_2m ? json_object_new_uint64(p->ns_2m) : NULL);
	json_object_object_add(o, "ns_1g", p->ns_1g ? json_object_new_uint64(p->ns_1g) : NULL);
	json_object_object_add(o, "ns_hugetlb_2m",
			       p->ns_hugetlb_2m ? json_object_new_uint64(p->ns_hugetlb_2m) : NULL);
	json_object_object_add(o, "how", json_object_new_string(p->how));
	return o;
}

static struct json_object *jtarget(const struct target *t, int cycles)
{
	struct json_object *o = json_object_new_object(), *model = json_object_new_array();

	json_object_object_add(o, "name", jstr_or_null(t->name));
	json_object_object_add(o, "size", json_object_new_uint64(t->size));
	json_object_object_add(o, "align", t->align ? json_object_new_uint64(t->align) : NULL);
	json_object_object_add(o, "region_kind", t->name[0] ?
				      json_object_new_string(daxalloc_region_kind_name(t->kind)) : NULL);
	json_object_object_add(o, "standin", json_object_new_boolean(t->standin));
	json_object_object_add(o, "memmap", t->standin ? NULL :
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

/* ---- tables ------------------------------------------------------------------- */

static void print_model(const struct target *t)
{
	char b[7][32];

	if (t->name[0])
		printf("%s: %s, %s, align %s, struct pages %s\n", t->name, hsize((int64_t)t->size, b[0], 32),
		       t->standin ? "hugetlb stand-in" : daxalloc_region_kind_name(t->kind),
		       ctl_size(t->align, b[1], 32), t->standin ? "of RAM (from boot)" :
		       t->in_ram ? "in RAM" : "on the device (--map=dev)");
	else
		printf("%s (%" PRIu64 " bytes), struct pages in RAM:\n", hsize((int64_t)t->size, b[0], 32),
		       t->size);
	if (t->standin) {
		printf("  no memmap of its own: enabling costs nothing\n");
		return;
	}
	printf("%-5s %10s %10s %10s %12s %12s %10s\n", "ALIGN", "NO DEDUP", "2-PAGE", "1-PAGE",
	       "PAGE TABLES", "THIS KERNEL", "PER TiB");
	for (int i = 0; i < 3; i++) {
		struct daxalloc_vmemmap_model m = { DAXALLOC_VMEMMAP_MODEL_INIT }, tib = { DAXALLOC_VMEMMAP_MODEL_INIT };
		int row = kernel_row(t, aligns[i]);
		char a[16];

		daxalloc_vmemmap_model(t->size, aligns[i], &m);
		daxalloc_vmemmap_model(TIB, aligns[i], &tib);
		snprintf(a, sizeof(a), "%s%s", ctl_size(aligns[i], b[6], 32),
			 aligns[i] == t->align ? " *" : "");
		printf("%-5s %10s %10s %10s %12s %12s %10s\n", a,
		       hsize((int64_t)m.struct_pages[0], b[0], 32), hsize((int64_t)m.struct_pages[1], b[1], 32),
		       hsize((int64_t)m.struct_pages[2], b[2], 32), hsize((int64_t)m.page_tables[row], b[3], 32),
		       hsize((int64_t)(t->in_ram ? m.total[row] : device_of(&m, false)), b[4], 32),
		       hsize((int64_t)(t->in_ram ? tib.total[row] : device_of(&tib, false)), b[5], 32));
	}
	if (t->in_ram)
		printf("struct pages per row; THIS KERNEL adds the page tables of its row%s\n",
		       t->align ? "; * the device's alignment" : "");
	else
		printf("memmap on the device: RAM pays nothing, THIS KERNEL is device capacity, never deduplicated%s\n",
		       t->align ? "; * the device's alignment" : "");
}

static void print_measured(const struct target *t, int cycles)
{
	char b[6][32];

	printf("measured, %d cycles per alignment (RAM neither free nor accounted in meminfo), median [min .. max]:\n",
	       cycles);
	for (int i = 0; i < 3; i++) {
		const struct daxalloc_vmemmap_sample *sm = &t->rep.samples[i];
		struct daxalloc_vmemmap_model m = { DAXALLOC_VMEMMAP_MODEL_INIT };

		if (!sm->measured) {
			printf("%-5s not measured: %s\n", ctl_size(sm->align, b[0], 32), sm->why);
			continue;
		}
		daxalloc_vmemmap_model(t->size, sm->align, &m);
		printf("%-5s %10s [%s .. %s]  ", ctl_size(sm->align, b[0], 32), hsize(sm->median, b[1], 32),
		       hsize(sm->min, b[2], 32), hsize(sm->max, b[3], 32));
		if (sm->match < 0) {
			printf("matches no row (nearest model: %s)\n",
			       hsize((int64_t)m.total[kernel_row(t, sm->align)], b[4], 32));
			continue;
		}
		printf("matches %s (model %s)", row_text(sm->match), hsize((int64_t)m.total[sm->match], b[4], 32));
		for (int r = 0; sm->ambiguous && r < DAXALLOC_VMEMMAP_ROWS; r++)
			if (m.total[r] != m.total[sm->match] &&
			    llabs(sm->median - (int64_t)m.total[r]) <=
				    llabs(sm->median - (int64_t)m.total[sm->match]) + (sm->max - sm->min))
				printf("; %s (%s) is as near, within the spread", row_text(r),
				       hsize((int64_t)m.total[r], b[5], 32));
		printf("\n");
	}
}

static void print_target(const struct target *t, int cycles)
{
	char a[32];

	print_model(t);
	if (t->measured && !t->standin)
		print_measured(t, cycles);
	printf("pin path: %s\n  %s\n", path_text(t->rep.pin.verdict), t->rep.pin.how);
	if (t->measured && !t->standin)
		printf("%s is back as it was: align %s, %s\n", t->name, ctl_size(t->rep.align, a, sizeof(a)),
		       t->rep.enabled ? "enabled" : "disabled");
}

/* ---- the command ----------------------------------------------------------------- */

static int parse(int argc, char **argv, struct vm_args *a)
{
	enum { O_MEASURE = CTL_O_FIRST_PRIVATE, O_CYCLES, O_PIN_WITH, O_NO_PIN };
	static const struct option opts[] = {
		CTL_BASE_OPTIONS, CTL_OPT_SIZE, CTL_OPT_ALIGN, CTL_OPT_IGNORE_DMA, CTL_OPT_JSON,
		{ "measure", no_argument, NULL, O_MEASURE },
		{ "cycles", required_argument, NULL, O_CYCLES },
		{ "pin-with", required_argument, NULL, O_PIN_WITH },
		{ "no-pin", no_argument, NULL, O_NO_PIN },
		CTL_OPT_END,
	};
	struct ctl_args o = { .region = -1 };
	char *end;
	long n;
	int c, rc;

	a->pin = true;
	optind = 1;
	while ((c = ctl_getopt("vmemmap", argc, argv, opts)) != -1) {
		switch (c) {
		case O_MEASURE:
			a->measure = true;
			break;
		case O_CYCLES:
			n = strtol(optarg, &end, 10);
			if (*end || end == optarg || n < 1 || n > DAXALLOC_VMEMMAP_MAX_CYCLES)
				return ctl_fail(CTL_USAGE, "vmemmap: --cycles %s: a number from 1 to %d",
						optarg, DAXALLOC_VMEMMAP_MAX_CYCLES);
			a->cycles = (int)n;
			break;
		case O_PIN_WITH:
			a->pin_with = optarg;
			break;
		case O_NO_PIN:
			a->pin = false;
			break;
		default:
			if (c < 0)
				return -c;
			if ((rc = ctl_take_opt("vmemmap", c, &o)))
				return rc;
		}
	}
	a->size = o.size;
	a->align = o.align;
	a->json = o.json;
	a->ignore_dma = o.reconfig_flags & DAXALLOC_RECONFIG_IGNORE_DMA;
	if (optind < argc)
		a->dev = argv[optind++];
	if (optind < argc)
		return ctl_fail(CTL_USAGE, "vmemmap: unexpected argument '%s'", argv[optind]);
	if (o.size_given && a->size == 0)
		return ctl_fail(CTL_USAGE, "vmemmap: --size 0: give the size of memory to model");
	if (o.size_given && a->dev)
		return ctl_fail(CTL_USAGE, "vmemmap: give DEV or --size, not both (--size models memory that is not a device)");
	if (a->measure && !a->dev)
		return ctl_fail(CTL_USAGE, "vmemmap: --measure needs DEV: it disables and enables that device");
	if (!a->measure && (a->cycles || a->align || a->pin_with || a->ignore_dma))
		return ctl_fail(CTL_USAGE, "vmemmap: --cycles, --align, --pin-with and --ignore-dma go with --measure");
	return 0;
}

static void target_from_dev(struct target *t, struct daxalloc_dev *d)
{
	snprintf(t->name, sizeof(t->name), "%s", daxalloc_dev_get_name(d));
	t->size = daxalloc_dev_get_size(d);
	t->align = daxalloc_dev_get_align(d);
	t->kind = daxalloc_dev_get_region_kind(d);
	t->standin = daxalloc_dev_is_standin(d);
	t->in_ram = daxalloc_dev_memmap_in_ram(d);
}

/* The device named @arg: listed (enabled or not), or the stand-in. */
static int find_device(struct daxalloc_ctx *ctx, const char *arg, struct target *t)
{
	const char *name = strncmp(arg, "/dev/", 5) == 0 ? arg + 5 : arg;
	struct daxalloc_dev *d = NULL;
	int rc;

	if (strncmp(arg, "hugetlb:", 8) != 0)
		daxalloc_dev_foreach(ctx, d)
			if (strcmp(daxalloc_dev_get_name(d), name) == 0) {
				target_from_dev(t, d);
				return 0;
			}
	/* Not listed: opening says why (bad name, no such device), or it is the stand-in. */
	rc = daxalloc_dev_open(ctx, arg, &d);
	if (rc < 0)
		return ctl_lib_fail(rc);
	target_from_dev(t, d);
	daxalloc_dev_close(&d);
	return 0;
}

static void pin_from_version(struct target *t)
{
	char rel[65] = "unknown";
	struct utsname u;
	int exp;

	if (uname(&u) == 0)
		snprintf(rel, sizeof(rel), "%s", u.release);
	exp = daxalloc_vmemmap_kernel_pin_path(NULL, t->standin);
	t->rep.pin.expected = t->rep.pin.verdict = exp < 0 ? DAXALLOC_VMEMMAP_PIN_UNKNOWN : exp;
	snprintf(t->rep.pin.how, sizeof(t->rep.pin.how),
		 "judged from the kernel version alone (%s, %s); --measure times it", rel,
		 t->standin ? "hugetlb memory" : "device-dax");
}

static int measure(struct daxalloc_ctx *ctx, const struct vm_args *a, struct target *t)
{
	struct daxalloc_vmemmap_opts o = {
		DAXALLOC_VMEMMAP_OPTS_INIT, .cycles = a->cycles, .align = a->align, .pin = a->pin,
		.pin_with = a->pin_with, .ignore_dma = a->ignore_dma,
	};
	struct ctl_progress p;
	sigset_t block, old;
	char what[96];
	int rc;

	/* Interrupted half way, the device would stay disabled or realigned. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	snprintf(what, sizeof(what), "%s: measuring (Ctrl-C waits until it is back as it was)",
		 t->name);
	ctl_progress_start(&p, what, 1);
	ctl_progress_note(&p, what, t->size, 0);
	sigprocmask(SIG_BLOCK, &block, &old);
	t->rep.struct_size = sizeof(t->rep);
	rc = daxalloc_vmemmap_measure(ctx, t->name, &o, &t->rep);
	ctl_progress_end(&p);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		return ctl_lib_fail(rc);
	t->measured = true;
	return 0;
}

int cmd_vmemmap(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	struct vm_args a = { 0 };
	struct target *t;
	struct daxalloc_dev *d;
	int n = 0, rc, row, cycles;
	bool row_measured = false;
	char rel[65] = "unknown";
	struct utsname u;

	rc = parse(argc, argv, &a);
	if (rc)
		return rc;
	cycles = a.cycles ? a.cycles : 5;
	t = calloc(MAX_TARGETS, sizeof(*t));
	if (!t)
		return ctl_fail(CTL_FAILED, "out of memory");
	if (a.dev) {
		rc = find_device(ctx, a.dev, &t[0]);
		n = rc ? 0 : 1;
	} else if (a.size) {
		t[n].size = a.size;
		t[n++].in_ram = true;
	} else {
		daxalloc_dev_foreach(ctx, d)
			if (n < MAX_TARGETS)
				target_from_dev(&t[n++], d);
		if (n == 0) {
			/* Nothing to show but the rates: model a TiB. */
			t[n].size = TIB;
			t[n++].in_ram = true;
		}
	}
	for (int i = 0; rc == 0 && i < n; i++) {
		if (a.measure)
			rc = measure(ctx, &a, &t[i]);
		else
			pin_from_version(&t[i]);
	}
	if (rc) {
		free(t);
		return rc;
	}
	if (uname(&u) == 0)
		snprintf(rel, sizeof(rel), "%s", u.release);
	/* The kernel's dedup: measured on the first device measured in RAM, else its version's. */
	row = daxalloc_vmemmap_kernel_row(NULL, true);
	for (int i = 0; i < n && !row_measured; i++)
		if (t[i].in_ram) {
			int r = dedup_row(&t[i], &row_measured);

			if (row_measured)
				row = r;
		}
	if (a.json) {
		struct json_object *o = json_object_new_object(), *k = json_object_new_object();
		struct json_object *arr = json_object_new_array();
		int pp = daxalloc_vmemmap_kernel_pin_path(NULL, false);

		json_object_object_add(k, "release", json_object_new_string(rel));
		json_object_object_add(k, "dedup", json_object_new_string(daxalloc_vmemmap_row_name(row)));
		json_object_object_add(k, "dedup_from",
				       json_object_new_string(row_measured ? "measurement" : "version"));
		json_object_object_add(k, "pin_path", json_object_new_string(daxalloc_vmemmap_pin_path_name(pp)));
		json_object_object_add(o, "kernel", k);
		json_object_object_add(o, "page_size", json_object_new_uint64(DAXALLOC_SIZE_4K));
		json_object_object_add(o, "struct_page_size", json_object_new_int(64));
		for (int i = 0; i < n; i++)
			json_object_array_add(arr, jtarget(&t[i], cycles));
		json_object_object_add(o, "targets", arr);
		ctl_json_print(o);
		json_object_put(o);
	} else {
		printf("kernel %s: %s%s (%s)\n\n", rel, row_text(row),
		       row == DAXALLOC_VMEMMAP_NO_DEDUP ? "" :
							  " at 2M and 1G when the struct pages are in RAM",
		       row_measured ? "measured at 2M" : "from its version: 2-page from Linux 5.19");
		for (int i = 0; i < n; i++) {
			if (i)
				printf("\n");
			print_target(&t[i], cycles);
		}
	}
	free(t);
	return CTL_OK;
}
