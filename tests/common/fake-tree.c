// SPDX-License-Identifier: LGPL-2.1-or-later
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake-tree.h"

static void mkdirs(const char *path)
{
	char buf[PATH_MAX + 256];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	mkdir(buf, 0755);
}

static void parent_dirs(const char *path)
{
	char buf[PATH_MAX + 256], *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	slash = strrchr(buf, '/');
	if (slash) {
		*slash = '\0';
		mkdirs(buf);
	}
}

void fake_tree_new(struct fake_tree *t)
{
	snprintf(t->root, sizeof(t->root), "/tmp/daxalloc-fake-XXXXXX");
	cr_assert_not_null(mkdtemp(t->root), "mkdtemp: %s", strerror(errno));
	setenv("DAXALLOC_SYSFS_ROOT", t->root, 1);
	setenv("DAXALLOC_PROCFS_ROOT", t->root, 1);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

void fake_tree_delete(struct fake_tree *t)
{
	unsetenv("DAXALLOC_SYSFS_ROOT");
	unsetenv("DAXALLOC_PROCFS_ROOT");
	nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void fake_tree_file(struct fake_tree *t, const char *rel, const char *content)
{
	char path[PATH_MAX + 256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	parent_dirs(path);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(content, f);
	fclose(f);
}

void fake_tree_dir(struct fake_tree *t, const char *rel)
{
	char path[PATH_MAX + 256];

	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	mkdirs(path);
}

void fake_tree_link(struct fake_tree *t, const char *rel, const char *target)
{
	char path[PATH_MAX + 256];

	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	parent_dirs(path);
	cr_assert_eq(symlink(target, path), 0, "%s: %s", path, strerror(errno));
}

void fake_tree_read(struct fake_tree *t, const char *rel, char *buf, size_t len)
{
	char path[PATH_MAX + 256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	n = read(fd, buf, len - 1);
	close(fd);
	cr_assert_geq(n, 0);
	buf[n] = '\0';
}
