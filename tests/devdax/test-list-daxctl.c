// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * daxalloc-ctl list --json against daxctl list on the guest's real devices,
 * key by key: every fact daxctl reports (chardev, size, align, target_node,
 * numa_node, mode, state) has daxctl's key and value in ours, and "state"
 * appears exactly where daxctl's does.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-devices.h"
#include "run-ctl.h"

static struct ctl_run r;
static char daxctl_out[262144];

static struct json_object *run_daxctl(void)
{
	FILE *p = popen("daxctl list -D -i 2>/dev/null", "re");
	size_t n;

	cr_assert_not_null(p, "cannot run daxctl");
	n = fread(daxctl_out, 1, sizeof(daxctl_out) - 1, p);
	daxctl_out[n] = '\0';
	cr_assert_eq(pclose(p), 0, "daxctl list failed: %s", daxctl_out);
	return json_tokener_parse(daxctl_out);
}

static struct json_object *find(struct json_object *arr, const char *chardev)
{
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *d = json_object_array_get_idx(arr, i), *v;

		if (json_object_object_get_ex(d, "chardev", &v) &&
		    strcmp(json_object_get_string(v), chardev) == 0)
			return d;
	}
	return NULL;
}

Test(list_daxctl, same_keys_same_values)
{
	static const char *const keys[] = { "chardev", "size", "align", "target_node",
					    "numa_node", "mode", "state", NULL };
	struct json_object *theirs, *ours;
	int n, compared = 0;

	guest_devs(&n);	/* skips outside the guest */
	theirs = run_daxctl();
	cr_assert_not_null(theirs, "daxctl printed no JSON: %s", daxctl_out);
	if (json_object_is_type(theirs, json_type_object)) {
		/* one device: daxctl prints it bare */
		struct json_object *a = json_object_new_array();

		json_object_array_add(a, theirs);
		theirs = a;
	}
	ctl_runl(&r, "list", "--json", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	ours = json_tokener_parse(r.out);
	cr_assert_not_null(ours, "daxalloc-ctl printed no JSON: %s", r.out);
	for (size_t i = 0; i < json_object_array_length(theirs); i++) {
		struct json_object *t = json_object_array_get_idx(theirs, i), *o, *tv, *ov;
		const char *name;

		cr_assert(json_object_object_get_ex(t, "chardev", &tv));
		name = json_object_get_string(tv);
		/* size-0 seeds of dynamic regions are not devices one can use */
		if (json_object_object_get_ex(t, "size", &tv) && json_object_get_uint64(tv) == 0)
			continue;
		o = find(ours, name);
		cr_expect_not_null(o, "daxctl lists %s, daxalloc-ctl does not", name);
		if (!o)
			continue;
		for (const char *const *k = keys; *k; k++) {
			bool in_t = json_object_object_get_ex(t, *k, &tv);
			bool in_o = json_object_object_get_ex(o, *k, &ov);

			/* what daxctl says, we say; "state" only when daxctl says it */
			if (in_t || strcmp(*k, "state") == 0)
				cr_expect_eq(in_o, in_t, "%s: key %s %s by daxctl, %s by daxalloc-ctl",
					     name, *k, in_t ? "given" : "not given",
					     in_o ? "given" : "not given");
			if (in_t && in_o)
				cr_expect_str_eq(json_object_to_json_string(ov), json_object_to_json_string(tv),
						 "%s: %s differs", name, *k);
		}
		compared++;
	}
	cr_expect_gt(compared, 0, "no device compared: daxctl printed %s", daxctl_out);
	json_object_put(theirs);
	json_object_put(ours);
}
