// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Objects closed in every order a program may close them: context,
 * device, pool, region and pin, all 120 orders, on the stand-in with an
 * io_uring pin.  Run under the sanitizers too (tools/test.sh), where a
 * use after free or a leak fails the case.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daxalloc.h"
#include "pin-chain.h"

#define M (UINT64_C(1) << 20)

enum { CTX, DEV, POOL, REGION, PIN, N };

static const char *const names[N] = { "ctx", "dev", "pool", "region", "pin" };

static void close_in(const int order[N])
{
	struct pin_chain c;
	char seq[64] = "";

	for (int i = 0; i < N; i++)
		snprintf(seq + strlen(seq), sizeof(seq) - strlen(seq), "%s%s", i ? " " : "",
			 names[order[i]]);
	pin_chain_make(&c, "hugetlb:2M:8M", 2 * M);
	for (int i = 0; i < N; i++) {
		switch (order[i]) {
		case CTX:
			daxalloc_ctx_delete(&c.ctx);
			break;
		case DEV:
			daxalloc_dev_close(&c.dev);
			break;
		case POOL:
			daxalloc_pool_close(&c.pool);
			break;
		case REGION:
			/* after the pool: a handle whose memory is gone, still closed cleanly */
			if (!c.pool)
				cr_expect_null(daxalloc_region_get_address(c.region), "%s", seq);
			daxalloc_region_close(&c.region);
			break;
		case PIN: {
			/* after its region or pool closed: the pin went with them */
			int rc = daxalloc_unpin(&c.pin);

			cr_expect(rc == 0 || (rc == -EINVAL && (!c.region || !c.pool)),
				  "%s: unpin %d: %s", seq, rc, daxalloc_errmsg());
			c.pin = NULL; /* gone either way */
			break;
		}
		}
	}
	pin_chain_close(&c);
}

static bool next_perm(int *a, int n)
{
	int i = n - 2, j = n - 1, t;

	while (i >= 0 && a[i] >= a[i + 1])
		i--;
	if (i < 0)
		return false;
	while (a[j] <= a[i])
		j--;
	t = a[i], a[i] = a[j], a[j] = t;
	for (int l = i + 1, h = n - 1; l < h; l++, h--)
		t = a[l], a[l] = a[h], a[h] = t;
	return true;
}

Test(lifetimes, every_close_order, .timeout = 300)
{
	int order[N] = { CTX, DEV, POOL, REGION, PIN }, n = 0;

	do {
		close_in(order);
		n++;
	} while (next_perm(order, N));
	cr_expect_eq(n, 120);
}
