/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A system call made to fail, for the paths that handle its failure. */
#ifndef REFUSE_SYSCALL_H
#define REFUSE_SYSCALL_H

/*
 * From now on, in this process and its children, system call @nr fails
 * with @err (a seccomp filter; it cannot be undone: call it in a forked
 * child).  0, or -1 with errno where seccomp is not available.
 */
int refuse_syscall(long nr, int err);

#endif
