// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every direct read of sysfs and procfs.  Kept in one file so that tests
 * can redirect the roots to a recorded tree: $DAXALLOC_SYSFS_ROOT stands
 * for /sys and $DAXALLOC_PROCFS_ROOT for /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "private.h"

const char *sysfs_root(void)
{
	const char *r = secure_getenv("DAXALLOC_SYSFS_ROOT");

	return r && *r ? r : "/sys";
}

const char *procfs_root(void)
{
	const char *r = secure_getenv("DAXALLOC_PROCFS_ROOT");

	return r && *r ? r : "/proc";
}

static int build(char *path, size_t len, const char *root, const char *rel)
{
	int n = snprintf(path, len, "%s/%s", root, rel);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* root/rel into @buf, NUL-terminated; returns the bytes read or -errno. */
static ssize_t read_file(const char *root, const char *rel, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, rc;

	rc = build(path, sizeof(path), root, rel);
	if (rc)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc)
		return rc;
	buf[n] = '\0';
	return n;
}

int sysfs_read_str(const char *rel, char *buf, size_t len)
{
	ssize_t n = read_file(sysfs_root(), rel, buf, len);

	if (n < 0)
		return (int)n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int sysfs_read_u64(const char *rel, uint64_t *out)
{
	char buf[64], *end;
	unsigned long long v;
	int rc = sysfs_read_str(rel, buf, sizeof(buf));

	if (rc)
		return rc;
	errno = 0;
	v = strtoull(buf, &end, 0);
	if (errno || end == buf || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int sysfs_read_int(const char *rel, int *out)
{
	char buf[64], *end;
	long v;
	int rc = sysfs_read_str(rel, buf, sizeof(buf));

	if (rc)
		return rc;
	errno = 0;
	v = strtol(buf, &end, 0);
	if (errno || end == buf || *end || v < INT_MIN || v > INT_MAX)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

int sysfs_write_u64(const char *rel, uint64_t val)
{
	char path[PATH_MAX], buf[32];
	int fd, rc, n;

	rc = build(path, sizeof(path), sysfs_root(), rel);
	if (rc)
		return rc;
	/* O_TRUNC as a shell redirect does: needed for a recorded tree. */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%" PRIu64, val);
	rc = write(fd, buf, (size_t)n) == n ? 0 : -errno;
	close(fd);
	return rc;
}

/*
 * The kernel hides a region's "create" attribute when the region is
 * static (pmem namespaces), so its presence tells a dynamic region.
 */
int sysfs_dax_region_kind(const char *devname, enum daxalloc_region_kind *kind)
{
	char rel[PATH_MAX], dev[PATH_MAX], parent[PATH_MAX + 32];
	char *slash;
	int rc;

	rc = build(rel, sizeof(rel), sysfs_root(), "bus/dax/devices");
	if (rc)
		return rc;
	if (snprintf(dev, sizeof(dev), "%s/%s", rel, devname) >= (int)sizeof(dev))
		return -ENAMETOOLONG;
	if (!realpath(dev, rel))
		return -errno;
	slash = strrchr(rel, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	snprintf(parent, sizeof(parent), "%s/dax_region/create", rel);
	if (access(parent, F_OK) == 0) {
		*kind = DAXALLOC_REGION_DYNAMIC;
		return 0;
	}
	snprintf(parent, sizeof(parent), "%s/dax_region/id", rel);
	if (access(parent, F_OK) != 0)
		return -ENOENT;
	*kind = DAXALLOC_REGION_STATIC;
	return 0;
}

int sysfs_dax_numa_node(const char *devname, int *node)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "bus/dax/devices/%s/numa_node", devname);
	return sysfs_read_int(rel, node);
}

static void hugepages_rel(char *rel, size_t len, uint64_t pagesize, const char *attr)
{
	snprintf(rel, len, "kernel/mm/hugepages/hugepages-%" PRIu64 "kB/%s", pagesize >> 10, attr);
}

int sysfs_hugepages_read(uint64_t pagesize, const char *attr, uint64_t *out)
{
	char rel[128];

	hugepages_rel(rel, sizeof(rel), pagesize, attr);
	return sysfs_read_u64(rel, out);
}

int sysfs_hugepages_write(uint64_t pagesize, const char *attr, uint64_t val)
{
	char rel[128];

	hugepages_rel(rel, sizeof(rel), pagesize, attr);
	return sysfs_write_u64(rel, val);
}

/* KernelPageSize of the VMA that starts at @addr, in bytes. */
/* A procfs file opened for reading, or NULL with *err = -errno. */
static FILE *procfs_fopen(const char *rel, int *err)
{
	char path[PATH_MAX];
	FILE *f;

	*err = build(path, sizeof(path), procfs_root(), rel);
	if (*err)
		return NULL;
	f = fopen(path, "re");
	if (!f)
		*err = -errno;
	return f;
}

int procfs_smaps_kernel_page_size(const void *addr, uint64_t *out)
{
	char line[512];
	bool in_vma = false;
	FILE *f;
	int rc;

	f = procfs_fopen("self/smaps", &rc);
	if (!f)
		return rc;
	rc = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, kb;

		if (sscanf(line, "%llx-%llx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in_vma = start == (uintptr_t)addr;
			continue;
		}
		if (in_vma && sscanf(line, "KernelPageSize: %llu kB", &kb) == 1) {
			*out = (uint64_t)kb << 10;
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks. */
int procfs_pid_starttime(int pid, uint64_t *start)
{
	char rel[32], buf[1024], *p;
	unsigned long long v;
	ssize_t n;

	snprintf(rel, sizeof(rel), "%d/stat", pid);
	n = read_file(procfs_root(), rel, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -EIO;
	/* the command name may hold spaces and ')': skip to the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
	}
	if (sscanf(p, " %llu", &v) != 1)
		return -EINVAL;
	*start = v;
	return 0;
}

/* A 64-bit digest of this boot's id, so pids of earlier boots never match. */
int procfs_boot_id_hash(uint64_t *hash)
{
	char buf[64];
	ssize_t n = read_file(procfs_root(), "sys/kernel/random/boot_id", buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	if (n == 0)
		return -EIO;
	*hash = ((uint64_t)daxalloc_crc32c(0, buf, (size_t)n) << 32) |
		daxalloc_crc32c(0x5a5a5a5a, buf, (size_t)n);
	return 0;
}

/*
 * Fields of one read of procfs file @rel ("Name:   N kB" lines, as
 * meminfo and status have them), in bytes, in the order of @fields; a
 * field this kernel does not have reads 0.  -ENOENT when none of them is
 * there.
 */
static int procfs_kb_fields(const char *rel, const char *const *fields, int n, uint64_t *out)
{
	char buf[8192];
	ssize_t len = read_file(procfs_root(), rel, buf, sizeof(buf));
	int found = 0;

	if (len < 0)
		return (int)len;
	for (int i = 0; i < n; i++) {
		size_t flen = strlen(fields[i]);
		unsigned long long kb;
		const char *p = buf;

		out[i] = 0;
		while ((p = strstr(p, fields[i]))) {
			if ((p == buf || p[-1] == '\n') && p[flen] == ':' &&
			    sscanf(p + flen + 1, " %llu kB", &kb) == 1) {
				out[i] = (uint64_t)kb << 10;
				found++;
				break;
			}
			p += flen;
		}
	}
	return found ? 0 : -ENOENT;
}

int procfs_meminfo(const char *const *fields, int n, uint64_t *out)
{
	return procfs_kb_fields("meminfo", fields, n, out);
}

int procfs_self_status_bytes(const char *field, uint64_t *out)
{
	return procfs_kb_fields("self/status", &field, 1, out);
}

uint64_t procfs_self_pidns(void)
{
	struct stat st;

	/* The real /proc: a namespace is this process's, whatever tree tests point at. */
	return stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
}
