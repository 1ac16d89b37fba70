// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The context: libdaxctl's and libndctl's handles, the device lists, and
 * how it logs (log.c).  Reference-counted: devices opened through it keep
 * it alive until they are closed, in any order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <daxctl/libdaxctl.h>
#include <ndctl/libndctl.h>

#include "private.h"

DAXALLOC_EXPORT int daxalloc_ctx_new(struct daxalloc_ctx **out)
{
	struct daxalloc_ctx *ctx;
	int rc;

	if (!out)
		return daxalloc_err(EINVAL, "daxalloc_ctx_new: NULL out-pointer");
	*out = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return daxalloc_err(ENOMEM, "daxalloc_ctx_new: out of memory");
	ctx->refs = 1;
	log_setup(ctx);
	/* libdaxctl logs to stderr itself; keep it quiet, we report errors. */
	rc = daxctl_new(&ctx->daxctl);
	if (rc < 0) {
		free(ctx);
		return daxalloc_err(-rc, "libdaxctl initialisation failed: %s", strerror(-rc));
	}
	daxctl_set_log_priority(ctx->daxctl, ctx->log_priority >= LOG_DEBUG ? LOG_DEBUG : 0);
	/* libndctl is optional at run time: without it we lose namespace info. */
	if (ndctl_new(&ctx->ndctl) < 0)
		ctx->ndctl = NULL;
	else
		ndctl_set_log_priority(ctx->ndctl, ctx->log_priority >= LOG_DEBUG ? LOG_DEBUG : 0);
	*out = ctx;
	dbg(ctx, "context %p created (libdaxalloc %s)", (void *)ctx, DAXALLOC_VERSION_STRING);
	return 0;
}

void ctx_get(struct daxalloc_ctx *ctx)
{
	__atomic_add_fetch(&ctx->refs, 1, __ATOMIC_RELAXED);
}

void ctx_put(struct daxalloc_ctx *ctx)
{
	if (__atomic_sub_fetch(&ctx->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	dev_drop_lists(ctx);
	free(ctx);
}

/*
 * The caller's reference.  Devices it opened (and the pools, regions and
 * pins on them) keep the context until they are closed, in any order.
 */
DAXALLOC_EXPORT void daxalloc_ctx_delete(struct daxalloc_ctx **pctx)
{
	if (!pctx || !*pctx)
		return;
	ctx_put(*pctx);
	*pctx = NULL;
}
