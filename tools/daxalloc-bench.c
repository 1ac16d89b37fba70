// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * daxalloc-bench: libdaxalloc against what its users would do instead,
 * each pair measured in the same process on the same memory.
 *
 *   pin      daxalloc_pin/unpin vs the consumer's own call (io_uring buffer
 *            registration, VFIO_IOMMU_MAP_DMA, ibv_reg_mr)
 *   alloc    alloc+free pairs per second vs mmap+munmap of the device by
 *            hand, libpmem2 (pmem2_map_new/delete) and memkind's hugetlb kind
 *   fault    first touch of every page, and populate, vs mmap of the device
 *   restart  reopening a named region and reading it vs reading the same
 *            bytes back from a file with O_DIRECT
 *
 * Every value is the best of N runs; the library and its baseline run
 * alternately so that drift hits both.  --json prints one object whose
 * "results" rows carry both values, their ratio and N.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <libpmem2.h>
#include <liburing.h>
#include <limits.h>
#include <linux/vfio.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_MEMKIND
#include <memkind.h>
#endif
#ifdef HAVE_IBVERBS
#include <infiniband/verbs.h>
#endif

#include "daxalloc.h"
#include "iommufd-uapi.h"

#define GiB (UINT64_C(1) << 30)
#define MiB (UINT64_C(1) << 20)
#define PAGE_4K UINT64_C(4096)
#define MAX_DEVS 8

enum {
	M_PIN = 1 << 0,
	M_ALLOC = 1 << 1,
	M_FAULT = 1 << 2,
	M_RESTART = 1 << 3,
	M_ALL = (1 << 4) - 1,
};

struct result {
	char metric[32];
	char variant[96];
	char device[64];
	char baseline[64];
	double lib, base;	/* NAN: not measured */
	const char *unit;
	bool higher_better;
	int iterations;
	char note[256];
};

static struct {
	bool json, quick, format;
	int iters;		/* 0: each metric's default */
	int threads;
	uint64_t size;		/* pin, fault and restart size */
	uint64_t pin_max;	/* the large pin: at most this */
	const char *devs[MAX_DEVS];
	int ndevs;
	unsigned int only;
	const char *vfio_group, *rdma_dev, *tmpdir;
	const char *iommufd_cdev;	/* a VFIO device cdev to attach to the IOAS */
	struct daxalloc_ctx *ctx;
	struct result *res;
	size_t nres, capres;
	char machine[192], kernel[128];
	bool saw_4k;		/* a 4K device was measured: no anonymous stand-in */
	bool no_4k;		/* --no-4k: not even then */
	bool no_held;		/* --no-held: no pins on a pool holding many regions */
	bool hp2m_raised;	/* the 2M overcommit limit was raised for memkind */
	unsigned long long hp2m_overcommit;	/* its value before */
} B = { .threads = 4, .size = GiB, .pin_max = 16 * GiB, .only = M_ALL };

/* ---- small helpers ------------------------------------------------------ */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "daxalloc-bench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long faults_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Best of the finite values (lowest cost, highest rate); NAN when there
 * are none.  On a shared machine the best run is the one least disturbed
 * by others: the median would measure the neighbours.
 */
static double best_of(double *v, int n, bool higher_better)
{
	double tmp[n > 0 ? n : 1];
	int k = 0;

	for (int i = 0; i < n; i++)
		if (!isnan(v[i]))
			tmp[k++] = v[i];
	if (!k)
		return NAN;
	qsort(tmp, (size_t)k, sizeof(tmp[0]), cmp_double);
	return higher_better ? tmp[k - 1] : tmp[0];
}

#define best_low(v, n) best_of(v, n, false)
#define best_high(v, n) best_of(v, n, true)

static const char *szs(uint64_t v, char *buf, size_t len)
{
	if (daxalloc_size_format(v, buf, len) < 0)
		snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

static int iters(int dflt)
{
	if (B.iters > 0)
		return B.iters;
	return B.quick ? 2 : dflt;
}

static struct result *add_result(const char *metric, const char *variant, const char *device,
				 const char *baseline, double lib, double base, const char *unit,
				 bool higher_better, int n)
{
	struct result *r;

	if (B.nres == B.capres) {
		size_t cap = B.capres ? 2 * B.capres : 64;
		struct result *v = realloc(B.res, cap * sizeof(*v));

		if (!v) {
			say("out of memory");
			exit(1);
		}
		B.res = v;
		B.capres = cap;
	}
	r = &B.res[B.nres++];
	memset(r, 0, sizeof(*r));
	snprintf(r->metric, sizeof(r->metric), "%s", metric);
	snprintf(r->variant, sizeof(r->variant), "%s", variant);
	snprintf(r->device, sizeof(r->device), "%s", device ? device : "");
	snprintf(r->baseline, sizeof(r->baseline), "%s", baseline);
	r->lib = lib;
	r->base = base;
	r->unit = unit;
	r->higher_better = higher_better;
	r->iterations = n;
	return r;
}

static void note(struct result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct result *r, const char *fmt, ...)
{
	size_t len = strlen(r->note);
	va_list ap;

	if (len && len < sizeof(r->note) - 2) {
		r->note[len++] = ';';
		r->note[len++] = ' ';
		r->note[len] = '\0';
	}
	va_start(ap, fmt);
	vsnprintf(r->note + len, sizeof(r->note) - len, fmt, ap);
	va_end(ap);
}

static uint64_t meminfo_bytes(const char *field)
{
	char line[256];
	unsigned long long kb = 0;
	size_t n = strlen(field);
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			sscanf(line + n + 1, "%llu", &kb);
			break;
		}
	fclose(f);
	return (uint64_t)kb << 10;
}

static void describe_machine(void)
{
	char line[256], cpu[128] = "unknown CPU";
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "re");

	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && c) {
			snprintf(cpu, sizeof(cpu), "%s", c + 2);
			cpu[strcspn(cpu, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	snprintf(B.machine, sizeof(B.machine), "%s, %ld CPUs, %s, %" PRIu64 " GiB RAM", u.machine,
		 sysconf(_SC_NPROCESSORS_ONLN), cpu, (meminfo_bytes("MemTotal") + GiB / 2) / GiB);
	snprintf(B.kernel, sizeof(B.kernel), "Linux %s", u.release);
}

/* ---- devices -------------------------------------------------------------- */

struct bdev {
	char name[96];
	struct daxalloc_dev *dev;
	struct daxalloc_pool *pool;
	uint64_t align;
	bool standin;
	int rawfd;		/* the same memory, opened by hand */
};

static uint64_t roundup(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* What the pool keeps for itself: its first unit, at least 2M. */
static uint64_t meta_size(uint64_t align)
{
	return roundup(2 * MiB, align);
}

/*
 * The stand-in's memfd, opened again: the baseline then maps the very file
 * (and pages) the library maps.  Its name is the device name.
 */
static int standin_fd(const char *devname)
{
	char want[160], link[PATH_MAX], path[64];

	snprintf(want, sizeof(want), "/memfd:%s", devname);
	for (int fd = 3; fd < 1024; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, want, strlen(want)) == 0 &&
		    (link[strlen(want)] == '\0' || link[strlen(want)] == ' '))
			return open(path, O_RDWR | O_CLOEXEC);
	}
	return -ENOENT;
}

/* "hugetlb:1G[:SIZE]" -> its page size; 0 when @spec is not a stand-in. */
static uint64_t standin_align(const char *spec)
{
	if (!spec || strncmp(spec, "hugetlb:", 8) != 0)
		return 0;
	if (strncmp(spec + 8, "2M", 2) == 0)
		return 2 * MiB;
	if (strncmp(spec + 8, "1G", 2) == 0)
		return GiB;
	return 0;
}

static void bdev_close(struct bdev *b)
{
	if (b->rawfd >= 0)
		close(b->rawfd);
	b->rawfd = -1;
	daxalloc_pool_close(&b->pool);
	daxalloc_dev_close(&b->dev);
}

/* The library's default device, named: "hugetlb:1G" or a devdax path. */
static const char *resolve_default(void)
{
	static char name[96];
	struct daxalloc_dev *d;

	if (daxalloc_dev_open(B.ctx, NULL, &d) < 0)
		return NULL;
	if (daxalloc_dev_is_standin(d))
		snprintf(name, sizeof(name), "hugetlb:%s",
			 daxalloc_dev_get_align(d) == GiB ? "1G" : "2M");
	else
		snprintf(name, sizeof(name), "%s", daxalloc_dev_get_path(d));
	daxalloc_dev_close(&d);
	return name;
}

static int free_bench_region(const struct daxalloc_region_info *info, void *arg)
{
	if (strncmp(info->name, "bench-", 6) == 0)
		daxalloc_pool_free_name(arg, info->name);
	return 0;
}

/*
 * Open @spec with a pool that has @need bytes
 * free in one piece.  The stand-in is sized for the need; a real device
 * must hold a pool already, or --format makes one.  Returns 0 or -errno
 * with a reason in @why.
 */
static int bdev_open(const char *spec, uint64_t need, struct bdev *b, char *why, size_t whylen)
{
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
	char name[96], s[32];
	uint64_t a;
	int rc;

	memset(b, 0, sizeof(*b));
	b->rawfd = -1;
	a = standin_align(spec);
	if (a) {
		char sz[96];

		snprintf(sz, sizeof(sz), "hugetlb:%s:%s", a == GiB ? "1G" : "2M",
			 szs(meta_size(a) + roundup(need, a), s, sizeof(s)));
		rc = daxalloc_dev_open(B.ctx, sz, &b->dev);
		if (rc < 0)
			goto lib_fail;
		rc = daxalloc_pool_create(b->dev, 0, &b->pool);
	} else {
		rc = daxalloc_dev_open(B.ctx, spec, &b->dev);
		if (rc < 0)
			goto lib_fail;
		rc = daxalloc_pool_open(b->dev, 0, &b->pool);
		if (rc < 0 && B.format)
			rc = daxalloc_pool_create(b->dev, DAXALLOC_POOL_FORCE, &b->pool);
		else if (rc == -ENODATA) {
			snprintf(why, whylen, "%s holds no pool: format it (daxalloc-ctl format) or pass --format",
				 spec);
			bdev_close(b);
			return rc;
		}
		/* Leftovers of an interrupted run. */
		if (rc == 0)
			daxalloc_pool_foreach_region(b->pool, free_bench_region, b->pool);
	}
	if (rc < 0)
		goto lib_fail;
	snprintf(b->name, sizeof(b->name), "%s", daxalloc_dev_get_name(b->dev));
	b->align = daxalloc_dev_get_align(b->dev);
	b->standin = daxalloc_dev_is_standin(b->dev);
	rc = daxalloc_pool_get_stats(b->pool, &st);
	if (rc < 0)
		goto lib_fail;
	if (st.largest_free < roundup(need, b->align)) {
		snprintf(why, whylen, "%s: %s free in one piece, the benchmark needs %s", b->name,
			 szs(st.largest_free, name, sizeof(name)), szs(need, s, sizeof(s)));
		bdev_close(b);
		return -ENOSPC;
	}
	b->rawfd = b->standin ? standin_fd(b->name) :
				open(daxalloc_dev_get_path(b->dev), O_RDWR | O_CLOEXEC);
	if (b->rawfd < 0) {
		rc = b->rawfd == -ENOENT ? -ENOENT : -errno;
		snprintf(why, whylen, "%s: cannot open the device by hand: %s", b->name, strerror(-rc));
		bdev_close(b);
		return rc;
	}
	return 0;
lib_fail:
	snprintf(why, whylen, "%s", daxalloc_errmsg());
	bdev_close(b);
	return rc;
}

/*
 * Make @pages 2M huge pages available to memkind as surplus pages: the
 * overcommit limit is raised, never nr_hugepages, so the kernel frees
 * what memkind took when its last user goes, even if this run is killed.
 * hp2m_release() puts the limit back.
 */
#define HP2M_DIR "/sys/kernel/mm/hugepages/hugepages-2048kB/"

static int hp2m_read(const char *attr, unsigned long long *v)
{
	FILE *f = fopen(attr, "re");
	int ok = f && fscanf(f, "%llu", v) == 1;

	if (f)
		fclose(f);
	return ok ? 0 : -ENOENT;
}

static int hp2m_write(const char *attr, unsigned long long v)
{
	FILE *f = fopen(attr, "we");

	if (!f)
		return -EACCES;
	fprintf(f, "%llu\n", v);
	return fclose(f) == 0 ? 0 : -ENOMEM;
}

static int hp2m_ensure(uint64_t pages)
{
	unsigned long long fr = 0, rs = 0, oc = 0, sp = 0;

	if (hp2m_read(HP2M_DIR "free_hugepages", &fr) < 0 ||
	    hp2m_read(HP2M_DIR "resv_hugepages", &rs) < 0 ||
	    hp2m_read(HP2M_DIR "nr_overcommit_hugepages", &oc) < 0 ||
	    hp2m_read(HP2M_DIR "surplus_hugepages", &sp) < 0)
		return -ENOENT;
	if (fr >= rs && fr - rs >= pages)
		return 0;
	if (!B.hp2m_raised)
		B.hp2m_overcommit = oc;
	if (hp2m_write(HP2M_DIR "nr_overcommit_hugepages", sp + pages) < 0)
		return -EACCES;
	B.hp2m_raised = true;
	return 0;
}

static void hp2m_release(void)
{
	if (B.hp2m_raised)
		hp2m_write(HP2M_DIR "nr_overcommit_hugepages", B.hp2m_overcommit);
	B.hp2m_raised = false;
}

/* One byte written per kernel page: each write is one first-touch fault. */
static void touch_write(char *p, uint64_t len, uint64_t stride)
{
	for (uint64_t o = 0; o < len; o += stride)
		((volatile char *)p)[o] = (char)o;
}

/* One word read per 4K page: what reading the data back costs at least. */
static uint64_t touch_read(const char *p, uint64_t len)
{
	uint64_t sum = 0;

	for (uint64_t o = 0; o < len; o += PAGE_4K)
		sum += *(const volatile uint64_t *)(p + o);
	return sum;
}

/* ---- pin ----------------------------------------------------------------- */

struct consumer {
	enum daxalloc_pin_kind kind;
	const char *name;
	struct io_uring ring;
	int container, group;
	int iommufd, vdev;	/* iommufd: /dev/iommu and the attached device */
	uint32_t ioas;
	uint64_t iova;
#ifdef HAVE_IBVERBS
	struct ibv_context *ib;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
#endif
};

static int consumer_open(struct consumer *c, enum daxalloc_pin_kind kind, char *why, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->container = c->group = c->iommufd = c->vdev = -1;
	c->name = daxalloc_pin_kind_name(kind);
	if (kind == DAXALLOC_PIN_URING) {
		int rc = io_uring_queue_init(4, &c->ring, 0);

		if (rc < 0)
			snprintf(why, len, "io_uring_queue_init: %s", strerror(-rc));
		return rc;
	}
	if (kind == DAXALLOC_PIN_VFIO) {
		struct vfio_group_status gs = { .argsz = sizeof(gs) };

		c->iova = UINT64_C(1) << 32;
		c->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		c->group = c->container < 0 ? -1 : open(B.vfio_group, O_RDWR | O_CLOEXEC);
		if (c->group < 0 || ioctl(c->group, VFIO_GROUP_GET_STATUS, &gs) < 0 ||
		    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE) ||
		    ioctl(c->group, VFIO_GROUP_SET_CONTAINER, &c->container) < 0 ||
		    (ioctl(c->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 &&
		     ioctl(c->container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)) {
			int e = errno;

			snprintf(why, len, "VFIO group %s: %s", B.vfio_group, strerror(e));
			if (c->group >= 0)
				close(c->group);
			if (c->container >= 0)
				close(c->container);
			return -e;
		}
		return 0;
	}
	if (kind == DAXALLOC_PIN_IOMMUFD) {
		/*
		 * An IOAS with a device attached: without one, IOMMU_IOAS_MAP
		 * only records the range and pins nothing.
		 */
		struct iommu_ioas_alloc a = { .size = sizeof(a) };
		struct vfio_device_bind_iommufd bd = { .argsz = sizeof(bd) };
		struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
		const char *step = "/dev/iommu";
		int e;

		c->iova = UINT64_C(1) << 32;
		c->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
		if (c->iommufd >= 0) {
			step = "IOMMU_IOAS_ALLOC";
			if (ioctl(c->iommufd, IOMMU_IOAS_ALLOC, &a) == 0) {
				c->ioas = a.out_ioas_id;
				step = B.iommufd_cdev;
				c->vdev = open(B.iommufd_cdev, O_RDWR | O_CLOEXEC);
			}
		}
		if (c->vdev >= 0) {
			step = "VFIO_DEVICE_BIND_IOMMUFD";
			bd.iommufd = c->iommufd;
			at.pt_id = c->ioas;
			if (ioctl(c->vdev, VFIO_DEVICE_BIND_IOMMUFD, &bd) == 0) {
				step = "VFIO_DEVICE_ATTACH_IOMMUFD_PT";
				if (ioctl(c->vdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) == 0)
					return 0;
			}
		}
		e = errno;
		snprintf(why, len, "iommufd with %s: %s: %s", B.iommufd_cdev, step, strerror(e));
		if (c->vdev >= 0)
			close(c->vdev);
		if (c->iommufd >= 0)
			close(c->iommufd);
		c->vdev = c->iommufd = -1;
		return -e;
	}
#ifdef HAVE_IBVERBS
	if (kind == DAXALLOC_PIN_RDMA) {
		struct ibv_device **list = ibv_get_device_list(NULL);

		for (int i = 0; list && list[i] && !c->ib; i++)
			if (strcmp(ibv_get_device_name(list[i]), B.rdma_dev) == 0)
				c->ib = ibv_open_device(list[i]);
		if (list)
			ibv_free_device_list(list);
		c->pd = c->ib ? ibv_alloc_pd(c->ib) : NULL;
		if (!c->pd) {
			snprintf(why, len, "RDMA device %s: cannot open it or allocate a protection domain",
				 B.rdma_dev);
			if (c->ib)
				ibv_close_device(c->ib);
			return -ENODEV;
		}
		return 0;
	}
#endif
	snprintf(why, len, "this build has no %s support", c->name);
	return -EOPNOTSUPP;
}

static void consumer_close(struct consumer *c)
{
	if (c->kind == DAXALLOC_PIN_URING)
		io_uring_queue_exit(&c->ring);
	if (c->group >= 0) {
		ioctl(c->group, VFIO_GROUP_UNSET_CONTAINER);
		close(c->group);
	}
	if (c->container >= 0)
		close(c->container);
	if (c->vdev >= 0)
		close(c->vdev);		/* detaches */
	if (c->iommufd >= 0)
		close(c->iommufd);
#ifdef HAVE_IBVERBS
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->ib)
		ibv_close_device(c->ib);
#endif
}

static void consumer_target(struct consumer *c, struct daxalloc_pin_target *t)
{
	memset(t, 0, sizeof(*t));
	t->struct_size = sizeof(*t);
	t->kind = c->kind;
	t->vfio.container_fd = c->container;
	t->vfio.iova = c->iova;
	t->iommufd.fd = c->iommufd;
	t->iommufd.ioas_id = c->ioas;
	t->iommufd.iova = c->iova;
#ifdef HAVE_IBVERBS
	t->rdma.pd = c->pd;
#endif
	t->uring.ring = &c->ring;
}

/* The consumer's own call, as a program without the library makes it. */
static int raw_pin(struct consumer *c, void *addr, uint64_t len)
{
	if (c->kind == DAXALLOC_PIN_URING) {
		unsigned int n = (unsigned int)((len + GiB - 1) / GiB);
		struct iovec iov[n];

		/* io_uring takes at most 1 GiB per buffer. */
		for (unsigned int i = 0; i < n; i++) {
			iov[i].iov_base = (char *)addr + (uint64_t)i * GiB;
			iov[i].iov_len = (size_t)(len - (uint64_t)i * GiB < GiB ?
							  len - (uint64_t)i * GiB : GiB);
		}
		return io_uring_register_buffers(&c->ring, iov, n);
	}
	if (c->kind == DAXALLOC_PIN_VFIO) {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)addr,
			.iova = c->iova,
			.size = len,
		};

		return ioctl(c->container, VFIO_IOMMU_MAP_DMA, &m) < 0 ? -errno : 0;
	}
	if (c->kind == DAXALLOC_PIN_IOMMUFD) {
		struct iommu_ioas_map m = {
			.size = sizeof(m), .ioas_id = c->ioas,
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |
				 IOMMU_IOAS_MAP_READABLE,
			.user_va = (uintptr_t)addr, .length = len, .iova = c->iova,
		};

		return ioctl(c->iommufd, IOMMU_IOAS_MAP, &m) < 0 ? -errno : 0;
	}
#ifdef HAVE_IBVERBS
	if (c->kind == DAXALLOC_PIN_RDMA) {
		errno = 0;
		c->mr = ibv_reg_mr(c->pd, addr, (size_t)len,
				   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
					   IBV_ACCESS_REMOTE_READ);
		return c->mr ? 0 : -(errno ? errno : EIO);
	}
#endif
	return -EOPNOTSUPP;
}

static int raw_unpin(struct consumer *c, uint64_t len)
{
	if (c->kind == DAXALLOC_PIN_URING)
		return io_uring_unregister_buffers(&c->ring);
	if (c->kind == DAXALLOC_PIN_VFIO) {
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u), .iova = c->iova, .size = len,
		};

		return ioctl(c->container, VFIO_IOMMU_UNMAP_DMA, &u) < 0 ? -errno : 0;
	}
	if (c->kind == DAXALLOC_PIN_IOMMUFD) {
		struct iommu_ioas_unmap u = {
			.size = sizeof(u), .ioas_id = c->ioas, .iova = c->iova, .length = len,
		};

		return ioctl(c->iommufd, IOMMU_IOAS_UNMAP, &u) < 0 ? -errno : 0;
	}
#ifdef HAVE_IBVERBS
	if (c->kind == DAXALLOC_PIN_RDMA) {
		int rc = ibv_dereg_mr(c->mr);

		c->mr = NULL;
		return -rc;
	}
#endif
	return -EOPNOTSUPP;
}

static double ms_per_gib(uint64_t ns, uint64_t len)
{
	return (double)ns / 1e6 / ((double)len / (double)GiB);
}

/*
 * Pin and unpin [addr, +len) N times each way, alternating which goes
 * first; @r may be NULL (no library: memory the stand-in cannot offer),
 * and then @nolib says why.
 */
static void pin_pair(struct consumer *c, struct daxalloc_region *r, void *addr, uint64_t len,
		     const char *variant, const char *device, const char *nolib)
{
	enum { MAX_N = 40 };
	int n = iters(5), lib_rc = 0, raw_rc = 0;
	double lp[MAX_N], lu[MAX_N], rp[MAX_N], ru[MAX_N], own[MAX_N];
	char lib_err[300] = "", raw_err[128] = "", base[64];
	struct daxalloc_pin_target t;
	struct result *a, *b;
	uint64_t warm = 0, roff = 0;

	if (n > MAX_N)
		n = MAX_N;
	if (r)
		roff = (uint64_t)((char *)addr - (char *)daxalloc_region_get_address(r));
	consumer_target(c, &t);
	/* One untimed round: first-use costs (page tables, caches) go to nobody. */
	for (int i = -1; i < n; i++) {
		/*
		 * Short pins (1G pages) drown in the neighbours' noise: take
		 * more of them, about a second's worth, so the best is clean.
		 */
		if (i == 0 && B.iters == 0 && !B.quick && warm && warm < 100000000) {
			n = (int)(1000000000 / warm);
			n = n < 5 ? 5 : n > MAX_N ? MAX_N : n;
		}
		for (int k = 0; k < 2; k++) {
			bool lib = (k ^ (i & 1)) == 0;
			uint64_t t0, t1, t2;
			int rc;

			if (lib && (!r || lib_rc))
				continue;
			if (!lib && raw_rc)
				continue;
			if (lib) {
				struct daxalloc_pin *p = NULL;

				t0 = now_ns();
				rc = daxalloc_pin(r, roff, len, &t, &p);
				t1 = now_ns();
				/* The library's share: its wall time less the kernel call. */
				if (rc == 0 && i >= 0)
					own[i] = (double)(t1 - t0 -
							  daxalloc_pin_get_pin_time_ns(p)) / 1e3;
				if (rc == 0)
					rc = daxalloc_unpin(&p);
				t2 = now_ns();
				if (rc < 0) {
					lib_rc = rc;
					snprintf(lib_err, sizeof(lib_err), "%s", daxalloc_errmsg());
				}
			} else {
				t0 = now_ns();
				rc = raw_pin(c, addr, len);
				t1 = now_ns();
				if (rc == 0)
					rc = raw_unpin(c, len);
				t2 = now_ns();
				if (rc < 0) {
					raw_rc = rc;
					snprintf(raw_err, sizeof(raw_err), "%s", strerror(-rc));
				}
			}
			warm += t2 - t0;
			if (getenv("DAXALLOC_BENCH_TRACE"))
				say("  %s pin %.3f ms, unpin %.3f ms", lib ? "library" : "kernel",
				    (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6);
			if (i < 0)
				continue;
			(lib ? lp : rp)[i] = rc < 0 ? NAN : ms_per_gib(t1 - t0, len);
			(lib ? lu : ru)[i] = rc < 0 ? NAN : ms_per_gib(t2 - t1, len);
		}
	}
	if (!r || lib_rc)
		for (int i = 0; i < n; i++)
			lp[i] = lu[i] = own[i] = NAN;
	if (raw_rc)
		for (int i = 0; i < n; i++)
			rp[i] = ru[i] = NAN;
	snprintf(base, sizeof(base), "%s",
		 c->kind == DAXALLOC_PIN_URING ? "io_uring_register_buffers" :
		 c->kind == DAXALLOC_PIN_VFIO ? "VFIO_IOMMU_MAP_DMA" :
		 c->kind == DAXALLOC_PIN_IOMMUFD ? "IOMMU_IOAS_MAP" : "ibv_reg_mr");
	a = add_result("pin", variant, device, base, best_low(lp, n), best_low(rp, n), "ms/GiB",
		       false, n);
	snprintf(base, sizeof(base), "%s",
		 c->kind == DAXALLOC_PIN_URING ? "io_uring_unregister_buffers" :
		 c->kind == DAXALLOC_PIN_VFIO ? "VFIO_IOMMU_UNMAP_DMA" :
		 c->kind == DAXALLOC_PIN_IOMMUFD ? "IOMMU_IOAS_UNMAP" : "ibv_dereg_mr");
	b = add_result("unpin", variant, device, base, best_low(lu, n), best_low(ru, n), "ms/GiB",
		       false, n);
	if (r && !lib_rc) {
		double o = best_low(own, n);

		note(a, "library's own work per pin: %.1f us (%.2f%% of the best kernel pin)", o,
		     100 * o / 1e3 / (best_low(rp, n) * (double)len / (double)GiB));
	}
	if (!r) {
		note(a, "no library value: %s", nolib);
		note(b, "%s", a->note);
	}
	if (lib_rc) {
		note(a, "library: %s", lib_err);
		note(b, "library: %s", lib_err);
	}
	if (raw_rc) {
		note(a, "kernel: %s", raw_err);
		note(b, "kernel: %s", raw_err);
	}
}

static int consumers_list(enum daxalloc_pin_kind *kinds)
{
	int n = 0;

	kinds[n++] = DAXALLOC_PIN_URING;
	if (B.vfio_group)
		kinds[n++] = DAXALLOC_PIN_VFIO;
	if (B.rdma_dev)
		kinds[n++] = DAXALLOC_PIN_RDMA;
	if (B.iommufd_cdev)
		kinds[n++] = DAXALLOC_PIN_IOMMUFD;
	return n;
}

static void pin_skip(const char *variant, const char *device, const char *why)
{
	struct result *r = add_result("pin", variant, device, "", NAN, NAN, "ms/GiB", false, 0);

	note(r, "%s", why);
}

/* Huge pages of size @align free and unreserved: memory the stand-in can use. */
static uint64_t hugetlb_free_bytes(uint64_t align)
{
	unsigned long long fr = 0, rs = 0;
	char path[128];
	FILE *f;

	if (align != 2 * MiB && align != GiB)
		return 0;
	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/free_hugepages",
		 (unsigned long long)(align >> 10));
	f = fopen(path, "re");
	if (!f || fscanf(f, "%llu", &fr) != 1)
		fr = 0;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/resv_hugepages",
		 (unsigned long long)(align >> 10));
	f = fopen(path, "re");
	if (!f || fscanf(f, "%llu", &rs) != 1)
		rs = 0;
	if (f)
		fclose(f);
	return fr > rs ? (fr - rs) * align : 0;
}

/* The sizes to pin: the base size and the largest that fits (<= --pin-max). */
static int pin_sizes(uint64_t align, uint64_t room, uint64_t *sz)
{
	uint64_t base = roundup(B.size, align), big = B.pin_max;
	int n = 0;

	sz[n++] = base;
	bool exact = room != 0;

	/* On shared memory (RAM, hugetlb): leave the rest of the machine 4 GiB. */
	if (!room) {
		uint64_t avail = meminfo_bytes("MemAvailable") + hugetlb_free_bytes(align);

		room = avail > 4 * GiB + meta_size(align) ? avail - 4 * GiB - meta_size(align) : 0;
	}
	if (big > room)
		big = room;
	big = big / align * align;
	/* powers of two of GiB read better; keep a device's exact capacity */
	if (big >= GiB && !(exact && big == room)) {
		uint64_t p = GiB;

		while (p * 2 <= big)
			p *= 2;
		big = p;
	}
	if (big > base && !B.quick)
		sz[n++] = big;
	return n;
}

static void pin_full_pool(const char *spec, uint64_t align, uint64_t len);

/*
 * Huge pages of size @align mapped by hand, populated: what a program
 * without the library pins when the stand-in cannot be had (it needs a
 * page more than the region, for its metadata).
 */
static void *hugetlb_map(uint64_t align, uint64_t len)
{
	int huge = align == GiB ? 30 : 21;	/* MAP_HUGE_1GB, MAP_HUGE_2MB */
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE | (huge << MAP_HUGE_SHIFT),
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void bench_pin_dev(const char *spec)
{
	enum daxalloc_pin_kind kinds[4];
	int nk = consumers_list(kinds);
	uint64_t sizes[2], a = standin_align(spec), room = 0;
	int nsz;
	char why[512], variant[96], s[32], al[32];
	struct bdev b;

	/* A real device: its free space decides the large size. */
	if (!a) {
		struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };

		if (bdev_open(spec, 0, &b, why, sizeof(why)) < 0) {
			pin_skip("pin", spec ? spec : "default", why);
			return;
		}
		a = b.align;
		if (!b.standin && daxalloc_pool_get_stats(b.pool, &st) == 0)
			room = st.largest_free;
		bdev_close(&b);
	}
	if (a == PAGE_4K)
		B.saw_4k = true;
	nsz = pin_sizes(a, room, sizes);
	for (int i = 0; i < nsz; i++) {
		struct daxalloc_region *r = NULL;
		uint64_t len = sizes[i];
		int rc;

		rc = bdev_open(spec, len, &b, why, sizeof(why));
		/* The largest may not fit after all: try half as much. */
		while (rc < 0 && i > 0 && len / 2 > sizes[0]) {
			len /= 2;
			rc = bdev_open(spec, len, &b, why, sizeof(why));
		}
		if (rc == 0) {
			rc = daxalloc_alloc(b.pool, len, "bench-pin", DAXALLOC_ALLOC_POPULATE, &r);
			if (rc < 0) {
				snprintf(why, sizeof(why), "%s", daxalloc_errmsg());
				bdev_close(&b);
			}
		}
		/* No stand-in: the kernel's side alone, on huge pages mapped by hand. */
		void *raw = rc < 0 && i == 0 && standin_align(spec) ? hugetlb_map(a, len) : NULL;

		for (int k = 0; k < nk; k++) {
			struct consumer c;
			char cwhy[256];

			snprintf(variant, sizeof(variant), "%s %s %s", daxalloc_pin_kind_name(kinds[k]),
				 szs(a, al, sizeof(al)), szs(len, s, sizeof(s)));
			if (rc < 0 && !raw) {
				pin_skip(variant, spec ? spec : "default", why);
				continue;
			}
			if (consumer_open(&c, kinds[k], cwhy, sizeof(cwhy)) < 0) {
				pin_skip(variant, rc < 0 ? spec : b.name, cwhy);
				continue;
			}
			say("pin: %s on %s", variant, rc < 0 ? "huge pages mapped by hand" : b.name);
			if (rc < 0)
				pin_pair(&c, NULL, raw, len, variant, spec, why);
			else
				pin_pair(&c, r, daxalloc_region_get_address(r), len, variant, b.name, NULL);
			consumer_close(&c);
		}
		if (raw)
			munmap(raw, len);
		if (rc == 0) {
			daxalloc_region_free(&r);
			bdev_close(&b);
		}
	}
	if (a <= 2 * MiB && !B.no_held)
		pin_full_pool(spec, a, sizes[0]);
}

/* 4K pages where the stand-in has none: anonymous memory, io_uring only. */
static void bench_pin_anon(void)
{
	uint64_t sizes[2];
	int nsz = pin_sizes(PAGE_4K, 0, sizes);
	char variant[96], s[32], why[256];

	for (int i = 0; i < nsz; i++) {
		uint64_t len = sizes[i];
		struct consumer c;
		char *p;

		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			 -1, 0);
		snprintf(variant, sizeof(variant), "io_uring 4K %s", szs(len, s, sizeof(s)));
		if (p == MAP_FAILED) {
			pin_skip(variant, "anonymous", strerror(errno));
			continue;
		}
		/* 4K pages for real: no transparent huge pages behind our back. */
		madvise(p, len, MADV_NOHUGEPAGE);
		touch_write(p, len, PAGE_4K);
		if (consumer_open(&c, DAXALLOC_PIN_URING, why, sizeof(why)) < 0) {
			pin_skip(variant, "anonymous", why);
		} else {
			say("pin: %s on anonymous memory", variant);
			pin_pair(&c, NULL, p, len, variant, "anonymous",
				 "the stand-in has no 4K pages (anonymous memory, kernel only)");
			consumer_close(&c);
		}
		munmap(p, len);
	}
}

/* ---- alloc ----------------------------------------------------------------- */

enum alloc_way { W_LIB, W_MMAP, W_PMEM2, W_MEMKIND };

struct worker {
	pthread_t th;
	pthread_barrier_t *bar;
	enum alloc_way way;
	struct bdev *b;
	bool named;
	int idx, rc;
	long done;		/* pairs completed */
	uint64_t budget;	/* ns to keep going for, at least 3 pairs */
	uint64_t off;
	uint64_t t0, t1;	/* this worker's own run */
	char err[256];
};

static void *alloc_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t unit = w->b->align;
	struct pmem2_config *cfg = NULL;
	struct pmem2_source *src = NULL;
	uint64_t deadline;
	char name[32];

	snprintf(name, sizeof(name), "bench-a%d", w->idx);
	if (w->way == W_PMEM2) {
		w->rc = pmem2_source_from_fd(&src, w->b->rawfd);
		if (!w->rc)
			w->rc = pmem2_config_new(&cfg);
		if (!w->rc)
			w->rc = pmem2_config_set_required_store_granularity(cfg, PMEM2_GRANULARITY_PAGE);
		if (!w->rc)
			w->rc = pmem2_config_set_offset(cfg, (size_t)w->off);
		if (!w->rc)
			w->rc = pmem2_config_set_length(cfg, (size_t)unit);
		if (w->rc)
			snprintf(w->err, sizeof(w->err), "libpmem2: %s", pmem2_errormsg());
	}
	pthread_barrier_wait(w->bar);
	w->t0 = now_ns();
	deadline = w->t0 + w->budget;
	/* A time budget, not a count: pmem2 on devdax is 1000x slower than mmap. */
	for (w->done = 0; !w->rc && (w->done < 3 || now_ns() < deadline); w->done++) {
		switch (w->way) {
		case W_LIB: {
			struct daxalloc_region *r;

			w->rc = daxalloc_alloc(w->b->pool, unit, w->named ? name : NULL, 0, &r);
			if (!w->rc)
				w->rc = daxalloc_region_free(&r);
			if (w->rc)
				snprintf(w->err, sizeof(w->err), "%s", daxalloc_errmsg());
			break;
		}
		case W_MMAP: {
			void *p = mmap(NULL, (size_t)unit, PROT_READ | PROT_WRITE, MAP_SHARED,
				       w->b->rawfd, (off_t)w->off);

			if (p == MAP_FAILED) {
				w->rc = -errno;
				snprintf(w->err, sizeof(w->err), "mmap: %s", strerror(errno));
			} else {
				munmap(p, (size_t)unit);
			}
			break;
		}
		case W_PMEM2: {
			struct pmem2_map *m;

			w->rc = pmem2_map_new(&m, cfg, src);
			if (!w->rc)
				w->rc = pmem2_map_delete(&m);
			if (w->rc)
				snprintf(w->err, sizeof(w->err), "libpmem2: %s", pmem2_errormsg());
			break;
		}
		case W_MEMKIND:
#ifdef HAVE_MEMKIND
		{
			void *p;

			w->rc = -memkind_posix_memalign(MEMKIND_HUGETLB, &p, 2 * MiB, (size_t)unit);
			if (!w->rc)
				memkind_free(MEMKIND_HUGETLB, p);
			else
				snprintf(w->err, sizeof(w->err), "memkind_posix_memalign: %s",
					 strerror(-w->rc));
		}
#endif
			break;
		}
	}
	w->t1 = now_ns();
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	return NULL;
}

/* Pairs per second of @threads workers busy for @ns each; NAN on error. */
static double alloc_run(struct bdev *b, enum alloc_way way, bool named, int threads, uint64_t ns,
			char *err, size_t errlen)
{
	long pairs = 0;
	struct worker w[threads];
	pthread_barrier_t bar;
	uint64_t t0, t1;
	int rc = 0;

	pthread_barrier_init(&bar, NULL, (unsigned int)threads + 1);
	for (int i = 0; i < threads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].bar = &bar;
		w[i].way = way;
		w[i].b = b;
		w[i].named = named;
		w[i].idx = i;
		w[i].budget = ns;
		/* By hand, each thread maps its own unit of the data area. */
		w[i].off = meta_size(b->align) + (uint64_t)i * b->align;
		pthread_create(&w[i].th, NULL, alloc_worker, &w[i]);
	}
	pthread_barrier_wait(&bar);
	for (int i = 0; i < threads; i++)
		pthread_join(w[i].th, NULL);
	pthread_barrier_destroy(&bar);
	/* From the first start to the last end: this thread may run late. */
	t0 = UINT64_MAX;
	t1 = 0;
	for (int i = 0; i < threads; i++) {
		t0 = w[i].t0 < t0 ? w[i].t0 : t0;
		t1 = w[i].t1 > t1 ? w[i].t1 : t1;
	}
	for (int i = 0; i < threads; i++)
		if (w[i].rc && !rc) {
			rc = w[i].rc;
			snprintf(err, errlen, "%s", w[i].err);
		}
	if (rc)
		return NAN;
	for (int i = 0; i < threads; i++)
		pairs += w[i].done;
	return (double)pairs / ((double)(t1 - t0) / 1e9);
}

static int fill_pool(struct bdev *b, int count, char *why, size_t len)
{
	for (int i = 0; i < count; i++) {
		struct daxalloc_region *r;
		char name[32];

		snprintf(name, sizeof(name), "bench-fill-%d", i);
		if (daxalloc_alloc(b->pool, b->align, name, 0, &r) < 0) {
			snprintf(why, len, "filling the pool: %s", daxalloc_errmsg());
			return -1;
		}
		/* Named regions stay on the device, unmapped. */
		daxalloc_region_close(&r);
	}
	return 0;
}

/*
 * The base pin again, with the pool holding many other regions: a pin
 * checks under the pool lock that its region is still allocated.
 */
static void pin_full_pool(const char *spec, uint64_t align, uint64_t len)
{
	enum daxalloc_pin_kind kinds[4];
	int nk = consumers_list(kinds), count = B.quick ? 32 : 512;
	struct daxalloc_region *r = NULL;
	char why[512] = "", variant[96], s[32], al[32];
	struct bdev b;

	if (bdev_open(spec, len + (uint64_t)count * align, &b, why, sizeof(why)) < 0) {
		snprintf(variant, sizeof(variant), "%d regions held", count);
		pin_skip(variant, spec, why);
		return;
	}
	if (daxalloc_alloc(b.pool, len, "bench-pin", DAXALLOC_ALLOC_POPULATE, &r) < 0) {
		snprintf(why, sizeof(why), "%s", daxalloc_errmsg());
	} else {
		struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };

		if (daxalloc_pool_get_stats(b.pool, &st) == 0 &&
		    st.largest_free / b.align < (uint64_t)count)
			snprintf(why, sizeof(why), "%s: no room for %d more regions", b.name, count);
		else
			fill_pool(&b, count, why, sizeof(why));
	}
	for (int k = 0; k < nk; k++) {
		struct consumer c;
		char cwhy[256];

		snprintf(variant, sizeof(variant), "%s %s %s, %d regions held",
			 daxalloc_pin_kind_name(kinds[k]), szs(b.align, al, sizeof(al)),
			 szs(len, s, sizeof(s)), count);
		if (why[0]) {
			pin_skip(variant, b.name, why);
			continue;
		}
		if (consumer_open(&c, kinds[k], cwhy, sizeof(cwhy)) < 0) {
			pin_skip(variant, b.name, cwhy);
			continue;
		}
		say("pin: %s on %s", variant, b.name);
		pin_pair(&c, r, daxalloc_region_get_address(r), len, variant, b.name, NULL);
		consumer_close(&c);
	}
	daxalloc_region_free(&r);
	daxalloc_pool_foreach_region(b.pool, free_bench_region, b.pool);
	bdev_close(&b);
}

/*
 * The same pairs on a pool that already holds @count regions: what still
 * grows with the table (finding a name or a best fit, the checkpoint a
 * full journal writes) shows against the pairs on an empty pool.
 */
static void alloc_full_pool(const char *spec, int reps, int count)
{
	uint64_t a = standin_align(spec);
	double lib[2][reps], base[reps];
	char why[512] = "", lerr[2][256] = { "", "" }, berr[256] = "", variant[96], al[32];
	struct bdev b;

	/* 1G units: no machine here has room for hundreds of them. */
	if (a == GiB)
		return;
	if (bdev_open(spec, (uint64_t)(count + 1) * (a ? a : 1), &b, why, sizeof(why)) < 0)
		goto fail;
	if (b.align > 2 * MiB) {
		bdev_close(&b);
		return;
	}
	{
		struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };

		if (daxalloc_pool_get_stats(b.pool, &st) < 0 ||
		    st.largest_free / b.align < (uint64_t)count + 1) {
			snprintf(why, sizeof(why), "%s: no room for %d regions", b.name, count + 1);
			bdev_close(&b);
			goto fail;
		}
	}
	if (fill_pool(&b, count, why, sizeof(why)) < 0) {
		bdev_close(&b);
		goto fail;
	}
	szs(b.align, al, sizeof(al));
	say("alloc: %s units, pool of %d regions on %s", al, count, b.name);
	for (int rep = 0; rep < reps; rep++) {
		uint64_t ns = B.quick ? 20000000 : 200000000;

		for (int nm = 0; nm < 2; nm++)
			lib[nm][rep] = lerr[nm][0] ? NAN :
				alloc_run(&b, W_LIB, nm, 1, ns, lerr[nm], sizeof(lerr[nm]));
		base[rep] = berr[0] ? NAN : alloc_run(&b, W_MMAP, false, 1, ns, berr, sizeof(berr));
	}
	for (int nm = 0; nm < 2; nm++) {
		struct result *r;

		snprintf(variant, sizeof(variant), "%s %s units, 1 thread, %d regions held",
			 nm ? "named" : "unnamed", al, count);
		r = add_result("alloc", variant, b.name, "mmap+munmap", best_high(lib[nm], reps),
			       best_high(base, reps), "pairs/s", true, reps);
		if (lerr[nm][0])
			note(r, "library: %s", lerr[nm]);
		if (berr[0])
			note(r, "baseline: %s", berr);
	}
	daxalloc_pool_foreach_region(b.pool, free_bench_region, b.pool);
	bdev_close(&b);
	return;
fail:
	snprintf(variant, sizeof(variant), "pool of %d regions", count);
	note(add_result("alloc", variant, spec, "mmap+munmap", NAN, NAN, "pairs/s", true, 0), "%s",
	     why);
}

static void bench_alloc_dev(const char *spec)
{
	static const char *const way_name[] = {
		[W_MMAP] = "mmap+munmap", [W_PMEM2] = "pmem2_map_new+delete",
		[W_MEMKIND] = "memkind hugetlb",
	};
	int reps = iters(5), tcount[2] = { 1, B.threads };
	char why[512], variant[96], al[32];
	struct bdev b;

	/* The stand-in gets a unit per thread; a real device has what it has. */
	if (bdev_open(spec, (uint64_t)B.threads * standin_align(spec), &b, why, sizeof(why)) < 0 &&
	    (!standin_align(spec) || bdev_open(spec, standin_align(spec), &b, why, sizeof(why)) < 0)) {
		struct result *r = add_result("alloc", spec ? spec : "default", spec, "", NAN, NAN,
					      "pairs/s", true, 0);

		note(r, "%s", why);
		return;
	}
	{
		struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };

		daxalloc_pool_get_stats(b.pool, &st);
		/* A real device may hold fewer units than threads. */
		if (st.largest_free / b.align < (uint64_t)B.threads)
			tcount[1] = (int)(st.largest_free / b.align);
	}
	szs(b.align, al, sizeof(al));
	for (int ti = 0; ti < 2; ti++) {
		int th = tcount[ti];
		uint64_t ns = B.quick ? 20000000 : 200000000;
		double base[4][reps], lib[2][reps];
		char berr[4][256] = { "", "", "", "" }, lerr[2][256] = { "", "" };
		bool try_way[4] = { false, true, true, false };

		if (ti == 1 && th <= 1) {
			struct result *r;

			snprintf(variant, sizeof(variant), "%s units, %d threads", al, B.threads);
			r = add_result("alloc", variant, b.name, "", NAN, NAN, "pairs/s", true, 0);
			note(r, "the device holds %d unit(s) free: no room for %d threads at once", th,
			     B.threads);
			continue;
		}
#ifdef HAVE_MEMKIND
		if (b.standin) {
			/* memkind's hugetlb kind takes 2M pages from the kernel's pool. */
			uint64_t pages = (uint64_t)th * (b.align / (2 * MiB) + 1) + 16;

			try_way[W_MEMKIND] = true;
			if (hp2m_ensure(pages) < 0)
				snprintf(berr[W_MEMKIND], sizeof(berr[0]),
					 "needs %" PRIu64 " free 2M huge pages (reserve them as root)", pages);
			else if (memkind_check_available(MEMKIND_HUGETLB) != 0)
				snprintf(berr[W_MEMKIND], sizeof(berr[0]),
					 "memkind reports its hugetlb kind unavailable");
		}
#endif
		say("alloc: %s units, %d thread(s) on %s", al, th, b.name);
		for (int rep = 0; rep < reps; rep++) {
			for (int nm = 0; nm < 2; nm++)
				lib[nm][rep] = lerr[nm][0] ? NAN :
					alloc_run(&b, W_LIB, nm, th, ns, lerr[nm], sizeof(lerr[nm]));
			for (int wy = W_MMAP; wy <= W_MEMKIND; wy++)
				base[wy][rep] = !try_way[wy] || berr[wy][0] ? NAN :
					alloc_run(&b, (enum alloc_way)wy, false, th, ns, berr[wy],
						  sizeof(berr[wy]));
		}
		for (int nm = 0; nm < 2; nm++) {
			snprintf(variant, sizeof(variant), "%s %s units, %d thread%s",
				 nm ? "named" : "unnamed", al, th, th > 1 ? "s" : "");
			for (int wy = W_MMAP; wy <= W_MEMKIND; wy++) {
				struct result *r;

				if (wy == W_MEMKIND && !b.standin)
					continue;
				r = add_result("alloc", variant, b.name, way_name[wy], best_high(lib[nm], reps),
					       best_high(base[wy], reps), "pairs/s", true, reps);
				if (lerr[nm][0])
					note(r, "library: %s", lerr[nm]);
				if (berr[wy][0])
					note(r, "baseline: %s", berr[wy]);
				if (wy == W_PMEM2 && berr[wy][0] && b.standin && b.align == GiB)
					note(r, "libpmem2 places mappings on 2M boundaries, a 1G hugetlb file needs 1G ones");
				else if (wy == W_MEMKIND && !try_way[wy])
					note(r, "baseline: built without memkind");
				if (wy == W_MEMKIND && !berr[wy][0] && try_way[wy])
					note(r, "memkind uses 2M pages whatever the unit");
			}
		}
	}
	bdev_close(&b);
	alloc_full_pool(spec, reps, B.quick ? 32 : 512);
	if (!B.quick)
		alloc_full_pool(spec, reps, 2000);	/* near the table's 2048 */
}

/* ---- fault-in ----------------------------------------------------------------- */

struct fault_sample {
	double ms[2];		/* touch, populate */
	double faults[2];
};

static void fault_rows(const char *al, const char *len, const char *device, const char *base,
		       double lt[][2], double lf[][2], double bt[][2], double bf[][2], int n,
		       const char *why)
{
	static const char *const how[2] = { "first touch", "populate" };
	double v[4][n];

	for (int k = 0; k < 2; k++) {
		char variant[96];
		struct result *r[2];

		for (int i = 0; i < n; i++) {
			v[0][i] = lt ? lt[i][k] : NAN;
			v[1][i] = bt[i][k];
			v[2][i] = lf ? lf[i][k] : NAN;
			v[3][i] = bf[i][k];
		}
		snprintf(variant, sizeof(variant), "%s %s, %s", al, len, how[k]);
		r[0] = add_result("fault", variant, device, base, best_low(v[0], n), best_low(v[1], n),
				  "ms/GiB", false, n);
		r[1] = add_result("faults", variant, device, base, best_low(v[2], n), best_low(v[3], n),
				  "faults/GiB", false, n);
		if (why)
			for (int j = 0; j < 2; j++)
				note(r[j], "%s", why);
	}
}

/* Map, touch every page, unmap: the timed part is the touch (or the populating map). */
static int fault_raw(int fd, uint64_t off, uint64_t len, uint64_t stride, bool populate,
		     double *ms, double *faults)
{
	int flags = fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED;
	uint64_t t0, t1;
	long f0, f1;
	char *p;

	if (populate) {
		f0 = faults_now();
		t0 = now_ns();
		p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, flags | MAP_POPULATE, fd, (off_t)off);
		if (p == MAP_FAILED)
			return -errno;
	} else {
		p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, flags, fd, (off_t)off);
		if (p == MAP_FAILED)
			return -errno;
		f0 = faults_now();
		t0 = now_ns();
	}
	touch_write(p, len, stride);
	t1 = now_ns();
	f1 = faults_now();
	munmap(p, (size_t)len);
	*ms = ms_per_gib(t1 - t0, len);
	*faults = (double)(f1 - f0) / ((double)len / (double)GiB);
	return 0;
}

static int fault_lib(struct bdev *b, uint64_t len, bool populate, double *ms, double *faults)
{
	struct daxalloc_region *r;
	uint64_t t0, t1;
	long f0, f1;
	int rc;

	if (populate) {
		f0 = faults_now();
		t0 = now_ns();
		rc = daxalloc_alloc(b->pool, len, NULL, DAXALLOC_ALLOC_POPULATE, &r);
		if (rc < 0)
			return rc;
	} else {
		rc = daxalloc_alloc(b->pool, len, NULL, 0, &r);
		if (rc < 0)
			return rc;
		f0 = faults_now();
		t0 = now_ns();
	}
	touch_write(daxalloc_region_get_address(r), len, b->align);
	t1 = now_ns();
	f1 = faults_now();
	daxalloc_region_free(&r);
	*ms = ms_per_gib(t1 - t0, len);
	*faults = (double)(f1 - f0) / ((double)len / (double)GiB);
	return 0;
}

static void bench_fault_dev(const char *spec)
{
	uint64_t len = B.quick ? 0 : B.size, a = standin_align(spec), off;
	int n = iters(5);
	double lt[n][2], lf[n][2], bt[n][2], bf[n][2];
	char why[512] = "", al[32], ls[32];
	struct daxalloc_region *probe;
	struct bdev b;
	int rc;

	if (B.quick)
		len = a ? a : 2 * MiB;
	rc = bdev_open(spec, len, &b, why, sizeof(why));
	if (rc < 0 && B.quick)
		rc = bdev_open(spec, len = GiB, &b, why, sizeof(why));
	if (rc < 0) {
		struct result *r = add_result("fault", spec ? spec : "default", spec, "", NAN, NAN,
					      "ms/GiB", false, 0);

		note(r, "%s", why);
		return;
	}
	len = roundup(len, b.align);
	if (b.align == PAGE_4K)
		B.saw_4k = true;
	/* Where the library puts it; the baseline maps that same memory. */
	rc = daxalloc_alloc(b.pool, len, NULL, 0, &probe);
	if (rc < 0) {
		struct result *r = add_result("fault", b.name, b.name, "", NAN, NAN, "ms/GiB", false, 0);

		note(r, "%s", daxalloc_errmsg());
		bdev_close(&b);
		return;
	}
	off = daxalloc_region_get_offset(probe);
	daxalloc_region_free(&probe);
	say("fault: %s on %s", szs(len, ls, sizeof(ls)), b.name);
	/*
	 * One untimed round first: on the stand-in it puts the pages in the
	 * memfd, where they then stay, as device-dax memory always is.
	 */
	for (int i = -1; i < n && !why[0]; i++) {
		for (int k = 0; k < 2; k++) {
			double m1 = 0, f1 = 0, m2 = 0, f2 = 0;

			if (i & 1) {
				rc = fault_raw(b.rawfd, off, len, b.align, k, &m2, &f2);
				if (rc == 0)
					rc = fault_lib(&b, len, k, &m1, &f1);
			} else {
				rc = fault_lib(&b, len, k, &m1, &f1);
				if (rc == 0)
					rc = fault_raw(b.rawfd, off, len, b.align, k, &m2, &f2);
			}
			if (rc < 0) {
				snprintf(why, sizeof(why), "%s", daxalloc_errmsg()[0] ? daxalloc_errmsg() :
					 strerror(-rc));
				break;
			}
			if (i < 0)
				continue;
			lt[i][k] = m1;
			lf[i][k] = f1;
			bt[i][k] = m2;
			bf[i][k] = f2;
		}
	}
	if (why[0])
		for (int i = 0; i < n; i++)
			lt[i][0] = lt[i][1] = bt[i][0] = bt[i][1] = lf[i][0] = lf[i][1] =
				bf[i][0] = bf[i][1] = NAN;
	fault_rows(szs(b.align, al, sizeof(al)), ls, b.name, "mmap of the device", lt, lf, bt, bf,
		   n, why[0] ? why : NULL);
	bdev_close(&b);
}

/* 4K pages on the host: a shmem memfd, resident like device memory. */
static void bench_fault_4k(void)
{
	uint64_t len = B.quick ? 16 * MiB : B.size;
	int n = iters(5), fd;
	double bt[n][2], bf[n][2];
	char ls[32];

	fd = memfd_create("daxalloc-bench-4k", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)len) < 0) {
		struct result *r = add_result("fault", "4K", "shmem", "", NAN, NAN, "ms/GiB", false, 0);

		note(r, "memfd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	say("fault: %s on 4K shmem", szs(len, ls, sizeof(ls)));
	for (int i = -1; i < n; i++)
		for (int k = 0; k < 2; k++) {
			double m = NAN, f = NAN;

			if (fault_raw(fd, 0, len, PAGE_4K, k, &m, &f) < 0)
				m = f = NAN;
			if (i >= 0) {
				bt[i][k] = m;
				bf[i][k] = f;
			}
		}
	close(fd);
	fault_rows("4K", ls, "shmem", "mmap of a memfd", NULL, NULL, bt, bf, n,
		   "no library value: the stand-in has no 4K pages (shmem memfd, kernel only)");
}

/* ---- warm restart ---------------------------------------------------------------- */

static int make_file(const char *path, const char *data, uint64_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint64_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t w = write(fd, data + done, (size_t)(len - done < 64 * MiB ? len - done : 64 * MiB));

		if (w <= 0) {
			int e = w < 0 ? errno : EIO;

			close(fd);
			return -e;
		}
		done += (uint64_t)w;
	}
	if (fsync(fd) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return close(fd) < 0 ? -errno : 0;
}

/* A restarted program without the library: a fresh buffer, filled from the file. */
static int reread(const char *path, uint64_t len, uint64_t *sum)
{
	char *buf = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t done = 0;
	int fd, rc = 0;

	if (buf == MAP_FAILED)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		munmap(buf, (size_t)len);
		return rc;
	}
	while (done < len) {
		ssize_t r = read(fd, buf + done, (size_t)(len - done < 64 * MiB ? len - done : 64 * MiB));

		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			break;
		}
		done += (uint64_t)r;
	}
	close(fd);
	if (rc == 0)
		*sum = touch_read(buf, len);
	munmap(buf, (size_t)len);
	return rc;
}

static void bench_restart_dev(const char *spec)
{
	uint64_t len = B.quick ? 0 : B.size, a = standin_align(spec), want = 0;
	const char *tmp = B.tmpdir ? B.tmpdir : getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	int n = iters(3), rc;
	double lv[n], bv[n];
	char why[512] = "", bwhy[512] = "", path[256], variant[96], al[32], ls[32];
	struct daxalloc_region *r = NULL;
	struct result *res;
	struct bdev b;

	if (B.quick)
		len = a ? a : 2 * MiB;
	rc = bdev_open(spec, len, &b, why, sizeof(why));
	if (rc < 0 && B.quick)
		rc = bdev_open(spec, len = GiB, &b, why, sizeof(why));
	if (rc == 0) {
		len = roundup(len, b.align);
		rc = daxalloc_alloc(b.pool, len, "bench-restart", 0, &r);
		if (rc < 0) {
			snprintf(why, sizeof(why), "%s", daxalloc_errmsg());
			bdev_close(&b);
		}
	}
	if (rc < 0) {
		res = add_result("restart", spec ? spec : "default", spec, "", NAN, NAN, "ms/GiB",
				 false, 0);
		note(res, "%s", why);
		return;
	}
	/* Data worth having: the same bytes in the region and in the file. */
	{
		uint64_t *w = daxalloc_region_get_address(r);

		for (uint64_t i = 0; i < len / 8; i++)
			w[i] = i * 0x9e3779b97f4a7c15ull;
		want = touch_read(daxalloc_region_get_address(r), len);
	}
	snprintf(path, sizeof(path), "%s/daxalloc-bench-%d.dat", tmp, (int)getpid());
	rc = make_file(path, daxalloc_region_get_address(r), len);
	if (rc < 0)
		snprintf(bwhy, sizeof(bwhy), "cannot write %s: %s", path, strerror(-rc));
	daxalloc_region_close(&r);
	daxalloc_pool_close(&b.pool);
	say("restart: %s on %s", szs(len, ls, sizeof(ls)), b.name);
	for (int i = -1; i < n; i++) {
		for (int k = 0; k < 2; k++) {
			bool lib = (k ^ (i & 1)) == 0;
			uint64_t t0, t1, sum = 0;

			if (lib) {
				t0 = now_ns();
				rc = daxalloc_pool_open(b.dev, 0, &b.pool);
				if (rc == 0)
					rc = daxalloc_region_open(b.pool, "bench-restart", 0, &r);
				if (rc == 0)
					sum = touch_read(daxalloc_region_get_address(r), len);
				t1 = now_ns();
				if (rc < 0 && !why[0])
					snprintf(why, sizeof(why), "%s", daxalloc_errmsg());
				else if (rc == 0 && sum != want && !why[0])
					snprintf(why, sizeof(why), "the region came back with other data");
				daxalloc_region_close(&r);
				daxalloc_pool_close(&b.pool);
				if (i >= 0)
					lv[i] = why[0] ? NAN : ms_per_gib(t1 - t0, len);
			} else {
				if (bwhy[0]) {
					if (i >= 0)
						bv[i] = NAN;
					continue;
				}
				t0 = now_ns();
				rc = reread(path, len, &sum);
				t1 = now_ns();
				if (rc == -EINVAL)
					snprintf(bwhy, sizeof(bwhy), "the filesystem of %s has no O_DIRECT", tmp);
				else if (rc < 0)
					snprintf(bwhy, sizeof(bwhy), "reading %s: %s", path, strerror(-rc));
				else if (sum != want)
					snprintf(bwhy, sizeof(bwhy), "the file read back other data");
				if (i >= 0)
					bv[i] = bwhy[0] ? NAN : ms_per_gib(t1 - t0, len);
			}
		}
	}
	unlink(path);
	/* Leave the device as found. */
	if (daxalloc_pool_open(b.dev, 0, &b.pool) == 0)
		daxalloc_pool_free_name(b.pool, "bench-restart");
	snprintf(variant, sizeof(variant), "%s %s named region", szs(b.align, al, sizeof(al)), ls);
	res = add_result("restart", variant, b.name, "O_DIRECT read of a file", best_low(lv, n),
			 best_low(bv, n), "ms/GiB", false, n);
	if (why[0])
		note(res, "library: %s", why);
	if (bwhy[0])
		note(res, "baseline: %s", bwhy);
	bdev_close(&b);
}

/* ---- output ------------------------------------------------------------------ */

static double ratio(const struct result *r)
{
	if (isnan(r->lib) || isnan(r->base) || r->base <= 0)
		return NAN;
	return r->lib / r->base;
}

static struct json_object *num(double v)
{
	return isnan(v) ? NULL : json_object_new_double(v);
}

static void print_json(void)
{
	struct json_object *o = json_object_new_object(), *rows = json_object_new_array();
	struct json_object *devs = json_object_new_array();

	for (int i = 0; i < B.ndevs; i++)
		json_object_array_add(devs, json_object_new_string(B.devs[i] ? B.devs[i] : "default"));
	json_object_object_add(o, "tool", json_object_new_string("daxalloc-bench"));
	json_object_object_add(o, "version", json_object_new_string(daxalloc_version()));
	json_object_object_add(o, "quick", json_object_new_boolean(B.quick));
	json_object_object_add(o, "machine", json_object_new_string(B.machine));
	json_object_object_add(o, "kernel", json_object_new_string(B.kernel));
	json_object_object_add(o, "stat", json_object_new_string("best"));
	json_object_object_add(o, "devices", devs);
	for (size_t i = 0; i < B.nres; i++) {
		const struct result *r = &B.res[i];
		struct json_object *row = json_object_new_object();

		json_object_object_add(row, "metric", json_object_new_string(r->metric));
		json_object_object_add(row, "variant", json_object_new_string(r->variant));
		json_object_object_add(row, "device", json_object_new_string(r->device));
		json_object_object_add(row, "baseline", json_object_new_string(r->baseline));
		json_object_object_add(row, "library", num(r->lib));
		json_object_object_add(row, "baseline_value", num(r->base));
		json_object_object_add(row, "unit", json_object_new_string(r->unit));
		json_object_object_add(row, "ratio", num(ratio(r)));
		json_object_object_add(row, "higher_is_better", json_object_new_boolean(r->higher_better));
		json_object_object_add(row, "iterations", json_object_new_int(r->iterations));
		json_object_object_add(row, "stat", json_object_new_string("best"));
		json_object_object_add(row, "machine", json_object_new_string(B.machine));
		json_object_object_add(row, "kernel", json_object_new_string(B.kernel));
		json_object_object_add(row, "note", json_object_new_string(r->note));
		json_object_array_add(rows, row);
	}
	json_object_object_add(o, "results", rows);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void fmt_val(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.4g", v);
}

static void print_text(void)
{
	printf("%s; %s; best of N\n", B.machine, B.kernel);
	printf("%-8s %-36s %-28s %12s %12s %-10s %7s %3s\n", "metric", "variant", "baseline",
	       "library", "baseline", "unit", "ratio", "N");
	for (size_t i = 0; i < B.nres; i++) {
		const struct result *r = &B.res[i];
		char l[32], b[32], q[32];

		fmt_val(r->lib, l, sizeof(l));
		fmt_val(r->base, b, sizeof(b));
		fmt_val(ratio(r), q, sizeof(q));
		printf("%-8s %-36s %-28s %12s %12s %-10s %7s %3d\n", r->metric, r->variant,
		       r->baseline, l, b, r->unit, q, r->iterations);
		if (r->note[0])
			printf("         ^ %s\n", r->note);
	}
}

/* ---- main ------------------------------------------------------------------------ */

static int usage(FILE *f, int status)
{
	fprintf(f,
		"usage: daxalloc-bench [--json] [--quick] [--device DEV]... [--only LIST]\n"
		"                      [--iterations N] [--threads N] [--size SIZE] [--pin-max SIZE]\n"
		"                      [--vfio-group /dev/vfio/N] [--rdma IBDEV] [--tmpdir DIR] [--format]\n"
		"                      [--iommufd-cdev /dev/vfio/devices/vfioN] [--no-4k] [--no-held]\n"
		"  --device DEV     a device to measure (repeatable; default: the library's default\n"
		"                   device); the stand-in hugetlb:2M / hugetlb:1G is sized as needed\n"
		"  --only LIST      some of pin,alloc,fault,restart (default: all)\n"
		"  --quick          smoke run: smallest sizes, 2 iterations\n"
		"  --iterations N   runs per value (the best is reported)\n"
		"  --threads N      threads of the concurrent alloc run (default 4)\n"
		"  --size SIZE      pin, fault and restart size (default 1G)\n"
		"  --pin-max SIZE   the large pin: the largest that fits, at most SIZE (default 16G)\n"
		"  --vfio-group G   also pin for VFIO type1 through group G\n"
		"  --rdma IBDEV     also pin for RDMA (ibv_reg_mr) on IBDEV\n"
		"  --iommufd-cdev D also pin for iommufd (IOMMU_IOAS_MAP), VFIO device cdev D attached\n"
		"  --tmpdir DIR     where the O_DIRECT file of the restart run goes (default $TMPDIR\n"
		"                   or /var/tmp)\n"
		"  --format         a real device without a pool gets one (destroys its regions)\n"
		"  --no-4k          without a 4K device, skip the kernel-only 4K cases (anonymous\n"
		"                   and shmem memory) that otherwise stand in for it\n"
		"  --no-held        skip the pins on a pool holding 512 other regions\n");
	return status;
}

static int parse_only(const char *list)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	B.only = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "pin") == 0)
			B.only |= M_PIN;
		else if (strcmp(t, "alloc") == 0)
			B.only |= M_ALLOC;
		else if (strcmp(t, "fault") == 0)
			B.only |= M_FAULT;
		else if (strcmp(t, "restart") == 0)
			B.only |= M_RESTART;
		else
			return -EINVAL;
	}
	return B.only ? 0 : -EINVAL;
}

static int log_quiet(void)
{
	/* The stand-in warns on every open; keep stderr for progress. */
	if (!getenv("DAXALLOC_LOG"))
		daxalloc_ctx_set_log_priority(B.ctx, LOG_ERR);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "device", required_argument, NULL, 'd' },
		{ "only", required_argument, NULL, 'o' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "pin-max", required_argument, NULL, 'P' },
		{ "vfio-group", required_argument, NULL, 'V' },
		{ "rdma", required_argument, NULL, 'R' },
		{ "iommufd-cdev", required_argument, NULL, 'I' },
		{ "tmpdir", required_argument, NULL, 'T' },
		{ "format", no_argument, NULL, 'F' },
		{ "no-4k", no_argument, NULL, '4' },
		{ "no-held", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool size_given = false;
	int c;

	while ((c = getopt_long(argc, argv, "jqd:o:n:t:s:P:V:R:I:T:F4Hh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			B.json = true;
			break;
		case 'q':
			B.quick = true;
			break;
		case 'd':
			if (B.ndevs == MAX_DEVS)
				return usage(stderr, 2);
			B.devs[B.ndevs++] = optarg;
			break;
		case 'o':
			if (parse_only(optarg) < 0) {
				say("--only takes pin,alloc,fault,restart");
				return 2;
			}
			break;
		case 'n':
			B.iters = atoi(optarg);
			if (B.iters < 1)
				return usage(stderr, 2);
			break;
		case 't':
			B.threads = atoi(optarg);
			if (B.threads < 1 || B.threads > 64)
				return usage(stderr, 2);
			break;
		case 's':
		case 'P':
			size_given |= c == 's';
			if (daxalloc_size_parse(optarg, c == 's' ? &B.size : &B.pin_max) < 0 ||
			    !(c == 's' ? B.size : B.pin_max)) {
				say("%s: %s", optarg, daxalloc_errmsg());
				return 2;
			}
			break;
		case 'V':
			B.vfio_group = optarg;
			break;
		case 'I':
			B.iommufd_cdev = optarg;
			break;
		case 'R':
#ifndef HAVE_IBVERBS
			say("built without libibverbs: no RDMA");
			return 2;
#endif
			B.rdma_dev = optarg;
			break;
		case 'T':
			B.tmpdir = optarg;
			break;
		case 'F':
			B.format = true;
			break;
		case '4':
			B.no_4k = true;
			break;
		case 'H':
			B.no_held = true;
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			return usage(stderr, 2);
		}
	}
	if (optind < argc)
		return usage(stderr, 2);
	/* Smoke runs pin a little: one unit of 1G pages, 16M of the rest. */
	if (B.quick && !size_given)
		B.size = 16 * MiB;
	if (daxalloc_ctx_new(&B.ctx) < 0) {
		say("%s", daxalloc_errmsg());
		return 1;
	}
	log_quiet();
	describe_machine();
	if (B.ndevs == 0) {
		B.devs[B.ndevs] = resolve_default();
		if (!B.devs[B.ndevs++]) {
			say("no default device: %s", daxalloc_errmsg());
			return 1;
		}
	}

	for (int i = 0; i < B.ndevs; i++) {
		if (B.only & M_PIN)
			bench_pin_dev(B.devs[i]);
		if (B.only & M_ALLOC)
			bench_alloc_dev(B.devs[i]);
		if (B.only & M_FAULT)
			bench_fault_dev(B.devs[i]);
		if (B.only & M_RESTART)
			bench_restart_dev(B.devs[i]);
	}
	/* 4K where no device offers it: the kernel alone, for the 1G/4K ratio. */
	if (!B.saw_4k && !B.no_4k && (B.only & M_PIN))
		bench_pin_anon();
	if (!B.saw_4k && !B.no_4k && (B.only & M_FAULT))
		bench_fault_4k();
	hp2m_release();

	if (B.json)
		print_json();
	else
		print_text();
	daxalloc_ctx_delete(&B.ctx);
	return 0;
}
