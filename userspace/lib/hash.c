// SPDX-License-Identifier: GPL-2.0
/*
 * vdirtctl digests.  Every algorithm produces the bytes the kernel's shash
 * of the same name produces:
 *   sha1, sha256, sha512   OpenSSL (libcrypto)
 *   blake2b-256/512        unkeyed BLAKE2b (RFC 7693) with that output length;
 *                          OpenSSL 3.0 cannot set BLAKE2b's output length, so
 *                          it is computed here
 *   xxhash64               libxxhash XXH64, seed 0, written little-endian
 *                          (crypto/xxhash_generic.c: put_unaligned_le64)
 *   crc32c                 Castagnoli, seed ~0, output ~crc little-endian
 *                          (crypto/crc32c_generic.c: put_unaligned_le32(~crc))
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include "hash.h"

enum { VH_OSSL, VH_BLAKE2B, VH_XXH64, VH_CRC32C };

static const struct vh_alg algs[] = {
	{ "sha256", 32, VH_OSSL, "SHA256" },
	{ "sha1", 20, VH_OSSL, "SHA1" },
	{ "sha512", 64, VH_OSSL, "SHA512" },
	{ "blake2b-256", 32, VH_BLAKE2B, NULL },
	{ "blake2b-512", 64, VH_BLAKE2B, NULL },
	{ "xxhash64", 8, VH_XXH64, NULL },
	{ "crc32c", 4, VH_CRC32C, NULL },
};

const struct vh_alg *vh_algs(unsigned int i)
{
	return i < sizeof(algs) / sizeof(algs[0]) ? &algs[i] : NULL;
}

const struct vh_alg *vh_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (!strcmp(algs[i].name, name))
			return &algs[i];
	return NULL;
}

struct vh_ctx {
	const struct vh_alg *alg;
	EVP_MD *md;
	EVP_MD_CTX *mdctx;
};

struct vh_ctx *vh_ctx_new(const struct vh_alg *alg)
{
	struct vh_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->alg = alg;
	if (alg->kind == VH_OSSL) {
		c->md = EVP_MD_fetch(NULL, alg->ossl, NULL);
		c->mdctx = EVP_MD_CTX_new();
		if (!c->md || !c->mdctx) {
			vh_ctx_free(c);
			return NULL;
		}
	}
	return c;
}

void vh_ctx_free(struct vh_ctx *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->mdctx);
	EVP_MD_free(c->md);
	free(c);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

int vh_digest(struct vh_ctx *c, const void *buf, size_t len, uint8_t *out)
{
	unsigned int n;

	switch (c->alg->kind) {
	case VH_OSSL:
		if (!EVP_DigestInit_ex(c->mdctx, c->md, NULL) ||
		    !EVP_DigestUpdate(c->mdctx, buf, len) ||
		    !EVP_DigestFinal_ex(c->mdctx, out, &n) ||
		    n != c->alg->digest_size)
			return -EIO;
		return 0;
	case VH_BLAKE2B:
		vh_blake2b(out, c->alg->digest_size, buf, len);
		return 0;
	case VH_XXH64:
		put_le64(out, XXH64(buf, len, 0));
		return 0;
	case VH_CRC32C:
		put_le32(out, ~vh_crc32c(~0U, buf, len));
		return 0;
	}
	return -EINVAL;
}

/* ---- crc32c (Castagnoli, reflected polynomial 0x82f63b78), slice-by-8 ---- */
static uint32_t crc_tab[8][256];
static int crc_tab_ready;

static void crc_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ ((c & 1) ? 0x82f63b78U : 0);
		crc_tab[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crc_tab[j][i] = (crc_tab[j - 1][i] >> 8) ^
					crc_tab[0][crc_tab[j - 1][i] & 0xff];
	__atomic_store_n(&crc_tab_ready, 1, __ATOMIC_RELEASE);
}

uint32_t vh_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!__atomic_load_n(&crc_tab_ready, __ATOMIC_ACQUIRE))
		crc_init();	/* idempotent: racing threads write equal values */
	while (len >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
				     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		      crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^
		      crc_tab[3][p[4]] ^ crc_tab[2][p[5]] ^
		      crc_tab[1][p[6]] ^ crc_tab[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xff];
	return crc;
}

/* ---- BLAKE2b, unkeyed, RFC 7693 ---- */
static const uint64_t b2_iv[8] = {
	0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
	0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
	0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

static const uint8_t b2_sigma[12][16] = {
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

static uint64_t rotr64(uint64_t x, unsigned int n)
{
	return (x >> n) | (x << (64 - n));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define B2G(a, b, c, d, x, y) do {				\
	v[a] = v[a] + v[b] + (x); v[d] = rotr64(v[d] ^ v[a], 32);	\
	v[c] = v[c] + v[d];       v[b] = rotr64(v[b] ^ v[c], 24);	\
	v[a] = v[a] + v[b] + (y); v[d] = rotr64(v[d] ^ v[a], 16);	\
	v[c] = v[c] + v[d];       v[b] = rotr64(v[b] ^ v[c], 63);	\
} while (0)

static void b2_compress(uint64_t h[8], const uint8_t block[128],
			uint64_t t, int last)
{
	uint64_t v[16], m[16];
	int i;

	for (i = 0; i < 16; i++)
		m[i] = get_le64(block + 8 * i);
	for (i = 0; i < 8; i++) {
		v[i] = h[i];
		v[i + 8] = b2_iv[i];
	}
	v[12] ^= t;		/* t fits 64 bits for any buffer we hash */
	if (last)
		v[14] = ~v[14];
	for (i = 0; i < 12; i++) {
		const uint8_t *s = b2_sigma[i];

		B2G(0, 4, 8, 12, m[s[0]], m[s[1]]);
		B2G(1, 5, 9, 13, m[s[2]], m[s[3]]);
		B2G(2, 6, 10, 14, m[s[4]], m[s[5]]);
		B2G(3, 7, 11, 15, m[s[6]], m[s[7]]);
		B2G(0, 5, 10, 15, m[s[8]], m[s[9]]);
		B2G(1, 6, 11, 12, m[s[10]], m[s[11]]);
		B2G(2, 7, 8, 13, m[s[12]], m[s[13]]);
		B2G(3, 4, 9, 14, m[s[14]], m[s[15]]);
	}
	for (i = 0; i < 8; i++)
		h[i] ^= v[i] ^ v[i + 8];
}

void vh_blake2b(uint8_t *out, size_t outlen, const void *in, size_t inlen)
{
	const uint8_t *p = in;
	uint8_t block[128], full[64];
	uint64_t h[8], t = 0;
	size_t i;

	for (i = 0; i < 8; i++)
		h[i] = b2_iv[i];
	h[0] ^= 0x01010000ULL ^ outlen;	/* depth 1, fanout 1, no key */
	while (inlen > 128) {
		t += 128;
		b2_compress(h, p, t, 0);
		p += 128;
		inlen -= 128;
	}
	memset(block, 0, sizeof(block));
	if (inlen)
		memcpy(block, p, inlen);
	t += inlen;
	b2_compress(h, block, t, 1);
	for (i = 0; i < 8; i++)
		put_le64(full + 8 * i, h[i]);
	memcpy(out, full, outlen);
}
