// SPDX-License-Identifier: GPL-2.0
/* parsing helpers, exit codes, the metadata superblock, meta-size formula */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>
#include "tap.h"
#include "util.h"
#include "cmd.h"
#include "sb.h"

int main(void)
{
	uint64_t v = 0;
	char out[64];
	uint8_t blk[2 * VDIRT_META_BLOCK_SIZE], uuid[16] = { 1, 2, 3 };
	struct vsb sb;
	char msg[128];
	const char *st = "state=ok mode=audit clusters=16384 measured=3 scan=- read_mismatches=7";

	TAP_START();
	OK(!parse_size("4096", &v) && v == 4096, "parse_size plain");
	OK(!parse_size("4k", &v) && v == 4096 && !parse_size("64KiB", &v) && v == 65536,
	   "parse_size K/KiB");
	OK(!parse_size("1G", &v) && v == 1ULL << 30 && !parse_size("8s", &v) && v == 4096,
	   "parse_size G, sectors");
	OK(parse_size("", &v) && parse_size("-1", &v) && parse_size("4x", &v) &&
	   parse_size("k", &v) && parse_size("99999999999999999999", &v) &&
	   parse_size("20000000T", &v) == -ERANGE, "parse_size rejects junk and overflow");
	OK(!parse_u64("0x10", &v) && v == 16 && parse_u64("1 ", &v) && parse_u64("-2", &v),
	   "parse_u64");
	OK(!status_get(st, "mode", out, sizeof(out)) && !strcmp(out, "audit"), "status_get middle");
	OK(!status_get(st, "read_mismatches", out, sizeof(out)) && !strcmp(out, "7") &&
	   !status_get(st, "scan", out, sizeof(out)) && !strcmp(out, "-"), "status_get last, dash");
	OK(status_get(st, "clust", out, sizeof(out)) == -ENOENT &&
	   status_get(st, "missing", out, sizeof(out)) == -ENOENT, "status_get needs whole keys");
	OK(!unhex((uint8_t *)out, 2, "a0Ff") && (uint8_t)out[0] == 0xa0 && (uint8_t)out[1] == 0xff &&
	   unhex((uint8_t *)out, 2, "a0F") && unhex((uint8_t *)out, 2, "a0Fg"), "unhex");
	OK(errno_to_exit(0) == EXIT_OK && errno_to_exit(-EPERM) == EXIT_PERM &&
	   errno_to_exit(-EACCES) == EXIT_PERM && errno_to_exit(-ENODEV) == EXIT_NOENT &&
	   errno_to_exit(-EEXIST) == EXIT_BUSY && errno_to_exit(-EBADMSG) == EXIT_INVAL &&
	   errno_to_exit(-ENOSPC) == EXIT_NOSPC && errno_to_exit(-EIO) == EXIT_IO &&
	   errno_to_exit(-EOPNOTSUPP) == EXIT_NOTSUP && errno_to_exit(-EINTR) == EXIT_INTR &&
	   errno_to_exit(-E2BIG) == EXIT_FAIL, "errno -> exit code table");
	/* meta-size formula (dm-vdirt-format.h) */
	/*
	 * 262144 clusters; 128-byte entries, 32 a block: 2 + 8192 + 1 + 256 + 16
	 * blocks, then the staging area: 262144 * 32 bytes = 2048 blocks
	 */
	OK(vdirt_meta_size(2097152, 4096, 32) == 10515 * 4096ULL,
	   "meta size: 1 GiB, 4 KiB clusters, sha256 (128-byte entries, staging)");
	/* 32-byte entries, 128 a block: 2 + 2048 + 1 + 256 + 16, staging 256 */
	OK(vdirt_meta_size(2097152, 4096, 4) == 2579 * 4096ULL,
	   "meta size: crc32c packs 128 entries per block");
	OK(vdirt_meta_size(2097152, 3000, 32) == 0 && vdirt_meta_size(2097152, 4096, 65) == 0 &&
	   vdirt_meta_size(2097152, 256, 32) == 0, "meta size refuses bad parameters");
	/* superblock */
	memset(blk, 0, sizeof(blk));
	OK(vsb_parse(blk, &sb, msg, sizeof(msg)) == 0, "all-zero metadata is unformatted");
	OK(!vsb_build(blk, 2097152, 4096, "sha256", 32, uuid, 99, 1) &&
	   !vsb_build(blk + VDIRT_META_BLOCK_SIZE, 2097152, 4096, "sha256", 32, uuid, 99, 2),
	   "superblock built");
	{
		/* build put seq 1 in the first buffer: swap so that A has seq 2 as on disk */
		uint8_t t[VDIRT_META_BLOCK_SIZE];

		memcpy(t, blk, sizeof(t));
		memcpy(blk, blk + VDIRT_META_BLOCK_SIZE, sizeof(t));
		memcpy(blk + VDIRT_META_BLOCK_SIZE, t, sizeof(t));
	}
	OK(vsb_parse(blk, &sb, msg, sizeof(msg)) == 1 && sb.copy == 0 && sb.seq == 2 &&
	   sb.data_sectors == 2097152 && sb.cluster_size == 4096 && sb.digest_size == 32 &&
	   !strcmp(sb.hash_name, "sha256") && sb.nr_clusters == 262144 &&
	   sb.total_blocks == 10515 && sb.version == 2 && sb.staging_start == 8467 &&
	   sb.staging_blocks == 2048 && (sb.compat & VDIRT_FEATURE_COMPAT_STAGING),
	   "superblock parsed back: copy A, seq 2, version 2 with a staging area");
	{
		/* the same superblock as version 1 writes it: no staging area */
		struct vdirt_disk_sb d;
		struct vdirt_layout l;
		uint8_t v1[2 * VDIRT_META_BLOCK_SIZE];
		char path[] = "/tmp/vdirt-test-upgrade-XXXXXX";
		uint64_t need = 0;
		int fd;

		memcpy(v1, blk, sizeof(v1));
		memcpy(&d, v1, sizeof(d));
		vdirt_compute_layout(2097152, 4096, 32, &l);
		vdirt_layout_v1(&l);
		vdirt_sb_set_layout(&d, &l, 2097152, 4096, 32, "sha256");
		d.csum = 0;
		memcpy(v1, &d, sizeof(d));
		d.csum = htole32(vsb_csum(v1));
		memcpy(v1, &d, sizeof(d));
		OK(vsb_parse(v1, &sb, msg, sizeof(msg)) == 1 && sb.copy == 0 && sb.version == 1 &&
		   sb.total_blocks == 8467 && !sb.staging_blocks && le32toh(d.version) == 1,
		   "a version 1 superblock parses: no staging area, 8467 blocks");
		d.feature_compat = htole32(VDIRT_FEATURE_COMPAT_STAGING);
		d.csum = 0;
		memcpy(v1 + VDIRT_META_BLOCK_SIZE, &d, sizeof(d));
		d.csum = htole32(vsb_csum(v1 + VDIRT_META_BLOCK_SIZE));
		memcpy(v1 + VDIRT_META_BLOCK_SIZE, &d, sizeof(d));
		OK(vsb_parse(v1 + VDIRT_META_BLOCK_SIZE, &sb, msg, sizeof(msg)) < 0 &&
		   strstr(msg, "layout"), "version 1 with the staging bit: refused (%s)", msg);
		fd = mkstemp(path);
		OK(fd >= 0 && !write_full(fd, v1, VDIRT_META_BLOCK_SIZE, 0) &&
		   !write_full(fd, blk + VDIRT_META_BLOCK_SIZE, VDIRT_META_BLOCK_SIZE,
			       VDIRT_META_BLOCK_SIZE) &&
		   !ftruncate(fd, 8467 * 4096LL), "a version 1 metadata file of 8467 blocks");
		/* copy B (seq 1) is version 2 here: copy A (seq 2) is the newest */
		OK(vsb_upgrade(fd, 8467 * 4096ULL, &sb, &need) == -ENOSPC && need == 10515 * 4096ULL,
		   "upgrade refused on a device too small for the staging area");
		OK(!vsb_upgrade(fd, 10515 * 4096ULL, &sb, &need) && sb.version == 2 &&
		   sb.seq == 4 && sb.staging_start == 8467 && sb.staging_blocks == 2048 &&
		   !memcmp(sb.uuid, uuid, 3), "upgrade: version 2, seq 4, staging at 8467");
		OK(vsb_upgrade(fd, 10515 * 4096ULL, &sb, &need) == -EALREADY,
		   "upgrade again: already version 2");
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
	blk[100] ^= 1;
	OK(vsb_parse(blk, &sb, msg, sizeof(msg)) == 1 && sb.copy == 1 && sb.seq == 1,
	   "a corrupt copy A falls back to copy B");
	blk[VDIRT_META_BLOCK_SIZE + 200] ^= 1;
	OK(vsb_parse(blk, &sb, msg, sizeof(msg)) < 0 && strstr(msg, "checksum"),
	   "both copies corrupt: refused (%s)", msg);
	blk[100] ^= 1;
	blk[VDIRT_META_BLOCK_SIZE + 200] ^= 1;
	OK(vsb_parse(blk, &sb, msg, sizeof(msg)) == 1 && sb.copy == 0, "repaired");
	OK(vsb_csum(blk) == (uint32_t)(blk[12] | blk[13] << 8 | blk[14] << 16 |
				       (uint32_t)blk[15] << 24), "checksum field at offset 12");
	memset(blk, 0, sizeof(blk));
	memcpy(blk, "garbage!", 8);
	OK(vsb_parse(blk, &sb, msg, sizeof(msg)) < 0 && strstr(msg, "magic"), "foreign data: bad magic");
	OK(vsb_build(blk, 2097152, 4096,
		     "a-very-long-hash-name-that-does-not-fit-in-sixty-four-bytes-at-all", 32,
		     uuid, 1, 1) == -EINVAL, "overlong hash name refused");
	TAP_DONE();
}
