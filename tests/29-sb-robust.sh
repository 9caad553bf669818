#!/bin/sh
# vm: --disk 16M --disk 4M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# Superblock and format robustness.  A read error on superblock copy A (the
# metadata device stacked as a dm table whose first 8 sectors are the error
# target) opens with copy B; both copies unreadable is refused.  An unknown
# feature_ro_compat bit refuses a read-write table and lets a read-only one
# open without writing anything; an unknown feature_compat bit is kept on
# write.  Random bytes in the entry region of an otherwise zero metadata
# device are zeroed (and verified) at the first open: no cluster has a
# digest and reads give no false mismatch; the same for vdirtctl format.
. "${0%/*}/lib.sh"

use_devs t29
MS=m29			# the stacked metadata device
MT=/dev/mapper/$MS
S=$(sectors $M)

klog() { knew | grep -Eq "$1"; }
# tbl [META]: the table, on metadata device META (default $M)
tbl() { (M=${1:-$M}; table); }
msum() { dio read $M 0 $((S * 512)) | sha256sum | cut -c1-64; }
# putu32 FILE OFFSET VALUE: a little-endian 32-bit number
putu32() { putbytes "$1" "$2" $(($3 & 255)) $((($3 >> 8) & 255)) $((($3 >> 16) & 255)) $((($3 >> 24) & 255)); }
u32() { echo $(($(u64 "$1" "$2") & 0xffffffff)); }
# sb_set OFFSET VALUE: set a 32-bit field in both superblock copies
sb_set() {
	dio read $M 0 8192 /tmp/sb29
	putu32 /tmp/sb29 "$1" "$2"
	putu32 /tmp/sb29 $((4096 + $1)) "$2"
	sb_fix_csum /tmp/sb29 0
	sb_fix_csum /tmp/sb29 1
	dio write $M 0 /tmp/sb29
}
data_ok() {
	rd 0 $(($(sectors $D) / 8)) /tmp/r29 || return 1
	cmp /tmp/d29 /tmp/r29
}
zero_file() { [ "$(tr -d '\000' <"$1" | wc -c)" = 0 ]; }

ktap_start

# --- a device in use, closed cleanly -------------------------------------------
open_or_end "create on a zeroed metadata device"
head -c $(($(sectors $D) * 512)) /dev/urandom >/tmp/d29
wr /tmp/d29 0
check_eq "every cluster measured" 4096 "$(st measured)"
check "clean remove" dmsetup remove $N

# --- read error on copy A --------------------------------------------------------
aux_dev $MS "0 8 error
8 $((S - 8)) linear $M 8"
kmark
check "copy A unreadable: the table loads (constructor)" \
	load_dev "$(tbl $MT)"
check "kernel log: 'cannot read superblock copy A (error -5)'" \
	klog "vdirt: [^ ]+: cannot read superblock copy A \\(error -5\\)"
check "kernel log: 'superblock copy A invalid (read error), using copy B'" \
	klog "superblock copy A invalid \\(read error\\), using copy B"
# the sector is repaired (remapped) before the first superblock write
dmsetup suspend $MS && dmsetup load $MS --table "0 $S linear $M 0" && dmsetup resume $MS
check "resume after copy A came back" resume_dev
check_eq "state=ok, no mismatch" "ok 0" "$(st state) $(st read_mismatches)"
check "data and measurements intact (reads verified, no mismatch)" data_ok
check_eq "... read_mismatches=0 after the reads" 0 "$(st read_mismatches)"
dmsetup remove $N
dmsetup remove $MS

# --- both copies unreadable --------------------------------------------------------
aux_dev $MS "0 16 error
16 $((S - 16)) linear $M 16"
before=$(msum)
kmark
check_fail "both copies unreadable: the open is refused" open_dev "$(tbl $MT)"
check "kernel log: 'metadata superblock invalid: cannot read either superblock copy'" \
	klog "vdirt: metadata superblock invalid: cannot read either superblock copy"
check_eq "nothing was written" "$before" "$(msum)"
dmsetup remove $N 2>/dev/null
dmsetup remove $MS

# --- unknown feature_ro_compat bit --------------------------------------------------
sb_set 144 63	# the known bits 0x1f (epochs, write sets, chain, history, tree) and 0x20
before=$(msum)
kmark
check_fail "unknown ro_compat bit: a read-write table is refused" open_dev
check "kernel log: 'unknown read-only compatible features 0x20: only a read-only table may use it'" \
	klog "vdirt: metadata has unknown read-only compatible features 0x20: only a read-only table may use it"
dmsetup remove $N 2>/dev/null
check "unknown ro_compat bit: a read-only table opens" \
	open_dev --readonly
check_eq "... not measuring (state=degraded)" degraded "$(st state)"
check "... the data reads" data_ok
dmsetup remove $N
check_eq "... nothing was written to the metadata" "$before" "$(msum)"

# --- unknown feature_compat bit: kept -----------------------------------------------
sb_set 144 31	# the known bits only
# bits 0 (intent) and 1 (staging area: the layout has it) kept, 8 unknown
sb_set 136 $((0x103))
open_or_end "unknown compat bit: the device opens read-write"
check_eq "... state=ok" ok "$(st state)"
dmsetup remove $N
dio read $M 0 8192 /tmp/sb29
check_eq "... both copies written since, both keep compat bit 8" "256 256" \
	"$(($(u32 /tmp/sb29 136) & 256)) $(($(u32 /tmp/sb29 $((4096 + 136))) & 256))"

# --- random bytes in the entry region of a zero metadata device -------------------
E=81		# entry blocks: 4096 clusters, 51 packed entries per block
dd if=/dev/zero of=$M bs=1M count=4 oflag=direct 2>/dev/null
head -c $((E * 4096)) /dev/urandom >/tmp/e29
dio write $M 8192 /tmp/e29
kmark
open_or_end "stale entry region: the device opens (formats)"
check "kernel log: '$E entry blocks were not zero: written with zeroes and verified'" \
	klog "$E entry blocks were not zero: written with zeroes and verified"
dio read $M 8192 $((E * 4096)) /tmp/e29
check "the entry region reads as zero on disk" zero_file /tmp/e29
check_eq "no cluster has a current or baseline digest" "0 0" "$(st measured) $(st baselined)"
check "reads: the data comes back" data_ok
check_eq "... no false mismatch, every cluster measured on first read" "0 0 4096" \
	"$(st read_mismatches) $(report | wc -l) $(st tofu)"
dmsetup remove $N

# --- the same for vdirtctl format ---------------------------------------------------
if command -v vdirtctl >/dev/null 2>&1; then
	dd if=/dev/zero of=$M bs=1M count=4 oflag=direct 2>/dev/null
	head -c $((E * 4096)) /dev/urandom >/tmp/e29
	dio write $M 8192 /tmp/e29
	check_fail "vdirtctl format without --force refuses stale bytes in the entry region" \
		vdirtctl format -q $D $M
	vdirtctl format -q --force $D $M
	dio read $M 8192 $((E * 4096)) /tmp/e29
	check "vdirtctl format: the entry region reads as zero on disk" zero_file /tmp/e29
else
	skip "vdirtctl format without --force refuses stale bytes in the entry region" "no vdirtctl"
	skip "vdirtctl format: the entry region reads as zero on disk" "no vdirtctl"
fi
check_eq "no kernel splat" "" "$(dmesg | grep -E 'BUG:|WARNING:|Oops|general protection' | head -n 2)"
ktap_done
