// SPDX-License-Identifier: LGPL-2.1-or-later
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash-loop.h"
#include "pool-helpers.h"

#define MAX_LIVE 64
#define MAX_FREED 4096
#define PATTERN_SEED 0xf0f0f0f0ull /* what free space holds before each child runs */

struct acked {
	char name[32];
	uint64_t seed; /* 0: allocated with DAXALLOC_ALLOC_ZERO, never written */
	bool freeing;  /* the child announced a free it may not have finished */
};

static struct acked live[MAX_LIVE * 4];
static int nlive;
/* acknowledged frees since the last format: these names must stay gone */
static char freed[MAX_FREED][32];
static int nfreed;

static void ack(int fd, char kind, const char *name, uint64_t seed)
{
	char line[80];
	int n = snprintf(line, sizeof(line), "%c %s %llu\n", kind, name, (unsigned long long)seed);

	/* one write of < PIPE_BUF bytes: never torn by the kill */
	if (write(fd, line, (size_t)n) != n)
		_exit(3);
}

/* The child: never returns. */
static void child_loop(struct daxalloc_dev *dev, int fd, unsigned int iter)
{
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *anon[4] = { NULL };
	char names[MAX_LIVE][32];
	uint64_t unit = daxalloc_dev_get_align(dev);
	int n = 0;

	if (daxalloc_pool_open(dev, 0, &pool) < 0)
		_exit(2);
	srand(iter * 7919u + 1);
	ack(fd, 'R', "ready", 0);
	for (unsigned int k = 0;; k++) {
		int what = rand() % 8;

		if (what == 0) {
			/* an unnamed region, held or given back: an orphan once killed */
			int i = rand() % 4;

			if (anon[i]) {
				daxalloc_region_close(&anon[i]);
				continue;
			}
			if (daxalloc_alloc(pool, unit, NULL, rand() % 2 ? DAXALLOC_ALLOC_ZERO : 0,
					   &anon[i]) == 0)
				th_fill(daxalloc_region_get_address(anon[i]), unit, k);
			continue;
		}
		if (n < MAX_LIVE / 2 && (n == 0 || what % 3)) {
			struct daxalloc_region *r = NULL;
			uint64_t seed = (uint64_t)iter << 20 | k;
			bool zero = what == 1 || what == 4;
			int rc;

			/* "z...": zeroed and never written, so always all zero */
			snprintf(names[n], sizeof(names[n]), "%c%u.%u", zero ? 'z' : 'c', iter, k);
			rc = daxalloc_alloc(pool, (1 + (uint64_t)(rand() % 3)) * unit / 2 + 1,
					    names[n], zero ? DAXALLOC_ALLOC_ZERO : 0, &r);
			/* a small pool (1G units) fills: then free instead */
			if (rc == -ENOSPC && n > 0)
				goto do_free;
			if (rc == -ENOSPC)
				continue;
			if (rc < 0)
				_exit(4);
			if (!zero)
				th_fill(daxalloc_region_get_address(r), daxalloc_region_get_size(r),
					seed);
			daxalloc_region_close(&r);
			ack(fd, 'A', names[n], zero ? 0 : seed);
			n++;
		} else {
			int i;
do_free:
			i = rand() % n;
			ack(fd, 'f', names[i], 0);
			if (daxalloc_pool_free_name(pool, names[i]) < 0)
				_exit(5);
			ack(fd, 'F', names[i], 0);
			memcpy(names[i], names[--n], sizeof(names[i]));
		}
	}
}

static void apply(char *buf)
{
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char kind, name[32];
		unsigned long long seed;

		cr_assert_eq(sscanf(line, "%c %31s %llu", &kind, name, &seed), 3, "bad ack '%s'",
			     line);
		if (kind == 'R')
			continue;
		if (kind == 'A') {
			cr_assert_lt(nlive, (int)(sizeof(live) / sizeof(live[0])));
			snprintf(live[nlive].name, sizeof(live[nlive].name), "%s", name);
			live[nlive].freeing = false;
			live[nlive++].seed = seed;
			continue;
		}
		if (kind == 'f') {
			for (int i = 0; i < nlive; i++)
				if (strcmp(live[i].name, name) == 0)
					live[i].freeing = true;
			continue;
		}
		for (int i = 0; i < nlive; i++)
			if (strcmp(live[i].name, name) == 0) {
				live[i] = live[--nlive];
				break;
			}
		cr_assert_lt(nfreed, MAX_FREED);
		snprintf(freed[nfreed++], sizeof(freed[0]), "%s", name);
	}
}

#define MAX_SEEN 256

struct seen {
	int n, named, unnamed;
	uint64_t bytes;
	struct daxalloc_region_info r[MAX_SEEN];
};

static int collect(const struct daxalloc_region_info *ri, void *arg)
{
	struct seen *s = arg;

	cr_assert_lt(s->n, MAX_SEEN);
	s->r[s->n++] = *ri;
	s->bytes += ri->size;
	if (ri->name[0])
		s->named++;
	else
		s->unnamed++;
	return 0;
}

static bool all_zero(const void *p, uint64_t len)
{
	/* one word per 4K page, like the pattern the free space was given */
	for (uint64_t off = 0; off < len; off += 4096)
		if (*(const volatile uint64_t *)((const char *)p + off))
			return false;
	return true;
}

/* Give the free space (up to 4 units of each extent) a pattern, so reuse without zeroing shows. */
static void prefill(struct daxalloc_dev *dev, const struct seen *s, uint64_t start, uint64_t end,
		    uint64_t unit)
{
	uint64_t prev = start;

	for (int i = 0; i <= s->n; i++) {
		uint64_t next = i < s->n ? s->r[i].offset : end;

		if (next > prev) {
			struct daxalloc_map *m = NULL;
			uint64_t len = next - prev < 4 * unit ? next - prev : 4 * unit;

			cr_assert_eq(daxalloc_map_new(dev, prev, len, NULL, 0, &m), 0, "%s",
				     daxalloc_errmsg());
			th_fill(daxalloc_map_get_address(m), len, PATTERN_SEED);
			daxalloc_map_delete(&m);
		}
		if (i < s->n)
			prev = s->r[i].offset + s->r[i].size;
	}
}

/* After a kill: what the pool holds must be exactly what was acknowledged, and true. */
static void verify(struct daxalloc_dev *dev, struct daxalloc_pool *pool, int it, struct seen *s)
{
	struct daxalloc_pool_stats ps = { DAXALLOC_POOL_STATS_INIT };

	for (int i = 0; i < nlive; i++) {
		struct daxalloc_region *reg = NULL;

		if (live[i].freeing) {
			/* killed inside free: gone, or still there intact */
			if (daxalloc_region_open(pool, live[i].name, 0, &reg) == -ENOENT) {
				cr_assert_lt(nfreed, MAX_FREED);
				snprintf(freed[nfreed++], sizeof(freed[0]), "%s", live[i].name);
				live[i--] = live[--nlive];
				continue;
			}
			daxalloc_region_close(&reg);
			live[i].freeing = false;
		}
		cr_assert_eq(daxalloc_region_open(pool, live[i].name, 0, &reg), 0,
			     "iteration %d: acknowledged region %s is gone: %s", it, live[i].name,
			     daxalloc_errmsg());
		if (live[i].seed)
			cr_assert_eq(th_verify(daxalloc_region_get_address(reg),
					       daxalloc_region_get_size(reg), live[i].seed),
				     0, "iteration %d: region %s lost its contents", it,
				     live[i].name);
		daxalloc_region_close(&reg);
	}
	memset(s, 0, sizeof(*s));
	cr_assert_eq(daxalloc_pool_foreach_region(pool, collect, s), 0, "%s", daxalloc_errmsg());
	/* the killed child's unnamed regions were reclaimed by the open */
	cr_assert_eq(s->unnamed, 0,
		     "iteration %d: %d unnamed regions of a dead child survived the open", it,
		     s->unnamed);
	for (int i = 0; i < s->n; i++) {
		struct daxalloc_region *reg = NULL;

		/* an acknowledged free stays freed */
		for (int j = 0; j < nfreed; j++)
			cr_assert_str_neq(s->r[i].name, freed[j],
					  "iteration %d: region %s is back after its free was acknowledged",
					  it, freed[j]);
		/* a zeroed region that comes back by name is all zero, acknowledged or not */
		if (s->r[i].name[0] != 'z')
			continue;
		cr_assert_eq(daxalloc_region_open(pool, s->r[i].name, 0, &reg), 0, "%s",
			     daxalloc_errmsg());
		cr_assert(all_zero(daxalloc_region_get_address(reg), daxalloc_region_get_size(reg)),
			  "iteration %d: region %s was published by name before it was zeroed: it holds the previous owner's bytes",
			  it, s->r[i].name);
		daxalloc_region_close(&reg);
	}
	cr_assert_geq(s->named, nlive);
	/* capacity exact: nothing leaked, nothing counted twice */
	cr_assert_eq(daxalloc_pool_get_stats(pool, &ps), 0);
	cr_assert_eq(ps.used, s->bytes, "iteration %d: %llu bytes used, the regions hold %llu", it,
		     (unsigned long long)ps.used, (unsigned long long)s->bytes);
	cr_assert_eq(ps.free + ps.used, ps.capacity);
	cr_assert_eq(ps.regions, (uint32_t)s->n);
}

void crash_loop_run(struct daxalloc_dev *dev, int default_iterations)
{
	crash_loop_run_delay(dev, default_iterations, 4000);
}

/* Read acknowledgements until the child says it is ready (or died first). */
static ssize_t wait_ready(int fd, char *buf, size_t size)
{
	ssize_t got = 0, r;

	while ((size_t)got < size - 1 && (r = read(fd, buf + got, 1)) > 0) {
		got += r;
		if (buf[got - 1] == '\n')
			return got;
	}
	return got;
}

void crash_loop_run_delay(struct daxalloc_dev *dev, int default_iterations, int max_delay_us)
{
	const char *env = getenv("DAXALLOC_CRASH_ITERATIONS");
	int iterations = env ? atoi(env) : default_iterations;
	uint64_t unit = daxalloc_dev_get_align(dev);
	static char buf[1 << 16];
	static struct seen seen;
	long acks = 0, zeroed = 0;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	srand((unsigned int)ts.tv_nsec);
	nlive = nfreed = 0;
	memset(&seen, 0, sizeof(seen));
	cr_log_info("%d kills", iterations);
	for (int it = 0; it < iterations; it++) {
		struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
		struct daxalloc_pool *pool = NULL;
		struct daxalloc_pool_stats ps = { DAXALLOC_POOL_STATS_INIT };
		uint64_t end;
		int p[2], st;
		ssize_t got = 0, r;
		pid_t pid;

		cr_assert_eq(daxalloc_pool_open(dev, 0, &pool), 0, "%s", daxalloc_errmsg());
		cr_assert_eq(daxalloc_pool_get_stats(pool, &ps), 0);
		memset(&seen, 0, sizeof(seen));
		cr_assert_eq(daxalloc_pool_foreach_region(pool, collect, &seen), 0);
		daxalloc_pool_close(&pool);
		end = daxalloc_dev_get_size(dev) / unit * unit;
		prefill(dev, &seen, end - ps.capacity, end, unit);

		cr_assert_eq(pipe(p), 0);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			close(p[0]);
			child_loop(dev, p[1], (unsigned int)it);
		}
		close(p[1]);
		/* kill anywhere from the first step to a few dozen steps in */
		got = wait_ready(p[0], buf, sizeof(buf));
		usleep((useconds_t)(rand() % max_delay_us));
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		cr_assert(WIFSIGNALED(st), "iteration %d: child exited by itself with %d", it,
			  WEXITSTATUS(st));
		while ((r = read(p[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
			got += r;
		close(p[0]);
		buf[got] = '\0';
		for (char *c = buf; *c; c++)
			acks += *c == '\n';
		apply(buf);

		cr_assert_eq(daxalloc_pool_open(dev, 0, &pool), 0, "iteration %d: %s", it,
			     daxalloc_errmsg());
		cr_assert_eq(daxalloc_pool_check(dev, 0, &rep), 0, "iteration %d: %s", it,
			     th_check_said(&rep));
		verify(dev, pool, it, &seen);
		for (int i = 0; i < seen.n; i++)
			zeroed += seen.r[i].name[0] == 'z';
		cr_assert_eq(daxalloc_pool_get_stats(pool, &ps), 0);
		/* less than two free units would stall the next child: start over */
		if (seen.named > 24 || ps.free < 2 * ps.unit) {
			/* start over, the unacknowledged regions too: format is quickest */
			nlive = nfreed = 0;
			daxalloc_pool_close(&pool);
			pool = th_pool_create(dev);
		}
		daxalloc_pool_close(&pool);
	}
	cr_log_info("%d kills, %ld acknowledgements, %ld zeroed regions checked", iterations, acks,
		    zeroed);
}
