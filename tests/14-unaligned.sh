#!/bin/sh
# vm: --disk 16M --disk 8M --disk 8M --disk 8M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# Unaligned I/O: random 512-byte-granular O_DIRECT writes and reads (tool
# uaio, checked against a shadow copy) under 4 KiB, 512 B and 64 KiB clusters;
# then a full scan and a read in enforce mode show zero false mismatches, the
# unaligned counter moves (not for 512-byte clusters), and a partial read of a
# cluster changed underneath is still caught (the whole cluster is verified).
. "${0%/*}/lib.sh"

use_devs t14

ktap_start

# run CLUSTER_SIZE META SEED: the checks with the cluster size CLUSTER_SIZE
# on metadata device META
run() {
	cs=$1
	CS=$1
	M=$2
	spc=$((cs / 512))
	region=$((4 << 20))
	if ! open_dev; then
		not_ok "cluster $cs: create" "no device: the other checks of this size are not run"
		return
	fi
	ok "cluster $cs: create"
	check "cluster $cs: 600 random unaligned O_DIRECT writes/reads, data intact" \
		uaio -n 600 -s "$3" -r $region -m 8 $T
	if [ "$cs" -gt 512 ]; then
		check "cluster $cs: unaligned counter > 0" test "$(st unaligned)" -gt 0
	else
		check_eq "cluster $cs: unaligned=0 (512-byte I/O is cluster aligned)" 0 "$(st unaligned)"
	fi
	check_eq "cluster $cs: no read mismatch during the run" 0 "$(st read_mismatches)"
	drop_caches
	check "cluster $cs: message scan" dmsetup message $N 0 scan
	check "cluster $cs: the scan completes" wait_scan
	check_eq "cluster $cs: scan finds no mismatch (read_mismatches=0, no record)" "0 0" \
		"$(st read_mismatches) $(dmsetup message $N 0 report | grep -c 'cluster=')"
	dmsetup message $N 0 mode enforce
	drop_caches
	check "cluster $cs: enforce mode reads the whole region without error" \
		dio read $T 0 $region /dev/null
	check "cluster $cs: unaligned reads in enforce mode succeed" \
		uaio -n 150 -w 0 -s "$3" -r $region -m 3 $T
	# change one sector underneath, read a different sector of the same cluster
	c=7
	head -c 512 /dev/urandom | dio write $D $((c * cs))
	drop_caches
	rs=$((c * spc + spc - 1))
	check_fail "cluster $cs: a 512-byte read of sector $((spc - 1)) of a cluster tampered at sector 0 fails in enforce" \
		dio read $T $((rs * 512)) 512 /dev/null
	check_eq "cluster $cs: ... and the mismatch names cluster $c" "cluster=$c" \
		"$(dmsetup message $N 0 report | grep -o '^cluster=[0-9]*' | sort -u | tr '\n' ' ' | sed 's/ $//')"
	close_dev
}

run 4096 /dev/vdb 1
run 512 /dev/vdc 2
run 65536 /dev/vdd 3
ktap_done
