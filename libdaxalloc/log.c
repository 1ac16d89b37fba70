// SPDX-License-Identifier: LGPL-2.1-or-later
/* A context's logging: priority, the caller's log function, the default to stderr. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "private.h"

static const char *const prio_names[] = {
	/* clang-format off */
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
	/* clang-format on */
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

static void log_stderr(struct daxalloc_ctx *ctx, int prio, const char *msg, void *userdata)
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

/*
 * The caller reads the message from daxalloc_errmsg() and reports it as it
 * sees fit (daxalloc-ctl prints its own line): the default logger leaves
 * errors to it, so that programs which set no log function print nothing
 * more than before.
 */
void log_error(struct daxalloc_ctx *ctx, const char *msg)
{
	if (ctx->log_fn != log_stderr)
		daxalloc_log(ctx, LOG_ERR, "%s", msg);
}

/* A new context logs errors to stderr, or at the level $DAXALLOC_LOG names. */
void log_setup(struct daxalloc_ctx *ctx)
{
	const char *env = secure_getenv("DAXALLOC_LOG");
	int p = env ? daxalloc_log_parse_priority(env) : LOG_ERR;

	ctx->log_fn = log_stderr;
	ctx->log_priority = p >= 0 ? p : LOG_ERR;
	if (p < 0)
		log_stderr(ctx, LOG_WARNING,
			   "DAXALLOC_LOG: unknown level, expected err|warning|info|debug|0-7", NULL);
}

DAXALLOC_EXPORT void daxalloc_ctx_set_log_fn(struct daxalloc_ctx *ctx, daxalloc_log_fn fn,
					     void *userdata)
{
	if (!ctx)
		return;
	ctx->log_fn = fn ? fn : log_stderr;
	ctx->log_userdata = fn ? userdata : NULL;
}

DAXALLOC_EXPORT void daxalloc_ctx_set_log_priority(struct daxalloc_ctx *ctx, int priority)
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
