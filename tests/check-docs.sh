#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The manual pages must keep up with the code: every subcommand and option
# that `daxalloc-ctl help` shows has an entry in daxalloc-ctl.1.scd, whose
# synopsis lines for the command show exactly the options of its table;
# the bash completion beside it knows every option that takes a value; and
# every function the library exports is described in libdaxalloc.3.scd.
#
#   check-docs.sh DAXALLOC_CTL CTL_SCD MAP LIB_SCD
set -eu

if [ $# -ne 4 ]; then
	echo "usage: $0 DAXALLOC_CTL CTL_SCD MAP LIB_SCD" >&2
	exit 2
fi
ctl=$1 ctl_scd=$2 map=$3 lib_scd=$4
completion=$(dirname "$ctl_scd")/daxalloc-ctl.bash-completion
missing=0 n=0

commands=$("$ctl" help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
for c in $commands; do
	n=$((n + 1))
	# An entry starts a line with the command in bold: "*map* [_DEV_] ..."
	if ! grep -q "^\*$c\*" "$ctl_scd"; then
		echo "check-docs: $(basename "$ctl_scd"): no entry for the command '$c'"
		missing=$((missing + 1))
	fi
	usage=$("$ctl" help "$c" | head -n 1)
	table=$(printf '%s\n' "$usage" | grep -oE -- '--[a-z-]+' | sort -u)
	for o in $table; do
		n=$((n + 1))
		if ! grep -qF -- "*$o*" "$ctl_scd"; then
			echo "check-docs: $(basename "$ctl_scd"): '$c $o' is not described"
			missing=$((missing + 1))
		fi
	done
	# The command's synopsis lines against its usage, both ways.
	synopsis=$(grep -E "^\*$c\*( |$)" "$ctl_scd" | grep -oE -- '\*--[a-z-]+\*' | tr -d '*' | sort -u)
	for o in $(printf '%s\n%s\n' "$synopsis" "$table" | grep . | sort | uniq -u); do
		n=$((n + 1))
		echo "check-docs: $(basename "$ctl_scd"): the synopsis of '$c' and its usage differ in $o"
		missing=$((missing + 1))
	done
	# An option with a value ("--size SIZE") has a case in the completion.
	for o in $(printf '%s\n' "$usage" | grep -oE -- '--[a-z-]+ [^-[ ]' | cut -d' ' -f1 | sort -u); do
		n=$((n + 1))
		if ! grep -qE -- "^[[:space:]]*(--[a-z-]+ \| )*$o( \| --[a-z-]+)*\)" "$completion"; then
			echo "check-docs: $(basename "$completion"): no values for '$c $o'"
			missing=$((missing + 1))
		fi
	done
done

# The completion offers values for no option that no command takes.
for o in $(grep -E '^[[:space:]]*--[a-z-]+( \| --[a-z-]+)*\)' "$completion" | grep -oE -- '--[a-z-]+'); do
	n=$((n + 1))
	if ! "$ctl" help | grep -qE -- "$o( |\]|\||$)"; then
		echo "check-docs: $(basename "$completion"): values for $o, which no command takes"
		missing=$((missing + 1))
	fi
done

for f in $(grep -oE '^[[:space:]]*daxalloc_[a-z0-9_]+;' "$map" | tr -d ' \t;'); do
	n=$((n + 1))
	if ! grep -q "$f(" "$lib_scd"; then
		echo "check-docs: $(basename "$lib_scd"): $f() is not described"
		missing=$((missing + 1))
	fi
done

if [ $missing -gt 0 ]; then
	echo "check-docs: $missing of $n commands, options and functions undocumented"
	exit 1
fi
echo "check-docs: $n commands, options and functions documented"
