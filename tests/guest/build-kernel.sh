#!/bin/bash
# Builds the guest kernel of the 6.12-iommufd line: Debian's linux-source-6.12
# with iommufd and the VFIO device cdev on, which no Debian kernel enables.
# x86_64_defconfig plus iommufd-kernel.config (the guest's drivers), built
# under nice, installed into the cache like an unpacked Debian kernel
# (boot/vmlinux-KVER, lib/modules/KVER with its indexes). Prints KVER=... on
# stdout; everything else goes to stderr.
#
#   build-kernel.sh [--jobs N]      (default $DAXALLOC_KERNEL_JOBS or nproc)
#
# Cached: the result is kept in $cache/kernel-KVER and reused while the
# source package's version and the config fragment are the same; the build
# tree ($cache/kbuild-6.12-iommufd, about 2 GB) is kept so a changed
# fragment rebuilds only what changed.
#
# Cache: ${DAXALLOC_GUEST_CACHE:-$HOME/.cache/libdaxalloc-guest}
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${DAXALLOC_GUEST_CACHE:-$HOME/.cache/libdaxalloc-guest}
jobs=${DAXALLOC_KERNEL_JOBS:-$(nproc)}
while [ $# -gt 0 ]; do
    case $1 in
        --jobs) jobs=${2:?}; shift 2 ;;
        *) echo "usage: build-kernel.sh [--jobs N]" >&2; exit 2 ;;
    esac
done
line=6.12-iommufd
src_pkg=linux-source-6.12
fragment=$here/iommufd-kernel.config

log() { echo "build-kernel: $*" >&2; }
die() { echo "build-kernel: error: $*" >&2; exit 1; }
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root to run: $*"
    fi
}

# The source and what building it takes (gcc and make come with build-essential).
packages=("$src_pkg" build-essential bc bison flex libelf-dev libssl-dev xz-utils kmod cpio)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    if ! apt-cache show "$src_pkg" >/dev/null 2>&1; then
        as_root apt-get update -qq >&2
    fi
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
src_version=$(dpkg-query -W -f='${Version}' "$src_pkg")
tarball=/usr/src/$src_pkg.tar.xz
[ -f "$tarball" ] || die "$tarball missing (package $src_pkg $src_version)"

mkdir -p "$cache"
exec 8>"$cache/.build-$line.lock"
flock 8

# The cache key: the source package's version and the fragment.
key=$( { echo "$src_pkg $src_version x86_64_defconfig"; cat "$fragment"; } \
       | sha256sum | cut -c1-16)
for d in "$cache"/kernel-*; do
    if [ -e "$d/.ready" ] && [ "$(cat "$d/.line" 2>/dev/null)" = "$line" ] &&
       [ "$(cat "$d/.key" 2>/dev/null)" = "$key" ]; then
        log "cached: ${d##*/} ($src_pkg $src_version, key $key)"
        echo "KVER=${d##*/kernel-}"
        exit 0
    fi
done

t0=$(date +%s)
kb=$cache/kbuild-$line
tree=$kb/$src_pkg
if [ "$(cat "$kb/.src-version" 2>/dev/null)" != "$src_version" ] || [ ! -d "$tree" ]; then
    log "unpacking $src_pkg $src_version"
    rm -rf "$kb"
    mkdir -p "$kb"
    tar -xJf "$tarball" -C "$kb"
    [ -d "$tree" ] || die "$tarball has no $src_pkg/ folder"
    echo "$src_version" >"$kb/.src-version"
fi
t_unpack=$(date +%s)

mk() { nice -n 19 make -C "$tree" -s "$@" >&2; }
log "configuring: x86_64_defconfig + ${fragment##*/}"
mk x86_64_defconfig
(cd "$tree" && KCONFIG_CONFIG=.config scripts/kconfig/merge_config.sh -m -O . .config "$fragment" >/dev/null)
mk olddefconfig
# Kconfig silently drops what it cannot have: check every line.
bad=()
while IFS= read -r l; do
    case $l in
        CONFIG_*=*) grep -qxF "$l" "$tree/.config" || bad+=("$l (got: $(grep -E "^(# )?${l%%=*}[= ]" "$tree/.config" || echo absent))") ;;
        "# CONFIG_"*" is not set")
            o=${l#\# }; o=${o%% *}
            ! grep -qE "^$o=[ym]" "$tree/.config" || bad+=("$l (got: $(grep -E "^$o=" "$tree/.config"))") ;;
    esac
done <"$fragment"
[ ${#bad[@]} = 0 ] || die "the config does not have: $(printf '\n  %s' "${bad[@]}")"

log "building with $jobs jobs under nice -n 19"
mk -j"$jobs" vmlinux bzImage modules
t_build=$(date +%s)
kver=$(make -C "$tree" -s kernelrelease)

stage=$(mktemp -d "$cache/.kbuild-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/boot"
cp "$tree/vmlinux" "$stage/boot/vmlinux-$kver"
cp "$tree/arch/x86/boot/bzImage" "$stage/boot/vmlinuz-$kver"
cp "$tree/.config" "$stage/boot/config-$kver"
cp "$tree/System.map" "$stage/boot/System.map-$kver"
mk INSTALL_MOD_PATH="$stage" INSTALL_MOD_STRIP=1 modules_install
rm -f "$stage/lib/modules/$kver/build" "$stage/lib/modules/$kver/source"
depmod -b "$stage" "$kver"
echo "$line" >"$stage/.line"
echo "$key" >"$stage/.key"
t1=$(date +%s)
printf 'source %s %s\nkey %s\njobs %s\nunpack_s %s\nbuild_s %s\ntotal_s %s\n' \
    "$src_pkg" "$src_version" "$key" "$jobs" $((t_unpack - t0)) $((t_build - t_unpack)) \
    $((t1 - t0)) >"$stage/.build-cost"
# Replace the kernel of this line (and its initramfs, made for the old one).
for d in "$cache"/kernel-*; do
    [ "$(cat "$d/.line" 2>/dev/null)" = "$line" ] || continue
    rm -rf "$d"
    rm -f "$cache/initramfs-${d##*/kernel-}"-*.cpio.gz
done
mv "$stage" "$cache/kernel-$kver"
trap - EXIT
touch "$cache/kernel-$kver/.ready"
log "built $kver in $((t1 - t0)) s (unpack $((t_unpack - t0)) s, compile $((t_build - t_unpack)) s, $jobs jobs)"
echo "KVER=$kver"
