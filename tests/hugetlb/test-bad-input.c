// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Bad input, table-driven, on the stand-in (2M units): every row is one
 * call that must fail with its -errno and a one-line message naming the
 * device, the value and the rule, and must leave the pool's metadata
 * byte-identical (the first 520 KiB, read through a raw map).  Then the
 * same for daxalloc-ctl (exit status 1 or 2 and one line), what a user
 * without root is told, and descriptors that must not survive exec.
 * The devdax-only rows run in the guest (tests/devdax/test-bad-input-devdax.c).
 */
#include <criterion/criterion.h>
#include <criterion/options.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "consumers.h"
#include "daxalloc.h"
#include "metadata.h"
#include "pool.h"
#include "pin-chain.h"
#include "pool-helpers.h"
#include "private.h"
#include "run-ctl.h"

#define M (UINT64_C(1) << 20)
#define META (2 * M)
#define META_USED (1024u * 1024) /* headers, tables and journal */
#define STANDIN "hugetlb:2M:64M"

_Static_assert(META_USED == DXA_META_USED, "the snapshot covers the copies and the journal");

/* Consumer fds for pin rows that are not literal numbers. */
#define FD_RING (-100)    /* the fixture's io_uring */
#define FD_DEVNULL (-101) /* open, but no consumer */
#define FD_CLOSED 1000    /* checked to be closed in setup() */

static struct daxalloc_ctx *ctx;
static struct daxalloc_dev *dev;
static struct daxalloc_pool *pool;
static struct daxalloc_map *raw;
static char *meta;                   /* the device's metadata, through a raw map */
static char before[META_USED];       /* snapshot before each row */
static char saved[META_USED];        /* what a row that damages the metadata restores */
static struct daxalloc_region *held; /* "held", 4M, mapped: pins go here */
static struct io_uring ring;
static int devnull = -1;
static char dir[] = "/tmp/daxalloc-bad-XXXXXX";

/* Paths rows may name: "@file" is dir/file and so on. */
static const char *path(const char *s)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *b;

	if (!s || s[0] != '@')
		return s;
	b = buf[next++ % 4];
	snprintf(b, PATH_MAX, "%s/%s", dir, s + 1);
	return b;
}

static void make_scratch(void)
{
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	fd = open(path("@file"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "not a device\n", 13), 13);
	close(fd);
	cr_assert_eq(mkdir(path("@dir"), 0755), 0);
	cr_assert_eq(symlink("/dev/zero", path("@link-zero")), 0);
	/* A devdax node's name and place, pointed at from outside /dev. */
	cr_assert_eq(symlink("/dev/dax0.0", path("@link-devdax")), 0);
	/* A character device named like device-dax, outside /dev (root only). */
	if (mknod(path("@dax0.0"), S_IFCHR | 0600, makedev(1, 5)) == 0)
		cr_assert_eq(symlink(path("@dax0.0"), path("@link-node")), 0);
}

static void remove_scratch(void)
{
	static const char *const names[] = { "@file",   "@link-zero", "@link-devdax",
					     "@dax0.0", "@link-node", NULL };

	for (const char *const *n = names; *n; n++)
		unlink(path(*n));
	rmdir(path("@dir"));
	rmdir(dir);
}

static void setup(void)
{
	struct daxalloc_region *r = NULL;

	/* the damage rows edit the tables: every change is written there */
	pool_test_checkpoint_each = true;
	make_scratch();
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	dev = th_dev_open(ctx, STANDIN);
	pool = th_pool_create(dev);
	meta = th_raw_map(dev, META, &raw);
	cr_assert_eq(daxalloc_alloc(pool, 2 * M, "dup", 0, &r), 0, "%s", daxalloc_errmsg());
	daxalloc_region_close(&r);
	cr_assert_eq(daxalloc_alloc(pool, 2 * M, "other", 0, &r), 0, "%s", daxalloc_errmsg());
	daxalloc_region_close(&r);
	cr_assert_eq(daxalloc_alloc(pool, 4 * M, "held", 0, &held), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(io_uring_queue_init(4, &ring, 0), 0, "io_uring_queue_init");
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	cr_assert_geq(devnull, 0);
	cr_assert(fcntl(FD_CLOSED, F_GETFD) < 0, "fd %d is open", FD_CLOSED);
}

static void teardown(void)
{
	daxalloc_region_close(&held);
	daxalloc_map_delete(&raw);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
	io_uring_queue_exit(&ring);
	if (devnull >= 0)
		close(devnull);
	remove_scratch();
}

TestSuite(bad_input, .init = setup, .fini = teardown, .timeout = 120);
TestSuite(perm, .timeout = 60);
TestSuite(cloexec, .timeout = 60);

static void snap(void)
{
	memcpy(before, meta, META_USED);
}

/* ---- damaged metadata: edit both copies, optionally keeping checksums valid ---- */

typedef void (*edit_fn)(struct dxa_hdr *h, struct dxa_entry *t);

static void edit_both(edit_fn edit, bool fix_crcs)
{
	for (int slot = 0; slot < 2; slot++) {
		struct dxa_entry *t = (void *)(meta + DXA_TABLE0_OFFSET + slot * DXA_TABLE_SIZE);
		struct dxa_hdr *h = (void *)(meta + slot * DXA_HDR_SLOT_SIZE);
		struct dxa_hdr *h2 = (void *)(meta + slot * DXA_HDR_SLOT_SIZE + DXA_HDR_COPY_OFFSET);

		edit(h, t);
		if (fix_crcs) {
			if (h->nentries <= DXA_MAX_ENTRIES)
				h->table_crc =
					daxalloc_crc32c(0, t, (size_t)h->nentries * DXA_ENTRY_SIZE);
			h->hdr_crc = dxa_hdr_crc(h);
		}
		/* format 1.1: the header's second copy says the same */
		if (memcmp(h2->magic, DXA_MAGIC, sizeof(h2->magic)) == 0 || !fix_crcs)
			memcpy(h2, h, sizeof(*h2));
	}
}

/* clang-format off */
static void flip_magic(struct dxa_hdr *h, struct dxa_entry *t) { h->magic[1] ^= 0x20; }
static void flip_seq(struct dxa_hdr *h, struct dxa_entry *t) { h->seq ^= 0x40; }
static void newer_major(struct dxa_hdr *h, struct dxa_entry *t)
{
	h->version_major = DXA_VERSION_MAJOR + 1;
	h->version_minor = 0;
}
static void other_unit(struct dxa_hdr *h, struct dxa_entry *t) { h->unit = DAXALLOC_SIZE_1G; }
static void too_many(struct dxa_hdr *h, struct dxa_entry *t) { h->nentries = DXA_MAX_ENTRIES + 1; }
/* the table cut short: its last entry gone, the checksum not updated */
static void cut_table(struct dxa_hdr *h, struct dxa_entry *t)
{
	memset(&t[h->nentries - 1], 0, sizeof(t[0]));
}
/* the header claims one more entry than was written */
static void claims_more(struct dxa_hdr *h, struct dxa_entry *t)
{
	/* never written, so zero: older states may have left entries there */
	memset(&t[h->nentries], 0, sizeof(t[0]));
	h->nentries++;
}
static void overlap(struct dxa_hdr *h, struct dxa_entry *t) { t[1].offset = t[0].offset; }
static void past_end(struct dxa_hdr *h, struct dxa_entry *t)
{
	t[h->nentries - 1].length = UINT64_C(1) << 40;
}
static void dup_names(struct dxa_hdr *h, struct dxa_entry *t)
{
	memcpy(t[1].name, t[0].name, sizeof(t[0].name));
}
static void unterminated(struct dxa_hdr *h, struct dxa_entry *t)
{
	memset(t[0].name, 'x', sizeof(t[0].name));
}
static void unknown_flags(struct dxa_hdr *h, struct dxa_entry *t) { t[0].flags |= 0x80; }
/* clang-format on */

/* A pool's metadata on a device that is now smaller (truncated). */
static int open_on_smaller_device(void)
{
	struct daxalloc_dev *small = th_dev_open(ctx, "hugetlb:2M:32M");
	struct daxalloc_map *m2 = NULL;
	struct daxalloc_pool *p = (void *)1;
	char *meta2 = th_raw_map(small, META, &m2);
	int rc;

	memcpy(meta2, meta, META_USED);
	snap();
	rc = daxalloc_pool_open(small, 0, &p);
	cr_expect_null(p);
	cr_expect_eq(memcmp(meta2, meta, META_USED), 0, "the refused open changed its metadata");
	daxalloc_map_delete(&m2);
	daxalloc_dev_close(&small);
	return rc;
}

/* ---- regions freed, pins released, more than once ---- */

static int free_handle_twice(void)
{
	struct daxalloc_region *r = NULL;

	cr_assert_eq(daxalloc_alloc(pool, 2 * M, "twice", 0, &r), 0);
	cr_assert_eq(daxalloc_region_free(&r), 0);
	snap();
	return daxalloc_region_free(&r);
}

static int free_name_twice(void)
{
	struct daxalloc_region *r = NULL;

	cr_assert_eq(daxalloc_alloc(pool, 2 * M, "twice", 0, &r), 0);
	daxalloc_region_close(&r);
	cr_assert_eq(daxalloc_pool_free_name(pool, "twice"), 0);
	snap();
	return daxalloc_pool_free_name(pool, "twice");
}

/*
 * Freed by another process with an operator's forced free (a plain free is
 * refused while this process maps the region); this handle still maps it.
 */
static struct daxalloc_region *freed_elsewhere(const char *name)
{
	struct daxalloc_region *r = NULL;
	pid_t pid;
	int st;

	cr_assert_eq(daxalloc_alloc(pool, 2 * M, name, 0, &r), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct daxalloc_pool *other = NULL;

		daxalloc_region_close(&r); /* the inherited mapping */
		_exit(daxalloc_pool_open(dev, DAXALLOC_POOL_FORCE_FREE, &other) ||
		      daxalloc_pool_free_name(other, name));
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "another process could not force-free '%s'", name);
	return r;
}

static int free_freed_elsewhere(void)
{
	struct daxalloc_region *r = freed_elsewhere("gone");

	snap();
	return daxalloc_region_free(&r);
}

static struct daxalloc_pin_target uring(void)
{
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_URING };

	t.uring.ring = &ring;
	return t;
}

static int pin_freed_elsewhere(void)
{
	struct daxalloc_region *r = freed_elsewhere("gone");
	struct daxalloc_pin_target t = uring();
	struct daxalloc_pin *p = (void *)1;
	int rc;

	snap();
	rc = daxalloc_pin(r, 0, 2 * M, &t, &p);
	cr_expect_null(p);
	if (p)
		daxalloc_unpin(&p);
	daxalloc_region_close(&r);
	return rc;
}

static int pin_freed_handle(void)
{
	struct daxalloc_region *r = NULL;
	struct daxalloc_pin_target t = uring();
	struct daxalloc_pin *p = (void *)1;

	cr_assert_eq(daxalloc_alloc(pool, 2 * M, "twice", 0, &r), 0);
	cr_assert_eq(daxalloc_region_free(&r), 0);
	snap();
	return daxalloc_pin(r, 0, 2 * M, &t, &p);
}

static struct daxalloc_pin *pin_held(void)
{
	struct daxalloc_pin_target t = uring();
	struct daxalloc_pin *p = NULL;

	cr_assert_eq(daxalloc_pin(held, 0, 2 * M, &t, &p), 0, "%s", daxalloc_errmsg());
	return p;
}

static int unpin_twice(void)
{
	struct daxalloc_pin *p = pin_held();

	cr_assert_eq(daxalloc_unpin(&p), 0);
	snap();
	return daxalloc_unpin(&p);
}

static int unpin_stale_copy(void)
{
	struct daxalloc_pin *p = pin_held(), *copy = p;

	cr_assert_eq(daxalloc_unpin(&p), 0);
	snap();
	return daxalloc_unpin(&copy);
}

static int free_pinned(void)
{
	struct daxalloc_pin *p = pin_held();
	int rc;

	snap();
	rc = daxalloc_region_free(&held);
	cr_expect_not_null(held, "a refused free keeps the handle");
	daxalloc_unpin(&p);
	return rc;
}

static int free_name_pinned(void)
{
	struct daxalloc_pin *p = pin_held();
	int rc;

	snap();
	rc = daxalloc_pool_free_name(pool, "held");
	daxalloc_unpin(&p);
	return rc;
}

/* ---- the table ---- */

enum op {
	DEV_OPEN,
	MAP,
	ALLOC,
	RENAME,
	FREE_NAME,
	REGION_OPEN,
	POOL_OPEN,
	CREATE,
	CHECK,
	PIN,
	CALL
};

struct row {
	const char *what;
	enum op op;
	const char *s, *s2; /* names, paths */
	uint64_t a, b;      /* offset / size, length */
	unsigned int flags;
	uintptr_t addr;              /* MAP: the wanted address */
	enum daxalloc_pin_kind kind; /* PIN */
	int fd;                      /* PIN: consumer fd, or FD_* */
	int (*fn)(void);             /* CALL: snap() right before the bad call */
	edit_fn edit;                /* damages both copies first; restored after the row */
	bool fix_crcs;               /* ... with their checksums made valid again */
	bool root;                   /* needs the node only root can make */
	int err;
	const char *want[3]; /* in the message */
};

#define U64_MAX_UNITS (UINT64_MAX & ~(2 * M - 1))

static const struct row rows[] = {
	/* devices: nothing but device-dax names, their /dev paths and the stand-in */
	{ "nonexistent path", DEV_OPEN, "/nonexistent/dax0.0", .err = ENODEV,
	  .want = { "/nonexistent/dax0.0", "No such file" } },
	{ "nonexistent device", DEV_OPEN, "dax99.0", .err = ENODEV, .want = { "dax99.0", "no such" } },
	{ "nonexistent /dev path", DEV_OPEN, "/dev/dax99.0", .err = ENODEV, .want = { "dax99.0" } },
	{ "/dev/zero", DEV_OPEN, "/dev/zero", .err = ENODEV,
	  .want = { "/dev/zero", "not a device-dax" } },
	{ "regular file", DEV_OPEN, "@file", .err = ENODEV, .want = { "/file", "regular file" } },
	{ "directory", DEV_OPEN, "@dir", .err = ENODEV, .want = { "/dir", "directory" } },
	{ "symlink to /dev/zero", DEV_OPEN, "@link-zero", .err = ENODEV,
	  .want = { "link-zero", "symbolic link", "not followed" } },
	{ "symlink to /dev/dax0.0", DEV_OPEN, "@link-devdax", .err = ENODEV,
	  .want = { "link-devdax", "symbolic link", "not followed" } },
	{ "device node outside /dev", DEV_OPEN, "@dax0.0", .root = true, .err = ENODEV,
	  .want = { "/dax0.0", "not a device-dax device" } },
	{ "symlink to a device node outside /dev", DEV_OPEN, "@link-node", .root = true,
	  .err = ENODEV, .want = { "link-node", "symbolic link", "not followed" } },
	{ "empty name", DEV_OPEN, "", .err = EINVAL, .want = { "empty" } },
	{ "name with a newline", DEV_OPEN, "dax0.0\n", .err = EINVAL,
	  .want = { "not a device name" } },
	{ "name with an escape", DEV_OPEN, "\033[2Jdax0.0", .err = EINVAL,
	  .want = { "?[2Jdax0.0", "not a device name" } },
	{ "traversal", DEV_OPEN, "dax0.0/../../dev/zero", .err = ENODEV,
	  .want = { "dax0.0/../../dev/zero" } },
	{ "stand-in 3M pages", DEV_OPEN, "hugetlb:3M", .err = EINVAL,
	  .want = { "hugetlb:3M", "2M or 1G" } },
	{ "stand-in size 3M", DEV_OPEN, "hugetlb:2M:3M", .err = EINVAL,
	  .want = { "hugetlb:2M:3M", "multiple of the page size 2M" } },
	{ "stand-in size 0", DEV_OPEN, "hugetlb:2M:0", .err = EINVAL,
	  .want = { "hugetlb:2M:0", "non-zero" } },
	{ "stand-in size 16E", DEV_OPEN, "hugetlb:2M:16E", .err = ERANGE,
	  .want = { "hugetlb:2M:16E", "larger than" } },

	/* maps: alignment, bounds, overflow */
	{ "map offset 1M", MAP, .a = M, .b = 2 * M, .err = EINVAL,
	  .want = { STANDIN, "0x100000", "not a multiple of the device alignment 2M" } },
	{ "map length 3M", MAP, .a = 0, .b = 3 * M, .err = EINVAL,
	  .want = { STANDIN, "0x300000", "not a multiple of the device alignment 2M" } },
	{ "map length 0", MAP, .a = 0, .b = 0, .err = EINVAL, .want = { STANDIN, "length 0" } },
	{ "map past the end", MAP, .a = 62 * M, .b = 4 * M, .err = EINVAL,
	  .want = { STANDIN, "0x3e00000", "outside the device" } },
	{ "map offset+length overflows", MAP, .a = U64_MAX_UNITS, .b = 4 * M, .err = EINVAL,
	  .want = { STANDIN, "0xffffffffffe00000", "outside the device" } },
	{ "map huge length", MAP, .a = 2 * M, .b = U64_MAX_UNITS, .err = EINVAL,
	  .want = { STANDIN, "outside the device" } },
	{ "map misaligned address", MAP, .a = 0, .b = 2 * M, .addr = 0x7f0000001000, .err = EINVAL,
	  .want = { STANDIN, "address", "not a multiple of the device alignment 2M" } },
	{ "map unknown flags", MAP, .a = 0, .b = 2 * M, .flags = 0x80, .err = EINVAL,
	  .want = { STANDIN, "0x80" } },
	{ "map MAP_SYNC on the stand-in", MAP, .a = 0, .b = 2 * M, .flags = DAXALLOC_MAP_SYNC,
	  .err = EOPNOTSUPP, .want = { STANDIN, "MAP_SYNC" } },

	/* allocations: sizes and names */
	{ "alloc size 0", ALLOC, NULL, .a = 0, .err = EINVAL, .want = { STANDIN, "size 0" } },
	{ "alloc 2^64-1 bytes", ALLOC, "huge", .a = UINT64_MAX, .err = ENOSPC,
	  .want = { STANDIN, "18446744073709551615", "more than the whole device" } },
	{ "alloc more than is free", ALLOC, "big", .a = 60 * M, .err = ENOSPC,
	  .want = { STANDIN, "60M", "no free extent" } },
	{ "alloc a duplicate name", ALLOC, "dup", .a = 2 * M, .err = EEXIST,
	  .want = { STANDIN, "'dup'", "exists" } },
	{ "alloc a 64-character name", ALLOC,
	  "a123456789012345678901234567890123456789012345678901234567890123", .a = 2 * M,
	  .err = ENAMETOOLONG, .want = { "longer than 63" } },
	{ "alloc a name with '/'", ALLOC, "has/slash", .a = 2 * M, .err = EINVAL,
	  .want = { "'/'", "position 3" } },
	{ "alloc a name with a control character", ALLOC, "ctl\001char", .a = 2 * M, .err = EINVAL,
	  .want = { "control character (0x01)", "position 3" } },
	{ "alloc a name with a newline", ALLOC, "two\nlines", .a = 2 * M, .err = EINVAL,
	  .want = { "control character (0x0a)" } },
	{ "alloc an empty name", ALLOC, "", .a = 2 * M, .err = EINVAL, .want = { "empty" } },
	{ "alloc a name starting with '.'", ALLOC, "..", .a = 2 * M, .err = EINVAL,
	  .want = { "must not start with '.'" } },
	{ "alloc unknown flags", ALLOC, "flags", .a = 2 * M, .flags = 0x100, .err = EINVAL,
	  .want = { "0x100" } },
	{ "rename onto an existing name", RENAME, "dup", "other", .err = EEXIST,
	  .want = { STANDIN, "'other'", "exists" } },
	{ "rename to a bad name", RENAME, "dup", "a\tb", .err = EINVAL,
	  .want = { "control character" } },
	{ "rename a missing region", RENAME, "nope", "x", .err = ENOENT,
	  .want = { STANDIN, "'nope'" } },
	{ "free a path-like name", FREE_NAME, "x/../dup", .err = EINVAL, .want = { "'/'" } },
	{ "free a missing region", FREE_NAME, "nope", .err = ENOENT, .want = { STANDIN, "'nope'" } },
	{ "open a missing region", REGION_OPEN, "nope", .err = ENOENT, .want = { STANDIN, "'nope'" } },
	{ "pool open unknown flags", POOL_OPEN, .flags = 0x40, .err = EINVAL, .want = { "0x40" } },
	{ "check unknown flags", CHECK, .flags = 0x8, .err = EINVAL, .want = { "0x8" } },
	{ "format over a pool without force", CREATE, .err = EEXIST,
	  .want = { STANDIN, "already holds a pool", "--force" } },

	/* freed twice, pins of freed regions, unpinned twice */
	{ "region freed twice (handle)", CALL, .fn = free_handle_twice, .err = EINVAL,
	  .want = { "NULL region" } },
	{ "region freed twice (name)", CALL, .fn = free_name_twice, .err = ENOENT,
	  .want = { STANDIN, "'twice'" } },
	{ "free of a region freed elsewhere", CALL, .fn = free_freed_elsewhere, .err = ENOENT,
	  .want = { STANDIN, "already freed" } },
	{ "pin of a freed region (handle)", CALL, .fn = pin_freed_handle, .err = EINVAL,
	  .want = { "NULL region" } },
	{ "pin of a region freed elsewhere", CALL, .fn = pin_freed_elsewhere, .err = ENOENT,
	  .want = { STANDIN, "'gone'", "freed" } },
	{ "unpin twice", CALL, .fn = unpin_twice, .err = EINVAL, .want = { "already unpinned" } },
	{ "unpin a stale copy", CALL, .fn = unpin_stale_copy, .err = EINVAL,
	  .want = { "not a live pin" } },
	{ "free of a pinned region", CALL, .fn = free_pinned, .err = EBUSY,
	  .want = { STANDIN, "'held'", "pinned by io_uring" } },
	{ "free by name of a pinned region", CALL, .fn = free_name_pinned, .err = EBUSY,
	  .want = { STANDIN, "'held'", "pinned" } },

	/* pins: ranges and consumers */
	{ "pin offset 1M", PIN, .a = M, .b = 2 * M, .kind = DAXALLOC_PIN_URING, .fd = FD_RING,
	  .err = EINVAL,
	  .want = { STANDIN, "0x100000", "not a multiple of the device alignment 2M" } },
	{ "pin length 0", PIN, .a = 0, .b = 0, .kind = DAXALLOC_PIN_URING, .fd = FD_RING,
	  .err = EINVAL, .want = { STANDIN, "length 0" } },
	{ "pin past the region", PIN, .a = 2 * M, .b = 4 * M, .kind = DAXALLOC_PIN_URING,
	  .fd = FD_RING, .err = EINVAL, .want = { STANDIN, "not inside the region" } },
	{ "pin offset+length overflows", PIN, .a = 2 * M, .b = U64_MAX_UNITS,
	  .kind = DAXALLOC_PIN_URING, .fd = FD_RING, .err = EINVAL,
	  .want = { STANDIN, "not inside the region" } },
	{ "pin unknown consumer", PIN, .a = 0, .b = 2 * M, .kind = 99, .fd = FD_RING, .err = EINVAL,
	  .want = { "kind 99" } },
	{ "pin unknown flags", PIN, .a = 0, .b = 2 * M, .kind = DAXALLOC_PIN_URING, .fd = FD_RING,
	  .flags = 1u << 20, .err = EINVAL, .want = { "unknown flags" } },
	{ "pin io_uring fd -1", PIN, .a = 0, .b = 2 * M, .kind = DAXALLOC_PIN_URING, .fd = -1,
	  .err = EBADF, .want = { STANDIN, "fd -1", "not an open file descriptor" } },
	{ "pin io_uring fd closed", PIN, .a = 0, .b = 2 * M, .kind = DAXALLOC_PIN_URING,
	  .fd = FD_CLOSED, .err = EBADF, .want = { STANDIN, "fd 1000" } },
	{ "pin io_uring fd not a ring", PIN, .a = 0, .b = 2 * M, .kind = DAXALLOC_PIN_URING,
	  .fd = FD_DEVNULL, .err = EOPNOTSUPP, .want = { STANDIN, "io_uring" } },
	{ "pin VFIO container fd -1", PIN, .a = 0, .b = 2 * M, .kind = DAXALLOC_PIN_VFIO, .fd = -1,
	  .err = EBADF, .want = { STANDIN, "VFIO container fd -1" } },
	{ "pin VFIO container not VFIO", PIN, .a = 0, .b = 2 * M, .kind = DAXALLOC_PIN_VFIO,
	  .fd = FD_DEVNULL, .err = ENOTTY, .want = { STANDIN, "not a VFIO container" } },

	/* hostile metadata: every open is refused and writes nothing */
	{ "both copies without signature", POOL_OPEN, .edit = flip_magic, .err = ENODATA,
	  .want = { STANDIN, "holds no pool" } },
	{ "both headers fail their checksum", POOL_OPEN, .edit = flip_seq, .err = EUCLEAN,
	  .want = { STANDIN, "corrupt", "checksum" } },
	{ "metadata from a newer version", POOL_OPEN, .edit = newer_major, .fix_crcs = true,
	  .err = EPROTONOSUPPORT, .want = { STANDIN, "version 3.0", "reads 1.x to 2.x" } },
	{ "check of a newer version", CHECK, .edit = newer_major, .fix_crcs = true,
	  .err = EPROTONOSUPPORT, .want = { STANDIN, "version 3.0" } },
	{ "format over a newer version", CREATE, .edit = newer_major, .fix_crcs = true,
	  .err = EPROTONOSUPPORT, .want = { STANDIN, "version 3.0", "--force" } },
	{ "format over corrupt metadata", CREATE, .edit = flip_seq, .err = EUCLEAN,
	  .want = { STANDIN, "corrupt", "--force" } },
	{ "pool formatted at another alignment", POOL_OPEN, .edit = other_unit, .fix_crcs = true,
	  .err = EXDEV, .want = { STANDIN, "1073741824-byte units", "now 2097152" } },
	{ "pool formatted on a larger device", CALL, .fn = open_on_smaller_device, .err = EXDEV,
	  .want = { "hugetlb:2M:32M", "67108864-byte device", "now has 33554432" } },
	{ "more entries than the table", POOL_OPEN, .edit = too_many, .fix_crcs = true,
	  .err = EUCLEAN, .want = { STANDIN, "2049 entries in a table of 2048" } },
	{ "table cut short", POOL_OPEN, .edit = cut_table, .err = EUCLEAN,
	  .want = { STANDIN, "table checksum mismatch" } },
	{ "header claims an unwritten entry", POOL_OPEN, .edit = claims_more, .fix_crcs = true,
	  .err = EUCLEAN, .want = { STANDIN, "not unit-aligned" } },
	{ "overlapping regions", POOL_OPEN, .edit = overlap, .fix_crcs = true, .err = EUCLEAN,
	  .want = { STANDIN, "overlaps" } },
	{ "region past the device", POOL_OPEN, .edit = past_end, .fix_crcs = true, .err = EUCLEAN,
	  .want = { STANDIN, "runs past the device" } },
	{ "duplicate region names", POOL_OPEN, .edit = dup_names, .fix_crcs = true, .err = EUCLEAN,
	  .want = { STANDIN, "appears twice" } },
	{ "unterminated region name", POOL_OPEN, .edit = unterminated, .fix_crcs = true,
	  .err = EUCLEAN, .want = { STANDIN, "not terminated" } },
	{ "unknown region flags", POOL_OPEN, .edit = unknown_flags, .fix_crcs = true,
	  .err = EUCLEAN, .want = { STANDIN, "unknown flags 0x81" } },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static int consumer_fd(int fd)
{
	switch (fd) {
	case FD_RING:
		return ring.ring_fd;
	case FD_DEVNULL:
		return devnull;
	default:
		return fd;
	}
}

static int run_row(const struct row *r)
{
	struct daxalloc_dev *d = (void *)1;
	struct daxalloc_map *m = (void *)1;
	struct daxalloc_region *reg = (void *)1;
	struct daxalloc_pool *p = (void *)1;
	struct daxalloc_pin *pin = (void *)1;
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = r->kind,
					 .flags = r->flags };
	struct io_uring bad = ring;
	int rc = 0;

	if (r->edit) {
		memcpy(saved, meta, META_USED);
		edit_both(r->edit, r->fix_crcs);
	}
	if (r->op != CALL)
		snap();
	switch (r->op) {
	case DEV_OPEN:
		rc = daxalloc_dev_open(ctx, path(r->s), &d);
		cr_expect_null(d, "%s: out-pointer not cleared", r->what);
		break;
	case MAP:
		rc = daxalloc_map_new(dev, r->a, r->b, (void *)r->addr, r->flags, &m);
		cr_expect_null(m, "%s: out-pointer not cleared", r->what);
		break;
	case ALLOC:
		rc = daxalloc_alloc(pool, r->a, r->s, r->flags, &reg);
		cr_expect_null(reg, "%s: out-pointer not cleared", r->what);
		break;
	case RENAME:
		rc = daxalloc_pool_rename(pool, r->s, r->s2);
		break;
	case FREE_NAME:
		rc = daxalloc_pool_free_name(pool, r->s);
		break;
	case REGION_OPEN:
		rc = daxalloc_region_open(pool, r->s, 0, &reg);
		cr_expect_null(reg, "%s: out-pointer not cleared", r->what);
		break;
	case POOL_OPEN:
		rc = daxalloc_pool_open(dev, r->flags, &p);
		cr_expect_null(p, "%s: out-pointer not cleared", r->what);
		break;
	case CREATE:
		rc = daxalloc_pool_create(dev, r->flags, &p);
		cr_expect_null(p, "%s: out-pointer not cleared", r->what);
		break;
	case CHECK:
		rc = daxalloc_pool_check(dev, r->flags, &rep);
		break;
	case PIN:
		bad.ring_fd = consumer_fd(r->fd);
		t.uring.ring = &bad;
		t.vfio.container_fd = consumer_fd(r->fd);
		t.iommufd.fd = consumer_fd(r->fd);
		rc = daxalloc_pin(held, r->a, r->b, &t, &pin);
		cr_expect_null(pin, "%s: out-pointer not cleared", r->what);
		break;
	case CALL:
		rc = r->fn();
		break;
	}
	return rc;
}

Test(bad_input, api_matrix)
{
	unsigned int failed = 0;

	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];
		const char *msg;
		bool ok = true;
		int rc;

		if (r->root && access(path("@dax0.0"), F_OK) < 0) {
			cr_log_warn("%s: skipped: making a device node needs root", r->what);
			continue;
		}
		daxalloc_err_clear();
		rc = run_row(r);
		msg = daxalloc_errmsg();
		if (rc != -r->err) {
			cr_expect_fail("%s: returned %d (%s), expected -%s; message: %s", r->what,
				       rc, rc < 0 ? strerrorname_np(-rc) : "-",
				       strerrorname_np(r->err), msg);
			ok = false;
		}
		if (!*msg || strchr(msg, '\n') || strchr(msg, '\033')) {
			cr_expect_fail("%s: not a one-line message: '%s'", r->what, msg);
			ok = false;
		}
		for (int w = 0; w < 3 && r->want[w]; w++)
			if (!strstr(msg, r->want[w])) {
				cr_expect_fail("%s: message '%s' lacks '%s'", r->what, msg,
					       r->want[w]);
				ok = false;
			}
		if (memcmp(before, meta, META_USED) != 0) {
			cr_expect_fail("%s: the metadata changed", r->what);
			ok = false;
		}
		if (r->edit)
			memcpy(meta, saved, META_USED);
		failed += !ok;
	}
	cr_log_info("%zu API rows, %u failed", NROWS, failed);
	/* and the pool is still whole */
	{
		struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };

		cr_expect_eq(daxalloc_pool_check(dev, 0, &rep), 0, "%s", th_check_said(&rep));
		cr_expect_eq(rep.regions, 3, "dup, other, held");
	}
}

/* ---- the CLI ---------------------------------------------------------------- */

static const struct ctl_refusal cli_rows[] = {
	/* clang-format off */
	{ { "info", "/nonexistent/dax0.0" }, 1, { "/nonexistent/dax0.0", "No such file" } },
	{ { "info", "dax99.0" }, 1, { "dax99.0", "no such device-dax device" } },
	{ { "info", "/dev/zero" }, 1, { "/dev/zero", "not a device-dax device" } },
	{ { "info", "@file" }, 1, { "/file", "regular file" } },
	{ { "info", "@dir" }, 1, { "/dir", "directory" } },
	{ { "info", "@link-zero" }, 1, { "link-zero", "symbolic link", "not followed" } },
	{ { "info", "@link-devdax" }, 1, { "link-devdax", "symbolic link", "not followed" } },
	{ { "info", "dax0.0\n\033[2J" }, 1, { "dax0.0??[2J", "not a device name" } },
	{ { "info", "hugetlb:3M" }, 1, { "hugetlb:3M", "2M or 1G" } },
	{ { "info", "hugetlb:2M:3M" }, 1, { "hugetlb:2M:3M", "multiple of the page size 2M" } },
	{ { "info", "hugetlb:2M:16E" }, 1, { "hugetlb:2M:16E", "larger than" } },
	{ { "map", "hugetlb:2M:8M", "--offset", "1M", "--size", "2M" }, 1,
	  { "hugetlb:2M:8M", "0x100000", "not a multiple of the device alignment 2M" } },
	{ { "map", "hugetlb:2M:8M", "--size", "3M" }, 1,
	  { "hugetlb:2M:8M", "0x300000", "not a multiple of the device alignment 2M" } },
	{ { "map", "hugetlb:2M:8M", "--size", "0" }, 1, { "hugetlb:2M:8M", "length 0" } },
	{ { "map", "hugetlb:2M:8M", "--offset", "6M", "--size", "4M" }, 1,
	  { "hugetlb:2M:8M", "0x600000", "outside the device" } },
	{ { "map", "hugetlb:2M:8M", "--offset", "18446744073707454464", "--size", "4M" }, 1,
	  { "hugetlb:2M:8M", "0xffffffffffe00000", "outside the device" } },
	{ { "map", "hugetlb:2M:8M", "--size", "16E" }, 2, { "--size", "16E", "larger than" } },
	{ { "map", "hugetlb:2M:8M", "--size", "lots" }, 2, { "--size", "'lots'" } },
	{ { "map", "hugetlb:2M:8M", "--offset", "-2M" }, 2, { "--offset", "-2M" } },
	{ { "destroy-device", "hugetlb:2M:8M" }, 1, { "hugetlb:2M:8M", "no stand-in is kept" } },
	{ { "df", "hugetlb:2M:8M" }, 1, { "hugetlb:2M:8M", "holds no pool" } },
	{ { "pins", "hugetlb:2M:8M" }, 1, { "hugetlb:2M:8M", "stand-in" } },
	{ { "alloc", "hugetlb:2M:8M", "--size", "2M" }, 2, { "--name" } },
	{ { "alloc", "--size", "2M", "--name", "x" }, 2, { "missing DEV" } },
	{ { "free", "hugetlb:2M:8M" }, 2, { "missing argument" } },
	{ { "rename", "hugetlb:2M:8M", "a", "b", "c" }, 2, { "unexpected argument 'c'" } },
	{ { "reconfigure", "dax0.0", "--align", "3M" }, 2, { "--align 3M", "4K, 2M or 1G" } },
	{ { "create-device", "--size", "1G", "--region", "x1" }, 2, { "--region x1" } },
	{ { "frob\nnicate" }, 2, { "unknown command 'frob?nicate'" } },
	{ { "list", "extra" }, 2, { "unexpected argument 'extra'" } },
	/* clang-format on */
};

Test(bad_input, cli_matrix)
{
	unsigned int failed = 0;

	for (size_t i = 0; i < sizeof(cli_rows) / sizeof(cli_rows[0]); i++)
		failed += !ctl_expect_refusal(&cli_rows[i], path);
	cr_log_info("%zu CLI rows, %u failed", sizeof(cli_rows) / sizeof(cli_rows[0]), failed);
}

/* ---- without root: what needs root says so ---------------------------------- */

static uint64_t pages_short; /* a stand-in this many 2M pages beyond what is free */

static int open_big_standin(void)
{
	struct daxalloc_ctx *c = NULL;
	struct daxalloc_dev *d = NULL;
	char name[64];
	int rc;

	if (daxalloc_ctx_new(&c) < 0)
		return -EIO;
	snprintf(name, sizeof(name), "hugetlb:2M:%lluM", (unsigned long long)pages_short * 2);
	rc = daxalloc_dev_open(c, name, &d);
	daxalloc_dev_close(&d);
	daxalloc_ctx_delete(&c);
	return rc;
}

Test(perm, reserving_huge_pages_says_root)
{
	struct th_answer a;
	uint64_t free_p = 0, resv = 0;

	if (sysfs_hugepages_read(DAXALLOC_SIZE_2M, "free_hugepages", &free_p) < 0 ||
	    sysfs_hugepages_read(DAXALLOC_SIZE_2M, "resv_hugepages", &resv) < 0)
		cr_skip_test("this kernel offers no 2M huge pages");
	pages_short = (free_p > resv ? free_p - resv : 0) + 16;
	th_as_nobody(open_big_standin, &a);
	cr_expect_eq(a.rc, -ENOMEM, "rc %d: %s", a.rc, a.msg);
	cr_expect(strstr(a.msg, "as root"), "%s", a.msg);
	cr_expect(strstr(a.msg, "nr_hugepages"), "%s", a.msg);
	cr_expect_null(strchr(a.msg, '\n'));
}

/* The CLI as an ordinary user: the same answer, exit status 1. */
Test(perm, cli_without_root_says_root)
{
	static struct ctl_run res;
	uint64_t free_p = 0, resv = 0;
	char size[32];

	if (geteuid() != 0)
		cr_skip_test("needs root to become another user");
	if (sysfs_hugepages_read(DAXALLOC_SIZE_2M, "free_hugepages", &free_p) < 0 ||
	    sysfs_hugepages_read(DAXALLOC_SIZE_2M, "resv_hugepages", &resv) < 0)
		cr_skip_test("this kernel offers no 2M huge pages");
	snprintf(size, sizeof(size), "hugetlb:2M:%lluM",
		 (unsigned long long)((free_p > resv ? free_p - resv : 0) + 16) * 2);
	ctl_run(&res, (const char *const[]){ "map", size, "--size", "2M", NULL }, CTL_RUN_AS_NOBODY);
	cr_expect_eq(res.status, 1, "status %d: %s", res.status, res.err);
	cr_expect(strstr(res.err, size) && strstr(res.err, "as root"), "%s", res.err);
	cr_expect_eq(ctl_lines(res.err), 1, "%s", res.err);
}

/* ---- nothing of ours survives exec ------------------------------------------ */

Test(cloexec, nothing_of_ours_is_inherited_across_exec)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct pin_chain c;
	int base[64], nbase;

	/* What the test harness itself leaves inheritable is not ours. */
	nbase = th_inheritable(base, 64);
	pin_chain_make(&c, "hugetlb:2M:16M", 4 * M);
	cr_assert_eq(daxalloc_pool_check(c.dev, 0, &rep), 0, "%s", th_check_said(&rep));

	th_expect_nothing_inherited(base, nbase);
	pin_chain_close(&c);
}

/*
 * One test at a time: the huge page counts the permission tests read must
 * not move under them (and Criterion's runner, under LeakSanitizer, loses
 * 48 bytes when tests of several suites end together).
 */
int main(int argc, char *argv[])
{
	struct criterion_test_set *tests = criterion_initialize();
	int rc = 0;

	criterion_options.jobs = 1;
	if (criterion_handle_args(argc, argv, true))
		rc = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return rc;
}
