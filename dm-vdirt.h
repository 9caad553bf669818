/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt: the device (struct vdirt_dev) and the internal interfaces
 * shared by the target (dm-vdirt.c, dm-vdirt-hooks.c), the generic netlink
 * family (dm-vdirt-netlink.c), the crash recovery engine
 * (dm-vdirt-recovery.h) and the store: metadata (dm-vdirt-meta.h), record
 * log (dm-vdirt-log.h), write-intent bitmap (dm-vdirt-intent.h).
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
#include "dm-vdirt-baseline.h"
#include "dm-vdirt-staging.h"
#include "dm-vdirt-intent.h"
#include "dm-vdirt-log.h"
#include "dm-vdirt-meta.h"
#include "dm-vdirt-recovery.h"

#define DM_MSG_PREFIX "vdirt"

#define VDIRT_LOCK_BUCKETS	256
/* a lock region is at most 64 clusters and at most 256 KiB (or 1 cluster) */
#define VDIRT_REGION_MAX_CLUSTERS	64U
#define VDIRT_REGION_MAX_BYTES		(256U << 10)

enum vdirt_state {
	VDIRT_STATE_OK = 0,
	VDIRT_STATE_DEGRADED,	/* fail_open after an error: not measuring */
	VDIRT_STATE_FAILED,	/* fail-closed after an error: I/O fails */
};

/* a locked range of clusters [first, last] inside one lock region */
struct vdirt_range {
	struct list_head node;	/* in a bucket's inflight or waiters list */
	u64 first;
	u64 last;
	void (*grant)(struct vdirt_range *r);	/* called when a waiter wins */
	void *private;			/* for grant() */
};

struct vdirt_bucket {
	spinlock_t lock;		/* protects both lists below */
	struct list_head inflight;	/* granted ranges */
	struct list_head waiters;	/* ranges waiting, FIFO */
} ____cacheline_aligned_in_smp;

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

/* one dm-vdirt target instance */
struct vdirt_dev {
	struct dm_target *ti;
	struct dm_dev *data_dev;
	struct dm_dev *meta_dev;
	struct list_head list;		/* in vdirt_devices, vdirt_devices_lock */
	dev_t devt;			/* the dm device, for log lines */
	bool suspended;			/* lockless: from presuspend to resume */
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

	/* options as given to the constructor (for STATUSTYPE_TABLE) */
	bool opt_mode_given;
	bool opt_enforce;
	bool opt_no_read_verify;
	bool opt_fail_open;
	bool opt_cache_given;
	unsigned int cache_mb;

	bool enforce;			/* lockless: READ_ONCE/WRITE_ONCE */
	int state;			/* lockless: enum vdirt_state, cmpxchg */

	struct workqueue_struct *wq;	/* WQ_MEM_RECLAIM | WQ_UNBOUND */
	struct workqueue_struct *cpu_wq; /* bound: small reads' verification */
	struct bio_set bs;		/* our own data bios */
	mempool_t *page_pool;		/* pages for copies and re-reads */
	struct mutex page_alloc_lock;	/* one blocking page allocator */
	spinlock_t page_free_lock;	/* protects page_free, page_free_nr */
	struct list_head page_free;	/* recycled pages (page->lru) */
	unsigned int page_free_nr;
	unsigned int page_free_max;	/* constant after ctr */
	unsigned int small_read_cpu;	/* constant after ctr: VDIRT_READ_CPU_* */
	atomic_t reads;			/* verified reads mapped, not yet done */
	bool small_write_cpu;		/* constant after ctr */

	struct vdirt_bucket buckets[VDIRT_LOCK_BUCKETS];

	struct delayed_work commit_work; /* the target's periodic commit */
	bool periodic;			/* lockless: commit_work may re-arm */

	struct vdirt_counters cnt;

	/* background scan */
	struct mutex scan_lock;		/* serialises scan start/stop */
	struct mutex baseline_lock;	/* serialises baseline changes */
	struct work_struct scan_work;
	bool scan_running;		/* lockless: set by message, cleared by work */
	bool scan_stop;			/* lockless: request to stop */
	u64 scan_pos;			/* lockless: clusters done, for status */

	/*
	 * The store and the recovery engine own the groups below (set up by
	 * vdirt_meta_open(), vdirt_log_init(), vdirt_recover_init()).  Each
	 * is a struct_group: its members are both vd->GROUP.NAME and, for
	 * the files that still read them so, vd->NAME.
	 */

	/* metadata store (dm-vdirt-meta.c): superblock, entries, cache */
	struct_group_tagged(vdirt_meta, meta,
		/* constant after ctr: how the store reports up */
		const struct vdirt_store_ops *store_ops;
		struct dm_bufio_client *bufio;	/* constant after ctr */
		struct mutex commit_lock;	/* serialises commits, protects sb */
		atomic_t commit_req;		/* commit tickets handed out */
		int commit_done;		/* commit_lock: last ticket covered */
		atomic_t meta_dirty;		/* entries changed since last commit */
		unsigned int cache_blocks;	/* constant after ctr: cache_mb */

		/* superblock fields mirrored in memory; commit_lock */
		u64 sb_seq;
		u64 epoch;
		u32 sb_flags;
		u8 uuid[16];
		u64 format_time_ns;
		u32 sb_compat;			/* commit_lock: feature_compat to write */
		u32 sb_ro_compat;		/* commit_lock: feature_ro_compat kept */
		u32 sb_compat_unknown;		/* commit_lock: unknown compat bits kept */
		/* ctr, preresume (serialised by dm): 1 + seq of the copy in use */
		u64 sb_warned_seq;		/* when a bad copy was last reported */
		struct vdirt_disk_sb *sb_buf;	/* ctr, preresume: 3 images, no alloc */
		bool read_only;			/* constant after ctr: table not writable */
		bool baseline_partial;		/* lockless: the baseline digests on
						 * disk are a cut-short change:
						 * ignored
						 */
		struct work_struct untracked_work; /* degraded: ask for full recovery */
		bool untracked_marked;		/* commit_lock: the superblock says so */

		/* the cache bound (cache_mb) */
		struct mutex cache_lock;	/* protects the cache_ring fields below */
		u64 *cache_ring;		/* blocks believed cached, oldest first */
		u32 cache_cap;			/* constant after ctr: ring slots */
		u32 cache_head;			/* cache_lock: oldest slot */
		u32 cache_count;		/* cache_lock: slots in use */
		atomic64_t cache_evicted;	/* blocks dropped to keep the bound */
	);

	/* record log (dm-vdirt-log.c): the mismatch ring, events */
	struct_group_tagged(vdirt_log, log,
		struct mutex log_lock;		/* protects the ring and the fields below */
		u64 log_head;			/* log_lock; also read with READ_ONCE */
		u64 log_tail;			/* log_lock: first record kept */
		u64 log_durable;		/* log_lock, READ_ONCE: below is committed */
		u64 log_committing;		/* commit_lock: head in the sb being written */
		spinlock_t events_lock;		/* protects events */
		struct list_head events;	/* of struct vdirt_event, waiting for a
						 * commit before they are sent
						 */
	);

	/* write-intent bitmap (dm-vdirt-intent.c) */
	struct vdirt_intent intent;

	/* crash recovery engine (dm-vdirt-recovery.c) */
	struct_group_tagged(vdirt_recovery, recovery,
		struct work_struct recover_work; /* the pass, on system_long_wq */
		bool recovering;		/* lockless: set at resume, cleared by work */
		bool recover_stop;		/* lockless: request to stop */
		u64 recover_pos;		/* lockless: first cluster not recovered */
		u64 recover_done;		/* lockless: clusters done, for status */
		u64 recover_total;		/* resume: clusters to recover */
		u64 recover_seq;		/* resume: bitmap load taken */
		struct {
			u64 regions;		/* recovery worker only */
			u64 remeasured;		/* recovery worker only */
			u64 changed;		/* recovery worker only */
			atomic64_t on_read;	/* measured on access before recovery */
		} rcv;
	);

	/* baseline changes and loads (dm-vdirt-baseline.c) */
	struct vdirt_bc bc;

	/* netlink commands keep the device alive (dm-vdirt-netlink.c) */
	refcount_t nl_refs;		/* 1 for vdirt_devices + 1 per user */
	struct completion nl_released;	/* nl_refs dropped to zero */
};

/* per-bio data (ti->per_io_data_size) */
struct vdirt_io {
	struct vdirt_dev *vd;
	struct vdirt_range range;
	struct bvec_iter iter;		/* the bio's iterator before submission */
	struct work_struct work;
	struct bio *clone;		/* our copy of a write */
	blk_status_t status;
	u8 kind;			/* VIO_* in dm-vdirt.c */
	u8 stage;			/* VSTAGE_* in dm-vdirt.c */
	bool locked;
	bool intent;			/* counted in its intent region */
	bool alone;			/* read: no other read was in flight */
	struct list_head intent_node;	/* in vd->intent.waiters */
};

/* dm-vdirt.c */
char *vdirt_ctr_errorf(char *error, const char *fmt, ...) __printf(2, 3);
int vdirt_hash(struct vdirt_dev *vd, const void *data, unsigned int len,
	       u8 *out);
void vdirt_set_error(struct vdirt_dev *vd, const char *what, int err);
void vdirt_io_queue(struct vdirt_io *io);
void vdirt_range_lock_sync(struct vdirt_dev *vd, u64 first, u64 last,
			   struct vdirt_range *r);
void vdirt_range_unlock(struct vdirt_dev *vd, struct vdirt_range *r);
static inline u64 vdirt_region_first(struct vdirt_dev *vd, u64 cluster)
{
	return cluster & ~((u64)vd->region_clusters - 1);
}

struct bio *vdirt_read_clusters(struct vdirt_dev *vd, u64 first, u64 last,
				int *err);
void vdirt_free_page_bio(struct vdirt_dev *vd, struct bio *bio);
int vdirt_hash_page_bio(struct vdirt_dev *vd, struct bio *bio,
			unsigned int offset, u8 *out);
struct vdirt_cursor;
int vdirt_update_cluster(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			 u64 cluster, const u8 *digest, u64 now, u8 op);

/*
 * dm-vdirt-hooks.c: the target's constructor and destructor set up the
 * store's write-intent bitmap and record log and the recovery engine, and
 * install the hooks the store reports up through (vd->store_ops).
 */
int vdirt_intent_alloc(struct vdirt_dev *vd);
void vdirt_intent_free(struct vdirt_dev *vd);

/* the store's report to the layer above: the failure policy */
static inline void vdirt_store_error(struct vdirt_dev *vd, const char *what,
				     int err)
{
	vd->store_ops->error(vd, what, err);
}

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

/*
 * ---- API for dm-vdirt-netlink.c (and messages) ----
 *
 * Device iteration: every live target is on vdirt_devices.  A device
 * found there under vdirt_devices_lock may be used after the lock is
 * dropped only with a reference (vd->nl_refs, taken under the lock): the
 * destructor takes the device off the list, then waits until the last
 * reference is dropped.  Functions below may sleep (metadata I/O).
 */
extern struct mutex vdirt_devices_lock;	/* protects vdirt_devices */
extern struct list_head vdirt_devices;	/* of struct vdirt_dev.list */

/* call fn for each device until it returns non-zero; takes the lock */
int vdirt_devices_walk(int (*fn)(struct vdirt_dev *vd, void *arg),
		       void *arg);
/* find by dm device number or dm name; caller holds vdirt_devices_lock */
struct vdirt_dev *vdirt_find_by_devt(dev_t devt);
struct vdirt_dev *vdirt_find_by_name(const char *name);

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

/*
 * Both digests of clusters [first, first + n), each read under its lock
 * region's range lock (dm-vdirt-hooks.c).  valid[i] gets VDIRT_E_CURRENT
 * and VDIRT_E_BASELINE of the entry; digests hold n * digest_size bytes.
 */
int vdirt_digests_read(struct vdirt_dev *vd, u64 first, u32 n, u8 *valid,
		       u8 *cur_digests, u8 *base_digests);

int vdirt_scan_start(struct vdirt_dev *vd);
void vdirt_scan_stop(struct vdirt_dev *vd);

/* dm-vdirt-netlink.c: the generic netlink family, from module init/exit */
int vdirt_netlink_init(void);
void vdirt_netlink_exit(void);
/* ctr: the device's reference count; dtr: off the list, wait for users */
void vdirt_dev_refs_init(struct vdirt_dev *vd);
void vdirt_dev_unlist(struct vdirt_dev *vd);

#endif /* DM_VDIRT_H */
