#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test: "dkms build" of dm-vdirt succeeds against both test kernels'
# header packages, in a private DKMS tree (the host's own is left alone);
# scripts/dkms-install --remove (make dkms-uninstall) takes it all away again.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/host/lib.sh"
tmp=$T

tap_start

command -v dkms >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dkms >/dev/null 2>&1
command -v dkms >/dev/null
tap "dkms is installed" $?
kargs=()
while read -r _ kver; do
	kargs+=(-k "$kver")
done < <("$top/scripts/deps" --print-kernels)
"$top/scripts/dkms-install" --build-only --sourcetree "$tmp/src" --dkmstree "$tmp/tree" \
	"${kargs[@]}" >"$tmp/log" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/#   /' "$tmp/log" | tail -n 20
tap "dkms build for ${kargs[*]}" $rc
built=$(find "$tmp/tree" -name 'dm_vdirt.ko*' | wc -l)
[ "$built" -eq $((${#kargs[@]} / 2)) ]
tap "one dm_vdirt.ko per kernel ($built)" $?
# make dkms-uninstall: scripts/dkms-install --remove, here on the private tree
"$top/scripts/dkms-install" --remove --sourcetree "$tmp/src" --dkmstree "$tmp/tree" >"$tmp/log" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/#   /' "$tmp/log" | tail -n 20
tap "dkms-install --remove (make dkms-uninstall)" $rc
left=$(dkms status --dkmstree "$tmp/tree" --sourcetree "$tmp/src" -m dm-vdirt 2>/dev/null)
left="$left$(find "$tmp/tree" -name 'dm_vdirt.ko*')$(ls -A "$tmp/src")"
[ -z "$left" ] || echo "#   left: $left"
[ -z "$left" ]
tap "... nothing of dm-vdirt left in the DKMS tree or the sources" $?
grep -q '^dkms-uninstall:' "$top/Makefile"
tap "make dkms-uninstall exists" $?
tap_done
