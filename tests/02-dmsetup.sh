#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 180
# SPDX-License-Identifier: GPL-2.0
# dmsetup creates and removes a dm-vdirt device on a zeroed metadata device.
. "${0%/*}/lib.sh"

cleanup() {
	dmsetup remove t02 2>/dev/null
}

ktap_start
len=$(sectors /dev/vda)
table="0 $len vdirt /dev/vda /dev/vdb 4096 sha256"
check "dmsetup create" dmsetup create t02 --table "$table"
check "status names the target" sh -c 'dmsetup status t02 | grep -q " vdirt state=ok "'
check_eq "table reads back" "0 $len vdirt $(devno /dev/vda) $(devno /dev/vdb) 4096 sha256" "$(dmsetup table t02)"
check "data passes through" sh -c 'dmsetup mknodes && dd if=/dev/urandom of=/tmp/x bs=64k count=4 2>/dev/null &&
	dd if=/tmp/x of=/dev/mapper/t02 bs=64k oflag=direct 2>/dev/null &&
	dd if=/dev/mapper/t02 of=/tmp/y bs=64k count=4 iflag=direct 2>/dev/null && cmp /tmp/x /tmp/y'
check "dmsetup remove" dmsetup remove t02
check "device is gone" sh -c '! dmsetup info t02 >/dev/null 2>&1'
ktap_done
