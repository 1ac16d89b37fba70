// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Offline verification and repair of a pool's metadata.  Works on pools
 * that no longer open, and changes nothing unless asked to repair.  It
 * never goes back to an older state without naming every change that
 * loses and being forced to (DAXALLOC_CHECK_FORCE).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

struct ck {
	struct daxalloc_check_report *rep;
	void (*fn)(const struct daxalloc_check_finding *f, void *arg);
	void *arg;
	uint32_t losses;
};

/* A finding of @code with nothing set yet (-1: no copy, header, other). */
static struct daxalloc_check_finding finding(enum daxalloc_check_kind kind,
					     enum daxalloc_check_code code)
{
	return (struct daxalloc_check_finding){ .struct_size = sizeof(struct daxalloc_check_finding),
						.kind = kind,
						.code = code,
						.copy = -1,
						.header = -1,
						.other = -1 };
}

/* Count @f, keep the first problem and loss in the report (without detail), hand it on. */
static void say(struct ck *k, const struct daxalloc_check_finding *f)
{
	if (f->kind != DAXALLOC_CHECK_NOTE) {
		k->rep->problems++;
		if (k->rep->first.code == DAXALLOC_CHECK_CLEAN) {
			k->rep->first = *f;
			k->rep->first.detail = NULL;
		}
	}
	if (f->kind == DAXALLOC_CHECK_LOSS && !k->losses++) {
		k->rep->first_loss = *f;
		k->rep->first_loss.detail = NULL;
	}
	if (k->fn)
		k->fn(f, k->arg);
}

/* A finding of @code about the entry @e, seen in @source. */
static void say_region(struct ck *k, enum daxalloc_check_code code,
		       const struct daxalloc_check_finding *source, const struct dxa_entry *e,
		       uint64_t to_seq)
{
	struct daxalloc_check_finding f = *source;

	f.code = code;
	f.sequence2 = to_seq;
	if (e->flags & DXA_ENTRY_NAMED)
		snprintf(f.region.name, sizeof(f.region.name), "%.*s",
			 (int)sizeof(f.region.name) - 1, e->name);
	else
		f.region.pid = e->owner_pid;
	f.region.offset = e->offset;
	f.region.size = e->length;
	say(k, &f);
}

static bool same_region(const struct dxa_entry *a, const struct dxa_entry *b)
{
	return a->offset == b->offset && a->length == b->length && a->flags == b->flags &&
	       memcmp(a->name, b->name, sizeof(a->name)) == 0;
}

/*
 * Name what going from table @from (as far as it reads) back to table
 * @to loses: regions only @from holds, regions only @to holds (freed or
 * renamed since), entries of @from that do not read.
 */
static void name_losses(struct ck *k, const struct dxa_geometry *geo,
			const struct daxalloc_check_finding *what, const struct dxa_entry *from,
			uint32_t nfrom, const struct dxa_entry *to, uint32_t nto, uint64_t to_seq)
{
	char why[160];

	for (uint32_t i = 0; i < nfrom; i++) {
		bool found = false;

		if (dxa_entry_validate(&from[i], i, 0, 0, geo, why, sizeof(why)) < 0) {
			struct daxalloc_check_finding f = *what;

			f.code = DAXALLOC_CHECK_ENTRY_UNREADABLE;
			f.index = i;
			f.detail = why;
			say(k, &f);
			continue;
		}
		for (uint32_t j = 0; j < nto && !found; j++)
			found = same_region(&from[i], &to[j]);
		if (!found)
			say_region(k, DAXALLOC_CHECK_REGION_DROPPED, what, &from[i], to_seq);
	}
	for (uint32_t j = 0; j < nto; j++) {
		bool found = false;

		for (uint32_t i = 0; i < nfrom && !found; i++)
			found = same_region(&from[i], &to[j]);
		if (!found)
			say_region(k, DAXALLOC_CHECK_REGION_REVIVED, what, &to[j], to_seq);
	}
}

/* Where name_losses() sees the losses: @source, with its copy and sequence. */
static struct daxalloc_check_finding loss_in(enum daxalloc_check_source source, int copy, uint64_t seq)
{
	struct daxalloc_check_finding f = finding(DAXALLOC_CHECK_LOSS, DAXALLOC_CHECK_CLEAN);

	f.source = source;
	f.copy = copy;
	f.sequence = seq;
	return f;
}

/* Could an interrupted write of this header copy explain how it differs from its twin? */
static bool tear_explains(const struct dxa_hdr *bad, const struct dxa_hdr *good)
{
	struct dxa_hdr a = *bad, b = *good;

	/* an update changes only these fields */
	a.seq = b.seq = 0;
	a.version_minor = b.version_minor = 0;
	a.nentries = b.nentries = 0;
	a.table_crc = b.table_crc = 0;
	a.hdr_crc = b.hdr_crc = 0;
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static void check_header_copies(struct ck *k, const struct dxa_scan *s)
{
	for (int slot = 0; slot < 2; slot++) {
		const struct dxa_copy *c = &s->c[slot];

		if (c->use < 0)
			continue;
		for (int x = 0; x < 2; x++) {
			if (x == c->use || c->hdr_rc[x] == 0 || c->hdr_blank[x])
				continue;
			struct daxalloc_check_finding f;

			if (c->hdr_rc[x] != -EIO && tear_explains(&c->raw[x], &c->hdr)) {
				f = finding(DAXALLOC_CHECK_NOTE, DAXALLOC_CHECK_HEADER_TORN);
			} else {
				f = finding(DAXALLOC_CHECK_PROBLEM, DAXALLOC_CHECK_HEADER_DAMAGED);
				f.detail = c->hdr_why[x];
			}
			f.copy = slot;
			f.header = x;
			f.other = c->use;
			say(k, &f);
		}
	}
}

/* Entries of a table that cannot be trusted: as many as the header says, within bounds. */
static uint32_t plausible_count(const struct dxa_hdr *h, const struct dxa_geometry *geo)
{
	return h->nentries <= h->table_max && h->table_max <= dxa_geo_cap(geo) ? h->nentries : 0;
}

/*
 * The newest state is damaged.  Choose what a repair writes: the newest
 * restored exactly (no loss), else the older copy, naming every loss.
 * Returns the slot whose table (in @tab) becomes the state, or -1.
 */
static int choose_fallback(struct ck *k, struct daxalloc_pool *pool, const struct dxa_scan *s,
			   struct dxa_entry *tab[2], bool *lossy)
{
	const struct dxa_copy *c = s->c;
	int n = s->newest, o = n < 0 ? -1 : !n;
	struct daxalloc_check_finding f, what;

	*lossy = false;
	if (n < 0)
		return -1;
	if (s->jdamaged) {
		/* The checkpoint and the records before the damaged one hold; the rest is gone. */
		*lossy = true;
		f = finding(DAXALLOC_CHECK_LOSS, DAXALLOC_CHECK_JOURNAL_LOST);
		f.index = s->jused;
		f.sequence = c[n].hdr.seq + s->jused;
		say(k, &f);
		return n;
	}
	if (c[n].state == DXA_COPY_VALID && c[o].state == DXA_COPY_VALID &&
	    c[n].hdr.seq == c[o].hdr.seq) {
		/* Two states, one number: keep copy 0, name what copy 1 has that it lacks. */
		what = loss_in(DAXALLOC_CHECK_IN_COPY, o, c[o].hdr.seq);
		*lossy = true;
		name_losses(k, &pool->geo, &what, tab[o], c[o].hdr.nentries, tab[n],
			    c[n].hdr.nentries, c[n].hdr.seq);
		if (!k->losses) {
			f = finding(DAXALLOC_CHECK_LOSS, DAXALLOC_CHECK_SAME_REGIONS);
			say(k, &f);
		}
		return n;
	}
	if (c[n].table_rc < 0 && c[o].state == DXA_COPY_VALID) {
		if (c[n].table_rc != -EIO && dxa_table_recover(&c[n].hdr, tab[n], tab[o],
							       c[o].hdr.nentries, &pool->geo) == 0) {
			f = finding(DAXALLOC_CHECK_NOTE, DAXALLOC_CHECK_ENTRY_RESTORED);
			f.copy = n;
			f.other = o;
			say(k, &f);
			return n;
		}
		what = loss_in(DAXALLOC_CHECK_IN_NEWEST, n, c[n].hdr.seq);
		*lossy = true;
		name_losses(k, &pool->geo, &what, tab[n], plausible_count(&c[n].hdr, &pool->geo),
			    tab[o], c[o].hdr.nentries, c[o].hdr.seq);
		if (!k->losses) {
			f = finding(DAXALLOC_CHECK_LOSS, DAXALLOC_CHECK_CHANGE_UNKNOWN);
			f.sequence = c[n].hdr.seq;
			f.sequence2 = c[o].hdr.seq;
			say(k, &f);
		}
		return o;
	}
	if (c[n].table_rc < 0)
		/* No intact older copy to fall back to: salvage is for a format. */
		return -1;
	if (c[o].state == DXA_COPY_DAMAGED) {
		/* The unreadable copy may have been newer: name what its table says, if it reads. */
		const struct dxa_hdr *h = c[o].hdr_rc[0] != -EIO ? &c[o].raw[0] : &c[o].raw[1];
		struct dxa_entry *t = tab[o];
		uint32_t cnt = plausible_count(h, &pool->geo);
		struct dxa_layout l;

		/* where the newest copy's layout puts it */
		dxa_layout(c[n].hdr.table_max, pool->geo.unit, &l);
		if (cnt > c[n].hdr.table_max)
			cnt = c[n].hdr.table_max;
		*lossy = true;
		if (pool_meta_read(pool, l.table_offset[o], t, (size_t)cnt * DXA_ENTRY_SIZE) < 0)
			cnt = 0;
		what = loss_in(DAXALLOC_CHECK_IN_UNREADABLE_COPY, o, 0);
		name_losses(k, &pool->geo, &what, t, cnt, tab[n], c[n].hdr.nentries, c[n].hdr.seq);
		f = finding(DAXALLOC_CHECK_LOSS, DAXALLOC_CHECK_COPY_UNREADABLE);
		f.copy = o;
		f.sequence = c[n].hdr.seq;
		say(k, &f);
		return n;
	}
	return -1;
}

static int check_each(struct daxalloc_dev *dev, unsigned int flags, struct daxalloc_check_report *rep,
		      void (*fn)(const struct daxalloc_check_finding *f, void *arg), void *arg)
{
	struct ck k = { .rep = rep, .fn = fn, .arg = arg };
	struct daxalloc_check_finding f;
	struct daxalloc_pool *pool;
	struct dxa_entry *tab[2];
	struct dxa_scan s;
	uint64_t top_seq;
	bool lossy = false;
	int rc, state;

	if (!rep)
		return daxalloc_err(EINVAL, "daxalloc_pool_check: NULL report");
	memset(rep, 0, sizeof(*rep));
	rep->struct_size = sizeof(*rep);
	rep->active_copy = -1;
	rep->first = finding(DAXALLOC_CHECK_PROBLEM, DAXALLOC_CHECK_CLEAN);
	rep->first_loss = finding(DAXALLOC_CHECK_LOSS, DAXALLOC_CHECK_CLEAN);
	if (flags & ~(DAXALLOC_CHECK_REPAIR | DAXALLOC_CHECK_FORCE))
		return daxalloc_err(EINVAL, "daxalloc_pool_check: unknown flags 0x%x", flags);
	if ((flags & DAXALLOC_CHECK_FORCE) && !(flags & DAXALLOC_CHECK_REPAIR))
		return daxalloc_err(EINVAL,
				    "daxalloc_pool_check: DAXALLOC_CHECK_FORCE only goes with DAXALLOC_CHECK_REPAIR");
	if ((rc = hugetlb_no_pool_yet(dev)) < 0)
		return rc;
	rc = pool_attach(dev, &pool);
	if (rc < 0)
		return rc;
	rc = pool_lock(pool);
	if (rc < 0) {
		pool_detach(pool);
		return rc;
	}
	pool_scan(pool, &s);
	if (s.rc == -ENODATA || s.rc == -EPROTONOSUPPORT || s.rc == -EXDEV) {
		/* Not ours to repair: no pool, a newer format, or a changed device. */
		rc = pool_scan_error(pool, &s);
		pool_unlock(pool);
		pool_detach(pool);
		return rc;
	}
	tab[0] = pool->ents;
	tab[1] = pool->scratch;
	rep->active_copy = s.newest;
	if (s.newest >= 0)
		rep->sequence = s.rc == 0 ? s.seq : s.c[s.newest].hdr.seq;
	rep->standby_valid = s.newest >= 0 && s.c[!s.newest].state == DXA_COPY_VALID;
	if (s.rc < 0) {
		f = finding(DAXALLOC_CHECK_PROBLEM, DAXALLOC_CHECK_STATE_DAMAGED);
		f.detail = s.why;
		say(&k, &f);
	}
	check_header_copies(&k, &s);
	for (int slot = 0; slot < 2; slot++) {
		const struct dxa_copy *c = &s.c[slot];

		if (c->state == DXA_COPY_STALE && slot != s.newest && c->table_rc == -EIO) {
			/* not an interrupted update: media the guarded read could not read */
			f = finding(DAXALLOC_CHECK_PROBLEM, DAXALLOC_CHECK_TABLE_UNREADABLE);
			f.copy = slot;
			f.detail = c->table_why;
			say(&k, &f);
		} else if (c->state == DXA_COPY_STALE && slot != s.newest) {
			f = finding(DAXALLOC_CHECK_NOTE, DAXALLOC_CHECK_COPY_STALE);
			f.copy = slot;
			f.sequence = c->hdr.seq;
			say(&k, &f);
		}
		if (c->state == DXA_COPY_LEGACY_DAMAGED) {
			f = finding(DAXALLOC_CHECK_PROBLEM, DAXALLOC_CHECK_LEGACY_DAMAGED);
			f.copy = slot;
			f.detail = c->hdr_why[0];
			say(&k, &f);
		}
	}
	if (s.legacy || (s.newest >= 0 && s.c[s.newest].hdr.version_major < DXA_VERSION_MAJOR)) {
		f = finding(DAXALLOC_CHECK_NOTE, DAXALLOC_CHECK_OLD_FORMAT);
		f.format_major = s.c[s.newest >= 0 ? s.newest : 0].hdr.version_major;
		f.format_minor = s.c[s.newest >= 0 ? s.newest : 0].hdr.version_minor;
		say(&k, &f);
	}
	if (s.jrepaired) {
		f = finding(DAXALLOC_CHECK_PROBLEM, DAXALLOC_CHECK_JOURNAL_REPAIRABLE);
		f.count = s.jrepaired;
		say(&k, &f);
	}

	state = s.rc == 0 ? s.newest : choose_fallback(&k, pool, &s, tab, &lossy);
	if (state < 0) {
		/* its detail is the first finding's: s.why */
		if (!rep->problems || s.newest < 0)
			rep->first = finding(DAXALLOC_CHECK_PROBLEM, DAXALLOC_CHECK_NO_VALID_COPY);
		rep->problems = rep->problems ? rep->problems : 1;
		pool_unlock(pool);
		pool_detach(pool);
		return (int)rep->problems;
	}
	top_seq = 0;
	for (int slot = 0; slot < 2; slot++)
		for (int x = 0; x < 2; x++)
			if (s.c[slot].hdr_rc[x] == 0 && s.c[slot].raw[x].seq > top_seq)
				top_seq = s.c[slot].raw[x].seq;
	pool_adopt(pool, &s, state);
	rep->regions = pool->n;
	for (uint32_t i = 0; i < pool->n; i++)
		if (!(pool->ents[i].flags & DXA_ENTRY_NAMED) &&
		    !pool_owner_alive(pool, &pool->ents[i]))
			rep->orphans++;
	if (rep->orphans) {
		f = finding(DAXALLOC_CHECK_PROBLEM, DAXALLOC_CHECK_ORPHANS);
		f.count = rep->orphans;
		say(&k, &f);
	}
	if ((flags & DAXALLOC_CHECK_REPAIR) && lossy && !(flags & DAXALLOC_CHECK_FORCE)) {
		rep->first = finding(DAXALLOC_CHECK_PROBLEM, DAXALLOC_CHECK_NEEDS_FORCE);
		rep->first.count = k.losses;
	} else if (flags & DAXALLOC_CHECK_REPAIR) {
		uint32_t gone = pool_reclaim_orphans(pool);

		/* Above every sequence number seen, then two commits: both copies valid and identical. */
		if (top_seq + 2 < DXA_SEQ_LIMIT && top_seq > pool->hdr.seq + pool->jused) {
			pool->hdr.seq = top_seq;
			pool->jused = 0;
		}
		pool_checkpoint(pool);
		pool_checkpoint(pool);
		if (lossy)
			info(pool->ctx,
			     "%s: went back to the older metadata copy, losing %u change(s)",
			     dev->name, k.losses);
		rep->repaired = rep->problems;
		rep->problems = 0;
		rep->regions = pool->n;
		rep->orphans -= gone;
		rep->standby_valid = true;
		rep->active_copy = pool->active;
		rep->sequence = pool->hdr.seq;
	}
	pool_unlock(pool);
	pool_detach(pool);
	return (int)rep->problems;
}

/* The caller's report as far as its size goes: the check fills a whole one. */
DAXALLOC_EXPORT int daxalloc_pool_check_each(
	struct daxalloc_dev *dev, unsigned int flags, struct daxalloc_check_report *out,
	void (*fn)(const struct daxalloc_check_finding *f, void *arg), void *arg)
{
	struct daxalloc_check_report all;
	int n, rc;
	API_CALL(dev ? dev->ctx : NULL);

	if (!out)
		return check_each(dev, flags, NULL, fn, arg);
	n = SIZED(out, check_report);
	if (n < 0)
		return n;
	rc = check_each(dev, flags, &all, fn, arg);
	sized_copy(out, &all, n);
	return rc;
}

/* Exported through versions.c: 0.1's report had no size (compat-0.1.c). */
int daxalloc_pool_check(struct daxalloc_dev *dev, unsigned int flags,
			struct daxalloc_check_report *rep)
{
	return daxalloc_pool_check_each(dev, flags, rep, NULL, NULL);
}
