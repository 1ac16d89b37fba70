// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A program built against 0.1.0 calls the entry points that changed since
 * as it was compiled: NAME@LIBDAXALLOC_0.1 with 0.1's layouts and
 * arguments (looked up with dlvsym, as its dynamic linker binds them),
 * while programs built now get NAME@@LIBDAXALLOC_0.2.  Runs against the
 * shared library, where the versions are.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <liburing.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A 0.1 program's view: 0.1.0's types (not daxalloc.h's), its calls through dlvsym. */
#include "compat-0.1.h"

#define SIZE_4K 4096ull
#define PIN_UNKNOWN 0  /* PIN_UNKNOWN */
#define PIN_COMPOUND 2 /* PIN_COMPOUND */

struct daxalloc_ctx;
struct daxalloc_map;
struct daxalloc_pin;
/* called directly once: the program links the library, as a 0.1 program did */
const char *daxalloc_version(void);

static void *sym(const char *name, const char *version)
{
	void *f = dlvsym(RTLD_DEFAULT, name, version);

	cr_assert(f, "%s@%s: not exported (%s)", name, version, dlerror());
	return f;
}

#define GUARD 256

/* @buf holds a struct of @size between GUARD bytes of 0xa5 each side: none may change. */
static void expect_guards(const unsigned char *buf, size_t size, const char *what)
{
	for (size_t i = 0; i < GUARD; i++) {
		cr_assert_eq(buf[i], 0xa5, "byte %zu before the %s was written", GUARD - i, what);
		cr_assert_eq(buf[GUARD + size + i], 0xa5, "byte %zu after the 0.1 %s was written",
			     i, what);
	}
}

/*
 * Built twice: the calls without a pool for the unit suite, and with
 * ABI_0_1_POOL those on a pool of the stand-in, for the hugetlb suite.
 */
#ifndef ABI_0_1_POOL
/*
 * The measurement left the library in 0.2 (it disables the device): the
 * 0.1 entry point refuses, naming the command that measures, and leaves
 * the caller's report as it was.
 */
Test(abi_0_1, vmemmap_measure_refuses_and_names_the_command)
{
	int (*measure)(struct daxalloc_ctx *, const char *, const struct daxalloc_vmemmap_opts *,
		       struct daxalloc_vmemmap_report *) =
		sym("daxalloc_vmemmap_measure", "LIBDAXALLOC_0.1");
	int (*ctx_new)(struct daxalloc_ctx **) = sym("daxalloc_ctx_new", "LIBDAXALLOC_0.1");
	void (*ctx_delete)(struct daxalloc_ctx **) = sym("daxalloc_ctx_delete", "LIBDAXALLOC_0.1");
	const char *(*errmsg)(void) = sym("daxalloc_errmsg", "LIBDAXALLOC_0.1");
	struct daxalloc_vmemmap_opts o = { .cycles = 1 };
	unsigned char buf[GUARD + sizeof(struct daxalloc_vmemmap_report) + GUARD];
	struct daxalloc_vmemmap_report *rep = (void *)(buf + GUARD);
	struct daxalloc_ctx *ctx;

	/* 0.1.0's layout, as abidiff read it from that release */
	cr_assert_eq(sizeof(*rep), 1960);
	cr_assert_eq(ctx_new(&ctx), 0);
	memset(buf, 0xa5, sizeof(buf));
	cr_expect_eq(measure(ctx, "dax0.0", &o, rep), -EOPNOTSUPP);
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0xa5, "byte %zu of the report and its guards written", i);
	cr_expect(strstr(errmsg(), "'daxalloc-ctl vmemmap dax0.0 --measure'") &&
			  strstr(errmsg(), "disables the device"),
		  "%s", errmsg());
	cr_expect_eq(measure(NULL, NULL, NULL, NULL), -EOPNOTSUPP);
	cr_expect(strstr(errmsg(), "daxalloc-ctl vmemmap DEV --measure"), "%s", errmsg());
	ctx_delete(&ctx);
}

/* The model: 0.1's layout filled, 0.1's layout read. */
Test(abi_0_1, vmemmap_model_and_match_take_a_0_1_model)
{
	int (*model)(uint64_t, uint64_t, struct daxalloc_vmemmap_model *) =
		sym("daxalloc_vmemmap_model", "LIBDAXALLOC_0.1");
	int (*match)(const struct daxalloc_vmemmap_model *, int64_t) =
		sym("daxalloc_vmemmap_match", "LIBDAXALLOC_0.1");
	unsigned char buf[GUARD + sizeof(struct daxalloc_vmemmap_model) + GUARD];
	struct daxalloc_vmemmap_model *m = (void *)(buf + GUARD);

	cr_assert_eq(sizeof(*m), 104, "the 0.1 model was 104 bytes");
	memset(buf, 0xa5, sizeof(buf));
	cr_assert_eq(model(4ull << 30, 2ull << 20, m), 0);
	expect_guards(buf, sizeof(*m), "model");
	/* 4 GiB at 2M: 2048 compound pages of 8 vmemmap pages, 2 of them kept (5.19 on) */
	cr_expect_eq(m->size, 4ull << 30);
	cr_expect_eq(m->align, 2ull << 20);
	cr_expect_eq(m->compound_pages, 2048);
	cr_expect_eq(m->struct_pages[0], 64ull << 20);
	cr_expect_eq(m->struct_pages[1], 16ull << 20);
	cr_expect_eq(match(m, (int64_t)(16ull << 20) + 400 * 1024), 1, "dedup_2page");
	cr_expect_eq(match(m, 66ll << 20), 0, "no_dedup");
}

/*
 * 0.1 judged from the times at 2M and 1G, which cannot decide (both pin
 * one page pointer per 4K page): UNKNOWN, never a verdict read from a
 * third argument the caller did not pass.
 */
Test(abi_0_1, vmemmap_pin_verdict_takes_two_times)
{
	int (*verdict)(uint64_t, uint64_t) = sym("daxalloc_vmemmap_pin_verdict", "LIBDAXALLOC_0.1");
	static const uint64_t t[][2] = {
		{ 1000, 1 },
		{ 4200000, 4100000 },
		{ 157000000, 129000000 },
		{ 1, 1000 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_eq(verdict(t[i][0], t[i][1]), PIN_UNKNOWN, "2M %llu ns, 1G %llu ns",
			     (unsigned long long)t[i][0], (unsigned long long)t[i][1]);
}

/* What a program built now binds: the 0.2 entry points; 0.2 has no measure. */
Test(abi_0_1, new_programs_bind_0_2)
{
	static const char *const changed[] = { "daxalloc_vmemmap_pin_verdict" };

	for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
		void *v02 = sym(changed[i], "LIBDAXALLOC_0.2");

		cr_expect_eq(dlsym(RTLD_DEFAULT, changed[i]), v02, "%s", changed[i]);
		cr_expect_neq(sym(changed[i], "LIBDAXALLOC_0.1"), v02, "%s", changed[i]);
	}
	cr_expect_null(dlvsym(RTLD_DEFAULT, "daxalloc_vmemmap_measure", "LIBDAXALLOC_0.2"));
	cr_expect_str_eq(daxalloc_version(),
			 ((const char *(*)(void))sym("daxalloc_version", "LIBDAXALLOC_0.1"))());
	/* 7.2's io_uring pins, 4K and 2M: per compound page */
	cr_expect_eq(((int (*)(uint64_t, uint64_t, uint64_t))sym("daxalloc_vmemmap_pin_verdict",
								 "LIBDAXALLOC_0.2"))(167, 4, 0),
		     PIN_COMPOUND);
}

#else
/* ---- on a pool (the stand-in: the hugetlb suite) ------------------------------ */

struct daxalloc_dev;
struct daxalloc_pool;
struct daxalloc_region;

static int region_seen(const struct daxalloc_region_info *info, void *arg)
{
	struct daxalloc_region_info *seen = arg;

	*seen = *info;
	return 0;
}

static int pin_seen(const struct daxalloc_pin_info *info, void *arg)
{
	struct daxalloc_pin_info *seen = arg;

	*seen = *info;
	return 0;
}

/*
 * 0.2 keeps codes and numbers where 0.1 kept words: a 0.1 program still
 * gets the words, as 0.1.0 wrote them, in its first_problem and consumer.
 */
Test(abi_0_1_pool, stats_check_regions_and_pins_in_0_1_layouts)
{
	int (*ctx_new)(struct daxalloc_ctx **) = sym("daxalloc_ctx_new", "LIBDAXALLOC_0.1");
	void (*ctx_delete)(struct daxalloc_ctx **) = sym("daxalloc_ctx_delete", "LIBDAXALLOC_0.1");
	int (*dev_open)(struct daxalloc_ctx *, const char *, struct daxalloc_dev **) =
		sym("daxalloc_dev_open", "LIBDAXALLOC_0.1");
	void (*dev_close)(struct daxalloc_dev **) = sym("daxalloc_dev_close", "LIBDAXALLOC_0.1");
	int (*pool_create)(struct daxalloc_dev *, unsigned int, struct daxalloc_pool **) =
		sym("daxalloc_pool_create", "LIBDAXALLOC_0.1");
	void (*pool_close)(struct daxalloc_pool **) = sym("daxalloc_pool_close", "LIBDAXALLOC_0.1");
	int (*alloc)(struct daxalloc_pool *, uint64_t, const char *, unsigned int,
		     struct daxalloc_region **) = sym("daxalloc_alloc", "LIBDAXALLOC_0.1");
	int (*get_stats)(struct daxalloc_pool *, struct daxalloc_pool_stats *) =
		sym("daxalloc_pool_get_stats", "LIBDAXALLOC_0.1");
	int (*check)(struct daxalloc_dev *, unsigned int, struct daxalloc_check_report *) =
		sym("daxalloc_pool_check", "LIBDAXALLOC_0.1");
	int (*foreach_region)(struct daxalloc_pool *,
			      int (*)(const struct daxalloc_region_info *, void *), void *) =
		sym("daxalloc_pool_foreach_region", "LIBDAXALLOC_0.1");
	int (*pin)(struct daxalloc_region *, uint64_t, uint64_t, const struct daxalloc_pin_target *,
		   struct daxalloc_pin **) = sym("daxalloc_pin", "LIBDAXALLOC_0.1");
	int (*unpin)(struct daxalloc_pin **) = sym("daxalloc_unpin", "LIBDAXALLOC_0.1");
	int (*foreach_pin)(struct daxalloc_pool *, int (*)(const struct daxalloc_pin_info *, void *),
			   void *) = sym("daxalloc_pool_foreach_pin", "LIBDAXALLOC_0.1");
	int (*map_new)(struct daxalloc_dev *, uint64_t, uint64_t, void *, unsigned int,
		       struct daxalloc_map **) = sym("daxalloc_map_new", "LIBDAXALLOC_0.1");
	void (*map_delete)(struct daxalloc_map **) = sym("daxalloc_map_delete", "LIBDAXALLOC_0.1");
	void *(*map_address)(struct daxalloc_map *) =
		sym("daxalloc_map_get_address", "LIBDAXALLOC_0.1");
	struct daxalloc_pin_target t = { .kind = DAXALLOC_PIN_URING };
	struct daxalloc_pin_info pin_info = { 0 };
	struct daxalloc_map *raw = NULL;
	struct daxalloc_pin *p = NULL;
	struct io_uring ring;
	char want[160];
	char *meta;
	unsigned char sbuf[GUARD + sizeof(struct daxalloc_pool_stats) + GUARD];
	unsigned char cbuf[GUARD + sizeof(struct daxalloc_check_report) + GUARD];
	struct daxalloc_pool_stats *st = (void *)(sbuf + GUARD);
	struct daxalloc_check_report *rep = (void *)(cbuf + GUARD);
	struct daxalloc_region_info seen = { 0 };
	struct daxalloc_region *r = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_ctx *ctx = NULL;

	/* linked, not only looked up: this build calls nothing else directly */
	cr_log_info("libdaxalloc %s", daxalloc_version());
	cr_assert_eq(sizeof(*st), 64, "the 0.1 stats were 64 bytes");
	cr_assert_eq(sizeof(*rep), 296, "the 0.1 check report was 296 bytes");
	cr_assert_eq(ctx_new(&ctx), 0);
	cr_assert_eq(dev_open(ctx, "hugetlb:2M:16M", &dev), 0, "no stand-in: huge pages reserved?");
	/* the pool's own 2M, then one unit for the region */
	cr_assert_eq(pool_create(dev, 1u << 0, &pool), 0);
	cr_assert_eq(alloc(pool, 2ull << 20, "old-program", 0, &r), 0);

	memset(sbuf, 0xa5, sizeof(sbuf));
	cr_assert_eq(get_stats(pool, st), 0);
	expect_guards(sbuf, sizeof(*st), "stats");
	cr_expect_eq(st->unit, 2ull << 20);
	cr_expect_eq(st->used, 2ull << 20);
	cr_expect_eq(st->regions, 1);
	cr_expect_eq(st->named_regions, 1);
	cr_expect_eq(st->max_regions, 2048);

	cr_assert_eq(foreach_region(pool, region_seen, &seen), 0);
	cr_expect_str_eq(seen.name, "old-program");
	cr_expect_eq(seen.size, 2ull << 20);
	cr_expect(seen.owner_alive);

	memset(cbuf, 0xa5, sizeof(cbuf));
	cr_expect_eq(check(dev, 0, rep), 0);
	expect_guards(cbuf, sizeof(*rep), "check report");
	cr_expect_eq(rep->regions, 1);
	cr_expect_eq(rep->problems, 0);
	cr_expect_str_eq(rep->first_problem, "");

	cr_assert_eq(io_uring_queue_init(4, &ring, 0), 0);
	t.uring.ring = &ring;
	cr_assert_eq(pin(r, 0, 2ull << 20, &t, &p), 0);
	cr_assert_eq(foreach_pin(pool, pin_seen, &pin_info), 0);
	snprintf(want, sizeof(want), "io_uring fd %d, buffer 0", ring.ring_fd);
	cr_expect_str_eq(pin_info.consumer, want);
	cr_expect_eq(unpin(&p), 0);
	io_uring_queue_exit(&ring);

	/* the newest copy's second header damaged (its format time: no update writes it) */
	cr_assert_eq(map_new(dev, 0, 2ull << 20, NULL, 0, &raw), 0);
	meta = (char *)map_address(raw) + rep->active_copy * 4096 + 2048 + 88;
	*meta ^= 0x40;
	cr_expect_eq(check(dev, 0, rep), 1);
	snprintf(want, sizeof(want),
		 "copy %d: header checksum mismatch (second header): damaged; header 0 still holds the state (a repair rewrites it)",
		 rep->active_copy);
	cr_expect_str_eq(rep->first_problem, want);
	*meta ^= 0x40;
	map_delete(&raw);

	pool_close(&pool);
	dev_close(&dev);
	ctx_delete(&ctx);
}

#endif
