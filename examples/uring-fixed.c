// SPDX-License-Identifier: MIT
/*
 * Build: cc -o uring-fixed uring-fixed.c $(pkg-config --cflags --libs libdaxalloc liburing)
 *
 * An O_DIRECT read lands in a region registered as io_uring fixed buffers.
 *
 *   uring-fixed [DEV]       default: the stand-in hugetlb:2M:16M
 *
 * A devdax DEV must hold a pool (daxalloc-ctl format DEV); the stand-in
 * gets a fresh one.  Kernels before 6.5 refuse to register device-dax
 * memory as fixed buffers: that refusal is the expected answer there, and
 * the program says so and exits 0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_DIRECT */
#endif
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <daxalloc.h>

#define LEN (1u << 20)

static int fail(const char *what)
{
	fprintf(stderr, "uring-fixed: %s: %s\n", what, daxalloc_errmsg());
	return 1;
}

static int show_pin(const struct daxalloc_pin_info *i, void *arg)
{
	char consumer[128];

	(void)arg;
	daxalloc_pin_info_describe(i, consumer, sizeof(consumer));
	printf("uring-fixed: recorded in the pin ledger: %s, pid %d, 0x%llx +0x%llx\n", consumer,
	       i->pid, (unsigned long long)i->offset, (unsigned long long)i->length);
	return 0;
}

/* Is the running kernel older than @major.@minor? */
static int kernel_before(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return 0;
	return ma < major || (ma == major && mi < minor);
}

/* A file holding LEN bytes of a pattern, opened O_DIRECT when possible. */
static int data_file(int *direct)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	char path[512];
	unsigned char *buf = malloc(LEN);
	int fd, dfd;

	snprintf(path, sizeof(path), "%s/uring-fixed-XXXXXX", tmp);
	fd = mkstemp(path);
	if (fd < 0 || !buf) {
		fprintf(stderr, "uring-fixed: cannot make a data file in %s: %s\n", tmp,
			strerror(errno));
		exit(1);
	}
	for (unsigned int i = 0; i < LEN; i++)
		buf[i] = (unsigned char)(i * 31 + 1);
	if (write(fd, buf, LEN) != LEN || fsync(fd) < 0) {
		fprintf(stderr, "uring-fixed: writing %s: %s\n", path, strerror(errno));
		exit(1);
	}
	free(buf);
	dfd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	unlink(path);
	*direct = dfd >= 0;
	if (dfd < 0)
		return fd; /* the filesystem has no O_DIRECT: read through the cache */
	close(fd);
	return dfd;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "hugetlb:2M:16M";
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	struct daxalloc_pin *pin = NULL;
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_URING };
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	unsigned char *dst;
	int fd, direct, rc;

	if (argc > 2) {
		fprintf(stderr, "usage: uring-fixed [DEV]\n");
		return 2;
	}
	if (daxalloc_ctx_new(&ctx) < 0 || daxalloc_dev_open(ctx, name, &dev) < 0)
		return fail(name);
	if (daxalloc_dev_is_standin(dev))
		rc = daxalloc_pool_create(dev, 0, &pool);
	else
		rc = daxalloc_pool_open(dev, 0, &pool);
	if (rc < 0)
		return fail(rc == -ENODATA ? "format it first (daxalloc-ctl format DEV)" : "pool");
	if (daxalloc_alloc(pool, daxalloc_dev_get_align(dev), NULL, DAXALLOC_ALLOC_POPULATE, &r) < 0)
		return fail("alloc");
	rc = io_uring_queue_init(4, &ring, 0);
	if (rc < 0) {
		fprintf(stderr, "uring-fixed: io_uring_queue_init: %s\n", strerror(-rc));
		return 1;
	}

	t.uring.ring = &ring;
	rc = daxalloc_pin(r, 0, daxalloc_region_get_size(r), &t, &pin);
	if (rc == -EOPNOTSUPP && !daxalloc_dev_is_standin(dev)) {
		printf("uring-fixed: %s\n", daxalloc_errmsg());
		if (kernel_before(6, 5)) {
			printf("uring-fixed: refused as expected on this kernel\n");
			return 0;
		}
		return 1;
	}
	if (rc < 0)
		return fail("pin");
	printf("uring-fixed: %s: registered %llu bytes as fixed buffer %d in %.3f ms\n", name,
	       (unsigned long long)daxalloc_pin_get_length(pin), daxalloc_pin_get_uring_index(pin),
	       daxalloc_pin_get_pin_time_ns(pin) / 1e6);
	/* Every process using the device sees the pin: daxalloc-ctl pins lists it. */
	if (daxalloc_pool_foreach_pin(pool, show_pin, NULL) < 0)
		return fail("listing the pins");

	fd = data_file(&direct);
	dst = daxalloc_pin_get_address(pin);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read_fixed(sqe, fd, dst, LEN, 0, daxalloc_pin_get_uring_index(pin));
	io_uring_submit(&ring);
	rc = io_uring_wait_cqe(&ring, &cqe);
	if (rc < 0 || cqe->res != (int)LEN) {
		fprintf(stderr, "uring-fixed: the fixed read returned %d\n", rc < 0 ? rc : cqe->res);
		return 1;
	}
	io_uring_cqe_seen(&ring, cqe);
	for (unsigned int i = 0; i < LEN; i++)
		if (dst[i] != (unsigned char)(i * 31 + 1)) {
			fprintf(stderr, "uring-fixed: byte %u of the region is wrong\n", i);
			return 1;
		}
	printf("uring-fixed: %s read of %u bytes landed in the fixed buffer and verified\n",
	       direct ? "O_DIRECT" : "buffered (no O_DIRECT here)", LEN);

	close(fd);
	if (daxalloc_unpin(&pin) < 0)
		return fail("unpin");
	io_uring_queue_exit(&ring);
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
	return 0;
}
