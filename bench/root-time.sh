#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Time to compute attestation roots (bench/README), in a guest:
#   scripts/vm-run --kernel 6.12 --disk 4G --disk 160M --share "$PWD" \
#       --append ima_policy=critical_data --timeout 3000 -- \
#       sh /mnt/host/bench/root-time.sh [PERCENT]
# /dev/vda is the data device, /dev/vdb the metadata device (zeroed: the
# kernel formats it, every chunk of the tree marked changed).  Prints, as
# "root_time KEY VALUE" lines: the full root (every chunk), the root after
# PERCENT (default 1) % of the clusters were written at random (4 KiB,
# each once), and a root with nothing changed.
pct=${1:-1}
IMA=/sys/kernel/security/ima/ascii_runtime_measurements
mountpoint -q /sys/kernel/security || mount -t securityfs none /sys/kernel/security
D=/dev/vda M=/dev/vdb N=rt
len=$(blockdev --getsz $D)
clusters=$((len / 8))
roots() { grep -c ' dm_vdirt_epoch_root ' $IMA; }
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
# eroot LABEL: epoch_new, then the ms until its root is measured
eroot() {
	n=$(roots)
	t0=$(now_ms)
	dmsetup message $N 0 epoch_new "$1" >/dev/null || return 1
	while [ "$(roots)" -le "$n" ]; do sleep 0.2; done
	echo "root_time $1_ms $(($(now_ms) - t0))"
}
dd if=/dev/zero of=$M bs=1M count=16 2>/dev/null
dmsetup create $N --table "0 $len vdirt $D $M 4096 sha256" || exit 1
dmsetup mknodes $N	# no udev in the test guest
[ -b /dev/mapper/$N ] || exit 1
echo "root_time clusters $clusters"
echo "root_time chunks $(((clusters + 127) / 128))"
eroot full
n=$((clusters * pct / 100))
fio --name=w --filename=/dev/mapper/$N --rw=randwrite --bs=4k --direct=1 \
	--ioengine=libaio --iodepth=16 --number_ios=$n --size=$((len * 512)) --eta=never \
	--output=/dev/null || exit 1
echo "root_time written $n"
eroot changed
eroot nothing
dmesg | grep 'attestation root' | sed 's/^/root_time kernel: /'
dmsetup remove $N
