#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run the benchmarks and write BENCHMARKS.md from their numbers:
#   1. on this machine, at native speed: the hugetlb stand-in at 2M and 1G
#      (io_uring pins; the 4K cases on anonymous and shmem memory);
#   2. in the devdax guest (tests/guest): real device-dax at 4K, 2M and 1G,
#      pins for VFIO and RDMA; the guest is emulated, so only its ratios
#      mean something;
#   3. tools/bench/report.py: BENCHMARKS.md, one plot per metric (gnuplot)
#      and the raw results under tools/bench/.
#
#   tools/bench.sh [--quick] [--host-only | --guest-only] [--only LIST]
#   tools/bench.sh --pin-paths[=6.1,6.12,newest,6.12-iommufd]
#   tools/bench.sh --programs[=6.1,newest]
#
# --only LIST (some of pin,alloc,fault,restart) measures only those on the
# host and replaces their rows in tools/bench/host.json, keeping the rest.
# --only pool runs only the pool engine on the test device (and its
# metadata reads): tools/bench/pool.json.
#
# --pin-paths boots the guest on each kernel line given (default: Debian's
# three; 6.12-iommufd, the kernel built with iommufd, only when named),
# runs tests/guest/pin-paths.sh there (pin and unpin per consumer and memory,
# library and kernel call, and the pin-path probe) into
# tools/bench/pin-paths-LINE.json, and rewrites only the section "Pin path per
# kernel" of BENCHMARKS.md and its plot from every such file.
#
# --programs boots the guest on each kernel line given (default: 6.1 and
# newest), runs tests/heap/programs.sh there with the heap of redis-server
# and memcached on device-dax (the guest's dyn2m device) into
# tools/bench/programs-LINE.json, and rewrites only the subsection "Programs
# (guest, device-dax)" of BENCHMARKS.md from every such file.
# $BENCH_PROGRAMS_REQUESTS (default 50000) requests per load tool run.
#
# $BENCH_PIN_MAX (default 16G) caps the large pin on the host.
# Inside the guest this script runs itself as: bench.sh --in-guest OUT [--quick],
# or bench.sh --in-guest-programs OUT.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
root=$PWD
out=tools/bench
bench=build/tools/daxalloc-bench
quick=() host=1 guest=1 in_guest='' only='' pin_paths='' programs='' in_guest_programs=''
while [ $# -gt 0 ]; do
	case $1 in
		--quick) quick=(--quick); shift ;;
		--host-only) guest=0; shift ;;
		--guest-only) host=0; shift ;;
		--in-guest) in_guest=${2:?}; shift 2 ;;
		--only) only=${2:?}; guest=0; shift 2 ;;
		--pin-paths) pin_paths="6.1 6.12 newest"; shift ;;
		--pin-paths=*) pin_paths=${1#*=}; pin_paths=${pin_paths//,/ }; shift ;;
		--programs) programs="6.1 newest"; shift ;;
		--programs=*) programs=${1#*=}; programs=${programs//,/ }; shift ;;
		--in-guest-programs) in_guest_programs=${2:?}; shift 2 ;;
		*) echo "usage: tools/bench.sh [--quick] [--host-only | --guest-only] [--only LIST]" \
			"| --pin-paths[=LINE,...] | --programs[=LINE,...]" >&2; exit 2 ;;
	esac
done

# Merge the "results" of several runs of the tool into one document.
merge() {	# OUT IN...
	python3 - "$@" <<'EOF'
import json, sys
docs = [json.load(open(p)) for p in sys.argv[2:]]
doc = dict(docs[0])
doc["devices"] = list(dict.fromkeys(d for x in docs for d in x["devices"]))
doc["results"] = [r for x in docs for r in x["results"]]
json.dump(doc, open(sys.argv[1], "w"), indent=1)
EOF
}

# Replace the rows of the metrics in LIST in OLD by those of NEW (a partial rerun).
replace_metrics() {	# OLD NEW LIST
	python3 - "$@" <<'EOF'
import json, sys
old, new, only = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3].split(",")
group = {"unpin": "pin", "faults": "fault"}
redo = lambda r: group.get(r["metric"], r["metric"]) in only
old["results"] = [r for r in old["results"] if not redo(r)] + [r for r in new["results"] if redo(r)]
old["devices"] = list(dict.fromkeys(old["devices"] + new["devices"]))
json.dump(old, open(sys.argv[1], "w"), indent=1)
EOF
}

# ---- inside the guest -------------------------------------------------------
# The heap programs on the guest's 2M dynamic device, as the suite's
# heap-programs part runs them, with more requests and the numbers kept.
if [ -n "$in_guest_programs" ]; then
	heap_dev=$(awk -F'\t' '$1 == "dyn2m" { print $4 }' "$DAXALLOC_GUEST_DEVICES")
	[ -n "$heap_dev" ] || { echo "bench: no device labelled dyn2m in the guest" >&2; exit 1; }
	build/tools/daxalloc-ctl format "$heap_dev" --force >/dev/null || exit 1
	PROGRAMS_JSON=$in_guest_programs PROGRAMS_KEYS=5000 \
		PROGRAMS_REQUESTS=${BENCH_PROGRAMS_REQUESTS:-50000} tests/heap/programs.sh \
		"$root/build/libdaxalloc/libdaxalloc-preload.so" "$heap_dev" 384M
	exit
fi
if [ -n "$in_guest" ]; then
	dev() {	# LABEL [FALLBACK-LABEL]: the device's path from the guest's table
		local p
		for l in "$@"; do
			p=$(awk -F'\t' -v l="$l" '$1 == l { print $4 }' "$DAXALLOC_GUEST_DEVICES")
			[ -n "$p" ] && { echo "$p"; return; }
		done
		echo "bench: no device labelled $1 in the guest" >&2
		return 1
	}
	d4k=$(dev recfgns) && d2m=$(dev static2m) && d1g=$(dev static1g) && big2m=$(dev vmem4g static2m) ||
		exit 1
	tmp=$(mktemp -d)
	args=(--json --format "${quick[@]}" --iterations 3 --tmpdir "$root/build")
	[ -n "${DAXALLOC_GUEST_VFIO_GROUP:-}" ] && args+=(--vfio-group "$DAXALLOC_GUEST_VFIO_GROUP")
	[ -n "${DAXALLOC_GUEST_RDMA_DEV:-}" ] && args+=(--rdma "$DAXALLOC_GUEST_RDMA_DEV")
	# Pins on the largest device of each alignment; the pool-backed runs
	# on pmem namespaces, where libpmem2 works too.
	"$bench" "${args[@]}" --only pin --device "$d4k" --device "$big2m" --device "$d1g" \
		>"$tmp/pin.json" &&
	"$bench" "${args[@]}" --only fault --device "$d4k" >"$tmp/fault4k.json" &&
	"$bench" "${args[@]}" --only alloc,fault,restart --no-4k --device "$d2m" --device "$d1g" \
		>"$tmp/rest.json" &&
	merge "$in_guest" "$tmp/pin.json" "$tmp/fault4k.json" "$tmp/rest.json"
	rc=$?
	rm -rf "$tmp"
	exit $rc
fi

# ---- on the host ----------------------------------------------------------------
tools/setup.sh || exit 1
if ! command -v gnuplot >/dev/null; then
	echo "bench: installing gnuplot-nox (for the plots)"
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		gnuplot-nox >/dev/null || { $SUDO apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
			gnuplot-nox >/dev/null; } || exit 1
fi
mkdir -p "$out"
status=0

if [ -n "$pin_paths" ]; then
	for line in $pin_paths; do
		echo "bench: pin paths on kernel $line (guest)"
		tests/guest/guest.sh --kernel "$line" --timeout 1500 -- \
			tests/guest/pin-paths.sh build "$root/$out/pin-paths-$line.json.new" &&
			mv "$out/pin-paths-$line.json.new" "$out/pin-paths-$line.json" ||
			{ echo "bench: pin paths on $line failed" >&2; rm -f "$out/pin-paths-$line.json.new"; status=1; }
	done
	python3 tools/bench/pin_paths.py --out BENCHMARKS.md --plots "$out" "$out"/pin-paths-*.json ||
		status=1
	exit $status
fi

if [ -n "$programs" ]; then
	for line in $programs; do
		echo "bench: heap programs on kernel $line (guest)"
		tests/guest/guest.sh --kernel "$line" --timeout 900 -- \
			tools/bench.sh --in-guest-programs "$root/$out/programs-$line.json.new" &&
			mv "$out/programs-$line.json.new" "$out/programs-$line.json" ||
			{ echo "bench: heap programs on $line failed" >&2; rm -f "$out/programs-$line.json.new"; status=1; }
	done
	python3 tools/bench/programs.py --out BENCHMARKS.md "$out"/programs-*.json || status=1
	exit $status
fi

if [ "$host" = 1 ] && [ "$only" != pool ]; then
	echo "bench: host run (hugetlb stand-in, native speed)"
	tmp=$(mktemp -d)
	# 2M first, with all the memory there is (and the 4K cases).
	sel=()
	[ -n "$only" ] && sel=(--only "$only")
	"$bench" --json "${quick[@]}" "${sel[@]}" --pin-max "${BENCH_PIN_MAX:-16G}" --device hugetlb:2M \
		>"$tmp/2m.json" || status=1
	# 1G pages must be taken before memory fragments further: as many as
	# the large pin wants (the kernel may give fewer; the tool pins less).
	hp1g=/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages
	if [ "$(id -u)" -eq 0 ] && [ -w "$hp1g" ]; then
		restore_hp=$(cat "$hp1g")
		want=$(( $(numfmt --from=iec "${BENCH_PIN_MAX:-16G}") >> 30 ))
		echo 1 >/proc/sys/vm/compact_memory 2>/dev/null || true
		echo $((restore_hp + want + 1)) >"$hp1g" 2>/dev/null || true
		echo "bench: 1G huge pages reserved: $(cat "$hp1g")"
		trap 'echo "$restore_hp" >"$hp1g" 2>/dev/null' EXIT
	fi
	"$bench" --json "${quick[@]}" "${sel[@]}" --pin-max "${BENCH_PIN_MAX:-16G}" --no-4k --device hugetlb:1G \
		>"$tmp/1g.json" || status=1
	if [ -n "${restore_hp:-}" ]; then
		echo "$restore_hp" >"$hp1g" 2>/dev/null
		trap - EXIT
	fi
	if [ $status = 0 ] && [ -n "$only" ]; then
		merge "$tmp/new.json" "$tmp/2m.json" "$tmp/1g.json" &&
			replace_metrics "$out/host.json" "$tmp/new.json" "$only" || status=1
	elif [ $status = 0 ]; then
		merge "$out/host.json" "$tmp/2m.json" "$tmp/1g.json" || status=1
	else
		echo "bench: host run failed" >&2
	fi
	rm -rf "$tmp"
fi

if [ "$host" = 1 ] && { [ -z "$only" ] || [[ ",$only," == *,alloc,* || $only == pool ]]; }; then
	echo "bench: pool engine at many regions held (test device)"
	build/tools/daxalloc-pool-bench --json $([ ${#quick[@]} -gt 0 ] && echo --regions 0,1000 --repeat 1 || echo --repeat 12) \
		>"$out/pool.json.new" && mv "$out/pool.json.new" "$out/pool.json" ||
		{ echo "bench: pool engine run failed" >&2; rm -f "$out/pool.json.new"; status=1; }
fi

if [ "$host" = 1 ] && [ -z "$only" ]; then
	echo "bench: heap (daxalloc heap, glibc, memkind) on the stand-in"
	build/tools/daxalloc-heap-bench --json --device hugetlb:2M:1G \
		$([ ${#quick[@]} -gt 0 ] && echo --rounds 5 --slot-ms 1) >"$out/heap.json.new" &&
		mv "$out/heap.json.new" "$out/heap.json" ||
		{ echo "bench: heap run failed" >&2; rm -f "$out/heap.json.new"; status=1; }
fi

if [ "$guest" = 1 ]; then
	echo "bench: guest run (real device-dax, emulated CPU: ratios only)"
	flock /tmp/daxalloc-guest-run.lock tests/guest/guest.sh --timeout 1200 -- \
		tools/bench.sh --in-guest "$root/$out/guest.json.new" "${quick[@]}" &&
		mv "$out/guest.json.new" "$out/guest.json" ||
		{ echo "bench: guest run failed" >&2; rm -f "$out/guest.json.new"; status=1; }
fi

# The exact command, for the report; arguments only as given.
cmd="tools/bench.sh"
[ ${#quick[@]} -gt 0 ] && cmd+=" --quick"
[ "$host" = 0 ] && cmd+=" --guest-only"
[ "$guest" = 0 ] && [ -z "$only" ] && cmd+=" --host-only"
[ -n "$only" ] && cmd+=" --only $only"
python3 tools/bench/report.py --command "$cmd" --out BENCHMARKS.md --plots "$out" \
	"$out/host.json" "$out/guest.json" || status=1
exit $status
