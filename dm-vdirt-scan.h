/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt background scan engine (dm-vdirt-scan.c): reads and verifies
 * every cluster of the device, a few lock regions in flight.
 */
#ifndef DM_VDIRT_SCAN_H
#define DM_VDIRT_SCAN_H

#include <linux/mutex.h>
#include <linux/workqueue.h>

struct vdirt_dev;

/* scan_depth: regions in flight at most (0: two per CPU, capped) */
#define VDIRT_SCAN_MAX_INFLIGHT	8U

/* the scan's part of a device */
struct vdirt_scan {
	struct mutex lock;		/* serialises scan start/stop */
	struct work_struct work;	/* the scan, on system_long_wq */
	bool running;			/* lockless: set by start, cleared by work */
	bool stop;			/* lockless: request to stop */
	u64 pos;			/* lockless: clusters done, for status */
};

/* ctr (cannot fail); dtr: stop and wait */
void vdirt_scan_init(struct vdirt_dev *vd);
void vdirt_scan_exit(struct vdirt_dev *vd);

/* 0, or -EBUSY when a scan runs */
int vdirt_scan_start(struct vdirt_dev *vd);
/* stop a running scan and wait for it */
void vdirt_scan_stop(struct vdirt_dev *vd);
/* true while a scan runs; *pos: clusters done */
bool vdirt_scan_progress(struct vdirt_dev *vd, u64 *pos);

#endif /* DM_VDIRT_SCAN_H */
