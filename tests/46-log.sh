#!/bin/sh
# vm: --disk 32M --disk 16M --timeout 600
# SPDX-License-Identifier: GPL-2.0
# The tamper-evident record log: records of every kind (activation, epoch,
# baseline, read mismatch) in a hash chain; vdirtctl log --verify online
# and offline (--meta); a record edited, removed or reordered on the
# metadata device is named (exit 6); a checkpoint, then data and metadata
# reverted together: checkpoint verify exits 10; an HMAC chain (log_key:)
# verifies with its key file only.
. "${0%/*}/lib.sh"

use_devs t46
V=vdirtctl
need_vdirtctl
ktap_start

# jfield KEY: the first "KEY":value of the JSON on stdin
jfield() { tr ',{}' '\n\n\n' | sed -n "s/^\"$1\"://p" | head -n 1; }
# rc CMD...: the exit code of CMD, its output in /tmp/out46 (both streams)
rc() { "$@" >/tmp/out46 2>&1; echo $?; }
# rec_fix_csum FILE OFF: the crc32c of the record at byte OFF (its bytes
# 28..31 zeroed, seed ~0, not inverted), as sb_fix_csum does
rec_fix_csum() {
	putbytes "$1" $(($2 + 28)) 0 0 0 0
	_h=$(dd if="$1" bs=256 skip=$(($2 / 256)) count=1 2>/dev/null | vdigest crc32c)
	putbytes "$1" $(($2 + 28)) $((0x${_h%??????} ^ 255)) \
		$((0x$(echo "$_h" | cut -c3-4) ^ 255)) $((0x$(echo "$_h" | cut -c5-6) ^ 255)) \
		$((0x${_h#??????} ^ 255))
}
# rec_off N: byte offset of record N on $M
rec_off() { echo $((LOGS * 4096 + ($1 % 4096) * 256)); }

dd if=/dev/zero of=$M bs=1M count=16 2>/dev/null
open_or_end "create (formats the metadata: chained)"
head -c $((64 * CS)) /dev/urandom >/tmp/a46
wr /tmp/a46 0
dmsetup message $N 0 epoch_new one >/dev/null
check_eq "epoch_new: status epoch=2" 2 "$(st epoch)"
check "baseline capture" $V baseline capture $N
# cluster 5 changed underneath: a read mismatch
head -c $CS /dev/urandom | dd of=$D bs=$CS seek=5 conv=notrunc oflag=direct 2>/dev/null
rd 5 1
dmsetup message $N 0 epoch_new two >/dev/null
$V log $N --json >/tmp/log46
for k in activation epoch baseline read_mismatch; do
	check "log shows a $k record" grep -q "\"kind\":\"$k\"" /tmp/log46
done
check_eq "... 5 records (activation, epoch, baseline capture, read mismatch, epoch)" 5 \
	"$(grep -o '"rec_epoch"' /tmp/log46 | wc -l)"
check "the read mismatch record carries its epoch (2)" \
	sh -c "tr '{' '\n' </tmp/log46 | grep '\"kind\":\"read_mismatch\"' | grep -q '\"rec_epoch\":2'"
check_eq "report (message) shows the mismatch kinds only" 1 "$(report | wc -l)"
check_eq "vdirtctl report too" 1 "$($V report $N --json | grep -c '"kind"')"
check_eq "read_mismatches counts the mismatch only" 1 "$(st read_mismatches)"
check_eq "log --verify online: exit 0" 0 "$(rc $V log $N --verify)"
check "... says the chain verified" grep -q "chain verified: records 0\.\.4" /tmp/out46
check_eq "log --json --verify: verified" true "$($V log $N --json --verify | jfield verified)"
check_eq "checkpoint -o: exit 0" 0 "$(rc $V checkpoint $N -o /tmp/cp1)"
check "... a JSON record with uuid, epoch, seq, log head and hash" \
	sh -c "grep -q '\"uuid\":\"[0-9a-f]\{32\}\".*\"epoch\":3,\"seq\":[0-9]*,\"log_head\":5,\"log_hash\":\"[0-9a-f]\{64\}\"' /tmp/cp1"
check_eq "checkpoint verify of the live state: exit 0" 0 "$(rc $V checkpoint verify $N /tmp/cp1)"
check "the netlink record dump has the raw records" sh -c "$V log $N --json | grep -q '\"prev\":\"[0-9a-f]\{64\}\"'"
close_dev

# ---- offline ----
drop_caches
LOGS=$($V check --json $M | tr ',{}' '\n\n\n' | sed -n 's/^"log_start"://p')
check "check --json has the layout (log_start $LOGS, log_blocks 256, epoch and wset regions)" \
	sh -c "$V check --json $M | grep -q '\"layout\":{.*\"log_blocks\":256.*\"epoch_start\":[1-9].*\"wset_blocks\":[1-9]'"
check_eq "log --meta --verify: exit 0" 0 "$(rc $V log --meta $M --verify)"
check "... from the oldest record to log_hash" grep -q "chain verified: records 0\.\.4" /tmp/out46
check_eq "log --meta shows the 5 records" 5 "$($V log --meta $M --json | grep -o '"rec_epoch"' | wc -l)"
dd if=$M of=/tmp/m46 bs=1M 2>/dev/null
dd if=$D of=/tmp/d46 bs=1M 2>/dev/null

# record 2 (the baseline capture) edited: its aux[1] (baselined count), crc fixed
o2=$(rec_off 2)
putbytes $M $((o2 + 168)) 7
rec_fix_csum $M $o2
check_eq "an edited record (crc fixed): log --meta --verify exit 6" 6 "$(rc $V log --meta $M --verify)"
check "... naming record 2" grep -q "record 2 changed" /tmp/out46
check_eq "... --json names bad_record 2" 2 "$($V log --meta $M --verify --json 2>/dev/null | jfield bad_record)"
dd if=/tmp/m46 of=$M bs=1M conv=notrunc 2>/dev/null
check_eq "restored: verifies again" 0 "$(rc $V log --meta $M --verify)"

# record 3 removed: record 4 moved into its slot, renumbered, crc fixed
o3=$(rec_off 3)
o4=$(rec_off 4)
dd if=/tmp/m46 of=$M bs=256 skip=$((o4 / 256)) seek=$((o3 / 256)) count=1 conv=notrunc 2>/dev/null
putbytes $M $o3 3
rec_fix_csum $M $o3
check_eq "a removed record: exit 6" 6 "$(rc $V log --meta $M --verify)"
check "... naming record 3" grep -q "record 3 " /tmp/out46
dd if=/tmp/m46 of=$M bs=1M conv=notrunc 2>/dev/null

# records 1 and 2 swapped, renumbered, crcs fixed
o1=$(rec_off 1)
dd if=/tmp/m46 of=$M bs=256 skip=$((o2 / 256)) seek=$((o1 / 256)) count=1 conv=notrunc 2>/dev/null
dd if=/tmp/m46 of=$M bs=256 skip=$((o1 / 256)) seek=$((o2 / 256)) count=1 conv=notrunc 2>/dev/null
putbytes $M $o1 1
putbytes $M $o2 2
rec_fix_csum $M $o1
rec_fix_csum $M $o2
check_eq "reordered records: exit 6" 6 "$(rc $V log --meta $M --verify)"
check "... naming record 1" grep -q "record 1 " /tmp/out46
# swapped without renumbering: each is out of its slot
dd if=/tmp/m46 of=$M bs=256 skip=$((o2 / 256)) seek=$((o1 / 256)) count=1 conv=notrunc 2>/dev/null
dd if=/tmp/m46 of=$M bs=256 skip=$((o1 / 256)) seek=$((o2 / 256)) count=1 conv=notrunc 2>/dev/null
check_eq "reordered, numbers kept: exit 6" 6 "$(rc $V log --meta $M --verify)"
check "... naming record 1 (not in its slot)" grep -q "record 1 is not in its slot" /tmp/out46
dd if=/tmp/m46 of=$M bs=1M conv=notrunc 2>/dev/null
sync

# ---- a checkpoint, then data and metadata reverted together ----
open_or_end "reopen"
dmsetup message $N 0 epoch_new three >/dev/null
wr /tmp/a46 8
check_eq "checkpoint -o after more work: exit 0" 0 "$(rc $V checkpoint $N -o /tmp/cp2)"
check_eq "checkpoint verify: exit 0" 0 "$(rc $V checkpoint verify $N /tmp/cp2)"
check_eq "the older checkpoint is extended too" 0 "$(rc $V checkpoint verify $N /tmp/cp1)"
check_eq "log --verify after reopen: exit 0" 0 "$(rc $V log $N --verify)"
check_eq "... 2 activation records" 2 "$($V log $N --json | grep -o '"kind":"activation"' | wc -l)"
close_dev
dd if=/tmp/m46 of=$M bs=1M conv=notrunc oflag=direct 2>/dev/null
dd if=/tmp/d46 of=$D bs=1M conv=notrunc oflag=direct 2>/dev/null
open_or_end "open the reverted data and metadata"
check_eq "the reverted chain itself verifies (a plain chain cannot see it)" 0 "$(rc $V log $N --verify)"
check_eq "checkpoint verify of the reverted state: exit 10" 10 "$(rc $V checkpoint verify $N /tmp/cp2)"
check "... saying why (older state)" grep -q "older state" /tmp/out46
check_eq "the checkpoint taken before the revert point is extended" 0 "$(rc $V checkpoint verify $N /tmp/cp1)"
close_dev

# ---- the HMAC chain (log_key:) ----
head -c 32 /dev/urandom >/tmp/k46
head -c 32 /dev/urandom >/tmp/k46b
dd if=/dev/zero of=$M bs=1M count=16 2>/dev/null
check_fail "log_key: naming no key is refused" open_dev "$(table log_key:vdirt:none46)"
kmark
dmsetup create x46 --table "$(table log_key:vdirt:none46)" 2>/dev/null
check "... with its literal error" sh -c "dmesg | tail -n +$((KMARK + 1)) | grep -q 'Log key not found'"
check "logonkey adds the logon key" logonkey add vdirt:t46 /tmp/k46
head -c 8 /dev/urandom >/tmp/kshort
logonkey add vdirt:short46 /tmp/kshort
kmark
check_fail "a key shorter than 16 bytes is refused" dmsetup create x46 --table "$(table log_key:vdirt:short46)"
check "... with its literal error" sh -c "dmesg | tail -n +$((KMARK + 1)) | grep -q 'Log key too short'"
open_or_end "create with log_key:vdirt:t46" "$(table log_key:vdirt:t46)"
check_eq "the table prints log_key back" "1 log_key:vdirt:t46" "$(dmsetup table $N | cut -d' ' -f8-)"
dmsetup message $N 0 epoch_new keyed >/dev/null
$V baseline capture $N
check_eq "keyed log --verify without a key: exit 9 (the kernel holds it)" 9 "$(rc $V log $N --verify)"
check "... saying so" grep -q "kernel holds the key" /tmp/out46
check_eq "log --verify --key-file: exit 0" 0 "$(rc $V log $N --verify --key-file /tmp/k46)"
check_eq "... with another key: exit 6" 6 "$(rc $V log $N --verify --key-file /tmp/k46b)"
check_eq "the activation record says keyed" true \
	"$($V log $N --json | tr '{' '\n' | grep '"kind":"activation"' | jfield keyed)"
close_dev
drop_caches
check_eq "offline keyed: --key-file verifies" 0 "$(rc $V log --meta $M --verify --key-file /tmp/k46)"
check_eq "... another key: exit 6" 6 "$(rc $V log --meta $M --verify --key-file /tmp/k46b)"
check_eq "... no key: exit 9" 9 "$(rc $V log --meta $M --verify)"
# another key restarts the chain (visible in the activation record)
logonkey add vdirt:t46 /tmp/k46b
open_or_end "reopen keyed with another key" "$(table log_key:vdirt:t46)"
check_eq "... the activation record says the chain restarted (key)" key \
	"$($V log $N --json | tr '{' '\n' | grep '"kind":"activation"' | tail -n 1 | jfield chain_restart | tr -d '"')"
check_eq "... which verifies with the new key" 0 "$(rc $V log $N --verify --key-file /tmp/k46b)"
close_dev
# an unkeyed activation restarts it too
open_or_end "reopen without log_key"
check_eq "the unkeyed chain verifies from its restart" 0 "$(rc $V log $N --verify)"
check_eq "... the activation record says the chain restarted (keying)" keying \
	"$($V log $N --json | tr '{' '\n' | grep '"kind":"activation"' | tail -n 1 | jfield chain_restart | tr -d '"')"
close_dev
logonkey del vdirt:t46
logonkey del vdirt:short46
ktap_done
