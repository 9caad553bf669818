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
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor.h"
#include "nl.h"
#include "prom.h"
#include "util.h"

#define MON_MAX 64
struct mon_dev {
	char name[VDIRT_DEV_NAME_MAX];
	char hash[64];
	uint32_t major, minor;
	uint64_t next;		/* next record number expected */
	uint32_t cs;
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
	char prom_name[MON_MAX][VDIRT_DEV_NAME_MAX];
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
	snprintf(md->hash, sizeof(md->hash), "%s", d->hash);
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
	int e;

	m->prom_dirty = 1;
	if (r->kind != VREC_KIND_GAP)
		m->printed++;
	if (m->journal) {
		e = vj_send(r, md->cs, md->hash);
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
		m->q->emit(m->q->arg, r, md->cs, source);
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
	struct vprom_dev *p;

	if (!mon_wanted(m, d->name) || m->nprom >= MON_MAX)
		return 0;
	p = &m->prom[m->nprom];
	snprintf(m->prom_name[m->nprom], sizeof(m->prom_name[0]), "%s", d->name);
	p->name = m->prom_name[m->nprom++];
	p->state = d->state;
	p->read_mismatches = d->read_mismatches;
	p->write_drift = d->write_drift;
	p->reads_verified = d->reads_verified;
	p->measured = d->measured;
	p->baselined = d->baselined;
	p->meta_errors = d->meta_errors;
	p->events_lost = d->events_dropped;
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
		r = vprom_write(path, m->prom, m->nprom);
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
