// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt write-intent bitmap and crash recovery.
 *
 * Before a data write is issued to a region (VDIRT_INTENT_REGION_CLUSTERS
 * clusters), the region's bit is made durable on the metadata device; the
 * writes waiting for bits are batched into one FUA write per bitmap block.
 * A bit is cleared lazily: once its region has had no write for a whole
 * clearing period, the data device is flushed, the metadata committed, and
 * then the bit is cleared.  After an unclean shutdown every cluster of every
 * region whose bit is set is measured again from the data device, in the
 * background; reads that reach a cluster before the recovery does measure
 * it on the spot.  See "Crash consistency" in Documentation/dm-vdirt.rst.
 */
#include <linux/bitops.h>
#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>

#include "dm-vdirt.h"

static unsigned int intent_idle_s = 1;
module_param(intent_idle_s, uint, 0644);
MODULE_PARM_DESC(intent_idle_s,
		 "Seconds a region must stay idle before its write-intent bit is cleared (default 1)");

#define VDIRT_INTENT_SHIFT	10	/* ilog2(VDIRT_INTENT_REGION_CLUSTERS) */
#define VDIRT_BITMAP_BYTES(n)	(BITS_TO_LONGS(n) * sizeof(unsigned long))
/*
 * Regions handled per hold of intent_lock by the walks over every region:
 * interrupts are off while it is held, so a walk takes and drops it per
 * chunk and its time with interrupts off does not grow with the device.
 */
#define VDIRT_INTENT_CHUNK	4096U

static u64 vdirt_iregion(u64 cluster)
{
	return cluster >> VDIRT_INTENT_SHIFT;
}

/* the bitmap block (of VDIRT_INTENT_BITS_PER_BLOCK bits) holding region r */
static unsigned int vdirt_iblock(u64 r)
{
	return r / VDIRT_INTENT_BITS_PER_BLOCK;
}

int vdirt_intent_alloc(struct vdirt_dev *vd)
{
	u64 nr = DIV_ROUND_UP_ULL(vd->nr_clusters,
				  VDIRT_INTENT_REGION_CLUSTERS);
	size_t map = vd->layout.intent_blocks * VDIRT_META_BLOCK_SIZE;

	BUILD_BUG_ON(VDIRT_INTENT_REGION_CLUSTERS != 1U << VDIRT_INTENT_SHIFT);
	vd->nr_iregions = nr;
	spin_lock_init(&vd->intent_lock);
	mutex_init(&vd->intent_io_lock);
	INIT_LIST_HEAD(&vd->intent_waiters);
	INIT_WORK(&vd->intent_work, vdirt_intent_work);
	INIT_WORK(&vd->recover_work, vdirt_recover_work);

	vd->intent_wanted = kvzalloc(map, GFP_KERNEL);
	vd->intent_disk = kvzalloc(map, GFP_KERNEL);
	vd->intent_touched = kvzalloc(VDIRT_BITMAP_BYTES(nr), GFP_KERNEL);
	vd->intent_cand = kvzalloc(VDIRT_BITMAP_BYTES(nr), GFP_KERNEL);
	vd->recover_pending = kvzalloc(VDIRT_BITMAP_BYTES(nr), GFP_KERNEL);
	vd->intent_blk_dirty =
		kvzalloc(VDIRT_BITMAP_BYTES(vd->layout.intent_blocks),
			 GFP_KERNEL);
	vd->intent_writers = kvcalloc(nr, sizeof(u32), GFP_KERNEL);
	vd->intent_page = alloc_page(GFP_KERNEL);
	/* one bitmap bio at a time (intent_io_lock): never from fs_bio_set */
	if (bioset_init(&vd->intent_bs, 1, 0, BIOSET_NEED_BVECS))
		return -ENOMEM;
	if (!vd->intent_wanted || !vd->intent_disk || !vd->intent_touched ||
	    !vd->intent_cand ||
	    !vd->recover_pending || !vd->intent_blk_dirty ||
	    !vd->intent_writers || !vd->intent_page)
		return -ENOMEM;
	return 0;
}

void vdirt_intent_free(struct vdirt_dev *vd)
{
	bioset_exit(&vd->intent_bs);
	if (vd->intent_page)
		__free_page(vd->intent_page);
	kvfree(vd->intent_writers);
	kvfree(vd->intent_blk_dirty);
	kvfree(vd->recover_pending);
	kvfree(vd->intent_cand);
	kvfree(vd->intent_touched);
	kvfree(vd->intent_disk);
	kvfree(vd->intent_wanted);
}

/* read or write bitmap block i through vd->intent_page; intent_io_lock */
static int vdirt_intent_rw(struct vdirt_dev *vd, unsigned int i,
			   blk_opf_t opf)
{
	struct bio *bio;
	int r;

	lockdep_assert_held(&vd->intent_io_lock);
	bio = bio_alloc_bioset(vd->meta_dev->bdev, 1, opf, GFP_NOIO,
			       &vd->intent_bs);
	bio->bi_iter.bi_sector = (vd->layout.intent_start + i) <<
				 (VDIRT_META_BLOCK_SHIFT - SECTOR_SHIFT);
	__bio_add_page(bio, vd->intent_page, VDIRT_META_BLOCK_SIZE, 0);
	r = submit_bio_wait(bio);
	bio_put(bio);
	return r;
}

/*
 * Write every dirty bitmap block, FUA.  After block i is on disk, a bit
 * counts as durable if it was written set and is still wanted: a bit
 * cleared meanwhile stays not durable until written again.
 */
static int vdirt_intent_write(struct vdirt_dev *vd)
{
	size_t words = VDIRT_META_BLOCK_SIZE / sizeof(unsigned long);
	unsigned long *snap = page_address(vd->intent_page);
	unsigned long *want, *disk;
	unsigned int i;
	size_t w;
	int r;

	lockdep_assert_held(&vd->intent_io_lock);
	for (i = 0; i < vd->layout.intent_blocks; i++) {
		want = vd->intent_wanted + i * words;
		disk = vd->intent_disk + i * words;
		spin_lock_irq(&vd->intent_lock);
		if (!__test_and_clear_bit(i, vd->intent_blk_dirty)) {
			spin_unlock_irq(&vd->intent_lock);
			continue;
		}
		memcpy(snap, want, VDIRT_META_BLOCK_SIZE);
		spin_unlock_irq(&vd->intent_lock);

		r = vdirt_intent_rw(vd, i, REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
		spin_lock_irq(&vd->intent_lock);
		if (r) {
			__set_bit(i, vd->intent_blk_dirty);
		} else {
			for (w = 0; w < words; w++)
				disk[w] = snap[w] & want[w];
		}
		spin_unlock_irq(&vd->intent_lock);
		if (r)
			return r;
		vd->intent_writes++;
	}
	return 0;
}

/* writes waiting for their bit: make the bits durable, then let them go */
void vdirt_intent_work(struct work_struct *work)
{
	struct vdirt_dev *vd = container_of(work, struct vdirt_dev,
					    intent_work);
	struct vdirt_io *io, *tmp;
	LIST_HEAD(list);
	int r;

	mutex_lock(&vd->intent_io_lock);
	spin_lock_irq(&vd->intent_lock);
	list_splice_init(&vd->intent_waiters, &list);
	spin_unlock_irq(&vd->intent_lock);
	r = vdirt_intent_write(vd);
	mutex_unlock(&vd->intent_io_lock);
	if (r)
		vdirt_set_error(vd, "write-intent bitmap write", r);
	/* after an error the waiters see the state and fail or pass */
	list_for_each_entry_safe(io, tmp, &list, intent_node) {
		list_del_init(&io->intent_node);
		vdirt_io_queue(io);
	}
}

/*
 * A write to io->range is about to change data (and entries): count it in
 * its region and make sure the region's bit is durable.  Returns true to go
 * on now; false when the bio was queued: vdirt_io_work() runs it again
 * once the bit is on disk.  Any context; the range lock is held.
 */
bool vdirt_intent_get(struct vdirt_io *io)
{
	struct vdirt_dev *vd = io->vd;
	u64 r = vdirt_iregion(io->range.first);
	unsigned long flags;
	bool durable;

	if (io->intent || !vd->intent_on ||
	    READ_ONCE(vd->state) != VDIRT_STATE_OK)
		return true;
	io->intent = true;
	spin_lock_irqsave(&vd->intent_lock, flags);
	vd->intent_writers[r]++;
	__set_bit(r, vd->intent_touched);
	durable = test_bit_le(r, vd->intent_disk);
	if (!durable) {
		if (!__test_and_set_bit_le(r, vd->intent_wanted))
			__set_bit(vdirt_iblock(r), vd->intent_blk_dirty);
		list_add_tail(&io->intent_node, &vd->intent_waiters);
	}
	spin_unlock_irqrestore(&vd->intent_lock, flags);
	if (!durable)
		queue_work(vd->wq, &vd->intent_work);
	return durable;
}

/* the write holding io->intent is complete (data and entries); any context */
void vdirt_intent_put(struct vdirt_io *io)
{
	struct vdirt_dev *vd = io->vd;
	u64 r = vdirt_iregion(io->range.first);
	unsigned long flags;

	io->intent = false;
	spin_lock_irqsave(&vd->intent_lock, flags);
	vd->intent_writers[r]--;
	__set_bit(r, vd->intent_touched);
	spin_unlock_irqrestore(&vd->intent_lock, flags);
}

/* the recovery worker holds a region like a writer while it works on it */
static void vdirt_intent_hold(struct vdirt_dev *vd, u64 r)
{
	spin_lock_irq(&vd->intent_lock);
	vd->intent_writers[r]++;
	__set_bit(r, vd->intent_touched);
	spin_unlock_irq(&vd->intent_lock);
}

/* done: the region is recovered, else it stays pending */
static void vdirt_intent_release(struct vdirt_dev *vd, u64 r, bool done)
{
	spin_lock_irq(&vd->intent_lock);
	vd->intent_writers[r]--;
	if (done)
		__clear_bit(r, vd->recover_pending);
	__set_bit(r, vd->intent_touched);
	spin_unlock_irq(&vd->intent_lock);
}

/*
 * Clear the bits of regions without a write since the last pass (called
 * every second from the commit work; a pass every intent_idle_s calls).  A region qualifies when nothing
 * touched it during a whole period, it has no write in flight and no
 * pending recovery; then its data is flushed and its entries committed
 * before its bit is cleared.  A write that arrives meanwhile keeps it.
 */
void vdirt_intent_clear_idle(struct vdirt_dev *vd)
{
	u64 r, base, end, nr = vd->nr_iregions, found = 0;
	int err;

	if (!vd->intent_on || READ_ONCE(vd->state) != VDIRT_STATE_OK)
		return;
	/* one clearing period is intent_idle_s calls (seconds) */
	if (++vd->intent_ticks < max(1U, READ_ONCE(intent_idle_s)))
		return;
	vd->intent_ticks = 0;
	/* intent_cand is the commit work's own: no lock needed for it */
	bitmap_zero(vd->intent_cand, nr);
	for (base = 0; base < nr; base += VDIRT_INTENT_CHUNK) {
		end = min_t(u64, nr, base + VDIRT_INTENT_CHUNK);
		spin_lock_irq(&vd->intent_lock);
		for (r = find_next_bit_le(vd->intent_wanted, end, base);
		     r < end;
		     r = find_next_bit_le(vd->intent_wanted, end, r + 1)) {
			if (!vd->intent_writers[r] &&
			    !test_bit(r, vd->intent_touched) &&
			    !test_bit(r, vd->recover_pending)) {
				__set_bit(r, vd->intent_cand);
				found++;
			}
		}
		/*
		 * A new period starts for this chunk: only regions idle
		 * through it qualify next (a write after this sets touched
		 * again and keeps its bit below).
		 */
		bitmap_clear(vd->intent_touched, base, end - base);
		spin_unlock_irq(&vd->intent_lock);
	}
	if (!found)
		return;

	err = blkdev_issue_flush(vd->data_dev->bdev);
	if (!err)
		err = vdirt_commit(vd);
	if (err)
		return;		/* the bits stay set: recovery covers them */

	mutex_lock(&vd->intent_io_lock);
	for (base = 0; base < nr; base += VDIRT_INTENT_CHUNK) {
		end = min_t(u64, nr, base + VDIRT_INTENT_CHUNK);
		r = find_next_bit(vd->intent_cand, end, base);
		if (r >= end)
			continue;
		spin_lock_irq(&vd->intent_lock);
		for (; r < end; r = find_next_bit(vd->intent_cand, end, r + 1)) {
			if (vd->intent_writers[r] ||
			    test_bit(r, vd->intent_touched))
				continue;
			/*
			 * Idle for a whole period, and touched stayed clear
			 * since the scan above: no write since before the
			 * flush and the commit.
			 */
			__clear_bit_le(r, vd->intent_wanted);
			__clear_bit_le(r, vd->intent_disk);
			__set_bit(vdirt_iblock(r), vd->intent_blk_dirty);
		}
		spin_unlock_irq(&vd->intent_lock);
	}
	err = vdirt_intent_write(vd);
	mutex_unlock(&vd->intent_io_lock);
	if (err)
		vdirt_set_error(vd, "write-intent bitmap write", err);
}

/*
 * Clean close (postsuspend, no I/O in flight): if nothing is left to
 * recover, flush the data device and clear the whole bitmap.  Returns true
 * when the metadata may be marked clean.
 */
bool vdirt_intent_close(struct vdirt_dev *vd)
{
	size_t words = VDIRT_META_BLOCK_SIZE / sizeof(unsigned long);
	unsigned int i;
	int err;

	if (READ_ONCE(vd->recovering) ||
	    READ_ONCE(vd->state) != VDIRT_STATE_OK)
		return false;
	if (!vd->intent_on)
		return true;
	err = blkdev_issue_flush(vd->data_dev->bdev);
	if (!err)
		err = vdirt_commit(vd);
	if (err)
		return false;
	mutex_lock(&vd->intent_io_lock);
	for (i = 0; i < vd->layout.intent_blocks; i++) {
		spin_lock_irq(&vd->intent_lock);
		memset(vd->intent_wanted + i * words, 0, VDIRT_META_BLOCK_SIZE);
		memset(vd->intent_disk + i * words, 0, VDIRT_META_BLOCK_SIZE);
		__set_bit(i, vd->intent_blk_dirty);
		spin_unlock_irq(&vd->intent_lock);
	}
	err = vdirt_intent_write(vd);
	mutex_unlock(&vd->intent_io_lock);
	if (err) {
		vdirt_set_error(vd, "write-intent bitmap write", err);
		return false;
	}
	return true;
}

/*
 * Activation (preresume, no I/O yet): read the bitmap; after an unclean
 * shutdown choose the regions to recover: the set bits, or every region
 * when the last user did not keep the bitmap.
 */
int vdirt_intent_load(struct vdirt_dev *vd, bool unclean, bool had_intent)
{
	size_t words = VDIRT_META_BLOCK_SIZE / sizeof(unsigned long);
	u64 r, base, end, nr = vd->nr_iregions, clusters = 0;
	unsigned int i;
	int err = 0;

	mutex_lock(&vd->intent_io_lock);
	for (i = 0; i < vd->layout.intent_blocks; i++) {
		err = vdirt_intent_rw(vd, i, REQ_OP_READ);
		if (err)
			break;
		spin_lock_irq(&vd->intent_lock);
		memcpy(vd->intent_wanted + i * words,
		       page_address(vd->intent_page), VDIRT_META_BLOCK_SIZE);
		memcpy(vd->intent_disk + i * words,
		       page_address(vd->intent_page), VDIRT_META_BLOCK_SIZE);
		spin_unlock_irq(&vd->intent_lock);
	}
	mutex_unlock(&vd->intent_io_lock);
	if (err)
		return err;

	for (base = 0; base < nr; base += VDIRT_INTENT_CHUNK) {
		end = min_t(u64, nr, base + VDIRT_INTENT_CHUNK);
		spin_lock_irq(&vd->intent_lock);
		bitmap_clear(vd->recover_pending, base, end - base);
		bitmap_clear(vd->intent_touched, base, end - base);
		for (r = base; unclean && r < end; r++) {
			if (had_intent && !test_bit_le(r, vd->intent_wanted))
				continue;
			__set_bit(r, vd->recover_pending);
			clusters += min_t(u64, VDIRT_INTENT_REGION_CLUSTERS,
					  vd->nr_clusters -
					  (r << VDIRT_INTENT_SHIFT));
			/* keep the bit set (and durable) until recovered */
			if (!__test_and_set_bit_le(r, vd->intent_wanted))
				__set_bit(vdirt_iblock(r), vd->intent_blk_dirty);
		}
		spin_unlock_irq(&vd->intent_lock);
	}

	vd->rcv.regions = 0;
	vd->rcv.remeasured = 0;
	vd->rcv.changed = 0;
	atomic64_set(&vd->rcv.on_read, 0);
	vd->recover_total = clusters;
	WRITE_ONCE(vd->recover_done, 0);
	WRITE_ONCE(vd->recover_pos, 0);
	WRITE_ONCE(vd->recovering, clusters != 0);
	if (clusters)
		DMWARN("%u:%u: unclean shutdown: measuring %llu clusters in %llu regions again%s",
		       MAJOR(vd->devt), MINOR(vd->devt),
		       (unsigned long long)clusters,
		       (unsigned long long)bitmap_weight(vd->recover_pending,
							 nr),
		       had_intent ? "" : " (no write-intent bitmap: all)");
	/* bits set above for a device without a bitmap must be durable */
	mutex_lock(&vd->intent_io_lock);
	err = vd->intent_on ? vdirt_intent_write(vd) : 0;
	mutex_unlock(&vd->intent_io_lock);
	return err;
}

/* is cluster c still to be recovered? (lockless; range lock held) */
bool vdirt_unrecovered(struct vdirt_dev *vd, u64 c)
{
	return READ_ONCE(vd->recovering) &&
	       test_bit(vdirt_iregion(c), vd->recover_pending) &&
	       c >= READ_ONCE(vd->recover_pos);
}

/*
 * Measure cluster c again (digest NULL: unreadable) and store the result
 * as a write would if it differs from what the entry expects.  Returns 1
 * when an expected digest was replaced, 0 when it matched or there was
 * none, or -errno.
 */
int vdirt_recover_cluster(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			  u64 c, const u8 *digest, u64 now)
{
	struct vdirt_disk_entry *e;
	const u8 *exp = NULL;
	int r;

	e = vdirt_cursor_get(vd, cur, c);
	if (IS_ERR(e))
		return PTR_ERR(e);
	if (vdirt_has_baseline(vd, e) && !(e->flags & VDIRT_E_WRITTEN))
		exp = vdirt_entry_baseline(vd, e);
	else if (e->flags & VDIRT_E_CURRENT)
		exp = vdirt_entry_current(e);
	if (digest ? exp && !memcmp(exp, digest, vd->digest_size) : !exp)
		return 0;
	r = vdirt_update_cluster(vd, cur, c, digest, now, VDIRT_OP_RECOVERY);
	/* a cluster measured for the first time did not change */
	return r ? r : !!exp;
}

static int vdirt_recover_range(struct vdirt_dev *vd, u64 first, u64 last)
{
	struct vdirt_cursor cur = VDIRT_CURSOR_INIT;
	u8 digest[VDIRT_MAX_DIGEST_SIZE];
	u64 c, now = ktime_get_real_ns();
	struct bio *bio;
	int r = 0, err;

	bio = vdirt_read_clusters(vd, first, last, &err);
	if (!bio)
		DMERR_LIMIT("%u:%u: recovery: read error %d at cluster %llu",
			    MAJOR(vd->devt), MINOR(vd->devt), err,
			    (unsigned long long)first);
	for (c = first; c <= last; c++) {
		if (bio) {
			r = vdirt_hash_page_bio(vd, bio, (c - first) <<
						vd->cluster_shift, digest);
			if (r) {
				vdirt_set_error(vd, "hash", r);
				break;
			}
		}
		r = vdirt_recover_cluster(vd, &cur, c, bio ? digest : NULL,
					  now);
		if (r < 0)
			break;
		vd->rcv.changed += r;
		vd->rcv.remeasured++;
		r = 0;
	}
	vdirt_cursor_put(vd, &cur);
	if (bio)
		vdirt_free_page_bio(vd, bio);
	return r;
}

/* the background recovery after an unclean shutdown (system_long_wq) */
void vdirt_recover_work(struct work_struct *work)
{
	struct vdirt_dev *vd = container_of(work, struct vdirt_dev,
					    recover_work);
	u64 reg, nr = vd->nr_iregions, c, last, end;
	struct vdirt_range range;
	u64 aux[4];
	int r = 0;

	for (reg = find_first_bit(vd->recover_pending, nr); reg < nr;
	     reg = find_next_bit(vd->recover_pending, nr, reg + 1)) {
		c = reg << VDIRT_INTENT_SHIFT;
		end = min(c + VDIRT_INTENT_REGION_CLUSTERS, vd->nr_clusters);
		vdirt_intent_hold(vd, reg);
		for (; c < end && !r; c = last + 1) {
			if (READ_ONCE(vd->recover_stop) ||
			    READ_ONCE(vd->state) != VDIRT_STATE_OK) {
				r = -EINTR;
				break;
			}
			last = min(c + vd->region_clusters, end) - 1;
			vdirt_range_lock_sync(vd, c, last, &range);
			r = vdirt_recover_range(vd, c, last);
			WRITE_ONCE(vd->recover_pos, last + 1);
			vdirt_range_unlock(vd, &range);
			WRITE_ONCE(vd->recover_done,
				   vd->recover_done + last + 1 - c);
			cond_resched();
		}
		/* after an error the region stays pending for the next open */
		vdirt_intent_release(vd, reg, !r);
		if (r)
			break;
		vd->rcv.regions++;
	}
	if (r) {
		DMWARN("%u:%u: recovery stopped at cluster %llu of %llu (%d): it continues on the next activation",
		       MAJOR(vd->devt), MINOR(vd->devt),
		       (unsigned long long)READ_ONCE(vd->recover_done),
		       (unsigned long long)vd->recover_total, r);
		return;
	}
	aux[VDIRT_AUX_REGIONS] = vd->rcv.regions;
	aux[VDIRT_AUX_REMEASURED] = vd->rcv.remeasured;
	aux[VDIRT_AUX_CHANGED] = vd->rcv.changed;
	aux[VDIRT_AUX_ON_READ] = atomic64_read(&vd->rcv.on_read);
	DMINFO("%u:%u: recovery finished: %llu regions, %llu clusters measured again, %llu changed, %llu measured on read first",
	       MAJOR(vd->devt), MINOR(vd->devt),
	       (unsigned long long)aux[0], (unsigned long long)aux[1],
	       (unsigned long long)aux[2], (unsigned long long)aux[3]);
	if (!vdirt_log_append(vd, 0, VDIRT_KIND_RECOVERY, VDIRT_OP_RECOVERY,
			      vd->zero_digest, vd->zero_digest, aux))
		vdirt_commit(vd);
	/* status shows the end once the summary is durable */
	WRITE_ONCE(vd->recovering, false);
}

void vdirt_recover_start(struct vdirt_dev *vd)
{
	WRITE_ONCE(vd->recover_stop, false);
	if (READ_ONCE(vd->recovering))
		queue_work(system_long_wq, &vd->recover_work);
}

void vdirt_recover_stop(struct vdirt_dev *vd)
{
	WRITE_ONCE(vd->recover_stop, true);
	flush_work(&vd->recover_work);
}
