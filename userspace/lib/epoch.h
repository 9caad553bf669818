/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvdirt: epochs, changed-block lists and per-cluster digests with their
 * last write (VDIRT_CMD_EPOCH_GET, CHANGED_GET, HASH_GET), and the
 * epoch_new message.  Functions return 0 or -errno and print nothing.
 */
#ifndef VDIRTCTL_EPOCH_H
#define VDIRTCTL_EPOCH_H

#include <stdint.h>

#include "merkle.h"
#include "nl.h"

/* one retained epoch */
struct vepoch {
	uint64_t epoch, oldest;	/* oldest: the oldest retained epoch */
	char label[VDIRT_EPOCH_LABEL_LEN];
	uint64_t start_ns, end_ns;	/* end 0: open */
	uint64_t written;		/* clusters in its write set */
	uint32_t flags;			/* VDIRT_EP_*, 0: entry lost; ROOT: root valid */
	uint64_t log_first, log_end;
	uint8_t root[VMERKLE_SIZE];	/* attestation root at its close */
	int has_log_hash;
	uint8_t log_hash[32];		/* the log head's hash at its close */
};

/* the retained epochs of dev, oldest first; fn's non-zero return stops */
int vnl_epochs(struct vnl *v, const char *dev,
	       int (*fn)(const struct vepoch *e, void *arg), void *arg);
/* the same, collected: *e malloc'ed (free() it), *n of them */
int vnl_epoch_list(struct vnl *v, const char *dev, struct vepoch **e, size_t *n);

/*
 * The clusters written after epoch since closed up to the end of epoch
 * until (until < 0: up to now), as runs in cluster order, adjacent runs
 * joined; fn's non-zero return stops.  -ERANGE: since + 1 or until not
 * retained; -EOPNOTSUPP: no write sets.
 */
int vnl_changed(struct vnl *v, const char *dev, uint64_t since, int64_t until,
		int (*fn)(uint64_t first, uint64_t count, void *arg), void *arg);

/* one cluster's stored digests and last write */
struct vhash {
	uint64_t cluster;
	int has_current, has_baseline;
	uint8_t current[VDIRT_MAX_DIGEST_SIZE], baseline[VDIRT_MAX_DIGEST_SIZE];
	uint32_t epoch;			/* epoch of the last write, 0: never */
	uint64_t time_ns;		/* its wall clock, 0: never */
};

/* clusters [first, first + count) (count 0: to the end) of dev, ds-byte digests */
int vnl_hashes(struct vnl *v, const char *dev, uint64_t first, uint64_t count,
	       unsigned int ds, int (*fn)(const struct vhash *h, void *arg), void *arg);

/* dmsetup message dev 0 epoch_new [label]: the new epoch's number in *epoch */
int vdm_epoch_new(const char *dev, const char *label, uint64_t *epoch);

#endif
