// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt I/O path engine: what happens to each of the guest's bios.
 *
 * - mapping: a bio is split at lock region and cluster boundaries, takes
 *   its range lock (and, for a write, its write-intent bit) and becomes
 *   one of the VIO_* kinds below;
 * - cluster-aligned writes are copied into our pages (stable writes),
 *   measured and written from the copy;
 * - writes, discards and write-zeroes of part of a cluster are a
 *   read-verify-modify-write of the whole cluster in our pages;
 * - reads of part of a cluster are served from a verified private copy;
 * - aligned reads are verified from the reader's pages after completion,
 *   what that cannot decide is read again into our pages (recheck);
 * - empty flushes and FUA commit the metadata.
 *
 * Per-cluster decisions are the cluster layer's (dm-vdirt-cluster.c).
 */
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/sizes.h>
#include <linux/timekeeping.h>

#include "dm-vdirt.h"

/* small reads and writes: see vdirt_io_queue() */
#define VDIRT_SMALL_IO_BYTES	(16U << 10)
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

enum {
	VSTAGE_MAP = 0,
	VSTAGE_SUBMIT,		/* waiting for the range lock, then submit */
	VSTAGE_COPY,		/* waiting for the worker to copy */
	VSTAGE_INFLIGHT,	/* data I/O in flight */
	VSTAGE_HASH,		/* split write: a worker hashes the copy */
	VSTAGE_POST,		/* data I/O done, worker measures */
	VSTAGE_DONE,		/* completed by us */
	VSTAGE_WB_FLUSH,	/* a flush held for the acknowledged writes */
};

/* ---- bio processing ---- */

static struct bio *vdirt_io_bio(struct vdirt_io *io)
{
	return dm_bio_from_per_bio_data(io, sizeof(*io));
}

/* ---- write_back: writes acknowledged once copied ---- */

/*
 * With write_back:N a cluster-aligned write copied in map (not FUA) is
 * acknowledged as soon as its copy is submitted, at most N at a time: the
 * device behaves as a volatile write cache, as dm-integrity's journal does.
 * What stays exact:
 * - the digest is still that of our copy, which is what the device gets;
 * - the range lock is held until the copy is written and its digests are
 *   stored, so a read or a later write of those clusters waits for it;
 * - a flush is held until no acknowledged write is left (no write is
 *   acknowledged while a flush waits), then commits as any flush: what
 *   was acknowledged before a flush is durable, data and digests, when
 *   the flush completes;
 * - a power cut loses at most acknowledged writes not flushed, as a write
 *   cache does; their intent bits were durable before they were issued,
 *   so crash recovery measures those regions again: no false alarm;
 * - an acknowledged write that fails makes the next flush fail.
 * The guest's bio is ended early, but our reference keeps it (and this
 * per-bio data in front of it) until the copy is done: vdirt_io_complete()
 * drops it.
 */

/* one acknowledged write less: release the held flushes at zero */
static void vdirt_wb_put(struct vdirt_dev *vd)
{
	struct vdirt_iopath *iop = &vd->iop;
	struct bio_list held;
	unsigned long flags;
	struct bio *bio;

	if (!atomic_dec_and_test(&iop->acked))
		return;
	bio_list_init(&held);
	spin_lock_irqsave(&iop->wb_lock, flags);
	bio_list_merge(&held, &iop->wb_held);
	bio_list_init(&iop->wb_held);
	spin_unlock_irqrestore(&iop->wb_lock, flags);
	while ((bio = bio_list_pop(&held))) {
		struct vdirt_io *io = dm_per_bio_data(bio, sizeof(*io));

		queue_work(vd->wq, &io->work);
	}
	wake_up_all(&iop->wb_wait);
}

/*
 * map, the write copied, its copy not yet submitted: acknowledge it early?
 * Counts it and takes our reference on the bio when it does.
 */
static bool vdirt_wb_begin(struct vdirt_io *io, struct bio *bio)
{
	struct vdirt_iopath *iop = &io->vd->iop;

	if (!iop->write_back || (bio->bi_opf & (REQ_FUA | REQ_PREFLUSH)))
		return false;
	/* counted first (a full barrier), then the flushes: see
	 * vdirt_wb_hold_flush()
	 */
	if (atomic_inc_return(&iop->acked) > iop->write_back ||
	    atomic_read(&iop->wb_flushes)) {
		vdirt_wb_put(io->vd);
		return false;
	}
	bio_get(bio);
	io->acked = true;
	return true;
}

/* map, before the copy is submitted: not acknowledged after all */
static void vdirt_wb_cancel(struct vdirt_io *io, struct bio *bio)
{
	io->acked = false;
	bio_put(bio);
	vdirt_wb_put(io->vd);
}

/* map, the copy submitted: the guest's write completes now */
static void vdirt_wb_ack(struct bio *bio)
{
	bio->bi_status = BLK_STS_OK;
	bio_endio(bio);
}

/*
 * A flush passes the acknowledged writes before it: no longer held back.
 * True if one of them failed: the flush fails (once: the error is
 * reported).
 */
static bool vdirt_wb_flush_failed(struct vdirt_dev *vd)
{
	atomic_dec(&vd->iop.wb_flushes);
	return atomic_xchg(&vd->iop.wb_error, 0);
}

/* end a flush we hold with an error */
static void vdirt_wb_fail_flush(struct vdirt_io *io, struct bio *bio)
{
	io->stage = VSTAGE_DONE;
	bio->bi_status = BLK_STS_IOERR;
	bio_endio(bio);
}

static void vdirt_io_work(struct work_struct *work);

/*
 * map, an empty flush, with write_back: true when it is ours now, held
 * while acknowledged writes are not done (vdirt_wb_put() queues it when
 * the last one is) or failed for one that failed; false to pass it down.
 */
static bool vdirt_wb_hold_flush(struct vdirt_dev *vd, struct bio *bio)
{
	struct vdirt_iopath *iop = &vd->iop;
	struct vdirt_io *io = dm_per_bio_data(bio, sizeof(*io));
	unsigned long flags;
	bool held = false;

	atomic_inc(&iop->wb_flushes);
	/* pairs with atomic_inc_return() in vdirt_wb_begin(): a writer sees
	 * this count, or this sees its write counted
	 */
	smp_mb__after_atomic();
	spin_lock_irqsave(&iop->wb_lock, flags);
	if (atomic_read(&iop->acked)) {
		io->stage = VSTAGE_WB_FLUSH;
		INIT_WORK(&io->work, vdirt_io_work);
		bio_list_add(&iop->wb_held, bio);
		held = true;
	}
	spin_unlock_irqrestore(&iop->wb_lock, flags);
	if (held)
		return true;
	if (!vdirt_wb_flush_failed(vd))
		return false;
	vdirt_wb_fail_flush(io, bio);
	return true;
}

/* worker: a held flush, every write acknowledged before it done */
static void vdirt_wb_submit_flush(struct vdirt_io *io)
{
	struct bio *bio = vdirt_io_bio(io);

	if (vdirt_wb_flush_failed(io->vd)) {
		vdirt_wb_fail_flush(io, bio);
		return;
	}
	io->stage = io->kind == VIO_FLUSH ? VSTAGE_INFLIGHT : VSTAGE_DONE;
	dm_submit_bio_remap(bio, NULL);
}

static void vdirt_io_complete(struct vdirt_io *io)
{
	struct bio *bio = vdirt_io_bio(io);

	if (io->wcounted)
		atomic_dec(&io->vd->iop.writes);
	if (io->intent)
		vdirt_intent_put(io);
	if (io->locked) {
		io->locked = false;
		vdirt_range_unlock(io->vd, &io->range);
	}
	if (!io->status && READ_ONCE(io->vd->state) == VDIRT_STATE_FAILED)
		io->status = BLK_STS_IOERR;
	io->stage = VSTAGE_DONE;
	if (io->acked) {
		/* acknowledged already: report a failure with the next flush */
		if (io->status) {
			atomic_set(&io->vd->iop.wb_error, 1);
			VDLOG(DMERR_LIMIT, io->vd,
			      "an acknowledged write of cluster %llu failed: the next flush fails",
			      (unsigned long long)io->range.first);
		}
		vdirt_wb_put(io->vd);
		bio_put(bio);
		return;
	}
	bio->bi_status = io->status;
	bio_endio(bio);
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
	unsigned int lo = __ffs64(suspects), hi = fls64(suspects) - 1;
	struct vdirt_digest_walk w = {
		.first = io->range.first + lo,
		.last = io->range.first + hi,
		.origin = vdirt_io_bio(io),
		.read = true,
		.mask = suspects >> lo,
	};

	return vdirt_verify_clusters(io->vd, &w, VDIRT_OP_READ, mismatch);
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

/*
 * Copy between the guest's bio (at iter) and page bio pb from byte off.
 * Not inlined, so that a CPU profile counts the copy apart.
 */
static noinline void vdirt_copy_bio(struct bio *pb, unsigned int off, struct bio *bio,
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
	    !vd->opts.fail_open)
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
	if (r && !vd->opts.fail_open)
		io->status = BLK_STS_IOERR;
	if (mismatch && READ_ONCE(vd->enforce)) {
		vdirt_zero_bio_data(io);
		io->status = BLK_STS_IOERR;
	}
	vdirt_sync_records(io);
out:
	atomic_dec(&vd->iop.reads);
	vdirt_io_complete(io);
}

/*
 * The whole cluster of a partial bio, read into our pages pb and, while
 * measuring, verified there.  Returns the read's error (then nothing was
 * checked), else 0 with io->status set to an error when the copy must not
 * be used: a verify error fail-closed, or a mismatch in enforce mode.
 * *verified tells whether the copy was checked.
 */
static int vdirt_fetch_part(struct vdirt_io *io, struct bio *pb, u8 op,
			    bool *verified)
{
	struct vdirt_dev *vd = io->vd;
	struct vdirt_digest_walk w = {
		.first = io->range.first,
		.last = io->range.first,
		.pages = pb,
		.origin = vdirt_io_bio(io),
		.read = true,
	};
	bool mismatch = false;
	int r;

	*verified = vdirt_measuring(vd);
	if (!*verified)
		return vdirt_read_into(vd, pb, w.first, w.origin);
	r = vdirt_verify_clusters(vd, &w, op, &mismatch);
	if (w.read_err)
		return w.read_err;
	if ((r && !vd->opts.fail_open) || (mismatch && READ_ONCE(vd->enforce)))
		io->status = BLK_STS_IOERR;
	return 0;
}

/*
 * A read of part of a cluster: the whole cluster is read into our pages
 * and verified there, and the guest gets its part of that same copy, so
 * what was verified is what the guest receives.
 */
static void vdirt_read_part(struct vdirt_io *io)
{
	struct vdirt_dev *vd = io->vd;
	struct bio *pb;
	bool verified;
	int r;

	pb = vdirt_alloc_page_bio(vd, vd->cluster_size, REQ_OP_READ);
	r = vdirt_fetch_part(io, pb, VDIRT_OP_READ, &verified);
	if (r)
		io->status = errno_to_blk_status(r);
	else if (verified)
		vdirt_sync_records(io);
	if (!io->status)
		vdirt_copy_bio(pb, vdirt_io_offset(io), vdirt_io_bio(io),
			       io->iter, false);
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
	    vdirt_commit(vd) && !vd->opts.fail_open)
		io->status = BLK_STS_IOERR;
	vdirt_io_complete(io);
}

/*
 * Read the clusters of a write that went down again and store their
 * digests (unmeasured if they cannot be read): the content is unknown.
 * Returns the read's (or the metadata's) error.
 */
static int vdirt_remeasure(struct vdirt_io *io)
{
	struct vdirt_digest_walk w = {
		.first = io->range.first,
		.last = io->range.last,
		.read = true,
		.unreadable = true,
	};

	return vdirt_measure_clusters(io->vd, &w, ktime_get_coarse_real_ns(),
				      VDIRT_OP_WRITE);
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
		vdirt_remeasure(io);
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
	u64 c, now = ktime_get_coarse_real_ns();
	bool forget;
	int r = 0;

	if (!vdirt_measuring(vd))
		goto out;
	if (io->status || io->kind == VIO_WRITE_PASS) {
		/* the content is unknown: measure it (unmeasured if unreadable) */
		r = vdirt_remeasure(io);
		if (r && !io->status && !vd->opts.fail_open)
			io->status = errno_to_blk_status(r);
		if (!io->status)
			vdirt_uw_done(vd, io->range.first, io->range.last);
		goto out;
	}
	/*
	 * A discard leaves the clusters unmeasured and unwritten; so does a
	 * write-zeroes with zero_unwritten (they read as zeros either way),
	 * else it stores the digest of zeros.
	 */
	forget = io->kind == VIO_DISCARD || vd->uw.zero;
	for (c = io->range.first; c <= io->range.last && !r; c++) {
		r = vdirt_update_cluster(vd, &cur, c,
					 forget ? NULL : vd->zero_digest, now,
					 VDIRT_OP_WRITE);
		if (!r && forget)
			vdirt_uw_forget(vd, c);
	}
	vdirt_cursor_put(vd, &cur);
	if (r && !vd->opts.fail_open)
		io->status = BLK_STS_IOERR;
out:
	vdirt_finish_write(io);
}

static void vdirt_post_flush(struct vdirt_io *io)
{
	struct vdirt_dev *vd = io->vd;

	if (!io->status && vdirt_commit(vd) && !vd->opts.fail_open)
		io->status = BLK_STS_IOERR;
	vdirt_io_complete(io);
}

/* the next online CPU after this one: where work is handed to */
static unsigned int vdirt_other_cpu(void)
{
	unsigned int cpu = cpumask_next(raw_smp_processor_id(),
					cpu_online_mask);

	return cpu < nr_cpu_ids ? cpu : cpumask_first(cpu_online_mask);
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
	bool small = io->iter.bi_size <= VDIRT_SMALL_IO_BYTES, local;

	if (small && io->kind == VIO_READ && !io->alone &&
	    vd->iop.small_read_cpu == VDIRT_READ_CPU_OTHER &&
	    vdirt_iter_aligned(vd, &io->iter)) {
		queue_work_on(vdirt_other_cpu(), vd->iop.cpu_wq, &io->work);
		return;
	}
	local = small &&
		((io->kind == VIO_READ && vd->iop.small_read_cpu &&
		  vdirt_iter_aligned(vd, &io->iter) &&
		  (io->alone || vd->iop.small_read_cpu == VDIRT_READ_CPU_ALWAYS)) ||
		 (io->kind == VIO_WRITE_COPY && vd->iop.small_write_cpu &&
		  io->stage == VSTAGE_COPY));
	queue_work(local ? vd->iop.cpu_wq : vd->wq, &io->work);
}

/*
 * Any context: our copy of a write is done with (status: the write's);
 * complete the guest's write unless the worker has more to do.
 */
static void vdirt_write_done(struct vdirt_io *io, blk_status_t status)
{
	struct vdirt_dev *vd = io->vd;

	if (status)
		io->status = status;
	/* the data is on the device: its written bits may go to disk */
	if (!io->status)
		vdirt_uw_done(vd, io->range.first, io->range.last);
	vdirt_free_page_bio(vd, io->clone);
	io->clone = NULL;
	if (unlikely(io->status || vdirt_needs_commit(vdirt_io_bio(io)) ||
		     vdirt_records_unsynced(vd))) {
		io->stage = VSTAGE_POST;
		queue_work(vd->wq, &io->work);
		return;
	}
	vdirt_io_complete(io);
}

static void vdirt_clone_endio(struct bio *clone)
{
	struct vdirt_io *io = clone->bi_private;

	io->status = BLK_STS_OK;
	vdirt_write_done(io, clone->bi_status);
}

/*
 * Hash our copy cluster by cluster and store the digests.  nowait (map):
 * -EAGAIN when that would wait (an entry block not cached, a record to
 * append); the clusters stored so far are stored again by the retry.
 */
static int vdirt_measure_copy(struct vdirt_io *io, struct bio *clone,
			      bool nowait)
{
	struct vdirt_digest_walk w = {
		.first = io->range.first,
		.last = io->range.last,
		.pages = clone,
		.nowait = nowait,
	};

	return vdirt_measure_clusters(io->vd, &w, ktime_get_coarse_real_ns(),
				      VDIRT_OP_WRITE);
}

static void vdirt_submit_measured(struct vdirt_io *io, struct bio *pb);

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

	if (vdirt_measuring(vd) && vdirt_measure_copy(io, pb, false) &&
	    !vd->opts.fail_open) {
		vdirt_free_page_bio(vd, pb);
		io->status = BLK_STS_IOERR;
		vdirt_io_complete(io);
		return;
	}
	vdirt_submit_measured(io, pb);
}

/* write our copy pb, its digests stored */
static void vdirt_submit_measured(struct vdirt_io *io, struct bio *pb)
{
	struct bio *bio = vdirt_io_bio(io);

	pb->bi_iter.bi_sector = io->range.first << io->vd->cluster_sectors_shift;
	pb->bi_ioprio = bio->bi_ioprio;
	pb->bi_end_io = vdirt_clone_endio;
	pb->bi_private = io;
	bio_clone_blkg_association(pb, bio);
	io->clone = pb;
	io->stage = VSTAGE_INFLIGHT;
	dm_submit_bio_remap(bio, pb);
}

/*
 * Split writes (write_hash:2, when another write is in flight: a lone
 * write has nothing to overlap and is hashed inline): the copy is written
 * at once and hashed on another CPU meanwhile; the guest's bio completes
 * when both are done
 * (io->pending).  The copy is our own and stable, so its digest is that of
 * the bytes the device gets; the range lock keeps readers out until then,
 * and the intent bit was durable before the write was issued, so a crash
 * before the digest is stored is measured again by crash recovery.
 */
static void vdirt_split_put(struct vdirt_io *io)
{
	if (atomic_dec_and_test(&io->pending))
		vdirt_write_done(io, io->clone->bi_status);
}

/* any context: the split write's copy reached the device (or failed) */
static void vdirt_split_endio(struct bio *clone)
{
	vdirt_split_put(clone->bi_private);
}

/* worker: hash the split write's copy and store the digests */
static void vdirt_split_hash(struct vdirt_io *io)
{
	if (vdirt_measure_copy(io, io->clone, false) && !io->vd->opts.fail_open)
		io->status = BLK_STS_IOERR;
	vdirt_split_put(io);
}

static void vdirt_submit_split(struct vdirt_io *io, struct bio *pb)
{
	struct vdirt_dev *vd = io->vd;
	struct bio *bio = vdirt_io_bio(io);
	bool measure = vdirt_measuring(vd);

	atomic_set(&io->pending, measure ? 2 : 1);
	pb->bi_iter.bi_sector = io->range.first << vd->cluster_sectors_shift;
	pb->bi_ioprio = bio->bi_ioprio;
	pb->bi_end_io = vdirt_split_endio;
	pb->bi_private = io;
	bio_clone_blkg_association(pb, bio);
	io->clone = pb;
	if (measure) {
		io->stage = VSTAGE_HASH;
		queue_work_on(vdirt_other_cpu(), vd->iop.cpu_wq, &io->work);
	}
	dm_submit_bio_remap(bio, pb);
}

/*
 * map, the range lock and the intent bit held: copy a cluster-aligned
 * write without waiting for anything, then write it split or inline
 * (write_hash).  Returns false to leave the write to the worker: a worker
 * mode, REQ_NOWAIT, or no page free right now.
 */
static bool vdirt_write_fast(struct vdirt_io *io, struct bio *bio)
{
	struct vdirt_dev *vd = io->vd;
	struct bio *clone;
	bool alone, ack;
	int r;

	if (vd->iop.write_hash == VDIRT_WHASH_WORKER ||
	    (bio->bi_opf & REQ_NOWAIT))
		return false;
	clone = vdirt_alloc_page_bio_nowait(vd, bio->bi_iter.bi_size,
					    REQ_OP_WRITE |
					    (bio->bi_opf & VDIRT_PASS_FLAGS));
	if (!clone)
		return false;
	vdirt_copy_bio(clone, 0, bio, bio->bi_iter, true);
	io->wcounted = true;
	alone = atomic_inc_return(&vd->iop.writes) == 1;
	ack = vdirt_wb_begin(io, bio);
	/*
	 * A write alone in flight has nothing to overlap: no hand-over;
	 * unless it is acknowledged now, when the guest's next write
	 * overlaps its hash.
	 */
	if ((alone && !ack) || vd->iop.write_hash == VDIRT_WHASH_INLINE) {
		/* what cannot be stored without waiting is hashed again */
		r = vdirt_measuring(vd) ? vdirt_measure_copy(io, clone, true) : 0;
		if (!r) {
			vdirt_submit_measured(io, clone);
			goto out;
		}
		if (r != -EAGAIN && !vd->opts.fail_open) {
			if (ack)
				vdirt_wb_cancel(io, bio);
			vdirt_free_page_bio(vd, clone);
			io->status = BLK_STS_IOERR;
			vdirt_io_complete(io);
			return true;
		}
	}
	vdirt_submit_split(io, clone);
out:
	/* io may be done already: bio is the guest's, not ended yet */
	if (ack)
		vdirt_wb_ack(bio);
	return true;
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
	struct bio *pb;
	bool verified;
	int r;

	if (vdirt_uw_zeroes(vd, io->range.first)) {
		/* unwritten: reads as zeros, so the merge is with zeros */
		if (bio_op(bio) != REQ_OP_WRITE) {
			vdirt_io_complete(io);	/* zeros already */
			return;
		}
		pb = vdirt_alloc_page_bio(vd, vd->cluster_size, REQ_OP_WRITE |
					  (bio->bi_opf & VDIRT_PASS_FLAGS));
		vdirt_zero_pages(pb, 0, vd->cluster_size);
		vdirt_copy_bio(pb, vdirt_io_offset(io), bio, io->iter, true);
		vdirt_submit_copy(io, pb);
		return;
	}
	pb = vdirt_alloc_page_bio(vd, vd->cluster_size, REQ_OP_WRITE |
				  (bio->bi_opf & VDIRT_PASS_FLAGS));
	r = vdirt_fetch_part(io, pb, VDIRT_OP_WRITE, &verified);
	if (r) {
		vdirt_free_page_bio(vd, pb);
		if (vd->opts.fail_open) {
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

	if (io->stage == VSTAGE_WB_FLUSH) {
		vdirt_wb_submit_flush(io);
		return;
	}
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
	case VSTAGE_HASH:
		vdirt_split_hash(io);
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

/* the bio's kind from its operation, or VIO_NONE to refuse it */
static u8 vdirt_io_kind(struct bio *bio, bool aligned)
{
	switch (bio_op(bio)) {
	case REQ_OP_READ:
		return aligned ? VIO_READ : VIO_READ_PART;
	case REQ_OP_WRITE:
		return aligned ? VIO_WRITE_COPY : VIO_WRITE_PART;
	case REQ_OP_DISCARD:
		return aligned ? VIO_DISCARD : VIO_WRITE_PART;
	case REQ_OP_WRITE_ZEROES:
		return aligned ? VIO_ZEROES : VIO_WRITE_PART;
	default:
		return VIO_NONE;
	}
}

static void vdirt_io_reset(struct vdirt_dev *vd, struct vdirt_io *io)
{
	io->vd = vd;
	io->kind = VIO_NONE;
	io->stage = VSTAGE_MAP;
	io->locked = false;
	io->intent = false;
	io->alone = false;
	io->wcounted = false;
	io->acked = false;
	io->clone = NULL;
	io->status = BLK_STS_OK;
}

/*
 * A measured bio of kind io->kind, inside one lock region (and, if
 * partial, inside one cluster): take its range lock and intent bit, then
 * pass it down (reads, whole-cluster discards and write-zeroes, measured
 * after completion) or queue its copy.
 */
static int vdirt_io_start(struct vdirt_dev *vd, struct vdirt_io *io,
			  struct bio *bio)
{
	bool pass = io->kind == VIO_READ || io->kind == VIO_DISCARD ||
		    io->kind == VIO_ZEROES;

	if (io->kind == VIO_READ)
		atomic_inc(&vd->iop.reads);
	io->iter = bio->bi_iter;
	INIT_WORK(&io->work, vdirt_io_work);
	io->range.first = bio->bi_iter.bi_sector >> vd->cluster_sectors_shift;
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
	if (io->kind == VIO_WRITE_COPY && vdirt_write_fast(io, bio))
		return DM_MAPIO_SUBMITTED;
	vdirt_io_queue(io);
	return DM_MAPIO_SUBMITTED;
}

/*
 * zero_unwritten, a read: split it where the clusters change between
 * unwritten and written; an unwritten piece is zeros, completed here
 * (true), a written one goes on as any read (false).
 */
static bool vdirt_read_unwritten(struct vdirt_dev *vd, struct bio *bio)
{
	u32 shift = vd->cluster_sectors_shift;
	sector_t sector = bio->bi_iter.bi_sector;
	u64 c = sector >> shift, last = (bio_end_sector(bio) - 1) >> shift;
	bool zero = vdirt_uw_zeroes(vd, c);

	while (c < last && vdirt_uw_zeroes(vd, c + 1) == zero)
		c++;
	if (c < last)
		dm_accept_partial_bio(bio, ((c + 1) << shift) - sector);
	if (!zero)
		return false;
	zero_fill_bio(bio);
	bio_endio(bio);
	return true;
}

/*
 * Not measuring (degraded): a write still makes its clusters written, or
 * they would read as zeros; a partial one is not merged with zeros then.
 */
static void vdirt_unmeasured_write(struct vdirt_dev *vd, struct bio *bio)
{
	u32 shift = vd->cluster_sectors_shift;
	u64 c, last;

	if (!vd->uw.on || bio_op(bio) != REQ_OP_WRITE)
		return;
	last = (bio_end_sector(bio) - 1) >> shift;
	for (c = bio->bi_iter.bi_sector >> shift; c <= last; c++)
		vdirt_uw_set(vd, c);
	vdirt_uw_done(vd, bio->bi_iter.bi_sector >> shift, last);
}

int vdirt_io_map(struct vdirt_dev *vd, struct bio *bio)
{
	struct vdirt_io *io = dm_per_bio_data(bio, sizeof(*io));
	int state = READ_ONCE(vd->state);
	sector_t sector, region_end, region_sectors;
	bool aligned;

	vdirt_io_reset(vd, io);
	if (unlikely(state == VDIRT_STATE_FAILED))
		return DM_MAPIO_KILL;
	bio_set_dev(bio, vd->data_dev->bdev);
	if (unlikely(!bio_sectors(bio))) {
		if ((bio->bi_opf & REQ_PREFLUSH) && state == VDIRT_STATE_OK) {
			io->kind = VIO_FLUSH;
			INIT_WORK(&io->work, vdirt_io_work);
		}
		if ((bio->bi_opf & REQ_PREFLUSH) && vd->iop.write_back &&
		    vdirt_wb_hold_flush(vd, bio))
			return DM_MAPIO_SUBMITTED;
		return DM_MAPIO_REMAPPED;
	}
	sector = dm_target_offset(vd->ti, bio->bi_iter.bi_sector);
	bio->bi_iter.bi_sector = sector;
	if (vd->uw.zero && bio_op(bio) == REQ_OP_READ &&
	    vdirt_read_unwritten(vd, bio))
		return DM_MAPIO_SUBMITTED;
	if (unlikely(state != VDIRT_STATE_OK)) {
		vdirt_unmeasured_write(vd, bio);
		return DM_MAPIO_REMAPPED;
	}

	/* discards and write-zeroes may cross a lock region: split them */
	region_sectors = (sector_t)vd->region_clusters <<
			 vd->cluster_sectors_shift;
	region_end = (sector | (region_sectors - 1)) + 1;
	if (unlikely(bio_end_sector(bio) > region_end) &&
	    !(bio->bi_opf & REQ_PREFLUSH))
		dm_accept_partial_bio(bio, region_end - sector);
	if (bio_op(bio) == REQ_OP_READ && vd->opts.no_read_verify)
		return DM_MAPIO_REMAPPED;
	vdirt_split_partial(vd, bio);
	aligned = vdirt_iter_aligned(vd, &bio->bi_iter);
	io->kind = vdirt_io_kind(bio, aligned);
	if (io->kind == VIO_NONE)
		return DM_MAPIO_KILL;
	if (!aligned && (bio_op(bio) == REQ_OP_READ ||
			 bio_op(bio) == REQ_OP_WRITE))
		atomic64_inc(&vd->cnt.unaligned);
	return vdirt_io_start(vd, io, bio);
}

int vdirt_io_end(struct bio *bio, blk_status_t *error)
{
	struct vdirt_io *io = dm_per_bio_data(bio, sizeof(*io));

	/* acknowledged early: the rest is ours (vdirt_wb_begin()) */
	if (io->kind == VIO_NONE || io->stage == VSTAGE_DONE || io->acked)
		return DM_ENDIO_DONE;
	/* data I/O done: measure or verify in process context */
	io->status = *error;
	io->stage = VSTAGE_POST;
	if (io->kind == VIO_READ)
		io->alone = atomic_read(&io->vd->iop.reads) == 1;
	vdirt_io_queue(io);
	return DM_ENDIO_INCOMPLETE;
}

/* ---- set-up and teardown ---- */

/*
 * Largest bio handled as one (dm splits larger ones): each piece is hashed
 * by its own work item, so one large bio is hashed on every CPU.
 * max_io_kb:0 is the lock region (at most 256 KiB).
 */
static u32 vdirt_io_max_bytes(struct vdirt_dev *vd)
{
	u32 region_bytes = vd->region_clusters << vd->cluster_shift;
	u32 io_bytes = vd->opts.val[VDIRT_OPT_MAX_IO_KB] << 10;

	return io_bytes ? clamp_t(u32, rounddown_pow_of_two(io_bytes),
				  vd->cluster_size, region_bytes) :
			  region_bytes;
}

/*
 * write_hash:0 chooses at construction: a write hashed inline costs its
 * submitter the hash; a split one costs a hand-over to another CPU and
 * back.  Both are timed (ns per 4 KiB hashed; half the round trip of a
 * work item to the next CPU): inline when the hash is the cheaper (a CPU
 * with SHA instructions, a fast non-cryptographic hash, a machine whose
 * CPUs wake slowly such as an emulator or an overcommitted host), else split.
 */
#define VDIRT_CALIBRATE_ROUNDS	5

/* ns to hash 4 KiB: the best of the rounds, four hashes each */
static u32 vdirt_hash_ns_4k(struct vdirt_dev *vd)
{
	u8 digest[VDIRT_MAX_DIGEST_SIZE];
	u64 t, best = U64_MAX;
	unsigned int i, j;
	void *buf;

	buf = kzalloc(SZ_4K, GFP_KERNEL);
	if (!buf)
		return U32_MAX;
	for (i = 0; i < VDIRT_CALIBRATE_ROUNDS; i++) {
		t = ktime_get_ns();
		for (j = 0; j < 4; j++)
			vdirt_hash(vd, buf, SZ_4K, digest);
		best = min(best, ktime_get_ns() - t);
	}
	kfree(buf);
	return min_t(u64, best / 4, U32_MAX);
}

struct vdirt_hop {
	struct work_struct work;
	struct completion done;
};

static void vdirt_hop_fn(struct work_struct *work)
{
	complete(&container_of(work, struct vdirt_hop, work)->done);
}

/* ns of one hand-over to the next CPU: half the best round trip */
static u32 vdirt_hop_ns(struct vdirt_dev *vd)
{
	struct vdirt_hop hop;
	u64 t, best = U64_MAX;
	unsigned int i;

	if (num_online_cpus() < 2)
		return U32_MAX;
	INIT_WORK_ONSTACK(&hop.work, vdirt_hop_fn);
	for (i = 0; i < VDIRT_CALIBRATE_ROUNDS; i++) {
		init_completion(&hop.done);
		t = ktime_get_ns();
		queue_work_on(vdirt_other_cpu(), vd->iop.cpu_wq, &hop.work);
		wait_for_completion(&hop.done);
		best = min(best, ktime_get_ns() - t);
		flush_work(&hop.work);
	}
	destroy_work_on_stack(&hop.work);
	return min_t(u64, best / 2, U32_MAX);
}

static void vdirt_write_hash_init(struct vdirt_dev *vd)
{
	struct vdirt_iopath *iop = &vd->iop;
	u32 hop_ns;

	iop->write_hash = vd->opts.val[VDIRT_OPT_WRITE_HASH];
	if (iop->write_hash != VDIRT_WHASH_AUTO)
		return;
	iop->hash_ns_4k = vdirt_hash_ns_4k(vd);
	hop_ns = vdirt_hop_ns(vd);
	iop->write_hash = iop->hash_ns_4k <= hop_ns ? VDIRT_WHASH_INLINE :
			  VDIRT_WHASH_SPLIT;
	VDLOG(DMINFO, vd, "%s hashes 4 KiB in %u ns, a hand-over to another CPU takes %u ns: writes are hashed %s",
	      vd->hash_name, iop->hash_ns_4k, hop_ns,
	      iop->write_hash == VDIRT_WHASH_INLINE ? "inline" :
	      "on another CPU");
}

/* the write_hash mode in use (never AUTO), for the status line */
const char *vdirt_write_hash_name(struct vdirt_dev *vd)
{
	switch (vd->iop.write_hash) {
	case VDIRT_WHASH_WORKER:
		return "worker";
	case VDIRT_WHASH_SPLIT:
		return "split";
	default:
		return "inline";
	}
}

int vdirt_io_init(struct vdirt_dev *vd)
{
	int r;

	vd->iop.small_read_cpu = vd->opts.val[VDIRT_OPT_SMALL_READ_CPU];
	vd->iop.small_write_cpu = vd->opts.val[VDIRT_OPT_SMALL_WRITE_CPU];
	atomic_set(&vd->iop.reads, 0);
	atomic_set(&vd->iop.writes, 0);
	vd->iop.write_back = vd->opts.val[VDIRT_OPT_WRITE_BACK];
	atomic_set(&vd->iop.acked, 0);
	atomic_set(&vd->iop.wb_flushes, 0);
	atomic_set(&vd->iop.wb_error, 0);
	spin_lock_init(&vd->iop.wb_lock);
	bio_list_init(&vd->iop.wb_held);
	init_waitqueue_head(&vd->iop.wb_wait);
	r = dm_set_target_max_io_len(vd->ti,
				     vdirt_io_max_bytes(vd) >> SECTOR_SHIFT);
	if (r)
		return r;
	vd->iop.cpu_wq = alloc_workqueue("kvdirtd-cpu/%u:%u",
					 WQ_MEM_RECLAIM | WQ_HIGHPRI, 0,
					 MAJOR(vd->devt), MINOR(vd->devt));
	if (!vd->iop.cpu_wq)
		return -ENOMEM;
	vdirt_write_hash_init(vd);
	vd->ti->per_io_data_size = sizeof(struct vdirt_io);
	vd->ti->num_flush_bios = 1;
	vd->ti->flush_supported = true;
	vd->ti->num_discard_bios = 1;
	vd->ti->num_write_zeroes_bios = 1;
	return 0;
}

void vdirt_io_exit(struct vdirt_dev *vd)
{
	if (vd->iop.cpu_wq)
		destroy_workqueue(vd->iop.cpu_wq);
}

void vdirt_io_flush(struct vdirt_dev *vd)
{
	/* acknowledged writes are not dm's in-flight I/O: wait for them */
	wait_event(vd->iop.wb_wait, !atomic_read(&vd->iop.acked));
	flush_workqueue(vd->iop.cpu_wq);
	flush_workqueue(vd->wq);
}
