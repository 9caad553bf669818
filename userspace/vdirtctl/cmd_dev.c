// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl open, close, status and list (alias devices): devices through
 * device-mapper (lib/dm.c) and, for the listing, the netlink family.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "dm.h"
#include "tab.h"
#include "format.h"
#include "json.h"
#include "sb.h"
#include "util.h"

static int read_sb(const char *path, struct vsb *sb)
{
	uint8_t *buf = aligned_alloc(4096, 2 * VDIRT_META_BLOCK_SIZE);
	char msg[160];
	int fd, r;

	if (!buf)
		return -ENOMEM;
	fd = open_dev(path, O_RDONLY, NULL);
	if (fd < 0) {
		free(buf);
		return fd;
	}
	r = read_full(fd, buf, 2 * VDIRT_META_BLOCK_SIZE, 0);
	close(fd);
	if (r) {
		err("%s: cannot read the superblock: %s", path, strerror(-r));
	} else {
		r = vsb_parse(buf, sb, msg, sizeof(msg));
		if (r < 0)
			err("%s: %s", path, msg);
	}
	free(buf);
	return r;
}

/*
 * the optional table arguments from --mode, --no-read-verify, --fail-open,
 * --zero-unwritten, --cache-mb, --write-back (the table's canonical order)
 */
static int open_opts(char *opts, size_t n, int *nopts)
{
	*nopts = 0;
	opts[0] = 0;
	if (o.mode) {
		if (strcmp(o.mode, "audit") && strcmp(o.mode, "enforce")) {
			err("--mode: audit or enforce");
			return -EINVAL;
		}
		(*nopts)++;
		snprintf(opts + strlen(opts), n - strlen(opts), " mode:%s", o.mode);
	}
	if (o.no_read_verify) {
		(*nopts)++;
		snprintf(opts + strlen(opts), n - strlen(opts), " no_read_verify");
	}
	if (o.fail_open) {
		(*nopts)++;
		snprintf(opts + strlen(opts), n - strlen(opts), " fail_open");
	}
	if (o.zero_unwritten) {
		(*nopts)++;
		snprintf(opts + strlen(opts), n - strlen(opts), " zero_unwritten");
	}
	if (o.cache_mb >= 0) {
		(*nopts)++;
		snprintf(opts + strlen(opts), n - strlen(opts), " cache_mb:%ld", o.cache_mb);
	}
	if (o.write_back >= 0) {
		(*nopts)++;
		snprintf(opts + strlen(opts), n - strlen(opts), " write_back:%ld", o.write_back);
	}
	return 0;
}

/* cluster size, hash and length from the superblock (or the options, unformatted) */
static int open_geometry(const char *data, const char *meta, uint64_t dsize, uint32_t *cs,
			 const char **hash, uint64_t *len, struct vsb *sb)
{
	int r = read_sb(meta, sb);

	if (r < 0)
		return r;
	if (r == 0) {
		/* all zero: the constructor formats it */
		if (!o.cluster_size || !o.hash) {
			err("%s is not formatted: run 'vdirtctl format' first, or give "
			    "--cluster-size and --hash", meta);
			return -ENODATA;
		}
		if (check_cluster(o.cluster_size) || !get_alg(o.hash))
			return -EINVAL;
		*cs = o.cluster_size;
		*hash = o.hash;
		*len = dsize / 512;
		return 0;
	}
	*cs = sb->cluster_size;
	*hash = sb->hash_name;
	*len = sb->data_sectors;
	if (o.zero_unwritten && !(sb->incompat & VDIRT_FEATURE_INCOMPAT_UNWRITTEN)) {
		/* what the constructor would refuse, said before it does */
		err("%s has no written bitmap (metadata of dm-vdirt 1.6 or before): "
		    "--zero-unwritten needs it; run 'vdirtctl upgrade %s' first", meta, meta);
		return -EOPNOTSUPP;
	}
	if ((o.cluster_size && o.cluster_size != *cs) || (o.hash && strcmp(o.hash, *hash))) {
		err("%s is formatted with %u-byte clusters and %s; the options ask otherwise",
		    meta, *cs, *hash);
		return -EINVAL;
	}
	if (dsize / 512 < *len) {
		err("%s is %" PRIu64 " sectors but %s was formatted for %" PRIu64,
		    data, dsize / 512, meta, *len);
		return -EINVAL;
	}
	dbg("superblock copy %c seq %" PRIu64 ": %" PRIu64 " sectors, %u-byte clusters, %s",
	    'A' + sb->copy, sb->seq, *len, *cs, *hash);
	return 0;
}

/* open data and meta as name with the options in o */
static int open_one(const char *data, const char *meta, const char *name)
{
	char params[1024], opts[256];
	uint64_t dsize, len;
	const char *hash;
	struct vdm_dev d;
	struct vsb sb;
	int nopts, fd, r;
	uint32_t cs;

	r = vdm_get(name, &d);
	if (!r)
		vdm_put(&d);
	if (r == -VDM_ENODM || r == -EACCES) {
		err("cannot create %s: %s", name, vdm_strerror(r));
		return r;
	}
	if (!r || r == -EINVAL) {
		err("a device-mapper device named %s exists already", name);
		return -EEXIST;
	}
	fd = open_dev(data, O_RDONLY, &dsize);
	if (fd < 0)
		return fd;
	close(fd);
	r = open_geometry(data, meta, dsize, &cs, &hash, &len, &sb);
	if (r)
		return r;
	r = open_opts(opts, sizeof(opts), &nopts);
	if (r)
		return r;
	if (nopts)
		snprintf(params, sizeof(params), "%s %s %u %s %d%s", data, meta, cs, hash,
			 nopts, opts);
	else
		snprintf(params, sizeof(params), "%s %s %u %s", data, meta, cs, hash);
	r = vdm_create(name, len, params);
	if (r) {
		err("cannot create %s: %s%s", name, vdm_strerror(r),
		    r == -VDM_ENODM ? "" : " (the kernel log says why)");
		return r;
	}
	if (o.json) {
		struct json_object *j = json_object_new_object();
		char path[300];

		snprintf(path, sizeof(path), "/dev/mapper/%s", name);
		vjson_add_str(j, "name", name);
		vjson_add_str(j, "path", path);
		return vjson_print(stdout, j, "\n");
	}
	if (!o.quiet)
		printf("/dev/mapper/%s\n", name);
	return 0;
}

/* the options of a vdirttab entry into o */
static void tab_opts(const struct vtab_entry *e)
{
	o.mode = e->mode;
	o.no_read_verify = e->no_read_verify;
	o.fail_open = e->fail_open;
	o.zero_unwritten = e->zero_unwritten;
	o.cache_mb = e->cache_mb;
	o.write_back = e->write_back;
}

struct tab_arg {
	int argc;
	char **argv;		/* the names asked for, or all (argc 0) */
	int *found;
	int opened, failed, r;
};

static int tab_one(const struct vtab_entry *e, void *arg)
{
	struct tab_arg *a = arg;
	int i, r, want = !a->argc && !e->noauto;

	for (i = 0; i < a->argc; i++)
		if (!strcmp(a->argv[i], e->name)) {
			a->found[i] = 1;
			want = 1;
		}
	if (!want)
		return 0;
	tab_opts(e);
	r = open_one(e->data, e->meta, e->name);
	if (r) {
		a->failed++;
		if (!a->r)
			a->r = r;
	} else {
		a->opened++;
	}
	return 0;
}

/*
 * open --tab [FILE [NAME...]]: the entries of FILE (default /etc/vdirttab),
 * all but the noauto ones, or the ones named; each with its options.  The
 * first failure's code, after trying them all.
 */
static int open_tab(int argc, char **argv)
{
	const char *path = argc ? argv[0] : VDIRTTAB;
	struct tab_arg a = { .argc = argc ? argc - 1 : 0, .argv = argv + 1 };
	unsigned int bad;
	char why[256];
	int i, r;

	if (o.mode || o.no_read_verify || o.fail_open || o.zero_unwritten || o.cache_mb >= 0 ||
	    o.write_back >= 0) {
		err("open --tab: the options are each entry's (vdirttab(5)), not the command line's");
		return EXIT_USAGE;
	}
	a.found = calloc(a.argc + 1, sizeof(int));
	if (!a.found)
		return -ENOMEM;
	r = vtab_read(path, tab_one, &a, &bad, why, sizeof(why));
	if (r == -EINVAL && bad)
		err("%s line %u: %s", path, bad, why);
	else if (r)
		err("%s: %s", path, strerror(-r));
	for (i = 0; !r && i < a.argc; i++)
		if (!a.found[i]) {
			err("%s: no entry named %s", path, a.argv[i]);
			r = -ENOENT;
		}
	free(a.found);
	if (!r)
		r = a.r;
	if (!a.opened && !a.failed && !r && !o.quiet && !o.json)
		fprintf(stderr, "%s: no entry to open\n", path);
	return r;
}

int cmd_open(int argc, char **argv)
{
	if (o.tab)
		return open_tab(argc, argv);
	if (argc != 3)
		return cmd_usage();
	return open_one(argv[0], argv[1], argv[2]);
}

/* vdm_get(), saying why not */
static int get_dev(const char *name, struct vdm_dev *d)
{
	int r = vdm_get(name, d);

	if (r == -EINVAL)
		err("%s is not a vdirt device", name);
	else if (r)
		err("%s: %s", name, vdm_strerror(r));
	return r;
}

int cmd_close(int argc, char **argv)
{
	struct vdm_dev d;
	int r;

	(void)argc;
	r = get_dev(argv[0], &d);
	if (r)
		return r;
	vdm_put(&d);
	r = vdm_remove(argv[0]);
	if (r)
		err("cannot remove %s: %s", argv[0], vdm_strerror(r));
	return r;
}

/* the next KEY=VALUE word of a status line, as strtok_r() (s, then NULL) */
static char *status_next(char *s, char **save, char **val)
{
	char *tok, *eq;

	for (tok = strtok_r(s, " ", save); tok; tok = strtok_r(NULL, " ", save)) {
		eq = strchr(tok, '=');
		if (eq) {
			*eq = 0;
			*val = eq + 1;
			return tok;
		}
	}
	return NULL;
}

/* the status field purge=: null when idle ("-"), else {"pos":N,"total":N} */
static struct json_object *purge_json(const char *val)
{
	struct json_object *j;
	uint64_t pos, total;

	if (vpurge_parse(val, &pos, &total) <= 0)
		return NULL;
	j = json_object_new_object();
	vjson_add_u64(j, "pos", pos);
	vjson_add_u64(j, "total", total);
	return j;
}

/* name, major, minor, sectors, table and every status field */
static struct json_object *dm_json(const struct vdm_dev *d)
{
	struct json_object *j = json_object_new_object();
	char *s, *key, *val, *save = NULL;

	vjson_add_str(j, "name", d->name);
	vjson_add_u64(j, "major", d->major);
	vjson_add_u64(j, "minor", d->minor);
	vjson_add_u64(j, "sectors", d->len);
	vjson_add_str(j, "table", d->table);
	s = strdup(d->status);
	for (key = s ? status_next(s, &save, &val) : NULL; key;
	     key = status_next(NULL, &save, &val)) {
		if (!strcmp(key, "purge"))
			json_object_object_add(j, key, purge_json(val));
		else
			vjson_add_num_or_str(j, key, val);
	}
	free(s);
	return j;
}

int cmd_status(int argc, char **argv)
{
	char *s, *key, *val, *save = NULL;
	struct vdm_dev d;
	int r;

	(void)argc;
	r = get_dev(argv[0], &d);
	if (r)
		return r;
	if (o.json) {
		r = vjson_print(stdout, dm_json(&d), "\n");
		vdm_put(&d);
		return r;
	}
	printf("%-16s %s\n", "name", d.name);
	printf("%-16s /dev/mapper/%s\n", "path", d.name);
	printf("%-16s %u:%u\n", "device", d.major, d.minor);
	printf("%-16s %" PRIu64 "\n", "sectors", d.len);
	printf("%-16s %s\n", "table", d.table);
	s = strdup(d.status);
	for (key = s ? status_next(s, &save, &val) : NULL; key;
	     key = status_next(NULL, &save, &val))
		printf("%-16s %s\n", key, val);
	free(s);
	vdm_put(&d);
	return 0;
}

/* ---- list (devices): device-mapper's table and status, the family's info ---- */

struct list_arg {
	struct vdev_info *nl;	/* DEV_GET dump */
	int nnl, max;
	struct vjson_list jl;
	int r;
};

static int list_nl_cb(const struct vdev_info *d, void *arg)
{
	struct list_arg *a = arg;

	if (a->nnl == a->max) {
		struct vdev_info *n = realloc(a->nl, (a->max * 2 + 8) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		a->nl = n;
		a->max = a->max * 2 + 8;
	}
	a->nl[a->nnl++] = *d;
	return 0;
}

static const struct vdev_info *list_find(const struct list_arg *a, const char *name)
{
	int i;

	for (i = 0; i < a->nnl; i++)
		if (!strcmp(a->nl[i].name, name))
			return &a->nl[i];
	return NULL;
}

/* the keys of the netlink listing, added to (or replacing) the device-mapper ones */
static void nl_json(struct json_object *j, const struct vdev_info *d)
{
	vjson_add_u64(j, "data_sectors", d->data_sectors);
	vjson_add_u64(j, "clusters", d->nr_clusters);
	vjson_add_u64(j, "cluster_size", d->cluster_size);
	vjson_add_str(j, "hash", d->hash);
	vjson_add_u64(j, "digest_size", d->digest_size);
	vjson_add_str(j, "state", vnl_state_name(d->state));
	vjson_add_str(j, "mode", d->enforce ? "enforce" : "audit");
	vjson_add_bool(j, "read_verify", d->read_verify);
	vjson_add_bool(j, "fail_open", d->fail_open);
	vjson_add_u64(j, "measured", d->measured);
	vjson_add_u64(j, "baselined", d->baselined);
	vjson_add_u64(j, "reads_verified", d->reads_verified);
	vjson_add_u64(j, "read_mismatches", d->read_mismatches);
	vjson_add_u64(j, "write_drift", d->write_drift);
	vjson_add_u64(j, "unaligned", d->unaligned);
	vjson_add_u64(j, "meta_errors", d->meta_errors);
	vjson_add_u64(j, "tofu", d->tofu);
	vjson_add_bool(j, "scan_running", d->scan_running);
	vjson_add_u64(j, "scan_pos", d->scan_pos);
	vjson_add_u64(j, "log_first", d->log_first);
	vjson_add_u64(j, "log_head", d->log_head);
	vjson_add_u64(j, "events_dropped", d->events_dropped);
	vjson_add_u64(j, "recover_pos", d->recover_pos);
	vjson_add_u64(j, "recover_total", d->recover_total);
}

static void list_text(const struct vdm_dev *d, const struct vdev_info *n)
{
	char st[32] = "?", mode[32] = "?", mm[32] = "?", rec[48] = "-";

	status_get(d->status, "state", st, sizeof(st));
	status_get(d->status, "mode", mode, sizeof(mode));
	status_get(d->status, "read_mismatches", mm, sizeof(mm));
	if (n && n->recover_total)
		snprintf(rec, sizeof(rec), "%" PRIu64 "/%" PRIu64, n->recover_pos, n->recover_total);
	if (!n) {
		printf("%-20s %3u:%-5u %12" PRIu64 " %10s %6s %-12s %-9s %-8s %10s %10s %8s %s\n",
		       d->name, d->major, d->minor, d->len, "-", "-", "-", st, mode, mm, "-", "-",
		       "-");
		return;
	}
	printf("%-20s %3u:%-5u %12" PRIu64 " %10" PRIu64 " %6u %-12s %-9s %-8s %10" PRIu64
	       " %10" PRIu64 " %8" PRIu64 " %s\n", d->name, d->major, d->minor, d->len,
	       n->nr_clusters, n->cluster_size, n->hash, vnl_state_name(n->state),
	       n->enforce ? "enforce" : "audit", n->read_mismatches, n->write_drift,
	       n->events_dropped, rec);
}

static int list_one(struct vdm_dev *d, void *arg)
{
	struct list_arg *a = arg;
	const struct vdev_info *n = list_find(a, d->name);
	struct json_object *j;

	if (!o.json) {
		list_text(d, n);
		return 0;
	}
	j = dm_json(d);
	if (n)
		nl_json(j, n);
	if (!a->r)
		a->r = vjson_list_add(&a->jl, j);
	else
		json_object_put(j);
	return 0;
}

/* the devices the family knows; -ENOENT: no family (the module is not loaded) */
static int list_nl(struct list_arg *a)
{
	struct vnl v;
	int r = vnl_open(&v);

	if (!r)
		r = vnl_dev_list(&v, list_nl_cb, a);
	vnl_close(&v);
	return r;
}

int cmd_list(int argc, char **argv)
{
	struct list_arg a;
	int r;

	(void)argc;
	(void)argv;
	memset(&a, 0, sizeof(a));
	r = list_nl(&a);
	if (r) {
		if (r != -ENOENT)
			err("list: %s", vdm_strerror(r));
		free(a.nl);
		return r;
	}
	if (o.json)
		vjson_list_begin(&a.jl, stdout);
	else
		printf("%-20s %9s %12s %10s %6s %-12s %-9s %-8s %10s %10s %8s %s\n", "NAME", "DEV",
		       "SECTORS", "CLUSTERS", "CSIZE", "HASH", "STATE", "MODE", "MISMATCHES",
		       "DRIFT", "DROPPED", "RECOVERING");
	r = vdm_list(list_one, &a);
	if (o.json)
		vjson_list_end(&a.jl);
	if (r)
		err("list: %s", vdm_strerror(r));
	free(a.nl);
	return r ? r : a.r;
}
