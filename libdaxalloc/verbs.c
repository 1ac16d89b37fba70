// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libibverbs at run time (see verbs.h).  A caller that made a protection
 * domain has the library loaded already; dlopen() then finds that copy.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "private.h"
#include "verbs.h"

static struct verbs fns;
static char why[200];
static pthread_once_t once = PTHREAD_ONCE_INIT;

#define LOOK(h, field, name) (*(void **)&fns.field = dlsym(h, name))

static void load(void)
{
	void *h = dlopen("libibverbs.so.1", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(why, sizeof(why), "libibverbs is not installed (%s)", dlerror());
		return;
	}
	if (!LOOK(h, get_device_list, "ibv_get_device_list") ||
	    !LOOK(h, free_device_list, "ibv_free_device_list") ||
	    !LOOK(h, get_device_name, "ibv_get_device_name") ||
	    !LOOK(h, open_device, "ibv_open_device") ||
	    !LOOK(h, close_device, "ibv_close_device") || !LOOK(h, alloc_pd, "ibv_alloc_pd") ||
	    !LOOK(h, dealloc_pd, "ibv_dealloc_pd") || !LOOK(h, reg_mr, "ibv_reg_mr") ||
	    !LOOK(h, dereg_mr, "ibv_dereg_mr")) {
		snprintf(why, sizeof(why), "libibverbs.so.1 lacks a function the library uses (%s)",
			 dlerror());
		fns.dereg_mr = NULL;
	}
}

const struct verbs *verbs_get(void)
{
	pthread_once(&once, load);
	if (!fns.dereg_mr) {
		daxalloc_err(EOPNOTSUPP, "RDMA: %s", why);
		return NULL;
	}
	return &fns;
}
