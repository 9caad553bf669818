// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: the monitor daemon.  It joins the events group first, then
 * learns where each device's records stand, so nothing is missed; a
 * sequence gap (a receive buffer overrun, a rate-limited event) is filled
 * from a MISMATCH_GET dump, records gone before they could be read are
 * reported as a gap record.  Idle for a second, it compares each device's
 * log head with what it emitted.  --prometheus-textfile rewrites the
 * metrics after events and every interval.  Testing aids:
 * VDIRTCTL_TEST_RCVBUF (socket buffer), VDIRTCTL_TEST_SLOW_MS (a slow
 * reader), VDIRTCTL_TEST_MONITOR_READY (a file created once listening).
 *
 * Each device's journal entries and metrics also say which metadata (its
 * uuid), the mode and the data device (major:minor from the dm table,
 * through libdevmapper; its name from sysfs), as last seen: when the
 * device was found, and again every idle second and every textfile write.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm.h"
#include "monitor.h"
#include "nl.h"
#include "prom.h"
#include "util.h"

#define MON_MAX 64

/* what the journal entries and the metrics say of a device besides its name */
struct mon_info {
	char hash[64];
	char uuid[33];		/* hex, "" when the kernel gives none */
	const char *mode;	/* "audit", "enforce" */
	char data_devno[24];	/* "major:minor" of the data device, "" unknown */
	char data_path[VDIRT_DEV_NAME_MAX + 16];	/* /dev/mapper/NAME, /dev/KNAME */
	char data_kname[64];	/* its kernel name: vda, sdb1, dm-2 */
};

struct mon_dev {
	char name[VDIRT_DEV_NAME_MAX];
	uint32_t major, minor;
	uint64_t next;		/* next record number expected */
	uint32_t cs;
	struct mon_info info;
};

/* the strings a textfile's device points to */
struct mon_prom_buf {
	char name[VDIRT_DEV_NAME_MAX];
	char kname[24];
	struct mon_info info;
};

struct mon {
	const struct vmon_req *q;
	int journal;		/* q->journal, until the journal fails */
	struct vnl ctl;		/* for dumps */
	struct mon_dev dev[MON_MAX];
	int ndev;
	uint64_t printed;
	uint64_t gaps;		/* sequence gaps filled from dumps */
	uint64_t lost;		/* records gone before we could read them */
	int journal_errors;
	/* --prometheus-textfile */
	struct vprom_dev prom[MON_MAX];
	struct mon_prom_buf prom_buf[MON_MAX];
	int nprom;
	int prom_dirty;		/* an event since the last write */
	uint64_t prom_next;	/* next periodic write, ns (CLOCK_MONOTONIC) */
	int prom_err;		/* last write's error, reported once */
};

static struct mon_dev *mon_find(struct mon *m, const char *name)
{
	int i;

	for (i = 0; i < m->ndev; i++)
		if (!strcmp(m->dev[i].name, name))
			return &m->dev[i];
	return NULL;
}

static int mon_wanted(struct mon *m, const char *name)
{
	int i;

	if (!m->q->nnames)
		return 1;
	for (i = 0; i < m->q->nnames; i++)
		if (!strcmp(m->q->names[i], name))
			return 1;
	return 0;
}

/*
 * The data device of vdirt device name, from its table's first argument
 * (the kernel prints it as major:minor): its number, a /dev path
 * (/dev/mapper/NAME for a dm device) and its kernel name.  Left empty
 * when the table cannot be read: no /dev/mapper/control in the sandbox
 * (asked first, so that libdevmapper does not log an error each second).
 */
static void mon_data_dev(const char *name, struct mon_info *in)
{
	static int warned;
	char link[PATH_MAX], p[96], dmname[VDIRT_DEV_NAME_MAX], *k;
	unsigned int maj, min;
	struct vdm_dev d;
	ssize_t l;
	FILE *f;
	int r;

	in->data_devno[0] = in->data_path[0] = in->data_kname[0] = 0;
	if (access("/dev/mapper/control", R_OK | W_OK)) {
		if (!warned++)
			vlog(VLOG_DEBUG, "monitor: /dev/mapper/control: %s: no data devices",
			     strerror(errno));
		return;
	}
	r = vdm_get(name, &d);
	if (r) {
		vlog(VLOG_DEBUG, "monitor: %s: no table: %s", name, vdm_strerror(r));
		return;
	}
	r = sscanf(d.table, "%u:%u ", &maj, &min);
	vdm_put(&d);
	if (r != 2)
		return;
	snprintf(in->data_devno, sizeof(in->data_devno), "%u:%u", maj, min);
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u", maj, min);
	l = readlink(p, link, sizeof(link) - 1);
	if (l <= 0)
		return;
	link[l] = 0;
	k = strrchr(link, '/');
	snprintf(in->data_kname, sizeof(in->data_kname), "%.63s", k ? k + 1 : link);
	/* a dm data device by its dm name, others by their node ("!" is a "/") */
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/dm/name", maj, min);
	f = fopen(p, "re");
	if (f && fgets(dmname, sizeof(dmname), f)) {
		dmname[strcspn(dmname, "\n")] = 0;
		snprintf(in->data_path, sizeof(in->data_path), "/dev/mapper/%s", dmname);
	} else {
		snprintf(in->data_path, sizeof(in->data_path), "/dev/%s", in->data_kname);
		for (k = in->data_path; *k; k++)
			if (*k == '!')
				*k = '/';
	}
	if (f)
		fclose(f);
}

/* a device's uuid, hash and mode (DEV_GET), and its data device */
static void mon_info(const struct vdev_info *d, struct mon_info *in)
{
	static const uint8_t zero[16];

	snprintf(in->hash, sizeof(in->hash), "%s", d->hash);
	in->uuid[0] = 0;
	if (memcmp(d->uuid, zero, 16))
		hex(in->uuid, d->uuid, 16);
	in->mode = d->enforce ? "enforce" : "audit";
	mon_data_dev(d->name, in);
}

static void mon_jdev(const struct mon_dev *md, struct vj_dev *j)
{
	j->cluster_size = md->cs;
	j->hash = md->info.hash;
	j->uuid = md->info.uuid;
	j->mode = md->info.mode;
	j->data_device = md->info.data_path;
	j->data_devno = md->info.data_devno;
}

/* watch a device from record number next on; NULL when there are too many */
static struct mon_dev *mon_add(struct mon *m, const struct vdev_info *d, uint64_t next)
{
	struct mon_dev *md;

	if (m->ndev >= MON_MAX) {
		vlog(VLOG_ERR, "monitor: more than %d devices, not watching %s", MON_MAX, d->name);
		return NULL;
	}
	md = &m->dev[m->ndev++];
	snprintf(md->name, sizeof(md->name), "%s", d->name);
	mon_info(d, &md->info);
	md->major = d->major;
	md->minor = d->minor;
	md->cs = d->cluster_size;
	md->next = next;
	return md;
}

static int mon_list_cb(const struct vdev_info *d, void *arg)
{
	struct mon *m = arg;

	if (!mon_wanted(m, d->name) || mon_find(m, d->name))
		return 0;
	if (mon_add(m, d, d->log_head))
		vlog(VLOG_DEBUG, "monitor: %s from record %" PRIu64, d->name, d->log_head);
	return 0;
}

static int mon_done(struct mon *m)
{
	return m->q->count && m->printed >= m->q->count;
}

static int stopped(struct mon *m)
{
	return m->q->stop && *m->q->stop;
}

/* one record out: to the journal (--journal) or the caller */
static void mon_emit(struct mon *m, struct mon_dev *md, const struct vrec *r,
		     const char *source)
{
	struct vj_dev j;
	int e;

	m->prom_dirty = 1;
	if (r->kind != VREC_KIND_GAP)
		m->printed++;
	mon_jdev(md, &j);
	if (m->journal) {
		e = vj_send(r, &j);
		if (!e)
			return;
		if (!m->journal_errors++)
			vlog(VLOG_ERR, "journal: %s; printing events on stdout", strerror(-e));
	}
	if (r->kind == VREC_KIND_GAP)
		vlog(VLOG_ERR, "%s: %" PRIu64 " mismatch records lost from record %" PRIu64
		     " (overwritten or cleared before the monitor read them)", r->dev, r->aux[0],
		     r->seq);
	else
		m->q->emit(m->q->arg, r, &j, source);
}

/* records [md->next, upto) are gone (the ring wrapped, or a clear) */
static void mon_gap(struct mon *m, struct mon_dev *md, uint64_t upto)
{
	struct vrec g;

	memset(&g, 0, sizeof(g));
	snprintf(g.dev, sizeof(g.dev), "%s", md->name);
	g.major = md->major;
	g.minor = md->minor;
	g.kind = VREC_KIND_GAP;
	g.seq = md->next;
	g.aux[0] = upto - md->next;
	g.time = now_ns();
	m->lost += g.aux[0];
	mon_emit(m, md, &g, NULL);
	md->next = upto;
}

struct fill_arg {
	struct mon *m;
	struct mon_dev *md;
};

static int mon_dump_rec(const struct vrec *r, void *arg)
{
	struct fill_arg *a = arg;

	if (mon_done(a->m) || r->rec_seq < a->md->next)
		return 0;	/* enough, or already printed */
	if (r->rec_seq > a->md->next)
		mon_gap(a->m, a->md, r->rec_seq);
	mon_emit(a->m, a->md, r, "dump");
	a->md->next = r->rec_seq + 1;
	return 0;
}

/* print records from md->next on from a dump */
static int mon_fill(struct mon *m, struct mon_dev *md)
{
	struct fill_arg a = { m, md };

	vlog(VLOG_DEBUG, "monitor: filling %s from record %" PRIu64, md->name, md->next);
	return vnl_dump_records(&m->ctl, md->name, md->next, mon_dump_rec, &a);
}

static int mon_event_cb(const struct nlattr **tb, void *arg)
{
	struct mon *m = arg;
	struct mon_dev *md;
	struct vrec r;
	int ret;

	vnl_rec_fill(tb, &r);
	if (!mon_wanted(m, r.dev))
		return 0;
	md = mon_find(m, r.dev);
	if (!md) {
		struct vdev_info d;

		/* a device that appeared after we started: from its first stored record */
		if (vnl_dev_get(&m->ctl, r.dev, &d))
			return 0;
		md = mon_add(m, &d, d.log_first);
		if (!md)
			return 0;
		vlog(VLOG_DEBUG, "monitor: new device %s from record %" PRIu64, d.name,
		     d.log_first);
	}
	if (r.seq < md->next)
		return 0;	/* already printed from a dump */
	if (r.seq > md->next) {
		m->gaps++;
		vlog(VLOG_DEBUG, "monitor: %s: gap, expected record %" PRIu64 ", got %" PRIu64,
		     r.dev, md->next, r.seq);
		ret = mon_fill(m, md);
		if (ret)
			return ret;
		if (mon_done(m))
			return 1;
		if (r.seq < md->next)
			return 0;
		if (r.seq > md->next)
			mon_gap(m, md, r.seq);
	}
	mon_emit(m, md, &r, "event");
	md->next = r.seq + 1;
	return mon_done(m) ? 1 : 0;
}

static int mon_idle_check(struct mon *m)
{
	struct vdev_info d;
	int i, r;

	for (i = 0; i < m->ndev && !mon_done(m); i++) {
		if (vnl_dev_get(&m->ctl, m->dev[i].name, &d))
			continue;	/* removed meanwhile */
		m->dev[i].cs = d.cluster_size;	/* a reload may have changed the metadata */
		mon_info(&d, &m->dev[i].info);
		if (d.log_head > m->dev[i].next) {
			m->gaps++;
			vlog(VLOG_DEBUG, "monitor: %s: log head %" PRIu64 " beyond %" PRIu64
			     ", filling", m->dev[i].name, d.log_head, m->dev[i].next);
			r = mon_fill(m, &m->dev[i]);
			if (r)
				return r;
		}
	}
	return 0;
}

static int mon_prom_cb(const struct vdev_info *d, void *arg)
{
	struct mon *m = arg;
	struct mon_prom_buf *b;
	struct mon_dev *md;
	struct vprom_dev *p;

	if (!mon_wanted(m, d->name) || m->nprom >= MON_MAX)
		return 0;
	p = &m->prom[m->nprom];
	b = &m->prom_buf[m->nprom++];
	memset(p, 0, sizeof(*p));
	snprintf(b->name, sizeof(b->name), "%s", d->name);
	/* device-mapper names its disks dm-<minor> */
	snprintf(b->kname, sizeof(b->kname), "dm-%u", d->minor);
	mon_info(d, &b->info);
	md = mon_find(m, d->name);
	if (md)
		md->info = b->info;
	p->name = b->name;
	p->kname = b->kname;
	p->uuid = b->info.uuid;
	p->hash = b->info.hash;
	p->mode = b->info.mode;
	p->data_device = b->info.data_kname;
	p->cluster_size = d->cluster_size;
	p->read_verify = d->read_verify;
	p->fail_open = d->fail_open;
	p->state = d->state;
	p->read_mismatches = d->read_mismatches;
	p->write_drift = d->write_drift;
	p->reads_verified = d->reads_verified;
	p->measured = d->measured;
	p->baselined = d->baselined;
	p->meta_errors = d->meta_errors;
	p->events_lost = d->events_dropped;
	p->clusters = d->nr_clusters;
	p->tofu = d->tofu;
	p->unaligned = d->unaligned;
	p->scan_running = !!d->scan_running;
	p->scan_done = d->scan_running ? d->scan_pos : 0;
	p->recovery_total = d->recover_total;
	p->recovery_done = d->recover_total ? d->recover_pos : 0;
	return 0;
}

/* --prometheus-textfile: every device's counters, now; 0 or -errno */
static int mon_prom(struct mon *m)
{
	const char *path = m->q->prom;
	int r;

	m->nprom = 0;
	m->prom_dirty = 0;
	m->prom_next = mono_ns() + m->q->interval * 1000000000ULL;
	r = vnl_dev_list(&m->ctl, mon_prom_cb, m);
	if (!r)
		r = vprom_write(path, m->prom, m->nprom, now_ns());
	if (r && r != m->prom_err)
		vlog(VLOG_ERR, "%s: cannot write the metrics: %s", path, strerror(-r));
	else if (!r && m->prom_err)
		vlog(VLOG_ERR, "%s: written again", path);
	m->prom_err = r;
	vlog(VLOG_DEBUG, "monitor: %d devices' metrics to %s: %d", m->nprom, path, r);
	return r;
}

/* the socket overflowed: fill every device from its dump */
static int mon_overrun(struct mon *m)
{
	int i, r;

	m->gaps++;
	vlog(VLOG_DEBUG, "monitor: receive buffer overrun, filling from dumps");
	for (i = 0; i < m->ndev && !mon_done(m); i++) {
		r = mon_fill(m, &m->dev[i]);
		if (r)
			return r;
	}
	return 0;
}

static int mon_loop(struct mon *m, struct vnl *ev)
{
	const char *slow = getenv("VDIRTCTL_TEST_SLOW_MS");
	int r = 0;

	/* subscribed and filled: ready (Type=notify); the watchdog each second at least */
	vj_notify("READY=1");
	while (!mon_done(m) && !stopped(m)) {
		struct pollfd pfd = { .fd = mnl_socket_get_fd(ev->nl), .events = POLLIN };

		vj_notify("WATCHDOG=1");
		if (slow)	/* testing aid: a slow reader */
			usleep(atoi(slow) * 1000);
		/*
		 * Idle for a second: events lost silently (dropped by the rate
		 * limit, or while the socket was still congested after an
		 * overrun) show as a log head beyond what we printed.
		 */
		if (m->q->prom && (m->prom_dirty || mono_ns() >= m->prom_next))
			mon_prom(m);
		r = poll(&pfd, 1, 1000);
		if (r < 0 && errno == EINTR) {
			r = 0;
			continue;	/* a signal: the loop condition decides */
		}
		if (r == 0) {
			r = mon_idle_check(m);
			if (r)
				break;
			continue;
		}
		r = vnl_recv_events(ev, mon_event_cb, m);
		if (r == 1) {
			r = 0;
			break;
		}
		if (r == -ENOBUFS) {
			r = mon_overrun(m);
			if (r)
				return r;
			continue;
		}
		if (r == -EINTR) {
			r = 0;
			continue;
		}
		if (r)
			break;
	}
	if (stopped(m) && !r)
		r = 0;
	if (m->q->prom && m->prom_dirty)
		mon_prom(m);
	vlog(VLOG_DEBUG, "monitor: %" PRIu64 " printed, %" PRIu64 " gaps filled, %" PRIu64
	     " records lost", m->printed, m->gaps, m->lost);
	return r;
}

/* join, learn the devices, say ready; 0 or -errno */
static int mon_start(struct mon *m, struct vnl *ev)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	const char *t = getenv("VDIRTCTL_TEST_RCVBUF");
	int sz = t ? atoi(t) : 4 << 20;	/* testing aid: a tiny buffer forces overruns */
	struct nlmsghdr *nlh;
	int r, i;

	/* join first, then learn where each device's records stand: nothing is missed */
	r = vnl_join_events(ev);
	if (r) {
		vlog(VLOG_ERR, "cannot subscribe to events: %s", strerror(-r));
		return r;
	}
	setsockopt(mnl_socket_get_fd(ev->nl), SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	r = vnl_dev_list(&m->ctl, mon_list_cb, m);
	if (r) {
		vlog(VLOG_ERR, "cannot list devices: %s", strerror(-r));
		return r;
	}
	for (i = 0; i < m->q->nnames; i++)
		if (!mon_find(m, m->q->names[i])) {
			vlog(VLOG_ERR, "%s: no such vdirt device", m->q->names[i]);
			return -ENODEV;
		}
	/* a textfile that cannot be written is a configuration error: say so now */
	if (m->q->prom) {
		r = mon_prom(m);
		if (r)
			return r;
	}
	if (getenv("VDIRTCTL_TEST_MONITOR_READY"))
		close(open(getenv("VDIRTCTL_TEST_MONITOR_READY"), O_WRONLY | O_CREAT | O_CLOEXEC,
			   0600));
	/* kernels that cannot restrict the group unicast to subscribers */
	nlh = vnl_msg(&m->ctl, buf, VDIRT_CMD_EVENTS_SUBSCRIBE, 0);
	nlh->nlmsg_seq = ++ev->seq;
	nlh->nlmsg_flags &= ~NLM_F_ACK;
	mnl_socket_sendto(ev->nl, nlh, nlh->nlmsg_len);
	return 0;
}

int vmon_run(const struct vmon_req *q)
{
	struct vnl ev;
	struct mon *m;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->q = q;
	m->journal = q->journal;
	r = vnl_open(&ev);
	if (r)
		goto out_ev;
	r = vnl_open(&m->ctl);
	if (r)
		goto out;
	r = mon_start(m, &ev);
	if (!r)
		r = mon_loop(m, &ev);
out:
	vnl_close(&m->ctl);
out_ev:
	vnl_close(&ev);
	free(m);
	return r;
}
