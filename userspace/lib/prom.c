// SPDX-License-Identifier: GPL-2.0
/* vdirtctl: Prometheus node_exporter textfile metrics */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prom.h"
#include "util.h"

static const struct metric {
	const char *name;
	const char *type;
	const char *help;
	size_t off;
} metrics[] = {
	{ "vdirt_read_mismatches_total", "counter",
	  "Reads whose data differed from the recorded digest.",
	  offsetof(struct vprom_dev, read_mismatches) },
	{ "vdirt_write_drift_total", "counter",
	  "Writes whose data differed from the baseline.",
	  offsetof(struct vprom_dev, write_drift) },
	{ "vdirt_reads_verified_total", "counter",
	  "Cluster reads verified against their digest.",
	  offsetof(struct vprom_dev, reads_verified) },
	{ "vdirt_clusters_measured", "gauge",
	  "Clusters with a current digest.",
	  offsetof(struct vprom_dev, measured) },
	{ "vdirt_clusters_baselined", "gauge",
	  "Clusters with a baseline digest.",
	  offsetof(struct vprom_dev, baselined) },
	{ "vdirt_meta_errors_total", "counter",
	  "Metadata device I/O errors.",
	  offsetof(struct vprom_dev, meta_errors) },
	{ "vdirt_events_lost_total", "counter",
	  "Mismatch events the kernel did not send (rate limit or congestion).",
	  offsetof(struct vprom_dev, events_lost) },
};

static const char *const states[] = { "ok", "degraded", "failed" };

/* a label value: backslash, double quote and newline escaped */
static void label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int vprom_format(FILE *f, const struct vprom_dev *d, int n)
{
	unsigned int m, s;
	int i;

	for (m = 0; m < sizeof(metrics) / sizeof(metrics[0]); m++) {
		head(f, metrics[m].name, metrics[m].type, metrics[m].help);
		for (i = 0; i < n; i++) {
			fprintf(f, "%s{device=", metrics[m].name);
			label(f, d[i].name);
			fprintf(f, "} %" PRIu64 "\n",
				*(const uint64_t *)((const char *)&d[i] + metrics[m].off));
		}
	}
	head(f, "vdirt_state", "gauge", "Device state: 1 for the current one.");
	for (i = 0; i < n; i++)
		for (s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
			fputs("vdirt_state{device=", f);
			label(f, d[i].name);
			fprintf(f, ",state=\"%s\"} %d\n", states[s], d[i].state == (int)s);
		}
	return ferror(f) ? -EIO : 0;
}

int vprom_write(const char *path, const struct vprom_dev *d, int n)
{
	size_t len = strlen(path) + 5;
	char *tmp = malloc(len);
	FILE *f = NULL;
	int fd, r;

	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, len, "%s.tmp", path);
	r = vout_check(path);
	if (r)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	r = vprom_format(f, d, n);
	if (!r && (fflush(f) || fsync(fd)))
		r = -errno;
	if (fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r)
		unlink(tmp);
out:
	free(tmp);
	return r;
}
