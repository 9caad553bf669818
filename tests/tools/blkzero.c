// SPDX-License-Identifier: GPL-2.0
/*
 * blkzero - issue zeroing/discard requests on a block device.
 *
 * Usage: blkzero OP DEV OFFSET LEN     (bytes)
 *   zeroout    ioctl(BLKZEROOUT)          (write-zeroes, or zero-filled writes as fallback)
 *   discard    ioctl(BLKDISCARD)
 *   zerorange  fallocate(FALLOC_FL_ZERO_RANGE)
 *   punch      fallocate(FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE)  (REQ_OP_WRITE_ZEROES, no fallback)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	uint64_t range[2];
	int fd, r;

	if (argc != 5) {
		fprintf(stderr, "usage: blkzero zeroout|discard|zerorange|punch DEV OFFSET LEN\n");
		return 2;
	}
	range[0] = strtoull(argv[3], NULL, 0);
	range[1] = strtoull(argv[4], NULL, 0);
	fd = open(argv[2], O_RDWR);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	if (!strcmp(argv[1], "zeroout"))
		r = ioctl(fd, BLKZEROOUT, range);
	else if (!strcmp(argv[1], "discard"))
		r = ioctl(fd, BLKDISCARD, range);
	else if (!strcmp(argv[1], "zerorange"))
		r = fallocate(fd, FALLOC_FL_ZERO_RANGE, range[0], range[1]);
	else if (!strcmp(argv[1], "punch"))
		r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, range[0], range[1]);
	else {
		fprintf(stderr, "blkzero: unknown op %s\n", argv[1]);
		return 2;
	}
	if (r) {
		fprintf(stderr, "blkzero %s %s %s %s: %s\n", argv[1], argv[2], argv[3], argv[4],
			strerror(errno));
		return 1;
	}
	return 0;
}
