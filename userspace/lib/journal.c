// SPDX-License-Identifier: GPL-2.0
/* vdirtctl: mismatch records as structured journal entries */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <sys/uio.h>
#ifdef WITH_JOURNAL
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif

#include "journal.h"
#include "util.h"

const char *vrec_kind_name(int kind)
{
	switch (kind) {
	case VDIRT_KIND_READ_MISMATCH: return "read_mismatch";
	case VDIRT_KIND_WRITE_DRIFT: return "write_drift";
	case VDIRT_KIND_RECOVERY: return "recovery";
	case VDIRT_KIND_ROLLBACK: return "rollback";
	case VDIRT_KIND_EPOCH: return "epoch";
	case VDIRT_KIND_ACTIVATION: return "activation";
	case VDIRT_KIND_BASELINE: return "baseline";
	case VDIRT_KIND_PURGE: return "purge";
	case VREC_KIND_GAP: return "record_gap";
	}
	return "unknown";
}

const char *vrec_baseline_op_name(uint64_t op)
{
	return op == VDIRT_BASELINE_OP_LOAD ? "load" :
	       op == VDIRT_BASELINE_OP_CAPTURE ? "capture" :
	       op == VDIRT_BASELINE_OP_CLEAR ? "clear" : "unknown";
}

const char *vrec_restart_name(uint64_t why)
{
	return why == VDIRT_CHAIN_RESTART_NONE ? "none" :
	       why == VDIRT_CHAIN_RESTART_KEYING ? "keying" :
	       why == VDIRT_CHAIN_RESTART_KEY ? "key" : "unknown";
}

void vrec_label(char *out, size_t len, const struct vrec *r)
{
	size_t n = r->dlen < len - 1 ? r->dlen : len - 1;

	memcpy(out, r->expected, n);
	out[n] = 0;
}

const char *vrec_op_name(int op)
{
	switch (op) {
	case VDIRT_OP_READ: return "read";
	case VDIRT_OP_WRITE: return "write";
	case VDIRT_OP_SCAN: return "scan";
	case VDIRT_OP_RECOVERY: return "recovery";
	}
	return "unknown";
}

void vrec_recovery_str(char *out, size_t len, const struct vrec *r)
{
	snprintf(out, len, "%" PRIu64 " regions, %" PRIu64 " clusters re-measured, %" PRIu64
		 " changed, %" PRIu64 " measured on read", r->aux[VDIRT_AUX_REGIONS],
		 r->aux[VDIRT_AUX_REMEASURED], r->aux[VDIRT_AUX_CHANGED],
		 r->aux[VDIRT_AUX_ON_READ]);
}

int vj_priority(int kind)
{
	switch (kind) {
	case VDIRT_KIND_READ_MISMATCH: return LOG_CRIT;
	case VDIRT_KIND_WRITE_DRIFT: return LOG_WARNING;
	case VREC_KIND_GAP: return LOG_ERR;
	case VDIRT_KIND_ROLLBACK: return LOG_CRIT;
	case VDIRT_KIND_RECOVERY: return LOG_NOTICE;
	case VDIRT_KIND_BASELINE: return LOG_NOTICE;
	case VDIRT_KIND_PURGE: return LOG_NOTICE;
	}
	return LOG_INFO;
}

const char *vj_message_id(int kind)
{
	switch (kind) {
	case VDIRT_KIND_READ_MISMATCH: return VJ_ID_READ_MISMATCH;
	case VDIRT_KIND_WRITE_DRIFT: return VJ_ID_WRITE_DRIFT;
	case VDIRT_KIND_RECOVERY: return VJ_ID_RECOVERY;
	case VDIRT_KIND_ROLLBACK: return VJ_ID_ROLLBACK;
	case VDIRT_KIND_EPOCH: return VJ_ID_EPOCH;
	case VDIRT_KIND_ACTIVATION: return VJ_ID_ACTIVATION;
	case VDIRT_KIND_BASELINE: return VJ_ID_BASELINE;
	case VDIRT_KIND_PURGE: return VJ_ID_PURGE;
	case VREC_KIND_GAP: return VJ_ID_RECORD_GAP;
	}
	return VJ_ID_UNKNOWN;
}

/* the kinds whose record names a cluster (and carries two digests) */
int vrec_names_cluster(int kind)
{
	return kind == VDIRT_KIND_READ_MISMATCH || kind == VDIRT_KIND_WRITE_DRIFT ||
	       kind == VDIRT_KIND_ROLLBACK;
}

static void message(char *out, size_t len, const struct vrec *r, uint64_t sector)
{
	char s[160];

	switch (r->kind) {
	case VDIRT_KIND_READ_MISMATCH:
	case VDIRT_KIND_WRITE_DRIFT:
		snprintf(out, len, "%s: %s at cluster %" PRIu64 " (sector %" PRIu64 ", %s, record %"
			 PRIu64 "): %s", r->dev,
			 r->kind == VDIRT_KIND_READ_MISMATCH ? "read mismatch" : "write drift",
			 r->cluster, sector, vrec_op_name(r->op), r->seq,
			 r->kind == VDIRT_KIND_READ_MISMATCH ?
			 "the data changed below dm-vdirt" : "a write differs from the baseline");
		break;
	case VDIRT_KIND_ROLLBACK:
		snprintf(out, len, "%s: rollback at cluster %" PRIu64 " (sector %" PRIu64 ", %s, record %"
			 PRIu64 "): the data read is older content, of epoch %" PRIu64, r->dev,
			 r->cluster, sector, vrec_op_name(r->op), r->seq, r->aux[VDIRT_AUX_EPOCH]);
		break;
	case VDIRT_KIND_RECOVERY:
		vrec_recovery_str(s, sizeof(s), r);
		snprintf(out, len, "%s: recovery: %s", r->dev, s);
		break;
	case VDIRT_KIND_EPOCH:
		vrec_label(s, VDIRT_EPOCH_LABEL_LEN, r);
		snprintf(out, len, "%.64s: epoch %" PRIu64 " opened (%.63s), record %" PRIu64, r->dev,
			 r->aux[VDIRT_AUX_EPOCH], s, r->seq);
		break;
	case VDIRT_KIND_ACTIVATION:
		snprintf(out, len, "%s: activated in epoch %" PRIu64 "%s, record %" PRIu64 "%s%s",
			 r->dev, r->epoch,
			 r->aux[VDIRT_AUX_ACT_FLAGS] & VDIRT_ACT_F_UNCLEAN ? " after a crash" : "",
			 r->seq, r->aux[VDIRT_AUX_ACT_RESTART] ? ": record chain restarted, " : "",
			 r->aux[VDIRT_AUX_ACT_RESTART] ? vrec_restart_name(r->aux[VDIRT_AUX_ACT_RESTART]) : "");
		break;
	case VDIRT_KIND_BASELINE:
		snprintf(out, len, "%s: baseline %s done, %" PRIu64 " clusters baselined, record %" PRIu64,
			 r->dev, vrec_baseline_op_name(r->aux[0]), r->aux[1], r->seq);
		break;
	case VDIRT_KIND_PURGE:
		snprintf(out, len, "%s: purge, record %" PRIu64, r->dev, r->seq);
		break;
	case VREC_KIND_GAP:
		snprintf(out, len, "%s: %" PRIu64 " mismatch records lost from record %" PRIu64
			 " (overwritten or cleared before the monitor read them)", r->dev,
			 r->aux[0], r->seq);
		break;
	default:
		snprintf(out, len, "%s: record %" PRIu64 " of unknown kind %d", r->dev, r->seq,
			 r->kind);
	}
}

int vj_fields(const struct vrec *r, const struct vj_dev *d,
	      char f[VJ_MAX_FIELDS][VJ_FIELD_MAX])
{
	uint64_t sector = r->cluster * (d->cluster_size / 512);
	char e[2 * VDIRT_MAX_DIGEST_SIZE + 1], a[2 * VDIRT_MAX_DIGEST_SIZE + 1];
	char msg[VJ_FIELD_MAX - 8];
	int n = 0;

#define F(...) snprintf(f[n++], VJ_FIELD_MAX, __VA_ARGS__)
#define F_STR(name, s) do { if ((s) && *(s)) F(name "=%s", (s)); } while (0)
	message(msg, sizeof(msg), r, sector);
	F("MESSAGE=%s", msg);
	F("MESSAGE_ID=%s", vj_message_id(r->kind));
	F("PRIORITY=%d", vj_priority(r->kind));
	F("SYSLOG_IDENTIFIER=vdirtctl");
	F("VDIRT_DEVICE=%s", r->dev);
	F("VDIRT_DEVNO=%u:%u", r->major, r->minor);
	F("VDIRT_KIND=%s", vrec_kind_name(r->kind));
	F("VDIRT_SEQ=%" PRIu64, r->seq);
	F_STR("VDIRT_HASH", d->hash);
	/* the device, for every kind: which metadata, mode, data device */
	F_STR("VDIRT_UUID", d->uuid);
	F_STR("VDIRT_MODE", d->mode);
	F_STR("VDIRT_DATA_DEVICE", d->data_device);
	F_STR("VDIRT_DATA_DEVNO", d->data_devno);
	if (r->kind == VREC_KIND_GAP) {
		F("VDIRT_LOST=%" PRIu64, r->aux[0]);
		return n;
	}
	F("VDIRT_OP=%s", vrec_op_name(r->op));
	F("VDIRT_TIME=%" PRIu64, r->time);
	if (r->kind == VDIRT_KIND_RECOVERY) {
		F("VDIRT_REGIONS=%" PRIu64, r->aux[VDIRT_AUX_REGIONS]);
		F("VDIRT_REMEASURED=%" PRIu64, r->aux[VDIRT_AUX_REMEASURED]);
		F("VDIRT_CHANGED=%" PRIu64, r->aux[VDIRT_AUX_CHANGED]);
		F("VDIRT_ON_READ=%" PRIu64, r->aux[VDIRT_AUX_ON_READ]);
		return n;
	}
	if (r->kind >= VDIRT_KIND_EPOCH)
		F("VDIRT_REC_EPOCH=%" PRIu64, r->epoch);
	if (r->kind == VDIRT_KIND_EPOCH) {
		char l[VDIRT_EPOCH_LABEL_LEN];

		vrec_label(l, sizeof(l), r);
		F("VDIRT_EPOCH_OPENED=%" PRIu64, r->aux[VDIRT_AUX_EPOCH]);
		F("VDIRT_LABEL=%s", l);
		return n;
	}
	if (r->kind == VDIRT_KIND_ACTIVATION) {
		F("VDIRT_UNCLEAN=%d", !!(r->aux[VDIRT_AUX_ACT_FLAGS] & VDIRT_ACT_F_UNCLEAN));
		F("VDIRT_LOG_KEYED=%d", !!(r->aux[VDIRT_AUX_ACT_FLAGS] & VDIRT_ACT_F_KEYED));
		F("VDIRT_CHAIN_RESTART=%s", vrec_restart_name(r->aux[VDIRT_AUX_ACT_RESTART]));
		F("VDIRT_SB_SEQ=%" PRIu64, r->aux[VDIRT_AUX_ACT_SEQ]);
		return n;
	}
	if (r->kind == VDIRT_KIND_BASELINE) {
		F("VDIRT_BASELINE_OP=%s", vrec_baseline_op_name(r->aux[0]));
		F("VDIRT_BASELINED=%" PRIu64, r->aux[1]);
		return n;
	}
	if (r->kind == VDIRT_KIND_PURGE)
		return n;
	/* a mismatch, a drift, a rollback (and a kind this tool does not know) */
	hex(e, r->expected, r->dlen);
	hex(a, r->actual, r->dlen);
	F("VDIRT_CLUSTER=%" PRIu64, r->cluster);
	F("VDIRT_SECTOR=%" PRIu64, sector);
	if (vrec_names_cluster(r->kind))
		F("VDIRT_OFFSET=%" PRIu64, r->cluster * d->cluster_size);
	F("VDIRT_EXPECTED=%s", e);
	F("VDIRT_ACTUAL=%s", a);
	if (r->kind == VDIRT_KIND_ROLLBACK)
		F("VDIRT_CONTENT_EPOCH=%" PRIu64, r->aux[VDIRT_AUX_EPOCH]);
#undef F_STR
#undef F
	return n;
}

#ifdef WITH_JOURNAL
int vj_available(void)
{
	return 1;
}

int vj_send(const struct vrec *r, const struct vj_dev *d)
{
	static char f[VJ_MAX_FIELDS][VJ_FIELD_MAX];
	struct iovec iov[VJ_MAX_FIELDS];
	int i, n = vj_fields(r, d, f);

	for (i = 0; i < n; i++) {
		iov[i].iov_base = f[i];
		iov[i].iov_len = strlen(f[i]);
	}
	return sd_journal_sendv(iov, n);
}

int vj_notify(const char *state)
{
	return sd_notify(0, state);
}
#else
int vj_available(void)
{
	return 0;
}

int vj_send(const struct vrec *r, const struct vj_dev *d)
{
	(void)r;
	(void)d;
	return -EOPNOTSUPP;
}

int vj_notify(const char *state)
{
	(void)state;
	return 0;
}
#endif
