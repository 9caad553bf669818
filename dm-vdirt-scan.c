// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt background scan engine: the "scan" message (and netlink
 * SCAN_START) reads every cluster of the device and checks it against
 * its expected digest, recording mismatches with op=scan.
 *
 * The scan keeps a few lock regions in flight (table option scan_depth),
 * each read, hashed and checked by its own work item on the unbound
 * system queue: one region's read overlaps others' hashing, and every CPU
 * hashes.  Each region is verified with the cluster layer's digest loop
 * under its range lock.
 */
#include <linux/kernel.h>
#include <linux/slab.h>

#include "dm-vdirt.h"

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
	struct vdirt_digest_walk w = {
		.first = it->first,
		.last = it->last,
		.read = true,
	};
	struct vdirt_range range;
	bool mismatch = false;
	int r;

	vdirt_range_lock_sync(vd, it->first, it->last, &range);
	r = vdirt_verify_clusters(vd, &w, VDIRT_OP_SCAN, &mismatch);
	if (w.read_err) {
		VDLOG(DMERR_LIMIT, vd, "scan: read error %d at cluster %llu",
		      w.read_err, (unsigned long long)it->first);
		r = 0;	/* go on with the next region */
	}
	vdirt_range_unlock(vd, &range);
	if (!r && vdirt_records_unsynced(vd))
		vdirt_commit(vd);
	it->r = r;
	complete(&it->done);
}

static void vdirt_scan_work(struct work_struct *work)
{
	struct vdirt_dev *vd = container_of(work, struct vdirt_dev, scan.work);
	unsigned int n, i, slot = 0, busy = 0, oldest;
	struct vdirt_scan_item *items;
	u64 pos = 0, next = 0;
	bool stop = false;

	n = vd->opts.val[VDIRT_OPT_SCAN_DEPTH] ?: 2 * num_online_cpus();
	n = clamp(n, 1U, VDIRT_SCAN_MAX_INFLIGHT);
	items = kcalloc(n, sizeof(*items), GFP_KERNEL);
	if (!items) {
		/* no slot: nothing to wait for (and no "% n" with n == 0) */
		VDLOG(DMERR, vd, "scan: cannot allocate %u slots", n);
		WRITE_ONCE(vd->scan.running, false);
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
			      READ_ONCE(vd->scan.stop) || !vdirt_measuring(vd)))
			stop = true;
		if (busy == n || (stop && busy)) {
			oldest = (slot + n - busy) % n;
			wait_for_completion(&items[oldest].done);
			busy--;
			if (items[oldest].r < 0)
				stop = true;
			else if (items[oldest].first == pos)
				pos = items[oldest].last + 1;
			WRITE_ONCE(vd->scan.pos, pos);
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
