#!/bin/sh
# vm: --disk 32M --disk 16M --timeout 600 --tpm --append ima_policy=critical_data
# SPDX-License-Identifier: GPL-2.0
# PCR 10 of a TPM (swtpm, vm-run --tpm) equals the replay of the IMA
# measurement list, and the list holds the epoch root vdirtctl attest gives:
# attest == the dm_vdirt_epoch_root entry, replay(list) == PCR 10, per bank.
# The replay (tests/tools/imareplay) checks every entry's listed template
# digest against its template data first, then extends each bank the way
# the kernel does: with the bank's hash of the template data, or the
# zero-padded SHA-1 template digest for a bank the kernel had no hash for
# (its boot log says "ima: Can not allocate ALG").  A replay without the
# last entry must not match.
. "${0%/*}/lib.sh"

use_devs t55
V=vdirtctl
SEC=/sys/kernel/security/ima
IMA=$SEC/ascii_runtime_measurements
BIN=$SEC/binary_runtime_measurements
TPM=/sys/class/tpm/tpm0

# the dm_vdirt_epoch_root measurements' data (ima-buf: hex), a line each
events() {
	grep ' dm_vdirt_epoch_root ' $IMA | awk '{ print $NF }' |
		while read -r h; do
			printf "$(echo "$h" | sed 's/../\\x&/g')"
			echo
		done
}
# the measured data of epoch $1 of the metadata $uuid (waits for it)
event_of() {
	_i=0
	while [ $_i -lt 600 ]; do
		_e=$(events | grep "^uuid=$uuid;epoch=$1;" | tail -n 1)
		[ -n "$_e" ] && { echo "$_e"; return 0; }
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}
# json KEY: KEY's value in /tmp/a55.json (a string without quotes, or a number)
json() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" /tmp/a55.json; }
# the banks to replay: "ALG" or "ALG:sha1" for each pcr-ALG of the TPM
banks() {
	for _d in $TPM/pcr-*; do
		_b=${_d##*/pcr-}
		[ "$_b" = sm3_256 ] && _b=sm3
		if dmesg | grep -q "ima: Can not allocate ${_d##*/pcr-}"; then
			echo "$_b:sha1"
		else
			echo "$_b"
		fi
	done
}
# the PCR 10 values, "ALG hex" a line, in banks' order
pcrs() {
	for _d in $TPM/pcr-*; do
		_b=${_d##*/pcr-}
		[ "$_b" = sm3_256 ] && _b=sm3
		echo "$_b $(tr 'A-F' 'a-f' <"$_d/10")"
	done
}

cleanup() { rm -f /tmp/a55.json /tmp/l55.1 /tmp/l55.2 /tmp/p55 /tmp/r55 /tmp/d55; }

ktap_start
grep -q ' /sys/kernel/security ' /proc/mounts || mount -t securityfs none /sys/kernel/security
[ -r $BIN ] || skip_all "no IMA measurement list"
diag "$(dmesg | grep -Ei 'ima:|tpm' | sed 's/^\[[ 0-9.]*\] //')"
check "a TPM: $TPM" test -d $TPM
check "IMA found it (no \"No TPM chip found\" at boot)" \
	sh -c "! dmesg | grep -q 'No TPM chip found'"
check "PCR 10 of the sha256 bank in sysfs" test -r $TPM/pcr-sha256/10
B=$(banks | tr '\n' ' ')
diag "banks (ALG:sha1: extended with the padded SHA-1 digest): $B"

# a device, a write, an epoch closed: the kernel measures its root
dd if=/dev/zero of=$M bs=1M count=16 2>/dev/null
head -c $((32 << 20)) /dev/urandom >$D 2>/dev/null
check "create (the kernel formats the zeroed metadata)" open_dev
uuid=$(od -An -tx1 -j 24 -N 16 $M | tr -d ' \n')
check "read everything: every cluster measured" rd 0 $(($(sectors $D) / 8))
head -c $CS /dev/urandom >/tmp/d55
check "a write through the device" wr /tmp/d55 3
e=$(dmsetup message $N 0 epoch_new t55)
check "epoch_new" test -n "$e"
closed=$((e - 1))
ev=$(event_of $closed)
check "the IMA list has the closed epoch's dm_vdirt_epoch_root" test -n "$ev"
diag "$ev"

# attest == the IMA entry
$V attest $N --json >/tmp/a55.json 2>&1
diag "$(cat /tmp/a55.json)"
root=$(echo "$ev" | sed -n 's/.*;root=\([0-9a-f]*\);.*/\1/p')
check "the entry: uuid=<metadata uuid>;epoch=$closed;root=<64 hex>;log_head=N;log_hash=<64 hex>;" \
	sh -c "echo '$ev' | grep -Eqx 'uuid=$uuid;epoch=$closed;root=[0-9a-f]{64};log_head=[0-9]+;log_hash=[0-9a-f]{64};'"
check_eq "attest --json: the entry's uuid" "$uuid" "$(json uuid)"
check_eq "attest --json: the entry's root (nothing written since)" "$root" "$(json root)"
check_eq "attest --json: the epoch after the entry's" $((closed + 1)) "$(json epoch)"

# replay(list) == PCR 10: the list read twice around the PCRs, the same
# both times (nothing measured in between); a few tries, as the last
# entry's extend may still be on its way to the TPM
match=
for try in 1 2 3 4 5; do
	cp $BIN /tmp/l55.1
	pcrs >/tmp/p55
	cp $BIN /tmp/l55.2
	cmp -s /tmp/l55.1 /tmp/l55.2 || { sleep 1; continue; }
	# shellcheck disable=SC2086 # B is a list of banks
	imareplay /tmp/l55.1 $B >/tmp/r55 2>&1 || break
	if [ "$(sed 1d /tmp/r55)" = "$(cat /tmp/p55)" ]; then
		match=1
		break
	fi
	sleep 1
done
diag "PCR 10 (sysfs):"
diag "$(cat /tmp/p55)"
diag "replay of $BIN:"
diag "$(cat /tmp/r55)"
n=$(sed -n 's/^entries //p' /tmp/r55)
check "every listed template digest is the SHA-1 of its template data" \
	test -n "$n"
check_eq "the replay covers every entry of the list" \
	"$(grep -c '^10 ' $IMA)" "$n"
check "... the dm_vdirt_epoch_root entry among them" grep -q " dm_vdirt_epoch_root " $IMA
check "the replay of the list equals PCR 10, every bank (try $try)" test -n "$match"
check "PCR 10 (sha256) is not its reset value" \
	sh -c "test -r $TPM/pcr-sha256/10 && ! grep -qx '0*' $TPM/pcr-sha256/10"
# shellcheck disable=SC2086
bad=$(imareplay -s 1 /tmp/l55.1 $B 2>&1 | sed 1d)
check "a replay without the last entry does not equal PCR 10" \
	test -n "$bad" -a "$bad" != "$(cat /tmp/p55)"
# 6.10 and later also list the template digests of each bank's hash
if [ -r ${BIN}_sha256 ]; then
	check_eq "${BIN}_sha256: its sha256 digests replay to the same PCR 10" \
		"$(grep '^sha256 ' /tmp/p55)" \
		"$(imareplay -d sha256 ${BIN}_sha256 sha256 2>&1 | grep '^sha256 ')"
else
	skip "${BIN}_sha256 replays to the same PCR 10" "no per-bank list (before 6.10)"
fi
check "no kernel warning or bug" sh -c "! dmesg | grep -Eq 'WARNING|BUG|Oops|lockdep'"
ktap_done
