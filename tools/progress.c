// SPDX-License-Identifier: GPL-2.0-or-later
/* Terminal progress for long operations; see progress.h. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "progress.h"

#define PROGRESS_DELAY 0.5  /* seconds before anything is drawn */
#define PROGRESS_PERIOD 0.1 /* between redraws: the terminal must not slow the work */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int forced(void)
{
	const char *env = getenv("DAXALLOC_PROGRESS");

	if (!env || !*env)
		return -1;
	return env[0] == '1';
}

static bool enabled(void)
{
	int f = forced();

	return f >= 0 ? f : isatty(STDERR_FILENO);
}

void ctl_progress_start(struct ctl_progress *p, const char *what, uint64_t total)
{
	p->enabled = enabled();
	p->shown = false;
	p->what = what;
	p->total = total ? total : 1;
	p->start = p->last = now();
}

void ctl_progress_update(struct ctl_progress *p, uint64_t done)
{
	char d[32], t[32];
	double tn;

	if (!p->enabled)
		return;
	tn = now();
	if ((forced() != 1 && tn - p->start < PROGRESS_DELAY) ||
	    (p->shown && tn - p->last < PROGRESS_PERIOD))
		return;
	p->last = tn;
	p->shown = true;
	fprintf(stderr, "\r%s: %s / %s (%d%%)\033[K", p->what, ctl_size(done, d, sizeof(d)),
		ctl_size(p->total, t, sizeof(t)), (int)(done * 100 / p->total));
	fflush(stderr);
}

void ctl_progress_end(struct ctl_progress *p)
{
	if (p->shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	p->shown = false;
}

void ctl_progress_note(struct ctl_progress *p, const char *what, uint64_t total, uint64_t min_total)
{
	char t[32];

	ctl_progress_start(p, what, total);
	if (!p->enabled || (total < min_total && forced() != 1))
		return;
	p->shown = true;
	fprintf(stderr, "\r%s %s ...\033[K", what, ctl_size(total, t, sizeof(t)));
	fflush(stderr);
}
