// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt attestation tree (store layer).
 *
 * The tree (dm-vdirt-format.h gives its definition) is kept on the
 * metadata device from level 7 up: one node per chunk of 128 clusters and
 * every level above it, and a bitmap of the chunks whose entries changed
 * since their node was written.  A write costs a bit in memory (set in
 * vdirt_merkle_end()); the commit writes the bitmap blocks that changed,
 * with the entries, so after a crash the bitmap, together with the dirty
 * write-intent regions (whose chunks activation marks changed), names
 * every chunk whose node may be stale.
 *
 * A root covers one instant while writes go on: vdirt_merkle_start()
 * freezes every chunk (frozen bits, then synchronize_rcu() so that no
 * change that missed them is still being made), then takes the changed
 * chunks as the job's pending set.  A change to a frozen chunk first
 * copies the chunk's digests to the staging area (vdirt_merkle_prepare(),
 * under snap_lock); the job reads a frozen chunk from the entries and a
 * copied one from the staging area, so it sees the digests of the instant
 * of the freeze.  It writes the pending chunks' nodes and the nodes above
 * them, makes them durable, and only then lets the commit clear their bits.
 * A held snapshot (metadata_snap take) keeps every chunk frozen until it
 * is dropped, so HASH_GET can dump the frozen digests.  The staging area
 * is shared with baseline loads: each refuses while the other uses it.
 */
#include <linux/bitmap.h>
#include <linux/ima.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <crypto/hash.h>

#include "dm-vdirt.h"
#include "dm-vdirt-genl.h"

#define VDIRT_MK_BITS_PER_BLOCK	VDIRT_INTENT_BITS_PER_BLOCK

static void vdirt_merkle_work(struct work_struct *work);
static void vdirt_merkle_unfreeze(struct vdirt_dev *vd);

void vdirt_merkle_init(struct vdirt_dev *vd)
{
	mutex_init(&vd->mk.snap_lock);
	spin_lock_init(&vd->mk.res_lock);
	INIT_WORK(&vd->mk.work, vdirt_merkle_work);
}

int vdirt_merkle_alloc(struct vdirt_dev *vd, char **error)
{
	struct vdirt_merkle *mk = &vd->mk;
	size_t longs;

	mk->on = vd->layout.flags & VDIRT_LAYOUT_MERKLE;
	if (!mk->on)
		return 0;
	mk->chunks = vdirt_merkle_level_nodes(vd->nr_clusters,
					      VDIRT_MERKLE_CHUNK_SHIFT);
	longs = BITS_TO_LONGS(mk->chunks);
	mk->dirty = kvcalloc(longs, sizeof(long), GFP_KERNEL);
	mk->pending = kvcalloc(longs, sizeof(long), GFP_KERNEL);
	mk->frozen = kvcalloc(longs, sizeof(long), GFP_KERNEL);
	mk->blk_changed = kvcalloc(BITS_TO_LONGS(vd->layout.merkle_bitmap_blocks),
				   sizeof(long), GFP_KERNEL);
	mk->res = kzalloc(sizeof(*mk->res), GFP_KERNEL);
	mk->next = kzalloc(sizeof(*mk->next), GFP_KERNEL);
	if (!mk->dirty || !mk->pending || !mk->frozen || !mk->blk_changed ||
	    !mk->res || !mk->next) {
		*error = "Cannot allocate the attestation tree's bitmaps";
		return -ENOMEM;
	}
	mk->tfm = crypto_alloc_shash("sha256", 0, 0);
	if (IS_ERR(mk->tfm)) {
		mk->tfm = NULL;
		*error = "Cannot allocate sha256 for the attestation tree";
		return -ENOMEM;
	}
	return 0;
}

void vdirt_merkle_free(struct vdirt_dev *vd)
{
	struct vdirt_merkle *mk = &vd->mk;

	if (mk->tfm)
		crypto_free_shash(mk->tfm);
	mk->tfm = NULL;
	kvfree(mk->dirty);
	kvfree(mk->pending);
	kvfree(mk->frozen);
	kvfree(mk->blk_changed);
	kfree(mk->res);
	kfree(mk->next);
	mk->dirty = NULL;
	mk->pending = NULL;
	mk->frozen = NULL;
	mk->blk_changed = NULL;
	mk->res = NULL;
	mk->next = NULL;
}

/* ---- the changed-chunk bitmap ---- */

static void vdirt_merkle_changed(struct vdirt_dev *vd, u64 k)
{
	/* a plain read first: no locked instruction once the bit is set */
	if (!test_bit(k, vd->mk.dirty) && !test_and_set_bit(k, vd->mk.dirty))
		set_bit(k / VDIRT_MK_BITS_PER_BLOCK, vd->mk.blk_changed);
}

void vdirt_merkle_all_changed(struct vdirt_dev *vd)
{
	struct vdirt_merkle *mk = &vd->mk;

	if (!mk->on)
		return;
	bitmap_fill(mk->dirty, mk->chunks);
	bitmap_fill(mk->blk_changed, vd->layout.merkle_bitmap_blocks);
	atomic_set(&vd->meta_dirty, 1);
}

int vdirt_merkle_quiesce(struct vdirt_dev *vd)
{
	mutex_lock(&vd->mk.snap_lock);
	if (vd->mk.on && (vd->mk.freeze || vd->mk.running)) {
		mutex_unlock(&vd->mk.snap_lock);
		return -EBUSY;
	}
	return 0;
}

void vdirt_merkle_release(struct vdirt_dev *vd)
{
	mutex_unlock(&vd->mk.snap_lock);
}

/* write bitmap block b from dirty | pending (commit_lock held) */
static int vdirt_merkle_put_bitmap(struct vdirt_dev *vd, u64 b)
{
	struct vdirt_merkle *mk = &vd->mk;
	u64 first = b * VDIRT_MK_BITS_PER_BLOCK, k;
	u64 end = min_t(u64, mk->chunks, first + VDIRT_MK_BITS_PER_BLOCK);
	struct dm_buffer *buf;
	u8 *p;

	p = vdirt_meta_get(vd, vd->layout.merkle_start + b, &buf, false);
	if (IS_ERR(p))
		return PTR_ERR(p);
	memset(p, 0, VDIRT_META_BLOCK_SIZE);
	for (k = first; k < end; k++)
		if (test_bit(k, mk->dirty) || test_bit(k, mk->pending))
			__set_bit_le(k - first, p);
	vdirt_meta_mark_dirty(vd, buf);
	dm_bufio_release(buf);
	return 0;
}

int vdirt_merkle_sync(struct vdirt_dev *vd)
{
	struct vdirt_merkle *mk = &vd->mk;
	u64 b;
	int r;

	lockdep_assert_held(&vd->commit_lock);
	if (!mk->on || vd->read_only)
		return 0;
	for (b = 0; b < vd->layout.merkle_bitmap_blocks; b++) {
		if (!test_and_clear_bit(b, mk->blk_changed))
			continue;
		r = vdirt_merkle_put_bitmap(vd, b);
		if (r) {
			set_bit(b, mk->blk_changed);
			return r;
		}
	}
	return 0;
}

int vdirt_merkle_format(struct vdirt_dev *vd)
{
	const struct vdirt_layout *l = &vd->layout;
	u64 chunks = vdirt_merkle_level_nodes(l->nr_clusters,
					      VDIRT_MERKLE_CHUNK_SHIFT);
	struct dm_buffer *buf;
	u64 b, bits, i;
	u8 *p;

	lockdep_assert_held(&vd->commit_lock);
	if (!(l->flags & VDIRT_LAYOUT_MERKLE))
		return 0;
	for (b = 0; b < l->merkle_bitmap_blocks; b++) {
		p = dm_bufio_new(vd->bufio, l->merkle_start + b, &buf);
		if (IS_ERR(p))
			return PTR_ERR(p);
		memset(p, 0, VDIRT_META_BLOCK_SIZE);
		bits = min_t(u64, chunks - b * VDIRT_MK_BITS_PER_BLOCK,
			     VDIRT_MK_BITS_PER_BLOCK);
		for (i = 0; i < bits; i++)
			__set_bit_le(i, p);
		dm_bufio_mark_buffer_dirty(buf);
		dm_bufio_release(buf);
	}
	return 0;
}

int vdirt_merkle_activate(struct vdirt_dev *vd)
{
	struct vdirt_merkle *mk = &vd->mk;
	u64 b, k, first, end, regions, reg;
	struct dm_buffer *buf;
	u8 *p;

	lockdep_assert_held(&vd->commit_lock);
	if (!mk->on)
		return 0;
	bitmap_zero(mk->dirty, mk->chunks);
	bitmap_zero(mk->pending, mk->chunks);
	bitmap_zero(mk->frozen, mk->chunks);
	bitmap_zero(mk->blk_changed, vd->layout.merkle_bitmap_blocks);
	for (b = 0; b < vd->layout.merkle_bitmap_blocks; b++) {
		p = vdirt_meta_get(vd, vd->layout.merkle_start + b, &buf, false);
		if (IS_ERR(p))
			return PTR_ERR(p);
		first = b * VDIRT_MK_BITS_PER_BLOCK;
		end = min_t(u64, mk->chunks, first + VDIRT_MK_BITS_PER_BLOCK);
		for (k = first; k < end; k++)
			if (test_bit_le(k - first, p))
				__set_bit(k, mk->dirty);
		dm_bufio_release(buf);
	}
	/* entries of dirty regions may be on disk without their bits */
	regions = (vd->nr_clusters + VDIRT_INTENT_REGION_CLUSTERS - 1) /
		  VDIRT_INTENT_REGION_CLUSTERS;
	for (reg = 0; reg < regions; reg++) {
		if (!vdirt_intent_pending(vd, reg))
			continue;
		first = (reg * VDIRT_INTENT_REGION_CLUSTERS) >>
			VDIRT_MERKLE_CHUNK_SHIFT;
		end = min_t(u64, mk->chunks, first +
			    (VDIRT_INTENT_REGION_CLUSTERS >>
			     VDIRT_MERKLE_CHUNK_SHIFT));
		for (k = first; k < end; k++)
			vdirt_merkle_changed(vd, k);
	}
	return 0;
}

/* ---- the staging area as the frozen chunks' copy ---- */

/* copy len bytes between buf and the staging area at byte pos */
static int vdirt_merkle_stage(struct vdirt_dev *vd, u64 pos, u8 *buf, u32 len,
			      bool write)
{
	struct dm_buffer *b;
	u32 off, n;
	u8 *p;

	while (len) {
		sector_t blk = vd->layout.staging_start +
			       pos / VDIRT_META_BLOCK_SIZE;

		off = pos % VDIRT_META_BLOCK_SIZE;
		n = min_t(u32, len, VDIRT_META_BLOCK_SIZE - off);
		/* a whole block (a chunk of 32-byte digests) is not read first */
		if (write && n == VDIRT_META_BLOCK_SIZE)
			p = dm_bufio_new(vd->bufio, blk, &b);
		else
			p = vdirt_meta_get(vd, blk, &b, false);
		if (IS_ERR(p))
			return PTR_ERR(p);
		if (write) {
			memcpy(p + off, buf, n);
			vdirt_meta_mark_dirty(vd, b);
		} else {
			memcpy(buf, p + off, n);
		}
		dm_bufio_release(b);
		pos += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* the current digests of chunk k's clusters from the entries (zero: none) */
static int vdirt_merkle_read_live(struct vdirt_dev *vd, u64 k, u8 *digests)
{
	struct vdirt_cursor cur = VDIRT_CURSOR_INIT;
	struct vdirt_disk_entry *e;
	u64 c = k << VDIRT_MERKLE_CHUNK_SHIFT;
	u64 end = min_t(u64, vd->nr_clusters, c + VDIRT_MERKLE_CHUNK);
	u32 ds = vd->digest_size;
	u8 *d = digests;
	int r = 0;

	for (; c < end; c++, d += ds) {
		e = vdirt_cursor_get(vd, &cur, c);
		if (IS_ERR(e)) {
			r = PTR_ERR(e);
			break;
		}
		if ((e->flags & VDIRT_E_CURRENT) && !vdirt_uw_hidden(vd, c))
			memcpy(d, vdirt_entry_current(e), ds);
		else
			memset(d, 0, ds);
	}
	vdirt_cursor_put(vd, &cur);
	return r;
}

static u32 vdirt_merkle_chunk_len(struct vdirt_dev *vd, u64 k)
{
	u64 c = k << VDIRT_MERKLE_CHUNK_SHIFT;

	return min_t(u64, vd->nr_clusters - c, VDIRT_MERKLE_CHUNK);
}

/* chunk k as it was at the freeze (snap_lock held) */
static int vdirt_merkle_read_frozen(struct vdirt_dev *vd, u64 k, u8 *digests,
				    bool *copied)
{
	u32 n = vdirt_merkle_chunk_len(vd, k);

	lockdep_assert_held(&vd->mk.snap_lock);
	*copied = !test_bit(k, vd->mk.frozen);
	if (!*copied)
		return vdirt_merkle_read_live(vd, k, digests);
	return vdirt_merkle_stage(vd, (k << VDIRT_MERKLE_CHUNK_SHIFT) *
				  vd->digest_size, digests,
				  n * vd->digest_size, false);
}

int vdirt_merkle_prepare(struct vdirt_dev *vd, u64 cluster, bool nowait)
{
	struct vdirt_merkle *mk = &vd->mk;
	u64 k = cluster >> VDIRT_MERKLE_CHUNK_SHIFT;
	u8 *buf;
	int r = 0;

	if (!mk->on || likely(!test_bit(k, mk->frozen)))
		return 0;
	if (nowait)
		return -EAGAIN;
	buf = kmalloc(VDIRT_MERKLE_CHUNK * VDIRT_MAX_DIGEST_SIZE, GFP_NOIO);
	if (!buf)
		return -ENOMEM;
	mutex_lock(&mk->snap_lock);
	if (test_bit(k, mk->frozen)) {
		r = vdirt_merkle_read_live(vd, k, buf);
		if (!r)
			r = vdirt_merkle_stage(vd, (k << VDIRT_MERKLE_CHUNK_SHIFT) *
					       vd->digest_size, buf,
					       vdirt_merkle_chunk_len(vd, k) *
					       vd->digest_size, true);
		if (!r)
			clear_bit(k, mk->frozen);
	}
	mutex_unlock(&mk->snap_lock);
	kfree(buf);
	return r;
}

bool vdirt_merkle_frozen(struct vdirt_dev *vd, u64 cluster)
{
	return vd->mk.on &&
	       test_bit(cluster >> VDIRT_MERKLE_CHUNK_SHIFT, vd->mk.frozen);
}

void vdirt_merkle_mark(struct vdirt_dev *vd, u64 cluster)
{
	if (vd->mk.on)
		vdirt_merkle_changed(vd, cluster >> VDIRT_MERKLE_CHUNK_SHIFT);
}

/* ---- hashing ---- */

/* out = SHA-256(tag || a[alen] || b[blen]) */
static int vdirt_merkle_hash(struct vdirt_dev *vd, u8 tag, const void *a,
			     u32 alen, const void *b, u32 blen, u8 *out)
{
	SHASH_DESC_ON_STACK(desc, vd->mk.tfm);
	int r;

	desc->tfm = vd->mk.tfm;
	r = crypto_shash_init(desc);
	if (!r)
		r = crypto_shash_update(desc, &tag, 1);
	if (!r)
		r = crypto_shash_update(desc, a, alen);
	if (!r)
		r = crypto_shash_finup(desc, b, blen, out);
	return r;
}

static int vdirt_merkle_leaf(struct vdirt_dev *vd, u64 c, const u8 *digest,
			     u8 *out)
{
	__le64 idx = cpu_to_le64(c);

	return vdirt_merkle_hash(vd, VDIRT_MERKLE_LEAF, &idx, sizeof(idx),
				 digest, vd->digest_size, out);
}

static int vdirt_merkle_node(struct vdirt_dev *vd, const u8 *left,
			     const u8 *right, u8 *out)
{
	return vdirt_merkle_hash(vd, VDIRT_MERKLE_NODE, left,
				 VDIRT_MERKLE_DIGEST_SIZE, right,
				 VDIRT_MERKLE_DIGEST_SIZE, out);
}

static int vdirt_merkle_final(struct vdirt_dev *vd, const u8 *top, u8 *root)
{
	/* the geometry after the tag */
	struct {
		__le64 clusters;
		__le32 cluster_size;
		__le32 digest_size;
		char hash_name[VDIRT_HASH_NAME_LEN];
	} __packed g;

	memset(&g, 0, sizeof(g));
	g.clusters = cpu_to_le64(vd->nr_clusters);
	g.cluster_size = cpu_to_le32(vd->cluster_size);
	g.digest_size = cpu_to_le32(vd->digest_size);
	strscpy(g.hash_name, vd->hash_name, sizeof(g.hash_name));
	return vdirt_merkle_hash(vd, VDIRT_MERKLE_ROOT, &g, sizeof(g), top,
				 VDIRT_MERKLE_DIGEST_SIZE, root);
}

/* ---- the job ---- */

struct vdirt_mk_job {
	u8 digests[VDIRT_MERKLE_CHUNK * VDIRT_MAX_DIGEST_SIZE];
	u8 nodes[VDIRT_MERKLE_CHUNK][VDIRT_MERKLE_DIGEST_SIZE];
};

static const u8 vdirt_mk_zero[VDIRT_MERKLE_DIGEST_SIZE];

/* node (lv, i) from the metadata device (zero: no leaf under it) */
static int vdirt_merkle_get_node(struct vdirt_dev *vd, u32 lv, u64 i, u8 *out)
{
	struct dm_buffer *b;
	u32 off;
	u8 *p;

	if (i >= vdirt_merkle_level_nodes(vd->nr_clusters, lv)) {
		memset(out, 0, VDIRT_MERKLE_DIGEST_SIZE);
		return 0;
	}
	p = vdirt_meta_get(vd, vdirt_merkle_node_block(&vd->layout, lv, i, &off),
			   &b, false);
	if (IS_ERR(p))
		return PTR_ERR(p);
	memcpy(out, p + off, VDIRT_MERKLE_DIGEST_SIZE);
	dm_bufio_release(b);
	return 0;
}

static int vdirt_merkle_put_node(struct vdirt_dev *vd, u32 lv, u64 i,
				 const u8 *node)
{
	struct dm_buffer *b;
	u32 off;
	u8 *p;

	p = vdirt_meta_get(vd, vdirt_merkle_node_block(&vd->layout, lv, i, &off),
			   &b, false);
	if (IS_ERR(p))
		return PTR_ERR(p);
	memcpy(p + off, node, VDIRT_MERKLE_DIGEST_SIZE);
	vdirt_meta_mark_dirty(vd, b);
	dm_bufio_release(b);
	return 0;
}

/*
 * Chunk k's node from its digests; with res->proof and the cluster in it,
 * the proof's first 7 siblings.
 */
static int vdirt_merkle_chunk(struct vdirt_dev *vd, struct vdirt_mk_job *j,
			      u64 k, struct vdirt_root *res)
{
	u64 c0 = k << VDIRT_MERKLE_CHUNK_SHIFT;
	u32 n = vdirt_merkle_chunk_len(vd, k), w, i, lv;
	bool mine = res->proof && res->cluster >> VDIRT_MERKLE_CHUNK_SHIFT == k;
	u32 pi = res->cluster & (VDIRT_MERKLE_CHUNK - 1);
	int r;

	for (i = 0; i < VDIRT_MERKLE_CHUNK; i++) {
		if (i >= n) {
			memset(j->nodes[i], 0, VDIRT_MERKLE_DIGEST_SIZE);
			continue;
		}
		r = vdirt_merkle_leaf(vd, c0 + i, j->digests + i * vd->digest_size,
				      j->nodes[i]);
		if (r)
			return r;
	}
	if (mine) {
		memcpy(res->digest, j->digests + pi * vd->digest_size,
		       vd->digest_size);
		res->valid = memchr_inv(res->digest, 0, vd->digest_size) ?
			     VDIRT_HV_CURRENT : 0;
	}
	/* level lv + 1 from level lv, in place; zero under no leaf */
	for (lv = 0, w = VDIRT_MERKLE_CHUNK; w > 1; lv++, w /= 2) {
		if (mine)
			memcpy(res->path[lv], j->nodes[pi ^ 1],
			       VDIRT_MERKLE_DIGEST_SIZE);
		for (i = 0; i < w / 2; i++) {
			if ((u64)(i * 2) << lv >= n) {
				memset(j->nodes[i], 0, VDIRT_MERKLE_DIGEST_SIZE);
				continue;
			}
			r = vdirt_merkle_node(vd, j->nodes[2 * i],
					      j->nodes[2 * i + 1], j->nodes[i]);
			if (r)
				return r;
		}
		pi /= 2;
	}
	return vdirt_merkle_put_node(vd, VDIRT_MERKLE_CHUNK_SHIFT, k,
				     j->nodes[0]);
}

/* the levels above 7 over the pending chunks, then the root */
static int vdirt_merkle_upper(struct vdirt_dev *vd, struct vdirt_root *res)
{
	struct vdirt_merkle *mk = &vd->mk;
	u32 h = vd->layout.merkle_height, lv;
	u8 l[VDIRT_MERKLE_DIGEST_SIZE], r8[VDIRT_MERKLE_DIGEST_SIZE];
	u8 node[VDIRT_MERKLE_DIGEST_SIZE];
	u64 k, p, last;
	int r;

	for (lv = VDIRT_MERKLE_CHUNK_SHIFT + 1; lv <= h; lv++) {
		last = U64_MAX;
		for_each_set_bit(k, mk->pending, mk->chunks) {
			p = k >> (lv - VDIRT_MERKLE_CHUNK_SHIFT);
			if (p == last)
				continue;
			last = p;
			r = vdirt_merkle_get_node(vd, lv - 1, 2 * p, l);
			if (!r)
				r = vdirt_merkle_get_node(vd, lv - 1, 2 * p + 1, r8);
			if (!r)
				r = vdirt_merkle_node(vd, l, r8, node);
			if (!r)
				r = vdirt_merkle_put_node(vd, lv, p, node);
			if (r)
				return r;
			if (READ_ONCE(mk->stop))
				return -EINTR;
			cond_resched();
		}
	}
	r = vdirt_merkle_get_node(vd, h, 0, node);
	if (!r)
		r = vdirt_merkle_final(vd, node, res->root);
	if (r || !res->proof)
		return r;
	res->height = h;
	for (lv = VDIRT_MERKLE_CHUNK_SHIFT; lv < h; lv++) {
		r = vdirt_merkle_get_node(vd, lv, (res->cluster >> lv) ^ 1,
					  res->path[lv]);
		if (r)
			return r;
	}
	return 0;
}

/*
 * The IMA measurement of a closed epoch's root: event "dm_vdirt_epoch_root"
 * (label "dm-vdirt"), data "uuid=<32 hex>;epoch=<n>;root=<64 hex>;
 * log_head=<n>;log_hash=<64 hex>;" (see Documentation/dm-vdirt.rst).
 */
static void vdirt_merkle_ima(struct vdirt_dev *vd, const struct vdirt_root *res)
{
	char buf[256];
	int n;

	n = scnprintf(buf, sizeof(buf),
		      "uuid=%*phN;epoch=%llu;root=%*phN;log_head=%llu;log_hash=%*phN;",
		      16, vd->uuid, (unsigned long long)res->epoch,
		      VDIRT_MERKLE_DIGEST_SIZE, res->root,
		      (unsigned long long)res->log_head,
		      VDIRT_CHAIN_DIGEST_SIZE, res->log_hash);
	ima_measure_critical_data("dm-vdirt", "dm_vdirt_epoch_root", buf, n,
				  false, NULL, 0);
}

/* the closed epoch e gets the root (commit_lock taken) */
static int vdirt_merkle_epoch_root(struct vdirt_dev *vd, u64 e,
				   const struct vdirt_root *res)
{
	int r;

	mutex_lock(&vd->commit_lock);
	r = vdirt_epoch_set_root(vd, e, res->root);
	mutex_unlock(&vd->commit_lock);
	if (r == -ENOENT)
		return 0;	/* no longer retained */
	if (!r)
		r = vdirt_commit(vd);
	if (!r)
		vdirt_merkle_ima(vd, res);
	return r;
}

/*
 * Pending chunks whose entry blocks are read ahead of the job: one
 * synchronous read per entry block made a root after a scattered 1 %
 * change bound by metadata read latency, not by its hashes.
 */
#define VDIRT_MERKLE_PREFETCH	16U

/*
 * job: start reading the entries of the pending chunks after k, so that
 * VDIRT_MERKLE_PREFETCH of them are on their way; *pk is the first chunk
 * not asked for yet, *ahead how many asked for are still to come.
 */
static void vdirt_merkle_prefetch(struct vdirt_dev *vd, u64 k, u64 *pk,
				  u32 *ahead)
{
	struct vdirt_merkle *mk = &vd->mk;
	u64 c;

	if (k < *pk && *ahead)
		(*ahead)--;
	if (*pk <= k)
		*pk = k + 1;
	while (*ahead < VDIRT_MERKLE_PREFETCH) {
		*pk = find_next_bit(mk->pending, mk->chunks, *pk);
		if (*pk >= mk->chunks)
			return;
		c = *pk << VDIRT_MERKLE_CHUNK_SHIFT;
		vdirt_meta_prefetch(vd, c, c + vdirt_merkle_chunk_len(vd, *pk) - 1);
		(*pk)++;
		(*ahead)++;
	}
}

static int vdirt_merkle_run(struct vdirt_dev *vd, struct vdirt_root *res)
{
	struct vdirt_merkle *mk = &vd->mk;
	struct vdirt_mk_job *j;
	u64 k, pk = 0;
	u32 ahead = 0;
	bool copied;
	int r = 0;

	j = kvmalloc(sizeof(*j), GFP_KERNEL);
	if (!j)
		return -ENOMEM;
	for_each_set_bit(k, mk->pending, mk->chunks) {
		vdirt_merkle_prefetch(vd, k, &pk, &ahead);
		mutex_lock(&mk->snap_lock);
		r = vdirt_merkle_read_frozen(vd, k, j->digests, &copied);
		/* a root alone needs the chunk no longer: writes go on */
		if (!r && !mk->snap)
			clear_bit(k, mk->frozen);
		mutex_unlock(&mk->snap_lock);
		/* copied aside: a change followed the freeze */
		if (!r && copied)
			vdirt_merkle_changed(vd, k);
		if (!r)
			r = vdirt_merkle_chunk(vd, j, k, res);
		if (!r && READ_ONCE(mk->stop))
			r = -EINTR;
		if (r)
			break;
		cond_resched();
	}
	kvfree(j);
	if (!r)
		r = vdirt_merkle_upper(vd, res);
	/* the nodes are durable before their bits may be cleared */
	if (!r)
		r = dm_bufio_write_dirty_buffers(vd->bufio);
	return r;
}

static void vdirt_merkle_work(struct work_struct *work)
{
	struct vdirt_dev *vd = container_of(work, struct vdirt_dev, mk.work);
	struct vdirt_merkle *mk = &vd->mk;
	struct vdirt_root *res = mk->next;
	u64 e, b, t0 = ktime_get_ns();
	u64 n = bitmap_weight(mk->pending, mk->chunks);
	int r;

	r = vdirt_merkle_run(vd, res);
	mutex_lock(&mk->snap_lock);
	e = mk->for_epoch;
	mk->for_epoch = 0;
	if (r) {
		/* the pending chunks stay changed */
		bitmap_or(mk->dirty, mk->dirty, mk->pending, mk->chunks);
	}
	bitmap_zero(mk->pending, mk->chunks);
	for (b = 0; b < vd->layout.merkle_bitmap_blocks; b++)
		set_bit(b, mk->blk_changed);
	atomic_set(&vd->meta_dirty, 1);
	if (!mk->snap)
		vdirt_merkle_unfreeze(vd);
	mk->running = false;
	mutex_unlock(&mk->snap_lock);
	if (!r && e)
		r = vdirt_merkle_epoch_root(vd, e, res);
	if (r)
		VDLOG(DMWARN, vd, "attestation root %llu failed: error %d",
		      (unsigned long long)res->id, r);
	else
		VDLOG(DMINFO, vd, "attestation root %llu: %llu of %llu chunks computed in %llu ms",
		      (unsigned long long)res->id, (unsigned long long)n,
		      (unsigned long long)mk->chunks,
		      (unsigned long long)div_u64(ktime_get_ns() - t0,
						  NSEC_PER_MSEC));
	spin_lock(&mk->res_lock);
	mk->done_id = res->id;
	mk->result = r;
	if (!r)
		swap(mk->res, mk->next);
	spin_unlock(&mk->res_lock);
}

/* the staging area is free for a freeze (snap_lock held) */
static int vdirt_merkle_staging_free(struct vdirt_dev *vd)
{
	lockdep_assert_held(&vd->mk.snap_lock);
	if (!(vd->layout.flags & VDIRT_LAYOUT_STAGING))
		return -EOPNOTSUPP;
	return vdirt_staging_in_use(vd) ? -EBUSY : 0;
}

int vdirt_merkle_start(struct vdirt_dev *vd, bool snap, bool proof,
		       u64 cluster, u64 for_epoch, u64 *id)
{
	struct vdirt_merkle *mk = &vd->mk;
	struct vdirt_root *res;
	unsigned long *d, *p;
	size_t w;
	int r;

	if (!mk->on)
		return -EOPNOTSUPP;
	if (vd->read_only)
		return -EROFS;
	if (proof && cluster >= vd->nr_clusters)
		return -ERANGE;
	mutex_lock(&mk->snap_lock);
	r = mk->freeze ? -EBUSY : vdirt_merkle_staging_free(vd);
	if (r) {
		mutex_unlock(&mk->snap_lock);
		return r;
	}
	res = mk->next;
	memset(res, 0, sizeof(*res));
	res->proof = proof;
	res->cluster = cluster;
	mk->freeze = true;
	mk->snap = snap;
	mk->for_epoch = for_epoch;
	mk->running = true;
	WRITE_ONCE(mk->stop, false);
	bitmap_fill(mk->frozen, mk->chunks);
	res->epoch = for_epoch ? for_epoch : READ_ONCE(vd->epoch);
	res->time_ns = ktime_get_real_ns();
	mutex_lock(&vd->log_lock);
	res->log_head = vd->log_head;
	memcpy(res->log_hash, vd->log_hash, sizeof(res->log_hash));
	mutex_unlock(&vd->log_lock);
	res->sb_seq = READ_ONCE(vd->sb_seq);
	spin_lock(&mk->res_lock);
	res->id = ++mk->id;
	*id = res->id;
	spin_unlock(&mk->res_lock);
	mutex_unlock(&mk->snap_lock);

	/* changes that missed the frozen bits are finished after this */
	synchronize_rcu();
	d = mk->dirty;
	p = mk->pending;
	for (w = 0; w < BITS_TO_LONGS(mk->chunks); w++)
		p[w] = xchg(&d[w], 0);
	if (proof)
		set_bit(cluster >> VDIRT_MERKLE_CHUNK_SHIFT, mk->pending);
	if (!snap) {
		/* only the pending chunks are read: let the others change */
		mutex_lock(&mk->snap_lock);
		bitmap_and(mk->frozen, mk->frozen, mk->pending, mk->chunks);
		mutex_unlock(&mk->snap_lock);
	}
	queue_work(system_long_wq, &mk->work);
	return 0;
}

/*
 * Drop the frozen state and the staging blocks' cache (snap_lock held): a
 * baseline load writes the staging area around the cache.
 */
static void vdirt_merkle_unfreeze(struct vdirt_dev *vd)
{
	struct vdirt_merkle *mk = &vd->mk;
	int r;

	lockdep_assert_held(&mk->snap_lock);
	bitmap_zero(mk->frozen, mk->chunks);
	mk->freeze = false;
	mk->snap = false;
	r = dm_bufio_write_dirty_buffers(vd->bufio);
	if (r)
		vdirt_store_error(vd, "metadata write", r);
	dm_bufio_forget_buffers(vd->bufio, vd->layout.staging_start,
				vd->layout.staging_blocks);
}

int vdirt_merkle_drop(struct vdirt_dev *vd)
{
	struct vdirt_merkle *mk = &vd->mk;
	int r = 0;

	if (!mk->on)
		return -EOPNOTSUPP;
	mutex_lock(&mk->snap_lock);
	if (!mk->snap)
		r = -ENOENT;
	else if (mk->running)
		mk->snap = false;	/* the job unfreezes when it ends */
	else
		vdirt_merkle_unfreeze(vd);
	mutex_unlock(&mk->snap_lock);
	return r;
}

void vdirt_merkle_stop(struct vdirt_dev *vd)
{
	struct vdirt_merkle *mk = &vd->mk;

	if (!mk->on)
		return;
	WRITE_ONCE(mk->stop, true);
	flush_work(&mk->work);
	mutex_lock(&mk->snap_lock);
	if (mk->freeze && !mk->running)
		vdirt_merkle_unfreeze(vd);
	mutex_unlock(&mk->snap_lock);
}

bool vdirt_merkle_snap_held(struct vdirt_dev *vd)
{
	return vd->mk.on && READ_ONCE(vd->mk.snap);
}

int vdirt_merkle_result(struct vdirt_dev *vd, u64 *id, u64 *done_id,
			struct vdirt_root *out)
{
	struct vdirt_merkle *mk = &vd->mk;
	int r;

	if (!mk->on)
		return -EOPNOTSUPP;
	spin_lock(&mk->res_lock);
	*id = mk->id;
	*done_id = mk->done_id;
	r = mk->done_id ? mk->result : -ENODATA;
	if (!r)
		memcpy(out, mk->res, sizeof(*out));
	spin_unlock(&mk->res_lock);
	return r;
}

int vdirt_merkle_snap_read(struct vdirt_dev *vd, u64 first, u32 n,
			   u8 *digests)
{
	struct vdirt_merkle *mk = &vd->mk;
	u8 *buf;
	u64 k, c, end = first + n;
	u32 ds = vd->digest_size, from, cnt;
	bool copied;
	int r = 0;

	if (!mk->on)
		return -EOPNOTSUPP;
	buf = kmalloc(VDIRT_MERKLE_CHUNK * VDIRT_MAX_DIGEST_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	mutex_lock(&mk->snap_lock);
	if (!mk->snap)
		r = -ENOENT;
	for (c = first; !r && c < end; c += cnt) {
		k = c >> VDIRT_MERKLE_CHUNK_SHIFT;
		from = c & (VDIRT_MERKLE_CHUNK - 1);
		cnt = min_t(u64, end - c, VDIRT_MERKLE_CHUNK - from);
		r = vdirt_merkle_read_frozen(vd, k, buf, &copied);
		if (!r)
			memcpy(digests + (c - first) * ds, buf + from * ds,
			       cnt * ds);
	}
	mutex_unlock(&mk->snap_lock);
	kfree(buf);
	return r;
}
