#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 400
# SPDX-License-Identifier: GPL-2.0
# Suspend, reload and resume: while a new table is loaded
# (inactive), netlink finds the live instance and lists the device once;
# after the swap the new instance serves it; table reloads under a write load
# leave consistent metadata (the old instance never writes after the new one's
# preresume: a clean close, no stale digests, no false mismatch on a scan); a
# suspend interrupted by a signal (presuspend_undo) leaves a working device.
. "${0%/*}/lib.sh"

use_devs t38

ktap_start

LEN=$(sectors $D)
TAB=$(table)
# devices_json: the netlink device list
devs() { vdirtctl devices --json; }

open_or_end "create" "$TAB"
head -c $((1 << 20)) /dev/urandom >/tmp/w
wr /tmp/w 0
if command -v vdirtctl >/dev/null 2>&1; then
	check "load an inactive table (mode:enforce) beside the live one (audit)" \
		dmsetup load $N --table "$TAB 1 mode:enforce"
	check_eq "netlink lists the device once during the reload" 1 "$(devs | grep -c '"name"')"
	check_eq "... with the live instance's mode (audit)" 1 "$(devs | grep -c '"mode":"audit"')"
	check "resume swaps the tables" dmsetup resume $N
	check_eq "netlink now finds the new instance (enforce)" 1 "$(devs | grep -c '"mode":"enforce"')"
else
	for i in 1 2 3 4 5; do skip "netlink during a reload $i" "no vdirtctl"; done
	dmsetup load $N --table "$TAB 1 mode:enforce"
	dmsetup resume $N
fi
check_eq "status after the swap: mode=enforce" enforce "$(st mode)"
rd 0 256 /tmp/r
check "data written before the reload reads back intact in enforce mode" cmp /tmp/w /tmp/r

# reloads under a write load
uaio -n 100000 -m 16 -w 90 -s 5 -o $((4 << 20)) -r $((8 << 20)) $T >/tmp/uaio.out 2>&1 &
upid=$!
fio --name=w --filename=$T --direct=1 --ioengine=psync --rw=randwrite --bs=4k \
	--offset=16m --size=16m --time_based --runtime=8 >/dev/null 2>&1 &
fpid=$!
ok=0
for i in 1 2 3 4 5; do
	sleep 1
	dmsetup load $N --table "$TAB" && dmsetup resume $N && ok=$((ok + 1))
done
wait $fpid
check_eq "5 table reloads under a write load" 5 "$ok"
kill $upid 2>/dev/null
wait $upid
check_eq "no mismatch recorded across the reloads" "0 0" "$(st read_mismatches) $(report | grep -c cluster=)"
check "remove" dmsetup remove $N
check "the metadata was closed clean (vdirtctl check: exit 0)" vdirtctl check $M
open_or_end "reopen" "$TAB"
check_eq "nothing to recover after the clean close" - "$(st recovering)"
dmsetup message $N 0 scan
check "a full scan completes" wait_scan
check_eq "the scan finds no mismatch: no stale digest was written" "0 0" \
	"$(st read_mismatches) $(report | grep -c cluster=)"
dmsetup remove $N

# a suspend interrupted by a signal: reads held 3 s by dm-delay below the target
aux_dev t38d "0 $LEN delay $D 0 3000 $D 0 0"
open_dev "$(D=/dev/mapper/t38d; table)"
dio read $T 0 $CS /dev/null &
rpid=$!
sleep 0.5
timeout -s INT 1 dmsetup suspend $N
wait $rpid
check_eq "the interrupted suspend left the device active" "ACTIVE" \
	"$(dmsetup info $N | sed -n 's/^State: *//p')"
check "after it, messages and I/O work (a scan starts, a write goes through)" \
	sh -c "dmsetup message $N 0 scan && dio write $T $CS /tmp/w"
ktap_done
