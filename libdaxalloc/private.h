/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal declarations shared by the files of libdaxalloc. */
#ifndef DAXALLOC_PRIVATE_H
#define DAXALLOC_PRIVATE_H

#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "daxalloc.h"

#define DAXALLOC_EXPORT __attribute__((visibility("default")))
#define DAXALLOC_PRINTF(f, a) __attribute__((format(printf, f, a)))
/*
 * The exported getter daxalloc_OBJ_get_NAME: member @m of the handle, or
 * @none for a NULL handle, the one rule every getter keeps.
 */
#define DAXALLOC_GETTER(type, obj, name, m, none)                                  \
	DAXALLOC_EXPORT type daxalloc_##obj##_get_##name(struct daxalloc_##obj *h) \
	{                                                                          \
		return h ? h->m : none;                                            \
	}
/*
 * IMPL exported as NAME@VERSION ("@@": the default that new programs bind):
 * for entry points whose types or parameters changed after a release, see
 * versions.c and compat-0.1.c.
 */
#if __has_attribute(symver)
#define DAXALLOC_SYMVER(impl, name_at_version) \
	DAXALLOC_EXPORT __attribute__((symver(name_at_version)))
#else
/* clang before 16 has no symver attribute; the assembler's directive is the same */
#define DAXALLOC_SYMVER(impl, name_at_version)          \
	__asm__(".symver " #impl ", " name_at_version); \
	DAXALLOC_EXPORT
#endif

struct daxctl_ctx;
struct ndctl_ctx;

struct daxalloc_ctx {
	int refs; /* the caller's, and one per opened device */
	int log_priority;
	daxalloc_log_fn log_fn;
	void *log_userdata;
	struct daxctl_ctx *daxctl;
	struct ndctl_ctx *ndctl;
	bool scanned;
	struct daxalloc_dev *devs; /* enumerated devices, owned here */
};

struct daxalloc_dev {
	struct daxalloc_ctx *ctx;
	struct daxalloc_dev *next; /* enumeration list */
	int refs;                  /* opened devices only */
	bool opened;
	int fd;
	enum daxalloc_dev_type type;
	enum daxalloc_region_kind region_kind;
	char name[64];
	char path[80];
	char ns_name[64];
	bool has_ns;
	bool memmap_in_ram;
	bool enabled;    /* bound to device_dax: usable as a device */
	bool system_ram; /* bound to kmem: its memory is online as RAM */
	uint64_t size;
	uint64_t align;
	uint64_t resource;
	unsigned int major, minor; /* device-dax: the node's number, 0:0 unknown */
	int numa_node;
	int target_node;
	int region_id;
	/* hugetlb stand-in: a file that outlives processes; its pages are taken */
	bool kept;
	bool pages_taken;
	uint64_t kept_size; /* another size is kept under this page size */
};

/* The one clock of the library: CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* size.c: @v as "2M", "1.5G" (daxalloc_size_format()), else in bytes; returns @buf. */
const char *size_str(uint64_t v, char *buf, size_t len);

/* error.c: set the thread's message, return -errnum. */
int daxalloc_err(int errnum, const char *fmt, ...) DAXALLOC_PRINTF(2, 3);
void daxalloc_err_clear(void);
/*
 * First line of an entry point: the call concerns @ctx (may be NULL).  If
 * it fails, its message goes to @ctx's log as it returns (error.c).
 */
int api_enter(struct daxalloc_ctx *ctx);
void api_leave(int *unused);
/* The call's context, known only once its object was found live (a pin). */
void api_call_ctx(struct daxalloc_ctx *ctx);
/*
 * Around a caller's callback (the foreach calls): the calls it makes are
 * the caller's own, each logged as it returns.
 */
struct api_saved {
	struct daxalloc_ctx *ctx;
	int depth;
	bool unlogged;
};
void api_pause(struct api_saved *s);
void api_resume(const struct api_saved *s);
/* region.c: the context of @r's pool; NULL for none, or a region whose pool was closed */
struct daxalloc_ctx *region_ctx(struct daxalloc_region *r);
#define API_CALL(ctx) int api_call_ __attribute__((cleanup(api_leave), unused)) = api_enter(ctx)

/*
 * The caller's size of a struct that grows (sized.c): bytes to read or
 * write, or -EINVAL naming the struct.  SIZED(p, pool_stats).
 */
int sized_check(const char *type, uint32_t size, size_t known);
#define SIZED(p, type) sized_check(#type, (p)->struct_size, sizeof(struct daxalloc_##type))
/* The first @n bytes (SIZED's answer) of the library's whole struct @all to the caller's. */
void sized_copy(void *out, const void *all, int n);

/* map.c: fault in device-dax pages ahead where the kernel would refuse them later */
int map_prefault(struct daxalloc_dev *dev, void *p, uint64_t length, bool write, bool always);

/* log.c */
/* Logging defaults of a new context. */
void log_setup(struct daxalloc_ctx *ctx);
void daxalloc_log(struct daxalloc_ctx *ctx, int prio, const char *fmt, ...) DAXALLOC_PRINTF(3, 4);
/* A failed call's message, at LOG_ERR, to a log function the caller set. */
void log_error(struct daxalloc_ctx *ctx, const char *msg);
#define dbg(ctx, ...) daxalloc_log(ctx, LOG_DEBUG, __VA_ARGS__)
#define info(ctx, ...) daxalloc_log(ctx, LOG_INFO, __VA_ARGS__)
#define warn(ctx, ...) daxalloc_log(ctx, LOG_WARNING, __VA_ARGS__)
int daxalloc_log_parse_priority(const char *str);

/*
 * sysfs.c: every direct read of /sys and /proc goes through here so that
 * tests can point the library at a recorded tree ($DAXALLOC_SYSFS_ROOT,
 * which replaces "/sys"; $DAXALLOC_PROCFS_ROOT replaces "/proc").
 */
const char *sysfs_root(void);
const char *procfs_root(void);
int sysfs_read_str(const char *rel, char *buf, size_t len);
int sysfs_read_u64(const char *rel, uint64_t *out);
int sysfs_read_int(const char *rel, int *out);
int sysfs_write_u64(const char *rel, uint64_t val);
int sysfs_dax_region_kind(const char *devname, enum daxalloc_region_kind *kind);
int sysfs_dax_numa_node(const char *devname, int *node);
int sysfs_hugepages_read(uint64_t pagesize, const char *attr, uint64_t *out);
int sysfs_hugepages_write(uint64_t pagesize, const char *attr, uint64_t val);
int procfs_smaps_kernel_page_size(const void *addr, uint64_t *out);

int procfs_pid_starttime(int pid, uint64_t *start);
int procfs_boot_id_hash(uint64_t *hash);
/* The inode of this process's pid namespace (0 when unknown): who can see whose pids. */
uint64_t procfs_self_pidns(void);
/* A "Field:   N kB" line of /proc/self/status, in bytes. */
int procfs_self_status_bytes(const char *field, uint64_t *out);
/* The "Name: N kB" lines of /proc/meminfo named in @fields, in bytes (absent: 0). */
int procfs_meminfo(const char *const *fields, int n, uint64_t *out);

/* crc32c.c */
uint32_t daxalloc_crc32c(uint32_t crc, const void *buf, size_t len);

/* device.c */
int dev_scan(struct daxalloc_ctx *ctx);
/* Drop libdaxctl's and libndctl's caches and list the devices again. */
int dev_rescan(struct daxalloc_ctx *ctx);
/* Free the enumerated devices and the libdaxctl/libndctl contexts. */
void dev_drop_lists(struct daxalloc_ctx *ctx);
/* ctx.c: a context lives until daxalloc_ctx_delete() and its last opened device. */
void ctx_get(struct daxalloc_ctx *ctx);
void ctx_put(struct daxalloc_ctx *ctx);
struct daxalloc_dev *dev_get(struct daxalloc_dev *dev);
void dev_put(struct daxalloc_dev *dev);

/* hugetlb.c: $DAXALLOC_RUNDIR, default /run/daxalloc: the kept stand-in */
const char *daxalloc_rundir(void);

/* hugetlb.c: the stand-in */
int hugetlb_parse_name(const char *name, uint64_t *align, uint64_t *size);
/* What a stand-in is, whatever memory it has: in no dax region, on no known node, enabled. */
void hugetlb_dev_facts(struct daxalloc_dev *dev);
int hugetlb_open(struct daxalloc_ctx *ctx, const char *name, struct daxalloc_dev *dev);
/* Before the first map: every page of the stand-in, taken once. */
int hugetlb_take_pages(struct daxalloc_dev *dev);
/*
 * -ENODATA for a stand-in nothing was written to (not kept, never mapped):
 * it can hold no pool, and looking would take its pages.  0 otherwise.
 */
int hugetlb_no_pool_yet(struct daxalloc_dev *dev);
/* DAXALLOC_POOL_KEEP: the stand-in outlives the process, until released. */
int hugetlb_keep(struct daxalloc_dev *dev);
/* daxalloc_dev_destroy() of a stand-in: release the kept one. */
int hugetlb_release_kept(struct daxalloc_ctx *ctx, const char *name, unsigned int flags);

/*
 * pin-ledger.c: live pins of every process, in any namespace, on @pool's
 * device (pool lock held).  Returns how many, or -errno; @who (may be
 * NULL) gets one line naming the first holder: consumer, pid and command.
 */
int pin_ledger_count(struct daxalloc_pool *pool, char *who, size_t wholen);

#endif
