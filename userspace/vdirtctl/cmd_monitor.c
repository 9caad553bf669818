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

/*
 * A record as monitor --json prints it: rec_json's fields, and the device's
 * metadata uuid, mode and data device (path and major:minor) as the journal
 * entries carry them; the byte offset on the data device of a record that
 * names a cluster.  A field the monitor does not know is left out.
 */
struct json_object *mon_rec_json(const struct vrec *r, const struct vj_dev *d,
				 const char *source)
{
	struct json_object *j = rec_json(r, d->cluster_size, source);

	if (d->uuid && *d->uuid)
		vjson_add_str(j, "uuid", d->uuid);
	if (d->mode && *d->mode)
		vjson_add_str(j, "mode", d->mode);
	if (d->data_device && *d->data_device)
		vjson_add_str(j, "data_device", d->data_device);
	if (d->data_devno && *d->data_devno)
		vjson_add_str(j, "data_devno", d->data_devno);
	if (vrec_names_cluster(r->kind))
		vjson_add_u64(j, "offset", r->cluster * d->cluster_size);
	return j;
}

static void mon_print(void *arg, const struct vrec *r, const struct vj_dev *d,
		      const char *source)
{
	(void)arg;
	if (o.json) {
		vjson_print(stdout, mon_rec_json(r, d, source), "\n");
		fflush(stdout);
	} else {
		print_rec(r, d->cluster_size, source);
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
