// SPDX-License-Identifier: GPL-2.0
/*
 * libvdirt: the attestation tree in userspace (see merkle.h and the
 * definition in dm-vdirt-format.h).  Streaming: after leaf n - 1 was added,
 * bit l of n says whether stack[l] holds a complete left node at level l
 * waiting for its right sibling, like a binary counter; vmerkle_final()
 * folds the partial nodes up to level H with zero subtrees on their right.
 * Every node made, complete or partial, is offered to the proof collector
 * with its level and index.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "merkle.h"

static const uint8_t zero_node[VMERKLE_SIZE];

static int sha(struct vmerkle *m, const void *a, size_t al, const void *b, size_t bl,
	       const void *c, size_t cl, uint8_t out[VMERKLE_SIZE])
{
	EVP_MD_CTX *ctx = m->ctx;

	if (!EVP_DigestInit_ex(ctx, m->md, NULL) || !EVP_DigestUpdate(ctx, a, al) ||
	    (bl && !EVP_DigestUpdate(ctx, b, bl)) || (cl && !EVP_DigestUpdate(ctx, c, cl)) ||
	    !EVP_DigestFinal_ex(ctx, out, NULL))
		return -EIO;
	return 0;
}

/* leaf(c) = SHA-256(0x00 || le64(c) || digest) */
static int leaf(struct vmerkle *m, uint64_t c, const uint8_t *digest, uint8_t out[VMERKLE_SIZE])
{
	uint8_t head[9], z[VDIRT_MAX_DIGEST_SIZE];
	uint64_t le = htole64(c);

	head[0] = VDIRT_MERKLE_LEAF;
	memcpy(head + 1, &le, 8);
	if (!digest) {
		memset(z, 0, sizeof(z));
		digest = z;
	}
	return sha(m, head, sizeof(head), digest, m->g.digest_size, NULL, 0, out);
}

/* node = SHA-256(0x01 || left || right) */
static int node(struct vmerkle *m, const uint8_t *l, const uint8_t *r, uint8_t out[VMERKLE_SIZE])
{
	static const uint8_t tag = VDIRT_MERKLE_NODE;

	return sha(m, &tag, 1, l, VMERKLE_SIZE, r, VMERKLE_SIZE, out);
}

/* root = SHA-256(0x02 || le64(C) || le32(cs) || le32(ds) || hash_name[64] || top) */
static int bind(struct vmerkle *m, const uint8_t *top, uint8_t out[VMERKLE_SIZE])
{
	uint8_t b[1 + 8 + 4 + 4 + 64];
	uint64_t c = htole64(m->g.nr_clusters);
	uint32_t cs = htole32(m->g.cluster_size), ds = htole32(m->g.digest_size);

	memset(b, 0, sizeof(b));
	b[0] = VDIRT_MERKLE_ROOT;
	memcpy(b + 1, &c, 8);
	memcpy(b + 9, &cs, 4);
	memcpy(b + 13, &ds, 4);
	strncpy((char *)b + 17, m->g.hash_name, 64);
	return sha(m, b, sizeof(b), top, VMERKLE_SIZE, NULL, 0, out);
}

/* node(l, i) is made: keep it if it is a sibling on the proof's path */
static void offer(struct vmerkle *m, uint32_t l, uint64_t i, const uint8_t *n)
{
	if (m->proof_cluster != UINT64_MAX && l < m->height &&
	    i == ((m->proof_cluster >> l) ^ 1))
		memcpy(m->proof[l], n, VMERKLE_SIZE);
}

int vmerkle_init(struct vmerkle *m, const struct vmerkle_geom *g)
{
	memset(m, 0, sizeof(*m));
	if (!g->nr_clusters || !g->digest_size || g->digest_size > VDIRT_MAX_DIGEST_SIZE ||
	    strnlen(g->hash_name, sizeof(g->hash_name)) == sizeof(g->hash_name))
		return -EINVAL;
	m->g = *g;
	m->height = vdirt_merkle_height(g->nr_clusters);
	m->proof_cluster = UINT64_MAX;
	m->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	m->ctx = EVP_MD_CTX_new();
	if (!m->md || !m->ctx) {
		vmerkle_free(m);
		return -ENOMEM;
	}
	return 0;
}

int vmerkle_want_proof(struct vmerkle *m, uint64_t cluster)
{
	if (cluster >= m->g.nr_clusters || m->next)
		return cluster >= m->g.nr_clusters ? -ERANGE : -EINVAL;
	m->proof_cluster = cluster;
	memset(m->proof, 0, sizeof(m->proof));	/* siblings without leaves stay zero */
	return 0;
}

int vmerkle_add(struct vmerkle *m, const uint8_t *digest)
{
	uint8_t n[VMERKLE_SIZE];
	uint64_t i = m->next;
	uint32_t l = 0;
	int r;

	if (m->next >= m->g.nr_clusters)
		return -ERANGE;
	r = leaf(m, i, digest, n);
	if (r)
		return r;
	offer(m, 0, i, n);
	/* carry: a set bit l of next holds the left sibling of this node */
	while (m->next >> l & 1) {
		r = node(m, m->stack[l], n, n);
		if (r)
			return r;
		l++;
		i >>= 1;
		offer(m, l, i, n);
	}
	memcpy(m->stack[l], n, VMERKLE_SIZE);
	m->next++;
	return 0;
}

int vmerkle_add_many(struct vmerkle *m, const uint8_t *digests, uint64_t n)
{
	uint64_t k;
	int r;

	for (k = 0; k < n; k++) {
		r = vmerkle_add(m, digests + k * m->g.digest_size);
		if (r)
			return r;
	}
	return 0;
}

int vmerkle_final(struct vmerkle *m, uint8_t root[VMERKLE_SIZE])
{
	const uint64_t c = m->g.nr_clusters;
	uint8_t cur[VMERKLE_SIZE];
	int have_cur = 0, r;
	uint32_t l;

	if (m->next != c)
		return -EINVAL;
	/*
	 * Level l's partial node (cur) has index c >> l: odd when bit l of c
	 * is set, its left sibling being stack[l]; the right of the rightmost
	 * node at each level has no leaf under it: a zero subtree.
	 */
	for (l = 0; l < m->height; l++) {
		int left = c >> l & 1;

		if (!left && !have_cur)
			continue;
		if (left)
			r = node(m, m->stack[l], have_cur ? cur : zero_node, cur);
		else
			r = node(m, cur, zero_node, cur);
		if (r)
			return r;
		have_cur = 1;
		offer(m, l + 1, c >> (l + 1), cur);
	}
	/* C == 2^H: the carry left the whole tree in stack[H] */
	return bind(m, have_cur ? cur : m->stack[m->height], root);
}

void vmerkle_free(struct vmerkle *m)
{
	EVP_MD_CTX_free(m->ctx);
	EVP_MD_free(m->md);
	m->ctx = NULL;
	m->md = NULL;
}

int vmerkle_root(const struct vmerkle_geom *g, const uint8_t *digests,
		 uint8_t root[VMERKLE_SIZE])
{
	struct vmerkle m;
	int r;

	r = vmerkle_init(&m, g);
	if (r)
		return r;
	r = vmerkle_add_many(&m, digests, g->nr_clusters);
	if (!r)
		r = vmerkle_final(&m, root);
	vmerkle_free(&m);
	return r;
}

int vmerkle_proof_root(const struct vmerkle_geom *g, uint64_t cluster, const uint8_t *digest,
		       const uint8_t *path, uint8_t root[VMERKLE_SIZE])
{
	uint8_t n[VMERKLE_SIZE];
	struct vmerkle m;
	uint32_t l;
	int r;

	r = vmerkle_init(&m, g);
	if (r)
		return r;
	r = -ERANGE;
	if (cluster >= g->nr_clusters)
		goto out;
	r = leaf(&m, cluster, digest, n);
	for (l = 0; l < m.height && !r; l++) {
		const uint8_t *s = path + (size_t)l * VMERKLE_SIZE;

		r = cluster >> l & 1 ? node(&m, s, n, n) : node(&m, n, s, n);
	}
	if (!r)
		r = bind(&m, n, root);
out:
	vmerkle_free(&m);
	return r;
}
