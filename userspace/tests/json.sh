#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Host tests of vdirtctl's JSON output (json-c): every --json command that
# needs no kernel prints what vdirtctl printed before json-c (tests/json/*.json,
# written by the hand-printed version), modulo key order and whitespace;
# exit codes too; a name that is not UTF-8 still gives valid JSON.  TAP output.
V=${1:-./vdirtctl/vdirtctl}
case $V in /*) ;; *) V=$PWD/$V ;; esac
EXP=$(cd "$(dirname "$0")/json" && pwd)
. "$(dirname "$0")/../../tests/host/lib.sh"
tap_start

if ! command -v python3 >/dev/null 2>&1; then
	ok "# SKIP no python3"
	tap_done
fi
# same NAME: $T/out equals tests/json/NAME.json (keys sorted; uuid, created, file_digest vary)
same() {
	python3 - "$T/out" "$EXP/$1.json" <<'PY' >"$T/diff" 2>&1
import json, sys
def norm(path):
    d = json.load(open(path))
    for k in ("uuid", "created", "file_digest"):
        if k in d:
            d[k] = "*"
    return json.dumps(d, sort_keys=True)
a, b = norm(sys.argv[1]), norm(sys.argv[2])
if a != b:
    print("got      " + a + "\nexpected " + b)
    sys.exit(1)
PY
	if [ $? -eq 0 ]; then ok "$1: the same JSON"; else nok "$1: the same JSON"; sed 's/^/#   /' "$T/diff"; fi
}

cd "$T" || exit 1
truncate -s 64M data
truncate -s 4M meta
t "meta-size --json" 0 $V meta-size 1G --json
same meta-size
t "meta-size --json crc32c 64K" 0 $V meta-size 1G --hash crc32c --cluster-size 64K --json
same meta-size-crc32c
t "format --json" 0 $V format --json data meta
same format
grep -Eq '"uuid":"[0-9a-f]{32}"' out && ok "... a 32-digit hex uuid" || nok "uuid: $(cat out)"
t "check --json" 0 $V check --json meta
same check
cp meta badA
printf 'X' | dd of=badA bs=1 seek=100 conv=notrunc 2>/dev/null
t "check --json, copy A corrupt: exit 20" 20 $V check --json badA
same check-badA
truncate -s 4M zero
t "check --json, all zero: exit 21" 21 $V check --json zero
same check-zero
head -c 4096 /dev/zero >img
printf 'abc' >>img
truncate -s 1M img
t "baseline build --json" 0 $V baseline build img -o bl --threads 2 --json
same build
t "baseline show --json" 0 $V baseline show --json bl
same show
# a metadata file name that is not UTF-8: the JSON stays valid, the byte is U+00FF
bad=$(printf 'meta\377')
truncate -s 4M "$bad"
t "format --json of a non-UTF-8 name" 0 $V format --json data "$bad"
python3 -c 'import json,sys; d = json.load(open(sys.argv[1], encoding="utf-8")); sys.exit(d["meta_dev"] != "meta\u00ff")' out 2>"$T/diff" &&
	ok "... valid UTF-8 JSON, the stray byte as U+00FF" || nok "... not valid: $(od -c out | head -n 2) $(cat "$T/diff")"
tap_done
