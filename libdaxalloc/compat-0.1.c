// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The 0.1 entry points whose types or parameters changed in 0.2, exported
 * as NAME@LIBDAXALLOC_0.1 (as glibc keeps its old entry points): a program
 * built against 0.1.0 keeps running with the layouts and arguments it was
 * compiled with, and programs built now bind NAME@@LIBDAXALLOC_0.2
 * (versions.c).  Versions rather than new names restored to the 0.1
 * layout: the header keeps one name per call, and a struct that grows
 * again later takes the same way instead of a third name.
 *
 * Each converts its 0.1 arguments to the 0.2 call and the result back.
 * The 0.1 types keep their 0.1 names in this file (compat-0.1.h), so that
 * abidiff compares these symbols with 0.1.0's as the same types; the 0.2
 * types of daxalloc.h are renamed out of their way.
 */
#define daxalloc_vmemmap_sample daxalloc_vmemmap_sample_0_2
#define daxalloc_vmemmap_pin daxalloc_vmemmap_pin_0_2
#define daxalloc_vmemmap_report daxalloc_vmemmap_report_0_2
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"
#undef daxalloc_vmemmap_sample
#undef daxalloc_vmemmap_pin
#undef daxalloc_vmemmap_report
#include "compat-0.1.h"

/*
 * 0.1 judged from the times at 2M and 1G.  That cannot tell the two paths
 * apart (GUP writes one page pointer per 4K page at both, and that
 * dominates: 7.2 pins per compound page at 2M and 1G alike), so 0.2 judges
 * from 4K, 2M and hugetlb 2M times instead.  A 0.1 caller has only the two:
 * UNKNOWN, which 0.1 documented as "the measurement does not decide".
 */
DAXALLOC_SYMVER("daxalloc_vmemmap_pin_verdict@LIBDAXALLOC_0.1")
int daxalloc_vmemmap_pin_verdict_0_1(uint64_t ns_2m, uint64_t ns_1g)
{
	(void)ns_2m;
	(void)ns_1g;
	return DAXALLOC_VMEMMAP_PIN_UNKNOWN;
}

#define COPY(dst, src, member) memcpy((dst)->member, (src)->member, sizeof((dst)->member))

static void sample_to_0_1(struct daxalloc_vmemmap_sample *o,
			  const struct daxalloc_vmemmap_sample_0_2 *n)
{
	o->align = n->align;
	o->measured = n->measured;
	snprintf(o->why, sizeof(o->why), "%s", n->why);
	o->cycles = n->cycles;
	COPY(o, n, bytes);
	o->median = n->median;
	o->min = n->min;
	o->max = n->max;
	o->match = n->match;
	o->ambiguous = n->ambiguous;
}

/* The 0.1 report has no 4K or hugetlb times: how[] still tells them. */
DAXALLOC_SYMVER("daxalloc_vmemmap_measure@LIBDAXALLOC_0.1")
int daxalloc_vmemmap_measure_0_1(struct daxalloc_ctx *ctx, const char *name,
				 const struct daxalloc_vmemmap_opts *opts,
				 struct daxalloc_vmemmap_report *rep)
{
	struct daxalloc_vmemmap_report_0_2 *n = NULL;
	int rc;

	if (rep) {
		memset(rep, 0, sizeof(*rep));
		n = calloc(1, sizeof(*n));
		if (!n)
			return daxalloc_err(ENOMEM, "daxalloc_vmemmap_measure: no memory for a report");
	}
	rc = daxalloc_vmemmap_measure(ctx, name, opts, n);
	if (!n)
		return rc;
	/* What a failing call filled in too, as 0.1 did. */
	COPY(rep, n, name);
	rep->size = n->size;
	rep->memmap_in_ram = n->memmap_in_ram;
	COPY(rep, n, release);
	rep->align = n->align;
	rep->enabled = n->enabled;
	for (int i = 0; i < 3; i++)
		sample_to_0_1(&rep->samples[i], &n->samples[i]);
	rep->pin.expected = n->pin.expected;
	rep->pin.verdict = n->pin.verdict;
	rep->pin.conclusive = n->pin.conclusive;
	COPY(&rep->pin, &n->pin, consumer);
	rep->pin.length = n->pin.length;
	rep->pin.ns_2m = n->pin.ns_2m;
	rep->pin.ns_1g = n->pin.ns_1g;
	snprintf(rep->pin.how, sizeof(rep->pin.how), "%s", n->pin.how);
	free(n);
	return rc;
}
