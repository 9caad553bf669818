/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvdirt: the attestation tree (RO_COMPAT_MERKLE, defined in
 * dm-vdirt-format.h above VDIRT_MERKLE_DIGEST_SIZE) computed in userspace:
 * the root of C leaves streamed in cluster order in O(H) memory (a stack of
 * the partial nodes, never a C-sized array), optionally with the inclusion
 * proof of one cluster collected on the way, and the offline check of a
 * proof.  SHA-256 through OpenSSL's EVP.  Returns -errno, prints nothing.
 */
#ifndef VDIRTCTL_MERKLE_H
#define VDIRTCTL_MERKLE_H

#include <stdint.h>
#include "../../dm-vdirt-format.h"

#define VMERKLE_SIZE VDIRT_MERKLE_DIGEST_SIZE

/* what the root binds besides the leaves */
struct vmerkle_geom {
	uint64_t nr_clusters;		/* C, >= 1 */
	uint32_t cluster_size, digest_size;	/* digest_size 1..VDIRT_MAX_DIGEST_SIZE */
	char hash_name[64];		/* the device's cluster hash (NUL padded in the root) */
};

struct vmerkle {
	struct vmerkle_geom g;
	uint32_t height;		/* H = vdirt_merkle_height(C) */
	uint64_t next;			/* leaves added so far */
	uint64_t proof_cluster;		/* UINT64_MAX: no proof wanted */
	/* stack[l]: node(l, (next >> l) - 1) while bit l of next is set */
	uint8_t stack[VDIRT_MERKLE_MAX_HEIGHT + 1][VMERKLE_SIZE];
	uint8_t proof[VDIRT_MERKLE_MAX_HEIGHT][VMERKLE_SIZE];	/* siblings, bottom up */
	void *md, *ctx;			/* EVP_MD, EVP_MD_CTX */
};

/* 0, -EINVAL for a bad geometry (C 0, digest size), -ENOMEM */
int vmerkle_init(struct vmerkle *m, const struct vmerkle_geom *g);
/* also collect cluster's proof (call before the first vmerkle_add); -ERANGE past the end */
int vmerkle_want_proof(struct vmerkle *m, uint64_t cluster);
/* the next cluster's digest (digest_size bytes), NULL: unmeasured; -ERANGE after C */
int vmerkle_add(struct vmerkle *m, const uint8_t *digest);
/* n clusters' digests, digest_size bytes each (all zero bytes: unmeasured, the same leaf) */
int vmerkle_add_many(struct vmerkle *m, const uint8_t *digests, uint64_t n);
/* after C leaves: the root, and m->proof when a proof was wanted; -EINVAL before */
int vmerkle_final(struct vmerkle *m, uint8_t root[VMERKLE_SIZE]);
void vmerkle_free(struct vmerkle *m);

/* the root over n = g->nr_clusters digests in memory (zero bytes: unmeasured) */
int vmerkle_root(const struct vmerkle_geom *g, const uint8_t *digests,
		 uint8_t root[VMERKLE_SIZE]);

/*
 * The root a proof gives: cluster's leaf of digest (NULL: unmeasured), then
 * the vdirt_merkle_height(C) siblings of path bottom up, then the root's
 * geometry binding.  Compare it with the root to check the proof.  0,
 * -ERANGE for a cluster past the end, -EINVAL for a bad geometry.
 */
int vmerkle_proof_root(const struct vmerkle_geom *g, uint64_t cluster, const uint8_t *digest,
		       const uint8_t *path, uint8_t root[VMERKLE_SIZE]);

#endif
