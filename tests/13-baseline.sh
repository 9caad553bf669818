#!/bin/sh
# vm: --disk 64M --disk 16M --timeout 240
# SPDX-License-Identifier: GPL-2.0
# Baseline and write drift: baseline_capture makes the current measurements the
# baseline; later writes that change a baselined cluster are recorded as write
# drift exactly once per cluster (expected = baseline digest, actual = new
# digest); writing the baseline content back, or writing clusters that were
# not baselined, is no drift; clear_mismatches and baseline_clear reset; a
# baselined cluster not written since is verified against its baseline on read.
. "${0%/*}/lib.sh"

use_devs t13

fcl() { dd if="$1" bs=$CS skip="$2" count=1 2>/dev/null; }
rnd() { dd if=/dev/urandom of="$1" bs=$CS count="${2:-1}" 2>/dev/null; }
# drifted: sorted cluster numbers of write_drift records
drifted() { report | grep 'kind=write_drift' | sed 's/^cluster=\([0-9]*\) .*/\1/' | sort -n | tr '\n' ' ' | sed 's/ $//'; }
# rec CLUSTER KEY: KEY of the record about CLUSTER
rec() { report | grep "^cluster=$1 " | head -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }

ktap_start

rnd /tmp/a 64
open_or_end "create the target"
check "write clusters 0..63" wr /tmp/a 0
check "message baseline_capture (and the capture ends)" msg_wait baseline_capture
check_eq "baselined = measured = 64" "64 64" "$(st baselined) $(st measured)"
check_eq "no drift yet" 0 "$(st write_drift)"

rnd /tmp/b5
rnd /tmp/b9
wr /tmp/b5 5
wr /tmp/b9 9
check_eq "changing clusters 5 and 9: write_drift=2" 2 "$(st write_drift)"
check_eq "drift records name exactly clusters 5 and 9" "5 9" "$(drifted)"
check_eq "record of cluster 5 is kind=write_drift op=write" "write_drift write" \
	"$(rec 5 kind) $(rec 5 op)"
check_eq "drift expected digest = sha256 of the baseline content" "$(fcl /tmp/a 5 | vdigest sha256)" "$(rec 5 expected)"
check_eq "drift actual digest = sha256 of the new content" "$(vdigest sha256 /tmp/b5)" "$(rec 5 actual)"

rnd /tmp/c5
wr /tmp/c5 5
check_eq "changing cluster 5 again: still recorded once (write_drift=2, one record)" "2 1" \
	"$(st write_drift) $(report | grep -c '^cluster=5 ')"
fcl /tmp/a 12 >/tmp/a12
wr /tmp/a12 12
check_eq "writing cluster 12's baseline content back is not drift" 2 "$(st write_drift)"
dd if=/tmp/a12 bs=512 skip=3 count=1 2>/dev/null | dio write $T $((12 * CS + 3 * 512))
check_eq "a 512-byte write of identical bytes into cluster 12 is not drift" 2 "$(st write_drift)"
head -c 512 /dev/urandom | dio write $T $((20 * CS + 5 * 512))
check_eq "a 512-byte write changing cluster 20 is drift" "5 9 20" "$(drifted)"
rnd /tmp/n100
wr /tmp/n100 100
check_eq "writing cluster 100 (not baselined) is not drift" 3 "$(st write_drift)"
drop_caches
check "all written clusters read back" rd 0 101
check_eq "no read mismatch (drifted clusters verify against their new content)" 0 "$(st read_mismatches)"

check "message clear_mismatches (and its walk ends)" msg_wait clear_mismatches
check_eq "after clear_mismatches: write_drift=0, no record" "0 0" "$(st write_drift) $(report | grep -c 'cluster=')"
rnd /tmp/d5
wr /tmp/d5 5
check_eq "cluster 5 changed again after the clear: drift recorded again" "5" "$(drifted)"

check "message baseline_clear (and the clear ends)" msg_wait baseline_clear
check_eq "baselined=0 after baseline_clear" 0 "$(st baselined)"
rnd /tmp/e30
wr /tmp/e30 30
check_eq "no drift without a baseline" 1 "$(st write_drift)"

# a fresh baseline; a baselined cluster changed underneath is checked against it
msg_wait clear_mismatches
check "baseline_capture again" msg_wait baseline_capture
check_eq "baselined = measured" "$(st measured)" "$(st baselined)"
head -c 512 /dev/urandom | dio write $D $((40 * CS + 512))
drop_caches
rd 40 1
check_eq "a baselined cluster changed underneath is a read mismatch against the baseline" \
	"read_mismatch $(fcl /tmp/a 40 | vdigest sha256)" "$(rec 40 kind) $(rec 40 expected)"
ktap_done
