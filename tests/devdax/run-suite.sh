#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs inside the devdax guest: device test binaries, each writing its
# Criterion JSON report as results/TAG.NAME.json for the host's summary,
# then the examples that must work on real devdax (one case each).
#
#   run-suite.sh BUILD_DIR [TAG [PART...]]
#
# TAG names the reports (the meson test: devdax-6.1, devdax-newest...);
# PART: a test binary (hugetlb-map devdax vfio pool ownership pin cli bad-input
# reconfigure vmemmap), "examples" or "bench"; none: all of them.
# Exit status: 0 only if everything passed.
set -uo pipefail

build=${1:?usage: run-suite.sh BUILD_DIR [TAG [PART...]]}
tag=${2:-devdax}
shift $(( $# < 2 ? $# : 2 ))
all=(hugetlb-map devdax vfio pool ownership pin cli list-daxctl bad-input reconfigure mode vmemmap examples heap-programs bench)
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=("${all[@]}")
for p in "${parts[@]}"; do
	[[ " ${all[*]} " == *" $p "* ]] || { echo "run-suite.sh: unknown part '$p'" >&2; exit 2; }
done
want() { [[ " ${parts[*]} " == *" $1 "* ]]; }
results=$build/tests/results
mkdir -p "$results"
export DAXALLOC_CTL=$build/tools/daxalloc-ctl
status=0
echo "=== kernel $(uname -r): ${parts[*]}"

# A one-case report in the shape of Criterion's, for the summary.
report() {	# NAME PASSED(0|1|skip) WHY
	local p=0 f=0 k=0
	case $2 in
	1) p=1 ;;
	skip) k=1; echo "SKIP: $1: $3" ;;
	*) f=1; status=1; echo "FAIL: $1: $3" ;;
	esac
	printf '{"id":"run-suite","passed":%d,"failed":%d,"errored":0,"skipped":%d,"why":"%s"}\n' \
		"$p" "$f" "$k" "$3" >"$results/$tag.$1.json"
}

# reconfigure and vmemmap run after the other suites: they change devices
# (and put them back), so a failure there cannot spoil what they test.
# The stand-in's map suite runs here too, first (1G pages need unfragmented
# memory): the guest's CPU model offers 1G pages where many hosts do not.
for name in hugetlb-map devdax vfio pool ownership pin cli list-daxctl bad-input reconfigure mode vmemmap; do
	want "$name" || continue
	bin=$build/tests/test-guest-$name
	[ "$name" = cli ] && bin=$build/tests/test-cli
	[ "$name" = hugetlb-map ] && bin=$build/tests/test-hugetlb-map
	echo "=== $name ($(basename "$bin"))"
	# kmem (system-ram mode) only now, for the suites that switch modes: on
	# kernels whose hmem regions default to system-ram it takes every unbound
	# device of them when it loads.
	if [[ $name == list-daxctl || $name == mode ]] && [ -z "${kmem_loaded:-}" ]; then
		modprobe -C /run/daxalloc-guest/modprobe.d -d "${DAXALLOC_GUEST_KERNEL_ROOT:-/}" \
			--ignore-install kmem || echo "$name: kmem could not be loaded"
		kmem_loaded=1
	fi
	# one test at a time: they share the guest's devices and its VFIO group
	"$bin" --jobs=1 --verbose=1 --json="$results/$tag.$name.json" || status=1
done
want examples || want bench || want heap-programs || exit $status
pin_dev=$(awk -F'\t' '$1 == "static2m" { print $3 }' "$DAXALLOC_GUEST_DEVICES")

# The buffer pool example: written, killed, restarted, reattached by name.
if want examples; then
echo "=== example buffer-pool"
dev=$(awk -F'\t' '$1 == "dyn2m" { print $3 }' "$DAXALLOC_GUEST_DEVICES")
bp=$build/examples/buffer-pool
if [ ! -x "$bp" ]; then
	report example-buffer-pool 0 "examples are not built (-Dexamples=false)"
else
	"$bp" "$dev" format &&
	{ "$bp" "$dev" fill bufpool 256M; rc=$?; [ $rc -eq 137 ] || { echo "fill exited $rc, expected SIGKILL"; false; }; } &&
	"$bp" "$dev" check bufpool &&
	{ "$bp" "$dev" fill bufpool 256M; [ $? -eq 137 ]; } &&
	"$bp" "$dev" check bufpool
	if [ $? -eq 0 ]; then
		report example-buffer-pool 1 ""
	else
		report example-buffer-pool 0 "the buffer pool did not come back intact"
	fi
fi
fi
# Unmodified redis-server and memcached with their heap on a devdax pool
# (redis-server turns transparent huge pages off when it starts, and forks).
if want heap-programs; then
	echo "=== heap programs"
	heap_dev=$(awk -F'\t' '$1 == "dyn2m" { print $4 }' "$DAXALLOC_GUEST_DEVICES")
	if "$DAXALLOC_CTL" format "$heap_dev" --force >/dev/null &&
	   PROGRAMS_KEYS=5000 PROGRAMS_REQUESTS=10000 "$(dirname "$0")/../heap/programs.sh" \
		"$build/libdaxalloc/libdaxalloc-preload.so" "$heap_dev" 384M; then
		report heap-programs 1 ""
	else
		report heap-programs 0 "redis-server or memcached with the heap on devdax failed a check"
	fi
fi
if want examples; then
# The pin examples on a 2M device: a real device DMAs through the IOMMU,
# an RDMA WRITE over soft-RoCE, io_uring's answer (a refusal before 6.5).
"$DAXALLOC_CTL" format "$pin_dev" --force >/dev/null || status=1
example() {	# NAME WHY-IT-FAILED ARGS...
	local name=$1 why=$2 bin=$build/examples/$1
	shift 2
	echo "=== example $name"
	if [ ! -x "$bin" ]; then
		report "example-$name" 0 "examples/$name is not built"
	elif "$bin" "$@"; then
		report "example-$name" 1 ""
	else
		report "example-$name" 0 "$why"
	fi
}
example vfio-dma "the edu device's DMA through the IOMMU did not round-trip" \
	"$pin_dev" "${DAXALLOC_GUEST_VFIO_GROUP:-no-vfio-group}" "${DAXALLOC_GUEST_VFIO_BDF:-no-vfio-device}"
example rdma-write "the RDMA WRITE into the region did not arrive" \
	"$pin_dev" "${DAXALLOC_GUEST_RDMA_DEV:-no-rdma-device}"
example uring-fixed "io_uring's answer on devdax was not the expected one" "$pin_dev"
fi

# The benchmarks in smoke mode on real devdax: they run, the JSON has the
# right shape (pins through VFIO and RDMA; the O_DIRECT file on the share,
# the guest's /tmp has no O_DIRECT).
want bench || exit $status
echo "=== bench-quick"
bench_args=(--quick --json --format --device "$pin_dev" --tmpdir "$build")
[ -n "${DAXALLOC_GUEST_VFIO_GROUP:-}" ] && bench_args+=(--vfio-group "$DAXALLOC_GUEST_VFIO_GROUP")
[ -n "${DAXALLOC_GUEST_RDMA_DEV:-}" ] && bench_args+=(--rdma "$DAXALLOC_GUEST_RDMA_DEV")
if out=$(python3 "$(dirname "$0")/../check-bench.py" "$build/tools/daxalloc-bench" "${bench_args[@]}"); then
	report bench-quick 1 ""
else
	echo "$out"
	report bench-quick 0 "daxalloc-bench --quick: $(echo "$out" | head -n 1 | tr -d '"\\')"
fi
exit $status
