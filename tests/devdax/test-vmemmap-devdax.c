// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The vmemmap measurement on real device-dax in the guest.  On the 4 GiB
 * dynamic device (vmem4g) the RAM an enable takes matches the 2-page dedup
 * row at 2M and the undeduplicated memmap at 4K, within 1 MiB or 5% of
 * the model, and is below 4 MiB at 1G; pinning is timed; and the device
 * ends as it started.  A device in use is refused with its user named; a
 * static device is measured at its own alignment only, as closely; a
 * disabled device stays disabled.  The measurement is daxalloc-ctl's
 * (tools/vmemmap-measure.c, linked here); its notes (a cycle run again,
 * memory that would not hold still) go to the test's log.
 *
 * The guest creates vmem4g after the other dynamic devices, on no 1G
 * boundary, and a 1G device must start on one (the kernel takes align 1G
 * anyway, but would map the wrong memory).  So the test moves it there
 * for the measurement, with a spacer device before it, and back after.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <daxctl/libdaxctl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "daxalloc.h"
#include "guest-devices.h"
#include "run-ctl.h"
#include "vmemmap-measure.h"

#define K (UINT64_C(1) << 10)
#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)

enum { NO = DAXALLOC_VMEMMAP_NO_DEDUP };

/*
 * The row the model predicts for this kernel at 2M and 1G with the memmap
 * in RAM, from its version (2-page dedup from 5.19 on): each measurement
 * below is held against it, on every kernel of the guest matrix.  A kernel
 * that dedups otherwise (the 1-page series) fails here, naming the row it
 * measured, until the model knows it.
 */
static int predicted(void)
{
	int row = daxalloc_vmemmap_kernel_row(NULL, true);

	cr_assert_geq(row, 0, "%s", daxalloc_errmsg());
	return row;
}

static void expect_predicted(const char *dev, const struct vmemmap_sample *sm, int row)
{
	cr_expect_eq(sm->match, row,
		     "%s at %lluK: measured %lld bytes, nearest the %s row; the model predicts %s "
		     "for this kernel (%s)",
		     dev, (unsigned long long)(sm->align >> 10), (long long)sm->median,
		     sm->match >= 0 ? daxalloc_vmemmap_row_name(sm->match) : "no",
		     daxalloc_vmemmap_row_name(row),
		     sm->ambiguous ? "another row as near" : "unambiguous");
	cr_expect_not(sm->ambiguous, "%s at %lluK: another row is as near as %s", dev,
		      (unsigned long long)(sm->align >> 10),
		      sm->match >= 0 ? daxalloc_vmemmap_row_name(sm->match) : "none");
}

/* ---- the device as sysfs shows it ------------------------------------------------ */

struct devstate {
	uint64_t size, align;
	bool enabled;
	int n;
	uint64_t start[8], end[8];
};

static uint64_t attr(const char *dev, const char *name)
{
	char path[256], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/%s", dev, name);
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_not_null(fgets(buf, sizeof(buf), f), "%s: empty", path);
	fclose(f);
	return strtoull(buf, NULL, 0);
}

static void snapshot(const char *dev, struct devstate *s)
{
	char path[256];

	memset(s, 0, sizeof(*s));
	s->size = attr(dev, "size");
	s->align = attr(dev, "align");
	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/driver", dev);
	s->enabled = access(path, F_OK) == 0;
	for (int i = 0; i < 8; i++) {
		char m[32];

		snprintf(m, sizeof(m), "mapping%d/start", i);
		snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/%s", dev, m);
		if (access(path, F_OK) != 0)
			break;
		s->start[i] = attr(dev, m);
		snprintf(m, sizeof(m), "mapping%d/end", i);
		s->end[i] = attr(dev, m);
		s->n = i + 1;
	}
}

static void expect_same(const char *dev, const struct devstate *a, const struct devstate *b,
			const char *when)
{
	cr_expect_eq(a->size, b->size, "%s %s: size %llu, was %llu", dev, when,
		     (unsigned long long)b->size, (unsigned long long)a->size);
	cr_expect_eq(a->align, b->align, "%s %s: align %llu, was %llu", dev, when,
		     (unsigned long long)b->align, (unsigned long long)a->align);
	cr_expect_eq(a->enabled, b->enabled, "%s %s: %s, was %s", dev, when,
		     b->enabled ? "enabled" : "disabled", a->enabled ? "enabled" : "disabled");
	cr_expect_eq(a->n, b->n, "%s %s: %d ranges, was %d", dev, when, b->n, a->n);
	for (int i = 0; i < a->n && i < b->n; i++)
		cr_expect(a->start[i] == b->start[i] && a->end[i] == b->end[i],
			  "%s %s: range %d 0x%llx-0x%llx, was 0x%llx-0x%llx", dev, when, i,
			  (unsigned long long)b->start[i], (unsigned long long)b->end[i],
			  (unsigned long long)a->start[i], (unsigned long long)a->end[i]);
}

/* ---- moving vmem4g onto a 1G boundary, and back ------------------------------------- */

static struct {
	char dev[32];
	char spacer[32]; /* "" when nothing was moved */
	uint64_t size;
} moved;

static struct daxctl_dev *dctl_find(struct daxctl_ctx *dc, const char *name)
{
	struct daxctl_region *region;
	struct daxctl_dev *dd;

	daxctl_region_foreach(dc, region)
		daxctl_dev_foreach(region, dd)
			if (strcmp(daxctl_dev_get_devname(dd), name) == 0)
				return dd;
	return NULL;
}

static void move_to_1g(const char *dev, const struct devstate *st)
{
	uint64_t need = (G - st->start[0] % G) % G;
	struct daxctl_region *region;
	struct daxctl_ctx *dc;
	struct daxctl_dev *dd, *sp;
	struct devstate now;

	if (st->n == 1 && need == 0)
		return;
	cr_assert_eq(st->n, 1, "%s has %d ranges; expected one", dev, st->n);
	cr_assert_eq(daxctl_new(&dc), 0);
	dd = dctl_find(dc, dev);
	cr_assert_not_null(dd);
	region = daxctl_dev_get_region(dd);
	if (daxctl_region_get_available_size(region) < need) {
		daxctl_unref(dc);
		cr_skip_test("%s: its region has less than the %llu bytes free needed to move it onto a 1G boundary",
			     dev, (unsigned long long)need);
	}
	snprintf(moved.dev, sizeof(moved.dev), "%s", dev);
	moved.size = st->size;
	cr_assert_eq(daxctl_dev_disable(dd), 0, "disable %s", dev);
	cr_assert_eq(daxctl_dev_set_size(dd, 0), 0, "shrink %s", dev);
	/*
	 * As daxctl create-device: make sure there is a seed, then size it.
	 * libdaxctl lists devices once per context: the new seed needs a new one.
	 */
	cr_assert_eq(daxctl_region_create_dev(region), 0, "no room for a spacer device");
	daxctl_unref(dc);
	cr_assert_eq(daxctl_new(&dc), 0);
	dd = dctl_find(dc, dev);
	cr_assert_not_null(dd);
	sp = daxctl_region_get_dev_seed(daxctl_dev_get_region(dd));
	cr_assert_not_null(sp, "no seed device to use as a spacer");
	snprintf(moved.spacer, sizeof(moved.spacer), "%s", daxctl_dev_get_devname(sp));
	cr_assert_eq(daxctl_dev_set_size(sp, need), 0, "spacer %s of %llu bytes", moved.spacer,
		     (unsigned long long)need);
	cr_assert_eq(daxctl_dev_set_size(dd, st->size), 0, "grow %s again", dev);
	cr_assert_eq(daxctl_dev_enable_devdax(dd), 0, "enable %s", dev);
	daxctl_unref(dc);
	snapshot(dev, &now);
	cr_assert(now.n == 1 && now.start[0] % G == 0, "%s: still not on a 1G boundary (0x%llx)",
		  dev, (unsigned long long)now.start[0]);
	cr_log_info("%s moved from 0x%llx to 0x%llx behind spacer %s", dev,
		    (unsigned long long)st->start[0], (unsigned long long)now.start[0], moved.spacer);
}

/* Runs after the test even when it failed half way: back where it was, enabled. */
static void move_back(void)
{
	struct daxctl_ctx *dc;
	struct daxctl_dev *dd, *sp;

	if (!moved.dev[0] || daxctl_new(&dc) < 0)
		return;
	dd = dctl_find(dc, moved.dev);
	sp = moved.spacer[0] ? dctl_find(dc, moved.spacer) : NULL;
	if (dd) {
		if (daxctl_dev_is_enabled(dd))
			daxctl_dev_disable(dd);
		daxctl_dev_set_size(dd, 0);
		if (sp) {
			if (daxctl_dev_is_enabled(sp))
				daxctl_dev_disable(sp);
			daxctl_dev_set_size(sp, 0);
			daxctl_region_destroy_dev(daxctl_dev_get_region(dd), sp);
		}
		daxctl_dev_set_size(dd, moved.size);
		daxctl_dev_enable_devdax(dd);
	}
	daxctl_unref(dc);
	moved.dev[0] = moved.spacer[0] = '\0';
}

/* ---- the tests ------------------------------------------------------------------- */

static struct daxalloc_ctx *ctx;

/* The measurement's notes (a cycle run again, memory that would not hold still), into the test's log. */
static void note(struct daxalloc_ctx *c, int priority, const char *msg, void *userdata)
{
	(void)c;
	(void)userdata;
	if (priority <= LOG_INFO)
		cr_log_info("library: %.*s", (int)strcspn(msg, "\n"), msg);
}

static void setup(void)
{
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0, "%s", daxalloc_errmsg());
	daxalloc_ctx_set_log_fn(ctx, note, NULL);
	daxalloc_ctx_set_log_priority(ctx, LOG_INFO);
}

static void teardown(void)
{
	daxalloc_ctx_delete(&ctx);
	move_back();
}

TestSuite(vmemmap, .init = setup, .fini = teardown, .timeout = 600);

static void log_sample(const char *dev, const struct vmemmap_sample *sm)
{
	char all[VMEMMAP_MAX_CYCLES * 24] = "";
	size_t used = 0;

	for (int i = 0; i < sm->cycles && used < sizeof(all); i++)
		used += (size_t)snprintf(all + used, sizeof(all) - used, "%s%lld", i ? " " : "",
					 (long long)sm->bytes[i]);
	cr_log_info("%s at %lluK: median %lld bytes [%lld .. %lld] over %d cycles (%s), matches %s%s",
		    dev, (unsigned long long)(sm->align >> 10), (long long)sm->median,
		    (long long)sm->min, (long long)sm->max, sm->cycles, all,
		    sm->match >= 0 ? daxalloc_vmemmap_row_name(sm->match) : "no row",
		    sm->ambiguous ? " (another row within the spread)" : "");
}

/*
 * The measured cost against the model's row: within 1 MiB or 5%.  The
 * measurement rejects noise (libdaxalloc/vmemmap.c); on 6.1 cycles agree
 * within a few tens of KB and the median is within 16 KB of the model.
 */
static void expect_near(const char *dev, const struct vmemmap_sample *sm, uint64_t model)
{
	int64_t slack = (int64_t)model / 20 > (int64_t)M ? (int64_t)model / 20 : (int64_t)M;

	cr_expect_leq(llabs(sm->median - (int64_t)model), slack,
		      "%s at %lluK: median %lld bytes, model %llu: more than %lld apart", dev,
		      (unsigned long long)(sm->align >> 10), (long long)sm->median,
		      (unsigned long long)model, (long long)slack);
}

Test(vmemmap, four_gib_at_4k_2m_1g_matches_the_model)
{
	const struct guest_dev *gd = guest_dev("vmem4g");
	const char *grp = getenv("DAXALLOC_GUEST_VFIO_GROUP");
	struct vmemmap_opts o = { .cycles = 5, .pin = true };
	struct vmemmap_report rep = { 0 };
	struct daxalloc_vmemmap_model m4 = { DAXALLOC_VMEMMAP_MODEL_INIT }, m2 = m4, m1 = m4;
	struct devstate first, before, after;
	char with[80];
	int64_t slack;
	int row = predicted();

	cr_assert_eq(gd->size, 4 * G, "vmem4g is 4 GiB in tests/guest/devices.tsv");
	snapshot(gd->name, &first);
	move_to_1g(gd->name, &first);
	snapshot(gd->name, &before);
	if (grp) {
		snprintf(with, sizeof(with), "vfio:%s", grp);
		o.pin_with = with;
	}
	cr_assert_eq(vmemmap_measure(ctx, gd->name, &o, &rep), 0, "%s", daxalloc_errmsg());
	snapshot(gd->name, &after);
	expect_same(gd->name, &before, &after, "after the measurement");

	daxalloc_vmemmap_model(gd->size, DAXALLOC_SIZE_4K, &m4);
	daxalloc_vmemmap_model(gd->size, DAXALLOC_SIZE_2M, &m2);
	daxalloc_vmemmap_model(gd->size, DAXALLOC_SIZE_1G, &m1);
	for (int i = 0; i < 3; i++) {
		cr_assert(rep.samples[i].measured, "%llu: not measured: %s",
			  (unsigned long long)rep.samples[i].align, rep.samples[i].why);
		cr_expect_eq(rep.samples[i].cycles, 5);
		log_sample(gd->name, &rep.samples[i]);
	}
	/* 4K: no compound pages, the whole memmap */
	cr_expect_geq(rep.samples[0].median, (int64_t)(m4.struct_pages[NO] / 10 * 9),
		      "4K: %lld bytes, below 90%% of the memmap (%llu)",
		      (long long)rep.samples[0].median, (unsigned long long)m4.struct_pages[NO]);
	cr_expect_eq(rep.samples[0].match, NO);
	expect_near(gd->name, &rep.samples[0], m4.total[NO]);
	/* 2M: the row the model predicts (where 2-page and 1-page differ by half) */
	slack = (int64_t)m2.total[row] / 4 > (int64_t)(4 * M) ? (int64_t)m2.total[row] / 4 :
								(int64_t)(4 * M);
	cr_expect_leq(llabs(rep.samples[1].median - (int64_t)m2.total[row]), slack,
		      "2M: %lld bytes, model %llu (%s)", (long long)rep.samples[1].median,
		      (unsigned long long)m2.total[row], daxalloc_vmemmap_row_name(row));
	expect_predicted(gd->name, &rep.samples[1], row);
	expect_near(gd->name, &rep.samples[1], m2.total[row]);
	/* 1G: next to nothing */
	cr_expect_lt(rep.samples[2].median, (int64_t)(4 * M), "1G: %lld bytes",
		     (long long)rep.samples[2].median);
	cr_expect_lt(rep.samples[2].median, (int64_t)(m2.total[row] / 4), "1G not well below 2M");
	cr_log_info("model: 4K %llu, 2M %llu, 1G %llu bytes (%s)", (unsigned long long)m4.total[NO],
		    (unsigned long long)m2.total[row], (unsigned long long)m1.total[row],
		    daxalloc_vmemmap_row_name(row));

	cr_log_info("pin path: %s (%s); %s", daxalloc_vmemmap_pin_path_name(rep.pin.verdict),
		    rep.pin.conclusive ? "measured" : "from the version", rep.pin.how);
	cr_expect_neq(rep.pin.verdict, DAXALLOC_VMEMMAP_PIN_UNKNOWN, "%s", rep.pin.how);
	if (grp) {
		cr_expect_gt(rep.pin.ns_2m, 0, "%s", rep.pin.how);
		cr_expect_gt(rep.pin.ns_1g, 0, "%s", rep.pin.how);
		cr_expect_eq(rep.pin.length, G);
		cr_expect(strstr(rep.pin.consumer, "vfio"), "%s", rep.pin.consumer);
		if (rep.pin.conclusive)
			cr_expect_eq(rep.pin.verdict, rep.pin.expected,
				     "the timing says %s, the version %s: %s",
				     daxalloc_vmemmap_pin_path_name(rep.pin.verdict),
				     daxalloc_vmemmap_pin_path_name(rep.pin.expected), rep.pin.how);
	}
	move_back();
	snapshot(gd->name, &after);
	expect_same(gd->name, &first, &after, "at the end");
}

/* ---- refusals and other devices -------------------------------------------------------- */

static struct ctl_run r;

Test(vmemmap, refuses_a_device_in_use_naming_who)
{
	const struct guest_dev *gd = guest_dev("vmem4g");
	struct vmemmap_opts o = { .cycles = 1 };
	struct vmemmap_report rep = { 0 };
	struct devstate before, after;
	char pid[32], comm[64] = "";
	FILE *f;
	int fd;

	snapshot(gd->name, &before);
	fd = open(gd->path, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", gd->path, strerror(errno));
	snprintf(pid, sizeof(pid), "pid %d", (int)getpid());
	f = fopen("/proc/self/comm", "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	cr_expect_eq(vmemmap_measure(ctx, gd->name, &o, &rep), -EBUSY);
	cr_expect(strstr(daxalloc_errmsg(), pid), "'%s' lacks '%s'", daxalloc_errmsg(), pid);
	cr_expect(strstr(daxalloc_errmsg(), comm), "'%s' lacks '%s'", daxalloc_errmsg(), comm);
	cr_expect(strstr(daxalloc_errmsg(), gd->name), "%s", daxalloc_errmsg());
	/* another process (the CLI) sees this one */
	ctl_run(&r,
		(const char *const[]){ "vmemmap", gd->name, "--measure", "--cycles", "1", NULL }, 0);
	cr_expect_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_expect(strstr(r.err, pid), "'%s' lacks '%s'", r.err, pid);
	cr_expect(strstr(r.err, "has it open"), "%s", r.err);
	cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
	close(fd);
	snapshot(gd->name, &after);
	expect_same(gd->name, &before, &after, "after the refusal");
}

Test(vmemmap, static_device_is_measured_at_its_own_alignment)
{
	const struct guest_dev *gd = guest_dev("static2m");
	struct vmemmap_opts o = { .cycles = 5 };
	struct vmemmap_report rep = { 0 };
	struct daxalloc_vmemmap_model m = { DAXALLOC_VMEMMAP_MODEL_INIT };
	struct devstate before, after;

	snapshot(gd->name, &before);
	cr_assert_eq(vmemmap_measure(ctx, gd->name, &o, &rep), 0, "%s", daxalloc_errmsg());
	snapshot(gd->name, &after);
	expect_same(gd->name, &before, &after, "after the measurement");
	cr_expect(rep.memmap_in_ram, "the guest's namespaces are made with -M mem");
	cr_expect_not(rep.samples[0].measured);
	cr_expect(strstr(rep.samples[0].why, "keeps its alignment"), "%s", rep.samples[0].why);
	cr_expect_not(rep.samples[2].measured);
	cr_assert(rep.samples[1].measured, "%s", rep.samples[1].why);
	log_sample(gd->name, &rep.samples[1]);
	daxalloc_vmemmap_model(gd->size, DAXALLOC_SIZE_2M, &m);
	expect_predicted(gd->name, &rep.samples[1], predicted());
	expect_near(gd->name, &rep.samples[1], m.total[predicted()]);
	cr_expect_str_eq(rep.pin.consumer, "", "not asked to pin");
}

Test(vmemmap, disabled_device_stays_disabled_cli_json)
{
	const struct guest_dev *gd = guest_dev("dyn2m");
	struct devstate before, after;
	struct json_object *o, *s, *v;
	struct daxctl_ctx *dc;

	cr_assert_eq(daxctl_new(&dc), 0);
	cr_assert_eq(daxctl_dev_disable(dctl_find(dc, gd->name)), 0, "disable %s", gd->name);
	snapshot(gd->name, &before);
	cr_assert_not(before.enabled);
	ctl_run(&r,
		(const char *const[]){ "vmemmap", gd->name, "--measure", "--align", "2M",
				       "--cycles", "2", "--no-pin", "--json", NULL },
		0);
	snapshot(gd->name, &after);
	daxctl_dev_enable_devdax(dctl_find(dc, gd->name));
	daxctl_unref(dc);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	expect_same(gd->name, &before, &after, "after the measurement");
	o = json_tokener_parse(r.out);
	cr_assert_not_null(o, "not JSON: %s", r.out);
	cr_assert(json_object_object_get_ex(o, "targets", &v));
	v = json_object_array_get_idx(v, 0);
	cr_assert(json_object_object_get_ex(v, "measured", &s) && s, "measured is null");
	cr_assert(json_object_object_get_ex(s, "restored", &v));
	cr_assert(json_object_object_get_ex(v, "enabled", &v));
	cr_expect_not(json_object_get_boolean(v), "restored as enabled");
	cr_assert(json_object_object_get_ex(s, "samples", &s));
	cr_assert_eq(json_object_array_length(s), 3);
	v = json_object_array_get_idx(s, 1);
	cr_assert(json_object_object_get_ex(v, "measured", &s));
	cr_expect(json_object_get_boolean(s), "2M not measured: %s", r.out);
	cr_assert(json_object_object_get_ex(v, "bytes", &s));
	cr_expect_eq(json_object_array_length(s), 2);
	cr_assert(json_object_object_get_ex(v, "match", &s));
	cr_expect_str_eq(json_object_get_string(s), daxalloc_vmemmap_row_name(predicted()), "%s",
			 r.out);
	/* The kernel's row comes from that measurement, not from the version. */
	cr_assert(json_object_object_get_ex(o, "kernel", &v));
	cr_expect_str_eq(json_object_get_string(json_object_object_get(v, "dedup_from")),
			 "measurement", "%s", r.out);
	cr_expect_str_eq(json_object_get_string(json_object_object_get(v, "dedup")),
			 json_object_get_string(s), "%s", r.out);
	v = json_object_array_get_idx(
		json_object_object_get(json_object_object_get(json_object_array_get_idx(json_object_object_get(o, "targets"),
											0),
							      "measured"),
				       "samples"),
		0);
	cr_expect_str_eq(json_object_get_string(json_object_object_get(v, "why")), "not asked for");
	json_object_put(o);
}
