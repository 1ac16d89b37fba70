/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Builds a small sysfs/procfs tree in a temporary folder, laid out as the
 * kernel lays it out (same attribute names, same relative symlinks), and
 * points the library at it through $DAXALLOC_SYSFS_ROOT/$DAXALLOC_PROCFS_ROOT.
 */
#ifndef FAKE_TREE_H
#define FAKE_TREE_H

#include <limits.h>

struct fake_tree {
	char root[PATH_MAX];
};

void fake_tree_new(struct fake_tree *t);
void fake_tree_delete(struct fake_tree *t);
/* Write @content to root/@rel, creating parent folders. */
void fake_tree_file(struct fake_tree *t, const char *rel, const char *content);
void fake_tree_dir(struct fake_tree *t, const char *rel);
/* root/@rel -> @target (target is used as given, usually relative). */
void fake_tree_link(struct fake_tree *t, const char *rel, const char *target);
void fake_tree_read(struct fake_tree *t, const char *rel, char *buf, size_t len);

#endif
