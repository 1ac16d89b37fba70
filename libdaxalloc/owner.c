// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Owners: what "this process" holds of a device, across all its pool
 * handles.  A device is known by what the kernel knows it by: the device
 * number of a device-dax node (every node made for it, in any mount
 * namespace, has the same one), the inode of the stand-in's memfd.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pool.h"

int owner_dev_key(struct daxalloc_dev *dev, struct owner_key *key)
{
	struct stat st;

	if (fstat(dev->fd, &st) < 0)
		return daxalloc_err(errno, "%s: cannot stat the device: %s", dev->name,
				    strerror(errno));
	if (S_ISCHR(st.st_mode)) {
		key->dev = 0;
		key->ino = st.st_rdev;
	} else {
		key->dev = st.st_dev;
		key->ino = st.st_ino;
	}
	return 0;
}

/* Every region this process maps through any pool handle. */
struct mapped {
	struct owner_key key;
	uint64_t offset;
	unsigned int count;
	struct mapped *next;
};

static pthread_mutex_t mapped_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapped *mapped;

static struct mapped **mapped_find(const struct owner_key *key, uint64_t offset)
{
	struct mapped **pp;

	for (pp = &mapped; *pp; pp = &(*pp)->next)
		if ((*pp)->key.dev == key->dev && (*pp)->key.ino == key->ino &&
		    (*pp)->offset == offset)
			break;
	return pp;
}

int owner_mapped_get(const struct owner_key *key, uint64_t offset)
{
	struct mapped **pp, *m;
	int rc = 0;

	pthread_mutex_lock(&mapped_lock);
	pp = mapped_find(key, offset);
	if (*pp) {
		(*pp)->count++;
	} else if ((m = calloc(1, sizeof(*m)))) {
		m->key = *key;
		m->offset = offset;
		m->count = 1;
		*pp = m;
	} else {
		rc = daxalloc_err(ENOMEM, "out of memory");
	}
	pthread_mutex_unlock(&mapped_lock);
	return rc;
}

void owner_mapped_put(const struct owner_key *key, uint64_t offset)
{
	struct mapped **pp, *m;

	pthread_mutex_lock(&mapped_lock);
	pp = mapped_find(key, offset);
	m = *pp;
	if (m && --m->count == 0) {
		*pp = m->next;
		free(m);
	}
	pthread_mutex_unlock(&mapped_lock);
}

unsigned int owner_mapped_count(const struct owner_key *key, uint64_t offset)
{
	struct mapped **pp;
	unsigned int n;

	pthread_mutex_lock(&mapped_lock);
	pp = mapped_find(key, offset);
	n = *pp ? (*pp)->count : 0;
	pthread_mutex_unlock(&mapped_lock);
	return n;
}
