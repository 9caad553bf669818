#!/bin/sh
# vm: --disk 128M --disk 16M --timeout 420
# SPDX-License-Identifier: GPL-2.0
# write_back:N: cluster-aligned writes acknowledged once copied, at most N
# at a time, with the contract of a volatile write cache.  Under a data
# device whose writes take 1 s (dm-delay): an acknowledged write returns
# long before the device has it, without the option it does not; a read of
# the cluster returns the new data (it waits for the copy); a flush returns
# only when every write acknowledged before it is on the data device; a FUA
# write is not acknowledged early; a suspend waits for them; the (N+1)th
# write waits for the device.  A crash with acknowledged writes in flight
# (the metadata copied while they are) gives no false alarm.  A write that
# fails after its acknowledgement fails the next flush, once.  fio random
# writes verify, the digests are those of the data (a scan finds nothing)
# and a tampered cluster is still reported.
. "${0%/*}/lib.sh"

use_devs t56
DELAY=1000
# a write waits for its region's intent bit when it is not on disk yet:
# each part first writes its region once (prime); bits stay set meanwhile
P=/sys/module/dm_vdirt/parameters/intent_idle_s
cleanup() { echo 1 >$P; }
echo 3600 >$P
# reads and flushes are not delayed: a flush that did not wait would
# return before the writes reach the device
aux_dev t56d "0 $(sectors $D) delay $D 0 0 $D 0 $DELAY $D 0 0"
DD=/dev/mapper/t56d

# ms: the uptime in milliseconds (10 ms steps)
ms() {
	read -r _u _ </proc/uptime
	echo "${_u%.*}${_u#*.}0"
}
# timed CMD...: run CMD, EL = its wall time in ms, its exit status returned
timed() {
	_t0=$(ms)
	"$@"
	_rc=$?
	EL=$(($(ms) - _t0))
	return $_rc
}
# fio_q ARGS...: fio with its output in /tmp/fio.out
fio_q() { fio "$@" >/tmp/fio.out 2>&1; }
# rnd NAME: a random cluster in /tmp/NAME
rnd() { head -c $CS /dev/urandom >/tmp/$1; }
# raw CLUSTER FILE: the data device (below the delay) holds FILE at CLUSTER
raw() { dio read $D $(($1 * CS)) $CS | cmp -s - "$2"; }
# tbl: the table's options as printed back
tbl() { dmsetup table $N | sed 's/.* sha256 *//'; }
# prime CLUSTER: write it and flush, its region's intent bit set
prime() { rnd p && dio write $T $(($1 * CS)) /tmp/p; }
job="--filename=$T --ioengine=libaio --direct=1 --iodepth=16 --rw=randwrite
	--bsrange=4k-64k --blockalign=4k --verify=crc32c --verify_fatal=1
	--size=48M --group_reporting"

ktap_start

dd if=/dev/zero of=$M bs=1M count=16 2>/dev/null
open_or_end "create with write_back:16 over writes delayed $DELAY ms" \
	"$(D=$DD table write_back:16)"
check_eq "the table prints write_back:16 back" "1 write_back:16" "$(tbl)"
check "prime region 0 (a write and a flush)" prime 0

rnd c5
timed dio nowrite $T $((5 * CS)) /tmp/c5
rc=$?
check "a write is acknowledged before the device has it ($EL ms < 500)" \
	sh -c "[ $rc -eq 0 ] && [ $EL -lt 500 ]"

timed rd 5 1 /tmp/r5
check "a read of that cluster returns the new data" cmp -s /tmp/r5 /tmp/c5
check "the read waited for the write ($EL ms >= 200)" [ $EL -ge 200 ]

# eight acknowledged writes, then a flush: all of them are on the device
for c in 10 11 12 13 14 15 16 17; do
	rnd c$c
	dio nowrite $T $((c * CS)) /tmp/c$c
done
timed dio flush $T
check "a flush after 8 acknowledged writes succeeds" [ $? -eq 0 ]
e8=$EL
ondev=0
for c in 10 11 12 13 14 15 16 17; do
	raw $c /tmp/c$c && ondev=$((ondev + 1))
done
check_eq "when the flush returns all 8 are on the data device ($e8 ms)" 8 "$ondev"

rnd c20
timed dio fuawrite $T $((20 * CS)) /tmp/c20
check "an O_DSYNC (FUA) write returns only after the device has it ($EL ms >= $((DELAY - 100)))" \
	[ $EL -ge $((DELAY - 100)) ]
check "the O_DSYNC write is on the data device when it returns" raw 20 /tmp/c20

rnd c30
dio nowrite $T $((30 * CS)) /tmp/c30
check "suspend" dmsetup suspend $N
check "suspend returned after the acknowledged write reached the device" raw 30 /tmp/c30
check "resume" dmsetup resume $N
close_dev

# the budget: with write_back:2 the third write waits for the device
open_or_end "create with write_back:2" "$(D=$DD table write_back:2)"
check "prime region 0" prime 0
rnd c40
timed dio nowrite $T $((40 * CS)) /tmp/c40
e1=$EL
timed dio nowrite $T $((41 * CS)) /tmp/c40
e2=$EL
timed dio nowrite $T $((42 * CS)) /tmp/c40
check "two writes acknowledged at once ($e1, $e2 ms), the third waits ($EL ms)" \
	sh -c "[ $e1 -lt 500 ] && [ $e2 -lt 500 ] && [ $EL -ge $((DELAY / 2)) ]"
timed dio nowrite $T $((43 * CS)) /tmp/c40
check "once they are done the next is acknowledged at once ($EL ms)" [ $EL -lt 500 ]
close_dev

open_or_end "create without write_back" "$(D=$DD table)"
check_eq "the table prints no option" "" "$(tbl)"
check "prime region 0" prime 0
timed dio nowrite $T $((50 * CS)) /tmp/c40
check "without write_back a write waits for the device ($EL ms >= $((DELAY - 100)))" \
	[ $EL -ge $((DELAY - 100)) ]
close_dev

# a crash while acknowledged writes are in flight: the metadata device is
# copied then (what a power cut would leave), the writes finish, the copy
# is put back; crash recovery measures the regions again: no false alarm
open_or_end "create with write_back:16 for the crash" "$(D=$DD table write_back:16)"
check "prime region 1" prime 64
for c in 70 71 72 73 74 75 76 77; do
	rnd c$c
	dio nowrite $T $((c * CS)) /tmp/c$c
done
dio read $M 0 $((16 * 1024 * 1024)) /tmp/meta56.img
close_dev
dio write $M 0 /tmp/meta56.img
open_or_end "reopen after the crash" "$(table)"
check "crash recovery finishes" wait_field_of $N recovering - 120
rd 70 8 /tmp/r70
cat /tmp/c70 /tmp/c71 /tmp/c72 /tmp/c73 /tmp/c74 /tmp/c75 /tmp/c76 /tmp/c77 >/tmp/c70all
check "the 8 clusters read back as written" cmp -s /tmp/r70 /tmp/c70all
check_eq "no mismatch after the crash" 0 "$(st read_mismatches)"
close_dev

# an acknowledged write that fails: the next flush fails, once
aux_dev t56e "0 $(sectors $D) flakey $D 0 0 3600 1 error_writes"
open_or_end "create without write_back over a device failing writes" \
	"$(D=/dev/mapper/t56e table)"
prime 0 2>/dev/null
check_fail "without write_back the write fails" dio nowrite $T $((60 * CS)) /tmp/c40
close_dev
open_or_end "create with write_back:16 over a device failing writes" \
	"$(D=/dev/mapper/t56e table write_back:16)"
prime 0 2>/dev/null
kmark
check "with write_back the write is acknowledged" dio nowrite $T $((60 * CS)) /tmp/c40
swap_table t56e "0 $(sectors $D) linear $D 0"
check_fail "the next flush fails" dio flush $T
check "the flush after it succeeds" dio flush $T
check "the kernel log names the failed write" \
	sh -c "dmesg | tail -n +$((KMARK + 1)) | grep -q 'an acknowledged write of cluster 60 failed: the next flush fails'"
close_dev

# fio verifies; the digests are those of the data; a tamper is found
dd if=/dev/zero of=$M bs=1M count=16 2>/dev/null
open_or_end "create with write_back:32 over the plain disk" "$(table write_back:32)"
# shellcheck disable=SC2086
check "fio random writes 4-64 KiB QD16 + verify" fio_q --name=w $job
drop_caches
# shellcheck disable=SC2086
check "verify-only pass after dropping caches" fio_q --name=w $job --verify_only
check "a scan of the device" dmsetup message $N 0 scan
check "the scan completes" wait_scan 240
check_eq "no mismatch, no metadata error, state ok" "0 0 ok" \
	"$(st read_mismatches) $(st meta_errors) $(st state)"
rd 3 1
head -c 512 /dev/urandom | dio write $D $((3 * CS + 512))
drop_caches
rd 3 1
check_eq "a tampered cluster is reported" 1 "$(st read_mismatches)"
close_dev
ktap_done
