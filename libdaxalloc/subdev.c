// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Devices in dynamic dax regions (hmem, CXL RAM): create, resize, destroy,
 * and how much room a region has left.
 *
 * Up to 2M alignment the kernel places a device's memory itself: every
 * allocation in the region is a multiple of 2M from a 2M-aligned start.
 * For 1G it might pick a place off a 1G boundary (it checks only sizes),
 * so the memory is placed here, through the device's "mapping" attribute,
 * in pieces that start and end on 1G.
 *
 * The region's folder is locked (flock) while a device is carved out, so
 * two callers of this library do not both take the region's seed device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "reconfig.h"

static int region_lock(const struct dax_region_layout *rl)
{
	int fd = open(rl->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int rc = -errno;

			close(fd);
			return rc;
		}
	}
	return fd;
}

static void region_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void fill_info(const struct dax_region_layout *rl, struct daxalloc_daxregion_info *info)
{
	struct dax_range pieces[LAYOUT_MAX_RANGES];
	uint64_t total;
	int n;

	memset(info, 0, sizeof(*info));
	info->struct_size = sizeof(*info);
	info->id = rl->id;
	info->kind = rl->kind;
	info->start = rl->start;
	info->size = rl->size;
	info->align = rl->align;
	info->available = rl->available;
	info->devices = (unsigned int)rl->ndevs;
	if (rl->kind != DAXALLOC_REGION_DYNAMIC || rl->start == UINT64_MAX) {
		/* Where the free space lies is unknown: only its total is. */
		info->largest_free = rl->available;
		return;
	}
	n = layout_free_pieces(rl->start, rl->size, rl->used, rl->nused, DAXALLOC_SIZE_2M, pieces,
			       LAYOUT_MAX_RANGES, &total);
	for (int i = 0; i < n && i < LAYOUT_MAX_RANGES; i++)
		if (pieces[i].len > info->largest_free)
			info->largest_free = pieces[i].len;
	n = layout_free_pieces(rl->start, rl->size, rl->used, rl->nused, DAXALLOC_SIZE_1G, pieces,
			       LAYOUT_MAX_RANGES, &info->available_1g);
	for (int i = 0; i < n && i < LAYOUT_MAX_RANGES; i++)
		if (pieces[i].len > info->largest_free_1g)
			info->largest_free_1g = pieces[i].len;
}

struct foreach_args {
	int (*fn)(const struct daxalloc_daxregion_info *info, void *arg);
	void *arg;
};

static int foreach_one(struct dax_region_layout *rl, void *arg)
{
	struct foreach_args *fa = arg;
	struct daxalloc_daxregion_info info;
	struct api_saved s;
	int rc;

	fill_info(rl, &info);
	api_pause(&s);
	rc = fa->fn(&info, fa->arg);
	api_resume(&s);
	return rc;
}

/* Exported through versions.c: 0.1's info had no size (compat-0.1.c). */
int daxalloc_daxregion_foreach(struct daxalloc_ctx *ctx,
			       int (*fn)(const struct daxalloc_daxregion_info *info, void *arg),
			       void *arg)
{
	API_CALL(ctx);
	struct foreach_args fa = { .fn = fn, .arg = arg };
	int rc;

	if (!ctx || !fn)
		return daxalloc_err(EINVAL, "daxalloc_daxregion_foreach: NULL argument");
	rc = layout_region_foreach(foreach_one, &fa);
	if (rc < 0)
		return daxalloc_err(-rc, "cannot list the dax regions: %s", strerror(-rc));
	return rc;
}

static int region_get(int region_id, struct dax_region_layout *rl)
{
	int rc = layout_region_by_id(region_id, rl);

	if (rc == -ENODEV)
		return daxalloc_err(ENODEV,
				    "dax region %d: no such dynamic region (static pmem regions have no room for new devices; see daxalloc-ctl regions-free)",
				    region_id);
	if (rc < 0)
		return daxalloc_err(-rc, "dax region %d: cannot read it from sysfs: %s", region_id,
				    strerror(-rc));
	return 0;
}

/* Exported through versions.c: 0.1's info had no size (compat-0.1.c). */
int daxalloc_daxregion_get_info(struct daxalloc_ctx *ctx, int region_id,
				struct daxalloc_daxregion_info *info)
{
	API_CALL(ctx);
	struct daxalloc_daxregion_info all;
	struct dax_region_layout rl;
	int rc, n;

	if (!ctx || !info)
		return daxalloc_err(EINVAL, "daxalloc_daxregion_get_info: NULL argument");
	n = SIZED(info, daxregion_info);
	if (n < 0)
		return n;
	rc = region_get(region_id, &rl);
	if (rc < 0)
		return rc;
	fill_info(&rl, &all);
	sized_copy(info, &all, n);
	return 0;
}

/* The pieces a device of @align could get, and their total. */
static int room(const struct dax_region_layout *rl, uint64_t align, struct dax_range *pieces,
		uint64_t *total)
{
	uint64_t g = layout_granule(align);

	if (g <= DAXALLOC_SIZE_2M) {
		/* The kernel's own placement is aligned: all free space counts. */
		*total = rl->available;
		return 0;
	}
	if (rl->start == UINT64_MAX)
		return daxalloc_err(EIO,
				    "dax region %d: cannot tell where it starts (no empty device, nothing in /proc/iomem), so cannot place %llu-aligned memory",
				    rl->id, (unsigned long long)align);
	return layout_free_pieces(rl->start, rl->size, rl->used, rl->nused, g, pieces,
				  LAYOUT_MAX_RANGES, total);
}

DAXALLOC_EXPORT int daxalloc_daxregion_get_available(struct daxalloc_ctx *ctx, int region_id,
						     uint64_t align, uint64_t *bytes)
{
	API_CALL(ctx);
	struct dax_range pieces[LAYOUT_MAX_RANGES];
	struct dax_region_layout rl;
	int rc;

	if (!ctx || !bytes)
		return daxalloc_err(EINVAL, "daxalloc_daxregion_get_available: NULL argument");
	if (!daxalloc_align_is_valid(align))
		return daxalloc_err(EINVAL, "align %llu: device-dax offers 4K, 2M or 1G",
				    (unsigned long long)align);
	rc = region_get(region_id, &rl);
	if (rc == 0)
		rc = room(&rl, align, pieces, bytes);
	return rc < 0 ? rc : 0;
}

static int no_room(const struct dax_region_layout *rl, uint64_t want, uint64_t align,
		   uint64_t total, const char *what)
{
	char w[32], a[32], t[32], f[32];

	return daxalloc_err(ENOSPC,
			    "dax region %d: no room to %s %s at align %s: %s free, of which %s in whole %s pieces on %s boundaries",
			    rl->id, what, size_str(want, w, sizeof(w)),
			    size_str(align, a, sizeof(a)), size_str(rl->available, f, sizeof(f)),
			    size_str(total, t, sizeof(t)), a, a);
}

/*
 * Give @name @want more bytes: a size write when the kernel's placement
 * is aligned anyway, else explicit pieces through "mapping".  Through
 * libdaxctl's context of @ctx; with @ctx NULL, by hand.
 */
static int grow(struct daxalloc_ctx *ctx, const char *name, const struct dax_region_layout *rl,
		uint64_t cur, uint64_t want, uint64_t align)
{
	struct dax_range pieces[LAYOUT_MAX_RANGES], plan[LAYOUT_MAX_RANGES];
	char rel[128], path[PATH_MAX], val[64];
	uint64_t total;
	int n, rc;

	n = room(rl, align, pieces, &total);
	if (n < 0)
		return n;
	if (total < want)
		return no_room(rl, want, align, total, cur ? "grow by" : "create");
	if (layout_granule(align) <= DAXALLOC_SIZE_2M) {
		snprintf(rel, sizeof(rel), "bus/dax/devices/%s/size", name);
		rc = ctx ? rc_daxctl_set(ctx, name, RC_ATTR_SIZE, cur + want, 0) :
			   sysfs_write_u64(rel, cur + want);
		if (rc < 0)
			return daxalloc_err(-rc, "%s: the kernel refused size %llu: %s", name,
					    (unsigned long long)(cur + want), strerror(-rc));
		return 0;
	}
	n = layout_plan(pieces, n < LAYOUT_MAX_RANGES ? n : LAYOUT_MAX_RANGES, want,
			layout_granule(align), plan, LAYOUT_MAX_RANGES);
	if (n < 0)
		return no_room(rl, want, align, total, cur ? "grow by" : "create");
	snprintf(path, sizeof(path), "%s/bus/dax/devices/%s/mapping", sysfs_root(), name);
	for (int i = 0; i < n; i++) {
		snprintf(val, sizeof(val), "%#llx-%#llx", (unsigned long long)plan[i].start,
			 (unsigned long long)(plan[i].start + plan[i].len - 1));
		rc = ctx ? rc_daxctl_set(ctx, name, RC_ATTR_MAPPING, plan[i].start,
					 plan[i].start + plan[i].len - 1) :
			   layout_write(path, val);
		if (rc < 0)
			return daxalloc_err(-rc, "%s: the kernel refused memory %s: %s", name, val,
					    strerror(-rc));
	}
	return 0;
}

/* A half-made device of daxalloc_dev_create(), by hand as the rest of it. */
static int set_size_zero(const char *name)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "bus/dax/devices/%s/size", name);
	return sysfs_write_u64(rel, 0);
}

static int delete_dev(const struct dax_region_layout *rl, const char *name)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/dax_region/delete", rl->dir);
	return layout_write(path, name);
}

static int read_size(const char *name, uint64_t *size)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "bus/dax/devices/%s/size", name);
	return sysfs_read_u64(rel, size);
}

struct pick {
	uint64_t size, align;
	struct dax_region_layout *out;
	bool found;
};

static int pick_region(struct dax_region_layout *rl, void *arg)
{
	struct dax_range pieces[LAYOUT_MAX_RANGES];
	struct pick *p = arg;
	uint64_t total = 0;

	if (rl->kind != DAXALLOC_REGION_DYNAMIC)
		return 0;
	if (!p->found) {
		*p->out = *rl; /* the first dynamic region, for the message */
		p->found = true;
	}
	if (room(rl, p->align, pieces, &total) < 0 || total < p->size)
		return 0;
	*p->out = *rl;
	return 1;
}

DAXALLOC_EXPORT int daxalloc_dev_create(struct daxalloc_ctx *ctx, int region_id, uint64_t size,
					uint64_t align, char *name_out, size_t len)
{
	API_CALL(ctx);
	struct dax_region_layout rl;
	char path[PATH_MAX + 32], seed[32], rel[128], what[48], s[32], a[32];
	uint64_t got = 0;
	int lock, rc;

	if (!ctx || !name_out || !len)
		return daxalloc_err(EINVAL, "daxalloc_dev_create: NULL argument");
	name_out[0] = '\0';
	if (!daxalloc_align_is_valid(align))
		return daxalloc_err(EINVAL, "align %s: device-dax offers 4K, 2M or 1G",
				    size_str(align, a, sizeof(a)));
	snprintf(what, sizeof(what), "new device in dax region %d", region_id);
	if (region_id < 0)
		snprintf(what, sizeof(what), "new device");
	rc = layout_check_size(what, size, align);
	if (rc < 0)
		return rc;
	if (region_id >= 0) {
		rc = region_get(region_id, &rl);
	} else {
		struct pick p = { .size = size, .align = align, .out = &rl };

		rc = layout_region_foreach(pick_region, &p);
		if (rc >= 0 && !p.found)
			return daxalloc_err(ENODEV,
					    "no dynamic dax region (hmem, CXL RAM) on this machine");
		rc = rc < 0 ? daxalloc_err(-rc, "cannot list the dax regions: %s", strerror(-rc)) : 0;
	}
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/dax_region/create", rl.dir);
	snprintf(what, sizeof(what), "dax region %d", rl.id);
	rc = rc_check_writable(what, path);
	if (rc < 0)
		return rc;
	lock = region_lock(&rl);
	if (lock < 0)
		return daxalloc_err(-lock, "dax region %d: cannot lock %s: %s", rl.id, rl.dir,
				    strerror(-lock));
	/* Under the lock: what the region looks like now. */
	rc = layout_region_read(rl.dir, &rl);
	if (rc < 0) {
		rc = daxalloc_err(-rc, "dax region %d: cannot read it from sysfs: %s", rl.id,
				  strerror(-rc));
		goto out;
	}
	/* Room first, when it can be told without a seed (1G needs the region's start). */
	if (layout_granule(align) <= DAXALLOC_SIZE_2M || rl.start != UINT64_MAX) {
		struct dax_range pieces[LAYOUT_MAX_RANGES];

		rc = room(&rl, align, pieces, &got);
		if (rc >= 0 && got < size)
			rc = no_room(&rl, size, align, got, "create");
		if (rc < 0)
			goto out;
		got = 0;
	}
	snprintf(path, sizeof(path), "%s/dax_region/create", rl.dir);
	rc = layout_write(path, "1");
	if (rc < 0) {
		rc = rc == -ENOSPC ?
			     no_room(&rl, size, align, 0, "create") :
			     daxalloc_err(-rc, "dax region %d: the kernel refused a new device: %s",
					  rl.id, strerror(-rc));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/dax_region/seed", rl.dir);
	rc = layout_read(path, seed, sizeof(seed));
	if (rc == 0 && !seed[0])
		rc = -ENODEV;
	if (rc < 0) {
		rc = daxalloc_err(-rc, "dax region %d: no seed device after create: %s", rl.id,
				  strerror(-rc));
		goto out;
	}
	/* The seed is empty: it tells where the region starts. */
	rc = layout_region_of(seed, &rl);
	if (rc < 0) {
		rc = daxalloc_err(-rc, "%s: cannot read its region: %s", seed, strerror(-rc));
		goto undo;
	}
	/* By hand: the unit tests run create on a recorded sysfs tree, which libdaxctl cannot read. */
	snprintf(rel, sizeof(rel), "bus/dax/devices/%s/align", seed);
	rc = sysfs_write_u64(rel, align);
	if (rc < 0) {
		rc = daxalloc_err(-rc, "%s: the kernel refused align %s: %s", seed,
				  size_str(align, a, sizeof(a)), strerror(-rc));
		goto undo;
	}
	rc = grow(NULL, seed, &rl, 0, size, align);
	if (rc == 0 && (read_size(seed, &got) < 0 || got != size))
		rc = daxalloc_err(EIO, "%s: asked for %s, the kernel gave %llu bytes", seed,
				  size_str(size, s, sizeof(s)), (unsigned long long)got);
	if (rc == 0)
		rc = rc_enable(ctx, seed);
	if (rc == 0) {
		/* Memory is not cleared between devices: no pool of an earlier one shows through. */
		rc_wipe_pool(ctx, seed, "left on its memory by an earlier device");
		snprintf(name_out, len, "%s", seed);
		info(ctx, "%s: created in dax region %d: %s at align %s", seed, rl.id,
		     size_str(size, s, sizeof(s)), size_str(align, a, sizeof(a)));
		goto out;
	}
undo:
	/* Give the memory back and drop the device: the region is as it was. */
	if (set_size_zero(seed) < 0 || delete_dev(&rl, seed) < 0)
		warn(ctx, "%s: could not remove the half-made device; 'daxctl destroy-device %s'",
		     seed, seed);
out:
	region_unlock(lock);
	dev_rescan(ctx);
	return rc;
}

/* The entry for a dynamic device, or the reason there is none. */
static int dynamic_dev(struct daxalloc_ctx *ctx, const char *arg, char *name, size_t len,
		       struct daxalloc_dev *out, unsigned int flags)
{
	char path[PATH_MAX];
	struct daxalloc_dev *d;
	int rc;

	rc = rc_lookup(ctx, arg, flags, name, len, &d);
	if (rc < 0)
		return rc;
	if (d->region_kind != DAXALLOC_REGION_DYNAMIC)
		return daxalloc_err(EOPNOTSUPP,
				    "%s: is in a static (pmem) region: its size is its namespace's; only devices of dynamic regions are resized or destroyed here",
				    name);
	snprintf(path, sizeof(path), "%s/bus/dax/devices/%s/size", sysfs_root(), name);
	rc = rc_check_writable(name, path);
	if (rc < 0)
		return rc;
	*out = *d;
	out->next = NULL;
	return 0;
}

static int dev_resize(struct daxalloc_ctx *ctx, const char *arg, uint64_t size, unsigned int flags)
{
	struct dax_region_layout rl;
	struct daxalloc_dev d;
	struct rc_gate gate;
	char name[32], s[32], o[32];
	uint64_t got = 0;
	int lock = -1, rc;

	rc = dynamic_dev(ctx, arg, name, sizeof(name), &d, flags);
	if (rc < 0)
		return rc;
	if (size == d.size)
		return 0;
	if (size == 0)
		return daxalloc_err(EINVAL, "%s: size 0: destroy it instead (daxalloc_dev_destroy)",
				    name);
	rc = layout_check_size(name, size, d.align);
	if (rc < 0)
		return rc;
	rc = layout_region_of(name, &rl);
	if (rc < 0)
		return daxalloc_err(-rc, "%s: cannot read its region: %s", name, strerror(-rc));
	if (size > d.size) {
		struct dax_range pieces[LAYOUT_MAX_RANGES];
		uint64_t total;

		rc = room(&rl, d.align, pieces, &total);
		if (rc >= 0 && total < size - d.size)
			rc = no_room(&rl, size - d.size, d.align, total, "grow by");
		if (rc < 0)
			return rc;
	}
	rc = rc_gate(ctx, name, d.enabled, flags, "resize it", &gate);
	if (rc < 0)
		return rc;
	lock = region_lock(&rl);
	if (lock < 0)
		return daxalloc_err(-lock, "dax region %d: cannot lock it: %s", rl.id,
				    strerror(-lock));
	if (d.enabled) {
		rc = rc_disable(ctx, name);
		if (rc < 0)
			goto out;
	}
	layout_region_of(name, &rl);
	if (size < d.size) {
		/* The kernel trims from the end: whole units, starts unchanged. */
		rc = rc_daxctl_set(ctx, name, RC_ATTR_SIZE, size, 0);
		if (rc < 0)
			rc = daxalloc_err(-rc, "%s: the kernel refused size %s: %s", name,
					  size_str(size, s, sizeof(s)), strerror(-rc));
	} else {
		rc = grow(ctx, name, &rl, d.size, size - d.size, d.align);
	}
	if (rc == 0 && (read_size(name, &got) < 0 || got != size))
		rc = daxalloc_err(EIO, "%s: asked for %s, the kernel shows %llu bytes", name,
				  size_str(size, s, sizeof(s)), (unsigned long long)got);
	if (rc < 0) {
		char reason[300];

		/* Back to the old size (a shrink of what was added), then enabled. */
		snprintf(reason, sizeof(reason), "%s", daxalloc_errmsg());
		if (read_size(name, &got) == 0 && got > d.size)
			rc_daxctl_set(ctx, name, RC_ATTR_SIZE, d.size, 0);
		if (read_size(name, &got) < 0 || got != d.size)
			rc = daxalloc_err(-rc,
					  "%s; its size is now %llu bytes (was %s), disabled; fix it with 'daxctl reconfigure-device -s SIZE %s' and 'daxctl enable-device %s'",
					  reason, (unsigned long long)got,
					  size_str(d.size, o, sizeof(o)), name, name);
		else if (d.enabled && rc_enable(ctx, name) < 0)
			rc = daxalloc_err(-rc,
					  "%s; its size is unchanged but it is disabled: 'daxctl enable-device %s'",
					  reason, name);
		else
			rc = daxalloc_err(-rc, "%s; it is unchanged", reason);
		goto out;
	}
	if (d.enabled) {
		rc = rc_enable(ctx, name);
		if (rc < 0)
			goto out;
		if (gate.had_pool)
			rc_wipe_pool(ctx, name, "its size changed");
	}
	info(ctx, "%s: size %s -> %s", name, size_str(d.size, o, sizeof(o)),
	     size_str(size, s, sizeof(s)));
out:
	region_unlock(lock);
	dev_rescan(ctx);
	return rc;
}

DAXALLOC_EXPORT int daxalloc_dev_resize(struct daxalloc_ctx *ctx, const char *arg, uint64_t size,
					unsigned int flags)
{
	API_CALL(ctx);
	return rc_gate_end(ctx, dev_resize(ctx, arg, size, flags));
}

static int dev_destroy(struct daxalloc_ctx *ctx, const char *arg, unsigned int flags)
{
	struct dax_region_layout rl;
	struct daxalloc_dev d;
	struct rc_gate gate;
	char name[32];
	int rc;

	if (arg && strncmp(arg, "hugetlb:", 8) == 0)
		return hugetlb_release_kept(ctx, arg, flags);
	rc = dynamic_dev(ctx, arg, name, sizeof(name), &d, flags);
	if (rc < 0)
		return rc;
	rc = layout_region_of(name, &rl);
	if (rc < 0)
		return daxalloc_err(-rc, "%s: cannot read its region: %s", name, strerror(-rc));
	rc = rc_gate(ctx, name, d.enabled, flags, "destroy it", &gate);
	if (rc < 0)
		return rc;
	/* Nothing is erased before the disable: a refused one leaves the device as it was. */
	if (d.enabled)
		rc = rc_disable(ctx, name);
	if (rc < 0)
		return rc;
	/*
	 * The memory goes back to the region: no pool of ours may show up in
	 * the next device.  Nobody maps it now; enabled again only to erase
	 * the pool, it is disabled again before its memory goes.
	 */
	if (gate.had_pool) {
		rc = rc_enable(ctx, name);
		if (rc == 0) {
			rc_wipe_pool(ctx, name, "the device is destroyed");
			rc = rc_disable(ctx, name);
			if (rc < 0)
				return daxalloc_err(-rc,
						    "%s; its pool is erased and it is enabled: destroy it again",
						    daxalloc_errmsg());
		} else {
			warn(ctx,
			     "%s: could not enable it to erase its pool (%s); the next device made on its memory by this library erases it",
			     name, daxalloc_errmsg());
			daxalloc_err_clear(); /* warned: the destroy goes on */
		}
	}
	rc = rc_daxctl_set(ctx, name, RC_ATTR_SIZE, 0, 0);
	if (rc < 0) {
		int e = -rc;

		if (d.enabled && rc_enable(ctx, name) == 0)
			return daxalloc_err(e,
					    "%s: the kernel refused to free its memory: %s; it is enabled again, unchanged",
					    name, strerror(e));
		return daxalloc_err(e,
				    "%s: the kernel refused to free its memory: %s; it is disabled: 'daxctl enable-device %s'",
				    name, strerror(e), name);
	}
	rc = delete_dev(&rl, name);
	/* The kernel keeps device 0 of every region: emptied is all it can be. */
	if (rc < 0 && rc != -EBUSY)
		warn(ctx, "%s: emptied, but the kernel kept the device: %s", name, strerror(-rc));
	info(ctx, "%s: destroyed", name);
	return dev_rescan(ctx);
}

DAXALLOC_EXPORT int daxalloc_dev_destroy(struct daxalloc_ctx *ctx, const char *arg, unsigned int flags)
{
	API_CALL(ctx);
	return rc_gate_end(ctx, dev_destroy(ctx, arg, flags));
}
