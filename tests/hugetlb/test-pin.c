// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pins on the hugetlb stand-in with a real io_uring: fixed buffers that an
 * O_DIRECT read lands in, every refusal (range, handle, RLIMIT_MEMLOCK,
 * consumer), free refused while pinned, close unpins, the listing; the
 * ledger in device memory, as other processes (and pid namespaces) see it.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/capability.h>
#include <limits.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daxalloc.h"
#include "pool-helpers.h"
#include "private.h"

#define M (UINT64_C(1) << 20)
#define STANDIN "hugetlb:2M:64M"

static struct daxalloc_ctx *ctx;
static struct daxalloc_dev *dev;
static struct daxalloc_pool *pool;
static struct io_uring ring;
static bool ring_up;

static void setup(void)
{
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	dev = th_dev_open(ctx, STANDIN);
	pool = th_pool_create(dev);
	cr_assert_eq(io_uring_queue_init(8, &ring, 0), 0, "io_uring_queue_init");
	ring_up = true;
}

static void teardown(void)
{
	daxalloc_pool_close(&pool);
	if (ring_up)
		io_uring_queue_exit(&ring);
	ring_up = false;
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}

TestSuite(pin, .init = setup, .fini = teardown, .timeout = 120);

static struct daxalloc_region *alloc(uint64_t size, const char *name)
{
	return th_alloc(pool, size, name);
}

static struct daxalloc_pin_target uring_target(struct io_uring *rg)
{
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_URING };

	t.uring.ring = rg;
	return t;
}

static struct daxalloc_pin *pin(struct daxalloc_region *r, uint64_t off, uint64_t len,
				struct daxalloc_pin_target t)
{
	struct daxalloc_pin *p = NULL;

	cr_assert_eq(daxalloc_pin(r, off, len, &t, &p), 0, "pin: %s", daxalloc_errmsg());
	cr_assert_not_null(p);
	return p;
}

/* Pin [@off, @off + @len) of @r into the ring's sparse table from slot @slot. */
static struct daxalloc_pin *pin_slots(struct daxalloc_region *r, uint64_t off, uint64_t len,
				      unsigned int slot)
{
	struct daxalloc_pin_target t = uring_target(&ring);

	t.flags = DAXALLOC_PIN_URING_SLOTS;
	t.uring.first_index = slot;
	return pin(r, off, len, t);
}

/* A file of @len bytes, pattern @seed; O_DIRECT when the filesystem has it. */
static int data_file(uint64_t len, uint64_t seed)
{
	char path[] = "/tmp/daxalloc-pin-XXXXXX";
	void *buf;
	int fd = mkstemp(path), dfd;

	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	unlink(path);
	cr_assert_eq(posix_memalign(&buf, 4096, (size_t)len), 0);
	th_fill(buf, len, seed);
	cr_assert_eq(pwrite(fd, buf, (size_t)len, 0), (ssize_t)len);
	free(buf);
	fsync(fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	dfd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (dfd >= 0) {
		close(fd);
		return dfd;
	}
	return fd;
}

/* READ_FIXED of @len bytes at file offset 0 into @dst, buffer @index. */
static int read_fixed(struct io_uring *rg, int fd, void *dst, unsigned int len, int index)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(rg);
	struct io_uring_cqe *cqe;
	int res;

	cr_assert_not_null(sqe);
	io_uring_prep_read_fixed(sqe, fd, dst, len, 0, index);
	cr_assert_eq(io_uring_submit(rg), 1);
	cr_assert_eq(io_uring_wait_cqe(rg, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(rg, cqe);
	return res;
}

static void expect_msg(const char *needle)
{
	cr_expect(strstr(daxalloc_errmsg(), needle), "message '%s' lacks '%s'", daxalloc_errmsg(),
		  needle);
}

Test(pin, uring_fixed_buffer_read_then_unpin)
{
	struct daxalloc_region *r = alloc(8 * M, "io");
	char *base = daxalloc_region_get_address(r);
	int fd = data_file(2 * M, 7);
	struct daxalloc_pin *p = pin(r, 2 * M, 4 * M, uring_target(&ring));

	cr_expect_eq(daxalloc_pin_get_kind(p), DAXALLOC_PIN_URING);
	cr_expect_str_eq(daxalloc_pin_kind_name(DAXALLOC_PIN_URING), "io_uring");
	cr_expect_eq(daxalloc_pin_get_region(p), r);
	cr_expect_eq(daxalloc_pin_get_address(p), base + 2 * M);
	cr_expect_eq(daxalloc_pin_get_offset(p), 2 * M);
	cr_expect_eq(daxalloc_pin_get_length(p), 4 * M);
	cr_expect_eq(daxalloc_pin_get_uring_index(p), 0);
	cr_expect_eq(daxalloc_pin_get_uring_count(p), 1);
	cr_expect_eq(daxalloc_pin_get_iova(p), UINT64_MAX);
	cr_expect_null(daxalloc_pin_get_mr(p));
	cr_expect_gt(daxalloc_pin_get_pin_time_ns(p), 0);
	fprintf(stderr, "pin: io_uring 4M on %s: %.3f ms\n", STANDIN,
		daxalloc_pin_get_pin_time_ns(p) / 1e6);

	cr_expect_eq(read_fixed(&ring, fd, base + 3 * M, 2 * M, 0), (int)(2 * M));
	cr_expect_eq(th_verify(base + 3 * M, 2 * M, 7), 0, "the read did not land in the region");

	cr_expect_eq(daxalloc_unpin(&p), 0, "%s", daxalloc_errmsg());
	cr_expect_null(p, "unpin must NULL the handle");
	/* Unregistered: the same fixed read is refused now. */
	cr_expect_lt(read_fixed(&ring, fd, base + 3 * M, 2 * M, 0), 0);
	close(fd);
}

Test(pin, uring_slots_of_a_sparse_table)
{
	struct daxalloc_region *r = alloc(8 * M, NULL);
	char *base = daxalloc_region_get_address(r);
	struct daxalloc_pin_target t = uring_target(&ring);
	struct daxalloc_pin *a, *b;
	int fd = data_file(2 * M, 9);

	cr_assert_eq(io_uring_register_buffers_sparse(&ring, 8), 0);
	a = pin_slots(r, 0, 2 * M, 2);
	b = pin_slots(r, 4 * M, 4 * M, 5);
	cr_expect_eq(daxalloc_pin_get_uring_index(a), 2);
	cr_expect_eq(daxalloc_pin_get_uring_index(b), 5);
	cr_expect_eq(read_fixed(&ring, fd, base + 4 * M, 2 * M, 5), (int)(2 * M));
	cr_expect_eq(th_verify(base + 4 * M, 2 * M, 9), 0);
	cr_expect_eq(daxalloc_unpin(&b), 0, "%s", daxalloc_errmsg());
	cr_expect_lt(read_fixed(&ring, fd, base + 4 * M, 2 * M, 5), 0, "slot 5 must be empty");
	cr_expect_eq(read_fixed(&ring, fd, base, 2 * M, 2), (int)(2 * M), "slot 2 must stay");
	cr_expect_eq(daxalloc_unpin(&a), 0, "%s", daxalloc_errmsg());

	t.flags = DAXALLOC_PIN_URING_SLOTS;
	t.uring.first_index = 8;
	cr_expect_eq(daxalloc_pin(r, 0, 4 * M, &t, &a), -EINVAL, "slot 8 of a table of 8");
	expect_msg("outside its registered table");
	cr_expect_null(a);
	close(fd);
}

Test(pin, uring_second_table_refused)
{
	struct daxalloc_region *r = alloc(4 * M, NULL);
	struct daxalloc_pin_target t = uring_target(&ring);
	struct daxalloc_pin *a = pin(r, 0, 2 * M, t), *b = NULL;

	cr_expect_eq(daxalloc_pin(r, 2 * M, 2 * M, &t, &b), -EBUSY);
	expect_msg("io_uring_register_buffers_sparse");
	cr_expect_null(b);
	cr_expect_eq(daxalloc_unpin(&a), 0);
}

Test(pin, range_rules_checked_before_any_syscall)
{
	struct daxalloc_region *r = alloc(4 * M, "rules");
	/* No ring at all: a range error must come first. */
	struct daxalloc_pin_target t = uring_target(NULL);
	struct daxalloc_pin *p = (void *)1;

	cr_expect_eq(daxalloc_pin(r, 4096, 2 * M, &t, &p), -EINVAL);
	cr_expect_null(p, "out-pointer cleared on failure");
	expect_msg("offset 0x1000 is not a multiple of the device alignment 2M");
	cr_expect_eq(daxalloc_pin(r, 0, 3 * M, &t, &p), -EINVAL);
	expect_msg("length 0x300000 is not a multiple of the device alignment 2M");
	cr_expect_eq(daxalloc_pin(r, 0, 0, &t, &p), -EINVAL);
	expect_msg("length 0");
	cr_expect_eq(daxalloc_pin(r, 2 * M, 4 * M, &t, &p), -EINVAL);
	expect_msg("not inside the region");
	cr_expect_eq(daxalloc_pin(r, UINT64_MAX - 2 * M + 1, 4 * M, &t, &p), -EINVAL);
	expect_msg(STANDIN);
	/* Inside the rules the missing ring is what is wrong. */
	cr_expect_eq(daxalloc_pin(r, 0, 2 * M, &t, &p), -EINVAL);
	expect_msg("needs a ring");
}

Test(pin, bad_arguments)
{
	struct daxalloc_region *r = alloc(2 * M, NULL);
	struct daxalloc_pin_target t = uring_target(&ring);
	struct daxalloc_pin *p = NULL;

	cr_expect_eq(daxalloc_pin(r, 0, 2 * M, &t, NULL), -EINVAL);
	cr_expect_eq(daxalloc_pin(NULL, 0, 2 * M, &t, &p), -EINVAL);
	cr_expect_eq(daxalloc_pin(r, 0, 2 * M, NULL, &p), -EINVAL);
	/* a target without its size, or of a later header */
	t.struct_size = 0;
	cr_expect_eq(daxalloc_pin(r, 0, 2 * M, &t, &p), -EINVAL);
	expect_msg(
		"struct daxalloc_pin_target: .struct_size is 0: set it with DAXALLOC_PIN_TARGET_INIT");
	t.struct_size = sizeof(t) + 8;
	cr_expect_eq(daxalloc_pin(r, 0, 2 * M, &t, &p), -EINVAL);
	expect_msg("built against a later one?");
	cr_expect_null(p);
	t.struct_size = sizeof(t);
	t.kind = 99;
	cr_expect_eq(daxalloc_pin(r, 0, 2 * M, &t, &p), -EINVAL);
	expect_msg("unknown consumer kind 99");
	t.kind = DAXALLOC_PIN_URING;
	t.flags = 1u << 20;
	cr_expect_eq(daxalloc_pin(r, 0, 2 * M, &t, &p), -EINVAL);
	expect_msg("unknown flags");
	cr_expect_null(p);
	cr_expect_str_eq(daxalloc_pin_kind_name(0), "unknown");
	/* getters tolerate NULL */
	cr_expect_null(daxalloc_pin_get_address(NULL));
	cr_expect_eq(daxalloc_pin_get_uring_index(NULL), -1);
	cr_expect_eq(daxalloc_pin_get_lkey(NULL), 0);
}

Test(pin, double_and_unknown_unpin_are_errors)
{
	struct daxalloc_region *r = alloc(2 * M, NULL);
	struct daxalloc_pin *p = pin(r, 0, 2 * M, uring_target(&ring)), *copy = p;
	struct daxalloc_pin *stranger = (struct daxalloc_pin *)&copy;

	cr_expect_eq(daxalloc_unpin(&p), 0);
	cr_expect_null(p);
	cr_expect_eq(daxalloc_unpin(&p), -EINVAL, "second unpin through the NULLed handle");
	expect_msg("already unpinned");
	cr_expect_eq(daxalloc_unpin(&copy), -EINVAL, "a stale copy of the handle");
	expect_msg("not a live pin");
	cr_expect_not_null(copy, "a refused unpin leaves the pointer alone");
	cr_expect_eq(daxalloc_unpin(&stranger), -EINVAL, "a pointer that never was a pin");
	cr_expect_eq(daxalloc_unpin(NULL), -EINVAL);
}

static void drop_cap_ipc_lock(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	cr_assert_eq(syscall(SYS_capget, &h, d), 0);
	d[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	cr_assert_eq(syscall(SYS_capset, &h, d), 0, "capset: %s", strerror(errno));
}

/* Criterion runs each test in its own process: the limits stay here. */
Test(pin, memlock_limit_exceeded_says_how_much)
{
	struct daxalloc_region *r = alloc(8 * M, NULL);
	struct rlimit rl;
	struct daxalloc_pin_target t;
	struct daxalloc_pin *p = NULL;
	uint64_t pinned = 0;
	char need[64];

	drop_cap_ipc_lock();
	/* The ring charges its creator's limits: make it without the capability. */
	io_uring_queue_exit(&ring);
	cr_assert_eq(io_uring_queue_init(8, &ring, 0), 0);
	t = uring_target(&ring);
	cr_assert_eq(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	cr_assert_eq(procfs_self_status_bytes("VmPin", &pinned), 0);
	/* Slack for the ring's own memory, which the kernel charges too. */
	rl.rlim_cur = pinned + 5 * M;
	cr_assert_eq(setrlimit(RLIMIT_MEMLOCK, &rl), 0, "%s", strerror(errno));

	cr_expect_eq(daxalloc_pin(r, 0, 8 * M, &t, &p), -ENOMEM);
	cr_expect_null(p);
	snprintf(need, sizeof(need), "at least %llu bytes", (unsigned long long)(pinned + 8 * M));
	expect_msg(need);
	expect_msg("RLIMIT_MEMLOCK");
	expect_msg("CAP_IPC_LOCK");
	/* Under the limit passes, and the kernel agrees. */
	p = pin(r, 0, 4 * M, t);
	cr_expect_eq(daxalloc_unpin(&p), 0, "%s", daxalloc_errmsg());
}

Test(pin, consumer_fd_invalid)
{
	struct daxalloc_region *r = alloc(2 * M, NULL);
	struct io_uring dead = ring;
	struct daxalloc_pin_target t = uring_target(&dead);
	struct daxalloc_pin *p = NULL;
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	dead.ring_fd = 1000;
	close(1000);
	cr_expect_eq(daxalloc_pin(r, 0, 2 * M, &t, &p), -EBADF);
	expect_msg("io_uring fd 1000 is not an open file descriptor");

	t = (struct daxalloc_pin_target){ DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_VFIO };
	t.vfio.container_fd = -1;
	cr_expect_eq(daxalloc_pin(r, 0, 2 * M, &t, &p), -EBADF);
	expect_msg("VFIO container fd -1");
	t.vfio.container_fd = null_fd;
	cr_expect_eq(daxalloc_pin(r, 0, 2 * M, &t, &p), -ENOTTY);
	expect_msg("is not a VFIO container");

	t = (struct daxalloc_pin_target){ DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_IOMMUFD };
	t.iommufd.fd = null_fd;
	if (access("/dev/iommu", F_OK) == 0) {
		cr_expect_eq(daxalloc_pin(r, 0, 2 * M, &t, &p), -ENOTTY);
		expect_msg("is not an iommufd");
	} else {
		cr_expect_eq(daxalloc_pin(r, 0, 2 * M, &t, &p), -EOPNOTSUPP);
		expect_msg("has no iommufd");
	}

	t = (struct daxalloc_pin_target){ DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_RDMA };
	{
		int rc = daxalloc_pin(r, 0, 2 * M, &t, &p);

		cr_expect(rc == -EINVAL || rc == -EOPNOTSUPP, "rdma without a pd: %d", rc);
		expect_msg(rc == -EINVAL ? "protection domain" : "without RDMA support");
	}
	cr_expect_null(p);
	close(null_fd);
}

/* Where this process loaded liburing.so.2 from (it links it). */
static void liburing_path(char *path, size_t len)
{
	void *h = dlopen("liburing.so.2", RTLD_NOW | RTLD_NOLOAD);
	struct link_map *lm = NULL;

	cr_assert_not_null(h, "liburing.so.2 is not loaded: %s", dlerror());
	cr_assert_eq(dlinfo(h, RTLD_DI_LINKMAP, &lm), 0, "%s", dlerror());
	cr_assert(lm->l_name[0] == '/', "liburing.so.2 loaded as '%s'", lm->l_name);
	snprintf(path, len, "%s", lm->l_name);
	dlclose(h);
}

/*
 * Run pin-no-liburing, a process that links the library but not liburing,
 * its output (and errors) in @out.  With @hide, in a mount namespace of its own where
 * /dev/null is bind-mounted over @hide first: exit 77 and the reason in
 * @out when that cannot be done.  Its exit status.
 */
static int run_pinner(const char *hide, char *out, size_t len)
{
	const char *exe = getenv("PIN_NO_LIBURING");
	int fds[2];
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	cr_assert_not_null(exe, "PIN_NO_LIBURING names no program (run through meson test)");
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		if (hide && unshare(CLONE_NEWNS) < 0) {
			printf("unshare(CLONE_NEWNS): %s\n", strerror(errno));
			_exit(77);
		}
		if (hide && (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			     mount("/dev/null", hide, NULL, MS_BIND, NULL) < 0)) {
			printf("bind-mounting /dev/null over %s: %s\n", hide, strerror(errno));
			_exit(77);
		}
		fflush(stdout);
		execl(exe, exe, (char *)NULL);
		printf("%s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	while (used + 1 < len && (n = read(fds[0], out + used, len - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(fds[0]);
	return th_exit_status(pid);
}

/* The library links no liburing: the first io_uring pin loads it, and works. */
Test(pin, uring_pin_loads_liburing_on_first_use)
{
	char out[1024];

	cr_assert_eq(run_pinner(NULL, out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "before=0\n"), "liburing loaded before any pin:\n%s", out);
	cr_expect(strstr(out, "pin=0 \n"), "the pin failed:\n%s", out);
	cr_expect(strstr(out, "after=1\n"), "the pin did not load liburing:\n%s", out);
	cr_expect(strstr(out, "unpin=0 \n"), "the unpin failed:\n%s", out);
}

/* Without liburing.so.2 on the machine (hidden by a bind mount), the pin says so. */
Test(pin, uring_pin_without_liburing_is_refused)
{
	char path[PATH_MAX], out[1024];
	int rc;

	if (geteuid() != 0)
		cr_skip_test("needs root to hide liburing.so.2 in a mount namespace");
	liburing_path(path, sizeof(path));
	rc = run_pinner(path, out, sizeof(out));
	if (rc == 77)
		cr_skip_test("cannot hide %s: %s", path, out);
	cr_assert_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "before=0\n"), "%s", out);
	cr_expect(strstr(out, "pin=-95 io_uring: liburing is not installed ("),
		  "not refused with EOPNOTSUPP naming liburing:\n%s", out);
	cr_expect(strstr(out, "after=0\n"), "%s", out);
}

static int count_pins(const struct daxalloc_pin_info *i, void *arg)
{
	(void)i;
	(*(int *)arg)++;
	return 0;
}

static int npins(void)
{
	int n = 0;

	cr_assert_eq(daxalloc_pool_foreach_pin(pool, count_pins, &n), 0, "%s", daxalloc_errmsg());
	return n;
}

/* The ledger as another handle (here, or in another process) reads it. */
static int pins_seen_by_a_new_handle(void)
{
	struct daxalloc_pool *p = NULL;
	int n = 0;

	cr_assert_eq(daxalloc_pool_open(dev, DAXALLOC_POOL_RDONLY, &p), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_pool_foreach_pin(p, count_pins, &n), 0, "%s", daxalloc_errmsg());
	daxalloc_pool_close(&p);
	return n;
}

/* Into new pid and mount namespaces with their own /proc and /run, as a container; 0 or why not. */
static int enter_container(void)
{
	pid_t inner;

	if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
		return 20;
	inner = fork();
	if (inner != 0)
		_exit(inner < 0 ? 21 : th_exit_status(inner));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", 0, NULL) < 0 ||
	    mount("tmpfs", "/run", "tmpfs", 0, "mode=755") < 0)
		return 22;
	return 0;
}

/*
 * Another process (in a container when root), started before anything is
 * pinned, so that it inherits nothing of this one's: told to go through
 * *go, it checks that the pin of region @name is listed and that its free
 * and a format are refused naming io_uring.  Exit 0 when all held.
 */
static pid_t expect_pinned_elsewhere(const char *name, bool container, struct handshake *go)
{
	pid_t pid = handshake_fork(go);

	if (pid == 0) {
		struct daxalloc_pool *p = NULL, *fresh = NULL;
		int n = 0, rc;

		if (container && (rc = enter_container()) != 0)
			_exit(rc);
		if (handshake_wait_go(go) < 0)
			_exit(24);
		if (daxalloc_pool_open(dev, 0, &p) < 0)
			_exit(23);
		if (daxalloc_pool_foreach_pin(p, count_pins, &n) < 0 || n != 1) {
			fprintf(stderr, "another process sees %d pins\n", n);
			_exit(1);
		}
		rc = daxalloc_pool_free_name(p, name);
		if (rc != -EBUSY || !strstr(daxalloc_errmsg(), "pinned by io_uring")) {
			fprintf(stderr, "free '%s': %d: %s\n", name, rc, daxalloc_errmsg());
			_exit(2);
		}
		daxalloc_pool_close(&p);
		rc = daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &fresh);
		if (rc != -EBUSY || !strstr(daxalloc_errmsg(), "pinned by io_uring")) {
			fprintf(stderr, "format: %d: %s\n", rc, daxalloc_errmsg());
			_exit(3);
		}
		_exit(0);
	}
	return pid;
}

static int go_and_wait(pid_t pid, struct handshake *go)
{
	int rc = handshake_go(go);

	handshake_close(go);
	return rc < 0 ? 127 : th_exit_status(pid);
}

Test(pin, free_of_a_pinned_region_is_refused)
{
	struct daxalloc_region *r = alloc(4 * M, "held"), *u = alloc(2 * M, NULL);
	struct daxalloc_pin *p = pin(r, 2 * M, 2 * M, uring_target(&ring)), *q;
	struct daxalloc_pin_target t = uring_target(&ring);
	char pid[32];

	snprintf(pid, sizeof(pid), "pid %d", getpid());
	cr_expect_eq(daxalloc_region_free(&r), -EBUSY);
	expect_msg("region 'held' is pinned by io_uring fd");
	expect_msg(pid);
	cr_assert_not_null(r, "a refused free keeps the region");
	memset(daxalloc_region_get_address(r), 1, 4 * M); /* still mapped */
	cr_expect_eq(daxalloc_pool_free_name(pool, "held"), -EBUSY);
	expect_msg("region 'held' is pinned by io_uring fd");
	expect_msg(pid);
	cr_expect_eq(daxalloc_unpin(&p), 0);
	cr_expect_eq(daxalloc_region_free(&r), 0, "%s", daxalloc_errmsg());
	cr_expect_null(r);

	t.flags = DAXALLOC_PIN_URING_SLOTS;
	cr_assert_eq(io_uring_register_buffers_sparse(&ring, 4), 0);
	q = pin(u, 0, 2 * M, t);
	cr_expect_eq(daxalloc_region_free(&u), -EBUSY);
	expect_msg("the region at 0x");
	cr_expect_eq(daxalloc_unpin(&q), 0);
	cr_expect_eq(daxalloc_region_free(&u), 0);
}

/*
 * A ring closed here lives on in a child that inherited it, its buffers
 * registered: the unpin fails (EBADF is not "gone"), and the pin stays,
 * so the region is not freed under it, even once closed.
 */
Test(pin, failed_unpin_keeps_the_pin)
{
	struct daxalloc_region *r = alloc(4 * M, "dma");
	struct daxalloc_pin *p = pin(r, 0, 2 * M, uring_target(&ring));
	struct daxalloc_pool *again = NULL;
	struct handshake go;
	pid_t child = handshake_fork(&go);

	if (child == 0)
		_exit(handshake_wait_go(&go) < 0); /* holds the ring until told */
	io_uring_queue_exit(&ring);
	ring_up = false;
	cr_expect_lt(daxalloc_unpin(&p), 0, "the unpin of a ring closed here cannot succeed");
	cr_expect(strstr(daxalloc_errmsg(), "stays recorded"), "%s", daxalloc_errmsg());
	cr_assert_not_null(p, "a failed unpin keeps the handle");
	cr_expect_eq(npins(), 1, "a failed unpin keeps the pin listed");
	cr_expect_eq(daxalloc_region_free(&r), -EBUSY, "%s", daxalloc_errmsg());
	cr_assert_not_null(r);
	daxalloc_region_close(&r);
	cr_expect_eq(npins(), 1, "closing the region keeps a pin it could not undo");
	cr_expect_eq(daxalloc_pool_free_name(pool, "dma"), -EBUSY, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &again), -EBUSY,
		     "formatting over a pin");
	cr_expect(strstr(daxalloc_errmsg(), "pinned by io_uring"), "%s", daxalloc_errmsg());
	cr_expect_null(again);
	handshake_go(&go);
	handshake_close(&go);
	th_exit_status(child);
}

/*
 * A pin that could not be undone outlives its region and its pool handle:
 * another process, in another pid namespace with its own /run, still sees
 * it and frees nothing under it.
 */
Test(pin, stuck_pin_seen_by_other_processes_after_close)
{
	bool root = geteuid() == 0;
	struct handshake go, go_host, go_ns;
	pid_t child, host = expect_pinned_elsewhere("dma", false, &go_host), ns = 0;
	struct daxalloc_region *r = alloc(4 * M, "dma");
	struct daxalloc_pin *p;

	if (root)
		ns = expect_pinned_elsewhere("dma", true, &go_ns);
	p = pin(r, 0, 2 * M, uring_target(&ring));
	child = handshake_fork(&go);
	if (child == 0)
		_exit(handshake_wait_go(&go) < 0); /* holds the ring, and the pin */
	io_uring_queue_exit(&ring);
	ring_up = false;
	cr_expect_lt(daxalloc_unpin(&p), 0, "the unpin of a ring closed here cannot succeed");
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	cr_expect_eq(pins_seen_by_a_new_handle(), 1,
		     "closing the pool dropped a pin it could not undo");
	cr_expect_eq(go_and_wait(host, &go_host), 0,
		     "another process did not see the pin (see its output)");
	if (root)
		cr_expect_eq(go_and_wait(ns, &go_ns), 0,
			     "a process in a container did not see the pin (see its output)");
	handshake_go(&go);
	handshake_close(&go);
	cr_expect_eq(th_exit_status(child), 0);
}

/* In a forked child: its own handle, ring and a pinned 2M region @name; exits 1 on failure. */
static void pin_as_another_process(const char *name)
{
	static struct io_uring rg;
	struct daxalloc_pool *p = NULL;
	struct daxalloc_region *r = NULL;
	struct daxalloc_pin *q = NULL;
	struct daxalloc_pin_target t = uring_target(&rg);

	if (io_uring_queue_init(4, &rg, 0) < 0 || daxalloc_pool_open(dev, 0, &p) < 0 ||
	    daxalloc_alloc(p, 2 * M, name, 0, &r) < 0 || daxalloc_pin(r, 0, 2 * M, &t, &q) < 0)
		_exit(1);
}

/* A pinner killed by SIGKILL: its lease ends, and so does its record. */
Test(pin, pins_of_a_killed_process_end_with_it)
{
	struct handshake h;
	pid_t child = handshake_fork(&h);

	if (child == 0) {
		pin_as_another_process("victim");
		if (handshake_ready(&h, NULL, 0) < 0)
			_exit(2);
		pause();
		_exit(0);
	}
	cr_assert(handshake_wait_ready(&h, NULL, 0), "the pinner did not start (status %d)",
		  th_exit_status(child));
	cr_expect_eq(npins(), 1, "the other process's pin is not listed");
	cr_expect_eq(daxalloc_pool_free_name(pool, "victim"), -EBUSY, "%s", daxalloc_errmsg());
	expect_msg("pinned by io_uring");
	kill(child, SIGKILL);
	cr_expect_eq(th_exit_status(child), 128 + SIGKILL);
	cr_expect_eq(npins(), 0, "a dead process's pin is still listed");
	cr_expect_eq(daxalloc_pool_free_name(pool, "victim"), 0, "%s", daxalloc_errmsg());
	handshake_close(&h);
}

/*
 * fork() hands the ring to the child: the pinner exits without unpinning,
 * and the child's ring still holds the pages.  The record lives on, naming
 * the child, until the child lets the ring go.
 */
Test(pin, pin_lives_on_in_a_child_after_the_pinner_exits)
{
	struct handshake go;
	pid_t pinner, heir = 0;
	char want[32];

	/* The heir is re-parented to this process when the pinner exits. */
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	pinner = handshake_fork(&go);
	if (pinner == 0) {
		pid_t h;

		pin_as_another_process("heirloom");
		h = fork();
		if (h == 0) {
			h = getpid();
			if (handshake_ready(&go, &h, sizeof(h)) < 0)
				_exit(2);
			_exit(handshake_wait_go(&go) < 0); /* holds the ring until told */
		}
		_exit(h < 0 ? 3 : 0); /* exits with the pin made: its lease ends */
	}
	cr_assert_eq(th_exit_status(pinner), 0, "the pinner failed");
	cr_assert(handshake_wait_ready(&go, &heir, sizeof(heir)), "the heir did not start");
	/* This process's own ring is no holder. */
	io_uring_queue_exit(&ring);
	ring_up = false;
	snprintf(want, sizeof(want), "pid %d", heir);
	cr_expect_eq(npins(), 1, "the pin died with the pinner while its child holds the ring");
	cr_expect_eq(daxalloc_pool_free_name(pool, "heirloom"), -EBUSY, "%s", daxalloc_errmsg());
	expect_msg("pinned by io_uring");
	expect_msg(want);
	cr_assert_eq(handshake_go(&go), 0);
	handshake_close(&go);
	cr_expect_eq(th_exit_status(heir), 0);
	cr_expect_eq(npins(), 0, "the pin outlived the last holder of the ring");
	cr_expect_eq(daxalloc_pool_free_name(pool, "heirloom"), 0, "%s", daxalloc_errmsg());
}

/*
 * The ring closed, its number given to a new ring: the unpin must not
 * unregister the new ring's buffers.  It fails, and the pin stays.
 */
Test(pin, unpin_never_reaches_a_ring_that_took_the_number)
{
	static char page[4096] __attribute__((aligned(4096)));
	struct daxalloc_region *r = alloc(2 * M, NULL);
	struct daxalloc_pin *p = pin(r, 0, 2 * M, uring_target(&ring));
	struct iovec v = { page, sizeof(page) };
	struct io_uring other;
	int old = ring.ring_fd, fd = data_file(4096, 9);

	io_uring_queue_exit(&ring);
	ring_up = false;
	cr_assert_eq(io_uring_queue_init(4, &other, 0), 0);
	if (other.ring_fd != old) {
		io_uring_queue_exit(&other);
		cr_skip_test("the new ring got fd %d, not the old number %d", other.ring_fd, old);
	}
	cr_assert_eq(io_uring_register_buffers(&other, &v, 1), 0);
	cr_expect_lt(daxalloc_unpin(&p), 0, "unpinned through a ring that is not the pin's");
	expect_msg("not the ring the pin was made for");
	cr_expect_eq(read_fixed(&other, fd, page, 4096, 0), 4096, "the new ring lost its buffers");
	cr_expect_eq(th_verify(page, 4096, 9), 0);
	io_uring_queue_exit(&other);
	close(fd);
}

Test(pin, format_refused_while_pinned)
{
	struct daxalloc_region *r = alloc(2 * M, NULL);
	struct daxalloc_pin *p = pin(r, 0, 2 * M, uring_target(&ring));
	struct daxalloc_pool *again = NULL;

	cr_expect_eq(daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &again), -EBUSY);
	cr_expect(strstr(daxalloc_errmsg(), "formatting frees every region"), "%s",
		  daxalloc_errmsg());
	cr_expect_null(again);
	cr_expect_eq(daxalloc_unpin(&p), 0);
	cr_expect_eq(daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &again), 0, "%s",
		     daxalloc_errmsg());
	daxalloc_pool_close(&again);
	daxalloc_region_close(&r);
}

Test(pin, closing_the_pool_unpins)
{
	struct daxalloc_region *r = alloc(4 * M, "kept");
	struct daxalloc_pin *p = pin(r, 0, 4 * M, uring_target(&ring));
	int fd = data_file(4096, 3);

	cr_expect_eq(npins(), 1);
	daxalloc_pool_close(&pool);
	cr_expect_null(pool);
	cr_expect_eq(pins_seen_by_a_new_handle(), 0, "the closed pool's pin is still recorded");
	cr_expect_eq(daxalloc_unpin(&p), -EINVAL, "the pool took the pin with it");
	cr_expect_not_null(p);
	/* The ring's table is gone: a new one registers. */
	{
		static char page[4096] __attribute__((aligned(4096)));
		struct iovec v = { page, sizeof(page) };

		cr_expect_eq(io_uring_register_buffers(&ring, &v, 1), 0);
		cr_expect_eq(read_fixed(&ring, fd, page, 4096, 0), 4096);
		cr_expect_eq(th_verify(page, 4096, 3), 0);
	}
	close(fd);
}

Test(pin, closing_the_region_unpins)
{
	struct daxalloc_region *r = alloc(2 * M, NULL), *keep = alloc(2 * M, NULL);
	struct daxalloc_pin_target t = uring_target(&ring);
	struct daxalloc_pin *p, *other;

	cr_assert_eq(io_uring_register_buffers_sparse(&ring, 4), 0);
	t.flags = DAXALLOC_PIN_URING_SLOTS;
	p = pin(r, 0, 2 * M, t);
	t.uring.first_index = 1;
	other = pin(keep, 0, 2 * M, t);
	cr_expect_eq(npins(), 2);
	daxalloc_region_close(&r);
	cr_expect_eq(npins(), 1, "only the closed region's pin goes");
	cr_expect_eq(daxalloc_unpin(&p), -EINVAL);
	cr_expect_eq(daxalloc_unpin(&other), 0);
	cr_expect_eq(npins(), 0);
}

struct seen {
	int n;
	struct daxalloc_pin_info v[4];
};

static int collect(const struct daxalloc_pin_info *i, void *arg)
{
	struct seen *s = arg;

	if (s->n < 4)
		s->v[s->n] = *i;
	s->n++;
	return 0;
}

Test(pin, listing_names_region_range_consumer_pid)
{
	struct daxalloc_region *a = alloc(4 * M, "first"), *b = alloc(2 * M, NULL);
	struct daxalloc_pin *pa, *pb;
	struct seen s = { 0 };
	time_t now = time(NULL);
	char want[64], text[64];

	cr_assert_eq(io_uring_register_buffers_sparse(&ring, 4), 0);
	pb = pin_slots(b, 0, 2 * M, 3);
	pa = pin_slots(a, 2 * M, 2 * M, 0);
	cr_assert_eq(daxalloc_pool_foreach_pin(pool, collect, &s), 0);
	cr_assert_eq(s.n, 2);
	/* by device offset: 'first' was allocated first */
	cr_expect_str_eq(s.v[0].region, "first");
	cr_expect_eq(s.v[0].region_offset, daxalloc_region_get_offset(a));
	cr_expect_eq(s.v[0].offset, daxalloc_region_get_offset(a) + 2 * M);
	cr_expect_eq(s.v[0].length, 2 * M);
	cr_expect_eq(s.v[0].kind, DAXALLOC_PIN_URING);
	cr_expect_eq(s.v[0].pid, getpid());
	cr_expect_neq(s.v[0].command[0], '\0');
	cr_expect_geq(s.v[0].since + 5, (uint64_t)now);
	cr_expect_eq(s.v[0].fd, ring.ring_fd);
	cr_expect_eq(s.v[0].uring_index, 0);
	cr_expect_eq(s.v[0].uring_count, 1);
	cr_expect_eq(s.v[0].iova, UINT64_MAX);
	snprintf(want, sizeof(want), "io_uring fd %d, buffer 0", ring.ring_fd);
	cr_expect_eq(daxalloc_pin_info_describe(&s.v[0], text, sizeof(text)), (int)strlen(want));
	cr_expect_str_eq(text, want);
	cr_expect_str_eq(s.v[1].region, "");
	cr_expect_eq(s.v[1].uring_index, 3);
	daxalloc_pin_info_describe(&s.v[1], text, sizeof(text));
	cr_expect(strstr(text, "buffer 3"), "%s", text);

	cr_expect_eq(pins_seen_by_a_new_handle(), 2);
	cr_expect_eq(daxalloc_unpin(&pa), 0);
	s.n = 0;
	cr_assert_eq(daxalloc_pool_foreach_pin(pool, collect, &s), 0);
	cr_assert_eq(s.n, 1);
	cr_expect_eq(s.v[0].uring_index, 3);
	cr_expect_eq(daxalloc_unpin(&pb), 0);
	cr_expect_eq(npins(), 0);
}

Test(pin, only_the_pinning_process_unpins)
{
	struct daxalloc_region *r = alloc(2 * M, NULL);
	struct daxalloc_pin *p = pin(r, 0, 2 * M, uring_target(&ring));
	int st;
	pid_t child = fork();

	cr_assert_geq(child, 0);
	if (child == 0)
		_exit(daxalloc_unpin(&p) == -EINVAL && strstr(daxalloc_errmsg(), "before fork") ? 0 :
												  1);
	cr_assert_eq(waitpid(child, &st, 0), child);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child must be refused");
	cr_expect_eq(daxalloc_unpin(&p), 0, "%s", daxalloc_errmsg());
}

Test(pin, cli_pins_refuses_the_standin)
{
	const char *bin = getenv("DAXALLOC_CTL");
	char cmd[512], out[1024] = "";
	FILE *f;
	size_t n;
	int st;

	cr_assert_not_null(bin, "DAXALLOC_CTL must name the built daxalloc-ctl");
	snprintf(cmd, sizeof(cmd), "%s pins " STANDIN " 2>&1", bin);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	st = pclose(f);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit %d: %s", st, out);
	cr_expect(strstr(out, "belong to the process that made it"), "%s", out);
	snprintf(cmd, sizeof(cmd), "%s pins >/dev/null 2>&1", bin);
	st = system(cmd);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 2, "pins without DEV is a usage error");
}

/* A range over 1 GiB becomes two fixed buffers; both take I/O. */
Test(pin_big, uring_splits_at_1g, .timeout = 300)
{
	struct daxalloc_ctx *c = NULL;
	struct daxalloc_dev *d;
	struct daxalloc_pool *pl;
	struct daxalloc_region *r = NULL;
	struct daxalloc_pin *p;
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_URING };
	struct io_uring rg;
	char *base;
	int fd;

	cr_assert_eq(daxalloc_ctx_new(&c), 0);
	d = th_dev_open(c, "hugetlb:2M:1030M");
	pl = th_pool_create(d);
	cr_assert_eq(daxalloc_alloc(pl, 1028 * M, NULL, DAXALLOC_ALLOC_POPULATE, &r), 0, "%s",
		     daxalloc_errmsg());
	cr_assert_eq(io_uring_queue_init(4, &rg, 0), 0);
	t.uring.ring = &rg;
	p = pin(r, 0, 1028 * M, t);
	fprintf(stderr, "pin: io_uring 1028M (2 buffers) on hugetlb:2M: %.3f ms\n",
		daxalloc_pin_get_pin_time_ns(p) / 1e6);
	cr_expect_eq(daxalloc_pin_get_uring_index(p), 0);
	cr_expect_eq(daxalloc_pin_get_uring_count(p), 2);
	base = daxalloc_pin_get_address(p);
	fd = data_file(2 * M, 11);
	cr_expect_eq(read_fixed(&rg, fd, base + 1026 * M, 2 * M, 1), (int)(2 * M));
	cr_expect_eq(th_verify(base + 1026 * M, 2 * M, 11), 0);
	cr_expect_lt(read_fixed(&rg, fd, base + 1026 * M, 2 * M, 0), 0,
		     "buffer 0 ends at 1G: the read must not fit");
	cr_expect_eq(daxalloc_unpin(&p), 0, "%s", daxalloc_errmsg());
	close(fd);
	io_uring_queue_exit(&rg);
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pl);
	daxalloc_dev_close(&d);
	daxalloc_ctx_delete(&c);
}
