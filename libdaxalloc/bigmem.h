/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Arrays that grow with a pool's table (bigmem.c).  Zeroed and untouched
 * until used; of 2 MiB and more, on a 2 MiB boundary, released with the
 * same @n and @size.
 */
#ifndef DAXALLOC_BIGMEM_H
#define DAXALLOC_BIGMEM_H

#include <stddef.h>

void *big_reserve(size_t n, size_t size);
void big_release(void *p, size_t n, size_t size);
/* Room for @new_n: @p's @n elements moved there; NULL when out of memory (@p kept). */
void *big_grow(void *p, size_t n, size_t new_n, size_t size);
/* The first @len of @cap bytes are about to be filled: huge pages there, if that much. */
void big_hint(void *p, size_t len, size_t cap);

#endif
