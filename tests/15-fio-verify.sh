#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# fio verify=crc32c, mixed random I/O (bsrange=512-256k, iodepth 16, libaio,
# direct, 4 jobs on their own 8 MiB regions) through dm-vdirt: no data error,
# no read mismatch during the run, then a full scan and an enforce-mode read
# find nothing; a second verify-only pass after dropping caches also passes.
. "${0%/*}/lib.sh"

use_devs t15

job="--filename=$T --ioengine=libaio --direct=1 --iodepth=16 --rw=randrw --rwmixwrite=60
	--bsrange=512-256k --verify=crc32c --verify_fatal=1 --numjobs=4 --size=8M
	--offset_increment=8M --group_reporting"

ktap_start

check "create the target" open_dev
# shellcheck disable=SC2086
fio --name=mixed $job >/tmp/fio.out 2>&1
rc=$?
check_eq "fio randrw + verify=crc32c exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/#   /' /tmp/fio.out | grep -Ei 'err|verify|bad' | head -n 20
check "fio reports err= 0" sh -c "grep -q 'err= 0' /tmp/fio.out && ! grep -Eq 'err= *[1-9]' /tmp/fio.out"
check_eq "no read mismatch, no metadata error during the run" "0 0" "$(st read_mismatches) $(st meta_errors)"
check "unaligned I/O was seen (bsrange starts at 512)" test "$(st unaligned)" -gt 0
drop_caches
# shellcheck disable=SC2086
check "verify-only pass after dropping caches" fio --name=mixed $job --verify_only
check "message scan" dmsetup message $N 0 scan
check "the scan completes" wait_scan 120
check_eq "scan: no mismatch recorded" "0 0" "$(st read_mismatches) $(dmsetup message $N 0 report | grep -c 'cluster=')"
dmsetup message $N 0 mode enforce
drop_caches
check "enforce mode: the 32 MiB written region reads without error" \
	dio read $T 0 $((32 << 20)) /dev/null
check_eq "state=ok" ok "$(st state)"
ktap_done
