#!/bin/bash
# host-driven
# SPDX-License-Identifier: GPL-2.0
# Power cuts: a chain of guests on the same two disk images (64 MiB data,
# metadata), each killed with SIGKILL (QEMU, a power cut) a random 2-8 s
# after its workload started writing.  Boot 0 creates the device and writes
# every cluster once.  Every later boot reopens the device with the same
# table, waits for the crash recovery, reads its summary record, runs a full
# scan and checks: no read mismatch (no false alarm), tofu did not grow and
# measured == clusters (no lost measurement), the stored digest of every
# cluster equals sha256 of the data, and cutwr's checker finds every write
# acknowledged before the last completed flush (and every completed one;
# the odd workloads run with write_back:64, writes acknowledged once
# copied, and are held to the flush contract only: cutwr check -f).
# Then it starts the next workload: cutwr (O_DIRECT, random offsets, mixed
# 512 B..64 KiB, unaligned 512 B writes, fdatasync every 32 writes) on a
# random span, or, for the last two cuts, ext4 on top (cutwr on a file, fio
# with fsync, file churn; checked with mount, cutwr and e2fsck -n -f).  The
# last boot closes cleanly and reopens: no recovery then.
#
#   VDIRT_KERNEL=6.1|6.12 (set by tests/run)  VDIRT_CUTS=N (default 10)
#   VDIRT_CUT_SEED=N (default random, printed)  VDIRT_CUT_KEEP=1 keeps the
#   work directory (images, logs) under build/
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${VDIRT_KERNEL:?VDIRT_KERNEL=6.1 or 6.12}
cuts=${VDIRT_CUTS:-10}
seed=${VDIRT_CUT_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$seed
MiB=$((1 << 20))
data_size=$((64 * MiB))

. "$top/tests/host/lib.sh"
work=$(mktemp -d "$top/build/powercut.XXXXXX") || exit 1
cleanup() {
	[ "${VDIRT_CUT_KEEP:-}" = 1 ] || rm -rf "$work"
}
share=$work/share
mkdir -p "$share"
chmod 777 "$share"
truncate -s $data_size "$work/data.img"
meta=
[ -x "$top/userspace/vdirtctl/vdirtctl" ] && meta=$("$top/userspace/vdirtctl/vdirtctl" meta-size $data_size 2>/dev/null)
[[ "$meta" =~ ^[0-9]+$ ]] || meta=$((8 * MiB))
meta=$(((meta + MiB - 1) / MiB * MiB))
truncate -s $meta "$work/meta.img"

tap_start
echo "# kernel $kernel, $cuts cuts, seed $seed, metadata $((meta / 1024)) KiB"
[ "${VDIRT_CUT_KEEP:-}" != 1 ] || echo "# keeping $work"

splat_re='(\bBUG[: ]|WARNING:|\bOops\b|KFENCE: |general protection fault|soft lockup|hung_task|blocked for more than|Kernel panic|UBSAN:|kernel BUG|Call Trace:)'
ext4_cuts=0
[ "$cuts" -ge 2 ] && ext4_cuts=1
[ "$cuts" -ge 4 ] && ext4_cuts=2
total_false=0
prev_false=0
total_recovered=0
t_start=$(date +%s)

# random_span: woff, wlen of the next raw workload, 4 KiB aligned, >= 1 MiB
random_span() {
	local sizes=(1 2 3 4 6 8 12 16 24 64)
	wlen=$((sizes[RANDOM % ${#sizes[@]}] * MiB))
	woff=$(((RANDOM * 32768 + RANDOM) % ((data_size - wlen) / 4096 + 1) * 4096))
}

for ((i = 0; i <= cuts; i++)); do
	if [ "$i" -eq 0 ]; then
		step=fill
		what=fill
	else
		step=check
		what="cut $i"
	fi
	nk=$((i + 1))
	if [ "$i" -eq "$cuts" ]; then
		next=none
	elif [ "$nk" -gt $((cuts - ext4_cuts)) ]; then
		next=ext4
	else
		next=raw
	fi
	random_span
	delay=$((2 + RANDOM % 6)).$(printf '%03d' $((RANDOM % 1000)))
	wseed=$((RANDOM * 32768 + RANDOM))
	opts=(--no-build --kernel "$kernel" --disk "$work/data.img" --disk "$work/meta.img"
		--share "$share" --timeout 400 --klog "$work/klog.$i")
	[ "$next" != none ] && opts+=(--kill-after "$delay" --kill-when "$share/started.$nk")
	for try in 1 2; do
		t0=$(date +%s%N)
		"$top/scripts/vm-run" "${opts[@]}" -- \
			sh /tests/powercut/guest.sh $step "$i" $next "$woff" "$wlen" "$wseed" \
			>"$work/out.$i" 2>&1
		rc=$?
		t1=$(date +%s%N)
		# a guest that died while booting, before the script ran
		[ "$rc" -eq 119 ] && [ "$try" -eq 1 ] || break
		echo "# $what: guest failed to boot: booting again"
	done

	# the guest's test points, renumbered; everything else as diagnostics
	rec=
	mism=
	cw=
	while IFS= read -r line; do
		line=${line%$'\r'}
		if [[ "$line" =~ ^ok\ [0-9]+\ -\ (.*)$ ]]; then
			ok "$what: ${BASH_REMATCH[1]}"
		elif [[ "$line" =~ ^not\ ok\ [0-9]+\ -\ (.*)$ ]]; then
			not_ok "$what: ${BASH_REMATCH[1]}"
		elif [[ "$line" =~ ^RECOVERY\ (.*)$ ]]; then
			rec=${BASH_REMATCH[1]}
		elif [[ "$line" =~ ^MISMATCHES\ (.*)$ ]]; then
			mism=${BASH_REMATCH[1]}
		elif [[ "$line" =~ ^CUTWR\ (.*)$ ]]; then
			cw=${BASH_REMATCH[1]}
		elif [[ "$line" =~ ^# ]]; then
			echo "# $what: ${line#\# }"
		elif [ -n "$line" ]; then
			echo "# $what: | $line"
		fi
	done <"$work/out.$i"

	secs=$(((t1 - t0) / 1000000000))
	if [ "$i" -gt 0 ]; then
		read -r r_regions r_remeasured r_changed r_onread r_ms <<<"${rec:-? ? ? ? ?}"
		read -r m_status m_records <<<"${mism:-? ?}"
		false_now="?"
		if [[ "$m_status" =~ ^[0-9]+$ ]]; then
			false_now=$((m_status - prev_false))
			total_false=$m_status
			prev_false=$m_status
		fi
		[[ "$r_remeasured" =~ ^[0-9]+$ ]] && total_recovered=$((total_recovered + r_remeasured))
		if [ "$next" = none ]; then
			boot=$secs
		else
			boot=$((secs - ${delay%.*}))
		fi
		echo "# cut $i: $r_regions regions, $r_remeasured clusters re-measured, $r_changed changed," \
			"$r_onread measured on read first, recovery $r_ms ms, $false_now false read mismatches" \
			"($m_records records in all), boot and checks ~$boot s, guest $secs s"
		[ -n "$cw" ] && echo "# cut $i: $cw"
	fi

	# splats: vm-run reports them, but exits 137 for a killed guest anyway
	splat=$(grep -aE "$splat_re" "$work/klog.$i" 2>/dev/null | head -n 3)
	if [ -z "$splat" ]; then
		ok "$what: no kernel splat in the guest's log"
	else
		not_ok "$what: no kernel splat in the guest's log"
		grep -aE -A 20 "$splat_re" "$work/klog.$i" | head -n 40 | sed 's/^/#   /'
	fi

	if [ "$next" = none ]; then
		if [ "$rc" -eq 0 ]; then
			ok "$what: last boot ends cleanly"
		else
			not_ok "$what: last boot ends cleanly (vm-run exit $rc)"
		fi
		break
	fi
	nlog=$share/cut-$nk.log
	if [ "$rc" -eq 137 ] && [ -e "$share/started.$nk" ] && grep -q '^W ' "$nlog" 2>/dev/null; then
		ok "cut $nk: power cut (SIGKILL) ${delay} s into the $next workload," \
			"$(grep -c '^S ' "$nlog") writes started, $(grep -c '^W ' "$nlog") completed," \
			"$(grep -c '^F ' "$nlog") flushes"
	else
		not_ok "cut $nk: power cut during the $next workload (vm-run exit $rc)"
		grep -aiE 'vm-run|error|fail' "$work/out.$i" | head -n 10 | sed 's/^/#   /'
		echo "# the chain is broken: stopping after $i boots"
		break
	fi
	if grep -q '^E ' "$nlog"; then
		not_ok "cut $nk: the writer logged no I/O error"
		grep '^E ' "$nlog" | head -n 3 | sed 's/^/#   /'
	fi
done

echo "# $kernel: $i cuts checked, $total_recovered clusters re-measured in all," \
	"$total_false false read mismatches, $(($(date +%s) - t_start)) s"
tap_done
