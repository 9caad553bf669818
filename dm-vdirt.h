/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt: the device (struct vdirt_dev) and the interfaces between the
 * kernel files.  Calls go down only; what goes up is an ops table
 * (vdirt_store_ops, vdirt_event_ops):
 *
 *   target    dm-vdirt.c (target methods), dm-vdirt-netlink.c (transport)
 *   engines   dm-vdirt-io.c (I/O path), dm-vdirt-scan.c (scan),
 *             dm-vdirt-recovery.c (crash recovery),
 *             dm-vdirt-baseline.c (baseline changes and loads)
 *   cluster   dm-vdirt-cluster.c (per-cluster policy, range locks, digest loop)
 *   store     dm-vdirt-meta.c (superblock, entries, cache, commit),
 *             dm-vdirt-log.c (record log), dm-vdirt-intent.c (write-intent
 *             bitmap), dm-vdirt-staging.c (baseline staging area),
 *             dm-vdirt-epoch.c (epoch table, write sets),
 *             dm-vdirt-merkle.c (attestation tree),
 *             dm-vdirt-unwritten.c (written bitmap)
 *   format    dm-vdirt-format.h (on-disk layout, the one validator)
 *
 * dm-vdirt-dev.c holds the device registry and state used by all of them
 * and wires the store's ops to the layers above.  Each subsystem's
 * declarations are in its own header, included here.
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
#include "dm-vdirt-cluster.h"
#include "dm-vdirt-dev.h"
#include "dm-vdirt-epoch.h"
#include "dm-vdirt-io.h"
#include "dm-vdirt-intent.h"
#include "dm-vdirt-log.h"
#include "dm-vdirt-merkle.h"
#include "dm-vdirt-meta.h"
#include "dm-vdirt-recovery.h"
#include "dm-vdirt-scan.h"
#include "dm-vdirt-staging.h"
#include "dm-vdirt-unwritten.h"

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
	VDIRT_OPT_WRITE_HASH,
	VDIRT_OPT_COMMIT_S,
	VDIRT_OPT_WRITE_BACK,
	VDIRT_NR_NUM_OPTS,
};

/* the table's optional arguments, constant after ctr */
struct vdirt_opts {
	bool mode_given;
	bool enforce;			/* mode:enforce (else mode:audit) */
	bool no_read_verify;
	bool fail_open;
	bool zero_unwritten;		/* unwritten clusters read as zeros */
	bool given[VDIRT_NR_NUM_OPTS];	/* printed back by STATUSTYPE_TABLE */
	unsigned int val[VDIRT_NR_NUM_OPTS]; /* given, else the default */
	char *log_key;			/* log_key:<description>, or NULL */
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

	struct delayed_work commit_work; /* the target's periodic commit */
	bool periodic;			/* lockless: commit_work may re-arm */
	unsigned int commit_ticks;	/* commit_work only: runs since the
					 * last periodic commit
					 */

	struct vdirt_counters cnt;

	struct mutex baseline_lock;	/* serialises baseline changes
					 * (dm-vdirt-baseline.c)
					 */

	/*
	 * The store and the recovery engine own the groups below (set up by
	 * vdirt_meta_init(), vdirt_log_init(), vdirt_recover_init()).  Each
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
		u64 chain_start;		/* log_lock: first chained record */
		u8 log_hash[32];		/* log_lock: digest of record head - 1 */
		u8 log_hash_committing[32];	/* log_lock: of record log_committing - 1 */
		u8 log_hash_durable[32];	/* log_lock: of record log_durable - 1 */
		struct crypto_shash *log_tfm;	/* constant after ctr: the chain's
						 * sha256 or keyed hmac(sha256)
						 */
		bool log_keyed;			/* constant after ctr: log_key: given */
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
		unsigned long *recover_bits;	/* lockless: lock regions recovered;
						 * set under the range lock, work
						 */
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

	/* epochs and write sets (dm-vdirt-epoch.c) */
	struct vdirt_epochs ep;
	/* the attestation tree (dm-vdirt-merkle.c) */
	struct vdirt_merkle mk;
	/* the written bitmap (dm-vdirt-unwritten.c) */
	struct vdirt_unwritten uw;
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

/* the written bitmap (dm-vdirt-unwritten.h) */
static inline bool vdirt_uw_written(struct vdirt_dev *vd, u64 c)
{
	return test_bit(c, vd->uw.mem);
}

/*
 * The cluster is unwritten and that counts: it reads as zeros
 * (zero_unwritten) or its entry is stale (a purge's walk is pending).
 * Its current digest is not there; while purging, nothing of its entry is.
 */
static inline bool vdirt_uw_hidden(struct vdirt_dev *vd, u64 c)
{
	return vd->uw.on && (vd->uw.zero || READ_ONCE(vd->uw.purging)) &&
	       !test_bit(c, vd->uw.mem);
}

/* reads of an unwritten cluster are zeros, not the data device's */
static inline bool vdirt_uw_zeroes(struct vdirt_dev *vd, u64 c)
{
	return vd->uw.zero && !test_bit(c, vd->uw.mem);
}

/* dm-vdirt-netlink.c: the generic netlink family, from module init/exit */
int vdirt_netlink_init(void);
void vdirt_netlink_exit(void);

#endif /* DM_VDIRT_H */
