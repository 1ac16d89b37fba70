#!/bin/bash
# Prepares everything the test guest needs and prints where it is, as
# KEY=VALUE lines (KVER, KERNEL_ROOT, KERNEL, INITRD) on stdout.
#
#   prepare.sh [--kernel 6.1|6.12|6.12-iommufd|newest]
#                                          (default $DAXALLOC_GUEST_KERNEL or 6.1)
#
# 6.1 and 6.12 are Debian 12's two kernel lines; newest is the newest kernel
# Debian ships (sid); 6.12-iommufd is Debian's 6.12 source built with iommufd
# on (build-kernel.sh: about 21 minutes on two cores when not cached).
# Idempotent and cheap when the cache is warm: it installs missing Debian
# packages, unpacks the newest kernel of the line into the cache and builds
# a small busybox initramfs next to it. Everything else goes to stderr.
#
# Cache: ${DAXALLOC_GUEST_CACHE:-$HOME/.cache/libdaxalloc-guest}
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${DAXALLOC_GUEST_CACHE:-$HOME/.cache/libdaxalloc-guest}
line=${DAXALLOC_GUEST_KERNEL:-6.1}
while [ $# -gt 0 ]; do
    case $1 in
        --kernel) line=${2:?--kernel needs 6.1, 6.12, 6.12-iommufd or newest}; shift 2 ;;
        *) echo "usage: prepare.sh [--kernel 6.1|6.12|6.12-iommufd|newest]" >&2; exit 2 ;;
    esac
done

log() { echo "prepare: $*" >&2; }
die() { echo "prepare: error: $*" >&2; exit 1; }

# Packages the host and the guest use: QEMU and its firmware, busybox for the
# initramfs, kmod for depmod/modprobe, and the tools the guest's setup runs
# from the host's /usr (ndctl, daxctl, ip, rdma) plus the rxe verbs provider.
packages=(qemu-system-x86 busybox-static cpio gzip xz-utils zstd kmod ndctl daxctl
          iproute2 rdma-core ibverbs-providers ibverbs-utils)

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root to run: $*"
    fi
}

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed \
        || missing+=("$p")
done
apt_updated=0
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root apt-get update -qq >&2
    apt_updated=1
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

mkdir -p "$cache"
case $line in
    6.1|6.12|newest) ;;
    6.12-iommufd)
        # Takes about 21 minutes when not cached: not under the cache
        # lock, so guests of the other lines can start meanwhile.
        built=$("$here/build-kernel.sh" | sed -n 's/^KVER=//p') && [ -n "$built" ] \
            || die "building the $line kernel failed" ;;
    *) die "unknown kernel line '$line' (6.1, 6.12, 6.12-iommufd or newest)" ;;
esac
# Parallel runs share the cache: one prepares, the others wait.
exec 9>"$cache/.lock"
flock 9

# ---- which kernel -------------------------------------------------------------
# 6.12-iommufd: built here from Debian's linux-source-6.12 (build-kernel.sh, its
# own lock and cache key); the build ran before the cache lock was taken.
if [ "$line" = 6.12-iommufd ]; then
    kver=$built
else
    # 6.1 and 6.12: the newest of that line in the machine's own apt lists
    # (Debian 12). newest: the newest kernel Debian ships, from sid, read through
    # a private package list kept in the cache; the machine's apt state is not
    # touched. Each line keeps its newest kernel in the cache.
    case $line in
        6.1) pattern='^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
        6.12) pattern='^linux-image-6\.12\.[0-9]+\+deb[0-9]+-amd64-unsigned$' ;;
        newest) pattern='^linux-binary-[0-9]+\.[0-9]+(\.[0-9]+)?(\+deb[0-9]+)?-amd64$' ;;
    esac
    apt_opts=()
    if [ "$line" = newest ]; then
        sid=$cache/apt-sid
        mkdir -p "$sid/lists/partial" "$sid/cache/archives/partial"
        # The mirror the machine's own list names (one-line or deb822 format).
        mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                     /etc/apt/sources.list.d/*.sources 2>/dev/null \
                 | grep -oE '^(deb|URIs:) +https?://[^ ]+/debian/?( |$)' | head -n 1 \
                 | awk '{print $2}' || true)
        echo "deb ${mirror:-http://deb.debian.org/debian} sid main" >"$sid/sources.list"
        apt_opts=(-o "Dir::Etc::sourcelist=$sid/sources.list" -o Dir::Etc::sourceparts=-
                  -o "Dir::State::lists=$sid/lists" -o "Dir::Cache=$sid/cache")
    fi
    lists_fresh() { # the private sid list is re-read once a day
        [ "$line" != newest ] && return 0
        [ -n "$(find "$sid/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null)" ]
    }
    update_lists() {
        if [ "$line" = newest ]; then
            log "reading sid's package list"
            apt-get "${apt_opts[@]}" -o APT::Sandbox::User=root update -qq >&2 || return 1
        else
            as_root apt-get update -qq >&2
        fi
    }
    newest_in_archive() {
        apt-cache "${apt_opts[@]}" search --names-only "$pattern" 2>/dev/null \
            | awk '{print $1}' | sort -V | tail -n 1
    }
    # Unpacked kernels of this line, newest last.
    newest_in_cache() {
        local d best=
        for d in "$cache"/kernel-*; do
            [ -e "$d/.ready" ] && [ "$(cat "$d/.line" 2>/dev/null)" = "$line" ] || continue
            best=$(printf '%s\n' "$best" "${d##*/kernel-}" | sed '/^$/d' | sort -V | tail -n 1)
        done
        printf '%s\n' "$best"
    }

    if ! lists_fresh; then
        update_lists || log "cannot read sid's package list"
        apt_updated=1
    fi
    pkg=$(newest_in_archive)
    if [ -z "$pkg" ] && [ "$apt_updated" = 0 ] && [ -z "$(newest_in_cache)" ]; then
        # Fresh machine: package lists not downloaded yet.
        update_lists || true
        pkg=$(newest_in_archive)
    fi
    if [ -n "$pkg" ]; then
        kver=${pkg#linux-image-}
        kver=${kver#linux-binary-}
        kver=${kver%-unsigned}
    else
        kver=$(newest_in_cache)
        [ -n "$kver" ] || die "no kernel of line $line ($pattern) in the package lists"
    fi
    # sid splits the kernel: the image (linux-binary), its modules, and the
    # base files (modules.builtin, which modprobe needs to know what is built in).
    pkgs=("$pkg")
    case $pkg in linux-binary-*) pkgs+=("linux-modules-$kver" "linux-base-$kver") ;; esac

    fetch_kernel() { # unpacks ${pkgs[@]} into $cache/kernel-$kver
        local tmp r deb
        tmp=$(mktemp -d "$cache/.dl.XXXXXX")
        # apt's download sandbox user cannot write into a private cache dir.
        if ! (cd "$tmp" && apt-get "${apt_opts[@]}" download -q -o APT::Sandbox::User=root \
                  "${pkgs[@]}" >&2); then
            rm -rf "$tmp"
            return 1
        fi
        r=$tmp/root
        for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$r"; done
        # Newer packages install under /usr/lib/modules only; this modprobe and
        # depmod look in /lib/modules.
        [ -e "$r/lib" ] || ln -s usr/lib "$r/lib"
        mkdir -p "$r/boot"
        [ -f "$r/boot/vmlinuz-$kver" ] || [ ! -f "$r/usr/lib/modules/$kver/vmlinuz" ] \
            || ln -s "../usr/lib/modules/$kver/vmlinuz" "$r/boot/vmlinuz-$kver"
        # The package leaves module indexes to its postinst; modprobe -d needs them.
        depmod -b "$r" "$kver"
        [ -f "$r/boot/vmlinuz-$kver" ] || die "no vmlinuz in ${pkgs[*]}"
        # Decompressing the xz kernel takes ~3 s under emulation; QEMU boots the
        # uncompressed ELF directly through its PVH entry point instead.
        # xz complains about the bytes after its stream: judge by the ELF magic.
        # Newer kernels are compressed with zstd.
        local v=$r/boot/vmlinuz-$kver u=$r/boot/vmlinux-$kver off
        off=$(LC_ALL=C grep -abo $'\xfd7zXZ' "$v" | head -n 1 | cut -d: -f1 || true)
        if [ -n "$off" ]; then
            tail -c +"$((off + 1))" "$v" | xz -dcq >"$u" 2>/dev/null || true
        elif command -v zstd >/dev/null; then
            off=$(LC_ALL=C grep -abo $'\x28\xb5\x2f\xfd' "$v" | head -n 1 | cut -d: -f1 || true)
            [ -z "$off" ] || tail -c +"$((off + 1))" "$v" | zstd -dcq >"$u" 2>/dev/null || true
        fi
        if [ "$(head -c 4 "$u" 2>/dev/null | od -An -tx1 | tr -d ' ')" != 7f454c46 ]; then
            log "no uncompressed kernel, booting the compressed one"
            rm -f "$u"
        fi
        echo "$line" >"$r/.line"
        rm -rf "$cache/kernel-$kver"
        mv "$r" "$cache/kernel-$kver"
        touch "$cache/kernel-$kver/.ready"
        rm -rf "$tmp"
    }

    if [ ! -e "$cache/kernel-$kver/.ready" ]; then
        log "fetching ${pkgs[*]}"
        if ! fetch_kernel; then
            # Offline with an older kernel at hand: better than nothing.
            kver=$(newest_in_cache)
            [ -n "$kver" ] || die "cannot download ${pkgs[*]}"
            log "download failed, using cached $kver"
        fi
    fi
fi
kroot=$cache/kernel-$kver
# Keep only the newest kernel of each line: each one is ~400 MB unpacked.
for d in "$cache"/kernel-*; do
    [ "$d" = "$kroot" ] && continue
    l=$(cat "$d/.line" 2>/dev/null || echo 6.1)  # unmarked: made when 6.1 was the only line
    [ "$l" = "$line" ] && rm -rf "$d"
done

# The initramfs is rebuilt whenever this script (which holds its /init) changes.
stamp=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
initrd=$cache/initramfs-$kver-$stamp.cpio.gz
if [ ! -e "$initrd" ]; then
    log "building initramfs for $kver"
    stage=$(mktemp -d "$cache/.initrd.XXXXXX")
    trap 'rm -rf "$stage"' EXIT
    mkdir -p "$stage"/{bin,dev,proc,sys,newroot,lib/modules}
    busybox=$(command -v busybox || echo /bin/busybox)
    cp "$busybox" "$stage/bin/busybox"
    # Only what is needed to reach the 9p shares; every other module is
    # loaded later from the unpacked kernel, shared read-only.
    # A kernel with them built in (6.12-iommufd) needs none.
    boot_modules=(virtio_pci 9pnet_virtio 9p overlay)
    : >"$stage/modules.list"
    for m in "${boot_modules[@]}"; do
        modprobe -d "$kroot" -S "$kver" --ignore-install --show-depends "$m" \
            || die "module $m not found in $kver"
    done | awk '$1 == "insmod" && !seen[$2]++ {print $2}' | while read -r ko; do
        rel=${ko#"$kroot"/lib/modules/}
        rel=${rel#"$kroot"/usr/lib/modules/}
        mkdir -p "$stage/lib/modules/$(dirname "$rel")"
        # busybox insmod reads only plain modules; newer kernels ship .ko.xz.
        case $rel in
            *.ko.xz) rel=${rel%.xz}; xz -dc "$ko" >"$stage/lib/modules/$rel" ;;
            *.ko.zst) rel=${rel%.zst}; zstd -dcq "$ko" >"$stage/lib/modules/$rel" ;;
            *) cp "$ko" "$stage/lib/modules/$rel" ;;
        esac
        echo "$rel" >>"$stage/modules.list"
    done
    cat >"$stage/init" <<'EOF'
#!/bin/busybox sh
# PID 1 of the test guest. Mounts the 9p shares, builds the chroot (host /usr
# and /etc, the shared work folders) and runs the setup script in it, which
# configures the devices and runs the command. Then powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

io=/newroot/run/daxalloc-guest/io
halt() {
    echo "daxalloc-guest: $*"
    [ -d "$io" ] && [ ! -e "$io/status" ] && echo "$*" >"$io/harness-error"
    sync
    poweroff -f
}
while read -r m; do
    insmod "/lib/modules/$m" || halt "insmod $m failed"
done </modules.list

p9() { # tag mountpoint cache-mode [ro]
    mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,cache=$3${4:+,$4}" "$1" "$2"
}
r=/newroot
mount -t tmpfs -o mode=0755 root $r || halt "tmpfs root"
mkdir -p $r/usr $r/etc $r/proc $r/sys $r/dev $r/tmp $r/run $r/root \
         $r/var/tmp $r/mnt /lower/etc /rw
ln -s usr/bin $r/bin
ln -s usr/sbin $r/sbin
ln -s usr/lib $r/lib
ln -s usr/lib64 $r/lib64
ln -s /run $r/var/run
p9 usr $r/usr loose ro || halt "mount host /usr"
# The host's /etc stays untouched: guest writes land in a tmpfs layer.
p9 etc /lower/etc loose ro || halt "mount host /etc"
mount -t tmpfs rw /rw && mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower/etc,upperdir=/rw/upper,workdir=/rw/work $r/etc \
    || halt "overlay /etc"
mount -t proc proc $r/proc
mount -t sysfs sysfs $r/sys
mount -t devtmpfs devtmpfs $r/dev
# devtmpfs lacks the links udev would make; bash's <(...) needs /dev/fd.
ln -s /proc/self/fd $r/dev/fd
ln -s /proc/self/fd/0 $r/dev/stdin
ln -s /proc/self/fd/1 $r/dev/stdout
ln -s /proc/self/fd/2 $r/dev/stderr
mkdir -p $r/dev/pts $r/dev/shm $r/dev/hugepages
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts $r/dev/pts
mount -t tmpfs -o mode=1777 shm $r/dev/shm
mount -t hugetlbfs hugetlbfs $r/dev/hugepages
mount -t tmpfs -o mode=1777 tmp $r/tmp
mount -t tmpfs -o mode=0755 run $r/run
mkdir -p $io $r/run/daxalloc-guest/kernel
p9 io $io none || halt "mount io share"
p9 kernel $r/run/daxalloc-guest/kernel loose ro || halt "mount kernel share"
# Work folders at the same absolute paths as on the host ("tag<TAB>path").
tab=$(printf '\t')
while IFS="$tab" read -r tag path; do
    mkdir -p "$r$path" && p9 "$tag" "$r$path" mmap || halt "mount $path"
done <$io/shares
chroot $r /bin/bash /run/daxalloc-guest/io/guest-setup.sh
rc=$?
[ -e $io/status ] || halt "setup script ended with $rc and no status"
sync
poweroff -f
EOF
    chmod 755 "$stage/init"
    (cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$initrd.tmp"
    mv "$initrd.tmp" "$initrd"
    rm -rf "$stage"
    trap - EXIT
    # Older initramfs of this kernel, and those of kernels no longer cached.
    for f in "$cache"/initramfs-*.cpio.gz; do
        v=${f#"$cache"/initramfs-}
        v=${v%-*.cpio.gz}
        if [ "$f" != "$initrd" ] && { [ "$v" = "$kver" ] || [ ! -d "$cache/kernel-$v" ]; }; then
            rm -f "$f"
        fi
    done
fi

kernel=$kroot/boot/vmlinux-$kver
[ -e "$kernel" ] || kernel=$kroot/boot/vmlinuz-$kver
printf 'KVER=%s\nKERNEL_ROOT=%s\nKERNEL=%s\nINITRD=%s\n' "$kver" "$kroot" "$kernel" "$initrd"
