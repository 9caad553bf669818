// SPDX-License-Identifier: GPL-2.0
/* monitor --journal: the structured journal fields of each record kind */
#include <ctype.h>
#include <stdlib.h>
#include <syslog.h>
#include "tap.h"
#include "journal.h"

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

int main(int argc, char **argv)
{
	struct vrec r;
	char name[VDIRT_DEV_NAME_MAX];

	fixture(&r);
	/* for journal-send.sh: "available" (exit 0 if built in), "send" the fixture */
	if (argc > 1 && !strcmp(argv[1], "available"))
		return !vj_available();
	if (argc > 1 && !strcmp(argv[1], "send")) {
		int e = vj_send(&r, 4096, "crc32c");

		if (e)
			fprintf(stderr, "vj_send: %s\n", strerror(-e));
		return !!e;
	}
	TAP_START();
	nf = vj_fields(&r, 4096, "crc32c", f);
	OK(nf == 15 && names_valid(), "read mismatch: 15 fields with valid names (%d)", nf);
	OK(is("MESSAGE_ID", VJ_MESSAGE_ID) && strlen(VJ_MESSAGE_ID) == 32 &&
	   strspn(VJ_MESSAGE_ID, "0123456789abcdef") == 32, "MESSAGE_ID is the fixed 128-bit id");
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
	nf = vj_fields(&r, 65536, "sha256", f);
	OK(is("PRIORITY", "4") && is("VDIRT_KIND", "write_drift") && is("VDIRT_OP", "write") &&
	   is("VDIRT_SECTOR", "12800"), "write drift: LOG_WARNING, 64 KiB clusters");

	memset(r.expected, 0, sizeof(r.expected));
	memset(r.actual, 0, sizeof(r.actual));
	r.kind = VDIRT_KIND_RECOVERY;
	r.op = VDIRT_OP_RECOVERY;
	r.cluster = 0;
	r.aux[VDIRT_AUX_REGIONS] = 3;
	r.aux[VDIRT_AUX_REMEASURED] = 3072;
	r.aux[VDIRT_AUX_CHANGED] = 5;
	r.aux[VDIRT_AUX_ON_READ] = 1;
	nf = vj_fields(&r, 4096, "sha256", f);
	OK(names_valid() && is("PRIORITY", "5") && is("VDIRT_KIND", "recovery") &&
	   is("VDIRT_OP", "recovery"), "recovery: LOG_NOTICE, kind and op recovery");
	OK(is("VDIRT_REGIONS", "3") && is("VDIRT_REMEASURED", "3072") && is("VDIRT_CHANGED", "5") &&
	   is("VDIRT_ON_READ", "1") && !field("VDIRT_CLUSTER") && !field("VDIRT_EXPECTED"),
	   "recovery: the aux counts, no cluster or digests");
	OK(is("MESSAGE", "guest0: recovery: 3 regions, 3072 clusters re-measured, 5 changed, "
	      "1 measured on read"), "recovery MESSAGE");

	memset(&r, 0, sizeof(r));
	snprintf(r.dev, sizeof(r.dev), "guest1");
	r.kind = VREC_KIND_GAP;
	r.seq = 40;
	r.aux[0] = 12;
	nf = vj_fields(&r, 4096, "sha256", f);
	OK(names_valid() && is("PRIORITY", "3") && is("VDIRT_KIND", "record_gap") &&
	   is("VDIRT_LOST", "12") && is("VDIRT_SEQ", "40"), "record gap: LOG_ERR, lost count");
	OK(vj_priority(99) == LOG_INFO && !strcmp(vrec_kind_name(99), "unknown"),
	   "an unknown kind is LOG_INFO");

	/* the longest device name survives whole */
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	memcpy(r.dev, name, sizeof(name));
	r.kind = VDIRT_KIND_READ_MISMATCH;
	r.dlen = VDIRT_MAX_DIGEST_SIZE;
	memset(r.actual, 0xee, sizeof(r.actual));
	nf = vj_fields(&r, 4096, "sha512", f);
	OK(field("VDIRT_DEVICE") && strlen(field("VDIRT_DEVICE")) == sizeof(name) - 1 &&
	   field("VDIRT_ACTUAL") && strlen(field("VDIRT_ACTUAL")) == 128,
	   "a 127-byte device name and a 64-byte digest are not cut");
	OK(field("MESSAGE") && strstr(field("MESSAGE"), name), "... nor is MESSAGE");
	OK(nf == 15, "the same 15 fields for the longest values");
	TAP_DONE();
}
