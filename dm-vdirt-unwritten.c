// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt written bitmap: which clusters were written through the device
 * since format or the last purge (see dm-vdirt-unwritten.h).
 *
 * A bit is set in mem when a write stores its cluster's digest, under the
 * cluster's range lock, so that a reader of the entry and the attestation
 * tree see the bit and the digest change together; it is set in ready when
 * the write completed, and only ready goes to disk, after a flush of the
 * data device.  A power cut therefore never leaves a bit on disk whose
 * data is not: the cluster of a write that was not durable reads as zeros
 * again, as it did before the write.
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
	uw->mem = kvcalloc(longs, sizeof(long), GFP_KERNEL);
	uw->ready = kvcalloc(longs, sizeof(long), GFP_KERNEL);
	uw->blk_changed = kvcalloc(BITS_TO_LONGS(vd->layout.unw_blocks),
				   sizeof(long), GFP_KERNEL);
	if (!uw->mem || !uw->ready || !uw->blk_changed) {
		*error = "Cannot allocate the written bitmap";
		return -ENOMEM;
	}
	return 0;
}

void vdirt_uw_free(struct vdirt_dev *vd)
{
	struct vdirt_unwritten *uw = &vd->uw;

	kvfree(uw->mem);
	kvfree(uw->ready);
	kvfree(uw->blk_changed);
	uw->mem = NULL;
	uw->ready = NULL;
	uw->blk_changed = NULL;
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
	bitmap_copy(uw->ready, uw->mem, uw->bits);
	return 0;
}

/* write bitmap block b from ready (commit_lock held) */
static int vdirt_uw_put_block(struct vdirt_dev *vd, u64 b)
{
	struct vdirt_unwritten *uw = &vd->uw;
	struct vdirt_disk_unw *h;
	struct dm_buffer *buf;
	u8 *p;

	p = vdirt_meta_get(vd, vd->layout.unw_start + b, &buf, false);
	if (IS_ERR(p))
		return PTR_ERR(p);
	h = (struct vdirt_disk_unw *)p;
	h->gen = cpu_to_le64(uw->gen);
	h->magic = cpu_to_le32(VDIRT_UNW_MAGIC);
	h->reserved = 0;
	vdirt_uw_to_disk((__le64 *)(p + VDIRT_UNW_HDR_SIZE),
			 uw->ready + b * VDIRT_UNW_LONGS);
	vdirt_meta_mark_dirty(vd, buf);
	dm_bufio_release(buf);
	return 0;
}

int vdirt_uw_sync(struct vdirt_dev *vd)
{
	struct vdirt_unwritten *uw = &vd->uw;
	u64 b, n = vd->layout.unw_blocks;
	int r;

	lockdep_assert_held(&vd->commit_lock);
	if (!uw->on || vd->read_only || find_first_bit(uw->blk_changed, n) >= n)
		return 0;
	/* the data of every ready bit is durable before the bit */
	r = blkdev_issue_flush(vd->data_dev->bdev);
	if (r)
		return r;
	for (b = 0; b < n; b++) {
		if (!test_and_clear_bit(b, uw->blk_changed))
			continue;
		r = vdirt_uw_put_block(vd, b);
		if (r) {
			set_bit(b, uw->blk_changed);
			return r;
		}
	}
	return 0;
}

void vdirt_uw_set(struct vdirt_dev *vd, u64 c)
{
	/* a plain read first: no locked instruction once the bit is set */
	if (vd->uw.on && !test_bit(c, vd->uw.mem))
		set_bit(c, vd->uw.mem);
}

void vdirt_uw_done(struct vdirt_dev *vd, u64 first, u64 last)
{
	struct vdirt_unwritten *uw = &vd->uw;
	u64 c;

	if (!uw->on)
		return;
	for (c = first; c <= last; c++) {
		if (test_bit(c, uw->ready) || !test_bit(c, uw->mem))
			continue;
		set_bit(c, uw->ready);
		set_bit(div_u64(c, VDIRT_UNW_BITS_PER_BLOCK), uw->blk_changed);
		if (!atomic_read(&vd->meta_dirty))
			atomic_set(&vd->meta_dirty, 1);
	}
}

void vdirt_uw_forget(struct vdirt_dev *vd, u64 c)
{
	struct vdirt_unwritten *uw = &vd->uw;

	if (!uw->on || !test_bit(c, uw->mem))
		return;
	clear_bit(c, uw->mem);
	clear_bit(c, uw->ready);
	set_bit(div_u64(c, VDIRT_UNW_BITS_PER_BLOCK), uw->blk_changed);
	atomic_set(&vd->meta_dirty, 1);
}

void vdirt_uw_purge(struct vdirt_dev *vd)
{
	struct vdirt_unwritten *uw = &vd->uw;

	lockdep_assert_held(&vd->commit_lock);
	bitmap_zero(uw->mem, uw->bits);
	bitmap_zero(uw->ready, uw->bits);
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
