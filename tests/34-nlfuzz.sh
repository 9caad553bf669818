#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 600
# SPDX-License-Identifier: GPL-2.0
# Netlink fuzz: thousands of random messages (commands, attribute sets,
# lengths, lying headers) at the vdirt family as root and as a user, with a
# live device; no kernel splat (the harness fails on one), the device and the
# family keep working, the module unloads cleanly afterwards.
. "${0%/*}/lib.sh"

use_devs t34
V=vdirtctl

command -v nlfuzz >/dev/null 2>&1 || skip_all "nlfuzz not in the guest image"
need_vdirtctl

ktap_start

$V format -q --force $D $M && $V open -q $D $M $N
dd if=/dev/urandom of=$T bs=4096 count=64 oflag=direct 2>/dev/null
out=$(nlfuzz -n 4000 -s 1 -d $N); rc=$?
printf '%s\n' "$out" | grep '^#'
check_eq "4000 random messages as root (seed 1)" 0 $rc
out=$(nlfuzz -n 2000 -d $N); rc=$?
printf '%s\n' "$out" | grep '^#'
check_eq "2000 random messages as root (random seed)" 0 $rc
out=$(asuser nlfuzz -n 1000 -d $N -u); rc=$?
printf '%s\n' "$out" | grep '^#'
check_eq "1000 random messages as a user: nothing leaks" 0 $rc
check "the family still answers" $V devices
check "the device still reads" dd if=$T of=/dev/null bs=4096 count=64 iflag=direct
st=$(status_field $N state)
check_eq "state ok" ok "$st"
check "close" $V close $N
if [ -n "$VDIRT_KO" ]; then
	check "rmmod" rmmod dm_vdirt
	check "insmod again" insmod "$VDIRT_KO"
else
	check "rmmod" rmmod dm_vdirt
	check "modprobe again" modprobe dm_vdirt
fi

ktap_done
