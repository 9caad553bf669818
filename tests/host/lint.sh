#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test: "make lint" (sparse with C=2 on both test kernels, then
# checkpatch on the kernel files) is clean.  One TAP point per part: a part
# fails on any compiler/sparse "warning:" or "error:" line, on checkpatch
# findings, or when make lint stops before reaching it.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/host/lib.sh"
tmp=$T
kernels=${KERNELS:-6.1 6.12}

tap_start

start=$(date +%s)
make -s -C "$top" lint KERNELS="$kernels" >"$tmp/log" 2>&1
rc=$?
# split the log at make lint's "sparse: KERNEL" lines and checkpatch's output
awk -v d="$tmp" '
	/^sparse: / { part = $2; next }
	/^checkpatch: / || /^(WARNING|ERROR|CHECK):/ || /^total: / { part = "checkpatch" }
	{ if (part != "") print > (d "/part." part) }
	part == "" { print > (d "/part.pre") }
' "$tmp/log"
for k in $kernels; do
	f=$tmp/part.$k
	if [ ! -f "$f" ] && ! grep -qx "sparse: $k" "$tmp/log"; then
		echo "#   make lint stopped before sparse on $k"
		sed 's/^/#   /' "$tmp/log" | tail -n 10
		tap "sparse (C=2) on $k" 1
		continue
	fi
	touch "$f"
	warn=$(grep -cE '(warning|error):' "$f")
	[ "$warn" -eq 0 ] || grep -E '(warning|error):' "$f" | head -n 20 | sed 's/^/#   /'
	tap "sparse (C=2) on $k: $warn warnings" "$warn"
done
f=$tmp/part.checkpatch
if grep -q '^checkpatch: clean' "$f" 2>/dev/null; then
	tap "checkpatch: $(sed -n 's/^checkpatch: //p' "$f")" 0
else
	[ -f "$f" ] && grep -E '^(WARNING|ERROR|CHECK)|^#|^total' "$f" | head -n 30 | sed 's/^/#   /'
	tap "checkpatch clean" 1
fi
# whatever the parts say, make lint itself must succeed
[ $rc -eq 0 ] || sed 's/^/#   /' "$tmp/log" | tail -n 5
tap "make lint exits 0 ($(($(date +%s) - start)) s)" $rc
tap_done
