// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pins a stand-in region for io_uring through the shared library, linking
 * no liburing itself (its header only): the ring is made with the raw
 * io_uring_setup(2), so whatever liburing this process has, the library
 * loaded.  Prints what it saw, a line each:
 *
 *   before=0|1        liburing.so.2 loaded before the pin
 *   pin=RC MESSAGE    daxalloc_pin()'s return, and its message when it failed
 *   after=0|1         liburing.so.2 loaded after it
 *   unpin=RC MESSAGE  when the pin was made
 *
 * and exits 0; 1 when the stand-in, the pool or the ring could not be had.
 * Run by test-pin.c, once as is and once with liburing.so.2 hidden.
 */
#include <dlfcn.h>
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daxalloc.h"

#define M (UINT64_C(1) << 20)

static int loaded(void)
{
	void *h = dlopen("liburing.so.2", RTLD_NOW | RTLD_NOLOAD);

	if (h)
		dlclose(h);
	return h != NULL;
}

static struct daxalloc_ctx *ctx;
static struct daxalloc_dev *dev;
static struct daxalloc_pool *pool;

/* A 2M region of a new pool on stand-in @name; NULL, said on stderr, when not. */
static struct daxalloc_region *stand_in_region(const char *name)
{
	struct daxalloc_region *r = NULL;

	if (daxalloc_ctx_new(&ctx) < 0 || daxalloc_dev_open(ctx, name, &dev) < 0 ||
	    daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &pool) < 0 ||
	    daxalloc_alloc(pool, 2 * M, NULL, 0, &r) < 0) {
		fprintf(stderr, "pin-no-liburing: %s: %s\n", name, daxalloc_errmsg());
		return NULL;
	}
	return r;
}

int main(int argc, char **argv)
{
	struct daxalloc_region *r = stand_in_region(argc > 1 ? argv[1] : "hugetlb:2M:8M");
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_URING };
	struct io_uring_params params = { 0 };
	struct io_uring ring = { 0 };
	struct daxalloc_pin *p = NULL;
	int rc;

	if (!r)
		return 1;
	/* liburing's register calls need no more of a zeroed ring than its descriptor. */
	ring.ring_fd = (int)syscall(SYS_io_uring_setup, 4, &params);
	if (ring.ring_fd < 0) {
		fprintf(stderr, "pin-no-liburing: io_uring_setup: %s\n", strerror(errno));
		return 1;
	}
	t.uring.ring = &ring;
	printf("before=%d\n", loaded());
	rc = daxalloc_pin(r, 0, 2 * M, &t, &p);
	printf("pin=%d %s\n", rc, rc < 0 ? daxalloc_errmsg() : "");
	printf("after=%d\n", loaded());
	if (rc == 0) {
		rc = daxalloc_unpin(&p);
		printf("unpin=%d %s\n", rc, rc < 0 ? daxalloc_errmsg() : "");
	}
	close(ring.ring_fd);
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
	return 0;
}
