/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The devdax guest's device table ($DAXALLOC_GUEST_DEVICES, generated in
 * the guest from tests/guest/devices.tsv): a test asks for a device by label.
 */
#ifndef GUEST_DEVICES_H
#define GUEST_DEVICES_H

#include <stdint.h>

struct guest_dev {
	char label[32];
	char kind[16]; /* "static" or "dynamic" */
	char name[32]; /* dax1.0 */
	char path[64]; /* /dev/dax1.0 */
	uint64_t size;
	uint64_t align;
	int region;
};

/* Skips the calling test (saying why) outside the guest. */
const struct guest_dev *guest_dev(const char *label);
/* All devices; *n receives the count.  Skips outside the guest. */
const struct guest_dev *guest_devs(int *n);
/* The consumers the guest set up: its VFIO group, its RDMA device.  Skip or assert. */
const char *guest_vfio_group(void);
const char *guest_rdma_dev(void);

#endif
