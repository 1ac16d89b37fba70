// SPDX-License-Identifier: LGPL-2.1-or-later
/* Per-thread error messages: the -errno says what, the message says why. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "private.h"

static __thread char errmsg[512];

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
	return -errnum;
}

void daxalloc_err_clear(void)
{
	errmsg[0] = '\0';
}

DAXALLOC_EXPORT const char *daxalloc_errmsg(void)
{
	return errmsg;
}

DAXALLOC_EXPORT const char *daxalloc_version(void)
{
	return DAXALLOC_VERSION_STRING;
}
