// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: baseline load.  BASELINE_BEGIN announces the geometry, the
 * digests follow in chunks of at most VDIRT_CHUNK_MAX bytes in cluster
 * order, BASELINE_COMMIT hands the staged baseline to the kernel's worker
 * (its change id is returned to wait on).  Testing aids:
 * VDIRTCTL_TEST_STOP_AFTER=N stops after N chunks, VDIRTCTL_TEST_PAUSE_AFTER=N
 * waits there for a signal.  Prints nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load.h"
#include "util.h"

int vload_fits(const struct vdev_info *d, const struct vb_info *f)
{
	return d->cluster_size == f->cluster_size && !strcmp(d->hash, f->hash_name) &&
	       d->digest_size == f->digest_size && d->nr_clusters == f->nr_clusters;
}

static int load_id_cb(const struct nlattr **tb, void *arg)
{
	*(uint32_t *)arg = nla_u64(tb, VDIRT_A_LOAD_ID, 0);
	return 0;
}

static int change_id_cb(const struct nlattr **tb, void *arg)
{
	*(uint64_t *)arg = nla_u64(tb, VDIRT_A_CHANGE_ID, 0);
	return 0;
}

static long env_long(const char *name)
{
	const char *s = getenv(name);

	return s ? atol(s) : -1;
}

static int load_begin(struct vnl *v, char *buf, const char *dev, const struct vb_info *i,
		      uint32_t *id)
{
	struct nlmsghdr *nlh = vnl_msg(v, buf, VDIRT_CMD_BASELINE_BEGIN, 0);
	int r = vnl_put_dev(nlh, dev);

	if (r)
		return r;
	mnl_attr_put_u32(nlh, VDIRT_A_CLUSTER_SIZE, i->cluster_size);
	mnl_attr_put_u32(nlh, VDIRT_A_DIGEST_SIZE, i->digest_size);
	mnl_attr_put_strz(nlh, VDIRT_A_HASH_NAME, i->hash_name);
	mnl_attr_put_u64(nlh, VDIRT_A_NR_CLUSTERS, i->nr_clusters);
	return vnl_talk(v, nlh, load_id_cb, id);
}

int vload(struct vnl *v, const char *dev, const struct vb_file *f,
	  volatile sig_atomic_t *stop, struct vload_res *res)
{
	char buf[VDIRT_CHUNK_MAX + 1024];
	long stop_after = env_long("VDIRTCTL_TEST_STOP_AFTER");
	long pause_after = env_long("VDIRTCTL_TEST_PAUSE_AFTER");
	const uint32_t ds = f->info.digest_size;
	const uint64_t per = VDIRT_CHUNK_MAX / ds;
	struct nlmsghdr *nlh;
	long chunks = 0;
	uint64_t c;
	int r;

	memset(res, 0, sizeof(*res));
	res->step = VL_BEGIN;
	r = load_begin(v, buf, dev, &f->info, &res->load_id);
	if (r)
		return r;
	vlog(VLOG_DEBUG, "load id %u", res->load_id);
	res->step = VL_CHUNK;
	for (c = 0; c < f->info.nr_clusters; c += per) {
		uint64_t n = f->info.nr_clusters - c < per ? f->info.nr_clusters - c : per;

		res->cluster = c;
		if (pause_after >= 0 && chunks == pause_after) {
			vlog(VLOG_DEBUG, "pausing after %ld chunks (VDIRTCTL_TEST_PAUSE_AFTER)",
			     chunks);
			while (!*stop)
				pause();
		}
		if (stop_after >= 0 && chunks >= stop_after) {
			vlog(VLOG_ERR, "stopping after %ld chunks (VDIRTCTL_TEST_STOP_AFTER)", chunks);
			return -EINTR;
		}
		if (*stop)
			return -EINTR;
		nlh = vnl_msg(v, buf, VDIRT_CMD_BASELINE_CHUNK, 0);
		vnl_put_dev(nlh, dev);
		mnl_attr_put_u32(nlh, VDIRT_A_LOAD_ID, res->load_id);
		mnl_attr_put_u64(nlh, VDIRT_A_FIRST_CLUSTER, c);
		mnl_attr_put(nlh, VDIRT_A_DIGESTS, n * ds, f->digests + c * ds);
		r = vnl_talk(v, nlh, NULL, NULL);
		if (r)
			return r;
		chunks++;
	}
	res->step = VL_COMMIT;
	nlh = vnl_msg(v, buf, VDIRT_CMD_BASELINE_COMMIT, 0);
	vnl_put_dev(nlh, dev);
	mnl_attr_put_u32(nlh, VDIRT_A_LOAD_ID, res->load_id);
	return vnl_talk(v, nlh, change_id_cb, &res->change_id);
}
