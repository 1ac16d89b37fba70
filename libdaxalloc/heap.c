// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A heap inside a region: malloc/free of small objects on device memory.
 *
 * The allocator is oneTBB's scalable allocator (libtbbmalloc.so.2), through
 * its memory-pool interface (rml::pool_*): a pool takes its memory from a
 * callback, here a bump pointer over the region, and keeps per-thread
 * caches of its own.  Why this one, measured on Debian 12 (malloc/free
 * pairs per second against glibc, same run, 1-2 threads):
 *
 *  - memkind's fixed kinds (memkind_create_fixed, libmemkind 1.14): about
 *    0.1x glibc.  memkind gives kinds other than its static ones no thread
 *    cache, so every call takes the arena's mutex.  Upstream memkind is
 *    also no longer developed.
 *  - jemalloc arenas with extent hooks: Debian's libjemalloc2 exports
 *    unprefixed malloc, free, operator new...: linking it would replace the
 *    malloc of every program that links libdaxalloc.  Loading it privately
 *    (dlopen RTLD_LOCAL) fails: it is built with initial-exec TLS (2.6 KB of
 *    static TLS, "cannot allocate memory in static TLS block").
 *  - tbbmalloc: maintained (oneTBB; oneAPI UMF's "scalable pool" is the
 *    same pool interface), exports only scalable_* and rml::pool_* (no
 *    malloc: only libtbbmalloc_proxy, which we never link, replaces it),
 *    no static TLS, depends on nothing but libc; thread caches per pool.
 *
 * The pool interface is C++ (namespace rml); its functions take and return
 * plain pointers and integers, so they are declared here by their symbol
 * names, which are part of libtbbmalloc.so.2's ABI.
 *
 * The heap is volatile: the pool's bookkeeping lives in DRAM and in the
 * region, and means nothing once the pool is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "private.h"
#include "heap.h"

/*
 * ---- libtbbmalloc's pool interface (oneapi/tbb/scalable_allocator.h) ----
 * malloc and free are called through the GOT (noplt), not a PLT stub: one
 * jump less on every pair.
 */
#if __has_attribute(noplt)
#define NOPLT __attribute__((noplt))
#else
#define NOPLT /* clang: a PLT stub it is */
#endif

struct rml_pool;
struct rml_policy {
	void *(*alloc)(intptr_t pool_id, size_t *bytes); /* size_t &bytes */
	int (*free)(intptr_t pool_id, void *ptr, size_t bytes);
	size_t granularity;
	int version; /* TBBMALLOC_POOL_VERSION = 1 */
	unsigned fixed_pool : 1, keep_all_memory : 1, reserved : 30;
};

/* clang-format off */
int rml_pool_create_v1(intptr_t id, const struct rml_policy *policy, struct rml_pool **pool)
	__asm__("_ZN3rml14pool_create_v1ElPKNS_13MemPoolPolicyEPPNS_10MemoryPoolE");
bool rml_pool_destroy(struct rml_pool *pool) __asm__("_ZN3rml12pool_destroyEPNS_10MemoryPoolE");
void *rml_pool_malloc(struct rml_pool *pool, size_t size)
	__asm__("_ZN3rml11pool_mallocEPNS_10MemoryPoolEm") NOPLT;
void *rml_pool_realloc(struct rml_pool *pool, void *ptr, size_t size)
	__asm__("_ZN3rml12pool_reallocEPNS_10MemoryPoolEPvm");
void *rml_pool_aligned_malloc(struct rml_pool *pool, size_t size, size_t align)
	__asm__("_ZN3rml19pool_aligned_mallocEPNS_10MemoryPoolEmm");
bool rml_pool_free(struct rml_pool *pool, void *ptr) __asm__("_ZN3rml9pool_freeEPNS_10MemoryPoolEPv")
	NOPLT;
size_t rml_pool_msize(struct rml_pool *pool, void *ptr)
	__asm__("_ZN3rml10pool_msizeEPNS_10MemoryPoolEPv");
/* clang-format on */

/* ---- the heap ------------------------------------------------------------ */

/*
 * Live bytes and objects are counted in stripes: each of the first
 * NSTRIPES - 1 threads of the process owns one (plain loads and stores, no
 * locked instruction on the fast path); later threads share the last one.
 */
#define NSTRIPES 64
struct stripe {
	_Atomic int64_t bytes;
	_Atomic int64_t objects;
	char pad[64 - 2 * sizeof(int64_t)];
};

struct daxalloc_heap {
	struct stripe stripes[NSTRIPES]; /* first: cache-line aligned */
	char *base;
	size_t size;
	_Atomic size_t top; /* bytes handed to the pool so far */
	unsigned int flags;
	uint64_t gen;           /* unique per heap: stale caches see a new one */
	_Atomic uint8_t *marks; /* per 4 KiB: class of our large object there */
	struct rml_pool *pool;
	struct daxalloc_region *region;
	struct daxalloc_heap *next; /* in the list of all heaps */
};

/* Every heap of the process: no two on one range, and the fork handlers. */
static pthread_mutex_t heaps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct daxalloc_heap *heaps;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static int fork_pipe[2] = { -1, -1 };

static _Atomic unsigned int next_stripe;
static __thread unsigned int my_stripe __attribute__((tls_model("initial-exec"))) = UINT32_MAX;

static inline void count(struct daxalloc_heap *h, int64_t bytes, int64_t objects)
{
	unsigned int i = my_stripe;
	struct stripe *s;

	if (__builtin_expect(i == UINT32_MAX, 0)) {
		i = atomic_fetch_add_explicit(&next_stripe, 1, memory_order_relaxed);
		my_stripe = i = i < NSTRIPES - 1 ? i : NSTRIPES - 1;
	}
	s = &h->stripes[i];
	if (__builtin_expect(i < NSTRIPES - 1, 1)) { /* ours alone */
		atomic_store_explicit(&s->bytes,
				      atomic_load_explicit(&s->bytes, memory_order_relaxed) + bytes,
				      memory_order_relaxed);
		atomic_store_explicit(&s->objects,
				      atomic_load_explicit(&s->objects, memory_order_relaxed) +
					      objects,
				      memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&s->bytes, bytes, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->objects, objects, memory_order_relaxed);
	}
}

/*
 * ---- the per-thread cache of large objects --------------------------------
 * tbbmalloc takes objects above 8064 bytes as large, and a thread keeps at
 * most 32 freed ones (LocalLOCImpl<8,32>, compiled in, no setting): a
 * thread freeing more at a time sends the rest through the pool's shared
 * cache, at about half of glibc's pairs per second.  So the heap keeps its
 * own: per thread and heap, up to CACHE_BYTES of freed large objects up to
 * 64 KiB, in lists by 4 KiB class linked through the objects themselves.
 * A large malloc asks the pool for its class's full size, so any object of
 * a class serves any request of it, page-aligned, so that a free can tell
 * such objects from nearly all others by the address alone.
 *
 * Which pointers are such objects: marks, one byte per 4 KiB of the heap,
 * holding the class of the large object starting there; set while the
 * object is ours (in use or cached), cleared before it goes back to the
 * pool.  Without the alignment (tbbmalloc spreads large objects over the
 * page in steps of 64 bytes) every free of a 64-byte object read a mark,
 * which cost 16 B and 64 B pairs 2-3%.
 *
 * A cache names its heap by address and generation: a heap destroyed and
 * another created at the same address is seen as new and the old objects
 * are dropped, never freed into the new pool.  A cache is flushed into its
 * pool when its thread exits or gives its slot to another heap, both under
 * heaps_lock and only if the heap is still listed; and when a malloc of
 * its heap finds the heap full.
 */
#define LARGE_MIN 8065 /* tbbmalloc's first large size */
#define LARGE_MAX (64 * 1024)
#define CLASS_SHIFT 12
#define NCLASS ((LARGE_MAX >> CLASS_SHIFT) + 1)
#define CACHE_BYTES (4u << 20) /* per thread and heap: 64 of 64 KiB */
#define NSLOT 4                /* heaps a thread caches for at once */
#define PAGE_MASK 4095

struct tslot {
	struct daxalloc_heap *heap; /* only compared unless gen matches */
	uint64_t gen;
	size_t bytes;
	void *list[NCLASS];
};

struct tcache {
	struct tslot slot[NSLOT];
};

#define TCACHE_GONE ((struct tcache *)1) /* thread exiting: no cache */
static __thread struct tcache *my_cache __attribute__((tls_model("initial-exec")));
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t next_gen = 1;

static inline bool large(size_t size)
{
	return size - LARGE_MIN <= LARGE_MAX - LARGE_MIN;
}

static inline unsigned int class_of(size_t size)
{
	return (unsigned int)((size + (1u << CLASS_SHIFT) - 1) >> CLASS_SHIFT);
}

static inline void mark_set(struct daxalloc_heap *h, void *p, unsigned int cls)
{
	size_t off = (char *)p - h->base;

	if (!(off & PAGE_MASK))
		atomic_store_explicit(&h->marks[off >> CLASS_SHIFT], (uint8_t)cls,
				      memory_order_relaxed);
}

static inline void mark_clear(struct daxalloc_heap *h, void *p)
{
	atomic_store_explicit(&h->marks[((char *)p - h->base) >> CLASS_SHIFT], 0,
			      memory_order_relaxed);
}

/* The class of a large object of ours at @off, 0 if it is not one. */
static inline unsigned int marked(const struct daxalloc_heap *h, size_t off)
{
	if (off & PAGE_MASK) /* nearly every small object: no load */
		return 0;
	return atomic_load_explicit(&h->marks[off >> CLASS_SHIFT], memory_order_relaxed);
}

/* Every object of @s back into the pool of @h (alive: the caller knows). */
static void slot_flush(struct tslot *s, struct daxalloc_heap *h)
{
	for (unsigned int c = 0; c < NCLASS; c++) {
		while (s->list[c]) {
			void *p = s->list[c];

			s->list[c] = *(void **)p;
			mark_clear(h, p);
			rml_pool_free(h->pool, p);
		}
	}
	s->bytes = 0;
}

/* Flush @s into its heap if that heap is still listed, else drop it. */
static void slot_release(struct tslot *s)
{
	struct daxalloc_heap *h;

	if (!s->heap)
		return;
	pthread_mutex_lock(&heaps_lock);
	for (h = heaps; h; h = h->next)
		if (h == s->heap && h->gen == s->gen)
			break;
	if (h)
		slot_flush(s, h); /* destroy waits for heaps_lock */
	pthread_mutex_unlock(&heaps_lock);
	memset(s, 0, sizeof(*s));
}

static void cache_thread_exit(void *arg)
{
	struct tcache *tc = arg;

	my_cache = TCACHE_GONE;
	for (int i = 0; i < NSLOT; i++)
		slot_release(&tc->slot[i]);
	munmap(tc, sizeof(*tc));
}

static void cache_key_create(void)
{
	if (pthread_key_create(&cache_key, cache_thread_exit))
		cache_key = (pthread_key_t)-1;
}

/* This thread's slot for @h, NULL if none; @claim: take one for it. */
static struct tslot *slot_find(struct daxalloc_heap *h, bool claim)
{
	struct tcache *tc = my_cache;
	struct tslot *s, *free_slot = NULL;

	if (__builtin_expect(tc != NULL && tc != TCACHE_GONE, 1)) {
		for (s = tc->slot; s < tc->slot + NSLOT; s++) {
			if (s->heap == h) {
				if (__builtin_expect(s->gen == h->gen, 1))
					return s;
				memset(s, 0, sizeof(*s)); /* its heap was destroyed */
			}
			if (!s->heap && !free_slot)
				free_slot = s;
		}
	}
	if (!claim || tc == TCACHE_GONE)
		return NULL;
	if (!tc) {
		/* mmap, not malloc: the preload library's malloc is this heap. */
		tc = mmap(NULL, sizeof(*tc), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
		if (tc == MAP_FAILED)
			return NULL;
		pthread_once(&cache_once, cache_key_create);
		if (cache_key == (pthread_key_t)-1 || pthread_setspecific(cache_key, tc)) {
			munmap(tc, sizeof(*tc));
			return NULL;
		}
		my_cache = tc;
		free_slot = tc->slot;
	}
	if (!free_slot) {
		free_slot = &tc->slot[h->gen % NSLOT];
		slot_release(free_slot);
	}
	free_slot->heap = h;
	free_slot->gen = h->gen;
	return free_slot;
}

/* A malloc failed: give this thread's cached objects of @h back; any? */
static bool cache_flush_mine(struct daxalloc_heap *h)
{
	struct tslot *s = slot_find(h, false);

	if (!s || !s->bytes)
		return false;
	slot_flush(s, h);
	return true;
}

/* The pool asks for memory: the next @bytes of the region, page-aligned. */
static void *pool_take(intptr_t id, size_t *bytes)
{
	struct daxalloc_heap *h = (struct daxalloc_heap *)id;
	size_t page = 4096, want = (*bytes + page - 1) & ~(page - 1);
	size_t top = atomic_load(&h->top);

	do {
		if (want > h->size - top)
			return NULL;
	} while (!atomic_compare_exchange_weak(&h->top, &top, top + want));
	*bytes = want;
	return h->base + top;
}

/* With keep_all_memory the pool gives memory back only when destroyed. */
static int pool_give(intptr_t id, void *ptr, size_t bytes)
{
	return 0;
}

/*
 * fork() with DAXALLOC_HEAP_FORK_COPY: the child replaces each such heap's
 * range by a private anonymous copy of its used part; the parent waits in
 * fork() until the child has copied (a pipe the child closes).
 */
static void fork_prepare(void)
{
	struct daxalloc_heap *h;

	pthread_mutex_lock(&heaps_lock);
	for (h = heaps; h; h = h->next)
		if (h->flags & DAXALLOC_HEAP_FORK_COPY)
			break;
	if (h && pipe2(fork_pipe, O_CLOEXEC) < 0)
		fork_pipe[0] = fork_pipe[1] = -1;
}

static void fork_parent(void)
{
	char c;

	if (fork_pipe[0] >= 0) {
		close(fork_pipe[1]);
		/* EOF once the child has copied (or died). */
		while (read(fork_pipe[0], &c, 1) < 0 && errno == EINTR)
			;
		close(fork_pipe[0]);
		fork_pipe[0] = fork_pipe[1] = -1;
	}
	pthread_mutex_unlock(&heaps_lock);
}

static void fork_child(void)
{
	/*
	 * fork() gives the child no page tables for a shared device mapping,
	 * and a process with transparent huge pages off (inherited) gets no
	 * device-dax faults (see map_prefault()): back on for the copy only.
	 */
	bool thp_off = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1;
	struct daxalloc_heap *h;
	void *copy;

	if (thp_off)
		prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
	for (h = heaps; h; h = h->next) {
		if (!(h->flags & DAXALLOC_HEAP_FORK_COPY))
			continue;
		copy = mmap(NULL, h->size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (copy == MAP_FAILED) {
			dprintf(2,
				"daxalloc: fork: no memory for the child's copy of its heap "
				"(%zu bytes): %s\n",
				heap_mapped(h), strerror(errno));
			abort();
		}
		memcpy(copy, h->base, atomic_load(&h->top));
		if (mremap(copy, h->size, h->size, MREMAP_MAYMOVE | MREMAP_FIXED, h->base) ==
		    MAP_FAILED) {
			dprintf(2,
				"daxalloc: fork: cannot put the child's copy of its heap in "
				"place: %s\n",
				strerror(errno));
			abort();
		}
	}
	if (thp_off)
		prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	if (fork_pipe[0] >= 0) {
		close(fork_pipe[0]);
		close(fork_pipe[1]);
		fork_pipe[0] = fork_pipe[1] = -1;
	}
	pthread_mutex_init(&heaps_lock, NULL);
}

static void register_atfork(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

int heap_create_range(void *base, size_t size, unsigned int flags, struct daxalloc_heap **out)
{
	struct rml_policy policy = {
		.alloc = pool_take,
		.free = pool_give,
		.version = 1,
		.keep_all_memory = 1,
	};
	struct daxalloc_heap *h, *o;
	int rc;

	if (!out || !base || !size)
		return daxalloc_err(EINVAL, "heap: no memory given");
	*out = NULL;
	if (flags & ~(DAXALLOC_HEAP_FORK_COPY | DAXALLOC_HEAP_COUNT))
		return daxalloc_err(EINVAL, "heap: unknown flags 0x%x", flags);
	if ((uintptr_t)base % 4096 || size % 4096)
		return daxalloc_err(EINVAL, "heap: %p + %zu is not page-aligned", base, size);
	if (posix_memalign((void **)&h, 64, sizeof(*h)))
		return daxalloc_err(ENOMEM, "heap: out of memory");
	memset(h, 0, sizeof(*h));
	h->base = base;
	h->size = size;
	h->flags = flags;
	h->gen = atomic_fetch_add(&next_gen, 1);
	h->marks = mmap(NULL, (size >> CLASS_SHIFT) * sizeof(*h->marks), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (h->marks == MAP_FAILED) {
		free(h);
		return daxalloc_err(ENOMEM, "heap: no memory for the marks of %zu bytes", size);
	}
	pthread_mutex_lock(&heaps_lock);
	for (o = heaps; o; o = o->next) {
		if (h->base < o->base + o->size && o->base < h->base + h->size) {
			pthread_mutex_unlock(&heaps_lock);
			munmap(h->marks, (size >> CLASS_SHIFT) * sizeof(*h->marks));
			free(h);
			return daxalloc_err(EBUSY, "heap: the region at %p already has a heap", base);
		}
	}
	rc = rml_pool_create_v1((intptr_t)h, &policy, &h->pool);
	if (rc != 0 || !h->pool) {
		pthread_mutex_unlock(&heaps_lock);
		munmap(h->marks, (size >> CLASS_SHIFT) * sizeof(*h->marks));
		free(h);
		return daxalloc_err(ENOMEM, "heap: the allocator refused the pool (rml error %d)",
				    rc);
	}
	h->next = heaps;
	heaps = h;
	pthread_mutex_unlock(&heaps_lock);
	if (flags & DAXALLOC_HEAP_FORK_COPY)
		pthread_once(&atfork_once, register_atfork);
	*out = h;
	return 0;
}

DAXALLOC_EXPORT int daxalloc_heap_create(struct daxalloc_region *region, unsigned int flags,
					 struct daxalloc_heap **heap)
{
	API_CALL(region_ctx(region));
	int rc;

	if (!heap)
		return daxalloc_err(EINVAL, "heap: no place for the result");
	*heap = NULL;
	if (!region || !daxalloc_region_get_address(region))
		return daxalloc_err(EINVAL, "heap: no region (or its pool was closed)");
	/*
	 * Fault in the whole region now: a program may turn transparent huge
	 * pages off after it started (redis-server does), and from then on the
	 * kernel would refuse the heap's device-dax pages not touched yet.
	 */
	rc = map_prefault(daxalloc_pool_get_dev(daxalloc_region_get_pool(region)),
			  daxalloc_region_get_address(region), daxalloc_region_get_size(region),
			  true, true);
	if (rc < 0)
		return rc;
	rc = heap_create_range(daxalloc_region_get_address(region),
			       daxalloc_region_get_size(region), flags, heap);
	if (rc == 0)
		(*heap)->region = region;
	return rc;
}

DAXALLOC_EXPORT void daxalloc_heap_destroy(struct daxalloc_heap **heap)
{
	struct daxalloc_heap *h, **pp;

	if (!heap || !*heap)
		return;
	h = *heap;
	*heap = NULL;
	pthread_mutex_lock(&heaps_lock);
	for (pp = &heaps; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	}
	pthread_mutex_unlock(&heaps_lock);
	/* Caches of h in other threads are dropped when next looked at. */
	rml_pool_destroy(h->pool);
	munmap(h->marks, (h->size >> CLASS_SHIFT) * sizeof(*h->marks));
	free(h);
}

/*
 * The ownership check of every free, inlined: an exported function called
 * inside the library goes through the PLT (it could be interposed), which
 * cost the small-object pairs a few percent.
 */
static inline bool owns(const struct daxalloc_heap *heap, const void *ptr)
{
	return (uintptr_t)ptr - (uintptr_t)heap->base < heap->size;
}

DAXALLOC_EXPORT bool daxalloc_heap_owns(struct daxalloc_heap *heap, const void *ptr)
{
	return heap && owns(heap, ptr);
}

static void __attribute__((noreturn))
foreign(struct daxalloc_heap *h, const void *ptr, const char *what)
{
	dprintf(2, "daxalloc: %s(%p): not a pointer of the heap at %p (%zu bytes)\n", what, ptr,
		(void *)h->base, h->size);
	abort();
}

/*
 * The pool aligns an object to 8 bytes only (its 24-byte class, say);
 * glibc gives 16 and compilers count on it (GCC's MALLOC_ABI_ALIGNMENT):
 * ask for a multiple of 16, whose classes are 16-aligned.  0 asks for 16.
 */
static inline size_t round16(size_t size)
{
	return size <= 16 ? 16 : (size + 15) & ~(size_t)15;
}

/* The pool's malloc; a heap found full first takes this thread's cache back. */
static inline void *pool_malloc(struct daxalloc_heap *heap, size_t size)
{
	void *p = rml_pool_malloc(heap->pool, size);

	if (__builtin_expect(!p, 0) && cache_flush_mine(heap))
		p = rml_pool_malloc(heap->pool, size);
	return p;
}

static void *__attribute__((noinline)) large_malloc(struct daxalloc_heap *heap, size_t size)
{
	unsigned int cls = class_of(size);
	struct tslot *s = slot_find(heap, false);
	void *p;

	if (s && s->list[cls]) {
		p = s->list[cls];
		s->list[cls] = *(void **)p;
		s->bytes -= (size_t)cls << CLASS_SHIFT;
		return p;
	}
	p = rml_pool_aligned_malloc(heap->pool, (size_t)cls << CLASS_SHIFT, PAGE_MASK + 1);
	if (!p && cache_flush_mine(heap))
		p = rml_pool_aligned_malloc(heap->pool, (size_t)cls << CLASS_SHIFT, PAGE_MASK + 1);
	if (p)
		mark_set(heap, p, cls);
	return p;
}

static void __attribute__((noinline))
large_free(struct daxalloc_heap *heap, void *ptr, unsigned int cls)
{
	struct tslot *s = slot_find(heap, true);
	size_t bytes = (size_t)cls << CLASS_SHIFT;

	if (s && s->bytes + bytes <= CACHE_BYTES) {
		*(void **)ptr = s->list[cls];
		s->list[cls] = ptr;
		s->bytes += bytes;
		return;
	}
	mark_clear(heap, ptr);
	rml_pool_free(heap->pool, ptr);
}

/* malloc and free for the functions here too, without the PLT (see owns()). */
static inline void *heap_malloc(struct daxalloc_heap *heap, size_t size)
{
	void *p;

	if (large(size))
		p = large_malloc(heap, size);
	else
		p = size < SIZE_MAX - 16 ? pool_malloc(heap, round16(size)) : NULL;
	if (__builtin_expect(!p, 0)) {
		errno = ENOMEM;
		return NULL;
	}
	if (heap->flags & DAXALLOC_HEAP_COUNT)
		count(heap, (int64_t)rml_pool_msize(heap->pool, p), 1);
	return p;
}

static inline void heap_free(struct daxalloc_heap *heap, void *ptr, const char *what)
{
	unsigned int cls;

	if (!ptr)
		return;
	if (__builtin_expect(!owns(heap, ptr), 0))
		foreign(heap, ptr, what);
	if (heap->flags & DAXALLOC_HEAP_COUNT)
		count(heap, -(int64_t)rml_pool_msize(heap->pool, ptr), -1);
	cls = marked(heap, (char *)ptr - heap->base);
	if (cls)
		large_free(heap, ptr, cls);
	else
		rml_pool_free(heap->pool, ptr);
}

DAXALLOC_EXPORT void *daxalloc_heap_malloc(struct daxalloc_heap *heap, size_t size)
{
	return heap_malloc(heap, size);
}

DAXALLOC_EXPORT void *daxalloc_heap_calloc(struct daxalloc_heap *heap, size_t nmemb, size_t size)
{
	size_t n;
	void *p;

	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	p = heap_malloc(heap, n);
	if (p)
		memset(p, 0, n);
	return p;
}

DAXALLOC_EXPORT void *daxalloc_heap_aligned_alloc(struct daxalloc_heap *heap, size_t alignment,
						  size_t size)
{
	void *p;

	if (alignment == 0 || (alignment & (alignment - 1))) {
		errno = EINVAL;
		return NULL;
	}
	p = rml_pool_aligned_malloc(heap->pool, round16(size), alignment < 16 ? 16 : alignment);
	if (!p && cache_flush_mine(heap))
		p = rml_pool_aligned_malloc(heap->pool, round16(size),
					    alignment < 16 ? 16 : alignment);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	if (heap->flags & DAXALLOC_HEAP_COUNT)
		count(heap, (int64_t)rml_pool_msize(heap->pool, p), 1);
	return p;
}

DAXALLOC_EXPORT void daxalloc_heap_free(struct daxalloc_heap *heap, void *ptr)
{
	heap_free(heap, ptr, "daxalloc_heap_free");
}

DAXALLOC_EXPORT void *daxalloc_heap_realloc(struct daxalloc_heap *heap, void *ptr, size_t size)
{
	size_t old;
	void *p;

	if (!ptr)
		return heap_malloc(heap, size);
	if (!owns(heap, ptr))
		foreign(heap, ptr, "daxalloc_heap_realloc");
	if (size == 0) {
		heap_free(heap, ptr, "daxalloc_heap_realloc");
		return NULL;
	}
	old = heap->flags & DAXALLOC_HEAP_COUNT ? rml_pool_msize(heap->pool, ptr) : 0;
	if (size >= SIZE_MAX - 16) {
		errno = ENOMEM;
		return NULL;
	}
	/* The pool may move or resize it: no longer a large object of ours. */
	if (marked(heap, (char *)ptr - heap->base))
		mark_clear(heap, ptr);
	p = rml_pool_realloc(heap->pool, ptr, round16(size));
	if (!p && cache_flush_mine(heap))
		p = rml_pool_realloc(heap->pool, ptr, round16(size));
	if (!p) {
		errno = ENOMEM;
		return NULL; /* ptr stays as it was */
	}
	if (heap->flags & DAXALLOC_HEAP_COUNT)
		count(heap, (int64_t)rml_pool_msize(heap->pool, p) - (int64_t)old, 0);
	return p;
}

DAXALLOC_EXPORT size_t daxalloc_heap_usable_size(struct daxalloc_heap *heap, void *ptr)
{
	if (!ptr)
		return 0;
	if (!owns(heap, ptr))
		foreign(heap, ptr, "daxalloc_heap_usable_size");
	return rml_pool_msize(heap->pool, ptr);
}

DAXALLOC_EXPORT struct daxalloc_region *daxalloc_heap_get_region(struct daxalloc_heap *heap)
{
	return heap ? heap->region : NULL;
}

size_t heap_mapped(struct daxalloc_heap *heap)
{
	return atomic_load(&heap->top);
}

void *heap_base(struct daxalloc_heap *heap)
{
	return heap->base;
}

size_t heap_size(struct daxalloc_heap *heap)
{
	return heap->size;
}

DAXALLOC_EXPORT int daxalloc_heap_get_stats(struct daxalloc_heap *heap,
					    struct daxalloc_heap_stats *out)
{
	struct daxalloc_heap_stats all, *st = &all;
	int64_t bytes = 0, objects = 0;
	int n;

	if (!heap || !out)
		return daxalloc_err(EINVAL, "heap stats: no heap or no place for them");
	n = SIZED(out, heap_stats);
	if (n < 0)
		return n;
	for (int i = 0; i < NSTRIPES; i++) {
		bytes += atomic_load_explicit(&heap->stripes[i].bytes, memory_order_relaxed);
		objects += atomic_load_explicit(&heap->stripes[i].objects, memory_order_relaxed);
	}
	memset(st, 0, sizeof(*st));
	st->size = heap->size;
	st->mapped = heap_mapped(heap);
	/* Stripes are read one by one while others count: clamp. */
	st->in_use = bytes > 0 ? (uint64_t)bytes : 0;
	st->objects = objects > 0 ? (uint64_t)objects : 0;
	if (st->in_use > st->mapped)
		st->in_use = st->mapped;
	st->fragmentation = st->mapped ? 1.0 - (double)st->in_use / (double)st->mapped : 0.0;
	if (!(heap->flags & DAXALLOC_HEAP_COUNT))
		st->fragmentation = -1.0; /* not counted */
	sized_copy(out, &all, n);
	return 0;
}
