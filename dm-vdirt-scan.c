// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt background scan engine and the read pipeline it shares with
 * crash recovery (dm-vdirt-recovery.c).
 *
 * The pipeline: an engine hands out pieces of at most one lock region,
 * in ascending order (ops->next()).  A driver thread (the engine's work
 * item) keeps up to "depth" pieces in flight, one per slot: it allocates
 * the piece's pages, takes its range lock (without waiting: a range lock
 * granted later submits from the slot's work item) and submits the read
 * asynchronously.  When a read completes its slot's work item, on the
 * unbound system queue so that every CPU hashes, hashes the piece and
 * acts on it under the range lock (ops->piece()), unlocks and puts the
 * slot on the done list; the driver refills whichever slot finished
 * first.  The entry blocks of the next "depth" pieces are prefetched
 * when the pieces are handed out, before their reads are issued.  Pieces
 * finish out of order: the driver keeps the first cluster before which
 * every piece finished (p->pos), never past a piece that failed.
 *
 * The scan: the "scan" message (and netlink SCAN_START) reads every
 * cluster of the device through the pipeline (table option scan_depth
 * slots) and checks it against its expected digest, recording mismatches
 * with op=scan; new records are committed after the piece that added
 * them, once its range lock is released.
 */
#include <linux/kernel.h>
#include <linux/slab.h>

#include "dm-vdirt.h"

/* ---- the pipeline ---- */

unsigned int vdirt_pipe_depth(struct vdirt_dev *vd)
{
	unsigned int n;

	n = vd->opts.val[VDIRT_OPT_SCAN_DEPTH] ?: 2 * num_online_cpus();
	return clamp(n, 1U, VDIRT_SCAN_MAX_INFLIGHT);
}

/* the slot's piece is finished: hand it back to the driver */
static void vdirt_pipe_finish(struct vdirt_pipe *p, struct vdirt_pipe_slot *s)
{
	unsigned long flags;

	/* the wake-up under the lock: the driver may free p once it sees s */
	spin_lock_irqsave(&p->lock, flags);
	list_add_tail(&s->node, &p->done);
	wake_up(&p->wait);
	spin_unlock_irqrestore(&p->lock, flags);
}

/* a slot's work: submit once the range lock is granted, then hash */
static void vdirt_pipe_work(struct work_struct *work)
{
	struct vdirt_pipe_slot *s = container_of(work, struct vdirt_pipe_slot,
						 work);
	struct vdirt_pipe *p = s->p;
	struct vdirt_dev *vd = p->vd;

	if (!s->read_done) {
		submit_bio(s->pages);
		return;
	}
	p->ops->piece(p, s);
	vdirt_range_unlock(vd, &s->range);
	vdirt_free_page_bio(vd, s->pages);
	s->pages = NULL;
	if (p->ops->commit && s->r >= 0 && vdirt_records_unsynced(vd))
		vdirt_commit(vd);
	vdirt_pipe_finish(p, s);
}

/* the read completes (interrupt context): hash in process context */
static void vdirt_pipe_endio(struct bio *bio)
{
	struct vdirt_pipe_slot *s = bio->bi_private;

	s->read_err = blk_status_to_errno(bio->bi_status);
	s->read_done = true;
	queue_work(system_unbound_wq, &s->work);
}

/* a range lock granted to a waiting slot (under a bucket lock) */
static void vdirt_pipe_grant(struct vdirt_range *r)
{
	struct vdirt_pipe_slot *s = r->private;

	queue_work(system_unbound_wq, &s->work);
}

/* driver: start piece [first, last] in slot s */
static void vdirt_pipe_issue(struct vdirt_pipe *p, struct vdirt_pipe_slot *s,
			     u64 first, u64 last)
{
	struct vdirt_dev *vd = p->vd;
	struct bio *pb;

	s->first = first;
	s->last = last;
	s->read_done = false;
	s->read_err = 0;
	s->r = 0;
	s->count[0] = 0;
	s->count[1] = 0;
	s->busy = true;
	if (p->ops->start)
		p->ops->start(p, s);
	pb = vdirt_alloc_page_bio(vd, (last - first + 1) << vd->cluster_shift,
				  REQ_OP_READ);
	pb->bi_iter.bi_sector = first << vd->cluster_sectors_shift;
	pb->bi_end_io = vdirt_pipe_endio;
	pb->bi_private = s;
	s->pages = pb;
	s->range.first = first;
	s->range.last = last;
	s->range.grant = vdirt_pipe_grant;
	s->range.private = s;
	if (vdirt_range_trylock(vd, &s->range))
		submit_bio(pb);
}

/* driver: hand out upcoming pieces up to n, prefetching their entries */
static void vdirt_pipe_ahead(struct vdirt_pipe *p)
{
	struct vdirt_pipe_ahead *a;

	while (p->ahead_nr < p->n) {
		a = &p->ahead[(p->ahead_head + p->ahead_nr) % p->n];
		if (!p->ops->next(p, &p->cursor, &a->first, &a->last))
			break;
		vdirt_meta_prefetch(p->vd, a->first, a->last);
		p->ahead_nr++;
	}
}

/* driver: the first cluster before which every piece finished */
static u64 vdirt_pipe_low(struct vdirt_pipe *p)
{
	u64 low = p->ahead_nr ? p->ahead[p->ahead_head].first : p->cursor;
	unsigned int i;

	for (i = 0; i < p->n; i++)
		if (p->slots[i].busy)
			low = min(low, p->slots[i].first);
	return min(low, p->fail_pos);
}

/* driver: is another piece in flight inside [first, last]? */
bool vdirt_pipe_busy_in(struct vdirt_pipe *p, struct vdirt_pipe_slot *s,
			u64 first, u64 last)
{
	unsigned int i;

	for (i = 0; i < p->n; i++) {
		struct vdirt_pipe_slot *o = &p->slots[i];

		if (o != s && o->busy && o->first <= last && first <= o->last)
			return true;
	}
	return false;
}

static bool vdirt_pipe_any_done(struct vdirt_pipe *p)
{
	bool any;

	spin_lock_irq(&p->lock);
	any = !list_empty(&p->done);
	spin_unlock_irq(&p->lock);
	return any;
}

/* driver: take the finished slots */
static void vdirt_pipe_reap(struct vdirt_pipe *p, unsigned int *busy)
{
	struct vdirt_pipe_slot *s, *tmp;
	LIST_HEAD(done);

	wait_event(p->wait, vdirt_pipe_any_done(p));
	spin_lock_irq(&p->lock);
	list_splice_init(&p->done, &done);
	spin_unlock_irq(&p->lock);
	list_for_each_entry_safe(s, tmp, &done, node) {
		list_del(&s->node);
		(*busy)--;
		if (s->r < 0) {
			if (!p->err)
				p->err = s->r;
			p->fail_pos = min(p->fail_pos, s->first);
		}
		s->busy = false;
		if (p->ops->done)
			p->ops->done(p, s);
	}
	p->pos = vdirt_pipe_low(p);
}

int vdirt_pipe_run(struct vdirt_pipe *p, struct vdirt_dev *vd,
		   const struct vdirt_pipe_ops *ops, void *arg,
		   unsigned int depth, u64 from)
{
	unsigned int i, busy = 0;
	bool stopping = false;

	memset(p, 0, sizeof(*p));
	p->vd = vd;
	p->ops = ops;
	p->arg = arg;
	p->n = clamp(depth, 1U, VDIRT_SCAN_MAX_INFLIGHT);
	p->cursor = from;
	p->pos = from;
	p->fail_pos = U64_MAX;
	spin_lock_init(&p->lock);
	INIT_LIST_HEAD(&p->done);
	init_waitqueue_head(&p->wait);
	p->slots = kcalloc(p->n, sizeof(*p->slots), GFP_KERNEL);
	p->ahead = kcalloc(p->n, sizeof(*p->ahead), GFP_KERNEL);
	if (!p->slots || !p->ahead) {
		kfree(p->slots);
		kfree(p->ahead);
		return -ENOMEM;
	}
	for (i = 0; i < p->n; i++) {
		p->slots[i].p = p;
		INIT_WORK(&p->slots[i].work, vdirt_pipe_work);
	}
	for (;;) {
		if (!stopping && (p->err || ops->stop(p)))
			stopping = true;
		if (!stopping)
			vdirt_pipe_ahead(p);
		if (!stopping && p->ahead_nr && busy < p->n) {
			struct vdirt_pipe_ahead *a = &p->ahead[p->ahead_head];

			for (i = 0; p->slots[i].busy; i++)
				;
			vdirt_pipe_issue(p, &p->slots[i], a->first, a->last);
			p->ahead_head = (p->ahead_head + 1) % p->n;
			p->ahead_nr--;
			busy++;
			continue;
		}
		if (!busy)
			break;
		vdirt_pipe_reap(p, &busy);
	}
	p->pos = vdirt_pipe_low(p);
	kfree(p->slots);
	kfree(p->ahead);
	p->slots = NULL;
	p->ahead = NULL;
	return 0;
}

/* ---- the scan ---- */

static bool vdirt_scan_next(struct vdirt_pipe *p, u64 *pos, u64 *first,
			    u64 *last)
{
	struct vdirt_dev *vd = p->vd;

	if (*pos >= vd->nr_clusters)
		return false;
	*first = *pos;
	*last = min(*pos + vd->region_clusters, vd->nr_clusters) - 1;
	*pos = *last + 1;
	return true;
}

static bool vdirt_scan_should_stop(struct vdirt_pipe *p)
{
	return READ_ONCE(p->vd->scan.stop) || !vdirt_measuring(p->vd);
}

/* any CPU, the piece's range lock held */
static void vdirt_scan_piece(struct vdirt_pipe *p, struct vdirt_pipe_slot *s)
{
	struct vdirt_dev *vd = p->vd;
	struct vdirt_digest_walk w = {
		.first = s->first,
		.last = s->last,
		.pages = s->pages,
		.preread = true,
		.read_err = s->read_err,
	};
	bool mismatch = false;
	int r;

	r = vdirt_verify_clusters(vd, &w, VDIRT_OP_SCAN, &mismatch);
	if (w.read_err) {
		VDLOG(DMERR_LIMIT, vd, "scan: read error %d at cluster %llu",
		      w.read_err, (unsigned long long)s->first);
		r = 0;	/* go on with the next region */
	}
	s->r = r;
}

static void vdirt_scan_done(struct vdirt_pipe *p, struct vdirt_pipe_slot *s)
{
	WRITE_ONCE(p->vd->scan.pos, vdirt_pipe_low(p));
}

static const struct vdirt_pipe_ops vdirt_scan_ops = {
	.next = vdirt_scan_next,
	.stop = vdirt_scan_should_stop,
	.piece = vdirt_scan_piece,
	.done = vdirt_scan_done,
	.commit = true,
};

static void vdirt_scan_work(struct work_struct *work)
{
	struct vdirt_dev *vd = container_of(work, struct vdirt_dev, scan.work);
	struct vdirt_pipe p;
	u64 pos;

	if (vdirt_pipe_run(&p, vd, &vdirt_scan_ops, NULL,
			   vdirt_pipe_depth(vd), 0)) {
		VDLOG(DMERR, vd, "scan: cannot allocate %u slots",
		      vdirt_pipe_depth(vd));
		WRITE_ONCE(vd->scan.running, false);
		return;
	}
	pos = p.pos;
	WRITE_ONCE(vd->scan.pos, pos);
	VDLOG(DMINFO, vd, "scan %s at cluster %llu of %llu",
	      pos >= vd->nr_clusters ? "finished" : "stopped",
	      (unsigned long long)pos, (unsigned long long)vd->nr_clusters);
	WRITE_ONCE(vd->scan.running, false);
}

int vdirt_scan_start(struct vdirt_dev *vd)
{
	int r = 0;

	mutex_lock(&vd->scan.lock);
	if (READ_ONCE(vd->scan.running)) {
		r = -EBUSY;
	} else {
		WRITE_ONCE(vd->scan.stop, false);
		WRITE_ONCE(vd->scan.pos, 0);
		WRITE_ONCE(vd->scan.running, true);
		/* not on vd->wq: a scan must never hold up its rescuer */
		queue_work(system_long_wq, &vd->scan.work);
	}
	mutex_unlock(&vd->scan.lock);
	return r;
}

void vdirt_scan_stop(struct vdirt_dev *vd)
{
	mutex_lock(&vd->scan.lock);
	WRITE_ONCE(vd->scan.stop, true);
	flush_work(&vd->scan.work);
	mutex_unlock(&vd->scan.lock);
}

bool vdirt_scan_progress(struct vdirt_dev *vd, u64 *pos)
{
	*pos = READ_ONCE(vd->scan.pos);
	return READ_ONCE(vd->scan.running);
}

void vdirt_scan_init(struct vdirt_dev *vd)
{
	mutex_init(&vd->scan.lock);
	INIT_WORK(&vd->scan.work, vdirt_scan_work);
}

/* the destructor: no scan_lock (a message cannot run any more) */
void vdirt_scan_exit(struct vdirt_dev *vd)
{
	WRITE_ONCE(vd->scan.stop, true);
	flush_work(&vd->scan.work);
}
