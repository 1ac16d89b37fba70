/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef DAXALLOC_SIGBUS_H
#define DAXALLOC_SIGBUS_H

#include <stddef.h>
#include <stdint.h>

/* Where a guarded copy faulted, and the bytes around it the fault covers. */
struct sigbus_fault {
	uintptr_t addr;
	size_t granule; /* a power of two: a cache line, or a page */
};

/*
 * Copy @len bytes from @src to @dst; a SIGBUS while this thread reads
 * [@src, +@len) (a media error nobody listed, memory taken away) ends
 * the copy instead of the process.  0, or -EIO with @f set; then @dst
 * holds anything.  The first call installs the library's SIGBUS handler
 * (unless $DAXALLOC_SIGBUS_GUARD is 0); every other SIGBUS goes to the
 * program's handler as before.
 */
int sigbus_copy(void *dst, const void *src, size_t len, struct sigbus_fault *f);

#endif
