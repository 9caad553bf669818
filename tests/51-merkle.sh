#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 600 --append ima_policy=critical_data
# SPDX-License-Identifier: GPL-2.0
# The attestation tree in the kernel (RO_COMPAT_MERKLE).  Each epoch_new
# computes the closed epoch's root and measures it with IMA (event
# dm_vdirt_epoch_root, label dm-vdirt, under ima_policy=critical_data): the
# measurement list is how this test reads roots (and vdirtctl attest agrees
# with it, last).  The
# same content gives the same root, across a reopen and after a change
# made and undone; a one-byte change gives another root; the nodes kept on
# the metadata device stay right under concurrent writes while roots are
# computed (only the changed chunks are hashed again, the rest is read
# back).  metadata_snap take/drop and attest answer or refuse as
# documented; a baseline load and a snapshot exclude each other; the
# changed-chunk bitmap survives a crash (the live metadata copied, put back
# after the remove).
. "${0%/*}/lib.sh"

use_devs t51
V=vdirtctl
IMA=/sys/kernel/security/ima/ascii_runtime_measurements

# events: the dm_vdirt_epoch_root measurements' data (ima-buf: hex), a line each
events() {
	grep ' dm_vdirt_epoch_root ' $IMA | awk '{ print $NF }' |
		while read -r h; do
			printf "$(echo "$h" | sed 's/../\\x&/g')"
			echo
		done
}
# roots: one "epoch=E;root=HEX" a line, of the metadata of uuid $uuid
roots() {
	events | sed -n "s/^uuid=$uuid;epoch=\([0-9]*\);root=\([0-9a-f]*\);.*/epoch=\1;root=\2/p"
}
# the metadata's uuid (superblock bytes 24..39)
get_uuid() { uuid=$(od -An -tx1 -j 24 -N 16 $M | tr -d ' \n'); }
# root_of E: the measured root of epoch E (waits for it)
root_of() {
	_i=0
	while [ $_i -lt 600 ]; do
		_r=$(roots | sed -n "s/^epoch=$1;root=//p" | tail -n 1)
		[ -n "$_r" ] && { echo "$_r"; return 0; }
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}
# enew: close the epoch, print the closed epoch's root
enew() { _e=$(dmsetup message $N 0 epoch_new "$@") && root_of $((_e - 1)); }
# ep_key E KEY: the string KEY of epoch E in `vdirtctl epochs --json`
ep_key() {
	$V epochs $N --json | tr '{' '\n' | grep "\"epoch\":$1," |
		sed -n "s/.*\"$2\":\"\([0-9a-f]*\)\".*/\1/p"
}
img() { rd 0 $(($(sectors $D) / 8)) /dev/null; }

cleanup() { rm -f /tmp/c51.orig /tmp/c51.new /tmp/img51 /tmp/bl51; }

ktap_start
mountpoint -q /sys/kernel/security || mount -t securityfs none /sys/kernel/security
[ -r $IMA ] || skip_all "no IMA measurement list"
dd if=/dev/zero of=$M bs=1M count=16 2>/dev/null
head -c $((64 << 20)) /dev/urandom >$D 2>/dev/null
check "create (the kernel formats the zeroed metadata)" open_dev
get_uuid
check "read everything: every cluster measured" img
check_eq "measured" $(($(sectors $D) / 8)) "$(st measured)"
r2=$(enew e2)
check "epoch_new: the IMA list has the closed epoch's root" test -n "$r2"
diag "root of epoch 1: $r2"
ev=$(events | tail -n 1)
diag "$ev"
check "the measurement: uuid=<metadata uuid>;epoch=1;root=<root>;log_head=N;log_hash=<64 hex>;" \
	sh -c "echo '$ev' | grep -Eqx 'uuid=$uuid;epoch=1;root=$r2;log_head=[0-9]+;log_hash=[0-9a-f]{64};'"
r3=$(enew e3)
check_eq "nothing changed: the next epoch's root is the same" "$r2" "$r3"

# a one-byte change through the device, then undone
dio read $T $((5 * CS)) $CS /tmp/c51.orig
cp /tmp/c51.orig /tmp/c51.new
printf '\377' | dd of=/tmp/c51.new bs=1 seek=100 conv=notrunc 2>/dev/null
cmp -s /tmp/c51.orig /tmp/c51.new && printf '\000' | dd of=/tmp/c51.new bs=1 seek=100 conv=notrunc 2>/dev/null
wr /tmp/c51.new 5
r4=$(enew e4)
check "a one-byte change gives another root" test -n "$r4" -a "$r4" != "$r3"
# the epoch table keeps each closed epoch's root and log hash
check_eq "epochs --json: epoch 1's root is the measured one" "$r2" "$(ep_key 1 root)"
check_eq "epochs --json: epoch 3's root is the measured one" "$r4" "$(ep_key 3 root)"
# its log_hash is D(log_end - 1): the "prev" of record log_end (the epoch
# record that follows the close; IMA's log_hash is taken after it)
le=$($V epochs $N --json | tr '{' '\n' | grep '"epoch":1,' | sed -n 's/.*"log_end":\([0-9]*\).*/\1/p')
check_eq "epochs --json: epoch 1's log_hash is the chain hash at its close" \
	"$($V log $N --json | tr '{' '\n' | grep "\"seq\":$le," | sed -n 's/.*"prev":"\([0-9a-f]*\)".*/\1/p')" \
	"$(ep_key 1 log_hash)"
check "... which is 64 hex digits" sh -c "$V epochs $N --json | grep -Eq '\"log_hash\":\"[0-9a-f]{64}\"'"
check_eq "epochs --json: the open epoch has no root" "" "$(ep_key 4 root)"
wr /tmp/c51.orig 5
r5=$(enew e5)
check_eq "writing the old content back restores the root" "$r3" "$r5"

# unmeasured clusters have their own leaf: a discard changes the root
blkdiscard -o $((9 * CS)) -l $CS $T
r6=$(enew e6)
check "a discarded (unmeasured) cluster changes the root" test -n "$r6" -a "$r6" != "$r5"
rd 9 1
r6b=$(enew e6b)
diag "after reading it again: $r6b"

# the nodes on the metadata device survive a reopen
check "remove" close_dev
check "reopen" open_dev
r7=$(enew e7)
check_eq "after a reopen, the same content: the same root" "$r6b" "$r7"

# concurrent writes while roots are computed; then two roots agree
fio --name=w --filename=$T --rw=randwrite --bs=4k --direct=1 --size=32M \
	--time_based --runtime=6 --ioengine=psync --numjobs=2 \
	--output=/dev/null 2>/dev/null &
fp=$!
n=0
while kill -0 $fp 2>/dev/null; do
	dmsetup message $N 0 epoch_new busy >/dev/null 2>&1 && n=$((n + 1))
	sleep 0.5
done
wait $fp
diag "$n epochs closed under fio"
img
r8=$(enew after-fio)
r9=$(enew again)
check "after writes during root computations: a root" test -n "$r8"
check_eq "... and the next root, no write between, equals it" "$r8" "$r9"
# a fresh tree over the same content gives the same root: the stored
# nodes were right
check "remove" close_dev
dd if=/dev/zero of=$M bs=1M count=16 2>/dev/null
check "a new metadata device over the same data" open_dev
get_uuid
img
r10=$(enew fresh)
check_eq "a fresh tree over the same content: the same root" "$r9" "$r10"

# a few scattered writes (libaio, 16 in flight) on a tree whose other
# chunks are clean: the incremental root equals a fresh tree's
fio --name=s --filename=$T --rw=randwrite --bs=4k --direct=1 --size=64M \
	--ioengine=libaio --iodepth=16 --number_ios=40 --output=/dev/null 2>/dev/null
r12=$(enew sparse)
check "40 scattered writes: another root" test -n "$r12" -a "$r12" != "$r10"
check "remove" close_dev
dd if=/dev/zero of=$M bs=1M count=16 2>/dev/null
check "a new metadata device over the same data" open_dev
get_uuid
img
r13=$(enew fresh2)
check_eq "... the incremental root equals a fresh tree's over the same content" "$r12" "$r13"

# messages
check_eq "attest answers a computation number" 1 \
	"$(dmsetup message $N 0 attest 2>/dev/null | grep -c '^[0-9][0-9]*$')"
sleep 1
check_fail "attest with a cluster past the end is refused" \
	dmsetup message $N 0 attest $(($(sectors $D) / 8))
check_fail "attest with a malformed cluster is refused" dmsetup message $N 0 attest x1
check_fail "metadata_snap drop without a snapshot is refused" \
	dmsetup message $N 0 metadata_snap drop
check "metadata_snap take" dmsetup message $N 0 metadata_snap take
check_fail "metadata_snap take twice is refused" dmsetup message $N 0 metadata_snap take
check_fail "attest while a snapshot is held is refused" dmsetup message $N 0 attest
rd 0 $(($(sectors $D) / 8)) /tmp/img51
$V baseline build -q /tmp/img51 -o /tmp/bl51 >/dev/null 2>&1
rm -f /tmp/img51
out=$($V baseline load $N /tmp/bl51 2>&1); rc=$?
check "a baseline load while a snapshot is held is refused" test $rc -ne 0
check "... saying why" sh -c "echo '$out' | grep -q 'metadata snapshot'"
diag "$out"
wr /tmp/c51.new 5
kmark
e=$(dmsetup message $N 0 epoch_new snap)
check "epoch_new while a snapshot is held: the epoch closes" test -n "$e"
check "... without a root, said in the kernel log" \
	sh -c "dmesg | tail -n +$((KMARK + 1)) | grep -q 'epoch $((e - 1)) closed without an attestation root'"
check "metadata_snap drop" dmsetup message $N 0 metadata_snap drop
check_fail "metadata_snap with another word is refused" dmsetup message $N 0 metadata_snap keep
r11=$(enew after-snap)
check "after the snapshot: roots again" test -n "$r11"
out=$($V baseline load $N /tmp/bl51 2>&1)
check "and a baseline load" test $? -eq 0
diag "$out"
# the root on demand (vdirtctl attest: ATTEST, ATTEST_GET) of the same state
# as the last closed epoch's (a baseline load changes no current digest)
check_eq "vdirtctl attest gives the last epoch's IMA-measured root" "$r11" \
	"$($V attest $N 2>/dev/null | tail -n 1)"
check "no kernel warning or bug" sh -c "! dmesg | grep -Eq 'WARNING|BUG|Oops|lockdep'"
ktap_done
