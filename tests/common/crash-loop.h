/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The crash test, shared by the stand-in and the devdax suites.  The
 * parent gives the free space a pattern; a child opens the pool, says it
 * is ready, then allocates (some regions with DAXALLOC_ALLOC_ZERO and
 * never written), fills and frees named regions and holds unnamed ones in
 * a loop, acknowledging each finished step on a pipe; the parent SIGKILLs
 * it at a random moment after it is ready, then checks that the pool
 * opens, checks clean, holds every acknowledged region with its contents,
 * none whose free was acknowledged, no unnamed region of the dead child
 * (reclaimed by the open), no zeroed region with any byte of the pattern
 * (acknowledged or not), and that used + free is the capacity with used
 * exactly the regions listed.  Iterations: $DAXALLOC_CRASH_ITERATIONS.
 */
#ifndef CRASH_LOOP_H
#define CRASH_LOOP_H

#include "daxalloc.h"

/* Runs the loop on an open device already formatted as a pool. */
void crash_loop_run(struct daxalloc_dev *dev, int default_iterations);
/* The same, killing within @max_delay_us (slow devices need longer). */
void crash_loop_run_delay(struct daxalloc_dev *dev, int default_iterations, int max_delay_us);

#endif
