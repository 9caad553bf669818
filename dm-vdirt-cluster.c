// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt cluster layer: what every engine does to a cluster.
 *
 * - range locks: per-bucket lists of in-flight cluster ranges;
 * - page bios: the device's own data bios, pages from a mempool with a
 *   short recycling list, read into and hashed;
 * - per-cluster policy: vdirt_update_cluster() (a write reached the data
 *   device) and vdirt_check_cluster() (data read from it);
 * - the digest loop, vdirt_digest_walk(): read a range into pages, hash
 *   each cluster, act on it through a callback; vdirt_measure_clusters()
 *   and vdirt_verify_clusters() are its two common uses;
 * - vdirt_digests_read(): the stored digests of a range, read under the
 *   range locks (netlink HASH_GET; the store takes no range lock).
 *
 * Calls go down only: to the store (entries, cursor, record log) and to
 * crash recovery's per-cluster hook.
 */
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/kernel.h>
#include <linux/timekeeping.h>

#include "dm-vdirt.h"

/* ---- range locks: per-bucket lists of in-flight cluster ranges ---- */

static struct vdirt_bucket *vdirt_bucket_of(struct vdirt_dev *vd, u64 first)
{
	return &vd->cl.buckets[(first >> vd->region_shift) % VDIRT_LOCK_BUCKETS];
}

static bool vdirt_overlap(const struct vdirt_range *a,
			  const struct vdirt_range *b)
{
	return a->first <= b->last && b->first <= a->last;
}

static bool vdirt_overlaps_list(const struct vdirt_range *r,
				struct list_head *head)
{
	struct vdirt_range *o;

	list_for_each_entry(o, head, node)
		if (vdirt_overlap(r, o))
			return true;
	return false;
}

/* take the range or queue it; r->grant() runs later if queued */
bool vdirt_range_trylock(struct vdirt_dev *vd, struct vdirt_range *r)
{
	struct vdirt_bucket *b = vdirt_bucket_of(vd, r->first);
	unsigned long flags;
	bool ok;

	spin_lock_irqsave(&b->lock, flags);
	ok = !vdirt_overlaps_list(r, &b->inflight) &&
	     !vdirt_overlaps_list(r, &b->waiters);
	list_add_tail(&r->node, ok ? &b->inflight : &b->waiters);
	spin_unlock_irqrestore(&b->lock, flags);
	return ok;
}

void vdirt_range_unlock(struct vdirt_dev *vd, struct vdirt_range *r)
{
	struct vdirt_bucket *b = vdirt_bucket_of(vd, r->first);
	struct vdirt_range *w, *tmp, *e;
	unsigned long flags;
	bool blocked;

	spin_lock_irqsave(&b->lock, flags);
	list_del(&r->node);
	list_for_each_entry_safe(w, tmp, &b->waiters, node) {
		if (vdirt_overlaps_list(w, &b->inflight))
			continue;
		blocked = false;
		list_for_each_entry(e, &b->waiters, node) {
			if (e == w)
				break;
			if (vdirt_overlap(e, w)) {
				blocked = true;
				break;
			}
		}
		if (blocked)
			continue;
		list_move_tail(&w->node, &b->inflight);
		w->grant(w);
	}
	spin_unlock_irqrestore(&b->lock, flags);
}

static void vdirt_sync_grant(struct vdirt_range *r)
{
	complete(r->private);
}

/* process context: wait for the range */
void vdirt_range_lock_sync(struct vdirt_dev *vd, u64 first, u64 last,
			   struct vdirt_range *r)
{
	DECLARE_COMPLETION_ONSTACK(done);

	r->first = first;
	r->last = last;
	r->grant = vdirt_sync_grant;
	r->private = &done;
	if (!vdirt_range_trylock(vd, r))
		wait_for_completion(&done);
}

/* ---- our own data bios with pages from the page mempool ---- */

/*
 * Pages of our bios go back to a short per-device free list first: a page
 * from the page allocator is zeroed (init_on_alloc) only for the copy to
 * overwrite it.  Only while the mempool's reserve is full, so that a
 * waiter in mempool_alloc() is woken by the refill as before.
 */
static void vdirt_page_put(struct vdirt_dev *vd, struct page *page)
{
	unsigned long flags;

	if (READ_ONCE(vd->cl.page_pool->curr_nr) >= vd->cl.page_pool->min_nr &&
	    READ_ONCE(vd->cl.page_free_nr) < vd->cl.page_free_max) {
		spin_lock_irqsave(&vd->cl.page_free_lock, flags);
		if (vd->cl.page_free_nr < vd->cl.page_free_max) {
			list_add(&page->lru, &vd->cl.page_free);
			WRITE_ONCE(vd->cl.page_free_nr, vd->cl.page_free_nr + 1);
			page = NULL;
		}
		spin_unlock_irqrestore(&vd->cl.page_free_lock, flags);
		if (!page)
			return;
	}
	mempool_free(page, vd->cl.page_pool);
}

static struct page *vdirt_page_get(struct vdirt_dev *vd, gfp_t gfp)
{
	struct page *page = NULL;
	unsigned long flags;

	if (READ_ONCE(vd->cl.page_free_nr)) {
		spin_lock_irqsave(&vd->cl.page_free_lock, flags);
		page = list_first_entry_or_null(&vd->cl.page_free, struct page,
						lru);
		if (page) {
			list_del(&page->lru);
			WRITE_ONCE(vd->cl.page_free_nr, vd->cl.page_free_nr - 1);
		}
		spin_unlock_irqrestore(&vd->cl.page_free_lock, flags);
		if (page)
			return page;
	}
	return mempool_alloc(vd->cl.page_pool, gfp);
}

static void vdirt_page_free_all(struct vdirt_dev *vd)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, &vd->cl.page_free, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
	vd->cl.page_free_nr = 0;
}

void vdirt_free_page_bio(struct vdirt_dev *vd, struct bio *bio)
{
	unsigned short i;

	for (i = 0; i < bio->bi_vcnt; i++)
		vdirt_page_put(vd, bio->bi_io_vec[i].bv_page);
	bio_put(bio);
}

static struct bio *vdirt_try_page_bio(struct vdirt_dev *vd, unsigned int size,
				      blk_opf_t opf, gfp_t gfp)
{
	unsigned int nr = DIV_ROUND_UP(size, PAGE_SIZE), len;
	struct page *page;
	struct bio *bio;

	bio = bio_alloc_bioset(vd->data_dev->bdev, nr, opf,
			       gfpflags_allow_blocking(gfp) ? GFP_NOIO : gfp,
			       &vd->bs);
	if (!bio)
		return NULL;
	while (size) {
		page = vdirt_page_get(vd, gfp);
		if (!page) {
			vdirt_free_page_bio(vd, bio);
			return NULL;
		}
		len = min_t(unsigned int, size, PAGE_SIZE);
		__bio_add_page(bio, page, len, 0);
		size -= len;
	}
	return bio;
}

/*
 * Allocate a bio with size bytes of pages.  Like dm-crypt: try without
 * waiting, then one allocator at a time may wait on the mempool, so two
 * half-served allocators cannot deadlock each other.
 */
struct bio *vdirt_alloc_page_bio(struct vdirt_dev *vd, unsigned int size,
				 blk_opf_t opf)
{
	struct bio *bio;

	bio = vdirt_try_page_bio(vd, size, opf, GFP_NOWAIT | __GFP_NOWARN);
	if (bio)
		return bio;
	mutex_lock(&vd->cl.page_alloc_lock);
	bio = vdirt_try_page_bio(vd, size, opf, GFP_NOIO);
	mutex_unlock(&vd->cl.page_alloc_lock);
	return bio;
}

/* the same without waiting (map): NULL when nothing is free right now */
struct bio *vdirt_alloc_page_bio_nowait(struct vdirt_dev *vd,
					unsigned int size, blk_opf_t opf)
{
	return vdirt_try_page_bio(vd, size, opf, GFP_NOWAIT | __GFP_NOWARN);
}

/* hash one cluster stored at byte offset off of a page bio */
static int vdirt_hash_page_bio(struct vdirt_dev *vd, struct bio *bio,
			       unsigned int off, u8 *out)
{
	SHASH_DESC_ON_STACK(desc, vd->tfm);
	unsigned int rem = vd->cluster_size, poff, len;
	struct page *page;
	void *p;
	int r;

	desc->tfm = vd->tfm;
	if (offset_in_page(off) + rem <= PAGE_SIZE) {
		page = bio->bi_io_vec[off >> PAGE_SHIFT].bv_page;
		p = kmap_local_page(page);
		r = crypto_shash_digest(desc, p + offset_in_page(off), rem, out);
		kunmap_local(p);
		return r;
	}
	r = crypto_shash_init(desc);
	while (!r && rem) {
		poff = offset_in_page(off);
		len = min_t(unsigned int, rem, PAGE_SIZE - poff);
		page = bio->bi_io_vec[off >> PAGE_SHIFT].bv_page;
		p = kmap_local_page(page);
		r = crypto_shash_update(desc, p + poff, len);
		kunmap_local(p);
		off += len;
		rem -= len;
	}
	if (!r)
		r = crypto_shash_final(desc, out);
	return r;
}

int vdirt_hash(struct vdirt_dev *vd, const void *data, unsigned int len,
	       u8 *out)
{
	SHASH_DESC_ON_STACK(desc, vd->tfm);

	desc->tfm = vd->tfm;
	return crypto_shash_digest(desc, data, len, out);
}

/* ---- per-cluster policy ---- */

/* what a write stores in its entry (vdirt_store_write()) */
struct vdirt_store_arg {
	const u8 *digest;	/* NULL: unknown content, unmeasured */
	bool drift;		/* the first drift from the baseline */
	bool mark;		/* a write: its epoch and time */
	u32 epoch;
	u64 now;
	u8 *base;		/* drift: the baseline digest, copied out */
};

typedef void (*vdirt_change_fn)(struct vdirt_dev *vd,
				struct vdirt_disk_entry *e, void *arg);

/*
 * Change cluster's current digest with fn (which may not sleep): in an RCU
 * read section outside any freeze of its chunk of the attestation tree (a
 * freeze waits for such sections: dm-vdirt-merkle.h), then the chunk is
 * marked changed.  A chunk frozen meanwhile is copied aside first.
 */
static int vdirt_tree_change(struct vdirt_dev *vd, u64 cluster, bool nowait,
			     struct vdirt_disk_entry *e, vdirt_change_fn fn,
			     void *arg)
{
	bool frozen;
	int r;

	for (;;) {
		rcu_read_lock();
		frozen = vdirt_merkle_frozen(vd, cluster);
		if (!frozen) {
			fn(vd, e, arg);
			vdirt_merkle_mark(vd, cluster);
		}
		rcu_read_unlock();
		if (!frozen)
			return 0;
		r = vdirt_merkle_prepare(vd, cluster, nowait);
		if (r)
			return r;
	}
}

static void vdirt_store_write(struct vdirt_dev *vd, struct vdirt_disk_entry *e,
			      void *arg)
{
	struct vdirt_store_arg *a = arg;
	bool was = e->flags & VDIRT_E_CURRENT;

	if (a->digest) {
		memcpy(vdirt_entry_current(e), a->digest, vd->digest_size);
		e->flags |= VDIRT_E_CURRENT | VDIRT_E_WRITTEN;
		e->flags &= ~VDIRT_E_MISMATCH;
		if (!was)
			atomic64_inc(&vd->cnt.measured);
		if (a->drift) {
			e->flags |= VDIRT_E_DRIFT;
			memcpy(a->base, vdirt_entry_baseline(vd, e),
			       vd->digest_size);
		}
	} else {
		memset(vdirt_entry_current(e), 0, vd->digest_size);
		e->flags &= ~(VDIRT_E_CURRENT | VDIRT_E_MISMATCH);
		e->flags |= VDIRT_E_WRITTEN;
		if (was)
			atomic64_dec(&vd->cnt.measured);
	}
	/* a first measurement found no write: no last write to name */
	if (a->mark) {
		e->write_epoch = cpu_to_le32(a->epoch);
		e->write_time_ns = cpu_to_le64(a->now);
	}
}

/* trust on first use: digest (a const u8 *) becomes the current one */
static void vdirt_store_tofu(struct vdirt_dev *vd, struct vdirt_disk_entry *e,
			     void *arg)
{
	memcpy(vdirt_entry_current(e), arg, vd->digest_size);
	e->flags |= VDIRT_E_CURRENT;
}

static sector_t vdirt_cluster_sector(struct vdirt_dev *vd, u64 cluster)
{
	return vd->ti->begin + (cluster << vd->cluster_sectors_shift);
}

/*
 * A write reached the data device: store its digest (NULL: the content is
 * unknown, e.g. discarded) and check for drift from the baseline.  op is
 * VDIRT_OP_WRITE, or VDIRT_OP_RECOVERY for a change found by recovery.
 */
int vdirt_update_cluster(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			 u64 cluster, const u8 *digest, u64 now, u8 op)
{
	u8 base[VDIRT_MAX_DIGEST_SIZE];
	struct vdirt_store_arg a = { .digest = digest, .now = now,
				     .base = base };
	struct vdirt_disk_entry *e;
	bool drift, mark = !(op & VDIRT_OP_NO_WSET);
	u64 ep;
	int r;

	/* a frozen chunk of the attestation tree is copied aside first */
	r = vdirt_merkle_prepare(vd, cluster, cur->nowait);
	if (r)
		return r;
	e = vdirt_cursor_get(vd, cur, cluster);
	if (IS_ERR(e))
		return PTR_ERR(e);
	/* an unwritten cluster's hidden entry goes; a write makes it written */
	if (vdirt_uw_hidden(vd, cluster) && vdirt_uw_scrub(vd, e))
		cur->dirty = true;
	if (digest && (op & ~VDIRT_OP_NO_WSET) == VDIRT_OP_WRITE)
		vdirt_uw_set(vd, cluster);
	drift = digest && vdirt_has_baseline(vd, e) &&
		!(e->flags & VDIRT_E_DRIFT) &&
		memcmp(vdirt_entry_baseline(vd, e), digest, vd->digest_size);
	/* a drift record cannot be appended without waiting: not in map */
	if (drift && cur->nowait)
		return -EAGAIN;
	op &= ~VDIRT_OP_NO_WSET;
	/* first write in this epoch: into its write set (may be -EAGAIN) */
	ep = op == VDIRT_OP_RECOVERY && vd->ep.recover_epoch ?
	     vd->ep.recover_epoch : READ_ONCE(vd->epoch);
	if (mark && vd->ep.wsets &&
	    (le32_to_cpu(e->write_epoch) != (u32)ep ||
	     unlikely(vdirt_unrecovered(vd, cluster)))) {
		u32 old = le32_to_cpu(e->write_epoch);

		r = 0;
		/* what it held until this epoch: for rollback detection */
		if (op == VDIRT_OP_WRITE && (e->flags & VDIRT_E_CURRENT) &&
		    old && old < (u32)ep)
			r = vdirt_hist_add(vd, cur->nowait, cluster,
					   vdirt_entry_current(e), old, ep - 1);
		if (!r)
			r = vdirt_wset_mark(vd, cur, cluster, ep);
		if (r)
			return r;
	}
	a.drift = drift;
	a.mark = mark;
	a.epoch = (u32)ep;
	r = vdirt_tree_change(vd, cluster, cur->nowait, e, vdirt_store_write,
			      &a);
	if (r)
		return r;
	cur->dirty = true;

	if (drift) {
		VDLOG(DMERR_LIMIT, vd, "write drift at cluster %llu (sector %llu)",
		      (unsigned long long)cluster,
		      (unsigned long long)vdirt_cluster_sector(vd, cluster));
		return vdirt_log_append(vd, cluster, VDIRT_KIND_WRITE_DRIFT,
					op, base, digest, NULL);
	}
	return 0;
}

/*
 * Compare the digest of data read from the data device with the expected
 * one.  trusted: the data is in our own pages.  Otherwise it is in pages
 * the reader owns and may have changed while the device wrote them (an
 * O_DIRECT buffer, a guest's memory): such a digest may confirm a match,
 * but it never becomes a cluster's digest and never makes a record; those
 * cases return VDIRT_CHECK_RECHECK, with nothing changed, for the caller to
 * read the cluster again into its own pages.  Returns VDIRT_CHECK_* or
 * -errno.
 */
int vdirt_check_cluster(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			u64 cluster, const u8 *digest, u8 op, bool trusted)
{
	u8 expected[VDIRT_MAX_DIGEST_SIZE];
	struct vdirt_disk_entry *e;
	const u8 *exp;
	int first;

	/* unwritten: zeros, whatever the data device holds; never measured */
	if (vdirt_uw_hidden(vd, cluster))
		return VDIRT_CHECK_MATCH;
	if (unlikely(vdirt_unrecovered(vd, cluster))) {
		/* crash recovery has not reached it: measure, never report */
		if (!trusted)
			return VDIRT_CHECK_RECHECK;
		atomic64_inc(&vd->rcv.on_read);
		first = vdirt_recover_cluster(vd, cur, cluster, digest,
					      ktime_get_coarse_real_ns());
		return first < 0 ? first : VDIRT_CHECK_MATCH;
	}
	e = vdirt_cursor_get(vd, cur, cluster);
	if (IS_ERR(e))
		return PTR_ERR(e);
	if (vdirt_has_baseline(vd, e) && !(e->flags & VDIRT_E_WRITTEN)) {
		exp = vdirt_entry_baseline(vd, e);
	} else if (e->flags & VDIRT_E_CURRENT) {
		exp = vdirt_entry_current(e);
	} else {
		/* trust on first use, of our own copy only */
		if (!trusted)
			return VDIRT_CHECK_RECHECK;
		first = vdirt_tree_change(vd, cluster, cur->nowait, e,
					  vdirt_store_tofu, (void *)digest);
		if (first)
			return first;
		cur->dirty = true;
		atomic64_inc(&vd->cnt.measured);
		atomic64_inc(&vd->cnt.tofu);
		return VDIRT_CHECK_MATCH;
	}
	if (!memcmp(exp, digest, vd->digest_size)) {
		atomic64_inc(&vd->cnt.reads_verified);
		return VDIRT_CHECK_MATCH;
	}
	if (!trusted)
		return VDIRT_CHECK_RECHECK;
	atomic64_inc(&vd->cnt.reads_verified);
	first = !(e->flags & VDIRT_E_MISMATCH);
	if (first) {
		e->flags |= VDIRT_E_MISMATCH;
		memcpy(expected, exp, vd->digest_size);
		cur->dirty = true;
	}

	VDLOG(DMERR_LIMIT, vd, "read mismatch at cluster %llu (sector %llu)",
	      (unsigned long long)cluster,
	      (unsigned long long)vdirt_cluster_sector(vd, cluster));
	if (first) {
		u64 aux[4] = { 0 }, old;
		u8 kind = VDIRT_KIND_READ_MISMATCH;
		int r;

		/* older content of this cluster: a rollback */
		r = vdirt_hist_find(vd, cluster, digest, &old);
		if (r < 0)
			return r;
		if (r) {
			kind = VDIRT_KIND_ROLLBACK;
			aux[VDIRT_AUX_EPOCH] = old;
			VDLOG(DMERR_LIMIT, vd, "cluster %llu holds what it held at the end of epoch %llu: rolled back",
			      (unsigned long long)cluster,
			      (unsigned long long)old);
		}
		r = vdirt_log_append(vd, cluster, kind, op, expected, digest,
				     r ? aux : NULL);
		if (r)
			return r;
	}
	return VDIRT_CHECK_MISMATCH;
}

/* ---- reading stored digests ---- */

/*
 * Both digests of clusters [first, first + n), read under the range lock of
 * each lock region they span, so that none is read while a write or a
 * baseline change of its cluster is half done.  valid[i] gets
 * VDIRT_E_CURRENT and VDIRT_E_BASELINE of the entry; a digest that is not
 * valid is returned as zeros.  cur_digests and base_digests hold
 * n * digest_size bytes.
 */
int vdirt_digests_read(struct vdirt_dev *vd, u64 first, u32 n, u8 *valid,
		       u8 *cur_digests, u8 *base_digests, u32 *epochs,
		       u64 *times)
{
	struct vdirt_cursor cur = VDIRT_CURSOR_INIT;
	unsigned int ds = vd->digest_size;
	struct vdirt_disk_entry *e;
	struct vdirt_range range;
	u64 c, last, end;
	int r = 0;

	if (first >= vd->nr_clusters || n > vd->nr_clusters - first)
		return -ERANGE;
	end = first + n;
	for (c = first; c < end && !r; ) {
		last = min(vdirt_region_first(vd, c) + vd->region_clusters,
			   end) - 1;
		vdirt_range_lock_sync(vd, c, last, &range);
		for (; c <= last; c++) {
			u64 i = c - first;

			e = vdirt_cursor_get(vd, &cur, c);
			if (IS_ERR(e)) {
				r = PTR_ERR(e);
				break;
			}
			valid[i] = e->flags & (VDIRT_E_CURRENT | VDIRT_E_BASELINE);
			epochs[i] = le32_to_cpu(e->write_epoch);
			times[i] = le64_to_cpu(e->write_time_ns);
			/* unwritten: no current digest; purged: nothing */
			if (vdirt_uw_hidden(vd, c)) {
				valid[i] &= READ_ONCE(vd->uw.purging) ? 0 :
					    VDIRT_E_BASELINE;
				if (!valid[i]) {
					epochs[i] = 0;
					times[i] = 0;
				}
			}
			if (valid[i] & VDIRT_E_CURRENT)
				memcpy(cur_digests + i * ds, vdirt_entry_current(e), ds);
			else
				memset(cur_digests + i * ds, 0, ds);
			if (valid[i] & VDIRT_E_BASELINE)
				memcpy(base_digests + i * ds,
				       vdirt_entry_baseline(vd, e), ds);
			else
				memset(base_digests + i * ds, 0, ds);
		}
		vdirt_cursor_put(vd, &cur);
		vdirt_range_unlock(vd, &range);
	}
	return r;
}

/* ---- the digest loop ---- */

/*
 * Read clusters from first on into the pages of page bio pb (from its first
 * byte, as many clusters as it holds), charged to origin's cgroup when
 * given.  pb itself is not submitted: it may still be written later.
 */
int vdirt_read_into(struct vdirt_dev *vd, struct bio *pb, u64 first,
		    struct bio *origin)
{
	struct bio *rb;
	unsigned short i;
	int r;

	rb = bio_alloc_bioset(vd->data_dev->bdev, pb->bi_vcnt, REQ_OP_READ,
			      GFP_NOIO, &vd->bs);
	for (i = 0; i < pb->bi_vcnt; i++)
		__bio_add_page(rb, pb->bi_io_vec[i].bv_page,
			       pb->bi_io_vec[i].bv_len, 0);
	rb->bi_iter.bi_sector = first << vd->cluster_sectors_shift;
	if (origin)
		bio_clone_blkg_association(rb, origin);
	r = submit_bio_wait(rb);
	bio_put(rb);
	return r;
}

int vdirt_digest_walk(struct vdirt_dev *vd, struct vdirt_digest_walk *w)
{
	struct vdirt_cursor cur = { .nowait = w->nowait };
	u8 digest[VDIRT_MAX_DIGEST_SIZE];
	struct bio *pb = w->pages;
	int r = 0;
	u64 c;

	if (!pb)
		pb = vdirt_alloc_page_bio(vd, (w->last - w->first + 1) <<
					  vd->cluster_shift, REQ_OP_READ);
	if (w->read)
		w->read_err = vdirt_read_into(vd, pb, w->first, w->origin);
	else if (!w->preread)
		w->read_err = 0;
	if (w->read_err && !w->unreadable) {
		r = w->read_err;
		goto out;
	}
	for (c = w->first; c <= w->last; c++) {
		if (w->mask && !(w->mask & BIT_ULL(c - w->first)))
			continue;
		if (!w->read_err) {
			r = vdirt_hash_page_bio(vd, pb, (c - w->first) <<
						vd->cluster_shift, digest);
			if (r) {
				vdirt_set_error(vd, "hash", r);
				break;
			}
		}
		r = w->fn(vd, &cur, c, w->read_err ? NULL : digest, w->arg);
		if (r < 0)
			break;
		r = 0;
	}
	vdirt_cursor_put(vd, &cur);
out:
	if (!w->pages)
		vdirt_free_page_bio(vd, pb);
	return r;
}

struct vdirt_measure_arg {
	u64 now;
	u8 op;
};

static int vdirt_measure_fn(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			    u64 c, const u8 *digest, void *arg)
{
	struct vdirt_measure_arg *m = arg;

	return vdirt_update_cluster(vd, cur, c, digest, m->now, m->op);
}

/*
 * Returns the first error of the walk, else the read's error (with
 * w->unreadable the clusters are then stored unmeasured).
 */
int vdirt_measure_clusters(struct vdirt_dev *vd, struct vdirt_digest_walk *w,
			   u64 now, u8 op)
{
	struct vdirt_measure_arg m = { .now = now, .op = op };
	int r;

	w->fn = vdirt_measure_fn;
	w->arg = &m;
	r = vdirt_digest_walk(vd, w);
	return r ?: w->read_err;
}

struct vdirt_verify_arg {
	u8 op;
	bool mismatch;
};

static int vdirt_verify_fn(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			   u64 c, const u8 *digest, void *arg)
{
	struct vdirt_verify_arg *v = arg;
	int r;

	r = vdirt_check_cluster(vd, cur, c, digest, v->op, true);
	if (r == VDIRT_CHECK_MISMATCH)
		v->mismatch = true;
	return r;
}

/* the pages are ours (trusted); a read error is returned, never checked */
int vdirt_verify_clusters(struct vdirt_dev *vd, struct vdirt_digest_walk *w,
			  u8 op, bool *mismatch)
{
	struct vdirt_verify_arg v = { .op = op };
	int r;

	w->unreadable = false;
	w->fn = vdirt_verify_fn;
	w->arg = &v;
	r = vdirt_digest_walk(vd, w);
	if (v.mismatch)
		*mismatch = true;
	return r;
}

/* ---- set-up and teardown ---- */

void vdirt_cluster_init(struct vdirt_dev *vd)
{
	unsigned int i;

	for (i = 0; i < VDIRT_LOCK_BUCKETS; i++) {
		spin_lock_init(&vd->cl.buckets[i].lock);
		INIT_LIST_HEAD(&vd->cl.buckets[i].inflight);
		INIT_LIST_HEAD(&vd->cl.buckets[i].waiters);
	}
	mutex_init(&vd->cl.page_alloc_lock);
	spin_lock_init(&vd->cl.page_free_lock);
	INIT_LIST_HEAD(&vd->cl.page_free);
}

/* after the options are parsed */
int vdirt_cluster_alloc(struct vdirt_dev *vd)
{
	vd->cl.page_free_max = vd->opts.val[VDIRT_OPT_PAGE_RECYCLE];
	vd->cl.page_pool = mempool_create_page_pool(BIO_MAX_VECS, 0);
	return vd->cl.page_pool ? 0 : -ENOMEM;
}

void vdirt_cluster_exit(struct vdirt_dev *vd)
{
	vdirt_page_free_all(vd);
	mempool_destroy(vd->cl.page_pool);
}
