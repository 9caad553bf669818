// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of vnl_parse(): every attribute of a reply is checked against
 * its type before it is read; a wrong-typed one makes the reply -EINVAL.
 * An ATTEST_GET answer is read, with its proof; a proof of the wrong
 * length for the cluster count, or a root of 31 bytes, is refused.
 */
#include <errno.h>
#include <linux/genetlink.h>

#include "tap.h"
#include "attest.h"
#include "nl.h"

static char buf[4096];

/* a vdirt reply with a device name and a few counters */
static struct nlmsghdr *reply(void)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

	nlh->nlmsg_type = 0x20;
	g->cmd = VDIRT_CMD_DEV_GET;
	mnl_attr_put_strz(nlh, VDIRT_A_DEV_NAME, "guest0");
	mnl_attr_put_u32(nlh, VDIRT_A_CLUSTER_SIZE, 4096);
	mnl_attr_put_u64(nlh, VDIRT_A_MEASURED, 77);
	mnl_attr_put_u8(nlh, VDIRT_A_STATE, VDIRT_GENL_STATE_DEGRADED);
	return nlh;
}

int main(void)
{
	const struct nlattr *tb[VDIRT_A_MAX + 1];
	struct vdev_info d;
	struct nlmsghdr *nlh;
	char name[200];

	TAP_START();
	nlh = reply();
	OK(vnl_parse(nlh, tb) == 0, "a well-typed reply parses");
	vnl_dev_fill(tb, &d);
	OK(!strcmp(d.name, "guest0") && d.cluster_size == 4096 && d.measured == 77 &&
	   d.state == VDIRT_GENL_STATE_DEGRADED, "... and is read");

	nlh = reply();
	mnl_attr_put_u32(nlh, VDIRT_A_LOG_HEAD, 5);	/* a u64 sent as u32 */
	OK(vnl_parse(nlh, tb) == -EINVAL, "a u64 attribute of 4 bytes: -EINVAL");

	nlh = reply();
	mnl_attr_put_u64(nlh, VDIRT_A_MODE, 1);		/* a u8 sent as u64 */
	OK(vnl_parse(nlh, tb) == -EINVAL, "a u8 attribute of 8 bytes: -EINVAL");

	nlh = reply();
	mnl_attr_put(nlh, VDIRT_A_HASH_NAME, 6, "sha256");	/* no NUL */
	OK(vnl_parse(nlh, tb) == -EINVAL, "a string without its NUL: -EINVAL");

	nlh = reply();
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	mnl_attr_put_strz(nlh, VDIRT_A_DEV_NAME, name);
	OK(vnl_parse(nlh, tb) == -EINVAL, "a device name of %zu bytes: -EINVAL", sizeof(name));

	nlh = reply();
	mnl_attr_put(nlh, VDIRT_A_EXPECTED, 65, name);
	OK(vnl_parse(nlh, tb) == -EINVAL, "a digest longer than 64 bytes: -EINVAL");

	nlh = reply();
	mnl_attr_put_u16(nlh, VDIRT_A_MAX + 1, 3);	/* a newer kernel's attribute */
	OK(vnl_parse(nlh, tb) == 0 && tb[VDIRT_A_MEASURED], "an unknown attribute is skipped");

	nlh = reply();
	mnl_attr_put(nlh, VDIRT_A_DIGESTS, 3, "abc");
	OK(vnl_parse(nlh, tb) == 0 && mnl_attr_get_payload_len(tb[VDIRT_A_DIGESTS]) == 3,
	   "binary attributes of any length are kept");

	{
		struct vattest a;
		uint8_t root[32], proof[8 * 32];

		memset(root, 0x5a, sizeof(root));
		memset(proof, 0x11, sizeof(proof));
		nlh = mnl_nlmsg_put_header(buf);
		mnl_nlmsg_put_extra_header(nlh, sizeof(struct genlmsghdr));
		mnl_attr_put_u64(nlh, VDIRT_A_ROOT_ID, 7);
		mnl_attr_put_u64(nlh, VDIRT_A_ROOT_DONE_ID, 7);
		mnl_attr_put_u32(nlh, VDIRT_A_ROOT_RESULT, 0);
		mnl_attr_put_u64(nlh, VDIRT_A_NR_CLUSTERS, 200);
		mnl_attr_put_u32(nlh, VDIRT_A_CLUSTER_SIZE, 4096);
		mnl_attr_put_u32(nlh, VDIRT_A_DIGEST_SIZE, 32);
		mnl_attr_put_strz(nlh, VDIRT_A_HASH_NAME, "sha256");
		mnl_attr_put(nlh, VDIRT_A_ROOT, 32, root);
		mnl_attr_put_u64(nlh, VDIRT_A_EPOCH, 4);
		mnl_attr_put_u64(nlh, VDIRT_A_LOG_HEAD, 9);
		mnl_attr_put_u64(nlh, VDIRT_A_CLUSTER, 150);
		mnl_attr_put_u8(nlh, VDIRT_A_VALID, VDIRT_HV_CURRENT);
		mnl_attr_put(nlh, VDIRT_A_DIGESTS, 32, root);
		mnl_attr_put(nlh, VDIRT_A_PROOF, sizeof(proof), proof);
		OK(!vnl_parse(nlh, tb) && !vattest_fill(tb, &a) && a.has_root && a.done_id == 7 &&
		   a.epoch == 4 && a.log_head == 9 && a.has_proof && a.cluster == 150 &&
		   a.measured && a.height == 8 && !memcmp(a.proof, proof, sizeof(proof)),
		   "an ATTEST_GET answer with a proof of 8 siblings (200 clusters) is read");
		mnl_attr_put_u64(nlh, VDIRT_A_NR_CLUSTERS, 100);	/* the later one is kept */
		OK(!vnl_parse(nlh, tb) && vattest_fill(tb, &a) == -EBADMSG,
		   "... 8 siblings for 100 clusters (height 7): -EBADMSG");
		nlh = mnl_nlmsg_put_header(buf);
		mnl_nlmsg_put_extra_header(nlh, sizeof(struct genlmsghdr));
		mnl_attr_put(nlh, VDIRT_A_ROOT, 31, root);
		OK(vnl_parse(nlh, tb) == 0 && tb[VDIRT_A_ROOT] &&
		   mnl_attr_get_payload_len(tb[VDIRT_A_ROOT]) == 31, "a 31-byte root passes the type check...");
		mnl_attr_put_u64(nlh, VDIRT_A_ROOT_ID, 1);
		mnl_attr_put_u64(nlh, VDIRT_A_ROOT_DONE_ID, 1);
		mnl_attr_put_u64(nlh, VDIRT_A_NR_CLUSTERS, 100);
		mnl_attr_put_u32(nlh, VDIRT_A_DIGEST_SIZE, 32);
		mnl_attr_put_strz(nlh, VDIRT_A_HASH_NAME, "sha256");
		OK(!vnl_parse(nlh, tb) && vattest_fill(tb, &a) == -EBADMSG,
		   "... and is refused when read: -EBADMSG");
		mnl_attr_put(nlh, VDIRT_A_ROOT, 33, root);
		OK(vnl_parse(nlh, tb) == -EINVAL, "a 33-byte root: -EINVAL (longer than its type)");
	}
	TAP_DONE();
}
