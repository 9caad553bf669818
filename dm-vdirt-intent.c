// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt write-intent bitmap (store layer).
 *
 * Before a data write is issued to a region (VDIRT_INTENT_REGION_CLUSTERS
 * clusters), the region's bit is made durable on the metadata device; the
 * writes waiting for bits are batched into one FUA write per bitmap block.
 * A bit is cleared lazily: once its region has had no write for a whole
 * clearing period, the data device is flushed, the metadata committed, and
 * then the bit is cleared.  After an unclean shutdown the load chooses the
 * regions to measure again (vd->intent.pending); the crash recovery engine
 * (dm-vdirt-recovery.c) works through them and releases each one here.
 * See "Crash consistency" in Documentation/dm-vdirt.rst.
 *
 * Like the rest of the store this file calls nothing above it: a write
 * waiting for its bit goes on through vd->store_ops->intent_ready(), an
 * error is reported through vd->store_ops->error().
 */
#include <linux/bitops.h>
#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dm-vdirt.h"

static unsigned int intent_idle_s = 1;
module_param(intent_idle_s, uint, 0644);
MODULE_PARM_DESC(intent_idle_s,
		 "Seconds a region must stay idle before its write-intent bit is cleared (default 1)");

#define VDIRT_BITMAP_BYTES(n)	(BITS_TO_LONGS(n) * sizeof(unsigned long))
/* unsigned longs in one bitmap block */
#define VDIRT_INTENT_WORDS	(VDIRT_META_BLOCK_SIZE / sizeof(unsigned long))
/*
 * Regions handled per hold of the intent lock by the walks over every
 * region: interrupts are off while it is held, so a walk takes and drops it
 * per chunk and its time with interrupts off does not grow with the device.
 */
#define VDIRT_INTENT_CHUNK	4096U

static void vdirt_intent_work(struct work_struct *work);

/* the bitmap block (of VDIRT_INTENT_BITS_PER_BLOCK bits) holding region r */
static unsigned int vdirt_iblock(u64 r)
{
	return r / VDIRT_INTENT_BITS_PER_BLOCK;
}

int vdirt_intent_init(struct vdirt_dev *vd)
{
	struct vdirt_intent *in = &vd->intent;
	u64 nr = DIV_ROUND_UP_ULL(vd->nr_clusters,
				  VDIRT_INTENT_REGION_CLUSTERS);
	size_t map = vd->layout.intent_blocks * VDIRT_META_BLOCK_SIZE;

	BUILD_BUG_ON(VDIRT_INTENT_REGION_CLUSTERS != 1U << VDIRT_INTENT_SHIFT);
	in->nr_regions = nr;
	spin_lock_init(&in->lock);
	mutex_init(&in->io_lock);
	INIT_LIST_HEAD(&in->waiters);
	INIT_WORK(&in->work, vdirt_intent_work);

	in->wanted = kvzalloc(map, GFP_KERNEL);
	in->disk = kvzalloc(map, GFP_KERNEL);
	in->touched = kvzalloc(VDIRT_BITMAP_BYTES(nr), GFP_KERNEL);
	in->cand = kvzalloc(VDIRT_BITMAP_BYTES(nr), GFP_KERNEL);
	in->pending = kvzalloc(VDIRT_BITMAP_BYTES(nr), GFP_KERNEL);
	in->blk_dirty = kvzalloc(VDIRT_BITMAP_BYTES(vd->layout.intent_blocks),
				 GFP_KERNEL);
	in->writers = kvcalloc(nr, sizeof(atomic_t), GFP_KERNEL);
	in->page = alloc_page(GFP_KERNEL);
	/* one bitmap bio at a time (io_lock): never from fs_bio_set */
	if (bioset_init(&in->bs, 1, 0, BIOSET_NEED_BVECS))
		return -ENOMEM;
	if (!in->wanted || !in->disk || !in->touched || !in->cand ||
	    !in->pending || !in->blk_dirty || !in->writers || !in->page)
		return -ENOMEM;
	return 0;
}

/* also after a failed or partial vdirt_intent_init() */
void vdirt_intent_exit(struct vdirt_dev *vd)
{
	struct vdirt_intent *in = &vd->intent;

	bioset_exit(&in->bs);
	if (in->page)
		__free_page(in->page);
	kvfree(in->writers);
	kvfree(in->blk_dirty);
	kvfree(in->pending);
	kvfree(in->cand);
	kvfree(in->touched);
	kvfree(in->disk);
	kvfree(in->wanted);
}

/* read or write bitmap block i through in->page; in->io_lock held */
static int vdirt_intent_rw(struct vdirt_dev *vd, unsigned int i,
			   blk_opf_t opf)
{
	struct vdirt_intent *in = &vd->intent;
	struct bio *bio;
	int r;

	lockdep_assert_held(&in->io_lock);
	bio = bio_alloc_bioset(vd->meta_dev->bdev, 1, opf, GFP_NOIO, &in->bs);
	bio->bi_iter.bi_sector = (vd->layout.intent_start + i) <<
				 (VDIRT_META_BLOCK_SHIFT - SECTOR_SHIFT);
	__bio_add_page(bio, in->page, VDIRT_META_BLOCK_SIZE, 0);
	r = submit_bio_wait(bio);
	bio_put(bio);
	return r;
}

/*
 * Write every dirty bitmap block, FUA; in->io_lock held.  After block i is
 * on disk, a bit counts as durable if it was written set and is still
 * wanted: a bit cleared meanwhile stays not durable until written again.
 */
static int vdirt_intent_write(struct vdirt_dev *vd)
{
	struct vdirt_intent *in = &vd->intent;
	unsigned long *snap = page_address(in->page);
	unsigned long *want, *disk;
	unsigned int i;
	size_t w;
	int r;

	lockdep_assert_held(&in->io_lock);
	for (i = 0; i < vd->layout.intent_blocks; i++) {
		want = in->wanted + i * VDIRT_INTENT_WORDS;
		disk = in->disk + i * VDIRT_INTENT_WORDS;
		spin_lock_irq(&in->lock);
		if (!__test_and_clear_bit(i, in->blk_dirty)) {
			spin_unlock_irq(&in->lock);
			continue;
		}
		memcpy(snap, want, VDIRT_META_BLOCK_SIZE);
		spin_unlock_irq(&in->lock);

		r = vdirt_intent_rw(vd, i, REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
		spin_lock_irq(&in->lock);
		if (r) {
			__set_bit(i, in->blk_dirty);
		} else {
			for (w = 0; w < VDIRT_INTENT_WORDS; w++)
				disk[w] = snap[w] & want[w];
		}
		spin_unlock_irq(&in->lock);
		if (r)
			return r;
		in->writes++;
	}
	return 0;
}

/* write the dirty bitmap blocks; an error goes to the failure policy */
static int vdirt_intent_flush(struct vdirt_dev *vd)
{
	int r = vdirt_intent_write(vd);

	if (r)
		vdirt_store_error(vd, "write-intent bitmap write", r);
	return r;
}

/* writes waiting for their bit: make the bits durable, then let them go */
static void vdirt_intent_work(struct work_struct *work)
{
	struct vdirt_dev *vd = container_of(work, struct vdirt_dev,
					    intent.work);
	struct vdirt_intent *in = &vd->intent;
	struct vdirt_io *io, *tmp;
	LIST_HEAD(list);

	mutex_lock(&in->io_lock);
	spin_lock_irq(&in->lock);
	list_splice_init(&in->waiters, &list);
	spin_unlock_irq(&in->lock);
	vdirt_intent_flush(vd);
	mutex_unlock(&in->io_lock);
	/* after an error the waiters see the state and fail or pass */
	list_for_each_entry_safe(io, tmp, &list, intent_node) {
		list_del_init(&io->intent_node);
		vd->store_ops->intent_ready(io);
	}
}

/*
 * A write to io->range is about to change data (and entries): count it in
 * its region and make sure the region's bit is durable.  Returns true to go
 * on now; false when the bio was queued: store_ops->intent_ready() hands it
 * back once the bit is on disk.  Any context; the range lock is held.
 */
bool vdirt_intent_get(struct vdirt_io *io)
{
	struct vdirt_dev *vd = io->vd;
	struct vdirt_intent *in = &vd->intent;
	u64 r = vdirt_iregion(io->range.first);
	unsigned long flags;
	bool durable;

	if (io->intent || !in->on || READ_ONCE(vd->state) != VDIRT_STATE_OK)
		return true;
	io->intent = true;
	/*
	 * Lockless when the bit is durable: count the writer, then look at
	 * the bit.  vdirt_intent_clear_cand() clears a bit, then looks at
	 * the writers again and sets it back if one came: one of the two
	 * sees the other (the barriers), so a bit is never cleared under a
	 * write that went on because it saw the bit set.
	 */
	atomic_inc(&in->writers[r]);
	set_bit(r, in->touched);
	/* the count before the bit: pairs with vdirt_intent_clear_cand() */
	smp_mb__after_atomic();
	if (test_bit_le(r, in->disk))
		return true;
	spin_lock_irqsave(&in->lock, flags);
	durable = test_bit_le(r, in->disk);
	if (!durable) {
		if (!__test_and_set_bit_le(r, in->wanted))
			__set_bit(vdirt_iblock(r), in->blk_dirty);
		list_add_tail(&io->intent_node, &in->waiters);
	}
	spin_unlock_irqrestore(&in->lock, flags);
	if (!durable)
		queue_work(vd->wq, &in->work);
	return durable;
}

/* the write holding io->intent is complete (data and entries); any context */
void vdirt_intent_put(struct vdirt_io *io)
{
	io->intent = false;
	vdirt_intent_release(io->vd, vdirt_iregion(io->range.first), false);
}

/* the recovery worker holds region r like a writer while it works on it */
void vdirt_intent_hold(struct vdirt_dev *vd, u64 r)
{
	struct vdirt_intent *in = &vd->intent;

	atomic_inc(&in->writers[r]);
	set_bit(r, in->touched);
}

/* a writer of region r is done; recovered: r is no longer pending */
void vdirt_intent_release(struct vdirt_dev *vd, u64 r, bool recovered)
{
	struct vdirt_intent *in = &vd->intent;
	unsigned long flags;

	set_bit(r, in->touched);
	/* touched is seen by whoever sees the writer gone */
	smp_mb__before_atomic();
	atomic_dec(&in->writers[r]);
	if (!recovered)
		return;
	spin_lock_irqsave(&in->lock, flags);
	if (__test_and_clear_bit(r, in->pending))
		in->pending_regions--;
	spin_unlock_irqrestore(&in->lock, flags);
}

/* is region r still to be recovered? (lockless) */
bool vdirt_intent_pending(struct vdirt_dev *vd, u64 r)
{
	return test_bit(r, vd->intent.pending);
}

/* the first region from r on still to be recovered, or nr_regions */
u64 vdirt_intent_next_pending(struct vdirt_dev *vd, u64 r)
{
	return find_next_bit(vd->intent.pending, vd->intent.nr_regions, r);
}

/*
 * Has the bitmap been loaded since load number *seq?  Then *seq becomes the
 * current one and *clusters the clusters of the regions then pending.
 */
bool vdirt_intent_loaded(struct vdirt_dev *vd, u64 *seq, u64 *clusters)
{
	struct vdirt_intent *in = &vd->intent;
	bool loaded;

	spin_lock_irq(&in->lock);
	loaded = in->load_seq != *seq;
	*seq = in->load_seq;
	*clusters = in->pending_clusters;
	spin_unlock_irq(&in->lock);
	return loaded;
}

/*
 * Mark the regions idle for a whole period (nothing touched them, no write
 * in flight, no pending recovery) in in->cand; a new period starts.
 * Returns how many were marked.
 */
static u64 vdirt_intent_find_idle(struct vdirt_dev *vd)
{
	struct vdirt_intent *in = &vd->intent;
	u64 r, base, end, nr = in->nr_regions, found = 0;

	/* in->cand is the commit work's own: no lock needed for it */
	bitmap_zero(in->cand, nr);
	for (base = 0; base < nr; base += VDIRT_INTENT_CHUNK) {
		end = min_t(u64, nr, base + VDIRT_INTENT_CHUNK);
		spin_lock_irq(&in->lock);
		for (r = find_next_bit_le(in->wanted, end, base); r < end;
		     r = find_next_bit_le(in->wanted, end, r + 1)) {
			if (!atomic_read(&in->writers[r]) &&
			    !test_bit(r, in->touched) &&
			    !test_bit(r, in->pending)) {
				__set_bit(r, in->cand);
				found++;
			}
		}
		/*
		 * A new period starts for this chunk: only regions idle
		 * through it qualify next (a write after this sets touched
		 * again and keeps its bit).
		 */
		bitmap_clear(in->touched, base, end - base);
		spin_unlock_irq(&in->lock);
	}
	return found;
}

/* clear the bits of the candidates still untouched; in->io_lock held */
static void vdirt_intent_clear_cand(struct vdirt_dev *vd)
{
	struct vdirt_intent *in = &vd->intent;
	u64 r, base, end, nr = in->nr_regions;

	lockdep_assert_held(&in->io_lock);
	for (base = 0; base < nr; base += VDIRT_INTENT_CHUNK) {
		end = min_t(u64, nr, base + VDIRT_INTENT_CHUNK);
		r = find_next_bit(in->cand, end, base);
		if (r >= end)
			continue;
		spin_lock_irq(&in->lock);
		for (; r < end; r = find_next_bit(in->cand, end, r + 1)) {
			if (atomic_read(&in->writers[r]) ||
			    test_bit(r, in->touched))
				continue;
			/*
			 * Idle for a whole period, and touched stayed clear
			 * since vdirt_intent_find_idle(): no write since
			 * before the flush and the commit.  A write counted
			 * meanwhile (vdirt_intent_get(), lockless) keeps it.
			 */
			__clear_bit_le(r, in->disk);
			/* the bit before the count: pairs with _get() */
			smp_mb();
			if (atomic_read(&in->writers[r])) {
				__set_bit_le(r, in->disk);
				continue;
			}
			__clear_bit_le(r, in->wanted);
			__set_bit(vdirt_iblock(r), in->blk_dirty);
		}
		spin_unlock_irq(&in->lock);
	}
}

/*
 * Clear the bits of regions without a write since the last pass (called
 * every second from the commit work; a pass every intent_idle_s calls).
 * A region qualifies when nothing touched it during a whole period, it has
 * no write in flight and no pending recovery; then its data is flushed and
 * its entries committed before its bit is cleared.  A write that arrives
 * meanwhile keeps it.
 */
void vdirt_intent_clear_idle(struct vdirt_dev *vd)
{
	struct vdirt_intent *in = &vd->intent;
	int err;

	if (!in->on || READ_ONCE(vd->state) != VDIRT_STATE_OK)
		return;
	/* one clearing period is intent_idle_s calls (seconds) */
	if (++in->ticks < max(1U, READ_ONCE(intent_idle_s)))
		return;
	in->ticks = 0;
	if (!vdirt_intent_find_idle(vd))
		return;

	err = blkdev_issue_flush(vd->data_dev->bdev);
	if (!err)
		err = vdirt_commit(vd);
	if (err)
		return;		/* the bits stay set: recovery covers them */

	mutex_lock(&in->io_lock);
	vdirt_intent_clear_cand(vd);
	vdirt_intent_flush(vd);
	mutex_unlock(&in->io_lock);
}

/*
 * Clean close (postsuspend, no I/O in flight): if nothing is left to
 * recover, flush the data device and clear the whole bitmap.  Returns true
 * when the metadata may be marked clean.
 */
bool vdirt_intent_close(struct vdirt_dev *vd)
{
	struct vdirt_intent *in = &vd->intent;
	unsigned int i;
	bool pending;
	int err;

	spin_lock_irq(&in->lock);
	pending = in->pending_regions;
	spin_unlock_irq(&in->lock);
	if (pending || READ_ONCE(vd->state) != VDIRT_STATE_OK)
		return false;
	if (!in->on)
		return true;
	err = blkdev_issue_flush(vd->data_dev->bdev);
	if (!err)
		err = vdirt_commit(vd);
	if (err)
		return false;
	mutex_lock(&in->io_lock);
	for (i = 0; i < vd->layout.intent_blocks; i++) {
		spin_lock_irq(&in->lock);
		memset(in->wanted + i * VDIRT_INTENT_WORDS, 0,
		       VDIRT_META_BLOCK_SIZE);
		memset(in->disk + i * VDIRT_INTENT_WORDS, 0,
		       VDIRT_META_BLOCK_SIZE);
		__set_bit(i, in->blk_dirty);
		spin_unlock_irq(&in->lock);
	}
	err = vdirt_intent_flush(vd);
	mutex_unlock(&in->io_lock);
	return !err;
}

/* read every bitmap block into in->wanted and in->disk */
static int vdirt_intent_read(struct vdirt_dev *vd)
{
	struct vdirt_intent *in = &vd->intent;
	unsigned int i;
	int err = 0;

	mutex_lock(&in->io_lock);
	for (i = 0; i < vd->layout.intent_blocks; i++) {
		err = vdirt_intent_rw(vd, i, REQ_OP_READ);
		if (err)
			break;
		spin_lock_irq(&in->lock);
		memcpy(in->wanted + i * VDIRT_INTENT_WORDS,
		       page_address(in->page), VDIRT_META_BLOCK_SIZE);
		memcpy(in->disk + i * VDIRT_INTENT_WORDS,
		       page_address(in->page), VDIRT_META_BLOCK_SIZE);
		spin_unlock_irq(&in->lock);
	}
	mutex_unlock(&in->io_lock);
	return err;
}

/*
 * Activation (preresume from vdirt_meta_reload, commit_lock held, no I/O
 * yet): read the bitmap; after an unclean shutdown choose the regions to
 * recover: the set bits, or every region when the last user did not keep
 * the bitmap.  The recovery engine takes the new set at resume
 * (vdirt_intent_loaded()).
 */
int vdirt_intent_load(struct vdirt_dev *vd, bool unclean, bool had_intent)
{
	struct vdirt_intent *in = &vd->intent;
	u64 r, base, end, nr = in->nr_regions, clusters = 0, regions = 0;
	int err;

	lockdep_assert_held(&vd->commit_lock);
	err = vdirt_intent_read(vd);
	if (err)
		return err;
	for (base = 0; base < nr; base += VDIRT_INTENT_CHUNK) {
		end = min_t(u64, nr, base + VDIRT_INTENT_CHUNK);
		spin_lock_irq(&in->lock);
		bitmap_clear(in->pending, base, end - base);
		bitmap_clear(in->touched, base, end - base);
		for (r = base; unclean && r < end; r++) {
			if (had_intent && !test_bit_le(r, in->wanted))
				continue;
			__set_bit(r, in->pending);
			regions++;
			clusters += min_t(u64, VDIRT_INTENT_REGION_CLUSTERS,
					  vd->nr_clusters -
					  (r << VDIRT_INTENT_SHIFT));
			/* keep the bit set (and durable) until recovered */
			if (!__test_and_set_bit_le(r, in->wanted))
				__set_bit(vdirt_iblock(r), in->blk_dirty);
		}
		spin_unlock_irq(&in->lock);
	}
	spin_lock_irq(&in->lock);
	in->pending_regions = regions;
	in->pending_clusters = clusters;
	in->load_seq++;
	spin_unlock_irq(&in->lock);
	if (clusters)
		VDLOG(DMWARN, vd, "unclean shutdown: measuring %llu clusters in %llu regions again%s",
		      (unsigned long long)clusters,
		      (unsigned long long)regions,
		      had_intent ? "" : " (no write-intent bitmap: all)");
	/* bits set above for a device without a bitmap must be durable */
	mutex_lock(&in->io_lock);
	err = in->on ? vdirt_intent_write(vd) : 0;
	mutex_unlock(&in->io_lock);
	return err;
}
