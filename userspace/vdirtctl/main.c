// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl - manage dm-vdirt devices: metadata format, open/close/status,
 * baselines, mismatch reports and events.  See vdirtctl.8.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "baseline.h"
#include "dm.h"
#include "hash.h"
#include "journal.h"
#include "nl.h"
#include "prom.h"
#include "sb.h"
#include "util.h"

#define VDIRTCTL_VERSION "1.0"
#define DEFAULT_CLUSTER 4096U
#define DEFAULT_HASH "sha256"

static struct {
	uint32_t cluster_size;
	const char *hash;
	int force;
	const char *mode;
	int no_read_verify;
	int fail_open;
	long cache_mb;
	const char *output;
	int threads;
	uint64_t count;
	int wait;
	int progress;		/* -1 auto, 0 no, 1 yes */
	int all;		/* monitor --all */
	int journal;		/* monitor --journal */
	const char *prom;	/* monitor --prometheus-textfile */
	uint64_t interval;	/* seconds between textfile refreshes */
} o = { .cache_mb = -1, .threads = 0, .progress = -1, .interval = 15 };

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* ------------------------------------------------------------------ */
/* devices and files */

/* size in bytes of a block device or regular file */
static int dev_size(int fd, const char *path, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size))
			return -errno;
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		*size = st.st_size;
		return 0;
	}
	err("%s: not a block device or regular file", path);
	return -EINVAL;
}

static int open_dev(const char *path, int flags, uint64_t *size)
{
	int fd = open(path, flags | O_CLOEXEC), r;

	if (fd < 0) {
		r = -errno;
		if (r == -EBUSY)
			err("%s: in use (mounted, or held by device-mapper)", path);
		else
			err("%s: %s", path, strerror(-r));
		return r;
	}
	if (size) {
		r = dev_size(fd, path, size);
		if (r) {
			close(fd);
			return r;
		}
	}
	return fd;
}

static const struct vh_alg *get_alg(const char *name)
{
	const struct vh_alg *a = vh_find(name ? name : DEFAULT_HASH);
	unsigned int i;

	if (!a) {
		err("unknown hash '%s'; supported:", name);
		for (i = 0; vh_algs(i); i++)
			fprintf(stderr, "  %s\n", vh_algs(i)->name);
	}
	return a;
}

static int check_cluster(uint32_t cs)
{
	if (cs < VDIRT_MIN_CLUSTER_SIZE || cs > VDIRT_MAX_CLUSTER_SIZE || (cs & (cs - 1))) {
		err("cluster size %u: must be a power of two from %u to %u", cs,
		    VDIRT_MIN_CLUSTER_SIZE, VDIRT_MAX_CLUSTER_SIZE);
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* meta-size, format */

static int cmd_meta_size(int argc, char **argv)
{
	const struct vh_alg *alg = get_alg(o.hash);
	uint32_t cs = o.cluster_size ? o.cluster_size : DEFAULT_CLUSTER;
	uint64_t bytes, need;
	struct vdirt_layout l;
	int r;

	if (argc != 1) {
		err("usage: vdirtctl meta-size <data_size|data_dev> [--cluster-size N] [--hash ALG]");
		return EXIT_USAGE;
	}
	if (!alg || check_cluster(cs))
		return -EINVAL;
	if (parse_size(argv[0], &bytes)) {
		int fd = open_dev(argv[0], O_RDONLY, &bytes);

		if (fd < 0)
			return fd;
		close(fd);
	}
	if (bytes % 512) {
		err("data size %" PRIu64 " is not a multiple of 512 bytes", bytes);
		return -EINVAL;
	}
	if (vdirt_compute_layout(bytes / 512, cs, alg->digest_size, &l))
		return -EINVAL;
	need = l.total_blocks * VDIRT_META_BLOCK_SIZE;
	r = 0;
	if (opt_json) {
		printf("{\"data_bytes\":%" PRIu64 ",\"cluster_size\":%u,\"hash\":", bytes, cs);
		json_str(stdout, alg->name);
		printf(",\"digest_size\":%u,\"clusters\":%" PRIu64 ",\"entry_size\":%u,"
		       "\"meta_blocks\":%" PRIu64 ",\"meta_bytes\":%" PRIu64 "}\n",
		       alg->digest_size, (uint64_t)l.nr_clusters, l.entry_size,
		       (uint64_t)l.total_blocks, need);
	} else if (opt_debug || !opt_quiet) {
		dbg("clusters %" PRIu64 " entry size %u blocks %" PRIu64,
		    (uint64_t)l.nr_clusters, l.entry_size, (uint64_t)l.total_blocks);
		printf("%" PRIu64 "\n", need);
	}
	return r;
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
	dbg("zeroing %" PRIu64 " bytes with writes", len);
	for (off = 0; off < len; off += sizeof(zero)) {
		size_t n = len - off < sizeof(zero) ? len - off : sizeof(zero);

		r = write_full(fd, zero, n, off);
		if (r)
			return r;
	}
	return 0;
}

static int cmd_format(int argc, char **argv)
{
	const struct vh_alg *alg = get_alg(o.hash);
	uint32_t cs = o.cluster_size ? o.cluster_size : DEFAULT_CLUSTER;
	uint8_t *buf = NULL, uuid[16];
	uint64_t dsize, msize, need;
	struct vsb sb;
	char msg[160];
	int dfd = -1, mfd = -1, r;

	if (argc != 2) {
		err("usage: vdirtctl format <data_dev> <meta_dev> [--cluster-size N] [--hash ALG] [--force]");
		return EXIT_USAGE;
	}
	if (!alg || check_cluster(cs))
		return -EINVAL;
	dfd = open_dev(argv[0], O_RDONLY, &dsize);
	if (dfd < 0)
		return dfd;
	mfd = open_dev(argv[1], O_RDWR | O_EXCL, &msize);
	if (mfd < 0) {
		r = mfd;
		goto out;
	}
	if (dsize % cs) {
		err("%s: size %" PRIu64 " is not a multiple of the cluster size %u",
		    argv[0], dsize, cs);
		r = -EINVAL;
		goto out;
	}
	need = vdirt_meta_size(dsize / 512, cs, alg->digest_size);
	if (msize < need) {
		err("%s is too small: %" PRIu64 " bytes, it must be at least %" PRIu64
		    " bytes (%" PRIu64 " MiB) for %s with %u-byte clusters and %s",
		    argv[1], msize, need, (need + (1 << 20) - 1) >> 20, argv[0], cs, alg->name);
		r = -ENOSPC;
		goto out;
	}
	buf = aligned_alloc(4096, 2 * VDIRT_META_BLOCK_SIZE);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	r = read_full(mfd, buf, 2 * VDIRT_META_BLOCK_SIZE, 0);
	if (r) {
		err("%s: cannot read: %s", argv[1], strerror(-r));
		goto out;
	}
	r = vsb_parse(buf, &sb, msg, sizeof(msg));
	if (r && !o.force) {
		if (r > 0)
			err("%s is already formatted (%" PRIu64 " sectors, %u-byte clusters, %s); "
			    "use --force to overwrite it", argv[1], sb.data_sectors,
			    sb.cluster_size, sb.hash_name);
		else
			err("%s holds data that is not a dm-vdirt superblock (%s); use --force "
			    "to overwrite it", argv[1], msg);
		r = -EEXIST;
		goto out;
	}
	dbg("zeroing %" PRIu64 " metadata bytes", need);
	r = zero_range(mfd, need);
	if (r) {
		err("%s: cannot zero the metadata area: %s", argv[1], strerror(-r));
		goto out;
	}
	/* never trust the zeroing: stale bytes would be taken as digests */
	{
		uint64_t fixed = 0, bad = 0;

		r = vsb_zero_verified(mfd, argv[1], need, &fixed, &bad);
		if (r == -EILSEQ) {
			err("%s: the metadata area is not zero after writing zeroes over it "
			    "(offset %" PRIu64 "): refused, use another device", argv[1], bad);
			goto out;
		}
		if (r) {
			err("%s: cannot verify the zeroed metadata area: %s", argv[1],
			    strerror(-r));
			goto out;
		}
		if (fixed)
			dbg("%" PRIu64 " MiB chunks were not zero after zeroing: rewritten", fixed);
	}
	if (getrandom(uuid, sizeof(uuid), 0) != sizeof(uuid)) {
		r = -errno;
		goto out;
	}
	/* as the kernel formats: copy B with seq 1, then copy A with seq 2 */
	{
		uint64_t t = now_ns();

		r = vsb_build(buf, dsize / 512, cs, alg->name, alg->digest_size, uuid, t, 1);
		if (!r)
			r = vsb_build(buf + VDIRT_META_BLOCK_SIZE, dsize / 512, cs, alg->name,
				      alg->digest_size, uuid, t, 2);
		if (r)
			goto out;
	}
	r = write_full(mfd, buf + VDIRT_META_BLOCK_SIZE, VDIRT_META_BLOCK_SIZE, 0);
	if (!r)
		r = write_full(mfd, buf, VDIRT_META_BLOCK_SIZE, VDIRT_META_BLOCK_SIZE);
	if (!r && fsync(mfd))
		r = -errno;
	if (r) {
		err("%s: cannot write the superblock: %s", argv[1], strerror(-r));
		goto out;
	}
	if (opt_json) {
		char u[33];

		hex(u, uuid, 16);
		printf("{\"meta_dev\":");
		json_str(stdout, argv[1]);
		printf(",\"uuid\":\"%s\",\"data_sectors\":%" PRIu64 ",\"cluster_size\":%u,"
		       "\"hash\":\"%s\",\"meta_bytes\":%" PRIu64 "}\n", u, dsize / 512, cs,
		       alg->name, need);
	} else if (!opt_quiet) {
		printf("formatted %s for %s: %" PRIu64 " clusters of %u bytes, %s\n",
		       argv[1], argv[0], dsize / cs, cs, alg->name);
	}
out:
	free(buf);
	if (dfd >= 0)
		close(dfd);
	if (mfd >= 0)
		close(mfd);
	return r;
}

/* ------------------------------------------------------------------ */
/* open, close, status, list */

static int read_sb(const char *path, struct vsb *sb)
{
	uint8_t *buf = aligned_alloc(4096, 2 * VDIRT_META_BLOCK_SIZE);
	char msg[160];
	int fd, r;

	if (!buf)
		return -ENOMEM;
	fd = open_dev(path, O_RDONLY, NULL);
	if (fd < 0) {
		free(buf);
		return fd;
	}
	r = read_full(fd, buf, 2 * VDIRT_META_BLOCK_SIZE, 0);
	close(fd);
	if (r) {
		err("%s: cannot read the superblock: %s", path, strerror(-r));
	} else {
		r = vsb_parse(buf, sb, msg, sizeof(msg));
		if (r < 0)
			err("%s: %s", path, msg);
	}
	free(buf);
	return r;
}

static int cmd_open(int argc, char **argv)
{
	uint64_t dsize, len;
	char params[1024], opts[256];
	int nopts = 0, fd, r;
	struct vsb sb;
	uint32_t cs;
	const char *hash;

	if (argc != 3) {
		err("usage: vdirtctl open <data_dev> <meta_dev> <name> [--mode audit|enforce] "
		    "[--no-read-verify] [--fail-open] [--cache-mb N]");
		return EXIT_USAGE;
	}
	{
		struct vdm_dev d;

		r = vdm_get(argv[2], &d);
		if (!r)
			vdm_put(&d);
		if (!r || r == -EINVAL) {
			err("a device-mapper device named %s exists already", argv[2]);
			return -EEXIST;
		}
	}
	fd = open_dev(argv[0], O_RDONLY, &dsize);
	if (fd < 0)
		return fd;
	close(fd);
	r = read_sb(argv[1], &sb);
	if (r < 0)
		return r;
	if (r > 0) {
		cs = sb.cluster_size;
		hash = sb.hash_name;
		len = sb.data_sectors;
		if ((o.cluster_size && o.cluster_size != cs) || (o.hash && strcmp(o.hash, hash))) {
			err("%s is formatted with %u-byte clusters and %s; the options ask otherwise",
			    argv[1], cs, hash);
			return -EINVAL;
		}
		if (dsize / 512 < len) {
			err("%s is %" PRIu64 " sectors but %s was formatted for %" PRIu64,
			    argv[0], dsize / 512, argv[1], len);
			return -EINVAL;
		}
		dbg("superblock copy %c seq %" PRIu64 ": %" PRIu64 " sectors, %u-byte clusters, %s",
		    'A' + sb.copy, sb.seq, len, cs, hash);
	} else {
		/* all zero: the constructor formats it */
		if (!o.cluster_size || !o.hash) {
			err("%s is not formatted: run 'vdirtctl format' first, or give "
			    "--cluster-size and --hash", argv[1]);
			return -ENODATA;
		}
		if (check_cluster(o.cluster_size) || !get_alg(o.hash))
			return -EINVAL;
		cs = o.cluster_size;
		hash = o.hash;
		len = dsize / 512;
	}
	opts[0] = 0;
	if (o.mode) {
		if (strcmp(o.mode, "audit") && strcmp(o.mode, "enforce")) {
			err("--mode: audit or enforce");
			return -EINVAL;
		}
		nopts++;
		snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), " mode:%s", o.mode);
	}
	if (o.no_read_verify) {
		nopts++;
		strcat(opts, " no_read_verify");
	}
	if (o.fail_open) {
		nopts++;
		strcat(opts, " fail_open");
	}
	if (o.cache_mb >= 0) {
		nopts++;
		snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), " cache_mb:%ld",
			 o.cache_mb);
	}
	if (nopts)
		snprintf(params, sizeof(params), "%s %s %u %s %d%s", argv[0], argv[1], cs, hash,
			 nopts, opts);
	else
		snprintf(params, sizeof(params), "%s %s %u %s", argv[0], argv[1], cs, hash);
	r = vdm_create(argv[2], len, params);
	if (r) {
		err("cannot create %s: %s (the kernel log says why)", argv[2], strerror(-r));
		return r;
	}
	if (!opt_quiet && !opt_json)
		printf("/dev/mapper/%s\n", argv[2]);
	if (opt_json) {
		printf("{\"name\":");
		json_str(stdout, argv[2]);
		printf(",\"path\":\"/dev/mapper/%s\"}\n", argv[2]);
	}
	return 0;
}

/* vdm_get(), saying why not */
static int get_dev(const char *name, struct vdm_dev *d)
{
	int r = vdm_get(name, d);

	if (r == -EINVAL)
		err("%s is not a vdirt device", name);
	else if (r)
		err("%s: %s", name, strerror(-r));
	return r;
}

static int cmd_close(int argc, char **argv)
{
	struct vdm_dev d;
	int r;

	if (argc != 1) {
		err("usage: vdirtctl close <name>");
		return EXIT_USAGE;
	}
	r = get_dev(argv[0], &d);
	if (r)
		return r;
	vdm_put(&d);
	r = vdm_remove(argv[0]);
	if (r)
		err("cannot remove %s: %s", argv[0], strerror(-r));
	return r;
}

static int is_number(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* the next KEY=VALUE word of a status line, as strtok_r() (s, then NULL) */
static char *status_next(char *s, char **save, char **val)
{
	char *tok, *eq;

	for (tok = strtok_r(s, " ", save); tok; tok = strtok_r(NULL, " ", save)) {
		eq = strchr(tok, '=');
		if (eq) {
			*eq = 0;
			*val = eq + 1;
			return tok;
		}
	}
	return NULL;
}

static void print_dev(struct vdm_dev *d, int in_list)
{
	char *s, *key, *val, *save = NULL;

	if (opt_json) {
		printf("{\"name\":");
		json_str(stdout, d->name);
		printf(",\"major\":%u,\"minor\":%u,\"sectors\":%" PRIu64 ",\"table\":",
		       d->major, d->minor, d->len);
		json_str(stdout, d->table);
		s = strdup(d->status);
		for (key = status_next(s, &save, &val); key; key = status_next(NULL, &save, &val)) {
			putchar(',');
			json_str(stdout, key);
			putchar(':');
			if (is_number(val))
				fputs(val, stdout);
			else
				json_str(stdout, val);
		}
		free(s);
		printf("}%s", in_list ? "" : "\n");
		return;
	}
	if (in_list) {
		char st[32] = "?", mode[32] = "?", mm[32] = "?";

		status_get(d->status, "state", st, sizeof(st));
		status_get(d->status, "mode", mode, sizeof(mode));
		status_get(d->status, "read_mismatches", mm, sizeof(mm));
		printf("%-20s %3u:%-5u %12" PRIu64 " %-9s %-8s %s\n", d->name, d->major,
		       d->minor, d->len, st, mode, mm);
		return;
	}
	printf("%-16s %s\n", "name", d->name);
	printf("%-16s /dev/mapper/%s\n", "path", d->name);
	printf("%-16s %u:%u\n", "device", d->major, d->minor);
	printf("%-16s %" PRIu64 "\n", "sectors", d->len);
	printf("%-16s %s\n", "table", d->table);
	s = strdup(d->status);
	for (key = status_next(s, &save, &val); key; key = status_next(NULL, &save, &val))
		printf("%-16s %s\n", key, val);
	free(s);
}

static int cmd_status(int argc, char **argv)
{
	struct vdm_dev d;
	int r;

	if (argc != 1) {
		err("usage: vdirtctl status <name> [--json]");
		return EXIT_USAGE;
	}
	r = get_dev(argv[0], &d);
	if (r)
		return r;
	print_dev(&d, 0);
	vdm_put(&d);
	return 0;
}

static int list_one(struct vdm_dev *d, void *arg)
{
	int *n = arg;

	if (opt_json && (*n)++)
		printf(",\n");
	print_dev(d, 1);
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	int n = 0, r;

	(void)argv;
	if (argc) {
		err("usage: vdirtctl list [--json]");
		return EXIT_USAGE;
	}
	if (opt_json)
		printf("[\n");
	else
		printf("%-20s %9s %12s %-9s %-8s %s\n", "NAME", "DEV", "SECTORS", "STATE",
		       "MODE", "MISMATCHES");
	r = vdm_list(list_one, &n);
	if (opt_json)
		printf("%s]\n", n ? "\n" : "");
	return r;
}

/* ------------------------------------------------------------------ */
/* check: the superblock copies and the write-intent bitmap, offline */

struct sb_copy {
	int valid;
	char why[160];		/* invalid: the validator's reason */
	struct vsb sb;		/* valid: parsed */
	struct vdirt_disk_sb d;	/* raw, for the fields vsb does not carry */
};

/* one copy through vsb_parse(): alone in block A, block B zero */
static void check_copy(const uint8_t *blk, struct sb_copy *c)
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

static void print_copy(int i, const struct sb_copy *c, int json)
{
	const struct vdirt_disk_sb *d = &c->d;
	uint32_t fl = le32toh(d->flags), fc = le32toh(d->feature_compat);

	if (json) {
		printf("%s{\"copy\":\"%c\",\"valid\":%s", i ? "," : "", 'A' + i,
		       c->valid ? "true" : "false");
		if (!c->valid) {
			printf(",\"reason\":");
			json_str(stdout, c->why);
			printf("}");
			return;
		}
		printf(",\"seq\":%" PRIu64 ",\"clean\":%s,\"baseline\":%s,\"baseline_partial\":%s,"
		       "\"feature_compat\":%u,"
		       "\"intent\":%s,\"epoch\":%" PRIu64 ",\"log_head\":%" PRIu64
		       ",\"log_tail\":%" PRIu64 "}", c->sb.seq,
		       fl & VDIRT_SB_F_CLEAN ? "true" : "false",
		       fl & VDIRT_SB_F_BASELINE ? "true" : "false",
		       fl & VDIRT_SB_F_BASELINE_PARTIAL ? "true" : "false", fc,
		       fc & VDIRT_FEATURE_COMPAT_INTENT ? "true" : "false",
		       (uint64_t)le64toh(d->epoch), (uint64_t)le64toh(d->log_head),
		       (uint64_t)le64toh(d->log_tail));
		return;
	}
	if (!c->valid) {
		printf("copy %c: invalid (%s)\n", 'A' + i, c->why);
		return;
	}
	printf("copy %c: valid, seq %" PRIu64 ", flags %s%s%s, features %s, epoch %" PRIu64
	       ", log head %" PRIu64 " tail %" PRIu64 "\n", 'A' + i, c->sb.seq,
	       fl & VDIRT_SB_F_CLEAN ? "clean" : "in-use",
	       fl & VDIRT_SB_F_BASELINE ? ",baseline" : "",
	       fl & VDIRT_SB_F_BASELINE_PARTIAL ? ",baseline-partial" : "",
	       fc & VDIRT_FEATURE_COMPAT_INTENT ? "intent" : "-", (uint64_t)le64toh(d->epoch),
	       (uint64_t)le64toh(d->log_head), (uint64_t)le64toh(d->log_tail));
}

static int cmd_check(int argc, char **argv)
{
	uint8_t *buf = NULL;
	struct sb_copy c[2];
	const struct sb_copy *u;
	uint64_t regions = 0, set = 0;
	uint32_t per, clean = 0;
	int fd, r, i, best;

	if (argc != 1) {
		err("usage: vdirtctl check <meta_dev> [--json]");
		return EXIT_USAGE;
	}
	fd = open_dev(argv[0], O_RDONLY, NULL);
	if (fd < 0)
		return fd;
	buf = malloc(2 * VDIRT_META_BLOCK_SIZE);
	r = buf ? read_full(fd, buf, 2 * VDIRT_META_BLOCK_SIZE, 0) : -ENOMEM;
	if (r) {
		err("%s: cannot read the superblocks: %s", argv[0], strerror(-r));
		goto out;
	}
	for (i = 0; i < 2; i++)
		check_copy(buf + i * VDIRT_META_BLOCK_SIZE, &c[i]);
	/* as the kernel chooses: the newest valid copy, A on a tie */
	best = c[0].valid && c[1].valid ? c[1].sb.seq > c[0].sb.seq : c[1].valid;
	u = &c[best];
	if (u->valid) {
		per = le32toh(u->d.intent_region_clusters);
		per = per ? per : VDIRT_INTENT_REGION_CLUSTERS;
		regions = (u->sb.nr_clusters + per - 1) / per;
		r = count_intent(fd, &u->d, regions, &set);
		if (r) {
			err("%s: cannot read the write-intent bitmap: %s", argv[0], strerror(-r));
			goto out;
		}
		clean = u->sb.flags & VDIRT_SB_F_CLEAN;
	}
	if (opt_json) {
		printf("{\"meta_dev\":");
		json_str(stdout, argv[0]);
		printf(",\"copies\":[");
		for (i = 0; i < 2; i++)
			print_copy(i, &c[i], 1);
		printf("]");
		if (u->valid)
			printf(",\"using\":\"%c\",\"seq\":%" PRIu64 ",\"clusters\":%" PRIu64
			       ",\"cluster_size\":%u,\"hash\":\"%s\",\"clean\":%s,\"regions\":%"
			       PRIu64 ",\"intent_set\":%" PRIu64 ",\"recover_regions\":%" PRIu64,
			       'A' + best, u->sb.seq, u->sb.nr_clusters, u->sb.cluster_size,
			       u->sb.hash_name, clean ? "true" : "false", regions, set,
			       clean ? 0 : set);
		else
			printf(",\"using\":null");
		printf("}\n");
	} else {
		for (i = 0; i < 2; i++)
			print_copy(i, &c[i], 0);
		if (!u->valid)
			printf("no valid superblock: %s is not a dm-vdirt metadata device\n",
			       argv[0]);
		else if (!c[!best].valid)
			printf("copy %c invalid (%s): using copy %c, seq %" PRIu64 "\n", 'A' + !best,
			       c[!best].why, 'A' + best, u->sb.seq);
		else
			printf("using copy %c, seq %" PRIu64 "\n", 'A' + best, u->sb.seq);
		if (u->valid) {
			printf("%" PRIu64 " clusters of %u bytes, %s\n", u->sb.nr_clusters,
			       u->sb.cluster_size, u->sb.hash_name);
			if (clean)
				printf("clean: nothing to recover (%" PRIu64 " of %" PRIu64
				       " write-intent bits set)\n", set, regions);
			else
				printf("not clean: %" PRIu64 " of %" PRIu64 " regions would be "
				       "recovered on the next open\n", set, regions);
			if (u->sb.flags & VDIRT_SB_F_BASELINE_PARTIAL)
				printf("a baseline change was cut short: the baseline is ignored "
				       "until it is loaded, captured or cleared again\n");
			if (u->sb.ro_compat & ~VDIRT_FEATURE_RO_COMPAT_SUPP)
				printf("unknown read-only compatible features 0x%x: only a "
				       "read-only table may use it\n",
				       u->sb.ro_compat & ~VDIRT_FEATURE_RO_COMPAT_SUPP);
		}
	}
	r = c[0].valid && c[1].valid ? 0 : u->valid ? 1 : 2;
out:
	free(buf);
	close(fd);
	return r;
}

/* ------------------------------------------------------------------ */
/* baseline build */

/* bytes read at once by a build thread: well inside a core's L2 cache */
#define BUILD_READ	(256U << 10)

struct build {
	int fd;
	uint64_t size;
	uint32_t cs;
	const struct vh_alg *alg;
	const uint8_t *src;	/* the source mapped read-only, or NULL: pread */
	uint8_t *out;		/* digests */
	uint8_t zero_digest[VH_MAX_DIGEST];
	uint64_t nr;
	uint64_t chunk;		/* clusters per work item */
	uint64_t next;		/* next work item, atomic */
	uint64_t done;		/* clusters done, atomic */
	uint64_t zero;		/* zero clusters, atomic */
	int error;		/* first error, atomic */
};

/* n is a multiple of 16: the first 16 bytes are zero and the rest equals them shifted */
static int is_zero(const uint8_t *p, size_t n)
{
	static const uint8_t z[16];

	return !memcmp(p, z, sizeof(z)) && !memcmp(p, p + sizeof(z), n - sizeof(z));
}

/* does [a, b) contain data?  SEEK_DATA; errors mean "assume data" */
static int has_data(int fd, uint64_t a, uint64_t b, uint64_t *data_start, uint64_t *data_end)
{
	off_t d = lseek(fd, a, SEEK_DATA), h;

	if (d < 0) {
		if (errno == ENXIO)
			return 0;	/* only a hole after a */
		*data_start = a;
		*data_end = b;
		return 1;
	}
	if ((uint64_t)d >= b)
		return 0;
	h = lseek(fd, d, SEEK_HOLE);
	*data_start = d;
	*data_end = h < 0 ? b : (uint64_t)h;
	return 1;
}

/*
 * The source is mapped when it can be: its pages are hashed (or found zero)
 * where they are in the page cache, without a copy; a piece is faulted in
 * with one MADV_POPULATE_READ, which reports an I/O error instead of raising
 * SIGBUS.  A piece that fails, or the partial cluster at the end, is read.
 * (Only a source truncated between the populate and the hash still raises
 * SIGBUS: images are not resized while their baseline is built.)
 */
static const uint8_t *build_piece(struct build *b, uint8_t *buf, uint64_t pos, uint64_t len,
				  int *r)
{
	*r = 0;
	if (b->src && pos + len <= b->size &&
	    !madvise((void *)(b->src + pos), len, MADV_POPULATE_READ))
		return b->src + pos;
	if (pos + len > b->size)
		memset(buf, 0, len);	/* the tail of the last cluster */
	*r = read_full(b->fd, buf, (pos + len < b->size ? pos + len : b->size) - pos, pos);
	return buf;
}

/*
 * Hash the whole clusters [rs, re) of a data extent a few hundred KiB at a
 * time (the piece stays in the CPU cache): a zero cluster costs one pass
 * over memory and no hashing.
 */
static int build_extent(struct build *b, struct vh_ctx *ctx, uint8_t *buf, size_t bufsz,
			uint64_t rs, uint64_t re)
{
	const unsigned int ds = b->alg->digest_size;
	const uint8_t *data;
	uint64_t pos, len, c;
	int r;

	for (pos = rs; pos < re; pos += len) {
		len = re - pos < bufsz ? re - pos : bufsz / b->cs * b->cs;
		data = build_piece(b, buf, pos, len, &r);
		if (r)
			return r;
		for (c = 0; c < len / b->cs; c++) {
			const uint8_t *p = data + c * b->cs;

			if (is_zero(p, b->cs))
				continue;	/* zero digest already there */
			if (vh_digest(ctx, p, b->cs, b->out + (pos / b->cs + c) * ds))
				return -EIO;
		}
	}
	return 0;
}

static void *build_worker(void *arg)
{
	struct build *b = arg;
	struct vh_ctx *ctx = vh_ctx_new(b->alg);
	size_t bufsz = BUILD_READ > b->cs ? BUILD_READ : b->cs;
	uint8_t *buf = aligned_alloc(4096, bufsz);
	const unsigned int ds = b->alg->digest_size;

	if (!ctx || !buf) {
		__atomic_store_n(&b->error, -ENOMEM, __ATOMIC_RELAXED);
		goto out;
	}
	for (;;) {
		uint64_t w = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
		uint64_t c0 = w * b->chunk, c1, c;
		uint64_t start, end, pos;

		if (c0 >= b->nr || b->error || interrupted)
			break;
		c1 = c0 + b->chunk < b->nr ? c0 + b->chunk : b->nr;
		start = c0 * b->cs;
		end = c1 * b->cs < b->size ? c1 * b->cs : b->size;
		/* clusters in holes get the zero digest without reading */
		for (c = c0; c < c1; c++)
			memcpy(b->out + c * ds, b->zero_digest, ds);
		pos = start;
		while (pos < end) {
			uint64_t ds0, de, rs, re;
			int r;

			if (!has_data(b->fd, pos, end, &ds0, &de))
				break;
			if (de > end)
				de = end;
			/* whole clusters around the data extent */
			rs = ds0 / b->cs * b->cs;
			re = (de + b->cs - 1) / b->cs * b->cs;
			if (rs < pos)
				rs = pos;
			r = build_extent(b, ctx, buf, bufsz, rs, re);
			if (r) {
				__atomic_store_n(&b->error, r, __ATOMIC_RELAXED);
				break;
			}
			pos = re;
		}
		__atomic_fetch_add(&b->done, c1 - c0, __ATOMIC_RELAXED);
	}
out:
	free(buf);
	vh_ctx_free(ctx);
	return NULL;
}

static void build_close(struct build *b)
{
	if (b->src)
		munmap((void *)b->src, b->size);
	close(b->fd);
}

static void progress(const char *what, uint64_t done, uint64_t total, int final)
{
	char bar[41];
	int i, n = total ? (int)(done * 40 / total) : 40;

	for (i = 0; i < 40; i++)
		bar[i] = i < n ? '#' : '.';
	bar[40] = 0;
	fprintf(stderr, "\r%s [%s] %3d%% %" PRIu64 "/%" PRIu64 "%s", what, bar,
		total ? (int)(done * 100 / total) : 100, done, total, final ? "\n" : "");
	fflush(stderr);
}

static int cmd_baseline_build(int argc, char **argv)
{
	const struct vh_alg *alg = get_alg(o.hash);
	struct build b;
	struct vh_ctx *zc;
	struct vb_info info;
	pthread_t *th;
	uint8_t *map = MAP_FAILED, *zbuf;
	size_t flen;
	int i, r, ofd = -1, nth, show;
	uint64_t c;
	char tmp[PATH_MAX];

	if (argc != 1 || !o.output) {
		err("usage: vdirtctl baseline build <image_or_device> -o <file> [--cluster-size N] "
		    "[--hash ALG] [--threads N]");
		return EXIT_USAGE;
	}
	memset(&b, 0, sizeof(b));
	b.cs = o.cluster_size ? o.cluster_size : DEFAULT_CLUSTER;
	if (!alg || check_cluster(b.cs))
		return -EINVAL;
	b.alg = alg;
	b.fd = open_dev(argv[0], O_RDONLY, &b.size);
	if (b.fd < 0)
		return b.fd;
	b.nr = b.size / b.cs + !!(b.size % b.cs);
	b.chunk = (4U << 20) / b.cs;
	if (b.size) {
		b.src = mmap(NULL, b.size, PROT_READ, MAP_SHARED, b.fd, 0);
		if (b.src == MAP_FAILED)
			b.src = NULL;	/* read it */
	}
	zbuf = calloc(1, b.cs);
	zc = vh_ctx_new(alg);
	if (!zbuf || !zc || vh_digest(zc, zbuf, b.cs, b.zero_digest)) {
		free(zbuf);
		vh_ctx_free(zc);
		build_close(&b);
		return -ENOMEM;
	}
	free(zbuf);
	vh_ctx_free(zc);

	snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", o.output);
	ofd = mkstemp(tmp);
	if (ofd < 0) {
		r = -errno;
		err("%s: %s", o.output, strerror(-r));
		build_close(&b);
		return r;
	}
	flen = VB_HEADER_SIZE + b.nr * alg->digest_size;
	if (ftruncate(ofd, flen)) {
		r = -errno;
		goto fail;
	}
	map = mmap(NULL, flen, PROT_READ | PROT_WRITE, MAP_SHARED, ofd, 0);
	if (map == MAP_FAILED) {
		r = -errno;
		goto fail;
	}
	b.out = map + VB_HEADER_SIZE;

	nth = o.threads > 0 ? o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (nth < 1)
		nth = 1;
	if (nth > 256)
		nth = 256;
	show = o.progress < 0 ? isatty(2) && !opt_quiet : o.progress;
	dbg("build: %" PRIu64 " bytes, %" PRIu64 " clusters of %u, %s, %d threads", b.size,
	    b.nr, b.cs, alg->name, nth);
	th = calloc(nth, sizeof(*th));
	if (!th) {
		r = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, build_worker, &b)) {
			nth = i;
			b.error = -EAGAIN;
			break;
		}
	while (show && __atomic_load_n(&b.done, __ATOMIC_RELAXED) < b.nr && !b.error &&
	       !interrupted) {
		progress("hashing", __atomic_load_n(&b.done, __ATOMIC_RELAXED), b.nr, 0);
		usleep(200000);
		if (nth == 0)
			break;
	}
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	free(th);
	if (show)
		progress("hashing", b.done, b.nr, 1);
	r = b.error;
	if (!r && interrupted)
		r = -EINTR;
	if (r) {
		err("%s: %s", argv[0], strerror(-r));
		goto fail;
	}
	/* zero clusters: count digests equal to the zero digest (holes and zeros) */
	for (c = 0; c < b.nr; c++)
		if (!memcmp(b.out + c * alg->digest_size, b.zero_digest, alg->digest_size))
			b.zero++;
	memset(&info, 0, sizeof(info));
	info.cluster_size = b.cs;
	info.digest_size = alg->digest_size;
	info.nr_clusters = b.nr;
	info.source_size = b.size;
	info.created_ns = now_ns();
	info.zero_clusters = b.zero;
	snprintf(info.hash_name, sizeof(info.hash_name), "%s", alg->name);
	vb_encode_header(&info, map);
	r = vb_seal(map, flen);
	if (r)
		goto fail;
	if (msync(map, flen, MS_SYNC) || fsync(ofd)) {
		r = -errno;
		goto fail;
	}
	munmap(map, flen);
	close(ofd);
	build_close(&b);
	if (rename(tmp, o.output)) {
		r = -errno;
		err("%s: %s", o.output, strerror(-r));
		unlink(tmp);
		return r;
	}
	if (opt_json) {
		printf("{\"file\":");
		json_str(stdout, o.output);
		printf(",\"source_size\":%" PRIu64 ",\"cluster_size\":%u,\"hash\":\"%s\","
		       "\"clusters\":%" PRIu64 ",\"zero_clusters\":%" PRIu64 "}\n",
		       b.size, b.cs, alg->name, b.nr, b.zero);
	} else if (!opt_quiet) {
		printf("%s: %" PRIu64 " clusters of %u bytes (%" PRIu64 " zero), %s\n",
		       o.output, b.nr, b.cs, b.zero, alg->name);
	}
	return 0;
fail:
	if (map != MAP_FAILED)
		munmap(map, flen);
	close(ofd);
	unlink(tmp);
	build_close(&b);
	return r;
}

static int cmd_baseline_show(int argc, char **argv)
{
	struct vb_file f;
	char msg[256], d[65];
	int r;

	if (argc != 1) {
		err("usage: vdirtctl baseline show <file> [--json]");
		return EXIT_USAGE;
	}
	r = vb_open(argv[0], &f, msg, sizeof(msg));
	if (r) {
		err("%s: %s", argv[0], msg);
		return r;
	}
	hex(d, f.map + VB_DIGEST_OFF, 32);
	if (opt_json) {
		printf("{\"file\":");
		json_str(stdout, argv[0]);
		printf(",\"version\":%u,\"cluster_size\":%u,\"hash\":\"%s\",\"digest_size\":%u,"
		       "\"clusters\":%" PRIu64 ",\"source_size\":%" PRIu64 ",\"zero_clusters\":%"
		       PRIu64 ",\"created\":%" PRIu64 ",\"file_digest\":\"%s\"}\n",
		       f.info.version, f.info.cluster_size, f.info.hash_name, f.info.digest_size,
		       f.info.nr_clusters, f.info.source_size, f.info.zero_clusters,
		       f.info.created_ns, d);
	} else {
		printf("%-16s %u\n%-16s %u\n%-16s %s\n%-16s %" PRIu64 "\n%-16s %" PRIu64
		       "\n%-16s %" PRIu64 "\n%-16s %s\n", "version", f.info.version,
		       "cluster_size", f.info.cluster_size, "hash", f.info.hash_name,
		       "clusters", f.info.nr_clusters, "source_size", f.info.source_size,
		       "zero_clusters", f.info.zero_clusters, "file_digest", d);
	}
	vb_close(&f);
	return 0;
}

/* ------------------------------------------------------------------ */
/* netlink commands */

struct devinfo {
	char name[VDIRT_DEV_NAME_MAX];
	uint32_t major, minor;
	uint64_t data_sectors, nr_clusters;
	uint32_t cluster_size, digest_size;
	char hash[64];
	int state, enforce, read_verify, fail_open, scan_running;
	uint64_t measured, baselined, reads_verified, read_mismatches, write_drift;
	uint64_t unaligned, meta_errors, tofu, scan_pos, log_first, log_head;
	uint64_t event_seq, events_dropped;
	uint64_t recover_pos, recover_total;	/* total 0: not recovering */
	/* the baseline change (capture, clear, load commit, mismatch clear) */
	int change_kind, change_paused;		/* VDIRT_GENL_CHANGE_*, NONE: idle */
	uint64_t change_pos, change_total;
	uint64_t change_id, change_done_id;	/* last started, last ended */
	int change_result;			/* errno of the last ended, 0: ok */
	int found;
};

/* "POS/TOTAL" while the write-intent recovery runs, "-" otherwise */
static void recovering_str(char *out, size_t n, const struct devinfo *d)
{
	if (d->recover_total)
		snprintf(out, n, "%" PRIu64 "/%" PRIu64, d->recover_pos, d->recover_total);
	else
		snprintf(out, n, "-");
}

static void copy_str(char *dst, size_t n, const struct nlattr *a)
{
	size_t l;

	dst[0] = 0;
	if (!a)
		return;
	l = mnl_attr_get_payload_len(a);
	if (l >= n)
		l = n - 1;
	memcpy(dst, mnl_attr_get_payload(a), l);
	dst[l] = 0;
}

static void fill_devinfo(const struct nlattr **tb, struct devinfo *d)
{
	memset(d, 0, sizeof(*d));
	copy_str(d->name, sizeof(d->name), tb[VDIRT_A_DEV_NAME]);
	copy_str(d->hash, sizeof(d->hash), tb[VDIRT_A_HASH_NAME]);
	d->major = nla_u64(tb, VDIRT_A_DEV_MAJOR, 0);
	d->minor = nla_u64(tb, VDIRT_A_DEV_MINOR, 0);
	d->data_sectors = nla_u64(tb, VDIRT_A_DATA_SECTORS, 0);
	d->nr_clusters = nla_u64(tb, VDIRT_A_NR_CLUSTERS, 0);
	d->cluster_size = nla_u64(tb, VDIRT_A_CLUSTER_SIZE, 0);
	d->digest_size = nla_u64(tb, VDIRT_A_DIGEST_SIZE, 0);
	d->state = nla_u64(tb, VDIRT_A_STATE, 0);
	d->enforce = nla_u64(tb, VDIRT_A_MODE, 0) == VDIRT_GENL_MODE_ENFORCE;
	d->read_verify = nla_u64(tb, VDIRT_A_READ_VERIFY, 0);
	d->fail_open = nla_u64(tb, VDIRT_A_FAIL_OPEN, 0);
	d->measured = nla_u64(tb, VDIRT_A_MEASURED, 0);
	d->baselined = nla_u64(tb, VDIRT_A_BASELINED, 0);
	d->reads_verified = nla_u64(tb, VDIRT_A_READS_VERIFIED, 0);
	d->read_mismatches = nla_u64(tb, VDIRT_A_READ_MISMATCHES, 0);
	d->write_drift = nla_u64(tb, VDIRT_A_WRITE_DRIFT, 0);
	d->unaligned = nla_u64(tb, VDIRT_A_UNALIGNED, 0);
	d->meta_errors = nla_u64(tb, VDIRT_A_META_ERRORS, 0);
	d->tofu = nla_u64(tb, VDIRT_A_TOFU, 0);
	d->scan_running = nla_u64(tb, VDIRT_A_SCAN_RUNNING, 0);
	d->scan_pos = nla_u64(tb, VDIRT_A_SCAN_POS, 0);
	d->log_first = nla_u64(tb, VDIRT_A_LOG_FIRST, 0);
	d->log_head = nla_u64(tb, VDIRT_A_LOG_HEAD, 0);
	d->event_seq = nla_u64(tb, VDIRT_A_EVENT_SEQ, 0);
	d->events_dropped = nla_u64(tb, VDIRT_A_EVENTS_DROPPED, 0);
	d->recover_pos = nla_u64(tb, VDIRT_A_RECOVER_POS, 0);
	d->recover_total = nla_u64(tb, VDIRT_A_RECOVER_TOTAL, 0);
	d->change_kind = nla_u64(tb, VDIRT_A_CHANGE_KIND, 0);
	d->change_paused = nla_u64(tb, VDIRT_A_CHANGE_PAUSED, 0);
	d->change_pos = nla_u64(tb, VDIRT_A_CHANGE_POS, 0);
	d->change_total = nla_u64(tb, VDIRT_A_CHANGE_TOTAL, 0);
	d->change_id = nla_u64(tb, VDIRT_A_CHANGE_ID, 0);
	d->change_done_id = nla_u64(tb, VDIRT_A_CHANGE_DONE_ID, 0);
	d->change_result = nla_u64(tb, VDIRT_A_CHANGE_RESULT, 0);
	d->found = 1;
}

static int devinfo_cb(const struct nlattr **tb, void *arg)
{
	fill_devinfo(tb, arg);
	return 0;
}

static int nl_dev_get(struct vnl *v, const char *dev, struct devinfo *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = vnl_msg(v, buf, VDIRT_CMD_DEV_GET, 0);
	int r;

	r = vnl_put_dev(nlh, dev);
	if (r)
		return r;
	memset(d, 0, sizeof(*d));
	r = vnl_talk(v, nlh, devinfo_cb, d);
	if (r == -ENODEV || r == -ENOENT)
		err("%s: no such vdirt device", dev);
	else if (r)
		err("%s: %s", dev, strerror(-r));
	else if (!d->found)
		r = -EIO;
	return r;
}

/* open the family and get dev's info; vnl_close() v in any case */
static int nl_open_dev(struct vnl *v, const char *dev, struct devinfo *d)
{
	int r = vnl_open(v);

	return r ? r : nl_dev_get(v, dev, d);
}

static int change_id_cb(const struct nlattr **tb, void *arg)
{
	*(uint64_t *)arg = nla_u64(tb, VDIRT_A_CHANGE_ID, 0);
	return 0;
}

/*
 * Wait for the baseline change number id of dev to end, polling its info;
 * 0 when it succeeded, else -errno (its error, or -EINTR on a signal, the
 * change going on in the kernel).
 */
static int change_wait(struct vnl *v, const char *dev, uint64_t id, const char *what)
{
	int show = o.progress < 0 ? isatty(2) && !opt_quiet : o.progress;
	int said_paused = 0, r;
	struct devinfo d;

	for (;;) {
		r = nl_dev_get(v, dev, &d);
		if (r)
			return r;
		if (d.change_done_id == id)
			break;
		if (d.change_id != id) {
			err("%s: %s: ended, but its result was not kept (another change followed, "
			    "or the table was replaced: see baseline= in the status)", dev, what);
			return -ESTALE;
		}
		if (show)
			progress(what, d.change_pos, d.change_total, 0);
		if (d.change_paused && !said_paused && !opt_quiet)
			fprintf(stderr, "%s%s: %s paused: the device is suspended; it goes on at resume\n",
				show ? "\n" : "", dev, what);
		said_paused = d.change_paused;
		if (interrupted) {
			if (show)
				fputc('\n', stderr);
			err("%s: interrupted: the %s goes on in the kernel (status baseline_change=)",
			    dev, what);
			return -EINTR;
		}
		usleep(100000);
	}
	if (show)
		progress(what, d.change_total, d.change_total, 1);
	if (d.change_result) {
		err("%s: %s failed: %s", dev, what, strerror(d.change_result));
		return -d.change_result;
	}
	return 0;
}

/*
 * A command on one device; wait: it starts a baseline change, wait for its
 * end.
 */
static int nl_change(const char *dev, uint8_t cmd, const char *what,
		     bool wait)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint64_t id = 0;
	struct vnl v;
	int r;

	r = vnl_open(&v);
	if (r) {
		if (r != -ENOENT)
			err("netlink: %s", strerror(-r));
		vnl_close(&v);
		return r;
	}
	nlh = vnl_msg(&v, buf, cmd, 0);
	r = vnl_put_dev(nlh, dev);
	if (!r)
		r = vnl_talk(&v, nlh, wait ? change_id_cb : NULL, &id);
	if (r)
		err("%s: %s: %s", dev, what, strerror(-r));
	else if (wait && id)
		r = change_wait(&v, dev, id, what);
	vnl_close(&v);
	return r;
}

/* command NAME <name>: nl_change() on that device */
static int cmd_change(int argc, char **argv, const char *name, uint8_t cmd,
		      const char *what)
{
	int r;

	if (argc != 1) {
		err("usage: vdirtctl %s <name>", name);
		return EXIT_USAGE;
	}
	r = nl_change(argv[0], cmd, what, true);
	if (!r && !opt_quiet && !opt_json)
		printf("%s: %s done\n", argv[0], what);
	return r;
}

static int cmd_baseline_capture(int argc, char **argv)
{
	return cmd_change(argc, argv, "baseline capture", VDIRT_CMD_BASELINE_CAPTURE,
			  "baseline capture");
}

static int cmd_baseline_clear(int argc, char **argv)
{
	return cmd_change(argc, argv, "baseline clear", VDIRT_CMD_BASELINE_CLEAR,
			  "baseline clear");
}

static int load_id_cb(const struct nlattr **tb, void *arg)
{
	*(uint32_t *)arg = nla_u64(tb, VDIRT_A_LOAD_ID, 0);
	return 0;
}

static int cmd_baseline_load(int argc, char **argv)
{
	char buf[VDIRT_CHUNK_MAX + 1024], msg[256];
	const char *stop_env = getenv("VDIRTCTL_TEST_STOP_AFTER");
	long stop_after = stop_env ? atol(stop_env) : -1;
	const char *pause_env = getenv("VDIRTCTL_TEST_PAUSE_AFTER");
	long pause_after = pause_env ? atol(pause_env) : -1;
	struct nlmsghdr *nlh;
	struct devinfo d;
	struct vb_file f;
	struct vnl v;
	uint32_t id = 0, per;
	uint64_t c, change = 0;
	long chunks = 0;
	int r;

	if (argc != 2) {
		err("usage: vdirtctl baseline load <name> <file>");
		return EXIT_USAGE;
	}
	r = vb_open(argv[1], &f, msg, sizeof(msg));
	if (r) {
		err("%s: refused: %s", argv[1], msg);
		return r;
	}
	r = nl_open_dev(&v, argv[0], &d);
	if (r)
		goto out;
	if (d.cluster_size != f.info.cluster_size || strcmp(d.hash, f.info.hash_name) ||
	    d.digest_size != f.info.digest_size || d.nr_clusters != f.info.nr_clusters) {
		err("%s: refused: the file is for %" PRIu64 " clusters of %u bytes with %s, "
		    "%s has %" PRIu64 " clusters of %u bytes with %s", argv[1],
		    f.info.nr_clusters, f.info.cluster_size, f.info.hash_name, argv[0],
		    d.nr_clusters, d.cluster_size, d.hash);
		r = -EINVAL;
		goto out;
	}
	nlh = vnl_msg(&v, buf, VDIRT_CMD_BASELINE_BEGIN, 0);
	vnl_put_dev(nlh, argv[0]);
	mnl_attr_put_u32(nlh, VDIRT_A_CLUSTER_SIZE, f.info.cluster_size);
	mnl_attr_put_u32(nlh, VDIRT_A_DIGEST_SIZE, f.info.digest_size);
	mnl_attr_put_strz(nlh, VDIRT_A_HASH_NAME, f.info.hash_name);
	mnl_attr_put_u64(nlh, VDIRT_A_NR_CLUSTERS, f.info.nr_clusters);
	r = vnl_talk(&v, nlh, load_id_cb, &id);
	if (r) {
		err("%s: cannot start a baseline load: %s", argv[0], strerror(-r));
		goto out;
	}
	dbg("load id %u", id);
	per = VDIRT_CHUNK_MAX / f.info.digest_size;
	for (c = 0; c < f.info.nr_clusters; c += per) {
		uint64_t n = f.info.nr_clusters - c < per ? f.info.nr_clusters - c : per;

		if (pause_after >= 0 && chunks == pause_after) {
			dbg("pausing after %ld chunks (VDIRTCTL_TEST_PAUSE_AFTER)", chunks);
			while (!interrupted)
				pause();
		}
		if (stop_after >= 0 && chunks >= stop_after) {
			err("stopping after %ld chunks (VDIRTCTL_TEST_STOP_AFTER)", chunks);
			r = -EINTR;
			goto out;
		}
		if (interrupted) {
			r = -EINTR;
			goto out;
		}
		nlh = vnl_msg(&v, buf, VDIRT_CMD_BASELINE_CHUNK, 0);
		vnl_put_dev(nlh, argv[0]);
		mnl_attr_put_u32(nlh, VDIRT_A_LOAD_ID, id);
		mnl_attr_put_u64(nlh, VDIRT_A_FIRST_CLUSTER, c);
		mnl_attr_put(nlh, VDIRT_A_DIGESTS, n * f.info.digest_size,
			     f.digests + c * f.info.digest_size);
		r = vnl_talk(&v, nlh, NULL, NULL);
		if (r) {
			err("%s: baseline chunk at cluster %" PRIu64 ": %s", argv[0], c,
			    strerror(-r));
			goto out;
		}
		chunks++;
	}
	nlh = vnl_msg(&v, buf, VDIRT_CMD_BASELINE_COMMIT, 0);
	vnl_put_dev(nlh, argv[0]);
	mnl_attr_put_u32(nlh, VDIRT_A_LOAD_ID, id);
	r = vnl_talk(&v, nlh, change_id_cb, &change);
	if (r)
		err("%s: baseline commit: %s", argv[0], strerror(-r));
	/* the kernel replaces the baseline in a worker: wait for its end */
	else if (change)
		r = change_wait(&v, argv[0], change, "baseline load");
	if (!r && !opt_quiet && !opt_json)
		printf("%s: baseline of %" PRIu64 " clusters loaded from %s\n", argv[0],
		       f.info.nr_clusters, argv[1]);
out:
	/* an unfinished load is aborted by the kernel when the socket closes */
	vnl_close(&v);
	vb_close(&f);
	return r;
}

/* ---- mismatch records ---- */

static void fill_rec(const struct nlattr **tb, struct vrec *r)
{
	unsigned int le = 0, la = 0;

	memset(r, 0, sizeof(*r));
	copy_str(r->dev, sizeof(r->dev), tb[VDIRT_A_DEV_NAME]);
	r->major = nla_u64(tb, VDIRT_A_DEV_MAJOR, 0);
	r->minor = nla_u64(tb, VDIRT_A_DEV_MINOR, 0);
	r->rec_seq = nla_u64(tb, VDIRT_A_REC_SEQ, 0);
	r->seq = nla_u64(tb, VDIRT_A_EVENT_SEQ, r->rec_seq);
	r->cluster = nla_u64(tb, VDIRT_A_CLUSTER, 0);
	r->time = nla_u64(tb, VDIRT_A_TIME, 0);
	r->kind = nla_u64(tb, VDIRT_A_KIND, 0);
	r->op = nla_u64(tb, VDIRT_A_OP, 0);
	if (tb[VDIRT_A_EXPECTED])
		le = mnl_attr_get_payload_len(tb[VDIRT_A_EXPECTED]);
	if (tb[VDIRT_A_ACTUAL])
		la = mnl_attr_get_payload_len(tb[VDIRT_A_ACTUAL]);
	if (le > 64)
		le = 64;
	if (la > 64)
		la = 64;
	if (le)
		memcpy(r->expected, mnl_attr_get_payload(tb[VDIRT_A_EXPECTED]), le);
	if (la)
		memcpy(r->actual, mnl_attr_get_payload(tb[VDIRT_A_ACTUAL]), la);
	r->dlen = le > la ? le : la;
	if (tb[VDIRT_A_REC_AUX] && mnl_attr_get_payload_len(tb[VDIRT_A_REC_AUX]) >= sizeof(r->aux))
		memcpy(r->aux, mnl_attr_get_payload(tb[VDIRT_A_REC_AUX]), sizeof(r->aux));
}

static void print_rec(const struct vrec *r, uint32_t cs, const char *source, int first)
{
	char e[129], a[129];

	hex(e, r->expected, r->dlen);
	hex(a, r->actual, r->dlen);
	if (opt_json) {
		if (!first && !source)
			printf(",\n");
		printf("{\"device\":");
		json_str(stdout, r->dev);
		printf(",\"cluster\":%" PRIu64 ",\"sector\":%" PRIu64 ",\"kind\":\"%s\","
		       "\"op\":\"%s\",\"expected\":\"%s\",\"actual\":\"%s\",\"time\":%" PRIu64
		       ",\"seq\":%" PRIu64, r->cluster, r->cluster * (cs / 512),
		       vrec_kind_name(r->kind), vrec_op_name(r->op), e, a, r->time, r->seq);
		if (r->kind == VDIRT_KIND_RECOVERY)
			printf(",\"regions\":%" PRIu64 ",\"remeasured\":%" PRIu64 ",\"changed\":%"
			       PRIu64 ",\"on_read\":%" PRIu64, r->aux[VDIRT_AUX_REGIONS],
			       r->aux[VDIRT_AUX_REMEASURED], r->aux[VDIRT_AUX_CHANGED],
			       r->aux[VDIRT_AUX_ON_READ]);
		if (source)
			printf(",\"source\":\"%s\"}\n", source);
		else
			printf("}");
	} else {
		time_t t = r->time / 1000000000ULL;
		struct tm tm;
		char ts[40];

		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		printf("%s.%09" PRIu64 "Z %s seq %" PRIu64, ts, r->time % (uint64_t)1000000000,
		       r->dev, r->seq);
		if (r->kind == VDIRT_KIND_RECOVERY) {
			char rs[160];

			vrec_recovery_str(rs, sizeof(rs), r);
			printf(" recovery: %s", rs);
		} else {
			printf(" cluster %" PRIu64 " sector %" PRIu64 " %s (%s) expected %s actual %s",
			       r->cluster, r->cluster * (cs / 512), vrec_kind_name(r->kind),
			       vrec_op_name(r->op), e, a);
		}
		printf("%s%s\n", source ? " " : "", source ? source : "");
	}
	fflush(stdout);
}

struct mon;
struct mon_dev;
static int mon_dump_rec(struct mon *m, struct mon_dev *md, const struct vrec *r);

struct dump_arg {
	uint32_t cs;
	uint64_t n;
	struct mon *m;		/* monitor: records go to mon_dump_rec() */
	struct mon_dev *md;
};

static int dump_cb(const struct nlattr **tb, void *arg)
{
	struct dump_arg *a = arg;
	struct vrec r;

	fill_rec(tb, &r);
	if (a->m)
		return mon_dump_rec(a->m, a->md, &r);
	print_rec(&r, a->cs, NULL, a->n == 0);
	a->n++;
	return 0;
}

static int nl_dump_records(struct vnl *v, const char *dev, uint64_t from, struct dump_arg *a)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = vnl_msg(v, buf, VDIRT_CMD_MISMATCH_GET, NLM_F_DUMP);

	vnl_put_dev(nlh, dev);
	if (from)
		mnl_attr_put_u64(nlh, VDIRT_A_REC_SEQ, from);
	return vnl_talk(v, nlh, dump_cb, a);
}

static int cmd_report(int argc, char **argv)
{
	struct dump_arg a;
	struct devinfo d;
	struct vnl v;
	int r;

	if (argc != 1) {
		err("usage: vdirtctl report <name> [--json]");
		return EXIT_USAGE;
	}
	r = nl_open_dev(&v, argv[0], &d);
	if (r)
		goto out;
	memset(&a, 0, sizeof(a));
	a.cs = d.cluster_size;
	if (opt_json)
		printf("[\n");
	r = nl_dump_records(&v, argv[0], 0, &a);
	if (opt_json)
		printf("%s]\n", a.n ? "\n" : "");
	else if (!a.n && !opt_quiet)
		printf("%s: no mismatches recorded\n", argv[0]);
	if (r)
		err("%s: report: %s", argv[0], strerror(-r));
out:
	vnl_close(&v);
	return r;
}

static int cmd_clear(int argc, char **argv)
{
	return cmd_change(argc, argv, "clear", VDIRT_CMD_MISMATCH_CLEAR, "clear mismatches");
}

static int cmd_scan(int argc, char **argv)
{
	struct devinfo d0, d;
	struct vnl v;
	int r, show, stop = 0;

	if (argc == 2 && !strcmp(argv[1], "stop"))
		stop = 1;
	else if (argc != 1) {
		err("usage: vdirtctl scan <name> [--wait] | vdirtctl scan <name> stop");
		return EXIT_USAGE;
	}
	if (stop)
		return nl_change(argv[0], VDIRT_CMD_SCAN_STOP, "scan stop", false);
	r = nl_open_dev(&v, argv[0], &d0);
	if (r)
		goto out;
	vnl_close(&v);
	r = nl_change(argv[0], VDIRT_CMD_SCAN_START, "scan", false);
	if (r || !o.wait)
		return r;
	r = vnl_open(&v);
	if (r)
		goto out;
	show = o.progress < 0 ? isatty(2) && !opt_quiet : o.progress;
	for (;;) {
		r = nl_dev_get(&v, argv[0], &d);
		if (r)
			goto out;
		if (show)
			progress("scanning", d.scan_pos, d.nr_clusters, !d.scan_running);
		if (!d.scan_running)
			break;
		if (interrupted) {
			r = -EINTR;
			goto out;
		}
		usleep(200000);
	}
	if (opt_json) {
		printf("{\"device\":");
		json_str(stdout, argv[0]);
		printf(",\"clusters\":%" PRIu64 ",\"new_records\":%" PRIu64 ",\"records\":%"
		       PRIu64 ",\"read_mismatches\":%" PRIu64 "}\n", d.nr_clusters,
		       d.log_head - d0.log_head, d.log_head - d.log_first, d.read_mismatches);
	}
	if (!opt_json && !opt_quiet)
		printf("%s: scan done, %" PRIu64 " new mismatch record(s), %" PRIu64
		       " recorded\n", argv[0], d.log_head - d0.log_head, d.log_head - d.log_first);
	/* mismatches found by this pass, or still recorded (a cluster is recorded once) */
	if (d.log_head != d0.log_head || d.log_head > d.log_first)
		r = EXIT_MISMATCH;
out:
	vnl_close(&v);
	return r;
}

/* ---- hashes (current and baseline digests of a cluster range) ---- */

struct hash_arg {
	unsigned int ds;
	uint64_t n;
};

static int hash_cb(const struct nlattr **tb, void *arg)
{
	struct hash_arg *a = arg;
	uint64_t first = nla_u64(tb, VDIRT_A_FIRST_CLUSTER, 0), cnt = nla_u64(tb, VDIRT_A_COUNT, 0);
	const uint8_t *valid, *cur, *base;
	char hc[129], hb[129];
	uint64_t i;

	if (!tb[VDIRT_A_VALID] || !tb[VDIRT_A_DIGESTS] || !tb[VDIRT_A_BASELINE_DIGESTS] ||
	    mnl_attr_get_payload_len(tb[VDIRT_A_VALID]) < cnt ||
	    mnl_attr_get_payload_len(tb[VDIRT_A_DIGESTS]) < cnt * a->ds ||
	    mnl_attr_get_payload_len(tb[VDIRT_A_BASELINE_DIGESTS]) < cnt * a->ds)
		return -EBADMSG;
	valid = mnl_attr_get_payload(tb[VDIRT_A_VALID]);
	cur = mnl_attr_get_payload(tb[VDIRT_A_DIGESTS]);
	base = mnl_attr_get_payload(tb[VDIRT_A_BASELINE_DIGESTS]);
	for (i = 0; i < cnt; i++) {
		if (valid[i] & VDIRT_HV_CURRENT)
			hex(hc, cur + i * a->ds, a->ds);
		else
			strcpy(hc, "-");
		if (valid[i] & VDIRT_HV_BASELINE)
			hex(hb, base + i * a->ds, a->ds);
		else
			strcpy(hb, "-");
		if (opt_json)
			printf("%s{\"cluster\":%" PRIu64 ",\"current\":%s%s%s,\"baseline\":%s%s%s}",
			       a->n ? ",\n" : "", first + i,
			       *hc == '-' ? "" : "\"", *hc == '-' ? "null" : hc, *hc == '-' ? "" : "\"",
			       *hb == '-' ? "" : "\"", *hb == '-' ? "null" : hb, *hb == '-' ? "" : "\"");
		else
			printf("%" PRIu64 " %s %s\n", first + i, hc, hb);
		a->n++;
	}
	return 0;
}

static int cmd_hashes(int argc, char **argv)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct hash_arg a = { 0, 0 };
	struct devinfo d;
	struct vnl v;
	uint64_t first = 0, count = 0;
	int r;

	if (argc < 1 || argc > 3 || (argc >= 2 && parse_u64(argv[1], &first)) ||
	    (argc == 3 && parse_u64(argv[2], &count))) {
		err("usage: vdirtctl hashes <name> [<first_cluster> [<count>]] [--json]");
		return EXIT_USAGE;
	}
	r = nl_open_dev(&v, argv[0], &d);
	if (r)
		goto out;
	a.ds = d.digest_size;
	nlh = vnl_msg(&v, buf, VDIRT_CMD_HASH_GET, NLM_F_DUMP);
	vnl_put_dev(nlh, argv[0]);
	mnl_attr_put_u64(nlh, VDIRT_A_FIRST_CLUSTER, first);
	if (count)
		mnl_attr_put_u64(nlh, VDIRT_A_COUNT, count);
	if (opt_json)
		printf("[\n");
	r = vnl_talk(&v, nlh, hash_cb, &a);
	if (opt_json)
		printf("%s]\n", a.n ? "\n" : "");
	if (r)
		err("%s: hashes: %s", argv[0], strerror(-r));
out:
	vnl_close(&v);
	return r;
}

/* ---- monitor ---- */

#define MON_MAX 64
struct mon_dev {
	char name[VDIRT_DEV_NAME_MAX];
	char hash[64];
	uint32_t major, minor;
	uint64_t next;		/* next record number expected */
	uint32_t cs;
};

struct mon {
	struct vnl ctl;		/* for dumps */
	struct mon_dev dev[MON_MAX];
	int ndev;
	char **filter;
	int nfilter;
	uint64_t printed;
	uint64_t gaps;		/* sequence gaps filled from dumps */
	uint64_t lost;		/* records gone before we could read them */
	int journal_errors;
	/* --prometheus-textfile */
	struct vprom_dev prom[MON_MAX];
	char prom_name[MON_MAX][VDIRT_DEV_NAME_MAX];
	int nprom;
	int prom_dirty;		/* an event since the last write */
	uint64_t prom_next;	/* next periodic write, ns (CLOCK_MONOTONIC) */
	int prom_err;		/* last write's error, reported once */
};

static struct mon_dev *mon_find(struct mon *m, const char *name)
{
	int i;

	for (i = 0; i < m->ndev; i++)
		if (!strcmp(m->dev[i].name, name))
			return &m->dev[i];
	return NULL;
}

static int mon_wanted(struct mon *m, const char *name)
{
	int i;

	if (!m->nfilter)
		return 1;
	for (i = 0; i < m->nfilter; i++)
		if (!strcmp(m->filter[i], name))
			return 1;
	return 0;
}

/* watch a device from record number next on; NULL when there are too many */
static struct mon_dev *mon_add(struct mon *m, const struct devinfo *d, uint64_t next)
{
	struct mon_dev *md;

	if (m->ndev >= MON_MAX) {
		err("monitor: more than %d devices, not watching %s", MON_MAX, d->name);
		return NULL;
	}
	md = &m->dev[m->ndev++];
	snprintf(md->name, sizeof(md->name), "%s", d->name);
	snprintf(md->hash, sizeof(md->hash), "%s", d->hash);
	md->major = d->major;
	md->minor = d->minor;
	md->cs = d->cluster_size;
	md->next = next;
	return md;
}

static int mon_list_cb(const struct nlattr **tb, void *arg)
{
	struct mon *m = arg;
	struct devinfo d;

	fill_devinfo(tb, &d);
	if (!mon_wanted(m, d.name) || mon_find(m, d.name))
		return 0;
	if (mon_add(m, &d, d.log_head))
		dbg("monitor: %s from record %" PRIu64, d.name, d.log_head);
	return 0;
}

static int mon_done(struct mon *m)
{
	return o.count && m->printed >= o.count;
}

/* one record out: to the journal (--journal) or stdout */
static void mon_emit(struct mon *m, struct mon_dev *md, const struct vrec *r,
		     const char *source)
{
	int e;

	m->prom_dirty = 1;
	if (r->kind != VREC_KIND_GAP)
		m->printed++;
	if (o.journal) {
		e = vj_send(r, md->cs, md->hash);
		if (!e)
			return;
		if (!m->journal_errors++)
			err("journal: %s; printing events on stdout", strerror(-e));
	}
	if (r->kind == VREC_KIND_GAP)
		err("%s: %" PRIu64 " mismatch records lost from record %" PRIu64
		    " (overwritten or cleared before the monitor read them)", r->dev, r->aux[0],
		    r->seq);
	else
		print_rec(r, md->cs, source, 1);
}

/* records [md->next, upto) are gone (the ring wrapped, or a clear) */
static void mon_gap(struct mon *m, struct mon_dev *md, uint64_t upto)
{
	struct vrec g;

	memset(&g, 0, sizeof(g));
	snprintf(g.dev, sizeof(g.dev), "%s", md->name);
	g.major = md->major;
	g.minor = md->minor;
	g.kind = VREC_KIND_GAP;
	g.seq = md->next;
	g.aux[0] = upto - md->next;
	g.time = now_ns();
	m->lost += g.aux[0];
	mon_emit(m, md, &g, NULL);
	md->next = upto;
}

static int mon_dump_rec(struct mon *m, struct mon_dev *md, const struct vrec *r)
{
	if (mon_done(m) || r->rec_seq < md->next)
		return 0;	/* enough, or already printed */
	if (r->rec_seq > md->next)
		mon_gap(m, md, r->rec_seq);
	mon_emit(m, md, r, "dump");
	md->next = r->rec_seq + 1;
	return 0;
}

/* print records from md->next on from a dump */
static int mon_fill(struct mon *m, struct mon_dev *md)
{
	struct dump_arg a = { .m = m, .md = md };

	dbg("monitor: filling %s from record %" PRIu64, md->name, md->next);
	return nl_dump_records(&m->ctl, md->name, md->next, &a);
}

static int mon_event_cb(const struct nlattr **tb, void *arg)
{
	struct mon *m = arg;
	struct mon_dev *md;
	struct vrec r;
	int ret;

	fill_rec(tb, &r);
	if (!mon_wanted(m, r.dev))
		return 0;
	md = mon_find(m, r.dev);
	if (!md) {
		struct devinfo d;

		/* a device that appeared after we started: from its first stored record */
		if (nl_dev_get(&m->ctl, r.dev, &d))
			return 0;
		md = mon_add(m, &d, d.log_first);
		if (!md)
			return 0;
		dbg("monitor: new device %s from record %" PRIu64, d.name, d.log_first);
	}
	if (r.seq < md->next)
		return 0;	/* already printed from a dump */
	if (r.seq > md->next) {
		m->gaps++;
		dbg("monitor: %s: gap, expected record %" PRIu64 ", got %" PRIu64, r.dev,
		    md->next, r.seq);
		ret = mon_fill(m, md);
		if (ret)
			return ret;
		if (mon_done(m))
			return 1;
		if (r.seq < md->next)
			return 0;
		if (r.seq > md->next)
			mon_gap(m, md, r.seq);
	}
	mon_emit(m, md, &r, "event");
	md->next = r.seq + 1;
	return mon_done(m) ? 1 : 0;
}

static int mon_idle_check(struct mon *m)
{
	struct devinfo d;
	int i, r;

	for (i = 0; i < m->ndev && !mon_done(m); i++) {
		if (nl_dev_get(&m->ctl, m->dev[i].name, &d))
			continue;	/* removed meanwhile */
		if (d.log_head > m->dev[i].next) {
			m->gaps++;
			dbg("monitor: %s: log head %" PRIu64 " beyond %" PRIu64 ", filling",
			    m->dev[i].name, d.log_head, m->dev[i].next);
			r = mon_fill(m, &m->dev[i]);
			if (r)
				return r;
		}
	}
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int mon_prom_cb(const struct nlattr **tb, void *arg)
{
	struct mon *m = arg;
	struct vprom_dev *p;
	struct devinfo d;

	fill_devinfo(tb, &d);
	if (!mon_wanted(m, d.name) || m->nprom >= MON_MAX)
		return 0;
	p = &m->prom[m->nprom];
	snprintf(m->prom_name[m->nprom], sizeof(m->prom_name[0]), "%s", d.name);
	p->name = m->prom_name[m->nprom++];
	p->state = d.state;
	p->read_mismatches = d.read_mismatches;
	p->write_drift = d.write_drift;
	p->reads_verified = d.reads_verified;
	p->measured = d.measured;
	p->baselined = d.baselined;
	p->meta_errors = d.meta_errors;
	p->events_lost = d.events_dropped;
	return 0;
}

/* --prometheus-textfile: every device's counters, now; 0 or -errno */
static int mon_prom(struct mon *m)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int r;

	m->nprom = 0;
	m->prom_dirty = 0;
	m->prom_next = mono_ns() + o.interval * 1000000000ULL;
	nlh = vnl_msg(&m->ctl, buf, VDIRT_CMD_DEV_GET, NLM_F_DUMP);
	r = vnl_talk(&m->ctl, nlh, mon_prom_cb, m);
	if (!r)
		r = vprom_write(o.prom, m->prom, m->nprom);
	if (r && r != m->prom_err)
		err("%s: cannot write the metrics: %s", o.prom, strerror(-r));
	else if (!r && m->prom_err)
		err("%s: written again", o.prom);
	m->prom_err = r;
	dbg("monitor: %d devices' metrics to %s: %d", m->nprom, o.prom, r);
	return r;
}

static int cmd_monitor(int argc, char **argv)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct vnl ev;
	struct mon *m;
	int r, i;

	if (o.all && argc) {
		err("monitor: --all or device names, not both");
		return EXIT_USAGE;
	}
	if (o.journal && !vj_available()) {
		err("monitor --journal: vdirtctl was built without libsystemd (WITH_JOURNAL=no)");
		return -EOPNOTSUPP;
	}
	/* libsystemd drops entries silently when journald does not run */
	if (o.journal && access(VJ_SOCKET, W_OK)) {
		err("monitor --journal: no journald (%s: %s); printing events on stdout",
		    VJ_SOCKET, strerror(errno));
		o.journal = 0;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->filter = argv;
	m->nfilter = argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	r = vnl_open(&ev);
	if (r)
		goto out_ev;
	r = vnl_open(&m->ctl);
	if (r)
		goto out;
	/* join first, then learn where each device's records stand: nothing is missed */
	r = vnl_join_events(&ev);
	if (r) {
		err("cannot subscribe to events: %s", strerror(-r));
		goto out;
	}
	{
		/* testing aid: a tiny buffer forces overruns (sequence gaps) */
		const char *t = getenv("VDIRTCTL_TEST_RCVBUF");
		int sz = t ? atoi(t) : 4 << 20;

		setsockopt(mnl_socket_get_fd(ev.nl), SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	nlh = vnl_msg(&m->ctl, buf, VDIRT_CMD_DEV_GET, NLM_F_DUMP);
	r = vnl_talk(&m->ctl, nlh, mon_list_cb, m);
	if (r) {
		err("cannot list devices: %s", strerror(-r));
		goto out;
	}
	for (i = 0; i < argc; i++)
		if (!mon_find(m, argv[i])) {
			err("%s: no such vdirt device", argv[i]);
			r = -ENODEV;
			goto out;
		}
	/* a textfile that cannot be written is a configuration error: say so now */
	if (o.prom) {
		r = mon_prom(m);
		if (r)
			goto out;
	}
	if (getenv("VDIRTCTL_TEST_MONITOR_READY"))
		close(open(getenv("VDIRTCTL_TEST_MONITOR_READY"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	/* kernels that cannot restrict the group unicast to subscribers */
	nlh = vnl_msg(&m->ctl, buf, VDIRT_CMD_EVENTS_SUBSCRIBE, 0);
	nlh->nlmsg_seq = ++ev.seq;
	nlh->nlmsg_flags &= ~NLM_F_ACK;
	mnl_socket_sendto(ev.nl, nlh, nlh->nlmsg_len);
	while (!mon_done(m) && !interrupted) {
		const char *slow = getenv("VDIRTCTL_TEST_SLOW_MS");

		struct pollfd pfd = { .fd = mnl_socket_get_fd(ev.nl), .events = POLLIN };

		if (slow)	/* testing aid: a slow reader */
			usleep(atoi(slow) * 1000);
		/*
		 * Idle for a second: events lost silently (dropped by the rate
		 * limit, or while the socket was still congested after an
		 * overrun) show as a log head beyond what we printed.
		 */
		if (o.prom && (m->prom_dirty || mono_ns() >= m->prom_next))
			mon_prom(m);
		r = poll(&pfd, 1, 1000);
		if (r < 0 && errno == EINTR) {
			r = 0;
			continue;	/* a signal: the loop condition decides */
		}
		if (r == 0) {
			r = mon_idle_check(m);
			if (r)
				break;
			continue;
		}
		r = vnl_recv_events(&ev, mon_event_cb, m);
		if (r == 1) {
			r = 0;
			break;
		}
		if (r == -ENOBUFS) {
			/* the socket overflowed: fill every device from its dump */
			m->gaps++;
			dbg("monitor: receive buffer overrun, filling from dumps");
			for (i = 0; i < m->ndev && !mon_done(m); i++) {
				r = mon_fill(m, &m->dev[i]);
				if (r)
					goto out;
			}
			r = 0;
			continue;
		}
		if (r == -EINTR) {
			r = 0;
			continue;
		}
		if (r)
			break;
	}
	if (interrupted && !r)
		r = 0;
	if (o.prom && m->prom_dirty)
		mon_prom(m);
	dbg("monitor: %" PRIu64 " printed, %" PRIu64 " gaps filled, %" PRIu64 " records lost",
	    m->printed, m->gaps, m->lost);
out:
	vnl_close(&m->ctl);
out_ev:
	vnl_close(&ev);
	free(m);
	return r;
}

/* ---- devices through netlink (geometry, counters, event state) ---- */

static int nlist_cb(const struct nlattr **tb, void *arg)
{
	struct devinfo d;
	int *n = arg;

	fill_devinfo(tb, &d);
	if (opt_json) {
		printf("%s{\"name\":", (*n)++ ? ",\n" : "");
		json_str(stdout, d.name);
		printf(",\"major\":%u,\"minor\":%u,\"data_sectors\":%" PRIu64 ",\"clusters\":%"
		       PRIu64 ",\"cluster_size\":%u,\"hash\":\"%s\",\"digest_size\":%u,"
		       "\"state\":\"%s\",\"mode\":\"%s\",\"read_verify\":%s,\"fail_open\":%s,"
		       "\"measured\":%" PRIu64 ",\"baselined\":%" PRIu64 ",\"reads_verified\":%"
		       PRIu64 ",\"read_mismatches\":%" PRIu64 ",\"write_drift\":%" PRIu64
		       ",\"unaligned\":%" PRIu64 ",\"meta_errors\":%" PRIu64 ",\"tofu\":%" PRIu64
		       ",\"scan_running\":%s,\"scan_pos\":%" PRIu64 ",\"log_first\":%" PRIu64
		       ",\"log_head\":%" PRIu64 ",\"events_dropped\":%" PRIu64
		       ",\"recover_pos\":%" PRIu64 ",\"recover_total\":%" PRIu64 "}",
		       d.major, d.minor, d.data_sectors, d.nr_clusters, d.cluster_size, d.hash,
		       d.digest_size,
		       d.state == 0 ? "ok" : d.state == 1 ? "degraded" : "failed",
		       d.enforce ? "enforce" : "audit", d.read_verify ? "true" : "false",
		       d.fail_open ? "true" : "false", d.measured, d.baselined,
		       d.reads_verified, d.read_mismatches, d.write_drift, d.unaligned,
		       d.meta_errors, d.tofu, d.scan_running ? "true" : "false", d.scan_pos,
		       d.log_first, d.log_head, d.events_dropped, d.recover_pos, d.recover_total);
	} else {
		char rec[48];

		recovering_str(rec, sizeof(rec), &d);
		printf("%-20s %3u:%-5u %10" PRIu64 " %6u %-12s %-9s %-8s %10" PRIu64 " %10" PRIu64
		       " %8" PRIu64 " %s\n", d.name, d.major, d.minor, d.nr_clusters, d.cluster_size,
		       d.hash, d.state == 0 ? "ok" : d.state == 1 ? "degraded" : "failed",
		       d.enforce ? "enforce" : "audit", d.read_mismatches, d.write_drift,
		       d.events_dropped, rec);
	}
	return 0;
}

static int cmd_devices(int argc, char **argv)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct vnl v;
	int n = 0, r;

	(void)argv;
	if (argc) {
		err("usage: vdirtctl devices [--json]");
		return EXIT_USAGE;
	}
	r = vnl_open(&v);
	if (r)
		goto out;
	nlh = vnl_msg(&v, buf, VDIRT_CMD_DEV_GET, NLM_F_DUMP);
	if (opt_json)
		printf("[\n");
	else
		printf("%-20s %9s %10s %6s %-12s %-9s %-8s %10s %10s %8s %s\n", "NAME", "DEV",
		       "CLUSTERS", "CSIZE", "HASH", "STATE", "MODE", "MISMATCH", "DRIFT",
		       "DROPPED", "RECOVERING");
	r = vnl_talk(&v, nlh, nlist_cb, &n);
	if (opt_json)
		printf("%s]\n", n ? "\n" : "");
	if (r)
		err("devices: %s", strerror(-r));
out:
	vnl_close(&v);
	return r;
}

/* ------------------------------------------------------------------ */

struct command {
	const char *name;
	const char *sub;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
};

static const struct command commands[] = {
	{ "meta-size", NULL, cmd_meta_size, "<data_size|data_dev>",
	  "print the metadata bytes needed [--cluster-size N] [--hash ALG]" },
	{ "format", NULL, cmd_format, "<data_dev> <meta_dev>",
	  "write the metadata superblock [--cluster-size N] [--hash ALG] [--force]" },
	{ "open", NULL, cmd_open, "<data_dev> <meta_dev> <name>",
	  "create /dev/mapper/<name> [--mode audit|enforce] [--no-read-verify] [--fail-open] [--cache-mb N]" },
	{ "close", NULL, cmd_close, "<name>", "remove the device" },
	{ "status", NULL, cmd_status, "<name>", "geometry, state and counters" },
	{ "list", NULL, cmd_list, "", "all vdirt devices" },
	{ "check", NULL, cmd_check, "<meta_dev>",
	  "offline: both superblock copies, the one in use, regions to recover (exit 0/1/2)" },
	{ "devices", NULL, cmd_devices, "", "all vdirt devices, from the kernel's netlink family" },
	{ "baseline", "build", cmd_baseline_build, "<image_or_device> -o <file>",
	  "hash a golden image [--cluster-size N] [--hash ALG] [--threads N]" },
	{ "baseline", "show", cmd_baseline_show, "<file>", "check a baseline file, print its header" },
	{ "baseline", "load", cmd_baseline_load, "<name> <file>", "load a baseline file (atomically)" },
	{ "baseline", "capture", cmd_baseline_capture, "<name>", "current measurements become the baseline" },
	{ "baseline", "clear", cmd_baseline_clear, "<name>", "forget the baseline" },
	{ "monitor", NULL, cmd_monitor, "[<name>...|--all]",
	  "print mismatch events as they happen [--count N] [--journal] [--prometheus-textfile PATH [--interval S]]" },
	{ "report", NULL, cmd_report, "<name>", "every recorded mismatch" },
	{ "clear", NULL, cmd_clear, "<name>", "clear the recorded mismatches" },
	{ "scan", NULL, cmd_scan, "<name> [stop]", "start (or stop) a full verification pass [--wait]" },
	{ "hashes", NULL, cmd_hashes, "<name> [<first> [<count>]]", "current and baseline digests" },
	{ NULL, NULL, NULL, NULL, NULL }
};

static void usage(FILE *f)
{
	const struct command *c;
	unsigned int i;

	fprintf(f, "vdirtctl %s - manage dm-vdirt integrity-measured devices\n\n"
		"Usage: vdirtctl [options] <command> [<args>]\n\nCommands:\n", VDIRTCTL_VERSION);
	for (c = commands; c->name; c++) {
		char head[80];

		snprintf(head, sizeof(head), "%s%s%s %s", c->name, c->sub ? " " : "",
			 c->sub ? c->sub : "", c->args);
		fprintf(f, "  %-44s %s\n", head, c->help);
	}
	fprintf(f, "\nOptions:\n"
		"  -c, --cluster-size N   cluster size in bytes (default %u)\n"
		"  -h, --hash ALG         hash algorithm (default %s):", DEFAULT_CLUSTER, DEFAULT_HASH);
	for (i = 0; vh_algs(i); i++)
		fprintf(f, " %s", vh_algs(i)->name);
	fprintf(f, "\n"
		"  -o, --output FILE      output file (baseline build)\n"
		"  -t, --threads N        hashing threads (default: CPUs)\n"
		"  -f, --force            format over an existing superblock\n"
		"      --mode M           audit or enforce (open)\n"
		"      --no-read-verify   do not verify reads (open)\n"
		"      --fail-open        keep I/O going when measuring fails (open)\n"
		"      --cache-mb N       metadata cache bound (open)\n"
		"  -n, --count N          monitor: exit after N events\n"
		"      --all              monitor: every device, also those created later (default)\n"
		"      --journal          monitor: events as structured journal entries%s\n"
		"      --prometheus-textfile PATH   monitor: node_exporter textfile metrics\n"
		"      --interval S       monitor: rewrite the textfile every S seconds (default 15)\n"
		"  -w, --wait             scan: wait for the end, exit %d if mismatches were found\n"
		"      --progress/--no-progress   force the progress bar on or off\n"
		"  -j, --json             machine-readable output\n"
		"  -q, --quiet            print nothing but errors\n"
		"  -d, --debug            debug lines on stderr, prefixed '#'\n"
		"      --help, --version\n\n"
		"Exit codes: 0 ok, 1 failure, 2 usage, 3 permission, 4 no such device/file,\n"
		"5 busy or exists, 6 invalid data, 7 I/O error, 8 too small, 9 not supported,\n"
		"10 mismatches found, 11 out of memory, 12 interrupted.  See vdirtctl(8).\n",
		vj_available() ? "" : " (not built in)", EXIT_MISMATCH);
}

enum { O_MODE = 256, O_NO_RV, O_FAIL_OPEN, O_CACHE, O_HELP, O_VERSION, O_PROGRESS,
       O_NO_PROGRESS, O_ALL, O_JOURNAL, O_PROM, O_INTERVAL };

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "cluster-size", required_argument, NULL, 'c' },
		{ "hash", required_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 't' },
		{ "force", no_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "wait", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "debug", no_argument, NULL, 'd' },
		{ "mode", required_argument, NULL, O_MODE },
		{ "no-read-verify", no_argument, NULL, O_NO_RV },
		{ "fail-open", no_argument, NULL, O_FAIL_OPEN },
		{ "cache-mb", required_argument, NULL, O_CACHE },
		{ "progress", no_argument, NULL, O_PROGRESS },
		{ "no-progress", no_argument, NULL, O_NO_PROGRESS },
		{ "all", no_argument, NULL, O_ALL },
		{ "journal", no_argument, NULL, O_JOURNAL },
		{ "prometheus-textfile", required_argument, NULL, O_PROM },
		{ "interval", required_argument, NULL, O_INTERVAL },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	const struct command *c;
	struct sigaction sa;
	uint64_t v;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "c:h:o:t:fn:wjqd", lo, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (parse_size(optarg, &v) || v > UINT32_MAX) {
				err("--cluster-size: bad number '%s'", optarg);
				return EXIT_USAGE;
			}
			o.cluster_size = v;
			break;
		case 'h':
			o.hash = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 't':
			if (parse_u64(optarg, &v) || !v || v > 256) {
				err("--threads: 1..256");
				return EXIT_USAGE;
			}
			o.threads = v;
			break;
		case 'f':
			o.force = 1;
			break;
		case 'n':
			if (parse_u64(optarg, &v)) {
				err("--count: bad number '%s'", optarg);
				return EXIT_USAGE;
			}
			o.count = v;
			break;
		case 'w':
			o.wait = 1;
			break;
		case 'j':
			opt_json = 1;
			break;
		case 'q':
			opt_quiet = 1;
			break;
		case 'd':
			opt_debug++;
			break;
		case O_MODE:
			o.mode = optarg;
			break;
		case O_NO_RV:
			o.no_read_verify = 1;
			break;
		case O_FAIL_OPEN:
			o.fail_open = 1;
			break;
		case O_CACHE:
			if (parse_u64(optarg, &v) || v > 1 << 20) {
				err("--cache-mb: bad number '%s'", optarg);
				return EXIT_USAGE;
			}
			o.cache_mb = v;
			break;
		case O_PROGRESS:
			o.progress = 1;
			break;
		case O_NO_PROGRESS:
			o.progress = 0;
			break;
		case O_ALL:
			o.all = 1;
			break;
		case O_JOURNAL:
			o.journal = 1;
			break;
		case O_PROM:
			o.prom = optarg;
			break;
		case O_INTERVAL:
			if (parse_u64(optarg, &v) || !v || v > 86400) {
				err("--interval: 1..86400 seconds");
				return EXIT_USAGE;
			}
			o.interval = v;
			break;
		case O_HELP:
			usage(stdout);
			return EXIT_OK;
		case O_VERSION:
			printf("vdirtctl %s\n", VDIRTCTL_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	for (c = commands; c->name; c++) {
		if (strcmp(c->name, argv[0]))
			continue;
		if (c->sub && (argc < 2 || strcmp(c->sub, argv[1])))
			continue;
		break;
	}
	if (!c->name) {
		err("unknown command '%s%s%s'; see vdirtctl --help", argv[0],
		    argc > 1 && !strcmp(argv[0], "baseline") ? " " : "",
		    argc > 1 && !strcmp(argv[0], "baseline") ? argv[1] : "");
		return EXIT_USAGE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	vdm_init();
	dbg("command %s%s%s", c->name, c->sub ? " " : "", c->sub ? c->sub : "");
	if (c->sub)
		r = c->fn(argc - 2, argv + 2);
	else
		r = c->fn(argc - 1, argv + 1);
	if (fflush(stdout) && !r)
		r = -EIO;
	if (r > 0)
		return r;	/* an exit code already */
	dbg("result %d (%s) exit %d", r, r ? strerror(-r) : "ok", errno_to_exit(r));
	return errno_to_exit(r);
}
