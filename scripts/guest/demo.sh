#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The README's demo, run inside the test guest by scripts/demo:
# /dev/vda is a guest's data disk, /dev/vdb a zeroed metadata device.
set -e
say() { printf '\n== %s\n' "$*"; }

if ! dmsetup targets | grep -q '^vdirt '; then
	echo "demo: the vdirt target is not available in this build (module not loaded)" >&2
	exit 1
fi
len=$(blockdev --getsz /dev/vda)
say "stack dm-vdirt under the guest disk (the zeroed metadata device is formatted on first use)"
echo "dmsetup create guest0 --table '0 $len vdirt /dev/vda /dev/vdb 4096 sha256'"
dmsetup create guest0 --table "0 $len vdirt /dev/vda /dev/vdb 4096 sha256"
dmsetup mknodes
dmsetup table guest0

say "the guest writes 1 MiB through dm-vdirt (every 4 KiB cluster is hashed)"
dd if=/dev/urandom of=/dev/mapper/guest0 bs=64k count=16 oflag=direct 2>/dev/null
dmsetup status guest0

say "someone changes cluster 42 underneath, on the backing device"
{ printf 'tampered!'; head -c 4087 /dev/zero; } >/tmp/evil
echo "dd if=/tmp/evil of=/dev/vda bs=4096 seek=42 oflag=direct"
dd if=/tmp/evil of=/dev/vda bs=4096 seek=42 count=1 conv=notrunc oflag=direct 2>/dev/null
echo 3 >/proc/sys/vm/drop_caches

say "the guest reads its disk again"
dd if=/dev/mapper/guest0 of=/dev/null bs=64k count=16 iflag=direct 2>/dev/null
dmsetup status guest0

say "the mismatch report"
if command -v vdirtctl >/dev/null 2>&1 && vdirtctl report guest0 2>/dev/null; then
	:
else
	dmsetup message guest0 0 report
fi
dmesg | grep 'vdirt' | grep -i mismatch | tail -n 3
dmsetup remove guest0
