// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt epochs and write sets (store layer).
 *
 * The epoch table (RO_COMPAT_EPOCHS) keeps one entry per retained epoch:
 * number, label, start and end time, clusters written, the log head when
 * it closed.  Each activation and each epoch_new message close the open
 * epoch and open the next (vd->epoch).  The write sets
 * (RO_COMPAT_WRITESETS) are one bitmap per retained epoch: a cluster's bit
 * is set when it is first written in an epoch (its entry's write_epoch
 * was another), so changed-block lists are unions of whole sets, not of
 * last writes.  Write-set blocks carry the epoch their bits belong to: a
 * block of another epoch reads as empty, and opening an epoch clears
 * nothing.  The bits reach the disk with the entries, in the same commits;
 * after a crash, recovery puts every cluster of a dirty region whose
 * content changed, or whose entry names the crashed epoch, in the crashed
 * epoch's set (vdirt_wset_recovered()).  See "Epochs and changed-block
 * lists" in Documentation/dm-vdirt.rst.
 */
#include <linux/bitops.h>
#include <linux/string.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>

#include "dm-vdirt.h"

void vdirt_epoch_init(struct vdirt_dev *vd)
{
	spin_lock_init(&vd->ep.wset_lock);
	spin_lock_init(&vd->ep.hist_lock);
	mutex_init(&vd->ep.new_lock);
	atomic64_set(&vd->ep.written, 0);
	atomic64_set(&vd->ep.recover_written, 0);
}

static u32 vdirt_epoch_csum(const struct vdirt_disk_epoch *d)
{
	struct vdirt_disk_epoch tmp;

	memcpy(&tmp, d, sizeof(tmp));
	tmp.csum = 0;
	return crc32c(~0U, &tmp, sizeof(tmp));
}

u64 vdirt_epoch_oldest(struct vdirt_dev *vd)
{
	u64 cur = READ_ONCE(vd->epoch);
	u64 first = READ_ONCE(vd->ep.first);

	if (!vd->ep.on)
		return 0;
	if (cur >= vd->layout.epochs && cur - vd->layout.epochs + 1 > first)
		return cur - vd->layout.epochs + 1;
	return first;
}

/* the table slot of epoch e, its block held in *bp */
static struct vdirt_disk_epoch *vdirt_epoch_slot(struct vdirt_dev *vd, u64 e,
						 struct dm_buffer **bp)
{
	u32 off;
	sector_t blk = vdirt_epoch_block(&vd->layout, e, &off);
	u8 *p = vdirt_meta_read(vd, blk, bp);

	if (IS_ERR(p))
		return ERR_CAST(p);
	return (struct vdirt_disk_epoch *)(p + off);
}

int vdirt_epoch_read(struct vdirt_dev *vd, u64 e, struct vdirt_disk_epoch *out)
{
	struct vdirt_disk_epoch *d;
	struct dm_buffer *b;

	if (!vd->ep.on)
		return -EOPNOTSUPP;
	if (e < vdirt_epoch_oldest(vd) || e > READ_ONCE(vd->epoch))
		return -ENOENT;
	d = vdirt_epoch_slot(vd, e, &b);
	if (IS_ERR(d))
		return PTR_ERR(d);
	memcpy(out, d, sizeof(*out));
	dm_bufio_release(b);
	if (le64_to_cpu(out->epoch) != e ||
	    le32_to_cpu(out->csum) != vdirt_epoch_csum(out))
		return -EBADMSG;
	/* the open epoch's count is in memory */
	if (e == READ_ONCE(vd->epoch))
		out->written = cpu_to_le64(atomic64_read(&vd->ep.written));
	return 0;
}

/* write epoch entry d into its slot (commit_lock held) */
static int vdirt_epoch_write(struct vdirt_dev *vd, struct vdirt_disk_epoch *d)
{
	struct vdirt_disk_epoch *slot;
	struct dm_buffer *b;

	lockdep_assert_held(&vd->commit_lock);
	slot = vdirt_epoch_slot(vd, le64_to_cpu(d->epoch), &b);
	if (IS_ERR(slot))
		return PTR_ERR(slot);
	d->csum = 0;
	d->csum = cpu_to_le32(vdirt_epoch_csum(d));
	memcpy(slot, d, sizeof(*d));
	vdirt_meta_mark_dirty(vd, b);
	dm_bufio_release(b);
	return 0;
}

/*
 * Read epoch e's entry for an update (commit_lock held); an entry that is
 * not valid (lost in a crash, never written) is made again from what is
 * known.
 */
static int vdirt_epoch_load(struct vdirt_dev *vd, u64 e,
			    struct vdirt_disk_epoch *d)
{
	struct vdirt_disk_epoch *slot;
	struct dm_buffer *b;

	lockdep_assert_held(&vd->commit_lock);
	slot = vdirt_epoch_slot(vd, e, &b);
	if (IS_ERR(slot))
		return PTR_ERR(slot);
	memcpy(d, slot, sizeof(*d));
	dm_bufio_release(b);
	if (le64_to_cpu(d->epoch) == e &&
	    le32_to_cpu(d->csum) == vdirt_epoch_csum(d))
		return 0;
	memset(d, 0, sizeof(*d));
	d->epoch = cpu_to_le64(e);
	d->start_ns = cpu_to_le64(vd->ep.start_ns);
	d->log_first = cpu_to_le64(vd->ep.log_first);
	memcpy(d->label, vd->ep.label, sizeof(d->label));
	if (vd->ep.wsets)
		d->flags = cpu_to_le32(VDIRT_EP_WRITESET);
	return 0;
}

int vdirt_epoch_set_root(struct vdirt_dev *vd, u64 e, const u8 *root)
{
	struct vdirt_disk_epoch d;
	int r;

	lockdep_assert_held(&vd->commit_lock);
	if (!vd->ep.on || e < vdirt_epoch_oldest(vd) || e >= vd->epoch)
		return -ENOENT;
	r = vdirt_epoch_load(vd, e, &d);
	if (r)
		return r;
	if (!(le32_to_cpu(d.flags) & VDIRT_EP_CLOSED))
		return -ENOENT;
	memset(d.root, 0, sizeof(d.root));
	memcpy(d.root, root, VDIRT_MERKLE_DIGEST_SIZE);
	d.flags |= cpu_to_le32(VDIRT_EP_ROOT);
	return vdirt_epoch_write(vd, &d);
}

int vdirt_epoch_purged(struct vdirt_dev *vd)
{
	struct vdirt_disk_epoch d;
	int r;

	lockdep_assert_held(&vd->commit_lock);
	if (!vd->ep.on)
		return 0;
	r = vdirt_epoch_load(vd, vd->epoch, &d);
	if (r)
		return r;
	d.flags |= cpu_to_le32(VDIRT_EP_PURGED);
	return vdirt_epoch_write(vd, &d);
}

/* close the open epoch at time end (commit_lock held) */
static int vdirt_epoch_close(struct vdirt_dev *vd, u64 end, u32 flags)
{
	struct vdirt_disk_epoch d;
	int r;

	r = vdirt_epoch_load(vd, vd->epoch, &d);
	if (r)
		return r;
	if (le32_to_cpu(d.flags) & VDIRT_EP_CLOSED)
		return 0;
	d.end_ns = cpu_to_le64(end);
	d.written = cpu_to_le64(max_t(u64, le64_to_cpu(d.written),
				      atomic64_read(&vd->ep.written)));
	d.flags |= cpu_to_le32(VDIRT_EP_CLOSED | flags);
	mutex_lock(&vd->log_lock);
	d.log_end = cpu_to_le64(vd->log_head);
	memcpy(d.log_hash, vd->log_hash, sizeof(d.log_hash));
	mutex_unlock(&vd->log_lock);
	d.seq = cpu_to_le64(vd->sb_seq + 1);
	return vdirt_epoch_write(vd, &d);
}

/* open epoch vd->epoch + 1 labelled label (commit_lock held) */
static int vdirt_epoch_open(struct vdirt_dev *vd, const char *label, u64 now)
{
	struct vdirt_disk_epoch d;
	u64 e = vd->epoch + 1;

	memset(&d, 0, sizeof(d));
	d.epoch = cpu_to_le64(e);
	d.start_ns = cpu_to_le64(now);
	strscpy(d.label, label, sizeof(d.label));
	if (vd->ep.wsets)
		d.flags = cpu_to_le32(VDIRT_EP_WRITESET);
	mutex_lock(&vd->log_lock);
	d.log_first = cpu_to_le64(vd->log_head);
	mutex_unlock(&vd->log_lock);
	vd->ep.start_ns = now;
	vd->ep.log_first = le64_to_cpu(d.log_first);
	memcpy(vd->ep.label, d.label, sizeof(vd->ep.label));
	atomic64_set(&vd->ep.written, 0);
	/* stores read vd->epoch once per cluster: the set they mark */
	WRITE_ONCE(vd->epoch, e);
	return vdirt_epoch_write(vd, &d);
}

int vdirt_epoch_activate(struct vdirt_dev *vd, bool unclean, u64 last_commit)
{
	int r;

	lockdep_assert_held(&vd->commit_lock);
	vd->ep.on = vd->layout.flags & VDIRT_LAYOUT_EPOCHS;
	vd->ep.wsets = vd->layout.flags & VDIRT_LAYOUT_WRITESETS;
	vd->ep.recover_epoch = 0;
	atomic64_set(&vd->ep.recover_written, 0);
	if (!vd->ep.on) {
		WRITE_ONCE(vd->epoch, vd->epoch + 1);
		return 0;
	}
	if (vd->epoch >= vd->ep.first && vd->epoch) {
		r = vdirt_epoch_close(vd, last_commit,
				      unclean ? VDIRT_EP_UNCLEAN : 0);
		if (r)
			return r;
		if (unclean && vd->ep.wsets)
			vd->ep.recover_epoch = vd->epoch;
	}
	if (vd->ep.first > vd->epoch + 1)
		vd->ep.first = vd->epoch + 1;
	return vdirt_epoch_open(vd, "activation", ktime_get_real_ns());
}

int vdirt_epoch_sync(struct vdirt_dev *vd)
{
	struct vdirt_disk_epoch d;
	u64 add;
	int r;

	lockdep_assert_held(&vd->commit_lock);
	if (!vd->ep.on)
		return 0;
	r = vdirt_epoch_load(vd, vd->epoch, &d);
	if (r)
		return r;
	if (le64_to_cpu(d.written) != atomic64_read(&vd->ep.written)) {
		d.written = cpu_to_le64(atomic64_read(&vd->ep.written));
		r = vdirt_epoch_write(vd, &d);
		if (r)
			return r;
	}
	add = atomic64_xchg(&vd->ep.recover_written, 0);
	if (!add || vd->ep.recover_epoch < vdirt_epoch_oldest(vd))
		return 0;
	r = vdirt_epoch_load(vd, vd->ep.recover_epoch, &d);
	if (r)
		return r;
	le64_add_cpu(&d.written, add);
	return vdirt_epoch_write(vd, &d);
}

int vdirt_epoch_new(struct vdirt_dev *vd, const char *label, u64 *epoch)
{
	u8 lbl[VDIRT_MAX_DIGEST_SIZE] = { 0 };
	static const u8 none[VDIRT_MAX_DIGEST_SIZE];
	u64 aux[4] = { 0 };
	u64 now = ktime_get_real_ns();
	u64 id;
	int r, m;

	if (!vd->ep.on)
		return -EOPNOTSUPP;
	if (vd->read_only || !vdirt_measuring(vd))
		return -EIO;
	mutex_lock(&vd->ep.new_lock);
	mutex_lock(&vd->commit_lock);
	r = vdirt_epoch_close(vd, now, 0);
	if (!r)
		r = vdirt_epoch_open(vd, label, now);
	*epoch = vd->epoch;
	mutex_unlock(&vd->commit_lock);
	if (!r) {
		strscpy(lbl, label, sizeof(lbl));
		aux[VDIRT_AUX_EPOCH] = *epoch;
		aux[VDIRT_AUX_PREV_EPOCH] = *epoch - 1;
		r = vdirt_log_append(vd, 0, VDIRT_KIND_EPOCH, 0, lbl, none,
				     aux);
	}
	/* the new epoch is durable before the message returns */
	if (!r)
		r = vdirt_commit(vd);
	/* the closed epoch's root: over the digests as they are now */
	if (!r) {
		m = vdirt_merkle_start(vd, false, false, 0, *epoch - 1, &id);
		if (m && m != -EOPNOTSUPP)
			VDLOG(DMWARN, vd, "epoch %llu closed without an attestation root: %s",
			      (unsigned long long)*epoch - 1, m == -EBUSY ?
			      "a root computation, a metadata snapshot or a baseline load is in progress" :
			      "cannot start the computation");
	}
	mutex_unlock(&vd->ep.new_lock);
	return r;
}

/* the write-set block of cluster c in epoch e, held in cur->wb */
static u8 *vdirt_wset_get(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			  u64 c, u64 e, u32 *bit)
{
	sector_t blk = vdirt_wset_block(&vd->layout, e, c, bit);
	struct vdirt_disk_wset *h;
	u8 *p;

	if (cur->wb && cur->wblk == blk)
		return dm_bufio_get_block_data(cur->wb);
	vdirt_cursor_put_wset(vd, cur);
	p = vdirt_meta_get(vd, blk, &cur->wb, cur->nowait);
	if (IS_ERR(p)) {
		cur->wb = NULL;
		return p;
	}
	cur->wblk = blk;
	h = (struct vdirt_disk_wset *)p;
	/* a block of an older epoch: empty for this one */
	if (le64_to_cpu(READ_ONCE(h->epoch)) != e ||
	    le32_to_cpu(h->magic) != VDIRT_WSET_MAGIC) {
		bool cleared = false;

		spin_lock(&vd->ep.wset_lock);
		if (le64_to_cpu(h->epoch) != e ||
		    le32_to_cpu(h->magic) != VDIRT_WSET_MAGIC) {
			memset(p + VDIRT_WSET_HDR_SIZE, 0,
			       VDIRT_META_BLOCK_SIZE - VDIRT_WSET_HDR_SIZE);
			h->magic = cpu_to_le32(VDIRT_WSET_MAGIC);
			h->reserved = 0;
			/* bits of this epoch only after the block is cleared */
			smp_store_release(&h->epoch, cpu_to_le64(e));
			cleared = true;
		}
		spin_unlock(&vd->ep.wset_lock);
		/* bufio may sleep here: not under the spinlock */
		if (cleared)
			vdirt_meta_mark_dirty(vd, cur->wb);
	}
	return p;
}

/* set c's bit in e's set; 1 if it was not set, 0 if it was, or -errno */
static int vdirt_wset_set(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			  u64 c, u64 e)
{
	u32 bit;
	u8 *p = vdirt_wset_get(vd, cur, c, e, &bit);

	if (IS_ERR(p))
		return PTR_ERR(p);
	if (test_and_set_bit_le(bit, p + VDIRT_WSET_HDR_SIZE))
		return 0;
	vdirt_meta_mark_dirty(vd, cur->wb);
	return 1;
}

int vdirt_wset_mark(struct vdirt_dev *vd, struct vdirt_cursor *cur,
		    u64 cluster, u64 e)
{
	int r;

	if (!vd->ep.wsets)
		return 0;
	r = vdirt_wset_set(vd, cur, cluster, e);
	if (r <= 0)
		return r;
	if (e == READ_ONCE(vd->epoch))
		atomic64_inc(&vd->ep.written);
	else if (e == vd->ep.recover_epoch)
		atomic64_inc(&vd->ep.recover_written);
	return 0;
}

int vdirt_wset_recovered(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			 u64 c, struct vdirt_disk_entry *e)
{
	u64 re = vd->ep.recover_epoch;

	if (!re || (u32)(le32_to_cpu(e->write_epoch) - (u32)re) >= (1U << 31))
		return 0;
	/* written in the crashed epoch, or in one it was closing into */
	if (le32_to_cpu(e->write_epoch) != (u32)re) {
		e->write_epoch = cpu_to_le32((u32)re);
		cur->dirty = true;
	}
	return vdirt_wset_mark(vd, cur, c, re);
}

int vdirt_wset_union(struct vdirt_dev *vd, u64 from, u64 to, u64 blk,
		     unsigned long *bits)
{
	const unsigned int words = VDIRT_WSET_BITS_PER_BLOCK / BITS_PER_LONG;
	struct vdirt_disk_wset *h;
	struct vdirt_disk_epoch d;
	struct dm_buffer *b;
	unsigned int i;
	const unsigned long *w;
	bool any = false;
	u32 bit;
	u64 e;
	u8 *p;

	memset(bits, 0, VDIRT_WSET_BITS_PER_BLOCK / 8);
	for (e = from; e <= to; e++) {
		/* a purge changed every cluster: all of the block's bits */
		if (vd->ep.on && !vdirt_epoch_read(vd, e, &d) &&
		    (le32_to_cpu(d.flags) & VDIRT_EP_PURGED)) {
			memset(bits, 0xff, VDIRT_WSET_BITS_PER_BLOCK / 8);
			return true;
		}
		p = vdirt_meta_read(vd, vdirt_wset_block(&vd->layout, e,
				    blk * VDIRT_WSET_BITS_PER_BLOCK, &bit), &b);
		if (IS_ERR(p))
			return PTR_ERR(p);
		h = (struct vdirt_disk_wset *)p;
		/* pairs with the release in vdirt_wset_get(): cleared first */
		if (le64_to_cpu(smp_load_acquire(&h->epoch)) == e &&
		    le32_to_cpu(h->magic) == VDIRT_WSET_MAGIC) {
			w = (const unsigned long *)(p + VDIRT_WSET_HDR_SIZE);
			for (i = 0; i < words; i++) {
				bits[i] |= READ_ONCE(w[i]);
				any |= !!bits[i];
			}
		}
		dm_bufio_release(b);
	}
	return any;
}

int vdirt_changed_runs(struct vdirt_dev *vd, u64 from, u64 to, u64 *pos,
		       u64 *runs, unsigned int max, unsigned long *bits)
{
	u64 blk = div_u64(*pos, VDIRT_WSET_BITS_PER_BLOCK);
	u64 base = blk * VDIRT_WSET_BITS_PER_BLOCK;
	unsigned long end, b, z;
	unsigned int n = 0;
	int r;

	if (*pos >= vd->nr_clusters)
		return 0;
	end = min_t(u64, vd->nr_clusters - base, VDIRT_WSET_BITS_PER_BLOCK);
	r = vdirt_wset_union(vd, from, to, blk, bits);
	if (r < 0)
		return r;
	b = *pos - base;
	while (r && n < max) {
		b = find_next_bit_le(bits, end, b);
		if (b >= end)
			break;
		z = find_next_zero_bit_le(bits, end, b);
		runs[2 * n] = base + b;
		runs[2 * n + 1] = z - b;
		n++;
		b = z;
	}
	*pos = n == max && b < end ? base + b : base + end;
	return n;
}

/* ---- digest history (rollback detection) ---- */

static u32 vdirt_hist_rec_size(struct vdirt_dev *vd)
{
	return VDIRT_HIST_REC_HDR + vd->digest_size;
}

static struct vdirt_disk_hist *vdirt_hist_rec(struct vdirt_dev *vd, u8 *p,
					      u32 i)
{
	return (struct vdirt_disk_hist *)(p + VDIRT_HIST_HDR_SIZE +
					  i * vdirt_hist_rec_size(vd));
}

int vdirt_hist_add(struct vdirt_dev *vd, bool nowait, u64 c,
		   const u8 *digest, u64 first, u64 last)
{
	sector_t blk = vd->layout.hist_start + div_u64(c, VDIRT_HIST_CLUSTERS);
	u32 per = vd->layout.hist_per_block, i, n;
	struct vdirt_disk_hist_hdr *h;
	struct vdirt_disk_hist *rec;
	bool added = false;
	struct dm_buffer *b;
	u8 *p;

	if (!(vd->layout.flags & VDIRT_LAYOUT_HISTORY))
		return 0;
	p = vdirt_meta_get(vd, blk, &b, nowait);
	if (IS_ERR(p))
		return PTR_ERR(p);
	h = (struct vdirt_disk_hist_hdr *)p;
	spin_lock(&vd->ep.hist_lock);
	if (le32_to_cpu(h->magic) != VDIRT_HIST_MAGIC ||
	    le32_to_cpu(h->next) >= per || le32_to_cpu(h->count) > per) {
		memset(p, 0, VDIRT_META_BLOCK_SIZE);
		h->magic = cpu_to_le32(VDIRT_HIST_MAGIC);
	}
	n = le32_to_cpu(h->count);
	/* a write retried after -EAGAIN adds its record once */
	for (i = 0; i < n; i++) {
		rec = vdirt_hist_rec(vd, p, i);
		if (le64_to_cpu(rec->cluster) == c &&
		    le32_to_cpu(rec->last_epoch) == (u32)last)
			goto unlock;
	}
	i = le32_to_cpu(h->next);
	rec = vdirt_hist_rec(vd, p, i);
	rec->cluster = cpu_to_le64(c);
	rec->first_epoch = cpu_to_le32((u32)first);
	rec->last_epoch = cpu_to_le32((u32)last);
	memcpy(rec->digest, digest, vd->digest_size);
	h->next = cpu_to_le32(i + 1 == per ? 0 : i + 1);
	if (n < per)
		h->count = cpu_to_le32(n + 1);
	added = true;
unlock:
	spin_unlock(&vd->ep.hist_lock);
	/* bufio may sleep here: not under the spinlock */
	if (added)
		vdirt_meta_mark_dirty(vd, b);
	dm_bufio_release(b);
	return 0;
}

int vdirt_hist_find(struct vdirt_dev *vd, u64 c, const u8 *digest, u64 *epoch)
{
	sector_t blk = vd->layout.hist_start + div_u64(c, VDIRT_HIST_CLUSTERS);
	u32 per = vd->layout.hist_per_block, i, n, best = 0;
	u64 oldest = vdirt_epoch_oldest(vd);
	struct vdirt_disk_hist_hdr *h;
	struct vdirt_disk_hist *rec;
	struct dm_buffer *b;
	bool found = false;
	u8 *p;

	if (!(vd->layout.flags & VDIRT_LAYOUT_HISTORY))
		return 0;
	p = vdirt_meta_read(vd, blk, &b);
	if (IS_ERR(p))
		return PTR_ERR(p);
	h = (struct vdirt_disk_hist_hdr *)p;
	spin_lock(&vd->ep.hist_lock);
	n = le32_to_cpu(h->magic) == VDIRT_HIST_MAGIC ?
	    min(le32_to_cpu(h->count), per) : 0;
	for (i = 0; i < n; i++) {
		u32 last;

		rec = vdirt_hist_rec(vd, p, i);
		last = le32_to_cpu(rec->last_epoch);
		if (le64_to_cpu(rec->cluster) != c || last < oldest ||
		    memcmp(rec->digest, digest, vd->digest_size))
			continue;
		/* the newest epoch at whose end the cluster held it */
		if (!found || last > best)
			best = last;
		found = true;
	}
	spin_unlock(&vd->ep.hist_lock);
	dm_bufio_release(b);
	*epoch = best;
	return found;
}
