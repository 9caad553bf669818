#!/bin/sh
# vm: --disk 256M --disk 32M --timeout 500
# SPDX-License-Identifier: GPL-2.0
# Baselines through vdirtctl and the vdirt netlink family: for every hash the
# digests built offline by `vdirtctl baseline build` equal the kernel's captured
# ones; load / refusals (geometry, truncated, corrupt) / drift / tamper against a
# loaded baseline / interrupted load keeps the old baseline / clear; hashes and
# report JSON shapes.
. "${0%/*}/lib.sh"

# data: d31, the first 16 MiB of /dev/vda; opened by vdirtctl (it is tested)
L=d31
use_devs t31 /dev/mapper/$L
V=vdirtctl

command -v $V >/dev/null 2>&1 || skip_all "vdirtctl not in the guest image"
$V devices >/dev/null 2>&1 || skip_all "no vdirt netlink family (dm-vdirt-netlink.o not built in)"

# dig FILE CLUSTER DS: hex digest of CLUSTER in a baseline file
dig() { dd if="$1" bs=1 skip=$((256 + $2 * $3)) count="$3" 2>/dev/null | od -An -tx1 -v | tr -d ' \n'; }
# hcol CLUSTER COL: column COL (2 current, 3 baseline) of `vdirtctl hashes`
hcol() { $V hashes $N "$1" 1 | awk -v c="$2" '{ print $c }'; }
dfield() { $V devices --json | tr ',{}' '\n\n\n' | sed -n "s/^\"$1\"://p" | head -n 1; }
wr() { dd if="$1" of=$T bs=$CS seek="$2" oflag=direct conv=notrunc 2>/dev/null; }
rd() { dd if=$T of=/dev/null bs=$CS skip="$1" count="${2:-1}" iflag=direct 2>/dev/null; }

ktap_start

part_dev $L /dev/vda 32768
dd if=/dev/urandom of=/tmp/data bs=$CS count=8 2>/dev/null

for h in sha1 blake2b-256 xxhash64 crc32c sha512 blake2b-512 sha256; do
	case $h in sha256|blake2b-256) ds=32 ;; sha1) ds=20 ;; xxhash64) ds=8 ;; crc32c) ds=4 ;; *) ds=64 ;; esac
	dd if=/dev/zero of=$M bs=1M count=1 2>/dev/null
	dd if=/dev/zero of=$D bs=1M count=1 2>/dev/null
	$V format -q --force -h $h $D $M && $V open -q $D $M $N && wr /tmp/data 0 &&
		$V baseline capture $N && $V close $N &&
		$V baseline build -q -h $h --threads 2 $D -o /tmp/bl.$h && $V open -q $D $M $N
	same=1
	for c in 0 1 2 3 4 5 6 7; do
		k=$(hcol $c 3)
		u=$(dig /tmp/bl.$h $c $ds)
		[ -n "$k" ] && [ "$k" = "$u" ] || { same=0; diag "$h cluster $c: kernel '$k' userspace '$u'"; }
	done
	check_eq "$h: userspace baseline build equals the kernel's captured baseline" 1 $same
	[ $h = sha256 ] || $V close $N
done

# sha256 device is open: load the offline baseline of the whole device
check "baseline load" $V baseline load $N /tmp/bl.sha256
check_eq "every cluster baselined" 4096 "$(dfield baselined)"
check_eq "a never-written cluster's baseline is the zero digest" "$(dig /tmp/bl.sha256 100 32)" "$(hcol 100 3)"
check_eq "no drift yet" 0 "$(status_field $N write_drift)"

# refusals
out=$($V baseline load $N /tmp/bl.crc32c 2>&1); rc=$?
check_eq "a baseline of another hash is refused: exit 6" 6 $rc
case "$out" in *refused*crc32c*sha256*) ok "... saying what differs" ;; *) not_ok "... saying what differs" "$out" ;; esac
head -c 100000 /tmp/bl.sha256 >/tmp/bl.trunc
out=$($V baseline load $N /tmp/bl.trunc 2>&1); rc=$?
check_eq "a truncated baseline is refused: exit 6" 6 $rc
case "$out" in *truncated*) ok "... as truncated" ;; *) not_ok "... as truncated" "$out" ;; esac
cp /tmp/bl.sha256 /tmp/bl.flip
printf '\001' | dd of=/tmp/bl.flip bs=1 seek=5000 conv=notrunc 2>/dev/null
out=$($V baseline load $N /tmp/bl.flip 2>&1); rc=$?
check_eq "a corrupted baseline is refused: exit 6" 6 $rc
case "$out" in *corrupt*) ok "... as corrupt" ;; *) not_ok "... as corrupt" "$out" ;; esac
$V baseline build -q -c 8192 $D -o /tmp/bl.8k
out=$($V baseline load $N /tmp/bl.8k 2>&1); rc=$?
check_eq "a baseline with another cluster size is refused: exit 6" 6 $rc

# drift: a write that changes a baselined cluster
dd if=/dev/urandom of=/tmp/new bs=$CS count=1 2>/dev/null
wr /tmp/new 2
check_eq "write drift counted" 1 "$(status_field $N write_drift)"
rj=$($V report --json $N)
case "$rj" in *'"cluster":2,"sector":16,"kind":"write_drift"'*) ok "report --json names the drifted cluster" ;;
	*) not_ok "report --json names the drifted cluster" "$rj" ;; esac

# tampering underneath a cluster that only has a (loaded) baseline
dd if=/dev/urandom of=$D bs=512 seek=$((50 * 8 + 1)) count=1 oflag=direct conv=notrunc 2>/dev/null
drop_caches
rd 50
check_eq "a read of a tampered never-written cluster is a mismatch against the loaded baseline" 1 \
	"$(status_field $N read_mismatches)"
case "$($V report $N)" in *"cluster 50 "*read_mismatch*) ok "report names cluster 50" ;;
	*) not_ok "report names cluster 50" "$($V report $N)" ;; esac

# interrupted load leaves the old baseline
old2=$(hcol 2 3)
$V close $N
$V baseline build -q $D -o /tmp/bl2
$V open -q $D $M $N
VDIRTCTL_TEST_STOP_AFTER=2 $V baseline load $N /tmp/bl2 >/dev/null 2>&1; rc=$?
check_eq "an interrupted load exits 12" 12 $rc
check_eq "the interrupted load changed nothing (cluster 2 in its first chunk)" "$old2" "$(hcol 2 3)"
check "a load after an interrupted one works (the kernel dropped the stale one)" $V baseline load $N /tmp/bl2
check_eq "the new baseline is in force" "$(dig /tmp/bl2 2 32)" "$(hcol 2 3)"

# a load held open: a second one is refused (busy); killing the first aborts it
rm -f /tmp/loadlog
VDIRTCTL_TEST_PAUSE_AFTER=1 $V --debug baseline load $N /tmp/bl.sha256 2>/tmp/loadlog &
LP=$!
_i=0
while ! grep -q pausing /tmp/loadlog 2>/dev/null && [ $_i -lt 100 ]; do usleep 100000; _i=$((_i + 1)); done
$V baseline load $N /tmp/bl.sha256 >/dev/null 2>&1; rc=$?
check_eq "a second concurrent load is refused as busy: exit 5" 5 $rc
kill -9 $LP
wait $LP 2>/dev/null
check_eq "the killed load changed nothing" "$(dig /tmp/bl2 2 32)" "$(hcol 2 3)"
check "after the kill a new load works" $V baseline load $N /tmp/bl2
hj=$($V hashes --json $N 2 1)
case "$hj" in *'{"cluster":2,"current":"'*'","baseline":"'*'"}'*) ok "hashes --json shape" ;;
	*) not_ok "hashes --json shape" "$hj" ;; esac
mm=$(devno $T)
check_eq "a device addressed by major:minor ($mm)" "$($V hashes $N 2 1)" "$($V hashes $mm 2 1)"
check "baseline clear" $V baseline clear $N
check_eq "nothing baselined after clear" 0 "$(dfield baselined)"
check "clear mismatches" $V clear $N
check_eq "report empty after clear" "[
]" "$($V report --json $N)"
check "close" $V close $N

ktap_done
