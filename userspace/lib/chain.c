// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: the record log's hash chain: D(record), the verifier, the
 * ring read offline from a metadata device, checkpoints (JSON).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "chain.h"
#include "hash.h"
#include "json.h"
#include "sb.h"
#include "util.h"

int vchain_digest(const uint8_t rec[VDIRT_RECORD_SIZE], const uint8_t *key, size_t keylen,
		  uint8_t out[VCHAIN_HASH])
{
	unsigned int n = 0;

	if (key) {
		if (!HMAC(EVP_sha256(), key, (int)keylen, rec, VDIRT_RECORD_SIZE, out, &n))
			return -EIO;
	} else if (!EVP_Digest(rec, VDIRT_RECORD_SIZE, out, &n, EVP_sha256(), NULL)) {
		return -EIO;
	}
	return n == VCHAIN_HASH ? 0 : -EIO;
}

static uint32_t rec_csum(const uint8_t *rec)
{
	uint8_t tmp[VDIRT_RECORD_SIZE];

	memcpy(tmp, rec, sizeof(tmp));
	memset(tmp + offsetof(struct vdirt_disk_record, csum), 0, 4);
	return vh_crc32c(~0U, tmp, sizeof(tmp));
}

static int bad(struct vchain_res *res, uint64_t n, const char *fmt, uint64_t a)
{
	res->bad = n;
	snprintf(res->why, sizeof(res->why), fmt, a);
	return -EBADMSG;
}

int vchain_verify(const uint8_t *recs, uint64_t first, uint64_t n, uint64_t chain_start,
		  const uint8_t *head_hash, uint32_t digest_size, const uint8_t *key,
		  size_t keylen, struct vchain_res *res)
{
	uint8_t *d;
	uint64_t i, s;
	int r = 0;

	memset(res, 0, sizeof(*res));
	res->first = first;
	res->end = first + n;
	d = malloc(n ? n * VCHAIN_HASH : 1);
	if (!d)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const uint8_t *p = recs + i * VDIRT_RECORD_SIZE;
		const struct vdirt_disk_record *dr = (const void *)p;

		s = first + i;
		if (le64toh(dr->seq) != s) {
			r = bad(res, s, "record %" PRIu64 " is not in its slot (removed, reordered or overwritten)", s);
			goto out;
		}
		if (le32toh(dr->csum) != rec_csum(p)) {
			r = bad(res, s, "record %" PRIu64 ": bad checksum", s);
			goto out;
		}
		if (dr->digest_size != digest_size) {
			r = bad(res, s, "record %" PRIu64 ": wrong digest size", s);
			goto out;
		}
		r = vchain_digest(p, key, keylen, d + i * VCHAIN_HASH);
		if (r)
			goto out;
	}
	for (i = 1; i < n; i++) {
		const struct vdirt_disk_record *dr = (const void *)(recs + i * VDIRT_RECORD_SIZE);
		const struct vdirt_disk_record *nx;
		int next_ok;

		s = first + i;
		if (s <= chain_start || !memcmp(dr->prev, d + (i - 1) * VCHAIN_HASH, VCHAIN_HASH))
			continue;
		/*
		 * Link s - 1 -> s broken.  If s links on to what follows it, s
		 * is intact and s - 1 was changed; else s is where the chain
		 * goes wrong (records removed or reordered, or s changed).
		 */
		if (i + 1 < n) {
			nx = (const void *)(recs + (i + 1) * VDIRT_RECORD_SIZE);
			next_ok = !memcmp(nx->prev, d + i * VCHAIN_HASH, VCHAIN_HASH);
		} else {
			next_ok = !head_hash || !memcmp(head_hash, d + i * VCHAIN_HASH, VCHAIN_HASH);
		}
		if (next_ok)
			r = bad(res, s - 1, "record %" PRIu64 " changed: the next record does not carry its digest",
				s - 1);
		else
			r = bad(res, s, "record %" PRIu64 " does not link to the record before it (records removed, reordered or changed from here on)",
				s);
		goto out;
	}
	if (head_hash && n && memcmp(d + (n - 1) * VCHAIN_HASH, head_hash, VCHAIN_HASH))
		r = bad(res, first + n - 1, "record %" PRIu64 " changed: its digest is not the superblock's log_hash",
			first + n - 1);
out:
	free(d);
	return r;
}

int vchain_read_key(const char *path, uint8_t **key, size_t *len)
{
	uint8_t *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(VCHAIN_KEY_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, VCHAIN_KEY_MAX + 1);
	close(fd);
	if (n < 0) {
		free(buf);
		return -errno;
	}
	if (n < (ssize_t)VDIRT_LOG_KEY_MIN || n > VCHAIN_KEY_MAX) {
		free(buf);
		return -EINVAL;
	}
	*key = buf;
	*len = n;
	return 0;
}

int vlog_meta_read(int fd, struct vlog_meta *m)
{
	uint8_t buf[2 * VDIRT_META_BLOCK_SIZE];
	const struct vdirt_disk_sb *d;
	struct vsb sb;
	char msg[160];
	uint64_t cap, i;
	int r;

	memset(m, 0, sizeof(*m));
	r = read_full(fd, buf, sizeof(buf), 0);
	if (r)
		return r;
	r = vsb_parse(buf, &sb, msg, sizeof(msg));
	if (r == 0)
		return -ENODATA;
	if (r < 0)
		return -EINVAL;
	d = (const void *)(buf + sb.copy * VDIRT_META_BLOCK_SIZE);
	m->seq = sb.seq;
	memcpy(m->uuid, sb.uuid, 16);
	m->digest_size = sb.digest_size;
	m->flags = le32toh(d->flags);
	m->ro_compat = le32toh(d->feature_ro_compat);
	m->epoch = le64toh(d->epoch);
	m->log_head = le64toh(d->log_head);
	m->log_tail = le64toh(d->log_tail);
	m->chain_start = le64toh(d->chain_start);
	memcpy(m->log_hash, d->log_hash, VCHAIN_HASH);
	cap = le64toh(d->log_capacity);
	m->first = m->log_head > cap ? m->log_head - cap : 0;
	if ((m->ro_compat & VDIRT_FEATURE_RO_COMPAT_CHAIN) && m->first < m->chain_start)
		m->first = m->chain_start;
	m->n = m->log_head - m->first;
	m->recs = malloc(m->n ? m->n * VDIRT_RECORD_SIZE : 1);
	if (!m->recs)
		return -ENOMEM;
	for (i = 0; i < m->n; i++) {
		uint64_t s = m->first + i, idx = s % cap;
		off_t off = (off_t)(sb.layout.log_start + idx / VDIRT_RECORDS_PER_BLOCK) *
			    VDIRT_META_BLOCK_SIZE + (idx % VDIRT_RECORDS_PER_BLOCK) * VDIRT_RECORD_SIZE;

		r = read_full(fd, m->recs + i * VDIRT_RECORD_SIZE, VDIRT_RECORD_SIZE, off);
		if (r) {
			vlog_meta_free(m);
			return r;
		}
	}
	return 0;
}

void vlog_meta_free(struct vlog_meta *m)
{
	free(m->recs);
	m->recs = NULL;
}

char *vcheckpoint_json(const struct vcheckpoint *c)
{
	struct json_object *j = json_object_new_object();
	char u[33], h[65];
	const char *s;
	char *out;

	hex(u, c->uuid, 16);
	hex(h, c->log_hash, VCHAIN_HASH);
	vjson_add_u64(j, "vdirt_checkpoint", 1);
	vjson_add_str(j, "device", c->device);
	vjson_add_str(j, "uuid", u);
	vjson_add_u64(j, "epoch", c->epoch);
	vjson_add_u64(j, "seq", c->seq);
	vjson_add_u64(j, "log_head", c->log_head);
	vjson_add_str(j, "log_hash", h);
	vjson_add_u64(j, "chain_start", c->chain_start);
	vjson_add_bool(j, "keyed", c->keyed);
	vjson_add_u64(j, "time_ns", c->time_ns);
	s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	out = malloc(strlen(s) + 2);
	if (out)
		sprintf(out, "%s\n", s);
	json_object_put(j);
	return out;
}

static int get_u64(struct json_object *j, const char *k, uint64_t *v)
{
	struct json_object *x;

	if (!json_object_object_get_ex(j, k, &x) || !json_object_is_type(x, json_type_int))
		return -EINVAL;
	*v = json_object_get_uint64(x);
	return 0;
}

static int get_hex(struct json_object *j, const char *k, uint8_t *out, size_t n)
{
	struct json_object *x;
	const char *s;

	if (!json_object_object_get_ex(j, k, &x) || !json_object_is_type(x, json_type_string))
		return -EINVAL;
	s = json_object_get_string(x);
	if (strlen(s) != 2 * n || unhex(out, n, s))
		return -EINVAL;
	return 0;
}

int vcheckpoint_parse(const char *text, struct vcheckpoint *c)
{
	struct json_object *j, *x;
	uint64_t ver = 0;
	int e = 0, r;

	memset(c, 0, sizeof(*c));
	j = vjson_parse(text, &e);
	if (!j)
		return -EINVAL;
	r = get_u64(j, "vdirt_checkpoint", &ver);
	if (!r && ver != 1)
		r = -EINVAL;
	if (!r)
		r = get_hex(j, "uuid", c->uuid, 16);
	if (!r)
		r = get_u64(j, "epoch", &c->epoch);
	if (!r)
		r = get_u64(j, "seq", &c->seq);
	if (!r)
		r = get_u64(j, "log_head", &c->log_head);
	if (!r)
		r = get_hex(j, "log_hash", c->log_hash, VCHAIN_HASH);
	if (!r)
		r = get_u64(j, "chain_start", &c->chain_start);
	if (!r && json_object_object_get_ex(j, "keyed", &x))
		c->keyed = json_object_get_boolean(x);
	if (!r && json_object_object_get_ex(j, "device", &x) &&
	    json_object_is_type(x, json_type_string))
		snprintf(c->device, sizeof(c->device), "%s", json_object_get_string(x));
	get_u64(j, "time_ns", &c->time_ns);
	json_object_put(j);
	return r;
}
