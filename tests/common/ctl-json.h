/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What daxalloc-ctl --json printed (run-ctl.h), read by the CLI tests. */
#ifndef CTL_JSON_H
#define CTL_JSON_H

#include <json-c/json.h>
#include <stdint.h>

#include "run-ctl.h"

/* @r exited 0 and printed one JSON value: it (json_object_put() it). */
struct json_object *ctl_json(const struct ctl_run *r);
/* @key of @o, which must be there. */
uint64_t ctl_json_u64(struct json_object *o, const char *key);

#endif
