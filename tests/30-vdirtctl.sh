#!/bin/sh
# vm: --disk 256M --disk 32M --timeout 400
# SPDX-License-Identifier: GPL-2.0
# vdirtctl through device-mapper (no netlink needed): meta-size, format and its
# refusals, open with options (table round-trip), status/list and their JSON
# shapes, close, exit codes, baseline build/show in the guest, --debug lines.
. "${0%/*}/lib.sh"

use_devs t30	# opened by vdirtctl, not by open_dev: vdirtctl is tested
V=vdirtctl

# not_vdirt_close: vdirtctl close refuses a dm device that is not vdirt
not_vdirt_close() {
	part_dev ${N}b $M 8 || return 1
	! $V close ${N}b
	_rc=$?
	dmsetup remove ${N}b
	return $_rc
}

command -v $V >/dev/null 2>&1 || skip_all "vdirtctl not in the guest image"

ktap_start

# meta-size for the real devices
need=$($V meta-size $D)
# superblocks, entries (65536 / 51 packed a block), intent bitmap, records,
# event log, staging area, epoch table, 16 write sets of 3 blocks, history,
# the tree (a bitmap block, levels 7..16 of 512, 256, .. 1 nodes: 4 + 2 + 8),
# the written bitmap (ceil(65536 / 32640) = 3 blocks)
check_eq "meta-size of the data device (256 MiB, 4K, sha256)" $(( (2 + 1286 + 1 + 256 + 16 + 512 + 1 + 48 + 64 + 15 + 3) * 4096 )) "$need"
check_eq "meta-size by size equals by device" "$need" "$($V meta-size 256M)"
check "meta-size --json" sh -c "$V meta-size --json $D | grep -q '\"meta_bytes\":$need'"

# format refusals
dd if=/dev/zero of=$M bs=1M count=32 2>/dev/null
$V format $D /dev/vdc >/dev/null 2>&1; rc=$?
check_eq "format of a missing device: exit 4" 4 "$rc"
# a too-small metadata device: a 1 MiB dm-linear slice of the metadata disk
part_dev ${N}b $M 2048
out=$($V format $D /dev/mapper/${N}b 2>&1); rc=$?
check_eq "format refuses a too small metadata device: exit 8" 8 "$rc"
case "$out" in *"at least $need bytes"*) ok "... and says how big it must be" ;;
	*) not_ok "... and says how big it must be" "$out" ;; esac
dmsetup remove ${N}b
check "format" $V format $D $M
out=$($V format $D $M 2>&1); rc=$?
check_eq "format refuses a formatted device: exit 5" 5 "$rc"
case "$out" in *"already formatted"*"--force"*) ok "... naming --force" ;;
	*) not_ok "... naming --force" "$out" ;; esac
check "format --force with 8 KiB clusters and crc32c" $V format --force -c 8192 --hash crc32c $D $M

# open reads cluster size and hash from the superblock
check "open" $V open $D $M $N
check "the device node exists" test -b /dev/mapper/$N
tbl=$(dmsetup table $N)
case "$tbl" in *" vdirt "*" 8192 crc32c"*) ok "table uses the superblock's geometry: $tbl" ;;
	*) not_ok "table uses the superblock's geometry" "$tbl" ;; esac
check_eq "status state" ok "$($V status $N | sed -n 's/^state *//p')"
check_eq "status clusters" 32768 "$($V status $N | sed -n 's/^clusters *//p')"
js=$($V status --json $N)
ok_json=1
for k in '"name":"t30"' '"major":' '"minor":' '"sectors":524288' '"state":"ok"' '"mode":"audit"' \
	'"clusters":32768' '"measured":' '"baselined":' '"reads_verified":' '"read_mismatches":' \
	'"write_drift":' '"unaligned":' '"meta_errors":' '"scan":"-"'; do
	case "$js" in *"$k"*) ;; *) ok_json=0; diag "missing $k" ;; esac
done
check_eq "status --json has the documented fields" 1 "$ok_json"
case "$js" in "{"*"}") ok "status --json is one object" ;; *) not_ok "status --json is one object" "$js" ;; esac
check "list shows it" sh -c "$V list | grep -q '^$N '"
lj=$($V list --json)
case "$lj" in "["*"\"name\":\"$N\""*"]") ok "list --json is an array with it" ;;
	*) not_ok "list --json is an array with it" "$lj" ;; esac
# one listing: devices is list, with the keys of both (device-mapper's and netlink's)
jkeys() { tr ',{' '\n\n' | sed -n 's/^"\([a-z_]*\)":.*/\1/p' | sort | tr '\n' ' '; }
lk=$(printf '%s' "$lj" | jkeys)
check_eq "devices --json has the keys of list --json" "$lk" "$($V devices --json | jkeys)"
ok_keys=1
for k in table sectors log_head recover_total scan_running baseline_change; do
	case " $lk" in *" $k "*) ;; *) ok_keys=0; diag "list --json lacks $k" ;; esac
done
check_eq "... the union: table, sectors, log_head, recover_total, scan_running, baseline_change" 1 "$ok_keys"
out=$($V open $D $M $N 2>&1); rc=$?
check_eq "opening the same name again: exit 5" 5 "$rc"
check "close" $V close $N
check_fail "closed" test -b /dev/mapper/$N
out=$($V status $N 2>&1); rc=$?
check_eq "status of a missing device: exit 4" 4 "$rc"
out=$($V close $N 2>&1); rc=$?
check_eq "close of a missing device: exit 4" 4 "$rc"

# options land in the table
check "open --mode enforce --no-read-verify --fail-open --cache-mb 8" \
	$V open --mode enforce --no-read-verify --fail-open --cache-mb 8 $D $M $N
tbl=$(dmsetup table $N)
case "$tbl" in *mode:enforce*) ok "mode:enforce in table" ;; *) not_ok "mode:enforce in table" "$tbl" ;; esac
case "$tbl" in *no_read_verify*fail_open*cache_mb:8*|*no_read_verify*cache_mb:8*fail_open*|*fail_open*no_read_verify*cache_mb:8*) ok "other options in table" ;;
	*) case "$tbl" in *no_read_verify*) case "$tbl" in *fail_open*) case "$tbl" in *cache_mb:8*) ok "other options in table" ;; *) not_ok "other options in table" "$tbl" ;; esac ;; *) not_ok "other options in table" "$tbl" ;; esac ;; *) not_ok "other options in table" "$tbl" ;; esac ;; esac
check_eq "status mode" enforce "$($V status $N | sed -n 's/^mode *//p')"
check "a dm device not of type vdirt is refused by close" not_vdirt_close
check "close" $V close $N
check "open --cache-mb 8 --write-back 64" $V open -q --cache-mb 8 --write-back 64 $D $M $N
tbl=$(dmsetup table $N)
case "$tbl" in *" vdirt "*" 2 cache_mb:8 write_back:64") ok "write_back:64 in the table, after cache_mb: $tbl" ;;
	*) not_ok "write_back:64 in the table, after cache_mb" "$tbl" ;; esac
check "close" $V close $N

# a zeroed metadata device: open needs the geometry, then the kernel formats it
dd if=/dev/zero of=$M bs=1M count=32 2>/dev/null
out=$($V open $D $M $N 2>&1); rc=$?
check_eq "open of an unformatted device without geometry: exit 6" 6 "$rc"
check "open --cluster-size 4096 --hash sha256 of a zeroed device" $V open -c 4096 -h sha256 $D $M $N
check "close" $V close $N

# baseline build / show in the guest
dd if=/dev/urandom of=$D bs=4096 count=5 seek=7 oflag=direct conv=notrunc 2>/dev/null
check "baseline build of the data device" $V baseline build --threads 2 $D -o /tmp/bl
check "baseline show --json" sh -c "$V baseline show --json /tmp/bl | grep -q '\"clusters\":65536'"
# --debug lines start with '#', nothing else on stderr
dbg=$($V --debug status nosuchdev 2>&1 >/dev/null | grep -v '^#' | grep -vc '^vdirtctl: ')
check_eq "--debug diagnostics are prefixed #" 0 "$dbg"

ktap_done
