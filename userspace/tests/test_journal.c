// SPDX-License-Identifier: GPL-2.0
/*
 * monitor --journal: the structured journal fields of each record kind, the
 * MESSAGE_ID of each, and the catalog (../systemd/dm-vdirt.catalog, or
 * $VDIRT_CATALOG) read by a strict parser: an entry for every id the code
 * can give and none other, each well formed, every @FIELD@ one its kind
 * carries.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <syslog.h>
#include "tap.h"
#include "journal.h"

/* the device of the fixture: guest0 on /dev/mapper/vg0-disk0 */
static const struct vj_dev dev4k = {
	.cluster_size = 4096, .hash = "crc32c", .uuid = "0123456789abcdef0123456789abcdef",
	.mode = "audit", .data_device = "/dev/mapper/vg0-disk0", .data_devno = "254:1",
};

static char f[VJ_MAX_FIELDS][VJ_FIELD_MAX];
static int nf;

/* the value of field name, or NULL */
static const char *field(const char *name)
{
	size_t l = strlen(name);
	int i;

	for (i = 0; i < nf; i++)
		if (!strncmp(f[i], name, l) && f[i][l] == '=')
			return f[i] + l + 1;
	return NULL;
}

static int is(const char *name, const char *want)
{
	const char *v = field(name);

	if (v && !strcmp(v, want))
		return 1;
	printf("# %s=%s, wanted %s\n", name, v ? v : "(none)", want);
	return 0;
}

/* journal field names: A-Z, 0-9, _, not starting with _, each once */
static int names_valid(void)
{
	int i, j;

	for (i = 0; i < nf; i++) {
		const char *p = f[i];

		if (*p == '_' || !strchr(p, '='))
			return 0;
		for (; *p != '='; p++)
			if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
				return 0;
		for (j = 0; j < i; j++)
			if (!strncmp(f[i], f[j], strchr(f[i], '=') - f[i] + 1))
				return 0;
	}
	return 1;
}

/* a read mismatch on guest0 (253:4), cluster 100, record 7 */
static void fixture(struct vrec *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dev, sizeof(r->dev), "guest0");
	r->major = 253;
	r->minor = 4;
	r->seq = 7;
	r->rec_seq = 7;
	r->cluster = 100;
	r->time = 1764147600123456789ULL;
	r->kind = VDIRT_KIND_READ_MISMATCH;
	r->op = VDIRT_OP_READ;
	r->dlen = 4;
	memcpy(r->expected, "\x01\x02\xab\xff", 4);
	memcpy(r->actual, "\x00\x00\x00\x10", 4);
}

/* a record of any kind (0..255: what the wire's u8 can carry) on the fixture's device */
static void kind_fixture(struct vrec *r, int kind)
{
	fixture(r);
	r->kind = kind;
	r->op = kind == VDIRT_KIND_WRITE_DRIFT ? VDIRT_OP_WRITE :
		kind == VDIRT_KIND_RECOVERY ? VDIRT_OP_RECOVERY :
		kind >= VDIRT_KIND_EPOCH ? 0 : VDIRT_OP_READ;
	if (kind == VREC_KIND_GAP)
		r->aux[0] = 5;
}

static int is_id(const char *s)
{
	return s && strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

/* the ids the code can give: one per kind, 32 hex digits, distinct */
static char ids[256][33];
static int nids;

static int id_known(const char *id)
{
	int i;

	for (i = 0; i < nids; i++)
		if (!strcmp(ids[i], id))
			return 1;
	return 0;
}

static void kinds(void)
{
	static const int known[] = {
		VDIRT_KIND_READ_MISMATCH, VDIRT_KIND_WRITE_DRIFT, VDIRT_KIND_RECOVERY,
		VDIRT_KIND_ROLLBACK, VDIRT_KIND_EPOCH, VDIRT_KIND_ACTIVATION,
		VDIRT_KIND_BASELINE, VDIRT_KIND_PURGE, VREC_KIND_GAP,
	};
	int k, i, bad_id = 0, bad_fields = 0, bad_offset = 0, bad_dev = 0, unknown_ok = 1;
	struct vrec r;

	for (k = 0; k < 256; k++) {
		int is_known = 0, cluster;
		const char *id;

		for (i = 0; i < (int)(sizeof(known) / sizeof(known[0])); i++)
			is_known |= known[i] == k;
		kind_fixture(&r, k);
		nf = vj_fields(&r, &dev4k, f);
		id = field("MESSAGE_ID");
		if (!is_id(id) || strcmp(id, vj_message_id(k))) {
			printf("# kind %d: MESSAGE_ID %s\n", k, id ? id : "(none)");
			bad_id++;
			continue;
		}
		if (!is_known && strcmp(id, VJ_ID_UNKNOWN))
			unknown_ok = 0;
		if (!id_known(id))
			snprintf(ids[nids++], sizeof(ids[0]), "%s", id);
		if (nf > VJ_MAX_FIELDS || !names_valid())
			bad_fields++;
		/* the byte offset where a record names a cluster, nowhere else */
		cluster = k == VDIRT_KIND_READ_MISMATCH || k == VDIRT_KIND_WRITE_DRIFT ||
			  k == VDIRT_KIND_ROLLBACK;
		if (cluster != !!field("VDIRT_OFFSET") ||
		    (cluster && strcmp(field("VDIRT_OFFSET"), "409600")))
			bad_offset++;
		if (!field("VDIRT_UUID") || !field("VDIRT_MODE") || !field("VDIRT_DATA_DEVICE") ||
		    !field("VDIRT_DATA_DEVNO"))
			bad_dev++;
	}
	OK(!bad_id, "every kind 0..255 has a 32-hex-digit MESSAGE_ID, vj_message_id()'s");
	OK(nids == 10 && unknown_ok,
	   "10 distinct ids: the 9 kinds and one for a kind this tool does not know (%d)", nids);
	OK(!bad_fields, "every kind: valid field names, at most VJ_MAX_FIELDS");
	OK(!bad_offset, "VDIRT_OFFSET exactly on read_mismatch, write_drift, rollback");
	OK(!bad_dev, "every kind carries VDIRT_UUID, VDIRT_MODE, VDIRT_DATA_DEVICE(_DEVNO)");
}

/* --- the catalog, read strictly --- */

#define CAT_MAX 32
static struct centry {
	char id[33];
	char text[4096];	/* Subject: ... to the end of the body */
	int line;
} cat[CAT_MAX];
static int ncat;

static int cat_fail(const char *path, int line, const char *why, const char *l)
{
	printf("# %s:%d: %s: \"%s\"\n", path, line, why, l);
	return -1;
}

static int starts(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/*
 * journald's catalog format, with the rules that make it unambiguous: "#"
 * comments only before the first entry; an entry is a blank line, "-- "
 * and the id (32 lowercase hex digits, no language), then Subject:,
 * Defined-By: dm-vdirt, Support:, one or more Documentation:, a blank line
 * and the text (paragraphs separated by one blank line, no line starting
 * with "#" or "-": journald would take a comment or a header).  Lines are
 * printable ASCII, at most 79 characters, no trailing space; each id once.
 */
static int parse_catalog(const char *path)
{
	enum { PRE, HDR, BODY } st = PRE;
	int ln = 0, blank = 1, field_no = 0, body_lines = 0;
	char l[256];
	FILE *fp = fopen(path, "r");
	struct centry *e = NULL;

	if (!fp) {
		printf("# %s: %s\n", path, strerror(errno));
		return -1;
	}
	ncat = 0;
	while (fgets(l, sizeof(l), fp)) {
		size_t n = strlen(l);
		const char *p;

		ln++;
		if (!n || l[n - 1] != '\n')
			return cat_fail(path, ln, "no newline, or longer than 255", l);
		l[--n] = 0;
		if (n > 79)
			return cat_fail(path, ln, "longer than 79 characters", l);
		for (p = l; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				return cat_fail(path, ln, "not printable ASCII", l);
		if (n && l[n - 1] == ' ')
			return cat_fail(path, ln, "trailing space", l);
		if (!n) {
			if (blank && st != PRE)
				return cat_fail(path, ln, "two blank lines", l);
			if (st == HDR) {
				if (field_no < 4)
					return cat_fail(path, ln, "header fields missing", l);
				st = BODY;
				body_lines = 0;
				blank = 1;
				continue;	/* the blank line after the header */
			}
			blank = 1;
			if (e)
				strcat(e->text, "\n");
			continue;
		}
		if (starts(l, "-- ")) {
			if (!blank)
				return cat_fail(path, ln, "an entry not after a blank line", l);
			if (st == HDR || (st == BODY && !body_lines))
				return cat_fail(path, ln, "the entry before has no text", l);
			if (!is_id(l + 3))
				return cat_fail(path, ln, "not \"-- \" and 32 lowercase hex digits", l);
			for (int i = 0; i < ncat; i++)
				if (!strcmp(cat[i].id, l + 3))
					return cat_fail(path, ln, "id twice", l);
			if (ncat == CAT_MAX)
				return cat_fail(path, ln, "too many entries", l);
			e = &cat[ncat++];
			memset(e, 0, sizeof(*e));
			snprintf(e->id, sizeof(e->id), "%s", l + 3);
			e->line = ln;
			st = HDR;
			field_no = 0;
			blank = 0;
			continue;
		}
		if (st == PRE) {
			if (l[0] != '#')
				return cat_fail(path, ln, "text before the first entry", l);
			blank = 0;
			continue;
		}
		if (l[0] == '#' || l[0] == '-')
			return cat_fail(path, ln, "a line starting with # or - in an entry", l);
		if (st == HDR) {
			static const char *const want[] = {
				"Subject: ", "Defined-By: dm-vdirt", "Support: ", "Documentation: ",
			};
			int k = field_no < 4 ? field_no : 3;

			if (!starts(l, want[k]) || strlen(l) <= strlen("Documentation: "))
				return cat_fail(path, ln, field_no < 4 ? want[k] : "Documentation: or a blank line", l);
			if (k == 1 && strcmp(l, want[1]))
				return cat_fail(path, ln, "Defined-By: dm-vdirt", l);
			if (k == 2 && !starts(l, "Support: mailto:") && !starts(l, "Support: http"))
				return cat_fail(path, ln, "Support: is not a mailto: or http URL", l);
			if (k == 3 && !starts(l, "Documentation: man:") &&
			    !starts(l, "Documentation: file:") && !starts(l, "Documentation: http"))
				return cat_fail(path, ln, "Documentation: is not a man:, file: or http URL", l);
			field_no++;
		} else {
			body_lines++;
		}
		blank = 0;
		if (strlen(e->text) + n + 2 >= sizeof(e->text))
			return cat_fail(path, ln, "entry too long", l);
		strcat(e->text, l);
		strcat(e->text, "\n");
	}
	fclose(fp);
	if (st == HDR || (st == BODY && !body_lines))
		return cat_fail(path, ln, "the last entry has no text", "");
	if (blank)
		return cat_fail(path, ln, "a blank line at the end", "");
	return 0;
}

/* the kind whose entries have MESSAGE_ID id (an unknown one: 99) */
static int id_kind(const char *id)
{
	int k;

	for (k = 0; k < 256; k++)
		if (!strcmp(vj_message_id(k), id))
			return k;
	return -1;
}

/*
 * Every @FIELD@ of the text is a field that kind's entries carry: what
 * journalctl -x replaces, as it finds them (@, capitals and _, @); any
 * other @ stays as it is (a mailto: address).  A name with a digit would
 * never be replaced: refused.
 */
static int fields_exist(const struct centry *e)
{
	const char *p = e->text;
	int k = id_kind(e->id), bad = 0;
	struct vrec r;
	char name[64];

	kind_fixture(&r, k);
	nf = vj_fields(&r, &dev4k, f);
	for (; (p = strchr(p, '@')); p++) {
		size_t n = strspn(p + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789");
		size_t nd = strcspn(p + 1, "0123456789");

		if (!n || p[n + 1] != '@')
			continue;
		if (nd < n) {
			printf("# %s: @%.*s@ has a digit: journalctl does not replace it\n", e->id,
			       (int)n, p + 1);
			bad++;
		}
		snprintf(name, sizeof(name), "%.*s", (int)n, p + 1);
		if (!field(name)) {
			printf("# %s (kind %d): @%s@ is not a field of its entries\n", e->id, k, name);
			bad++;
		}
		p += n + 1;
	}
	return !bad;
}

static void catalog(void)
{
	const char *path = getenv("VDIRT_CATALOG") ? getenv("VDIRT_CATALOG") :
			   "../systemd/dm-vdirt.catalog";
	int i, missing = 0, extra = 0, bad = 0, subj = 1;

	OK(!parse_catalog(path), "%s parses (strict: header, fields, text)", path);
	for (i = 0; i < nids; i++) {
		int j, found = 0;

		for (j = 0; j < ncat; j++)
			found |= !strcmp(cat[j].id, ids[i]);
		if (!found) {
			printf("# no catalog entry for %s (kind %d)\n", ids[i], id_kind(ids[i]));
			missing++;
		}
	}
	OK(ncat && !missing, "every MESSAGE_ID the code gives has a catalog entry (%d)", ncat);
	for (i = 0; i < ncat; i++)
		if (!id_known(cat[i].id)) {
			printf("# %s:%d: %s is no MESSAGE_ID the code gives\n", path, cat[i].line,
			       cat[i].id);
			extra++;
		}
	OK(!extra, "... and every catalog entry is one the code gives");
	for (i = 0; i < ncat; i++) {
		bad += !fields_exist(&cat[i]);
		subj &= starts(cat[i].text, "Subject: @VDIRT_DEVICE@: ");
	}
	OK(ncat && !bad, "every @FIELD@ of an entry is a field its kind's entries carry");
	OK(ncat && subj, "every Subject: names the device first (@VDIRT_DEVICE@: ...)");
}

int main(int argc, char **argv)
{
	struct vrec r;
	char name[VDIRT_DEV_NAME_MAX];

	fixture(&r);
	/* for journal-send.sh: "available" (exit 0 if built in), "send" the fixture */
	if (argc > 1 && !strcmp(argv[1], "available"))
		return !vj_available();
	if (argc > 1 && !strcmp(argv[1], "send")) {
		int e = vj_send(&r, &dev4k);

		if (e)
			fprintf(stderr, "vj_send: %s\n", strerror(-e));
		return !!e;
	}
	TAP_START();
	nf = vj_fields(&r, &dev4k, f);
	OK(nf == 20 && names_valid(), "read mismatch: 20 fields with valid names (%d)", nf);
	/* the id every entry had before the catalog: scripts select read mismatches by it */
	OK(is("MESSAGE_ID", "50fbbe0b21c44875bcfba8fadd391e16") &&
	   !strcmp(VJ_ID_READ_MISMATCH, "50fbbe0b21c44875bcfba8fadd391e16"),
	   "read mismatch: MESSAGE_ID is the fixed 50fbbe0b21c44875bcfba8fadd391e16");
	OK(is("VDIRT_UUID", "0123456789abcdef0123456789abcdef") && is("VDIRT_MODE", "audit") &&
	   is("VDIRT_DATA_DEVICE", "/dev/mapper/vg0-disk0") && is("VDIRT_DATA_DEVNO", "254:1"),
	   "metadata uuid, mode, data device and its number");
	OK(is("VDIRT_OFFSET", "409600"), "byte offset = cluster * cluster size (100 * 4096)");
	OK(is("PRIORITY", "2") && vj_priority(VDIRT_KIND_READ_MISMATCH) == LOG_CRIT,
	   "read mismatch is LOG_CRIT");
	OK(is("VDIRT_DEVICE", "guest0") && is("VDIRT_DEVNO", "253:4") &&
	   is("VDIRT_CLUSTER", "100") && is("VDIRT_SECTOR", "800") && is("VDIRT_SEQ", "7"),
	   "device, devno, cluster, sector (4 KiB clusters), seq");
	OK(is("VDIRT_KIND", "read_mismatch") && is("VDIRT_OP", "read") &&
	   is("VDIRT_HASH", "crc32c") && is("VDIRT_TIME", "1764147600123456789"),
	   "kind, op, hash, time in ns");
	OK(is("VDIRT_EXPECTED", "0102abff") && is("VDIRT_ACTUAL", "00000010"),
	   "digests in hex");
	OK(is("MESSAGE", "guest0: read mismatch at cluster 100 (sector 800, read, record 7): "
	      "the data changed below dm-vdirt") && is("SYSLOG_IDENTIFIER", "vdirtctl"),
	   "one human MESSAGE line");

	r.kind = VDIRT_KIND_WRITE_DRIFT;
	r.op = VDIRT_OP_WRITE;
	{
		struct vj_dev d64 = dev4k;

		d64.cluster_size = 65536;
		d64.hash = "sha256";
		d64.mode = "enforce";
		nf = vj_fields(&r, &d64, f);
	}
	OK(is("PRIORITY", "4") && is("VDIRT_KIND", "write_drift") && is("VDIRT_OP", "write") &&
	   is("VDIRT_SECTOR", "12800"), "write drift: LOG_WARNING, 64 KiB clusters");
	OK(is("MESSAGE_ID", VJ_ID_WRITE_DRIFT) && is("VDIRT_OFFSET", "6553600") &&
	   is("VDIRT_MODE", "enforce") && nf == 20,
	   "write drift: its own MESSAGE_ID, offset 100 * 65536, mode enforce, 20 fields");

	r.kind = VDIRT_KIND_ROLLBACK;
	r.op = VDIRT_OP_READ;
	r.aux[VDIRT_AUX_EPOCH] = 3;
	nf = vj_fields(&r, &dev4k, f);
	OK(names_valid() && is("PRIORITY", "2") && is("MESSAGE_ID", VJ_ID_ROLLBACK) &&
	   is("VDIRT_KIND", "rollback") && is("VDIRT_OFFSET", "409600") &&
	   is("VDIRT_CLUSTER", "100") && is("VDIRT_CONTENT_EPOCH", "3") && nf == 21,
	   "rollback: LOG_CRIT, its id, offset, the epoch of the content read (%d fields)", nf);
	OK(is("MESSAGE", "guest0: rollback at cluster 100 (sector 800, read, record 7): "
	      "the data read is older content, of epoch 3"), "rollback MESSAGE");
	r.aux[VDIRT_AUX_EPOCH] = 0;

	memset(r.expected, 0, sizeof(r.expected));
	memset(r.actual, 0, sizeof(r.actual));
	r.kind = VDIRT_KIND_RECOVERY;
	r.op = VDIRT_OP_RECOVERY;
	r.cluster = 0;
	r.aux[VDIRT_AUX_REGIONS] = 3;
	r.aux[VDIRT_AUX_REMEASURED] = 3072;
	r.aux[VDIRT_AUX_CHANGED] = 5;
	r.aux[VDIRT_AUX_ON_READ] = 1;
	nf = vj_fields(&r, &dev4k, f);
	OK(names_valid() && is("PRIORITY", "5") && is("VDIRT_KIND", "recovery") &&
	   is("VDIRT_OP", "recovery"), "recovery: LOG_NOTICE, kind and op recovery");
	OK(is("VDIRT_REGIONS", "3") && is("VDIRT_REMEASURED", "3072") && is("VDIRT_CHANGED", "5") &&
	   is("VDIRT_ON_READ", "1") && !field("VDIRT_CLUSTER") && !field("VDIRT_EXPECTED") &&
	   !field("VDIRT_OFFSET"), "recovery: the aux counts, no cluster, offset or digests");
	OK(is("MESSAGE_ID", VJ_ID_RECOVERY) && is("VDIRT_UUID", dev4k.uuid) &&
	   is("VDIRT_DATA_DEVICE", dev4k.data_device) && is("VDIRT_MODE", "audit"),
	   "recovery: its id, and the device's uuid, data device and mode");
	OK(is("MESSAGE", "guest0: recovery: 3 regions, 3072 clusters re-measured, 5 changed, "
	      "1 measured on read"), "recovery MESSAGE");

	memset(&r, 0, sizeof(r));
	snprintf(r.dev, sizeof(r.dev), "guest1");
	r.kind = VREC_KIND_GAP;
	r.seq = 40;
	r.aux[0] = 12;
	nf = vj_fields(&r, &dev4k, f);
	OK(names_valid() && is("PRIORITY", "3") && is("VDIRT_KIND", "record_gap") &&
	   is("VDIRT_LOST", "12") && is("VDIRT_SEQ", "40"), "record gap: LOG_ERR, lost count");
	OK(is("MESSAGE_ID", VJ_ID_RECORD_GAP) && is("VDIRT_UUID", dev4k.uuid) &&
	   is("VDIRT_DATA_DEVNO", "254:1") && !field("VDIRT_OFFSET"),
	   "record gap: its id, the device's fields, no offset");
	{
		struct vj_dev none = { .cluster_size = 4096 };

		nf = vj_fields(&r, &none, f);
		OK(names_valid() && !field("VDIRT_UUID") && !field("VDIRT_MODE") &&
		   !field("VDIRT_DATA_DEVICE") && !field("VDIRT_DATA_DEVNO") && !field("VDIRT_HASH") &&
		   nf == 9, "what the monitor does not know is left out, not empty (%d fields)", nf);
	}
	OK(vj_priority(99) == LOG_INFO && !strcmp(vrec_kind_name(99), "unknown"),
	   "an unknown kind is LOG_INFO");

	/* the longest device name survives whole */
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	memcpy(r.dev, name, sizeof(name));
	r.kind = VDIRT_KIND_READ_MISMATCH;
	r.dlen = VDIRT_MAX_DIGEST_SIZE;
	memset(r.actual, 0xee, sizeof(r.actual));
	{
		char data[VDIRT_DEV_NAME_MAX + 16];
		struct vj_dev dl = dev4k;

		snprintf(data, sizeof(data), "/dev/mapper/%s", name);
		dl.data_device = data;
		dl.hash = "sha512";
		nf = vj_fields(&r, &dl, f);
		OK(field("VDIRT_DATA_DEVICE") && !strcmp(field("VDIRT_DATA_DEVICE"), data),
		   "a data device of the longest dm name is not cut");
	}
	OK(field("VDIRT_DEVICE") && strlen(field("VDIRT_DEVICE")) == sizeof(name) - 1 &&
	   field("VDIRT_ACTUAL") && strlen(field("VDIRT_ACTUAL")) == 128,
	   "a 127-byte device name and a 64-byte digest are not cut");
	OK(field("MESSAGE") && strstr(field("MESSAGE"), name), "... nor is MESSAGE");
	OK(nf == 20, "the same 20 fields for the longest values");

	kinds();
	catalog();
	TAP_DONE();
}
