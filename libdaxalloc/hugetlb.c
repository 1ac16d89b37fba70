// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The stand-in for machines without device-dax: a memfd of huge pages.
 * It enforces the same alignment rules as a devdax device of that
 * alignment, so code written against it behaves the same on real devdax.
 */
#include <errno.h>
#include <sys/file.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "private.h"

#define DEFAULT_SIZE DAXALLOC_SIZE_1G

/* "hugetlb:2M" or "hugetlb:1G", optionally ":SIZE". */
int hugetlb_parse_name(const char *name, uint64_t *align, uint64_t *size)
{
	char buf[64], *colon;
	int rc;

	if (strncmp(name, "hugetlb:", 8) != 0)
		return daxalloc_err(EINVAL, "'%s': a stand-in name starts with hugetlb:", name);
	if (snprintf(buf, sizeof(buf), "%s", name + 8) >= (int)sizeof(buf))
		return daxalloc_err(EINVAL, "'%s': name too long", name);
	colon = strchr(buf, ':');
	if (colon)
		*colon++ = '\0';
	if (strcmp(buf, "2M") == 0)
		*align = DAXALLOC_SIZE_2M;
	else if (strcmp(buf, "1G") == 0)
		*align = DAXALLOC_SIZE_1G;
	else
		return daxalloc_err(EINVAL, "'%s': huge page size must be 2M or 1G", name);
	*size = DEFAULT_SIZE;
	if (colon) {
		rc = daxalloc_size_parse(colon, size);
		if (rc < 0)
			return daxalloc_err(-rc, "'%s': %s", name, daxalloc_errmsg());
	}
	if (*size == 0 || *size % *align)
		return daxalloc_err(EINVAL,
				    "'%s': size must be a non-zero multiple of the page size %s",
				    name, buf);
	return 0;
}

/*
 * Make sure @pages huge pages are free and unreserved; add them to the
 * pool when we may.  Records how many we added so close can give back.
 */
static int hugetlb_reserve(struct daxalloc_ctx *ctx, struct daxalloc_dev *dev,
			   uint64_t pages)
{
	uint64_t free_p, resv, nr, avail, want;
	const char *label = dev->align == DAXALLOC_SIZE_1G ? "1G" : "2M";
	unsigned long kb = (unsigned long)(dev->align >> 10);
	int rc;

	rc = sysfs_hugepages_read(dev->align, "free_hugepages", &free_p);
	if (rc == -ENOENT)
		return daxalloc_err(EOPNOTSUPP, "%s: this kernel offers no %s huge pages",
				    dev->name, label);
	if (rc == 0)
		rc = sysfs_hugepages_read(dev->align, "resv_hugepages", &resv);
	if (rc == 0)
		rc = sysfs_hugepages_read(dev->align, "nr_hugepages", &nr);
	if (rc < 0)
		return daxalloc_err(-rc, "%s: cannot read the huge page pool: %s",
				    dev->name, strerror(-rc));
	avail = free_p > resv ? free_p - resv : 0;
	if (avail >= pages)
		return 0;
	want = nr + (pages - avail);
	rc = sysfs_hugepages_write(dev->align, "nr_hugepages", want);
	if (rc == 0) {
		uint64_t got = nr;

		sysfs_hugepages_read(dev->align, "nr_hugepages", &got);
		sysfs_hugepages_read(dev->align, "free_hugepages", &free_p);
		sysfs_hugepages_read(dev->align, "resv_hugepages", &resv);
		avail = free_p > resv ? free_p - resv : 0;
		if (avail >= pages) {
			dev->hugetlb_added = got > nr ? got - nr : 0;
			info(ctx, "hugetlb:%s: reserved %llu more huge pages (pool now %llu)",
			     label, (unsigned long long)dev->hugetlb_added,
			     (unsigned long long)got);
			return 0;
		}
		/* The kernel found too little contiguous memory: undo. */
		sysfs_hugepages_write(dev->align, "nr_hugepages", nr);
		return daxalloc_err(ENOMEM,
				    "%s: needs %llu free %s pages, the kernel could only provide %llu (memory too fragmented?); "
				    "reserve them at boot with hugepagesz=%s hugepages=%llu",
				    dev->name, (unsigned long long)pages, label,
				    (unsigned long long)avail, label, (unsigned long long)want);
	}
	return daxalloc_err(ENOMEM,
			    "%s: needs %llu free %s pages, %llu available; reserve them as root with "
			    "'echo %llu > /sys/kernel/mm/hugepages/hugepages-%lukB/nr_hugepages'",
			    dev->name, (unsigned long long)pages, label, (unsigned long long)avail,
			    (unsigned long long)want, kb);
}

/* Huge pages the memfd holds now (hugetlbfs counts blocks of 512 bytes). */
static uint64_t held_pages(struct daxalloc_dev *dev, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return 0;
	return (uint64_t)st.st_blocks * 512 / dev->align;
}

/*
 * Take every page of the stand-in now, as a device's memory exists before
 * it is mapped: later maps then never find the pool emptied by someone
 * else.  Others may take free pages between our check and our allocation
 * (parallel tests, other programs): then grow the pool by what is still
 * missing and try again.
 */
static int hugetlb_take_pages(struct daxalloc_ctx *ctx, struct daxalloc_dev *dev, int fd)
{
	uint64_t pages = dev->size / dev->align, nr, now, missing, grown = 0;
	int rc = 0, e = 0;

	for (int attempt = 0; attempt < 8; attempt++) {
		while ((rc = fallocate(fd, 0, 0, (off_t)dev->size)) < 0 && errno == EINTR)
			;
		if (rc == 0) {
			dev->hugetlb_added += grown;
			return 0;
		}
		e = errno;
		if (e != ENOSPC)
			break;
		missing = pages - held_pages(dev, fd);
		if (sysfs_hugepages_read(dev->align, "nr_hugepages", &nr) < 0 ||
		    sysfs_hugepages_write(dev->align, "nr_hugepages", nr + missing) < 0 ||
		    sysfs_hugepages_read(dev->align, "nr_hugepages", &now) < 0 || now <= nr)
			break;
		grown += now - nr;
		dbg(ctx, "%s: %llu pages taken by others meanwhile; pool grown to %llu", dev->name,
		    (unsigned long long)missing, (unsigned long long)now);
	}
	/* give back what this attempt added; the kernel frees only unused pages */
	if (grown && sysfs_hugepages_read(dev->align, "nr_hugepages", &nr) == 0)
		sysfs_hugepages_write(dev->align, "nr_hugepages", nr > grown ? nr - grown : 0);
	errno = e;
	return daxalloc_err(errno == ENOSPC ? ENOMEM : errno,
			    "%s: cannot take %llu huge pages for the stand-in: %s (reserve them at boot with hugepagesz=%s hugepages=%llu)",
			    dev->name, (unsigned long long)pages, strerror(errno),
			    dev->align == DAXALLOC_SIZE_1G ? "1G" : "2M", (unsigned long long)pages);
}

/*
 * Checking the pool, growing it and taking the pages must not interleave
 * with another stand-in doing the same (parallel tests, several programs):
 * a machine-wide lock in the run folder.  Without one (no permission),
 * go on unlocked; the page-taking loop still copes with losing a race.
 */
static int hugetlb_lock(void)
{
	char path[PATH_MAX];
	int fd;

	mkdir(daxalloc_rundir(), 0755);
	snprintf(path, sizeof(path), "%s/hugetlb.lock", daxalloc_rundir());
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	return fd;
}

static void hugetlb_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void hugetlb_release_locked(struct daxalloc_dev *dev);

void hugetlb_release(struct daxalloc_dev *dev)
{
	int lk;

	if (!dev->hugetlb_added)
		return;
	lk = hugetlb_lock();
	hugetlb_release_locked(dev);
	hugetlb_unlock(lk);
}

static void hugetlb_release_locked(struct daxalloc_dev *dev)
{
	uint64_t nr, free_p, resv, give;

	if (!dev->hugetlb_added)
		return;
	if (sysfs_hugepages_read(dev->align, "nr_hugepages", &nr) ||
	    sysfs_hugepages_read(dev->align, "free_hugepages", &free_p) ||
	    sysfs_hugepages_read(dev->align, "resv_hugepages", &resv))
		return;
	/* Give back only pages nobody holds: another user may have taken some. */
	give = free_p > resv ? free_p - resv : 0;
	if (give > dev->hugetlb_added)
		give = dev->hugetlb_added;
	if (give && give <= nr)
		sysfs_hugepages_write(dev->align, "nr_hugepages", nr - give);
	dev->hugetlb_added = 0;
}

static int hugetlb_open_locked(struct daxalloc_ctx *ctx, const char *name,
			       struct daxalloc_dev *dev);

int hugetlb_open(struct daxalloc_ctx *ctx, const char *name, struct daxalloc_dev *dev)
{
	int lk, rc;

	lk = hugetlb_lock();
	rc = hugetlb_open_locked(ctx, name, dev);
	hugetlb_unlock(lk);
	return rc;
}

static int hugetlb_open_locked(struct daxalloc_ctx *ctx, const char *name,
			       struct daxalloc_dev *dev)
{
	unsigned int flags = MFD_CLOEXEC | MFD_HUGETLB;
	uint64_t align, size;
	int rc, fd;

	rc = hugetlb_parse_name(name, &align, &size);
	if (rc < 0)
		return rc;
	dev->type = DAXALLOC_DEV_HUGETLB;
	dev->align = align;
	dev->size = size;
	dev->region_kind = DAXALLOC_REGION_NONE;
	dev->region_id = -1;
	dev->numa_node = -1;
	dev->target_node = -1;
	dev->resource = UINT64_MAX;
	dev->enabled = true;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	flags |= align == DAXALLOC_SIZE_1G ? MFD_HUGE_1GB : MFD_HUGE_2MB;
	rc = hugetlb_reserve(ctx, dev, size / align);
	if (rc < 0)
		return rc;
	fd = memfd_create(name, flags);
	if (fd < 0) {
		rc = daxalloc_err(errno, "%s: memfd_create(MFD_HUGETLB) failed: %s", name,
				  strerror(errno));
		hugetlb_release_locked(dev);
		return rc;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		rc = daxalloc_err(errno, "%s: cannot size the stand-in to %llu bytes: %s", name,
				  (unsigned long long)size, strerror(errno));
		close(fd);
		hugetlb_release_locked(dev);
		return rc;
	}
	/*
	 * Take the pages now, as a device's memory exists before it is mapped:
	 * later maps then never find the pool emptied by someone else.
	 */
	rc = hugetlb_take_pages(ctx, dev, fd);
	if (rc < 0) {
		close(fd);
		hugetlb_release_locked(dev);
		return rc;
	}
	dev->fd = fd;
	warn(ctx, "%s is a stand-in (hugetlb memory, not device-dax)", name);
	return 0;
}
