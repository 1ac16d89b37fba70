/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The crash test, shared by the stand-in and the devdax suites: a child
 * allocates, fills and frees named regions in a loop and acknowledges each
 * finished step on a pipe; the parent SIGKILLs it at a random moment, then
 * checks that the pool opens, checks clean, and holds every acknowledged
 * region with its contents.  Iterations: $DAXALLOC_CRASH_ITERATIONS.
 */
#ifndef CRASH_LOOP_H
#define CRASH_LOOP_H

#include "daxalloc.h"

/* Runs the loop on an open device already formatted as a pool. */
void crash_loop_run(struct daxalloc_dev *dev, int default_iterations);
/* The same, killing within @max_delay_us (slow devices need longer). */
void crash_loop_run_delay(struct daxalloc_dev *dev, int default_iterations, int max_delay_us);

#endif
