/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The concurrency soak, shared by the stand-in and the devdax suites:
 * worker processes allocate, fill, verify, rename, free and pin regions of
 * one pool while the parent SIGKILLs one of them every few dozen
 * milliseconds and starts another.  Workers adopt (verify, then free) what
 * killed workers left.  At the end the survivors free their regions and
 * exit; the pool must check clean, every sealed region must hold its
 * pattern, and all capacity must be free again.
 * Duration: $DAXALLOC_SOAK_SECONDS (default @default_seconds).
 */
#ifndef SOAK_H
#define SOAK_H

#include <stdbool.h>
#include <stdint.h>

#include "daxalloc.h"

struct soak_opts {
	int default_seconds;
	int workers;
	bool pin_uring; /* io_uring pins work on this device */
};

struct soak_result {
	uint64_t ops, allocs, frees, pins, adopted, verified;
	unsigned int kills, spawned;
	int seconds;
};

/* Runs the soak on an open device already formatted as a pool; asserts. */
void soak_run(struct daxalloc_dev *dev, const struct soak_opts *opts, struct soak_result *res);

#endif
