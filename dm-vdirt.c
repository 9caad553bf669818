// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt: a device-mapper target that hashes every cluster written or
 * read, keeps the digests on a metadata device, compares reads with the
 * last write and with a baseline, and records every mismatch.
 *
 * See Documentation/dm-vdirt.rst.
 */
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "dm-vdirt.h"

#define VDIRT_VERSION_MAJOR	1
#define VDIRT_VERSION_MINOR	2
#define VDIRT_VERSION_PATCH	0

#define VDIRT_DEFAULT_CACHE_MB	32U
#define VDIRT_MAX_CACHE_MB	65536U
#define VDIRT_BIOSET_SIZE	64
/* pages kept for reuse by a device, beyond the mempool's reserve */
#define VDIRT_PAGE_FREE_MAX	256U
/* small reads and writes: see vdirt_io_queue() */
#define VDIRT_SMALL_IO_BYTES	(16U << 10)
/* small_read_cpu: where small reads are verified */
enum {
	VDIRT_READ_CPU_NEVER,	/* the unbound queue */
	VDIRT_READ_CPU_ALONE,	/* the completing CPU, if no other read is in flight */
	VDIRT_READ_CPU_ALWAYS,	/* the completing CPU */
};

/*
 * Largest bio handled as one (dm splits larger ones): each piece is hashed
 * by its own work item, so one large bio is hashed on every CPU.  0: the
 * lock region (256 KiB).  Read when a table is created.
 */
static unsigned int max_io_kb;
module_param(max_io_kb, uint, 0644);
MODULE_PARM_DESC(max_io_kb,
		 "Largest bio hashed by one work item in KiB, for devices created from now on (0: 256 KiB, the lock region)");

/* hot path choices, for devices created from now on (to compare in one boot) */
static unsigned int small_read_cpu = VDIRT_READ_CPU_ALONE;
module_param(small_read_cpu, uint, 0644);
MODULE_PARM_DESC(small_read_cpu,
		 "Verify reads of up to 16 KiB on the completing CPU: 0 never (unbound queue), 1 when no other read is in flight (default), 2 always");
static bool small_write_cpu;
module_param(small_write_cpu, bool, 0644);
MODULE_PARM_DESC(small_write_cpu,
		 "Copy and hash writes of up to 16 KiB on the submitting CPU (default N: on the unbound queue)");
static unsigned int page_recycle = VDIRT_PAGE_FREE_MAX;
module_param(page_recycle, uint, 0644);
MODULE_PARM_DESC(page_recycle,
		 "Copy pages a device keeps for reuse (default 256, at most 1024; 0: none)");
/* request flags carried from a guest write to our copy */
#define VDIRT_PASS_FLAGS	(REQ_FUA | REQ_SYNC | REQ_META | REQ_PRIO | \
				 REQ_IDLE)

enum {
	VIO_NONE = 0,		/* passed through, nothing to do */
	VIO_READ,		/* cluster aligned read: verify after the read */
	VIO_READ_PART,		/* read of part of one cluster: private copy */
	VIO_WRITE_COPY,		/* cluster aligned write, copied and hashed */
	VIO_WRITE_PART,		/* write, discard or write-zeroes of part of
				 * one cluster: read, verify, merge, write
				 */
	VIO_WRITE_PASS,		/* a partial write passed down (fail_open, the
				 * cluster could not be read): re-read after
				 */
	VIO_DISCARD,
	VIO_ZEROES,
	VIO_FLUSH,		/* empty flush: commit metadata */
};

/* vdirt_check_cluster() */
enum {
	VDIRT_CHECK_MATCH = 0,	/* matches, or measured on first use */
	VDIRT_CHECK_MISMATCH,	/* mismatch, recorded */
	VDIRT_CHECK_RECHECK,	/* untrusted data: read it again to decide */
};

enum {
	VSTAGE_MAP = 0,
	VSTAGE_SUBMIT,		/* waiting for the range lock, then submit */
	VSTAGE_COPY,		/* waiting for the worker to copy */
	VSTAGE_INFLIGHT,	/* data I/O in flight */
	VSTAGE_POST,		/* data I/O done, worker measures */
	VSTAGE_DONE,		/* completed by us */
};

DEFINE_MUTEX(vdirt_devices_lock);
LIST_HEAD(vdirt_devices);

/*
 * Serialises constructors: two tables naming the same zeroed metadata device
 * by mistake never format it at the same time.
 */
static DEFINE_MUTEX(vdirt_ctr_lock);

/*
 * A constructor (or preresume) failure with details: the details go to the
 * kernel log, the literal error is returned for ti->error.  No buffer is
 * shared: ti->error must outlive a failed constructor's context.
 */
char *vdirt_ctr_errorf(char *error, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	DMERR("%pV", &vaf);
	va_end(args);
	return error;
}

int vdirt_hash(struct vdirt_dev *vd, const void *data, unsigned int len,
	       u8 *out)
{
	SHASH_DESC_ON_STACK(desc, vd->tfm);

	desc->tfm = vd->tfm;
	return crypto_shash_digest(desc, data, len, out);
}

/* metadata I/O or hashing failed: apply the failure policy */
void vdirt_set_error(struct vdirt_dev *vd, const char *what, int err)
{
	atomic64_inc(&vd->cnt.meta_errors);
	if (vd->opt_fail_open) {
		if (cmpxchg(&vd->state, VDIRT_STATE_OK,
			    VDIRT_STATE_DEGRADED) == VDIRT_STATE_OK) {
			DMERR("%u:%u: %s failed (error %d): fail_open, measuring stopped, state=degraded",
			      MAJOR(vd->devt), MINOR(vd->devt), what, err);
			if (vd->wq)
				queue_work(vd->wq, &vd->untracked_work);
		}
	} else {
		if (xchg(&vd->state, VDIRT_STATE_FAILED) != VDIRT_STATE_FAILED)
			DMERR("%u:%u: %s failed (error %d): failing I/O, state=failed",
			      MAJOR(vd->devt), MINOR(vd->devt), what, err);
	}
}

/* ---- range locks: per-bucket lists of in-flight cluster ranges ---- */

static struct vdirt_bucket *vdirt_bucket_of(struct vdirt_dev *vd, u64 first)
{
	return &vd->buckets[(first >> vd->region_shift) % VDIRT_LOCK_BUCKETS];
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
static bool vdirt_range_trylock(struct vdirt_dev *vd, struct vdirt_range *r)
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

	if (READ_ONCE(vd->page_pool->curr_nr) >= vd->page_pool->min_nr &&
	    READ_ONCE(vd->page_free_nr) < vd->page_free_max) {
		spin_lock_irqsave(&vd->page_free_lock, flags);
		if (vd->page_free_nr < vd->page_free_max) {
			list_add(&page->lru, &vd->page_free);
			WRITE_ONCE(vd->page_free_nr, vd->page_free_nr + 1);
			page = NULL;
		}
		spin_unlock_irqrestore(&vd->page_free_lock, flags);
		if (!page)
			return;
	}
	mempool_free(page, vd->page_pool);
}

static struct page *vdirt_page_get(struct vdirt_dev *vd, gfp_t gfp)
{
	struct page *page = NULL;
	unsigned long flags;

	if (READ_ONCE(vd->page_free_nr)) {
		spin_lock_irqsave(&vd->page_free_lock, flags);
		page = list_first_entry_or_null(&vd->page_free, struct page,
						lru);
		if (page) {
			list_del(&page->lru);
			WRITE_ONCE(vd->page_free_nr, vd->page_free_nr - 1);
		}
		spin_unlock_irqrestore(&vd->page_free_lock, flags);
		if (page)
			return page;
	}
	return mempool_alloc(vd->page_pool, gfp);
}

static void vdirt_page_free_all(struct vdirt_dev *vd)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, &vd->page_free, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
	vd->page_free_nr = 0;
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

	bio = bio_alloc_bioset(vd->data_dev->bdev, nr, opf, GFP_NOIO, &vd->bs);
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
static struct bio *vdirt_alloc_page_bio(struct vdirt_dev *vd,
					unsigned int size, blk_opf_t opf)
{
	struct bio *bio;

	bio = vdirt_try_page_bio(vd, size, opf, GFP_NOWAIT | __GFP_NOWARN);
	if (bio)
		return bio;
	mutex_lock(&vd->page_alloc_lock);
	bio = vdirt_try_page_bio(vd, size, opf, GFP_NOIO);
	mutex_unlock(&vd->page_alloc_lock);
	return bio;
}

/* hash one cluster stored at byte offset off of a page bio */
int vdirt_hash_page_bio(struct vdirt_dev *vd, struct bio *bio,
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

/* read clusters [first, last] from the data device into a page bio */
struct bio *vdirt_read_clusters(struct vdirt_dev *vd, u64 first, u64 last,
				int *err)
{
	struct bio *bio;

	bio = vdirt_alloc_page_bio(vd, (last - first + 1) << vd->cluster_shift,
				   REQ_OP_READ);
	bio->bi_iter.bi_sector = first << vd->cluster_sectors_shift;
	*err = submit_bio_wait(bio);
	if (*err) {
		vdirt_free_page_bio(vd, bio);
		return NULL;
	}
	return bio;
}

/* ---- per-cluster measurement logic ---- */

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
	struct vdirt_disk_entry *e;
	bool was, drift = false;

	e = vdirt_cursor_get(vd, cur, cluster);
	if (IS_ERR(e))
		return PTR_ERR(e);
	was = e->flags & VDIRT_E_CURRENT;
	if (digest) {
		memcpy(vdirt_entry_current(e), digest, vd->digest_size);
		e->flags |= VDIRT_E_CURRENT | VDIRT_E_WRITTEN;
		e->flags &= ~VDIRT_E_MISMATCH;
		if (!was)
			atomic64_inc(&vd->cnt.measured);
		if (vdirt_has_baseline(vd, e) &&
		    !(e->flags & VDIRT_E_DRIFT) &&
		    memcmp(vdirt_entry_baseline(vd, e), digest,
			   vd->digest_size)) {
			e->flags |= VDIRT_E_DRIFT;
			memcpy(base, vdirt_entry_baseline(vd, e),
			       vd->digest_size);
			drift = true;
		}
	} else {
		memset(vdirt_entry_current(e), 0, vd->digest_size);
		e->flags &= ~(VDIRT_E_CURRENT | VDIRT_E_MISMATCH);
		e->flags |= VDIRT_E_WRITTEN;
		if (was)
			atomic64_dec(&vd->cnt.measured);
	}
	e->write_epoch = cpu_to_le32((u32)vd->epoch);
	e->write_time_ns = cpu_to_le64(now);
	cur->dirty = true;

	if (drift) {
		DMERR_LIMIT("%u:%u: write drift at cluster %llu (sector %llu)",
			    MAJOR(vd->devt), MINOR(vd->devt),
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
static int vdirt_check_cluster(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			       u64 cluster, const u8 *digest, u8 op,
			       bool trusted)
{
	u8 expected[VDIRT_MAX_DIGEST_SIZE];
	struct vdirt_disk_entry *e;
	const u8 *exp;
	int first;

	if (unlikely(vdirt_unrecovered(vd, cluster))) {
		/* crash recovery has not reached it: measure, never report */
		if (!trusted)
			return VDIRT_CHECK_RECHECK;
		atomic64_inc(&vd->rcv.on_read);
		first = vdirt_recover_cluster(vd, cur, cluster, digest,
					      ktime_get_real_ns());
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
		memcpy(vdirt_entry_current(e), digest, vd->digest_size);
		e->flags |= VDIRT_E_CURRENT;
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

	DMERR_LIMIT("%u:%u: read mismatch at cluster %llu (sector %llu)",
		    MAJOR(vd->devt), MINOR(vd->devt),
		    (unsigned long long)cluster,
		    (unsigned long long)vdirt_cluster_sector(vd, cluster));
	if (first) {
		int r = vdirt_log_append(vd, cluster,
					 VDIRT_KIND_READ_MISMATCH, op,
					 expected, digest, NULL);
		if (r)
			return r;
	}
	return VDIRT_CHECK_MISMATCH;
}

/*
 * Read clusters from first on into the pages of page bio pb (from its first
 * byte, as many clusters as it holds), charged to origin's cgroup when
 * given.  pb itself is not submitted: it may still be written later.
 */
static int vdirt_read_into(struct vdirt_dev *vd, struct bio *pb, u64 first,
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

/*
 * Verify clusters [first, last] that we read ourselves into page bio pb
 * (cluster first at byte 0).  *mismatch is set if one mismatched (each
 * mismatch is recorded).  Returns 0 or -errno.
 */
static int vdirt_verify_pages(struct vdirt_dev *vd, struct bio *pb, u64 first,
			      u64 last, u8 op, bool *mismatch)
{
	struct vdirt_cursor cur = VDIRT_CURSOR_INIT;
	u8 digest[VDIRT_MAX_DIGEST_SIZE];
	int r = 0;
	u64 c;

	for (c = first; c <= last; c++) {
		r = vdirt_hash_page_bio(vd, pb, (c - first) << vd->cluster_shift,
					digest);
		if (r) {
			vdirt_set_error(vd, "hash", r);
			break;
		}
		r = vdirt_check_cluster(vd, &cur, c, digest, op, true);
		if (r < 0)
			break;
		if (r == VDIRT_CHECK_MISMATCH)
			*mismatch = true;
		r = 0;
	}
	vdirt_cursor_put(vd, &cur);
	return r;
}

/* re-read clusters [first, last] and store their digests */
static int vdirt_remeasure(struct vdirt_dev *vd, u64 first, u64 last, u64 now)
{
	struct vdirt_cursor cur = VDIRT_CURSOR_INIT;
	u8 digest[VDIRT_MAX_DIGEST_SIZE];
	struct bio *bio;
	int r, err;
	u64 c;

	bio = vdirt_read_clusters(vd, first, last, &err);
	for (c = first; c <= last; c++) {
		if (bio) {
			r = vdirt_hash_page_bio(vd, bio,
						(c - first) << vd->cluster_shift,
						digest);
			if (r) {
				vdirt_set_error(vd, "hash", r);
				break;
			}
		}
		/* content unknown after a failed re-read: unmeasured */
		r = vdirt_update_cluster(vd, &cur, c, bio ? digest : NULL, now,
					 VDIRT_OP_WRITE);
		if (r)
			break;
	}
	vdirt_cursor_put(vd, &cur);
	if (bio)
		vdirt_free_page_bio(vd, bio);
	return err;
}

/* ---- bio processing ---- */

static struct bio *vdirt_io_bio(struct vdirt_io *io)
{
	return dm_bio_from_per_bio_data(io, sizeof(*io));
}

static void vdirt_io_complete(struct vdirt_io *io)
{
	struct bio *bio = vdirt_io_bio(io);

	if (io->intent)
		vdirt_intent_put(io);
	if (io->locked) {
		io->locked = false;
		vdirt_range_unlock(io->vd, &io->range);
	}
	if (!io->status && READ_ONCE(io->vd->state) == VDIRT_STATE_FAILED)
		io->status = BLK_STS_IOERR;
	io->stage = VSTAGE_DONE;
	bio->bi_status = io->status;
	bio_endio(bio);
}

static bool vdirt_measuring(struct vdirt_dev *vd)
{
	return READ_ONCE(vd->state) == VDIRT_STATE_OK;
}

static void vdirt_zero_bio_data(struct vdirt_io *io)
{
	struct bio *bio = vdirt_io_bio(io);
	struct bvec_iter iter;
	struct bio_vec bv;

	__bio_for_each_segment(bv, bio, iter, io->iter)
		memzero_bvec(&bv);
}

/*
 * The clusters of a completed aligned read whose digest from the reader's
 * pages did not decide (bit i: cluster io->range.first + i): read them again
 * into our own pages and check that copy, so that a reader changing its own
 * buffer during the read can neither forge a mismatch nor plant a digest.
 */
static int vdirt_recheck_read(struct vdirt_io *io, u64 suspects,
			      bool *mismatch)
{
	struct vdirt_cursor cur = VDIRT_CURSOR_INIT;
	struct vdirt_dev *vd = io->vd;
	u8 digest[VDIRT_MAX_DIGEST_SIZE];
	unsigned int lo = __ffs64(suspects), hi = fls64(suspects) - 1, i;
	struct bio *pb;
	int r;

	pb = vdirt_alloc_page_bio(vd, (hi - lo + 1) << vd->cluster_shift,
				  REQ_OP_READ);
	r = vdirt_read_into(vd, pb, io->range.first + lo, vdirt_io_bio(io));
	for (i = lo; !r && i <= hi; i++) {
		if (!(suspects & BIT_ULL(i)))
			continue;
		r = vdirt_hash_page_bio(vd, pb, (i - lo) << vd->cluster_shift,
					digest);
		if (r) {
			vdirt_set_error(vd, "hash", r);
			break;
		}
		r = vdirt_check_cluster(vd, &cur, io->range.first + i, digest,
					VDIRT_OP_READ, true);
		if (r == VDIRT_CHECK_MISMATCH)
			*mismatch = true;
		if (r > 0)
			r = 0;
	}
	vdirt_cursor_put(vd, &cur);
	vdirt_free_page_bio(vd, pb);
	return r;
}

/*
 * Verify the clusters of a completed aligned read by hashing the reader's
 * pages; what that cannot decide goes to vdirt_recheck_read().  A read is
 * at most one lock region (max_io_len), so at most 64 clusters.
 */
static int vdirt_verify_read_aligned(struct vdirt_io *io, bool *mismatch)
{
	struct vdirt_cursor cur = VDIRT_CURSOR_INIT;
	struct vdirt_dev *vd = io->vd;
	struct bio *bio = vdirt_io_bio(io);
	SHASH_DESC_ON_STACK(desc, vd->tfm);
	u8 digest[VDIRT_MAX_DIGEST_SIZE];
	unsigned int done = 0, pos, len;
	u64 c = io->range.first, suspects = 0;
	struct bvec_iter iter;
	struct bio_vec bv;
	void *p;
	int r;

	BUILD_BUG_ON(VDIRT_REGION_MAX_CLUSTERS > 64);
	desc->tfm = vd->tfm;
	r = crypto_shash_init(desc);
	if (r)
		goto hash_err;
	__bio_for_each_segment(bv, bio, iter, io->iter) {
		for (pos = 0; pos < bv.bv_len; pos += len) {
			len = min(bv.bv_len - pos, vd->cluster_size - done);
			p = bvec_kmap_local(&bv);
			r = crypto_shash_update(desc, p + pos, len);
			kunmap_local(p);
			if (r)
				goto hash_err;
			done += len;
			if (done < vd->cluster_size)
				continue;
			r = crypto_shash_final(desc, digest);
			if (r)
				goto hash_err;
			r = vdirt_check_cluster(vd, &cur, c, digest,
						VDIRT_OP_READ, false);
			if (r < 0)
				goto out;
			if (r == VDIRT_CHECK_RECHECK)
				suspects |= BIT_ULL(c - io->range.first);
			c++;
			done = 0;
			r = crypto_shash_init(desc);
			if (r)
				goto hash_err;
		}
	}
	vdirt_cursor_put(vd, &cur);
	return suspects ? vdirt_recheck_read(io, suspects, mismatch) : 0;
hash_err:
	vdirt_set_error(vd, "hash", r);
out:
	vdirt_cursor_put(vd, &cur);
	return r;
}

static bool vdirt_iter_aligned(struct vdirt_dev *vd, struct bvec_iter *iter)
{
	u32 mask = vd->cluster_size - 1;

	return !((iter->bi_sector << SECTOR_SHIFT) & mask) &&
	       !(iter->bi_size & mask);
}

/* byte offset of a partial-cluster bio inside its cluster */
static unsigned int vdirt_io_offset(struct vdirt_io *io)
{
	return (io->iter.bi_sector << SECTOR_SHIFT) &
	       (io->vd->cluster_size - 1);
}

/* copy between the guest's bio (at iter) and page bio pb from byte off */
static void vdirt_copy_bio(struct bio *pb, unsigned int off, struct bio *bio,
			   struct bvec_iter start, bool to_pb)
{
	unsigned int pos, len, poff;
	struct bvec_iter iter;
	struct bio_vec bv;
	void *g, *p;

	__bio_for_each_segment(bv, bio, iter, start) {
		for (pos = 0; pos < bv.bv_len; pos += len) {
			poff = offset_in_page(off);
			len = min_t(unsigned int, bv.bv_len - pos,
				    PAGE_SIZE - poff);
			g = bvec_kmap_local(&bv);
			p = kmap_local_page(pb->bi_io_vec[off >>
						PAGE_SHIFT].bv_page);
			if (to_pb)
				memcpy(p + poff, g + pos, len);
			else
				memcpy(g + pos, p + poff, len);
			kunmap_local(p);
			kunmap_local(g);
			off += len;
		}
	}
}

/* zero len bytes of page bio pb from byte off */
static void vdirt_zero_pages(struct bio *pb, unsigned int off,
			     unsigned int len)
{
	unsigned int n;

	for (; len; off += n, len -= n) {
		n = min_t(unsigned int, len, PAGE_SIZE - offset_in_page(off));
		memzero_page(pb->bi_io_vec[off >> PAGE_SHIFT].bv_page,
			     offset_in_page(off), n);
	}
}

/* a mismatch is durable before the I/O that found it completes */
static void vdirt_sync_records(struct vdirt_io *io)
{
	struct vdirt_dev *vd = io->vd;

	if (vdirt_records_unsynced(vd) && vdirt_commit(vd) &&
	    !vd->opt_fail_open)
		io->status = BLK_STS_IOERR;
}

static void vdirt_post_read(struct vdirt_io *io)
{
	struct vdirt_dev *vd = io->vd;
	bool mismatch = false;
	int r;

	if (io->status || !vdirt_measuring(vd))
		goto out;
	r = vdirt_verify_read_aligned(io, &mismatch);
	if (r && !vd->opt_fail_open)
		io->status = BLK_STS_IOERR;
	if (mismatch && READ_ONCE(vd->enforce)) {
		vdirt_zero_bio_data(io);
		io->status = BLK_STS_IOERR;
	}
	vdirt_sync_records(io);
out:
	atomic_dec(&vd->reads);
	vdirt_io_complete(io);
}

/*
 * A read of part of a cluster: the whole cluster is read into our pages
 * and verified there, and the guest gets its part of that same copy, so
 * what was verified is what the guest receives.
 */
static void vdirt_read_part(struct vdirt_io *io)
{
	struct vdirt_dev *vd = io->vd;
	struct bio *bio = vdirt_io_bio(io);
	bool mismatch = false;
	struct bio *pb;
	int r;

	pb = vdirt_alloc_page_bio(vd, vd->cluster_size, REQ_OP_READ);
	r = vdirt_read_into(vd, pb, io->range.first, bio);
	if (r) {
		io->status = errno_to_blk_status(r);
		goto out;
	}
	if (vdirt_measuring(vd)) {
		r = vdirt_verify_pages(vd, pb, io->range.first,
				       io->range.first, VDIRT_OP_READ,
				       &mismatch);
		if (r && !vd->opt_fail_open)
			io->status = BLK_STS_IOERR;
		if (mismatch && READ_ONCE(vd->enforce))
			io->status = BLK_STS_IOERR;
		vdirt_sync_records(io);
	}
	if (!io->status)
		vdirt_copy_bio(pb, vdirt_io_offset(io), bio, io->iter, false);
out:
	vdirt_free_page_bio(vd, pb);
	vdirt_io_complete(io);
}

static bool vdirt_needs_commit(struct bio *bio)
{
	return bio->bi_opf & (REQ_FUA | REQ_PREFLUSH);
}

static void vdirt_finish_write(struct vdirt_io *io)
{
	struct vdirt_dev *vd = io->vd;

	if (!io->status && (vdirt_needs_commit(vdirt_io_bio(io)) ||
			    vdirt_records_unsynced(vd)) &&
	    vdirt_commit(vd) && !vd->opt_fail_open)
		io->status = BLK_STS_IOERR;
	vdirt_io_complete(io);
}

/*
 * Our copy of a write (a whole-cluster write, or a merged partial one)
 * completed with an error, or it needs a commit (FUA): runs in the worker.
 * The digests were stored before the copy was submitted; after an error the
 * data on disk is unknown, so the clusters are measured again from the device.
 */
static void vdirt_post_write_copy(struct vdirt_io *io)
{
	struct vdirt_dev *vd = io->vd;

	if (io->status && vdirt_measuring(vd))
		vdirt_remeasure(vd, io->range.first, io->range.last,
				ktime_get_real_ns());
	vdirt_finish_write(io);
}

/*
 * A discard or write-zeroes of whole clusters (vdirt_map() splits off the
 * partial ones), or a VIO_WRITE_PASS write, completed on the data device.
 */
static void vdirt_post_write_pass(struct vdirt_io *io)
{
	struct vdirt_cursor cur = VDIRT_CURSOR_INIT;
	struct vdirt_dev *vd = io->vd;
	u64 c, now = ktime_get_real_ns();
	int r = 0;

	if (!vdirt_measuring(vd))
		goto out;
	if (io->status || io->kind == VIO_WRITE_PASS) {
		/* the content is unknown: measure it (unmeasured if unreadable) */
		r = vdirt_remeasure(vd, io->range.first, io->range.last, now);
		if (r && !io->status && !vd->opt_fail_open)
			io->status = errno_to_blk_status(r);
		goto out;
	}
	for (c = io->range.first; c <= io->range.last && !r; c++)
		r = vdirt_update_cluster(vd, &cur, c,
					 io->kind == VIO_DISCARD ? NULL :
					 vd->zero_digest, now, VDIRT_OP_WRITE);
	vdirt_cursor_put(vd, &cur);
	if (r && !vd->opt_fail_open)
		io->status = BLK_STS_IOERR;
out:
	vdirt_finish_write(io);
}

static void vdirt_post_flush(struct vdirt_io *io)
{
	struct vdirt_dev *vd = io->vd;

	if (!io->status && vdirt_commit(vd) && !vd->opt_fail_open)
		io->status = BLK_STS_IOERR;
	vdirt_io_complete(io);
}

/*
 * Hand a bio's next stage to a worker.  A small aligned read is verified,
 * and with small_write_cpu a small aligned write copied and hashed, on the
 * CPU that queues it: the hash is short, the data is in that CPU's cache,
 * and no other CPU is woken.  That wins for one read at a time; with more
 * reads in flight, one CPU (the one taking the completions) would hash them
 * all, so unless small_read_cpu is 2 they go to the unbound queue and every
 * CPU hashes.  Everything else goes to the unbound queue.
 */
void vdirt_io_queue(struct vdirt_io *io)
{
	struct vdirt_dev *vd = io->vd;
	bool local;

	local = io->iter.bi_size <= VDIRT_SMALL_IO_BYTES &&
		((io->kind == VIO_READ && vd->small_read_cpu &&
		  vdirt_iter_aligned(vd, &io->iter) &&
		  (io->alone || vd->small_read_cpu == VDIRT_READ_CPU_ALWAYS)) ||
		 (io->kind == VIO_WRITE_COPY && vd->small_write_cpu &&
		  io->stage == VSTAGE_COPY));
	queue_work(local ? vd->cpu_wq : vd->wq, &io->work);
}

/* any context: complete the guest's write unless more work is needed */
static void vdirt_clone_endio(struct bio *clone)
{
	struct vdirt_io *io = clone->bi_private;
	struct vdirt_dev *vd = io->vd;

	io->status = clone->bi_status;
	io->clone = NULL;
	vdirt_free_page_bio(vd, clone);
	if (unlikely(io->status || vdirt_needs_commit(vdirt_io_bio(io)) ||
		     vdirt_records_unsynced(vd))) {
		io->stage = VSTAGE_POST;
		queue_work(vd->wq, &io->work);
		return;
	}
	vdirt_io_complete(io);
}

/* hash our copy cluster by cluster and store the digests */
static int vdirt_measure_copy(struct vdirt_io *io, struct bio *clone)
{
	struct vdirt_cursor cur = VDIRT_CURSOR_INIT;
	struct vdirt_dev *vd = io->vd;
	u8 digest[VDIRT_MAX_DIGEST_SIZE];
	u64 c, now = ktime_get_real_ns();
	int r = 0;

	for (c = io->range.first; c <= io->range.last; c++) {
		r = vdirt_hash_page_bio(vd, clone,
					(c - io->range.first) <<
					vd->cluster_shift, digest);
		if (r) {
			vdirt_set_error(vd, "hash", r);
			break;
		}
		r = vdirt_update_cluster(vd, &cur, c, digest, now,
					 VDIRT_OP_WRITE);
		if (r)
			break;
	}
	vdirt_cursor_put(vd, &cur);
	return r;
}

/*
 * Measure our copy pb of the guest's write and write it: the guest's bio
 * completes when the copy does (vdirt_clone_endio()).  The copy is
 * stable: its digests are stored now, before it is written, so the write
 * completes without another trip through the worker.  Readers of these
 * clusters wait on the range lock.
 */
static void vdirt_submit_copy(struct vdirt_io *io, struct bio *pb)
{
	struct vdirt_dev *vd = io->vd;
	struct bio *bio = vdirt_io_bio(io);

	if (vdirt_measuring(vd) && vdirt_measure_copy(io, pb) &&
	    !vd->opt_fail_open) {
		vdirt_free_page_bio(vd, pb);
		io->status = BLK_STS_IOERR;
		vdirt_io_complete(io);
		return;
	}

	pb->bi_iter.bi_sector = io->range.first << io->vd->cluster_sectors_shift;
	pb->bi_ioprio = bio->bi_ioprio;
	pb->bi_end_io = vdirt_clone_endio;
	pb->bi_private = io;
	bio_clone_blkg_association(pb, bio);
	io->clone = pb;
	io->stage = VSTAGE_INFLIGHT;
	dm_submit_bio_remap(bio, pb);
}

/* copy a cluster-aligned write into our pages and write the copy */
static void vdirt_write_copy(struct vdirt_io *io)
{
	struct vdirt_dev *vd = io->vd;
	struct bio *bio = vdirt_io_bio(io);
	struct bio *clone;

	clone = vdirt_alloc_page_bio(vd, bio->bi_iter.bi_size,
				     REQ_OP_WRITE |
				     (bio->bi_opf & VDIRT_PASS_FLAGS));
	vdirt_copy_bio(clone, 0, bio, bio->bi_iter, true);
	vdirt_submit_copy(io, clone);
}

/*
 * A write, discard or write-zeroes of part of one cluster is a
 * read-verify-modify-write of the whole cluster in our pages: the cluster
 * is read and checked against its expected digest (a mismatch is recorded
 * with op=write; in enforce mode the write fails and nothing is written),
 * the guest's sectors (or zeros) are merged into that copy, and the merged
 * cluster is hashed and written.  So the digest is of the bytes sent, and
 * nothing found underneath is ever adopted without a check.
 */
static void vdirt_write_part(struct vdirt_io *io)
{
	struct vdirt_dev *vd = io->vd;
	struct bio *bio = vdirt_io_bio(io);
	bool mismatch = false;
	struct bio *pb;
	int r;

	pb = vdirt_alloc_page_bio(vd, vd->cluster_size, REQ_OP_WRITE |
				  (bio->bi_opf & VDIRT_PASS_FLAGS));
	r = vdirt_read_into(vd, pb, io->range.first, bio);
	if (r) {
		vdirt_free_page_bio(vd, pb);
		if (vd->opt_fail_open) {
			/* availability first: write the guest's sectors */
			io->kind = VIO_WRITE_PASS;
			io->stage = VSTAGE_INFLIGHT;
			dm_submit_bio_remap(bio, NULL);
			return;
		}
		io->status = errno_to_blk_status(r);
		vdirt_io_complete(io);
		return;
	}
	if (vdirt_measuring(vd)) {
		r = vdirt_verify_pages(vd, pb, io->range.first,
				       io->range.first, VDIRT_OP_WRITE,
				       &mismatch);
		if ((r && !vd->opt_fail_open) ||
		    (mismatch && READ_ONCE(vd->enforce)))
			io->status = BLK_STS_IOERR;
	}
	if (io->status) {
		vdirt_free_page_bio(vd, pb);
		vdirt_sync_records(io);
		vdirt_io_complete(io);
		return;
	}
	if (bio_op(bio) == REQ_OP_WRITE)
		vdirt_copy_bio(pb, vdirt_io_offset(io), bio, io->iter, true);
	else
		vdirt_zero_pages(pb, vdirt_io_offset(io), io->iter.bi_size);
	vdirt_submit_copy(io, pb);
}

static void vdirt_post(struct vdirt_io *io)
{
	switch (io->kind) {
	case VIO_READ:
		vdirt_post_read(io);
		break;
	case VIO_WRITE_COPY:
	case VIO_WRITE_PART:
		vdirt_post_write_copy(io);
		break;
	case VIO_FLUSH:
		vdirt_post_flush(io);
		break;
	default:
		vdirt_post_write_pass(io);
		break;
	}
}

/* the bio changes the data device (needs its intent bit first) */
static bool vdirt_io_writes(struct vdirt_io *io)
{
	return io->kind != VIO_READ && io->kind != VIO_READ_PART;
}

static void vdirt_io_work(struct work_struct *work)
{
	struct vdirt_io *io = container_of(work, struct vdirt_io, work);

	if (vdirt_io_writes(io) &&
	    (io->stage == VSTAGE_SUBMIT || io->stage == VSTAGE_COPY)) {
		if (unlikely(READ_ONCE(io->vd->state) == VDIRT_STATE_FAILED)) {
			io->status = BLK_STS_IOERR;	/* fail-closed */
			vdirt_io_complete(io);
			return;
		}
		if (!vdirt_intent_get(io))
			return;	/* queued until its region's bit is durable */
	}
	switch (io->stage) {
	case VSTAGE_SUBMIT:
		io->stage = VSTAGE_INFLIGHT;
		dm_submit_bio_remap(vdirt_io_bio(io), NULL);
		break;
	case VSTAGE_COPY:
		if (io->kind == VIO_WRITE_COPY)
			vdirt_write_copy(io);
		else if (io->kind == VIO_WRITE_PART)
			vdirt_write_part(io);
		else
			vdirt_read_part(io);
		break;
	case VSTAGE_POST:
		vdirt_post(io);
		break;
	default:
		WARN_ON_ONCE(1);
	}
}

/* a bio waiting for its range got it: continue in the worker */
static void vdirt_io_grant(struct vdirt_range *r)
{
	vdirt_io_queue(container_of(r, struct vdirt_io, range));
}

/*
 * Split a bio that covers part of a cluster at the cluster boundaries, so
 * that the partial part is a bio of its own, inside one cluster: an
 * unaligned head ends at the first boundary, an aligned bio with an
 * unaligned tail ends at the last one (dm maps the rest as a new bio).
 */
static void vdirt_split_partial(struct vdirt_dev *vd, struct bio *bio)
{
	sector_t mask = (1U << vd->cluster_sectors_shift) - 1;
	sector_t start = bio->bi_iter.bi_sector, end = bio_end_sector(bio);

	if (!mask || (bio->bi_opf & REQ_PREFLUSH))
		return;
	if (start & mask) {
		if (end > (start | mask) + 1)
			dm_accept_partial_bio(bio, (start | mask) + 1 - start);
	} else if ((end & mask) && end - start > mask + 1) {
		dm_accept_partial_bio(bio, (end & ~mask) - start);
	}
}

static int vdirt_map(struct dm_target *ti, struct bio *bio)
{
	struct vdirt_dev *vd = ti->private;
	struct vdirt_io *io = dm_per_bio_data(bio, sizeof(*io));
	int state = READ_ONCE(vd->state);
	sector_t sector, region_end, region_sectors;
	bool pass, aligned;

	io->vd = vd;
	io->kind = VIO_NONE;
	io->stage = VSTAGE_MAP;
	io->locked = false;
	io->intent = false;
	io->alone = false;
	io->clone = NULL;
	io->status = BLK_STS_OK;

	if (unlikely(state == VDIRT_STATE_FAILED))
		return DM_MAPIO_KILL;
	bio_set_dev(bio, vd->data_dev->bdev);
	if (unlikely(!bio_sectors(bio))) {
		if ((bio->bi_opf & REQ_PREFLUSH) && state == VDIRT_STATE_OK) {
			io->kind = VIO_FLUSH;
			INIT_WORK(&io->work, vdirt_io_work);
		}
		return DM_MAPIO_REMAPPED;
	}
	sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	bio->bi_iter.bi_sector = sector;
	if (unlikely(state != VDIRT_STATE_OK))
		return DM_MAPIO_REMAPPED;

	/* discards and write-zeroes may cross a lock region: split them */
	region_sectors = (sector_t)vd->region_clusters <<
			 vd->cluster_sectors_shift;
	region_end = (sector | (region_sectors - 1)) + 1;
	if (unlikely(bio_end_sector(bio) > region_end) &&
	    !(bio->bi_opf & REQ_PREFLUSH))
		dm_accept_partial_bio(bio, region_end - sector);
	if (bio_op(bio) == REQ_OP_READ && vd->opt_no_read_verify)
		return DM_MAPIO_REMAPPED;
	vdirt_split_partial(vd, bio);
	aligned = vdirt_iter_aligned(vd, &bio->bi_iter);

	switch (bio_op(bio)) {
	case REQ_OP_READ:
		io->kind = aligned ? VIO_READ : VIO_READ_PART;
		break;
	case REQ_OP_WRITE:
		io->kind = aligned ? VIO_WRITE_COPY : VIO_WRITE_PART;
		break;
	case REQ_OP_DISCARD:
		io->kind = aligned ? VIO_DISCARD : VIO_WRITE_PART;
		break;
	case REQ_OP_WRITE_ZEROES:
		io->kind = aligned ? VIO_ZEROES : VIO_WRITE_PART;
		break;
	default:
		return DM_MAPIO_KILL;
	}
	pass = io->kind == VIO_READ || io->kind == VIO_DISCARD ||
	       io->kind == VIO_ZEROES;
	if (!aligned && (bio_op(bio) == REQ_OP_READ ||
			 bio_op(bio) == REQ_OP_WRITE))
		atomic64_inc(&vd->cnt.unaligned);

	if (io->kind == VIO_READ)
		atomic_inc(&vd->reads);
	io->iter = bio->bi_iter;
	INIT_WORK(&io->work, vdirt_io_work);
	io->range.first = sector >> vd->cluster_sectors_shift;
	io->range.last = (bio_end_sector(bio) - 1) >> vd->cluster_sectors_shift;
	io->range.grant = vdirt_io_grant;
	io->range.private = NULL;
	io->stage = pass ? VSTAGE_SUBMIT : VSTAGE_COPY;
	io->locked = true;
	if (!vdirt_range_trylock(vd, &io->range))
		return DM_MAPIO_SUBMITTED;	/* granted later */
	if (vdirt_io_writes(io) && !vdirt_intent_get(io))
		return DM_MAPIO_SUBMITTED;	/* when the intent bit is durable */
	if (pass) {
		io->stage = VSTAGE_INFLIGHT;
		return DM_MAPIO_REMAPPED;
	}
	vdirt_io_queue(io);
	return DM_MAPIO_SUBMITTED;
}

static int vdirt_end_io(struct dm_target *ti, struct bio *bio,
			blk_status_t *error)
{
	struct vdirt_io *io = dm_per_bio_data(bio, sizeof(*io));

	if (io->kind == VIO_NONE || io->stage == VSTAGE_DONE)
		return DM_ENDIO_DONE;
	/* data I/O done: measure or verify in process context */
	io->status = *error;
	io->stage = VSTAGE_POST;
	if (io->kind == VIO_READ)
		io->alone = atomic_read(&io->vd->reads) == 1;
	vdirt_io_queue(io);
	return DM_ENDIO_INCOMPLETE;
}

/* ---- background scan ---- */

/*
 * The scan keeps a few lock regions in flight, each read, hashed and
 * checked by its own work item on the unbound system queue: one region's
 * read overlaps others' hashing, and every CPU hashes.
 */
#define VDIRT_SCAN_MAX_INFLIGHT	8U

static unsigned int scan_depth;
module_param(scan_depth, uint, 0644);
MODULE_PARM_DESC(scan_depth,
		 "Regions a scan keeps in flight (default 0: two per CPU, at most 8; 1: one at a time)");

struct vdirt_scan_item {
	struct work_struct work;
	struct completion done;
	struct vdirt_dev *vd;
	u64 first;
	u64 last;
	int r;			/* < 0: stop the scan */
};

static void vdirt_scan_region(struct work_struct *work)
{
	struct vdirt_scan_item *it = container_of(work, struct vdirt_scan_item,
						  work);
	struct vdirt_dev *vd = it->vd;
	struct vdirt_range range;
	bool mismatch = false;
	struct bio *bio;
	int r = 0, err;

	vdirt_range_lock_sync(vd, it->first, it->last, &range);
	bio = vdirt_read_clusters(vd, it->first, it->last, &err);
	if (bio) {
		r = vdirt_verify_pages(vd, bio, it->first, it->last,
				       VDIRT_OP_SCAN, &mismatch);
		vdirt_free_page_bio(vd, bio);
	} else {
		DMERR_LIMIT("%u:%u: scan: read error %d at cluster %llu",
			    MAJOR(vd->devt), MINOR(vd->devt), err,
			    (unsigned long long)it->first);
	}
	vdirt_range_unlock(vd, &range);
	if (!r && vdirt_records_unsynced(vd))
		vdirt_commit(vd);
	it->r = r;
	complete(&it->done);
}

static void vdirt_scan_work(struct work_struct *work)
{
	struct vdirt_dev *vd = container_of(work, struct vdirt_dev, scan_work);
	unsigned int n, i, slot = 0, busy = 0, oldest;
	struct vdirt_scan_item *items;
	u64 pos = 0, next = 0;
	bool stop = false;

	n = READ_ONCE(scan_depth) ?: 2 * num_online_cpus();
	n = clamp(n, 1U, VDIRT_SCAN_MAX_INFLIGHT);
	items = kcalloc(n, sizeof(*items), GFP_KERNEL);
	if (!items) {
		/* no slot: nothing to wait for (and no "% n" with n == 0) */
		DMERR("%u:%u: scan: cannot allocate %u slots",
		      MAJOR(vd->devt), MINOR(vd->devt), n);
		WRITE_ONCE(vd->scan_running, false);
		return;
	}
	for (i = 0; i < n; i++) {
		INIT_WORK(&items[i].work, vdirt_scan_region);
		init_completion(&items[i].done);
		items[i].vd = vd;
	}
	/*
	 * Regions go to the slots in order, and a slot is waited for before
	 * it is reused: when region k is waited for, all before it are done.
	 */
	for (;;) {
		if (!stop && (next >= vd->nr_clusters ||
			      READ_ONCE(vd->scan_stop) || !vdirt_measuring(vd)))
			stop = true;
		if (busy == n || (stop && busy)) {
			oldest = (slot + n - busy) % n;
			wait_for_completion(&items[oldest].done);
			busy--;
			if (items[oldest].r < 0)
				stop = true;
			else if (items[oldest].first == pos)
				pos = items[oldest].last + 1;
			WRITE_ONCE(vd->scan_pos, pos);
		}
		if (stop) {
			if (!busy)
				break;
			continue;
		}
		items[slot].first = next;
		items[slot].last = min(next + vd->region_clusters,
				       vd->nr_clusters) - 1;
		next = items[slot].last + 1;
		reinit_completion(&items[slot].done);
		queue_work(system_unbound_wq, &items[slot].work);
		busy++;
		slot = (slot + 1) % n;
	}
	kfree(items);
	DMINFO("%u:%u: scan %s at cluster %llu of %llu",
	       MAJOR(vd->devt), MINOR(vd->devt),
	       pos >= vd->nr_clusters ? "finished" : "stopped",
	       (unsigned long long)pos, (unsigned long long)vd->nr_clusters);
	WRITE_ONCE(vd->scan_running, false);
}

int vdirt_scan_start(struct vdirt_dev *vd)
{
	int r = 0;

	mutex_lock(&vd->scan_lock);
	if (READ_ONCE(vd->scan_running)) {
		r = -EBUSY;
	} else {
		WRITE_ONCE(vd->scan_stop, false);
		WRITE_ONCE(vd->scan_pos, 0);
		WRITE_ONCE(vd->scan_running, true);
		/* not on vd->wq: a scan must never hold up its rescuer */
		queue_work(system_long_wq, &vd->scan_work);
	}
	mutex_unlock(&vd->scan_lock);
	return r;
}

void vdirt_scan_stop(struct vdirt_dev *vd)
{
	mutex_lock(&vd->scan_lock);
	WRITE_ONCE(vd->scan_stop, true);
	flush_work(&vd->scan_work);
	mutex_unlock(&vd->scan_lock);
}

/* ---- periodic commit ---- */

static void vdirt_commit_work(struct work_struct *work)
{
	struct vdirt_dev *vd = container_of(to_delayed_work(work),
					    struct vdirt_dev, commit_work);

	if (!READ_ONCE(vd->periodic))
		return;
	vdirt_commit(vd);
	vdirt_intent_clear_idle(vd);
	vdirt_cache_trim(vd);
	if (READ_ONCE(vd->periodic))
		queue_delayed_work(vd->wq, &vd->commit_work, HZ);
}

/* ---- API for netlink ---- */

int vdirt_devices_walk(int (*fn)(struct vdirt_dev *vd, void *arg), void *arg)
{
	struct vdirt_dev *vd;
	int r = 0;

	mutex_lock(&vdirt_devices_lock);
	list_for_each_entry(vd, &vdirt_devices, list) {
		if (vdirt_find_by_devt(vd->devt) != vd)
			continue;	/* the other table of a reload */
		r = fn(vd, arg);
		if (r)
			break;
	}
	mutex_unlock(&vdirt_devices_lock);
	return r;
}

/*
 * During a table reload two instances share one dm device: the inactive
 * table's (constructed, not resumed) and the live one's.  A lookup finds
 * the one that is not suspended, else the newest (the list is in
 * construction order), which is the one a resume makes live.
 */
struct vdirt_dev *vdirt_find_by_devt(dev_t devt)
{
	struct vdirt_dev *vd, *found = NULL;

	lockdep_assert_held(&vdirt_devices_lock);
	list_for_each_entry(vd, &vdirt_devices, list) {
		if (vd->devt != devt)
			continue;
		found = vd;
		if (!READ_ONCE(vd->suspended))
			break;
	}
	return found;
}

struct vdirt_dev *vdirt_find_by_name(const char *name)
{
	char dm_name[DM_NAME_LEN];
	struct vdirt_dev *vd;

	lockdep_assert_held(&vdirt_devices_lock);
	list_for_each_entry(vd, &vdirt_devices, list) {
		if (dm_copy_name_and_uuid(dm_table_get_md(vd->ti->table),
					  dm_name, NULL))
			continue;
		if (!strcmp(dm_name, name))
			return vdirt_find_by_devt(vd->devt);
	}
	return NULL;
}

/*
 * Our preresume: any other instance on our metadata device (the table we
 * replace) must never write it again, or it would undo our state.
 */
static void vdirt_retire_others(struct vdirt_dev *vd)
{
	struct vdirt_dev *o;

	mutex_lock(&vdirt_devices_lock);
	list_for_each_entry(o, &vdirt_devices, list)
		if (o != vd && o->meta_dev->bdev == vd->meta_dev->bdev)
			WRITE_ONCE(o->retired, true);
	mutex_unlock(&vdirt_devices_lock);
}

void vdirt_get_info(struct vdirt_dev *vd, struct vdirt_info *info)
{
	memset(info, 0, sizeof(*info));
	info->devt = vd->devt;
	info->data_sectors = vd->ti->len;
	info->nr_clusters = vd->nr_clusters;
	info->cluster_size = vd->cluster_size;
	info->digest_size = vd->digest_size;
	info->hash_name = vd->hash_name;
	info->state = READ_ONCE(vd->state);
	info->enforce = READ_ONCE(vd->enforce);
	info->read_verify = !vd->opt_no_read_verify;
	info->fail_open = vd->opt_fail_open;
	info->measured = atomic64_read(&vd->cnt.measured);
	info->baselined = atomic64_read(&vd->cnt.baselined);
	info->reads_verified = atomic64_read(&vd->cnt.reads_verified);
	info->read_mismatches = atomic64_read(&vd->cnt.read_mismatches);
	info->write_drift = atomic64_read(&vd->cnt.write_drift);
	info->unaligned = atomic64_read(&vd->cnt.unaligned);
	info->meta_errors = atomic64_read(&vd->cnt.meta_errors);
	info->tofu = atomic64_read(&vd->cnt.tofu);
	info->scan_running = READ_ONCE(vd->scan_running);
	info->scan_pos = READ_ONCE(vd->scan_pos);
	if (READ_ONCE(vd->recovering)) {
		info->recover_pos = READ_ONCE(vd->recover_done);
		info->recover_total = vd->recover_total;
	}
	mutex_lock(&vd->log_lock);
	info->log_head = vd->log_durable;
	info->log_first = vd->log_tail;
	if (info->log_head > VDIRT_LOG_CAPACITY &&
	    info->log_first < info->log_head - VDIRT_LOG_CAPACITY)
		info->log_first = info->log_head - VDIRT_LOG_CAPACITY;
	if (info->log_first > info->log_head)
		info->log_first = info->log_head;
	mutex_unlock(&vd->log_lock);
}

/* ---- constructor / destructor ---- */

static void vdirt_cleanup(struct vdirt_dev *vd)
{
	vdirt_dev_unlist(vd);
	vdirt_bc_stop(vd);
	if (vd->wq) {
		WRITE_ONCE(vd->scan_stop, true);
		flush_work(&vd->scan_work);
		vdirt_recover_stop(vd);
		WRITE_ONCE(vd->periodic, false);
		cancel_delayed_work_sync(&vd->commit_work);
		destroy_workqueue(vd->wq);
	}
	if (vd->cpu_wq)
		destroy_workqueue(vd->cpu_wq);
	vdirt_events_free(vd);
	vdirt_meta_close(vd);
	vdirt_intent_free(vd);
	vdirt_page_free_all(vd);
	mempool_destroy(vd->page_pool);
	bioset_exit(&vd->bs);
	if (vd->tfm)
		crypto_free_shash(vd->tfm);
	if (vd->meta_dev)
		dm_put_device(vd->ti, vd->meta_dev);
	if (vd->data_dev)
		dm_put_device(vd->ti, vd->data_dev);
	kfree(vd);
}

static int vdirt_parse_opts(struct vdirt_dev *vd, struct dm_arg_set *as,
			    char **error)
{
	static const struct dm_arg _args[] = {
		{0, 4, "Invalid number of optional arguments"},
	};
	unsigned int argc, n;
	const char *arg;
	int r;

	if (!as->argc)
		return 0;
	r = dm_read_arg_group(_args, as, &argc, error);
	if (r)
		return r;
	while (argc--) {
		arg = dm_shift_arg(as);
		if (!strcmp(arg, "mode:audit")) {
			vd->opt_mode_given = true;
			vd->opt_enforce = false;
		} else if (!strcmp(arg, "mode:enforce")) {
			vd->opt_mode_given = true;
			vd->opt_enforce = true;
		} else if (!strcmp(arg, "no_read_verify")) {
			vd->opt_no_read_verify = true;
		} else if (!strcmp(arg, "fail_open")) {
			vd->opt_fail_open = true;
		} else if (!strncmp(arg, "cache_mb:", 9)) {
			if (kstrtouint(arg + 9, 10, &n) || !n ||
			    n > VDIRT_MAX_CACHE_MB) {
				*error = "Invalid cache_mb value (1..65536)";
				return -EINVAL;
			}
			vd->opt_cache_given = true;
			vd->cache_mb = n;
		} else {
			if (!strncmp(arg, "mode:", 5))
				*error = "Invalid mode (mode:audit or mode:enforce)";
			else
				*error = vdirt_ctr_errorf("Unknown optional argument",
							  "Unknown optional argument %.64s",
							  arg);
			return -EINVAL;
		}
	}
	if (as->argc) {
		*error = "Too many arguments";
		return -EINVAL;
	}
	return 0;
}

static int vdirt_setup_hash(struct vdirt_dev *vd, const char *name,
			    char **error)
{
	u8 *zero;
	int r;

	if (strlen(name) >= VDIRT_HASH_NAME_LEN) {
		*error = "Hash algorithm name too long";
		return -EINVAL;
	}
	strscpy(vd->hash_name, name, sizeof(vd->hash_name));
	vd->tfm = crypto_alloc_shash(name, 0, 0);
	if (IS_ERR(vd->tfm)) {
		r = PTR_ERR(vd->tfm);
		vd->tfm = NULL;
		*error = vdirt_ctr_errorf("Unknown hash algorithm",
					  "Unknown hash algorithm %s (error %d)",
					  name, r);
		return r == -ENOENT ? -EINVAL : r;
	}
	if (crypto_shash_get_flags(vd->tfm) & CRYPTO_TFM_NEED_KEY) {
		*error = "Hash algorithm needs a key";
		return -EINVAL;
	}
	vd->digest_size = crypto_shash_digestsize(vd->tfm);
	if (!vd->digest_size || vd->digest_size > VDIRT_MAX_DIGEST_SIZE) {
		*error = "Hash digest larger than 64 bytes";
		return -EINVAL;
	}
	zero = kzalloc(vd->cluster_size, GFP_KERNEL);
	if (!zero) {
		*error = "Cannot allocate memory";
		return -ENOMEM;
	}
	r = vdirt_hash(vd, zero, vd->cluster_size, vd->zero_digest);
	kfree(zero);
	if (r)
		*error = "Cannot hash with this algorithm";
	return r;
}

/*
 * <data_dev> <meta_dev> <cluster_size> <hash_alg> [<#opt_args> <opt_arg>...]
 */
static int vdirt_ctr_locked(struct dm_target *ti, unsigned int argc,
			    char **argv)
{
	struct vdirt_dev *vd;
	struct dm_arg_set as;
	vdirt_mode_t mode;
	unsigned int cs, i;
	u32 region_bytes, io_bytes;
	int r;

	if (argc < 4) {
		ti->error = "Not enough arguments: <data_dev> <meta_dev> <cluster_size> <hash_alg> [<#opt_args> <opt_arg>...]";
		return -EINVAL;
	}
	vd = kzalloc(sizeof(*vd), GFP_KERNEL);
	if (!vd) {
		ti->error = "Cannot allocate context";
		return -ENOMEM;
	}
	ti->private = vd;
	vd->ti = ti;
	INIT_LIST_HEAD(&vd->list);
	mutex_init(&vd->page_alloc_lock);
	spin_lock_init(&vd->page_free_lock);
	INIT_LIST_HEAD(&vd->page_free);
	vd->page_free_max = min(READ_ONCE(page_recycle), 4 * VDIRT_PAGE_FREE_MAX);
	vd->small_read_cpu = min_t(unsigned int, READ_ONCE(small_read_cpu),
				   VDIRT_READ_CPU_ALWAYS);
	vd->small_write_cpu = READ_ONCE(small_write_cpu);
	mutex_init(&vd->commit_lock);
	mutex_init(&vd->log_lock);
	mutex_init(&vd->scan_lock);
	mutex_init(&vd->baseline_lock);
	INIT_DELAYED_WORK(&vd->commit_work, vdirt_commit_work);
	INIT_WORK(&vd->scan_work, vdirt_scan_work);
	spin_lock_init(&vd->events_lock);
	INIT_LIST_HEAD(&vd->events);
	INIT_WORK(&vd->untracked_work, vdirt_untracked_work);
	vdirt_bc_init(vd);
	vdirt_dev_refs_init(vd);
	for (i = 0; i < VDIRT_LOCK_BUCKETS; i++) {
		spin_lock_init(&vd->buckets[i].lock);
		INIT_LIST_HEAD(&vd->buckets[i].inflight);
		INIT_LIST_HEAD(&vd->buckets[i].waiters);
	}
	vd->cache_mb = VDIRT_DEFAULT_CACHE_MB;
	vd->suspended = true;		/* until the first resume */
	vd->devt = disk_devt(dm_disk(dm_table_get_md(ti->table)));

	mode = dm_table_get_mode(ti->table);
	r = dm_get_device(ti, argv[0], mode, &vd->data_dev);
	if (r) {
		ti->error = "Data device lookup failed";
		goto bad;
	}
	r = dm_get_device(ti, argv[1], mode, &vd->meta_dev);
	if (r) {
		ti->error = "Metadata device lookup failed";
		goto bad;
	}
	if (vd->data_dev->bdev == vd->meta_dev->bdev) {
		ti->error = "Data and metadata device are the same";
		r = -EINVAL;
		goto bad;
	}

	r = -EINVAL;
	if (kstrtouint(argv[2], 10, &cs)) {
		ti->error = "Invalid cluster size (not a number)";
		goto bad;
	}
	if (!is_power_of_2(cs)) {
		ti->error = "Cluster size is not a power of two";
		goto bad;
	}
	if (cs < VDIRT_MIN_CLUSTER_SIZE || cs > VDIRT_MAX_CLUSTER_SIZE) {
		ti->error = "Cluster size out of range (512..65536)";
		goto bad;
	}
	if (cs % bdev_logical_block_size(vd->data_dev->bdev)) {
		ti->error = "Cluster size is not a multiple of the data device logical block size";
		goto bad;
	}
	vd->cluster_size = cs;
	vd->cluster_shift = ilog2(cs);
	vd->cluster_sectors_shift = vd->cluster_shift - SECTOR_SHIFT;
	if (ti->len & ((1U << vd->cluster_sectors_shift) - 1)) {
		ti->error = "Table length is not a multiple of the cluster size";
		goto bad;
	}
	if (bdev_nr_sectors(vd->data_dev->bdev) < ti->len) {
		ti->error = vdirt_ctr_errorf("Data device smaller than the table length",
					     "Data device smaller than the table length (%llu < %llu sectors)",
					     (unsigned long long)bdev_nr_sectors(vd->data_dev->bdev),
					     (unsigned long long)ti->len);
		goto bad;
	}
	vd->nr_clusters = ti->len >> vd->cluster_sectors_shift;

	r = vdirt_setup_hash(vd, argv[3], &ti->error);
	if (r)
		goto bad;

	as.argc = argc - 4;
	as.argv = argv + 4;
	r = vdirt_parse_opts(vd, &as, &ti->error);
	if (r)
		goto bad;
	vd->enforce = vd->opt_enforce;
	vd->cache_blocks = vd->cache_mb << (20 - VDIRT_META_BLOCK_SHIFT);

	region_bytes = max(cs, min(VDIRT_REGION_MAX_BYTES,
				   VDIRT_REGION_MAX_CLUSTERS * cs));
	vd->region_clusters = region_bytes / cs;
	vd->region_shift = ilog2(vd->region_clusters);
	if (vdirt_compute_layout(ti->len, cs, vd->digest_size, &vd->layout)) {
		ti->error = "Invalid metadata geometry";
		r = -EINVAL;
		goto bad;
	}
	io_bytes = READ_ONCE(max_io_kb) << 10;
	io_bytes = io_bytes ? clamp_t(u32, rounddown_pow_of_two(io_bytes), cs,
				      region_bytes) : region_bytes;
	r = dm_set_target_max_io_len(ti, io_bytes >> SECTOR_SHIFT);
	if (r) {
		ti->error = "Cannot set max I/O length";
		goto bad;
	}

	r = vdirt_intent_alloc(vd);
	if (r) {
		ti->error = "Cannot allocate write-intent bitmap";
		goto bad;
	}

	r = -ENOMEM;
	vd->wq = alloc_workqueue("kvdirtd/%u:%u",
				 WQ_MEM_RECLAIM | WQ_UNBOUND | WQ_HIGHPRI, 0,
				 MAJOR(vd->devt), MINOR(vd->devt));
	if (!vd->wq) {
		ti->error = "Cannot allocate workqueue";
		goto bad;
	}
	vd->cpu_wq = alloc_workqueue("kvdirtd-cpu/%u:%u",
				     WQ_MEM_RECLAIM | WQ_HIGHPRI, 0,
				     MAJOR(vd->devt), MINOR(vd->devt));
	if (!vd->cpu_wq) {
		ti->error = "Cannot allocate workqueue";
		goto bad;
	}
	r = bioset_init(&vd->bs, VDIRT_BIOSET_SIZE, 0, BIOSET_NEED_BVECS);
	if (r) {
		ti->error = "Cannot allocate bio set";
		goto bad;
	}
	vd->page_pool = mempool_create_page_pool(BIO_MAX_VECS, 0);
	if (!vd->page_pool) {
		r = -ENOMEM;
		ti->error = "Cannot allocate page pool";
		goto bad;
	}

	r = vdirt_meta_open(vd, &ti->error);
	if (r)
		goto bad;

	ti->per_io_data_size = sizeof(struct vdirt_io);
	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	ti->num_discard_bios = 1;
	ti->num_write_zeroes_bios = 1;

	mutex_lock(&vdirt_devices_lock);
	list_add_tail(&vd->list, &vdirt_devices);
	mutex_unlock(&vdirt_devices_lock);
	return 0;
bad:
	vdirt_cleanup(vd);
	ti->private = NULL;
	return r;
}

static int vdirt_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	int r;

	mutex_lock(&vdirt_ctr_lock);
	r = vdirt_ctr_locked(ti, argc, argv);
	mutex_unlock(&vdirt_ctr_lock);
	return r;
}

static void vdirt_dtr(struct dm_target *ti)
{
	vdirt_cleanup(ti->private);
}

static void vdirt_presuspend(struct dm_target *ti)
{
	struct vdirt_dev *vd = ti->private;

	WRITE_ONCE(vd->suspended, true);
	vdirt_bc_pause(vd);
	vdirt_scan_stop(vd);
	vdirt_recover_stop(vd);
}

/* the suspend was cancelled before postsuspend: carry on as before */
static void vdirt_presuspend_undo(struct dm_target *ti)
{
	struct vdirt_dev *vd = ti->private;

	WRITE_ONCE(vd->suspended, false);
	vdirt_recover_start(vd);
	vdirt_bc_resume(vd);
}

static void vdirt_postsuspend(struct dm_target *ti)
{
	struct vdirt_dev *vd = ti->private;

	WRITE_ONCE(vd->periodic, false);
	cancel_delayed_work_sync(&vd->commit_work);
	flush_workqueue(vd->cpu_wq);
	flush_workqueue(vd->wq);
	/* clean only when nothing is left to recover */
	vdirt_commit_clean(vd, vdirt_intent_close(vd));
	if (READ_ONCE(vd->state) == VDIRT_STATE_DEGRADED)
		vdirt_meta_untracked(vd);
}

static int vdirt_preresume(struct dm_target *ti)
{
	struct vdirt_dev *vd = ti->private;
	int r;

	vdirt_retire_others(vd);
	if (!vdirt_measuring(vd))
		return 0;
	r = vdirt_meta_reload(vd);
	if (r)
		vdirt_set_error(vd, "metadata reload", r);
	return 0;
}

static void vdirt_resume(struct dm_target *ti)
{
	struct vdirt_dev *vd = ti->private;

	WRITE_ONCE(vd->periodic, true);
	queue_delayed_work(vd->wq, &vd->commit_work, HZ);
	WRITE_ONCE(vd->suspended, false);
	vdirt_recover_start(vd);
	vdirt_bc_resume(vd);
}

static const char *vdirt_state_name(int state)
{
	switch (state) {
	case VDIRT_STATE_OK:
		return "ok";
	case VDIRT_STATE_DEGRADED:
		return "degraded";
	default:
		return "failed";
	}
}

static void vdirt_status(struct dm_target *ti, status_type_t type,
			 unsigned int status_flags, char *result,
			 unsigned int maxlen)
{
	struct vdirt_dev *vd = ti->private;
	unsigned int sz = 0, nopt;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("state=%s mode=%s clusters=%llu measured=%lld baselined=%lld reads_verified=%lld read_mismatches=%lld write_drift=%lld unaligned=%lld meta_errors=%lld",
		       vdirt_state_name(READ_ONCE(vd->state)),
		       READ_ONCE(vd->enforce) ? "enforce" : "audit",
		       (unsigned long long)vd->nr_clusters,
		       (long long)atomic64_read(&vd->cnt.measured),
		       (long long)atomic64_read(&vd->cnt.baselined),
		       (long long)atomic64_read(&vd->cnt.reads_verified),
		       (long long)atomic64_read(&vd->cnt.read_mismatches),
		       (long long)atomic64_read(&vd->cnt.write_drift),
		       (long long)atomic64_read(&vd->cnt.unaligned),
		       (long long)atomic64_read(&vd->cnt.meta_errors));
		if (READ_ONCE(vd->scan_running))
			DMEMIT(" scan=%llu/%llu",
			       (unsigned long long)READ_ONCE(vd->scan_pos),
			       (unsigned long long)vd->nr_clusters);
		else
			DMEMIT(" scan=-");
		DMEMIT(" tofu=%lld", (long long)atomic64_read(&vd->cnt.tofu));
		if (READ_ONCE(vd->recovering))
			DMEMIT(" recovering=%llu/%llu",
			       (unsigned long long)READ_ONCE(vd->recover_done),
			       (unsigned long long)vd->recover_total);
		else
			DMEMIT(" recovering=-");
		DMEMIT(" baseline=%s", READ_ONCE(vd->baseline_partial) ?
		       "partial" : atomic64_read(&vd->cnt.baselined) ?
		       "set" : "none");
		if (vdirt_bc_running(vd))
			DMEMIT(" baseline_change=%llu/%llu",
			       (unsigned long long)READ_ONCE(vd->bc.pos),
			       (unsigned long long)vd->nr_clusters);
		else
			DMEMIT(" baseline_change=-");
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %s %u %s", vd->data_dev->name, vd->meta_dev->name,
		       vd->cluster_size, vd->hash_name);
		nopt = vd->opt_mode_given + vd->opt_no_read_verify +
		       vd->opt_fail_open + vd->opt_cache_given;
		if (!nopt)
			break;
		DMEMIT(" %u", nopt);
		if (vd->opt_mode_given)
			DMEMIT(" mode:%s", vd->opt_enforce ? "enforce" : "audit");
		if (vd->opt_no_read_verify)
			DMEMIT(" no_read_verify");
		if (vd->opt_fail_open)
			DMEMIT(" fail_open");
		if (vd->opt_cache_given)
			DMEMIT(" cache_mb:%u", vd->cache_mb);
		break;
	case STATUSTYPE_IMA:
		DMEMIT("target_name=%s,target_version=%u.%u.%u",
		       ti->type->name, ti->type->version[0],
		       ti->type->version[1], ti->type->version[2]);
		DMEMIT(",data_device=%s,meta_device=%s,cluster_size=%u,hash_alg=%s",
		       vd->data_dev->name, vd->meta_dev->name,
		       vd->cluster_size, vd->hash_name);
		DMEMIT(",mode=%s,read_verify=%c,fail_open=%c,state=%s;",
		       READ_ONCE(vd->enforce) ? "enforce" : "audit",
		       vd->opt_no_read_verify ? 'n' : 'y',
		       vd->opt_fail_open ? 'y' : 'n',
		       vdirt_state_name(READ_ONCE(vd->state)));
		break;
	}
}

static const char *vdirt_kind_name(u8 kind)
{
	return kind == VDIRT_KIND_READ_MISMATCH ? "read_mismatch" :
	       kind == VDIRT_KIND_WRITE_DRIFT ? "write_drift" :
	       kind == VDIRT_KIND_RECOVERY ? "recovery" : "unknown";
}

static const char *vdirt_op_name(u8 op)
{
	return op == VDIRT_OP_READ ? "read" : op == VDIRT_OP_WRITE ? "write" :
	       op == VDIRT_OP_SCAN ? "scan" :
	       op == VDIRT_OP_RECOVERY ? "recovery" : "unknown";
}

/* report [<first> [<count>]]: one line per stored mismatch record */
static int vdirt_report(struct vdirt_dev *vd, unsigned int argc, char **argv,
			char *result, unsigned int maxlen)
{
	struct vdirt_record *rec;
	struct vdirt_info info;
	u64 first = 0, count = U64_MAX, seq, n = 0;
	unsigned int sz = 0;

	if ((argc > 1 && kstrtoull(argv[1], 10, &first)) ||
	    (argc > 2 && kstrtoull(argv[2], 10, &count)) || argc > 3) {
		DMWARN("%u:%u: report [<first> [<count>]]: invalid arguments",
		       MAJOR(vd->devt), MINOR(vd->devt));
		return -EINVAL;
	}
	rec = kmalloc(sizeof(*rec), GFP_KERNEL);
	if (!rec)
		return -ENOMEM;
	vdirt_get_info(vd, &info);
	if (first > info.log_head - info.log_first)
		first = info.log_head - info.log_first;
	result[0] = '\0';
	for (seq = info.log_first + first; seq < info.log_head && n < count;
	     seq++) {
		if (vdirt_record_read(vd, seq, rec))
			continue;
		DMEMIT("cluster=%llu kind=%s op=%s expected=%*phN actual=%*phN time=%llu",
		       (unsigned long long)rec->cluster,
		       vdirt_kind_name(rec->kind), vdirt_op_name(rec->op),
		       rec->digest_size, rec->expected,
		       rec->digest_size, rec->actual,
		       (unsigned long long)rec->time_ns);
		if (rec->kind == VDIRT_KIND_RECOVERY)
			DMEMIT(" regions=%llu remeasured=%llu changed=%llu on_read=%llu",
			       (unsigned long long)rec->aux[VDIRT_AUX_REGIONS],
			       (unsigned long long)rec->aux[VDIRT_AUX_REMEASURED],
			       (unsigned long long)rec->aux[VDIRT_AUX_CHANGED],
			       (unsigned long long)rec->aux[VDIRT_AUX_ON_READ]);
		DMEMIT("\n");
		n++;
		if (sz + 1 >= maxlen)
			break;	/* full: dm-ioctl flags it, dmsetup retries */
	}
	kfree(rec);
	return 1;
}

static int vdirt_message(struct dm_target *ti, unsigned int argc, char **argv,
			 char *result, unsigned int maxlen)
{
	struct vdirt_dev *vd = ti->private;
	const char *cmd = argc ? argv[0] : "";

	if (!strcasecmp(cmd, "report"))
		return vdirt_report(vd, argc, argv, result, maxlen);
	if (argc == 2 && !strcasecmp(cmd, "mode")) {
		if (!strcasecmp(argv[1], "audit")) {
			WRITE_ONCE(vd->enforce, false);
			return 0;
		}
		if (!strcasecmp(argv[1], "enforce")) {
			WRITE_ONCE(vd->enforce, true);
			return 0;
		}
		DMWARN("%u:%u: mode must be audit or enforce",
		       MAJOR(vd->devt), MINOR(vd->devt));
		return -EINVAL;
	}
	if (argc == 1) {
		if (!strcasecmp(cmd, "scan_stop")) {
			vdirt_scan_stop(vd);
			return 0;
		}
		u8 kind = !strcasecmp(cmd, "baseline_capture") ?
			  VDIRT_BC_CAPTURE :
			  !strcasecmp(cmd, "baseline_clear") ? VDIRT_BC_CLEAR :
			  !strcasecmp(cmd, "clear_mismatches") ?
			  VDIRT_BC_MCLEAR : VDIRT_BC_NONE;
		bool scan = !strcasecmp(cmd, "scan");
		int r;

		if (!kind && !scan)
			goto unknown;
		if (!vdirt_measuring(vd)) {
			DMWARN("%u:%u: %s refused: state=%s", MAJOR(vd->devt),
			       MINOR(vd->devt), cmd,
			       vdirt_state_name(READ_ONCE(vd->state)));
			return -EIO;
		}
		if (vdirt_quiesced(vd)) {
			DMWARN("%u:%u: %s refused: the device is suspended",
			       MAJOR(vd->devt), MINOR(vd->devt), cmd);
			return -EBUSY;
		}
		if (scan)
			return vdirt_scan_start(vd);
		/* the walk runs in a worker: status shows baseline_change= */
		r = vdirt_bc_start(vd, kind, NULL);
		if (r == -EBUSY)
			DMWARN("%u:%u: %s refused: %s", MAJOR(vd->devt),
			       MINOR(vd->devt), cmd,
			       vdirt_bc_running(vd) ?
			       "a baseline change or clear_mismatches runs" :
			       "crash recovery runs");
		return r;
	}
unknown:
	DMWARN("%u:%u: unrecognised message %s (%u arguments)",
	       MAJOR(vd->devt), MINOR(vd->devt), cmd, argc);
	return -EINVAL;
}

static int vdirt_iterate_devices(struct dm_target *ti,
				 iterate_devices_callout_fn fn, void *data)
{
	struct vdirt_dev *vd = ti->private;

	return fn(ti, vd->data_dev, 0, ti->len, data);
}

static struct target_type vdirt_target = {
	.name = "vdirt",
	.version = {VDIRT_VERSION_MAJOR, VDIRT_VERSION_MINOR,
		    VDIRT_VERSION_PATCH},
	.module = THIS_MODULE,
	.ctr = vdirt_ctr,
	.dtr = vdirt_dtr,
	.map = vdirt_map,
	.end_io = vdirt_end_io,
	.presuspend = vdirt_presuspend,
	.presuspend_undo = vdirt_presuspend_undo,
	.postsuspend = vdirt_postsuspend,
	.preresume = vdirt_preresume,
	.resume = vdirt_resume,
	.status = vdirt_status,
	.message = vdirt_message,
	.iterate_devices = vdirt_iterate_devices,
};

static int __init dm_vdirt_init(void)
{
	int r;

	r = dm_register_target(&vdirt_target);
	if (r)
		return r;
	r = vdirt_netlink_init();
	if (r)
		dm_unregister_target(&vdirt_target);
	return r;
}

static void __exit dm_vdirt_exit(void)
{
	vdirt_netlink_exit();
	dm_unregister_target(&vdirt_target);
}

module_init(dm_vdirt_init);
module_exit(dm_vdirt_exit);

MODULE_DESCRIPTION(DM_NAME " target measuring every cluster read and written (vDIRT)");
MODULE_AUTHOR("dm-vdirt developers");
MODULE_LICENSE("GPL");
MODULE_ALIAS("dm-vdirt");
