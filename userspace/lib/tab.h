/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvdirt: /etc/vdirttab (vdirttab(5)), the devices opened at boot: one
 * entry a line, "NAME DATA_DEV META_DEV [OPTIONS]", OPTIONS comma-separated
 * (mode=audit|enforce, no-read-verify, fail-open, zero-unwritten, cache-mb=N,
 * write-back=N, noauto, nofail; "-" or "none" for none), "#" comments and blank lines ignored.
 * Read by vdirtctl open --tab and by the systemd generator.  Prints nothing.
 */
#ifndef VDIRTCTL_TAB_H
#define VDIRTCTL_TAB_H

#include <stddef.h>
#include <stdint.h>

#define VDIRTTAB "/etc/vdirttab"

struct vtab_entry {
	char name[128];		/* the dm name: /dev/mapper/NAME */
	char data[4096];	/* the data device */
	char meta[4096];	/* the metadata device */
	const char *mode;	/* "audit", "enforce" or NULL (the table's default) */
	int no_read_verify;
	int fail_open;
	int zero_unwritten;	/* the table argument zero_unwritten */
	long cache_mb;		/* 1..65536, -1: the default */
	long write_back;	/* the table argument write_back, 0..256, -1: not given */
	int noauto;		/* not opened at boot, nor by open --tab without names */
	int nofail;		/* boot goes on (libvirtd starts) if it fails */
	unsigned int line;	/* in the file, from 1 */
};

/*
 * Call fn(e, arg) for every entry of the file at path, in order, stopping
 * at fn's first non-zero return (returned).  0 at the end; -errno if the
 * file cannot be read; -EINVAL for a bad line, with its number in *bad_line
 * and why in why (n bytes); entries before it were given to fn.
 */
int vtab_read(const char *path, int (*fn)(const struct vtab_entry *e, void *arg), void *arg,
	      unsigned int *bad_line, char *why, size_t n);
/* one line (no newline) into e: 1 an entry, 0 blank or a comment, -EINVAL (why) */
int vtab_parse_line(const char *line, struct vtab_entry *e, char *why, size_t n);

#endif
