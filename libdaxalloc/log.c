// SPDX-License-Identifier: LGPL-2.1-or-later
/* The context object and its logging. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <daxctl/libdaxctl.h>
#include <ndctl/libndctl.h>

#include "private.h"

static const char *const prio_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* Returns the priority, or -1 if @str is neither a name nor 0..7. */
int daxalloc_log_parse_priority(const char *str)
{
	char *end;
	long v;

	if (!str || !*str)
		return -1;
	for (int i = 0; i <= LOG_DEBUG; i++)
		if (strcasecmp(str, prio_names[i]) == 0)
			return i;
	if (strcasecmp(str, "error") == 0)
		return LOG_ERR;
	if (strcasecmp(str, "warn") == 0)
		return LOG_WARNING;
	errno = 0;
	v = strtol(str, &end, 10);
	if (errno || *end || v < 0 || v > LOG_DEBUG)
		return -1;
	return (int)v;
}

static void log_stderr(struct daxalloc_ctx *ctx, int prio, const char *msg,
		       void *userdata)
{
	(void)ctx;
	(void)userdata;
	fprintf(stderr, "libdaxalloc: %s: %s\n", prio_names[prio & 7], msg);
}

void daxalloc_log(struct daxalloc_ctx *ctx, int prio, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!ctx || !ctx->log_fn || prio > ctx->log_priority)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->log_fn(ctx, prio, msg, ctx->log_userdata);
}

DAXALLOC_EXPORT int daxalloc_ctx_new(struct daxalloc_ctx **out)
{
	struct daxalloc_ctx *ctx;
	const char *env;
	int rc;

	if (!out)
		return daxalloc_err(EINVAL, "daxalloc_ctx_new: NULL out-pointer");
	*out = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return daxalloc_err(ENOMEM, "daxalloc_ctx_new: out of memory");
	ctx->refs = 1;
	ctx->log_fn = log_stderr;
	ctx->log_priority = LOG_ERR;
	env = secure_getenv("DAXALLOC_LOG");
	if (env) {
		int p = daxalloc_log_parse_priority(env);

		if (p >= 0)
			ctx->log_priority = p;
		else
			log_stderr(ctx, LOG_WARNING,
				   "DAXALLOC_LOG: unknown level, expected err|warning|info|debug|0-7",
				   NULL);
	}
	/* libdaxctl logs to stderr itself; keep it quiet, we report errors. */
	rc = daxctl_new(&ctx->daxctl);
	if (rc < 0) {
		free(ctx);
		return daxalloc_err(-rc, "libdaxctl initialisation failed: %s",
				    strerror(-rc));
	}
	daxctl_set_log_priority(ctx->daxctl,
				ctx->log_priority >= LOG_DEBUG ? LOG_DEBUG : 0);
	/* libndctl is optional at run time: without it we lose namespace info. */
	if (ndctl_new(&ctx->ndctl) < 0)
		ctx->ndctl = NULL;
	else
		ndctl_set_log_priority(ctx->ndctl, ctx->log_priority >= LOG_DEBUG ?
						   LOG_DEBUG : 0);
	*out = ctx;
	dbg(ctx, "context %p created (libdaxalloc %s)", (void *)ctx,
	    DAXALLOC_VERSION_STRING);
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

DAXALLOC_EXPORT void daxalloc_ctx_set_log_fn(struct daxalloc_ctx *ctx,
					     daxalloc_log_fn fn, void *userdata)
{
	if (!ctx)
		return;
	ctx->log_fn = fn ? fn : log_stderr;
	ctx->log_userdata = fn ? userdata : NULL;
}

DAXALLOC_EXPORT void daxalloc_ctx_set_log_priority(struct daxalloc_ctx *ctx,
						   int priority)
{
	if (!ctx)
		return;
	if (priority < 0)
		priority = 0;
	if (priority > LOG_DEBUG)
		priority = LOG_DEBUG;
	ctx->log_priority = priority;
}

DAXALLOC_EXPORT int daxalloc_ctx_get_log_priority(struct daxalloc_ctx *ctx)
{
	return ctx ? ctx->log_priority : -EINVAL;
}
