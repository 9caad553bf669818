// SPDX-License-Identifier: GPL-2.0
/*
 * Compile probe: genlmsg_multicast_allns() with a gfp_t argument (the form
 * before 6.10; some stable series already have the four-argument one).
 */
#include <net/genetlink.h>

int vdirt_probe_mcast(const struct genl_family *f, struct sk_buff *skb);
int vdirt_probe_mcast(const struct genl_family *f, struct sk_buff *skb)
{
	return genlmsg_multicast_allns(f, skb, 0, 0, GFP_ATOMIC);
}
