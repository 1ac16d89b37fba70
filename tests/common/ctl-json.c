// SPDX-License-Identifier: LGPL-2.1-or-later
/* What daxalloc-ctl --json printed (ctl-json.h). */
#include <criterion/criterion.h>

#include "ctl-json.h"

struct json_object *ctl_json(const struct ctl_run *r)
{
	struct json_object *o;

	cr_assert_eq(r->status, 0, "exit %d: %s", r->status, r->err);
	o = json_tokener_parse(r->out);
	cr_assert_not_null(o, "not JSON: %s", r->out);
	return o;
}

uint64_t ctl_json_u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	cr_assert(json_object_object_get_ex(o, key, &v), "no key %s", key);
	return json_object_get_uint64(v);
}
