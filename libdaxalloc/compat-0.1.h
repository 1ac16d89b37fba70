/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public types of 0.1.0 that 0.2 changed, exactly as 0.1.0's header
 * declared them (names, members, layout): only compat-0.1.c includes this,
 * after renaming the 0.2 types of daxalloc.h out of the way, so that the
 * 0.1 entry points are described to abidiff with 0.1's own types.  Never
 * edit a member here: 0.1 programs are compiled against it.
 */
#ifndef DAXALLOC_COMPAT_0_1_H
#define DAXALLOC_COMPAT_0_1_H

#include <stdbool.h>
#include <stdint.h>

struct ibv_pd;
struct io_uring;

#ifndef DAXALLOC_H /* unchanged since: daxalloc.h's when included */
enum daxalloc_pin_kind {
	DAXALLOC_PIN_VFIO = 1,
	DAXALLOC_PIN_IOMMUFD = 2,
	DAXALLOC_PIN_RDMA = 3,
	DAXALLOC_PIN_URING = 4,
};
#endif

struct daxalloc_pin_target {
	enum daxalloc_pin_kind kind;
	unsigned int flags;
	struct {
		int container_fd;
		uint64_t iova;
	} vfio;
	struct {
		int fd;
		uint32_t ioas_id;
		uint64_t iova;
	} iommufd;
	struct {
		struct ibv_pd *pd;
		int access;
	} rdma;
	struct {
		struct io_uring *ring;
		unsigned int first_index;
	} uring;
};

#ifndef DAXALLOC_H
enum daxalloc_region_kind {
	DAXALLOC_REGION_UNKNOWN = 0,
	DAXALLOC_REGION_STATIC = 1,
	DAXALLOC_REGION_DYNAMIC = 2,
	DAXALLOC_REGION_NONE = 3,
};
#endif

struct daxalloc_daxregion_info {
	int id;
	enum daxalloc_region_kind kind;
	uint64_t start;
	uint64_t size;
	uint64_t align;
	uint64_t available;
	uint64_t largest_free;
	uint64_t available_1g;
	uint64_t largest_free_1g;
	unsigned int devices;
};

struct daxalloc_region_info {
	char name[64];
	uint64_t offset;
	uint64_t size;
	int owner_pid;
	bool owner_alive;
	uint64_t created;
};

struct daxalloc_pin_info {
	enum daxalloc_pin_kind kind;
	char region[64];
	uint64_t region_offset;
	uint64_t offset;
	uint64_t length;
	int pid;
	char command[16];
	uint64_t since;
	char consumer[96];
};

struct daxalloc_check_report {
	int active_copy;
	uint64_t sequence;
	bool standby_valid;
	uint32_t regions;
	uint32_t orphans;
	uint32_t problems;
	uint32_t repaired;
	char first_problem[256];
};

struct daxalloc_pool_stats {
	uint64_t unit;
	uint64_t capacity;
	uint64_t used;
	uint64_t free;
	uint64_t largest_free;
	uint32_t free_extents;
	uint32_t regions;
	uint32_t named_regions;
	uint32_t max_regions;
	double fragmentation;
};

struct daxalloc_vmemmap_model {
	uint64_t size;
	uint64_t align;
	uint64_t base_pages;
	uint64_t compound_pages;
	uint64_t struct_pages[3];
	uint64_t page_tables[3];
	uint64_t total[3];
};

struct daxalloc_vmemmap_sample {
	uint64_t align;
	bool measured;
	char why[240];
	int cycles;
	int64_t bytes[16];
	int64_t median, min, max;
	int match;
	bool ambiguous;
};

struct daxalloc_vmemmap_pin {
	int expected;
	int verdict;
	bool conclusive;
	char consumer[64];
	uint64_t length;
	uint64_t ns_2m, ns_1g;
	char how[480];
};

struct daxalloc_vmemmap_opts {
	int cycles;
	uint64_t align;
	bool pin;
	const char *pin_with;
	bool ignore_dma;
};

struct daxalloc_vmemmap_report {
	char name[32];
	uint64_t size;
	bool memmap_in_ram;
	char release[65];
	uint64_t align;
	bool enabled;
	struct daxalloc_vmemmap_sample samples[3];
	struct daxalloc_vmemmap_pin pin;
};

#endif /* DAXALLOC_COMPAT_0_1_H */
