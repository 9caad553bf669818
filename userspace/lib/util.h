/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VDIRTCTL_UTIL_H
#define VDIRTCTL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

extern int opt_debug;
extern int opt_json;
extern int opt_quiet;

void dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* exit codes, documented in vdirtctl.8 */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* generic failure */
	EXIT_USAGE = 2,		/* bad arguments */
	EXIT_PERM = 3,		/* EPERM, EACCES */
	EXIT_NOENT = 4,		/* no such device or file, module not loaded */
	EXIT_BUSY = 5,		/* EBUSY, EEXIST: in use, already exists/formatted */
	EXIT_INVAL = 6,		/* EINVAL, EBADMSG, ...: data or geometry refused */
	EXIT_IO = 7,		/* EIO */
	EXIT_NOSPC = 8,		/* ENOSPC, EFBIG: device too small */
	EXIT_NOTSUP = 9,	/* EOPNOTSUPP, EPROTONOSUPPORT */
	EXIT_MISMATCH = 10,	/* scan --wait / report --check found mismatches */
	EXIT_NOMEM = 11,	/* ENOMEM */
	EXIT_INTR = 12,		/* interrupted (EINTR, a signal) */
};
int errno_to_exit(int negerrno);

/* parse a size with an optional K/M/G/T (binary) or s (512-byte sectors) suffix */
int parse_size(const char *s, uint64_t *out);
int parse_u64(const char *s, uint64_t *out);
void hex(char *out, const uint8_t *p, size_t n);	/* out: 2n+1 bytes */
int unhex(uint8_t *out, size_t n, const char *s);
/* print s as a JSON string (with quotes) */
void json_str(FILE *f, const char *s);
uint64_t now_ns(void);
/* value of key in a "k=v k=v" status line into out; 0 or -ENOENT */
int status_get(const char *status, const char *key, char *out, size_t outlen);

/* pread/pwrite all of len at off (EINTR retried): 0, -errno, -ENODATA at EOF */
int read_full(int fd, void *buf, size_t len, off_t off);
int write_full(int fd, const void *buf, size_t len, off_t off);

#endif
