/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdirtctl: what the commands share: the parsed options, the command
 * table's entry, the exit codes, messages and the helpers of common.c.
 */
#ifndef VDIRTCTL_CMD_H
#define VDIRTCTL_CMD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hash.h"
#include "journal.h"
#include "nl.h"

/* the release, as in dkms.conf and debian/changelog (tests/host/deb.sh) */
#define VDIRTCTL_VERSION "1.0.0"

/* exit codes, documented in vdirtctl.8; errno_to_exit() (main.c) maps -errno */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* generic failure */
	EXIT_USAGE = 2,		/* bad arguments, an option the command does not take */
	EXIT_PERM = 3,		/* EPERM, EACCES, EROFS (a read-only table) */
	EXIT_NOENT = 4,		/* no such device or file, module not loaded */
	EXIT_BUSY = 5,		/* EBUSY, EEXIST: in use, already exists/formatted */
	EXIT_INVAL = 6,		/* EINVAL, EBADMSG, ...: data or geometry refused */
	EXIT_IO = 7,		/* EIO */
	EXIT_NOSPC = 8,		/* ENOSPC, EFBIG: device too small */
	EXIT_NOTSUP = 9,	/* EOPNOTSUPP, EPROTONOSUPPORT */
	EXIT_MISMATCH = 10,	/* scan --wait found mismatches, verify-image/-proof: no match */
	EXIT_NOMEM = 11,	/* ENOMEM */
	EXIT_INTR = 12,		/* interrupted (EINTR, a signal) */
	/* check's verdicts, apart from the codes above (its failures use those) */
	EXIT_CHECK_DEGRADED = 20,	/* one superblock copy invalid, the other in use */
	EXIT_CHECK_INVALID = 21,	/* no valid superblock: not dm-vdirt metadata */
};
int errno_to_exit(int negerrno);

/* the options, as main() parsed them (each taken only by the commands of main.c's table) */
struct opts {
	uint32_t cluster_size;
	const char *hash;
	int force;
	int unpacked;		/* meta-size, format --unpacked */
	uint32_t without;	/* meta-size, format --without: VDIRT_LAYOUT_* */
	uint32_t epochs;	/* meta-size, format --epochs */
	const char *label;	/* epoch --label */
	uint64_t since;		/* changed, timeline --since */
	int since_set;
	int64_t until;		/* changed --until, -1: now */
	int hashes;		/* changed --hashes */
	const char *mode;
	int no_read_verify;
	int fail_open;
	int zero_unwritten;	/* open --zero-unwritten */
	long cache_mb;
	long write_back;	/* open --write-back N, -1: not given */
	const char *output;
	int threads;
	uint64_t count;
	int wait;
	int progress;		/* -1 auto, 0 no, 1 yes */
	int all;		/* monitor --all */
	int journal;		/* monitor --journal */
	const char *prom;	/* monitor --prometheus-textfile */
	uint64_t interval;	/* seconds between textfile refreshes */
	const char *meta;	/* log --meta */
	int verify;		/* log --verify */
	const char *key_file;	/* log, checkpoint verify --key-file */
	int json, quiet, debug;
	int files;		/* report --files */
	/* attestation (cmd_attest.c, cmd_export.c) */
	int root;		/* baseline build --root */
	uint64_t proof;		/* attest --proof CLUSTER */
	int proof_set;
	int tab;		/* open --tab */
};
extern struct opts o;

/* set by SIGINT/SIGTERM */
extern volatile sig_atomic_t interrupted;

/*
 * A command returns 0, -errno (a failure: its stdout is dropped, the exit
 * code is errno_to_exit()'s) or an exit code > 0: a failure too (stdout
 * dropped), unless it is a verdict (check's EXIT_CHECK_*, EXIT_MISMATCH, or
 * returned through cmd_verdict(): stdout kept).  main() holds stdout until
 * the command returns, unless main.c's streaming[] names it.
 */
struct command {
	const char *name;	/* "format", "baseline build" */
	int (*fn)(int argc, char **argv);
	int min_args, max_args;	/* checked by main() before fn runs; max -1: any */
	const char *args;
	const char *help;
};
/* the running command's usage line (its arguments and options) on stderr; EXIT_USAGE */
int cmd_usage(void);
/*
 * return cmd_verdict(EXIT_X): code is the command's answer, not a failure,
 * so its stdout is kept (EXIT_MISMATCH and check's codes always are).
 */
int cmd_verdict(int code);

/* messages: "vdirtctl: ..." on stderr; debug lines "# ..." with -d */
void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_hook(int level, const char *msg);

/* vdev_open(), saying why not */
int open_dev(const char *path, int flags, uint64_t *size);
/* --hash or the default; NULL (said why) when unknown */
const struct vh_alg *get_alg(const char *name);
/* 0, or -EINVAL saying why */
int check_cluster(uint32_t cs);
/* the progress bar on stderr: --progress, or a terminal without --quiet */
int show_progress(void);
void progress(const char *what, uint64_t done, uint64_t total, int final);

/* netlink: open the family and get dev's info, saying why not; vnl_close() v anyway */
int nl_open_dev(struct vnl *v, const char *dev, struct vdev_info *d);
int nl_dev_get(struct vnl *v, const char *dev, struct vdev_info *d);
/* wait for the baseline change number id of dev to end (its result), -EINTR on a signal */
int change_wait(struct vnl *v, const char *dev, uint64_t id, const char *what);
/* a command on one device; wait: it starts a baseline change, wait for its end */
int nl_change(const char *dev, uint8_t cmd, const char *what, bool wait);
/* one mismatch record, text or JSON (source: "event"/"dump" for the monitor, or NULL) */
void print_rec(const struct vrec *r, uint32_t cs, const char *source);
/* ns since the epoch as RFC 3339 UTC with nanoseconds (n >= 40) */
void fmt_time(char *out, size_t n, uint64_t ns);
struct json_object *rec_json(const struct vrec *r, uint32_t cs, const char *source);
/* monitor --json's object: rec_json and the device's uuid, mode, data device, offset */
struct json_object *mon_rec_json(const struct vrec *r, const struct vj_dev *d,
				 const char *source);

/*
 * Cluster -> file (common.c; `files`, `report --files`; any list of
 * clusters, e.g. a changed list):
 * files_annotate() opens dev read-only (a dm name is /dev/mapper/NAME, else
 * a block device or image path), walks each filesystem once (libtsk), then
 * calls fn(i, a, arg) for clusters[i], i = 0..n-1 in order (cs: the cluster
 * size in bytes), a being a new JSON object that fn owns (json_object_put()
 * it), the form of issue 16:
 *   {"cluster":c,"partition":{"index":i,"start_sector":s,"type":".."}|null,
 *    "fs":"ext4"|null,"allocated":true|false|null,
 *    "files":[{"path":"/etc/shadow","inode":N,"offset":O,"length":L}],
 *    "meta":null|"superblock"|"inode table"|"directory"|...}
 *   plus "block","blocks" (filesystem blocks the cluster covers) when the
 *   filesystem was read, and "error" (why not) when libtsk cannot read it.
 * Memory is the map's, not n objects.  Returns 0, fn's first non-zero
 * return (the walk stops there), or -errno having said why on stderr:
 * -EOPNOTSUPP when built without libtsk, -ERANGE when a cluster is past the
 * end (checked for all before fn is first called), -ENOENT, -EACCES, -EIO.
 * A partition libtsk cannot read is named on stderr once (not with --quiet).
 * files_print(): the text form of one such object, one line per owning
 * file (else one line), each starting with prefix.
 * files_merge(): a JSON record (one with its own "cluster") gains the
 * object's other keys (partition, fs, allocated, files, meta, ...).
 */
struct json_object;
typedef int (*files_fn)(size_t i, struct json_object *a, void *arg);
int files_annotate(const char *dev, uint32_t cs, const uint64_t *clusters, size_t n,
		   files_fn fn, void *arg);
void files_print(struct json_object *a, const char *prefix);
void files_merge(struct json_object *rec, struct json_object *a);

/* the commands (cmd_*.c) */
int cmd_meta_size(int argc, char **argv);
int cmd_format(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_upgrade(int argc, char **argv);
int cmd_open(int argc, char **argv);
int cmd_close(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_baseline_build(int argc, char **argv);
int cmd_baseline_show(int argc, char **argv);
int cmd_baseline_load(int argc, char **argv);
int cmd_baseline_capture(int argc, char **argv);
int cmd_baseline_clear(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_clear(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_hashes(int argc, char **argv);
int cmd_epoch(int argc, char **argv);
int cmd_epochs(int argc, char **argv);
int cmd_changed(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_files(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_checkpoint_verify(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_verify_proof(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_verify_image(int argc, char **argv);

/* attestation (cmd_attest.c): an error of ATTEST/metadata_snap said in words (r returned) */
int attest_error(const char *dev, const char *what, int r);
struct vattest;
/* the object of attest --json */
struct json_object *attest_json(const char *dev, const struct vattest *a);

/* one record of `vdirtctl log --json` (cmd_log.c), cs: the cluster size */
struct json_object *log_rec_json(const struct vrec *r, uint32_t cs);

#endif
