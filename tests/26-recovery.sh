#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# Crash recovery, made deterministic: the metadata device is copied while the
# target is live (what a power cut would leave on it), the device is removed,
# the data write the copy describes is undone underneath (the digest reached
# the metadata, the data did not), and the copy is put back.  On reopen the
# region whose write-intent bit is set is measured again in the background:
# no false mismatch, one "recovery" summary record, the status shows progress.
# A change underneath a region whose bit is clear is still detected, a
# recorded mismatch survives the "crash", and bits are cleared once idle.
. "${0%/*}/lib.sh"

use_devs t26
# metadata layout for 64 MiB / 4 KiB / sha256 (packed 80-byte entries):
# 2 superblocks + ceil(16384 / 51) = 322 entry blocks -> the bitmap is block 324
IBLK=324

# the write-intent bits of the 16 regions on disk, as a number
ibyte() { dio read $M $((IBLK * 4096)) 4096 | od -An -tu2 -N2 | tr -d ' '; }
# poll: until the output of "$@" is $want, at most 30 s
poll() {
	want=$1
	shift
	i=0
	while [ "$("$@")" != "$want" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$("$@")" = "$want" ]
}
wait_recovered() { poll - st recovering; }
# wait until the bitmap reads $1 (bits are cleared after 1-2 idle seconds)
wait_ibyte() { poll "$1" ibyte; }

ktap_start

table=$(table)
check "create" open_dev "$table"
check "fill the device (every cluster measured)" \
	dd if=/dev/zero of=$T bs=1M count=64 oflag=direct
check "all bits cleared once idle" wait_ibyte 0

# keep the bits set until the image is taken, however slow the host
P=/sys/module/dm_vdirt/parameters/intent_idle_s
echo 3600 >$P
# write cluster 5 (region 0) and cluster 2100 (region 2), flush
head -c $CS /dev/urandom >/tmp/c5
head -c $CS /dev/urandom >/tmp/c2100
wr /tmp/c5 5
wr /tmp/c2100 2100
check_eq "bits of regions 0 and 2 durable after the writes" 5 "$(ibyte)"

# the "crash": what the metadata device holds right now
check "copy the live metadata (power-cut image)" \
	dio read $M 0 $((16 * 1024 * 1024)) /tmp/meta.img
check "clean remove" dmsetup remove $N
echo 1 >$P
# the data write of cluster 5 never reached the disk: zeroes again
check "undo the data of cluster 5 underneath" \
	sh -c "head -c $CS /dev/zero | dio write $D $((5 * CS))"
# a change underneath a clean region (region 4): must still be detected
head -c $CS /dev/urandom | dio write $D $((4200 * CS))
check "put the power-cut image back" dio write $M 0 /tmp/meta.img

dmesg -c >/dev/null
check "reopen after the crash" open_dev "$table"
check "recovery finishes" wait_recovered
check "kernel logs what it measures again" \
	sh -c "dmesg | grep -q 'unclean shutdown: measuring 2048 clusters in 2 regions again'"
check "kernel logs the recovery" \
	sh -c "dmesg | grep -q 'recovery finished: 2 regions, 2048 clusters measured again, 1 changed'"
drop_caches
rd 0 8 /tmp/r0
rd 2100 1 /tmp/r2100
check_eq "no false mismatch in the recovered regions" 0 "$(st read_mismatches)"
check "cluster 2100 kept its data" cmp /tmp/r2100 /tmp/c2100
check_eq "one recovery record" \
	"kind=recovery op=recovery regions=2 remeasured=2048 changed=1 on_read=0" \
	"$(report | grep kind=recovery | sed 's/.*\(kind=[a-z]*\) \(op=[a-z]*\).* time=[0-9]* /\1 \2 /')"

rd 4200 1
check_eq "a change underneath a clean region is still a mismatch" 1 "$(st read_mismatches)"
check "bits cleared again once idle" wait_ibyte 0

# a recorded mismatch survives a crash right after it was reported
dio read $M 0 $((16 * 1024 * 1024)) /tmp/meta2.img
dmsetup remove $N
dio write $M 0 /tmp/meta2.img
open_dev "$table"
wait_recovered
check "the mismatch record survived the crash" \
	sh -c "dmsetup message $N 0 report | grep -q 'cluster=4200 kind=read_mismatch'"

# a baseline capture while crash recovery runs is refused (EBUSY): the
# recovery reads go through dm-delay (1 s each), so it runs for seconds;
# a read of a cluster it has not reached yet is measured on the spot
P=/sys/module/dm_vdirt/parameters/intent_idle_s
echo 3600 >$P
head -c $CS /dev/urandom >/tmp/c9
wr /tmp/c9 9
dio read $M 0 $((16 * 1024 * 1024)) /tmp/meta3.img
close_dev
echo 1 >$P
dio write $M 0 /tmp/meta3.img
aux_dev t26d "0 $(sectors $D) delay $D 0 1000"
check "reopen after a crash, reads delayed 1 s" \
	open_dev "$(D=/dev/mapper/t26d table)"
# a read of the region's last cluster, done (about 1 s) long before the
# pipeline reaches its last piece (16 pieces, a few in flight, 1 s each)
rd 1023 1 &
rdpid=$!
r=$(st recovering)
check "recovery runs (recovering=$r, of 1024)" [ "${r#*/}" = 1024 ]
check_fail "baseline_capture while recovery runs is refused" \
	dmsetup message $N 0 baseline_capture
out=$(vdirtctl baseline capture $N 2>&1); rc=$?
check_eq "vdirtctl baseline capture while recovery runs: exit 5 (busy)" 5 "$rc"
diag "$out"
check_eq "nothing started: baseline_change=- baseline=none" "- none" \
	"$(st baseline_change) $(st baseline)"
check "recovery finishes" poll - st recovering
wait $rdpid
check_eq "the read during recovery succeeded" 0 "$?"
check_eq "it was measured on the spot, once: on_read=1 remeasured=1024" \
	"on_read=1 remeasured=1024" \
	"$(report | grep kind=recovery | tail -n 1 | sed 's/.*\(remeasured=[0-9]*\).*\(on_read=[0-9]*\).*/\2 \1/')"
check "baseline_capture after the recovery" msg_wait baseline_capture
check_eq "baseline=set" set "$(st baseline)"

ktap_done
