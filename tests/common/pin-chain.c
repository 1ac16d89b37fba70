// SPDX-License-Identifier: LGPL-2.1-or-later
/* Every object a pin hangs on (pin-chain.h). */
#include <criterion/criterion.h>

#include "pin-chain.h"

void pin_chain_make(struct pin_chain *c, const char *dev, uint64_t size)
{
	struct daxalloc_pin_target t;

	memset(c, 0, sizeof(*c));
	cr_assert_eq(consumer_open(&c->uring, DAXALLOC_PIN_URING, NULL), 0, "%s", consumer_errmsg());
	consumer_target(&c->uring, &t);
	cr_assert_eq(daxalloc_ctx_new(&c->ctx), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_dev_open(c->ctx, dev, &c->dev), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_pool_create(c->dev, 0, &c->pool), 0, "%s", daxalloc_errmsg());
	cr_assert_eq(daxalloc_alloc(c->pool, size, "kept", 0, &c->region), 0, "%s",
		     daxalloc_errmsg());
	cr_assert_eq(daxalloc_pin(c->region, 0, UINT64_C(2) << 20, &t, &c->pin), 0, "%s",
		     daxalloc_errmsg());
}

void pin_chain_close(struct pin_chain *c)
{
	if (c->pin)
		daxalloc_unpin(&c->pin);
	consumer_close(&c->uring);
	daxalloc_region_close(&c->region);
	daxalloc_pool_close(&c->pool);
	daxalloc_dev_close(&c->dev);
	daxalloc_ctx_delete(&c->ctx);
}
