// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * daxalloc-vmemmap-measure: the vmemmap measurement (vmemmap-measure.c)
 * as a program of its own, which 'daxalloc-ctl vmemmap --measure' runs
 * (vmemmap-run.c).  It disables and re-aligns a device, so it is linked
 * with the library's internals (the gate's checks, the guarded disable)
 * rather than the library offering it: daxalloc-ctl itself keeps using
 * the shared library.  Not a command for people: its arguments are
 *
 *   daxalloc-vmemmap-measure DEV CYCLES ALIGN PIN IGNORE_DMA [PIN_WITH]
 *
 * (PIN and IGNORE_DMA 0 or 1) and it writes one struct vmemmap_reply to
 * its standard output, of the build that daxalloc-ctl came from.  Notes
 * go to standard error ($DAXALLOC_LOG), as daxalloc-ctl's own would.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmemmap-measure.h"

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vmemmap_opts o = { 0 };
	struct vmemmap_reply *r;
	struct daxalloc_ctx *ctx;

	if (argc < 6 || argc > 7 || isatty(STDOUT_FILENO)) {
		fprintf(stderr,
			"usage: %s DEV CYCLES ALIGN PIN IGNORE_DMA [PIN_WITH]: run by 'daxalloc-ctl vmemmap --measure', which reads its binary reply\n",
			argv[0]);
		return 2;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return 1;
	r->magic = VMEMMAP_REPLY_MAGIC;
	r->size = sizeof(*r);
	o.cycles = atoi(argv[2]);
	o.align = strtoull(argv[3], NULL, 10);
	o.pin = strcmp(argv[4], "1") == 0;
	o.ignore_dma = strcmp(argv[5], "1") == 0;
	o.pin_with = argc > 6 ? argv[6] : NULL;
	r->rc = daxalloc_ctx_new(&ctx);
	if (r->rc == 0) {
		r->rc = vmemmap_measure(ctx, argv[1], &o, &r->rep);
		if (r->rc < 0)
			snprintf(r->msg, sizeof(r->msg), "%s", daxalloc_errmsg());
		daxalloc_ctx_delete(&ctx);
	} else {
		snprintf(r->msg, sizeof(r->msg), "%s", daxalloc_errmsg());
	}
	if (write_all(STDOUT_FILENO, r, sizeof(*r)) < 0) {
		fprintf(stderr, "%s: cannot write its reply: %s\n", argv[0], strerror(errno));
		return 1;
	}
	free(r);
	return 0;
}
