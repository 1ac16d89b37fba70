#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs in the test guest: pins and unpins 1 GiB with each consumer the kernel
# offers (VFIO type1, RDMA on soft-RoCE, io_uring, and iommufd with the edu
# device attached through its VFIO cdev where the kernel has iommufd: the
# 6.12-iommufd kernel), through daxalloc_pin /
# daxalloc_unpin and through the consumer's own call, on device-dax at 4K, 2M
# and 1G and on hugetlb 2M and 1G pages (daxalloc-bench --only pin, one run
# per kind of memory), then asks daxalloc-ctl's pin-path probe
# (daxalloc-ctl vmemmap --measure --pin-with) which path each consumer takes.
# Writes one JSON document to OUT; tools/bench/report.py makes the
# "Pin path per kernel" section of BENCHMARKS.md from it.
#   tests/guest/guest.sh --kernel 6.1|6.12|6.12-iommufd|newest -- \
#       tests/guest/pin-paths.sh build tools/bench/pin-paths-LINE.json
# $PIN_PATHS_ITERATIONS (default 5): runs per value, the best is kept.
set -uo pipefail

build=${1:?usage: pin-paths.sh BUILD_DIR OUT.json}
out=${2:?usage: pin-paths.sh BUILD_DIR OUT.json}
ctl=$build/tools/daxalloc-ctl
bench=$build/tools/daxalloc-bench
table=${DAXALLOC_GUEST_DEVICES:?not in the guest}
dev() { awk -F'\t' -v l="$1" '$1 == l { print $4 }' "$table"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The guest reserves one 1G page at boot; the 1G stand-in wants one more
# (its metadata). Ask for it; whatever the kernel gives, the run says.
hp1g=/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages
[ -w "$hp1g" ] && echo 2 >"$hp1g" 2>/dev/null
pages_1g=$(cat "$hp1g" 2>/dev/null || echo 0)

args=(--json --only pin --no-held --no-4k --format --pin-max 1G
      --iterations "${PIN_PATHS_ITERATIONS:-5}")
consumers=(io_uring)
if [ -n "${DAXALLOC_GUEST_VFIO_GROUP:-}" ]; then
	args+=(--vfio-group "$DAXALLOC_GUEST_VFIO_GROUP")
	consumers+=("vfio:$DAXALLOC_GUEST_VFIO_GROUP")
fi
if [ -n "${DAXALLOC_GUEST_RDMA_DEV:-}" ]; then
	args+=(--rdma "$DAXALLOC_GUEST_RDMA_DEV")
	consumers+=("rdma:$DAXALLOC_GUEST_RDMA_DEV")
fi
# iommufd: pinned (no probe: it pins through the three above).
if [ -c /dev/iommu ] && [ -n "${DAXALLOC_GUEST_VFIO_CDEV:-}" ]; then
	args+=(--iommufd-cdev "$DAXALLOC_GUEST_VFIO_CDEV")
fi

# memory kind, what daxalloc-bench is given
mems=("devdax 4K	$(dev recfgns)" "devdax 2M	$(dev static2m)" "devdax 1G	$(dev static1g)"
      "hugetlb 2M	hugetlb:2M" "hugetlb 1G	hugetlb:1G")
i=0
for m in "${mems[@]}"; do
	i=$((i + 1))
	printf '%s\n' "$m" >"$tmp/mem$i.name"
	echo "pin-paths: ${m%%	*} (${m#*	})" >&2
	"$bench" "${args[@]}" --device "${m#*	}" >"$tmp/mem$i.json" 2>"$tmp/mem$i.err"
	echo $? >"$tmp/mem$i.rc"
done

# The probe: the same consumer on one device realigned to 4K, 2M and 1G,
# and on hugetlb 2M pages; its verdict is the pin path the library reports.
probe=$(dev recfgdyn)
i=0
for c in "${consumers[@]}"; do
	i=$((i + 1))
	echo "pin-paths: probe with ${c%%:*} on $probe" >&2
	printf '%s\n' "$c" >"$tmp/probe$i.name"
	"$ctl" vmemmap "$probe" --measure --cycles 1 --pin-with "$c" --json \
		>"$tmp/probe$i.json" 2>"$tmp/probe$i.err"
	echo $? >"$tmp/probe$i.rc"
done

# iommufd: whether this kernel has it at all (no Debian kernel builds it).
kroot=${DAXALLOC_GUEST_KERNEL_ROOT:-}
iommufd_mod=$(find "$kroot/lib/modules/$(uname -r)" -name 'iommufd.ko*' 2>/dev/null | head -n 1)
[ -n "$kroot" ] && modprobe -q -d "$kroot" iommufd 2>/dev/null
iommufd_config=$(grep -h 'CONFIG_IOMMUFD[= ]' "$kroot/boot/config-$(uname -r)" 2>/dev/null)
[ -c /dev/iommu ] && iommufd_dev=1 || iommufd_dev=0

python3 - "$tmp" "$out" "$(uname -r)" "$iommufd_dev" "$iommufd_mod" "$iommufd_config" "$pages_1g" <<'PY'
import glob, json, os, sys
tmp, out, release, iommufd_dev, iommufd_mod, iommufd_config, pages_1g = sys.argv[1:8]

def run(stem):
    """One tool run: its JSON, or its exit status and last words."""
    rc = int(open(stem + ".rc").read())
    err = open(stem + ".err").read().strip().splitlines()
    try:
        doc = json.load(open(stem + ".json"))
    except ValueError:
        doc = None
    return {"exit": rc, "stderr_tail": err[-5:], "result": doc}

def runs(kind):
    n = len(glob.glob(os.path.join(tmp, kind + "*.name")))
    for i in range(1, n + 1):
        stem = os.path.join(tmp, f"{kind}{i}")
        yield open(stem + ".name").read().rstrip("\n"), run(stem)

memory = []
for name, r in runs("mem"):
    label, device = name.split("\t")
    memory.append(dict(memory=label, device=device, **r))
probes = []
for spec, r in runs("probe"):
    probes.append(dict(consumer=spec.split(":")[0], spec=spec, **r))
bench = next((m["result"] for m in memory if m["result"]), None) or {}
doc = {
    "release": release,
    "machine": bench.get("machine"),
    "length": 1 << 30,
    "hugepages_1g": int(pages_1g),
    "memory": memory,
    "probe": probes,
    "iommufd": {"dev_iommu": iommufd_dev == "1",
                "module": os.path.basename(iommufd_mod) or None,
                "config": iommufd_config or None},
}
with open(out, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print(f"pin-paths: wrote {out}", file=sys.stderr)
PY
