#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The host side of the devdax suite: boot the guest once on one kernel, run
# the device test binaries inside it (run-suite.sh), return their status.
#
#   run-in-guest.sh BUILD_DIR KERNEL TAG [PART...]
#
# KERNEL: 6.1, 6.12 or newest (tests/guest/prepare.sh); TAG names the
# reports and the console log; PART: what run-suite.sh runs (all if none).
# Without root the guest's packages cannot be installed: then the suite is
# skipped, saying why, unless $DAXALLOC_GUEST_REQUIRED makes that a failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run-in-guest.sh BUILD_DIR KERNEL TAG [PART...]}
kernel=${2:?usage: run-in-guest.sh BUILD_DIR KERNEL TAG [PART...]}
tag=${3:?usage: run-in-guest.sh BUILD_DIR KERNEL TAG [PART...]}
shift 3
build=$(cd "$build" && pwd -P)

if [ "$(id -u)" -ne 0 ] && ! command -v qemu-system-x86_64 >/dev/null; then
	echo "devdax suite: qemu-system-x86_64 is missing and only root can install it" >&2
	[ -n "${DAXALLOC_GUEST_REQUIRED:-}" ] && exit 1
	echo "SKIP: run tools/test.sh as root to boot the devdax guest" >&2
	exit 77
fi
rm -f "$build/tests/results/$tag".*.json
# Under meson's own limit (tests/meson.build), so the guest's console is kept.
limit=$(( $# > 0 ? 1100 : 1700 ))
exec "$here/../guest/guest.sh" --kernel "$kernel" --timeout "${DAXALLOC_GUEST_TIMEOUT:-$limit}" \
	--log "$build/tests/$tag-console.log" -- "$here/run-suite.sh" "$build" "$tag" "$@"
