#!/bin/sh
# vm: --disk 8M --disk 4M --disk 4M --disk 4M --disk 4M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# Device errors under dm-vdirt, for the default (fail-closed) policy and for
# fail_open.  DATA device (a dm-linear "d23" whose table is swapped for
# "error" or "flakey"): reads and writes fail with I/O errors passed through
# (no hang), a scan over it finishes, nothing is recorded as a mismatch for
# clusters whose I/O failed, a data error is not a metadata failure (state
# stays ok); once healed every cluster reads its old data without a mismatch
# (a failed write never leaves a stale digest); writes silently dropped by
# flakey drop_writes are reported as read mismatches.  METADATA device under
# flakey error_writes (reads work, writes fail): fail_open goes degraded and
# lets data through, fail-closed fails I/O; both log it and count it; the
# device is removed fine; reopened on the healed metadata, fail-closed reads
# what was written without a mismatch.  (22-failpolicy covers the metadata device swapped
# for the error target.)
. "${0%/*}/lib.sh"

# data /dev/vda (8 MiB) under the dm-linear/error/flakey device d23; the
# metadata: a disk, or m23 (dm-linear, then flakey) over one
use_devs t23 /dev/mapper/d23
DISK=/dev/vda
L=$(sectors $DISK)
LEN=$L
LIN="0 $L linear $DISK 0"
kgrep() { knew | grep -q "$1"; }
# rd FIRST COUNT [OUT] / wr FILE FIRST: O_DIRECT I/O through the target, with
# a timeout so that a hang is a failure and not a stuck guest
rd() { timeout 30 dio read $T $(($1 * CS)) $(($2 * CS)) "${3:-/dev/null}"; }
wr() { timeout 30 dio write $T $(($2 * CS)) "$1"; }
# part CLUSTER: a 512-byte write inside CLUSTER (read-modify-hash path)
part() { head -c 512 /dev/urandom | timeout 30 dio write $T $(($1 * CS + 1024)); }
# part_rd CLUSTER: a 512-byte read inside CLUSTER
part_rd() { timeout 30 dio read $T $(($1 * CS + 2048)) 512 /dev/null; }
flakey() { echo "0 $(sectors "$1") flakey $1 0 0 1 1 $2"; }	# always "down"
# wait_recovery: crash recovery, if any, has finished (status recovering=-)
wait_recovery() {
	_n=600
	while [ "$(st recovering)" != "-" ] && [ $_n -gt 0 ]; do
		usleep 100000
		_n=$((_n - 1))
	done
}
# fcl FILE FIRST COUNT: clusters of a regular file
fcl() { dd if="$1" bs=$CS skip="$2" count="$3" 2>/dev/null; }
# rcmp FILE FIRST COUNT [AT]: clusters FIRST.. of FILE read back at cluster AT
# (default FIRST) through the target
rcmp() { rd "${4:-$2}" "$3" /tmp/r23 && fcl "$1" "$2" "$3" | cmp - /tmp/r23; }

ktap_start

# create_on [OPT...]: d23 (linear), then the device with options OPT
create_on() {
	aux_dev d23 "$LIN" && open_dev "$(table "$@")"
}

# create_meta DISK [OPT...]: m23 (linear over DISK), then the device
create_meta() {
	part_dev m23 "$1" || return 1
	shift
	open_dev "$(table "$@")"
}

# data_faults TAG META OPT: the data device section for one policy
data_faults() {
	tag=$1
	M=$2
	# shellcheck disable=SC2086 # $3: the options, none or one
	check "$tag: create over a dm-linear data device" create_on $3
	head -c $((64 * CS)) /dev/urandom >/tmp/a23
	check "$tag: write 64 clusters" wr /tmp/a23 0

	# --- the error target: every read and write fails ---
	check "$tag: data device swapped for the error target" swap_table d23 "0 $L error"
	head -c $((8 * CS)) /dev/urandom >/tmp/b23
	check_fail "$tag: error target: an aligned write fails (no hang)" wr /tmp/b23 0
	check_fail "$tag: error target: a partial-cluster write fails" part 10
	check_fail "$tag: error target: a read fails" rd 16 8
	check_fail "$tag: error target: a partial-cluster read fails" part_rd 17
	dmsetup message $N 0 scan
	check "$tag: error target: a scan over it finishes" wait_scan_of $N 60
	check_eq "$tag: error target: no mismatch recorded, state=ok, meta_errors=0" \
		"0 ok 0" "$(st read_mismatches) $(st state) $(st meta_errors)"

	# --- flakey error_writes: writes fail, reads work ---
	check "$tag: data device swapped for flakey error_writes" swap_table d23 "$(flakey $DISK error_writes)"
	check_fail "$tag: error_writes: an aligned write fails" wr /tmp/b23 20
	check_fail "$tag: error_writes: a partial-cluster write fails" part 28
	check "$tag: error_writes: reads pass and return the old data" rcmp /tmp/a23 0 64
	check_eq "$tag: error_writes: no mismatch recorded" 0 "$(st read_mismatches)"

	# --- healed: no stale digest anywhere ---
	check "$tag: data device healed (linear again)" swap_table d23 "$LIN"
	check "$tag: healed: all 64 clusters read their old data" rcmp /tmp/a23 0 64
	dmsetup message $N 0 scan
	wait_scan_of $N 60
	check_eq "$tag: healed: read of everything and a full scan: read_mismatches=0" \
		0 "$(st read_mismatches)"
	diag "$tag: $(dmsetup status $N)"

	# --- flakey drop_writes: writes acknowledged and lost ---
	check "$tag: data device swapped for flakey drop_writes" swap_table d23 "$(flakey $DISK drop_writes)"
	head -c $((8 * CS)) /dev/urandom >/tmp/c23
	check "$tag: drop_writes: writes of clusters 40..47 are acknowledged" wr /tmp/c23 40
	part 50
	swap_table d23 "$LIN"
	check "$tag: drop_writes: the data device still has the old data (silent loss)" rcmp /tmp/a23 40 8
	check_eq "$tag: drop_writes: read mismatch recorded for exactly clusters 40..47" \
		"40 41 42 43 44 45 46 47 " \
		"$(report | grep 'kind=read_mismatch op=read' | cut -d' ' -f1 | sed 's/cluster=//' | sort -n | tr '\n' ' ')"
	check_eq "$tag: drop_writes: read_mismatches=8" 8 "$(st read_mismatches)"
	rd 50 1
	diag "$tag: a dropped partial-cluster write (cluster 50): read_mismatches=$(st read_mismatches) (read-back hashing measures what is on disk)"
	check "$tag: the device can be removed" timeout 60 dmsetup remove $N
	dmsetup remove d23
}

# meta_faults TAG META OPTS: the metadata device under flakey error_writes
# for a few seconds, then healed
meta_faults() {
	tag=$1
	aux_dev d23 "$LIN"
	M=/dev/mapper/m23
	# shellcheck disable=SC2086 # $3: the options, none or one
	check "$tag: create on a dm-linear metadata device" create_meta $2 $3
	head -c $((16 * CS)) /dev/urandom >/tmp/a23
	check "$tag: write + flush before the fault" wr /tmp/a23 0
	sleep 3		# idle: the region's write-intent bit is cleared
	kmark
	check "$tag: metadata device swapped for flakey error_writes" swap_table m23 "$(flakey $2 error_writes)"
	head -c $((8 * CS)) /dev/urandom >/tmp/b23
	if [ -n "$3" ]; then
		check "$tag: write + flush (clusters 8..15) with failing metadata writes succeeds" wr /tmp/b23 8
		check_eq "$tag: state=degraded" degraded "$(st state)"
		check "$tag: data passes: the new data reads back" rcmp /tmp/b23 0 8 8
		check "$tag: data passes: the old data reads back" rcmp /tmp/a23 0 8
		pat='failed \(error -[0-9]+\): fail_open, measuring stopped, state=degraded'
		want='fail_open, measuring stopped, state=degraded'
	else
		check_fail "$tag: write + flush (clusters 8..15) with failing metadata writes fails" wr /tmp/b23 8
		check_eq "$tag: state=failed" failed "$(st state)"
		check_fail "$tag: a read fails too" rd 0 4
		check_fail "$tag: a later write fails too" wr /tmp/b23 110
		pat='failed \(error -[0-9]+\): failing I/O, state=failed'
		want='failing I/O, state=failed'
	fi
	check "$tag: meta_errors > 0" test "$(st meta_errors)" -gt 0
	line=$(knew | grep -E "device-mapper: vdirt: [0-9]+:[0-9]+: .*$pat" | head -n 1)
	check "$tag: kernel log: '<what> failed (error -N): $want'" test -n "$line"
	diag "$tag: ${line#*] }"
	sleep 2
	check "$tag: metadata healed after ~2 s" swap_table m23 "0 $(sectors $2) linear $2 0"
	diag "$tag: $(dmsetup status $N)"
	check "$tag: the device can be removed" timeout 60 dmsetup remove $N
	# reopen on the healed metadata and read what was written
	check "$tag: reopen on the healed metadata" open_dev
	wait_recovery
	rd 0 64
	if [ -n "$3" ]; then
		# writes while degraded were not tracked: the target marked the
		# metadata for a full re-measurement (at suspend, once healed)
		check "$tag: kernel log: metadata marked for a full re-measurement" \
			kgrep 'degraded: metadata marked for a full re-measurement'
	fi
	check_eq "$tag: after reopen, read of clusters 0..63: read_mismatches=0" 0 "$(st read_mismatches)"
	dmsetup remove $N
	dmsetup remove m23
	dmsetup remove d23
}

data_faults "fail-closed" /dev/vdb ""
data_faults "fail_open" /dev/vdc fail_open
meta_faults "meta fail_open" /dev/vdd fail_open
meta_faults "meta fail-closed" /dev/vde ""
check_eq "no kernel splat" "" "$(dmesg | grep -E 'BUG:|WARNING:|Oops|general protection' | head -n 2)"
ktap_done
