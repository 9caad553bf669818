// SPDX-License-Identifier: GPL-2.0
/* Compile probe: does <linux/blkdev.h> define blk_mode_t (6.5+)? */
#include <linux/blkdev.h>

blk_mode_t vdirt_probe_mode = BLK_OPEN_READ | BLK_OPEN_WRITE;
