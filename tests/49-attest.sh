#!/bin/sh
# vm: --disk 32M --disk 16M --timeout 900
# SPDX-License-Identifier: GPL-2.0
# Attestation roots, inclusion proofs and the evidence export (issue 15,
# userspace).  A random image written through the device (every cluster
# measured): `attest` equals `baseline build --root` of the image; one byte
# changed through the device changes both, changed back restores both.  A
# proof verifies offline, not with one bit of its path or digest flipped.
# An export of the idle device: verify-image of a dd image passes, a flipped
# byte in the image is named, an edited digest list is refused (6).  An
# export while fio writes the second half (40 writes/s, 4 s before and 16 s
# around and after the export): the export checks (it is of one frozen
# state); the dd image after fio differs in exactly the clusters whose
# current digest (HASH_GET after fio) is not the exported one, all in fio's
# half and in the write set of fio's epoch, though not all of them (clusters
# written only before the snapshot match it), and is again attest's root;
# the manifest keeps epoch 1's root (closed on the image written first).
. "${0%/*}/lib.sh"

use_devs t49
V=vdirtctl
need_vdirtctl
ktap_start

# rc CMD...: the exit code of CMD, its stdout in /tmp/out49, stderr in /tmp/err49
rc() { "$@" >/tmp/out49 2>/tmp/err49; echo $?; }
# flipbyte FILE OFF: one bit of the byte at OFF flipped
flipbyte() { putbytes "$1" "$2" $(($(byte "$1" "$2") ^ 1)); }
# flipx C: the hex digit C with its lowest bit flipped
flipx() { echo "$1" | tr '0123456789abcdef' '1032547698badcfe'; }
# root: the device's root now (attest's last line)
root() { $V attest $N | tail -n 1; }
# imgroot IMG: baseline build --root's last line
imgroot() { $V baseline build "$1" --root --quiet | tail -n 1; }
# hexflip FILE KEY: FILE with the first hex digit after "KEY":" (or "KEY":[") flipped, into FILE.x
hexflip() {
	_c=$(sed -n "s/.*\"$2\":\[*\"\(.\).*/\1/p" "$1")
	sed "s/\"$2\":\(\[*\)\"$_c/\"$2\":\1\"$(flipx "$_c")/" "$1" >"$1.x"
}

dd if=/dev/zero of=$M bs=1M count=16 2>/dev/null
open_or_end "create"
C=$(($(sectors $D) * 512 / CS))
head -c $((C * CS)) /dev/urandom >/tmp/img49
wr /tmp/img49 0

# ---- roots ----
R0=$(root)
check "attest prints a hex root on its last line" sh -c "echo $R0 | grep -Eq '^[0-9a-f]{64}$'"
check_eq "attest equals baseline build --root of the image written" "$(imgroot /tmp/img49)" "$R0"
check "attest --json: the issue's keys in order, then tree_hash and cluster_size" \
	sh -c "$V attest $N --json | grep -q '^{\"uuid\":\"[0-9a-f]\{32\}\",\"epoch\":1,\"clusters\":$C,\"hash\":\"sha256\",\"root\":\"$R0\",\"log_head\":[0-9]*,\"log_hash\":\"[0-9a-f]\{64\}\",\"time\":\"20[0-9-]*T[0-9:.]*Z\",\"tree_hash\":\"sha256\",\"cluster_size\":$CS,'"
cp /tmp/img49 /tmp/img49b
flipbyte /tmp/img49b $((100 * CS + 7))
dd if=/tmp/img49b of=$T bs=$CS skip=100 seek=100 count=1 oflag=direct conv=notrunc 2>/dev/null
R1=$(root)
check "one byte changed through the device: another root" test "$R1" != "$R0"
check_eq "... the root of the changed image" "$(imgroot /tmp/img49b)" "$R1"
wr /tmp/img49 0
check_eq "changed back: the first root again" "$R0" "$(root)"

# ---- proofs ----
check_eq "attest --proof 100 --json: exit 0" 0 "$(rc $V attest $N --proof 100 --json)"
cp /tmp/out49 /tmp/p49
check "... the same root, cluster 100 measured, its digest, a path of 13 siblings" \
	sh -c "grep -q '\"root\":\"$R0\".*\"cluster\":100,\"measured\":true,\"digest\":\"$(dd if=/tmp/img49 bs=$CS skip=100 count=1 2>/dev/null | vdigest sha256)\",\"digest_size\":32,\"path\":\[\(\"[0-9a-f]\{64\}\",\)\{12\}\"[0-9a-f]\{64\}\"\]' /tmp/p49"
check_eq "verify-proof: exit 0" 0 "$(rc $V verify-proof /tmp/p49)"
check "... says valid" grep -q "^valid" /tmp/out49
hexflip /tmp/p49 path
check_eq "one bit of the path flipped: exit 10" 10 "$(rc $V verify-proof /tmp/p49.x)"
hexflip /tmp/p49 digest
check_eq "one bit of the digest flipped: exit 10" 10 "$(rc $V verify-proof /tmp/p49.x)"
sed 's/"cluster":100,/"cluster":101,/' /tmp/p49 >/tmp/p49.x
check_eq "the proof under cluster 101: exit 10" 10 "$(rc $V verify-proof /tmp/p49.x)"
head -c 100 /tmp/p49 >/tmp/p49.x
check_eq "a truncated proof: exit 6" 6 "$(rc $V verify-proof /tmp/p49.x)"

# ---- export of the idle device ----
check_eq "export -o a new directory: exit 0" 0 "$(rc $V export $N -o /tmp/e49a)"
check_eq "... its last line is the device's root" "$R0" "$(tail -n 1 /tmp/out49)"
check "... manifest.json, the digest list, log.raw, log.json" \
	test -s /tmp/e49a/manifest.json -a -s /tmp/e49a/blockhash.sha256 -a -s /tmp/e49a/log.raw -a -s /tmp/e49a/log.json
check_eq "... the digest list: one 32-byte digest per cluster" $((C * 32)) "$(wc -c </tmp/e49a/blockhash.sha256)"
check "... manifest: root, geometry, target version" \
	sh -c "tr -d ' \n' </tmp/e49a/manifest.json | grep -q '\"clusters\":$C,\"cluster_size\":$CS,\"digest_size\":32,\"hash\":\"sha256\",\"tree_hash\":\"sha256\",\"height\":13,\"root\":\"$R0\".*\"target_version\":\"vdirt[0-9. ]*\"'"
check_eq "export into a directory that is not empty: exit 5" 5 "$(rc $V export $N -o /tmp/e49a)"
dd if=$T of=/tmp/d49a bs=1M iflag=direct 2>/dev/null
check_eq "verify-image of a dd image: exit 0" 0 "$(rc $V verify-image /tmp/d49a /tmp/e49a)"
flipbyte /tmp/d49a $((3 * CS + 1000))
check_eq "a flipped byte in cluster 3 of the image: exit 10" 10 "$(rc $V verify-image /tmp/d49a /tmp/e49a)"
check_eq "... naming cluster 3 alone" "3" "$(cat /tmp/out49)"
cp -r /tmp/e49a /tmp/e49b
flipbyte /tmp/e49b/blockhash.sha256 $((5 * 32 + 9))
check_eq "an edited digest list: exit 6" 6 "$(rc $V verify-image /tmp/d49a /tmp/e49b)"
check "... refused as an edited export" grep -q "export is refused" /tmp/err49
rm -rf /tmp/e49b /tmp/d49a

# ---- export under fio load ----
E=$($V epoch $N --label fio)
half=$((C / 2))
fio --name=w49 --filename=$T --ioengine=libaio --direct=1 --iodepth=4 --rw=randwrite \
	--bs=$CS --offset=$((half * CS)) --size=$(((C - half) * CS)) --time_based --runtime=20 \
	--rate_iops=40 \
	>/tmp/fio49 2>&1 &
fiopid=$!
sleep 4
check_eq "export while fio writes the second half: exit 0 (the export checks itself)" 0 \
	"$(rc $V export $N -o /tmp/e49c)"
RC=$(tail -n 1 /tmp/out49)
check "fio was still running after the export" kill -0 $fiopid
wait $fiopid
check_eq "fio exits 0" 0 "$?"
dd if=$T of=/tmp/d49c bs=1M iflag=direct 2>/dev/null
check_eq "verify-image of the image after fio: exit 10" 10 "$(rc $V verify-image /tmp/d49c /tmp/e49c)"
sort -n /tmp/out49 >/tmp/m49
# the clusters whose current digest is not the exported one
od -An -v -tx1 -w32 /tmp/e49c/blockhash.sha256 | tr -d ' ' >/tmp/l49
$V hashes $N >/tmp/h49
awk 'NR == FNR { d[NR - 1] = $1; next } $2 != d[$1] { print $1 }' /tmp/l49 /tmp/h49 |
	sort -n >/tmp/w49
check "... some clusters differ: those fio wrote after the snapshot" test -s /tmp/m49
check "... exactly those whose digest changed since the export's snapshot ($(wc -l </tmp/m49))" \
	cmp -s /tmp/m49 /tmp/w49
check_eq "... all in fio's half" "" "$(awk -v h=$half '$1 < h' /tmp/m49)"
$V changed $N --since $((E - 1)) | awk '{ for (i = 0; i < $2; i++) print $1 + i }' >/tmp/c49
check_eq "... all in the write set of fio's epoch $E" "" \
	"$(awk 'NR == FNR { w[$1] = 1; next } !($1 in w)' /tmp/c49 /tmp/m49)"
check "... but not all of it: clusters fio wrote only before the snapshot match the export" \
	test -n "$(awk 'NR == FNR { m[$1] = 1; next } !($1 in m)' /tmp/m49 /tmp/c49)"
check "... nor all of fio's half" test "$(wc -l </tmp/m49)" -lt $((C - half))
check "the export's root is its manifest's" \
	sh -c "tr -d ' \n' </tmp/e49c/manifest.json | grep -q '\"root\":\"$RC\"'"
check "... its epochs: epoch 1 closed with the root of the image it ended with" \
	sh -c "tr -d ' \n' </tmp/e49c/manifest.json | grep -q '{\"epoch\":1,[^}]*\"closed\":true,[^}]*\"root\":\"$R0\",\"log_hash\":\"[0-9a-f]\{64\}\"}'"
check_eq "the image after fio: attest equals baseline build --root" "$(imgroot /tmp/d49c)" "$(root)"
rm -rf /tmp/e49a /tmp/e49c /tmp/d49c /tmp/img49 /tmp/img49b

ktap_done
