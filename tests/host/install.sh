#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test: "make install DESTDIR=... PREFIX=/usr" puts the tool, man page,
# scripts, systemd unit, journal catalog and docs where userspace/Makefile
# says, with the right modes; the installed tool runs; the unit passes
# "systemd-analyze verify"; "make uninstall" removes it all.  Also:
# WITH_JOURNAL=no builds without libsystemd, and a missing -dev package is
# named; the builder's CFLAGS, CPPFLAGS and LDFLAGS (dpkg-buildflags) keep
# the flags the code needs and give a fortified binary; -Werror only with
# WERROR=1.  TAP output.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/host/lib.sh"
tmp=$T
d=$tmp/root
# the builds here are a user's: not "make check WERROR=1"'s (make passes
# its command-line variables down in MAKEFLAGS and the environment)
unset WERROR MAKEFLAGS MFLAGS

tap_start

make -s -C "$top" install DESTDIR="$d" PREFIX=/usr >"$tmp/log" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/#   /' "$tmp/log" | tail -n 20
tap "make install DESTDIR=... PREFIX=/usr" $rc

unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
unitdir=${unitdir:-/usr/lib/systemd/system}
gendir=$(pkg-config --variable=systemdsystemgeneratordir systemd 2>/dev/null)
gendir=${gendir:-/usr/lib/systemd/system-generators}
want=("755 /usr/sbin/vdirtctl" "755 /usr/sbin/vdirt-lv" "644 /usr/share/man/man8/vdirtctl.8"
      "644 /usr/share/man/man8/vdirt-lv.8" "644 /usr/share/man/man5/vdirttab.5"
      "755 $gendir/vdirt-generator"
      "644 $(pkg-config --variable=tmpfilesdir systemd 2>/dev/null || echo /usr/lib/tmpfiles.d)/vdirt-monitor.conf"
      "755 /usr/share/dm-vdirt/examples/libvirt-hook-qemu"
      "644 $unitdir/vdirt-monitor.service"
      "644 $(pkg-config --variable=catalogdir systemd 2>/dev/null || echo /usr/lib/systemd/catalog)/dm-vdirt.catalog")
for f in "$top"/Documentation/*.rst; do
	want+=("644 /usr/share/doc/dm-vdirt/${f##*/}")
done
bad=0
for w in "${want[@]}"; do
	mode=${w%% *} f=${w#* }
	got=$(stat -c %a "$d$f" 2>/dev/null || echo missing)
	[ "$got" = "$mode" ] || { echo "#   $f: $got, wanted $mode"; bad=1; }
done
tap "${#want[@]} files in place with their modes" $bad
extra=$(cd "$d" && find . -type f | sed 's/^\.//' | sort |
	grep -vxF -f <(printf '%s\n' "${want[@]}" | cut -d' ' -f2-))
[ -z "$extra" ] || echo "#   unexpected: $extra"
[ -z "$extra" ]
tap "nothing else installed" $?
cmp -s "$d/usr/sbin/vdirt-lv" "$top/tools/vdirt-lv" &&
	cmp -s "$d/usr/share/man/man8/vdirtctl.8" "$top/userspace/vdirtctl.8" &&
	cmp -s "$d$(pkg-config --variable=catalogdir systemd 2>/dev/null || echo /usr/lib/systemd/catalog)/dm-vdirt.catalog" \
		"$top/systemd/dm-vdirt.catalog"
tap "tools, man page and journal catalog are the tree's" $?
out=$("$d/usr/sbin/vdirtctl" --version 2>&1)
[ "$out" = "vdirtctl $(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")" ]
tap "the installed vdirtctl --version runs ($out)" $?
grep -qx 'ExecStart=/usr/sbin/vdirtctl monitor --all --journal --prometheus-textfile /var/lib/prometheus/node-exporter/vdirt.prom' \
	"$d$unitdir/vdirt-monitor.service"
tap "the unit runs the installed vdirtctl" $?

if command -v systemd-analyze >/dev/null; then
	# as installed, with ExecStart pointing at the DESTDIR copy (verify checks it exists)
	sed "s|=/usr/sbin/vdirtctl|=$d/usr/sbin/vdirtctl|" "$d$unitdir/vdirt-monitor.service" \
		>"$tmp/vdirt-monitor.service"
	out=$(systemd-analyze verify --man=no "$tmp/vdirt-monitor.service" 2>&1)
	rc=$?
	[ -z "$out" ] || { echo "$out" | sed 's/^/#   /'; rc=1; }
	tap "systemd-analyze verify is clean" $rc
else
	skip "systemd-analyze verify is clean" "no systemd-analyze"
fi

make -s -C "$top" install DESTDIR="$tmp/local" SBINDIR=/opt/vd/sbin >/dev/null 2>&1 &&
	[ -x "$tmp/local/opt/vd/sbin/vdirtctl" ] &&
	grep -q '^ExecStart=/opt/vd/sbin/vdirtctl ' "$tmp/local$unitdir/vdirt-monitor.service" &&
	[ -f "$tmp/local/usr/local/share/man/man8/vdirtctl.8" ]
tap "SBINDIR is followed (also by the unit), PREFIX defaults to /usr/local" $?
mkdir -p "$tmp/gen"
printf 'g0 /dev/a /dev/b\n' >"$tmp/tab"
gen=$(find "$tmp/local" -name vdirt-generator)
VDIRTTAB="$tmp/tab" "$gen" "$tmp/gen" && grep -q '^ExecStart=/opt/vd/sbin/vdirtctl open --tab ' "$tmp/gen/vdirt@g0.service"
tap "... and by the generator's units" $?

make -s -C "$top" uninstall DESTDIR="$d" PREFIX=/usr >"$tmp/log" 2>&1
rc=$?
left=$(find "$d" -type f | sed "s|^$d||")
[ -z "$left" ] || { echo "#   left: $left"; rc=1; }
[ ! -e "$d/usr/share/doc/dm-vdirt" ] && [ ! -e "$d/usr/share/dm-vdirt" ] || rc=1
tap "make uninstall removes every file and our directories" $rc

# WITH_JOURNAL=no, and missing packages, on a copy of the sources
mkdir -p "$tmp/src/userspace/tests" "$tmp/src/userspace/lib" "$tmp/src/userspace/vdirtctl"
cp "$top"/dm-vdirt-format.h "$top"/dm-vdirt-genl.h "$tmp/src/"
cp "$top"/userspace/Makefile "$tmp/src/userspace/"
cp "$top"/userspace/lib/*.[ch] "$tmp/src/userspace/lib/"
cp "$top"/userspace/vdirtctl/*.[ch] "$tmp/src/userspace/vdirtctl/"
mkdir -p "$tmp/src/userspace/generator"
cp "$top"/userspace/generator/*.c "$tmp/src/userspace/generator/"
make -s -C "$tmp/src/userspace" WITH_JOURNAL=no >"$tmp/log" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/#   /' "$tmp/log" | tail -n 20
tap "WITH_JOURNAL=no builds" $rc
without=$(ldd "$tmp/src/userspace/vdirtctl/vdirtctl" | grep -c libsystemd)
with=$(ldd "$top/userspace/vdirtctl/vdirtctl" | grep -c libsystemd)
[ "$without" -eq 0 ] && [ "$with" -eq 1 ]
tap "... without libsystemd (the default build links it)" $?
"$tmp/src/userspace/vdirtctl/vdirtctl" monitor --journal >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 9 ] && grep -q 'built without libsystemd' "$tmp/err"
tap "... and monitor --journal says so (exit $rc)" $?
printf '#!/bin/sh\ncase "$*" in *libsystemd*) exit 1;; esac\nexec pkg-config "$@"\n' >"$tmp/pc"
chmod +x "$tmp/pc"
make -s -C "$tmp/src/userspace" clean >/dev/null
out=$(make -s -C "$tmp/src/userspace" WITH_JOURNAL=yes PKG_CONFIG="$tmp/pc" 2>&1)
echo "$out" | grep -q 'vdirtctl needs libsystemd-dev: apt-get install libsystemd-dev'
tap "WITH_JOURNAL=yes without libsystemd names the package" $?

# the builder's flags (a Debian package build): -D_GNU_SOURCE and the code's
# own flags stay, CPPFLAGS (FORTIFY) and LDFLAGS (relro) are used
make -s -C "$tmp/src/userspace" clean >/dev/null
if command -v dpkg-buildflags >/dev/null; then
	make -s -C "$tmp/src/userspace" CFLAGS="$(dpkg-buildflags --get CFLAGS)" \
		CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)" LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
		>"$tmp/log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || sed 's/^/#   /' "$tmp/log" | tail -n 20
	tap "make CFLAGS=\$(dpkg-buildflags --get CFLAGS) CPPFLAGS=... LDFLAGS=... builds" $rc
	f=$(cat "$tmp/src/userspace/.build-flags")
	case "$f" in *-D_GNU_SOURCE*-D_FORTIFY_SOURCE=*-Wall*-fstack-protector-strong*-z,relro*) rc=0 ;;
		*) rc=1; echo "#   flags: $f" ;; esac
	tap "... with -D_GNU_SOURCE, the builder's FORTIFY, stack protector and relro" $rc
	syms=$(readelf -s "$tmp/src/userspace/vdirtctl/vdirtctl")
	grep -q '_chk@' <<<"$syms"
	tap "... a fortified binary (__*_chk calls)" $?
	hdrs=$(readelf -l "$tmp/src/userspace/vdirtctl/vdirtctl")
	grep -q GNU_RELRO <<<"$hdrs"
	tap "... linked with relro (LDFLAGS)" $?
else
	skip "make CFLAGS=\$(dpkg-buildflags ...) builds" "no dpkg-buildflags"
fi
# -Werror: only with WERROR=1 (the test runner), never in a package build
printf 'static int vdirt_unused_for_the_test;\n' >"$tmp/src/userspace/lib/zz-warn.c"
make -s -C "$tmp/src/userspace" >"$tmp/log" 2>&1
rc=$?
grep -q 'vdirt_unused_for_the_test' "$tmp/log" && [ $rc -eq 0 ]
tap "a warning does not stop a plain build" $?
! grep -q -- '-Werror ' "$tmp/src/userspace/.build-flags" || ! grep -q -- '-Werror$' "$tmp/src/userspace/.build-flags"
tap "... whose flags have no -Werror" $?
make -s -C "$tmp/src/userspace" WERROR=1 >"$tmp/log" 2>&1
[ $? -ne 0 ] && grep -q 'Werror' "$tmp/log"
tap "WERROR=1 builds everything again and the warning is an error" $?
rm -f "$tmp/src/userspace/lib/zz-warn.c"
tap_done
