/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvdirt: formatting a metadata device (zeroed, verified, both superblock
 * copies written as the kernel does) and checking one offline (both copies,
 * the one in use, the write-intent bits set).
 */
#ifndef VDIRTCTL_FORMAT_H
#define VDIRTCTL_FORMAT_H

#include <stdint.h>
#include "hash.h"
#include "sb.h"

#define VDIRT_DEFAULT_CLUSTER 4096U
#define VDIRT_DEFAULT_HASH "sha256"

/* a valid cluster size: a power of two from VDIRT_MIN to VDIRT_MAX_CLUSTER_SIZE */
int vformat_cluster_ok(uint32_t cs);
/*
 * The layout a format writes (VDIRT_LAYOUT_*): packed entries and the
 * staging area; unpacked: power-of-two entries, as dm-vdirt 1.3 formats
 * (metadata a module without packed entries opens); without: the optional
 * regions left out (vformat_without()).
 */
uint32_t vformat_layout(int unpacked, uint32_t without);
/*
 * --without LIST: the VDIRT_LAYOUT_* regions named (writesets, history,
 * tree, unwritten) in *mask; -EINVAL for an unknown or empty name.
 */
int vformat_without(const char *list, uint32_t *mask);

/* the step of vformat() that failed */
enum vformat_step {
	VF_SIZE,	/* -EINVAL: data size not a cluster multiple; -ENOSPC: meta too small */
	VF_READ,	/* reading the old superblocks */
	VF_EXISTS,	/* -EEXIST: formatted already (existing 1) or foreign data (why) */
	VF_SIGNATURE,	/* not forced, -EEXIST: libblkid found a signature (why) */
	VF_NONZERO,	/* not forced, -EEXIST: a non-zero byte at bad_off of the region */
	VF_ZERO,	/* zeroing the metadata area */
	VF_VERIFY,	/* -EILSEQ: not zero after zeroing at bad_off; else reading it back */
	VF_WRITE,	/* writing the superblocks */
};

struct vformat_res {
	enum vformat_step step;
	uint64_t need;		/* metadata bytes needed */
	uint8_t uuid[16];
	int existing;		/* VF_EXISTS: a dm-vdirt superblock is there (old) */
	struct vsb old;
	char why[160];		/* VF_EXISTS: the validator's reason; VF_SIGNATURE: which */
	uint64_t fixed;		/* 1 MiB chunks rewritten by the verified zeroing */
	uint64_t bad_off;	/* VF_VERIFY, VF_NONZERO: the byte offset */
};

/*
 * Format the metadata device mfd (opened read-write and exclusive at
 * mpath, msize bytes) for dsize bytes of data with the layout of
 * vformat_layout(), keeping epochs epochs (VDIRT_EPOCHS_MIN..MAX).  Every
 * byte of the layout is zeroed and read back (the written bitmap too: a
 * stale block would count its clusters as written).  Without
 * force it refuses (-EEXIST) a device holding a superblock or other data in
 * its first two blocks, any libblkid signature, or any non-zero byte in the
 * res->need bytes it would overwrite (all read, 8 MiB at a time).
 * 0 or -errno with res->step.
 */
int vformat(int mfd, const char *mpath, uint64_t msize, uint64_t dsize, uint32_t cs,
	    const struct vh_alg *alg, uint32_t layout, uint32_t epochs, int force,
	    struct vformat_res *res);

/* one superblock copy as check sees it */
struct vcheck_copy {
	int valid;
	char why[160];		/* invalid: the validator's reason */
	struct vsb sb;		/* valid: parsed */
	struct vdirt_disk_sb d;	/* raw, for the fields vsb does not carry */
};

struct vcheck {
	struct vcheck_copy c[2];
	int best;		/* the copy the kernel would use (c[best].valid or none) */
	uint64_t regions;	/* write-intent regions */
	uint64_t intent_set;	/* their bits set */
	int clean;
	int step;		/* on error: 0 reading the superblocks, 1 the bitmap */
};

/* check the metadata device fd; 0 or -errno (res->step) */
int vcheck(int fd, struct vcheck *res);

#endif
