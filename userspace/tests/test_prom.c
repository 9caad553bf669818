// SPDX-License-Identifier: GPL-2.0
/*
 * monitor --prometheus-textfile: the exposition text (every metric, its
 * HELP and TYPE, the labels that join node_exporter's node_disk_*), label
 * escaping, the atomic write; promtool check metrics when Debian's
 * prometheus package is installed.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "tap.h"
#include "prom.h"

static const char want[] =
	"# HELP vdirt_device_info A dm-vdirt device: metadata uuid, hash, cluster size in bytes, mode, data device (its kernel name), read verification, fail-open; always 1.\n"
	"# TYPE vdirt_device_info gauge\n"
	"vdirt_device_info{device=\"dm-4\",name=\"guest0\",uuid=\"0123456789abcdef0123456789abcdef\",hash=\"sha256\",cluster_size=\"4096\",mode=\"enforce\",data_device=\"vda\",read_verify=\"1\",fail_open=\"0\"} 1\n"
	"vdirt_device_info{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\",uuid=\"\",hash=\"\",cluster_size=\"0\",mode=\"\",data_device=\"\",read_verify=\"0\",fail_open=\"0\"} 1\n"
	"# HELP vdirt_read_mismatches_total Reads whose data differed from the recorded digest.\n"
	"# TYPE vdirt_read_mismatches_total counter\n"
	"vdirt_read_mismatches_total{device=\"dm-4\",name=\"guest0\"} 3\n"
	"vdirt_read_mismatches_total{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_write_drift_total Writes whose data differed from the baseline.\n"
	"# TYPE vdirt_write_drift_total counter\n"
	"vdirt_write_drift_total{device=\"dm-4\",name=\"guest0\"} 4\n"
	"vdirt_write_drift_total{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_reads_verified_total Cluster reads verified against their digest.\n"
	"# TYPE vdirt_reads_verified_total counter\n"
	"vdirt_reads_verified_total{device=\"dm-4\",name=\"guest0\"} 18446744073709551615\n"
	"vdirt_reads_verified_total{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_clusters_measured Clusters with a current digest.\n"
	"# TYPE vdirt_clusters_measured gauge\n"
	"vdirt_clusters_measured{device=\"dm-4\",name=\"guest0\"} 1000\n"
	"vdirt_clusters_measured{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_clusters_baselined Clusters with a baseline digest.\n"
	"# TYPE vdirt_clusters_baselined gauge\n"
	"vdirt_clusters_baselined{device=\"dm-4\",name=\"guest0\"} 900\n"
	"vdirt_clusters_baselined{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_meta_errors_total Metadata device I/O errors.\n"
	"# TYPE vdirt_meta_errors_total counter\n"
	"vdirt_meta_errors_total{device=\"dm-4\",name=\"guest0\"} 1\n"
	"vdirt_meta_errors_total{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_events_lost_total Mismatch events the kernel did not send (rate limit or congestion).\n"
	"# TYPE vdirt_events_lost_total counter\n"
	"vdirt_events_lost_total{device=\"dm-4\",name=\"guest0\"} 2\n"
	"vdirt_events_lost_total{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_clusters Clusters of the device.\n"
	"# TYPE vdirt_clusters gauge\n"
	"vdirt_clusters{device=\"dm-4\",name=\"guest0\"} 4000\n"
	"vdirt_clusters{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_tofu_total Clusters measured on their first read (trust on first use).\n"
	"# TYPE vdirt_tofu_total counter\n"
	"vdirt_tofu_total{device=\"dm-4\",name=\"guest0\"} 7\n"
	"vdirt_tofu_total{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_unaligned_total Reads and writes that covered only part of a cluster, since the table was loaded.\n"
	"# TYPE vdirt_unaligned_total counter\n"
	"vdirt_unaligned_total{device=\"dm-4\",name=\"guest0\"} 9\n"
	"vdirt_unaligned_total{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_scan_running 1 while a background scan runs.\n"
	"# TYPE vdirt_scan_running gauge\n"
	"vdirt_scan_running{device=\"dm-4\",name=\"guest0\"} 1\n"
	"vdirt_scan_running{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_scan_clusters_done Clusters the running scan has measured (0: none runs).\n"
	"# TYPE vdirt_scan_clusters_done gauge\n"
	"vdirt_scan_clusters_done{device=\"dm-4\",name=\"guest0\"} 1000\n"
	"vdirt_scan_clusters_done{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_scan_progress_ratio Part of the device the running scan has measured, 0 to 1 (0: none runs).\n"
	"# TYPE vdirt_scan_progress_ratio gauge\n"
	"vdirt_scan_progress_ratio{device=\"dm-4\",name=\"guest0\"} 0.250000\n"
	"vdirt_scan_progress_ratio{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_recovery_running 1 while crash recovery measures the regions left dirty again.\n"
	"# TYPE vdirt_recovery_running gauge\n"
	"vdirt_recovery_running{device=\"dm-4\",name=\"guest0\"} 1\n"
	"vdirt_recovery_running{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_recovery_clusters_done Clusters of the dirty regions crash recovery has measured again (0: none runs).\n"
	"# TYPE vdirt_recovery_clusters_done gauge\n"
	"vdirt_recovery_clusters_done{device=\"dm-4\",name=\"guest0\"} 30\n"
	"vdirt_recovery_clusters_done{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_recovery_clusters Clusters of the dirty regions crash recovery measures again (0: none runs).\n"
	"# TYPE vdirt_recovery_clusters gauge\n"
	"vdirt_recovery_clusters{device=\"dm-4\",name=\"guest0\"} 90\n"
	"vdirt_recovery_clusters{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_recovery_progress_ratio Part of the dirty regions crash recovery has measured again, 0 to 1 (0: none runs).\n"
	"# TYPE vdirt_recovery_progress_ratio gauge\n"
	"vdirt_recovery_progress_ratio{device=\"dm-4\",name=\"guest0\"} 0.333333\n"
	"vdirt_recovery_progress_ratio{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_state Device state: 1 for the current one.\n"
	"# TYPE vdirt_state gauge\n"
	"vdirt_state{device=\"dm-4\",name=\"guest0\",state=\"ok\"} 0\n"
	"vdirt_state{device=\"dm-4\",name=\"guest0\",state=\"degraded\"} 1\n"
	"vdirt_state{device=\"dm-4\",name=\"guest0\",state=\"failed\"} 0\n"
	"vdirt_state{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\",state=\"ok\"} 1\n"
	"vdirt_state{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\",state=\"degraded\"} 0\n"
	"vdirt_state{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\",state=\"failed\"} 0\n"
	"# HELP vdirt_last_update_timestamp_seconds When vdirtctl monitor wrote these metrics, seconds since the epoch.\n"
	"# TYPE vdirt_last_update_timestamp_seconds gauge\n"
	"vdirt_last_update_timestamp_seconds 1764147600.123\n";

static char *slurp(const char *path)
{
	static char buf[16384];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

#define NOW 1764147600123456789ULL

/* the value of the series that starts with prefix (name{labels} ), or NULL */
static const char *val(const char *text, const char *prefix)
{
	static char v[64];
	const char *p = text;
	size_t l = strlen(prefix);

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, prefix, l) && p[l] == ' ') {
			snprintf(v, sizeof(v), "%.*s", (int)strcspn(p + l + 1, "\n"), p + l + 1);
			return v;
		}
	return NULL;
}

static int is(const char *text, const char *prefix, const char *want)
{
	const char *v = val(text, prefix);

	if (v && !strcmp(v, want))
		return 1;
	printf("# %s = %s, wanted %s\n", prefix, v ? v : "(none)", want);
	return 0;
}

/* every sample line of a device has device="dm-N" first, then name=; each metric HELP and TYPE */
static int well_formed(const char *text, int *nmetrics)
{
	char name[128], help[128] = "", type[128] = "";
	const char *p;
	int ok = 1;

	*nmetrics = 0;
	for (p = text; *p; p = strchr(p, '\n') + 1) {
		size_t n = strcspn(p, "\n");

		if (!strncmp(p, "# HELP ", 7)) {
			snprintf(help, sizeof(help), "%.*s", (int)strcspn(p + 7, " "), p + 7);
			(*nmetrics)++;
		} else if (!strncmp(p, "# TYPE ", 7)) {
			snprintf(type, sizeof(type), "%.*s", (int)strcspn(p + 7, " "), p + 7);
			if (strcmp(type, help))
				ok = 0;
		} else {
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, "{ "), p);
			if (strcmp(name, help) || strcmp(name, type))
				ok = 0;		/* a sample without its HELP and TYPE */
			if (strcmp(name, "vdirt_last_update_timestamp_seconds") &&
			    strncmp(p + strlen(name), "{device=\"dm-", 12))
				ok = 0;
			if (!ok)
				printf("# %.*s\n", (int)n, p);
		}
		if (!p[n])
			break;
	}
	return ok;
}

/* "_total" exactly on counters (Prometheus' naming rules, as promtool checks them) */
static int naming(const char *text)
{
	const char *p;
	int ok = 1;

	for (p = strstr(text, "# TYPE "); p; p = strstr(p + 1, "# TYPE ")) {
		size_t n = strcspn(p + 7, " ");
		int total = n > 6 && !strncmp(p + 7 + n - 6, "_total", 6);
		int counter = !strncmp(p + 7 + n, " counter\n", 9);

		if (total != counter) {
			printf("# %.*s\n", (int)strcspn(p, "\n"), p);
			ok = 0;
		}
	}
	return ok;
}

int main(void)
{
	struct vprom_dev d[2] = {
		{ .name = "guest0", .kname = "dm-4", .uuid = "0123456789abcdef0123456789abcdef",
		  .hash = "sha256", .mode = "enforce", .data_device = "vda", .cluster_size = 4096,
		  .read_verify = 1, .fail_open = 0,
		  .state = 1, .read_mismatches = 3, .write_drift = 4,
		  .reads_verified = UINT64_MAX, .measured = 1000, .baselined = 900,
		  .meta_errors = 1, .events_lost = 2, .clusters = 4000, .tofu = 7, .unaligned = 9,
		  .scan_running = 1, .scan_done = 1000, .recovery_done = 30, .recovery_total = 90 },
		{ .name = "a\"b\\c\nd", .kname = "dm-12" },
	};
	char dir[] = "/tmp/vdirt-prom.XXXXXX", path[64], tmp[80], cmd[160];
	char *text = NULL, *got;
	size_t len = 0;
	struct stat st;
	int r, nm;
	FILE *f;

	TAP_START();
	f = open_memstream(&text, &len);
	r = vprom_format(f, d, 2, NOW);
	fclose(f);
	OK(!r && !strcmp(text, want), "exact exposition text for two devices");
	if (strcmp(text, want))
		printf("# got:\n%s", text);
	OK(strstr(text, "name=\"a\\\"b\\\\c\\nd\"") && !strstr(text, "c\nd"),
	   "label escaping of \" \\ and newline");
	OK(well_formed(text, &nm) && nm == 20,
	   "20 metrics, each with HELP and TYPE; every device series has device=\"dm-N\",name=...");
	OK(is(text, "vdirt_read_mismatches_total{device=\"dm-4\",name=\"guest0\"}", "3") &&
	   is(text, "vdirt_write_drift_total{device=\"dm-4\",name=\"guest0\"}", "4") &&
	   is(text, "vdirt_reads_verified_total{device=\"dm-4\",name=\"guest0\"}",
	      "18446744073709551615") &&
	   is(text, "vdirt_clusters_measured{device=\"dm-4\",name=\"guest0\"}", "1000") &&
	   is(text, "vdirt_clusters_baselined{device=\"dm-4\",name=\"guest0\"}", "900") &&
	   is(text, "vdirt_meta_errors_total{device=\"dm-4\",name=\"guest0\"}", "1") &&
	   is(text, "vdirt_events_lost_total{device=\"dm-4\",name=\"guest0\"}", "2") &&
	   is(text, "vdirt_state{device=\"dm-4\",name=\"guest0\",state=\"degraded\"}", "1"),
	   "the metric names of 1.0 keep their values");
	OK(is(text, "vdirt_device_info{device=\"dm-4\",name=\"guest0\","
	      "uuid=\"0123456789abcdef0123456789abcdef\",hash=\"sha256\",cluster_size=\"4096\","
	      "mode=\"enforce\",data_device=\"vda\",read_verify=\"1\",fail_open=\"0\"}", "1") &&
	   strstr(text, "# TYPE vdirt_device_info gauge\n"),
	   "vdirt_device_info: uuid, hash, cluster_size, mode, data_device, read_verify, fail_open");
	OK(is(text, "vdirt_device_info{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\",uuid=\"\",hash=\"\","
	      "cluster_size=\"0\",mode=\"\",data_device=\"\",read_verify=\"0\",fail_open=\"0\"}", "1"),
	   "... what is not known is an empty label value");
	OK(is(text, "vdirt_clusters{device=\"dm-4\",name=\"guest0\"}", "4000") &&
	   strstr(text, "# TYPE vdirt_clusters gauge\n"), "vdirt_clusters (gauge)");
	OK(is(text, "vdirt_tofu_total{device=\"dm-4\",name=\"guest0\"}", "7") &&
	   strstr(text, "# TYPE vdirt_tofu_total counter\n"), "vdirt_tofu_total (counter)");
	OK(is(text, "vdirt_unaligned_total{device=\"dm-4\",name=\"guest0\"}", "9") &&
	   strstr(text, "# TYPE vdirt_unaligned_total counter\n"), "vdirt_unaligned_total (counter)");
	OK(is(text, "vdirt_scan_running{device=\"dm-4\",name=\"guest0\"}", "1") &&
	   is(text, "vdirt_scan_clusters_done{device=\"dm-4\",name=\"guest0\"}", "1000") &&
	   is(text, "vdirt_scan_progress_ratio{device=\"dm-4\",name=\"guest0\"}", "0.250000"),
	   "scan: running, clusters done, ratio of the device");
	OK(is(text, "vdirt_recovery_running{device=\"dm-4\",name=\"guest0\"}", "1") &&
	   is(text, "vdirt_recovery_clusters_done{device=\"dm-4\",name=\"guest0\"}", "30") &&
	   is(text, "vdirt_recovery_clusters{device=\"dm-4\",name=\"guest0\"}", "90") &&
	   is(text, "vdirt_recovery_progress_ratio{device=\"dm-4\",name=\"guest0\"}", "0.333333"),
	   "recovery: running, clusters done and total, ratio");
	OK(is(text, "vdirt_scan_running{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"}", "0") &&
	   is(text, "vdirt_scan_progress_ratio{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"}", "0") &&
	   is(text, "vdirt_recovery_running{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"}", "0") &&
	   is(text, "vdirt_recovery_progress_ratio{device=\"dm-12\",name=\"a\\\"b\\\\c\\nd\"}", "0"),
	   "no scan, no recovery: 0, not a division by zero");
	OK(is(text, "vdirt_last_update_timestamp_seconds", "1764147600.123") &&
	   strstr(text, "# TYPE vdirt_last_update_timestamp_seconds gauge\n"),
	   "vdirt_last_update_timestamp_seconds: the write's time in seconds, ms precision");
	OK(naming(text), "naming: a name ends in _total exactly when its TYPE is counter");
	free(text);
	d[0].scan_done = 4000;
	d[0].recovery_done = 200;
	f = open_memstream(&text, &len);
	r = vprom_format(f, d, 1, NOW);
	fclose(f);
	OK(!r && is(text, "vdirt_scan_progress_ratio{device=\"dm-4\",name=\"guest0\"}", "1") &&
	   is(text, "vdirt_recovery_progress_ratio{device=\"dm-4\",name=\"guest0\"}", "1"),
	   "a ratio never exceeds 1");
	d[0].scan_done = 1000;
	d[0].recovery_done = 30;
	free(text);
	f = open_memstream(&text, &len);
	r = vprom_format(f, d, 0, NOW);
	fclose(f);
	OK(!r && !strstr(text, "{") && strstr(text, "# TYPE vdirt_state gauge\n") &&
	   strstr(text, "\nvdirt_last_update_timestamp_seconds 1764147600.123\n"),
	   "no devices: only HELP/TYPE lines and the timestamp");
	free(text);

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/vdirt.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	r = vprom_write(path, d, 2, NOW);
	got = slurp(path);
	OK(!r && got && !strcmp(got, want), "written to the textfile");
	OK(stat(tmp, &st) && errno == ENOENT && !stat(path, &st) && (st.st_mode & 0777) == 0644,
	   "no .tmp left behind, mode 0644");
	if (!system("command -v promtool >/dev/null 2>&1")) {
		snprintf(cmd, sizeof(cmd), "promtool check metrics <%s >%s/lint 2>&1", path, dir);
		r = system(cmd);
		snprintf(cmd, sizeof(cmd), "%s/lint", dir);
		got = slurp(cmd);
		OK(r == 0 && got && !*got, "promtool check metrics: no error, no lint");
		if (r || (got && *got))
			printf("# %s", got ? got : "");
		unlink(cmd);
	} else {
		OK(1, "promtool check metrics # SKIP no promtool (Debian's prometheus package)");
	}
	d[0].read_mismatches = 4;
	r = vprom_write(path, d, 1, NOW);
	got = slurp(path);
	OK(!r && got && strstr(got, "vdirt_read_mismatches_total{device=\"dm-4\",name=\"guest0\"} 4\n") &&
	   !strstr(got, "a\\\"b"), "rewritten in place with the new values");
	unlink(path);
	rmdir(dir);
	OK(vprom_write("/nonexistent-dir/vdirt.prom", d, 1, NOW) == -ENOENT,
	   "an unwritable path is an error (-ENOENT)");
	TAP_DONE();
}
