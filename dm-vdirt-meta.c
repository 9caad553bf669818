// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt metadata store: superblock A/B, per-cluster entries, the
 * metadata cache and its bound (cache_mb), commits.  All metadata goes
 * through one dm-bufio client with 4 KiB blocks; the record log
 * (dm-vdirt-log.c) and the write-intent bitmap (dm-vdirt-intent.c) are the
 * other parts of the store.  The store takes no range lock and calls
 * nothing above it: errors go up through vd->store_ops.
 */
#include <linux/blkdev.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "dm-vdirt.h"

/* bufio buffers reserved for forward progress */
#define VDIRT_BUFIO_RESERVED	16
/* tracked blocks examined per cache miss to find one to drop */
#define VDIRT_CACHE_PROBES	8
/* the verified zeroing at format reads and writes this many pages at once */
#define VDIRT_ZERO_PAGES	256U

static u32 vdirt_sb_csum(const struct vdirt_disk_sb *sb)
{
	struct vdirt_disk_sb tmp;

	memcpy(&tmp, sb, sizeof(tmp));
	tmp.csum = 0;
	return crc32c(~0U, &tmp, sizeof(tmp));
}

/*
 * Structural checks of a superblock copy through the one validator of
 * dm-vdirt-format.h (shared with vdirtctl), independent of the table.
 * Returns 0 with *l the layout it describes, or -EINVAL with *why set.
 */
static int vdirt_sb_validate(const struct vdirt_disk_sb *sb, u64 meta_blocks,
			     const char **why, struct vdirt_layout *l)
{
	static const char * const reason[] = {
		[VDIRT_SB_BAD_MAGIC] = "bad magic",
		[VDIRT_SB_BAD_CSUM] = "bad checksum",
		[VDIRT_SB_BAD_VERSION] = "unsupported format version",
		[VDIRT_SB_BAD_INCOMPAT] = "unknown incompatible features",
		[VDIRT_SB_BAD_LAYOUT] = "inconsistent layout",
		[VDIRT_SB_BAD_SIZE] = "layout larger than the device",
	};
	enum vdirt_sb_bad bad;

	bad = vdirt_sb_check(sb, vdirt_sb_csum(sb), meta_blocks, l);
	if (bad == VDIRT_SB_OK)
		return 0;
	*why = reason[bad];
	return -EINVAL;
}

/* fill a superblock image from memory; caller holds commit_lock */
static void vdirt_sb_fill(struct vdirt_dev *vd, struct vdirt_disk_sb *sb,
			  u64 seq)
{
	const struct vdirt_layout *l = &vd->layout;

	lockdep_assert_held(&vd->commit_lock);
	memset(sb, 0, VDIRT_META_BLOCK_SIZE);
	/* unknown compat bits are kept as found, known ones as we keep them */
	sb->feature_compat = cpu_to_le32(vd->sb_compat | vd->sb_compat_unknown);
	/* the layout's ro_compat bits are set from it, the others kept */
	sb->feature_ro_compat = cpu_to_le32(vd->sb_ro_compat);
	vdirt_sb_set_layout(sb, l, vd->ti->len, vd->cluster_size,
			    vd->digest_size, vd->hash_name);
	sb->seq = cpu_to_le64(seq);
	memcpy(sb->uuid, vd->uuid, sizeof(sb->uuid));
	sb->flags = cpu_to_le32(vd->sb_flags);
	mutex_lock(&vd->log_lock);
	/* records up to log_committing were written before this copy */
	sb->log_head = cpu_to_le64(vd->log_committing);
	sb->log_tail = cpu_to_le64(min(vd->log_tail, vd->log_committing));
	sb->chain_start = cpu_to_le64(vd->chain_start);
	memcpy(sb->log_hash, vd->log_hash_committing, sizeof(sb->log_hash));
	mutex_unlock(&vd->log_lock);
	sb->epoch = cpu_to_le64(vd->epoch);
	sb->epoch_first = cpu_to_le64(vd->ep.first);
	sb->unw_gen = cpu_to_le64(vd->uw.gen);
	sb->measured = cpu_to_le64(atomic64_read(&vd->cnt.measured));
	sb->baselined = cpu_to_le64(atomic64_read(&vd->cnt.baselined));
	sb->read_mismatches =
		cpu_to_le64(atomic64_read(&vd->cnt.read_mismatches));
	sb->write_drift = cpu_to_le64(atomic64_read(&vd->cnt.write_drift));
	sb->tofu = cpu_to_le64(atomic64_read(&vd->cnt.tofu));
	sb->format_time_ns = cpu_to_le64(vd->format_time_ns);
	sb->commit_time_ns = cpu_to_le64(ktime_get_real_ns());
	sb->csum = cpu_to_le32(vdirt_sb_csum(sb));
}

/*
 * Write the next superblock copy (seq + 1) and flush; commit_lock held.
 * Its log head is vd->log_committing: records below it must already be
 * on disk (see __vdirt_commit).
 */
static int vdirt_write_sb(struct vdirt_dev *vd)
{
	u64 seq = vd->sb_seq + 1;
	struct dm_buffer *b;
	void *p;
	int r;

	lockdep_assert_held(&vd->commit_lock);
	p = dm_bufio_new(vd->bufio, seq & 1, &b);
	if (IS_ERR(p))
		return PTR_ERR(p);
	vdirt_sb_fill(vd, p, seq);
	dm_bufio_mark_buffer_dirty(b);
	dm_bufio_release(b);
	r = dm_bufio_write_dirty_buffers(vd->bufio);
	if (!r) {
		vd->sb_seq = seq;
		mutex_lock(&vd->log_lock);
		WRITE_ONCE(vd->log_durable, vd->log_committing);
		memcpy(vd->log_hash_durable, vd->log_hash_committing,
		       sizeof(vd->log_hash_durable));
		mutex_unlock(&vd->log_lock);
	}
	return r;
}

static void vdirt_sb_load(struct vdirt_dev *vd, const struct vdirt_disk_sb *sb)
{
	vd->sb_seq = le64_to_cpu(sb->seq);
	vd->epoch = le64_to_cpu(sb->epoch);
	vd->sb_flags = le32_to_cpu(sb->flags);
	WRITE_ONCE(vd->baseline_partial,
		   !!(vd->sb_flags & VDIRT_SB_F_BASELINE_PARTIAL));
	memcpy(vd->uuid, sb->uuid, sizeof(vd->uuid));
	vd->format_time_ns = le64_to_cpu(sb->format_time_ns);
	vd->sb_compat_unknown = le32_to_cpu(sb->feature_compat) &
				~VDIRT_FEATURE_COMPAT_SUPP;
	vd->sb_ro_compat = le32_to_cpu(sb->feature_ro_compat);
	mutex_lock(&vd->log_lock);
	vd->log_head = le64_to_cpu(sb->log_head);
	vd->log_tail = le64_to_cpu(sb->log_tail);
	vd->log_durable = vd->log_head;
	vd->log_committing = vd->log_head;
	vd->chain_start = le64_to_cpu(sb->chain_start);
	memcpy(vd->log_hash, sb->log_hash, sizeof(vd->log_hash));
	memcpy(vd->log_hash_committing, sb->log_hash,
	       sizeof(vd->log_hash_committing));
	memcpy(vd->log_hash_durable, sb->log_hash,
	       sizeof(vd->log_hash_durable));
	mutex_unlock(&vd->log_lock);
	vd->ep.first = le64_to_cpu(sb->epoch_first);
	vd->uw.gen = le64_to_cpu(sb->unw_gen);
	atomic64_set(&vd->cnt.measured, le64_to_cpu(sb->measured));
	atomic64_set(&vd->cnt.baselined, le64_to_cpu(sb->baselined));
	atomic64_set(&vd->cnt.read_mismatches,
		     le64_to_cpu(sb->read_mismatches));
	atomic64_set(&vd->cnt.write_drift, le64_to_cpu(sb->write_drift));
	atomic64_set(&vd->cnt.tofu, le64_to_cpu(sb->tofu));
}

/* zero count blocks from start through bufio (small regions only) */
static int vdirt_zero_blocks(struct vdirt_dev *vd, u64 start, u64 count)
{
	struct dm_buffer *b;
	void *p;
	u64 i;

	for (i = 0; i < count; i++) {
		p = dm_bufio_new(vd->bufio, start + i, &b);
		if (IS_ERR(p))
			return PTR_ERR(p);
		memset(p, 0, VDIRT_META_BLOCK_SIZE);
		dm_bufio_mark_buffer_dirty(b);
		dm_bufio_release(b);
	}
	return 0;
}

static bool vdirt_block_is_zero(const void *p)
{
	return !memchr_inv(p, 0, VDIRT_META_BLOCK_SIZE);
}

/* read or write n metadata blocks from blk, one page each (ctr only) */
static int vdirt_zero_rw(struct vdirt_dev *vd, struct page **pages,
			 unsigned int n, u64 blk, blk_opf_t opf)
{
	struct bio *bio;
	unsigned int i;
	int r;

	bio = bio_alloc_bioset(vd->meta_dev->bdev, n, opf, GFP_KERNEL, &vd->bs);
	bio->bi_iter.bi_sector = blk << (VDIRT_META_BLOCK_SHIFT - SECTOR_SHIFT);
	for (i = 0; i < n; i++)
		__bio_add_page(bio, pages[i], VDIRT_META_BLOCK_SIZE, 0);
	r = submit_bio_wait(bio);
	bio_put(bio);
	return r;
}

/*
 * Make blocks [start, start + count) read as zero, for real (no offload
 * that may leave stale bytes): each chunk is read; one that is not all zero
 * is written with zeroes (FUA) and read back.  Returns 0, -EILSEQ when a
 * chunk still is not zero after that, or another -errno; *fixed counts the
 * blocks that were not zero.
 */
static int vdirt_zero_verified(struct vdirt_dev *vd, u64 start, u64 count,
			       u64 *fixed)
{
	struct page **pages;
	unsigned int i, n, bad, pass;
	u64 blk;
	int r = 0;

	pages = kcalloc(VDIRT_ZERO_PAGES, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < VDIRT_ZERO_PAGES; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		if (!pages[i]) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (blk = start; blk < start + count && !r; blk += n) {
		n = min_t(u64, VDIRT_ZERO_PAGES, start + count - blk);
		for (pass = 0; ; pass++) {
			r = vdirt_zero_rw(vd, pages, n, blk, REQ_OP_READ);
			if (r)
				break;
			for (i = 0, bad = 0; i < n; i++)
				bad += !vdirt_block_is_zero(page_address(pages[i]));
			if (!bad)
				break;
			if (pass) {
				r = -EILSEQ;
				break;
			}
			*fixed += bad;
			for (i = 0; i < n; i++)
				memset(page_address(pages[i]), 0,
				       VDIRT_META_BLOCK_SIZE);
			r = vdirt_zero_rw(vd, pages, n, blk,
					  REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
			if (r)
				break;
		}
		if (!r && fatal_signal_pending(current))
			r = -EINTR;
		cond_resched();
	}
out:
	for (i = 0; i < VDIRT_ZERO_PAGES && pages[i]; i++)
		__free_page(pages[i]);
	kfree(pages);
	return r;
}

static int vdirt_format(struct vdirt_dev *vd, char **error)
{
	const struct vdirt_layout *l = &vd->layout;
	u64 fixed = 0;
	int r;

	VDLOG(DMINFO, vd, "formatting zeroed metadata device %s (%llu blocks)",
	      vd->meta_dev->name, (unsigned long long)l->total_blocks);
	generate_random_uuid(vd->uuid);
	vd->format_time_ns = ktime_get_real_ns();
	vd->sb_seq = 0;
	vd->epoch = 0;
	vd->ep.first = l->flags & VDIRT_LAYOUT_EPOCHS ? 1 : 0;
	vd->sb_flags = VDIRT_SB_F_CLEAN;
	vd->sb_compat = 0;
	vd->sb_compat_unknown = 0;
	vd->sb_ro_compat = 0;
	vd->log_head = 0;
	vd->log_tail = 0;
	vd->log_durable = 0;
	vd->log_committing = 0;
	vd->chain_start = 0;
	memset(vd->log_hash, 0, sizeof(vd->log_hash));
	memset(vd->log_hash_committing, 0, sizeof(vd->log_hash_committing));
	memset(vd->log_hash_durable, 0, sizeof(vd->log_hash_durable));
	if (vd->log_keyed)
		vd->sb_flags |= VDIRT_SB_F_LOG_KEYED;

	/*
	 * The entries must read as zero, or stale bytes would be taken as
	 * digests: every entry block is read, and one that is not zero is
	 * written with zeroes and read back.
	 */
	r = vdirt_zero_verified(vd, l->entries_start, l->entries_blocks,
				&fixed);
	if (r == -EILSEQ) {
		*error = vdirt_ctr_errorf("Metadata entry region does not read back as zero",
					  "%s: the entry region still is not zero after writing zeroes over it: refused",
					  vd->meta_dev->name);
		return r;
	}
	if (r) {
		*error = vdirt_ctr_errorf("Cannot zero the metadata entry region",
					  "%s: cannot zero the entry region (error %d)",
					  vd->meta_dev->name, r);
		return r;
	}
	if (fixed)
		VDLOG(DMWARN, vd, "%s: %llu entry blocks were not zero: written with zeroes and verified",
		      vd->meta_dev->name, (unsigned long long)fixed);

	r = vdirt_zero_blocks(vd, l->intent_start, l->intent_blocks);
	if (!r)
		r = vdirt_zero_blocks(vd, l->log_start, l->log_blocks);
	if (!r)
		r = vdirt_zero_blocks(vd, l->event_start, l->event_blocks);
	/* the written bitmap: every cluster unwritten, generation 0 */
	vd->uw.gen = 0;
	if (!r)
		r = vdirt_zero_blocks(vd, l->unw_start, l->unw_blocks);
	if (!r) {
		mutex_lock(&vd->commit_lock);
		r = vdirt_merkle_format(vd);
		vdirt_log_snapshot(vd);
		if (!r)
			r = vdirt_write_sb(vd);		/* copy B, seq 1 */
		if (!r)
			r = vdirt_write_sb(vd);	/* copy A, seq 2 */
		mutex_unlock(&vd->commit_lock);
	}
	if (r) {
		*error = "Cannot format metadata device";
		return r;
	}
	/* written and clean: not kept in the cache */
	dm_bufio_forget_buffers(vd->bufio, l->intent_start,
				l->total_blocks - l->intent_start);
	return 0;
}


/*
 * Read both superblock copies and choose the newest valid one.  A copy that
 * cannot be read counts as invalid: the other one is used.
 * Returns 1 if both copies are all zero (unformatted), 0 with *sb and *lo
 * (its layout) filled, -ENOSPC with *lo filled when that layout does not
 * fit on the device, or -errno with *why set.  Uses vd->sb_buf (ctr,
 * preresume): no allocation.
 */
static int vdirt_sb_read_best(struct vdirt_dev *vd, struct vdirt_disk_sb *sb,
			      struct vdirt_layout *lo, const char **why)
{
	struct vdirt_layout l[2];
	u64 meta_blocks = bdev_nr_bytes(vd->meta_dev->bdev) >>
			  VDIRT_META_BLOCK_SHIFT;
	struct vdirt_disk_sb *copy = vd->sb_buf;
	const char *reason[2] = { NULL, NULL };
	bool zero[2], valid[2];
	int i, best = -1, err[2] = { 0, 0 };
	struct dm_buffer *b;
	void *p;

	for (i = 0; i < 2; i++) {
		p = dm_bufio_read(vd->bufio, i, &b);
		if (IS_ERR(p)) {
			err[i] = PTR_ERR(p);
			zero[i] = false;
			valid[i] = false;
			reason[i] = "read error";
			DMERR("%s: cannot read superblock copy %c (error %d)",
			      vd->meta_dev->name, 'A' + i, err[i]);
			continue;
		}
		zero[i] = vdirt_block_is_zero(p);
		memcpy(&copy[i], p, sizeof(copy[i]));
		dm_bufio_release(b);
		valid[i] = !zero[i] &&
			   !vdirt_sb_validate(&copy[i], 0, &reason[i], &l[i]);
		if (zero[i])
			reason[i] = "all zero";
	}
	if (err[0] && err[1]) {
		*why = "cannot read either superblock copy";
		return err[0];
	}
	if (zero[0] && zero[1])
		return 1;
	if (valid[0] && valid[1])
		best = le64_to_cpu(copy[1].seq) > le64_to_cpu(copy[0].seq);
	else if (valid[0] || valid[1])
		best = valid[1];
	if (best < 0) {
		/* report copy A's reason; B's if A is merely zero */
		*why = zero[0] ? reason[1] : reason[0];
		/* one copy unreadable, the other not valid: not unformatted */
		return err[0] || err[1] ? -EIO : -EINVAL;
	}
	/* once per state: the constructor and the first resume read the same */
	if (!valid[!best] &&
	    vd->sb_warned_seq != le64_to_cpu(copy[best].seq) + 1) {
		vd->sb_warned_seq = le64_to_cpu(copy[best].seq) + 1;
		DMWARN("%s: superblock copy %c invalid (%s), using copy %c",
		       vd->meta_dev->name, best ? 'A' : 'B', reason[!best],
		       best ? 'B' : 'A');
	}
	memcpy(sb, &copy[best], sizeof(*sb));
	*lo = l[best];
	if (lo->total_blocks > meta_blocks) {
		*why = "layout larger than the device";
		return -ENOSPC;
	}
	return 0;
}

/* does the chosen superblock describe this table?  NULL or the error */
static char *vdirt_sb_match(struct vdirt_dev *vd,
			    const struct vdirt_disk_sb *sb)
{
	if (le64_to_cpu(sb->data_sectors) != vd->ti->len)
		return vdirt_ctr_errorf("Metadata belongs to another data size",
					"metadata belongs to another data geometry: %llu data sectors on disk, %llu in table",
					(unsigned long long)le64_to_cpu(sb->data_sectors),
					(unsigned long long)vd->ti->len);
	if (le32_to_cpu(sb->cluster_size) != vd->cluster_size)
		return vdirt_ctr_errorf("Metadata cluster size differs from the table",
					"metadata cluster size %u differs from table cluster size %u",
					le32_to_cpu(sb->cluster_size),
					vd->cluster_size);
	if (strncmp(sb->hash_name, vd->hash_name, sizeof(sb->hash_name)) ||
	    le32_to_cpu(sb->digest_size) != vd->digest_size)
		return vdirt_ctr_errorf("Metadata hash differs from the table",
					"metadata hash %.63s (%u bytes) differs from table hash %s (%u bytes)",
					sb->hash_name,
					le32_to_cpu(sb->digest_size),
					vd->hash_name, vd->digest_size);
	return NULL;
}

/* a buffer was allocated for a block: not accessed since (aux data) */
static void vdirt_buf_alloc(struct dm_buffer *b)
{
	*(u8 *)dm_bufio_get_aux_data(b) = 0;
}

/* unknown feature_ro_compat bits of a superblock */
static u32 vdirt_sb_ro_unknown(const struct vdirt_disk_sb *sb)
{
	return le32_to_cpu(sb->feature_ro_compat) &
	       ~VDIRT_FEATURE_RO_COMPAT_SUPP;
}

/* the store's memory and its dm-bufio client; ctr only */
static int vdirt_meta_alloc(struct vdirt_dev *vd, char **error)
{
	vd->read_only = !(dm_table_get_mode(vd->ti->table) & VDIRT_MODE_WRITE);
	/* room for dirty blocks that cannot be dropped until written back */
	vd->cache_cap = vd->cache_blocks + max(64U, vd->cache_blocks / 4);
	vd->cache_ring = kvcalloc(vd->cache_cap, sizeof(*vd->cache_ring),
				  GFP_KERNEL);
	/* copies A and B, then the chosen one */
	vd->sb_buf = kmalloc_array(3, sizeof(*vd->sb_buf), GFP_KERNEL);
	if (!vd->cache_ring || !vd->sb_buf) {
		*error = "Cannot allocate memory";
		return -ENOMEM;
	}
	vd->bufio = dm_bufio_client_create(vd->meta_dev->bdev,
					   VDIRT_META_BLOCK_SIZE,
					   VDIRT_BUFIO_RESERVED, sizeof(u8),
					   vdirt_buf_alloc, NULL, 0);
	if (IS_ERR(vd->bufio)) {
		int r = PTR_ERR(vd->bufio);

		vd->bufio = NULL;
		*error = "Cannot create metadata cache";
		return r;
	}
	return 0;
}

/*
 * Constructor: open the metadata device (format it when both superblock
 * copies are zero).  On failure *error is a literal for ti->error, the
 * details are in the kernel log; vdirt_meta_close() undoes a partial open.
 */
/* the metadata device must hold layout l */
static int vdirt_meta_fits(struct vdirt_dev *vd, const struct vdirt_layout *l,
			   char **error)
{
	u64 need = l->total_blocks * VDIRT_META_BLOCK_SIZE;
	u64 have = bdev_nr_bytes(vd->meta_dev->bdev);

	if (have >= need)
		return 0;
	DMERR("metadata device too small: %llu bytes needed, %llu bytes available",
	      (unsigned long long)need, (unsigned long long)have);
	*error = "Metadata device too small";
	return -ENOSPC;
}

int vdirt_meta_open(struct vdirt_dev *vd, char **error)
{
	struct vdirt_layout layout;
	struct vdirt_disk_sb *sb;
	const char *why = NULL;
	u32 ro_unknown;
	char *msg;
	int r;

	/*
	 * Smaller than the smallest layout (packed entries, no staging
	 * area): not even read; the size a format needs is the one to report.
	 */
	if (bdev_nr_bytes(vd->meta_dev->bdev) <
	    vdirt_meta_size_of(vd->ti->len, vd->cluster_size, vd->digest_size,
			       VDIRT_LAYOUT_PACKED, 0))
		return vdirt_meta_fits(vd, &vd->layout, error);
	r = vdirt_meta_alloc(vd, error);
	if (r)
		return r;

	sb = &vd->sb_buf[2];
	r = vdirt_sb_read_best(vd, sb, &layout, &why);
	if (r == 1)
		return vdirt_meta_fits(vd, &vd->layout, error) ?:
		       vdirt_format(vd, error);
	if (r == -ENOSPC)
		return vdirt_meta_fits(vd, &layout, error);
	if (r == -EINVAL && !strcmp(why, "bad magic")) {
		DMERR("metadata device is not a dm-vdirt device (bad magic) and not zeroed");
		*error = "Metadata device is not a dm-vdirt device and not zeroed";
		return r;
	}
	if (r) {
		DMERR("metadata superblock invalid: %s", why);
		*error = "Metadata superblock invalid";
		return r;
	}
	msg = vdirt_sb_match(vd, sb);
	if (msg) {
		*error = msg;
		return -EINVAL;
	}
	ro_unknown = vdirt_sb_ro_unknown(sb);
	if (ro_unknown && !vd->read_only) {
		DMERR("metadata has unknown read-only compatible features 0x%x: only a read-only table may use it",
		      ro_unknown);
		*error = "Metadata has unknown read-only compatible features: only a read-only table may use it";
		return -EROFS;
	}
	/*
	 * metadata keeps its layout: version 1 (no staging area), version 2
	 * with power-of-two entries (written before INCOMPAT_PACKED)
	 */
	vd->layout = layout;
	vdirt_sb_load(vd, sb);
	if (ro_unknown) {
		/* nothing may be written: open, but do not measure */
		WRITE_ONCE(vd->state, VDIRT_STATE_DEGRADED);
		vd->untracked_marked = true;
		VDLOG(DMWARN, vd, "metadata has unknown read-only compatible features 0x%x: read-only table, not measuring, metadata left as is (state=degraded)",
		      ro_unknown);
	}
	return 0;
}

/*
 * Called from preresume: another table may have used the metadata since
 * our constructor read it, so drop the cache and load the newest state,
 * then mark the metadata in use (not clean) with a new epoch.  No
 * GFP_KERNEL allocation here (dm is resuming a suspended device).
 */
int vdirt_meta_reload(struct vdirt_dev *vd)
{
	struct vdirt_disk_sb *sb = &vd->sb_buf[2];
	struct vdirt_layout layout;
	const char *why = NULL;
	bool had_intent;
	int r;

	r = dm_bufio_write_dirty_buffers(vd->bufio);
	if (r)
		return r;
	dm_bufio_forget_buffers(vd->bufio, 0, vd->layout.total_blocks);
	mutex_lock(&vd->cache_lock);
	vd->cache_count = 0;
	mutex_unlock(&vd->cache_lock);
	r = vdirt_sb_read_best(vd, sb, &layout, &why);
	if (!r && memcmp(&layout, &vd->layout, sizeof(layout)))
		why = "layout changed";
	if (r || why || vdirt_sb_match(vd, sb)) {
		DMERR("%s: metadata changed while inactive: %s",
		      vd->meta_dev->name, why ? why : "geometry differs");
		return r < 0 ? r : -EINVAL;
	}
	if (vdirt_sb_ro_unknown(sb)) {
		DMERR("%s: metadata changed while inactive: unknown read-only compatible features 0x%x",
		      vd->meta_dev->name, vdirt_sb_ro_unknown(sb));
		return -EROFS;
	}
	mutex_lock(&vd->commit_lock);
	vdirt_sb_load(vd, sb);
	/* a paused change of this table continues at resume: not cut short */
	if (vd->baseline_partial && !vdirt_bc_running(vd) &&
	    !(vd->sb_flags & VDIRT_SB_F_PURGE))
		DMWARN("%s: a baseline change was cut short: baseline digests ignored until %s",
		       vd->meta_dev->name,
		       vd->sb_flags & VDIRT_SB_F_BASELINE_STAGED ?
		       "the staged baseline is applied again" :
		       "a baseline is loaded, captured or cleared");
	had_intent = le32_to_cpu(sb->feature_compat) &
		     VDIRT_FEATURE_COMPAT_INTENT;
	/* after an unclean shutdown, the regions to measure again */
	r = vdirt_intent_load(vd, !(vd->sb_flags & VDIRT_SB_F_CLEAN),
			      had_intent);
	if (r) {
		mutex_unlock(&vd->commit_lock);
		return r;
	}
	/* close the epoch of the last activation, open this one's */
	r = vdirt_epoch_activate(vd, !(vd->sb_flags & VDIRT_SB_F_CLEAN),
				 le64_to_cpu(sb->commit_time_ns));
	/* the tree's changed chunks, with those of the dirty regions */
	if (!r)
		r = vdirt_merkle_activate(vd);
	/* which clusters were written, in the superblock's generation */
	if (!r)
		r = vdirt_uw_load(vd);
	if (r) {
		mutex_unlock(&vd->commit_lock);
		return r;
	}
	/* the activation record, durable with this superblock (GFP_NOIO) */
	r = vdirt_log_activate(vd, !(vd->sb_flags & VDIRT_SB_F_CLEAN));
	if (r) {
		mutex_unlock(&vd->commit_lock);
		return r;
	}
	vd->sb_flags &= ~VDIRT_SB_F_CLEAN;
	vd->sb_compat = vd->intent.on ? VDIRT_FEATURE_COMPAT_INTENT : 0;
	vdirt_log_snapshot(vd);
	r = dm_bufio_write_dirty_buffers(vd->bufio);
	if (!r)
		r = vdirt_write_sb(vd);
	if (!r)
		vdirt_events_deliver(vd, vd->log_committing);
	mutex_unlock(&vd->commit_lock);
	return r;
}

void vdirt_meta_close(struct vdirt_dev *vd)
{
	if (vd->bufio)
		dm_bufio_client_destroy(vd->bufio);
	vd->bufio = NULL;
	kvfree(vd->cache_ring);
	vd->cache_ring = NULL;
	kfree(vd->sb_buf);
	vd->sb_buf = NULL;
}

static int __vdirt_commit(struct vdirt_dev *vd, bool set_clean, bool clean,
			  void (*change)(struct vdirt_dev *vd))
{
	int ticket, r = 0;

	if (unlikely(READ_ONCE(vd->retired)))
		return 0;	/* the table replacing us owns the metadata */
	if (READ_ONCE(vd->state) != VDIRT_STATE_OK) {
		/* never durable now: tell the listeners anyway */
		vdirt_events_deliver(vd, U64_MAX);
		return READ_ONCE(vd->state) == VDIRT_STATE_FAILED ? -EIO : 0;
	}

	ticket = atomic_inc_return(&vd->commit_req);
	mutex_lock(&vd->commit_lock);
	if (!set_clean && !change && vd->commit_done - ticket >= 0)
		goto out;		/* a commit started after us covered it */
	ticket = atomic_read(&vd->commit_req);
	/* a change of the metadata made with this commit, under its lock */
	if (change) {
		change(vd);
		atomic_set(&vd->meta_dirty, 1);
	}
	if (!atomic_xchg(&vd->meta_dirty, 0) && !set_clean) {
		vd->commit_done = ticket;
		goto out;
	}
	/* the open epoch's entry says what its write set holds */
	r = vdirt_epoch_sync(vd);
	/* the tree's changed chunks, with the entries they describe */
	if (!r)
		r = vdirt_merkle_sync(vd);
	/* the written bits whose data is durable (flushes the data device) */
	if (!r)
		r = vdirt_uw_sync(vd);
	/* records appended from now on wait for the next commit */
	vdirt_log_snapshot(vd);
	if (!r)
		r = dm_bufio_write_dirty_buffers(vd->bufio);
	if (!r) {
		if (set_clean) {
			if (clean)
				vd->sb_flags |= VDIRT_SB_F_CLEAN;
			else
				vd->sb_flags &= ~VDIRT_SB_F_CLEAN;
		}
		r = vdirt_write_sb(vd);
	}
	if (r) {
		atomic_set(&vd->meta_dirty, 1);
		vdirt_store_error(vd, "metadata commit", r);
		vdirt_events_deliver(vd, U64_MAX);
	} else {
		vd->commit_done = ticket;
		vdirt_events_deliver(vd, vd->log_committing);
	}
out:
	mutex_unlock(&vd->commit_lock);
	return r;
}

/*
 * Commit: write every dirty metadata block, flush, then write the next
 * superblock copy and flush.  Concurrent callers share one commit.
 */
int vdirt_commit(struct vdirt_dev *vd)
{
	return __vdirt_commit(vd, false, false, NULL);
}

int vdirt_commit_clean(struct vdirt_dev *vd, bool clean)
{
	return __vdirt_commit(vd, true, clean, NULL);
}

int vdirt_commit_change(struct vdirt_dev *vd,
			void (*change)(struct vdirt_dev *vd))
{
	return __vdirt_commit(vd, false, false, change);
}

/*
 * The target degraded (fail_open): from now on writes are not tracked.
 * Best effort, as the metadata device may be what failed: write a
 * superblock without the write-intent feature, so that the next activation
 * measures every cluster again.  Retried at suspend until it succeeds.
 */
void vdirt_meta_untracked(struct vdirt_dev *vd)
{
	int r;

	mutex_lock(&vd->commit_lock);
	if (vd->untracked_marked || !vd->bufio) {
		mutex_unlock(&vd->commit_lock);
		return;
	}
	vd->sb_compat &= ~VDIRT_FEATURE_COMPAT_INTENT;
	vd->sb_flags &= ~VDIRT_SB_F_CLEAN;
	vdirt_log_snapshot(vd);
	r = vdirt_write_sb(vd);
	vd->untracked_marked = !r;
	mutex_unlock(&vd->commit_lock);
	if (r)
		VDLOG(DMERR, vd, "degraded: cannot mark the metadata for a full re-measurement (error %d); retried at suspend",
		      r);
	else
		VDLOG(DMWARN, vd, "degraded: metadata marked for a full re-measurement on the next activation");
}

static void vdirt_untracked_work(struct work_struct *work)
{
	vdirt_meta_untracked(container_of(work, struct vdirt_dev,
					  untracked_work));
}

/* ctr, first thing: what vdirt_meta_close() and the failure policy touch */
void vdirt_meta_init(struct vdirt_dev *vd)
{
	mutex_init(&vd->commit_lock);
	mutex_init(&vd->cache_lock);
	INIT_WORK(&vd->untracked_work, vdirt_untracked_work);
}

/*
 * The cache bound (cache_mb).  Every block loaded into the dm-bufio cache
 * through vdirt_meta_read() is tracked in vd->cache_ring, oldest first; a
 * hit sets the block's accessed flag (its bufio aux byte).  Beyond
 * cache_blocks, the oldest tracked block is dropped unless it was accessed
 * since it was last examined (then it goes to the young end: CLOCK, an
 * approximation of least recently used).  A dirty or held block cannot be
 * dropped: it goes to the young end too and a write-back is started; the
 * ring has room for such blocks up to cache_cap, and the commit work trims
 * back to cache_blocks once they are written.  Each step is O(1).
 */

/* the accessed flag: set locklessly on a hit, cleared under cache_lock */
static void vdirt_buf_touch(struct dm_buffer *b)
{
	u8 *ref = dm_bufio_get_aux_data(b);

	if (!READ_ONCE(*ref))
		WRITE_ONCE(*ref, 1);
}

static void vdirt_cache_push(struct vdirt_dev *vd, u64 blk)
{
	lockdep_assert_held(&vd->cache_lock);
	vd->cache_ring[(vd->cache_head + vd->cache_count) % vd->cache_cap] = blk;
	vd->cache_count++;
}

/*
 * Examine the oldest tracked block: drop it (true), or give it another
 * round (false; *busy when it is dirty or held).
 */
static bool vdirt_cache_evict_one(struct vdirt_dev *vd, bool *busy)
{
	u64 blk = vd->cache_ring[vd->cache_head];
	struct dm_buffer *b;
	u8 *ref;

	lockdep_assert_held(&vd->cache_lock);
	vd->cache_head = (vd->cache_head + 1) % vd->cache_cap;
	vd->cache_count--;
	if (!dm_bufio_get(vd->bufio, blk, &b))
		return true;		/* dm-bufio dropped it already */
	ref = dm_bufio_get_aux_data(b);
	if (READ_ONCE(*ref)) {
		WRITE_ONCE(*ref, 0);
		dm_bufio_release(b);
		vdirt_cache_push(vd, blk);
		return false;
	}
	dm_bufio_release(b);
	dm_bufio_forget(vd->bufio, blk);	/* only if clean and unheld */
	if (!dm_bufio_get(vd->bufio, blk, &b)) {
		atomic64_inc(&vd->cache_evicted);
		return true;
	}
	dm_bufio_release(b);
	*busy = true;
	vdirt_cache_push(vd, blk);
	return false;
}

/* drop tracked blocks until at most "limit" remain, at most "probes" looks */
static void vdirt_cache_shrink(struct vdirt_dev *vd, u32 limit, u32 probes,
			       bool *busy)
{
	lockdep_assert_held(&vd->cache_lock);
	while (vd->cache_count > limit && probes--)
		vdirt_cache_evict_one(vd, busy);
}

/* block blk was just loaded into the cache: track it, keep the bound */
static void vdirt_cache_note(struct vdirt_dev *vd, u64 blk)
{
	bool busy = false;

	mutex_lock(&vd->cache_lock);
	vdirt_cache_shrink(vd, vd->cache_blocks - 1, VDIRT_CACHE_PROBES,
			   &busy);
	if (vd->cache_count >= vd->cache_cap) {
		/* only dirty or held blocks: write back, then drop */
		dm_bufio_write_dirty_buffers(vd->bufio);
		vdirt_cache_shrink(vd, vd->cache_blocks - 1,
				   2 * vd->cache_cap, &busy);
		busy = false;
		if (vd->cache_count >= vd->cache_cap) {
			/* all held: stop tracking the oldest */
			vd->cache_head = (vd->cache_head + 1) % vd->cache_cap;
			vd->cache_count--;
		}
	}
	vdirt_cache_push(vd, blk);
	mutex_unlock(&vd->cache_lock);
	if (busy)
		dm_bufio_write_dirty_buffers_async(vd->bufio);
}

/*
 * After a commit (every second, commit work): the blocks that were dirty
 * are written, drop back to cache_blocks.
 */
void vdirt_cache_trim(struct vdirt_dev *vd)
{
	bool busy = false;
	u32 over;

	mutex_lock(&vd->cache_lock);
	over = vd->cache_count > vd->cache_blocks ?
	       vd->cache_count - vd->cache_blocks : 0;
	if (over)
		vdirt_cache_shrink(vd, vd->cache_blocks,
				   2 * over + VDIRT_CACHE_PROBES, &busy);
	mutex_unlock(&vd->cache_lock);
}

/* a metadata block through the cache, tracked for the bound */
void *vdirt_meta_read(struct vdirt_dev *vd, sector_t blk, struct dm_buffer **bp)
{
	void *p;

	p = dm_bufio_get(vd->bufio, blk, bp);
	if (p) {
		vdirt_buf_touch(*bp);
		return p;
	}
	p = dm_bufio_read(vd->bufio, blk, bp);
	if (!IS_ERR(p))
		vdirt_cache_note(vd, blk);
	return p;
}

void *vdirt_meta_get(struct vdirt_dev *vd, sector_t blk, struct dm_buffer **bp,
		     bool nowait)
{
	void *p;

	if (nowait) {
		p = dm_bufio_get(vd->bufio, blk, bp);
		if (!p)
			return ERR_PTR(-EAGAIN);
		vdirt_buf_touch(*bp);
		return p;
	}
	p = vdirt_meta_read(vd, blk, bp);
	if (IS_ERR(p))
		vdirt_store_error(vd, "metadata read", PTR_ERR(p));
	return p;
}

/*
 * The entry of a cluster, its block held in *bp.  nowait: only from the
 * cache (the target's map function may do no metadata I/O), else
 * ERR_PTR(-EAGAIN).
 */
static struct vdirt_disk_entry *vdirt_entry_get(struct vdirt_dev *vd,
						u64 cluster,
						struct dm_buffer **bp,
						bool nowait)
{
	u32 off;
	sector_t blk = vdirt_entry_block(&vd->layout, cluster, &off);
	u8 *p = vdirt_meta_get(vd, blk, bp, nowait);

	if (IS_ERR(p))
		return ERR_CAST(p);
	return (struct vdirt_disk_entry *)(p + off);
}

/* a block changed: the next commit writes it */
void vdirt_meta_mark_dirty(struct vdirt_dev *vd, struct dm_buffer *b)
{
	dm_bufio_mark_buffer_dirty(b);
	if (!atomic_read(&vd->meta_dirty))
		atomic_set(&vd->meta_dirty, 1);
}

static void vdirt_entry_put(struct vdirt_dev *vd, struct dm_buffer *b,
			    bool dirty)
{
	if (dirty)
		vdirt_meta_mark_dirty(vd, b);
	dm_bufio_release(b);
}

static void vdirt_cursor_put_entry(struct vdirt_dev *vd,
				   struct vdirt_cursor *cur)
{
	if (!cur->b)
		return;
	vdirt_entry_put(vd, cur->b, cur->dirty);
	cur->b = NULL;
}

void vdirt_cursor_put_wset(struct vdirt_dev *vd, struct vdirt_cursor *cur)
{
	if (!cur->wb)
		return;
	dm_bufio_release(cur->wb);
	cur->wb = NULL;
}

/* like vdirt_entry_get(), keeping the block for the next cluster */
struct vdirt_disk_entry *vdirt_cursor_get(struct vdirt_dev *vd,
					  struct vdirt_cursor *cur, u64 cluster)
{
	u32 off;
	sector_t blk = vdirt_entry_block(&vd->layout, cluster, &off);
	struct vdirt_disk_entry *e;

	if (cur->b && cur->blk == blk)
		return (struct vdirt_disk_entry *)(cur->data + off);
	vdirt_cursor_put_entry(vd, cur);
	e = vdirt_entry_get(vd, cluster, &cur->b, cur->nowait);
	if (IS_ERR(e)) {
		cur->b = NULL;
		return e;
	}
	cur->blk = blk;
	cur->data = (u8 *)e - off;
	cur->dirty = false;
	return e;
}

void vdirt_cursor_put(struct vdirt_dev *vd, struct vdirt_cursor *cur)
{
	vdirt_cursor_put_entry(vd, cur);
	vdirt_cursor_put_wset(vd, cur);
}

/*
 * Start reading the entry blocks of clusters [first, last] that are not
 * cached (no wait), tracked for the cache bound like a read: the scan and
 * recovery pipeline asks for the pieces it will read next.
 */
void vdirt_meta_prefetch(struct vdirt_dev *vd, u64 first, u64 last)
{
	sector_t blk = vdirt_entry_block(&vd->layout, first, NULL);
	sector_t end = vdirt_entry_block(&vd->layout, last, NULL);
	struct dm_buffer *b;

	for (; blk <= end; blk++) {
		if (dm_bufio_get(vd->bufio, blk, &b)) {
			dm_bufio_release(b);
			continue;
		}
		vdirt_cache_note(vd, blk);
		dm_bufio_prefetch(vd->bufio, blk, 1);
	}
}
