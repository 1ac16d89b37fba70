// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A program built against 0.1.0 calls the entry points that changed since
 * as it was compiled: NAME@LIBDAXALLOC_0.1 with 0.1's layouts and
 * arguments (looked up with dlvsym, as its dynamic linker binds them),
 * while programs built now get NAME@@LIBDAXALLOC_0.2.  Runs against the
 * shared library, where the versions are.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* A 0.1 program's view: 0.1.0's types (not daxalloc.h's), its calls through dlvsym. */
#include "compat-0.1.h"

#define SIZE_4K 4096ull
#define PIN_UNKNOWN 0		/* PIN_UNKNOWN */
#define PIN_COMPOUND 2		/* PIN_COMPOUND */

struct daxalloc_ctx;
/* called directly once: the program links the library, as a 0.1 program did */
const char *daxalloc_version(void);
struct v01_opts {		/* struct daxalloc_vmemmap_opts: unchanged since 0.1 */
	int cycles;
	uint64_t align;
	bool pin;
	const char *pin_with;
	bool ignore_dma;
};

static void *sym(const char *name, const char *version)
{
	void *f = dlvsym(RTLD_DEFAULT, name, version);

	cr_assert(f, "%s@%s: not exported (%s)", name, version, dlerror());
	return f;
}

#define GUARD 256

/* A 0.1 report in the middle of guard bytes: the call writes all of it, nothing around it. */
Test(abi_0_1, vmemmap_measure_fills_a_0_1_report_and_nothing_more)
{
	int (*measure)(struct daxalloc_ctx *, const char *, const struct v01_opts *,
		       struct daxalloc_vmemmap_report *) = sym("daxalloc_vmemmap_measure", "LIBDAXALLOC_0.1");
	int (*ctx_new)(struct daxalloc_ctx **) = sym("daxalloc_ctx_new", "LIBDAXALLOC_0.1");
	void (*ctx_delete)(struct daxalloc_ctx **) = sym("daxalloc_ctx_delete", "LIBDAXALLOC_0.1");
	struct v01_opts o = { .cycles = 1 };
	unsigned char buf[GUARD + sizeof(struct daxalloc_vmemmap_report) + GUARD];
	struct daxalloc_vmemmap_report *rep = (void *)(buf + GUARD);
	struct daxalloc_ctx *ctx;
	int rc;

	/* 0.1.0's layout, as abidiff read it from that release */
	cr_assert_eq(sizeof(*rep), 1960);
	cr_assert_eq(offsetof(struct daxalloc_vmemmap_report, pin), 1376);
	cr_assert_eq(sizeof(rep->pin), 584);
	cr_assert_eq(offsetof(struct daxalloc_vmemmap_pin, how), 104);
	cr_assert_eq(ctx_new(&ctx), 0);
	memset(buf, 0xa5, sizeof(buf));
	/* fails after filling in what it knows: the kernel and the alignments */
	rc = measure(ctx, "dax999.999", &o, rep);
	cr_expect_lt(rc, 0, "no dax999.999 here");
	for (size_t i = 0; i < GUARD; i++) {
		cr_assert_eq(buf[i], 0xa5, "byte %zu before the report was written", GUARD - i);
		cr_assert_eq(buf[GUARD + sizeof(*rep) + i], 0xa5,
			     "byte %zu after the 0.1 report was written", i);
	}
	for (size_t i = offsetof(struct daxalloc_vmemmap_report, pin); i < sizeof(*rep); i++)
		cr_assert_neq(buf[GUARD + i], 0xa5, "byte %zu of the report left as it was", i);
	cr_expect_neq(rep->release[0], 0);
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(rep->samples[i].align, SIZE_4K << (9 * i));
		cr_expect_eq(rep->samples[i].match, -1);
	}
	ctx_delete(&ctx);
}

/*
 * 0.1 judged from the times at 2M and 1G, which cannot decide (both pin
 * one page pointer per 4K page): UNKNOWN, never a verdict read from a
 * third argument the caller did not pass.
 */
Test(abi_0_1, vmemmap_pin_verdict_takes_two_times)
{
	int (*verdict)(uint64_t, uint64_t) = sym("daxalloc_vmemmap_pin_verdict", "LIBDAXALLOC_0.1");
	static const uint64_t t[][2] = {
		{ 1000, 1 }, { 4200000, 4100000 }, { 157000000, 129000000 }, { 1, 1000 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_eq(verdict(t[i][0], t[i][1]), PIN_UNKNOWN,
			     "2M %llu ns, 1G %llu ns", (unsigned long long)t[i][0],
			     (unsigned long long)t[i][1]);
}

/* What a program built now binds: the 0.2 entry points. */
Test(abi_0_1, new_programs_bind_0_2)
{
	static const char *const changed[] = { "daxalloc_vmemmap_measure",
					       "daxalloc_vmemmap_pin_verdict" };

	for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
		void *v02 = sym(changed[i], "LIBDAXALLOC_0.2");

		cr_expect_eq(dlsym(RTLD_DEFAULT, changed[i]), v02, "%s", changed[i]);
		cr_expect_neq(sym(changed[i], "LIBDAXALLOC_0.1"), v02, "%s", changed[i]);
	}
	cr_expect_str_eq(daxalloc_version(), ((const char *(*)(void))sym("daxalloc_version",
									  "LIBDAXALLOC_0.1"))());
	/* 7.2's io_uring pins, 4K and 2M: per compound page */
	cr_expect_eq(((int (*)(uint64_t, uint64_t, uint64_t))sym("daxalloc_vmemmap_pin_verdict",
								 "LIBDAXALLOC_0.2"))(167, 4, 0),
		     PIN_COMPOUND);
}
