/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt cluster layer (dm-vdirt-cluster.c): range locks over clusters,
 * the device's page bios, hashing, per-cluster policy (update / check a
 * cluster), the range-locked reader of stored digests and the digest loop
 * every engine uses to read a range, hash each cluster and act on it.
 */
#ifndef DM_VDIRT_CLUSTER_H
#define DM_VDIRT_CLUSTER_H

#include <linux/bio.h>
#include <linux/list.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>

struct vdirt_dev;
struct vdirt_cursor;

#define VDIRT_LOCK_BUCKETS	256

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

/* the cluster layer's part of a device */
struct vdirt_cluster_ctx {
	struct vdirt_bucket buckets[VDIRT_LOCK_BUCKETS];
	mempool_t *page_pool;		/* pages for copies and re-reads */
	struct mutex page_alloc_lock;	/* one blocking page allocator */
	spinlock_t page_free_lock;	/* protects page_free, page_free_nr */
	struct list_head page_free;	/* recycled pages (page->lru) */
	unsigned int page_free_nr;	/* page_free_lock; READ_ONCE outside */
	unsigned int page_free_max;	/* constant after ctr (page_recycle) */
};

/* ctr: locks and lists (cannot fail); then the page pool */
void vdirt_cluster_init(struct vdirt_dev *vd);
int vdirt_cluster_alloc(struct vdirt_dev *vd);
void vdirt_cluster_exit(struct vdirt_dev *vd);

/* range locks */
bool vdirt_range_trylock(struct vdirt_dev *vd, struct vdirt_range *r);
void vdirt_range_lock_sync(struct vdirt_dev *vd, u64 first, u64 last,
			   struct vdirt_range *r);
void vdirt_range_unlock(struct vdirt_dev *vd, struct vdirt_range *r);

/* page bios: our own data bios with pages from the page pool */
struct bio *vdirt_alloc_page_bio(struct vdirt_dev *vd, unsigned int size,
				 blk_opf_t opf);
struct bio *vdirt_alloc_page_bio_nowait(struct vdirt_dev *vd,
					unsigned int size, blk_opf_t opf);
void vdirt_free_page_bio(struct vdirt_dev *vd, struct bio *bio);
int vdirt_read_into(struct vdirt_dev *vd, struct bio *pb, u64 first,
		    struct bio *origin);

/* hashing */
int vdirt_hash(struct vdirt_dev *vd, const void *data, unsigned int len,
	       u8 *out);

/*
 * per-cluster policy; op may carry VDIRT_OP_NO_WSET (never on disk): a
 * recovery's first measurement that found no write (not in a write set,
 * no last write recorded)
 */
#define VDIRT_OP_NO_WSET	0x80
int vdirt_update_cluster(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			 u64 cluster, const u8 *digest, u64 now, u8 op);

/*
 * Both digests of clusters [first, first + n), each read under its lock
 * region's range lock.  valid[i] gets VDIRT_E_CURRENT and VDIRT_E_BASELINE
 * of the entry; digests hold n * digest_size bytes (zeros when not valid);
 * epochs[i] and times[i] the epoch and wall clock of the last write.
 */
int vdirt_digests_read(struct vdirt_dev *vd, u64 first, u32 n, u8 *valid,
		       u8 *cur_digests, u8 *base_digests, u32 *epochs,
		       u64 *times);

/* vdirt_check_cluster() */
enum {
	VDIRT_CHECK_MATCH = 0,	/* matches, or measured on first use */
	VDIRT_CHECK_MISMATCH,	/* mismatch, recorded */
	VDIRT_CHECK_RECHECK,	/* untrusted data: read it again to decide */
};

int vdirt_check_cluster(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			u64 cluster, const u8 *digest, u8 op, bool trusted);

/*
 * The digest loop: read clusters [first, last] into page bio pages
 * (cluster first at byte 0), hash each cluster and hand its digest to
 * fn().  fn() returning < 0 stops the walk with that error.
 */
typedef int (*vdirt_digest_fn)(struct vdirt_dev *vd, struct vdirt_cursor *cur,
			       u64 cluster, const u8 *digest, void *arg);

struct vdirt_digest_walk {
	u64 first;
	u64 last;
	struct bio *pages;	/* NULL: the walk allocates and frees them */
	struct bio *origin;	/* the read is charged to its cgroup, or NULL */
	bool read;		/* false: pages already hold the data */
	bool preread;		/* with read false: the caller read the pages
				 * itself, read_err is that read's error
				 */
	bool unreadable;	/* a read error calls fn() with digest NULL
				 * for every cluster instead of failing
				 */
	u64 mask;		/* bit i: cluster first + i only; 0: all */
	bool nowait;		/* map: cached entries only, no record: a
				 * walk that would wait returns -EAGAIN
				 */
	vdirt_digest_fn fn;
	void *arg;		/* for fn() */
	int read_err;		/* out: the read's error or 0 (in: preread) */
};

int vdirt_digest_walk(struct vdirt_dev *vd, struct vdirt_digest_walk *w);
/* store each digest as written (NULL: unmeasured); op VDIRT_OP_* */
int vdirt_measure_clusters(struct vdirt_dev *vd, struct vdirt_digest_walk *w,
			   u64 now, u8 op);
/* check each cluster of our own pages; *mismatch set if one mismatched */
int vdirt_verify_clusters(struct vdirt_dev *vd, struct vdirt_digest_walk *w,
			  u8 op, bool *mismatch);

#endif /* DM_VDIRT_CLUSTER_H */
