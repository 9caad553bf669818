#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 240
# SPDX-License-Identifier: GPL-2.0
# Discard and write-zeroes through dm-vdirt: the target passes them down;
# discard makes clusters unmeasured (measured drops, the next read is trust on
# first use, no false mismatch, partial-cluster discard included); write-zeroes
# (BLKZEROOUT, fallocate zero-range / punch-hole) stores the hash of zeros.
. "${0%/*}/lib.sh"

use_devs t17

# secs FILE FIRST COUNT: sha256 of COUNT 512-byte sectors of FILE
secs() { dd if="$1" bs=512 skip="$2" count="$3" 2>/dev/null | sha256sum | cut -c1-64; }
q() { cat "/sys/block/$1/queue/$2" 2>/dev/null || echo 0; }

ktap_start

open_or_end "create the target"
dm=$(basename "$(readlink -f /dev/mapper/$N)")
case $dm in dm-*) ;; *) dm=$(ls /sys/block/*/dm/name | xargs grep -l "^$N\$" | cut -d/ -f4) ;; esac
diag "vda discard_max_bytes=$(q vda discard_max_bytes) write_zeroes_max_bytes=$(q vda write_zeroes_max_bytes)"
diag "$dm discard_max_bytes=$(q $dm discard_max_bytes) write_zeroes_max_bytes=$(q $dm write_zeroes_max_bytes)"
[ "$(q vda discard_max_bytes)" -gt 0 ] || skip_all "the data disk does not support discard"

check "target advertises discard (discard_max_bytes > 0)" test "$(q $dm discard_max_bytes)" -gt 0
dd if=/dev/urandom of=/tmp/a bs=$CS count=64 2>/dev/null
check "write clusters 0..63" wr /tmp/a 0
check_eq "measured=64" 64 "$(st measured)"

# whole-cluster discard
check "blkdiscard clusters 16..23" blkdiscard -o $((16 * CS)) -l $((8 * CS)) $T
check_eq "measured drops to 56" 56 "$(st measured)"
t0=$(st tofu)
drop_caches
check "discarded clusters read" rd 16 8
check_eq "no false mismatch on discarded clusters" 0 "$(st read_mismatches)"
check_eq "their first read is trust on first use (tofu +8, measured back to 64)" "$((t0 + 8)) 64" \
	"$(st tofu) $(st measured)"

# partial-cluster discard (512 bytes inside cluster 40)
check "blkdiscard of 512 bytes inside cluster 40" blkdiscard -o $((40 * CS + 1024)) -l 512 $T
drop_caches
check "cluster 40 reads after a partial discard" rd 40 1 /tmp/r40
check_eq "no false mismatch after a partial discard" 0 "$(st read_mismatches)"
check_eq "the rest of cluster 40 is intact" \
	"$(secs /tmp/a $((40 * 8)) 2) $(secs /tmp/a $((40 * 8 + 3)) 5)" \
	"$(secs /tmp/r40 0 2) $(secs /tmp/r40 3 5)"

# write-zeroes
head -c $((8 * CS)) /dev/zero >/tmp/z8
check "BLKZEROOUT clusters 30..37" blkzero zeroout $T $((30 * CS)) $((8 * CS))
drop_caches
rd 30 8 /tmp/r30
check "zeroed clusters read back as zeros" cmp /tmp/z8 /tmp/r30
check_eq "zeroed clusters stay measured, no mismatch" "64 0" "$(st measured) $(st read_mismatches)"
head -c 512 /dev/urandom | dio write $D $((31 * CS + 2 * 512))
drop_caches
rd 31 1
check_eq "tamper after write-zeroes: expected digest is sha256 of a zero cluster" \
	"cluster=31 $(head -c $CS /dev/zero | vdigest sha256)" \
	"$(report | grep '^cluster=31 ' | tr ' ' '\n' | grep -E '^(cluster|expected)=' | sed 's/^expected=//' | tr '\n' ' ' | sed 's/ $//')"
if [ "$(q vda write_zeroes_max_bytes)" -gt 0 ]; then
	check "target advertises write-zeroes (write_zeroes_max_bytes > 0)" test "$(q $dm write_zeroes_max_bytes)" -gt 0
	check "fallocate punch-hole (REQ_OP_WRITE_ZEROES, no fallback) on clusters 44..45" \
		blkzero punch $T $((44 * CS)) $((2 * CS))
else
	skip "target advertises write-zeroes" "data disk has no write-zeroes"
	skip "fallocate punch-hole on clusters 44..45" "data disk has no write-zeroes"
fi
check "fallocate zero-range of 512 bytes inside cluster 50" blkzero zerorange $T $((50 * CS + 2048)) 512
drop_caches
rd 44 2 /tmp/r44
rd 50 1 /tmp/r50
check "punched and zero-ranged data reads as expected" sh -c "
	head -c $((2 * CS)) /dev/zero | cmp - /tmp/r44 &&
	{ dd if=/tmp/a bs=512 skip=$((50 * 8)) count=4 2>/dev/null; head -c 512 /dev/zero;
	  dd if=/tmp/a bs=512 skip=$((50 * 8 + 5)) count=3 2>/dev/null; } | cmp - /tmp/r50"
check_eq "no false mismatch after the zeroing (only the tampered cluster 31)" 1 "$(st read_mismatches)"

# discard the whole device
check "blkdiscard the whole device" blkdiscard $T
check_eq "measured=0 after discarding everything" 0 "$(st measured)"
ktap_done
