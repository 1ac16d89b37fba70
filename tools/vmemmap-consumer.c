// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The consumers that time pinning for the vmemmap measurement's pin path
 * probe: a VFIO type1 container, an RDMA protection domain, an io_uring
 * ring, opened with the shared helpers (tests/common/consumers.c).  The
 * same consumer pins device-dax at 4K and 2M and hugetlb 2M pages;
 * vmemmap-measure.c compares the times.  They pin a plain mapping with
 * the consumer's own call, not through daxalloc_pin(): that needs a pool,
 * and formatting one would destroy what the device holds.  What is here
 * is the choice: a free VFIO group, any RDMA device.
 *
 * Each is opened just before the timing and closed right after: the
 * disable that follows refuses while any process, this one included,
 * holds a handle that can pin memory.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_IBVERBS
#include <infiniband/verbs.h>
#endif

#include "consumers.h"
#include "private.h"
#include "vmemmap-measure.h"

struct vmemmap_consumer {
	struct consumer c;
	char name[64];
	char spec[80];
};

static void add_why(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add_why(char *why, size_t len, const char *fmt, ...)
{
	size_t used = strlen(why);
	va_list ap;

	if (used + 3 >= len)
		return;
	if (used) {
		memcpy(why + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(why + used, len - used, fmt, ap);
	va_end(ap);
}

/* @kind at @where, named "@label @where" and "@label:@where"; else why not. */
static int try_open(struct vmemmap_consumer *v, enum daxalloc_pin_kind kind, const char *label,
		    const char *where, char *why, size_t len)
{
	int rc = consumer_open(&v->c, kind, where);

	if (rc < 0) {
		/* (a failed open closes what it opened) */
		add_why(why, len, "%s", consumer_errmsg());
		return rc;
	}
	snprintf(v->name, sizeof(v->name), "%s%s%s", label, where ? " " : "", where ? where : "");
	snprintf(v->spec, sizeof(v->spec), "%s%s%s", label, where ? ":" : "", where ? where : "");
	return 0;
}

/* The first group under /dev/vfio that nobody uses. */
static int vfio_find(struct vmemmap_consumer *v, char *why, size_t len)
{
	struct dirent *de;
	char path[300];
	int rc = -ENODEV;
	DIR *d;

	d = opendir("/dev/vfio");
	if (!d) {
		add_why(why, len, "no VFIO group (/dev/vfio is missing)");
		return -ENODEV;
	}
	while (rc < 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/dev/vfio/%s", de->d_name);
		rc = try_open(v, DAXALLOC_PIN_VFIO, "vfio", path, why, len);
	}
	closedir(d);
	if (rc == -ENODEV && !why[0])
		add_why(why, len, "no VFIO group in /dev/vfio");
	return rc;
}

/* RDMA device @want, or the first that opens. */
static int rdma_find(struct vmemmap_consumer *v, const char *want, char *why, size_t len)
{
#ifdef HAVE_IBVERBS
	struct ibv_device **list;
	int n = 0, rc = -ENODEV;

	if (want)
		return try_open(v, DAXALLOC_PIN_RDMA, "rdma", want, why, len);
	list = ibv_get_device_list(&n);
	for (int i = 0; list && i < n && rc < 0; i++)
		rc = try_open(v, DAXALLOC_PIN_RDMA, "rdma", ibv_get_device_name(list[i]), why, len);
	if (list)
		ibv_free_device_list(list);
	if (rc < 0 && n == 0)
		add_why(why, len, "no usable RDMA device");
	return rc;
#else
	(void)v;
	(void)want;
	add_why(why, len, "RDMA: this build has no libibverbs");
	return -EOPNOTSUPP;
#endif
}

static int uring_open(struct vmemmap_consumer *v, char *why, size_t len)
{
	return try_open(v, DAXALLOC_PIN_URING, "io_uring", NULL, why, len);
}

static int choose(const char *spec, bool devdax, struct vmemmap_consumer *v, char *why, size_t len)
{
	if (spec) {
		if (strncmp(spec, "vfio:", 5) == 0)
			return try_open(v, DAXALLOC_PIN_VFIO, "vfio", spec + 5, why, len);
		if (strcmp(spec, "vfio") == 0)
			return vfio_find(v, why, len);
		if (strcmp(spec, "rdma") == 0)
			return rdma_find(v, NULL, why, len);
		if (strncmp(spec, "rdma:", 5) == 0)
			return rdma_find(v, spec + 5, why, len);
		if (strcmp(spec, "io_uring") == 0)
			return uring_open(v, why, len);
		add_why(why, len,
			"unknown consumer '%s' (vfio[:/dev/vfio/N], rdma[:DEV] or io_uring)", spec);
		return -EINVAL;
	}
	if (!devdax && uring_open(v, why, len) == 0)
		return 0;
	if (vfio_find(v, why, len) == 0)
		return 0;
	if (rdma_find(v, NULL, why, len) == 0)
		return 0;
	/* Whether io_uring takes device-dax memory is the kernel's answer to the pin. */
	if (devdax)
		return uring_open(v, why, len);
	return -ENODEV;
}

int vmemmap_consumer_open(const char *spec, bool devdax, struct vmemmap_consumer **c, char *why,
			  size_t len)
{
	struct vmemmap_consumer *v = calloc(1, sizeof(*v));
	int rc;

	why[0] = '\0';
	*c = NULL;
	if (!v) {
		add_why(why, len, "out of memory");
		return -ENOMEM;
	}
	rc = choose(spec, devdax, v, why, len);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*c = v;
	return 0;
}

int vmemmap_consumer_pin_ns(struct vmemmap_consumer *v, void *addr, uint64_t len, uint64_t *ns)
{
	uint64_t t0 = mono_ns();
	int rc = consumer_pin(&v->c, addr, len);

	if (rc < 0)
		return daxalloc_err(-rc, "%s: %s%s", v->name, consumer_errmsg(),
				    rc == -EOPNOTSUPP && v->c.kind == DAXALLOC_PIN_URING ?
					    " (kernels before 6.5 take only anonymous or hugetlb memory)" :
					    "");
	*ns = mono_ns() - t0;
	rc = consumer_unpin(&v->c, len);
	if (rc < 0)
		return daxalloc_err(-rc, "%s: %s", v->name, consumer_errmsg());
	return 0;
}

const char *vmemmap_consumer_name(const struct vmemmap_consumer *v)
{
	return v->name;
}

const char *vmemmap_consumer_spec(const struct vmemmap_consumer *v)
{
	return v->spec;
}

void vmemmap_consumer_close(struct vmemmap_consumer **c)
{
	if (!*c)
		return;
	consumer_close(&(*c)->c);
	free(*c);
	*c = NULL;
}
