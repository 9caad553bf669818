// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: epochs, changed-block lists and digests with their last write
 * over the "vdirt" netlink family; the epoch_new message through
 * libdevmapper.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "epoch.h"
#include "util.h"

struct ep_arg {
	int (*fn)(const struct vepoch *e, void *arg);
	void *arg;
};

static int epoch_cb(const struct nlattr **tb, void *arg)
{
	struct ep_arg *a = arg;
	struct vepoch e;

	if (!tb[VDIRT_A_EPOCH])
		return -EBADMSG;
	memset(&e, 0, sizeof(e));
	e.epoch = nla_u64(tb, VDIRT_A_EPOCH, 0);
	e.oldest = nla_u64(tb, VDIRT_A_EPOCH_FIRST, 0);
	if (tb[VDIRT_A_EPOCH_LABEL])
		snprintf(e.label, sizeof(e.label), "%s",
			 mnl_attr_get_str(tb[VDIRT_A_EPOCH_LABEL]));
	e.start_ns = nla_u64(tb, VDIRT_A_EPOCH_START, 0);
	e.end_ns = nla_u64(tb, VDIRT_A_EPOCH_END, 0);
	e.written = nla_u64(tb, VDIRT_A_EPOCH_WRITTEN, 0);
	e.flags = tb[VDIRT_A_EPOCH_FLAGS] ? mnl_attr_get_u32(tb[VDIRT_A_EPOCH_FLAGS]) : 0;
	e.log_first = nla_u64(tb, VDIRT_A_EPOCH_LOG_FIRST, 0);
	e.log_end = nla_u64(tb, VDIRT_A_EPOCH_LOG_END, 0);
	if (tb[VDIRT_A_EPOCH_ROOT] &&
	    mnl_attr_get_payload_len(tb[VDIRT_A_EPOCH_ROOT]) == sizeof(e.root))
		memcpy(e.root, mnl_attr_get_payload(tb[VDIRT_A_EPOCH_ROOT]), sizeof(e.root));
	else
		e.flags &= ~VDIRT_EP_ROOT;
	if (tb[VDIRT_A_EPOCH_LOG_HASH] &&
	    mnl_attr_get_payload_len(tb[VDIRT_A_EPOCH_LOG_HASH]) == sizeof(e.log_hash)) {
		memcpy(e.log_hash, mnl_attr_get_payload(tb[VDIRT_A_EPOCH_LOG_HASH]),
		       sizeof(e.log_hash));
		e.has_log_hash = 1;
	}
	return a->fn(&e, a->arg);
}

int vnl_epochs(struct vnl *v, const char *dev,
	       int (*fn)(const struct vepoch *e, void *arg), void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ep_arg a = { fn, arg };
	struct nlmsghdr *nlh;
	int r;

	nlh = vnl_msg(v, buf, VDIRT_CMD_EPOCH_GET, NLM_F_DUMP);
	r = vnl_put_dev(nlh, dev);
	return r ? r : vnl_talk(v, nlh, epoch_cb, &a);
}

struct ep_list {
	struct vepoch *e;
	size_t n, cap;
};

static int ep_collect(const struct vepoch *e, void *arg)
{
	struct ep_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct vepoch *p = realloc(l->e, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->e = p;
		l->cap = cap;
	}
	l->e[l->n++] = *e;
	return 0;
}

int vnl_epoch_list(struct vnl *v, const char *dev, struct vepoch **e, size_t *n)
{
	struct ep_list l = { NULL, 0, 0 };
	int r;

	r = vnl_epochs(v, dev, ep_collect, &l);
	if (r) {
		free(l.e);
		l.e = NULL;
		l.n = 0;
	}
	*e = l.e;
	*n = l.n;
	return r;
}

struct ch_arg {
	int (*fn)(uint64_t first, uint64_t count, void *arg);
	void *arg;
	uint64_t first, count;	/* the run not passed on yet, count 0: none */
};

static int changed_cb(const struct nlattr **tb, void *arg)
{
	struct ch_arg *a = arg;
	uint64_t run[2];
	const uint8_t *p;
	size_t n, i;
	int r;

	if (!tb[VDIRT_A_RUNS] || mnl_attr_get_payload_len(tb[VDIRT_A_RUNS]) % sizeof(run))
		return -EBADMSG;
	p = mnl_attr_get_payload(tb[VDIRT_A_RUNS]);
	n = mnl_attr_get_payload_len(tb[VDIRT_A_RUNS]) / sizeof(run);
	for (i = 0; i < n; i++) {
		memcpy(run, p + i * sizeof(run), sizeof(run));
		if (!run[1] || (a->count && run[0] < a->first + a->count))
			return -EBADMSG;	/* empty, or not in cluster order */
		if (a->count && run[0] == a->first + a->count) {
			a->count += run[1];
			continue;
		}
		if (a->count) {
			r = a->fn(a->first, a->count, a->arg);
			if (r)
				return r;
		}
		a->first = run[0];
		a->count = run[1];
	}
	return 0;
}

int vnl_changed(struct vnl *v, const char *dev, uint64_t since, int64_t until,
		int (*fn)(uint64_t first, uint64_t count, void *arg), void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ch_arg a = { fn, arg, 0, 0 };
	struct nlmsghdr *nlh;
	int r;

	nlh = vnl_msg(v, buf, VDIRT_CMD_CHANGED_GET, NLM_F_DUMP);
	r = vnl_put_dev(nlh, dev);
	if (r)
		return r;
	mnl_attr_put_u64(nlh, VDIRT_A_SINCE, since);
	if (until >= 0)
		mnl_attr_put_u64(nlh, VDIRT_A_UNTIL, (uint64_t)until);
	r = vnl_talk(v, nlh, changed_cb, &a);
	if (!r && a.count)
		r = fn(a.first, a.count, arg);
	return r;
}

struct h_arg {
	unsigned int ds;
	int (*fn)(const struct vhash *h, void *arg);
	void *arg;
};

static int hash_cb(const struct nlattr **tb, void *arg)
{
	struct h_arg *a = arg;
	uint64_t first = nla_u64(tb, VDIRT_A_FIRST_CLUSTER, 0), cnt = nla_u64(tb, VDIRT_A_COUNT, 0);
	const uint8_t *valid, *cur, *base, *ep, *tm;
	struct vhash h;
	uint64_t i;
	int r;

	if (!tb[VDIRT_A_VALID] || !tb[VDIRT_A_DIGESTS] || !tb[VDIRT_A_BASELINE_DIGESTS] ||
	    !tb[VDIRT_A_WRITE_EPOCHS] || !tb[VDIRT_A_WRITE_TIMES] ||
	    mnl_attr_get_payload_len(tb[VDIRT_A_VALID]) < cnt ||
	    mnl_attr_get_payload_len(tb[VDIRT_A_DIGESTS]) < cnt * a->ds ||
	    mnl_attr_get_payload_len(tb[VDIRT_A_BASELINE_DIGESTS]) < cnt * a->ds ||
	    mnl_attr_get_payload_len(tb[VDIRT_A_WRITE_EPOCHS]) < cnt * 4 ||
	    mnl_attr_get_payload_len(tb[VDIRT_A_WRITE_TIMES]) < cnt * 8)
		return -EBADMSG;
	valid = mnl_attr_get_payload(tb[VDIRT_A_VALID]);
	cur = mnl_attr_get_payload(tb[VDIRT_A_DIGESTS]);
	base = mnl_attr_get_payload(tb[VDIRT_A_BASELINE_DIGESTS]);
	ep = mnl_attr_get_payload(tb[VDIRT_A_WRITE_EPOCHS]);
	tm = mnl_attr_get_payload(tb[VDIRT_A_WRITE_TIMES]);
	for (i = 0; i < cnt; i++) {
		memset(&h, 0, sizeof(h));
		h.cluster = first + i;
		h.has_current = !!(valid[i] & VDIRT_HV_CURRENT);
		h.has_baseline = !!(valid[i] & VDIRT_HV_BASELINE);
		if (h.has_current)
			memcpy(h.current, cur + i * a->ds, a->ds);
		if (h.has_baseline)
			memcpy(h.baseline, base + i * a->ds, a->ds);
		memcpy(&h.epoch, ep + i * 4, 4);
		memcpy(&h.time_ns, tm + i * 8, 8);
		r = a->fn(&h, a->arg);
		if (r)
			return r;
	}
	return 0;
}

int vnl_hashes(struct vnl *v, const char *dev, uint64_t first, uint64_t count,
	       unsigned int ds, int (*fn)(const struct vhash *h, void *arg), void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct h_arg a = { ds, fn, arg };
	struct nlmsghdr *nlh;
	int r;

	nlh = vnl_msg(v, buf, VDIRT_CMD_HASH_GET, NLM_F_DUMP);
	r = vnl_put_dev(nlh, dev);
	if (r)
		return r;
	mnl_attr_put_u64(nlh, VDIRT_A_FIRST_CLUSTER, first);
	if (count)
		mnl_attr_put_u64(nlh, VDIRT_A_COUNT, count);
	return vnl_talk(v, nlh, hash_cb, &a);
}

int vdm_epoch_new(const char *dev, const char *label, uint64_t *epoch)
{
	char msg[16 + VDIRT_EPOCH_LABEL_LEN], resp[32];
	int r;

	if (strlen(label) >= VDIRT_EPOCH_LABEL_LEN)
		return -EINVAL;
	snprintf(msg, sizeof(msg), "epoch_new%s%s", *label ? " " : "", label);
	r = vdm_message(dev, msg, resp, sizeof(resp));
	if (!r && parse_u64(resp, epoch))
		r = -EBADMSG;
	return r;
}
