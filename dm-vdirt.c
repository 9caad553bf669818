// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdirt: a device-mapper target that hashes every cluster written or
 * read, keeps the digests on a metadata device, compares reads with the
 * last write and with a baseline, and records every mismatch.
 *
 * This file holds the target methods only (constructor and destructor,
 * map and end_io, suspend and resume hooks, status, messages, io_hints)
 * and module init/exit; they use the interfaces of the layers below
 * (dm-vdirt.h).  The I/O path is dm-vdirt-io.c, the scan dm-vdirt-scan.c,
 * per-cluster policy dm-vdirt-cluster.c, the device registry
 * dm-vdirt-dev.c, metadata dm-vdirt-meta.c, the record log
 * dm-vdirt-log.c, the write-intent bitmap dm-vdirt-intent.c, crash
 * recovery dm-vdirt-recovery.c, baseline changes dm-vdirt-baseline.c,
 * netlink dm-vdirt-netlink.c.
 *
 * See Documentation/dm-vdirt.rst.
 */
#include <linux/blkdev.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "dm-vdirt.h"

#define VDIRT_VERSION_MAJOR	1
#define VDIRT_VERSION_MINOR	7
#define VDIRT_VERSION_PATCH	0

/* ==== table arguments ==== */

#define VDIRT_USAGE		"<data_dev> <meta_dev> <cluster_size> <hash_alg> [<#opt_args> <opt_arg>...]"
#define VDIRT_ARG_MODE		"mode:"
#define VDIRT_ARG_AUDIT		"audit"
#define VDIRT_ARG_ENFORCE	"enforce"
#define VDIRT_ARG_NO_READ_VERIFY "no_read_verify"
#define VDIRT_ARG_FAIL_OPEN	"fail_open"
#define VDIRT_ARG_ZERO_UNWRITTEN "zero_unwritten"
#define VDIRT_ARG_CACHE_MB	"cache_mb"
#define VDIRT_ARG_SMALL_READ_CPU "small_read_cpu"
#define VDIRT_ARG_SMALL_WRITE_CPU "small_write_cpu"
#define VDIRT_ARG_PAGE_RECYCLE	"page_recycle"
#define VDIRT_ARG_MAX_IO_KB	"max_io_kb"
#define VDIRT_ARG_SCAN_DEPTH	"scan_depth"
#define VDIRT_ARG_INTENT	"intent"
#define VDIRT_ARG_WRITE_HASH	"write_hash"
#define VDIRT_ARG_COMMIT_S	"commit_s"
#define VDIRT_ARG_WRITE_BACK	"write_back"
#define VDIRT_ARG_LOG_KEY	"log_key:"

/* an optional argument "name:value" with its default and its range */
struct vdirt_num_opt {
	const char *name;
	unsigned int def;
	struct dm_arg range;	/* min, max, ti->error for a bad value */
};

static const struct vdirt_num_opt vdirt_num_opts[VDIRT_NR_NUM_OPTS] = {
	[VDIRT_OPT_CACHE_MB] = { VDIRT_ARG_CACHE_MB, 32,
		{ 1, 65536, "Invalid cache_mb value (1..65536)" } },
	[VDIRT_OPT_SMALL_READ_CPU] = { VDIRT_ARG_SMALL_READ_CPU,
		VDIRT_READ_CPU_OTHER,
		{ VDIRT_READ_CPU_NEVER, VDIRT_READ_CPU_OTHER,
		  "Invalid small_read_cpu value (0..3)" } },
	[VDIRT_OPT_SMALL_WRITE_CPU] = { VDIRT_ARG_SMALL_WRITE_CPU, 0,
		{ 0, 1, "Invalid small_write_cpu value (0 or 1)" } },
	[VDIRT_OPT_PAGE_RECYCLE] = { VDIRT_ARG_PAGE_RECYCLE, 256,
		{ 0, 1024, "Invalid page_recycle value (0..1024)" } },
	[VDIRT_OPT_MAX_IO_KB] = { VDIRT_ARG_MAX_IO_KB, 0,
		{ 0, VDIRT_REGION_MAX_BYTES >> 10,
		  "Invalid max_io_kb value (0..256)" } },
	[VDIRT_OPT_SCAN_DEPTH] = { VDIRT_ARG_SCAN_DEPTH, 0,
		{ 0, VDIRT_SCAN_MAX_INFLIGHT,
		  "Invalid scan_depth value (0..8)" } },
	[VDIRT_OPT_INTENT] = { VDIRT_ARG_INTENT, 1,
		{ 0, 1, "Invalid intent value (0 or 1)" } },
	[VDIRT_OPT_WRITE_HASH] = { VDIRT_ARG_WRITE_HASH, VDIRT_WHASH_AUTO,
		{ VDIRT_WHASH_AUTO, VDIRT_WHASH_INLINE,
		  "Invalid write_hash value (0..3)" } },
	[VDIRT_OPT_COMMIT_S] = { VDIRT_ARG_COMMIT_S, 10,
		{ 1, 600, "Invalid commit_s value (1..600)" } },
	[VDIRT_OPT_WRITE_BACK] = { VDIRT_ARG_WRITE_BACK, 0,
		{ 0, VDIRT_WB_MAX, "Invalid write_back value (0..256)" } },
};

static const struct dm_arg vdirt_opt_count = {
	0, 5 + VDIRT_NR_NUM_OPTS, "Invalid number of optional arguments"
};

/*
 * Serialises constructors: two tables naming the same zeroed metadata device
 * by mistake never format it at the same time.
 */
static DEFINE_MUTEX(vdirt_ctr_lock);

/* a "name:value" argument: 0, -EINVAL (bad value) or -ENOENT (no such name) */
static int vdirt_parse_num_opt(struct vdirt_opts *o, const char *arg,
			       char **error)
{
	const struct vdirt_num_opt *no;
	struct dm_arg_set vs;
	unsigned int i, v;
	char *val;
	size_t len;

	for (i = 0; i < VDIRT_NR_NUM_OPTS; i++) {
		no = &vdirt_num_opts[i];
		len = strlen(no->name);
		if (strncmp(arg, no->name, len) || arg[len] != ':')
			continue;
		val = (char *)arg + len + 1;
		vs.argc = 1;
		vs.argv = &val;
		if (dm_read_arg(&no->range, &vs, &v, error))
			return -EINVAL;
		o->given[i] = true;
		o->val[i] = v;
		return 0;
	}
	return -ENOENT;
}

/* log_key:<description>: a logon key's description, printed back as is */
static int vdirt_parse_log_key(struct vdirt_opts *o, const char *desc,
			       char **error)
{
	const char *p;

	for (p = desc; *p; p++)
		if (*p <= ' ' || *p > '~')
			break;
	if (!*desc || *p || p - desc > 255 || o->log_key) {
		*error = "Invalid log_key (log_key:<description>, once, 1..255 printable characters)";
		return -EINVAL;
	}
	o->log_key = kstrdup(desc, GFP_KERNEL);
	if (!o->log_key) {
		*error = "Cannot allocate memory";
		return -ENOMEM;
	}
	return 0;
}

static int vdirt_parse_opt(struct vdirt_opts *o, const char *arg,
			   char **error)
{
	const char *mode = arg + strlen(VDIRT_ARG_MODE);
	int r;

	if (!strncmp(arg, VDIRT_ARG_MODE, strlen(VDIRT_ARG_MODE))) {
		if (strcmp(mode, VDIRT_ARG_AUDIT) &&
		    strcmp(mode, VDIRT_ARG_ENFORCE)) {
			*error = "Invalid mode (mode:audit or mode:enforce)";
			return -EINVAL;
		}
		o->mode_given = true;
		o->enforce = !strcmp(mode, VDIRT_ARG_ENFORCE);
	} else if (!strcmp(arg, VDIRT_ARG_NO_READ_VERIFY)) {
		o->no_read_verify = true;
	} else if (!strcmp(arg, VDIRT_ARG_FAIL_OPEN)) {
		o->fail_open = true;
	} else if (!strcmp(arg, VDIRT_ARG_ZERO_UNWRITTEN)) {
		o->zero_unwritten = true;
	} else if (!strncmp(arg, VDIRT_ARG_LOG_KEY,
			    strlen(VDIRT_ARG_LOG_KEY))) {
		return vdirt_parse_log_key(o, arg + strlen(VDIRT_ARG_LOG_KEY),
					   error);
	} else {
		r = vdirt_parse_num_opt(o, arg, error);
		if (r == -ENOENT)
			*error = vdirt_ctr_errorf("Unknown optional argument",
						  "Unknown optional argument %.64s",
						  arg);
		return r ? -EINVAL : 0;
	}
	return 0;
}

/* [<#opt_args> <opt_arg>...]: each is one of vdirt_parse_opt() */
static int vdirt_parse_opts(struct vdirt_opts *o, struct dm_arg_set *as,
			    char **error)
{
	unsigned int argc, i;
	int r;

	for (i = 0; i < VDIRT_NR_NUM_OPTS; i++)
		o->val[i] = vdirt_num_opts[i].def;
	if (!as->argc)
		return 0;
	r = dm_read_arg_group(&vdirt_opt_count, as, &argc, error);
	if (r)
		return r;
	while (argc--) {
		r = vdirt_parse_opt(o, dm_shift_arg(as), error);
		if (r)
			return r;
	}
	if (as->argc) {
		*error = "Too many arguments";
		return -EINVAL;
	}
	return 0;
}

/* the optional arguments as given, in the canonical order */
static void vdirt_emit_opts(const struct vdirt_opts *o, char *result,
			    unsigned int maxlen, unsigned int sz)
{
	unsigned int nopt, i;

	nopt = o->mode_given + o->no_read_verify + o->fail_open +
	       o->zero_unwritten + !!o->log_key;
	for (i = 0; i < VDIRT_NR_NUM_OPTS; i++)
		nopt += o->given[i];
	if (!nopt)
		return;
	DMEMIT(" %u", nopt);
	if (o->mode_given)
		DMEMIT(" " VDIRT_ARG_MODE "%s",
		       o->enforce ? VDIRT_ARG_ENFORCE : VDIRT_ARG_AUDIT);
	if (o->no_read_verify)
		DMEMIT(" " VDIRT_ARG_NO_READ_VERIFY);
	if (o->fail_open)
		DMEMIT(" " VDIRT_ARG_FAIL_OPEN);
	if (o->zero_unwritten)
		DMEMIT(" " VDIRT_ARG_ZERO_UNWRITTEN);
	for (i = 0; i < VDIRT_NR_NUM_OPTS; i++)
		if (o->given[i])
			DMEMIT(" %s:%u", vdirt_num_opts[i].name, o->val[i]);
	if (o->log_key)
		DMEMIT(" " VDIRT_ARG_LOG_KEY "%s", o->log_key);
}

/* ==== constructor and destructor ==== */

/* one cleanup for a failed constructor and the destructor */
static void vdirt_cleanup(struct vdirt_dev *vd)
{
	vdirt_dev_unlist(vd);
	vdirt_bc_stop(vd);
	vdirt_merkle_stop(vd);
	vdirt_scan_exit(vd);
	vdirt_recover_exit(vd);
	vdirt_periodic_stop(vd);
	vdirt_io_exit(vd);
	vdirt_dev_free(vd);
	vdirt_events_free(vd);
	vdirt_meta_close(vd);
	vdirt_merkle_free(vd);
	vdirt_uw_free(vd);
	vdirt_intent_exit(vd);
	vdirt_cluster_exit(vd);
	vdirt_log_exit(vd);
	kfree(vd->opts.log_key);
	if (vd->tfm)
		crypto_free_shash(vd->tfm);
	if (vd->meta_dev)
		dm_put_device(vd->ti, vd->meta_dev);
	if (vd->data_dev)
		dm_put_device(vd->ti, vd->data_dev);
	kfree(vd);
}

/*
 * Everything a cleanup may touch, before anything can fail: each layer's
 * locks, lists and work items, set up by that layer (the registry also
 * installs the store's ops).
 */
static void vdirt_init(struct vdirt_dev *vd, struct dm_target *ti)
{
	vdirt_dev_init(vd, ti);
	vdirt_cluster_init(vd);
	vdirt_scan_init(vd);
	vdirt_meta_init(vd);
	vdirt_log_init(vd);
	vdirt_epoch_init(vd);
	vdirt_merkle_init(vd);
	vdirt_recover_init(vd);
	vdirt_bc_init(vd);
}

static int vdirt_setup_hash(struct vdirt_dev *vd, const char *name,
			    char **error)
{
	u8 *zero;
	int r;

	if (strlen(name) >= VDIRT_HASH_NAME_LEN) {
		*error = "Hash algorithm name too long";
		return -EINVAL;
	}
	strscpy(vd->hash_name, name, sizeof(vd->hash_name));
	vd->tfm = crypto_alloc_shash(name, 0, 0);
	if (IS_ERR(vd->tfm)) {
		r = PTR_ERR(vd->tfm);
		vd->tfm = NULL;
		*error = vdirt_ctr_errorf("Unknown hash algorithm",
					  "Unknown hash algorithm %s (error %d)",
					  name, r);
		return r == -ENOENT ? -EINVAL : r;
	}
	if (crypto_shash_get_flags(vd->tfm) & CRYPTO_TFM_NEED_KEY) {
		*error = "Hash algorithm needs a key";
		return -EINVAL;
	}
	vd->digest_size = crypto_shash_digestsize(vd->tfm);
	if (!vd->digest_size || vd->digest_size > VDIRT_MAX_DIGEST_SIZE) {
		*error = "Hash digest larger than 64 bytes";
		return -EINVAL;
	}
	zero = kzalloc(vd->cluster_size, GFP_KERNEL);
	if (!zero) {
		*error = "Cannot allocate memory";
		return -ENOMEM;
	}
	r = vdirt_hash(vd, zero, vd->cluster_size, vd->zero_digest);
	kfree(zero);
	if (r)
		*error = "Cannot hash with this algorithm";
	return r;
}

static int vdirt_get_devices(struct vdirt_dev *vd, char **argv, char **error)
{
	struct dm_target *ti = vd->ti;
	vdirt_mode_t mode = dm_table_get_mode(ti->table);
	int r;

	r = dm_get_device(ti, argv[0], mode, &vd->data_dev);
	if (r) {
		*error = "Data device lookup failed";
		return r;
	}
	r = dm_get_device(ti, argv[1], mode, &vd->meta_dev);
	if (r) {
		*error = "Metadata device lookup failed";
		return r;
	}
	if (vd->data_dev->bdev == vd->meta_dev->bdev) {
		*error = "Data and metadata device are the same";
		return -EINVAL;
	}
	return 0;
}

/* <cluster_size> and the geometry that follows from it */
static int vdirt_parse_geometry(struct vdirt_dev *vd, const char *arg,
				char **error)
{
	sector_t len = vd->ti->len, dev_len;
	u32 region_bytes;
	unsigned int cs;

	if (kstrtouint(arg, 10, &cs)) {
		*error = "Invalid cluster size (not a number)";
		return -EINVAL;
	}
	if (!is_power_of_2(cs)) {
		*error = "Cluster size is not a power of two";
		return -EINVAL;
	}
	if (cs < VDIRT_MIN_CLUSTER_SIZE || cs > VDIRT_MAX_CLUSTER_SIZE) {
		*error = "Cluster size out of range (512..65536)";
		return -EINVAL;
	}
	if (cs % bdev_logical_block_size(vd->data_dev->bdev)) {
		*error = "Cluster size is not a multiple of the data device logical block size";
		return -EINVAL;
	}
	vd->cluster_size = cs;
	vd->cluster_shift = ilog2(cs);
	vd->cluster_sectors_shift = vd->cluster_shift - SECTOR_SHIFT;
	if (len & ((1U << vd->cluster_sectors_shift) - 1)) {
		*error = "Table length is not a multiple of the cluster size";
		return -EINVAL;
	}
	dev_len = bdev_nr_sectors(vd->data_dev->bdev);
	if (dev_len < len) {
		*error = vdirt_ctr_errorf("Data device smaller than the table length",
					  "Data device smaller than the table length (%llu < %llu sectors)",
					  (unsigned long long)dev_len,
					  (unsigned long long)len);
		return -EINVAL;
	}
	vd->nr_clusters = len >> vd->cluster_sectors_shift;
	region_bytes = max(cs, min(VDIRT_REGION_MAX_BYTES,
				   VDIRT_REGION_MAX_CLUSTERS * cs));
	vd->region_clusters = region_bytes / cs;
	vd->region_shift = ilog2(vd->region_clusters);
	return 0;
}

/* the layers' memory, queues and the metadata, once the table is parsed */
static int vdirt_setup(struct vdirt_dev *vd, char **error)
{
	int r;

	if (vdirt_compute_layout(vd->ti->len, vd->cluster_size,
				 vd->digest_size, &vd->layout)) {
		*error = "Invalid metadata geometry";
		return -EINVAL;
	}
	vd->enforce = vd->opts.enforce;
	vd->cache_blocks = vd->opts.val[VDIRT_OPT_CACHE_MB] <<
			   (20 - VDIRT_META_BLOCK_SHIFT);
	vd->intent.on = vd->opts.val[VDIRT_OPT_INTENT];
	r = vdirt_intent_init(vd);
	if (r) {
		*error = "Cannot allocate write-intent bitmap";
		return r;
	}
	r = vdirt_dev_alloc(vd);
	if (r) {
		*error = "Cannot allocate workqueue or bio set";
		return r;
	}
	r = vdirt_io_init(vd);
	if (r) {
		*error = "Cannot set up the I/O path";
		return r;
	}
	r = vdirt_cluster_alloc(vd);
	if (r) {
		*error = "Cannot allocate page pool";
		return r;
	}
	r = vdirt_meta_open(vd, error);
	if (r)
		return r;
	r = vdirt_uw_alloc(vd, vd->opts.zero_unwritten, error);
	if (r)
		return r;
	return vdirt_merkle_alloc(vd, error);
}

/* VDIRT_USAGE */
static int vdirt_ctr_locked(struct dm_target *ti, unsigned int argc,
			    char **argv)
{
	struct vdirt_dev *vd;
	struct dm_arg_set as;
	int r;

	if (argc < 4) {
		ti->error = "Not enough arguments: " VDIRT_USAGE;
		return -EINVAL;
	}
	vd = kzalloc(sizeof(*vd), GFP_KERNEL);
	if (!vd) {
		ti->error = "Cannot allocate context";
		return -ENOMEM;
	}
	ti->private = vd;
	vdirt_init(vd, ti);
	as.argc = argc - 4;
	as.argv = argv + 4;
	r = vdirt_get_devices(vd, argv, &ti->error);
	if (!r)
		r = vdirt_parse_geometry(vd, argv[2], &ti->error);
	if (!r)
		r = vdirt_setup_hash(vd, argv[3], &ti->error);
	if (!r)
		r = vdirt_parse_opts(&vd->opts, &as, &ti->error);
	if (!r)
		r = vdirt_log_setup(vd, vd->opts.log_key, &ti->error);
	if (!r)
		r = vdirt_setup(vd, &ti->error);
	if (r) {
		vdirt_cleanup(vd);
		ti->private = NULL;
		return r;
	}
	vdirt_dev_list(vd);
	return 0;
}

static int vdirt_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	int r;

	mutex_lock(&vdirt_ctr_lock);
	r = vdirt_ctr_locked(ti, argc, argv);
	mutex_unlock(&vdirt_ctr_lock);
	return r;
}

static void vdirt_dtr(struct dm_target *ti)
{
	vdirt_cleanup(ti->private);
}

/* ==== I/O ==== */

static int vdirt_map(struct dm_target *ti, struct bio *bio)
{
	return vdirt_io_map(ti->private, bio);
}

static int vdirt_end_io(struct dm_target *ti, struct bio *bio,
			blk_status_t *error)
{
	return vdirt_io_end(bio, error);
}

/* a cluster is the unit of every measured I/O: smaller I/O costs a read */
static void vdirt_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct vdirt_dev *vd = ti->private;

	limits->io_min = vd->cluster_size;
	limits->io_opt = vd->cluster_size;
}

static int vdirt_iterate_devices(struct dm_target *ti,
				 iterate_devices_callout_fn fn, void *data)
{
	struct vdirt_dev *vd = ti->private;

	return fn(ti, vd->data_dev, 0, ti->len, data);
}

/* ==== suspend and resume ==== */

static void vdirt_presuspend(struct dm_target *ti)
{
	struct vdirt_dev *vd = ti->private;

	vdirt_dev_set_suspended(vd, true);
	vdirt_bc_pause(vd);
	vdirt_merkle_stop(vd);
	vdirt_scan_stop(vd);
	vdirt_recover_stop(vd);
}

/* the suspend was cancelled before postsuspend: carry on as before */
static void vdirt_presuspend_undo(struct dm_target *ti)
{
	struct vdirt_dev *vd = ti->private;

	vdirt_dev_set_suspended(vd, false);
	vdirt_recover_start(vd);
	vdirt_bc_resume(vd);
}

static void vdirt_postsuspend(struct dm_target *ti)
{
	struct vdirt_dev *vd = ti->private;

	vdirt_periodic_stop(vd);
	vdirt_io_flush(vd);
	/* clean only when nothing is left to recover */
	vdirt_commit_clean(vd, vdirt_intent_close(vd));
	if (READ_ONCE(vd->state) == VDIRT_STATE_DEGRADED)
		vdirt_meta_untracked(vd);
}

static int vdirt_preresume(struct dm_target *ti)
{
	struct vdirt_dev *vd = ti->private;
	int r;

	vdirt_dev_retire_others(vd);
	if (!vdirt_measuring(vd))
		return 0;
	r = vdirt_meta_reload(vd);
	if (r)
		vdirt_set_error(vd, "metadata reload", r);
	return 0;
}

static void vdirt_resume(struct dm_target *ti)
{
	struct vdirt_dev *vd = ti->private;

	vdirt_periodic_start(vd);
	vdirt_dev_set_suspended(vd, false);
	vdirt_recover_start(vd);
	vdirt_bc_resume(vd);
}

/* ==== status ==== */

static void vdirt_status_info(struct vdirt_dev *vd, char *result,
			      unsigned int maxlen)
{
	unsigned int sz = 0;
	u64 pos;

	DMEMIT("state=%s mode=%s clusters=%llu measured=%lld baselined=%lld reads_verified=%lld read_mismatches=%lld write_drift=%lld unaligned=%lld meta_errors=%lld",
	       vdirt_state_name(READ_ONCE(vd->state)),
	       READ_ONCE(vd->enforce) ? "enforce" : "audit",
	       (unsigned long long)vd->nr_clusters,
	       (long long)atomic64_read(&vd->cnt.measured),
	       (long long)atomic64_read(&vd->cnt.baselined),
	       (long long)atomic64_read(&vd->cnt.reads_verified),
	       (long long)atomic64_read(&vd->cnt.read_mismatches),
	       (long long)atomic64_read(&vd->cnt.write_drift),
	       (long long)atomic64_read(&vd->cnt.unaligned),
	       (long long)atomic64_read(&vd->cnt.meta_errors));
	if (vdirt_scan_progress(vd, &pos))
		DMEMIT(" scan=%llu/%llu", (unsigned long long)pos,
		       (unsigned long long)vd->nr_clusters);
	else
		DMEMIT(" scan=-");
	DMEMIT(" tofu=%lld", (long long)atomic64_read(&vd->cnt.tofu));
	if (READ_ONCE(vd->recovering))
		DMEMIT(" recovering=%llu/%llu",
		       (unsigned long long)READ_ONCE(vd->recover_done),
		       (unsigned long long)vd->recover_total);
	else
		DMEMIT(" recovering=-");
	DMEMIT(" baseline=%s", READ_ONCE(vd->baseline_partial) ?
	       "partial" : atomic64_read(&vd->cnt.baselined) ?
	       "set" : "none");
	if (vdirt_bc_running(vd) && vdirt_bc_running(vd) != VDIRT_BC_PURGE)
		DMEMIT(" baseline_change=%llu/%llu",
		       (unsigned long long)READ_ONCE(vd->bc.pos),
		       (unsigned long long)vd->nr_clusters);
	else
		DMEMIT(" baseline_change=-");
	DMEMIT(" write_hash=%s", vdirt_write_hash_name(vd));
	DMEMIT(" epoch=%llu", (unsigned long long)READ_ONCE(vd->epoch));
	if (vdirt_bc_running(vd) == VDIRT_BC_PURGE)
		DMEMIT(" purge=%llu/%llu",
		       (unsigned long long)READ_ONCE(vd->bc.pos),
		       (unsigned long long)vd->nr_clusters);
	else
		DMEMIT(" purge=-");
}

static void vdirt_status(struct dm_target *ti, status_type_t type,
			 unsigned int status_flags, char *result,
			 unsigned int maxlen)
{
	struct vdirt_dev *vd = ti->private;
	unsigned int sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		vdirt_status_info(vd, result, maxlen);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %s %u %s", vd->data_dev->name, vd->meta_dev->name,
		       vd->cluster_size, vd->hash_name);
		vdirt_emit_opts(&vd->opts, result, maxlen, sz);
		break;
	case STATUSTYPE_IMA:
		DMEMIT("target_name=%s,target_version=%u.%u.%u",
		       ti->type->name, ti->type->version[0],
		       ti->type->version[1], ti->type->version[2]);
		DMEMIT(",data_device=%s,meta_device=%s,cluster_size=%u,hash_alg=%s",
		       vd->data_dev->name, vd->meta_dev->name,
		       vd->cluster_size, vd->hash_name);
		DMEMIT(",mode=%s,read_verify=%c,fail_open=%c,zero_unwritten=%c,state=%s;",
		       READ_ONCE(vd->enforce) ? "enforce" : "audit",
		       vd->opts.no_read_verify ? 'n' : 'y',
		       vd->opts.fail_open ? 'y' : 'n',
		       vd->opts.zero_unwritten ? 'y' : 'n',
		       vdirt_state_name(READ_ONCE(vd->state)));
		break;
	}
}

/* ==== messages ==== */

static const char *vdirt_kind_name(u8 kind)
{
	return kind == VDIRT_KIND_READ_MISMATCH ? "read_mismatch" :
	       kind == VDIRT_KIND_WRITE_DRIFT ? "write_drift" :
	       kind == VDIRT_KIND_RECOVERY ? "recovery" :
	       kind == VDIRT_KIND_ROLLBACK ? "rollback" : "unknown";
}

static const char *vdirt_op_name(u8 op)
{
	return op == VDIRT_OP_READ ? "read" : op == VDIRT_OP_WRITE ? "write" :
	       op == VDIRT_OP_SCAN ? "scan" :
	       op == VDIRT_OP_RECOVERY ? "recovery" : "unknown";
}

/* report [<first> [<count>]]: one line per stored mismatch record */
static int vdirt_report(struct vdirt_dev *vd, unsigned int argc, char **argv,
			char *result, unsigned int maxlen)
{
	struct vdirt_record *rec;
	struct vdirt_info info;
	u64 first = 0, count = U64_MAX, seq, n = 0;
	unsigned int sz = 0;

	if ((argc > 1 && kstrtoull(argv[1], 10, &first)) ||
	    (argc > 2 && kstrtoull(argv[2], 10, &count)) || argc > 3) {
		VDLOG(DMWARN, vd, "report [<first> [<count>]]: invalid arguments");
		return -EINVAL;
	}
	rec = kmalloc(sizeof(*rec), GFP_KERNEL);
	if (!rec)
		return -ENOMEM;
	vdirt_get_info(vd, &info);
	if (first > info.log_head - info.log_first)
		first = info.log_head - info.log_first;
	result[0] = '\0';
	for (seq = info.log_first + first; seq < info.log_head && n < count;
	     seq++) {
		if (vdirt_record_read(vd, seq, rec))
			continue;
		/* the mismatch kinds only: vdirtctl log shows every record */
		if (rec->kind > VDIRT_KIND_ROLLBACK)
			continue;
		DMEMIT("cluster=%llu kind=%s op=%s expected=%*phN actual=%*phN time=%llu",
		       (unsigned long long)rec->cluster,
		       vdirt_kind_name(rec->kind), vdirt_op_name(rec->op),
		       rec->digest_size, rec->expected,
		       rec->digest_size, rec->actual,
		       (unsigned long long)rec->time_ns);
		if (rec->kind == VDIRT_KIND_RECOVERY)
			DMEMIT(" regions=%llu remeasured=%llu changed=%llu on_read=%llu",
			       (unsigned long long)rec->aux[VDIRT_AUX_REGIONS],
			       (unsigned long long)rec->aux[VDIRT_AUX_REMEASURED],
			       (unsigned long long)rec->aux[VDIRT_AUX_CHANGED],
			       (unsigned long long)rec->aux[VDIRT_AUX_ON_READ]);
		if (rec->kind == VDIRT_KIND_ROLLBACK)
			DMEMIT(" epoch=%llu",
			       (unsigned long long)rec->aux[VDIRT_AUX_EPOCH]);
		DMEMIT("\n");
		n++;
		if (sz + 1 >= maxlen)
			break;	/* full: dm-ioctl flags it, dmsetup retries */
	}
	kfree(rec);
	return 1;
}


/* mode audit|enforce */
static int vdirt_message_mode(struct vdirt_dev *vd, const char *mode)
{
	if (!strcasecmp(mode, VDIRT_ARG_AUDIT)) {
		WRITE_ONCE(vd->enforce, false);
		return 0;
	}
	if (!strcasecmp(mode, VDIRT_ARG_ENFORCE)) {
		WRITE_ONCE(vd->enforce, true);
		return 0;
	}
	VDLOG(DMWARN, vd, "mode must be audit or enforce");
	return -EINVAL;
}

/*
 * scan, baseline_capture, baseline_clear, clear_mismatches: start the work
 * and return (status shows scan= or baseline_change=); -ENOENT: not one
 * of these.
 */
static int vdirt_message_start(struct vdirt_dev *vd, const char *cmd)
{
	bool scan = !strcasecmp(cmd, "scan");
	u8 kind;
	int r;

	kind = !strcasecmp(cmd, "baseline_capture") ? VDIRT_BC_CAPTURE :
	       !strcasecmp(cmd, "baseline_clear") ? VDIRT_BC_CLEAR :
	       !strcasecmp(cmd, "clear_mismatches") ? VDIRT_BC_MCLEAR :
	       VDIRT_BC_NONE;
	if (!kind && !scan)
		return -ENOENT;
	r = vdirt_dev_can_start(vd);
	if (r == -EIO)
		VDLOG(DMWARN, vd, "%s refused: state=%s", cmd,
		      vdirt_state_name(READ_ONCE(vd->state)));
	else if (r)
		VDLOG(DMWARN, vd, "%s refused: the device is suspended", cmd);
	if (r)
		return r;
	if (scan)
		return vdirt_scan_start(vd);
	r = vdirt_bc_start(vd, kind, NULL);
	if (r == -EBUSY)
		VDLOG(DMWARN, vd, "%s refused: %s", cmd,
		      vdirt_bc_running(vd) ?
		      "a baseline change or clear_mismatches runs" :
		      "crash recovery runs");
	return r;
}

/*
 * epoch_new [<label>]: close the current epoch, open the next; the result
 * is its number.  A label is 1..63 printable characters without spaces.
 */
static int vdirt_message_epoch(struct vdirt_dev *vd, unsigned int argc,
			       char **argv, char *result, unsigned int maxlen)
{
	const char *label = argc > 1 ? argv[1] : "";
	unsigned int sz = 0;
	const char *p;
	u64 e;
	int r;

	for (p = label; *p; p++)
		if (*p <= ' ' || *p > '~')
			break;
	if (argc > 2 || *p || p - label >= VDIRT_EPOCH_LABEL_LEN) {
		VDLOG(DMWARN, vd, "epoch_new [<label>]: a label is 1..%u printable characters without spaces",
		      VDIRT_EPOCH_LABEL_LEN - 1);
		return -EINVAL;
	}
	r = vdirt_dev_can_start(vd);
	if (r) {
		VDLOG(DMWARN, vd, "epoch_new refused: %s", r == -EIO ?
		      vdirt_state_name(READ_ONCE(vd->state)) :
		      "the device is suspended");
		return r;
	}
	r = vdirt_epoch_new(vd, label, &e);
	if (r == -EOPNOTSUPP)
		VDLOG(DMWARN, vd, "epoch_new refused: the metadata has no epoch table (run vdirtctl upgrade on the metadata device while the device is closed)");
	else if (r)
		VDLOG(DMWARN, vd, "epoch_new failed: error %d", r);
	if (r)
		return r;
	DMEMIT("%llu", (unsigned long long)e);
	return 1;	/* the result buffer holds the answer */
}

/* the kernel log line of a refused vdirt_merkle_start() */
static const char *vdirt_attest_why(int r)
{
	switch (r) {
	case -EOPNOTSUPP:
		return "the metadata has no attestation tree or no staging area (run vdirtctl upgrade on the metadata device while the device is closed)";
	case -EBUSY:
		return "a root computation, a metadata snapshot or a baseline load is in progress";
	case -EROFS:
		return "a read-only table keeps no attestation tree";
	case -ERANGE:
		return "cluster beyond the device";
	default:
		return "cannot start the computation";
	}
}

/*
 * attest [<cluster>]: start the attestation root (and the cluster's
 * proof); metadata_snap take|drop: hold or drop a metadata snapshot,
 * whose root is computed.  The answer of attest and take: the number of
 * the root computation (netlink VDIRT_CMD_ATTEST_GET reports it).
 */
static int vdirt_message_attest(struct vdirt_dev *vd, unsigned int argc,
				char **argv, char *result, unsigned int maxlen)
{
	bool snap = !strcasecmp(argv[0], "metadata_snap");
	unsigned int sz = 0;
	u64 cluster = 0, id;
	int r;

	if (snap ? argc != 2 || (strcasecmp(argv[1], "take") &&
				 strcasecmp(argv[1], "drop")) :
		   argc > 2 || (argc == 2 && kstrtou64(argv[1], 10, &cluster))) {
		VDLOG(DMWARN, vd, "%s", snap ? "metadata_snap take|drop" :
		      "attest [<cluster>]: a cluster is a decimal number");
		return -EINVAL;
	}
	if (snap && !strcasecmp(argv[1], "drop")) {
		r = vdirt_merkle_drop(vd);
		if (r)
			VDLOG(DMWARN, vd, "metadata_snap drop: %s", r == -ENOENT ?
			      "no metadata snapshot is held" :
			      vdirt_attest_why(r));
		return r;
	}
	r = vdirt_dev_can_start(vd);
	if (r) {
		VDLOG(DMWARN, vd, "%s refused: %s", argv[0], r == -EIO ?
		      vdirt_state_name(READ_ONCE(vd->state)) :
		      "the device is suspended");
		return r;
	}
	r = vdirt_merkle_start(vd, snap, argc == 2 && !snap, cluster, 0, &id);
	if (r) {
		VDLOG(DMWARN, vd, "%s refused: %s", argv[0], vdirt_attest_why(r));
		return r;
	}
	DMEMIT("%llu", (unsigned long long)id);
	return 1;
}

/* the kernel log line of a refused purge */
static const char *vdirt_purge_why(int r)
{
	switch (r) {
	case -EOPNOTSUPP:
		return "needs the zero_unwritten table argument";
	case -EBUSY:
		return "a baseline change, a purge, crash recovery, an attestation root or a metadata snapshot is in progress";
	case -EROFS:
		return "the table is read-only";
	case -EIO:
		return "the device failed";
	default:
		return "the purge commit failed";
	}
}

/*
 * purge: every cluster unwritten (reads as zeros), current and baseline
 * digests cleared, in one superblock commit; the walk that clears the
 * entries and discards the data runs in the background (status purge=).
 */
static int vdirt_message_purge(struct vdirt_dev *vd)
{
	int r = vdirt_dev_can_start(vd);

	if (r) {
		VDLOG(DMWARN, vd, "purge refused: %s", r == -EIO ?
		      vdirt_state_name(READ_ONCE(vd->state)) :
		      "the device is suspended");
		return r;
	}
	r = vdirt_purge_start(vd);
	if (r)
		VDLOG(DMWARN, vd, "purge refused: %s", vdirt_purge_why(r));
	return r;
}

static int vdirt_message(struct dm_target *ti, unsigned int argc, char **argv,
			 char *result, unsigned int maxlen)
{
	struct vdirt_dev *vd = ti->private;
	const char *cmd = argc ? argv[0] : "";
	int r = -ENOENT;

	if (!strcasecmp(cmd, "report"))
		return vdirt_report(vd, argc, argv, result, maxlen);
	if (argc == 2 && !strcasecmp(cmd, "mode"))
		return vdirt_message_mode(vd, argv[1]);
	if (!strcasecmp(cmd, "epoch_new"))
		return vdirt_message_epoch(vd, argc, argv, result, maxlen);
	if (!strcasecmp(cmd, "attest") || !strcasecmp(cmd, "metadata_snap"))
		return vdirt_message_attest(vd, argc, argv, result, maxlen);
	if (argc == 1 && !strcasecmp(cmd, "purge"))
		return vdirt_message_purge(vd);
	if (argc == 1 && !strcasecmp(cmd, "scan_stop")) {
		vdirt_scan_stop(vd);
		return 0;
	}
	if (argc == 1)
		r = vdirt_message_start(vd, cmd);
	if (r != -ENOENT)
		return r;
	VDLOG(DMWARN, vd, "unrecognised message %s (%u arguments)", cmd, argc);
	return -EINVAL;
}

/* ==== module ==== */

static struct target_type vdirt_target = {
	.name = "vdirt",
	.version = {VDIRT_VERSION_MAJOR, VDIRT_VERSION_MINOR,
		    VDIRT_VERSION_PATCH},
	.module = THIS_MODULE,
	.ctr = vdirt_ctr,
	.dtr = vdirt_dtr,
	.map = vdirt_map,
	.end_io = vdirt_end_io,
	.presuspend = vdirt_presuspend,
	.presuspend_undo = vdirt_presuspend_undo,
	.postsuspend = vdirt_postsuspend,
	.preresume = vdirt_preresume,
	.resume = vdirt_resume,
	.status = vdirt_status,
	.message = vdirt_message,
	.io_hints = vdirt_io_hints,
	.iterate_devices = vdirt_iterate_devices,
};

static int __init dm_vdirt_init(void)
{
	int r;

	r = dm_register_target(&vdirt_target);
	if (r)
		return r;
	r = vdirt_netlink_init();
	if (r)
		dm_unregister_target(&vdirt_target);
	return r;
}

static void __exit dm_vdirt_exit(void)
{
	vdirt_netlink_exit();
	dm_unregister_target(&vdirt_target);
}

module_init(dm_vdirt_init);
module_exit(dm_vdirt_exit);

MODULE_DESCRIPTION(DM_NAME " target measuring every cluster read and written (vDIRT)");
MODULE_AUTHOR("dm-vdirt developers");
MODULE_LICENSE("GPL");
MODULE_ALIAS("dm-vdirt");
