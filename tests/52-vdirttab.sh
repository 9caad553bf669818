#!/bin/sh
# vm: --disk 64M --disk 16M --disk 64M --disk 16M --timeout 300
# SPDX-License-Identifier: GPL-2.0
# /etc/vdirttab (vdirttab(5)) through "vdirtctl open --tab FILE [NAME...]":
# every entry but the noauto ones opened with its options (the table shows
# them), a noauto entry opened by name, an open entry refused, a bad line
# named; the systemd generator's units run the same command.
. "${0%/*}/lib.sh"

V=vdirtctl
TAB=/tmp/vdirttab49
command -v $V >/dev/null 2>&1 || skip_all "vdirtctl not in the guest image"
$V open --help 2>&1 | grep -q -- '--tab' || skip_all "vdirtctl has no open --tab"

cleanup() {
	dmsetup remove t49a 2>/dev/null
	dmsetup remove t49b 2>/dev/null
	rm -f $TAB
}

ktap_start
cat >$TAB <<TAB
# the two guests' disks
t49a  /dev/vda  /dev/vdb  mode=enforce,cache-mb=8,write-back=16

t49b	/dev/vdc	/dev/vdd	noauto,no-read-verify,fail-open,zero-unwritten
TAB
check "format /dev/vdb for /dev/vda" $V format -q /dev/vda /dev/vdb
check "format /dev/vdd for /dev/vdc" $V format -q /dev/vdc /dev/vdd
check "open --tab $TAB" $V open -q --tab $TAB
check "t49a is open" test -b /dev/mapper/t49a
check_fail "t49b (noauto) is not" dmsetup info t49b
tbl=$(dmsetup table t49a)
case "$tbl" in *" vdirt "*" 4096 sha256 3 mode:enforce cache_mb:8 write_back:16") ok "t49a's table has its options: $tbl" ;;
	*) not_ok "t49a's table has its options" "$tbl" ;; esac
check_eq "t49a: mode=enforce in the status" enforce "$(dmsetup status t49a | tr ' ' '\n' | sed -n 's/^mode=//p')"
check "open --tab $TAB t49b: a noauto entry by name" $V open -q --tab $TAB t49b
tbl=$(dmsetup table t49b)
case "$tbl" in *" 3 no_read_verify fail_open zero_unwritten") ok "t49b's table: no_read_verify fail_open zero_unwritten" ;;
	*) not_ok "t49b's table: no_read_verify fail_open zero_unwritten" "$tbl" ;; esac
$V open -q --tab $TAB t49a 2>/tmp/err49; rc=$?
check_eq "open --tab of an open entry: exit 5" 5 "$rc"
check "... 'exists already'" grep -q "t49a exists already" /tmp/err49
check "close t49a" $V close t49a
check "close t49b" $V close t49b
printf 't49c /dev/vda\n' >>$TAB
$V open -q --tab $TAB 2>/tmp/err49; rc=$?
check_eq "a bad line: exit 6" 6 "$rc"
check "... named with its number" grep -q "$TAB line 5: t49c: no metadata device" /tmp/err49
check "... the entries before it were opened" test -b /dev/mapper/t49a
check "close t49a" $V close t49a
ktap_done
