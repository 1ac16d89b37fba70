/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public types of 0.1.0 that 0.2 changed, exactly as 0.1.0's header
 * declared them (names, members, layout): only compat-0.1.c includes this,
 * after renaming the 0.2 types of daxalloc.h out of the way, so that the
 * 0.1 entry points are described to abidiff with 0.1's own types.  Never
 * edit a member here: 0.1 programs are compiled against it.
 */
#ifndef DAXALLOC_COMPAT_0_1_H
#define DAXALLOC_COMPAT_0_1_H

#include <stdbool.h>
#include <stdint.h>

struct daxalloc_vmemmap_sample {
	uint64_t align;
	bool measured;
	char why[240];
	int cycles;
	int64_t bytes[16];
	int64_t median, min, max;
	int match;
	bool ambiguous;
};

struct daxalloc_vmemmap_pin {
	int expected;
	int verdict;
	bool conclusive;
	char consumer[64];
	uint64_t length;
	uint64_t ns_2m, ns_1g;
	char how[480];
};

struct daxalloc_vmemmap_report {
	char name[32];
	uint64_t size;
	bool memmap_in_ram;
	char release[65];
	uint64_t align;
	bool enabled;
	struct daxalloc_vmemmap_sample samples[3];
	struct daxalloc_vmemmap_pin pin;
};

#endif /* DAXALLOC_COMPAT_0_1_H */
