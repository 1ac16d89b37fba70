// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Who uses a device-dax device.  Disabling a device zaps every mapping of
 * it (later accesses get SIGBUS), so whoever has it open or mapped must be
 * named before, not found out after.
 *
 * Memory pinned for DMA is worse: pins show nowhere (VFIO does not even
 * count device-dax pages, which are reserved, in VmLck or VmPin), and a
 * 6.1 kernel disables a device without waiting for them, after which the
 * DMA device can still write into memory that may be handed to someone
 * else.  What can be seen is who holds a handle able to pin memory: VFIO
 * containers and groups, iommufd, RDMA verbs, io_uring with registered
 * buffers.
 *
 * procfs is read through the redirectable root, so tests use a fake tree.
 *
 * The scan of /proc stays in the library although it is no mechanism of
 * the device's: the gate of every reconfiguring call needs it (users named
 * before a disable, not after), and the pool needs it to keep a region a
 * forked child still maps from being freed (holders_find_mapper()).  It
 * only reads; what it finds is refused, never borrowed or stopped.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "reconfig.h"

struct target {
	char path[64]; /* "/dev/daxX.Y" */
	dev_t rdev;    /* 0 when sysfs does not say */
};

static void target_init(const char *devname, struct target *t)
{
	unsigned int maj, min;
	char rel[128], buf[32];

	snprintf(t->path, sizeof(t->path), "/dev/%s", devname);
	t->rdev = 0;
	snprintf(rel, sizeof(rel), "bus/dax/devices/%s/dev", devname);
	if (sysfs_read_str(rel, buf, sizeof(buf)) == 0 && sscanf(buf, "%u:%u", &maj, &min) == 2)
		t->rdev = makedev(maj, min);
}

/* io_uring only pins what is registered: fdinfo lists "UserBufs: N". */
static bool uring_has_buffers(const char *fdinfo)
{
	char line[128];
	unsigned int n = 0;
	bool found = false;
	FILE *f = fopen(fdinfo, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "UserBufs: %u", &n) == 1;
	fclose(f);
	return found && n > 0;
}

static bool dma_handle(const char *link, const char *pdir, const char *fd, char *what, size_t len)
{
	char info[PATH_MAX + 64];

	if (strncmp(link, "/dev/vfio/", 10) == 0 || strcmp(link, "/dev/iommu") == 0 ||
	    strncmp(link, "/dev/infiniband/uverbs", 22) == 0) {
		snprintf(what, len, "%.*s", (int)len - 1, link);
		return true;
	}
	if (strcmp(link, "anon_inode:[io_uring]") == 0) {
		if (snprintf(info, sizeof(info), "%s/fdinfo/%s", pdir, fd) >= (int)sizeof(info))
			return false;
		if (uring_has_buffers(info)) {
			snprintf(what, len, "io_uring with registered buffers");
			return true;
		}
	}
	return false;
}

static int scan_fds(const char *pdir, const struct target *t, struct holder *h)
{
	char dir[PATH_MAX + 8], p[PATH_MAX + 48], link[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/fd", pdir);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ESRCH ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= (int)sizeof(p))
			continue;
		n = readlink(p, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, t->path) == 0 || (t->rdev && link[0] == '/' && stat(p, &st) == 0 &&
						   S_ISCHR(st.st_mode) && st.st_rdev == t->rdev))
			h->what |= HOLDER_OPEN;
		else if (!(h->what & HOLDER_DMA) &&
			 dma_handle(link, pdir, de->d_name, h->dma, sizeof(h->dma)))
			h->what |= HOLDER_DMA;
	}
	closedir(d);
	return 0;
}

/*
 * A mapping names the node it was made through; one made through another
 * node of the same device is found by the device number of map_files/.
 */
static int scan_maps(const char *pdir, const struct target *t, struct holder *h)
{
	unsigned long long last_ino = 0;
	unsigned int last_maj = 0, last_min = 0;
	char p[PATH_MAX + 64], line[PATH_MAX + 128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/maps", pdir);
	f = fopen(p, "re");
	if (!f)
		return errno == ENOENT || errno == ESRCH ? 0 : -errno;
	while (!(h->what & HOLDER_MAPPED) && fgets(line, sizeof(line), f)) {
		unsigned long long ino;
		unsigned int maj, min;
		char range[64], *path;
		struct stat st;
		int off = 0;

		if (sscanf(line, "%63s %*s %*s %x:%x %llu %n", range, &maj, &min, &ino, &off) < 4 ||
		    ino == 0)
			continue;
		path = line + off;
		path[strcspn(path, "\n")] = '\0';
		if (strcmp(path, t->path) == 0) {
			h->what |= HOLDER_MAPPED;
			break;
		}
		if (!t->rdev || (ino == last_ino && maj == last_maj && min == last_min))
			continue;
		last_ino = ino;
		last_maj = maj;
		last_min = min;
		if (snprintf(p, sizeof(p), "%s/map_files/%s", pdir, range) < (int)sizeof(p) &&
		    stat(p, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == t->rdev)
			h->what |= HOLDER_MAPPED;
	}
	fclose(f);
	return 0;
}

static void read_comm(const char *pdir, char *buf, size_t len)
{
	char p[PATH_MAX + 8];
	FILE *f;

	snprintf(p, sizeof(p), "%s/comm", pdir);
	buf[0] = '\0';
	f = fopen(p, "re");
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	if (!buf[0])
		snprintf(buf, len, "?");
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The pids under the procfs root, ascending; *n receives the count. */
static int list_pids(int **out, int *n)
{
	struct dirent *de;
	int *pids = NULL, cap = 0;
	DIR *d;

	*n = 0;
	d = opendir(procfs_root());
	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid > INT32_MAX)
			continue;
		if (*n == cap) {
			int *more = realloc(pids, (size_t)(cap ? cap * 2 : 256) * sizeof(*pids));

			if (!more) {
				free(pids);
				closedir(d);
				return -ENOMEM;
			}
			pids = more;
			cap = cap ? cap * 2 : 256;
		}
		pids[(*n)++] = (int)pid;
	}
	closedir(d);
	qsort(pids, (size_t)*n, sizeof(*pids), cmp_int);
	*out = pids;
	return 0;
}

static int cmp_holder(const void *a, const void *b)
{
	const struct holder *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/*
 * Store the @nth holder found.  When the array is full, users of the
 * device itself push out holders of DMA handles: a caller told to ignore
 * DMA handles must still see every user it can be shown.
 */
static void keep(struct holder *out, int max, int nth, const struct holder *h)
{
	if (nth < max) {
		out[nth] = *h;
		return;
	}
	if (!(h->what & (HOLDER_OPEN | HOLDER_MAPPED)))
		return;
	for (int i = max - 1; i >= 0; i--) {
		if (!(out[i].what & (HOLDER_OPEN | HOLDER_MAPPED))) {
			out[i] = *h;
			return;
		}
	}
}

int holders_scan(const char *devname, struct holder *out, int max)
{
	int *pids = NULL, npids, found = 0, rc;
	struct target t;

	target_init(devname, &t);
	rc = list_pids(&pids, &npids);
	if (rc < 0)
		return daxalloc_err(-rc, "cannot list processes in %s: %s", procfs_root(),
				    strerror(-rc));
	for (int i = 0; i < npids; i++) {
		struct holder h = { .pid = pids[i] };
		char pdir[PATH_MAX];

		snprintf(pdir, sizeof(pdir), "%s/%d", procfs_root(), h.pid);
		rc = scan_fds(pdir, &t, &h);
		if (rc == 0)
			rc = scan_maps(pdir, &t, &h);
		if (rc < 0) {
			read_comm(pdir, h.comm, sizeof(h.comm));
			rc = daxalloc_err(-rc,
					  "%s: cannot tell whether pid %d (%s) uses it: %s; reconfiguring needs root",
					  devname, h.pid, h.comm, strerror(-rc));
			break;
		}
		if (!h.what)
			continue;
		read_comm(pdir, h.comm, sizeof(h.comm));
		keep(out, max, found++, &h);
	}
	free(pids);
	if (rc < 0)
		return rc;
	qsort(out, (size_t)(found < max ? found : max), sizeof(*out), cmp_holder);
	return found;
}

void holders_describe(const struct holder *h, int n, int found, unsigned int what, char *buf,
		      size_t len)
{
	size_t used = 0;
	int shown = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && used < len; i++) {
		const char *how;

		if (!(h[i].what & what))
			continue;
		if (h[i].what & what & HOLDER_MAPPED)
			how = "has it mapped";
		else if (h[i].what & what & HOLDER_OPEN)
			how = "has it open";
		else
			how = "holds ";
		used += (size_t)snprintf(buf + used, len - used, "%spid %d (%s) %s%s",
					 shown ? ", " : "", h[i].pid, h[i].comm, how,
					 (h[i].what & what & (HOLDER_MAPPED | HOLDER_OPEN)) ?
						 "" :
						 h[i].dma);
		shown++;
	}
	if (found > n && used < len)
		snprintf(buf + used, len - used, " and %d more", found - n);
}

/* Does @pdir map [offset, +length) of the file identified by @st? */
static bool maps_range(const char *pdir, const struct stat *st, uint64_t offset, uint64_t length)
{
	char p[PATH_MAX + 16], line[PATH_MAX + 128];
	bool hit = false;
	FILE *f;

	snprintf(p, sizeof(p), "%s/maps", pdir);
	f = fopen(p, "re");
	if (!f)
		return false; /* gone, or not ours to read */
	while (!hit && fgets(line, sizeof(line), f)) {
		unsigned long long start, end, foff, ino;
		unsigned int maj, min;

		if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu", &start, &end, &foff, &maj, &min,
			   &ino) != 6 ||
		    ino != (unsigned long long)st->st_ino || makedev(maj, min) != st->st_dev)
			continue;
		hit = foff < offset + length && offset < foff + (end - start);
	}
	fclose(f);
	return hit;
}

/* Does @pdir hold an open file with identity @dev/@ino? */
static bool holds_file(const char *pdir, uint64_t dev, uint64_t ino)
{
	char dir[PATH_MAX + 8], p[PATH_MAX + 48];
	struct dirent *de;
	bool hit = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/fd", pdir);
	d = opendir(dir);
	if (!d)
		return false;
	while (!hit && (de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.' ||
		    snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= (int)sizeof(p))
			continue;
		hit = stat(p, &st) == 0 && (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino;
	}
	closedir(d);
	return hit;
}

/* The processes under the procfs root for which @match is true; the first goes to @h. */
static int find_processes(bool (*match)(const char *pdir, const void *arg), const void *arg,
			  bool skip_self, unsigned int what, struct holder *h)
{
	int *pids = NULL, npids, found = 0, rc;

	memset(h, 0, sizeof(*h));
	rc = list_pids(&pids, &npids);
	if (rc < 0)
		return daxalloc_err(-rc, "cannot list processes in %s: %s", procfs_root(),
				    strerror(-rc));
	for (int i = 0; i < npids; i++) {
		char pdir[PATH_MAX];

		if (skip_self && pids[i] == getpid())
			continue;
		snprintf(pdir, sizeof(pdir), "%s/%d", procfs_root(), pids[i]);
		if (!match(pdir, arg))
			continue;
		if (found++ == 0) {
			h->pid = pids[i];
			h->what = what;
			read_comm(pdir, h->comm, sizeof(h->comm));
		}
	}
	free(pids);
	return found;
}

struct file_id {
	uint64_t dev, ino;
};

static bool holds_file_of(const char *pdir, const void *arg)
{
	const struct file_id *id = arg;

	return holds_file(pdir, id->dev, id->ino);
}

int holders_find_file(uint64_t dev, uint64_t ino, struct holder *h)
{
	struct file_id id = { dev, ino };

	return find_processes(holds_file_of, &id, false, HOLDER_DMA, h);
}

struct mapped_range {
	struct stat st;
	uint64_t offset, length;
};

static bool maps_range_of(const char *pdir, const void *arg)
{
	const struct mapped_range *m = arg;

	return maps_range(pdir, &m->st, m->offset, m->length);
}

int holders_find_mapper(int fd, uint64_t offset, uint64_t length, struct holder *h)
{
	struct mapped_range m = { .offset = offset, .length = length };

	memset(h, 0, sizeof(*h));
	if (fstat(fd, &m.st) < 0)
		return -errno;
	return find_processes(maps_range_of, &m, true, HOLDER_MAPPED, h);
}
