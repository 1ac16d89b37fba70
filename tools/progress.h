/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Progress of a long operation on stderr, redrawn in place a few times a
 * second. Only on a terminal, and only once the operation has run for
 * half a second: scripts, logs and quick runs see nothing of it.
 * $DAXALLOC_PROGRESS=0 turns it off, =1 on (even off a terminal).
 */
#ifndef DAXALLOC_CTL_PROGRESS_H
#define DAXALLOC_CTL_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct ctl_progress {
	bool enabled, shown;
	const char *what;
	uint64_t total;
	double start, last;
};

/* "WHAT: DONE / TOTAL (NN%)", sizes in bytes. */
void ctl_progress_start(struct ctl_progress *p, const char *what, uint64_t total);
void ctl_progress_update(struct ctl_progress *p, uint64_t done);
/* Clears the line if anything was shown. */
void ctl_progress_end(struct ctl_progress *p);

/*
 * For a step that cannot report how far it is (one system call): says
 * "WHAT SIZE ..." at once when @total is at least @min_total; clear it with
 * ctl_progress_end().
 */
void ctl_progress_note(struct ctl_progress *p, const char *what, uint64_t total, uint64_t min_total);

#endif
