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

struct acked {
	char name[32];
	uint64_t seed;
	bool freeing;	/* the child announced a free it may not have finished */
};

static struct acked live[MAX_LIVE * 4];
static int nlive;

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
	char names[MAX_LIVE][32];
	int n = 0;

	if (daxalloc_pool_open(dev, 0, &pool) < 0)
		_exit(2);
	srand(iter * 7919u + 1);
	for (unsigned int k = 0;; k++) {
		if (n < MAX_LIVE / 2 && (n == 0 || rand() % 3)) {
			struct daxalloc_region *r = NULL;
			uint64_t seed = (uint64_t)iter << 20 | k;
			int rc;

			snprintf(names[n], sizeof(names[n]), "c%u.%u", iter, k);
			rc = daxalloc_alloc(pool, (1 + (uint64_t)(rand() % 3)) *
						  daxalloc_dev_get_align(dev) / 2 + 1,
					    names[n], 0, &r);
			/* a small pool (1G units) fills: then free instead */
			if (rc == -ENOSPC && n > 0)
				goto do_free;
			if (rc == -ENOSPC)
				continue;
			if (rc < 0)
				_exit(4);
			th_fill(daxalloc_region_get_address(r), daxalloc_region_get_size(r), seed);
			daxalloc_region_close(&r);
			ack(fd, 'A', names[n], seed);
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

		cr_assert_eq(sscanf(line, "%c %31s %llu", &kind, name, &seed), 3, "bad ack '%s'", line);
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
	}
}

struct seen {
	int n;
};

static int count_named(const struct daxalloc_region_info *ri, void *arg)
{
	if (ri->name[0])
		((struct seen *)arg)->n++;
	return 0;
}

void crash_loop_run(struct daxalloc_dev *dev, int default_iterations)
{
	crash_loop_run_delay(dev, default_iterations, 4000);
}

void crash_loop_run_delay(struct daxalloc_dev *dev, int default_iterations, int max_delay_us)
{
	const char *env = getenv("DAXALLOC_CRASH_ITERATIONS");
	int iterations = env ? atoi(env) : default_iterations;
	static char buf[1 << 16];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	srand((unsigned int)ts.tv_nsec);
	nlive = 0;
	cr_log_info("%d kills", iterations);
	for (int it = 0; it < iterations; it++) {
		struct daxalloc_check_report rep;
		struct daxalloc_pool *pool = NULL;
		struct seen seen = { 0 };
		int p[2], st;
		ssize_t got = 0, r;
		pid_t pid;

		cr_assert_eq(pipe(p), 0);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			close(p[0]);
			child_loop(dev, p[1], (unsigned int)it);
		}
		close(p[1]);
		/* kill anywhere from before the first step to a few dozen steps in */
		usleep((useconds_t)(rand() % max_delay_us));
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		cr_assert(WIFSIGNALED(st), "iteration %d: child exited by itself with %d", it,
			  WEXITSTATUS(st));
		while ((r = read(p[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
			got += r;
		close(p[0]);
		buf[got] = '\0';
		apply(buf);

		cr_assert_eq(daxalloc_pool_open(dev, 0, &pool), 0, "iteration %d: %s", it,
			     daxalloc_errmsg());
		cr_assert_eq(daxalloc_pool_check(dev, 0, &rep), 0, "iteration %d: %s", it,
			     rep.first_problem);
		for (int i = 0; i < nlive; i++) {
			struct daxalloc_region *reg = NULL;

			if (live[i].freeing) {
				/* killed inside free: gone, or still there intact */
				if (daxalloc_region_open(pool, live[i].name, 0, &reg) == -ENOENT) {
					live[i--] = live[--nlive];
					continue;
				}
				daxalloc_region_close(&reg);
				live[i].freeing = false;
			}
			cr_assert_eq(daxalloc_region_open(pool, live[i].name, 0, &reg), 0,
				     "iteration %d: acknowledged region %s is gone: %s", it,
				     live[i].name, daxalloc_errmsg());
			cr_assert_eq(th_verify(daxalloc_region_get_address(reg),
					       daxalloc_region_get_size(reg), live[i].seed), 0,
				     "iteration %d: region %s lost its contents", it, live[i].name);
			daxalloc_region_close(&reg);
		}
		/* regions whose alloc was cut short may exist; keep the pool from filling */
		daxalloc_pool_foreach_region(pool, count_named, &seen);
		cr_assert_geq(seen.n, nlive);
		{
			struct daxalloc_pool_stats ps;

			cr_assert_eq(daxalloc_pool_get_stats(pool, &ps), 0);
			/* less than two free units would stall the next child: start over */
			if (ps.free < 2 * ps.unit)
				seen.n = 25;
		}
		if (seen.n > 24) {
			/* start over, the unacknowledged regions too: format is quickest */
			nlive = 0;
			daxalloc_pool_close(&pool);
			pool = th_pool_create(dev);
		}
		daxalloc_pool_close(&pool);
	}
}
