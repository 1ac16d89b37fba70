// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Objects closed in every order a program may close them: context,
 * device, pool, region and pin, all 120 orders, on the stand-in with an
 * io_uring pin.  Run under the sanitizers too (tools/test.sh), where a
 * use after free or a leak fails the case.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>

#include "daxalloc.h"

#define M (UINT64_C(1) << 20)

enum { CTX, DEV, POOL, REGION, PIN, N };

static const char *const names[N] = { "ctx", "dev", "pool", "region", "pin" };

static void close_in(const int order[N])
{
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	struct daxalloc_pin *p = NULL;
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_URING };
	struct io_uring ring;
	char seq[64] = "";

	for (int i = 0; i < N; i++)
		snprintf(seq + strlen(seq), sizeof(seq) - strlen(seq), "%s%s", i ? " " : "",
			 names[order[i]]);
	cr_assert_eq(io_uring_queue_init(4, &ring, 0), 0);
	t.uring.ring = &ring;
	cr_assert_eq(daxalloc_ctx_new(&ctx), 0);
	cr_assert_eq(daxalloc_dev_open(ctx, "hugetlb:2M:8M", &dev), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_pool_create(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_alloc(pool, 2 * M, "kept", 0, &r), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_pin(r, 0, 2 * M, &t, &p), 0, "%s", daxalloc_errmsg());
	for (int i = 0; i < N; i++) {
		switch (order[i]) {
		case CTX:
			daxalloc_ctx_delete(&ctx);
			break;
		case DEV:
			daxalloc_dev_close(&dev);
			break;
		case POOL:
			daxalloc_pool_close(&pool);
			break;
		case REGION:
			/* after the pool: a handle whose memory is gone, still closed cleanly */
			if (!pool)
				cr_expect_null(daxalloc_region_get_address(r), "%s", seq);
			daxalloc_region_close(&r);
			break;
		case PIN: {
			/* after its region or pool closed: the pin went with them */
			int rc = daxalloc_unpin(&p);

			cr_expect(rc == 0 || (rc == -EINVAL && (!r || !pool)), "%s: unpin %d: %s",
				  seq, rc, daxalloc_errmsg());
			break;
		}
		}
	}
	io_uring_queue_exit(&ring);
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
