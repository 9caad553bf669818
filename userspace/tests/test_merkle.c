// SPDX-License-Identifier: GPL-2.0
/*
 * The attestation tree (lib/merkle.c) against fixed vectors that the
 * independent reference tests/merkle_ref.py (python3 hashlib, recursive,
 * straight from the definition in dm-vdirt-format.h) printed: roots for
 * C = 1, 5, 128, 129, 1000 clusters with every 7th cluster unmeasured and
 * four digest sizes, and proofs.  A one-byte change of one digest changes
 * the root, reverting it restores it; a proof with one flipped bit (in the
 * path, the digest, the cluster number) gives another root.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include "tap.h"
#include "merkle.h"
#include "util.h"

/* printed by: python3 tests/merkle_ref.py */
static const struct vec {
	uint64_t n;
	uint32_t cs, ds;
	const char *hash, *root;
	int64_t proof_cluster;	/* -1: none */
	const char *proof;
} vecs[] = {
	{ 1, 4096, 32, "sha256", "a663c947229e468c0cb9b8963cdaba5baf29e6424757c3facbc2dc87c8f53b77", -1,
	  "" },
	{ 5, 512, 4, "crc32c", "b290928724dbed5fe71efae3758c5e8d9679e15f6e1bf570d1251590c86aa64f", 3,
	  "f58947aecf5b7887ebe2eedd420150cf9aea98f8b544b622383bb6d496933f94"
	  "bfeaf2f13b6580b5895001738bea74e3f8ced31dfb50d3178bf09e7d92c0a7f3"
	  "f66690c81e0f4fe76e893d23445000cce28b03148a92cb7d1af3f672fd4a7690"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "" },
	{ 128, 4096, 32, "sha256", "d9da48e1d53783bc9cdc440f9f4a16b3215d994b97168e9ad01ac65bb5557270", 127,
	  "1c88f6061448f2d67d6e8cb9e2eb7d52dafb284aa275a78dfcf564e8eb1a6c55"
	  "ea5b6593f405da388c77c012c4c2e0c0b4ce6901f22e85af194ce300c9fc4f6c"
	  "220de7a4f19e66253338243c1ab4160f0ba13b42b42c1bed10220e1dd862147b"
	  "5dd2b0c374d92ac0fa6ef93a1da280524fb9c509f6a87e3c12f5a8e983b74984"
	  "92695a741c6cc7a97f1a0afc1ea90cfec3f8f02c5af3b191f3567124a7a389a3"
	  "3cd8c3a2638b47ff37cbed8ff692da5ea85bde4923002dbf9590aaf216b6b5ee"
	  "39cc83423ab924c36466d7a49f5e717e47f3f326f308a7db8c1eaf32444e2bd5"
	  "" },
	{ 129, 4096, 32, "sha256", "1c47fe1722ea029d48bcd641541bbee4055b8ba7d1bd405698c8792248e50579", 128,
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "209c62112a41e48261be6b44568fcc465c5a99906e8e7cabd6cd7d4e19ab2710"
	  "" },
	{ 1000, 65536, 64, "sha512", "0520f760bbd063c4431ac3d713e2ff4e9748c2b394828a3b05b3f55562f4911e", 517,
	  "e5c85b64a5103c21b9b8af38874162fa7d0a726ada2f5bb6c20e4a08bd314e94"
	  "9de19f6bbf61ad182b05dea3125b2da9f9ede3a783526432a75155e2300a6686"
	  "133e2f5a486a7bdec37950c3b00b390fd3403f00adeba2fc01574003d9cdec74"
	  "efd1a14039c30c8f545f102d5f4d7d3fce038d291e135568228e73062da94ca8"
	  "6c1cd05f7425e80c1b3ecd7a152a0ac054392f6a5b695db082c0239741ead160"
	  "bb406988171352e4cbef47e36d2ebae5f428badc77a4a5594217bf0aff4d1152"
	  "f1994e4b0b5a7c9fb4646bb0347b9b65a4f62009607c6ac798d2f08d6eba311f"
	  "9aba77e08c5d0c4aa306a8fcb61143aee3c406940f6a6c092c406b6199424419"
	  "86565d95b470d91c111260e7cf5baafbf0cd60701c5a60ca39fd5366dcf7c88e"
	  "ee2d5a079d47b1a91585e26725b4b52ea67c973d49304165919ee901a10c018f"
	  "" },
};
#define NVEC (sizeof(vecs) / sizeof(vecs[0]))

/* digest(c) as merkle_ref.py makes it: SHA-256("vdirt" || le64(c)) twice, cut, zero when c % 7 == 3 */
static void test_digest(uint64_t c, uint32_t ds, uint8_t *out)
{
	uint8_t in[13], d[32];
	uint64_t le = htole64(c);

	memset(out, 0, ds);
	if (c % 7 == 3)
		return;
	memcpy(in, "vdirt", 5);
	memcpy(in + 5, &le, 8);
	EVP_Digest(in, sizeof(in), d, NULL, EVP_sha256(), NULL);
	memcpy(out, d, ds < 32 ? ds : 32);
	if (ds > 32)
		memcpy(out + 32, d, ds - 32);
}

static uint8_t *digests_of(const struct vec *v)
{
	uint8_t *d = calloc(v->n, v->ds);
	uint64_t c;

	for (c = 0; c < v->n; c++)
		test_digest(c, v->ds, d + c * v->ds);
	return d;
}

static void geom_of(const struct vec *v, struct vmerkle_geom *g)
{
	memset(g, 0, sizeof(*g));
	g->nr_clusters = v->n;
	g->cluster_size = v->cs;
	g->digest_size = v->ds;
	snprintf(g->hash_name, sizeof(g->hash_name), "%s", v->hash);
}

/* streamed one digest at a time, NULL for the unmeasured ones */
static int stream_root(const struct vec *v, const uint8_t *d, int64_t pc, uint8_t *root,
		       uint8_t *proof)
{
	struct vmerkle_geom g;
	struct vmerkle m;
	static const uint8_t z[VDIRT_MAX_DIGEST_SIZE];
	uint64_t c;
	int r;

	geom_of(v, &g);
	r = vmerkle_init(&m, &g);
	if (!r && pc >= 0)
		r = vmerkle_want_proof(&m, pc);
	for (c = 0; c < v->n && !r; c++)
		r = vmerkle_add(&m, memcmp(d + c * v->ds, z, v->ds) ? d + c * v->ds : NULL);
	if (!r)
		r = vmerkle_final(&m, root);
	if (!r && proof)
		memcpy(proof, m.proof, m.height * VMERKLE_SIZE);
	vmerkle_free(&m);
	return r;
}

int main(void)
{
	uint8_t root[VMERKLE_SIZE], want[VMERKLE_SIZE], got[VMERKLE_SIZE];
	uint8_t proof[VDIRT_MERKLE_MAX_HEIGHT * VMERKLE_SIZE], vp[sizeof(proof)];
	struct vmerkle_geom g;
	struct vmerkle m;
	unsigned int i;
	char hx[65];

	TAP_START();
	for (i = 0; i < NVEC; i++) {
		const struct vec *v = &vecs[i];
		uint8_t *d = digests_of(v);
		uint32_t h = vdirt_merkle_height(v->n);
		int64_t pc = v->proof_cluster;

		geom_of(v, &g);
		unhex(want, 32, v->root);
		OK(!stream_root(v, d, pc, root, proof) && !memcmp(root, want, 32),
		   "C=%llu %s (ds %u, cs %u): streamed root equals the reference",
		   (unsigned long long)v->n, v->hash, v->ds, v->cs);
		OK(!vmerkle_root(&g, d, got) && !memcmp(got, want, 32),
		   "C=%llu: the root of the digest list in memory too", (unsigned long long)v->n);
		if (v->n == 1000) {
			d[600 * v->ds + 7] ^= 0x01;
			OK(!vmerkle_root(&g, d, got) && memcmp(got, want, 32),
			   "C=1000: one byte of cluster 600's digest changed: another root");
			d[600 * v->ds + 7] ^= 0x01;
			OK(!vmerkle_root(&g, d, got) && !memcmp(got, want, 32),
			   "C=1000: changed back: the root again");
			memset(d + 601 * v->ds, 0, v->ds);
			OK(!vmerkle_root(&g, d, got) && memcmp(got, want, 32),
			   "C=1000: cluster 601 unmeasured: another root");
			g.cluster_size = 4096;
			test_digest(601, v->ds, d + 601 * v->ds);
			OK(!vmerkle_root(&g, d, got) && memcmp(got, want, 32),
			   "C=1000: the same digests with another cluster size: another root");
			g.cluster_size = v->cs;
		}
		if (pc >= 0) {
			const uint8_t *dc = d + pc * v->ds;
			static const uint8_t z[VDIRT_MAX_DIGEST_SIZE];
			const uint8_t *leafd = memcmp(dc, z, v->ds) ? dc : NULL;
			unsigned int bit;

			OK(strlen(v->proof) == h * 64 && !unhex(vp, h * 32, v->proof),
			   "C=%llu: a reference proof of %u siblings", (unsigned long long)v->n, h);
			OK(!memcmp(proof, vp, h * 32), "C=%llu: the proof collected while streaming is the reference's (cluster %lld)",
			   (unsigned long long)v->n, (long long)pc);
			OK(!vmerkle_proof_root(&g, pc, leafd, vp, got) && !memcmp(got, want, 32),
			   "C=%llu: the reference proof of cluster %lld verifies", (unsigned long long)v->n,
			   (long long)pc);
			bit = (pc * 37 + 11) % (h * 256);
			vp[bit / 8] ^= 1 << (bit % 8);
			OK(!vmerkle_proof_root(&g, pc, leafd, vp, got) && memcmp(got, want, 32),
			   "C=%llu: one bit (%u) of the path flipped: does not verify",
			   (unsigned long long)v->n, bit);
			vp[bit / 8] ^= 1 << (bit % 8);
			vp[(h - 1) * 32 + 31] ^= 0x80;
			OK(!vmerkle_proof_root(&g, pc, leafd, vp, got) && memcmp(got, want, 32),
			   "C=%llu: the top sibling's last bit flipped: does not verify", (unsigned long long)v->n);
			vp[(h - 1) * 32 + 31] ^= 0x80;
			if (leafd) {
				uint8_t dd[VDIRT_MAX_DIGEST_SIZE];

				memcpy(dd, dc, v->ds);
				dd[0] ^= 0x04;
				OK(!vmerkle_proof_root(&g, pc, dd, vp, got) && memcmp(got, want, 32),
				   "C=%llu: one bit of the digest flipped: does not verify",
				   (unsigned long long)v->n);
			} else {
				OK(!vmerkle_proof_root(&g, pc, dc, vp, got) && !memcmp(got, want, 32),
				   "C=%llu: unmeasured: zero bytes and no digest are the same leaf",
				   (unsigned long long)v->n);
			}
			OK(!vmerkle_proof_root(&g, pc ? pc - 1 : 1, leafd,
					       vp, got) && memcmp(got, want, 32),
			   "C=%llu: the proof under another cluster number: does not verify",
			   (unsigned long long)v->n);
		}
		hex(hx, root, 32);
		printf("# C=%llu root %s\n", (unsigned long long)v->n, hx);
		free(d);
	}
	memset(&g, 0, sizeof(g));
	g.digest_size = 32;
	snprintf(g.hash_name, sizeof(g.hash_name), "sha256");
	OK(vmerkle_init(&m, &g) == -EINVAL, "no clusters: -EINVAL");
	g.nr_clusters = 2;
	OK(!vmerkle_init(&m, &g) && vmerkle_final(&m, root) == -EINVAL &&
	   vmerkle_want_proof(&m, 2) == -ERANGE && !vmerkle_add(&m, NULL) &&
	   !vmerkle_add(&m, NULL) && vmerkle_add(&m, NULL) == -ERANGE && !vmerkle_final(&m, root),
	   "a root before its last leaf: -EINVAL; a leaf or proof past the end: -ERANGE");
	vmerkle_free(&m);
	OK(vmerkle_proof_root(&g, 2, NULL, proof, root) == -ERANGE, "a proof past the end: -ERANGE");
	OK(vdirt_merkle_height(1) == 7 && vdirt_merkle_height(128) == 7 &&
	   vdirt_merkle_height(129) == 8 && vdirt_merkle_height(1ULL << 40) == 40,
	   "heights: 7 at least, ceil(log2(C))");
	TAP_DONE();
}
