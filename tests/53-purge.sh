#!/bin/sh
# vm: --disk 64M --disk 16M --disk 64G --disk 640M --timeout 900
# SPDX-License-Identifier: GPL-2.0
# long-part: the 64 GiB walk after the cut, to its end (~2.5 min per kernel)
# zero_unwritten and purge (issue 17).  A fresh device over a data disk full
# of an earlier tenant's bytes reads zeros, never measured (no tofu); data
# written through reads back; after purge every byte reads zero (cmp with
# /dev/zero), a 512-byte write reads back as that sector and zeros, a whole
# cluster discard or write-zeroes reads zeros again, no_read_verify changes
# nothing; purge= shows the walk, the log has a purge record; the table
# round-trips; without zero_unwritten purge is refused (exit 9 and the
# message); 1.6 metadata (--without unwritten) refuses zero_unwritten until
# vdirtctl upgrade, after which the old data still reads.  On a 64 GiB sparse
# device (crc32c, 16 Mi clusters) purge returns in well under a second
# ("# purge 64 GiB: N ms"); a power cut during its walk (the metadata and
# data devices swapped to dm-error, what a cut leaves), then a reopen: the
# walk runs again or is done, and nothing written before the purge reads back.
. "${0%/*}/lib.sh"

V=vdirtctl
SZ=$((64 << 20))
need_vdirtctl
use_devs t53

# poll_purge_done NAME [SECONDS]: until purge=- on NAME (default 300 s)
poll_purge_done() { wait_field_of "$1" purge - "${2:-300}"; }
# kgrep TEXT: the kernel logged TEXT since kmark
kgrep() { knew | grep -q "$1"; }
# t_zu: the table of $N with zero_unwritten (and the options given before it)
t_zu() { table "$@" zero_unwritten; }

cleanup() { rm -f /tmp/r53 /tmp/w53 /tmp/e53 /tmp/o53 /tmp/c53; }

ktap_start

# an earlier tenant's bytes on the data disk, and fresh metadata
check "the data disk holds an earlier tenant's random bytes" \
	sh -c "head -c $SZ /dev/urandom | dio write $D 0"
check "vdirtctl format (the default layout has the written bitmap)" \
	$V format --force $D $M
check "check names the feature unwritten" sh -c "$V check $M | grep -q 'features .*unwritten'"
open_or_end "create with zero_unwritten" "$(t_zu)"
tbl=$(dmsetup table $N)
case "$tbl" in *" 1 zero_unwritten") ok "dmsetup table prints zero_unwritten" ;;
	*) not_ok "dmsetup table prints zero_unwritten" "$tbl" ;; esac
check_eq "status purge=- while idle" - "$(st purge)"
drop_caches
check "read every byte of the fresh device" dio read $T 0 $SZ /tmp/r53
check "... all zeros: the earlier tenant's bytes are not readable" zeros /tmp/r53 $SZ
check_eq "... not measured on read (tofu 0)" 0 "$(st tofu)"
check_eq "... no mismatch" 0 "$(st read_mismatches)"

# written data reads back
check "fill the device with random data" sh -c "head -c $SZ /dev/urandom >/tmp/w53"
check "write all of it through" dio write $T 0 /tmp/w53
drop_caches
dio read $T 0 $SZ /tmp/r53
check "it reads back" cmp -s /tmp/w53 /tmp/r53
m=$(st measured)
check_eq "every cluster measured" $((SZ / CS)) "$m"

# purge: every byte zero
js=$($V purge --json $N); rc=$?
check_eq "vdirtctl purge: exit 0" 0 "$rc"
case "$js" in *'"name":"t53"'*'"waited":false'*'"seconds":'*) ok "purge --json: name, waited, seconds" ;;
	*) not_ok "purge --json: name, waited, seconds" "$js" ;; esac
p=$(st purge)
diag "purge= right after the message: $p"
case "$p" in -|[0-9]*/$((SZ / CS))) ok "purge= is - or POS/$((SZ / CS))" ;;
	*) not_ok "purge= is - or POS/$((SZ / CS))" "$p" ;; esac
drop_caches
check "read every byte after purge" dio read $T 0 $SZ /tmp/r53
check "... all zeros (cmp with /dev/zero)" zeros /tmp/r53 $SZ
check "the walk ends: purge=-" poll_purge_done $N
js=$($V status --json $N)
case "$js" in *'"purge":null'*) ok "status --json: purge null when idle" ;;
	*) not_ok "status --json: purge null when idle" "$js" ;; esac
drop_caches
dio read $T 0 $SZ /tmp/r53
check "after the walk: still all zeros" zeros /tmp/r53 $SZ
check_eq "... not measured on read (tofu 0)" 0 "$(st tofu)"
check "the log has a purge record" sh -c "$V log $N | grep -q purge"
check "purge --wait: exit 0" $V purge --wait -q $N
check_eq "... returns with purge=-" - "$(st purge)"

# a 512-byte write after purge: that sector, then zeros (its cluster and beyond)
head -c 512 /dev/urandom >/tmp/e53
check "write 512 bytes at sector 1 of cluster 5" dio write $T $((5 * CS + 512)) /tmp/e53
drop_caches
dio read $T $((4 * CS)) $((4 * CS)) /tmp/r53
{ head -c $((CS + 512)) /dev/zero; cat /tmp/e53; head -c $((2 * CS + CS - 1024)) /dev/zero; } >/tmp/o53
check "clusters 4..7 read: zeros, the 512 bytes, zeros" cmp -s /tmp/o53 /tmp/r53
check_eq "no mismatch" 0 "$(st read_mismatches)"

# whole-cluster discard and write-zeroes make clusters unwritten again
head -c $((4 * CS)) /dev/urandom >/tmp/c53
check "write clusters 20..23" dio write $T $((20 * CS)) /tmp/c53
check "discard clusters 20..21 (whole)" blkzero discard $T $((20 * CS)) $((2 * CS))
check "write-zeroes clusters 22..23 (punch)" blkzero punch $T $((22 * CS)) $((2 * CS))
drop_caches
dio read $T $((20 * CS)) $((4 * CS)) /tmp/r53
check "clusters 20..23 read zeros" zeros /tmp/r53 $((4 * CS))

# no_read_verify with zero_unwritten: an unwritten cluster still reads zeros
check "remove" close_dev
open_or_end "create with no_read_verify zero_unwritten" "$(table no_read_verify zero_unwritten)"
drop_caches
dio read $T $((100 * CS)) $CS /tmp/r53
check "an unwritten cluster reads zeros (no_read_verify)" zeros /tmp/r53 $CS
dio read $T $((4 * CS)) $((4 * CS)) /tmp/r53
check "the 512-byte write still reads back (no_read_verify)" cmp -s /tmp/o53 /tmp/r53

# the printed table round-trips: a second device from the printed line
tbl=$(dmsetup table $N)
case "$tbl" in *" 2 no_read_verify zero_unwritten") ok "printed in the canonical order" ;;
	*) not_ok "printed in the canonical order" "$tbl" ;; esac
check "remove" close_dev
check "create t53b from the printed line" open_as t53b "$tbl"
check_eq "t53b prints the same table" "$tbl" "$(dmsetup table t53b)"
check "remove t53b" dmsetup remove t53b

# without zero_unwritten: purge refused, the bits still kept
open_or_end "create without zero_unwritten"
out=$($V purge $N 2>&1); rc=$?
check_eq "vdirtctl purge without zero_unwritten: exit 9" 9 "$rc"
case "$out" in *"purge needs the zero_unwritten table argument (vdirtctl open --zero-unwritten)"*)
	ok "... the message says what is needed" ;;
	*) not_ok "... the message says what is needed" "$out" ;; esac
check_fail "dmsetup message purge is refused too" dmsetup message $N 0 purge
check "write cluster 40 without zero_unwritten" dio write $T $((40 * CS)) /tmp/c53
check "remove" close_dev
open_or_end "create with zero_unwritten again" "$(t_zu)"
drop_caches
dio read $T $((40 * CS)) $((4 * CS)) /tmp/r53
check "what the table without the flag wrote reads back (its bits were kept)" cmp -s /tmp/c53 /tmp/r53
check "remove" close_dev

# 1.6 metadata: zero_unwritten refused until vdirtctl upgrade
check "format --without unwritten (what 1.6 formats)" $V format --force --without unwritten $D $M
open_or_end "create without zero_unwritten on 1.6 metadata"
check "write clusters 0..3" dio write $T 0 /tmp/c53
check "remove" close_dev
kmark
check_fail "zero_unwritten on 1.6 metadata: refused" open_dev "$(t_zu)"
check "... the kernel says why" kgrep 'zero_unwritten needs metadata with a written bitmap' 
out=$($V open --zero-unwritten $D $M $N 2>&1); rc=$?
check_eq "vdirtctl open --zero-unwritten on 1.6 metadata: exit 9" 9 "$rc"
case "$out" in *"vdirtctl upgrade"*) ok "... it names vdirtctl upgrade" ;;
	*) not_ok "... it names vdirtctl upgrade" "$out" ;; esac
dmsetup remove $N >/dev/null 2>&1
check "vdirtctl upgrade" $V upgrade $M
check "check: the feature unwritten now" sh -c "$V check $M | grep -q 'features .*unwritten'"
check "vdirtctl open --zero-unwritten" $V open -q --zero-unwritten $D $M $N
drop_caches
dio read $T 0 $((4 * CS)) /tmp/r53
check "the old data still reads (every cluster written at upgrade)" cmp -s /tmp/c53 /tmp/r53
check "purge the upgraded device" $V purge --wait -q $N
drop_caches
dio read $T 0 $((4 * CS)) /tmp/r53
check "... then it reads zeros" zeros /tmp/r53 $((4 * CS))
check "remove" close_dev

# 64 GiB (sparse disks): purge returns in well under a second; a power cut
# during its walk.  D and M are dm-linear over the disks, to swap to error.
check "dm-linear over the 64 GiB data disk" part_dev d53 /dev/vdc
check "dm-linear over the metadata disk" part_dev m53 /dev/vdd
use_devs t53g /dev/mapper/d53 /dev/mapper/m53
HASH=crc32c
GC=$(( $(sectors $D) * 512 / CS ))
check "vdirtctl format 64 GiB, crc32c" $V format --force --hash crc32c $D $M
open_or_end "create the 64 GiB device with zero_unwritten" "$(t_zu)"
head -c $((4 * CS)) /dev/urandom >/tmp/c53
for c in 0 $((GC / 2)) $((GC - 4)); do
	dio write $T $((c * CS)) /tmp/c53 || not_ok "write 4 clusters at $c"
done
drop_caches
dio read $T $(((GC / 2) * CS)) $((4 * CS)) /tmp/r53
check "written clusters read back" cmp -s /tmp/c53 /tmp/r53
js=$($V purge --json $N); rc=$?
check_eq "purge of 64 GiB: exit 0" 0 "$rc"
s=$(echo "$js" | sed -n 's/.*"seconds":\([0-9.e+-]*\).*/\1/p')
ms=$(awk -v s="${s:-99}" 'BEGIN { printf "%d", s * 1000 }')
echo "# purge 64 GiB: $ms ms"
if [ "$ms" -lt 1000 ]; then ok "purge of 64 GiB ($GC clusters) returns in under a second ($ms ms)"
else not_ok "purge of 64 GiB ($GC clusters) returns in under a second" "$ms ms: $js"; fi
p=$(st purge)
diag "at the cut: purge=$p"
# the cut: the metadata device first (nothing more reaches it), then the data
check "power cut: the metadata device to dm-error" \
	swap_table m53 "0 $(sectors /dev/vdd) error"
check "... and the data device" swap_table d53 "0 $(sectors /dev/vdc) error"
dd if=$T of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null
dmsetup remove $N >/dev/null 2>&1 || { sleep 1; dmsetup remove $N >/dev/null 2>&1; }
check_fail "the device is gone" dmsetup info $N
check "power back: both linear again" sh -c \
	"dmsetup reload m53 --table '0 $(sectors /dev/vdd) linear /dev/vdd 0' && dmsetup resume m53 &&
	 dmsetup reload d53 --table '0 $(sectors /dev/vdc) linear /dev/vdc 0' && dmsetup resume d53"
case "$p" in
[0-9]*) check "cut during the walk: the superblock has the flag purge" sh -c \
	"$V check $M | grep -q 'flags [a-z,-]*purge'" ;;
*) skip "cut during the walk: the flag purge" "the walk was done before the cut (purge=$p)" ;;
esac
open_or_end "reopen after the cut" "$(t_zu)"
p=$(st purge)
diag "after reopen: purge=$p"
case "$p" in -|[0-9]*/$GC) ok "purge= shows the walk again, or done ($p)" ;;
	*) not_ok "purge= shows the walk again, or done" "$p" ;; esac
drop_caches
ok_all=1
for c in 0 $((GC / 2)) $((GC - 4)) 12345 $((GC / 3)); do
	dio read $T $((c * CS)) $((4 * CS)) /tmp/r53 && zeros /tmp/r53 $((4 * CS)) || ok_all=
done
if [ -n "$ok_all" ]; then ok "nothing written before the purge reads back after the cut (while the walk runs)"
else not_ok "nothing written before the purge reads back after the cut"; fi
if long_part "the 64 GiB walk after the cut, to its end"; then
check "the walk ends: purge=-" poll_purge_done $N 600
drop_caches
ok_all=1
for c in 0 $((GC / 2)) $((GC - 4)); do
	dio read $T $((c * CS)) $((4 * CS)) /tmp/r53 && zeros /tmp/r53 $((4 * CS)) || ok_all=
done
if [ -n "$ok_all" ]; then ok "... and after it: zeros"; else not_ok "... and after it: zeros"; fi
check "remove the 64 GiB device" close_dev
check "check: no purge flag any more" sh -c "! $V check $M | grep -q 'flags [a-z,-]*purge'"
fi
ktap_done
