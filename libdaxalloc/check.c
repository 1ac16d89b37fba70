// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Offline verification and repair of a pool's metadata.  Works on pools
 * that no longer open, and changes nothing unless asked to repair.  It
 * never goes back to an older state without naming every change that
 * loses and being forced to (DAXALLOC_CHECK_FORCE).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

struct ck {
	struct daxalloc_check_report *rep;
	void (*fn)(int kind, const char *finding, void *arg);
	void *arg;
	uint32_t losses;
	char first_loss[200];
};

/* @src cut to fit @dst. */
static void copy_cut(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

DAXALLOC_PRINTF(3, 4)
static void say(struct ck *k, int kind, const char *fmt, ...)
{
	char line[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (kind != DAXALLOC_CHECK_NOTE) {
		k->rep->problems++;
		if (!k->rep->first_problem[0])
			copy_cut(k->rep->first_problem, sizeof(k->rep->first_problem), line);
	}
	if (kind == DAXALLOC_CHECK_LOSS && !k->losses++)
		copy_cut(k->first_loss, sizeof(k->first_loss), line);
	if (k->fn)
		k->fn(kind, line, k->arg);
}

static void describe(const struct dxa_entry *e, char *buf, size_t len)
{
	char sz[32];

	daxalloc_size_format(e->length, sz, sizeof(sz));
	if (e->flags & DXA_ENTRY_NAMED)
		snprintf(buf, len, "region '%.63s' (%s at 0x%llx)", e->name, sz,
			 (unsigned long long)e->offset);
	else
		snprintf(buf, len, "an unnamed region of pid %u (%s at 0x%llx)", e->owner_pid, sz,
			 (unsigned long long)e->offset);
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
static void name_losses(struct ck *k, const struct dxa_geometry *geo, const char *what,
			const struct dxa_entry *from, uint32_t nfrom, const struct dxa_entry *to,
			uint32_t nto, uint64_t to_seq)
{
	char d[160], why[160];

	for (uint32_t i = 0; i < nfrom; i++) {
		bool found = false;

		if (dxa_entry_validate(&from[i], i, 0, 0, geo, why, sizeof(why)) < 0) {
			say(k, DAXALLOC_CHECK_LOSS, "%s: entry %u does not read (%s): whatever it held is lost",
			    what, i, why);
			continue;
		}
		for (uint32_t j = 0; j < nto && !found; j++)
			found = same_region(&from[i], &to[j]);
		if (!found) {
			describe(&from[i], d, sizeof(d));
			say(k, DAXALLOC_CHECK_LOSS,
			    "%s holds %s, sequence %llu does not: going back loses it (its allocation or rename)",
			    what, d, (unsigned long long)to_seq);
		}
	}
	for (uint32_t j = 0; j < nto; j++) {
		bool found = false;

		for (uint32_t i = 0; i < nfrom && !found; i++)
			found = same_region(&from[i], &to[j]);
		if (!found) {
			describe(&to[j], d, sizeof(d));
			say(k, DAXALLOC_CHECK_LOSS,
			    "%s no longer holds %s: going back to sequence %llu brings it back (undoes its free or rename)",
			    what, d, (unsigned long long)to_seq);
		}
	}
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
			if (c->hdr_rc[x] != -EIO && tear_explains(&c->raw[x], &c->hdr))
				say(k, DAXALLOC_CHECK_NOTE,
				    "copy %d: header %d was cut short by an interrupted update (harmless: header %d holds the state)",
				    slot, x, c->use);
			else
				say(k, DAXALLOC_CHECK_PROBLEM,
				    "%s: damaged; header %d still holds the state (a repair rewrites it)",
				    c->hdr_why[x], c->use);
		}
	}
}

/* Entries of a table that cannot be trusted: as many as the header says, within bounds. */
static uint32_t plausible_count(const struct dxa_hdr *h)
{
	return h->nentries <= DXA_MAX_ENTRIES ? h->nentries : 0;
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
	char what[64];

	*lossy = false;
	if (n < 0)
		return -1;
	if (s->jdamaged) {
		/* The checkpoint and the records before the damaged one hold; the rest is gone. */
		*lossy = true;
		say(k, DAXALLOC_CHECK_LOSS,
		    "the changes from sequence %llu on are lost (journal record %u is damaged in both copies); the state up to sequence %llu is kept",
		    (unsigned long long)(c[n].hdr.seq + 1 + s->jused), s->jused,
		    (unsigned long long)(c[n].hdr.seq + s->jused));
		return n;
	}
	if (c[n].state == DXA_COPY_VALID && c[o].state == DXA_COPY_VALID &&
	    c[n].hdr.seq == c[o].hdr.seq) {
		/* Two states, one number: keep copy 0, name what copy 1 has that it lacks. */
		snprintf(what, sizeof(what), "copy %d", o);
		*lossy = true;
		name_losses(k, &pool->geo, what, tab[o], c[o].hdr.nentries, tab[n], c[n].hdr.nentries,
			    c[n].hdr.seq);
		if (!k->losses)
			say(k, DAXALLOC_CHECK_LOSS,
			    "copies 0 and 1 list the same regions under one sequence number: keeping copy 0 loses nothing named");
		return n;
	}
	if (c[n].table_rc < 0 && c[o].state == DXA_COPY_VALID) {
		if (c[n].table_rc != -EIO &&
		    dxa_table_recover(&c[n].hdr, tab[n], tab[o], c[o].hdr.nentries, &pool->geo) == 0) {
			say(k, DAXALLOC_CHECK_NOTE,
			    "copy %d: the damaged entry of the newest table is restored exactly from copy %d: nothing is lost",
			    n, o);
			return n;
		}
		snprintf(what, sizeof(what), "the newest state (sequence %llu)",
			 (unsigned long long)c[n].hdr.seq);
		*lossy = true;
		name_losses(k, &pool->geo, what, tab[n], plausible_count(&c[n].hdr), tab[o],
			    c[o].hdr.nentries, c[o].hdr.seq);
		if (!k->losses)
			say(k, DAXALLOC_CHECK_LOSS,
			    "the newest state (sequence %llu) cannot be told apart from sequence %llu, but its table does not match its checksum: going back may lose its change",
			    (unsigned long long)c[n].hdr.seq, (unsigned long long)c[o].hdr.seq);
		return o;
	}
	if (c[n].table_rc < 0)
		/* No intact older copy to fall back to: salvage is for a format. */
		return -1;
	if (c[o].state == DXA_COPY_DAMAGED) {
		/* The unreadable copy may have been newer: name what its table says, if it reads. */
		const struct dxa_hdr *h = c[o].hdr_rc[0] != -EIO ? &c[o].raw[0] : &c[o].raw[1];
		struct dxa_entry *t = tab[o];
		uint32_t cnt = plausible_count(h);

		*lossy = true;
		if (meta_read(&pool->mm, dxa_table_offset(o), t, (size_t)cnt * DXA_ENTRY_SIZE) < 0)
			cnt = 0;
		snprintf(what, sizeof(what), "unreadable copy %d", o);
		name_losses(k, &pool->geo, what, t, cnt, tab[n], c[n].hdr.nentries, c[n].hdr.seq);
		say(k, DAXALLOC_CHECK_LOSS,
		    "copy %d has no readable header: if it held a newer state than sequence %llu, that change is lost",
		    o, (unsigned long long)c[n].hdr.seq);
		return n;
	}
	return -1;
}

static int check_each(struct daxalloc_dev *dev, unsigned int flags,
		      struct daxalloc_check_report *rep,
		      void (*fn)(int kind, const char *finding, void *arg), void *arg)
{
	struct ck k = { .rep = rep, .fn = fn, .arg = arg };
	struct daxalloc_pool *pool;
	struct dxa_entry *tab[2];
	struct dxa_scan s;
	uint64_t top_seq;
	bool lossy = false;
	int rc, state;

	if (!rep)
		return daxalloc_err(EINVAL, "daxalloc_pool_check: NULL report");
	memset(rep, 0, sizeof(*rep));
	rep->active_copy = -1;
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
	if (s.rc < 0)
		say(&k, DAXALLOC_CHECK_PROBLEM, "%s", s.why);
	check_header_copies(&k, &s);
	for (int slot = 0; slot < 2; slot++) {
		const struct dxa_copy *c = &s.c[slot];

		if (c->state == DXA_COPY_STALE && slot != s.newest && c->table_rc == -EIO)
			say(&k, DAXALLOC_CHECK_PROBLEM,
			    "%s; the newest copy holds the state (a repair rewrites it)", c->table_why);
		else if (c->state == DXA_COPY_STALE && slot != s.newest)
			say(&k, DAXALLOC_CHECK_NOTE,
			    "copy %d (sequence %llu) was caught mid-update: harmless, it held the state before the newest",
			    slot, (unsigned long long)c->hdr.seq);
		if (c->state == DXA_COPY_LEGACY_DAMAGED)
			say(&k, DAXALLOC_CHECK_PROBLEM,
			    "copy %d: %s; written by format 1.0 (one header), an interrupted update cannot be told from damage: if it held the newest state, that change is lost",
			    slot, c->hdr_why[0]);
	}
	if (s.legacy || (s.newest >= 0 && s.c[s.newest].hdr.version_major < DXA_VERSION_MAJOR))
		say(&k, DAXALLOC_CHECK_NOTE,
		    "format %u.%u: the pool is upgraded to format %u.%u when next opened for writing",
		    s.c[s.newest >= 0 ? s.newest : 0].hdr.version_major,
		    s.c[s.newest >= 0 ? s.newest : 0].hdr.version_minor, DXA_VERSION_MAJOR,
		    DXA_VERSION_MINOR);
	if (s.jrepaired)
		say(&k, DAXALLOC_CHECK_PROBLEM,
		    "%u journal record%s damaged in the first copy; the second holds the change (a repair rewrites them)",
		    s.jrepaired, s.jrepaired == 1 ? " is" : "s are");

	state = s.rc == 0 ? s.newest : choose_fallback(&k, pool, &s, tab, &lossy);
	if (state < 0) {
		if (!rep->problems || s.newest < 0) {
			memset(rep->first_problem, 0, sizeof(rep->first_problem));
			snprintf(rep->first_problem, sizeof(rep->first_problem),
				 "neither copy of the metadata is valid (%.100s): format the pool again",
				 s.why);
		}
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
	if (rep->orphans)
		say(&k, DAXALLOC_CHECK_PROBLEM,
		    "%u unnamed regions belong to processes that died (the next open reclaims them)",
		    rep->orphans);
	if ((flags & DAXALLOC_CHECK_REPAIR) && lossy && !(flags & DAXALLOC_CHECK_FORCE)) {
		snprintf(rep->first_problem, sizeof(rep->first_problem),
			 "a repair would go back to an older state and lose %u change%s (first: %.100s): nothing written; repair with --force to accept",
			 k.losses, k.losses == 1 ? "" : "s", k.first_loss);
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
			info(pool->ctx, "%s: went back to the older metadata copy, losing %u change(s)",
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
DAXALLOC_EXPORT int daxalloc_pool_check_each(struct daxalloc_dev *dev, unsigned int flags,
					     struct daxalloc_check_report *out,
					     void (*fn)(int kind, const char *finding, void *arg),
					     void *arg)
{
	struct daxalloc_check_report all;
	int n, rc;

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
