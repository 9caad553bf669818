// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl report, scan and hashes: a device's mismatch records, its
 * verification pass, its current and baseline digests with the epoch and
 * time of each cluster's last write (over netlink).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "epoch.h"
#include "json.h"
#include "util.h"

struct report_arg {
	uint32_t cs;
	uint64_t n;
	struct vjson_list jl;
	struct vrec *recs;	/* --files: the records kept until the map is built */
	size_t alloc;
};

static int report_cb(const struct vrec *r, void *arg)
{
	struct report_arg *a = arg;

	/* mismatch kinds only; vdirtctl log shows every record */
	if (r->kind > VDIRT_KIND_ROLLBACK)
		return 0;
	if (o.files) {
		if (a->n == a->alloc) {
			size_t na = a->alloc ? a->alloc * 2 : 64;
			struct vrec *nr = realloc(a->recs, na * sizeof(*nr));

			if (!nr)
				return -ENOMEM;
			a->recs = nr;
			a->alloc = na;
		}
		a->recs[a->n++] = *r;
		return 0;
	}
	a->n++;
	if (o.json)
		return vjson_list_add(&a->jl, rec_json(r, a->cs, NULL));
	print_rec(r, a->cs, NULL);
	return 0;
}

/* report --files: each record, then its cluster's partition, filesystem and files */
static int report_files_cb(size_t i, struct json_object *ann, void *arg)
{
	struct report_arg *a = arg;
	const struct vrec *rec = &a->recs[i];
	struct json_object *j;

	if (!o.json) {
		print_rec(rec, a->cs, NULL);
		if (rec->kind != VDIRT_KIND_RECOVERY)
			files_print(ann, "  ");
		json_object_put(ann);
		return 0;
	}
	if (!a->jl.f)
		vjson_list_begin(&a->jl, stdout);	/* the first: nothing printed before */
	j = rec_json(rec, a->cs, NULL);
	if (rec->kind != VDIRT_KIND_RECOVERY)
		files_merge(j, ann);
	json_object_put(ann);
	return vjson_list_add(&a->jl, j);
}

static int report_files(struct report_arg *a, const struct vdev_info *d)
{
	char name[VDIRT_DEV_NAME_MAX + 16];
	uint64_t *cl;
	size_t i;
	int r;

	if (!a->n)
		goto out;
	cl = calloc(a->n, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	/* a recovery record's cluster is 0: annotated, not printed */
	for (i = 0; i < a->n; i++)
		cl[i] = a->recs[i].kind == VDIRT_KIND_RECOVERY ? 0 : a->recs[i].cluster;
	/* without udev there may be no /dev/mapper node: the kernel's own name then */
	snprintf(name, sizeof(name), "/dev/mapper/%s", d->name);
	if (access(name, F_OK))
		snprintf(name, sizeof(name), "/dev/dm-%u", d->minor);
	r = files_annotate(name, a->cs, cl, a->n, report_files_cb, a);
	free(cl);
	if (r)
		return r;
out:
	if (o.json) {
		if (!a->jl.f)
			vjson_list_begin(&a->jl, stdout);
		vjson_list_end(&a->jl);
	}
	return 0;
}

int cmd_report(int argc, char **argv)
{
	struct report_arg a;
	struct vdev_info d;
	struct vnl v;
	int r;

	(void)argc;
	r = nl_open_dev(&v, argv[0], &d);
	if (r)
		goto out;
	memset(&a, 0, sizeof(a));
	a.cs = d.cluster_size;
	if (o.json && !o.files)
		vjson_list_begin(&a.jl, stdout);
	r = vnl_dump_records(&v, argv[0], 0, report_cb, &a);
	if (r)
		err("%s: report: %s", argv[0], strerror(-r));
	else if (o.files)
		r = report_files(&a, &d);	/* it said why if it failed */
	free(a.recs);
	if (o.json && !o.files)
		vjson_list_end(&a.jl);
	else if (!a.n && !o.quiet && !o.json)
		printf("%s: no mismatches recorded\n", argv[0]);
out:
	vnl_close(&v);
	return r;
}

/* scan --wait: poll until the pass ends */
static int scan_wait(struct vnl *v, const char *dev, struct vdev_info *d)
{
	int show = show_progress(), r;

	for (;;) {
		r = nl_dev_get(v, dev, d);
		if (r)
			return r;
		if (show)
			progress("scanning", d->scan_pos, d->nr_clusters, !d->scan_running);
		if (!d->scan_running)
			return 0;
		if (interrupted)
			return -EINTR;
		usleep(200000);
	}
}

int cmd_scan(int argc, char **argv)
{
	struct vdev_info d0, d;
	struct vnl v;
	int r, stop = 0;

	if (argc == 2 && !strcmp(argv[1], "stop"))
		stop = 1;
	else if (argc != 1)
		return cmd_usage();
	if (stop)
		return nl_change(argv[0], VDIRT_CMD_SCAN_STOP, "scan stop", false);
	r = nl_open_dev(&v, argv[0], &d0);
	vnl_close(&v);
	if (r)
		return r;
	r = nl_change(argv[0], VDIRT_CMD_SCAN_START, "scan", false);
	if (r || !o.wait)
		return r;
	r = vnl_open(&v);
	if (!r)
		r = scan_wait(&v, argv[0], &d);
	vnl_close(&v);
	if (r)
		return r;
	if (o.json) {
		struct json_object *j = json_object_new_object();

		vjson_add_str(j, "device", argv[0]);
		vjson_add_u64(j, "clusters", d.nr_clusters);
		vjson_add_u64(j, "new_records", d.log_head - d0.log_head);
		vjson_add_u64(j, "records", d.log_head - d.log_first);
		vjson_add_u64(j, "read_mismatches", d.read_mismatches);
		r = vjson_print(stdout, j, "\n");
		if (r)
			return r;
	} else if (!o.quiet) {
		printf("%s: scan done, %" PRIu64 " new mismatch record(s), %" PRIu64
		       " recorded\n", argv[0], d.log_head - d0.log_head, d.log_head - d.log_first);
	}
	/* mismatches found by this pass, or still recorded (a cluster is recorded once) */
	if (d.log_head != d0.log_head || d.log_head > d.log_first)
		return EXIT_MISMATCH;
	return 0;
}

struct hash_arg {
	unsigned int ds;
	struct vjson_list jl;
	int begun;		/* the JSON list printed its "[": at the first digest */
};

static int hash_cb(const struct vhash *h, void *arg)
{
	struct hash_arg *a = arg;
	char hc[129], hb[129], ts[48];

	if (h->has_current)
		hex(hc, h->current, a->ds);
	if (h->has_baseline)
		hex(hb, h->baseline, a->ds);
	if (o.json) {
		struct json_object *j = json_object_new_object();

		vjson_add_u64(j, "cluster", h->cluster);
		vjson_add_str(j, "current", h->has_current ? hc : NULL);
		vjson_add_str(j, "baseline", h->has_baseline ? hb : NULL);
		vjson_add_u64(j, "epoch", h->epoch);
		fmt_time(ts, sizeof(ts), h->time_ns);
		vjson_add_str(j, "time", h->time_ns ? ts : NULL);
		if (!a->begun++)
			vjson_list_begin(&a->jl, stdout);
		return vjson_list_add(&a->jl, j);
	}
	printf("%" PRIu64 " %s %s\n", h->cluster, h->has_current ? hc : "-",
	       h->has_baseline ? hb : "-");
	return 0;
}

int cmd_hashes(int argc, char **argv)
{
	struct hash_arg a;
	struct vdev_info d;
	struct vnl v;
	uint64_t first = 0, count = 0;
	int r;

	if ((argc >= 2 && parse_u64(argv[1], &first)) || (argc == 3 && parse_u64(argv[2], &count)))
		return cmd_usage();
	r = nl_open_dev(&v, argv[0], &d);
	if (r)
		goto out;
	memset(&a, 0, sizeof(a));
	a.ds = d.digest_size;
	/* streamed: nothing is printed before the first digest (or the end) */
	r = vnl_hashes(&v, argv[0], first, count, d.digest_size, hash_cb, &a);
	if (o.json && !r && !a.begun++)
		vjson_list_begin(&a.jl, stdout);
	if (o.json && a.begun)
		vjson_list_end(&a.jl);
	if (r)
		err("%s: hashes: %s", argv[0], strerror(-r));
out:
	vnl_close(&v);
	return r;
}
