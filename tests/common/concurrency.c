// SPDX-License-Identifier: LGPL-2.1-or-later
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "concurrency.h"
#include "pool-helpers.h"

#define PROCS 2
#define THREADS 4
#define ROUNDS 150
#define KEEP 3

struct worker {
	struct daxalloc_pool *pool;
	int proc, thread;
	int failed;
	char why[160];
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct daxalloc_region *mine[KEEP] = { 0 };
	uint64_t seeds[KEEP] = { 0 };
	unsigned int rs = (unsigned int)(w->proc * 100 + w->thread);

	for (int k = 0; k < ROUNDS && !w->failed; k++) {
		int slot = k % KEEP;
		char name[48];

		if (mine[slot]) {
			if (th_verify(daxalloc_region_get_address(mine[slot]),
				      daxalloc_region_get_size(mine[slot]), seeds[slot])) {
				snprintf(w->why, sizeof(w->why),
					 "p%d t%d: region at 0x%llx was overwritten", w->proc,
					 w->thread,
					 (unsigned long long)daxalloc_region_get_offset(mine[slot]));
				w->failed = 1;
				break;
			}
			if (daxalloc_region_free(&mine[slot]) < 0) {
				snprintf(w->why, sizeof(w->why), "free: %s", daxalloc_errmsg());
				w->failed = 1;
				break;
			}
		}
		snprintf(name, sizeof(name), "p%d.t%d.k%d", w->proc, w->thread, k);
		if (daxalloc_alloc(w->pool,
				   (1 + rand_r(&rs) % 3) *
					   daxalloc_dev_get_align(daxalloc_pool_get_dev(w->pool)),
				   rand_r(&rs) % 2 ? name : NULL, 0, &mine[slot]) < 0) {
			snprintf(w->why, sizeof(w->why), "alloc: %s", daxalloc_errmsg());
			w->failed = 1;
			break;
		}
		seeds[slot] = ((uint64_t)w->proc << 40) | ((uint64_t)w->thread << 32) | (uint64_t)k;
		th_fill(daxalloc_region_get_address(mine[slot]),
			daxalloc_region_get_size(mine[slot]), seeds[slot]);
	}
	for (int i = 0; i < KEEP; i++)
		if (mine[i])
			daxalloc_region_free(&mine[i]);
	return NULL;
}

static int run_process(struct daxalloc_dev *dev, int proc)
{
	struct daxalloc_pool *pool = NULL;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	int failed = 0;

	if (daxalloc_pool_open(dev, 0, &pool) < 0) {
		fprintf(stderr, "p%d: %s\n", proc, daxalloc_errmsg());
		return 1;
	}
	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct worker){ .pool = pool, .proc = proc, .thread = t };
		pthread_create(&th[t], NULL, work, &w[t]);
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		if (w[t].failed) {
			fprintf(stderr, "%s\n", w[t].why);
			failed = 1;
		}
	}
	daxalloc_pool_close(&pool);
	return failed;
}

void concurrency_run(struct daxalloc_dev *dev)
{
	struct daxalloc_check_report rep = { DAXALLOC_CHECK_REPORT_INIT };
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
	struct daxalloc_pool *pool = th_pool_create(dev);
	pid_t pids[PROCS];

	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		cr_assert_geq(pids[p], 0);
		if (pids[p] == 0)
			_exit(run_process(dev, p));
	}
	for (int p = 0; p < PROCS; p++) {
		int s;

		waitpid(pids[p], &s, 0);
		cr_expect(WIFEXITED(s) && WEXITSTATUS(s) == 0, "process %d failed (status %#x)", p,
			  s);
	}
	cr_assert_eq(daxalloc_pool_get_stats(pool, &st), 0);
	cr_expect_eq(st.regions, 0, "%u regions left behind", st.regions);
	cr_expect_eq(st.free, st.capacity, "capacity lost");
	cr_expect_eq(daxalloc_pool_check(dev, 0, &rep), 0, "%s", th_check_said(&rep));
	daxalloc_pool_close(&pool);
}
