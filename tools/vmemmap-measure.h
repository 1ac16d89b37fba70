/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vmemmap measurement behind 'daxalloc-ctl vmemmap --measure': what
 * enabling a device costs in RAM at 4K, 2M and 1G, and the pin path the
 * kernel takes for its pages.  It disables and re-aligns the device, so it
 * is no library call: it runs in its own program, daxalloc-vmemmap-measure
 * (vmemmap-helper.c), linked with the library's internals (the safety
 * gate, the guarded disable, the sysfs readers), which daxalloc-ctl runs
 * and reads a struct vmemmap_reply from.  The model it is held against
 * stays in the library (daxalloc_vmemmap_model() and its kin).
 */
#ifndef DAXALLOC_VMEMMAP_MEASURE_H
#define DAXALLOC_VMEMMAP_MEASURE_H

#include <stdbool.h>
#include <stdint.h>

#include "daxalloc.h"

#define VMEMMAP_MAX_CYCLES 16

struct vmemmap_sample {
	uint64_t align;
	bool measured; /* false: @why says why not */
	char why[240];
	int cycles;
	int64_t bytes[VMEMMAP_MAX_CYCLES]; /* RAM one enable took, per cycle */
	int64_t median, min, max;
	int match;      /* enum daxalloc_vmemmap_row, or -1 when no row is near */
	bool ambiguous; /* another row is as near, within the spread */
};

struct vmemmap_pin {
	int expected;      /* enum daxalloc_vmemmap_pin_path, from the kernel version */
	int verdict;       /* from the measurement; UNKNOWN when it does not decide */
	bool conclusive;   /* the measurement decided */
	char consumer[64]; /* "vfio /dev/vfio/3", "rdma rxe0", "io_uring"; "" none */
	uint64_t length;   /* bytes pinned per try */
	/* best time to pin @length on devdax at 4K, 2M and 1G; 0 when not measured */
	uint64_t ns_4k, ns_2m, ns_1g;
	uint64_t ns_hugetlb_2m; /* ... on hugetlb 2M pages with the same consumer */
	char how[480];          /* how it was judged, one sentence */
};

struct vmemmap_opts {
	int cycles;     /* enable/disable cycles per alignment; 0: 5 */
	uint64_t align; /* 0: each of 4K, 2M, 1G the device can take; else only it */
	bool pin;       /* also time pinning at 4K, 2M and 1G */
	/* "vfio:/dev/vfio/N", "rdma" or "rdma:DEV", "io_uring"; NULL: the first that works */
	const char *pin_with;
	bool ignore_dma; /* as DAXALLOC_RECONFIG_IGNORE_DMA */
};

struct vmemmap_report {
	char name[32];
	uint64_t size;
	bool memmap_in_ram;
	char release[65]; /* the running kernel */
	uint64_t align;   /* the device's state before, and after: restored */
	bool enabled;
	struct vmemmap_sample samples[3]; /* 4K, 2M, 1G */
	struct vmemmap_pin pin;
};

/*
 * Measure what enabling device @name costs in RAM: with the device
 * disabled read memory (free, on the per-CPU free lists, and in the uses
 * /proc/meminfo accounts, so that only RAM the kernel holds untracked,
 * such as the memmap, is seen to go), enable it, read again, disable,
 * read again; @cycles times at each alignment (see vmemmap-measure.c).
 * The alignment is written while disabled (dynamic devices; a static
 * device is measured at its own).  An alignment that the device's size or
 * memory placement does not allow is skipped, saying why.  With @pin,
 * pinning 1 GiB is timed through a consumer.  The device ends as it was
 * (alignment, enabled or not).  Refused (-EBUSY, naming pid and command)
 * while any process has it open or mapped, holds a DMA handle (unless
 * @ignore_dma) or has pins of it in the ledger.  For the stand-in
 * ("hugetlb:2M"), only the pin path is measured.  Root only; takes seconds
 * to minutes.  0 or -errno with daxalloc_errmsg() set; @rep is filled as
 * far as it got.
 */
int vmemmap_measure(struct daxalloc_ctx *ctx, const char *name, const struct vmemmap_opts *opts,
		    struct vmemmap_report *rep);

/* MemFree and the per-CPU free lists (see vmemmap-measure.c), in bytes. */
int vmemmap_free_memory(uint64_t *memfree, uint64_t *pcp);

/* ---- the consumers that time pinning (vmemmap-consumer.c) ---- */

struct vmemmap_consumer;

/*
 * Open the consumer named by @spec ("vfio:/dev/vfio/N", "vfio", "rdma",
 * "rdma:DEV", "io_uring"; NULL: the first that works, VFIO first for
 * devdax memory, io_uring first for hugetlb memory and last for devdax
 * memory, whatever the kernel: a kernel that refuses it (before 6.5) says
 * so when pinning).  On failure @why says what was tried.
 */
int vmemmap_consumer_open(const char *spec, bool devdax, struct vmemmap_consumer **c, char *why,
			  size_t len);
/* Pin [@addr, @addr + @len) and unpin it; *@ns gets the time the pin took. */
int vmemmap_consumer_pin_ns(struct vmemmap_consumer *c, void *addr, uint64_t len, uint64_t *ns);
/* "vfio /dev/vfio/3", "rdma rxe0", "io_uring" */
const char *vmemmap_consumer_name(const struct vmemmap_consumer *c);
/* What opens the same again: "vfio:/dev/vfio/3", "rdma:rxe0", "io_uring" */
const char *vmemmap_consumer_spec(const struct vmemmap_consumer *c);
void vmemmap_consumer_close(struct vmemmap_consumer **c);

/* ---- between daxalloc-ctl and daxalloc-vmemmap-measure (vmemmap-helper.c) ---- */

#define VMEMMAP_HELPER "daxalloc-vmemmap-measure"
#define VMEMMAP_REPLY_MAGIC 0x766d6d31u /* "vmm1" */

/* What the program writes to its standard output, once, at the end. */
struct vmemmap_reply {
	uint32_t magic; /* VMEMMAP_REPLY_MAGIC */
	uint32_t size;  /* sizeof(struct vmemmap_reply): both from one build */
	int rc;         /* vmemmap_measure()'s */
	char msg[512];  /* daxalloc_errmsg() when @rc < 0 */
	struct vmemmap_report rep;
};

/*
 * Run the program on @name with @opts (daxalloc-ctl's side): 0 with @rep
 * filled, or -errno with @msg saying why (the measurement's own message,
 * or what became of the program).
 */
int vmemmap_measure_run(const char *name, const struct vmemmap_opts *opts,
			struct vmemmap_report *rep, char *msg, size_t len);

#endif
