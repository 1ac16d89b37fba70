// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The findings of daxalloc_pool_check() in words.  check.c hands out
 * codes and the numbers they name; the words live here only, so that
 * callers keep no buffer of prose, and the CLI, the 0.1 report and any
 * program say a finding alike.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "metadata.h"
#include "private.h"

/* Where a loss is seen: "copy 1", "the newest state (sequence 7)", "unreadable copy 0". */
static int source_str(const struct daxalloc_check_finding *f, char *buf, size_t len)
{
	switch (f->source) {
	case DAXALLOC_CHECK_IN_NEWEST:
		return snprintf(buf, len, "the newest state (sequence %llu)",
				(unsigned long long)f->sequence);
	case DAXALLOC_CHECK_IN_UNREADABLE_COPY:
		return snprintf(buf, len, "unreadable copy %d", f->copy);
	default:
		return snprintf(buf, len, "copy %d", f->copy);
	}
}

static void region_str(const struct daxalloc_check_finding *f, char *buf, size_t len)
{
	char sz[32];

	daxalloc_size_format(f->region.size, sz, sizeof(sz));
	if (f->region.name[0])
		snprintf(buf, len, "region '%.63s' (%s at 0x%llx)", f->region.name, sz,
			 (unsigned long long)f->region.offset);
	else
		snprintf(buf, len, "an unnamed region of pid %u (%s at 0x%llx)", f->region.pid, sz,
			 (unsigned long long)f->region.offset);
}

/* The reader's words, or these in @d when a report carries none. */
static DAXALLOC_PRINTF(4, 5) const
	char *words(const char *detail, char *d, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (detail)
		return detail;
	va_start(ap, fmt);
	vsnprintf(d, len, fmt, ap);
	va_end(ap);
	return d;
}

/* @f in words; @loss: the finding NEEDS_FORCE names, or NULL. */
static int describe(const struct daxalloc_check_finding *f,
		    const struct daxalloc_check_finding *loss, char *buf, size_t len)
{
	char src[64], reg[160], d[80];
	const char *detail = f->detail;

	source_str(f, src, sizeof(src));
	switch (f->code) {
	case DAXALLOC_CHECK_CLEAN:
		return snprintf(buf, len, "%s", "");
	case DAXALLOC_CHECK_STATE_DAMAGED:
		return snprintf(buf, len, "%s", detail ? detail : "the newest metadata is damaged");
	case DAXALLOC_CHECK_HEADER_TORN:
		return snprintf(buf, len,
				"copy %d: header %d was cut short by an interrupted update (harmless: header %d holds the state)",
				f->copy, f->header, f->other);
	case DAXALLOC_CHECK_HEADER_DAMAGED:
		return snprintf(buf, len,
				"%s: damaged; header %d still holds the state (a repair rewrites it)",
				words(detail, d, sizeof(d), "copy %d: header %d", f->copy, f->header),
				f->other);
	case DAXALLOC_CHECK_COPY_STALE:
		return snprintf(buf, len,
				"copy %d (sequence %llu) was caught mid-update: harmless, it held the state before the newest",
				f->copy, (unsigned long long)f->sequence);
	case DAXALLOC_CHECK_LEGACY_DAMAGED:
		return snprintf(buf, len,
				"copy %d: %s; written by format 1.0 (one header), an interrupted update cannot be told from damage: if it held the newest state, that change is lost",
				f->copy, detail ? detail : "its header is damaged");
	case DAXALLOC_CHECK_OLD_FORMAT:
		return snprintf(buf, len,
				"format %u.%u: the pool is upgraded to format %u.%u when next opened for writing",
				f->format_major, f->format_minor, DXA_VERSION_MAJOR,
				DXA_VERSION_MINOR);
	case DAXALLOC_CHECK_JOURNAL_REPAIRABLE:
		return snprintf(buf, len,
				"%u journal record%s damaged in the first copy; the second holds the change (a repair rewrites them)",
				f->count, f->count == 1 ? " is" : "s are");
	case DAXALLOC_CHECK_JOURNAL_LOST:
		return snprintf(buf, len,
				"the changes from sequence %llu on are lost (journal record %u is damaged in both copies); the state up to sequence %llu is kept",
				(unsigned long long)f->sequence + 1, f->index,
				(unsigned long long)f->sequence);
	case DAXALLOC_CHECK_ENTRY_UNREADABLE:
		if (detail)
			return snprintf(buf, len,
					"%s: entry %u does not read (%s): whatever it held is lost",
					src, f->index, detail);
		return snprintf(buf, len, "%s: entry %u does not read: whatever it held is lost",
				src, f->index);
	case DAXALLOC_CHECK_REGION_DROPPED:
		region_str(f, reg, sizeof(reg));
		return snprintf(buf, len,
				"%s holds %s, sequence %llu does not: going back loses it (its allocation or rename)",
				src, reg, (unsigned long long)f->sequence2);
	case DAXALLOC_CHECK_REGION_REVIVED:
		region_str(f, reg, sizeof(reg));
		return snprintf(buf, len,
				"%s no longer holds %s: going back to sequence %llu brings it back (undoes its free or rename)",
				src, reg, (unsigned long long)f->sequence2);
	case DAXALLOC_CHECK_SAME_REGIONS:
		return snprintf(buf, len, "%s",
				"copies 0 and 1 list the same regions under one sequence number: keeping copy 0 loses nothing named");
	case DAXALLOC_CHECK_ENTRY_RESTORED:
		return snprintf(buf, len,
				"copy %d: the damaged entry of the newest table is restored exactly from copy %d: nothing is lost",
				f->copy, f->other);
	case DAXALLOC_CHECK_CHANGE_UNKNOWN:
		return snprintf(buf, len,
				"the newest state (sequence %llu) cannot be told apart from sequence %llu, but its table does not match its checksum: going back may lose its change",
				(unsigned long long)f->sequence, (unsigned long long)f->sequence2);
	case DAXALLOC_CHECK_COPY_UNREADABLE:
		return snprintf(buf, len,
				"copy %d has no readable header: if it held a newer state than sequence %llu, that change is lost",
				f->copy, (unsigned long long)f->sequence);
	case DAXALLOC_CHECK_ORPHANS:
		return snprintf(buf, len,
				"%u unnamed regions belong to processes that died (the next open reclaims them)",
				f->count);
	case DAXALLOC_CHECK_NO_VALID_COPY:
		if (detail)
			return snprintf(buf, len,
					"neither copy of the metadata is valid (%.100s): format the pool again",
					detail);
		return snprintf(buf, len, "%s",
				"neither copy of the metadata is valid: format the pool again");
	case DAXALLOC_CHECK_TABLE_UNREADABLE:
		return snprintf(buf, len,
				"%s; the newest copy holds the state (a repair rewrites it)",
				words(detail, d, sizeof(d),
				      "copy %d: its region table does not read", f->copy));
	case DAXALLOC_CHECK_NEEDS_FORCE: {
		char first[256] = "";

		/* 0.1's report quoted the first loss cut to 100 characters */
		if (loss && loss->code != DAXALLOC_CHECK_CLEAN && loss->code != f->code)
			describe(loss, NULL, first, sizeof(first));
		if (!first[0])
			return snprintf(buf, len,
					"a repair would go back to an older state and lose %u change%s: nothing written; repair with --force to accept",
					f->count, f->count == 1 ? "" : "s");
		return snprintf(buf, len,
				"a repair would go back to an older state and lose %u change%s (first: %.100s): nothing written; repair with --force to accept",
				f->count, f->count == 1 ? "" : "s", first);
	}
	}
	return snprintf(buf, len, "unknown problem %d", (int)f->code);
}

static int describe_args(const char *fn, const void *what, uint32_t size, size_t known, char *buf,
			 size_t len)
{
	if (!what)
		return daxalloc_err(EINVAL, "%s: NULL argument", fn);
	if (!buf && len)
		return daxalloc_err(EINVAL, "%s: NULL buffer of %zu bytes", fn, len);
	if (size != known)
		return daxalloc_err(EINVAL, "%s: .struct_size %u, this library's is %zu", fn, size,
				    known);
	return 0;
}

DAXALLOC_EXPORT int daxalloc_check_finding_describe(const struct daxalloc_check_finding *f,
						    char *buf, size_t len)
{
	int rc = describe_args("daxalloc_check_finding_describe", f, f ? f->struct_size : 0,
			       sizeof(*f), buf, len);

	return rc < 0 ? rc : describe(f, NULL, buf, len);
}

DAXALLOC_EXPORT int daxalloc_check_report_describe(const struct daxalloc_check_report *rep,
						   char *buf, size_t len)
{
	int rc = describe_args("daxalloc_check_report_describe", rep, rep ? rep->struct_size : 0,
			       sizeof(*rep), buf, len);

	return rc < 0 ? rc : describe(&rep->first, &rep->first_loss, buf, len);
}
