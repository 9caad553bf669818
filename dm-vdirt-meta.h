/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt metadata store (dm-vdirt-meta.c): superblock A/B, per-cluster
 * entries, the metadata cache and its bound, commits.  The store calls
 * nothing above it: what it must tell the layer above goes through
 * vd->store_ops, installed by vdirt_dev_init() (dm-vdirt-dev.c) before the
 * store is opened.
 */
#ifndef DM_VDIRT_META_H
#define DM_VDIRT_META_H

#include <linux/dm-bufio.h>
#include <linux/types.h>

#include "dm-vdirt-format.h"

struct vdirt_dev;
struct vdirt_io;

/* what the store needs from the layer above it */
struct vdirt_store_ops {
	/* metadata I/O failed: apply the failure policy (process context) */
	void (*error)(struct vdirt_dev *vd, const char *what, int err);
	/* records were appended to the log: have them committed soon */
	void (*records_added)(struct vdirt_dev *vd);
	/* a write that waited for its write-intent bit may go on */
	void (*intent_ready)(struct vdirt_io *io);
};

/* ctr: locks and work (cannot fail, before anything else of the store) */
void vdirt_meta_init(struct vdirt_dev *vd);
/* ctr, preresume, dtr */
int vdirt_meta_open(struct vdirt_dev *vd, char **error);
int vdirt_meta_reload(struct vdirt_dev *vd);
void vdirt_meta_close(struct vdirt_dev *vd);

/*
 * Commit: write every dirty metadata block, flush, then write the next
 * superblock copy and flush.  Concurrent callers share one commit.
 */
int vdirt_commit(struct vdirt_dev *vd);
int vdirt_commit_clean(struct vdirt_dev *vd, bool clean);
/*
 * A commit that first applies change() with commit_lock held: what it
 * changes in memory is on disk, as one superblock commit, when it returns 0
 */
int vdirt_commit_change(struct vdirt_dev *vd,
			void (*change)(struct vdirt_dev *vd));
/* degraded: mark the metadata for a full re-measurement (best effort) */
void vdirt_meta_untracked(struct vdirt_dev *vd);
/* the periodic commit work: drop the cache back to its bound */
void vdirt_cache_trim(struct vdirt_dev *vd);
/* a metadata block through the cache, tracked for the bound */
void *vdirt_meta_read(struct vdirt_dev *vd, sector_t blk,
		      struct dm_buffer **bp);
/*
 * The same for the store's own blocks: nowait (map) only from the cache,
 * else ERR_PTR(-EAGAIN); a read error goes to the failure policy.
 */
void *vdirt_meta_get(struct vdirt_dev *vd, sector_t blk, struct dm_buffer **bp,
		     bool nowait);

/* an entry block held while consecutive clusters use it (one worker) */
struct vdirt_cursor {
	struct dm_buffer *b;	/* NULL: nothing held */
	sector_t blk;
	u8 *data;
	bool dirty;
	bool nowait;		/* cached blocks only, else -EAGAIN (map) */
	struct dm_buffer *wb;	/* a write-set block held, or NULL */
	sector_t wblk;
};

#define VDIRT_CURSOR_INIT { .b = NULL }
struct vdirt_disk_entry *vdirt_cursor_get(struct vdirt_dev *vd,
					  struct vdirt_cursor *cur,
					  u64 cluster);
void vdirt_cursor_put(struct vdirt_dev *vd, struct vdirt_cursor *cur);
/* release the write-set block a cursor holds (dm-vdirt-epoch.c) */
void vdirt_cursor_put_wset(struct vdirt_dev *vd, struct vdirt_cursor *cur);
/* a block changed: the next commit writes it */
void vdirt_meta_mark_dirty(struct vdirt_dev *vd, struct dm_buffer *b);

/* start reading the entry blocks of clusters [first, last] into the cache */
void vdirt_meta_prefetch(struct vdirt_dev *vd, u64 first, u64 last);

#endif /* DM_VDIRT_META_H */
