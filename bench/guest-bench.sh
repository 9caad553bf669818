#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# dm-vdirt benchmarks, guest side (busybox sh).  Started by bench/run from the
# share dir: sh /mnt/host/guest-bench.sh io|memscan
#
#   io       I/O (fio, every configuration on the same two disks) and
#            where the time goes (CPU split per run; kernel profile with kprof if present)
#            disks: /dev/vda data, /dev/vdb metadata / hash device
#   memscan  the full-device scan (vs dd through dm-linear), crash recovery
#            of BENCH_RECOVERY_REGIONS write-intent regions (on the first
#            part of the scan disk) and memory (kernel memory for
#            1 GiB / 64 GiB / 1 TiB data)
#            disks: vda scan data, vdb its metadata, then data/meta pairs
#            vdc/vdd, vde/vdf, vdg/vdh
#
# Settings come from /mnt/host/env.sh (written by bench/run).  Raw results
# go to /mnt/host/raw/; the host aggregates them.  No jq/python here.
H=/mnt/host
R=$H/raw
# shellcheck disable=SC1091
[ -f $H/env.sh ] && . $H/env.sh
: "${BENCH_RUNTIME:=2}" "${BENCH_REPEATS:=5}" "${BENCH_REGION_MB:=128}"
: "${BENCH_CONFIGS:=linear vdirt-sha256 vdirt-noreadverify vdirt-xxhash64 verity integrity-J4096 integrity-B4096 integrity-J512}"
: "${BENCH_JOBS:=randwrite4k_qd1 randwrite4k_qd16 randread4k_qd1 randread4k_qd16 randrw70_4k_qd16 seqwrite1m_qd4 seqread1m_qd4}"
: "${BENCH_PROFILE:=1}" "${BENCH_PROFILE_SECS:=4}"
: "${BENCH_MEM_SIZES:=1G 64G 1T}" "${BENCH_MEM_IOS:=12000}" "${BENCH_SCAN:=1}"
: "${BENCH_RECOVERY:=1}" "${BENCH_RECOVERY_REGIONS:=64}"
mkdir -p $R
LOG=$R/guest.log

log() { echo "bench: [$(cut -d' ' -f1 /proc/uptime)] $*" | tee -a $LOG; }
now() { cut -d' ' -f1 /proc/uptime; }	# seconds, 10 ms resolution
sectors() { blockdev --getsz "$1"; }
field() { dmsetup status "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
zero_mib() { dd if=/dev/zero of="$1" bs=1M count="${2:-1}" oflag=direct conv=notrunc 2>/dev/null; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
rmdev() { dmsetup remove "$1" 2>/dev/null || { sleep 1; dmsetup remove -f "$1" 2>/dev/null; }; }

# job NAME -> fio arguments of the job
job_args() {
	case "$1" in
	randwrite4k_qd1) echo "--rw=randwrite --bs=4k --iodepth=1" ;;
	randwrite4k_qd16) echo "--rw=randwrite --bs=4k --iodepth=16" ;;
	randread4k_qd1) echo "--rw=randread --bs=4k --iodepth=1" ;;
	randread4k_qd16) echo "--rw=randread --bs=4k --iodepth=16" ;;
	randrw70_4k_qd16) echo "--rw=randrw --rwmixread=70 --bs=4k --iodepth=16" ;;
	seqwrite1m_qd4) echo "--rw=write --bs=1M --iodepth=4" ;;
	seqread1m_qd4) echo "--rw=read --bs=1M --iodepth=4" ;;
	*) return 1 ;;
	esac
}
is_write_job() { case "$1" in *write*|randrw*) return 0 ;; esac; return 1; }
is_read_job() { case "$1" in *read*) return 0 ;; esac; return 1; }

# the jobs a configuration runs: verity is read-only; no_read_verify only
# changes reads (its writes are vdirt-sha256's), so it runs the read jobs
config_runs_job() {
	case "$1" in
	verity) case "$2" in randread*|seqread*) return 0 ;; esac; return 1 ;;
	vdirt-noreadverify) is_read_job "$2" ;;
	# small_write_cpu only changes writes of up to 16 KiB
	vdirt-sha256-wcpu) case "$2" in randwrite*|randrw*) return 0 ;; esac; return 1 ;;
	# the tree, write sets and history cost on writes only
	vdirt-sha256-notree|vdirt-sha256-nowsets) is_write_job "$2" ;;
	# small_read_cpu only changes reads of up to 16 KiB
	vdirt-sha256-nocpuq|vdirt-sha256-cpuqall) case "$2" in randread4k*|randrw*) return 0 ;; esac; return 1 ;;
	*) return 0 ;;
	esac
}

# fio_run DEV OUTFILE ARGS...: one time-based run, JSON to OUTFILE
fio_run() {
	_dev=$1 _out=$2
	shift 2
	# shellcheck disable=SC2068
	fio --name=b --filename="$_dev" --direct=1 --ioengine=libaio --time_based \
		--runtime="$BENCH_RUNTIME" --size=${BENCH_REGION_MB}M --norandommap \
		--randrepeat=0 --numjobs=1 --output-format=json --output="$_out" $@ >/dev/null 2>>$LOG
}

prefill() {
	_t0=$(now)
	fio --name=fill --filename="$1" --direct=1 --ioengine=libaio --rw=write --bs=1M \
		--iodepth=4 --size=${BENCH_REGION_MB}M >/dev/null 2>>$LOG || log "prefill of $1 failed"
	log "prefill $1 ${BENCH_REGION_MB} MiB: $(echo "$(now) $_t0" | awk '{printf "%.1f s", $1-$2}')"
}

# cpu line of /proc/stat: user nice system idle iowait irq softirq steal
cpustat() { sed -n 's/^cpu  *//p' /proc/stat | cut -d' ' -f1-8; }

# Every configuration gets its own slice of the same two disks (dm-linear
# "partitions": data slice i of vda, metadata/hash slice i of vdb) and all of
# them exist at once, so the runs can be interleaved: repeat -> job -> config.
# Slow phases of a shared host then hit every configuration alike, and ratios
# to dm-linear compare runs made seconds apart.  The dm-linear baseline is the
# data slice itself; every other target sits on such a slice (one extra
# dm-linear remap, a few hundred ns).
PART_MB=$((BENCH_REGION_MB * 115 / 100 + 32))
# metadata of a slice: entries (up to 1/16 of the data with sha512) and the
# staging area (up to 1/64), plus 8 MiB for the fixed regions
META_MB=$((PART_MB * 5 / 64 + 8))

# the device of a config: fio's filename= splits at ':' and a config
# vdirt-HASH+OPT:VAL has some, so the device name has '_' for ':' and '+'
dm_name() { echo "b-$1" | tr ':+' '__'; }
dev_of() { echo "/dev/mapper/$(dm_name "$1")"; }

# setup CONFIG INDEX: creates the device of the config; 1 on failure
setup() {
	cfg=$1 i=$2
	p=bp$i mp=bm$i
	[ "$cfg" = linear ] && p=b-linear
	dmsetup create $p --table "0 $((PART_MB * 2048)) linear /dev/vda $((i * PART_MB * 2048))" || return 1
	dmsetup create $mp --table "0 $((META_MB * 2048)) linear /dev/vdb $((i * META_MB * 2048))" || return 1
	dmsetup mknodes >/dev/null 2>&1
	P=/dev/mapper/$p MP=/dev/mapper/$mp
	len=$(sectors $P)
	name=$(dm_name "$cfg")
	case "$cfg" in
	linear) ;;	# the slice itself
	vdirt-*+*)
		# vdirt-HASH+OPT:VAL[+OPT:VAL...]: HASH with these extra table
		# options (an A/B in one boot without editing this script),
		# e.g. vdirt-sha256+small_write_cpu:1
		alg=${cfg%%+*} alg=${alg#vdirt-}
		params=$(echo "${cfg#*+}" | tr '+' ' ')
		case "$alg" in *[!a-z0-9]*|"") return 1 ;; esac
		zero_mib $MP 4
		# shellcheck disable=SC2086 # params: words to count
		dmsetup create $name --table "0 $len vdirt $P $MP 4096 $alg $(set -- $params; echo $#) $params" ||
			return 1 ;;
	vdirt-sha256|vdirt-xxhash64|vdirt-noreadverify|vdirt-sha256-*)
		# vdirt-sha256-VARIANT: a hot path choice switched by table
		# options, to compare them in one boot: -io64k bios split at
		# 64 KiB (max_io_kb), -nocpuq small reads verified on the
		# unbound queue (small_read_cpu:0), -cpuqall always on the
		# completing CPU (small_read_cpu:2), -norecycle no page free
		# list (page_recycle:0), -wcpu small writes copied and hashed on
		# the submitting CPU (small_write_cpu:1), -before the first
		# three as before issue 6's hot path work; -notree metadata
		# formatted without the attestation tree, -nowsets without it,
		# the write sets and the digest history (what each costs);
		# -zu the table argument zero_unwritten (issue 17: the written
		# bitmap tested on every read, kept on every write; the prefill
		# writes the whole region, so reads are of written clusters)
		alg=${cfg#vdirt-} opt= params= without=
		case "$alg" in
		sha256-notree) without=tree ;;
		sha256-nowsets) without=writesets,history,tree ;;
		sha256-io*k) params="max_io_kb:${alg#sha256-io}" params=${params%k} ;;
		sha256-nocpuq) params="small_read_cpu:0" ;;
		sha256-cpuqall) params="small_read_cpu:2" ;;
		sha256-norecycle) params="page_recycle:0" ;;
		sha256-wcpu) params="small_write_cpu:1" ;;
		sha256-before) params="small_read_cpu:0 page_recycle:0 max_io_kb:0" ;;
		sha256-zu) params="zero_unwritten" ;;
		sha256-*) return 1 ;;
		esac
		alg=${alg%%-*}
		[ "$alg" = noreadverify ] && alg=sha256 opt=" 1 no_read_verify"
		# shellcheck disable=SC2086 # params: words to count
		if [ -n "$params" ]; then opt=" $(set -- $params; echo $#) $params"; fi
		zero_mib $MP 4
		if [ -n "$without" ]; then
			vdirtctl format -q --force --without $without $P $MP >>$LOG 2>&1 ||
				return 1
		fi
		dmsetup create $name --table "0 $len vdirt $P $MP 4096 $alg$opt"
		rc=$?
		[ $rc = 0 ] || return 1 ;;
	verity)
		zero_mib $MP 4
		prefill $P
		veritysetup format $P $MP --data-blocks=$((BENCH_REGION_MB * 256)) --hash=sha256 \
			--data-block-size=4096 --hash-block-size=4096 >/tmp/verity.out 2>>$LOG || return 1
		root=$(sed -n 's/^Root hash:[[:space:]]*//p' /tmp/verity.out)
		veritysetup open $P $name $MP "$root" 2>>$LOG || return 1 ;;
	integrity-*)
		mode=$(echo "$cfg" | sed 's/integrity-\(.\).*/\1/')
		bs=${cfg#integrity-?}
		if [ "$bs" = 4096 ]; then opts="2 block_size:4096 internal_hash:sha256"
		else opts="1 internal_hash:sha256"; fi
		zero_mib $P 1
		dmsetup create $name --table "0 8 integrity $P 0 32 $mode $opts" 2>>$LOG || return 1
		ilen=$(dmsetup status $name | awk '{print $5}')
		dmsetup remove $name
		dmsetup create $name --table "0 $ilen integrity $P 0 32 $mode $opts" 2>>$LOG || return 1
		log "$cfg: usable $((ilen / 2048)) MiB of a $PART_MB MiB slice" ;;
	*) return 1 ;;
	esac
	dmsetup mknodes >/dev/null 2>&1
	# verity is read-only: its data slice was filled before the format
	[ "$cfg" = verity ] || prefill "$(dev_of $cfg)"
	return 0
}

run_io() {
	log "io: kernel $(uname -r), runtime ${BENCH_RUNTIME}s x ${BENCH_REPEATS}, region ${BENCH_REGION_MB} MiB, slices ${PART_MB} MiB / ${META_MB} MiB"
	log "configs: $BENCH_CONFIGS"
	log "jobs: $BENCH_JOBS"
	mkdir -p $R/io
	: >$R/cpu.tsv
	ok_cfgs= i=0
	for cfg in $BENCH_CONFIGS; do
		if setup "$cfg" $i; then
			ok_cfgs="$ok_cfgs $cfg"
		else
			log "$cfg: setup failed, skipped"
			echo "$cfg setup-failed" >>$R/io/skipped
		fi
		i=$((i + 1))
	done
	for cfg in $ok_cfgs; do
		case $cfg in vdirt*) dmsetup status "$(dm_name $cfg)" >"$R/io/$cfg.status-before" ;; esac
	done
	# One fio process per (repeat, job) runs every configuration in turn
	# (stonewall): fio's start-up (~0.5-2 s under TCG) is paid once, not once
	# per configuration.  /proc/stat is read around each section.
	# The order of the configurations rotates by one every repeat: whatever
	# position in the fio process costs (the first section pays fio's
	# start-up and a cold cache, the last one the drain of the previous
	# ones) lands on each configuration in turn.
	rep=1 order=$(echo $ok_cfgs)
	while [ $rep -le "$BENCH_REPEATS" ]; do
		for j in $BENCH_JOBS; do
			args=$(job_args "$j") || { log "unknown job $j"; continue; }
			jf=/tmp/job.fio
			{
				echo "[global]"
				echo "direct=1"; echo "ioengine=libaio"; echo "time_based"
				echo "runtime=$BENCH_RUNTIME"; echo "size=${BENCH_REGION_MB}M"
				echo "norandommap"; echo "randrepeat=0"
				for a in $args; do echo "${a#--}"; done
				for cfg in $order; do
					config_runs_job "$cfg" "$j" || continue
					echo "[$cfg]"
					echo "filename=$(dev_of $cfg)"
					echo "stonewall"
					echo "exec_prerun=sh -c 'head -n 1 /proc/stat >/tmp/cpu.$cfg.0'"
					echo "exec_postrun=sh -c 'head -n 1 /proc/stat >/tmp/cpu.$cfg.1'"
				done
			} >$jf
			rm -f /tmp/cpu.*
			fio --output-format=json --output=$R/io/$j.$rep.json $jf >/dev/null 2>>$LOG ||
				log "$j $rep: fio failed"
			for cfg in $ok_cfgs; do
				[ -f /tmp/cpu.$cfg.0 ] && [ -f /tmp/cpu.$cfg.1 ] || continue
				echo "$cfg $j $rep $(sed 's/^cpu  *//' /tmp/cpu.$cfg.0 | cut -d' ' -f1-8) $(sed 's/^cpu  *//' /tmp/cpu.$cfg.1 | cut -d' ' -f1-8)" >>$R/cpu.tsv
			done
		done
		log "repeat $rep done"
		rep=$((rep + 1))
		# shellcheck disable=SC2086
		set -- $order
		first=$1
		shift
		order=$(echo "$@" "$first")
	done
	for cfg in $ok_cfgs; do
		case $cfg in vdirt*) dmsetup status "$(dm_name $cfg)" >"$R/io/$cfg.status-after" ;; esac
	done
	case " $ok_cfgs " in
	*" vdirt-sha256 "*) [ "$BENCH_PROFILE" = 1 ] && profile "$(dev_of vdirt-sha256)" ;;
	esac
	dmsetup remove_all 2>/dev/null
	log "io done"
}

# where the time goes: a kernel profile of dm-vdirt (sha256) under load with kprof (a static
# perf_event_open sampler built on the host, bench/kprof.c), when it works here
profile() {
	[ -x $H/kprof ] || { log "profile: no kprof, skipped"; return 0; }
	for j in randwrite4k_qd1 randwrite4k_qd16 randread4k_qd1 randread4k_qd16 seqwrite1m_qd4 seqread1m_qd4; do
		args=$(job_args "$j")
		# the samples start once fio issues I/O (its exec_prerun, after
		# its start-up, which a busy host stretches beyond seconds) and
		# 0.5 s of ramp; fio runs 1.5 s longer than kprof samples
		rm -f /tmp/prof.go
		# shellcheck disable=SC2086
		fio --name=p --filename="$1" --direct=1 --ioengine=libaio --time_based \
			--runtime=$((BENCH_PROFILE_SECS + 2)) --size=${BENCH_REGION_MB}M --norandommap \
			--randrepeat=0 --exec_prerun="touch /tmp/prof.go" $args >/dev/null 2>>$LOG &
		fp=$!
		n=0
		while [ ! -f /tmp/prof.go ] && [ $n -lt 300 ] && kill -0 $fp 2>/dev/null; do
			usleep 100000
			n=$((n + 1))
		done
		usleep 500000
		$H/kprof "$BENCH_PROFILE_SECS" >$R/profile.$j.txt 2>>$LOG || log "profile $j: kprof failed"
		wait $fp
	done
}

# ---- memory / full-device scan ----

memsnap() {	# one line: slab_kb sunreclaim_kb vmalloc_kb bufio_bytes bufio_gfp memfree_kb
	_b=/sys/module/dm_bufio/parameters
	awk '/^Slab:/{s=$2} /^SUnreclaim:/{u=$2} /^VmallocUsed:/{v=$2} /^MemFree:/{f=$2}
		END{printf "%d %d %d", s, u, v}' /proc/meminfo
	printf ' %s %s' "$(cat $_b/current_allocated_bytes 2>/dev/null || echo 0)" \
		"$(cat $_b/allocated_get_free_pages_bytes 2>/dev/null || echo 0)"
	awk '/^MemFree:/{printf " %d\n", $2}' /proc/meminfo
}

run_mem() {
	: >$R/mem.tsv
	set -- /dev/vdc /dev/vdd /dev/vde /dev/vdf /dev/vdg /dev/vdh
	for sz in $BENCH_MEM_SIZES; do
		d=$1 m=$2
		shift 2
		[ -b "$d" ] && [ -b "$m" ] || { log "mem $sz: no disks"; continue; }
		len=$(sectors $d)
		zero_mib $m 4
		drop
		s0=$(memsnap)
		t0=$(now)
		if ! dmsetup create bmem --table "0 $len vdirt $d $m 4096 sha256" 2>>$LOG; then
			log "mem $sz: create failed"; continue
		fi
		dmsetup mknodes >/dev/null 2>&1
		t1=$(now)
		drop
		s1=$(memsnap)
		fio --name=m --filename=/dev/mapper/bmem --direct=1 --ioengine=libaio --rw=randread \
			--bs=4k --iodepth=16 --norandommap --randrepeat=0 --number_ios=$BENCH_MEM_IOS \
			--size=$((len / 2))k --output-format=json --output=$R/mem.$sz.fio.json >/dev/null 2>>$LOG
		t2=$(now)
		s2=$(memsnap)
		dmsetup status bmem >$R/mem.$sz.status
		sleep 2
		drop
		s3=$(memsnap)
		rmdev bmem
		drop
		s4=$(memsnap)
		echo "$sz $len $t0 $t1 $t2 | $s0 | $s1 | $s2 | $s3 | $s4" >>$R/mem.tsv
		log "mem $sz: $(tail -n 1 $R/mem.tsv)"
	done
}

run_scan() {
	d=/dev/vda m=/dev/vdb
	len=$(sectors $d)
	dmsetup create blin --table "0 $len linear $d 0" || return 1
	dmsetup mknodes >/dev/null 2>&1
	drop
	t0=$(now)
	dd if=/dev/mapper/blin of=/dev/null bs=1M iflag=direct 2>>$LOG
	t1=$(now)
	rmdev blin
	echo "dd_linear $len $t0 $t1" >$R/scan.tsv
	log "scan: dd through dm-linear $(echo "$t1 $t0" | awk '{printf "%.1f s", $1-$2}')"
	zero_mib $m 4
	dmsetup create bscan --table "0 $len vdirt $d $m 4096 sha256" || return 1
	dmsetup mknodes >/dev/null 2>&1
	how=tofu
	if [ -f $H/scan.baseline ] && command -v vdirtctl >/dev/null; then
		t0=$(now)
		if vdirtctl baseline load bscan $H/scan.baseline >>$LOG 2>&1; then
			how=baseline
			t1=$(now)
			echo "baseline_load $len $t0 $t1" >>$R/scan.tsv
		else
			log "scan: baseline load failed, first scan measures (trust on first use)"
		fi
	fi
	for pass in 1 2; do
		[ "$pass" -gt "${BENCH_SCAN_PASSES:-1}" ] && break
		drop
		t0=$(now)
		dmsetup message bscan 0 scan || { log "scan message failed"; break; }
		# BENCH_SCAN_MAX_S: stop a scan that takes longer and report the
		# part done (the rate is what matters; the time is extrapolated)
		done_len=$len
		while :; do
			pos=$(field bscan scan)
			[ "$pos" = "-" ] && break
			if [ "${BENCH_SCAN_MAX_S:-0}" -gt 0 ] &&
				[ "$(echo "$(now) $t0 ${BENCH_SCAN_MAX_S}" | awk '{print ($1 - $2 >= $3)}')" = 1 ]; then
				pos=$(field bscan scan)
				t1=$(now)
				dmsetup message bscan 0 scan_stop
				while [ "$(field bscan scan)" != "-" ]; do usleep 100000; done
				done_len=$(( ${pos%/*} * 8 ))	# clusters of 4 KiB -> sectors
				log "scan stopped after ${BENCH_SCAN_MAX_S}s at $pos clusters"
				break
			fi
			usleep 200000
		done
		[ "$done_len" = "$len" ] && t1=$(now)
		echo "scan_$how $done_len $t0 $t1" >>$R/scan.tsv
		dmsetup status bscan >$R/scan.status.$pass
		log "scan pass $pass ($how): $(echo "$t1 $t0" | awk '{printf "%.1f s", $1-$2}'); $(cat $R/scan.status.$pass)"
		how=verify
	done
	[ "$BENCH_PROFILE" = 1 ] && scan_profile
	rmdev bscan
}

# where the time of a scan goes: kprof over a verifying scan started for it (not one of the
# timed passes, which the sampling would slow), stopped once the samples are taken
scan_profile() {
	[ -x $H/kprof ] || return 0
	drop
	dmsetup message bscan 0 scan || return 0
	usleep 1000000
	$H/kprof "$BENCH_PROFILE_SECS" >$R/profile.scan_verify.txt 2>>$LOG || log "profile scan: kprof failed"
	[ "$(field bscan scan)" = "-" ] && log "profile scan: the scan ended before the samples did"
	dmsetup message bscan 0 scan_stop 2>/dev/null
	while [ "$(field bscan scan)" != "-" ]; do usleep 100000; done
}

# ---- crash recovery: BENCH_RECOVERY_REGIONS dirty write-intent regions ----
# The "crash" is tests/26-recovery.sh's: with the intent bits kept set
# (intent_idle_s), one cluster of every region is written, the live metadata
# device is copied (what a power cut leaves on it), the device is removed and
# the copy put back; the reopen then measures every cluster of those regions
# again in the background.  Timed from the create to status recovering=-
# (the summary record is durable), and from the kernel log's "unclean
# shutdown" line to its "recovery finished" line.  The data is the scan
# disk's random data, measured once beforehand (a scan), and the written
# clusters get their own bytes back, so the image stays as it was.
REGION_CLUSTERS=1024	# VDIRT_INTENT_REGION_CLUSTERS
run_recovery() {
	d=/dev/vda m=/dev/vdb
	: >$R/recovery.tsv
	avail=$(( $(sectors $d) / (REGION_CLUSTERS * 8) ))
	nreg=$BENCH_RECOVERY_REGIONS
	[ "$nreg" -gt "$avail" ] && nreg=$avail
	[ "$nreg" -gt 0 ] || { log "recovery: the scan disk is smaller than a region"; return 1; }
	len=$((nreg * REGION_CLUSTERS * 8))
	msz=$(vdirtctl meta-size $((len * 512)) --hash sha256 2>/dev/null) || msz=$(( $(sectors $m) * 512 ))
	tbl="0 $len vdirt $d $m 4096 sha256"
	zero_mib $m 4
	# measure every cluster once, then a clean close (all committed)
	dmsetup create brec --table "$tbl" || return 1
	dmsetup mknodes >/dev/null 2>&1
	dmsetup message brec 0 scan || { rmdev brec; return 1; }
	while [ "$(field brec scan)" != "-" ]; do usleep 200000; done
	rmdev brec
	dmsetup create brec --table "$tbl" || return 1
	dmsetup mknodes >/dev/null 2>&1
	P=/sys/module/dm_vdirt/parameters/intent_idle_s
	idle=$(cat $P)
	echo 3600 >$P
	r=0
	while [ $r -lt "$nreg" ]; do
		off=$(( (r * REGION_CLUSTERS + 7) * 4096 ))
		dio read /dev/mapper/brec $off 4096 /tmp/rc &&
			dio write /dev/mapper/brec $off /tmp/rc || log "recovery: write to region $r failed"
		r=$((r + 1))
	done
	# the power-cut image of the metadata
	dio read $m 0 "$msz" /tmp/rec-meta.img || { echo "$idle" >$P; rmdev brec; return 1; }
	rmdev brec
	echo "$idle" >$P
	dio write $m 0 /tmp/rec-meta.img || return 1
	rm -f /tmp/rec-meta.img /tmp/rc
	drop
	dmesg -c >/dev/null
	t0=$(now)
	dmsetup create brec --table "$tbl" || return 1
	t1=$(now)
	while :; do
		v=$(field brec recovering)
		[ "$v" = "-" ] && break
		[ -n "$v" ] || { log "recovery: no recovering= in the status"; break; }
		usleep 100000
	done
	t2=$(now)
	dmsetup status brec >$R/recovery.status
	dmesg | grep -E 'unclean shutdown|recovery (finished|stopped)' >$R/recovery.klog
	# kernel log timestamps ([    12.345678] ...) of the start and the end
	k0=$(sed -n 's/^\[ *\([0-9.]*\)\].*unclean shutdown.*/\1/p' $R/recovery.klog | head -n 1)
	k1=$(sed -n 's/^\[ *\([0-9.]*\)\].*recovery finished.*/\1/p' $R/recovery.klog | head -n 1)
	echo "recovery $nreg $((nreg * REGION_CLUSTERS)) $t0 $t1 $t2 ${k0:--} ${k1:--}" >>$R/recovery.tsv
	log "recovery of $nreg regions: $(echo "$t2 $t0" | awk '{printf "%.1f s", $1-$2}') (create $(echo "$t1 $t0" | awk '{printf "%.1f s", $1-$2}')); $(cat $R/recovery.klog | tr '\n' ' ')"
	rmdev brec
}

case "$1" in
io) run_io ;;
memscan)
	[ "$BENCH_SCAN" = 1 ] && run_scan
	[ "$BENCH_RECOVERY" = 1 ] && { run_recovery || log "recovery benchmark failed"; }
	run_mem ;;
*) echo "usage: guest-bench.sh io|memscan" >&2; exit 2 ;;
esac
cat /proc/cpuinfo | grep -m1 'model name' >$R/cpuinfo
uname -r >$R/kernel
log "guest done"
exit 0
