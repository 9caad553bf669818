/* SPDX-License-Identifier: GPL-2.0 */
/* libvdirt: loading a baseline file into a device over netlink (baseline load) */
#ifndef VDIRTCTL_LOAD_H
#define VDIRTCTL_LOAD_H

#include <signal.h>
#include <stdint.h>
#include "baseline.h"
#include "nl.h"

enum vload_step { VL_BEGIN, VL_CHUNK, VL_COMMIT };

struct vload_res {
	enum vload_step step;	/* where it failed */
	uint32_t load_id;
	uint64_t cluster;	/* VL_CHUNK: the first cluster of the chunk refused */
	uint64_t change_id;	/* the commit's baseline change (wait for its end), 0 none */
};

/* does the file fit the device (cluster size, hash, digest size, clusters)? */
int vload_fits(const struct vdev_info *d, const struct vb_info *f);

/*
 * BASELINE_BEGIN, the digests in chunks in cluster order, BASELINE_COMMIT;
 * stop (set by a signal handler): -EINTR before the next chunk.  A load
 * not committed is aborted by the kernel when v is closed.  0 or -errno.
 */
int vload(struct vnl *v, const char *dev, const struct vb_file *f,
	  volatile sig_atomic_t *stop, struct vload_res *res);

#endif
