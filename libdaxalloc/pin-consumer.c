// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A pin's consumer in words, and back.  The pin ledger's records hold the
 * consumer as text (every release reads it so, and its record has no
 * room left for more): daxalloc_pool_foreach_pin() reads the numbers
 * back out of the text that the consumer back ends write, and
 * daxalloc_pin_info_describe() says them again in the same words.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pin.h"

DAXALLOC_EXPORT int daxalloc_pin_info_describe(const struct daxalloc_pin_info *i, char *buf,
					       size_t len)
{
	if (!i)
		return daxalloc_err(EINVAL, "daxalloc_pin_info_describe: NULL info");
	if (!buf && len)
		return daxalloc_err(EINVAL, "daxalloc_pin_info_describe: NULL buffer of %zu bytes",
				    len);
	if (i->struct_size != sizeof(*i))
		return daxalloc_err(EINVAL,
				    "daxalloc_pin_info_describe: .struct_size %u, this library's is %zu",
				    i->struct_size, sizeof(*i));
	switch (i->kind) {
	case DAXALLOC_PIN_VFIO:
		if (i->fd < 0 || i->iova == UINT64_MAX)
			break;
		return snprintf(buf, len, "vfio container fd %d, iova 0x%llx", i->fd,
				(unsigned long long)i->iova);
	case DAXALLOC_PIN_IOMMUFD:
		if (i->fd < 0)
			break;
		if (i->iova == UINT64_MAX)
			return snprintf(buf, len, "iommufd fd %d, ioas %u", i->fd, i->ioas_id);
		return snprintf(buf, len, "iommufd fd %d, ioas %u, iova 0x%llx", i->fd, i->ioas_id,
				(unsigned long long)i->iova);
	case DAXALLOC_PIN_RDMA:
		if (!i->rdma_device[0])
			break;
		if (!i->rdma_keys)
			return snprintf(buf, len, "rdma %.*s", (int)sizeof(i->rdma_device),
					i->rdma_device);
		return snprintf(buf, len, "rdma %.*s, lkey 0x%x, rkey 0x%x",
				(int)sizeof(i->rdma_device), i->rdma_device, i->lkey, i->rkey);
	case DAXALLOC_PIN_URING:
		if (i->fd < 0 || i->uring_index < 0 || i->uring_count == 0)
			break;
		if (i->uring_count == 1)
			return snprintf(buf, len, "io_uring fd %d, buffer %d", i->fd, i->uring_index);
		return snprintf(buf, len, "io_uring fd %d, buffers %d-%u", i->fd, i->uring_index,
				(unsigned int)i->uring_index + i->uring_count - 1);
	}
	return snprintf(buf, len, "%s", daxalloc_pin_kind_name(i->kind));
}

/* Did sscanf read all of @text?  (%n counts only when it gets there.) */
#define ALL_READ(text, n) ((n) > 0 && (text)[(n)] == '\0')

void pin_consumer_parse(const char *text, struct daxalloc_pin_info *i)
{
	unsigned long long iova;
	unsigned int a, b;
	const char *keys;
	int fd, n = 0;

	i->fd = -1;
	i->iova = UINT64_MAX;
	i->uring_index = -1;
	switch (i->kind) {
	case DAXALLOC_PIN_VFIO:
		if (sscanf(text, "vfio container fd %d, iova 0x%llx%n", &fd, &iova, &n) == 2 &&
		    ALL_READ(text, n)) {
			i->fd = fd;
			i->iova = iova;
		}
		break;
	case DAXALLOC_PIN_IOMMUFD:
		if (sscanf(text, "iommufd fd %d, ioas %u, iova 0x%llx%n", &fd, &a, &iova, &n) == 3 &&
		    ALL_READ(text, n)) {
			i->iova = iova;
		} else if (n = 0, sscanf(text, "iommufd fd %d, ioas %u%n", &fd, &a, &n) != 2 ||
					  !ALL_READ(text, n)) {
			break;
		}
		i->fd = fd;
		i->ioas_id = a;
		break;
	case DAXALLOC_PIN_RDMA:
		/* "rdma rxe0" until the kernel pins, then ", lkey 0x.., rkey 0x.." (names hold no ", ") */
		if (strncmp(text, "rdma ", 5) != 0 || !text[5])
			break;
		text += 5;
		keys = strstr(text, ", lkey 0x");
		n = 0;
		if (keys && sscanf(keys, ", lkey 0x%x, rkey 0x%x%n", &a, &b, &n) == 2 &&
		    ALL_READ(keys, n)) {
			i->rdma_keys = true;
			i->lkey = a;
			i->rkey = b;
		} else {
			keys = text + strlen(text);
		}
		snprintf(i->rdma_device, sizeof(i->rdma_device), "%.*s", (int)(keys - text), text);
		break;
	case DAXALLOC_PIN_URING:
		if (sscanf(text, "io_uring fd %d, buffer %u%n", &fd, &a, &n) == 2 &&
		    ALL_READ(text, n)) {
			b = a;
		} else if (n = 0,
			   sscanf(text, "io_uring fd %d, buffers %u-%u%n", &fd, &a, &b, &n) != 3 ||
				   !ALL_READ(text, n) || b < a || a > INT32_MAX) {
			break;
		}
		i->fd = fd;
		i->uring_index = (int)a;
		i->uring_count = b - a + 1;
		break;
	}
}
