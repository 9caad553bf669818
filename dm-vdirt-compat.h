/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdirt: the only place where kernel version differences are handled.
 * VDIRT_HAVE_* macros come from the compile probes in compat/ run by Kbuild.
 */
#ifndef DM_VDIRT_COMPAT_H
#define DM_VDIRT_COMPAT_H

#include <linux/blkdev.h>
#include <net/genetlink.h>

/* 6.5 replaced fmode_t with blk_mode_t for opening block devices */
#ifdef VDIRT_HAVE_BLK_MODE_T
#define vdirt_mode_t blk_mode_t
#define VDIRT_MODE_WRITE BLK_OPEN_WRITE
#else
#define vdirt_mode_t fmode_t
#define VDIRT_MODE_WRITE FMODE_WRITE
#endif

/* <linux/crc32c.h> was folded into <linux/crc32.h> after 6.12 */
#ifdef VDIRT_HAVE_CRC32C_H
#include <linux/crc32c.h>
#else
#include <linux/crc32.h>
#endif

/*
 * genlmsg_multicast_allns() lost its gfp_t argument in 6.10 (and in some
 * stable series, Debian's 6.1 among them): probed, not versioned.
 */
#ifdef VDIRT_HAVE_GENLMSG_MULTICAST_ALLNS_GFP
#define vdirt_multicast_allns(fam, skb, grp) \
	genlmsg_multicast_allns(fam, skb, 0, grp, GFP_ATOMIC)
#else
#define vdirt_multicast_allns(fam, skb, grp) \
	genlmsg_multicast_allns(fam, skb, 0, grp)
#endif

/*
 * GENL_MCAST_CAP_SYS_ADMIN (6.6, backported unevenly) makes genl_bind()
 * refuse the events group to unprivileged sockets.  Without it, events are
 * unicast to subscribed CAP_SYS_ADMIN sockets instead (dm-vdirt-netlink.c).
 */
#if defined(GENL_MCAST_CAP_SYS_ADMIN) && !defined(VDIRT_NL_FORCE_UNICAST)
#define VDIRT_MCAST_RESTRICTED	1
#else
#define VDIRT_MCAST_RESTRICTED	0
#endif

#endif /* DM_VDIRT_COMPAT_H */
