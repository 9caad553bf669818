// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl report, scan and hashes: a device's mismatch records, its
 * verification pass, its current and baseline digests (over netlink).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "json.h"
#include "util.h"

struct report_arg {
	uint32_t cs;
	uint64_t n;
	struct vjson_list jl;
};

static int report_cb(const struct vrec *r, void *arg)
{
	struct report_arg *a = arg;

	/* mismatch kinds only; vdirtctl log shows every record */
	if (r->kind > VDIRT_KIND_ROLLBACK)
		return 0;
	a->n++;
	if (o.json)
		return vjson_list_add(&a->jl, rec_json(r, a->cs, NULL));
	print_rec(r, a->cs, NULL);
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
	if (o.json)
		vjson_list_begin(&a.jl, stdout);
	r = vnl_dump_records(&v, argv[0], 0, report_cb, &a);
	if (o.json)
		vjson_list_end(&a.jl);
	else if (!a.n && !o.quiet)
		printf("%s: no mismatches recorded\n", argv[0]);
	if (r)
		err("%s: report: %s", argv[0], strerror(-r));
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
};

static int hash_cb(const struct nlattr **tb, void *arg)
{
	struct hash_arg *a = arg;
	uint64_t first = nla_u64(tb, VDIRT_A_FIRST_CLUSTER, 0), cnt = nla_u64(tb, VDIRT_A_COUNT, 0);
	const uint8_t *valid, *cur, *base;
	char hc[129], hb[129];
	uint64_t i;
	int r;

	if (!tb[VDIRT_A_VALID] || !tb[VDIRT_A_DIGESTS] || !tb[VDIRT_A_BASELINE_DIGESTS] ||
	    mnl_attr_get_payload_len(tb[VDIRT_A_VALID]) < cnt ||
	    mnl_attr_get_payload_len(tb[VDIRT_A_DIGESTS]) < cnt * a->ds ||
	    mnl_attr_get_payload_len(tb[VDIRT_A_BASELINE_DIGESTS]) < cnt * a->ds)
		return -EBADMSG;
	valid = mnl_attr_get_payload(tb[VDIRT_A_VALID]);
	cur = mnl_attr_get_payload(tb[VDIRT_A_DIGESTS]);
	base = mnl_attr_get_payload(tb[VDIRT_A_BASELINE_DIGESTS]);
	for (i = 0; i < cnt; i++) {
		int has_c = valid[i] & VDIRT_HV_CURRENT, has_b = valid[i] & VDIRT_HV_BASELINE;

		if (has_c)
			hex(hc, cur + i * a->ds, a->ds);
		if (has_b)
			hex(hb, base + i * a->ds, a->ds);
		if (o.json) {
			struct json_object *j = json_object_new_object();

			vjson_add_u64(j, "cluster", first + i);
			vjson_add_str(j, "current", has_c ? hc : NULL);
			vjson_add_str(j, "baseline", has_b ? hb : NULL);
			r = vjson_list_add(&a->jl, j);
			if (r)
				return r;
		} else {
			printf("%" PRIu64 " %s %s\n", first + i, has_c ? hc : "-", has_b ? hb : "-");
		}
	}
	return 0;
}

int cmd_hashes(int argc, char **argv)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
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
	nlh = vnl_msg(&v, buf, VDIRT_CMD_HASH_GET, NLM_F_DUMP);
	vnl_put_dev(nlh, argv[0]);
	mnl_attr_put_u64(nlh, VDIRT_A_FIRST_CLUSTER, first);
	if (count)
		mnl_attr_put_u64(nlh, VDIRT_A_COUNT, count);
	if (o.json)
		vjson_list_begin(&a.jl, stdout);
	r = vnl_talk(&v, nlh, hash_cb, &a);
	if (o.json)
		vjson_list_end(&a.jl);
	if (r)
		err("%s: hashes: %s", argv[0], strerror(-r));
out:
	vnl_close(&v);
	return r;
}
