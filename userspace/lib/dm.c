// SPDX-License-Identifier: GPL-2.0
/* libvdirt: device-mapper through libdevmapper, with udev cookies; its log to vlog() */
#include <errno.h>
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

/* dm_task_create() fails before any ioctl when the control node cannot be opened */
static int create_errno(void)
{
	if (access("/dev/mapper/control", R_OK | W_OK) && (errno == EACCES || errno == EPERM))
		return -EACCES;
	return -ENOMEM;
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

int vdm_create(const char *name, uint64_t len, const char *params)
{
	struct dm_task *dmt;

	vlog(VLOG_DEBUG, "dm create %s: 0 %llu vdirt %s", name, (unsigned long long)len, params);
	dmt = dm_task_create(DM_DEVICE_CREATE);
	if (!dmt)
		return create_errno();
	return run_udev(dmt, dm_task_set_name(dmt, name) &&
			dm_task_add_target(dmt, 0, len, "vdirt", params));
}

int vdm_remove(const char *name)
{
	struct dm_task *dmt;

	vlog(VLOG_DEBUG, "dm remove %s", name);
	dmt = dm_task_create(DM_DEVICE_REMOVE);
	if (!dmt)
		return create_errno();
	return run_udev(dmt, dm_task_set_name(dmt, name) && dm_task_retry_remove(dmt));
}

int vdm_message(const char *name, const char *msg, char *resp, size_t len)
{
	struct dm_task *dmt;
	const char *res;
	int r = 0;

	vlog(VLOG_DEBUG, "dm message %s 0 %s", name, msg);
	dmt = dm_task_create(DM_DEVICE_TARGET_MSG);
	if (!dmt)
		return create_errno();
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

	dmt = dm_task_create(type);
	if (!dmt)
		return create_errno();
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
		struct dm_task *dmt = dm_task_create(DM_DEVICE_INFO);

		if (!dmt)
			return create_errno();
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

	dmt = dm_task_create(DM_DEVICE_LIST);
	if (!dmt)
		return create_errno();
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

	dmt = dm_task_create(DM_DEVICE_LIST_VERSIONS);
	if (!dmt)
		return create_errno();
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
