/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdaxalloc - safe, aligned use of Linux device-DAX memory.
 *
 * Conventions: functions that can fail return 0 (or a non-negative value)
 * on success and -errno on failure; the failing call leaves a one-line
 * human message for the calling thread, read with daxalloc_errmsg().
 * Constructors take an out-pointer (x_new(&out, ...)); destructors take the
 * address of the pointer and set it to NULL.
 */
#ifndef DAXALLOC_H
#define DAXALLOC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DAXALLOC_VERSION_MAJOR 0
#define DAXALLOC_VERSION_MINOR 1
#define DAXALLOC_VERSION_MICRO 0

#define DAXALLOC_SIZE_4K (UINT64_C(4) << 10)
#define DAXALLOC_SIZE_2M (UINT64_C(2) << 20)
#define DAXALLOC_SIZE_1G (UINT64_C(1) << 30)

/* Version of the library actually loaded, "MAJOR.MINOR.MICRO". */
const char *daxalloc_version(void);

/* The message left by the last failing call of this thread ("" if none). */
const char *daxalloc_errmsg(void);

/* ---- context ---------------------------------------------------------- */

struct daxalloc_ctx;

/* Log priorities follow syslog(3): LOG_ERR=3 ... LOG_DEBUG=7. */
typedef void (*daxalloc_log_fn)(struct daxalloc_ctx *ctx, int priority,
				const char *msg, void *userdata);

/*
 * A context holds the libdaxctl/libndctl handles and the logging setup.
 * The initial log priority comes from $DAXALLOC_LOG ("err", "warning",
 * "info", "debug" or a number); the default logger writes to stderr.
 */
int daxalloc_ctx_new(struct daxalloc_ctx **ctx);
void daxalloc_ctx_delete(struct daxalloc_ctx **ctx);
void daxalloc_ctx_set_log_fn(struct daxalloc_ctx *ctx, daxalloc_log_fn fn,
			     void *userdata);
void daxalloc_ctx_set_log_priority(struct daxalloc_ctx *ctx, int priority);
int daxalloc_ctx_get_log_priority(struct daxalloc_ctx *ctx);

/* ---- sizes ------------------------------------------------------------ */

/*
 * Parse "4096", "4K", "2M", "1G", "1T", "2GiB" (binary units only, case
 * insensitive suffix).  -EINVAL for anything else, -ERANGE on overflow.
 */
int daxalloc_size_parse(const char *str, uint64_t *out);
/* Shortest exact form ("2M", "1536M", "4097"); returns strlen or -errno. */
int daxalloc_size_format(uint64_t size, char *buf, size_t buflen);
/* True for the alignments device-dax offers on x86-64: 4K, 2M, 1G. */
bool daxalloc_align_is_valid(uint64_t align);

/* ---- devices ---------------------------------------------------------- */

struct daxalloc_dev;

enum daxalloc_dev_type {
	DAXALLOC_DEV_DEVDAX = 1,	/* /dev/daxX.Y */
	DAXALLOC_DEV_HUGETLB = 2,	/* stand-in: memfd with MFD_HUGETLB */
};

enum daxalloc_region_kind {
	DAXALLOC_REGION_UNKNOWN = 0,
	DAXALLOC_REGION_STATIC = 1,	/* pmem namespace: align/size fixed */
	DAXALLOC_REGION_DYNAMIC = 2,	/* hmem/CXL: devices resizable */
	DAXALLOC_REGION_NONE = 3,	/* hugetlb stand-in */
};

/*
 * Devices the context knows of, in the order libdaxctl lists them.
 * The objects belong to the context; they are not opened.
 */
struct daxalloc_dev *daxalloc_dev_get_first(struct daxalloc_ctx *ctx);
struct daxalloc_dev *daxalloc_dev_get_next(struct daxalloc_dev *dev);
#define daxalloc_dev_foreach(ctx, dev)                                      \
	for (dev = daxalloc_dev_get_first(ctx); dev != NULL;                \
	     dev = daxalloc_dev_get_next(dev))

/*
 * Open a device for mapping.  @name is "dax0.0", "/dev/dax0.0",
 * "hugetlb:2M", "hugetlb:1G" (optionally ":SIZE", default 1G) or NULL
 * for the default: $DAXALLOC_DEVICE,
 * else the first enabled devdax device, else "hugetlb:1G", else
 * "hugetlb:2M".  The stand-in reserves the huge pages it needs when the
 * caller may (and gives them back on close); otherwise it fails with
 * -ENOMEM and a message saying how to reserve them.
 */
int daxalloc_dev_open(struct daxalloc_ctx *ctx, const char *name,
		      struct daxalloc_dev **dev);
/* Drops the caller's reference; maps keep the device alive. */
void daxalloc_dev_close(struct daxalloc_dev **dev);

const char *daxalloc_dev_get_name(struct daxalloc_dev *dev);
/* "/dev/daxX.Y"; NULL for the stand-in. */
const char *daxalloc_dev_get_path(struct daxalloc_dev *dev);
enum daxalloc_dev_type daxalloc_dev_get_type(struct daxalloc_dev *dev);
bool daxalloc_dev_is_standin(struct daxalloc_dev *dev);
uint64_t daxalloc_dev_get_size(struct daxalloc_dev *dev);
uint64_t daxalloc_dev_get_align(struct daxalloc_dev *dev);
/* NUMA node of the memory, or -1 when the kernel does not say. */
int daxalloc_dev_get_numa_node(struct daxalloc_dev *dev);
/* Node the memory would join if onlined as system RAM, or -1. */
int daxalloc_dev_get_target_node(struct daxalloc_dev *dev);
/* dax region id, -1 for the stand-in. */
int daxalloc_dev_get_region_id(struct daxalloc_dev *dev);
enum daxalloc_region_kind daxalloc_dev_get_region_kind(struct daxalloc_dev *dev);
/* Physical start address, UINT64_MAX when unknown (stand-in, no root). */
uint64_t daxalloc_dev_get_resource(struct daxalloc_dev *dev);
bool daxalloc_dev_is_enabled(struct daxalloc_dev *dev);
/* "namespace0.0" for a static pmem device, else NULL. */
const char *daxalloc_dev_get_namespace(struct daxalloc_dev *dev);
/* Whether the pmem namespace keeps its struct pages in RAM (-M mem). */
bool daxalloc_dev_memmap_in_ram(struct daxalloc_dev *dev);
const char *daxalloc_region_kind_name(enum daxalloc_region_kind kind);

/* ---- aligned mappings ---------------------------------------------------- */

struct daxalloc_map;

#define DAXALLOC_MAP_SYNC	(1u << 0) /* MAP_SYNC (devdax only)  */
#define DAXALLOC_MAP_POPULATE	(1u << 1) /* fault every page in now */
#define DAXALLOC_MAP_READONLY	(1u << 2) /* PROT_READ only          */

/*
 * Map [offset, offset+length) of an open device, MAP_SHARED.  offset,
 * length and @addr (when not NULL: the mapping lands exactly there,
 * without replacing anything) must be multiples of the device alignment
 * and lie inside the device; a request that breaks a rule gets -EINVAL
 * before any system call.  With @addr NULL the library picks an address
 * aligned to the device alignment.
 */
int daxalloc_map_new(struct daxalloc_dev *dev, uint64_t offset,
		     uint64_t length, void *addr, unsigned int flags,
		     struct daxalloc_map **map);
void daxalloc_map_delete(struct daxalloc_map **map);
void *daxalloc_map_get_address(struct daxalloc_map *map);
uint64_t daxalloc_map_get_length(struct daxalloc_map *map);
uint64_t daxalloc_map_get_offset(struct daxalloc_map *map);
struct daxalloc_dev *daxalloc_map_get_dev(struct daxalloc_map *map);
/*
 * Page size the kernel uses for this mapping, read from /proc/self/smaps
 * (KernelPageSize); -errno if it cannot be read.
 */
int64_t daxalloc_map_get_kernel_page_size(struct daxalloc_map *map);

/* ---- pools: persistent regions on a device -------------------------------- */

struct daxalloc_pool;
struct daxalloc_region;

#define DAXALLOC_POOL_FORCE	(1u << 0) /* create: overwrite an existing pool */

#define DAXALLOC_ALLOC_ZERO	(1u << 0) /* zero the region before returning it */
#define DAXALLOC_ALLOC_POPULATE	(1u << 1) /* fault the whole region in now */

#define DAXALLOC_NAME_MAX 63		/* longest region name */
#define DAXALLOC_POOL_MAX_REGIONS 2048	/* regions one pool can hold */

/*
 * Format @dev as a pool (the metadata takes the first unit, at least 2M)
 * and open it.  The allocation unit is the device alignment.  A device
 * that already holds a pool is refused with -EEXIST unless
 * DAXALLOC_POOL_FORCE, which destroys every region on it.
 */
int daxalloc_pool_create(struct daxalloc_dev *dev, unsigned int flags,
			 struct daxalloc_pool **pool);
/*
 * Open the pool on @dev.  Any number of processes may have it open.
 * Unnamed regions whose owning process has died are reclaimed here.
 * Errors: -ENODATA not formatted, -EUCLEAN corrupt metadata,
 * -EPROTONOSUPPORT newer format, -EXDEV the device's size or alignment
 * changed since it was formatted.  After fork(), the child opens its own.
 */
int daxalloc_pool_open(struct daxalloc_dev *dev, unsigned int flags,
		       struct daxalloc_pool **pool);
/* Unmaps; unnamed regions still open are freed, named ones stay. */
void daxalloc_pool_close(struct daxalloc_pool **pool);
struct daxalloc_dev *daxalloc_pool_get_dev(struct daxalloc_pool *pool);

struct daxalloc_pool_stats {
	uint64_t unit;		/* allocation unit (device alignment) */
	uint64_t capacity;	/* bytes regions can use */
	uint64_t used;
	uint64_t free;
	uint64_t largest_free;	/* biggest region that fits now */
	uint32_t free_extents;
	uint32_t regions;
	uint32_t named_regions;
	uint32_t max_regions;
	double fragmentation;	/* 1 - largest_free / free; 0 when free == 0 */
};
int daxalloc_pool_get_stats(struct daxalloc_pool *pool, struct daxalloc_pool_stats *st);

/*
 * Allocate @size bytes (rounded up to the unit; best fit) and map them.
 * @name NULL: the region belongs to this process and is freed when it is
 * closed or the process dies.  With a name it persists until freed by
 * name; -EEXIST if the name is taken, -ENOSPC if nothing fits.
 */
int daxalloc_alloc(struct daxalloc_pool *pool, uint64_t size, const char *name,
		   unsigned int flags, struct daxalloc_region **region);
/* Map an existing named region (same extents, same contents). */
int daxalloc_region_open(struct daxalloc_pool *pool, const char *name,
			 unsigned int flags, struct daxalloc_region **region);
/* Unmap; an unnamed region is freed, a named one stays on the device. */
void daxalloc_region_close(struct daxalloc_region **region);
/* Unmap and free the region's extents, named or not. */
int daxalloc_region_free(struct daxalloc_region **region);
int daxalloc_pool_free_name(struct daxalloc_pool *pool, const char *name);
int daxalloc_pool_rename(struct daxalloc_pool *pool, const char *from, const char *to);

void *daxalloc_region_get_address(struct daxalloc_region *region);
uint64_t daxalloc_region_get_size(struct daxalloc_region *region);
/* Byte offset of the region on the device. */
uint64_t daxalloc_region_get_offset(struct daxalloc_region *region);
/* NULL for an unnamed region. */
const char *daxalloc_region_get_name(struct daxalloc_region *region);
struct daxalloc_pool *daxalloc_region_get_pool(struct daxalloc_region *region);

struct daxalloc_region_info {
	char name[DAXALLOC_NAME_MAX + 1];	/* "" when unnamed */
	uint64_t offset;
	uint64_t size;
	int owner_pid;		/* unnamed: the owner; named: 0 */
	bool owner_alive;
	uint64_t created;	/* seconds since the epoch */
};
/* Calls @fn for every region, in device order; stops at a non-zero return. */
int daxalloc_pool_foreach_region(struct daxalloc_pool *pool,
				 int (*fn)(const struct daxalloc_region_info *info, void *arg),
				 void *arg);

#define DAXALLOC_CHECK_REPAIR	(1u << 0)

struct daxalloc_check_report {
	int active_copy;	/* 0 or 1, -1 if neither copy is valid */
	uint64_t sequence;
	bool standby_valid;	/* false after an interrupted update: harmless */
	uint32_t regions;
	uint32_t orphans;	/* unnamed regions of dead processes */
	uint32_t problems;	/* what needs repair */
	uint32_t repaired;
	char first_problem[256];
};
/*
 * Verify the metadata on @dev without changing it, or with
 * DAXALLOC_CHECK_REPAIR rewrite both copies from the valid one and
 * reclaim orphans.  Returns the number of problems left (0 = clean).
 */
int daxalloc_pool_check(struct daxalloc_dev *dev, unsigned int flags,
			struct daxalloc_check_report *report);

#ifdef __cplusplus
}
#endif

#endif /* DAXALLOC_H */
