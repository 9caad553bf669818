#!/bin/sh
# vm: --disk 1T --disk 10G --timeout 1500
# long: run by make check-crash (about 2 min per kernel), not make check
# SPDX-License-Identifier: GPL-2.0
# cache_mb is a real bound.  A 1 TiB sparse data device (4 KiB clusters,
# crc32c: 2^28 clusters, 8 GiB of entries) gets random 4 KiB writes (fio,
# libaio, QD16), as many as 1.5 x cache_mb of entry blocks, almost each in
# another entry block, then fio reads them all back and verifies them: with
# cache_mb:8 and cache_mb:64, dm-bufio's current_allocated_bytes (sampled
# through the run; dm-bufio's own global limit raised out of the way) never
# exceeds cache_mb plus a margin of 12.5 % (dirty blocks waiting for their
# write-back: at most 25 % by design, about a second of writes in practice)
# plus 1 MiB (superblocks, reserved buffers), and the cache is
# used (at least half of cache_mb held at the end).  Evicted
# dirty blocks were written first: fio's verify and the target's own read
# verification find nothing.  The numbers are printed as diagnostics.
. "${0%/*}/lib.sh"

use_devs t35
BP=/sys/module/dm_bufio/parameters
# writes per round: each in its own entry block, 1.5 x cache_mb of blocks
NWF=150

cleanup() {
	[ -f /tmp/pid35 ] && kill "$(cat /tmp/pid35)" 2>/dev/null
	[ -n "$OLDMAX" ] && echo "$OLDMAX" >$BP/max_cache_size_bytes
}

cur() { cat $BP/current_allocated_bytes; }
memavail() { sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
# sample: the largest current_allocated_bytes seen, into /tmp/peak35
sample() {
	_p=0
	while :; do
		_c=$(cur)
		[ "$_c" -gt "$_p" ] && _p=$_c && echo "$_p" >/tmp/peak35
		usleep 100000
	done
}

[ -r $BP/current_allocated_bytes ] || skip_all "no dm_bufio parameters in sysfs"
command -v fio >/dev/null 2>&1 || skip_all "no fio in the guest"
ktap_start

OLDMAX=$(cat $BP/max_cache_size_bytes)
# dm-bufio's global limit (a share of RAM) must not be what bounds the cache
echo $((768 << 20)) >$BP/max_cache_size_bytes
LEN=$(sectors $D)
diag "data $((LEN / 2048 / 1024)) GiB, metadata $(($(sectors $M) / 2048)) MiB"

t0=$(date +%s)
for MB in 8 64; do
	B0=$(cur)
	A0=$(memavail)
	open_or_end "cache_mb:$MB: create on 1 TiB" "$(HASH=crc32c; table cache_mb:$MB)"
	[ "$MB" = 8 ] && diag "first open (format, entry region verified zero): $(($(date +%s) - t0)) s"
	NW=$((MB * 256 * NWF / 100))
	echo 0 >/tmp/peak35
	sample &
	echo $! >/tmp/pid35
	fio --name=c$MB --filename=$T --ioengine=libaio --iodepth=16 --direct=1 --bs=4k \
		--rw=randwrite --size=1T --io_size=$((NW * 4))k \
		--random_generator=lfsr --randseed=$MB --verify=crc32c \
		--verify_fatal=1 --do_verify=1 >/tmp/fio35 2>&1
	rc=$?
	held=$(($(cur) - B0))
	kill "$(cat /tmp/pid35)"
	rm -f /tmp/pid35
	peak=$(($(cat /tmp/peak35) - B0))
	A1=$(memavail)
	lim=$(((MB << 20) + (MB << 17) + (1 << 20)))
	diag "cache_mb:$MB: $NW random 4 KiB writes then their verify reads: bufio peak $((peak >> 10)) KiB, at the end $((held >> 10)) KiB, limit $((lim >> 10)) KiB; MemAvailable -$((A0 - A1)) KiB; $(($(date +%s) - t0)) s so far"
	check_eq "cache_mb:$MB: fio writes and verify reads exit 0" 0 "$rc"
	[ "$rc" = 0 ] || grep -Ei 'err|verify|bad' /tmp/fio35 | head -n 10 | sed 's/^/#   /'
	check "cache_mb:$MB: memory held never above the limit ($((peak >> 10)) <= $((lim >> 10)) KiB)" \
		test "$peak" -le "$lim"
	check "cache_mb:$MB: the cache is used (>= half of it held at the end: $((held >> 10)) KiB)" \
		test "$held" -ge $((MB << 19))
	check_eq "cache_mb:$MB: no read mismatch, no metadata error" "0 0" \
		"$(st read_mismatches) $(st meta_errors)"
	check "cache_mb:$MB: clean remove" dmsetup remove $N
	check "cache_mb:$MB: the memory is given back ($(($(cur) - B0)) bytes left)" \
		test $(($(cur) - B0)) -le $((1 << 20))
done
check_eq "no kernel splat" "" "$(dmesg | grep -E 'BUG:|WARNING:|Oops|general protection' | head -n 2)"
ktap_done
