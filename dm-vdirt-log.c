// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt record log (store layer): the ring of mismatch records
 * (VDIRT_LOG_CAPACITY records of VDIRT_RECORD_SIZE bytes in the log region
 * of the metadata device, read and written through the metadata cache),
 * and the events sent to the listeners (netlink, vdirt_event_ops) once the
 * commit that makes a record durable is done.  Record numbers below
 * log_durable are committed; the superblock carries head and tail.
 */
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "dm-vdirt.h"

/* a record waiting for the commit that makes it durable */
struct vdirt_event {
	struct list_head node;		/* in vd->events, by record number */
	struct vdirt_record rec;
};

/* the event hook: written under RCU, read under rcu_read_lock() */
static const struct vdirt_event_ops __rcu *vdirt_event_ops;

void vdirt_log_init(struct vdirt_dev *vd)
{
	mutex_init(&vd->log_lock);
	spin_lock_init(&vd->events_lock);
	INIT_LIST_HEAD(&vd->events);
}

static u32 vdirt_record_csum(const struct vdirt_disk_record *rec)
{
	struct vdirt_disk_record tmp;

	memcpy(&tmp, rec, sizeof(tmp));
	tmp.csum = 0;
	return crc32c(~0U, &tmp, sizeof(tmp));
}

/* the on-disk image of rec: the one place a record is packed */
static void vdirt_record_pack(const struct vdirt_record *rec,
			      struct vdirt_disk_record *d)
{
	int i;

	memset(d, 0, sizeof(*d));
	d->seq = cpu_to_le64(rec->seq);
	d->cluster = cpu_to_le64(rec->cluster);
	d->time_ns = cpu_to_le64(rec->time_ns);
	d->kind = rec->kind;
	d->op = rec->op;
	d->digest_size = rec->digest_size;
	memcpy(d->expected, rec->expected, rec->digest_size);
	memcpy(d->actual, rec->actual, rec->digest_size);
	for (i = 0; i < ARRAY_SIZE(d->aux); i++)
		d->aux[i] = cpu_to_le64(rec->aux[i]);
	d->csum = cpu_to_le32(vdirt_record_csum(d));
}

/* rec from its on-disk image d of record seq, or -EILSEQ */
static int vdirt_record_unpack(struct vdirt_dev *vd,
			       const struct vdirt_disk_record *d, u64 seq,
			       struct vdirt_record *rec)
{
	int i;

	if (le64_to_cpu(d->seq) != seq ||
	    le32_to_cpu(d->csum) != vdirt_record_csum(d) ||
	    d->digest_size != vd->digest_size)
		return -EILSEQ;
	memset(rec, 0, sizeof(*rec));
	rec->seq = seq;
	rec->cluster = le64_to_cpu(d->cluster);
	rec->time_ns = le64_to_cpu(d->time_ns);
	rec->kind = d->kind;
	rec->op = d->op;
	rec->digest_size = d->digest_size;
	memcpy(rec->expected, d->expected, d->digest_size);
	memcpy(rec->actual, d->actual, d->digest_size);
	for (i = 0; i < ARRAY_SIZE(rec->aux); i++)
		rec->aux[i] = le64_to_cpu(d->aux[i]);
	return 0;
}

/* the slot of record seq in its cached log block; log_lock held */
static struct vdirt_disk_record *vdirt_log_slot(struct vdirt_dev *vd, u64 seq,
						struct dm_buffer **bp)
{
	u64 idx = seq % VDIRT_LOG_CAPACITY;
	u8 *p;

	lockdep_assert_held(&vd->log_lock);
	p = vdirt_meta_read(vd, vd->layout.log_start +
			    idx / VDIRT_RECORDS_PER_BLOCK, bp);
	if (IS_ERR(p))
		return ERR_CAST(p);
	return (struct vdirt_disk_record *)
	       (p + (idx % VDIRT_RECORDS_PER_BLOCK) * VDIRT_RECORD_SIZE);
}

/* the record log up to the current head goes into the next superblock */
void vdirt_log_snapshot(struct vdirt_dev *vd)
{
	lockdep_assert_held(&vd->commit_lock);
	mutex_lock(&vd->log_lock);
	vd->log_committing = vd->log_head;
	memcpy(vd->log_hash_committing, vd->log_hash,
	       sizeof(vd->log_hash_committing));
	mutex_unlock(&vd->log_lock);
}

void vdirt_set_event_ops(const struct vdirt_event_ops *ops)
{
	rcu_assign_pointer(vdirt_event_ops, ops);
	synchronize_rcu();
}

static void vdirt_event_send(struct vdirt_dev *vd,
			     const struct vdirt_record *rec)
{
	const struct vdirt_event_ops *ops;

	rcu_read_lock();
	ops = rcu_dereference(vdirt_event_ops);
	if (ops && ops->mismatch)
		ops->mismatch(vd, rec);
	rcu_read_unlock();
}

/*
 * Send the events of records numbered below "below": from the commit that
 * made them durable, or from a commit refused in a degraded or failed state
 * (U64_MAX: they never will be).
 */
void vdirt_events_deliver(struct vdirt_dev *vd, u64 below)
{
	struct vdirt_event *ev, *tmp;
	LIST_HEAD(list);

	spin_lock(&vd->events_lock);
	list_for_each_entry_safe(ev, tmp, &vd->events, node) {
		if (ev->rec.seq >= below)
			break;
		list_move_tail(&ev->node, &list);
	}
	spin_unlock(&vd->events_lock);
	list_for_each_entry_safe(ev, tmp, &list, node) {
		vdirt_event_send(vd, &ev->rec);
		list_del(&ev->node);
		kfree(ev);
	}
}

void vdirt_events_free(struct vdirt_dev *vd)
{
	struct vdirt_event *ev, *tmp;

	list_for_each_entry_safe(ev, tmp, &vd->events, node) {
		list_del(&ev->node);
		kfree(ev);
	}
}

bool vdirt_records_unsynced(struct vdirt_dev *vd)
{
	return READ_ONCE(vd->log_head) != READ_ONCE(vd->log_durable);
}

/* the counter a record of this kind adds to */
static void vdirt_record_count(struct vdirt_dev *vd, u8 kind)
{
	if (kind == VDIRT_KIND_READ_MISMATCH || kind == VDIRT_KIND_ROLLBACK)
		atomic64_inc(&vd->cnt.read_mismatches);
	else if (kind == VDIRT_KIND_WRITE_DRIFT)
		atomic64_inc(&vd->cnt.write_drift);
}

/*
 * Store a record (aux: VDIRT_KIND_RECOVERY only, else NULL).  It becomes
 * visible (report, netlink dump and event) once a commit made it durable;
 * the caller commits before completing the I/O that found it, and the
 * layer above is told (store_ops->records_added) so that the records are
 * durable soon even if the caller does not commit.
 */
int vdirt_log_append(struct vdirt_dev *vd, u64 cluster, u8 kind, u8 op,
		     const u8 *expected, const u8 *actual, const u64 *aux)
{
	struct vdirt_disk_record *slot;
	struct vdirt_event *ev;
	struct dm_buffer *b;

	ev = kzalloc(sizeof(*ev), GFP_NOIO | __GFP_NOWARN);
	if (!ev) {
		vdirt_store_error(vd, "mismatch record allocation", -ENOMEM);
		return -ENOMEM;
	}
	ev->rec.cluster = cluster;
	ev->rec.kind = kind;
	ev->rec.op = op;
	ev->rec.digest_size = vd->digest_size;
	ev->rec.time_ns = ktime_get_real_ns();
	memcpy(ev->rec.expected, expected, vd->digest_size);
	memcpy(ev->rec.actual, actual, vd->digest_size);
	if (aux)
		memcpy(ev->rec.aux, aux, sizeof(ev->rec.aux));

	mutex_lock(&vd->log_lock);
	ev->rec.seq = vd->log_head;
	slot = vdirt_log_slot(vd, ev->rec.seq, &b);
	if (IS_ERR(slot)) {
		mutex_unlock(&vd->log_lock);
		kfree(ev);
		vdirt_store_error(vd, "mismatch log read", PTR_ERR(slot));
		return PTR_ERR(slot);
	}
	vdirt_record_pack(&ev->rec, slot);
	dm_bufio_mark_buffer_dirty(b);
	dm_bufio_release(b);
	WRITE_ONCE(vd->log_head, ev->rec.seq + 1);
	vdirt_record_count(vd, kind);
	atomic_set(&vd->meta_dirty, 1);
	spin_lock(&vd->events_lock);
	list_add_tail(&ev->node, &vd->events);
	spin_unlock(&vd->events_lock);
	mutex_unlock(&vd->log_lock);

	vd->store_ops->records_added(vd);
	return 0;
}

int vdirt_record_read(struct vdirt_dev *vd, u64 seq, struct vdirt_record *out)
{
	const struct vdirt_disk_record *slot;
	struct dm_buffer *b;
	u64 first;
	int r;

	mutex_lock(&vd->log_lock);
	first = vd->log_tail;
	if (vd->log_head > VDIRT_LOG_CAPACITY &&
	    first < vd->log_head - VDIRT_LOG_CAPACITY)
		first = vd->log_head - VDIRT_LOG_CAPACITY;
	/* only committed records are visible */
	if (seq < first || seq >= vd->log_durable) {
		r = -ENOENT;
		goto out;
	}
	slot = vdirt_log_slot(vd, seq, &b);
	if (IS_ERR(slot)) {
		r = PTR_ERR(slot);
		goto out;
	}
	r = vdirt_record_unpack(vd, slot, seq, out);
	dm_bufio_release(b);
out:
	mutex_unlock(&vd->log_lock);
	return r;
}
