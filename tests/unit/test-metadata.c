// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The on-device format validator against hand-made slots: a valid slot
 * passes, and every kind of damage or hostility gets its own error.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "metadata.h"
#include "private.h"

#define UNIT (UINT64_C(2) << 20)
#define DEVSZ (UINT64_C(64) << 20)

static struct dxa_hdr h;
static struct dxa_entry t[DXA_MAX_ENTRIES];
static struct dxa_geometry geo = { DEVSZ, UNIT, UNIT };
static char why[256];

static void seal(void)
{
	h.table_crc = daxalloc_crc32c(0, t, (size_t)h.nentries * DXA_ENTRY_SIZE);
	h.hdr_crc = dxa_hdr_crc(&h);
}

static void entry(uint32_t i, uint64_t off, uint64_t len, const char *name)
{
	memset(&t[i], 0, sizeof(t[i]));
	t[i].offset = off;
	t[i].length = len;
	if (name) {
		t[i].flags = DXA_ENTRY_NAMED;
		strcpy(t[i].name, name);
	} else {
		t[i].owner_pid = 1;
	}
}

static void setup(void)
{
	memset(&h, 0, sizeof(h));
	memset(t, 0, sizeof(t));
	memcpy(h.magic, DXA_MAGIC, 8);
	h.version_major = DXA_VERSION_MAJOR;
	h.version_minor = DXA_VERSION_MINOR;
	h.seq = 7;
	h.dev_size = DEVSZ;
	h.unit = UNIT;
	h.data_start = UNIT;
	h.table_offset = DXA_TABLE0_OFFSET;
	h.table_max = DXA_MAX_ENTRIES;
	h.journal_offset = DXA_JOURNAL_OFFSET;
	h.journal_cells = DXA_JOURNAL_CELLS;
	h.journal_rec = DXA_JREC_SIZE;
	h.nentries = 3;
	entry(0, UNIT, UNIT, "alpha");
	entry(1, 4 * UNIT, 2 * UNIT, NULL);
	entry(2, 10 * UNIT, 22 * UNIT, "beta.v2");
	seal();
}

TestSuite(metadata, .init = setup);

static void expect(int err, const char *says)
{
	int rc = dxa_slot_validate(&h, t, 0, &geo, why, sizeof(why));

	cr_expect_eq(rc, -err, "rc %d (%s), want -%d", rc, why, err);
	if (says)
		cr_expect(strstr(why, says), "'%s' lacks '%s'", why, says);
}

Test(metadata, valid_slot_passes)
{
	expect(0, NULL);
}

Test(metadata, meta_size_per_unit)
{
	cr_expect_eq(dxa_meta_size(4096), 2u << 20);
	cr_expect_eq(dxa_meta_size(2u << 20), 2u << 20);
	cr_expect_eq(dxa_meta_size(1u << 30), 1u << 30);
	cr_expect_leq(DXA_META_USED, DXA_META_MIN);
}

Test(metadata, no_signature)
{
	memset(h.magic, 0, 8);
	seal();
	expect(ENODATA, "no pool signature");
}

Test(metadata, header_bit_flip)
{
	h.seq ^= 1;
	expect(EUCLEAN, "header checksum");
}

Test(metadata, newer_major_version)
{
	h.version_major = DXA_VERSION_MAJOR + 1;
	h.version_minor = 0;
	seal();
	expect(EPROTONOSUPPORT, "format version 3.0");
}

/* 1.x had no journal: its header leaves those fields zero, and reads. */
Test(metadata, format_1_reads_without_a_journal)
{
	h.version_major = 1;
	h.version_minor = 1;
	h.journal_offset = 0;
	h.journal_cells = 0;
	h.journal_rec = 0;
	seal();
	expect(0, NULL);
}

Test(metadata, journal_elsewhere_is_damage)
{
	h.journal_cells = DXA_JOURNAL_CELLS + 1;
	seal();
	expect(EUCLEAN, "journal of");
}

Test(metadata, newer_minor_version_reads)
{
	h.version_minor = 9;
	seal();
	expect(0, NULL);
}

Test(metadata, alignment_changed)
{
	h.unit = 1u << 30;
	seal();
	expect(EXDEV, "alignment is now");
}

Test(metadata, device_resized)
{
	h.dev_size = DEVSZ * 2;
	seal();
	expect(EXDEV, "now has");
}

Test(metadata, wrong_table_place)
{
	h.table_offset = DXA_TABLE0_OFFSET + DXA_TABLE_SIZE;
	seal();
	expect(EUCLEAN, "table at");
}

Test(metadata, wrong_data_start)
{
	h.data_start = 0;
	seal();
	expect(EUCLEAN, "data starts at");
}

Test(metadata, too_many_entries)
{
	h.nentries = DXA_MAX_ENTRIES + 1;
	h.hdr_crc = dxa_hdr_crc(&h);
	expect(EUCLEAN, "entries in a table");
	h.nentries = UINT32_MAX;
	h.hdr_crc = dxa_hdr_crc(&h);
	expect(EUCLEAN, "entries in a table");
}

Test(metadata, table_bit_flip)
{
	t[1].length ^= UNIT;
	expect(EUCLEAN, "table checksum");
}

Test(metadata, unaligned_entry)
{
	t[1].offset += 4096;
	seal();
	expect(EUCLEAN, "not unit-aligned");
}

Test(metadata, zero_length_entry)
{
	t[1].length = 0;
	seal();
	expect(EUCLEAN, "not unit-aligned");
}

Test(metadata, overlapping_entries)
{
	t[1].offset = UNIT;
	seal();
	expect(EUCLEAN, "overlaps");
}

Test(metadata, entry_inside_metadata)
{
	t[0].offset = 0;
	seal();
	expect(EUCLEAN, "overlaps");
}

Test(metadata, entry_past_device)
{
	t[2].length = 28 * UNIT;
	seal();
	expect(EUCLEAN, "runs past the device");
	t[2].length = UINT64_MAX - UINT64_MAX % UNIT;
	seal();
	expect(EUCLEAN, "runs past the device");
}

Test(metadata, unknown_entry_flags)
{
	t[0].flags |= 0x80;
	seal();
	expect(EUCLEAN, "unknown flags");
}

Test(metadata, unterminated_name)
{
	memset(t[0].name, 'a', sizeof(t[0].name));
	seal();
	expect(EUCLEAN, "not terminated");
}

Test(metadata, bad_name_on_device)
{
	strcpy(t[0].name, "a/b");
	seal();
	expect(EUCLEAN, "'/'");
	strcpy(t[0].name, "tab\there");
	seal();
	expect(EUCLEAN, "control character");
}

Test(metadata, duplicate_names)
{
	strcpy(t[2].name, "alpha");
	seal();
	expect(EUCLEAN, "appears twice");
}

/* A full table: every name compared with every other, found however far apart. */
Test(metadata, duplicate_names_in_a_full_table)
{
	struct dxa_geometry g = { UNIT + (DXA_MAX_ENTRIES + 1) * UINT64_C(4096), 4096, UNIT };

	h.nentries = DXA_MAX_ENTRIES;
	for (uint32_t i = 0; i < DXA_MAX_ENTRIES; i++) {
		char name[16];

		snprintf(name, sizeof(name), "r%u", i);
		entry(i, UNIT + i * UINT64_C(4096), 4096, i % 3 ? name : NULL);
	}
	seal();
	cr_expect_eq(dxa_table_validate(&h, t, 0, &g, why, sizeof(why)), 0, "%s", why);
	strcpy(t[DXA_MAX_ENTRIES - 1].name, t[1].name);
	seal();
	cr_expect_eq(dxa_table_validate(&h, t, 0, &g, why, sizeof(why)), -EUCLEAN);
	cr_expect(strstr(why, "region name 'r1' appears twice"), "%s", why);
}

Test(metadata, unnamed_with_name)
{
	strcpy(t[1].name, "ghost");
	seal();
	expect(EUCLEAN, "carries a name");
}

struct name_case {
	const char *name;
	int err;
};

Test(metadata, name_rules)
{
	static const struct name_case cases[] = {
		{ "db.pool-0", 0 },
		{ "a", 0 },
		{ "vm:guest@1+x_y", 0 },
		{ "", EINVAL },
		{ "-x", EINVAL },
		{ ".hidden", EINVAL },
		{ "a b", EINVAL },
		{ "a/b", EINVAL },
		{ "ä", EINVAL },
		{ "x\n", EINVAL },
		{ "x\x7f", EINVAL },
		{ "123456789012345678901234567890123456789012345678901234567890123", 0 },
		{ "1234567890123456789012345678901234567890123456789012345678901234", ENAMETOOLONG },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(dxa_name_check(cases[i].name, why, sizeof(why)), -cases[i].err,
			     "'%s': %s", cases[i].name, why);
	cr_expect_eq(dxa_name_check(NULL, why, sizeof(why)), -EINVAL);
}

Test(metadata, crc32c_known_value)
{
	/* the standard check value of CRC-32C */
	cr_expect_eq(daxalloc_crc32c(0, "123456789", 9), 0xe3069283u);
}

/* A bit at a time, straight from the definition. */
static uint32_t crc32c_bitwise(uint32_t crc, const unsigned char *p, size_t len)
{
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

/*
 * Large buffers are checksummed in three streams joined after each block:
 * every length around the block edges, any alignment and start value, the
 * same as the definition; and a checksum continued is the checksum of the
 * whole.
 */
Test(metadata, crc32c_agrees_with_its_definition)
{
	static const size_t lens[] = { 0,     1,     7,      8,      255,    767,   768,
				       769,   1000,  24575,  24576,  24577,  24583, 49152,
				       49920, 73727, 100000, 262144, 1 << 20 };
	size_t max = (1 << 20) + 64;
	unsigned char *b = malloc(max);
	uint32_t s = 1;

	cr_assert_not_null(b);
	for (size_t i = 0; i < max; i++) {
		s = s * 1103515245u + 12345u;
		b[i] = (unsigned char)(s >> 16);
	}
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (size_t off = 0; off < 9; off += 3) {
			uint32_t start = (uint32_t)(i * 2654435761u + off);
			uint32_t want = crc32c_bitwise(start, b + off, lens[i]);
			size_t half = lens[i] / 3;

			cr_expect_eq(daxalloc_crc32c(start, b + off, lens[i]), want,
				     "%zu bytes at +%zu: 0x%08x, by definition 0x%08x", lens[i],
				     off, daxalloc_crc32c(start, b + off, lens[i]), want);
			cr_expect_eq(daxalloc_crc32c(daxalloc_crc32c(start, b + off, half),
						     b + off + half, lens[i] - half),
				     want, "%zu bytes at +%zu, continued after %zu", lens[i], off,
				     half);
		}
	free(b);
}

/* ---- journal replay: records applied to the table of the setup ---- */

static char image[DXA_META_USED];

static int image_read(void *arg, uint64_t off, void *dst, size_t len)
{
	(void)arg;
	memcpy(dst, image + off, len);
	return 0;
}

static void record(uint32_t cell, enum dxa_jop op, uint64_t off, uint64_t len, const char *name)
{
	struct dxa_entry e = { .offset = off, .length = len };
	struct dxa_jrec r;

	if (name) {
		e.flags = DXA_ENTRY_NAMED;
		strcpy(e.name, name);
	} else {
		e.owner_pid = 1;
	}
	dxa_jrec_make(&r, &h, cell, op, &e);
	for (int k = 0; k < 2; k++)
		memcpy(image + dxa_jrec_offset(cell, k), &r, sizeof(r));
}

static int replay(uint32_t *n, uint32_t *used)
{
	uint32_t repaired = 0;

	*n = h.nentries;
	return dxa_journal_replay(&h, &geo, image_read, NULL, t, n, 0, used, &repaired, why,
				  sizeof(why));
}

/* A record may not add a name the entry just after its region has (once let through). */
Test(metadata, replay_refuses_the_next_entrys_name)
{
	uint32_t n, used;

	memset(image, 0, sizeof(image));
	h.uuid[0] = 1;
	record(0, DXA_JOP_PUT, 8 * UNIT, 2 * UNIT, "beta.v2");
	cr_expect_eq(replay(&n, &used), -EUCLEAN, "a second 'beta.v2' was applied");
	cr_expect(strstr(why, "'beta.v2' appears twice"), "%s", why);
	cr_expect_eq(used, 0);
}

/* Names freed by renames and removals are free again; a name in use is not. */
Test(metadata, replay_follows_names_through_records)
{
	uint32_t n, used;

	memset(image, 0, sizeof(image));
	h.uuid[0] = 1;
	record(0, DXA_JOP_PUT, UNIT, UNIT, "gamma"); /* alpha renamed */
	record(1, DXA_JOP_PUT, 2 * UNIT, UNIT, "alpha");
	record(2, DXA_JOP_DEL, 4 * UNIT, 2 * UNIT, NULL);
	record(3, DXA_JOP_PUT, 4 * UNIT, UNIT, "delta");
	record(4, DXA_JOP_PUT, 4 * UNIT, UNIT, "epsilon"); /* delta renamed */
	record(5, DXA_JOP_PUT, 6 * UNIT, UNIT, "delta");
	cr_expect_eq(replay(&n, &used), 0, "%s", why);
	cr_expect_eq(used, 6);
	cr_expect_eq(n, 5);
	record(6, DXA_JOP_PUT, 7 * UNIT, UNIT, "gamma");
	setup(); /* the checkpoint's table again */
	h.uuid[0] = 1;
	cr_expect_eq(replay(&n, &used), -EUCLEAN, "a second 'gamma' was applied");
	cr_expect(strstr(why, "'gamma' appears twice"), "%s", why);
	cr_expect_eq(used, 6);
}

/* ---- the replay that merges once against the one that applies record by record ---- */

static struct dxa_entry model[64], got_fast[DXA_MAX_ENTRIES], got_exact[DXA_MAX_ENTRIES];
static uint32_t nmodel;

/* A record: mostly what the library writes (a new region in free space, a rename, a free), some not. */
static void random_record(uint32_t cell)
{
	static const char *const names[] = { "a", "b", "c", "d", "e", "alpha", "beta.v2" };
	const char *name = rand() % 4 ? names[rand() % 7] : NULL;
	int kind = rand() % 10;

	if (kind < 5 || nmodel == 0) {
		uint64_t off = (1 + (uint64_t)(rand() % 31)) * UNIT, len = (1 + rand() % 3) * UNIT;

		record(cell, DXA_JOP_PUT, off, len, name);
	} else if (kind < 7) {
		const struct dxa_entry *e = &model[rand() % nmodel];

		record(cell, DXA_JOP_PUT, e->offset, e->length, name);
	} else if (kind < 9) {
		const struct dxa_entry *e = &model[rand() % nmodel];

		record(cell, DXA_JOP_DEL, e->offset, e->length, NULL);
	} else if (rand() % 2) {
		const struct dxa_entry *e = &model[rand() % nmodel];

		/* the right region, the wrong length */
		record(cell, DXA_JOP_DEL, e->offset, e->length + UNIT, NULL);
	} else {
		record(cell, DXA_JOP_DEL, (1 + (uint64_t)(rand() % 31)) * UNIT,
		       (1 + rand() % 3) * UNIT, NULL);
	}
}

Test(metadata, merged_replay_gives_what_record_by_record_gives, .timeout = 120)
{
	uint32_t agree = 0, accepted_only_merged = 0;

	srand(12345);
	for (int trial = 0; trial < 4000; trial++) {
		uint32_t nf, ne, uf = 0, ue = 0, rep = 0, k = 1 + (uint32_t)(rand() % 24);
		char why_f[256], why_e[256];
		int rf, re;

		setup();
		h.uuid[0] = 1;
		memset(image, 0, sizeof(image));
		nmodel = h.nentries;
		memcpy(model, t, nmodel * sizeof(model[0]));
		for (uint32_t c = 0; c < k; c++) {
			random_record(c);
			/* the model follows what the exact replay accepts so far */
			ne = h.nentries;
			memcpy(got_exact, t, ne * sizeof(t[0]));
			dxa_test_replay_exact = true;
			if (dxa_journal_replay(&h, &geo, image_read, NULL, got_exact, &ne, 0, &ue,
					       &rep, why_e, sizeof(why_e)) == 0) {
				nmodel = ne < 64 ? ne : 64;
				memcpy(model, got_exact, nmodel * sizeof(model[0]));
			}
		}
		ne = nf = h.nentries;
		memcpy(got_exact, t, ne * sizeof(t[0]));
		memcpy(got_fast, t, nf * sizeof(t[0]));
		dxa_test_replay_exact = true;
		re = dxa_journal_replay(&h, &geo, image_read, NULL, got_exact, &ne, 0, &ue, &rep,
					why_e, sizeof(why_e));
		dxa_test_replay_exact = false;
		rf = dxa_journal_replay(&h, &geo, image_read, NULL, got_fast, &nf, 0, &uf, &rep,
					why_f, sizeof(why_f));
		if (re == 0 || rf != 0) {
			/* the same outcome, the same words */
			cr_assert_eq(rf, re, "trial %d: merged %d, record by record %d (%s)", trial,
				     rf, re, re ? why_e : why_f);
			cr_assert_eq(uf, ue, "trial %d", trial);
			cr_assert_eq(nf, ne, "trial %d", trial);
			if (re == 0)
				cr_assert_eq(memcmp(got_fast, got_exact, nf * sizeof(t[0])), 0,
					     "trial %d: the tables differ", trial);
			else
				cr_assert_str_eq(why_f, why_e, "trial %d", trial);
			agree++;
		} else {
			/*
			 * A change undone by a later one: only an overlap, a name or a
			 * count that no longer holds in the end; the state left whole.
			 */
			struct dxa_hdr fh = h;

			cr_assert(strstr(why_e, "overlaps") || strstr(why_e, "appears twice") ||
					  strstr(why_e, "more than"),
				  "trial %d: merged replay accepted what record by record refuses: %s",
				  trial, why_e);

			fh.nentries = nf;
			fh.table_crc = daxalloc_crc32c(0, got_fast, (size_t)nf * DXA_ENTRY_SIZE);
			cr_assert_eq(dxa_table_validate(&fh, got_fast, 0, &geo, why, sizeof(why)), 0,
				     "trial %d: merged replay accepted a state that is not whole: %s",
				     trial, why);
			accepted_only_merged++;
		}
	}
	cr_log_info("%u trials agree, %u accepted by the merged replay alone", agree,
		    accepted_only_merged);
	cr_expect_gt(agree, 3000);
}
