// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * map: prove a device works: aligned mapping, pattern written and read back.
 * Writing destroys what the device holds, so it is refused where data can
 * live (a pool, persistent memory) unless the user says --destroy-data;
 * --read-only proves the mapping without writing anything.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "progress.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One word per 4K page: enough to catch a wrong or missing page, fast on 1G. */
static uint64_t pattern_run(volatile uint64_t *base, uint64_t length, uint64_t seed, bool write,
			    bool check)
{
	struct ctl_progress pr;
	uint64_t bad = 0;

	/* Unpopulated memory faults in here: tens of GiB take a while. */
	ctl_progress_start(&pr, write ? "map: writing" : "map: verifying", length);
	for (uint64_t off = 0; off < length; off += 4096) {
		uint64_t v = seed ^ (off * 0x9e3779b97f4a7c15ull);
		volatile uint64_t *p = base + off / sizeof(uint64_t);

		if (write)
			*p = v;
		else if (!check)
			(void)*p; /* read-only: the fault and the read are the test */
		else if (*p != v)
			bad++;
		if ((off & ((64ull << 20) - 1)) == 0)
			ctl_progress_update(&pr, off);
	}
	ctl_progress_end(&pr);
	return bad;
}

/* Where a pool keeps its metadata: the first unit, at least 2M (see libdaxalloc(3)). */
static uint64_t meta_end(uint64_t align)
{
	return (DAXALLOC_SIZE_2M + align - 1) / align * align;
}

/*
 * Writing a pattern destroys what the device holds: refuse, naming what,
 * where there can be data, unless the user said --destroy-data.
 */
static int refuse_write(struct daxalloc_dev *dev)
{
	const char *name = daxalloc_dev_get_name(dev), *ns = daxalloc_dev_get_namespace(dev);
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	int rc;

	if (daxalloc_dev_is_standin(dev))
		return 0; /* fresh memory of this process: nothing to lose */
	rc = daxalloc_pool_check(dev, 0, &rep);
	if (rc != -ENODATA && rc != -ENOSPC)
		return ctl_fail(CTL_FAILED,
				"%s: holds a pool%s; map writes a test pattern into the device, destroying what is there; "
				"prove the mapping without writing with --read-only, map a region of the pool, or pass --destroy-data",
				name, rc < 0 ? " (its metadata does not open)" : "");
	if (ns || daxalloc_dev_get_region_kind(dev) == DAXALLOC_REGION_STATIC)
		return ctl_fail(CTL_FAILED,
				"%s: is persistent memory%s%s%s, whose contents outlive this run; map writes a test pattern into it; "
				"prove the mapping without writing with --read-only, or pass --destroy-data",
				name, ns ? " (" : "", ns ? ns : "", ns ? ")" : "");
	return 0;
}

static void print_map(struct json_object *o, void *addr)
{
	char s[32], a[32], k[32];
	bool rdonly = ctl_jbool(o, "read_only");

	printf("%s%s: mapped %s at offset %s, %p; kernel page size %s; pattern %s (%.3f s)\n",
	       ctl_jstr(o, "device"), ctl_jbool(o, "standin") ? " (stand-in)" : "",
	       ctl_size(ctl_ju64(o, "length"), s, sizeof(s)),
	       ctl_size(ctl_ju64(o, "offset"), a, sizeof(a)), addr,
	       ctl_jnull(o, "kernel_page_size") ?
		       "unknown" :
		       ctl_size(ctl_ju64(o, "kernel_page_size"), k, sizeof(k)),
	       rdonly                   ? "not written, every page read" :
	       ctl_ju64(o, "bad_pages") ? "MISMATCH" :
					  "verified",
	       ctl_jdouble(o, "seconds"));
}

int cmd_map(struct daxalloc_ctx *ctx, struct ctl_args *opt)
{
	uint64_t size = DAXALLOC_SIZE_1G, offset, bad, dsize, align;
	bool json, size_given, offset_given, rdonly, destroy;
	unsigned int flags = 0;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_map *map = NULL;
	const char *name = NULL;
	struct ctl_progress pr = { 0 };
	struct ctl_map_result res;
	struct json_object *out;
	int64_t kps;
	double t0, t1;
	int rc;

	if (opt->size_given)
		size = opt->size;
	size_given = opt->size_given;
	offset = opt->offset;
	offset_given = opt->offset_given;
	json = opt->json;
	rdonly = opt->read_only;
	destroy = opt->reconfig_flags & DAXALLOC_RECONFIG_DESTROY_DATA;
	flags |= opt->populate ? DAXALLOC_MAP_POPULATE : 0;
	flags |= opt->sync ? DAXALLOC_MAP_SYNC : 0;
	flags |= rdonly ? DAXALLOC_MAP_READONLY : 0;
	if (opt->npos > 0)
		name = opt->pos[0];
	if (opt->npos > 1)
		return ctl_fail(CTL_USAGE, "map: unexpected argument '%s'", opt->pos[1]);
	if (rdonly && destroy)
		return ctl_fail(CTL_USAGE,
				"map: --read-only writes nothing; --destroy-data makes no sense with it");
	rc = daxalloc_dev_open(ctx, name, &dev);
	if (rc < 0)
		return ctl_lib_fail(rc);
	dsize = daxalloc_dev_get_size(dev);
	align = daxalloc_dev_get_align(dev);
	/*
	 * Without --offset, a pattern starts past where a pool keeps its
	 * metadata when the device is big enough to hold a pool at all
	 * (metadata plus a unit).  Not needed when nothing is written, nor on
	 * the stand-in: fresh memory of this process holds no pool.
	 */
	if (!offset_given && !rdonly && !daxalloc_dev_is_standin(dev) &&
	    dsize >= meta_end(align) + align)
		offset = meta_end(align);
	/* Without --size, map what fits of 1G so small devices work too. */
	if (!size_given && offset < dsize && size > dsize - offset)
		size = dsize - offset;
	if (!offset_given && offset && size <= dsize && size > dsize - offset) {
		char o[32], s2[32];

		ctl_fail(CTL_FAILED,
			 "%s: --size %s does not fit after the first %s, where a pool keeps its metadata and map does not write by default; give --offset explicitly",
			 daxalloc_dev_get_name(dev), ctl_size(size, s2, sizeof(s2)),
			 ctl_size(offset, o, sizeof(o)));
		daxalloc_dev_close(&dev);
		return CTL_FAILED;
	}
	t0 = now();
	/* The kernel populates in one call, with nothing to report meanwhile. */
	if (flags & DAXALLOC_MAP_POPULATE)
		ctl_progress_note(&pr, "map: populating", size, 8 * DAXALLOC_SIZE_1G);
	rc = daxalloc_map_new(dev, offset, size, NULL, flags, &map);
	ctl_progress_end(&pr);
	if (rc < 0) {
		daxalloc_dev_close(&dev);
		return ctl_lib_fail(rc);
	}
	/* After the mapping: a request that breaks a rule says so first. */
	if (!rdonly && !destroy && (rc = refuse_write(dev))) {
		daxalloc_map_delete(&map);
		daxalloc_dev_close(&dev);
		return rc;
	}
	if (!rdonly)
		pattern_run(daxalloc_map_get_address(map), size, (uint64_t)t0, true, true);
	bad = pattern_run(daxalloc_map_get_address(map), size, (uint64_t)t0, false, !rdonly);
	t1 = now();
	kps = daxalloc_map_get_kernel_page_size(map);
	res = (struct ctl_map_result){ .offset = offset,
				       .length = size,
				       .bad_pages = bad,
				       .kernel_page_size = kps,
				       .read_only = rdonly,
				       .seconds = t1 - t0 };
	out = ctl_json_map(dev, &res);
	if (json)
		ctl_json_print(out);
	else
		print_map(out, daxalloc_map_get_address(map));
	json_object_put(out);
	rc = CTL_OK;
	if (bad)
		rc = ctl_fail(CTL_FAILED, "%s: %" PRIu64 " pages read back wrong",
			      daxalloc_dev_get_name(dev), bad);
	else if (kps < 0)
		rc = ctl_lib_fail((int)kps);
	else if ((uint64_t)kps != daxalloc_dev_get_align(dev))
		rc = ctl_fail(CTL_FAILED,
			      "%s: kernel page size %" PRId64 " differs from the alignment %" PRIu64,
			      daxalloc_dev_get_name(dev), kps, daxalloc_dev_get_align(dev));
	daxalloc_map_delete(&map);
	daxalloc_dev_close(&dev);
	return rc;
}
