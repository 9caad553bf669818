/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt baseline engine (dm-vdirt-baseline.c): baseline changes
 * (capture, clear, a loaded baseline replacing the old one) and
 * clear_mismatches, run by a worker one lock region at a time; and the
 * baseline loads that netlink streams into the staging area of the
 * metadata device before a commit applies them.
 */
#ifndef DM_VDIRT_BASELINE_H
#define DM_VDIRT_BASELINE_H

#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/workqueue.h>

struct vdirt_dev;
struct vdirt_load;

/* what the baseline change worker does (struct vdirt_bc.kind) */
enum {
	VDIRT_BC_NONE = 0,		/* idle */
	VDIRT_BC_CAPTURE,		/* current digests become the baseline */
	VDIRT_BC_CLEAR,			/* the baseline is forgotten */
	VDIRT_BC_REPLACE,		/* the staged baseline replaces it */
	VDIRT_BC_MCLEAR,		/* clear_mismatches */
	VDIRT_BC_PURGE,			/* a purge's walk: entries, discards */
};

/* the device's baseline change state (vd->bc) */
struct vdirt_bc {
	struct mutex lock;		/* starting, pausing, ending a change */
	struct work_struct work;	/* the change, on system_long_wq */
	u8 kind;			/* lock; status reads it: VDIRT_BC_* */
	bool quiesced;			/* lock: presuspend..resume, or never
					 * resumed: no change may start
					 */
	bool stop;			/* lockless: worker stops at a boundary */
	bool begun;			/* worker or lock with the worker idle:
					 * BASELINE_PARTIAL bracket committed
					 */
	bool partial_saved;		/* lock: baseline_partial at pause */
	u64 pos;			/* lockless: clusters done, for status */
	u64 count;			/* worker: capture, clusters baselined */
	u64 log_head;			/* worker: clear_mismatches, records
					 * below it are cleared
					 */
	u64 rm, wd;			/* worker: clear_mismatches, counters */
	u64 id;				/* lock: id of the last change started */
	u64 done_id;			/* lock: id of the last change ended */
	int result;			/* lock: its result, 0 or -errno */
	/* replace: staging blocks [rb_first, rb_first + rb_blocks) in rbuf */
	void *rbuf;			/* worker: VDIRT_STAGE_BUF bytes */
	u64 rb_first;			/* worker */
	u32 rb_blocks;			/* worker: 0, nothing read yet */
	struct vdirt_load *load;	/* vdirt_loads_lock: the open load */
};

/*
 * vdirt_bc_start() returns at once: 0 (*id, if not NULL, is the change's
 * number, unique in the module), -EBUSY (a change runs, the device is
 * suspended or was never resumed, or a capture while crash recovery runs)
 * or -EIO (degraded or failed).  VDIRT_BC_REPLACE applies the staging
 * area: only vdirt_load_commit() and resume start it.
 */
int vdirt_bc_start(struct vdirt_dev *vd, u8 kind, u64 *id);
/*
 * purge: every cluster unwritten, in one superblock commit, then the
 * background walk (VDIRT_BC_PURGE) clears their entries and discards their
 * data.  -EOPNOTSUPP without zero_unwritten, -EROFS, -EIO, -EBUSY (a
 * change, a load, crash recovery or an attestation root runs).
 */
int vdirt_purge_start(struct vdirt_dev *vd);
struct vdirt_bc_info {
	u8 kind;			/* VDIRT_BC_*, NONE: idle */
	bool paused;			/* the device is suspended */
	u64 pos;			/* clusters done */
	u64 total;			/* clusters to do */
	u64 id;				/* last change started */
	u64 done_id;			/* last change ended */
	int result;			/* its result, 0 or -errno */
};
void vdirt_bc_get_info(struct vdirt_dev *vd, struct vdirt_bc_info *bi);
/* the kind of the running change, VDIRT_BC_NONE when idle (lockless) */
u8 vdirt_bc_running(struct vdirt_dev *vd);
/* ctr: the worker, quiesced until the first resume */
void vdirt_bc_init(struct vdirt_dev *vd);
/* presuspend: pause at a region boundary and wait; refuse new changes */
void vdirt_bc_pause(struct vdirt_dev *vd);
/*
 * resume, presuspend_undo: allow changes, continue a paused one, or apply
 * again a staged baseline whose replace was cut short
 */
void vdirt_bc_resume(struct vdirt_dev *vd);
/*
 * destructor (no netlink user left): stop for good, drop the open load; a
 * change cut short leaves baseline=partial, a staged replace goes on with
 * the next table
 */
void vdirt_bc_stop(struct vdirt_dev *vd);
/* the device is quiesced (suspended or not yet resumed): no new work */
bool vdirt_quiesced(struct vdirt_dev *vd);

/*
 * Baseline loads, one per device, owned by a netlink socket (portid) and
 * named by an id: digests arrive in cluster order and are written to the
 * staging area; nothing changes until vdirt_load_commit().  On an error
 * *why (if set) is a static message for the sender.
 */
int vdirt_load_begin(struct vdirt_dev *vd, u32 portid, u32 *id,
		     const char **why);
int vdirt_load_chunk(struct vdirt_dev *vd, u32 portid, u32 id, u64 first,
		     const void *digests, u32 len, const char **why);
int vdirt_load_commit(struct vdirt_dev *vd, u32 portid, u32 id, u64 *change,
		      const char **why);
int vdirt_load_abort(struct vdirt_dev *vd, u32 portid, u32 id,
		     const char **why);
/*
 * The staging area holds a load (open, staged or being applied): the
 * attestation tree may not freeze into it.
 */
bool vdirt_staging_in_use(struct vdirt_dev *vd);
/* a netlink socket closed: its loads are dropped */
void vdirt_load_release_port(u32 portid);

#endif /* DM_VDIRT_BASELINE_H */
