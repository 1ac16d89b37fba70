// SPDX-License-Identifier: LGPL-2.1-or-later
/* Device enumeration (libdaxctl, libndctl) and opening by name. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <daxctl/libdaxctl.h>
#include <ndctl/libndctl.h>

#include "private.h"

/*
 * The namespace behind a pmem device.  Several namespaces of one nd region
 * share the dax region id, so match the device itself: each namespace's
 * dax region lists only its own device.
 */
static void dev_fill_namespace(struct daxalloc_ctx *ctx, struct daxalloc_dev *d)
{
	struct ndctl_bus *bus;
	struct ndctl_region *region;
	struct ndctl_dax *dax;

	if (!ctx->ndctl)
		return;
	ndctl_bus_foreach(ctx->ndctl, bus) {
		ndctl_region_foreach(bus, region) {
			ndctl_dax_foreach(region, dax) {
				struct daxctl_region *dr;
				struct ndctl_namespace *ns;
				struct daxctl_dev *dd;
				bool mine = false;

				if (!ndctl_dax_is_enabled(dax))
					continue;
				dr = ndctl_dax_get_daxctl_region(dax);
				if (!dr)
					continue;
				daxctl_dev_foreach(dr, dd)
					mine |= strcmp(daxctl_dev_get_devname(dd), d->name) == 0;
				ns = mine ? ndctl_dax_get_namespace(dax) : NULL;
				if (!ns)
					continue;
				snprintf(d->ns_name, sizeof(d->ns_name), "%s",
					 ndctl_namespace_get_devname(ns));
				d->has_ns = true;
				d->memmap_in_ram = ndctl_dax_get_location(dax) != NDCTL_PFN_LOC_PMEM;
				d->region_kind = DAXALLOC_REGION_STATIC;
				return;
			}
		}
	}
}

static struct daxalloc_dev *dev_from_daxctl(struct daxalloc_ctx *ctx, struct daxctl_dev *dd)
{
	struct daxalloc_dev *d = calloc(1, sizeof(*d));
	unsigned long long res;

	if (!d)
		return NULL;
	d->ctx = ctx;
	d->fd = -1;
	d->type = DAXALLOC_DEV_DEVDAX;
	snprintf(d->name, sizeof(d->name), "%s", daxctl_dev_get_devname(dd));
	snprintf(d->path, sizeof(d->path), "/dev/%s", d->name);
	d->size = daxctl_dev_get_size(dd);
	d->align = daxctl_dev_get_align(dd);
	res = daxctl_dev_get_resource(dd);
	/* libdaxctl reports 0 or ULLONG_MAX when the kernel hides it. */
	d->resource = res == 0 || res == ULLONG_MAX ? UINT64_MAX : res;
	d->target_node = daxctl_dev_get_target_node(dd);
	if (daxctl_dev_get_major(dd) > 0 && daxctl_dev_get_minor(dd) >= 0) {
		d->major = (unsigned int)daxctl_dev_get_major(dd);
		d->minor = (unsigned int)daxctl_dev_get_minor(dd);
	}
	d->region_id = daxctl_region_get_id(daxctl_dev_get_region(dd));
	/*
	 * libdaxctl calls a device bound to kmem enabled too, but it has no
	 * /dev node then: it is RAM, never a device to open (nor a default).
	 */
	d->system_ram = daxctl_dev_get_memory(dd) != NULL;
	d->enabled = daxctl_dev_is_enabled(dd) && !d->system_ram;
	d->memmap_in_ram = true;
	if (sysfs_dax_numa_node(d->name, &d->numa_node) < 0)
		d->numa_node = -1;
	if (sysfs_dax_region_kind(d->name, &d->region_kind) < 0)
		d->region_kind = DAXALLOC_REGION_UNKNOWN;
	if (d->region_kind != DAXALLOC_REGION_DYNAMIC)
		dev_fill_namespace(ctx, d);
	return d;
}

int dev_scan(struct daxalloc_ctx *ctx)
{
	struct daxalloc_dev **tail = &ctx->devs;
	struct daxctl_region *region;
	struct daxctl_dev *dd;

	if (ctx->scanned)
		return 0;
	ctx->scanned = true;
	daxctl_region_foreach(ctx->daxctl, region) {
		daxctl_dev_foreach(region, dd) {
			struct daxalloc_dev *d;

			/* Size-0 devices are the seeds of dynamic regions. */
			if (daxctl_dev_get_size(dd) == 0)
				continue;
			d = dev_from_daxctl(ctx, dd);
			if (!d)
				return daxalloc_err(ENOMEM, "out of memory listing devices");
			*tail = d;
			tail = &d->next;
		}
	}
	return 0;
}

void dev_drop_lists(struct daxalloc_ctx *ctx)
{
	while (ctx->devs) {
		struct daxalloc_dev *d = ctx->devs;

		ctx->devs = d->next;
		free(d);
	}
	if (ctx->ndctl)
		ndctl_unref(ctx->ndctl);
	if (ctx->daxctl)
		daxctl_unref(ctx->daxctl);
	ctx->ndctl = NULL;
	ctx->daxctl = NULL;
}

/*
 * libdaxctl and libndctl read sysfs once per context and keep what they
 * saw; after a device is created, resized or re-created only new
 * contexts see it.
 */
int dev_rescan(struct daxalloc_ctx *ctx)
{
	struct daxctl_ctx *dc;
	struct ndctl_ctx *nc = NULL;
	int rc;

	rc = daxctl_new(&dc);
	if (rc < 0)
		return daxalloc_err(-rc, "libdaxctl initialisation failed: %s", strerror(-rc));
	/* As daxalloc_ctx_new(): quiet unless debugging, we report errors. */
	daxctl_set_log_priority(dc, ctx->log_priority >= LOG_DEBUG ? LOG_DEBUG : 0);
	if (ndctl_new(&nc) < 0)
		nc = NULL;
	else
		ndctl_set_log_priority(nc, ctx->log_priority >= LOG_DEBUG ? LOG_DEBUG : 0);
	dev_drop_lists(ctx);
	ctx->daxctl = dc;
	ctx->ndctl = nc;
	ctx->scanned = false;
	return dev_scan(ctx);
}

DAXALLOC_EXPORT struct daxalloc_dev *daxalloc_dev_get_first(struct daxalloc_ctx *ctx)
{
	API_CALL(ctx);
	if (!ctx || dev_scan(ctx) < 0)
		return NULL;
	return ctx->devs;
}

DAXALLOC_EXPORT struct daxalloc_dev *daxalloc_dev_get_next(struct daxalloc_dev *dev)
{
	return dev && !dev->opened ? dev->next : NULL;
}

/* "dax<region>.<id>" and nothing else: names are also path components. */
static bool valid_devdax_name(const char *s)
{
	const char *p = s;

	if (strncmp(p, "dax", 3) != 0)
		return false;
	p += 3;
	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p++ != '.' || !isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	return *p == '\0' && (size_t)(p - s) < 32;
}

static struct daxalloc_dev *find_listed(struct daxalloc_ctx *ctx, const char *name)
{
	struct daxalloc_dev *d;

	for (d = ctx->devs; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

/* Says what @name is instead; lstat: a link is described, never followed. */
static int explain_not_devdax(const char *name)
{
	char target[128];
	struct stat st;
	ssize_t n;

	if (lstat(name, &st) < 0)
		return daxalloc_err(errno == ENOENT ? ENODEV : errno,
				    "%s: %s; expected a device-dax name (dax0.0), its /dev path, or hugetlb:2M|1G",
				    name, strerror(errno));
	if (S_ISLNK(st.st_mode)) {
		n = readlink(name, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		return daxalloc_err(ENODEV,
				    "%s: is a symbolic link (to %s); links are not followed: name the device itself (daxN.M or /dev/daxN.M)",
				    name, n > 0 ? target : "?");
	}
	if (S_ISDIR(st.st_mode))
		return daxalloc_err(ENODEV, "%s: is a directory, not a device-dax device", name);
	if (S_ISREG(st.st_mode))
		return daxalloc_err(ENODEV, "%s: is a regular file, not a device-dax device", name);
	return daxalloc_err(ENODEV, "%s: is not a device-dax device (no entry in /sys/bus/dax)",
			    name);
}

static int open_devdax(struct daxalloc_ctx *ctx, const char *arg, struct daxalloc_dev *out)
{
	const char *name = arg;
	struct daxalloc_dev *d;
	struct stat st;
	int fd;

	if (strncmp(name, "/dev/", 5) == 0)
		name += 5;
	if (!valid_devdax_name(name)) {
		if (arg[0] == '/' || strchr(arg, '/'))
			return explain_not_devdax(arg);
		return daxalloc_err(EINVAL,
				    "'%s': not a device name; expected daxN.M, /dev/daxN.M or hugetlb:2M|1G",
				    arg);
	}
	d = find_listed(ctx, name);
	if (!d)
		return daxalloc_err(ENODEV, "%s: no such device-dax device (see daxalloc-ctl list)",
				    name);
	if (d->system_ram)
		return daxalloc_err(ENXIO,
				    "%s: is in system-ram mode (its memory is online as RAM, no /dev node); "
				    "make it a device again with 'daxctl reconfigure-device --mode=devdax %s'",
				    name, name);
	if (!d->enabled)
		return daxalloc_err(ENXIO,
				    "%s: device is disabled (no driver bound); enable it with 'daxctl enable-device %s'",
				    name, name);
	*out = *d;
	out->next = NULL;
	/* Only the node itself: a link planted in /dev could lead anywhere. */
	fd = open(out->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;

		if (e == ELOOP)
			return daxalloc_err(ENODEV,
					    "%s: %s is a symbolic link, not the device node; links are not followed",
					    name, out->path);
		if (e == EACCES || e == EPERM)
			return daxalloc_err(e,
					    "%s: permission denied opening %s read-write (needs root or a udev rule granting access)",
					    name, out->path);
		return daxalloc_err(e, "%s: cannot open %s: %s", name, out->path, strerror(e));
	}
	/* The node must be the character device sysfs describes, not a stand-in file. */
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
		close(fd);
		return daxalloc_err(ENODEV, "%s: %s is not a character device", name, out->path);
	}
	if (out->major && (major(st.st_rdev) != out->major || minor(st.st_rdev) != out->minor)) {
		close(fd);
		return daxalloc_err(ENODEV,
				    "%s: %s is character device %u:%u, but sysfs says %s is %u:%u; refusing a node that is not the device",
				    name, out->path, major(st.st_rdev), minor(st.st_rdev), name,
				    out->major, out->minor);
	}
	out->fd = fd;
	return 0;
}

/*
 * The stand-in the default falls to: 1G pages where a free one is there to
 * be had (the kernel cannot take 1G pages as surplus), else 2M.  Read from
 * sysfs, nothing reserved, so a listing names what a map then uses.
 */
static const char *default_standin(void)
{
	uint64_t nr;

	if (sysfs_hugepages_read(DAXALLOC_SIZE_1G, "free_hugepages", &nr) == 0 && nr > 0)
		return "hugetlb:1G";
	return "hugetlb:2M";
}

DAXALLOC_EXPORT const char *daxalloc_ctx_get_default_device(struct daxalloc_ctx *ctx)
{
	const char *env = secure_getenv("DAXALLOC_DEVICE");
	struct daxalloc_dev *d;

	if (env && *env)
		return env;
	for (d = ctx && dev_scan(ctx) == 0 ? ctx->devs : NULL; d; d = d->next)
		if (d->enabled)
			return d->name;
	return default_standin();
}

static int open_default(struct daxalloc_ctx *ctx, struct daxalloc_dev *out)
{
	const char *env = secure_getenv("DAXALLOC_DEVICE");
	const char *name = daxalloc_ctx_get_default_device(ctx);
	char first[512];
	int rc;

	if (strncmp(name, "hugetlb:", 8) != 0)
		return open_devdax(ctx, name, out);
	if (env && *env)
		return hugetlb_open(ctx, name, out);
	info(ctx, "no enabled device-dax device; using the hugetlb stand-in %s", name);
	rc = hugetlb_open(ctx, name, out);
	if (rc == 0 || strcmp(name, "hugetlb:1G") != 0)
		return rc;
	/* 1G pages offered but none to be had (fragmented memory): 2M will do. */
	snprintf(first, sizeof(first), "%s", daxalloc_errmsg());
	rc = hugetlb_open(ctx, "hugetlb:2M", out);
	if (rc < 0)
		return daxalloc_err(-rc, "no device-dax device, and no stand-in: %s; %s", first,
				    daxalloc_errmsg());
	daxalloc_err_clear(); /* the 1G failure is not the caller's */
	return 0;
}

DAXALLOC_EXPORT int daxalloc_dev_open(struct daxalloc_ctx *ctx, const char *name,
				      struct daxalloc_dev **out)
{
	API_CALL(ctx);
	struct daxalloc_dev *d;
	int rc;

	if (!out)
		return daxalloc_err(EINVAL, "daxalloc_dev_open: NULL out-pointer");
	*out = NULL;
	if (!ctx)
		return daxalloc_err(EINVAL, "daxalloc_dev_open: NULL context");
	if (name && !*name)
		return daxalloc_err(EINVAL, "empty device name");
	rc = dev_scan(ctx);
	if (rc < 0)
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		return daxalloc_err(ENOMEM, "out of memory");
	d->fd = -1;
	if (!name)
		rc = open_default(ctx, d);
	else if (strncmp(name, "hugetlb:", 8) == 0)
		rc = hugetlb_open(ctx, name, d);
	else
		rc = open_devdax(ctx, name, d);
	if (rc < 0) {
		free(d);
		return rc;
	}
	d->ctx = ctx;
	d->opened = true;
	d->refs = 1;
	ctx_get(ctx);
	dbg(ctx, "opened %s (size %llu, align %llu)", d->name, (unsigned long long)d->size,
	    (unsigned long long)d->align);
	*out = d;
	return 0;
}

/* Maps of several threads take and drop references: atomically. */
struct daxalloc_dev *dev_get(struct daxalloc_dev *dev)
{
	__atomic_add_fetch(&dev->refs, 1, __ATOMIC_RELAXED);
	return dev;
}

void dev_put(struct daxalloc_dev *dev)
{
	if (__atomic_sub_fetch(&dev->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	/* A stand-in's memfd gives its pages back as it closes. */
	if (dev->fd >= 0)
		close(dev->fd);
	if (dev->opened)
		ctx_put(dev->ctx);
	free(dev);
}

DAXALLOC_EXPORT void daxalloc_dev_close(struct daxalloc_dev **pdev)
{
	if (!pdev || !*pdev)
		return;
	/* Enumerated devices belong to the context. */
	if ((*pdev)->opened)
		dev_put(*pdev);
	*pdev = NULL;
}

DAXALLOC_GETTER(const char *, dev, name, name, NULL)

DAXALLOC_EXPORT const char *daxalloc_dev_get_path(struct daxalloc_dev *dev)
{
	return dev && dev->type == DAXALLOC_DEV_DEVDAX ? dev->path : NULL;
}

DAXALLOC_GETTER(enum daxalloc_dev_type, dev, type, type, 0)

DAXALLOC_EXPORT bool daxalloc_dev_is_standin(struct daxalloc_dev *dev)
{
	return dev && dev->type == DAXALLOC_DEV_HUGETLB;
}

DAXALLOC_GETTER(uint64_t, dev, size, size, 0)
DAXALLOC_GETTER(uint64_t, dev, align, align, 0)
DAXALLOC_GETTER(int, dev, numa_node, numa_node, -1)
DAXALLOC_GETTER(int, dev, target_node, target_node, -1)
DAXALLOC_GETTER(int, dev, region_id, region_id, -1)
DAXALLOC_GETTER(enum daxalloc_region_kind, dev, region_kind, region_kind, DAXALLOC_REGION_UNKNOWN)
DAXALLOC_GETTER(uint64_t, dev, resource, resource, UINT64_MAX)

DAXALLOC_EXPORT bool daxalloc_dev_is_enabled(struct daxalloc_dev *dev)
{
	return dev && dev->enabled;
}

DAXALLOC_EXPORT const char *daxalloc_dev_get_mode(struct daxalloc_dev *dev)
{
	if (!dev)
		return NULL;
	if (dev->type == DAXALLOC_DEV_HUGETLB)
		return "hugetlb";
	return dev->system_ram ? "system-ram" : "devdax";
}

DAXALLOC_EXPORT const char *daxalloc_dev_get_namespace(struct daxalloc_dev *dev)
{
	return dev && dev->has_ns ? dev->ns_name : NULL;
}

DAXALLOC_EXPORT bool daxalloc_dev_memmap_in_ram(struct daxalloc_dev *dev)
{
	return dev && dev->memmap_in_ram;
}

DAXALLOC_EXPORT const char *daxalloc_region_kind_name(enum daxalloc_region_kind kind)
{
	switch (kind) {
	case DAXALLOC_REGION_STATIC:
		return "static";
	case DAXALLOC_REGION_DYNAMIC:
		return "dynamic";
	case DAXALLOC_REGION_NONE:
		return "none";
	default:
		return "unknown";
	}
}
