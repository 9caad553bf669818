#!/bin/sh
# vm: --timeout 120
# SPDX-License-Identifier: GPL-2.0
# The guest boots with what the other tests need.
. "${0%/*}/lib.sh"

ktap_start
check "kernel is a test kernel" sh -c 'uname -r | grep -qE "^6\.(1|12)\."'
check "device-mapper is available" dmsetup version
check "fio runs" fio --version
check "mkfs.ext4 runs" mkfs.ext4 -V
check "veritysetup runs" veritysetup --version
check "dm-integrity and dm-verity load on demand" sh -c "modprobe dm-integrity && modprobe dm-verity && grep -q \"^dm_verity \" /proc/modules"
check "a sha256 shash is registered" grep -q 'sha256' /proc/crypto
ktap_done
