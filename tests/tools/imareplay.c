// SPDX-License-Identifier: GPL-2.0
/*
 * imareplay - replay an IMA binary measurement list into PCR values, the way
 * the kernel extends them into the TPM, one value per PCR bank.
 *
 * Usage: imareplay [-p PCR] [-d ALG] [-s N] LIST BANK...
 *   LIST   /sys/kernel/security/ima/binary_runtime_measurements (or a copy)
 *   BANK   ALG      the bank is extended with ALG over each entry's template
 *                   data (a bank whose hash the kernel had at IMA init)
 *          ALG:sha1 the bank is extended with the entry's SHA-1 template
 *                   digest, zero-padded to ALG's size (a TPM bank the kernel
 *                   had no hash for: "ima: Can not allocate ALG" at boot)
 *   -p PCR the PCR to replay (default 10); entries of other PCRs are skipped
 *   -d ALG the list's template digests are ALG (default sha1; 6.10 and later
 *          also have binary_runtime_measurements_ALG lists)
 *   -s N   leave the last N entries of PCR out (a replay that must not match)
 *
 * Prints "entries N" (the entries of PCR replayed), then "ALG HEX" a bank,
 * lowercase hex.  Exit 0; 1 when an entry's listed template digest is not
 * the -d hash of its template data (the list is not what this tool thinks
 * it is); 2 on a usage, read or format error.
 *
 * The list (security/integrity/ima/ima_fs.c, native byte order unless
 * ima_canonical_fmt): per entry u32 pcr, the template digest, u32 name
 * length, the template name, u32 data length and the template data, which
 * is each field as u32 length and bytes.  The template digest is the hash
 * of exactly those data bytes (ima_calc_field_array_hash_tfm(): each field's
 * length, then its data, for every template but the legacy "ima", which
 * this tool refuses).  A TPM2 extend is PCR = H(PCR || digest), PCR 10
 * starting at zeroes.  A violation is listed with an all-zero digest and
 * extended as all 0xff (ima_add_template_entry(); for a padded bank the
 * first 20 bytes only, ima_init_digests()).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#define MAX_BANKS 8
#define SHA1_SIZE 20

struct bank {
	const char *name;
	const EVP_MD *md;
	int padded;		/* extended with the padded SHA-1 digest */
	unsigned int size;
	uint8_t pcr[EVP_MAX_MD_SIZE];
};

struct entry {
	uint32_t pcr;
	uint8_t digest[EVP_MAX_MD_SIZE];
	char name[256];
	uint8_t *data;
	uint32_t len;
};

static void usage(void)
{
	fprintf(stderr, "usage: imareplay [-p PCR] [-d ALG] [-s N] LIST ALG[:sha1]...\n");
	exit(2);
}

static int hash(const EVP_MD *md, const void *p, size_t n, uint8_t *out)
{
	unsigned int len;

	return EVP_Digest(p, n, out, &len, md, NULL) == 1 ? 0 : -EIO;
}

static int read_u32(FILE *f, uint32_t *v)
{
	return fread(v, sizeof(*v), 1, f) == 1 ? 0 : -EIO;
}

/* the next entry: 1, 0 at the end of the list, -errno on a short entry */
static int read_entry(FILE *f, unsigned int dsize, struct entry *e)
{
	uint32_t n;
	int c;

	c = getc(f);
	if (c == EOF)
		return 0;
	ungetc(c, f);
	if (read_u32(f, &e->pcr) || fread(e->digest, dsize, 1, f) != 1 ||
	    read_u32(f, &n))
		return -EIO;
	if (n == 0 || n >= sizeof(e->name) || fread(e->name, n, 1, f) != 1)
		return -EIO;
	e->name[n] = '\0';
	if (!strcmp(e->name, "ima"))
		return -EOPNOTSUPP;
	if (read_u32(f, &e->len) || e->len > (16U << 20))
		return -EIO;
	free(e->data);
	e->data = malloc(e->len ? e->len : 1);
	if (!e->data)
		return -ENOMEM;
	if (e->len && fread(e->data, e->len, 1, f) != 1)
		return -EIO;
	return 1;
}

static int all_zero(const uint8_t *p, unsigned int n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

/* extend every bank with entry e (whose listed digest was checked) */
static int extend(struct bank *b, int nb, const struct entry *e, int violation)
{
	uint8_t buf[2 * EVP_MAX_MD_SIZE];
	int i;

	for (i = 0; i < nb; i++) {
		uint8_t *d = buf + b[i].size;

		memcpy(buf, b[i].pcr, b[i].size);
		memset(d, 0, b[i].size);
		if (violation)
			memset(d, 0xff, b[i].padded ? SHA1_SIZE : b[i].size);
		else if (b[i].padded ? hash(EVP_sha1(), e->data, e->len, d) :
			 hash(b[i].md, e->data, e->len, d))
			return -EIO;
		if (hash(b[i].md, buf, 2 * b[i].size, b[i].pcr))
			return -EIO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dname = "sha1";
	unsigned long pcr = 10, skip = 0, count = 0, n = 0, k;
	struct bank banks[MAX_BANKS];
	struct entry e = { 0 };
	const EVP_MD *dmd;
	unsigned int dsize;
	uint8_t check[EVP_MAX_MD_SIZE];
	FILE *f;
	int nb = 0, opt, rc, i;

	while ((opt = getopt(argc, argv, "p:d:s:")) != -1) {
		switch (opt) {
		case 'p':
			pcr = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			dname = optarg;
			break;
		case 's':
			skip = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 2 || argc - optind - 1 > MAX_BANKS)
		usage();
	dmd = EVP_get_digestbyname(dname);
	if (!dmd) {
		fprintf(stderr, "imareplay: unknown digest %s\n", dname);
		return 2;
	}
	dsize = EVP_MD_get_size(dmd);
	for (i = optind + 1; i < argc; i++) {
		struct bank *b = &banks[nb++];
		char *c = strchr(argv[i], ':');

		if (c) {
			if (strcmp(c + 1, "sha1"))
				usage();
			*c = '\0';
		}
		b->name = argv[i];
		b->padded = !!c;
		b->md = EVP_get_digestbyname(b->name);
		if (!b->md) {
			fprintf(stderr, "imareplay: unknown bank %s\n", b->name);
			return 2;
		}
		b->size = EVP_MD_get_size(b->md);
		if (b->padded && b->size < SHA1_SIZE)
			usage();
		memset(b->pcr, 0, sizeof(b->pcr));
	}

	/* first pass: count the entries of pcr (for -s) and check each digest */
	f = fopen(argv[optind], "rb");
	if (!f) {
		perror(argv[optind]);
		return 2;
	}
	while ((rc = read_entry(f, dsize, &e)) == 1) {
		if (e.pcr != pcr)
			continue;
		count++;
		if (all_zero(e.digest, dsize))
			continue;
		if (hash(dmd, e.data, e.len, check))
			return 2;
		if (memcmp(check, e.digest, dsize)) {
			fprintf(stderr, "imareplay: entry %lu (%s): the listed %s template digest is not the hash of its data\n",
				count, e.name, dname);
			return 1;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "imareplay: %s: %s\n", argv[optind], strerror(-rc));
		return 2;
	}
	if (skip > count)
		skip = count;

	rewind(f);
	while (n < count - skip && (rc = read_entry(f, dsize, &e)) == 1) {
		if (e.pcr != pcr)
			continue;
		n++;
		if (extend(banks, nb, &e, all_zero(e.digest, dsize)))
			return 2;
	}
	fclose(f);
	free(e.data);
	printf("entries %lu\n", n);
	for (i = 0; i < nb; i++) {
		printf("%s ", banks[i].name);
		for (k = 0; k < banks[i].size; k++)
			printf("%02x", banks[i].pcr[k]);
		printf("\n");
	}
	return 0;
}
