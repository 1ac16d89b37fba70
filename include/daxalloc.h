/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdaxalloc - safe, aligned use of Linux device-DAX memory.
 *
 * Conventions: functions that can fail return 0 (or a non-negative value)
 * on success and -errno on failure; the failing call leaves a one-line
 * human message for the calling thread, read with daxalloc_errmsg().
 * Constructors take an out-pointer (x_new(&out, ...)); destructors take the
 * address of the pointer and set it to NULL.
 *
 * Structs that grow: a struct the caller fills or allocates for the
 * library starts with its size, struct_size, set with the struct's
 * DAXALLOC_*_INIT ({ DAXALLOC_PIN_TARGET_INIT, .kind = ... }).  The
 * library reads and writes only what that size covers, so a program
 * built against this header keeps working with later libraries, and
 * refuses a size it does not know (-EINVAL, naming the struct): one left
 * without its size, or a later header's on an older library.  A struct
 * the library hands to a callback carries the size it has: read a member
 * added later only when .struct_size covers it.
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
#define DAXALLOC_VERSION_MINOR 2
#define DAXALLOC_VERSION_MICRO 0
/*
 * True when this header is version MAJOR.MINOR.MICRO or newer, for code
 * that must build against older ones (#if DAXALLOC_CHECK_VERSION(0, 2, 0)).
 * A compile-time answer: the library loaded says its own with
 * daxalloc_version(), and runs programs built against any older header.
 */
/* clang-format off */
#define DAXALLOC_CHECK_VERSION(major, minor, micro)                             \
	(DAXALLOC_VERSION_MAJOR > (major) ||                                    \
	 (DAXALLOC_VERSION_MAJOR == (major) &&                                  \
	  (DAXALLOC_VERSION_MINOR > (minor) ||                                  \
	   (DAXALLOC_VERSION_MINOR == (minor) && DAXALLOC_VERSION_MICRO >= (micro)))))
/* clang-format on */

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
typedef void (*daxalloc_log_fn)(struct daxalloc_ctx *ctx, int priority, const char *msg,
				void *userdata);

/*
 * A context holds the libdaxctl/libndctl handles and the logging setup.
 * The initial log priority comes from $DAXALLOC_LOG ("err", "warning",
 * "info", "debug" or a number); the default logger writes to stderr.
 * A failed call's message (daxalloc_errmsg()) goes to the log function of
 * its context at LOG_ERR; the default logger leaves it to the caller.
 */
int daxalloc_ctx_new(struct daxalloc_ctx **ctx);
void daxalloc_ctx_delete(struct daxalloc_ctx **ctx);
void daxalloc_ctx_set_log_fn(struct daxalloc_ctx *ctx, daxalloc_log_fn fn, void *userdata);
void daxalloc_ctx_set_log_priority(struct daxalloc_ctx *ctx, int priority);
int daxalloc_ctx_get_log_priority(struct daxalloc_ctx *ctx);

/* ---- sizes ------------------------------------------------------------ */

/*
 * Parse "4096", "4K", "2M", "1G", "1T", "2GiB" (binary units K..E only, case
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
	DAXALLOC_DEV_DEVDAX = 1,  /* /dev/daxX.Y */
	DAXALLOC_DEV_HUGETLB = 2, /* stand-in: memfd with MFD_HUGETLB */
};

enum daxalloc_region_kind {
	DAXALLOC_REGION_UNKNOWN = 0,
	DAXALLOC_REGION_STATIC = 1,  /* pmem namespace: align/size fixed */
	DAXALLOC_REGION_DYNAMIC = 2, /* hmem/CXL: devices resizable */
	DAXALLOC_REGION_NONE = 3,    /* hugetlb stand-in */
};

/*
 * Devices the context knows of, in the order libdaxctl lists them.
 * The objects belong to the context; they are not opened.
 */
struct daxalloc_dev *daxalloc_dev_get_first(struct daxalloc_ctx *ctx);
struct daxalloc_dev *daxalloc_dev_get_next(struct daxalloc_dev *dev);
/* clang-format off */
#define daxalloc_dev_foreach(ctx, dev)                                      \
	for (dev = daxalloc_dev_get_first(ctx); dev != NULL;                \
	     dev = daxalloc_dev_get_next(dev))
/* clang-format on */

/*
 * Open a device for mapping.  @name is "dax0.0", "/dev/dax0.0",
 * "hugetlb:2M", "hugetlb:1G" (optionally ":SIZE", default 1G) or NULL
 * for the default: $DAXALLOC_DEVICE,
 * else the first enabled devdax device, else the stand-in (see
 * daxalloc_ctx_get_default_device()).  The stand-in reserves the huge pages it needs when the
 * caller may (and gives them back on close); otherwise it fails with
 * -ENOMEM and a message saying how to reserve them.  Other paths are
 * refused with -ENODEV saying what they are; symbolic links are never
 * followed, and the node opened must be the one sysfs lists.
 */
int daxalloc_dev_open(struct daxalloc_ctx *ctx, const char *name, struct daxalloc_dev **dev);
/* Drops the caller's reference; maps keep the device alive. */
void daxalloc_dev_close(struct daxalloc_dev **dev);
/*
 * The name daxalloc_dev_open(ctx, NULL, ...) opens: $DAXALLOC_DEVICE, else
 * the first enabled devdax device, else "hugetlb:1G" where the kernel offers
 * 1G huge pages, else "hugetlb:2M".  Reserves nothing.  (Opening the 1G
 * stand-in falls back to "hugetlb:2M" when no 1G page can be had.)  The
 * string belongs to the context or is static.
 */
const char *daxalloc_ctx_get_default_device(struct daxalloc_ctx *ctx);

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
/*
 * daxctl's mode: "devdax" (disabled devices too), "system-ram" (bound to
 * kmem: its memory is online as RAM; never opened, never the default, and
 * daxalloc_dev_is_enabled() is false), or "hugetlb" for the stand-in.
 */
const char *daxalloc_dev_get_mode(struct daxalloc_dev *dev);
/* "namespace0.0" for a static pmem device, else NULL. */
const char *daxalloc_dev_get_namespace(struct daxalloc_dev *dev);
/* Whether the pmem namespace keeps its struct pages in RAM (-M mem). */
bool daxalloc_dev_memmap_in_ram(struct daxalloc_dev *dev);
const char *daxalloc_region_kind_name(enum daxalloc_region_kind kind);

/* ---- aligned mappings ---------------------------------------------------- */

struct daxalloc_map;

#define DAXALLOC_MAP_SYNC (1u << 0)     /* MAP_SYNC (devdax only)  */
#define DAXALLOC_MAP_POPULATE (1u << 1) /* fault every page in now */
#define DAXALLOC_MAP_READONLY (1u << 2) /* PROT_READ only          */

/*
 * Map [offset, offset+length) of an open device, MAP_SHARED.  offset,
 * length and @addr (when not NULL: the mapping lands exactly there,
 * without replacing anything) must be multiples of the device alignment
 * and lie inside the device; a request that breaks a rule gets -EINVAL
 * before any system call.  With @addr NULL the library picks an address
 * aligned to the device alignment.
 */
int daxalloc_map_new(struct daxalloc_dev *dev, uint64_t offset, uint64_t length, void *addr,
		     unsigned int flags, struct daxalloc_map **map);
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

#define DAXALLOC_POOL_FORCE (1u << 0)  /* create: overwrite an existing pool */
#define DAXALLOC_POOL_RDONLY (1u << 1) /* open: look, change no byte of the pool */
/*
 * open, for operators: frees through this pool go ahead although another
 * process maps or pins the region (each is logged as a warning).  They
 * may still write into memory handed to the next allocation, by the CPU
 * or by DMA.
 */
#define DAXALLOC_POOL_FORCE_FREE (1u << 2)
/*
 * create on a stand-in: keep it (and the pool) after the process ends,
 * in a hugetlbfs file under $DAXALLOC_RUNDIR (mounting it needs root), so
 * later opens of "hugetlb:2M" / "hugetlb:1G" find the pool; released by
 * daxalloc_dev_destroy(ctx, "hugetlb:2M", flags).  No effect on devdax.
 */
#define DAXALLOC_POOL_KEEP (1u << 4)

/*
 * Zero the region before returning it; a named region is published only
 * after its zeros are durable (killed before, the extent is an orphan).
 */
#define DAXALLOC_ALLOC_ZERO (1u << 0)
#define DAXALLOC_ALLOC_POPULATE (1u << 1) /* fault the whole region in now */

#define DAXALLOC_NAME_MAX 63 /* longest region name */
/* Regions a pool holds on a device of at most 2,048 units (and any pool formatted before
 * 0.2); a larger device's pool holds one per unit, up to 1,048,576: see
 * daxalloc_pool_get_stats()'s max_regions. */
#define DAXALLOC_POOL_MAX_REGIONS 2048

/*
 * Format @dev as a pool (the metadata takes the first unit, at least 2M)
 * and open it.  The allocation unit is the device alignment.  A device
 * that already holds a pool is refused with -EEXIST unless
 * DAXALLOC_POOL_FORCE, which destroys every region on it.  Without FORCE
 * it is atomic: of processes creating at once exactly one formats, the
 * others get -EEXIST and open the winner's pool.  Start-up idiom:
 *   rc = daxalloc_pool_open(dev, 0, &p);
 *   if (rc == -ENODATA) rc = daxalloc_pool_create(dev, 0, &p);
 *   if (rc == -EEXIST) rc = daxalloc_pool_open(dev, 0, &p);
 */
int daxalloc_pool_create(struct daxalloc_dev *dev, unsigned int flags, struct daxalloc_pool **pool);
/*
 * Open the pool on @dev.  Any number of processes may have it open.
 * Unnamed regions whose owning process has died are reclaimed here,
 * unless DAXALLOC_POOL_RDONLY: then nothing on the device is changed
 * (orphans stay until a writer opens the pool), calls that would change
 * it (alloc, free, rename) fail with -EROFS and named regions are mapped
 * read-only.
 * Errors: -ENODATA not formatted, -EUCLEAN corrupt metadata,
 * -EPROTONOSUPPORT newer format, -EXDEV the device's size or alignment
 * changed since it was formatted.  After fork(), the child opens its own:
 * every call on a handle it inherited fails with -ECHILD, and closing one
 * frees nothing of the parent's.  Handles work across pid and mount
 * namespaces and device nodes of one device (the lock and owners' leases
 * live in device memory).
 */
int daxalloc_pool_open(struct daxalloc_dev *dev, unsigned int flags, struct daxalloc_pool **pool);
/*
 * Unmaps; unnamed regions still open are freed, named ones stay.  Pins
 * still held on its regions are unpinned first.  A writer's handle folds
 * a journal holding an eighth of its records or more into the table (a
 * checkpoint: the whole table written), so that the next open need not
 * replay them; a read-only handle, or a forked child's, writes nothing.  Freeing a region mapped
 * through another handle of this process fails with -EBUSY.  Region
 * handles still held stay valid as handles, in any order: their memory is
 * gone (get_address gives NULL, other calls -EINVAL) and
 * daxalloc_region_close() releases them.
 */
void daxalloc_pool_close(struct daxalloc_pool **pool);
struct daxalloc_dev *daxalloc_pool_get_dev(struct daxalloc_pool *pool);

struct daxalloc_pool_stats {
	uint32_t struct_size; /* DAXALLOC_POOL_STATS_INIT */
	uint64_t unit;        /* allocation unit (device alignment) */
	uint64_t capacity;    /* bytes regions can use */
	uint64_t used;
	uint64_t free;
	uint64_t largest_free; /* biggest region that fits now */
	uint32_t free_extents;
	uint32_t regions;
	uint32_t named_regions;
	uint32_t max_regions; /* the table's capacity: from the device at format (format 2.1) */
	double fragmentation; /* 1 - largest_free / free; 0 when free == 0 */
};
#define DAXALLOC_POOL_STATS_INIT .struct_size = sizeof(struct daxalloc_pool_stats)
int daxalloc_pool_get_stats(struct daxalloc_pool *pool, struct daxalloc_pool_stats *st);

/*
 * Allocate @size bytes (rounded up to the unit; best fit) and map them.
 * @name NULL: the region belongs to this process and is freed when it is
 * closed or the process dies.  With a name it persists until freed by
 * name; -EEXIST if the name is taken, -ENOSPC if nothing fits.
 */
int daxalloc_alloc(struct daxalloc_pool *pool, uint64_t size, const char *name, unsigned int flags,
		   struct daxalloc_region **region);
/* Map an existing named region (same extents, same contents). */
int daxalloc_region_open(struct daxalloc_pool *pool, const char *name, unsigned int flags,
			 struct daxalloc_region **region);
/*
 * Unmap (unpinning what is pinned of it); an unnamed region is freed, a
 * named one stays on the device.  Also releases a handle whose pool was
 * closed before it.
 */
void daxalloc_region_close(struct daxalloc_region **region);
/*
 * Unmap and free the region's extents, named or not.  A region pinned by
 * any process, or mapped by another live process, is refused with -EBUSY
 * naming the holder, and stays open (DAXALLOC_POOL_FORCE_FREE overrides);
 * so is one whose pins cannot be checked (an unreadable pin ledger).
 */
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

/*
 * Durability of region data.  Stores to a region reach the device's
 * memory; whether they survive a power loss depends on the memory:
 *  VOLATILE  RAM (the stand-in, hmem and CXL RAM devices): a power loss
 *            takes the contents; daxalloc_region_persist() only orders.
 *  FLUSH     persistent memory (or a device whose kind is unknown, treated
 *            as such): durable once flushed from the CPU caches and fenced,
 *            which daxalloc_region_persist() does (CLWB/CLFLUSHOPT + SFENCE
 *            through libpmem2 on a pmem namespace).
 *  STORE     persistent memory with eADR: durable once a store is visible
 *            to other CPUs; persist is a fence.
 * A process killed by a signal loses nothing it stored, on any kind.
 * The pool's own metadata is always made durable before a call returns.
 */
enum daxalloc_durability {
	DAXALLOC_DURABILITY_VOLATILE = 0,
	DAXALLOC_DURABILITY_FLUSH = 1,
	DAXALLOC_DURABILITY_STORE = 2,
};
enum daxalloc_durability daxalloc_region_get_durability(struct daxalloc_region *region);
/*
 * Make [offset, offset+length) of the region (offsets inside it) durable:
 * flush and fence.  -EINVAL if the range is not inside the region.
 * daxalloc_region_flush() flushes without the fence; one
 * daxalloc_region_drain() then fences every flush before it.
 */
int daxalloc_region_persist(struct daxalloc_region *region, uint64_t offset, uint64_t length);
int daxalloc_region_flush(struct daxalloc_region *region, uint64_t offset, uint64_t length);
void daxalloc_region_drain(struct daxalloc_region *region);
/* The unchecked flush + fence for hot paths: fn(address, length), any address of the region. */
typedef void (*daxalloc_persist_fn)(const void *addr, size_t length);
daxalloc_persist_fn daxalloc_region_get_persist_fn(struct daxalloc_region *region);

/* Handed to callbacks: .struct_size says which members this library fills. */
struct daxalloc_region_info {
	uint32_t struct_size;
	char name[DAXALLOC_NAME_MAX + 1]; /* "" when unnamed */
	uint64_t offset;
	uint64_t size;
	int owner_pid; /* unnamed: the owner; named: 0 */
	bool owner_alive;
	uint64_t created; /* seconds since the epoch */
};
/* Calls @fn for every region, in device order; stops at a non-zero return. */
int daxalloc_pool_foreach_region(struct daxalloc_pool *pool,
				 int (*fn)(const struct daxalloc_region_info *info, void *arg),
				 void *arg);

#define DAXALLOC_CHECK_REPAIR (1u << 0)
/* With REPAIR: allow going back to an older state; every change it loses is named. */
#define DAXALLOC_CHECK_FORCE (1u << 1)

enum daxalloc_check_kind {
	DAXALLOC_CHECK_PROBLEM = 0, /* damage or an inconsistency */
	DAXALLOC_CHECK_LOSS = 1,    /* a change a repair back to an older state discards */
	DAXALLOC_CHECK_NOTE = 2,    /* harmless: a copy caught mid-update, an old format */
};

/*
 * What a finding of daxalloc_pool_check() says, with the members of
 * struct daxalloc_check_finding it sets (the others are -1 or 0).  "Copy"
 * is one of the pool's two metadata copies, each with two header copies.
 */
enum daxalloc_check_code {
	DAXALLOC_CHECK_CLEAN = 0,         /* nothing to say */
	DAXALLOC_CHECK_STATE_DAMAGED = 1, /* the newest state does not read: detail */
	DAXALLOC_CHECK_HEADER_TORN = 2,   /* note: copy's header cut short; other holds the state */
	DAXALLOC_CHECK_HEADER_DAMAGED = 3, /* copy's header damaged, other holds the state; detail */
	DAXALLOC_CHECK_COPY_STALE = 4,     /* note: copy (sequence) caught mid-update */
	DAXALLOC_CHECK_LEGACY_DAMAGED = 5, /* copy of format 1.0 (one header) damaged; detail */
	DAXALLOC_CHECK_OLD_FORMAT = 6, /* note: format_major.format_minor, upgraded when written */
	DAXALLOC_CHECK_JOURNAL_REPAIRABLE = 7, /* count journal records damaged in one copy only */
	DAXALLOC_CHECK_JOURNAL_LOST = 8,       /* loss: from record index on; sequence kept */
	DAXALLOC_CHECK_ENTRY_UNREADABLE = 9, /* loss: entry index of source does not read; detail */
	DAXALLOC_CHECK_REGION_DROPPED = 10,  /* loss: source holds region, sequence2 does not */
	DAXALLOC_CHECK_REGION_REVIVED = 11,  /* loss: source lacks region, sequence2 holds it */
	DAXALLOC_CHECK_SAME_REGIONS = 12,    /* loss: copies 0 and 1 differ under one sequence */
	DAXALLOC_CHECK_ENTRY_RESTORED = 13,  /* note: copy's damaged entry restored from other */
	DAXALLOC_CHECK_CHANGE_UNKNOWN = 14,  /* loss: sequence's change against sequence2 unknown */
	DAXALLOC_CHECK_COPY_UNREADABLE = 15, /* loss: copy, unreadable, may be newer than sequence */
	DAXALLOC_CHECK_ORPHANS = 16,         /* count unnamed regions of dead processes */
	/* what a report says instead of its first finding */
	DAXALLOC_CHECK_NO_VALID_COPY = 17, /* nothing to repair from; detail: its first finding's */
	DAXALLOC_CHECK_NEEDS_FORCE = 18,   /* a repair would lose count changes (first_loss) */
	DAXALLOC_CHECK_TABLE_UNREADABLE = 19, /* copy's older table does not read (media); detail */
};

/* Where a loss is seen (the "source" of a finding). */
enum daxalloc_check_source {
	DAXALLOC_CHECK_IN_COPY = 0,            /* copy */
	DAXALLOC_CHECK_IN_NEWEST = 1,          /* the newest state, at sequence */
	DAXALLOC_CHECK_IN_UNREADABLE_COPY = 2, /* copy, whose header does not read */
};

/* One finding; daxalloc_check_finding_describe() says it in words. */
struct daxalloc_check_finding {
	uint32_t struct_size; /* the library's: read what it covers */
	enum daxalloc_check_kind kind;
	enum daxalloc_check_code code;
	enum daxalloc_check_source source;
	int copy;       /* metadata copy, 0 or 1; -1: none */
	int header;     /* header copy of @copy, 0 or 1; -1: none */
	int other;      /* the header (or copy) that holds the state; -1: none */
	uint32_t index; /* table entry or journal record */
	uint32_t count;
	uint32_t format_major, format_minor;
	uint64_t sequence, sequence2;
	struct {                                  /* a region a loss names */
		char name[DAXALLOC_NAME_MAX + 1]; /* "" when unnamed */
		uint32_t pid;                     /* the owner of an unnamed one */
		uint64_t offset;
		uint64_t size;
	} region;
	/*
	 * How the metadata is damaged, in the words of the code that reads
	 * it (a message like daxalloc_errmsg()'s): valid during the callback
	 * only; NULL in a report, and for codes without one.
	 */
	const char *detail;
};

struct daxalloc_check_report {
	uint32_t struct_size; /* DAXALLOC_CHECK_REPORT_INIT */
	int active_copy;      /* copy holding the newest header: 0 or 1, -1 if neither is valid */
	uint64_t sequence;    /* its sequence number */
	bool standby_valid;   /* false after an interrupted update: harmless */
	uint32_t regions;
	uint32_t orphans;  /* unnamed regions of dead processes */
	uint32_t problems; /* what needs repair, including changes a repair would lose */
	uint32_t repaired;
	/*
	 * The first problem or loss found (code DAXALLOC_CHECK_CLEAN: none),
	 * or what stops a repair (NO_VALID_COPY, NEEDS_FORCE);
	 * daxalloc_check_report_describe() says it in words.
	 */
	struct daxalloc_check_finding first;
	struct daxalloc_check_finding first_loss; /* the loss NEEDS_FORCE names */
};
#define DAXALLOC_CHECK_REPORT_INIT .struct_size = sizeof(struct daxalloc_check_report)
/*
 * Verify the metadata on @dev without changing it, or with
 * DAXALLOC_CHECK_REPAIR rewrite both copies from the newest state and
 * reclaim orphans.  Damage to the newest state is always reported:
 * daxalloc_pool_open() refuses such a pool (-EUCLEAN), and a repair that
 * could only go back to an older state (losing acknowledged changes)
 * writes nothing unless DAXALLOC_CHECK_FORCE is given too; a damaged
 * entry that the older copy still holds is restored exactly, without
 * loss.  Returns the number of problems left (0 = clean), or -errno
 * (-ENODATA no pool, -EPROTONOSUPPORT newer format, -EXDEV changed device).
 */
int daxalloc_pool_check(struct daxalloc_dev *dev, unsigned int flags,
			struct daxalloc_check_report *report);

/*
 * daxalloc_pool_check(), calling @fn (if not NULL) with every finding as
 * it is made: every problem, every change a repair would lose (or, with
 * DAXALLOC_CHECK_FORCE, lost), and what is harmless.
 */
int daxalloc_pool_check_each(struct daxalloc_dev *dev, unsigned int flags,
			     struct daxalloc_check_report *report,
			     void (*fn)(const struct daxalloc_check_finding *finding, void *arg),
			     void *arg);
/*
 * A finding in words, one line ("copy 1 (sequence 7) was caught
 * mid-update: ..."); a code this library does not know is "unknown
 * problem N".  As snprintf(3): writes at most @len bytes including the
 * NUL, returns the length of the whole line, or -EINVAL for a NULL
 * finding or one whose struct_size is not the library's.
 */
int daxalloc_check_finding_describe(const struct daxalloc_check_finding *finding, char *buf,
				    size_t len);
/*
 * The report's first finding (.first) in words, as
 * daxalloc_check_finding_describe() ("" when clean).  NEEDS_FORCE names
 * .first_loss.  A report carries no detail: to have the metadata's own
 * words, set .first.detail and .first_loss.detail from the callback's.
 */
int daxalloc_check_report_describe(const struct daxalloc_check_report *report, char *buf, size_t len);

/* ---- pinning ---- */

/*
 * A pin hands part of a region to a consumer that reaches the memory
 * without the CPU: an IOMMU (VFIO, iommufd), an RDMA NIC, io_uring fixed
 * buffers.  The kernel holds the pages (long-term GUP) until the pin goes.
 * Every pin is recorded: a pinned region cannot be freed (-EBUSY names
 * who holds it), `daxalloc-ctl pins DEV` lists the pins of all processes,
 * closing the region or its pool unpins.  The kernel drops pins when the
 * process dies; so does the record.
 */
struct daxalloc_pin;
struct ibv_pd;
struct ibv_mr;
struct io_uring;

enum daxalloc_pin_kind {
	DAXALLOC_PIN_VFIO = 1,    /* VFIO type1 container: VFIO_IOMMU_MAP_DMA */
	DAXALLOC_PIN_IOMMUFD = 2, /* iommufd IOAS: IOMMU_IOAS_MAP (Linux >= 6.2) */
	DAXALLOC_PIN_RDMA = 3,    /* libibverbs protection domain: ibv_reg_mr */
	DAXALLOC_PIN_URING = 4,   /* io_uring fixed buffers */
};

#define DAXALLOC_PIN_READONLY (1u << 0)    /* the consumer only reads the memory */
#define DAXALLOC_PIN_IOVA_AUTO (1u << 1)   /* iommufd: the kernel picks the IOVA */
#define DAXALLOC_PIN_URING_SLOTS (1u << 2) /* io_uring: fill slots of the ring's table */

/* io_uring takes at most 1 GiB per fixed buffer: longer ranges are split. */
#define DAXALLOC_PIN_URING_BUF_MAX DAXALLOC_SIZE_1G

/* Who pins, and where.  Zero what you do not use. */
struct daxalloc_pin_target {
	uint32_t struct_size; /* DAXALLOC_PIN_TARGET_INIT */
	enum daxalloc_pin_kind kind;
	unsigned int flags; /* DAXALLOC_PIN_* */
	struct {
		int container_fd; /* after VFIO_SET_IOMMU (type1) */
		uint64_t iova;    /* IOVA of the range's first byte */
	} vfio;
	struct {
		int fd; /* an open /dev/iommu; the kernel pins
					 * the pages when a device is attached
					 * to the IOAS (at the pin if one is) */
		uint32_t ioas_id;
		uint64_t iova; /* ignored with DAXALLOC_PIN_IOVA_AUTO */
	} iommufd;
	struct {
		struct ibv_pd *pd;
		int access; /* ibv_access_flags; 0: local write,
					 * remote read and write (READONLY:
					 * remote read) */
	} rdma;
	struct {
		struct io_uring *ring;
		/*
		 * Without DAXALLOC_PIN_URING_SLOTS the pin registers the
		 * ring's buffer table itself (indexes 0..n-1; the ring must
		 * have none) and unregisters it on unpin.  With it, the pin
		 * fills slots first_index.. of a table the caller registered
		 * (io_uring_register_buffers_sparse) and empties them on unpin.
		 */
		unsigned int first_index;
	} uring;
};
/* struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = ... }; */
#define DAXALLOC_PIN_TARGET_INIT .struct_size = sizeof(struct daxalloc_pin_target)

/*
 * Pin [offset, offset+length) of @region (offsets inside the region) for
 * @target.  offset and length must be multiples of the device alignment
 * and lie inside the region (-EINVAL before any system call).  Without
 * CAP_IPC_LOCK the pin must fit under RLIMIT_MEMLOCK (-ENOMEM saying how
 * much is needed).  -EBADF when the consumer's fd is not open,
 * -EOPNOTSUPP when the kernel or this build cannot pin for that consumer,
 * -ENOENT when the region was freed through another handle.
 * The pin is recorded in the device's memory, where every process using
 * the device sees it (in any pid or mount namespace); a pin that cannot be
 * recorded is refused.  The record lasts until the unpin, or until the
 * process dies; after fork(), while a child may hold the consumer, it
 * lasts while any process of the pinner's pid namespace holds a file of
 * the consumer's kind.
 */
int daxalloc_pin(struct daxalloc_region *region, uint64_t offset, uint64_t length,
		 const struct daxalloc_pin_target *target, struct daxalloc_pin **pin);
/*
 * Unpin and set *pin to NULL.  Call it before closing the consumer (the
 * container, the ring, the protection domain).  -EINVAL for NULL or a
 * handle that is no longer a pin (already unpinned, or its region closed).
 * When the consumer refuses (or its fd was closed: the consumer may live
 * on in another process), the kernel may still hold the pages: the pin
 * stays, *pin unchanged, recorded, and its region is not freed; closing
 * the region then keeps the pin until the process exits.  VFIO and
 * iommufd pins hold their own duplicate of the consumer fd.
 */
int daxalloc_unpin(struct daxalloc_pin **pin);

enum daxalloc_pin_kind daxalloc_pin_get_kind(struct daxalloc_pin *pin);
/* "vfio", "iommufd", "rdma", "io_uring"; "unknown" otherwise. */
const char *daxalloc_pin_kind_name(enum daxalloc_pin_kind kind);
struct daxalloc_region *daxalloc_pin_get_region(struct daxalloc_pin *pin);
void *daxalloc_pin_get_address(struct daxalloc_pin *pin);
/* Offset inside the region, and length, of the pinned range. */
uint64_t daxalloc_pin_get_offset(struct daxalloc_pin *pin);
uint64_t daxalloc_pin_get_length(struct daxalloc_pin *pin);
/* Nanoseconds the kernel took to pin. */
uint64_t daxalloc_pin_get_pin_time_ns(struct daxalloc_pin *pin);
/* VFIO, iommufd: the IOVA of the first byte; UINT64_MAX otherwise. */
uint64_t daxalloc_pin_get_iova(struct daxalloc_pin *pin);
/* RDMA: the memory region and its keys; NULL / 0 otherwise. */
struct ibv_mr *daxalloc_pin_get_mr(struct daxalloc_pin *pin);
uint32_t daxalloc_pin_get_lkey(struct daxalloc_pin *pin);
uint32_t daxalloc_pin_get_rkey(struct daxalloc_pin *pin);
/*
 * io_uring: buffer i (0 <= i < count) has index first + i and covers
 * DAXALLOC_PIN_URING_BUF_MAX bytes from address + i * DAXALLOC_PIN_URING_BUF_MAX
 * (the last one the rest).  -1 / 0 for other kinds.
 */
int daxalloc_pin_get_uring_index(struct daxalloc_pin *pin);
unsigned int daxalloc_pin_get_uring_count(struct daxalloc_pin *pin);

/* Handed to callbacks: .struct_size says which members this library fills. */
struct daxalloc_pin_info {
	uint32_t struct_size;
	enum daxalloc_pin_kind kind;
	char region[DAXALLOC_NAME_MAX + 1]; /* "" when unnamed */
	uint64_t region_offset;             /* device offset of the region */
	uint64_t offset;                    /* device offset of the pinned range */
	uint64_t length;
	int pid;          /* the pinning process */
	char command[16]; /* its name (comm) */
	uint64_t since;   /* seconds since the epoch */
	/* The consumer; daxalloc_pin_info_describe() says it in words. */
	int fd;               /* VFIO container, iommufd, ring: the pinner's fd; else -1 */
	uint32_t ioas_id;     /* iommufd */
	uint64_t iova;        /* VFIO, iommufd: UINT64_MAX when not known (yet) */
	char rdma_device[64]; /* RDMA: "rxe0" */
	bool rdma_keys;       /* RDMA: lkey and rkey are known (the pin is done) */
	uint32_t lkey, rkey;
	int uring_index;          /* io_uring: the first buffer's index; else -1 */
	unsigned int uring_count; /* io_uring: buffers */
};
/*
 * The pin's consumer in words ("vfio container fd 5, iova 0x1000000"),
 * as snprintf(3): writes at most @len bytes including the NUL, returns
 * the length of the whole text, or -EINVAL for a NULL info or one whose
 * struct_size is not the library's.  A record this library cannot read
 * the consumer of (a later one's) gives the kind's name alone.
 */
int daxalloc_pin_info_describe(const struct daxalloc_pin_info *info, char *buf, size_t len);
/*
 * Calls @fn for every live pin on the pool's device, of every process
 * (of this process only for the stand-in, whose memory nobody else
 * sees), by device offset; stops at a non-zero return.
 */
int daxalloc_pool_foreach_pin(struct daxalloc_pool *pool,
			      int (*fn)(const struct daxalloc_pin_info *info, void *arg), void *arg);

/* ---- reconfiguration ---- */

/*
 * Changing a device means disabling it, which takes its memory away from
 * every user.  So before any disable these calls refuse (-EBUSY, naming
 * who) when the pin ledger lists pins of the device, when a process has
 * it open or mapped (this one included: close your own handles first),
 * when a process holds a handle that can pin memory for DMA (VFIO,
 * iommufd, RDMA verbs, io_uring with registered buffers: such pins are
 * invisible, see DAXALLOC_RECONFIG_IGNORE_DMA), and when its pool holds
 * named regions (see DAXALLOC_RECONFIG_DESTROY_DATA).  The disable itself
 * runs with a time limit ($DAXALLOC_DISABLE_TIMEOUT seconds, default 30):
 * when the kernel keeps waiting for pinned pages the call fails with
 * -ETIMEDOUT and the device is enabled again, unchanged, once the pin
 * goes.  A call that fails leaves the device as it was, or its message
 * says what state it is in and how to recover.
 *
 * Afterwards the context lists the devices afresh: pointers from
 * daxalloc_dev_get_first()/_next() taken before the call are invalid.
 * Opened devices (daxalloc_dev_open) are not affected, but describe the
 * device as it was.  Root only.
 */

/* Allow losing data: pool regions, and a pmem namespace's contents. */
#define DAXALLOC_RECONFIG_DESTROY_DATA (1u << 0)
/* Proceed although processes hold DMA handles (their pins are elsewhere). */
#define DAXALLOC_RECONFIG_IGNORE_DMA (1u << 1)

/*
 * Change the alignment of device @name ("dax0.1" or "/dev/dax0.1") to
 * @align (4K, 2M or 1G).
 * Dynamic region: disable, write the alignment, enable in devdax mode.
 * The memory stays where it is; its size must be a multiple of @align
 * (-EINVAL names the nearest valid sizes) and so must every start of its
 * memory.  A pool on it no longer fits and is erased.
 * Static region (pmem namespace): the namespace's devdax instance is
 * re-created with libndctl at @align.  That destroys the data, so it needs
 * DAXALLOC_RECONFIG_DESTROY_DATA (-EPERM without, saying the usable size
 * before and after: at 1G up to 1G goes to padding).  The device keeps
 * its name.
 * A device that is disabled gets the new alignment and stays disabled.
 */
int daxalloc_dev_set_align(struct daxalloc_ctx *ctx, const char *name, uint64_t align,
			   unsigned int flags);

/*
 * Switch device @name between the modes daxctl names: "devdax" (a device
 * to map) and "system-ram" (its memory handed to the kernel's kmem driver
 * and put online, movable, as RAM).  To system-ram: the gate above (a pool
 * with named regions needs DAXALLOC_RECONFIG_DESTROY_DATA: the kernel will
 * use the memory), then the timed disable.  Back to devdax: the memory is
 * taken offline first (-EBUSY when the kernel cannot move what it put
 * there: it stays RAM), and what looks like a pool on it is erased.
 * Already in @mode: 0.
 */
int daxalloc_dev_set_mode(struct daxalloc_ctx *ctx, const char *name, const char *mode,
			  unsigned int flags);

/*
 * Kernel dax regions (in this library a "region" is a pool allocation).
 * A dynamic dax region (hmem, CXL RAM) holds devices that can be created,
 * resized and destroyed; a static one is one pmem namespace.
 */
struct daxalloc_daxregion_info {
	uint32_t struct_size; /* DAXALLOC_DAXREGION_INFO_INIT; in callbacks, the library's */
	int id;
	enum daxalloc_region_kind kind;
	uint64_t start; /* physical address; UINT64_MAX when unknown */
	uint64_t size;
	uint64_t align;        /* the region's alignment; 0 when unknown */
	uint64_t available;    /* dynamic: bytes no device uses; static: 0 */
	uint64_t largest_free; /* largest free stretch (2M boundaries) */
	/* Free bytes in whole 1G pieces on 1G boundaries; 0 when start is unknown. */
	uint64_t available_1g;
	uint64_t largest_free_1g;
	unsigned int devices; /* devices with memory */
};
#define DAXALLOC_DAXREGION_INFO_INIT .struct_size = sizeof(struct daxalloc_daxregion_info)
/* Calls @fn for every dax region; stops at a non-zero return. */
int daxalloc_daxregion_foreach(struct daxalloc_ctx *ctx,
			       int (*fn)(const struct daxalloc_daxregion_info *info, void *arg),
			       void *arg);
/* The dynamic dax region @region_id. */
int daxalloc_daxregion_get_info(struct daxalloc_ctx *ctx, int region_id,
				struct daxalloc_daxregion_info *info);
/* Bytes a device of alignment @align can still get in dynamic region @region_id. */
int daxalloc_daxregion_get_available(struct daxalloc_ctx *ctx, int region_id, uint64_t align,
				     uint64_t *bytes);

/*
 * Create a device of @size bytes at @align in dynamic dax region
 * @region_id (-1: the first dynamic region with room) and enable it in
 * devdax mode; its name goes to @name_out.  @size must be a multiple of
 * @align and of 2M (-EINVAL names the nearest valid sizes); -ENOSPC says
 * how much room there is.  A 1G device gets memory on 1G boundaries.
 */
int daxalloc_dev_create(struct daxalloc_ctx *ctx, int region_id, uint64_t size, uint64_t align,
			char *name_out, size_t len);
/* Grow or shrink a device of a dynamic region; disables it meanwhile. */
int daxalloc_dev_resize(struct daxalloc_ctx *ctx, const char *name, uint64_t size,
			unsigned int flags);
/*
 * Destroy a device of a dynamic region, giving its memory back; for
 * "hugetlb:2M" / "hugetlb:1G", release the stand-in kept by
 * DAXALLOC_POOL_KEEP (-EBUSY while its pool holds regions, unless
 * DAXALLOC_RECONFIG_DESTROY_DATA).
 */
int daxalloc_dev_destroy(struct daxalloc_ctx *ctx, const char *name, unsigned int flags);

/* ---- vmemmap model ---- */

/*
 * What enabling a device costs in RAM: its struct pages (the memmap: one
 * 64-byte struct page per 4K page, reached through the kernel's vmemmap)
 * and the page tables that map them.  At align 2M or 1G the pages form
 * compound pages and, since Linux 5.19 when the memmap is in RAM, only
 * the first vmemmap pages of each compound page are real: the tail pages
 * share one page.  A pmem namespace made with --map=dev keeps its memmap
 * on the device instead: RAM pays nothing, the device gives up the whole
 * memmap, and nothing is deduplicated.
 */
enum daxalloc_vmemmap_row {
	DAXALLOC_VMEMMAP_NO_DEDUP = 0,    /* every struct page has its own memory */
	DAXALLOC_VMEMMAP_DEDUP_2PAGE = 1, /* 2 vmemmap pages per compound page (5.19+) */
	DAXALLOC_VMEMMAP_DEDUP_1PAGE = 2, /* 1 per compound page (the 2026 series) */
};
#define DAXALLOC_VMEMMAP_ROWS 3

struct daxalloc_vmemmap_model {
	uint32_t struct_size; /* DAXALLOC_VMEMMAP_MODEL_INIT */
	uint64_t size;        /* bytes modelled: whole @align units covering the request */
	uint64_t align;
	uint64_t base_pages;     /* 4K pages: one struct page each */
	uint64_t compound_pages; /* @align units; 0 at 4K */
	/* Bytes, indexed by enum daxalloc_vmemmap_row: */
	uint64_t struct_pages[DAXALLOC_VMEMMAP_ROWS]; /* vmemmap pages holding struct pages */
	uint64_t page_tables[DAXALLOC_VMEMMAP_ROWS];  /* page-table pages mapping them */
	uint64_t total[DAXALLOC_VMEMMAP_ROWS];        /* both: the RAM an enable takes */
};
#define DAXALLOC_VMEMMAP_MODEL_INIT .struct_size = sizeof(struct daxalloc_vmemmap_model)

/*
 * Model @size bytes at @align (4K, 2M or 1G; -EINVAL otherwise).  A size
 * that is not a multiple of @align is modelled as the whole units that
 * cover it (*model.size says how much).  Pure: no system call.
 */
int daxalloc_vmemmap_model(uint64_t size, uint64_t align, struct daxalloc_vmemmap_model *model);
/* "no_dedup", "dedup_2page", "dedup_1page"; "unknown" otherwise. */
const char *daxalloc_vmemmap_row_name(int row);
/*
 * The row that a kernel @release ("6.1.0-56-amd64"; NULL: the running
 * kernel) applies at align 2M and 1G, with the memmap in RAM or on the
 * device (at 4K every row is the same).  No release this library knows
 * carries the 1-page series: a measurement shows it.  -EINVAL when
 * @release does not start with a version.
 */
int daxalloc_vmemmap_kernel_row(const char *release, bool memmap_in_ram);
/*
 * The row whose total is nearest @measured bytes when it lies within 25%
 * or 4 MiB of it, else -ENOENT.  Equal totals (at 4K) give the lower row.
 */
int daxalloc_vmemmap_match(const struct daxalloc_vmemmap_model *model, int64_t measured);

/* How pinning (GUP) takes references on a device's pages. */
enum daxalloc_vmemmap_pin_path {
	DAXALLOC_VMEMMAP_PIN_UNKNOWN = 0,
	DAXALLOC_VMEMMAP_PIN_BASE_PAGE = 1, /* one per 4K page, even inside a compound page */
	DAXALLOC_VMEMMAP_PIN_COMPOUND = 2,  /* one per compound page */
};
/* "unknown", "base_page", "compound_page". */
const char *daxalloc_vmemmap_pin_path_name(int path);
/*
 * What is known of kernel @release (NULL: running) for devdax, or @hugetlb
 * memory: an expectation, never a verdict.
 */
int daxalloc_vmemmap_kernel_pin_path(const char *release, bool hugetlb);
/*
 * Judged from the best times to pin the same length with the same consumer
 * on device-dax at 4K and at 2M, and on hugetlb 2M pages (always one
 * reference per huge page; 0: not measured).  Per compound page a 2M pin
 * costs a fraction of a 4K one and about what hugetlb costs; per base page
 * it costs most of a 4K one and several times hugetlb.  UNKNOWN between
 * the two, or without the 4K and 2M times.
 */
int daxalloc_vmemmap_pin_verdict(uint64_t ns_4k, uint64_t ns_2m, uint64_t ns_hugetlb_2m);

/*
 * Measuring what enabling a device costs (it disables the device) and
 * timing its pin path is daxalloc-ctl's: 'daxalloc-ctl vmemmap DEV
 * --measure'.  daxalloc_vmemmap_measure() of 0.1 fails with -EOPNOTSUPP.
 */

/* ---- heap: malloc and free inside a region ------------------------------- */

/*
 * A heap of small and large objects inside a region (named or unnamed),
 * thread-safe and scalable (per-thread caches; built on oneTBB's
 * scalable allocator, whose memory pools take their memory from the
 * region).  The heap is volatile: its contents and its bookkeeping do not
 * survive the heap, the region or the process, and a heap made on a named
 * region starts empty whatever the region held.  Keep what must persist
 * in named regions themselves.  Linking libdaxalloc never replaces the
 * process's malloc: only the daxalloc_heap_* calls use the heap (the
 * preload library libdaxalloc-preload.so moves a whole program's heap).
 *
 * The region must stay open while the heap lives; one heap per region.
 * The heap's memory is the region's, shared like any device mapping: a
 * child made by fork() shares it with the parent, so it must not use the
 * heap unless the heap was made with DAXALLOC_HEAP_FORK_COPY.
 */
struct daxalloc_heap;

/*
 * fork(): the child gets a private copy of the heap (DRAM, the part of the
 * region the heap has used so far), taken while the parent waits in fork();
 * the parent keeps the region.  Threads of the parent other than the one
 * forking should not write heap memory meanwhile (as for any fork of a
 * threaded program, only the forking thread is copied).
 */
#define DAXALLOC_HEAP_FORK_COPY (1u << 0)
/*
 * Count the live objects and their bytes (in_use, objects and
 * fragmentation in daxalloc_heap_get_stats()).  The count costs about as
 * much as a small malloc/free pair itself, so it is off by default.
 */
#define DAXALLOC_HEAP_COUNT (1u << 1)

/* -EBUSY if the region already has a heap, -EINVAL for unknown flags. */
int daxalloc_heap_create(struct daxalloc_region *region, unsigned int flags,
			 struct daxalloc_heap **heap);
/* Frees every object at once; the region stays as it is. */
void daxalloc_heap_destroy(struct daxalloc_heap **heap);

/*
 * As malloc(3) and friends; NULL (errno ENOMEM) when the region is full.
 * Sizes of 0 return a unique pointer.  aligned_alloc takes any power of
 * two as @alignment.  realloc(p, 0) frees p and returns NULL.  Freeing a
 * pointer the heap did not return aborts the process with a message, as
 * the C library does.
 */
void *daxalloc_heap_malloc(struct daxalloc_heap *heap, size_t size);
void *daxalloc_heap_calloc(struct daxalloc_heap *heap, size_t nmemb, size_t size);
void *daxalloc_heap_realloc(struct daxalloc_heap *heap, void *ptr, size_t size);
void *daxalloc_heap_aligned_alloc(struct daxalloc_heap *heap, size_t alignment, size_t size);
void daxalloc_heap_free(struct daxalloc_heap *heap, void *ptr);
/* Bytes usable at @ptr (at least what was asked); 0 for NULL. */
size_t daxalloc_heap_usable_size(struct daxalloc_heap *heap, void *ptr);
/* True when @ptr points into the heap's region. */
bool daxalloc_heap_owns(struct daxalloc_heap *heap, const void *ptr);
struct daxalloc_region *daxalloc_heap_get_region(struct daxalloc_heap *heap);

struct daxalloc_heap_stats {
	uint32_t struct_size; /* DAXALLOC_HEAP_STATS_INIT */
	uint64_t size;        /* the region's size: the most the heap can map */
	uint64_t mapped;      /* bytes of the region the allocator has taken */
	uint64_t in_use;      /* usable bytes of the live objects (DAXALLOC_HEAP_COUNT, else 0) */
	uint64_t objects;     /* live objects (DAXALLOC_HEAP_COUNT, else 0) */
	double fragmentation; /* 1 - in_use / mapped; 0 when nothing is mapped; -1: not counted */
};
#define DAXALLOC_HEAP_STATS_INIT .struct_size = sizeof(struct daxalloc_heap_stats)
int daxalloc_heap_get_stats(struct daxalloc_heap *heap, struct daxalloc_heap_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* DAXALLOC_H */
