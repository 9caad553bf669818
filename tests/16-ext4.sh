#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# ext4 on top of dm-vdirt (1 KiB blocks, so most writes are partial clusters):
# mkfs, mount, write files, umount, e2fsck -fn clean, remount and compare the
# files after dropping caches, then a scan finds no mismatch.
. "${0%/*}/lib.sh"

use_devs t16
MP=/tmp/mnt16

cleanup() {
	umount $MP
}

wait_scan() { wait_scan_of $N 120; }
writefiles() {
	mkdir -p $MP/a/b/c $MP/d || return 1
	i=0
	while [ $i -lt 30 ]; do
		# sizes from 1 byte to ~600 KiB
		n=$(( (i * i * 797 + i * 31 + 1) % 600000 + 1 ))
		case $((i % 3)) in
		0) f=$MP/a/f$i ;;
		1) f=$MP/a/b/c/f$i ;;
		2) f=$MP/d/f$i ;;
		esac
		head -c $n /dev/urandom >$f || return 1
		i=$((i + 1))
	done
	dd if=/dev/urandom of=$MP/big bs=1M count=4 2>/dev/null || return 1
	(cd $MP && find . -type f | sort | xargs sha256sum) >/tmp/sums16
	rm -f $MP/d/f2 $MP/d/f5	# frees blocks, journal activity
	sed -i -e '/d\/f2$/d' -e '/d\/f5$/d' /tmp/sums16
	sync
}

ktap_start

check "create the target" open_dev
check "mkfs.ext4 -b 1024" mkfs.ext4 -F -q -b 1024 $T
mkdir -p $MP
check "mount ext4" mount -t ext4 $T $MP
check "write 31 files in a tree, remove 2" writefiles
check "umount" umount $MP
check "e2fsck -fn is clean" e2fsck -fn $T
drop_caches
check "mount again" mount -t ext4 -o ro $T $MP
check "files read back intact after dropping caches" sh -c "cd $MP && sha256sum -c /tmp/sums16 >/dev/null"
umount $MP
check_eq "no read mismatch, no metadata error" "0 0" "$(st read_mismatches) $(st meta_errors)"
check "1 KiB blocks under 4 KiB clusters: unaligned counter > 0" test "$(st unaligned)" -gt 0
drop_caches
check "message scan" dmsetup message $N 0 scan
check "the scan completes" wait_scan
check_eq "scan: no mismatch recorded" "0 0" "$(st read_mismatches) $(dmsetup message $N 0 report | grep -c 'cluster=')"
ktap_done
