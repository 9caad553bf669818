#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Host tests of "vdirtctl check <meta_dev>" (offline, no kernel): both
# superblock copies, the one in use, a corrupted copy, the write-intent
# bitmap count of an unclean superblock, exit codes 0, 20 (one copy invalid), 21 (none valid).  TAP output.
V=${1:-./vdirtctl}
. "$(dirname "$0")/../../tests/host/lib.sh"
# has TEXT: the last output has this line (fixed string)
has() {
	if grep -qxF "$1" "$T/out"; then ok "says: $1"; else nok "says: $1"; sed 's/^/#   /' "$T/out"; fi
}
# poke FILE OFFSET BYTE...: write bytes (octal escapes) at an offset
poke() {
	f=$1 off=$2
	shift 2
	printf "$@" | dd of="$f" bs=1 seek="$off" conv=notrunc 2>/dev/null
}
# resum FILE BLOCK: recompute a superblock copy's crc32c (seed ~0, not inverted)
resum() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
f, blk = sys.argv[1], int(sys.argv[2])
with open(f, "r+b") as fh:
    fh.seek(blk * 4096)
    sb = bytearray(fh.read(512))
    sb[12:16] = b"\0\0\0\0"
    c = 0xffffffff
    for b in sb:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    fh.seek(blk * 4096 + 12)
    fh.write(struct.pack("<I", c))
PY
}
tap_start

truncate -s 64M "$T/data"
truncate -s 4M "$T/meta"
$V format "$T/data" "$T/meta" >/dev/null
t "a freshly formatted device: exit 0" 0 $V check "$T/meta"
has "copy A: valid, seq 2, flags clean, features staging,packed,unwritten, epoch 0, log head 0 tail 0"
has "format version 2, staging area: 128 blocks at block 597"
has "written bitmap: 1 blocks at block 767, generation 0"
has "entries: packed, 80 bytes, 51 a block"
has "using copy A, seq 2"
has "clean: nothing to recover (0 of 16 write-intent bits set)"
t "--json" 0 $V check --json "$T/meta"
grep -q '"using":"A","seq":2,"clusters":16384,' "$T/out" && grep -q '"recover_regions":0,"layout"' "$T/out" &&
	ok "JSON: copy in use, geometry, regions to recover" || nok "JSON: $(cat "$T/out")"
# the layout of this 64 MiB data device (16384 clusters, sha256, packed, 16 epochs)
grep -q '"layout":{"sb_start":0,"sb_blocks":2,"entries_start":2,"entries_blocks":322,"intent_start":324,"intent_blocks":1,"log_start":325,"log_blocks":256,"event_start":581,"event_blocks":16,"staging_start":597,"staging_blocks":128,"epoch_start":725,"epoch_blocks":1,"wset_start":726,"wset_blocks":16,"hist_start":742,"hist_blocks":16,"merkle_start":758,"merkle_blocks":9,"unw_start":767,"unw_blocks":1,"total_blocks":768,"block_size":4096}}' "$T/out" &&
	ok "JSON: the layout, every region's start block and blocks" || nok "JSON: $(cat "$T/out")"
grep -q '"feature_incompat":3,"packed":true,"unwritten":true,"unw_start":767,"unw_blocks":1,"unw_gen":0,"purge":false,"zeroes":false,"entry_size":80,' "$T/out" &&
	ok "JSON: packed entries of 80 bytes, the written bitmap, no purge" || nok "JSON: $(cat "$T/out")"

# metadata formatted with power-of-two entries (as dm-vdirt 1.3 formats)
truncate -s 4M "$T/meta13"
$V format --unpacked "$T/data" "$T/meta13" >/dev/null
t "--unpacked: exit 0" 0 $V check "$T/meta13"
has "entries: power of two, 128 bytes, 32 a block"
has "format version 2, staging area: 128 blocks at block 787"
t "--unpacked --json" 0 $V check --json "$T/meta13"
grep -q '"feature_incompat":2,"packed":false,"unwritten":true,"unw_start":957,' "$T/out" &&
	ok "JSON: power-of-two entries of 128 bytes" || nok "JSON: $(cat "$T/out")"

# an unclean superblock with the intent feature and bits 0, 3, 15 set (20 is
# beyond the 16 regions of 16384 clusters: it does not count)
cp "$T/meta" "$T/unclean"
poke "$T/unclean" 136 '\003\000\000\000'			# feature_compat: intent, staging
poke "$T/unclean" 148 '\000\000\000\000'			# flags: not clean
poke "$T/unclean" 256 '\005'				# epoch 5
istart=$(od -An -tu8 -j 168 -N 8 "$T/unclean" | tr -d ' ')
poke "$T/unclean" $((istart * 4096)) '\011\200\020'	# bits 0, 3, 15, 20
resum "$T/unclean" 0
t "an unclean superblock: exit 0" 0 $V check "$T/unclean"
has "copy A: valid, seq 2, flags in-use, features intent,staging,packed,unwritten, epoch 5, log head 0 tail 0"
has "not clean: 3 of 16 regions would be recovered on the next open"

# a baseline change cut short (flags: clean, baseline, baseline partial)
cp "$T/meta" "$T/partial"
poke "$T/partial" 148 '\007\000\000\000'
resum "$T/partial" 0
t "a cut-short baseline change: exit 0" 0 $V check "$T/partial"
has "copy A: valid, seq 2, flags clean,baseline,baseline-partial, features staging,packed,unwritten, epoch 0, log head 0 tail 0"
has "a baseline change was cut short: the baseline is ignored until it is loaded, captured or cleared again"
t "--json" 0 $V check --json "$T/partial"
grep -q '"copy":"A","valid":true,"seq":2,"clean":true,"baseline":true,"baseline_partial":true,' "$T/out" &&
	ok "JSON: baseline_partial" || nok "JSON: $(cat "$T/out")"

# feature bits: an unknown ro_compat bit is reported, an unknown incompat
# bit makes the copy invalid (as in the kernel)
cp "$T/meta" "$T/rofeat"
poke "$T/rofeat" 144 '\077\000\000\000'			# known 0x1f + unknown 0x20
resum "$T/rofeat" 0
t "an unknown ro_compat bit: exit 0" 0 $V check "$T/rofeat"
has "unknown read-only compatible features 0x20: only a read-only table may use it"
poke "$T/rofeat" 140 '\007\000\000\000'			# packed, unwritten + unknown bit 2
resum "$T/rofeat" 0
t "an unknown incompat bit in copy A: exit 20" 20 $V check "$T/rofeat"
has "copy A: invalid (unknown incompatible features 0x4)"

# a purge cut short (flags: clean, purge; unw_gen 7): named in text and JSON
cp "$T/meta" "$T/purge"
poke "$T/purge" 148 '\041\000\000\000'
poke "$T/purge" 352 '\007'
resum "$T/purge" 0
t "a purge walk cut short: exit 0" 0 $V check "$T/purge"
has "copy A: valid, seq 2, flags clean,purge, features staging,packed,unwritten, epoch 0, log head 0 tail 0"
has "written bitmap: 1 blocks at block 767, generation 7"
has "a purge's walk has not completed: the next open walks again from the start"
t "--json" 0 $V check --json "$T/purge"
grep -q '"unwritten":true,"unw_start":767,"unw_blocks":1,"unw_gen":7,"purge":true,' "$T/out" &&
	ok "JSON: unw_gen 7, purge" || nok "JSON: $(cat "$T/out")"

# without the written bitmap (--without unwritten, what 1.6 formats)
truncate -s 4M "$T/meta16"
$V format --without unwritten "$T/data" "$T/meta16" >/dev/null
t "--without unwritten: exit 0" 0 $V check "$T/meta16"
has "copy A: valid, seq 2, flags clean, features staging,packed, epoch 0, log head 0 tail 0"
has "no written bitmap: zero_unwritten is refused (vdirtctl upgrade adds it)"

# format --force zeroes the bitmap: a stale VDUW block of generation 0
# (every bit set) from an earlier format would count its clusters as written
cp "$T/meta" "$T/stale"
printf '\000\000\000\000\000\000\000\000VDUW\000\000\000\000' |
	dd of="$T/stale" bs=1 seek=$((767 * 4096)) conv=notrunc status=none
head -c 4080 /dev/zero | tr '\000' '\377' |
	dd of="$T/stale" bs=1 seek=$((767 * 4096 + 16)) conv=notrunc status=none
t "format --force over stale bitmap bytes: exit 0" 0 $V format --force "$T/data" "$T/stale"
if [ "$(dd if="$T/stale" bs=4096 skip=767 count=1 status=none | od -An -v -tx1 | tr -d ' \n' | tr -d 0)" = "" ]; then
	ok "format zeroed the written bitmap block"
else
	nok "format left bytes in the written bitmap block"
fi
# the PACKED bit cleared on packed entries: the layout does not match
cp "$T/meta" "$T/nopack"
poke "$T/nopack" 140 '\000\000\000\000'
resum "$T/nopack" 0
t "packed entries without the PACKED bit in copy A: exit 20" 20 $V check "$T/nopack"
has "copy A: invalid (inconsistent layout)"

# copy A corrupted: copy B (seq 1) is used
cp "$T/meta" "$T/badA"
poke "$T/badA" 100 '\377'
t "copy A corrupted: exit 20" 20 $V check "$T/badA"
has "copy A: invalid (bad superblock checksum)"
has "copy A invalid (bad superblock checksum): using copy B, seq 1"
t "--json with copy A corrupted: exit 20" 20 $V check --json "$T/badA"
grep -q '{"copy":"A","valid":false,"reason":"bad superblock checksum"}' "$T/out" &&
	grep -q '"using":"B","seq":1,' "$T/out" && ok "JSON: reason, copy B in use" ||
	nok "JSON: $(cat "$T/out")"
# copy B with a newer seq than A wins (as in the kernel)
cp "$T/meta" "$T/newB"
poke "$T/newB" $((4096 + 16)) '\011'
resum "$T/newB" 1
t "copy B newer" 0 $V check "$T/newB"
has "using copy B, seq 9"
# both corrupted, all zero, missing
poke "$T/badA" $((4096 + 8)) '\007'
resum "$T/badA" 1
t "both copies invalid: exit 21" 21 $V check "$T/badA"
has "copy B: invalid (unknown format version 7)"
t "an all-zero device is not a vdirt device: exit 21" 21 $V check "$T/data"
t "a missing device: exit 4" 4 $V check "$T/nope"
sum=$(cat "$T/meta" "$T/unclean" "$T/badA" | cksum)
$V check "$T/meta" >/dev/null; $V check "$T/unclean" >/dev/null; $V check "$T/badA" >/dev/null
[ "$sum" = "$(cat "$T/meta" "$T/unclean" "$T/badA" | cksum)" ] && ok "check writes nothing" ||
	nok "check changed a device"

tap_done
