// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl log and checkpoint: the hash-chained record log of a device
 * (online over netlink, or offline from its metadata device) and its
 * verification; checkpoints of a device's state and their verification.
 * The chain and checkpoint code is lib/chain.c.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "cmd.h"
#include "json.h"
#include "util.h"

/* the records of a log, in order */
struct recs {
	struct vrec *r;
	uint64_t n, cap;
	uint64_t below;		/* keep only record numbers below this */
};

static int recs_add(const struct vrec *r, void *arg)
{
	struct recs *a = arg;

	if (r->rec_seq >= a->below)
		return 0;
	if (a->n == a->cap) {
		uint64_t cap = a->cap ? 2 * a->cap : 256;
		struct vrec *p = realloc(a->r, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		a->r = p;
		a->cap = cap;
	}
	a->r[a->n++] = *r;
	return 0;
}

/* a record's fields from its on-disk bytes (offline) */
static void raw_to_vrec(const uint8_t *raw, const char *dev, struct vrec *r)
{
	const struct vdirt_disk_record *d = (const void *)raw;
	unsigned int i;

	memset(r, 0, sizeof(*r));
	snprintf(r->dev, sizeof(r->dev), "%s", dev);
	r->seq = r->rec_seq = le64toh(d->seq);
	r->cluster = le64toh(d->cluster);
	r->time = le64toh(d->time_ns);
	r->kind = d->kind;
	r->op = d->op;
	r->dlen = d->digest_size <= VDIRT_MAX_DIGEST_SIZE ? d->digest_size : VDIRT_MAX_DIGEST_SIZE;
	memcpy(r->expected, d->expected, r->dlen);
	memcpy(r->actual, d->actual, r->dlen);
	for (i = 0; i < 4; i++)
		r->aux[i] = le64toh(d->aux[i]);
	r->epoch = le64toh(d->epoch);
	memcpy(r->raw, raw, VDIRT_RECORD_SIZE);
	r->has_raw = 1;
}

struct json_object *log_rec_json(const struct vrec *r, uint32_t cs)
{
	const struct vdirt_disk_record *d = (const void *)r->raw;
	struct json_object *j = rec_json(r, cs, NULL);
	char p[65];

	vjson_add_u64(j, "rec_epoch", r->epoch);
	if (r->has_raw) {
		hex(p, d->prev, 32);
		vjson_add_str(j, "prev", p);
	}
	return j;
}

/* --key-file, or none; 0 or an exit code (said why) */
static int get_key(uint8_t **key, size_t *len)
{
	int r;

	*key = NULL;
	*len = 0;
	if (!o.key_file)
		return 0;
	r = vchain_read_key(o.key_file, key, len);
	if (r == -EINVAL)
		err("%s: a log key file holds %u..%u bytes", o.key_file, VDIRT_LOG_KEY_MIN,
		    VCHAIN_KEY_MAX);
	else if (r)
		err("%s: %s", o.key_file, strerror(-r));
	return r ? errno_to_exit(r) : 0;
}

struct chain_state {
	const char *name;
	uint64_t head, chain_start, vfirst;
	uint8_t hash[32];
	int has_chain, keyed;
	uint32_t digest_size, cs;
};

/*
 * print the records, then (--verify) check the chain from the oldest kept
 * record vfirst to head: 0, EXIT_INVAL naming the bad record, or another
 * exit code
 */
static int log_out(const struct chain_state *c, const struct vrec *rv, uint64_t n)
{
	struct json_object *j = NULL, *a = NULL;
	struct vchain_res res;
	uint8_t *raw = NULL, *key = NULL;
	uint64_t i, k = 0, want;
	size_t klen = 0;
	int r = 0, checked = 0, verr = 0;
	char h[65];

	if (o.json) {
		j = json_object_new_object();
		a = json_object_new_array();
	}
	for (i = 0; i < n; i++) {
		if (o.json)
			json_object_array_add(a, log_rec_json(&rv[i], c->cs));
		else if (!o.quiet)
			print_rec(&rv[i], c->cs, NULL);
	}
	if (o.verify) {
		if (!c->has_chain) {
			err("%s: no hash chain: run vdirtctl upgrade on the metadata device", c->name);
			r = EXIT_NOTSUP;
			goto out;
		}
		if (c->keyed && !o.key_file) {
			err("%s: the chain is keyed (log_key:): the kernel holds the key; give --key-file FILE to verify",
			    c->name);
			r = EXIT_NOTSUP;
			goto out;
		}
		r = get_key(&key, &klen);
		if (r)
			goto out;
		want = c->head - c->vfirst;
		raw = malloc(want ? want * VDIRT_RECORD_SIZE : 1);
		if (!raw) {
			r = EXIT_NOMEM;
			goto out;
		}
		for (i = 0; i < n && k < want; i++) {
			if (rv[i].rec_seq < c->vfirst)
				continue;
			if (!rv[i].has_raw) {
				err("%s: the module gives no raw records (too old?)", c->name);
				r = EXIT_NOTSUP;
				goto out;
			}
			memcpy(raw + k * VDIRT_RECORD_SIZE, rv[i].raw, VDIRT_RECORD_SIZE);
			k++;
		}
		if (k < want) {
			/* missing at the end: the superblock's head names them */
			memset(raw + k * VDIRT_RECORD_SIZE, 0, (want - k) * VDIRT_RECORD_SIZE);
		}
		verr = vchain_verify(raw, c->vfirst, want, c->chain_start, c->hash, c->digest_size,
				     key, klen, &res);
		checked = 1;
		if (verr && verr != -EBADMSG) {
			r = errno_to_exit(verr);
			goto out;
		}
	}
out:
	hex(h, c->hash, 32);
	if (o.json) {
		vjson_add_str(j, "device", c->name);
		vjson_add_bool(j, "chain", c->has_chain);
		vjson_add_bool(j, "keyed", c->keyed);
		vjson_add_u64(j, "chain_start", c->chain_start);
		vjson_add_u64(j, "log_head", c->head);
		vjson_add_str(j, "log_hash", h);
		json_object_object_add(j, "records", a);
		if (checked) {
			vjson_add_bool(j, "verified", !verr);
			vjson_add_u64(j, "verified_from", c->vfirst);
			if (verr) {
				vjson_add_u64(j, "bad_record", res.bad);
				vjson_add_str(j, "why", res.why);
			}
		}
		vjson_print(stdout, j, "\n");
	}
	if (checked && verr) {
		err("%s: chain broken at record %" PRIu64 ": %s", c->name, res.bad, res.why);
		r = cmd_verdict(EXIT_INVAL);
	} else if (checked && !o.json && !o.quiet) {
		printf("%s: chain verified: records %" PRIu64 "..%" PRIu64 " (%" PRIu64
		       " records%s), log_hash %s\n", c->name, c->vfirst, c->head ? c->head - 1 : 0,
		       c->head - c->vfirst, c->keyed ? ", HMAC" : "", h);
	}
	free(raw);
	free(key);
	return r;
}

static int log_offline(const char *meta)
{
	struct chain_state c;
	struct vlog_meta m;
	struct vrec *rv;
	uint64_t i;
	int fd, r;

	fd = open_dev(meta, O_RDONLY, NULL);
	if (fd < 0)
		return fd;
	r = vlog_meta_read(fd, &m);
	close(fd);
	if (r == -ENODATA)
		err("%s: not formatted", meta);
	else if (r == -EINVAL)
		err("%s: no valid dm-vdirt superblock", meta);
	else if (r)
		err("%s: %s", meta, strerror(-r));
	if (r)
		return r;
	memset(&c, 0, sizeof(c));
	c.name = meta;
	c.head = m.log_head;
	c.chain_start = m.chain_start;
	c.vfirst = m.first;
	memcpy(c.hash, m.log_hash, 32);
	c.has_chain = m.ro_compat & VDIRT_FEATURE_RO_COMPAT_CHAIN;
	c.keyed = m.flags & VDIRT_SB_F_LOG_KEYED;
	c.digest_size = m.digest_size;
	c.cs = 4096;
	rv = calloc(m.n ? m.n : 1, sizeof(*rv));
	if (!rv) {
		vlog_meta_free(&m);
		return -ENOMEM;
	}
	for (i = 0; i < m.n; i++)
		raw_to_vrec(m.recs + i * VDIRT_RECORD_SIZE, meta, &rv[i]);
	r = log_out(&c, rv, m.n);
	free(rv);
	vlog_meta_free(&m);
	return r;
}

/* dev's info and its records below its committed head */
static int log_fetch(struct vnl *v, const char *dev, struct vdev_info *d, struct recs *a)
{
	int r;

	memset(a, 0, sizeof(*a));
	r = nl_open_dev(v, dev, d);
	if (r)
		return r;
	a->below = d->log_head;
	r = vnl_dump_records(v, dev, 0, recs_add, a);
	if (r)
		err("%s: log: %s", dev, strerror(-r));
	return r;
}

static int log_online(const char *dev)
{
	struct chain_state c;
	struct vdev_info d;
	struct recs a;
	struct vnl v;
	int r;

	r = log_fetch(&v, dev, &d, &a);
	if (!r) {
		memset(&c, 0, sizeof(c));
		c.name = dev;
		c.head = d.log_head;
		c.chain_start = d.chain_start;
		c.vfirst = d.log_first > d.chain_start ? d.log_first : d.chain_start;
		if (c.vfirst > c.head)
			c.vfirst = c.head;
		memcpy(c.hash, d.log_hash, 32);
		c.has_chain = d.has_chain;
		c.keyed = d.log_keyed;
		c.digest_size = d.digest_size;
		c.cs = d.cluster_size;
		r = log_out(&c, a.r, a.n);
	}
	free(a.r);
	vnl_close(&v);
	return r;
}

int cmd_log(int argc, char **argv)
{
	if (!!o.meta == !!argc) {
		err("log: give a device name, or --meta META_DEV (not both)");
		return cmd_usage();
	}
	return o.meta ? log_offline(o.meta) : log_online(argv[0]);
}

int cmd_checkpoint(int argc, char **argv)
{
	struct vcheckpoint cp;
	struct vdev_info d;
	struct vnl v;
	char *text;
	int fd, r;

	(void)argc;
	if (!o.output) {
		err("checkpoint: -o FILE is needed");
		return cmd_usage();
	}
	r = nl_open_dev(&v, argv[0], &d);
	vnl_close(&v);
	if (r)
		return r;
	if (!d.has_chain) {
		err("%s: no hash chain: run vdirtctl upgrade on the metadata device", argv[0]);
		return EXIT_NOTSUP;
	}
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.device, sizeof(cp.device), "%s", argv[0]);
	memcpy(cp.uuid, d.uuid, 16);
	/* the epoch of the dev info, from DEV_GET's EPOCH */
	cp.epoch = d.epoch;
	cp.seq = d.sb_seq;
	cp.log_head = d.log_head;
	cp.chain_start = d.chain_start;
	memcpy(cp.log_hash, d.log_hash, 32);
	cp.keyed = d.log_keyed;
	cp.time_ns = now_ns();
	text = vcheckpoint_json(&cp);
	if (!text)
		return -ENOMEM;
	if (!strcmp(o.output, "-")) {
		fputs(text, stdout);
		free(text);
		return 0;
	}
	fd = open(o.output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		err("%s: %s", o.output, strerror(-r));
	} else {
		r = write_full(fd, text, strlen(text), 0);
		if (!r && fsync(fd))
			r = -errno;
		close(fd);
		if (r)
			err("%s: %s", o.output, strerror(-r));
	}
	if (!r && !o.quiet && !o.json)
		printf("%s: checkpoint written to %s: epoch %" PRIu64 ", seq %" PRIu64
		       ", log head %" PRIu64 "\n", argv[0], o.output, cp.epoch, cp.seq, cp.log_head);
	else if (!r && o.json)
		fputs(text, stdout);
	free(text);
	return r;
}

static int cp_fail(const char *dev, const char *why)
{
	if (o.json) {
		struct json_object *j = json_object_new_object();

		vjson_add_str(j, "device", dev);
		vjson_add_bool(j, "extends", 0);
		vjson_add_str(j, "why", why);
		vjson_print(stdout, j, "\n");
	}
	err("%s: does not extend the checkpoint: %s", dev, why);
	return EXIT_MISMATCH;
}

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

int cmd_checkpoint_verify(int argc, char **argv)
{
	const char *dev = argv[0];
	struct vcheckpoint cp;
	struct vchain_res res;
	struct vdev_info d;
	uint8_t *raw = NULL, *key = NULL;
	char text[4096], why[256];
	struct recs a;
	uint64_t i, n;
	size_t klen = 0;
	struct vnl v;
	int r;

	(void)argc;
	memset(&a, 0, sizeof(a));
	r = read_text(argv[1], text, sizeof(text));
	if (r) {
		err("%s: %s", argv[1], strerror(-r));
		return r;
	}
	if (vcheckpoint_parse(text, &cp)) {
		err("%s: not a vdirtctl checkpoint", argv[1]);
		return -EINVAL;
	}
	r = log_fetch(&v, dev, &d, &a);
	vnl_close(&v);
	if (r)
		goto out;
	r = get_key(&key, &klen);
	if (r)
		goto out;
	if (!d.has_chain) {
		r = cp_fail(dev, "the device has no hash chain");
		goto out;
	}
	if (memcmp(cp.uuid, d.uuid, 16)) {
		r = cp_fail(dev, "another metadata device (uuid differs)");
		goto out;
	}
	if (d.epoch < cp.epoch || d.sb_seq < cp.seq || d.log_head < cp.log_head) {
		snprintf(why, sizeof(why), "older state: epoch %" PRIu64 " (checkpoint %" PRIu64
			 "), seq %" PRIu64 " (%" PRIu64 "), log head %" PRIu64 " (%" PRIu64 ")",
			 d.epoch, cp.epoch, d.sb_seq, cp.seq, d.log_head, cp.log_head);
		r = cp_fail(dev, why);
		goto out;
	}
	if (cp.log_head && d.chain_start >= cp.log_head && d.log_head > cp.log_head) {
		snprintf(why, sizeof(why), "the chain restarted at record %" PRIu64
			 ", after the checkpoint's head %" PRIu64, d.chain_start, cp.log_head);
		r = cp_fail(dev, why);
		goto out;
	}
	if (d.log_head == cp.log_head) {
		if (memcmp(d.log_hash, cp.log_hash, 32)) {
			r = cp_fail(dev, "the same log head with another log_hash: the log was rewritten");
			goto out;
		}
	} else if (cp.log_head) {
		if (d.log_keyed && !key) {
			err("%s: the chain is keyed: give --key-file FILE to check it from the checkpoint",
			    dev);
			r = EXIT_NOTSUP;
			goto out;
		}
		/* records cp.log_head - 1 .. head - 1: the first must give the checkpoint's hash */
		n = d.log_head - (cp.log_head - 1);
		raw = calloc(n, VDIRT_RECORD_SIZE);
		if (!raw) {
			r = -ENOMEM;
			goto out;
		}
		for (i = 0; i < a.n; i++)
			if (a.r[i].rec_seq >= cp.log_head - 1 && a.r[i].has_raw)
				memcpy(raw + (a.r[i].rec_seq - (cp.log_head - 1)) * VDIRT_RECORD_SIZE,
				       a.r[i].raw, VDIRT_RECORD_SIZE);
		r = vchain_verify(raw, cp.log_head - 1, 1, 0, cp.log_hash, d.digest_size, key, klen,
				  &res);
		if (r == -EBADMSG) {
			snprintf(why, sizeof(why), "record %" PRIu64 " (the checkpoint's last) is no longer"
				 " the one it named: %s", cp.log_head - 1, res.why);
			r = cp_fail(dev, why);
			goto out;
		}
		if (!r)
			r = vchain_verify(raw, cp.log_head - 1, n, d.chain_start, d.log_hash,
					  d.digest_size, key, klen, &res);
		if (r == -EBADMSG) {
			snprintf(why, sizeof(why), "the chain from the checkpoint does not reach the device's log_hash: %s",
				 res.why);
			r = cp_fail(dev, why);
			goto out;
		}
		if (r)
			goto out;
	}
	if (o.json) {
		struct json_object *j = json_object_new_object();

		vjson_add_str(j, "device", dev);
		vjson_add_bool(j, "extends", 1);
		vjson_add_u64(j, "records_since", d.log_head - cp.log_head);
		vjson_print(stdout, j, "\n");
	} else if (!o.quiet) {
		printf("%s: extends the checkpoint: epoch %" PRIu64 " -> %" PRIu64 ", seq %" PRIu64
		       " -> %" PRIu64 ", %" PRIu64 " records since\n", dev, cp.epoch, d.epoch, cp.seq,
		       d.sb_seq, d.log_head - cp.log_head);
	}
	r = 0;
out:
	free(a.r);
	free(raw);
	free(key);
	return r;
}
