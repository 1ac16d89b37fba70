// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the kernel spends on a device's struct pages, modelled, and which
 * pin path it takes for the device's pages, judged from timings.  Pure
 * functions: measuring (which disables the device to see what enabling
 * it costs) is daxalloc-ctl's, tools/vmemmap-measure.c.
 *
 * The model (x86-64, 4K pages, 64-byte struct page): a device of S bytes
 * has S/4K struct pages, S/64 bytes of memmap.  Without compound pages
 * (align 4K, kernels before 5.19, or the memmap on the device) all of it
 * is real; the memmap of whole 128M sections is mapped with 2M pages, so
 * it needs no page tables of its own.  With compound pages of align A and
 * the memmap in RAM, each compound page keeps 2 vmemmap pages of its own
 * (head and first tails, 5.19 on) or 1 (the 2026 series) and maps the
 * rest of its tails to a shared page.  That memmap is mapped with 4K
 * pages: one page-table page per 2M of memmap, which at 1G costs more
 * than the struct pages themselves (a 4 GiB device at 1G: 32K of struct
 * pages, 128K of page tables; checked on 6.1).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "private.h"

#define VM_PAGE UINT64_C(4096)
#define VM_STRUCT_PAGE UINT64_C(64)
/* Memmap one page-table page maps (512 4K pages). */
#define VM_PTE_SPAN (UINT64_C(2) << 20)
/* The x86-64 memory section: its memmap is mapped with one 2M page. */
#define VM_SECTION (UINT64_C(128) << 20)
/* Beyond this the byte counts could overflow; no machine is near it. */
#define VM_SIZE_MAX (UINT64_C(1) << 60)
/* A match is within 25% or this much of the row. */
#define VM_MATCH_SLACK (UINT64_C(4) << 20)

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* ---- the model ---------------------------------------------------------------- */

static int model(uint64_t size, uint64_t align, struct daxalloc_vmemmap_model *m)
{
	uint64_t units, memmap, rest, flat_pt;
	char a[32];

	if (!daxalloc_align_is_valid(align))
		return daxalloc_err(EINVAL, "vmemmap model: align %s: device-dax offers 4K, 2M or 1G",
				    size_str(align, a, sizeof(a)));
	if (size > VM_SIZE_MAX)
		return daxalloc_err(ERANGE, "vmemmap model: size %llu is beyond 1 EiB",
				    (unsigned long long)size);
	units = div_up(size, align);
	m->align = align;
	m->size = units * align;
	m->base_pages = m->size / VM_PAGE;
	memmap = m->base_pages * VM_STRUCT_PAGE;
	/* A part smaller than a section is mapped with 4K pages. */
	rest = m->size % VM_SECTION;
	flat_pt = rest ? div_up(rest / VM_PAGE * VM_STRUCT_PAGE, VM_PTE_SPAN) * VM_PAGE : 0;
	for (int r = 0; r < DAXALLOC_VMEMMAP_ROWS; r++) {
		m->struct_pages[r] = memmap;
		m->page_tables[r] = flat_pt;
	}
	if (align > VM_PAGE) {
		/* memmap of one compound page: 8 pages at 2M, 4096 at 1G */
		uint64_t per_unit = align / VM_PAGE * VM_STRUCT_PAGE;
		uint64_t pt = div_up(memmap, VM_PTE_SPAN) * VM_PAGE;

		m->compound_pages = units;
		m->struct_pages[DAXALLOC_VMEMMAP_DEDUP_2PAGE] =
			units * min_u64(2 * VM_PAGE, per_unit);
		m->struct_pages[DAXALLOC_VMEMMAP_DEDUP_1PAGE] = units * min_u64(VM_PAGE, per_unit);
		m->page_tables[DAXALLOC_VMEMMAP_DEDUP_2PAGE] = pt;
		m->page_tables[DAXALLOC_VMEMMAP_DEDUP_1PAGE] = pt;
	}
	for (int r = 0; r < DAXALLOC_VMEMMAP_ROWS; r++)
		m->total[r] = m->struct_pages[r] + m->page_tables[r];
	return 0;
}

/* Exported through versions.c: 0.1's model had no size (compat-0.1.c).  Zeros on failure. */
int daxalloc_vmemmap_model(uint64_t size, uint64_t align, struct daxalloc_vmemmap_model *out)
{
	struct daxalloc_vmemmap_model all = { 0 };
	int n, rc;

	if (!out)
		return daxalloc_err(EINVAL, "daxalloc_vmemmap_model: NULL model");
	n = SIZED(out, vmemmap_model);
	if (n < 0)
		return n;
	rc = model(size, align, &all);
	sized_copy(out, &all, n);
	return rc;
}

/* @names[@i], or "unknown" where the table has none. */
static const char *name_in(const char *const *names, int n, int i)
{
	return i >= 0 && i < n && names[i] ? names[i] : "unknown";
}

DAXALLOC_EXPORT const char *daxalloc_vmemmap_row_name(int row)
{
	static const char *const names[DAXALLOC_VMEMMAP_ROWS] = {
		[DAXALLOC_VMEMMAP_NO_DEDUP] = "no_dedup",
		[DAXALLOC_VMEMMAP_DEDUP_2PAGE] = "dedup_2page",
		[DAXALLOC_VMEMMAP_DEDUP_1PAGE] = "dedup_1page",
	};

	return name_in(names, DAXALLOC_VMEMMAP_ROWS, row);
}

/* "6.1.0-56-amd64" -> 6, 1; -EINVAL when it does not start with a version. */
static int vm_parse_release(const char *release, unsigned int *major, unsigned int *minor)
{
	if (!release || sscanf(release, "%u.%u", major, minor) != 2)
		return -EINVAL;
	return 0;
}

/* MAJOR.MINOR of kernel @release, NULL: the running one. */
static int kernel_version(const char *release, unsigned int *major, unsigned int *minor)
{
	struct utsname u;

	if (!release && uname(&u) == 0)
		release = u.release;
	if (vm_parse_release(release, major, minor) < 0)
		return daxalloc_err(EINVAL, "kernel release '%s': expected MAJOR.MINOR...",
				    release ? release : "(unknown)");
	return 0;
}

DAXALLOC_EXPORT int daxalloc_vmemmap_kernel_row(const char *release, bool memmap_in_ram)
{
	unsigned int major, minor;
	int rc = kernel_version(release, &major, &minor);

	if (rc < 0)
		return rc;
	/* Compound devmaps with tail-page reuse came with 5.19; never with an altmap. */
	if (major < 5 || (major == 5 && minor < 19) || !memmap_in_ram)
		return DAXALLOC_VMEMMAP_NO_DEDUP;
	return DAXALLOC_VMEMMAP_DEDUP_2PAGE;
}

static uint64_t distance(int64_t a, uint64_t b)
{
	return a < 0 ? (uint64_t)(-a) + b : (uint64_t)a > b ? (uint64_t)a - b : b - (uint64_t)a;
}

/* Exported through versions.c: 0.1's model had no size (compat-0.1.c). */
int daxalloc_vmemmap_match(const struct daxalloc_vmemmap_model *m, int64_t measured)
{
	uint64_t best_d = 0, slack;
	int best = -1, n;

	if (!m)
		return daxalloc_err(EINVAL, "daxalloc_vmemmap_match: NULL model");
	/* every member is read: only the whole struct will do so far */
	n = SIZED(m, vmemmap_model);
	if (n < 0)
		return n;
	for (int r = 0; r < DAXALLOC_VMEMMAP_ROWS; r++) {
		uint64_t d = distance(measured, m->total[r]);

		if (best < 0 || d < best_d) {
			best = r;
			best_d = d;
		}
	}
	slack = m->total[best] / 4;
	if (slack < VM_MATCH_SLACK)
		slack = VM_MATCH_SLACK;
	return best_d <= slack ? best : -ENOENT;
}

/* ---- the pin path --------------------------------------------------------------- */

DAXALLOC_EXPORT const char *daxalloc_vmemmap_pin_path_name(int path)
{
	static const char *const names[] = {
		[DAXALLOC_VMEMMAP_PIN_BASE_PAGE] = "base_page",
		[DAXALLOC_VMEMMAP_PIN_COMPOUND] = "compound_page",
	};

	return name_in(names, (int)(sizeof(names) / sizeof(names[0])), path);
}

DAXALLOC_EXPORT int daxalloc_vmemmap_kernel_pin_path(const char *release, bool hugetlb)
{
	unsigned int major, minor, v;
	int rc = kernel_version(release, &major, &minor);

	if (rc < 0)
		return rc;
	v = major * 1000 + minor;
	/* hugetlb: GUP takes the head page once per huge page. */
	if (hugetlb)
		return v >= 5010 ? DAXALLOC_VMEMMAP_PIN_COMPOUND : DAXALLOC_VMEMMAP_PIN_UNKNOWN;
	/*
	 * device-dax: with pXX_devmap entries GUP takes a reference per 4K
	 * page even inside a compound page; the entries went away around
	 * 6.15-6.17, and with them that path.
	 */
	if (v < 6015)
		return DAXALLOC_VMEMMAP_PIN_BASE_PAGE;
	if (v >= 6017)
		return DAXALLOC_VMEMMAP_PIN_COMPOUND;
	return DAXALLOC_VMEMMAP_PIN_UNKNOWN;
}

/*
 * The same consumer pins the same GiB of device-dax at 4K and at 2M, and
 * of hugetlb at 2M.  Per compound page the 2M pin takes 512 times fewer
 * references than the 4K one and costs about what hugetlb costs (7.2:
 * 2M/4K = 0.03, 2M/hugetlb = 0.8); per base page it takes as many and
 * costs much of the 4K pin and several times hugetlb (6.1 and 6.12: 0.36-0.8
 * and 5-8; VFIO does per-4K work of its own, hence the lower end).  The
 * thresholds: compound at most 0.15 and 2x, base at least 0.25 and 3x.  Comparing 2M with 1G cannot tell: pinning writes one page
 * pointer per 4K page either way, and that dominates.
 */
/* Exported through versions.c: 0.1 took other times (compat-0.1.c). */
int daxalloc_vmemmap_pin_verdict(uint64_t ns_4k, uint64_t ns_2m, uint64_t ns_hugetlb_2m)
{
	uint64_t h = ns_hugetlb_2m;

	if (!ns_4k || !ns_2m || ns_4k > UINT64_MAX / 20 || ns_2m > UINT64_MAX / 20 ||
	    h > UINT64_MAX / 20)
		return DAXALLOC_VMEMMAP_PIN_UNKNOWN;
	if (20 * ns_2m <= 3 * ns_4k && (!h || ns_2m <= 2 * h) && (h || 10 * ns_2m <= ns_4k))
		return DAXALLOC_VMEMMAP_PIN_COMPOUND;
	if (4 * ns_2m >= ns_4k && (!h || ns_2m >= 3 * h) && (h || 10 * ns_2m >= 4 * ns_4k))
		return DAXALLOC_VMEMMAP_PIN_BASE_PAGE;
	return DAXALLOC_VMEMMAP_PIN_UNKNOWN;
}
