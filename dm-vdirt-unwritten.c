// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt written bitmap: which clusters were written through the device
 * since format or the last purge (see dm-vdirt-unwritten.h).
 *
 * A bit is set in mem when a write stores its cluster's digest, under the
 * cluster's range lock, so that a reader of the entry and the attestation
 * tree see the bit and the digest change together.  Our copy of a write is
 * hashed before or while it is written, so its bits are set before its data
 * is on the device: such a write is listed when it sets its first bit
 * (vdirt_uw_set()), until its data is done (vdirt_uw_end()).  A
 * commit computes a changed block from mem with the bits of every listed
 * write taken from the block as it is on disk, under uw->lock, then
 * flushes the data device, and only then marks the block dirty: every bit
 * it writes is that of a write done before the flush was issued.  A power
 * cut therefore never leaves a bit on disk whose data is not: the cluster
 * of a write that was not durable reads as zeros again, as it did before
 * the write.  One bit per cluster in memory (32 MiB per TiB of 4 KiB
 * clusters); the list holds only writes in flight that write a cluster for
 * the first time.
 *
 * A purge starts a new generation (unw_gen + 1) in the superblock: every
 * block written before it reads as all zero, so one superblock commit makes
 * every cluster unwritten, whatever the device size.
 */
#include <linux/blkdev.h>
#include <linux/slab.h>

#include "dm-vdirt.h"

/* bitmap words per block (VDIRT_UNW_BITS_PER_BLOCK is a multiple of 64) */
#define VDIRT_UNW_LONGS		(VDIRT_UNW_BITS_PER_BLOCK / BITS_PER_LONG)
#define VDIRT_UNW_WORDS		(VDIRT_UNW_BITS_PER_BLOCK / 64)
/* words converted at a time, on the stack */
#define VDIRT_UNW_STEP		15U
/* changed blocks computed per flush of the data device */
#define VDIRT_UNW_BATCH		64U

/* block bits (little-endian 64-bit words) into bitmap m */
static void vdirt_uw_from_disk(unsigned long *m, const __le64 *w)
{
	u64 tmp[VDIRT_UNW_STEP];
	u32 j, k;

	BUILD_BUG_ON(VDIRT_UNW_WORDS % VDIRT_UNW_STEP);
	for (j = 0; j < VDIRT_UNW_WORDS; j += VDIRT_UNW_STEP) {
		for (k = 0; k < VDIRT_UNW_STEP; k++)
			tmp[k] = le64_to_cpu(w[j + k]);
		bitmap_from_arr64(m + j * 64 / BITS_PER_LONG, tmp,
				  VDIRT_UNW_STEP * 64);
	}
}

/* bitmap m into block bits */
static void vdirt_uw_to_disk(__le64 *w, const unsigned long *m)
{
	u64 tmp[VDIRT_UNW_STEP];
	u32 j, k;

	for (j = 0; j < VDIRT_UNW_WORDS; j += VDIRT_UNW_STEP) {
		bitmap_to_arr64(tmp, m + j * 64 / BITS_PER_LONG,
				VDIRT_UNW_STEP * 64);
		for (k = 0; k < VDIRT_UNW_STEP; k++)
			w[j + k] = cpu_to_le64(tmp[k]);
	}
}

int vdirt_uw_alloc(struct vdirt_dev *vd, bool zero, char **error)
{
	struct vdirt_unwritten *uw = &vd->uw;
	size_t longs;

	uw->on = vd->layout.flags & VDIRT_LAYOUT_UNWRITTEN;
	uw->zero = zero;
	if (zero && !uw->on) {
		*error = "zero_unwritten needs metadata with a written bitmap (vdirtctl upgrade)";
		return -EINVAL;
	}
	if (!uw->on)
		return 0;
	/* whole blocks: a block's words never reach past the bitmap */
	uw->bits = vd->layout.unw_blocks * VDIRT_UNW_BITS_PER_BLOCK;
	longs = BITS_TO_LONGS(uw->bits);
	spin_lock_init(&uw->lock);
	INIT_LIST_HEAD(&uw->writes);
	uw->mem = kvcalloc(longs, sizeof(long), GFP_KERNEL);
	uw->blk_changed = kvcalloc(BITS_TO_LONGS(vd->layout.unw_blocks),
				   sizeof(long), GFP_KERNEL);
	uw->batch = kcalloc(VDIRT_UNW_BATCH, sizeof(*uw->batch), GFP_KERNEL);
	uw->scratch = kmalloc(VDIRT_META_BLOCK_SIZE, GFP_KERNEL);
	if (!uw->mem || !uw->blk_changed || !uw->batch || !uw->scratch) {
		*error = "Cannot allocate the written bitmap";
		return -ENOMEM;
	}
	return 0;
}

void vdirt_uw_free(struct vdirt_dev *vd)
{
	struct vdirt_unwritten *uw = &vd->uw;

	kvfree(uw->mem);
	kvfree(uw->blk_changed);
	kfree(uw->batch);
	kfree(uw->scratch);
	uw->mem = NULL;
	uw->blk_changed = NULL;
	uw->batch = NULL;
	uw->scratch = NULL;
}

int vdirt_uw_load(struct vdirt_dev *vd)
{
	struct vdirt_unwritten *uw = &vd->uw;
	const struct vdirt_disk_unw *h;
	struct dm_buffer *buf;
	unsigned long *m;
	u64 b;
	u8 *p;

	lockdep_assert_held(&vd->commit_lock);
	if (!uw->on)
		return 0;
	/* suspended: no write in flight */
	WARN_ON_ONCE(!list_empty(&uw->writes));
	WRITE_ONCE(uw->purging, !!(vd->sb_flags & VDIRT_SB_F_PURGE));
	/* zero_unwritten changes which leaves of the tree count as measured */
	if (!uw->zero != !(vd->sb_flags & VDIRT_SB_F_ZEROES) &&
	    !vd->read_only) {
		vdirt_merkle_all_changed(vd);
		vd->sb_flags ^= VDIRT_SB_F_ZEROES;
	}
	bitmap_zero(uw->blk_changed, vd->layout.unw_blocks);
	for (b = 0; b < vd->layout.unw_blocks; b++) {
		m = uw->mem + b * VDIRT_UNW_LONGS;
		p = vdirt_meta_get(vd, vd->layout.unw_start + b, &buf, false);
		if (IS_ERR(p))
			return PTR_ERR(p);
		h = (const struct vdirt_disk_unw *)p;
		/* another generation's block, or none: all unwritten */
		if (le32_to_cpu(h->magic) != VDIRT_UNW_MAGIC ||
		    le64_to_cpu(h->gen) != uw->gen)
			bitmap_zero(m, VDIRT_UNW_BITS_PER_BLOCK);
		else
			vdirt_uw_from_disk(m, (const __le64 *)
					   (p + VDIRT_UNW_HDR_SIZE));
		dm_bufio_release(buf);
	}
	return 0;
}

/* the block holds bits of this generation (else all read as zero) */
static bool vdirt_uw_current(struct vdirt_unwritten *uw, const u8 *p)
{
	const struct vdirt_disk_unw *h = (const struct vdirt_disk_unw *)p;

	return le32_to_cpu(h->magic) == VDIRT_UNW_MAGIC &&
	       le64_to_cpu(h->gen) == uw->gen;
}

/*
 * Bitmap block b into uw->scratch (commit_lock held): mem's bits, but a
 * listed write's as they are in p, the block on disk.  Under uw->lock, so
 * that a write is listed here before any bit of it is seen set in mem.
 */
static void vdirt_uw_compute(struct vdirt_dev *vd, u64 b, const u8 *p)
{
	struct vdirt_unwritten *uw = &vd->uw;
	u64 lo = b * VDIRT_UNW_BITS_PER_BLOCK, hi = lo + VDIRT_UNW_BITS_PER_BLOCK;
	const void *old = p + VDIRT_UNW_HDR_SIZE;
	void *bits = (u8 *)uw->scratch + VDIRT_UNW_HDR_SIZE;
	bool have_old = vdirt_uw_current(uw, p);
	struct vdirt_disk_unw *h = uw->scratch;
	struct vdirt_uw_write *w;
	unsigned long flags;
	u64 c, first, last;

	lockdep_assert_held(&vd->commit_lock);
	h->gen = cpu_to_le64(uw->gen);
	h->magic = cpu_to_le32(VDIRT_UNW_MAGIC);
	h->reserved = 0;
	spin_lock_irqsave(&uw->lock, flags);
	vdirt_uw_to_disk(bits, uw->mem + b * VDIRT_UNW_LONGS);
	list_for_each_entry(w, &uw->writes, node) {
		if (w->last < lo || w->first >= hi)
			continue;
		first = max(w->first, lo) - lo;
		last = min(w->last, hi - 1) - lo;
		for (c = first; c <= last; c++) {
			if (have_old && test_bit_le(c, old))
				__set_bit_le(c, bits);
			else
				__clear_bit_le(c, bits);
		}
	}
	spin_unlock_irqrestore(&uw->lock, flags);
}

/*
 * Write changed blocks, at most VDIRT_UNW_BATCH of them per flush of the
 * data device: each computed and held (not dirty, so not written), then the
 * flush, then marked dirty.  On an error the batch stays changed and its
 * buffers are dropped (their computed contents never reach the disk).
 */
static int vdirt_uw_sync_batch(struct vdirt_dev *vd, u64 *next)
{
	struct vdirt_unwritten *uw = &vd->uw;
	u64 b = *next, n = vd->layout.unw_blocks;
	unsigned int i, k = 0;
	sector_t blk;
	int r = 0;
	u8 *p;

	for (b = find_next_bit(uw->blk_changed, n, b);
	     b < n && k < VDIRT_UNW_BATCH;
	     b = find_next_bit(uw->blk_changed, n, b + 1)) {
		/* a change from now on makes the block changed again */
		if (!test_and_clear_bit(b, uw->blk_changed))
			continue;
		p = vdirt_meta_get(vd, vd->layout.unw_start + b, &uw->batch[k],
				   false);
		if (IS_ERR(p)) {
			set_bit(b, uw->blk_changed);
			r = PTR_ERR(p);
			break;
		}
		vdirt_uw_compute(vd, b, p);
		memcpy(p, uw->scratch, VDIRT_META_BLOCK_SIZE);
		k++;
	}
	*next = b;
	/* the data of every bit computed is durable before the bit */
	if (!r && k)
		r = blkdev_issue_flush(vd->data_dev->bdev);
	for (i = 0; i < k; i++) {
		blk = dm_bufio_get_block_number(uw->batch[i]);
		if (!r)
			vdirt_meta_mark_dirty(vd, uw->batch[i]);
		dm_bufio_release(uw->batch[i]);
		if (r) {
			dm_bufio_forget(vd->bufio, blk);
			set_bit(blk - vd->layout.unw_start, uw->blk_changed);
		}
	}
	return r;
}

int vdirt_uw_sync(struct vdirt_dev *vd)
{
	struct vdirt_unwritten *uw = &vd->uw;
	u64 b = 0, n = vd->layout.unw_blocks;
	int r = 0;

	lockdep_assert_held(&vd->commit_lock);
	if (!uw->on || vd->read_only)
		return 0;
	while (!r && b < n)
		r = vdirt_uw_sync_batch(vd, &b);
	return r;
}

/* the blocks of clusters [first, last] changed: the next commit writes them */
static void vdirt_uw_changed(struct vdirt_dev *vd, u64 first, u64 last)
{
	u64 b;

	/* after the change of mem (set_bit orders nothing) */
	smp_mb__before_atomic();
	for (b = div_u64(first, VDIRT_UNW_BITS_PER_BLOCK);
	     b <= div_u64(last, VDIRT_UNW_BITS_PER_BLOCK); b++)
		set_bit(b, vd->uw.blk_changed);
	if (!atomic_read(&vd->meta_dirty))
		atomic_set(&vd->meta_dirty, 1);
}

void vdirt_uw_end(struct vdirt_dev *vd, struct vdirt_uw_write *w)
{
	struct vdirt_unwritten *uw = &vd->uw;
	unsigned long flags;

	if (!w->listed)
		return;
	spin_lock_irqsave(&uw->lock, flags);
	list_del(&w->node);
	spin_unlock_irqrestore(&uw->lock, flags);
	w->listed = false;
	vdirt_uw_changed(vd, w->first, w->last);
}

void vdirt_uw_set(struct vdirt_dev *vd, struct vdirt_uw_write *w, u64 c)
{
	struct vdirt_unwritten *uw = &vd->uw;
	unsigned long flags;

	/* a plain read first: no locked instruction once the bit is set */
	if (!uw->on || test_bit(c, uw->mem))
		return;
	if (!w) {
		set_bit(c, uw->mem);
	} else {
		/* listed before a commit can see the bit (vdirt_uw_compute()) */
		spin_lock_irqsave(&uw->lock, flags);
		if (!w->listed) {
			list_add_tail(&w->node, &uw->writes);
			w->listed = true;
		}
		set_bit(c, uw->mem);
		spin_unlock_irqrestore(&uw->lock, flags);
	}
	vdirt_uw_changed(vd, c, c);
}

void vdirt_uw_forget(struct vdirt_dev *vd, u64 c)
{
	struct vdirt_unwritten *uw = &vd->uw;

	if (!uw->on || !test_bit(c, uw->mem))
		return;
	clear_bit(c, uw->mem);
	vdirt_uw_changed(vd, c, c);
}

void vdirt_uw_purge(struct vdirt_dev *vd)
{
	struct vdirt_unwritten *uw = &vd->uw;

	lockdep_assert_held(&vd->commit_lock);
	bitmap_zero(uw->mem, uw->bits);
	/* the blocks on disk are of the old generation: all zero now */
	bitmap_zero(uw->blk_changed, vd->layout.unw_blocks);
	uw->gen++;
	vd->sb_flags |= VDIRT_SB_F_PURGE;
	WRITE_ONCE(uw->purging, true);
}

void vdirt_uw_purged(struct vdirt_dev *vd)
{
	lockdep_assert_held(&vd->commit_lock);
	vd->sb_flags &= ~VDIRT_SB_F_PURGE;
	WRITE_ONCE(vd->uw.purging, false);
}

bool vdirt_uw_scrub(struct vdirt_dev *vd, struct vdirt_disk_entry *e)
{
	if (READ_ONCE(vd->uw.purging)) {
		/* from before the purge, which reset the counters */
		if (!e->flags && !e->write_epoch)
			return false;
		memset(e, 0, vd->layout.entry_size);
		return true;
	}
	if (!(e->flags & VDIRT_E_CURRENT))
		return false;
	e->flags &= ~(VDIRT_E_CURRENT | VDIRT_E_MISMATCH);
	memset(vdirt_entry_current(e), 0, vd->digest_size);
	atomic64_dec(&vd->cnt.measured);
	return true;
}
