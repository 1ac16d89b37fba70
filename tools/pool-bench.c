// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * daxalloc-pool-bench: what the pool engine costs as the regions it holds
 * grow, on a test-only device (an ordinary memfd with a small unit, see
 * tests/common/testdev.h), so that region counts no device here holds can
 * be reached.
 *
 *   daxalloc-pool-bench [--unit SIZE] [--regions 0,1000,...] [--repeat N] [--json]
 *
 * For each count: the pool is filled with that many named regions, then
 * daxalloc_alloc + daxalloc_region_free of one unit (unnamed and named)
 * runs against mmap + munmap of one unit of the same memfd, the three in
 * turns of 20 ms slices, 10 × --repeat rounds; each kind's time per pair is
 * its total time over its total pairs.  Before that, the pool is closed
 * and daxalloc_pool_open timed (best of --repeat), with the journal the
 * fill left: up to 1,007 records to replay (in a large table's, one per four entries).  Ratios are cost ratios:
 * time per library pair over time per raw pair.  --json: the same values
 * for tools/bench/report.py (tools/bench/pool.json).
 *
 * Then what the guard against unlisted media errors (sigbus.c) costs a
 * read of metadata: meta_read() of a header (256 bytes) and of a whole
 * region table (256 KiB) against memcpy() of the same bytes of the same
 * mapping, alternately, best of --repeat runs of 0.2 s each.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daxalloc.h"
#include "metadata.h"
#include "persist.h"
#include "pool.h"
#include "private.h"
#include "testdev.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define RUN_NS 200000000u
/* One slice of the pairs: short, so that the three kinds take turns many times. */
#define SLICE_MS 20
/* Rounds of slices per --repeat. */
#define ROUNDS 10

/*
 * The order of the three kinds in a round: every order in turn, so that
 * each kind follows each other kind (and itself, across rounds) as often,
 * and none always comes after the raw pairs' turn, with what they evicted.
 */
static const int turns[6][3] = { { 0, 1, 2 }, { 2, 1, 0 }, { 1, 2, 0 },
				 { 0, 2, 1 }, { 2, 0, 1 }, { 1, 0, 2 } };

/*
 * One slice of pairs: library (@way 0 unnamed, 1 named) or, @way 2, mmap +
 * munmap at @off.  Adds its time and its pairs to @ns and @count.  Kept out
 * of line, so that a profile can be limited to it.
 */
__attribute__((noinline)) static void pairs(struct daxalloc_pool *pool, struct daxalloc_dev *dev,
					    int way, uint64_t off, double *ns, double *count)
{
	uint64_t unit = daxalloc_dev_get_align(dev), t0 = now_ns(), t;
	int fd = dev->fd;
	long n = 0;

	do {
		for (int k = 0; k < 64; k++, n++) {
			if (way == 2) {
				void *p = mmap(NULL, (size_t)unit, PROT_READ | PROT_WRITE,
					       MAP_SHARED, fd, (off_t)off);

				if (p == MAP_FAILED) {
					perror("mmap");
					exit(1);
				}
				munmap(p, (size_t)unit);
			} else {
				struct daxalloc_region *r;

				if (daxalloc_alloc(pool, unit, way ? "bench-pair" : NULL, 0, &r) < 0 ||
				    daxalloc_region_free(&r) < 0) {
					fprintf(stderr, "pool-bench: %s\n", daxalloc_errmsg());
					exit(1);
				}
			}
		}
		t = now_ns();
	} while (t - t0 < SLICE_MS * UINT64_C(1000000));
	*ns += (double)(t - t0);
	*count += (double)n;
}

static int fill(struct daxalloc_pool *pool, uint64_t unit, long count)
{
	for (long i = 0; i < count; i++) {
		struct daxalloc_region *r;
		char name[32];

		snprintf(name, sizeof(name), "fill-%ld", i);
		if (daxalloc_alloc(pool, unit, name, 0, &r) < 0)
			return -1;
		daxalloc_region_close(&r);
	}
	return 0;
}

/* Through a pointer, so that the copies the baseline makes are not left out. */
static void *(*volatile copy_fn)(void *, const void *, size_t) = memcpy;

static volatile uint32_t crc_sink;

/* ns per read of @len bytes at @off: 0 memcpy(), 1 meta_read(), 2 their CRC-32C (what a load checks). */
static double reads(const struct meta_map *mm, uint64_t off, void *buf, size_t len, int how)
{
	uint64_t t0 = now_ns(), t;
	long n = 0;

	do {
		for (int k = 0; k < 64; k++, n++)
			if (how == 0)
				copy_fn(buf, (const char *)mm->addr + off, len);
			else if (how == 2)
				crc_sink =
					daxalloc_crc32c(crc_sink, (const char *)mm->addr + off, len);
			else if (meta_read(mm, off, buf, len) < 0)
				abort();
	} while ((t = now_ns() - t0) < RUN_NS);
	return (double)t / (double)n;
}

/*
 * What no open can avoid: the bytes it reads (the newest table and the
 * journal's records) copied once from a fresh mapping of the device into
 * fresh memory, huge pages asked for as the library does.  Where touching
 * a page for the first time is dear, this bounds what an open can reach.
 */
static double read_once_ms(struct daxalloc_dev *dev, const struct daxalloc_pool *pool)
{
	uint64_t tlen = (uint64_t)pool->hdr.nentries * DXA_ENTRY_SIZE;
	uint64_t jlen = (uint64_t)pool->jused * DXA_JCELL_SIZE, t0, end;
	char *m, *buf = big_reserve(tlen + jlen + 1, 1);
	double ms;

	end = pool->hdr.journal_offset + jlen;
	if (pool->hdr.table_offset + tlen > end)
		end = pool->hdr.table_offset + tlen;
	if (!buf)
		return -1;
	t0 = now_ns();
	m = mmap(NULL, end, PROT_READ, MAP_SHARED, dev->fd, 0);
	if (m == MAP_FAILED) {
		big_release(buf, tlen + jlen + 1, 1);
		return -1;
	}
	madvise(m + (pool->hdr.table_offset & ~(uint64_t)4095), tlen + 4096, MADV_POPULATE_READ);
	madvise(m + (pool->hdr.journal_offset & ~(uint64_t)4095), jlen + 4096, MADV_POPULATE_READ);
	big_hint(buf, tlen + jlen, tlen + jlen + 1);
	copy_fn(buf, m + pool->hdr.table_offset, tlen);
	copy_fn(buf + tlen, m + pool->hdr.journal_offset, jlen);
	ms = (double)(now_ns() - t0) / 1e6;
	munmap(m, end);
	big_release(buf, tlen + jlen + 1, 1);
	return ms;
}

static int meta_read_bench(struct daxalloc_ctx *ctx, int repeat, bool json)
{
	static const struct {
		const char *what;
		uint64_t off;
		size_t len;
	} c[] = {
		{ "header", 0, sizeof(struct dxa_hdr) },
		{ "region table", DXA_TABLE0_OFFSET, DXA_TABLE_SIZE },
	};
	uint64_t meta = dxa_meta_size(4096);
	struct daxalloc_dev *dev;
	struct meta_map mm;
	char *buf = malloc(DXA_TABLE_SIZE);

	if (!buf || testdev_open(ctx, meta + 4096, 4096, &dev) < 0 ||
	    meta_map_open(dev, meta, &mm) < 0) {
		fprintf(stderr, "pool-bench: %s\n", daxalloc_errmsg());
		return 1;
	}
	memset(mm.addr, 0x5a, meta);
	if (json)
		printf(", \"meta_reads\": [");
	else
		printf("\n%-13s %-8s %-10s %-13s %-9s %-10s %s\n", "metadata read", "bytes",
		       "memcpy ns", "meta_read ns", "x memcpy", "crc32c ns", "x memcpy");
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		double raw = 1e18, lib = 1e18, crc = 1e18, v;

		for (int rep = 0; rep < repeat; rep++) {
			v = reads(&mm, c[i].off, buf, c[i].len, 0);
			raw = v < raw ? v : raw;
			v = reads(&mm, c[i].off, buf, c[i].len, 1);
			lib = v < lib ? v : lib;
			v = reads(&mm, c[i].off, buf, c[i].len, 2);
			crc = v < crc ? v : crc;
		}
		if (json)
			printf("%s\n{\"what\": \"%s\", \"bytes\": %zu, \"memcpy_ns\": %.1f, \"meta_read_ns\": %.1f, \"crc32c_ns\": %.1f}",
			       i ? "," : "", c[i].what, c[i].len, raw, lib, crc);
		else
			printf("%-13s %-8zu %-10.1f %-13.1f %-9.2f %-10.1f %.2f\n", c[i].what,
			       c[i].len, raw, lib, lib / raw, crc, crc / raw);
	}
	if (json)
		printf("\n]");
	meta_map_close(&mm);
	daxalloc_dev_close(&dev);
	free(buf);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: daxalloc-pool-bench [--unit SIZE] [--regions N,N,...] [--repeat N] [--json]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "unit", required_argument, NULL, 'u' },
		{ "regions", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char list[256] = "0,1000,10000,100000", *tok, *save;
	uint64_t unit = 4096;
	double base0[2] = { 0, 0 };
	int repeat = 5, c, first = 1;
	bool json = false;
	struct utsname un;
	struct daxalloc_ctx *ctx;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			if (daxalloc_size_parse(optarg, &unit) < 0)
				usage();
			break;
		case 'r':
			snprintf(list, sizeof(list), "%s", optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'n':
			repeat = atoi(optarg);
			if (repeat < 1)
				usage();
			break;
		default:
			usage();
		}
	}
	if (daxalloc_ctx_new(&ctx) < 0) {
		fprintf(stderr, "pool-bench: %s\n", daxalloc_errmsg());
		return 1;
	}
	daxalloc_ctx_set_log_priority(ctx, LOG_ERR);
	uname(&un);
	if (json)
		printf("{\"device\": \"test-only memfd\", \"unit\": %llu, \"repeat\": %d, \"rounds\": %d, \"slice_ms\": %d, \"cpus\": %ld, \"kernel\": \"%s\", \"results\": [",
		       (unsigned long long)unit, repeat, ROUNDS * repeat, SLICE_MS,
		       sysconf(_SC_NPROCESSORS_ONLN), un.release);
	else
		printf("device: test-only memfd, %llu-byte unit; pairs in %d rounds of %d ms turns, open best of %d\n",
		       (unsigned long long)unit, ROUNDS * repeat, SLICE_MS, repeat);
	if (!json)
		printf("%-9s %-11s %-11s %-11s %-9s %-9s %-12s %-12s %-9s %s\n", "regions",
		       "raw ns/pair", "unnamed ns", "named ns", "unnamed x", "named x",
		       "unnamed x/x0", "named x/x0", "open ms", "read once ms");
	if (!json)
		printf("%-9s (with the records the fill left: %-8s %-12s %s)\n", "", "records",
		       "open ms", "read once ms");
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long count = atol(tok);
		uint64_t data = (uint64_t)(count + 16) * unit, size;
		struct dxa_layout l;

		/* a device whose data area, beside the table it gets, holds @count + 16 units */
		size = dxa_meta_size(unit) + data;
		for (int k = 0; k < 4; k++) {
			dxa_layout(dxa_capacity_for(size, unit), unit, &l);
			size = l.meta_size + data;
		}
		double ns[3] = { 0, 0, 0 }, n[3] = { 0, 0, 0 }, raw, lib[2], x[2];
		double open_ms = 1e18, once_ms = 1e18, jopen_ms = 1e18, jonce_ms = 1e18;
		uint32_t records = 0;
		struct daxalloc_pool *pool;
		struct daxalloc_dev *dev;

		if (testdev_open(ctx, size, unit, &dev) < 0 ||
		    daxalloc_pool_create(dev, 0, &pool) < 0) {
			fprintf(stderr, "pool-bench: %s\n", daxalloc_errmsg());
			return 1;
		}
		if (fill(pool, unit, count) < 0) {
			if (json) {
				printf("%s\n{\"regions\": %ld, \"not_reached\": \"",
				       first ? "" : ",", count);
				for (const char *m = daxalloc_errmsg(); *m; m++)
					printf(*m == '"' || *m == '\\' ? "\\%c" : "%c", *m);
				printf("\"}");
			} else
				printf("%-9ld not reached: %s\n", count, daxalloc_errmsg());
			first = 0;
			daxalloc_pool_close(&pool);
			daxalloc_dev_close(&dev);
			continue;
		}
		/*
		 * Open with the journal the fill left, as a writer killed
		 * leaves it: the most records to replay.  The filling handle
		 * stays open meanwhile and these are read-only, so no close
		 * folds the journal.  Then the writer closes (folding it) and
		 * the open a restart makes reads the table alone.
		 */
		for (int rep = 0; rep < repeat; rep++) {
			struct daxalloc_pool *ro;
			uint64_t t0 = now_ns();
			double ms;

			if (daxalloc_pool_open(dev, DAXALLOC_POOL_RDONLY, &ro) < 0) {
				fprintf(stderr, "pool-bench: %s\n", daxalloc_errmsg());
				return 1;
			}
			ms = (double)(now_ns() - t0) / 1e6;
			jopen_ms = ms < jopen_ms ? ms : jopen_ms;
			records = ro->jused;
			ms = read_once_ms(dev, ro);
			jonce_ms = ms >= 0 && ms < jonce_ms ? ms : jonce_ms;
			daxalloc_pool_close(&ro);
		}
		daxalloc_pool_close(&pool);
		for (int rep = 0; rep < repeat; rep++) {
			uint64_t t0 = now_ns();
			double ms;

			if (daxalloc_pool_open(dev, 0, &pool) < 0) {
				fprintf(stderr, "pool-bench: %s\n", daxalloc_errmsg());
				return 1;
			}
			ms = (double)(now_ns() - t0) / 1e6;
			open_ms = ms < open_ms ? ms : open_ms;
			ms = read_once_ms(dev, pool);
			once_ms = ms >= 0 && ms < once_ms ? ms : once_ms;
			if (rep + 1 < repeat)
				daxalloc_pool_close(&pool);
		}
		/*
		 * The three kinds take turns in short slices (each order in
		 * turn, see turns), and each is its total time over its total
		 * pairs: what slows the machine for a while slows all three
		 * alike, and a checkpoint is counted as often as it comes.
		 */
		for (int round = 0; round < ROUNDS * repeat; round++)
			for (int i = 0; i < 3; i++) {
				int way = turns[round % 6][i];

				/* the raw pairs map the unit past the filled ones, which the library allocates */
				pairs(pool, dev, way,
				      way == 2 ? l.meta_size + (uint64_t)count * unit : 0, &ns[way],
				      &n[way]);
			}
		daxalloc_pool_close(&pool);
		daxalloc_dev_close(&dev);
		raw = ns[2] / n[2];
		for (int way = 0; way < 2; way++) {
			lib[way] = ns[way] / n[way];
			x[way] = lib[way] / raw;
		}
		if (count == 0)
			memcpy(base0, x, sizeof(x));
		if (json)
			printf("%s\n{\"regions\": %ld, \"raw_ns\": %.1f, \"unnamed_ns\": %.1f, \"named_ns\": %.1f, \"open_ms\": %.4f, \"read_once_ms\": %.4f, \"journal_records\": %u, \"open_journal_ms\": %.4f, \"read_once_journal_ms\": %.4f}",
			       first ? "" : ",", count, raw, lib[0], lib[1], open_ms, once_ms,
			       records, jopen_ms, jonce_ms);
		else
			printf("%-9ld %-11.0f %-11.0f %-11.0f %-9.2f %-9.2f %-12.2f %-12.2f %-9.3f %.3f\n",
			       count, raw, lib[0], lib[1], x[0], x[1],
			       base0[0] ? x[0] / base0[0] : 0.0, base0[1] ? x[1] / base0[1] : 0.0,
			       open_ms, once_ms);
		if (!json)
			printf("%-9s (with the records the fill left: %-8u %-12.3f %.3f)\n", "",
			       records, jopen_ms, jonce_ms);
		first = 0;
		fflush(stdout);
	}
	if (json)
		printf("\n]");
	c = meta_read_bench(ctx, repeat, json);
	if (json)
		printf("}\n");
	daxalloc_ctx_delete(&ctx);
	return c;
}
