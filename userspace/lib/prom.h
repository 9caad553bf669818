/* SPDX-License-Identifier: GPL-2.0 */
/* vdirtctl: Prometheus node_exporter textfile metrics (monitor --prometheus-textfile) */
#ifndef VDIRTCTL_PROM_H
#define VDIRTCTL_PROM_H

#include <stdint.h>
#include <stdio.h>

/* one device's counters, as DEV_GET (and the status line) give them */
struct vprom_dev {
	const char *name;
	int state;		/* VDIRT_GENL_STATE_*: 0 ok, 1 degraded, 2 failed */
	uint64_t read_mismatches, write_drift, reads_verified;
	uint64_t measured, baselined, meta_errors, events_lost;
};

/* the exposition text for n devices; 0 or -errno */
int vprom_format(FILE *f, const struct vprom_dev *d, int n);
/* write it to path atomically (path.tmp, fsync, rename); 0 or -errno */
int vprom_write(const char *path, const struct vprom_dev *d, int n);

#endif
