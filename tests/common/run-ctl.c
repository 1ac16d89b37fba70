// SPDX-License-Identifier: LGPL-2.1-or-later
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run-ctl.h"

#define MAX_ARGS 48

void ctl_run(struct ctl_run *r, const char *const *args, unsigned int flags)
{
	const char *bin = getenv("DAXALLOC_CTL");
	const char *wrap = getenv("DAXALLOC_CTL_WRAPPER");
	char wrapbuf[512], *argv[MAX_ARGS], *save = NULL;
	int po[2], pe[2], st, n = 0;
	size_t no = 0, ne = 0;
	bool o_open = true, e_open = true;
	pid_t pid;

	cr_assert_not_null(bin, "DAXALLOC_CTL must name the built daxalloc-ctl");
	if (wrap && *wrap) {
		snprintf(wrapbuf, sizeof(wrapbuf), "%s", wrap);
		for (char *w = strtok_r(wrapbuf, " ", &save); w && n < 16;
		     w = strtok_r(NULL, " ", &save))
			argv[n++] = w;
	}
	argv[n++] = (char *)bin;
	for (; *args && n < MAX_ARGS - 1; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	cr_assert_eq(pipe2(po, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(pe, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		if ((flags & CTL_RUN_AS_NOBODY) && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(99);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	/* read both pipes to their end, so a chatty child never blocks */
	while (o_open || e_open) {
		struct pollfd p[2] = { { o_open ? po[0] : -1, POLLIN, 0 },
				       { e_open ? pe[0] : -1, POLLIN, 0 } };
		ssize_t got;

		if (poll(p, 2, 300000) <= 0)
			break;
		if (p[0].revents) {
			got = read(po[0], r->out + no, sizeof(r->out) - 1 - no);
			if (got > 0)
				no += (size_t)got;
			else
				o_open = false;
		}
		if (p[1].revents) {
			got = read(pe[0], r->err + ne, sizeof(r->err) - 1 - ne);
			if (got > 0)
				ne += (size_t)got;
			else
				e_open = false;
		}
	}
	r->out[no] = r->err[ne] = '\0';
	close(po[0]);
	close(pe[0]);
	waitpid(pid, &st, 0);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void ctl_runl(struct ctl_run *r, ...)
{
	const char *args[MAX_ARGS];
	int n = 0;
	va_list ap;

	va_start(ap, r);
	while (n < MAX_ARGS - 1 && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	args[n] = NULL;
	ctl_run(r, args, 0);
}

void ctl_runf(struct ctl_run *r, const char *fmt, ...)
{
	char line[1024], *save = NULL;
	const char *args[MAX_ARGS];
	int n = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *tok = strtok_r(line, " ", &save); tok && n < MAX_ARGS - 1;
	     tok = strtok_r(NULL, " ", &save))
		args[n++] = tok;
	args[n] = NULL;
	ctl_run(r, args, 0);
}

int ctl_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}
