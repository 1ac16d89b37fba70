#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job: install, build, list the devices, and map a 1G region of
# the default device (a real device-dax device if there is one, else the
# hugetlb stand-in, which says so) at its alignment, read every page and
# check the kernel's page size.  Read-only: the default device may hold
# someone's pool or persistent data, and this destroys nothing.
set -euo pipefail

cd "$(dirname "$0")/.."
tools/setup.sh
echo
build/tools/daxalloc-ctl list
echo
build/tools/daxalloc-ctl map --size 1G --read-only
