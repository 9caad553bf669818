#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/50-powercut.sh: one boot of a chain of power cuts on the
# same two disks (/dev/vda data, /dev/vdb metadata), the host's share at
# /mnt/host.
#
#   guest.sh fill  0 NEXT OFF LEN SEED     boot 0: create, fill, start workload 1
#   guest.sh check K NEXT OFF LEN SEED     boot K: reopen after cut K, check,
#                                          then start workload K+1 (NEXT)
# NEXT: raw (cutwr on [OFF, OFF+LEN) of the device), ext4 (mkfs.ext4 once, then
# cutwr on a file plus fio with fsync), or none (last boot: clean close and
# reopen, which must not recover).  When the workload runs, /mnt/host/started.N
# appears and the host cuts the power a few seconds later; this script then
# waits for it.  Test points are "ok N - ..." lines (lib.sh), renumbered by
# the host; state for the next boot is kept in /mnt/host/state.
. /tests/lib.sh

step=$1
cut=$2
next=$3
woff=$4
wlen=$5
seed=$6

use_devs pc	# data /dev/vda, metadata /dev/vdb, 4 KiB clusters, sha256
H=/mnt/host
MP=/mnt/e
RTIMEOUT=${PC_RECOVERY_TIMEOUT:-120}

rfield() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
now_ms() { echo $(($(cut -d' ' -f1 /proc/uptime | tr -d .) * 10)); }
# state KEY: a value the previous boot saved
state() { sed -n "s/^$1=//p" $H/state 2>/dev/null | tail -n 1; }
save_state() { echo "$1=$2" >>$H/state.new; }
# must DESC CMD...: check, and fail (status 1) when the check failed
must() { _mf=$KTAP_FAILED; check "$@"; [ "$KTAP_FAILED" = "$_mf" ]; }
nrecords() { report | grep -c "kind=$1"; }

len=$(sectors $D)
clusters=$((len * 512 / CS))
# the odd workloads run with write_back:64 (writes acknowledged once
# copied, a volatile write cache): their check is the flush contract only
# (cutwr check -f); the device is opened with the table of the next
# workload, which runs on it after the checks
table=$(table)
case "$next" in
raw|ext4) [ $(((cut + 1) % 2)) = 1 ] && table=$(table write_back:64) ;;
esac
t0=$(now_ms)
: >$H/state.new
diag "boot: the script starts ${t0} ms after the kernel"

# intent_bits: write-intent bits set in the bitmap on the metadata device
# (its first block: intent_start, the superblock's u64 at byte 168)
intent_bits() {
	_ib=$(dio read $M 0 4096 | od -An -tu8 -j 168 -N 8 | tr -d ' ')
	dio read $M $((_ib * 4096)) 4096 | od -An -v -tu1 | tr -s ' ' '\n' |
		awk -v n=$(((clusters + 1023) / 1024)) 'NF { v = $1; for (b = 0; b < 8; b++) { if (i * 8 + b < n && v % 2) c++; v = int(v / 2) } i++ } END { print c + 0 }'
}

# wait_recovered SECONDS: until status says recovering=-
wait_recovered() {
	_left=$(($1 * 10))
	while [ "$(st recovering)" != "-" ]; do
		[ "$_left" -le 0 ] && return 1
		_left=$((_left - 1))
		usleep 100000
	done
}

# hashes_agree OFF LEN: the stored digest of every cluster of the byte range
# equals sha256 of the data device's bytes (vdirtctl hashes, vdigest)
hashes_agree() {
	_c0=$(($1 / CS))
	_nc=$(($2 / CS))
	drop_caches
	vdigest -c $CS sha256 $D "$1" "$2" >/tmp/data.sums || return 1
	vdirtctl hashes $N $_c0 $_nc | cut -d' ' -f2 >/tmp/meta.sums || return 1
	_n=$(wc -l </tmp/meta.sums)
	[ "$_n" -eq "$_nc" ] || { echo "vdirtctl hashes printed $_n of $_nc"; return 1; }
	if ! cmp -s /tmp/data.sums /tmp/meta.sums; then
		paste -d' ' /tmp/data.sums /tmp/meta.sums | awk -v c0=$_c0 '$1 != $2 { n++; if (n <= 5) print "cluster " c0 + NR - 1 ": data " $1 ", stored " $2 } END { print n " clusters differ" }'
		return 1
	fi
}

# changed_ok CUTLOG E: every cluster of a write the workload's log shows
# completed is in epoch E's changed-block list, and the list holds nothing
# outside the workload's span (the epoch opened when the workload started)
changed_ok() {
	vdirtctl changed $N --since $(($2 - 1)) --until "$2" >/tmp/runs.txt || return 1
	# shellcheck disable=SC2086 # OFF LEN
	set -- "$1" $span
	awk -v cs=$CS -v lo=$(($2 / CS)) -v hi=$((($2 + $3) / CS)) '
		FNR == NR { for (c = $1; c < $1 + $2; c++) { in_list[c] = 1; if (c < lo || c >= hi) out++ } next }
		$1 == "S" { off[$2] = $3; len[$2] = $4 }
		$1 == "W" && ($2 in off) {
			for (c = int(off[$2] / cs); c <= int((off[$2] + len[$2] - 1) / cs); c++) {
				n++
				if (!(c in in_list)) { miss++; if (miss <= 5) print "missing cluster " c }
			}
		}
		END { print n + 0 " clusters of completed writes, " miss + 0 " missing, " out + 0 " listed outside the span"; exit (miss || out || !n) }' \
		/tmp/runs.txt "$1"
}

# start_raw CUT: cutwr on the device for cut CUT, in an epoch of its own
start_raw() {
	save_state epoch "$(dmsetup message $N 0 epoch_new workload-$1)"
	cutwr write -s "$seed" -i $(($1 * 100000000)) -o "$woff" -l "$wlen" -n 32 -q 4 $T \
		>$H/cut-$1.log 2>$H/cut-$1.err &
	wpid=$!
	save_state kind raw
	save_state span "$woff $wlen"
	save_state log_dev $T
}

# start_ext4 CUT: cutwr on a file of ext4 (mkfs first if needed), plus fio
# buffered random writes with fsync and file churn
start_ext4() {
	if [ "$(state kind)" != ext4 ]; then
		must "ext4: mkfs.ext4 (no discard)" mkfs.ext4 -F -q -E nodiscard $T || return 1
	fi
	mkdir -p $MP
	must "ext4: mount for workload $1" mount -t ext4 $T $MP || return 1
	if [ ! -f $MP/cut ]; then
		must "ext4: a 24 MiB file of zeros, fsynced" \
			sh -c ": >$MP/cut && head -c $((24 << 20)) /dev/zero | dio write $MP/cut 0 && sync" || return 1
	fi
	fio --name=churn --directory=$MP --filename=fio.dat --size=12M --rw=randwrite \
		--bsrange=1k-64k --ioengine=psync --fsync=4 --time_based --runtime=3600 \
		--randseed="$seed" >/dev/null 2>&1 &
	(i=0; while :; do head -c $((i * 37 % 20000 + 1)) /dev/urandom >$MP/s.$((i % 50)); \
		[ $((i % 10)) = 0 ] && sync $MP/s.$((i % 50)); i=$((i + 1)); done) &
	cutwr write -s "$seed" -i $(($1 * 100000000)) -n 16 -q 4 $MP/cut \
		>$H/cut-$1.log 2>$H/cut-$1.err &
	wpid=$!
	save_state kind ext4
	save_state span "0 $((clusters * CS))"
	save_state log_dev $MP/cut
}

# ---- boot 0: create, fill every cluster once ----
if [ "$step" = fill ]; then
	must "create the device (sha256, 4096)" \
		open_dev "$table" || exit 1
	check "write the whole data device once (O_DIRECT zeros)" \
		sh -c "head -c $((clusters * CS)) /dev/zero | dio write $T 0"
	sync
	check "flush" cutwr write -c 0 $T
	check_eq "measured == clusters, tofu=0" "$clusters 0" "$(st measured) $(st tofu)"
	save_state records 0
fi

# ---- boot K: reopen after cut K ----
if [ "$step" = check ]; then
	kind=$(state kind)
	span=$(state span)
	cflag=
	[ "$(state write_back)" = 1 ] && cflag=-f
	[ -n "$span" ] || span="0 $((clusters * CS))"
	bits=$(intent_bits)
	must "reopen with the same table" \
		open_dev "$table" || exit 1
	ta=$(now_ms)
	# reads while the recovery runs (measured on the spot, never reported)
	# shellcheck disable=SC2086 # OFF LEN
	dio read $T $span /dev/null &
	rpid=$!
	if must "recovery finishes (recovering=-) within ${RTIMEOUT}s" wait_recovered $RTIMEOUT; then
		tr=$(($(now_ms) - ta))
	else
		tr=-1
	fi
	wait $rpid
	check_eq "the concurrent read passed" 0 "$?"
	rec=$(report | grep 'kind=recovery' | tail -n 1)
	nrec=$(report | grep -c 'kind=recovery')
	prev=$(state records)
	check_eq "one new recovery summary record" "$((prev + 1))" "$nrec"
	regions=$(echo "$rec" | rfield regions)
	remeasured=$(echo "$rec" | rfield remeasured)
	changed=$(echo "$rec" | rfield changed)
	onread=$(echo "$rec" | rfield on_read)
	diag "recovery: ${regions:-?} regions, ${remeasured:-?} clusters re-measured, ${changed:-?} changed, ${onread:-?} on read, ${tr} ms"
	echo "RECOVERY ${regions:-?} ${remeasured:-?} ${changed:-?} ${onread:-?} $tr"
	dmesg | grep 'recovery finished' | tail -n 1 | sed 's/^/# kernel: /'
	save_state records "$nrec"
	check_eq "recovered regions == write-intent bits on disk before the reopen" "$bits" "$regions"
	if [ -n "$regions" ] && [ -n "$remeasured" ]; then
		check "re-measured clusters <= regions * 1024" test "$remeasured" -le $((regions * 1024))
	else
		not_ok "re-measured clusters <= regions * 1024" "no summary"
	fi
	ts=$(now_ms)
	check "full scan" dmsetup message $N 0 scan
	check "the scan completes" wait_scan_of $N 300
	diag "scan: $(($(now_ms) - ts)) ms"
	rm=$(st read_mismatches)
	nrm=$(report | grep -c 'kind=read_mismatch')
	echo "MISMATCHES $rm $nrm"
	check_eq "no read mismatch (status, records)" "0 0" "$rm $nrm"
	[ "$nrm" = 0 ] || report | grep 'kind=read_mismatch' | head -n 5 | sed 's/^/#   /'
	check_eq "tofu did not grow (0), measured == clusters, state=ok" "0 $clusters ok" \
		"$(st tofu) $(st measured) $(st state)"
	# shellcheck disable=SC2086 # OFF LEN
	check "stored digests == sha256 of the data, every cluster written by the workload" hashes_agree $span
	if [ "$kind" = ext4 ]; then
		mkdir -p $MP
		check "ext4: mount (journal replay)" mount -t ext4 $T $MP
		# shellcheck disable=SC2086 # empty or -f
		out=$(cutwr check $cflag $H/cut-$cut.log $MP/cut 2>&1)
		check_eq "cutwr check$cflag of the file: no wrong sector" 0 "$?"
		echo "$out" | sed '$d' | sed 's/^/# /' | head -n 12
		echo "CUTWR $(echo "$out" | tail -n 1)"
		check "ext4: umount" umount $MP
		check "ext4: e2fsck -n -f finds nothing" e2fsck -n -f $T
	else
		# shellcheck disable=SC2086 # empty or -f
		out=$(cutwr check $cflag $H/cut-$cut.log $T 2>&1)
		check_eq "cutwr check$cflag: no wrong sector" 0 "$?"
		echo "$out" | sed '$d' | sed 's/^/# /' | head -n 12
		echo "CUTWR $(echo "$out" | tail -n 1)"
		ew=$(state epoch)
		if [ -n "$ew" ]; then
			out=$(changed_ok $H/cut-$cut.log "$ew" 2>&1)
			check_eq "the crashed epoch's changed list has every completed write, nothing outside the span" 0 "$?"
			echo "$out" | sed 's/^/# /' | tail -n 6
		fi
	fi
	check_eq "still no read mismatch after the checks" "0 ok" "$(st read_mismatches) $(st state)"
fi

# ---- next workload, or a clean close ----
case "$next" in
raw|ext4)
	k=$((cut + 1))
	case "$table" in
	*write_back:*) save_state write_back 1 ;;
	*) save_state write_back 0 ;;
	esac
	if [ "$next" = raw ]; then
		start_raw $k
	else
		start_ext4 $k || { mv $H/state.new $H/state; exit 1; }
	fi
	mv $H/state.new $H/state
	# started when the log shows completed writes
	i=0
	while ! grep -q '^W ' $H/cut-$k.log 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 $wpid 2>/dev/null; then
			not_ok "workload $k runs" "$(cat $H/cut-$k.err)"
			exit 1
		fi
		usleep 100000
	done
	diag "boot: workload $k started $(($(now_ms) - t0)) ms after the script"
	: >$H/started.$k
	wait $wpid
	not_ok "workload $k runs until the power cut" "cutwr exited $?: $(cat $H/cut-$k.err)"
	exit 1
	;;
none)
	mv $H/state.new $H/state
	check "clean remove" dmsetup remove $N
	check "reopen after the clean remove" \
		open_dev "$table"
	check_eq "no recovery after a clean close (recovering=-, no new summary)" "- $(state records)" \
		"$(st recovering) $(nrecords recovery)"
	check_eq "no read mismatch, tofu=0" "0 0" "$(st read_mismatches) $(st tofu)"
	check "final remove" dmsetup remove $N
	;;
esac
[ "$KTAP_FAILED" -eq 0 ]
