/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Optional libraries found at run time (dynload.c): the library is built
 * with their headers but not linked against them, so that programs and
 * packages that never use a consumer neither load nor depend on its
 * library.  verbs.c (libibverbs) and uring.c (liburing) fill their function
 * tables through it.
 */
#ifndef DAXALLOC_DYNLOAD_H
#define DAXALLOC_DYNLOAD_H

#include <stdbool.h>
#include <stddef.h>

/* One function: where its pointer goes, and its name in the library. */
struct dyn_fn {
	void **slot;
	const char *name;
};

struct dyn_lib {
	const char *soname;   /* "liburing.so.2" */
	const char *package;  /* "liburing": named when it is missing */
	const char *consumer; /* "io_uring": the message's prefix */
	const struct dyn_fn *fns;
	size_t n;
	/* dynload.c's own */
	int state; /* 0 not tried, 1 loaded, -1 missing */
	char why[200];
};

/* A table entry: @name into field @field of the function table @fns. */
/* clang-format off */
#define DYN_FN(fns, field, name) { (void **)&(fns).field, name }
/* A library of the table @table (an array of struct dyn_fn). */
#define DYN_LIB(so, pkg, who, table)                                                  \
	{ .soname = (so), .package = (pkg), .consumer = (who), .fns = (table),           \
	  .n = sizeof(table) / sizeof((table)[0]) }
/* clang-format on */

/*
 * Load @lib and fill its table on first use (once per process, whatever the
 * threads); true when every function was found, else false with the thread's
 * message set as for EOPNOTSUPP: "CONSUMER: PACKAGE is not installed (...)",
 * or that the library lacks a function.
 */
bool dyn_load(struct dyn_lib *lib);

#endif
