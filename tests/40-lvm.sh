#!/bin/sh
# vm: --disk 512M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# tools/vdirt-lv with real lvm2 (a VG on a virtio disk, no udev): open makes
# the metadata LV (meta-size rounded up to the extent) and the dm-vdirt device,
# is idempotent; data written through reads back; a change made underneath on
# the LV is reported as read_mismatch; close keeps the metadata LV; a reopen
# keeps the measurements (a change made while closed is caught); --purge
# removes the metadata LV; bad targets give clear errors.  With
# --zero-unwritten: purge VG/LV reads zeros after, close --purge purges the
# data through the target before removing the metadata LV.
. "${0%/*}/lib.sh"

S=${VDIRT_TOOLS:-/usr/local/sbin}	# tools/ as mkguest installs them
VL=$S/vdirt-lv
V=vdirtctl
VG=vg40
LVD=/dev/mapper/$VG-data
# the LV vg40/data and the metadata LV vdirt-lv makes; vdirt-lv opens the device
use_devs $VG-data-vdirt $LVD /dev/mapper/$VG-data_vdirt_meta
LCFG='activation { udev_sync = 0 udev_rules = 0 } devices { obtain_device_list_from_udev = 0 }'

L() { _c=$1; shift; lvm "$_c" --config "$LCFG" "$@"; }
vl() { sh "$VL" "$@"; }

cleanup() {
	dmsetup remove $N
	L vgchange -an $VG
}

[ -f "$VL" ] || skip_all "no $VL (set VDIRT_TOOLS)"
command -v lvm >/dev/null 2>&1 || skip_all "no lvm in the guest"
command -v $V >/dev/null 2>&1 || skip_all "no vdirtctl in the guest"

tamper() { head -c 512 /dev/urandom | dio write $LVD $(($1 * CS + 512)); }
lvex() { L lvs --noheadings -o lv_name "$VG/$1" >/dev/null 2>&1; }

ktap_start

dd if=/dev/zero of=/dev/vda bs=1M count=4 2>/dev/null
L pvcreate -y /dev/vda >/dev/null 2>&1 && L vgcreate $VG /dev/vda >/dev/null 2>&1 &&
	L lvcreate -y -Zn -L 64M -n data $VG >/dev/null 2>&1
check "a VG and a 64 MiB LV on the virtio disk" test -b $LVD

check "open" vl open $VG/data
check "the dm-vdirt device appears" test -b $T
check "the metadata LV exists next to it" lvex data_vdirt_meta
need=$($V meta-size $LVD)
ext=$(L vgs --noheadings --units b --nosuffix -o vg_extent_size $VG | tr -d ' ')
msz=$(L lvs --noheadings --units b --nosuffix -o lv_size $VG/data_vdirt_meta | tr -d ' ')
check_eq "metadata LV = meta-size rounded up to the extent" $(( (need + ext - 1) / ext * ext )) "$msz"
check_eq "the device covers the whole LV" "$(sectors $LVD)" "$(sectors $T)"
check "open again is a no-op" vl open $VG/data
check_eq "... still one device" 1 "$(dmsetup ls | grep -c "^${N}[[:space:]]")"

# write through, read back
head -c $((16 * CS)) /dev/urandom >/tmp/w40
check "write 16 clusters through" dio write $T 0 /tmp/w40
drop_caches
rd 0 16 /tmp/r40
check "reads back what was written" cmp /tmp/w40 /tmp/r40
check_eq "no mismatch yet" 0 "$(st read_mismatches)"

# tamper underneath, on the LV
tamper 3
check "a read of the tampered cluster (audit mode) returns" rd 3 1
check_eq "read_mismatches counts it" 1 "$(st read_mismatches)"
case "$($V report $N)" in *"cluster 3 "*read_mismatch*) ok "report names cluster 3 as read_mismatch" ;;
	*) not_ok "report names cluster 3 as read_mismatch" "$($V report $N)" ;; esac
check "vdirt-lv status shows the device" sh -c "sh $VL status $VG/data | grep -q '^device *$T'"

# close keeps the metadata, reopen keeps the measurements
check "close" vl close $VG/data
check_fail "the device is gone" test -b $T
check "the metadata LV is kept" lvex data_vdirt_meta
check "close again is a no-op" vl close $VG/data
tamper 9
check "reopen" vl open $VG/data
m=$(st measured)
if [ "${m:-0}" -ge 16 ]; then ok "measurements kept across close/open ($m measured)"
else not_ok "measurements kept across close/open" "measured=$m"; fi
rd 9 1
case "$($V report $N)" in *"cluster 9 "*read_mismatch*) ok "a change made while closed is caught after reopen" ;;
	*) not_ok "a change made while closed is caught after reopen" "$($V report $N)" ;; esac

# errors
vl open $VG/nope >/dev/null 2>&1; rc=$?
check_eq "open of a missing LV: exit 4" 4 "$rc"
vl open $VG/data_vdirt_meta >/dev/null 2>&1; rc=$?
check_eq "open of a metadata LV: exit 2" 2 "$rc"

# purge
check "close --purge" vl close --purge $VG/data
check_fail "the metadata LV is gone" lvex data_vdirt_meta
check "open --hash crc32c --mode enforce --write-back 8 makes a fresh one" \
	vl open --hash crc32c --mode enforce --write-back 8 $VG/data
tbl=$(dmsetup table $N)
case "$tbl" in *" vdirt "*crc32c*enforce*) ok "fresh metadata with crc32c, enforce mode" ;;
	*) not_ok "fresh metadata with crc32c, enforce mode" "$tbl" ;; esac
case "$tbl" in *" write_back:8") ok "--write-back 8 reaches the table" ;;
	*) not_ok "--write-back 8 reaches the table" "$tbl" ;; esac
check "close --purge (no zero_unwritten: metadata only)" vl close --purge $VG/data
check_fail "... the metadata LV is gone" lvex data_vdirt_meta

# the data purge through the target (issue 17): open --zero-unwritten, then
# purge VG/LV, and close --purge purges the data before the metadata LV
check "open --zero-unwritten" vl open --zero-unwritten $VG/data
case " $(dmsetup table $N) " in *" zero_unwritten "*) ok "the table has zero_unwritten" ;;
	*) not_ok "the table has zero_unwritten" "$(dmsetup table $N)" ;; esac
check "write 16 clusters through" dio write $T 0 /tmp/w40
check "vdirt-lv purge --wait" vl purge $VG/data --wait
drop_caches
rd 0 16 /tmp/r40
head -c $((16 * CS)) /dev/zero >/tmp/z40
check "after purge the 16 clusters read as zeros" cmp /tmp/z40 /tmp/r40
check_eq "the walk is done: purge=-" - "$(st purge)"
check "write again" dio write $T 0 /tmp/w40
check "close --purge with zero_unwritten" vl close --purge $VG/data
check_fail "... the metadata LV is gone" lvex data_vdirt_meta
# the walk's discard/write-zeroes reach the LV only where the disk supports
# them: what the LV itself holds now is a diagnostic, not a check
dio read $LVD 0 $((16 * CS)) /tmp/r40
if cmp -s /tmp/z40 /tmp/r40; then diag "the LV underneath reads zeros too (discard/write-zeroes reached it)"
else diag "the LV underneath still holds data (no discard/write-zeroes that zero on this disk)"; fi
check "reopen (fresh metadata)" vl open $VG/data
vl purge $VG/data >/dev/null 2>&1; rc=$?
check_eq "vdirt-lv purge without zero_unwritten: exit 9" 9 "$rc"
vl close --purge $VG/data >/dev/null 2>&1
vl purge $VG/data >/dev/null 2>&1; rc=$?
check_eq "vdirt-lv purge of a closed device: exit 4" 4 "$rc"
ktap_done
