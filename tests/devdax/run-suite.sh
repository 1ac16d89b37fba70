#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs inside the devdax guest: every device test binary, each writing its
# Criterion JSON report as results/devdax.NAME.json for the host's summary.
# Exit status: 0 only if every binary passed.
set -uo pipefail

build=${1:?usage: run-suite.sh BUILD_DIR}
results=$build/tests/results
mkdir -p "$results"
export DAXALLOC_CTL=$build/tools/daxalloc-ctl
status=0
for name in devdax vfio cli; do
	bin=$build/tests/test-guest-$name
	[ "$name" = cli ] && bin=$build/tests/test-cli
	echo "=== $name ($(basename "$bin"))"
	"$bin" --verbose=1 --json="$results/devdax.$name.json" || status=1
done
exit $status
