#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 240
# SPDX-License-Identifier: GPL-2.0
# Tampering underneath dm-vdirt: a cluster changed on the data device behind
# the target's back is reported on the next read (exactly that cluster, the
# counter, the expected/actual digests, the kernel log line); enforce mode fails
# reads touching that cluster only; clear_mismatches resets; rewriting or
# restoring the cluster heals it; a scan finds a tampered cluster nobody read;
# a never-measured cluster is trusted on first read (tofu) and checked after.
. "${0%/*}/lib.sh"

use_devs t12

# All direct I/O goes through the dio tool (rd/wr in lib.sh): busybox dd may
# quietly fall back to buffered I/O for small blocks, and a stale dirty page of
# the raw data device written back later would clobber data written through
# the target.
# tamper CLUSTER: overwrite one 512-byte sector inside CLUSTER on the data device
tamper() { head -c 512 /dev/urandom | dio write $D $(($1 * CS + 3 * 512)); }
# fcl FILE INDEX: cluster INDEX of a regular file on stdout
fcl() { dd if="$1" bs=$CS skip="$2" count=1 2>/dev/null; }
# dcl INDEX: cluster INDEX of the raw data device (O_DIRECT) on stdout
dcl() { dio read $D $(($1 * CS)) $CS; }
# rfield KEY: value of KEY=VALUE from report lines on stdin
rfield() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

ktap_start

dd if=/dev/urandom of=/tmp/orig bs=$CS count=64 2>/dev/null
# A cluster written on the data device before dm-vdirt ever saw it.
dd if=/dev/urandom of=/tmp/pre bs=$CS count=1 2>/dev/null
dio write $D $((200 * CS)) /tmp/pre

open_or_end "create the target"
devno=$(devno $T)

check "write 64 clusters through the target" wr /tmp/orig 0
check_eq "measured counts the 64 written clusters" 64 "$(st measured)"
rd 0 64 /tmp/back
check "data reads back unchanged" cmp /tmp/orig /tmp/back
check_eq "no read mismatch on untouched data" 0 "$(st read_mismatches)"
check "reads are verified (reads_verified > 0)" test "$(st reads_verified)" -gt 0

# trust on first use
t0=$(st tofu)
rd 200 1 /tmp/pre.back
check "a never-measured cluster reads back" cmp /tmp/pre /tmp/pre.back
check_eq "first read of a never-measured cluster counts as tofu" $((t0 + 1)) "$(st tofu)"
check_eq "tofu read is not a mismatch" 0 "$(st read_mismatches)"

# tamper with cluster 37
tamper 37
dcl 37 >/tmp/tampered
drop_caches
kmark=$(dmesg | wc -l)
check "audit mode: reading the tampered range succeeds" rd 0 64 /tmp/back
check "audit mode: the read returns the data on disk" sh -c "dd if=/tmp/back bs=$CS skip=37 count=1 2>/dev/null | cmp - /tmp/tampered"
check_eq "read_mismatches=1" 1 "$(st read_mismatches)"
check_eq "report has exactly one record" 1 "$(report | grep -c 'cluster=')"
check_eq "report names cluster 37 as a read mismatch on read" "cluster=37 kind=read_mismatch op=read" \
	"$(report | grep 'cluster=' | cut -d' ' -f1-3)"
check_eq "expected digest is sha256 of the written cluster" "$(fcl /tmp/orig 37 | vdigest sha256)" \
	"$(report | rfield expected)"
check_eq "actual digest is sha256 of the tampered cluster" "$(vdigest sha256 /tmp/tampered)" \
	"$(report | rfield actual)"
rt=$(report | rfield time)
now=$(date +%s)
check "record time is wall-clock ns (within a day of now)" \
	test "$(( ${rt:-0} / 1000000000 - now ))" -lt 86400 -a "$(( now - ${rt:-0} / 1000000000 ))" -lt 86400
klog=$(dmesg | tail -n +$((kmark + 1)) | grep "device-mapper: vdirt: $devno: read mismatch at cluster 37 (sector ")
check "kernel log: 'device-mapper: vdirt: $devno: read mismatch at cluster 37 (sector S)'" test -n "$klog"
ksec=$(echo "$klog" | head -n 1 | sed -n 's/.*(sector \([0-9]*\)).*/\1/p')
check "logged sector lies in cluster 37" test "${ksec:-0}" -ge $((37 * 8)) -a "${ksec:-0}" -lt $((38 * 8))
rd 36 1 && rd 38 1
check_eq "neighbours 36 and 38 read without a new mismatch" 1 "$(st read_mismatches)"

# enforce
check "message 'mode enforce'" dmsetup message $N 0 mode enforce
check_eq "status mode=enforce" enforce "$(st mode)"
drop_caches
check_fail "enforce: reading cluster 37 fails" rd 37 1
check_fail "enforce: a 512-byte read inside cluster 37 fails" \
	dio read $T $((37 * CS + 6 * 512)) 512 /dev/null
check_fail "enforce: a read spanning clusters 30..44 fails" \
	dio read $T $((30 * CS)) $((15 * CS)) /dev/null
fcl /tmp/orig 36 >/tmp/c36
fcl /tmp/orig 38 >/tmp/c38
rd 36 1 /tmp/r36
rd 38 1 /tmp/r38
check "enforce: clusters 36 and 38 read fine" sh -c "cmp /tmp/c36 /tmp/r36 && cmp /tmp/c38 /tmp/r38"
rd 0 37 /tmp/back37
check "enforce: clusters 0..36 in one read succeed and are intact" \
	sh -c "dd if=/tmp/orig bs=$CS count=37 2>/dev/null | cmp - /tmp/back37"

# clear_mismatches, then heal by restoring / rewriting
check "message clear_mismatches (and its walk ends)" msg_wait clear_mismatches
check_eq "clear_mismatches: report is empty, read_mismatches=0" "0 0" \
	"$(report | grep -c 'cluster=') $(st read_mismatches)"
fcl /tmp/orig 37 >/tmp/c37
dio write $D $((37 * CS)) /tmp/c37
drop_caches
check "restored cluster 37 reads fine in enforce mode" rd 37 1 /tmp/r37
check "restored cluster 37 content is the written one" cmp /tmp/c37 /tmp/r37
tamper 50
dd if=/dev/urandom of=/tmp/new50 bs=$CS count=1 2>/dev/null
wr /tmp/new50 50
drop_caches
rd 50 1 /tmp/c50
check "a tampered cluster rewritten through the target reads its new data in enforce mode" cmp /tmp/new50 /tmp/c50
check_eq "no mismatch after restore and rewrite" 0 "$(st read_mismatches)"

# the tofu-measured cluster is verified afterwards
dmsetup message $N 0 mode audit
tamper 200
drop_caches
rd 200 1
check_eq "tamper of a tofu-measured cluster is reported" "cluster=200 kind=read_mismatch" \
	"$(report | grep 'cluster=' | cut -d' ' -f1-2)"
dio write $D $((200 * CS)) /tmp/pre

# a background scan finds a tampered cluster that nobody reads
tamper 60
drop_caches
check "message scan" dmsetup message $N 0 scan
check "scan finishes (scan=- within 90 s)" wait_scan
check "scan records cluster 60 (kind=read_mismatch op=scan)" \
	sh -c "dmsetup message $N 0 report | grep -q '^cluster=60 kind=read_mismatch op=scan '"
check_eq "after the scan: 2 mismatches recorded in total" 2 "$(report | grep -c 'cluster=')"

ktap_done
