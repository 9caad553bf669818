// SPDX-License-Identifier: GPL-2.0
/*
 * scribble - O_DIRECT writes from buffers that other threads keep modifying
 * while the writes are in flight (a stable-writes stress for dm-vdirt: the
 * hash it stores must be the hash of the bytes that reached the disk).
 *
 * Usage: scribble [-t SECONDS] [-p PAIRS] [-o OFFSET] [-r REGION] [-a] [-R] DEV
 *   PAIRS writer/scribbler thread pairs (default 2). Each writer writes its
 *   buffer (512 B .. 64 KiB, 512-aligned; with -a only whole 4 KiB blocks) at
 *   random offsets inside REGION (bytes, default 1 MiB) starting at OFFSET
 *   while its scribbler rewrites the buffer without pause.
 *   -R: the writers read instead (O_DIRECT reads into the buffer being
 *   rewritten: a reader that changes its own buffer must not be able to
 *   forge a mismatch or plant a digest).
 * Prints the number of I/Os; exit 0 unless one failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ (64 * 1024)

static volatile int stop;
static int fd, aligned, reading;
static long long off, region;

struct pair {
	pthread_t w, s;
	unsigned char *buf;
	uint64_t seed;
	long long writes, errors;
};

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *scribbler(void *arg)
{
	struct pair *p = arg;
	volatile uint64_t *w = (volatile uint64_t *)p->buf;
	uint64_t s = p->seed ^ 0x1234567, v = 0;
	size_t i;

	while (!stop) {
		v = xs(&s);
		for (i = 0; i < BUFSZ / 8 && !stop; i++)
			w[i] = v + i;
	}
	return NULL;
}

static void *writer(void *arg)
{
	struct pair *p = arg;
	uint64_t s = p->seed;

	while (!stop) {
		long long len, pos;

		if (aligned) {
			len = 4096 * (1 + xs(&s) % (BUFSZ / 4096));
			pos = 4096 * (xs(&s) % (region / 4096));
		} else {
			len = 512 * (1 + xs(&s) % (BUFSZ / 512));
			pos = 512 * (xs(&s) % (region / 512));
		}
		if (pos + len > region)
			len = region - pos;
		if ((reading ? pread(fd, p->buf, len, off + pos) :
			       pwrite(fd, p->buf, len, off + pos)) != len) {
			if (!p->errors)
				fprintf(stderr, "scribble: %s %lld+%lld: %s\n",
					reading ? "read" : "write", off + pos, len,
					strerror(errno));
			p->errors++;
		}
		p->writes++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int secs = 5, pairs = 2, opt, i;
	long long writes = 0, errors = 0;
	struct pair *p;

	region = 1 << 20;
	while ((opt = getopt(argc, argv, "t:p:o:r:aR")) != -1) {
		switch (opt) {
		case 't': secs = atoi(optarg); break;
		case 'p': pairs = atoi(optarg); break;
		case 'o': off = atoll(optarg); break;
		case 'r': region = atoll(optarg); break;
		case 'a': aligned = 1; break;
		case 'R': reading = 1; break;
		default: goto usage;
		}
	}
	if (optind != argc - 1 || pairs < 1 || region < 4096 || region % 4096 || off % 4096)
		goto usage;
	fd = open(argv[optind], O_RDWR | O_DIRECT);
	if (fd < 0) {
		perror(argv[optind]);
		return 1;
	}
	p = calloc(pairs, sizeof(*p));
	for (i = 0; i < pairs; i++) {
		if (posix_memalign((void **)&p[i].buf, 4096, BUFSZ))
			return 1;
		memset(p[i].buf, 0xa5, BUFSZ);
		p[i].seed = 0x9e3779b97f4a7c15ULL * (i + 1) ^ (uint64_t)time(NULL);
		pthread_create(&p[i].s, NULL, scribbler, &p[i]);
		pthread_create(&p[i].w, NULL, writer, &p[i]);
	}
	sleep(secs);
	stop = 1;
	for (i = 0; i < pairs; i++) {
		pthread_join(p[i].w, NULL);
		pthread_join(p[i].s, NULL);
		writes += p[i].writes;
		errors += p[i].errors;
	}
	if (fsync(fd))
		perror("fsync");
	printf("scribble: %s=%lld errors=%lld\n", reading ? "reads" : "writes",
	       writes, errors);
	return errors ? 1 : 0;
usage:
	fprintf(stderr, "usage: scribble [-t SECONDS] [-p PAIRS] [-o OFFSET] [-r REGION] [-a] [-R] DEV\n");
	return 2;
}
