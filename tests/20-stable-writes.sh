#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 240
# SPDX-License-Identifier: GPL-2.0
# Stable writes: O_DIRECT writes from buffers that other threads keep changing
# while the I/O is in flight (tool scribble). Whatever bytes reached the disk,
# the stored hash must be theirs: after dropping caches a full read, a scan and
# an enforce-mode read find zero mismatches. Unaligned (512 B granular) and
# cluster-aligned variants.
. "${0%/*}/lib.sh"

use_devs t20

ktap_start

check "create" open_dev
check "scribble: 512-byte granular writes from changing buffers, 6 s, 2 pairs" \
	scribble -t 6 -p 2 -o 0 -r $((4 << 20)) $T
check "scribble: 4 KiB-aligned writes from changing buffers, 5 s, 2 pairs" \
	scribble -a -t 5 -p 2 -o $((8 << 20)) -r $((4 << 20)) $T
check_eq "no metadata error, state ok" "0 ok" "$(st meta_errors) $(st state)"
drop_caches
check "read the 12 MiB written region (audit)" dio read $T 0 $((12 << 20)) /dev/null
check_eq "no read mismatch: every stored hash is the hash of what reached the disk" 0 "$(st read_mismatches)"
drop_caches
check "message scan" dmsetup message $N 0 scan
check "the scan completes" wait_scan
check_eq "scan: no mismatch recorded" "0 0" "$(st read_mismatches) $(dmsetup message $N 0 report | grep -c 'cluster=')"
dmsetup message $N 0 mode enforce
drop_caches
check "enforce mode: the whole written region reads without error" dio read $T 0 $((12 << 20)) /dev/null
check "a tamper is still detected afterwards (the check can fail)" sh -c "
	head -c 512 /dev/urandom | dio write $D $((5 * CS)) && sync && echo 3 >/proc/sys/vm/drop_caches &&
	! dio read $T $((5 * CS)) $CS /dev/null 2>/dev/null"
ktap_done
