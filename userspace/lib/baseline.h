/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdirtctl baseline file, version 1 (documented in vdirtctl.8, BASELINE FILE).
 * All integers little-endian.
 *
 *   off  size  field
 *     0     8  magic "VDIRTBL\n"
 *     8     4  version (1)
 *    12     4  header_size (256)
 *    16     4  cluster_size (bytes, power of two, 512..65536)
 *    20     4  digest_size (bytes, 1..64, must match hash_name)
 *    24     8  nr_clusters = ceil(source_size / cluster_size)
 *    32     8  source_size (bytes hashed; the last cluster is zero padded)
 *    40     8  flags (0; any other bit refused)
 *    48     8  created (ns since the epoch)
 *    56     8  zero_clusters (informative: clusters that were all zero)
 *    64    64  hash_name (kernel crypto API name, NUL padded)
 *   128    96  reserved, zero
 *   224    32  file_digest: SHA-256 of the whole file with this field zero
 *   256     -  nr_clusters * digest_size bytes: the digest of each cluster
 */
#ifndef VDIRTCTL_BASELINE_H
#define VDIRTCTL_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#define VB_MAGIC "VDIRTBL\n"
#define VB_VERSION 1
#define VB_HEADER_SIZE 256
#define VB_DIGEST_OFF 224

struct vb_info {
	uint32_t version;
	uint32_t cluster_size;
	uint32_t digest_size;
	uint64_t nr_clusters;
	uint64_t source_size;
	uint64_t flags;
	uint64_t created_ns;
	uint64_t zero_clusters;
	char hash_name[64];
};

struct vb_file {
	struct vb_info info;
	uint8_t *map;		/* the whole file */
	size_t size;
	const uint8_t *digests;	/* map + VB_HEADER_SIZE */
};

void vb_encode_header(const struct vb_info *in, uint8_t hdr[VB_HEADER_SIZE]);
/* parse and check a header; 0 or -EINVAL/-EPROTONOSUPPORT with a message in msg */
int vb_decode_header(const uint8_t *hdr, size_t len, struct vb_info *out,
		     char *msg, size_t msglen);
/* validate a complete file image in memory (header, size, file digest) */
int vb_check(const uint8_t *buf, size_t len, struct vb_info *out,
	     char *msg, size_t msglen);
/* compute and store the file digest in buf (len bytes, header first) */
int vb_seal(uint8_t *buf, size_t len);
/* map and check the file at path; msg: why not, without the path (the caller names it) */
int vb_open(const char *path, struct vb_file *f, char *msg, size_t msglen);
void vb_close(struct vb_file *f);

#endif
