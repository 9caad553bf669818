/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt epochs and write sets (store layer, dm-vdirt-epoch.c): the epoch
 * table on the metadata device (RO_COMPAT_EPOCHS), the per-epoch write
 * sets (RO_COMPAT_WRITESETS) that changed-block lists are read from, and
 * opening and closing epochs.
 */
#ifndef DM_VDIRT_EPOCH_H
#define DM_VDIRT_EPOCH_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "dm-vdirt-format.h"

struct vdirt_dev;
struct vdirt_cursor;

struct vdirt_epochs {
	bool on;			/* constant after ctr: epoch table */
	bool wsets;			/* constant after ctr: write sets */
	u64 first;			/* commit_lock: first epoch in the table */
	u64 start_ns;			/* commit_lock: the open epoch's start */
	u64 log_first;			/* commit_lock: its first record */
	char label[VDIRT_EPOCH_LABEL_LEN]; /* commit_lock: its label */
	atomic64_t written;		/* clusters added to the open epoch's set */
	u64 recover_epoch;		/* resume: epoch open at the crash, or 0 */
	atomic64_t recover_written;	/* clusters recovery added to its set */
	spinlock_t wset_lock;		/* a write-set block taken for an epoch */
	spinlock_t hist_lock;		/* the rings of the digest history */
	struct mutex new_lock;		/* serialises epoch_new */
};

/* ctr: locks (cannot fail) */
void vdirt_epoch_init(struct vdirt_dev *vd);
/*
 * Activation (preresume, commit_lock held): close the epoch the superblock
 * names (unclean: crashed) and open the next, labelled "activation".
 */
int vdirt_epoch_activate(struct vdirt_dev *vd, bool unclean, u64 last_commit);
/* the commit (commit_lock held): the open epoch's entry, counts up to date */
int vdirt_epoch_sync(struct vdirt_dev *vd);
/* epoch_new: close the open epoch, open the next; its number in *epoch */
int vdirt_epoch_new(struct vdirt_dev *vd, const char *label, u64 *epoch);
/*
 * The store (vdirt_update_cluster): cluster was first written in epoch e:
 * put it in e's write set.  cur->nowait: only a cached block, else
 * -EAGAIN.
 */
int vdirt_wset_mark(struct vdirt_dev *vd, struct vdirt_cursor *cur,
		    u64 cluster, u64 e);
/*
 * Recovery: cluster c's content matched its entry e; if e names the
 * crashed epoch (or a later one it was closing into), c is in its set.
 */
int vdirt_wset_recovered(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			 u64 c, struct vdirt_disk_entry *e);
/* the oldest retained epoch (0 without an epoch table) */
u64 vdirt_epoch_oldest(struct vdirt_dev *vd);
/*
 * The attestation root of closed epoch e (commit_lock held): -ENOENT when
 * it is not retained or not closed.
 */
int vdirt_epoch_set_root(struct vdirt_dev *vd, u64 e, const u8 *root);
/* a purge in the open epoch: every cluster changed in it (commit_lock held) */
int vdirt_epoch_purged(struct vdirt_dev *vd);
/* an epoch table entry, -ENOENT when not retained */
int vdirt_epoch_read(struct vdirt_dev *vd, u64 e, struct vdirt_disk_epoch *out);
/*
 * The union of the write sets of epochs [from, to] over the clusters of
 * write-set block index blk (VDIRT_WSET_BITS_PER_BLOCK clusters) into
 * bits (VDIRT_WSET_BITS_PER_BLOCK / 8 bytes); returns 1 if any bit is set.
 */
int vdirt_wset_union(struct vdirt_dev *vd, u64 from, u64 to, u64 blk,
		     unsigned long *bits);

/*
 * The changed-block list of epochs [from, to]: the runs of the write-set
 * block holding cluster *pos, from *pos on, at most max (first, count)
 * pairs into runs; *pos moves past them (to the next block when this one
 * is done).  bits: VDIRT_WSET_BITS_PER_BLOCK / 8 bytes of scratch.
 * Returns the number of runs or -errno.
 */
int vdirt_changed_runs(struct vdirt_dev *vd, u64 from, u64 to, u64 *pos,
		       u64 *runs, unsigned int max, unsigned long *bits);

/*
 * Digest history (RO_COMPAT_HISTORY): cluster c held digest from its write
 * in epoch first to the end of epoch last, then was written again.  nowait:
 * only a cached block, else -EAGAIN.
 */
int vdirt_hist_add(struct vdirt_dev *vd, bool nowait, u64 c,
		   const u8 *digest, u64 first, u64 last);
/*
 * A read of c gave digest: 1 if c held it at the end of a retained epoch
 * (*epoch: the newest such), 0 if not, or -errno.
 */
int vdirt_hist_find(struct vdirt_dev *vd, u64 c, const u8 *digest, u64 *epoch);

#endif /* DM_VDIRT_EPOCH_H */
