// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * RDMA: ibv_reg_mr pins the range and gives the NIC its keys.  Built only
 * with libibverbs' header, which is found at run time (verbs.h); without
 * it daxalloc_pin() says so.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pin.h"
#include "verbs.h"

static int rdma_check(struct daxalloc_pin *p)
{
	struct ibv_pd *pd = p->target.rdma.pd;
	const struct verbs *v;

	if (!pd || !pd->context)
		return daxalloc_err(EINVAL, "%s: RDMA pin needs a protection domain (ibv_alloc_pd)",
				    pin_devname(p));
	if (pin_check_fd(p, pd->context->cmd_fd, "RDMA device context") < 0)
		return -EBADF;
	v = verbs_get();
	if (!v)
		return -EOPNOTSUPP;
	snprintf(p->consumer, sizeof(p->consumer), "rdma %s",
		 v->get_device_name(pd->context->device));
	return 0;
}

static int rdma_pin(struct daxalloc_pin *p)
{
	struct ibv_pd *pd = p->target.rdma.pd;
	int access = p->target.rdma.access;
	const struct verbs *v = verbs_get();
	struct ibv_mr *mr;

	if (!v)
		return -EOPNOTSUPP;

	if (!access)
		access = p->target.flags & DAXALLOC_PIN_READONLY ?
				 IBV_ACCESS_REMOTE_READ :
				 IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
					 IBV_ACCESS_REMOTE_READ;
	errno = 0;
	mr = v->reg_mr(pd, p->addr, (size_t)p->length, access);
	if (!mr) {
		int e = errno ? errno : EIO;

		return daxalloc_err(e, "%s: ibv_reg_mr of 0x%llx bytes on %s (access 0x%x): %s%s",
				    pin_devname(p), (unsigned long long)p->length,
				    v->get_device_name(pd->context->device), access, strerror(e),
				    e == ENOMEM ? " (out of memory or over RLIMIT_MEMLOCK)" : "");
	}
	p->mr = mr;
	p->lkey = mr->lkey;
	p->rkey = mr->rkey;
	snprintf(p->consumer, sizeof(p->consumer), "rdma %s, lkey 0x%x, rkey 0x%x",
		 v->get_device_name(pd->context->device), mr->lkey, mr->rkey);
	return 0;
}

static int rdma_unpin(struct daxalloc_pin *p)
{
	const struct verbs *v = verbs_get();
	int rc = v ? v->dereg_mr(p->mr) : EOPNOTSUPP;

	if (rc)
		return daxalloc_err(rc, "%s: ibv_dereg_mr (lkey 0x%x): %s", pin_devname(p), p->lkey,
				    strerror(rc));
	p->mr = NULL;
	return 0;
}

const struct pin_back_end pin_rdma_back_end = { rdma_check, rdma_pin, rdma_unpin };
