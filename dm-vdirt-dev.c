// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt device registry and state.
 *
 * - the device list: every constructed instance, in construction order;
 *   lookups by dm device number or dm name find the live instance of a
 *   reload and return it with a reference;
 * - the failure policy (vdirt_set_error()) and the state checks before
 *   work that changes metadata;
 * - device-wide resources used by every layer: the work queue, the bio set;
 * - the periodic commit, and the store's way up (struct vdirt_store_ops:
 *   the failure policy, the commit soon after records were added, a
 *   write whose write-intent bit is on disk going on), installed by
 *   vdirt_dev_init();
 * - the device summary read by status and netlink (vdirt_get_info()).
 */
#include <linux/kernel.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>

#include "dm-vdirt.h"

#define VDIRT_BIOSET_SIZE	64

static DEFINE_MUTEX(vdirt_devices_lock);	/* protects vdirt_devices */
static LIST_HEAD(vdirt_devices);		/* of vdirt_dev.reg.list */

/* ---- logging and the failure policy ---- */

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

void vdirt_set_error(struct vdirt_dev *vd, const char *what, int err)
{
	atomic64_inc(&vd->cnt.meta_errors);
	if (vd->opts.fail_open) {
		if (cmpxchg(&vd->state, VDIRT_STATE_OK,
			    VDIRT_STATE_DEGRADED) == VDIRT_STATE_OK) {
			VDLOG(DMERR, vd, "%s failed (error %d): fail_open, measuring stopped, state=degraded",
			      what, err);
			if (vd->wq)
				queue_work(vd->wq, &vd->untracked_work);
		}
	} else {
		if (xchg(&vd->state, VDIRT_STATE_FAILED) != VDIRT_STATE_FAILED)
			VDLOG(DMERR, vd, "%s failed (error %d): failing I/O, state=failed",
			      what, err);
	}
}

const char *vdirt_state_name(int state)
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

int vdirt_dev_can_start(struct vdirt_dev *vd)
{
	if (!vdirt_measuring(vd))
		return -EIO;
	if (vdirt_quiesced(vd))
		return -EBUSY;
	return 0;
}

/* ---- the device list ---- */

/*
 * During a table reload two instances share one dm device: the inactive
 * table's (constructed, not resumed) and the live one's.  A lookup finds
 * the one that is not suspended, else the newest (the list is in
 * construction order), which is the one a resume makes live.
 */
static struct vdirt_dev *vdirt_find_by_devt(dev_t devt)
{
	struct vdirt_dev *vd, *found = NULL;

	lockdep_assert_held(&vdirt_devices_lock);
	list_for_each_entry(vd, &vdirt_devices, reg.list) {
		if (vd->devt != devt)
			continue;
		found = vd;
		if (!READ_ONCE(vd->reg.suspended))
			break;
	}
	return found;
}

static struct vdirt_dev *vdirt_find_by_name(const char *name)
{
	char dm_name[DM_NAME_LEN];
	struct vdirt_dev *vd;

	lockdep_assert_held(&vdirt_devices_lock);
	list_for_each_entry(vd, &vdirt_devices, reg.list) {
		if (dm_copy_name_and_uuid(dm_table_get_md(vd->ti->table),
					  dm_name, NULL))
			continue;
		if (!strcmp(dm_name, name))
			return vdirt_find_by_devt(vd->devt);
	}
	return NULL;
}

/* vd (or NULL) with a reference */
static struct vdirt_dev *vdirt_dev_get(struct vdirt_dev *vd)
{
	lockdep_assert_held(&vdirt_devices_lock);
	if (vd)
		refcount_inc(&vd->reg.refs);
	return vd;
}

void vdirt_dev_put(struct vdirt_dev *vd)
{
	if (refcount_dec_and_test(&vd->reg.refs))
		complete(&vd->reg.released);
}

struct vdirt_dev *vdirt_dev_get_by_devt(dev_t devt)
{
	struct vdirt_dev *vd;

	mutex_lock(&vdirt_devices_lock);
	vd = vdirt_dev_get(vdirt_find_by_devt(devt));
	mutex_unlock(&vdirt_devices_lock);
	return vd;
}

struct vdirt_dev *vdirt_dev_get_by_name(const char *name)
{
	struct vdirt_dev *vd;

	mutex_lock(&vdirt_devices_lock);
	vd = vdirt_dev_get(vdirt_find_by_name(name));
	mutex_unlock(&vdirt_devices_lock);
	return vd;
}

struct vdirt_dev *vdirt_dev_get_next(long *pos)
{
	struct vdirt_dev *vd, *found = NULL;
	long i = 0;

	mutex_lock(&vdirt_devices_lock);
	list_for_each_entry(vd, &vdirt_devices, reg.list) {
		if (i++ < *pos)
			continue;
		if (vdirt_find_by_devt(vd->devt) != vd)
			continue;	/* the other table of a reload */
		found = vdirt_dev_get(vd);
		break;
	}
	mutex_unlock(&vdirt_devices_lock);
	*pos = i;
	return found;
}

void vdirt_dev_list(struct vdirt_dev *vd)
{
	mutex_lock(&vdirt_devices_lock);
	list_add_tail(&vd->reg.list, &vdirt_devices);
	mutex_unlock(&vdirt_devices_lock);
}

/* destructor: no new lookup finds vd; wait until the last user is gone */
void vdirt_dev_unlist(struct vdirt_dev *vd)
{
	mutex_lock(&vdirt_devices_lock);
	list_del_init(&vd->reg.list);
	mutex_unlock(&vdirt_devices_lock);
	vdirt_dev_put(vd);
	wait_for_completion(&vd->reg.released);
}

void vdirt_dev_set_suspended(struct vdirt_dev *vd, bool suspended)
{
	WRITE_ONCE(vd->reg.suspended, suspended);
}

/*
 * Our preresume: any other instance on our metadata device (the table we
 * replace) must never write it again, or it would undo our state.
 */
void vdirt_dev_retire_others(struct vdirt_dev *vd)
{
	struct vdirt_dev *o;

	mutex_lock(&vdirt_devices_lock);
	list_for_each_entry(o, &vdirt_devices, reg.list)
		if (o != vd && o->meta_dev->bdev == vd->meta_dev->bdev)
			WRITE_ONCE(o->retired, true);
	mutex_unlock(&vdirt_devices_lock);
}

/* ---- the periodic commit ---- */

static void vdirt_commit_work(struct work_struct *work)
{
	struct vdirt_dev *vd = container_of(to_delayed_work(work),
					    struct vdirt_dev, commit_work);

	if (!READ_ONCE(vd->periodic))
		return;
	/*
	 * Entries are committed every commit_s seconds, and at once when
	 * records wait (vdirt_records_added()).  A commit is not what keeps
	 * a crash from raising false alarms: the write-intent bits are, and
	 * a bit is cleared only after a commit of its own (intent_idle_s).
	 */
	if (vdirt_records_unsynced(vd) ||
	    ++vd->commit_ticks >= vd->opts.val[VDIRT_OPT_COMMIT_S]) {
		vd->commit_ticks = 0;
		vdirt_commit(vd);
	}
	vdirt_intent_clear_idle(vd);
	vdirt_cache_trim(vd);
	if (READ_ONCE(vd->periodic))
		queue_delayed_work(vd->wq, &vd->commit_work, HZ);
}

void vdirt_periodic_start(struct vdirt_dev *vd)
{
	WRITE_ONCE(vd->periodic, true);
	queue_delayed_work(vd->wq, &vd->commit_work, HZ);
}

void vdirt_periodic_stop(struct vdirt_dev *vd)
{
	WRITE_ONCE(vd->periodic, false);
	cancel_delayed_work_sync(&vd->commit_work);
}

/* ---- how the store reports up ---- */

/* records were stored: the commit work makes them durable soon */
static void vdirt_records_added(struct vdirt_dev *vd)
{
	mod_delayed_work(vd->wq, &vd->commit_work, 0);
}

static const struct vdirt_store_ops vdirt_dev_store_ops = {
	.error = vdirt_set_error,
	.records_added = vdirt_records_added,
	.intent_ready = vdirt_io_queue,
};

/* ---- set-up and teardown ---- */

void vdirt_dev_init(struct vdirt_dev *vd, struct dm_target *ti)
{
	vd->ti = ti;
	vd->devt = disk_devt(dm_disk(dm_table_get_md(ti->table)));
	INIT_LIST_HEAD(&vd->reg.list);
	refcount_set(&vd->reg.refs, 1);
	init_completion(&vd->reg.released);
	vd->reg.suspended = true;	/* until the first resume */
	INIT_DELAYED_WORK(&vd->commit_work, vdirt_commit_work);
	vd->store_ops = &vdirt_dev_store_ops;
}

int vdirt_dev_alloc(struct vdirt_dev *vd)
{
	vd->wq = alloc_workqueue("kvdirtd/%u:%u",
				 WQ_MEM_RECLAIM | WQ_UNBOUND | WQ_HIGHPRI, 0,
				 MAJOR(vd->devt), MINOR(vd->devt));
	if (!vd->wq)
		return -ENOMEM;
	return bioset_init(&vd->bs, VDIRT_BIOSET_SIZE, 0, BIOSET_NEED_BVECS);
}

/* after every user of the queue stopped */
void vdirt_dev_free(struct vdirt_dev *vd)
{
	if (vd->wq)
		destroy_workqueue(vd->wq);
	bioset_exit(&vd->bs);
}

/* ---- the device summary ---- */

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
	info->read_verify = !vd->opts.no_read_verify;
	info->fail_open = vd->opts.fail_open;
	info->measured = atomic64_read(&vd->cnt.measured);
	info->baselined = atomic64_read(&vd->cnt.baselined);
	info->reads_verified = atomic64_read(&vd->cnt.reads_verified);
	info->read_mismatches = atomic64_read(&vd->cnt.read_mismatches);
	info->write_drift = atomic64_read(&vd->cnt.write_drift);
	info->unaligned = atomic64_read(&vd->cnt.unaligned);
	info->meta_errors = atomic64_read(&vd->cnt.meta_errors);
	info->tofu = atomic64_read(&vd->cnt.tofu);
	info->scan_running = vdirt_scan_progress(vd, &info->scan_pos);
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
