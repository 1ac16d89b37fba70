// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pin ledger: which process pins what on a device, visible to every
 * process.  Pins die with their process, so the ledger lives in volatile
 * storage ($DAXALLOC_RUNDIR, default /run/daxalloc): one file per device
 * of fixed-size records, changed under flock.  A record whose owner is
 * gone (pid reused or not, the start time tells) is ignored and pruned.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pin.h"

#define LEDGER_MAGIC "DAXPINS"
#define LEDGER_VERSION 1
#define LEDGER_HDR_SIZE 64
#define REC_SIZE sizeof(struct pin_ledger_rec)

_Static_assert(sizeof(struct pin_ledger_rec) == 256, "ledger records are 256 bytes");

struct ledger_hdr {
	char magic[8];
	uint32_t version;
	uint32_t rec_size;
	uint8_t reserved[LEDGER_HDR_SIZE - 16];
};

const char *daxalloc_rundir(void)
{
	const char *d = getenv("DAXALLOC_RUNDIR");

	return d && *d ? d : "/run/daxalloc";
}

static int ledger_path(const char *devname, char *path, size_t len)
{
	if (!*devname || strchr(devname, '/') || devname[0] == '.')
		return daxalloc_err(EINVAL, "'%s': not a device name for the pin ledger", devname);
	if (snprintf(path, len, "%s/%s.pins", daxalloc_rundir(), devname) >= (int)len)
		return daxalloc_err(ENAMETOOLONG, "%s: pin ledger path too long under %s", devname,
				    daxalloc_rundir());
	return 0;
}

int pin_ledger_owner(struct pin_ledger_rec *rec)
{
	uint64_t start, boot;
	pid_t pid = getpid();

	if (procfs_pid_starttime(pid, &start) < 0 || procfs_boot_id_hash(&boot) < 0)
		return daxalloc_err(EIO, "cannot read this process's start time from /proc");
	rec->pid = (uint32_t)pid;
	rec->start = start;
	rec->boot = boot;
	return 0;
}

static bool owner_alive(const struct pin_ledger_rec *r, uint64_t boot)
{
	uint64_t start;

	if (r->boot != boot)
		return false;
	if (procfs_pid_starttime((int)r->pid, &start) < 0)
		return false;
	return start == r->start;
}

/*
 * Open and lock the ledger.  @create: make the folder and file (writers);
 * readers that may not write fall back to a shared, read-only lock.
 * Returns the fd, -ENOENT when there is no ledger yet, or -errno.
 */
static int ledger_open(const char *devname, bool create, bool *writable)
{
	char path[PATH_MAX];
	struct ledger_hdr h;
	struct stat st;
	int fd, rc;

	rc = ledger_path(devname, path, sizeof(path));
	if (rc < 0)
		return rc;
	if (create && mkdir(daxalloc_rundir(), 0755) < 0 && errno != EEXIST)
		return daxalloc_err(errno,
				    "%s: cannot create the pin ledger folder %s: %s (set $DAXALLOC_RUNDIR to a folder every user of the device can write)",
				    devname, daxalloc_rundir(), strerror(errno));
	*writable = true;
	/* The folder may be shared: a link planted there must not redirect writes. */
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0644);
	if (fd < 0 && !create && errno == EACCES) {
		*writable = false;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		if (errno == ENOENT && !create)
			return -ENOENT;
		if (errno == ELOOP)
			return daxalloc_err(ELOOP,
					    "%s: the pin ledger %s is a symbolic link; links are not followed",
					    devname, path);
		return daxalloc_err(errno,
				    "%s: cannot open the pin ledger %s: %s (set $DAXALLOC_RUNDIR to a folder every user of the device can write)",
				    devname, path, strerror(errno));
	}
	while ((rc = flock(fd, *writable ? LOCK_EX : LOCK_SH)) < 0 && errno == EINTR)
		;
	if (rc < 0 || fstat(fd, &st) < 0) {
		rc = daxalloc_err(errno, "%s: cannot lock the pin ledger %s: %s", devname, path,
				  strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return daxalloc_err(EINVAL, "%s: the pin ledger %s is not a regular file", devname,
				    path);
	}
	if (st.st_size == 0 && *writable) {
		memset(&h, 0, sizeof(h));
		memcpy(h.magic, LEDGER_MAGIC, sizeof(LEDGER_MAGIC));
		h.version = LEDGER_VERSION;
		h.rec_size = REC_SIZE;
		if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
			rc = daxalloc_err(errno ? errno : EIO, "%s: cannot write the pin ledger %s",
					  devname, path);
			close(fd);
			return rc;
		}
		return fd;
	}
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, LEDGER_MAGIC, sizeof(LEDGER_MAGIC)) != 0 ||
	    h.version != LEDGER_VERSION || h.rec_size != REC_SIZE) {
		close(fd);
		return daxalloc_err(EPROTO,
				    "%s: %s is not a pin ledger of this version (remove it if no process holds pins)",
				    devname, path);
	}
	return fd;
}

static uint32_t ledger_slots(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || st.st_size <= LEDGER_HDR_SIZE)
		return 0;
	return (uint32_t)((st.st_size - LEDGER_HDR_SIZE) / (off_t)REC_SIZE);
}

static off_t slot_pos(uint32_t slot)
{
	return LEDGER_HDR_SIZE + (off_t)slot * (off_t)REC_SIZE;
}

/*
 * Read every slot; free those of dead owners when @fix.  Returns the
 * number of slots; *recs holds them all (live ones have state LIVE).
 */
static int ledger_load(int fd, bool fix, struct pin_ledger_rec **recs)
{
	uint32_t n = ledger_slots(fd), last_live = 0;
	struct pin_ledger_rec *r;
	uint64_t boot = 0;

	*recs = NULL;
	if (n == 0)
		return 0;
	r = calloc(n, REC_SIZE);
	if (!r)
		return daxalloc_err(ENOMEM, "out of memory");
	if (pread(fd, r, (size_t)n * REC_SIZE, slot_pos(0)) != (ssize_t)((size_t)n * REC_SIZE)) {
		free(r);
		return daxalloc_err(EIO, "short read of the pin ledger");
	}
	procfs_boot_id_hash(&boot);
	for (uint32_t i = 0; i < n; i++) {
		if (r[i].state != PIN_REC_LIVE)
			continue;
		if (owner_alive(&r[i], boot)) {
			last_live = i + 1;
			continue;
		}
		memset(&r[i], 0, REC_SIZE);
		if (fix)
			pwrite(fd, &r[i], REC_SIZE, slot_pos(i));
	}
	/* Keep the file as short as its last live record. */
	if (fix && last_live < n && ftruncate(fd, slot_pos(last_live)) == 0)
		n = last_live;
	*recs = r;
	return (int)n;
}

int pin_ledger_add(const char *devname, struct pin_ledger_rec *rec, int *slot)
{
	struct pin_ledger_rec *all;
	bool writable;
	int fd, n, i, rc = 0;

	fd = ledger_open(devname, true, &writable);
	if (fd < 0)
		return fd;
	n = ledger_load(fd, true, &all);
	if (n < 0) {
		close(fd);
		return n;
	}
	for (i = 0; i < n && all[i].state == PIN_REC_LIVE; i++)
		;
	free(all);
	rec->state = PIN_REC_LIVE;
	if (pwrite(fd, rec, REC_SIZE, slot_pos((uint32_t)i)) != (ssize_t)REC_SIZE)
		rc = daxalloc_err(errno ? errno : EIO, "%s: cannot write the pin ledger under %s: %s",
				  devname, daxalloc_rundir(), strerror(errno ? errno : EIO));
	else
		*slot = i;
	close(fd);
	return rc;
}

int pin_ledger_remove(const char *devname, int slot, uint64_t id)
{
	struct pin_ledger_rec r;
	bool writable;
	int fd, rc = 0;

	fd = ledger_open(devname, false, &writable);
	if (fd < 0)
		return fd == -ENOENT ? daxalloc_err(ENOENT, "%s: the pin ledger vanished", devname) : fd;
	if (!writable) {
		close(fd);
		return daxalloc_err(EACCES, "%s: the pin ledger under %s is not writable", devname,
				    daxalloc_rundir());
	}
	if (pread(fd, &r, REC_SIZE, slot_pos((uint32_t)slot)) != (ssize_t)REC_SIZE ||
	    r.state != PIN_REC_LIVE || r.pid != (uint32_t)getpid() || r.id != id) {
		rc = daxalloc_err(ENOENT, "%s: pin record %d is not this process's", devname, slot);
	} else {
		memset(&r, 0, REC_SIZE);
		if (pwrite(fd, &r, REC_SIZE, slot_pos((uint32_t)slot)) != (ssize_t)REC_SIZE)
			rc = daxalloc_err(EIO, "%s: cannot write the pin ledger", devname);
		else if ((uint32_t)slot + 1 == ledger_slots(fd))
			ftruncate(fd, slot_pos((uint32_t)slot));
	}
	close(fd);
	return rc;
}

int pin_ledger_set_consumer(const char *devname, int slot, uint64_t id, const char *consumer)
{
	struct pin_ledger_rec r;
	bool writable;
	int fd, rc = 0;

	fd = ledger_open(devname, false, &writable);
	if (fd < 0)
		return fd == -ENOENT ? daxalloc_err(ENOENT, "%s: the pin ledger vanished", devname) : fd;
	if (pread(fd, &r, REC_SIZE, slot_pos((uint32_t)slot)) != (ssize_t)REC_SIZE ||
	    r.state != PIN_REC_LIVE || r.pid != (uint32_t)getpid() || r.id != id) {
		rc = daxalloc_err(ENOENT, "%s: pin record %d is not this process's", devname, slot);
	} else {
		memset(r.consumer, 0, sizeof(r.consumer));
		snprintf(r.consumer, sizeof(r.consumer), "%s", consumer);
		if (!writable || pwrite(fd, &r, REC_SIZE, slot_pos((uint32_t)slot)) != (ssize_t)REC_SIZE)
			rc = daxalloc_err(EIO, "%s: cannot write the pin ledger", devname);
	}
	close(fd);
	return rc;
}

static int by_offset(const void *a, const void *b)
{
	const struct pin_ledger_rec *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int pin_ledger_read(const char *devname, struct pin_ledger_rec **out)
{
	struct pin_ledger_rec *all;
	bool writable;
	int fd, n, live = 0;

	*out = NULL;
	fd = ledger_open(devname, false, &writable);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	n = ledger_load(fd, writable, &all);
	close(fd);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (all[i].state == PIN_REC_LIVE)
			all[live++] = all[i];
	if (live == 0) {
		free(all);
		return 0;
	}
	qsort(all, (size_t)live, REC_SIZE, by_offset);
	*out = all;
	return live;
}

static void who_line(char *who, size_t len, int count, const char *consumer, int pid,
		     const char *command)
{
	if (!who || !len)
		return;
	if (count == 0)
		snprintf(who, len, "nobody");
	else if (count == 1)
		snprintf(who, len, "%s, pid %d (%s)", consumer, pid, command);
	else
		snprintf(who, len, "%s, pid %d (%s), and %d more", consumer, pid, command,
			 count - 1);
}

int pin_ledger_count(const char *devname, char *who, size_t wholen)
{
	struct pin_ledger_rec *recs;
	struct pin_holder h = { 0 };
	int n;

	if (!devname)
		return daxalloc_err(EINVAL, "pin_ledger_count: NULL device name");
	if (strncmp(devname, "/dev/", 5) == 0)
		devname += 5;
	if (strncmp(devname, "hugetlb:", 8) == 0) {
		n = pin_local_count(devname, &h);
		who_line(who, wholen, n, h.consumer, h.pid, h.command);
		return n;
	}
	n = pin_ledger_read(devname, &recs);
	if (n < 0)
		return n;
	if (n > 0)
		who_line(who, wholen, n, recs[0].consumer, (int)recs[0].pid, recs[0].command);
	else
		who_line(who, wholen, 0, "", 0, "");
	free(recs);
	return n;
}
