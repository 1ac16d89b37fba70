/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs the built daxalloc-ctl ($DAXALLOC_CTL) as a user would, under
 * $DAXALLOC_CTL_WRAPPER (e.g. "valgrind ... --error-exitcode=99") if set,
 * and captures its exit status, stdout and stderr.
 */
#ifndef RUN_CTL_H
#define RUN_CTL_H

#include <stdbool.h>

struct ctl_run {
	int status; /* exit status, or 128 + signal */
	char out[262144];
	char err[8192];
};

#define CTL_RUN_AS_NOBODY (1u << 0) /* the child drops to uid/gid 65534 */

/* @args: NULL-terminated arguments after the program name. */
void ctl_run(struct ctl_run *r, const char *const *args, unsigned int flags);
/* The same with the arguments as a NULL-terminated list. */
void ctl_runl(struct ctl_run *r, ...);
/* The same with the expansion of @fmt split at spaces. */
void ctl_runf(struct ctl_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* How many lines @s holds (a failure must be exactly one on stderr). */
int ctl_lines(const char *s);

/* A command that must be refused: exit @status, one line holding @want. */
struct ctl_refusal {
	const char *args[10];
	int status;
	const char *want[3];
	bool nobody; /* run as uid 65534 */
};

/*
 * Runs @c, its arguments and words passed through @name (which may name
 * places: "@DEV"), and expects its exit status and one line on stderr,
 * "daxalloc-ctl: ...", holding each word.  False, and the test failed
 * naming the command, if not.
 */
bool ctl_expect_refusal(const struct ctl_refusal *c, const char *(*name)(const char *));

#endif
