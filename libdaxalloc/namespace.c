// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The alignment of a pmem namespace in devdax mode is written in its info
 * block, so changing it means re-creating the namespace's devdax
 * personality (what `ndctl create-namespace -f -e namespaceX.Y -m devdax
 * -a ALIGN` does): the namespace itself keeps its size, place, name and
 * labels; its dax instance is deleted and a fresh one claims it with the
 * new alignment.  The data start moves with the alignment, so the contents
 * are lost, and at 1G up to 1G goes to padding.
 *
 * Unlike ndctl we leave the old info block until the new one overwrites
 * it: until then a failed attempt can still be undone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <ndctl/libndctl.h>

#include "reconfig.h"

static struct ndctl_namespace *find_ns(struct daxalloc_ctx *ctx, const char *ns_name)
{
	struct ndctl_namespace *ndns;
	struct ndctl_region *region;
	struct ndctl_bus *bus;

	if (!ctx->ndctl)
		return NULL;
	ndctl_bus_foreach(ctx->ndctl, bus)
		ndctl_region_foreach(bus, region)
			ndctl_namespace_foreach(region, ndns)
				if (strcmp(ndctl_namespace_get_devname(ndns), ns_name) == 0)
					return ndns;
	return NULL;
}

/* The uuid tells one devdax instance's info block from another's: never a constant. */
int ns_new_uuid(const char *name, const char *ns_name, unsigned char uu[16])
{
	ssize_t n;

	do
		n = getrandom(uu, 16, 0);
	while (n < 0 && errno == EINTR);
	if (n != 16) {
		int e = n < 0 ? errno : EIO;

		return daxalloc_err(e,
				    "%s: cannot make a uuid for a devdax instance of %s: getrandom: %s; it is unchanged",
				    name, ns_name, n < 0 ? strerror(e) : "short read");
	}
	uu[6] = (uu[6] & 0x0f) | 0x40; /* version 4, random */
	uu[8] = (uu[8] & 0x3f) | 0x80;
	return 0;
}

/* A dax seed of the region takes the namespace with these settings. */
static int dax_setup(struct ndctl_region *region, struct ndctl_namespace *ndns, unsigned long align,
		     enum ndctl_pfn_loc loc, uuid_t uu)
{
	struct ndctl_dax *dax = ndctl_region_get_dax_seed(region);
	int rc;

	if (!dax)
		return -ENXIO;
	rc = ndctl_dax_set_uuid(dax, uu);
	if (rc == 0)
		rc = ndctl_dax_set_location(dax, loc);
	if (rc == 0)
		rc = ndctl_dax_set_align(dax, align);
	if (rc == 0)
		rc = ndctl_dax_set_namespace(dax, ndns);
	if (rc == 0) {
		rc = ndctl_dax_enable(dax);
		if (rc)
			ndctl_dax_set_namespace(dax, NULL);
	}
	return rc < 0 ? rc : rc ? -ENXIO : 0;
}

static bool align_supported(struct ndctl_dax *dax, unsigned long align)
{
	int n = ndctl_dax_get_num_alignments(dax);

	/* Kernels without the list accept the three sizes. */
	if (n <= 0)
		return daxalloc_align_is_valid(align);
	for (int i = 0; i < n; i++)
		if (ndctl_dax_get_supported_alignment(dax, i) == align)
			return true;
	return false;
}

static int check_ns_size(const char *name, const char *ns, uint64_t ns_size, uint64_t unit,
			 uint64_t align)
{
	char s[32], u[32], lo[32], hi[32], a[32];
	uint64_t l = ns_size / unit * unit;

	if (ns_size % unit == 0)
		return 0;
	size_str(ns_size, s, sizeof(s));
	size_str(unit, u, sizeof(u));
	size_str(align, a, sizeof(a));
	size_str(l + unit, hi, sizeof(hi));
	if (l == 0)
		return daxalloc_err(EINVAL,
				    "%s: %s is %s, not a multiple of %s (the alignment times the interleave ways); nearest valid size: %s ('ndctl create-namespace -f -e %s -s %s -m devdax -a %s')",
				    name, ns, s, u, hi, ns, hi, a);
	return daxalloc_err(EINVAL,
			    "%s: %s is %s, not a multiple of %s (the alignment times the interleave ways); nearest valid sizes: %s or %s ('ndctl create-namespace -f -e %s -s SIZE -m devdax -a %s')",
			    name, ns, s, u, size_str(l, lo, sizeof(lo)), hi, ns, a);
}

int ns_set_align(struct daxalloc_ctx *ctx, const char *name, const char *ns_name, uint64_t align,
		 unsigned int flags)
{
	char a[32], o[32], before[32], after[32], reason[200];
	unsigned long long ns_size, ns_start;
	struct ndctl_namespace *ndns;
	struct ndctl_region *region;
	struct ndctl_dax *dax;
	enum ndctl_pfn_loc loc;
	uint64_t old, usable_old, usable_new;
	struct daxalloc_dev *d;
	struct rc_gate gate;
	uuid_t uu_new, uu_old;
	unsigned int ways;
	int rc, rc2;

	size_str(align, a, sizeof(a));
	ndns = find_ns(ctx, ns_name);
	dax = ndns ? ndctl_namespace_get_dax(ndns) : NULL;
	if (!dax || !ndctl_dax_is_enabled(dax))
		return daxalloc_err(EOPNOTSUPP, "%s: libndctl does not show %s in devdax mode",
				    name, ns_name);
	region = ndctl_namespace_get_region(ndns);
	old = ndctl_dax_get_align(dax);
	loc = ndctl_dax_get_location(dax);
	size_str(old, o, sizeof(o));
	if (!align_supported(dax, align))
		return daxalloc_err(EINVAL, "%s: %s does not support align %s", name, ns_name, a);
	if (ndctl_region_get_ro(region))
		return daxalloc_err(EROFS, "%s: %s is on read-only %s", name, ns_name,
				    ndctl_region_get_devname(region));
	ways = ndctl_region_get_interleave_ways(region);
	ns_size = ndctl_namespace_get_size(ndns);
	ns_start = ndctl_namespace_get_resource(ndns);
	rc = check_ns_size(name, ns_name, ns_size, layout_granule(align) * (ways ? ways : 1), align);
	if (rc < 0)
		return rc;
	usable_old = ndctl_dax_get_size(dax);
	size_str(usable_old, before, sizeof(before));
	if (ns_start != ULLONG_MAX) {
		usable_new = layout_ns_usable(ns_start, ns_size, align, loc == NDCTL_PFN_LOC_PMEM);
		if (usable_new == 0)
			return daxalloc_err(ENOSPC,
					    "%s: %s is too small for align %s: the info block and padding to the first %s boundary take all of it",
					    name, ns_name, a, a);
		size_str(usable_new, after, sizeof(after));
	} else {
		snprintf(after, sizeof(after), "unknown");
	}
	if (!(flags & DAXALLOC_RECONFIG_DESTROY_DATA))
		return daxalloc_err(EPERM,
				    "%s: changing the alignment of pmem %s re-creates its devdax instance and destroys its data (usable size %s -> %s); pass --destroy-data (DAXALLOC_RECONFIG_DESTROY_DATA)",
				    name, ns_name, before, after);
	/* Both uuids (the new instance's, the old one's again) before anything changes. */
	rc = ns_new_uuid(name, ns_name, uu_new);
	if (rc == 0)
		rc = ns_new_uuid(name, ns_name, uu_old);
	if (rc == 0)
		rc = rc_gate(ctx, name, true, flags, "re-create its namespace", &gate);
	if (rc == 0)
		rc = rc_disable(ctx, name);
	if (rc < 0)
		return rc;
	rc = ndctl_namespace_disable_safe(ndns);
	if (rc < 0) {
		snprintf(reason, sizeof(reason), "%s", strerror(-rc));
		if (rc_enable(ctx, name) == 0)
			return daxalloc_err(-rc,
					    "%s: cannot disable %s: %s; it is enabled again, unchanged",
					    name, ns_name, reason);
		return daxalloc_err(-rc,
				    "%s: cannot disable %s: %s, and enabling the device again failed; enable it with 'daxctl enable-device %s'",
				    name, ns_name, reason, name);
	}
	rc = dax_setup(region, ndns, (unsigned long)align, loc, uu_new);
	if (rc < 0) {
		rc2 = dax_setup(region, ndns, (unsigned long)old, loc, uu_old);
		dev_rescan(ctx);
		if (rc2 == 0)
			return daxalloc_err(-rc,
					    "%s: the kernel refused %s in devdax mode at align %s (%s); it was set up again at align %s",
					    name, ns_name, a, strerror(-rc), o);
		return daxalloc_err(-rc,
				    "%s: the kernel refused %s in devdax mode at align %s (%s) and again at %s: it is disabled with no devdax instance; recover with 'ndctl create-namespace -f -e %s -m devdax -M %s -a %s'",
				    name, ns_name, a, strerror(-rc), o, ns_name,
				    loc == NDCTL_PFN_LOC_PMEM ? "dev" : "mem", o);
	}
	rc = dev_rescan(ctx);
	if (rc < 0)
		return rc;
	daxalloc_dev_foreach(ctx, d)
		if (d->has_ns && strcmp(d->ns_name, ns_name) == 0)
			break;
	if (!d || d->align != align)
		return daxalloc_err(EIO, "%s: %s was re-created but no device with align %s appeared",
				    name, ns_name, a);
	size_str(d->size, after, sizeof(after));
	info(ctx, "%s: %s re-created at align %s (was %s); usable size %s -> %s", d->name, ns_name,
	     a, o, before, after);
	/* A header left from an earlier configuration must not pass for a pool. */
	rc_wipe_pool(ctx, d->name, "its namespace was re-created");
	return dev_rescan(ctx);
}
