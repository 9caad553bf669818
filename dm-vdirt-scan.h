/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt background scan engine (dm-vdirt-scan.c): the read pipeline
 * shared with crash recovery (pieces of at most one lock region read
 * asynchronously, a few in flight, hashed on every CPU as each read
 * completes) and the scan that reads and verifies every cluster with it.
 */
#ifndef DM_VDIRT_SCAN_H
#define DM_VDIRT_SCAN_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "dm-vdirt-cluster.h"

struct vdirt_dev;
struct vdirt_pipe;

/* scan_depth: regions in flight at most (0: two per CPU, capped) */
#define VDIRT_SCAN_MAX_INFLIGHT	8U

/* one piece in flight: clusters [first, last] of one lock region */
struct vdirt_pipe_slot {
	struct vdirt_pipe *p;
	struct work_struct work;	/* submit (after a wait), then hash */
	struct vdirt_range range;	/* the piece's range lock */
	struct list_head node;		/* in p->done, under p->lock */
	struct bio *pages;		/* the piece's page bio, read into */
	u64 first;
	u64 last;
	bool busy;			/* driver: the slot holds a piece */
	bool read_done;			/* work: false submits, true hashes */
	int read_err;			/* the read's error or 0 */
	int r;				/* the engine's result, < 0 stops */
	u64 count[2];			/* the engine's per-piece counts */
};

/* what an engine does with the pipeline; "driver": the thread running it */
struct vdirt_pipe_ops {
	/* driver: the next piece from *pos on (moved past it), false at end */
	bool (*next)(struct vdirt_pipe *p, u64 *pos, u64 *first, u64 *last);
	/* driver: issue nothing more */
	bool (*stop)(struct vdirt_pipe *p);
	/* driver, before the piece is locked and read (may be NULL) */
	void (*start)(struct vdirt_pipe *p, struct vdirt_pipe_slot *s);
	/* any CPU, the range lock held: the piece is read, act on it */
	void (*piece)(struct vdirt_pipe *p, struct vdirt_pipe_slot *s);
	/* driver: the piece is done and unlocked (may be NULL) */
	void (*done)(struct vdirt_pipe *p, struct vdirt_pipe_slot *s);
	/* commit new records after each piece, once it is unlocked */
	bool commit;
};

/* upcoming pieces, their entry blocks already prefetched (driver only) */
struct vdirt_pipe_ahead {
	u64 first;
	u64 last;
};

struct vdirt_pipe {
	struct vdirt_dev *vd;
	const struct vdirt_pipe_ops *ops;
	void *arg;			/* the engine's */
	unsigned int n;			/* slots */
	spinlock_t lock;		/* protects done */
	struct list_head done;		/* slots whose piece is finished */
	wait_queue_head_t wait;		/* the driver waits for done */
	u64 cursor;			/* driver: the engine's next position */
	u64 pos;			/* driver: all before it is finished */
	int err;			/* driver: the first piece error, or 0 */
	u64 fail_pos;			/* driver: first failed piece, or U64_MAX */
	struct vdirt_pipe_ahead *ahead;	/* driver: ring of n upcoming pieces */
	unsigned int ahead_head;	/* driver: oldest in ahead */
	unsigned int ahead_nr;		/* driver: pieces in ahead */
	struct vdirt_pipe_slot *slots;	/* n of them */
};

/*
 * Run pieces from cursor "from" on until ops->next() has no more or
 * ops->stop() says so, at most depth (1..VDIRT_SCAN_MAX_INFLIGHT) at
 * once; returns -ENOMEM if it could not start, else 0, p->err (the first
 * error of a piece, which stopped the run) and p->pos: every piece before
 * it finished without error.
 */
int vdirt_pipe_run(struct vdirt_pipe *p, struct vdirt_dev *vd,
		   const struct vdirt_pipe_ops *ops, void *arg,
		   unsigned int depth, u64 from);
/* ops->done(): is a piece other than s in flight inside [first, last]? */
bool vdirt_pipe_busy_in(struct vdirt_pipe *p, struct vdirt_pipe_slot *s,
			u64 first, u64 last);
/* the default depth (scan_depth, 0: two per CPU), for any engine */
unsigned int vdirt_pipe_depth(struct vdirt_dev *vd);

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
