#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test: the Debian packages.  scripts/build-debs (make debs) builds
# dm-vdirt-dkms and vdirtctl with dpkg-buildpackage -us -uc -b from a copy of
# the tree (a few minutes: the unit tests are left to make check); their
# contents (dpkg-deb -c), dependencies and maintainer scripts are checked,
# lintian reports nothing that is not explained in debian/*lintian-overrides,
# the tool unpacked into a throw-away root runs, and --arch-only (the
# guest's .deb) builds the tool's package alone.  TAP output.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/host/lib.sh"
out=$T/debs

tap_start
if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh_dkms >/dev/null; then
	skip "Debian packages" "no dpkg-buildpackage or dh_dkms (scripts/deps installs them)"
	tap_done
fi
start=$(date +%s)
"$top/scripts/build-debs" --nocheck "$out" >"$T/log" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/log" | tail -n 30
tap "dpkg-buildpackage -us -uc -b ($(($(date +%s) - start)) s)" $rc
[ $rc -eq 0 ] || tap_done
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
dkms_deb=$(ls "$out"/dm-vdirt-dkms_*_all.deb 2>/dev/null)
tool_deb=$(ls "$out"/vdirtctl_*_amd64.deb "$out"/vdirtctl_*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -n 1)
[ -n "$dkms_deb" ] && [ -n "$tool_deb" ]
tap "dm-vdirt-dkms and vdirtctl .debs" $?

# has DEB PATH...: every PATH is in the package (dpkg-deb -c)
has() {
	_deb=$1
	shift
	dpkg-deb -c "$_deb" | awk '{print $6}' | sed 's|^\./|/|' >"$T/list"
	_miss=
	for _p in "$@"; do
		grep -qxF "$_p" "$T/list" || _miss="$_miss $_p"
	done
	[ -z "$_miss" ] || echo "#   missing:$_miss"
	[ -z "$_miss" ]
}
src=/usr/src/dm-vdirt-$ver
want=("$src/dkms.conf" "$src/Kbuild")
for f in "$top"/dm-vdirt*.[ch] "$top"/compat/*.c; do
	want+=("$src/${f#"$top"/}")
done
has "$dkms_deb" "${want[@]}"
tap "dm-vdirt-dkms: dkms.conf, Kbuild, every dm-vdirt*.[ch] and compat/ probe in $src (${#want[@]})" $?
grep -v "^$src" "$T/list" | grep -v '/$' | grep -v '^/usr/share/doc/dm-vdirt-dkms/' >"$T/other"
[ ! -s "$T/other" ] || sed 's/^/#   other: /' "$T/other"
[ ! -s "$T/other" ]
tap "... and nothing else but its doc directory" $?
dpkg-deb -f "$dkms_deb" Depends | grep -q dkms
tap "dm-vdirt-dkms depends on dkms" $?
dpkg-deb --ctrl-tarfile "$dkms_deb" | tar -xOf - ./postinst 2>/dev/null | grep -q 'dkms'
tap "... and its postinst builds the module through DKMS" $?

has "$tool_deb" /usr/sbin/vdirtctl /usr/sbin/vdirt-lv /usr/share/man/man8/vdirtctl.8.gz \
	/usr/share/man/man8/vdirt-lv.8.gz /usr/share/man/man5/vdirttab.5.gz \
	/lib/systemd/system/vdirt-monitor.service /lib/systemd/system-generators/vdirt-generator \
	/usr/lib/tmpfiles.d/vdirt-monitor.conf /usr/lib/systemd/catalog/dm-vdirt.catalog \
	/usr/share/doc/vdirtctl/copyright /usr/share/doc/vdirtctl/admin-guide.rst.gz \
	/usr/share/doc/vdirtctl/dm-vdirt.rst.gz /usr/share/doc/vdirtctl/examples/libvirt-hook-qemu
tap "vdirtctl: the tool, vdirt-lv, man pages, units, generator, journal catalog, docs, the hook" $?
# the catalog database is systemd's trigger's job (journalctl --update-catalog)
rc=0
dpkg-deb --ctrl-tarfile "$tool_deb" | tar -xOf - ./postinst 2>/dev/null | grep -q 'update-catalog' && rc=1
grep -qx 'interest-noawait /usr/lib/systemd/catalog' /var/lib/dpkg/info/systemd.triggers 2>/dev/null || rc=1
tap "... its database rebuilt by systemd's dpkg trigger on /usr/lib/systemd/catalog, not by a postinst" $rc
dep=$(dpkg-deb -f "$tool_deb" Depends)
case "$dep" in *libdevmapper*libblkid*|*libblkid*libdevmapper*) rc=0 ;; *) rc=1 ;; esac
[ $rc -eq 0 ] || echo "#   Depends: $dep"
tap "vdirtctl depends on the libraries it links (shlibs: libdevmapper, libblkid, ...)" $rc

root=$T/root
dpkg-deb -x "$tool_deb" "$root"
v=$("$root/usr/sbin/vdirtctl" --version 2>&1)
[ "$v" = "vdirtctl $ver" ]
tap "the packaged vdirtctl runs from a throw-away root and says the release, $ver ($v)" $?
cver=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
[ "$cver" = "$ver" ] && [ "$(dpkg-deb -f "$tool_deb" Version)" = "$ver" ]
tap "debian/changelog, the .deb and dkms.conf say the same release ($cver)" $?

# the guest's .deb (make guest, tests/54-deb.sh): the tool's package alone
arch=$T/arch
"$top/scripts/build-debs" --nocheck --arch-only "$arch" >"$T/alog" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/alog" | tail -n 30
ls "$arch"/vdirtctl_*_"$(dpkg --print-architecture)".deb >/dev/null 2>&1 || rc=1
! ls "$arch"/dm-vdirt-dkms_* >/dev/null 2>&1 || rc=1
tap "build-debs --arch-only: vdirtctl without dm-vdirt-dkms (dpkg-buildpackage -B)" $rc

if command -v lintian >/dev/null; then
	lintian -I --pedantic --fail-on error,warning "$out"/*.changes >"$T/lint" 2>&1
	rc=$?
	grep -v '^running with root' "$T/lint" | grep -v '^N: ' >"$T/tags"
	[ ! -s "$T/tags" ] || { sed 's/^/#   /' "$T/tags"; rc=1; }
	tap "lintian -I --pedantic: no tag but those explained in debian/*lintian-overrides" $rc
else
	skip "lintian -I --pedantic: no tag but the overridden ones" "no lintian"
fi
tap_done
