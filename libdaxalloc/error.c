// SPDX-License-Identifier: LGPL-2.1-or-later
/* Per-thread error messages: the -errno says what, the message says why. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "private.h"

static __thread char errmsg[512];
/*
 * The library call in progress on this thread (API_CALL()): the context it
 * concerns, how deep the library has called itself, and whether a message
 * was set that its log has not seen.  Calls nest (a reconfiguration opens
 * devices): only the outermost one logs, once, what its caller will read.
 */
static __thread struct daxalloc_ctx *call_ctx;
static __thread int call_depth;
static __thread bool unlogged;

int daxalloc_err(int errnum, const char *fmt, ...)
{
	char tmp[sizeof(errmsg)];
	va_list ap;

	/* Callers may wrap the previous message: format aside, then copy. */
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/*
	 * Messages quote what callers passed (names, paths): a newline or an
	 * escape sequence in there must not break the one-line message or
	 * reach the terminal.
	 */
	for (char *c = tmp; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	memcpy(errmsg, tmp, sizeof(errmsg));
	unlogged = true;
	return -errnum;
}

void daxalloc_err_clear(void)
{
	errmsg[0] = '\0';
	unlogged = false;
}

int api_enter(struct daxalloc_ctx *ctx)
{
	if (call_depth++ == 0) {
		call_ctx = ctx;
		unlogged = false;
	}
	return 0;
}

void api_call_ctx(struct daxalloc_ctx *ctx)
{
	if (call_depth == 1)
		call_ctx = ctx;
}

void api_pause(struct api_saved *s)
{
	*s = (struct api_saved){ .ctx = call_ctx, .depth = call_depth, .unlogged = unlogged };
	call_ctx = NULL;
	call_depth = 0;
}

void api_resume(const struct api_saved *s)
{
	call_ctx = s->ctx;
	call_depth = s->depth;
	unlogged = s->unlogged;
}

/*
 * A message set during the call and neither wrapped nor cleared since is
 * the one daxalloc_errmsg() gives the caller: the context's log gets it
 * too.  Messages the library wrapped or recovered from never reach it.
 */
void api_leave(int *unused)
{
	struct daxalloc_ctx *ctx = call_ctx;

	(void)unused;
	if (--call_depth > 0)
		return;
	call_ctx = NULL;
	if (unlogged && ctx) {
		unlogged = false;
		log_error(ctx, errmsg);
	}
	unlogged = false;
}

DAXALLOC_EXPORT const char *daxalloc_errmsg(void)
{
	return errmsg;
}

DAXALLOC_EXPORT const char *daxalloc_version(void)
{
	return DAXALLOC_VERSION_STRING;
}
