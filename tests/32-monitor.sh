#!/bin/sh
# vm: --disk 256M --disk 32M --timeout 500
# SPDX-License-Identifier: GPL-2.0
# vdirtctl monitor: receives exactly the mismatches a tamper creates (JSON lines
# with the documented fields, per-device sequence numbers), --count, and
# recovers a sequence gap (receive buffer overrun) from the mismatch dump so
# that nothing is missed or printed twice; scan --wait exit status; the
# Prometheus textfile (device="dm-N" labels, the info metric with the data
# device, its refresh).
. "${0%/*}/lib.sh"

use_devs t32
V=vdirtctl

# the monitor goes first; lib.sh removes the devices after cleanup()
cleanup() { [ -n "$MP" ] && kill "$MP"; }

need_vdirtctl

tamper() {
	dd if=/dev/urandom of=$D bs=512 seek=$(($1 * CS / 512 + 2)) count=1 oflag=direct conv=notrunc 2>/dev/null
}
# start_monitor OUT ARGS...: monitor in the background, wait until subscribed
start_monitor() {
	_out=$1
	shift
	rm -f /tmp/ready
	VDIRTCTL_TEST_MONITOR_READY=/tmp/ready timeout 120 $V monitor "$@" >"$_out" 2>/tmp/mon.err &
	MP=$!
	_i=0
	while [ ! -e /tmp/ready ] && [ $_i -lt 300 ]; do usleep 100000; _i=$((_i + 1)); done
}
jfield() { tr ',{}' '\n\n\n' | sed -n "s/^\"$1\"://p"; }
dfield() { $V devices --json | jfield "$1" | head -n 1; }

ktap_start

$V format -q --force $D $M && $V open -q $D $M $N || { not_ok "format and open"; ktap_done; }
ok "format and open"
dd if=/dev/urandom of=$T bs=$CS count=64 oflag=direct 2>/dev/null

start_monitor /tmp/mon1 --json --count 3 $N
check "monitor subscribed" test -e /tmp/ready
tamper 5; tamper 17; tamper 40
drop_caches
dd if=$T of=/dev/null bs=$CS count=64 iflag=direct 2>/dev/null
wait $MP; rc=$?
MP=
check_eq "monitor --count 3 exits 0 after three events" 0 $rc
check_eq "three JSON lines" 3 "$(wc -l </tmp/mon1)"
check_eq "exactly the tampered clusters" "5 17 40" "$(jfield cluster </tmp/mon1 | sort -n | tr '\n' ' ' | sed 's/ $//')"
# record 0 is the device's activation record (issue 14), before the monitor started
check_eq "sequence numbers 1 2 3" "1 2 3" "$(jfield seq </tmp/mon1 | sort -n | tr '\n' ' ' | sed 's/ $//')"
line=$(grep '"cluster":17,' /tmp/mon1)
fields=1
for k in '"device":"t32"' '"cluster":17' '"sector":136' '"kind":"read_mismatch"' '"expected":"' \
	'"actual":"' '"time":' '"seq":'; do
	case "$line" in *"$k"*) ;; *) fields=0; diag "missing $k in $line" ;; esac
done
check_eq "event JSON has device, cluster, sector, kind, expected, actual, time, seq" 1 $fields
# issue 18: every event says which metadata, the mode, the data device, the byte offset
uuid=$($V attest $N --json | jfield uuid | tr -d '"')
check_eq "event JSON: the metadata uuid, as attest gives it" "\"$uuid\"" "$(echo "$line" | jfield uuid)"
check_eq "... mode, data device and its major:minor" \
	"\"audit\" \"$D\" \"$(stat -L -c '%t %T' $D | { read -r a b; echo $((0x$a)):$((0x$b)); })\"" \
	"$(for k in mode data_device data_devno; do echo "$line" | jfield $k; done | tr '\n' ' ' | sed 's/ $//')"
check_eq "... and the byte offset 17 * CS" $((17 * CS)) "$(echo "$line" | jfield offset)"
exp=$(echo "$line" | jfield expected | tr -d '"')
act=$(echo "$line" | jfield actual | tr -d '"')
check_eq "actual is the sha256 of the tampered cluster" \
	"$(dd if=$D bs=$CS skip=17 count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)" "$act"
[ "$exp" != "$act" ] && [ ${#exp} -eq 64 ] && ok "expected differs and is a sha256" || not_ok "expected differs" "$exp"
t=$(echo "$line" | jfield time)
now=$(date +%s)
[ $((t / 1000000000)) -le "$now" ] && [ $((t / 1000000000)) -gt $((now - 600)) ] && ok "time is wall-clock ns" || not_ok "time is wall-clock ns" "$t vs $now"
rj=$($V report --json $N)
check_eq "report lists the same three" "5 17 40" "$(echo "$rj" | jfield cluster | sort -n | tr '\n' ' ' | sed 's/ $//')"
out=$($V scan --wait $N 2>&1); rc=$?
check_eq "scan --wait exits 10 while mismatches are recorded" 10 $rc

# --prometheus-textfile: every series carries device="dm-N" (the kernel's
# name: it joins node_exporter's node_disk_*) and name=; the info metric
# names the metadata, mode and data device; refreshed every --interval
P=/tmp/vdirt.prom
minor=$(dfield minor)
start_monitor /tmp/monp --json --count 1 --interval 1 --prometheus-textfile $P $N
check "the textfile is written before the monitor is ready" test -s $P
tamper 50
drop_caches
dd if=$T of=/dev/null bs=$CS skip=50 count=1 iflag=direct 2>/dev/null
wait $MP; rc=$?
MP=
check_eq "monitor --prometheus-textfile --count 1 exits 0" 0 $rc
s="{device=\"dm-$minor\",name=\"$N\"}"
check_eq "read mismatches of dm-$minor ($N) after the event, as devices says" \
	"vdirt_read_mismatches_total$s $(dfield read_mismatches)" "$(grep "^vdirt_read_mismatches_total{" $P)"
check_eq "dm-$minor is the kernel's name of $N (/sys/block/dm-$minor/dm/name)" "$N" \
	"$(cat /sys/block/dm-$minor/dm/name 2>/dev/null)"
info=$(grep '^vdirt_device_info{' $P)
case "$info" in
"vdirt_device_info{device=\"dm-$minor\",name=\"$N\",uuid=\""????????????????????????????????"\",hash=\"sha256\",cluster_size=\"$CS\",mode=\"audit\",data_device=\"${D##*/}\",read_verify=\"1\",fail_open=\"0\"} 1")
	ok "vdirt_device_info: uuid, hash, cluster size, mode, data device ${D##*/}" ;;
*) not_ok "vdirt_device_info: uuid, hash, cluster size, mode, data device" "$info" ;;
esac
case "$info" in *uuid=\"00000000000000000000000000000000\"*) not_ok "the uuid is the metadata's" "$info" ;;
*) ok "the uuid is the metadata's, not zero" ;; esac
check_eq "vdirt_clusters, vdirt_tofu_total, vdirt_unaligned_total as devices says" \
	"$(dfield clusters) $(dfield tofu) $(dfield unaligned)" \
	"$(sed -n "s/^vdirt_clusters$s //p; s/^vdirt_tofu_total$s //p; s/^vdirt_unaligned_total$s //p" $P | tr '\n' ' ' | sed 's/ $//')"
check_eq "no scan, no recovery running" "0 0 0 0" \
	"$(sed -n "s/^vdirt_scan_running$s //p; s/^vdirt_scan_progress_ratio$s //p; s/^vdirt_recovery_running$s //p; s/^vdirt_recovery_progress_ratio$s //p" $P | tr '\n' ' ' | sed 's/ $//')"
ts=$(sed -n 's/^vdirt_last_update_timestamp_seconds \([0-9]*\)\.[0-9]\{3\}$/\1/p' $P)
now=$(date +%s)
[ -n "$ts" ] && [ "$ts" -le "$now" ] && [ "$ts" -gt $((now - 600)) ] &&
	ok "vdirt_last_update_timestamp_seconds is the wall clock" ||
	not_ok "vdirt_last_update_timestamp_seconds is the wall clock" "$ts vs $now"
# a mode change shows at the next refresh (every second here)
dmsetup message $N 0 mode enforce
start_monitor /tmp/monp2 --json --interval 1 --prometheus-textfile $P $N
i=0
while ! grep -q "^vdirt_device_info{.*mode=\"enforce\"" $P && [ $i -lt 50 ]; do
	usleep 100000; i=$((i + 1))
done
kill $MP; wait $MP
MP=
dmsetup message $N 0 mode audit
grep -q "^vdirt_device_info{device=\"dm-$minor\",.*,mode=\"enforce\"," $P &&
	ok "mode enforce shows in vdirt_device_info" || not_ok "mode enforce shows" "$(grep info $P)"

# a sequence gap: a tiny receive buffer and a slow reader overrun; the dump fills it
$V clear $N
dd if=/dev/urandom of=$T bs=$CS seek=1000 count=300 oflag=direct 2>/dev/null
VDIRTCTL_TEST_RCVBUF=1 VDIRTCTL_TEST_SLOW_MS=30 start_monitor /tmp/mon2 --json --debug --count 300 $N
i=1000
while [ $i -lt 1300 ]; do tamper $i; i=$((i + 1)); done
drop_caches
dd if=$T of=/dev/null bs=$CS skip=1000 count=300 iflag=direct 2>/dev/null
wait $MP; rc=$?
MP=
check_eq "monitor exits 0 after 300 events" 0 $rc
check_eq "300 lines, 300 distinct clusters 1000..1299" "300 300 1000 1299" \
	"$(wc -l </tmp/mon2) $(jfield cluster </tmp/mon2 | sort -un | wc -l) $(jfield cluster </tmp/mon2 | sort -n | head -n 1) $(jfield cluster </tmp/mon2 | sort -n | tail -n 1)"
nd=$(grep -c '"source":"dump"' /tmp/mon2)
if [ "$nd" -gt 0 ] && grep -q 'gap\|overrun' /tmp/mon.err; then
	ok "the gap was noticed and filled from the dump ($nd records)"
else
	not_ok "the gap was noticed and filled from the dump" "dump records $nd"
	grep -v '^# device-mapper' /tmp/mon.err | tail -n 8 | sed 's/^/# err: /'
fi
# the kernel's rate limit: events beyond it are dropped and counted, and the
# monitor still prints every record (filled from the dump)
P=/sys/module/dm_vdirt/parameters/event_rate
if [ -w $P ]; then
	$V clear $N
	dd if=/dev/urandom of=$T bs=$CS seek=2000 count=60 oflag=direct 2>/dev/null
	old_rate=$(cat $P)
	echo 5 >$P
	d0=$(dfield events_dropped)
	start_monitor /tmp/mon3 --json --count 60 $N
	dd if=/dev/urandom of=$D bs=$CS seek=2000 count=60 oflag=direct conv=notrunc 2>/dev/null
	drop_caches
	dd if=$T of=/dev/null bs=$CS skip=2000 count=60 iflag=direct 2>/dev/null
	wait $MP; rc=$?
	MP=
	echo "$old_rate" >$P
	check_eq "with 5 events/s the monitor still prints all 60 records" "0 60 60" \
		"$rc $(wc -l </tmp/mon3) $(jfield cluster </tmp/mon3 | sort -un | wc -l)"
	d1=$(dfield events_dropped)
	[ "$d1" -gt "$d0" ] && ok "dropped events are counted ($((d1 - d0)))" ||
		not_ok "dropped events are counted" "$d0 -> $d1"
else
	skip "rate limit keeps every record" "no event_rate parameter"
	skip "dropped events are counted" "no event_rate parameter"
fi
check "close" $V close $N

ktap_done
