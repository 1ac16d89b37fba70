#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job: install, build, list the devices, and map and verify a 1G
# region on the default device (a real device-dax device if there is one,
# else the hugetlb stand-in, which says so).
set -euo pipefail

cd "$(dirname "$0")/.."
tools/setup.sh
echo
build/tools/daxalloc-ctl list
echo
build/tools/daxalloc-ctl map --size 1G
