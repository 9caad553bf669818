#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# monitor --journal on the wire: tests/test_journal sends its fixture record
# with the real sender (sd_journal_sendv) to a stand-in journald socket, in a
# private mount namespace with a tmpfs on /run (the host's journal is not
# touched, and none needs to run).  TAP output; skipped without root, unshare
# or python3, or in a build without libsystemd.
cd "$(dirname "$0")/.." || exit 1
. ../tests/host/lib.sh
tap_start
why=
[ "$(id -u)" = 0 ] || why="not root"
command -v unshare >/dev/null 2>&1 || why="no unshare"
command -v python3 >/dev/null 2>&1 || why="no python3"
./tests/test_journal available || why="built without libsystemd"
if [ -z "$why" ] && ! unshare -m true 2>/dev/null; then why="no mount namespaces"; fi
if [ -n "$why" ]; then
	for d in "datagram received" "20 fields as FIELD=value lines" "MESSAGE_ID and PRIORITY" \
		"VDIRT_* values" "uuid, mode, data device, byte offset"; do
		ok "$d # SKIP $why"
	done
	tap_done
fi
unshare -m --propagation private sh -c '
	mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal || exit 1
	python3 -c "
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(\"/run/systemd/journal/socket\")
open(sys.argv[2], \"w\").close()
s.settimeout(10)
open(sys.argv[1], \"wb\").write(s.recv(65536))
" "$1/got" "$1/ready" &
	i=0
	while [ ! -e "$1/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	./tests/test_journal send
	wait
' sh "$T" >"$T/log" 2>&1
[ -s "$T/got" ] && ok "datagram received" || { nok "datagram received"; sed 's/^/#   /' "$T/log"; }
# our fields, without the CODE_* location fields libsystemd adds
grep -v '^CODE_' "$T/got" >"$T/fields"
[ "$(grep -c '^[A-Z_]*=' "$T/fields")" = 20 ] && [ "$(wc -l <"$T/fields")" = 20 ] &&
	ok "20 fields as FIELD=value lines" || { nok "20 fields"; sed 's/^/#   /' "$T/got"; }
# a read mismatch keeps the id every entry had before the catalog
grep -qx 'MESSAGE_ID=50fbbe0b21c44875bcfba8fadd391e16' "$T/fields" && grep -qx 'PRIORITY=2' "$T/fields" &&
	[ "$(grep -c '^MESSAGE_ID=' "$T/fields")" = 1 ] &&
	ok "MESSAGE_ID and PRIORITY" || nok "MESSAGE_ID and PRIORITY"
grep -qx 'VDIRT_DEVICE=guest0' "$T/fields" && grep -qx 'VDIRT_DEVNO=253:4' "$T/fields" &&
	grep -qx 'VDIRT_CLUSTER=100' "$T/fields" && grep -qx 'VDIRT_EXPECTED=0102abff' "$T/fields" &&
	grep -qx 'MESSAGE=guest0: read mismatch at cluster 100 (sector 800, read, record 7): the data changed below dm-vdirt' "$T/fields" &&
	ok "VDIRT_* values" || nok "VDIRT_* values"
grep -qx 'VDIRT_UUID=0123456789abcdef0123456789abcdef' "$T/fields" && grep -qx 'VDIRT_MODE=audit' "$T/fields" &&
	grep -qx 'VDIRT_DATA_DEVICE=/dev/mapper/vg0-disk0' "$T/fields" &&
	grep -qx 'VDIRT_DATA_DEVNO=254:1' "$T/fields" && grep -qx 'VDIRT_OFFSET=409600' "$T/fields" &&
	ok "uuid, mode, data device, byte offset" || nok "uuid, mode, data device, byte offset"
tap_done
