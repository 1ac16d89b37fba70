#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The library must keep the ABI of the previous release: builds that
# release's libdaxalloc.so.0 from git history (with debug information, once
# per release commit: the build is kept under BUILD_DIR) and compares it with
# the built one using abidiff, counting only the types of the public headers
# (include/). Additions (new symbols, a new version node) pass; any
# incompatible change fails with abidiff's report, except the known ones
# listed in SUPPRESSIONS (none since 0.2: kept for a release that must
# carry a known change).
#
# Entry points kept for an older release (NAME@LIBDAXALLOC_0.1 beside
# NAME@@LIBDAXALLOC_0.2) are not compared by abidiff 2.2 with the
# release's NAME@@LIBDAXALLOC_0.1. So the release's types they keep, in
# libdaxalloc/compat-MAJOR.MINOR.h, are compared with the release's header
# on their own (a function per struct, built against each); and
# tests/unit/test-abi-0.1.c calls them as a program of the release does.
#
#   check-abi.sh SOURCE_DIR LIBRARY BUILD_DIR [SUPPRESSIONS]
#
# abidiff suppresses a whole type or function, not one change of it; so with
# SUPPRESSIONS, the report without them (no locations, no additions) must
# also be exactly SUPPRESSIONS with .suppr replaced by .known: a further
# change to a type or function already listed fails too.
#
# The previous release is the last commit whose debian/changelog starts with
# "libdaxalloc (PREV_VERSION-", PREV_VERSION below; DAXALLOC_ABI_BASE=COMMIT
# overrides it. Exits 77 (skipped, with the reason) outside a git checkout
# or without abidiff.
set -eu

PREV_VERSION=0.1.0

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	echo "usage: $0 SOURCE_DIR LIBRARY BUILD_DIR [SUPPRESSIONS]" >&2
	exit 2
fi
src=$1 lib=$2 build=$3 suppr=${4:-}

skip() {
	echo "check-abi: skipped: $*"
	exit 77
}

command -v abidiff >/dev/null 2>&1 || skip "abidiff not found (Debian package abigail-tools)"
command -v git >/dev/null 2>&1 || skip "git not found: the previous release is built from git history"
git -C "$src" rev-parse --verify -q HEAD >/dev/null 2>&1 ||
	skip "$src is not a git checkout: the previous release is built from git history"
readelf -S "$lib" 2>/dev/null | grep -q '\.debug_info' ||
	skip "$lib has no debug information (build type debug or debugoptimized)"

# The release commit: walk the commits that changed debian/changelog, newest
# first; the first whose changelog names PREV_VERSION was followed by the
# one that opened the next version: the release is that one's parent.
base=${DAXALLOC_ABI_BASE:-}
if [ -z "$base" ]; then
	next=
	for c in $(git -C "$src" log --format=%H -- debian/changelog); do
		if git -C "$src" show "$c:debian/changelog" 2>/dev/null | head -n1 |
			grep -q "^libdaxalloc ($PREV_VERSION-"; then
			base=${next:+$(git -C "$src" rev-parse "$next^")}
			base=${base:-$c}
			break
		fi
		next=$c
	done
	[ -n "$base" ] || skip "no commit with $PREV_VERSION in debian/changelog (shallow clone?)"
fi
base=$(git -C "$src" rev-parse --verify "$base^{commit}")

# Build the release's library once per commit; a half-done build is redone.
cache=$build/abi-base/$base
old=$cache/build/libdaxalloc/libdaxalloc.so.0
if [ ! -f "$cache/done" ]; then
	echo "check-abi: building $PREV_VERSION ($base) in $cache"
	rm -rf "$cache"
	mkdir -p "$cache/src"
	git -C "$src" archive "$base" | tar -x -C "$cache/src"
	# No optimisation: only the types and the exports matter here.
	meson setup "$cache/build" "$cache/src" -Dbuildtype=debug \
		-Dtests=disabled -Dexamples=false -Ddocs=disabled \
		-Ddevdax_guest=disabled >"$cache/setup.log" 2>&1 ||
		{ cat "$cache/setup.log"; echo "check-abi: could not configure $PREV_VERSION"; exit 1; }
	target=$(cd "$cache/build" && meson introspect --targets |
		python3 -c 'import json,sys; print(next(f for t in json.load(sys.stdin) if t["name"] == "daxalloc" and t["type"] == "shared library" for f in t["filename"]))')
	ninja -C "$cache/build" "$(realpath --relative-to="$cache/build" "$target")" >"$cache/build.log" 2>&1 ||
		{ cat "$cache/build.log"; echo "check-abi: could not build $PREV_VERSION"; exit 1; }
	touch "$cache/done"
fi

set -- --headers-dir1 "$cache/src/include" --headers-dir2 "$src/include"
if [ -n "$suppr" ]; then
	set -- "$@" --suppressions "$suppr"
fi
rc=0
abidiff "$@" "$old" "$lib" >"$cache/report" 2>&1 || rc=$?
cat "$cache/report"
# abidiff's exit status is a bit mask: 1 error, 2 usage error, 4 ABI change,
# 8 incompatible ABI change. Bit 8 is set only for removed symbols: a
# changed struct or a changed parameter of an existing function sets only
# bit 4, alongside additions. So any function or variable (or symbol
# without debug information) removed or changed fails too.
if [ $((rc & 3)) -ne 0 ]; then
	echo "check-abi: abidiff failed (exit status $rc)"
	exit 1
fi
changed=$(sed -n 's/^.*changes summary: \([0-9]*\) Removed\(, \([0-9]*\) Changed\)\{0,1\}.*/\1 \3/p' "$cache/report" |
	awk '{ n += $1 + $2 } END { print n + 0 }')
if [ $((rc & 8)) -ne 0 ] || [ "$changed" -ne 0 ]; then
	echo "check-abi: incompatible with $PREV_VERSION ($base): $changed removed or changed" \
		"functions, variables or symbols, see the report above; keeping such a change" \
		"needs a soname bump${suppr:+ (known changes: $suppr)}"
	exit 1
fi
if [ -n "$suppr" ]; then
	known=${suppr%.suppr}.known
	rc2=0
	abidiff --no-show-locs --no-added-syms --headers-dir1 "$cache/src/include" \
		--headers-dir2 "$src/include" "$old" "$lib" >"$cache/unsuppressed" 2>&1 || rc2=$?
	if [ $((rc2 & 3)) -ne 0 ]; then
		cat "$cache/unsuppressed"
		echo "check-abi: abidiff failed (exit status $rc2)"
		exit 1
	fi
	grep -v 'changes summary' "$cache/unsuppressed" >"$cache/unsuppressed.changes" || true
	# the .known file's comment lines (#) are not abidiff's
	grep -v '^#' "$known" >"$cache/known" || true
	if ! diff -u "$cache/known" "$cache/unsuppressed.changes"; then
		echo "check-abi: the known incompatible changes are no longer exactly those in $known" \
			"(diff above: - known, + now); a change resolved: drop it from both files;" \
			"a new change to a listed type or function: it is incompatible too"
		exit 1
	fi
fi
# The release's layouts kept for its entry points: exactly the release's.
compat=$src/libdaxalloc/compat-${PREV_VERSION%.*}.h
if [ -f "$compat" ]; then
	cc=${CC:-cc}
	types=$(sed -n 's/^struct \(daxalloc_[a-z0-9_]*\) {$/\1/p' "$compat")
	for side in release kept; do
		if [ $side = release ]; then
			echo "#include \"$(realpath "$cache/src/include/daxalloc.h")\""
		else
			echo "#include \"$(realpath "$compat")\""
		fi >"$cache/types-$side.c"
		for t in $types; do
			echo "void use_$t(struct $t *p) { (void)p; }"
		done >>"$cache/types-$side.c"
		"$cc" -g -shared -fPIC -o "$cache/types-$side.so" "$cache/types-$side.c" ||
			{ echo "check-abi: cannot build the $side types of $compat"; exit 1; }
	done
	rc3=0
	abidiff --no-show-locs "$cache/types-release.so" "$cache/types-kept.so" \
		>"$cache/types.report" 2>&1 || rc3=$?
	if [ $rc3 -ne 0 ]; then
		cat "$cache/types.report"
		echo "check-abi: $compat no longer holds $PREV_VERSION's types (report above):" \
			"programs of $PREV_VERSION get other layouts from its entry points"
		exit 1
	fi
	echo "check-abi: $(echo $types | wc -w) types kept for $PREV_VERSION's entry points are its own"
fi
if [ $((rc & 4)) -ne 0 ]; then
	echo "check-abi: compatible with $PREV_VERSION ($base): additions only${suppr:+ (known changes suppressed: $suppr)}"
else
	echo "check-abi: the same ABI as $PREV_VERSION ($base)"
fi
exit 0
