// SPDX-License-Identifier: LGPL-2.1-or-later
/* Size parsing and printing: every accepted form and every refusal. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "daxalloc.h"

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

struct bad {
	const char *in;
	int err;
	const char *says;
};

static const struct bad bads[] = {
	{ "", EINVAL, "must start with a digit" },
	{ "G", EINVAL, "must start with a digit" },
	{ "-1", EINVAL, "must start with a digit" },
	{ " 4K", EINVAL, "must start with a digit" },
	{ "4K ", EINVAL, "unknown unit" },
	{ "1.5G", EINVAL, "unknown unit" },
	{ "2MB", EINVAL, "decimal units are ambiguous" },
	{ "1GB", EINVAL, "decimal units are ambiguous" },
	{ "4X", EINVAL, "unknown unit" },
	{ "4KiBs", EINVAL, "unknown unit" },
	{ "0x", EINVAL, "only hex digits" },
	{ "0x1000K", EINVAL, "hex" },
	{ "0x10000000000000000", ERANGE, "larger than" },
	{ "0xg", EINVAL, "only hex digits" },
	{ "18446744073709551616", ERANGE, "larger than" },
	{ "17179869184G", ERANGE, "larger than" },
	{ "16E", ERANGE, "larger than" },
	{ "1Z", EINVAL, "unknown unit" },
	{ "16385P", ERANGE, "larger than" },
};

Test(size, parse_refuses_with_reason)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		uint64_t v = 777;
		int rc = daxalloc_size_parse(bads[i].in, &v);

		cr_expect_eq(rc, -bads[i].err, "'%s' gave %d", bads[i].in, rc);
		cr_expect_eq(v, 777, "'%s' wrote the output on failure", bads[i].in);
		cr_expect(strstr(daxalloc_errmsg(), bads[i].says), "'%s': message '%s' lacks '%s'",
			  bads[i].in, daxalloc_errmsg(), bads[i].says);
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
