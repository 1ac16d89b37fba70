// SPDX-License-Identifier: LGPL-2.1-or-later
/* The test-only memfd device (testdev.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "private.h"
#include "testdev.h"

int testdev_open(struct daxalloc_ctx *ctx, uint64_t size, uint64_t unit, struct daxalloc_dev **out)
{
	struct daxalloc_dev *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->fd = memfd_create("daxalloc-testdev", MFD_CLOEXEC);
	if (d->fd < 0 || ftruncate(d->fd, (off_t)size) < 0) {
		int e = errno;

		if (d->fd >= 0)
			close(d->fd);
		free(d);
		return daxalloc_err(e, "testdev: %s", strerror(e));
	}
	/* The stand-in's rules (volatile, no device-dax faults ahead), pages already "taken". */
	hugetlb_dev_facts(d);
	d->pages_taken = true;
	d->size = size;
	d->align = unit;
	snprintf(d->name, sizeof(d->name), "testdev:%lluK", (unsigned long long)(unit >> 10));
	d->ctx = ctx;
	d->opened = true;
	d->refs = 1;
	ctx_get(ctx);
	*out = d;
	return 0;
}
