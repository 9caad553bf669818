#!/bin/sh
# vm: --disk 40G --disk 1602M --mem 1536 --timeout 1500
# SPDX-License-Identifier: GPL-2.0
# Baseline changes run in the kernel after the message (or netlink command)
# returned: on a 40 GiB device, baseline_capture (4 KiB clusters, sha256,
# 10485760 entries) and a `vdirtctl baseline load` of the same geometry
# (320 MiB of sha256 digests, streamed into the staging area of the metadata
# device: the kernel's vmalloc use grows by less than 1 MiB) show
# baseline_change=POS/TOTAL while they run and "-" after; `dmsetup suspend` in the middle returns within 5 s, pauses the
# change (the position stays) and resume continues it to the end; a second
# change while one runs, and a change on a suspended device, are refused;
# `vdirtctl devices` is served within 3 s during a load.  The metadata
# devices have the size `vdirtctl meta-size` gives (checked below).
. "${0%/*}/lib.sh"

use_devs t28
M=/dev/vdb		# 4 KiB clusters, sha256
V=vdirtctl

need_vdirtctl

# cs_now: centiseconds since boot
cs_now() { cut -d' ' -f1 /proc/uptime | tr -d .; }
# timed CMD...: run CMD, ELAPSED = its duration in centiseconds, RC its status
timed() {
	_t0=$(cs_now)
	"$@" >/dev/null 2>&1
	RC=$?
	ELAPSED=$(($(cs_now) - _t0))
}
# within CS: the last timed command succeeded in at most CS centiseconds
within() { [ "$RC" -eq 0 ] && [ "$ELAPSED" -le "$1" ]; }
# pos: clusters done of the running change ("" when idle)
pos() { st baseline_change | sed -n 's|^\([0-9]*\)/[0-9]*$|\1|p'; }
# wait_pos N: wait (up to 300 s) until the change has done more than N clusters
wait_pos() {
	_wp=3000
	while :; do
		_p=$(pos)
		[ -n "$_p" ] && [ "$_p" -gt "$1" ] && return 0
		[ "$_wp" -le 0 ] && return 1
		_wp=$((_wp - 1))
		usleep 100000
	done
}

ktap_start

LEN=$(sectors $D)
check_eq "the data device is 40 GiB" 83886080 "$LEN"
check "the metadata device is as large as vdirtctl meta-size says" sh -c \
	"[ $(($(sectors $M) * 512)) -ge \$($V meta-size $D) ]"

# ---- baseline_capture: 10485760 entries ----
open_or_end "create (4 KiB clusters, sha256)"
head -c $((64 * CS)) /dev/urandom >/tmp/a28
wr /tmp/a28 0
wr /tmp/a28 $((LEN / 8 - 64))
check_eq "128 clusters measured" 128 "$(st measured)"

timed dmsetup message $N 0 baseline_capture
check "baseline_capture returns at once (within 3 s)" within 300
diag "baseline_capture message: $ELAPSED cs"
check_eq "status: baseline_change=POS/10485760 while it runs" /10485760 \
	"$(st baseline_change | sed 's|^[0-9]*||')"
check_fail "a second baseline_capture while it runs is refused" \
	dmsetup message $N 0 baseline_capture
check_fail "clear_mismatches while it runs is refused" \
	dmsetup message $N 0 clear_mismatches
out=$($V baseline clear $N 2>&1); rc=$?
check_eq "vdirtctl baseline clear while it runs: exit 5 (busy)" 5 "$rc"
check "the capture makes progress" wait_pos 0

kmark
timed dmsetup suspend $N
check "dmsetup suspend during the capture returns within 5 s" within 500
diag "suspend during capture: $ELAPSED cs"
p1=$(pos)
sleep 2
check "suspended: the capture is paused (position kept: $p1)" \
	sh -c "[ -n '$p1' ] && [ '$p1' = '$(pos)' ]"
check "resume" dmsetup resume $N
p2=$(pos)
kl=$(knew | grep -c "baseline capture continues at cluster $p1 of 10485760")
check "after resume it goes on from there, not from 0 (kernel log: continues at $p1)" \
	sh -c "[ -n '$p2' ] && [ '$p2' -ge '$p1' ] && [ '$kl' = 1 ]"
t0=$(cs_now)
check "the capture ends (baseline_change=-)" wait_bchange 900
diag "capture of 10485760 clusters: paused at $p1, ended $((($(cs_now) - t0) / 100)) s after the resume"
check_eq "after the capture: baseline=set baselined=128" "set 128" "$(st baseline) $(st baselined)"
check_eq "no error logged" 0 "$(knew | grep -c 'failed')"

check "suspend (idle)" dmsetup suspend $N
out=$($V baseline capture $N 2>&1); rc=$?
check_eq "vdirtctl baseline capture on a suspended device: exit 5 (busy)" 5 "$rc"
check_eq "nothing started: baseline_change=-" - "$(st baseline_change)"
check_fail "baseline_capture on a suspended device is refused" \
	dmsetup message $N 0 baseline_capture
check_eq "nothing started: baseline_change=-" - "$(st baseline_change)"
dmsetup resume $N

# ---- vdirtctl baseline load: 10485760 clusters, 320 MiB of digests ----
truncate -s 40G /tmp/img28
check "baseline build of a 40 GiB (sparse) image" \
	$V baseline build -q /tmp/img28 -o /tmp/bl28
rm -f /tmp/img28
check_eq "the baseline file holds 320 MiB of digests" 335544320 \
	"$(($(stat -c %s /tmp/bl28) / 335544320 * 335544320))"
# vmalloc: kB of kernel vmalloc memory in use
vmalloc() { sed -n 's/^VmallocUsed: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
vm0=$(vmalloc)
vmax=$vm0
$V -q baseline load $N /tmp/bl28 >/tmp/load28 2>&1 &
lpid=$!
# vdirtctl devices keeps answering while the digests are sent and committed
worst=0
seen=
while kill -0 $lpid 2>/dev/null; do
	v=$(vmalloc)
	[ "$v" -gt "$vmax" ] && vmax=$v
	timed $V devices
	[ "$RC" -ne 0 ] && worst=99999
	[ "$ELAPSED" -gt "$worst" ] && worst=$ELAPSED
	p=$(pos)
	[ -n "$p" ] && [ "$p" -gt 0 ] && { seen=1; break; }
	usleep 200000
done
check_eq "the load's commit runs in the kernel (baseline_change=POS/10485760)" 1 "$seen"
timed $V devices
[ "$ELAPSED" -gt "$worst" ] && worst=$ELAPSED
kmark
timed dmsetup suspend $N
check "dmsetup suspend during the load returns within 5 s" within 500
diag "suspend during load: $ELAPSED cs"
p1=$(pos)
timed $V devices
[ "$ELAPSED" -gt "$worst" ] && worst=$ELAPSED
sleep 1
check "suspended: the load is paused (position kept: $p1)" \
	sh -c "[ -n '$p1' ] && [ '$p1' = '$(pos)' ]"
check "vdirtctl baseline load still waits while the device is suspended" kill -0 $lpid
check "resume" dmsetup resume $N
while kill -0 $lpid 2>/dev/null; do
	v=$(vmalloc)
	[ "$v" -gt "$vmax" ] && vmax=$v
	timed $V devices
	[ "$ELAPSED" -gt "$worst" ] && worst=$ELAPSED
	usleep 500000
done
wait $lpid
rc=$?
diag "vdirtctl devices during the load: worst $worst cs"
check "vdirtctl devices was served within 3 s during the load" [ "$worst" -le 300 ]
check_eq "vdirtctl baseline load waited for the end and succeeded (exit 0)" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/#   /' /tmp/load28
check_eq "after it: baseline=set baselined=10485760 baseline_change=-" "set 10485760 -" \
	"$(st baseline) $(st baselined) $(st baseline_change)"
diag "kernel vmalloc during the load of 320 MiB of digests: $vm0 kB before, at most $vmax kB"
check "kernel vmalloc grew by less than 1 MiB during the load" [ $((vmax - vm0)) -lt 1024 ]
rd 0 64
check_eq "the loaded baseline (all-zero image) against the data: 64 read mismatches" 64 \
	"$(st read_mismatches)"

ktap_done
