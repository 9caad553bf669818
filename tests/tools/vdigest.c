// SPDX-License-Identifier: GPL-2.0
/*
 * vdigest - print the digest of a file (or stdin) the way the kernel crypto
 * API shash of the same name produces it, as lowercase hex of the digest bytes.
 *
 * Usage: vdigest ALG [FILE [OFFSET LEN]]
 *   ALG: sha256 | sha1 | blake2b-256 | xxhash64 | crc32c
 * xxhash64 (seed 0) and crc32c (seed ~0, final ~crc) are emitted little-endian,
 * as crypto/xxhash_generic.c and crypto/crc32c_generic.c write them.
 * With -c SIZE, prints one digest per SIZE-byte chunk (one per line).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

/* ---------------- SHA-256 ---------------- */
static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define ROL32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

struct md {		/* Merkle-Damgard state shared by sha1/sha256 */
	uint32_t h[8];
	uint8_t buf[64];
	uint64_t len;
	size_t n;
	void (*block)(uint32_t *h, const uint8_t *p);
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void sha256_block(uint32_t *h, const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = be32(p + 4 * i);
	for (; i < 64; i++) {
		uint32_t s0 = ROR32(w[i - 15], 7) ^ ROR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR32(w[i - 2], 17) ^ ROR32(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (i = 0; i < 64; i++) {
		t1 = hh + (ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
		t2 = (ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha1_block(uint32_t *h, const uint8_t *p)
{
	uint32_t w[80], a, b, c, d, e, t;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = be32(p + 4 * i);
	for (; i < 80; i++)
		w[i] = ROL32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4];
	for (i = 0; i < 80; i++) {
		uint32_t f, k;

		if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
		else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
		else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
		else { f = b ^ c ^ d; k = 0xca62c1d6; }
		t = ROL32(a, 5) + f + e + k + w[i];
		e = d; d = c; c = ROL32(b, 30); b = a; a = t;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

static void md_update(struct md *m, const uint8_t *p, size_t len)
{
	m->len += len;
	while (len) {
		size_t k = 64 - m->n;

		if (k > len)
			k = len;
		memcpy(m->buf + m->n, p, k);
		m->n += k;
		p += k;
		len -= k;
		if (m->n == 64) {
			m->block(m->h, m->buf);
			m->n = 0;
		}
	}
}

static void md_final(struct md *m, uint8_t *out, int words)
{
	uint64_t bits = m->len * 8;
	uint8_t pad = 0x80, z = 0, lb[8];
	int i;

	md_update(m, &pad, 1);
	while (m->n != 56)
		md_update(m, &z, 1);
	for (i = 0; i < 8; i++)
		lb[i] = bits >> (56 - 8 * i);
	md_update(m, lb, 8);
	for (i = 0; i < words; i++) {
		out[4 * i] = m->h[i] >> 24;
		out[4 * i + 1] = m->h[i] >> 16;
		out[4 * i + 2] = m->h[i] >> 8;
		out[4 * i + 3] = m->h[i];
	}
}

/* ---------------- BLAKE2b ---------------- */
static const uint64_t B2IV[8] = {
	0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
	0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};
static const uint8_t B2S[12][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
};
struct b2 {
	uint64_t h[8], t;
	uint8_t buf[128];
	size_t n;
	int outlen;
};
#define ROR64(x, n) (((x) >> (n)) | ((x) << (64 - (n))))

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void b2_compress(struct b2 *s, const uint8_t *p, int last)
{
	uint64_t m[16], v[16];
	int i, r;

	for (i = 0; i < 16; i++)
		m[i] = le64(p + 8 * i);
	for (i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = B2IV[i];
	}
	v[12] ^= s->t;
	if (last)
		v[14] = ~v[14];
#define G(a, b, c, d, x, y) do { \
	v[a] = v[a] + v[b] + (x); v[d] = ROR64(v[d] ^ v[a], 32); \
	v[c] = v[c] + v[d]; v[b] = ROR64(v[b] ^ v[c], 24); \
	v[a] = v[a] + v[b] + (y); v[d] = ROR64(v[d] ^ v[a], 16); \
	v[c] = v[c] + v[d]; v[b] = ROR64(v[b] ^ v[c], 63); } while (0)
	for (r = 0; r < 12; r++) {
		const uint8_t *sg = B2S[r];

		G(0, 4, 8, 12, m[sg[0]], m[sg[1]]);
		G(1, 5, 9, 13, m[sg[2]], m[sg[3]]);
		G(2, 6, 10, 14, m[sg[4]], m[sg[5]]);
		G(3, 7, 11, 15, m[sg[6]], m[sg[7]]);
		G(0, 5, 10, 15, m[sg[8]], m[sg[9]]);
		G(1, 6, 11, 12, m[sg[10]], m[sg[11]]);
		G(2, 7, 8, 13, m[sg[12]], m[sg[13]]);
		G(3, 4, 9, 14, m[sg[14]], m[sg[15]]);
	}
#undef G
	for (i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
}

static void b2_init(struct b2 *s, int outlen)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 8; i++)
		s->h[i] = B2IV[i];
	s->h[0] ^= 0x01010000ULL ^ (uint64_t)outlen;
	s->outlen = outlen;
}

static void b2_update(struct b2 *s, const uint8_t *p, size_t len)
{
	while (len) {
		size_t k;

		if (s->n == 128) {	/* only compress when more data follows */
			s->t += 128;
			b2_compress(s, s->buf, 0);
			s->n = 0;
		}
		k = 128 - s->n;
		if (k > len)
			k = len;
		memcpy(s->buf + s->n, p, k);
		s->n += k;
		p += k;
		len -= k;
	}
}

static void b2_final(struct b2 *s, uint8_t *out)
{
	int i;

	s->t += s->n;
	memset(s->buf + s->n, 0, 128 - s->n);
	b2_compress(s, s->buf, 1);
	for (i = 0; i < s->outlen; i++)
		out[i] = s->h[i / 8] >> (8 * (i % 8));
}

/* ---------------- xxHash64 ---------------- */
#define P1 11400714785074694791ULL
#define P2 14029467366897019727ULL
#define P3 1609587929392839161ULL
#define P4 9650029242287828579ULL
#define P5 2870177450012600261ULL
#define ROL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))
struct xx {
	uint64_t v[4], total;
	uint8_t buf[32];
	size_t n;
};

static uint64_t xx_round(uint64_t acc, uint64_t in)
{
	acc += in * P2;
	acc = ROL64(acc, 31);
	return acc * P1;
}

static uint64_t xx_merge(uint64_t acc, uint64_t v)
{
	acc ^= xx_round(0, v);
	return acc * P1 + P4;
}

static void xx_init(struct xx *s)
{
	memset(s, 0, sizeof(*s));
	s->v[0] = P1 + P2;
	s->v[1] = P2;
	s->v[2] = 0;
	s->v[3] = -P1;
}

static void xx_update(struct xx *s, const uint8_t *p, size_t len)
{
	s->total += len;
	while (len) {
		size_t k = 32 - s->n;

		if (k > len)
			k = len;
		memcpy(s->buf + s->n, p, k);
		s->n += k;
		p += k;
		len -= k;
		if (s->n == 32) {
			int i;

			for (i = 0; i < 4; i++)
				s->v[i] = xx_round(s->v[i], le64(s->buf + 8 * i));
			s->n = 0;
		}
	}
}

static uint64_t xx_final(struct xx *s)
{
	uint64_t h;
	const uint8_t *p = s->buf, *end = s->buf + s->n;

	if (s->total >= 32) {
		h = ROL64(s->v[0], 1) + ROL64(s->v[1], 7) + ROL64(s->v[2], 12) + ROL64(s->v[3], 18);
		h = xx_merge(h, s->v[0]);
		h = xx_merge(h, s->v[1]);
		h = xx_merge(h, s->v[2]);
		h = xx_merge(h, s->v[3]);
	} else {
		h = s->v[2] + P5;
	}
	h += s->total;
	while (p + 8 <= end) {
		h ^= xx_round(0, le64(p));
		h = ROL64(h, 27) * P1 + P4;
		p += 8;
	}
	if (p + 4 <= end) {
		uint32_t w = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

		h ^= (uint64_t)w * P1;
		h = ROL64(h, 23) * P2 + P3;
		p += 4;
	}
	while (p < end) {
		h ^= (*p) * P5;
		h = ROL64(h, 11) * P1;
		p++;
	}
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

/* ---------------- CRC32C ---------------- */
static uint32_t crc_tab[256];

static void crc_init_tab(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78 : c >> 1;
		crc_tab[i] = c;
	}
}

/* ---------------- driver ---------------- */
enum { A_SHA256, A_SHA1, A_B2, A_XX, A_CRC };

struct ctx {
	int alg;
	struct md md;
	struct b2 b2;
	struct xx xx;
	uint32_t crc;
};

static void ctx_init(struct ctx *c)
{
	static const uint32_t h256[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	static const uint32_t h1[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };

	switch (c->alg) {
	case A_SHA256:
		memset(&c->md, 0, sizeof(c->md));
		memcpy(c->md.h, h256, sizeof(h256));
		c->md.block = sha256_block;
		break;
	case A_SHA1:
		memset(&c->md, 0, sizeof(c->md));
		memcpy(c->md.h, h1, sizeof(h1));
		c->md.block = sha1_block;
		break;
	case A_B2:
		b2_init(&c->b2, 32);
		break;
	case A_XX:
		xx_init(&c->xx);
		break;
	case A_CRC:
		c->crc = 0xffffffff;
		break;
	}
}

static void ctx_update(struct ctx *c, const uint8_t *p, size_t len)
{
	size_t i;

	switch (c->alg) {
	case A_SHA256:
	case A_SHA1:
		md_update(&c->md, p, len);
		break;
	case A_B2:
		b2_update(&c->b2, p, len);
		break;
	case A_XX:
		xx_update(&c->xx, p, len);
		break;
	case A_CRC:
		for (i = 0; i < len; i++)
			c->crc = crc_tab[(c->crc ^ p[i]) & 0xff] ^ (c->crc >> 8);
		break;
	}
}

static void ctx_print(struct ctx *c)
{
	uint8_t out[64];
	int n = 0, i;
	uint64_t x;

	switch (c->alg) {
	case A_SHA256:
		md_final(&c->md, out, 8);
		n = 32;
		break;
	case A_SHA1:
		md_final(&c->md, out, 5);
		n = 20;
		break;
	case A_B2:
		b2_final(&c->b2, out);
		n = 32;
		break;
	case A_XX:
		x = xx_final(&c->xx);
		for (i = 0; i < 8; i++)
			out[i] = x >> (8 * i);
		n = 8;
		break;
	case A_CRC:
		x = ~c->crc;
		for (i = 0; i < 4; i++)
			out[i] = x >> (8 * i);
		n = 4;
		break;
	}
	for (i = 0; i < n; i++)
		printf("%02x", out[i]);
	printf("\n");
}

static void usage(void)
{
	fprintf(stderr, "usage: vdigest [-c CHUNK] sha256|sha1|blake2b-256|xxhash64|crc32c [FILE [OFFSET LEN]]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 16];
	struct ctx c;
	long long chunk = 0, off = 0, len = -1, inchunk = 0;
	int fd = 0, opt;
	const char *a;

	while ((opt = getopt(argc, argv, "c:")) != -1) {
		if (opt == 'c')
			chunk = atoll(optarg);
		else
			usage();
	}
	if (optind >= argc)
		usage();
	a = argv[optind++];
	if (!strcmp(a, "sha256"))
		c.alg = A_SHA256;
	else if (!strcmp(a, "sha1"))
		c.alg = A_SHA1;
	else if (!strcmp(a, "blake2b-256"))
		c.alg = A_B2;
	else if (!strcmp(a, "xxhash64"))
		c.alg = A_XX;
	else if (!strcmp(a, "crc32c"))
		c.alg = A_CRC;
	else
		usage();
	crc_init_tab();
	if (optind < argc && strcmp(argv[optind], "-")) {
		fd = open(argv[optind], O_RDONLY);
		if (fd < 0) {
			perror(argv[optind]);
			return 1;
		}
	}
	if (optind + 2 < argc) {
		off = atoll(argv[optind + 1]);
		len = atoll(argv[optind + 2]);
		if (lseek(fd, off, SEEK_SET) < 0) {
			perror("lseek");
			return 1;
		}
	}
	ctx_init(&c);
	for (;;) {
		size_t want = sizeof(buf);
		ssize_t r;

		if (len >= 0 && (long long)want > len)
			want = len;
		if (chunk && (long long)want > chunk - inchunk)
			want = chunk - inchunk;
		if (!want)
			break;
		r = read(fd, buf, want);
		if (r < 0) {
			perror("read");
			return 1;
		}
		if (r == 0)
			break;
		ctx_update(&c, buf, r);
		if (len >= 0)
			len -= r;
		if (chunk) {
			inchunk += r;
			if (inchunk == chunk) {
				ctx_print(&c);
				ctx_init(&c);
				inchunk = 0;
			}
		}
	}
	if (len > 0) {
		fprintf(stderr, "vdigest: short input\n");
		return 1;
	}
	if (!chunk || inchunk)
		ctx_print(&c);
	return 0;
}
