#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 180
# SPDX-License-Identifier: GPL-2.0
# dmsetup creates and removes a dm-vdirt device on a zeroed metadata device.
. "${0%/*}/lib.sh"

use_devs t02
ktap_start
check "dmsetup create" open_dev
check "status names the target" sh -c "dmsetup status $N | grep -q ' vdirt state=ok '"
check_eq "table reads back" "0 $(sectors $D) vdirt $(devno $D) $(devno $M) 4096 sha256" "$(dmsetup table $N)"
check "data passes through" sh -c "dd if=/dev/urandom of=/tmp/x bs=64k count=4 2>/dev/null &&
	dd if=/tmp/x of=$T bs=64k oflag=direct 2>/dev/null &&
	dd if=$T of=/tmp/y bs=64k count=4 iflag=direct 2>/dev/null && cmp /tmp/x /tmp/y"
check "dmsetup remove" close_dev
check "device is gone" sh -c "! dmsetup info $N >/dev/null 2>&1"
ktap_done
