// SPDX-License-Identifier: GPL-2.0
/* libvdirt: device-mapper through libdevmapper, with udev cookies; its log to vlog() */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libdevmapper.h>

#include "dm.h"
#include "util.h"

/* libdevmapper's log levels (syslog numbering, lvm2's log.h) */
#define VDM_LOG_STDERR 128
#define VDM_LOG_ONCE 256
#define VDM_LOG_ERR 3
#define VDM_LOG_NOTICE 5

static void dm_log(int level, const char *file, int line, int dm_errno,
		   const char *f, ...) __attribute__((format(printf, 5, 6)));

static void dm_log(int level, const char *file, int line, int dm_errno,
		   const char *f, ...)
{
	char msg[1024];
	va_list ap;

	(void)file; (void)line; (void)dm_errno;
	level &= ~(VDM_LOG_STDERR | VDM_LOG_ONCE);
	va_start(ap, f);
	vsnprintf(msg, sizeof(msg), f, ap);
	va_end(ap);
	vlog(level <= VDM_LOG_ERR ? VLOG_ERR : level <= VDM_LOG_NOTICE ? VLOG_DEBUG : VLOG_DEBUG2,
	     "device-mapper: %s", msg);
}

void vdm_init(void)
{
	dm_log_with_errno_init(dm_log);
}

/*
 * Is there a device-mapper to talk to?  0, -EACCES, or -VDM_ENODM (no
 * driver behind /dev/mapper/control, and none in /proc/misc to create the
 * node for), found before libdevmapper would log four lines and fail with
 * no errno.  Asked again on every call: a module may be loaded meanwhile.
 */
static int dm_available(void)
{
	char line[128];
	int fd, found = 0;
	FILE *f;

	fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno == EACCES || errno == EPERM)
		return -EACCES;
	if (errno != ENOENT)
		return -VDM_ENODM;	/* ENODEV, ENXIO: a node without the driver */
	/* no node: libdevmapper creates it when the kernel lists the driver */
	f = fopen("/proc/misc", "re");
	while (f && !found && fgets(line, sizeof(line), f))
		found = !!strstr(line, " device-mapper");
	if (f)
		fclose(f);
	return found ? 0 : -VDM_ENODM;
}

/* a task, or NULL with *r: -VDM_ENODM, -EACCES or -ENOMEM */
static struct dm_task *task_create(int type, int *r)
{
	struct dm_task *dmt;

	*r = dm_available();
	if (*r)
		return NULL;
	dmt = dm_task_create(type);
	if (!dmt)
		*r = -ENOMEM;
	return dmt;
}

static int dm_errno(struct dm_task *dmt)
{
	int e = dm_task_get_errno(dmt);

	return e ? -e : -EIO;
}

/*
 * Run a create or remove task whose set-up went well (ok) with a udev cookie,
 * wait for udev to settle, and destroy the task.
 */
static int run_udev(struct dm_task *dmt, int ok)
{
	uint32_t cookie = 0;
	int r = -EINVAL;

	if (ok && dm_task_set_cookie(dmt, &cookie, 0)) {
		r = dm_task_run(dmt) ? 0 : dm_errno(dmt);
		dm_udev_wait(cookie);
	}
	dm_task_destroy(dmt);
	return r;
}

const char *vdm_strerror(int r)
{
	return r == -VDM_ENODM ? "device-mapper is not available" : strerror(-r);
}

int vdm_create(const char *name, uint64_t len, const char *params)
{
	struct dm_task *dmt;
	int r;

	vlog(VLOG_DEBUG, "dm create %s: 0 %llu vdirt %s", name, (unsigned long long)len, params);
	dmt = task_create(DM_DEVICE_CREATE, &r);
	if (!dmt)
		return r;
	return run_udev(dmt, dm_task_set_name(dmt, name) &&
			dm_task_add_target(dmt, 0, len, "vdirt", params));
}

int vdm_remove(const char *name)
{
	struct dm_task *dmt;
	int r;

	vlog(VLOG_DEBUG, "dm remove %s", name);
	dmt = task_create(DM_DEVICE_REMOVE, &r);
	if (!dmt)
		return r;
	return run_udev(dmt, dm_task_set_name(dmt, name) && dm_task_retry_remove(dmt));
}

int vdm_message(const char *name, const char *msg, char *resp, size_t len)
{
	struct dm_task *dmt;
	const char *res;
	int r = 0;

	vlog(VLOG_DEBUG, "dm message %s 0 %s", name, msg);
	dmt = task_create(DM_DEVICE_TARGET_MSG, &r);
	if (!dmt)
		return r;
	if (!dm_task_set_name(dmt, name) || !dm_task_set_sector(dmt, 0) ||
	    !dm_task_set_message(dmt, msg)) {
		r = -EINVAL;
		goto out;
	}
	if (!dm_task_run(dmt)) {
		r = dm_errno(dmt);
		goto out;
	}
	res = dm_task_get_message_response(dmt);
	if (len)
		snprintf(resp, len, "%s", res ? res : "");
out:
	dm_task_destroy(dmt);
	return r;
}

/* first target of name with its params, for table or status */
static int get_target(const char *name, int type, struct dm_info *info,
		      uint64_t *start, uint64_t *len, char **ttype, char **params)
{
	struct dm_task *dmt;
	char *tt = NULL, *p = NULL;
	int r = 0;

	dmt = task_create(type, &r);
	if (!dmt)
		return r;
	if (!dm_task_set_name(dmt, name) || !dm_task_no_flush(dmt)) {
		r = -EINVAL;
		goto out;
	}
	if (!dm_task_run(dmt)) {
		r = dm_errno(dmt);
		goto out;
	}
	if (!dm_task_get_info(dmt, info) || !info->exists) {
		r = -ENODEV;
		goto out;
	}
	dm_get_next_target(dmt, NULL, start, len, &tt, &p);
	if (!tt) {
		r = -EINVAL;	/* no table loaded */
		goto out;
	}
	*ttype = strdup(tt);
	*params = strdup(p ? p : "");
	if (!*ttype || !*params) {
		free(*ttype);
		free(*params);
		r = -ENOMEM;
	}
out:
	dm_task_destroy(dmt);
	return r;
}

int vdm_get(const char *name, struct vdm_dev *d)
{
	struct dm_info info;
	char *tt = NULL;
	int r;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	/* DM_DEVICE_INFO reports a missing device quietly */
	{
		struct dm_task *dmt = task_create(DM_DEVICE_INFO, &r);

		if (!dmt)
			return r;
		r = 0;
		if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt))
			r = dm_errno(dmt);
		else if (!dm_task_get_info(dmt, &info) || !info.exists)
			r = -ENODEV;
		dm_task_destroy(dmt);
		if (r)
			return r;
	}
	r = get_target(name, DM_DEVICE_TABLE, &info, &d->start, &d->len, &tt, &d->table);
	if (r)
		return r;
	if (strcmp(tt, "vdirt")) {
		free(tt);
		vdm_put(d);
		return -EINVAL;
	}
	free(tt);
	tt = NULL;
	d->major = info.major;
	d->minor = info.minor;
	d->suspended = info.suspended;
	r = get_target(name, DM_DEVICE_STATUS, &info, &d->start, &d->len, &tt, &d->status);
	free(tt);
	if (r)
		vdm_put(d);
	return r;
}

void vdm_put(struct vdm_dev *d)
{
	free(d->table);
	free(d->status);
	d->table = d->status = NULL;
}

int vdm_list(int (*fn)(struct vdm_dev *d, void *arg), void *arg)
{
	struct dm_task *dmt;
	struct dm_names *n;
	unsigned int next = 0;
	int r = 0;

	dmt = task_create(DM_DEVICE_LIST, &r);
	if (!dmt)
		return r;
	if (!dm_task_run(dmt)) {
		r = dm_errno(dmt);
		goto out;
	}
	n = dm_task_get_names(dmt);
	if (!n || !n->dev)
		goto out;
	do {
		struct vdm_dev d;

		n = (struct dm_names *)((char *)n + next);
		if (!vdm_get(n->name, &d)) {
			r = fn(&d, arg);
			vdm_put(&d);
			if (r)
				break;
		}
		next = n->next;
	} while (next);
out:
	dm_task_destroy(dmt);
	return r;
}


int vdm_target_version(const char *target, uint32_t version[3])
{
	struct dm_versions *t, *last;
	struct dm_task *dmt;
	int r = -ENOENT;

	dmt = task_create(DM_DEVICE_LIST_VERSIONS, &r);
	if (!dmt)
		return r;
	r = -ENOENT;
	if (!dm_task_run(dmt)) {
		r = dm_errno(dmt);
		goto out;
	}
	t = dm_task_get_versions(dmt);
	do {
		if (!strcmp(t->name, target)) {
			memcpy(version, t->version, 3 * sizeof(uint32_t));
			r = 0;
			break;
		}
		last = t;
		t = (void *)((char *)t + t->next);
	} while (last != t);
out:
	dm_task_destroy(dmt);
	return r;
}
