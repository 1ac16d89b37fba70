// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Memory for the arrays that grow with a pool's table (up to 1,048,576
 * entries of 128 bytes): reserved, not touched, until entries come.  An
 * array of 2 MiB or more starts on a 2 MiB boundary, so that the part
 * about to be filled can be backed by transparent huge pages: opening a
 * pool of 100,000 regions fills tens of MiB, and a 4 KiB page fault for
 * each of them costs more than reading the metadata.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "bigmem.h"

#define HUGE_SZ ((size_t)2 << 20)

static size_t round_up(size_t v, size_t to)
{
	return (v + to - 1) & ~(to - 1);
}

void *big_reserve(size_t n, size_t size)
{
	size_t len = n * size, mlen;
	uintptr_t a;
	char *m;

	if (len < HUGE_SZ)
		return calloc(n ? n : 1, size);
	mlen = round_up(len, 4096);
	m = mmap(NULL, mlen + HUGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	a = round_up((uintptr_t)m, HUGE_SZ);
	/* keep [a, a + mlen): the rest of the over-reservation goes back */
	if (a > (uintptr_t)m)
		munmap(m, a - (uintptr_t)m);
	if ((uintptr_t)m + mlen + HUGE_SZ > a + mlen)
		munmap((void *)(a + mlen), (uintptr_t)m + mlen + HUGE_SZ - (a + mlen));
	return (void *)a;
}

void big_release(void *p, size_t n, size_t size)
{
	size_t len = n * size;

	if (!p)
		return;
	if (len < HUGE_SZ)
		free(p);
	else
		munmap(p, round_up(len, 4096));
}

void *big_grow(void *p, size_t n, size_t new_n, size_t size)
{
	void *q;

	if (n * size < HUGE_SZ && new_n * size < HUGE_SZ)
		return realloc(p, new_n * size);
	q = big_reserve(new_n, size);
	if (!q)
		return NULL;
	big_hint(q, n * size, new_n * size);
	__builtin_memcpy(q, p, n * size);
	big_release(p, n, size);
	return q;
}

void big_hint(void *p, size_t len, size_t cap)
{
	/*
	 * Only a part of 2 MiB or more, and up to the next huge page: a pool
	 * of three regions on a 1 TiB device takes no huge page here.
	 */
	if (cap < HUGE_SZ || len < HUGE_SZ)
		return;
	len = round_up(len, HUGE_SZ);
	if (len > round_up(cap, 4096))
		len = round_up(cap, 4096);
	madvise(p, len, MADV_HUGEPAGE);
}
