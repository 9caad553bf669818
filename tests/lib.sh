# SPDX-License-Identifier: GPL-2.0
# Shared helpers for dm-vdirt in-guest tests (sourced, busybox sh / POSIX):
# TAP output and checks, the device under test (use_devs, open_dev, ...),
# waiting for the scan and baseline changes, editing metadata images.
#
# A test file:
#   #!/bin/sh
#   # vm: --disk 256M --disk 32M          (vm-run options for this test)
#   . "${0%/*}/lib.sh"
#   use_devs t99                          (data /dev/vda, metadata /dev/vdb)
#   ktap_start
#   check "creates the device" open_dev
#   ...
#   ktap_done
#
# Output is KTAP/TAP: "TAP version 13", "ok N - desc" / "not ok N - desc",
# and the plan "1..N" last, printed by ktap_done with the number of test
# points that ran: adding a check needs no count edit.  A test that ends
# before ktap_done (an exit, a crash, a timeout) prints no plan: tests/run
# counts a missing or short plan as a failure.
# The device under test ($N) and the devices made by open_dev, open_as,
# part_dev and aux_dev are removed at exit, after the test's own cleanup()
# (if it defines one).
# Exit status: 0 all passed, 1 a failure, 4 the whole test skipped.

KTAP_N=0
KTAP_FAILED=0
KTAP_STARTED=
KTAP_DONE=

# ktap_start: the TAP header; the plan comes at the end (ktap_done).
ktap_start() {
	KTAP_STARTED=1
	echo "TAP version 13"
}

# diag MSG... : diagnostic lines (every line of MSG gets "# "), ignored by the counter.
diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

ok() {
	KTAP_N=$((KTAP_N + 1))
	echo "ok $KTAP_N - $*"
}

not_ok() {
	KTAP_N=$((KTAP_N + 1))
	KTAP_FAILED=$((KTAP_FAILED + 1))
	echo "not ok $KTAP_N - $1"
	shift
	[ $# -gt 0 ] && diag "$*"
	return 0
}

# skip DESC REASON: a test point not run because a feature is missing.
skip() {
	KTAP_N=$((KTAP_N + 1))
	echo "ok $KTAP_N - $1 # SKIP $2"
}

# skip_all REASON: the whole file cannot run here (exit 4).
skip_all() {
	[ -n "$KTAP_STARTED" ] || echo "TAP version 13"
	KTAP_DONE=1
	if [ "$KTAP_N" -eq 0 ]; then
		echo "1..0 # SKIP $*"
	else
		diag "SKIP the rest: $*"
		echo "1..$KTAP_N"
	fi
	exit 4
}

# check DESC CMD...: ok if CMD exits 0; its output is shown as diagnostics on failure.
check() {
	_desc=$1
	shift
	if _out=$("$@" 2>&1); then
		ok "$_desc"
	else
		not_ok "$_desc" "'$*' exited $?"
		printf '%s\n' "$_out" | sed 's/^/#   /' | head -n 20
	fi
}

# check_fail DESC CMD...: ok if CMD fails.
check_fail() {
	_desc=$1
	shift
	if _out=$("$@" 2>&1); then
		not_ok "$_desc" "'$*' succeeded but should have failed"
		printf '%s\n' "$_out" | sed 's/^/#   /' | head -n 20
	else
		ok "$_desc"
	fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "expected '$2', got '$3'"
	fi
}

# status_field DEV KEY: prints the value of KEY=VALUE in `dmsetup status DEV`.
status_field() {
	dmsetup status "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# sectors DEV: size of a block device in 512-byte sectors.
sectors() {
	blockdev --getsz "$1"
}

# zeros FILE BYTES: FILE is BYTES zero bytes
zeros() { head -c "$2" /dev/zero | cmp -s - "$1"; }

# drop_caches: make the next read come from the device.
# tree_blocks C: the attestation tree's metadata blocks for C clusters
# (Documentation/dm-vdirt.rst): the changed-chunk bitmap, one bit per chunk
# of 128 clusters, then 128 nodes a block of every level from 7 to
# H = max(7, ceil(log2(C)))
tree_blocks() {
	_tc=$(( ($1 + 127) / 128 ))
	_tb=$(( (_tc + 32767) / 32768 ))
	_tn=$_tc
	while :; do
		_tb=$((_tb + (_tn + 127) / 128))
		[ $_tn -le 1 ] && break
		_tn=$(( (_tn + 1) / 2 ))
	done
	echo $_tb
}

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# At exit, whatever happens: the test's cleanup() if it defines one, then
# the devices the helpers below made.  A test that started its TAP output
# and exits without ktap_done fails (it printed no plan).
_ktap_exit() {
	_rc=$?
	if command -v cleanup >/dev/null 2>&1; then
		cleanup >/dev/null 2>&1 || true
	fi
	remove_devs
	rm -f "$LIB_DEVS"
	if [ -n "$KTAP_STARTED" ] && [ -z "$KTAP_DONE" ]; then
		diag "ended after $KTAP_N test points without ktap_done (exit $_rc): no plan"
		[ "$_rc" -ne 0 ] || _rc=1
	fi
	exit $_rc
}
trap _ktap_exit EXIT
trap 'exit 130' INT TERM

# ktap_done: print the plan (the number of test points that ran) and exit
# 0 if all passed, else 1.
ktap_done() {
	KTAP_DONE=1
	echo "1..$KTAP_N"
	[ "$KTAP_FAILED" -eq 0 ] || exit 1
	exit 0
}

# devno DEV: "major:minor" of a block device, as dmsetup table prints it.
devno() {
	printf '%d:%d\n' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")"
}

# wait_field_of DEV KEY VALUE [SECONDS]: wait until KEY=VALUE in DEV's
# status; fails after SECONDS (default 90)
wait_field_of() {
	_wf_left=$(( ${4:-90} * 10 ))
	while [ "$(status_field "$1" "$2")" != "$3" ]; do
		[ "$_wf_left" -le 0 ] && return 1
		_wf_left=$((_wf_left - 1))
		usleep 100000
	done
}
# wait_scan_of DEV [SECONDS]: wait until DEV's background scan is idle
# (status "scan=-"); fails after SECONDS (default 90).
wait_scan_of() { wait_field_of "$1" scan - "${2:-90}"; }
# wait_bchange_of DEV [SECONDS]: wait until DEV's baseline change (capture,
# clear, load, clear_mismatches: they run in the kernel after the message
# returned) is over (status "baseline_change=-"); fails after SECONDS
# (default 90).
wait_bchange_of() { wait_field_of "$1" baseline_change - "${2:-90}"; }

# kmark: remember where the kernel log ends; knew: what was logged since
# (without the [timestamp] prefix)
kmark() { KMARK=$(dmesg | wc -l); }
knew() { dmesg | tail -n +$((KMARK + 1)) | sed 's/^\[[^]]*\] *//'; }

# ---- editing metadata images (superblock tests) ----
# u64 FILE OFFSET: a little-endian 64-bit number
u64() {
	_v=0
	for _b in $(od -An -tu1 -j "$2" -N 8 "$1"); do
		set -- "$_b" "$@"
	done
	for _i in 1 2 3 4 5 6 7 8; do
		_v=$((_v * 256 + $1))
		shift
	done
	echo $_v
}
# byte FILE OFFSET: the decimal value of one byte
byte() { od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' '; }
# putbytes FILE OFFSET B0 B1...: write decimal byte values at OFFSET
putbytes() {
	_f=$1
	_o=$2
	shift 2
	_s=
	for _b in "$@"; do
		_s="$_s$(printf '\\%03o' "$_b")"
	done
	printf "$_s" | dd of="$_f" bs=1 seek="$_o" conv=notrunc 2>/dev/null
}
# sb_fix_csum FILE BLOCK: recompute the superblock checksum of the copy at
# 4 KiB block BLOCK of FILE (crc32c seed ~0, not inverted, over 512 bytes
# with the csum field, bytes 12..15, zeroed).
sb_fix_csum() {
	_base=$(($2 * 4096))
	putbytes "$1" $((_base + 12)) 0 0 0 0
	_h=$(dd if="$1" bs=512 skip=$(($2 * 8)) count=1 2>/dev/null | vdigest crc32c)
	# vdigest prints the little-endian bytes of ~crc; the field holds crc
	putbytes "$1" $((_base + 12)) $((0x${_h%??????} ^ 255)) \
		$((0x$(echo "$_h" | cut -c3-4) ^ 255)) $((0x$(echo "$_h" | cut -c5-6) ^ 255)) \
		$((0x${_h#??????} ^ 255))
}

# ---- the device under test (tests call use_devs first; names used at call time) ----
# use_devs NAME [DATA [META]]: set D=DATA (/dev/vda) M=META (/dev/vdb) N=NAME
# T=/dev/mapper/NAME CS=4096 HASH=sha256 LEN= (the table's length in sectors,
# empty: all of $D).  A test may change D, M, CS, HASH, LEN afterwards.
use_devs() {
	D=${2:-/dev/vda}
	M=${3:-/dev/vdb}
	N=$1
	T=/dev/mapper/$1
	CS=4096
	HASH=sha256
	LEN=
}
# table [OPT...]: the table line of the device under test,
# "0 LEN vdirt $D $M $CS $HASH", with "COUNT OPT..." when options are given
table() {
	_tl="0 ${LEN:-$(sectors $D)} vdirt $D $M $CS $HASH"
	[ $# -eq 0 ] || _tl="$_tl $# $*"
	echo "$_tl"
}
# open_dev [--readonly] [TABLE]: create $N with TABLE (default: table) and
# its /dev/mapper node; it is removed at exit
open_dev() {
	_ro=
	[ "${1:-}" = --readonly ] && { _ro=--readonly; shift; }
	[ $# -gt 0 ] || set -- "$(table)"
	# shellcheck disable=SC2086 # empty or one option
	open_as $_ro $N "$1"
}
# open_or_end DESC [TABLE]: test point DESC for open_dev TABLE; if it fails
# the test ends there (the points after it never run: a failure)
open_or_end() {
	_oe=$1
	shift
	if open_dev "$@"; then ok "$_oe"; else not_ok "$_oe"; ktap_done; fi
}
# open_as [--readonly] NAME TABLE: create another device NAME with TABLE and
# its /dev/mapper node (a second dm-vdirt device); removed at exit
open_as() {
	_ro=
	[ "$1" = --readonly ] && { _ro=--readonly; shift; }
	_lib_track top "$1"
	# shellcheck disable=SC2086 # empty or one option
	dmsetup create $_ro "$1" --table "$2" && dmsetup mknodes "$1"
}
# load_dev TABLE: create $N without a table and load TABLE as its inactive
# table (the constructor runs; nothing is resumed); resume_dev finishes it
load_dev() {
	_lib_track top $N
	dmsetup create $N --notable && dmsetup load $N --table "$1"
}
# resume_dev [NAME]: resume $N (or NAME) and make its /dev/mapper node
resume_dev() { dmsetup resume "${1:-$N}" && dmsetup mknodes "${1:-$N}"; }
# close_dev [NAME]: remove $N (or NAME)
close_dev() { dmsetup remove "${1:-$N}"; }
# aux_dev NAME TABLE: a helper device under the one tested (linear, error,
# flakey, delay...) at /dev/mapper/NAME; removed at exit, after the others
aux_dev() {
	_lib_track aux "$1"
	dmsetup create "$1" --table "$2" && dmsetup mknodes "$1"
}
# part_dev NAME DEV [SECTORS [START]]: aux_dev NAME, a dm-linear device over
# SECTORS (default: all) of DEV from sector START (default 0): a small data
# device, a slice of a metadata disk, a device whose table is swapped later
part_dev() {
	aux_dev "$1" "0 ${3:-$(sectors "$2")} linear $2 ${4:-0}"
}
# swap_table NAME TABLE: replace the live table of NAME (reload, resume)
swap_table() { dmsetup reload "$1" --table "$2" && dmsetup resume "$1"; }
# The devices to remove at exit, one "top NAME" or "aux NAME" line each: a
# file, so that devices made inside check's subshell are listed too
LIB_DEVS=/tmp/.lib-devs.$$
: >"$LIB_DEVS"
# _lib_track KIND NAME: list NAME (once)
_lib_track() {
	grep -qx "$1 $2" "$LIB_DEVS" 2>/dev/null || echo "$1 $2" >>"$LIB_DEVS"
}
# remove_devs: remove $N (whoever made it: vdirtctl, vdirt-lv) and every
# device made by the helpers above (the tested ones, then the helper
# devices, the last made first); run at exit
remove_devs() {
	for _d in ${N:-} $(sed -n 's/^top //p' "$LIB_DEVS") $(sed -n 's/^aux //p' "$LIB_DEVS" | sed -n '1!G;h;$p'); do
		dmsetup resume "$_d" >/dev/null 2>&1
		dmsetup remove "$_d" >/dev/null 2>&1
	done
	: >"$LIB_DEVS"
}
# st KEY: the value of KEY in the status of $N
st() { status_field $N "$1"; }
# wait_scan [SECONDS]: wait until $N's background scan is idle (default 90 s)
wait_scan() { wait_scan_of $N "${1:-90}"; }
# wait_bchange [SECONDS]: wait until $N's baseline change is over (default 90 s)
wait_bchange() { wait_bchange_of $N "${1:-90}"; }
# msg_wait MESSAGE: dmsetup message $N 0 MESSAGE, then wait_bchange
msg_wait() { dmsetup message $N 0 "$@" && wait_bchange; }
# report: the mismatch report of $N (one record per line)
report() { dmsetup message $N 0 report; }
# rd FIRST COUNT [OUT]: O_DIRECT read (dio; busybox dd may fall back to buffered) of COUNT clusters of $T
rd() { dio read $T $(($1 * CS)) $(($2 * CS)) "${3:-/dev/null}"; }
# wr FILE FIRST: O_DIRECT write (dio) of FILE at cluster FIRST of $T
wr() { dio write $T $(($2 * CS)) "$1"; }
# long_part WHAT: true when the guest runs the long parts (vdirt.long=1 on
# its command line: tests/run --long, make check-crash); else a diag line
# that WHAT is left to make check-crash.  The file names it in a
# "# long-part: WHAT" line in its first five lines.
long_part() {
	grep -q ' vdirt.long=1' /proc/cmdline && return 0
	diag "long part, run by make check-crash: $1"
	return 1
}
# need_vdirtctl: skip the whole test unless vdirtctl is in the guest and the netlink family answers
need_vdirtctl() {
	command -v vdirtctl >/dev/null 2>&1 || skip_all "vdirtctl not in the guest image"
	vdirtctl devices >/dev/null 2>&1 || skip_all "no vdirt netlink family (dm-vdirt-netlink.o not built in)"
}
# asuser CMD...: run CMD as uid/gid 1000 without capabilities (setpriv, else su to "user")
asuser() {
	if /usr/bin/setpriv --help 2>&1 | grep -q reuid; then
		/usr/bin/setpriv --reuid 1000 --regid 1000 --clear-groups -- "$@"
	else
		su -s /bin/sh user -c "$*"
	fi
}
