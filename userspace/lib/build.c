// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: baseline build.  The source is cut into 4 MiB work items taken
 * by a pool of threads; holes get the zero digest without being read, data
 * extents are hashed a few hundred KiB at a time from a read-only mapping
 * (or pread).  The digests go straight into the mapped output file, which
 * is sealed (vb_seal) and renamed into place, or into an anonymous mapping
 * without an output file.  The attestation root (merkle.c) is computed
 * over them after.  Prints nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "baseline.h"
#include "build.h"
#include "merkle.h"
#include "util.h"

/* bytes read at once by a build thread: well inside a core's L2 cache */
#define BUILD_READ	(256U << 10)

struct build {
	const struct vbuild_req *req;
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
	int error;		/* first error, atomic */
};

static int stopped(const struct build *b)
{
	return b->req->stop && *b->req->stop;
}

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

/* one work item: clusters [c0, c1) */
static int build_item(struct build *b, struct vh_ctx *ctx, uint8_t *buf, size_t bufsz,
		      uint64_t c0, uint64_t c1)
{
	const unsigned int ds = b->alg->digest_size;
	uint64_t start = c0 * b->cs, end = c1 * b->cs < b->size ? c1 * b->cs : b->size;
	uint64_t c, pos = start;
	int r;

	/* clusters in holes get the zero digest without reading */
	for (c = c0; c < c1; c++)
		memcpy(b->out + c * ds, b->zero_digest, ds);
	while (pos < end) {
		uint64_t ds0, de, rs, re;

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
		if (r)
			return r;
		pos = re;
	}
	return 0;
}

static void *build_worker(void *arg)
{
	struct build *b = arg;
	struct vh_ctx *ctx = vh_ctx_new(b->alg);
	size_t bufsz = BUILD_READ > b->cs ? BUILD_READ : b->cs;
	uint8_t *buf = aligned_alloc(4096, bufsz);

	if (!ctx || !buf) {
		__atomic_store_n(&b->error, -ENOMEM, __ATOMIC_RELAXED);
		goto out;
	}
	for (;;) {
		uint64_t w = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
		uint64_t c0 = w * b->chunk, c1;
		int r;

		if (c0 >= b->nr || b->error || stopped(b))
			break;
		c1 = c0 + b->chunk < b->nr ? c0 + b->chunk : b->nr;
		r = build_item(b, ctx, buf, bufsz, c0, c1);
		if (r) {
			__atomic_store_n(&b->error, r, __ATOMIC_RELAXED);
			break;
		}
		__atomic_fetch_add(&b->done, c1 - c0, __ATOMIC_RELAXED);
	}
out:
	free(buf);
	vh_ctx_free(ctx);
	return NULL;
}

/* run the pool over every cluster; 0 or -errno */
static int build_run(struct build *b, int nth)
{
	const struct vbuild_req *q = b->req;
	pthread_t *th = calloc(nth, sizeof(*th));
	int i;

	if (!th)
		return -ENOMEM;
	for (i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, build_worker, b)) {
			nth = i;
			b->error = -EAGAIN;
			break;
		}
	while (q->progress && __atomic_load_n(&b->done, __ATOMIC_RELAXED) < b->nr && !b->error &&
	       !stopped(b)) {
		q->progress(q->progress_arg, __atomic_load_n(&b->done, __ATOMIC_RELAXED), b->nr, 0);
		usleep(200000);
		if (nth == 0)
			break;
	}
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	free(th);
	if (q->progress)
		q->progress(q->progress_arg, b->done, b->nr, 1);
	if (!b->error && stopped(b))
		return -EINTR;
	return b->error;
}

static int zero_digest(struct build *b)
{
	uint8_t *zbuf = calloc(1, b->cs);
	struct vh_ctx *zc = vh_ctx_new(b->alg);
	int r = 0;

	if (!zbuf || !zc || vh_digest(zc, zbuf, b->cs, b->zero_digest))
		r = -ENOMEM;
	free(zbuf);
	vh_ctx_free(zc);
	return r;
}

/* the header, the seal and the data on disk */
static int build_finish(struct build *b, uint8_t *map, size_t flen, int ofd,
			struct vbuild_res *res)
{
	const unsigned int ds = b->alg->digest_size;
	struct vb_info info;
	uint64_t c;
	int r;

	/* zero clusters: count digests equal to the zero digest (holes and zeros) */
	res->zero_clusters = 0;
	for (c = 0; c < b->nr; c++)
		if (!memcmp(b->out + c * ds, b->zero_digest, ds))
			res->zero_clusters++;
	memset(&info, 0, sizeof(info));
	info.cluster_size = b->cs;
	info.digest_size = ds;
	info.nr_clusters = b->nr;
	info.source_size = b->size;
	info.created_ns = now_ns();
	info.zero_clusters = res->zero_clusters;
	snprintf(info.hash_name, sizeof(info.hash_name), "%s", b->alg->name);
	vb_encode_header(&info, map);
	r = vb_seal(map, flen);
	if (r)
		return r;
	if (msync(map, flen, MS_SYNC) || fsync(ofd))
		return -errno;
	return 0;
}

/* the attestation root over the digests built, every cluster measured */
static int build_root(struct build *b, struct vbuild_res *res)
{
	struct vmerkle_geom g;

	memset(&g, 0, sizeof(g));
	g.nr_clusters = b->nr;
	g.cluster_size = b->cs;
	g.digest_size = b->alg->digest_size;
	snprintf(g.hash_name, sizeof(g.hash_name), "%s", b->alg->name);
	return vmerkle_root(&g, b->out, res->root);
}

/* output NULL: the digests into an anonymous mapping kept in res */
static int build_mem(struct build *b, struct vbuild_res *res)
{
	const unsigned int ds = b->alg->digest_size;
	size_t len = b->nr ? b->nr * ds : 1;
	uint64_t c;
	void *map;
	int r;

	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	b->out = map;
	r = build_run(b, b->req->threads);
	if (!r && b->req->root)
		r = build_root(b, res);
	if (r) {
		munmap(map, len);
		return r;
	}
	for (c = 0; c < b->nr; c++)
		if (!memcmp(b->out + c * ds, b->zero_digest, ds))
			res->zero_clusters++;
	res->map = map;
	res->map_len = len;
	res->digests = map;
	return 0;
}

void vbuild_free(struct vbuild_res *res)
{
	if (res->map)
		munmap(res->map, res->map_len);
	res->map = NULL;
	res->digests = NULL;
}

int vbuild(const struct vbuild_req *req, struct vbuild_res *res)
{
	uint8_t *map = MAP_FAILED;
	char tmp[PATH_MAX];
	struct build b;
	size_t flen = 0;
	int r, ofd;

	memset(res, 0, sizeof(*res));
	memset(&b, 0, sizeof(b));
	b.req = req;
	b.fd = req->fd;
	b.size = req->size;
	b.cs = req->cluster_size;
	b.alg = req->alg;
	b.nr = b.size / b.cs + !!(b.size % b.cs);
	b.chunk = (4U << 20) / b.cs;
	res->clusters = b.nr;
	r = zero_digest(&b);
	if (r)
		return r;
	if (b.size) {
		b.src = mmap(NULL, b.size, PROT_READ, MAP_SHARED, b.fd, 0);
		if (b.src == MAP_FAILED)
			b.src = NULL;	/* read it */
	}
	if (!req->output) {
		r = build_mem(&b, res);
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", req->output);
	res->output_failed = 1;
	/* renamed into place at the end: never over a device node or directory */
	r = vout_check(req->output);
	if (r)
		goto out;
	ofd = mkstemp(tmp);
	if (ofd < 0) {
		r = -errno;
		goto out;
	}
	flen = VB_HEADER_SIZE + b.nr * b.alg->digest_size;
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
	vlog(VLOG_DEBUG, "build: %" PRIu64 " bytes, %" PRIu64 " clusters of %u, %s, %d threads",
	     b.size, b.nr, b.cs, b.alg->name, req->threads);
	res->output_failed = 0;
	r = build_run(&b, req->threads);
	if (!r && req->root)
		r = build_root(&b, res);
	if (r)
		goto fail;
	res->output_failed = 1;
	r = build_finish(&b, map, flen, ofd, res);
	if (r)
		goto fail;
	munmap(map, flen);
	close(ofd);
	if (rename(tmp, req->output)) {
		r = -errno;
		res->output_failed = 1;
		unlink(tmp);
	}
	goto out;
fail:
	if (map != MAP_FAILED)
		munmap(map, flen);
	close(ofd);
	unlink(tmp);
out:
	if (b.src)
		munmap((void *)b.src, b.size);
	return r;
}
