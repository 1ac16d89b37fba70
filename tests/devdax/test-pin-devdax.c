// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pins on real device-dax in the guest: a VFIO container (the edu device's
 * IOMMU domain) pins a region, another process sees the pin in the ledger
 * and cannot free the region, a dead pinner's record disappears; RDMA
 * registration on soft-RoCE; io_uring and iommufd refusals said plainly on
 * kernels that cannot pin devdax for them.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/vfio.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_IBVERBS
#include <infiniband/verbs.h>
#endif

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

/* ---- VFIO ------------------------------------------------------------------ */

struct vfio {
	int container, group;
};

/* Container + group + type1 IOMMU; 0 or an errno (usable in a child). */
static int vfio_attach(struct vfio *v, const char *grp)
{
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		return errno;
	v->group = open(grp, O_RDWR | O_CLOEXEC);
	if (v->group < 0)
		return errno;
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) < 0 ||
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		return errno;
	return 0;
}

static const char *vfio_group(void)
{
	const char *grp = getenv("DAXALLOC_GUEST_VFIO_GROUP");

	if (!grp)
		cr_assert_fail("the guest bound no device to vfio-pci ($DAXALLOC_GUEST_VFIO_GROUP unset)");
	return grp;
}

static void vfio_open(struct vfio *v)
{
	const char *grp = vfio_group();
	int e = vfio_attach(v, grp);

	cr_assert_eq(e, 0, "VFIO container for %s: %s", grp, strerror(e));
}

static void vfio_close(struct vfio *v)
{
	ioctl(v->group, VFIO_GROUP_UNSET_CONTAINER);
	close(v->group);
	close(v->container);
}

static struct daxalloc_pin_target vfio_target(struct vfio *v, uint64_t iova)
{
	struct daxalloc_pin_target t = { .kind = DAXALLOC_PIN_VFIO };

	t.vfio.container_fd = v->container;
	t.vfio.iova = iova;
	return t;
}

Test(pin, vfio_pin_seen_by_another_process_and_free_refused, .timeout = 300)
{
	struct setup s;
	struct vfio v;
	struct daxalloc_region *r;
	struct daxalloc_pin *p = NULL;
	struct daxalloc_pin_target t;
	struct json_object *j, *e;
	static struct ctl_run run;
	char args[128], pid[32];

	open_pool(&s, "static2m");
	r = alloc(&s, 8 * M, "dma-buf");
	vfio_open(&v);
	t = vfio_target(&v, 1ull << 32);
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
	vfio_close(&v);
	close_pool(&s);
}

Test(pin, vfio_pin_1g_timing, .timeout = 300)
{
	struct setup s;
	struct vfio v;
	struct daxalloc_region *r;
	struct daxalloc_pin *p = NULL;
	struct daxalloc_pin_target t;
	struct timespec a, b;

	open_pool(&s, "static1g");
	r = alloc(&s, G, NULL);
	vfio_open(&v);
	t = vfio_target(&v, 1ull << 32);
	for (int i = 0; i < 3; i++) {
		double pin_ms;

		cr_assert_eq(daxalloc_pin(r, 0, G, &t, &p), 0, "%s", daxalloc_errmsg());
		pin_ms = daxalloc_pin_get_pin_time_ns(p) / 1e6;
		clock_gettime(CLOCK_MONOTONIC, &a);
		cr_assert_eq(daxalloc_unpin(&p), 0, "%s", daxalloc_errmsg());
		clock_gettime(CLOCK_MONOTONIC, &b);
		fprintf(stderr, "pin: vfio 1G on %s (1G pages): pin %.3f ms, unpin %.3f ms\n",
			s.gd->name, pin_ms, ms(&a, &b));
	}
	vfio_close(&v);
	daxalloc_region_close(&r);
	close_pool(&s);
}

/* A pinner killed by SIGKILL: the kernel drops its pins, the ledger follows. */
/*
 * The pinner forks a child (which inherits the container and the mapping)
 * and exits: its ledger record goes with it, but the container, and the
 * DMA mapping, live on in the child.  The free must still be refused.
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
	grp = vfio_group();
	cr_assert_eq(pipe(up), 0);
	cr_assert_eq(pipe(go), 0);
	pinner = fork();
	cr_assert_geq(pinner, 0);
	if (pinner == 0) {
		struct daxalloc_ctx *cx = NULL;
		struct daxalloc_dev *d = NULL;
		struct daxalloc_pool *pl = NULL;
		struct daxalloc_region *r = NULL;
		struct daxalloc_pin *p = NULL;
		struct daxalloc_pin_target t;
		struct vfio v;
		char c;
		pid_t h;

		close(go[1]);
		if (daxalloc_ctx_new(&cx) || daxalloc_dev_open(cx, s.gd->name, &d) ||
		    daxalloc_pool_open(d, 0, &pl) || daxalloc_alloc(pl, 2 * M, "inherited", 0, &r))
			_exit(1);
		if (vfio_attach(&v, grp))
			_exit(2);
		t = vfio_target(&v, 1ull << 32);
		if (daxalloc_pin(r, 0, 2 * M, &t, &p))
			_exit(3);
		h = fork();
		if (h == 0) {
			_exit(read(go[0], &c, 1) < 0);	/* holds the container until told */
		}
		if (write(up[1], &h, sizeof(h)) != (ssize_t)sizeof(h))
			_exit(4);
		_exit(0);	/* dies pinned */
	}
	close(up[1]);
	close(go[0]);
	cr_assert_eq(read(up[0], &heir, sizeof(heir)), (ssize_t)sizeof(heir), "the pinner failed");
	cr_assert_eq(waitpid(pinner, &st, 0), pinner);
	snprintf(want, sizeof(want), "mapped by pid %d", heir);
	ctl_runl(&run, "free", s.gd->name, "inherited", NULL);
	cr_expect_eq(run.status, 1, "freed while the pinner's heir holds the DMA mapping: %s", run.out);
	cr_expect(strstr(run.err, want), "%s", run.err);
	close(go[1]);
	/* The heir is not our child: wait for it to go. */
	for (int i = 0; i < 100 && kill(heir, 0) == 0; i++)
		usleep(50000);
	ctl_runl(&run, "free", s.gd->name, "inherited", NULL);
	cr_expect_eq(run.status, 0, "%s", run.err);
	close_pool(&s);
}

Test(pin, dead_pinner_leaves_no_record, .timeout = 300)
{
	struct setup s;
	struct json_object *j;
	const char *grp;
	int up[2], st;
	char c;
	pid_t child;

	open_pool(&s, "static2m");
	grp = vfio_group();
	cr_assert_eq(pipe(up), 0);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct daxalloc_ctx *cx = NULL;
		struct daxalloc_dev *d = NULL;
		struct daxalloc_pool *pl = NULL;
		struct daxalloc_region *r = NULL;
		struct daxalloc_pin *p = NULL;
		struct daxalloc_pin_target t;
		struct vfio v;

		if (daxalloc_ctx_new(&cx) || daxalloc_dev_open(cx, s.gd->name, &d) ||
		    daxalloc_pool_open(d, 0, &pl) || daxalloc_alloc(pl, 2 * M, "doomed", 0, &r))
			_exit(1);
		if (vfio_attach(&v, grp))
			_exit(2);
		t = vfio_target(&v, 1ull << 32);
		if (daxalloc_pin(r, 0, 2 * M, &t, &p))
			_exit(3);
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
static struct ibv_context *open_rxe(void)
{
	const char *name = getenv("DAXALLOC_GUEST_RDMA_DEV");
	struct ibv_device **list;
	struct ibv_context *c = NULL;

	if (!name)
		cr_assert_fail("the guest brought up no RDMA device ($DAXALLOC_GUEST_RDMA_DEV unset)");
	list = ibv_get_device_list(NULL);
	for (int i = 0; list && list[i] && !c; i++)
		if (strcmp(ibv_get_device_name(list[i]), name) == 0)
			c = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	cr_assert_not_null(c, "cannot open RDMA device %s", name);
	return c;
}

static void rdma_reg(const char *label, uint64_t size)
{
	struct setup s;
	struct ibv_context *ib;
	struct ibv_pd *pd;
	struct daxalloc_region *r;
	struct daxalloc_pin *p = NULL;
	struct daxalloc_pin_target t = { .kind = DAXALLOC_PIN_RDMA };
	struct ibv_mr *mr;
	struct json_object *j;
	struct timespec a, b;
	double pin_ms;

	open_pool(&s, label);
	r = alloc(&s, size, "rdma");
	ib = open_rxe();
	pd = ibv_alloc_pd(ib);
	cr_assert_not_null(pd);
	t.rdma.pd = pd;
	cr_assert_eq(daxalloc_pin(r, 0, size, &t, &p), 0, "%s", daxalloc_errmsg());
	mr = daxalloc_pin_get_mr(p);
	cr_assert_not_null(mr);
	cr_expect_eq(mr->addr, daxalloc_region_get_address(r));
	cr_expect_eq(mr->length, size);
	cr_expect_eq(daxalloc_pin_get_lkey(p), mr->lkey);
	cr_expect_eq(daxalloc_pin_get_rkey(p), mr->rkey);
	cr_expect_neq(mr->rkey, 0);
	j = pins_json(s.gd->name);
	cr_expect_eq(json_object_array_length(j), 1);
	cr_expect_str_eq(jstr(json_object_array_get_idx(j, 0), "kind"), "rdma");
	cr_expect(strstr(jstr(json_object_array_get_idx(j, 0), "consumer"), "rkey 0x"), "%s",
		  json_object_to_json_string(j));
	json_object_put(j);
	pin_ms = daxalloc_pin_get_pin_time_ns(p) / 1e6;
	clock_gettime(CLOCK_MONOTONIC, &a);
	cr_expect_eq(daxalloc_unpin(&p), 0, "%s", daxalloc_errmsg());
	clock_gettime(CLOCK_MONOTONIC, &b);
	fprintf(stderr, "pin: rdma %lluM on %s (%s): ibv_reg_mr %.3f ms, dereg %.3f ms\n",
		(unsigned long long)(size >> 20), s.gd->name, label, pin_ms, ms(&a, &b));
	ibv_dealloc_pd(pd);
	ibv_close_device(ib);
	daxalloc_region_close(&r);
	close_pool(&s);
}

Test(pin, rdma_reg_mr_on_devdax_2m, .timeout = 300)
{
	rdma_reg("static2m", 64 * M);
}

Test(pin, rdma_reg_mr_on_devdax_1g, .timeout = 300)
{
	rdma_reg("static1g", G);
}
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
	struct daxalloc_pin_target t = { .kind = DAXALLOC_PIN_URING };
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

Test(pin, iommufd_answer_matches_the_kernel, .timeout = 120)
{
	struct setup s;
	struct daxalloc_region *r;
	struct daxalloc_pin *p = NULL;
	struct daxalloc_pin_target t = { .kind = DAXALLOC_PIN_IOMMUFD };
	int rc;

	open_pool(&s, "static2m");
	r = alloc(&s, 2 * M, NULL);
	if (access("/dev/iommu", F_OK) == 0)
		cr_skip_test("this kernel has iommufd; the refusal path cannot be seen here");
	t.iommufd.fd = -1;
	rc = daxalloc_pin(r, 0, 2 * M, &t, &p);
	cr_expect_eq(rc, -EOPNOTSUPP);
	cr_expect(strstr(daxalloc_errmsg(), "has no iommufd") &&
		  strstr(daxalloc_errmsg(), "Linux 6.2"), "%s", daxalloc_errmsg());
	fprintf(stderr, "pin: iommufd on %s: %s\n", s.gd->name, daxalloc_errmsg());
	daxalloc_region_close(&r);
	close_pool(&s);
}
