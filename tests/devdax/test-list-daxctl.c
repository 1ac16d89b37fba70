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
	static const char *const keys[] = { "chardev",   "size", "align", "target_node",
					    "numa_node", "mode", "state", NULL };
	struct json_object *theirs, *ours;
	int n, compared = 0;

	guest_devs(&n); /* skips outside the guest */
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
				cr_expect_eq(in_o, in_t,
					     "%s: key %s %s by daxctl, %s by daxalloc-ctl", name,
					     *k, in_t ? "given" : "not given",
					     in_o ? "given" : "not given");
			if (in_t && in_o)
				cr_expect_str_eq(json_object_to_json_string(ov),
						 json_object_to_json_string(tv), "%s: %s differs",
						 name, *k);
		}
		compared++;
	}
	cr_expect_gt(compared, 0, "no device compared: daxctl printed %s", daxctl_out);
	json_object_put(theirs);
	json_object_put(ours);
}

/* Runs a shell command in the guest; its first line of output goes to @out. */
static int sh(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "re");

	cr_assert_not_null(p);
	if (out) {
		out[0] = '\0';
		if (fgets(out, (int)len, p))
			out[strcspn(out, "\n")] = '\0';
	}
	return pclose(p);
}

/*
 * A device bound to kmem (daxctl's system-ram mode) is RAM, not a device:
 * listed with daxctl's mode and no state, refused by info and map with a
 * message saying how to get it back, never the default.
 */
Test(list_daxctl, system_ram_is_never_a_device, .timeout = 300)
{
	const struct guest_dev *g = guest_dev("dyn2m");
	struct json_object *ours, *o, *v;
	char cmd[512], dev[64];

	snprintf(cmd, sizeof(cmd),
		 "daxctl create-device -r %d -s 256M 2>/dev/null | sed -n 's/.*\"chardev\":\"\\(dax[0-9.]*\\)\".*/\\1/p'",
		 g->region);
	cr_assert_eq(sh(cmd, dev, sizeof(dev)), 0);
	cr_assert(dev[0], "daxctl created no scratch device in region %d", g->region);
	snprintf(cmd, sizeof(cmd),
		 "daxctl reconfigure-device -f -N -m system-ram %s >/dev/null 2>&1", dev);
	if (sh(cmd, NULL, 0) != 0) {
		snprintf(cmd, sizeof(cmd), "daxctl disable-device %s; daxctl destroy-device %s",
			 dev, dev);
		sh(cmd, NULL, 0);
		cr_skip_test("this guest kernel cannot put %s in system-ram mode (no kmem?)", dev);
	}
	ctl_runl(&r, "list", "--json", NULL);
	ours = json_tokener_parse(r.out);
	cr_assert_not_null(ours, "%s", r.out);
	o = find(ours, dev);
	cr_assert_not_null(o, "%s not listed: %s", dev, r.out);
	cr_assert(json_object_object_get_ex(o, "mode", &v));
	cr_expect_str_eq(json_object_get_string(v), "system-ram");
	cr_expect_not(json_object_object_get_ex(o, "state", NULL), "%s has a state", dev);
	json_object_put(ours);
	ctl_runl(&r, "info", dev, NULL);
	cr_expect_eq(r.status, 1);
	cr_expect(strstr(r.err, "system-ram") && strstr(r.err, "--mode=devdax"), "%s", r.err);
	ctl_runl(&r, "map", dev, "--size", "2M", NULL);
	cr_expect_eq(r.status, 1, "map of a system-ram device: %s", r.out);
	ctl_runl(&r, "list", NULL);
	cr_expect(strstr(r.out, "system-ram"), "%s", r.out);
	cr_expect(!strstr(r.out, "default device: ") ||
			  !strstr(strstr(r.out, "default device: "), dev),
		  "%s", r.out);

	snprintf(cmd, sizeof(cmd),
		 "daxctl reconfigure-device -f -m devdax %s >/dev/null 2>&1; daxctl disable-device %s >/dev/null 2>&1; daxctl destroy-device %s >/dev/null 2>&1",
		 dev, dev, dev);
	cr_expect_eq(sh(cmd, NULL, 0), 0, "could not destroy the scratch device %s", dev);
}
