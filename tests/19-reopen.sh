#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 240
# SPDX-License-Identifier: GPL-2.0
# Reopen: after a clean remove and re-create on the same disks, measurements
# (measured, baselined), recorded mismatches and drift (report and counters)
# survive; data written before the close verifies after it; a cluster changed
# while the device was closed is detected after reopen, also in enforce mode.
. "${0%/*}/lib.sh"

use_devs t19

snap() {
	for k in measured baselined read_mismatches write_drift; do
		printf '%s=%s ' $k "$(st $k)"
	done
}

ktap_start

table=$(table)
check "create" open_dev "$table"
head -c $((32 * CS)) /dev/urandom >/tmp/a
head -c $CS /dev/urandom >/tmp/b3
wr /tmp/a 0
msg_wait baseline_capture
wr /tmp/b3 3
head -c 512 /dev/urandom | dio write $D $((7 * CS + 1024))
drop_caches
rd 0 32
check_eq "before close: one drift (3) and one read mismatch (7)" "cluster=3 kind=write_drift|cluster=7 kind=read_mismatch|" \
	"$(report | cut -d' ' -f1-2 | sort | tr '\n' '|')"
before=$(snap)
report >/tmp/rep1
diag "before: $before"
check "clean remove" dmsetup remove $N

# change cluster 20 while nobody watches
head -c 512 /dev/urandom | dio write $D $((20 * CS + 512))
check "re-create on the same disks" open_dev "$table"
check_eq "state=ok after reopen" ok "$(st state)"
check_eq "measured, baselined, read_mismatches, write_drift survive" "$before" "$(snap)"
report >/tmp/rep2
check "mismatch records survive unchanged (report identical)" cmp /tmp/rep1 /tmp/rep2
drop_caches
rd 0 3
rd 4 3
rd 8 12
check_eq "data written before the close verifies after it" "$(cat /tmp/rep1 | wc -l)" "$(report | wc -l)"
rd 3 1 /tmp/r3
check "cluster 3 (written after the baseline) reads its new data without mismatch" cmp /tmp/b3 /tmp/r3
rd 20 1
check "a cluster changed while closed is reported after reopen" \
	sh -c "dmsetup message $N 0 report | grep -q '^cluster=20 kind=read_mismatch op=read '"
check_eq "its expected digest is the one measured before the close" \
	"$(dd if=/tmp/a bs=$CS skip=20 count=1 2>/dev/null | vdigest sha256)" \
	"$(report | grep '^cluster=20 ' | tr ' ' '\n' | sed -n 's/^expected=//p' | head -n 1)"

# reopen in enforce mode: persisted hashes drive the EIO
check "clean remove again" dmsetup remove $N
check "re-create with mode:enforce" open_dev "$table 1 mode:enforce"
drop_caches
check_fail "enforce after reopen: cluster 20 fails" rd 20 1
check_fail "enforce after reopen: cluster 7 (tampered before the close) fails" rd 7 1
{ head -c $((3 * CS)) /tmp/a; cat /tmp/b3; dd if=/tmp/a bs=$CS skip=4 count=3 2>/dev/null; } >/tmp/e0
rd 0 7 /tmp/r0
check "enforce after reopen: clusters 0..6 read fine" cmp /tmp/e0 /tmp/r0
check_eq "baseline still there after two reopens" 32 "$(st baselined)"
ktap_done
