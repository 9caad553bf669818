// SPDX-License-Identifier: GPL-2.0
/*
 * Evidence without a kernel: an export written from a digest list
 * (vexport_write(), the files vdirtctl export writes) over an image, with
 * a chained record log, then the vdirtctl binary run on it: verify-image
 * passes; a flipped byte in a measured cluster of the image is named
 * (exit 10), one in an unmeasured cluster is not checked; an edited digest
 * list, an edited root, a log record edited with its file hash fixed, a
 * manifest that is not JSON are refused (exit 6).  baseline build --root
 * gives the root of the image's digests.  An inclusion proof in attest's
 * JSON form (attest_json()) verifies with verify-proof (exit 0), not with a
 * bit flipped in its path, digest or root, nor under another cluster
 * number (exit 10); a file that is not a proof: exit 6.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"
#include "attest.h"
#include "build.h"
#include "chain.h"
#include "cmd.h"
#include "export.h"
#include "hash.h"
#include "json.h"
#include "util.h"

#define CS 4096
#define NC 300			/* clusters: a tree of height 9 */
#define NREC 6
#define BIN "vdirtctl/vdirtctl"

static char tmp[64], img[96], dir[96], out[96], errf[100];
static uint8_t recs[NREC][VDIRT_RECORD_SIZE], head[32];

/* exit code of the command line (stdout into out) */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024], full[1400];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s >%s 2>%s.err", cmd, out, out);
	st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static void spit(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd >= 0) {
		write_full(fd, text, strlen(text), 0);
		close(fd);
	}
}

/* xor one byte of a file */
static void flip(const char *path, off_t off, uint8_t x)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	if (fd < 0)
		return;
	if (!read_full(fd, &b, 1, off)) {
		b ^= x;
		write_full(fd, &b, 1, off);
	}
	close(fd);
}

/* records 0..NREC-1 chained as the kernel chains them (test_chain.c) */
static void build_log(void)
{
	uint8_t prev[32] = { 0 };
	int i;

	for (i = 0; i < NREC; i++) {
		struct vdirt_disk_record *d = (void *)recs[i];

		memset(d, 0, sizeof(*d));
		d->seq = htole64(i);
		d->cluster = htole64(7 * i);
		d->time_ns = htole64(1700000000000000000ULL + i);
		d->kind = i ? VDIRT_KIND_READ_MISMATCH : VDIRT_KIND_ACTIVATION;
		d->digest_size = 32;
		d->epoch = htole64(1);
		if (i)
			memcpy(d->prev, prev, 32);
		d->csum = htole32(vh_crc32c(~0U, recs[i], VDIRT_RECORD_SIZE));
		vchain_digest(recs[i], NULL, 0, prev);
	}
	memcpy(head, prev, 32);
}

static void fill(struct vexport *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "t");
	memset(e->uuid, 0xab, 16);
	e->g.nr_clusters = NC;
	e->g.cluster_size = CS;
	e->g.digest_size = 32;
	snprintf(e->g.hash_name, sizeof(e->g.hash_name), "sha256");
	e->epoch = 3;
	e->chain = 1;
	e->log_first = 0;
	e->log_head = NREC;
	e->has_log_hash = 1;
	memcpy(e->log_hash, head, 32);
	e->export_time_ns = e->snap_time_ns = 1700000000000000000ULL;
	snprintf(e->tool_version, sizeof(e->tool_version), "test");
}

/* a copy of the export in dir2 (cp -r) */
static int copy_export(const char *to)
{
	return run("rm -rf %s && cp -r %s %s", to, dir, to);
}

int main(void)
{
	uint8_t *digests, root[32], check[32];
	struct vbuild_req q;
	struct vbuild_res res;
	struct vexport e;
	struct vmerkle_geom g;
	struct vmerkle m;
	struct vattest a;
	char d2[128], proof[128], hx[65], dl[160], *p;
	uint64_t c;
	int fd, i;

	TAP_START();
	snprintf(tmp, sizeof(tmp), "/tmp/vdirt-export-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	snprintf(img, sizeof(img), "%s/img", tmp);
	snprintf(dir, sizeof(dir), "%s/export", tmp);
	snprintf(out, sizeof(out), "%s/out", tmp);
	snprintf(errf, sizeof(errf), "%s/out.err", tmp);
	snprintf(d2, sizeof(d2), "%s/export2", tmp);
	snprintf(proof, sizeof(proof), "%s/proof.json", tmp);
	/* an image: random clusters, zero clusters, a hole */
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (c = 0; c < NC; c++) {
		uint8_t buf[CS];

		memset(buf, 0, sizeof(buf));
		if (c % 3)
			for (i = 0; i < CS; i++)
				buf[i] = (uint8_t)(c * 131 + i * 7 + (i >> 5));
		if (c < 250)
			write_full(fd, buf, CS, c * CS);
	}
	OK(!ftruncate(fd, NC * CS), "an image of %d clusters", NC);
	memset(&q, 0, sizeof(q));
	q.fd = fd;
	q.size = NC * CS;
	q.cluster_size = CS;
	q.alg = vh_find("sha256");
	q.threads = 2;
	q.root = 1;
	OK(!vbuild(&q, &res) && res.clusters == NC && res.digests, "its digests, in memory (vbuild without a file)");
	close(fd);
	digests = malloc(NC * 32);
	memcpy(digests, res.digests, NC * 32);
	memset(&g, 0, sizeof(g));
	g.nr_clusters = NC;
	g.cluster_size = CS;
	g.digest_size = 32;
	snprintf(g.hash_name, sizeof(g.hash_name), "sha256");
	OK(!vmerkle_root(&g, digests, root) && !memcmp(root, res.root, 32),
	   "vbuild's root is the root of its digests");
	vbuild_free(&res);
	hex(hx, root, 32);
	OK(run("%s baseline build %s --root --quiet", BIN, img) == 0 && !strncmp(slurp(out), hx, 64) &&
	   slurp(out)[64] == '\n', "baseline build --root prints the root alone (--quiet)");
	OK(run("%s baseline build %s --root | tail -n 1", BIN, img) == 0 && !strncmp(slurp(out), hx, 64),
	   "baseline build --root: the root on the last line");

	/* some clusters unmeasured: their digest zero in the list */
	for (c = 0; c < NC; c += 10)
		memset(digests + c * 32, 0, 32);
	build_log();
	fill(&e);
	OK(!vexport_write(dir, &e, digests, &recs[0][0], NREC, "{\"records\":[]}\n") &&
	   e.measured == NC - NC / 10, "an export from the digest list (%llu measured)",
	   (unsigned long long)e.measured);
	OK(vexport_write(dir, &e, digests, &recs[0][0], NREC, "{}") == -ENOTEMPTY,
	   "export refuses a directory that is not empty");
	OK(run("%s verify-image %s %s", BIN, img, dir) == 0 && strstr(slurp(out), "matches"),
	   "verify-image of the same image: exit 0");
	OK(run("%s verify-image --json %s %s", BIN, img, dir) == 0 &&
	   strstr(slurp(out), "{\"clusters\":300,\"mismatches\":[],\"checked\":270,\"match\":true") &&
	   strstr(slurp(out), "\"log_checked\":true"),
	   "--json: clusters, no mismatches, 270 checked, the log's chain checked");

	/* the image changed */
	flip(img, 17 * CS + 100, 0x20);
	OK(run("%s verify-image %s %s", BIN, img, dir) == 10 && !strcmp(slurp(out), "17\n"),
	   "a flipped byte in cluster 17: exit 10 naming it alone");
	flip(img, 20 * CS + 5, 0x01);
	flip(img, 299 * CS + 4095, 0x80);
	OK(run("%s verify-image --json %s %s", BIN, img, dir) == 10 &&
	   strstr(slurp(out), "\"mismatches\":[17,299],"),
	   "... cluster 20 (unmeasured) is not checked, cluster 299 (in the hole) is named: [17,299]");
	flip(img, 17 * CS + 100, 0x20);
	flip(img, 20 * CS + 5, 0x01);
	flip(img, 299 * CS + 4095, 0x80);
	OK(run("%s verify-image %s %s", BIN, img, dir) == 0, "changed back: exit 0");
	OK(!truncate(img, (NC + 1) * CS) && run("%s verify-image %s %s", BIN, img, dir) == 6 &&
	   !truncate(img, NC * CS), "an image of another size: exit 6");

	/* an edited export */
	copy_export(d2);
	snprintf(dl, sizeof(dl), "%s/blockhash.sha256", d2);
	flip(dl, 33 * 32 + 3, 0x01);
	OK(run("%s verify-image %s %s", BIN, img, d2) == 6 &&
	   strstr(slurp(errf), "SHA-256 is not the manifest's"),
	   "an edited digest list: exit 6 (its file hash)");
	copy_export(d2);
	flip(dl, 33 * 32 + 3, 0x01);
	/* the forger also fixes the manifest's file hash */
	{
		char mpath[160], *t, *at;
		uint8_t sha[32];
		char sh[65];
		char *buf = malloc(NC * 32);

		fd = open(dl, O_RDONLY);
		read_full(fd, buf, NC * 32, 0);
		close(fd);
		EVP_Digest(buf, NC * 32, sha, NULL, EVP_sha256(), NULL);
		hex(sh, sha, 32);
		snprintf(mpath, sizeof(mpath), "%s/manifest.json", d2);
		t = strdup(slurp(mpath));
		at = strstr(t, "\"blockhash.sha256\":\"");
		if (at)
			memcpy(at + strlen("\"blockhash.sha256\":\""), sh, 64);
		spit(mpath, t);
		OK(at && run("%s verify-image %s %s", BIN, img, d2) == 6 &&
		   strstr(slurp(errf), "root of blockhash.sha256 is not the manifest's root"),
		   "... with the manifest's file hash fixed too: exit 6 (the root)");
		free(t);
		free(buf);
	}
	copy_export(d2);
	{
		char mpath[160], *t, *at;

		snprintf(mpath, sizeof(mpath), "%s/manifest.json", d2);
		t = strdup(slurp(mpath));
		at = strstr(t, "\"root\":\"");
		if (at)
			at[strlen("\"root\":\"")] ^= 0x01;
		spit(mpath, t);
		OK(at && run("%s verify-image %s %s", BIN, img, d2) == 6, "an edited root: exit 6");
		spit(mpath, "{\"format\":");
		OK(run("%s verify-image %s %s", BIN, img, d2) == 6, "a manifest that is not JSON: exit 6");
		free(t);
	}
	copy_export(d2);
	{
		char lpath[160], mpath[160], sh[65], *t, *at;
		uint8_t sha[32];

		snprintf(lpath, sizeof(lpath), "%s/log.raw", d2);
		snprintf(mpath, sizeof(mpath), "%s/manifest.json", d2);
		recs[2][8] ^= 1;	/* record 2's cluster, crc fixed, file hash fixed */
		((struct vdirt_disk_record *)recs[2])->csum = 0;
		((struct vdirt_disk_record *)recs[2])->csum =
			htole32(vh_crc32c(~0U, recs[2], VDIRT_RECORD_SIZE));
		fd = open(lpath, O_WRONLY | O_TRUNC);
		write_full(fd, recs, sizeof(recs), 0);
		close(fd);
		EVP_Digest(recs, sizeof(recs), sha, NULL, EVP_sha256(), NULL);
		hex(sh, sha, 32);
		t = strdup(slurp(mpath));
		at = strstr(t, "\"log.raw\":\"");
		if (at)
			memcpy(at + strlen("\"log.raw\":\""), sh, 64);
		spit(mpath, t);
		OK(at && run("%s verify-image %s %s", BIN, img, d2) == 6 &&
		   strstr(slurp(errf), "log.raw: record 2"),
		   "a log record edited, its crc and file hash fixed: exit 6 naming record 2");
		free(t);
	}
	copy_export(d2);
	snprintf(dl, sizeof(dl), "%s/log.json", d2);
	OK(!unlink(dl) && run("%s verify-image %s %s", BIN, img, d2) == 6 &&
	   strstr(slurp(errf), "log.json"), "a file of the export removed: exit 6 naming it");
	OK(run("%s verify-image %s %s/none", BIN, img, tmp) == 4, "no export there: exit 4");

	/* an inclusion proof as attest --proof --json prints it */
	memset(&a, 0, sizeof(a));
	memset(a.uuid, 0xab, 16);
	a.nr_clusters = NC;
	a.cluster_size = CS;
	a.digest_size = 32;
	snprintf(a.hash, sizeof(a.hash), "sha256");
	a.epoch = 3;
	a.log_head = NREC;
	a.has_proof = 1;
	a.cluster = 123;
	a.measured = 1;
	memcpy(a.digest, digests + 123 * 32, 32);
	a.height = vdirt_merkle_height(NC);
	vmerkle_init(&m, &g);
	vmerkle_want_proof(&m, 123);
	vmerkle_add_many(&m, digests, NC);
	vmerkle_final(&m, a.root);
	memcpy(a.proof, m.proof, a.height * 32);
	vmerkle_free(&m);
	OK(!vmerkle_proof_root(&g, 123, a.digest, a.proof, check) && !memcmp(check, a.root, 32),
	   "a proof of cluster 123 (height %u)", a.height);
	p = strdup(json_object_to_json_string_ext(attest_json("t", &a), JSON_C_TO_STRING_PLAIN));
	spit(proof, p);
	OK(run("%s verify-proof %s", BIN, proof) == 0 && strstr(slurp(out), "valid:"),
	   "verify-proof: exit 0, valid");
	OK(run("%s verify-proof --json %s", BIN, proof) == 0 && strstr(slurp(out), "\"valid\":true"),
	   "verify-proof --json: valid");
	{
		/* flip one bit of a hex digit keeping it a hex digit: in the path, digest, root */
		static const char *keys[] = { "\"path\":[\"", "\"digest\":\"", "\"root\":\"" };
		unsigned int k;

		for (k = 0; k < 3; k++) {
			char *t = strdup(p), *at = strstr(t, keys[k]);
			char *x = at ? at + strlen(keys[k]) + 9 : NULL;

			if (x)
				*x = *x == '0' ? '1' : *x == '1' ? '0' : *x == 'e' ? 'f' :
				     *x == 'f' ? 'e' : *x ^ 0x01;
			spit(proof, t);
			OK(x && run("%s verify-proof %s", BIN, proof) == 10,
			   "one bit flipped in %s...: exit 10", keys[k]);
			free(t);
		}
		{
			char *t = strdup(p), *at = strstr(t, "\"cluster\":123");

			if (at)
				at[strlen("\"cluster\":12")] = '2';
			spit(proof, t);
			OK(at && run("%s verify-proof %s", BIN, proof) == 10,
			   "the proof under cluster 122: exit 10");
			free(t);
		}
		{
			char *t = strdup(p), *at = strstr(t, "\"measured\":true"), *u = NULL;

			if (at && asprintf(&u, "%.*s\"measured\":false%s", (int)(at - t), t,
					   at + strlen("\"measured\":true")) > 0)
				spit(proof, u);
			free(u);
			OK(at && run("%s verify-proof %s", BIN, proof) == 10,
			   "\"measured\":false with a digest: exit 10");
			free(t);
		}
	}
	spit(proof, "{\"clusters\":300}");
	OK(run("%s verify-proof %s", BIN, proof) == 6, "a JSON object that is not a proof: exit 6");
	spit(proof, "not json");
	OK(run("%s verify-proof %s", BIN, proof) == 6, "not JSON: exit 6");
	free(p);
	free(digests);
	vexport_free(&e);
	if (!getenv("KEEP"))
		run("rm -rf %s", tmp);
	TAP_DONE();
}
