/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvdirt: attestation roots and proofs from the kernel (VDIRT_CMD_ATTEST,
 * ATTEST_GET), the metadata snapshot (messages `metadata_snap take|drop`,
 * HASH_GET with SNAP = 1) and the epochs' roots.  Functions return 0 or
 * -errno and print nothing.
 */
#ifndef VDIRTCTL_ATTEST_H
#define VDIRTCTL_ATTEST_H

#include <signal.h>
#include <stdint.h>

#include "merkle.h"
#include "nl.h"

/* what ATTEST_GET answers */
struct vattest {
	uint64_t root_id, done_id;	/* the last started, the last ended */
	int result;			/* errno of done_id, 0: success */
	int has_root;			/* done_id ended with 0: the fields below */
	uint8_t root[VMERKLE_SIZE];
	uint64_t epoch, time_ns, log_head, sb_seq;
	int has_log_hash;
	uint8_t log_hash[32];
	/* the device */
	uint8_t uuid[16];
	uint64_t nr_clusters;
	uint32_t cluster_size, digest_size;
	char hash[64];
	/* a proof (that computation named a cluster) */
	int has_proof, measured;
	uint64_t cluster;
	uint8_t digest[VDIRT_MAX_DIGEST_SIZE];
	uint32_t height;		/* siblings in proof */
	uint8_t proof[VDIRT_MERKLE_MAX_HEIGHT * VMERKLE_SIZE];
};

/* start a root computation (cluster not NULL: with its proof); *id: its number */
int vnl_attest_start(struct vnl *v, const char *dev, const uint64_t *cluster, uint64_t *id);
int vnl_attest_get(struct vnl *v, const char *dev, struct vattest *a);
/* an ATTEST_GET answer's attributes into a: 0, -EBADMSG when one is missing or malformed */
int vattest_fill(const struct nlattr **tb, struct vattest *a);
/*
 * Poll ATTEST_GET every 50 ms until computation id ended (a in *a):
 * 0, its error (-result), -ESTALE when a later one ended first (its
 * result lost), -ETIMEDOUT after timeout_ms, -EINTR when *stop is set.
 */
int vnl_attest_wait(struct vnl *v, const char *dev, uint64_t id, unsigned int timeout_ms,
		    volatile sig_atomic_t *stop, struct vattest *a);
/* the geometry the root of a binds */
void vattest_geom(const struct vattest *a, struct vmerkle_geom *g);

/* dmsetup message dev 0 metadata_snap take: the ROOT_ID of the snapshot's root */
int vdm_snap_take(const char *dev, uint64_t *root_id);
int vdm_snap_drop(const char *dev);
/*
 * The snapshot's digests, HASH_GET with SNAP = 1, in cluster order from
 * cluster 0: fn(first, n, valid, digests) per message, valid one byte per
 * cluster (VDIRT_HV_CURRENT), digests n * ds bytes (zero when invalid).
 * -EBADMSG when a message does not continue the one before.
 */
int vnl_snap_digests(struct vnl *v, const char *dev, unsigned int ds,
		     int (*fn)(uint64_t first, uint64_t n, const uint8_t *valid,
			       const uint8_t *digests, void *arg), void *arg);

#endif
