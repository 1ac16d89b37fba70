// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Damage to the newest metadata is detected and reported, never a silent
 * rollback: a damaged newest table makes open refuse and check name what
 * a repair would lose (and do it only with DAXALLOC_CHECK_FORCE); a
 * damaged header copy is survived without losing anything; a crafted
 * sequence number near 2^64 cannot make later changes vanish; and
 * random 1-4 byte corruptions of live metadata give zero undetected
 * rollbacks: per history (last change an alloc, a free, a rename) 250
 * real opens of the damaged pool, each refused one also checked
 * ($DAXALLOC_CORRUPTION_TRIALS), and 50 times as many images judged by
 * the engine's scan alone (opening costs milliseconds where mapping is
 * slow).  The table copies' rules are tested with every change made a
 * checkpoint (the test seam); the journal's with changes as records:
 * random damage over the records in use, one copy of the last record
 * damaged (survived), both (refused, and named by check).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daxalloc.h"
#include "metadata.h"
#include "persist.h"
#include "pool.h"
#include "pool-helpers.h"
#include "private.h"

#define M (UINT64_C(1) << 20)
#define META (2 * M)

static struct daxalloc_ctx *ctx;
static struct daxalloc_dev *dev;
static struct daxalloc_pool *pool;
static struct daxalloc_map *raw;
static char *meta;
static char pristine[DXA_META_USED];

static void setup(void)
{
	pool_test_checkpoint_each = true; /* tests of the journal turn it off */
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	dev = th_dev_open(ctx, "hugetlb:2M:64M");
	pool = th_pool_create(dev);
	meta = th_raw_map(dev, META, &raw);
}

static void teardown(void)
{
	daxalloc_map_delete(&raw);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}

TestSuite(corruption, .init = setup, .fini = teardown, .timeout = 240);

static void alloc_named(const char *name, uint64_t size)
{
	struct daxalloc_region *r = NULL;

	cr_assert_eq(daxalloc_alloc(pool, size, name, 0, &r), 0, "%s", daxalloc_errmsg());
	daxalloc_region_close(&r);
}

/* ---- the state a pool shows: every region, in device order ---- */

#define MAXR 64

struct state {
	int n;
	struct daxalloc_region_info r[MAXR];
};

static int collect(const struct daxalloc_region_info *ri, void *arg)
{
	struct state *s = arg;

	if (s->n >= MAXR)
		return -1;
	s->r[s->n] = *ri;
	s->r[s->n].owner_alive = false; /* compared apart */
	s->n++;
	return 0;
}

static void state_of(struct daxalloc_pool *p, struct state *s)
{
	memset(s, 0, sizeof(*s));
	cr_assert_eq(daxalloc_pool_foreach_region(p, collect, s), 0, "%s", daxalloc_errmsg());
}

static bool same_state(const struct state *a, const struct state *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->r[i].name, b->r[i].name) || a->r[i].offset != b->r[i].offset ||
		    a->r[i].size != b->r[i].size || a->r[i].owner_pid != b->r[i].owner_pid)
			return false;
	return true;
}

static int newest_slot(void)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };

	cr_assert_eq(daxalloc_pool_check(dev, 0, &rep), 0, "%s", th_check_said(&rep));
	return rep.active_copy;
}

static struct dxa_hdr *hdr_at(int slot, int copy)
{
	return (struct dxa_hdr *)(meta + slot * DXA_HDR_SLOT_SIZE + copy * (DXA_HDR_SLOT_SIZE / 2));
}

static char *table_at(int slot)
{
	return meta + DXA_TABLE0_OFFSET + (size_t)slot * DXA_TABLE_SIZE;
}

/* ---- one damaged newest table ---- */

Test(corruption, newest_table_damaged_refuses_and_names_the_loss)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_pool *p2 = (void *)1;
	struct th_findings f = { 0 };
	struct state before, after;
	char *snap = malloc(DXA_META_USED);
	int slot;

	alloc_named("first", 2 * M);
	alloc_named("second", 4 * M);
	state_of(pool, &before);
	slot = newest_slot();
	/* one byte of the newest table's second entry, "second" (the last change) */
	table_at(slot)[DXA_ENTRY_SIZE + offsetof(struct dxa_entry, created)] ^= 0x01;
	memcpy(snap, meta, DXA_META_USED);

	cr_expect_eq(daxalloc_pool_open(dev, 0, &p2), -EUCLEAN, "opened a damaged newest state");
	cr_expect_null(p2);
	cr_expect(strstr(daxalloc_errmsg(), "newest"), "%s", daxalloc_errmsg());
	cr_expect(strstr(daxalloc_errmsg(), "check"), "%s", daxalloc_errmsg());

	/* check names it */
	cr_expect_gt(daxalloc_pool_check(dev, 0, &rep), 0);
	cr_expect_eq(rep.first.code, DAXALLOC_CHECK_STATE_DAMAGED, "%s", th_check_said(&rep));
	cr_expect(strstr(th_check_said(&rep), "newest"), "%s", th_check_said(&rep));

	/* repair without force refuses, names the change and changes nothing */
	cr_expect_gt(daxalloc_pool_check_each(dev, DAXALLOC_CHECK_REPAIR, &rep, th_finding, &f), 0);
	cr_expect_eq(rep.repaired, 0);
	cr_expect_eq(rep.first.code, DAXALLOC_CHECK_NEEDS_FORCE, "%s", th_check_said(&rep));
	cr_expect_eq(rep.first.count, (uint32_t)f.losses);
	cr_expect(strstr(th_check_said(&rep), "--force"), "%s", th_check_said(&rep));
	cr_expect_gt(f.losses, 0);
	cr_expect(th_findings_have(&f, DAXALLOC_CHECK_REGION_DROPPED, "second"),
		  "no finding names 'second': %s", f.text[0]);
	cr_expect_str_eq(rep.first_loss.region.name, "second");
	cr_expect(th_findings_say(&f, "region 'second'"), "%s", f.text[0]);
	cr_expect_eq(memcmp(snap, meta, DXA_META_USED), 0, "repair without force wrote");

	/* with force it goes back to the older copy, and says so */
	memset(&f, 0, sizeof(f));
	cr_expect_eq(daxalloc_pool_check_each(dev, DAXALLOC_CHECK_REPAIR | DAXALLOC_CHECK_FORCE,
					      &rep, th_finding, &f),
		     0, "%s", th_check_said(&rep));
	cr_expect_gt(rep.repaired, 0);
	cr_expect(th_findings_say(&f, "second"), "no finding names 'second'");
	cr_assert_eq(daxalloc_pool_open(dev, 0, &p2), 0, "%s", daxalloc_errmsg());
	state_of(p2, &after);
	cr_expect_eq(after.n, before.n - 1);
	cr_expect_str_eq(after.r[0].name, "first");
	cr_expect_eq(daxalloc_pool_check(dev, 0, &rep), 0, "%s", th_check_said(&rep));
	daxalloc_pool_close(&p2);
	free(snap);
}

/* An unchanged entry damaged: repair recovers it exactly, nothing lost. */
Test(corruption, damaged_old_entry_repairs_without_loss)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_pool *p2 = NULL;
	struct th_findings f = { 0 };
	struct state before, after;
	int slot;

	alloc_named("first", 2 * M);
	alloc_named("second", 4 * M);
	alloc_named("third", 2 * M);
	state_of(pool, &before);
	slot = newest_slot();
	/* "first" is the same in both copies: damage it in the newest */
	table_at(slot)[offsetof(struct dxa_entry, created)] ^= 0x10;
	cr_expect_eq(daxalloc_pool_open(dev, 0, &p2), -EUCLEAN);
	cr_expect_eq(daxalloc_pool_check_each(dev, DAXALLOC_CHECK_REPAIR, &rep, th_finding, &f), 0,
		     "%s", th_check_said(&rep));
	cr_expect_eq(f.losses, 0);
	cr_assert_eq(daxalloc_pool_open(dev, 0, &p2), 0, "%s", daxalloc_errmsg());
	state_of(p2, &after);
	cr_expect(same_state(&before, &after), "repair changed the state");
	daxalloc_pool_close(&p2);
}

/* ---- header copies ---- */

Test(corruption, damaged_newest_header_loses_nothing)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_pool *p2 = NULL;
	struct state before, after;
	int slot;

	alloc_named("first", 2 * M);
	alloc_named("second", 4 * M);
	state_of(pool, &before);
	slot = newest_slot();
	/* the format time: no interrupted update changes it, so this is damage */
	((char *)hdr_at(slot, 0))[offsetof(struct dxa_hdr, format_time)] ^= 0x40;
	cr_assert_eq(daxalloc_pool_open(dev, 0, &p2), 0, "%s", daxalloc_errmsg());
	state_of(p2, &after);
	cr_expect(same_state(&before, &after), "a damaged header copy rolled the pool back");
	daxalloc_pool_close(&p2);
	/* check still calls it a problem, and a repair (no loss) fixes it */
	cr_expect_gt(daxalloc_pool_check(dev, 0, &rep), 0);
	cr_expect_eq(rep.first.code, DAXALLOC_CHECK_HEADER_DAMAGED, "%s", th_check_said(&rep));
	cr_expect_eq(rep.first.copy, slot);
	cr_expect_eq(rep.first.header, 0);
	cr_expect_eq(rep.first.other, 1);
	cr_expect(strstr(th_check_said(&rep), "header"), "%s", th_check_said(&rep));
	cr_expect_eq(daxalloc_pool_check(dev, DAXALLOC_CHECK_REPAIR, &rep), 0, "%s",
		     th_check_said(&rep));
	cr_expect_eq(daxalloc_pool_check(dev, 0, &rep), 0, "%s", th_check_said(&rep));
}

/* Both copies of the newest header damaged: it may have been the newest, refuse. */
Test(corruption, unreadable_newest_header_refuses)
{
	struct daxalloc_pool *p2 = NULL;
	int slot;

	alloc_named("first", 2 * M);
	alloc_named("second", 4 * M);
	slot = newest_slot();
	((char *)hdr_at(slot, 0))[100] ^= 0x01;
	((char *)hdr_at(slot, 1))[100] ^= 0x01;
	cr_expect_eq(daxalloc_pool_open(dev, 0, &p2), -EUCLEAN, "silently used the older copy");
	cr_expect(strstr(daxalloc_errmsg(), "newer"), "%s", daxalloc_errmsg());
}

/* ---- sequence numbers ---- */

static void set_seq(int slot, uint64_t seq)
{
	for (int c = 0; c < 2; c++) {
		struct dxa_hdr *h = hdr_at(slot, c);

		if (memcmp(h->magic, DXA_MAGIC, 8) != 0)
			continue;
		h->seq = seq;
		h->hdr_crc = dxa_hdr_crc(h);
	}
}

Test(corruption, sequence_near_wrap_never_loses_later_changes)
{
	struct daxalloc_pool *p2 = NULL;
	struct daxalloc_region *r = NULL;
	int slot;
	int rc;

	alloc_named("first", 2 * M);
	daxalloc_pool_close(&pool);
	slot = newest_slot();
	set_seq(slot, UINT64_MAX - 1);
	set_seq(!slot, UINT64_MAX - 2);
	rc = daxalloc_pool_open(dev, 0, &p2);
	if (rc < 0) {
		/* refusing is fine: it must say why */
		cr_expect_eq(rc, -EUCLEAN);
		cr_expect(strstr(daxalloc_errmsg(), "sequence"), "%s", daxalloc_errmsg());
		return;
	}
	/* if it opens, every later change must survive a reopen */
	for (int i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "later%d", i);
		cr_assert_eq(daxalloc_alloc(p2, 2 * M, name, 0, &r), 0, "%s", daxalloc_errmsg());
		daxalloc_region_close(&r);
		daxalloc_pool_close(&p2);
		cr_assert_eq(daxalloc_pool_open(dev, 0, &p2), 0, "%s", daxalloc_errmsg());
		cr_expect_eq(daxalloc_region_open(p2, name, 0, &r), 0,
			     "'%s' lost after the sequence number wrapped", name);
		daxalloc_region_close(&r);
	}
	daxalloc_pool_close(&p2);
}

/* ---- random damage of live metadata ---- */

/* Live bytes: every header copy, each table's entries in use, the journal records in use. */
struct span {
	size_t off, len;
};

static int live_spans(struct span *sp, uint32_t jused)
{
	int n = 0;

	if (jused) /* both copies of each record, and the cell after the last */
		sp[n++] = (struct span){ DXA_JOURNAL_OFFSET,
					 (size_t)(jused < DXA_JOURNAL_CELLS ? jused + 1 : jused) *
						 DXA_JCELL_SIZE };

	for (int slot = 0; slot < 2; slot++) {
		for (int c = 0; c < 2; c++)
			sp[n++] =
				(struct span){ slot * DXA_HDR_SLOT_SIZE + c * (DXA_HDR_SLOT_SIZE / 2),
					       sizeof(struct dxa_hdr) };
		struct dxa_hdr *h = (struct dxa_hdr *)(pristine + slot * DXA_HDR_SLOT_SIZE);
		uint32_t ne = h->nentries <= DXA_MAX_ENTRIES ? h->nentries : 0;

		if (ne)
			sp[n++] = (struct span){ DXA_TABLE0_OFFSET + (size_t)slot * DXA_TABLE_SIZE,
						 (size_t)ne * DXA_ENTRY_SIZE };
	}
	return n;
}

/*
 * @buf (the live metadata, or a copy) made pristine again, then 1 to 4
 * random bytes of the spans @sp (@total bytes in all) flipped; their
 * offsets are appended to @where (@wlen bytes) unless it is NULL.
 */
static void damage(char *buf, const struct span *sp, size_t total, char *where, size_t wlen)
{
	int k = 1 + rand() % 4;

	memcpy(buf, pristine, DXA_META_USED);
	for (int i = 0; i < k; i++) {
		size_t at = (size_t)rand() % total;
		int s = 0;

		while (at >= sp[s].len)
			at -= sp[s++].len;
		buf[sp[s].off + at] ^= (char)(1 + rand() % 255);
		if (where)
			snprintf(where + strlen(where), wlen - strlen(where), " 0x%zx",
				 sp[s].off + at);
	}
}

struct tally {
	int trials, same, refused, rollbacks, other, check_silent;
	char first[300];
};

static void one_trial(const struct state *want, const struct span *sp, int nsp, size_t total,
		      struct tally *t)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_pool *p2 = NULL;
	char where[120] = "";
	int rc;

	damage(meta, sp, total, where, sizeof(where));
	t->trials++;
	rc = daxalloc_pool_open(dev, 0, &p2);
	if (rc == 0) {
		struct state got;

		state_of(p2, &got);
		daxalloc_pool_close(&p2);
		if (same_state(want, &got)) {
			t->same++;
			return;
		}
		if (got.n < want->n)
			t->rollbacks++;
		else
			t->other++;
		if (!t->first[0])
			snprintf(t->first, sizeof(t->first),
				 "opened with %d regions instead of %d after damage at%s", got.n,
				 want->n, where);
		return;
	}
	t->refused++;
	/* refused: nothing was written, and check must report the damage too */
	rc = daxalloc_pool_check(dev, 0, &rep);
	if (rc == 0) {
		t->check_silent++;
		if (!t->first[0])
			snprintf(t->first, sizeof(t->first),
				 "open refused (%s) but check is clean after damage at%s",
				 daxalloc_errmsg(), where);
	}
}

/* ---- the same damage, judged by the engine itself over a copy: many more trials ---- */

static char image[DXA_META_USED];
static struct dxa_entry tabs[2][DXA_MAX_ENTRIES];

static int image_read(void *arg, uint64_t off, void *dst, size_t len)
{
	(void)arg;
	memcpy(dst, image + off, len);
	return 0;
}

static int scan_image(struct dxa_scan *s)
{
	struct dxa_geometry geo = { 64 * M, 2 * M, 2 * M };
	struct dxa_entry *tab[2] = { tabs[0], tabs[1] };

	return dxa_scan(&geo, image_read, NULL, tab, s);
}

static void scan_trials(const char *history, const struct span *sp, size_t total, int trials)
{
	static struct dxa_entry want[DXA_MAX_ENTRIES];
	struct dxa_scan s;
	uint32_t nwant;
	int same = 0, refused = 0, wrong = 0;
	char first[200] = "";

	memcpy(image, pristine, DXA_META_USED);
	cr_assert_eq(scan_image(&s), 0, "%s", s.why);
	nwant = s.n;
	memcpy(want, tabs[s.newest], nwant * sizeof(want[0]));
	for (int t = 0; t < trials; t++) {
		damage(image, sp, total, NULL, 0);
		if (scan_image(&s) < 0) {
			refused++;
			continue;
		}
		if (s.n == nwant && memcmp(tabs[s.newest], want, nwant * sizeof(want[0])) == 0) {
			same++;
			continue;
		}
		if (!wrong++)
			snprintf(first, sizeof(first), "trial %d: copy %d, sequence %llu, %u entries",
				 t, s.newest, (unsigned long long)s.seq, s.n);
	}
	cr_log_info("%s: %d trials of the engine alone: %d unchanged, %d refused, %d wrong",
		    history, trials, same, refused, wrong);
	cr_expect_eq(wrong, 0, "%s: %d of %d damaged images read as another state; first: %s",
		     history, wrong, trials, first);
}

static void random_damage(const char *history, int trials)
{
	const char *env = getenv("DAXALLOC_CORRUPTION_TRIALS");
	struct span sp[8];
	struct state want;
	struct tally t = { 0 };
	size_t total = 0;
	int nsp;

	/* a real open costs milliseconds where mapping is slow: fewer of those */
	if (env)
		trials = atoi(env);
	state_of(pool, &want);
	memcpy(pristine, meta, DXA_META_USED);
	memcpy(image, pristine, DXA_META_USED);
	{
		struct dxa_scan s;

		cr_assert_eq(scan_image(&s), 0, "%s", s.why);
		nsp = live_spans(sp, s.jused);
		cr_assert_eq(s.jused > 0, !pool_test_checkpoint_each,
			     "%s: %u journal records in use", history, s.jused);
	}
	for (int i = 0; i < nsp; i++)
		total += sp[i].len;
	for (int i = 0; i < trials; i++)
		one_trial(&want, sp, nsp, total, &t);
	memcpy(meta, pristine, DXA_META_USED);
	cr_log_info("%s: %d trials: %d opened unchanged, %d refused, %d rolled back, %d other, %d checked clean",
		    history, t.trials, t.same, t.refused, t.rollbacks, t.other, t.check_silent);
	cr_expect_eq(t.rollbacks + t.other + t.check_silent, 0,
		     "%s: %d of %d damaged pools opened with another state (%d rollbacks), %d refused with a clean check; first: %s",
		     history, t.rollbacks + t.other, t.trials, t.rollbacks, t.check_silent, t.first);
	scan_trials(history, sp, total, trials * 50);
}

static struct daxalloc_region *held;

static void history(void)
{
	struct daxalloc_region *r = NULL;

	srand((unsigned int)time(NULL));
	alloc_named("a", 2 * M);
	alloc_named("b", 4 * M);
	/* an unnamed region of this (living) process: kept across opens */
	cr_assert_eq(daxalloc_alloc(pool, 2 * M, NULL, 0, &held), 0, "%s", daxalloc_errmsg());
	alloc_named("c", 2 * M);
	cr_assert_eq(daxalloc_region_open(pool, "b", 0, &r), 0);
	daxalloc_region_close(&r);
}

Test(corruption, random_damage_after_alloc)
{
	history();
	alloc_named("last", 6 * M);
	random_damage("last change an alloc", 250);
	daxalloc_region_close(&held);
}

Test(corruption, random_damage_after_free)
{
	history();
	cr_assert_eq(daxalloc_pool_free_name(pool, "b"), 0);
	random_damage("last change a free", 250);
	daxalloc_region_close(&held);
}

Test(corruption, random_damage_after_rename)
{
	history();
	cr_assert_eq(daxalloc_pool_rename(pool, "a", "renamed"), 0);
	random_damage("last change a rename", 250);
	daxalloc_region_close(&held);
}

/* The same histories with the changes as journal records after the format's checkpoint. */
Test(corruption, random_damage_in_the_journal_after_alloc)
{
	pool_test_checkpoint_each = false;
	history();
	alloc_named("last", 6 * M);
	random_damage("journal, last change an alloc", 250);
	daxalloc_region_close(&held);
}

Test(corruption, random_damage_in_the_journal_after_free)
{
	pool_test_checkpoint_each = false;
	history();
	cr_assert_eq(daxalloc_pool_free_name(pool, "b"), 0);
	random_damage("journal, last change a free", 250);
	daxalloc_region_close(&held);
}

Test(corruption, random_damage_in_the_journal_after_rename)
{
	pool_test_checkpoint_each = false;
	history();
	cr_assert_eq(daxalloc_pool_rename(pool, "a", "renamed"), 0);
	random_damage("journal, last change a rename", 250);
	daxalloc_region_close(&held);
}

/* ---- media errors: lines of the metadata that cannot be read ---- */

static struct meta_bad poison[4];

static void poison_at(unsigned int n, ...)
{
	va_list ap;

	va_start(ap, n);
	for (unsigned int i = 0; i < n; i++)
		poison[i] = (struct meta_bad){ va_arg(ap, uint64_t), 64 };
	va_end(ap);
	persist_test_poison = poison;
	persist_test_npoison = n;
}

static int open_state(struct state *s)
{
	struct daxalloc_pool *p2 = NULL;
	int rc = daxalloc_pool_open(dev, 0, &p2);

	if (rc == 0) {
		state_of(p2, s);
		daxalloc_pool_close(&p2);
	}
	return rc;
}

Test(corruption, media_errors_in_each_copy)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct th_findings f = { 0 };
	struct state before, after;
	int n, o;

	alloc_named("first", 2 * M);
	alloc_named("second", 4 * M);
	state_of(pool, &before);
	n = newest_slot();
	o = !n;

	/* a header copy of the newest slot: the other copy holds it */
	poison_at(1, dxa_hdr_offset(n, 0));
	cr_expect_eq(open_state(&after), 0, "%s", daxalloc_errmsg());
	cr_expect(same_state(&before, &after), "a bad header line rolled the pool back");

	/* the older copy's table: nothing lost */
	poison_at(1, dxa_table_offset(o));
	cr_expect_eq(open_state(&after), 0, "%s", daxalloc_errmsg());
	cr_expect(same_state(&before, &after));

	/* the newest table: refused, said precisely; check names it and does not crash */
	poison_at(1, dxa_table_offset(n) + DXA_ENTRY_SIZE);
	cr_expect_eq(open_state(&after), -EUCLEAN, "opened without its newest table");
	cr_expect(strstr(daxalloc_errmsg(), "media error"), "%s", daxalloc_errmsg());
	cr_expect_gt(daxalloc_pool_check_each(dev, DAXALLOC_CHECK_REPAIR, &rep, th_finding, &f), 0);
	cr_expect_gt(f.losses, 0, "a repair back would lose the unreadable entry: not named");
	cr_expect_eq(rep.repaired, 0);

	/* every header copy of the older slot: it may have been newer, refused */
	poison_at(2, dxa_hdr_offset(o, 0), dxa_hdr_offset(o, 1));
	cr_expect_eq(open_state(&after), -EUCLEAN, "opened without knowing what copy %d held", o);
	cr_expect(strstr(daxalloc_errmsg(), "media error"), "%s", daxalloc_errmsg());
	cr_expect_gt(daxalloc_pool_check(dev, 0, &rep), 0);

	persist_test_poison = NULL;
	persist_test_npoison = 0;
	cr_expect_eq(open_state(&after), 0, "%s", daxalloc_errmsg());
	cr_expect(same_state(&before, &after));
}

/* ---- pools of format 1.0 (one header copy per slot) open, and gain the second ---- */

/* A header as format 1.@minor wrote it: no journal. */
static void as_format_1(struct dxa_hdr *h, uint32_t minor)
{
	h->version_major = 1;
	h->version_minor = minor;
	h->journal_offset = 0;
	h->journal_cells = 0;
	h->journal_rec = 0;
	h->hdr_crc = dxa_hdr_crc(h);
}

Test(corruption, format_1_0_pool_opens_and_migrates)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_pool *p2 = NULL;
	struct th_findings f = { 0 };
	struct state before, after;

	alloc_named("kept", 2 * M);
	alloc_named("also", 4 * M);
	state_of(pool, &before);
	daxalloc_pool_close(&pool);
	/* what the previous release wrote: minor 0, the second copies blank */
	for (int slot = 0; slot < 2; slot++) {
		as_format_1(hdr_at(slot, 0), 0);
		memset(hdr_at(slot, 1), 0, sizeof(struct dxa_hdr));
	}
	cr_expect_eq(daxalloc_pool_check_each(dev, 0, &rep, th_finding, &f), 0, "%s",
		     th_check_said(&rep));
	cr_expect(th_findings_say(&f, "format 1.0"), "check does not say the format is 1.0");
	cr_assert_eq(daxalloc_pool_open(dev, 0, &p2), 0, "%s", daxalloc_errmsg());
	state_of(p2, &after);
	cr_expect(same_state(&before, &after), "the 1.0 pool opened with another state");
	daxalloc_pool_close(&p2);
	for (int slot = 0; slot < 2; slot++)
		cr_expect_eq(memcmp(hdr_at(slot, 0), hdr_at(slot, 1), sizeof(struct dxa_hdr)), 0,
			     "copy %d has no second header after the open", slot);
	memset(&f, 0, sizeof(f));
	cr_expect_eq(daxalloc_pool_check_each(dev, 0, &rep, th_finding, &f), 0, "%s",
		     th_check_said(&rep));
	cr_expect_not(th_findings_say(&f, "format 1.0"));
	/* and damage to its newest header is now survived */
	((char *)hdr_at(newest_slot(), 0))[offsetof(struct dxa_hdr, uuid)] ^= 1;
	cr_expect_eq(daxalloc_pool_open(dev, 0, &p2), 0, "%s", daxalloc_errmsg());
	daxalloc_pool_close(&p2);
}

/* ---- the journal ---- */

/* Journal on, two named regions made as records: the state, the scan; returns records used. */
static uint32_t two_records(struct state *before, struct dxa_scan *s)
{
	pool_test_checkpoint_each = false;
	alloc_named("first", 2 * M);
	alloc_named("second", 4 * M);
	state_of(pool, before);
	memcpy(image, meta, DXA_META_USED);
	cr_assert_eq(scan_image(s), 0, "%s", s->why);
	cr_assert_geq(s->jused, 2, "the changes are not journal records");
	return s->jused;
}

/* The last change's record: one damaged copy is survived, both are refused and named. */
Test(corruption, last_journal_record_damaged)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_pool *p2 = (void *)1;
	struct th_findings f = { 0 };
	struct state before, after;
	struct dxa_scan s;
	char *snap = malloc(DXA_META_USED);
	uint32_t last;

	last = two_records(&before, &s) - 1;

	/* the first copy: the second holds the change; check says so, a repair rewrites it */
	meta[dxa_jrec_offset(last, 0) + offsetof(struct dxa_jrec, e) + 8] ^= 0x04;
	cr_expect_eq(open_state(&after), 0, "%s", daxalloc_errmsg());
	cr_expect(same_state(&before, &after), "one damaged copy of the last record lost it");
	cr_expect_eq(daxalloc_pool_check_each(dev, 0, &rep, th_finding, &f), 1, "%s",
		     th_check_said(&rep));
	cr_expect(th_findings_have(&f, DAXALLOC_CHECK_JOURNAL_REPAIRABLE, NULL), "%s", f.text[0]);
	cr_expect(th_findings_say(&f, "journal record"), "check does not name the record: %s",
		  f.text[0]);
	cr_expect_eq(f.losses, 0);

	/* both copies: refused, never rolled back; check names the loss; repair needs force */
	meta[dxa_jrec_offset(last, 1) + offsetof(struct dxa_jrec, e) + 8] ^= 0x04;
	memcpy(snap, meta, DXA_META_USED);
	cr_expect_eq(daxalloc_pool_open(dev, 0, &p2), -EUCLEAN, "opened without its last change");
	cr_expect_null(p2);
	cr_expect(strstr(daxalloc_errmsg(), "journal record"), "%s", daxalloc_errmsg());
	memset(&f, 0, sizeof(f));
	cr_expect_gt(daxalloc_pool_check_each(dev, DAXALLOC_CHECK_REPAIR, &rep, th_finding, &f), 0);
	cr_expect_gt(f.losses, 0, "the lost change is not named");
	cr_expect_eq(rep.repaired, 0);
	cr_expect_eq(rep.first.code, DAXALLOC_CHECK_NEEDS_FORCE, "%s", th_check_said(&rep));
	cr_expect_eq(rep.first_loss.code, DAXALLOC_CHECK_JOURNAL_LOST);
	cr_expect_eq(rep.first_loss.index, last);
	cr_expect(strstr(th_check_said(&rep), "--force"), "%s", th_check_said(&rep));
	cr_expect_eq(memcmp(snap, meta, DXA_META_USED), 0, "repair without force wrote");
	/* with force: the state before the damaged record, and the pool opens */
	cr_expect_eq(daxalloc_pool_check(dev, DAXALLOC_CHECK_REPAIR | DAXALLOC_CHECK_FORCE, &rep),
		     0, "%s", th_check_said(&rep));
	cr_assert_eq(open_state(&after), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(after.n, before.n - 1);
	cr_expect_str_eq(after.r[0].name, "first");
	free(snap);
}

/* A record cut short (power loss or SIGKILL during an append) is the end, not damage. */
Test(corruption, torn_append_is_not_damage)
{
	struct state before, after;
	struct dxa_scan s;
	struct dxa_jrec r;

	pool_test_checkpoint_each = false;
	alloc_named("first", 2 * M);
	state_of(pool, &before);
	memcpy(image, meta, DXA_META_USED);
	cr_assert_eq(scan_image(&s), 0, "%s", s.why);
	/* half of a next record's first copy, as an interrupted append leaves it */
	memset(&r, 0x5a, sizeof(r));
	memcpy(meta + dxa_jrec_offset(s.jused, 0), &r, sizeof(r) / 2);
	cr_expect_eq(open_state(&after), 0, "%s", daxalloc_errmsg());
	cr_expect(same_state(&before, &after));
	/* the next change writes over it */
	alloc_named("second", 2 * M);
	cr_expect_eq(open_state(&after), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(after.n, before.n + 1);
}

/*
 * A pool of format 1.1 (the release before the journal): its state in the
 * tables, the bytes where the journal now lives never written by it (any
 * old contents).  It opens with its regions, is upgraded to 2.0 (which 1.x
 * readers refuse), and its next changes are journal records.
 */
Test(corruption, format_1_1_pool_upgrades_to_the_journal)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_pool *p2 = NULL;
	struct th_findings f = { 0 };
	struct state before, after;
	struct dxa_scan s;

	alloc_named("kept", 2 * M);
	alloc_named("also", 4 * M);
	state_of(pool, &before);
	daxalloc_pool_close(&pool);
	for (int slot = 0; slot < 2; slot++)
		for (int c = 0; c < 2; c++)
			as_format_1(hdr_at(slot, c), 1);
	memset(meta + DXA_JOURNAL_OFFSET, 0xa5, (size_t)DXA_JOURNAL_CELLS * DXA_JCELL_SIZE);
	cr_expect_eq(daxalloc_pool_check_each(dev, 0, &rep, th_finding, &f), 0, "%s",
		     th_check_said(&rep));
	cr_expect(th_findings_say(&f, "format 1.1"), "check does not say the format is 1.1");

	/* read-only: opens as it is and changes nothing */
	cr_assert_eq(daxalloc_pool_open(dev, DAXALLOC_POOL_RDONLY, &p2), 0, "%s", daxalloc_errmsg());
	state_of(p2, &after);
	daxalloc_pool_close(&p2);
	cr_expect(same_state(&before, &after));
	cr_expect_eq(hdr_at(0, 0)->version_major, 1, "a read-only open upgraded the pool");

	pool_test_checkpoint_each = false;
	cr_assert_eq(daxalloc_pool_open(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	state_of(pool, &after);
	cr_expect(same_state(&before, &after), "the 1.1 pool opened with another state");
	for (int slot = 0; slot < 2; slot++)
		cr_expect_eq(hdr_at(slot, 0)->version_major, DXA_VERSION_MAJOR,
			     "copy %d not upgraded", slot);
	alloc_named("new", 2 * M);
	memcpy(image, meta, DXA_META_USED);
	cr_assert_eq(scan_image(&s), 0, "%s", s.why);
	cr_expect_eq(s.jused, 1, "the change after the upgrade is not one journal record");
	cr_expect_eq(s.n, (uint32_t)before.n + 1);
	daxalloc_pool_close(&pool);
	cr_assert_eq(open_state(&after), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(after.n, before.n + 1);
	memset(&f, 0, sizeof(f));
	cr_expect_eq(daxalloc_pool_check_each(dev, 0, &rep, th_finding, &f), 0, "%s",
		     th_check_said(&rep));
	cr_expect_not(th_findings_say(&f, "format 1"));
}

/* What the second copy of a cell held when its first copy was made durable. */
static uint64_t first_copy_at;
static const char *second_copy;
static int second_seen; /* -1: not seen, 0: cleared, 1: still there */

static void second_copy_when_first_persists(enum persist_seam_event ev, uint64_t off, uint64_t len)
{
	(void)len;
	if (ev != PERSIST_SEAM_META || off != first_copy_at || second_seen >= 0)
		return;
	second_seen = 0;
	for (size_t i = 0; i < DXA_JREC_SIZE; i++)
		if (second_copy[i])
			second_seen = 1;
}

/*
 * Past the end, a cell holds what an earlier checkpoint's appends left: a
 * whole first copy and a second cut short (killed between them).  That is
 * not this checkpoint's record, nor damage; and appending there clears the
 * old second copy first, so a first copy cut short beside it is still the
 * end (the soak found both).
 */
Test(corruption, older_cells_cut_short_are_not_damage)
{
	struct state before, after;
	struct dxa_scan s;
	struct dxa_jrec old;
	char *a, *b;

	two_records(&before, &s);
	a = meta + dxa_jrec_offset(s.jused, 0);
	b = meta + dxa_jrec_offset(s.jused, 1);
	/* an earlier checkpoint's record for that cell: whole, then its copy cut short */
	memcpy(&old, meta + dxa_jrec_offset(0, 0), sizeof(old));
	old.base = 0; /* before this pool's first checkpoint */
	old.seq = old.base + 1 + s.jused;
	old.crc = dxa_jrec_crc(&old);
	memcpy(a, &old, sizeof(old));
	memcpy(b, &old, sizeof(old) / 2);
	memset(b + sizeof(old) / 2, 0x77, sizeof(old) / 2);
	cr_expect_eq(open_state(&after), 0, "%s", daxalloc_errmsg());
	cr_expect(same_state(&before, &after));

	/* a first copy cut short beside that old second copy: both look damaged */
	memset(a + 64, 0x55, 64);
	cr_expect_eq(open_state(&after), -EUCLEAN, "both copies cut short opened");
	/* what an append really leaves: the old second copy cleared before the first is written */
	memset(b, 0, sizeof(old));
	cr_expect_eq(open_state(&after), 0, "%s", daxalloc_errmsg());
	cr_expect(same_state(&before, &after), "a cut-short append changed the state");

	/* and an append over the old cell is read back */
	memcpy(a, &old, sizeof(old));
	memcpy(b, &old, sizeof(old) / 2);
	memset(b + sizeof(old) / 2, 0x77, sizeof(old) / 2);
	first_copy_at = dxa_jrec_offset(s.jused, 0);
	second_copy = b;
	second_seen = -1;
	persist_test_seam = second_copy_when_first_persists;
	alloc_named("third", 2 * M);
	persist_test_seam = NULL;
	/* had the append died as its first copy went out, the old cut-short copy was gone */
	cr_expect_eq(second_seen, 0, "the cut-short second copy was still there: %d", second_seen);
	cr_assert_eq(open_state(&after), 0, "%s", daxalloc_errmsg());
	cr_expect_eq(after.n, before.n + 1);
}
