#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What a new user does, checked step by step: build the Debian packages from
# this tree, install them, build an example against the installed header with
# pkg-config and run it on the hugetlb stand-in, read the manual pages, find
# the bash completion; then remove the packages again.
#
#   tests/install-test.sh [OUT_DIR]        (default: build-install)
#
# Builds in a copy of the tree (OUT_DIR/src), so the checkout stays clean.
# Needs root (apt-get install, huge pages). Build dependencies and the tools
# the checks use (lintian, man-db, bash-completion) are installed when
# missing and stay, like tools/setup.sh's; the three packages, and anything
# installing them pulled in, are removed at the end.  Packages of ours found
# installed are saved with dpkg-repack first and put back at the end.
#
# Writes OUT_DIR/tests/results/install-test.json (case counts) and
# OUT_DIR/meson-logs/testlog.json (a meson-style line) for
# tests/summarize.py, and ends with "install-test: N passed, N failed, N skipped".
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
root=$PWD
out=${1:-build-install}
mkdir -p "$out"
out=$(cd "$out" && pwd)
logs=$out/logs
src=$out/src
PKGS=(libdaxalloc0 libdaxalloc-dev daxalloc-tools)
export DEBIAN_FRONTEND=noninteractive

rm -rf "$logs" "$out/tests/results" "$out/meson-logs"
mkdir -p "$logs" "$out/tests/results" "$out/meson-logs"

passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); echo "  PASS $1"; }
fail() { failed=$((failed + 1)); echo "  FAIL $1"; }

finish() {	# RESULT
	printf '{"passed": %d, "failed": %d, "errored": 0, "skipped": %d}\n' \
		"$passed" "$failed" "$skipped" >"$out/tests/results/install-test.json"
	printf '{"name": "install-test", "result": "%s"}\n' "$1" >"$out/meson-logs/testlog.json"
	echo "install-test: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}

skip() {	# REASON
	echo "install-test: skipped: $1"
	skipped=1
	finish SKIP
}

installed() {	# PACKAGE: true if installed
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

installed_list() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 ~ /^.i/ { print $2 }' | sort
}

apt_install() {	# PACKAGE...: install what is missing, quietly
	local missing=() p
	for p in "$@"; do
		installed "$p" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	echo "install-test: installing ${missing[*]}"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$logs/apt.log" 2>&1 ||
		{ apt-get update -qq >>"$logs/apt.log" 2>&1 &&
		  apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$logs/apt.log" 2>&1; }
}

[ -z "${DAXALLOC_TEST_NO_INSTALL:-}" ] || skip "DAXALLOC_TEST_NO_INSTALL is set"
[ -z "${DAXALLOC_TEST_QUICK:-}" ] || skip "DAXALLOC_TEST_QUICK is set"
[ "$(id -u)" -eq 0 ] || skip "needs root (apt-get install, huge pages)"
command -v apt-get >/dev/null || skip "not a Debian system (no apt-get)"

# Packages of ours installed already (an earlier install, a user's): saved
# as .debs first and put back at the end, so the test always runs and leaves
# the machine as it found it.
saved=$out/saved
rm -rf "$saved"
mkdir -p "$saved"
preinstalled=()
for p in "${PKGS[@]}"; do
	installed "$p" && preinstalled+=("$p")
done
versions() {	# the versions of our packages as installed now
	dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n' "${PKGS[@]}" 2>/dev/null |
		awk '$3 ~ /^.i/ { print $1, $2 }'
}
if ((${#preinstalled[@]})); then
	apt_install dpkg-repack
	if (cd "$saved" && dpkg-repack "${preinstalled[@]}") >"$logs/repack.log" 2>&1; then
		versions >"$saved/versions"
		pass "saved the installed ${preinstalled[*]} ($(tr '\n' ' ' <"$saved/versions"| sed 's/ $//')) to put back afterwards"
	else
		fail "dpkg-repack ${preinstalled[*]} (see $logs/repack.log): not touching an installed version we cannot restore"
		finish FAIL
	fi
fi

echo "== install-test: Debian packages, installed and used ($out)"

# The tree as it is, uncommitted changes included; build output stays out.
rm -rf "$src"
mkdir -p "$src/libdaxalloc"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$root" ls-files -z -co --exclude-standard |
		(cd "$root" && xargs -0 cp --parents -t "$src/libdaxalloc") 2>>"$logs/copy.log"
else
	tar -C "$root" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$src/libdaxalloc" -xf -
fi
[ -f "$src/libdaxalloc/debian/control" ] || { fail "copy of the tree (see $logs/copy.log)"; finish FAIL; }

apt_install dpkg-dev lintian man-db bash-completion gcc libc6-dev pkgconf
if (cd "$src/libdaxalloc" && dpkg-checkbuilddeps) >/dev/null 2>&1 ||
   (cd "$src/libdaxalloc" && { apt-get build-dep -y -qq ./ || { apt-get update -qq &&
	apt-get build-dep -y -qq ./; }; }) >>"$logs/apt.log" 2>&1; then
	pass "build dependencies from debian/control"
else
	fail "build dependencies (see $logs/apt.log)"
	finish FAIL
fi

if (cd "$src/libdaxalloc" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$logs/build.log" 2>&1; then
	pass "dpkg-buildpackage -us -uc -b: $(cd "$src" && echo *.deb)"
else
	fail "dpkg-buildpackage (last lines of $logs/build.log below)"
	tail -n 20 "$logs/build.log" | sed 's/^/    /'
	finish FAIL
fi

changes=$(ls "$src"/libdaxalloc_*.changes)
lintian --fail-on error --display-info --pedantic "$changes" >"$logs/lintian.log" 2>&1
rc=$?
summary=$(grep -oE '^[EWIPX]:' "$logs/lintian.log" | sort | uniq -c | awk '{ printf " %s %s", $1, $2 }')
if [ $rc -eq 0 ]; then
	pass "lintian --pedantic ${changes##*/}: no errors (tags:${summary:- none})"
else
	fail "lintian (exit $rc):"
	sed 's/^/    /' "$logs/lintian.log"
fi
sed -n '/^[EW]:/s/^/    /p' "$logs/lintian.log"

before=$(installed_list)
cleanup() {
	local p now extra
	userdel daxalloc-install-test 2>/dev/null
	apt-get purge -y -qq "${PKGS[@]}" >>"$logs/apt.log" 2>&1
	now=$(installed_list)
	extra=$(comm -13 <(echo "$before") <(echo "$now"))
	[ -z "$extra" ] || apt-get purge -y -qq $extra >>"$logs/apt.log" 2>&1
	if ((${#preinstalled[@]})); then
		apt-get install -y -qq --allow-downgrades "$saved"/*.deb >>"$logs/apt.log" 2>&1
	fi
}
trap cleanup EXIT

# A package of ours at the same version would make apt skip the new build.
if ((${#preinstalled[@]})); then
	apt-get purge -y -qq "${preinstalled[@]}" >>"$logs/apt.log" 2>&1
fi
debs=()
for p in "${PKGS[@]}"; do
	debs+=("$(ls "$src/${p}_"*.deb)")
done
if apt-get install -y -qq "${debs[@]}" >>"$logs/apt.log" 2>&1; then
	pass "apt-get install ${debs[*]##*/}"
else
	fail "apt-get install (see $logs/apt.log)"
	finish FAIL
fi

# As a new user would: every installed example, built with the line at its
# top, against the installed header and pkg-config.
work=$(mktemp -d)
chmod 755 "$work"
exdir=/usr/share/doc/libdaxalloc-dev/examples
built=()
for f in "$exdir"/*.c "$exdir"/*.c.gz; do
	[ -e "$f" ] || continue
	name=$(basename "${f%.gz}")
	case $f in *.gz) zcat "$f" >"$work/$name" ;; *) cp "$f" "$work/$name" ;; esac
	line=$(sed -n 's/^ \* Build: //p' "$work/$name")
	if [ -n "$line" ] && (cd "$work" && bash -c "$line" && ldd "./${name%.c}") >"$logs/cc-$name.log" 2>&1 &&
	   grep -qE '=> (/usr)?/lib/[^ ]*/libdaxalloc\.so\.0 ' "$logs/cc-$name.log"; then
		built+=("${name%.c}")
	else
		fail "$name: its build line '${line:-none}' against the installed package (see $logs/cc-$name.log)"
	fi
done
if ((${#built[@]} == 5)); then
	pass "the 5 installed examples build with their own build lines and link the installed libdaxalloc.so.0: ${built[*]}"
else
	fail "examples built from the installed package: ${built[*]:-none} (5 expected)"
fi

if [ -x "$work/map-region" ] && run=$(cd "$work" && ./map-region hugetlb:2M:4M 2>&1) &&
   grep -q 'kernel page size 2097152 (stand-in)' <<<"$run"; then
	pass "map-region hugetlb:2M:4M: $run"
else
	fail "map-region hugetlb:2M:4M: ${run:-did not run}"
fi

# A service's user: not root, in the daxalloc group the package made.  The
# stand-in's 2M pages must be free ones (only root may take surplus pages).
user=daxalloc-install-test
hp=/proc/sys/vm/nr_hugepages
hp_before=$(cat "$hp")
userdel "$user" 2>/dev/null
if getent group daxalloc >/dev/null &&
   useradd --system --no-create-home --shell /usr/sbin/nologin -G daxalloc "$user" 2>>"$logs/user.log"; then
	echo $((hp_before + 16)) >"$hp"
	as_user() { (cd "$work" && runuser -u "$user" -- "$@"); }
	if res=$(as_user daxalloc-ctl list 2>&1) && grep -q 'default device' <<<"$res" &&
	   info=$(as_user daxalloc-ctl info hugetlb:2M:4M 2>&1); then
		pass "as $user (groups: $(id -Gn "$user" | tr ' ' ,)): daxalloc-ctl list and info hugetlb:2M:4M"
	else
		fail "as $user: list/info: $res $info"
	fi
	if [ -x "$work/uring-fixed" ] && res=$(TMPDIR=/tmp as_user ./uring-fixed 2>&1) &&
	   grep -q 'recorded in the pin ledger' <<<"$res" && grep -q 'verified' <<<"$res"; then
		pass "as $user: uring-fixed pins a stand-in region for io_uring, recorded in the pin ledger: $(grep ledger <<<"$res")"
	else
		fail "as $user: uring-fixed: ${res:-did not run}"
	fi
	echo "$hp_before" >"$hp"
	userdel "$user" 2>>"$logs/user.log"
else
	fail "a user in the daxalloc group (group: $(getent group daxalloc || echo missing); see $logs/user.log)"
fi
rm -rf "$work"

# RDMA and io_uring are found at run time: the library package pulls
# neither libibverbs nor liburing (it suggests them).
deps=$(dpkg-query -W -f='${Depends}' libdaxalloc0 2>&1)
needed=$(ldd "$(ls /usr/lib/*/libdaxalloc.so.0)" 2>&1)
for lib in libibverbs liburing; do
	if ! grep -q "$lib" <<<"$deps" && ! grep -q "$lib" <<<"$needed"; then
		pass "libdaxalloc0 neither depends on nor links $lib (Depends: $deps)"
	else
		fail "libdaxalloc0 pulls $lib: Depends: $deps; ldd: $(grep "$lib" <<<"$needed" | xargs)"
	fi
done

man1=$(man -w daxalloc-ctl 2>&1)
man3=$(man -w 3 libdaxalloc 2>&1)
if [ "$man1" = /usr/share/man/man1/daxalloc-ctl.1.gz ] &&
   [ "$man3" = /usr/share/man/man3/libdaxalloc.3.gz ] &&
   MANWIDTH=80 man daxalloc-ctl 2>/dev/null | grep -q 'EXIT STATUS'; then
	pass "man -w daxalloc-ctl: $man1; man -w 3 libdaxalloc: $man3"
else
	fail "manual pages: man -w daxalloc-ctl: $man1; man -w 3 libdaxalloc: $man3"
fi

# Every subcommand of the installed program has its entry in its manual page.
page=$(MANWIDTH=200 man daxalloc-ctl 2>/dev/null)
undocumented=()
for c in $(daxalloc-ctl help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p'); do
	grep -qE "^ {7}$c( |$)" <<<"$page" || undocumented+=("$c")
done
if ((${#undocumented[@]} == 0)); then
	pass "every subcommand of 'daxalloc-ctl help' has an entry in daxalloc-ctl(1)"
else
	fail "subcommands missing from daxalloc-ctl(1): ${undocumented[*]}"
fi

compdir=$(pkg-config --variable=completionsdir bash-completion 2>/dev/null)
comp=${compdir:-/usr/share/bash-completion/completions}/daxalloc-ctl
words=$(bash -c 'source /usr/share/bash-completion/bash_completion 2>/dev/null
	source "$1" && COMP_WORDS=(daxalloc-ctl ma) COMP_CWORD=1 COMP_LINE="daxalloc-ctl ma" COMP_POINT=15 &&
	_daxalloc_ctl &&
	echo "${COMPREPLY[*]}"' _ "$comp" 2>&1)
if [ -f "$comp" ] && [ "$words" = map ]; then
	pass "bash completion: $comp ('daxalloc-ctl ma<TAB>' gives '$words')"
else
	fail "bash completion: $comp (present: $([ -f "$comp" ] && echo yes || echo no); 'ma<TAB>' gave '$words')"
fi

want=$(sed -n '1s/^[^(]*(\([^-)]*\).*/\1/p' "$src/libdaxalloc/debian/changelog")
version=$(/usr/bin/daxalloc-ctl --version 2>&1)
if [ "$version" = "daxalloc-ctl $want" ]; then
	pass "daxalloc-ctl --version: $version"
else
	fail "daxalloc-ctl --version: '$version', expected 'daxalloc-ctl $want'"
fi

trap - EXIT
cleanup
now=$(installed_list)
if ((${#preinstalled[@]})); then
	if [ "$now" = "$before" ] && [ "$(versions)" = "$(cat "$saved/versions")" ]; then
		pass "put back: ${preinstalled[*]} at the versions found, the installed packages as before"
	else
		fail "restoring the packages found installed: now '$(versions | tr '\n' ' ')', were '$(tr '\n' ' ' <"$saved/versions")' $(comm -3 <(echo "$before") <(echo "$now") | tr '\n' ' ')"
	fi
else
	left=()
	for p in "${PKGS[@]}"; do
		installed "$p" && left+=("$p")
	done
	if ((${#left[@]} == 0)) && [ "$now" = "$before" ]; then
		pass "removed again: the installed packages are as before"
	else
		fail "removal: still installed: ${left[*]} $(comm -13 <(echo "$before") <(echo "$now") | tr '\n' ' ')"
	fi
fi

[ "$failed" -eq 0 ] && finish OK
finish FAIL
