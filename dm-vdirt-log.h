/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt record log (store layer, dm-vdirt-log.c): the mismatch record
 * ring on the metadata device and the events sent once a record is
 * durable.
 */
#ifndef DM_VDIRT_LOG_H
#define DM_VDIRT_LOG_H

#include <linux/types.h>

#include "dm-vdirt-format.h"

struct vdirt_dev;

/* in-memory copy of a mismatch record (netlink dumps these) */
struct vdirt_record {
	u64 seq;
	u64 cluster;
	u64 time_ns;
	u8 kind;		/* VDIRT_KIND_* */
	u8 op;			/* VDIRT_OP_* */
	u8 digest_size;
	u8 expected[VDIRT_MAX_DIGEST_SIZE];
	u8 actual[VDIRT_MAX_DIGEST_SIZE];
	u64 aux[4];		/* by kind: VDIRT_AUX_* */
	u64 epoch;		/* the epoch it was made in */
	u8 prev[32];		/* RO_COMPAT_CHAIN: D(seq - 1), else zero */
};

/* ctr, first thing: the log's locks and event list (cannot fail) */
void vdirt_log_init(struct vdirt_dev *vd);
/*
 * ctr, after the table is parsed: the chain's hash (sha256, or
 * hmac(sha256) keyed with the logon key key_desc); *error a literal.
 */
int vdirt_log_setup(struct vdirt_dev *vd, const char *key_desc, char **error);
void vdirt_log_exit(struct vdirt_dev *vd);
/*
 * Activation (preresume, commit_lock held, after the superblock is
 * loaded): restart the chain if its keying changed, then append the
 * activation record.
 */
int vdirt_log_activate(struct vdirt_dev *vd, bool unclean);
/* the committed head, D(head - 1) (32 bytes) and chain_start */
void vdirt_log_chain_info(struct vdirt_dev *vd, u64 *head, u8 *hash,
			  u64 *chain_start);
/* dtr: drop the events never sent */
void vdirt_events_free(struct vdirt_dev *vd);

/*
 * Store a record (aux: VDIRT_KIND_RECOVERY only, else NULL).  It becomes
 * visible (report, netlink dump and event) once a commit made it durable.
 */
int vdirt_log_append(struct vdirt_dev *vd, u64 cluster, u8 kind, u8 op,
		     const u8 *expected, const u8 *actual, const u64 *aux);
/* records stored but not yet committed? (lockless, any context) */
bool vdirt_records_unsynced(struct vdirt_dev *vd);

/*
 * Mismatch records: numbers [log_first, log_head) of vdirt_get_info()
 * are readable; vdirt_record_read() returns -ENOENT for others.
 */
int vdirt_record_read(struct vdirt_dev *vd, u64 seq, struct vdirt_record *rec);
/* the same, and its 256 on-disk bytes into raw (if not NULL) */
int vdirt_record_read_raw(struct vdirt_dev *vd, u64 seq,
			  struct vdirt_record *rec,
			  struct vdirt_disk_record *raw);

/* the commit (dm-vdirt-meta.c): the head it makes durable, commit_lock held */
void vdirt_log_snapshot(struct vdirt_dev *vd);
/* the commit: send the events of records below "below" (U64_MAX: all) */
void vdirt_events_deliver(struct vdirt_dev *vd, u64 below);

/*
 * Event hook: called after a record is stored, from process context but
 * inside rcu_read_lock(), so it must not sleep (GFP_ATOMIC).  One hook (the
 * netlink family); vdirt_set_event_ops(NULL) waits for running calls.
 */
struct vdirt_event_ops {
	void (*mismatch)(struct vdirt_dev *vd, const struct vdirt_record *rec);
};
void vdirt_set_event_ops(const struct vdirt_event_ops *ops);

#endif /* DM_VDIRT_LOG_H */
