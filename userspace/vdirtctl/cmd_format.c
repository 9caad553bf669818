// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl meta-size, format, check and upgrade: the metadata device (the
 * work is lib/format.c's and lib/sb.c's).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "format.h"
#include "json.h"
#include "sb.h"
#include "util.h"

int cmd_meta_size(int argc, char **argv)
{
	const struct vh_alg *alg = get_alg(o.hash);
	uint32_t cs = o.cluster_size ? o.cluster_size : VDIRT_DEFAULT_CLUSTER;
	uint64_t bytes, need;
	struct vdirt_layout l;
	int r;

	(void)argc;
	if (!alg || check_cluster(cs))
		return -EINVAL;
	r = parse_size(argv[0], &bytes);
	if (r && *argv[0] >= '0' && *argv[0] <= '9' && access(argv[0], F_OK)) {
		/* "1.5G", "10X": no such path either */
		err("'%s': not a size (a decimal number with an optional K, M, G or T "
		    "suffix), nor a device or file", argv[0]);
		return EXIT_USAGE;
	}
	if (r) {
		int fd = open_dev(argv[0], O_RDONLY, &bytes);

		if (fd < 0)
			return fd;
		close(fd);
	}
	if (!bytes) {
		err("%s: a data size of 0 bytes: nothing to measure", argv[0]);
		return r ? -EINVAL : EXIT_USAGE;
	}
	if (bytes % 512) {
		err("data size %" PRIu64 " is not a multiple of 512 bytes", bytes);
		return -EINVAL;
	}
	if (vdirt_layout_compute(bytes / 512, cs, alg->digest_size, vformat_layout(o.unpacked, o.without),
				 o.epochs, &l))
		return -EINVAL;
	need = l.total_blocks * VDIRT_META_BLOCK_SIZE;
	if (o.json) {
		struct json_object *j = json_object_new_object();

		vjson_add_u64(j, "data_bytes", bytes);
		vjson_add_u64(j, "cluster_size", cs);
		vjson_add_str(j, "hash", alg->name);
		vjson_add_u64(j, "digest_size", alg->digest_size);
		vjson_add_u64(j, "clusters", l.nr_clusters);
		vjson_add_u64(j, "entry_size", l.entry_size);
		vjson_add_bool(j, "packed", l.flags & VDIRT_LAYOUT_PACKED);
		vjson_add_u64(j, "entries_per_block", l.entries_per_block);
		vjson_add_u64(j, "entries_blocks", l.entries_blocks);
		vjson_add_u64(j, "staging_blocks", l.staging_blocks);
		vjson_add_u64(j, "epochs", l.epochs);
		vjson_add_u64(j, "epoch_blocks", l.epoch_blocks);
		vjson_add_u64(j, "wset_blocks", l.wset_blocks);
		vjson_add_u64(j, "hist_blocks", l.hist_blocks);
		vjson_add_u64(j, "merkle_blocks", l.merkle_blocks);
		vjson_add_u64(j, "unw_blocks", l.unw_blocks);
		vjson_add_u64(j, "meta_blocks", l.total_blocks);
		vjson_add_u64(j, "meta_bytes", need);
		return vjson_print(stdout, j, "\n");
	}
	if (o.debug || !o.quiet) {
		dbg("clusters %" PRIu64 " entry size %u (%s, %u a block) entry blocks %" PRIu64
		    " staging blocks %" PRIu64 " blocks %" PRIu64, (uint64_t)l.nr_clusters,
		    l.entry_size, l.flags & VDIRT_LAYOUT_PACKED ? "packed" : "power of two",
		    l.entries_per_block, (uint64_t)l.entries_blocks, (uint64_t)l.staging_blocks,
		    (uint64_t)l.total_blocks);
		printf("%" PRIu64 "\n", need);
	}
	return 0;
}

/* why vformat() failed */
static void format_error(const char *data, const char *meta, uint64_t dsize, uint64_t msize,
			 uint32_t cs, const struct vh_alg *alg, const struct vformat_res *f, int r)
{
	switch (f->step) {
	case VF_SIZE:
		if (r == -EINVAL)
			err("%s: size %" PRIu64 " is not a multiple of the cluster size %u",
			    data, dsize, cs);
		else if (r == -ENOSPC)
			err("%s is too small: %" PRIu64 " bytes, it must be at least %" PRIu64
			    " bytes (%" PRIu64 " MiB) for %s with %u-byte clusters and %s",
			    meta, msize, f->need, (f->need + (1 << 20) - 1) >> 20, data, cs,
			    alg->name);
		break;
	case VF_READ:
		err("%s: cannot read: %s", meta, strerror(-r));
		break;
	case VF_EXISTS:
		if (f->existing)
			err("%s is already formatted (%" PRIu64 " sectors, %u-byte clusters, %s); "
			    "use --force to overwrite it", meta, f->old.data_sectors,
			    f->old.cluster_size, f->old.hash_name);
		else
			err("%s holds other data, %s; use --force to overwrite it", meta,
			    f->why);
		break;
	case VF_SIGNATURE:
		if (r == -EEXIST)
			err("%s holds %s; use --force to overwrite it", meta, f->why);
		else
			err("%s: cannot probe for signatures: %s", meta, strerror(-r));
		break;
	case VF_NONZERO:
		if (r == -EEXIST)
			err("%s is not zero at byte %" PRIu64 " of the %" PRIu64 " bytes a format "
			    "overwrites; use --force to overwrite it (or zero it: blkdiscard -z)",
			    meta, f->bad_off, f->need);
		else
			err("%s: cannot read: %s", meta, strerror(-r));
		break;
	case VF_ZERO:
		err("%s: cannot zero the metadata area: %s", meta, strerror(-r));
		break;
	case VF_VERIFY:
		if (r == -EILSEQ)
			err("%s: the metadata area is not zero after writing zeroes over it "
			    "(offset %" PRIu64 "): refused, use another device", meta, f->bad_off);
		else
			err("%s: cannot verify the zeroed metadata area: %s", meta, strerror(-r));
		break;
	case VF_WRITE:
		err("%s: cannot write the superblock: %s", meta, strerror(-r));
		break;
	}
}

int cmd_format(int argc, char **argv)
{
	const struct vh_alg *alg = get_alg(o.hash);
	uint32_t cs = o.cluster_size ? o.cluster_size : VDIRT_DEFAULT_CLUSTER;
	struct vformat_res f;
	uint64_t dsize, msize;
	int dfd, mfd, r;

	(void)argc;
	if (!alg || check_cluster(cs))
		return -EINVAL;
	dfd = open_dev(argv[0], O_RDONLY, &dsize);
	if (dfd < 0)
		return dfd;
	mfd = open_dev(argv[1], O_RDWR | O_EXCL, &msize);
	if (mfd < 0) {
		close(dfd);
		return mfd;
	}

	r = vsame_file(dfd, mfd);
	if (r) {
		if (r > 0)
			err("%s and %s are the same file or device: the metadata needs a "
			    "device of its own", argv[0], argv[1]);
		else
			err("%s: %s", argv[1], strerror(-r));
		close(mfd);
		close(dfd);
		return r > 0 ? -EINVAL : r;
	}
	r = vformat(mfd, argv[1], msize, dsize, cs, alg, vformat_layout(o.unpacked, o.without), o.epochs,
		    o.force, &f);
	close(mfd);
	close(dfd);
	if (r) {
		format_error(argv[0], argv[1], dsize, msize, cs, alg, &f, r);
		return r;
	}
	if (o.json) {
		struct json_object *j = json_object_new_object();
		char u[33];

		hex(u, f.uuid, 16);
		vjson_add_str(j, "meta_dev", argv[1]);
		vjson_add_str(j, "uuid", u);
		vjson_add_u64(j, "data_sectors", dsize / 512);
		vjson_add_u64(j, "cluster_size", cs);
		vjson_add_str(j, "hash", alg->name);
		vjson_add_u64(j, "meta_bytes", f.need);
		vjson_add_bool(j, "packed", !o.unpacked);
		return vjson_print(stdout, j, "\n");
	}
	if (!o.quiet)
		printf("formatted %s for %s: %" PRIu64 " clusters of %u bytes, %s%s\n",
		       argv[1], argv[0], dsize / cs, cs, alg->name,
		       o.unpacked ? ", power-of-two entries" : "");
	return 0;
}

static struct json_object *copy_json(int i, const struct vcheck_copy *c)
{
	const struct vdirt_disk_sb *d = &c->d;
	uint32_t fl = le32toh(d->flags), fc = le32toh(d->feature_compat);
	struct json_object *j = json_object_new_object();
	char name[2] = { (char)('A' + i), 0 };

	vjson_add_str(j, "copy", name);
	vjson_add_bool(j, "valid", c->valid);
	if (!c->valid) {
		vjson_add_str(j, "reason", c->why);
		return j;
	}
	vjson_add_u64(j, "seq", c->sb.seq);
	vjson_add_bool(j, "clean", fl & VDIRT_SB_F_CLEAN);
	vjson_add_bool(j, "baseline", fl & VDIRT_SB_F_BASELINE);
	vjson_add_bool(j, "baseline_partial", fl & VDIRT_SB_F_BASELINE_PARTIAL);
	vjson_add_u64(j, "feature_compat", fc);
	vjson_add_bool(j, "intent", fc & VDIRT_FEATURE_COMPAT_INTENT);
	vjson_add_bool(j, "staging", fc & VDIRT_FEATURE_COMPAT_STAGING);
	vjson_add_bool(j, "baseline_staged", fl & VDIRT_SB_F_BASELINE_STAGED);
	vjson_add_u64(j, "version", c->sb.version);
	vjson_add_u64(j, "feature_incompat", c->sb.incompat);
	vjson_add_bool(j, "packed", c->sb.incompat & VDIRT_FEATURE_INCOMPAT_PACKED);
	vjson_add_bool(j, "unwritten", c->sb.incompat & VDIRT_FEATURE_INCOMPAT_UNWRITTEN);
	vjson_add_u64(j, "unw_start", le64toh(d->unw_start));
	vjson_add_u64(j, "unw_blocks", le64toh(d->unw_blocks));
	vjson_add_u64(j, "unw_gen", le64toh(d->unw_gen));
	vjson_add_bool(j, "purge", fl & VDIRT_SB_F_PURGE);
	vjson_add_bool(j, "zeroes", fl & VDIRT_SB_F_ZEROES);
	vjson_add_u64(j, "entry_size", c->sb.entry_size);
	vjson_add_u64(j, "epoch", le64toh(d->epoch));
	vjson_add_u64(j, "log_head", le64toh(d->log_head));
	vjson_add_u64(j, "log_tail", le64toh(d->log_tail));
	return j;
}

/* every region of the metadata device: start block and block count, 0 when absent */
static struct json_object *layout_json(const struct vdirt_layout *l)
{
	struct json_object *j = json_object_new_object();

	vjson_add_u64(j, "sb_start", 0);
	vjson_add_u64(j, "sb_blocks", VDIRT_SB_COPIES);
	vjson_add_u64(j, "entries_start", l->entries_start);
	vjson_add_u64(j, "entries_blocks", l->entries_blocks);
	vjson_add_u64(j, "intent_start", l->intent_start);
	vjson_add_u64(j, "intent_blocks", l->intent_blocks);
	vjson_add_u64(j, "log_start", l->log_start);
	vjson_add_u64(j, "log_blocks", l->log_blocks);
	vjson_add_u64(j, "event_start", l->event_start);
	vjson_add_u64(j, "event_blocks", l->event_blocks);
	vjson_add_u64(j, "staging_start", l->staging_start);
	vjson_add_u64(j, "staging_blocks", l->staging_blocks);
	vjson_add_u64(j, "epoch_start", l->epoch_start);
	vjson_add_u64(j, "epoch_blocks", l->epoch_blocks);
	vjson_add_u64(j, "wset_start", l->wset_start);
	vjson_add_u64(j, "wset_blocks", l->wset_blocks);
	vjson_add_u64(j, "hist_start", l->hist_start);
	vjson_add_u64(j, "hist_blocks", l->hist_blocks);
	vjson_add_u64(j, "merkle_start", l->merkle_start);
	vjson_add_u64(j, "merkle_blocks", l->merkle_blocks);
	vjson_add_u64(j, "unw_start", l->unw_start);
	vjson_add_u64(j, "unw_blocks", l->unw_blocks);
	vjson_add_u64(j, "total_blocks", l->total_blocks);
	vjson_add_u64(j, "block_size", VDIRT_META_BLOCK_SIZE);
	return j;
}

static int check_json(const char *meta, const struct vcheck *k)
{
	const struct vcheck_copy *u = &k->c[k->best];
	struct json_object *j = json_object_new_object(), *a = json_object_new_array();
	char name[2] = { (char)('A' + k->best), 0 };
	int i;

	vjson_add_str(j, "meta_dev", meta);
	for (i = 0; i < 2; i++)
		json_object_array_add(a, copy_json(i, &k->c[i]));
	json_object_object_add(j, "copies", a);
	if (u->valid) {
		vjson_add_str(j, "using", name);
		vjson_add_u64(j, "seq", u->sb.seq);
		vjson_add_u64(j, "clusters", u->sb.nr_clusters);
		vjson_add_u64(j, "cluster_size", u->sb.cluster_size);
		vjson_add_str(j, "hash", u->sb.hash_name);
		vjson_add_bool(j, "clean", k->clean);
		vjson_add_u64(j, "regions", k->regions);
		vjson_add_u64(j, "intent_set", k->intent_set);
		vjson_add_u64(j, "recover_regions", k->clean ? 0 : k->intent_set);
		json_object_object_add(j, "layout", layout_json(&u->sb.layout));
	} else {
		json_object_object_add(j, "using", NULL);
	}
	return vjson_print(stdout, j, "\n");
}

static void print_copy(int i, const struct vcheck_copy *c)
{
	const struct vdirt_disk_sb *d = &c->d;
	uint32_t fl = le32toh(d->flags), fc = le32toh(d->feature_compat);
	uint32_t fi = le32toh(d->feature_incompat);
	char feat[64];

	if (!c->valid) {
		printf("copy %c: invalid (%s)\n", 'A' + i, c->why);
		return;
	}
	snprintf(feat, sizeof(feat), "%s%s%s%s", fc & VDIRT_FEATURE_COMPAT_INTENT ? ",intent" : "",
		 fc & VDIRT_FEATURE_COMPAT_STAGING ? ",staging" : "",
		 fi & VDIRT_FEATURE_INCOMPAT_PACKED ? ",packed" : "",
		 fi & VDIRT_FEATURE_INCOMPAT_UNWRITTEN ? ",unwritten" : "");
	printf("copy %c: valid, seq %" PRIu64 ", flags %s%s%s%s%s%s, features %s, epoch %"
	       PRIu64 ", log head %" PRIu64 " tail %" PRIu64 "\n", 'A' + i, c->sb.seq,
	       fl & VDIRT_SB_F_CLEAN ? "clean" : "in-use",
	       fl & VDIRT_SB_F_BASELINE ? ",baseline" : "",
	       fl & VDIRT_SB_F_BASELINE_PARTIAL ? ",baseline-partial" : "",
	       fl & VDIRT_SB_F_BASELINE_STAGED ? ",baseline-staged" : "",
	       fl & VDIRT_SB_F_PURGE ? ",purge" : "",
	       fl & VDIRT_SB_F_ZEROES ? ",zeroes" : "", *feat ? feat + 1 : "-",
	       (uint64_t)le64toh(d->epoch), (uint64_t)le64toh(d->log_head),
	       (uint64_t)le64toh(d->log_tail));
}

static void check_text(const char *meta, const struct vcheck *k)
{
	const struct vcheck_copy *u = &k->c[k->best];
	int i, best = k->best;

	for (i = 0; i < 2; i++)
		print_copy(i, &k->c[i]);
	if (!u->valid)
		printf("no valid superblock: %s is not a dm-vdirt metadata device\n", meta);
	else if (!k->c[!best].valid)
		printf("copy %c invalid (%s): using copy %c, seq %" PRIu64 "\n", 'A' + !best,
		       k->c[!best].why, 'A' + best, u->sb.seq);
	else
		printf("using copy %c, seq %" PRIu64 "\n", 'A' + best, u->sb.seq);
	if (!u->valid)
		return;
	printf("%" PRIu64 " clusters of %u bytes, %s\n", u->sb.nr_clusters,
	       u->sb.cluster_size, u->sb.hash_name);
	printf("entries: %s, %u bytes, %u a block\n",
	       u->sb.incompat & VDIRT_FEATURE_INCOMPAT_PACKED ? "packed" : "power of two",
	       u->sb.entry_size, VDIRT_META_BLOCK_SIZE / u->sb.entry_size);
	if (k->clean)
		printf("clean: nothing to recover (%" PRIu64 " of %" PRIu64
		       " write-intent bits set)\n", k->intent_set, k->regions);
	else
		printf("not clean: %" PRIu64 " of %" PRIu64 " regions would be "
		       "recovered on the next open\n", k->intent_set, k->regions);
	if (u->sb.version < VDIRT_FORMAT_VERSION)
		printf("format version %u: no staging area, a baseline load is refused "
		       "(vdirtctl upgrade converts it)\n", u->sb.version);
	else
		printf("format version %u, staging area: %" PRIu64 " blocks at block %" PRIu64 "\n",
		       u->sb.version, u->sb.staging_blocks, u->sb.staging_start);
	if (u->sb.incompat & VDIRT_FEATURE_INCOMPAT_UNWRITTEN)
		printf("written bitmap: %" PRIu64 " blocks at block %" PRIu64 ", generation %"
		       PRIu64 "\n", (uint64_t)u->sb.layout.unw_blocks, (uint64_t)u->sb.layout.unw_start, u->sb.unw_gen);
	else
		printf("no written bitmap: zero_unwritten is refused (vdirtctl upgrade adds it)\n");
	if (u->sb.flags & VDIRT_SB_F_PURGE)
		printf("a purge's walk has not completed: the next open walks again from the "
		       "start\n");
	if (u->sb.flags & VDIRT_SB_F_BASELINE_STAGED)
		printf("a baseline load was cut short: the next open applies the staged "
		       "baseline again\n");
	else if (u->sb.flags & VDIRT_SB_F_BASELINE_PARTIAL)
		printf("a baseline change was cut short: the baseline is ignored "
		       "until it is loaded, captured or cleared again\n");
	if (u->sb.ro_compat & ~VDIRT_FEATURE_RO_COMPAT_SUPP)
		printf("unknown read-only compatible features 0x%x: only a "
		       "read-only table may use it\n",
		       u->sb.ro_compat & ~VDIRT_FEATURE_RO_COMPAT_SUPP);
}

int cmd_check(int argc, char **argv)
{
	struct vcheck k;
	int fd, r;

	(void)argc;
	fd = open_dev(argv[0], O_RDONLY, NULL);
	if (fd < 0)
		return fd;
	r = vcheck(fd, &k);
	close(fd);
	if (r) {
		if (k.step)
			err("%s: cannot read the write-intent bitmap: %s", argv[0], strerror(-r));
		else
			err("%s: cannot read the superblocks: %s", argv[0], strerror(-r));
		return r;
	}
	if (o.json) {
		r = check_json(argv[0], &k);
		if (r)
			return r;
	} else {
		check_text(argv[0], &k);
	}
	return k.c[0].valid && k.c[1].valid ? 0 :
	       k.c[k.best].valid ? EXIT_CHECK_DEGRADED : EXIT_CHECK_INVALID;
}

int cmd_upgrade(int argc, char **argv)
{
	uint64_t size = 0, need = 0;
	struct vsb sb;
	int fd, r;

	(void)argc;
	/* exclusive: a table using the metadata device holds it */
	fd = open_dev(argv[0], O_RDWR | O_EXCL, &size);
	if (fd < 0)
		return fd;
	r = vsb_upgrade(fd, size, &sb, &need);
	close(fd);
	if (r == -ENOSPC) {
		err("%s is too small for the regions an upgrade adds (%s): %" PRIu64
		    " bytes, it must be at least %" PRIu64 " bytes (%" PRIu64 " MiB); extend it "
		    "(lvextend) and run upgrade again", argv[0],
		    (sb.layout.flags & ~VDIRT_LAYOUT_PACKED) ==
		    (VDIRT_LAYOUT_1_6 & ~VDIRT_LAYOUT_PACKED) ? "the written bitmap" :
		    "staging area, epochs, write sets, history, tree, written bitmap",
		    size, need, (need + (1 << 20) - 1) >> 20);
		return r;
	}
	if (r == -ENODATA) {
		err("%s is not formatted", argv[0]);
		return -EINVAL;
	}
	if (r && r != -EALREADY) {
		err("%s: cannot upgrade: %s", argv[0], strerror(-r));
		return r;
	}
	if (o.json) {
		struct json_object *j = json_object_new_object();

		vjson_add_str(j, "meta_dev", argv[0]);
		vjson_add_u64(j, "version", sb.version);
		vjson_add_bool(j, "upgraded", !r);
		vjson_add_u64(j, "staging_start", sb.staging_start);
		vjson_add_u64(j, "staging_blocks", sb.staging_blocks);
		vjson_add_u64(j, "unw_start", sb.layout.unw_start);
		vjson_add_u64(j, "unw_blocks", sb.layout.unw_blocks);
		vjson_add_u64(j, "meta_bytes", sb.total_blocks * VDIRT_META_BLOCK_SIZE);
		return vjson_print(stdout, j, "\n");
	}
	if (o.quiet)
		return 0;
	if (r == -EALREADY)
		printf("%s is already format version %u with every region\n", argv[0], sb.version);
	else
		printf("upgraded %s to format version %u: staging area of %" PRIu64
		       " blocks at block %" PRIu64 ", written bitmap of %" PRIu64 " blocks at block %"
		       PRIu64 " (every cluster written)\n", argv[0], sb.version, sb.staging_blocks,
		       sb.staging_start, (uint64_t)sb.layout.unw_blocks, (uint64_t)sb.layout.unw_start);
	return 0;
}
