// SPDX-License-Identifier: LGPL-2.1-or-later
/* CRC-32C (Castagnoli), the checksum of every on-device structure. */
#include <pthread.h>

#include "private.h"

#define POLY 0x82f63b78u /* reflected */

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[i] = c;
	}
}

#if defined(__x86_64__)
/*
 * SSE4.2 computes CRC-32C itself, 8 bytes an instruction, but each waits
 * for the one before: a table of megabytes (opening a pool, a checkpoint)
 * is checksummed as three streams at once, their registers joined after
 * each block.  The register is linear: the register after A then B is the
 * register after A followed by |B| zero bytes, xor B's from zero; "followed
 * by n zero bytes" is a 32x32 bit matrix, applied a byte at a time through
 * four tables.
 */
#define BLOCK_LONG 8192u
#define BLOCK_SHORT 256u

static uint32_t zeros_long[4][256], zeros_short[4][256];
static pthread_once_t zeros_once = PTHREAD_ONCE_INIT;

/* @m (32 columns) times the bit vector @v. */
static uint32_t gf2_apply(const uint32_t m[32], uint32_t v)
{
	uint32_t s = 0;

	for (int i = 0; v; i++, v >>= 1)
		if (v & 1)
			s ^= m[i];
	return s;
}

/* The operator of @len zero bytes (a power of two) as four byte tables. */
static void zeros_tables(uint32_t t[4][256], uint32_t len)
{
	uint32_t a[32], b[32], *op = a, *next = b;

	/* one zero bit: shift right, the polynomial where a one falls out */
	a[0] = POLY;
	for (int i = 1; i < 32; i++)
		a[i] = 1u << (i - 1);
	/* squared: twice as many zero bits, up to 8 * len */
	for (uint32_t bits = 1; bits < 8 * len; bits *= 2) {
		uint32_t *tmp = op;

		for (int i = 0; i < 32; i++)
			next[i] = gf2_apply(op, op[i]);
		op = next;
		next = tmp;
	}
	for (uint32_t n = 0; n < 256; n++)
		for (int k = 0; k < 4; k++)
			t[k][n] = gf2_apply(op, n << (8 * k));
}

static void zeros_init(void)
{
	zeros_tables(zeros_long, BLOCK_LONG);
	zeros_tables(zeros_short, BLOCK_SHORT);
}

static uint32_t zeros_after(const uint32_t t[4][256], uint32_t c)
{
	return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
}

/* clang-format off */
__attribute__((target("sse4.2")))
static uint64_t crc32c_streams(uint64_t c, const unsigned char **pp, size_t *len, uint32_t block,
			       const uint32_t zeros[4][256])
/* clang-format on */
{
	const unsigned char *p = *pp;

	for (; *len >= 3 * (size_t)block; *len -= 3 * (size_t)block, p += 2 * (size_t)block) {
		const unsigned char *end = p + block;
		uint64_t c1 = 0, c2 = 0;

		for (; p < end; p += 8) {
			uint64_t v0, v1, v2;

			__builtin_memcpy(&v0, p, 8);
			__builtin_memcpy(&v1, p + block, 8);
			__builtin_memcpy(&v2, p + 2 * (size_t)block, 8);
			c = __builtin_ia32_crc32di(c, v0);
			c1 = __builtin_ia32_crc32di(c1, v1);
			c2 = __builtin_ia32_crc32di(c2, v2);
		}
		c = zeros_after(zeros, (uint32_t)c) ^ c1;
		c = zeros_after(zeros, (uint32_t)c) ^ c2;
	}
	*pp = p;
	return c;
}

/* clang-format off */
__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t len)
/* clang-format on */
{
	uint64_t c = ~crc;

	if (len >= 3 * BLOCK_SHORT) {
		pthread_once(&zeros_once, zeros_init);
		c = crc32c_streams(c, &p, &len, BLOCK_LONG, zeros_long);
		c = crc32c_streams(c, &p, &len, BLOCK_SHORT, zeros_short);
	}
	for (; len >= 8; len -= 8, p += 8) {
		uint64_t v;

		__builtin_memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
}
#endif

uint32_t daxalloc_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return crc32c_hw(crc, p, len);
#endif
	pthread_once(&table_once, table_init);
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
