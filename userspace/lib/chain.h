/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvdirt: the record log's hash chain (RO_COMPAT_CHAIN).  D(n) is SHA-256
 * of record n's 256 on-disk bytes, or HMAC-SHA256 with the log key; record
 * n > chain_start carries prev = D(n - 1) at byte 192, the superblock
 * log_hash = D(log_head - 1).  The verifier, the offline reader of the
 * ring, and checkpoints.  Returns -errno, prints nothing.
 */
#ifndef VDIRTCTL_CHAIN_H
#define VDIRTCTL_CHAIN_H

#include <stddef.h>
#include <stdint.h>
#include "../../dm-vdirt-format.h"

#define VCHAIN_HASH 32
#define VCHAIN_KEY_MAX 4096

/* D(rec): key NULL: SHA-256, else HMAC-SHA256; 0 or -EIO */
int vchain_digest(const uint8_t rec[VDIRT_RECORD_SIZE], const uint8_t *key, size_t keylen,
		  uint8_t out[VCHAIN_HASH]);

/* what vchain_verify() found */
struct vchain_res {
	uint64_t first, end;	/* the records checked: [first, end) */
	uint64_t bad;		/* -EBADMSG: the first bad record */
	char why[160];
};

/*
 * Check n consecutive records recs (256 bytes each) numbered first..: each
 * in its slot (seq), its crc32c, its digest size, each link prev = D(n - 1)
 * for n > chain_start (and n > first), and D(first + n - 1) = head_hash
 * (when head_hash is not NULL).  0, or -EBADMSG with res->bad and why.
 */
int vchain_verify(const uint8_t *recs, uint64_t first, uint64_t n, uint64_t chain_start,
		  const uint8_t *head_hash, uint32_t digest_size, const uint8_t *key,
		  size_t keylen, struct vchain_res *res);

/* a key file's bytes (at most VCHAIN_KEY_MAX, at least VDIRT_LOG_KEY_MIN) */
int vchain_read_key(const char *path, uint8_t **key, size_t *len);

/* the ring of a metadata device, offline */
struct vlog_meta {
	uint64_t seq;			/* the superblock copy in use */
	uint8_t uuid[16];
	uint32_t digest_size, flags, ro_compat;
	uint64_t epoch, log_head, log_tail, chain_start;
	uint8_t log_hash[VCHAIN_HASH];
	uint64_t first;			/* oldest kept record: max(chain_start, head - capacity) */
	uint64_t n;			/* records [first, log_head) in recs */
	uint8_t *recs;
};
/* read it from fd; -ENODATA: not formatted, -EINVAL: no valid superblock */
int vlog_meta_read(int fd, struct vlog_meta *m);
void vlog_meta_free(struct vlog_meta *m);

/* a checkpoint: what a later state must extend */
struct vcheckpoint {
	char device[128];
	uint8_t uuid[16];
	uint64_t epoch, seq, log_head, chain_start;
	uint8_t log_hash[VCHAIN_HASH];
	int keyed;
	uint64_t time_ns;
};
/* as JSON text (one object, a newline at the end) into a malloc'ed string */
char *vcheckpoint_json(const struct vcheckpoint *c);
/* parse it back: 0 or -EINVAL */
int vcheckpoint_parse(const char *text, struct vcheckpoint *c);

#endif
