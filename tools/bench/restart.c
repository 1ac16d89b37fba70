// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * restart: a restarted program reopening its named region and reading it,
 * against one without the library reading the same bytes back from a
 * file with O_DIRECT.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

/* At most this much per read or write call. */
#define CHUNK (64 * MiB)

static uint64_t chunk(uint64_t done, uint64_t len)
{
	return len - done < CHUNK ? len - done : CHUNK;
}

static int make_file(const char *path, const char *data, uint64_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint64_t done = 0;
	int e = 0;

	if (fd < 0)
		return -errno;
	while (!e && done < len) {
		ssize_t w = write(fd, data + done, (size_t)chunk(done, len));

		if (w <= 0)
			e = w < 0 ? errno : EIO;
		else
			done += (uint64_t)w;
	}
	if (!e && fsync(fd) < 0)
		e = errno;
	if (close(fd) < 0 && !e)
		e = errno;
	return -e;
}

/* A restarted program without the library: a fresh buffer, filled from the file. */
static int reread(const char *path, uint64_t len, uint64_t *sum)
{
	char *buf =
		mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t done = 0;
	int fd, rc = 0;

	if (buf == MAP_FAILED)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		munmap(buf, (size_t)len);
		return rc;
	}
	while (done < len) {
		ssize_t r = read(fd, buf + done, (size_t)chunk(done, len));

		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			break;
		}
		done += (uint64_t)r;
	}
	close(fd);
	if (rc == 0)
		*sum = touch_read(buf, len);
	munmap(buf, (size_t)len);
	return rc;
}

/* The library's way: open the pool, open the region, read it.  Cost, or NAN with @why. */
static double lib_restart(struct bench_dev *d, uint64_t len, uint64_t want, char *why, size_t wl)
{
	struct daxalloc_region *r = NULL;
	uint64_t t0, t1, sum = 0;
	int rc;

	t0 = now_ns();
	rc = daxalloc_pool_open(d->dev, 0, &d->pool);
	if (rc == 0)
		rc = daxalloc_region_open(d->pool, "bench-restart", 0, &r);
	if (rc == 0)
		sum = touch_read(daxalloc_region_get_address(r), len);
	t1 = now_ns();
	if (rc < 0 && !why[0])
		snprintf(why, wl, "%s", daxalloc_errmsg());
	else if (rc == 0 && sum != want && !why[0])
		snprintf(why, wl, "the region came back with other data");
	daxalloc_region_close(&r);
	daxalloc_pool_close(&d->pool);
	return why[0] ? NAN : ms_per_gib(t1 - t0, len);
}

/* The baseline's way: read the file back.  Cost, or NAN with @why. */
static double file_restart(const char *path, const char *dir, uint64_t len, uint64_t want,
			   char *why, size_t wl)
{
	uint64_t t0, t1, sum = 0;
	int rc;

	if (why[0])
		return NAN;
	t0 = now_ns();
	rc = reread(path, len, &sum);
	t1 = now_ns();
	if (rc == -EINVAL)
		snprintf(why, wl, "the filesystem of %s has no O_DIRECT", dir);
	else if (rc < 0)
		snprintf(why, wl, "reading %s: %s", path, strerror(-rc));
	else if (sum != want)
		snprintf(why, wl, "the file read back other data");
	return why[0] ? NAN : ms_per_gib(t1 - t0, len);
}

void bench_restart_dev(struct bench *b, const char *spec)
{
	uint64_t a = standin_align(spec), len = b->quick ? (a ? a : 2 * MiB) : b->size, want;
	const char *tmp = b->tmpdir ? b->tmpdir : getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	int n = iters(b, 3), rc;
	double lv[n], bv[n];
	char why[512] = "", bwhy[512] = "", path[256], variant[96], al[32], ls[32];
	struct daxalloc_region *r = NULL;
	struct result *res;
	struct bench_dev d;

	rc = bench_dev_open_len(b, spec, &len, &d, why, sizeof(why));
	if (rc == 0) {
		len = roundup(len, d.align);
		rc = daxalloc_alloc(d.pool, len, "bench-restart", 0, &r);
		if (rc < 0) {
			snprintf(why, sizeof(why), "%s", daxalloc_errmsg());
			bench_dev_close(&d);
		}
	}
	if (rc < 0) {
		skip_result(b, "restart", spec ? spec : "default", spec, "ms/GiB", false, why);
		return;
	}
	/* Data worth having: the same bytes in the region and in the file. */
	{
		uint64_t *w = daxalloc_region_get_address(r);

		for (uint64_t i = 0; i < len / 8; i++)
			w[i] = i * 0x9e3779b97f4a7c15ull;
		want = touch_read(daxalloc_region_get_address(r), len);
	}
	snprintf(path, sizeof(path), "%s/daxalloc-bench-%d.dat", tmp, (int)getpid());
	rc = make_file(path, daxalloc_region_get_address(r), len);
	if (rc < 0)
		snprintf(bwhy, sizeof(bwhy), "cannot write %s: %s", path, strerror(-rc));
	daxalloc_region_close(&r);
	daxalloc_pool_close(&d.pool);
	say("restart: %s on %s", szs(len, ls, sizeof(ls)), d.name);
	for (int i = -1; i < n; i++) {
		for (int k = 0; k < 2; k++) {
			double v;

			if ((k ^ (i & 1)) == 0) {
				v = lib_restart(&d, len, want, why, sizeof(why));
				if (i >= 0)
					lv[i] = v;
			} else {
				v = file_restart(path, tmp, len, want, bwhy, sizeof(bwhy));
				if (i >= 0)
					bv[i] = v;
			}
		}
	}
	unlink(path);
	/* Leave the device as found. */
	if (daxalloc_pool_open(d.dev, 0, &d.pool) == 0)
		daxalloc_pool_free_name(d.pool, "bench-restart");
	snprintf(variant, sizeof(variant), "%s %s named region", szs(d.align, al, sizeof(al)), ls);
	res = add_result(b, "restart", variant, d.name, "O_DIRECT read of a file", best_low(lv, n),
			 best_low(bv, n), "ms/GiB", false, n);
	if (why[0])
		note(res, "library: %s", why);
	if (bwhy[0])
		note(res, "baseline: %s", bwhy);
	bench_dev_close(&d);
}
