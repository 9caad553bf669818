/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt I/O path engine (dm-vdirt-io.c): per-bio state, mapping and
 * completion of the guest's bios, the workers that copy, verify and
 * measure them.
 */
#ifndef DM_VDIRT_IO_H
#define DM_VDIRT_IO_H

#include <linux/atomic.h>
#include <linux/bio.h>
#include <linux/blk_types.h>
#include <linux/workqueue.h>

#include "dm-vdirt-cluster.h"

struct vdirt_dev;

/* small_read_cpu: where small reads are verified */
enum {
	VDIRT_READ_CPU_NEVER,	/* the unbound queue */
	VDIRT_READ_CPU_ALONE,	/* the completing CPU, if no other read is in flight */
	VDIRT_READ_CPU_ALWAYS,	/* the completing CPU */
};

/* per-bio data (ti->per_io_data_size) */
struct vdirt_io {
	struct vdirt_dev *vd;
	struct vdirt_range range;
	struct bvec_iter iter;		/* the bio's iterator before submission */
	struct work_struct work;
	struct bio *clone;		/* our copy of a write */
	blk_status_t status;
	u8 kind;			/* VIO_* in dm-vdirt-io.c */
	u8 stage;			/* VSTAGE_* in dm-vdirt-io.c */
	bool locked;
	bool intent;			/* counted in its intent region */
	bool alone;			/* read: no other read was in flight */
	struct list_head intent_node;	/* in vd->intent_waiters */
};

/* the I/O path's part of a device */
struct vdirt_iopath {
	struct workqueue_struct *cpu_wq; /* bound: small reads' verification */
	atomic_t reads;			/* verified reads mapped, not yet done */
	unsigned int small_read_cpu;	/* constant after ctr: VDIRT_READ_CPU_* */
	bool small_write_cpu;		/* constant after ctr */
};

/* ctr, after the options: the bound queue and the target's I/O limits */
int vdirt_io_init(struct vdirt_dev *vd);
void vdirt_io_exit(struct vdirt_dev *vd);
/* postsuspend: wait for every queued stage of every bio */
void vdirt_io_flush(struct vdirt_dev *vd);

/* the target's map and end_io */
int vdirt_io_map(struct vdirt_dev *vd, struct bio *bio);
int vdirt_io_end(struct bio *bio, blk_status_t *error);

/* hand a bio's next stage to a worker */
void vdirt_io_queue(struct vdirt_io *io);

#endif /* DM_VDIRT_IO_H */
