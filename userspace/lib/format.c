// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: format a metadata device (vformat: refuse one that holds
 * anything unless forced -- a superblock, a libblkid signature, a non-zero
 * byte in the region it overwrites --, zero it, verify the zeroing, write
 * superblock copy B then A as the kernel formats) and check one
 * offline (vcheck: both superblock copies, the one in use, the write-intent
 * bits that the next open would recover).  Prints nothing.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <blkid/blkid.h>

#include "format.h"
#include "util.h"

int vformat_cluster_ok(uint32_t cs)
{
	return cs >= VDIRT_MIN_CLUSTER_SIZE && cs <= VDIRT_MAX_CLUSTER_SIZE && !(cs & (cs - 1));
}

int vformat_without(const char *list, uint32_t *mask)
{
	static const struct { const char *name; uint32_t flag; } region[] = {
		{ "writesets", VDIRT_LAYOUT_WRITESETS },
		{ "history", VDIRT_LAYOUT_HISTORY },
		{ "tree", VDIRT_LAYOUT_MERKLE },
		{ "unwritten", VDIRT_LAYOUT_UNWRITTEN },
	};
	const char *p = list, *end;
	size_t i, n;

	*mask = 0;
	while (*p) {
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		for (i = 0; i < sizeof(region) / sizeof(region[0]); i++)
			if (strlen(region[i].name) == n && !strncmp(p, region[i].name, n))
				break;
		if (i == sizeof(region) / sizeof(region[0]))
			return -EINVAL;
		*mask |= region[i].flag;
		if (!end)
			break;
		p = end + 1;
	}
	return *mask ? 0 : -EINVAL;
}

uint32_t vformat_layout(int unpacked, uint32_t without)
{
	uint32_t l = VDIRT_LAYOUT_DEFAULT & ~without;

	return unpacked ? l & ~VDIRT_LAYOUT_PACKED : l;
}

static int zero_range(int fd, uint64_t len)
{
	uint64_t range[2] = { 0, len };
	struct stat st;
	static char zero[1 << 16];
	uint64_t off;
	int r;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode) && !ioctl(fd, BLKZEROOUT, range))
		return 0;
	if (S_ISREG(st.st_mode) &&
	    !fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, len))
		return 0;
	vlog(VLOG_DEBUG, "zeroing %" PRIu64 " bytes with writes", len);
	for (off = 0; off < len; off += sizeof(zero)) {
		size_t n = len - off < sizeof(zero) ? len - off : sizeof(zero);

		r = write_full(fd, zero, n, off);
		if (r)
			return r;
	}
	return 0;
}

/* as the kernel formats: copy B with seq 1, then copy A with seq 2 */
static int write_sbs(int mfd, uint8_t *buf, uint64_t dsize, uint32_t cs,
		     const struct vh_alg *alg, uint32_t layout, uint32_t epochs,
		     const uint8_t uuid[16])
{
	uint64_t t = now_ns();
	int r;

	r = vsb_build(buf, dsize / 512, cs, alg->name, alg->digest_size, layout, epochs, uuid,
		      t, 1);
	if (!r)
		r = vsb_build(buf + VDIRT_META_BLOCK_SIZE, dsize / 512, cs, alg->name,
			      alg->digest_size, layout, epochs, uuid, t, 2);
	if (r)
		return r;
	r = write_full(mfd, buf + VDIRT_META_BLOCK_SIZE, VDIRT_META_BLOCK_SIZE, 0);
	if (!r)
		r = write_full(mfd, buf, VDIRT_META_BLOCK_SIZE, VDIRT_META_BLOCK_SIZE);
	if (!r && fsync(mfd))
		r = -errno;
	return r;
}

/*
 * Any signature libblkid knows (a filesystem, LVM, LUKS, RAID, swap, a
 * partition table) on fd: 1 with its name in why, 0 if none, -errno.
 */
static int probe_signature(int fd, char *why, size_t n)
{
	const char *type = NULL, *kind = "";
	blkid_probe pr = blkid_new_probe();
	int r;

	if (!pr)
		return -ENOMEM;
	if (blkid_probe_set_device(pr, fd, 0, 0)) {
		r = -EIO;
		goto out;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	r = blkid_do_probe(pr);
	if (r < 0) {
		r = -EIO;
		goto out;
	}
	if (r == 1) {
		r = 0;	/* nothing found */
		goto out;
	}
	if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) &&
	    !blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL))
		kind = " partition table";
	snprintf(why, n, "a%s %s%s signature (libblkid)", type && strchr("aeiou", *type) ?
		 "n" : "", type ? type : "unknown", kind);
	r = 1;
out:
	blkid_free_probe(pr);
	return r;
}

/* the first non-zero byte of [0, len) of fd into *off: 1, 0 if all zero, -errno */
static int find_nonzero(int fd, uint64_t len, uint64_t *off)
{
	const size_t chunk = 8 << 20;
	uint64_t pos, i, n;
	uint8_t *buf = malloc(chunk);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (pos = 0; pos < len && !r; pos += n) {
		n = len - pos < chunk ? len - pos : chunk;
		r = read_full(fd, buf, n, pos);
		if (r)
			break;
		for (i = 0; i < n && !buf[i]; i++)
			;
		if (i < n) {
			*off = pos + i;
			r = 1;
		}
	}
	free(buf);
	return r;
}

int vformat(int mfd, const char *mpath, uint64_t msize, uint64_t dsize, uint32_t cs,
	    const struct vh_alg *alg, uint32_t layout, uint32_t epochs, int force,
	    struct vformat_res *res)
{
	struct vdirt_layout l;
	uint8_t *buf = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	res->step = VF_SIZE;
	if (dsize % cs)
		return -EINVAL;
	res->need = vdirt_meta_size_of(dsize / 512, cs, alg->digest_size, layout, epochs);
	if (msize < res->need)
		return -ENOSPC;
	buf = aligned_alloc(4096, 2 * VDIRT_META_BLOCK_SIZE);
	if (!buf)
		return -ENOMEM;
	res->step = VF_READ;
	r = read_full(mfd, buf, 2 * VDIRT_META_BLOCK_SIZE, 0);
	if (r)
		goto out;
	res->step = VF_EXISTS;
	r = vsb_parse(buf, &res->old, res->why, sizeof(res->why));
	if (r > 0 && !force) {
		res->existing = 1;
		r = -EEXIST;
		goto out;
	}
	if (!force) {
		/* a signature first: it names what the device holds */
		char sig[sizeof(res->why)];
		int s;

		res->step = VF_SIGNATURE;
		s = probe_signature(mfd, sig, sizeof(sig));
		if (s) {
			r = s > 0 ? -EEXIST : s;
			snprintf(res->why, sizeof(res->why), "%s", sig);
			goto out;
		}
		res->step = VF_EXISTS;
		if (r) {
			r = -EEXIST;
			goto out;
		}
		res->step = VF_NONZERO;
		r = find_nonzero(mfd, res->need, &res->bad_off);
		if (r > 0)
			r = -EEXIST;
		if (r)
			goto out;
	}
	/*
	 * Every block of the layout, the written bitmap's too: a stale VDUW
	 * block of an earlier format with generation 0 would count its
	 * clusters as written.
	 */
	vlog(VLOG_DEBUG, "zeroing %" PRIu64 " metadata bytes", res->need);
	res->step = VF_ZERO;
	r = zero_range(mfd, res->need);
	if (r)
		goto out;
	/* never trust the zeroing: stale bytes would be taken as digests */
	res->step = VF_VERIFY;
	r = vsb_zero_verified(mfd, mpath, res->need, &res->fixed, &res->bad_off);
	if (r)
		goto out;
	if (res->fixed)
		vlog(VLOG_DEBUG, "%" PRIu64 " MiB chunks were not zero after zeroing: rewritten",
		     res->fixed);
	res->step = VF_WRITE;
	if (getrandom(res->uuid, sizeof(res->uuid), 0) != sizeof(res->uuid)) {
		r = -errno;
		goto out;
	}
	if (vdirt_layout_compute(dsize / 512, cs, alg->digest_size, layout, epochs, &l)) {
		r = -EINVAL;
		goto out;
	}
	r = vsb_merkle_init(mfd, &l);
	if (!r)
		r = write_sbs(mfd, buf, dsize, cs, alg, layout, epochs, res->uuid);
out:
	free(buf);
	return r;
}

/* one copy through vsb_parse(): alone in block A, block B zero */
static void check_copy(const uint8_t *blk, struct vcheck_copy *c)
{
	static uint8_t buf[2 * VDIRT_META_BLOCK_SIZE];
	char msg[160], *p, *q;
	int r;

	memset(c, 0, sizeof(*c));
	memcpy(&c->d, blk, sizeof(c->d));
	memcpy(buf, blk, VDIRT_META_BLOCK_SIZE);
	memset(buf + VDIRT_META_BLOCK_SIZE, 0, VDIRT_META_BLOCK_SIZE);
	r = vsb_parse(buf, &c->sb, msg, sizeof(msg));
	c->valid = r > 0;
	if (!r)
		snprintf(c->why, sizeof(c->why), "all zero");
	if (r >= 0)
		return;
	/* "not a dm-vdirt superblock (copy A: WHY, copy B: ...)" */
	p = strstr(msg, "copy A: ");
	q = p ? strstr(p, ", copy B: ") : NULL;
	if (p && q) {
		*q = 0;
		p += strlen("copy A: ");
	} else {
		p = msg;
	}
	snprintf(c->why, sizeof(c->why), "%s", p);
}

static unsigned int popcount_bits(const uint8_t *p, uint64_t nbits)
{
	unsigned int n = 0;
	uint64_t i;

	for (i = 0; i < nbits; i++)
		n += (p[i / 8] >> (i % 8)) & 1;
	return n;
}

/* set bits among the first `regions` of the bitmap at blocks [start, start + blocks) */
static int count_intent(int fd, const struct vdirt_disk_sb *d, uint64_t regions,
			uint64_t *set)
{
	uint64_t start = le64toh(d->intent_start), blocks = le64toh(d->intent_blocks);
	uint8_t *blk = malloc(VDIRT_META_BLOCK_SIZE);
	uint64_t b, bits;
	int r = 0;

	if (!blk)
		return -ENOMEM;
	*set = 0;
	for (b = 0; b < blocks && regions; b++) {
		r = read_full(fd, blk, VDIRT_META_BLOCK_SIZE, (start + b) * VDIRT_META_BLOCK_SIZE);
		if (r)
			break;
		bits = regions < VDIRT_INTENT_BITS_PER_BLOCK ? regions : VDIRT_INTENT_BITS_PER_BLOCK;
		*set += popcount_bits(blk, bits);
		regions -= bits;
	}
	free(blk);
	return r;
}

int vcheck(int fd, struct vcheck *res)
{
	uint8_t *buf = malloc(2 * VDIRT_META_BLOCK_SIZE);
	const struct vcheck_copy *u;
	uint32_t per;
	int r, i;

	memset(res, 0, sizeof(*res));
	r = buf ? read_full(fd, buf, 2 * VDIRT_META_BLOCK_SIZE, 0) : -ENOMEM;
	if (r)
		goto out;
	for (i = 0; i < 2; i++)
		check_copy(buf + i * VDIRT_META_BLOCK_SIZE, &res->c[i]);
	/* as the kernel chooses: the newest valid copy, A on a tie */
	res->best = res->c[0].valid && res->c[1].valid ? res->c[1].sb.seq > res->c[0].sb.seq :
		    res->c[1].valid;
	u = &res->c[res->best];
	if (u->valid) {
		per = le32toh(u->d.intent_region_clusters);
		per = per ? per : VDIRT_INTENT_REGION_CLUSTERS;
		res->regions = (u->sb.nr_clusters + per - 1) / per;
		res->step = 1;
		r = count_intent(fd, &u->d, res->regions, &res->intent_set);
		if (r)
			goto out;
		res->clean = !!(u->sb.flags & VDIRT_SB_F_CLEAN);
	}
out:
	free(buf);
	return r;
}
