/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt device registry and state (dm-vdirt-dev.c): the list of live
 * devices, lookup by dm name or device number with a reference, the
 * failure policy, device-wide resources (work queue, bio set), the
 * periodic commit, the store's ops (vd->store_ops), and the device summary
 * for status and netlink.
 */
#ifndef DM_VDIRT_DEV_H
#define DM_VDIRT_DEV_H

#include <linux/completion.h>
#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/types.h>

struct dm_target;
struct vdirt_dev;

/*
 * The registry's part of a device.  A device found by a lookup may be
 * used only with the reference the lookup took (vdirt_dev_put() it): the
 * destructor takes the device off the list, then waits until the last
 * reference is dropped.
 */
struct vdirt_registry {
	struct list_head list;		/* in the device list, under its lock */
	refcount_t refs;		/* 1 for the list + 1 per user */
	struct completion released;	/* refs dropped to zero */
	bool suspended;			/* lockless: from presuspend to resume */
};

/* a constructor (or preresume) failure: details logged, literal returned */
char *vdirt_ctr_errorf(char *error, const char *fmt, ...) __printf(2, 3);
/* metadata I/O or hashing failed: apply the failure policy */
void vdirt_set_error(struct vdirt_dev *vd, const char *what, int err);
const char *vdirt_state_name(int state);

/*
 * ctr: first thing (cannot fail; also installs the store's ops); then the
 * device-wide resources
 */
void vdirt_dev_init(struct vdirt_dev *vd, struct dm_target *ti);
int vdirt_dev_alloc(struct vdirt_dev *vd);
void vdirt_dev_free(struct vdirt_dev *vd);
/* ctr: last thing, lookups find it; dtr: first thing, wait for users */
void vdirt_dev_list(struct vdirt_dev *vd);
void vdirt_dev_unlist(struct vdirt_dev *vd);

/* lookups (may sleep): the live instance, with a reference, or NULL */
struct vdirt_dev *vdirt_dev_get_by_devt(dev_t devt);
struct vdirt_dev *vdirt_dev_get_by_name(const char *name);
/* iteration: the live instance at or after list index *pos, *pos after it */
struct vdirt_dev *vdirt_dev_get_next(long *pos);
void vdirt_dev_put(struct vdirt_dev *vd);

/* suspend hooks; preresume: older tables of our metadata never write it */
void vdirt_dev_set_suspended(struct vdirt_dev *vd, bool suspended);
void vdirt_dev_retire_others(struct vdirt_dev *vd);
/*
 * May work that changes metadata start?  0, -EIO (degraded or failed) or
 * -EBUSY (suspended or never resumed).
 */
int vdirt_dev_can_start(struct vdirt_dev *vd);

/* the periodic commit: started by resume, stopped by postsuspend and dtr */
void vdirt_periodic_start(struct vdirt_dev *vd);
void vdirt_periodic_stop(struct vdirt_dev *vd);

struct vdirt_info {
	dev_t devt;
	u64 data_sectors;
	u64 nr_clusters;
	u32 cluster_size;
	u32 digest_size;
	const char *hash_name;
	int state;			/* enum vdirt_state */
	bool enforce;
	bool read_verify;
	bool fail_open;
	u64 measured, baselined, reads_verified, read_mismatches;
	u64 write_drift, unaligned, meta_errors, tofu;
	bool scan_running;
	u64 scan_pos;
	u64 log_first;			/* first record number still stored */
	u64 log_head;			/* next record number */
	u64 recover_pos;		/* clusters of dirty regions done */
	u64 recover_total;		/* 0: not recovering */
};
void vdirt_get_info(struct vdirt_dev *vd, struct vdirt_info *info);

#endif /* DM_VDIRT_DEV_H */
