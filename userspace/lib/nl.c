// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: the "vdirt" generic netlink family through libmnl: the family
 * lookup, requests and replies (each attribute type-checked, vnl_policy),
 * device info, mismatch record dumps, events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "nl.h"
#include "util.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

uint64_t nla_u64(const struct nlattr **tb, int a, uint64_t def)
{
	if (!tb[a])
		return def;
	switch (mnl_attr_get_payload_len(tb[a])) {
	case 1: return mnl_attr_get_u8(tb[a]);
	case 2: return mnl_attr_get_u16(tb[a]);
	case 4: return mnl_attr_get_u32(tb[a]);
	case 8: return mnl_attr_get_u64(tb[a]);
	}
	return def;
}

struct ctrl_arg {
	uint16_t id;
	uint32_t grp;
};

static int ctrl_grp_cb(const struct nlattr *a, void *data)
{
	struct ctrl_arg *c = data;
	struct nlattr *g;
	const char *name = NULL;
	uint32_t id = 0;

	mnl_attr_for_each_nested(g, a) {
		if (mnl_attr_get_type(g) == CTRL_ATTR_MCAST_GRP_NAME &&
		    !mnl_attr_validate(g, MNL_TYPE_NUL_STRING))
			name = mnl_attr_get_str(g);
		else if (mnl_attr_get_type(g) == CTRL_ATTR_MCAST_GRP_ID &&
			 !mnl_attr_validate(g, MNL_TYPE_U32))
			id = mnl_attr_get_u32(g);
	}
	if (name && !strcmp(name, VDIRT_GENL_MCGRP_EVENTS))
		c->grp = id;
	return MNL_CB_OK;
}

_Static_assert((int)CTRL_ATTR_MCAST_GROUPS <= (int)VDIRT_A_MAX, "parse_ctrl() keeps them");

/* the controller's answer to CTRL_CMD_GETFAMILY, through vnl_talk() */
static int ctrl_cb(const struct nlattr **tb, void *arg)
{
	const struct nlattr *a = tb[CTRL_ATTR_FAMILY_ID];
	struct ctrl_arg *c = arg;
	struct nlattr *n;

	if (a && !mnl_attr_validate(a, MNL_TYPE_U16))
		c->id = mnl_attr_get_u16(a);
	if (tb[CTRL_ATTR_MCAST_GROUPS])
		mnl_attr_for_each_nested(n, tb[CTRL_ATTR_MCAST_GROUPS])
			ctrl_grp_cb(n, c);
	return 0;
}

struct nlmsghdr *vnl_msg(struct vnl *v, char *buf, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = v->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++v->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = cmd == CTRL_CMD_GETFAMILY && v->family == GENL_ID_CTRL ?
		     1 : VDIRT_GENL_VERSION;
	return nlh;
}

/* extack message of an NLMSG_ERROR, if any */
static const char *extack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct nlattr *attr;
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off = sizeof(int) + NLMSG_ALIGN(e->msg.nlmsg_len);
	if (off > mnl_nlmsg_get_payload_len(nlh))
		return NULL;
	mnl_attr_for_each_payload((void *)((const char *)e + off),
				  mnl_nlmsg_get_payload_len(nlh) - off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    !mnl_attr_validate(attr, MNL_TYPE_NUL_STRING))
			return mnl_attr_get_str(attr);
	}
	return NULL;
}

/*
 * The type of every attribute the kernel sends (dm-vdirt-genl.h), checked
 * with mnl_attr_validate() on receipt; max: the longest payload, 0 for the
 * type's own length.  An attribute not listed (a newer kernel's) is kept
 * unchecked and unread.
 */
static const struct {
	enum mnl_attr_data_type type;
	uint16_t max;
} vnl_policy[VDIRT_A_MAX + 1] = {
	[VDIRT_A_DEV_NAME] = { MNL_TYPE_NUL_STRING, VDIRT_DEV_NAME_MAX },
	[VDIRT_A_DEV_MAJOR] = { MNL_TYPE_U32 },
	[VDIRT_A_DEV_MINOR] = { MNL_TYPE_U32 },
	[VDIRT_A_DATA_SECTORS] = { MNL_TYPE_U64 },
	[VDIRT_A_NR_CLUSTERS] = { MNL_TYPE_U64 },
	[VDIRT_A_CLUSTER_SIZE] = { MNL_TYPE_U32 },
	[VDIRT_A_DIGEST_SIZE] = { MNL_TYPE_U32 },
	[VDIRT_A_HASH_NAME] = { MNL_TYPE_NUL_STRING, 64 },
	[VDIRT_A_STATE] = { MNL_TYPE_U8 },
	[VDIRT_A_MODE] = { MNL_TYPE_U8 },
	[VDIRT_A_READ_VERIFY] = { MNL_TYPE_U8 },
	[VDIRT_A_FAIL_OPEN] = { MNL_TYPE_U8 },
	[VDIRT_A_MEASURED] = { MNL_TYPE_U64 },
	[VDIRT_A_BASELINED] = { MNL_TYPE_U64 },
	[VDIRT_A_READS_VERIFIED] = { MNL_TYPE_U64 },
	[VDIRT_A_READ_MISMATCHES] = { MNL_TYPE_U64 },
	[VDIRT_A_WRITE_DRIFT] = { MNL_TYPE_U64 },
	[VDIRT_A_UNALIGNED] = { MNL_TYPE_U64 },
	[VDIRT_A_META_ERRORS] = { MNL_TYPE_U64 },
	[VDIRT_A_TOFU] = { MNL_TYPE_U64 },
	[VDIRT_A_SCAN_RUNNING] = { MNL_TYPE_U8 },
	[VDIRT_A_SCAN_POS] = { MNL_TYPE_U64 },
	[VDIRT_A_LOG_FIRST] = { MNL_TYPE_U64 },
	[VDIRT_A_LOG_HEAD] = { MNL_TYPE_U64 },
	[VDIRT_A_EVENT_SEQ] = { MNL_TYPE_U64 },
	[VDIRT_A_EVENTS_DROPPED] = { MNL_TYPE_U64 },
	[VDIRT_A_LOAD_ID] = { MNL_TYPE_U32 },
	[VDIRT_A_FIRST_CLUSTER] = { MNL_TYPE_U64 },
	[VDIRT_A_COUNT] = { MNL_TYPE_U64 },
	[VDIRT_A_DIGESTS] = { MNL_TYPE_BINARY },
	[VDIRT_A_BASELINE_DIGESTS] = { MNL_TYPE_BINARY },
	[VDIRT_A_VALID] = { MNL_TYPE_BINARY },
	[VDIRT_A_REC_SEQ] = { MNL_TYPE_U64 },
	[VDIRT_A_CLUSTER] = { MNL_TYPE_U64 },
	[VDIRT_A_KIND] = { MNL_TYPE_U8 },
	[VDIRT_A_OP] = { MNL_TYPE_U8 },
	[VDIRT_A_TIME] = { MNL_TYPE_U64 },
	[VDIRT_A_EXPECTED] = { MNL_TYPE_BINARY, VDIRT_MAX_DIGEST_SIZE },
	[VDIRT_A_ACTUAL] = { MNL_TYPE_BINARY, VDIRT_MAX_DIGEST_SIZE },
	[VDIRT_A_REC_AUX] = { MNL_TYPE_BINARY, 4 * sizeof(uint64_t) },
	[VDIRT_A_RECOVER_POS] = { MNL_TYPE_U64 },
	[VDIRT_A_RECOVER_TOTAL] = { MNL_TYPE_U64 },
	[VDIRT_A_CHANGE_ID] = { MNL_TYPE_U64 },
	[VDIRT_A_CHANGE_KIND] = { MNL_TYPE_U8 },
	[VDIRT_A_CHANGE_POS] = { MNL_TYPE_U64 },
	[VDIRT_A_CHANGE_TOTAL] = { MNL_TYPE_U64 },
	[VDIRT_A_CHANGE_PAUSED] = { MNL_TYPE_U8 },
	[VDIRT_A_CHANGE_DONE_ID] = { MNL_TYPE_U64 },
	[VDIRT_A_CHANGE_RESULT] = { MNL_TYPE_U32 },
	[VDIRT_A_EPOCH] = { MNL_TYPE_U64 },
	[VDIRT_A_EPOCH_FIRST] = { MNL_TYPE_U64 },
	[VDIRT_A_EPOCH_LABEL] = { MNL_TYPE_NUL_STRING, VDIRT_EPOCH_LABEL_LEN },
	[VDIRT_A_EPOCH_START] = { MNL_TYPE_U64 },
	[VDIRT_A_EPOCH_END] = { MNL_TYPE_U64 },
	[VDIRT_A_EPOCH_WRITTEN] = { MNL_TYPE_U64 },
	[VDIRT_A_EPOCH_FLAGS] = { MNL_TYPE_U32 },
	[VDIRT_A_EPOCH_LOG_FIRST] = { MNL_TYPE_U64 },
	[VDIRT_A_EPOCH_LOG_END] = { MNL_TYPE_U64 },
	[VDIRT_A_RUNS] = { MNL_TYPE_BINARY },
	[VDIRT_A_WRITE_EPOCHS] = { MNL_TYPE_BINARY },
	[VDIRT_A_WRITE_TIMES] = { MNL_TYPE_BINARY },
	[VDIRT_A_REC_RAW] = { MNL_TYPE_BINARY, VDIRT_RECORD_SIZE },
	[VDIRT_A_REC_EPOCH] = { MNL_TYPE_U64 },
	[VDIRT_A_LOG_HASH] = { MNL_TYPE_BINARY, 32 },
	[VDIRT_A_CHAIN_START] = { MNL_TYPE_U64 },
	[VDIRT_A_LOG_KEYED] = { MNL_TYPE_U8 },
	[VDIRT_A_UUID] = { MNL_TYPE_BINARY, 16 },
	[VDIRT_A_SB_SEQ] = { MNL_TYPE_U64 },
	/* the attestation tree (lib/attest.c) */
	[VDIRT_A_ROOT] = { MNL_TYPE_BINARY, 32 },
	[VDIRT_A_ROOT_ID] = { MNL_TYPE_U64 },
	[VDIRT_A_ROOT_DONE_ID] = { MNL_TYPE_U64 },
	[VDIRT_A_ROOT_RESULT] = { MNL_TYPE_U32 },
	[VDIRT_A_PROOF] = { MNL_TYPE_BINARY, VDIRT_MERKLE_MAX_HEIGHT * 32 },
	[VDIRT_A_SNAP] = { MNL_TYPE_U8 },
	[VDIRT_A_EPOCH_ROOT] = { MNL_TYPE_BINARY, 32 },
	[VDIRT_A_EPOCH_LOG_HASH] = { MNL_TYPE_BINARY, 32 },
};

/* the controller family's attributes, read by ctrl_cb() with their own checks */
static void parse_ctrl(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	const struct nlattr *a;

	memset(tb, 0, sizeof(*tb) * (VDIRT_A_MAX + 1));
	mnl_attr_for_each(a, nlh, GENL_HDRLEN) {
		uint16_t t = mnl_attr_get_type(a);

		if (t <= VDIRT_A_MAX)
			tb[t] = a;
	}
}

int vnl_parse(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	const struct nlattr *a;

	memset(tb, 0, sizeof(*tb) * (VDIRT_A_MAX + 1));
	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return -EINVAL;
	mnl_attr_for_each(a, nlh, GENL_HDRLEN) {
		uint16_t t = mnl_attr_get_type(a);

		if (t > VDIRT_A_MAX || vnl_policy[t].type == MNL_TYPE_UNSPEC)
			continue;
		if (mnl_attr_validate(a, vnl_policy[t].type) < 0 ||
		    (vnl_policy[t].max && mnl_attr_get_payload_len(a) > vnl_policy[t].max)) {
			vlog(VLOG_DEBUG, "netlink: attribute %u: bad type or length %u", t,
			     mnl_attr_get_payload_len(a));
			return -EINVAL;
		}
		tb[t] = a;
	}
	return 0;
}

int vnl_talk(struct vnl *v, struct nlmsghdr *nlh, vnl_cb cb, void *arg)
{
	uint32_t seq = nlh->nlmsg_seq;
	int cbret = 0;

	vlog(VLOG_DEBUG, "netlink: send cmd %u len %u flags 0x%x",
	    ((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd,
	    nlh->nlmsg_len, nlh->nlmsg_flags);
	if (mnl_socket_sendto(v->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(v->nl, v->buf, v->buflen);
		struct nlmsghdr *h = (struct nlmsghdr *)v->buf;
		int len = n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
				const char *m = extack_msg(h);

				if (e->error && m)
					vlog(VLOG_ERR, "kernel: %s", m);
				if (e->error)
					vlog(VLOG_DEBUG, "netlink: error %d", e->error);
				return e->error ? e->error : cbret;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				int e = 0;

				if (mnl_nlmsg_get_payload_len(h) >= sizeof(int))
					memcpy(&e, mnl_nlmsg_get_payload(h), sizeof(int));
				if (e < 0)
					return e;
				/* a dump's DONE; an ACK may not follow */
				return cbret;
			}
			if (h->nlmsg_type == v->family && cb && !cbret) {
				const struct nlattr *tb[VDIRT_A_MAX + 1];

				if (v->family == GENL_ID_CTRL)
					parse_ctrl(h, tb);
				else
					cbret = vnl_parse(h, tb);
				if (!cbret)
					cbret = cb(tb, arg);
			}
		}
	}
}

int vnl_open(struct vnl *v)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ctrl_arg c = { 0, 0 };
	struct nlmsghdr *nlh;
	int one = 1, r;

	memset(v, 0, sizeof(*v));
	v->buflen = 1 << 16;
	v->buf = malloc(v->buflen);
	if (!v->buf)
		return -ENOMEM;
	v->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!v->nl)
		return -errno;
	if (mnl_socket_bind(v->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	mnl_socket_setsockopt(v->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(v->nl, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	v->portid = mnl_socket_get_portid(v->nl);
	v->seq = time(NULL);
	v->family = GENL_ID_CTRL;
	nlh = vnl_msg(v, buf, CTRL_CMD_GETFAMILY, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, VDIRT_GENL_NAME);
	r = vnl_talk(v, nlh, ctrl_cb, &c);
	if (r == -ENOENT || (!r && !c.id)) {
		vlog(VLOG_ERR, "the kernel has no '%s' generic netlink family: is the dm_vdirt module loaded?",
		    VDIRT_GENL_NAME);
		return -ENOENT;
	}
	if (r)
		return r;
	v->family = c.id;
	v->grp_events = c.grp;
	vlog(VLOG_DEBUG, "netlink: family %s id %u events group %u", VDIRT_GENL_NAME,
	    v->family, v->grp_events);
	return 0;
}

void vnl_close(struct vnl *v)
{
	if (v->nl)
		mnl_socket_close(v->nl);
	free(v->buf);
	memset(v, 0, sizeof(*v));
}

int vnl_put_dev(struct nlmsghdr *nlh, const char *dev)
{
	unsigned int ma, mi;
	char c;

	if (sscanf(dev, "%u:%u%c", &ma, &mi, &c) == 2) {
		mnl_attr_put_u32(nlh, VDIRT_A_DEV_MAJOR, ma);
		mnl_attr_put_u32(nlh, VDIRT_A_DEV_MINOR, mi);
		return 0;
	}
	if (strlen(dev) >= VDIRT_DEV_NAME_MAX)
		return -ENAMETOOLONG;
	mnl_attr_put_strz(nlh, VDIRT_A_DEV_NAME, dev);
	return 0;
}

int vnl_join_events(struct vnl *v)
{
	int g = v->grp_events;

	if (!g) {
		vlog(VLOG_ERR, "the kernel's vdirt family has no '%s' group", VDIRT_GENL_MCGRP_EVENTS);
		return -EOPNOTSUPP;
	}
	if (mnl_socket_setsockopt(v->nl, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0)
		return -errno;
	return 0;
}

int vnl_recv_events(struct vnl *v, vnl_cb cb, void *arg)
{
	ssize_t n = mnl_socket_recvfrom(v->nl, v->buf, v->buflen);
	struct nlmsghdr *h = (struct nlmsghdr *)v->buf;
	int len = n, r;

	if (n < 0)
		return -errno;
	for (; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len)) {
		const struct nlattr *tb[VDIRT_A_MAX + 1];
		struct genlmsghdr *g;

		if (h->nlmsg_type != v->family)
			continue;
		g = mnl_nlmsg_get_payload(h);
		if (g->cmd != VDIRT_CMD_EVENT)
			continue;
		r = vnl_parse(h, tb);
		if (!r)
			r = cb(tb, arg);
		if (r)
			return r;
	}
	return 0;
}

/* ---- devices, records, simple commands ---- */

static void copy_str(char *dst, size_t n, const struct nlattr *a)
{
	size_t l;

	dst[0] = 0;
	if (!a)
		return;
	l = mnl_attr_get_payload_len(a);
	if (l >= n)
		l = n - 1;
	memcpy(dst, mnl_attr_get_payload(a), l);
	dst[l] = 0;
}

void vnl_dev_fill(const struct nlattr **tb, struct vdev_info *d)
{
	memset(d, 0, sizeof(*d));
	copy_str(d->name, sizeof(d->name), tb[VDIRT_A_DEV_NAME]);
	copy_str(d->hash, sizeof(d->hash), tb[VDIRT_A_HASH_NAME]);
	d->major = nla_u64(tb, VDIRT_A_DEV_MAJOR, 0);
	d->minor = nla_u64(tb, VDIRT_A_DEV_MINOR, 0);
	d->data_sectors = nla_u64(tb, VDIRT_A_DATA_SECTORS, 0);
	d->nr_clusters = nla_u64(tb, VDIRT_A_NR_CLUSTERS, 0);
	d->cluster_size = nla_u64(tb, VDIRT_A_CLUSTER_SIZE, 0);
	d->digest_size = nla_u64(tb, VDIRT_A_DIGEST_SIZE, 0);
	d->state = nla_u64(tb, VDIRT_A_STATE, 0);
	d->enforce = nla_u64(tb, VDIRT_A_MODE, 0) == VDIRT_GENL_MODE_ENFORCE;
	d->read_verify = nla_u64(tb, VDIRT_A_READ_VERIFY, 0);
	d->fail_open = nla_u64(tb, VDIRT_A_FAIL_OPEN, 0);
	d->measured = nla_u64(tb, VDIRT_A_MEASURED, 0);
	d->baselined = nla_u64(tb, VDIRT_A_BASELINED, 0);
	d->reads_verified = nla_u64(tb, VDIRT_A_READS_VERIFIED, 0);
	d->read_mismatches = nla_u64(tb, VDIRT_A_READ_MISMATCHES, 0);
	d->write_drift = nla_u64(tb, VDIRT_A_WRITE_DRIFT, 0);
	d->unaligned = nla_u64(tb, VDIRT_A_UNALIGNED, 0);
	d->meta_errors = nla_u64(tb, VDIRT_A_META_ERRORS, 0);
	d->tofu = nla_u64(tb, VDIRT_A_TOFU, 0);
	d->scan_running = nla_u64(tb, VDIRT_A_SCAN_RUNNING, 0);
	d->scan_pos = nla_u64(tb, VDIRT_A_SCAN_POS, 0);
	d->log_first = nla_u64(tb, VDIRT_A_LOG_FIRST, 0);
	d->log_head = nla_u64(tb, VDIRT_A_LOG_HEAD, 0);
	d->event_seq = nla_u64(tb, VDIRT_A_EVENT_SEQ, 0);
	d->events_dropped = nla_u64(tb, VDIRT_A_EVENTS_DROPPED, 0);
	d->recover_pos = nla_u64(tb, VDIRT_A_RECOVER_POS, 0);
	d->recover_total = nla_u64(tb, VDIRT_A_RECOVER_TOTAL, 0);
	d->change_kind = nla_u64(tb, VDIRT_A_CHANGE_KIND, 0);
	d->change_paused = nla_u64(tb, VDIRT_A_CHANGE_PAUSED, 0);
	d->change_pos = nla_u64(tb, VDIRT_A_CHANGE_POS, 0);
	d->change_total = nla_u64(tb, VDIRT_A_CHANGE_TOTAL, 0);
	d->change_id = nla_u64(tb, VDIRT_A_CHANGE_ID, 0);
	d->change_done_id = nla_u64(tb, VDIRT_A_CHANGE_DONE_ID, 0);
	d->change_result = nla_u64(tb, VDIRT_A_CHANGE_RESULT, 0);
	if (tb[VDIRT_A_LOG_HASH] && mnl_attr_get_payload_len(tb[VDIRT_A_LOG_HASH]) == 32) {
		d->has_chain = 1;
		memcpy(d->log_hash, mnl_attr_get_payload(tb[VDIRT_A_LOG_HASH]), 32);
	}
	d->chain_start = nla_u64(tb, VDIRT_A_CHAIN_START, 0);
	d->log_keyed = nla_u64(tb, VDIRT_A_LOG_KEYED, 0);
	d->sb_seq = nla_u64(tb, VDIRT_A_SB_SEQ, 0);
	d->epoch = nla_u64(tb, VDIRT_A_EPOCH, 0);
	if (tb[VDIRT_A_UUID] && mnl_attr_get_payload_len(tb[VDIRT_A_UUID]) == 16)
		memcpy(d->uuid, mnl_attr_get_payload(tb[VDIRT_A_UUID]), 16);
	d->found = 1;
}

static int dev_get_cb(const struct nlattr **tb, void *arg)
{
	vnl_dev_fill(tb, arg);
	return 0;
}

int vnl_dev_get(struct vnl *v, const char *dev, struct vdev_info *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = vnl_msg(v, buf, VDIRT_CMD_DEV_GET, 0);
	int r;

	memset(d, 0, sizeof(*d));
	r = vnl_put_dev(nlh, dev);
	if (!r)
		r = vnl_talk(v, nlh, dev_get_cb, d);
	if (!r && !d->found)
		r = -EIO;
	return r;
}

struct dev_list_arg {
	int (*fn)(const struct vdev_info *d, void *arg);
	void *arg;
};

static int dev_list_cb(const struct nlattr **tb, void *arg)
{
	struct dev_list_arg *a = arg;
	struct vdev_info d;

	vnl_dev_fill(tb, &d);
	return a->fn(&d, a->arg);
}

int vnl_dev_list(struct vnl *v, int (*fn)(const struct vdev_info *d, void *arg), void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = vnl_msg(v, buf, VDIRT_CMD_DEV_GET, NLM_F_DUMP);
	struct dev_list_arg a = { fn, arg };

	return vnl_talk(v, nlh, dev_list_cb, &a);
}

const char *vnl_state_name(int state)
{
	return state == VDIRT_GENL_STATE_OK ? "ok" :
	       state == VDIRT_GENL_STATE_DEGRADED ? "degraded" : "failed";
}

void vnl_rec_fill(const struct nlattr **tb, struct vrec *r)
{
	unsigned int le = 0, la = 0;

	memset(r, 0, sizeof(*r));
	copy_str(r->dev, sizeof(r->dev), tb[VDIRT_A_DEV_NAME]);
	r->major = nla_u64(tb, VDIRT_A_DEV_MAJOR, 0);
	r->minor = nla_u64(tb, VDIRT_A_DEV_MINOR, 0);
	r->rec_seq = nla_u64(tb, VDIRT_A_REC_SEQ, 0);
	r->seq = nla_u64(tb, VDIRT_A_EVENT_SEQ, r->rec_seq);
	r->cluster = nla_u64(tb, VDIRT_A_CLUSTER, 0);
	r->time = nla_u64(tb, VDIRT_A_TIME, 0);
	r->kind = nla_u64(tb, VDIRT_A_KIND, 0);
	r->op = nla_u64(tb, VDIRT_A_OP, 0);
	if (tb[VDIRT_A_EXPECTED])
		le = mnl_attr_get_payload_len(tb[VDIRT_A_EXPECTED]);
	if (tb[VDIRT_A_ACTUAL])
		la = mnl_attr_get_payload_len(tb[VDIRT_A_ACTUAL]);
	if (le > sizeof(r->expected))
		le = sizeof(r->expected);
	if (la > sizeof(r->actual))
		la = sizeof(r->actual);
	if (le)
		memcpy(r->expected, mnl_attr_get_payload(tb[VDIRT_A_EXPECTED]), le);
	if (la)
		memcpy(r->actual, mnl_attr_get_payload(tb[VDIRT_A_ACTUAL]), la);
	r->dlen = le > la ? le : la;
	if (tb[VDIRT_A_REC_AUX] && mnl_attr_get_payload_len(tb[VDIRT_A_REC_AUX]) >= sizeof(r->aux))
		memcpy(r->aux, mnl_attr_get_payload(tb[VDIRT_A_REC_AUX]), sizeof(r->aux));
	r->epoch = nla_u64(tb, VDIRT_A_REC_EPOCH, 0);
	if (tb[VDIRT_A_REC_RAW] &&
	    mnl_attr_get_payload_len(tb[VDIRT_A_REC_RAW]) == VDIRT_RECORD_SIZE) {
		memcpy(r->raw, mnl_attr_get_payload(tb[VDIRT_A_REC_RAW]), VDIRT_RECORD_SIZE);
		r->has_raw = 1;
	}
}

struct dump_arg {
	int (*fn)(const struct vrec *r, void *arg);
	void *arg;
};

static int dump_cb(const struct nlattr **tb, void *arg)
{
	struct dump_arg *a = arg;
	struct vrec r;

	vnl_rec_fill(tb, &r);
	return a->fn(&r, a->arg);
}

int vnl_dump_records(struct vnl *v, const char *dev, uint64_t from,
		     int (*fn)(const struct vrec *r, void *arg), void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = vnl_msg(v, buf, VDIRT_CMD_MISMATCH_GET, NLM_F_DUMP);
	struct dump_arg a = { fn, arg };
	int r;

	r = vnl_put_dev(nlh, dev);
	if (r)
		return r;
	if (from)
		mnl_attr_put_u64(nlh, VDIRT_A_REC_SEQ, from);
	return vnl_talk(v, nlh, dump_cb, &a);
}

static int change_id_cb(const struct nlattr **tb, void *arg)
{
	*(uint64_t *)arg = nla_u64(tb, VDIRT_A_CHANGE_ID, 0);
	return 0;
}

int vnl_dev_cmd(struct vnl *v, const char *dev, uint8_t cmd, uint64_t *change_id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = vnl_msg(v, buf, cmd, 0);
	uint64_t id = 0;
	int r;

	r = vnl_put_dev(nlh, dev);
	if (!r)
		r = vnl_talk(v, nlh, change_id ? change_id_cb : NULL, &id);
	if (change_id)
		*change_id = r ? 0 : id;
	return r;
}
