#!/bin/sh
# vm: --disk 32M --disk 8M --disk 8M --timeout 240
# SPDX-License-Identifier: GPL-2.0
# Failure policy when the metadata device fails (its table swapped for the
# dm "error" target under a live dm-vdirt): fail-closed (default) fails the
# I/O and shows state=failed; fail_open lets data I/O pass, stops measuring,
# shows state=degraded; both count meta_errors and log it (never silent), and
# the device can still be removed.
. "${0%/*}/lib.sh"

D=/dev/vda
N=t22
T=/dev/mapper/$N
CS=4096

cleanup() {
	dmsetup remove $N
	dmsetup remove m22
}

st() { status_field $N "$1"; }
# meta_fail: swap the table of the metadata device m22 for the error target
meta_fail() {
	dmsetup reload m22 --table "0 $(sectors /dev/vdb) error" && dmsetup resume m22
}
# wsync CLUSTER: write one random cluster and fsync (a flush commits metadata)
wsync() { head -c $CS /dev/urandom >/tmp/w22 && dio write $T $(($1 * CS)) /tmp/w22; }

ktap_start

len=$(sectors $D)

# --- fail-closed (default) ---
check "fail-closed: create on a working metadata device" sh -c "
	dmsetup create m22 --table '0 $(sectors /dev/vdb) linear /dev/vdb 0' && dmsetup mknodes m22 &&
	dmsetup create $N --table '0 $len vdirt $D /dev/mapper/m22 $CS sha256' && dmsetup mknodes $N"
check "fail-closed: write + flush before the failure" wsync 1
check "swap the metadata device for the error target" meta_fail
kmark
check_fail "fail-closed: write + flush after the metadata failure fails" wsync 2
check_eq "fail-closed: state=failed" failed "$(st state)"
check "fail-closed: meta_errors > 0" test "$(st meta_errors)" -gt 0
check_fail "fail-closed: a later write fails too" wsync 3
check "fail-closed: the failure is in the kernel log" sh -c "dmesg | tail -n +$((KMARK + 1)) | grep -q 'vdirt: '"
check "fail-closed: the device can be removed" timeout 60 dmsetup remove $N
dmsetup remove m22

# --- fail_open ---
check "fail_open: create on a fresh metadata device" sh -c "
	dmsetup create m22 --table '0 $(sectors /dev/vdc) linear /dev/vdc 0' && dmsetup mknodes m22 &&
	dmsetup create $N --table '0 $len vdirt $D /dev/mapper/m22 $CS sha256 1 fail_open' && dmsetup mknodes $N"
check "fail_open: write + flush before the failure" wsync 1
meta_fail
kmark
check "fail_open: write + flush after the metadata failure succeeds" wsync 2
check_eq "fail_open: state=degraded" degraded "$(st state)"
check "fail_open: meta_errors > 0" test "$(st meta_errors)" -gt 0
head -c $((8 * CS)) /dev/urandom >/tmp/a22
dio write $T $((10 * CS)) /tmp/a22
drop_caches
dio read $T $((10 * CS)) $((8 * CS)) /tmp/b22
check "fail_open: data written after the failure reads back intact" cmp /tmp/a22 /tmp/b22
check "fail_open: kernel log says degraded / fail_open" sh -c "dmesg | tail -n +$((KMARK + 1)) | grep 'vdirt: ' | grep -Eq 'degraded|fail_open'"
check "fail_open: the device can be removed" timeout 60 dmsetup remove $N
check_eq "no kernel splat" "" "$(dmesg | grep -E 'BUG:|WARNING:|Oops|general protection' | head -n 2)"
ktap_done
