// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: the log hook (the library prints nothing itself), number and
 * size parsing (decimal), hex, clocks, status lines, whole reads and writes,
 * opening a device or image, output paths a command may replace, the
 * same-device test.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static vlog_fn log_fn;	/* set once by the program, before any other call */

void vlog_set(vlog_fn fn)
{
	log_fn = fn;
}

void vlog(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, msg);
}

/* decimal digits only: "010" is ten, "0x10", "1e3", " 1", "+1", "" are refused */
int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		switch (*end) {
		case 's': case 'S': shift = 9; break;
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: return -EINVAL;
		}
		end++;
		if (shift != 9 && (*end == 'i' || *end == 'I'))
			end++;
		if (shift != 9 && (*end == 'b' || *end == 'B'))
			end++;
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (~0ULL >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

void hex(char *out, const uint8_t *p, size_t n)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int unhex(uint8_t *out, size_t n, const char *s)
{
	size_t i;

	if (strlen(s) != 2 * n)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		int a = hexval(s[2 * i]), b = hexval(s[2 * i + 1]);

		if (a < 0 || b < 0)
			return -EINVAL;
		out[i] = a << 4 | b;
	}
	return 0;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int status_get(const char *s, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);

	while (s && *s) {
		while (*s == ' ')
			s++;
		if (!strncmp(s, key, kl) && s[kl] == '=') {
			const char *v = s + kl + 1;
			size_t n = strcspn(v, " ");

			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, v, n);
			out[n] = 0;
			return 0;
		}
		s = strchr(s, ' ');
	}
	return -ENOENT;
}

int vpurge_parse(const char *val, uint64_t *pos, uint64_t *total)
{
	char a[24], b[24];
	const char *slash = strchr(val, '/');
	size_t n;

	if (!strcmp(val, "-"))
		return 0;
	if (!slash || (n = (size_t)(slash - val)) >= sizeof(a) || strlen(slash + 1) >= sizeof(b))
		return -EINVAL;
	memcpy(a, val, n);
	a[n] = 0;
	strcpy(b, slash + 1);
	if (parse_u64(a, pos) || parse_u64(b, total) || *pos > *total)
		return -EINVAL;
	return 1;
}

int read_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		done += n;
	}
	return 0;
}

int write_full(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, off + done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += n;
	}
	return 0;
}

int vout_check(const char *path)
{
	struct stat st;

	if (!lstat(path, &st))
		return S_ISREG(st.st_mode) ? 0 : -EINVAL;
	return errno == ENOENT ? 0 : -errno;
}

int vsame_file(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) || fstat(b, &sb))
		return -errno;
	if (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode))
		return sa.st_rdev == sb.st_rdev;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int vdev_open(const char *path, int flags, uint64_t *size)
{
	int fd = open(path, flags | O_CLOEXEC), r = 0;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (!size)
		return fd;
	if (fstat(fd, &st))
		r = -errno;
	else if (S_ISBLK(st.st_mode))
		r = ioctl(fd, BLKGETSIZE64, size) ? -errno : 0;
	else if (S_ISREG(st.st_mode))
		*size = st.st_size;
	else
		r = -ENOTBLK;
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}
