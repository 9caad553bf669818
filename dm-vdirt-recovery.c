// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt crash recovery engine.
 *
 * After an unclean shutdown the write-intent bitmap (dm-vdirt-intent.c)
 * leaves the regions that may hold writes whose digests were never
 * committed pending.  At resume this engine takes that set and, in the
 * background (system_long_wq), measures every cluster of every pending
 * region again from the data device, one lock region at a time under its
 * range lock, storing what it finds as a write would (op=recovery).  Reads
 * that reach a cluster before the recovery does measure it on the spot
 * (vdirt_recover_cluster() from the I/O path).  At the end one summary
 * record (kind=recovery) is committed.  See "Crash consistency" in
 * Documentation/dm-vdirt.rst.
 */
#include <linux/blkdev.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#include "dm-vdirt.h"

static void vdirt_recover_work(struct work_struct *work);

void vdirt_recover_init(struct vdirt_dev *vd)
{
	INIT_WORK(&vd->recover_work, vdirt_recover_work);
}

/* is cluster c still to be recovered? (lockless; range lock held) */
bool vdirt_unrecovered(struct vdirt_dev *vd, u64 c)
{
	unsigned long *done;

	if (!READ_ONCE(vd->recovering) ||
	    !vdirt_intent_pending(vd, vdirt_iregion(c)))
		return false;
	/* a piece's bit is set before its range lock is released */
	done = READ_ONCE(vd->recover_bits);
	return !done || !test_bit(c >> vd->region_shift, done);
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

	/* unwritten: what the data device holds does not count */
	if (vdirt_uw_hidden(vd, c))
		return 0;
	e = vdirt_cursor_get(vd, cur, c);
	if (IS_ERR(e))
		return PTR_ERR(e);
	if (vdirt_has_baseline(vd, e) && !(e->flags & VDIRT_E_WRITTEN))
		exp = vdirt_entry_baseline(vd, e);
	else if (e->flags & VDIRT_E_CURRENT)
		exp = vdirt_entry_current(e);
	if (digest ? exp && !memcmp(exp, digest, vd->digest_size) : !exp)
		return vdirt_wset_recovered(vd, cur, c, e);
	/*
	 * Measured for the first time: a write before the crash whose entry
	 * was lost, or a cluster never written.  Zeroes are taken as never
	 * written (not a change for the write set, unless the entry names
	 * the crashed epoch); other content as written.
	 */
	if (!exp && !memcmp(digest, vd->zero_digest, vd->digest_size)) {
		r = vdirt_wset_recovered(vd, cur, c, e);
		return r ?: vdirt_update_cluster(vd, cur, c, digest, now,
						 VDIRT_OP_RECOVERY |
						 VDIRT_OP_NO_WSET);
	}
	r = vdirt_update_cluster(vd, cur, c, digest, now, VDIRT_OP_RECOVERY);
	/* a cluster measured for the first time did not change */
	return r ? r : !!exp;
}

/* a slot's counts (struct vdirt_pipe_slot count[]) */
enum {
	VDIRT_RCV_REMEASURED,	/* clusters measured again */
	VDIRT_RCV_CHANGED,	/* of which the expected digest changed */
};

struct vdirt_recover_arg {
	struct vdirt_pipe_slot *s;
	u64 now;
};

/* one cluster of a recovered piece (digest NULL: it was unreadable) */
static int vdirt_recover_fn(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			    u64 c, const u8 *digest, void *arg)
{
	struct vdirt_recover_arg *a = arg;
	int r;

	r = vdirt_recover_cluster(vd, cur, c, digest, a->now);
	if (r < 0)
		return r;
	a->s->count[VDIRT_RCV_CHANGED] += r;
	a->s->count[VDIRT_RCV_REMEASURED]++;
	return 0;
}

/* the pieces left: lock regions of pending intent regions, not done */
static bool vdirt_recover_next(struct vdirt_pipe *p, u64 *pos, u64 *first,
			       u64 *last)
{
	struct vdirt_dev *vd = p->vd;
	u64 c = *pos, reg, end;

	while (c < vd->nr_clusters) {
		reg = vdirt_iregion(c);
		if (!vdirt_intent_pending(vd, reg)) {
			reg = vdirt_intent_next_pending(vd, reg + 1);
			if (reg >= vd->intent.nr_regions)
				break;
			c = reg << VDIRT_INTENT_SHIFT;
		}
		/* a lock region never crosses an intent region */
		end = min(vdirt_region_first(vd, c) + vd->region_clusters,
			  vd->nr_clusters);
		if (!test_bit(c >> vd->region_shift, vd->recover_bits)) {
			*first = c;
			*last = end - 1;
			*pos = end;
			return true;
		}
		c = end;
	}
	*pos = vd->nr_clusters;
	return false;
}

static bool vdirt_recover_should_stop(struct vdirt_pipe *p)
{
	return READ_ONCE(p->vd->recover_stop) ||
	       READ_ONCE(p->vd->state) != VDIRT_STATE_OK;
}

/* driver: the intent region's bit is held while its pieces are read */
static void vdirt_recover_piece_start(struct vdirt_pipe *p,
				      struct vdirt_pipe_slot *s)
{
	vdirt_intent_hold(p->vd, vdirt_iregion(s->first));
}

/* any CPU, the piece's range lock held */
static void vdirt_recover_piece(struct vdirt_pipe *p, struct vdirt_pipe_slot *s)
{
	struct vdirt_dev *vd = p->vd;
	struct vdirt_recover_arg a = { .s = s, .now = ktime_get_real_ns() };
	struct vdirt_digest_walk w = {
		.first = s->first,
		.last = s->last,
		.pages = s->pages,
		.preread = true,
		.read_err = s->read_err,
		.unreadable = true,
		.fn = vdirt_recover_fn,
		.arg = &a,
	};

	s->r = vdirt_digest_walk(vd, &w);
	if (w.read_err)
		VDLOG(DMERR_LIMIT, vd, "recovery: read error %d at cluster %llu",
		      w.read_err, (unsigned long long)s->first);
	/* before the range lock goes: from now on no access measures it */
	if (!s->r)
		set_bit(s->first >> vd->region_shift, vd->recover_bits);
}

/* are all pieces of intent region reg done? */
static bool vdirt_recover_region_done(struct vdirt_dev *vd, u64 reg)
{
	u64 c = reg << VDIRT_INTENT_SHIFT;
	u64 end = min(c + VDIRT_INTENT_REGION_CLUSTERS, vd->nr_clusters);

	for (; c < end; c += vd->region_clusters)
		if (!test_bit(c >> vd->region_shift, vd->recover_bits))
			return false;
	return true;
}

/*
 * Driver: a piece is finished.  The last one of its intent region in
 * flight releases the region, as recovered once every piece of it is done
 * (after an error the region stays pending for the next activation).
 */
static void vdirt_recover_piece_done(struct vdirt_pipe *p,
				     struct vdirt_pipe_slot *s)
{
	struct vdirt_dev *vd = p->vd;
	u64 reg = vdirt_iregion(s->first), rf = reg << VDIRT_INTENT_SHIFT;
	bool done = false;

	vd->rcv.changed += s->count[VDIRT_RCV_CHANGED];
	vd->rcv.remeasured += s->count[VDIRT_RCV_REMEASURED];
	WRITE_ONCE(vd->recover_done,
		   vd->recover_done + s->last + 1 - s->first);
	if (!vdirt_pipe_busy_in(p, s, rf, rf + VDIRT_INTENT_REGION_CLUSTERS - 1) &&
	    vdirt_recover_region_done(vd, reg))
		done = vdirt_intent_pending(vd, reg);
	vdirt_intent_release(vd, reg, done);
	if (done)
		vd->rcv.regions++;
}

static const struct vdirt_pipe_ops vdirt_recover_ops = {
	.next = vdirt_recover_next,
	.stop = vdirt_recover_should_stop,
	.start = vdirt_recover_piece_start,
	.piece = vdirt_recover_piece,
	.done = vdirt_recover_piece_done,
};

/* the recovery is complete: log the summary record and commit it */
static void vdirt_recover_summary(struct vdirt_dev *vd)
{
	u64 aux[4];

	aux[VDIRT_AUX_REGIONS] = vd->rcv.regions;
	aux[VDIRT_AUX_REMEASURED] = vd->rcv.remeasured;
	aux[VDIRT_AUX_CHANGED] = vd->rcv.changed;
	aux[VDIRT_AUX_ON_READ] = atomic64_read(&vd->rcv.on_read);
	VDLOG(DMINFO, vd, "recovery finished: %llu regions, %llu clusters measured again, %llu changed, %llu measured on read first",
	      (unsigned long long)aux[0], (unsigned long long)aux[1],
	      (unsigned long long)aux[2], (unsigned long long)aux[3]);
	if (!vdirt_log_append(vd, 0, VDIRT_KIND_RECOVERY, VDIRT_OP_RECOVERY,
			      vd->zero_digest, vd->zero_digest, aux))
		vdirt_commit(vd);
}

/* the done bits, one per lock region of the device (recovery work) */
static int vdirt_recover_alloc(struct vdirt_dev *vd)
{
	u64 pieces = DIV_ROUND_UP_ULL(vd->nr_clusters, vd->region_clusters);
	unsigned long *bits;

	if (vd->recover_bits)
		return 0;
	bits = kvcalloc(BITS_TO_LONGS(pieces), sizeof(long), GFP_KERNEL);
	if (!bits)
		return -ENOMEM;
	/* published after zeroing: NULL reads as "nothing done yet" */
	smp_store_release(&vd->recover_bits, bits);
	return 0;
}

/* the background recovery after an unclean shutdown (system_long_wq) */
static void vdirt_recover_work(struct work_struct *work)
{
	struct vdirt_dev *vd = container_of(work, struct vdirt_dev,
					    recover_work);
	struct vdirt_pipe p;
	int r;

	r = vdirt_recover_alloc(vd);
	if (!r)
		r = vdirt_pipe_run(&p, vd, &vdirt_recover_ops, NULL,
				   vdirt_pipe_depth(vd), 0);
	if (!r)
		r = p.err;
	if (!r && vdirt_intent_next_pending(vd, 0) < vd->intent.nr_regions)
		r = -EINTR;
	if (r) {
		VDLOG(DMWARN, vd, "recovery stopped at cluster %llu of %llu (%d): it continues on the next activation",
		      (unsigned long long)READ_ONCE(vd->recover_done),
		      (unsigned long long)vd->recover_total, r);
		return;
	}
	vdirt_recover_summary(vd);
	/* status shows the end once the summary is durable */
	WRITE_ONCE(vd->recovering, false);
}

/*
 * Resume or presuspend_undo (serialised by dm, the work is not running):
 * a new load of the bitmap (preresume) starts a new recovery of the
 * regions it left pending; else a stopped one goes on.
 */
void vdirt_recover_start(struct vdirt_dev *vd)
{
	u64 clusters;

	if (vdirt_intent_loaded(vd, &vd->recover_seq, &clusters)) {
		vd->rcv.regions = 0;
		vd->rcv.remeasured = 0;
		vd->rcv.changed = 0;
		atomic64_set(&vd->rcv.on_read, 0);
		vd->recover_total = clusters;
		WRITE_ONCE(vd->recover_done, 0);
		/* the work is not running; no access tests the bits yet */
		if (vd->recover_bits)
			bitmap_zero(vd->recover_bits,
				    DIV_ROUND_UP_ULL(vd->nr_clusters,
						     vd->region_clusters));
		WRITE_ONCE(vd->recovering, clusters != 0);
	}
	WRITE_ONCE(vd->recover_stop, false);
	if (READ_ONCE(vd->recovering))
		queue_work(system_long_wq, &vd->recover_work);
}

void vdirt_recover_stop(struct vdirt_dev *vd)
{
	WRITE_ONCE(vd->recover_stop, true);
	flush_work(&vd->recover_work);
}

/* dtr: stop, and free the done bits (no I/O any more) */
void vdirt_recover_exit(struct vdirt_dev *vd)
{
	vdirt_recover_stop(vd);
	kvfree(vd->recover_bits);
	vd->recover_bits = NULL;
}
