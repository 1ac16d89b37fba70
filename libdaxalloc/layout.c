// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Where a device-dax device's memory lies, and which sizes and alignments
 * fit it.  The rules are pure functions; the readers take the layout from
 * sysfs through the redirectable root.
 *
 * The kernel checks only that each range of a device is a whole multiple
 * of its alignment (and of the 2M hotplug subsection), not where a range
 * starts.  A fault of the device alignment is served from the physical
 * address at the same offset, so a 1G device whose memory starts off a 1G
 * boundary would get misaligned 1G pages.  We check the starts too, and
 * place the memory of 1G devices ourselves.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reconfig.h"

uint64_t layout_granule(uint64_t align)
{
	return align > LAYOUT_SUBSECTION ? align : LAYOUT_SUBSECTION;
}

int layout_check_size(const char *name, uint64_t size, uint64_t align)
{
	uint64_t g = layout_granule(align), lo = size / g * g, hi = lo + g;
	char s[32], gs[32], a[32], l[32], h[32], rule[160], near[80];

	if (size && size % g == 0)
		return 0;
	size_str(size, s, sizeof(s));
	size_str(g, gs, sizeof(gs));
	size_str(align, a, sizeof(a));
	if (g == align)
		snprintf(rule, sizeof(rule), "the alignment %s", a);
	else
		snprintf(rule, sizeof(rule),
			 "%s (devices are whole %s hotplug units, even at align %s)", gs, gs, a);
	if (lo)
		snprintf(near, sizeof(near), "sizes: %s or %s", size_str(lo, l, sizeof(l)),
			 size_str(hi, h, sizeof(h)));
	else
		snprintf(near, sizeof(near), "size: %s", size_str(hi, h, sizeof(h)));
	return daxalloc_err(EINVAL, "%s: size %s is not a multiple of %s; nearest valid %s", name,
			    s, rule, near);
}

int layout_check_ranges(const char *name, const struct dax_range *r, int n, uint64_t align)
{
	char a[32];

	size_str(align, a, sizeof(a));
	for (int i = 0; i < n; i++) {
		if (r[i].start % align == 0 && r[i].len % align == 0)
			continue;
		return daxalloc_err(EINVAL,
				    "%s: its memory 0x%llx-0x%llx %s, not on a %s boundary, so %s pages cannot be served from it; destroy it and create a new device with align %s (its memory is then placed on %s boundaries)",
				    name, (unsigned long long)r[i].start,
				    (unsigned long long)(r[i].start + r[i].len - 1),
				    r[i].start % align ? "starts" : "ends", a, a, a, a);
	}
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct dax_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int layout_free_pieces(uint64_t start, uint64_t size, const struct dax_range *used, int nused,
		       uint64_t granule, struct dax_range *out, int max, uint64_t *total)
{
	uint64_t cur = start, end = start + size;
	int n = 0;

	*total = 0;
	for (int i = 0; i <= nused; i++) {
		uint64_t gap_end = i < nused && used[i].start < end ? used[i].start : end;
		uint64_t a = (cur + granule - 1) / granule * granule;
		uint64_t b = gap_end / granule * granule;

		if (b > a) {
			if (n < max)
				out[n] = (struct dax_range){ .start = a, .len = b - a };
			n++;
			*total += b - a;
		}
		if (i < nused && used[i].start + used[i].len > cur)
			cur = used[i].start + used[i].len;
	}
	return n;
}

int layout_plan(const struct dax_range *free, int nfree, uint64_t want, uint64_t granule,
		struct dax_range *out, int max)
{
	uint64_t left = want;
	int n = 0;

	if (want == 0 || want % granule)
		return -EINVAL;
	/* One piece when one fits: the device stays contiguous. */
	for (int i = 0; i < nfree; i++) {
		if (free[i].len >= want) {
			out[0] = (struct dax_range){ .start = free[i].start, .len = want };
			return 1;
		}
	}
	for (int i = 0; i < nfree && left; i++) {
		uint64_t take = free[i].len < left ? free[i].len : left;

		if (n == max)
			return -E2BIG;
		out[n++] = (struct dax_range){ .start = free[i].start, .len = take };
		left -= take;
	}
	return left ? -ENOSPC : n;
}

/*
 * The info block takes 8K at the start of the namespace; the data starts
 * on the next boundary of the alignment (at least the 2M subsection),
 * after the struct page array when that lives on the device, and ends on
 * the last whole boundary.
 */
uint64_t layout_ns_usable(uint64_t ns_start, uint64_t ns_size, uint64_t align, bool memmap_on_device)
{
	uint64_t a = layout_granule(align), reserve = 8192, data, end;

	if (memmap_on_device)
		reserve += 64 * ((ns_size - 8192) / 4096);
	data = (ns_start + reserve + a - 1) / a * a;
	end = (ns_start + ns_size) / a * a;
	return end > data ? end - data : 0;
}

/* ---- sysfs ---- */

static bool is_dax_name(const char *s)
{
	unsigned int r, i;
	char extra;

	return sscanf(s, "dax%u.%u%c", &r, &i, &extra) == 2 && strlen(s) < 32;
}

int layout_read(const char *path, char *buf, size_t len)
{
	const char *root = sysfs_root();
	size_t rl = strlen(root);

	/* sysfs_read_str() takes paths below the root; ours were resolved from it. */
	if (strncmp(path, root, rl) != 0 || path[rl] != '/')
		return -EINVAL;
	return sysfs_read_str(path + rl + 1, buf, len);
}

int layout_write(const char *path, const char *val)
{
	size_t n = strlen(val);
	ssize_t w;
	int fd, rc;

	/* O_TRUNC as a shell redirect does: needed for a recorded tree. */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* sysfs reports the kernel's refusal as the error of this write. */
	w = write(fd, val, n);
	rc = w == (ssize_t)n ? 0 : w < 0 ? -errno : -EIO;
	close(fd);
	return rc;
}

static int read_abs_u64(const char *path, uint64_t *out)
{
	char buf[64], *end;
	int rc = layout_read(path, buf, sizeof(buf));

	if (rc)
		return rc;
	errno = 0;
	*out = strtoull(buf, &end, 0);
	return errno || end == buf || *end ? -EINVAL : 0;
}

/* @dir/@sub/@attr as a number. */
static int read_attr(const char *dir, const char *sub, const char *attr, uint64_t *out)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, attr) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	return read_abs_u64(p, out);
}

static int dev_dir(const char *devname, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/bus/dax/devices/%s", sysfs_root(), devname);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

struct pg_range {
	uint64_t pgoff;
	struct dax_range r;
};

static int cmp_pgoff(const void *a, const void *b)
{
	const struct pg_range *x = a, *y = b;

	return x->pgoff < y->pgoff ? -1 : x->pgoff > y->pgoff;
}

/*
 * @fn for each entry of @dir until it returns non-zero: that, or 0.  The
 * walks of a device's mappings and of a region's devices stop alike.
 */
static int dir_foreach(const char *dir, int (*fn)(const char *dir, const char *name, void *arg),
		       void *arg)
{
	struct dirent *de;
	int rc = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -errno;
	while (rc == 0 && (de = readdir(d)) != NULL)
		rc = fn(dir, de->d_name, arg);
	closedir(d);
	return rc;
}

struct pg_ranges {
	struct pg_range v[LAYOUT_MAX_RANGES];
	int n;
};

static int add_mapping(const char *dir, const char *name, void *arg)
{
	struct pg_ranges *pr = arg;
	uint64_t s, e, off;
	unsigned int id;
	char extra;
	int rc;

	if (sscanf(name, "mapping%u%c", &id, &extra) != 1)
		return 0;
	if (pr->n == LAYOUT_MAX_RANGES)
		return -E2BIG;
	rc = read_attr(dir, name, "start", &s);
	if (!rc)
		rc = read_attr(dir, name, "end", &e);
	if (!rc)
		rc = read_attr(dir, name, "page_offset", &off);
	if (rc || e < s)
		return rc ? rc : -EINVAL;
	pr->v[pr->n++] = (struct pg_range){ .pgoff = off, .r = { .start = s, .len = e - s + 1 } };
	return 0;
}

int layout_dev_ranges(const char *devname, struct dax_range *out, int max)
{
	struct pg_ranges pr = { .n = 0 };
	char dir[PATH_MAX], p[PATH_MAX + 64];
	uint64_t size, res;
	int rc;

	rc = dev_dir(devname, dir, sizeof(dir));
	if (rc)
		return rc;
	rc = dir_foreach(dir, add_mapping, &pr);
	if (rc)
		return rc;
	if (pr.n == 0) {
		/* Kernels before 5.10 list no mappings: one range from resource and size. */
		snprintf(p, sizeof(p), "%s/size", dir);
		rc = read_abs_u64(p, &size);
		if (rc)
			return rc;
		if (size == 0)
			return 0;
		snprintf(p, sizeof(p), "%s/resource", dir);
		rc = read_abs_u64(p, &res);
		if (rc)
			return rc;
		pr.v[pr.n++] = (struct pg_range){ .r = { .start = res, .len = size } };
	}
	qsort(pr.v, (size_t)pr.n, sizeof(pr.v[0]), cmp_pgoff);
	for (int i = 0; i < pr.n && i < max; i++)
		out[i] = pr.v[i].r;
	return pr.n;
}

int layout_dev_driver(const char *devname, char *buf, size_t len)
{
	char dir[PATH_MAX], p[PATH_MAX + 16], target[PATH_MAX];
	const char *base;
	ssize_t n;
	int rc;

	rc = dev_dir(devname, dir, sizeof(dir));
	if (rc)
		return rc;
	if (access(dir, F_OK) != 0)
		return -errno;
	snprintf(p, sizeof(p), "%s/driver", dir);
	n = readlink(p, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno != ENOENT)
			return -errno;
		n = 0;
	}
	target[n] = '\0';
	base = strrchr(target, '/');
	snprintf(buf, len, "%s", base ? base + 1 : target);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * When no empty device tells where the region starts, /proc/iomem does:
 * the devices' ranges sit under the resource that spans the region.
 */
static uint64_t iomem_region_start(const struct dax_region_layout *rl)
{
	char path[PATH_MAX], line[256];
	struct {
		uint64_t start, end;
	} stack[16] = { 0 };
	uint64_t found = UINT64_MAX;
	FILE *f;

	if (rl->ndevs == 0)
		return UINT64_MAX;
	snprintf(path, sizeof(path), "%s/iomem", procfs_root());
	f = fopen(path, "re");
	if (!f)
		return UINT64_MAX;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		char name[64];
		int depth = 0;

		while (line[depth] == ' ')
			depth++;
		if (sscanf(line + depth, "%llx-%llx : %63[^\n]", &s, &e, name) != 3)
			continue;
		depth /= 2;
		if (depth >= 16)
			continue;
		stack[depth].start = s;
		stack[depth].end = e;
		if (strcmp(name, rl->devs[0]) != 0)
			continue;
		for (int up = depth - 1; up >= 0; up--) {
			if (stack[up].end - stack[up].start + 1 == rl->size) {
				found = stack[up].start;
				break;
			}
		}
		break;
	}
	fclose(f);
	return found;
}

struct region_walk {
	struct dax_region_layout *rl;
	bool hidden; /* a device's ranges unreadable: the free pieces unknown */
};

static int add_dev(const char *dir, const char *name, void *arg)
{
	struct region_walk *w = arg;
	struct dax_region_layout *rl = w->rl;
	struct dax_range r[LAYOUT_MAX_RANGES];
	uint64_t size;
	int n;

	if (!is_dax_name(name))
		return 0;
	if (read_attr(dir, name, "size", &size) < 0)
		return 0;
	if (size == 0) {
		/* An empty device reports the region's start as its resource. */
		if (rl->start == UINT64_MAX && read_attr(dir, name, "resource", &rl->start) < 0)
			rl->start = UINT64_MAX;
		return 0;
	}
	if (rl->ndevs == LAYOUT_MAX_DEVS)
		return -E2BIG;
	snprintf(rl->devs[rl->ndevs++], sizeof(rl->devs[0]), "%s", name);
	n = layout_dev_ranges(name, r, LAYOUT_MAX_RANGES);
	if (n == -EACCES || n == -EPERM) {
		/* Only root reads where memory lies: then nobody knows the free pieces. */
		w->hidden = true;
		return 0;
	}
	if (n < 0 || rl->nused + n > LAYOUT_MAX_RANGES)
		return n < 0 ? n : -E2BIG;
	memcpy(&rl->used[rl->nused], r, (size_t)n * sizeof(r[0]));
	rl->nused += n;
	return 0;
}

int layout_region_read(const char *region_dir, struct dax_region_layout *rl)
{
	char p[PATH_MAX + 64], dir[PATH_MAX];
	struct region_walk w = { .rl = rl };
	int rc;

	/* @region_dir may be rl->dir itself. */
	snprintf(dir, sizeof(dir), "%s", region_dir);
	memset(rl, 0, sizeof(*rl));
	snprintf(rl->dir, sizeof(rl->dir), "%s", dir);
	rl->start = UINT64_MAX;
	snprintf(p, sizeof(p), "%s/dax_region/id", dir);
	{
		uint64_t id;

		rc = read_abs_u64(p, &id);
		if (rc)
			return rc;
		rl->id = (int)id;
	}
	snprintf(p, sizeof(p), "%s/dax_region/size", dir);
	rc = read_abs_u64(p, &rl->size);
	if (rc)
		return rc;
	/* Readable by root only; without it the 2M subsection rule still holds. */
	snprintf(p, sizeof(p), "%s/dax_region/align", dir);
	if (read_abs_u64(p, &rl->align) < 0)
		rl->align = 0;
	snprintf(p, sizeof(p), "%s/dax_region/create", dir);
	rl->kind = access(p, F_OK) == 0 ? DAXALLOC_REGION_DYNAMIC : DAXALLOC_REGION_STATIC;
	if (rl->kind == DAXALLOC_REGION_DYNAMIC) {
		snprintf(p, sizeof(p), "%s/dax_region/available_size", dir);
		rc = read_abs_u64(p, &rl->available);
		if (rc)
			return rc;
	}
	rc = dir_foreach(dir, add_dev, &w);
	if (rc)
		return rc;
	qsort(rl->devs, (size_t)rl->ndevs, sizeof(rl->devs[0]), cmp_name);
	qsort(rl->used, (size_t)rl->nused, sizeof(rl->used[0]), cmp_range);
	if (w.hidden)
		rl->start = UINT64_MAX;
	else if (rl->kind == DAXALLOC_REGION_STATIC && rl->nused)
		rl->start = rl->used[0].start;
	else if (rl->start == UINT64_MAX)
		rl->start = iomem_region_start(rl);
	return 0;
}

static int region_dir_of(const char *devname, char *out)
{
	char dir[PATH_MAX], *slash;
	int rc = dev_dir(devname, dir, sizeof(dir));

	if (rc)
		return rc;
	if (!realpath(dir, out))
		return errno == ENOENT ? -ENODEV : -errno;
	slash = strrchr(out, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	return 0;
}

int layout_region_of(const char *devname, struct dax_region_layout *rl)
{
	char dir[PATH_MAX];
	int rc = region_dir_of(devname, dir);

	return rc ? rc : layout_region_read(dir, rl);
}

int layout_region_foreach(int (*fn)(struct dax_region_layout *rl, void *arg), void *arg)
{
	char bus[PATH_MAX], (*seen)[PATH_MAX];
	struct dax_region_layout *rl;
	struct dirent *de;
	int nseen = 0, rc = 0;
	DIR *d;

	snprintf(bus, sizeof(bus), "%s/bus/dax/devices", sysfs_root());
	d = opendir(bus);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	rl = malloc(sizeof(*rl));
	seen = calloc(LAYOUT_MAX_DEVS, sizeof(*seen));
	if (!rl || !seen) {
		free(rl);
		free(seen);
		closedir(d);
		return -ENOMEM;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char dir[PATH_MAX];
		bool dup = false;

		if (!is_dax_name(de->d_name) || region_dir_of(de->d_name, dir) < 0)
			continue;
		for (int i = 0; i < nseen && !dup; i++)
			dup = strcmp(seen[i], dir) == 0;
		if (dup)
			continue;
		if (nseen < LAYOUT_MAX_DEVS)
			memcpy(seen[nseen++], dir, sizeof(dir));
		if (layout_region_read(dir, rl) < 0)
			continue;
		rc = fn(rl, arg);
	}
	closedir(d);
	free(rl);
	free(seen);
	return rc;
}

struct by_id {
	int id;
	struct dax_region_layout *out;
	bool found;
};

static int match_id(struct dax_region_layout *rl, void *arg)
{
	struct by_id *b = arg;

	if (rl->id != b->id || rl->kind != DAXALLOC_REGION_DYNAMIC)
		return 0;
	*b->out = *rl;
	b->found = true;
	return 1;
}

int layout_region_by_id(int id, struct dax_region_layout *rl)
{
	struct by_id b = { .id = id, .out = rl };
	int rc = layout_region_foreach(match_id, &b);

	if (rc < 0)
		return rc;
	return b.found ? 0 : -ENODEV;
}
