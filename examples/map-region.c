// SPDX-License-Identifier: MIT
/*
 * Build: cc -o map-region map-region.c $(pkg-config --cflags --libs libdaxalloc)
 *
 * Map one aligned region of a device-dax device (or the hugetlb stand-in),
 * fill it, read it back.
 *
 *   map-region [DEV] [SIZE]      e.g. map-region dax0.0 2G
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <daxalloc.h>

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;
	struct daxalloc_ctx *ctx;
	struct daxalloc_dev *dev;
	struct daxalloc_map *map;
	uint64_t size;
	unsigned char *p;
	int rc;

	if (daxalloc_ctx_new(&ctx) < 0 || daxalloc_dev_open(ctx, name, &dev) < 0) {
		fprintf(stderr, "map-region: %s\n", daxalloc_errmsg());
		return 1;
	}
	size = daxalloc_dev_get_align(dev);
	if (argc > 2 && daxalloc_size_parse(argv[2], &size) < 0) {
		fprintf(stderr, "map-region: %s\n", daxalloc_errmsg());
		return 2;
	}
	rc = daxalloc_map_new(dev, 0, size, NULL, DAXALLOC_MAP_POPULATE, &map);
	if (rc < 0) {
		fprintf(stderr, "map-region: %s\n", daxalloc_errmsg());
		return 1;
	}
	p = daxalloc_map_get_address(map);
	memset(p, 0xa5, size);
	for (uint64_t i = 0; i < size; i += 4096)
		if (p[i] != 0xa5) {
			fprintf(stderr, "map-region: byte %llu reads back wrong\n",
				(unsigned long long)i);
			return 1;
		}
	printf("%s: %llu bytes at %p, kernel page size %lld%s\n", daxalloc_dev_get_name(dev),
	       (unsigned long long)size, (void *)p, (long long)daxalloc_map_get_kernel_page_size(map),
	       daxalloc_dev_is_standin(dev) ? " (stand-in)" : "");
	daxalloc_map_delete(&map);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
	return 0;
}
