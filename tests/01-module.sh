#!/bin/sh
# vm: --timeout 180
# SPDX-License-Identifier: GPL-2.0
# dm-vdirt loads, registers its target, unloads and loads again.
. "${0%/*}/lib.sh"

ktap_start
ko=$(modinfo -n dm_vdirt 2>/dev/null)
check "module dm_vdirt is loaded at boot" grep -q '^dm_vdirt ' /proc/modules
check "target vdirt is registered" sh -c 'dmsetup targets | grep -q "^vdirt "'
check "module file is found by modinfo" test -f "$ko"
check "module unloads" rmmod dm_vdirt
check "target is gone after unload" sh -c '! dmsetup targets | grep -q "^vdirt "'
i=0
rc=0
while [ $i -lt 5 ]; do
	modprobe dm-vdirt && rmmod dm_vdirt || rc=1
	i=$((i + 1))
done
modprobe dm-vdirt || rc=1
check_eq "load/unload 5 times through the dm-vdirt alias, then load" 0 "$rc"
ktap_done
