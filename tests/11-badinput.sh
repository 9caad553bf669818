#!/bin/sh
# vm: --disk 16M --disk 4M --disk 4M --disk 8M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# Bad input: every malformed table line is refused with a specific kernel
# message (missing args, unknown option, bad numbers, every table option out
# of range, unknown hash, cluster size not a power of two / out of range /
# below the logical block size, data device too small, same device twice,
# metadata device too small, holding foreign data, formatted for another
# geometry/cluster size/hash, bad superblock checksum, unknown version) and
# nothing is written on refusal.
# Then the module is unloaded and loaded repeatedly with devices in between.
. "${0%/*}/lib.sh"

use_devs t11	# data /dev/vda, 16 MiB; metadata /dev/vdb, 4 MiB
X=/dev/vdc	# scratch metadata, 4 MiB
I=/dev/vdd	# dm-integrity with 4 KiB logical blocks

cleanup() {
	for d in $N small short exact ib; do
		dmsetup remove $d
	done
	grep -q '^dm_vdirt ' /proc/modules || modprobe dm_vdirt
}

# msum DEV: sha256 of a whole device, read with O_DIRECT
msum() { dio read "$1" 0 $(($(sectors "$1") * 512)) | sha256sum | cut -c1-64; }
# refuse DESC TABLE [EXTRA_PATTERN]: TABLE must be refused and the kernel log
# must say why (a vdirt line that is not dm's generic "Unknown error").
refuse() {
	_log=$(dmesg)
	KMARK=$(printf '%s\n' "$_log" | wc -l)
	if open_dev "$2" >/dev/null 2>&1; then
		dmsetup remove $N >/dev/null 2>&1
		not_ok "refused: $1" "table accepted: $2"
		return 0
	fi
	_new=$(dmesg | tail -n +$((KMARK + 1)) | sed 's/^\[[^]]*\] *//')
	_m=$(printf '%s\n' "$_new" | grep -E "vdirt: ${3:+|$3}" | grep -v 'Unknown error' | tail -n 1)
	if [ -n "$_m" ]; then
		ok "refused: $1"
		diag "  $_m"
	else
		not_ok "refused: $1" "no specific kernel message; new log lines:"
		printf '%s\n' "$_new" | tail -n 4 | sed 's/^/#   /'
	fi
}
# accept TABLE: create then remove
accept() { open_dev "$1" && close_dev; }
# has_magic FILE BLOCK: the block starts with "VDIRTMD1"
has_magic() { [ "$(dd if="$1" bs=8 skip=$(($2 * 512)) count=1 2>/dev/null)" = VDIRTMD1 ]; }

ktap_start

L=$(sectors $D)
B=$(table)

# --- A: syntax, on a zeroed metadata device ----------------------------------
diag "section A at uptime $(cut -d' ' -f1 /proc/uptime) s"
zd=$(msum $D)
zm=$(msum $M)
refuse "no arguments" "0 $L vdirt"
refuse "only a data device" "0 $L vdirt $D"
refuse "no cluster size" "0 $L vdirt $D $M"
refuse "no hash algorithm" "0 $L vdirt $D $M 4096"
refuse "unknown option" "$B 1 frobnicate"
refuse "unknown mode" "$B 1 mode:sideways"
refuse "option count not a number" "$B x mode:audit"
refuse "option count larger than the options given" "$B 2 mode:audit"
refuse "extra argument after the options" "$B 1 mode:audit extra"
refuse "cache_mb not a number" "$B 1 cache_mb:lots"
refuse "cache_mb empty" "$B 1 cache_mb:"
refuse "small_read_cpu above 3" "$B 1 small_read_cpu:4"
refuse "small_write_cpu not 0 or 1" "$B 1 small_write_cpu:2"
refuse "page_recycle above 1024" "$B 1 page_recycle:1025"
refuse "max_io_kb above 256" "$B 1 max_io_kb:512"
refuse "scan_depth above 8" "$B 1 scan_depth:9"
refuse "scan_depth not a number" "$B 1 scan_depth:deep"
refuse "intent not 0 or 1" "$B 1 intent:2"
refuse "write_hash above 3" "$B 1 write_hash:4"
refuse "commit_s 0" "$B 1 commit_s:0"
refuse "commit_s above 600" "$B 1 commit_s:601"
refuse "write_back above 256" "$B 1 write_back:257"
refuse "write_back not a number" "$B 1 write_back:x"
# 15 optional arguments at most since write_back (issue 13)
refuse "more than 15 optional arguments" "$B 16 fail_open fail_open fail_open fail_open fail_open fail_open fail_open fail_open fail_open fail_open fail_open fail_open fail_open fail_open fail_open fail_open"
refuse "cluster size not a number" "0 $L vdirt $D $M 4k sha256"
refuse "negative cluster size" "0 $L vdirt $D $M -4096 sha256"
refuse "cluster size 3072 (not a power of two)" "0 $L vdirt $D $M 3072 sha256"
refuse "cluster size 4095 (not a power of two)" "0 $L vdirt $D $M 4095 sha256"
refuse "cluster size 256 (below 512)" "0 $L vdirt $D $M 256 sha256"
refuse "cluster size 0" "0 $L vdirt $D $M 0 sha256"
refuse "cluster size 131072 (above 65536)" "0 $L vdirt $D $M 131072 sha256"
refuse "unknown hash algorithm" "0 $L vdirt $D $M 4096 nosuchhash"
refuse "a cipher is not a hash (aes)" "0 $L vdirt $D $M 4096 aes"
refuse "data device smaller than the table length" "0 $((L + 8)) vdirt $D $M 4096 sha256" "too small"
refuse "same device as data and metadata" "0 $L vdirt $D $D 4096 sha256"
refuse "data device does not exist" "0 $L vdirt /dev/nonexistent $M 4096 sha256"
refuse "metadata device does not exist" "0 $L vdirt $D /dev/nonexistent 4096 sha256"
check_eq "refused tables wrote nothing to the data and metadata devices" "$zd $zm" "$(msum $D) $(msum $M)"

# --- B: metadata device too small ---------------------------------------------
diag "section B at uptime $(cut -d' ' -f1 /proc/uptime) s"
# documented size: 2 + ceil(C/51) + 1 + 256 + 16 blocks of 4 KiB for sha256
# (packed 80-byte entries), then the staging area, ceil(C * 32 / 4096) blocks,
# the epoch table (1 block), 16 write sets of ceil(C / 32640) blocks and the
# digest history, ceil(C / 1024) blocks, the attestation tree and the
# written bitmap, ceil(C / 32640) blocks
need=$(((2 + (L / 8 + 50) / 51 + 1 + 256 + 16 + (L / 8 + 127) / 128 + 1 +
	16 * ((L / 8 + 32639) / 32640) + (L / 8 + 1023) / 1024 +
	$(tree_blocks $((L / 8))) + (L / 8 + 32639) / 32640) * 8))
zx=$(msum $X)
part_dev small $X 16
part_dev short $X $((need - 8))
refuse "metadata device of 8 KiB" "0 $L vdirt $D /dev/mapper/small 4096 sha256"
refuse "metadata device one block short of the documented size" \
	"0 $L vdirt $D /dev/mapper/short 4096 sha256"
dmsetup remove small
dmsetup remove short
check_eq "refused small metadata devices were not written" "$zx" "$(msum $X)"
part_dev exact $X $need
check "metadata device of exactly the documented size is accepted" \
	accept "0 $L vdirt $D /dev/mapper/exact 4096 sha256"
dmsetup remove exact

# --- C: metadata device holding foreign data -----------------------------------
diag "section C at uptime $(cut -d' ' -f1 /proc/uptime) s"
head -c $((1 << 20)) /dev/urandom | dio write $X 0
fx=$(msum $X)
refuse "metadata device holding foreign data (no vdirt magic)" "0 $L vdirt $D $X 4096 sha256"
check_eq "foreign metadata device was not overwritten" "$fx" "$(msum $X)"

# --- D: metadata formatted for another geometry --------------------------------
diag "section D at uptime $(cut -d' ' -f1 /proc/uptime) s"
check "a zeroed metadata device is formatted and used" \
	eval 'open_dev "$B" && head -c 16384 /dev/urandom | dio write $T 0'
check "clean remove" dmsetup remove $N
fm=$(msum $M)
refuse "metadata formatted for another data size" "0 $((L / 2)) vdirt $D $M 4096 sha256"
refuse "metadata formatted for another cluster size" "0 $L vdirt $D $M 8192 sha256"
refuse "metadata formatted for another hash (sha1)" "0 $L vdirt $D $M 4096 sha1"
refuse "metadata formatted for another hash of the same size (blake2b-256)" \
	"0 $L vdirt $D $M 4096 blake2b-256"
check_eq "refusals left the formatted metadata unchanged" "$fm" "$(msum $M)"
check "the original table is still accepted" accept "$B"

# --- E/F: superblock checksum and version --------------------------------------
diag "section E/F at uptime $(cut -d' ' -f1 /proc/uptime) s"
dio read $M 0 8192 /tmp/sb.orig
copies=
for b in 0 1; do
	has_magic /tmp/sb.orig $b && copies="$copies $b"
done
check "a superblock copy with magic VDIRTMD1 is in block 0 or 1" test -n "$copies"
cp /tmp/sb.orig /tmp/sb.chk
for b in $copies; do
	sb_fix_csum /tmp/sb.chk $b
done
check "superblock checksum is crc32c as documented" cmp /tmp/sb.orig /tmp/sb.chk

cp /tmp/sb.orig /tmp/sb.bad
for b in $copies; do
	o=$((b * 4096 + 12))
	putbytes /tmp/sb.bad $o $(($(byte /tmp/sb.bad $o) ^ 255))
done
dio write $M 0 /tmp/sb.bad
bm=$(msum $M)
refuse "superblock with a bad checksum (every copy)" "$B"
check_eq "bad-checksum metadata was not overwritten" "$bm" "$(msum $M)"

cp /tmp/sb.orig /tmp/sb.ver
for b in $copies; do
	putbytes /tmp/sb.ver $((b * 4096 + 8)) 99 0 0 0
	sb_fix_csum /tmp/sb.ver $b
done
dio write $M 0 /tmp/sb.ver
vm=$(msum $M)
refuse "superblock with unknown format version 99 (valid checksum)" "$B"
check_eq "unknown-version metadata was not overwritten" "$vm" "$(msum $M)"
dio write $M 0 /tmp/sb.orig
check "restored superblock is accepted again" accept "$B"

# --- G: cluster size below the data device's logical block size -----------------
diag "section G at uptime $(cut -d' ' -f1 /proc/uptime) s"
blkzero zeroout $X 0 $((4 << 20))
if aux_dev ib "0 8 integrity $I 0 4 J 2 block_size:4096 internal_hash:crc32c" 2>/dev/null &&
	[ "$(blockdev --getss /dev/mapper/ib)" = 4096 ]; then
	zx=$(msum $X)
	refuse "cluster size 512 below a 4096-byte logical block size" "0 8 vdirt /dev/mapper/ib $X 512 sha256"
	refuse "cluster size 2048 below a 4096-byte logical block size" "0 8 vdirt /dev/mapper/ib $X 2048 sha256"
	check_eq "nothing written on those refusals" "$zx" "$(msum $X)"
	check "cluster size 4096 on that device is accepted" accept "0 8 vdirt /dev/mapper/ib $X 4096 sha256"
else
	for s in "cluster size 512 below a 4096-byte logical block size" \
		"cluster size 2048 below a 4096-byte logical block size" \
		"nothing written on those refusals" "cluster size 4096 on that device is accepted"; do
		skip "$s" "no device with 4096-byte logical blocks (dm-integrity block_size:4096)"
	done
fi
dmsetup remove ib 2>/dev/null

# --- H: module unload/load with devices created and removed in between ---------
diag "section H at uptime $(cut -d' ' -f1 /proc/uptime) s"
kmark
check "create a device" open_dev "$B"
check_fail "rmmod refused while a vdirt device exists" rmmod dm_vdirt
check "remove it" dmsetup remove $N
ko=$(modinfo -n dm_vdirt 2>/dev/null)
[ -f "$ko" ] || ko=$(find /lib/modules -name 'dm[-_]vdirt.ko*' | head -n 1)
cycle() {
	rmmod dm_vdirt || return 1
	! dmsetup targets | grep -q '^vdirt ' || { echo "target still registered"; return 1; }
	[ ! -d /sys/module/dm_vdirt ] || { echo "/sys/module/dm_vdirt still there"; return 1; }
	insmod "$ko" || return 1
	dmsetup targets | grep -q '^vdirt ' || { echo "target not registered"; return 1; }
	open_dev "$B" || return 1
	head -c 65536 /dev/urandom | dio write /dev/mapper/$N 0 || return 1
	dio read /dev/mapper/$N 0 65536 /dev/null || return 1
	[ "$(status_field $N read_mismatches)" = 0 ] || { echo "mismatch after reload"; return 1; }
	dmsetup remove $N
}
for i in 1 2 3; do
	check "unload, load ($ko), create, write, read, remove: cycle $i" cycle
done
check_eq "kernel log after the cycles: no leak, BUG or WARNING" "" \
	"$(knew | grep -Ei 'still has objects|kmemleak|leak|BUG|WARNING|Oops' | head -n 3)"
check "module loaded at the end" grep -q '^dm_vdirt ' /proc/modules
diag "done at uptime $(cut -d' ' -f1 /proc/uptime) s"
ktap_done
