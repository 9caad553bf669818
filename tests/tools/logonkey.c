// SPDX-License-Identifier: GPL-2.0
/*
 * logonkey - add a "logon" key (what dm-vdirt's log_key: names) with the
 * bytes of a file, or unlink one: the guest has no keyctl.
 *
 * Usage: logonkey add DESC FILE   the key in the user and user-session
 *                                 keyrings (a table loaded from a shell
 *                                 without a session keyring finds it)
 *        logonkey del DESC        unlink it from both
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEY_SPEC_USER_KEYRING		-4
#define KEY_SPEC_USER_SESSION_KEYRING	-5
#define KEYCTL_UNLINK			9
#define KEYCTL_SEARCH			10

static long add(const char *desc, const void *p, size_t n, int ring)
{
	return syscall(SYS_add_key, "logon", desc, p, n, ring);
}

static int del(const char *desc, int ring)
{
	long id = syscall(SYS_keyctl, KEYCTL_SEARCH, ring, "logon", desc, 0);

	if (id < 0)
		return -1;
	return syscall(SYS_keyctl, KEYCTL_UNLINK, id, ring) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if (argc == 3 && !strcmp(argv[1], "del")) {
		int a = del(argv[2], KEY_SPEC_USER_KEYRING);
		int b = del(argv[2], KEY_SPEC_USER_SESSION_KEYRING);

		return a && b ? 1 : 0;
	}
	if (argc != 4 || strcmp(argv[1], "add")) {
		fprintf(stderr, "usage: logonkey add DESC FILE | logonkey del DESC\n");
		return 2;
	}
	fd = open(argv[3], O_RDONLY);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf))) < 0) {
		perror(argv[3]);
		return 1;
	}
	close(fd);
	if (add(argv[2], buf, n, KEY_SPEC_USER_KEYRING) < 0 ||
	    add(argv[2], buf, n, KEY_SPEC_USER_SESSION_KEYRING) < 0) {
		fprintf(stderr, "logonkey: add_key %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	return 0;
}
