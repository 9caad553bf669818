// SPDX-License-Identifier: GPL-2.0
/* vdirtctl: the metadata superblock of dm-vdirt-format.h */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>

#include "hash.h"
#include "sb.h"
#include "util.h"

_Static_assert(sizeof(struct vdirt_disk_sb) == VDIRT_SB_SIZE, "superblock size");

/* crc32c(~0, ...) without final inversion over 512 bytes, csum field as 0 */
uint32_t vsb_csum(const uint8_t *p)
{
	uint8_t tmp[VDIRT_SB_SIZE];

	memcpy(tmp, p, sizeof(tmp));
	memset(tmp + offsetof(struct vdirt_disk_sb, csum), 0, 4);
	return vh_crc32c(~0U, tmp, sizeof(tmp));
}

/* one copy through the validator of dm-vdirt-format.h, shared with the kernel */
static int one(const uint8_t *p, struct vsb *sb, char *msg, size_t msglen)
{
	struct vdirt_disk_sb d;
	struct vdirt_layout l;

	memcpy(&d, p, sizeof(d));
	switch (vdirt_sb_check(&d, vsb_csum(p), 0, &l)) {
	case VDIRT_SB_OK:
		break;
	case VDIRT_SB_BAD_MAGIC:
		snprintf(msg, msglen, "bad magic");
		return -EBADMSG;
	case VDIRT_SB_BAD_CSUM:
		snprintf(msg, msglen, "bad superblock checksum");
		return -EBADMSG;
	case VDIRT_SB_BAD_VERSION:
		snprintf(msg, msglen, "unknown format version %u", le32toh(d.version));
		return -EPROTONOSUPPORT;
	case VDIRT_SB_BAD_INCOMPAT:
		snprintf(msg, msglen, "unknown incompatible features 0x%x",
			 le32toh(d.feature_incompat) & ~VDIRT_FEATURE_INCOMPAT_SUPP);
		return -EPROTONOSUPPORT;
	default:
		snprintf(msg, msglen, "inconsistent layout");
		return -EBADMSG;
	}
	sb->version = le32toh(d.version);
	sb->compat = le32toh(d.feature_compat);
	sb->ro_compat = le32toh(d.feature_ro_compat);
	sb->incompat = le32toh(d.feature_incompat);
	sb->entry_size = l.entry_size;
	sb->seq = le64toh(d.seq);
	memcpy(sb->uuid, d.uuid, 16);
	sb->data_sectors = le64toh(d.data_sectors);
	sb->nr_clusters = le64toh(d.nr_clusters);
	sb->cluster_size = le32toh(d.cluster_size);
	sb->digest_size = le32toh(d.digest_size);
	memcpy(sb->hash_name, d.hash_name, sizeof(sb->hash_name));
	sb->hash_name[sizeof(sb->hash_name) - 1] = 0;
	sb->flags = le32toh(d.flags);
	sb->staging_start = l.staging_start;
	sb->staging_blocks = l.staging_blocks;
	sb->epochs = l.epochs;
	sb->epoch = le64toh(d.epoch);
	sb->epoch_first = le64toh(d.epoch_first);
	sb->log_head = le64toh(d.log_head);
	sb->chain_start = le64toh(d.chain_start);
	sb->unw_gen = le64toh(d.unw_gen);
	sb->layout = l;
	sb->total_blocks = le64toh(d.total_blocks);
	return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

int vsb_parse(const uint8_t *buf, struct vsb *sb, char *msg, size_t msglen)
{
	struct vsb a, b;
	char ma[64], mb[64];
	int ra, rb;

	if (all_zero(buf, 2 * VDIRT_META_BLOCK_SIZE))
		return 0;
	ra = one(buf, &a, ma, sizeof(ma));
	rb = one(buf + VDIRT_META_BLOCK_SIZE, &b, mb, sizeof(mb));
	a.copy = 0;
	b.copy = 1;
	if (ra && rb) {
		snprintf(msg, msglen, "not a dm-vdirt superblock (copy A: %s, copy B: %s)",
			 ma, mb);
		return ra == -EPROTONOSUPPORT ? ra : rb;
	}
	if (!ra && (rb || a.seq >= b.seq))
		*sb = a;
	else
		*sb = b;
	return 1;
}

int vsb_build(uint8_t blk[VDIRT_META_BLOCK_SIZE], uint64_t data_sectors,
	      uint32_t cluster_size, const char *hash, uint32_t digest_size,
	      uint32_t flags, uint32_t epochs, const uint8_t uuid[16], uint64_t now,
	      uint64_t seq)
{
	struct vdirt_layout l;
	struct vdirt_disk_sb d;

	if (vdirt_layout_compute(data_sectors, cluster_size, digest_size, flags, epochs, &l))
		return -EINVAL;
	if (strlen(hash) >= VDIRT_HASH_NAME_LEN)
		return -EINVAL;
	memset(&d, 0, sizeof(d));
	vdirt_sb_set_layout(&d, &l, data_sectors, cluster_size, digest_size, hash);
	d.seq = htole64(seq);
	memcpy(d.uuid, uuid, 16);
	d.flags = htole32(VDIRT_SB_F_CLEAN);
	/* the first activation opens epoch 1 */
	if (flags & VDIRT_LAYOUT_EPOCHS)
		d.epoch_first = htole64(1);
	d.format_time_ns = htole64(now);
	d.commit_time_ns = htole64(now);
	memset(blk, 0, VDIRT_META_BLOCK_SIZE);
	memcpy(blk, &d, sizeof(d));
	d.csum = htole32(vsb_csum(blk));
	memcpy(blk, &d, sizeof(d));
	return 0;
}

int vsb_merkle_init(int fd, const struct vdirt_layout *l)
{
	uint64_t chunks = (l->nr_clusters + VDIRT_MERKLE_CHUNK - 1) >> VDIRT_MERKLE_CHUNK_SHIFT;
	uint8_t blk[VDIRT_META_BLOCK_SIZE];
	uint64_t b, bits, i;
	int r;

	/* every chunk changed: the first root computes every node */
	for (b = 0; (l->flags & VDIRT_LAYOUT_MERKLE) && b < l->merkle_bitmap_blocks; b++) {
		bits = chunks - b * VDIRT_INTENT_BITS_PER_BLOCK;
		if (bits > VDIRT_INTENT_BITS_PER_BLOCK)
			bits = VDIRT_INTENT_BITS_PER_BLOCK;
		memset(blk, 0, sizeof(blk));
		memset(blk, 0xff, bits / 8);
		for (i = bits & ~7ULL; i < bits; i++)
			blk[i / 8] |= 1U << (i % 8);
		r = write_full(fd, blk, sizeof(blk), (l->merkle_start + b) * VDIRT_META_BLOCK_SIZE);
		if (r)
			return r;
	}
	return 0;
}

int vsb_unw_init(int fd, const struct vdirt_layout *l, uint64_t gen, int written)
{
	uint8_t blk[VDIRT_META_BLOCK_SIZE];
	struct vdirt_disk_unw h;
	uint64_t b, bits, i;
	int r;

	for (b = 0; (l->flags & VDIRT_LAYOUT_UNWRITTEN) && b < l->unw_blocks; b++) {
		memset(blk, 0, sizeof(blk));
		h.gen = htole64(gen);
		h.magic = htole32(VDIRT_UNW_MAGIC);
		h.reserved = 0;
		memcpy(blk, &h, sizeof(h));
		bits = l->nr_clusters - b * VDIRT_UNW_BITS_PER_BLOCK;
		if (bits > VDIRT_UNW_BITS_PER_BLOCK)
			bits = VDIRT_UNW_BITS_PER_BLOCK;
		if (written) {
			/* bits past the last cluster stay zero */
			memset(blk + VDIRT_UNW_HDR_SIZE, 0xff, bits / 8);
			for (i = bits & ~7ULL; i < bits; i++)
				blk[VDIRT_UNW_HDR_SIZE + i / 8] |= 1U << (i % 8);
		}
		r = write_full(fd, blk, sizeof(blk), (l->unw_start + b) * VDIRT_META_BLOCK_SIZE);
		if (r)
			return r;
	}
	return 0;
}

int vsb_upgrade(int fd, uint64_t dev_bytes, struct vsb *sb, uint64_t *need)
{
	uint8_t buf[2 * VDIRT_META_BLOCK_SIZE], blk[VDIRT_META_BLOCK_SIZE];
	struct vdirt_disk_sb d;
	struct vdirt_layout l;
	uint32_t flags, epochs;
	char msg[160];
	uint64_t seq, b;
	int r, i;

	r = read_full(fd, buf, sizeof(buf), 0);
	if (r)
		return r;
	r = vsb_parse(buf, sb, msg, sizeof(msg));
	if (r <= 0)
		return r ? r : -ENODATA;
	/* every optional region this version knows; the entries stay as they are */
	flags = sb->layout.flags | VDIRT_LAYOUT_STAGING | VDIRT_LAYOUT_EPOCHS |
		VDIRT_LAYOUT_WRITESETS | VDIRT_LAYOUT_CHAIN | VDIRT_LAYOUT_HISTORY |
		VDIRT_LAYOUT_MERKLE | VDIRT_LAYOUT_UNWRITTEN;
	if (flags == sb->layout.flags)
		return -EALREADY;
	epochs = sb->epochs ? sb->epochs : VDIRT_EPOCHS_DEFAULT;
	if (vdirt_layout_compute(sb->data_sectors, sb->cluster_size,
				 sb->digest_size, flags, epochs, &l))
		return -EBADMSG;
	*need = l.total_blocks * VDIRT_META_BLOCK_SIZE;
	if (dev_bytes < *need)
		return -ENOSPC;
	/* a new epoch table reads as empty (write sets are tagged per block) */
	memset(blk, 0, sizeof(blk));
	for (b = 0; !(sb->layout.flags & VDIRT_LAYOUT_EPOCHS) && b < l.epoch_blocks; b++) {
		r = write_full(fd, blk, sizeof(blk), (l.epoch_start + b) * VDIRT_META_BLOCK_SIZE);
		if (r)
			return r;
	}
	if (!(sb->layout.flags & VDIRT_LAYOUT_MERKLE)) {
		r = vsb_merkle_init(fd, &l);
		if (r)
			return r;
	}
	if (!(sb->layout.flags & VDIRT_LAYOUT_UNWRITTEN)) {
		r = vsb_unw_init(fd, &l, sb->unw_gen, 1);
		if (r)
			return r;
	}
	/* the new regions are on the device before a superblock names them */
	if (fsync(fd))
		return -errno;
	/*
	 * The newest copy, with the new regions added after the last one
	 * (every other region stays where it is), written as the next two
	 * sequence numbers: a crash in between leaves one valid copy of
	 * either version.  The epoch table starts with the next activation's
	 * epoch, the hash chain with the next record.
	 */
	memcpy(&d, buf + sb->copy * VDIRT_META_BLOCK_SIZE, sizeof(d));
	if (!(sb->layout.flags & VDIRT_LAYOUT_EPOCHS))
		d.epoch_first = htole64(sb->epoch + 1);
	if (!(sb->layout.flags & VDIRT_LAYOUT_CHAIN)) {
		d.chain_start = d.log_head;
		memset(d.log_hash, 0, sizeof(d.log_hash));
	}
	vdirt_sb_set_layout(&d, &l, sb->data_sectors, sb->cluster_size,
			    sb->digest_size, sb->hash_name);
	for (i = 1; i <= 2; i++) {
		seq = sb->seq + i;
		d.seq = htole64(seq);
		d.csum = 0;
		memset(blk, 0, sizeof(blk));
		memcpy(blk, &d, sizeof(d));
		d.csum = htole32(vsb_csum(blk));
		memcpy(blk, &d, sizeof(d));
		r = write_full(fd, blk, sizeof(blk), (seq & 1) * VDIRT_META_BLOCK_SIZE);
		if (!r && fsync(fd))
			r = -errno;
		if (r)
			return r;
	}
	r = read_full(fd, buf, sizeof(buf), 0);
	if (r)
		return r;
	r = vsb_parse(buf, sb, msg, sizeof(msg));
	return r == 1 && sb->version == VDIRT_FORMAT_VERSION && sb->layout.flags == flags ?
	       0 : -EIO;
}

/* chunk of the verified zeroing: read, check, rewrite, read again */
#define ZERO_CHUNK	(1U << 20)

/* what the device holds now, not the page cache: flush and drop it */
static int drop_cache(int fd, off_t off, size_t len)
{
	if (fsync(fd))
		return -errno;
	posix_fadvise(fd, off, len, POSIX_FADV_DONTNEED);
	return 0;
}

int vsb_zero_verified(int fd, const char *path, uint64_t len, uint64_t *fixed,
		      uint64_t *bad_off)
{
	uint8_t *buf = NULL;
	uint64_t off;
	int rfd, r = 0, pass;
	size_t n;

	*fixed = 0;
	/* read back with O_DIRECT where the file allows it */
	rfd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (rfd < 0)
		rfd = fd;
	if (posix_memalign((void **)&buf, 4096, ZERO_CHUNK)) {
		r = -ENOMEM;
		goto out;
	}
	r = drop_cache(fd, 0, len);
	for (off = 0; !r && off < len; off += n) {
		n = len - off < ZERO_CHUNK ? len - off : ZERO_CHUNK;
		for (pass = 0; ; pass++) {
			r = read_full(rfd, buf, n, off);
			if (r)
				break;
			if (all_zero(buf, n))
				break;
			if (pass) {
				*bad_off = off;
				r = -EILSEQ;
				break;
			}
			(*fixed)++;
			memset(buf, 0, n);
			r = write_full(fd, buf, n, off);
			if (!r)
				r = drop_cache(fd, off, n);
			if (r)
				break;
		}
	}
out:
	free(buf);
	if (rfd != fd)
		close(rfd);
	return r;
}
