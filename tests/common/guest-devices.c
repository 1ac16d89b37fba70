// SPDX-License-Identifier: LGPL-2.1-or-later
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-devices.h"

#define MAX_DEVS 16

static struct guest_dev devs[MAX_DEVS];
static int ndevs = -1;

static void load(void)
{
	const char *path = getenv("DAXALLOC_GUEST_DEVICES");
	char line[512];
	FILE *f;

	if (ndevs >= 0)
		return;
	if (!path)
		cr_skip_test("not inside the devdax guest ($DAXALLOC_GUEST_DEVICES unset); "
			     "tools/test.sh runs this suite in a QEMU guest");
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s: cannot read the guest's device table", path);
	ndevs = 0;
	while (fgets(line, sizeof(line), f) && ndevs < MAX_DEVS) {
		struct guest_dev *d = &devs[ndevs];
		unsigned long long size, align;

		if (line[0] == '#' || strncmp(line, "label", 5) == 0)
			continue;
		if (sscanf(line, "%31s %15s %31s %63s %llu %llu %d", d->label, d->kind, d->name,
			   d->path, &size, &align, &d->region) != 7)
			continue;
		d->size = size;
		d->align = align;
		ndevs++;
	}
	fclose(f);
	cr_assert_gt(ndevs, 0, "%s lists no device", path);
}

const struct guest_dev *guest_dev(const char *label)
{
	load();
	for (int i = 0; i < ndevs; i++)
		if (strcmp(devs[i].label, label) == 0)
			return &devs[i];
	cr_assert_fail("the guest has no device labelled '%s' (see tests/guest/devices.tsv)", label);
	return NULL;
}

const struct guest_dev *guest_devs(int *n)
{
	load();
	*n = ndevs;
	return devs;
}

/* $@var, set by the guest when it set up @what; asserts that it is. */
static const char *guest_env(const char *var, const char *what)
{
	const char *v = getenv(var);

	load();
	if (!v)
		cr_assert_fail("the guest %s ($%s unset)", what, var);
	return v;
}

const char *guest_vfio_group(void)
{
	return guest_env("DAXALLOC_GUEST_VFIO_GROUP", "bound no device to vfio-pci");
}

const char *guest_rdma_dev(void)
{
	return guest_env("DAXALLOC_GUEST_RDMA_DEV", "brought up no RDMA device");
}
