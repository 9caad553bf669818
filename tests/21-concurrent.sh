#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 240
# SPDX-License-Identifier: GPL-2.0
# Overlapping concurrent I/O to the same clusters: several fio jobs (separate
# processes) hammer one 256 KiB region with random writes of 512 B..64 KiB,
# then with mixed reads and writes (reads racing overlapping writes must not
# give false mismatches), then with buffered writes; afterwards a scan and an
# enforce-mode read find no mismatch: no hash disagrees with the data.
. "${0%/*}/lib.sh"

use_devs t21

common="--filename=$T --size=256k --offset=1M --numjobs=4 --bsrange=512-64k --norandommap
	--randrepeat=0 --time_based --group_reporting"

ktap_start

check "create" open_dev
# shellcheck disable=SC2086
check "4 fio jobs, overlapping random writes (libaio, direct, iodepth 16), 6 s" \
	fio --name=ow $common --rw=randwrite --ioengine=libaio --direct=1 --iodepth=16 --runtime=6
# shellcheck disable=SC2086
check "4 fio jobs, overlapping random reads and writes (psync, direct), 6 s" \
	fio --name=orw $common --rw=randrw --ioengine=psync --direct=1 --runtime=6
check_eq "no read mismatch while reads raced overlapping writes" 0 "$(st read_mismatches)"
# shellcheck disable=SC2086
check "4 fio jobs, overlapping buffered random writes with fsync, 4 s" \
	fio --name=obw $common --rw=randwrite --ioengine=psync --direct=0 --fsync=8 --runtime=4
drop_caches
check_eq "no metadata error, state ok" "0 ok" "$(st meta_errors) $(st state)"
check "message scan" dmsetup message $N 0 scan
check "the scan completes" wait_scan
check_eq "scan: no mismatch recorded" "0 0" "$(st read_mismatches) $(dmsetup message $N 0 report | grep -c 'cluster=')"
dmsetup message $N 0 mode enforce
drop_caches
check "enforce mode: the hammered region reads without error" dio read $T $((1 << 20)) $((256 << 10)) /dev/null
check "a tamper in that region is still detected (the check can fail)" sh -c "
	head -c 512 /dev/urandom | dio write $D $(((1 << 20) + 3 * CS)) && sync && echo 3 >/proc/sys/vm/drop_caches &&
	! dio read $T $(((1 << 20) + 3 * CS)) $CS /dev/null 2>/dev/null"
ktap_done
