#!/bin/sh
# vm: --disk 16M --disk 4M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# Torn superblock: after a clean close, the NEWER superblock copy (the one
# with the larger seq; block 0 = A, block 1 = B) is damaged the way a torn or
# lost write leaves it: a flipped byte, its last 256 bytes zeroed, the whole
# block zero, or (a cut in the middle of the closing commit) the previous
# generation still in its slot.  The device opens with the other copy, the
# kernel log names the invalid copy and the one used, the data and the
# measurements are intact (no new mismatch), and the next commit rewrites the
# damaged slot.  Both copies damaged: the open is refused ("metadata
# superblock invalid: ...") and nothing is written.  vdirtctl check, where it
# exists, names the invalid copy and exits 20.
. "${0%/*}/lib.sh"

use_devs t25	# data /dev/vda, 16 MiB; metadata /dev/vdb, 4 MiB
V=vdirtctl

# putu64 FILE OFFSET VALUE: write a little-endian 64-bit number
putu64() {
	_v=$3
	_s=
	for _i in 1 2 3 4 5 6 7 8; do
		_s="$_s $((_v & 255))"
		_v=$((_v >> 8))
	done
	putbytes "$1" "$2" $_s
}
letter() { [ "$1" = 0 ] && echo A || echo B; }
# sb_read: the two superblock blocks into /tmp/sb; NEW = block of the copy
# with the larger seq, OLD = the other, SEQ_NEW / SEQ_OLD their seqs
sb_read() {
	dio read $M 0 8192 /tmp/sb
	_a=$(u64 /tmp/sb 16)
	_b=$(u64 /tmp/sb 4112)
	if [ "$_b" -gt "$_a" ]; then
		NEW=1 OLD=0 SEQ_NEW=$_b SEQ_OLD=$_a
	else
		NEW=0 OLD=1 SEQ_NEW=$_a SEQ_OLD=$_b
	fi
}
msum() { dio read $M 0 $(($(sectors $M) * 512)) | sha256sum | cut -c1-64; }
# mcount: recorded read mismatches (records of that kind in the report)
mcount() { report | grep -c 'kind=read_mismatch'; }
# data_ok: every cluster reads its data, and no new mismatch was recorded
data_ok() {
	rd 0 64 /tmp/r25 || return 1
	cmp /tmp/e25 /tmp/r25 || return 1
	[ "$(st read_mismatches)" = 1 ] || { echo "read_mismatches=$(st read_mismatches)"; return 1; }
	[ "$(mcount)" = 1 ] || { report; return 1; }
}
have_check=
$V --help 2>&1 | grep -q '^ *check ' && have_check=1
# tool_check DESC RC PATTERN...: vdirtctl check exits RC and its output
# matches every (basic regex) PATTERN
tool_check() {
	_d=$1
	_want=$2
	shift 2
	if [ -z "$have_check" ]; then
		skip "vdirtctl check: $_d" "no 'vdirtctl check' command"
		return
	fi
	_out=$($V check $M 2>&1)
	_rc=$?
	for _p in "$@"; do
		printf '%s\n' "$_out" | grep -q "$_p" || _rc="$_rc, no '$_p'"
	done
	if [ "$_rc" = "$_want" ]; then
		ok "vdirtctl check: $_d"
	else
		not_ok "vdirtctl check: $_d" "exit $_rc"
		printf '%s\n' "$_out" | sed 's/^/#   /'
	fi
}
# torn_case DESC: the newer copy was just damaged on disk; open and verify
torn_case() {
	kmark
	check "$1: the device opens" open_dev
	_line=$(knew | grep -E "vdirt: [^ ]+: superblock copy $(letter $NEW) invalid \(.*\), using copy $(letter $OLD)" | head -n 1)
	check "$1: kernel log: 'superblock copy $(letter $NEW) invalid (...), using copy $(letter $OLD)'" test -n "$_line"
	diag "${_line#*vdirt: }"
	check_eq "$1: ... once per open (not again at resume)" 1 \
		"$(knew | grep -c 'superblock copy .* invalid')"
	check_eq "$1: state=ok" ok "$(st state)"
	check "$1: data and measurements intact (reads: no new mismatch)" data_ok
	check "$1: clean remove" dmsetup remove $N
	kmark
	open_dev && dmsetup remove $N
	check_eq "$1: the damaged slot was rewritten: the next open warns of nothing" "" \
		"$(knew | grep 'superblock copy')"
	sb_read
}

ktap_start

check "create on a zeroed metadata device" open_dev
head -c $((64 * CS)) /dev/urandom >/tmp/a25
dio write $T 0 /tmp/a25
head -c $CS /dev/urandom >/tmp/x25
dio write $D $((40 * CS)) /tmp/x25	# one cluster changed underneath
rd 0 64
{ head -c $((40 * CS)) /tmp/a25; cat /tmp/x25; dd if=/tmp/a25 bs=$CS skip=41 2>/dev/null; } >/tmp/e25
check_eq "64 clusters measured, one mismatch recorded (cluster 40)" "64 1 cluster=40" \
	"$(st measured) $(st read_mismatches) $(report | cut -d' ' -f1)"
check "clean remove" dmsetup remove $N
sb_read
diag "seq A=$(u64 /tmp/sb 16) B=$(u64 /tmp/sb 4112)"
check_eq "the newer copy is in block seq & 1, the other holds seq - 1" \
	"$((SEQ_NEW & 1)) $((SEQ_NEW - 1))" "$NEW $SEQ_OLD"

# --- one byte flipped in the newer copy -------------------------------------
o=$((NEW * 4096 + 300))
putbytes /tmp/sb $o $(($(byte /tmp/sb $o) ^ 255))
dio write $M 0 /tmp/sb
tool_check "names copy $(letter $NEW) invalid and the copy used, exits 20" 20 \
	"copy $(letter $NEW) invalid (.*checksum.*): using copy $(letter $OLD)"
torn_case "byte flipped in copy $(letter $NEW)"

# --- last 256 of its 512 bytes zero (torn write) -----------------------------
dd if=/dev/zero of=/tmp/sb bs=256 seek=$((NEW * 16 + 1)) count=1 conv=notrunc 2>/dev/null
dio write $M 0 /tmp/sb
torn_case "torn copy $(letter $NEW) (bytes 256..511 zero)"

# --- newer copy all zero (its write never landed) ----------------------------
dd if=/dev/zero of=/tmp/sb bs=4096 seek=$NEW count=1 conv=notrunc 2>/dev/null
dio write $M 0 /tmp/sb
torn_case "copy $(letter $NEW) all zero"

# --- cut in the middle of the closing commit ----------------------------------
# The commit of seq N writes slot N & 1, which held seq N - 2.  A cut before
# that write landed leaves N - 2 there and N - 1 in the other slot: both
# valid, the open must use N - 1 and say nothing about invalid copies.
dd if=/tmp/sb bs=4096 skip=$OLD count=1 2>/dev/null | dd of=/tmp/sb bs=4096 seek=$NEW conv=notrunc 2>/dev/null
putu64 /tmp/sb $((NEW * 4096 + 16)) $((SEQ_OLD - 1))
sb_fix_csum /tmp/sb $NEW
dio write $M 0 /tmp/sb
kmark
check "commit cut (slot $(letter $NEW) holds seq $((SEQ_OLD - 1))): the device opens" open_dev
check_eq "commit cut: no superblock warning (both copies valid)" "" "$(knew | grep 'superblock copy')"
check "commit cut: data and measurements intact" data_ok
check "commit cut: clean remove" dmsetup remove $N
used=$SEQ_OLD
sb_read
check "commit cut: both slots were rewritten after seq $used (seqs now $SEQ_OLD, $SEQ_NEW)" \
	test "$SEQ_OLD" -gt "$used" -a "$SEQ_NEW" = $((SEQ_OLD + 1))

# --- both copies damaged -------------------------------------------------------
cp /tmp/sb /tmp/sb.good
for b in 0 1; do
	o=$((b * 4096 + 300))
	putbytes /tmp/sb $o $(($(byte /tmp/sb $o) ^ 255))
done
dio write $M 0 /tmp/sb
tool_check "both copies invalid, exits 21" 21 "copy A: invalid (.*checksum.*)" "copy B: invalid (.*checksum.*)"
before=$(msum)
kmark
check_fail "both copies damaged: the open is refused" open_dev
check "both copies damaged: kernel log: 'metadata superblock invalid: bad checksum'" \
	sh -c "dmesg | tail -n +$((KMARK + 1)) | grep -q 'vdirt: metadata superblock invalid: bad checksum'"
check_eq "both copies damaged: nothing was written" "$before" "$(msum)"
dio write $M 0 /tmp/sb.good
check "restored: the device opens again" open_dev
check "restored: data and measurements intact" data_ok
check "restored: clean remove" dmsetup remove $N
tool_check "intact metadata, exits 0" 0 "^copy A: valid" "^copy B: valid"
check_eq "no kernel splat" "" "$(dmesg | grep -E 'BUG:|WARNING:|Oops|general protection' | head -n 2)"
ktap_done
