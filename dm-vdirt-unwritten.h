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
 * One bitmap in memory, mem: what the device serves, set when a write
 * stores its digest.  A write that sets a bit before its data is on the
 * device (our copy, hashed before or while it is written) is listed from
 * then until its data is done (struct vdirt_uw_write).  A commit computes
 * each changed bitmap block from mem, the bits of every listed write taken
 * from the block as it is on disk, then flushes the data device, then marks
 * the block for writing: a bit is never durable before its data.
 */
#ifndef DM_VDIRT_UNWRITTEN_H
#define DM_VDIRT_UNWRITTEN_H

#include <linux/bitops.h>
#include <linux/compiler.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct vdirt_dev;
struct vdirt_disk_entry;
struct dm_buffer;

/* a write of clusters [first, last] listed while its data is not done */
struct vdirt_uw_write {
	struct list_head node;		/* uw->lock: in uw->writes */
	u64 first;			/* the write's owner: set before */
	u64 last;			/* its store, constant while listed */
	bool listed;			/* the write's owner only */
};

struct vdirt_unwritten {
	bool on;			/* constant after ctr: INCOMPAT_UNWRITTEN */
	bool zero;			/* constant after ctr: zero_unwritten */
	bool purging;			/* lockless (READ_ONCE): SB_F_PURGE */
	u64 gen;			/* commit_lock: the superblock's unw_gen */
	u64 bits;			/* constant after ctr: blocks * bits */
	unsigned long *mem;		/* lockless set/clear_bit: served state */
	unsigned long *blk_changed;	/* lockless: bitmap blocks to write */
	spinlock_t lock;		/* writes; a commit's copy of mem */
	struct list_head writes;	/* lock: struct vdirt_uw_write listed */
	struct dm_buffer **batch;	/* commit_lock: blocks computed, held */
	void *scratch;			/* commit_lock: one block computed */
};

/* ctr, once the layout is known (zero: zero_unwritten given) / dtr */
int vdirt_uw_alloc(struct vdirt_dev *vd, bool zero, char **error);
void vdirt_uw_free(struct vdirt_dev *vd);
/* preresume (metadata reload), commit_lock held: read the bitmap */
int vdirt_uw_load(struct vdirt_dev *vd);
/* the commit, commit_lock held: flush data, write changed blocks */
int vdirt_uw_sync(struct vdirt_dev *vd);

/* any context: that write's data is done (or failed); unlisted */
void vdirt_uw_end(struct vdirt_dev *vd, struct vdirt_uw_write *w);
/*
 * The store path of a write of cluster c (its range lock held): written.
 * w: the write, its data not done yet, listed from now on if this is the
 * first bit it sets (w->first and w->last its clusters); NULL: the data
 * is done (or not committed: a device not measuring).
 */
void vdirt_uw_set(struct vdirt_dev *vd, struct vdirt_uw_write *w, u64 c);
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
