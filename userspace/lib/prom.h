/* SPDX-License-Identifier: GPL-2.0 */
/* vdirtctl: Prometheus node_exporter textfile metrics (monitor --prometheus-textfile) */
#ifndef VDIRTCTL_PROM_H
#define VDIRTCTL_PROM_H

#include <stdint.h>
#include <stdio.h>

/*
 * One device, as DEV_GET (and the status line) give it.  Every series of a
 * device has the labels device="dm-N" (kname: the kernel's name, as
 * node_exporter's node_disk_* have it) and name="NAME" (the dm name).
 */
struct vprom_dev {
	const char *name;	/* the dm name */
	const char *kname;	/* the kernel's name, "dm-N" */
	/* vdirt_device_info's labels (NULL: an empty value) */
	const char *uuid, *hash, *mode, *data_device;
	uint32_t cluster_size;
	int read_verify, fail_open;
	int state;		/* VDIRT_GENL_STATE_*: 0 ok, 1 degraded, 2 failed */
	uint64_t read_mismatches, write_drift, reads_verified;
	uint64_t measured, baselined, meta_errors, events_lost;
	uint64_t clusters, tofu, unaligned;
	int scan_running;
	uint64_t scan_done;			/* clusters the running scan did */
	uint64_t recovery_done, recovery_total;	/* total 0: not recovering */
};

/* the exposition text for n devices, written at now_ns (wall clock); 0 or -errno */
int vprom_format(FILE *f, const struct vprom_dev *d, int n, uint64_t now_ns);
/* write it to path atomically (path.tmp, fsync, rename); 0 or -errno */
int vprom_write(const char *path, const struct vprom_dev *d, int n, uint64_t now_ns);

#endif
