// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Optional libraries at run time (see dynload.h).  A caller that uses the
 * library itself has it loaded already; dlopen() then finds that copy.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "dynload.h"
#include "private.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void load(struct dyn_lib *lib)
{
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(lib->why, sizeof(lib->why), "%s is not installed (%s)", lib->package,
			 dlerror());
		__atomic_store_n(&lib->state, -1, __ATOMIC_RELEASE);
		return;
	}
	for (size_t i = 0; i < lib->n; i++) {
		*lib->fns[i].slot = dlsym(h, lib->fns[i].name);
		if (!*lib->fns[i].slot) {
			snprintf(lib->why, sizeof(lib->why),
				 "%s lacks a function the library uses (%s)", lib->soname, dlerror());
			dlclose(h);
			__atomic_store_n(&lib->state, -1, __ATOMIC_RELEASE);
			return;
		}
	}
	__atomic_store_n(&lib->state, 1, __ATOMIC_RELEASE);
}

bool dyn_load(struct dyn_lib *lib)
{
	int state = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);

	if (state == 0) {
		pthread_mutex_lock(&lock);
		if (__atomic_load_n(&lib->state, __ATOMIC_ACQUIRE) == 0)
			load(lib);
		pthread_mutex_unlock(&lock);
		state = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);
	}
	if (state < 0) {
		daxalloc_err(EOPNOTSUPP, "%s: %s", lib->consumer, lib->why);
		return false;
	}
	return true;
}
