#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The library's exports are listed in three places that must agree: the
# linker version script, the Debian symbols file (dpkg-gensymbols -c4 fails
# the package build on any difference) and, once built, the library's
# dynamic symbol table. Each exported function must also be declared in the
# public header. Prints what differs and the line to add where it is missing.
#
#   check-symbols.sh MAP SYMBOLS [LIBRARY [HEADER]]
set -eu

if [ $# -lt 2 ] || [ $# -gt 4 ]; then
	echo "usage: $0 MAP SYMBOLS [LIBRARY [HEADER]]" >&2
	exit 2
fi
map=$1 symbols=$2 lib=${3:-} header=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name@NODE for every global of every version node, and NODE@NODE for the
# node itself (the linker exports it as an absolute symbol).
sed -e 's,/\*.*\*/,,g' -e 's,#.*,,' "$map" | awk '
	/^[ \t]*[A-Za-z0-9_.]+[ \t]*\{/ { node = $1; sub(/\{.*/, "", node); scope = ""
		print node "@" node; next }
	/^[ \t]*global:/ { scope = "global"; next }
	/^[ \t]*local:/ { scope = "local"; next }
	/^[ \t]*\}/ { node = ""; scope = ""; next }
	node != "" && scope == "global" {
		for (i = 1; i <= NF; i++) { s = $i; gsub(/;/, "", s); if (s != "") print s "@" node }
	}' | sort -u >"$tmp/map"

# The entries of the symbols file: " name@NODE MINVER".
awk '/^ / { print $1 }' "$symbols" | sort -u >"$tmp/symbols"

status=0
report() {	# WHAT A B: lines of A missing from B
	comm -23 "$2" "$3" >"$tmp/diff"
	if [ -s "$tmp/diff" ]; then
		status=1
		echo "check-symbols: $1:"
		sed 's/^/  /' "$tmp/diff"
	fi
}

version=$(sed -n '1s/.*(\([^-)]*\).*/\1/p' "$(dirname "$symbols")/changelog" 2>/dev/null || true)
comm -23 "$tmp/map" "$tmp/symbols" >"$tmp/add"
if [ -s "$tmp/add" ]; then
	status=1
	echo "check-symbols: in $map, missing from $symbols; add:"
	sed "s/.*/  ' & ${version:-VERSION}'/" "$tmp/add"
fi
report "in $symbols, not exported by $map" "$tmp/symbols" "$tmp/map"

if [ -n "$lib" ]; then
	# "name@@NODE" (default version) or "name@NODE"; the node itself shows
	# up bare (type A) with older binutils.
	nm -D --defined-only "$lib" | awk '
		{ s = $3; if (s !~ /@/ && $2 == "A") s = s "@" s; sub(/@@/, "@", s); print s }' |
		sort -u >"$tmp/lib"
	report "exported by $lib, not in $map" "$tmp/lib" "$tmp/map"
	report "in $map, not exported by $lib (not defined in the sources?)" "$tmp/map" "$tmp/lib"
fi

if [ -n "$header" ]; then
	sed 's/@.*//' "$tmp/map" | grep -v '^[A-Z]' | while read -r name; do
		grep -qw "$name" "$header" || echo "$name"
	done >"$tmp/undeclared"
	if [ -s "$tmp/undeclared" ]; then
		status=1
		echo "check-symbols: exported but not declared in $header:"
		sed 's/^/  /' "$tmp/undeclared"
	fi
fi

n=$(wc -l <"$tmp/map")
if [ $status -eq 0 ]; then
	echo "check-symbols: $n symbols agree: $(basename "$map"), $(basename "$symbols")${lib:+, $(basename "$lib")}${header:+, $(basename "$header")}"
fi
exit $status
