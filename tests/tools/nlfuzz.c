// SPDX-License-Identifier: GPL-2.0
/*
 * nlfuzz - throw random messages at the "vdirt" generic netlink family.
 *
 * Usage: nlfuzz [-n COUNT] [-s SEED] [-d DEVNAME] [-u]
 *   -n  messages to send (default 2000)
 *   -s  random seed (default: time)
 *   -d  a real device name, used in about a third of the messages so that
 *       the handlers get past the device lookup
 *   -u  unprivileged mode: no message may succeed or return data (the
 *       answers are EPERM, or core errors before any handler runs)
 *
 * Messages: random command (including unknown ones), random version and
 * reserved byte, NLM_F_DUMP or not, 0..8 attributes of random type (known
 * and unknown) with random lengths and contents (plus well-formed values
 * now and then), sometimes a truncated last attribute or a lying nla_len.
 * Prints a summary; exit 0 unless the unprivileged check failed or the
 * family could not be found.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "../../dm-vdirt-genl.h"

#define BUFSZ 65536
#define NLA_ALIGNTO 4
#define ALIGN4(x) (((x) + 3) & ~3U)

static uint64_t rs;

static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs >> 11);
}

static int fd;
static uint32_t seqno = 1;
static uint16_t family;
static char rbuf[BUFSZ];

static int put_attr(char *buf, size_t *off, size_t max, uint16_t type,
		    const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)(buf + *off);

	if (*off + ALIGN4(NLA_HDRLEN + len) > max)
		return -1;
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	memset((char *)a + NLA_HDRLEN + len, 0, ALIGN4(NLA_HDRLEN + len) - NLA_HDRLEN - len);
	*off += ALIGN4(NLA_HDRLEN + len);
	return 0;
}

/* send, then read answers for this sequence number; returns last error (0 ok), 1 data seen */
static int talk(struct nlmsghdr *nlh, int *got_data)
{
	uint32_t seq = nlh->nlmsg_seq;

	*got_data = 0;
	if (send(fd, nlh, nlh->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)rbuf;

		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (h->nlmsg_type == NLMSG_DONE) {
				int e = 0;

				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
					memcpy(&e, NLMSG_DATA(h), sizeof(int));
				return e;	/* a dump ends here: no ACK follows */
			}
			*got_data = 1;
		}
	}
}

static int resolve(void)
{
	char buf[512];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct genlmsghdr *g = NLMSG_DATA(nlh);
	size_t off;
	ssize_t n;
	struct nlattr *a;

	memset(buf, 0, sizeof(buf));
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seqno++;
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	off = NLMSG_HDRLEN + GENL_HDRLEN;
	put_attr(buf, &off, sizeof(buf), CTRL_ATTR_FAMILY_NAME, VDIRT_GENL_NAME,
		 sizeof(VDIRT_GENL_NAME));
	nlh->nlmsg_len = off;
	if (send(fd, buf, off, 0) < 0)
		return -1;
	n = recv(fd, rbuf, sizeof(rbuf), 0);
	nlh = (struct nlmsghdr *)rbuf;
	if (n < 0 || !NLMSG_OK(nlh, n) || nlh->nlmsg_type != GENL_ID_CTRL)
		return -1;
	off = NLMSG_HDRLEN + GENL_HDRLEN;
	while (off + NLA_HDRLEN <= nlh->nlmsg_len) {
		a = (struct nlattr *)(rbuf + off);
		if (a->nla_len < NLA_HDRLEN)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
			family = *(uint16_t *)((char *)a + NLA_HDRLEN);
		off += ALIGN4(a->nla_len);
	}
	return family ? 0 : -1;
}

/* one well-formed request attribute of a random kind */
static int put_valid(char *buf, size_t *off, size_t max, const char *dev)
{
	static const char *const hashes[] = { "sha256", "crc32c", "sha1", "nope", "" };
	static uint8_t dig[VDIRT_CHUNK_MAX];
	uint32_t u32;
	uint64_t u64;
	uint16_t len;
	unsigned int j;

	switch (rnd() % 11) {
	case 0:
		if (dev && rnd() % 2)
			return put_attr(buf, off, max, VDIRT_A_DEV_NAME, dev, strlen(dev) + 1);
		return put_attr(buf, off, max, VDIRT_A_DEV_NAME, "nosuch", 7);
	case 1:
		u32 = rnd() % 4 ? 253 : rnd();
		return put_attr(buf, off, max, VDIRT_A_DEV_MAJOR, &u32, 4);
	case 2:
		u32 = rnd() % 4 ? rnd() % 3 : rnd();
		return put_attr(buf, off, max, VDIRT_A_DEV_MINOR, &u32, 4);
	case 3:
		u32 = rnd() % 2 ? 4096 : 512U << (rnd() % 8);
		return put_attr(buf, off, max, VDIRT_A_CLUSTER_SIZE, &u32, 4);
	case 4:
		u32 = rnd() % 2 ? 32 : 1 + rnd() % 64;
		return put_attr(buf, off, max, VDIRT_A_DIGEST_SIZE, &u32, 4);
	case 5: {
		const char *h = hashes[rnd() % 5];

		return put_attr(buf, off, max, VDIRT_A_HASH_NAME, h, strlen(h) + 1);
	}
	case 6:
		u64 = rnd() % 2 ? 16384 : rnd() % 3 ? rnd() % 100000 : ~0ULL;
		return put_attr(buf, off, max, VDIRT_A_NR_CLUSTERS, &u64, 8);
	case 7:
		u32 = rnd() % 8;
		return put_attr(buf, off, max, VDIRT_A_LOAD_ID, &u32, 4);
	case 8:
		u64 = rnd() % 3 ? rnd() % 20000 : ~0ULL - rnd() % 3;
		return put_attr(buf, off, max, rnd() % 2 ? VDIRT_A_FIRST_CLUSTER : VDIRT_A_REC_SEQ,
				&u64, 8);
	case 9:
		u64 = rnd() % 3 ? rnd() % 5000 : ~0ULL;
		return put_attr(buf, off, max, VDIRT_A_COUNT, &u64, 8);
	default:
		len = rnd() % 2 ? 32 * (1 + rnd() % 64) : rnd() % (VDIRT_CHUNK_MAX + 64);
		if (len > sizeof(dig))
			len = sizeof(dig);
		for (j = 0; j < len; j += 4)
			dig[j] = rnd();
		return put_attr(buf, off, max, VDIRT_A_DIGESTS, dig, len);
	}
}

int main(int argc, char **argv)
{
	static const uint16_t lens[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 20, 31, 32, 33,
					 63, 64, 65, 127, 128, 129, 256, 1000, 4096 };
	static char buf[BUFSZ];
	long count = 2000, i;
	const char *dev = NULL;
	int unpriv = 0, opt, leaks = 0, ok = 0, data = 0, timeouts = 0;
	int errs[256] = { 0 };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { 2, 0 };

	rs = time(NULL) | 1;
	while ((opt = getopt(argc, argv, "n:s:d:u")) != -1) {
		switch (opt) {
		case 'n': count = atol(optarg); break;
		case 's': rs = strtoull(optarg, NULL, 0) | 1; break;
		case 'd': dev = optarg; break;
		case 'u': unpriv = 1; break;
		default:
			fprintf(stderr, "usage: nlfuzz [-n COUNT] [-s SEED] [-d DEVNAME] [-u]\n");
			return 2;
		}
	}
	printf("# nlfuzz seed %llu\n", (unsigned long long)rs);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("nlfuzz: socket");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (resolve()) {
		fprintf(stderr, "nlfuzz: no '%s' family\n", VDIRT_GENL_NAME);
		return 1;
	}
	for (i = 0; i < count; i++) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		struct genlmsghdr *g = NLMSG_DATA(nlh);
		size_t off = NLMSG_HDRLEN + GENL_HDRLEN;
		unsigned int k, nattr = rnd() % 7;
		int r, got;
		uint8_t pay[4096];

		memset(buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
		nlh->nlmsg_type = family;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (rnd() % 4 == 0 ? NLM_F_DUMP : 0);
		nlh->nlmsg_seq = seqno++;
		g->cmd = rnd() % (VDIRT_CMD_MAX + 4);
		g->version = rnd() % 16 ? VDIRT_GENL_VERSION : rnd() % 256;
		g->reserved = rnd() % 16 ? 0 : rnd();
		if (dev && rnd() % 2 == 0)
			put_attr(buf, &off, sizeof(buf), VDIRT_A_DEV_NAME, dev, strlen(dev) + 1);
		for (k = 0; k < nattr; k++) {
			uint16_t type = rnd() % (VDIRT_A_MAX + 4);

			if (rnd() % 5 < 3) {
				/* a well-formed request attribute, plausible value */
				if (put_valid(buf, &off, sizeof(buf), dev))
					break;
				continue;
			}
			{
			uint16_t len = lens[rnd() % (sizeof(lens) / sizeof(lens[0]))];
			unsigned int j;

			if (rnd() % 16 == 0)
				type |= NLA_F_NESTED;
			for (j = 0; j < len; j++)
				pay[j] = rnd();
			switch (rnd() % 4) {	/* sometimes a plausible value */
			case 0:
				len = 4;
				*(uint32_t *)pay = rnd() % 3 == 0 ? 4096 : rnd() % 70000;
				break;
			case 1:
				len = 8;
				*(uint64_t *)pay = rnd() % 3 == 0 ? ~0ULL : rnd() % 100000;
				break;
			}
			if (put_attr(buf, &off, sizeof(buf), type, pay, len))
				break;
			}
		}
		nlh->nlmsg_len = off;
		if (off > NLMSG_HDRLEN + GENL_HDRLEN && rnd() % 20 == 0) {
			/* lie: truncate the message inside the last attribute */
			nlh->nlmsg_len = off - 1 - rnd() % 3;
		} else if (off > NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN && rnd() % 20 == 0) {
			/* lie: first attribute claims more than there is */
			struct nlattr *a = (struct nlattr *)(buf + NLMSG_HDRLEN + GENL_HDRLEN);

			a->nla_len += 4 + rnd() % 64;
		} else if (rnd() % 20 == 0) {
			nlh->nlmsg_len = NLMSG_HDRLEN + rnd() % GENL_HDRLEN;	/* short header */
		}
		r = talk(nlh, &got);
		if (r == -ETIMEDOUT)
			timeouts++;
		if (got)
			data++;
		if (!r)
			ok++;
		else if (-r < 256)
			errs[-r]++;
		/*
		 * Unprivileged: nothing may succeed or return data.  Errors the
		 * core gives before the family's handlers run (unknown command,
		 * malformed attributes: EOPNOTSUPP, EINVAL) reveal nothing.
		 */
		if (unpriv && (got || !r)) {
			leaks++;
			if (leaks < 10)
				printf("# unprivileged cmd %u got %d%s\n", g->cmd, r,
				       got ? " with data" : "");
		}
	}
	printf("# %ld messages: %d ok, %d with data, %d timeouts", count, ok, data, timeouts);
	for (i = 1; i < 256; i++)
		if (errs[i])
			printf(", %s %d", strerror(i), errs[i]);
	printf("\n");
	if (unpriv)
		printf("# unprivileged leaks: %d\n", leaks);
	return leaks || timeouts ? 1 : 0;
}
