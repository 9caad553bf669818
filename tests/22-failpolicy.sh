#!/bin/sh
# vm: --disk 32M --disk 8M --disk 8M --timeout 240
# SPDX-License-Identifier: GPL-2.0
# Failure policy when the metadata device fails (its table swapped for the
# dm "error" target under a live dm-vdirt): fail-closed (default) fails the
# I/O and shows state=failed; fail_open lets data I/O pass, stops measuring,
# shows state=degraded; both count meta_errors and log it (never silent), and
# the device can still be removed.
. "${0%/*}/lib.sh"

# the metadata device is m22, a dm-linear device over /dev/vdb (then /dev/vdc)
use_devs t22 /dev/vda /dev/mapper/m22

# create_on DISK [OPT...]: m22 over DISK, then the device with options OPT
create_on() {
	part_dev m22 "$1" || return 1
	shift
	open_dev "$(table "$@")"
}
# meta_fail: swap the table of the metadata device m22 for the error target
meta_fail() { swap_table m22 "0 $(sectors /dev/vdb) error"; }
# wsync CLUSTER: write one random cluster and fsync (a flush commits metadata)
wsync() { head -c $CS /dev/urandom >/tmp/w22 && dio write $T $(($1 * CS)) /tmp/w22; }

ktap_start

# --- fail-closed (default) ---
check "fail-closed: create on a working metadata device" create_on /dev/vdb
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
check "fail_open: create on a fresh metadata device" create_on /dev/vdc fail_open
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
