#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install, build and run every test suite:
#   1. unit, the hugetlb stand-in, the CLI, and the device tests in a QEMU
#      guest with real device-dax devices (build/);
#   2. unit + stand-in + CLI again, built with AddressSanitizer and
#      UndefinedBehaviorSanitizer (build-sanitize/);
#   3. the CLI suite with every daxalloc-ctl run under valgrind memcheck;
#   4. the libFuzzer targets, each for a short fixed time (tools/fuzz.sh);
#   5. the Debian packages built, installed, used and removed
#      (tests/install-test.sh, build-install/; DAXALLOC_TEST_NO_INSTALL=1 skips).
# DAXALLOC_TEST_QUICK=1 runs only the first.
# DAXALLOC_TEST_IOMMUFD_KERNEL=1 adds the devdax-6.12-iommufd guest run (the
# pin and VFIO suites, iommufd pins included) on a kernel built from Debian's
# linux-source-6.12 (tests/guest/build-kernel.sh; long the first time, then
# cached); without it that run is a counted skip.
# Ends with one line: "N passed, N failed, N skipped" (test cases, all runs).
# Meson options given as arguments go to the main build.
set -uo pipefail

cd "$(dirname "$0")/.."
rm -f build/tests/summary.log
tools/setup.sh -Dtests=enabled "$@" || exit 1

# 1G pages must be taken before memory fragments; give back what we took.
hp1g=/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages
restore_hp=
if [ "$(id -u)" -eq 0 ] && [ -w "$hp1g" ]; then
	restore_hp=$(cat "$hp1g")
	echo 1 >/proc/sys/vm/compact_memory 2>/dev/null || true
	echo $((restore_hp + 2)) >"$hp1g" 2>/dev/null || true
	echo "test: 1G huge pages reserved: $(cat "$hp1g")"
	trap 'echo "$restore_hp" >"$hp1g" 2>/dev/null' EXIT
fi

status=0
# Built before the suites, outside meson's time limit for the guest run.
if [ -n "${DAXALLOC_TEST_IOMMUFD_KERNEL:-}" ] && [ "$(id -u)" -eq 0 ]; then
	echo "test: the 6.12-iommufd guest kernel (tests/guest/build-kernel.sh)"
	tests/guest/build-kernel.sh >/dev/null || status=1
fi
run_suites() {	# BUILD_DIR [meson test args...]
	local dir=$1
	shift
	rm -rf "$dir/tests/results"
	mkdir -p "$dir/tests/results"
	meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" || status=1
}

run_suites build

if [ -z "${DAXALLOC_TEST_QUICK:-}" ]; then
	echo
	echo "== sanitizers (ASan + UBSan): unit, stand-in and CLI suites"
	rm -f build-sanitize/meson-logs/testlog.json
	if [ ! -f build-sanitize/build.ninja ]; then
		meson setup build-sanitize -Dtests=enabled -Ddevdax_guest=disabled \
			-Db_sanitize=address,undefined -Db_lundef=false >/dev/null || status=1
	fi
	if ninja -C build-sanitize >/dev/null; then
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			run_suites build-sanitize --suite unit --suite hugetlb
	else
		status=1
	fi

	echo
	echo "== valgrind memcheck: every daxalloc-ctl run of the CLI suite"
	mkdir -p build-valgrind/tests/results build-valgrind/meson-logs
	rm -f build-valgrind/tests/results/*
	DAXALLOC_CTL=$PWD/build/tools/daxalloc-ctl \
	DAXALLOC_CTL_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect" \
		build/tests/test-cli --verbose=1 --json=build-valgrind/tests/results/cli-valgrind.json
	rc=$?
	[ $rc -eq 0 ] || status=1
	# a meson-style log line so the summary counts it like the others
	printf '{"name": "cli-valgrind", "result": "%s"}\n' "$([ $rc -eq 0 ] && echo OK || echo FAIL)" \
		>build-valgrind/meson-logs/testlog.json

	echo
	echo "== fuzzing: each target for ${DAXALLOC_FUZZ_SECONDS:-20} s from its seed corpus"
	tools/fuzz.sh "${DAXALLOC_FUZZ_SECONDS:-20}" || status=1
fi

# Packages: build, install, use, remove (skipped, and counted as such, with
# DAXALLOC_TEST_NO_INSTALL=1, DAXALLOC_TEST_QUICK or without root).
echo
tests/install-test.sh build-install || status=1

echo
# Every run that should have happened is counted: one without a log (its
# build failed) is a failure, not a run left out of the count.
dirs=(build)
[ -z "${DAXALLOC_TEST_QUICK:-}" ] && dirs+=(build-sanitize build-valgrind build-fuzz)
[ -f build-install/meson-logs/testlog.json ] && dirs+=(build-install)
# kept in build/tests/summary.log: .ci/run repeats its last line
python3 tests/summarize.py --status "$status" "${dirs[@]}" | tee build/tests/summary.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
exit $status
