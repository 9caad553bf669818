#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 240 --append ima_policy=critical_data
# SPDX-License-Identifier: GPL-2.0
# The dm-vdirt table and status interface: create/remove, the table line read
# back and accepted again (create and reload), status field names and order,
# every optional argument (normalised order), every message accepted, unknown
# messages refused, suspend/resume, and the IMA measurement when IMA runs.
. "${0%/*}/lib.sh"

use_devs t10

cleanup() {
	dmsetup remove $N
}

# recreate TABLE: remove the device if present and create it with TABLE
recreate() {
	dmsetup remove $N 2>/dev/null
	open_dev "$1"
}

ktap_start

len=$(sectors $D)
dd=$(devno $D)
md=$(devno $M)
base=$(table)
base_out="0 $len vdirt $dd $md 4096 sha256"

check "target vdirt is listed by 'dmsetup targets' with a version" \
	sh -c 'dmsetup targets | grep -Eq "^vdirt +v[0-9]+\.[0-9]+\.[0-9]+"'
check "create with the minimal table" recreate "$base"
check_eq "table reads back (devices as major:minor, no options)" "$base_out" "$(dmsetup table $N)"
check_eq "status starts with the dm prefix" "0 $len vdirt" "$(dmsetup status $N | cut -d' ' -f1-3)"
check_eq "status field names and order" \
	"state mode clusters measured baselined reads_verified read_mismatches write_drift unaligned meta_errors scan tofu recovering baseline baseline_change write_hash epoch purge" \
	"$(dmsetup status $N | cut -d' ' -f4- | tr ' ' '\n' | sed 's/=.*//' | tr '\n' ' ' | sed 's/ $//')"
check_eq "status values of a fresh device" \
	"state=ok mode=audit clusters=$((len / 8)) measured=0 baselined=0 read_mismatches=0 write_drift=0 unaligned=0 meta_errors=0 scan=- tofu=0 recovering=- baseline=none baseline_change=-" \
	"$(for k in state mode clusters measured baselined read_mismatches write_drift unaligned meta_errors scan tofu recovering baseline baseline_change; do
		printf '%s=%s ' $k "$(st $k)"; done | sed 's/ $//')"
check "status is one line" test "$(dmsetup status $N | wc -l)" -eq 1

tbl=$(dmsetup table $N)
check "reload with the printed table line" sh -c "dmsetup reload $N --table '$tbl' && dmsetup resume $N"
check_eq "table after reload is identical" "$tbl" "$(dmsetup table $N)"
check "the printed line creates the device again" recreate "$tbl"
check_eq "table after re-create is identical" "$tbl" "$(dmsetup table $N)"

# every option, alone and all together (printed in the order mode,
# no_read_verify, fail_open, cache_mb, small_read_cpu, small_write_cpu,
# page_recycle, max_io_kb, scan_depth, intent, write_hash, commit_s,
# write_back, and
# accepted back); a
# default value given is printed back as given
for o in "1 mode:audit|1 mode:audit|audit" \
	"1 mode:enforce|1 mode:enforce|enforce" \
	"1 no_read_verify|1 no_read_verify|audit" \
	"1 fail_open|1 fail_open|audit" \
	"1 cache_mb:8|1 cache_mb:8|audit" \
	"4 cache_mb:16 fail_open no_read_verify mode:enforce|4 mode:enforce no_read_verify fail_open cache_mb:16|enforce" \
	"1 small_read_cpu:0|1 small_read_cpu:0|audit" \
	"1 small_read_cpu:1|1 small_read_cpu:1|audit" \
	"1 small_read_cpu:3|1 small_read_cpu:3|audit" \
	"1 small_write_cpu:1|1 small_write_cpu:1|audit" \
	"1 page_recycle:0|1 page_recycle:0|audit" \
	"1 max_io_kb:64|1 max_io_kb:64|audit" \
	"1 scan_depth:1|1 scan_depth:1|audit" \
	"1 intent:0|1 intent:0|audit" \
	"1 write_hash:0|1 write_hash:0|audit" \
	"1 write_hash:3|1 write_hash:3|audit" \
	"1 commit_s:1|1 commit_s:1|audit" \
	"1 commit_s:600|1 commit_s:600|audit" \
	"1 write_back:0|1 write_back:0|audit" \
	"1 write_back:256|1 write_back:256|audit" \
	"3 write_back:16 commit_s:30 mode:enforce|3 mode:enforce commit_s:30 write_back:16|enforce" \
	"12 commit_s:30 write_hash:2 intent:0 scan_depth:8 max_io_kb:4 page_recycle:1024 small_write_cpu:1 small_read_cpu:2 cache_mb:16 fail_open no_read_verify mode:enforce|12 mode:enforce no_read_verify fail_open cache_mb:16 small_read_cpu:2 small_write_cpu:1 page_recycle:1024 max_io_kb:4 scan_depth:8 intent:0 write_hash:2 commit_s:30|enforce" \
	"1 zero_unwritten|1 zero_unwritten|audit" \
	"13 commit_s:30 write_hash:2 intent:0 scan_depth:8 max_io_kb:4 page_recycle:1024 small_write_cpu:1 small_read_cpu:2 cache_mb:16 zero_unwritten fail_open no_read_verify mode:enforce|13 mode:enforce no_read_verify fail_open zero_unwritten cache_mb:16 small_read_cpu:2 small_write_cpu:1 page_recycle:1024 max_io_kb:4 scan_depth:8 intent:0 write_hash:2 commit_s:30|enforce"; do
	given=${o%%|*}
	rest=${o#*|}
	want=${rest%|*}
	mode=${rest#*|}
	if recreate "$base $given"; then
		out=$(dmsetup table $N)
		if [ "$out" = "$base_out $want" ] && [ "$(st mode)" = "$mode" ] && [ "$(st state)" = ok ] &&
			recreate "$out" && [ "$(dmsetup table $N)" = "$out" ]; then
			ok "option '$given' prints as '$want', mode=$mode, round-trips"
		else
			not_ok "option '$given' prints as '$want', mode=$mode, round-trips" \
				"table '$(dmsetup table $N)', status '$(dmsetup status $N)'"
		fi
	else
		not_ok "option '$given' prints as '$want', mode=$mode, round-trips" "create refused"
	fi
done

# the per-device choices are table options now, not module parameters
check "no per-device module parameters left (small_read_cpu ... intent)" sh -c '
	for p in small_read_cpu small_write_cpu page_recycle max_io_kb scan_depth intent; do
		[ ! -e /sys/module/dm_vdirt/parameters/$p ] || exit 1
	done'

# io_hints: a cluster is the minimum and the optimal I/O size
recreate "$base"
q=/sys/block/dm-$(dmsetup info -c --noheadings -o minor $N | tr -d ' ')/queue
check_eq "minimum_io_size is the cluster size" 4096 "$(cat $q/minimum_io_size)"
check_eq "optimal_io_size is the cluster size" 4096 "$(cat $q/optimal_io_size)"

# no_read_verify: reads pass without verification
recreate "$base 1 no_read_verify"
head -c 16384 /dev/urandom | dio write $T 0
drop_caches
dio read $T 0 16384 /dev/null
check_eq "no_read_verify: reads_verified stays 0" 0 "$(st reads_verified)"

# messages
check "back to the default table" recreate "$base"
head -c 32768 /dev/urandom | dio write $T 0
for m in baseline_capture baseline_clear clear_mismatches report "report 0" "report 0 10"; do
	check "message '$m' accepted (and a change it starts ends)" msg_wait $m
done
check "message 'mode enforce' accepted" dmsetup message $N 0 mode enforce
check_eq "status mode=enforce after the message" enforce "$(st mode)"
check "message 'mode audit' accepted" dmsetup message $N 0 mode audit
check_eq "status mode=audit after the message" audit "$(st mode)"
check "message 'scan' accepted" dmsetup message $N 0 scan
check "a scan finishes (scan=- again)" wait_scan
check "message 'scan' then 'scan_stop' accepted" \
	sh -c "dmsetup message $N 0 scan && dmsetup message $N 0 scan_stop"
check "after scan_stop the scan is idle" wait_scan
check "message 'scan_stop' with no scan running is accepted" dmsetup message $N 0 scan_stop
for m in frobnicate "mode" "mode sideways" "report x" "report 0 x" "baseline_capture_now"; do
	check_fail "message '$m' refused" dmsetup message $N 0 $m
done
check_eq "state still ok after the messages" ok "$(st state)"

check "suspend" dmsetup suspend $N
check "resume" dmsetup resume $N
check "I/O after resume" dio read $T 0 32768 /dev/null

# IMA (STATUSTYPE_IMA): only where the kernel measures dm critical data
ima=/sys/kernel/security/ima/ascii_runtime_measurements
[ -e $ima ] || mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
if [ -r $ima ] && grep -q ' dm_table_load ' $ima; then
	buf=$(grep ' dm_table_load ' $ima | tail -n 1 | awk '{print $NF}' | xxd -r -p)
	v=$(printf '%s' "$buf" | tr ';' '\n' | grep 'target_name=vdirt')
	if [ -n "$v" ] && printf '%s' "$v" | grep -q sha256 && printf '%s' "$v" | grep -q 4096; then
		ok "IMA dm_table_load names vdirt with its hash and cluster size"
	else
		not_ok "IMA dm_table_load names vdirt with its hash and cluster size" "$(printf '%s' "$buf" | head -c 600)"
	fi
else
	skip "IMA dm_table_load names vdirt with its hash and cluster size" "no IMA dm measurements here"
fi

check "remove" dmsetup remove $N
check "device is gone" sh -c "! dmsetup info $N >/dev/null 2>&1"
ktap_done
