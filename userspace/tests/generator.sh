#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Host tests of /etc/vdirttab (vdirttab(5)): the systemd generator
# (generator/vdirt-generator) run into a temporary directory, the units and
# links it writes (escaping, ordering before libvirtd, noauto, nofail, bad
# lines skipped), systemd-analyze verify of a unit; vdirtctl open --tab
# refusals that need no kernel.  TAP output.
V=${1:-./vdirtctl/vdirtctl}
G=${2:-./generator/vdirt-generator}
. "$(dirname "$0")/../../tests/host/lib.sh"
tap_start

cat >"$T/tab" <<'TAB'
# name   data                        metadata              options
guest0   /dev/vg/guest0              /dev/vg/guest0-meta
web-1	 /dev/disk/by-id/wwn-0x5000c5 /dev/mapper/vg-web--1--meta  mode=enforce,cache-mb=8,nofail

lazy     /dev/vdc                    /dev/vdd              noauto,no-read-verify,zero-unwritten
broken   /dev/vde
odd      /dev/vdf                    /dev/vdg              mode=paranoid
after    /dev/vdh                    /dev/vdi              -
TAB
mkdir "$T/gen" "$T/early" "$T/late"
VDIRTTAB="$T/tab" $G "$T/gen" "$T/early" "$T/late" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && ok "two bad lines: exit 1" || nok "exit $rc, wanted 1"
grep -q "line 6: broken: no metadata device: skipped" "$T/err" &&
	grep -q "line 7: mode=paranoid: the mode is audit or enforce: skipped" "$T/err" &&
	ok "... each named with its line on stderr" || nok "stderr: $(cat "$T/err")"
u="$T/gen/vdirt@guest0.service"
[ -f "$u" ] && ok "vdirt@guest0.service written" || nok "no vdirt@guest0.service: $(ls "$T/gen")"
grep -qx "ExecStart=/usr/sbin/vdirtctl open --tab $T/tab guest0" "$u" 2>/dev/null ||
	grep -qx "ExecStart=.*/vdirtctl open --tab $T/tab guest0" "$u" &&
	ok "... ExecStart: vdirtctl open --tab FILE guest0" || nok "ExecStart: $(grep ExecStart "$u")"
grep -qx "ExecStop=.*/vdirtctl close guest0" "$u" && ok "... ExecStop: vdirtctl close guest0" ||
	nok "ExecStop: $(grep ExecStop "$u")"
grep -qx "Before=libvirtd.service virtqemud.service umount.target" "$u" &&
	ok "... ordered before libvirtd.service and virtqemud.service" || nok "Before: $(grep Before "$u")"
grep -qx 'BindsTo=dev-vg-guest0.device dev-vg-guest0\\x2dmeta.device' "$u" &&
	grep -qx 'After=dev-vg-guest0.device dev-vg-guest0\\x2dmeta.device' "$u" &&
	ok "... bound to and after its two device units" || nok "BindsTo: $(grep -E 'BindsTo|After' "$u")"
grep -qx "Type=oneshot" "$u" && grep -qx "RemainAfterExit=yes" "$u" && grep -qx "Conflicts=umount.target" "$u" &&
	ok "... a oneshot that stays active, stopped at shutdown" || nok "unit: $(cat "$u")"
[ "$(readlink "$T/gen/multi-user.target.wants/vdirt@guest0.service")" = "../vdirt@guest0.service" ] &&
	ok "... wanted by multi-user.target" || nok "no multi-user.target.wants link"
[ -L "$T/gen/libvirtd.service.requires/vdirt@guest0.service" ] &&
	ok "... required by libvirtd.service (no nofail)" || nok "no libvirtd.service.requires link"
w="$T/gen/vdirt@web\\x2d1.service"
[ -f "$w" ] && ok "a '-' in the name is escaped: vdirt@web\\x2d1.service" || nok "names: $(ls "$T/gen")"
if command -v systemd-escape >/dev/null 2>&1; then
	want="$(systemd-escape --path /dev/disk/by-id/wwn-0x5000c5).device $(systemd-escape --path /dev/mapper/vg-web--1--meta).device"
	grep -qxF "BindsTo=$want" "$w" && ok "... device units escaped as systemd-escape --path does" ||
		nok "BindsTo: $(grep BindsTo "$w"), wanted $want"
else
	skip "... device units escaped as systemd-escape --path does" "no systemd-escape"
fi
[ -L "$T/gen/multi-user.target.wants/vdirt@web\\x2d1.service" ] &&
	[ ! -e "$T/gen/libvirtd.service.requires/vdirt@web\\x2d1.service" ] &&
	ok "nofail: wanted at boot, not required by libvirtd" || nok "nofail links: $(ls -R "$T/gen")"
[ -f "$T/gen/vdirt@lazy.service" ] && [ ! -e "$T/gen/multi-user.target.wants/vdirt@lazy.service" ] &&
	[ ! -e "$T/gen/libvirtd.service.requires/vdirt@lazy.service" ] &&
	ok "noauto: a unit, but nothing starts it at boot" || nok "noauto links: $(ls -R "$T/gen")"
[ -f "$T/gen/vdirt@after.service" ] && ok "the entry after the bad lines is still there" ||
	nok "no vdirt@after.service"
[ ! -e "$T/gen/vdirt@broken.service" ] && [ ! -e "$T/gen/vdirt@odd.service" ] &&
	ok "no unit for a bad line" || nok "a bad line got a unit"
[ -z "$(ls -A "$T/early")$(ls -A "$T/late")" ] && ok "nothing in the early and late directories" ||
	nok "early/late: $(ls -A "$T/early") $(ls -A "$T/late")"
if command -v systemd-analyze >/dev/null 2>&1; then
	# as the generator wrote it, with ExecStart pointing at a program that exists
	sed "s|=[^ ]*/vdirtctl |=/bin/true |; s|=-/sbin/modprobe|=-/bin/true|" "$u" >"$T/vdirt@guest0.service"
	out=$(systemd-analyze verify --man=no "$T/vdirt@guest0.service" 2>&1 |
		grep -v "libvirtd.service\|virtqemud.service\|dev-vg-guest0")
	[ -z "$out" ] && ok "systemd-analyze verify: clean" || nok "verify: $out"
else
	skip "systemd-analyze verify: clean" "no systemd-analyze"
fi
mkdir "$T/gen2"
VDIRTTAB="$T/none" $G "$T/gen2"
rc=$?
[ $rc -eq 0 ] && [ -z "$(ls -A "$T/gen2")" ] && ok "no vdirttab: exit 0, nothing written" || nok "no tab: exit $rc"
t "the generator wants a directory" 2 $G

# vdirtctl open --tab, what needs no kernel
t "open --tab of a missing file: exit 4" 4 $V open --tab "$T/none"
grep -v 'broken\|odd' "$T/tab" >"$T/good"
t "open --tab FILE NAME: an unknown name (exit 4)" 4 $V open --tab "$T/good" nosuch
grep -q "no entry named nosuch" "$T/err" && ok "... 'no entry named nosuch'" || nok "message: $(cat "$T/err")"
t "open --tab with --mode on the command line is refused" 2 $V open --tab --mode enforce "$T/good"
t "open --tab: a bad line is refused (exit 6)" 6 $V open --tab "$T/tab"
grep -q "line 6: broken: no metadata device" "$T/err" && ok "... naming the line" || nok "message: $(cat "$T/err")"
t "open without --tab takes three arguments" 2 $V open a b
printf 'x /dev/a /dev/a\n' >"$T/same"
t "open --tab: data == metadata is refused (exit 6)" 6 $V open --tab "$T/same"
grep -q "line 1: x: the data and metadata devices are the same" "$T/err" && ok "... naming the line" ||
	nok "message: $(cat "$T/err")"
t "--tab is an option of open only" 2 $V close x --tab
tap_done
