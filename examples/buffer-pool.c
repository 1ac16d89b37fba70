// SPDX-License-Identifier: MIT
/*
 * Build: cc -o buffer-pool buffer-pool.c $(pkg-config --cflags --libs libdaxalloc)
 *
 * A database-style buffer pool that survives a crash of its process.
 *
 *   buffer-pool DEV format               make DEV a pool (destroys its regions)
 *   buffer-pool DEV fill NAME SIZE       attach (or create) region NAME, write
 *                                        every page, then die by SIGKILL
 *   buffer-pool DEV check NAME           reattach after the "restart" and
 *                                        verify every page
 *
 * Each 4K page carries its number, a generation and a checksum, as a
 * database's page header would.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <daxalloc.h>

#define PAGE 4096

struct page_hdr {
	uint64_t page_no;
	uint64_t generation;
	uint64_t checksum;
};

static uint64_t page_sum(const struct page_hdr *h)
{
	return (h->page_no * 0x9e3779b97f4a7c15ull) ^ (h->generation + 0x632be59bd9b4e019ull);
}

static int fail(const char *what)
{
	fprintf(stderr, "buffer-pool: %s: %s\n", what, daxalloc_errmsg());
	return 1;
}

int main(int argc, char **argv)
{
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	uint64_t size = 0, pages, bad = 0;
	char *base;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: buffer-pool DEV format | fill NAME SIZE | check NAME\n");
		return 2;
	}
	if (daxalloc_ctx_new(&ctx) < 0 || daxalloc_dev_open(ctx, argv[1], &dev) < 0)
		return fail(argv[1]);
	if (strcmp(argv[2], "format") == 0) {
		if (daxalloc_pool_create(dev, DAXALLOC_POOL_FORCE, &pool) < 0)
			return fail("format");
		printf("%s: formatted\n", argv[1]);
		return 0;
	}
	if (argc < 4)
		return fail("missing region name");
	if (daxalloc_pool_open(dev, 0, &pool) < 0)
		return fail("open pool");

	if (strcmp(argv[2], "fill") == 0) {
		if (argc < 5 || daxalloc_size_parse(argv[4], &size) < 0)
			return fail("fill needs a SIZE");
		/* A restarted database reattaches; a new one allocates. */
		rc = daxalloc_region_open(pool, argv[3], 0, &r);
		if (rc == -ENOENT)
			rc = daxalloc_alloc(pool, size, argv[3], DAXALLOC_ALLOC_POPULATE, &r);
		if (rc < 0)
			return fail(argv[3]);
		base = daxalloc_region_get_address(r);
		pages = daxalloc_region_get_size(r) / PAGE;
		for (uint64_t i = 0; i < pages; i++) {
			struct page_hdr *h = (struct page_hdr *)(base + i * PAGE);

			h->page_no = i;
			h->generation = 1;
			h->checksum = page_sum(h);
		}
		printf("%s: wrote %llu pages of '%s'; crashing now\n", argv[1],
		       (unsigned long long)pages, argv[3]);
		fflush(stdout);
		raise(SIGKILL); /* no unmap, no close: the pages are all there is */
	}

	if (daxalloc_region_open(pool, argv[3], 0, &r) < 0)
		return fail(argv[3]);
	base = daxalloc_region_get_address(r);
	pages = daxalloc_region_get_size(r) / PAGE;
	for (uint64_t i = 0; i < pages; i++) {
		const struct page_hdr *h = (const struct page_hdr *)(base + i * PAGE);

		if (h->page_no != i || h->generation != 1 || h->checksum != page_sum(h))
			bad++;
	}
	printf("%s: region '%s' reattached at offset 0x%llx: %llu pages, %llu bad\n", argv[1],
	       argv[3], (unsigned long long)daxalloc_region_get_offset(r),
	       (unsigned long long)pages, (unsigned long long)bad);
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
	return bad ? 1 : 0;
}
