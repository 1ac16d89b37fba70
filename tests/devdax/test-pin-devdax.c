// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pins on real device-dax in the guest: a VFIO container (the edu device's
 * IOMMU domain) pins a region, another process sees the pin in the ledger
 * and cannot free the region, a dead pinner's record disappears; RDMA
 * registration on soft-RoCE; io_uring fixed buffers on devdax (a file read
 * into them) where the kernel takes them, and io_uring and iommufd
 * refusals said plainly on kernels that cannot pin devdax for them;
 * iommufd pins with a device attached (the edu device copies through the
 * IOMMU) where the kernel has iommufd (the 6.12-iommufd guest kernel); what
 * each pin is charged, and RLIMIT_MEMLOCK as the kernel applies it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_IBVERBS
#include <infiniband/verbs.h>
#endif

#include "consumers.h"
#include "daxalloc.h"
#include "guest-devices.h"
#include "run-ctl.h"

#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)

/*
 * One test at a time: they share the VFIO group (one opener at a time)
 * and reformat the same device.
 */
static void serialize(void)
{
	int fd = open("/tmp/daxalloc-test-pin.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(flock(fd, LOCK_EX), 0);
	/* held until this test's process exits */
}

TestSuite(pin, .init = serialize);

struct setup {
	const struct guest_dev *gd;
	struct daxalloc_ctx *ctx;
	struct daxalloc_dev *dev;
	struct daxalloc_pool *pool;
};

static void open_pool(struct setup *s, const char *label)
{
	s->gd = guest_dev(label);
	cr_assert_eq(daxalloc_ctx_new(&s->ctx), 0);
	cr_assert_eq(daxalloc_dev_open(s->ctx, s->gd->name, &s->dev), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_pool_create(s->dev, DAXALLOC_POOL_FORCE, &s->pool), 0, "%s",
		     daxalloc_errmsg());
}

static void close_pool(struct setup *s)
{
	daxalloc_pool_close(&s->pool);
	daxalloc_dev_close(&s->dev);
	daxalloc_ctx_delete(&s->ctx);
}

static struct daxalloc_region *alloc(struct setup *s, uint64_t size, const char *name)
{
	struct daxalloc_region *r = NULL;

	cr_assert_eq(daxalloc_alloc(s->pool, size, name, DAXALLOC_ALLOC_POPULATE, &r), 0, "%s",
		     daxalloc_errmsg());
	return r;
}

static double ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* Unpin, expecting success; the milliseconds it took. */
static double unpin_timed(struct daxalloc_pin **p)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	cr_expect_eq(daxalloc_unpin(p), 0, "%s", daxalloc_errmsg());
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ms(&a, &b);
}

/*
 * Unpin @p (of @size on @s's device, @label), timed, and log what the
 * pin and the unpin took: the consumer's calls inside the library.
 */
static void unpin_logged(struct daxalloc_pin **p, const struct setup *s, const char *label,
			 uint64_t size)
{
	enum daxalloc_pin_kind k = daxalloc_pin_get_kind(*p);
	double pin_ms = daxalloc_pin_get_pin_time_ns(*p) / 1e6;
	double unpin_ms = unpin_timed(p);

	fprintf(stderr, "pin: %s %lluM on %s (%s): %s %.3f ms, %s %.3f ms\n",
		daxalloc_pin_kind_name(k), (unsigned long long)(size >> 20), s->gd->name, label,
		consumer_pin_call(k), pin_ms, consumer_unpin_call(k), unpin_ms);
}

/* The same case on the 2M and the 1G static device: @size2m, then 1 GiB. */
/* clang-format off */
#define ON_2M_AND_1G(name, fn, size2m)                                   \
	Test(pin, name##_2m, .timeout = 300) { fn("static2m", size2m); } \
	Test(pin, name##_1g, .timeout = 300) { fn("static1g", G); }
/* clang-format on */

/* ---- another process: daxalloc-ctl --------------------------------------- */

/* `daxalloc-ctl pins DEV --json`, parsed; the caller puts it. */
static struct json_object *pins_json(const char *devname)
{
	struct json_object *j;
	static struct ctl_run r;
	char args[128];

	snprintf(args, sizeof(args), "pins %s --json", devname);
	ctl_runf(&r, "%s", args);
	cr_assert_eq(r.status, 0, "daxalloc-ctl %s: %s", args, r.err);
	j = json_tokener_parse(r.out);
	cr_assert(j && json_object_is_type(j, json_type_array), "not a JSON array: %s", r.out);
	return j;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "";
}

static int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : -1;
}

/* ---- a region pinned whole ------------------------------------------------ */

struct pinned {
	struct setup s;
	struct consumer c;
	struct daxalloc_region *r;
	struct daxalloc_pin *p;
};

/*
 * Region @name of @size on @label's device, pinned whole for a consumer
 * of @kind (consumer_open()'s @where); the ledger lists it, by kind.
 */
static void pinned_open(struct pinned *pd, const char *label, uint64_t size, const char *name,
			enum daxalloc_pin_kind kind, const char *where)
{
	struct daxalloc_pin_target t;
	struct json_object *j;

	open_pool(&pd->s, label);
	pd->r = alloc(&pd->s, size, name);
	cr_assert_eq(consumer_open(&pd->c, kind, where), 0, "%s", consumer_errmsg());
	consumer_target(&pd->c, &t);
	pd->p = NULL;
	cr_assert_eq(daxalloc_pin(pd->r, 0, size, &t, &pd->p), 0, "%s", daxalloc_errmsg());
	j = pins_json(pd->s.gd->name);
	cr_expect_eq(json_object_array_length(j), 1, "%s", json_object_to_json_string(j));
	cr_expect_str_eq(jstr(json_object_array_get_idx(j, 0), "kind"), daxalloc_pin_kind_name(kind));
	json_object_put(j);
}

/* Unpin (timed and logged), then close what pinned_open() opened. */
static void pinned_close(struct pinned *pd, const char *label, uint64_t size)
{
	unpin_logged(&pd->p, &pd->s, label, size);
	consumer_close(&pd->c);
	daxalloc_region_close(&pd->r);
	close_pool(&pd->s);
}

/* ---- VFIO ------------------------------------------------------------------ */

Test(pin, vfio_pin_seen_by_another_process_and_free_refused, .timeout = 300)
{
	struct setup s;
	struct consumer c;
	struct daxalloc_region *r;
	struct daxalloc_pin *p = NULL;
	struct daxalloc_pin_target t;
	struct json_object *j, *e;
	static struct ctl_run run;
	char args[128], pid[32];

	open_pool(&s, "static2m");
	r = alloc(&s, 8 * M, "dma-buf");
	cr_assert_eq(consumer_open(&c, DAXALLOC_PIN_VFIO, guest_vfio_group()), 0, "%s",
		     consumer_errmsg());
	consumer_target(&c, &t);
	cr_assert_eq(daxalloc_pin(r, 2 * M, 4 * M, &t, &p), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_pin_get_iova(p), 1ull << 32);
	fprintf(stderr, "pin: vfio 4M on %s (2M): %.3f ms\n", s.gd->name,
		daxalloc_pin_get_pin_time_ns(p) / 1e6);

	/* Another process: the listing shows the pin ... */
	j = pins_json(s.gd->name);
	cr_assert_eq(json_object_array_length(j), 1, "%s", json_object_to_json_string(j));
	e = json_object_array_get_idx(j, 0);
	cr_expect_str_eq(jstr(e, "region"), "dma-buf");
	cr_expect_str_eq(jstr(e, "kind"), "vfio");
	cr_expect_eq(jint(e, "pid"), getpid());
	cr_expect_eq(jint(e, "length"), (int64_t)(4 * M));
	cr_expect_eq(jint(e, "offset"), (int64_t)(daxalloc_region_get_offset(r) + 2 * M));
	cr_expect(strstr(jstr(e, "consumer"), "vfio container fd"), "%s", jstr(e, "consumer"));
	json_object_put(j);
	/* ... and its free is refused, naming the consumer and the pid. */
	snprintf(args, sizeof(args), "free %s dma-buf", s.gd->name);
	ctl_runf(&run, "%s", args);
	snprintf(pid, sizeof(pid), "pid %d", getpid());
	cr_expect_eq(run.status, 1, "free of a pinned region must fail: %s", run.err);
	cr_expect(strstr(run.err, "pinned by vfio container fd") && strstr(run.err, pid), "%s",
		  run.err);
	cr_expect_eq(daxalloc_region_free(&r), -EBUSY);
	cr_assert_not_null(r);

	cr_expect_eq(daxalloc_unpin(&p), 0, "%s", daxalloc_errmsg());
	j = pins_json(s.gd->name);
	cr_expect_eq(json_object_array_length(j), 0, "unpinned: %s", json_object_to_json_string(j));
	json_object_put(j);
	cr_expect_eq(daxalloc_region_free(&r), 0, "%s", daxalloc_errmsg());
	consumer_close(&c);
	close_pool(&s);
}

Test(pin, vfio_pin_1g_timing, .timeout = 300)
{
	struct pinned pd;
	struct daxalloc_pin_target t;

	pinned_open(&pd, "static1g", G, NULL, DAXALLOC_PIN_VFIO, guest_vfio_group());
	consumer_target(&pd.c, &t);
	for (int i = 1; i < 3; i++) {
		unpin_logged(&pd.p, &pd.s, "1G pages", G);
		cr_assert_eq(daxalloc_pin(pd.r, 0, G, &t, &pd.p), 0, "%s", daxalloc_errmsg());
	}
	pinned_close(&pd, "1G pages", G);
}

/*
 * In a child: region @name (2M) of the pool on @devname, pinned for a VFIO
 * container of group @grp; the handles stay open until the child ends.
 * Exits 1 (no region), 2 (no container) or 3 (no pin) on failure.
 */
static void child_pin(const char *devname, const char *grp, const char *name)
{
	struct setup s = { 0 };
	struct pinned pd = { 0 };
	struct daxalloc_pin_target t;

	if (daxalloc_ctx_new(&s.ctx) || daxalloc_dev_open(s.ctx, devname, &s.dev) ||
	    daxalloc_pool_open(s.dev, 0, &s.pool) || daxalloc_alloc(s.pool, 2 * M, name, 0, &pd.r))
		_exit(1);
	if (consumer_open(&pd.c, DAXALLOC_PIN_VFIO, grp))
		_exit(2);
	consumer_target(&pd.c, &t);
	if (daxalloc_pin(pd.r, 0, 2 * M, &t, &pd.p))
		_exit(3);
}

/*
 * The pinner forks a child (which inherits the container and the mapping)
 * and exits: the container, and the DMA mapping, live on in the child, and
 * so does the ledger record, marked at the fork.  The free is refused,
 * naming the child, until it lets the container go.
 */
Test(pin, vfio_pin_inherited_by_a_child_outlives_its_pinner, .timeout = 300)
{
	struct setup s;
	static struct ctl_run run;
	const char *grp;
	int up[2], go[2], st;
	pid_t pinner, heir = 0;
	char want[48];

	open_pool(&s, "static2m");
	grp = guest_vfio_group();
	cr_assert_eq(pipe(up), 0);
	cr_assert_eq(pipe(go), 0);
	pinner = fork();
	cr_assert_geq(pinner, 0);
	if (pinner == 0) {
		char c;
		pid_t h;

		close(go[1]);
		child_pin(s.gd->name, grp, "inherited");
		h = fork();
		if (h == 0) {
			_exit(read(go[0], &c, 1) < 0); /* holds the container until told */
		}
		if (write(up[1], &h, sizeof(h)) != (ssize_t)sizeof(h))
			_exit(4);
		_exit(0); /* dies pinned */
	}
	close(up[1]);
	close(go[0]);
	cr_assert_eq(read(up[0], &heir, sizeof(heir)), (ssize_t)sizeof(heir), "the pinner failed");
	cr_assert_eq(waitpid(pinner, &st, 0), pinner);
	/* The record outlives the pinner's lease, naming the heir that holds the container. */
	snprintf(want, sizeof(want), "in pid %d", heir);
	ctl_runl(&run, "free", s.gd->name, "inherited", NULL);
	cr_expect_eq(run.status, 1, "freed while the pinner's heir holds the DMA mapping: %s",
		     run.out);
	cr_expect(strstr(run.err, "is pinned by vfio"), "%s", run.err);
	cr_expect(strstr(run.err, want), "%s", run.err);
	close(go[1]);
	/* The heir is not our child: wait for it to go. */
	for (int i = 0; i < 100 && kill(heir, 0) == 0; i++)
		usleep(50000);
	ctl_runl(&run, "free", s.gd->name, "inherited", NULL);
	cr_expect_eq(run.status, 0, "%s", run.err);
	close_pool(&s);
}

/* A pinner killed by SIGKILL: the kernel drops its pins, the ledger follows. */
Test(pin, dead_pinner_leaves_no_record, .timeout = 300)
{
	struct setup s;
	struct json_object *j;
	const char *grp;
	int up[2], st;
	char c;
	pid_t child;

	open_pool(&s, "static2m");
	grp = guest_vfio_group();
	cr_assert_eq(pipe(up), 0);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		child_pin(s.gd->name, grp, "doomed");
		write(up[1], "p", 1);
		pause();
		_exit(0);
	}
	close(up[1]);
	cr_assert_eq(read(up[0], &c, 1), 1, "the child could not pin");
	j = pins_json(s.gd->name);
	cr_expect_eq(json_object_array_length(j), 1);
	cr_expect_eq(jint(json_object_array_get_idx(j, 0), "pid"), child);
	json_object_put(j);
	cr_expect_eq(daxalloc_pool_free_name(s.pool, "doomed"), -EBUSY);

	kill(child, SIGKILL);
	cr_assert_eq(waitpid(child, &st, 0), child);
	j = pins_json(s.gd->name);
	cr_expect_eq(json_object_array_length(j), 0, "%s", json_object_to_json_string(j));
	json_object_put(j);
	cr_expect_eq(daxalloc_pool_free_name(s.pool, "doomed"), 0, "%s", daxalloc_errmsg());
	close(up[0]);
	close_pool(&s);
}

/* ---- RDMA ------------------------------------------------------------------ */

#ifdef HAVE_IBVERBS
static void rdma_reg(const char *label, uint64_t size)
{
	struct pinned pd;
	struct ibv_mr *mr;
	struct json_object *j;

	pinned_open(&pd, label, size, "rdma", DAXALLOC_PIN_RDMA, guest_rdma_dev());
	mr = daxalloc_pin_get_mr(pd.p);
	cr_assert_not_null(mr);
	cr_expect_eq(mr->addr, daxalloc_region_get_address(pd.r));
	cr_expect_eq(mr->length, size);
	cr_expect_eq(daxalloc_pin_get_lkey(pd.p), mr->lkey);
	cr_expect_eq(daxalloc_pin_get_rkey(pd.p), mr->rkey);
	cr_expect_neq(mr->rkey, 0);
	j = pins_json(pd.s.gd->name);
	cr_expect(strstr(jstr(json_object_array_get_idx(j, 0), "consumer"), "rkey 0x"), "%s",
		  json_object_to_json_string(j));
	json_object_put(j);
	pinned_close(&pd, label, size);
}

ON_2M_AND_1G(rdma_reg_mr_on_devdax, rdma_reg, 64 * M)
#else
Test(pin, rdma_reg_mr_on_devdax_2m)
{
	cr_skip_test("built without libibverbs (-Drdma=disabled or libibverbs-dev missing)");
}
#endif

/* ---- refusals on kernels that cannot pin devdax for a consumer -------------- */

static bool kernel_before(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	cr_assert_eq(uname(&u), 0);
	cr_assert_eq(sscanf(u.release, "%d.%d", &ma, &mi), 2);
	return ma < major || (ma == major && mi < minor);
}

static int count(const struct daxalloc_pin_info *i, void *arg)
{
	(void)i;
	(*(int *)arg)++;
	return 0;
}

Test(pin, io_uring_answer_matches_the_kernel, .timeout = 120)
{
	struct setup s;
	struct io_uring ring;
	struct daxalloc_region *r;
	struct daxalloc_pin *p = NULL;
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_URING };
	int rc, n = 0;

	open_pool(&s, "static2m");
	r = alloc(&s, 4 * M, NULL);
	cr_assert_eq(io_uring_queue_init(4, &ring, 0), 0);
	t.uring.ring = &ring;
	rc = daxalloc_pin(r, 0, 4 * M, &t, &p);
	if (kernel_before(6, 5)) {
		cr_expect_eq(rc, -EOPNOTSUPP, "io_uring pinned devdax on a kernel before 6.5?");
		cr_expect(strstr(daxalloc_errmsg(), "refuses to pin file-backed memory") &&
				  strstr(daxalloc_errmsg(), "need Linux 6.5 or later") &&
				  strstr(daxalloc_errmsg(), s.gd->name),
			  "not plain enough: %s", daxalloc_errmsg());
		fprintf(stderr, "pin: io_uring on %s: %s\n", s.gd->name, daxalloc_errmsg());
		cr_expect_null(p);
		cr_expect_eq(daxalloc_pool_foreach_pin(s.pool, count, &n), 0);
		cr_expect_eq(n, 0, "a refused pin leaves no record");
	} else {
		cr_expect_eq(rc, 0, "%s", daxalloc_errmsg());
		cr_expect_eq(daxalloc_unpin(&p), 0, "%s", daxalloc_errmsg());
	}
	io_uring_queue_exit(&ring);
	daxalloc_region_close(&r);
	close_pool(&s);
}

/*
 * On kernels that take device-dax fixed buffers (6.5 on): a file is read
 * into the pinned region with IORING_OP_READ_FIXED and lands there; the
 * pin is in the ledger while registered; 1 GiB on 1G pages too.
 */
static void uring_read_fixed(const char *label, uint64_t size)
{
	struct pinned pd;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	char path[] = "/tmp/daxalloc-uring.XXXXXX";
	const uint64_t io = 4 * M, at = size - io; /* the last bytes of the last buffer */
	unsigned char *buf, *dst;
	int fd;

	if (kernel_before(6, 5))
		cr_skip_test(
			"io_uring takes device-dax fixed buffers from Linux 6.5 (refusal tested by io_uring_answer_matches_the_kernel)");
	pinned_open(&pd, label, size, "uring", DAXALLOC_PIN_URING, NULL);
	cr_expect_eq(daxalloc_pin_get_uring_index(pd.p), 0);

	buf = malloc(io);
	cr_assert_not_null(buf);
	for (uint64_t i = 0; i < io; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(pwrite(fd, buf, io, 0), (ssize_t)io);
	dst = (unsigned char *)daxalloc_region_get_address(pd.r) + at;
	memset(dst, 0, io);
	sqe = io_uring_get_sqe(&pd.c.ring);
	/* buffer index: the last 1 GiB fixed buffer holds @at */
	io_uring_prep_read_fixed(sqe, fd, dst, io, 0, (int)(at / DAXALLOC_PIN_URING_BUF_MAX));
	cr_assert_eq(io_uring_submit(&pd.c.ring), 1);
	cr_assert_eq(io_uring_wait_cqe(&pd.c.ring, &cqe), 0);
	cr_expect_eq(cqe->res, (int)io, "READ_FIXED into devdax: %s",
		     cqe->res < 0 ? strerror(-cqe->res) : "short read");
	io_uring_cqe_seen(&pd.c.ring, cqe);
	cr_expect_eq(memcmp(dst, buf, io), 0, "the file's bytes did not land in the device");

	close(fd);
	free(buf);
	pinned_close(&pd, label, size);
}

ON_2M_AND_1G(io_uring_read_fixed_into_devdax, uring_read_fixed, 64 * M)

/* ---- iommufd --------------------------------------------------------------- */

static uint64_t status_bytes(const char *field);

Test(pin, iommufd_answer_matches_the_kernel, .timeout = 120)
{
	struct setup s;
	struct daxalloc_region *r;
	struct daxalloc_pin *p = NULL;
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_IOMMUFD };
	int rc;

	open_pool(&s, "static2m");
	r = alloc(&s, 2 * M, NULL);
	t.iommufd.fd = -1;
	rc = daxalloc_pin(r, 0, 2 * M, &t, &p);
	if (access("/dev/iommu", F_OK) == 0) {
		/* With iommufd: no fd is a bad fd (the pins are tested below). */
		cr_expect_eq(rc, -EBADF, "%s", daxalloc_errmsg());
	} else {
		cr_expect_eq(rc, -EOPNOTSUPP);
		cr_expect(strstr(daxalloc_errmsg(), "has no iommufd") &&
				  strstr(daxalloc_errmsg(), "Linux 6.2"),
			  "%s", daxalloc_errmsg());
	}
	cr_expect_null(p);
	fprintf(stderr, "pin: iommufd on %s: %s\n", s.gd->name, daxalloc_errmsg());
	daxalloc_region_close(&r);
	close_pool(&s);
}

/* The iommufd consumer with the edu device attached, and the device's BAR0. */
struct iommufd_dev {
	struct consumer_iommufd c;
	volatile uint32_t *bar0;
	size_t bar0_len;
};

static void iommufd_open(struct iommufd_dev *u)
{
	const char *cdev = getenv("DAXALLOC_GUEST_VFIO_CDEV");
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	struct vfio_region_info bar = { .argsz = sizeof(bar), .index = VFIO_PCI_BAR0_REGION_INDEX };
	uint16_t cmd;
	void *m;

	guest_devs(&(int){ 0 });
	if (access("/dev/iommu", F_OK) != 0)
		cr_skip_test(
			"this kernel has no iommufd (/dev/iommu; no Debian kernel enables CONFIG_IOMMUFD: the guest's 6.12-iommufd kernel does)");
	if (!cdev)
		cr_assert_fail(
			"the kernel has iommufd but the guest found no VFIO device cdev ($DAXALLOC_GUEST_VFIO_CDEV unset)");
	cr_assert_eq(consumer_iommufd_open(&u->c, cdev), 0, "%s", consumer_errmsg());
	/* BAR0 of the edu device, bus mastering on: its DMA engine checks the mapping. */
	cr_assert_eq(ioctl(u->c.dev, VFIO_DEVICE_GET_REGION_INFO, &cfg), 0, "%s", strerror(errno));
	cr_assert_eq(pread(u->c.dev, &cmd, sizeof(cmd), (off_t)cfg.offset + PCI_COMMAND),
		     (ssize_t)sizeof(cmd));
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	cr_assert_eq(pwrite(u->c.dev, &cmd, sizeof(cmd), (off_t)cfg.offset + PCI_COMMAND),
		     (ssize_t)sizeof(cmd));
	cr_assert_eq(ioctl(u->c.dev, VFIO_DEVICE_GET_REGION_INFO, &bar), 0, "%s", strerror(errno));
	m = mmap(NULL, (size_t)bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, u->c.dev,
		 (off_t)bar.offset);
	cr_assert_neq(m, MAP_FAILED, "mmap BAR0: %s", strerror(errno));
	u->bar0 = m;
	u->bar0_len = (size_t)bar.size;
	cr_assert_eq(u->bar0[0] & 0xff, 0xed, "not an edu device: id 0x%08x", u->bar0[0]);
}

static void iommufd_close(struct iommufd_dev *u)
{
	munmap((void *)u->bar0, u->bar0_len);
	cr_expect_eq(consumer_iommufd_close(&u->c), 0, "%s", consumer_errmsg());
}

/* edu's DMA engine: 0x80 source, 0x88 destination, 0x90 count, 0x98 command. */
#define EDU_BUF 0x40000u
#define EDU_XFER 2048u /* less than its 4K buffer: QEMU 7.2 stops at its end */

static bool edu_dma(struct iommufd_dev *u, uint32_t src, uint32_t dst, bool to_ram)
{
	u->bar0[0x80 / 4] = src;
	u->bar0[0x88 / 4] = dst;
	u->bar0[0x90 / 4] = EDU_XFER;
	u->bar0[0x98 / 4] = 1u | (to_ram ? 2u : 0u);
	for (int i = 0; i < 10000 && (u->bar0[0x98 / 4] & 1u); i++)
		usleep(1000);
	return !(u->bar0[0x98 / 4] & 1u);
}

static int npins(struct setup *s)
{
	int n = 0;

	cr_expect_eq(daxalloc_pool_foreach_pin(s->pool, count, &n), 0);
	return n;
}

/*
 * The library pins a devdax region into an IOAS the edu device is attached
 * to: the kernel pins the pages (VmPin grows by the length), the device
 * copies through the IOMMU, other processes see the pin and cannot free the
 * region; the refusals (IOVA taken, no such IOAS, not an iommufd, an IOVA
 * off the IOAS's alignment) leave no record; the unpin gives the IOVA range
 * and the charge back; the kernel-chosen IOVA; an unpin after the caller
 * closed its iommufd (the pin holds its own).  Pin and unpin timed against
 * the raw calls.
 */
static void iommufd_pin_case(const char *label, uint64_t size, uint64_t iova)
{
	struct setup s;
	struct iommufd_dev u;
	struct daxalloc_region *r;
	struct daxalloc_pin *p = NULL, *q = NULL;
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_IOMMUFD },
				   bad;
	struct json_object *j;
	struct timespec a, b;
	const uint64_t back = 0x10000; /* where the copy comes back, in the region */
	double pin_ms, unpin_ms, raw_map_ms, raw_unmap_ms;
	uint64_t pin0;
	unsigned char *base;
	int nullfd;

	open_pool(&s, label);
	r = alloc(&s, size, "iommufd-dma");
	base = daxalloc_region_get_address(r);
	iommufd_open(&u);
	t.iommufd.fd = u.c.fd;
	t.iommufd.ioas_id = u.c.ioas;
	t.iommufd.iova = iova;

	pin0 = status_bytes("VmPin");
	cr_assert_eq(daxalloc_pin(r, 0, size, &t, &p), 0, "%s", daxalloc_errmsg());
	pin_ms = daxalloc_pin_get_pin_time_ns(p) / 1e6;
	cr_expect_eq(daxalloc_pin_get_iova(p), iova);
	cr_expect_eq(daxalloc_pin_get_kind(p), DAXALLOC_PIN_IOMMUFD);
	cr_expect_eq(status_bytes("VmPin") - pin0, size,
		     "VmPin grew by %llu bytes for a %llu-byte pin",
		     (unsigned long long)(status_bytes("VmPin") - pin0), (unsigned long long)size);

	/* The device reaches the region through the IOMMU: there and back. */
	for (unsigned int i = 0; i < EDU_XFER; i++)
		base[i] = (unsigned char)(i * 13 + 5);
	memset(base + back, 0, EDU_XFER);
	cr_expect(edu_dma(&u, (uint32_t)iova, EDU_BUF, false) &&
			  edu_dma(&u, EDU_BUF, (uint32_t)(iova + back), true),
		  "the edu DMA did not finish in 10 s");
	cr_expect_eq(memcmp(base, base + back, EDU_XFER), 0,
		     "the bytes the device copied through IOVA 0x%llx differ",
		     (unsigned long long)iova);

	/* Another process sees the pin; the free is refused. */
	j = pins_json(s.gd->name);
	cr_expect_eq(json_object_array_length(j), 1, "%s", json_object_to_json_string(j));
	if (json_object_array_length(j) == 1) {
		struct json_object *e = json_object_array_get_idx(j, 0);

		cr_expect_str_eq(jstr(e, "kind"), "iommufd");
		cr_expect_str_eq(jstr(e, "region"), "iommufd-dma");
		cr_expect_eq(jint(e, "length"), (int64_t)size);
		cr_expect(strstr(jstr(e, "consumer"), "iommufd fd") &&
				  strstr(jstr(e, "consumer"), "ioas"),
			  "%s", jstr(e, "consumer"));
	}
	json_object_put(j);
	cr_expect_eq(daxalloc_region_free(&r), -EBUSY);
	cr_assert_not_null(r);

	/* Refusals: each says why, none leaves a record. */
	cr_expect_eq(daxalloc_pin(r, 0, s.gd->align, &t, &q), -EEXIST, "%s", daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "already used"), "%s", daxalloc_errmsg());
	bad = t;
	bad.iommufd.ioas_id = u.c.ioas + 1000;
	cr_expect_eq(daxalloc_pin(r, 0, s.gd->align, &bad, &q), -ENOENT, "%s", daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "has no IOAS"), "%s", daxalloc_errmsg());
	bad = t;
	bad.iommufd.iova = iova + size + 1;
	cr_expect_eq(daxalloc_pin(r, 0, s.gd->align, &bad, &q), -EINVAL, "%s", daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "alignment"), "%s", daxalloc_errmsg());
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	bad = t;
	bad.iommufd.fd = nullfd;
	cr_expect_eq(daxalloc_pin(r, 0, s.gd->align, &bad, &q), -ENOTTY, "%s", daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "is not an iommufd"), "%s", daxalloc_errmsg());
	close(nullfd);
	cr_expect_null(q);
	cr_expect_eq(npins(&s), 1, "a refused pin leaves no record");

	/* The unpin gives back the charge and the IOVA range. */
	unpin_ms = unpin_timed(&p);
	cr_expect_eq(status_bytes("VmPin"), pin0, "VmPin after the unpin: %llu, before: %llu",
		     (unsigned long long)status_bytes("VmPin"), (unsigned long long)pin0);
	cr_expect_eq(npins(&s), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	cr_expect_eq(consumer_iommufd_map(&u.c, base, size, iova), 0,
		     "the IOVA range is still taken: %s", consumer_errmsg());
	clock_gettime(CLOCK_MONOTONIC, &b);
	raw_map_ms = ms(&a, &b);
	clock_gettime(CLOCK_MONOTONIC, &a);
	cr_expect_eq(consumer_iommufd_unmap(&u.c, size, iova), 0, "%s", consumer_errmsg());
	clock_gettime(CLOCK_MONOTONIC, &b);
	raw_unmap_ms = ms(&a, &b);
	fprintf(stderr,
		"pin: iommufd %lluM on %s (%s): library pin %.3f ms, unpin %.3f ms; IOMMU_IOAS_MAP %.3f ms, UNMAP %.3f ms\n",
		(unsigned long long)(size >> 20), s.gd->name, label, pin_ms, unpin_ms, raw_map_ms,
		raw_unmap_ms);

	/* The kernel picks the IOVA; the pin outlives the caller's fd. */
	t.flags = DAXALLOC_PIN_IOVA_AUTO;
	cr_assert_eq(daxalloc_pin(r, 0, size, &t, &p), 0, "%s", daxalloc_errmsg());
	cr_expect_neq(daxalloc_pin_get_iova(p), UINT64_MAX);
	cr_expect_eq(daxalloc_pin_get_iova(p) % 4096, 0, "IOVA 0x%llx",
		     (unsigned long long)daxalloc_pin_get_iova(p));
	close(u.c.fd);
	u.c.fd = -1;
	cr_expect_eq(daxalloc_unpin(&p), 0, "unpin after the caller closed its iommufd: %s",
		     daxalloc_errmsg());
	cr_expect_eq(daxalloc_region_free(&r), 0, "%s", daxalloc_errmsg());
	iommufd_close(&u);
	close_pool(&s);
}

Test(pin, iommufd_pin_devdax_2m, .timeout = 300)
{
	iommufd_pin_case("static2m", 64 * M, 0x1000000); /* 16M: edu drives 28 bits */
}

Test(pin, iommufd_pin_devdax_1g, .timeout = 300)
{
	iommufd_pin_case("static1g", G, 0); /* 1G-aligned IOVA, below edu's 256M */
}

/* ---- what each pin is charged, and RLIMIT_MEMLOCK ------------------------ */

#define MEMLOCK_LIMIT (16 * M)
#define MEMLOCK_OVER (64 * M)
#define MEMLOCK_UNDER (8 * M)

static uint64_t status_bytes(const char *field)
{
	char line[256];
	unsigned long long kb = 0;
	size_t n = strlen(field);
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			sscanf(line + n + 1, " %llu", &kb);
	if (f)
		fclose(f);
	return (uint64_t)kb << 10;
}

/*
 * The consumers the child pins through, raw and through the library.
 * iommufd goes in a child of its own: the edu device is reached through
 * its VFIO group or through its cdev, never both at once.
 */
enum { C_VFIO, C_RDMA, C_URING, C_IOMMUFD, C_N };
static const char *const cname[C_N] = { "vfio", "rdma", "io_uring", "iommufd" };
static const enum daxalloc_pin_kind ckind[C_N] = {
	DAXALLOC_PIN_VFIO,
	DAXALLOC_PIN_RDMA,
	DAXALLOC_PIN_URING,
	DAXALLOC_PIN_IOMMUFD,
};

/* Consumer @k as the guest offers it (its environment variable); false when absent. */
static bool memlock_consumer(struct consumer *c, int k)
{
	static const char *const env[C_N] = {
		"DAXALLOC_GUEST_VFIO_GROUP",
		"DAXALLOC_GUEST_RDMA_DEV",
		NULL,
		"DAXALLOC_GUEST_VFIO_CDEV",
	};
	const char *where = env[k] ? getenv(env[k]) : NULL;

	return (!env[k] || where) && consumer_open(c, ckind[k], where) == 0;
}

/* One consumer's answers in the child. */
struct charge {
	int raw_over, lib_over; /* 0 or -errno */
	long long lck, pin;     /* counters' growth for MEMLOCK_UNDER */
	char msg[400];
};

/*
 * In a child: as root, open the memory and the consumers (the devices are
 * root's); then RLIMIT_MEMLOCK of 16M, drop to nobody (no CAP_IPC_LOCK),
 * and for each consumer: the kernel's answer to 64M, what 8M is charged,
 * and the library's answer to 64M.  Lines on @fd.
 */
static void memlock_child(const char *devname, int fd, bool iommufd)
{
	struct daxalloc_ctx *cx = NULL;
	struct daxalloc_dev *d = NULL;
	struct daxalloc_pool *pl = NULL;
	struct daxalloc_region *r = NULL;
	struct consumer c[C_N];
	bool have[C_N] = { false };
	struct rlimit rl = { MEMLOCK_LIMIT, MEMLOCK_LIMIT };
	char dir[] = "/tmp/daxalloc-memlock.XXXXXX";
	FILE *out = fdopen(fd, "w");
	void *addr;

	if (!out || !mkdtemp(dir) || chmod(dir, 01777) < 0)
		_exit(10);
	/* a ledger nobody can write to, away from the other tests' */
	setenv("DAXALLOC_RUNDIR", dir, 1);
	if (daxalloc_ctx_new(&cx) || daxalloc_dev_open(cx, devname, &d) ||
	    daxalloc_pool_create(d, DAXALLOC_POOL_FORCE, &pl) ||
	    daxalloc_alloc(pl, MEMLOCK_OVER, NULL, DAXALLOC_ALLOC_POPULATE, &r)) {
		fprintf(out, "error %s\n", daxalloc_errmsg());
		_exit(11);
	}
	addr = daxalloc_region_get_address(r);
	/* as root: the devices are root's */
	for (int k = 0; k < C_N; k++)
		if (k != C_URING && iommufd == (k == C_IOMMUFD))
			have[k] = memlock_consumer(&c[k], k);
	if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0 || setgroups(0, NULL) < 0 ||
	    setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
		_exit(12);
	/* The ring charges its creator: made by nobody. */
	have[C_URING] = memlock_consumer(&c[C_URING], C_URING);
	if (!have[C_URING])
		_exit(13);
	for (int k = 0; k < C_N; k++) {
		struct daxalloc_pin_target t;
		struct daxalloc_pin *p = NULL;
		struct charge ch = { 0 };
		uint64_t lck, pin;

		if (iommufd != (k == C_IOMMUFD))
			continue;
		if (!have[k]) {
			fprintf(out, "%s none\n", cname[k]);
			continue;
		}
		consumer_target(&c[k], &t);
		ch.raw_over = consumer_pin(&c[k], addr, MEMLOCK_OVER);
		if (ch.raw_over == 0)
			consumer_unpin(&c[k], MEMLOCK_OVER);
		lck = status_bytes("VmLck");
		pin = status_bytes("VmPin");
		ch.lck = ch.pin = -1;
		if (k == C_VFIO) {
			/* the raw call: the library's pre-check must not hide the charge */
			if (consumer_pin(&c[k], addr, MEMLOCK_UNDER) == 0) {
				ch.lck = (long long)(status_bytes("VmLck") - lck);
				ch.pin = (long long)(status_bytes("VmPin") - pin);
				consumer_unpin(&c[k], MEMLOCK_UNDER);
			}
		} else if (daxalloc_pin(r, 0, MEMLOCK_UNDER, &t, &p) == 0) {
			/* RDMA, io_uring and iommufd hold the pin only while registered. */
			ch.lck = (long long)(status_bytes("VmLck") - lck);
			ch.pin = (long long)(status_bytes("VmPin") - pin);
			daxalloc_unpin(&p);
		}
		ch.lib_over = daxalloc_pin(r, 0, MEMLOCK_OVER, &t, &p);
		snprintf(ch.msg, sizeof(ch.msg), "%s", ch.lib_over ? daxalloc_errmsg() : "");
		for (char *s = ch.msg; *s; s++)
			if (*s == '\n')
				*s = ' ';
		if (p)
			daxalloc_unpin(&p);
		fprintf(out, "%s %d %lld %lld %d %s\n", cname[k], ch.raw_over, ch.lck, ch.pin,
			ch.lib_over, ch.msg);
	}
	fclose(out);
	_exit(0);
}

static void memlock_matrix(const char *label)
{
	const char *devname = label;
	char line[600], what[64];
	struct utsname u;
	FILE *in;
	int fds[2], st, seen = 0;
	pid_t child;

	if (strncmp(label, "hugetlb:", 8) != 0)
		devname = guest_dev(label)->name;
	snprintf(what, sizeof(what), "%s%s%s", label, devname == label ? "" : " ",
		 devname == label ? "" : devname);
	cr_assert_eq(uname(&u), 0);
	for (int pass = 0; pass < 2; pass++) {
		cr_assert_eq(pipe(fds), 0);
		child = fork();
		cr_assert_geq(child, 0);
		if (child == 0) {
			close(fds[0]);
			memlock_child(devname, fds[1], pass == 1);
		}
		close(fds[1]);
		in = fdopen(fds[0], "r");
		while (fgets(line, sizeof(line), in)) {
			char name[16], msg[400] = "";
			int raw, lib;
			long long lck, pin;

			line[strcspn(line, "\n")] = '\0';
			cr_expect(strncmp(line, "error ", 6) != 0, "%s: %s", what, line);
			if (strcmp(line, "iommufd none") == 0 && access("/dev/iommu", F_OK) != 0) {
				fprintf(stderr,
					"memlock: kernel %s, %s, iommufd: this kernel has none\n",
					u.release, what);
				seen++;
				continue;
			}
			if (sscanf(line, "%15s %d %lld %lld %d %399[^\n]", name, &raw, &lck, &pin,
				   &lib, msg) < 5) {
				fprintf(stderr, "memlock: %s: %s\n", what, line);
				continue;
			}
			seen++;
			fprintf(stderr,
				"memlock: kernel %s, %s, %s: %lluM pinned charges VmLck %+lldK VmPin %+lldK; "
				"%lluM over a %lluM limit (non-root): kernel %s, library %s\n",
				u.release, what, name, (unsigned long long)(MEMLOCK_UNDER >> 20),
				lck < 0 ? 0 : lck >> 10, pin < 0 ? 0 : pin >> 10,
				(unsigned long long)(MEMLOCK_OVER >> 20),
				(unsigned long long)(MEMLOCK_LIMIT >> 20),
				raw ? strerror(-raw) : "accepts", lib ? strerror(-lib) : "accepts");
			/* Never refuse what the kernel takes; refuse what it refuses, the same way. */
			cr_expect_eq(lib, raw, "%s, %s: the kernel answers %s, the library %s (%s)",
				     what, name, raw ? strerror(-raw) : "yes",
				     lib ? strerror(-lib) : "yes", msg);
			if (lib == -ENOMEM)
				cr_expect(strstr(msg, "RLIMIT_MEMLOCK") && strstr(msg, "CAP_IPC_LOCK"),
					  "%s, %s: a refusal over the limit must say so: %s", what,
					  name, msg);
		}
		fclose(in);
		cr_assert_eq(waitpid(child, &st, 0), child);
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: the child ended with 0x%x",
			  what, st);
	}
	cr_expect_eq(seen, C_N, "%s: %d of %d consumers reported", what, seen, C_N);
}

Test(pin, memlock_devdax_library_agrees_with_the_kernel, .timeout = 300)
{
	memlock_matrix("static2m");
}

Test(pin, memlock_hugetlb_library_agrees_with_the_kernel, .timeout = 300)
{
	memlock_matrix("hugetlb:2M:128M");
}

/* ---- the pin path, measured ------------------------------------------------ */

/*
 * The probe pins the same GiB through the same consumer at devdax 4K and
 * 2M and on hugetlb 2M pages.  Device-dax GUP takes one reference per
 * compound page on 7.x and one per 4K page on 6.1 and 6.12 (measured, not
 * read from a version table): the probe must find that on each kernel.
 */
Test(pin, pin_path_probe_finds_the_kernels_path, .timeout = 900)
{
	const struct guest_dev *gd = guest_dev("recfgdyn");
	static struct ctl_run r;
	struct json_object *o, *pin = NULL, *v = NULL;
	const char *verdict, *how;
	struct utsname u;
	int major = 0;

	cr_assert_eq(uname(&u), 0);
	cr_assert_eq(sscanf(u.release, "%d", &major), 1);
	/* the measurement is daxalloc-ctl's (tools/vmemmap-measure.c) */
	ctl_runf(&r, "vmemmap %s --measure --cycles 1 --json", gd->name);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	o = json_tokener_parse(r.out);
	cr_assert_not_null(o, "not JSON: %s", r.out);
	cr_assert(json_object_object_get_ex(o, "targets", &v));
	cr_assert(json_object_object_get_ex(json_object_array_get_idx(v, 0), "pin_path", &pin));
	verdict = jstr(pin, "verdict");
	how = jstr(pin, "how");
	fprintf(stderr,
		"pin path: kernel %s, %s, 1 GiB: devdax 4K %.1f ms, 2M %.1f ms, 1G %.1f ms, hugetlb 2M %.1f ms: %s\n",
		u.release, jstr(pin, "consumer"), jint(pin, "ns_4k") / 1e6, jint(pin, "ns_2m") / 1e6,
		jint(pin, "ns_1g") / 1e6, jint(pin, "ns_hugetlb_2m") / 1e6, verdict);
	cr_expect_gt(jint(pin, "ns_4k"), 0, "%s", how);
	cr_expect_gt(jint(pin, "ns_2m"), 0, "%s", how);
	cr_expect_gt(jint(pin, "ns_hugetlb_2m"), 0, "%s", how);
	cr_expect(json_object_object_get_ex(pin, "conclusive", &v) && json_object_get_boolean(v),
		  "%s", how);
	cr_expect_str_eq(verdict,
			 daxalloc_vmemmap_pin_path_name(major >= 7 ? DAXALLOC_VMEMMAP_PIN_COMPOUND :
								     DAXALLOC_VMEMMAP_PIN_BASE_PAGE),
			 "kernel %s: %s", u.release, how);
	json_object_put(o);
}
