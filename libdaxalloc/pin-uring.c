// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * io_uring fixed buffers: the kernel pins the range when it is registered
 * and keeps it until unregistered.  A fixed buffer is at most 1 GiB, so a
 * longer range becomes several consecutive buffers.  Kernels before 6.5
 * refuse file-backed memory other than hugetlb (device-dax included) with
 * EOPNOTSUPP; the pin says that in words.  liburing is found at run time
 * (uring.h); without it the pin says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/utsname.h>

#include "pin.h"
#include "uring.h"

/* IORING_MAX_REG_BUFFERS in the kernel */
#define URING_MAX_BUFFERS (1u << 14)

static unsigned int nbufs(uint64_t length)
{
	return (unsigned int)((length + DAXALLOC_PIN_URING_BUF_MAX - 1) / DAXALLOC_PIN_URING_BUF_MAX);
}

static bool slots_mode(const struct daxalloc_pin *p)
{
	return p->target.flags & DAXALLOC_PIN_URING_SLOTS;
}

static int uring_check(struct daxalloc_pin *p)
{
	struct io_uring *ring = p->target.uring.ring;
	unsigned int n = nbufs(p->length), first = p->target.uring.first_index;
	int rc;

	if (!ring)
		return daxalloc_err(EINVAL, "%s: io_uring pin needs a ring (io_uring_queue_init)",
				    pin_devname(p));
	rc = pin_check_fd(p, ring->ring_fd, "io_uring");
	if (rc < 0)
		return rc;
	if (!uring_get())
		return -EOPNOTSUPP;
	if (n > URING_MAX_BUFFERS)
		return daxalloc_err(EINVAL,
				    "%s: 0x%llx bytes would take %u fixed buffers of at most 1G; io_uring holds %u",
				    pin_devname(p), (unsigned long long)p->length, n,
				    URING_MAX_BUFFERS);
	if (!slots_mode(p))
		first = 0;
	else if (first >= URING_MAX_BUFFERS || n > URING_MAX_BUFFERS - first)
		return daxalloc_err(EINVAL,
				    "%s: buffer slots %u..%u lie beyond io_uring's limit of %u buffers",
				    pin_devname(p), first, first + n - 1, URING_MAX_BUFFERS);
	if (n == 1)
		snprintf(p->consumer, sizeof(p->consumer), "io_uring fd %d, buffer %u",
			 ring->ring_fd, first);
	else
		snprintf(p->consumer, sizeof(p->consumer), "io_uring fd %d, buffers %u-%u",
			 ring->ring_fd, first, first + n - 1);
	return 0;
}

static int refused(struct daxalloc_pin *p, int rc)
{
	struct utsname u;

	if (rc == -EOPNOTSUPP && p->dev->type == DAXALLOC_DEV_DEVDAX) {
		if (uname(&u) < 0)
			snprintf(u.release, sizeof(u.release), "?");
		return daxalloc_err(EOPNOTSUPP,
				    "%s: io_uring on this kernel (%s) refuses to pin file-backed memory other than hugetlb (EOPNOTSUPP): "
				    "device-dax fixed buffers need Linux 6.5 or later",
				    pin_devname(p), u.release);
	}
	if (rc == -EBUSY && !slots_mode(p))
		return daxalloc_err(EBUSY,
				    "%s: io_uring fd %d already has registered buffers; register a sparse table (io_uring_register_buffers_sparse) and pin with DAXALLOC_PIN_URING_SLOTS",
				    pin_devname(p), p->target.uring.ring->ring_fd);
	if (rc == -EINVAL && slots_mode(p))
		return daxalloc_err(EINVAL,
				    "%s: io_uring fd %d refused buffer slots from %u: outside its registered table (io_uring_register_buffers_sparse)?",
				    pin_devname(p), p->target.uring.ring->ring_fd,
				    p->target.uring.first_index);
	return daxalloc_err(-rc, "%s: io_uring buffer registration of 0x%llx bytes: %s%s",
			    pin_devname(p), (unsigned long long)p->length, strerror(-rc),
			    rc == -ENOMEM ? " (out of memory or over RLIMIT_MEMLOCK)" : "");
}

/* Empty slots [first, first+n). */
static int clear_slots(const struct uring *u, struct io_uring *ring, unsigned int first,
		       unsigned int n)
{
	struct iovec none = { 0 };
	int rc = 0;

	for (unsigned int i = 0; i < n; i++) {
		int r = u->register_buffers_update_tag(ring, first + i, &none, NULL, 1);

		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}

static int uring_pin(struct daxalloc_pin *p)
{
	struct io_uring *ring = p->target.uring.ring;
	unsigned int n = nbufs(p->length), first = p->target.uring.first_index;
	const struct uring *u = uring_get();
	struct iovec *iov;
	int rc = 0;

	if (!u)
		return -EOPNOTSUPP;
	iov = calloc(n, sizeof(*iov));
	if (!iov)
		return daxalloc_err(ENOMEM, "out of memory");
	for (unsigned int i = 0; i < n; i++) {
		uint64_t at = (uint64_t)i * DAXALLOC_PIN_URING_BUF_MAX;

		iov[i].iov_base = (char *)p->addr + at;
		iov[i].iov_len = (size_t)(p->length - at < DAXALLOC_PIN_URING_BUF_MAX ?
						  p->length - at :
						  DAXALLOC_PIN_URING_BUF_MAX);
	}
	if (!slots_mode(p)) {
		first = 0;
		rc = u->register_buffers(ring, iov, n);
	} else {
		/* One at a time: a partial update would not say what failed. */
		for (unsigned int i = 0; i < n && rc >= 0; i++) {
			rc = u->register_buffers_update_tag(ring, first + i, &iov[i], NULL, 1);
			if (rc < 0)
				clear_slots(u, ring, first, i);
		}
	}
	free(iov);
	if (rc < 0)
		return refused(p, rc);
	p->uring_first = (int)first;
	p->uring_count = n;
	return 0;
}

static int uring_unpin(struct daxalloc_pin *p)
{
	struct io_uring *ring = p->target.uring.ring;
	const struct uring *u = uring_get();
	struct stat st;
	int rc;

	/* The ring's number may name another file by now: never unregister someone else's buffers. */
	if (fstat(ring->ring_fd, &st) < 0 || (uint64_t)st.st_dev != p->cons_dev ||
	    (uint64_t)st.st_ino != p->cons_ino)
		return daxalloc_err(EBADF,
				    "%s: io_uring fd %d is not the ring the pin was made for any more (closed, or its number reused by another file)",
				    pin_devname(p), ring->ring_fd);
	if (!u)
		rc = -EOPNOTSUPP;
	else if (slots_mode(p))
		rc = clear_slots(u, ring, (unsigned int)p->uring_first, p->uring_count);
	else
		rc = u->unregister_buffers(ring);
	/*
	 * -EBADF is not "gone": a closed ring lives on in any process that
	 * inherited it, buffers registered, and the number may be another file now.
	 */
	if (rc < 0)
		return daxalloc_err(-rc, "%s: io_uring fd %d: unregistering buffers %d..%u: %s",
				    pin_devname(p), ring->ring_fd, p->uring_first,
				    p->uring_first + p->uring_count - 1, strerror(-rc));
	return 0;
}

const struct pin_back_end pin_uring_back_end = { uring_check, uring_pin, uring_unpin };
