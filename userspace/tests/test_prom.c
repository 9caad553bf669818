// SPDX-License-Identifier: GPL-2.0
/* monitor --prometheus-textfile: the exposition text, label escaping, atomic write */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "tap.h"
#include "prom.h"

static const char want[] =
	"# HELP vdirt_read_mismatches_total Reads whose data differed from the recorded digest.\n"
	"# TYPE vdirt_read_mismatches_total counter\n"
	"vdirt_read_mismatches_total{device=\"guest0\"} 3\n"
	"vdirt_read_mismatches_total{device=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_write_drift_total Writes whose data differed from the baseline.\n"
	"# TYPE vdirt_write_drift_total counter\n"
	"vdirt_write_drift_total{device=\"guest0\"} 4\n"
	"vdirt_write_drift_total{device=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_reads_verified_total Cluster reads verified against their digest.\n"
	"# TYPE vdirt_reads_verified_total counter\n"
	"vdirt_reads_verified_total{device=\"guest0\"} 18446744073709551615\n"
	"vdirt_reads_verified_total{device=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_clusters_measured Clusters with a current digest.\n"
	"# TYPE vdirt_clusters_measured gauge\n"
	"vdirt_clusters_measured{device=\"guest0\"} 1000\n"
	"vdirt_clusters_measured{device=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_clusters_baselined Clusters with a baseline digest.\n"
	"# TYPE vdirt_clusters_baselined gauge\n"
	"vdirt_clusters_baselined{device=\"guest0\"} 900\n"
	"vdirt_clusters_baselined{device=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_meta_errors_total Metadata device I/O errors.\n"
	"# TYPE vdirt_meta_errors_total counter\n"
	"vdirt_meta_errors_total{device=\"guest0\"} 1\n"
	"vdirt_meta_errors_total{device=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_events_lost_total Mismatch events the kernel did not send (rate limit or congestion).\n"
	"# TYPE vdirt_events_lost_total counter\n"
	"vdirt_events_lost_total{device=\"guest0\"} 2\n"
	"vdirt_events_lost_total{device=\"a\\\"b\\\\c\\nd\"} 0\n"
	"# HELP vdirt_state Device state: 1 for the current one.\n"
	"# TYPE vdirt_state gauge\n"
	"vdirt_state{device=\"guest0\",state=\"ok\"} 0\n"
	"vdirt_state{device=\"guest0\",state=\"degraded\"} 1\n"
	"vdirt_state{device=\"guest0\",state=\"failed\"} 0\n"
	"vdirt_state{device=\"a\\\"b\\\\c\\nd\",state=\"ok\"} 1\n"
	"vdirt_state{device=\"a\\\"b\\\\c\\nd\",state=\"degraded\"} 0\n"
	"vdirt_state{device=\"a\\\"b\\\\c\\nd\",state=\"failed\"} 0\n";

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

int main(void)
{
	struct vprom_dev d[2] = {
		{ .name = "guest0", .state = 1, .read_mismatches = 3, .write_drift = 4,
		  .reads_verified = UINT64_MAX, .measured = 1000, .baselined = 900,
		  .meta_errors = 1, .events_lost = 2 },
		{ .name = "a\"b\\c\nd" },
	};
	char dir[] = "/tmp/vdirt-prom.XXXXXX", path[64], tmp[80];
	char *text = NULL, *got;
	size_t len = 0;
	struct stat st;
	FILE *f;
	int r;

	TAP_START();
	f = open_memstream(&text, &len);
	r = vprom_format(f, d, 2);
	fclose(f);
	OK(!r && !strcmp(text, want), "exact exposition text for two devices");
	if (strcmp(text, want))
		printf("# got:\n%s", text);
	OK(strstr(text, "device=\"a\\\"b\\\\c\\nd\"") && !strstr(text, "c\nd"),
	   "label escaping of \" \\ and newline");
	free(text);
	f = open_memstream(&text, &len);
	r = vprom_format(f, d, 0);
	fclose(f);
	OK(!r && !strstr(text, "{") && strstr(text, "# TYPE vdirt_state gauge\n"),
	   "no devices: only HELP/TYPE lines");
	free(text);

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/vdirt.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	r = vprom_write(path, d, 2);
	got = slurp(path);
	OK(!r && got && !strcmp(got, want), "written to the textfile");
	OK(stat(tmp, &st) && errno == ENOENT && !stat(path, &st) && (st.st_mode & 0777) == 0644,
	   "no .tmp left behind, mode 0644");
	d[0].read_mismatches = 4;
	r = vprom_write(path, d, 1);
	got = slurp(path);
	OK(!r && got && strstr(got, "vdirt_read_mismatches_total{device=\"guest0\"} 4\n") &&
	   !strstr(got, "a\\\"b"), "rewritten in place with the new values");
	unlink(path);
	rmdir(dir);
	OK(vprom_write("/nonexistent-dir/vdirt.prom", d, 1) == -ENOENT,
	   "an unwritable path is an error (-ENOENT)");
	TAP_DONE();
}
