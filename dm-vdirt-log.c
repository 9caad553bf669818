// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt record log (store layer): the ring of mismatch records
 * (VDIRT_LOG_CAPACITY records of VDIRT_RECORD_SIZE bytes in the log region
 * of the metadata device, read and written through the metadata cache),
 * and the events sent to the listeners (netlink, vdirt_event_ops) once the
 * commit that makes a record durable is done.  Record numbers below
 * log_durable are committed; the superblock carries head and tail.
 *
 * With RO_COMPAT_CHAIN the ring is a hash chain: record n (n > chain_start)
 * carries prev = D(n - 1), D being SHA-256 (or HMAC-SHA256 with the key of
 * log_key:) of a record's 256 on-disk bytes, and the superblock carries
 * log_hash = D(log_head - 1).  Hashing is done under log_lock, in process
 * context, with vd->log_tfm (never vd->tfm).
 */
#include <linux/key.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <keys/user-type.h>

#include "dm-vdirt.h"

/* a record waiting for the commit that makes it durable */
struct vdirt_event {
	struct list_head node;		/* in vd->events, by record number */
	struct vdirt_record rec;
};

/* the event hook: written under RCU, read under rcu_read_lock() */
static const struct vdirt_event_ops __rcu *vdirt_event_ops;

void vdirt_log_init(struct vdirt_dev *vd)
{
	mutex_init(&vd->log_lock);
	spin_lock_init(&vd->events_lock);
	INIT_LIST_HEAD(&vd->events);
}

static u32 vdirt_record_csum(const struct vdirt_disk_record *rec)
{
	struct vdirt_disk_record tmp;

	memcpy(&tmp, rec, sizeof(tmp));
	tmp.csum = 0;
	return crc32c(~0U, &tmp, sizeof(tmp));
}

/* the on-disk image of rec: the one place a record is packed */
static void vdirt_record_pack(const struct vdirt_record *rec,
			      struct vdirt_disk_record *d)
{
	int i;

	memset(d, 0, sizeof(*d));
	d->seq = cpu_to_le64(rec->seq);
	d->cluster = cpu_to_le64(rec->cluster);
	d->time_ns = cpu_to_le64(rec->time_ns);
	d->kind = rec->kind;
	d->op = rec->op;
	d->digest_size = rec->digest_size;
	memcpy(d->expected, rec->expected, rec->digest_size);
	memcpy(d->actual, rec->actual, rec->digest_size);
	for (i = 0; i < ARRAY_SIZE(d->aux); i++)
		d->aux[i] = cpu_to_le64(rec->aux[i]);
	memcpy(d->prev, rec->prev, sizeof(d->prev));
	d->epoch = cpu_to_le64(rec->epoch);
	d->csum = cpu_to_le32(vdirt_record_csum(d));
}

/* rec from its on-disk image d of record seq, or -EILSEQ */
static int vdirt_record_unpack(struct vdirt_dev *vd,
			       const struct vdirt_disk_record *d, u64 seq,
			       struct vdirt_record *rec)
{
	int i;

	if (le64_to_cpu(d->seq) != seq ||
	    le32_to_cpu(d->csum) != vdirt_record_csum(d) ||
	    d->digest_size != vd->digest_size)
		return -EILSEQ;
	memset(rec, 0, sizeof(*rec));
	rec->seq = seq;
	rec->cluster = le64_to_cpu(d->cluster);
	rec->time_ns = le64_to_cpu(d->time_ns);
	rec->kind = d->kind;
	rec->op = d->op;
	rec->digest_size = d->digest_size;
	memcpy(rec->expected, d->expected, d->digest_size);
	memcpy(rec->actual, d->actual, d->digest_size);
	for (i = 0; i < ARRAY_SIZE(rec->aux); i++)
		rec->aux[i] = le64_to_cpu(d->aux[i]);
	memcpy(rec->prev, d->prev, sizeof(rec->prev));
	rec->epoch = le64_to_cpu(d->epoch);
	return 0;
}

/* the slot of record seq in its cached log block; log_lock held */
static struct vdirt_disk_record *vdirt_log_slot(struct vdirt_dev *vd, u64 seq,
						struct dm_buffer **bp)
{
	u64 idx = seq % VDIRT_LOG_CAPACITY;
	u8 *p;

	lockdep_assert_held(&vd->log_lock);
	p = vdirt_meta_read(vd, vd->layout.log_start +
			    idx / VDIRT_RECORDS_PER_BLOCK, bp);
	if (IS_ERR(p))
		return ERR_CAST(p);
	return (struct vdirt_disk_record *)
	       (p + (idx % VDIRT_RECORDS_PER_BLOCK) * VDIRT_RECORD_SIZE);
}

/* the record log up to the current head goes into the next superblock */
void vdirt_log_snapshot(struct vdirt_dev *vd)
{
	lockdep_assert_held(&vd->commit_lock);
	mutex_lock(&vd->log_lock);
	vd->log_committing = vd->log_head;
	memcpy(vd->log_hash_committing, vd->log_hash,
	       sizeof(vd->log_hash_committing));
	mutex_unlock(&vd->log_lock);
}

/* ---- the hash chain ---- */

static bool vdirt_chained(struct vdirt_dev *vd)
{
	return vd->layout.flags & VDIRT_LAYOUT_CHAIN;
}

/* D(record): SHA-256 or HMAC-SHA256 of its 256 on-disk bytes */
static int vdirt_chain_digest(struct vdirt_dev *vd,
			      const struct vdirt_disk_record *d, u8 *out)
{
	SHASH_DESC_ON_STACK(desc, vd->log_tfm);
	int r;

	desc->tfm = vd->log_tfm;
	r = crypto_shash_digest(desc, (const u8 *)d, VDIRT_RECORD_SIZE, out);
	shash_desc_zero(desc);
	return r;
}

#ifdef CONFIG_KEYS
/* the chain's key: the payload of logon key desc, at least 16 bytes */
static int vdirt_log_setkey(struct vdirt_dev *vd, const char *desc,
			    char **error)
{
	const struct user_key_payload *ukp;
	struct key *key;
	int r;

	key = request_key(&key_type_logon, desc, NULL);
	if (IS_ERR(key)) {
		*error = "Log key not found (log_key: names a logon key)";
		return PTR_ERR(key) == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	down_read(&key->sem);
	ukp = user_key_payload_locked(key);
	if (!ukp) {
		*error = "Log key not found (log_key: names a logon key)";
		r = -EKEYREVOKED;
	} else if (ukp->datalen < VDIRT_LOG_KEY_MIN) {
		*error = "Log key too short (at least 16 bytes)";
		r = -EINVAL;
	} else {
		r = crypto_shash_setkey(vd->log_tfm, ukp->data, ukp->datalen);
		if (r)
			*error = "Cannot set the log key";
	}
	up_read(&key->sem);
	key_put(key);
	return r;
}
#else
static int vdirt_log_setkey(struct vdirt_dev *vd, const char *desc,
			    char **error)
{
	*error = "Log key not found (kernel without keys)";
	return -EINVAL;
}
#endif

int vdirt_log_setup(struct vdirt_dev *vd, const char *key_desc, char **error)
{
	int r;

	vd->log_keyed = key_desc;
	vd->log_tfm = crypto_alloc_shash(key_desc ? "hmac(sha256)" : "sha256",
					 0, 0);
	if (IS_ERR(vd->log_tfm)) {
		r = PTR_ERR(vd->log_tfm);
		vd->log_tfm = NULL;
		*error = "Cannot allocate the log chain hash";
		return r;
	}
	if (crypto_shash_digestsize(vd->log_tfm) != VDIRT_CHAIN_DIGEST_SIZE) {
		*error = "Cannot allocate the log chain hash";
		return -EINVAL;
	}
	return key_desc ? vdirt_log_setkey(vd, key_desc, error) : 0;
}

void vdirt_log_exit(struct vdirt_dev *vd)
{
	if (vd->log_tfm)
		crypto_free_shash(vd->log_tfm);
	vd->log_tfm = NULL;
}

/*
 * Activation, from preresume (commit_lock held): does the chain go on?
 * It restarts (chain_start = log_head) when keyed <-> unkeyed changed or
 * the key does not reproduce log_hash from record log_head - 1.  Returns
 * the VDIRT_CHAIN_RESTART_* reason.
 */
static int vdirt_chain_activate(struct vdirt_dev *vd)
{
	bool was_keyed = vd->sb_flags & VDIRT_SB_F_LOG_KEYED;
	struct vdirt_disk_record *slot;
	u8 h[VDIRT_CHAIN_DIGEST_SIZE];
	struct dm_buffer *b;
	int why = VDIRT_CHAIN_RESTART_NONE;

	lockdep_assert_held(&vd->commit_lock);
	mutex_lock(&vd->log_lock);
	if (vd->log_head > vd->chain_start) {
		if (was_keyed != vd->log_keyed) {
			why = VDIRT_CHAIN_RESTART_KEYING;
		} else if (vd->log_keyed) {
			slot = vdirt_log_slot(vd, vd->log_head - 1, &b);
			if (IS_ERR(slot)) {
				why = VDIRT_CHAIN_RESTART_KEY;
			} else {
				if (vdirt_chain_digest(vd, slot, h) ||
				    memcmp(h, vd->log_hash, sizeof(h)))
					why = VDIRT_CHAIN_RESTART_KEY;
				dm_bufio_release(b);
			}
		}
	}
	if (why) {
		vd->chain_start = vd->log_head;
		memset(vd->log_hash, 0, sizeof(vd->log_hash));
	}
	mutex_unlock(&vd->log_lock);
	if (vd->log_keyed)
		vd->sb_flags |= VDIRT_SB_F_LOG_KEYED;
	else
		vd->sb_flags &= ~VDIRT_SB_F_LOG_KEYED;
	return why;
}

int vdirt_log_activate(struct vdirt_dev *vd, bool unclean)
{
	u64 aux[4] = { 0 };
	u64 prev_start = vd->chain_start;
	int why = 0;

	lockdep_assert_held(&vd->commit_lock);
	if (vdirt_chained(vd)) {
		why = vdirt_chain_activate(vd);
		if (why)
			VDLOG(DMWARN, vd, "record chain restarted at record %llu: %s",
			      (unsigned long long)vd->chain_start,
			      why == VDIRT_CHAIN_RESTART_KEYING ?
			      "log_key given or dropped" :
			      "the log key does not reproduce log_hash (another key, or the last record changed)");
		aux[VDIRT_AUX_ACT_FLAGS] |= VDIRT_ACT_F_CHAIN;
	}
	if (vd->log_keyed && vdirt_chained(vd))
		aux[VDIRT_AUX_ACT_FLAGS] |= VDIRT_ACT_F_KEYED;
	if (unclean)
		aux[VDIRT_AUX_ACT_FLAGS] |= VDIRT_ACT_F_UNCLEAN;
	aux[VDIRT_AUX_ACT_RESTART] = why;
	aux[VDIRT_AUX_ACT_PREV_CHAIN] = prev_start;
	aux[VDIRT_AUX_ACT_SEQ] = vd->sb_seq + 1;
	return vdirt_log_append(vd, 0, VDIRT_KIND_ACTIVATION, 0, NULL, NULL,
				aux);
}

/* the durable chain state: head, its hash, chain_start */
void vdirt_log_chain_info(struct vdirt_dev *vd, u64 *head, u8 *hash,
			  u64 *chain_start)
{
	mutex_lock(&vd->log_lock);
	*head = vd->log_durable;
	memcpy(hash, vd->log_hash_durable, VDIRT_CHAIN_DIGEST_SIZE);
	*chain_start = vd->chain_start;
	mutex_unlock(&vd->log_lock);
}

void vdirt_set_event_ops(const struct vdirt_event_ops *ops)
{
	rcu_assign_pointer(vdirt_event_ops, ops);
	synchronize_rcu();
}

static void vdirt_event_send(struct vdirt_dev *vd,
			     const struct vdirt_record *rec)
{
	const struct vdirt_event_ops *ops;

	rcu_read_lock();
	ops = rcu_dereference(vdirt_event_ops);
	if (ops && ops->mismatch)
		ops->mismatch(vd, rec);
	rcu_read_unlock();
}

/*
 * Send the events of records numbered below "below": from the commit that
 * made them durable, or from a commit refused in a degraded or failed state
 * (U64_MAX: they never will be).
 */
void vdirt_events_deliver(struct vdirt_dev *vd, u64 below)
{
	struct vdirt_event *ev, *tmp;
	LIST_HEAD(list);

	spin_lock(&vd->events_lock);
	list_for_each_entry_safe(ev, tmp, &vd->events, node) {
		if (ev->rec.seq >= below)
			break;
		list_move_tail(&ev->node, &list);
	}
	spin_unlock(&vd->events_lock);
	list_for_each_entry_safe(ev, tmp, &list, node) {
		vdirt_event_send(vd, &ev->rec);
		list_del(&ev->node);
		kfree(ev);
	}
}

void vdirt_events_free(struct vdirt_dev *vd)
{
	struct vdirt_event *ev, *tmp;

	list_for_each_entry_safe(ev, tmp, &vd->events, node) {
		list_del(&ev->node);
		kfree(ev);
	}
}

bool vdirt_records_unsynced(struct vdirt_dev *vd)
{
	return READ_ONCE(vd->log_head) != READ_ONCE(vd->log_durable);
}

/* the counter a record of this kind adds to */
static void vdirt_record_count(struct vdirt_dev *vd, u8 kind)
{
	if (kind == VDIRT_KIND_READ_MISMATCH || kind == VDIRT_KIND_ROLLBACK)
		atomic64_inc(&vd->cnt.read_mismatches);
	else if (kind == VDIRT_KIND_WRITE_DRIFT)
		atomic64_inc(&vd->cnt.write_drift);
}

/*
 * Store a record (aux: by kind, else NULL; expected/actual NULL: zero).
 * It becomes
 * visible (report, netlink dump and event) once a commit made it durable;
 * the caller commits before completing the I/O that found it, and the
 * layer above is told (store_ops->records_added) so that the records are
 * durable soon even if the caller does not commit.
 */
int vdirt_log_append(struct vdirt_dev *vd, u64 cluster, u8 kind, u8 op,
		     const u8 *expected, const u8 *actual, const u64 *aux)
{
	struct vdirt_disk_record *slot;
	struct vdirt_event *ev;
	struct dm_buffer *b;

	ev = kzalloc(sizeof(*ev), GFP_NOIO | __GFP_NOWARN);
	if (!ev) {
		vdirt_store_error(vd, "mismatch record allocation", -ENOMEM);
		return -ENOMEM;
	}
	ev->rec.cluster = cluster;
	ev->rec.kind = kind;
	ev->rec.op = op;
	ev->rec.digest_size = vd->digest_size;
	ev->rec.time_ns = ktime_get_real_ns();
	if (expected)
		memcpy(ev->rec.expected, expected, vd->digest_size);
	if (actual)
		memcpy(ev->rec.actual, actual, vd->digest_size);
	if (aux)
		memcpy(ev->rec.aux, aux, sizeof(ev->rec.aux));
	ev->rec.epoch = READ_ONCE(vd->epoch);

	mutex_lock(&vd->log_lock);
	ev->rec.seq = vd->log_head;
	/* record chain_start carries zero: the chain is checked from it */
	if (vdirt_chained(vd) && ev->rec.seq > vd->chain_start)
		memcpy(ev->rec.prev, vd->log_hash, sizeof(ev->rec.prev));
	slot = vdirt_log_slot(vd, ev->rec.seq, &b);
	if (IS_ERR(slot)) {
		mutex_unlock(&vd->log_lock);
		kfree(ev);
		vdirt_store_error(vd, "mismatch log read", PTR_ERR(slot));
		return PTR_ERR(slot);
	}
	vdirt_record_pack(&ev->rec, slot);
	if (vdirt_chained(vd)) {
		u8 h[VDIRT_CHAIN_DIGEST_SIZE];
		int r = vdirt_chain_digest(vd, slot, h);

		if (r) {
			memset(slot, 0, sizeof(*slot));
			dm_bufio_release(b);
			mutex_unlock(&vd->log_lock);
			kfree(ev);
			vdirt_store_error(vd, "record chain hash", r);
			return r;
		}
		memcpy(vd->log_hash, h, sizeof(h));
	}
	dm_bufio_mark_buffer_dirty(b);
	dm_bufio_release(b);
	WRITE_ONCE(vd->log_head, ev->rec.seq + 1);
	vdirt_record_count(vd, kind);
	atomic_set(&vd->meta_dirty, 1);
	spin_lock(&vd->events_lock);
	list_add_tail(&ev->node, &vd->events);
	spin_unlock(&vd->events_lock);
	mutex_unlock(&vd->log_lock);

	vd->store_ops->records_added(vd);
	return 0;
}

int vdirt_record_read(struct vdirt_dev *vd, u64 seq, struct vdirt_record *out)
{
	return vdirt_record_read_raw(vd, seq, out, NULL);
}

int vdirt_record_read_raw(struct vdirt_dev *vd, u64 seq,
			  struct vdirt_record *out,
			  struct vdirt_disk_record *raw)
{
	const struct vdirt_disk_record *slot;
	struct dm_buffer *b;
	u64 first;
	int r;

	mutex_lock(&vd->log_lock);
	first = vd->log_tail;
	if (vd->log_head > VDIRT_LOG_CAPACITY &&
	    first < vd->log_head - VDIRT_LOG_CAPACITY)
		first = vd->log_head - VDIRT_LOG_CAPACITY;
	/* only committed records are visible */
	if (seq < first || seq >= vd->log_durable) {
		r = -ENOENT;
		goto out;
	}
	slot = vdirt_log_slot(vd, seq, &b);
	if (IS_ERR(slot)) {
		r = PTR_ERR(slot);
		goto out;
	}
	r = vdirt_record_unpack(vd, slot, seq, out);
	if (raw)
		memcpy(raw, slot, sizeof(*raw));
	dm_bufio_release(b);
out:
	mutex_unlock(&vd->log_lock);
	return r;
}
