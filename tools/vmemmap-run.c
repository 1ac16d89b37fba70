// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * daxalloc-ctl's side of the vmemmap measurement: it runs
 * daxalloc-vmemmap-measure (vmemmap-helper.c) and reads its reply.  The
 * program is looked for beside daxalloc-ctl first (a build tree), then
 * where it is installed.  The caller blocks the signals that would stop a
 * measurement half way; the program inherits that.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmemmap-measure.h"

#ifndef DAXALLOC_LIBEXECDIR
#define DAXALLOC_LIBEXECDIR "/usr/libexec/daxalloc"
#endif

static void helper_path(char *buf, size_t len)
{
	char self[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, len, "%s/%s", self, VMEMMAP_HELPER);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, len, "%s/%s", DAXALLOC_LIBEXECDIR, VMEMMAP_HELPER);
}

static size_t read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

int vmemmap_measure_run(const char *name, const struct vmemmap_opts *o, struct vmemmap_report *rep,
			char *msg, size_t len)
{
	char path[PATH_MAX], cycles[16], align[32];
	const char *argv[8];
	struct vmemmap_reply *r;
	int p[2], status = 0, rc;
	size_t got;
	pid_t pid;

	helper_path(path, sizeof(path));
	if (access(path, X_OK) < 0) {
		rc = -errno;
		snprintf(msg, len, "vmemmap: cannot run the measurement, %s: %s", path,
			 strerror(-rc));
		return rc;
	}
	snprintf(cycles, sizeof(cycles), "%d", o->cycles);
	snprintf(align, sizeof(align), "%" PRIu64, o->align);
	argv[0] = path;
	argv[1] = name;
	argv[2] = cycles;
	argv[3] = align;
	argv[4] = o->pin ? "1" : "0";
	argv[5] = o->ignore_dma ? "1" : "0";
	argv[6] = o->pin_with;
	argv[7] = NULL;
	r = calloc(1, sizeof(*r));
	if (!r || pipe2(p, O_CLOEXEC) < 0) {
		rc = r ? -errno : -ENOMEM;
		free(r);
		snprintf(msg, len, "vmemmap: cannot run the measurement: %s", strerror(-rc));
		return rc;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(127);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	got = pid < 0 ? 0 : read_all(p[0], r, sizeof(*r));
	close(p[0]);
	if (pid < 0) {
		rc = -errno;
		snprintf(msg, len, "vmemmap: cannot run the measurement: fork: %s", strerror(-rc));
	} else if (waitpid(pid, &status, 0) < 0 || got != sizeof(*r) ||
		   r->magic != VMEMMAP_REPLY_MAGIC || r->size != sizeof(*r)) {
		rc = -EIO;
		if (WIFSIGNALED(status))
			snprintf(msg, len,
				 "vmemmap: %s was killed by signal %d: %s may be left disabled or at another alignment (daxalloc-ctl info %s)",
				 path, WTERMSIG(status), name, name);
		else
			snprintf(msg, len,
				 "vmemmap: %s gave no reply (exit %d, %zu of %zu bytes): is it of another build than daxalloc-ctl?",
				 path, WIFEXITED(status) ? WEXITSTATUS(status) : -1, got, sizeof(*r));
	} else {
		rc = r->rc;
		*rep = r->rep;
		if (rc < 0)
			snprintf(msg, len, "%s", r->msg);
	}
	free(r);
	return rc;
}
