#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 400
# SPDX-License-Identifier: GPL-2.0
# Sub-cluster I/O cannot launder a tamper, and a reader cannot forge one:
# a write, discard or write-zeroes of part of a cluster
# is read-verify-modify-write (a tamper found there is recorded op=write and,
# in enforce mode, the write fails and nothing is written; the digest is of
# the merged cluster, so a dropped partial write is caught); a partial read
# is verified in the copy the guest receives (one read of the data device);
# readers that overwrite their own O_DIRECT buffers during reads make no
# record and get no EIO in enforce mode.
. "${0%/*}/lib.sh"

use_devs t37

ktap_start

# nrec PATTERN: records matching PATTERN
nrec() { report | grep -c -- "$1"; }
# vda_reads: read I/Os completed by the data disk
vda_reads() { awk '{print $1}' /sys/block/vda/stat; }
# sect FILE FIRST COUNT: sectors of a file
sect() { dd if="$1" bs=512 skip="$2" count="$3" 2>/dev/null; }

head -c $((1 << 20)) /dev/zero | dio write $D 0
open_or_end "create"

# 1. the reproduction of the issue, audit mode
head -c $CS /dev/urandom >/tmp/c0
head -c 512 /dev/urandom >/tmp/evil
head -c 512 /dev/urandom >/tmp/s7
wr /tmp/c0 0
dio write $D 0 /tmp/evil
check "audit: a 512-byte write into a cluster tampered underneath succeeds" \
	dio write $T 3584 /tmp/s7
check_eq "audit: the tamper is recorded at that write (kind=read_mismatch op=write)" 1 \
	"$(nrec '^cluster=0 kind=read_mismatch op=write ')"
rd 0 1 /tmp/r0
{ cat /tmp/evil; sect /tmp/c0 1 6; cat /tmp/s7; } >/tmp/x0
check "audit: the cluster holds the tampered sector, the guest's old sectors and its new one" \
	cmp /tmp/x0 /tmp/r0
check_eq "audit: read_mismatches=1" 1 "$(st read_mismatches)"

# 2. enforce mode: the write fails and nothing is written
dmsetup message $N 0 mode enforce
head -c $CS /dev/urandom >/tmp/c1
wr /tmp/c1 1
dio write $D $CS /tmp/evil
dio read $D $CS $CS /tmp/u1
check_fail "enforce: a 512-byte write into a tampered cluster fails" \
	dio write $T $((CS + 3584)) /tmp/s7
dio read $D $CS $CS /tmp/u1b
check "enforce: nothing of that write reached the data device" cmp /tmp/u1 /tmp/u1b
check_eq "enforce: the tamper is recorded (cluster=1 op=write)" 1 \
	"$(nrec '^cluster=1 kind=read_mismatch op=write ')"
check_fail "enforce: a 512-byte discard in the tampered cluster fails" \
	blkdiscard -o $((CS + 1024)) -l 512 $T
check_fail "enforce: a 512-byte write-zeroes in the tampered cluster fails" \
	blkzero zerorange $T $((CS + 2048)) 512
dio read $D $CS $CS /tmp/u1b
check "enforce: ... and nothing reached the data device either" cmp /tmp/u1 /tmp/u1b
dmsetup message $N 0 mode audit

# 3. the digest is of the merged cluster that was written: a dropped write shows
head -c $CS /dev/urandom >/tmp/c2
wr /tmp/c2 2
dio read $D $((2 * CS)) $CS /tmp/u2
check "a 512-byte write at sector 3 of a clean cluster succeeds" \
	dio write $T $((2 * CS + 1536)) /tmp/s7
dio read $D $((2 * CS)) $CS /tmp/m2
{ sect /tmp/c2 0 3; cat /tmp/s7; sect /tmp/c2 4 4; } >/tmp/x2
check "the data device holds the merged cluster" cmp /tmp/x2 /tmp/m2
check_eq "no record for a clean partial write" 0 "$(nrec '^cluster=2 ')"
dio write $D $((2 * CS)) /tmp/u2	# as if the write had been dropped
rd 2 1 2>/dev/null
check_eq "a dropped partial write is caught on the next read (cluster=2 op=read)" 1 \
	"$(nrec '^cluster=2 kind=read_mismatch op=read ')"

# 4. partial discard and write-zeroes check the cluster first (audit mode)
head -c $((2 * CS)) /dev/urandom >/tmp/c3
wr /tmp/c3 3
dio write $D $((3 * CS)) /tmp/evil
dio write $D $((4 * CS)) /tmp/evil
check "audit: a 512-byte discard in a tampered cluster succeeds" \
	blkdiscard -o $((3 * CS + 1024)) -l 512 $T
check "audit: a 512-byte write-zeroes in a tampered cluster succeeds" \
	blkzero zerorange $T $((4 * CS + 2048)) 512
check_eq "both tampers are recorded op=write (clusters 3 and 4)" "1 1" \
	"$(nrec '^cluster=3 kind=read_mismatch op=write ') $(nrec '^cluster=4 kind=read_mismatch op=write ')"
rd 4 1 /tmp/r4
{ cat /tmp/evil; sect /tmp/c3 9 3; head -c 512 /dev/zero; sect /tmp/c3 13 3; } >/tmp/x4
check "the write-zeroes merged zeros into the cluster" cmp /tmp/x4 /tmp/r4

# 5. a partial read is verified in the copy the guest receives
head -c $CS /dev/urandom >/tmp/c5
wr /tmp/c5 5
n0=$(vda_reads)
dio read $T $((5 * CS + 3584)) 512 /tmp/p5
n1=$(vda_reads)
check_eq "a 512-byte read through the target is one read of the data device" 1 $((n1 - n0))
sect /tmp/c5 7 1 >/tmp/x5
check "... and returns the cluster's data" cmp /tmp/x5 /tmp/p5
dio write $D $((5 * CS)) /tmp/evil
check "audit: a 512-byte read of an untouched sector of a tampered cluster succeeds" \
	dio read $T $((5 * CS + 3584)) 512 /tmp/p5
check_eq "audit: the tamper is recorded (cluster=5 op=read)" 1 \
	"$(nrec '^cluster=5 kind=read_mismatch op=read ')"
dmsetup message $N 0 mode enforce
check_fail "enforce: that read fails" dio read $T $((5 * CS + 3584)) 512 /tmp/p5
dmsetup message $N 0 mode audit

# 6. no false alarm: random 512-byte writes and reads over clean clusters
head -c $((1 << 20)) /dev/urandom | dio write $T $((8 << 20))
r0=$(report | grep -c '^cluster=')
m0=$(st read_mismatches)
uaio -n 400 -m 1 -w 70 -s 7 -o $((8 << 20)) -r $((1 << 20)) $T >/tmp/ua 2>&1
rc=$?
diag "$(cat /tmp/ua)"
check_eq "400 random 512-byte O_DIRECT I/Os over 1 MiB of clean clusters (over 200 writes), data intact" \
	"0 yes" "$rc $(sed -n 's/.*writes=\([0-9]*\).*/\1/p' /tmp/ua | awk '{print ($1 > 200) ? "yes" : "no"}')"
check "... and 100 of 1..16 sectors" \
	uaio -n 100 -m 16 -w 70 -s 8 -o $((8 << 20)) -r $((1 << 20)) $T
check_eq "no new record, read_mismatches unchanged" "$r0 $m0" \
	"$(report | grep -c '^cluster=') $(st read_mismatches)"
dmsetup message $N 0 scan
check "the scan completes" wait_scan
check_eq "the scan finds nothing new in them" "$r0" "$(report | grep -c '^cluster=')"

# 7. readers changing their own buffers cannot forge a mismatch (enforce)
head -c $((4 << 20)) /dev/urandom | dio write $T $((16 << 20))
blkdiscard -o $((32 << 20)) -l $((2 << 20)) $T	# unmeasured again
dmsetup message $N 0 mode enforce
r0=$(report | grep -c '^cluster=')
t0=$(st tofu)
check "enforce: 6 s of O_DIRECT reads into buffers rewritten meanwhile, no EIO" \
	scribble -R -t 6 -p 2 -o $((16 << 20)) -r $((4 << 20)) $T
check "enforce: 4 s of the same over discarded (unmeasured) clusters, no EIO" \
	scribble -R -t 4 -p 2 -o $((32 << 20)) -r $((2 << 20)) $T
check_eq "no record from them" "$r0" "$(report | grep -c '^cluster=')"
check "first-use digests came from the data, not the buffers (tofu grew)" \
	test "$(st tofu)" -gt "$t0"
check "enforce: every cluster read by them reads back without error" \
	sh -c "dio read $T $((16 << 20)) $((4 << 20)) /dev/null &&
	       dio read $T $((32 << 20)) $((2 << 20)) /dev/null"
check_eq "still no record" "$r0" "$(report | grep -c '^cluster=')"
ktap_done
