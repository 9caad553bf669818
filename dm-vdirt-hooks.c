// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt: how the target is wired to the store and to the crash recovery
 * engine.  The store (dm-vdirt-meta.c, -log.c, -intent.c) calls nothing
 * above it; what it must tell the target goes through the hooks installed
 * here (vd->store_ops).  The constructor calls vdirt_intent_alloc() to set
 * up the write-intent bitmap, the record log, the recovery engine and the
 * hooks, the destructor vdirt_intent_free().  Also here: the range-locked
 * digest reader of the netlink HASH_GET command (the store takes no range
 * lock).  These belong to the target and cluster layers (dm-vdirt.c and
 * the files split from it) and move there.
 */
#include <linux/workqueue.h>

#include "dm-vdirt.h"

/* records were stored: the commit work makes them durable soon */
static void vdirt_hooks_records_added(struct vdirt_dev *vd)
{
	mod_delayed_work(vd->wq, &vd->commit_work, 0);
}

static const struct vdirt_store_ops vdirt_target_store_ops = {
	.error = vdirt_set_error,
	.records_added = vdirt_hooks_records_added,
	.intent_ready = vdirt_io_queue,
};

/* ctr, before the metadata is opened and before any I/O */
int vdirt_intent_alloc(struct vdirt_dev *vd)
{
	vd->store_ops = &vdirt_target_store_ops;
	vdirt_log_init(vd);
	vdirt_recover_init(vd);
	return vdirt_intent_init(vd);
}

/* dtr, also after a failed constructor */
void vdirt_intent_free(struct vdirt_dev *vd)
{
	vdirt_intent_exit(vd);
}

/*
 * Both digests of clusters [first, first + n), read under the range lock of
 * each lock region they span, so that none is read while a write or a
 * baseline change of its cluster is half done.  valid[i] gets
 * VDIRT_E_CURRENT and VDIRT_E_BASELINE of the entry; a digest that is not
 * valid is returned as zeros.  cur_digests and base_digests hold
 * n * digest_size bytes.
 */
int vdirt_digests_read(struct vdirt_dev *vd, u64 first, u32 n, u8 *valid,
		       u8 *cur_digests, u8 *base_digests)
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
			if (e->flags & VDIRT_E_CURRENT)
				memcpy(cur_digests + i * ds, vdirt_entry_current(e), ds);
			else
				memset(cur_digests + i * ds, 0, ds);
			if (e->flags & VDIRT_E_BASELINE)
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

