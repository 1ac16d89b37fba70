#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The host side of the devdax suite: boot the guest once, run every device
# test binary inside it (run-suite.sh), return their status.  Without root
# the guest's packages cannot be installed: then the suite is skipped,
# saying why, unless $DAXALLOC_GUEST_REQUIRED makes that a failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run-in-guest.sh BUILD_DIR}
build=$(cd "$build" && pwd -P)

if [ "$(id -u)" -ne 0 ] && ! command -v qemu-system-x86_64 >/dev/null; then
	echo "devdax suite: qemu-system-x86_64 is missing and only root can install it" >&2
	[ -n "${DAXALLOC_GUEST_REQUIRED:-}" ] && exit 1
	echo "SKIP: run tools/test.sh as root to boot the devdax guest" >&2
	exit 77
fi
exec "$here/../guest/guest.sh" --timeout "${DAXALLOC_GUEST_TIMEOUT:-900}" \
	--log "$build/tests/guest-console.log" -- "$here/run-suite.sh" "$build"
