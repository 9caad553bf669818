// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt baseline engine.
 *
 * Baseline changes (capture, clear, a loaded baseline replacing the old
 * one) and clear_mismatches run in a worker of the device, one lock region
 * at a time (below).  Baseline loads arrive over netlink
 * (dm-vdirt-netlink.c is their transport) and are streamed into the
 * staging area of the metadata device (dm-vdirt-staging.c); the commit of
 * a complete load starts the replace, which reads the staging area back.
 * Kernel memory is one staging buffer per open load and one for the
 * replace, whatever the device size.
 *
 * Calls go down only: to the cluster entries and the commit of the
 * metadata store, the range locks of the I/O path and the staging area.
 */
#include <linux/blkdev.h>
#include <linux/kref.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dm-vdirt.h"

/* open loads in the module, each with a VDIRT_STAGE_BUF buffer */
#define VDIRT_LOAD_MAX		16

/*
 * Baseline changes (capture, clear, replace by a loaded baseline) and
 * clear_mismatches walk every cluster entry.  They run in a worker, one
 * lock region at a time with the region's range lock held, so that no
 * message, netlink command or suspend waits for a walk: the message or
 * command starts the change and returns, status shows baseline_change=
 * POS/TOTAL.  Presuspend asks the worker to stop at the next region
 * boundary and waits for it (the position is kept); resume continues.
 */

/* change numbers, unique in the module: a waiter knows its own change */
static atomic64_t vdirt_bc_ids = ATOMIC64_INIT(0);

/*
 * Entry blocks read ahead of a walk: one synchronous 4 KiB read per block
 * made a 40 GiB capture (327680 blocks of sha256 entries) I/O-latency bound.
 */
#define VDIRT_WALK_PREFETCH	128U

/* worker: start reading the entry blocks ahead of cluster c, from *pf on */
static void vdirt_walk_prefetch(struct vdirt_dev *vd, u64 c, sector_t *pf)
{
	sector_t start = vd->layout.entries_start;
	sector_t end = start + vd->layout.entries_blocks;
	sector_t blk = vdirt_entry_block(&vd->layout, c, NULL);

	if (*pf < blk)
		*pf = blk;
	if (*pf >= end || *pf > blk + VDIRT_WALK_PREFETCH / 2)
		return;
	dm_bufio_prefetch(vd->bufio, *pf,
			  min_t(sector_t, VDIRT_WALK_PREFETCH, end - *pf));
	*pf += VDIRT_WALK_PREFETCH;
}

/* fn returns true when it changed the entry of cluster c */
typedef bool (*vdirt_walk_fn)(struct vdirt_dev *vd, struct vdirt_disk_entry *e,
			      u64 c);

/* the entries of clusters [first, last], their range lock held */
static int vdirt_walk_entries(struct vdirt_dev *vd, u64 first, u64 last,
			      vdirt_walk_fn fn)
{
	struct vdirt_cursor cur = VDIRT_CURSOR_INIT;
	struct vdirt_disk_entry *e;
	int r = 0;
	u64 c;

	for (c = first; c <= last; c++) {
		e = vdirt_cursor_get(vd, &cur, c);
		if (IS_ERR(e)) {
			r = PTR_ERR(e);
			break;
		}
		if (fn(vd, e, c))
			cur.dirty = true;
	}
	vdirt_cursor_put(vd, &cur);
	return r;
}

/* one lock region [first, last] */
static int vdirt_walk_region(struct vdirt_dev *vd, u64 first, u64 last,
			     vdirt_walk_fn fn)
{
	struct vdirt_range range;
	int r;

	vdirt_range_lock_sync(vd, first, last, &range);
	r = vdirt_walk_entries(vd, first, last, fn);
	vdirt_range_unlock(vd, &range);
	return r;
}

static bool vdirt_capture_fn(struct vdirt_dev *vd, struct vdirt_disk_entry *e,
			     u64 c)
{
	u8 old = e->flags;

	if ((e->flags & VDIRT_E_CURRENT) && !vdirt_uw_hidden(vd, c)) {
		memcpy(vdirt_entry_baseline(vd, e), vdirt_entry_current(e),
		       vd->digest_size);
		e->flags |= VDIRT_E_BASELINE;
		vd->bc.count++;
	} else {
		e->flags &= ~VDIRT_E_BASELINE;
		memset(vdirt_entry_baseline(vd, e), 0, vd->digest_size);
	}
	e->flags &= ~(VDIRT_E_WRITTEN | VDIRT_E_DRIFT);
	return old != e->flags || (e->flags & VDIRT_E_BASELINE);
}

static bool vdirt_bclear_fn(struct vdirt_dev *vd, struct vdirt_disk_entry *e,
			    u64 c)
{
	if (!(e->flags & (VDIRT_E_BASELINE | VDIRT_E_WRITTEN | VDIRT_E_DRIFT)))
		return false;
	e->flags &= ~(VDIRT_E_BASELINE | VDIRT_E_WRITTEN | VDIRT_E_DRIFT);
	memset(vdirt_entry_baseline(vd, e), 0, vd->digest_size);
	return true;
}

/*
 * worker, replace: make the staging buffer hold the digests of clusters
 * [first, last], reading the next VDIRT_STAGE_BUF bytes of the staging
 * area when they are not in it (a lock region's digests, at most 4 KiB,
 * always fit)
 */
static int vdirt_replace_fill(struct vdirt_dev *vd, u64 first, u64 last)
{
	u64 lo = first * vd->digest_size;
	u64 hi = (last + 1) * vd->digest_size;
	u64 blk = div_u64(lo, VDIRT_META_BLOCK_SIZE);
	u32 nr;
	int r;

	if (vd->bc.rb_blocks && blk >= vd->bc.rb_first &&
	    hi <= (vd->bc.rb_first + vd->bc.rb_blocks) * VDIRT_META_BLOCK_SIZE)
		return 0;
	nr = min_t(u64, VDIRT_STAGE_BUF_BLOCKS,
		   vd->layout.staging_blocks - blk);
	vd->bc.rb_blocks = 0;
	r = vdirt_staging_io(vd, REQ_OP_READ, blk, nr, vd->bc.rbuf);
	if (r)
		return r;
	vd->bc.rb_first = blk;
	vd->bc.rb_blocks = nr;
	return 0;
}

/*
 * Each cluster switches under its region's range lock, so a concurrent read
 * is checked against the old or the new digest of its cluster, never a
 * torn one.
 */
static bool vdirt_replace_fn(struct vdirt_dev *vd, struct vdirt_disk_entry *e,
			     u64 c)
{
	u64 off = c * vd->digest_size -
		  vd->bc.rb_first * VDIRT_META_BLOCK_SIZE;

	if (!(e->flags & VDIRT_E_BASELINE))
		atomic64_inc(&vd->cnt.baselined);
	memcpy(vdirt_entry_baseline(vd, e), vd->bc.rbuf + off,
	       vd->digest_size);
	e->flags |= VDIRT_E_BASELINE;
	e->flags &= ~(VDIRT_E_WRITTEN | VDIRT_E_DRIFT);
	return true;
}

static bool vdirt_mclear_fn(struct vdirt_dev *vd, struct vdirt_disk_entry *e,
			    u64 c)
{
	if (!(e->flags & (VDIRT_E_MISMATCH | VDIRT_E_DRIFT)))
		return false;
	e->flags &= ~(VDIRT_E_MISMATCH | VDIRT_E_DRIFT);
	return true;
}

/* the purge's walk: the entry of an unwritten cluster is cleared */
static bool vdirt_purge_fn(struct vdirt_dev *vd, struct vdirt_disk_entry *e,
			   u64 c)
{
	return !vdirt_uw_written(vd, c) && vdirt_uw_scrub(vd, e);
}

/* discard (else zero, where the device does it) n unwritten clusters */
static void vdirt_purge_discard(struct vdirt_dev *vd, u64 c, u64 n)
{
	struct block_device *bdev = vd->data_dev->bdev;
	sector_t s = c << vd->cluster_sectors_shift;
	sector_t ns = n << vd->cluster_sectors_shift;
	int r = 0;

	if (bdev_max_discard_sectors(bdev))
		r = blkdev_issue_discard(bdev, s, ns, GFP_NOIO);
	else if (bdev_write_zeroes_sectors(bdev))
		r = blkdev_issue_zeroout(bdev, s, ns, GFP_NOIO,
					 BLKDEV_ZERO_NOFALLBACK);
	/* the data no longer counts either way: the device reads zeros */
	if (r)
		VDLOG(DMWARN_LIMIT, vd, "purge: discard of clusters %llu..%llu failed (error %d): their old data stays on the data device",
		      (unsigned long long)c, (unsigned long long)(c + n - 1), r);
}

/*
 * One lock region of the purge's walk: the entries of its unwritten
 * clusters are cleared, then their data is discarded, the range lock held
 * throughout so that no write of the region lands in between.
 */
static int vdirt_purge_region(struct vdirt_dev *vd, u64 first, u64 last)
{
	struct vdirt_range range;
	u64 c, end;
	int r;

	vdirt_range_lock_sync(vd, first, last, &range);
	r = vdirt_walk_entries(vd, first, last, vdirt_purge_fn);
	for (c = first; !r && c <= last; c = end) {
		while (c <= last && vdirt_uw_written(vd, c))
			c++;
		for (end = c; end <= last && !vdirt_uw_written(vd, end); end++)
			;
		if (end > c)
			vdirt_purge_discard(vd, c, end - c);
	}
	vdirt_range_unlock(vd, &range);
	return r;
}

static const char *vdirt_bc_name(u8 kind)
{
	static const char * const names[] = {
		[VDIRT_BC_CAPTURE] = "baseline capture",
		[VDIRT_BC_CLEAR] = "baseline clear",
		[VDIRT_BC_REPLACE] = "baseline load",
		[VDIRT_BC_MCLEAR] = "clear_mismatches",
		[VDIRT_BC_PURGE] = "purge",
	};

	return kind < ARRAY_SIZE(names) && names[kind] ? names[kind] : "?";
}

/* what a change cut short leaves, for its log line */
static const char *vdirt_bc_cut_note(struct vdirt_dev *vd, u8 kind)
{
	if (kind == VDIRT_BC_MCLEAR)
		return "";
	if (kind == VDIRT_BC_PURGE)
		return ": the walk starts again at the next activation (the device reads zeros meanwhile)";
	if (kind == VDIRT_BC_REPLACE)
		return ": baseline=partial until the staged baseline is applied again (next activation)";
	return ": baseline=partial";
}

/*
 * A baseline change rewrites entries in place, and dirty entry blocks may
 * reach the disk before the change is complete.  The superblock therefore
 * carries BASELINE_PARTIAL, committed before the first entry changes and
 * cleared by the commit that follows the last: a crash in between (or the
 * table going away while the change is paused) leaves a mark, and baseline
 * digests are ignored (reads are checked against the last write) until a
 * baseline is loaded, captured or cleared again.  An error in between is
 * treated the same way.  clear_mismatches needs no bracket: the flags it
 * clears only say that a record exists.
 */
static int vdirt_bc_begin(struct vdirt_dev *vd, u8 kind)
{
	lockdep_assert_held(&vd->baseline_lock);
	/* the purge's commit set its bracket (SB_F_PURGE) */
	if (kind == VDIRT_BC_PURGE)
		return 0;
	if (kind == VDIRT_BC_MCLEAR) {
		mutex_lock(&vd->log_lock);
		vd->bc.log_head = vd->log_head;
		vd->bc.rm = atomic64_read(&vd->cnt.read_mismatches);
		vd->bc.wd = atomic64_read(&vd->cnt.write_drift);
		mutex_unlock(&vd->log_lock);
		return 0;
	}
	/*
	 * A replace also marks the staging area as the baseline to apply:
	 * the staged digests were written before this commit's flush.
	 */
	mutex_lock(&vd->commit_lock);
	vd->sb_flags |= VDIRT_SB_F_BASELINE_PARTIAL;
	if (kind == VDIRT_BC_REPLACE)
		vd->sb_flags |= VDIRT_SB_F_BASELINE_STAGED;
	mutex_unlock(&vd->commit_lock);
	atomic_set(&vd->meta_dirty, 1);
	return vdirt_commit(vd);
}

/* a completed load, capture or clear: its record, committed with the end */
static void vdirt_bc_record(struct vdirt_dev *vd, u8 kind)
{
	u64 aux[4] = { 0 };

	aux[0] = kind == VDIRT_BC_REPLACE ? VDIRT_BASELINE_OP_LOAD :
		 kind == VDIRT_BC_CAPTURE ? VDIRT_BASELINE_OP_CAPTURE :
		 VDIRT_BASELINE_OP_CLEAR;
	aux[1] = atomic64_read(&vd->cnt.baselined);
	/* a failed append went to the failure policy already */
	vdirt_log_append(vd, 0, VDIRT_KIND_BASELINE, 0, NULL, NULL, aux);
}

static int vdirt_bc_end(struct vdirt_dev *vd, u8 kind)
{
	lockdep_assert_held(&vd->baseline_lock);
	if (kind == VDIRT_BC_MCLEAR) {
		/* records and counts from before the walk go; later ones stay */
		mutex_lock(&vd->log_lock);
		if (vd->log_tail < vd->bc.log_head)
			vd->log_tail = vd->bc.log_head;
		atomic64_sub(min_t(u64, vd->bc.rm,
				   atomic64_read(&vd->cnt.read_mismatches)),
			     &vd->cnt.read_mismatches);
		atomic64_sub(min_t(u64, vd->bc.wd,
				   atomic64_read(&vd->cnt.write_drift)),
			     &vd->cnt.write_drift);
		mutex_unlock(&vd->log_lock);
		atomic_set(&vd->meta_dirty, 1);
		return vdirt_commit(vd);
	}
	if (kind == VDIRT_BC_PURGE) {
		mutex_lock(&vd->commit_lock);
		vd->sb_flags &= ~(VDIRT_SB_F_BASELINE_PARTIAL |
				  VDIRT_SB_F_BASELINE_STAGED |
				  VDIRT_SB_F_BASELINE);
		vdirt_uw_purged(vd);
		WRITE_ONCE(vd->baseline_partial, false);
		mutex_unlock(&vd->commit_lock);
		atomic_set(&vd->meta_dirty, 1);
		return vdirt_commit(vd);
	}
	if (kind == VDIRT_BC_CAPTURE)
		atomic64_set(&vd->cnt.baselined, vd->bc.count);
	else if (kind == VDIRT_BC_CLEAR)
		atomic64_set(&vd->cnt.baselined, 0);
	mutex_lock(&vd->commit_lock);
	vd->sb_flags &= ~(VDIRT_SB_F_BASELINE_PARTIAL |
			  VDIRT_SB_F_BASELINE_STAGED);
	if (atomic64_read(&vd->cnt.baselined))
		vd->sb_flags |= VDIRT_SB_F_BASELINE;
	else
		vd->sb_flags &= ~VDIRT_SB_F_BASELINE;
	WRITE_ONCE(vd->baseline_partial, false);
	mutex_unlock(&vd->commit_lock);
	vdirt_bc_record(vd, kind);
	atomic_set(&vd->meta_dirty, 1);
	return vdirt_commit(vd);
}

/* the change is over (done, failed or stopped for good) */
static void vdirt_bc_finish(struct vdirt_dev *vd, int r)
{
	mutex_lock(&vd->bc.lock);
	vd->bc.done_id = vd->bc.id;
	vd->bc.result = r;
	WRITE_ONCE(vd->bc.kind, VDIRT_BC_NONE);
	mutex_unlock(&vd->bc.lock);
}

/* what the worker does to each entry, by VDIRT_BC_* */
static const vdirt_walk_fn vdirt_bc_fns[] = {
	[VDIRT_BC_CAPTURE] = vdirt_capture_fn,
	[VDIRT_BC_CLEAR] = vdirt_bclear_fn,
	[VDIRT_BC_REPLACE] = vdirt_replace_fn,
	[VDIRT_BC_MCLEAR] = vdirt_mclear_fn,
	[VDIRT_BC_PURGE] = vdirt_purge_fn,
};

/* worker, replace: the staging read buffer, allocated without I/O */
static int vdirt_bc_rbuf(struct vdirt_dev *vd)
{
	unsigned int noio;

	vd->bc.rb_blocks = 0;
	if (vd->bc.rbuf)
		return 0;
	noio = memalloc_noio_save();
	vd->bc.rbuf = vdirt_staging_buf(GFP_KERNEL);
	memalloc_noio_restore(noio);
	return vd->bc.rbuf ? 0 : -ENOMEM;
}

static void vdirt_bc_work(struct work_struct *work)
{
	struct vdirt_dev *vd = container_of(work, struct vdirt_dev, bc.work);
	u8 kind = READ_ONCE(vd->bc.kind);
	vdirt_walk_fn fn = kind < ARRAY_SIZE(vdirt_bc_fns) ?
			   vdirt_bc_fns[kind] : NULL;
	sector_t pf = 0;
	u64 c, last;
	int r = 0;

	if (!fn)
		return;
	mutex_lock(&vd->baseline_lock);
	if (kind == VDIRT_BC_REPLACE)
		r = vdirt_bc_rbuf(vd);
	if (!r && !vd->bc.begun) {
		r = vdirt_bc_begin(vd, kind);
		vd->bc.begun = true;
	}
	for (c = READ_ONCE(vd->bc.pos); !r && c < vd->nr_clusters;
	     c = last + 1) {
		if (READ_ONCE(vd->bc.stop)) {
			/* paused: the position is kept, resume continues */
			mutex_unlock(&vd->baseline_lock);
			return;
		}
		if (READ_ONCE(vd->state) != VDIRT_STATE_OK) {
			r = -EIO;
			break;
		}
		last = min(c + vd->region_clusters, vd->nr_clusters) - 1;
		vdirt_walk_prefetch(vd, c, &pf);
		if (kind == VDIRT_BC_REPLACE)
			r = vdirt_replace_fill(vd, c, last);
		if (!r && kind == VDIRT_BC_PURGE)
			r = vdirt_purge_region(vd, c, last);
		else if (!r)
			r = vdirt_walk_region(vd, c, last, fn);
		if (!r)
			WRITE_ONCE(vd->bc.pos, last + 1);
		cond_resched();
	}
	if (!r)
		r = vdirt_bc_end(vd, kind);
	if (r) {
		if (kind != VDIRT_BC_MCLEAR && kind != VDIRT_BC_PURGE)
			WRITE_ONCE(vd->baseline_partial, true);
		VDLOG(DMERR, vd, "%s failed at cluster %llu of %llu (error %d)%s",
		      vdirt_bc_name(kind),
		      (unsigned long long)READ_ONCE(vd->bc.pos),
		      (unsigned long long)vd->nr_clusters, r,
		      vdirt_bc_cut_note(vd, kind));
	}
	mutex_unlock(&vd->baseline_lock);
	vdirt_bc_finish(vd, r);
}

void vdirt_bc_init(struct vdirt_dev *vd)
{
	mutex_init(&vd->baseline_lock);
	mutex_init(&vd->bc.lock);
	INIT_WORK(&vd->bc.work, vdirt_bc_work);
	vd->bc.quiesced = true;
}

/* bc.lock held, the worker idle: start a change of this kind */
static u64 vdirt_bc_queue(struct vdirt_dev *vd, u8 kind)
{
	lockdep_assert_held(&vd->bc.lock);
	vd->bc.begun = false;
	vd->bc.count = 0;
	WRITE_ONCE(vd->bc.pos, 0);
	WRITE_ONCE(vd->bc.stop, false);
	vd->bc.id = atomic64_inc_return(&vdirt_bc_ids);
	WRITE_ONCE(vd->bc.kind, kind);
	/* not on vd->wq: a long walk must never hold up its rescuer */
	queue_work(system_long_wq, &vd->bc.work);
	return vd->bc.id;
}

int vdirt_bc_start(struct vdirt_dev *vd, u8 kind, u64 *id)
{
	int r = 0;
	u64 n;

	if (READ_ONCE(vd->state) != VDIRT_STATE_OK)
		return -EIO;
	mutex_lock(&vd->bc.lock);
	if (vd->bc.quiesced || vd->bc.kind ||
	    (kind == VDIRT_BC_CAPTURE && READ_ONCE(vd->recovering))) {
		r = -EBUSY;
		goto out;
	}
	n = vdirt_bc_queue(vd, kind);
	if (id)
		*id = n;
out:
	mutex_unlock(&vd->bc.lock);
	return r;
}

u8 vdirt_bc_running(struct vdirt_dev *vd)
{
	return READ_ONCE(vd->bc.kind);
}

bool vdirt_quiesced(struct vdirt_dev *vd)
{
	return READ_ONCE(vd->bc.quiesced);
}

void vdirt_bc_get_info(struct vdirt_dev *vd, struct vdirt_bc_info *bi)
{
	mutex_lock(&vd->bc.lock);
	bi->kind = vd->bc.kind;
	bi->paused = vd->bc.kind && vd->bc.quiesced;
	bi->pos = READ_ONCE(vd->bc.pos);
	bi->total = vd->nr_clusters;
	bi->id = vd->bc.id;
	bi->done_id = vd->bc.done_id;
	bi->result = vd->bc.result;
	mutex_unlock(&vd->bc.lock);
}

void vdirt_bc_pause(struct vdirt_dev *vd)
{
	mutex_lock(&vd->bc.lock);
	vd->bc.quiesced = true;
	WRITE_ONCE(vd->bc.stop, true);
	mutex_unlock(&vd->bc.lock);
	flush_work(&vd->bc.work);
	mutex_lock(&vd->bc.lock);
	vd->bc.partial_saved = READ_ONCE(vd->baseline_partial);
	if (vd->bc.kind)
		VDLOG(DMINFO, vd, "%s paused at cluster %llu of %llu",
		      vdirt_bc_name(vd->bc.kind),
		      (unsigned long long)READ_ONCE(vd->bc.pos),
		      (unsigned long long)vd->nr_clusters);
	mutex_unlock(&vd->bc.lock);
}

/*
 * bc.lock held, no change running: a replace cut short (crash, error,
 * table gone) left its complete baseline in the staging area: apply it
 * again from the start.
 */
static void vdirt_bc_restage(struct vdirt_dev *vd)
{
	bool staged;

	lockdep_assert_held(&vd->bc.lock);
	if (vd->read_only || READ_ONCE(vd->state) != VDIRT_STATE_OK)
		return;
	if (READ_ONCE(vd->uw.purging)) {
		VDLOG(DMINFO, vd, "a purge's walk was cut short: walking again (%llu clusters)",
		      (unsigned long long)vd->nr_clusters);
		vdirt_bc_queue(vd, VDIRT_BC_PURGE);
		return;
	}
	mutex_lock(&vd->commit_lock);
	staged = vd->sb_flags & VDIRT_SB_F_BASELINE_STAGED;
	mutex_unlock(&vd->commit_lock);
	if (!staged || !vdirt_staging_present(vd))
		return;
	VDLOG(DMINFO, vd, "a baseline load was cut short: applying the staged baseline again (%llu clusters)",
	      (unsigned long long)vd->nr_clusters);
	vdirt_bc_queue(vd, VDIRT_BC_REPLACE);
}

void vdirt_bc_resume(struct vdirt_dev *vd)
{
	mutex_lock(&vd->bc.lock);
	vd->bc.quiesced = false;
	WRITE_ONCE(vd->bc.stop, false);
	if (!vd->bc.kind) {
		vdirt_bc_restage(vd);
	} else {
		/*
		 * The metadata reload of preresume saw our own bracket in the
		 * superblock: the change goes on, as it did before the pause.
		 */
		if (vd->bc.begun && !vd->bc.partial_saved)
			WRITE_ONCE(vd->baseline_partial, false);
		VDLOG(DMINFO, vd, "%s continues at cluster %llu of %llu",
		      vdirt_bc_name(vd->bc.kind),
		      (unsigned long long)READ_ONCE(vd->bc.pos),
		      (unsigned long long)vd->nr_clusters);
		queue_work(system_long_wq, &vd->bc.work);
	}
	mutex_unlock(&vd->bc.lock);
}

/* the purge's commit (commit_lock held): every cluster unwritten */
static void vdirt_purge_change(struct vdirt_dev *vd)
{
	lockdep_assert_held(&vd->commit_lock);
	vdirt_uw_purge(vd);
	/* baseline digests count no longer; the walk clears them */
	vd->sb_flags |= VDIRT_SB_F_BASELINE_PARTIAL;
	vd->sb_flags &= ~(VDIRT_SB_F_BASELINE_STAGED | VDIRT_SB_F_BASELINE);
	WRITE_ONCE(vd->baseline_partial, true);
	atomic64_set(&vd->cnt.measured, 0);
	atomic64_set(&vd->cnt.baselined, 0);
	vdirt_merkle_all_changed(vd);
}

int vdirt_purge_start(struct vdirt_dev *vd)
{
	u64 aux[4] = { 0 };
	int r;

	if (!vd->uw.zero)
		return -EOPNOTSUPP;
	if (vd->read_only)
		return -EROFS;
	if (READ_ONCE(vd->state) != VDIRT_STATE_OK)
		return -EIO;
	mutex_lock(&vd->bc.lock);
	if (vd->bc.quiesced || vd->bc.kind || READ_ONCE(vd->recovering)) {
		r = -EBUSY;
		goto out;
	}
	/* every leaf changes: no root may be computed meanwhile */
	r = vdirt_merkle_quiesce(vd);
	if (r)
		goto out;
	if (vdirt_staging_in_use(vd))
		r = -EBUSY;
	/* changed-block lists over this epoch hold every cluster */
	if (!r) {
		mutex_lock(&vd->commit_lock);
		r = vdirt_epoch_purged(vd);
		mutex_unlock(&vd->commit_lock);
	}
	if (!r) {
		aux[VDIRT_AUX_PURGE_CLUSTERS] = vd->nr_clusters;
		aux[VDIRT_AUX_PURGE_GEN] = vd->uw.gen + 1;
		r = vdirt_log_append(vd, 0, VDIRT_KIND_PURGE, 0, NULL, NULL,
				     aux);
	}
	if (!r)
		r = vdirt_commit_change(vd, vdirt_purge_change);
	vdirt_merkle_release(vd);
	if (!r) {
		VDLOG(DMINFO, vd, "purge: %llu clusters unwritten (generation %llu); clearing entries and discarding in the background",
		      (unsigned long long)vd->nr_clusters,
		      (unsigned long long)vd->uw.gen);
		vdirt_bc_queue(vd, VDIRT_BC_PURGE);
	}
out:
	mutex_unlock(&vd->bc.lock);
	return r;
}

static void vdirt_load_drop_dev(struct vdirt_dev *vd);

void vdirt_bc_stop(struct vdirt_dev *vd)
{
	u8 kind;

	vdirt_load_drop_dev(vd);
	mutex_lock(&vd->bc.lock);
	vd->bc.quiesced = true;
	WRITE_ONCE(vd->bc.stop, true);
	mutex_unlock(&vd->bc.lock);
	flush_work(&vd->bc.work);
	kind = READ_ONCE(vd->bc.kind);
	if (kind) {
		VDLOG(DMWARN, vd, "%s stopped at cluster %llu of %llu by the table going away%s",
		      vdirt_bc_name(kind),
		      (unsigned long long)READ_ONCE(vd->bc.pos),
		      (unsigned long long)vd->nr_clusters,
		      vdirt_bc_cut_note(vd, kind));
		vdirt_bc_finish(vd, -EINTR);
	}
	vfree(vd->bc.rbuf);
	vd->bc.rbuf = NULL;
}

/* ---- baseline loads, streamed into the staging area ---- */

/*
 * A load belongs to the netlink socket that began it and to one device
 * instance.  Digests come in cluster order; the load keeps the staging
 * block being filled in its buffer and writes each full buffer, so its
 * memory is VDIRT_STAGE_BUF whatever the device size.  Nothing changes
 * until the commit, which writes the last blocks and starts the replace;
 * an abandoned load leaves bytes in the staging area that nothing reads.
 */
struct vdirt_load {
	struct list_head node;	/* in vdirt_loads, vdirt_loads_lock */
	struct kref ref;	/* the list's, plus one per command using it */
	struct mutex lock;	/* serialises chunks and commit: buf, next */
	struct vdirt_dev *vd;	/* constant; alive while linked or used */
	u32 id;			/* constant */
	u32 portid;		/* constant: the owning socket */
	bool dead;		/* lock: aborted, closed or committed */
	u64 next;		/* lock: clusters received (all below it) */
	u64 buf_blk;		/* lock: staging block at the start of buf */
	void *buf;		/* lock: VDIRT_STAGE_BUF bytes */
};

static DEFINE_MUTEX(vdirt_loads_lock);	/* vdirt_loads, vd->bc.load, ids */
static LIST_HEAD(vdirt_loads);		/* open loads */
static unsigned int vdirt_nloads;	/* vdirt_loads_lock: open loads */
static u32 vdirt_load_next_id = 1;	/* vdirt_loads_lock */
/* lockless: loads are open, so that a socket close checks nothing else */
static atomic_t vdirt_loads_open = ATOMIC_INIT(0);

static void vdirt_load_free(struct kref *ref)
{
	struct vdirt_load *l = container_of(ref, struct vdirt_load, ref);

	vfree(l->buf);
	kfree(l);
}

/* vdirt_loads_lock held: l leaves the list and its device */
static void vdirt_load_unlink(struct vdirt_load *l)
{
	lockdep_assert_held(&vdirt_loads_lock);
	list_del_init(&l->node);
	if (l->vd->bc.load == l)
		l->vd->bc.load = NULL;
	vdirt_nloads--;
	atomic_dec(&vdirt_loads_open);
}

/*
 * Unlink l if still linked, mark it dead and drop the list's reference,
 * then the caller's.
 */
static void vdirt_load_end(struct vdirt_load *l)
{
	bool linked;

	mutex_lock(&vdirt_loads_lock);
	linked = !list_empty(&l->node);
	if (linked)
		vdirt_load_unlink(l);
	mutex_unlock(&vdirt_loads_lock);
	if (linked) {
		/* a command using it finishes first */
		mutex_lock(&l->lock);
		l->dead = true;
		mutex_unlock(&l->lock);
		kref_put(&l->ref, vdirt_load_free);
	}
	kref_put(&l->ref, vdirt_load_free);
}

/* the device's load begun by portid with this id, referenced, or NULL */
static struct vdirt_load *vdirt_load_get(struct vdirt_dev *vd, u32 portid,
					 u32 id, const char **why)
{
	struct vdirt_load *l;

	mutex_lock(&vdirt_loads_lock);
	l = vd->bc.load;
	if (l && l->id == id && l->portid == portid)
		kref_get(&l->ref);
	else
		l = NULL;
	mutex_unlock(&vdirt_loads_lock);
	if (!l)
		*why = "vdirt: no such baseline load on this device for this socket";
	return l;
}

/* the device may stage a load now: 0, or -errno with *why */
static int vdirt_load_allowed(struct vdirt_dev *vd, const char **why)
{
	bool staged;

	if (!vdirt_staging_present(vd)) {
		*why = "vdirt: metadata format 1 has no staging area: run vdirtctl upgrade on the metadata device";
		return -EOPNOTSUPP;
	}
	if (READ_ONCE(vd->state) != VDIRT_STATE_OK) {
		*why = "vdirt: refused: the device is degraded or failed";
		return -EIO;
	}
	mutex_lock(&vd->commit_lock);
	staged = vd->sb_flags & VDIRT_SB_F_BASELINE_STAGED;
	mutex_unlock(&vd->commit_lock);
	if (staged || vdirt_bc_running(vd) == VDIRT_BC_REPLACE) {
		*why = "vdirt: a loaded baseline is being applied: wait for it";
		return -EBUSY;
	}
	return 0;
}

/* vdirt_load_begin() with the tree's snap_lock held */
static int vdirt_load_begin_locked(struct vdirt_dev *vd, u32 portid, u32 *id,
				   const char **why)
{
	struct vdirt_load *l;
	int r;

	lockdep_assert_held(&vd->mk.snap_lock);
	r = vdirt_load_allowed(vd, why);
	if (r)
		return r;
	/* allocated without a lock: nothing global waits for vmalloc */
	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return -ENOMEM;
	l->buf = vdirt_staging_buf(GFP_KERNEL);
	if (!l->buf) {
		kfree(l);
		return -ENOMEM;
	}
	kref_init(&l->ref);
	mutex_init(&l->lock);
	INIT_LIST_HEAD(&l->node);
	l->vd = vd;
	l->portid = portid;

	mutex_lock(&vdirt_loads_lock);
	if (vd->bc.load || vdirt_nloads >= VDIRT_LOAD_MAX) {
		mutex_unlock(&vdirt_loads_lock);
		*why = vd->bc.load ?
			"vdirt: another baseline load is open on this device" :
			"vdirt: too many baseline loads open";
		kref_put(&l->ref, vdirt_load_free);
		return -EBUSY;
	}
	l->id = vdirt_load_next_id++;
	if (!vdirt_load_next_id)
		vdirt_load_next_id = 1;
	list_add(&l->node, &vdirt_loads);
	vd->bc.load = l;
	vdirt_nloads++;
	atomic_inc(&vdirt_loads_open);
	*id = l->id;
	mutex_unlock(&vdirt_loads_lock);
	return 0;
}

bool vdirt_staging_in_use(struct vdirt_dev *vd)
{
	bool staged, open;

	mutex_lock(&vd->commit_lock);
	staged = vd->sb_flags & VDIRT_SB_F_BASELINE_STAGED;
	mutex_unlock(&vd->commit_lock);
	mutex_lock(&vdirt_loads_lock);
	open = vd->bc.load;
	mutex_unlock(&vdirt_loads_lock);
	return staged || open || vdirt_bc_running(vd) == VDIRT_BC_REPLACE;
}

int vdirt_load_begin(struct vdirt_dev *vd, u32 portid, u32 *id,
		     const char **why)
{
	int r;

	/* a freeze of the attestation tree copies chunks to the staging area */
	mutex_lock(&vd->mk.snap_lock);
	if (vd->mk.freeze) {
		*why = "vdirt: a metadata snapshot or an attestation root uses the staging area: wait for it";
		r = -EBUSY;
	} else {
		r = vdirt_load_begin_locked(vd, portid, id, why);
	}
	mutex_unlock(&vd->mk.snap_lock);
	return r;
}

/* l->lock held: write buf's first nr blocks, zero padded */
static int vdirt_load_flush(struct vdirt_load *l, unsigned int nr)
{
	lockdep_assert_held(&l->lock);
	return vdirt_staging_io(l->vd, REQ_OP_WRITE, l->buf_blk, nr, l->buf);
}

/* l->lock held: append len bytes of digests at cluster l->next */
static int vdirt_load_append(struct vdirt_load *l, const u8 *p, u32 len)
{
	struct vdirt_dev *vd = l->vd;
	u64 pos = l->next * vd->digest_size;	/* staging byte */
	u32 off, n;
	int r;

	lockdep_assert_held(&l->lock);
	while (len) {
		off = pos - l->buf_blk * VDIRT_META_BLOCK_SIZE;
		if (off == VDIRT_STAGE_BUF) {
			r = vdirt_load_flush(l, VDIRT_STAGE_BUF_BLOCKS);
			if (r)
				return r;
			memset(l->buf, 0, VDIRT_STAGE_BUF);
			l->buf_blk += VDIRT_STAGE_BUF_BLOCKS;
			off = 0;
		}
		n = min(len, VDIRT_STAGE_BUF - off);
		memcpy(l->buf + off, p, n);
		p += n;
		pos += n;
		len -= n;
	}
	return 0;
}

/* l->lock held: unlock it and drop the caller's reference */
static void vdirt_load_unlock(struct vdirt_load *l)
{
	lockdep_assert_held(&l->lock);
	mutex_unlock(&l->lock);
	kref_put(&l->ref, vdirt_load_free);
}

/* the caller's live load, referenced and locked, or NULL */
static struct vdirt_load *vdirt_load_lock(struct vdirt_dev *vd, u32 portid,
					  u32 id, const char **why)
{
	struct vdirt_load *l = vdirt_load_get(vd, portid, id, why);

	if (!l)
		return NULL;
	mutex_lock(&l->lock);
	if (!l->dead)
		return l;
	vdirt_load_unlock(l);
	*why = "vdirt: no such baseline load on this device for this socket";
	return NULL;
}

/* l->lock held: the clusters of a chunk, or -errno with *why */
static s64 vdirt_load_chunk_clusters(struct vdirt_load *l, u64 first, u32 len,
				     const char **why)
{
	struct vdirt_dev *vd = l->vd;
	u64 n = len / vd->digest_size;

	lockdep_assert_held(&l->lock);
	if (!len || len % vd->digest_size) {
		*why = "vdirt: not a whole number of digests";
		return -EINVAL;
	}
	if (first >= vd->nr_clusters || n > vd->nr_clusters - first) {
		*why = "vdirt: cluster range beyond the device";
		return -ERANGE;
	}
	if (first != l->next) {
		*why = "vdirt: chunks must come in cluster order, each where the last ended";
		return -EINVAL;
	}
	return n;
}

int vdirt_load_chunk(struct vdirt_dev *vd, u32 portid, u32 id, u64 first,
		     const void *digests, u32 len, const char **why)
{
	struct vdirt_load *l = vdirt_load_lock(vd, portid, id, why);
	s64 n;
	int r;

	if (!l)
		return -ENOENT;
	n = vdirt_load_chunk_clusters(l, first, len, why);
	r = n < 0 ? n : vdirt_load_append(l, digests, len);
	if (!r)
		l->next += n;
	else if (n >= 0)
		*why = "vdirt: cannot write the staging area";
	vdirt_load_unlock(l);
	return r;
}

int vdirt_load_commit(struct vdirt_dev *vd, u32 portid, u32 id, u64 *change,
		      const char **why)
{
	struct vdirt_load *l;
	u64 used;
	int r;

	l = vdirt_load_lock(vd, portid, id, why);
	if (!l)
		return -ENOENT;
	r = -ENODATA;
	if (l->next != vd->nr_clusters) {
		*why = "vdirt: baseline incomplete, not committed";
		goto out;
	}
	/* the last blocks (again, if an earlier commit was refused) */
	used = l->next * vd->digest_size - l->buf_blk * VDIRT_META_BLOCK_SIZE;
	r = vdirt_load_flush(l, DIV_ROUND_UP(used, VDIRT_META_BLOCK_SIZE));
	if (r) {
		*why = "vdirt: cannot write the staging area";
		goto out;
	}
	/*
	 * Starting is quick (the worker does the replace); on a refusal
	 * the load stays open and may be committed again.
	 */
	r = vdirt_bc_start(vd, VDIRT_BC_REPLACE, change);
	if (r) {
		*why = r == -EBUSY ? "vdirt: busy: a baseline change runs or the device is suspended" :
				     "vdirt: refused: the device is degraded or failed";
		goto out;
	}
	l->dead = true;
out:
	mutex_unlock(&l->lock);
	if (!r)
		vdirt_load_end(l);
	else
		kref_put(&l->ref, vdirt_load_free);
	return r;
}

int vdirt_load_abort(struct vdirt_dev *vd, u32 portid, u32 id,
		     const char **why)
{
	struct vdirt_load *l;

	l = vdirt_load_get(vd, portid, id, why);
	if (!l)
		return -ENOENT;
	vdirt_load_end(l);
	return 0;
}

/*
 * A socket went away: its loads end.  This runs for every generic netlink
 * socket closed on the system: without an open load it takes no lock.
 */
void vdirt_load_release_port(u32 portid)
{
	struct vdirt_load *l;

	if (!atomic_read(&vdirt_loads_open))
		return;
	for (;;) {
		mutex_lock(&vdirt_loads_lock);
		list_for_each_entry(l, &vdirt_loads, node)
			if (l->portid == portid)
				break;
		if (list_entry_is_head(l, &vdirt_loads, node))
			l = NULL;
		else
			kref_get(&l->ref);
		mutex_unlock(&vdirt_loads_lock);
		if (!l)
			return;
		vdirt_load_end(l);
	}
}

/* destructor: the device's open load ends */
static void vdirt_load_drop_dev(struct vdirt_dev *vd)
{
	struct vdirt_load *l;

	mutex_lock(&vdirt_loads_lock);
	l = vd->bc.load;
	if (l)
		kref_get(&l->ref);
	mutex_unlock(&vdirt_loads_lock);
	if (l)
		vdirt_load_end(l);
}
