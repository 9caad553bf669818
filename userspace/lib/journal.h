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

/*
 * The MESSAGE_ID of each kind of entry (made once with systemd-id128 new,
 * fixed forever: log pipelines and the catalog, systemd/dm-vdirt.catalog,
 * know them).  Read mismatches keep the id every entry had before the
 * catalog (1.0): 50fbbe0b21c44875bcfba8fadd391e16.
 */
#define VJ_ID_READ_MISMATCH	"50fbbe0b21c44875bcfba8fadd391e16"
#define VJ_ID_WRITE_DRIFT	"8b96273ed700466f822dc8bbdc91af48"
#define VJ_ID_RECOVERY		"c00b3b3de3e943e2aee219f9f2e300d5"
#define VJ_ID_ROLLBACK		"11c06e1c768843daac47bb1e159baf11"
#define VJ_ID_EPOCH		"dbbbb24faa8844b58aeae755c58bc736"
#define VJ_ID_ACTIVATION	"f086018e606c4edc86d6417687088a38"
#define VJ_ID_BASELINE		"f5362b72a8d04fd38e4c151a283015db"
#define VJ_ID_PURGE		"f1ed9581dd3045849b788c43100d208e"
#define VJ_ID_RECORD_GAP	"b760105323164af1831fa69c2a525dbb"
/* a record of a kind this vdirtctl does not know (a newer kernel's) */
#define VJ_ID_UNKNOWN		"ac5c77b9d99543a58cc49e2f20756edf"

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
/* the kinds whose record names a cluster: mismatch, drift, rollback */
int vrec_names_cluster(int kind);
/* VDIRT_BASELINE_OP_*: "load", "capture", "clear"; VDIRT_CHAIN_RESTART_* */
const char *vrec_baseline_op_name(uint64_t op);
const char *vrec_restart_name(uint64_t why);
/* an epoch record's label (in expected[]), NUL terminated */
void vrec_label(char *out, size_t len, const struct vrec *r);
/* "R regions, N clusters re-measured, C changed, M measured on read" */
void vrec_recovery_str(char *out, size_t len, const struct vrec *r);

#define VJ_MAX_FIELDS 28
#define VJ_FIELD_MAX 320

/*
 * What the monitor knows of the device a record is of.  A NULL or empty
 * string is not known: its field is left out.
 */
struct vj_dev {
	uint32_t cluster_size;		/* bytes */
	const char *hash;		/* the hash algorithm */
	const char *uuid;		/* the metadata's uuid, 32 hex digits */
	const char *mode;		/* "audit" or "enforce" */
	const char *data_device;	/* the data device, a /dev path */
	const char *data_devno;		/* ... and its "major:minor" */
};

/* syslog priority of a record kind */
int vj_priority(int kind);
/* the MESSAGE_ID of a record kind (VJ_ID_*) */
const char *vj_message_id(int kind);
/* the journal fields of a record ("NAME=value"); returns their number */
int vj_fields(const struct vrec *r, const struct vj_dev *d,
	      char f[VJ_MAX_FIELDS][VJ_FIELD_MAX]);
/* send them to the journal: 0, -errno, -EOPNOTSUPP when built without libsystemd */
int vj_send(const struct vrec *r, const struct vj_dev *d);
int vj_available(void);
/*
 * sd_notify(3) to the service manager (Type=notify units: READY=1, the
 * watchdog's WATCHDOG=1); 0 when not run by one (or built without
 * libsystemd), > 0 sent, -errno.
 */
int vj_notify(const char *state);

#endif
