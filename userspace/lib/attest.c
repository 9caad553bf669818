// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: attestation over the "vdirt" netlink family: ATTEST starts a
 * root (and proof) computation in the kernel, ATTEST_GET reports it; the
 * metadata snapshot through the target's messages and its digest dump; the
 * epochs with their roots.  Prints nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest.h"
#include "dm.h"
#include "util.h"

static int start_cb(const struct nlattr **tb, void *arg)
{
	if (!tb[VDIRT_A_ROOT_ID])
		return -EBADMSG;
	*(uint64_t *)arg = nla_u64(tb, VDIRT_A_ROOT_ID, 0);
	return 0;
}

int vnl_attest_start(struct vnl *v, const char *dev, const uint64_t *cluster, uint64_t *id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int r;

	*id = 0;
	nlh = vnl_msg(v, buf, VDIRT_CMD_ATTEST, 0);
	r = vnl_put_dev(nlh, dev);
	if (r)
		return r;
	if (cluster)
		mnl_attr_put_u64(nlh, VDIRT_A_CLUSTER, *cluster);
	r = vnl_talk(v, nlh, start_cb, id);
	if (!r && !*id)
		r = -EBADMSG;
	return r;
}

static int bin(const struct nlattr **tb, int a, void *out, size_t len)
{
	if (!tb[a] || mnl_attr_get_payload_len(tb[a]) != len)
		return 0;
	memcpy(out, mnl_attr_get_payload(tb[a]), len);
	return 1;
}

int vattest_fill(const struct nlattr **tb, struct vattest *a)
{
	uint32_t plen;

	memset(a, 0, sizeof(*a));
	if (!tb[VDIRT_A_ROOT_ID] || !tb[VDIRT_A_ROOT_DONE_ID] || !tb[VDIRT_A_NR_CLUSTERS] ||
	    !tb[VDIRT_A_DIGEST_SIZE] || !tb[VDIRT_A_HASH_NAME])
		return -EBADMSG;
	a->root_id = nla_u64(tb, VDIRT_A_ROOT_ID, 0);
	a->done_id = nla_u64(tb, VDIRT_A_ROOT_DONE_ID, 0);
	a->result = nla_u64(tb, VDIRT_A_ROOT_RESULT, 0);
	a->nr_clusters = nla_u64(tb, VDIRT_A_NR_CLUSTERS, 0);
	a->cluster_size = nla_u64(tb, VDIRT_A_CLUSTER_SIZE, 0);
	a->digest_size = nla_u64(tb, VDIRT_A_DIGEST_SIZE, 0);
	snprintf(a->hash, sizeof(a->hash), "%s", mnl_attr_get_str(tb[VDIRT_A_HASH_NAME]));
	bin(tb, VDIRT_A_UUID, a->uuid, 16);
	if (a->digest_size > VDIRT_MAX_DIGEST_SIZE)
		return -EBADMSG;
	if (a->result || !tb[VDIRT_A_ROOT])
		return 0;
	if (!bin(tb, VDIRT_A_ROOT, a->root, VMERKLE_SIZE))
		return -EBADMSG;
	a->has_root = 1;
	a->epoch = nla_u64(tb, VDIRT_A_EPOCH, 0);
	a->time_ns = nla_u64(tb, VDIRT_A_TIME, 0);
	a->log_head = nla_u64(tb, VDIRT_A_LOG_HEAD, 0);
	a->sb_seq = nla_u64(tb, VDIRT_A_SB_SEQ, 0);
	a->has_log_hash = bin(tb, VDIRT_A_LOG_HASH, a->log_hash, 32);
	if (!tb[VDIRT_A_PROOF])
		return 0;
	plen = mnl_attr_get_payload_len(tb[VDIRT_A_PROOF]);
	a->height = vdirt_merkle_height(a->nr_clusters);
	if (!tb[VDIRT_A_CLUSTER] || plen != a->height * VMERKLE_SIZE ||
	    !bin(tb, VDIRT_A_DIGESTS, a->digest, a->digest_size))
		return -EBADMSG;
	memcpy(a->proof, mnl_attr_get_payload(tb[VDIRT_A_PROOF]), plen);
	a->cluster = nla_u64(tb, VDIRT_A_CLUSTER, 0);
	a->measured = !!(nla_u64(tb, VDIRT_A_VALID, 0) & VDIRT_HV_CURRENT);
	if (!a->measured)
		memset(a->digest, 0, sizeof(a->digest));
	a->has_proof = 1;
	return 0;
}

static int get_cb(const struct nlattr **tb, void *arg)
{
	return vattest_fill(tb, arg);
}

int vnl_attest_get(struct vnl *v, const char *dev, struct vattest *a)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int r;

	memset(a, 0, sizeof(*a));
	nlh = vnl_msg(v, buf, VDIRT_CMD_ATTEST_GET, 0);
	r = vnl_put_dev(nlh, dev);
	if (!r)
		r = vnl_talk(v, nlh, get_cb, a);
	if (!r && !a->root_id && !a->done_id && !a->nr_clusters)
		r = -EBADMSG;	/* no answer */
	return r;
}

int vnl_attest_wait(struct vnl *v, const char *dev, uint64_t id, unsigned int timeout_ms,
		    volatile sig_atomic_t *stop, struct vattest *a)
{
	uint64_t end = mono_ns() + (uint64_t)timeout_ms * 1000000ULL;
	int r;

	for (;;) {
		r = vnl_attest_get(v, dev, a);
		if (r)
			return r;
		if (a->done_id == id)
			break;
		if (a->done_id > id || a->root_id < id)
			return -ESTALE;
		if (stop && *stop)
			return -EINTR;
		if (mono_ns() > end)
			return -ETIMEDOUT;
		usleep(50000);
	}
	if (a->result)
		return -a->result;
	return a->has_root ? 0 : -EBADMSG;
}

void vattest_geom(const struct vattest *a, struct vmerkle_geom *g)
{
	memset(g, 0, sizeof(*g));
	g->nr_clusters = a->nr_clusters;
	g->cluster_size = a->cluster_size;
	g->digest_size = a->digest_size;
	snprintf(g->hash_name, sizeof(g->hash_name), "%s", a->hash);
}

int vdm_snap_take(const char *dev, uint64_t *root_id)
{
	char resp[64];
	int r;

	r = vdm_message(dev, "metadata_snap take", resp, sizeof(resp));
	if (!r && (parse_u64(resp, root_id) || !*root_id))
		r = -EBADMSG;
	return r;
}

int vdm_snap_drop(const char *dev)
{
	char resp[64];

	return vdm_message(dev, "metadata_snap drop", resp, sizeof(resp));
}

struct snap_arg {
	unsigned int ds;
	uint64_t next;
	int (*fn)(uint64_t first, uint64_t n, const uint8_t *valid, const uint8_t *digests,
		  void *arg);
	void *arg;
};

static int snap_cb(const struct nlattr **tb, void *arg)
{
	struct snap_arg *a = arg;
	uint64_t first = nla_u64(tb, VDIRT_A_FIRST_CLUSTER, 0), n = nla_u64(tb, VDIRT_A_COUNT, 0);
	int r;

	if (!tb[VDIRT_A_FIRST_CLUSTER] || !n || first != a->next || !tb[VDIRT_A_VALID] ||
	    !tb[VDIRT_A_DIGESTS] || mnl_attr_get_payload_len(tb[VDIRT_A_VALID]) < n ||
	    mnl_attr_get_payload_len(tb[VDIRT_A_DIGESTS]) < n * a->ds)
		return -EBADMSG;
	r = a->fn(first, n, mnl_attr_get_payload(tb[VDIRT_A_VALID]),
		  mnl_attr_get_payload(tb[VDIRT_A_DIGESTS]), a->arg);
	a->next = first + n;
	return r;
}

int vnl_snap_digests(struct vnl *v, const char *dev, unsigned int ds,
		     int (*fn)(uint64_t first, uint64_t n, const uint8_t *valid,
			       const uint8_t *digests, void *arg), void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct snap_arg a = { ds, 0, fn, arg };
	struct nlmsghdr *nlh;
	int r;

	nlh = vnl_msg(v, buf, VDIRT_CMD_HASH_GET, NLM_F_DUMP);
	r = vnl_put_dev(nlh, dev);
	if (r)
		return r;
	mnl_attr_put_u64(nlh, VDIRT_A_FIRST_CLUSTER, 0);
	mnl_attr_put_u8(nlh, VDIRT_A_SNAP, 1);
	return vnl_talk(v, nlh, snap_cb, &a);
}
