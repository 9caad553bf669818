/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvdirt: the "vdirt" generic netlink family (dm-vdirt-genl.h) through
 * libmnl: requests, replies checked attribute by attribute, device info,
 * mismatch records, events.
 */
#ifndef VDIRTCTL_NL_H
#define VDIRTCTL_NL_H

#include <stdint.h>
#include <libmnl/libmnl.h>
#include "../../dm-vdirt-genl.h"
#include "journal.h"

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
/*
 * Parse a vdirt message's attributes into tb[VDIRT_A_MAX + 1], each checked
 * against its type (mnl_attr_validate()); -EINVAL for a wrong-typed one.
 */
int vnl_parse(const struct nlmsghdr *nlh, const struct nlattr **tb);
int vnl_join_events(struct vnl *v);
/* receive one datagram; calls cb for each VDIRT_CMD_EVENT; -ENOBUFS on overrun */
int vnl_recv_events(struct vnl *v, vnl_cb cb, void *arg);

uint64_t nla_u64(const struct nlattr **tb, int a, uint64_t def);


/* one device as VDIRT_CMD_DEV_GET gives it */
struct vdev_info {
	char name[VDIRT_DEV_NAME_MAX];
	uint32_t major, minor;
	uint64_t data_sectors, nr_clusters;
	uint32_t cluster_size, digest_size;
	char hash[64];
	int state, enforce, read_verify, fail_open, scan_running;
	uint64_t measured, baselined, reads_verified, read_mismatches, write_drift;
	uint64_t unaligned, meta_errors, tofu, scan_pos, log_first, log_head;
	uint64_t event_seq, events_dropped;
	uint64_t recover_pos, recover_total;	/* total 0: not recovering */
	/* the baseline change (capture, clear, load commit, mismatch clear) */
	int change_kind, change_paused;		/* VDIRT_GENL_CHANGE_*, NONE: idle */
	uint64_t change_pos, change_total;
	uint64_t change_id, change_done_id;	/* last started, last ended */
	int change_result;			/* errno of the last ended, 0: ok */
	/* the record chain (RO_COMPAT_CHAIN: has_chain), uuid, commit seq */
	int has_chain, log_keyed;
	uint8_t log_hash[32];
	uint64_t chain_start, sb_seq;
	uint64_t epoch;				/* EPOCH: the open epoch */
	uint8_t uuid[16];
	int found;
};

void vnl_dev_fill(const struct nlattr **tb, struct vdev_info *d);
/* one device (a dm name or "major:minor"); -ENODEV/-ENOENT when it is not one */
int vnl_dev_get(struct vnl *v, const char *dev, struct vdev_info *d);
/* every device; fn's non-zero return ends the walk and is returned */
int vnl_dev_list(struct vnl *v, int (*fn)(const struct vdev_info *d, void *arg), void *arg);
/* "ok", "degraded" or "failed" */
const char *vnl_state_name(int state);

void vnl_rec_fill(const struct nlattr **tb, struct vrec *r);
/* dev's mismatch records from record number from on, to fn */
int vnl_dump_records(struct vnl *v, const char *dev, uint64_t from,
		     int (*fn)(const struct vrec *r, void *arg), void *arg);

/* a command on one device; *change_id (if not NULL): the change it started, 0 none */
int vnl_dev_cmd(struct vnl *v, const char *dev, uint8_t cmd, uint64_t *change_id);

#endif
