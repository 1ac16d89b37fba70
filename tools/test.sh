#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install, build and run every test suite: unit, the hugetlb stand-in, the
# CLI, and the device tests in a QEMU guest with real device-dax devices.
# Ends with one line: "N passed, N failed, N skipped" (test cases).
set -uo pipefail

cd "$(dirname "$0")/.."
tools/setup.sh -Dtests=enabled "$@" || exit 1
rm -rf build/tests/results
mkdir -p build/tests/results
meson test -C build --print-errorlogs --num-processes 2
rc=$?
echo
python3 tests/summarize.py build
src=$?
[ $rc -eq 0 ] && [ $src -eq 0 ]
