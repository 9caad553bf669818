#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The journal catalog (systemd/dm-vdirt.catalog) as journald reads it:
# "journalctl --root=DIR --update-catalog" builds the database of a
# temporary root holding only our file (the host's catalog is not touched),
# --list-catalog has exactly the ids the code gives (the strict parse and
# the id-for-id comparison are in tests/test_journal.c), and --dump-catalog
# gives each entry's header and text whole.  TAP output; skipped without
# journalctl.
cd "$(dirname "$0")/.." || exit 1
. ../tests/host/lib.sh
tap_start
cat=../systemd/dm-vdirt.catalog
ids=$(sed -n 's/^#define VJ_ID_[A-Z_]*[[:space:]]*"\([0-9a-f]\{32\}\)"$/\1/p' lib/journal.h | sort)
n=$(echo "$ids" | grep -c .)
if ! command -v journalctl >/dev/null 2>&1; then
	for d in "journalctl --update-catalog" "--list-catalog" "--dump-catalog"; do
		skip "$d" "no journalctl"
	done
	tap_done
fi
root=$T/root
mkdir -p "$root/usr/lib/systemd/catalog"
cp "$cat" "$root/usr/lib/systemd/catalog/"
journalctl --root="$root" --update-catalog >"$T/log" 2>&1
rc=$?
# journald warns and goes on over what it cannot parse: any output is a failure
[ $rc -eq 0 ] && [ ! -s "$T/log" ] && [ -s "$root/var/lib/systemd/catalog/database" ]
tap "journalctl --root --update-catalog builds the database, no warning" $? ||
	sed 's/^/#   /' "$T/log"
journalctl --root="$root" --list-catalog >"$T/list" 2>&1
got=$(cut -d' ' -f1 "$T/list" | sort)
[ "$n" = 10 ] && [ "$got" = "$ids" ] && ! grep -v ' dm-vdirt: @VDIRT_DEVICE@: ' "$T/list" | grep -q .
tap "--list-catalog: the $n ids of lib/journal.h, each \"dm-vdirt: @VDIRT_DEVICE@: ...\"" $? ||
	sed 's/^/#   /' "$T/list"
bad=0
for id in $ids; do
	journalctl --root="$root" --dump-catalog "$id" >"$T/one" 2>&1
	# the file's entry, from its header to the blank line before the next
	awk -v id="-- $id" '$0 == id { on = 1; print; next }
		on && /^-- / { exit } on { print }' "$cat" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$T/want"
	sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$T/one" >"$T/gotone"
	if ! cmp -s "$T/want" "$T/gotone" || ! grep -q '^Documentation: man:vdirtctl(8)$' "$T/one"; then
		echo "#   $id:"
		diff "$T/want" "$T/gotone" | sed 's/^/#   /'
		bad=1
	fi
done
tap "--dump-catalog: every entry as the file has it (header, fields, the whole text)" $bad
tap_done
