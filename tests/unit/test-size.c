// SPDX-License-Identifier: LGPL-2.1-or-later
/* Size parsing and printing: every accepted form and every refusal. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "daxalloc.h"
#include "refusal.h"

struct good {
	const char *in;
	uint64_t want;
};

static const struct good goods[] = {
	{ "0", 0 },
	{ "4096", 4096 },
	{ "4K", 4096 },
	{ "4k", 4096 },
	{ "4KiB", 4096 },
	{ "2M", 2u << 20 },
	{ "2MiB", 2u << 20 },
	{ "1G", 1ull << 30 },
	{ "2GiB", 2ull << 30 },
	{ "2gib", 2ull << 30 },
	{ "1T", 1ull << 40 },
	{ "16383P", 16383ull << 50 },
	{ "18446744073709551615", UINT64_MAX },
	{ "17179869183G", 17179869183ull << 30 },
	{ "512B", 512 },
	{ "1024P", 1ull << 60 }, /* prints as 1E: found by fuzzing */
	{ "15E", 15ull << 60 },
	/* hex, as the messages print offsets; no unit after hex digits */
	{ "0x400000", 4u << 20 },
	{ "0X1000", 4096 },
	{ "0xffffffffffffffff", UINT64_MAX },
	{ "0x0", 0 },
};

Test(size, parse_accepts_binary_units)
{
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		uint64_t v = 12345;
		int rc = daxalloc_size_parse(goods[i].in, &v);

		cr_expect_eq(rc, 0, "'%s' refused: %s", goods[i].in, daxalloc_errmsg());
		cr_expect_eq(v, goods[i].want, "'%s' -> %llu", goods[i].in, (unsigned long long)v);
	}
}

/* Refused inputs, grouped by the errno and the words of their refusal. */
static const struct {
	int err;
	const char *says;
	const char *in[6]; /* up to a NULL */
} bads[] = {
	{ EINVAL, "must start with a digit", { "", "G", "-1", " 4K" } },
	{ EINVAL, "unknown unit", { "4K ", "1.5G", "4X", "4KiBs", "1Z" } },
	{ EINVAL, "decimal units are ambiguous", { "2MB", "1GB" } },
	{ EINVAL, "only hex digits", { "0x", "0xg" } },
	{ EINVAL, "hex", { "0x1000K" } },
	{ ERANGE,
	  "larger than",
	  { "0x10000000000000000", "18446744073709551616", "17179869184G", "16E", "16385P" } },
};

Test(size, parse_refuses_with_reason)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		for (const char *const *in = bads[i].in; *in; in++) {
			uint64_t v = 777;
			int rc = daxalloc_size_parse(*in, &v);

			cr_expect_eq(rc, -bads[i].err, "'%s' gave %d", *in, rc);
			cr_expect_eq(v, 777, "'%s' wrote the output on failure", *in);
			refusal_expect_says(*in, bads[i].says);
		}
	}
}

Test(size, parse_null_arguments)
{
	uint64_t v;

	cr_expect_eq(daxalloc_size_parse(NULL, &v), -EINVAL);
	cr_expect_eq(daxalloc_size_parse("4K", NULL), -EINVAL);
}

Test(size, format_round_trips)
{
	static const uint64_t vals[] = { 0,          1,          4095,        4096,
					 6144,       2u << 20,   1536u << 20, 1ull << 30,
					 3ull << 30, 1ull << 40, UINT64_MAX };
	char buf[32];

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint64_t back = 0;
		int n = daxalloc_size_format(vals[i], buf, sizeof(buf));

		cr_assert_gt(n, 0);
		cr_expect_eq((size_t)n, strlen(buf));
		cr_expect_eq(daxalloc_size_parse(buf, &back), 0, "'%s': %s", buf, daxalloc_errmsg());
		cr_expect_eq(back, vals[i], "%llu printed as '%s'", (unsigned long long)vals[i], buf);
	}
	daxalloc_size_format(2u << 20, buf, sizeof(buf));
	cr_expect_str_eq(buf, "2M");
	daxalloc_size_format(1536u << 20, buf, sizeof(buf));
	cr_expect_str_eq(buf, "1536M");
	daxalloc_size_format(6144, buf, sizeof(buf));
	cr_expect_str_eq(buf, "6K");
}

Test(size, format_small_buffer)
{
	char buf[3];

	cr_expect_eq(daxalloc_size_format(1536u << 20, buf, sizeof(buf)), -ENOSPC);
	cr_expect_eq(daxalloc_size_format(1, NULL, 4), -EINVAL);
}

Test(size, valid_alignments)
{
	cr_expect(daxalloc_align_is_valid(4096));
	cr_expect(daxalloc_align_is_valid(2u << 20));
	cr_expect(daxalloc_align_is_valid(1u << 30));
	cr_expect_not(daxalloc_align_is_valid(0));
	cr_expect_not(daxalloc_align_is_valid(8192));
	cr_expect_not(daxalloc_align_is_valid(4u << 20));
	cr_expect_not(daxalloc_align_is_valid(2ull << 30));
}
