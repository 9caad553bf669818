#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 240
# SPDX-License-Identifier: GPL-2.0
# The vdirtctl .deb (make guest: build/guest-debs, in the image's /debs)
# installed with dpkg: its dependencies resolve from /var/lib/dpkg/status
# (mkguest lists exactly them); the files it owns are there and unchanged;
# the installed binary says the package's version and does real work
# (format, open, a tampered cluster in report --json, close); remove takes
# the binary away, purge the package.
. "${0%/*}/lib.sh"

use_devs t54
V=/usr/sbin/vdirtctl	# the package's, by its path: not the harness's
# dpkg and dpkg-deb by their paths too: busybox's sh runs its own applets of
# those names first, whatever PATH says (the real dpkg execs its helpers,
# dpkg-deb, dpkg-split, dpkg-query and GNU tar, from PATH: the real ones)
DPKG=/usr/bin/dpkg
DPKG_DEB=/usr/bin/dpkg-deb
deb=$(ls /debs/vdirtctl_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || skip_all "no vdirtctl .deb in the guest image (/debs: make guest builds it)"
[ -x $DPKG ] && [ -x /usr/bin/dpkg-query ] || skip_all "no dpkg in the guest image"

# The harness's vdirtctl is also /usr/sbin/vdirtctl: aside while the
# package owns that path, back at the end.
[ -e $V ] && mv $V /tmp/vdirtctl.harness
cleanup() {
	$DPKG -P vdirtctl
	[ -e /tmp/vdirtctl.harness ] && mv /tmp/vdirtctl.harness $V
}

# tamper CLUSTER: overwrite one 512-byte sector inside CLUSTER on the data device
tamper() { head -c 512 /dev/urandom | dio write $D $(($1 * CS + 3 * 512)); }
# owns PATH: dpkg -L vdirtctl lists PATH and it is in place
owns() { $DPKG -L vdirtctl | grep -qxF "$1" && test -e "$1"; }

ktap_start

ver=$($DPKG_DEB -f "$deb" Version)
out=$($DPKG -i "$deb" 2>&1)
rc=$?
check_eq "dpkg -i ${deb##*/} (no --force-depends) exits 0" 0 $rc
[ $rc -eq 0 ] || diag "$out"
# The postinst's deb-systemd-helper is absent (no systemd in the guest): the
# postinst tolerates it; any other warning or error is a failure.
other=$(printf '%s\n' "$out" | grep -iE 'warning|error|not found|denied|dependency' |
	grep -v 'vdirtctl.postinst: line [0-9]*: deb-systemd-helper: not found')
check_eq "... with no warning or error but the absent deb-systemd-helper" "" "$other"
case "$out" in *"Setting up vdirtctl ($ver) ..."*) ok "... and configures it (postinst ran)" ;;
	*) not_ok "... and configures it (postinst ran)" "$out" ;; esac
check_eq "dpkg -s: install ok installed" "install ok installed" "$(dpkg-query -W -f '${Status}' vdirtctl 2>/dev/null)"
check_eq "dpkg -s: the .deb's version" "$ver" "$($DPKG -s vdirtctl 2>/dev/null | sed -n 's/^Version: //p')"

for f in /usr/sbin/vdirtctl /usr/sbin/vdirt-lv /usr/share/man/man8/vdirtctl.8.gz \
	/usr/share/man/man8/vdirt-lv.8.gz /usr/share/man/man5/vdirttab.5.gz \
	/lib/systemd/system/vdirt-monitor.service /lib/systemd/system-generators/vdirt-generator \
	/usr/lib/tmpfiles.d/vdirt-monitor.conf /usr/lib/systemd/catalog/dm-vdirt.catalog \
	/usr/share/doc/vdirtctl/examples/libvirt-hook-qemu; do
	check "dpkg -L owns $f and it is installed" owns $f
done
missing=0
for f in $($DPKG -L vdirtctl); do
	[ -e "$f" ] || { missing=$((missing + 1)); diag "missing: $f"; }
done
check_eq "every path dpkg -L lists is installed" 0 $missing
check "dpkg --verify: the installed files are the package's (md5sums)" sh -c \
	'out=$(/usr/bin/dpkg --verify vdirtctl 2>&1) && [ -z "$out" ] || { echo "$out"; exit 1; }'
check "the hook and vdirt-lv are executable" test -x /usr/share/doc/vdirtctl/examples/libvirt-hook-qemu -a -x /usr/sbin/vdirt-lv
rm -rf /tmp/gen
mkdir -p /tmp/gen
check "the generator runs (no /etc/vdirttab: no units)" /lib/systemd/system-generators/vdirt-generator /tmp/gen /tmp/gen /tmp/gen

# the installed binary: its version and real work
check_eq "$V --version is the package's version" "vdirtctl ${ver%-*}" "$($V --version 2>&1)"
check "format a metadata device" $V format -q -c $CS --hash $HASH $D $M
check "open" $V open -q $D $M $N
check_eq "... a dm-vdirt device" vdirt "$(dmsetup table $N 2>/dev/null | cut -d' ' -f3)"
dd if=/dev/urandom of=/tmp/data bs=$CS count=16 2>/dev/null
check "write 16 clusters" wr /tmp/data 0
tamper 5
drop_caches
rd 0 16
rj=$($V report --json $N 2>&1)
case "$rj" in *'"cluster":5,'*'"kind":"read_mismatch"'*) ok "report --json names the tampered cluster 5 as a read mismatch" ;;
	*) not_ok "report --json names the tampered cluster 5 as a read mismatch" "$rj" ;; esac
check_eq "... and only it" 1 "$(printf '%s' "$rj" | grep -o '"cluster":[0-9]*' | sort -u | wc -l)"
check "close" $V close $N
check_fail "the device is gone" test -e $T

# remove, purge
check "dpkg -r vdirtctl" $DPKG -r vdirtctl
check_fail "... removes the binary" test -e $V
check_fail "... and the man page" test -e /usr/share/man/man8/vdirtctl.8.gz
check_eq "... and leaves it deinstalled" "deinstall ok config-files" "$(dpkg-query -W -f '${Status}' vdirtctl 2>/dev/null)"
check "dpkg -P vdirtctl" $DPKG -P vdirtctl
check_fail "... purges it: dpkg -s knows it no more" $DPKG -s vdirtctl
check_eq "... nor its maintainer scripts" "" "$(ls /var/lib/dpkg/info/vdirtctl.* 2>/dev/null)"

ktap_done
