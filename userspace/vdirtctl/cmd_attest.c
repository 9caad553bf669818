// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl attest and verify-proof: the attestation root the kernel
 * computes over every cluster's digest (with --proof, a cluster's
 * inclusion proof, checked here before it is printed), and the offline
 * check of a proof file.  The work is lib/attest.c's, lib/merkle.c's and
 * lib/export.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest.h"
#include "cmd.h"
#include "export.h"
#include "json.h"
#include "util.h"

/* a root computation may take a while on a large device */
#define ATTEST_TIMEOUT_MS	(600U * 1000U)

/* what the kernel said no for, in words; r unchanged */
int attest_error(const char *dev, const char *what, int r)
{
	if (r == -EOPNOTSUPP)
		err("%s: %s: the metadata has no attestation tree (ro_compat merkle): close the device and run vdirtctl upgrade on its metadata device",
		    dev, what);
	else if (r == -EBUSY)
		err("%s: %s: another root or a baseline load is being computed: try again", dev,
		    what);
	else if (r == -EROFS)
		err("%s: %s: the table is read-only", dev, what);
	else if (r == -ERANGE)
		err("%s: %s: cluster %" PRIu64 " is past the end of the device", dev, what, o.proof);
	else if (r == -ESTALE)
		err("%s: %s: ended, but another computation followed before its result was read: try again",
		    dev, what);
	else if (r == -ETIMEDOUT)
		err("%s: %s: no result after %u s", dev, what, ATTEST_TIMEOUT_MS / 1000);
	else if (r == -EINTR)
		err("%s: %s: interrupted", dev, what);
	else if (r)
		err("%s: %s: %s", dev, what, strerror(-r));
	return r;
}

static void add_proof(struct json_object *j, const struct vattest *a)
{
	struct json_object *p = json_object_new_array();
	char h[2 * VDIRT_MAX_DIGEST_SIZE + 1];
	uint32_t l;

	vjson_add_u64(j, "cluster", a->cluster);
	vjson_add_bool(j, "measured", a->measured);
	hex(h, a->digest, a->digest_size);
	vjson_add_str(j, "digest", h);
	vjson_add_u64(j, "digest_size", a->digest_size);
	for (l = 0; l < a->height; l++) {
		hex(h, a->proof + l * VMERKLE_SIZE, VMERKLE_SIZE);
		json_object_array_add(p, vjson_str(h));
	}
	json_object_object_add(j, "path", p);
}

/* the object of attest --json: the keys first, in its order; a proof's after */
struct json_object *attest_json(const char *dev, const struct vattest *a)
{
	struct json_object *j = json_object_new_object();
	char h[2 * VDIRT_MAX_DIGEST_SIZE + 1], ts[48];

	hex(h, a->uuid, 16);
	vjson_add_str(j, "uuid", h);
	vjson_add_u64(j, "epoch", a->epoch);
	vjson_add_u64(j, "clusters", a->nr_clusters);
	vjson_add_str(j, "hash", a->hash);
	hex(h, a->root, VMERKLE_SIZE);
	vjson_add_str(j, "root", h);
	vjson_add_u64(j, "log_head", a->log_head);
	hex(h, a->log_hash, 32);
	vjson_add_str(j, "log_hash", a->has_log_hash ? h : NULL);
	fmt_time(ts, sizeof(ts), a->time_ns);
	vjson_add_str(j, "time", ts);
	vjson_add_str(j, "tree_hash", "sha256");
	vjson_add_u64(j, "cluster_size", a->cluster_size);
	vjson_add_str(j, "device", dev);
	vjson_add_u64(j, "sb_seq", a->sb_seq);
	if (a->has_proof)
		add_proof(j, a);
	return j;
}

int cmd_attest(int argc, char **argv)
{
	const char *dev = argv[0];
	uint8_t check[VMERKLE_SIZE];
	struct vmerkle_geom g;
	struct vdev_info d;
	struct vattest a;
	char h[2 * VDIRT_MAX_DIGEST_SIZE + 1], ts[48];
	uint64_t id;
	struct vnl v;
	uint32_t l;
	int r;

	(void)argc;
	r = nl_open_dev(&v, dev, &d);
	if (r)
		goto out;
	r = vnl_attest_start(&v, dev, o.proof_set ? &o.proof : NULL, &id);
	if (!r)
		r = vnl_attest_wait(&v, dev, id, ATTEST_TIMEOUT_MS, &interrupted, &a);
	if (r) {
		attest_error(dev, "attest", r);
		goto out;
	}
	if (o.proof_set) {
		/* the kernel's proof must give the kernel's root: checked before it is shown */
		vattest_geom(&a, &g);
		r = a.has_proof && a.cluster == o.proof ? 0 : -EBADMSG;
		if (!r)
			r = vmerkle_proof_root(&g, a.cluster, a.measured ? a.digest : NULL, a.proof,
					       check);
		if (!r && memcmp(check, a.root, VMERKLE_SIZE))
			r = -EBADMSG;
		if (r) {
			err("%s: attest: the kernel's proof of cluster %" PRIu64 " does not give its root",
			    dev, o.proof);
			goto out;
		}
	}
	if (o.json) {
		r = vjson_print(stdout, attest_json(dev, &a), "\n");
		goto out;
	}
	fmt_time(ts, sizeof(ts), a.time_ns);
	hex(h, a.uuid, 16);
	if (!o.quiet)
		printf("%s: uuid %s, epoch %" PRIu64 ", %" PRIu64 " clusters of %u bytes, %s, log head %"
		       PRIu64 ", at %s\n", dev, h, a.epoch, a.nr_clusters, a.cluster_size, a.hash,
		       a.log_head, ts);
	if (o.proof_set && !o.quiet) {
		hex(h, a.digest, a.digest_size);
		printf("cluster %" PRIu64 ": %s\n", a.cluster, a.measured ? h : "unmeasured");
		for (l = 0; l < a.height; l++) {
			hex(h, a.proof + l * VMERKLE_SIZE, VMERKLE_SIZE);
			printf("  sibling %u: %s\n", l, h);
		}
	}
	hex(h, a.root, VMERKLE_SIZE);
	printf("%s\n", h);
out:
	vnl_close(&v);
	return r;
}

/* a small file's text */
static int slurp(const char *path, char **text)
{
	struct stat st;
	int fd, r;

	*text = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size > (16 << 20)) {
		close(fd);
		return -EFBIG;
	}
	*text = calloc(1, st.st_size + 1);
	r = !*text ? -ENOMEM : st.st_size ? read_full(fd, *text, st.st_size, 0) : 0;
	close(fd);
	return r;
}

int cmd_verify_proof(int argc, char **argv)
{
	uint8_t computed[VMERKLE_SIZE];
	char why[256], rh[65], ch[65], dh[2 * VDIRT_MAX_DIGEST_SIZE + 1];
	struct vproof p;
	char *text;
	int r, valid;

	(void)argc;
	r = slurp(argv[0], &text);
	if (r) {
		err("%s: %s", argv[0], strerror(-r));
		free(text);
		return r == -EFBIG ? EXIT_INVAL : r;
	}
	r = vproof_parse(text, &p, why, sizeof(why));
	free(text);
	if (r) {
		err("%s: not an inclusion proof: %s", argv[0], why);
		return EXIT_INVAL;
	}
	r = vproof_check(&p, computed, why, sizeof(why));
	if (r && r != -EBADMSG) {
		err("%s: %s", argv[0], strerror(-r));
		return r;
	}
	valid = !r;
	hex(rh, p.root, VMERKLE_SIZE);
	hex(ch, computed, VMERKLE_SIZE);
	hex(dh, p.digest, p.digest_len);
	if (o.json) {
		struct json_object *j = json_object_new_object();

		vjson_add_str(j, "file", argv[0]);
		vjson_add_bool(j, "valid", valid);
		vjson_add_u64(j, "cluster", p.cluster);
		vjson_add_bool(j, "measured", p.measured);
		vjson_add_str(j, "digest", dh);
		vjson_add_str(j, "root", rh);
		vjson_add_str(j, "computed_root", ch);
		vjson_add_u64(j, "clusters", p.g.nr_clusters);
		vjson_add_u64(j, "cluster_size", p.g.cluster_size);
		vjson_add_str(j, "hash", p.g.hash_name);
		vjson_add_u64(j, "height", p.path_n);
		vjson_add_str(j, "uuid", p.uuid);
		vjson_add_u64(j, "epoch", p.epoch);
		if (!valid)
			vjson_add_str(j, "why", why);
		vjson_print(stdout, j, "\n");
	} else if (!o.quiet) {
		printf("cluster %" PRIu64 " (%s%s) of %" PRIu64 " clusters of %u bytes, %s, %u siblings\n"
		       "root %s (device %s, epoch %" PRIu64 ")\n", p.cluster,
		       p.measured ? "digest " : "unmeasured", p.measured ? dh : "", p.g.nr_clusters,
		       p.g.cluster_size, p.g.hash_name, p.path_n, rh, p.uuid, p.epoch);
		if (valid)
			printf("valid: the digest and path give the root\n");
		else
			printf("INVALID: %s (computed %s)\n", why, ch);
	}
	if (!valid)
		err("%s: the proof does not verify: %s", argv[0], why);
	return valid ? EXIT_OK : EXIT_MISMATCH;
}
