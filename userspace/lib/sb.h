/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VDIRTCTL_SB_H
#define VDIRTCTL_SB_H

#include <stdint.h>
#include "../../dm-vdirt-format.h"

/* superblock in native form (the fields vdirtctl uses) */
struct vsb {
	int copy;		/* 0 (A) or 1 (B) */
	uint32_t version;
	uint64_t seq;
	uint8_t uuid[16];
	uint64_t data_sectors;
	uint64_t nr_clusters;
	uint32_t cluster_size;
	uint32_t digest_size;
	char hash_name[VDIRT_HASH_NAME_LEN];
	uint32_t flags;
	uint32_t compat;	/* feature_compat */
	uint32_t ro_compat;	/* feature_ro_compat */
	uint32_t incompat;	/* feature_incompat (known bits only: others refuse) */
	uint32_t entry_size;	/* bytes per cluster entry */
	uint64_t staging_start;	/* 0: no staging area (version 1) */
	uint64_t staging_blocks;
	uint32_t epochs;	/* epochs retained, 0: no epoch table */
	uint64_t epoch;		/* the current (last opened) epoch */
	uint64_t epoch_first;	/* first epoch in the table */
	uint64_t log_head;
	uint64_t chain_start;	/* RO_COMPAT_CHAIN: first chained record */
	uint64_t unw_gen;	/* INCOMPAT_UNWRITTEN: the written bitmap's generation */
	struct vdirt_layout layout;
	uint64_t total_blocks;
};

/* buf: the first 2 metadata blocks. 1 formatted (sb filled), 0 all zero, <0 unknown/corrupt */
int vsb_parse(const uint8_t *buf, struct vsb *sb, char *msg, size_t msglen);
/*
 * fill a superblock block for a fresh device with the layout of flags
 * (VDIRT_LAYOUT_*); seq & 1 tells the copy (A 0, B 1)
 */
int vsb_build(uint8_t blk[VDIRT_META_BLOCK_SIZE], uint64_t data_sectors,
	      uint32_t cluster_size, const char *hash, uint32_t digest_size,
	      uint32_t flags, uint32_t epochs, const uint8_t uuid[16], uint64_t now,
	      uint64_t seq);
uint32_t vsb_csum(const uint8_t *sb512);
/*
 * Add to the metadata on fd (read-write, not in use) every optional region
 * it lacks, after its last one: version 1 becomes version 2 with the
 * staging area, metadata of dm-vdirt 1.4/1.5 gains the epoch table, write
 * sets, digest history and tree, metadata of 1.6 (VDIRT_LAYOUT_1_6) the
 * written bitmap, every cluster marked written (existing data stays
 * readable with zero_unwritten).  The entries keep their layout.  The new
 * regions are written and flushed before the superblock.  0 (*sb: the new
 * superblock), -EALREADY (has every region), -ENOSPC (the device of
 * dev_bytes is smaller than *need bytes), -ENODATA (not formatted) or
 * another -errno.  Prints nothing.
 */
int vsb_upgrade(int fd, uint64_t dev_bytes, struct vsb *sb, uint64_t *need);
/*
 * The written bitmap of layout l (INCOMPAT_UNWRITTEN): every block with
 * generation gen and the magic VDUW, the bits of every cluster set
 * (written) or clear; bits past the last cluster clear.  No flush.
 */
int vsb_unw_init(int fd, const struct vdirt_layout *l, uint64_t gen, int written);
/* the attestation tree's bitmap of a new layout: every chunk changed */
int vsb_merkle_init(int fd, const struct vdirt_layout *l);
/*
 * After zeroing [0, len) of the metadata fd (opened read-write at path):
 * read it back from the device (O_DIRECT where possible), write zeroes over
 * any 1 MiB chunk that is not zero and read it again.  0: all zero
 * (*fixed: chunks rewritten); -EILSEQ: a chunk at *bad_off still is not
 * zero; other -errno.  Prints nothing.
 */
int vsb_zero_verified(int fd, const char *path, uint64_t len, uint64_t *fixed,
		      uint64_t *bad_off);

#endif
