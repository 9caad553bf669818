#!/bin/sh
# vm: --disk 16M --disk 4M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# A baseline change cut short: a load, capture or clear rewrites every entry
# in place; the superblock flag BASELINE_PARTIAL (bit 2) is committed before
# the first entry changes and cleared after the last.  Left set (a crash in
# the middle; simulated by setting it in the newest superblock copy), the
# device opens with baseline=partial and a kernel log line, ignores baseline
# digests (no read mismatch or write drift against them; reads still checked
# against the last write), keeps that over a reopen, and a new load clears it.
# A load's replace cut short (BASELINE_PARTIAL with BASELINE_STAGED, bit 3:
# its complete baseline is in the staging area) is applied again from the
# staging area when the device is next activated.
. "${0%/*}/lib.sh"

use_devs t27
V=vdirtctl
TABLE=$(table)

need_vdirtctl

# mark_partial [BITS]: set BASELINE_PARTIAL (or BITS) in the newer superblock copy
mark_partial() {
	dio read $M 0 8192 /tmp/sb27 || return 1
	_new=0
	[ "$(u64 /tmp/sb27 4112)" -gt "$(u64 /tmp/sb27 16)" ] && _new=1
	_off=$((_new * 4096 + 148))
	dio read $M 0 $(($(sectors $M) * 512)) /tmp/m27 || return 1
	putbytes /tmp/m27 $_off $(($(byte /tmp/m27 $_off) | ${1:-4}))
	sb_fix_csum /tmp/m27 $_new
	dio write $M 0 /tmp/m27
}

ktap_start

check "create on a zeroed metadata device" open_dev "$TABLE"
head -c $((16 * CS)) /dev/urandom >/tmp/a27
dio write $T 0 /tmp/a27
check_eq "no baseline yet: baseline=none" none "$(st baseline)"
# a baseline of the whole device that differs from the data in cluster 5
rd 0 $(($(sectors $D) / 8)) /tmp/img27
head -c $CS /dev/urandom | dd of=/tmp/img27 bs=$CS seek=5 conv=notrunc 2>/dev/null
check "baseline build (cluster 5 differs from the data)" $V baseline build -q /tmp/img27 -o /tmp/bl27
check "baseline load" $V baseline load $N /tmp/bl27
check_eq "baseline=set" set "$(st baseline)"
rd 0 16
check_eq "read against the baseline: one mismatch (cluster 5)" 1 "$(st read_mismatches)"
head -c $CS /dev/urandom >/tmp/w27
wr /tmp/w27 7
check_eq "a write that differs from the baseline: one write drift" 1 "$(st write_drift)"
check "remove" dmsetup remove $N

check "mark the newest superblock copy BASELINE_PARTIAL" mark_partial
kmark
check "open" open_dev "$TABLE"
check_eq "baseline=partial" partial "$(st baseline)"
check_eq "kernel log: the baseline change was cut short" 1 \
	"$(knew | grep -c 'baseline change was cut short')"
msg_wait clear_mismatches
head -c $CS /dev/urandom >/tmp/w27
wr /tmp/w27 6
rd 0 16
check_eq "baseline ignored: no read mismatch (cluster 5)" 0 "$(st read_mismatches)"
check_eq "baseline ignored: no write drift (cluster 6)" 0 "$(st write_drift)"
# the last write still counts: change cluster 6 underneath
head -c $CS /dev/urandom | dio write $D $((6 * CS))
rd 6 1
check_eq "reads still checked against the last write" 1 "$(st read_mismatches)"
dmsetup remove $N && open_dev "$TABLE"
check_eq "still partial after a reopen" partial "$(st baseline)"

check "load the baseline again" $V baseline load $N /tmp/bl27
check_eq "baseline=set" set "$(st baseline)"
rd 5 1
check_eq "the baseline counts again: cluster 5 mismatches" 2 "$(st read_mismatches)"
dmsetup remove $N && open_dev "$TABLE"
check_eq "the mark is gone from the superblock (reopen: baseline=set)" set "$(st baseline)"
msg_wait baseline_clear
check_eq "baseline_clear: baseline=none" none "$(st baseline)"

# a load whose replace was cut short: applied again from the staging area
check "baseline load" $V baseline load $N /tmp/bl27
msg_wait baseline_clear
check "remove" dmsetup remove $N
check "mark the newest copy BASELINE_PARTIAL + BASELINE_STAGED" mark_partial 12
kmark
check "open" open_dev "$TABLE"
check "the staged baseline is applied again (baseline_change ends)" wait_bchange
check_eq "kernel log: applying the staged baseline again" 1 \
	"$(knew | grep -c 'applying the staged baseline again (4096 clusters)')"
check_eq "baseline=set, the whole device baselined" "set 4096" "$(st baseline) $(st baselined)"
msg_wait clear_mismatches
rd 5 1
check_eq "the staged baseline counts: cluster 5 mismatches" 1 "$(st read_mismatches)"
dmsetup remove $N && open_dev "$TABLE"
check_eq "the marks are gone (reopen: baseline=set, nothing applied again)" "set -" \
	"$(st baseline) $(st baseline_change)"

ktap_done
