// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Entry points whose types or parameters changed after a release keep the
 * released ones (compat-0.1.c, NAME@LIBDAXALLOC_0.1) and get new ones, the
 * defaults that programs built now bind: NAME@@LIBDAXALLOC_0.2, here.  The
 * implementations keep the plain names, hidden, so that the tests and the
 * preload library, which link the library's objects without a version
 * script of these nodes, call them as they are (this file and
 * compat-0.1.c are linked into the shared library only).
 */
#include "private.h"

DAXALLOC_SYMVER("daxalloc_vmemmap_measure@@LIBDAXALLOC_0.2")
int daxalloc_vmemmap_measure_0_2(struct daxalloc_ctx *ctx, const char *name,
				 const struct daxalloc_vmemmap_opts *opts,
				 struct daxalloc_vmemmap_report *report)
{
	return daxalloc_vmemmap_measure(ctx, name, opts, report);
}

DAXALLOC_SYMVER("daxalloc_vmemmap_pin_verdict@@LIBDAXALLOC_0.2")
int daxalloc_vmemmap_pin_verdict_0_2(uint64_t ns_4k, uint64_t ns_2m, uint64_t ns_hugetlb_2m)
{
	return daxalloc_vmemmap_pin_verdict(ns_4k, ns_2m, ns_hugetlb_2m);
}
