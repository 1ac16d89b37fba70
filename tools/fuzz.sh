#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Build the libFuzzer targets (clang, ASan + UBSan) in build-fuzz/ and run
# each from its seed corpus in tests/fuzz/corpus/ for a fixed time.
#   tools/fuzz.sh [SECONDS]          default 20 s per target (CI's smoke run)
#   DAXALLOC_FUZZ_RUNS=10000000 tools/fuzz.sh   a long run: that many inputs
#   DAXALLOC_FUZZ_TARGETS="metadata cli"        only these (metadata size cli)
#   DAXALLOC_FUZZ_BUILD=DIR                     build there, not in build-fuzz/
# A crash leaves its input in build-fuzz/artifacts/ and fails the run.
# Results are counted by tests/summarize.py like the other suites.
set -uo pipefail

cd "$(dirname "$0")/.."
secs=${1:-20}
bd=${DAXALLOC_FUZZ_BUILD:-build-fuzz}
missing=()
for p in clang libclang-rt-14-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null || exit 1
fi
# No log until the targets ran: a build that fails is counted as a failure.
rm -f "$bd/meson-logs/testlog.json"
if [ ! -f "$bd/build.ninja" ]; then
	CC=clang meson setup "$bd" -Dfuzzing=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dtests=enabled -Ddevdax_guest=disabled -Dexamples=false \
		-Ddocs=disabled >/dev/null 2>&1 ||
	CC=clang meson setup "$bd" -Dfuzzing=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dtests=enabled -Ddevdax_guest=disabled -Dexamples=false >/dev/null || exit 1
fi
if ! ninja -C "$bd" >"$bd/build.log" 2>&1; then
	echo "fuzz: the clang build of the targets failed ($bd/build.log):"
	grep -E 'error|FAILED|undefined reference' "$bd/build.log" | head -20
	exit 1
fi

results=$bd/tests/results
rm -rf "$results" "$bd/artifacts"
mkdir -p "$results" "$bd/meson-logs" "$bd/artifacts"
: >"$bd/meson-logs/testlog.json"
status=0
# Undefined behaviour is a finding like a crash: stop there, keep the input.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in ${DAXALLOC_FUZZ_TARGETS:-metadata size cli}; do
	work=$bd/corpus-$t
	mkdir -p "$work"
	limit=(-max_total_time="$secs")
	[ -n "${DAXALLOC_FUZZ_RUNS:-}" ] && limit=(-runs="$DAXALLOC_FUZZ_RUNS")
	# The CLI prints; its output is of no interest here.
	quiet=()
	[ "$t" = cli ] && quiet=(-close_fd_mask=3)
	echo "== fuzz-$t ${limit[*]}"
	"$bd/tests/fuzz/fuzz-$t" "${limit[@]}" "${quiet[@]}" -max_len=8192 -print_final_stats=1 \
		-artifact_prefix="$bd/artifacts/$t-" "$work" "tests/fuzz/corpus/$t" \
		>"$bd/fuzz-$t.log" 2>&1
	rc=$?
	grep -E '^Done|DONE +cov|stat::number_of_executed_units|SUMMARY' "$bd/fuzz-$t.log"
	result=OK
	[ $rc -eq 0 ] || { result=FAIL; status=1; tail -30 "$bd/fuzz-$t.log"; }
	printf '{"name": "fuzz-%s", "result": "%s"}\n' "$t" "$result" >>"$bd/meson-logs/testlog.json"
done
exit $status
