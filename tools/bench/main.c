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
 *
 * This file: options, devices, results and their output.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
/*
 * The library's own internals, for what no public call gives and a
 * benchmark needs: the stand-in's memfd (the baseline maps the very pages
 * the library maps), the metadata's size (where the baseline's data
 * starts), stand-in names and /proc/meminfo read as the library reads
 * them.  The bench links the library's internal objects (it is not
 * shipped: debian/not-installed).
 */
#include "metadata.h"
#include "private.h"

/* ---- small helpers ------------------------------------------------------ */

void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "daxalloc-bench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

uint64_t now_ns(void)
{
	return mono_ns();
}

uint64_t roundup(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

double ms_per_gib(uint64_t ns, uint64_t len)
{
	return (double)ns / 1e6 / ((double)len / (double)GiB);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * On a shared machine the best run is the one least disturbed by others:
 * the median would measure the neighbours.
 */
double best_of(const double *v, int n, bool higher_better)
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

const char *szs(uint64_t v, char *buf, size_t len)
{
	return size_str(v, buf, len);
}

int iters(const struct bench *b, int dflt)
{
	if (b->iters > 0)
		return b->iters;
	return b->quick ? 2 : dflt;
}

struct result *add_result(struct bench *b, const char *metric, const char *variant,
			  const char *device, const char *baseline, double lib, double base,
			  const char *unit, bool higher_better, int n)
{
	struct result *r;

	if (b->nres == b->capres) {
		size_t cap = b->capres ? 2 * b->capres : 64;
		struct result *v = realloc(b->res, cap * sizeof(*v));

		if (!v) {
			say("out of memory");
			exit(1);
		}
		b->res = v;
		b->capres = cap;
	}
	r = &b->res[b->nres++];
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

void note(struct result *r, const char *fmt, ...)
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

void skip_result(struct bench *b, const char *metric, const char *variant, const char *device,
		 const char *unit, bool higher_better, const char *why)
{
	note(add_result(b, metric, variant, device, "", NAN, NAN, unit, higher_better, 0), "%s", why);
}

uint64_t meminfo_bytes(const char *field)
{
	uint64_t v = 0;

	return procfs_meminfo(&field, 1, &v) == 0 ? v : 0;
}

uint64_t hugetlb_free_bytes(uint64_t align)
{
	uint64_t fr = 0, rs = 0;

	if (sysfs_hugepages_read(align, "free_hugepages", &fr) < 0)
		return 0;
	if (sysfs_hugepages_read(align, "resv_hugepages", &rs) < 0)
		rs = 0;
	return fr > rs ? (fr - rs) * align : 0;
}

static void describe_machine(struct bench *b)
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
	snprintf(b->machine, sizeof(b->machine), "%s, %ld CPUs, %s, %" PRIu64 " GiB RAM", u.machine,
		 sysconf(_SC_NPROCESSORS_ONLN), cpu, (meminfo_bytes("MemTotal") + GiB / 2) / GiB);
	snprintf(b->kernel, sizeof(b->kernel), "Linux %s", u.release);
}

void touch_write(char *p, uint64_t len, uint64_t stride)
{
	for (uint64_t o = 0; o < len; o += stride)
		((volatile char *)p)[o] = (char)o;
}

uint64_t touch_read(const char *p, uint64_t len)
{
	uint64_t sum = 0;

	for (uint64_t o = 0; o < len; o += PAGE_4K)
		sum += *(const volatile uint64_t *)(p + o);
	return sum;
}

/* ---- devices -------------------------------------------------------------- */

uint64_t bench_meta_size(uint64_t align)
{
	return dxa_meta_size(align);
}

uint64_t standin_align(const char *spec)
{
	uint64_t align, size;

	if (!spec || strncmp(spec, "hugetlb:", 8) != 0 || hugetlb_parse_name(spec, &align, &size) < 0)
		return 0;
	return align;
}

void bench_dev_close(struct bench_dev *d)
{
	if (d->rawfd >= 0)
		close(d->rawfd);
	d->rawfd = -1;
	daxalloc_pool_close(&d->pool);
	daxalloc_dev_close(&d->dev);
}

/* The library's default device, named: "hugetlb:1G" or a devdax path. */
static const char *resolve_default(struct bench *b)
{
	static char name[96];
	struct daxalloc_dev *d;

	if (daxalloc_dev_open(b->ctx, NULL, &d) < 0)
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

void bench_dev_free_leftovers(struct bench_dev *d)
{
	daxalloc_pool_foreach_region(d->pool, free_bench_region, d->pool);
}

/*
 * The same memory by hand: the device node, or for the stand-in its
 * memfd, opened again (a file of its own, as a program would have).
 */
static int open_raw(struct bench_dev *d)
{
	char path[64];
	int fd;

	if (d->standin)
		snprintf(path, sizeof(path), "/proc/self/fd/%d", d->dev->fd);
	fd = open(d->standin ? path : daxalloc_dev_get_path(d->dev), O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int bench_dev_open(struct bench *b, const char *spec, uint64_t need, struct bench_dev *d, char *why,
		   size_t whylen)
{
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
	char name[96], s[32];
	uint64_t a;
	int rc;

	memset(d, 0, sizeof(*d));
	d->rawfd = -1;
	a = standin_align(spec);
	if (a) {
		char sz[96];

		snprintf(sz, sizeof(sz), "hugetlb:%s:%s", a == GiB ? "1G" : "2M",
			 szs(bench_meta_size(a) + roundup(need, a), s, sizeof(s)));
		rc = daxalloc_dev_open(b->ctx, sz, &d->dev);
		if (rc < 0)
			goto lib_fail;
		rc = daxalloc_pool_create(d->dev, 0, &d->pool);
	} else {
		rc = daxalloc_dev_open(b->ctx, spec, &d->dev);
		if (rc < 0)
			goto lib_fail;
		rc = daxalloc_pool_open(d->dev, 0, &d->pool);
		if (rc < 0 && b->format)
			rc = daxalloc_pool_create(d->dev, DAXALLOC_POOL_FORCE, &d->pool);
		else if (rc == -ENODATA) {
			snprintf(why, whylen,
				 "%s holds no pool: format it (daxalloc-ctl format) or pass --format",
				 spec);
			bench_dev_close(d);
			return rc;
		}
		/* Leftovers of an interrupted run. */
		if (rc == 0)
			bench_dev_free_leftovers(d);
	}
	if (rc < 0)
		goto lib_fail;
	snprintf(d->name, sizeof(d->name), "%s", daxalloc_dev_get_name(d->dev));
	d->align = daxalloc_dev_get_align(d->dev);
	d->data = bench_meta_size(d->align);
	d->standin = daxalloc_dev_is_standin(d->dev);
	rc = daxalloc_pool_get_stats(d->pool, &st);
	if (rc < 0)
		goto lib_fail;
	if (st.largest_free < roundup(need, d->align)) {
		snprintf(why, whylen, "%s: %s free in one piece, the benchmark needs %s", d->name,
			 szs(st.largest_free, name, sizeof(name)), szs(need, s, sizeof(s)));
		bench_dev_close(d);
		return -ENOSPC;
	}
	d->rawfd = open_raw(d);
	if (d->rawfd < 0) {
		rc = d->rawfd;
		snprintf(why, whylen, "%s: cannot open the device by hand: %s", d->name,
			 strerror(-rc));
		bench_dev_close(d);
		return rc;
	}
	return 0;
lib_fail:
	snprintf(why, whylen, "%s", daxalloc_errmsg());
	bench_dev_close(d);
	return rc;
}

int bench_dev_open_len(struct bench *b, const char *spec, uint64_t *len, struct bench_dev *d,
		       char *why, size_t whylen)
{
	int rc = bench_dev_open(b, spec, *len, d, why, whylen);

	if (rc < 0 && b->quick)
		rc = bench_dev_open(b, spec, *len = GiB, d, why, whylen);
	/* callers take a reason left in @why for a failure */
	if (rc == 0)
		why[0] = '\0';
	return rc;
}

/* ---- output ------------------------------------------------------------------ */

static double ratio(const struct result *r)
{
	if (isnan(r->lib) || isnan(r->base) || r->base <= 0)
		return NAN;
	return r->lib / r->base;
}

static void put_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

/* null when not measured */
static void put_num(struct json_object *o, const char *key, double v)
{
	json_object_object_add(o, key, isnan(v) ? NULL : json_object_new_double(v));
}

static void print_json(const struct bench *b)
{
	struct json_object *o = json_object_new_object(), *rows = json_object_new_array();
	struct json_object *devs = json_object_new_array();

	for (int i = 0; i < b->ndevs; i++)
		json_object_array_add(devs,
				      json_object_new_string(b->devs[i] ? b->devs[i] : "default"));
	put_str(o, "tool", "daxalloc-bench");
	put_str(o, "version", daxalloc_version());
	json_object_object_add(o, "quick", json_object_new_boolean(b->quick));
	put_str(o, "machine", b->machine);
	put_str(o, "kernel", b->kernel);
	put_str(o, "stat", "best");
	json_object_object_add(o, "devices", devs);
	for (size_t i = 0; i < b->nres; i++) {
		const struct result *r = &b->res[i];
		struct json_object *row = json_object_new_object();

		put_str(row, "metric", r->metric);
		put_str(row, "variant", r->variant);
		put_str(row, "device", r->device);
		put_str(row, "baseline", r->baseline);
		put_num(row, "library", r->lib);
		put_num(row, "baseline_value", r->base);
		put_str(row, "unit", r->unit);
		put_num(row, "ratio", ratio(r));
		json_object_object_add(row, "higher_is_better",
				       json_object_new_boolean(r->higher_better));
		json_object_object_add(row, "iterations", json_object_new_int(r->iterations));
		put_str(row, "stat", "best");
		put_str(row, "machine", b->machine);
		put_str(row, "kernel", b->kernel);
		put_str(row, "note", r->note);
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

static void print_text(const struct bench *b)
{
	printf("%s; %s; best of N\n", b->machine, b->kernel);
	printf("%-8s %-36s %-28s %12s %12s %-10s %7s %3s\n", "metric", "variant", "baseline",
	       "library", "baseline", "unit", "ratio", "N");
	for (size_t i = 0; i < b->nres; i++) {
		const struct result *r = &b->res[i];
		char l[32], v[32], q[32];

		fmt_val(r->lib, l, sizeof(l));
		fmt_val(r->base, v, sizeof(v));
		fmt_val(ratio(r), q, sizeof(q));
		printf("%-8s %-36s %-28s %12s %12s %-10s %7s %3d\n", r->metric, r->variant,
		       r->baseline, l, v, r->unit, q, r->iterations);
		if (r->note[0])
			printf("         ^ %s\n", r->note);
	}
}

/* ---- main ------------------------------------------------------------------------ */

/* Where a plain option goes in struct bench: a flag set, or its argument kept. */
#define FLAG(member) .kind = OPT_FLAG, .at = offsetof(struct bench, member)
#define STRING(member) .kind = OPT_STRING, .at = offsetof(struct bench, member)

/* Every option: getopt's tables and the lines of --help are made from this. */
static const struct bench_option {
	const char *name;
	int val;
	const char *arg;  /* NULL: takes none */
	const char *help; /* NULL: in the synopsis only; "\n" continues a line */
	enum { OPT_OTHER, OPT_FLAG, OPT_STRING } kind; /* OPT_OTHER: parse_args() handles it */
	size_t at;
} options[] = {
	{ "device", 'd', "DEV",
	  "a device to measure (repeatable; default: the library's default\n"
	  "device); the stand-in hugetlb:2M / hugetlb:1G is sized as needed" },
	{ "only", 'o', "LIST", "some of pin,alloc,fault,restart (default: all)" },
	{ "quick", 'q', NULL, "smoke run: smallest sizes, 2 iterations", FLAG(quick) },
	{ "iterations", 'n', "N", "runs per value (the best is reported)" },
	{ "threads", 't', "N", "threads of the concurrent alloc run (default 4)" },
	{ "size", 's', "SIZE", "pin, fault and restart size (default 1G)" },
	{ "pin-max", 'P', "SIZE", "the large pin: the largest that fits, at most SIZE (default 16G)" },
	{ "vfio-group", 'V', "G", "also pin for VFIO type1 through group G", STRING(vfio_group) },
	{ "rdma", 'R', "IBDEV", "also pin for RDMA (ibv_reg_mr) on IBDEV" },
	{ "iommufd-cdev", 'I', "D",
	  "also pin for iommufd (IOMMU_IOAS_MAP), VFIO device cdev D attached", STRING(iommufd_cdev) },
	{ "tmpdir", 'T', "DIR",
	  "where the O_DIRECT file of the restart run goes (default $TMPDIR\n"
	  "or /var/tmp)",
	  STRING(tmpdir) },
	{ "format", 'F', NULL, "a real device without a pool gets one (destroys its regions)",
	  FLAG(format) },
	{ "no-4k", '4', NULL,
	  "without a 4K device, skip the kernel-only 4K cases (anonymous\n"
	  "and shmem memory) that otherwise stand in for it",
	  FLAG(no_4k) },
	{ "no-held", 'H', NULL, "skip the pins on a pool holding 512 other regions", FLAG(no_held) },
	{ "json", 'j', NULL, NULL, FLAG(json) },
	{ "help", 'h', NULL, NULL },
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static int usage(FILE *f, int status)
{
	fprintf(f,
		"usage: daxalloc-bench [--json] [--quick] [--device DEV]... [--only LIST]\n"
		"                      [--iterations N] [--threads N] [--size SIZE] [--pin-max SIZE]\n"
		"                      [--vfio-group /dev/vfio/N] [--rdma IBDEV] [--tmpdir DIR] [--format]\n"
		"                      [--iommufd-cdev /dev/vfio/devices/vfioN] [--no-4k] [--no-held]\n");
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct bench_option *o = &options[i];
		char left[32];

		if (!o->help)
			continue;
		snprintf(left, sizeof(left), "%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(f, "  --%-14s ", left);
		/* continuation lines under the first line's text */
		for (const char *c = o->help; *c; c++) {
			if (*c == '\n')
				fprintf(f, "\n%19s", "");
			else
				fputc(*c, f);
		}
		fputc('\n', f);
	}
	return status;
}

static int parse_only(struct bench *b, const char *list)
{
	static const char *const names[] = { "pin", "alloc", "fault", "restart" };
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	b->only = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned int bit = 0;

		for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(t, names[i]) == 0)
				bit = 1u << i;
		if (!bit)
			return -EINVAL;
		b->only |= bit;
	}
	return b->only ? 0 : -EINVAL;
}

/* A size option: non-zero, in the library's notation.  0, or the exit status. */
static int parse_size(const char *arg, uint64_t *out)
{
	if (daxalloc_size_parse(arg, out) < 0) {
		say("%s: %s", arg, daxalloc_errmsg());
		return 2;
	}
	if (!*out) {
		say("%s: a size must not be zero", arg);
		return 2;
	}
	return 0;
}

static const struct bench_option *option_of(int val)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (options[i].val == val)
			return &options[i];
	return NULL;
}

/* The options into @b: 0 to run, -1 to exit with 0 (--help), else the exit status. */
static int parse_args(struct bench *b, int argc, char **argv)
{
	struct option opts[NOPTIONS + 1] = { { NULL, 0, NULL, 0 } };
	char shorts[2 * NOPTIONS + 1], *sp = shorts;
	bool size_given = false;
	int c, rc = 0;

	for (size_t i = 0; i < NOPTIONS; i++) {
		opts[i].name = options[i].name;
		opts[i].has_arg = options[i].arg ? required_argument : no_argument;
		opts[i].val = options[i].val;
		*sp++ = (char)options[i].val;
		if (options[i].arg)
			*sp++ = ':';
	}
	*sp = '\0';
	while (!rc && (c = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		const struct bench_option *o = option_of(c);

		if (o && o->kind == OPT_FLAG) {
			*(bool *)((char *)b + o->at) = true;
			continue;
		}
		if (o && o->kind == OPT_STRING) {
			*(const char **)((char *)b + o->at) = optarg;
			continue;
		}
		switch (c) {
		case 'd':
			if (b->ndevs == MAX_DEVS)
				return usage(stderr, 2);
			b->devs[b->ndevs++] = optarg;
			break;
		case 'o':
			if (parse_only(b, optarg) < 0) {
				say("--only takes pin,alloc,fault,restart");
				return 2;
			}
			break;
		case 'n':
			b->iters = atoi(optarg);
			if (b->iters < 1)
				return usage(stderr, 2);
			break;
		case 't':
			b->threads = atoi(optarg);
			if (b->threads < 1 || b->threads > 64)
				return usage(stderr, 2);
			break;
		case 's':
			size_given = true;
			rc = parse_size(optarg, &b->size);
			break;
		case 'P':
			rc = parse_size(optarg, &b->pin_max);
			break;
		case 'R':
#ifndef HAVE_IBVERBS
			say("built without libibverbs: no RDMA");
			return 2;
#endif
			b->rdma_dev = optarg;
			break;
		case 'h':
			usage(stdout, 0);
			return -1;
		default:
			return usage(stderr, 2);
		}
	}
	if (rc)
		return rc;
	if (optind < argc)
		return usage(stderr, 2);
	/* Smoke runs pin a little: one unit of 1G pages, 16M of the rest. */
	if (b->quick && !size_given)
		b->size = 16 * MiB;
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = { .threads = 4, .size = GiB, .pin_max = 16 * GiB, .only = M_ALL };
	int rc = parse_args(&b, argc, argv);

	/* --help: -1 here, 0 to the shell */
	if (rc)
		return rc < 0 ? 0 : rc;
	if (daxalloc_ctx_new(&b.ctx) < 0) {
		say("%s", daxalloc_errmsg());
		return 1;
	}
	/* The stand-in warns on every open; keep stderr for progress. */
	if (!getenv("DAXALLOC_LOG"))
		daxalloc_ctx_set_log_priority(b.ctx, LOG_ERR);
	describe_machine(&b);
	if (b.ndevs == 0) {
		b.devs[b.ndevs] = resolve_default(&b);
		if (!b.devs[b.ndevs++]) {
			say("no default device: %s", daxalloc_errmsg());
			return 1;
		}
	}

	for (int i = 0; i < b.ndevs; i++) {
		if (b.only & M_PIN)
			bench_pin_dev(&b, b.devs[i]);
		if (b.only & M_ALLOC)
			bench_alloc_dev(&b, b.devs[i]);
		if (b.only & M_FAULT)
			bench_fault_dev(&b, b.devs[i]);
		if (b.only & M_RESTART)
			bench_restart_dev(&b, b.devs[i]);
	}
	/* 4K where no device offers it: the kernel alone, for the 1G/4K ratio. */
	if (!b.saw_4k && !b.no_4k && (b.only & M_PIN))
		bench_pin_anon(&b);
	if (!b.saw_4k && !b.no_4k && (b.only & M_FAULT))
		bench_fault_4k(&b);
	bench_alloc_done(&b);

	if (b.json)
		print_json(&b);
	else
		print_text(&b);
	free(b.res);
	daxalloc_ctx_delete(&b.ctx);
	return 0;
}
