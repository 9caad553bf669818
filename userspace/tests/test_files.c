// SPDX-License-Identifier: GPL-2.0
/*
 * lib/files.c's map and search (no libtsk needed): lookups of a small
 * hand-made map (file offsets, clipping at the file size, labels joined,
 * unallocated, merging a file's two runs), then a random map with
 * overlapping ranges checked against a brute-force scan.  The filesystem
 * walks are checked against debugfs/mtools/ntfs-3g in files.sh.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "files.h"

/* a brute-force answer: the files overlapping [a, b) as "path@off+len;" text */
static void brute(const struct vfiles_range *r, size_t n, const struct vfiles_owner *f,
		  const uint64_t *sz, uint64_t a, uint64_t b, char *out, size_t outlen)
{
	/* per file: the union of its pieces (they are contiguous in the test data) */
	size_t i, k;

	out[0] = 0;
	for (k = 0; k < 64; k++) {
		uint64_t lo = UINT64_MAX, hi = 0;

		for (i = 0; i < n; i++) {
			uint64_t s, e, fo, fl;

			if (r[i].fidx != (int64_t)k || r[i].end <= a || r[i].start >= b)
				continue;
			s = r[i].start > a ? r[i].start : a;
			e = r[i].end < b ? r[i].end : b;
			fo = r[i].foff + (s - r[i].start);
			fl = e - s;
			fl = fo >= sz[k] ? 0 : (fl < sz[k] - fo ? fl : sz[k] - fo);
			if (fo < lo)
				lo = fo;
			if (fo + fl > hi)
				hi = fo + fl;
		}
		if (lo != UINT64_MAX)
			snprintf(out + strlen(out), outlen - strlen(out), "%s@%llu+%llu;", f[k].path,
				 (unsigned long long)lo, (unsigned long long)(hi - lo));
	}
}

static void got(const struct vfiles_result *res, char *out, size_t outlen)
{
	size_t i;

	out[0] = 0;
	for (i = 0; i < res->nfiles; i++)
		snprintf(out + strlen(out), outlen - strlen(out), "%s@%llu+%llu;", res->files[i].path,
			 (unsigned long long)res->files[i].offset,
			 (unsigned long long)res->files[i].length);
}

int main(void)
{
	static const struct vfiles_owner files[] = {
		{ "/a", 12, 0, 0 }, { "/b", 13, 0, 0 }, { "/dir/", 2, 0, 0 },
	};
	static const uint64_t sizes[] = { 10000, 4096, 4096 };
	static const struct vfiles_range map[] = {
		{ 0, 4096, -1, 0, "superblock", 0 },
		{ 4096, 8192, -1, 0, "inode table", 0 },
		{ 8192, 16384, 0, 0, NULL, 0 },		/* /a bytes 0-8191 */
		{ 16384, 20480, 2, 0, "directory", 0 },
		{ 20480, 24576, 0, 8192, NULL, 0 },	/* /a bytes 8192-9999 (+ slack) */
		{ 24576, 32768, -1, 0, VFILES_UNALLOC, 0 },
		{ 32768, 34816, 1, 0, NULL, 0 },	/* /b in two runs within one cluster */
		{ 34816, 36864, 1, 2048, NULL, 0 },
	};
	struct vfiles_range rnd[400];
	struct vfiles_owner rf[64];
	uint64_t rsz[64];
	char names[64][8], a[2048], b[2048];
	struct vfiles_result res;
	struct vfiles *v;
	int i, bad = 0, r;

	TAP_START();
	r = vfiles_from_ranges(map, sizeof(map) / sizeof(map[0]), files, sizes, 3, &v);
	OK(!r, "a map from 8 ranges");
	if (r)
		TAP_DONE();
	OK(!vfiles_lookup(v, 8192, 4096, &res) && res.nfiles == 1 && !strcmp(res.files[0].path, "/a") &&
	   res.files[0].offset == 0 && res.files[0].length == 4096 && res.files[0].inode == 12 &&
	   res.allocated == 1 && !res.meta && res.block == 2 && res.blocks == 1,
	   "cluster 2: /a bytes 0-4095, block 2");
	vfiles_result_free(&res);
	OK(!vfiles_lookup(v, 12288, 4096, &res) && res.nfiles == 1 && res.files[0].offset == 4096,
	   "cluster 3: /a at offset 4096");
	vfiles_result_free(&res);
	OK(!vfiles_lookup(v, 20480, 4096, &res) && res.nfiles == 1 && res.files[0].offset == 8192 &&
	   res.files[0].length == 10000 - 8192, "cluster 5: /a's last block, clipped at its size");
	vfiles_result_free(&res);
	OK(!vfiles_lookup(v, 0, 8192, &res) && res.meta && !strcmp(res.meta, "superblock, inode table") &&
	   !res.nfiles && res.allocated == 1, "two labels in one lookup, in disk order: '%s'",
	   res.meta ? res.meta : "(null)");
	vfiles_result_free(&res);
	OK(!vfiles_lookup(v, 4096, 4096, &res) && res.meta && !strcmp(res.meta, "inode table"),
	   "an inode-table block");
	vfiles_result_free(&res);
	OK(!vfiles_lookup(v, 16384, 4096, &res) && res.meta && !strcmp(res.meta, "directory") &&
	   res.nfiles == 1 && !strcmp(res.files[0].path, "/dir/"), "a directory: label and path");
	vfiles_result_free(&res);
	OK(!vfiles_lookup(v, 24576, 4096, &res) && res.allocated == 0 && !res.nfiles && !res.meta,
	   "unallocated: allocated false, no files, no label");
	vfiles_result_free(&res);
	OK(!vfiles_lookup(v, 32768, 4096, &res) && res.nfiles == 1 && res.files[0].offset == 0 &&
	   res.files[0].length == 4096, "a file's two runs in one cluster merge into bytes 0-4095");
	vfiles_result_free(&res);
	OK(!vfiles_lookup(v, 20480, 8192, &res) && res.nfiles == 1 && res.allocated == 1,
	   "a cluster half file, half unallocated is allocated");
	vfiles_result_free(&res);
	OK(vfiles_lookup(v, 36864, 4096, &res) == -ERANGE, "past the end: -ERANGE");
	vfiles_close(v);

	/* random overlapping ranges against brute force */
	srand(16);
	for (i = 0; i < 64; i++) {
		snprintf(names[i], sizeof(names[i]), "/f%02d", i);
		rf[i].path = names[i];
		rf[i].inode = 100 + i;
		rsz[i] = 1 + rand() % 200000;
	}
	for (i = 0; i < 400; i++) {
		uint64_t s = (uint64_t)(rand() % 4000) * 512;

		rnd[i].start = s;
		rnd[i].end = s + (uint64_t)(1 + rand() % 64) * 512;
		/* one piece per file, so a file's pieces never need a merge the brute force skips */
		rnd[i].fidx = i < 64 ? i : -1;
		rnd[i].foff = (uint64_t)(rand() % 100) * 512;
		rnd[i].label = i < 64 ? NULL : (i % 2 ? "meta" : VFILES_UNALLOC);
		rnd[i].part = 0;
	}
	r = vfiles_from_ranges(rnd, 400, rf, rsz, 64, &v);
	OK(!r, "a random map of 400 ranges (64 files)");
	for (i = 0; !r && i < 3000; i++) {
		uint64_t off = (uint64_t)(rand() % 4000) * 512, len = 4096;

		if (off >= vfiles_size(v))
			continue;
		if (off + len > vfiles_size(v))
			len = vfiles_size(v) - off;
		brute(rnd, 64, rf, rsz, off, off + len, a, sizeof(a));
		if (vfiles_lookup(v, off, len, &res)) {
			bad++;
			continue;
		}
		got(&res, b, sizeof(b));
		if (strcmp(a, b)) {
			if (!bad)
				printf("# at %llu: want %s got %s\n", (unsigned long long)off, a, b);
			bad++;
		}
		vfiles_result_free(&res);
	}
	OK(!r && !bad, "3000 random lookups agree with a brute-force scan (%d differ)", bad);
	vfiles_close(v);
	TAP_DONE();
}
