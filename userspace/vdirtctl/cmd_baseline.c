// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl baseline build, show, load, capture and clear, and clear (the
 * mismatch records): the work is lib/build.c's, lib/baseline.c's and
 * lib/load.c's; capture and the clears wait for the kernel's baseline change.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "baseline.h"
#include "build.h"
#include "cmd.h"
#include "format.h"
#include "json.h"
#include "load.h"
#include "util.h"

static void build_progress(void *arg, uint64_t done, uint64_t total, int final)
{
	(void)arg;
	progress("hashing", done, total, final);
}

int cmd_baseline_build(int argc, char **argv)
{
	const struct vh_alg *alg = get_alg(o.hash);
	struct vbuild_req q;
	struct vbuild_res res;
	char root[65];
	int r, nth;

	(void)argc;
	if (!o.output && !o.root)
		return cmd_usage();
	memset(&q, 0, sizeof(q));
	q.cluster_size = o.cluster_size ? o.cluster_size : VDIRT_DEFAULT_CLUSTER;
	if (!alg || check_cluster(q.cluster_size))
		return -EINVAL;
	q.alg = alg;
	q.output = o.output;
	q.fd = open_dev(argv[0], O_RDONLY, &q.size);
	if (q.fd < 0)
		return q.fd;
	nth = o.threads > 0 ? o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	q.threads = nth < 1 ? 1 : nth > 256 ? 256 : nth;
	if (show_progress())
		q.progress = build_progress;
	q.stop = &interrupted;
	q.root = o.root;
	r = vbuild(&q, &res);
	vbuild_free(&res);
	close(q.fd);
	if (r) {
		err("%s: %s", res.output_failed ? o.output : argv[0], strerror(-r));
		return r;
	}
	hex(root, res.root, sizeof(res.root));
	if (o.json) {
		struct json_object *j = json_object_new_object();

		vjson_add_str(j, "file", o.output);
		vjson_add_u64(j, "source_size", q.size);
		vjson_add_u64(j, "cluster_size", q.cluster_size);
		vjson_add_str(j, "hash", alg->name);
		vjson_add_u64(j, "clusters", res.clusters);
		vjson_add_u64(j, "zero_clusters", res.zero_clusters);
		if (o.root) {
			vjson_add_str(j, "tree_hash", "sha256");
			vjson_add_str(j, "root", root);
		}
		return vjson_print(stdout, j, "\n");
	}
	if (!o.quiet)
		printf("%s: %" PRIu64 " clusters of %u bytes (%" PRIu64 " zero), %s\n",
		       o.output ? o.output : argv[0], res.clusters, q.cluster_size,
		       res.zero_clusters, alg->name);
	/* --root: the hex root alone on the last line (also with --quiet) */
	if (o.root)
		printf("%s\n", root);
	return 0;
}

int cmd_baseline_show(int argc, char **argv)
{
	struct vb_file f;
	char msg[256], d[65];
	int r = 0;

	(void)argc;
	r = vb_open(argv[0], &f, msg, sizeof(msg));
	if (r) {
		err("%s: %s", argv[0], msg);
		return r;
	}
	hex(d, f.map + VB_DIGEST_OFF, 32);
	if (o.json) {
		struct json_object *j = json_object_new_object();

		vjson_add_str(j, "file", argv[0]);
		vjson_add_u64(j, "version", f.info.version);
		vjson_add_u64(j, "cluster_size", f.info.cluster_size);
		vjson_add_str(j, "hash", f.info.hash_name);
		vjson_add_u64(j, "digest_size", f.info.digest_size);
		vjson_add_u64(j, "clusters", f.info.nr_clusters);
		vjson_add_u64(j, "source_size", f.info.source_size);
		vjson_add_u64(j, "zero_clusters", f.info.zero_clusters);
		vjson_add_u64(j, "created", f.info.created_ns);
		vjson_add_str(j, "file_digest", d);
		r = vjson_print(stdout, j, "\n");
	} else {
		printf("%-16s %u\n%-16s %u\n%-16s %s\n%-16s %" PRIu64 "\n%-16s %" PRIu64
		       "\n%-16s %" PRIu64 "\n%-16s %s\n", "version", f.info.version,
		       "cluster_size", f.info.cluster_size, "hash", f.info.hash_name,
		       "clusters", f.info.nr_clusters, "source_size", f.info.source_size,
		       "zero_clusters", f.info.zero_clusters, "file_digest", d);
	}
	vb_close(&f);
	return r;
}

static void load_error(const char *dev, const struct vload_res *l, int r)
{
	if (l->step == VL_BEGIN)
		err("%s: cannot start a baseline load: %s", dev, strerror(-r));
	else if (l->step == VL_CHUNK && r != -EINTR)
		err("%s: baseline chunk at cluster %" PRIu64 ": %s", dev, l->cluster,
		    strerror(-r));
	else if (l->step == VL_COMMIT)
		err("%s: baseline commit: %s", dev, strerror(-r));
}

int cmd_baseline_load(int argc, char **argv)
{
	struct vdev_info d;
	struct vload_res l;
	struct vb_file f;
	struct vnl v;
	char msg[256];
	int r;

	(void)argc;
	r = vb_open(argv[1], &f, msg, sizeof(msg));
	if (r) {
		err("%s: refused: %s", argv[1], msg);
		return r;
	}
	r = nl_open_dev(&v, argv[0], &d);
	if (r)
		goto out;
	if (!vload_fits(&d, &f.info)) {
		err("%s: refused: the file is for %" PRIu64 " clusters of %u bytes with %s, "
		    "%s has %" PRIu64 " clusters of %u bytes with %s", argv[1],
		    f.info.nr_clusters, f.info.cluster_size, f.info.hash_name, argv[0],
		    d.nr_clusters, d.cluster_size, d.hash);
		r = -EINVAL;
		goto out;
	}
	r = vload(&v, argv[0], &f, &interrupted, &l);
	if (r)
		load_error(argv[0], &l, r);
	/* the kernel replaces the baseline in a worker: wait for its end */
	else if (l.change_id)
		r = change_wait(&v, argv[0], l.change_id, "baseline load");
	if (!r && !o.quiet && !o.json)
		printf("%s: baseline of %" PRIu64 " clusters loaded from %s\n", argv[0],
		       f.info.nr_clusters, argv[1]);
out:
	/* an unfinished load is aborted by the kernel when the socket closes */
	vnl_close(&v);
	vb_close(&f);
	return r;
}

/* a command on the device argv[0]: nl_change(), waiting for the change */
static int cmd_change(char **argv, uint8_t cmd, const char *what)
{
	int r;

	r = nl_change(argv[0], cmd, what, true);
	if (!r && !o.quiet && !o.json)
		printf("%s: %s done\n", argv[0], what);
	return r;
}

int cmd_baseline_capture(int argc, char **argv)
{
	(void)argc;
	return cmd_change(argv, VDIRT_CMD_BASELINE_CAPTURE, "baseline capture");
}

int cmd_baseline_clear(int argc, char **argv)
{
	(void)argc;
	return cmd_change(argv, VDIRT_CMD_BASELINE_CLEAR, "baseline clear");
}

int cmd_clear(int argc, char **argv)
{
	(void)argc;
	return cmd_change(argv, VDIRT_CMD_MISMATCH_CLEAR, "clear mismatches");
}
