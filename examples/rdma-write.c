// SPDX-License-Identifier: MIT
/*
 * Build: cc -o rdma-write rdma-write.c $(pkg-config --cflags --libs libdaxalloc libibverbs)
 *
 * An RDMA WRITE lands in device-dax memory.
 *
 *   rdma-write DEV [IBDEV [GID_INDEX]]     e.g. rdma-write dax0.0 rxe0
 *
 * DEV holds a pool (daxalloc-ctl format DEV).  Two reliable-connection
 * queue pairs on one RDMA device (soft-RoCE works) are connected to each
 * other; one writes a buffer from ordinary memory into a devdax region
 * registered through daxalloc_pin(), and the CPU checks the bytes.
 */
#include <errno.h>
#include <infiniband/verbs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <daxalloc.h>

#define LEN (64u << 10)
#define PORT 1

static int fail(const char *what)
{
	fprintf(stderr, "rdma-write: %s: %s\n", what, daxalloc_errmsg());
	return 1;
}

static int vfail(const char *what, int err)
{
	fprintf(stderr, "rdma-write: %s: %s\n", what, strerror(err ? err : EIO));
	return 1;
}

static struct ibv_qp *make_qp(struct ibv_pd *pd, struct ibv_cq *cq)
{
	struct ibv_qp_init_attr a = {
		.send_cq = cq,
		.recv_cq = cq,
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4, .max_send_sge = 1, .max_recv_sge = 1 },
	};

	return ibv_create_qp(pd, &a);
}

/* RESET -> INIT -> RTR -> RTS, aimed at @peer; RoCE addresses by GID (GRH). */
static int connect_qp(struct ibv_qp *qp, uint32_t peer, const union ibv_gid *gid, int gid_index,
		      enum ibv_mtu mtu)
{
	struct ibv_qp_attr a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_INIT;
	a.port_num = PORT;
	a.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	rc = ibv_modify_qp(qp, &a,
			   IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (rc)
		return vfail("QP to INIT", rc);

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = mtu;
	a.dest_qp_num = peer;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = *gid;
	a.ah_attr.grh.sgid_index = (uint8_t)gid_index;
	a.ah_attr.grh.hop_limit = 1;
	a.ah_attr.port_num = PORT;
	rc = ibv_modify_qp(qp, &a,
			   IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
				   IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
	if (rc)
		return vfail("QP to RTR", rc);

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 1;
	rc = ibv_modify_qp(qp, &a,
			   IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				   IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
	if (rc)
		return vfail("QP to RTS", rc);
	return 0;
}

static struct ibv_context *open_ibdev(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *c = NULL;

	for (int i = 0; list && list[i] && !c; i++)
		if (!name || strcmp(ibv_get_device_name(list[i]), name) == 0)
			c = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	return c;
}

int main(int argc, char **argv)
{
	struct daxalloc_ctx *ctx = NULL;
	struct daxalloc_dev *dev = NULL;
	struct daxalloc_pool *pool = NULL;
	struct daxalloc_region *r = NULL;
	struct daxalloc_pin *pin = NULL;
	struct daxalloc_pin_target t = { DAXALLOC_PIN_TARGET_INIT, .kind = DAXALLOC_PIN_RDMA };
	int gid_index = argc > 3 ? atoi(argv[3]) : 0, rc;
	struct ibv_context *ib;
	struct ibv_port_attr port;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qa, *qb;
	struct ibv_mr *src_mr;
	union ibv_gid gid;
	struct ibv_sge sge;
	struct ibv_send_wr wr, *bad;
	struct ibv_wc wc;
	struct timespec t0, t1;
	unsigned char *src, *dst;
	int polled = 0;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: rdma-write DEV [IBDEV [GID_INDEX]]   (e.g. dax0.0 rxe0)\n");
		return 2;
	}
	if (daxalloc_ctx_new(&ctx) < 0 || daxalloc_dev_open(ctx, argv[1], &dev) < 0)
		return fail(argv[1]);
	rc = daxalloc_pool_open(dev, 0, &pool);
	if (rc < 0)
		return fail(rc == -ENODATA ? "format it first (daxalloc-ctl format DEV)" : "pool");
	if (daxalloc_alloc(pool, daxalloc_dev_get_align(dev), NULL, DAXALLOC_ALLOC_ZERO, &r) < 0)
		return fail("alloc");

	ib = open_ibdev(argc > 2 ? argv[2] : NULL);
	if (!ib) {
		fprintf(stderr, "rdma-write: no RDMA device %s (see 'rdma link')\n",
			argc > 2 ? argv[2] : "at all");
		return 1;
	}
	if (ibv_query_port(ib, PORT, &port) || port.state != IBV_PORT_ACTIVE) {
		fprintf(stderr, "rdma-write: %s port %d is not active\n",
			ibv_get_device_name(ib->device), PORT);
		return 1;
	}
	if (ibv_query_gid(ib, PORT, gid_index, &gid))
		return vfail("ibv_query_gid", errno);
	pd = ibv_alloc_pd(ib);
	cq = pd ? ibv_create_cq(ib, 8, NULL, NULL, 0) : NULL;
	qa = cq ? make_qp(pd, cq) : NULL;
	qb = qa ? make_qp(pd, cq) : NULL;
	if (!qb)
		return vfail("protection domain, completion queue or queue pairs", errno);
	/* Loopback: each queue pair's peer is the other one, same port, same GID. */
	if (connect_qp(qa, qb->qp_num, &gid, gid_index, port.active_mtu) ||
	    connect_qp(qb, qa->qp_num, &gid, gid_index, port.active_mtu))
		return 1;

	src = aligned_alloc(4096, LEN);
	src_mr = src ? ibv_reg_mr(pd, src, LEN, IBV_ACCESS_LOCAL_WRITE) : NULL;
	if (!src_mr)
		return vfail("registering the source buffer", errno);
	for (unsigned int i = 0; i < LEN; i++)
		src[i] = (unsigned char)(i * 13 + 5);

	t.rdma.pd = pd;
	if (daxalloc_pin(r, 0, daxalloc_region_get_size(r), &t, &pin) < 0)
		return fail("pin");
	dst = daxalloc_pin_get_address(pin);
	printf("rdma-write: %s: registered %llu bytes in %.3f ms, lkey 0x%x rkey 0x%x\n", argv[1],
	       (unsigned long long)daxalloc_pin_get_length(pin),
	       daxalloc_pin_get_pin_time_ns(pin) / 1e6, daxalloc_pin_get_lkey(pin),
	       daxalloc_pin_get_rkey(pin));

	sge = (struct ibv_sge){ .addr = (uintptr_t)src, .length = LEN, .lkey = src_mr->lkey };
	memset(&wr, 0, sizeof(wr));
	wr.opcode = IBV_WR_RDMA_WRITE;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.wr.rdma.remote_addr = (uintptr_t)dst;
	wr.wr.rdma.rkey = daxalloc_pin_get_rkey(pin);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = ibv_post_send(qa, &wr, &bad);
	if (rc)
		return vfail("ibv_post_send", rc);
	do {
		polled = ibv_poll_cq(cq, 1, &wc);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (polled == 0 && t1.tv_sec - t0.tv_sec < 10);
	if (polled <= 0 || wc.status != IBV_WC_SUCCESS) {
		fprintf(stderr, "rdma-write: the RDMA WRITE %s\n",
			polled <= 0 ? "did not complete in 10 s" : ibv_wc_status_str(wc.status));
		return 1;
	}
	if (memcmp(src, dst, LEN) != 0) {
		fprintf(stderr, "rdma-write: the bytes in the region differ from what was written\n");
		return 1;
	}
	printf("rdma-write: RDMA WRITE of %u bytes into the region verified (%.3f ms)\n", LEN,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);

	ibv_destroy_qp(qa);
	ibv_destroy_qp(qb);
	if (daxalloc_unpin(&pin) < 0)
		return fail("unpin");
	ibv_dereg_mr(src_mr);
	free(src);
	ibv_destroy_cq(cq);
	ibv_dealloc_pd(pd);
	ibv_close_device(ib);
	daxalloc_region_close(&r);
	daxalloc_pool_close(&pool);
	daxalloc_dev_close(&dev);
	daxalloc_ctx_delete(&ctx);
	return 0;
}
