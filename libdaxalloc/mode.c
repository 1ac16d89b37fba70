// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Device modes, as daxctl names them: devdax (a character device to map)
 * or system-ram (the memory handed to the kernel's kmem driver, online as
 * RAM).  The switch goes through libdaxctl's enable and memory calls, with
 * the same gate as every reconfiguration: nobody may hold the device, and
 * a pool's named regions are lost only when asked.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <daxctl/libdaxctl.h>

#include "pool.h"
#include "reconfig.h"

/* devdax -> system-ram: gate, timed disable, kmem, memory online. */
static int to_ram(struct daxalloc_ctx *ctx, const char *name, bool enabled, unsigned int flags)
{
	const char *what = "put it in system-ram mode (its memory becomes RAM)";
	struct daxctl_memory *mem;
	struct daxctl_dev *dd;
	struct rc_gate gate;
	int rc;

	rc = rc_gate(ctx, name, enabled, flags, what, &gate);
	if (rc == 0 && enabled)
		rc = rc_disable(ctx, name);
	if (rc < 0)
		return rc;
	dd = rc_daxctl_find(ctx, name);
	if (!dd)
		return daxalloc_err(ENODEV, "%s: libdaxctl does not list it", name);
	rc = daxctl_dev_enable_ram(dd);
	if (rc < 0) {
		int e = -rc;

		if (enabled && rc_enable(ctx, name) == 0)
			return daxalloc_err(e,
					    "%s: the kernel refused system-ram mode: %s (is the kmem module there?); it is enabled again in devdax mode",
					    name, strerror(e));
		return daxalloc_err(e,
				    "%s: the kernel refused system-ram mode: %s (is the kmem module there?); it is disabled",
				    name, strerror(e));
	}
	/* As daxctl does by default: online, movable, so that it can be taken back. */
	mem = daxctl_dev_get_memory(dd);
	if (mem && daxctl_memory_is_online(mem) <= 0 && (rc = daxctl_memory_online(mem)) < 0)
		return daxalloc_err(-rc,
				    "%s: bound to kmem, but its memory could not be put online: %s",
				    name, strerror(-rc));
	info(ctx, "%s: system-ram mode", name);
	return dev_rescan(ctx);
}

/* system-ram -> devdax: offline, disable, enable as devdax, erase what looks like a pool. */
static int to_devdax(struct daxalloc_ctx *ctx, const char *name)
{
	struct daxctl_memory *mem;
	struct daxctl_dev *dd = rc_daxctl_find(ctx, name);
	int rc;

	if (!dd)
		return daxalloc_err(ENODEV, "%s: libdaxctl does not list it", name);
	mem = daxctl_dev_get_memory(dd);
	if (mem && daxctl_memory_is_online(mem) > 0 && (rc = daxctl_memory_offline(mem)) < 0)
		return daxalloc_err(-rc == EBUSY ? EBUSY : -rc,
				    "%s: its memory could not be taken offline: %s (the kernel holds pages there that it cannot move); it stays in system-ram mode",
				    name, strerror(-rc));
	rc = daxctl_dev_disable(dd);
	if (rc < 0)
		return daxalloc_err(-rc,
				    "%s: could not be detached from kmem: %s; its memory is offline",
				    name, strerror(-rc));
	rc = rc_enable(ctx, name);
	if (rc < 0)
		return rc;
	/* The kernel used the memory as RAM: what looks like a pool there is not one. */
	rc_wipe_pool(ctx, name, "its memory was system RAM");
	info(ctx, "%s: devdax mode", name);
	return dev_rescan(ctx);
}

DAXALLOC_EXPORT int daxalloc_dev_set_mode(struct daxalloc_ctx *ctx, const char *arg,
					  const char *mode, unsigned int flags)
{
	API_CALL(ctx);
	char name[32], path[PATH_MAX];
	struct daxalloc_dev *d;
	bool ram, was_ram, enabled;
	int rc;

	if (!mode)
		return daxalloc_err(EINVAL, "daxalloc_dev_set_mode: NULL mode");
	if (strcmp(mode, "system-ram") != 0 && strcmp(mode, "devdax") != 0)
		return daxalloc_err(EINVAL, "%s: mode '%s': devdax or system-ram",
				    arg ? arg : "(null)", mode);
	ram = strcmp(mode, "system-ram") == 0;
	rc = rc_lookup(ctx, arg, flags, name, sizeof(name), &d);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/bus/dax/devices/%s/uevent", sysfs_root(), name);
	rc = rc_check_writable(name, path);
	if (rc < 0)
		return rc;
	was_ram = d->system_ram;
	enabled = d->enabled;
	if (ram == was_ram) {
		info(ctx, "%s: already in %s mode", name, mode);
		return 0;
	}
	if (ram)
		return rc_gate_end(ctx, to_ram(ctx, name, enabled, flags));
	return to_devdax(ctx, name);
}
