/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt crash recovery engine (dm-vdirt-recovery.c): after an unclean
 * shutdown, the clusters of the regions the write-intent bitmap left
 * pending are measured again from the data device.
 */
#ifndef DM_VDIRT_RECOVERY_H
#define DM_VDIRT_RECOVERY_H

#include <linux/types.h>

struct vdirt_dev;
struct vdirt_cursor;

/* ctr, first thing (cannot fail) */
void vdirt_recover_init(struct vdirt_dev *vd);
/* resume, presuspend_undo: take a new load of the bitmap, go on */
void vdirt_recover_start(struct vdirt_dev *vd);
/* presuspend: stop at the next piece and wait; dtr: also free */
void vdirt_recover_stop(struct vdirt_dev *vd);
void vdirt_recover_exit(struct vdirt_dev *vd);

/* the I/O path: is cluster c still to be recovered? (range lock held) */
bool vdirt_unrecovered(struct vdirt_dev *vd, u64 cluster);
/* measure cluster c again now (digest NULL: unreadable); range lock held */
int vdirt_recover_cluster(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			  u64 cluster, const u8 *digest, u64 now);

#endif /* DM_VDIRT_RECOVERY_H */
