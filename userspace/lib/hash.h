/* SPDX-License-Identifier: GPL-2.0 */
/* vdirtctl: digests computed exactly as the kernel crypto API shash of the same name */
#ifndef VDIRTCTL_HASH_H
#define VDIRTCTL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define VH_MAX_DIGEST 64

struct vh_alg {
	const char *name;	/* kernel crypto API name */
	unsigned int digest_size;
	int kind;		/* VH_* in hash.c */
	const char *ossl;	/* OpenSSL digest name, or NULL */
};

struct vh_ctx;

const struct vh_alg *vh_find(const char *name);
/* names of all supported algorithms, NULL-terminated */
const struct vh_alg *vh_algs(unsigned int i);

struct vh_ctx *vh_ctx_new(const struct vh_alg *alg);
void vh_ctx_free(struct vh_ctx *c);
/* one-shot digest of buf into out (alg->digest_size bytes); 0 or -errno */
int vh_digest(struct vh_ctx *c, const void *buf, size_t len, uint8_t *out);

/* software primitives, exposed for unit tests */
uint32_t vh_crc32c(uint32_t crc, const void *buf, size_t len);	/* raw, no inversion */
void vh_blake2b(uint8_t *out, size_t outlen, const void *in, size_t inlen);

#endif
