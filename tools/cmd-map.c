// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * map: prove a device works: aligned mapping, pattern written and read back.
 * Writing destroys what the device holds, so it is refused where data can
 * live (a pool, persistent memory) unless the user says --destroy-data;
 * --read-only proves the mapping without writing anything.
 */
#include <errno.h>
#include <getopt.h>
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
			(void)*p;	/* read-only: the fault and the read are the test */
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
		return 0;	/* fresh memory of this process: nothing to lose */
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

int cmd_map(struct daxalloc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		CTL_BASE_OPTIONS, CTL_OPT_SIZE, CTL_OPT_OFFSET, CTL_OPT_POPULATE, CTL_OPT_SYNC,
		CTL_OPT_JSON, CTL_OPT_READ_ONLY, CTL_OPT_DESTROY, CTL_OPT_END,
	};
	uint64_t size = DAXALLOC_SIZE_1G, offset, bad, dsize, align;
	bool json, size_given, offset_given, rdonly, destroy;
	unsigned int flags = 0;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_map *map = NULL;
	const char *name = NULL;
	struct ctl_progress pr = { 0 };
	char s[32], a[32], k[32];
	struct ctl_args opt;
	int64_t kps;
	double t0, t1;
	int rc;

	if ((rc = ctl_parse("map", argc, argv, opts, &opt)))
		return rc;
	if (opt.size_given)
		size = opt.size;
	size_given = opt.size_given;
	offset = opt.offset;
	offset_given = opt.offset_given;
	json = opt.json;
	rdonly = opt.read_only;
	destroy = opt.reconfig_flags & DAXALLOC_RECONFIG_DESTROY_DATA;
	flags |= opt.populate ? DAXALLOC_MAP_POPULATE : 0;
	flags |= opt.sync ? DAXALLOC_MAP_SYNC : 0;
	flags |= rdonly ? DAXALLOC_MAP_READONLY : 0;
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc)
		return ctl_fail(CTL_USAGE, "map: unexpected argument '%s'", argv[optind]);
	if (rdonly && destroy)
		return ctl_fail(CTL_USAGE, "map: --read-only writes nothing; --destroy-data makes no sense with it");
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
	if (json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "device", json_object_new_string(daxalloc_dev_get_name(dev)));
		json_object_object_add(o, "standin", json_object_new_boolean(daxalloc_dev_is_standin(dev)));
		json_object_object_add(o, "offset", json_object_new_uint64(offset));
		json_object_object_add(o, "length", json_object_new_uint64(size));
		json_object_object_add(o, "align", json_object_new_uint64(daxalloc_dev_get_align(dev)));
		json_object_object_add(o, "kernel_page_size", kps < 0 ? NULL : json_object_new_int64(kps));
		json_object_object_add(o, "read_only", json_object_new_boolean(rdonly));
		json_object_object_add(o, "bad_pages", json_object_new_uint64(bad));
		json_object_object_add(o, "seconds", json_object_new_double(t1 - t0));
		ctl_json_print(o);
		json_object_put(o);
	} else {
		printf("%s%s: mapped %s at offset %s, %p; kernel page size %s; pattern %s (%.3f s)\n",
		       daxalloc_dev_get_name(dev),
		       daxalloc_dev_is_standin(dev) ? " (stand-in)" : "",
		       ctl_size(size, s, sizeof(s)), ctl_size(offset, a, sizeof(a)),
		       daxalloc_map_get_address(map),
		       kps < 0 ? "unknown" : ctl_size((uint64_t)kps, k, sizeof(k)),
		       rdonly ? "not written, every page read" : bad ? "MISMATCH" : "verified", t1 - t0);
	}
	rc = CTL_OK;
	if (bad)
		rc = ctl_fail(CTL_FAILED, "%s: %" PRIu64 " pages read back wrong", daxalloc_dev_get_name(dev), bad);
	else if (kps < 0)
		rc = ctl_lib_fail((int)kps);
	else if ((uint64_t)kps != daxalloc_dev_get_align(dev))
		rc = ctl_fail(CTL_FAILED, "%s: kernel page size %" PRId64 " differs from the alignment %" PRIu64,
			      daxalloc_dev_get_name(dev), kps, daxalloc_dev_get_align(dev));
	daxalloc_map_delete(&map);
	daxalloc_dev_close(&dev);
	return rc;
}
