#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The C sources git tracks (.c and .h) are laid out as .clang-format says:
# clang-format --dry-run --Werror over each, any difference fails with
# clang-format's own report of the file and line. To lay a file out:
# clang-format -i FILE (or git clang-format for the lines a change touches).
#   check-format.sh SOURCE_DIR
# Exits 77 (skipped, with the reason) without clang-format (Debian package
# clang-format) or outside a git checkout.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 SOURCE_DIR" >&2
	exit 2
fi
src=$1

skip() {
	echo "check-format: skipped: $*"
	exit 77
}

command -v clang-format >/dev/null 2>&1 || skip "clang-format not found (Debian package clang-format)"
command -v git >/dev/null 2>&1 || skip "git not found: the files checked are those git tracks"
git -C "$src" rev-parse --verify -q HEAD >/dev/null 2>&1 ||
	skip "$src is not a git checkout: the files checked are those git tracks"

cd "$src"
files=$(git ls-files -- '*.c' '*.h')
[ -n "$files" ] || { echo "check-format: git tracks no C files in $src"; exit 1; }
# shellcheck disable=SC2086 # the file names have no spaces
if ! clang-format --dry-run --Werror $files; then
	echo "check-format: not laid out as .clang-format says (above);" \
		"run 'clang-format -i FILE' on each file named, or 'git clang-format'"
	exit 1
fi
echo "check-format: $(echo "$files" | wc -l) files laid out as .clang-format says ($(clang-format --version))"
