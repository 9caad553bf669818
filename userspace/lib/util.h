/* SPDX-License-Identifier: GPL-2.0 */
/* libvdirt: the log hook, parsing, hex, clocks, whole reads and writes */
#ifndef VDIRTCTL_UTIL_H
#define VDIRTCTL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * The library prints nothing: its messages (the kernel's netlink error
 * text, device-mapper's log) go to the function the program sets, or
 * nowhere.  VLOG_DEBUG and above are debug levels (vdirtctl -d, -dd).
 */
enum { VLOG_ERR = 0, VLOG_DEBUG = 1, VLOG_DEBUG2 = 2 };
typedef void (*vlog_fn)(int level, const char *msg);
void vlog_set(vlog_fn fn);
void vlog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Decimal numbers only (a leading 0 is not octal, 0x is refused): 0,
 * -EINVAL (not a number), -ERANGE (too big).  parse_size: an optional
 * K/M/G/T (binary, also KiB/KB) or s (512-byte sectors) suffix.  Neither
 * refuses 0: the caller says which range it takes.
 */
int parse_size(const char *s, uint64_t *out);
int parse_u64(const char *s, uint64_t *out);
void hex(char *out, const uint8_t *p, size_t n);	/* out: 2n+1 bytes */
int unhex(uint8_t *out, size_t n, const char *s);
uint64_t now_ns(void);		/* CLOCK_REALTIME */
uint64_t mono_ns(void);		/* CLOCK_MONOTONIC */
/* value of key in a "k=v k=v" status line into out; 0 or -ENOENT */
int status_get(const char *status, const char *key, char *out, size_t outlen);
/*
 * The value of the status field purge=: 0 for "-" (no purge walk), 1 for
 * "POS/TOTAL" (*pos, *total, pos <= total), -EINVAL for anything else.
 */
int vpurge_parse(const char *val, uint64_t *pos, uint64_t *total);

/* pread/pwrite all of len at off (EINTR retried): 0, -errno, -ENODATA at EOF */
int read_full(int fd, void *buf, size_t len, off_t off);
int write_full(int fd, const void *buf, size_t len, off_t off);

/*
 * Open a block device or regular file (O_CLOEXEC added); size: its size in
 * bytes, or NULL.  The fd, or -errno: -ENOTBLK when it is neither.
 */
int vdev_open(const char *path, int flags, uint64_t *size);

/*
 * May a command write path (-o: a new file renamed into place)?  0 when it
 * does not exist or is a regular file; -EINVAL for anything else (a device
 * node, a directory, a FIFO, a symbolic link: never replaced); -errno when
 * it cannot be looked at.
 */
int vout_check(const char *path);
/* 1 if fds a and b are the same file or block device (same inode or rdev), 0 if not, -errno */
int vsame_file(int a, int b);

#endif
