/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt write-intent bitmap (store layer, dm-vdirt-intent.c): the bits
 * of regions that may hold writes not yet committed, and the regions left
 * to measure again after an unclean shutdown.
 */
#ifndef DM_VDIRT_INTENT_H
#define DM_VDIRT_INTENT_H

#include <linux/bio.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

struct vdirt_dev;
struct vdirt_io;

/* clusters per intent region: VDIRT_INTENT_REGION_CLUSTERS */
#define VDIRT_INTENT_SHIFT	10

/* the write-intent bitmap of one device (vd->intent) */
struct vdirt_intent {
	bool on;			/* constant after ctr: module param */
	u64 nr_regions;			/* constant after ctr */
	spinlock_t lock;		/* the bitmaps, waiters below */
	unsigned long *wanted;		/* bits we want on disk (LE order) */
	unsigned long *disk;		/* bits known durable on disk; changed
					 * under lock, read lockless by
					 * vdirt_intent_get()
					 */
	unsigned long *touched;		/* regions written this period; set
					 * lockless (set_bit), cleared under lock
					 */
	unsigned long *cand;		/* commit work only: regions clearing */
	unsigned long *blk_dirty;	/* bitmap blocks to write */
	unsigned long *pending;		/* regions to recover, lock */
	u64 pending_regions;		/* lock: bits set in pending */
	u64 pending_clusters;		/* lock: clusters in them at load */
	u64 load_seq;			/* lock: loads so far (preresume) */
	atomic_t *writers;		/* writes in flight per region: lockless */
	struct list_head waiters;	/* vdirt_io waiting for a bit, lock */
	struct mutex io_lock;		/* serialises bitmap block I/O */
	struct page *page;		/* bitmap block buffer, io_lock */
	struct bio_set bs;		/* bitmap block bios, io_lock */
	u64 writes;			/* bitmap block writes, io_lock */
	unsigned int ticks;		/* commit work only: calls this period */
	struct work_struct work;	/* writes the bits waiters need */
};

static inline u64 vdirt_iregion(u64 cluster)
{
	return cluster >> VDIRT_INTENT_SHIFT;
}

/* ctr (once the geometry is known) / dtr, also after a failed init */
int vdirt_intent_init(struct vdirt_dev *vd);
void vdirt_intent_exit(struct vdirt_dev *vd);

/* preresume (from vdirt_meta_reload), commit_lock held */
int vdirt_intent_load(struct vdirt_dev *vd, bool unclean, bool had_intent);

/* the I/O path: a write holds its region's bit while it changes data */
bool vdirt_intent_get(struct vdirt_io *io);
void vdirt_intent_put(struct vdirt_io *io);

/* the periodic commit work; postsuspend */
void vdirt_intent_clear_idle(struct vdirt_dev *vd);
bool vdirt_intent_close(struct vdirt_dev *vd);

/* crash recovery (dm-vdirt-recovery.c) */
void vdirt_intent_hold(struct vdirt_dev *vd, u64 r);
void vdirt_intent_release(struct vdirt_dev *vd, u64 r, bool done);
bool vdirt_intent_pending(struct vdirt_dev *vd, u64 r);
u64 vdirt_intent_next_pending(struct vdirt_dev *vd, u64 r);
bool vdirt_intent_loaded(struct vdirt_dev *vd, u64 *seq, u64 *clusters);

#endif /* DM_VDIRT_INTENT_H */
