/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who owns what in a pool, under the things programs do every day: two
 * processes starting at once, fork, several handles in one process,
 * long-lived processes outliving others, containers.  Each function is
 * one ownership rule (tests/README.md lists them); shared by the
 * stand-in and the devdax suites.  @dev is open; pools on it are
 * formatted (and destroyed) freely.
 */
#ifndef OWNERSHIP_H
#define OWNERSHIP_H

#include "daxalloc.h"

/* Six processes "open, else create" at once, @rounds times: one format, nothing wiped. */
void own_create_race(struct daxalloc_dev *dev, int rounds);
/* A forked child's inherited handle is refused; closing it frees nothing of the parent's. */
void own_fork_child(struct daxalloc_dev *dev);
/* Two handles in one process: neither frees what the other maps. */
void own_two_handles(struct daxalloc_dev *dev);
/* A long-lived handle's alloc reclaims regions of dead processes before ENOSPC. */
void own_enospc_reclaims_orphans(struct daxalloc_dev *dev);
/*
 * A consumer the container pins with, opened in the container before its
 * mounts hide the host's /dev (consumer_open(): @where names the VFIO
 * group, or NULL for io_uring).
 */
struct own_pinner {
	enum daxalloc_pin_kind kind;
	const char *where;
};

/*
 * A process in new pid and mount namespaces with its own /proc and /run
 * (reaching the device through @node_in_ns, NULL: the same device handle)
 * holds unnamed regions, one pinned for @pinner, while this process opens,
 * allocates, checks and frees: none of them is reclaimed or handed out,
 * the host lists the pin and a format is refused while it lasts.
 */
void own_container(struct daxalloc_dev *dev, const char *devname, const char *node_in_ns,
		   const struct own_pinner *pinner);

#endif
