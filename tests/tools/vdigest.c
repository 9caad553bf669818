// SPDX-License-Identifier: GPL-2.0
/*
 * vdigest - print the digest of a file (or stdin) the way the kernel crypto
 * API shash of the same name produces it, as lowercase hex of the digest bytes.
 *
 * Usage: vdigest ALG [FILE [OFFSET LEN]]
 *   ALG: sha256 | sha1 | blake2b-256 | xxhash64 | crc32c
 * xxhash64 (seed 0) and crc32c (seed ~0, final ~crc) are emitted little-endian,
 * as crypto/xxhash_generic.c and crypto/crc32c_generic.c write them.
 * With -c SIZE, prints one digest per SIZE-byte chunk (one per line).
 *
 * The digests are vdirtctl's (userspace/hash.c), so the tests compare the
 * kernel's digests with exactly what the tool computes.  Each digest is taken
 * over its whole input (the file, or one chunk) held in memory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "hash.h"

#define READ_SIZE (1 << 16)

static const char *const names[] = {
	"sha256", "sha1", "blake2b-256", "xxhash64", "crc32c",
};

struct input {
	uint8_t *p;
	size_t n, cap;
};

/* room for want more bytes */
static int input_reserve(struct input *in, size_t want)
{
	size_t cap = in->cap ? in->cap : READ_SIZE;
	uint8_t *p;

	while (cap - in->n < want)
		cap *= 2;
	if (cap == in->cap)
		return 0;
	p = realloc(in->p, cap);
	if (!p)
		return -1;
	in->p = p;
	in->cap = cap;
	return 0;
}

static int print_digest(struct vh_ctx *c, const struct vh_alg *alg,
			const struct input *in)
{
	uint8_t out[VH_MAX_DIGEST];
	unsigned int i;

	if (vh_digest(c, in->p, in->n, out)) {
		fprintf(stderr, "vdigest: %s failed\n", alg->name);
		return -1;
	}
	for (i = 0; i < alg->digest_size; i++)
		printf("%02x", out[i]);
	printf("\n");
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: vdigest [-c CHUNK] sha256|sha1|blake2b-256|xxhash64|crc32c [FILE [OFFSET LEN]]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct input in = { 0 };
	const struct vh_alg *alg = NULL;
	struct vh_ctx *c;
	long long chunk = 0, off = 0, len = -1;
	int fd = 0, opt;
	unsigned int i;

	while ((opt = getopt(argc, argv, "c:")) != -1) {
		if (opt == 'c')
			chunk = atoll(optarg);
		else
			usage();
	}
	if (chunk < 0 || optind >= argc)
		usage();
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(argv[optind], names[i]))
			alg = vh_find(names[i]);
	if (!alg)
		usage();
	optind++;
	if (optind < argc && strcmp(argv[optind], "-")) {
		fd = open(argv[optind], O_RDONLY);
		if (fd < 0) {
			perror(argv[optind]);
			return 1;
		}
	}
	if (optind + 2 < argc) {
		off = atoll(argv[optind + 1]);
		len = atoll(argv[optind + 2]);
		if (lseek(fd, off, SEEK_SET) < 0) {
			perror("lseek");
			return 1;
		}
	}
	c = vh_ctx_new(alg);
	if (!c) {
		fprintf(stderr, "vdigest: %s: cannot set up the digest\n", alg->name);
		return 1;
	}
	for (;;) {
		size_t want = READ_SIZE;
		ssize_t r;

		if (len >= 0 && (long long)want > len)
			want = len;
		if (chunk && (long long)want > chunk - (long long)in.n)
			want = chunk - in.n;
		if (!want)
			break;
		if (input_reserve(&in, want)) {
			fprintf(stderr, "vdigest: out of memory\n");
			return 1;
		}
		r = read(fd, in.p + in.n, want);
		if (r < 0) {
			perror("read");
			return 1;
		}
		if (r == 0)
			break;
		in.n += r;
		if (len >= 0)
			len -= r;
		if (chunk && (long long)in.n == chunk) {
			if (print_digest(c, alg, &in))
				return 1;
			in.n = 0;
		}
	}
	if (len > 0) {
		fprintf(stderr, "vdigest: short input\n");
		return 1;
	}
	if ((!chunk || in.n) && print_digest(c, alg, &in))
		return 1;
	vh_ctx_free(c);
	free(in.p);
	return 0;
}
