/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals shared by pin.c, the consumer back ends and the ledger. */
#ifndef DAXALLOC_PIN_H
#define DAXALLOC_PIN_H

#include <sys/types.h>
#include <time.h>

#include "pool.h"

struct daxalloc_pin;

/* How a consumer is pinned: one file each (pin-vfio.c ...). */
struct pin_back_end {
	/* Is the consumer usable?  No side effects; sets the error message. */
	int (*check)(struct daxalloc_pin *p);
	int (*pin)(struct daxalloc_pin *p);
	int (*unpin)(struct daxalloc_pin *p);
};

extern const struct pin_back_end pin_vfio_back_end;
extern const struct pin_back_end pin_iommufd_back_end;
extern const struct pin_back_end pin_uring_back_end;
#ifdef DAXALLOC_HAVE_RDMA
extern const struct pin_back_end pin_rdma_back_end;
#endif

/* One consumer: its name, how the kernel charges its pins, its back end. */
struct pin_ops {
	const char *name;
	/*
	 * What the kernel charges a pin to, measured in the guest on 6.1, 6.12
	 * and 7.2, iommufd on 6.12 built with it (tests/devdax/test-pin-devdax.c,
	 * memlock_*): the counter
	 * of /proc/self/status that grows (VmLck or VmPin); whether the
	 * kernel's RLIMIT_MEMLOCK check is on that counter, so the library
	 * can tell a refusal before pinning (VFIO: VmLck, RDMA: VmPin; io_uring
	 * and iommufd check a per-user count no file shows); and whether
	 * device-dax memory is charged at all (VFIO type1 skips reserved
	 * pages, and ZONE_DEVICE pages are reserved: VmLck stays 0).
	 */
	const char *charged_as;
	bool limit_on_counter;
	bool devdax_uncharged;
	const struct pin_back_end *back_end; /* NULL: not built in */
};

struct daxalloc_pin {
	struct daxalloc_pin *next;      /* every live pin of this process */
	struct daxalloc_region *region; /* NULL once closed with the pin stuck */
	struct daxalloc_dev *dev;       /* a reference: a stuck pin outlives its region */
	const struct pin_ops *ops;
	struct daxalloc_pin_target target;
	uint64_t offset; /* inside the region */
	uint64_t length;
	uint64_t region_offset;             /* device offset of the region */
	char region_name[DXA_NAME_MAX + 1]; /* "" when unnamed */
	int fd;                             /* our own duplicate of the consumer fd, or -1 */
	uint64_t cons_dev, cons_ino;        /* the consumer's file, as pin_check_fd() saw it */
	void *addr;
	pid_t pid;                  /* the process that pinned */
	uint64_t id;                /* unique in this process */
	struct pin_ledger_rec *rec; /* its record in device memory, NULL: none */
	uint64_t lease;             /* the lease it is recorded under */
	time_t since;
	uint64_t pin_ns;
	/* what the back end got */
	uint64_t iova;
	struct ibv_mr *mr;
	uint32_t lkey, rkey;
	int uring_first;
	unsigned int uring_count;
	char consumer[96]; /* set by check(), refined by pin() */
};

/* The device name a message starts with. */
static inline const char *pin_devname(const struct daxalloc_pin *p)
{
	return p->dev->name;
}

/* Is @fd an open file descriptor?  Sets the message naming @what if not. */
int pin_check_fd(struct daxalloc_pin *p, int fd, const char *what);
/*
 * Keep a duplicate of the consumer fd in p->fd, so unpinning reaches the
 * same consumer even if the caller closes or reuses its number.
 */
int pin_dup_fd(struct daxalloc_pin *p, int fd, const char *what);

/* pin.c: used by region.c */
struct pin_holder {
	int pid;
	char command[16];
	char consumer[96];
	int count; /* overlapping pins in all */
};
/*
 * Live pins overlapping [offset, offset+length) of @pool's device, of any
 * process; fills @h with the first.  Returns the count or -errno.
 */
int pin_find_overlap(struct daxalloc_pool *pool, uint64_t offset, uint64_t length,
		     struct pin_holder *h);
/*
 * -EBUSY naming the holder when [offset, +length) is pinned, else 0.
 * @name: the region's name, NULL when unnamed.
 */
int pin_refuse_free(struct daxalloc_pool *pool, uint64_t offset, uint64_t length, const char *name);
/*
 * Unpin every pin of @region (it is being closed).  Returns how many could
 * not be unpinned: those stay recorded, detached from the region, until
 * the process exits; their memory must not be handed out again.
 */
int pin_release_region(struct daxalloc_region *region);

/* pin-ledger.c: records in device memory, one per pin, live while the lease they name is. */
#define PIN_LEDGER_CONSUMER_MAX 72

struct pin_ledger_rec {
	uint32_t state;  /* 0: free, PIN_REC_LIVE */
	uint32_t pid;    /* as the pinner sees itself: for messages */
	uint64_t lease;  /* the pool handle's lease it was made under */
	uint64_t gen;    /* the lock generation (boot) it belongs to */
	uint64_t id;     /* pin id inside the owner */
	uint64_t since;  /* seconds since the epoch */
	uint64_t offset; /* device offset of the pinned range */
	uint64_t length;
	uint64_t region_offset;
	uint64_t region_length;
	uint32_t kind;
	uint32_t flags;              /* PIN_REC_FORKED */
	uint64_t cons_dev, cons_ino; /* the consumer's file (st_dev, st_ino) */
	uint64_t pidns;              /* the pinner's pid namespace (inode) */
	char region[64];
	char command[16];
	char consumer[PIN_LEDGER_CONSUMER_MAX];
};

#define PIN_REC_LIVE 0x4c495645u /* "LIVE" */
/* The pinner forked: a child may hold the consumer, and the pin, after the pinner died. */
#define PIN_REC_FORKED 1u

/*
 * pin-consumer.c: the consumer fields of @i (of kind i->kind) from the
 * text of a ledger record; left unknown (fd -1, iova UINT64_MAX) when
 * the text is not one the back ends write.
 */
void pin_consumer_parse(const char *text, struct daxalloc_pin_info *i);

/* Mark this process's records forked (fork() is under way). */
void pin_ledger_forking(struct pin_ledger_rec *where, uint64_t lease, uint64_t id);

/* Record a pin under @pool's lease (pool lock held); *where receives the record. */
int pin_ledger_add(struct daxalloc_pool *pool, struct pin_ledger_rec *rec,
		   struct pin_ledger_rec **where);
/* Clear the record @where if it is still pin @id of @lease. */
void pin_ledger_remove(struct pin_ledger_rec *where, uint64_t lease, uint64_t id);
/* Replace the consumer text of that record (pool lock held). */
void pin_ledger_set_consumer(struct pin_ledger_rec *where, uint64_t lease, uint64_t id,
			     const char *consumer);
/*
 * The live records of @pool's device, by offset (pool lock held); *recs
 * is malloc'ed (NULL when there are none).  Returns the count or -errno.
 */
int pin_ledger_read(struct daxalloc_pool *pool, struct pin_ledger_rec **recs);

#endif
