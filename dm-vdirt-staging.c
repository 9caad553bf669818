// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt staging area: block I/O of the baseline staging area of the
 * metadata device (store layer: calls nothing above it).  The area is
 * written once per load and read once per replace, so it bypasses the
 * metadata cache: the caller's buffer is the only memory used, whatever
 * the device size.
 */
#include <linux/bio.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>

#include "dm-vdirt.h"

bool vdirt_staging_present(struct vdirt_dev *vd)
{
	return vd->layout.staging_blocks != 0;
}

void *vdirt_staging_buf(gfp_t gfp)
{
	return __vmalloc(VDIRT_STAGE_BUF, gfp | __GFP_ZERO);
}

int vdirt_staging_io(struct vdirt_dev *vd, blk_opf_t opf, u64 blk,
		     unsigned int nr, void *buf)
{
	unsigned int len = nr * VDIRT_META_BLOCK_SIZE, i;
	struct bio *bio;
	int r;

	if (!nr || nr > VDIRT_STAGE_BUF_BLOCKS ||
	    blk >= vd->layout.staging_blocks ||
	    nr > vd->layout.staging_blocks - blk)
		return -ERANGE;
	bio = bio_alloc_bioset(vd->meta_dev->bdev, nr, opf, GFP_NOIO, &vd->bs);
	bio->bi_iter.bi_sector = (vd->layout.staging_start + blk) <<
				 (VDIRT_META_BLOCK_SHIFT - SECTOR_SHIFT);
	/* one vector per block: any page size of at least 4 KiB */
	for (i = 0; i < nr; i++) {
		void *p = buf + i * VDIRT_META_BLOCK_SIZE;

		__bio_add_page(bio, vmalloc_to_page(p), VDIRT_META_BLOCK_SIZE,
			       offset_in_page(p));
	}
	if (op_is_write(opf))
		flush_kernel_vmap_range(buf, len);
	else
		invalidate_kernel_vmap_range(buf, len);
	r = submit_bio_wait(bio);
	if (!op_is_write(opf))
		invalidate_kernel_vmap_range(buf, len);
	bio_put(bio);
	return r;
}
