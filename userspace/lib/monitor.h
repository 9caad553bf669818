/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvdirt: the monitor daemon (vdirtctl monitor): every mismatch record of
 * the watched devices exactly once, from events, with the gaps filled from
 * dumps; to the journal, or to the caller; Prometheus textfile metrics.
 */
#ifndef VDIRTCTL_MONITOR_H
#define VDIRTCTL_MONITOR_H

#include <signal.h>
#include <stdint.h>
#include "journal.h"

struct vmon_req {
	char **names;		/* the devices to watch, or none (nnames 0): every device */
	int nnames;
	uint64_t count;		/* stop after that many records, 0: never */
	int journal;		/* records to the journal (falls back to emit) */
	const char *prom;	/* textfile metrics path, or NULL */
	uint64_t interval;	/* seconds between textfile refreshes */
	/*
	 * a record for the caller to print, with what the monitor knows of its
	 * device (cluster size, hash, uuid, mode, data device); source "event"
	 * or "dump"
	 */
	void (*emit)(void *arg, const struct vrec *r, const struct vj_dev *d, const char *source);
	void *arg;
	volatile sig_atomic_t *stop;
};

/* run until count records, a signal (stop) or an error; 0 or -errno */
int vmon_run(const struct vmon_req *q);

#endif
