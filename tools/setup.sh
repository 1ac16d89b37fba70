#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install what libdaxalloc needs on Debian 12, then configure and build it
# in ./build.  Safe to run again: it installs only what is missing.
set -euo pipefail

cd "$(dirname "$0")/.."

PKGS=(meson ninja-build pkg-config gcc libc6-dev python3
      libdaxctl-dev libndctl-dev libpmem2-dev libjson-c-dev libcriterion-dev
      liburing-dev libibverbs-dev scdoc libmemkind-dev
      libtbb-dev redis-server redis-tools memcached libmemcached-tools # the heap: its allocator, programs run on it
      abigail-tools # abidiff: the ABI check against the previous release
      clang-format) # check-format: the layout of the C sources

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "setup: installing ${missing[*]}"
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

if [ ! -f build/build.ninja ]; then
	meson setup build "$@" >/dev/null
elif [ $# -gt 0 ]; then
	meson configure build "$@" >/dev/null
fi
ninja -C build >/dev/null
echo "setup: built in ./build"
