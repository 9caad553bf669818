#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# The written bitmap's crash rule (zero_unwritten): a cluster's bit is
# durable only after its data.  Under a data device whose writes take 4 s
# (dm-delay; flushes are not delayed): cluster Z is written and completes,
# cluster X is written and stored (measured=2) but still in flight when a
# flush commits the metadata; the metadata device is copied then (what a
# power cut leaves) and X's data is taken off the data device again (it
# never got there).  Reopened: Z reads back (its write completed before the
# flush, so its bit is durable), X reads zeros, not the earlier tenant's
# bytes that lie under it, and nothing is reported.
. "${0%/*}/lib.sh"

V=vdirtctl
DELAY=4000
need_vdirtctl
use_devs t57
aux_dev t57d "0 $(sectors $D) delay $D 0 0 $D 0 $DELAY $D 0 0"
DD=/dev/mapper/t57d
IMG=/tmp/m57.img

cleanup() { rm -f /tmp/t57 /tmp/z57 /tmp/x57 /tmp/r57 $IMG; }

ktap_start

check "an earlier tenant's bytes in clusters 0..15 of the data disk" \
	sh -c "head -c $((16 * CS)) /dev/urandom >/tmp/t57 && dio write $D 0 /tmp/t57"
check "vdirtctl format" $V format --force $D $M
open_or_end "create with zero_unwritten over writes delayed $DELAY ms" \
	"$(D=$DD table zero_unwritten)"

head -c $CS /dev/urandom >/tmp/z57
head -c $CS /dev/urandom >/tmp/x57
check "write cluster 8 (Z); it completes, no flush" dio nowrite $T $((8 * CS)) /tmp/z57
dio nowrite $T $((9 * CS)) /tmp/x57 &
xpid=$!
# X's digest (and its bit) is stored before its copy goes down
check "cluster 9 (X) written: its digest is stored (measured=2)" \
	wait_field_of $N measured 2 20
check "a flush commits the metadata" dio flush $T
if kill -0 $xpid 2>/dev/null; then ok "... while X's data is still in flight"
else not_ok "... while X's data is still in flight" "the write of X returned"; fi
check "copy the metadata device (the power cut)" \
	dio read $M 0 $(($(sectors $M) * 512)) $IMG
wait $xpid
check_eq "X's write completes (exit 0)" 0 "$?"
check "remove" close_dev
check "put the copy back" dio write $M 0 $IMG
check "take X's data off the data device (the tenant's bytes again)" \
	sh -c "dd if=/tmp/t57 bs=$CS skip=9 count=1 2>/dev/null | dio write $D $((9 * CS))"

open_or_end "reopen after the cut" "$(table zero_unwritten)"
check "crash recovery finishes" wait_field_of $N recovering - 120
drop_caches
rd 8 1 /tmp/r57
check "Z reads back: its bit was durable with the flush" cmp -s /tmp/z57 /tmp/r57
rd 9 1 /tmp/r57
check "X reads zeros: its bit was not on disk before its data" zeros /tmp/r57 $CS
rd 10 1 /tmp/r57
check "a cluster never written reads zeros" zeros /tmp/r57 $CS
check_eq "no read mismatch" 0 "$(st read_mismatches)"
check_eq "no write drift" 0 "$(st write_drift)"

# and without a cut, the completed write's bit reaches the disk too
wr /tmp/x57 9
check "remove" close_dev
open_or_end "reopen" "$(table zero_unwritten)"
rd 9 1 /tmp/r57
check "X written again and flushed reads back after a reopen" cmp -s /tmp/x57 /tmp/r57

ktap_done
