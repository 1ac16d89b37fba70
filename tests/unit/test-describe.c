// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The words for codes: daxalloc_check_finding_describe(),
 * daxalloc_check_report_describe() and daxalloc_pin_info_describe() say
 * every code, say an unknown one as such, cut like snprintf, and the pin
 * ledger's text reads back into the numbers it was made from.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daxalloc.h"
#include "pin.h"

#define LAST_CODE DAXALLOC_CHECK_TABLE_UNREADABLE

static struct daxalloc_check_finding finding(enum daxalloc_check_code code)
{
	return (struct daxalloc_check_finding){ .struct_size = sizeof(struct daxalloc_check_finding),
						.kind = DAXALLOC_CHECK_PROBLEM,
						.code = code,
						.copy = 1,
						.header = 0,
						.other = 1,
						.index = 3,
						.count = 2,
						.format_major = 1,
						.format_minor = 1,
						.sequence = 7,
						.sequence2 = 6 };
}

static const char *said(const struct daxalloc_check_finding *f)
{
	static char buf[600];
	int n = daxalloc_check_finding_describe(f, buf, sizeof(buf));

	cr_assert_geq(n, 0, "%s", daxalloc_errmsg());
	cr_assert_eq((size_t)n, strlen(buf));
	return buf;
}

Test(describe, every_check_code_has_words)
{
	struct daxalloc_check_finding f;

	for (int c = DAXALLOC_CHECK_STATE_DAMAGED; c <= LAST_CODE; c++) {
		const char *s;

		f = finding(c);
		s = said(&f);

		cr_expect_gt(strlen(s), 20, "code %d: '%s'", c, s);
		cr_expect_null(strstr(s, "unknown"), "code %d: '%s'", c, s);
		/* the metadata's words go in where a code has them */
		f.detail = "copy 1: header checksum mismatch";
		s = said(&f);
		cr_expect_gt(strlen(s), 20, "code %d with detail: '%s'", c, s);
	}
	f = finding(DAXALLOC_CHECK_CLEAN);
	cr_expect_str_eq(said(&f), "");
}

Test(describe, unknown_check_code)
{
	struct daxalloc_check_finding f = finding(LAST_CODE + 1);
	char want[32];

	snprintf(want, sizeof(want), "unknown problem %d", LAST_CODE + 1);
	cr_expect_str_eq(said(&f), want);
	f.code = (enum daxalloc_check_code) - 4;
	cr_expect_str_eq(said(&f), "unknown problem -4");
}

Test(describe, check_words)
{
	/* each finding() of the code, with the fields given */
	static const struct {
		enum daxalloc_check_code code;
		const char *detail;
		enum daxalloc_check_source source;
		const char *region; /* its name */
		uint32_t pid;
		uint64_t offset, size;
		const char *want;
	} cases[] = {
		{ DAXALLOC_CHECK_COPY_STALE, NULL, 0, NULL, 0, 0, 0,
		  "copy 1 (sequence 7) was caught mid-update: harmless, it held the state before the newest" },
		{ DAXALLOC_CHECK_HEADER_DAMAGED, "copy 1: header checksum mismatch (second header)",
		  0, NULL, 0, 0, 0,
		  "copy 1: header checksum mismatch (second header): damaged; header 1 still holds the state (a repair rewrites it)" },
		{ DAXALLOC_CHECK_HEADER_DAMAGED, NULL, 0, NULL, 0, 0, 0,
		  "copy 1: header 0: damaged; header 1 still holds the state (a repair rewrites it)" },
		{ DAXALLOC_CHECK_JOURNAL_LOST, NULL, 0, NULL, 0, 0, 0,
		  "the changes from sequence 8 on are lost (journal record 3 is damaged in both copies); the state up to sequence 7 is kept" },
		{ DAXALLOC_CHECK_REGION_DROPPED, NULL, DAXALLOC_CHECK_IN_NEWEST, "second", 0,
		  0x400000, 4 << 20,
		  "the newest state (sequence 7) holds region 'second' (4M at 0x400000), sequence 6 does not: going back loses it (its allocation or rename)" },
		{ DAXALLOC_CHECK_REGION_REVIVED, NULL, DAXALLOC_CHECK_IN_UNREADABLE_COPY, NULL, 42,
		  0x800000, 2 << 20,
		  "unreadable copy 1 no longer holds an unnamed region of pid 42 (2M at 0x800000): going back to sequence 6 brings it back (undoes its free or rename)" },
		{ DAXALLOC_CHECK_ENTRY_UNREADABLE, "copy 0: region 3 has unknown flags 0x2", 0,
		  NULL, 0, 0, 0,
		  "copy 1: entry 3 does not read (copy 0: region 3 has unknown flags 0x2): whatever it held is lost" },
		{ DAXALLOC_CHECK_OLD_FORMAT, NULL, 0, NULL, 0, 0, 0,
		  "format 1.1: the pool is upgraded to format 2.1 when next opened for writing" },
	};
	struct daxalloc_check_finding f;

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		f = finding(cases[k].code);
		f.detail = cases[k].detail;
		f.source = cases[k].source;
		if (cases[k].region)
			snprintf(f.region.name, sizeof(f.region.name), "%s", cases[k].region);
		f.region.pid = cases[k].pid;
		f.region.offset = cases[k].offset;
		f.region.size = cases[k].size;
		cr_expect_str_eq(said(&f), cases[k].want);
	}
	f = finding(DAXALLOC_CHECK_JOURNAL_REPAIRABLE);
	f.count = 1;
	cr_expect(strstr(said(&f), "1 journal record is damaged"), "%s", said(&f));
}

Test(describe, report_names_its_first_loss)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	char buf[256];

	rep.first = finding(DAXALLOC_CHECK_CLEAN);
	cr_expect_eq(daxalloc_check_report_describe(&rep, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "");
	rep.first = finding(DAXALLOC_CHECK_NEEDS_FORCE);
	rep.first.count = 1;
	rep.first_loss = finding(DAXALLOC_CHECK_COPY_UNREADABLE);
	rep.first_loss.kind = DAXALLOC_CHECK_LOSS;
	cr_expect_gt(daxalloc_check_report_describe(&rep, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf,
			 "a repair would go back to an older state and lose 1 change (first: copy 1 has no readable header: if it held a newer state than sequence 7, that change is lost): nothing written; repair with --force to accept");
	rep.first = finding(DAXALLOC_CHECK_NO_VALID_COPY);
	rep.first.detail = "pool metadata is corrupt (copy 0: no pool signature)";
	daxalloc_check_report_describe(&rep, buf, sizeof(buf));
	cr_expect_str_eq(buf,
			 "neither copy of the metadata is valid (pool metadata is corrupt (copy 0: no pool signature)): format the pool again");
}

Test(describe, cut_like_snprintf)
{
	struct daxalloc_check_finding f = finding(DAXALLOC_CHECK_ORPHANS);
	const char *whole =
		"2 unnamed regions belong to processes that died (the next open reclaims them)";
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	cr_expect_eq(daxalloc_check_finding_describe(&f, buf, 5), (int)strlen(whole));
	cr_expect_str_eq(buf, "2 un");
	cr_expect_eq(buf[5], 'x', "wrote past the length given");
	cr_expect_eq(daxalloc_check_finding_describe(&f, NULL, 0), (int)strlen(whole));
	f.code = 99;
	cr_expect_eq(daxalloc_check_finding_describe(&f, buf, 1), (int)strlen("unknown problem 99"));
	cr_expect_str_eq(buf, "");
}

Test(describe, refuses_what_it_cannot_read)
{
	struct daxalloc_check_finding f = finding(DAXALLOC_CHECK_ORPHANS);
	struct daxalloc_pin_info i = { .struct_size = sizeof(i), .kind = DAXALLOC_PIN_VFIO };
	char buf[16];

	cr_expect_eq(daxalloc_check_finding_describe(NULL, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(daxalloc_check_finding_describe(&f, NULL, 4), -EINVAL);
	f.struct_size = 8;
	cr_expect_eq(daxalloc_check_finding_describe(&f, buf, sizeof(buf)), -EINVAL);
	cr_expect(strstr(daxalloc_errmsg(), ".struct_size 8"), "%s", daxalloc_errmsg());
	cr_expect_eq(daxalloc_check_report_describe(NULL, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(daxalloc_pin_info_describe(NULL, buf, sizeof(buf)), -EINVAL);
	i.struct_size = 0;
	cr_expect_eq(daxalloc_pin_info_describe(&i, buf, sizeof(buf)), -EINVAL);
}

/* ---- pins ---- */

static struct daxalloc_pin_info pin_info(enum daxalloc_pin_kind kind)
{
	return (struct daxalloc_pin_info){ .struct_size = sizeof(struct daxalloc_pin_info),
					   .kind = kind,
					   .fd = -1,
					   .iova = UINT64_MAX,
					   .uring_index = -1 };
}

/* @i in words is @want, and those words read back as @i. */
static void says_and_reads_back(const struct daxalloc_pin_info *i, const char *want)
{
	struct daxalloc_pin_info back = pin_info(i->kind);
	char buf[128];

	cr_expect_eq(daxalloc_pin_info_describe(i, buf, sizeof(buf)), (int)strlen(want));
	cr_expect_str_eq(buf, want);
	pin_consumer_parse(buf, &back);
	cr_expect_eq(back.fd, i->fd, "'%s'", buf);
	cr_expect_eq(back.ioas_id, i->ioas_id, "'%s'", buf);
	cr_expect_eq(back.iova, i->iova, "'%s'", buf);
	cr_expect_str_eq(back.rdma_device, i->rdma_device, "'%s'", buf);
	cr_expect_eq(back.rdma_keys, i->rdma_keys, "'%s'", buf);
	cr_expect_eq(back.lkey, i->lkey, "'%s'", buf);
	cr_expect_eq(back.rkey, i->rkey, "'%s'", buf);
	cr_expect_eq(back.uring_index, i->uring_index, "'%s'", buf);
	cr_expect_eq(back.uring_count, i->uring_count, "'%s'", buf);
}

Test(describe, pin_consumers)
{
	/* each as pin_info() makes it, the consumer's numbers set */
	static const struct {
		struct daxalloc_pin_info i;
		const char *want;
	} cases[] = {
		/* clang-format off */
		{ { .kind = DAXALLOC_PIN_VFIO, .fd = 5, .iova = 0x1000000, .uring_index = -1 },
		  "vfio container fd 5, iova 0x1000000" },
		{ { .kind = DAXALLOC_PIN_IOMMUFD, .fd = 7, .ioas_id = 2, .iova = UINT64_MAX,
		    .uring_index = -1 },
		  "iommufd fd 7, ioas 2" },
		{ { .kind = DAXALLOC_PIN_IOMMUFD, .fd = 7, .ioas_id = 2, .iova = 0x200000,
		    .uring_index = -1 },
		  "iommufd fd 7, ioas 2, iova 0x200000" },
		{ { .kind = DAXALLOC_PIN_RDMA, .fd = -1, .iova = UINT64_MAX, .rdma_device = "rxe0",
		    .uring_index = -1 },
		  "rdma rxe0" },
		{ { .kind = DAXALLOC_PIN_RDMA, .fd = -1, .iova = UINT64_MAX, .rdma_device = "rxe0",
		    .rdma_keys = true, .lkey = 0x1234, .rkey = 0xabcd, .uring_index = -1 },
		  "rdma rxe0, lkey 0x1234, rkey 0xabcd" },
		{ { .kind = DAXALLOC_PIN_URING, .fd = 9, .iova = UINT64_MAX, .uring_index = 3,
		    .uring_count = 1 },
		  "io_uring fd 9, buffer 3" },
		{ { .kind = DAXALLOC_PIN_URING, .fd = 9, .iova = UINT64_MAX, .uring_index = 0,
		    .uring_count = 4 },
		  "io_uring fd 9, buffers 0-3" },
		/* clang-format on */
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct daxalloc_pin_info i = cases[k].i;

		i.struct_size = sizeof(i);
		says_and_reads_back(&i, cases[k].want);
	}
}

/* A record of a later library, or cut short: the kind's name, never a guess. */
Test(describe, pin_text_not_understood)
{
	static const struct {
		enum daxalloc_pin_kind kind;
		const char *text, *said;
	} cases[] = {
		{ DAXALLOC_PIN_VFIO, "vfio container fd 5, iova 0x10, and more", "vfio" },
		{ DAXALLOC_PIN_VFIO, "vfio container fd 5", "vfio" },
		{ DAXALLOC_PIN_IOMMUFD, "iommufd fd 7", "iommufd" },
		{ DAXALLOC_PIN_URING, "io_uring fd 9, buffers 5-2", "io_uring" },
		{ DAXALLOC_PIN_RDMA, "rdma ", "rdma" },
		{ DAXALLOC_PIN_RDMA, "", "rdma" },
		{ 77, "vfio container fd 5, iova 0x10", "unknown" },
	};
	char buf[64];

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct daxalloc_pin_info i = pin_info(cases[k].kind);

		pin_consumer_parse(cases[k].text, &i);
		cr_expect_geq(daxalloc_pin_info_describe(&i, buf, sizeof(buf)), 0);
		cr_expect_str_eq(buf, cases[k].said, "'%s'", cases[k].text);
	}
}

Test(describe, pin_cut_like_snprintf)
{
	struct daxalloc_pin_info i = pin_info(DAXALLOC_PIN_VFIO);
	char buf[8];

	i.fd = 5;
	i.iova = 0x1000000;
	cr_expect_eq(daxalloc_pin_info_describe(&i, buf, 6), 35);
	cr_expect_str_eq(buf, "vfio ");
	cr_expect_eq(daxalloc_pin_info_describe(&i, NULL, 0), 35);
}
