// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: /etc/vdirttab, the devices opened at boot (vdirttab(5)): a line
 * parser and a reader calling back per entry.  Used by vdirtctl open --tab
 * and by the systemd generator (generator/vdirt-generator.c).  Prints nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tab.h"
#include "util.h"

#define FAIL(...) do { snprintf(why, n, __VA_ARGS__); return -EINVAL; } while (0)

/* one comma-separated option into e */
static int parse_opt(const char *opt, struct vtab_entry *e, char *why, size_t n)
{
	uint64_t v;

	if (!strcmp(opt, "mode=audit") || !strcmp(opt, "mode=enforce"))
		e->mode = !strcmp(opt, "mode=audit") ? "audit" : "enforce";
	else if (!strcmp(opt, "no-read-verify"))
		e->no_read_verify = 1;
	else if (!strcmp(opt, "fail-open"))
		e->fail_open = 1;
	else if (!strcmp(opt, "zero-unwritten"))
		e->zero_unwritten = 1;
	else if (!strcmp(opt, "noauto"))
		e->noauto = 1;
	else if (!strcmp(opt, "nofail"))
		e->nofail = 1;
	else if (!strncmp(opt, "cache-mb=", 9)) {
		if (parse_u64(opt + 9, &v) || !v || v > 65536)
			FAIL("cache-mb=%s: 1..65536 (MiB)", opt + 9);
		e->cache_mb = v;
	} else if (!strncmp(opt, "write-back=", 11)) {
		if (parse_u64(opt + 11, &v) || v > 256)
			FAIL("write-back=%s: 0..256 (writes)", opt + 11);
		e->write_back = v;
	} else if (!strncmp(opt, "mode=", 5))
		FAIL("%s: the mode is audit or enforce", opt);
	else
		FAIL("unknown option '%s'", opt);
	return 0;
}

/* the next whitespace-separated word of *p into out (len bytes); 0, or -1 at the end */
static int word(const char **p, char *out, size_t len, int *too_long)
{
	const char *s = *p;
	size_t k;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return -1;
	k = strcspn(s, " \t");
	*too_long = k >= len;
	if (!*too_long) {
		memcpy(out, s, k);
		out[k] = 0;
	}
	*p = s + k;
	return 0;
}

int vtab_parse_line(const char *line, struct vtab_entry *e, char *why, size_t n)
{
	char opts[1024], extra[8], *o, *save = NULL;
	const char *p = line;
	int tl;

	memset(e, 0, sizeof(*e));
	e->cache_mb = -1;
	e->write_back = -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || *p == '#')
		return 0;
	if (word(&p, e->name, sizeof(e->name), &tl) || tl)
		FAIL(tl ? "the name is too long" : "no name");
	if (strspn(e->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+:-") !=
	    strlen(e->name))
		FAIL("the name '%s': only letters, digits and . _ + : -", e->name);
	if (word(&p, e->data, sizeof(e->data), &tl) || tl)
		FAIL("%s: no data device", e->name);
	if (word(&p, e->meta, sizeof(e->meta), &tl) || tl)
		FAIL("%s: no metadata device", e->name);
	if (!strcmp(e->data, e->meta))
		FAIL("%s: the data and metadata devices are the same", e->name);
	if (word(&p, opts, sizeof(opts), &tl)) {
		opts[0] = 0;
	} else if (tl) {
		FAIL("%s: options too long", e->name);
	}
	if (!word(&p, extra, sizeof(extra), &tl))
		FAIL("%s: more than four fields (options are one comma-separated field)", e->name);
	if (!strcmp(opts, "-") || !strcmp(opts, "none"))
		opts[0] = 0;
	for (o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
		if (parse_opt(o, e, why, n))
			return -EINVAL;
	return 1;
}

int vtab_read(const char *path, int (*fn)(const struct vtab_entry *e, void *arg), void *arg,
	      unsigned int *bad_line, char *why, size_t n)
{
	struct vtab_entry *e = malloc(sizeof(*e));
	char *line = NULL;
	size_t cap = 0;
	unsigned int no = 0;
	ssize_t len;
	FILE *f;
	int r = 0;

	*bad_line = 0;
	if (!e)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		free(e);
		return r;
	}
	while (!r && (len = getline(&line, &cap, f)) >= 0) {
		no++;
		if (len && line[len - 1] == '\n')
			line[len - 1] = 0;
		r = vtab_parse_line(line, e, why, n);
		if (r < 0) {
			*bad_line = no;
			break;
		}
		e->line = no;
		r = r ? fn(e, arg) : 0;
	}
	if (!r && ferror(f))
		r = -EIO;
	fclose(f);
	free(line);
	free(e);
	return r;
}
