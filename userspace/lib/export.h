/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvdirt: the evidence a third party re-verifies offline (documented in
 * Documentation/dm-vdirt.rst, "Attestation and evidence export"):
 *  - an inclusion proof (attest --proof --json): parsed and checked;
 *  - an export directory (vdirtctl export): manifest.json, the digest list
 *    blockhash.<hash> (nr_clusters * digest_size raw bytes in cluster
 *    order, zero for an unmeasured cluster), log.raw (the record log's
 *    256-byte records) and log.json; written, read back and checked
 *    (file hashes, sizes, the root recomputed from the digest list, the
 *    log's hash chain), and an image's digests compared with it.
 * JSON through json-c, both ways.  Functions return -errno, print nothing.
 */
#ifndef VDIRTCTL_EXPORT_H
#define VDIRTCTL_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"

/* ---- inclusion proofs ---- */

struct vproof {
	struct vmerkle_geom g;		/* clusters, cluster_size, digest_size, hash */
	uint8_t root[VMERKLE_SIZE];
	uint64_t cluster;
	int measured;
	uint8_t digest[VDIRT_MAX_DIGEST_SIZE];
	size_t digest_len;		/* bytes of "digest" as given */
	uint32_t path_n;		/* siblings given */
	uint8_t path[VDIRT_MERKLE_MAX_HEIGHT][VMERKLE_SIZE];
	/* informative: not bound by the root */
	char uuid[33], time[48];
	uint64_t epoch, log_head;
};

/* the JSON object of attest --proof --json into p; -EINVAL (why) when it is not one */
int vproof_parse(const char *text, struct vproof *p, char *why, size_t n);
/* 0: the proof gives its root; -EBADMSG (why) when not; computed: the root it gives */
int vproof_check(const struct vproof *p, uint8_t computed[VMERKLE_SIZE], char *why, size_t n);

/* ---- export directories ---- */

#define VEXPORT_FORMAT		"dm-vdirt-export"
#define VEXPORT_VERSION		1
#define VEXPORT_MANIFEST	"manifest.json"
#define VEXPORT_LOG_RAW		"log.raw"
#define VEXPORT_LOG_JSON	"log.json"
#define VEXPORT_MAX_FILES	8

struct vexport_epoch {
	uint64_t epoch;
	char label[VDIRT_EPOCH_LABEL_LEN];
	uint64_t start_ns, end_ns, log_end;
	int closed, unclean, has_root, has_log_hash;
	uint8_t root[VMERKLE_SIZE], log_hash[32];
};

struct vexport {
	/* the device */
	char name[128];
	uint32_t major, minor;
	uint64_t data_sectors;
	char table[1024];		/* its dm table line */
	uint8_t uuid[16];		/* the metadata's */
	struct vmerkle_geom g;
	/* the snapshot */
	uint8_t root[VMERKLE_SIZE];
	uint64_t epoch, snap_time_ns, export_time_ns, sb_seq, measured;
	int chain, keyed, has_log_hash;
	uint64_t chain_start, log_first, log_head;	/* log.raw: [log_first, log_head) */
	uint8_t log_hash[32];
	char tool_version[32], target_version[32];
	struct vexport_epoch *epochs;	/* malloc'ed (vexport_free) */
	size_t nr_epochs;
	char digest_file[80];		/* blockhash.<hash> */
	struct {
		char name[80];
		uint8_t sha256[32];
	} files[VEXPORT_MAX_FILES];	/* every file but the manifest */
	unsigned int nr_files;
};
void vexport_free(struct vexport *e);
/* e->digest_file from the hash name */
void vexport_name_digests(struct vexport *e);

/* dir: created (0700), or an existing empty directory; its fd, or -errno (-ENOTEMPTY) */
int vexport_dir(const char *dir);

/* a file of the export written with its SHA-256 on the way */
struct vexport_out {
	int fd;
	void *ctx;			/* EVP_MD_CTX */
	char name[80];
};
int vexport_out_open(int dirfd, const char *name, struct vexport_out *f);
int vexport_out_write(struct vexport_out *f, const void *buf, size_t len);
/* fsync and close; the file and its SHA-256 go into e->files (f closed also on error) */
int vexport_out_close(struct vexport_out *f, struct vexport *e);
void vexport_out_abort(struct vexport_out *f);

/* manifest.json as text (malloc'ed), and written into dirfd (last, with fsyncs) */
char *vexport_manifest_json(const struct vexport *e);
int vexport_write_manifest(int dirfd, const struct vexport *e);

/*
 * A whole export from a digest list in memory (e->g.nr_clusters *
 * digest_size bytes) and nrec raw records: e->root and e->measured are
 * computed here.  For tests and tools; vdirtctl export streams instead.
 */
int vexport_write(const char *dir, struct vexport *e, const uint8_t *digests,
		  const uint8_t *recs, uint64_t nrec, const char *log_json);

/* an export read back and checked; digests: the digest list, mapped */
struct vexport_in {
	struct vexport e;
	const uint8_t *digests;
	size_t map_len;
	int log_checked;		/* the log's chain was verified up to log_hash */
	uint64_t measured;		/* digests not all zero in the list */
};
/*
 * Read dir's manifest and check the export: every file's SHA-256, the
 * digest list's size, the root recomputed from it, the record log's chain
 * (unkeyed chains: keyed ones need the key, not checked).  0; -EBADMSG
 * (why) when they disagree: an edited export; -EINVAL (why) when the
 * manifest is not one; -ENOENT and other errors of the files.
 */
int vexport_check(const char *dir, struct vexport_in *in, char *why, size_t n);
void vexport_in_free(struct vexport_in *in);

/*
 * Compare an image's digests (nr * digest_size bytes, every cluster) with
 * the export's: fn(c) for each cluster measured in the export (a digest
 * not all zero) whose image digest differs; *checked: clusters compared.
 * 0, or fn's non-zero return.
 */
int vexport_compare(const struct vexport_in *in, const uint8_t *image, uint64_t nr,
		    int (*fn)(uint64_t c, void *arg), void *arg, uint64_t *checked);

#endif
