#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The library and daxalloc-ctl never change the mode or owner of anything
# (a device node, the pin ledger): none of them imports chmod, chown or umask.
#   check-permissions.sh BINARY...
set -eu
status=0
for f in "$@"; do
	bad=$(nm -D --undefined-only "$f" | awk '{ print $NF }' | sed 's/@.*//' |
		grep -xE '(f|l)?ch(mod|own)(at)?|umask' || true)
	if [ -n "$bad" ]; then
		echo "$f imports:" $bad
		status=1
	fi
done
exit $status
