#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs in the test guest: times pinning 1 GiB with each consumer the kernel
# offers (VFIO type1, RDMA on soft-RoCE, io_uring) on device-dax at 4K, 2M
# and 1G and on hugetlb 2M pages, through `daxalloc-ctl vmemmap --measure`
# (best of 9 per cell), and prints one Markdown table row per consumer with
# the pin path each run finds. For BENCHMARKS.md:
#   tests/guest/guest.sh --kernel 6.1|6.12|newest -- tests/guest/pin-paths.sh build
set -uo pipefail

build=${1:?usage: pin-paths.sh BUILD_DIR}
ctl=$build/tools/daxalloc-ctl
dev=$(awk -F'\t' '$1 == "recfgdyn" { print $3 }' "${DAXALLOC_GUEST_DEVICES:?not in the guest}")
consumers=()
[ -n "${DAXALLOC_GUEST_VFIO_GROUP:-}" ] && consumers+=("vfio:$DAXALLOC_GUEST_VFIO_GROUP")
[ -n "${DAXALLOC_GUEST_RDMA_DEV:-}" ] && consumers+=("rdma:$DAXALLOC_GUEST_RDMA_DEV")
consumers+=(io_uring)
echo "| kernel | consumer | devdax 4K | devdax 2M | devdax 1G | hugetlb 2M | 2M / 4K | 2M / hugetlb | pin path found |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
for c in "${consumers[@]}"; do
	out=$("$ctl" vmemmap "$dev" --measure --cycles 1 --pin-with "$c" --json 2>&1)
	python3 - "$(uname -r)" "${c%%:*}" "$out" <<'PY'
import json, sys
rel, cons, out = sys.argv[1:4]
try:
    t = json.loads(out)["targets"][0]["pin_path"]
except Exception:
    print(f"| {rel} | {cons} | – | – | – | – | – | – | {out.strip().splitlines()[-1][:160]} |")
    sys.exit()
ms = lambda k: f"{t[k] / 1e6:.1f} ms" if t.get(k) else "–"
ratio = lambda a, b: f"{t[a] / t[b]:.2f}" if t.get(a) and t.get(b) else "–"
# no times: the consumer's refusal (io_uring before 6.5) says why
found = t["verdict"] if t.get("ns_4k") or t.get("ns_2m") else t["how"][:160]
print(f"| {rel} | {cons} | {ms('ns_4k')} | {ms('ns_2m')} | {ms('ns_1g')} | {ms('ns_hugetlb_2m')} "
      f"| {ratio('ns_2m', 'ns_4k')} | {ratio('ns_2m', 'ns_hugetlb_2m')} | {found} |")
PY
done
