#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 400
# SPDX-License-Identifier: GPL-2.0
# An unprivileged user (uid 1000) can neither drive dm-vdirt through vdirtctl
# (netlink commands, dumps, baseline load) nor receive its events: every
# attempt fails with exit 3 (permission) and changes nothing.
. "${0%/*}/lib.sh"

use_devs t33
V=vdirtctl

# the monitor goes first; lib.sh removes the devices after cleanup()
cleanup() { [ -n "$MP" ] && kill "$MP"; }

need_vdirtctl

# denied DESC CMD...: as the user, CMD exits 3
denied() {
	_d=$1
	shift
	_out=$(asuser "$@" 2>&1)
	_rc=$?
	if [ $_rc -eq 3 ]; then ok "$_d"; else not_ok "$_d" "exit $_rc: $_out"; fi
}

ktap_start

check_eq "the user exists and is unprivileged" 1000 "$(asuser id -u)"
$V format -q --force $D $M && $V open -q $D $M $N
dd if=/dev/urandom of=$T bs=$CS count=32 oflag=direct 2>/dev/null
$V baseline capture $N
$V baseline build -q $D -o /tmp/bl33 && chmod 644 /tmp/bl33
before=$($V hashes $N 0 32 | md5sum)

denied "devices" $V devices
denied "status (device-mapper ioctl)" $V status $N
denied "baseline load" $V baseline load $N /tmp/bl33
denied "baseline capture" $V baseline capture $N
denied "baseline clear" $V baseline clear $N
denied "report" $V report $N
denied "clear" $V clear $N
denied "scan" $V scan $N
denied "hashes" $V hashes $N
denied "monitor (joining the events group)" $V monitor $N
check_eq "baselines unchanged" "$before" "$($V hashes $N 0 32 | md5sum)"

# no event reaches an unprivileged listener: try to listen while a mismatch happens
rm -f /tmp/umon
asuser sh -c "vdirtctl monitor --json --count 1 $N >/tmp/umon 2>&1" &
MP=$!
dd if=/dev/urandom of=$D bs=512 seek=$((3 * 8 + 1)) count=1 oflag=direct conv=notrunc 2>/dev/null
drop_caches
dd if=$T of=/dev/null bs=$CS count=32 iflag=direct 2>/dev/null
sleep 1
check_eq "the mismatch was recorded" 1 "$(status_field $N read_mismatches)"
wait $MP
MP=
check_fail "the unprivileged monitor received nothing" grep -q '"cluster"' /tmp/umon
check "nlfuzz as the user: nothing succeeds, nothing returned" asuser nlfuzz -n 300 -d $N -u
check "root still works" $V report $N
check "close" $V close $N

ktap_done
