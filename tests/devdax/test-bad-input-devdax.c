// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The bad-input rows only real device-dax has, in the guest, on scratch
 * devices made in the hmem region's free capacity (destroyed afterwards):
 * links to a devdax node, a copy of its node outside /dev, a disabled
 * device, an alignment changed under a pool, pins for consumers that are
 * not there, the CLI against a real pool, users without root, descriptors
 * across exec; and the concurrency soak on a real device.  Every refused
 * call must leave the pool metadata byte-identical (first 520 KiB).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/options.h>
#include <daxctl/libdaxctl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "consumers.h"
#include "daxalloc.h"
#include "guest-devices.h"
#include "pool-helpers.h"
#include "soak.h"
#include "run-ctl.h"

#define M (UINT64_C(1) << 20)
#define META (2 * M)
#define META_USED (520u * 1024)
#define SCRATCH_SIZE (64 * M)
#define DESTROY (DAXALLOC_RECONFIG_DESTROY_DATA | DAXALLOC_RECONFIG_IGNORE_DMA)

static struct daxalloc_ctx *ctx;
static char scratch[32]; /* daxN.M, 64M at 2M, formatted */
static char off[32];     /* a second one, disabled */
static char devpath[64];
static char dir[] = "/tmp/daxalloc-bad-XXXXXX";
static char before[META_USED];

/* libdaxctl directly: the library has no call that only disables or enables. */
static int enable(const char *name, bool on)
{
	struct daxctl_ctx *dc = NULL;
	struct daxctl_region *r;
	struct daxctl_dev *d;
	int rc = -ENODEV;

	if (daxctl_new(&dc) < 0)
		return -ENOMEM;
	daxctl_region_foreach(dc, r)
		daxctl_dev_foreach(r, d)
			if (strcmp(daxctl_dev_get_devname(d), name) == 0)
				rc = on ? daxctl_dev_enable_devdax(d) : daxctl_dev_disable(d);
	daxctl_unref(dc);
	return rc;
}

static bool bound(const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "/sys/bus/dax/devices/%s/driver", name);
	return access(p, F_OK) == 0;
}

static void set_enabled(const char *name, bool on)
{
	int rc = enable(name, on);

	cr_assert_eq(rc, 0, "%s: %s: %s", name, on ? "enable" : "disable", strerror(-rc));
}

/* A fresh context: libdaxctl lists devices once per context. */
static void renew_ctx(void)
{
	daxalloc_ctx_delete(&ctx);
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
}

static const char *path(const char *s)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *b;

	if (!s)
		return NULL;
	if (strcmp(s, "@DEV") == 0)
		return scratch;
	if (strcmp(s, "@OFF") == 0)
		return off;
	if (s[0] != '@')
		return s;
	b = buf[next++ % 4];
	snprintf(b, PATH_MAX, "%s/%s", dir, s + 1);
	return b;
}

/*
 * The scratch devices are made once, by main(), and named to the tests in
 * the environment; each test starts from a fresh pool at 2M.
 */
static void setup(void)
{
	const char *a = getenv("DAXALLOC_TEST_SCRATCH"), *b = getenv("DAXALLOC_TEST_SCRATCH_OFF");
	struct daxalloc_dev *dev;
	struct daxalloc_pool *pool;
	struct daxalloc_region *r = NULL;
	struct stat st;

	guest_devs(&(int){ 0 });
	cr_assert(a && b, "no scratch devices: %s", getenv("DAXALLOC_TEST_SCRATCH_WHY") ?: "?");
	snprintf(scratch, sizeof(scratch), "%s", a);
	snprintf(off, sizeof(off), "%s", b);
	snprintf(devpath, sizeof(devpath), "/dev/%s", scratch);
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	dev = th_dev_open(ctx, scratch);
	if (daxalloc_dev_get_align(dev) != DAXALLOC_SIZE_2M) {
		/* a test realigned it */
		daxalloc_dev_close(&dev);
		cr_assert_eq(daxalloc_dev_set_align(ctx, scratch, DAXALLOC_SIZE_2M, DESTROY), 0,
			     "%s", daxalloc_errmsg());
		dev = th_dev_open(ctx, scratch);
	}
	pool = th_pool_create(dev);
	cr_assert_eq(daxalloc_alloc(pool, 2 * M, "dup", 0, &r), 0, "%s", daxalloc_errmsg());
	daxalloc_region_close(&r);
	cr_assert_eq(daxalloc_alloc(pool, 4 * M, "held", 0, &r), 0, "%s", daxalloc_errmsg());
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);

	/* Links to the real node, and a copy of the node outside /dev. */
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(stat(devpath, &st), 0);
	cr_assert_eq(symlink(devpath, path("@link")), 0);
	cr_assert_eq(mknod(path("@node"), S_IFCHR | 0600, st.st_rdev), 0, "%s", strerror(errno));
	cr_assert_eq(symlink(path("@node"), path("@link-node")), 0);
}

static void teardown(void)
{
	unlink(path("@link"));
	unlink(path("@link-node"));
	unlink(path("@node"));
	rmdir(dir);
	/* a test that failed half-way may have left it disabled */
	if (!bound(scratch)) {
		enable(scratch, true);
		enable(off, false);
	}
	daxalloc_ctx_delete(&ctx);
}

TestSuite(devdax_bad, .init = setup, .fini = teardown, .timeout = 300);

/* The metadata through a window of our own; compared by the caller. */
static void read_meta(const char *name, char *buf)
{
	struct daxalloc_dev *d = NULL;
	struct daxalloc_map *m = NULL;

	cr_assert_eq(daxalloc_dev_open(ctx, name, &d), 0, "%s", daxalloc_errmsg());
	memcpy(buf, th_raw_map(d, META, &m), META_USED);
	daxalloc_map_delete(&m);
	daxalloc_dev_close(&d);
}

static void snap(void)
{
	read_meta(scratch, before);
}

static bool unchanged(void)
{
	static char now[META_USED];

	read_meta(scratch, now);
	return memcmp(before, now, META_USED) == 0;
}

static void expect_msg(const char *what, const char *want)
{
	cr_expect(strstr(daxalloc_errmsg(), want), "%s: message '%s' lacks '%s'", what,
		  daxalloc_errmsg(), want);
}

/* ---- device names that lead elsewhere, a disabled device ------------------ */

struct open_row {
	const char *what, *name;
	int err;
	const char *want[2];
};

Test(devdax_bad, names_that_are_not_the_device)
{
	const struct open_row rows[] = {
		{ "symlink to the device", "@link", ENODEV, { "symbolic link", "not followed" } },
		{ "its node outside /dev", "@node", ENODEV, { "/node", "not a device-dax device" } },
		{ "symlink to that node", "@link-node", ENODEV, { "symbolic link", "not followed" } },
		{ "disabled device", "@OFF", ENXIO, { "disabled", "daxctl enable-device" } },
		{ "disabled device by path", "/dev/@OFF", ENXIO, { "disabled" } },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct daxalloc_dev *d = (void *)1;
		char name[PATH_MAX];

		if (strncmp(rows[i].name, "/dev/@", 6) == 0)
			snprintf(name, sizeof(name), "/dev/%s", path(rows[i].name + 5));
		else
			snprintf(name, sizeof(name), "%s", path(rows[i].name));
		snap();
		cr_expect_eq(daxalloc_dev_open(ctx, name, &d), -rows[i].err, "%s: %s", rows[i].what,
			     daxalloc_errmsg());
		cr_expect_null(d);
		for (int w = 0; w < 2 && rows[i].want[w]; w++)
			expect_msg(rows[i].what, rows[i].want[w]);
		cr_expect_null(strchr(daxalloc_errmsg(), '\n'));
		cr_expect(unchanged(), "%s: the metadata changed", rows[i].what);
	}
}

/* ---- consumers that are not there: refused, and nothing recorded ---------- */

static int count_pin(const struct daxalloc_pin_info *i, void *arg)
{
	(void)i;
	(*(int *)arg)++;
	return 0;
}

Test(devdax_bad, pins_for_consumers_that_are_not_there)
{
	struct daxalloc_dev *dev = th_dev_open(ctx, scratch);
	struct daxalloc_pool *pool = NULL, *other = NULL;
	struct daxalloc_region *r = NULL, *gone = NULL;
	bool have_iommu = access("/dev/iommu", F_OK) == 0;
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct {
		const char *what;
		enum daxalloc_pin_kind kind;
		int fd;
		uint64_t off, len;
		int err;
		const char *want;
	} rows[] = {
		{ "VFIO container fd -1", DAXALLOC_PIN_VFIO, -1, 0, 2 * M, EBADF, "fd -1" },
		{ "VFIO container fd closed", DAXALLOC_PIN_VFIO, 1000, 0, 2 * M, EBADF, "fd 1000" },
		{ "VFIO container not VFIO", DAXALLOC_PIN_VFIO, devnull, 0, 2 * M, ENOTTY,
		  "not a VFIO container" },
		{ "iommufd fd -1", DAXALLOC_PIN_IOMMUFD, -1, 0, 2 * M,
		  have_iommu ? EBADF : EOPNOTSUPP, have_iommu ? "fd -1" : "/dev/iommu" },
		{ "pin offset 4K", DAXALLOC_PIN_VFIO, devnull, 4096, 2 * M, EINVAL,
		  "not a multiple of the device alignment 2M" },
		{ "pin past the region", DAXALLOC_PIN_VFIO, devnull, 2 * M, 4 * M, EINVAL,
		  "not inside the region" },
	};
	int n;

	cr_assert_geq(devnull, 0);
	cr_assert(fcntl(1000, F_GETFD) < 0);
	cr_assert_eq(daxalloc_pool_open(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_region_open(pool, "held", 0, &r), 0, "%s", daxalloc_errmsg());
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = rows[i].kind };
		struct daxalloc_pin *p = (void *)1;

		t.vfio.container_fd = rows[i].fd;
		t.vfio.iova = 1ull << 32;
		t.iommufd.fd = rows[i].fd;
		snap();
		cr_expect_eq(daxalloc_pin(r, rows[i].off, rows[i].len, &t, &p), -rows[i].err,
			     "%s: %s", rows[i].what, daxalloc_errmsg());
		cr_expect_null(p);
		expect_msg(rows[i].what, rows[i].want);
		expect_msg(rows[i].what, scratch);
		n = 0;
		cr_expect_eq(daxalloc_pool_foreach_pin(pool, count_pin, &n), 0);
		cr_expect_eq(n, 0, "%s: the ledger lists %d pins", rows[i].what, n);
		cr_expect(unchanged(), "%s: the metadata changed", rows[i].what);
	}

	/*
	 * A region force-freed by another process (a plain free is refused
	 * while this one maps it): its memory is no longer its own.
	 */
	cr_assert_eq(daxalloc_alloc(pool, 2 * M, "gone", 0, &gone), 0, "%s", daxalloc_errmsg());
	{
		pid_t pid = fork();
		int st;

		cr_assert_geq(pid, 0);
		if (pid == 0) {
			daxalloc_region_close(&gone); /* the inherited mapping */
			_exit(daxalloc_pool_open(dev, DAXALLOC_POOL_FORCE_FREE, &other) ||
			      daxalloc_pool_free_name(other, "gone"));
		}
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			  "another process could not force-free 'gone'");
	}
	snap();
	{
		struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_VFIO };
		struct daxalloc_pin *p = (void *)1;

		t.vfio.container_fd = devnull;
		cr_expect_eq(daxalloc_pin(gone, 0, 2 * M, &t, &p), -ENOENT, "%s", daxalloc_errmsg());
		expect_msg("pin of a freed region", "'gone'");
		cr_expect_null(p);
	}
	cr_expect(unchanged(), "pin of a freed region: the metadata changed");
	n = 0;
	daxalloc_pool_foreach_pin(pool, count_pin, &n);
	cr_expect_eq(n, 0, "pin of a freed region left %d ledger records", n);
	daxalloc_region_close(&gone);
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	close(devnull);
}

/* ---- the alignment changes under the pool -------------------------------- */

Test(devdax_bad, alignment_changed_under_the_pool)
{
	struct daxalloc_dev *dev = th_dev_open(ctx, scratch);
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	char pid[32];

	/* While this process has the pool open: refused, naming it. */
	cr_assert_eq(daxalloc_pool_open(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	snap();
	cr_expect_eq(daxalloc_dev_set_align(ctx, scratch, DAXALLOC_SIZE_4K, 0), -EBUSY, "%s",
		     daxalloc_errmsg());
	snprintf(pid, sizeof(pid), "pid %d", getpid());
	expect_msg("realign while open", scratch);
	expect_msg("realign while open", pid);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	cr_expect(unchanged(), "a refused realign changed the metadata");

	/*
	 * Realigned while disabled (its pool could not be read, so it is not
	 * erased): the pool's 2M units no longer match.
	 */
	set_enabled(scratch, false);
	renew_ctx();
	cr_assert_eq(daxalloc_dev_set_align(ctx, scratch, DAXALLOC_SIZE_4K,
					    DAXALLOC_RECONFIG_DESTROY_DATA),
		     0, "%s", daxalloc_errmsg());
	set_enabled(scratch, true);
	/* libdaxctl's enable binds every unbound dynamic device: @off too */
	set_enabled(off, false);
	renew_ctx();
	cr_expect(unchanged(), "the realign rewrote the metadata");
	dev = th_dev_open(ctx, scratch);
	cr_assert_eq(daxalloc_dev_get_align(dev), DAXALLOC_SIZE_4K);
	cr_expect_eq(daxalloc_pool_open(dev, 0, &pool), -EXDEV, "%s", daxalloc_errmsg());
	cr_expect_null(pool);
	expect_msg("open", scratch);
	expect_msg("open", "2097152-byte units, the device alignment is now 4096");
	cr_expect_eq(daxalloc_pool_check(dev, DAXALLOC_CHECK_REPAIR, &rep), -EXDEV, "%s",
		     daxalloc_errmsg());
	cr_expect_eq(daxalloc_pool_create(dev, 0, &pool), -EXDEV, "%s", daxalloc_errmsg());
	expect_msg("format", "--force");
	cr_expect(unchanged(), "a refused open, check or format changed the metadata");
	daxalloc_dev_close(&dev);
}

/* ---- daxalloc-ctl against a real pool ------------------------------------- */

Test(devdax_bad, cli_against_a_real_pool)
{
	const struct ctl_refusal rows[] = {
		/* clang-format off */
		{ { "alloc", "@DEV", "--size", "2M", "--name", "dup" }, 1, { "@DEV", "'dup'", "exists" } },
		{ { "alloc", "@DEV", "--size", "2M", "--name", "a/b" }, 1, { "'/'", "position 1" } },
		{ { "alloc", "@DEV", "--size", "2M", "--name", "esc\033[2J" }, 1,
		  { "control character (0x1b)" } },
		{ { "alloc", "@DEV", "--size", "0", "--name", "z" }, 1, { "@DEV", "size 0" } },
		{ { "alloc", "@DEV", "--size", "1T", "--name", "big" }, 1,
		  { "@DEV", "more than the whole device" } },
		{ { "alloc", "@DEV", "--size", "62M", "--name", "full" }, 1, { "@DEV", "no free extent" } },
		{ { "free", "@DEV", "nope" }, 1, { "@DEV", "'nope'" } },
		{ { "rename", "@DEV", "dup", "has space" }, 1, { "' '", "position 3" } },
		{ { "rename", "@DEV", "dup", "held" }, 1, { "@DEV", "'held'", "exists" } },
		{ { "format", "@DEV" }, 1, { "@DEV", "already holds a pool", "--force" } },
		{ { "map", "@DEV", "--offset", "4K", "--size", "2M" }, 1,
		  { "@DEV", "0x1000", "not a multiple of the device alignment 2M" } },
		{ { "map", "@DEV", "--size", "128M" }, 1, { "@DEV", "outside the device" } },
		{ { "map", "@DEV", "--offset", "18446744073707454464", "--size", "4M" }, 1,
		  { "@DEV", "0xffffffffffe00000", "outside the device" } },
		{ { "info", "@link" }, 1, { "symbolic link", "not followed" } },
		{ { "df", "@link-node" }, 1, { "symbolic link" } },
		{ { "info", "@OFF" }, 1, { "@OFF", "disabled" } },
		{ { "format", "@OFF", "--force" }, 1, { "@OFF", "disabled" } },
		{ { "pins", "@DEV", "extra" }, 2, { "unexpected argument 'extra'" } },
		{ { "reconfigure", "@DEV", "--align", "3M" }, 2, { "--align 3M", "4K, 2M or 1G" } },
		{ { "resize", "@DEV", "--size", "1M" }, 1, { "@DEV" } },
		/* without root: the device node is root's */
		{ { "format", "@DEV", "--force" }, 1, { "@DEV", "permission denied", "root" }, true },
		{ { "alloc", "@DEV", "--size", "2M", "--name", "x" }, 1, { "permission denied" }, true },
		{ { "reconfigure", "@DEV", "--align", "4K" }, 1, { "@DEV", "root" }, true },
		/* clang-format on */
	};
	unsigned int failed = 0;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snap();
		if (!ctl_expect_refusal(&rows[i], path))
			failed++;
		if (!unchanged()) {
			cr_expect_fail("row %zu ('%s ...'): the metadata changed", i,
				       rows[i].args[0]);
			failed++;
		}
	}
	cr_log_info("%zu CLI rows on %s, %u failed", sizeof(rows) / sizeof(rows[0]), scratch, failed);
}

/* ---- commands a user runs by habit never destroy a pool ------------------- */

static void expect_ctl(const char *const *args, int status, const char *want)
{
	static struct ctl_run res;
	const char *a[16];
	int k = 0;

	for (; *args && k < 15; args++)
		a[k++] = path(*args);
	a[k] = NULL;
	ctl_run(&res, a, 0);
	cr_expect_eq(res.status, status, "'%s %s': exit %d, want %d; stderr: %s", a[0], a[1],
		     res.status, status, res.err);
	if (want)
		cr_expect(strstr(status ? res.err : res.out, path(want)),
			  "'%s %s': lacks '%s': %s%s", a[0], a[1], path(want), res.out, res.err);
}

Test(devdax_bad, map_never_destroys_a_pool)
{
	const struct guest_dev *pm = guest_dev("static2m");

	snap();
	expect_ctl((const char *const[]){ "map", "@DEV", NULL }, 1, "holds a pool");
	cr_expect(unchanged(), "a refused map changed the metadata");
	expect_ctl((const char *const[]){ "map", "@DEV", "--size", "2M", NULL }, 1, "--destroy-data");
	expect_ctl((const char *const[]){ "map", "@DEV", "--read-only", NULL }, 0, "not written");
	cr_expect(unchanged(), "map --read-only changed the metadata");
	/* Told to destroy data, the default pattern still spares the metadata. */
	expect_ctl((const char *const[]){ "map", "@DEV", "--size", "2M", "--destroy-data", NULL },
		   0, "verified");
	cr_expect(unchanged(), "map --destroy-data wrote into the pool metadata");
	expect_ctl((const char *const[]){ "map", "@DEV", "--size", "64M", "--destroy-data", NULL },
		   1, "does not fit after the first 2M");
	cr_expect(unchanged(), "a refused map changed the metadata");
	/* Persistent memory: its contents outlive the run, pool or not. */
	expect_ctl((const char *const[]){ "map", pm->name, "--size", "2M", NULL }, 1, "--read-only");
	expect_ctl((const char *const[]){ "map", pm->name, "--size", "2M", "--read-only", NULL }, 0,
		   "not written");
}

/* A child that dies holding an unnamed region of the scratch pool. */
static void make_orphan(void)
{
	struct daxalloc_dev *d = th_dev_open(ctx, scratch);

	th_make_orphan(d, 2 * M);
	daxalloc_dev_close(&d);
}

/* What only looks leaves every byte of the pool as it was, orphans included. */
Test(devdax_bad, listing_commands_change_nothing)
{
	static const char *const rows[][4] = {
		{ "regions", "@DEV" }, { "regions", "@DEV", "--json" },
		{ "df", "@DEV" },      { "df", "@DEV", "--json" },
		{ "pins", "@DEV" },    { "pins", "@DEV", "--json" },
		{ "info", "@DEV" },    { "list" },
	};

	make_orphan();
	snap();
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		expect_ctl(rows[i], 0, NULL);
		cr_expect(unchanged(), "'%s %s' changed the metadata", rows[i][0],
			  rows[i][1] ? rows[i][1] : "");
	}
	expect_ctl((const char *const[]){ "check", "@DEV", NULL }, 1, "died");
	cr_expect(unchanged(), "check without --repair changed the metadata");
	expect_ctl((const char *const[]){ "regions", "@DEV", NULL }, 0, "(dead)");
}

/* Tab after 'free DEV' lists the pool's names, and changes nothing. */
Test(devdax_bad, completion_changes_nothing)
{
	static const char lib[] = "/usr/share/bash-completion/bash_completion";
	static struct ctl_run res;
	char script[2048];

	if (access(lib, R_OK) != 0)
		cr_skip_test("%s is missing: install bash-completion", lib);
	make_orphan();
	snap();
	snprintf(script, sizeof(script),
		 "source %s; source %s; COMP_WORDS=(\"$0\" free %s ''); COMP_CWORD=3; "
		 "COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}; _daxalloc_ctl; "
		 "printf '%%s\\n' \"${COMPREPLY[@]}\"",
		 lib, COMPLETION_SCRIPT, scratch);
	{
		/* bash runs it: $0 is the daxalloc-ctl under test. */
		const char *args[] = { "-c", script, getenv("DAXALLOC_CTL"), NULL };
		int p[2], st;
		pid_t pid;
		ssize_t n, got = 0;

		cr_assert_eq(pipe(p), 0);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			dup2(p[1], 1);
			execl("/bin/bash", "bash", args[0], args[1], args[2], (char *)NULL);
			_exit(127);
		}
		close(p[1]);
		while ((n = read(p[0], res.out + got, sizeof(res.out) - 1 - (size_t)got)) > 0)
			got += n;
		res.out[got] = '\0';
		close(p[0]);
		waitpid(pid, &st, 0);
		cr_expect_eq(st, 0, "bash: status %#x", st);
	}
	cr_expect(strstr(res.out, "dup\n") && strstr(res.out, "held\n"), "completion gave '%s'",
		  res.out);
	cr_expect(unchanged(), "completion changed the metadata");
}

/* ---- what is in use elsewhere is not freed ---------------------------------- */

/* Another process maps a region: the CLI's free is refused, naming it. */
Test(devdax_bad, free_refused_while_another_process_maps_it)
{
	struct daxalloc_dev *d = th_dev_open(ctx, scratch);
	char want[48];
	pid_t child;
	struct handshake go;

	child = th_hold_region(d, "held", &go);
	snap();
	snprintf(want, sizeof(want), "mapped by pid %d", child);
	expect_ctl((const char *const[]){ "free", "@DEV", "held", NULL }, 1, want);
	cr_expect(unchanged(), "a refused free changed the metadata");
	cr_expect_eq(th_release_region(child, &go), 0);
	expect_ctl((const char *const[]){ "free", "@DEV", "held", NULL }, 0, "freed");
	daxalloc_dev_close(&d);
}

/* ---- reconfiguration erases nothing before the device is disabled ---------- */

/*
 * The unbind is made to do nothing (/dev/null over it, in a mount namespace
 * of a child's own): the disable is refused, and the pool must be intact.
 */
Test(devdax_bad, destroy_with_a_refused_disable_keeps_the_pool)
{
	const char *unbind = "/sys/bus/dax/drivers/device_dax/unbind";
	int st;
	pid_t pid;

	snap();
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct daxalloc_ctx *c = NULL;
		int rc;

		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("/dev/null", unbind, NULL, MS_BIND, NULL) < 0) {
			fprintf(stderr, "mount namespace: %s\n", strerror(errno));
			_exit(3);
		}
		if (daxalloc_ctx_new(&c) < 0)
			_exit(4);
		rc = daxalloc_dev_destroy(c, scratch, DESTROY);
		fprintf(stderr, "destroy: %d: %s\n", rc, daxalloc_errmsg());
		_exit(rc == -EBUSY && strstr(daxalloc_errmsg(), "still bound") ? 0 : 5);
	}
	waitpid(pid, &st, 0);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the destroy was not refused as expected: %#x", st);
	cr_expect(bound(scratch), "%s is no longer enabled", scratch);
	cr_expect(unchanged(), "a destroy whose disable was refused erased the pool");
}

/* ---- without root --------------------------------------------------------- */

static int open_scratch(void)
{
	struct daxalloc_dev *d = NULL;
	int rc = daxalloc_dev_open(ctx, scratch, &d);

	daxalloc_dev_close(&d);
	return rc;
}

static int realign_scratch(void)
{
	return daxalloc_dev_set_align(ctx, scratch, DAXALLOC_SIZE_4K, 0);
}

Test(devdax_bad, without_root)
{
	struct stat st0, st1;
	struct th_answer a;

	cr_assert_eq(stat(devpath, &st0), 0);
	snap();
	th_as_nobody(open_scratch, &a);
	cr_expect_eq(a.rc, -EACCES, "open: %d %s", a.rc, a.msg);
	cr_expect(strstr(a.msg, scratch) && strstr(a.msg, "needs root"), "%s", a.msg);
	th_as_nobody(realign_scratch, &a);
	cr_expect(a.rc == -EACCES || a.rc == -EPERM, "realign: %d %s", a.rc, a.msg);
	cr_expect(strstr(a.msg, scratch) && strstr(a.msg, "root"), "%s", a.msg);
	cr_expect(unchanged());
	/* and nothing widened the node's permissions */
	cr_assert_eq(stat(devpath, &st1), 0);
	cr_expect_eq(st1.st_mode, st0.st_mode, "mode %o became %o", st0.st_mode, st1.st_mode);
	cr_expect(st1.st_uid == st0.st_uid && st1.st_gid == st0.st_gid);
}

/* ---- nothing of ours survives exec ---------------------------------------- */

Test(devdax_bad, nothing_of_ours_is_inherited_across_exec)
{
	const char *grp = getenv("DAXALLOC_GUEST_VFIO_GROUP");
	struct daxalloc_dev *dev = th_dev_open(ctx, scratch);
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	struct daxalloc_pin *pin = NULL;
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct consumer_vfio v = { -1, -1 };
	int base[64], nbase;

	nbase = th_inheritable(base, 64);
	cr_assert_eq(daxalloc_pool_open(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_region_open(pool, "held", 0, &r), 0, "%s", daxalloc_errmsg());
	/* A real pin records itself in the ledger (VFIO, when the guest has it). */
	if (grp) {
		struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_VFIO };

		cr_assert_eq(consumer_vfio_open(&v, grp), 0, "%s", consumer_errmsg());
		t.vfio.container_fd = v.container;
		t.vfio.iova = CONSUMER_IOVA;
		cr_assert_eq(daxalloc_pin(r, 0, 2 * M, &t, &pin), 0, "%s", daxalloc_errmsg());
	} else {
		cr_log_warn("no VFIO group in this guest: checked without a pin");
	}
	cr_assert_eq(daxalloc_pool_check(dev, 0, &rep), 0, "%s", th_check_said(&rep));

	th_expect_nothing_inherited(base, nbase);
	daxalloc_unpin(&pin);
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	consumer_vfio_close(&v);
}

/* ---- the soak on a real device --------------------------------------------- */

Test(devdax_bad, soak_on_real_devdax, .timeout = 3600)
{
	/* io_uring cannot pin device-dax before 6.5: no pins here */
	const struct soak_opts opts = { .default_seconds = 10, .workers = 4, .pin_uring = false };
	struct daxalloc_dev *dev = th_dev_formatted(ctx, scratch);
	struct soak_result res;

	soak_run(dev, &opts, &res);
	cr_expect_gt(res.kills, 0);
	cr_expect_gt(res.allocs, 0);
	daxalloc_dev_close(&dev);
}

/* The scratch devices: made before the tests, destroyed after, whatever happened. */
int main(int argc, char *argv[])
{
	struct criterion_test_set *tests = criterion_initialize();
	const struct guest_dev *gd = NULL;
	char a[32] = "", b[32] = "";
	int rc = 0, n;

	/* One test at a time: they share the scratch devices. */
	criterion_options.jobs = 1;
	setenv("DAXALLOC_DISABLE_TIMEOUT", "20", 1);
	if (getenv("DAXALLOC_GUEST_DEVICES") && daxalloc_ctx_new(&ctx) == 0) {
		const struct guest_dev *all;

		all = guest_devs(&n);
		for (int i = 0; i < n; i++)
			if (strcmp(all[i].label, "recfgdyn") == 0)
				gd = &all[i];
		if (!gd)
			setenv("DAXALLOC_TEST_SCRATCH_WHY", "the guest has no recfgdyn device", 1);
		else if (daxalloc_dev_create(ctx, gd->region, SCRATCH_SIZE, DAXALLOC_SIZE_2M, a,
					     32) < 0 ||
			 daxalloc_dev_create(ctx, gd->region, SCRATCH_SIZE, DAXALLOC_SIZE_2M, b,
					     32) < 0 ||
			 enable(b, false) < 0)
			setenv("DAXALLOC_TEST_SCRATCH_WHY",
			       daxalloc_errmsg()[0] ? daxalloc_errmsg() :
						      "libdaxctl could not disable the second one",
			       1);
		else {
			setenv("DAXALLOC_TEST_SCRATCH", a, 1);
			setenv("DAXALLOC_TEST_SCRATCH_OFF", b, 1);
		}
		daxalloc_ctx_delete(&ctx);
	}
	if (criterion_handle_args(argc, argv, true))
		rc = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	if ((a[0] || b[0]) && daxalloc_ctx_new(&ctx) == 0) {
		if (a[0] && daxalloc_dev_destroy(ctx, a, DESTROY) < 0) {
			fprintf(stderr, "test-guest-bad-input: %s left behind: %s\n", a,
				daxalloc_errmsg());
			rc = 1;
		}
		if (b[0] && daxalloc_dev_destroy(ctx, b, DESTROY) < 0) {
			fprintf(stderr, "test-guest-bad-input: %s left behind: %s\n", b,
				daxalloc_errmsg());
			rc = 1;
		}
		daxalloc_ctx_delete(&ctx);
	}
	return rc;
}
