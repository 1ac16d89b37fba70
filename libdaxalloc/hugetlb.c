// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The stand-in for machines without device-dax: a memfd of huge pages, or,
 * once kept (a pool formatted with DAXALLOC_POOL_KEEP), a file on a
 * hugetlbfs mounted in the run folder, which outlives processes until
 * daxalloc_dev_destroy() releases it.  It enforces the same alignment rules
 * as a devdax device of that alignment, so code written against it behaves
 * the same on real devdax.
 *
 * Huge pages the pool lacks are taken as surplus pages (the kernel's
 * nr_overcommit_hugepages), never by growing nr_hugepages: the kernel frees
 * surplus pages when their last user goes, so a process killed with SIGKILL
 * gives its pages back like one that closes.  The overcommit limit is raised
 * only while the pages are taken, and set back at once.  That write is
 * why the stand-in takes its pages in the library: a program using it
 * in-process gets the pages its device needs and no more, whatever the
 * pool holds; nothing here measures or reserves for later.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/magic.h>
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

const char *daxalloc_rundir(void)
{
	const char *d = secure_getenv("DAXALLOC_RUNDIR");

	return d && *d ? d : "/run/daxalloc";
}

static const char *page_label(uint64_t align)
{
	return align == DAXALLOC_SIZE_1G ? "1G" : "2M";
}

/* Huge pages the file holds now (hugetlbfs counts blocks of 512 bytes). */
static uint64_t held_pages(struct daxalloc_dev *dev, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return 0;
	return (uint64_t)st.st_blocks * 512 / dev->align;
}

/* Free pages nobody has a reservation on. */
static int pages_available(struct daxalloc_dev *dev, uint64_t *avail)
{
	uint64_t free_p, resv;
	int rc;

	rc = sysfs_hugepages_read(dev->align, "free_hugepages", &free_p);
	if (rc == -ENOENT)
		return daxalloc_err(EOPNOTSUPP, "%s: this kernel offers no %s huge pages",
				    dev->name, page_label(dev->align));
	if (rc == 0)
		rc = sysfs_hugepages_read(dev->align, "resv_hugepages", &resv);
	if (rc < 0)
		return daxalloc_err(-rc, "%s: cannot read the huge page pool: %s", dev->name,
				    strerror(-rc));
	*avail = free_p > resv ? free_p - resv : 0;
	return 0;
}

/* May this process let the kernel take surplus pages?  Writing the limit back as it is tells. */
static bool may_overcommit(uint64_t align, uint64_t *limit)
{
	return sysfs_hugepages_read(align, "nr_overcommit_hugepages", limit) == 0 &&
	       sysfs_hugepages_write(align, "nr_overcommit_hugepages", *limit) == 0;
}

/* What to say when the pages cannot be had. */
static int no_pages(struct daxalloc_dev *dev, uint64_t pages, uint64_t avail, bool root)
{
	const char *label = page_label(dev->align);
	uint64_t nr = 0;

	sysfs_hugepages_read(dev->align, "nr_hugepages", &nr);
	if (root)
		return daxalloc_err(ENOMEM,
				    "%s: needs %llu free %s pages, the kernel could only provide %llu (memory too fragmented?); "
				    "reserve them at boot with hugepagesz=%s hugepages=%llu",
				    dev->name, (unsigned long long)pages, label,
				    (unsigned long long)avail, label, (unsigned long long)pages);
	return daxalloc_err(ENOMEM,
			    "%s: needs %llu free %s pages, %llu available; reserve them as root with "
			    "'echo %llu > /sys/kernel/mm/hugepages/hugepages-%lukB/nr_hugepages'",
			    dev->name, (unsigned long long)pages, label, (unsigned long long)avail,
			    (unsigned long long)(nr + pages - avail),
			    (unsigned long)(dev->align >> 10));
}

/*
 * Checking the pool, raising the limit and taking the pages must not
 * interleave with another stand-in doing the same (parallel tests, several
 * programs): a machine-wide lock in the run folder.  Without one (no
 * permission), go on unlocked; the page-taking loop still copes with
 * losing a race.
 */
/* Who holds the flock on @fd's file: the first pid /proc/locks names, or 0. */
static int lock_holder(int fd)
{
	char line[256], want[64];
	struct stat st;
	int pid = 0;
	FILE *f;

	if (fstat(fd, &st) < 0)
		return 0;
	snprintf(want, sizeof(want), ":%llu ", (unsigned long long)st.st_ino);
	f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	while (!pid && fgets(line, sizeof(line), f))
		if (strstr(line, "FLOCK") && strstr(line, want))
			sscanf(line, "%*s FLOCK %*s %*s %d", &pid);
	fclose(f);
	return pid;
}

/*
 * The machine's huge page counters are changed by one stand-in at a time:
 * a lock file in the run folder.  Anyone who can open it can hold it, so
 * the wait is bounded ($DAXALLOC_LOCK_TIMEOUT seconds, default 60) and
 * names the holder.  Returns the fd, or -errno with the message set.
 */
static int hugetlb_lock(void)
{
	const char *env = secure_getenv("DAXALLOC_LOCK_TIMEOUT");
	double limit = env && *env ? strtod(env, NULL) : 60;
	char path[PATH_MAX], who[40];
	uint64_t until;
	int fd, rc, pid;

	if (!(limit > 0 && limit <= 3600))
		limit = 60;
	mkdir(daxalloc_rundir(), 0755);
	snprintf(path, sizeof(path), "%s/hugetlb.lock", daxalloc_rundir());
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && (errno == EACCES || errno == EROFS))
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC); /* flock needs no write */
	if (fd < 0)
		return daxalloc_err(errno, "cannot open the stand-in lock %s: %s", path,
				    strerror(errno));
	until = mono_ns() + (uint64_t)(limit * 1e9);
	while ((rc = flock(fd, LOCK_EX | LOCK_NB)) < 0 && (errno == EWOULDBLOCK || errno == EINTR)) {
		if (mono_ns() >= until)
			break;
		usleep(10000);
	}
	if (rc == 0)
		return fd;
	rc = errno;
	pid = lock_holder(fd);
	close(fd);
	if (rc != EWOULDBLOCK)
		return daxalloc_err(rc, "cannot lock %s: %s", path, strerror(rc));
	if (pid)
		snprintf(who, sizeof(who), "pid %d", pid);
	else
		snprintf(who, sizeof(who), "a process not visible here");
	return daxalloc_err(EBUSY,
			    "the stand-in lock %s has been held by %s for over %g s (it guards the machine's huge page counters; $DAXALLOC_LOCK_TIMEOUT)",
			    path, who, limit);
}

static void hugetlb_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/*
 * Give @fd every page of the stand-in now, as a device's memory exists
 * before it is mapped: later maps then never find the pool emptied by
 * someone else.  Free pages first; what is missing as surplus pages, when
 * we may raise the overcommit limit.  Others may take free pages between
 * our check and our allocation: then raise the limit by what is still
 * missing and try again.
 */
static int take_pages_locked(struct daxalloc_dev *dev, int fd)
{
	uint64_t pages = dev->size / dev->align, limit = 0, surplus, avail = 0;
	bool raised = false, root = false;
	int rc = 0, e = 0;

	for (int attempt = 0; attempt < 8; attempt++) {
		while ((rc = fallocate(fd, 0, 0, (off_t)dev->size)) < 0 && errno == EINTR)
			;
		if (rc == 0)
			break;
		e = errno;
		if (e != ENOSPC)
			break;
		if (!raised) {
			root = may_overcommit(dev->align, &limit);
			if (!root)
				break;
		}
		if (sysfs_hugepages_read(dev->align, "surplus_hugepages", &surplus) < 0 ||
		    sysfs_hugepages_write(dev->align, "nr_overcommit_hugepages",
					  surplus + pages - held_pages(dev, fd)) < 0)
			break;
		raised = true;
	}
	if (raised)
		sysfs_hugepages_write(dev->align, "nr_overcommit_hugepages", limit);
	if (rc == 0)
		return 0;
	if (e != ENOSPC)
		return daxalloc_err(e, "%s: cannot take %llu huge pages for the stand-in: %s",
				    dev->name, (unsigned long long)pages, strerror(e));
	pages_available(dev, &avail);
	avail += held_pages(dev, fd);
	/* Nothing half-taken stays behind. */
	fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)dev->size);
	return no_pages(dev, pages, avail, root);
}

int hugetlb_take_pages(struct daxalloc_dev *dev)
{
	int lk, rc;

	if (__atomic_load_n(&dev->pages_taken, __ATOMIC_ACQUIRE))
		return 0;
	lk = hugetlb_lock();
	if (lk < 0)
		return lk;
	rc = take_pages_locked(dev, dev->fd);
	hugetlb_unlock(lk);
	if (rc == 0) {
		__atomic_store_n(&dev->pages_taken, true, __ATOMIC_RELEASE);
		dbg(dev->ctx, "%s: took %llu huge pages", dev->name,
		    (unsigned long long)(dev->size / dev->align));
	}
	return rc;
}

int hugetlb_no_pool_yet(struct daxalloc_dev *dev)
{
	char k[32];

	if (!dev || dev->type != DAXALLOC_DEV_HUGETLB || dev->kept ||
	    __atomic_load_n(&dev->pages_taken, __ATOMIC_ACQUIRE))
		return 0;
	if (dev->kept_size) {
		daxalloc_size_format(dev->kept_size, k, sizeof(k));
		return daxalloc_err(ENODATA,
				    "%s: holds no pool: the kept stand-in is hugetlb:%s:%s (or hugetlb:%s); another size is a new, empty one",
				    dev->name, page_label(dev->align), k, page_label(dev->align));
	}
	return daxalloc_err(ENODATA,
			    "%s: holds no pool: a stand-in keeps one across processes only once formatted ('daxalloc-ctl format hugetlb:%s', or DAXALLOC_POOL_KEEP)",
			    dev->name, page_label(dev->align));
}

/* $DAXALLOC_RUNDIR/hugetlb-2M: where the kept stand-in of that page size lives. */
static int kept_paths(uint64_t align, char *dir, size_t dlen, char *file, size_t flen)
{
	if (snprintf(dir, dlen, "%s/hugetlb-%s", daxalloc_rundir(), page_label(align)) >= (int)dlen ||
	    snprintf(file, flen, "%s/standin", dir) >= (int)flen)
		return daxalloc_err(ENAMETOOLONG, "run folder path too long: %s", daxalloc_rundir());
	return 0;
}

static bool is_hugetlbfs(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) == 0 && sf.f_type == HUGETLBFS_MAGIC;
}

/*
 * The kept stand-in, if there is one: only a regular file on our hugetlbfs,
 * owned by root or by us (the run folder may be shared).  0 and @fd set,
 * -ENOENT if none is kept, or another -errno with the message.
 */
static int open_kept(struct daxalloc_dev *dev, int *fd)
{
	char dir[PATH_MAX], file[PATH_MAX];
	struct stat st;
	int rc;

	rc = kept_paths(dev->align, dir, sizeof(dir), file, sizeof(file));
	if (rc < 0)
		return rc;
	if (lstat(file, &st) < 0 || !is_hugetlbfs(dir))
		return -ENOENT;
	if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()))
		return daxalloc_err(EPERM,
				    "%s: %s is not a stand-in kept by root or by this user; refusing it",
				    dev->name, file);
	*fd = open(file, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return daxalloc_err(errno, "%s: cannot open the kept stand-in %s: %s%s", dev->name,
				    file, strerror(errno),
				    errno == EACCES ?
					    " (kept by another user; run as that user or root)" :
					    "");
	return 0;
}

void hugetlb_dev_facts(struct daxalloc_dev *dev)
{
	dev->type = DAXALLOC_DEV_HUGETLB;
	dev->region_kind = DAXALLOC_REGION_NONE;
	dev->region_id = -1;
	dev->numa_node = -1;
	dev->target_node = -1;
	dev->resource = UINT64_MAX;
	dev->enabled = true;
}

int hugetlb_open(struct daxalloc_ctx *ctx, const char *name, struct daxalloc_dev *dev)
{
	unsigned int flags = MFD_CLOEXEC | MFD_HUGETLB;
	uint64_t align, size, avail, limit;
	const char *sized = strchr(name + 8, ':');
	struct stat st;
	int rc, fd;

	rc = hugetlb_parse_name(name, &align, &size);
	if (rc < 0)
		return rc;
	hugetlb_dev_facts(dev);
	dev->align = align;
	dev->size = size;
	dev->ctx = ctx;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	rc = pages_available(dev, &avail);
	if (rc < 0)
		return rc;
	/*
	 * The kept stand-in answers to "hugetlb:2M" and to its own size; a
	 * name with another size is another stand-in, of this process only.
	 */
	rc = open_kept(dev, &fd);
	if (rc == 0 && fstat(fd, &st) == 0 && sized && (uint64_t)st.st_size != size) {
		dev->kept_size = (uint64_t)st.st_size;
		close(fd);
		rc = -ENOENT;
	}
	if (rc == 0) {
		dev->size = (uint64_t)st.st_size;
		dev->fd = fd;
		dev->kept = true;
		dev->pages_taken = true;
		warn(ctx, "%s is a stand-in (hugetlb memory, not device-dax), kept until released",
		     name);
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	/*
	 * Nothing is taken before the first map: describing a stand-in costs
	 * no memory.  Say now if the pages can never be had.
	 */
	if (avail < size / align && !may_overcommit(align, &limit))
		return no_pages(dev, size / align, avail, false);
	flags |= align == DAXALLOC_SIZE_1G ? MFD_HUGE_1GB : MFD_HUGE_2MB;
	fd = memfd_create(name, flags);
	if (fd < 0)
		return daxalloc_err(errno, "%s: memfd_create(MFD_HUGETLB) failed: %s", name,
				    strerror(errno));
	if (ftruncate(fd, (off_t)size) < 0) {
		rc = daxalloc_err(errno, "%s: cannot size the stand-in to %llu bytes: %s", name,
				  (unsigned long long)size, strerror(errno));
		close(fd);
		return rc;
	}
	dev->fd = fd;
	warn(ctx, "%s is a stand-in (hugetlb memory, not device-dax)", name);
	return 0;
}

/*
 * Make the stand-in outlive this process: its memory moves to a file on
 * a hugetlbfs mounted (once, by root) in the run folder.  Only before
 * anything maps it: the memfd's contents are not carried over.
 */
int hugetlb_keep(struct daxalloc_dev *dev)
{
	char dir[PATH_MAX], file[PATH_MAX], opts[64];
	int rc, fd, lk;

	if (dev->kept)
		return 0;
	if (__atomic_load_n(&dev->refs, __ATOMIC_ACQUIRE) > 1)
		return daxalloc_err(EBUSY, "%s: mapped or in a pool already; keep it before using it",
				    dev->name);
	rc = kept_paths(dev->align, dir, sizeof(dir), file, sizeof(file));
	if (rc < 0)
		return rc;
	lk = hugetlb_lock();
	if (lk < 0)
		return lk;
	if (!is_hugetlbfs(dir)) {
		snprintf(opts, sizeof(opts), "pagesize=%s,mode=0755", page_label(dev->align));
		if ((mkdir(dir, 0755) < 0 && errno != EEXIST) ||
		    mount("daxalloc", dir, "hugetlbfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0) {
			rc = daxalloc_err(errno,
					  "%s: cannot mount hugetlbfs (%s) at %s to keep the stand-in: %s%s",
					  dev->name, opts, dir, strerror(errno),
					  errno == EPERM ? " (needs root)" : "");
			goto out;
		}
	}
	fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = daxalloc_err(errno, "%s: cannot create %s: %s%s", dev->name, file,
				  strerror(errno),
				  errno == EEXIST ?
					  " (another process kept one meanwhile: open it again)" :
					  "");
		goto out;
	}
	rc = ftruncate(fd, (off_t)dev->size) < 0 ? -errno : take_pages_locked(dev, fd);
	if (rc < 0) {
		if (rc != -ENOMEM)
			daxalloc_err(-rc, "%s: cannot size %s: %s", dev->name, file, strerror(-rc));
		close(fd);
		unlink(file);
		goto out;
	}
	close(dev->fd);
	dev->fd = fd;
	dev->kept = true;
	dev->pages_taken = true;
	info(dev->ctx, "%s: kept in %s until released", dev->name, file);
out:
	hugetlb_unlock(lk);
	return rc;
}

/* Give a kept stand-in's pages back: its file goes, then the mount. */
int hugetlb_release_kept(struct daxalloc_ctx *ctx, const char *name, unsigned int flags)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_dev *dev = NULL;
	char dir[PATH_MAX], file[PATH_MAX];
	uint64_t align, size;
	int rc, lk;

	rc = hugetlb_parse_name(name, &align, &size);
	if (rc < 0)
		return rc;
	rc = kept_paths(align, dir, sizeof(dir), file, sizeof(file));
	if (rc < 0)
		return rc;
	rc = daxalloc_dev_open(ctx, name, &dev);
	if (rc < 0)
		return rc;
	if (!dev->kept) {
		daxalloc_dev_close(&dev);
		return daxalloc_err(ENOENT,
				    "%s: no stand-in is kept (format one with 'daxalloc-ctl format %s')",
				    name, name);
	}
	/* As for a device: a pool's regions go only when the caller says so. */
	if (daxalloc_pool_check(dev, 0, &rep) >= 0 && rep.regions &&
	    !(flags & DAXALLOC_RECONFIG_DESTROY_DATA)) {
		daxalloc_dev_close(&dev);
		return daxalloc_err(EBUSY,
				    "%s: its pool holds %u regions; releasing destroys them (--destroy-data / DAXALLOC_RECONFIG_DESTROY_DATA)",
				    name, rep.regions);
	}
	daxalloc_dev_close(&dev);
	lk = hugetlb_lock();
	if (lk < 0)
		return lk;
	rc = unlink(file) < 0 ?
		     daxalloc_err(errno, "%s: cannot remove %s: %s", name, file, strerror(errno)) :
		     0;
	/* Mappings that remain keep their pages until they go; the name is free now. */
	if (rc == 0 && umount2(dir, MNT_DETACH) == 0)
		rmdir(dir);
	hugetlb_unlock(lk);
	if (rc == 0)
		info(ctx, "%s: released", name);
	return rc;
}
