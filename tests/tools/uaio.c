// SPDX-License-Identifier: GPL-2.0
/*
 * uaio - random unaligned (512-byte granular) O_DIRECT writes and reads on a
 * block device, checked against an in-memory shadow copy.
 *
 * Usage: uaio [-n OPS] [-s SEED] [-o OFFSET] [-r REGION] [-m MAXSECTORS] [-w PERCENT] DEV
 *   OFFSET/REGION in bytes (multiples of 512; REGION default 4 MiB).
 *   Each op is a write (PERCENT %, default 60) or a read of 1..MAXSECTORS
 *   (default 8) sectors at a random sector. Reads are compared with the shadow.
 *   At the end the whole region is read back and compared.
 * Exit: 0 all good, 1 an I/O error or a data mismatch, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rs = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

int main(int argc, char **argv)
{
	long long ops = 2000, off = 0, region = 4 << 20, maxsec = 8, wpct = 60;
	long long i, writes = 0, reads = 0, errors = 0, bad = 0;
	unsigned char *shadow, *buf;
	int fd, opt;

	while ((opt = getopt(argc, argv, "n:s:o:r:m:w:")) != -1) {
		switch (opt) {
		case 'n': ops = atoll(optarg); break;
		case 's': rs ^= strtoull(optarg, NULL, 0) * 0x9e3779b97f4a7c15ULL; if (!rs) rs = 1; break;
		case 'o': off = atoll(optarg); break;
		case 'r': region = atoll(optarg); break;
		case 'm': maxsec = atoll(optarg); break;
		case 'w': wpct = atoll(optarg); break;
		default: goto usage;
		}
	}
	if (optind != argc - 1 || off % 512 || region % 512 || region <= 0 || maxsec < 1)
		goto usage;
	fd = open(argv[optind], O_RDWR | O_DIRECT);
	if (fd < 0) {
		perror(argv[optind]);
		return 1;
	}
	shadow = malloc(region);
	if (!shadow || posix_memalign((void **)&buf, 4096, region)) {
		perror("malloc");
		return 1;
	}
	if (pread(fd, buf, region, off) != region) {
		perror("initial read");
		return 1;
	}
	memcpy(shadow, buf, region);
	for (i = 0; i < ops; i++) {
		long long nsec = 1 + (maxsec > 1 ? rnd() % maxsec : 0);
		long long sec = rnd() % (region / 512);
		long long len, pos, j;
		ssize_t r;

		if ((sec + nsec) * 512 > region)
			nsec = region / 512 - sec;
		len = nsec * 512;
		pos = sec * 512;
		if ((long long)(rnd() % 100) < wpct) {
			for (j = 0; j < len; j += 8) {
				uint64_t v = rnd();

				memcpy(buf + j, &v, 8);
			}
			r = pwrite(fd, buf, len, off + pos);
			writes++;
			if (r != len) {
				fprintf(stderr, "write %lld+%lld: %s\n", off + pos, len,
					r < 0 ? strerror(errno) : "short");
				errors++;
				/* the content is now unknown: re-read it into the shadow */
				if (pread(fd, buf, len, off + pos) == len)
					memcpy(shadow + pos, buf, len);
				continue;
			}
			memcpy(shadow + pos, buf, len);
		} else {
			r = pread(fd, buf, len, off + pos);
			reads++;
			if (r != len) {
				fprintf(stderr, "read %lld+%lld: %s\n", off + pos, len,
					r < 0 ? strerror(errno) : "short");
				errors++;
				continue;
			}
			if (memcmp(buf, shadow + pos, len)) {
				fprintf(stderr, "data mismatch at byte %lld (+%lld)\n", off + pos, len);
				bad++;
			}
		}
	}
	if (pread(fd, buf, region, off) != region) {
		perror("final read");
		errors++;
	} else {
		for (i = 0; i < region; i += 512)
			if (memcmp(buf + i, shadow + i, 512)) {
				fprintf(stderr, "final data mismatch at byte %lld\n", off + i);
				bad++;
			}
	}
	printf("uaio: writes=%lld reads=%lld io_errors=%lld data_mismatches=%lld\n",
	       writes, reads, errors, bad);
	return errors || bad;
usage:
	fprintf(stderr, "usage: uaio [-n OPS] [-s SEED] [-o OFFSET] [-r REGION] [-m MAXSECTORS] [-w PERCENT] DEV\n");
	return 2;
}
