#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The host side of the devdax suite: boot the guest once on one kernel, run
# the device test binaries inside it (run-suite.sh), return their status.
#
#   run-in-guest.sh [--only-if VAR] BUILD_DIR KERNEL TAG [PART...]
#
# KERNEL: 6.1, 6.12, 6.12-iommufd or newest (tests/guest/prepare.sh); TAG
# names the reports and the console log; PART: what run-suite.sh runs (all
# if none). --only-if VAR: an opt-in; unless $VAR is set the suite is
# skipped, and counted as skipped, saying how to opt in.
# Without root the guest's packages cannot be installed: then the suite is
# skipped, saying why, unless $DAXALLOC_GUEST_REQUIRED makes that a failure.
set -uo pipefail

usage="usage: run-in-guest.sh [--only-if VAR] BUILD_DIR KERNEL TAG [PART...]"
here=$(cd "$(dirname "$0")" && pwd)
only_if=
if [ "${1:-}" = --only-if ]; then
	only_if=${2:?$usage}
	shift 2
fi
build=${1:?$usage}
kernel=${2:?$usage}
tag=${3:?$usage}
shift 3
build=$(cd "$build" && pwd -P)

if [ -n "$only_if" ] && [ -z "${!only_if:-}" ]; then
	why="opt-in: $only_if=1 runs it (the $kernel guest kernel"
	[ "$kernel" = 6.12-iommufd ] &&
		why+=" is built from source the first time: about 21 min on two cores, see tests/guest/README.md"
	why+=")"
	echo "SKIP: $tag: $why" >&2
	mkdir -p "$build/tests/results"
	rm -f "$build/tests/results/$tag".*.json
	printf '{"id":"run-in-guest","passed":0,"failed":0,"errored":0,"skipped":1,"why":"%s"}\n' \
		"$why" >"$build/tests/results/$tag.opt-in.json"
	exit 77
fi

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
