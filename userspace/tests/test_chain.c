// SPDX-License-Identifier: GPL-2.0
/*
 * The record log's chain verifier (lib/chain.c): a chain built here as the
 * kernel builds it (dm-vdirt-log.c) verifies; an edited, removed or
 * reordered record is named; a keyed chain needs its key; checkpoints
 * survive a JSON round trip.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include "tap.h"
#include "chain.h"
#include "hash.h"
#include "util.h"

#define N 8
#define DS 32

static uint8_t recs[N][VDIRT_RECORD_SIZE];
static uint8_t head[VCHAIN_HASH];

static void fix_csum(uint8_t *p)
{
	struct vdirt_disk_record *d = (void *)p;

	d->csum = 0;
	d->csum = htole32(vh_crc32c(~0U, p, VDIRT_RECORD_SIZE));
}

/* records first..first+N-1, chained from chain_start, as the kernel does */
static void build(uint64_t first, uint64_t chain_start, const uint8_t *key, size_t kl)
{
	uint8_t prev[VCHAIN_HASH] = { 0 };
	int i;

	for (i = 0; i < N; i++) {
		struct vdirt_disk_record *d = (void *)recs[i];
		uint64_t s = first + i;

		memset(d, 0, sizeof(*d));
		d->seq = htole64(s);
		d->cluster = htole64(100 + i);
		d->time_ns = htole64(1000000000ULL * s);
		d->kind = i ? VDIRT_KIND_READ_MISMATCH : VDIRT_KIND_ACTIVATION;
		d->digest_size = DS;
		d->epoch = htole64(1 + i / 3);
		if (s > chain_start)
			memcpy(d->prev, prev, VCHAIN_HASH);
		fix_csum(recs[i]);
		vchain_digest(recs[i], key, kl, prev);
	}
	memcpy(head, prev, VCHAIN_HASH);
}

static int verify(uint64_t first, uint64_t cs, const uint8_t *key, size_t kl,
		  struct vchain_res *res)
{
	return vchain_verify(&recs[0][0], first, N, cs, head, DS, key, kl, res);
}

int main(void)
{
	static const uint8_t key[20] = "0123456789abcdefghij", key2[20] = "0123456789abcdefghiJ";
	struct vchain_res res;
	struct vcheckpoint c, c2;
	uint8_t tmp[VDIRT_RECORD_SIZE], abc[VDIRT_RECORD_SIZE] = { 0 }, d[VCHAIN_HASH];
	char *text;
	char h[65];

	TAP_START();
	/* D of 256 zero bytes: SHA-256 known answer */
	vchain_digest(abc, NULL, 0, d);
	hex(h, d, 32);
	OK(!strcmp(h, "5341e6b2646979a70e57653007a1f310169421ec9bdd9f1a5648f75ade005af1"),
	   "D(256 zero bytes) is their SHA-256");

	build(10, 10, NULL, 0);
	OK(!verify(10, 10, NULL, 0, &res), "an intact chain verifies");
	OK(!vchain_verify(&recs[0][0], 10, N, 10, NULL, DS, NULL, 0, &res),
	   "... also without a head hash");
	OK(verify(10, 10, key, sizeof(key), &res) == -EBADMSG, "... not with a key it was not made with");

	/* an edited record, its checksum fixed: named */
	build(10, 10, NULL, 0);
	recs[3][8] ^= 1;
	fix_csum(recs[3]);
	OK(verify(10, 10, NULL, 0, &res) == -EBADMSG && res.bad == 13,
	   "an edited record (crc fixed) is named: %llu", (unsigned long long)res.bad);
	/* the same without fixing its checksum */
	build(10, 10, NULL, 0);
	recs[5][16] ^= 1;
	OK(verify(10, 10, NULL, 0, &res) == -EBADMSG && res.bad == 15 && strstr(res.why, "checksum"),
	   "an edited record (crc not fixed) is named: %llu", (unsigned long long)res.bad);
	/* the last record edited: only the head hash tells */
	build(10, 10, NULL, 0);
	recs[N - 1][8] ^= 1;
	fix_csum(recs[N - 1]);
	OK(verify(10, 10, NULL, 0, &res) == -EBADMSG && res.bad == 10 + N - 1,
	   "the last record edited is named through log_hash: %llu", (unsigned long long)res.bad);

	/* record 12 removed: 13.. moved down, numbers rewritten, crcs fixed */
	build(10, 10, NULL, 0);
	memmove(recs[2], recs[3], (N - 3) * VDIRT_RECORD_SIZE);
	for (int i = 2; i < N - 1; i++) {
		((struct vdirt_disk_record *)recs[i])->seq = htole64(10 + i);
		fix_csum(recs[i]);
	}
	OK(vchain_verify(&recs[0][0], 10, N - 1, 10, NULL, DS, NULL, 0, &res) == -EBADMSG &&
	   res.bad == 12, "a removed record is found where it was: %llu", (unsigned long long)res.bad);
	/* the same, numbers left as they were */
	build(10, 10, NULL, 0);
	memmove(recs[2], recs[3], (N - 3) * VDIRT_RECORD_SIZE);
	OK(vchain_verify(&recs[0][0], 10, N - 1, 10, NULL, DS, NULL, 0, &res) == -EBADMSG &&
	   res.bad == 12, "... numbers not rewritten: %llu", (unsigned long long)res.bad);

	/* 14 and 15 swapped, numbers rewritten */
	build(10, 10, NULL, 0);
	memcpy(tmp, recs[4], sizeof(tmp));
	memcpy(recs[4], recs[5], sizeof(tmp));
	memcpy(recs[5], tmp, sizeof(tmp));
	((struct vdirt_disk_record *)recs[4])->seq = htole64(14);
	((struct vdirt_disk_record *)recs[5])->seq = htole64(15);
	fix_csum(recs[4]);
	fix_csum(recs[5]);
	OK(verify(10, 10, NULL, 0, &res) == -EBADMSG && res.bad == 14,
	   "reordered records are named: %llu", (unsigned long long)res.bad);

	/* a ring that dropped its oldest: checked from the first kept */
	build(20, 5, NULL, 0);
	OK(!verify(20, 5, NULL, 0, &res), "a chain whose start was dropped verifies from the oldest kept");
	/* records before chain_start are not links */
	build(20, 23, NULL, 0);
	OK(!verify(20, 23, NULL, 0, &res), "records up to chain_start (restarted chain) carry no link");

	/* keyed */
	build(0, 0, key, sizeof(key));
	OK(!verify(0, 0, key, sizeof(key), &res), "an HMAC chain verifies with its key");
	OK(verify(0, 0, key2, sizeof(key2), &res) == -EBADMSG, "... not with another key");
	OK(verify(0, 0, NULL, 0, &res) == -EBADMSG, "... nor unkeyed");
	recs[2][8] ^= 1;
	fix_csum(recs[2]);
	OK(verify(0, 0, key, sizeof(key), &res) == -EBADMSG && res.bad == 2,
	   "an edit of a keyed chain is named: %llu", (unsigned long long)res.bad);

	/* checkpoints */
	memset(&c, 0, sizeof(c));
	strcpy(c.device, "g0");
	memset(c.uuid, 0xab, 16);
	c.epoch = 7;
	c.seq = 1234;
	c.log_head = 99;
	c.chain_start = 3;
	memset(c.log_hash, 0x5a, 32);
	c.keyed = 1;
	c.time_ns = 1764633600000000000ULL;
	text = vcheckpoint_json(&c);
	OK(text && !vcheckpoint_parse(text, &c2) && !memcmp(&c, &c2, sizeof(c)),
	   "a checkpoint survives its JSON: %s", text ? strtok(text, "\n") : "(null)");
	free(text);
	OK(vcheckpoint_parse("{\"vdirt_checkpoint\":2}", &c2) == -EINVAL, "an unknown checkpoint version is refused");
	OK(vcheckpoint_parse("not json", &c2) == -EINVAL, "a file that is not JSON is refused");
	TAP_DONE();
}
