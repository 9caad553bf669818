// SPDX-License-Identifier: GPL-2.0
/* parsing helpers, exit codes, the metadata superblock, meta-size formula */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>
#include "tap.h"
#include "util.h"
#include "cmd.h"
#include "sb.h"
#include "tab.h"

/*
 * The written bitmap of l on fd, byte by byte: each block's header (gen,
 * "VDUW", reserved 0), the bit of every cluster set, the bits past the
 * last cluster clear.
 */
static int unw_all_written(int fd, const struct vdirt_layout *l, uint64_t gen)
{
	uint8_t b[VDIRT_META_BLOCK_SIZE];
	uint64_t blk, bits, i;

	if (!l->unw_blocks || l->unw_blocks != (l->nr_clusters + 32639) / 32640)
		return 0;
	for (blk = 0; blk < l->unw_blocks; blk++) {
		if (read_full(fd, b, sizeof(b), (l->unw_start + blk) * 4096))
			return 0;
		for (i = 0; i < 8; i++)
			if (b[i] != (uint8_t)(gen >> (8 * i)))
				return 0;
		if (memcmp(b + 8, "VDUW", 4) || b[12] || b[13] || b[14] || b[15])
			return 0;
		bits = l->nr_clusters - blk * 32640;
		if (bits > 32640)
			bits = 32640;
		for (i = 0; i < 32640; i++)
			if (!!(b[16 + i / 8] & (1U << (i % 8))) != (i < bits))
				return 0;
	}
	return 1;
}

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
	OK(parse_u64("0x10", &v) == -EINVAL && parse_u64("1 ", &v) && parse_u64("-2", &v) &&
	   parse_u64("+2", &v) && parse_u64(" 2", &v) && parse_u64("", &v) && parse_u64("1e3", &v),
	   "parse_u64 refuses hex, signs, spaces, exponents, empty");
	OK(!parse_u64("010", &v) && v == 10 && !parse_u64("08", &v) && v == 8 &&
	   !parse_u64("0", &v) && v == 0, "parse_u64 is decimal: 010 is ten, 08 is eight");
	OK(parse_u64("99999999999999999999", &v) == -ERANGE &&
	   !parse_u64("18446744073709551615", &v) && v == UINT64_MAX, "parse_u64 range");
	OK(parse_size("1.5G", &v) == -EINVAL && parse_size("0x1000", &v) == -EINVAL &&
	   !parse_size("010K", &v) && v == 10240, "parse_size: decimal, no fractions");
	{
		char dir[] = "/tmp/vdirt-parse-XXXXXX", p[64];
		int a, b, c;

		OK(mkdtemp(dir) != NULL, "a temporary directory");
		snprintf(p, sizeof(p), "%s/new", dir);
		OK(vout_check(p) == 0, "vout_check: a new path may be written");
		a = open(p, O_CREAT | O_RDWR, 0600);
		OK(vout_check(p) == 0, "vout_check: a regular file may be replaced");
		OK(vout_check(dir) == -EINVAL, "vout_check: a directory is refused");
		OK(vout_check("/dev/null") == -EINVAL, "vout_check: a device node is refused");
		snprintf(p, sizeof(p), "%s/link", dir);
		OK(!symlink("new", p) && vout_check(p) == -EINVAL, "vout_check: a symlink is refused");
		snprintf(p, sizeof(p), "%s/fifo", dir);
		OK(!mkfifo(p, 0600) && vout_check(p) == -EINVAL, "vout_check: a FIFO is refused");
		snprintf(p, sizeof(p), "%s/new", dir);
		b = open(p, O_RDONLY);
		snprintf(p, sizeof(p), "%s/other", dir);
		c = open(p, O_CREAT | O_RDWR, 0600);
		OK(vsame_file(a, b) == 1 && vsame_file(a, c) == 0,
		   "vsame_file: the same inode twice, two files");
		close(a);
		close(b);
		close(c);
		unlink(p);
		snprintf(p, sizeof(p), "%s/new", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/link", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/fifo", dir);
		unlink(p);
		rmdir(dir);
	}
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
	OK(errno_to_exit(-ENOPKG) == EXIT_NOENT, "no device-mapper -> exit 4");
	OK(EXIT_CHECK_DEGRADED != EXIT_FAIL && EXIT_CHECK_DEGRADED != EXIT_USAGE &&
	   EXIT_CHECK_INVALID != EXIT_FAIL && EXIT_CHECK_INVALID != EXIT_USAGE &&
	   EXIT_CHECK_DEGRADED > EXIT_INTR && EXIT_CHECK_INVALID > EXIT_CHECK_DEGRADED,
	   "check's exit codes are its own");
	/* meta-size formula (dm-vdirt-format.h) */
	/*
	 * 262144 clusters; packed 80-byte entries, 51 a block: 2 + 5141 + 1 +
	 * 256 + 16 blocks, then the staging area: 262144 * 32 bytes = 2048 blocks,
	 * the epoch table (16 epochs, 1 block), 16 write sets of
	 * ceil(262144 / 32640) = 9 blocks and the digest history, 262144 / 1024,
	 * then the tree: 1 bitmap block, levels 7..18 of 2048, 1024, .. 1 nodes
	 * in 16 + 8 + 4 + 2 + 1 + 7 blocks, then the written bitmap:
	 * ceil(262144 / 32640) = 9 blocks
	 */
	OK(vdirt_meta_size(2097152, 4096, 32) == (7464 + 1 + 144 + 256 + 39 + 9) * 4096ULL,
	   "meta size: 1 GiB, 4 KiB clusters, sha256 (packed 80-byte entries, staging, epochs)");
	OK(vdirt_meta_size_of(2097152, 4096, 32, VDIRT_LAYOUT_1_4, 0) == 7464 * 4096ULL,
	   "meta size: the same without epochs (as 1.4 formats)");
	OK(vdirt_meta_size_of(2097152, 4096, 32, VDIRT_LAYOUT_1_5, 16) ==
	   (7464 + 1 + 144 + 256) * 4096ULL,
	   "meta size: the same without the tree (as 1.5 formats)");
	{
		struct vdirt_layout l;
		uint32_t off;

		OK(!vdirt_layout_compute(2097152, 4096, 32, VDIRT_LAYOUT_DEFAULT, 16, &l) &&
		   l.merkle_height == 18 && l.merkle_start == 7865 && l.merkle_bitmap_blocks == 1 &&
		   l.merkle_blocks == 39 &&
		   vdirt_merkle_node_block(&l, 7, 0, &off) == 7866 && !off &&
		   vdirt_merkle_node_block(&l, 7, 2047, &off) == 7866 + 15 && off == 127 * 32 &&
		   vdirt_merkle_node_block(&l, 8, 1, &off) == 7866 + 16 && off == 32 &&
		   vdirt_merkle_node_block(&l, 18, 0, &off) == 7904 - 1 && !off,
		   "tree: height 18, bitmap at 7865, level 7 at 7866 (16 blocks), root at the last block");
		OK(vdirt_merkle_height(1) == 7 && vdirt_merkle_height(128) == 7 &&
		   vdirt_merkle_height(129) == 8 && vdirt_merkle_height(1ULL << 40) == 40 &&
		   vdirt_merkle_level_nodes(129, 7) == 2 && vdirt_merkle_level_nodes(129, 8) == 1,
		   "tree heights and level sizes");
	}
	{
		struct vdirt_layout l;
		uint32_t bit;

		OK(!vdirt_layout_compute(2097152, 4096, 32, VDIRT_LAYOUT_DEFAULT, 100, &l) &&
		   l.epoch_start == 7464 && l.epoch_blocks == 7 && l.wset_start == 7471 &&
		   l.wset_slot_blocks == 9 && l.wset_blocks == 900 && l.hist_start == 8371 &&
		   l.hist_blocks == 256 && l.hist_per_block == 85 && l.merkle_start == 8627 &&
		   l.unw_start == 8627 + 39 && l.unw_blocks == 9 && l.total_blocks == 8627 + 39 + 9,
		   "100 epochs: table of 7 blocks after the staging area, 100 write sets of 9 blocks, "
		   "history of 256 blocks of 85 records");
		OK(vdirt_wset_block(&l, 0, 0, &bit) == 7471 && !bit &&
		   vdirt_wset_block(&l, 101, 32640, &bit) == 7471 + 9 + 1 && !bit &&
		   vdirt_wset_block(&l, 99, 262143, &bit) == 7471 + 99 * 9 + 8 &&
		   bit == 262143 - 8 * 32640,
		   "write-set bit: slot epoch %% 100, 32640 clusters a block");
		OK(vdirt_layout_compute(2097152, 4096, 32, VDIRT_LAYOUT_DEFAULT, 1, &l) &&
		   vdirt_layout_compute(2097152, 4096, 32, VDIRT_LAYOUT_DEFAULT, 4097, &l) &&
		   vdirt_layout_compute(2097152, 4096, 32, VDIRT_LAYOUT_WRITESETS, 16, &l),
		   "epochs 1 and 4097, write sets without the epoch table: refused");
	}
	/* power of two: 128-byte entries, 32 a block: 2 + 8192 + 1 + 256 + 16 + 2048 */
	OK(vdirt_meta_size_of(2097152, 4096, 32, VDIRT_LAYOUT_STAGING, 0) == 10515 * 4096ULL,
	   "meta size: the same with power-of-two entries (128 bytes)");
	/* 24-byte entries, 170 a block: 2 + 1543 + 1 + 256 + 16, staging 256 */
	OK(vdirt_meta_size(2097152, 4096, 4) == (2074 + 145 + 256 + 39 + 9) * 4096ULL,
	   "meta size: crc32c packs 170 entries per block");
	OK(vdirt_meta_size_of(2097152, 4096, 4, VDIRT_LAYOUT_STAGING, 0) == 2579 * 4096ULL &&
	   vdirt_meta_size_of(2097152, 4096, 4, VDIRT_LAYOUT_V1, 0) == 2323 * 4096ULL &&
	   vdirt_meta_size_of(2097152, 4096, 4, VDIRT_LAYOUT_PACKED, 0) == 1818 * 4096ULL,
	   "meta size: crc32c power of two 128 a block, version 1, packed without staging");
	{
		/* entry sizes: packed to 8 bytes, power of two from 32 */
		static const uint32_t ds[] = { 1, 4, 8, 20, 32, 48, 64 };
		static const uint32_t pk[] = { 24, 24, 32, 56, 80, 112, 144 };
		static const uint32_t p2[] = { 32, 32, 32, 64, 128, 128, 256 };
		struct vdirt_layout l;
		int i, good = 1, fits = 1;
		uint32_t d, off;
		uint64_t b;

		for (i = 0; i < 7; i++)
			good &= vdirt_entry_size(ds[i], 1) == pk[i] &&
				vdirt_entry_size(ds[i], 0) == p2[i];
		OK(good, "entry sizes: packed 24..144, power of two 32..256");
		/* no entry straddles a block, in either layout, for every digest size */
		for (d = 1; d <= VDIRT_MAX_DIGEST_SIZE; d++)
			for (i = 0; i < 2; i++) {
				vdirt_layout_compute(2097152, 4096, d,
						     i ? VDIRT_LAYOUT_DEFAULT : VDIRT_LAYOUT_V1, 16,
						     &l);
				b = vdirt_entry_block(&l, l.entries_per_block - 1, &off);
				fits &= b == l.entries_start && off + l.entry_size <= 4096 &&
					off + 2 * l.entry_size > 4096 &&
					l.entry_size >= VDIRT_ENTRY_HDR_SIZE + 2 * d &&
					!(l.entry_size % 8) &&
					vdirt_entry_block(&l, l.entries_per_block, &off) ==
						l.entries_start + 1 && !off;
			}
		OK(fits, "every digest size: the last entry of a block fits, the next starts a block");
		vdirt_compute_layout(2097152, 4096, 32, &l);
		OK(vdirt_entry_block(&l, 0, &off) == 2 && !off &&
		   vdirt_entry_block(&l, 50, &off) == 2 && off == 4000 &&
		   vdirt_entry_block(&l, 51, &off) == 3 && !off &&
		   vdirt_entry_block(&l, 262143, &off) == 2 + 5140 && off == 240 &&
		   vdirt_entry_block(&l, 262143, NULL) == 5142 && l.entries_blocks == 5141,
		   "packed sha256: cluster 50 at byte 4000 of block 2, 51 at block 3, the last at 5142");
		vdirt_layout_compute(2097152, 4096, 32, VDIRT_LAYOUT_STAGING, 0, &l);
		OK(vdirt_entry_block(&l, 31, &off) == 2 && off == 31 * 128 &&
		   vdirt_entry_block(&l, 32, &off) == 3 && !off &&
		   vdirt_entry_block(&l, 262143, &off) == 8193 && off == 31 * 128,
		   "power of two sha256: 32 entries a block");
	}
	OK(vdirt_meta_size(2097152, 3000, 32) == 0 && vdirt_meta_size(2097152, 4096, 65) == 0 &&
	   vdirt_meta_size(2097152, 256, 32) == 0, "meta size refuses bad parameters");
	/* superblock */
	memset(blk, 0, sizeof(blk));
	OK(vsb_parse(blk, &sb, msg, sizeof(msg)) == 0, "all-zero metadata is unformatted");
	OK(!vsb_build(blk, 2097152, 4096, "sha256", 32, VDIRT_LAYOUT_DEFAULT, 16, uuid, 99, 1) &&
	   !vsb_build(blk + VDIRT_META_BLOCK_SIZE, 2097152, 4096, "sha256", 32,
		      VDIRT_LAYOUT_DEFAULT, 16, uuid, 99, 2),
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
	   sb.total_blocks == 7913 && sb.layout.unw_start == 7904 && sb.layout.unw_blocks == 9 &&
	   !sb.unw_gen && sb.epochs == 16 && sb.epoch_first == 1 &&
	   sb.ro_compat == (VDIRT_FEATURE_RO_COMPAT_EPOCHS | VDIRT_FEATURE_RO_COMPAT_WRITESETS |
			    VDIRT_FEATURE_RO_COMPAT_CHAIN | VDIRT_FEATURE_RO_COMPAT_HISTORY |
			    VDIRT_FEATURE_RO_COMPAT_MERKLE) && sb.version == 2 && sb.staging_start == 5416 &&
	   sb.staging_blocks == 2048 && (sb.compat & VDIRT_FEATURE_COMPAT_STAGING) &&
	   sb.incompat == (VDIRT_FEATURE_INCOMPAT_PACKED | VDIRT_FEATURE_INCOMPAT_UNWRITTEN) &&
	   sb.entry_size == 80,
	   "superblock parsed back: copy A, seq 2, version 2, staging area, packed entries, "
	   "written bitmap of 9 blocks at 7904");
	{
		/* feature_incompat: PACKED must match the layout; unknown bits refuse */
		uint8_t t[2 * VDIRT_META_BLOCK_SIZE];
		struct vdirt_disk_sb d;
		int i, r[3];

		for (i = 0; i < 3; i++) {
			memcpy(t, blk, sizeof(t));
			memcpy(&d, t, sizeof(d));
			d.feature_incompat = htole32(i == 0 ? VDIRT_FEATURE_INCOMPAT_UNWRITTEN :
						     i == 1 ? 7 : 4);
			memcpy(t, &d, sizeof(d));
			d.csum = htole32(vsb_csum(t));
			memcpy(t, &d, sizeof(d));
			memset(t + VDIRT_META_BLOCK_SIZE, 0, VDIRT_META_BLOCK_SIZE);
			r[i] = vsb_parse(t, &sb, msg, sizeof(msg));
			if (i == 0)
				OK(r[0] < 0 && strstr(msg, "inconsistent layout"),
				   "packed entries without the PACKED bit: refused (%s)", msg);
		}
		OK(r[1] == -EPROTONOSUPPORT && strstr(msg, "0x4") && r[2] == -EPROTONOSUPPORT,
		   "an unknown incompat bit (0x4) refuses, with or without PACKED (%s)", msg);
		OK(!vsb_build(t, 2097152, 4096, "sha256", 32, VDIRT_LAYOUT_STAGING, 0, uuid, 9, 2),
		   "an unpacked version 2 superblock (as 1.3 formats) built");
		memset(t + VDIRT_META_BLOCK_SIZE, 0, VDIRT_META_BLOCK_SIZE);
		OK(vsb_parse(t, &sb, msg, sizeof(msg)) == 1 && sb.version == 2 && !sb.incompat &&
		   sb.entry_size == 128 && sb.total_blocks == 10515 && sb.staging_start == 8467,
		   "... parses: version 2, no incompat bit, 128-byte entries, 10515 blocks");
		memcpy(&d, t, sizeof(d));
		d.feature_incompat = htole32(VDIRT_FEATURE_INCOMPAT_PACKED);
		d.csum = 0;
		memcpy(t, &d, sizeof(d));
		d.csum = htole32(vsb_csum(t));
		memcpy(t, &d, sizeof(d));
		OK(vsb_parse(t, &sb, msg, sizeof(msg)) < 0 && strstr(msg, "inconsistent layout"),
		   "power-of-two entries with the PACKED bit: refused (%s)", msg);
	}
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
		vdirt_layout_compute(2097152, 4096, 32, VDIRT_LAYOUT_V1, 0, &l);
		vdirt_sb_set_layout(&d, &l, 2097152, 4096, 32, "sha256");
		d.csum = 0;
		memcpy(v1, &d, sizeof(d));
		d.csum = htole32(vsb_csum(v1));
		memcpy(v1, &d, sizeof(d));
		OK(vsb_parse(v1, &sb, msg, sizeof(msg)) == 1 && sb.copy == 0 && sb.version == 1 &&
		   sb.total_blocks == 8467 && !sb.staging_blocks && le32toh(d.version) == 1 &&
		   !d.feature_incompat && sb.entry_size == 128,
		   "a version 1 superblock parses: no staging area, 128-byte entries, 8467 blocks");
		{
			struct vdirt_disk_sb p = d;
			uint8_t t[2 * VDIRT_META_BLOCK_SIZE];

			p.feature_incompat = htole32(VDIRT_FEATURE_INCOMPAT_PACKED);
			p.csum = 0;
			memset(t, 0, sizeof(t));
			memcpy(t, &p, sizeof(p));
			p.csum = htole32(vsb_csum(t));
			memcpy(t, &p, sizeof(p));
			OK(vsb_parse(t, &sb, msg, sizeof(msg)) < 0 && strstr(msg, "layout"),
			   "version 1 with the PACKED bit: refused (%s)", msg);
		}
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
		OK(vsb_upgrade(fd, 10963 * 4096ULL, &sb, &need) == -ENOSPC && need == 10964 * 4096ULL,
		   "upgrade refused on a device too small for the staging area and epochs");
		/*
		 * ... + the tree: a bitmap block and 38 node blocks (C = 262144),
		 * + the written bitmap (9 blocks)
		 */
		OK(!vsb_upgrade(fd, 10964 * 4096ULL, &sb, &need) && sb.version == 2 &&
		   sb.seq == 4 && sb.staging_start == 8467 && sb.staging_blocks == 2048 &&
		   sb.entry_size == 128 && sb.epochs == 16 &&
		   sb.layout.epoch_start == 10515 && sb.layout.wset_start == 10516 &&
		   sb.layout.hist_start == 10660 && sb.layout.merkle_start == 10916 &&
		   sb.layout.merkle_blocks == 39 && sb.layout.merkle_bitmap_blocks == 1 &&
		   sb.layout.unw_start == 10955 && sb.layout.unw_blocks == 9 &&
		   sb.incompat == VDIRT_FEATURE_INCOMPAT_UNWRITTEN &&
		   sb.epoch_first == sb.epoch + 1 && sb.chain_start == sb.log_head &&
		   !memcmp(sb.uuid, uuid, 3),
		   "upgrade: version 2, seq 4, staging at 8467, epochs at 10515, written bitmap at "
		   "10955, entries left power of two");
		OK(unw_all_written(fd, &sb.layout, 0), "upgrade from version 1: every cluster written");
		OK(vsb_upgrade(fd, 10964 * 4096ULL, &sb, &need) == -EALREADY,
		   "upgrade again: already has every region");
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
	{
		/*
		 * What dm-vdirt 1.6 formats (VDIRT_LAYOUT_1_6: no written bitmap),
		 * 100000 clusters: upgrade adds ceil(100000 / 32640) = 4 blocks
		 * after the tree, nothing else moves.
		 */
		uint8_t t[2 * VDIRT_META_BLOCK_SIZE], z[VDIRT_META_BLOCK_SIZE];
		char path[] = "/tmp/vdirt-test-upgrade16-XXXXXX";
		struct vdirt_layout l16;
		uint64_t need = 0, old_total;
		struct vsb old;
		int fd, same = 1;

		vdirt_layout_compute(800000, 4096, 32, VDIRT_LAYOUT_1_6, 16, &l16);
		OK(!vsb_build(t, 800000, 4096, "sha256", 32, VDIRT_LAYOUT_1_6, 16, uuid, 5, 2) &&
		   !vsb_build(t + VDIRT_META_BLOCK_SIZE, 800000, 4096, "sha256", 32,
			      VDIRT_LAYOUT_1_6, 16, uuid, 5, 1) &&
		   vsb_parse(t, &old, msg, sizeof(msg)) == 1 &&
		   old.incompat == VDIRT_FEATURE_INCOMPAT_PACKED && !old.layout.unw_blocks,
		   "a 1.6 superblock: packed, no written bitmap");
		old_total = old.total_blocks;
		fd = mkstemp(path);
		/* stale bytes where the bitmap goes: upgrade writes every byte of it */
		memset(z, 0xa5, sizeof(z));
		OK(fd >= 0 && !write_full(fd, t, sizeof(t), 0) &&
		   !ftruncate(fd, (old_total + 4) * 4096LL) &&
		   !write_full(fd, z, sizeof(z), (old_total + 2) * 4096LL),
		   "a 1.6 metadata file of %llu blocks", (unsigned long long)old_total);
		OK(vsb_upgrade(fd, (old_total + 3) * 4096ULL, &sb, &need) == -ENOSPC &&
		   need == (old_total + 4) * 4096ULL, "upgrade of 1.6: one block short, refused");
		OK(!vsb_upgrade(fd, (old_total + 4) * 4096ULL, &sb, &need) && sb.seq == 4 &&
		   sb.incompat == (VDIRT_FEATURE_INCOMPAT_PACKED | VDIRT_FEATURE_INCOMPAT_UNWRITTEN) &&
		   sb.layout.unw_start == old_total && sb.layout.unw_blocks == 4 && !sb.unw_gen &&
		   sb.total_blocks == old_total + 4 && sb.layout.flags == VDIRT_LAYOUT_DEFAULT,
		   "upgrade of 1.6: the written bitmap at block %llu, 4 blocks, generation 0",
		   (unsigned long long)old_total);
		same = sb.layout.entries_start == l16.entries_start &&
		       sb.layout.staging_start == l16.staging_start &&
		       sb.layout.epoch_start == l16.epoch_start &&
		       sb.layout.wset_start == l16.wset_start &&
		       sb.layout.hist_start == l16.hist_start &&
		       sb.layout.merkle_start == l16.merkle_start &&
		       sb.epoch_first == old.epoch_first && sb.chain_start == old.chain_start;
		OK(same, "upgrade of 1.6: every other region where it was, epochs and chain kept");
		OK(unw_all_written(fd, &sb.layout, 0),
		   "upgrade of 1.6: each block gen 0, VDUW, 32640 bits set (1024 in the last), the rest zero");
		OK(vsb_upgrade(fd, (old_total + 4) * 4096ULL, &sb, &need) == -EALREADY,
		   "upgrade of 1.6 again: already has every region");
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
	{
		uint64_t pos = 9, total = 9;

		OK(vpurge_parse("-", &pos, &total) == 0 &&
		   vpurge_parse("12/100", &pos, &total) == 1 && pos == 12 && total == 100 &&
		   vpurge_parse("0/0", &pos, &total) == 1 && !pos && !total &&
		   vpurge_parse("5/4", &pos, &total) < 0 && vpurge_parse("", &pos, &total) < 0 &&
		   vpurge_parse("1/", &pos, &total) < 0 && vpurge_parse("/1", &pos, &total) < 0 &&
		   vpurge_parse("x/2", &pos, &total) < 0 && vpurge_parse("1/2/3", &pos, &total) < 0,
		   "status purge=: '-' idle, POS/TOTAL, anything else refused");
	}
	{
		struct vtab_entry *e = calloc(1, sizeof(*e));
		char why[128];

		OK(e && vtab_parse_line("g0 /dev/a /dev/b zero-unwritten,fail-open", e, why,
					sizeof(why)) == 1 && e->zero_unwritten && e->fail_open &&
		   vtab_parse_line("g0 /dev/a /dev/b fail-open", e, why, sizeof(why)) == 1 &&
		   !e->zero_unwritten &&
		   vtab_parse_line("g0 /dev/a /dev/b zero_unwritten", e, why, sizeof(why)) < 0,
		   "vdirttab: zero-unwritten (the table argument's dashed spelling, as fail-open)");
		OK(vtab_parse_line("g0 /dev/a /dev/b fail-open", e, why, sizeof(why)) == 1 &&
		   e->write_back == -1 &&
		   vtab_parse_line("g0 /dev/a /dev/b write-back=64", e, why, sizeof(why)) == 1 &&
		   e->write_back == 64 &&
		   vtab_parse_line("g0 /dev/a /dev/b write-back=0", e, why, sizeof(why)) == 1 &&
		   !e->write_back &&
		   vtab_parse_line("g0 /dev/a /dev/b write-back=257", e, why, sizeof(why)) < 0 &&
		   strstr(why, "0..256") &&
		   vtab_parse_line("g0 /dev/a /dev/b write-back=", e, why, sizeof(why)) < 0 &&
		   vtab_parse_line("g0 /dev/a /dev/b write_back:8", e, why, sizeof(why)) < 0,
		   "vdirttab: write-back=N (0..256; none: -1, not given to the table)");
		free(e);
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
		     VDIRT_LAYOUT_DEFAULT, 16, uuid, 1, 1) == -EINVAL, "overlong hash name refused");
	TAP_DONE();
}
