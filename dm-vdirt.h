/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt: the device (struct vdirt_dev) and the interfaces between the
 * kernel files.  Calls go down only:
 *
 *   target    dm-vdirt.c (target methods), dm-vdirt-netlink.c (transport)
 *   engines   dm-vdirt-io.c (I/O path), dm-vdirt-scan.c (scan),
 *             dm-vdirt-intent.c (crash recovery), baseline changes
 *   cluster   dm-vdirt-cluster.c (per-cluster policy, digest loop)
 *   store     dm-vdirt-meta.c (superblock, entries, commit, record log),
 *             dm-vdirt-intent.c (write-intent bitmap)
 *
 * dm-vdirt-dev.c holds the device registry and state used by all of them.
 * Each subsystem's declarations are in its own header, included here.
 */
#ifndef DM_VDIRT_H
#define DM_VDIRT_H

#include <linux/atomic.h>
#include <linux/bio.h>
#include <linux/completion.h>
#include <linux/device-mapper.h>
#include <linux/dm-bufio.h>
#include <linux/list.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <crypto/hash.h>

#include "dm-vdirt-compat.h"
#include "dm-vdirt-format.h"
#include "dm-vdirt-cluster.h"
#include "dm-vdirt-dev.h"
#include "dm-vdirt-io.h"
#include "dm-vdirt-scan.h"

#define DM_MSG_PREFIX "vdirt"

/* every log line about a device names it by the dm device's major:minor */
#define VDLOG(dmlog, vd, fmt, ...) \
	dmlog("%u:%u: " fmt, MAJOR((vd)->devt), MINOR((vd)->devt), \
	      ##__VA_ARGS__)

/* a lock region is at most 64 clusters and at most 256 KiB (or 1 cluster) */
#define VDIRT_REGION_MAX_CLUSTERS	64U
#define VDIRT_REGION_MAX_BYTES		(256U << 10)

enum vdirt_state {
	VDIRT_STATE_OK = 0,
	VDIRT_STATE_DEGRADED,	/* fail_open after an error: not measuring */
	VDIRT_STATE_FAILED,	/* fail-closed after an error: I/O fails */
};

/* in-memory copy of the mismatch record (netlink dumps these) */
struct vdirt_record {
	u64 seq;
	u64 cluster;
	u64 time_ns;
	u8 kind;		/* VDIRT_KIND_* */
	u8 op;			/* VDIRT_OP_* */
	u8 digest_size;
	u8 expected[VDIRT_MAX_DIGEST_SIZE];
	u8 actual[VDIRT_MAX_DIGEST_SIZE];
	u64 aux[4];		/* VDIRT_KIND_RECOVERY: VDIRT_AUX_* */
};

struct vdirt_counters {
	atomic64_t measured;		/* clusters with a current digest */
	atomic64_t baselined;		/* clusters with a baseline digest */
	atomic64_t reads_verified;	/* clusters verified on read */
	atomic64_t read_mismatches;	/* read mismatch records */
	atomic64_t write_drift;		/* write drift records */
	atomic64_t unaligned;		/* partial-cluster bios */
	atomic64_t meta_errors;		/* metadata I/O or hash errors */
	atomic64_t tofu;		/* clusters measured on first read */
};

/*
 * Optional table arguments taking a number, "name:value" (dm-vdirt.c
 * parses them and prints them back); in table order after mode,
 * no_read_verify and fail_open.
 */
enum {
	VDIRT_OPT_CACHE_MB,
	VDIRT_OPT_SMALL_READ_CPU,
	VDIRT_OPT_SMALL_WRITE_CPU,
	VDIRT_OPT_PAGE_RECYCLE,
	VDIRT_OPT_MAX_IO_KB,
	VDIRT_OPT_SCAN_DEPTH,
	VDIRT_OPT_INTENT,
	VDIRT_NR_NUM_OPTS,
};

/* the table's optional arguments, constant after ctr */
struct vdirt_opts {
	bool mode_given;
	bool enforce;			/* mode:enforce (else mode:audit) */
	bool no_read_verify;
	bool fail_open;
	bool given[VDIRT_NR_NUM_OPTS];	/* printed back by STATUSTYPE_TABLE */
	unsigned int val[VDIRT_NR_NUM_OPTS]; /* given, else the default */
};

/* one dm-vdirt target instance */
struct vdirt_dev {
	struct dm_target *ti;
	struct dm_dev *data_dev;
	struct dm_dev *meta_dev;
	struct vdirt_registry reg;	/* dm-vdirt-dev.c */
	dev_t devt;			/* the dm device, for log lines */
	bool retired;			/* lockless: a newer table of the meta
					 * device ran preresume: never write it
					 */

	/* geometry, constant after ctr */
	u32 cluster_size;
	u32 cluster_shift;		/* log2(cluster_size) */
	u32 cluster_sectors_shift;	/* log2(cluster_size / 512) */
	u32 region_clusters;		/* clusters per lock region */
	u32 region_shift;		/* log2(region_clusters) */
	u64 nr_clusters;
	u32 digest_size;
	char hash_name[VDIRT_HASH_NAME_LEN];
	struct crypto_shash *tfm;	/* shared; descriptors on stack */
	u8 zero_digest[VDIRT_MAX_DIGEST_SIZE];
	struct vdirt_layout layout;

	struct vdirt_opts opts;		/* constant after ctr */

	bool enforce;			/* lockless: READ_ONCE/WRITE_ONCE */
	int state;			/* lockless: enum vdirt_state, cmpxchg */

	/* device-wide (dm-vdirt-dev.c), used by every layer */
	struct workqueue_struct *wq;	/* WQ_MEM_RECLAIM | WQ_UNBOUND */
	struct bio_set bs;		/* our own data and metadata bios */

	struct vdirt_cluster_ctx cl;	/* dm-vdirt-cluster.c */
	struct vdirt_iopath iop;	/* dm-vdirt-io.c */
	struct vdirt_scan scan;		/* dm-vdirt-scan.c */

	/* metadata */
	struct dm_bufio_client *bufio;
	struct mutex commit_lock;	/* serialises commits, protects sb */
	atomic_t commit_req;		/* commit tickets handed out */
	int commit_done;		/* last ticket covered, commit_lock */
	atomic_t meta_dirty;		/* entries changed since last commit */
	unsigned int cache_blocks;	/* cache_mb in metadata blocks */
	struct delayed_work commit_work; /* periodic commit */
	bool periodic;			/* lockless: commit_work may re-arm */

	/* superblock fields mirrored in memory; commit_lock */
	u64 sb_seq;
	u64 epoch;
	u32 sb_flags;
	u8 uuid[16];
	u64 format_time_ns;

	struct mutex log_lock;		/* protects log_head/log_tail + ring */
	u64 log_head;			/* also read locklessly: READ_ONCE */
	u64 log_tail;

	struct vdirt_counters cnt;

	struct mutex baseline_lock;	/* serialises baseline changes */

	/* write-intent bitmap (dm-vdirt-intent.c) */
	bool intent_on;			/* constant after ctr: intent: option */
	u64 nr_iregions;		/* intent regions */
	spinlock_t intent_lock;		/* the bitmaps, writers, waiters below */
	unsigned long *intent_wanted;	/* bits we want on disk (LE order) */
	unsigned long *intent_disk;	/* bits known durable on disk */
	unsigned long *intent_touched;	/* regions written this period */
	unsigned long *intent_cand;	/* regions being cleared */
	unsigned long *intent_blk_dirty; /* bitmap blocks to write */
	u32 *intent_writers;		/* writes in flight per region */
	struct list_head intent_waiters; /* vdirt_io waiting for a bit */
	struct mutex intent_io_lock;	/* serialises bitmap block I/O */
	struct page *intent_page;	/* bitmap block buffer, intent_io_lock */
	u64 intent_writes;		/* bitmap block writes, intent_io_lock */
	unsigned int intent_ticks;	/* commit work only: calls this period */
	struct work_struct intent_work;	/* writes bits waiters need */
	struct work_struct untracked_work; /* degraded: ask for full recovery */
	bool untracked_marked;		/* commit_lock: the superblock says so */

	/* recovery after an unclean shutdown */
	struct work_struct recover_work;
	unsigned long *recover_pending;	/* regions to recover, intent_lock */
	bool recovering;		/* lockless: set by load, cleared by work */
	bool baseline_partial;		/* lockless: the baseline digests on disk
					 * are a cut-short change: ignored
					 */
	bool recover_stop;		/* lockless: request to stop */
	u64 recover_pos;		/* lockless: first cluster not recovered */
	u64 recover_done;		/* lockless: clusters done, for status */
	u64 recover_total;		/* clusters to recover, set at load */
	struct {
		u64 regions;		/* recovery worker only */
		u64 remeasured;		/* recovery worker only */
		u64 changed;		/* recovery worker only */
		atomic64_t on_read;	/* measured on access before recovery */
	} rcv;

	/* mismatch records waiting for a commit before their event */
	spinlock_t events_lock;		/* protects events */
	struct list_head events;	/* of struct vdirt_event */
	u64 log_durable;		/* log_lock, READ_ONCE: below is committed */
	u64 log_committing;		/* commit_lock: head in the sb being written */
	u32 sb_compat;			/* commit_lock: feature_compat to write */
	/* ctr, preresume (serialised by dm): 1 + seq of the copy in use */
	u64 sb_warned_seq;		/* when a bad copy was last reported */

	/* superblock robustness, cache bound (dm-vdirt-meta.c) */
	struct vdirt_disk_sb *sb_buf;	/* ctr, preresume: 3 images, no alloc */
	u32 sb_ro_compat;		/* commit_lock: feature_ro_compat kept */
	u32 sb_compat_unknown;		/* commit_lock: unknown compat bits kept */
	bool read_only;			/* constant after ctr: table not writable */
	struct mutex cache_lock;	/* protects the cache_ring fields below */
	u64 *cache_ring;		/* blocks believed cached, oldest first */
	u32 cache_cap;			/* constant after ctr: ring slots */
	u32 cache_head;			/* cache_lock: oldest slot */
	u32 cache_count;		/* cache_lock: slots in use */
	atomic64_t cache_evicted;	/* blocks dropped to keep the bound */
	struct bio_set intent_bs;	/* bitmap block bios (intent_io_lock) */

	/*
	 * Baseline changes (capture, clear, replace) and clear_mismatches run
	 * in a worker, one region at a time (dm-vdirt-meta.c); suspend
	 * pauses them at a region boundary, resume continues.
	 */
	struct mutex bc_lock;		/* starting, pausing, ending a change */
	struct work_struct bc_work;	/* the change, on system_long_wq */
	u8 bc_kind;			/* bc_lock; status reads it: VDIRT_BC_* */
	bool bc_quiesced;		/* bc_lock: presuspend..resume, or never
					 * resumed: no change may start
					 */
	bool bc_stop;			/* lockless: worker stops at a boundary */
	bool bc_begun;			/* worker or bc_lock with the worker idle:
					 * BASELINE_PARTIAL bracket committed
					 */
	bool bc_partial_saved;		/* bc_lock: baseline_partial at pause */
	u64 bc_pos;			/* lockless: clusters done, for status */
	u64 bc_count;			/* worker: capture, clusters baselined */
	u64 bc_log_head;		/* worker: clear_mismatches, records below
					 * it are cleared
					 */
	u64 bc_rm, bc_wd;		/* worker: clear_mismatches, counters then */
	u64 bc_id;			/* bc_lock: id of the last change started */
	u64 bc_done_id;			/* bc_lock: id of the last change ended */
	int bc_result;			/* bc_lock: its result, 0 or -errno */
	const u8 *bc_digests;		/* bc_lock: replace, the new baseline */
	void (*bc_release)(void *arg);	/* bc_lock: frees bc_digests at the end */
	void *bc_release_arg;		/* bc_lock: for bc_release */
};

/* vd->bc_kind: what the baseline change worker does */
enum {
	VDIRT_BC_NONE = 0,		/* idle */
	VDIRT_BC_CAPTURE,		/* current digests become the baseline */
	VDIRT_BC_CLEAR,			/* the baseline is forgotten */
	VDIRT_BC_REPLACE,		/* a loaded baseline replaces it */
	VDIRT_BC_MCLEAR,		/* clear_mismatches */
};

/* the device measures (not degraded or failed) */
static inline bool vdirt_measuring(struct vdirt_dev *vd)
{
	return READ_ONCE(vd->state) == VDIRT_STATE_OK;
}

static inline u64 vdirt_region_first(struct vdirt_dev *vd, u64 cluster)
{
	return cluster & ~((u64)vd->region_clusters - 1);
}

/* dm-vdirt-intent.c: write-intent bitmap and crash recovery */
int vdirt_intent_alloc(struct vdirt_dev *vd);
void vdirt_intent_free(struct vdirt_dev *vd);
int vdirt_intent_load(struct vdirt_dev *vd, bool unclean, bool had_intent);
bool vdirt_intent_get(struct vdirt_io *io);
void vdirt_intent_put(struct vdirt_io *io);
void vdirt_intent_work(struct work_struct *work);
void vdirt_intent_clear_idle(struct vdirt_dev *vd);
bool vdirt_intent_close(struct vdirt_dev *vd);
bool vdirt_unrecovered(struct vdirt_dev *vd, u64 cluster);
int vdirt_recover_cluster(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			  u64 cluster, const u8 *digest, u64 now);
void vdirt_recover_work(struct work_struct *work);
void vdirt_recover_start(struct vdirt_dev *vd);
void vdirt_recover_stop(struct vdirt_dev *vd);

/* dm-vdirt-meta.c: metadata */
int vdirt_meta_open(struct vdirt_dev *vd, char **error);
int vdirt_meta_reload(struct vdirt_dev *vd);
void vdirt_meta_close(struct vdirt_dev *vd);
int vdirt_commit(struct vdirt_dev *vd);
int vdirt_commit_clean(struct vdirt_dev *vd, bool clean);
void vdirt_meta_untracked(struct vdirt_dev *vd);
void vdirt_untracked_work(struct work_struct *work);
void vdirt_cache_trim(struct vdirt_dev *vd);
struct vdirt_disk_entry *vdirt_entry_get(struct vdirt_dev *vd, u64 cluster,
					 struct dm_buffer **bp);
void vdirt_entry_put(struct vdirt_dev *vd, struct dm_buffer *b, bool dirty);
static inline u8 *vdirt_entry_current(struct vdirt_disk_entry *e)
{
	return e->digests;
}

static inline u8 *vdirt_entry_baseline(struct vdirt_dev *vd,
				       struct vdirt_disk_entry *e)
{
	return e->digests + vd->digest_size;
}

/* the entry has a baseline digest that counts (none of a cut-short change) */
static inline bool vdirt_has_baseline(struct vdirt_dev *vd,
				      const struct vdirt_disk_entry *e)
{
	return (e->flags & VDIRT_E_BASELINE) &&
	       !READ_ONCE(vd->baseline_partial);
}

/* an entry block held while consecutive clusters use it (one worker) */
struct vdirt_cursor {
	struct dm_buffer *b;	/* NULL: nothing held */
	sector_t blk;
	u8 *data;
	bool dirty;
};

#define VDIRT_CURSOR_INIT { .b = NULL }
struct vdirt_disk_entry *vdirt_cursor_get(struct vdirt_dev *vd,
					  struct vdirt_cursor *cur,
					  u64 cluster);
void vdirt_cursor_put(struct vdirt_dev *vd, struct vdirt_cursor *cur);

int vdirt_log_append(struct vdirt_dev *vd, u64 cluster, u8 kind, u8 op,
		     const u8 *expected, const u8 *actual, const u64 *aux);
bool vdirt_records_unsynced(struct vdirt_dev *vd);
void vdirt_events_free(struct vdirt_dev *vd);

/*
 * Per-cluster digests.  *valid tells whether the digest exists.  Writing
 * a baseline entry is serialised with I/O through the range lock and
 * committed with the next metadata commit (call vdirt_commit() to make it
 * durable).  digest must hold vd->digest_size bytes.
 */
int vdirt_current_read(struct vdirt_dev *vd, u64 cluster, u8 *digest,
		       bool *valid);
int vdirt_baseline_read(struct vdirt_dev *vd, u64 cluster, u8 *digest,
			bool *valid);
int vdirt_baseline_write(struct vdirt_dev *vd, u64 cluster,
			 const u8 *digest);
int vdirt_digests_read(struct vdirt_dev *vd, u64 first, u32 n, u8 *valid,
		       u8 *cur_digests, u8 *base_digests);

/*
 * Baseline changes and clear_mismatches (dm-vdirt-meta.c): started here,
 * run by a worker.  vdirt_bc_start() returns at once: 0 (*id, if not NULL,
 * is the change's number, unique in the module), -EBUSY (a change runs,
 * the device is suspended or was never resumed, or a capture while crash
 * recovery runs) or -EIO (degraded or failed).  For VDIRT_BC_REPLACE the
 * worker owns digests (nr_clusters * digest_size bytes) once 0 is
 * returned and calls release(arg) when the change ends; on an error the
 * caller keeps them.
 */
int vdirt_bc_start(struct vdirt_dev *vd, u8 kind, const u8 *digests,
		   void (*release)(void *arg), void *arg, u64 *id);
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
/* ctr: the worker, quiesced until the first resume */
void vdirt_bc_init(struct vdirt_dev *vd);
/* presuspend: pause at a region boundary and wait; refuse new changes */
void vdirt_bc_pause(struct vdirt_dev *vd);
/* resume, presuspend_undo: allow changes, continue a paused one */
void vdirt_bc_resume(struct vdirt_dev *vd);
/* destructor: stop for good (a change cut short leaves baseline=partial) */
void vdirt_bc_stop(struct vdirt_dev *vd);
/* the device is quiesced (suspended or not yet resumed): no new work */
static inline bool vdirt_quiesced(struct vdirt_dev *vd)
{
	return READ_ONCE(vd->bc_quiesced);
}

/*
 * Mismatch records: numbers [log_first, log_head) of vdirt_get_info()
 * are readable; vdirt_record_read() returns -ENOENT for others.
 */
int vdirt_record_read(struct vdirt_dev *vd, u64 seq, struct vdirt_record *rec);

/*
 * Event hook: called after a record is stored, from process context but
 * inside rcu_read_lock(), so it must not sleep (GFP_ATOMIC).  One hook (the
 * netlink family); vdirt_set_event_ops(NULL) waits for running calls.
 */
struct vdirt_event_ops {
	void (*mismatch)(struct vdirt_dev *vd, const struct vdirt_record *rec);
};
void vdirt_set_event_ops(const struct vdirt_event_ops *ops);

/* dm-vdirt-netlink.c: the generic netlink family, from module init/exit */
int vdirt_netlink_init(void);
void vdirt_netlink_exit(void);

#endif /* DM_VDIRT_H */
