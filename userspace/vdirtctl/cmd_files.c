// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl files: which partition, filesystem block and file (path, inode,
 * byte range) each cluster of a dm-vdirt device, block device or image is,
 * through files_annotate() (common.c) and lib/files.c (libtsk).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cmd.h"
#include "format.h"
#include "json.h"
#include "util.h"

/* the cluster size of dev when it is a dm-vdirt device (asked quietly), else 0 */
static uint32_t dev_cluster_size(const char *dev)
{
	struct vdev_info d;
	char id[64];
	struct stat st;
	struct vnl v;
	uint32_t cs = 0;

	if (!stat(dev, &st) && S_ISBLK(st.st_mode))
		snprintf(id, sizeof(id), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	else if (!strchr(dev, '/') && stat(dev, &st))
		snprintf(id, sizeof(id), "%s", dev);
	else
		return 0;	/* an image file */
	if (!vnl_open(&v) && !vnl_dev_get(&v, id, &d))
		cs = d.cluster_size;
	vnl_close(&v);
	return cs;
}

/* the clusters: the arguments, "-" reading whitespace-separated numbers from stdin */
static int get_clusters(int argc, char **argv, uint64_t **out, size_t *n)
{
	size_t alloc = 0;
	uint64_t *c = NULL, x;
	char word[32];
	int i, r = 0;

	*n = 0;
	for (i = 0; i < argc && !r; i++) {
		int from_stdin = !strcmp(argv[i], "-");

		for (;;) {
			const char *s = argv[i];

			if (from_stdin) {
				if (scanf("%31s", word) != 1)
					break;
				s = word;
			}
			if (parse_u64(s, &x)) {
				err("'%s': not a cluster number", s);
				r = EXIT_USAGE;
				break;
			}
			if (*n == alloc) {
				uint64_t *nc;

				alloc = alloc ? alloc * 2 : 64;
				nc = realloc(c, alloc * sizeof(*c));
				if (!nc) {
					r = -ENOMEM;
					break;
				}
				c = nc;
			}
			c[(*n)++] = x;
			if (!from_stdin)
				break;
		}
	}
	if (!r && !*n) {
		err("no clusters given");
		r = EXIT_USAGE;
	}
	if (r)
		free(c);
	else
		*out = c;
	return r;
}

struct files_arg {
	const uint64_t *cl;
	struct vjson_list jl;
	int started;
};

static int files_cb(size_t i, struct json_object *a, void *arg)
{
	struct files_arg *fa = arg;
	char prefix[48];

	if (o.json) {
		if (!fa->started++)
			vjson_list_begin(&fa->jl, stdout);
		return vjson_list_add(&fa->jl, a);
	}
	snprintf(prefix, sizeof(prefix), "cluster %" PRIu64 ": ", fa->cl[i]);
	files_print(a, prefix);
	json_object_put(a);
	return 0;
}

int cmd_files(int argc, char **argv)
{
	struct files_arg fa = { 0 };
	uint64_t *cl;
	uint32_t cs;
	size_t n;
	int r;

	r = get_clusters(argc - 1, argv + 1, &cl, &n);
	if (r)
		return r;
	cs = o.cluster_size ? o.cluster_size : dev_cluster_size(argv[0]);
	if (!cs)
		cs = VDIRT_DEFAULT_CLUSTER;
	if (o.cluster_size && check_cluster(cs)) {
		free(cl);
		return -EINVAL;
	}
	dbg("files: %s, cluster size %u, %zu cluster(s)", argv[0], cs, n);
	fa.cl = cl;
	r = files_annotate(argv[0], cs, cl, n, files_cb, &fa);
	if (fa.started)
		vjson_list_end(&fa.jl);
	free(cl);
	return r;
}
