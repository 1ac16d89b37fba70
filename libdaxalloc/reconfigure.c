// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Changing a device's alignment, and what every change that disables a
 * device goes through first: the safety gate (users, DMA handles, pins,
 * pool data) and a disable that cannot hang the caller.
 *
 * Attributes are set through libdaxctl (rc_daxctl_set()) and read back;
 * libdaxctl binds the driver too: it loads the module and registers the
 * device id the way daxctl does.  The unbind is written here, in a helper
 * with a time limit (rc_disable()).
 *
 * Why the forked helper is the library's, not a tool's: it is the gate's
 * guard.  The kernel's unbind waits for every page reference to drop, so
 * a pin nobody could see (rc_check_holders() finds handles, not pins)
 * would hang the caller for good; daxalloc_dev_set_align(), _set_mode(),
 * _resize() and _destroy(), which a VMM or a database calls in-process,
 * must return instead, with the device enabled again once the pin goes.
 * A caller cannot bring that guard itself without doing the unbind too.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <daxctl/libdaxctl.h>

#include "pool.h"
#include "reconfig.h"

#define RECONFIG_KNOWN_FLAGS (DAXALLOC_RECONFIG_DESTROY_DATA | DAXALLOC_RECONFIG_IGNORE_DMA)
#define DEFAULT_TIMEOUT_MS 30000
#define MAX_HOLDERS 16

/* ---- the gate ------------------------------------------------------------ */

int rc_check_holders(const char *name, unsigned int flags, const char *what)
{
	struct holder h[MAX_HOLDERS];
	char list[320];
	int n, shown;

	n = holders_scan(name, h, MAX_HOLDERS);
	if (n < 0)
		return n;
	shown = n < MAX_HOLDERS ? n : MAX_HOLDERS;
	for (int i = 0; i < shown; i++) {
		if (!(h[i].what & (HOLDER_OPEN | HOLDER_MAPPED)))
			continue;
		holders_describe(h, shown, n, HOLDER_OPEN | HOLDER_MAPPED, list, sizeof(list));
		return daxalloc_err(EBUSY,
				    "%s: refusing to %s: %s; disabling it takes the memory away (SIGBUS); stop them first",
				    name, what, list);
	}
	if (n && !(flags & DAXALLOC_RECONFIG_IGNORE_DMA)) {
		holders_describe(h, shown, n, HOLDER_DMA, list, sizeof(list));
		return daxalloc_err(EBUSY,
				    "%s: refusing to %s: %s, which can pin memory for DMA; such pins cannot be seen and a disabled device's memory stays reachable by DMA; release it, or if its pins are elsewhere pass --ignore-dma (DAXALLOC_RECONFIG_IGNORE_DMA)",
				    name, what, list);
	}
	return 0;
}

/*
 * The pin ledger lives in the device's memory (pin-ledger.c): read it
 * through a pool handle.  No node (disabled, gone) or no pool: nothing
 * can be pinned.
 */
int rc_check_ledger(struct daxalloc_ctx *ctx, const char *name, const char *what)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	char who[160] = "";
	int n;

	n = daxalloc_dev_open(ctx, name, &dev);
	if (n == 0) {
		n = pool_attach(dev, &pool);
		if (n == 0) {
			n = pool_lock(pool);
			if (n == 0) {
				n = pin_ledger_count(pool, who, sizeof(who));
				pool_unlock(pool);
			}
			pool_detach(pool);
		}
		daxalloc_dev_close(&dev);
	}
	if (n == -ENOENT || n == -ENODEV || n == -ENXIO || n == -ENODATA || n == -ENOSPC) {
		daxalloc_err_clear();
		return 0;
	}
	if (n < 0)
		return daxalloc_err(-n, "%s: cannot read the pin ledger: %s", name, strerror(-n));
	if (n > 0)
		return daxalloc_err(EBUSY,
				    "%s: refusing to %s: the pin ledger lists %d pin%s of its memory (%s); unpin first",
				    name, what, n, n == 1 ? "" : "s", who[0] ? who : "owner unknown");
	return 0;
}

/* The pool on the device, read with the pool's own lock, then closed again. */
static int check_pool(struct daxalloc_ctx *ctx, const char *name, unsigned int flags,
		      const char *what, struct rc_gate *gate)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	char first[DXA_NAME_MAX + 1] = "", why[200] = "";
	uint32_t named = 0;
	int rc;

	rc = daxalloc_dev_open(ctx, name, &dev);
	if (rc < 0)
		return rc;
	rc = pool_attach(dev, &pool);
	if (rc == -ENOSPC) {
		/* Too small for a pool at this alignment: there is none. */
		daxalloc_dev_close(&dev);
		daxalloc_err_clear();
		return 0;
	}
	if (rc < 0) {
		daxalloc_dev_close(&dev);
		return rc;
	}
	rc = pool_lock_load(pool);
	if (rc == 0) {
		const struct dxa_entry *ents = pool_table(pool);

		gate->had_pool = true;
		for (uint32_t i = 0; i < pool->n; i++) {
			if (!(ents[i].flags & DXA_ENTRY_NAMED))
				continue;
			if (!named++)
				snprintf(first, sizeof(first), "%s", ents[i].name);
		}
		pool_unlock(pool);
	} else if (rc != -ENODATA) {
		gate->had_pool = true;
		snprintf(why, sizeof(why), "%s", daxalloc_errmsg());
	}
	pool_detach(pool);
	daxalloc_dev_close(&dev);
	daxalloc_err_clear();
	if (flags & DAXALLOC_RECONFIG_DESTROY_DATA) {
		if (named)
			info(ctx, "%s: destroying %u named regions of its pool", name, named);
		return 0;
	}
	if (why[0])
		return daxalloc_err(EBUSY,
				    "%s: refusing to %s: it holds pool metadata that cannot be read (%s), which may name regions; pass --destroy-data (DAXALLOC_RECONFIG_DESTROY_DATA) to lose them",
				    name, what, why);
	if (named)
		return daxalloc_err(EBUSY,
				    "%s: refusing to %s: its pool holds %u named region%s ('%s'%s) that this destroys; free them or pass --destroy-data (DAXALLOC_RECONFIG_DESTROY_DATA)",
				    name, what, named, named == 1 ? "" : "s", first,
				    named > 1 ? ", ..." : "");
	return 0;
}

/* The device this thread closed to pool users in rc_gate(), to open in rc_gate_end(). */
static __thread char closed_dev[32];

/* Mark the pool, if any, closed for the disable to come (owner_close_for()). */
static void close_pools(struct daxalloc_ctx *ctx, const char *name)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;

	if (daxalloc_dev_open(ctx, name, &dev) == 0) {
		if (pool_attach(dev, &pool) == 0) {
			if (pool_lock(pool) == 0) {
				owner_close_for(pool, (unsigned int)(rc_timeout_ms() / 1000) + 60);
				pool_unlock(pool);
				snprintf(closed_dev, sizeof(closed_dev), "%s", name);
			}
			pool_detach(pool);
		}
		daxalloc_dev_close(&dev);
	}
	daxalloc_err_clear();
}

int rc_gate_end(struct daxalloc_ctx *ctx, int rc)
{
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	char msg[512] = "";

	if (!closed_dev[0])
		return rc;
	if (rc < 0)
		snprintf(msg, sizeof(msg), "%s", daxalloc_errmsg());
	/* Gone or re-created elsewhere: the mark's deadline ends it. */
	if (daxalloc_dev_open(ctx, closed_dev, &dev) == 0) {
		if (pool_attach(dev, &pool) == 0) {
			pool->creating = true; /* its pool may be erased by now */
			if (pool_lock(pool) == 0) {
				owner_reopen(pool);
				pool_unlock(pool);
			}
			pool_detach(pool);
		}
		daxalloc_dev_close(&dev);
	}
	closed_dev[0] = '\0';
	daxalloc_err_clear();
	return rc < 0 ? daxalloc_err(-rc, "%s", msg) : rc;
}

int rc_gate(struct daxalloc_ctx *ctx, const char *name, bool enabled, unsigned int flags,
	    const char *what, struct rc_gate *gate)
{
	int rc;

	memset(gate, 0, sizeof(*gate));
	/* Pins first: that message says most about who holds the memory.  Disabled: none. */
	rc = enabled ? rc_check_ledger(ctx, name, what) : 0;
	if (rc == 0)
		rc = rc_check_holders(name, flags, what);
	if (rc < 0)
		return rc;
	if (enabled) {
		rc = check_pool(ctx, name, flags, what, gate);
	} else if (!(flags & DAXALLOC_RECONFIG_DESTROY_DATA)) {
		/* Disabled: its pool, if any, cannot be read. */
		return daxalloc_err(EBUSY,
				    "%s: refusing to %s: it is disabled, so its pool cannot be checked for named regions; enable it ('daxctl enable-device %s') or pass --destroy-data",
				    name, what, name);
	}
	if (rc < 0)
		return rc;
	/* Nobody may start on the pool from here on; then look again. */
	if (enabled)
		close_pools(ctx, name);
	return rc_check_holders(name, flags, what);
}

/* ---- the guarded disable -------------------------------------------------- */

int rc_timeout_ms(void)
{
	const char *env = secure_getenv("DAXALLOC_DISABLE_TIMEOUT");
	double s;
	char *end;

	if (!env || !*env)
		return DEFAULT_TIMEOUT_MS;
	s = strtod(env, &end);
	if (*end || s <= 0 || s > 3600)
		return DEFAULT_TIMEOUT_MS;
	return (int)(s * 1000);
}

struct helper_msg {
	int kind; /* 'p': the helper's pid; 'r': the write's errno */
	int value;
};

struct helper_args {
	const char *path, *value, *undo1, *undo2;
	int res, ctl, null, maxfd;
};

static void write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, val, strlen(val)) < 0)
			(void)0;
		close(fd);
	}
}

/*
 * The grandchild: only async-signal-safe calls (the caller may have
 * threads).  It keeps no descriptor of the caller's: one held here would
 * keep, say, a VFIO container (and its pins) alive as long as the wait.
 */
static void __attribute__((noreturn)) helper_main(const struct helper_args *a)
{
	static const int sigs[] = { SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGPIPE, SIGTSTP };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	struct helper_msg m = { .kind = 'r' };
	int hi = 9, res, ctl, fd;
	char verdict = 0;
	ssize_t n;

	setsid();
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &ign, NULL);
	/* Out of the way of 0-4 first, which are about to be overwritten. */
	hi = hi > a->res ? hi : a->res;
	hi = hi > a->ctl ? hi : a->ctl;
	hi = hi > a->null ? hi : a->null;
	res = fcntl(a->res, F_DUPFD, hi + 1);
	ctl = fcntl(a->ctl, F_DUPFD, hi + 2);
	dup2(a->null, 0);
	dup2(a->null, 1);
	dup2(a->null, 2);
	dup2(res, 3);
	dup2(ctl, 4);
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 5u, ~0u, 0u) < 0)
#endif
		for (fd = 5; fd < a->maxfd; fd++)
			close(fd);
	fd = open(a->path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		m.value = errno;
	} else {
		if (write(fd, a->value, strlen(a->value)) < 0)
			m.value = errno;
		close(fd);
	}
	if (write(3, &m, sizeof(m)) < 0)
		(void)0;
	do
		n = read(4, &verdict, 1);
	while (n < 0 && errno == EINTR);
	/* Abandoned (the caller gave up or died): put things back. */
	if (!(n == 1 && verdict == 'k') && m.value == 0) {
		if (a->undo1)
			write_str(a->undo1, a->value);
		if (a->undo2)
			write_str(a->undo2, a->value);
	}
	_exit(0);
}

/*
 * Write @value to @path in a detached grandchild and wait at most
 * @timeout_ms.  Returns 0, the write's -errno, or -ETIMEDOUT with the
 * helper's pid in *@helper: it stays blocked in the kernel and, once the
 * write completes, writes @value to @undo1 and @undo2 (if not NULL).
 */
int rc_guarded_write(const char *path, const char *value, const char *undo1, const char *undo2,
		     int timeout_ms, pid_t *helper)
{
	struct helper_args a = { .path = path, .value = value, .undo1 = undo1, .undo2 = undo2 };
	struct helper_msg m;
	int res[2], ctl[2], status, rc, result = 0;
	bool done = false;
	struct rlimit rl;
	int64_t deadline;
	pid_t mid;
	ssize_t n;

	*helper = -1;
	a.maxfd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur :
									      65536;
	a.null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (a.null < 0)
		return -errno;
	if (pipe2(res, O_CLOEXEC) < 0) {
		rc = -errno;
		close(a.null);
		return rc;
	}
	if (pipe2(ctl, O_CLOEXEC) < 0) {
		rc = -errno;
		close(res[0]);
		close(res[1]);
		close(a.null);
		return rc;
	}
	a.res = res[1];
	a.ctl = ctl[0];
	mid = fork();
	if (mid == 0) {
		/* The middle child only detaches the helper from the caller. */
		pid_t g = fork();

		if (g == 0)
			helper_main(&a);
		m = (struct helper_msg){ .kind = 'p', .value = g < 0 ? -errno : g };
		if (write(res[1], &m, sizeof(m)) < 0)
			(void)0;
		_exit(0);
	}
	rc = mid < 0 ? -errno : 0;
	close(res[1]);
	close(ctl[0]);
	close(a.null);
	if (mid > 0)
		while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
			;
	/*
	 * The middle child has written the helper's pid and exited; the
	 * helper's result may already be in the pipe, before or after it.
	 */
	while (rc == 0 && *helper < 0) {
		n = read(res[0], &m, sizeof(m));
		if (n != sizeof(m)) {
			rc = -EIO;
		} else if (m.kind == 'p') {
			if (m.value < 0)
				rc = m.value;
			else
				*helper = m.value;
		} else {
			done = true;
			result = m.value;
		}
	}
	deadline = (int64_t)(mono_ns() / 1000000) + timeout_ms;
	while (rc == 0 && !done) {
		struct pollfd p = { .fd = res[0], .events = POLLIN };
		int64_t left = deadline - (int64_t)(mono_ns() / 1000000);
		int r;

		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			break;
		}
		if (r == 0) {
			rc = -ETIMEDOUT;
			break;
		}
		n = read(res[0], &m, sizeof(m));
		if (n != sizeof(m) || m.kind != 'r') {
			rc = -EIO;
			break;
		}
		done = true;
		result = m.value;
	}
	if (done) {
		/* Done in time: tell the helper to leave things as they are. */
		if (write(ctl[1], "k", 1) < 0)
			(void)0;
		rc = -result;
		*helper = -1;
	}
	close(res[0]);
	close(ctl[1]);
	return rc;
}

static void driver_path(char *buf, size_t len, const char *attr)
{
	snprintf(buf, len, "%s/bus/dax/drivers/device_dax/%s", sysfs_root(), attr);
}

/*
 * Unbinding device-dax waits in the kernel for the device's pages to be
 * released, uninterruptibly.  On 6.1 that wait ignores long-term pins (so
 * the gate refuses those first); other kernels may wait for them.  The
 * unbind runs in a helper so the caller never waits longer than
 * $DAXALLOC_DISABLE_TIMEOUT seconds (default 30); a helper left behind
 * binds the device again when its wait ends.
 */
int rc_disable(struct daxalloc_ctx *ctx, const char *name)
{
	char drv[64], remove_id[PATH_MAX], unbind[PATH_MAX], new_id[PATH_MAX], bind[PATH_MAX];
	int timeout = rc_timeout_ms(), rc;
	pid_t helper;

	rc = layout_dev_driver(name, drv, sizeof(drv));
	if (rc < 0)
		return daxalloc_err(-rc, "%s: cannot read its driver from sysfs: %s", name,
				    strerror(-rc));
	if (!drv[0])
		return 0;
	if (strcmp(drv, "device_dax") != 0)
		return daxalloc_err(EBUSY,
				    "%s: is bound to %s (system-ram mode?), not device_dax; only devdax-mode devices are reconfigured here",
				    name, drv);
	driver_path(remove_id, sizeof(remove_id), "remove_id");
	driver_path(unbind, sizeof(unbind), "unbind");
	driver_path(new_id, sizeof(new_id), "new_id");
	driver_path(bind, sizeof(bind), "bind");
	/* As daxctl does: without its id the driver does not take it back by itself. */
	if (layout_write(remove_id, name) < 0)
		dbg(ctx, "%s: remove_id refused; unbinding anyway", name);
	rc = rc_guarded_write(unbind, name, new_id, bind, timeout, &helper);
	if (rc == -ETIMEDOUT)
		return daxalloc_err(ETIMEDOUT,
				    "%s: disabling did not finish in %d s: the kernel waits for its pages, held by a pin (VFIO, RDMA or io_uring DMA); it is detached now and is re-enabled unchanged when the pin is released (pid %d waits for that); release the pin and retry",
				    name, timeout / 1000, (int)helper);
	if (rc < 0) {
		layout_write(new_id, name);
		return daxalloc_err(-rc, "%s: the kernel refused to disable it: %s; it is unchanged",
				    name, strerror(-rc));
	}
	rc = layout_dev_driver(name, drv, sizeof(drv));
	if (rc == 0 && drv[0])
		return daxalloc_err(EBUSY, "%s: still bound to %s after the unbind; it is unchanged",
				    name, drv);
	dbg(ctx, "%s: disabled", name);
	return 0;
}

struct daxctl_dev *rc_daxctl_find(struct daxalloc_ctx *ctx, const char *name)
{
	struct daxctl_region *region;
	struct daxctl_dev *dd;

	daxctl_region_foreach(ctx->daxctl, region)
		daxctl_dev_foreach(region, dd)
			if (strcmp(daxctl_dev_get_devname(dd), name) == 0)
				return dd;
	return NULL;
}

/*
 * libdaxctl's setters answer every refusal with -ENXIO, whatever the
 * kernel said; the failed write leaves the kernel's errno in errno, which
 * libdaxctl's logging keeps, so that one is returned.
 */
int rc_daxctl_set(struct daxalloc_ctx *ctx, const char *name, enum rc_attr attr, uint64_t v,
		  uint64_t end)
{
	struct daxctl_dev *dd = rc_daxctl_find(ctx, name);
	int rc;

	if (!dd)
		return -ENODEV;
	errno = 0;
	if (attr == RC_ATTR_SIZE)
		rc = daxctl_dev_set_size(dd, v);
	else if (attr == RC_ATTR_ALIGN)
		rc = daxctl_dev_set_align(dd, (unsigned long)v);
	else
		rc = daxctl_dev_set_mapping(dd, v, end);
	if (rc < 0 && errno > 0)
		rc = -errno;
	return rc < 0 ? rc : 0;
}

/*
 * Binding a device through the driver makes the kernel attach it to every
 * unbound device-dax device that has memory: other disabled devices come
 * up too.  Note which were down before and put them back down after;
 * nobody can have opened them in between.
 */
static int rc_note_idle(struct daxalloc_ctx *ctx, const char *name, char (*idle)[32], int max)
{
	struct daxctl_region *region;
	struct daxctl_dev *dd;
	char drv[64];
	int n = 0;

	daxctl_region_foreach(ctx->daxctl, region)
		daxctl_dev_foreach(region, dd) {
			const char *other = daxctl_dev_get_devname(dd);

			if (n >= max || daxctl_dev_get_size(dd) == 0 || strcmp(other, name) == 0)
				continue;
			if (layout_dev_driver(other, drv, sizeof(drv)) == 0 && !drv[0])
				snprintf(idle[n++], sizeof(idle[0]), "%s", other);
		}
	return n;
}

static void rc_keep_idle_down(struct daxalloc_ctx *ctx, const char *name, char (*idle)[32], int n)
{
	char drv[64];

	for (int i = 0; i < n; i++) {
		if (layout_dev_driver(idle[i], drv, sizeof(drv)) < 0 || !drv[0])
			continue;
		if (rc_disable(ctx, idle[i]) == 0)
			info(ctx, "%s: bound by the kernel along with %s; disabled again", idle[i],
			     name);
		else {
			warn(ctx, "%s: bound by the kernel along with %s and left enabled: %s",
			     idle[i], name, daxalloc_errmsg());
			daxalloc_err_clear(); /* warned: the enable went through */
		}
	}
}

int rc_enable(struct daxalloc_ctx *ctx, const char *name)
{
	char idle[LAYOUT_MAX_DEVS][32];
	struct daxctl_dev *dd;
	char drv[64] = "";
	int rc, nidle;

	/* libdaxctl lists devices once per context: a new device needs a new one. */
	rc = dev_rescan(ctx);
	if (rc < 0)
		return rc;
	dd = rc_daxctl_find(ctx, name);
	if (!dd)
		return daxalloc_err(ENODEV, "%s: libdaxctl does not list it", name);
	nidle = rc_note_idle(ctx, name, idle, LAYOUT_MAX_DEVS);
	rc = daxctl_dev_enable_devdax(dd);
	layout_dev_driver(name, drv, sizeof(drv));
	if (strcmp(drv, "device_dax") != 0) {
		rc = daxalloc_err(rc < 0 ? -rc : ENXIO, "%s: could not be enabled in devdax mode: %s",
				  name, strerror(rc < 0 ? -rc : ENXIO));
		rc_keep_idle_down(ctx, name, idle, nidle);
		return rc;
	}
	rc_keep_idle_down(ctx, name, idle, nidle);
	dbg(ctx, "%s: enabled", name);
	return dev_rescan(ctx);
}

void rc_wipe_pool(struct daxalloc_ctx *ctx, const char *name, const char *why)
{
	const uint64_t hdrs = 2 * DXA_HDR_SLOT_SIZE;
	struct daxalloc_dev *dev = NULL;
	struct meta_map mm;
	uint64_t len;

	if (daxalloc_dev_open(ctx, name, &dev) < 0)
		goto out;
	/* Whole units that cover both headers (two units at 4K). */
	len = (hdrs + dev->align - 1) / dev->align * dev->align;
	if (len <= dev->size && meta_map_open(dev, len, &mm) == 0) {
		char h[2][sizeof(DXA_MAGIC)];
		/* An unreadable header (media error) may have been a pool's. */
		bool had = meta_read(&mm, 0, h[0], sizeof(h[0])) < 0 ||
			   meta_read(&mm, DXA_HDR_SLOT_SIZE, h[1], sizeof(h[1])) < 0 ||
			   memcmp(h[0], DXA_MAGIC, sizeof(h[0])) == 0 ||
			   memcmp(h[1], DXA_MAGIC, sizeof(h[1])) == 0;

		/* Both header copies: the pool then reads as never formatted. */
		memset(mm.addr, 0, hdrs);
		meta_persist(&mm, mm.addr, hdrs);
		meta_map_close(&mm);
		if (had)
			info(ctx, "%s: pool metadata erased: %s", name, why);
	}
	daxalloc_dev_close(&dev);
out:
	daxalloc_err_clear();
}

/* ---- alignment ------------------------------------------------------------ */

static int align_rel(char *buf, size_t len, const char *name)
{
	return snprintf(buf, len, "bus/dax/devices/%s/align", name) >= (int)len ? -ENAMETOOLONG : 0;
}

static int dynamic_set_align(struct daxalloc_ctx *ctx, const char *name, uint64_t size,
			     uint64_t old, uint64_t align, bool enabled, unsigned int flags)
{
	struct dax_range r[LAYOUT_MAX_RANGES];
	char rel[128], a[32], o[32], drv[64], reason[300];
	struct rc_gate gate;
	uint64_t now = 0;
	int n, rc, rc2;

	size_str(align, a, sizeof(a));
	size_str(old, o, sizeof(o));
	rc = layout_dev_driver(name, drv, sizeof(drv));
	if (rc == 0 && drv[0] && strcmp(drv, "device_dax") != 0)
		return daxalloc_err(EBUSY,
				    "%s: is bound to %s (system-ram mode?), not device_dax; only devdax-mode devices are reconfigured here",
				    name, drv);
	n = layout_dev_ranges(name, r, LAYOUT_MAX_RANGES);
	if (n < 0)
		return daxalloc_err(-n, "%s: cannot read where its memory lies: %s", name,
				    strerror(-n));
	rc = layout_check_size(name, size, align);
	if (rc == 0)
		rc = layout_check_ranges(name, r, n, align);
	if (rc == 0)
		rc = rc_gate(ctx, name, enabled, flags, "change its alignment", &gate);
	if (rc == 0 && enabled)
		rc = rc_disable(ctx, name);
	if (rc < 0)
		return rc;
	align_rel(rel, sizeof(rel), name);
	rc = rc_daxctl_set(ctx, name, RC_ATTR_ALIGN, align, 0);
	if (sysfs_read_u64(rel, &now) < 0)
		now = 0;
	if (rc < 0 || now != align) {
		snprintf(reason, sizeof(reason), "the kernel refused align %s: %s (align reads %llu)",
			 a, rc < 0 ? strerror(-rc) : "not taken", (unsigned long long)now);
		rc = rc < 0 ? rc : -EIO;
		if (!enabled)
			return daxalloc_err(-rc, "%s: %s; it is unchanged", name, reason);
		rc2 = rc_enable(ctx, name);
		if (rc2 < 0)
			return daxalloc_err(-rc,
					    "%s: %s, and enabling it again failed (%s): it is disabled with align %llu; enable it with 'daxctl enable-device %s'",
					    name, reason, strerror(-rc2), (unsigned long long)now,
					    name);
		return daxalloc_err(-rc, "%s: %s; it is enabled again, unchanged (align %s)", name,
				    reason, o);
	}
	if (enabled) {
		rc = rc_enable(ctx, name);
		if (rc < 0) {
			snprintf(reason, sizeof(reason), "%s", daxalloc_errmsg());
			/* Back to the old alignment, which worked before. */
			if (rc_daxctl_set(ctx, name, RC_ATTR_ALIGN, old, 0) == 0 &&
			    rc_enable(ctx, name) == 0)
				return daxalloc_err(-rc,
						    "%s: at align %s %s; it is enabled again with align %s, unchanged",
						    name, a, reason, o);
			return daxalloc_err(-rc,
					    "%s: at align %s %s, and so at align %s: it is disabled; enable it with 'daxctl enable-device %s'",
					    name, a, reason, o, name);
		}
		if (gate.had_pool)
			rc_wipe_pool(ctx, name, "its alignment changed");
	}
	info(ctx, "%s: align %s -> %s", name, o, a);
	return dev_rescan(ctx);
}

/* "dax0.1" or "/dev/dax0.1" -> "dax0.1", checked. */
int rc_parse_name(const char *arg, char *out, size_t len)
{
	unsigned int r, i;
	char extra;

	if (!arg)
		return daxalloc_err(EINVAL, "NULL device name");
	if (strncmp(arg, "/dev/", 5) == 0)
		arg += 5;
	if (sscanf(arg, "dax%u.%u%c", &r, &i, &extra) != 2 || strlen(arg) >= len)
		return daxalloc_err(EINVAL,
				    "'%s': not a device-dax name; expected daxN.M or /dev/daxN.M",
				    arg);
	snprintf(out, len, "%s", arg);
	return 0;
}

int rc_lookup(struct daxalloc_ctx *ctx, const char *arg, unsigned int flags, char *name, size_t len,
	      struct daxalloc_dev **out)
{
	int rc;

	*out = NULL;
	if (!ctx)
		return daxalloc_err(EINVAL, "NULL context");
	rc = rc_parse_name(arg, name, len);
	if (rc == 0)
		rc = rc_check_flags(flags);
	/* Decide on what the kernel says now, not on what this context listed. */
	if (rc == 0)
		rc = dev_rescan(ctx);
	if (rc < 0)
		return rc;
	*out = rc_find(ctx, name);
	if (!*out)
		return daxalloc_err(ENODEV, "%s: no such device-dax device (see daxalloc-ctl list)",
				    name);
	return 0;
}

struct daxalloc_dev *rc_find(struct daxalloc_ctx *ctx, const char *name)
{
	struct daxalloc_dev *d;

	daxalloc_dev_foreach(ctx, d)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

int rc_check_flags(unsigned int flags)
{
	if (flags & ~RECONFIG_KNOWN_FLAGS)
		return daxalloc_err(EINVAL, "unknown reconfiguration flags 0x%x",
				    flags & ~RECONFIG_KNOWN_FLAGS);
	return 0;
}

/*
 * Every change writes sysfs attributes only root may write.  Say so
 * before anything else fails on a file only root may read.
 */
int rc_check_writable(const char *name, const char *path)
{
	int e;

	if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0)
		return 0;
	e = errno;
	if (e != EACCES && e != EPERM && e != EROFS)
		return 0;
	return daxalloc_err(e == EROFS ? EROFS : EACCES,
			    "%s: reconfiguring needs root: %s is not writable (%s)", name, path,
			    strerror(e));
}

DAXALLOC_EXPORT int daxalloc_dev_set_align(struct daxalloc_ctx *ctx, const char *arg,
					   uint64_t align, unsigned int flags)
{
	API_CALL(ctx);
	char name[32], a[32], ns[64], path[PATH_MAX];
	enum daxalloc_region_kind kind;
	struct daxalloc_dev *d;
	uint64_t size, old;
	bool enabled;
	int rc;

	if (ctx && rc_parse_name(arg, name, sizeof(name)) == 0 && !daxalloc_align_is_valid(align))
		return daxalloc_err(EINVAL, "%s: align %s: device-dax offers 4K, 2M or 1G", name,
				    size_str(align, a, sizeof(a)));
	rc = rc_lookup(ctx, arg, flags, name, sizeof(name), &d);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/bus/dax/devices/%s/%s", sysfs_root(), name,
		 d->region_kind == DAXALLOC_REGION_DYNAMIC ? "align" : "uevent");
	rc = rc_check_writable(name, path);
	if (rc < 0)
		return rc;
	kind = d->region_kind;
	size = d->size;
	old = d->align;
	enabled = d->enabled;
	snprintf(ns, sizeof(ns), "%s", d->has_ns ? d->ns_name : "");
	if (old == align) {
		info(ctx, "%s: already at align %s", name, size_str(align, a, sizeof(a)));
		return 0;
	}
	if (kind == DAXALLOC_REGION_DYNAMIC)
		return rc_gate_end(ctx,
				   dynamic_set_align(ctx, name, size, old, align, enabled, flags));
	if (kind == DAXALLOC_REGION_STATIC && ns[0])
		return rc_gate_end(ctx, ns_set_align(ctx, name, ns, align, flags));
	return daxalloc_err(EOPNOTSUPP,
			    "%s: its region is neither a dynamic (hmem/CXL) region nor a pmem namespace that libndctl knows; cannot change its alignment",
			    name);
}
