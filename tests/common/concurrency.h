/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Two processes x four threads allocate, stamp, verify and free at once
 * on a freshly formatted pool of @dev; any overlap between two live
 * regions shows up as a foreign stamp.  Shared by the stand-in and the
 * devdax suites.
 */
#ifndef CONCURRENCY_H
#define CONCURRENCY_H

#include "daxalloc.h"

void concurrency_run(struct daxalloc_dev *dev);

#endif
