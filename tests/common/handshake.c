// SPDX-License-Identifier: LGPL-2.1-or-later
/* A child in step with its parent (handshake.h). */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <unistd.h>

#include "handshake.h"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

pid_t handshake_fork(struct handshake *h)
{
	pid_t pid;

	cr_assert_eq(pipe(h->ready), 0);
	cr_assert_eq(pipe(h->go), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	/* each side keeps its own ends: the other's exit then ends a wait */
	close_fd(pid == 0 ? &h->ready[0] : &h->ready[1]);
	close_fd(pid == 0 ? &h->go[1] : &h->go[0]);
	return pid;
}

int handshake_ready(struct handshake *h, const void *val, size_t len)
{
	if (!val)
		val = "r", len = 1;
	return write(h->ready[1], val, len) == (ssize_t)len ? 0 : -1;
}

int handshake_wait_go(struct handshake *h)
{
	char c;

	return read(h->go[0], &c, 1) == 1 ? 0 : -1;
}

bool handshake_wait_ready(struct handshake *h, void *val, size_t len)
{
	char c;

	if (!val)
		val = &c, len = 1;
	return read(h->ready[0], val, len) == (ssize_t)len;
}

int handshake_go(struct handshake *h)
{
	/* a byte, not only the end: a child forked later holds a copy of this end */
	int rc = write(h->go[1], "g", 1) == 1 ? 0 : -1;

	close_fd(&h->go[1]);
	return rc;
}

void handshake_close(struct handshake *h)
{
	close_fd(&h->ready[0]);
	close_fd(&h->go[1]);
}
