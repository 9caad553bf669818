// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl: helpers the commands share: messages (and the library's log
 * hook), opening devices with a reason, the hash and cluster size checks,
 * the progress bar, netlink device lookups and baseline change waits, and
 * the printing of a mismatch record; the cluster -> file annotations
 * (files_annotate(), files_print(), files_merge()).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "files.h"
#include "format.h"
#include "json.h"
#include "util.h"

struct opts o = { .epochs = VDIRT_EPOCHS_DEFAULT, .until = -1, .cache_mb = -1, .write_back = -1,
		   .threads = 0, .progress = -1, .interval = 15 };
volatile sig_atomic_t interrupted;

void err(const char *fmt, ...)
{
	va_list ap;

	fputs("vdirtctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void dbg(const char *fmt, ...)
{
	va_list ap;

	if (!o.debug)
		return;
	fputs("# ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void log_hook(int level, const char *msg)
{
	if (level == VLOG_ERR)
		err("%s", msg);
	else if (level <= o.debug)
		fprintf(stderr, "# %s\n", msg);
}

int open_dev(const char *path, int flags, uint64_t *size)
{
	int fd = vdev_open(path, flags, size);

	if (fd == -EBUSY)
		err("%s: in use (mounted, or held by device-mapper)", path);
	else if (fd == -ENOTBLK)
		err("%s: not a block device or regular file", path);
	else if (fd < 0)
		err("%s: %s", path, strerror(-fd));
	return fd == -ENOTBLK ? -EINVAL : fd;
}

const struct vh_alg *get_alg(const char *name)
{
	const struct vh_alg *a = vh_find(name ? name : VDIRT_DEFAULT_HASH);
	unsigned int i;

	if (!a) {
		err("unknown hash '%s'; supported:", name);
		for (i = 0; vh_algs(i); i++)
			fprintf(stderr, "  %s\n", vh_algs(i)->name);
	}
	return a;
}

int check_cluster(uint32_t cs)
{
	if (!vformat_cluster_ok(cs)) {
		err("cluster size %u: must be a power of two from %u to %u", cs,
		    VDIRT_MIN_CLUSTER_SIZE, VDIRT_MAX_CLUSTER_SIZE);
		return -EINVAL;
	}
	return 0;
}

int show_progress(void)
{
	return o.progress < 0 ? isatty(2) && !o.quiet : o.progress;
}

void progress(const char *what, uint64_t done, uint64_t total, int final)
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

int nl_dev_get(struct vnl *v, const char *dev, struct vdev_info *d)
{
	int r = vnl_dev_get(v, dev, d);

	if (r == -ENODEV || r == -ENOENT)
		err("%s: no such vdirt device", dev);
	else if (r)
		err("%s: %s", dev, strerror(-r));
	return r;
}

int nl_open_dev(struct vnl *v, const char *dev, struct vdev_info *d)
{
	int r = vnl_open(v);

	return r ? r : nl_dev_get(v, dev, d);
}

/*
 * Poll dev's info until change id ended: 0 when it succeeded, else -errno
 * (its error, or -EINTR on a signal, the change going on in the kernel).
 */
int change_wait(struct vnl *v, const char *dev, uint64_t id, const char *what)
{
	int show = show_progress(), said_paused = 0, r;
	struct vdev_info d;

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
		if (d.change_paused && !said_paused && !o.quiet)
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

int nl_change(const char *dev, uint8_t cmd, const char *what, bool wait)
{
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
	r = vnl_dev_cmd(&v, dev, cmd, wait ? &id : NULL);
	if (r)
		err("%s: %s: %s", dev, what, strerror(-r));
	else if (wait && id)
		r = change_wait(&v, dev, id, what);
	vnl_close(&v);
	return r;
}

/* the fields of the log's other kinds (epoch, activation, baseline) */
static void rec_json_kind(struct json_object *j, const struct vrec *r)
{
	char l[VDIRT_EPOCH_LABEL_LEN];

	if (r->kind >= VDIRT_KIND_EPOCH && r->kind != VREC_KIND_GAP)
		vjson_add_u64(j, "epoch", r->epoch);
	switch (r->kind) {
	case VDIRT_KIND_EPOCH:
		vrec_label(l, sizeof(l), r);
		vjson_add_u64(j, "opened", r->aux[VDIRT_AUX_EPOCH]);
		vjson_add_str(j, "label", l);
		break;
	case VDIRT_KIND_ACTIVATION:
		vjson_add_bool(j, "unclean", r->aux[VDIRT_AUX_ACT_FLAGS] & VDIRT_ACT_F_UNCLEAN);
		vjson_add_bool(j, "keyed", r->aux[VDIRT_AUX_ACT_FLAGS] & VDIRT_ACT_F_KEYED);
		vjson_add_str(j, "chain_restart", vrec_restart_name(r->aux[VDIRT_AUX_ACT_RESTART]));
		vjson_add_u64(j, "prev_chain_start", r->aux[VDIRT_AUX_ACT_PREV_CHAIN]);
		vjson_add_u64(j, "sb_seq", r->aux[VDIRT_AUX_ACT_SEQ]);
		break;
	case VDIRT_KIND_BASELINE:
		vjson_add_str(j, "baseline_op", vrec_baseline_op_name(r->aux[0]));
		vjson_add_u64(j, "baselined", r->aux[1]);
		break;
	}
}

struct json_object *rec_json(const struct vrec *r, uint32_t cs, const char *source)
{
	struct json_object *j = json_object_new_object();
	char e[129], a[129];

	hex(e, r->expected, r->dlen);
	hex(a, r->actual, r->dlen);
	vjson_add_str(j, "device", r->dev);
	vjson_add_u64(j, "cluster", r->cluster);
	vjson_add_u64(j, "sector", r->cluster * (cs / 512));
	vjson_add_str(j, "kind", vrec_kind_name(r->kind));
	vjson_add_str(j, "op", vrec_op_name(r->op));
	vjson_add_str(j, "expected", e);
	vjson_add_str(j, "actual", a);
	vjson_add_u64(j, "time", r->time);
	vjson_add_u64(j, "seq", r->seq);
	if (r->kind == VDIRT_KIND_ROLLBACK)
		vjson_add_u64(j, "epoch", r->aux[VDIRT_AUX_EPOCH]);
	if (r->kind == VDIRT_KIND_RECOVERY) {
		vjson_add_u64(j, "regions", r->aux[VDIRT_AUX_REGIONS]);
		vjson_add_u64(j, "remeasured", r->aux[VDIRT_AUX_REMEASURED]);
		vjson_add_u64(j, "changed", r->aux[VDIRT_AUX_CHANGED]);
		vjson_add_u64(j, "on_read", r->aux[VDIRT_AUX_ON_READ]);
	}
	rec_json_kind(j, r);
	if (source)
		vjson_add_str(j, "source", source);
	return j;
}

void fmt_time(char *out, size_t n, uint64_t ns)
{
	time_t t = ns / 1000000000ULL;
	char ts[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%09" PRIu64 "Z", ts, ns % (uint64_t)1000000000);
}

/* the text form of a record (the JSON one: rec_json()) */
void print_rec(const struct vrec *r, uint32_t cs, const char *source)
{
	time_t t = r->time / 1000000000ULL;
	char e[129], a[129], ts[40];
	struct tm tm;

	hex(e, r->expected, r->dlen);
	hex(a, r->actual, r->dlen);
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	printf("%s.%09" PRIu64 "Z %s seq %" PRIu64, ts, r->time % (uint64_t)1000000000,
	       r->dev, r->seq);
	if (r->kind == VDIRT_KIND_RECOVERY) {
		char rs[160];

		vrec_recovery_str(rs, sizeof(rs), r);
		printf(" recovery: %s", rs);
	} else if (r->kind == VDIRT_KIND_EPOCH) {
		char l[VDIRT_EPOCH_LABEL_LEN];

		vrec_label(l, sizeof(l), r);
		printf(" epoch: %" PRIu64 " opened, label %s", r->aux[VDIRT_AUX_EPOCH],
		       *l ? l : "-");
	} else if (r->kind == VDIRT_KIND_ACTIVATION) {
		printf(" activation: epoch %" PRIu64 ", superblock seq %" PRIu64 "%s%s, chain restart %s",
		       r->epoch, r->aux[VDIRT_AUX_ACT_SEQ],
		       r->aux[VDIRT_AUX_ACT_FLAGS] & VDIRT_ACT_F_UNCLEAN ? ", after a crash" : "",
		       r->aux[VDIRT_AUX_ACT_FLAGS] & VDIRT_ACT_F_KEYED ? ", keyed chain" : "",
		       vrec_restart_name(r->aux[VDIRT_AUX_ACT_RESTART]));
	} else if (r->kind == VDIRT_KIND_BASELINE) {
		printf(" baseline: %s, %" PRIu64 " clusters baselined",
		       vrec_baseline_op_name(r->aux[0]), r->aux[1]);
	} else if (r->kind == VDIRT_KIND_PURGE) {
		printf(" purge");
	} else {
		printf(" cluster %" PRIu64 " sector %" PRIu64 " %s (%s) expected %s actual %s",
		       r->cluster, r->cluster * (cs / 512), vrec_kind_name(r->kind),
		       vrec_op_name(r->op), e, a);
		if (r->kind == VDIRT_KIND_ROLLBACK)
			printf(" epoch=%" PRIu64, r->aux[VDIRT_AUX_EPOCH]);
	}
	printf("%s%s\n", source ? " " : "", source ? source : "");
	fflush(stdout);
}

/* --- cluster -> file (files, report --files; the contract is in cmd.h) --- */

static struct json_object *files_one(const struct vfiles_result *res, uint64_t cluster)
{
	struct json_object *j = json_object_new_object(), *fl = json_object_new_array();
	const struct vfiles_part *p = res->part;
	size_t i;

	vjson_add_u64(j, "cluster", cluster);
	if (p) {
		struct json_object *pj = json_object_new_object();

		vjson_add_u64(pj, "index", p->index);
		vjson_add_u64(pj, "start_sector", p->start_sector);
		vjson_add_str(pj, "type", p->type);
		json_object_object_add(j, "partition", pj);
	} else {
		json_object_object_add(j, "partition", NULL);
	}
	vjson_add_str(j, "fs", p ? p->fs : NULL);
	if (res->allocated < 0)
		json_object_object_add(j, "allocated", NULL);
	else
		vjson_add_bool(j, "allocated", res->allocated);
	for (i = 0; i < res->nfiles; i++) {
		struct json_object *f = json_object_new_object();

		vjson_add_str(f, "path", res->files[i].path);
		vjson_add_u64(f, "inode", res->files[i].inode);
		vjson_add_u64(f, "offset", res->files[i].offset);
		vjson_add_u64(f, "length", res->files[i].length);
		json_object_array_add(fl, f);
	}
	json_object_object_add(j, "files", fl);
	vjson_add_str(j, "meta", res->meta);
	if (p && p->block_size && !p->error) {
		vjson_add_u64(j, "block", res->block);
		vjson_add_u64(j, "blocks", res->blocks);
	}
	if (p && p->error)
		vjson_add_str(j, "error", p->error);
	return j;
}

/* a dm name (no "/", not a file here) is /dev/mapper/NAME */
static void files_path(char *out, size_t len, const char *dev)
{
	if (strchr(dev, '/') || !access(dev, F_OK))
		snprintf(out, len, "%s", dev);
	else
		snprintf(out, len, "/dev/mapper/%s", dev);
}

int files_annotate(const char *dev, uint32_t cs, const uint64_t *clusters, size_t n,
		   files_fn fn, void *arg)
{
	char path[4096], *why = NULL;
	uint64_t total;
	struct vfiles *v;
	uint8_t *said;
	size_t i;
	int r;

	if (!vfiles_available()) {
		fprintf(stderr, "vdirtctl was built without libtsk (WITH_TSK=no): "
			"install libtsk-dev and rebuild\n");
		return -EOPNOTSUPP;
	}
	files_path(path, sizeof(path), dev);
	r = vfiles_open(path, &v, &why);
	if (r) {
		err("%s: cannot map clusters to files: %s%s%s", path, strerror(-r),
		    why ? ": " : "", why ? why : "");
		free(why);
		return r;
	}
	dbg("files: %s: map of %zu ranges built in %.3f s", path, vfiles_nranges(v),
	    vfiles_build_ns(v) / 1e9);
	/* every cluster checked before the first answer: no half output */
	total = (vfiles_size(v) + cs - 1) / cs;
	for (i = 0; i < n; i++)
		if (clusters[i] >= total) {
			err("%s: cluster %" PRIu64 " is beyond the end (%" PRIu64 " clusters of %u bytes)",
			    path, clusters[i], total, cs);
			vfiles_close(v);
			return -ERANGE;
		}
	said = calloc(vfiles_nparts(v) + 1, 1);
	for (i = 0; i < n && !r; i++) {
		struct vfiles_result res;
		struct json_object *a;

		r = vfiles_lookup(v, clusters[i] * cs, cs, &res);
		if (r) {
			err("%s: cluster %" PRIu64 ": %s", path, clusters[i], strerror(-r));
			break;
		}
		if (res.part && res.part->error && said && !said[res.part - vfiles_part(v, 0)] &&
		    !o.quiet) {
			said[res.part - vfiles_part(v, 0)] = 1;
			err("%s: partition %d (start sector %" PRIu64 ", %s): %s", path,
			    res.part->index, res.part->start_sector, res.part->type, res.part->error);
		}
		a = files_one(&res, clusters[i]);
		vfiles_result_free(&res);
		r = fn(i, a, arg);
	}
	free(said);
	vfiles_close(v);
	return r;
}

static const char *jstr(struct json_object *j, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(j, key, &v) && v ? json_object_get_string(v) : NULL;
}

static uint64_t ju64(struct json_object *j, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(j, key, &v) && v ? (uint64_t)json_object_get_int64(v) : 0;
}

void files_print(struct json_object *a, const char *prefix)
{
	struct json_object *p = NULL, *fl = NULL, *al = NULL;
	const char *fs = jstr(a, "fs"), *meta = jstr(a, "meta"), *error = jstr(a, "error");
	char where[512], blk[64] = "";
	size_t i, nf;

	json_object_object_get_ex(a, "partition", &p);
	json_object_object_get_ex(a, "files", &fl);
	json_object_object_get_ex(a, "allocated", &al);
	if (!p)
		snprintf(where, sizeof(where), "no partition");
	else if (!ju64(p, "index") && !strcmp(jstr(p, "type"), "none"))
		snprintf(where, sizeof(where), "whole disk (no partition table)%s%s",
			 fs ? " " : "", fs ? fs : "");
	else
		snprintf(where, sizeof(where), "partition %" PRIu64 " (start sector %" PRIu64 ", %s)%s%s",
			 ju64(p, "index"), ju64(p, "start_sector"), jstr(p, "type"),
			 fs ? " " : "", fs ? fs : "");
	if (json_object_object_get_ex(a, "block", NULL)) {
		uint64_t b = ju64(a, "block"), nb = ju64(a, "blocks");

		if (nb > 1)
			snprintf(blk, sizeof(blk), " blocks %" PRIu64 "-%" PRIu64, b, b + nb - 1);
		else
			snprintf(blk, sizeof(blk), " block %" PRIu64, b);
	}
	if (error) {
		printf("%s%s: not mapped: %s\n", prefix, where, error);
		return;
	}
	nf = fl ? json_object_array_length(fl) : 0;
	for (i = 0; i < nf; i++) {
		struct json_object *f = json_object_array_get_idx(fl, i);
		uint64_t off = ju64(f, "offset"), len = ju64(f, "length");
		char bytes[64];

		if (len)
			snprintf(bytes, sizeof(bytes), "bytes %" PRIu64 "-%" PRIu64, off, off + len - 1);
		else
			snprintf(bytes, sizeof(bytes), "slack after byte %" PRIu64, off);
		printf("%s%s%s: %s (inode %" PRIu64 ", %s)%s%s%s\n", prefix, where, blk,
		       jstr(f, "path"), ju64(f, "inode"), bytes, meta ? " [" : "", meta ? meta : "",
		       meta ? "]" : "");
	}
	if (nf)
		return;
	if (meta)
		printf("%s%s%s: %s\n", prefix, where, blk, meta);
	else if (!al)
		printf("%s%s%s: allocation unknown\n", prefix, where, blk);
	else if (json_object_get_boolean(al))
		printf("%s%s%s: allocated, no file found that owns it\n", prefix, where, blk);
	else
		printf("%s%s%s: unallocated\n", prefix, where, blk);
}

void files_merge(struct json_object *rec, struct json_object *a)
{
	json_object_object_foreach(a, key, val) {
		if (!strcmp(key, "cluster"))
			continue;
		json_object_object_add(rec, key, json_object_get(val));
	}
}
