// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl export and verify-image: the evidence export of a live device
 * from one metadata snapshot (manifest.json, the digest list, the record
 * log; see Documentation/dm-vdirt.rst, "Attestation and evidence export")
 * and the offline re-verification of an acquired image against it.  The
 * files are lib/export.c's, the snapshot lib/attest.c's, the image's
 * digests lib/build.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest.h"
#include "epoch.h"
#include "build.h"
#include "cmd.h"
#include "dm.h"
#include "export.h"
#include "json.h"
#include "util.h"

#define SNAP_TIMEOUT_MS	(600U * 1000U)

/* the snapshot's digests: into the digest list and the tree */
struct dig_arg {
	struct vexport_out *f;
	struct vmerkle *m;
	unsigned int ds;
	uint64_t measured;
};

static int dig_cb(uint64_t first, uint64_t n, const uint8_t *valid, const uint8_t *digests,
		  void *arg)
{
	static const uint8_t zero[VDIRT_MAX_DIGEST_SIZE];
	struct dig_arg *a = arg;
	uint64_t i;
	int r;

	(void)first;
	for (i = 0; i < n; i++) {
		const uint8_t *d = valid[i] & VDIRT_HV_CURRENT ? digests + i * a->ds : zero;

		a->measured += d != zero;
		r = vexport_out_write(a->f, d, a->ds);
		if (!r)
			r = vmerkle_add(a->m, d != zero ? d : NULL);
		if (r)
			return r;
	}
	return 0;
}

static int export_digests(struct vnl *v, const char *dev, int dfd, struct vexport *e,
			  const struct vattest *a)
{
	uint8_t root[VMERKLE_SIZE];
	struct vexport_out f;
	struct vmerkle m;
	struct dig_arg da;
	int r;

	r = vmerkle_init(&m, &e->g);
	if (r)
		return r;
	r = vexport_out_open(dfd, e->digest_file, &f);
	if (r) {
		vmerkle_free(&m);
		return r;
	}
	memset(&da, 0, sizeof(da));
	da.f = &f;
	da.m = &m;
	da.ds = e->g.digest_size;
	r = vnl_snap_digests(v, dev, da.ds, dig_cb, &da);
	if (r) {
		err("%s: export: the snapshot's digests: %s", dev, strerror(-r));
		goto out;
	}
	r = vmerkle_final(&m, root);
	if (r) {
		err("%s: export: the snapshot gave %" PRIu64 " digests for %" PRIu64 " clusters", dev,
		    m.next, e->g.nr_clusters);
		r = -EBADMSG;
		goto out;
	}
	if (memcmp(root, a->root, VMERKLE_SIZE)) {
		err("%s: export: the snapshot's digests do not give the kernel's root of the snapshot",
		    dev);
		r = -EBADMSG;
		goto out;
	}
	e->measured = da.measured;
	r = vexport_out_close(&f, e);
	vmerkle_free(&m);
	return r;
out:
	vexport_out_abort(&f);
	vmerkle_free(&m);
	return r;
}

/* the records [first kept, head): raw into log.raw, as log --json into log.json */
struct log_arg {
	struct vexport_out *f;
	uint64_t head, first, next;
	int started;
	uint32_t cs;
	struct json_object *recs;
};

static int log_cb(const struct vrec *r, void *arg)
{
	struct log_arg *a = arg;

	if (r->rec_seq >= a->head)
		return 0;
	if (!r->has_raw)
		return -EOPNOTSUPP;
	if (!a->started) {
		a->started = 1;
		a->first = a->next = r->rec_seq;
	}
	if (r->rec_seq != a->next)
		return -EAGAIN;		/* the ring moved on under the dump */
	a->next++;
	json_object_array_add(a->recs, log_rec_json(r, a->cs));
	return vexport_out_write(a->f, r->raw, VDIRT_RECORD_SIZE);
}

static int export_log(struct vnl *v, const char *dev, int dfd, struct vexport *e)
{
	struct json_object *j;
	struct vexport_out f, fj;
	struct log_arg la;
	char h[65];
	char *text;
	int r;

	r = vexport_out_open(dfd, VEXPORT_LOG_RAW, &f);
	if (r)
		return r;
	memset(&la, 0, sizeof(la));
	la.f = &f;
	la.head = e->log_head;
	la.cs = e->g.cluster_size;
	la.recs = json_object_new_array();
	r = vnl_dump_records(v, dev, 0, log_cb, &la);
	if (r == -EOPNOTSUPP)
		err("%s: export: the module gives no raw records", dev);
	else if (r == -EAGAIN)
		err("%s: export: records were overwritten during the export (the ring is full): try again",
		    dev);
	else if (r)
		err("%s: export: the record log: %s", dev, strerror(-r));
	if (!r && la.started && la.next != la.head) {
		err("%s: export: the log ends at record %" PRIu64 ", the snapshot's head is %" PRIu64,
		    dev, la.next, la.head);
		r = -EBADMSG;
	}
	if (r) {
		vexport_out_abort(&f);
		json_object_put(la.recs);
		return r;
	}
	e->log_first = la.started ? la.first : e->log_head;
	r = vexport_out_close(&f, e);
	if (r) {
		json_object_put(la.recs);
		return r;
	}
	/* log.json: the form of vdirtctl log --json, up to the snapshot's head */
	j = json_object_new_object();
	vjson_add_str(j, "device", dev);
	vjson_add_bool(j, "chain", e->chain);
	vjson_add_bool(j, "keyed", e->keyed);
	vjson_add_u64(j, "chain_start", e->chain_start);
	vjson_add_u64(j, "log_head", e->log_head);
	hex(h, e->log_hash, 32);
	vjson_add_str(j, "log_hash", h);
	json_object_object_add(j, "records", la.recs);
	text = NULL;
	if (asprintf(&text, "%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
			JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		text = NULL;
	json_object_put(j);
	if (!text)
		return -ENOMEM;
	r = vexport_out_open(dfd, VEXPORT_LOG_JSON, &fj);
	if (!r) {
		r = vexport_out_write(&fj, text, strlen(text));
		if (r)
			vexport_out_abort(&fj);
		else
			r = vexport_out_close(&fj, e);
	}
	free(text);
	return r;
}

static int export_epochs(struct vnl *v, const char *dev, struct vexport *e)
{
	struct vepoch *er;
	size_t i, n;
	int r;

	r = vnl_epoch_list(v, dev, &er, &n);
	if (r == -EOPNOTSUPP)
		return 0;	/* no epoch table: no epochs */
	if (r)
		return r;
	e->epochs = calloc(n ? n : 1, sizeof(*e->epochs));
	if (!e->epochs) {
		free(er);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct vexport_epoch *x = &e->epochs[i];

		x->epoch = er[i].epoch;
		memcpy(x->label, er[i].label, sizeof(x->label));
		x->start_ns = er[i].start_ns;
		x->end_ns = er[i].end_ns;
		x->log_end = er[i].log_end;
		x->closed = !!(er[i].flags & VDIRT_EP_CLOSED);
		x->unclean = !!(er[i].flags & VDIRT_EP_UNCLEAN);
		x->has_root = !!(er[i].flags & VDIRT_EP_ROOT);
		memcpy(x->root, er[i].root, VMERKLE_SIZE);
		x->has_log_hash = er[i].has_log_hash;
		memcpy(x->log_hash, er[i].log_hash, 32);
	}
	e->nr_epochs = n;
	free(er);
	return 0;
}

/* the export's state from the snapshot's root (a), the device (d) and its table */
static void export_fill(struct vexport *e, const char *dev, const struct vdev_info *d,
			const struct vattest *a)
{
	struct vdm_dev dm;
	uint32_t ver[3];

	snprintf(e->name, sizeof(e->name), "%s", d->name[0] ? d->name : dev);
	e->major = d->major;
	e->minor = d->minor;
	e->data_sectors = d->data_sectors;
	if (!vdm_get(dev, &dm)) {
		snprintf(e->table, sizeof(e->table), "%" PRIu64 " %" PRIu64 " vdirt %s", dm.start,
			 dm.len, dm.table);
		vdm_put(&dm);
	}
	memcpy(e->uuid, a->uuid, 16);
	vattest_geom(a, &e->g);
	memcpy(e->root, a->root, VMERKLE_SIZE);
	e->epoch = a->epoch;
	e->snap_time_ns = a->time_ns;
	e->sb_seq = a->sb_seq;
	e->log_head = a->log_head;
	e->has_log_hash = a->has_log_hash;
	memcpy(e->log_hash, a->log_hash, 32);
	e->chain = d->has_chain;
	e->keyed = d->log_keyed;
	e->chain_start = d->chain_start;
	snprintf(e->tool_version, sizeof(e->tool_version), "vdirtctl %s", VDIRTCTL_VERSION);
	if (!vdm_target_version("vdirt", ver))
		snprintf(e->target_version, sizeof(e->target_version), "vdirt %u.%u.%u", ver[0],
			 ver[1], ver[2]);
	vexport_name_digests(e);
}

int cmd_export(int argc, char **argv)
{
	const char *dev = argv[0];
	struct vexport_in in;
	struct vdev_info d;
	struct vexport e;
	struct vattest a;
	char why[256], h[65];
	int dfd = -1, taken = 0, r, r2;
	uint64_t id;
	struct vnl v;

	(void)argc;
	memset(&e, 0, sizeof(e));
	memset(&v, 0, sizeof(v));
	if (!o.output) {
		err("export: -o DIR is needed");
		return cmd_usage();
	}
	dfd = vexport_dir(o.output);
	if (dfd == -ENOTEMPTY) {
		err("%s: not empty: export writes into a new or empty directory", o.output);
		return -EEXIST;
	}
	if (dfd < 0) {
		err("%s: %s", o.output, strerror(-dfd));
		return dfd;
	}
	r = nl_open_dev(&v, dev, &d);
	if (r)
		goto out;
	r = vdm_snap_take(dev, &id);
	if (r) {
		attest_error(dev, "metadata_snap take", r);
		goto out;
	}
	taken = 1;
	r = vnl_attest_wait(&v, dev, id, SNAP_TIMEOUT_MS, &interrupted, &a);
	if (r) {
		attest_error(dev, "the snapshot's root", r);
		goto out;
	}
	export_fill(&e, dev, &d, &a);
	r = export_digests(&v, dev, dfd, &e, &a);
	if (!r)
		r = export_log(&v, dev, dfd, &e);
	if (!r) {
		r = export_epochs(&v, dev, &e);
		if (r)
			err("%s: export: epochs: %s", dev, strerror(-r));
	}
	if (r)
		goto out;
	e.export_time_ns = now_ns();
	r = vexport_write_manifest(dfd, &e);
	if (r) {
		err("%s: %s: %s", o.output, VEXPORT_MANIFEST, strerror(-r));
		goto out;
	}
	/* what a third party checks first: the export must pass it */
	r = vexport_check(o.output, &in, why, sizeof(why));
	vexport_in_free(&in);
	if (r) {
		err("%s: the export does not check: %s", o.output, why[0] ? why : strerror(-r));
		goto out;
	}
out:
	if (taken) {
		r2 = vdm_snap_drop(dev);
		if (r2) {
			attest_error(dev, "metadata_snap drop", r2);
			if (!r)
				r = r2;
		}
	}
	vnl_close(&v);
	if (dfd >= 0)
		close(dfd);
	if (!r) {
		hex(h, e.root, VMERKLE_SIZE);
		if (o.json) {
			struct json_object *j = json_object_new_object();

			vjson_add_str(j, "device", dev);
			vjson_add_str(j, "dir", o.output);
			vjson_add_u64(j, "clusters", e.g.nr_clusters);
			vjson_add_u64(j, "measured", e.measured);
			vjson_add_u64(j, "epoch", e.epoch);
			vjson_add_u64(j, "log_head", e.log_head);
			vjson_add_u64(j, "records", e.log_head - e.log_first);
			vjson_add_str(j, "root", h);
			r = vjson_print(stdout, j, "\n");
		} else {
			if (!o.quiet)
				printf("%s: exported to %s: %" PRIu64 " clusters (%" PRIu64
				       " measured), epoch %" PRIu64 ", records %" PRIu64 "..%" PRIu64 "\n",
				       dev, o.output, e.g.nr_clusters, e.measured, e.epoch, e.log_first,
				       e.log_head);
			printf("%s\n", h);
		}
	}
	vexport_free(&e);
	return r;
}

/* verify-image: the differing clusters */
struct mis {
	struct json_object *a;	/* --json */
	uint64_t n;
};

static int mis_cb(uint64_t c, void *arg)
{
	struct mis *m = arg;

	m->n++;
	if (m->a)
		json_object_array_add(m->a, json_object_new_uint64(c));
	else
		printf("%" PRIu64 "\n", c);
	return 0;
}

static void vi_progress(void *arg, uint64_t done, uint64_t total, int final)
{
	(void)arg;
	progress("hashing", done, total, final);
}

int cmd_verify_image(int argc, char **argv)
{
	const char *image = argv[0], *dir = argv[1];
	const struct vh_alg *alg;
	struct vbuild_res res;
	struct vbuild_req q;
	struct vexport_in in;
	struct mis m;
	uint64_t checked = 0, nr;
	char why[256], h[65];
	int r, nth;

	(void)argc;
	memset(&res, 0, sizeof(res));
	r = vexport_check(dir, &in, why, sizeof(why));
	if (r == -EBADMSG || r == -EINVAL) {
		err("%s: the export is refused: %s", dir, why);
		r = EXIT_INVAL;
		goto out;
	}
	if (r) {
		err("%s: %s%s%s", dir, why, why[0] ? ": " : "", strerror(-r));
		goto out;
	}
	alg = vh_find(in.e.g.hash_name);
	if (!alg || alg->digest_size != in.e.g.digest_size) {
		err("%s: the export's hash %s (%u-byte digests) is not one vdirtctl computes", dir,
		    in.e.g.hash_name, in.e.g.digest_size);
		r = EXIT_NOTSUP;
		goto out;
	}
	memset(&q, 0, sizeof(q));
	q.fd = open_dev(image, O_RDONLY, &q.size);
	if (q.fd < 0) {
		r = q.fd;
		goto out;
	}
	q.cluster_size = in.e.g.cluster_size;
	q.alg = alg;
	nr = q.size / q.cluster_size + !!(q.size % q.cluster_size);
	if (nr != in.e.g.nr_clusters) {
		err("%s: %" PRIu64 " bytes, %" PRIu64 " clusters of %u bytes; the export is of %"
		    PRIu64 " clusters", image, q.size, nr, q.cluster_size, in.e.g.nr_clusters);
		close(q.fd);
		r = EXIT_INVAL;
		goto out;
	}
	nth = (int)sysconf(_SC_NPROCESSORS_ONLN);
	q.threads = nth < 1 ? 1 : nth > 256 ? 256 : nth;
	if (show_progress())
		q.progress = vi_progress;
	q.stop = &interrupted;
	r = vbuild(&q, &res);
	close(q.fd);
	if (r) {
		err("%s: %s", image, strerror(-r));
		goto out;
	}
	memset(&m, 0, sizeof(m));
	if (o.json)
		m.a = json_object_new_array();
	vexport_compare(&in, res.digests, nr, mis_cb, &m, &checked);
	hex(h, in.e.root, VMERKLE_SIZE);
	if (o.json) {
		struct json_object *j = json_object_new_object();

		vjson_add_u64(j, "clusters", in.e.g.nr_clusters);
		json_object_object_add(j, "mismatches", m.a);
		vjson_add_u64(j, "checked", checked);
		vjson_add_bool(j, "match", !m.n);
		vjson_add_str(j, "image", image);
		vjson_add_str(j, "export", dir);
		vjson_add_str(j, "root", h);
		vjson_add_u64(j, "epoch", in.e.epoch);
		vjson_add_bool(j, "log_checked", in.log_checked);
		r = vjson_print(stdout, j, "\n");
	} else if (!m.n && !o.quiet) {
		printf("%s: matches %s: %" PRIu64 " measured clusters of %" PRIu64
		       " checked, root %s\n", image, dir, checked, in.e.g.nr_clusters, h);
	}
	if (!r && m.n) {
		if (!o.quiet)
			err("%s: %" PRIu64 " of %" PRIu64 " measured clusters differ from %s", image, m.n,
			    checked, dir);
		r = EXIT_MISMATCH;
	}
out:
	vbuild_free(&res);
	vexport_in_free(&in);
	return r;
}
