// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl monitor: mismatch events as they happen (the daemon is
 * lib/monitor.c; this prints its records, text or one JSON object a line).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "json.h"
#include "monitor.h"

static void mon_print(void *arg, const struct vrec *r, uint32_t cs, const char *source)
{
	(void)arg;
	if (o.json) {
		vjson_print(stdout, rec_json(r, cs, source), "\n");
		fflush(stdout);
	} else {
		print_rec(r, cs, source);
	}
}

int cmd_monitor(int argc, char **argv)
{
	struct vmon_req q;

	if (o.all && argc) {
		err("monitor: --all or device names, not both");
		return EXIT_USAGE;
	}
	memset(&q, 0, sizeof(q));
	q.journal = o.journal;
	if (q.journal && !vj_available()) {
		err("monitor --journal: vdirtctl was built without libsystemd (WITH_JOURNAL=no)");
		return -EOPNOTSUPP;
	}
	/* libsystemd drops entries silently when journald does not run */
	if (q.journal && access(VJ_SOCKET, W_OK)) {
		err("monitor --journal: no journald (%s: %s); printing events on stdout",
		    VJ_SOCKET, strerror(errno));
		q.journal = 0;
	}
	q.names = argv;
	q.nnames = argc;
	q.count = o.count;
	q.prom = o.prom;
	q.interval = o.interval;
	q.emit = mon_print;
	q.stop = &interrupted;
	setvbuf(stdout, NULL, _IOLBF, 0);
	return vmon_run(&q);
}
