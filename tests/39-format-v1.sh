#!/bin/sh
# vm: --disk 16M --disk 4M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# Version 1 metadata (written by dm-vdirt 1.2: no optional region) keeps
# opening: the fixture holds the two superblock copies `vdirtctl format`
# 1.2.0 wrote for a 16 MiB data device (4 KiB clusters, sha256).  Writes
# are measured, tampering is detected, the metadata stays version 1 over
# a reopen; a baseline load is refused with a message naming `vdirtctl
# upgrade`.  `vdirtctl upgrade` refuses a device in use and one too small
# for the staging area, converts the metadata to version 2 in place
# (digests and counters kept: the tampered cluster still mismatches) and
# then the load works.
. "${0%/*}/lib.sh"

use_devs t39
V=vdirtctl
FIX=${0%/*}/fixtures/meta-v1-16M-4k-sha256.sb.gz
need_vdirtctl

# u32 FILE OFFSET: a little-endian 32-bit number
u32() { od -An -tu4 -j "$2" -N 4 "$1" | tr -d ' '; }
# version: the format version of the newest superblock copy of $M
version() {
	dio read $M 0 8192 /tmp/sb39 || return 1
	_b=0
	[ "$(od -An -tu8 -j 4112 -N 8 /tmp/sb39 | tr -d ' ')" -gt \
	  "$(od -An -tu8 -j 16 -N 8 /tmp/sb39 | tr -d ' ')" ] && _b=4096
	u32 /tmp/sb39 $((_b + 8))
}

ktap_start

# a zeroed metadata device holding the version 1 superblocks
head -c $(($(sectors $M) * 512)) /dev/zero | dio write $M 0
check "the version 1 fixture is written" sh -c "zcat $FIX | dio write $M 0"
check_eq "format version 1 on disk" 1 "$(version)"
check "a version 1 metadata device opens" open_dev
head -c $((8 * CS)) /dev/urandom >/tmp/a39
wr /tmp/a39 0
check_eq "writes are measured" 8 "$(st measured)"
head -c 512 /dev/urandom | dio write $D $((3 * CS))
rd 0 8
check_eq "a change underneath is detected" 1 "$(st read_mismatches)"
check "remove" close_dev
check_eq "the metadata stays version 1" 1 "$(version)"
check "reopen" open_dev
check_eq "digests and counters kept over the reopen" "8 1" "$(st measured) $(st read_mismatches)"

rd 0 $(($(sectors $D) / 8)) /tmp/img39
check "baseline build" $V baseline build -q /tmp/img39 -o /tmp/bl39
out=$($V baseline load $N /tmp/bl39 2>&1); rc=$?
check_eq "baseline load on version 1 metadata: exit 9 (not supported)" 9 "$rc"
check "the message names vdirtctl upgrade" sh -c "echo '$out' | grep -q 'vdirtctl upgrade'"
diag "$out"
check_eq "nothing changed: baseline=none" none "$(st baseline)"

out=$($V upgrade $M 2>&1); rc=$?
check_eq "upgrade of a metadata device in use: exit 5 (busy)" 5 "$rc"
diag "$out"
m0="$(st measured) $(st read_mismatches)"
check "remove" close_dev
# 403 blocks of version 1, 435 with the staging area, 456 with the epoch
# table (1 block), 16 write sets of 1 block and the digest history (4), 463
# with the attestation tree (a bitmap block, levels 7..12: 6 blocks), 464
# with the written bitmap (1 block)
part_dev small39 $M $((403 * 8))
out=$($V upgrade /dev/mapper/small39 2>&1); rc=$?
check_eq "upgrade of a device too small for the staging area: exit 8" 8 "$rc"
check "the message gives the size needed (1900544 bytes)" \
	sh -c "echo '$out' | grep -q 1900544"
diag "$out"
close_dev small39
check_eq "still version 1" 1 "$(version)"
check "vdirtctl upgrade" $V upgrade $M
check_eq "format version 2 on disk" 2 "$(version)"
out=$($V upgrade $M 2>&1); rc=$?
check_eq "upgrade again: exit 0, already version 2" "0 1" \
	"$rc $(echo "$out" | grep -c 'already')"
check "open the upgraded metadata" open_dev
check_eq "digests and counters kept by the upgrade ($m0)" "$m0" "$(st measured) $(st read_mismatches)"
msg_wait clear_mismatches
rd 3 1
check_eq "the tampered cluster still mismatches" 1 "$(st read_mismatches)"
check "baseline load now works" $V baseline load $N /tmp/bl39
check_eq "baseline=set for every cluster" "set 4096" "$(st baseline) $(st baselined)"

ktap_done
