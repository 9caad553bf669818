#!/bin/sh
# vm: --disk 128M --disk 16M --disk 24M --disk 8M --timeout 600
# SPDX-License-Identifier: GPL-2.0
# Cluster -> file (vdirtctl files, report --files; libtsk): a GPT disk on
# dm-vdirt with ext4 (p1), FAT16 (p2) and XFS (p3), and an NTFS disk without a
# table on a second dm-vdirt device, a few hundred files each
# (tests/fixtures/files-fs.sh).  One block of a known file is changed
# underneath each filesystem, the disk read: report --files names exactly that
# file with the offset debugfs / mshowfat / ntfsinfo give; an unallocated and
# an inode-table cluster are labelled so; the XFS partition gets the clear
# message naming it.
. "${0%/*}/lib.sh"
. "${0%/*}/fixtures/files-fs.sh"

use_devs t44
V=vdirtctl
need_vdirtctl
$V files /dev/null 0 >/dev/null 2>&1
[ $? -ne 9 ] || skip_all "vdirtctl built without libtsk"
for tool in mkfs.vfat mcopy mshowfat mkntfs ntfscp ntfsinfo mkfs.xfs sgdisk debugfs; do
	command -v $tool >/dev/null 2>&1 || skip_all "no $tool in the guest image"
done
export MTOOLS_SKIP_CHECK=1

# tamper DEV BYTE: overwrite 512 bytes at BYTE of a raw data device (O_DIRECT)
tamper() { head -c 512 /dev/urandom | dio write "$1" "$2"; }
# records: the mismatch records of device $1 in vdirtctl report's text
has_line() { grep -qxF "$2" "$1"; }

ktap_start
open_or_end "create the target"

files_tree /tmp/src 300
mk_gpt $T 24 16 32 >/tmp/parts
check "GPT with three partitions on the target" test "$(wc -l </tmp/parts)" -eq 3
# shellcheck disable=SC2046 # three pairs of numbers, split on purpose
set -- $(cat /tmp/parts)
P1=$1 S1=$2 P2=$3 S2=$4 P3=$5 S3=$6
part_dev ${N}p1 $T $S1 $P1 && part_dev ${N}p2 $T $S2 $P2 && part_dev ${N}p3 $T $S3 $P3
check "ext4 with 300 files on partition 1" mk_ext4 /dev/mapper/${N}p1 /tmp/src
check "FAT16 with 300 files on partition 2" mk_fat /dev/mapper/${N}p2 /tmp/src
check "XFS on partition 3" mk_xfs /dev/mapper/${N}p3
sync
drop_caches

# --- ext4: block 4 of /data/known.bin (file bytes 16384-20479), as debugfs says
eb=$(debugfs -R "bmap /data/known.bin 4" /dev/mapper/${N}p1 2>/dev/null)
ino=$(debugfs -R "stat /data/known.bin" /dev/mapper/${N}p1 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
ec=$((P1 / 8 + eb))
diag "known.bin block 4: ext4 block $eb, cluster $ec, inode $ino"
tamper $D $((ec * CS + 1024))
drop_caches
rd $ec 1
check_eq "reading it: one read mismatch" 1 "$(st read_mismatches)"
$V report --files $N >/tmp/rep 2>/tmp/rep.err
check_eq "report --files: exit 0" 0 $?
check_eq "report --files: one record, at cluster $ec" "1 $ec" \
	"$(grep -c ' cluster ' /tmp/rep) $(sed -n 's/.* cluster \([0-9]*\) sector .*/\1/p' /tmp/rep)"
want="  partition 1 (start sector $P1, Linux filesystem) ext4 block $eb: /data/known.bin (inode $ino, bytes 16384-20479)"
check "report --files names /data/known.bin, bytes 16384-20479" has_line /tmp/rep "$want"
check_eq "report --files: that file only" 1 "$(grep -c '^  ' /tmp/rep)"
$V --json report --files $N >/tmp/rep.json
check "report --files --json: the file, inode and offset" grep -qF \
	"\"partition\":{\"index\":1,\"start_sector\":$P1,\"type\":\"Linux filesystem\"},\"fs\":\"ext4\",\"allocated\":true,\"files\":[{\"path\":\"/data/known.bin\",\"inode\":$ino,\"offset\":16384,\"length\":4096}],\"meta\":null" /tmp/rep.json

# --- FAT16: the disk cluster holding byte 40000 of /data/known.bin
ch=$(mshowfat -i /dev/mapper/${N}p2 ::/data/known.bin | sed 's/.*<\([0-9]*\)-.*/\1/')
bps=$(($(byte /dev/mapper/${N}p2 11) + 256 * $(byte /dev/mapper/${N}p2 12)))
rsv=$(($(byte /dev/mapper/${N}p2 14) + 256 * $(byte /dev/mapper/${N}p2 15)))
nfat=$(byte /dev/mapper/${N}p2 16)
roots=$(($(byte /dev/mapper/${N}p2 17) + 256 * $(byte /dev/mapper/${N}p2 18)))
fsz=$(($(byte /dev/mapper/${N}p2 22) + 256 * $(byte /dev/mapper/${N}p2 23)))
spc=$(byte /dev/mapper/${N}p2 13)
fstart=$((P2 * 512 + (rsv + nfat * fsz) * bps + roots * 32 + (ch - 2) * spc * bps))
fc=$(((fstart + 40000) / CS))
foff=$((fc * CS - fstart))
diag "known.bin on FAT: first cluster $ch, file byte 0 at disk byte $fstart; disk cluster $fc = file bytes $foff-$((foff + CS - 1))"
check "mshowfat: known.bin is one run (the offset below assumes it)" sh -c \
	"mshowfat -i /dev/mapper/${N}p2 ::/data/known.bin | grep -qx '::/data/known.bin <[0-9]*-[0-9]*>'"
tamper $D $((fc * CS))
drop_caches
rd $fc 1
$V report --files $N >/tmp/rep 2>&1
check_eq "FAT: two records now, the second at cluster $fc" "2 $fc" \
	"$(grep -c ' cluster ' /tmp/rep) $(sed -n 's/.* cluster \([0-9]*\) sector .*/\1/p' /tmp/rep | tail -n 1)"
check "report --files names /data/known.bin on FAT, bytes $foff-$((foff + CS - 1))" grep -qE \
	"^  partition 2 \(start sector $P2, Microsoft basic data\) fat16 blocks [0-9]+-[0-9]+: /data/known.bin \(inode [0-9]+, bytes $foff-$((foff + CS - 1))\)\$" /tmp/rep
check_eq "FAT: that file only" 2 "$(grep -c '^  ' /tmp/rep)"

# --- labels: a free ext4 block, group 0's inode table; the XFS partition
fb=$(debugfs -R "ffb 1 3000" /dev/mapper/${N}p1 2>/dev/null | sed -n 's/.*: \([0-9]*\).*/\1/p')
$V files $N $((P1 / 8 + fb)) >/tmp/out
check_eq "ext4 block $fb (debugfs ffb: free) is unallocated" \
	"cluster $((P1 / 8 + fb)): partition 1 (start sector $P1, Linux filesystem) ext4 block $fb: unallocated" \
	"$(cat /tmp/out)"
it=$(debugfs -R stats /dev/mapper/${N}p1 2>/dev/null | sed -n 's/.*Group  0: .*inode table at \([0-9]*\).*/\1/p')
$V files $N $((P1 / 8 + it + 1)) >/tmp/out
check_eq "ext4 block $((it + 1)) (debugfs: group 0's inode table) is the inode table" \
	"cluster $((P1 / 8 + it + 1)): partition 1 (start sector $P1, Linux filesystem) ext4 block $((it + 1)): inode table" \
	"$(cat /tmp/out)"
$V --json files $N $((P1 / 8 + fb)) >/tmp/out
check "--json: the free block is allocated false, no files, meta null" grep -qF \
	"\"fs\":\"ext4\",\"allocated\":false,\"files\":[],\"meta\":null" /tmp/out
xc=$((P3 / 8 + 10))
$V files $N $xc >/tmp/out 2>/tmp/err
check_eq "XFS: files exits 0" 0 $?
check "XFS: the result names partition 3 and says libtsk cannot read xfs" grep -qE \
	"^cluster $xc: partition 3 \(start sector $P3, Linux filesystem\) xfs: not mapped: libtsk [0-9.]+ cannot read xfs filesystems" /tmp/out
check "XFS: and stderr says so, naming the partition" grep -qF \
	"partition 3 (start sector $P3, Linux filesystem): libtsk" /tmp/err
$V --json files $N $xc >/tmp/out 2>/dev/null
check "XFS --json: fs xfs, allocated null, an error" grep -qE \
	'"fs":"xfs","allocated":null,"files":\[\],"meta":null,"error":"libtsk [0-9.]+ cannot read xfs' /tmp/out

# --- NTFS without a partition table, on a second dm-vdirt device
NT=${N}n
files_tree /tmp/srcn 200
open_as $NT "0 $(sectors /dev/vdc) vdirt /dev/vdc /dev/vdd 4096 sha256"
check "NTFS with 200 files on a second dm-vdirt device" mk_ntfs /dev/mapper/$NT /tmp/srcn
sync
drop_caches
# its run list: "VCN LCN Length" in hex; known.bin is one run
run=$(ntfsinfo -F /data_known.bin -v /dev/mapper/$NT 2>/dev/null | sed -n '/Dumping attribute \$DATA/,$p' |
	awk '/Runlist:/ { getline; print $2; exit }')
ni=$(ntfsinfo -F /data_known.bin /dev/mapper/$NT 2>/dev/null | sed -n 's/^Dumping Inode \([0-9]*\) .*/\1/p')
nc=$((run + 2))
diag "NTFS known.bin: first cluster $run, MFT record $ni; tampering cluster $nc (file bytes 8192-12287)"
tamper /dev/vdc $((nc * 4096 + 512))
drop_caches
dio read /dev/mapper/$NT $((nc * 4096)) 4096 /dev/null
$V report --files $NT >/tmp/rep 2>&1
check "NTFS: report --files names /data_known.bin, bytes 8192-12287" has_line /tmp/rep \
	"  whole disk (no partition table) ntfs block $nc: /data_known.bin (inode $ni, bytes 8192-12287)"
check_eq "NTFS: one record, that file only" "1 1" "$(grep -c ' cluster ' /tmp/rep) $(grep -c '^  ' /tmp/rep)"

# --- changed --files: two files written in a new epoch are both named
e=$($V epoch $N --label files44)
mkdir -p /mnt/t44
if mount -t ext4 /dev/mapper/${N}p1 /mnt/t44; then
	head -c 8192 /dev/urandom >/mnt/t44/new1.bin
	head -c 12288 /dev/urandom >/mnt/t44/new2.bin
	umount /mnt/t44
	$V changed $N --since $((e - 1)) --files >/tmp/ch44 2>&1
	check_eq "changed --files: exit 0" 0 $?
	diag "$(head -n 40 /tmp/ch44)"
	diag "$($V changed $N --since $((e - 1)))"
	check "changed --files names /new1.bin" grep -q ': /new1.bin (inode [0-9]*, bytes 0-4095)' /tmp/ch44
	check "changed --files names /new2.bin" grep -q ': /new2.bin (inode [0-9]*, bytes 8192-12287)' /tmp/ch44
	check "changed --files --json: files of the clusters" sh -c \
		"$V changed $N --since $((e - 1)) --files --json | grep -q '\"path\":\"/new2.bin\"'"
else
	not_ok "mount the ext4 partition to write two files"
fi

ktap_done
