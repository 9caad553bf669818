/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdirtctl: mismatch records (from dumps and events) and their structured
 * journal entries (monitor --journal).
 */
#ifndef VDIRTCTL_JOURNAL_H
#define VDIRTCTL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include "../../dm-vdirt-format.h"
#include "../../dm-vdirt-genl.h"

/* MESSAGE_ID of every vdirt journal entry (made once with systemd-id128 new) */
#define VJ_MESSAGE_ID "50fbbe0b21c44875bcfba8fadd391e16"

/* journald's native socket: without it sd_journal_sendv() drops entries silently */
#define VJ_SOCKET "/run/systemd/journal/socket"

/* not a kernel kind: the monitor lost aux[0] records from seq on */
#define VREC_KIND_GAP 255

/* one mismatch record or event as the netlink family gives it */
struct vrec {
	char dev[VDIRT_DEV_NAME_MAX];
	uint32_t major, minor;
	uint64_t seq, rec_seq, cluster, time;
	int kind, op;
	uint8_t expected[VDIRT_MAX_DIGEST_SIZE], actual[VDIRT_MAX_DIGEST_SIZE];
	unsigned int dlen;
	uint64_t aux[4];	/* VDIRT_AUX_* by kind */
	uint64_t epoch;		/* REC_EPOCH: the epoch it was made in */
	int has_raw;		/* raw: REC_RAW, the 256 on-disk bytes */
	uint8_t raw[VDIRT_RECORD_SIZE];
};

const char *vrec_kind_name(int kind);
const char *vrec_op_name(int op);
/* VDIRT_BASELINE_OP_*: "load", "capture", "clear"; VDIRT_CHAIN_RESTART_* */
const char *vrec_baseline_op_name(uint64_t op);
const char *vrec_restart_name(uint64_t why);
/* an epoch record's label (in expected[]), NUL terminated */
void vrec_label(char *out, size_t len, const struct vrec *r);
/* "R regions, N clusters re-measured, C changed, M measured on read" */
void vrec_recovery_str(char *out, size_t len, const struct vrec *r);

#define VJ_MAX_FIELDS 24
#define VJ_FIELD_MAX 320

/* syslog priority of a record kind */
int vj_priority(int kind);
/*
 * The journal fields of a record ("NAME=value"), cs: cluster size in bytes,
 * hash: the device's hash name.  Returns the number of fields.
 */
int vj_fields(const struct vrec *r, uint32_t cs, const char *hash,
	      char f[VJ_MAX_FIELDS][VJ_FIELD_MAX]);
/* send them to the journal: 0, -errno, -EOPNOTSUPP when built without libsystemd */
int vj_send(const struct vrec *r, uint32_t cs, const char *hash);
int vj_available(void);
/*
 * sd_notify(3) to the service manager (Type=notify units: READY=1, the
 * watchdog's WATCHDOG=1); 0 when not run by one (or built without
 * libsystemd), > 0 sent, -errno.
 */
int vj_notify(const char *state);

#endif
