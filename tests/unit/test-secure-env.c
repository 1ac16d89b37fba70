// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A program with more privilege than its caller (here: set-user-ID root,
 * run by nobody) must not let the caller's environment redirect the
 * library: the sysfs and procfs roots, the default device, the run folder.
 * The same probe without the set-user-ID bit takes them, so the test can
 * fail.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY 65534

/* Copy the probe beside itself as @name with @mode, owned by root; 0 or -1. */
static int copy_probe(const char *probe, const char *name, mode_t mode, char *out, size_t len)
{
	char buf[65536];
	const char *slash = strrchr(probe, '/');
	int in, fd;
	ssize_t n;

	snprintf(out, len, "%.*s/%s", (int)(slash - probe), probe, name);
	in = open(probe, O_RDONLY);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0700);
	if (in < 0 || fd < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			return -1;
	close(in);
	if (fchown(fd, 0, 0) < 0 || fchmod(fd, mode) < 0)
		return -1;
	return close(fd);
}

/* Run @path as nobody with the redirecting environment; its one line in @out. */
static int run_as_nobody(const char *path, char *out, size_t len)
{
	int p[2], st;
	ssize_t n;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char *const argv[] = { (char *)path, NULL };
		char *const envp[] = { "DAXALLOC_SYSFS_ROOT=/nonexistent-sys",
				       "DAXALLOC_PROCFS_ROOT=/nonexistent-proc",
				       "DAXALLOC_DEVICE=hugetlb:2M:6M", NULL };

		dup2(p[1], 1);
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(3);
		execve(path, argv, envp);
		_exit(4);
	}
	close(p[1]);
	n = read(p[0], out, len - 1);
	close(p[0]);
	out[n > 0 ? n : 0] = '\0';
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(secure_env, setuid_program_ignores_the_callers_environment)
{
	const char *probe = getenv("ENV_PROBE");
	char plain[4096], suid[4096], out[512];
	struct statvfs fs;

	cr_assert_not_null(probe, "ENV_PROBE is not set");
	if (geteuid() != 0)
		cr_skip_test("making a set-user-ID root program needs root");
	if (statvfs(probe, &fs) == 0 && (fs.f_flag & ST_NOSUID))
		cr_skip_test("the build folder is mounted nosuid");
	cr_assert_eq(copy_probe(probe, "env-probe-plain", 0755, plain, sizeof(plain)), 0, "%s",
		     strerror(errno));
	cr_assert_eq(copy_probe(probe, "env-probe-suid", 04755, suid, sizeof(suid)), 0, "%s",
		     strerror(errno));

	/* without privilege it is the caller's to redirect (the test can fail) */
	cr_assert_eq(run_as_nobody(plain, out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "sysfs=/nonexistent-sys") && strstr(out, "device=hugetlb:2M:6M"),
		  "the plain probe did not take the environment: %s", out);

	/* set-user-ID: the environment redirects nothing */
	cr_assert_eq(run_as_nobody(suid, out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "sysfs=/sys ") && strstr(out, "procfs=/proc "),
		  "the setuid probe read sysfs or procfs where the caller said: %s", out);
	cr_expect(!strstr(out, "device=hugetlb:2M:6M"),
		  "the setuid probe took the caller's default device: %s", out);
	unlink(plain);
	unlink(suid);
}
