/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvdirt: building a baseline file from a golden image or device with a
 * pool of hashing threads (vdirtctl baseline build), or into memory
 * (verify-image), optionally with the attestation root over the digests
 * (baseline build --root).
 */
#ifndef VDIRTCTL_BUILD_H
#define VDIRTCTL_BUILD_H

#include <signal.h>
#include <stdint.h>
#include "hash.h"

struct vbuild_req {
	int fd;				/* the source, read-only */
	uint64_t size;			/* its size in bytes */
	const char *output;		/* the baseline file, written atomically; NULL:
					 * none, the digests stay in memory (res->digests) */
	uint32_t cluster_size;
	const struct vh_alg *alg;
	int threads;			/* 1..256 */
	/* called about every 200 ms while hashing (final 1: once at the end), or NULL */
	void (*progress)(void *arg, uint64_t done, uint64_t total, int final);
	void *progress_arg;
	volatile sig_atomic_t *stop;	/* set by a signal handler: -EINTR */
	int root;			/* also the attestation root (res->root) */
};

struct vbuild_res {
	uint64_t clusters, zero_clusters;
	int output_failed;		/* the error is the output file's, not the source's */
	/* req->root: the attestation root over the digests, every cluster measured */
	uint8_t root[32];
	/* req->output NULL: clusters * digest_size bytes in an anonymous mapping */
	const uint8_t *digests;
	void *map;			/* vbuild_free() unmaps it */
	size_t map_len;
};

/* 0 or -errno */
int vbuild(const struct vbuild_req *req, struct vbuild_res *res);
/* the digests kept in memory (output NULL) */
void vbuild_free(struct vbuild_res *res);

#endif
