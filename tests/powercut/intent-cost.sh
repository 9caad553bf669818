#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Write throughput cost of dm-vdirt's write-intent tracking (not part of
# make check): fio random 4 KiB writes, QD16, libaio, O_DIRECT, RUNTIME
# seconds, through a dm-vdirt device (sha256, 4096) with the table
# option intent:1 and intent:0,
# alternating, REPEATS times, in one guest boot; prints each run and the
# medians.  Two devices: 64 MiB (16 intent regions) and a sparse 64 GiB one
# (16384 regions: nearly every write dirties a new region).
#
#   tests/powercut/intent-cost.sh [--kernel 6.1|6.12] [--runtime S] [--repeats N] [--no-build]
#
# On the host it boots the guest (scripts/vm-run) and runs itself there.
# POSIX sh: the same file runs under busybox sh in the guest.
set -u

if [ "${1:-}" != --guest ]; then
	top=$(cd "$(dirname "$0")/../.." && pwd)
	kernel=6.12
	rt=10
	reps=3
	build=
	while [ $# -gt 0 ]; do
		case "$1" in
		--kernel) kernel=$2; shift 2 ;;
		--runtime) rt=$2; shift 2 ;;
		--repeats) reps=$2; shift 2 ;;
		--no-build) build=--no-build; shift ;;
		*) echo "usage: $0 [--kernel 6.1|6.12] [--runtime S] [--repeats N] [--no-build]" >&2; exit 2 ;;
		esac
	done
	tool=$top/userspace/vdirtctl/vdirtctl
	m1=$($tool meta-size 64M 2>/dev/null) || m1=$((8 << 20))
	m2=$($tool meta-size 64G 2>/dev/null) || m2=$((3 << 30))
	# shellcheck disable=SC2086 # $build: empty or one option
	exec "$top/scripts/vm-run" $build --kernel "$kernel" --timeout 900 \
		--disk 64M --disk "$(((m1 >> 20) + 1))M" --disk 64G --disk "$(((m2 >> 20) + 1))M" \
		-- sh /tests/powercut/intent-cost.sh --guest "$rt" "$reps"
fi

. /tests/lib.sh
rt=$2
reps=$3
echo "intent-cost: $(uname -r), fio randwrite 4k QD16 libaio direct ${rt}s, $reps repeats"

# run DATA META INTENT: prints the write IOPS
run() {
	use_devs ic "$1" "$2"
	open_dev "$(table intent:$3)" || return 1
	fio --name=w --filename=$T --rw=randwrite --bs=4k --iodepth=16 \
		--ioengine=libaio --direct=1 --runtime="$rt" --time_based --norandommap \
		--randrepeat=0 --output-format=terse --terse-version=3 | awk -F';' '{ print $49 }'
	close_dev
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for dev in "vda vdb 64MiB" "vdc vdd 64GiB"; do
	set -- $dev
	: >/tmp/on
	: >/tmp/off
	i=1
	while [ $i -le "$reps" ]; do
		on=$(run /dev/$1 /dev/$2 1)
		off=$(run /dev/$1 /dev/$2 0)
		echo "$3 run $i: intent=1 $on IOPS, intent=0 $off IOPS"
		echo "$on" >>/tmp/on
		echo "$off" >>/tmp/off
		i=$((i + 1))
	done
	mon=$(median </tmp/on)
	moff=$(median </tmp/off)
	echo "$3 median: intent=1 $mon IOPS, intent=0 $moff IOPS, cost $(awk -v a="$mon" -v b="$moff" 'BEGIN { if (b > 0) printf "%.1f %%", (b - a) * 100 / b; else print "?" }')"
done
