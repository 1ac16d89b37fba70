// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Offline verification and repair of a pool's metadata.  Works on pools
 * that no longer open, and changes nothing unless asked to repair.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include "pool.h"

DAXALLOC_EXPORT int daxalloc_pool_check(struct daxalloc_dev *dev, unsigned int flags,
					struct daxalloc_check_report *rep)
{
	struct daxalloc_pool *pool;
	struct dxa_hdr h[2];
	char why[2][100];
	int r[2], rc, best;

	if (!rep)
		return daxalloc_err(EINVAL, "daxalloc_pool_check: NULL report");
	memset(rep, 0, sizeof(*rep));
	rep->active_copy = -1;
	if (flags & ~DAXALLOC_CHECK_REPAIR)
		return daxalloc_err(EINVAL, "daxalloc_pool_check: unknown flags 0x%x", flags);
	rc = pool_attach(dev, &pool);
	if (rc < 0)
		return rc;
	rc = pool_lock_load(pool);
	if (rc == -ENODATA || rc == -EPROTONOSUPPORT || rc == -EXDEV) {
		/* Not ours to repair: no pool, a newer format, or a changed device. */
		pool_detach(pool);
		return rc;
	}
	if (rc < 0) {
		/* No valid copy: lock anyway, to say what is wrong with each. */
		rc = pool_lock(pool);
		if (rc < 0) {
			pool_detach(pool);
			return rc;
		}
	}
	r[0] = pool_read_slot(pool, 0, &h[0], pool->scratch, why[0], sizeof(why[0]));
	r[1] = pool_read_slot(pool, 1, &h[1], pool->scratch, why[1], sizeof(why[1]));
	best = r[0] == 0 && (r[1] < 0 || h[0].seq >= h[1].seq) ? 0 : r[1] == 0 ? 1 : -1;
	if (best < 0) {
		rep->problems = 1;
		snprintf(rep->first_problem, sizeof(rep->first_problem),
			 "neither copy of the metadata is valid (%.90s; %.90s): format the pool again",
			 why[0], why[1]);
		pool_unlock(pool);
		pool_detach(pool);
		return (int)rep->problems;
	}
	rep->active_copy = best;
	rep->sequence = h[best].seq;
	rep->standby_valid = r[1 - best] == 0;
	rep->regions = pool->n;
	for (uint32_t i = 0; i < pool->n; i++)
		if (!(pool->ents[i].flags & DXA_ENTRY_NAMED) &&
		    !pool_owner_alive(pool, &pool->ents[i]))
			rep->orphans++;
	if (rep->orphans) {
		rep->problems++;
		snprintf(rep->first_problem, sizeof(rep->first_problem),
			 "%u unnamed regions belong to processes that died (the next open reclaims them)",
			 rep->orphans);
	}
	if (flags & DAXALLOC_CHECK_REPAIR) {
		uint32_t gone = pool_reclaim_orphans(pool);

		/* Two commits: both copies end up valid and identical. */
		pool_commit(pool);
		pool_commit(pool);
		rep->repaired = rep->problems;
		rep->problems = 0;
		rep->regions = pool->n;
		rep->orphans -= gone;
		rep->standby_valid = true;
		rep->active_copy = pool->active;
		rep->sequence = pool->hdr.seq;
	}
	pool_unlock(pool);
	pool_detach(pool);
	return (int)rep->problems;
}
