// SPDX-License-Identifier: GPL-2.0
/* vdirtctl: the "vdirt" generic netlink family through libmnl */
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

_Static_assert((int)CTRL_ATTR_MCAST_GROUPS <= (int)VDIRT_A_MAX, "vnl_parse() keeps them");

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

int vnl_parse(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	const struct nlattr *a;

	memset(tb, 0, sizeof(*tb) * (VDIRT_A_MAX + 1));
	mnl_attr_for_each(a, nlh, GENL_HDRLEN) {
		uint16_t t = mnl_attr_get_type(a);

		if (t <= VDIRT_A_MAX)
			tb[t] = a;
	}
	return 0;
}

int vnl_talk(struct vnl *v, struct nlmsghdr *nlh, vnl_cb cb, void *arg)
{
	uint32_t seq = nlh->nlmsg_seq;
	int cbret = 0;

	dbg("netlink: send cmd %u len %u flags 0x%x",
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
					err("kernel: %s", m);
				if (e->error)
					dbg("netlink: error %d", e->error);
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

				vnl_parse(h, tb);
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
		err("the kernel has no '%s' generic netlink family: is the dm_vdirt module loaded?",
		    VDIRT_GENL_NAME);
		return -ENOENT;
	}
	if (r)
		return r;
	v->family = c.id;
	v->grp_events = c.grp;
	dbg("netlink: family %s id %u events group %u", VDIRT_GENL_NAME,
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
		err("the kernel's vdirt family has no '%s' group", VDIRT_GENL_MCGRP_EVENTS);
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
		vnl_parse(h, tb);
		r = cb(tb, arg);
		if (r)
			return r;
	}
	return 0;
}
