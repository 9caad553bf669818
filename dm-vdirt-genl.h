/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dm-vdirt generic netlink interface (UAPI-style, shared by the module's
 * dm-vdirt-netlink.c and userspace/vdirtctl).
 *
 * Family VDIRT_GENL_NAME, version VDIRT_GENL_VERSION.  Every command needs
 * CAP_SYS_ADMIN (as dmsetup does), and so does joining the "events"
 * multicast group.  Attributes are validated strictly against one policy:
 * an unknown attribute, a wrong length or a wrong type is -EINVAL with an
 * extack message.
 *
 * A device is addressed by VDIRT_A_DEV_NAME (the dm name) or by
 * VDIRT_A_DEV_MAJOR + VDIRT_A_DEV_MINOR; if both are given the number wins.
 *
 * Commands (R: request attributes, A: answer attributes):
 *
 * VDIRT_CMD_DEV_GET        doit (one device, R: device) or NLM_F_DUMP (all).
 *     A: DEV_NAME DEV_MAJOR DEV_MINOR DATA_SECTORS NR_CLUSTERS CLUSTER_SIZE
 *        DIGEST_SIZE HASH_NAME STATE MODE READ_VERIFY FAIL_OPEN MEASURED
 *        BASELINED READS_VERIFIED READ_MISMATCHES WRITE_DRIFT UNALIGNED
 *        META_ERRORS TOFU SCAN_RUNNING SCAN_POS LOG_FIRST LOG_HEAD
 *        EVENT_SEQ EVENTS_DROPPED RECOVER_POS RECOVER_TOTAL CHANGE_KIND
 *        CHANGE_POS CHANGE_TOTAL CHANGE_PAUSED CHANGE_ID CHANGE_DONE_ID
 *        CHANGE_RESULT UUID SB_SEQ, and with RO_COMPAT_CHAIN LOG_HASH
 *        CHAIN_START LOG_KEYED (LOG_HASH is D(LOG_HEAD - 1), both committed)
 *        CHANGE_*: the device's baseline change (capture, clear, the
 *        commit of a load, or a mismatch clear), which runs in the kernel
 *        after the command that started it returned.  CHANGE_ID is the
 *        number of the last one started, CHANGE_DONE_ID of the last one
 *        ended and CHANGE_RESULT its errno (0: success).  A waiter polls
 *        DEV_GET until CHANGE_DONE_ID is the CHANGE_ID its command got;
 *        if CHANGE_ID moves on first, another change followed (its result
 *        is lost), or the table was replaced (the change was cut short).
 * VDIRT_CMD_BASELINE_BEGIN R: device, CLUSTER_SIZE, DIGEST_SIZE, HASH_NAME,
 *        NR_CLUSTERS (all must match the device).  A: LOAD_ID.
 *        Starts a staged load owned by the sending socket; -EBUSY if
 *        another load is open on the device.  Closing the socket aborts.
 * VDIRT_CMD_BASELINE_CHUNK R: device, LOAD_ID, FIRST_CLUSTER, DIGESTS
 *        (n * digest_size bytes, n >= 1, at most VDIRT_CHUNK_MAX bytes).
 * VDIRT_CMD_BASELINE_COMMIT R: device, LOAD_ID.  A: CHANGE_ID.  Refused
 *        (-ENODATA) unless every cluster was loaded; then starts the change
 *        that replaces the baseline of every cluster and commits the
 *        metadata, and the staged load belongs to it (closing the socket
 *        no longer aborts).  Until then the old baseline stays in force,
 *        and an abandoned load changes nothing.
 * VDIRT_CMD_BASELINE_ABORT  R: device, LOAD_ID.
 * VDIRT_CMD_BASELINE_CAPTURE R: device.  A: CHANGE_ID.  Starts the change
 *        that makes the current measurements the baseline.
 * VDIRT_CMD_BASELINE_CLEAR   R: device.  A: CHANGE_ID.
 *        CAPTURE, CLEAR, COMMIT and MISMATCH_CLEAR return once the change
 *        has started; they fail with -EBUSY while another change runs, on
 *        a suspended (or not yet resumed) device, and CAPTURE while crash
 *        recovery runs; with -EIO when the device is degraded or failed.
 * VDIRT_CMD_SCAN_START       R: device.  VDIRT_CMD_SCAN_STOP R: device.
 *        SCAN_START: -EBUSY on a suspended device, -EIO when degraded.
 * VDIRT_CMD_MISMATCH_GET     NLM_F_DUMP, R: device, optional REC_SEQ (first
 *        record number wanted).  One message per record:
 *        A: DEV_NAME DEV_MAJOR DEV_MINOR REC_SEQ CLUSTER KIND OP TIME
 *           EXPECTED ACTUAL REC_EPOCH REC_RAW (the 256 on-disk bytes), and
 *           REC_AUX for every kind but read_mismatch and write_drift
 * VDIRT_CMD_MISMATCH_CLEAR   R: device.  A: CHANGE_ID.
 * VDIRT_CMD_HASH_GET         NLM_F_DUMP, R: device, optional FIRST_CLUSTER,
 *        COUNT.  One message per run of up to VDIRT_HASH_BATCH clusters:
 *        A: FIRST_CLUSTER COUNT VALID (one byte per cluster, VDIRT_HV_*)
 *           DIGESTS (current, COUNT * digest_size, zero when invalid)
 *           BASELINE_DIGESTS (likewise)
 * VDIRT_CMD_EVENT            notification on group "events":
 *        A: DEV_NAME DEV_MAJOR DEV_MINOR EVENT_SEQ REC_SEQ CLUSTER KIND OP
 *           TIME EXPECTED ACTUAL EVENTS_DROPPED REC_EPOCH [REC_AUX]
 *        EVENT_SEQ is the record number (REC_SEQ), per device: a listener
 *        that sees a gap dumps VDIRT_CMD_MISMATCH_GET from the first
 *        missing number.  Events beyond the rate limit (module parameter
 *        dm_vdirt.event_rate, per device per second, default 2000) are
 *        dropped and counted (EVENTS_DROPPED); the records are always stored.
 * VDIRT_CMD_EPOCH_GET        NLM_F_DUMP, R: device.  One message per retained
 *        epoch, oldest first: A: EPOCH EPOCH_LABEL EPOCH_START EPOCH_END
 *        EPOCH_WRITTEN EPOCH_FLAGS EPOCH_LOG_FIRST EPOCH_LOG_END, and for
 *        a closed epoch EPOCH_LOG_HASH, with VDIRT_EP_ROOT EPOCH_ROOT.
 *        -EOPNOTSUPP without an epoch table.
 * VDIRT_CMD_CHANGED_GET      NLM_F_DUMP, R: device, SINCE, optional UNTIL
 *        (default: the current epoch).  The clusters in the write sets of
 *        epochs SINCE + 1 .. UNTIL, as RUNS attributes (one message per
 *        write-set block that has any, runs may continue in the next).
 *        -ERANGE when SINCE + 1 is older than the oldest retained epoch or
 *        UNTIL is newer than the current one, -EINVAL when UNTIL < SINCE,
 *        -EOPNOTSUPP without write sets.
 * VDIRT_CMD_ATTEST           R: device, optional CLUSTER.  A: ROOT_ID.
 *        Starts the computation of the attestation root (RO_COMPAT_MERKLE,
 *        see dm-vdirt-format.h) over the digests as they are now, and with
 *        CLUSTER the inclusion proof of that cluster; it runs in the kernel
 *        after the command returned (writes go on meanwhile and do not
 *        change the result).  -EOPNOTSUPP without the tree, -EBUSY while
 *        another root or a baseline load is computed, -EROFS on a
 *        read-only table, -ERANGE for a cluster past the end.  The message
 *        `attest [<cluster>]` does the same and answers the ROOT_ID.
 * VDIRT_CMD_ATTEST_GET       R: device.  A: UUID NR_CLUSTERS CLUSTER_SIZE
 *        DIGEST_SIZE HASH_NAME ROOT_ID (last started) ROOT_DONE_ID (last
 *        ended) ROOT_RESULT (its errno), and when ROOT_DONE_ID ended with
 *        0: ROOT, and the state it covers: EPOCH (the epoch then current),
 *        TIME (wall clock when it was frozen), LOG_HEAD and LOG_HASH (the
 *        record log then), SB_SEQ; when that computation named a cluster:
 *        CLUSTER VALID (VDIRT_HV_CURRENT or 0) DIGESTS (digest_size bytes,
 *        zero when unmeasured) PROOF.  A waiter polls until ROOT_DONE_ID is
 *        the ROOT_ID its command got.
 *        The message `metadata_snap take` freezes the digests (a metadata
 *        snapshot, kept in memory and the staging area until `metadata_snap
 *        drop` or the next table) and starts the root computation of that
 *        state (answer: ROOT_ID); HASH_GET with SNAP = 1 dumps the frozen
 *        digests (-ENOENT without a snapshot).  DEV_GET answers SNAP (1
 *        while a snapshot is held).
 * VDIRT_CMD_EVENTS_SUBSCRIBE  no attributes.  On kernels whose multicast
 *        groups cannot be restricted to CAP_SYS_ADMIN, events are not
 *        multicast but unicast to the sockets that sent this command;
 *        elsewhere it fails with -EOPNOTSUPP (join the group instead).
 */
#ifndef DM_VDIRT_GENL_H
#define DM_VDIRT_GENL_H

#define VDIRT_GENL_NAME		"vdirt"
#define VDIRT_GENL_VERSION	1
#define VDIRT_GENL_MCGRP_EVENTS	"events"

/* largest DIGESTS attribute in a BASELINE_CHUNK */
#define VDIRT_CHUNK_MAX		(32U * 1024U)
/* clusters per HASH_GET dump message */
#define VDIRT_HASH_BATCH	256U
/* dm names: DM_NAME_LEN (128) including the NUL */
#define VDIRT_DEV_NAME_MAX	128U

enum vdirt_genl_cmd {
	VDIRT_CMD_UNSPEC,
	VDIRT_CMD_DEV_GET,
	VDIRT_CMD_BASELINE_BEGIN,
	VDIRT_CMD_BASELINE_CHUNK,
	VDIRT_CMD_BASELINE_COMMIT,
	VDIRT_CMD_BASELINE_ABORT,
	VDIRT_CMD_BASELINE_CAPTURE,
	VDIRT_CMD_BASELINE_CLEAR,
	VDIRT_CMD_SCAN_START,
	VDIRT_CMD_SCAN_STOP,
	VDIRT_CMD_MISMATCH_GET,
	VDIRT_CMD_MISMATCH_CLEAR,
	VDIRT_CMD_HASH_GET,
	VDIRT_CMD_EVENT,
	VDIRT_CMD_EVENTS_SUBSCRIBE,
	VDIRT_CMD_EPOCH_GET,
	VDIRT_CMD_CHANGED_GET,
	VDIRT_CMD_ATTEST,
	VDIRT_CMD_ATTEST_GET,

	__VDIRT_CMD_MAX,
	VDIRT_CMD_MAX = __VDIRT_CMD_MAX - 1
};

enum vdirt_genl_attr {
	VDIRT_A_UNSPEC,
	VDIRT_A_PAD,			/* padding for 64-bit attributes */
	VDIRT_A_DEV_NAME,		/* string, < VDIRT_DEV_NAME_MAX */
	VDIRT_A_DEV_MAJOR,		/* u32 */
	VDIRT_A_DEV_MINOR,		/* u32 */
	VDIRT_A_DATA_SECTORS,		/* u64 */
	VDIRT_A_NR_CLUSTERS,		/* u64 */
	VDIRT_A_CLUSTER_SIZE,		/* u32, bytes */
	VDIRT_A_DIGEST_SIZE,		/* u32, bytes */
	VDIRT_A_HASH_NAME,		/* string, < 64 */
	VDIRT_A_STATE,			/* u8, VDIRT_GENL_STATE_* */
	VDIRT_A_MODE,			/* u8, VDIRT_GENL_MODE_* */
	VDIRT_A_READ_VERIFY,		/* u8, 0 or 1 */
	VDIRT_A_FAIL_OPEN,		/* u8, 0 or 1 */
	VDIRT_A_MEASURED,		/* u64 */
	VDIRT_A_BASELINED,		/* u64 */
	VDIRT_A_READS_VERIFIED,		/* u64 */
	VDIRT_A_READ_MISMATCHES,	/* u64 */
	VDIRT_A_WRITE_DRIFT,		/* u64 */
	VDIRT_A_UNALIGNED,		/* u64 */
	VDIRT_A_META_ERRORS,		/* u64 */
	VDIRT_A_TOFU,			/* u64 */
	VDIRT_A_SCAN_RUNNING,		/* u8 */
	VDIRT_A_SCAN_POS,		/* u64, clusters done */
	VDIRT_A_LOG_FIRST,		/* u64, first stored record number */
	VDIRT_A_LOG_HEAD,		/* u64, next record number */
	VDIRT_A_EVENT_SEQ,		/* u64 */
	VDIRT_A_EVENTS_DROPPED,		/* u64 */
	VDIRT_A_LOAD_ID,		/* u32 */
	VDIRT_A_FIRST_CLUSTER,		/* u64 */
	VDIRT_A_COUNT,			/* u64 */
	VDIRT_A_DIGESTS,		/* binary */
	VDIRT_A_BASELINE_DIGESTS,	/* binary */
	VDIRT_A_VALID,			/* binary, one byte per cluster */
	VDIRT_A_REC_SEQ,		/* u64, mismatch record number */
	VDIRT_A_CLUSTER,		/* u64 */
	VDIRT_A_KIND,			/* u8, VDIRT_KIND_* of dm-vdirt-format.h */
	VDIRT_A_OP,			/* u8, VDIRT_OP_* of dm-vdirt-format.h */
	VDIRT_A_TIME,			/* u64, ns since the epoch (wall clock) */
	VDIRT_A_EXPECTED,		/* binary, digest_size bytes */
	VDIRT_A_ACTUAL,			/* binary, digest_size bytes */
	VDIRT_A_REC_AUX,		/* binary, 4 x u64 host order: aux[] */
	VDIRT_A_RECOVER_POS,		/* u64, clusters of dirty regions done */
	VDIRT_A_RECOVER_TOTAL,		/* u64, 0: not recovering */
	VDIRT_A_CHANGE_ID,		/* u64, a baseline change's number */
	VDIRT_A_CHANGE_KIND,		/* u8, VDIRT_GENL_CHANGE_*, NONE: idle */
	VDIRT_A_CHANGE_POS,		/* u64, clusters done */
	VDIRT_A_CHANGE_TOTAL,		/* u64, clusters to do */
	VDIRT_A_CHANGE_PAUSED,		/* u8, 1: paused, the device is suspended */
	VDIRT_A_CHANGE_DONE_ID,		/* u64, the last change that ended */
	VDIRT_A_CHANGE_RESULT,		/* u32, its errno, 0: success */
	/* epochs, write sets (RO_COMPAT_EPOCHS, RO_COMPAT_WRITESETS) */
	VDIRT_A_EPOCH,			/* u64, an epoch number */
	VDIRT_A_EPOCH_FIRST,		/* u64, oldest retained epoch */
	VDIRT_A_EPOCH_LABEL,		/* string, < VDIRT_EPOCH_LABEL_LEN */
	VDIRT_A_EPOCH_START,		/* u64, ns since the epoch (wall clock) */
	VDIRT_A_EPOCH_END,		/* u64, likewise, 0: open */
	VDIRT_A_EPOCH_WRITTEN,		/* u64, clusters in its write set */
	VDIRT_A_EPOCH_FLAGS,		/* u32, VDIRT_EP_* */
	VDIRT_A_EPOCH_LOG_FIRST,	/* u64, first record made in it */
	VDIRT_A_EPOCH_LOG_END,		/* u64, log head when it closed */
	VDIRT_A_SINCE,			/* u64, CHANGED_GET: after this epoch */
	VDIRT_A_UNTIL,			/* u64, CHANGED_GET: up to this one */
	VDIRT_A_RUNS,			/* binary, u64 host order pairs
					 * (first, count), cluster order
					 */
	VDIRT_A_WRITE_EPOCHS,		/* binary, u32 host order per cluster */
	VDIRT_A_WRITE_TIMES,		/* binary, u64 host order per cluster */
	/* the hash-chained record log (RO_COMPAT_CHAIN) */
	VDIRT_A_REC_RAW,		/* binary, the 256-byte on-disk record */
	VDIRT_A_REC_EPOCH,		/* u64, epoch the record was made in */
	VDIRT_A_LOG_HASH,		/* binary, 32: digest of record head - 1 */
	VDIRT_A_CHAIN_START,		/* u64, first chained record number */
	VDIRT_A_LOG_KEYED,		/* u8, 1: the chain is an HMAC chain */
	VDIRT_A_UUID,			/* binary, 16: the metadata's uuid */
	VDIRT_A_SB_SEQ,			/* u64, superblock commit sequence */
	/* the attestation tree (RO_COMPAT_MERKLE) */
	VDIRT_A_ROOT,			/* binary, 32: an attestation root */
	VDIRT_A_ROOT_ID,		/* u64, a root computation's number */
	VDIRT_A_ROOT_DONE_ID,		/* u64, the last one that ended */
	VDIRT_A_ROOT_RESULT,		/* u32, its errno, 0: success */
	VDIRT_A_PROOF,			/* binary, H * 32: siblings bottom up */
	VDIRT_A_SNAP,			/* u8, 1: the metadata snapshot */
	VDIRT_A_EPOCH_ROOT,		/* binary, 32: root at an epoch's end */
	VDIRT_A_EPOCH_LOG_HASH,		/* binary, 32: log hash at its end */

	__VDIRT_A_MAX,
	VDIRT_A_MAX = __VDIRT_A_MAX - 1
};

/* VDIRT_A_STATE */
#define VDIRT_GENL_STATE_OK		0
#define VDIRT_GENL_STATE_DEGRADED	1
#define VDIRT_GENL_STATE_FAILED		2

/* VDIRT_A_MODE */
#define VDIRT_GENL_MODE_AUDIT		0
#define VDIRT_GENL_MODE_ENFORCE		1

/* VDIRT_A_CHANGE_KIND */
#define VDIRT_GENL_CHANGE_NONE		0
#define VDIRT_GENL_CHANGE_CAPTURE	1
#define VDIRT_GENL_CHANGE_CLEAR		2
#define VDIRT_GENL_CHANGE_LOAD		3
#define VDIRT_GENL_CHANGE_MISMATCH_CLEAR 4

/* VDIRT_A_VALID bits */
#define VDIRT_HV_CURRENT		(1U << 0)
#define VDIRT_HV_BASELINE		(1U << 1)

#endif /* DM_VDIRT_GENL_H */
