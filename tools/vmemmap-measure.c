// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The vmemmap measurement (vmemmap-measure.h): what enabling a device
 * costs in RAM, measured, and which pin path the kernel takes for its
 * pages, timed.  The model it is held against is the library's
 * (daxalloc_vmemmap_model(), libdaxalloc/vmemmap.c).
 *
 * The measurement disables the device, reads memory, enables it, reads
 * again, disables it, reads again, and so on.  A reading is free memory
 * (MemFree and the per-CPU free lists, which MemFree leaves out and which
 * take in and hand out tens of MB around a large allocation or free) plus
 * what /proc/meminfo accounts to some use (page cache, anonymous memory,
 * slab, kernel stacks, page tables); what it leaves out is RAM the kernel
 * holds untracked, the memmap among it.  So other processes (the helper
 * that unbinds the device, exiting just then), file reads and slab do not
 * count.  Noise is rejected twice:
 *
 * - A reading counts only when the next one agrees with it within
 *   VM_STEADY, part by part.  The kernel drains whole per-CPU lists into
 *   the free areas at moments of its own (on 6.1 just after a disable, as
 *   init reaps the helper that unbound the device and frees its page-table
 *   root: 10-20 MB at once; see tests/README.md).  A drain between reading
 *   MemFree and the lists makes a reading short by the lot, and as that
 *   reading ends one cycle and starts the next, it spoiled two cycles at
 *   once (1.4 MB measured twice for an 8 MB memmap).
 * - A cycle counts only when what enabling took (reading before minus
 *   reading while enabled) and what disabling gave back (reading after
 *   minus the same) agree within VM_CYCLE_SLACK or 1/32; otherwise it is
 *   run again, at most as many extra times as cycles were asked for.
 *
 * The cost of a cycle is the mean of the two; cycles on 6.1 then agree
 * within a few tens of KB.
 *
 * It uses the library's internals (reconfig.h: the gate's checks, the
 * guarded disable, the layout rules), so it is linked with them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "reconfig.h"
#include "vmemmap-measure.h"

#define VM_DEFAULT_CYCLES 5
/* Two readings agree when free, per-CPU lists and accounted use each move less. */
#define VM_STEADY (INT64_C(256) << 10)
/* Readings taken at most before giving up on agreement (a few seconds). */
#define VM_READ_TRIES 20
/* Took and gave back agree within this, or 1/32 of their mean. */
#define VM_CYCLE_SLACK (INT64_C(512) << 10)
#define VM_PIN_LENGTH DAXALLOC_SIZE_1G
#define VM_PIN_TRIES 9

static const uint64_t vm_aligns[3] = { DAXALLOC_SIZE_4K, DAXALLOC_SIZE_2M, DAXALLOC_SIZE_1G };

static uint64_t distance(int64_t a, uint64_t b)
{
	return a < 0 ? (uint64_t)(-a) + b : (uint64_t)a > b ? (uint64_t)a - b : b - (uint64_t)a;
}

static const char *expect_text(int path, bool hugetlb)
{
	if (hugetlb)
		return path == DAXALLOC_VMEMMAP_PIN_COMPOUND ?
			       "expects per compound page (hugetlb)" :
			       "gives no clear expectation for hugetlb";
	switch (path) {
	case DAXALLOC_VMEMMAP_PIN_BASE_PAGE:
		return "was expected to pin per base page";
	case DAXALLOC_VMEMMAP_PIN_COMPOUND:
		return "was expected to pin per compound page";
	default:
		return "gives no expectation";
	}
}

/* Fill in the verdict once the timings (if any) are in; @why: why some are missing. */
static void pin_judge(struct vmemmap_pin *p, const char *release, bool hugetlb, const char *why)
{
	char l[32];
	int v, exp = daxalloc_vmemmap_kernel_pin_path(release, hugetlb);

	p->expected = exp < 0 ? DAXALLOC_VMEMMAP_PIN_UNKNOWN : exp;
	size_str(p->length, l, sizeof(l));
	if (hugetlb) {
		/* The stand-in is hugetlb memory: one reference per huge page. */
		p->verdict = p->expected;
		p->conclusive = false;
		snprintf(p->how, sizeof(p->how),
			 "hugetlb memory: GUP takes one reference per huge page%s%s (kernel %s)",
			 p->ns_2m ? "; pinned at 2M in a best of " : "", p->ns_2m ? "9" : "",
			 release);
		return;
	}
	v = daxalloc_vmemmap_pin_verdict(p->ns_4k, p->ns_2m, p->ns_hugetlb_2m);
	p->conclusive = v != DAXALLOC_VMEMMAP_PIN_UNKNOWN;
	p->verdict = v;
	if (p->ns_4k && p->ns_2m) {
		const char *what =
			v == DAXALLOC_VMEMMAP_PIN_BASE_PAGE ?
				"2M costs most of 4K, so references are taken per 4K page" :
			v == DAXALLOC_VMEMMAP_PIN_COMPOUND ?
				"2M costs a fraction of 4K, so references are taken per compound page" :
				"between the two patterns, inconclusive";
		char hb[160];

		if (p->ns_hugetlb_2m)
			snprintf(hb, sizeof(hb), ", hugetlb 2M %.1f ms (2M/hugetlb = %.2f)",
				 (double)p->ns_hugetlb_2m / 1e6,
				 (double)p->ns_2m / (double)p->ns_hugetlb_2m);
		else
			snprintf(hb, sizeof(hb), ", hugetlb not measured (%.100s)",
				 why && *why ? why : "no huge pages");
		snprintf(p->how, sizeof(p->how),
			 "%s pinned %s of device-dax in %.1f ms at 4K and %.1f ms at 2M (best of %d; 2M/4K = %.2f)%s: %s; kernel %s %s",
			 p->consumer, l, (double)p->ns_4k / 1e6, (double)p->ns_2m / 1e6,
			 VM_PIN_TRIES, (double)p->ns_2m / (double)p->ns_4k, hb, what, release,
			 expect_text(p->expected, false));
	} else {
		snprintf(p->how, sizeof(p->how),
			 "%s; the pin path is not judged without device-dax pinned at 4K and at 2M (kernel %s %s)",
			 why && *why ? why : "pinning not measured", release,
			 expect_text(p->expected, false));
	}
}

/* ---- the measurement ------------------------------------------------------------ */

struct vm_state {
	struct daxalloc_ctx *ctx;
	const char *name;
	const struct vmemmap_opts *opts;
	struct vmemmap_report *rep;
	uint64_t align; /* now */
	bool enabled;
	char pin_why[300]; /* why pinning was not timed at some alignment */
	char pin_spec[80]; /* the consumer that pinned the device, to pin hugetlb with */
};

/* Nobody may have the device open or mapped, or possibly pinned. */
static int check_users(struct daxalloc_ctx *ctx, const char *name, bool ignore_dma)
{
	const char *what = "measure its memmap (that disables the device)";
	int rc = rc_check_ledger(ctx, name, what);

	if (rc == 0)
		rc = rc_check_holders(name, ignore_dma ? DAXALLOC_RECONFIG_IGNORE_DMA : 0, what);
	return rc;
}

/*
 * Memory as the kernel accounts it.  Read in three goes (MemFree, the
 * per-CPU lists, the rest of meminfo): pages that move between them
 * while they are read make one reading wrong, which the next one shows.
 */
struct vm_reading {
	int64_t free; /* MemFree */
	int64_t pcp;  /* on the per-CPU free lists */
	int64_t held; /* accounted to a use: the fields of vm_held */
};

/* Page cache, anonymous memory, slab (with kmalloc's large pages), stacks, page tables. */
static const char *const vm_held[] = {
	"Buffers", "Cached",      "SwapCached", "AnonPages",
	"Slab",    "KernelStack", "PageTables", "SecPageTables",
};
#define VM_NHELD ((int)(sizeof(vm_held) / sizeof(vm_held[0])))

static int64_t reading_total(const struct vm_reading *r)
{
	return r->free + r->pcp + r->held;
}

/* A file below the procfs root ($DAXALLOC_PROCFS_ROOT in tests), or NULL with *@err. */
static FILE *proc_open(const char *rel, int *err)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", procfs_root(), rel);
	f = fopen(path, "re");
	*err = f ? 0 : -errno;
	return f;
}

/*
 * Free memory as the page allocator holds it: MemFree of /proc/meminfo,
 * and the pages parked on the per-CPU free lists ("count:" lines of
 * /proc/zoneinfo, in pages), which MemFree leaves out.  Those lists take
 * in and hand out several MB around any large free or allocation, which
 * would otherwise drown a small difference.  *@pcp is 0 when zoneinfo
 * cannot be read.  MemFree itself lags by what each CPU has not folded
 * into it yet (up to a few hundred KB); vm/stat_refresh folds it first,
 * when the caller may write there (root).
 */
int vmemmap_free_memory(uint64_t *memfree, uint64_t *pcp)
{
	unsigned long long v, sum = 0;
	long page = sysconf(_SC_PAGESIZE);
	char line[PATH_MAX];
	FILE *f;
	int rc, fd;

	snprintf(line, sizeof(line), "%s/sys/vm/stat_refresh", procfs_root());
	fd = open(line, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			(void)0;
		close(fd);
	}
	f = proc_open("meminfo", &rc);
	if (!f)
		return rc;
	rc = -ENOENT;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %llu kB", &v) == 1) {
			*memfree = (uint64_t)v << 10;
			rc = 0;
			break;
		}
	fclose(f);
	if (rc)
		return rc;
	*pcp = 0;
	f = proc_open("zoneinfo", &rc);
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %llu", &v) == 1)
			sum += v;
	fclose(f);
	*pcp = (uint64_t)sum * (uint64_t)(page > 0 ? page : 4096);
	return 0;
}

static int read_once(struct vm_reading *r)
{
	uint64_t memfree, pcp, held[VM_NHELD];
	int rc = vmemmap_free_memory(&memfree, &pcp);

	if (rc == 0)
		rc = procfs_meminfo(vm_held, VM_NHELD, held);
	if (rc < 0)
		return daxalloc_err(-rc, "cannot read %s/meminfo: %s", procfs_root(), strerror(-rc));
	r->free = (int64_t)memfree;
	r->pcp = (int64_t)pcp;
	r->held = 0;
	for (int i = 0; i < VM_NHELD; i++)
		r->held += (int64_t)held[i];
	return 0;
}

static bool agree(const struct vm_reading *a, const struct vm_reading *b)
{
	return llabs(a->free - b->free) <= VM_STEADY && llabs(a->pcp - b->pcp) <= VM_STEADY &&
	       llabs(a->held - b->held) <= VM_STEADY;
}

static void nap_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * A reading that the next one agrees with (see VM_STEADY), waiting a
 * little longer between tries each time.  Without agreement after
 * VM_READ_TRIES, the last reading, with a note.
 */
static int read_steady(struct vm_state *s, const char *when, int64_t *out)
{
	struct vm_reading prev, cur;
	int rc = read_once(&prev);

	for (int i = 1; rc == 0 && i < VM_READ_TRIES; i++) {
		if (i > 1)
			nap_ms(i < 10 ? 10 * i : 100);
		rc = read_once(&cur);
		if (rc < 0)
			break;
		if (agree(&prev, &cur)) {
			dbg(s->ctx,
			    "%s %s: free %" PRId64 " + per-CPU lists %" PRId64
			    " + accounted %" PRId64 " = %" PRId64 " (%d readings)",
			    s->name, when, cur.free, cur.pcp, cur.held, reading_total(&cur), i + 1);
			*out = reading_total(&cur);
			return 0;
		}
		dbg(s->ctx,
		    "%s %s: readings differ by free %+" PRId64 ", per-CPU lists %+" PRId64
		    ", accounted %+" PRId64,
		    s->name, when, cur.free - prev.free, cur.pcp - prev.pcp, cur.held - prev.held);
		prev = cur;
	}
	if (rc < 0)
		return rc;
	info(s->ctx, "%s %s: memory did not hold still over %d readings; taking the last", s->name,
	     when, VM_READ_TRIES);
	*out = reading_total(&prev);
	return 0;
}

static int vm_disable(struct vm_state *s)
{
	int rc = check_users(s->ctx, s->name, s->opts->ignore_dma);

	if (rc == 0)
		rc = rc_disable(s->ctx, s->name);
	if (rc == 0)
		s->enabled = false;
	return rc;
}

static int vm_enable(struct vm_state *s)
{
	int rc = rc_enable(s->ctx, s->name);

	/* rc_enable also puts back down the devices the kernel bound with it */
	if (rc == 0)
		s->enabled = true;
	return rc;
}

/* Written while disabled, read back: the kernel's word, not libdaxctl's -ENXIO. */
static int vm_set_align(struct vm_state *s, uint64_t align)
{
	char rel[128], a[32];
	uint64_t now = 0;
	int rc;

	snprintf(rel, sizeof(rel), "bus/dax/devices/%s/align", s->name);
	rc = sysfs_write_u64(rel, align);
	if (sysfs_read_u64(rel, &now) < 0)
		now = 0;
	if (rc < 0 || now != align)
		return daxalloc_err(rc < 0 ? -rc : EIO,
				    "%s: the kernel refused align %s: %s (align reads %llu)",
				    s->name, size_str(align, a, sizeof(a)),
				    rc < 0 ? strerror(-rc) : "not taken", (unsigned long long)now);
	s->align = align;
	return 0;
}

/* Why the device cannot be measured at @align, or "" when it can. */
static void can_measure(const struct vm_state *s, enum daxalloc_region_kind kind, uint64_t size,
			uint64_t align, char *why, size_t len)
{
	struct dax_range r[LAYOUT_MAX_RANGES];
	char a[32], c[32];
	int n;

	why[0] = '\0';
	if (align == s->rep->align)
		return;
	if (kind != DAXALLOC_REGION_DYNAMIC) {
		snprintf(why, len,
			 "a %s device keeps its alignment (%s); changing it would re-create the namespace and destroy its data",
			 daxalloc_region_kind_name(kind), size_str(s->rep->align, c, sizeof(c)));
		return;
	}
	size_str(align, a, sizeof(a));
	if (layout_check_size(s->name, size, align) < 0) {
		snprintf(why, len, "%s", daxalloc_errmsg());
		daxalloc_err_clear();
		return;
	}
	n = layout_dev_ranges(s->name, r, LAYOUT_MAX_RANGES);
	if (n < 0) {
		snprintf(why, len, "cannot read where its memory lies: %s", strerror(-n));
		return;
	}
	/* The kernel may take the alignment, but would map the wrong memory. */
	if (layout_check_ranges(s->name, r, n, align) < 0)
		snprintf(why, len, "%s", daxalloc_errmsg());
	daxalloc_err_clear();
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void sample_stats(struct vmemmap_sample *sm, uint64_t size)
{
	struct daxalloc_vmemmap_model m = { DAXALLOC_VMEMMAP_MODEL_INIT };
	int64_t sorted[VMEMMAP_MAX_CYCLES];
	int n = sm->cycles;
	uint64_t d, spread;

	memcpy(sorted, sm->bytes, (size_t)n * sizeof(sorted[0]));
	qsort(sorted, (size_t)n, sizeof(sorted[0]), cmp_i64);
	sm->min = sorted[0];
	sm->max = sorted[n - 1];
	sm->median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
	sm->match = -1;
	if (daxalloc_vmemmap_model(size, sm->align, &m) < 0)
		return;
	sm->match = daxalloc_vmemmap_match(&m, sm->median);
	if (sm->match < 0) {
		sm->match = -1;
		return;
	}
	d = distance(sm->median, m.total[sm->match]);
	spread = (uint64_t)(sm->max - sm->min);
	for (int r = 0; r < DAXALLOC_VMEMMAP_ROWS; r++)
		if (m.total[r] != m.total[sm->match] && distance(sm->median, m.total[r]) <= d + spread)
			sm->ambiguous = true;
}

/* With the device enabled at @align: map 1 GiB, pin it a few times through the consumer. */
static void time_pins(struct vm_state *s, uint64_t align)
{
	struct vmemmap_pin *p = &s->rep->pin;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_map *map = NULL;
	struct vmemmap_consumer *c;
	uint64_t best = UINT64_MAX, ns;
	char why[240], a[32];
	int rc;

	size_str(align, a, sizeof(a));
	rc = daxalloc_dev_open(s->ctx, s->name, &dev);
	if (rc == 0)
		rc = daxalloc_map_new(dev, 0, VM_PIN_LENGTH, NULL, DAXALLOC_MAP_POPULATE, &map);
	if (rc < 0) {
		snprintf(s->pin_why, sizeof(s->pin_why), "at %s: %s", a, daxalloc_errmsg());
		daxalloc_dev_close(&dev);
		return;
	}
	rc = vmemmap_consumer_open(s->opts->pin_with, true, &c, why, sizeof(why));
	if (rc < 0) {
		snprintf(s->pin_why, sizeof(s->pin_why), "no consumer to pin with: %s", why);
	} else {
		for (int i = 0; i < VM_PIN_TRIES && rc == 0; i++) {
			rc = vmemmap_consumer_pin_ns(c, daxalloc_map_get_address(map),
						     VM_PIN_LENGTH, &ns);
			if (rc == 0 && ns < best)
				best = ns;
		}
		if (rc < 0)
			snprintf(s->pin_why, sizeof(s->pin_why), "at %s: %s", a, daxalloc_errmsg());
		snprintf(p->consumer, sizeof(p->consumer), "%s", vmemmap_consumer_name(c));
		snprintf(s->pin_spec, sizeof(s->pin_spec), "%s", vmemmap_consumer_spec(c));
		vmemmap_consumer_close(&c);
	}
	daxalloc_map_delete(&map);
	daxalloc_dev_close(&dev);
	daxalloc_err_clear();
	if (rc < 0 || best == UINT64_MAX)
		return;
	p->length = VM_PIN_LENGTH;
	if (align == DAXALLOC_SIZE_4K)
		p->ns_4k = best;
	else if (align == DAXALLOC_SIZE_2M)
		p->ns_2m = best;
	else
		p->ns_1g = best;
}

/* Best time for @spec to pin 1 GiB of @tag (hugetlb stand-in memory); 0: none. */
static uint64_t time_standin(struct daxalloc_ctx *ctx, const char *tag, const char *spec,
			     char *consumer, size_t clen, char *why, size_t wlen)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_map *map = NULL;
	struct vmemmap_consumer *c;
	uint64_t best = UINT64_MAX, ns;
	char cwhy[240];
	int rc;

	rc = daxalloc_dev_open(ctx, tag, &dev);
	if (rc == 0)
		rc = daxalloc_map_new(dev, 0, VM_PIN_LENGTH, NULL, DAXALLOC_MAP_POPULATE, &map);
	if (rc == 0) {
		rc = vmemmap_consumer_open(spec, false, &c, cwhy, sizeof(cwhy));
		if (rc < 0)
			daxalloc_err(-rc, "no consumer to pin with: %s", cwhy);
	}
	if (rc == 0) {
		for (int t = 0; t < VM_PIN_TRIES && rc == 0; t++) {
			rc = vmemmap_consumer_pin_ns(c, daxalloc_map_get_address(map),
						     VM_PIN_LENGTH, &ns);
			if (rc == 0 && ns < best)
				best = ns;
		}
		if (consumer)
			snprintf(consumer, clen, "%s", vmemmap_consumer_name(c));
		vmemmap_consumer_close(&c);
	}
	if (rc < 0 && why && !why[0])
		snprintf(why, wlen, "%s: %s", tag, daxalloc_errmsg());
	daxalloc_map_delete(&map);
	daxalloc_dev_close(&dev);
	daxalloc_err_clear();
	return rc < 0 || best == UINT64_MAX ? 0 : best;
}

/* Took and gave back (see the top of the file) agree. */
static bool cycle_agrees(int64_t took, int64_t gave)
{
	int64_t slack = llabs(took + gave) / 64;

	return llabs(took - gave) <= (slack > VM_CYCLE_SLACK ? slack : VM_CYCLE_SLACK);
}

static int measure_align(struct vm_state *s, struct vmemmap_sample *sm, int cycles, bool pin)
{
	int64_t off, on, off2, took, gave;
	int rc = 0, redo = cycles;
	char a[32];

	size_str(sm->align, a, sizeof(a));
	if (s->enabled)
		rc = vm_disable(s);
	if (rc == 0 && s->align != sm->align)
		rc = vm_set_align(s, sm->align);
	if (rc == 0)
		rc = read_steady(s, "disabled", &off);
	for (int i = 0; rc == 0 && i < cycles;) {
		rc = vm_enable(s);
		if (rc == 0)
			rc = read_steady(s, "enabled", &on);
		if (rc == 0)
			rc = vm_disable(s);
		if (rc == 0)
			rc = read_steady(s, "disabled", &off2);
		if (rc < 0)
			break;
		took = off - on;
		gave = off2 - on;
		off = off2;
		if (!cycle_agrees(took, gave) && redo > 0) {
			redo--;
			info(s->ctx,
			     "%s at %s: enabling took %" PRId64
			     " bytes, disabling gave back %" PRId64 "; cycle %d again",
			     s->name, a, took, gave, i + 1);
			continue;
		}
		if (!cycle_agrees(took, gave))
			info(s->ctx,
			     "%s at %s: enabling took %" PRId64 " bytes, disabling gave back %" PRId64
			     "; cycle %d kept: no reruns left",
			     s->name, a, took, gave, i + 1);
		sm->bytes[i] = (took + gave) / 2;
		sm->cycles = ++i;
	}
	if (rc < 0)
		return rc;
	sm->measured = true;
	if (pin) {
		rc = vm_enable(s);
		if (rc == 0) {
			time_pins(s, sm->align);
			rc = vm_disable(s);
		}
	}
	return rc;
}

/* Back to @align and @enabled; on failure the message says what state it is in. */
static int restore(struct vm_state *s, uint64_t align, bool enabled, int first_rc)
{
	char first[512] = "", a[32], now[32];
	int rc = 0;

	if (first_rc < 0)
		snprintf(first, sizeof(first), "%s; ", daxalloc_errmsg());
	if (s->align != align && s->enabled)
		rc = vm_disable(s);
	if (rc == 0 && s->align != align)
		rc = vm_set_align(s, align);
	if (rc == 0 && enabled && !s->enabled)
		rc = vm_enable(s);
	if (rc == 0 && !enabled && s->enabled)
		rc = vm_disable(s);
	size_str(align, a, sizeof(a));
	size_str(s->align, now, sizeof(now));
	if (rc < 0)
		return daxalloc_err(-rc,
				    "%scould not put %s back as it was (align %s, %s): %s; it is %s at align %s",
				    first, s->name, a, enabled ? "enabled" : "disabled",
				    daxalloc_errmsg(), s->enabled ? "enabled" : "disabled", now);
	if (first_rc < 0)
		return daxalloc_err(-first_rc, "%s%s is back as it was (align %s, %s)", first,
				    s->name, a, enabled ? "enabled" : "disabled");
	return 0;
}

/* The stand-in: no memmap of its own; the pin path through hugetlb memory. */
static int measure_standin(struct daxalloc_ctx *ctx, const char *name, const struct vmemmap_opts *o,
			   struct vmemmap_report *rep)
{
	struct vmemmap_pin *p = &rep->pin;
	struct daxalloc_dev *dev = NULL;
	char why[240] = "";
	int rc;

	rc = daxalloc_dev_open(ctx, name, &dev);
	if (rc < 0)
		return rc;
	snprintf(rep->name, sizeof(rep->name), "%s", daxalloc_dev_get_name(dev));
	rep->size = daxalloc_dev_get_size(dev);
	rep->align = daxalloc_dev_get_align(dev);
	rep->memmap_in_ram = true;
	daxalloc_dev_close(&dev);
	for (int i = 0; i < 3; i++)
		snprintf(rep->samples[i].why, sizeof(rep->samples[i].why),
			 "the hugetlb stand-in is RAM whose struct pages exist from boot: enabling costs nothing to measure");
	for (int i = 1; o->pin && i < 3; i++) {
		const char *tag = i == 1 ? "hugetlb:2M:1G" : "hugetlb:1G:1G";
		uint64_t best = time_standin(ctx, tag, o->pin_with, p->consumer,
					     sizeof(p->consumer), why, sizeof(why));

		if (best) {
			p->length = VM_PIN_LENGTH;
			*(i == 1 ? &p->ns_2m : &p->ns_1g) = best;
		}
	}
	p->ns_hugetlb_2m = p->ns_2m;
	daxalloc_err_clear();
	pin_judge(p, rep->release, true, o->pin ? why : "pinning was not asked for");
	return 0;
}

int vmemmap_measure(struct daxalloc_ctx *ctx, const char *arg, const struct vmemmap_opts *opts,
		    struct vmemmap_report *rep)
{
	struct vmemmap_opts o = { 0 };
	struct vm_state s = { 0 };
	enum daxalloc_region_kind kind;
	struct utsname u;
	struct daxalloc_dev *d;
	char name[32], drv[64] = "", a[32];
	int order[3], n = 0, cur = -1, cycles, rc;
	uint64_t size;

	if (!ctx || !arg || !rep)
		return daxalloc_err(EINVAL, "vmemmap_measure: NULL %s",
				    !ctx ? "context" :
				    !arg ? "device name" :
					   "report");
	memset(rep, 0, sizeof(*rep));
	if (opts)
		o = *opts;
	cycles = o.cycles ? o.cycles : VM_DEFAULT_CYCLES;
	if (cycles < 1 || cycles > VMEMMAP_MAX_CYCLES)
		return daxalloc_err(EINVAL, "vmemmap: %d cycles: between 1 and %d", cycles,
				    VMEMMAP_MAX_CYCLES);
	if (o.align && !daxalloc_align_is_valid(o.align))
		return daxalloc_err(EINVAL, "vmemmap: align %s: device-dax offers 4K, 2M or 1G",
				    size_str(o.align, a, sizeof(a)));
	snprintf(rep->release, sizeof(rep->release), "%s", uname(&u) == 0 ? u.release : "unknown");
	for (int i = 0; i < 3; i++) {
		rep->samples[i].align = vm_aligns[i];
		rep->samples[i].match = -1;
	}
	if (strncmp(arg, "hugetlb:", 8) == 0)
		return measure_standin(ctx, arg, &o, rep);

	rc = rc_lookup(ctx, arg, 0, name, sizeof(name), &d);
	if (rc < 0)
		return rc;
	snprintf(rep->name, sizeof(rep->name), "%s", name);
	rep->size = size = d->size;
	rep->align = d->align;
	rep->enabled = d->enabled;
	rep->memmap_in_ram = d->memmap_in_ram;
	kind = d->region_kind;
	s = (struct vm_state){
		.ctx = ctx, .name = name, .opts = &o, .rep = rep, .align = d->align, .enabled = d->enabled
	};

	rc = layout_dev_driver(name, drv, sizeof(drv));
	if (rc < 0)
		return daxalloc_err(-rc, "%s: cannot read its driver from sysfs: %s", name,
				    strerror(-rc));
	if (drv[0] && strcmp(drv, "device_dax") != 0)
		return daxalloc_err(EBUSY,
				    "%s: is bound to %s (system-ram mode?), not device_dax: its memory is in use as RAM",
				    name, drv);
	rc = check_users(ctx, name, o.ignore_dma);
	if (rc < 0)
		return rc;

	/* What can be measured; the device's own alignment last, so it ends there. */
	for (int i = 0; i < 3; i++) {
		struct vmemmap_sample *sm = &rep->samples[i];

		if (o.align && o.align != vm_aligns[i]) {
			snprintf(sm->why, sizeof(sm->why), "not asked for");
			continue;
		}
		can_measure(&s, kind, size, vm_aligns[i], sm->why, sizeof(sm->why));
		if (sm->why[0])
			continue;
		if (vm_aligns[i] == rep->align)
			cur = i;
		else
			order[n++] = i;
	}
	if (cur >= 0)
		order[n++] = cur;
	if (n == 0) {
		for (int i = 0; i < 3; i++)
			if (rep->samples[i].why[0] &&
			    strcmp(rep->samples[i].why, "not asked for") != 0)
				return daxalloc_err(EINVAL, "%s: cannot be measured at align %s: %s",
						    name, size_str(vm_aligns[i], a, sizeof(a)),
						    rep->samples[i].why);
		return daxalloc_err(EINVAL, "%s: no alignment to measure", name);
	}

	rc = 0;
	for (int k = 0; k < n && rc == 0; k++) {
		struct vmemmap_sample *sm = &rep->samples[order[k]];
		bool pin = o.pin && size >= VM_PIN_LENGTH;

		rc = measure_align(&s, sm, cycles, pin);
	}
	rc = restore(&s, rep->align, rep->enabled, rc);
	if (rc < 0)
		return rc;
	for (int i = 0; i < 3; i++)
		if (rep->samples[i].measured)
			sample_stats(&rep->samples[i], size);
	if (!s.pin_why[0] && o.pin && size < VM_PIN_LENGTH)
		snprintf(s.pin_why, sizeof(s.pin_why), "the device is smaller than the %s pinned",
			 size_str(VM_PIN_LENGTH, a, sizeof(a)));
	if (!s.pin_why[0] && o.pin && (!rep->pin.ns_4k || !rep->pin.ns_2m))
		snprintf(s.pin_why, sizeof(s.pin_why), "the device was not measured at %s",
			 rep->pin.ns_4k ? "2M" :
			 rep->pin.ns_2m ? "4K" :
					  "4K or 2M");
	/* The reference: hugetlb 2M pages, pinned by the same consumer. */
	if (o.pin && rep->pin.ns_4k && rep->pin.ns_2m)
		rep->pin.ns_hugetlb_2m = time_standin(ctx, "hugetlb:2M:1G", s.pin_spec, NULL, 0,
						      s.pin_why, sizeof(s.pin_why));
	pin_judge(&rep->pin, rep->release, false, o.pin ? s.pin_why : "pinning was not asked for");
	return 0;
}
