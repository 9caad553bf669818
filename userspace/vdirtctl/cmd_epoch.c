// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl epoch, epochs, changed and timeline: open an epoch, list the
 * retained ones, the clusters written since an epoch (with their digests
 * and last writes), and the investigator's time-ordered view.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "dm.h"
#include "epoch.h"
#include "json.h"
#include "util.h"

int cmd_epoch(int argc, char **argv)
{
	const char *label = o.label ? o.label : "";
	uint64_t e;
	int r;

	(void)argc;
	r = vdm_epoch_new(argv[0], label, &e);
	if (r == -EOPNOTSUPP) {
		err("%s: the metadata has no epoch table: close the device and run vdirtctl upgrade on its metadata device",
		    argv[0]);
		return r;
	}
	if (r == -EINVAL && *label) {
		err("%s: epoch: a label is 1..%u printable characters without spaces", argv[0],
		    VDIRT_EPOCH_LABEL_LEN - 1);
		return r;
	}
	if (r) {
		err("%s: epoch: %s", argv[0], vdm_strerror(r));
		return r;
	}
	if (o.json) {
		struct json_object *j = json_object_new_object();

		vjson_add_u64(j, "epoch", e);
		vjson_add_str(j, "label", label);
		vjson_add_str(j, "device", argv[0]);
		return vjson_print(stdout, j, "\n");
	}
	printf("%" PRIu64 "\n", e);
	return 0;
}

/* epochs: collected, then printed */
struct ep_list {
	struct vepoch *e;
	size_t n;
};

static int epochs_get(const char *dev, struct ep_list *l, struct vdev_info *d)
{
	struct vnl v;
	int r;

	memset(l, 0, sizeof(*l));
	r = nl_open_dev(&v, dev, d);
	if (!r)
		r = vnl_epoch_list(&v, dev, &l->e, &l->n);
	vnl_close(&v);
	if (r == -EOPNOTSUPP)
		err("%s: the metadata has no epoch table: close the device and run vdirtctl upgrade on its metadata device",
		    dev);
	else if (r)
		err("%s: epochs: %s", dev, strerror(-r));
	return r;
}

static struct json_object *epoch_json(const struct vepoch *e)
{
	struct json_object *j = json_object_new_object();
	char ts[48];

	vjson_add_u64(j, "epoch", e->epoch);
	if (!e->flags) {
		vjson_add_bool(j, "lost", 1);
		return j;
	}
	vjson_add_str(j, "label", e->label);
	fmt_time(ts, sizeof(ts), e->start_ns);
	vjson_add_str(j, "start", ts);
	fmt_time(ts, sizeof(ts), e->end_ns);
	vjson_add_str(j, "end", e->flags & VDIRT_EP_CLOSED ? ts : NULL);
	vjson_add_u64(j, "written", e->written);
	vjson_add_bool(j, "closed", !!(e->flags & VDIRT_EP_CLOSED));
	vjson_add_bool(j, "unclean", !!(e->flags & VDIRT_EP_UNCLEAN));
	vjson_add_bool(j, "purged", !!(e->flags & VDIRT_EP_PURGED));
	vjson_add_u64(j, "log_first", e->log_first);
	if (e->flags & VDIRT_EP_CLOSED)
		vjson_add_u64(j, "log_end", e->log_end);
	if (e->flags & VDIRT_EP_CLOSED) {
		vjson_add_hex(j, "root", e->flags & VDIRT_EP_ROOT ? e->root : NULL,
			      sizeof(e->root));
		vjson_add_hex(j, "log_hash", e->has_log_hash ? e->log_hash : NULL,
			      sizeof(e->log_hash));
	}
	return j;
}

int cmd_epochs(int argc, char **argv)
{
	struct vdev_info d;
	struct ep_list l;
	char s[48], t[48];
	size_t i;
	int r;

	(void)argc;
	r = epochs_get(argv[0], &l, &d);
	if (r)
		goto out;
	if (o.json) {
		struct json_object *j = json_object_new_object(), *a = json_object_new_array();

		vjson_add_str(j, "device", argv[0]);
		vjson_add_u64(j, "oldest", l.n ? l.e[0].oldest : 0);
		vjson_add_u64(j, "current", l.n ? l.e[l.n - 1].epoch : 0);
		for (i = 0; i < l.n; i++)
			json_object_array_add(a, epoch_json(&l.e[i]));
		json_object_object_add(j, "epochs", a);
		r = vjson_print(stdout, j, "\n");
		goto out;
	}
	printf("%-8s %-30s %-30s %10s  %s\n", "EPOCH", "START", "END", "WRITTEN", "LABEL");
	for (i = 0; i < l.n; i++) {
		const struct vepoch *e = &l.e[i];

		if (!e->flags) {
			printf("%-8" PRIu64 " (entry lost)\n", e->epoch);
			continue;
		}
		fmt_time(s, sizeof(s), e->start_ns);
		fmt_time(t, sizeof(t), e->end_ns);
		printf("%-8" PRIu64 " %-30s %-30s %10" PRIu64 "  %s%s%s\n", e->epoch, s,
		       e->flags & VDIRT_EP_CLOSED ? t : "open", e->written, e->label,
		       e->flags & VDIRT_EP_UNCLEAN ? " (closed by a crash)" : "",
		       e->flags & VDIRT_EP_PURGED ? " (purged: every cluster changed)" : "");
	}
out:
	free(l.e);
	return r;
}

/* changed: the runs, collected (--hashes reads each run's entries after) */
struct run_list {
	uint64_t (*r)[2];
	size_t n, cap;
	uint64_t clusters;
	struct vjson_list jl;
	int stream;		/* plain or --json without --hashes: print as they come */
	int first_printed;
};

static int run_cb(uint64_t first, uint64_t count, void *arg)
{
	struct run_list *l = arg;

	l->clusters += count;
	if (l->stream) {
		if (o.json) {
			struct json_object *j = json_object_new_object();

			vjson_add_u64(j, "first", first);
			vjson_add_u64(j, "count", count);
			return vjson_list_add(&l->jl, j);
		}
		printf("%" PRIu64 " %" PRIu64 "\n", first, count);
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		void *p = realloc(l->r, cap * sizeof(*l->r));

		if (!p)
			return -ENOMEM;
		l->r = p;
		l->cap = cap;
	}
	l->r[l->n][0] = first;
	l->r[l->n][1] = count;
	l->n++;
	return 0;
}

struct hh_arg {
	unsigned int ds;
	struct vjson_list jl;
};

static int changed_hash_cb(const struct vhash *h, void *arg)
{
	struct hh_arg *a = arg;
	char hx[2 * VDIRT_MAX_DIGEST_SIZE + 1], ts[48];

	if (h->has_current)
		hex(hx, h->current, a->ds);
	fmt_time(ts, sizeof(ts), h->time_ns);
	if (o.json) {
		struct json_object *j = json_object_new_object();

		vjson_add_u64(j, "cluster", h->cluster);
		vjson_add_u64(j, "epoch", h->epoch);
		vjson_add_str(j, "time", h->time_ns ? ts : NULL);
		vjson_add_str(j, "digest", h->has_current ? hx : NULL);
		return vjson_list_add(&a->jl, j);
	}
	printf("%" PRIu64 " %" PRIu32 " %s %s\n", h->cluster, h->epoch, h->time_ns ? ts : "-",
	       h->has_current ? hx : "-");
	return 0;
}

/* changed --files: each cluster's partition, filesystem and files */
struct cf_arg {
	const uint64_t *cl;
	struct vjson_list jl;
};

static int changed_files_cb(size_t i, struct json_object *ann, void *arg)
{
	struct cf_arg *a = arg;

	if (o.json)
		return vjson_list_add(&a->jl, ann);
	printf("%" PRIu64 "\n", a->cl[i]);
	files_print(ann, "  ");
	json_object_put(ann);
	return 0;
}

static int changed_files(const char *dev, const struct vdev_info *d,
			 const struct run_list *l)
{
	char name[VDIRT_DEV_NAME_MAX + 16];
	struct cf_arg a;
	uint64_t *cl, k;
	size_t i, n = 0;
	int r;

	cl = malloc((l->clusters ? l->clusters : 1) * sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	for (i = 0; i < l->n; i++)
		for (k = 0; k < l->r[i][1]; k++)
			cl[n++] = l->r[i][0] + k;
	snprintf(name, sizeof(name), "/dev/mapper/%s", d->name);
	if (access(name, F_OK))
		snprintf(name, sizeof(name), "/dev/dm-%u", d->minor);
	memset(&a, 0, sizeof(a));
	a.cl = cl;
	if (o.json) {
		printf("{\"since\":%" PRIu64 ",\"until\":", o.since);
		if (o.until < 0)
			printf("null");
		else
			printf("%" PRId64, o.until);
		printf(",\"clusters\":");
		fflush(stdout);
		vjson_list_begin(&a.jl, stdout);
	}
	r = n ? files_annotate(name, d->cluster_size, cl, n, changed_files_cb, &a) : 0;
	if (o.json) {
		vjson_list_end(&a.jl);
		printf("}\n");
	}
	free(cl);
	(void)dev;
	return r;
}

/* the opening of the JSON object: since, until (null: now) */
static void changed_json_head(uint64_t since, int64_t until)
{
	printf("{\"since\":%" PRIu64 ",\"until\":", since);
	if (until < 0)
		printf("null");
	else
		printf("%" PRId64, until);
}

int cmd_changed(int argc, char **argv)
{
	struct run_list l;
	struct vdev_info d;
	struct hh_arg ha;
	struct vnl v;
	size_t i;
	int r;

	(void)argc;
	if (!o.since_set) {
		err("changed: --since E is required");
		return EXIT_USAGE;
	}
	if (o.until >= 0 && (uint64_t)o.until < o.since) {
		err("changed: --until %" PRId64 " is before --since %" PRIu64, o.until, o.since);
		return EXIT_USAGE;
	}
	memset(&l, 0, sizeof(l));
	l.stream = !o.hashes && !o.files;
	r = nl_open_dev(&v, argv[0], &d);
	if (r)
		goto out;
	if (o.json && l.stream) {
		changed_json_head(o.since, o.until);
		printf(",\"ranges\":");
		fflush(stdout);
		vjson_list_begin(&l.jl, stdout);
	}
	r = vnl_changed(&v, argv[0], o.since, o.until, run_cb, &l);
	if (o.json && l.stream) {
		vjson_list_end(&l.jl);
		printf(",\"clusters\":%" PRIu64 "}\n", l.clusters);
	}
	if (r || l.stream)
		goto out;
	if (o.files) {
		vnl_close(&v);
		r = changed_files(argv[0], &d, &l);
		free(l.r);
		return r;	/* files_annotate() said why if it failed */
	}
	memset(&ha, 0, sizeof(ha));
	ha.ds = d.digest_size;
	if (o.json) {
		changed_json_head(o.since, o.until);
		printf(",\"clusters\":");
		fflush(stdout);
		vjson_list_begin(&ha.jl, stdout);
	}
	for (i = 0; i < l.n && !r; i++)
		r = vnl_hashes(&v, argv[0], l.r[i][0], l.r[i][1], d.digest_size,
			       changed_hash_cb, &ha);
	if (o.json) {
		vjson_list_end(&ha.jl);
		printf("}\n");
	}
out:
	if (r == -ERANGE)
		err("%s: changed: epoch %" PRIu64 " + 1 is older than the oldest retained epoch, or --until is newer than the current one (vdirtctl epochs %s)",
		    argv[0], o.since, argv[0]);
	else if (r == -EOPNOTSUPP)
		err("%s: the metadata has no write sets: close the device and run vdirtctl upgrade on its metadata device",
		    argv[0]);
	else if (r)
		err("%s: changed: %s", argv[0], strerror(-r));
	vnl_close(&v);
	free(l.r);
	return r;
}

/* timeline: epochs and records, merged in time order */
struct tl_item {
	uint64_t time;
	int is_epoch;
	struct vepoch e;
	struct vrec rec;
};

struct tl {
	struct tl_item *it;
	size_t n, cap;
	uint64_t since_time;	/* records before it are left out */
	uint32_t cs;
};

static struct tl_item *tl_add(struct tl *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		struct tl_item *p = realloc(t->it, cap * sizeof(*p));

		if (!p)
			return NULL;
		t->it = p;
		t->cap = cap;
	}
	memset(&t->it[t->n], 0, sizeof(t->it[0]));
	return &t->it[t->n++];
}

static int tl_rec(const struct vrec *r, void *arg)
{
	struct tl *t = arg;
	struct tl_item *i;

	if (r->time < t->since_time)
		return 0;
	i = tl_add(t);
	if (!i)
		return -ENOMEM;
	i->time = r->time;
	i->rec = *r;
	return 0;
}

static int tl_cmp(const void *a, const void *b)
{
	const struct tl_item *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	/* an epoch opens before what happens in it */
	return y->is_epoch - x->is_epoch;
}

static struct json_object *tl_json(const struct tl_item *i, uint32_t cs)
{
	struct json_object *j;
	char ts[48];

	if (i->is_epoch) {
		j = epoch_json(&i->e);
		json_object_object_add(j, "type", json_object_new_string("epoch"));
		return j;
	}
	j = rec_json(&i->rec, cs, NULL);
	json_object_object_add(j, "type", json_object_new_string("record"));
	fmt_time(ts, sizeof(ts), i->time);
	vjson_add_str(j, "time", ts);
	return j;
}

int cmd_timeline(int argc, char **argv)
{
	struct vdev_info d;
	struct ep_list l;
	struct tl t;
	struct vnl v;
	size_t i;
	char ts[48];
	int r;

	(void)argc;
	memset(&t, 0, sizeof(t));
	r = epochs_get(argv[0], &l, &d);
	if (r)
		goto out;
	t.cs = d.cluster_size;
	for (i = 0; i < l.n; i++) {
		struct tl_item *it;

		if (o.since_set && l.e[i].epoch <= o.since)
			continue;
		if (o.since_set && !t.since_time)
			t.since_time = l.e[i].start_ns;
		it = tl_add(&t);
		if (!it) {
			r = -ENOMEM;
			goto out;
		}
		it->is_epoch = 1;
		it->e = l.e[i];
		it->time = l.e[i].start_ns;
	}
	if (o.since_set && !t.since_time)
		t.since_time = UINT64_MAX;	/* nothing after it yet */
	r = vnl_open(&v);
	if (!r)
		r = vnl_dump_records(&v, argv[0], 0, tl_rec, &t);
	vnl_close(&v);
	if (r) {
		err("%s: timeline: records: %s", argv[0], strerror(-r));
		goto out;
	}
	qsort(t.it, t.n, sizeof(t.it[0]), tl_cmp);
	if (o.json) {
		struct json_object *j = json_object_new_object(), *a = json_object_new_array();

		vjson_add_str(j, "device", argv[0]);
		if (o.since_set)
			vjson_add_u64(j, "since", o.since);
		else
			vjson_add_str(j, "since", NULL);
		for (i = 0; i < t.n; i++)
			json_object_array_add(a, tl_json(&t.it[i], t.cs));
		json_object_object_add(j, "events", a);
		r = vjson_print(stdout, j, "\n");
		goto out;
	}
	for (i = 0; i < t.n; i++) {
		const struct tl_item *it = &t.it[i];

		if (!it->is_epoch) {
			print_rec(&it->rec, t.cs, NULL);
			continue;
		}
		fmt_time(ts, sizeof(ts), it->time);
		if (!it->e.flags)
			printf("%s epoch %" PRIu64 " (entry lost)\n", ts, it->e.epoch);
		else
			printf("%s epoch %" PRIu64 " opened (%s), %" PRIu64
			       " cluster(s) written in it%s\n", ts, it->e.epoch, it->e.label,
			       it->e.written, it->e.flags & VDIRT_EP_CLOSED ? "" : " so far");
	}
out:
	free(l.e);
	free(t.it);
	return r;
}
