#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Host tests of "vdirtctl files" (cluster -> file, libtsk) on images made
# here (tests/fixtures/files-fs.sh): a GPT disk with ext4 (p1), FAT16 (p2)
# and XFS (p3), and an NTFS image without a table, a few hundred files.
# Every cluster of both is looked up once and compared with what other
# tools say: debugfs "blocks" (ext4), mtools mshowfat cluster chains (FAT),
# ntfsinfo run lists (NTFS); inode-table, free, superblock, FAT, MFT and
# partition-table clusters get their labels; XFS gives the clear message.
# TAP output.
V=${1:-./vdirtctl}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/host/lib.sh"
. "$top/tests/fixtures/files-fs.sh"
tap_start

if ! $V --help | grep -q '^  files '; then
	not_ok "vdirtctl has a files command"
	tap_done
fi
$V files /dev/null 0 >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" = 9 ]; then
	if grep -qxF "vdirtctl was built without libtsk (WITH_TSK=no): install libtsk-dev and rebuild" "$T/err"
	then ok "built without libtsk: exit 9 and the message"; else nok "built without libtsk: the message"; fi
	skip "files on images" "built without libtsk"
	tap_done
fi
for tool in mkfs.ext4 debugfs mkfs.vfat mcopy mshowfat mkntfs ntfscp ntfsinfo mkfs.xfs sgdisk python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		skip "files on images" "no $tool (scripts/deps installs it)"
		tap_done
	fi
done

files_tree "$T/src" 300
truncate -s 24M "$T/ext4.img"
truncate -s 16M "$T/fat.img"
truncate -s 32M "$T/xfs.img"
truncate -s 16M "$T/ntfs.img"
truncate -s 80M "$T/disk.img"
mk_ext4 "$T/ext4.img" "$T/src" && mk_fat "$T/fat.img" "$T/src" && mk_xfs "$T/xfs.img" &&
	mk_ntfs "$T/ntfs.img" "$T/src" && mk_gpt "$T/disk.img" 24 16 32 >"$T/parts"
tap "four filesystems and a GPT made" $?
# shellcheck disable=SC2046 # three pairs of numbers, split on purpose
set -- $(cat "$T/parts")
P1=$1 P2=$3 P3=$5
dd if="$T/ext4.img" of="$T/disk.img" bs=512 seek="$P1" conv=notrunc,sparse 2>/dev/null &&
	dd if="$T/fat.img" of="$T/disk.img" bs=512 seek="$P2" conv=notrunc,sparse 2>/dev/null &&
	dd if="$T/xfs.img" of="$T/disk.img" bs=512 seek="$P3" conv=notrunc,sparse 2>/dev/null
tap "copied into partitions at sectors $P1 $P2 $P3" $?

# the other tools' view: ext4 blocks per file, FAT chains, NTFS run lists
(cd "$T/src" && find . -type f | sed 's|^\.||' | sort) >"$T/list"
sed 's|^|blocks |' "$T/list" >"$T/dcmd"
debugfs -f "$T/dcmd" "$T/ext4.img" >"$T/ext4.blocks" 2>/dev/null
debugfs -R stats "$T/ext4.img" >"$T/ext4.stats" 2>/dev/null
debugfs -R "ffb 1 3000" "$T/ext4.img" >"$T/ext4.free" 2>/dev/null
while read -r f; do MTOOLS_SKIP_CHECK=1 mshowfat -i "$T/fat.img" "::$f"; done <"$T/list" >"$T/fat.chains"
for f in "$T/src"/d*/f* "$T/src/data/known.bin" "$T/src/etc/shadow"; do
	d=${f%/*}
	n="/${d##*/}_${f##*/}"
	echo "file $n"
	ntfsinfo -F "$n" -v "$T/ntfs.img" 2>/dev/null | sed -n '/Dumping attribute \$DATA/,/^Dumping attribute \$[^D]/p'
done >"$T/ntfs.runs"
ntfsinfo -i 0 -v "$T/ntfs.img" 2>/dev/null | sed -n '/Dumping attribute \$DATA/,/End of/p' >"$T/ntfs.mft"

# every cluster of both disks, once
clusters=$(( $(stat -c %s "$T/disk.img") / 4096 ))
seq 0 $((clusters - 1)) | $V --json files "$T/disk.img" - >"$T/disk.json" 2>"$T/disk.err"
tap "files --json: all $clusters clusters of the GPT disk" $?
seq 0 4095 | $V --json files "$T/ntfs.img" - >"$T/ntfs.json" 2>"$T/ntfs.err"
tap "files --json: all 4096 clusters of the NTFS image" $?

# the comparisons (python): its test points continue the numbering, their
# count and failures go back through $T/py.count
echo "0 1" >"$T/py.count"
python3 - "$T" "$P1" "$P2" "$P3" "$TAP_N" <<'PY'
import json, re, struct, sys
T, P1, P2, P3, N0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
CS = 4096
n = 0
failed = 0
def point(ok, desc, why=""):
    global n, failed
    n += 1
    failed += 0 if ok else 1
    print(("ok" if ok else "not ok") + " %d - %s" % (N0 + n, desc))
    open(T + "/py.count", "w").write("%d %d\n" % (n, failed))
    if not ok and why:
        print("#   " + why)
disk = {a["cluster"]: a for a in json.load(open(T + "/disk.json"))}
ntfs = {a["cluster"]: a for a in json.load(open(T + "/ntfs.json"))}
names = [l.strip() for l in open(T + "/list")]
size = {}
import os
for p in names:
    size[p] = os.path.getsize(T + "/src" + p)

def expect_add(exp, start, length, path, foff):
    """disk bytes [start, start+length) are path's bytes from foff"""
    end = start + length
    c = start // CS
    while c * CS < end:
        s, e = max(start, c * CS), min(end, (c + 1) * CS)
        o = foff + (s - start)
        l = max(0, min(e - s, size[path] - o)) if o < size[path] else 0
        exp.setdefault(c, {}).setdefault(path, []).append((o, l))
        c += 1

def merged(pieces):
    pieces = sorted(pieces)
    out = []
    for o, l in pieces:
        if out and o <= out[-1][0] + out[-1][1]:
            lo, ll = out[-1]
            out[-1] = (lo, max(lo + ll, o + l) - lo)
        else:
            out.append((o, l))
    return out

def compare(ans, exp, known, what, rename=lambda p: p):
    bad = []
    for c, a in ans.items():
        got = {}
        for f in a["files"]:
            if f["path"] in known:
                got.setdefault(f["path"], []).append((f["offset"], f["length"]))
        want = {rename(p): merged(v) for p, v in exp.get(c, {}).items()}
        got = {p: merged(v) for p, v in got.items()}
        if got != want:
            bad.append("cluster %d: want %s got %s" % (c, want, got))
    point(not bad and exp, "%s: %d clusters of %d files map to exactly their files and offsets"
          % (what, len(exp), len(known)), bad[0] if bad else "nothing expected")

# ext4: debugfs "blocks PATH" lists a file's blocks in file order
exp = {}
cur = None
for line in open(T + "/ext4.blocks"):
    m = re.match(r"debugfs: blocks (.*)", line)
    if m:
        cur = m.group(1).strip()
        continue
    if cur:
        for i, b in enumerate(int(x) for x in line.split()):
            expect_add(exp, P1 * 512 + b * CS, CS, cur, i * CS)
        cur = None
compare({c: a for c, a in disk.items() if P1 * 512 <= c * CS < P2 * 512}, exp, set(names), "ext4")
a = disk[(P1 * 512) // CS]
point(a["partition"] == {"index": 1, "start_sector": P1, "type": "Linux filesystem"} and
      a["fs"] == "ext4" and "superblock" in (a["meta"] or ""),
      "ext4: its first cluster is partition 1 (start sector %d, Linux filesystem), superblock" % P1, str(a))
m = re.search(r"Group  0: .*inode table at (\d+)", open(T + "/ext4.stats").read())
it = int(m.group(1)) + 1 if m else 0
a = disk.get((P1 * 512) // CS + it, {})
point(m and a.get("meta") == "inode table" and a.get("allocated") is True and a.get("files") == [],
      "ext4: block %d (debugfs: group 0's inode table) is labelled inode table" % it, str(a))
m = re.search(r"Free blocks found: (\d+)", open(T + "/ext4.free").read())
fb = int(m.group(1)) if m else 0
a = disk.get((P1 * 512) // CS + fb, {})
point(m and a.get("allocated") is False and a.get("meta") is None and a.get("files") == [],
      "ext4: block %d (debugfs ffb: free) is unallocated" % fb, str(a))
a = disk.get((P1 * 512) // CS + 1, {})
point("group descriptors" in (a.get("meta") or ""), "ext4: block 1 holds the group descriptors", str(a))

# FAT16: mshowfat "::/PATH <a-b><c>..." cluster chains; the layout from the boot sector
bs = open(T + "/fat.img", "rb").read(512)
bps, spc, rsv, nfat, roots, fatsz = struct.unpack_from("<HBHBH", bs, 11) + (struct.unpack_from("<H", bs, 22)[0],)
data = (rsv + nfat * fatsz) * bps + roots * 32
ccs = spc * bps
exp = {}
for line in open(T + "/fat.chains"):
    m = re.match(r"::(\S+) (.*)", line.strip())
    if not m:
        continue
    path, k = m.group(1), 0
    for a_, b_ in re.findall(r"<(\d+)(?:-(\d+))?>", m.group(2)):
        for cl in range(int(a_), int(b_ or a_) + 1):
            expect_add(exp, P2 * 512 + data + (cl - 2) * ccs, ccs, path, k * ccs)
            k += 1
compare({c: a for c, a in disk.items() if P2 * 512 <= c * CS < P3 * 512}, exp, set(names), "FAT16")
a = disk[(P2 * 512 + rsv * bps) // CS]
point(a["partition"] == {"index": 2, "start_sector": P2, "type": "Microsoft basic data"} and
      a["fs"] == "fat16" and "FAT" in (a["meta"] or "").split(", "),
      "FAT16: byte %d of partition 2 (Microsoft basic data) is the FAT" % (rsv * bps), str(a))
a = disk[(P2 * 512) // CS]
point("boot sector" in (a["meta"] or ""), "FAT16: its first cluster is the boot sector", str(a))

# XFS: the clear message, not an empty answer
a = disk[(P3 * 512) // CS + 3]
point(a["partition"] == {"index": 3, "start_sector": P3, "type": "Linux filesystem"} and a["fs"] == "xfs" and
      a["allocated"] is None and "cannot read xfs" in (a.get("error") or ""),
      "XFS partition: fs xfs, allocated null, error says libtsk cannot read xfs", str(a))
err = open(T + "/disk.err").read()
point(err.count("partition 3 (start sector %d, Linux filesystem): libtsk" % P3) == 1,
      "XFS partition named once on stderr", err.strip())
a = disk[0]
point(a["partition"] is None and a["meta"] == "partition table" and a["files"] == [],
      "cluster 0 (protective MBR, GPT header) is the partition table", str(a))

# NTFS: ntfsinfo run lists (VCN LCN Length, hex) of each file's unnamed $DATA
exp = {}
cur = None
nnames = set()
for line in open(T + "/ntfs.runs"):
    if line.startswith("file "):
        cur = line.split()[1]
        nnames.add(cur)
        size[cur] = os.path.getsize(T + "/src/" + cur[1:].replace("_", "/", 1))
        continue
    m = re.match(r"\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s*$", line)
    if m and cur:
        vcn, lcn, ln = (int(x, 16) for x in m.groups())
        expect_add(exp, lcn * CS, ln * CS, cur, vcn * CS)
compare(ntfs, exp, nnames, "NTFS")
m = re.search(r"\s+0x0\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)", open(T + "/ntfs.mft").read())
mc = int(m.group(1), 16) if m else -1
a = ntfs.get(mc, {})
point(m and a.get("meta") == "MFT" and [f["path"] for f in a.get("files", [])] == ["/$MFT"],
      "NTFS: cluster %d (ntfsinfo: $MFT's first) is the MFT, file /$MFT" % mc, str(a))
a = ntfs[0]
point(a["partition"] == {"index": 0, "start_sector": 0, "type": "none"} and a["fs"] == "ntfs" and
      a["meta"] == "boot sector", "NTFS image: no table, cluster 0 is the boot sector", str(a))
PY
read -r pn pf <"$T/py.count"
TAP_N=$((TAP_N + pn))
TAP_FAILED=$((TAP_FAILED + pf))
[ "$pn" -gt 0 ] || not_ok "the python comparisons ran"

# text form of one known block: known.bin's 5th block (bytes 16384-20479)
kb=$(sed -n '/^debugfs: blocks \/data\/known.bin/{n;p;}' "$T/ext4.blocks" | awk '{print $5}')
kc=$(( (P1 * 512) / 4096 + kb ))
ino=$(debugfs -R "stat /data/known.bin" "$T/ext4.img" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
t "files: the text form" 0 $V files "$T/disk.img" "$kc"
want="cluster $kc: partition 1 (start sector $P1, Linux filesystem) ext4 block $kb: /data/known.bin (inode $ino, bytes 16384-20479)"
if grep -qxF "$want" "$T/out"; then ok "says: $want"; else nok "says: $want"; sed 's/^/#   /' "$T/out"; fi
t "a cluster past the end: exit 6" 6 $V files "$T/disk.img" "$clusters"
t "no such image: exit 4" 4 $V files "$T/nonexistent.img" 0
t "not a number: exit 2" 2 $V files "$T/disk.img" 12x
t "--files is report's only" 2 $V files --files "$T/disk.img" 0
tap_done
