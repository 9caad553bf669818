// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl purge: every cluster of a zero_unwritten device unwritten (the
 * message "purge", one superblock commit in the kernel); --wait polls the
 * status until the background walk (purge=POS/TOTAL) is done (purge=-).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "dm.h"
#include "json.h"
#include "util.h"

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* why the message failed, in words; r returned */
static int purge_error(const char *dev, int r)
{
	switch (-r) {
	case EOPNOTSUPP:
		err("%s: purge needs the zero_unwritten table argument (vdirtctl open "
		    "--zero-unwritten)", dev);
		break;
	case EBUSY:
		err("%s: busy: a baseline change or load, a purge walk, an attestation root or "
		    "metadata snapshot, or crash recovery is running; try again when it is done",
		    dev);
		break;
	case EROFS:
		err("%s: a read-only table: nothing can be purged", dev);
		break;
	case EIO:
		err("%s: the device failed (status state=): nothing was purged", dev);
		break;
	case EINVAL:
		err("%s: the module refused the message 'purge' (target version 1.6.0 or later "
		    "knows it; the kernel log says why)", dev);
		break;
	default:
		err("%s: purge: %s", dev, vdm_strerror(r));
	}
	return r;
}

/* poll the status every 100 ms until purge=-; 0, or -errno having said why */
static int purge_wait(const char *dev)
{
	int show = show_progress(), shown = 0, r;
	uint64_t pos = 0, total = 0;
	char st[32], val[64];
	struct vdm_dev d;

	for (;;) {
		r = vdm_get(dev, &d);
		if (r) {
			err("%s: %s", dev, vdm_strerror(r));
			return r;
		}
		if (status_get(d.status, "state", st, sizeof(st)))
			snprintf(st, sizeof(st), "?");
		r = status_get(d.status, "purge", val, sizeof(val));
		vdm_put(&d);
		if (strcmp(st, "ok")) {
			if (shown)
				fputc('\n', stderr);
			err("%s: the device is %s, not ok: the purge walk did not complete (the "
			    "kernel log says why)", dev, st);
			return -EIO;
		}
		if (r) {
			err("%s: the status has no purge= field (target version 1.6.0 or later)", dev);
			return -EPROTONOSUPPORT;
		}
		r = vpurge_parse(val, &pos, &total);
		if (r < 0) {
			err("%s: cannot read the status field purge=%s", dev, val);
			return -EBADMSG;
		}
		if (!r)
			break;
		if (show) {
			progress("purge", pos, total, 0);
			shown = 1;
		}
		if (interrupted) {
			if (shown)
				fputc('\n', stderr);
			err("%s: interrupted: the purge walk goes on in the kernel (status purge=)",
			    dev);
			return -EINTR;
		}
		usleep(100000);
	}
	if (shown)
		progress("purge", total, total, 1);
	return 0;
}

/*
 * The message; with --wait, a device busy with something that ends (the
 * root of an epoch epoch_new just closed, a baseline change, crash
 * recovery) is asked again every 200 ms until it is not, or a signal
 */
static int purge_send(const char *dev)
{
	int r, said = 0;

	for (;;) {
		r = vdm_message(dev, "purge", NULL, 0);
		if (r != -EBUSY || !o.wait)
			return r;
		if (!said && !o.quiet)
			fprintf(stderr, "%s: busy (an attestation root, a baseline change or load, "
				"a purge walk, or crash recovery): waiting for it to end\n", dev);
		said = 1;
		if (interrupted)
			return -EINTR;
		usleep(200000);
	}
}

int cmd_purge(int argc, char **argv)
{
	struct vdm_dev d;
	double t0, t;
	int r;

	(void)argc;
	r = vdm_get(argv[0], &d);
	if (r == -EINVAL)
		err("%s is not a vdirt device", argv[0]);
	else if (r)
		err("%s: %s", argv[0], vdm_strerror(r));
	if (r)
		return r;
	vdm_put(&d);
	t0 = mono_s();
	r = purge_send(argv[0]);
	if (r)
		return purge_error(argv[0], r);
	if (o.wait) {
		r = purge_wait(argv[0]);
		if (r)
			return r;
	}
	t = mono_s() - t0;
	if (o.json) {
		struct json_object *j = json_object_new_object();

		vjson_add_str(j, "name", argv[0]);
		vjson_add_bool(j, "waited", o.wait);
		json_object_object_add(j, "seconds", json_object_new_double(t));
		return vjson_print(stdout, j, "\n");
	}
	if (!o.quiet)
		printf("%s: purged in %.3f s%s\n", argv[0], t,
		       o.wait ? " (walk done)" : "; the walk goes on (status purge=)");
	return 0;
}
