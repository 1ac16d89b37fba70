// SPDX-License-Identifier: LGPL-2.1-or-later
/* liburing at run time (see uring.h and dynload.h). */
#include "dynload.h"
#include "uring.h"

static struct uring fns;

static const struct dyn_fn table[] = {
	DYN_FN(fns, register_buffers, "io_uring_register_buffers"),
	DYN_FN(fns, register_buffers_update_tag, "io_uring_register_buffers_update_tag"),
	DYN_FN(fns, unregister_buffers, "io_uring_unregister_buffers"),
};

static struct dyn_lib lib = DYN_LIB("liburing.so.2", "liburing", "io_uring", table);

const struct uring *uring_get(void)
{
	return dyn_load(&lib) ? &fns : NULL;
}
