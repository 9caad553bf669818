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

/* how a metric's value is had from its device */
enum { V_U64, V_INT, V_SCAN_RATIO, V_RECOVERY_RATIO, V_RECOVERY_RUNNING };

static const struct metric {
	const char *name;
	const char *type;
	const char *help;
	int v;
	size_t off;		/* V_U64, V_INT: the field */
} metrics[] = {
	/* the first names: scripts and alerts use them, never renamed */
	{ "vdirt_read_mismatches_total", "counter",
	  "Reads whose data differed from the recorded digest.",
	  V_U64, offsetof(struct vprom_dev, read_mismatches) },
	{ "vdirt_write_drift_total", "counter",
	  "Writes whose data differed from the baseline.",
	  V_U64, offsetof(struct vprom_dev, write_drift) },
	{ "vdirt_reads_verified_total", "counter",
	  "Cluster reads verified against their digest.",
	  V_U64, offsetof(struct vprom_dev, reads_verified) },
	{ "vdirt_clusters_measured", "gauge",
	  "Clusters with a current digest.",
	  V_U64, offsetof(struct vprom_dev, measured) },
	{ "vdirt_clusters_baselined", "gauge",
	  "Clusters with a baseline digest.",
	  V_U64, offsetof(struct vprom_dev, baselined) },
	{ "vdirt_meta_errors_total", "counter",
	  "Metadata device I/O errors.",
	  V_U64, offsetof(struct vprom_dev, meta_errors) },
	{ "vdirt_events_lost_total", "counter",
	  "Mismatch events the kernel did not send (rate limit or congestion).",
	  V_U64, offsetof(struct vprom_dev, events_lost) },
	/* added with vdirt_device_info */
	{ "vdirt_clusters", "gauge",
	  "Clusters of the device.",
	  V_U64, offsetof(struct vprom_dev, clusters) },
	{ "vdirt_tofu_total", "counter",
	  "Clusters measured on their first read (trust on first use).",
	  V_U64, offsetof(struct vprom_dev, tofu) },
	{ "vdirt_unaligned_total", "counter",
	  "Reads and writes that covered only part of a cluster, since the table was loaded.",
	  V_U64, offsetof(struct vprom_dev, unaligned) },
	{ "vdirt_scan_running", "gauge",
	  "1 while a background scan runs.",
	  V_INT, offsetof(struct vprom_dev, scan_running) },
	{ "vdirt_scan_clusters_done", "gauge",
	  "Clusters the running scan has measured (0: none runs).",
	  V_U64, offsetof(struct vprom_dev, scan_done) },
	{ "vdirt_scan_progress_ratio", "gauge",
	  "Part of the device the running scan has measured, 0 to 1 (0: none runs).",
	  V_SCAN_RATIO, 0 },
	{ "vdirt_recovery_running", "gauge",
	  "1 while crash recovery measures the regions left dirty again.",
	  V_RECOVERY_RUNNING, 0 },
	{ "vdirt_recovery_clusters_done", "gauge",
	  "Clusters of the dirty regions crash recovery has measured again (0: none runs).",
	  V_U64, offsetof(struct vprom_dev, recovery_done) },
	{ "vdirt_recovery_clusters", "gauge",
	  "Clusters of the dirty regions crash recovery measures again (0: none runs).",
	  V_U64, offsetof(struct vprom_dev, recovery_total) },
	{ "vdirt_recovery_progress_ratio", "gauge",
	  "Part of the dirty regions crash recovery has measured again, 0 to 1 (0: none runs).",
	  V_RECOVERY_RATIO, 0 },
};

static const char *const states[] = { "ok", "degraded", "failed" };

/* a label value: backslash, double quote and newline escaped */
static void label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* name{device="dm-N",name="NAME" (no closing brace) */
static void series(FILE *f, const char *name, const struct vprom_dev *d)
{
	fprintf(f, "%s{device=", name);
	label(f, d->kname);
	fputs(",name=", f);
	label(f, d->name);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void ratio(FILE *f, uint64_t done, uint64_t total)
{
	if (!total)
		fputs("0", f);
	else if (done >= total)
		fputs("1", f);
	else
		fprintf(f, "%.6f", (double)done / (double)total);
}

static void value(FILE *f, const struct metric *m, const struct vprom_dev *d)
{
	const char *p = (const char *)d + m->off;

	switch (m->v) {
	case V_U64:
		fprintf(f, "%" PRIu64, *(const uint64_t *)p);
		break;
	case V_INT:
		fprintf(f, "%d", *(const int *)p);
		break;
	case V_SCAN_RATIO:
		ratio(f, d->scan_running ? d->scan_done : 0, d->scan_running ? d->clusters : 0);
		break;
	case V_RECOVERY_RATIO:
		ratio(f, d->recovery_done, d->recovery_total);
		break;
	case V_RECOVERY_RUNNING:
		fprintf(f, "%d", !!d->recovery_total);
		break;
	}
}

static void info(FILE *f, const struct vprom_dev *d)
{
	char cs[16];

	snprintf(cs, sizeof(cs), "%u", d->cluster_size);
	series(f, "vdirt_device_info", d);
	fputs(",uuid=", f);
	label(f, d->uuid);
	fputs(",hash=", f);
	label(f, d->hash);
	fputs(",cluster_size=", f);
	label(f, cs);
	fputs(",mode=", f);
	label(f, d->mode);
	fputs(",data_device=", f);
	label(f, d->data_device);
	fprintf(f, ",read_verify=\"%d\",fail_open=\"%d\"} 1\n", !!d->read_verify, !!d->fail_open);
}

int vprom_format(FILE *f, const struct vprom_dev *d, int n, uint64_t now_ns)
{
	unsigned int m, s;
	int i;

	head(f, "vdirt_device_info", "gauge",
	     "A dm-vdirt device: metadata uuid, hash, cluster size in bytes, mode, "
	     "data device (its kernel name), read verification, fail-open; always 1.");
	for (i = 0; i < n; i++)
		info(f, &d[i]);
	for (m = 0; m < sizeof(metrics) / sizeof(metrics[0]); m++) {
		head(f, metrics[m].name, metrics[m].type, metrics[m].help);
		for (i = 0; i < n; i++) {
			series(f, metrics[m].name, &d[i]);
			fputs("} ", f);
			value(f, &metrics[m], &d[i]);
			fputc('\n', f);
		}
	}
	head(f, "vdirt_state", "gauge", "Device state: 1 for the current one.");
	for (i = 0; i < n; i++)
		for (s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
			series(f, "vdirt_state", &d[i]);
			fprintf(f, ",state=\"%s\"} %d\n", states[s], d[i].state == (int)s);
		}
	head(f, "vdirt_last_update_timestamp_seconds", "gauge",
	     "When vdirtctl monitor wrote these metrics, seconds since the epoch.");
	fprintf(f, "vdirt_last_update_timestamp_seconds %" PRIu64 ".%03u\n",
		now_ns / (uint64_t)1000000000, (unsigned int)(now_ns % (uint64_t)1000000000 / 1000000));
	return ferror(f) ? -EIO : 0;
}

int vprom_write(const char *path, const struct vprom_dev *d, int n, uint64_t now_ns)
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
	r = vprom_format(f, d, n, now_ns);
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
