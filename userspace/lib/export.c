// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: inclusion proofs and export directories (see export.h and
 * Documentation/dm-vdirt.rst, "Attestation and evidence export"): the
 * proof's JSON read and checked; the export's files written with their
 * SHA-256, the manifest written last and read back with json-c, the
 * export checked (file hashes, the root of the digest list, the record
 * log's chain) and an image's digests compared with its list.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <openssl/evp.h>

#include "chain.h"
#include "export.h"
#include "json.h"
#include "util.h"

#define MANIFEST_MAX	(16U << 20)	/* a manifest, a proof: far less */

static void why_set(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (!n)
		return;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
}

/* ns since the epoch as RFC 3339 UTC with nanoseconds */
static void fmt_ns(char *out, size_t n, uint64_t ns)
{
	time_t t = ns / 1000000000ULL;
	char ts[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%09" PRIu64 "Z", ts, ns % (uint64_t)1000000000);
}

static void add_time(struct json_object *j, const char *key, uint64_t ns)
{
	char ts[48];

	fmt_ns(ts, sizeof(ts), ns);
	vjson_add_str(j, key, ns ? ts : NULL);
}

static int is_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* the text of a small file (a proof, a manifest), NUL terminated */
static int read_text(int dirfd, const char *path, char **text)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *t;
	int r;

	*text = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > MANIFEST_MAX) {
		close(fd);
		return -EINVAL;
	}
	t = malloc(st.st_size + 1);
	if (!t) {
		close(fd);
		return -ENOMEM;
	}
	r = st.st_size ? read_full(fd, t, st.st_size, 0) : 0;
	close(fd);
	if (r) {
		free(t);
		return r == -ENODATA ? -EIO : r;
	}
	t[st.st_size] = 0;
	if (strlen(t) != (size_t)st.st_size) {
		free(t);
		return -EINVAL;		/* a NUL inside: not JSON text */
	}
	*text = t;
	return 0;
}

/* ---- proofs ---- */

int vproof_parse(const char *text, struct vproof *p, char *why, size_t n)
{
	struct json_object *j, *path, *x;
	char tree[16], hx[2 * VDIRT_MAX_DIGEST_SIZE + 1];
	uint64_t v;
	size_t i;
	int e, r = -EINVAL;

	memset(p, 0, sizeof(*p));
	j = vjson_parse(text, &e);
	if (!j) {
		why_set(why, n, "not JSON");
		return e;
	}
#define NEED(cond, ...) do { if (!(cond)) { why_set(why, n, __VA_ARGS__); goto out; } } while (0)
	NEED(!vjson_get_u64(j, "clusters", &p->g.nr_clusters) && p->g.nr_clusters,
	     "\"clusters\": missing, or not a positive integer");
	NEED(!vjson_get_u64(j, "cluster_size", &v) && v <= UINT32_MAX,
	     "\"cluster_size\": missing, or not an integer");
	p->g.cluster_size = v;
	NEED(!vjson_get_u64(j, "digest_size", &v) && v >= 1 && v <= VDIRT_MAX_DIGEST_SIZE,
	     "\"digest_size\": missing, or not 1..%u", VDIRT_MAX_DIGEST_SIZE);
	p->g.digest_size = v;
	NEED(!vjson_get_str(j, "hash", p->g.hash_name, sizeof(p->g.hash_name)),
	     "\"hash\": missing, or not a string of at most 63 bytes");
	NEED(!vjson_get_str(j, "tree_hash", tree, sizeof(tree)) && !strcmp(tree, "sha256"),
	     "\"tree_hash\": missing, or not \"sha256\"");
	NEED(!vjson_get_hex(j, "root", p->root, VMERKLE_SIZE), "\"root\": not 64 hex digits");
	NEED(!vjson_get_u64(j, "cluster", &p->cluster), "\"cluster\": missing, or not an integer");
	NEED(!vjson_get_bool(j, "measured", &p->measured), "\"measured\": not true or false");
	NEED(!vjson_get_str(j, "digest", hx, sizeof(hx)) && strlen(hx) % 2 == 0 &&
	     !unhex(p->digest, strlen(hx) / 2, hx),
	     "\"digest\": not hex of at most %u bytes", VDIRT_MAX_DIGEST_SIZE);
	p->digest_len = strlen(hx) / 2;
	NEED(json_object_object_get_ex(j, "path", &path) &&
	     json_object_is_type(path, json_type_array) &&
	     json_object_array_length(path) <= VDIRT_MERKLE_MAX_HEIGHT,
	     "\"path\": not an array of at most %u nodes", VDIRT_MERKLE_MAX_HEIGHT);
	p->path_n = json_object_array_length(path);
	for (i = 0; i < p->path_n; i++) {
		x = json_object_array_get_idx(path, i);
		NEED(json_object_is_type(x, json_type_string) &&
		     json_object_get_string_len(x) == 2 * VMERKLE_SIZE &&
		     !unhex(p->path[i], VMERKLE_SIZE, json_object_get_string(x)),
		     "\"path\"[%zu]: not 64 hex digits", i);
	}
#undef NEED
	vjson_get_str(j, "uuid", p->uuid, sizeof(p->uuid));
	vjson_get_str(j, "time", p->time, sizeof(p->time));
	vjson_get_u64(j, "epoch", &p->epoch);
	vjson_get_u64(j, "log_head", &p->log_head);
	r = 0;
out:
	json_object_put(j);
	return r;
}

int vproof_check(const struct vproof *p, uint8_t computed[VMERKLE_SIZE], char *why, size_t n)
{
	uint32_t h = vdirt_merkle_height(p->g.nr_clusters);
	int r;

	memset(computed, 0, VMERKLE_SIZE);
	if (p->cluster >= p->g.nr_clusters) {
		why_set(why, n, "cluster %" PRIu64 " is past the end (%" PRIu64 " clusters)",
			p->cluster, p->g.nr_clusters);
		return -EBADMSG;
	}
	if (p->path_n != h) {
		why_set(why, n, "the path has %u nodes, a tree of %" PRIu64 " clusters %u",
			p->path_n, p->g.nr_clusters, h);
		return -EBADMSG;
	}
	if (p->digest_len != p->g.digest_size) {
		why_set(why, n, "the digest has %zu bytes, digest_size says %u", p->digest_len,
			p->g.digest_size);
		return -EBADMSG;
	}
	if (!p->measured && !is_zero(p->digest, p->digest_len)) {
		why_set(why, n, "an unmeasured cluster with a digest");
		return -EBADMSG;
	}
	r = vmerkle_proof_root(&p->g, p->cluster, p->measured ? p->digest : NULL, &p->path[0][0],
			       computed);
	if (r) {
		why_set(why, n, "%s", strerror(-r));
		return r == -EINVAL || r == -ERANGE ? -EBADMSG : r;
	}
	if (memcmp(computed, p->root, VMERKLE_SIZE)) {
		why_set(why, n, "the digest and path give another root");
		return -EBADMSG;
	}
	return 0;
}

/* ---- writing an export ---- */

void vexport_free(struct vexport *e)
{
	free(e->epochs);
	e->epochs = NULL;
	e->nr_epochs = 0;
}

void vexport_name_digests(struct vexport *e)
{
	snprintf(e->digest_file, sizeof(e->digest_file), "blockhash.%s", e->g.hash_name);
}

int vexport_dir(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(dup(fd));
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			r = -ENOTEMPTY;
			break;
		}
	closedir(d);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

int vexport_out_open(int dirfd, const char *name, struct vexport_out *f)
{
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (strlen(name) >= sizeof(f->name) || strchr(name, '/'))
		return -EINVAL;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->ctx = EVP_MD_CTX_new();
	if (!f->ctx || !EVP_DigestInit_ex(f->ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(f->ctx);
		f->ctx = NULL;
		return -ENOMEM;
	}
	f->fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (f->fd < 0) {
		int r = -errno;

		EVP_MD_CTX_free(f->ctx);
		f->ctx = NULL;
		return r;
	}
	return 0;
}

int vexport_out_write(struct vexport_out *f, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t w;

	if (!EVP_DigestUpdate(f->ctx, buf, len))
		return -EIO;
	while (len) {
		w = write(f->fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= w;
	}
	return 0;
}

void vexport_out_abort(struct vexport_out *f)
{
	if (f->fd >= 0)
		close(f->fd);
	EVP_MD_CTX_free(f->ctx);
	f->fd = -1;
	f->ctx = NULL;
}

int vexport_out_close(struct vexport_out *f, struct vexport *e)
{
	unsigned int k = e->nr_files;
	int r = 0;

	if (k == VEXPORT_MAX_FILES)
		r = -ENOSPC;
	else if (!EVP_DigestFinal_ex(f->ctx, e->files[k].sha256, NULL))
		r = -EIO;
	else if (fsync(f->fd))
		r = -errno;
	if (close(f->fd) && !r)
		r = -errno;
	f->fd = -1;
	EVP_MD_CTX_free(f->ctx);
	f->ctx = NULL;
	if (r)
		return r;
	snprintf(e->files[k].name, sizeof(e->files[k].name), "%s", f->name);
	e->nr_files++;
	return 0;
}

static struct json_object *epoch_json(const struct vexport_epoch *x)
{
	struct json_object *j = json_object_new_object();

	vjson_add_u64(j, "epoch", x->epoch);
	vjson_add_str(j, "label", x->label);
	add_time(j, "start", x->start_ns);
	add_time(j, "end", x->closed ? x->end_ns : 0);
	vjson_add_bool(j, "closed", x->closed);
	vjson_add_bool(j, "unclean", x->unclean);
	if (x->closed)
		vjson_add_u64(j, "log_end", x->log_end);
	if (x->has_root)
		vjson_add_hex(j, "root", x->root, VMERKLE_SIZE);
	else
		vjson_add_str(j, "root", NULL);
	if (x->has_log_hash)
		vjson_add_hex(j, "log_hash", x->log_hash, 32);
	else
		vjson_add_str(j, "log_hash", NULL);
	return j;
}

char *vexport_manifest_json(const struct vexport *e)
{
	struct json_object *j = json_object_new_object(), *d, *a, *f;
	const char *s;
	char *out;
	size_t i;

	vjson_add_str(j, "format", VEXPORT_FORMAT);
	vjson_add_u64(j, "version", VEXPORT_VERSION);
	vjson_add_hex(j, "uuid", e->uuid, 16);
	d = json_object_new_object();
	vjson_add_str(d, "name", e->name);
	vjson_add_u64(d, "major", e->major);
	vjson_add_u64(d, "minor", e->minor);
	vjson_add_u64(d, "data_sectors", e->data_sectors);
	vjson_add_str(d, "table", e->table);
	json_object_object_add(j, "device", d);
	vjson_add_u64(j, "clusters", e->g.nr_clusters);
	vjson_add_u64(j, "cluster_size", e->g.cluster_size);
	vjson_add_u64(j, "digest_size", e->g.digest_size);
	vjson_add_str(j, "hash", e->g.hash_name);
	vjson_add_str(j, "tree_hash", "sha256");
	vjson_add_u64(j, "height", vdirt_merkle_height(e->g.nr_clusters));
	vjson_add_hex(j, "root", e->root, VMERKLE_SIZE);
	vjson_add_u64(j, "epoch", e->epoch);
	vjson_add_u64(j, "log_head", e->log_head);
	if (e->has_log_hash)
		vjson_add_hex(j, "log_hash", e->log_hash, 32);
	else
		vjson_add_str(j, "log_hash", NULL);
	vjson_add_bool(j, "chain", e->chain);
	vjson_add_bool(j, "keyed", e->keyed);
	vjson_add_u64(j, "chain_start", e->chain_start);
	vjson_add_u64(j, "log_first", e->log_first);
	vjson_add_u64(j, "sb_seq", e->sb_seq);
	vjson_add_u64(j, "measured", e->measured);
	add_time(j, "snapshot_time", e->snap_time_ns);
	add_time(j, "export_time", e->export_time_ns);
	vjson_add_str(j, "tool_version", e->tool_version);
	vjson_add_str(j, "target_version", e->target_version);
	a = json_object_new_array();
	for (i = 0; i < e->nr_epochs; i++)
		json_object_array_add(a, epoch_json(&e->epochs[i]));
	json_object_object_add(j, "epochs", a);
	vjson_add_str(j, "digest_list", e->digest_file);
	vjson_add_str(j, "log", VEXPORT_LOG_RAW);
	vjson_add_str(j, "log_json", VEXPORT_LOG_JSON);
	f = json_object_new_object();
	for (i = 0; i < e->nr_files; i++)
		vjson_add_hex(f, e->files[i].name, e->files[i].sha256, 32);
	json_object_object_add(j, "files", f);
	s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	out = s && asprintf(&out, "%s\n", s) >= 0 ? out : NULL;
	json_object_put(j);
	return out;
}

int vexport_write_manifest(int dirfd, const struct vexport *e)
{
	char *text = vexport_manifest_json(e);
	int fd, r;

	if (!text)
		return -ENOMEM;
	fd = openat(dirfd, VEXPORT_MANIFEST, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		free(text);
		return r;
	}
	r = write_full(fd, text, strlen(text), 0);
	if (!r && fsync(fd))
		r = -errno;
	if (close(fd) && !r)
		r = -errno;
	if (!r && fsync(dirfd))
		r = -errno;
	free(text);
	return r;
}

static int write_file(int dirfd, const char *name, const void *buf, size_t len,
		      struct vexport *e)
{
	struct vexport_out f;
	int r;

	r = vexport_out_open(dirfd, name, &f);
	if (r)
		return r;
	r = vexport_out_write(&f, buf, len);
	if (r) {
		vexport_out_abort(&f);
		return r;
	}
	return vexport_out_close(&f, e);
}

int vexport_write(const char *dir, struct vexport *e, const uint8_t *digests,
		  const uint8_t *recs, uint64_t nrec, const char *log_json)
{
	const uint64_t ds = e->g.digest_size;
	uint64_t c;
	int fd, r;

	r = vmerkle_root(&e->g, digests, e->root);
	if (r)
		return r;
	for (c = 0, e->measured = 0; c < e->g.nr_clusters; c++)
		e->measured += !is_zero(digests + c * ds, ds);
	vexport_name_digests(e);
	e->nr_files = 0;
	fd = vexport_dir(dir);
	if (fd < 0)
		return fd;
	r = write_file(fd, e->digest_file, digests, e->g.nr_clusters * ds, e);
	if (!r)
		r = write_file(fd, VEXPORT_LOG_RAW, recs, nrec * VDIRT_RECORD_SIZE, e);
	if (!r)
		r = write_file(fd, VEXPORT_LOG_JSON, log_json, strlen(log_json), e);
	if (!r)
		r = vexport_write_manifest(fd, e);
	close(fd);
	return r;
}

/* ---- reading and checking an export ---- */

static int parse_epochs(struct json_object *j, struct vexport *e)
{
	struct json_object *a, *x;
	size_t i, n;

	if (!json_object_object_get_ex(j, "epochs", &a) || !json_object_is_type(a, json_type_array))
		return -EINVAL;
	n = json_object_array_length(a);
	e->epochs = calloc(n ? n : 1, sizeof(*e->epochs));
	if (!e->epochs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct vexport_epoch *p = &e->epochs[i];

		x = json_object_array_get_idx(a, i);
		if (vjson_get_u64(x, "epoch", &p->epoch) ||
		    vjson_get_bool(x, "closed", &p->closed))
			return -EINVAL;
		vjson_get_str(x, "label", p->label, sizeof(p->label));
		vjson_get_bool(x, "unclean", &p->unclean);
		vjson_get_u64(x, "log_end", &p->log_end);
		p->has_root = !vjson_get_hex(x, "root", p->root, VMERKLE_SIZE);
		p->has_log_hash = !vjson_get_hex(x, "log_hash", p->log_hash, 32);
		e->nr_epochs++;
	}
	return 0;
}

/* the manifest's text into e; -EINVAL (why) when it is not one */
static int parse_manifest(const char *text, struct vexport *e, char *why, size_t n)
{
	struct json_object *j, *f, *d;
	char fmt[32], s[16];
	uint64_t v;
	int err, r = -EINVAL;

	memset(e, 0, sizeof(*e));
	j = vjson_parse(text, &err);
	if (!j) {
		why_set(why, n, "%s is not JSON", VEXPORT_MANIFEST);
		return err;
	}
#define NEED(cond, key) do { if (!(cond)) { why_set(why, n, "%s: \"%s\" missing or malformed", \
						     VEXPORT_MANIFEST, key); goto out; } } while (0)
	NEED(!vjson_get_str(j, "format", fmt, sizeof(fmt)) && !strcmp(fmt, VEXPORT_FORMAT),
	     "format");
	NEED(!vjson_get_u64(j, "version", &v) && v == VEXPORT_VERSION, "version");
	NEED(!vjson_get_hex(j, "uuid", e->uuid, 16), "uuid");
	NEED(!vjson_get_u64(j, "clusters", &e->g.nr_clusters) && e->g.nr_clusters, "clusters");
	NEED(!vjson_get_u64(j, "cluster_size", &v) && v && v <= UINT32_MAX, "cluster_size");
	e->g.cluster_size = v;
	NEED(!vjson_get_u64(j, "digest_size", &v) && v && v <= VDIRT_MAX_DIGEST_SIZE,
	     "digest_size");
	e->g.digest_size = v;
	NEED(!vjson_get_str(j, "hash", e->g.hash_name, sizeof(e->g.hash_name)), "hash");
	NEED(!vjson_get_str(j, "tree_hash", s, sizeof(s)) && !strcmp(s, "sha256"), "tree_hash");
	NEED(!vjson_get_hex(j, "root", e->root, VMERKLE_SIZE), "root");
	NEED(!vjson_get_u64(j, "epoch", &e->epoch), "epoch");
	NEED(!vjson_get_u64(j, "log_head", &e->log_head), "log_head");
	NEED(!vjson_get_u64(j, "log_first", &e->log_first) && e->log_first <= e->log_head,
	     "log_first");
	NEED(!vjson_get_u64(j, "chain_start", &e->chain_start), "chain_start");
	NEED(!vjson_get_bool(j, "chain", &e->chain), "chain");
	NEED(!vjson_get_bool(j, "keyed", &e->keyed), "keyed");
	e->has_log_hash = !vjson_get_hex(j, "log_hash", e->log_hash, 32);
	NEED(!vjson_get_str(j, "digest_list", e->digest_file, sizeof(e->digest_file)) &&
	     !strchr(e->digest_file, '/'), "digest_list");
	NEED(!parse_epochs(j, e), "epochs");
	NEED(json_object_object_get_ex(j, "files", &f) && json_object_is_type(f, json_type_object),
	     "files");
	{
		struct json_object_iterator it = json_object_iter_begin(f);
		struct json_object_iterator end = json_object_iter_end(f);

		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
			const char *name = json_object_iter_peek_name(&it);
			unsigned int k = e->nr_files;

			NEED(k < VEXPORT_MAX_FILES && strlen(name) < sizeof(e->files[k].name) &&
			     !strchr(name, '/') && strcmp(name, VEXPORT_MANIFEST) &&
			     !vjson_get_hex(f, name, e->files[k].sha256, 32), "files");
			snprintf(e->files[k].name, sizeof(e->files[k].name), "%s", name);
			e->nr_files++;
		}
	}
#undef NEED
	vjson_get_u64(j, "sb_seq", &e->sb_seq);
	vjson_get_u64(j, "measured", &e->measured);
	vjson_get_str(j, "tool_version", e->tool_version, sizeof(e->tool_version));
	vjson_get_str(j, "target_version", e->target_version, sizeof(e->target_version));
	if (json_object_object_get_ex(j, "device", &d)) {
		vjson_get_str(d, "name", e->name, sizeof(e->name));
		vjson_get_str(d, "table", e->table, sizeof(e->table));
		vjson_get_u64(d, "data_sectors", &e->data_sectors);
	}
	r = 0;
out:
	json_object_put(j);
	return r;
}

/* the SHA-256 and size of a file of the export */
static int file_sha(int dirfd, const char *name, uint8_t sha[32], uint64_t *size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = malloc(1 << 20);
	ssize_t k;
	int r = 0;

	*size = 0;
	if (fd < 0)
		r = -errno;
	else if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		r = -ENOMEM;
	while (!r) {
		k = read(fd, buf, 1 << 20);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			r = -errno;
		if (k <= 0)
			break;
		*size += k;
		if (!EVP_DigestUpdate(ctx, buf, k))
			r = -EIO;
	}
	if (!r && !EVP_DigestFinal_ex(ctx, sha, NULL))
		r = -EIO;
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return r;
}

static const uint8_t *listed_sha(const struct vexport *e, const char *name)
{
	unsigned int i;

	for (i = 0; i < e->nr_files; i++)
		if (!strcmp(e->files[i].name, name))
			return e->files[i].sha256;
	return NULL;
}

/* the record log: whole records [log_first, log_head), the chain up to log_hash */
static int check_log(int dirfd, struct vexport_in *in, uint64_t size, char *why, size_t n)
{
	const struct vexport *e = &in->e;
	uint64_t nrec = e->log_head - e->log_first;
	struct vchain_res res;
	char *raw;
	int fd, r;

	if (size != nrec * VDIRT_RECORD_SIZE) {
		why_set(why, n, "%s: %" PRIu64 " bytes, records %" PRIu64 "..%" PRIu64 " are %" PRIu64,
			VEXPORT_LOG_RAW, size, e->log_first, e->log_head, nrec * VDIRT_RECORD_SIZE);
		return -EBADMSG;
	}
	if (!e->chain || e->keyed || !nrec || !e->has_log_hash)
		return 0;	/* nothing to check without the key */
	raw = malloc(size);
	if (!raw)
		return -ENOMEM;
	fd = openat(dirfd, VEXPORT_LOG_RAW, O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? -errno : read_full(fd, raw, size, 0);
	if (fd >= 0)
		close(fd);
	if (!r) {
		r = vchain_verify((uint8_t *)raw, e->log_first, nrec, e->chain_start, e->log_hash,
				  e->g.digest_size, NULL, 0, &res);
		if (r == -EBADMSG)
			why_set(why, n, "%s: record %" PRIu64 ": %s", VEXPORT_LOG_RAW, res.bad,
				res.why);
		in->log_checked = !r;
	}
	free(raw);
	return r;
}

int vexport_check(const char *dir, struct vexport_in *in, char *why, size_t n)
{
	struct vexport *e = &in->e;
	uint8_t sha[32], root[VMERKLE_SIZE];
	uint64_t size, c, want;
	unsigned int i;
	char *text;
	int dfd, fd, r;

	memset(in, 0, sizeof(*in));
	why_set(why, n, "%s", "");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = read_text(dfd, VEXPORT_MANIFEST, &text);
	if (r == -EINVAL)
		why_set(why, n, "%s is not a JSON text", VEXPORT_MANIFEST);
	if (!r) {
		r = parse_manifest(text, e, why, n);
		free(text);
	}
	if (r)
		goto out;
	r = -EBADMSG;
	if (!listed_sha(e, e->digest_file) || !listed_sha(e, VEXPORT_LOG_RAW)) {
		why_set(why, n, "the manifest's files do not name the digest list and %s",
			VEXPORT_LOG_RAW);
		goto out;
	}
	for (i = 0; i < e->nr_files; i++) {
		r = file_sha(dfd, e->files[i].name, sha, &size);
		if (r) {
			why_set(why, n, "%s: %s", e->files[i].name, strerror(-r));
			if (r == -ENOENT)
				r = -EBADMSG;	/* a file of the export removed */
			goto out;
		}
		if (memcmp(sha, e->files[i].sha256, 32)) {
			why_set(why, n, "%s: its SHA-256 is not the manifest's", e->files[i].name);
			r = -EBADMSG;
			goto out;
		}
		if (!strcmp(e->files[i].name, VEXPORT_LOG_RAW)) {
			r = check_log(dfd, in, size, why, n);
			if (r)
				goto out;
		}
	}
	want = e->g.nr_clusters * e->g.digest_size;
	fd = openat(dfd, e->digest_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = file_sha(dfd, e->digest_file, sha, &size);
	if (!r && size != want) {
		why_set(why, n, "%s: %" PRIu64 " bytes, %" PRIu64 " clusters of %u-byte digests are %"
			PRIu64, e->digest_file, size, e->g.nr_clusters, e->g.digest_size, want);
		r = -EBADMSG;
	}
	if (!r) {
		void *m = mmap(NULL, want, PROT_READ, MAP_SHARED, fd, 0);

		if (m == MAP_FAILED)
			r = -errno;
		else {
			in->digests = m;
			in->map_len = want;
		}
	}
	close(fd);
	if (r)
		goto out;
	r = vmerkle_root(&e->g, in->digests, root);
	if (r)
		goto out;
	if (memcmp(root, e->root, VMERKLE_SIZE)) {
		why_set(why, n, "the root of %s is not the manifest's root", e->digest_file);
		r = -EBADMSG;
		goto out;
	}
	for (c = 0; c < e->g.nr_clusters; c++)
		in->measured += !is_zero(in->digests + c * e->g.digest_size, e->g.digest_size);
out:
	close(dfd);
	return r;
}

void vexport_in_free(struct vexport_in *in)
{
	if (in->digests)
		munmap((void *)in->digests, in->map_len);
	in->digests = NULL;
	vexport_free(&in->e);
}

int vexport_compare(const struct vexport_in *in, const uint8_t *image, uint64_t nr,
		    int (*fn)(uint64_t c, void *arg), void *arg, uint64_t *checked)
{
	const size_t ds = in->e.g.digest_size;
	uint64_t c;
	int r;

	*checked = 0;
	for (c = 0; c < nr && c < in->e.g.nr_clusters; c++) {
		const uint8_t *d = in->digests + c * ds;

		if (is_zero(d, ds))
			continue;
		(*checked)++;
		if (memcmp(d, image + c * ds, ds)) {
			r = fn(c, arg);
			if (r)
				return r;
		}
	}
	return 0;
}
