/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared setup for pool tests: a device (stand-in or guest devdax) and a pool. */
#ifndef POOL_HELPERS_H
#define POOL_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daxalloc.h"
#include "handshake.h"

/*
 * The context of a suite whose cases open their own devices:
 * TestSuite(NAME, .init = th_ctx_setup, .fini = th_ctx_teardown).
 */
extern struct daxalloc_ctx *th_ctx;
void th_ctx_setup(void);
void th_ctx_teardown(void);
/*
 * The context (th_ctx), device and fresh pool of a suite whose cases share
 * one pool: th_pool_setup(@name) from the suite's .init, .fini =
 * th_pool_teardown, which closes the pool, the device and the context.
 */
extern struct daxalloc_dev *th_dev;
extern struct daxalloc_pool *th_pool;
void th_pool_setup(const char *name);
void th_pool_teardown(void);
/* Open @name (stand-in spec or devdax name); asserts on failure. */
struct daxalloc_dev *th_dev_open(struct daxalloc_ctx *ctx, const char *name);
/* Format a fresh pool on @dev (forcing); asserts on failure. */
struct daxalloc_pool *th_pool_create(struct daxalloc_dev *dev);
/*
 * Open @name and format a fresh pool on it, its handle closed again: a
 * device for children to open the pool on (they inherit the stand-in's memfd).
 */
struct daxalloc_dev *th_dev_formatted(struct daxalloc_ctx *ctx, const char *name);
/* A region of @size from @pool, named @name (or unnamed); asserts on failure. */
struct daxalloc_region *th_alloc(struct daxalloc_pool *pool, uint64_t size, const char *name);
/* A writable window on the first @len bytes of @dev: the raw metadata. */
void *th_raw_map(struct daxalloc_dev *dev, uint64_t len, struct daxalloc_map **map);
/* A child opens the pool on @dev and dies holding an unnamed region: an orphan. */
void th_make_orphan(struct daxalloc_dev *dev, uint64_t size);
/*
 * A child maps region @name of the pool on @dev and holds it until
 * th_release_region() (which returns th_exit_status()).
 */
pid_t th_hold_region(struct daxalloc_dev *dev, const char *name, struct handshake *h);
int th_release_region(pid_t pid, struct handshake *h);
/* Wait for child @pid: its exit code, 128 + the signal that killed it, or 128. */
int th_exit_status(pid_t pid);
/* Runs @fn(@arg) in a child process and waits for it: th_exit_status(). */
int th_in_child(int (*fn)(const void *arg), const void *arg);
/* Fill / verify a region with a pattern derived from @seed (one word per 4K). */
void th_fill(void *p, uint64_t len, uint64_t seed);
int th_verify(const void *p, uint64_t len, uint64_t seed);
/* Descriptors open without FD_CLOEXEC (at most @max): an exec'd child inherits them. */
int th_inheritable(int *fds, int max);
/*
 * Exec `ls -l /proc/self/fd` and expect every descriptor it inherited, past
 * stdio and its own, to be one of the @nbase in @base.
 */
void th_expect_nothing_inherited(const int *base, int nbase);
/* What th_as_nobody()'s child answered: @fn's return value and message. */
struct th_answer {
	int rc;
	char msg[512];
};
/*
 * Runs @fn in a child whose effective uid is 65534 (nobody), as a program
 * started by an ordinary user would run it.  Skips the test unless root.
 */
void th_as_nobody(int (*fn)(void), struct th_answer *a);
/* The report's first finding in words, for messages (a buffer of the thread's). */
const char *th_check_said(const struct daxalloc_check_report *rep);
/* The findings of daxalloc_pool_check_each(): pass th_finding and a zeroed struct. */
struct th_findings {
	int n, losses;
	char text[8][300];
	enum daxalloc_check_code code[8];
	char region[8][DAXALLOC_NAME_MAX + 1];
};
void th_finding(const struct daxalloc_check_finding *x, void *arg);
/* Is there a finding of @code (about region @region, unless NULL)? */
bool th_findings_have(const struct th_findings *f, enum daxalloc_check_code code, const char *region);
/* Does a finding contain @what? */
bool th_findings_say(const struct th_findings *f, const char *what);

#endif
