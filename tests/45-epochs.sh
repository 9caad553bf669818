#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 400
# SPDX-License-Identifier: GPL-2.0
# Epochs and changed-block lists.  Each activation opens an epoch
# (label "activation"), epoch_new / `vdirtctl epoch` the next one; the
# epoch table keeps label, times and clusters written.  `vdirtctl changed
# --since E --until F` lists every cluster written in epochs E+1..F, not only
# those whose last write falls there (a cluster written in E+1 and again in
# E+3 is in --since E --until E+1), in FIRST COUNT runs, as JSON and with
# each cluster's digest, epoch and time of its last write.  The lists and
# the table survive a reopen; after a "power cut" (the live metadata copied,
# put back after the remove) the clusters of dirty regions whose content
# changed are in the crashed epoch's set.  Retention: with --epochs 3 the
# oldest epochs go and a list reaching back to them is refused.
. "${0%/*}/lib.sh"

use_devs t45
V=vdirtctl
need_vdirtctl

# wc1 C [FILE]: write one cluster of random data (kept in /tmp/c45.C)
wc1() { head -c $CS /dev/urandom >/tmp/c45.$1 && wr /tmp/c45.$1 "$1"; }
cdig() { vdigest sha256 </tmp/c45.$1; }
# changed ARGS: the plain runs on one line, "|" separated
changed() { $V changed $N "$@" | tr '\n' '|'; }
# ep_field E KEY: the value of KEY of epoch E in `epochs --json`
ep_field() {
	$V epochs $N --json | tr '{' '\n' | grep "\"epoch\":$1," | tr ',' '\n' |
		sed -n "s/^\"$2\":\(.*\)/\1/p" | tr -d '"}]'
}
P=/sys/module/dm_vdirt/parameters/intent_idle_s

ktap_start
dd if=/dev/zero of=$M bs=1M count=16 2>/dev/null
table=$(table)
check "create (the kernel formats the zeroed metadata)" open_dev "$table"
check_eq "status: epoch=1 after the first activation" 1 "$(st epoch)"
check_eq "epoch 1 is labelled activation" activation "$(ep_field 1 label)"
check_eq "epochs --json: oldest 1, current 1" '"oldest":1,"current":1' \
	"$($V epochs $N --json | grep -o '"oldest":[0-9]*,"current":[0-9]*')"

# E1: 1 2; E2: 5 2; E3: 9; E4: 5 100..103
wc1 1; wc1 2
check_eq "vdirtctl epoch prints the new epoch number" 2 "$($V epoch $N --label e2)"
wc1 5; wc1 2
check_eq "dmsetup message epoch_new answers 3" 3 "$(dmsetup message $N 0 epoch_new e3)"
wc1 9
check_eq "epoch --json" '{"epoch":4,"label":"e4",' \
	"$($V epoch $N --label e4 --json | grep -o '^{"epoch":4,"label":"e4",')"
wc1 5
head -c $((4 * CS)) /dev/urandom >/tmp/r45
wr /tmp/r45 100
check_eq "status: epoch=4" 4 "$(st epoch)"

check_eq "changed --since 1 --until 2: what E2 wrote (2 and 5)" "2 1|5 1|" "$(changed --since 1 --until 2)"
check_eq "changed --since 3: E4 (5, 100..103)" "5 1|100 4|" "$(changed --since 3)"
check_eq "changed --since 0: every epoch, runs joined" "1 2|5 1|9 1|100 4|" "$(changed --since 0)"
check_eq "changed --since 2 --until 3: 9 only" "9 1|" "$(changed --since 2 --until 3)"
check_eq "changed --since 4: nothing yet" "" "$(changed --since 4)"
check_eq "changed --json" '{"since":1,"until":2,"ranges":[{"first":2,"count":1},{"first":5,"count":1}],"clusters":2}' \
	"$($V changed $N --since 1 --until 2 --json | tr -d ' \n')"
check_eq "changed --json until now: null" '{"since":3,"until":null,' \
	"$($V changed $N --since 3 --json | tr -d ' \n' | grep -o '^{"since":3,"until":null,')"
hj=$($V changed $N --since 3 --hashes --json | tr -d ' \n')
check "changed --hashes --json: cluster 5 with its digest and epoch 4" \
	sh -c "echo '$hj' | grep -q '{\"cluster\":5,\"epoch\":4,\"time\":\"20[0-9-]*T[0-9:.]*Z\",\"digest\":\"$(cdig 5)\"}'"
check_eq "... and 5 clusters in all" 5 "$(echo "$hj" | grep -o '"cluster":' | wc -l)"
check "hashes --json: cluster 9 last written in epoch 3" \
	sh -c "$V hashes $N 9 1 --json | tr -d ' \n' | grep -q '\"cluster\":9,.*\"epoch\":3,\"time\":\"20'"
check_eq "written counts of epochs 1..4: 2 2 1 5" "2 2 1 5" \
	"$(ep_field 1 written) $(ep_field 2 written) $(ep_field 3 written) $(ep_field 4 written)"
check_eq "labels: activation e2 e3 e4" "activation e2 e3 e4" \
	"$(ep_field 1 label) $(ep_field 2 label) $(ep_field 3 label) $(ep_field 4 label)"
check_eq "epoch 3 closed, epoch 4 open" "true false" "$(ep_field 3 closed) $(ep_field 4 closed)"

# refusals
out=$($V changed $N --since 2 --until 1 2>&1); rc=$?
check_eq "--until before --since: exit 2" 2 "$rc"
out=$($V changed $N --since 1 --until 9 2>&1); rc=$?
check_eq "--until newer than the current epoch: exit 6" 6 "$rc"
diag "$out"
check_fail "a label with a space is refused" dmsetup message $N 0 epoch_new a b
check_fail "a label of 64 characters is refused" \
	dmsetup message $N 0 epoch_new "$(printf '%064d' 0)"
check_eq "refusals opened no epoch" 4 "$(st epoch)"
out=$($V changed $N 2>&1); rc=$?
check_eq "changed without --since: exit 2" 2 "$rc"

# reopen: the table and the sets were committed
check "clean remove" close_dev
check "reopen" open_dev "$table"
check_eq "status: epoch=5 (activation)" 5 "$(st epoch)"
check_eq "epoch 4 closed at the remove, 5 labelled activation" "true activation" \
	"$(ep_field 4 closed) $(ep_field 5 label)"
check_eq "after reopen: changed --since 1 --until 2 unchanged" "2 1|5 1|" "$(changed --since 1 --until 2)"
check_eq "after reopen: changed --since 0 unchanged" "1 2|5 1|9 1|100 4|" "$(changed --since 0)"

# power cut: writes in epoch 6 reach the data and the write-intent bits,
# the metadata copy is taken before any commit of their entries
check_eq "epoch 6" 6 "$($V epoch $N --label before-cut)"
echo 3600 >$P
wc1 3000
wc1 7000
wc1 9
check "copy the live metadata (power-cut image)" dio read $M 0 $((16 * 1024 * 1024)) /tmp/m45.img
check "remove" close_dev
echo 1 >$P
check "put the power-cut image back" dio write $M 0 /tmp/m45.img
check "reopen after the cut" open_dev "$table"
check "recovery finishes" wait_field_of $N recovering - 120
check_eq "epoch 6 was closed by the crash" "true true" "$(ep_field 6 closed) $(ep_field 6 unclean)"
check_eq "changed --since 5 --until 6: the three clusters written before the cut" \
	"9 1|3000 1|7000 1|" "$(changed --since 5 --until 6)"
check_eq "... and nothing in epoch 7 (written before the cut, not after)" "" "$(changed --since 6)"
check_eq "their digests are the data's" "$(cdig 3000) $(cdig 9)" \
	"$($V hashes $N 3000 1 | cut -d' ' -f2) $($V hashes $N 9 1 | cut -d' ' -f2)"

# retention: 3 epochs
check "remove" close_dev
check "vdirtctl format --epochs 3" $V format --force --epochs 3 $D $M
check "open" open_dev "$table"
wc1 11
for e in 2 3 4; do dmsetup message $N 0 epoch_new >/dev/null; done
wc1 12
check_eq "epochs: 2 3 4 retained (oldest 2)" "2 4" \
	"$($V epochs $N --json | grep -o '"oldest":[0-9]*,"current":[0-9]*' | tr -dc '0-9,' | tr ',' ' ')"
out=$($V changed $N --since 0 2>&1); rc=$?
check_eq "changed --since 0 (epoch 1 dropped): exit 6" 6 "$rc"
diag "$out"
check_eq "changed --since 1: cluster 12" "12 1|" "$(changed --since 1)"
ktap_done
