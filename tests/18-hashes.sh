#!/bin/sh
# vm: --disk 32M --disk 32M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# Every required hash algorithm (sha256, sha1, blake2b-256, xxhash64, crc32c):
# write through the target, tamper one cluster underneath, read: the mismatch
# is detected for exactly that cluster, and the expected/actual digests in the
# report are exactly what userspace computes over the cluster bytes (vdigest,
# in the kernel shash's byte order).
. "${0%/*}/lib.sh"

use_devs t18
LEN=32768	# 16 MiB of data, 4096 clusters

rfield() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

ktap_start

msz=$(($(sectors /dev/vdb) / 5))
i=0
for alg in sha256 sha1 blake2b-256 xxhash64 crc32c; do
	# each hash on its own fifth of the metadata disk
	part_dev m18_$i /dev/vdb $msz $((i * msz))
	M=/dev/mapper/m18_$i
	HASH=$alg
	if ! open_dev; then
		not_ok "$alg: create the target" "no device: the other checks of $alg are not run"
		i=$((i + 1))
		continue
	fi
	ok "$alg: create the target"
	head -c $((8 * CS)) /dev/urandom >/tmp/a
	dio write $T 0 /tmp/a
	dio read $T 0 $((8 * CS)) /tmp/b
	check "$alg: write and read back 8 clusters" cmp /tmp/a /tmp/b
	head -c 512 /dev/urandom | dio write $D $((3 * CS + 2048))
	drop_caches
	dio read $T 0 $((8 * CS)) /dev/null
	check_eq "$alg: one mismatch, for cluster 3" "1 cluster=3 kind=read_mismatch" \
		"$(st read_mismatches) $(report | grep 'cluster=' | cut -d' ' -f1-2)"
	check_eq "$alg: expected digest = $alg of the written cluster" \
		"$(dd if=/tmp/a bs=$CS skip=3 count=1 2>/dev/null | vdigest $alg)" "$(report | rfield expected)"
	check_eq "$alg: actual digest = $alg of the tampered cluster" \
		"$(dio read $D $((3 * CS)) $CS | vdigest $alg)" "$(report | rfield actual)"
	close_dev
	dmsetup remove m18_$i
	i=$((i + 1))
done
ktap_done
