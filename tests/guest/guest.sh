#!/bin/bash
# Runs a command as root inside a QEMU guest (a Debian kernel: 6.1 by default,
# --kernel picks Debian 12's 6.12, the newest Debian ships, or Debian's 6.12
# built with iommufd) that has
# real device-dax devices (see devices.tsv), an edu PCI device bound to
# vfio-pci behind an emulated IOMMU, and a soft-RoCE device. The guest sees
# the host's /usr and /etc and the work folder at the same absolute path, so
# programs built on the host run unchanged. Exits with the command's status,
# 124 when the time limit killed the guest, 125 when the harness failed.
set -euo pipefail

usage() {
    cat >&2 <<'EOF'
usage: guest.sh [--kernel 6.1|6.12|6.12-iommufd|newest] [--timeout SEC]
                [--log FILE] [--workdir DIR] [--share DIR]... [--verbose]
                -- CMD [ARGS...]
  --kernel LINE  Debian 12's newest 6.1 (default, or $DAXALLOC_GUEST_KERNEL),
                 Debian 12's newest 6.12, the newest Debian kernel (sid), or
                 6.12-iommufd: Debian's linux-source-6.12 built with iommufd
                 and the VFIO device cdev (build-kernel.sh; about 21 minutes
                 on two cores the first time, cached)
  --timeout SEC  kill the guest after SEC seconds (default 600), exit 124
  --log FILE     keep the guest's serial console log in FILE (by default a
                 temporary file, kept and named only when the run fails)
  --workdir DIR  folder shared read-write at the same path, and the command's
                 working directory (default: the repository root)
  --share DIR    one more folder shared read-write at the same path
  --verbose      report boot progress and timing on stderr
EOF
    exit 125
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
timeout=600 log='' workdir='' verbose=0 kline=${DAXALLOC_GUEST_KERNEL:-6.1}
shares=()
while [ $# -gt 0 ]; do
    case $1 in
        --kernel) kline=${2:?}; shift 2 ;;
        --timeout) timeout=${2:?}; shift 2 ;;
        --log) log=${2:?}; shift 2 ;;
        --workdir) workdir=${2:?}; shift 2 ;;
        --share) shares+=("${2:?}"); shift 2 ;;
        --verbose|-v) verbose=1; shift ;;
        --) shift; break ;;
        *) usage ;;
    esac
done
[ $# -gt 0 ] || usage
[[ $timeout =~ ^[0-9]+$ ]] && [ "$timeout" -gt 0 ] || usage
case $kline in 6.1|6.12|6.12-iommufd|newest) ;; *) usage ;; esac

say() { echo "guest.sh: $*" >&2; }
die() { say "error: $*"; exit 125; }
info() { [ "$verbose" = 0 ] || say "$*"; }

workdir=$(cd "${workdir:-$here/../..}" && pwd -P) || die "no such folder: $workdir"
extra=("${shares[@]}") shares=()
for d in "${extra[@]}"; do
    d=$(cd "$d" && pwd -P) || die "no such folder: $d"
    [ "$d" = "$workdir" ] || shares+=("$d")
done
for d in "$workdir" "${shares[@]}"; do
    case $d in
        /|/usr|/usr/*|/etc|/etc/*|/proc*|/sys*|/dev*|/run|/run/daxalloc-guest*)
            die "cannot share $d: the guest has its own" ;;
        *$'\t'*|*$'\n'*) die "cannot share a path with a tab or newline: $d" ;;
    esac
done

# ---- device table -> sizes of the emulated hardware ------------------------
bytes() {
    local v=$1
    [[ $v =~ ^[0-9]+[KMGkmg]?$ ]] || die "devices.tsv: bad size '$v'"
    case $v in
        *[Kk]) echo $(( ${v%?} << 10 )) ;;
        *[Mm]) echo $(( ${v%?} << 20 )) ;;
        *[Gg]) echo $(( ${v%?} << 30 )) ;;
        *) echo $(( v )) ;;
    esac
}
G=$((1 << 30)) M=$((1 << 20))
roundup_g() { echo $(( ($1 + G - 1) / G * G )); }
static_sum=0 dynamic_sum=0
while IFS=$'\t' read -r label kind size align _; do
    case $label in ''|'#'*|label) continue ;; esac
    case $align in 4K|2M|1G) ;; *) die "devices.tsv: $label: align must be 4K, 2M or 1G" ;; esac
    case $kind in
        static) static_sum=$(( static_sum + $(bytes "$size") )) ;;
        dynamic) dynamic_sum=$(( dynamic_sum + $(bytes "$size") )) ;;
        *) die "devices.tsv: $label: kind must be static or dynamic" ;;
    esac
done <"$here/devices.tsv"
# Spare room: namespace metadata and labels on the NVDIMM, free capacity in
# the hmem region for tests that create or grow devices.
nvdimm_size=$(( $(roundup_g "$static_sum") + G ))
hmem_size=$(roundup_g $(( dynamic_sum + 512 * M )))
# q35 puts 2G of RAM below 4G and the rest from 4G up; the soft-reserved
# (hmem) range is the first hmem_size bytes above 4G, leaving 4G usable RAM.
ram=$(( 4 * G + hmem_size ))

# ---- prepare kernel, initramfs, run folder ----------------------------------
prep=$("$here/prepare.sh" --kernel "$kline") || die "prepare.sh failed"
while IFS='=' read -r k v; do
    case $k in KERNEL) kernel=$v ;; INITRD) initrd=$v ;; KERNEL_ROOT) kroot=$v ;; KVER) kver=$v ;; esac
done <<<"$prep"

run=$(mktemp -d "${TMPDIR:-/tmp}/daxalloc-guest.XXXXXX")
io=$run/io
mkdir "$io"
log_given=1
[ -n "$log" ] || { log_given=0; log=$(mktemp --suffix=.log "${TMPDIR:-/tmp}/daxalloc-guest-console.XXXXXX"); }
mkdir -p "$(dirname "$log")" && : >"$log" || die "cannot write the log $log"
log=$(cd "$(dirname "$log")" && pwd -P)/$(basename "$log")

qpid='' tails=()
cleanup() {
    [ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
    [ ${#tails[@]} = 0 ] || kill "${tails[@]}" 2>/dev/null || true
    rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cp "$here/guest-setup.sh" "$here/devices.tsv" "$io/"
printf '%s\0' "$@" >"$io/cmd"
printf '%s' "$workdir" >"$io/cwd"
: >"$io/stdout"
: >"$io/stderr"
# The NVDIMM's backing file: sparse, fresh each run so labels start blank.
truncate -s "$nvdimm_size" "$run/nvdimm.img"

q() { printf '%s' "${1//,/,,}"; }  # QEMU option values escape commas by doubling
virtfs() { # path tag [readonly]
    echo "-virtfs"
    echo "local,path=$(q "$1"),mount_tag=$2,security_model=none,multidevs=remap${3:+,readonly=on}"
}
mapfile -t vfs < <(
    virtfs /usr usr ro
    virtfs /etc etc ro
    virtfs "$kroot" kernel ro
    virtfs "$io" io
    i=0
    for d in "$workdir" "${shares[@]}"; do virtfs "$d" "work$i"; i=$((i + 1)); done
)
i=0
for d in "$workdir" "${shares[@]}"; do printf 'work%d\t%s\n' "$i" "$d"; i=$((i + 1)); done >"$io/shares"

accel=${DAXALLOC_GUEST_ACCEL:-tcg}
case $accel in
    # The IOMMU's interrupt remapping needs the split irqchip under KVM; TCG
    # has no in-kernel irqchip at all.
    kvm) machine=q35,nvdimm=on,accel=kvm,kernel-irqchip=split cpu=host ;;
    # 1G pages (pdpe1gb) named, not assumed from "max": 1G-aligned device-dax
    # and the 1G stand-in tests need them, and many hosts' CPUs lack them.
    tcg) machine=q35,nvdimm=on,accel=tcg cpu=max,pdpe1gb=on ;;
    *) die "DAXALLOC_GUEST_ACCEL must be tcg or kvm" ;;
esac

cmdline=(
    console=ttyS0 rdinit=/init panic=-1 oops=panic
    "memmap=$((hmem_size / M))M%4G-1+0xefffffff"  # RAM -> soft reserved
    intel_iommu=on iommu=pt
    # One 1G huge page for the stand-in's 1G cases, taken before memory
    # fragments: at run time the guest could not find 1G contiguous.
    hugepagesz=1G hugepages=1
    no_timer_check tsc=reliable mitigations=off
)
qemu=(
    qemu-system-x86_64 -nodefaults -no-user-config -nographic -no-reboot
    -machine "$machine" -cpu "$cpu" -smp 2
    -m "$((ram / M))M,slots=2,maxmem=$(( (ram + nvdimm_size) / M + 1024 ))M"
    # The IOMMU must come before the PCI devices it translates for.
    -device intel-iommu,intremap=on,caching-mode=on
    -object "memory-backend-file,id=nvmem0,share=on,mem-path=$(q "$run/nvdimm.img"),size=$((nvdimm_size / M))M,align=2M"
    -device nvdimm,id=nvdimm0,memdev=nvmem0,label-size=128K
    -device edu
    -nic none
    -chardev "file,id=console,path=$(q "$log")" -serial chardev:console
    -kernel "$kernel" -initrd "$initrd" -append "${cmdline[*]}"
    "${vfs[@]}"
)

# ---- run --------------------------------------------------------------------
# A kernel that panics before the setup script starts is booted again (twice
# at most): under emulation some kernels (7.2 on q35 with the IOMMU) now and
# then oops in early init. Anything later is the command's business.
early_panic() {
    [ ! -e "$io/started" ] && [ ! -e "$io/harness-error" ] && [ ! -e "$io/status" ] &&
        [ "$qrc" != 124 ] && [ "$qrc" != 137 ] &&
        grep -qaE 'Kernel panic|Oops:' "$log" && ! grep -qa 'daxalloc-guest: \[' "$log"
}
attempt=1
while :; do
info "kernel $kver; booting: ${qemu[*]}"
t0=$(date +%s.%N)
timeout -k 10 "$timeout" "${qemu[@]}" </dev/null >"$run/qemu.out" 2>&1 &
qpid=$!
# Stream the command's output while it runs; tail ends once QEMU is gone,
# after a last read, so nothing is lost.
tail -n +1 -f -s 0.2 --pid="$qpid" "$io/stdout" &
tails+=($!)
tail -n +1 -f -s 0.2 --pid="$qpid" "$io/stderr" >&2 &
tails+=($!)
qrc=0
wait "$qpid" || qrc=$?
qpid=
t1=$(date +%s.%N)
wait "${tails[@]}" 2>/dev/null || true
tails=()
early_panic && [ "$attempt" -lt 3 ] || break
say "kernel $kver panicked during boot (attempt $attempt): booting again"
grep -aE -m 3 'Kernel panic|Oops:|RIP:' "$log" | tr -d '\r' | sed 's/^/guest.sh:   /' >&2
cp "$log" "$log.boot$attempt"
attempt=$((attempt + 1))
: >"$log"
rm -f "$run/nvdimm.img"
truncate -s "$nvdimm_size" "$run/nvdimm.img"
done

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
if [ -e "$io/started" ]; then
    info "boot and setup: $(elapsed "$t0" "$(stat -c %.9Y "$io/started")") s, total $(elapsed "$t0" "$t1") s"
fi

console_tail() {
    echo "---- last 60 lines of the guest console ----" >&2
    tail -n 60 "$log" | tr -d '\r' >&2
    echo "---- end of console; full log: $log ----" >&2
    log_given=1  # keep it
}
status=
if [ -e "$io/status" ] && [ ! -e "$io/harness-error" ]; then
    status=$(cat "$io/status")
elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
    say "guest killed after the time limit of $timeout s"
    console_tail
    status=124
elif [ -e "$io/harness-error" ]; then
    say "guest setup failed: $(cat "$io/harness-error")"
    console_tail
    status=125
else
    say "guest ended without a command status (QEMU exit $qrc)"
    [ ! -s "$run/qemu.out" ] || { echo "---- QEMU output ----" >&2; cat "$run/qemu.out" >&2; }
    console_tail
    status=125
fi
if [ "$log_given" = 0 ]; then
    if [ "$status" = 0 ]; then rm -f "$log"; else say "guest console log: $log"; fi
fi
exit "$status"
