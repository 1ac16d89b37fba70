// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The 0.1 entry points whose types or parameters changed in 0.2, exported
 * as NAME@LIBDAXALLOC_0.1 (as glibc keeps its old entry points): a program
 * built against 0.1.0 keeps running with the layouts and arguments it was
 * compiled with, and programs built now bind NAME@@LIBDAXALLOC_0.2
 * (versions.c).  Versions rather than new names restored to the 0.1
 * layout: the header keeps one name per call, and a struct that grows
 * again later takes the same way instead of a third name.
 *
 * Each converts its 0.1 arguments to the 0.2 call and the result back.
 * The 0.1 types keep their 0.1 names in this file (compat-0.1.h), so that
 * abidiff compares these symbols with 0.1.0's as the same types; the 0.2
 * types of daxalloc.h are renamed out of their way (NAME_new).
 */
#define daxalloc_check_report daxalloc_check_report_new
#define daxalloc_daxregion_info daxalloc_daxregion_info_new
#define daxalloc_pin_info daxalloc_pin_info_new
#define daxalloc_pin_target daxalloc_pin_target_new
#define daxalloc_region_info daxalloc_region_info_new
#define daxalloc_pool_stats daxalloc_pool_stats_new
#define daxalloc_vmemmap_model daxalloc_vmemmap_model_new
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "private.h"
#undef daxalloc_check_report
#undef daxalloc_daxregion_info
#undef daxalloc_pin_info
#undef daxalloc_pin_target
#undef daxalloc_region_info
#undef daxalloc_pool_stats
#undef daxalloc_vmemmap_model
#include "compat-0.1.h"

/* daxalloc.h's function of the model's name went with the rename above. */
int daxalloc_vmemmap_model(uint64_t size, uint64_t align, struct daxalloc_vmemmap_model_new *m);

/*
 * A member a 0.1 type shares with its 0.2 type: the same name and size
 * (the build fails otherwise), at its offset in each.  A list of them
 * says what one conversion copies, either way.
 */
struct member {
	size_t at_0_1, at_0_2, size;
};

#define OLD(type) struct daxalloc_##type
#define NEW(type) struct daxalloc_##type##_new
#define SIZE_OF(t, m) sizeof(((t *)0)->m)
/* 0, or a build failure (an array of size -1) where the sizes differ */
#define SIZES_AGREE(type, m) \
	(0 * sizeof(char[SIZE_OF(OLD(type), m) == SIZE_OF(NEW(type), m) ? 1 : -1]))
#define MEMBER(type, m)                                              \
	{                                                            \
		offsetof(OLD(type), m), offsetof(NEW(type), m),      \
			SIZE_OF(OLD(type), m) + SIZES_AGREE(type, m) \
	}

enum direction { TO_0_1, FROM_0_1 };

static void convert(enum direction dir, void *dst, const void *src, const struct member *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t to = dir == TO_0_1 ? m[i].at_0_1 : m[i].at_0_2;
		size_t from = dir == TO_0_1 ? m[i].at_0_2 : m[i].at_0_1;

		memcpy((char *)dst + to, (const char *)src + from, m[i].size);
	}
}

#define CONVERT(dir, dst, src, members) \
	convert(dir, dst, src, members, sizeof(members) / sizeof(members[0]))

/* One member a line. */
/* clang-format off */
static const struct member pin_target_members[] = {
	MEMBER(pin_target, kind),
	MEMBER(pin_target, flags),
	MEMBER(pin_target, vfio.container_fd),
	MEMBER(pin_target, vfio.iova),
	MEMBER(pin_target, iommufd.fd),
	MEMBER(pin_target, iommufd.ioas_id),
	MEMBER(pin_target, iommufd.iova),
	MEMBER(pin_target, rdma.pd),
	MEMBER(pin_target, rdma.access),
	MEMBER(pin_target, uring.ring),
	MEMBER(pin_target, uring.first_index),
};

static const struct member daxregion_info_members[] = {
	MEMBER(daxregion_info, id),
	MEMBER(daxregion_info, kind),
	MEMBER(daxregion_info, start),
	MEMBER(daxregion_info, size),
	MEMBER(daxregion_info, align),
	MEMBER(daxregion_info, available),
	MEMBER(daxregion_info, largest_free),
	MEMBER(daxregion_info, available_1g),
	MEMBER(daxregion_info, largest_free_1g),
	MEMBER(daxregion_info, devices),
};

static const struct member region_info_members[] = {
	MEMBER(region_info, name),
	MEMBER(region_info, offset),
	MEMBER(region_info, size),
	MEMBER(region_info, owner_pid),
	MEMBER(region_info, owner_alive),
	MEMBER(region_info, created),
};

/* and the consumer in words */
static const struct member pin_info_members[] = {
	MEMBER(pin_info, kind),
	MEMBER(pin_info, region),
	MEMBER(pin_info, region_offset),
	MEMBER(pin_info, offset),
	MEMBER(pin_info, length),
	MEMBER(pin_info, pid),
	MEMBER(pin_info, command),
	MEMBER(pin_info, since),
};

/* and the first problem in words */
static const struct member check_report_members[] = {
	MEMBER(check_report, active_copy),
	MEMBER(check_report, sequence),
	MEMBER(check_report, standby_valid),
	MEMBER(check_report, regions),
	MEMBER(check_report, orphans),
	MEMBER(check_report, problems),
	MEMBER(check_report, repaired),
};

static const struct member pool_stats_members[] = {
	MEMBER(pool_stats, unit),
	MEMBER(pool_stats, capacity),
	MEMBER(pool_stats, used),
	MEMBER(pool_stats, free),
	MEMBER(pool_stats, largest_free),
	MEMBER(pool_stats, free_extents),
	MEMBER(pool_stats, regions),
	MEMBER(pool_stats, named_regions),
	MEMBER(pool_stats, max_regions),
	MEMBER(pool_stats, fragmentation),
};

static const struct member vmemmap_model_members[] = {
	MEMBER(vmemmap_model, size),
	MEMBER(vmemmap_model, align),
	MEMBER(vmemmap_model, base_pages),
	MEMBER(vmemmap_model, compound_pages),
	MEMBER(vmemmap_model, struct_pages),
	MEMBER(vmemmap_model, page_tables),
	MEMBER(vmemmap_model, total),
};
/* clang-format on */

/* 0.1's target carries no size. */
DAXALLOC_SYMVER(daxalloc_pin_0_1, "daxalloc_pin@LIBDAXALLOC_0.1")
int daxalloc_pin_0_1(struct daxalloc_region *region, uint64_t offset, uint64_t length,
		     const struct daxalloc_pin_target *target, struct daxalloc_pin **pin)
{
	/* (the INIT macros name 0.1's types in this file) */
	struct daxalloc_pin_target_new t = { .struct_size = sizeof(t) };

	if (!target)
		return daxalloc_pin(region, offset, length, NULL, pin);
	CONVERT(FROM_0_1, &t, target, pin_target_members);
	return daxalloc_pin(region, offset, length, &t, pin);
}

static void daxregion_info_to_0_1(struct daxalloc_daxregion_info *o,
				  const struct daxalloc_daxregion_info_new *n)
{
	CONVERT(TO_0_1, o, n, daxregion_info_members);
}

static void region_info_to_0_1(struct daxalloc_region_info *o,
			       const struct daxalloc_region_info_new *n)
{
	CONVERT(TO_0_1, o, n, region_info_members);
}

static void pin_info_to_0_1(struct daxalloc_pin_info *o, const struct daxalloc_pin_info_new *n)
{
	CONVERT(TO_0_1, o, n, pin_info_members);
	/* 0.1 held the words; 0.2 the numbers they came from */
	daxalloc_pin_info_describe(n, o->consumer, sizeof(o->consumer));
}

/* 0.1's info carries no size. */
DAXALLOC_SYMVER(daxalloc_daxregion_get_info_0_1, "daxalloc_daxregion_get_info@LIBDAXALLOC_0.1")
int daxalloc_daxregion_get_info_0_1(struct daxalloc_ctx *ctx, int region_id,
				    struct daxalloc_daxregion_info *info)
{
	struct daxalloc_daxregion_info_new n = { .struct_size = sizeof(n) };
	int rc = daxalloc_daxregion_get_info(ctx, region_id, info ? &n : NULL);

	if (rc < 0)
		return rc;
	daxregion_info_to_0_1(info, &n);
	return rc;
}

/*
 * NAME@LIBDAXALLOC_0.1 (OWNER *, fn, arg): a 0.1 callback gets 0.1's
 * struct daxalloc_TYPE, converted by TYPE_to_0_1().
 */
/* clang-format off */
#define FOREACH_0_1(name, owner, type)							\
	struct type##_cb {								\
		int (*fn)(const struct daxalloc_##type *info, void *arg);		\
		void *arg;								\
	};										\
											\
	static int type##_one_0_1(const struct daxalloc_##type##_new *n, void *arg)	\
	{										\
		struct type##_cb *a = arg;						\
		struct daxalloc_##type o = { 0 };					\
											\
		type##_to_0_1(&o, n);							\
		return a->fn(&o, a->arg);						\
	}										\
											\
	DAXALLOC_SYMVER(daxalloc_##name##_0_1, "daxalloc_" #name "@LIBDAXALLOC_0.1")	\
	int daxalloc_##name##_0_1(owner *o,						\
				  int (*fn)(const struct daxalloc_##type *info, void *arg),	\
				  void *arg)						\
	{										\
		struct type##_cb a = { .fn = fn, .arg = arg };				\
											\
		return daxalloc_##name(o, fn ? type##_one_0_1 : NULL, &a);		\
	}
/* clang-format on */

FOREACH_0_1(daxregion_foreach, struct daxalloc_ctx, daxregion_info)
FOREACH_0_1(pool_foreach_region, struct daxalloc_pool, region_info)
FOREACH_0_1(pool_foreach_pin, struct daxalloc_pool, pin_info)

/*
 * The metadata's own words for the first problem and the first loss,
 * which a report does not keep: 0.1's first_problem quoted them.
 */
struct check_words {
	char first[600], loss[600];
	bool have_first, have_loss;
};

static void keep_words(const struct daxalloc_check_finding *f, void *arg)
{
	struct check_words *w = arg;

	if (f->kind != DAXALLOC_CHECK_NOTE && !w->have_first) {
		w->have_first = true;
		snprintf(w->first, sizeof(w->first), "%s", f->detail ? f->detail : "");
	}
	if (f->kind == DAXALLOC_CHECK_LOSS && !w->have_loss) {
		w->have_loss = true;
		snprintf(w->loss, sizeof(w->loss), "%s", f->detail ? f->detail : "");
	}
}

/* 0.1's report carries no size, and the first problem in words. */
DAXALLOC_SYMVER(daxalloc_pool_check_0_1, "daxalloc_pool_check@LIBDAXALLOC_0.1")
int daxalloc_pool_check_0_1(struct daxalloc_dev *dev, unsigned int flags,
			    struct daxalloc_check_report *rep)
{
	struct daxalloc_check_report_new n = { .struct_size = sizeof(n) };
	struct check_words w = { 0 };
	int rc = daxalloc_pool_check_each(dev, flags, rep ? &n : NULL, keep_words, &w);

	if (!rep)
		return rc;
	/* filled on failure too, as 0.1 did */
	CONVERT(TO_0_1, rep, &n, check_report_members);
	n.first.detail = w.first[0] ? w.first : NULL;
	n.first_loss.detail = w.loss[0] ? w.loss : NULL;
	memset(rep->first_problem, 0, sizeof(rep->first_problem));
	daxalloc_check_report_describe(&n, rep->first_problem, sizeof(rep->first_problem));
	return rc;
}

/* 0.1's stats carry no size. */
DAXALLOC_SYMVER(daxalloc_pool_get_stats_0_1, "daxalloc_pool_get_stats@LIBDAXALLOC_0.1")
int daxalloc_pool_get_stats_0_1(struct daxalloc_pool *pool, struct daxalloc_pool_stats *st)
{
	struct daxalloc_pool_stats_new n = { .struct_size = sizeof(n) };
	int rc = daxalloc_pool_get_stats(pool, st ? &n : NULL);

	if (rc < 0)
		return rc;
	CONVERT(TO_0_1, st, &n, pool_stats_members);
	return 0;
}

/* 0.1's model carries no size: the 0.2 one without its lead. */
static void model_from_0_1(struct daxalloc_vmemmap_model_new *n,
			   const struct daxalloc_vmemmap_model *m)
{
	n->struct_size = sizeof(*n);
	CONVERT(FROM_0_1, n, m, vmemmap_model_members);
}

DAXALLOC_SYMVER(daxalloc_vmemmap_model_0_1, "daxalloc_vmemmap_model@LIBDAXALLOC_0.1")
int daxalloc_vmemmap_model_0_1(uint64_t size, uint64_t align, struct daxalloc_vmemmap_model *m)
{
	struct daxalloc_vmemmap_model_new n = { .struct_size = sizeof(n) };
	int rc = daxalloc_vmemmap_model(size, align, m ? &n : NULL);

	if (!m)
		return rc;
	CONVERT(TO_0_1, m, &n, vmemmap_model_members);
	return rc;
}

DAXALLOC_SYMVER(daxalloc_vmemmap_match_0_1, "daxalloc_vmemmap_match@LIBDAXALLOC_0.1")
int daxalloc_vmemmap_match_0_1(const struct daxalloc_vmemmap_model *m, int64_t measured)
{
	struct daxalloc_vmemmap_model_new n;

	if (!m)
		return daxalloc_vmemmap_match(NULL, measured);
	model_from_0_1(&n, m);
	return daxalloc_vmemmap_match(&n, measured);
}

/*
 * 0.1 judged from the times at 2M and 1G.  That cannot tell the two paths
 * apart (GUP writes one page pointer per 4K page at both, and that
 * dominates: 7.2 pins per compound page at 2M and 1G alike), so 0.2 judges
 * from 4K, 2M and hugetlb 2M times instead.  A 0.1 caller has only the two:
 * UNKNOWN, which 0.1 documented as "the measurement does not decide".
 */
DAXALLOC_SYMVER(daxalloc_vmemmap_pin_verdict_0_1, "daxalloc_vmemmap_pin_verdict@LIBDAXALLOC_0.1")
int daxalloc_vmemmap_pin_verdict_0_1(uint64_t ns_2m, uint64_t ns_1g)
{
	(void)ns_2m;
	(void)ns_1g;
	return DAXALLOC_VMEMMAP_PIN_UNKNOWN;
}

/*
 * 0.2 has no measurement: it disables the device to see what enabling it
 * costs, which a program should not get from a library call in-process;
 * daxalloc-ctl measures (tools/vmemmap-measure.c).  A 0.1 program gets a
 * refusal it can print, and its structs as it left them.
 */
DAXALLOC_SYMVER(daxalloc_vmemmap_measure_0_1, "daxalloc_vmemmap_measure@LIBDAXALLOC_0.1")
int daxalloc_vmemmap_measure_0_1(struct daxalloc_ctx *ctx, const char *name,
				 const struct daxalloc_vmemmap_opts *opts,
				 struct daxalloc_vmemmap_report *rep)
{
	(void)ctx;
	(void)opts;
	(void)rep;
	return daxalloc_err(EOPNOTSUPP,
			    "daxalloc_vmemmap_measure(%s) left the library in 0.2: measuring disables the device; use 'daxalloc-ctl vmemmap %s --measure'",
			    name ? name : "NULL", name ? name : "DEV");
}
