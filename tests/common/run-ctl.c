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

/* Append what @fd has to @buf (of @size, one byte kept for the NUL); false at its end. */
static bool read_more(int fd, char *buf, size_t size, size_t *n)
{
	ssize_t got = read(fd, buf + *n, size - 1 - *n);

	if (got <= 0)
		return false;
	*n += (size_t)got;
	return true;
}

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

		if (poll(p, 2, 300000) <= 0)
			break;
		if (p[0].revents)
			o_open = read_more(po[0], r->out, sizeof(r->out), &no);
		if (p[1].revents)
			e_open = read_more(pe[0], r->err, sizeof(r->err), &ne);
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

bool ctl_expect_refusal(const struct ctl_refusal *c, const char *(*name)(const char *))
{
	static struct ctl_run res;
	const char *args[16];
	char what[200];
	int k = 0, n = 0;

	for (const char *const *a = c->args; *a && k < 15; a++) {
		args[k++] = name(*a);
		if (n < (int)sizeof(what) - 2)
			n += snprintf(what + n, sizeof(what) - (size_t)n, "%s%s", n ? " " : "",
				      args[k - 1]);
	}
	args[k] = NULL;
	memset(&res, 0, sizeof(res));
	ctl_run(&res, args, c->nobody ? CTL_RUN_AS_NOBODY : 0);
	if (res.status != c->status || ctl_lines(res.err) != 1 ||
	    strncmp(res.err, "daxalloc-ctl: ", 14) != 0 || strchr(res.err, '\033')) {
		cr_expect_fail("'%s'%s: exit %d (want %d), stderr '%s'", what,
			       c->nobody ? " as nobody" : "", res.status, c->status, res.err);
		return false;
	}
	for (int w = 0; w < 3 && c->want[w]; w++)
		if (!strstr(res.err, name(c->want[w]))) {
			cr_expect_fail("'%s': '%s' lacks '%s'", what, res.err, name(c->want[w]));
			return false;
		}
	return true;
}

int ctl_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}
