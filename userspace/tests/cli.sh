#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Host-side CLI tests of vdirtctl (no kernel module needed): meta-size, format
# on regular files, baseline build/show, refusals and exit codes.  TAP output.
V=${1:-./vdirtctl}
. "$(dirname "$0")/../../tests/host/lib.sh"
tap_start

t "--help exits 0" 0 $V --help
t "unknown command is a usage error (2)" 2 $V frobnicate
t "missing arguments are a usage error (2)" 2 $V format
t "meta-size 1G" 0 $V meta-size 1G
[ "$(cat "$T/out")" = 32374784 ] && ok "meta-size 1G = 32374784 (packed entries, 16 epochs, the tree)" ||
	nok "meta-size 1G = $(cat "$T/out")"
t "meta-size 1G --unpacked" 0 $V meta-size 1G --unpacked
[ "$(cat "$T/out")" = 44871680 ] && ok "meta-size 1G --unpacked = 44871680 (power-of-two entries)" ||
	nok "meta-size 1G --unpacked = $(cat "$T/out")"
t "--unpacked is refused by open" 2 $V open --unpacked a b c
t "meta-size 1G --without tree" 0 $V meta-size 1G --without tree
[ "$(cat "$T/out")" = 32215040 ] && ok "meta-size 1G --without tree = 32215040 (39 tree blocks fewer)" ||
	nok "meta-size 1G --without tree = $(cat "$T/out")"
t "meta-size 1G --without writesets,history,tree" 0 $V meta-size 1G --without writesets,history,tree
[ "$(cat "$T/out")" = $((32215040 - (144 + 256) * 4096)) ] &&
	ok "... = $((32215040 - (144 + 256) * 4096)) (16 write sets of 9 blocks, 256 history blocks fewer)" ||
	nok "... = $(cat "$T/out")"
t "--without an unknown region is a usage error" 2 $V meta-size 1G --without tree,staging
t "--without is refused by open" 2 $V open --without tree a b c
t "meta-size --json crc32c 64K clusters" 0 $V meta-size 1G --hash crc32c --cluster-size 64K --json
grep -q '"meta_bytes":' "$T/out" && grep -q '"clusters":16384' "$T/out" && ok "meta-size JSON shape" || nok "meta-size JSON shape"
t "meta-size with an unknown hash fails" 6 $V meta-size 1G --hash md4
t "meta-size with cluster size 3000 fails" 6 $V meta-size 1G --cluster-size 3000

truncate -s 64M "$T/data"
truncate -s 100K "$T/small"
t "format refuses a too small metadata device (exit 8)" 8 $V format "$T/data" "$T/small"
grep -q "at least" "$T/err" && ok "... and says how big it must be" || nok "size message: $(cat "$T/err")"
truncate -s 4M "$T/meta"
t "format a zeroed metadata file" 0 $V format "$T/data" "$T/meta"
t "format refuses an already formatted device (exit 5)" 5 $V format "$T/data" "$T/meta"
grep -q "already formatted" "$T/err" && ok "... with a message" || nok "message: $(cat "$T/err")"
t "format --force overwrites" 0 $V format --force --hash crc32c "$T/data" "$T/meta"
dd if=/dev/urandom of="$T/junk" bs=4096 count=4 2>/dev/null
truncate -s 4M "$T/junk"
t "format refuses foreign data without --force" 5 $V format "$T/data" "$T/junk"
# stale bytes in the entry region only (superblock blocks zero): format
# zeroes them and reads them back
truncate -s 4M "$T/stale"
dd if=/dev/urandom of="$T/stale" bs=4096 seek=2 count=64 conv=notrunc 2>/dev/null
t "format over random bytes in the entry region" 0 $V format "$T/data" "$T/stale"
[ "$(dd if="$T/stale" bs=4096 skip=2 count=64 2>/dev/null | tr -d '\000' | wc -c)" = 0 ] &&
	ok "... the entry region reads as zero" || nok "entry region not zero after format"

# baseline build and show
dd if=/dev/urandom of="$T/img" bs=4096 count=3 seek=10 2>/dev/null
truncate -s 1M "$T/img"
t "baseline build" 0 $V baseline build "$T/img" -o "$T/bl" --threads 2
t "baseline show" 0 $V baseline show --json "$T/bl"
grep -q '"clusters":256' "$T/out" && grep -q '"zero_clusters":253' "$T/out" && ok "256 clusters, 253 zero" || nok "show: $(cat "$T/out")"
# cross-check one digest against openssl when available
if command -v openssl >/dev/null 2>&1; then
	want=$(dd if="$T/img" bs=4096 skip=11 count=1 2>/dev/null | openssl dgst -sha256 -r | cut -d' ' -f1)
	got=$(dd if="$T/bl" bs=1 skip=$((256 + 11 * 32)) count=32 2>/dev/null | od -An -tx1 | tr -d ' \n')
	[ "$want" = "$got" ] && ok "cluster 11 digest equals openssl sha256" || nok "digest $got != $want"
else
	ok "cluster 11 digest equals openssl sha256 # SKIP no openssl"
fi
# written zeros, data, and a partial last cluster (read, zero-padded);
# the rest of the source is hashed where it is mapped
dd if=/dev/zero of="$T/img2" bs=4096 count=2 2>/dev/null
head -c 4096 /dev/urandom >>"$T/img2"
head -c 1000 /dev/urandom >>"$T/img2"
t "baseline build: zeros, data, a partial cluster" 0 $V baseline build "$T/img2" -o "$T/bl2" --threads 1
t "baseline show of it" 0 $V baseline show --json "$T/bl2"
grep -q '"clusters":4' "$T/out" && grep -q '"zero_clusters":2' "$T/out" && ok "4 clusters, 2 zero" || nok "show: $(cat "$T/out")"
if command -v openssl >/dev/null 2>&1; then
	d2=$(dd if="$T/img2" bs=4096 skip=2 count=1 2>/dev/null | openssl dgst -sha256 -r | cut -d' ' -f1)
	d3=$({ dd if="$T/img2" bs=4096 skip=3 count=1 2>/dev/null; head -c 3096 /dev/zero; } | openssl dgst -sha256 -r | cut -d' ' -f1)
	got=$(dd if="$T/bl2" bs=1 skip=$((256 + 2 * 32)) count=64 2>/dev/null | od -An -tx1 | tr -d ' \n')
	[ "$d2$d3" = "$got" ] && ok "data and padded tail digests equal openssl sha256" || nok "digests $got != $d2$d3"
else
	ok "data and padded tail digests equal openssl sha256 # SKIP no openssl"
fi
head -c 1000 "$T/bl" >"$T/bl.trunc"
t "a truncated baseline is refused (exit 6)" 6 $V baseline show "$T/bl.trunc"
cp "$T/bl" "$T/bl.flip"
printf '\377' | dd of="$T/bl.flip" bs=1 seek=300 conv=notrunc 2>/dev/null
t "a corrupted baseline is refused" 6 $V baseline show "$T/bl.flip"
grep -q corrupt "$T/err" && ok "... as corrupt" || nok "message: $(cat "$T/err")"
t "baseline build of a missing file: exit 4" 4 $V baseline build "$T/nope" -o "$T/x"
t "--debug lines start with #" 0 sh -c "$V --debug meta-size 1G 2>&1 >/dev/null | grep -v '^#' | wc -l | grep -qx 0"

# options are scoped to the commands that take them (exit 2 before any work)
t "close --threads is refused (exit 2)" 2 $V close x --threads 2
grep -q -- "--threads: not an option of 'close'" "$T/err" && ok "... naming the option and the command" || nok "message: $(cat "$T/err")"
t "status --force is refused" 2 $V status x --force
t "baseline show --output is refused" 2 $V baseline show "$T/bl" -o "$T/x"
t "meta-size --wait is refused" 2 $V meta-size 1G --wait
t "format --mode is refused" 2 $V format --mode audit "$T/data" "$T/meta"
t "check --count is refused" 2 $V check -n 3 "$T/meta"
t "report --cache-mb is refused" 2 $V report x --cache-mb 8
t "monitor --hash is refused" 2 $V monitor --hash sha256
t "list --journal is refused" 2 $V list --journal
t "scan --threads is refused" 2 $V scan x --threads 1
t "a refused option changes nothing (format --threads leaves the metadata)" 2 $V format --force --threads 2 "$T/data" "$T/meta"
t "... the superblock is still crc32c" 0 $V check --json "$T/meta"
grep -q '"hash":"crc32c"' "$T/out" && ok "... (check says crc32c)" || nok "check: $(cat "$T/out")"

tap_done
