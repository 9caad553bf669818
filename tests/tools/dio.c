// SPDX-License-Identifier: GPL-2.0
/*
 * dio - O_DIRECT read or write of a byte range of a block device, with an
 * aligned buffer and no silent fallback to buffered I/O (busybox dd may fall
 * back to the page cache for small block sizes, which leaves stale dirty pages
 * on the raw device).
 *
 * Usage: dio read DEV OFFSET LEN [OUT]   write LEN bytes from DEV at OFFSET to OUT (default stdout)
 *        dio write DEV OFFSET [IN]       write all of IN (default stdin) to DEV at OFFSET, then fsync
 *        dio nowrite DEV OFFSET [IN]     the same without the fsync (no flush)
 *        dio fuawrite DEV OFFSET [IN]    the same with O_DSYNC (FUA writes), no fsync
 *        dio flush DEV                   fsync DEV (an empty flush)
 * OFFSET and LEN in bytes, multiples of 512 (and of the device's logical block
 * size). I/O goes in chunks of up to 1 MiB. Exit 0, or 1 with the error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static int full_read(int fd, char *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += r;
	}
	return got;
}

static int full_write(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long long off, len, done = 0;
	int fd, io, flags = O_WRONLY | O_DIRECT;
	bool sync = true;
	char *buf;

	if (argc == 3 && !strcmp(argv[1], "flush")) {
		fd = open(argv[2], O_WRONLY);
		if (fd < 0 || fsync(fd)) {
			fprintf(stderr, "dio: flush %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "nowrite")) {
		sync = false;
		argv[1] = "write";
	} else if (argc >= 2 && !strcmp(argv[1], "fuawrite")) {
		sync = false;
		flags |= O_DSYNC;
		argv[1] = "write";
	}
	if (argc < 4 || (strcmp(argv[1], "read") && strcmp(argv[1], "write")))
		goto usage;
	off = atoll(argv[3]);
	if (posix_memalign((void **)&buf, 4096, CHUNK))
		return 1;
	if (!strcmp(argv[1], "read")) {
		if (argc < 5 || argc > 6)
			goto usage;
		len = atoll(argv[4]);
		fd = open(argv[2], O_RDONLY | O_DIRECT);
		io = argc == 6 ? open(argv[5], O_WRONLY | O_CREAT | O_TRUNC, 0644) : 1;
		if (fd < 0 || io < 0) {
			perror(fd < 0 ? argv[2] : argv[5]);
			return 1;
		}
		while (done < len) {
			size_t n = len - done > CHUNK ? CHUNK : len - done;
			ssize_t r = pread(fd, buf, n, off + done);

			if (r != (ssize_t)n) {
				fprintf(stderr, "dio: read %s at %lld+%zu: %s\n", argv[2], off + done, n,
					r < 0 ? strerror(errno) : "short read");
				return 1;
			}
			if (full_write(io, buf, n)) {
				perror("dio: output");
				return 1;
			}
			done += n;
		}
		return 0;
	}
	if (argc > 5)
		goto usage;
	fd = open(argv[2], flags);
	io = argc == 5 ? open(argv[4], O_RDONLY) : 0;
	if (fd < 0 || io < 0) {
		perror(fd < 0 ? argv[2] : argv[4]);
		return 1;
	}
	for (;;) {
		int n = full_read(io, buf, CHUNK);
		ssize_t r;

		if (n < 0) {
			perror("dio: input");
			return 1;
		}
		if (n == 0)
			break;
		if (n % 512) {
			fprintf(stderr, "dio: input length not a multiple of 512\n");
			return 1;
		}
		r = pwrite(fd, buf, n, off + done);
		if (r != n) {
			fprintf(stderr, "dio: write %s at %lld+%d: %s\n", argv[2], off + done, n,
				r < 0 ? strerror(errno) : "short write");
			return 1;
		}
		done += n;
		if (n < CHUNK)
			break;
	}
	if (sync && fsync(fd)) {
		perror("dio: fsync");
		return 1;
	}
	return 0;
usage:
	fprintf(stderr, "usage: dio read DEV OFFSET LEN [OUT] | dio write|nowrite|fuawrite DEV OFFSET [IN] | dio flush DEV\n");
	return 2;
}
