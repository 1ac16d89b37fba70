#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A program built against libdaxalloc needs only the library: the header
# includes nothing but the C library's headers, and no static library
# ships, so the .pc file names no private requirement (with one, --cflags
# would print other packages' folders and --static twenty RDMA libraries).
#   check-pkgconfig.sh LIBDAXALLOC_PC DAXALLOC_H
set -eu
pc=$1 header=$2 status=0
if grep -E '^Requires(\.private)?:' "$pc"; then
	echo "check-pkgconfig: $pc names requirements the header does not need"
	status=1
fi
bad=$(grep -E '^#include' "$header" | grep -vE '<(stdarg|stdbool|stddef|stdint|sys/types)\.h>' || true)
if [ -n "$bad" ]; then
	echo "check-pkgconfig: $header includes beyond the C library: $bad"
	status=1
fi
[ $status -eq 0 ] && echo "check-pkgconfig: $pc needs nothing but the library"
exit $status
