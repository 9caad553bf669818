// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: the baseline file (baseline.h has its layout): header encoding
 * and checks, the file digest (seal), opening and validating a file.
 * Prints nothing: refusals come back as -errno with a message in msg.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline.h"
#include "hash.h"
#include <openssl/evp.h>

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

void vb_encode_header(const struct vb_info *in, uint8_t h[VB_HEADER_SIZE])
{
	memset(h, 0, VB_HEADER_SIZE);
	memcpy(h, VB_MAGIC, 8);
	put32(h + 8, VB_VERSION);
	put32(h + 12, VB_HEADER_SIZE);
	put32(h + 16, in->cluster_size);
	put32(h + 20, in->digest_size);
	put64(h + 24, in->nr_clusters);
	put64(h + 32, in->source_size);
	put64(h + 40, in->flags);
	put64(h + 48, in->created_ns);
	put64(h + 56, in->zero_clusters);
	memcpy(h + 64, in->hash_name, strnlen(in->hash_name, 63));
}

#define FAIL(e, ...) do { snprintf(msg, msglen, __VA_ARGS__); return (e); } while (0)

int vb_decode_header(const uint8_t *h, size_t len, struct vb_info *o,
		     char *msg, size_t msglen)
{
	const struct vh_alg *alg;
	uint64_t need;
	size_t i;

	if (len < VB_HEADER_SIZE)
		FAIL(-EBADMSG, "truncated: %zu bytes, a baseline header alone is %d",
		     len, VB_HEADER_SIZE);
	if (memcmp(h, VB_MAGIC, 8))
		FAIL(-EBADMSG, "not a vdirt baseline file (bad magic)");
	memset(o, 0, sizeof(*o));
	o->version = get32(h + 8);
	if (o->version != VB_VERSION)
		FAIL(-EPROTONOSUPPORT, "baseline format version %u, this vdirtctl reads %d",
		     o->version, VB_VERSION);
	if (get32(h + 12) != VB_HEADER_SIZE)
		FAIL(-EBADMSG, "bad header size %u", get32(h + 12));
	o->cluster_size = get32(h + 16);
	o->digest_size = get32(h + 20);
	o->nr_clusters = get64(h + 24);
	o->source_size = get64(h + 32);
	o->flags = get64(h + 40);
	o->created_ns = get64(h + 48);
	o->zero_clusters = get64(h + 56);
	memcpy(o->hash_name, h + 64, 64);
	if (o->hash_name[63])
		FAIL(-EBADMSG, "hash name not terminated");
	for (i = strlen(o->hash_name); i < 64; i++)
		if (h[64 + i])
			FAIL(-EBADMSG, "garbage after the hash name");
	for (i = 128; i < VB_DIGEST_OFF; i++)
		if (h[i])
			FAIL(-EBADMSG, "reserved header bytes not zero");
	if (o->flags)
		FAIL(-EPROTONOSUPPORT, "unknown flags 0x%llx", (unsigned long long)o->flags);
	if (o->cluster_size < 512 || o->cluster_size > 65536 ||
	    (o->cluster_size & (o->cluster_size - 1)))
		FAIL(-EBADMSG, "bad cluster size %u", o->cluster_size);
	alg = vh_find(o->hash_name);
	if (!alg)
		FAIL(-EBADMSG, "unknown hash '%s'", o->hash_name);
	if (alg->digest_size != o->digest_size)
		FAIL(-EBADMSG, "digest size %u does not match %s (%u)",
		     o->digest_size, alg->name, alg->digest_size);
	need = o->source_size / o->cluster_size +
	       !!(o->source_size % o->cluster_size);
	if (o->nr_clusters != need)
		FAIL(-EBADMSG, "cluster count %llu does not match source size %llu",
		     (unsigned long long)o->nr_clusters,
		     (unsigned long long)o->source_size);
	if (o->nr_clusters > (UINT64_MAX - VB_HEADER_SIZE) / 64)
		FAIL(-EBADMSG, "cluster count too large");
	if (o->zero_clusters > o->nr_clusters)
		FAIL(-EBADMSG, "zero cluster count larger than cluster count");
	return 0;
}

static int file_digest(const uint8_t *buf, size_t len, uint8_t out[32])
{
	static const uint8_t zero[32];
	EVP_MD_CTX *c;
	unsigned int n;
	int ok;

	c = EVP_MD_CTX_new();
	if (!c)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(c, buf, VB_DIGEST_OFF) &&
	     EVP_DigestUpdate(c, zero, 32) &&
	     EVP_DigestUpdate(c, buf + VB_HEADER_SIZE, len - VB_HEADER_SIZE) &&
	     EVP_DigestFinal_ex(c, out, &n);
	EVP_MD_CTX_free(c);
	return ok ? 0 : -EIO;
}

int vb_seal(uint8_t *buf, size_t len)
{
	if (len < VB_HEADER_SIZE)
		return -EINVAL;
	return file_digest(buf, len, buf + VB_DIGEST_OFF);
}

int vb_check(const uint8_t *buf, size_t len, struct vb_info *o,
	     char *msg, size_t msglen)
{
	uint8_t d[32];
	uint64_t want;
	int r;

	r = vb_decode_header(buf, len, o, msg, msglen);
	if (r)
		return r;
	want = VB_HEADER_SIZE + o->nr_clusters * o->digest_size;
	if (len < want)
		FAIL(-EBADMSG, "truncated: %zu bytes, expected %llu for %llu clusters",
		     len, (unsigned long long)want, (unsigned long long)o->nr_clusters);
	if (len > want)
		FAIL(-EBADMSG, "wrong size: %zu bytes, expected %llu (trailing data)",
		     len, (unsigned long long)want);
	r = file_digest(buf, len, d);
	if (r)
		FAIL(r, "cannot compute the file digest");
	if (memcmp(d, buf + VB_DIGEST_OFF, 32))
		FAIL(-EBADMSG, "corrupt: file digest does not match its contents");
	return 0;
}

int vb_open(const char *path, struct vb_file *f, char *msg, size_t msglen)
{
	struct stat st;
	int fd, r;

	memset(f, 0, sizeof(*f));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		FAIL(r, "%s", strerror(-r));
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		FAIL(-EINVAL, "not a regular file");
	}
	f->size = st.st_size;
	if (f->size < VB_HEADER_SIZE) {
		close(fd);
		FAIL(-EBADMSG, "truncated: %zu bytes, a baseline header alone is %d",
		     f->size, VB_HEADER_SIZE);
	}
	f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f->map == MAP_FAILED) {
		f->map = NULL;
		r = -errno;
		FAIL(r, "mmap: %s", strerror(-r));
	}
	r = vb_check(f->map, f->size, &f->info, msg, msglen);
	if (r) {
		vb_close(f);
		return r;
	}
	f->digests = f->map + VB_HEADER_SIZE;
	return 0;
}

void vb_close(struct vb_file *f)
{
	if (f->map)
		munmap(f->map, f->size);
	f->map = NULL;
}
