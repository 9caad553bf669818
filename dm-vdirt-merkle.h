/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt attestation tree (store layer, dm-vdirt-merkle.c): a SHA-256
 * Merkle tree over every cluster's current digest (RO_COMPAT_MERKLE, the
 * definition is in dm-vdirt-format.h), its nodes and changed-chunk bitmap
 * on the metadata device, the freeze that makes a root (and a metadata
 * snapshot) cover one instant while writes go on, the root computation,
 * inclusion proofs and the IMA measurement of each closed epoch's root.
 */
#ifndef DM_VDIRT_MERKLE_H
#define DM_VDIRT_MERKLE_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "dm-vdirt-format.h"

struct vdirt_dev;
struct vdirt_cursor;
struct crypto_shash;

/* what a finished root covers (ATTEST_GET) */
struct vdirt_root {
	u64 id;				/* the computation's number */
	u8 root[VDIRT_MERKLE_DIGEST_SIZE];
	u64 epoch;			/* the epoch then current (or closed) */
	u64 time_ns;			/* wall clock at the freeze */
	u64 log_head;			/* the record log at the freeze */
	u8 log_hash[VDIRT_CHAIN_DIGEST_SIZE];
	u64 sb_seq;			/* the superblock commit then */
	bool proof;			/* a cluster's proof below */
	u64 cluster;
	u8 valid;			/* VDIRT_HV_CURRENT or 0 */
	u8 digest[VDIRT_MAX_DIGEST_SIZE];
	u32 height;			/* proof: height siblings */
	u8 path[VDIRT_MERKLE_MAX_HEIGHT][VDIRT_MERKLE_DIGEST_SIZE];
};

struct vdirt_merkle {
	bool on;			/* constant after ctr: RO_COMPAT_MERKLE */
	u64 chunks;			/* constant after ctr: level-7 nodes */
	struct crypto_shash *tfm;	/* constant after ctr: sha256 */
	unsigned long *dirty;		/* lockless set_bit: chunks changed
					 * since their stored node
					 */
	unsigned long *pending;		/* the job: chunks its root recomputes */
	unsigned long *frozen;		/* set by a freeze; cleared under
					 * snap_lock: the chunk's live entries
					 * still are the frozen state
					 */
	unsigned long *blk_changed;	/* lockless: bitmap blocks to write */
	struct mutex snap_lock;		/* freezes, frozen chunks' reads and
					 * copies, the fields below
					 */
	bool freeze;			/* snap_lock: a freeze is active */
	bool snap;			/* snap_lock: it is a held snapshot */
	u64 for_epoch;			/* snap_lock: closed epoch to get the
					 * root, or 0
					 */
	bool stop;			/* lockless: the job must stop */
	bool running;			/* snap_lock: the job is queued/running */
	struct work_struct work;	/* the root computation, system_long_wq */
	spinlock_t res_lock;		/* protects id, done_id, result, res */
	u64 id;				/* res_lock: last computation started */
	u64 done_id;			/* res_lock: last one ended */
	int result;			/* res_lock: its errno */
	struct vdirt_root *res;		/* res_lock: its result (when 0) */
	struct vdirt_root *next;	/* snap_lock: the running one's */
};

/* ctr: locks (cannot fail); after the layout is known: memory, tfm */
void vdirt_merkle_init(struct vdirt_dev *vd);
int vdirt_merkle_alloc(struct vdirt_dev *vd, char **error);
void vdirt_merkle_free(struct vdirt_dev *vd);
/* kernel format: every chunk changed (commit_lock held) */
int vdirt_merkle_format(struct vdirt_dev *vd);
/*
 * Activation (preresume, commit_lock held): load the changed-chunk bitmap,
 * and after an unclean shutdown mark the chunks of every dirty write-intent
 * region changed.
 */
int vdirt_merkle_activate(struct vdirt_dev *vd);
/* the commit (commit_lock held): write the changed bitmap blocks */
int vdirt_merkle_sync(struct vdirt_dev *vd);
/* every chunk changed (a purge: every leaf changed) */
void vdirt_merkle_all_changed(struct vdirt_dev *vd);
/*
 * A purge: no freeze active or starting; returns 0 with the tree's
 * snap_lock held (release with vdirt_merkle_release()), or -EBUSY
 */
int vdirt_merkle_quiesce(struct vdirt_dev *vd);
void vdirt_merkle_release(struct vdirt_dev *vd);
/* presuspend, dtr: stop the job and drop the freeze */
void vdirt_merkle_stop(struct vdirt_dev *vd);

/*
 * The store, before cluster's current digest changes (with its range
 * lock held): vdirt_merkle_prepare() copies a frozen chunk aside (nowait:
 * -EAGAIN rather than wait).  The change itself is made in an RCU read
 * section in which vdirt_merkle_frozen() is false (a freeze waits for the
 * section to end), and ends with vdirt_merkle_mark(): the chunk changed.
 */
int vdirt_merkle_prepare(struct vdirt_dev *vd, u64 cluster, bool nowait);
bool vdirt_merkle_frozen(struct vdirt_dev *vd, u64 cluster);
void vdirt_merkle_mark(struct vdirt_dev *vd, u64 cluster);

/*
 * Start a root computation: over the state now (attest; proof: with
 * cluster's proof), as a held snapshot (snap), or for closed epoch
 * for_epoch.  *id is its number.  -EBUSY while a freeze is active.
 */
int vdirt_merkle_start(struct vdirt_dev *vd, bool snap, bool proof,
		       u64 cluster, u64 for_epoch, u64 *id);
/* metadata_snap drop: -ENOENT without a snapshot */
int vdirt_merkle_drop(struct vdirt_dev *vd);
/* the last result: copies it, returns its errno (or -ENODATA) */
int vdirt_merkle_result(struct vdirt_dev *vd, u64 *id, u64 *done_id,
			struct vdirt_root *out);
/* a snapshot is held */
bool vdirt_merkle_snap_held(struct vdirt_dev *vd);
/*
 * The held snapshot's digests of clusters [first, first + n) (n <= 256,
 * zero: unmeasured).  -ENOENT without a snapshot.
 */
int vdirt_merkle_snap_read(struct vdirt_dev *vd, u64 first, u32 n,
			   u8 *digests);

#endif /* DM_VDIRT_MERKLE_H */
