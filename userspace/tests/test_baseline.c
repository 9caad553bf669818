// SPDX-License-Identifier: GPL-2.0
/* baseline file format: encode, seal, check; damaged files refused */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "tap.h"
#include "baseline.h"
#include "hash.h"

static uint8_t *make(size_t *len, uint32_t cs, const char *hash, uint64_t size)
{
	const struct vh_alg *a = vh_find(hash);
	struct vb_info in;
	uint8_t *buf;
	uint64_t i;

	memset(&in, 0, sizeof(in));
	in.cluster_size = cs;
	in.digest_size = a->digest_size;
	in.source_size = size;
	in.nr_clusters = (size + cs - 1) / cs;
	in.created_ns = 1234;
	snprintf(in.hash_name, sizeof(in.hash_name), "%s", hash);
	*len = VB_HEADER_SIZE + in.nr_clusters * a->digest_size;
	buf = calloc(1, *len);
	vb_encode_header(&in, buf);
	for (i = VB_HEADER_SIZE; i < *len; i++)
		buf[i] = i * 7;
	vb_seal(buf, *len);
	return buf;
}

static int check(const uint8_t *b, size_t len, char *msg)
{
	struct vb_info o;

	return vb_check(b, len, &o, msg, 200);
}

int main(void)
{
	char msg[200];
	struct vb_info o;
	size_t len, i;
	uint8_t *b = make(&len, 4096, "sha256", 10 * 4096 + 512), *c;
	int r, all = 1, bit;
	char path[] = "/tmp/vdirt-bl-XXXXXX";
	struct vb_file f;
	FILE *fp;

	TAP_START();
	r = vb_check(b, len, &o, msg, sizeof(msg));
	OK(!r, "a sealed file is accepted");
	OK(!r && o.nr_clusters == 11 && o.cluster_size == 4096 && o.digest_size == 32 &&
	   !strcmp(o.hash_name, "sha256") && o.source_size == 10 * 4096 + 512 &&
	   o.created_ns == 1234, "header fields round-trip (partial last cluster counted)");
	OK(check(b, len - 1, msg) == -EBADMSG && strstr(msg, "truncated"),
	   "truncated by one byte refused: %s", msg);
	OK(check(b, 100, msg) == -EBADMSG && strstr(msg, "truncated"), "truncated header refused");
	c = calloc(1, len + 32);
	memcpy(c, b, len);
	OK(check(c, len + 32, msg) == -EBADMSG && strstr(msg, "wrong size"),
	   "trailing bytes refused: %s", msg);
	memcpy(c, b, len);
	c[0] = 'X';
	OK(check(c, len, msg) == -EBADMSG && strstr(msg, "magic"), "wrong magic refused");
	memcpy(c, b, len);
	c[8] = 2;
	vb_seal(c, len);
	OK(check(c, len, msg) == -EPROTONOSUPPORT, "unknown version refused: %s", msg);
	/* every single-bit flip anywhere in the file is refused */
	for (i = 0; i < len && all; i++)
		for (bit = 0; bit < 8; bit++) {
			memcpy(c, b, len);
			c[i] ^= 1 << bit;
			if (!check(c, len, msg)) {
				all = 0;
				printf("# flip at byte %zu bit %d accepted\n", i, bit);
				break;
			}
		}
	OK(all, "all %zu single-bit flips refused", len * 8);
	/* internally inconsistent headers, resealed so only the check can catch them */
	memcpy(c, b, len);
	c[24] = 12;	/* nr_clusters 12 for 11 clusters of source */
	vb_seal(c, len);
	OK(check(c, len, msg) == -EBADMSG && strstr(msg, "cluster count"),
	   "cluster count not matching source size refused: %s", msg);
	memcpy(c, b, len);
	c[20] = 20;	/* digest size 20 with sha256 */
	vb_seal(c, len);
	OK(check(c, len, msg) == -EBADMSG && strstr(msg, "digest size"), "digest size mismatch refused");
	memcpy(c, b, len);
	memcpy(c + 64, "md4\0\0\0", 6);
	vb_seal(c, len);
	OK(check(c, len, msg) == -EBADMSG && strstr(msg, "unknown hash"), "unknown hash refused");
	memcpy(c, b, len);
	c[17] = 0x30;	/* cluster size 0x3000 */
	vb_seal(c, len);
	OK(check(c, len, msg) == -EBADMSG && strstr(msg, "cluster size"),
	   "cluster size not a power of two refused");
	memcpy(c, b, len);
	c[40] = 1;	/* unknown flag */
	vb_seal(c, len);
	OK(check(c, len, msg) == -EPROTONOSUPPORT, "unknown flags refused");
	memcpy(c, b, len);
	c[130] = 1;	/* reserved */
	vb_seal(c, len);
	OK(check(c, len, msg) == -EBADMSG && strstr(msg, "reserved"), "reserved bytes must be zero");
	free(c);
	free(b);
	/* every algorithm, small and odd sizes */
	all = 1;
	for (i = 0; vh_algs(i); i++) {
		b = make(&len, 512, vh_algs(i)->name, 3 * 512);
		if (check(b, len, msg) || len != VB_HEADER_SIZE + 3 * vh_algs(i)->digest_size)
			all = 0;
		free(b);
	}
	OK(all, "files for every algorithm accepted");
	/* through a real file */
	b = make(&len, 65536, "crc32c", 1 << 20);
	fp = fdopen(mkstemp(path), "w");
	fwrite(b, 1, len, fp);
	fclose(fp);
	r = vb_open(path, &f, msg, sizeof(msg));
	OK(!r && f.info.nr_clusters == 16 && f.digests[0] == b[VB_HEADER_SIZE], "vb_open reads a file");
	vb_close(&f);
	if (truncate(path, len - 4) == 0)
		r = vb_open(path, &f, msg, sizeof(msg));
	OK(r == -EBADMSG && strstr(msg, "truncated"), "vb_open refuses a truncated file: %s", msg);
	unlink(path);
	free(b);
	TAP_DONE();
}
