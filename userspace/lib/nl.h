/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VDIRTCTL_NL_H
#define VDIRTCTL_NL_H

#include <stdint.h>
#include <libmnl/libmnl.h>
#include "../../dm-vdirt-genl.h"

struct vnl {
	struct mnl_socket *nl;
	uint16_t family;
	uint32_t grp_events;	/* 0 if the family has no events group */
	uint32_t portid;
	uint32_t seq;
	char *buf;		/* receive buffer */
	size_t buflen;
};

typedef int (*vnl_cb)(const struct nlattr **tb, void *arg);
typedef int (*vnl_put)(struct nlmsghdr *nlh, void *arg);

int vnl_open(struct vnl *v);
void vnl_close(struct vnl *v);
/* device address: "major:minor" or a dm name */
int vnl_put_dev(struct nlmsghdr *nlh, const char *dev);
struct nlmsghdr *vnl_msg(struct vnl *v, char *buf, uint8_t cmd, uint16_t flags);
/* send nlh, run cb on each answer, wait for the ack / NLMSG_DONE; 0 or -errno */
int vnl_talk(struct vnl *v, struct nlmsghdr *nlh, vnl_cb cb, void *arg);
/* parse a generic netlink message's attributes into tb[VDIRT_A_MAX + 1] */
int vnl_parse(const struct nlmsghdr *nlh, const struct nlattr **tb);
int vnl_join_events(struct vnl *v);
/* receive one datagram; calls cb for each VDIRT_CMD_EVENT; -ENOBUFS on overrun */
int vnl_recv_events(struct vnl *v, vnl_cb cb, void *arg);

uint64_t nla_u64(const struct nlattr **tb, int a, uint64_t def);

#endif
