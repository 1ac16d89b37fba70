/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A child in step with its parent, over two pipes: the child says it is
 * ready (with a value, such as a pid, or a byte), then waits for the word
 * to go on; the parent waits for the one and gives the other.  Each side
 * closes the ends it does not use, so the end of either process ends the
 * other's wait instead of blocking it.
 */
#ifndef HANDSHAKE_H
#define HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct handshake {
	int ready[2], go[2];
};

/* fork() with the pipes made: 0 in the child, its pid in the parent. */
pid_t handshake_fork(struct handshake *h);
/* Child: ready, saying @len bytes of @val (NULL: one byte); 0 or -1. */
int handshake_ready(struct handshake *h, const void *val, size_t len);
/* Child: wait for the parent's go; 0, or -1 if the parent ended without one. */
int handshake_wait_go(struct handshake *h);
/* Parent: wait until the child is ready, into @val (NULL: one byte); true if it was. */
bool handshake_wait_ready(struct handshake *h, void *val, size_t len);
/* Parent: let the child go on; 0, or -1 if it was gone. */
int handshake_go(struct handshake *h);
/* Parent: close what is left of the pipes. */
void handshake_close(struct handshake *h);

#endif
