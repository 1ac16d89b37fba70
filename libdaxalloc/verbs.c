// SPDX-License-Identifier: LGPL-2.1-or-later
/* libibverbs at run time (see verbs.h and dynload.h). */
#include "dynload.h"
#include "verbs.h"

static struct verbs fns;

static const struct dyn_fn table[] = {
	DYN_FN(fns, get_device_name, "ibv_get_device_name"),
	DYN_FN(fns, reg_mr, "ibv_reg_mr"),
	DYN_FN(fns, dereg_mr, "ibv_dereg_mr"),
};

static struct dyn_lib lib = DYN_LIB("libibverbs.so.1", "libibverbs", "RDMA", table);

const struct verbs *verbs_get(void)
{
	return dyn_load(&lib) ? &fns : NULL;
}
