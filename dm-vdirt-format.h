/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt on-disk metadata format: the structures, the layouts
 * (vdirt_layout_compute(): regions, power-of-two or packed entries), where
 * a cluster's entry is (vdirt_entry_block()), the one superblock validator
 * (vdirt_sb_check()) and builder (vdirt_sb_set_layout()).
 *
 * This header is shared by the kernel module and userspace tools: it only
 * uses <linux/types.h> types outside the kernel.  Every multi-byte field is
 * little-endian.  The layout is documented byte by byte in
 * Documentation/dm-vdirt.rst; keep both in sync.
 */
#ifndef DM_VDIRT_FORMAT_H
#define DM_VDIRT_FORMAT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/math64.h>
#include <asm/byteorder.h>
#define vdirt_le32(x)		le32_to_cpu(x)
#define vdirt_le64(x)		le64_to_cpu(x)
#define vdirt_cpu32(x)		cpu_to_le32(x)
#define vdirt_cpu64(x)		cpu_to_le64(x)
/* no % or / on a u64 in the kernel (32-bit architectures) */
#define vdirt_div_u64_rem(n, d, r)	div_u64_rem(n, d, r)
#else
#include <linux/types.h>
#include <string.h>
#include <endian.h>
#define vdirt_le32(x)		le32toh(x)
#define vdirt_le64(x)		le64toh(x)
#define vdirt_cpu32(x)		htole32(x)
#define vdirt_cpu64(x)		htole64(x)
static inline __u64 vdirt_div_u64_rem(__u64 n, __u32 d, __u32 *r)
{
	*r = (__u32)(n % d);
	return n / d;
}
/*
 * The structures below have no implicit padding (every field is naturally
 * aligned, sizes are checked at build time), so userspace gets the same
 * layout without the packed attribute.
 */
#ifndef __packed
#define __packed
#endif
#endif

/* "VDIRTMD1" read as a little-endian 64-bit number */
#define VDIRT_SB_MAGIC			0x31444d5452494456ULL
/*
 * Version 2 adds optional regions and layouts, each announced by a feature
 * bit (the baseline staging area, packed entries).  Version 1 metadata
 * (written before) is read and kept as version 1: it has no optional
 * region and power-of-two entries; `vdirtctl upgrade` converts it to
 * version 2 (adding the staging area, entries left as they are).
 */
#define VDIRT_FORMAT_VERSION		2
#define VDIRT_FORMAT_VERSION_MIN	1

/* metadata block size: every region starts on a 4 KiB block */
#define VDIRT_META_BLOCK_SIZE		4096U
#define VDIRT_META_BLOCK_SHIFT		12
/* superblock copies A (block 0) and B (block 1); copy in use = seq & 1 */
#define VDIRT_SB_COPIES			2U
/* bytes of a superblock covered by its checksum */
#define VDIRT_SB_SIZE			512U

#define VDIRT_MAX_DIGEST_SIZE		64U
#define VDIRT_HASH_NAME_LEN		64U
#define VDIRT_MIN_CLUSTER_SIZE		512U
#define VDIRT_MAX_CLUSTER_SIZE		65536U

/* per-cluster entry header size; digests follow it */
#define VDIRT_ENTRY_HDR_SIZE		16U
/* power-of-two entries (version 1, version 2 without INCOMPAT_PACKED) */
#define VDIRT_MIN_ENTRY_SIZE		32U
/* packed entries (INCOMPAT_PACKED): a multiple of this many bytes */
#define VDIRT_PACKED_ENTRY_ALIGN	8U

/* mismatch record log */
#define VDIRT_RECORD_SIZE		256U
#define VDIRT_RECORDS_PER_BLOCK		(VDIRT_META_BLOCK_SIZE / VDIRT_RECORD_SIZE)
#define VDIRT_LOG_BLOCKS		256U
#define VDIRT_LOG_CAPACITY		(VDIRT_LOG_BLOCKS * VDIRT_RECORDS_PER_BLOCK)

/*
 * Write-intent bitmap: one bit per region of VDIRT_INTENT_REGION_CLUSTERS
 * clusters; bit r is bit (r % 8) of byte (r / 8) of the bitmap.  A set bit
 * means the region may have data writes that the committed entries do not
 * describe; after an unclean shutdown every cluster of such a region is
 * measured again from the data device.
 */
#define VDIRT_INTENT_REGION_CLUSTERS	1024U
#define VDIRT_INTENT_BITS_PER_BLOCK	(VDIRT_META_BLOCK_SIZE * 8U)

/* event log, reserved */
#define VDIRT_EVENT_BLOCKS		16U

/*
 * Epoch table (RO_COMPAT_EPOCHS): one 256-byte entry per retained epoch,
 * 16 per block; epoch e is slot e % epochs_retained.  Retention is set at
 * format (vdirtctl format --epochs N).
 */
#define VDIRT_EPOCH_ENTRY_SIZE		256U
#define VDIRT_EPOCHS_PER_BLOCK		(VDIRT_META_BLOCK_SIZE / \
					 VDIRT_EPOCH_ENTRY_SIZE)
#define VDIRT_EPOCHS_DEFAULT		16U
#define VDIRT_EPOCHS_MIN		2U
#define VDIRT_EPOCHS_MAX		4096U
#define VDIRT_EPOCH_LABEL_LEN		64U

/*
 * Write sets (RO_COMPAT_WRITESETS): per retained epoch, a bitmap of the
 * clusters written in it, wset_slot_blocks blocks per epoch (slot e %
 * epochs_retained).  Each block starts with a 16-byte header whose epoch
 * field says which epoch its bits belong to: a block of another epoch
 * reads as all zero, so a new epoch needs no clearing.
 */
#define VDIRT_WSET_HDR_SIZE		16U
#define VDIRT_WSET_BITS_PER_BLOCK	((VDIRT_META_BLOCK_SIZE - \
					  VDIRT_WSET_HDR_SIZE) * 8U)
#define VDIRT_WSET_MAGIC		0x53574456U	/* "VDWS" */

/*
 * Written bitmap (INCOMPAT_UNWRITTEN): one bit per cluster, set when a
 * write through the device reached the data device, cleared by a discard,
 * a write-zeroes or a purge; zero_unwritten reads a cluster whose bit is
 * clear as zeros.  Each block starts with a 16-byte header whose gen field
 * is the superblock's unw_gen when the block was written: a block of an
 * older generation reads as all zero, so a purge (unw_gen + 1) clears the
 * whole bitmap with one superblock commit.
 */
#define VDIRT_UNW_HDR_SIZE		16U
#define VDIRT_UNW_BITS_PER_BLOCK	((VDIRT_META_BLOCK_SIZE - \
					  VDIRT_UNW_HDR_SIZE) * 8U)
#define VDIRT_UNW_MAGIC			0x57554456U	/* "VDUW" */

/*
 * Digest history (RO_COMPAT_HISTORY): one block per VDIRT_HIST_CLUSTERS
 * clusters (cluster c in block c / 1024), a 16-byte header and a ring of
 * records (cluster, epochs, digest): the content a cluster had before its
 * first write in an epoch.  Rollback detection looks a mismatching read up
 * in its cluster's block.
 */
#define VDIRT_HIST_CLUSTERS		1024U
#define VDIRT_HIST_HDR_SIZE		16U
#define VDIRT_HIST_REC_HDR		16U
#define VDIRT_HIST_MAGIC		0x49484456U	/* "VDHI" */

/*
 * Attestation tree (RO_COMPAT_MERKLE): a binary SHA-256 Merkle tree over
 * every cluster's current digest, the same for the kernel, `vdirtctl
 * baseline build --root` and any third party:
 *   C leaves, height H = max(7, ceil(log2(C))), 2^H leaf positions;
 *   leaf(c)   = SHA-256(0x00 || le64(c) || current digest of c)  for c < C,
 *               the digest being digest_size zero bytes when c has no
 *               current digest (unmeasured);
 *   node(l,i) = 32 zero bytes when no leaf lies under it (i << l >= C),
 *               leaf(i) at level 0, else
 *               SHA-256(0x01 || node(l-1, 2i) || node(l-1, 2i+1));
 *   root      = SHA-256(0x02 || le64(C) || le32(cluster_size) ||
 *                       le32(digest_size) || hash_name[64] (NUL padded) ||
 *                       node(H, 0)).
 * A proof for cluster c is the H siblings node(l, (c >> l) ^ 1), l = 0 ..
 * H-1, bottom up.  The metadata device keeps node(l, i) for the levels l
 * >= VDIRT_MERKLE_CHUNK_SHIFT (a chunk: the subtree over 128 clusters) and
 * a bitmap of the chunks whose leaves changed since their node was
 * written; see vdirt_layout_compute().
 */
#define VDIRT_MERKLE_DIGEST_SIZE	32U
#define VDIRT_MERKLE_CHUNK_SHIFT	7U
#define VDIRT_MERKLE_CHUNK		(1U << VDIRT_MERKLE_CHUNK_SHIFT)
#define VDIRT_MERKLE_NODES_PER_BLOCK	(VDIRT_META_BLOCK_SIZE / \
					 VDIRT_MERKLE_DIGEST_SIZE)
#define VDIRT_MERKLE_MAX_HEIGHT		64U
#define VDIRT_MERKLE_LEAF		0x00
#define VDIRT_MERKLE_NODE		0x01
#define VDIRT_MERKLE_ROOT		0x02

/* superblock flags */
#define VDIRT_SB_F_CLEAN		(1U << 0)	/* cleanly closed */
#define VDIRT_SB_F_BASELINE		(1U << 1)	/* some cluster has a baseline */
/* a baseline change (load, capture, clear) began and has not completed */
#define VDIRT_SB_F_BASELINE_PARTIAL	(1U << 2)
/*
 * with BASELINE_PARTIAL: the change is a baseline load whose complete new
 * baseline is in the staging area; the next activation applies it again
 * from the start
 */
#define VDIRT_SB_F_BASELINE_STAGED	(1U << 3)
/*
 * RO_COMPAT_CHAIN: the record chain from chain_start on is an HMAC-SHA256
 * chain (table argument log_key:), else a SHA-256 chain.  An activation
 * that changes keyed <-> unkeyed, or whose key does not reproduce
 * log_hash, restarts the chain (chain_start = log_head).
 */
#define VDIRT_SB_F_LOG_KEYED		(1U << 4)
/*
 * INCOMPAT_UNWRITTEN: a purge made every cluster unwritten and its walk
 * (clearing the entries of unwritten clusters, discarding their data) has
 * not completed: the entry of a cluster whose written bit is clear is
 * stale and reads as empty; the next activation walks again from the start
 */
#define VDIRT_SB_F_PURGE		(1U << 5)
/*
 * INCOMPAT_UNWRITTEN: the table of the last activation had zero_unwritten
 * (unwritten clusters count as unmeasured in the attestation tree); an
 * activation that changes it marks every chunk of the tree changed
 */
#define VDIRT_SB_F_ZEROES		(1U << 6)

/*
 * Feature masks.  Unknown feature_incompat bits refuse the metadata;
 * unknown feature_ro_compat bits allow only a read-only table (nothing is
 * written); unknown feature_compat bits are ignored.  Unknown bits are kept
 * when the superblock is written again.
 *
 * COMPAT_INTENT: the write-intent bitmap was maintained while the metadata
 * was in use; an unclean superblock without it is recovered in full.
 * COMPAT_STAGING (version 2): the superblock describes a baseline staging
 * area (staging_start, staging_blocks); a load is streamed into it.
 * INCOMPAT_PACKED (version 2): the cluster entries are packed, entry_size
 * = 16 + 2 * digest_size rounded up to 8 (see struct vdirt_disk_entry); a
 * module that reads power-of-two entries only must refuse the metadata.
 * INCOMPAT_UNWRITTEN (version 2): the written bitmap (unw_start,
 * unw_blocks, unw_gen); a module that does not keep it would write
 * clusters that later read as zeros, or read a purged tenant's data.
 */
#define VDIRT_FEATURE_COMPAT_INTENT	(1U << 0)
#define VDIRT_FEATURE_COMPAT_STAGING	(1U << 1)
#define VDIRT_FEATURE_COMPAT_SUPP	(VDIRT_FEATURE_COMPAT_INTENT | \
					 VDIRT_FEATURE_COMPAT_STAGING)
#define VDIRT_FEATURE_INCOMPAT_PACKED	(1U << 0)
#define VDIRT_FEATURE_INCOMPAT_UNWRITTEN (1U << 1)
#define VDIRT_FEATURE_INCOMPAT_SUPP	(VDIRT_FEATURE_INCOMPAT_PACKED | \
					 VDIRT_FEATURE_INCOMPAT_UNWRITTEN)
/*
 * Read-only compatible features (version 2): a module that does not know
 * them could read the metadata but would write it without keeping them up
 * to date, so it may only use a read-only table.
 * RO_COMPAT_EPOCHS: the epoch table (epoch_start, epoch_blocks,
 * epochs_retained, epoch_first).
 * RO_COMPAT_WRITESETS (needs EPOCHS): per-epoch write sets (wset_start,
 * wset_blocks).
 * RO_COMPAT_CHAIN: the record ring is a hash chain from record
 * chain_start on (struct vdirt_disk_record prev), log_hash in the
 * superblock is the digest of record log_head - 1.
 * RO_COMPAT_HISTORY (needs EPOCHS): the digest history (hist_start,
 * hist_blocks) for rollback detection.
 * RO_COMPAT_MERKLE: the attestation tree's stored nodes and its bitmap of
 * changed chunks (merkle_start, merkle_blocks).
 */
#define VDIRT_FEATURE_RO_COMPAT_EPOCHS	(1U << 0)
#define VDIRT_FEATURE_RO_COMPAT_WRITESETS (1U << 1)
#define VDIRT_FEATURE_RO_COMPAT_CHAIN	(1U << 2)
#define VDIRT_FEATURE_RO_COMPAT_HISTORY	(1U << 3)
#define VDIRT_FEATURE_RO_COMPAT_MERKLE	(1U << 4)
#define VDIRT_FEATURE_RO_COMPAT_SUPP	(VDIRT_FEATURE_RO_COMPAT_EPOCHS | \
					 VDIRT_FEATURE_RO_COMPAT_WRITESETS | \
					 VDIRT_FEATURE_RO_COMPAT_CHAIN | \
					 VDIRT_FEATURE_RO_COMPAT_HISTORY | \
					 VDIRT_FEATURE_RO_COMPAT_MERKLE)

/* per-cluster entry flags */
#define VDIRT_E_CURRENT		(1U << 0)	/* current digest valid */
#define VDIRT_E_BASELINE	(1U << 1)	/* baseline digest valid */
#define VDIRT_E_WRITTEN		(1U << 2)	/* written since the baseline */
#define VDIRT_E_MISMATCH	(1U << 3)	/* read mismatch recorded */
#define VDIRT_E_DRIFT		(1U << 4)	/* write drift recorded */

/* record kinds and ops */
#define VDIRT_KIND_READ_MISMATCH	1
#define VDIRT_KIND_WRITE_DRIFT		2
#define VDIRT_KIND_RECOVERY		3	/* summary, see aux[] */
#define VDIRT_KIND_ROLLBACK		4	/* read mismatch, older content */
#define VDIRT_KIND_EPOCH		5	/* an epoch opened, see aux[] */
#define VDIRT_KIND_ACTIVATION		6	/* the device was activated */
#define VDIRT_KIND_BASELINE		7	/* baseline load/capture/clear */
#define VDIRT_KIND_PURGE		8	/* every cluster made unwritten */
#define VDIRT_OP_READ			1
#define VDIRT_OP_WRITE			2
#define VDIRT_OP_SCAN			3
#define VDIRT_OP_RECOVERY		4

/*
 * Superblock, at the start of metadata blocks 0 (copy A) and 1 (copy B).
 * csum is crc32c (seed ~0, final value not inverted, as the kernel's
 * crc32c()) over the first VDIRT_SB_SIZE bytes with csum itself set to 0.
 * The rest of the 4 KiB block is zero.
 */
struct vdirt_disk_sb {
	__le64 magic;			/*   0: VDIRT_SB_MAGIC */
	__le32 version;			/*   8: VDIRT_FORMAT_VERSION */
	__le32 csum;			/*  12: crc32c, see above */
	__le64 seq;			/*  16: commit sequence number */
	__u8   uuid[16];		/*  24: random, set at format time */
	__le64 data_sectors;		/*  40: data size, 512-byte sectors */
	__le64 nr_clusters;		/*  48: data_sectors / cluster sectors */
	__le32 cluster_size;		/*  56: bytes */
	__le32 digest_size;		/*  60: bytes, 1..64 */
	char   hash_name[VDIRT_HASH_NAME_LEN];	/* 64: NUL padded */
	__le32 meta_block_size;		/* 128: VDIRT_META_BLOCK_SIZE */
	__le32 entry_size;		/* 132: bytes per cluster entry */
	__le32 feature_compat;		/* 136 */
	__le32 feature_incompat;	/* 140 */
	__le32 feature_ro_compat;	/* 144 */
	__le32 flags;			/* 148: VDIRT_SB_F_* */
	__le64 entries_start;		/* 152: block number */
	__le64 entries_blocks;		/* 160 */
	__le64 intent_start;		/* 168: write-intent bitmap */
	__le64 intent_blocks;		/* 176 */
	__le32 intent_region_clusters;	/* 184: clusters per intent bit */
	__le32 record_size;		/* 188: VDIRT_RECORD_SIZE */
	__le64 log_start;		/* 192: mismatch record ring */
	__le64 log_blocks;		/* 200 */
	__le64 log_capacity;		/* 208: records in the ring */
	__le64 log_head;		/* 216: number of the next record */
	__le64 log_tail;		/* 224: first record not cleared */
	__le64 event_start;		/* 232: event log, reserved */
	__le64 event_blocks;		/* 240 */
	__le64 total_blocks;		/* 248: metadata size in blocks */
	__le64 epoch;			/* 256: incremented on every activation */
	__le64 measured;		/* 264: clusters with a current digest */
	__le64 baselined;		/* 272: clusters with a baseline digest */
	__le64 read_mismatches;		/* 280: read mismatch records */
	__le64 write_drift;		/* 288: write drift records */
	__le64 tofu;			/* 296: clusters measured on first read */
	__le64 format_time_ns;		/* 304: wall clock at format */
	__le64 commit_time_ns;		/* 312: wall clock at this commit */
	__le64 merkle_start;		/* 320: RO_COMPAT_MERKLE, else 0 */
	__le64 merkle_blocks;		/* 328: RO_COMPAT_MERKLE, else 0 */
	__le64 unw_start;		/* 336: INCOMPAT_UNWRITTEN, else 0 */
	__le64 unw_blocks;		/* 344: INCOMPAT_UNWRITTEN, else 0 */
	__le64 unw_gen;			/* 352: written bitmap generation */
	__u8   reserved2[24];		/* 360: zero */
	__le64 staging_start;		/* 384: COMPAT_STAGING, else 0 */
	__le64 staging_blocks;		/* 392: COMPAT_STAGING, else 0 */
	__le64 epoch_start;		/* 400: RO_COMPAT_EPOCHS, else 0 */
	__le64 epoch_blocks;		/* 408: RO_COMPAT_EPOCHS, else 0 */
	__le32 epochs_retained;		/* 416: RO_COMPAT_EPOCHS, else 0 */
	__le32 reserved1;		/* 420: zero */
	__le64 epoch_first;		/* 424: first epoch in the table */
	__le64 wset_start;		/* 432: RO_COMPAT_WRITESETS, else 0 */
	__le64 wset_blocks;		/* 440: RO_COMPAT_WRITESETS, else 0 */
	__le64 chain_start;		/* 448: RO_COMPAT_CHAIN: first chained
					 *      record number
					 */
	__u8   log_hash[32];		/* 456: RO_COMPAT_CHAIN: digest of
					 *      record log_head - 1
					 */
	__le64 hist_start;		/* 488: RO_COMPAT_HISTORY, else 0 */
	__le64 hist_blocks;		/* 496: RO_COMPAT_HISTORY, else 0 */
	__u8   reserved[8];		/* 504: zero */
} __packed;				/* 512 */

/*
 * Per-cluster entry, entry_size bytes: this header, then
 * current[digest_size], then baseline[digest_size], zero padded.
 *   packed (INCOMPAT_PACKED, what a format writes):
 *     entry_size = roundup(16 + 2 * digest_size, 8)
 *   power of two (version 1, version 2 without INCOMPAT_PACKED):
 *     entry_size = max(32, roundup_pow_of_two(16 + 2 * digest_size))
 * An entry block holds entries_per_block = 4096 / entry_size entries, the
 * entry of cluster c at byte (c % entries_per_block) * entry_size of entry
 * block c / entries_per_block (vdirt_entry_block()); an entry never
 * straddles a block, the rest of the block is zero.
 */
struct vdirt_disk_entry {
	__u8   flags;			/*  0: VDIRT_E_* */
	__u8   reserved0;		/*  1 */
	__le16 reserved1;		/*  2 */
	__le32 write_epoch;		/*  4: sb epoch of the last write */
	__le64 write_time_ns;		/*  8: wall clock of the last write */
	__u8   digests[];		/* 16: current, then baseline */
} __packed;

/* mismatch record, VDIRT_RECORD_SIZE bytes, 16 per metadata block */
struct vdirt_disk_record {
	__le64 seq;			/*   0: record number */
	__le64 cluster;			/*   8 */
	__le64 time_ns;			/*  16: wall clock, ns since epoch */
	__u8   kind;			/*  24: VDIRT_KIND_* */
	__u8   op;			/*  25: VDIRT_OP_* */
	__u8   digest_size;		/*  26 */
	__u8   reserved0;		/*  27 */
	__le32 csum;			/*  28: crc32c of the record, csum = 0 */
	__u8   expected[VDIRT_MAX_DIGEST_SIZE];	/*  32 */
	__u8   actual[VDIRT_MAX_DIGEST_SIZE];	/*  96 */
	__le64 aux[4];			/* 160: by kind, zero otherwise */
	__u8   prev[32];		/* 192: RO_COMPAT_CHAIN: digest of the
					 *      previous record, else zero
					 */
	__le64 epoch;			/* 224: epoch the record was made in */
	__u8   reserved[24];		/* 232: zero */
} __packed;				/* 256 */

/* written bitmap block header (INCOMPAT_UNWRITTEN), then the bits */
struct vdirt_disk_unw {
	__le64 gen;			/* 0: unw_gen when written */
	__le32 magic;			/* 8: VDIRT_UNW_MAGIC */
	__le32 reserved;		/* 12: zero */
	/* 16: bits; cluster c of its range is bit c % 8 of byte c / 8 */
} __packed;

/*
 * Epoch table entry (RO_COMPAT_EPOCHS), VDIRT_EPOCH_ENTRY_SIZE bytes.  An
 * entry is valid when its csum (crc32c of the 256 bytes with csum = 0)
 * matches and epoch is the epoch its slot holds (e % epochs_retained).
 */
struct vdirt_disk_epoch {
	__le64 epoch;			/*   0 */
	__le64 start_ns;		/*   8: wall clock when it opened */
	__le64 end_ns;			/*  16: when it closed, 0 while open */
	__le64 written;			/*  24: clusters in its write set */
	__le64 log_first;		/*  32: first record made in it */
	__le64 log_end;			/*  40: log_head when it closed */
	__le32 flags;			/*  48: VDIRT_EP_* */
	__le32 csum;			/*  52: crc32c, csum = 0 */
	__le64 seq;			/*  56: superblock seq when it closed */
	char   label[VDIRT_EPOCH_LABEL_LEN];	/* 64: NUL padded */
	__u8   root[64];		/* 128: attestation root, reserved */
	__u8   log_hash[32];		/* 192: log_hash when it closed */
	__u8   reserved[32];		/* 224: zero */
} __packed;				/* 256 */

#define VDIRT_EP_CLOSED		(1U << 0)	/* end_ns, log_end valid */
#define VDIRT_EP_WRITESET	(1U << 1)	/* its write set is kept */
#define VDIRT_EP_UNCLEAN	(1U << 2)	/* closed by a crash (end_ns is
						 * the last commit's time)
						 */
#define VDIRT_EP_ROOT		(1U << 3)	/* root valid */
#define VDIRT_EP_PURGED		(1U << 4)	/* a purge in it: every
						 * cluster changed
						 */

/*
 * Digest history block (RO_COMPAT_HISTORY): this header, then per_block =
 * (4096 - 16) / (16 + digest_size) records of struct vdirt_disk_hist, a
 * ring: slot next is written next.  A block without the magic is empty.
 */
struct vdirt_disk_hist_hdr {
	__le32 magic;			/* 0: VDIRT_HIST_MAGIC */
	__le32 next;			/* 4: the slot written next */
	__le32 count;			/* 8: slots in use */
	__le32 reserved;		/* 12: zero */
} __packed;

struct vdirt_disk_hist {
	__le64 cluster;			/* 0 */
	__le32 first_epoch;		/* 8: epoch of the write that left it */
	__le32 last_epoch;		/* 12: the last epoch it held at the end */
	__u8   digest[];		/* 16: digest_size bytes */
} __packed;

/* header of a write-set block (RO_COMPAT_WRITESETS) */
struct vdirt_disk_wset {
	__le64 epoch;			/* 0: epoch the bits belong to */
	__le32 magic;			/* 8: VDIRT_WSET_MAGIC */
	__le32 reserved;		/* 12: zero */
	/* 16: bits; cluster c of its range is bit c % 8 of byte c / 8 */
} __packed;

/*
 * aux[] of a VDIRT_KIND_EPOCH record: the epoch opened, the epoch closed;
 * the label is in expected[] (NUL padded).  VDIRT_KIND_ROLLBACK: aux[0] is
 * the epoch at whose end the cluster held the content read.
 * VDIRT_KIND_BASELINE: aux[0] is VDIRT_BASELINE_OP_*, aux[1] the clusters
 * with a baseline afterwards.
 */
#define VDIRT_AUX_EPOCH			0
#define VDIRT_AUX_PREV_EPOCH		1
#define VDIRT_BASELINE_OP_LOAD		1
#define VDIRT_BASELINE_OP_CAPTURE	2
#define VDIRT_BASELINE_OP_CLEAR		3
/* aux[] of a VDIRT_KIND_PURGE record: clusters, the new unw_gen */
#define VDIRT_AUX_PURGE_CLUSTERS	0
#define VDIRT_AUX_PURGE_GEN		1

/*
 * aux[] of a VDIRT_KIND_ACTIVATION record (cluster 0, digests zero):
 * VDIRT_ACT_F_* flags, why the chain restarted (VDIRT_CHAIN_RESTART_*),
 * chain_start before this activation, the superblock seq it wrote.
 */
#define VDIRT_AUX_ACT_FLAGS		0
#define VDIRT_AUX_ACT_RESTART		1
#define VDIRT_AUX_ACT_PREV_CHAIN	2
#define VDIRT_AUX_ACT_SEQ		3
#define VDIRT_ACT_F_KEYED		(1U << 0)	/* HMAC chain */
#define VDIRT_ACT_F_UNCLEAN		(1U << 1)	/* after a crash */
#define VDIRT_ACT_F_CHAIN		(1U << 2)	/* RO_COMPAT_CHAIN */
#define VDIRT_CHAIN_RESTART_NONE	0
#define VDIRT_CHAIN_RESTART_KEYING	1	/* keyed <-> unkeyed */
#define VDIRT_CHAIN_RESTART_KEY		2	/* the key does not give log_hash */

/* the chain: D(n) is SHA-256 or HMAC-SHA256 of record n's 256 bytes */
#define VDIRT_CHAIN_DIGEST_SIZE		32U
#define VDIRT_LOG_KEY_MIN		16U	/* bytes of a log_key */

/*
 * aux[] of a VDIRT_KIND_RECOVERY record (cluster is 0, digests are zero):
 * regions recovered, clusters measured again, clusters whose digest
 * changed, clusters measured on read before the recovery reached them.
 */
#define VDIRT_AUX_REGIONS		0
#define VDIRT_AUX_REMEASURED		1
#define VDIRT_AUX_CHANGED		2
#define VDIRT_AUX_ON_READ		3

/* what a layout has: VDIRT_LAYOUT_* (from the version and feature bits) */
#define VDIRT_LAYOUT_STAGING		(1U << 0)	/* COMPAT_STAGING */
#define VDIRT_LAYOUT_PACKED		(1U << 1)	/* INCOMPAT_PACKED */
#define VDIRT_LAYOUT_EPOCHS		(1U << 2)	/* RO_COMPAT_EPOCHS */
#define VDIRT_LAYOUT_WRITESETS		(1U << 3)	/* RO_COMPAT_WRITESETS */
#define VDIRT_LAYOUT_CHAIN		(1U << 4)	/* RO_COMPAT_CHAIN */
#define VDIRT_LAYOUT_HISTORY		(1U << 5)	/* RO_COMPAT_HISTORY */
#define VDIRT_LAYOUT_MERKLE		(1U << 6)	/* RO_COMPAT_MERKLE */
#define VDIRT_LAYOUT_UNWRITTEN		(1U << 7)	/* INCOMPAT_UNWRITTEN */
/* the layout a format writes */
#define VDIRT_LAYOUT_DEFAULT		(VDIRT_LAYOUT_STAGING | \
					 VDIRT_LAYOUT_PACKED | \
					 VDIRT_LAYOUT_EPOCHS | \
					 VDIRT_LAYOUT_WRITESETS | \
					 VDIRT_LAYOUT_CHAIN | \
					 VDIRT_LAYOUT_HISTORY | \
					 VDIRT_LAYOUT_MERKLE | \
					 VDIRT_LAYOUT_UNWRITTEN)
/* what version 1.6 of the module formatted (before the written bitmap) */
#define VDIRT_LAYOUT_1_6		(VDIRT_LAYOUT_DEFAULT & \
					 ~VDIRT_LAYOUT_UNWRITTEN)
/* what version 1.5 of the module formatted (before the tree) */
#define VDIRT_LAYOUT_1_5		(VDIRT_LAYOUT_1_6 & \
					 ~VDIRT_LAYOUT_MERKLE)
/* what version 1.4 of the module formatted */
#define VDIRT_LAYOUT_1_4		(VDIRT_LAYOUT_STAGING | \
					 VDIRT_LAYOUT_PACKED)
/* version 1 metadata: no optional region, power-of-two entries */
#define VDIRT_LAYOUT_V1			0U

/* computed metadata geometry (native endian, not on disk, no padding) */
struct vdirt_layout {
	__u32 flags;			/* VDIRT_LAYOUT_* */
	__u32 reserved;			/* 0 */
	__u64 nr_clusters;
	__u32 entry_size;
	__u32 entries_per_block;
	__u64 entries_start;
	__u64 entries_blocks;
	__u64 intent_start;
	__u64 intent_blocks;
	__u64 log_start;
	__u64 log_blocks;
	__u64 event_start;
	__u64 event_blocks;
	__u64 staging_start;		/* 0 without a staging area */
	__u64 staging_blocks;
	__u64 epoch_start;		/* 0 without an epoch table */
	__u64 epoch_blocks;
	__u32 epochs;			/* epochs retained, 0 without */
	__u32 wset_slot_blocks;		/* write-set blocks per epoch */
	__u64 wset_start;		/* 0 without write sets */
	__u64 wset_blocks;		/* epochs * wset_slot_blocks */
	__u64 hist_start;		/* 0 without a digest history */
	__u64 hist_blocks;
	__u32 hist_per_block;		/* history records per block */
	__u32 merkle_height;		/* the tree's height H, 0 without */
	__u64 merkle_start;		/* 0 without an attestation tree */
	__u64 merkle_blocks;
	__u64 merkle_bitmap_blocks;	/* the changed-chunk bitmap's blocks */
	__u64 unw_start;		/* 0 without a written bitmap */
	__u64 unw_blocks;
	__u64 total_blocks;
};

/* bytes per cluster entry, packed or power of two */
static inline __u32 vdirt_entry_size(__u32 digest_size, int packed)
{
	__u32 need = VDIRT_ENTRY_HDR_SIZE + 2 * digest_size;
	__u32 size = VDIRT_MIN_ENTRY_SIZE;

	if (packed)
		return (need + VDIRT_PACKED_ENTRY_ALIGN - 1) &
		       ~(VDIRT_PACKED_ENTRY_ALIGN - 1);
	while (size < need)
		size <<= 1;
	return size;
}

/*
 * The one place that says where a cluster's entry is, for the kernel and
 * userspace: returns the metadata block holding the entry of cluster c and
 * sets *off (if not NULL) to the entry's byte offset in that block.
 */
static inline __u64 vdirt_entry_block(const struct vdirt_layout *l, __u64 c,
				      __u32 *off)
{
	__u32 idx;
	__u64 blk = vdirt_div_u64_rem(c, l->entries_per_block, &idx);

	if (off)
		*off = idx * l->entry_size;
	return l->entries_start + blk;
}

/* the attestation tree's height for nr_clusters leaves (see above) */
static inline __u32 vdirt_merkle_height(__u64 nr_clusters)
{
	__u32 h = VDIRT_MERKLE_CHUNK_SHIFT;

	while (h < VDIRT_MERKLE_MAX_HEIGHT && (1ULL << h) < nr_clusters)
		h++;
	return h;
}

/* nodes at tree level lv: those with a leaf under them */
static inline __u64 vdirt_merkle_level_nodes(__u64 nr_clusters, __u32 lv)
{
	return lv >= 64 ? 1 : (nr_clusters + (1ULL << lv) - 1) >> lv;
}

/* stored blocks of tree level lv (lv >= VDIRT_MERKLE_CHUNK_SHIFT) */
static inline __u64 vdirt_merkle_level_blocks(const struct vdirt_layout *l,
					      __u32 lv)
{
	return (vdirt_merkle_level_nodes(l->nr_clusters, lv) +
		VDIRT_MERKLE_NODES_PER_BLOCK - 1) / VDIRT_MERKLE_NODES_PER_BLOCK;
}

/*
 * Compute the metadata layout for a data device of data_sectors 512-byte
 * sectors, with what flags (VDIRT_LAYOUT_*) says, keeping the given number
 * of epochs (VDIRT_LAYOUT_EPOCHS; else ignored).  Pure function, usable from
 * userspace.  Returns 0, or -1 when a parameter is out of range.
 *
 *   C       = data_sectors * 512 / cluster_size
 *   E       = vdirt_entry_size(digest_size, PACKED), EPB = 4096 / E
 *   blocks  = 2                                 (superblock A and B)
 *           + ceil(C / EPB)                     (cluster entries)
 *           + max(1, ceil(ceil(C / 1024) / 32768)) (write-intent bitmap)
 *           + 256                               (mismatch record ring)
 *           + 16                                (event log)
 *           + ceil(C * digest_size / 4096)      (staging area, STAGING)
 *           + ceil(N / 16)                      (epoch table, EPOCHS)
 *           + N * ceil(C / 32640)               (write sets, WRITESETS)
 *           + ceil(C / 1024)                    (digest history, HISTORY)
 *           + ceil(ceil(C / 128) / 32768)       (changed chunks, MERKLE)
 *           + sum over l = 7 .. H of ceil(ceil(C / 2^l) / 128)
 *                                               (tree nodes, MERKLE)
 *           + ceil(C / 32640)                   (written bitmap, UNWRITTEN)
 *   bytes   = blocks * 4096
 */
static inline int vdirt_layout_compute(__u64 data_sectors, __u32 cluster_size,
				       __u32 digest_size, __u32 flags,
				       __u32 epochs, struct vdirt_layout *l)
{
	__u64 regions;
	__u32 cs_sectors;

	if (cluster_size < VDIRT_MIN_CLUSTER_SIZE ||
	    cluster_size > VDIRT_MAX_CLUSTER_SIZE ||
	    (cluster_size & (cluster_size - 1)) ||
	    !digest_size || digest_size > VDIRT_MAX_DIGEST_SIZE)
		return -1;
	if ((flags & (VDIRT_LAYOUT_WRITESETS | VDIRT_LAYOUT_HISTORY)) &&
	    !(flags & VDIRT_LAYOUT_EPOCHS))
		return -1;
	if ((flags & VDIRT_LAYOUT_EPOCHS) &&
	    (epochs < VDIRT_EPOCHS_MIN || epochs > VDIRT_EPOCHS_MAX))
		return -1;
	cs_sectors = cluster_size >> 9;
	l->flags = flags;
	l->reserved = 0;
	l->nr_clusters = (data_sectors + cs_sectors - 1) / cs_sectors;
	l->entry_size = vdirt_entry_size(digest_size,
					 flags & VDIRT_LAYOUT_PACKED);
	l->entries_per_block = VDIRT_META_BLOCK_SIZE / l->entry_size;
	l->entries_start = VDIRT_SB_COPIES;
	l->entries_blocks = (l->nr_clusters + l->entries_per_block - 1) /
			    l->entries_per_block;
	regions = (l->nr_clusters + VDIRT_INTENT_REGION_CLUSTERS - 1) /
		  VDIRT_INTENT_REGION_CLUSTERS;
	l->intent_start = l->entries_start + l->entries_blocks;
	l->intent_blocks = (regions + VDIRT_INTENT_BITS_PER_BLOCK - 1) /
			   VDIRT_INTENT_BITS_PER_BLOCK;
	if (!l->intent_blocks)
		l->intent_blocks = 1;
	l->log_start = l->intent_start + l->intent_blocks;
	l->log_blocks = VDIRT_LOG_BLOCKS;
	l->event_start = l->log_start + l->log_blocks;
	l->event_blocks = VDIRT_EVENT_BLOCKS;
	l->staging_start = 0;
	l->staging_blocks = 0;
	l->total_blocks = l->event_start + l->event_blocks;
	if (flags & VDIRT_LAYOUT_STAGING) {
		l->staging_start = l->total_blocks;
		l->staging_blocks = (l->nr_clusters * digest_size +
				     VDIRT_META_BLOCK_SIZE - 1) /
				    VDIRT_META_BLOCK_SIZE;
		l->total_blocks += l->staging_blocks;
	}
	l->epoch_start = 0;
	l->epoch_blocks = 0;
	l->epochs = 0;
	l->wset_slot_blocks = 0;
	l->wset_start = 0;
	l->wset_blocks = 0;
	if (flags & VDIRT_LAYOUT_EPOCHS) {
		l->epochs = epochs;
		l->epoch_start = l->total_blocks;
		l->epoch_blocks = (epochs + VDIRT_EPOCHS_PER_BLOCK - 1) /
				  VDIRT_EPOCHS_PER_BLOCK;
		l->total_blocks += l->epoch_blocks;
	}
	if (flags & VDIRT_LAYOUT_WRITESETS) {
		l->wset_slot_blocks = (l->nr_clusters +
				       VDIRT_WSET_BITS_PER_BLOCK - 1) /
				      VDIRT_WSET_BITS_PER_BLOCK;
		l->wset_start = l->total_blocks;
		l->wset_blocks = (__u64)epochs * l->wset_slot_blocks;
		l->total_blocks += l->wset_blocks;
	}
	l->hist_start = 0;
	l->hist_blocks = 0;
	l->hist_per_block = 0;
	if (flags & VDIRT_LAYOUT_HISTORY) {
		l->hist_start = l->total_blocks;
		l->hist_blocks = (l->nr_clusters + VDIRT_HIST_CLUSTERS - 1) /
				 VDIRT_HIST_CLUSTERS;
		l->hist_per_block = (VDIRT_META_BLOCK_SIZE -
				     VDIRT_HIST_HDR_SIZE) /
				    (VDIRT_HIST_REC_HDR + digest_size);
		l->total_blocks += l->hist_blocks;
	}
	l->merkle_height = 0;
	l->merkle_start = 0;
	l->merkle_blocks = 0;
	l->merkle_bitmap_blocks = 0;
	if (flags & VDIRT_LAYOUT_MERKLE) {
		__u64 chunks = (l->nr_clusters + VDIRT_MERKLE_CHUNK - 1) >>
			       VDIRT_MERKLE_CHUNK_SHIFT;
		__u32 lv;

		l->merkle_height = vdirt_merkle_height(l->nr_clusters);
		l->merkle_start = l->total_blocks;
		l->merkle_bitmap_blocks = (chunks +
					   VDIRT_INTENT_BITS_PER_BLOCK - 1) /
					  VDIRT_INTENT_BITS_PER_BLOCK;
		l->merkle_blocks = l->merkle_bitmap_blocks;
		for (lv = VDIRT_MERKLE_CHUNK_SHIFT; lv <= l->merkle_height; lv++)
			l->merkle_blocks += vdirt_merkle_level_blocks(l, lv);
		l->total_blocks += l->merkle_blocks;
	}
	l->unw_start = 0;
	l->unw_blocks = 0;
	if (flags & VDIRT_LAYOUT_UNWRITTEN) {
		l->unw_start = l->total_blocks;
		l->unw_blocks = (l->nr_clusters + VDIRT_UNW_BITS_PER_BLOCK - 1) /
				VDIRT_UNW_BITS_PER_BLOCK;
		l->total_blocks += l->unw_blocks;
	}
	return 0;
}

/*
 * The block and byte offset of stored tree node (lv, i), lv >= 7 (the
 * level's nodes in order, 128 per block, after the bitmap and the levels
 * below it).
 */
static inline __u64 vdirt_merkle_node_block(const struct vdirt_layout *l,
					    __u32 lv, __u64 i, __u32 *off)
{
	__u64 blk = l->merkle_start + l->merkle_bitmap_blocks;
	__u32 k;

	for (k = VDIRT_MERKLE_CHUNK_SHIFT; k < lv; k++)
		blk += vdirt_merkle_level_blocks(l, k);
	*off = (__u32)(i % VDIRT_MERKLE_NODES_PER_BLOCK) *
	       VDIRT_MERKLE_DIGEST_SIZE;
	return blk + i / VDIRT_MERKLE_NODES_PER_BLOCK;
}

/*
 * Where the write-set bit of cluster c in the set of epoch e is: returns
 * the block, sets *bit to the bit number after the block's header.
 */
static inline __u64 vdirt_wset_block(const struct vdirt_layout *l, __u64 e,
				     __u64 c, __u32 *bit)
{
	__u32 slot;
	__u64 blk;

	vdirt_div_u64_rem(e, l->epochs, &slot);
	blk = vdirt_div_u64_rem(c, VDIRT_WSET_BITS_PER_BLOCK, bit);
	return l->wset_start + (__u64)slot * l->wset_slot_blocks + blk;
}

/* the block and byte offset of epoch e's entry in the epoch table */
static inline __u64 vdirt_epoch_block(const struct vdirt_layout *l, __u64 e,
				      __u32 *off)
{
	__u32 slot;

	vdirt_div_u64_rem(e, l->epochs, &slot);
	*off = (slot % VDIRT_EPOCHS_PER_BLOCK) * VDIRT_EPOCH_ENTRY_SIZE;
	return l->epoch_start + slot / VDIRT_EPOCHS_PER_BLOCK;
}

/* the layout a format writes (VDIRT_LAYOUT_DEFAULT) */
static inline int vdirt_compute_layout(__u64 data_sectors, __u32 cluster_size,
				       __u32 digest_size,
				       struct vdirt_layout *l)
{
	return vdirt_layout_compute(data_sectors, cluster_size, digest_size,
				    VDIRT_LAYOUT_DEFAULT, VDIRT_EPOCHS_DEFAULT,
				    l);
}

/* required metadata device size in bytes, 0 for invalid parameters */
static inline __u64 vdirt_meta_size_of(__u64 data_sectors, __u32 cluster_size,
				       __u32 digest_size, __u32 flags,
				       __u32 epochs)
{
	struct vdirt_layout l;

	if (vdirt_layout_compute(data_sectors, cluster_size, digest_size,
				 flags, epochs, &l))
		return 0;
	return l.total_blocks * VDIRT_META_BLOCK_SIZE;
}

/* the same for the layout a format writes */
static inline __u64 vdirt_meta_size(__u64 data_sectors, __u32 cluster_size,
				    __u32 digest_size)
{
	return vdirt_meta_size_of(data_sectors, cluster_size, digest_size,
				  VDIRT_LAYOUT_DEFAULT, VDIRT_EPOCHS_DEFAULT);
}

/* what vdirt_sb_check() found wrong with a superblock copy */
enum vdirt_sb_bad {
	VDIRT_SB_OK = 0,
	VDIRT_SB_BAD_MAGIC,		/* not a dm-vdirt superblock */
	VDIRT_SB_BAD_CSUM,		/* checksum does not match */
	VDIRT_SB_BAD_VERSION,		/* unknown format version */
	VDIRT_SB_BAD_INCOMPAT,		/* unknown feature_incompat bits */
	VDIRT_SB_BAD_LAYOUT,		/* fields do not describe the layout */
	VDIRT_SB_BAD_SIZE,		/* layout larger than the device */
};

/*
 * The one superblock validator, used by the kernel and by vdirtctl:
 * structural checks of one copy, independent of any table.  csum is the
 * crc32c the caller computed over the copy with its csum field zeroed
 * (each side has its own crc32c); meta_blocks the metadata device's size
 * in blocks (0: not checked).  On VDIRT_SB_OK, *l (if not NULL) is the
 * layout the copy describes.  feature_ro_compat is the caller's to judge.
 */
static inline enum vdirt_sb_bad
vdirt_sb_check(const struct vdirt_disk_sb *sb, __u32 csum, __u64 meta_blocks,
	       struct vdirt_layout *lp)
{
	__u32 version = vdirt_le32(sb->version);
	__u32 compat = vdirt_le32(sb->feature_compat);
	__u32 incompat = vdirt_le32(sb->feature_incompat);
	__u32 ro_compat = vdirt_le32(sb->feature_ro_compat);
	__u32 flags = VDIRT_LAYOUT_V1;
	struct vdirt_layout l;
	int unknown;

	if (vdirt_le64(sb->magic) != VDIRT_SB_MAGIC)
		return VDIRT_SB_BAD_MAGIC;
	if (vdirt_le32(sb->csum) != csum)
		return VDIRT_SB_BAD_CSUM;
	if (version < VDIRT_FORMAT_VERSION_MIN || version > VDIRT_FORMAT_VERSION)
		return VDIRT_SB_BAD_VERSION;
	if (incompat & ~VDIRT_FEATURE_INCOMPAT_SUPP)
		return VDIRT_SB_BAD_INCOMPAT;
	/* optional regions and layouts exist from version 2 on, each a bit */
	if (version < 2 && ((compat & ~VDIRT_FEATURE_COMPAT_INTENT) ||
			    incompat || ro_compat))
		return VDIRT_SB_BAD_LAYOUT;
	if (compat & VDIRT_FEATURE_COMPAT_STAGING)
		flags |= VDIRT_LAYOUT_STAGING;
	if (incompat & VDIRT_FEATURE_INCOMPAT_PACKED)
		flags |= VDIRT_LAYOUT_PACKED;
	if (incompat & VDIRT_FEATURE_INCOMPAT_UNWRITTEN)
		flags |= VDIRT_LAYOUT_UNWRITTEN;
	if (ro_compat & VDIRT_FEATURE_RO_COMPAT_EPOCHS)
		flags |= VDIRT_LAYOUT_EPOCHS;
	if (ro_compat & VDIRT_FEATURE_RO_COMPAT_WRITESETS)
		flags |= VDIRT_LAYOUT_WRITESETS;
	if (ro_compat & VDIRT_FEATURE_RO_COMPAT_CHAIN)
		flags |= VDIRT_LAYOUT_CHAIN;
	if (ro_compat & VDIRT_FEATURE_RO_COMPAT_HISTORY)
		flags |= VDIRT_LAYOUT_HISTORY;
	if (ro_compat & VDIRT_FEATURE_RO_COMPAT_MERKLE)
		flags |= VDIRT_LAYOUT_MERKLE;
	/* regions of features this code does not know lie after the known */
	unknown = (compat & ~VDIRT_FEATURE_COMPAT_SUPP) ||
		  (ro_compat & ~VDIRT_FEATURE_RO_COMPAT_SUPP);
	if (vdirt_le32(sb->meta_block_size) != VDIRT_META_BLOCK_SIZE ||
	    vdirt_le32(sb->record_size) != VDIRT_RECORD_SIZE ||
	    vdirt_le32(sb->intent_region_clusters) !=
			VDIRT_INTENT_REGION_CLUSTERS ||
	    !memchr(sb->hash_name, 0, sizeof(sb->hash_name)) ||
	    vdirt_layout_compute(vdirt_le64(sb->data_sectors),
				 vdirt_le32(sb->cluster_size),
				 vdirt_le32(sb->digest_size), flags,
				 vdirt_le32(sb->epochs_retained), &l))
		return VDIRT_SB_BAD_LAYOUT;
	if (vdirt_le32(sb->entry_size) != l.entry_size ||
	    vdirt_le64(sb->nr_clusters) != l.nr_clusters ||
	    vdirt_le64(sb->entries_start) != l.entries_start ||
	    vdirt_le64(sb->entries_blocks) != l.entries_blocks ||
	    vdirt_le64(sb->intent_start) != l.intent_start ||
	    vdirt_le64(sb->intent_blocks) != l.intent_blocks ||
	    vdirt_le64(sb->log_start) != l.log_start ||
	    vdirt_le64(sb->log_blocks) != l.log_blocks ||
	    vdirt_le64(sb->log_capacity) != VDIRT_LOG_CAPACITY ||
	    vdirt_le64(sb->event_start) != l.event_start ||
	    vdirt_le64(sb->event_blocks) != l.event_blocks ||
	    vdirt_le64(sb->staging_start) != l.staging_start ||
	    vdirt_le64(sb->staging_blocks) != l.staging_blocks ||
	    vdirt_le64(sb->epoch_start) != l.epoch_start ||
	    vdirt_le64(sb->epoch_blocks) != l.epoch_blocks ||
	    vdirt_le32(sb->epochs_retained) != l.epochs ||
	    vdirt_le64(sb->wset_start) != l.wset_start ||
	    vdirt_le64(sb->wset_blocks) != l.wset_blocks ||
	    vdirt_le64(sb->hist_start) != l.hist_start ||
	    vdirt_le64(sb->hist_blocks) != l.hist_blocks ||
	    vdirt_le64(sb->merkle_start) != l.merkle_start ||
	    vdirt_le64(sb->merkle_blocks) != l.merkle_blocks ||
	    vdirt_le64(sb->unw_start) != l.unw_start ||
	    vdirt_le64(sb->unw_blocks) != l.unw_blocks ||
	    (unknown ? vdirt_le64(sb->total_blocks) < l.total_blocks :
		       vdirt_le64(sb->total_blocks) != l.total_blocks) ||
	    vdirt_le64(sb->log_tail) > vdirt_le64(sb->log_head) ||
	    ((ro_compat & VDIRT_FEATURE_RO_COMPAT_EPOCHS) &&
	     vdirt_le64(sb->epoch_first) > vdirt_le64(sb->epoch) + 1) ||
	    ((ro_compat & VDIRT_FEATURE_RO_COMPAT_CHAIN) &&
	     vdirt_le64(sb->chain_start) > vdirt_le64(sb->log_head)))
		return VDIRT_SB_BAD_LAYOUT;
	if (meta_blocks && vdirt_le64(sb->total_blocks) > meta_blocks)
		return VDIRT_SB_BAD_SIZE;
	if (lp)
		*lp = l;
	return VDIRT_SB_OK;
}

/*
 * The one superblock builder: the fields fixed by the geometry and the
 * layout (magic, version, sizes, regions, feature_compat's STAGING bit,
 * feature_incompat's PACKED bit; the other bits are kept).  The caller sets
 * seq, uuid, counters, flags, times and the other feature bits, then the
 * checksum.  l comes from vdirt_layout_compute() (vdirt_compute_layout()
 * for a new format); a layout without STAGING and PACKED is version 1.
 */
static inline void vdirt_sb_set_layout(struct vdirt_disk_sb *sb,
				       const struct vdirt_layout *l,
				       __u64 data_sectors, __u32 cluster_size,
				       __u32 digest_size, const char *hash)
{
	size_t n = strlen(hash);
	__u32 compat = vdirt_le32(sb->feature_compat);
	__u32 incompat = vdirt_le32(sb->feature_incompat);
	__u32 ro_compat = vdirt_le32(sb->feature_ro_compat);

	if (n >= VDIRT_HASH_NAME_LEN)
		n = VDIRT_HASH_NAME_LEN - 1;
	sb->magic = vdirt_cpu64(VDIRT_SB_MAGIC);
	sb->version = vdirt_cpu32(l->flags == VDIRT_LAYOUT_V1 ? 1 :
				  VDIRT_FORMAT_VERSION);
	sb->data_sectors = vdirt_cpu64(data_sectors);
	sb->nr_clusters = vdirt_cpu64(l->nr_clusters);
	sb->cluster_size = vdirt_cpu32(cluster_size);
	sb->digest_size = vdirt_cpu32(digest_size);
	memset(sb->hash_name, 0, sizeof(sb->hash_name));
	memcpy(sb->hash_name, hash, n);
	sb->meta_block_size = vdirt_cpu32(VDIRT_META_BLOCK_SIZE);
	sb->entry_size = vdirt_cpu32(l->entry_size);
	if (l->flags & VDIRT_LAYOUT_STAGING)
		compat |= VDIRT_FEATURE_COMPAT_STAGING;
	else
		compat &= ~VDIRT_FEATURE_COMPAT_STAGING;
	if (l->flags & VDIRT_LAYOUT_PACKED)
		incompat |= VDIRT_FEATURE_INCOMPAT_PACKED;
	else
		incompat &= ~VDIRT_FEATURE_INCOMPAT_PACKED;
	if (l->flags & VDIRT_LAYOUT_UNWRITTEN)
		incompat |= VDIRT_FEATURE_INCOMPAT_UNWRITTEN;
	else
		incompat &= ~VDIRT_FEATURE_INCOMPAT_UNWRITTEN;
	ro_compat &= ~(VDIRT_FEATURE_RO_COMPAT_EPOCHS |
		       VDIRT_FEATURE_RO_COMPAT_WRITESETS |
		       VDIRT_FEATURE_RO_COMPAT_CHAIN |
		       VDIRT_FEATURE_RO_COMPAT_HISTORY |
		       VDIRT_FEATURE_RO_COMPAT_MERKLE);
	if (l->flags & VDIRT_LAYOUT_EPOCHS)
		ro_compat |= VDIRT_FEATURE_RO_COMPAT_EPOCHS;
	if (l->flags & VDIRT_LAYOUT_WRITESETS)
		ro_compat |= VDIRT_FEATURE_RO_COMPAT_WRITESETS;
	if (l->flags & VDIRT_LAYOUT_CHAIN)
		ro_compat |= VDIRT_FEATURE_RO_COMPAT_CHAIN;
	if (l->flags & VDIRT_LAYOUT_HISTORY)
		ro_compat |= VDIRT_FEATURE_RO_COMPAT_HISTORY;
	if (l->flags & VDIRT_LAYOUT_MERKLE)
		ro_compat |= VDIRT_FEATURE_RO_COMPAT_MERKLE;
	sb->feature_compat = vdirt_cpu32(compat);
	sb->feature_incompat = vdirt_cpu32(incompat);
	sb->feature_ro_compat = vdirt_cpu32(ro_compat);
	sb->entries_start = vdirt_cpu64(l->entries_start);
	sb->entries_blocks = vdirt_cpu64(l->entries_blocks);
	sb->intent_start = vdirt_cpu64(l->intent_start);
	sb->intent_blocks = vdirt_cpu64(l->intent_blocks);
	sb->intent_region_clusters = vdirt_cpu32(VDIRT_INTENT_REGION_CLUSTERS);
	sb->record_size = vdirt_cpu32(VDIRT_RECORD_SIZE);
	sb->log_start = vdirt_cpu64(l->log_start);
	sb->log_blocks = vdirt_cpu64(l->log_blocks);
	sb->log_capacity = vdirt_cpu64(VDIRT_LOG_CAPACITY);
	sb->event_start = vdirt_cpu64(l->event_start);
	sb->event_blocks = vdirt_cpu64(l->event_blocks);
	sb->staging_start = vdirt_cpu64(l->staging_start);
	sb->staging_blocks = vdirt_cpu64(l->staging_blocks);
	sb->epoch_start = vdirt_cpu64(l->epoch_start);
	sb->epoch_blocks = vdirt_cpu64(l->epoch_blocks);
	sb->epochs_retained = vdirt_cpu32(l->epochs);
	sb->wset_start = vdirt_cpu64(l->wset_start);
	sb->wset_blocks = vdirt_cpu64(l->wset_blocks);
	sb->hist_start = vdirt_cpu64(l->hist_start);
	sb->hist_blocks = vdirt_cpu64(l->hist_blocks);
	sb->merkle_start = vdirt_cpu64(l->merkle_start);
	sb->merkle_blocks = vdirt_cpu64(l->merkle_blocks);
	sb->unw_start = vdirt_cpu64(l->unw_start);
	sb->unw_blocks = vdirt_cpu64(l->unw_blocks);
	sb->total_blocks = vdirt_cpu64(l->total_blocks);
}

_Static_assert(sizeof(struct vdirt_disk_sb) == VDIRT_SB_SIZE,
	       "superblock size");
_Static_assert(sizeof(struct vdirt_disk_entry) == VDIRT_ENTRY_HDR_SIZE,
	       "entry header size");
_Static_assert(sizeof(struct vdirt_disk_record) == VDIRT_RECORD_SIZE,
	       "record size");
_Static_assert(sizeof(struct vdirt_disk_epoch) == VDIRT_EPOCH_ENTRY_SIZE,
	       "epoch entry size");
_Static_assert(sizeof(struct vdirt_disk_wset) == VDIRT_WSET_HDR_SIZE,
	       "write-set header size");
_Static_assert(sizeof(struct vdirt_disk_hist_hdr) == VDIRT_HIST_HDR_SIZE,
	       "history header size");
_Static_assert(sizeof(struct vdirt_disk_hist) == VDIRT_HIST_REC_HDR,
	       "history record size");
_Static_assert(sizeof(struct vdirt_disk_unw) == VDIRT_UNW_HDR_SIZE,
	       "written bitmap header size");

#endif /* DM_VDIRT_FORMAT_H */
