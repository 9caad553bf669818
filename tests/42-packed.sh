#!/bin/sh
# vm: --disk 16M --disk 4M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# Packed cluster entries (feature_incompat bit 0, INCOMPAT_PACKED).  A zeroed
# metadata device formatted by the kernel and one formatted by `vdirtctl
# format` are packed: 80-byte sha256 entries, 51 a block, the entry of
# cluster c at byte (c % 51) * 80 of block 2 + c / 51, read back from the
# metadata device byte by byte (digest of the data on disk, the zero tail of
# a block); tampering at a block boundary is found at the right cluster and
# the digests survive a reopen.  Metadata with power-of-two entries (version
# 2 as dm-vdirt 1.3 formats it: `vdirtctl format --unpacked`) keeps opening
# with its layout, stays unpacked over a reopen and takes a baseline load.
# The PACKED bit that does not match the layout, and an unknown incompat
# bit (as a module without packed entries sees PACKED), refuse the metadata.
. "${0%/*}/lib.sh"

use_devs t42
V=vdirtctl
need_vdirtctl

klog() { knew | grep -Eq "$1"; }
u32() { echo $(($(u64 "$1" "$2") & 0xffffffff)); }
# sbf OFFSET [32|64]: a field of superblock copy A of $M
sbf() {
	dio read $M 0 4096 /tmp/sb42 || return 1
	if [ "${2:-32}" = 64 ]; then u64 /tmp/sb42 "$1"; else u32 /tmp/sb42 "$1"; fi
}
# geom: version incompat entry_size entries_blocks intent_start of copy A
geom() { echo "$(sbf 8) $(sbf 140) $(sbf 132) $(sbf 160 64) $(sbf 168 64)"; }
# eblk C EPB: entry block 2 + C / EPB of $M into /tmp/blk42 (O_DIRECT reads
# whole blocks)
eblk() { dio read $M $(((2 + $1 / $2) * 4096)) 4096 /tmp/blk42; }
# ent C E EPB: the current digest (hex) of the entry of cluster C on $M with
# E-byte entries, EPB a block: byte (C % EPB) * E + 16 of its block
ent() {
	eblk "$1" "$3" && od -An -tx1 -v -j $((($1 % $3) * $2 + 16)) -N 32 /tmp/blk42 | tr -d ' \n'
}
# eflags C E EPB: the flags byte of that entry
eflags() {
	eblk "$1" "$3" && od -An -tu1 -j $((($1 % $3) * $2)) -N 1 /tmp/blk42 | tr -d ' '
}
# cdig C: sha256 of cluster C of the data written
cdig() { dd if=/tmp/a42 bs=$CS skip="$1" count=1 2>/dev/null | vdigest sha256; }
# digs_ok E EPB C...: every cluster's entry holds the digest of its data
digs_ok() {
	_e=$1 _p=$2
	shift 2
	for _c in "$@"; do
		[ "$(ent "$_c" "$_e" "$_p")" = "$(cdig "$_c")" ] || return 1
		[ $(($(eflags "$_c" "$_e" "$_p") & 1)) = 1 ] || return 1
	done
}
# sb_set OFFSET VALUE: set a 32-bit field in both superblock copies
sb_set() {
	dio read $M 0 8192 /tmp/sb42s
	for _o in "$1" $((4096 + $1)); do
		putbytes /tmp/sb42s "$_o" $(($2 & 255)) $((($2 >> 8) & 255)) \
			$((($2 >> 16) & 255)) $((($2 >> 24) & 255))
	done
	sb_fix_csum /tmp/sb42s 0
	sb_fix_csum /tmp/sb42s 1
	dio write $M 0 /tmp/sb42s
}
zero_meta() { head -c $(($(sectors $M) * 512)) /dev/zero | dio write $M 0; }

ktap_start

# --- A: the kernel formats a zeroed metadata device: packed ----------------------
head -c $((128 * CS)) /dev/urandom >/tmp/a42
zero_meta
open_or_end "create on a zeroed metadata device (the kernel formats it)"
# version 2, PACKED (and UNWRITTEN, the written bitmap: incompat 3), 80-byte
# entries, ceil(4096 / 51) = 81 entry blocks, the write-intent bitmap right
# after them at block 83
check_eq "superblock: version 2, incompat PACKED|UNWRITTEN, 80-byte entries, 81 entry blocks, bitmap at 83" \
	"2 3 80 81 83" "$(geom)"
wr /tmp/a42 0
check_eq "128 clusters measured" 128 "$(st measured)"
check "clean remove" close_dev
check "entries on disk: clusters 0, 1, 50 (end of block 2), 51, 52 (block 3), 101, 102, 127" \
	digs_ok 80 51 0 1 50 51 52 101 102 127
dio read $M $((3 * 4096)) 4096 /tmp/b42
check_eq "... the entry of cluster 51 is at byte 0 of block 3 (flags: current)" 1 \
	"$(($(od -An -tu1 -N 1 /tmp/b42 | tr -d ' ') & 1))"
dio read $M $((2 * 4096)) 4096 /tmp/b42
dd if=/tmp/b42 of=/tmp/t42 bs=1 skip=$((51 * 80)) 2>/dev/null
check_eq "... the last 16 bytes of entry block 2 are zero" "16 0" \
	"$(wc -c </tmp/t42 | tr -d ' ') $(tr -d '\000' </tmp/t42 | wc -c | tr -d ' ')"
check_eq "... no entry beyond cluster 127 (cluster 128: flags 0)" 0 "$(eflags 128 80 51)"
check "reopen" open_dev
check_eq "digests kept over the reopen" 128 "$(st measured)"
rd 0 128
check_eq "... reads verify, no mismatch" 0 "$(st read_mismatches)"
head -c 512 /dev/urandom | dio write $D $((51 * CS + 1024))
rd 48 8
check_eq "a change underneath cluster 51 (first of block 3): one mismatch" 1 "$(st read_mismatches)"
check_eq "... recorded for cluster 51" 51 \
	"$(report | tr ' ' '\n' | sed -n 's/^cluster=//p' | head -n 1)"
close_dev

# --- B: vdirtctl format: packed too -----------------------------------------------
zero_meta
check "vdirtctl format" $V format -q $D $M
check_eq "superblock: version 2, incompat PACKED|UNWRITTEN, 80-byte entries" "2 3 80 81 83" "$(geom)"
check "vdirtctl check: 'entries: packed, 80 bytes, 51 a block'" \
	sh -c "$V check $M | grep -qx 'entries: packed, 80 bytes, 51 a block'"
head -c $((128 * CS)) /dev/urandom >/tmp/a42
open_or_end "open the metadata vdirtctl formatted"
wr /tmp/a42 0
close_dev
check "entries on disk: clusters 0, 50, 51, 127" digs_ok 80 51 0 50 51 127

# --- C: power-of-two entries (version 2 as dm-vdirt 1.3 formats) keep opening ------
zero_meta
check "vdirtctl format --unpacked" $V format -q --unpacked $D $M
# 4096 / 32 = 128 entry blocks, bitmap at 130
check_eq "superblock: version 2, incompat UNWRITTEN only, 128-byte entries, 128 entry blocks, bitmap at 130" \
	"2 2 128 128 130" "$(geom)"
check "vdirtctl check: 'entries: power of two, 128 bytes, 32 a block'" \
	sh -c "$V check $M | grep -qx 'entries: power of two, 128 bytes, 32 a block'"
head -c $((128 * CS)) /dev/urandom >/tmp/a42
open_or_end "power-of-two metadata opens"
wr /tmp/a42 0
check_eq "128 clusters measured" 128 "$(st measured)"
check "clean remove" close_dev
check "entries on disk at c * 128 of block 2 + c / 32: clusters 0, 31, 32, 51, 127" \
	digs_ok 128 32 0 31 32 51 127
check_eq "the layout stays power of two after the kernel rewrote the superblock" \
	"2 2 128 128 130" "$(geom)"
check "reopen" open_dev
check_eq "digests kept over the reopen" 128 "$(st measured)"
head -c 512 /dev/urandom | dio write $D $((32 * CS))
rd 0 128
check_eq "a change underneath cluster 32 (first of block 3): one mismatch" 1 "$(st read_mismatches)"
check_eq "... recorded for cluster 32" 32 \
	"$(report | tr ' ' '\n' | sed -n 's/^cluster=//p' | head -n 1)"
rd 0 $(($(sectors $D) / 8)) /tmp/img42
check "baseline build" $V baseline build -q /tmp/img42 -o /tmp/bl42
if $V devices >/dev/null 2>&1; then
	check "baseline load on power-of-two metadata" $V baseline load $N /tmp/bl42
	check_eq "baseline=set for every cluster" "set 4096" "$(st baseline) $(st baselined)"
else
	skip "baseline load on power-of-two metadata" "no vdirt netlink family"
fi
close_dev
check_eq "still power of two after the baseline load" "2 2 128 128 130" "$(geom)"

# --- D: the PACKED bit must match the layout; unknown incompat bits refuse ---------
zero_meta
$V format -q $D $M
sb_set 140 2
kmark
check_fail "packed entries without the PACKED bit: refused" open_dev
check "kernel log: 'metadata superblock invalid: inconsistent layout'" \
	klog "vdirt: metadata superblock invalid: inconsistent layout"
close_dev 2>/dev/null
zero_meta
$V format -q --unpacked $D $M
sb_set 140 3
kmark
check_fail "power-of-two entries with the PACKED bit: refused" open_dev
check "kernel log: 'metadata superblock invalid: inconsistent layout'" \
	klog "vdirt: metadata superblock invalid: inconsistent layout"
close_dev 2>/dev/null
zero_meta
$V format -q $D $M
# bit 2 is to this module what PACKED is to dm-vdirt 1.3: unknown
sb_set 140 7
before=$(dio read $M 0 $(($(sectors $M) * 512)) | sha256sum)
kmark
check_fail "an unknown incompat bit (0x4): refused" open_dev
check "kernel log: 'metadata superblock invalid: unknown incompatible features'" \
	klog "vdirt: metadata superblock invalid: unknown incompatible features"
check_eq "... nothing was written" "$before" "$(dio read $M 0 $(($(sectors $M) * 512)) | sha256sum)"
close_dev 2>/dev/null
check_eq "no kernel splat" "" "$(dmesg | grep -E 'BUG:|WARNING:|Oops|general protection' | head -n 2)"

ktap_done
