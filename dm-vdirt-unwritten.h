/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt written bitmap (dm-vdirt-unwritten.c), a store of the metadata
 * device (INCOMPAT_UNWRITTEN): one bit per cluster, set once a write
 * through the device stored the cluster's digest, cleared by a discard, a
 * write-zeroes or a purge.  With the table argument zero_unwritten a
 * cluster whose bit is clear reads as zeros and its entry counts as
 * unmeasured (vdirt_uw_hidden()); while a purge's walk is pending
 * (SB_F_PURGE) the whole entry of such a cluster is stale.
 *
 * Two bitmaps in memory: mem, what the device serves (set when a write
 * stores its digest), and ready, the bits whose data reached the device
 * (set when the write completed).  A commit flushes the data device, then
 * writes the changed bitmap blocks from ready: a bit is never durable
 * before its data.
 */
#ifndef DM_VDIRT_UNWRITTEN_H
#define DM_VDIRT_UNWRITTEN_H

#include <linux/bitops.h>
#include <linux/compiler.h>
#include <linux/types.h>

struct vdirt_dev;
struct vdirt_disk_entry;

struct vdirt_unwritten {
	bool on;			/* constant after ctr: INCOMPAT_UNWRITTEN */
	bool zero;			/* constant after ctr: zero_unwritten */
	bool purging;			/* lockless (READ_ONCE): SB_F_PURGE */
	u64 gen;			/* commit_lock: the superblock's unw_gen */
	u64 bits;			/* constant after ctr: blocks * bits */
	unsigned long *mem;		/* lockless set/clear_bit: served state */
	unsigned long *ready;		/* lockless set/clear_bit: data done */
	unsigned long *blk_changed;	/* lockless: bitmap blocks to write */
};

/* ctr, once the layout is known (zero: zero_unwritten given) / dtr */
int vdirt_uw_alloc(struct vdirt_dev *vd, bool zero, char **error);
void vdirt_uw_free(struct vdirt_dev *vd);
/* preresume (metadata reload), commit_lock held: read the bitmap */
int vdirt_uw_load(struct vdirt_dev *vd);
/* the commit, commit_lock held: flush data, write changed blocks */
int vdirt_uw_sync(struct vdirt_dev *vd);

/* the store path of a write of cluster c (its range lock held) */
void vdirt_uw_set(struct vdirt_dev *vd, u64 c);
/* any context: the write of clusters [first, last] completed */
void vdirt_uw_done(struct vdirt_dev *vd, u64 first, u64 last);
/* a discard or write-zeroes of cluster c completed (range lock held) */
void vdirt_uw_forget(struct vdirt_dev *vd, u64 c);
/*
 * The purge (commit_lock held, from the commit): every bit clear in a new
 * generation, SB_F_PURGE set
 */
void vdirt_uw_purge(struct vdirt_dev *vd);
/* the purge's walk completed (commit_lock held) */
void vdirt_uw_purged(struct vdirt_dev *vd);

/*
 * Clear the parts of cluster c's entry that vdirt_uw_hidden() hides (its
 * range lock held); returns true when the entry changed.
 */
bool vdirt_uw_scrub(struct vdirt_dev *vd, struct vdirt_disk_entry *e);

/* vdirt_uw_written(), vdirt_uw_hidden(), vdirt_uw_zeroes(): dm-vdirt.h */

#endif /* DM_VDIRT_UNWRITTEN_H */
