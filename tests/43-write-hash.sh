#!/bin/sh
# vm: --disk 128M --disk 16M --timeout 420
# SPDX-License-Identifier: GPL-2.0
# write_hash: the three ways an aligned write is hashed (1 worker, 2 split:
# written at once and hashed on another CPU, 3 inline: hashed in map) and the
# automatic choice (0).  In each mode: the status names the mode, fio's
# random writes of 4..64 KiB at queue depth 16 verify, every digest is that
# of the data on the device (a scan finds nothing; a tampered cluster is
# found), a write against a baseline records drift for exactly the clusters
# it changed (inline: records cannot be appended in map, the write goes on
# through a worker), and a cache of 1 MiB over 120 MiB (inline: most entry
# blocks not cached in map) still stores every digest.
. "${0%/*}/lib.sh"

use_devs t43

# fio_q ARGS...: fio with its output in /tmp/fio.out
fio_q() { fio "$@" >/tmp/fio.out 2>&1; }
tamper() { head -c 512 /dev/urandom | dio write $D $(($1 * CS + 512)); }
job="--filename=$T --ioengine=libaio --direct=1 --iodepth=16 --rw=randwrite
	--bsrange=4k-64k --blockalign=4k --verify=crc32c --verify_fatal=1
	--size=40M --group_reporting"

ktap_start

# mode, its status name, the automatic choice resolved by the kernel log
for m in 1:worker 2:split 3:inline; do
	n=${m%%:*} name=${m#*:}
	dd if=/dev/zero of=$M bs=1M count=16 2>/dev/null
	check "write_hash:$n: create" open_dev "$(table write_hash:$n cache_mb:1)"
	check_eq "write_hash:$n: status write_hash=$name" "$name" "$(st write_hash)"
	# shellcheck disable=SC2086
	check "write_hash:$n: fio random writes 4-64 KiB QD16 + verify" \
		fio_q --name=w $job --offset=$(((n - 1) * 40))M
	drop_caches
	# shellcheck disable=SC2086
	check "write_hash:$n: verify-only pass after dropping caches" \
		fio_q --name=w $job --offset=$(((n - 1) * 40))M --verify_only
	check "write_hash:$n: a scan of the device" dmsetup message $N 0 scan
	check "write_hash:$n: the scan completes" wait_scan 240
	check_eq "write_hash:$n: no mismatch, no metadata error" "0 0" \
		"$(st read_mismatches) $(st meta_errors)"
	c=$((((n - 1) * 40 << 20) / CS + 5))
	dio read $T $((c * CS)) $CS /dev/null
	tamper $c
	drop_caches
	dio read $T $((c * CS)) $CS /dev/null
	check_eq "write_hash:$n: a tampered cluster is reported" 1 "$(st read_mismatches)"

	# drift: a baseline of clusters 0..63, then 16 of them rewritten
	dd if=/dev/urandom of=/tmp/base bs=$CS count=64 2>/dev/null
	dio write $T 0 /tmp/base
	check "write_hash:$n: baseline_capture" msg_wait baseline_capture
	dd if=/dev/urandom of=/tmp/new bs=$CS count=16 2>/dev/null
	dio write $T $((8 * CS)) /tmp/new
	check_eq "write_hash:$n: drift recorded for the 16 clusters changed" 16 "$(st write_drift)"
	dio write $T $((8 * CS)) /tmp/new
	check_eq "write_hash:$n: the same data again adds no drift" 16 "$(st write_drift)"
	check_eq "write_hash:$n: state=ok" ok "$(st state)"
	close_dev
done

# write_hash:0 chooses from the hash's speed and says so
kmark
check "write_hash:0: create" open_dev "$(table write_hash:0)"
auto=$(st write_hash)
check "write_hash:0: resolved to split or inline" sh -c "[ '$auto' = split ] || [ '$auto' = inline ]"
check "write_hash:0: the kernel log gives the hash time and the choice" \
	sh -c "knew() { dmesg | tail -n +$((KMARK + 1)); }; knew | grep -Eq 'sha256 hashes 4 KiB in [0-9]+ ns, a hand-over to another CPU takes [0-9]+ ns: writes are hashed (inline|on another CPU)'"
close_dev
ktap_done
