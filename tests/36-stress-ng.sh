#!/bin/sh
# vm: --disk 256M --disk 16M --timeout 420
# long: run by make check-crash (about 2 min per kernel), not make check
# SPDX-License-Identifier: GPL-2.0
# A third-party workload: Debian's stress-ng on ext4 (4 KiB blocks, mounted
# with -o discard) on dm-vdirt (4 KiB clusters, sha256), every stressor with
# --verify. Pass 1, buffered: hdd (sequential writes, random reads compared
# byte by byte), iomix (small reads and writes, mmap, fsync, drop_caches),
# copy-file (copy_file_range, copies compared), readahead (data compared),
# dentry. Pass 2, O_DIRECT: hdd with O_DIRECT in 2 KiB writes and reads
# (sub-cluster bios: read-verify-modify in the target) on files of the fs,
# every read compared, and rawdev reading the dm device itself with O_DIRECT
# in 512-byte reads (stress-ng's hdd only writes files, it cannot be pointed
# at a block device). Pass 3, alone because each of its rounds is ~130
# fsyncs: two rounds of fallocate (all modes, sizes checked). Then umount,
# e2fsck -fn, a full scan: no mismatch, no drift (no baseline is set), no
# metadata error, no kernel splat (vm-run). Last, one cluster changed
# underneath is found by a second scan, so the zero counts above could have
# been non-zero. stress-ng 0.15 can report "fail: ... incorrect data" and
# still exit 0 with "successful run completed": its log is checked too.
. "${0%/*}/lib.sh"

command -v stress-ng >/dev/null 2>&1 || skip_all "stress-ng not in the guest image (scripts/deps)"

use_devs t36
MP=/tmp/mnt36
# the cluster changed underneath at the end
EVIL=1000

cleanup() {
	umount $MP
}

# sng NAME ARGS...: stress-ng ARGS with --verify in the filesystem; output in
# /tmp/NAME.log, metrics in /tmp/NAME.yaml; prints its exit status
sng() {
	_n=$1
	shift
	stress-ng --temp-path $MP --verify --metrics-brief --yaml /tmp/$_n.yaml \
		"$@" >/tmp/$_n.log 2>&1
	echo $?
}
# sng_clean NAME: the run says it succeeded and logged no failure
sng_clean() {
	grep -q 'successful run completed' /tmp/$1.log &&
		! grep -q 'unsuccessful run' /tmp/$1.log &&
		! grep -Eq '(fail|error): ' /tmp/$1.log
}
# sng_ops NAME: "stressor:bogo-ops:seconds" for each stressor of the run
sng_ops() {
	awk '/- stressor:/ { s = $3 } /bogo-ops:/ { o = $2 }
		/wall-clock-time:/ { printf "%s:%s:%.1f\n", s, o, $2 }' /tmp/$1.yaml
}
# sng_ran NAME STRESSOR[:OPS]...: each STRESSOR did some work (bogo-ops > 0,
# or exactly OPS)
sng_ran() {
	_n=$1
	shift
	for _s in "$@"; do
		case $_s in
		*:*) sng_ops $_n | grep -q "^$_s:" || return 1 ;;
		*) sng_ops $_n | grep -Eq "^$_s:[1-9][0-9]*:" || return 1 ;;
		esac
	done
}
# sng_report DESC NAME RC STRESSOR...: the three checks of the run NAME that
# exited RC
sng_report() {
	_d=$1
	_n=$2
	_rc=$3
	shift 3
	check_eq "$_d: stress-ng exits 0" 0 "$_rc"
	if sng_clean $_n; then
		ok "$_d: successful run, no failure logged"
	else
		not_ok "$_d: successful run, no failure logged"
		grep -v ' metrc: ' /tmp/$_n.log | tail -n 20 | sed 's/^/#   /'
	fi
	check "$_d: every stressor did work ($*)" sng_ran $_n "$@"
	diag "$_d: $(sng_ops $_n | tr '\n' ' ')(stressor:bogo-ops:seconds)"
}

ktap_start

diag "$(stress-ng --version)"

open_or_end "create the target (4 KiB clusters, sha256)"
check "mkfs.ext4 -b 4096" mkfs.ext4 -F -q -b 4096 $T
mkdir -p $MP
check "mount ext4 -o discard" mount -t ext4 -o discard $T $MP

rc=$(sng pass1 --timeout 30s \
	--hdd 1 --hdd-bytes 16M --hdd-opts wr-seq,rd-rnd \
	--iomix 1 --iomix-bytes 16M \
	--copy-file 1 --copy-file-bytes 128M \
	--readahead 1 --readahead-bytes 8M \
	--dentry 1)
sng_report "pass 1 (buffered)" pass1 "$rc" hdd iomix copy-file readahead dentry
check_eq "pass 1: no read mismatch, no metadata error" "0 0" "$(st read_mismatches) $(st meta_errors)"

drop_caches
u0=$(st unaligned)
# hdd: 2 x 1024 ops = one round per instance of 512 writes and 512 random
# reads of 2 KiB (the smallest file is 1 MiB), each read compared (a round
# cut short by the timeout would not report its bad data: the count must be
# exact)
rc=$(sng pass2 --timeout 90s \
	--hdd 2 --hdd-bytes 1M --hdd-write-size 2048 --hdd-opts direct,wr-seq,rd-rnd \
	--hdd-ops 2048 --rawdev 1 --rawdev-ops 2000)
sng_report "pass 2 (O_DIRECT)" pass2 "$rc" hdd rawdev
check "pass 2: hdd did all its rounds (2048 ops)" sng_ran pass2 "hdd:2048"
check_eq "pass 2: no read mismatch, no metadata error" "0 0" "$(st read_mismatches) $(st meta_errors)"
check "pass 2: sub-cluster I/O reached the target (unaligned grows)" test "$(st unaligned)" -gt "$u0"

# two rounds (a few seconds on an idle host), at most 60 s
rc=$(sng pass3 --timeout 60s --fallocate 1 --fallocate-bytes 8M --fallocate-ops 2)
sng_report "pass 3 (fallocate)" pass3 "$rc" fallocate

check "umount" umount $MP
check "e2fsck -fn is clean" e2fsck -fn $T
drop_caches
check "message scan" dmsetup message $N 0 scan
check "the scan completes" wait_scan 180
check_eq "after the scan: no read mismatch, no write drift, no metadata error, state ok" \
	"0 0 0 ok" "$(st read_mismatches) $(st write_drift) $(st meta_errors) $(st state)"
check_eq "the report is empty" 0 "$(report | grep -c 'cluster=')"

# the same scan does see a cluster changed underneath
head -c $CS /dev/urandom | dio write $D $((EVIL * CS))
dmsetup message $N 0 scan
wait_scan 180
check_eq "a cluster changed underneath is found by a second scan" "1 1" \
	"$(st read_mismatches) $(report | grep -c "^cluster=$EVIL kind=read_mismatch op=scan ")"
ktap_done
