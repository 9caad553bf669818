// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt: the "vdirt" generic netlink family (dm-vdirt-genl.h).
 *
 * Every command and the "events" group need CAP_SYS_ADMIN, as dmsetup does.
 * One strict policy; every op is >= resv_start_op so unknown attributes,
 * wrong lengths and a non-zero reserved header field are -EINVAL with an
 * extack message.
 *
 * This file is the transport only: policies, parsing, replies.  A command
 * finds its device through the registry (dm-vdirt-dev.c), which returns
 * it with a reference: no metadata walk, no baseline replace and no
 * metadata I/O happens under a global lock.  The destructor waits for the
 * references.
 *
 * Baseline loads (dm-vdirt-baseline.c) are owned by the sending socket
 * (closing it aborts the load), streamed into the staging area of the
 * metadata device in cluster order and applied only by COMMIT, after every
 * cluster arrived: an interrupted load leaves the old baseline in force.
 * COMMIT starts the device's baseline change worker and returns.
 *
 * Events are rate limited per device in the record hook (atomic context:
 * under RCU; excess events are dropped and counted, the records are stored
 * anyway), queued, and sent from a work item to the "events" group, which is
 * restricted to CAP_SYS_ADMIN with GENL_MCAST_CAP_SYS_ADMIN.  A kernel
 * without that flag cannot restrict the group: then nothing is sent on it
 * and events are unicast to sockets that registered with EVENTS_SUBSCRIBE
 * (itself CAP_SYS_ADMIN only).
 */
#include <linux/capability.h>
#include <linux/kdev_t.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "dm-vdirt.h"
#include "dm-vdirt-genl.h"

/* events per device per second before dropping */
#define VDIRT_EVENT_RATE	2000
#define VDIRT_EVSTATE_SLOTS	64
#define VDIRT_SUBSCRIBERS_MAX	16

static struct genl_family vdirt_genl_family;

static unsigned int vdirt_event_rate = VDIRT_EVENT_RATE;
module_param_named(event_rate, vdirt_event_rate, uint, 0644);
MODULE_PARM_DESC(event_rate,
		 "netlink mismatch events per device per second; more are dropped and counted (records are kept)");

enum { VDIRT_MCGRP_EVENTS };

/* ---- policy ---- */

static struct netlink_range_validation vdirt_cs_range = {	/* const on 6.12, not 6.1 */
	.min = VDIRT_MIN_CLUSTER_SIZE,
	.max = VDIRT_MAX_CLUSTER_SIZE,
};

static const struct nla_policy vdirt_nl_policy[VDIRT_A_MAX + 1] = {
	[VDIRT_A_DEV_NAME] = { .type = NLA_NUL_STRING,
			       .len = VDIRT_DEV_NAME_MAX - 1 },
	[VDIRT_A_DEV_MAJOR] = { .type = NLA_U32 },
	[VDIRT_A_DEV_MINOR] = { .type = NLA_U32 },
	[VDIRT_A_NR_CLUSTERS] = { .type = NLA_U64 },
	[VDIRT_A_CLUSTER_SIZE] = NLA_POLICY_FULL_RANGE(NLA_U32, &vdirt_cs_range),
	[VDIRT_A_DIGEST_SIZE] = NLA_POLICY_RANGE(NLA_U32, 1,
						 VDIRT_MAX_DIGEST_SIZE),
	[VDIRT_A_HASH_NAME] = { .type = NLA_NUL_STRING,
				.len = VDIRT_HASH_NAME_LEN - 1 },
	[VDIRT_A_LOAD_ID] = { .type = NLA_U32 },
	[VDIRT_A_FIRST_CLUSTER] = { .type = NLA_U64 },
	[VDIRT_A_COUNT] = { .type = NLA_U64 },
	[VDIRT_A_DIGESTS] = { .type = NLA_BINARY, .len = VDIRT_CHUNK_MAX },
	[VDIRT_A_REC_SEQ] = { .type = NLA_U64 },
	[VDIRT_A_SINCE] = { .type = NLA_U64 },
	[VDIRT_A_UNTIL] = { .type = NLA_U64 },
	[VDIRT_A_CLUSTER] = { .type = NLA_U64 },
	[VDIRT_A_SNAP] = NLA_POLICY_MAX(NLA_U8, 1),
	/* everything else is output only: NLA_UNSPEC, refused by strict parsing */
};

static bool vdirt_nl_allowed(struct sk_buff *skb, struct netlink_ext_ack *extack)
{
	if (netlink_capable(skb, CAP_SYS_ADMIN))
		return true;
	NL_SET_ERR_MSG(extack, "vdirt: CAP_SYS_ADMIN required");
	return false;
}

/* ---- the device of a request ---- */

/*
 * The device named by the request (major and minor, or dm name), with a
 * reference (vdirt_dev_put() it), or an ERR_PTR with extack set.
 */
static struct vdirt_dev *vdirt_nl_dev(struct nlattr **a,
				      struct netlink_ext_ack *extack)
{
	struct vdirt_dev *vd;

	if (a[VDIRT_A_DEV_MAJOR] || a[VDIRT_A_DEV_MINOR]) {
		u32 ma, mi;

		if (!a[VDIRT_A_DEV_MAJOR] || !a[VDIRT_A_DEV_MINOR]) {
			NL_SET_ERR_MSG(extack, "vdirt: major and minor go together");
			return ERR_PTR(-EINVAL);
		}
		ma = nla_get_u32(a[VDIRT_A_DEV_MAJOR]);
		mi = nla_get_u32(a[VDIRT_A_DEV_MINOR]);
		vd = NULL;
		if (ma < (1U << (32 - MINORBITS)) && mi <= MINORMASK)
			vd = vdirt_dev_get_by_devt(MKDEV(ma, mi));
	} else if (a[VDIRT_A_DEV_NAME]) {
		vd = vdirt_dev_get_by_name(nla_data(a[VDIRT_A_DEV_NAME]));
	} else {
		NL_SET_ERR_MSG(extack, "vdirt: no device given (name or major:minor)");
		return ERR_PTR(-EINVAL);
	}
	if (!vd) {
		NL_SET_ERR_MSG(extack, "vdirt: no such vdirt device");
		return ERR_PTR(-ENODEV);
	}
	return vd;
}

/* a command's permission check and its device, as vdirt_nl_dev() */
static struct vdirt_dev *vdirt_nl_req_dev(struct sk_buff *skb,
					  struct genl_info *info)
{
	if (!vdirt_nl_allowed(skb, info->extack))
		return ERR_PTR(-EPERM);
	return vdirt_nl_dev(info->attrs, info->extack);
}

static int vdirt_nl_put_name(struct sk_buff *skb, struct vdirt_dev *vd)
{
	char name[DM_NAME_LEN];

	if (dm_copy_name_and_uuid(dm_table_get_md(vd->ti->table), name, NULL))
		name[0] = 0;
	if (nla_put_string(skb, VDIRT_A_DEV_NAME, name) ||
	    nla_put_u32(skb, VDIRT_A_DEV_MAJOR, MAJOR(vd->devt)) ||
	    nla_put_u32(skb, VDIRT_A_DEV_MINOR, MINOR(vd->devt)))
		return -EMSGSIZE;
	return 0;
}

/* ---- per-device event state: rate limit, drop counter ---- */

struct vdirt_evstate {
	dev_t devt;		/* 0: free */
	u64 last_seq;
	u64 sent;
	u64 dropped;
	unsigned long window;	/* jiffies of the current second */
	u32 in_window;
};

static DEFINE_SPINLOCK(vdirt_ev_lock);
static struct vdirt_evstate vdirt_ev[VDIRT_EVSTATE_SLOTS];

/* vdirt_ev_lock held; never fails (reuses the least active slot) */
static struct vdirt_evstate *vdirt_ev_slot(dev_t devt, bool create)
{
	struct vdirt_evstate *free = NULL, *old = &vdirt_ev[0];
	int i;

	for (i = 0; i < VDIRT_EVSTATE_SLOTS; i++) {
		struct vdirt_evstate *e = &vdirt_ev[i];

		if (e->devt == devt && devt)
			return e;
		if (!e->devt && !free)
			free = e;
		if (time_before(e->window, old->window))
			old = e;
	}
	if (!create)
		return NULL;
	if (!free)
		free = old;
	memset(free, 0, sizeof(*free));
	free->devt = devt;
	free->window = jiffies;
	return free;
}

static void vdirt_ev_get(dev_t devt, u64 *last_seq, u64 *dropped)
{
	struct vdirt_evstate *e;
	unsigned long flags;

	spin_lock_irqsave(&vdirt_ev_lock, flags);
	e = vdirt_ev_slot(devt, false);
	*last_seq = e ? e->last_seq : 0;
	*dropped = e ? e->dropped : 0;
	spin_unlock_irqrestore(&vdirt_ev_lock, flags);
}

/* ---- unicast fallback subscribers (kernels that cannot restrict the group) ---- */

static DEFINE_SPINLOCK(vdirt_sub_lock);
static u32 vdirt_subs[VDIRT_SUBSCRIBERS_MAX];	/* portids, 0 = free */

static void vdirt_sub_drop(u32 portid)
{
	unsigned long flags;
	int i;

	spin_lock_irqsave(&vdirt_sub_lock, flags);
	for (i = 0; i < VDIRT_SUBSCRIBERS_MAX; i++)
		if (vdirt_subs[i] == portid)
			vdirt_subs[i] = 0;
	spin_unlock_irqrestore(&vdirt_sub_lock, flags);
}

/* ---- device attributes ---- */

static u8 vdirt_nl_change_kind(u8 kind)
{
	switch (kind) {
	case VDIRT_BC_CAPTURE:
		return VDIRT_GENL_CHANGE_CAPTURE;
	case VDIRT_BC_CLEAR:
		return VDIRT_GENL_CHANGE_CLEAR;
	case VDIRT_BC_REPLACE:
		return VDIRT_GENL_CHANGE_LOAD;
	case VDIRT_BC_MCLEAR:
		return VDIRT_GENL_CHANGE_MISMATCH_CLEAR;
	default:
		return VDIRT_GENL_CHANGE_NONE;
	}
}

/* DEV_GET: the record chain's committed state, uuid and commit seq */
static int vdirt_nl_put_chain(struct sk_buff *skb, struct vdirt_dev *vd)
{
	u8 hash[VDIRT_CHAIN_DIGEST_SIZE], uuid[16];
	u64 head, start, sb_seq;

	vdirt_log_chain_info(vd, &head, hash, &start);
	/* uuid: constant once the metadata is open; sb_seq: a snapshot */
	memcpy(uuid, vd->uuid, sizeof(uuid));
	sb_seq = READ_ONCE(vd->sb_seq);
	if (!(vd->layout.flags & VDIRT_LAYOUT_CHAIN))
		return nla_put(skb, VDIRT_A_UUID, sizeof(uuid), uuid) ||
		       nla_put_u64_64bit(skb, VDIRT_A_SB_SEQ, sb_seq,
					 VDIRT_A_PAD);
	return nla_put(skb, VDIRT_A_LOG_HASH, sizeof(hash), hash) ||
	       nla_put_u64_64bit(skb, VDIRT_A_CHAIN_START, start, VDIRT_A_PAD) ||
	       nla_put_u8(skb, VDIRT_A_LOG_KEYED, vd->log_keyed) ||
	       nla_put(skb, VDIRT_A_UUID, sizeof(uuid), uuid) ||
	       nla_put_u64_64bit(skb, VDIRT_A_SB_SEQ, sb_seq, VDIRT_A_PAD);
}

static int vdirt_nl_fill_dev(struct sk_buff *skb, struct vdirt_dev *vd,
			     u32 portid, u32 seq, int flags)
{
	struct vdirt_bc_info bi;
	struct vdirt_info in;
	u64 ev_seq, dropped;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &vdirt_genl_family, flags,
			  VDIRT_CMD_DEV_GET);
	if (!hdr)
		return -EMSGSIZE;
	vdirt_get_info(vd, &in);
	vdirt_bc_get_info(vd, &bi);
	vdirt_ev_get(vd->devt, &ev_seq, &dropped);
	if (vdirt_nl_put_name(skb, vd) ||
	    nla_put_u64_64bit(skb, VDIRT_A_DATA_SECTORS, in.data_sectors, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_NR_CLUSTERS, in.nr_clusters, VDIRT_A_PAD) ||
	    nla_put_u32(skb, VDIRT_A_CLUSTER_SIZE, in.cluster_size) ||
	    nla_put_u32(skb, VDIRT_A_DIGEST_SIZE, in.digest_size) ||
	    nla_put_string(skb, VDIRT_A_HASH_NAME, in.hash_name) ||
	    nla_put_u8(skb, VDIRT_A_STATE, in.state) ||
	    nla_put_u8(skb, VDIRT_A_MODE, in.enforce ? VDIRT_GENL_MODE_ENFORCE :
					  VDIRT_GENL_MODE_AUDIT) ||
	    nla_put_u8(skb, VDIRT_A_READ_VERIFY, in.read_verify) ||
	    nla_put_u8(skb, VDIRT_A_FAIL_OPEN, in.fail_open) ||
	    nla_put_u64_64bit(skb, VDIRT_A_MEASURED, in.measured, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_BASELINED, in.baselined, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_READS_VERIFIED, in.reads_verified, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_READ_MISMATCHES, in.read_mismatches, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_WRITE_DRIFT, in.write_drift, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_UNALIGNED, in.unaligned, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_META_ERRORS, in.meta_errors, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_TOFU, in.tofu, VDIRT_A_PAD) ||
	    nla_put_u8(skb, VDIRT_A_SCAN_RUNNING, in.scan_running) ||
	    nla_put_u64_64bit(skb, VDIRT_A_SCAN_POS, in.scan_pos, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_LOG_FIRST, in.log_first, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_LOG_HEAD, in.log_head, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_EPOCH, READ_ONCE(vd->epoch),
			      VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_EPOCH_FIRST, vdirt_epoch_oldest(vd),
			      VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_EVENT_SEQ, ev_seq, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_EVENTS_DROPPED, dropped, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_RECOVER_POS, in.recover_pos, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_RECOVER_TOTAL, in.recover_total, VDIRT_A_PAD) ||
	    nla_put_u8(skb, VDIRT_A_CHANGE_KIND, vdirt_nl_change_kind(bi.kind)) ||
	    nla_put_u64_64bit(skb, VDIRT_A_CHANGE_POS, bi.pos, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_CHANGE_TOTAL, bi.total, VDIRT_A_PAD) ||
	    nla_put_u8(skb, VDIRT_A_CHANGE_PAUSED, bi.paused) ||
	    nla_put_u64_64bit(skb, VDIRT_A_CHANGE_ID, bi.id, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_CHANGE_DONE_ID, bi.done_id, VDIRT_A_PAD) ||
	    nla_put_u32(skb, VDIRT_A_CHANGE_RESULT, -bi.result) ||
	    nla_put_u8(skb, VDIRT_A_SNAP, vdirt_merkle_snap_held(vd)) ||
	    vdirt_nl_put_chain(skb, vd)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int vdirt_nl_dev_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vdirt_dev *vd;
	struct sk_buff *msg;
	int r;

	vd = vdirt_nl_req_dev(skb, info);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	r = msg ? vdirt_nl_fill_dev(msg, vd, info->snd_portid,
				    info->snd_seq, 0) : -ENOMEM;
	vdirt_dev_put(vd);
	if (r) {
		nlmsg_free(msg);
		return r;
	}
	return genlmsg_reply(msg, info);
}

/* dumps: the permission check and request parsing happen in ->start */
static int vdirt_nl_dump_start_common(struct netlink_callback *cb,
				      struct nlattr **tb)
{
	if (!vdirt_nl_allowed(cb->skb, cb->extack))
		return -EPERM;
	return nlmsg_parse(cb->nlh, GENL_HDRLEN, tb, VDIRT_A_MAX,
			   vdirt_nl_policy, cb->extack);
}

/* a dump's request parsed into tb, and its device (vdirt_dev_put() it) */
static struct vdirt_dev *vdirt_nl_dump_dev(struct netlink_callback *cb,
					   struct nlattr **tb)
{
	int r = vdirt_nl_dump_start_common(cb, tb);

	return r ? ERR_PTR(r) : vdirt_nl_dev(tb, cb->extack);
}

static int vdirt_nl_dev_dump_start(struct netlink_callback *cb)
{
	struct nlattr *tb[VDIRT_A_MAX + 1];

	cb->args[0] = 0;
	return vdirt_nl_dump_start_common(cb, tb);
}

/* args[0]: the registry's position of the next device */
static int vdirt_nl_dev_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct vdirt_dev *vd;
	long pos;
	int r;

	for (;;) {
		pos = cb->args[0];
		vd = vdirt_dev_get_next(&pos);
		if (!vd)
			break;
		r = vdirt_nl_fill_dev(skb, vd, NETLINK_CB(cb->skb).portid,
				      cb->nlh->nlmsg_seq, NLM_F_MULTI);
		vdirt_dev_put(vd);
		if (r)
			break;
		cb->args[0] = pos;
	}
	return skb->len;
}

/* ---- simple commands ---- */

/*
 * The checks of the messages: work that changes metadata needs a device
 * that measures (-EIO when degraded or failed) and is not suspended.
 */
static int vdirt_nl_can_start(struct vdirt_dev *vd,
			      struct netlink_ext_ack *extack)
{
	int r = vdirt_dev_can_start(vd);

	if (r == -EIO)
		NL_SET_ERR_MSG(extack, "vdirt: refused: the device is degraded or failed");
	else if (r)
		NL_SET_ERR_MSG(extack, "vdirt: refused: the device is suspended");
	return r;
}

/* the answer to a command that started work: its number in attribute */
static int vdirt_nl_reply_id(struct genl_info *info, u8 cmd, int attr, u64 id)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put(msg, info->snd_portid, info->snd_seq,
			  &vdirt_genl_family, 0, cmd);
	if (!hdr || nla_put_u64_64bit(msg, attr, id, VDIRT_A_PAD)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* the answer to a command that started a baseline change */
static int vdirt_nl_reply_change(struct genl_info *info, u8 cmd, u64 id)
{
	return vdirt_nl_reply_id(info, cmd, VDIRT_A_CHANGE_ID, id);
}

/* extack message of a refused vdirt_bc_start() */
static void vdirt_nl_bc_refused(struct vdirt_dev *vd, int r,
				struct netlink_ext_ack *extack)
{
	if (r == -EIO)
		NL_SET_ERR_MSG(extack, "vdirt: refused: the device is degraded or failed");
	else if (r == -EBUSY && vdirt_bc_running(vd))
		NL_SET_ERR_MSG(extack, "vdirt: a baseline change or mismatch clear is running");
	else if (r == -EBUSY && vdirt_quiesced(vd))
		NL_SET_ERR_MSG(extack, "vdirt: refused: the device is suspended");
	else if (r == -EBUSY)
		NL_SET_ERR_MSG(extack, "vdirt: refused while crash recovery runs");
}

/* capture, clear, mismatch clear: start the change, answer its number */
static int vdirt_nl_change(struct sk_buff *skb, struct genl_info *info,
			   u8 kind)
{
	struct genlmsghdr *gh = info->genlhdr;
	struct vdirt_dev *vd;
	u64 id = 0;
	int r;

	vd = vdirt_nl_req_dev(skb, info);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	r = vdirt_nl_can_start(vd, info->extack);
	if (!r) {
		r = vdirt_bc_start(vd, kind, &id);
		if (r)
			vdirt_nl_bc_refused(vd, r, info->extack);
	}
	vdirt_dev_put(vd);
	if (r)
		return r;
	return vdirt_nl_reply_change(info, gh->cmd, id);
}

static int vdirt_nl_capture(struct sk_buff *skb, struct genl_info *info)
{
	return vdirt_nl_change(skb, info, VDIRT_BC_CAPTURE);
}

static int vdirt_nl_clear(struct sk_buff *skb, struct genl_info *info)
{
	return vdirt_nl_change(skb, info, VDIRT_BC_CLEAR);
}

static int vdirt_nl_mismatch_clear(struct sk_buff *skb, struct genl_info *info)
{
	return vdirt_nl_change(skb, info, VDIRT_BC_MCLEAR);
}

static int vdirt_nl_scan_start(struct sk_buff *skb, struct genl_info *info)
{
	struct vdirt_dev *vd;
	int r;

	vd = vdirt_nl_req_dev(skb, info);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	r = vdirt_nl_can_start(vd, info->extack);
	if (!r) {
		r = vdirt_scan_start(vd);
		if (r)
			NL_SET_ERR_MSG(info->extack, "vdirt: cannot start a scan");
	}
	vdirt_dev_put(vd);
	return r;
}

static int vdirt_nl_scan_stop(struct sk_buff *skb, struct genl_info *info)
{
	struct vdirt_dev *vd;

	vd = vdirt_nl_req_dev(skb, info);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	vdirt_scan_stop(vd);
	vdirt_dev_put(vd);
	return 0;
}

/* ---- baseline loads: transport of dm-vdirt-baseline.c's loads ---- */

/* an engine's static message for the sender */
static void vdirt_nl_why(struct netlink_ext_ack *extack, const char *why)
{
	if (extack && why)
		extack->_msg = why;
}

/* BEGIN: the sender's geometry must be the device's */
static int vdirt_nl_load_geometry(struct vdirt_dev *vd, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr **a = info->attrs;

	if (nla_get_u32(a[VDIRT_A_CLUSTER_SIZE]) != vd->cluster_size) {
		NL_SET_ERR_MSG_ATTR(extack, a[VDIRT_A_CLUSTER_SIZE],
				    "vdirt: cluster size differs from the device's");
		return -EINVAL;
	}
	if (nla_get_u32(a[VDIRT_A_DIGEST_SIZE]) != vd->digest_size ||
	    strcmp(nla_data(a[VDIRT_A_HASH_NAME]), vd->hash_name)) {
		NL_SET_ERR_MSG_ATTR(extack, a[VDIRT_A_HASH_NAME],
				    "vdirt: hash differs from the device's");
		return -EINVAL;
	}
	if (nla_get_u64(a[VDIRT_A_NR_CLUSTERS]) != vd->nr_clusters) {
		NL_SET_ERR_MSG_ATTR(extack, a[VDIRT_A_NR_CLUSTERS],
				    "vdirt: cluster count differs from the device's");
		return -EINVAL;
	}
	return 0;
}

static int vdirt_nl_load_begin(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	const char *why = NULL;
	struct vdirt_dev *vd;
	struct sk_buff *msg;
	u32 id = 0;
	void *hdr;
	int r;

	if (!vdirt_nl_allowed(skb, extack))
		return -EPERM;
	if (GENL_REQ_ATTR_CHECK(info, VDIRT_A_CLUSTER_SIZE) ||
	    GENL_REQ_ATTR_CHECK(info, VDIRT_A_DIGEST_SIZE) ||
	    GENL_REQ_ATTR_CHECK(info, VDIRT_A_HASH_NAME) ||
	    GENL_REQ_ATTR_CHECK(info, VDIRT_A_NR_CLUSTERS))
		return -EINVAL;
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	vd = vdirt_nl_dev(info->attrs, extack);
	if (IS_ERR(vd)) {
		nlmsg_free(msg);
		return PTR_ERR(vd);
	}
	r = vdirt_nl_load_geometry(vd, info);
	if (!r)
		r = vdirt_load_begin(vd, info->snd_portid, &id, &why);
	if (r)
		goto out;
	hdr = genlmsg_put(msg, info->snd_portid, info->snd_seq,
			  &vdirt_genl_family, 0, VDIRT_CMD_BASELINE_BEGIN);
	if (!hdr || nla_put_u32(msg, VDIRT_A_LOAD_ID, id)) {
		vdirt_load_abort(vd, info->snd_portid, id, &why);
		r = -EMSGSIZE;
		goto out;
	}
	genlmsg_end(msg, hdr);
	vdirt_dev_put(vd);
	return genlmsg_reply(msg, info);
out:
	vdirt_nl_why(extack, why);
	nlmsg_free(msg);
	vdirt_dev_put(vd);
	return r;
}

/* CHUNK, COMMIT, ABORT: the caller's load on a device, named by LOAD_ID */
typedef int (*vdirt_nl_load_fn)(struct vdirt_dev *vd, struct genl_info *info,
				u32 id, const char **why);

static int vdirt_nl_load_op(struct sk_buff *skb, struct genl_info *info,
			    vdirt_nl_load_fn fn)
{
	const char *why = NULL;
	struct vdirt_dev *vd;
	int r;

	vd = vdirt_nl_req_dev(skb, info);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	r = GENL_REQ_ATTR_CHECK(info, VDIRT_A_LOAD_ID) ? -EINVAL :
	    fn(vd, info, nla_get_u32(info->attrs[VDIRT_A_LOAD_ID]), &why);
	vdirt_nl_why(info->extack, why);
	vdirt_dev_put(vd);
	return r;
}

static int vdirt_nl_chunk_fn(struct vdirt_dev *vd, struct genl_info *info,
			     u32 id, const char **why)
{
	struct nlattr *d = info->attrs[VDIRT_A_DIGESTS];

	if (GENL_REQ_ATTR_CHECK(info, VDIRT_A_FIRST_CLUSTER) ||
	    GENL_REQ_ATTR_CHECK(info, VDIRT_A_DIGESTS))
		return -EINVAL;
	return vdirt_load_chunk(vd, info->snd_portid, id,
				nla_get_u64(info->attrs[VDIRT_A_FIRST_CLUSTER]),
				nla_data(d), nla_len(d), why);
}

static int vdirt_nl_load_chunk(struct sk_buff *skb, struct genl_info *info)
{
	return vdirt_nl_load_op(skb, info, vdirt_nl_chunk_fn);
}

static int vdirt_nl_commit_fn(struct vdirt_dev *vd, struct genl_info *info,
			      u32 id, const char **why)
{
	u64 change = 0;
	int r;

	r = vdirt_nl_can_start(vd, info->extack);
	if (!r)
		r = vdirt_load_commit(vd, info->snd_portid, id, &change, why);
	if (!r)
		r = vdirt_nl_reply_change(info, VDIRT_CMD_BASELINE_COMMIT,
					  change);
	return r;
}

static int vdirt_nl_load_commit(struct sk_buff *skb, struct genl_info *info)
{
	return vdirt_nl_load_op(skb, info, vdirt_nl_commit_fn);
}

static int vdirt_nl_abort_fn(struct vdirt_dev *vd, struct genl_info *info,
			     u32 id, const char **why)
{
	return vdirt_load_abort(vd, info->snd_portid, id, why);
}

static int vdirt_nl_load_abort(struct sk_buff *skb, struct genl_info *info)
{
	return vdirt_nl_load_op(skb, info, vdirt_nl_abort_fn);
}

/* a socket went away: its loads end, its subscription ends */
static int vdirt_nl_notify(struct notifier_block *nb, unsigned long event,
			   void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event != NETLINK_URELEASE || n->protocol != NETLINK_GENERIC)
		return NOTIFY_DONE;
	vdirt_sub_drop(n->portid);
	vdirt_load_release_port(n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block vdirt_nl_notifier = {
	.notifier_call = vdirt_nl_notify,
};

/* ---- mismatch dump ---- */

/*
 * Dump positions are u64 in cb->ctx (cb->args are long, 32 bits on a 32-bit
 * kernel): the device number and the next record / cluster.
 */
struct vdirt_mm_ctx {
	u32 devt;
	u64 next;		/* next record number */
};

struct vdirt_hash_ctx {
	u32 devt;
	bool snap;		/* the metadata snapshot's digests */
	u64 next;		/* next cluster */
	u64 end;		/* first cluster not wanted */
};

static_assert(sizeof(struct vdirt_mm_ctx) <= sizeof_field(struct netlink_callback, ctx));
static_assert(sizeof(struct vdirt_hash_ctx) <= sizeof_field(struct netlink_callback, ctx));

struct vdirt_epoch_ctx {
	u32 devt;
	u64 next;		/* next epoch */
};

struct vdirt_changed_ctx {
	u32 devt;
	u64 from, to;		/* the epochs whose sets are joined */
	u64 pos;		/* next cluster */
};

static_assert(sizeof(struct vdirt_epoch_ctx) <= sizeof_field(struct netlink_callback, ctx));
static_assert(sizeof(struct vdirt_changed_ctx) <= sizeof_field(struct netlink_callback, ctx));

static int vdirt_nl_mm_dump_start(struct netlink_callback *cb)
{
	struct vdirt_mm_ctx *ctx = (struct vdirt_mm_ctx *)cb->ctx;
	struct nlattr *tb[VDIRT_A_MAX + 1];
	struct vdirt_dev *vd;

	vd = vdirt_nl_dump_dev(cb, tb);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	ctx->devt = vd->devt;
	ctx->next = tb[VDIRT_A_REC_SEQ] ? nla_get_u64(tb[VDIRT_A_REC_SEQ]) : 0;
	vdirt_dev_put(vd);
	return 0;
}

static int vdirt_nl_put_record(struct sk_buff *skb, struct vdirt_dev *vd,
			       const struct vdirt_record *rec, u32 portid,
			       u32 seq, int flags, u8 cmd, u64 dropped,
			       const struct vdirt_disk_record *raw)
{
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &vdirt_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (vdirt_nl_put_name(skb, vd) ||
	    nla_put_u64_64bit(skb, VDIRT_A_REC_SEQ, rec->seq, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_CLUSTER, rec->cluster, VDIRT_A_PAD) ||
	    nla_put_u8(skb, VDIRT_A_KIND, rec->kind) ||
	    nla_put_u8(skb, VDIRT_A_OP, rec->op) ||
	    nla_put_u64_64bit(skb, VDIRT_A_TIME, rec->time_ns, VDIRT_A_PAD) ||
	    nla_put(skb, VDIRT_A_EXPECTED, rec->digest_size, rec->expected) ||
	    nla_put(skb, VDIRT_A_ACTUAL, rec->digest_size, rec->actual) ||
	    (cmd == VDIRT_CMD_EVENT &&
	     (nla_put_u64_64bit(skb, VDIRT_A_EVENT_SEQ, rec->seq, VDIRT_A_PAD) ||
	      nla_put_u64_64bit(skb, VDIRT_A_EVENTS_DROPPED, dropped, VDIRT_A_PAD))) ||
	    nla_put_u64_64bit(skb, VDIRT_A_REC_EPOCH, rec->epoch, VDIRT_A_PAD) ||
	    (raw && nla_put(skb, VDIRT_A_REC_RAW, sizeof(*raw), raw)) ||
	    (rec->kind != VDIRT_KIND_READ_MISMATCH &&
	     rec->kind != VDIRT_KIND_WRITE_DRIFT &&
	     nla_put(skb, VDIRT_A_REC_AUX, sizeof(rec->aux), rec->aux))) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int vdirt_nl_mm_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct vdirt_mm_ctx *ctx = (struct vdirt_mm_ctx *)cb->ctx;
	struct vdirt_disk_record *raw;
	struct vdirt_record *rec;
	struct vdirt_info in;
	struct vdirt_dev *vd;
	u64 seq;
	int r = 0;

	rec = kmalloc(sizeof(*rec), GFP_KERNEL);
	raw = kmalloc(sizeof(*raw), GFP_KERNEL);
	if (!rec || !raw) {
		kfree(rec);
		kfree(raw);
		return -ENOMEM;
	}
	vd = vdirt_dev_get_by_devt(ctx->devt);
	if (!vd) {
		r = -ENODEV;	/* removed during the dump */
		goto out;
	}
	vdirt_get_info(vd, &in);
	seq = max_t(u64, ctx->next, in.log_first);
	for (; seq < in.log_head; seq++) {
		r = vdirt_record_read_raw(vd, seq, rec, raw);
		if (r == -ENOENT) {	/* cleared or overwritten meanwhile */
			r = 0;
			continue;
		}
		if (r)
			break;
		if (vdirt_nl_put_record(skb, vd, rec, NETLINK_CB(cb->skb).portid,
					cb->nlh->nlmsg_seq, NLM_F_MULTI,
					VDIRT_CMD_MISMATCH_GET, 0, raw))
			break;
	}
	ctx->next = seq;
	vdirt_dev_put(vd);
out:
	kfree(rec);
	kfree(raw);
	if (r && !skb->len)
		return r;
	return skb->len;
}

/* ---- hash dump ---- */

/*
 * The held snapshot's digests: current only (a zero digest is unmeasured),
 * no baseline, last write unknown (zero)
 */
static int vdirt_nl_snap_digests(struct vdirt_dev *vd, u64 first, u32 n,
				 u8 *valid, u8 *cur, u8 *base, void *epochs,
				 void *times)
{
	u32 ds = vd->digest_size, i;
	int r;

	r = vdirt_merkle_snap_read(vd, first, n, cur);
	if (r)
		return r;
	memset(base, 0, n * ds);
	memset(epochs, 0, n * sizeof(u32));
	memset(times, 0, n * sizeof(u64));
	for (i = 0; i < n; i++)
		valid[i] = memchr_inv(cur + i * ds, 0, ds) ? VDIRT_HV_CURRENT : 0;
	return 0;
}

static int vdirt_nl_hash_dump_start(struct netlink_callback *cb)
{
	struct vdirt_hash_ctx *ctx = (struct vdirt_hash_ctx *)cb->ctx;
	struct nlattr *tb[VDIRT_A_MAX + 1];
	struct vdirt_dev *vd;
	u64 first, count;
	int r = 0;

	vd = vdirt_nl_dump_dev(cb, tb);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	first = tb[VDIRT_A_FIRST_CLUSTER] ? nla_get_u64(tb[VDIRT_A_FIRST_CLUSTER]) : 0;
	count = tb[VDIRT_A_COUNT] ? nla_get_u64(tb[VDIRT_A_COUNT]) : U64_MAX;
	ctx->snap = tb[VDIRT_A_SNAP] && nla_get_u8(tb[VDIRT_A_SNAP]);
	if (first >= vd->nr_clusters) {
		NL_SET_ERR_MSG(cb->extack, "vdirt: first cluster beyond the device");
		r = -ERANGE;
	} else if (ctx->snap && !vdirt_merkle_snap_held(vd)) {
		NL_SET_ERR_MSG(cb->extack, "vdirt: no metadata snapshot is held (metadata_snap take)");
		r = -ENOENT;
	} else {
		ctx->devt = vd->devt;
		ctx->next = first;
		ctx->end = count > vd->nr_clusters - first ?
			   vd->nr_clusters : first + count;
	}
	vdirt_dev_put(vd);
	return r;
}

static int vdirt_nl_hash_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct vdirt_hash_ctx *ctx = (struct vdirt_hash_ctx *)cb->ctx;
	u64 first = ctx->next, end = ctx->end, i;
	struct nlattr *av, *ac, *ab, *ae, *at;
	struct vdirt_dev *vd;
	unsigned int ds, per;
	void *hdr;
	u8 *valid;
	int r = 0;

	if (first >= end)
		return 0;
	vd = vdirt_dev_get_by_devt(ctx->devt);
	if (!vd)
		return skb->len ? skb->len : -ENODEV;
	ds = vd->digest_size;
	/* as many clusters as fit this skb, at most VDIRT_HASH_BATCH */
	per = skb_tailroom(skb) > 256 ?
	      (skb_tailroom(skb) - 256) / (2 * ds + 1 + 4 + 8) : 0;
	per = min_t(u64, min_t(u64, per, VDIRT_HASH_BATCH), end - first);
	if (!per) {
		r = skb->len ? 0 : -EMSGSIZE;
		goto out;
	}
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &vdirt_genl_family, NLM_F_MULTI, VDIRT_CMD_HASH_GET);
	if (!hdr)
		goto out;
	if (nla_put_u64_64bit(skb, VDIRT_A_FIRST_CLUSTER, first, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_COUNT, per, VDIRT_A_PAD))
		goto cancel;
	av = nla_reserve(skb, VDIRT_A_VALID, per);
	ac = av ? nla_reserve(skb, VDIRT_A_DIGESTS, per * ds) : NULL;
	ab = ac ? nla_reserve(skb, VDIRT_A_BASELINE_DIGESTS, per * ds) : NULL;
	ae = ab ? nla_reserve(skb, VDIRT_A_WRITE_EPOCHS, per * sizeof(u32)) :
		  NULL;
	at = ae ? nla_reserve_64bit(skb, VDIRT_A_WRITE_TIMES,
				    per * sizeof(u64), VDIRT_A_PAD) : NULL;
	if (!at)
		goto cancel;
	valid = nla_data(av);
	if (ctx->snap) {
		r = vdirt_nl_snap_digests(vd, first, per, valid, nla_data(ac),
					  nla_data(ab), nla_data(ae),
					  nla_data(at));
		if (r)
			goto cancel;
		goto done;
	}
	/* under the range locks: never a digest of a half-done write */
	r = vdirt_digests_read(vd, first, per, valid, nla_data(ac), nla_data(ab),
			       nla_data(ae), nla_data(at));
	if (r)
		goto cancel;
	for (i = 0; i < per; i++)
		valid[i] = (valid[i] & VDIRT_E_CURRENT ? VDIRT_HV_CURRENT : 0) |
			   (valid[i] & VDIRT_E_BASELINE ? VDIRT_HV_BASELINE : 0);
done:
	genlmsg_end(skb, hdr);
	ctx->next = first + per;
	goto out;
cancel:
	genlmsg_cancel(skb, hdr);
out:
	vdirt_dev_put(vd);
	if (r && !skb->len)
		return r;
	return skb->len;
}

/* ---- epochs and changed-block lists ---- */

static int vdirt_nl_epoch_dump_start(struct netlink_callback *cb)
{
	struct vdirt_epoch_ctx *ctx = (struct vdirt_epoch_ctx *)cb->ctx;
	struct nlattr *tb[VDIRT_A_MAX + 1];
	struct vdirt_dev *vd;
	int r = 0;

	vd = vdirt_nl_dump_dev(cb, tb);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	if (!vd->ep.on) {
		NL_SET_ERR_MSG(cb->extack,
			       "vdirt: the metadata has no epoch table (vdirtctl upgrade)");
		r = -EOPNOTSUPP;
	}
	ctx->devt = vd->devt;
	ctx->next = vdirt_epoch_oldest(vd);
	vdirt_dev_put(vd);
	return r;
}

static int vdirt_nl_put_epoch(struct sk_buff *skb, struct netlink_callback *cb,
			      struct vdirt_dev *vd, u64 e,
			      const struct vdirt_disk_epoch *d)
{
	void *hdr;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &vdirt_genl_family, NLM_F_MULTI, VDIRT_CMD_EPOCH_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, VDIRT_A_EPOCH, e, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(skb, VDIRT_A_EPOCH_FIRST, vdirt_epoch_oldest(vd),
			      VDIRT_A_PAD) ||
	    (d && (nla_put_string(skb, VDIRT_A_EPOCH_LABEL, d->label) ||
		   nla_put_u64_64bit(skb, VDIRT_A_EPOCH_START,
				     le64_to_cpu(d->start_ns), VDIRT_A_PAD) ||
		   nla_put_u64_64bit(skb, VDIRT_A_EPOCH_END,
				     le64_to_cpu(d->end_ns), VDIRT_A_PAD) ||
		   nla_put_u64_64bit(skb, VDIRT_A_EPOCH_WRITTEN,
				     le64_to_cpu(d->written), VDIRT_A_PAD) ||
		   nla_put_u32(skb, VDIRT_A_EPOCH_FLAGS,
			       le32_to_cpu(d->flags)) ||
		   nla_put_u64_64bit(skb, VDIRT_A_EPOCH_LOG_FIRST,
				     le64_to_cpu(d->log_first), VDIRT_A_PAD) ||
		   nla_put_u64_64bit(skb, VDIRT_A_EPOCH_LOG_END,
				     le64_to_cpu(d->log_end), VDIRT_A_PAD) ||
		   (le32_to_cpu(d->flags) & VDIRT_EP_CLOSED &&
		    nla_put(skb, VDIRT_A_EPOCH_LOG_HASH, sizeof(d->log_hash),
			    d->log_hash)) ||
		   (le32_to_cpu(d->flags) & VDIRT_EP_ROOT &&
		    nla_put(skb, VDIRT_A_EPOCH_ROOT, VDIRT_MERKLE_DIGEST_SIZE,
			    d->root))))) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* one message per retained epoch; an entry lost (bad csum) has no label */
static int vdirt_nl_epoch_dumpit(struct sk_buff *skb,
				 struct netlink_callback *cb)
{
	struct vdirt_epoch_ctx *ctx = (struct vdirt_epoch_ctx *)cb->ctx;
	struct vdirt_disk_epoch d;
	struct vdirt_dev *vd;
	int r = 0;
	u64 e;

	vd = vdirt_dev_get_by_devt(ctx->devt);
	if (!vd)
		return skb->len ? skb->len : -ENODEV;
	for (e = max(ctx->next, vdirt_epoch_oldest(vd));
	     e <= READ_ONCE(vd->epoch); e++) {
		r = vdirt_epoch_read(vd, e, &d);
		if (r && r != -EBADMSG)
			break;
		if (vdirt_nl_put_epoch(skb, cb, vd, e, r ? NULL : &d)) {
			r = 0;
			break;
		}
		r = 0;
	}
	ctx->next = e;
	vdirt_dev_put(vd);
	if (r && !skb->len)
		return r;
	return skb->len;
}

static int vdirt_nl_changed_dump_start(struct netlink_callback *cb)
{
	struct vdirt_changed_ctx *ctx = (struct vdirt_changed_ctx *)cb->ctx;
	struct nlattr *tb[VDIRT_A_MAX + 1];
	struct vdirt_dev *vd;
	u64 since, until, cur;
	int r = 0;

	vd = vdirt_nl_dump_dev(cb, tb);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	if (!tb[VDIRT_A_SINCE]) {
		NL_SET_ERR_MSG(cb->extack, "vdirt: SINCE is required");
		vdirt_dev_put(vd);
		return -EINVAL;
	}
	cur = READ_ONCE(vd->epoch);
	since = nla_get_u64(tb[VDIRT_A_SINCE]);
	until = tb[VDIRT_A_UNTIL] ? nla_get_u64(tb[VDIRT_A_UNTIL]) : cur;
	if (!vd->ep.wsets) {
		NL_SET_ERR_MSG(cb->extack,
			       "vdirt: the metadata has no write sets (vdirtctl upgrade)");
		r = -EOPNOTSUPP;
	} else if (until < since) {
		NL_SET_ERR_MSG(cb->extack, "vdirt: until is before since");
		r = -EINVAL;
	} else if (since + 1 < vdirt_epoch_oldest(vd)) {
		NL_SET_ERR_MSG(cb->extack,
			       "vdirt: since is older than the oldest retained epoch");
		r = -ERANGE;
	} else if (until > cur) {
		NL_SET_ERR_MSG(cb->extack, "vdirt: until is newer than the current epoch");
		r = -ERANGE;
	}
	ctx->devt = vd->devt;
	ctx->from = since + 1;
	ctx->to = until;
	ctx->pos = since == until ? vd->nr_clusters : 0;
	vdirt_dev_put(vd);
	return r;
}

/* runs per CHANGED_GET message */
#define VDIRT_CHANGED_RUNS	1024U

static int vdirt_nl_changed_dumpit(struct sk_buff *skb,
				   struct netlink_callback *cb)
{
	struct vdirt_changed_ctx *ctx = (struct vdirt_changed_ctx *)cb->ctx;
	unsigned int n = 0, max;
	unsigned long *bits;
	struct vdirt_dev *vd;
	u64 *runs;
	void *hdr;
	int r = 0;

	vd = vdirt_dev_get_by_devt(ctx->devt);
	if (!vd)
		return skb->len ? skb->len : -ENODEV;
	if (ctx->pos >= vd->nr_clusters)
		goto out;
	max = skb_tailroom(skb) > 512 ? (skb_tailroom(skb) - 512) / 16 : 0;
	max = min(max, VDIRT_CHANGED_RUNS);
	bits = kmalloc(VDIRT_WSET_BITS_PER_BLOCK / 8, GFP_KERNEL);
	runs = kmalloc_array(2 * max + 2, sizeof(u64), GFP_KERNEL);
	if (!bits || !runs) {
		r = -ENOMEM;
		goto free;
	}
	while (n < max && ctx->pos < vd->nr_clusters) {
		/* an epoch's set reused meanwhile would be silently empty */
		if (ctx->from < vdirt_epoch_oldest(vd)) {
			r = -ERANGE;
			break;
		}
		r = vdirt_changed_runs(vd, ctx->from, ctx->to, &ctx->pos,
				       runs + 2 * n, max - n, bits);
		if (r < 0)
			break;
		n += r;
		r = 0;
	}
	if (r || !n)
		goto free;
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &vdirt_genl_family, NLM_F_MULTI, VDIRT_CMD_CHANGED_GET);
	if (!hdr || nla_put(skb, VDIRT_A_RUNS, n * 2 * sizeof(u64), runs)) {
		r = -EMSGSIZE;
		if (hdr)
			genlmsg_cancel(skb, hdr);
		goto free;
	}
	genlmsg_end(skb, hdr);
free:
	kfree(runs);
	kfree(bits);
out:
	vdirt_dev_put(vd);
	if (r && !skb->len)
		return r;
	return skb->len;
}

/* ---- events ---- */

/* ---- the attestation root ---- */

/* extack message of a refused vdirt_merkle_start() */
static void vdirt_nl_attest_refused(int r, struct netlink_ext_ack *extack)
{
	if (r == -EOPNOTSUPP)
		NL_SET_ERR_MSG(extack, "vdirt: the metadata has no attestation tree (vdirtctl upgrade) or no staging area");
	else if (r == -EBUSY)
		NL_SET_ERR_MSG(extack, "vdirt: a root computation, a metadata snapshot or a baseline load is in progress");
	else if (r == -EROFS)
		NL_SET_ERR_MSG(extack, "vdirt: a read-only table keeps no attestation tree");
	else if (r == -ERANGE)
		NL_SET_ERR_MSG(extack, "vdirt: cluster beyond the device");
}

static int vdirt_nl_attest(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *ca = info->attrs[VDIRT_A_CLUSTER];
	struct vdirt_dev *vd;
	u64 id = 0;
	int r;

	vd = vdirt_nl_req_dev(skb, info);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	r = vdirt_nl_can_start(vd, info->extack);
	if (!r) {
		r = vdirt_merkle_start(vd, false, ca, ca ? nla_get_u64(ca) : 0,
				       0, &id);
		vdirt_nl_attest_refused(r, info->extack);
	}
	vdirt_dev_put(vd);
	if (r)
		return r;
	return vdirt_nl_reply_id(info, VDIRT_CMD_ATTEST, VDIRT_A_ROOT_ID, id);
}

/* what a finished root covers, and its proof */
static int vdirt_nl_put_root(struct sk_buff *msg, struct vdirt_dev *vd,
			     const struct vdirt_root *res)
{
	if (nla_put(msg, VDIRT_A_ROOT, sizeof(res->root), res->root) ||
	    nla_put_u64_64bit(msg, VDIRT_A_EPOCH, res->epoch, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(msg, VDIRT_A_TIME, res->time_ns, VDIRT_A_PAD) ||
	    nla_put_u64_64bit(msg, VDIRT_A_LOG_HEAD, res->log_head,
			      VDIRT_A_PAD) ||
	    nla_put_u64_64bit(msg, VDIRT_A_SB_SEQ, res->sb_seq, VDIRT_A_PAD) ||
	    ((vd->layout.flags & VDIRT_LAYOUT_CHAIN) &&
	     nla_put(msg, VDIRT_A_LOG_HASH, sizeof(res->log_hash),
		     res->log_hash)))
		return -EMSGSIZE;
	if (!res->proof)
		return 0;
	if (nla_put_u64_64bit(msg, VDIRT_A_CLUSTER, res->cluster, VDIRT_A_PAD) ||
	    nla_put(msg, VDIRT_A_VALID, 1, &res->valid) ||
	    nla_put(msg, VDIRT_A_DIGESTS, vd->digest_size, res->digest) ||
	    nla_put(msg, VDIRT_A_PROOF, res->height * VDIRT_MERKLE_DIGEST_SIZE,
		    res->path))
		return -EMSGSIZE;
	return 0;
}

static int vdirt_nl_attest_get(struct sk_buff *skb, struct genl_info *info)
{
	struct vdirt_root *res;
	struct sk_buff *msg;
	struct vdirt_dev *vd;
	u64 id, done;
	void *hdr;
	int r, rr;

	vd = vdirt_nl_req_dev(skb, info);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	res = kmalloc(sizeof(*res), GFP_KERNEL);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	r = res && msg ? 0 : -ENOMEM;
	rr = r ? r : vdirt_merkle_result(vd, &id, &done, res);
	if (rr == -EOPNOTSUPP) {
		vdirt_nl_attest_refused(rr, info->extack);
		r = rr;
	}
	hdr = r ? NULL : genlmsg_put(msg, info->snd_portid, info->snd_seq,
				     &vdirt_genl_family, 0, VDIRT_CMD_ATTEST_GET);
	if (!r && (!hdr ||
		   nla_put(msg, VDIRT_A_UUID, sizeof(vd->uuid), vd->uuid) ||
		   nla_put_u64_64bit(msg, VDIRT_A_NR_CLUSTERS, vd->nr_clusters,
				     VDIRT_A_PAD) ||
		   nla_put_u32(msg, VDIRT_A_CLUSTER_SIZE, vd->cluster_size) ||
		   nla_put_u32(msg, VDIRT_A_DIGEST_SIZE, vd->digest_size) ||
		   nla_put_string(msg, VDIRT_A_HASH_NAME, vd->hash_name) ||
		   nla_put_u64_64bit(msg, VDIRT_A_ROOT_ID, id, VDIRT_A_PAD) ||
		   nla_put_u64_64bit(msg, VDIRT_A_ROOT_DONE_ID, done,
				     VDIRT_A_PAD) ||
		   nla_put_u32(msg, VDIRT_A_ROOT_RESULT,
			       rr == -ENODATA ? 0 : -rr) ||
		   (!rr && vdirt_nl_put_root(msg, vd, res))))
		r = -EMSGSIZE;
	vdirt_dev_put(vd);
	kfree(res);
	if (r) {
		nlmsg_free(msg);
		return r;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int vdirt_nl_subscribe(struct sk_buff *skb, struct genl_info *info)
{
	unsigned long flags;
	int i, r = -ENOSPC;

	if (!vdirt_nl_allowed(skb, info->extack))
		return -EPERM;
	if (VDIRT_MCAST_RESTRICTED) {
		NL_SET_ERR_MSG(info->extack,
			       "vdirt: join the events group instead (it is restricted here)");
		return -EOPNOTSUPP;
	}
	spin_lock_irqsave(&vdirt_sub_lock, flags);
	for (i = 0; i < VDIRT_SUBSCRIBERS_MAX; i++)
		if (vdirt_subs[i] == info->snd_portid) {
			r = 0;
			goto out;
		}
	for (i = 0; i < VDIRT_SUBSCRIBERS_MAX; i++)
		if (!vdirt_subs[i]) {
			vdirt_subs[i] = info->snd_portid;
			r = 0;
			break;
		}
out:
	spin_unlock_irqrestore(&vdirt_sub_lock, flags);
	if (r)
		NL_SET_ERR_MSG(info->extack, "vdirt: too many event subscribers");
	return r;
}

static void vdirt_nl_send_unicast(struct sk_buff *skb)
{
	u32 ports[VDIRT_SUBSCRIBERS_MAX];
	unsigned long flags;
	int i, n = 0;

	spin_lock_irqsave(&vdirt_sub_lock, flags);
	for (i = 0; i < VDIRT_SUBSCRIBERS_MAX; i++)
		if (vdirt_subs[i])
			ports[n++] = vdirt_subs[i];
	spin_unlock_irqrestore(&vdirt_sub_lock, flags);
	for (i = 0; i < n; i++) {
		struct sk_buff *c = skb_clone(skb, GFP_ATOMIC);

		if (!c)
			break;
		/* genlmsg_unicast never blocks: a full receiver loses it (ENOBUFS) */
		if (genlmsg_unicast(&init_net, c, ports[i]) == -ECONNREFUSED)
			vdirt_sub_drop(ports[i]);
	}
	nlmsg_free(skb);
}

static bool vdirt_nl_have_listeners(void)
{
	int i;

	if (VDIRT_MCAST_RESTRICTED)
		return genl_has_listeners(&vdirt_genl_family, &init_net,
					  VDIRT_MCGRP_EVENTS);
	for (i = 0; i < VDIRT_SUBSCRIBERS_MAX; i++)
		if (READ_ONCE(vdirt_subs[i]))
			return true;
	return false;
}

/*
 * Events are queued by the record hook (atomic: it runs under
 * rcu_read_lock() in the I/O path) and sent by a work item, which may sleep:
 * the dm name needs dm's hash lock (dm_copy_name_and_uuid()), and the device
 * is looked up again (with a reference), so a device removed in between is
 * simply skipped.  The queue is bounded; overflow counts as
 * dropped, the records themselves are always stored.
 */
#define VDIRT_EVQ_MAX	4096

struct vdirt_evq {
	struct list_head node;
	dev_t devt;
	struct vdirt_record rec;
};

static DEFINE_SPINLOCK(vdirt_evq_lock);
static LIST_HEAD(vdirt_evq_list);
static unsigned int vdirt_evq_len;
static bool vdirt_evq_stopped;

static void vdirt_ev_count_drop(dev_t devt)
{
	struct vdirt_evstate *e;
	unsigned long flags;

	spin_lock_irqsave(&vdirt_ev_lock, flags);
	e = vdirt_ev_slot(devt, true);
	e->dropped++;
	spin_unlock_irqrestore(&vdirt_ev_lock, flags);
}

static void vdirt_nl_event_work(struct work_struct *work)
{
	struct vdirt_evq *q, *tmp;
	unsigned long flags;
	LIST_HEAD(list);

	spin_lock_irqsave(&vdirt_evq_lock, flags);
	list_splice_init(&vdirt_evq_list, &list);
	vdirt_evq_len = 0;
	spin_unlock_irqrestore(&vdirt_evq_lock, flags);

	list_for_each_entry_safe(q, tmp, &list, node) {
		struct sk_buff *skb = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
		struct vdirt_dev *vd;
		u64 last, dropped;
		int r = -ENODEV;

		list_del(&q->node);
		vdirt_ev_get(q->devt, &last, &dropped);
		if (skb) {
			vd = vdirt_dev_get_by_devt(q->devt);
			if (vd) {
				r = vdirt_nl_put_record(skb, vd, &q->rec, 0, 0, 0,
							VDIRT_CMD_EVENT, dropped,
							NULL);
				vdirt_dev_put(vd);
			}
			if (r) {
				nlmsg_free(skb);
			} else if (VDIRT_MCAST_RESTRICTED) {
				vdirt_multicast_allns(&vdirt_genl_family, skb,
						      VDIRT_MCGRP_EVENTS);
			} else {
				vdirt_nl_send_unicast(skb);
			}
		}
		if (!skb || (r && r != -ENODEV))
			vdirt_ev_count_drop(q->devt);
		kfree(q);
		cond_resched();
	}
}

static DECLARE_WORK(vdirt_ev_work, vdirt_nl_event_work);

/* record hook: process context but under rcu_read_lock(), must not sleep */
static void vdirt_nl_mismatch(struct vdirt_dev *vd,
			      const struct vdirt_record *rec)
{
	struct vdirt_evstate *e;
	struct vdirt_evq *q;
	unsigned long flags;
	bool drop = false;

	if (!vdirt_nl_have_listeners())
		return;
	spin_lock_irqsave(&vdirt_ev_lock, flags);
	e = vdirt_ev_slot(vd->devt, true);
	if (time_after(jiffies, e->window + HZ)) {
		e->window = jiffies;
		e->in_window = 0;
	}
	if (e->in_window >= READ_ONCE(vdirt_event_rate)) {
		e->dropped++;
		drop = true;
	} else {
		e->in_window++;
		e->sent++;
		e->last_seq = rec->seq;
	}
	spin_unlock_irqrestore(&vdirt_ev_lock, flags);
	if (drop)
		return;

	q = kmalloc(sizeof(*q), GFP_ATOMIC | __GFP_NOWARN);
	if (!q) {
		vdirt_ev_count_drop(vd->devt);
		return;
	}
	q->devt = vd->devt;
	q->rec = *rec;
	spin_lock_irqsave(&vdirt_evq_lock, flags);
	if (vdirt_evq_stopped || vdirt_evq_len >= VDIRT_EVQ_MAX) {
		spin_unlock_irqrestore(&vdirt_evq_lock, flags);
		kfree(q);
		vdirt_ev_count_drop(vd->devt);
		return;
	}
	list_add_tail(&q->node, &vdirt_evq_list);
	vdirt_evq_len++;
	spin_unlock_irqrestore(&vdirt_evq_lock, flags);
	queue_work(system_unbound_wq, &vdirt_ev_work);
}

static const struct vdirt_event_ops vdirt_nl_event_ops = {
	.mismatch = vdirt_nl_mismatch,
};

/* ---- family ---- */

static const struct genl_ops vdirt_nl_ops[] = {
	{
		.cmd = VDIRT_CMD_DEV_GET,
		.doit = vdirt_nl_dev_get_doit,
		.start = vdirt_nl_dev_dump_start,
		.dumpit = vdirt_nl_dev_dumpit,
	},
	{ .cmd = VDIRT_CMD_BASELINE_BEGIN, .doit = vdirt_nl_load_begin },
	{ .cmd = VDIRT_CMD_BASELINE_CHUNK, .doit = vdirt_nl_load_chunk },
	{ .cmd = VDIRT_CMD_BASELINE_COMMIT, .doit = vdirt_nl_load_commit },
	{ .cmd = VDIRT_CMD_BASELINE_ABORT, .doit = vdirt_nl_load_abort },
	{ .cmd = VDIRT_CMD_BASELINE_CAPTURE, .doit = vdirt_nl_capture },
	{ .cmd = VDIRT_CMD_BASELINE_CLEAR, .doit = vdirt_nl_clear },
	{ .cmd = VDIRT_CMD_SCAN_START, .doit = vdirt_nl_scan_start },
	{ .cmd = VDIRT_CMD_SCAN_STOP, .doit = vdirt_nl_scan_stop },
	{
		.cmd = VDIRT_CMD_MISMATCH_GET,
		.start = vdirt_nl_mm_dump_start,
		.dumpit = vdirt_nl_mm_dumpit,
	},
	{ .cmd = VDIRT_CMD_MISMATCH_CLEAR, .doit = vdirt_nl_mismatch_clear },
	{
		.cmd = VDIRT_CMD_HASH_GET,
		.start = vdirt_nl_hash_dump_start,
		.dumpit = vdirt_nl_hash_dumpit,
	},
	{ .cmd = VDIRT_CMD_EVENTS_SUBSCRIBE, .doit = vdirt_nl_subscribe },
	{ .cmd = VDIRT_CMD_ATTEST, .doit = vdirt_nl_attest },
	{ .cmd = VDIRT_CMD_ATTEST_GET, .doit = vdirt_nl_attest_get },
	{
		.cmd = VDIRT_CMD_EPOCH_GET,
		.start = vdirt_nl_epoch_dump_start,
		.dumpit = vdirt_nl_epoch_dumpit,
	},
	{
		.cmd = VDIRT_CMD_CHANGED_GET,
		.start = vdirt_nl_changed_dump_start,
		.dumpit = vdirt_nl_changed_dumpit,
	},
};

static const struct genl_multicast_group vdirt_nl_mcgrps[] = {
	[VDIRT_MCGRP_EVENTS] = {
		.name = VDIRT_GENL_MCGRP_EVENTS,
#if VDIRT_MCAST_RESTRICTED
		.flags = GENL_MCAST_CAP_SYS_ADMIN,
#endif
	},
};

static struct genl_family vdirt_genl_family __ro_after_init = {
	.name = VDIRT_GENL_NAME,
	.version = VDIRT_GENL_VERSION,
	.maxattr = VDIRT_A_MAX,
	.policy = vdirt_nl_policy,
	.netnsok = false,
	.parallel_ops = true,
	.resv_start_op = VDIRT_CMD_DEV_GET,	/* every op strict */
	.ops = vdirt_nl_ops,
	.n_ops = ARRAY_SIZE(vdirt_nl_ops),
	.mcgrps = vdirt_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vdirt_nl_mcgrps),
	.module = THIS_MODULE,
};

int vdirt_netlink_init(void)
{
	int r;

	r = netlink_register_notifier(&vdirt_nl_notifier);
	if (r)
		return r;
	r = genl_register_family(&vdirt_genl_family);
	if (r) {
		netlink_unregister_notifier(&vdirt_nl_notifier);
		return r;
	}
	vdirt_set_event_ops(&vdirt_nl_event_ops);
	if (!VDIRT_MCAST_RESTRICTED)
		pr_info("dm-vdirt: this kernel cannot restrict multicast groups; events are unicast to subscribed CAP_SYS_ADMIN sockets\n");
	return 0;
}

void vdirt_netlink_exit(void)
{
	struct vdirt_evq *q, *qtmp;
	unsigned long flags;

	vdirt_set_event_ops(NULL);	/* waits for running hooks (RCU) */
	spin_lock_irqsave(&vdirt_evq_lock, flags);
	vdirt_evq_stopped = true;
	spin_unlock_irqrestore(&vdirt_evq_lock, flags);
	cancel_work_sync(&vdirt_ev_work);
	list_for_each_entry_safe(q, qtmp, &vdirt_evq_list, node) {
		list_del(&q->node);
		kfree(q);
	}
	genl_unregister_family(&vdirt_genl_family);
	/* loads belong to devices: none is left once every table is gone */
	netlink_unregister_notifier(&vdirt_nl_notifier);
}
