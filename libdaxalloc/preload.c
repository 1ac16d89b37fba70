// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdaxalloc-preload.so: an unmodified program's heap on a device.
 *
 *   DAXALLOC_HEAP_DEVICE=dax0.0 LD_PRELOAD=libdaxalloc-preload.so program
 *
 * Each process takes an unnamed region of the device's pool (so a program
 * that forks and execs gets one region per process, and the pool reclaims
 * each when its process dies) and puts a daxalloc heap in it.  malloc and
 * friends go there; what the policy leaves out, what came before the heap
 * was ready, and what the device cannot hold go to the allocator the
 * program would have used otherwise (the next definition of malloc: glibc,
 * or the jemalloc a program links).  free() tells the two apart by address.
 *
 * Environment (read once, at start):
 *   DAXALLOC_HEAP_DEVICE     device: dax0.0, /dev/dax0.0, hugetlb:2M:4G
 *                            (default: the library's default device).  A
 *                            devdax device must hold a pool (daxalloc-ctl
 *                            format); the stand-in gets one of its own.
 *   DAXALLOC_HEAP_SIZE       this process's region (default: 1G, or the
 *                            largest free extent if smaller)
 *   DAXALLOC_HEAP_THRESHOLD  smallest allocation put on the device
 *                            (default 0: all)
 *   DAXALLOC_HEAP_FULL       dram (default): when the region is full, go on
 *                            in DRAM and say so once; fail: malloc returns
 *                            NULL (ENOMEM)
 *   DAXALLOC_HEAP_STATS      1: one line of statistics on stderr at exit
 *
 * fork(): the child gets a private DRAM copy of the heap (see
 * DAXALLOC_HEAP_FORK_COPY); exec starts afresh with a new region.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daxalloc.h"
#include "heap.h"

#define PUBLIC __attribute__((visibility("default")))

enum { UNINIT, STARTING, READY, NO_HEAP };

static _Atomic int state = UNINIT;
static struct daxalloc_heap *heap;
static size_t threshold;
static bool fail_when_full;
static bool print_stats;
static char device_name[128];
static _Atomic bool said_full;
static _Atomic unsigned long fallbacks; /* allocations sent to DRAM when full */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

/* Set while this thread is inside the library or the allocator. */
static __thread int busy __attribute__((tls_model("initial-exec")));

/* ---- the next allocator ----------------------------------------------------- */

static void *(*next_malloc)(size_t);
static void (*next_free)(void *);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static int (*next_posix_memalign)(void **, size_t, size_t);
static size_t (*next_usable_size)(void *);

/*
 * While dlsym() looks them up it may allocate: a small static area serves
 * then.  Its objects are never freed (free ignores them).
 */
static char boot_area[64 << 10] __attribute__((aligned(64)));
static _Atomic size_t boot_used;

static void *boot_alloc(size_t size)
{
	size_t n = (size + 16 + 15) & ~(size_t)15; /* 16 bytes: the size */
	size_t off = atomic_fetch_add(&boot_used, n);

	if (off + n > sizeof(boot_area) || n < size)
		return NULL;
	*(size_t *)(boot_area + off) = size;
	return boot_area + off + 16;
}

static inline bool is_boot(const void *p)
{
	return (const char *)p >= boot_area && (const char *)p < boot_area + sizeof(boot_area);
}

static void resolve_next(void)
{
	static _Atomic int resolving;

	if (next_malloc || atomic_exchange(&resolving, 1))
		return;
	next_free = dlsym(RTLD_NEXT, "free");
	next_calloc = dlsym(RTLD_NEXT, "calloc");
	next_realloc = dlsym(RTLD_NEXT, "realloc");
	next_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	next_usable_size = dlsym(RTLD_NEXT, "malloc_usable_size");
	next_malloc = dlsym(RTLD_NEXT, "malloc");
}

static void *dram_malloc(size_t size)
{
	resolve_next();
	return next_malloc ? next_malloc(size) : boot_alloc(size);
}

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, n) < 0)
		return;
}

/* ---- start ------------------------------------------------------------------- */

static int env_size(const char *var, uint64_t *out)
{
	const char *s = secure_getenv(var);

	if (!s || !*s)
		return 0;
	if (daxalloc_size_parse(s, out) < 0) {
		say("daxalloc-preload: %s='%s': %s", var, s, daxalloc_errmsg());
		return -1;
	}
	return 1;
}

static void start_heap(void)
{
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *region = NULL;
	struct daxalloc_pool_stats st = { DAXALLOC_POOL_STATS_INIT };
	uint64_t size = DAXALLOC_SIZE_1G, thr = 0;
	const char *dname = secure_getenv("DAXALLOC_HEAP_DEVICE");
	const char *full = secure_getenv("DAXALLOC_HEAP_FULL");
	const char *stats = secure_getenv("DAXALLOC_HEAP_STATS");
	int have_size, rc;

	print_stats = stats && *stats && strcmp(stats, "0") != 0;
	if (full && strcmp(full, "fail") == 0)
		fail_when_full = true;
	else if (full && *full && strcmp(full, "dram") != 0)
		say("daxalloc-preload: DAXALLOC_HEAP_FULL='%s': neither dram nor fail; "
		    "using dram",
		    full);
	if (env_size("DAXALLOC_HEAP_THRESHOLD", &thr) < 0)
		goto fail;
	threshold = thr;
	have_size = env_size("DAXALLOC_HEAP_SIZE", &size);
	if (have_size < 0)
		goto fail;

	rc = daxalloc_ctx_new(&ctx);
	if (rc == 0)
		rc = daxalloc_dev_open(ctx, dname && *dname ? dname : NULL, &dev);
	if (rc < 0)
		goto fail;
	snprintf(device_name, sizeof(device_name), "%s", daxalloc_dev_get_name(dev));
	rc = daxalloc_pool_open(dev, 0, &pool);
	if (rc == -ENODATA && strncmp(device_name, "hugetlb:", 8) == 0)
		rc = daxalloc_pool_create(dev, 0, &pool); /* this process's own memfd */
	if (rc == -ENODATA) {
		say("daxalloc-preload: %s holds no pool: make one with 'daxalloc-ctl format %s' "
		    "(it erases the device)",
		    device_name, device_name);
		goto out;
	}
	if (rc < 0)
		goto fail;
	if (daxalloc_pool_get_stats(pool, &st) == 0 && !have_size && st.largest_free < size)
		size = st.largest_free;
	rc = daxalloc_alloc(pool, size, NULL, 0, &region);
	if (rc < 0)
		goto fail;
	/* counting costs as much as a small malloc: only when the numbers are wanted */
	rc = daxalloc_heap_create(region,
				  DAXALLOC_HEAP_FORK_COPY | (print_stats ? DAXALLOC_HEAP_COUNT : 0),
				  &heap);
	if (rc < 0)
		goto fail;
	/* The region, pool, device and context stay for the life of the process. */
	return;
fail:
	say("daxalloc-preload: no heap on %s: %s", dname && *dname ? dname : "the default device",
	    daxalloc_errmsg());
out:
	say("daxalloc-preload: the heap stays in DRAM");
	daxalloc_region_close(&region);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
}

static void start(void)
{
	int expect = UNINIT;

	if (!atomic_compare_exchange_strong(&state, &expect, STARTING))
		return;
	resolve_next();
	pthread_mutex_lock(&init_lock);
	busy++;
	start_heap();
	busy--;
	pthread_mutex_unlock(&init_lock);
	atomic_store(&state, heap ? READY : NO_HEAP);
}

__attribute__((constructor)) static void preload_init(void)
{
	start();
}

__attribute__((destructor)) static void preload_fini(void)
{
	struct daxalloc_heap_stats st = { DAXALLOC_HEAP_STATS_INIT };

	if (!print_stats || !heap || daxalloc_heap_get_stats(heap, &st) < 0)
		return;
	say("daxalloc-preload: pid %d heap on %s: size %llu, mapped %llu, in use %llu in %llu "
	    "objects, %lu allocations in DRAM for lack of room",
	    (int)getpid(), device_name, (unsigned long long)st.size, (unsigned long long)st.mapped,
	    (unsigned long long)st.in_use, (unsigned long long)st.objects,
	    (unsigned long)atomic_load(&fallbacks));
}

/* ---- the allocator ------------------------------------------------------------ */

/* Should an allocation of @size go to the device?  Starts the heap if need be. */
static inline bool to_device(size_t size)
{
	int s = atomic_load_explicit(&state, memory_order_acquire);

	if (__builtin_expect(s == UNINIT, 0) && !busy) {
		start();
		s = atomic_load(&state);
	}
	return s == READY && !busy && size >= threshold;
}

static inline bool ours(const void *p)
{
	return heap && daxalloc_heap_owns(heap, p);
}

/* The device is full: DRAM (said once) or ENOMEM. */
static void *when_full(size_t size, size_t align)
{
	void *p = NULL;

	if (!atomic_exchange(&said_full, true))
		say("daxalloc-preload: the heap on %s is full (%zu bytes): %s", device_name,
		    heap_size(heap),
		    fail_when_full ? "allocations that do not fit fail (DAXALLOC_HEAP_FULL=fail)" :
				     "what does not fit goes to DRAM from now on");
	if (fail_when_full) {
		errno = ENOMEM;
		return NULL;
	}
	atomic_fetch_add(&fallbacks, 1);
	if (align <= 16)
		return next_malloc(size);
	if (next_posix_memalign(&p, align, size) != 0)
		return NULL;
	return p;
}

PUBLIC void *malloc(size_t size)
{
	void *p;

	if (!to_device(size))
		return dram_malloc(size);
	busy++;
	p = daxalloc_heap_malloc(heap, size);
	busy--;
	return p ? p : when_full(size, 0);
}

PUBLIC void free(void *ptr)
{
	if (!ptr || is_boot(ptr))
		return;
	if (ours(ptr)) {
		busy++;
		daxalloc_heap_free(heap, ptr);
		busy--;
		return;
	}
	resolve_next();
	if (next_free)
		next_free(ptr);
}

PUBLIC void *calloc(size_t nmemb, size_t size)
{
	size_t n;
	void *p;

	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	if (!to_device(n)) {
		resolve_next();
		if (!next_calloc) {
			p = boot_alloc(n); /* static: zero */
			return p;
		}
		return next_calloc(nmemb, size);
	}
	busy++;
	p = daxalloc_heap_calloc(heap, nmemb, size);
	busy--;
	if (!p && (p = when_full(n, 0)))
		memset(p, 0, n);
	return p;
}

static size_t usable(void *ptr)
{
	size_t n;

	if (is_boot(ptr))
		return *(size_t *)((char *)ptr - 16);
	if (ours(ptr)) {
		busy++;
		n = daxalloc_heap_usable_size(heap, ptr);
		busy--;
		return n;
	}
	resolve_next();
	return next_usable_size ? next_usable_size(ptr) : 0;
}

/* Move @ptr's contents to a new object of @size made by malloc (above). */
static void *move(void *ptr, size_t size)
{
	size_t old = usable(ptr);
	void *q = malloc(size);

	if (!q)
		return NULL;
	memcpy(q, ptr, old < size ? old : size);
	free(ptr);
	return q;
}

PUBLIC void *realloc(void *ptr, size_t size)
{
	void *q;

	if (!ptr)
		return malloc(size);
	if (size == 0) {
		free(ptr);
		return NULL;
	}
	if (is_boot(ptr))
		return move(ptr, size);
	if (ours(ptr)) {
		busy++;
		q = daxalloc_heap_realloc(heap, ptr, size);
		busy--;
		if (q)
			return q;
		if (fail_when_full) {
			when_full(size, 0);
			return NULL;
		}
		return move(ptr, size); /* to DRAM: the device is full */
	}
	/* A DRAM object that grows past the threshold moves to the device. */
	if (to_device(size) && !atomic_load(&said_full) && usable(ptr) < size)
		return move(ptr, size);
	resolve_next();
	return next_realloc(ptr, size);
}

PUBLIC void *reallocarray(void *ptr, size_t nmemb, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(ptr, n);
}

static void *aligned(size_t align, size_t size)
{
	void *p = NULL;

	if (!to_device(size)) {
		resolve_next();
		if (!next_posix_memalign || next_posix_memalign(&p, align, size) != 0)
			return NULL;
		return p;
	}
	busy++;
	p = daxalloc_heap_aligned_alloc(heap, align, size);
	busy--;
	return p ? p : when_full(size, align);
}

PUBLIC int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	p = aligned(align, size);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

PUBLIC void *aligned_alloc(size_t align, size_t size)
{
	if (align == 0 || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	return aligned(align, size);
}

PUBLIC void *memalign(size_t align, size_t size)
{
	return aligned_alloc(align, size);
}

PUBLIC void *valloc(size_t size)
{
	return aligned(sysconf(_SC_PAGESIZE), size);
}

PUBLIC void *pvalloc(size_t size)
{
	size_t page = sysconf(_SC_PAGESIZE);

	return aligned(page, (size + page - 1) & ~(page - 1));
}

PUBLIC size_t malloc_usable_size(void *ptr)
{
	return ptr ? usable(ptr) : 0;
}

/*
 * C++: libstdc++'s operator new calls malloc already; a program that links
 * another allocator (Debian's redis-server links jemalloc, which defines
 * operator new) would keep its C++ objects there.  On failure the next
 * operator new runs, which calls malloc again and throws std::bad_alloc.
 */
PUBLIC void *_Znwm(size_t size)
{
	void *p = malloc(size);
	void *(*next)(size_t);

	if (p)
		return p;
	next = dlsym(RTLD_NEXT, "_Znwm");
	return next ? next(size) : NULL;
}

PUBLIC void *_Znam(size_t size)
{
	return _Znwm(size);
}

PUBLIC void *_ZnwmRKSt9nothrow_t(size_t size, const void *nt)
{
	return malloc(size);
}

PUBLIC void *_ZnamRKSt9nothrow_t(size_t size, const void *nt)
{
	return malloc(size);
}

PUBLIC void _ZdlPv(void *p)
{
	free(p);
}

PUBLIC void _ZdaPv(void *p)
{
	free(p);
}

PUBLIC void _ZdlPvm(void *p, size_t n)
{
	free(p);
}

PUBLIC void _ZdaPvm(void *p, size_t n)
{
	free(p);
}

PUBLIC void _ZdlPvRKSt9nothrow_t(void *p, const void *nt)
{
	free(p);
}

PUBLIC void _ZdaPvRKSt9nothrow_t(void *p, const void *nt)
{
	free(p);
}
