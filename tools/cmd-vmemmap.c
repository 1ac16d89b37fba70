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
 * enable and disable agree (see vmemmap-measure.c).
 */
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

/* "16.1 MiB": three figures, binary units; negative for noise below zero. */
static const char *hsize(int64_t v, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v; /* INT64_MIN too */
	double d = (double)u;
	int i = 0;

	while (d >= 1024 && i < 6) {
		d /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%s%llu B", v < 0 ? "-" : "", (unsigned long long)u);
	else
		snprintf(buf, len, "%s%.*f %s", v < 0 ? "-" : "",
			 d < 9.995 ? 2 :
			 d < 99.95 ? 1 :
				     0,
			 d, unit[i]);
	return buf;
}

static const char *row_text(int row)
{
	static const char *const text[DAXALLOC_VMEMMAP_ROWS] = {
		[DAXALLOC_VMEMMAP_NO_DEDUP] = "no dedup",
		[DAXALLOC_VMEMMAP_DEDUP_2PAGE] = "2-page dedup",
		[DAXALLOC_VMEMMAP_DEDUP_1PAGE] = "1-page dedup",
	};

	return row >= 0 && row < DAXALLOC_VMEMMAP_ROWS ? text[row] : "no row";
}

static const char *path_text(int path)
{
	if (path == DAXALLOC_VMEMMAP_PIN_BASE_PAGE)
		return "per base page (one reference per 4K page)";
	if (path == DAXALLOC_VMEMMAP_PIN_COMPOUND)
		return "per compound page (one reference per 2M or 1G page)";
	return "unknown";
}

/*
 * The dedup @t's kernel does: what its 2M measurement matched, when one
 * row matched and no other is as near (at 2M the 2-page and 1-page rows
 * differ by half; at 1G by a few KiB, less than the noise, so 1G cannot
 * tell), else what the kernel's version says.  @measured: which it was.
 */
static int dedup_row(const struct ctl_vmemmap_target *t, bool *measured)
{
	const struct vmemmap_sample *sm = &t->rep.samples[1];
	int r;

	*measured = t->measured && !t->standin && sm->measured && sm->align == DAXALLOC_SIZE_2M &&
		    sm->match >= 0 && !sm->ambiguous;
	if (*measured)
		return sm->match;
	r = daxalloc_vmemmap_kernel_row(NULL, t->in_ram);
	return r < 0 ? DAXALLOC_VMEMMAP_NO_DEDUP : r;
}

/* ---- tables, read from the JSON objects ------------------------------------------ */

/* The row called @name ("2page"), or -1. */
static int row_of(const char *name)
{
	for (int r = 0; name && r < DAXALLOC_VMEMMAP_ROWS; r++)
		if (strcmp(daxalloc_vmemmap_row_name(r), name) == 0)
			return r;
	return -1;
}

static int path_of(const char *name)
{
	static const int paths[] = { DAXALLOC_VMEMMAP_PIN_BASE_PAGE, DAXALLOC_VMEMMAP_PIN_COMPOUND };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (strcmp(daxalloc_vmemmap_pin_path_name(paths[i]), name) == 0)
			return paths[i];
	return DAXALLOC_VMEMMAP_PIN_UNKNOWN;
}

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

/* The figure of row @row in the object of rows @key of @o: "total": { "2page": N } */
static int64_t row_value(struct json_object *o, const char *key, int row)
{
	return (int64_t)ctl_ju64(member(o, key), daxalloc_vmemmap_row_name(row));
}

/* What this kernel costs: RAM with the memmap in RAM, else device capacity. */
static int64_t cost(struct json_object *o, bool in_ram)
{
	return (int64_t)ctl_ju64(o, in_ram ? "ram" : "device");
}

static void print_model(struct json_object *t)
{
	const char *name = ctl_jstr(t, "name"), *memmap = ctl_jstr(t, "memmap");
	struct json_object *model = member(t, "model");
	bool standin = ctl_jbool(t, "standin"), in_ram = memmap && strcmp(memmap, "ram") == 0;
	uint64_t size = ctl_ju64(t, "size"), align = ctl_ju64(t, "align");
	char b[7][32];

	if (name)
		printf("%s: %s, %s, align %s, struct pages %s\n", name,
		       hsize((int64_t)size, b[0], 32),
		       standin ? "hugetlb stand-in" : ctl_jstr(t, "region_kind"),
		       ctl_size(align, b[1], 32),
		       standin ? "of RAM (from boot)" :
		       in_ram  ? "in RAM" :
				 "on the device (--map=dev)");
	else
		printf("%s (%" PRIu64 " bytes), struct pages in RAM:\n",
		       hsize((int64_t)size, b[0], 32), size);
	if (standin) {
		printf("  no memmap of its own: enabling costs nothing\n");
		return;
	}
	printf("%-5s %10s %10s %10s %12s %12s %10s\n", "ALIGN", "NO DEDUP", "2-PAGE", "1-PAGE",
	       "PAGE TABLES", "THIS KERNEL", "PER TiB");
	for (int i = 0; i < 3; i++) {
		struct json_object *m = json_object_array_get_idx(model, i);
		int row = row_of(ctl_jstr(m, "kernel_row"));
		char a[16];

		snprintf(a, sizeof(a), "%s%s", ctl_size(ctl_ju64(m, "align"), b[6], 32),
			 ctl_ju64(m, "align") == align ? " *" : "");
		printf("%-5s %10s %10s %10s %12s %12s %10s\n", a,
		       hsize(row_value(m, "struct_pages", 0), b[0], 32),
		       hsize(row_value(m, "struct_pages", 1), b[1], 32),
		       hsize(row_value(m, "struct_pages", 2), b[2], 32),
		       hsize(row_value(m, "page_tables", row), b[3], 32),
		       hsize(cost(m, in_ram), b[4], 32),
		       hsize(cost(member(m, "per_tib"), in_ram), b[5], 32));
	}
	if (in_ram)
		printf("struct pages per row; THIS KERNEL adds the page tables of its row%s\n",
		       align ? "; * the device's alignment" : "");
	else
		printf("memmap on the device: RAM pays nothing, THIS KERNEL is device capacity, never deduplicated%s\n",
		       align ? "; * the device's alignment" : "");
}

static void print_measured(struct json_object *t)
{
	struct json_object *measured = member(t, "measured"), *samples = member(measured, "samples");
	struct json_object *model = member(t, "model");
	char b[6][32];

	printf("measured, %d cycles per alignment (RAM neither free nor accounted in meminfo), median [min .. max]:\n",
	       (int)ctl_ji64(measured, "cycles"));
	for (int i = 0; i < 3; i++) {
		struct json_object *sm = json_object_array_get_idx(samples, i);
		struct json_object *m = json_object_array_get_idx(model, i);
		int64_t median = ctl_ji64(sm, "median"), min = ctl_ji64(sm, "min"),
			max = ctl_ji64(sm, "max");
		int match = row_of(ctl_jstr(sm, "match"));
		const char *why = ctl_jstr(sm, "why");

		if (!ctl_jbool(sm, "measured")) {
			printf("%-5s not measured: %s\n", ctl_size(ctl_ju64(sm, "align"), b[0], 32),
			       why ? why : "");
			continue;
		}
		printf("%-5s %10s [%s .. %s]  ", ctl_size(ctl_ju64(sm, "align"), b[0], 32),
		       hsize(median, b[1], 32), hsize(min, b[2], 32), hsize(max, b[3], 32));
		if (match < 0) {
			printf("matches no row (nearest model: %s)\n",
			       hsize(row_value(m, "total", row_of(ctl_jstr(m, "kernel_row"))), b[4],
				     32));
			continue;
		}
		printf("matches %s (model %s)", row_text(match),
		       hsize(row_value(m, "total", match), b[4], 32));
		for (int r = 0; ctl_jbool(sm, "ambiguous") && r < DAXALLOC_VMEMMAP_ROWS; r++)
			if (row_value(m, "total", r) != row_value(m, "total", match) &&
			    llabs(median - row_value(m, "total", r)) <=
				    llabs(median - row_value(m, "total", match)) + (max - min))
				printf("; %s (%s) is as near, within the spread", row_text(r),
				       hsize(row_value(m, "total", r), b[5], 32));
		printf("\n");
	}
}

static void print_target(struct json_object *t)
{
	struct json_object *pin = member(t, "pin_path");
	struct json_object *restored = member(member(t, "measured"), "restored");
	bool shown = !ctl_jnull(t, "measured") && !ctl_jbool(t, "standin");
	char a[32];

	print_model(t);
	if (shown)
		print_measured(t);
	printf("pin path: %s\n  %s\n", path_text(path_of(ctl_jstr(pin, "verdict"))),
	       ctl_jstr(pin, "how"));
	if (shown)
		printf("%s is back as it was: align %s, %s\n", ctl_jstr(t, "name"),
		       ctl_size(ctl_ju64(restored, "align"), a, sizeof(a)),
		       ctl_jbool(restored, "enabled") ? "enabled" : "disabled");
}

static void print_vmemmap(struct json_object *o)
{
	struct json_object *k = member(o, "kernel"), *targets = member(o, "targets");
	int row = row_of(ctl_jstr(k, "dedup"));

	printf("kernel %s: %s%s (%s)\n\n", ctl_jstr(k, "release"), row_text(row),
	       row == DAXALLOC_VMEMMAP_NO_DEDUP ? "" :
						  " at 2M and 1G when the struct pages are in RAM",
	       strcmp(ctl_jstr(k, "dedup_from"), "measurement") == 0 ?
		       "measured at 2M" :
		       "from its version: 2-page from Linux 5.19");
	for (size_t i = 0; i < json_object_array_length(targets); i++) {
		if (i)
			printf("\n");
		print_target(json_object_array_get_idx(targets, i));
	}
}

/* ---- the command ----------------------------------------------------------------- */

/* [DEV]: the rules between the options, which the table cannot say. */
static int parse(const struct ctl_args *o, const char **dev)
{
	bool ignore_dma = o->reconfig_flags & DAXALLOC_RECONFIG_IGNORE_DMA;

	*dev = o->npos > 0 ? o->pos[0] : NULL;
	if (o->npos > 1)
		return ctl_fail(CTL_USAGE, "vmemmap: unexpected argument '%s'", o->pos[1]);
	if (o->size_given && o->size == 0)
		return ctl_fail(CTL_USAGE, "vmemmap: --size 0: give the size of memory to model");
	if (o->size_given && *dev)
		return ctl_fail(CTL_USAGE,
				"vmemmap: give DEV or --size, not both (--size models memory that is not a device)");
	if (o->measure && !*dev)
		return ctl_fail(CTL_USAGE,
				"vmemmap: --measure needs DEV: it disables and enables that device");
	if (!o->measure && (o->cycles || o->align || o->pin_with || ignore_dma))
		return ctl_fail(CTL_USAGE,
				"vmemmap: --cycles, --align, --pin-with and --ignore-dma go with --measure");
	return 0;
}

static void target_from_dev(struct ctl_vmemmap_target *t, struct daxalloc_dev *d)
{
	snprintf(t->name, sizeof(t->name), "%s", daxalloc_dev_get_name(d));
	t->size = daxalloc_dev_get_size(d);
	t->align = daxalloc_dev_get_align(d);
	t->kind = daxalloc_dev_get_region_kind(d);
	t->standin = daxalloc_dev_is_standin(d);
	t->in_ram = daxalloc_dev_memmap_in_ram(d);
}

/* The device named @arg: listed (enabled or not), or the stand-in. */
static int find_device(struct daxalloc_ctx *ctx, const char *arg, struct ctl_vmemmap_target *t)
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

static void pin_from_version(struct ctl_vmemmap_target *t)
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

static int measure(const struct ctl_args *a, struct ctl_vmemmap_target *t)
{
	struct vmemmap_opts o = {
		.cycles = a->cycles,
		.align = a->align,
		.pin = !a->no_pin,
		.pin_with = a->pin_with,
		.ignore_dma = a->reconfig_flags & DAXALLOC_RECONFIG_IGNORE_DMA,
	};
	struct ctl_progress p;
	sigset_t block, old;
	char what[96], msg[512];
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
	/* in a program of its own, which inherits the blocked signals */
	rc = vmemmap_measure_run(t->name, &o, &t->rep, msg, sizeof(msg));
	ctl_progress_end(&p);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		return ctl_fail(CTL_FAILED, "%s", msg[0] ? msg : strerror(-rc));
	t->measured = true;
	return 0;
}

int cmd_vmemmap(struct daxalloc_ctx *ctx, struct ctl_args *args)
{
	const char *dev;
	struct ctl_vmemmap_target *t;
	struct json_object *o;
	struct daxalloc_dev *d;
	int n = 0, rc, row, cycles;
	bool row_measured = false;
	char rel[65] = "unknown";
	struct utsname u;

	rc = parse(args, &dev);
	if (rc)
		return rc;
	cycles = args->cycles ? args->cycles : 5;
	t = calloc(MAX_TARGETS, sizeof(*t));
	if (!t)
		return ctl_fail(CTL_FAILED, "out of memory");
	if (dev) {
		rc = find_device(ctx, dev, &t[0]);
		n = rc ? 0 : 1;
	} else if (args->size) {
		t[n].size = args->size;
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
		if (args->measure)
			rc = measure(args, &t[i]);
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
	for (int i = 0; i < n; i++)
		t[i].row = dedup_row(&t[i], &t[i].row_measured);
	o = ctl_json_vmemmap(rel, row, row_measured, daxalloc_vmemmap_kernel_pin_path(NULL, false),
			     t, n, cycles);
	if (args->json)
		ctl_json_print(o);
	else
		print_vmemmap(o);
	json_object_put(o);
	free(t);
	return CTL_OK;
}
