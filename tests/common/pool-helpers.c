// SPDX-License-Identifier: LGPL-2.1-or-later
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool-helpers.h"

struct daxalloc_ctx *th_ctx;

void th_ctx_setup(void)
{
	cr_assert_eq(daxalloc_ctx_new(&th_ctx), 0, "%s", daxalloc_errmsg());
}

void th_ctx_teardown(void)
{
	daxalloc_ctx_delete(&th_ctx);
}

struct daxalloc_dev *th_dev;
struct daxalloc_pool *th_pool;

void th_pool_setup(const char *name)
{
	cr_assert_eq(daxalloc_ctx_new(&th_ctx), 0);
	th_dev = th_dev_open(th_ctx, name);
	th_pool = th_pool_create(th_dev);
}

void th_pool_teardown(void)
{
	daxalloc_pool_close(&th_pool);
	daxalloc_dev_close(&th_dev);
	daxalloc_ctx_delete(&th_ctx);
}

struct daxalloc_dev *th_dev_open(struct daxalloc_ctx *ctx, const char *name)
{
	struct daxalloc_dev *dev = NULL;

	cr_assert_eq(daxalloc_dev_open(ctx, name, &dev), 0, "%s: %s", name, daxalloc_errmsg());
	return dev;
}

struct daxalloc_pool *th_pool_create(struct daxalloc_dev *dev)
{
	struct daxalloc_pool *pool = NULL;

	cr_assert_eq(daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &pool), 0, "%s",
		     daxalloc_errmsg());
	return pool;
}

struct daxalloc_dev *th_dev_formatted(struct daxalloc_ctx *ctx, const char *name)
{
	struct daxalloc_dev *dev = th_dev_open(ctx, name);
	struct daxalloc_pool *pool = th_pool_create(dev);

	daxalloc_pool_close(&pool);
	return dev;
}

struct daxalloc_region *th_alloc(struct daxalloc_pool *pool, uint64_t size, const char *name)
{
	struct daxalloc_region *r = NULL;

	cr_assert_eq(daxalloc_alloc(pool, size, name, 0, &r), 0, "%s", daxalloc_errmsg());
	return r;
}

void *th_raw_map(struct daxalloc_dev *dev, uint64_t len, struct daxalloc_map **map)
{
	cr_assert_eq(daxalloc_map_new(dev, 0, len, NULL, 0, map), 0, "%s", daxalloc_errmsg());
	return daxalloc_map_get_address(*map);
}

void th_make_orphan(struct daxalloc_dev *dev, uint64_t size)
{
	int st;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct daxalloc_pool *mine = NULL;
		struct daxalloc_region *r = NULL;

		if (daxalloc_pool_open(dev, 0, &mine) || daxalloc_alloc(mine, size, NULL, 0, &r))
			_exit(1);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	cr_assert_eq(st, 0, "the child could not make an orphan");
}

pid_t th_hold_region(struct daxalloc_dev *dev, const char *name, struct handshake *h)
{
	pid_t pid = handshake_fork(h);

	if (pid == 0) {
		struct daxalloc_pool *mine = NULL;
		struct daxalloc_region *r = NULL;

		if (daxalloc_pool_open(dev, 0, &mine) || daxalloc_region_open(mine, name, 0, &r))
			_exit(1);
		if (handshake_ready(h, NULL, 0) < 0 || handshake_wait_go(h) < 0)
			_exit(2);
		_exit(0);
	}
	cr_assert(handshake_wait_ready(h, NULL, 0), "the child did not map region '%s'", name);
	return pid;
}

int th_release_region(pid_t pid, struct handshake *h)
{
	handshake_go(h);
	handshake_close(h);
	return th_exit_status(pid);
}

void th_fill(void *p, uint64_t len, uint64_t seed)
{
	for (uint64_t off = 0; off < len; off += 4096)
		*(volatile uint64_t *)((char *)p + off) = seed * 0x9e3779b97f4a7c15ull + off;
}

int th_verify(const void *p, uint64_t len, uint64_t seed)
{
	for (uint64_t off = 0; off < len; off += 4096)
		if (*(const volatile uint64_t *)((const char *)p + off) !=
		    seed * 0x9e3779b97f4a7c15ull + off)
			return -1;
	return 0;
}

int th_exit_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return 128;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int th_in_child(int (*fn)(const void *arg), const void *arg)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(fn(arg));
	return th_exit_status(pid);
}

int th_inheritable(int *fds, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) && n < max) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			fds[n++] = fd;
	}
	closedir(d);
	return n;
}

void th_expect_nothing_inherited(const int *base, int nbase)
{
	char out[8192], *line, *save = NULL;
	ssize_t n, got = 0;
	int pp[2], st;
	pid_t pid;

	cr_assert_eq(pipe2(pp, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(pp[1], 1);
		execl("/bin/ls", "ls", "-l", "/proc/self/fd", NULL);
		_exit(127);
	}
	close(pp[1]);
	while ((n = read(pp[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = '\0';
	close(pp[0]);
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ls failed: %#x", st);

	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *arrow = strstr(line, " -> ");
		char *num;
		bool known = false;
		int fd;

		if (!arrow)
			continue;
		*arrow = '\0';
		num = strrchr(line, ' ');
		fd = num ? atoi(num + 1) : -1;
		/* ls's own: its output, and the folder it lists */
		if (fd <= 2 || strstr(arrow + 4, "/fd"))
			continue;
		for (int i = 0; i < nbase; i++)
			known |= base[i] == fd;
		cr_expect(known, "fd %d (%s) was inherited across exec", fd, arrow + 4);
	}
}

void th_as_nobody(int (*fn)(void), struct th_answer *a)
{
	int p[2], st;
	ssize_t n;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to become another user");
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct th_answer c = { 0 };

		if (setegid(65534) < 0 || seteuid(65534) < 0) {
			c.rc = -errno;
			snprintf(c.msg, sizeof(c.msg), "seteuid: %s", strerror(errno));
		} else {
			c.rc = fn();
			snprintf(c.msg, sizeof(c.msg), "%s", daxalloc_errmsg());
		}
		_exit(write(p[1], &c, sizeof(c)) == sizeof(c) ? 0 : 1);
	}
	close(p[1]);
	n = read(p[0], a, sizeof(*a));
	close(p[0]);
	waitpid(pid, &st, 0);
	cr_assert_eq(n, (ssize_t)sizeof(*a), "the child answered nothing (status %#x)", st);
}

const char *th_check_said(const struct daxalloc_check_report *rep)
{
	static __thread char said[256];

	if (daxalloc_check_report_describe(rep, said, sizeof(said)) < 0)
		snprintf(said, sizeof(said), "(no words: %s)", daxalloc_errmsg());
	return said;
}

void th_finding(const struct daxalloc_check_finding *x, void *arg)
{
	struct th_findings *f = arg;

	if (x->kind == DAXALLOC_CHECK_LOSS)
		f->losses++;
	if (f->n == 8)
		return;
	daxalloc_check_finding_describe(x, f->text[f->n], sizeof(f->text[0]));
	f->code[f->n] = x->code;
	snprintf(f->region[f->n], sizeof(f->region[0]), "%s", x->region.name);
	f->n++;
}

bool th_findings_have(const struct th_findings *f, enum daxalloc_check_code code, const char *region)
{
	for (int i = 0; i < f->n; i++)
		if (f->code[i] == code && (!region || strcmp(f->region[i], region) == 0))
			return true;
	return false;
}

bool th_findings_say(const struct th_findings *f, const char *what)
{
	for (int i = 0; i < f->n; i++)
		if (strstr(f->text[i], what))
			return true;
	return false;
}
