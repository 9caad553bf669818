// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl - manage dm-vdirt devices: metadata format, open/close/status,
 * baselines, mismatch reports and events.  See vdirtctl.8.
 *
 * This file: the option table (which commands take each option), the
 * command table, -errno to exit code, and main().  The commands are in
 * cmd_*.c, the work they do in lib/ (libvdirt.a).
 *
 * Adding a command: a line in commands[] (name, function, min/max
 * arguments checked before it runs, usage, help); the function returns 0,
 * -errno (errno_to_exit() gives the code, its stdout is dropped) or an exit
 * code (EXIT_* of cmd.h; return cmd_verdict(code) when that code is an
 * answer whose output is kept).  A command whose output streams (too big
 * to hold, or as it happens) is named in streaming[].  Its options: add
 * the command's name to the cmds list of each option it takes in opts[]
 * (a new option: a line there, a value in set_opt(), a field in struct
 * opts); every other option is refused before it runs ("option --X is not
 * allowed with CMD", exit 2), and numbers go through opt_num() (decimal,
 * a range, sizes with K/M/G/T).  An -o style path goes through
 * check_outputs().  Document each in vdirtctl.8 (COMMANDS, OPTIONS, EXIT
 * STATUS).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "dm.h"
#include "format.h"
#include "util.h"

static const struct command commands[] = {
	{ "meta-size", cmd_meta_size, 1, 1, "<data_size|data_dev>", "print the metadata bytes needed" },
	{ "format", cmd_format, 2, 2, "<data_dev> <meta_dev>", "write the metadata superblock" },
	{ "open", cmd_open, 0, -1, "<data_dev> <meta_dev> <name> | --tab [<file> [<name>...]]",
	  "create /dev/mapper/<name>; --tab: the entries of /etc/vdirttab" },
	{ "close", cmd_close, 1, 1, "<name>", "remove the device" },
	{ "status", cmd_status, 1, 1, "<name>", "geometry, state and counters" },
	{ "list", cmd_list, 0, 0, "", "all vdirt devices: table, status and netlink info" },
	{ "devices", cmd_list, 0, 0, "", "the same as list" },
	{ "check", cmd_check, 1, 1, "<meta_dev>",
	  "offline: both superblock copies, the one in use, regions to recover (exit 0/20/21)" },
	{ "upgrade", cmd_upgrade, 1, 1, "<meta_dev>",
	  "offline: add the regions older metadata lacks (staging area ... written bitmap)" },
	{ "purge", cmd_purge, 1, 1, "<name>",
	  "every cluster unwritten: reads give zeros (needs zero_unwritten; --wait: the walk)" },
	{ "baseline build", cmd_baseline_build, 1, 1, "<image_or_device> -o <file>|--root",
	  "hash a golden image" },
	{ "baseline show", cmd_baseline_show, 1, 1, "<file>",
	  "check a baseline file, print its header" },
	{ "baseline load", cmd_baseline_load, 2, 2, "<name> <file>",
	  "load a baseline file (atomically)" },
	{ "baseline capture", cmd_baseline_capture, 1, 1, "<name>",
	  "current measurements become the baseline" },
	{ "baseline clear", cmd_baseline_clear, 1, 1, "<name>", "forget the baseline" },
	{ "monitor", cmd_monitor, 0, -1, "[<name>...|--all]", "print mismatch events as they happen" },
	{ "report", cmd_report, 1, 1, "<name>", "every recorded mismatch" },
	{ "files", cmd_files, 2, -1, "<name|device|image> <cluster>...|-",
	  "the partition, filesystem block and files of each cluster (libtsk)" },
	{ "clear", cmd_clear, 1, 1, "<name>", "clear the recorded mismatches" },
	{ "scan", cmd_scan, 1, 2, "<name> [stop]", "start (or stop) a full verification pass" },
	{ "hashes", cmd_hashes, 1, 3, "<name> [<first> [<count>]]", "current and baseline digests" },
	{ "epoch", cmd_epoch, 1, 1, "<name>", "close the current epoch, open the next" },
	{ "epochs", cmd_epochs, 1, 1, "<name>", "the retained epochs" },
	{ "changed", cmd_changed, 1, 1, "<name> --since <E>",
	  "clusters written after epoch E closed" },
	{ "timeline", cmd_timeline, 1, 1, "<name>", "epochs and records in time order" },
	{ "log", cmd_log, 0, 1, "<name> | --meta <meta_dev>",
	  "every record of the hash-chained log; --verify checks the chain (exit 6: the bad record)" },
	{ "checkpoint verify", cmd_checkpoint_verify, 2, 2, "<name> <file>",
	  "does the device's state extend the checkpoint? (exit 10 if not)" },
	{ "checkpoint", cmd_checkpoint, 1, 1, "<name> -o <file>",
	  "write a checkpoint of the device's state (uuid, epoch, seq, log head and hash)" },
	/* attestation (issue 15) */
	{ "attest", cmd_attest, 1, 1, "<name>",
	  "the attestation root over every digest (--proof: a cluster's inclusion proof)" },
	{ "verify-proof", cmd_verify_proof, 1, 1, "<proof.json>",
	  "offline: check an inclusion proof against its root (exit 0 valid, 10 not, 6 malformed)" },
	{ "export", cmd_export, 1, 1, "<name> -o <dir>",
	  "evidence export from a metadata snapshot: manifest, digest list, log" },
	{ "verify-image", cmd_verify_image, 2, 2, "<image> <dir>",
	  "offline: an image against an export (exit 0 match, 10 clusters differ, 6 export edited)" },
	{ NULL, NULL, 0, 0, NULL, NULL }
};

/*
 * The commands whose output streams (too big to hold, or as it happens):
 * printed as it comes, so each prints nothing before its first answer.
 * Every other command's stdout is held and dropped if it fails.
 */
static const char *const streaming[] = { "monitor", "hashes", "changed", "files", NULL };

/* the command main() runs */
static const struct command *current;

enum { O_MODE = 256, O_NO_RV, O_FAIL_OPEN, O_CACHE, O_HELP, O_PROGRESS,
       O_NO_PROGRESS, O_ALL, O_JOURNAL, O_PROM, O_INTERVAL, O_UNPACKED, O_WITHOUT,
       O_EPOCHS, O_LABEL, O_SINCE, O_UNTIL, O_HASHES, O_META, O_VERIFY, O_KEY_FILE,
       O_ZERO_UNW, O_WRITE_BACK };

#define GEOMETRY "meta-size,format,open,baseline build"
#define WAITERS "baseline build,baseline load,baseline capture,baseline clear,clear,scan,purge"
/* report --files, open --tab (values of their own, apart from the O_* list above) */
enum { O_FILES = 400, O_TAB = 401 };
/* attestation: baseline build --root, attest --proof */
enum { O_ROOT = 420, O_PROOF };

/* every option; cmds: the commands that take it (comma-separated), NULL: all */
static const struct opt_def {
	const char *name;
	int has_arg;
	int val;		/* the short option, or O_* */
	const char *cmds;
	const char *arg, *help;
} opts[] = {
	{ "cluster-size", required_argument, 'c', GEOMETRY ",files", "N",
	  "cluster size in bytes (default 4096; files: the device's)" },
	{ "hash", required_argument, 'h', GEOMETRY, "ALG", "hash algorithm (default sha256)" },
	{ "output", required_argument, 'o', "baseline build,checkpoint,export", "FILE",
	  "output file (export: a new or empty directory)" },
	{ "meta", required_argument, O_META, "log", "META_DEV",
	  "offline: the log on this metadata device" },
	{ "verify", no_argument, O_VERIFY, "log", NULL,
	  "check the hash chain up to the superblock's log_hash" },
	{ "key-file", required_argument, O_KEY_FILE, "log,checkpoint verify", "FILE",
	  "the log_key's bytes, to check an HMAC chain" },
	{ "threads", required_argument, 't', "baseline build", "N", "hashing threads (default: CPUs)" },
	{ "force", no_argument, 'f', "format", NULL, "format over an existing superblock" },
	{ "epochs", required_argument, O_EPOCHS, "meta-size,format", "N",
	  "epochs whose write sets are kept (default 16, 2..4096)" },
	{ "label", required_argument, O_LABEL, "epoch", "L", "the new epoch's label" },
	{ "since", required_argument, O_SINCE, "changed,timeline", "E",
	  "after epoch E closed" },
	{ "until", required_argument, O_UNTIL, "changed", "F", "up to the end of epoch F (default: now)" },
	{ "hashes", no_argument, O_HASHES, "changed", NULL,
	  "each cluster's digest, epoch and time of its last write" },
	{ "unpacked", no_argument, O_UNPACKED, "meta-size,format", NULL,
	  "power-of-two entries, as dm-vdirt 1.3 formats (default: packed)" },
	{ "without", required_argument, O_WITHOUT, "meta-size,format", "LIST",
	  "leave out optional regions: writesets, history, tree, unwritten (comma separated)" },
	{ "mode", required_argument, O_MODE, "open", "M", "audit or enforce" },
	{ "no-read-verify", no_argument, O_NO_RV, "open", NULL, "do not verify reads" },
	{ "fail-open", no_argument, O_FAIL_OPEN, "open", NULL,
	  "keep I/O going when measuring fails" },
	{ "zero-unwritten", no_argument, O_ZERO_UNW, "open", NULL,
	  "unwritten clusters read as zeros (table argument zero_unwritten; purge)" },
	{ "cache-mb", required_argument, O_CACHE, "open", "N", "metadata cache bound" },
	{ "write-back", required_argument, O_WRITE_BACK, "open", "N",
	  "acknowledge up to N writes once copied, before the device has them (table argument "
	  "write_back; 0 off)" },
	{ "tab", no_argument, O_TAB, "open", NULL,
	  "open the entries of a vdirttab(5) file (default /etc/vdirttab)" },
	{ "count", required_argument, 'n', "monitor", "N", "exit after N events" },
	{ "all", no_argument, O_ALL, "monitor", NULL,
	  "every device, also those created later (default)" },
	{ "journal", no_argument, O_JOURNAL, "monitor", NULL,
	  "events as structured journal entries" },
	{ "prometheus-textfile", required_argument, O_PROM, "monitor", "PATH",
	  "node_exporter textfile metrics" },
	{ "interval", required_argument, O_INTERVAL, "monitor", "S",
	  "rewrite the textfile every S seconds (default 15)" },
	{ "wait", no_argument, 'w', "scan,purge", NULL,
	  "wait for the end (scan: exit 10 if mismatches were found; purge: its walk)" },
	{ "progress", no_argument, O_PROGRESS, WAITERS, NULL, "force the progress bar on" },
	{ "no-progress", no_argument, O_NO_PROGRESS, WAITERS, NULL, "force it off" },
	{ "files", no_argument, O_FILES, "report,changed", NULL,
	  "each cluster's partition, filesystem and files (libtsk)" },
	{ "root", no_argument, O_ROOT, "baseline build", NULL,
	  "also the attestation root over the digests (the last line)" },
	{ "proof", required_argument, O_PROOF, "attest", "CLUSTER",
	  "the inclusion proof of CLUSTER (with --json: verify-proof's input)" },
	{ "json", no_argument, 'j', NULL, NULL, "machine-readable output" },
	{ "quiet", no_argument, 'q', NULL, NULL, "print nothing but errors" },
	{ "debug", no_argument, 'd', NULL, NULL, "debug lines on stderr, prefixed '#'" },
	{ "help", no_argument, O_HELP, NULL, NULL, "this help (also -?)" },
	{ "version", no_argument, 'V', NULL, NULL, "the version" },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

int errno_to_exit(int e)
{
	if (e >= 0)
		return EXIT_OK;
	switch (-e) {
	case EPERM:
	case EACCES:
	case EROFS:		/* purge on a read-only table */
		return EXIT_PERM;
	case ENOENT:
	case ENODEV:
	case ENOPKG:		/* VDM_ENODM: no device-mapper in the kernel */
	case ENXIO:
	case ESRCH:
		return EXIT_NOENT;
	case EBUSY:
	case EEXIST:
	case EALREADY:
		return EXIT_BUSY;
	case EINVAL:
	case EBADMSG:
	case EILSEQ:
	case ERANGE:
	case ENODATA:
	case EMSGSIZE:
	case EDOM:
		return EXIT_INVAL;
	case EIO:
		return EXIT_IO;
	case ENOSPC:
	case EFBIG:
		return EXIT_NOSPC;
	case EOPNOTSUPP:
	case EPROTONOSUPPORT:
	case ENOSYS:
		return EXIT_NOTSUP;
	case ENOMEM:
		return EXIT_NOMEM;
	case EINTR:
		return EXIT_INTR;
	}
	return EXIT_FAIL;
}

/* does the comma-separated list cmds name command? */
static int takes(const char *cmds, const char *command)
{
	size_t n = strlen(command);
	const char *p;

	if (!cmds)
		return 1;
	for (p = cmds; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, command, n) && (p[n] == ',' || !p[n]))
			return 1;
	return 0;
}

static void usage(FILE *f)
{
	const struct command *c;
	unsigned int i;

	fprintf(f, "vdirtctl %s - manage dm-vdirt integrity-measured devices\n\n"
		"Usage: vdirtctl [options] <command> [<args>]\n\nCommands:\n", VDIRTCTL_VERSION);
	for (c = commands; c->name; c++) {
		char head[80];

		snprintf(head, sizeof(head), "%s %s", c->name, c->args);
		fprintf(f, "  %-44s %s\n", head, c->help);
	}
	fprintf(f, "\nOptions (each taken only by the commands in brackets):\n");
	for (i = 0; i < NOPTS; i++) {
		char head[64], sh[8] = "    ";

		if (opts[i].val < 256)
			snprintf(sh, sizeof(sh), "-%c, ", opts[i].val);
		snprintf(head, sizeof(head), "%s--%s%s%s", sh, opts[i].name, opts[i].arg ? " " : "",
			 opts[i].arg ? opts[i].arg : "");
		fprintf(f, "  %-30s %s%s%s%s%s\n", head, opts[i].help,
			opts[i].val == O_JOURNAL && !vj_available() ? " (not built in)" : "",
			opts[i].cmds ? " [" : "", opts[i].cmds ? opts[i].cmds : "",
			opts[i].cmds ? "]" : "");
	}
	fprintf(f, "  hashes:");
	for (i = 0; vh_algs(i); i++)
		fprintf(f, " %s", vh_algs(i)->name);
	fprintf(f, "\n\nExit codes: 0 ok, 1 failure, 2 usage, 3 permission, 4 no such device/file,\n"
		"5 busy or exists, 6 invalid data, 7 I/O error, 8 too small, 9 not supported,\n"
		"10 mismatches found, 11 out of memory, 12 interrupted; check: 20 one superblock\n"
		"copy invalid, 21 no valid superblock.  See vdirtctl(8).\n");
}

/*
 * The number arg of option --name into *v: decimal (a size: with an
 * optional K/M/G/T suffix), min..max; 0, or EXIT_USAGE saying why.
 */
static int opt_num(const char *name, const char *arg, int size, uint64_t min, uint64_t max,
		   uint64_t *v)
{
	int r = size ? parse_size(arg, v) : parse_u64(arg, v);

	if (r == -EINVAL) {
		err("--%s: '%s' is not a decimal number%s", name, arg,
		    size ? " (with an optional K, M, G or T suffix)" : "");
		return EXIT_USAGE;
	}
	if (r || *v < min || *v > max) {
		err("--%s: %s is out of range (%" PRIu64 "..%" PRIu64 ")", name, arg, min, max);
		return EXIT_USAGE;
	}
	return 0;
}

/* the value of one option into o; 0, or EXIT_USAGE saying why */
static int set_opt(int val, const char *arg)
{
	uint64_t v = 0;
	int r = 0;

	switch (val) {
	case 'c':
		r = opt_num("cluster-size", arg, 1, VDIRT_MIN_CLUSTER_SIZE, VDIRT_MAX_CLUSTER_SIZE,
			    &v);
		o.cluster_size = v;
		break;
	case 'h': o.hash = arg; break;
	case 'o': o.output = arg; break;
	case 't':
		r = opt_num("threads", arg, 0, 1, 256, &v);
		o.threads = v;
		break;
	case 'f': o.force = 1; break;
	case O_UNPACKED: o.unpacked = 1; break;
	case O_WITHOUT:
		if (vformat_without(arg, &o.without)) {
			err("--without: a comma separated list of writesets, history, tree, unwritten");
			return EXIT_USAGE;
		}
		break;
	case O_LABEL: o.label = arg; break;
	case O_SINCE:
		r = opt_num("since", arg, 0, 0, INT64_MAX, &v);
		o.since = v;
		o.since_set = 1;
		break;
	case O_UNTIL:
		r = opt_num("until", arg, 0, 0, INT64_MAX, &v);
		o.until = (int64_t)v;
		break;
	case O_HASHES: o.hashes = 1; break;
	case O_META: o.meta = arg; break;
	case O_VERIFY: o.verify = 1; break;
	case O_KEY_FILE: o.key_file = arg; break;
	case O_EPOCHS:
		r = opt_num("epochs", arg, 0, VDIRT_EPOCHS_MIN, VDIRT_EPOCHS_MAX, &v);
		o.epochs = v;
		break;
	case 'n':
		r = opt_num("count", arg, 0, 1, UINT64_MAX, &v);
		o.count = v;
		break;
	case 'w': o.wait = 1; break;
	case O_FILES: o.files = 1; break;
	case O_ROOT: o.root = 1; break;
	case O_PROOF:
		r = opt_num("proof", arg, 0, 0, UINT64_MAX, &o.proof);
		o.proof_set = 1;
		break;
	case O_TAB: o.tab = 1; break;
	case 'j': o.json = 1; break;
	case 'q': o.quiet = 1; break;
	case 'd': o.debug++; break;
	case O_MODE: o.mode = arg; break;
	case O_NO_RV: o.no_read_verify = 1; break;
	case O_FAIL_OPEN: o.fail_open = 1; break;
	case O_ZERO_UNW: o.zero_unwritten = 1; break;
	case O_CACHE:
		/* the table's cache_mb range (Documentation/dm-vdirt.rst) */
		r = opt_num("cache-mb", arg, 0, 1, 65536, &v);
		o.cache_mb = v;
		break;
	case O_WRITE_BACK:
		/* the table's write_back range (Documentation/dm-vdirt.rst) */
		r = opt_num("write-back", arg, 0, 0, 256, &v);
		o.write_back = v;
		break;
	case O_PROGRESS: o.progress = 1; break;
	case O_NO_PROGRESS: o.progress = 0; break;
	case O_ALL: o.all = 1; break;
	case O_JOURNAL: o.journal = 1; break;
	case O_PROM: o.prom = arg; break;
	case O_INTERVAL:
		r = opt_num("interval", arg, 0, 1, 86400, &v);
		o.interval = v;
		break;
	}
	return r;
}

/*
 * Parse the options into o; seen[i]: opts[i] was given.  0, a negative
 * number for --help (-1) / --version (-2), or EXIT_USAGE.
 */
static int parse_opts(int argc, char **argv, int *seen)
{
	struct option lo[NOPTS + 1];
	char shorts[2 * NOPTS + 2];
	unsigned int i, ns = 0;
	int opt, r;

	memset(lo, 0, sizeof(lo));
	shorts[ns++] = ':';	/* a missing value: ':', not '?' */
	for (i = 0; i < NOPTS; i++) {
		lo[i].name = opts[i].name;
		lo[i].has_arg = opts[i].has_arg;
		lo[i].val = opts[i].val;
		if (opts[i].val < 256) {
			shorts[ns++] = opts[i].val;
			if (opts[i].has_arg)
				shorts[ns++] = ':';
		}
	}
	shorts[ns] = 0;
	opterr = 0;	/* the messages below instead of getopt's */
	while ((opt = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (opt == ':') {
			err("option '%s' needs a value; see vdirtctl --help", argv[optind - 1]);
			return EXIT_USAGE;
		}
		if (opt == '?' && optopt == '?')
			return -1;	/* -? */
		if (opt == '?') {
			err("unknown option '%s'; see vdirtctl --help", argv[optind - 1]);
			return EXIT_USAGE;
		}
		for (i = 0; i < NOPTS && opts[i].val != opt; i++)
			;
		if (opt == O_HELP)
			return -1;
		if (opt == 'V')
			return -2;
		seen[i] = 1;
		r = set_opt(opt, optarg);
		if (r)
			return r;
	}
	return 0;
}

static const struct command *find_command(int argc, char **argv)
{
	const struct command *c;
	size_t n = strlen(argv[0]);

	for (c = commands; c->name; c++) {
		if (!strcmp(c->name, argv[0]))
			return c;
		/* "baseline build": two words */
		if (argc > 1 && !strncmp(c->name, argv[0], n) && c->name[n] == ' ' &&
		    !strcmp(c->name + n + 1, argv[1]))
			return c;
	}
	return NULL;
}

/* every option given is one the command takes; else EXIT_USAGE saying so */
static int check_scope(const struct command *c, const int *seen)
{
	unsigned int i;

	for (i = 0; i < NOPTS; i++)
		if (seen[i] && !takes(opts[i].cmds, c->name)) {
			err("option --%s is not allowed with %s (only with: %s)",
			    opts[i].name, c->name, opts[i].cmds);
			return EXIT_USAGE;
		}
	return 0;
}

int cmd_usage(void)
{
	char line[512];
	unsigned int i;
	int n;

	n = snprintf(line, sizeof(line), "usage: vdirtctl %s%s%s", current->name,
		     *current->args ? " " : "", current->args);
	for (i = 0; i < NOPTS; i++)
		if (opts[i].cmds && takes(opts[i].cmds, current->name) && n < (int)sizeof(line))
			n += snprintf(line + n, sizeof(line) - n, " [--%s%s%s]", opts[i].name,
				      opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
	err("%s", line);
	return EXIT_USAGE;
}

/* the paths the options name that a command writes: a regular file or a new path only */
static int check_outputs(void)
{
	const char *paths[][2] = { { "output", o.output }, { "prometheus-textfile", o.prom } };
	unsigned int i;
	int r;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (!paths[i][1] || !strcmp(paths[i][1], "-"))
			continue;
		/* export's -o is a directory, new or empty: it checks it itself */
		if (i == 0 && current && !strcmp(current->name, "export"))
			continue;
		r = vout_check(paths[i][1]);
		if (r == -EINVAL)
			err("--%s %s: not a regular file: refused (only a regular file or a new "
			    "path is written)", paths[i][0], paths[i][1]);
		else if (r)
			err("--%s %s: %s", paths[i][0], paths[i][1], strerror(-r));
		if (r)
			return errno_to_exit(r);
	}
	return 0;
}

/*
 * stdout of a command that does not stream (streaming[]) goes to memory
 * and out only when the command succeeded or gave a verdict: nothing on
 * stdout on a failure.  Verdicts: EXIT_MISMATCH, check's EXIT_CHECK_*, and
 * any code a command returned through cmd_verdict().
 */
static FILE *real_stdout;
static char *held;
static size_t held_len;
static int verdict = -1;	/* set by cmd_verdict() */

int cmd_verdict(int code)
{
	verdict = code;
	return code;
}

static void hold_stdout(void)
{
	FILE *m = open_memstream(&held, &held_len);

	if (!m)
		return;	/* then straight to stdout */
	real_stdout = stdout;
	stdout = m;
}

/* r: the command's result; the held output to the real stdout unless it failed */
static int release_stdout(int r)
{
	int keep = r == 0 || r == EXIT_MISMATCH || r == EXIT_CHECK_DEGRADED ||
		   r == EXIT_CHECK_INVALID || (r > 0 && r == verdict);
	FILE *m = stdout;

	if (!real_stdout)
		return r;
	if (fclose(m) && !r)
		r = -ENOMEM;
	stdout = real_stdout;
	if (keep && held_len && fwrite(held, 1, held_len, stdout) != held_len && !r)
		r = -EIO;
	free(held);
	return r;
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

int main(int argc, char **argv)
{
	const struct command *c;
	int seen[NOPTS] = { 0 };
	struct sigaction sa;
	int r, words, i;

	vlog_set(log_hook);
	r = parse_opts(argc, argv, seen);
	if (r == -1 || r == -2) {
		if (r == -1)
			usage(stdout);
		else
			printf("vdirtctl %s\n", VDIRTCTL_VERSION);
		return EXIT_OK;
	}
	if (r)
		return r;
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	c = find_command(argc, argv);
	if (!c) {
		err("unknown command '%s%s%s'; see vdirtctl --help", argv[0],
		    argc > 1 && !strcmp(argv[0], "baseline") ? " " : "",
		    argc > 1 && !strcmp(argv[0], "baseline") ? argv[1] : "");
		return EXIT_USAGE;
	}
	current = c;
	r = check_scope(c, seen);
	if (!r)
		r = check_outputs();
	if (r)
		return r;
	words = strchr(c->name, ' ') ? 2 : 1;
	argc -= words;
	argv += words;
	if (argc < c->min_args || (c->max_args >= 0 && argc > c->max_args))
		return cmd_usage();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	vdm_init();
	dbg("command %s", c->name);
	for (i = 0; streaming[i] && strcmp(streaming[i], c->name); i++)
		;
	if (!streaming[i])
		hold_stdout();
	r = c->fn(argc, argv);
	r = release_stdout(r);
	if (fflush(stdout) && !r)
		r = -EIO;
	if (r > 0)
		return r;	/* an exit code already */
	dbg("result %d (%s) exit %d", r, r ? strerror(-r) : "ok", errno_to_exit(r));
	return errno_to_exit(r);
}
