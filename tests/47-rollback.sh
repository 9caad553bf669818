#!/bin/sh
# vm: --disk 16M --disk 8M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# Rollback detection.  The data device is copied at the end of epoch 1 (a
# snapshot), clusters are written again in epochs 2 and 3, then the copy is
# put back underneath (a snapshot revert) while the device is closed.  Reads
# of clusters changed since then mismatch, and as their content is what they
# held at the end of epoch 1 they are recorded as kind=rollback epoch=1; a
# cluster given back its epoch-2 content names epoch 2; a cluster changed to
# content it never had stays a read_mismatch; untouched clusters match.  The
# digest history is bounded: only retained epochs are named.
. "${0%/*}/lib.sh"

use_devs t47
V=vdirtctl
need_vdirtctl

rnd() { head -c $CS /dev/urandom >"$1"; }
# krec C: "kind epoch" of the kernel report line of cluster C
krec() {
	report | grep -E "^cluster=$1 kind=(rollback|read_mismatch) " |
		grep -oE 'kind=[a-z_]+|epoch=[0-9]+$' | cut -d= -f2 | tr '\n' ' ' | sed 's/ $//'
}

ktap_start
dd if=/dev/zero of=$M bs=1M count=8 2>/dev/null
table=$(table)
check "create" open_dev "$table"
# epoch 1: clusters 0..9
head -c $((10 * CS)) /dev/urandom >/tmp/a47
wr /tmp/a47 0
check_eq "epoch 2" 2 "$($V epoch $N --label after-snapshot)"
check "snapshot of the data device at the end of epoch 1" dd if=$D of=/tmp/img47 bs=1M 2>/dev/null
# epoch 2: clusters 0..3, 8, 9; epoch 3: clusters 2, 8, 9
head -c $((4 * CS)) /dev/urandom >/tmp/b47
wr /tmp/b47 0
rnd /tmp/b8; wr /tmp/b8 8
rnd /tmp/b9; wr /tmp/b9 9
check_eq "epoch 3" 3 "$(dmsetup message $N 0 epoch_new)"
rnd /tmp/c2; wr /tmp/c2 2
rnd /tmp/c8; wr /tmp/c8 8
rnd /tmp/c9; wr /tmp/c9 9
check "close" close_dev

check "revert the data device to the snapshot" dd if=/tmp/img47 of=$D bs=1M conv=notrunc 2>/dev/null
check "cluster 9 gets its epoch-2 content back" dio write $D $((9 * CS)) /tmp/b9
rnd /tmp/x10
check "cluster 5 gets content it never had" dio write $D $((5 * CS)) /tmp/x10
check "reopen" open_dev "$table"
drop_caches
rd 0 10
check_eq "cluster 0 (written in epoch 2): rollback to epoch 1" "rollback 1" "$(krec 0)"
check_eq "cluster 2 (written in epochs 2 and 3): rollback to epoch 1" "rollback 1" "$(krec 2)"
check_eq "cluster 8: rollback to epoch 1" "rollback 1" "$(krec 8)"
check_eq "cluster 9 (epoch-2 content): rollback to epoch 2" "rollback 2" "$(krec 9)"
check_eq "cluster 5 (never held it): read_mismatch" "read_mismatch" "$(krec 5)"
check_eq "clusters 4, 6, 7 (not written since the snapshot): no record" "" \
	"$(krec 4)$(krec 6)$(krec 7)"
check_eq "read_mismatches counts rollbacks too: 7" 7 "$(st read_mismatches)"
rj=$($V report $N --json | tr -d ' ' | tr '}' '\n' | grep '"cluster":0,')
check "vdirtctl report --json: cluster 0 kind rollback, epoch 1" \
	sh -c "echo '$rj' | grep -q '\"kind\":\"rollback\"' && echo '$rj' | grep -q '\"epoch\":1'"
check "vdirtctl report: the text names the epoch" \
	sh -c "$V report $N | grep 'cluster 9 ' | grep -q 'rollback.* epoch=2$'"
ktap_done
