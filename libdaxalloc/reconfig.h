/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals of reconfiguration, shared by layout.c (where device memory
 * lies, which sizes fit), holders.c (who uses a device), reconfigure.c
 * (the safety gate, the guarded disable, alignment changes), subdev.c
 * (devices in dynamic regions) and namespace.c (pmem namespaces).
 */
#ifndef DAXALLOC_RECONFIG_H
#define DAXALLOC_RECONFIG_H

#include <limits.h>
#include <sys/types.h>

#include "private.h"

/* The memory-hotplug subsection: device sizes are whole multiples of it. */
#define LAYOUT_SUBSECTION (UINT64_C(2) << 20)
#define LAYOUT_MAX_RANGES 64
#define LAYOUT_MAX_DEVS 64

struct dax_range {
	uint64_t start; /* physical address */
	uint64_t len;
};

struct dax_region_layout {
	int id;
	enum daxalloc_region_kind kind;
	char dir[PATH_MAX]; /* the region's parent device folder */
	uint64_t start;     /* physical; UINT64_MAX when unknown (then used is too) */
	uint64_t size;
	uint64_t align;
	uint64_t available; /* dynamic regions: bytes no device uses */
	int ndevs;
	char devs[LAYOUT_MAX_DEVS][32]; /* daxX.Y with memory, in name order */
	int nused;
	struct dax_range used[LAYOUT_MAX_RANGES]; /* sorted by start */
};

/* ---- layout.c: rules (pure) ---- */

/* What a device's size must be a multiple of at @align. */
uint64_t layout_granule(uint64_t align);
/* 0, or -EINVAL naming @name, the size, the rule and the nearest valid sizes. */
int layout_check_size(const char *name, uint64_t size, uint64_t align);
/* 0, or -EINVAL naming the first range that does not start and end on @align. */
int layout_check_ranges(const char *name, const struct dax_range *r, int n, uint64_t align);
/*
 * The free parts of [@start, @start + @size) that @used (sorted by start)
 * leaves, each cut to whole @granule units on @granule boundaries.
 * Returns how many (at most @max are stored); *@total gets their sum.
 */
int layout_free_pieces(uint64_t start, uint64_t size, const struct dax_range *used, int nused,
		       uint64_t granule, struct dax_range *out, int max, uint64_t *total);
/*
 * Pieces giving exactly @want bytes: the first single piece that holds it
 * all, else pieces in address order.  Returns the number of pieces, or
 * -ENOSPC when the free pieces hold less.
 */
int layout_plan(const struct dax_range *free, int nfree, uint64_t want, uint64_t granule,
		struct dax_range *out, int max);
/* Usable bytes of a pmem namespace in devdax mode (the kernel's padding rule). */
uint64_t layout_ns_usable(uint64_t ns_start, uint64_t ns_size, uint64_t align, bool memmap_on_device);

/* ---- layout.c: sysfs readers ---- */

/* Read or write an attribute by its full path (below the sysfs root). */
int layout_read(const char *path, char *buf, size_t len);
int layout_write(const char *path, const char *val);

/* A device's ranges in device (page offset) order; returns how many. */
int layout_dev_ranges(const char *devname, struct dax_range *out, int max);
/* Driver the device is bound to ("device_dax", "kmem"), "" when none. */
int layout_dev_driver(const char *devname, char *buf, size_t len);
int layout_region_of(const char *devname, struct dax_region_layout *rl);
/* The region whose parent device folder is @dir. */
int layout_region_read(const char *dir, struct dax_region_layout *rl);
/* The dynamic region @id; -ENODEV when there is none. */
int layout_region_by_id(int id, struct dax_region_layout *rl);
/* Calls @fn for each dax region (one folder each); stops at non-zero. */
int layout_region_foreach(int (*fn)(struct dax_region_layout *rl, void *arg), void *arg);

/* ---- holders.c ---- */

#define HOLDER_OPEN (1u << 0)   /* has the device open */
#define HOLDER_MAPPED (1u << 1) /* has it mapped */
#define HOLDER_DMA (1u << 2)    /* holds a handle that can pin memory for DMA */

struct holder {
	int pid;
	unsigned int what;
	char comm[32];
	char dma[48]; /* the DMA handle: "/dev/vfio/vfio", "io_uring" */
};

/*
 * Processes using @devname, scanning /proc/<pid>/fd and /proc/<pid>/maps.
 * Returns how many were found; up to @max are stored, by pid, those that
 * use the device itself before those that only hold DMA handles.  Or
 * -errno naming a process that could not be inspected.
 */
int holders_scan(const char *devname, struct holder *out, int max);
/*
 * Other processes mapping [offset, +length) of the file open as @fd (a
 * devdax node or the stand-in's memory), by /proc/<pid>/maps; the first
 * goes to @h.  Processes whose maps cannot be read are not counted.
 * Returns how many, or -errno.
 */
int holders_find_mapper(int fd, uint64_t offset, uint64_t length, struct holder *h);
/*
 * Processes (this one too) holding an open file whose identity is
 * @dev/@ino (st_dev, st_ino); the first goes to @h.  Returns how many,
 * or -errno.
 */
int holders_find_file(uint64_t dev, uint64_t ino, struct holder *h);
/* "pid 12 (qemu) has it mapped, pid 40 (x) holds /dev/vfio/vfio" */
void holders_describe(const struct holder *h, int n, int found, unsigned int what, char *buf,
		      size_t len);

/* ---- reconfigure.c: the safety gate and the guarded disable ---- */

/* "dax0.1" or "/dev/dax0.1" into @out, checked. */
int rc_parse_name(const char *arg, char *out, size_t len);
int rc_check_flags(unsigned int flags);
/* -EACCES saying "needs root" when @path (a sysfs attribute) is not writable. */
int rc_check_writable(const char *name, const char *path);
/* The context's entry for @name (list it first with dev_rescan()). */
struct daxalloc_dev *rc_find(struct daxalloc_ctx *ctx, const char *name);
/*
 * The device a reconfiguration names in @arg ("dax0.1", "/dev/dax0.1"):
 * the name into @name, @flags checked, the context's list read afresh;
 * 0 with *out, or -errno saying which of those failed.
 */
int rc_lookup(struct daxalloc_ctx *ctx, const char *arg, unsigned int flags, char *name, size_t len,
	      struct daxalloc_dev **out);
/* libdaxctl's device @name (the context's lists as they are). */
struct daxctl_dev;
struct daxctl_dev *rc_daxctl_find(struct daxalloc_ctx *ctx, const char *name);

enum rc_attr {
	RC_ATTR_SIZE,    /* @v bytes */
	RC_ATTR_ALIGN,   /* @v bytes */
	RC_ATTR_MAPPING, /* physical [@v, @end], added to the device */
};

/*
 * Set @attr of @name through libdaxctl (the context's lists as they are):
 * 0, the kernel's -errno for a refusal, or -ENODEV when libdaxctl does not
 * list the device.
 */
int rc_daxctl_set(struct daxalloc_ctx *ctx, const char *name, enum rc_attr attr, uint64_t v,
		  uint64_t end);

struct rc_gate {
	bool had_pool; /* pool metadata (readable or not) was found */
};

/*
 * Everything that must hold before @name is disabled: nobody has it open
 * or mapped, no DMA handle is held (unless @flags allows it), the pin
 * ledger lists no pins, and its pool holds no named regions (unless
 * DAXALLOC_RECONFIG_DESTROY_DATA).  @what says what is about to happen,
 * for the messages ("change its alignment").
 */
int rc_gate(struct daxalloc_ctx *ctx, const char *name, bool enabled, unsigned int flags,
	    const char *what, struct rc_gate *gate);
/*
 * rc_gate() closes the device's pool to users (owner_close_for()) before
 * its last look; every public entry that gates calls this on its way out
 * with its result, which it returns (message kept).
 */
int rc_gate_end(struct daxalloc_ctx *ctx, int rc);
/* Unbind @name from its driver, with the time limit; see reconfigure.c. */
int rc_disable(struct daxalloc_ctx *ctx, const char *name);
/*
 * Before anything disables @name ("refusing to @what: ..."): -EBUSY naming
 * who has it open or mapped, or holds a DMA-capable handle (unless
 * DAXALLOC_RECONFIG_IGNORE_DMA), or has pins in the ledger.
 */
int rc_check_holders(const char *name, unsigned int flags, const char *what);
int rc_check_ledger(struct daxalloc_ctx *ctx, const char *name, const char *what);
/* Bind @name to device_dax (libdaxctl); verified. */
int rc_enable(struct daxalloc_ctx *ctx, const char *name);
/* Make the device read as "no pool" (a change invalidated it: @why). */
void rc_wipe_pool(struct daxalloc_ctx *ctx, const char *name, const char *why);
/* The guarded unbind itself, with explicit sysfs paths (unit tested). */
int rc_guarded_write(const char *path, const char *value, const char *undo1, const char *undo2,
		     int timeout_ms, pid_t *helper);
int rc_timeout_ms(void);

/* ---- namespace.c ---- */

int ns_set_align(struct daxalloc_ctx *ctx, const char *name, const char *ns_name, uint64_t align,
		 unsigned int flags);
/*
 * A random (version 4) uuid for a devdax instance of @ns_name, the
 * namespace of @name: 0, or -errno with a message saying why there is none.
 */
int ns_new_uuid(const char *name, const char *ns_name, unsigned char uu[16]);

#endif
