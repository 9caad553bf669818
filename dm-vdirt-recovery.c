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
	return READ_ONCE(vd->recovering) &&
	       vdirt_intent_pending(vd, vdirt_iregion(c)) &&
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

/* one cluster of a recovered range (digest NULL: it was unreadable) */
static int vdirt_recover_fn(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			    u64 c, const u8 *digest, void *arg)
{
	const u64 *now = arg;
	int r;

	r = vdirt_recover_cluster(vd, cur, c, digest, *now);
	if (r < 0)
		return r;
	vd->rcv.changed += r;
	vd->rcv.remeasured++;
	return 0;
}

/* clusters [first, last] of one lock region; its range lock is held */
static int vdirt_recover_range(struct vdirt_dev *vd, u64 first, u64 last)
{
	u64 now = ktime_get_real_ns();
	struct vdirt_digest_walk w = {
		.first = first,
		.last = last,
		.read = true,
		.unreadable = true,
		.fn = vdirt_recover_fn,
		.arg = &now,
	};
	int r;

	r = vdirt_digest_walk(vd, &w);
	if (w.read_err)
		VDLOG(DMERR_LIMIT, vd, "recovery: read error %d at cluster %llu",
		      w.read_err, (unsigned long long)first);
	return r;
}

/* every cluster of intent region reg, one lock region at a time */
static int vdirt_recover_region(struct vdirt_dev *vd, u64 reg)
{
	u64 c = reg << VDIRT_INTENT_SHIFT, last, end;
	struct vdirt_range range;
	int r = 0;

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
		WRITE_ONCE(vd->recover_done, vd->recover_done + last + 1 - c);
		cond_resched();
	}
	/* after an error the region stays pending for the next open */
	vdirt_intent_release(vd, reg, !r);
	return r;
}

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

/* the background recovery after an unclean shutdown (system_long_wq) */
static void vdirt_recover_work(struct work_struct *work)
{
	struct vdirt_dev *vd = container_of(work, struct vdirt_dev,
					    recover_work);
	u64 reg, nr = vd->intent.nr_regions;
	int r = 0;

	for (reg = vdirt_intent_next_pending(vd, 0); reg < nr;
	     reg = vdirt_intent_next_pending(vd, reg + 1)) {
		r = vdirt_recover_region(vd, reg);
		if (r)
			break;
		vd->rcv.regions++;
	}
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
		WRITE_ONCE(vd->recover_pos, 0);
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
