// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Writes real metadata images as fuzz seeds: a pool on the hugetlb
 * stand-in after a few allocations, one file per copy (header + table).
 *   gen-metadata-seeds DIR
 */
#include <stdio.h>
#include <string.h>

#include "metadata.h"
#include "pool.h"

static void dump(const char *dir, const char *tag, const char *meta, int slot)
{
	const struct dxa_hdr *h = (const void *)(meta + slot * DXA_HDR_SLOT_SIZE);
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-copy%d", dir, tag, slot);
	f = fopen(path, "w");
	if (!f)
		return;
	fwrite(h, sizeof(*h), 1, f);
	fwrite(meta + h->table_offset, DXA_ENTRY_SIZE, h->nentries <= 64 ? h->nentries : 0, f);
	fclose(f);
}

int main(int argc, char **argv)
{
	struct daxalloc_ctx *ctx;
	struct daxalloc_dev *dev;
	struct daxalloc_pool *pool;
	struct daxalloc_region *r;
	const char *names[] = { "db.buffers", NULL, "wal", "vm:guest@0", NULL };

	if (argc < 2 || daxalloc_ctx_new(&ctx) || daxalloc_dev_open(ctx, "hugetlb:2M:64M", &dev) ||
	    daxalloc_pool_create(dev, 0, &pool)) {
		fprintf(stderr, "gen-metadata-seeds: %s\n", daxalloc_errmsg());
		return 1;
	}
	dump(argv[1], "empty", pool->mm.addr, 0);
	for (int i = 0; i < 5; i++)
		daxalloc_alloc(pool, (uint64_t)(i + 1) << 21, names[i], 0, &r);
	dump(argv[1], "five", pool->mm.addr, 0);
	dump(argv[1], "five", pool->mm.addr, 1);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
	return 0;
}
