/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt staging area (dm-vdirt-staging.c), a store of the metadata
 * device: the digests of a baseline load, packed in cluster order
 * (cluster c's digest at byte c * digest_size), written and read in runs
 * of blocks with the caller's buffer, past the metadata cache.
 */
#ifndef DM_VDIRT_STAGING_H
#define DM_VDIRT_STAGING_H

#include <linux/blk_types.h>
#include <linux/types.h>

struct vdirt_dev;

/* bytes of a staging buffer (a load's, the replace worker's) */
#define VDIRT_STAGE_BUF		(128U * 1024U)
#define VDIRT_STAGE_BUF_BLOCKS	(VDIRT_STAGE_BUF / VDIRT_META_BLOCK_SIZE)

/* the metadata has a staging area (version 2 with COMPAT_STAGING) */
bool vdirt_staging_present(struct vdirt_dev *vd);
/*
 * Read or write (opf REQ_OP_READ / REQ_OP_WRITE) nr staging blocks from
 * staging block blk, nr <= VDIRT_STAGE_BUF_BLOCKS, buf a vmalloc buffer.
 * Sleeps; 0 or -errno.
 */
int vdirt_staging_io(struct vdirt_dev *vd, blk_opf_t opf, u64 blk,
		     unsigned int nr, void *buf);
/* a vmalloc buffer of VDIRT_STAGE_BUF bytes, gfp as for __vmalloc */
void *vdirt_staging_buf(gfp_t gfp);

#endif /* DM_VDIRT_STAGING_H */
