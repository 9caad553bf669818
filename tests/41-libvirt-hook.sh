#!/bin/sh
# vm: --disk 512M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# tools/libvirt-hook-qemu run the way libvirt runs /etc/libvirt/hooks/qemu
# (qemu DOMAIN OPERATION SUB-OPERATION EXTRA, domain XML on stdin): "prepare
# begin" opens a dm-vdirt device per tagged disk (an LV tag inside <disk>, a
# data/meta tag in <metadata>), leaves untagged disks alone, other operations
# do nothing, "release end" closes them and keeps the metadata; a bad tag makes
# prepare fail and rolls back what it opened.  Each opened device gets an epoch
# labelled with the domain name.
. "${0%/*}/lib.sh"

S=${VDIRT_TOOLS:-/usr/local/sbin}	# tools/ as mkguest installs them
H=$S/libvirt-hook-qemu
V=vdirtctl
VG=vg41
# two devices, both opened by the hook: $N over LV a (tagged in <disk>),
# demo-b over LV b with b_meta (tagged in <metadata>)
use_devs $VG-a-vdirt /dev/$VG/a /dev/$VG/a_vdirt_meta
A=$T
B=/dev/mapper/demo-b
LCFG='activation { udev_sync = 0 udev_rules = 0 } devices { obtain_device_list_from_udev = 0 }'

L() { _c=$1; shift; lvm "$_c" --config "$LCFG" "$@"; }
# hook DOMAIN OP SUB XMLFILE
hook() { VDIRT_LV=$S/vdirt-lv sh "$H" "$1" "$2" "$3" - <"$4"; }

cleanup() {
	dmsetup remove $N
	dmsetup remove demo-b
	L vgchange -an $VG
}

[ -f "$H" ] || skip_all "no $H (set VDIRT_TOOLS)"
[ -f "$S/vdirt-lv" ] || skip_all "no $S/vdirt-lv"
command -v lvm >/dev/null 2>&1 || skip_all "no lvm in the guest"
command -v $V >/dev/null 2>&1 || skip_all "no vdirtctl in the guest"

ktap_start

dd if=/dev/zero of=/dev/vda bs=1M count=4 2>/dev/null
L pvcreate -y /dev/vda >/dev/null 2>&1 && L vgcreate $VG /dev/vda >/dev/null 2>&1 &&
	L lvcreate -y -Zn -L 32M -n a $VG >/dev/null 2>&1 &&
	L lvcreate -y -Zn -L 32M -n b $VG >/dev/null 2>&1 &&
	L lvcreate -y -Zn -L 8M -n b_meta $VG >/dev/null 2>&1 &&
	L lvcreate -y -Zn -L 8M -n c $VG >/dev/null 2>&1 && L vgmknodes $VG >/dev/null 2>&1
check "a VG with LVs a, b, b_meta, c" test -b /dev/$VG/c
check "b_meta formatted" $V format --force /dev/$VG/b /dev/$VG/b_meta

cat >/tmp/dom41.xml <<XML
<domain type='kvm'>
  <name>demo</name>
  <uuid>3f0d6c1a-2b7e-4c55-9a43-0c1e2d3f4a5b</uuid>
  <metadata>
    <vdirt:disks xmlns:vdirt="https://dm-vdirt.example/1">
      <vdirt:disk dev="$B" data="/dev/$VG/b" meta="/dev/$VG/b_meta" mode="enforce"/>
    </vdirt:disks>
  </metadata>
  <memory unit='KiB'>524288</memory>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none' io='native'/>
      <source dev='$A'/>
      <vdirt:disk xmlns:vdirt="https://dm-vdirt.example/1" lv="$VG/a"/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw'/>
      <source dev='$B'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='block' device='disk'>
      <source dev='/dev/$VG/c'/>
      <target dev='vdc' bus='virtio'/>
    </disk>
  </devices>
</domain>
XML

check "prepare begin succeeds" hook demo prepare begin /tmp/dom41.xml
check "the LV-tagged disk's device appears" test -b $A
check "the metadata-tagged disk's device appears" test -b $B
check "vdirt-lv made the metadata LV" L lvs $VG/a_vdirt_meta
case "$(dmsetup table demo-b)" in *" vdirt "*enforce*) ok "mode=enforce honoured" ;;
	*) not_ok "mode=enforce honoured" "$(dmsetup table demo-b)" ;; esac
check_eq "an epoch labelled with the domain opened on each: demo demo" "demo demo" \
	"$(for d in ${A#/dev/mapper/} demo-b; do
		$V epochs $d --json | grep -o '"label":"[^"]*"' | tail -n 1 | cut -d'"' -f4
	done | tr '\n' ' ' | sed 's/ $//')"
check_eq "the untagged disk is left alone" 2 "$(dmsetup ls | grep -c -- '-vdirt[[:space:]]\|^demo-b[[:space:]]')"
check "started begin does nothing" hook demo started begin /tmp/dom41.xml
check "stopped end does nothing" hook demo stopped end /tmp/dom41.xml
check "the devices are still there" test -b $A -a -b $B
check "release end succeeds" hook demo release end /tmp/dom41.xml
check_fail "... the LV-tagged device is gone" test -b $A
check_fail "... the metadata-tagged device is gone" test -b $B
check "... and the metadata LV is kept" L lvs $VG/a_vdirt_meta

# a tag naming a missing metadata device: start refused, a rolled back
sed 's|/dev/'$VG'/b_meta|/dev/'$VG'/nothere|' /tmp/dom41.xml >/tmp/bad41.xml
hook demo prepare begin /tmp/bad41.xml >/dev/null 2>&1; rc=$?
if [ $rc -ne 0 ] && [ ! -b $A ] && [ ! -b $B ]; then ok "a bad tag fails prepare and rolls back"
else not_ok "a bad tag fails prepare and rolls back" "rc=$rc; $(dmsetup ls)"; fi
ktap_done
