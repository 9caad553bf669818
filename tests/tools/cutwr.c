// SPDX-License-Identifier: GPL-2.0
/*
 * cutwr - a writer for power-cut tests, and its checker.
 *
 * Usage:
 *   cutwr write [-s SEED] [-i IDBASE] [-o OFF] [-l LEN] [-n SYNC_EVERY] [-q DEPTH] [-c COUNT] DEV
 *   cutwr check [-v] [-f] LOG DEV
 *
 * write: O_DIRECT writes at random offsets of [OFF, OFF+LEN) of DEV (a block
 * device or a file; LEN defaults to the rest of it), sizes 512 B (mostly not
 * 4 KiB aligned), 4 KiB (some only 512-byte aligned), 16 KiB and 64 KiB, up to
 * DEPTH (default 4) in flight (Linux AIO, raw syscalls), fdatasync() after
 * every SYNC_EVERY (default 32) completed writes, until killed (or COUNT
 * writes).  Write ids are IDBASE+1, IDBASE+2, ...  Every 512-byte sector of
 * a write holds a 32-byte header (magic, write id, sector number on DEV,
 * checksum) and 480 bytes from a PRNG seeded by id and sector, so any sector
 * read back names the write it came from.  The log goes to stdout, one
 * write(2) per line:
 *   H IDBASE OFF LEN SEED           first line
 *   S ID OFF LEN                    before the write is submitted
 *   W ID                            the write completed
 *   F ID                            a flush completed that was issued after
 *                                   the "W ID" line (it covers every write
 *                                   whose W line came before that one)
 *   E ID RESULT                     the write failed (then exit 1)
 *
 * check: reads every sector of the logged range of DEV and decides, for each,
 * which contents are acceptable after a power cut.  For a sector covered by
 * writes of the log: a write that was flushed (its W line at or before the
 * W line named by the last F line) is durable; the sector must hold a write
 * that no durable write started after the completion of (S line after its W
 * line), and may hold the old content (zeros, or a sector of an earlier run:
 * id <= IDBASE) only if no write covering it is durable.  The same is checked
 * with "completed" in place of "flushed" (strict: QEMU keeps completed writes
 * across a SIGKILL).  Sectors no write covered must hold old content.
 * Prints "cutwr check: SECTORS sectors, WRITES writes (COMPLETED completed,
 * FLUSHED flushed), FLUSHES flushes: WRONG wrong, STRICT strict-wrong,
 * TOUCHED touched, OLD old" and, with -v or when wrong, the first wrong
 * sectors.  Exit 0 when WRONG and STRICT are 0, 1 otherwise, 2 on usage or
 * I/O errors.  -f: the flush contract only (a device that acknowledges
 * writes before they are durable, as a write cache does): STRICT is
 * counted but does not fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SECT 512
#define MAGIC 0x3152575455435f5fULL	/* "__CUTWR1" */
#define MAXLEN (64 << 10)
#define MAXDEPTH 64

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* fill one sector of write ID at sector number SEC */
static void fill_sector(uint64_t *p, uint64_t id, uint64_t sec)
{
	uint64_t s = mix64(id * 0x9e3779b97f4a7c15ULL ^ mix64(sec + 1)) | 1;
	int i;

	p[0] = MAGIC;
	p[1] = id;
	p[2] = sec;
	p[3] = mix64(MAGIC ^ id ^ (sec << 1));
	for (i = 4; i < SECT / 8; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		p[i] = s;
	}
}

/*
 * Decode a sector read at SEC: 0 zero, 1 a valid cutwr sector (id in *id),
 * -1 anything else (garbage, torn, misplaced).
 */
static int decode_sector(const uint64_t *p, uint64_t sec, uint64_t *id)
{
	static uint64_t want[SECT / 8];
	int i;

	if (p[0] != MAGIC) {
		for (i = 0; i < SECT / 8; i++)
			if (p[i])
				return -1;
		return 0;
	}
	if (p[2] != sec || p[3] != mix64(MAGIC ^ p[1] ^ (sec << 1)))
		return -1;
	fill_sector(want, p[1], sec);
	if (memcmp(want, p, SECT))
		return -1;
	*id = p[1];
	return 1;
}

static uint64_t rs = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static long long dev_size(int fd)
{
	struct stat st;
	uint64_t sz;

	if (fstat(fd, &st))
		return -1;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, &sz) ? -1 : (long long)sz;
	return st.st_size;
}

/* one log line, one write(2): a 9p share sees whole lines */
static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n, w;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	while (n > 0) {
		w = write(1, line, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			exit(2);
		memmove(line, line + w, n - w);
		n -= w;
	}
}

static long sys_io_setup(unsigned int nr, aio_context_t *ctx)
{
	return syscall(SYS_io_setup, nr, ctx);
}

static long sys_io_submit(aio_context_t ctx, long n, struct iocb **iocbs)
{
	return syscall(SYS_io_submit, ctx, n, iocbs);
}

static long sys_io_getevents(aio_context_t ctx, long min, long max, struct io_event *ev)
{
	return syscall(SYS_io_getevents, ctx, min, max, ev, NULL);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: cutwr write [-s SEED] [-i IDBASE] [-o OFF] [-l LEN] [-n SYNC_EVERY] [-q DEPTH] [-c COUNT] DEV\n"
		"       cutwr check [-v] [-f] LOG DEV\n");
	return 2;
}

static int do_write(int argc, char **argv)
{
	long long off = 0, len = -1, size, count = -1, done = 0, since_sync = 0;
	uint64_t seed = 1, idbase = 0, next_id, last_w = 0;
	int depth = 4, sync_every = 32, opt, fd, i, inflight = 0;
	struct iocb iocbs[MAXDEPTH], *ip;
	struct io_event ev[MAXDEPTH];
	uint64_t ids[MAXDEPTH];
	int freelist[MAXDEPTH], nfree = 0;
	aio_context_t ctx = 0;
	char *bufs;

	while ((opt = getopt(argc, argv, "s:i:o:l:n:q:c:")) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'i': idbase = strtoull(optarg, NULL, 0); break;
		case 'o': off = atoll(optarg); break;
		case 'l': len = atoll(optarg); break;
		case 'n': sync_every = atoi(optarg); break;
		case 'q': depth = atoi(optarg); break;
		case 'c': count = atoll(optarg); break;
		default: return usage();
		}
	}
	if (optind != argc - 1 || depth < 1 || depth > MAXDEPTH || sync_every < 1 || off % SECT)
		return usage();
	fd = open(argv[optind], O_RDWR | O_DIRECT);
	if (fd < 0) {
		perror(argv[optind]);
		return 2;
	}
	size = dev_size(fd);
	if (size < 0) {
		perror("size");
		return 2;
	}
	if (len < 0)
		len = size - off;
	len -= len % 4096;
	if (off + len > size || len < MAXLEN || off % 4096) {
		fprintf(stderr, "cutwr: range %lld+%lld does not fit %lld bytes (4 KiB aligned, >= 64 KiB)\n",
			off, len, size);
		return 2;
	}
	rs ^= mix64(seed + 1);
	if (!rs)
		rs = 1;
	if (posix_memalign((void **)&bufs, 4096, (size_t)MAXLEN * depth)) {
		perror("malloc");
		return 2;
	}
	if (sys_io_setup(depth, &ctx)) {
		perror("io_setup");
		return 2;
	}
	for (i = 0; i < depth; i++)
		freelist[nfree++] = i;
	next_id = idbase + 1;
	logf_("H %" PRIu64 " %lld %lld %" PRIu64 "\n", idbase, off, len, seed);
	for (;;) {
		while (nfree && (count < 0 || (long long)(next_id - idbase - 1) < count)) {
			uint64_t r = rnd(), id = next_id++;
			long long wlen, woff;
			int slot = freelist[--nfree];
			char *b = bufs + (size_t)slot * MAXLEN;

			switch (r % 20) {
			case 0 ... 6:	/* 512 B, 7 in 8 not 4 KiB aligned */
				wlen = SECT;
				woff = (long long)((r >> 8) % (len / SECT)) * SECT;
				break;
			case 7 ... 12:	/* 4 KiB, one in 4 only 512-byte aligned */
				wlen = 4096;
				if ((r >> 5) % 4 == 0)
					woff = (long long)((r >> 8) % ((len - 4096) / SECT)) * SECT;
				else
					woff = (long long)((r >> 8) % (len / 4096)) * 4096;
				break;
			case 13 ... 16:
				wlen = 16384;
				woff = (long long)((r >> 8) % ((len - wlen) / 4096 + 1)) * 4096;
				break;
			default:
				wlen = MAXLEN;
				woff = (long long)((r >> 8) % ((len - wlen) / 4096 + 1)) * 4096;
				break;
			}
			woff += off;
			for (i = 0; i < wlen / SECT; i++)
				fill_sector((uint64_t *)(b + i * SECT), id, woff / SECT + i);
			ip = &iocbs[slot];
			memset(ip, 0, sizeof(*ip));
			ip->aio_lio_opcode = IOCB_CMD_PWRITE;
			ip->aio_fildes = fd;
			ip->aio_buf = (uint64_t)(uintptr_t)b;
			ip->aio_nbytes = wlen;
			ip->aio_offset = woff;
			ip->aio_data = slot;
			ids[slot] = id;
			logf_("S %" PRIu64 " %lld %lld\n", id, woff, wlen);
			if (sys_io_submit(ctx, 1, &ip) != 1) {
				logf_("E %" PRIu64 " %d\n", id, -errno);
				return 1;
			}
			inflight++;
		}
		if (!inflight)
			break;
		{
			long n = sys_io_getevents(ctx, 1, depth, ev);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				perror("io_getevents");
				return 2;
			}
			for (i = 0; i < n; i++) {
				int slot = ev[i].data;

				inflight--;
				freelist[nfree++] = slot;
				if (ev[i].res != (long long)iocbs[slot].aio_nbytes) {
					logf_("E %" PRIu64 " %lld\n", ids[slot], (long long)ev[i].res);
					return 1;
				}
				logf_("W %" PRIu64 "\n", ids[slot]);
				last_w = ids[slot];
				done++;
				since_sync++;
			}
		}
		if (since_sync >= sync_every) {
			uint64_t covered = last_w;

			since_sync = 0;
			if (fdatasync(fd)) {
				logf_("E 0 %d\n", -errno);
				return 1;
			}
			logf_("F %" PRIu64 "\n", covered);
		}
	}
	if (fdatasync(fd) == 0)
		logf_("F %" PRIu64 "\n", last_w);
	return 0;
}

/* ---- check ---- */

struct wr {
	uint64_t id;
	long long off, len;
	long s_pos, w_pos;	/* log line numbers; w_pos -1: not completed */
};

struct cover {
	long long sec;
	long wi;
};

static int cmp_cover(const void *a, const void *b)
{
	const struct cover *x = a, *y = b;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	return x->wi < y->wi ? -1 : x->wi > y->wi;
}

static struct wr *wrs;
static long nwr, capwr;

static long find_wr(uint64_t id)
{
	/* ids are consecutive from IDBASE+1 in S order */
	long lo = 0, hi = nwr - 1;

	while (lo <= hi) {
		long mid = (lo + hi) / 2;

		if (wrs[mid].id == id)
			return mid;
		if (wrs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static int do_check(int argc, char **argv)
{
	long long off = -1, len = 0, pos_sec, nsec, wrong = 0, strict = 0, touched = 0, old = 0;
	long long completed = 0, flushed = 0, flushes = 0, shown = 0;
	uint64_t idbase = 0, seed = 0;
	long line_no = 0, last_f_wpos = -1, i;
	struct cover *cv = NULL;
	long ncv = 0, capcv = 0, ci;
	int verbose = 0, flush_only = 0, opt, fd;
	char line[256];
	char *buf;
	FILE *f;

	while ((opt = getopt(argc, argv, "vf")) != -1) {
		if (opt == 'v')
			verbose = 1;
		else if (opt == 'f')
			flush_only = 1;
		else
			return usage();
	}
	if (optind != argc - 2)
		return usage();
	f = fopen(argv[optind], "r");
	if (!f) {
		perror(argv[optind]);
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		uint64_t id;
		long long a, b;
		long w;

		line_no++;
		if (!strchr(line, '\n'))
			break;	/* a torn last line: the cut came in the middle of it */
		if (sscanf(line, "H %" SCNu64 " %lld %lld %" SCNu64, &idbase, &off, &len, &seed) == 4)
			continue;
		if (sscanf(line, "S %" SCNu64 " %lld %lld", &id, &a, &b) == 3) {
			if (nwr == capwr) {
				capwr = capwr ? capwr * 2 : 4096;
				wrs = realloc(wrs, capwr * sizeof(*wrs));
				if (!wrs)
					return 2;
			}
			if (nwr && id <= wrs[nwr - 1].id) {
				fprintf(stderr, "cutwr check: line %ld: write ids not increasing\n", line_no);
				return 2;
			}
			wrs[nwr].id = id;
			wrs[nwr].off = a;
			wrs[nwr].len = b;
			wrs[nwr].s_pos = line_no;
			wrs[nwr].w_pos = -1;
			nwr++;
			continue;
		}
		if (sscanf(line, "W %" SCNu64, &id) == 1) {
			w = find_wr(id);
			if (w < 0) {
				fprintf(stderr, "cutwr check: line %ld: W of an unknown write %" PRIu64 "\n",
					line_no, id);
				return 2;
			}
			wrs[w].w_pos = line_no;
			completed++;
			continue;
		}
		if (sscanf(line, "F %" SCNu64, &id) == 1) {
			flushes++;
			if (id == 0)
				continue;	/* nothing completed yet */
			w = find_wr(id);
			if (w < 0 || wrs[w].w_pos < 0) {
				fprintf(stderr, "cutwr check: line %ld: F of a write not completed\n", line_no);
				return 2;
			}
			if (wrs[w].w_pos > last_f_wpos)
				last_f_wpos = wrs[w].w_pos;
			continue;
		}
		if (line[0] == 'E') {
			fprintf(stderr, "cutwr check: the writer logged an error: %s", line);
			continue;
		}
		fprintf(stderr, "cutwr check: line %ld: not understood: %s", line_no, line);
		return 2;
	}
	fclose(f);
	if (off < 0) {
		fprintf(stderr, "cutwr check: no H line in %s\n", argv[optind]);
		return 2;
	}
	for (i = 0; i < nwr; i++) {
		long long s;

		if (wrs[i].w_pos >= 0 && wrs[i].w_pos <= last_f_wpos)
			flushed++;
		for (s = wrs[i].off / SECT; s < (wrs[i].off + wrs[i].len) / SECT; s++) {
			if (ncv == capcv) {
				capcv = capcv ? capcv * 2 : 65536;
				cv = realloc(cv, capcv * sizeof(*cv));
				if (!cv)
					return 2;
			}
			cv[ncv].sec = s;
			cv[ncv].wi = i;
			ncv++;
		}
	}
	qsort(cv, ncv, sizeof(*cv), cmp_cover);

	fd = open(argv[optind + 1], O_RDONLY | O_DIRECT);
	if (fd < 0) {
		perror(argv[optind + 1]);
		return 2;
	}
	if (posix_memalign((void **)&buf, 4096, 1 << 20))
		return 2;
	ci = 0;
	nsec = len / SECT;
	for (pos_sec = 0; pos_sec < nsec;) {
		long long chunk = nsec - pos_sec > 2048 ? 2048 : nsec - pos_sec, k;
		ssize_t r = pread(fd, buf, chunk * SECT, off + pos_sec * SECT);

		if (r != chunk * SECT) {
			fprintf(stderr, "cutwr check: read at %lld: %s\n", off + pos_sec * SECT,
				r < 0 ? strerror(errno) : "short read");
			return 2;
		}
		for (k = 0; k < chunk; k++, pos_sec++) {
			long long sec = off / SECT + pos_sec;
			const uint64_t *p = (const uint64_t *)(buf + k * SECT);
			long first, last, j, d, found = -1;
			long dur_f = -1, dur_c = -1;	/* max S line of a durable write */
			int kind, ok_f = 0, ok_c = 0;
			uint64_t id = 0;

			while (ci < ncv && cv[ci].sec < sec)
				ci++;
			first = ci;
			while (ci < ncv && cv[ci].sec == sec)
				ci++;
			last = ci;
			kind = decode_sector(p, sec, &id);
			if (first == last) {
				/* untouched: old content only */
				if (kind == 0 || (kind == 1 && id <= idbase)) {
					old++;
					continue;
				}
				ok_f = ok_c = 0;
				goto bad;
			}
			touched++;
			for (j = first; j < last; j++) {
				struct wr *w = &wrs[cv[j].wi];

				if (w->w_pos >= 0 && w->s_pos > dur_c)
					dur_c = w->s_pos;
				if (w->w_pos >= 0 && w->w_pos <= last_f_wpos && w->s_pos > dur_f)
					dur_f = w->s_pos;
				if (kind == 1 && w->id == id)
					found = cv[j].wi;
			}
			if (found >= 0) {
				long wp = wrs[found].w_pos < 0 ? 1L << 62 : wrs[found].w_pos;

				/*
				 * acceptable unless a durable write covering the
				 * sector was started after this one completed
				 */
				ok_f = 1;
				ok_c = 1;
				for (j = first; j < last; j++) {
					struct wr *w = &wrs[cv[j].wi];

					if (w->w_pos < 0 || w->s_pos <= wp)
						continue;
					ok_c = 0;
					if (w->w_pos <= last_f_wpos)
						ok_f = 0;
				}
			} else if (kind == 0 || (kind == 1 && id <= idbase)) {
				ok_f = dur_f < 0;
				ok_c = dur_c < 0;
			}
			if (ok_f && ok_c)
				continue;
bad:
			if (!ok_f)
				wrong++;
			if (!ok_c)
				strict++;
			if (verbose || shown < 40) {
				if (shown++ < 40 || verbose) {
					printf("sector %lld: %s", sec,
					       kind == 0 ? "zero" : kind < 0 ? "garbage" : "write");
					if (kind == 1)
						printf(" %" PRIu64, id);
					printf(" (%s; covered by", !ok_f ? "WRONG" : "strict only");
					d = 0;
					for (j = last - 8 > first ? last - 8 : first; j < last; j++, d++) {
						struct wr *w = &wrs[cv[j].wi];

						printf(" %" PRIu64 "%s", w->id,
						       w->w_pos < 0 ? "(started)" :
						       w->w_pos <= last_f_wpos ? "(flushed)" : "(completed)");
					}
					printf(")\n");
				}
			}
		}
	}
	printf("cutwr check: %lld sectors, %ld writes (%lld completed, %lld flushed), %lld flushes: "
	       "%lld wrong, %lld strict-wrong, %lld touched, %lld old\n",
	       nsec, nwr, completed, flushed, flushes, wrong, strict, touched, old);
	return wrong || (strict && !flush_only) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "write"))
		return do_write(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return do_check(argc - 1, argv + 1);
	return usage();
}
