#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Host-side CLI tests of vdirtctl (no kernel module needed): meta-size, format
# on regular files, baseline build/show, refusals and exit codes; the strict
# inputs of issue 18 (numbers, -o paths, what format refuses, messages).
# TAP output.
V=${1:-./vdirtctl}
. "$(dirname "$0")/../../tests/host/lib.sh"
tap_start

t "--help exits 0" 0 $V --help
t "unknown command is a usage error (2)" 2 $V frobnicate
t "missing arguments are a usage error (2)" 2 $V format
t "meta-size 1G" 0 $V meta-size 1G
[ "$(cat "$T/out")" = 32411648 ] && ok "meta-size 1G = 32411648 (packed entries, 16 epochs, the tree, the written bitmap)" ||
	nok "meta-size 1G = $(cat "$T/out")"
t "meta-size 1G --unpacked" 0 $V meta-size 1G --unpacked
[ "$(cat "$T/out")" = 44908544 ] && ok "meta-size 1G --unpacked = 44908544 (power-of-two entries)" ||
	nok "meta-size 1G --unpacked = $(cat "$T/out")"
t "--unpacked is refused by open" 2 $V open --unpacked a b c
t "meta-size 1G --without tree" 0 $V meta-size 1G --without tree
[ "$(cat "$T/out")" = 32251904 ] && ok "meta-size 1G --without tree = 32251904 (39 tree blocks fewer)" ||
	nok "meta-size 1G --without tree = $(cat "$T/out")"
t "meta-size 1G --without writesets,history,tree" 0 $V meta-size 1G --without writesets,history,tree
[ "$(cat "$T/out")" = $((32251904 - (144 + 256) * 4096)) ] &&
	ok "... = $((32251904 - (144 + 256) * 4096)) (16 write sets of 9 blocks, 256 history blocks fewer)" ||
	nok "... = $(cat "$T/out")"
t "meta-size 1G --without unwritten" 0 $V meta-size 1G --without unwritten
[ "$(cat "$T/out")" = 32374784 ] && ok "meta-size 1G --without unwritten = 32374784 (9 bitmap blocks fewer: what 1.6 formats)" ||
	nok "meta-size 1G --without unwritten = $(cat "$T/out")"
t "--without an unknown region is a usage error" 2 $V meta-size 1G --without tree,staging
t "--without is refused by open" 2 $V open --without tree a b c
t "--zero-unwritten is refused by format" 2 $V format --zero-unwritten a b
t "--wait is refused by close" 2 $V close --wait a
t "purge needs a name" 2 $V purge
t "purge takes one name" 2 $V purge a b
t "--force is refused by purge" 2 $V purge --force a
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
t "format refuses random bytes in the entry region without --force (exit 5)" 5 \
	$V format "$T/data" "$T/stale"
grep -q "is not zero at byte 8192 of the" "$T/err" && ok "... naming the first non-zero byte" ||
	nok "message: $(cat "$T/err")"
t "format --force over random bytes in the entry region" 0 $V format --force "$T/data" "$T/stale"
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
grep -qx "vdirtctl: option --threads is not allowed with close (only with: baseline build)" "$T/err" &&
	ok "... 'option --threads is not allowed with close'" || nok "message: $(cat "$T/err")"
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

# --- strict inputs (issue 18) --------------------------------------------------
# numbers are decimal: 010 is ten threads, 08 is eight, 0x8 is refused
t "--threads 010" 0 $V -d baseline build "$T/img" -o "$T/bl10" --threads 010
grep -q ", 10 threads" "$T/err" && ok "... is ten threads (decimal, not octal)" || nok "threads: $(grep threads "$T/err")"
t "--threads 08 is eight" 0 $V -d baseline build "$T/img" -o "$T/bl8" -t 08
grep -q ", 8 threads" "$T/err" && ok "... eight threads" || nok "threads: $(grep threads "$T/err")"
t "--threads 0x8 is refused (exit 2)" 2 $V baseline build "$T/img" -o "$T/blx" -t 0x8
grep -q "'0x8' is not a decimal number" "$T/err" && ok "... not a decimal number" || nok "message: $(cat "$T/err")"
t "--threads 0 is refused" 2 $V baseline build "$T/img" -o "$T/blx" -t 0
t "--threads 257 is refused" 2 $V baseline build "$T/img" -o "$T/blx" -t 257
t "--cluster-size 0 is refused, not the default" 2 $V meta-size 1G -c 0
grep -q "out of range" "$T/err" && ok "... out of range" || nok "message: $(cat "$T/err")"
t "--cluster-size 64K is a size" 0 $V meta-size 1G -c 64K
t "--count 0 is refused" 2 $V monitor -n 0
t "--cache-mb 0 is refused" 2 $V open --cache-mb 0 a b c
t "--cache-mb 65537 is refused (the table's 1..65536)" 2 $V open --cache-mb 65537 a b c
t "--write-back 257 is refused (the table's 0..256)" 2 $V open --write-back 257 a b c
t "--write-back x is refused" 2 $V open --write-back x a b c
t "report --write-back is refused" 2 $V report x --write-back 8
t "open --tab with --write-back is refused" 2 $V open --tab --write-back 8 /nonexistent
t "--epochs 1 is refused" 2 $V meta-size 1G --epochs 1
t "--interval 0 is refused" 2 $V monitor --interval 0
t "meta-size 0 is refused" 2 $V meta-size 0
t "meta-size 0K is refused" 2 $V meta-size 0K
t "meta-size 1.5G is not taken as a path (exit 2)" 2 $V meta-size 1.5G
grep -q "'1.5G': not a size" "$T/err" && ! grep -q "No such file" "$T/err" &&
	ok "... 'not a size', not 'No such file'" || nok "message: $(cat "$T/err")"
VA=$(cd "$(dirname "$V")" && pwd)/$(basename "$V")
t "meta-size of a file named 1.5G is the file" 0 sh -c "cd '$T' && truncate -s 1G 1.5G && $VA meta-size 1.5G"
[ "$(cat "$T/out")" = 32411648 ] && ok "... the file's size, 1 GiB" || nok "meta-size: $(cat "$T/out")"

# -o: a regular file or a new path only, never a device node (renamed over before)
mkdir "$T/odir"
mkfifo "$T/ofifo"
ln -s "$T/bl" "$T/olink"
for o in odir ofifo olink; do
	t "baseline build -o $o is refused (exit 6)" 6 $V baseline build "$T/img" -o "$T/$o"
done
grep -q "not a regular file" "$T/err" && ok "... 'not a regular file'" || nok "message: $(cat "$T/err")"
[ -d "$T/odir" ] && [ -p "$T/ofifo" ] && [ -L "$T/olink" ] && ok "... each left as it was" ||
	nok "an -o path was replaced"
if mknod "$T/onode" c 1 7 2>/dev/null; then
	t "baseline build -o a character device node is refused" 6 $V baseline build "$T/img" -o "$T/onode"
	[ -c "$T/onode" ] && ok "... the node is still a character device" || nok "the device node was replaced"
else
	skip "baseline build -o a character device node is refused" "mknod not permitted"
	skip "... the node is still a character device" "mknod not permitted"
fi
t "checkpoint -o a FIFO is refused before any work" 6 $V checkpoint x -o "$T/ofifo"
t "monitor --prometheus-textfile a directory is refused" 6 $V monitor --prometheus-textfile "$T/odir"
t "baseline build -o an existing regular file replaces it" 0 $V baseline build "$T/img" -o "$T/bl10"

# format: never data == metadata, nothing holding data without --force
truncate -s 4M "$T/same"
t "format refuses data == metadata (exit 6)" 6 $V format "$T/same" "$T/same"
grep -q "the same file or device" "$T/err" && ok "... 'the same file or device'" || nok "message: $(cat "$T/err")"
ln "$T/same" "$T/same.hard"
t "... also through a hard link" 6 $V format "$T/same" "$T/same.hard"
[ "$(tr -d '\000' <"$T/same" | wc -c)" = 0 ] && ok "... nothing written" || nok "format wrote to the data file"
# random data at 20 MiB of a 40 MiB metadata file for 1 GiB of data (32 MB of metadata)
truncate -s 1G "$T/data1g"
truncate -s 40M "$T/meta20"
head -c 4096 /dev/urandom | dd of="$T/meta20" bs=1M seek=20 conv=notrunc 2>/dev/null
sum=$(cksum <"$T/meta20")
t "format refuses random data at 20 MiB of the region it overwrites (exit 5)" 5 $V format "$T/data1g" "$T/meta20"
grep -q "not zero at byte 20971520 " "$T/err" && ok "... naming byte 20971520" || nok "message: $(cat "$T/err")"
[ "$sum" = "$(cksum <"$T/meta20")" ] && ok "... and leaves it as it was" || nok "format changed the metadata file"
t "format --force formats it" 0 $V format --force "$T/data1g" "$T/meta20"
truncate -s 40M "$T/meta39"
head -c 4096 /dev/urandom | dd of="$T/meta39" bs=1M seek=39 conv=notrunc 2>/dev/null
t "bytes past the region a format overwrites do not count" 0 $V format "$T/data1g" "$T/meta39"
# signatures (libblkid): a partition table, swap, ext4, LUKS
python3 -c "
import struct, sys
b = bytearray(512); b[510:512] = b'\x55\xaa'; b[450] = 0x83
b[454:462] = struct.pack('<II', 2048, 4096)
open(sys.argv[1], 'wb').write(bytes(b))" "$T/mbr"
truncate -s 4M "$T/mbr"
t "format refuses a partition table without --force" 5 $V format "$T/data" "$T/mbr"
grep -q "a dos partition table signature" "$T/err" && ok "... 'a dos partition table signature'" || nok "message: $(cat "$T/err")"
sig() {	# sig NAME WHAT CMD...: a signature CMD writes on a 16 MiB file is refused
	_n=$1 _w=$2
	shift 2
	truncate -s 16M "$T/sig-$_n"
	if ! command -v "$1" >/dev/null 2>&1 || ! "$@" "$T/sig-$_n" >/dev/null 2>&1 </dev/null; then
		skip "format refuses $_w" "no $1"
		return
	fi
	t "format refuses $_w without --force" 5 $V format "$T/data" "$T/sig-$_n"
	grep -q "holds an* $_n signature (libblkid)" "$T/err" || nok "message: $(cat "$T/err")"
}
sig swap "a swap area" mkswap
sig ext4 "an ext4 filesystem" mkfs.ext4 -q -F
sig crypto_LUKS "a LUKS header" sh -c 'echo pw | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 "$0"'
t "format --force over the ext4 signature" 0 $V format --force "$T/data" "$T/sig-ext4"
head -c 8192 /dev/urandom >"$T/junk2"
truncate -s 4M "$T/junk2"
t "format refuses junk in the superblock blocks" 5 $V format "$T/data" "$T/junk2"
grep -c "not a dm-vdirt superblock" "$T/err" | grep -qx 1 && ! grep -q "superblock (not a" "$T/err" &&
	ok "... saying 'not a dm-vdirt superblock' once" || nok "message: $(cat "$T/err")"

# help, version, unknown options; one message, said once
t "-? is help" 0 $V -?
grep -q "^Usage: vdirtctl" "$T/out" && ok "... on stdout" || nok "-?: $(head -n 2 "$T/out")"
t "-V is the version" 0 $V -V
grep -qx "vdirtctl [0-9.]*" "$T/out" && ok "... 'vdirtctl N'" || nok "-V: $(cat "$T/out")"
t "--version" 0 $V --version
t "-h is still --hash (tests/30 and scripts use it)" 0 $V meta-size 1G -h crc32c --json
grep -q '"hash":"crc32c"' "$T/out" && ok "... -h crc32c" || nok "-h: $(cat "$T/out")"
t "an unknown option (exit 2)" 2 $V -x meta-size 1G
[ "$(wc -l <"$T/err")" = 1 ] && grep -qx "vdirtctl: unknown option '-x'; see vdirtctl --help" "$T/err" &&
	ok "... one line naming it" || nok "message: $(head -n 3 "$T/err")"
t "a missing option value (exit 2)" 2 $V meta-size 1G -c
grep -qx "vdirtctl: option '-c' needs a value; see vdirtctl --help" "$T/err" && ok "... says so" ||
	nok "message: $(cat "$T/err")"
t "baseline show of a missing file" 4 $V baseline show /nonexist/x
grep -qx "vdirtctl: /nonexist/x: No such file or directory" "$T/err" && ok "... names the path once" ||
	nok "message: $(cat "$T/err")"
t "baseline show of a truncated file" 6 $V baseline show "$T/bl.trunc"
[ "$(grep -o "$T/bl.trunc" "$T/err" | wc -l)" = 1 ] && ok "... names the path once" || nok "message: $(cat "$T/err")"

# nothing on stdout when a command fails
t "check of an all-zero device (a verdict, exit 21) keeps its report" 21 $V check "$T/data"
[ -s "$T/out" ] && ok "... on stdout" || nok "check printed nothing"
t "log --meta of an unformatted device fails" 6 $V log --meta "$T/data" --json
[ ! -s "$T/out" ] && ok "... with nothing on stdout" || nok "stdout: $(head -c 200 "$T/out")"
$V format -q --force "$T/data" "$T/meta"
t "log --verify with a missing --key-file fails (exit 4)" 4 $V log --meta "$T/meta" --verify --key-file "$T/nokey" --json
[ ! -s "$T/out" ] && ok "... with nothing on stdout (its JSON was printed before)" ||
	nok "stdout: $(head -c 200 "$T/out")"

# device-mapper missing from the kernel: said so, not "Cannot allocate memory"
if [ -e /dev/mapper/control ] && dmsetup version >/dev/null 2>&1; then
	skip "no device-mapper: status says 'device-mapper is not available'" "this kernel has device-mapper"
	skip "... and open too" "this kernel has device-mapper"
else
	t "no device-mapper: status exits 4" 4 $V status x
	grep -qx "vdirtctl: x: device-mapper is not available" "$T/err" &&
		ok "... saying 'device-mapper is not available', once" || nok "message: $(cat "$T/err")"
	t "... open exits 4" 4 $V open "$T/data" "$T/meta" x
	[ "$(wc -l <"$T/err")" = 1 ] && grep -q "device-mapper is not available" "$T/err" &&
		ok "... in one line" || nok "message: $(cat "$T/err")"
fi

tap_done
