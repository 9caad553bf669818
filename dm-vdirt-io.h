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
	VDIRT_READ_CPU_OTHER,	/* ALONE, else the next CPU (bound queue) */
};

/* write_hash: where a cluster-aligned write is copied and hashed */
enum {
	VDIRT_WHASH_AUTO,	/* split or inline, from the hash's speed */
	VDIRT_WHASH_WORKER,	/* copy and hash in a worker, then write */
	VDIRT_WHASH_SPLIT,	/* copy in map and write; hash on another CPU
				 * (inline when no other write is in flight)
				 */
	VDIRT_WHASH_INLINE,	/* copy and hash in map, then write */
};

/* write_back: most writes acknowledged before they reach the data device */
#define VDIRT_WB_MAX		256U

/* per-bio data (ti->per_io_data_size) */
struct vdirt_io {
	struct vdirt_dev *vd;
	struct vdirt_range range;
	struct bvec_iter iter;		/* the bio's iterator before submission */
	struct work_struct work;
	struct bio *clone;		/* our copy of a write */
	atomic_t pending;		/* split write: the copy's write and its
					 * hash, each drops one when done
					 */
	blk_status_t status;
	u8 kind;			/* VIO_* in dm-vdirt-io.c */
	u8 stage;			/* VSTAGE_* in dm-vdirt-io.c */
	bool locked;
	bool intent;			/* counted in its intent region */
	bool alone;			/* read: no other read was in flight */
	bool wcounted;			/* counted in vdirt_iopath.writes */
	bool acked;			/* write_back: the guest's write was
					 * acknowledged; our reference holds
					 * the bio until the copy is written
					 */
	struct list_head intent_node;	/* in vd->intent_waiters */
};

/* the I/O path's part of a device */
struct vdirt_iopath {
	struct workqueue_struct *cpu_wq; /* bound: small reads' verification */
	atomic_t reads;			/* verified reads mapped, not yet done */
	atomic_t writes;		/* aligned writes copied in map, not done */
	unsigned int small_read_cpu;	/* constant after ctr: VDIRT_READ_CPU_* */
	bool small_write_cpu;		/* constant after ctr */
	unsigned int write_hash;	/* constant after ctr: not AUTO */
	u32 hash_ns_4k;			/* constant after ctr: ns to hash 4 KiB */
	unsigned int write_back;	/* constant after ctr: most writes
					 * acknowledged before they are written
					 */
	atomic_t acked;			/* writes acknowledged, not yet done */
	atomic_t wb_flushes;		/* flushes mapped, not yet submitted:
					 * no write is acknowledged meanwhile
					 */
	atomic_t wb_error;		/* an acknowledged write failed: the
					 * next flush fails
					 */
	spinlock_t wb_lock;		/* wb_held */
	struct bio_list wb_held;	/* flushes waiting for acked == 0 */
	wait_queue_head_t wb_wait;	/* postsuspend: acked reaches 0 */
};

/* ctr, after the options: the bound queue and the target's I/O limits */
int vdirt_io_init(struct vdirt_dev *vd);
void vdirt_io_exit(struct vdirt_dev *vd);
/* postsuspend: wait for every queued stage of every bio */
void vdirt_io_flush(struct vdirt_dev *vd);

/* the target's map and end_io */
int vdirt_io_map(struct vdirt_dev *vd, struct bio *bio);
int vdirt_io_end(struct bio *bio, blk_status_t *error);

/* the write_hash mode in use: "worker", "split" or "inline" */
const char *vdirt_write_hash_name(struct vdirt_dev *vd);

/* hand a bio's next stage to a worker */
void vdirt_io_queue(struct vdirt_io *io);

#endif /* DM_VDIRT_IO_H */
