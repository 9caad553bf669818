// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl: helpers the commands share: messages (and the library's log
 * hook), opening devices with a reason, the hash and cluster size checks,
 * the progress bar, netlink device lookups and baseline change waits, and
 * the printing of a mismatch record.
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
#include "format.h"
#include "json.h"
#include "util.h"

struct opts o = { .epochs = VDIRT_EPOCHS_DEFAULT, .cache_mb = -1, .threads = 0, .progress = -1, .interval = 15 };
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
	}
	printf("%s%s\n", source ? " " : "", source ? source : "");
	fflush(stdout);
}
