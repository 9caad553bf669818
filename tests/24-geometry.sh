#!/bin/sh
# vm: --disk 16M --disk 8M --disk 4M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# Geometry changes and a full mismatch ring: a metadata device too small is
# refused and the kernel log gives both sizes; a data device grown under a
# live target and a table reloaded with the larger length is refused with a
# clear message while the old table stays live with its measurements; a
# reload longer than the data device is refused; a reload onto a shorter
# (shrunk) metadata device is refused, and the metadata device shrunk under
# the live target fails it at the next resume with a clear message (reads
# fail, removal works, the restored metadata reopens intact); more mismatches
# than the record ring holds (VDIRT_LOG_CAPACITY = 4096): the report shows
# the newest 4096, the first stored record advances, the counter counts all,
# and a second scan and a reopen change nothing.
. "${0%/*}/lib.sh"

use_devs t24	# data /dev/vda (16 MiB) under d24, metadata /dev/vdb (8 MiB) under m24
R=/dev/vdc	# metadata of the ring test, 4 MiB
V=vdirtctl

cleanup() {
	dmsetup remove $N
	for d in m24s m24 d24; do
		dmsetup remove $d
	done
}

st() { status_field $N "$1"; }
report() { dmsetup message $N 0 report; }
# klog PATTERN: a new kernel log line matches the (extended) PATTERN
klog() { knew | grep -Eq "$1"; }
rd() { dio read $T $(($1 * CS)) $(($2 * CS)) "${3:-/dev/null}"; }
wr() { dio write $T $(($2 * CS)) "$1"; }
swap() { dmsetup reload "$1" --table "$2" && dmsetup resume "$1"; }
# need SECTORS CS ENTRY [DIGEST]: documented metadata bytes
# (Documentation/dm-vdirt.rst), digest size 32 (sha256) by default
need() {
	_c=$(($1 * 512 / $2))
	_epb=$((4096 / $3))
	_ir=$(((_c + 1023) / 1024))
	_ib=$(((_ir + 32767) / 32768))
	[ $_ib -lt 1 ] && _ib=1
	_sb=$(((_c * ${4:-32} + 4095) / 4096))
	# the epoch table (16 epochs, 1 block), 16 write sets of 32640 clusters a
	# block, the digest history (a block per 1024 clusters), the tree, the
	# written bitmap (32640 clusters a block)
	_ws=$((16 * ((_c + 32639) / 32640) + (_c + 1023) / 1024 +
		$(tree_blocks $_c) + (_c + 32639) / 32640))
	echo $(((2 + (_c + _epb - 1) / _epb + _ib + 256 + 16 + _sb + 1 + _ws) * 4096))
}
# live LEN: the live table has length LEN and there is no inactive table
live() {
	[ "$(dmsetup table $N | cut -d' ' -f2)" = "$1" ] &&
		dmsetup info $N | grep -q '^Tables present: *LIVE$'
}
dfield() { $V devices --json | tr ',{}' '\n\n\n' | sed -n "s/^\"$1\"://p" | head -n 1; }

ktap_start

L1=16384			# 8 MiB: the data device d24 at first
L2=$(sectors $D)		# 16 MiB: d24 grown
n1=$(need $L1 $CS 80)		# sha256: packed 80-byte entries

# --- metadata device too small ---------------------------------------------
part_dev d24 $D $L1
part_dev m24s $M $((n1 / 512 - 8))
kmark
check_fail "a metadata device one block too small is refused" \
	open_dev "0 $L1 vdirt /dev/mapper/d24 /dev/mapper/m24s $CS sha256"
check "kernel log: 'metadata device too small: $n1 bytes needed, $((n1 - 4096)) bytes available'" \
	klog "vdirt: metadata device too small: $n1 bytes needed, $((n1 - 4096)) bytes available"
dmsetup remove m24s

# --- data device grown, table reloaded with the larger length ---------------
part_dev m24 $M
TAB1="0 $L1 vdirt /dev/mapper/d24 /dev/mapper/m24 $CS sha256"
check "create on 8 MiB of data" open_dev "$TAB1"
head -c $((64 * CS)) /dev/urandom >/tmp/a24
wr /tmp/a24 0
head -c $CS /dev/urandom >/tmp/e24
dio write $D $((63 * CS)) /tmp/e24	# one mismatch, to see it survive
rd 0 64
check_eq "64 clusters measured, one mismatch (63) recorded" "64 1" "$(st measured) $(st read_mismatches)"
report >/tmp/rep24
check "data device grown to 16 MiB under the live target" sh -c "
	dmsetup reload d24 --table '0 $L2 linear $D 0' && dmsetup resume d24 && [ \$(blockdev --getsz /dev/mapper/d24) = $L2 ]"
kmark
check_fail "reload with the grown length ($L2 sectors) is refused" \
	dmsetup reload $N --table "0 $L2 vdirt /dev/mapper/d24 /dev/mapper/m24 $CS sha256"
check "kernel log: 'metadata belongs to another data geometry: $L1 data sectors on disk, $L2 in table'" \
	klog "vdirt: metadata belongs to another data geometry: $L1 data sectors on disk, $L2 in table"
check "the old table stays live (length $L1, no inactive table)" live $L1
check "suspend and resume of the old table" sh -c "dmsetup suspend $N && dmsetup resume $N"
check_eq "state=ok, measured=64" "ok 64" "$(st state) $(st measured)"
rd 0 63 /tmp/r24
check "the old data reads back" sh -c "head -c $((63 * CS)) /tmp/a24 | cmp - /tmp/r24"
check_eq "no new mismatch: the report is unchanged" "$(cat /tmp/rep24)" "$(report)"
head -c $((4 * CS)) /dev/urandom >/tmp/b24
wr /tmp/b24 1000
rd 1000 4 /tmp/r24
check "the old table still measures: new writes read back, no mismatch" \
	sh -c "cmp /tmp/b24 /tmp/r24 && [ \$(dmsetup status $N | tr ' ' '\n' | sed -n 's/^read_mismatches=//p') = 1 ]"

# --- table longer than the data device --------------------------------------
kmark
check_fail "reload longer than the data device ($((2 * L2)) > $L2 sectors) is refused" \
	dmsetup reload $N --table "0 $((2 * L2)) vdirt /dev/mapper/d24 /dev/mapper/m24 $CS sha256"
check "kernel log says the data device is too small" \
	klog "vdirt: Data device smaller than the table length \\($L2 < $((2 * L2)) sectors\\)|too small for target"
check "the old table stays live" live $L1

# --- metadata device shrunk under the existing format -----------------------
part_dev m24s $M $((n1 / 512 - 8))
kmark
check_fail "reload onto a shorter dm-linear of the same metadata is refused" \
	dmsetup reload $N --table "0 $L1 vdirt /dev/mapper/d24 /dev/mapper/m24s $CS sha256"
check "kernel log: 'metadata device too small: $n1 bytes needed, $((n1 - 4096)) bytes available'" \
	klog "vdirt: metadata device too small: $n1 bytes needed, $((n1 - 4096)) bytes available"
check "the old table stays live" live $L1
rd 0 63 /tmp/r24
check "the old data still reads back without a new mismatch" \
	sh -c "head -c $((63 * CS)) /tmp/a24 | cmp - /tmp/r24 && [ \$(dmsetup status $N | tr ' ' '\n' | sed -n 's/^read_mismatches=//p') = 1 ]"
dmsetup remove m24s
# the metadata device itself shrunk under the live target: the next resume
# re-reads the superblock and fails the device with a clear message
check "metadata dm-linear shrunk under the live target" swap m24 "0 $((n1 / 512 - 8)) linear $M 0"
kmark
check "suspend and resume" sh -c "dmsetup suspend $N && dmsetup resume $N"
check "kernel log: 'metadata changed while inactive: layout larger than the device'" \
	klog "vdirt: [0-9]+:[0-9]+: metadata changed while inactive: layout larger than the device"
check_eq "state=failed" failed "$(st state)"
check_fail "reads fail (I/O error, no unverified data)" rd 0 1
swap m24 "0 $(sectors $M) linear $M 0"
check "metadata restored: the failed device can be removed" timeout 60 dmsetup remove $N
check "reopen on the restored metadata" open_dev "$TAB1"
rd 0 63 /tmp/r24
check "after reopen: the old data reads back, the mismatch of cluster 63 is still the only one" \
	sh -c "head -c $((63 * CS)) /tmp/a24 | cmp - /tmp/r24 && [ \"\$(dmsetup message $N 0 report | cut -d' ' -f1)\" = cluster=63 ]"
check "clean remove" dmsetup remove $N
dmsetup remove m24
dmsetup remove d24

# --- mismatch record ring overflow ------------------------------------------
# 4 MiB of data in 512-byte clusters: 8192 clusters, twice the ring
RC=512
RL=8192
# one region at a time (scan_depth:1), so that records come in cluster order
# (a pipelined scan records them in the order its regions finish)
TABR="0 $RL vdirt /dev/mapper/d24 $R $RC crc32c 1 scan_depth:1"
part_dev d24 $D $RL
check "create with 512-byte clusters (8192 clusters)" open_dev "$TABR"
head -c $((RL * 512)) /dev/urandom >/tmp/a24
dio write $T 0 /tmp/a24
head -c $((RL * 512)) /dev/urandom >/tmp/t24
dio write $D 0 /tmp/t24		# every cluster changed underneath
dmsetup message $N 0 scan
check "scan finishes" wait_scan_of $N 120
check_eq "read_mismatches counts all 8192" 8192 "$(st read_mismatches)"
report >/tmp/ring1
check_eq "the report has the newest 4096 records" 4096 "$(wc -l </tmp/ring1)"
seq 4096 8191 >/tmp/want24
check "... for clusters 4096..8191 in order (the oldest 4096 were overwritten)" \
	sh -c "sed -n 's/^cluster=\([0-9]*\) kind=read_mismatch op=scan .*/\1/p' /tmp/ring1 | cmp - /tmp/want24"
exp=$(dd if=/tmp/a24 bs=512 skip=8191 count=1 2>/dev/null | vdigest crc32c)
act=$(dd if=/tmp/t24 bs=512 skip=8191 count=1 2>/dev/null | vdigest crc32c)
check_eq "the newest record (cluster 8191) has the right digests" "expected=$exp actual=$act" \
	"$(tail -n 1 /tmp/ring1 | tr ' ' '\n' | grep -E '^(expected|actual)=' | tr '\n' ' ' | sed 's/ $//')"
if $V devices >/dev/null 2>&1; then
	# record 0 is the activation record (issue 14), the 8192 mismatches 1..8192
	check_eq "netlink: log_first=4097 (advanced), log_head=8193" "4097 8193" "$(dfield log_first) $(dfield log_head)"
else
	skip "netlink: log_first=4097 (advanced), log_head=8193" "no vdirt netlink family"
fi
dmsetup message $N 0 scan
wait_scan_of $N 120
check_eq "a second scan is stable: read_mismatches=8192" 8192 "$(st read_mismatches)"
check "... and the report is unchanged" sh -c "dmsetup message $N 0 report | cmp - /tmp/ring1"
dmsetup remove $N
check "reopen" open_dev "$TABR"
# the reopen's activation record (8193) took the slot of the oldest mismatch
# record (4097, cluster 4096): the report is the same less its first line
tail -n +2 /tmp/ring1 >/tmp/ring2
check "after reopen: read_mismatches=8192 and the same report less its oldest record" \
	sh -c "[ \$(dmsetup status $N | tr ' ' '\n' | sed -n 's/^read_mismatches=//p') = 8192 ] &&
	dmsetup message $N 0 report | cmp - /tmp/ring2"
check_eq "no kernel splat" "" "$(dmesg | grep -E 'BUG:|WARNING:|Oops|general protection' | head -n 2)"
ktap_done
