// SPDX-License-Identifier: GPL-2.0-or-later
/* Output and argument helpers shared by the subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

int ctl_fail(int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Arguments are quoted: keep their control characters off the terminal. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	fprintf(stderr, "%s: %s\n", ctl_prog, msg);
	return status;
}

int ctl_lib_fail(int rc)
{
	const char *msg = daxalloc_errmsg();

	if (!msg || !*msg)
		return ctl_fail(CTL_FAILED, "%s", strerror(-rc));
	return ctl_fail(CTL_FAILED, "%s", msg);
}

int ctl_parse_size(const char *opt, const char *arg, uint64_t *out)
{
	if (daxalloc_size_parse(arg, out) < 0)
		return ctl_fail(CTL_USAGE, "%s: %s", opt, daxalloc_errmsg());
	return 0;
}

const char *ctl_size(uint64_t v, char *buf, size_t len)
{
	if (daxalloc_size_format(v, buf, len) < 0)
		snprintf(buf, len, "?");
	return buf;
}

const char *ctl_time(uint64_t secs, char *buf, size_t len)
{
	time_t t = (time_t)secs;

	strftime(buf, len, "%Y-%m-%d %H:%M:%S", localtime(&t));
	return buf;
}

void ctl_print_rows(struct json_object *arr, bool json, void (*head)(void),
		    void (*row)(struct json_object *x), const char *dev, const char *what)
{
	size_t n = json_object_array_length(arr);

	if (json)
		ctl_json_print(arr);
	if (!json && n)
		head();
	for (size_t i = 0; !json && i < n; i++)
		row(json_object_array_get_idx(arr, i));
	if (!json && n == 0)
		printf("%s: no %s\n", dev, what);
	json_object_put(arr);
}
