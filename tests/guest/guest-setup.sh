#!/bin/bash
# Second stage of the test guest, run by its /init as root inside the chroot
# (host /usr and /etc, shared work folders). Loads the drivers, creates the
# devices of devices.tsv, binds the edu device to vfio-pci, brings up
# soft-RoCE, then runs the command and records its exit status for the host.
# Its own output goes to the serial console (the host's console log).
set -eEuo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin

base=/run/daxalloc-guest
io=$base/io
kroot=$base/kernel
table=$base/devices.tsv

say() { echo "daxalloc-guest: [$(cut -d' ' -f1 /proc/uptime)] $*" >&2; }
fail() {
    say "setup failed: $*"
    echo "$*" >>"$io/harness-error"
    echo 125 >"$io/status"
    exit 125
}
trap 'fail "line $LINENO: $BASH_COMMAND"' ERR

# The host's /lib/modules is not this kernel's: use the shared unpacked kernel.
# The host's modprobe.d is ignored: its install hooks (ndctl's for libnvdimm)
# run a plain modprobe, which --ignore-install does not reach for deps.
mkdir -p "$base/modprobe.d"
mp() { modprobe -C "$base/modprobe.d" -d "$kroot" --ignore-install -a "$@"; }

# ---- VFIO and RDMA: optional, set up in the background ----------------------
# Each prints the environment lines it contributes; a failure only costs its
# variables, with the reason on the console.
vfio_setup() {
    local d bdf='' grp
    mp vfio-pci vfio_iommu_type1 || { say "vfio unavailable: modprobe vfio-pci failed"; return; }
    for d in /sys/bus/pci/devices/*; do
        if [ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1234:0x11e8 ]; then
            bdf=${d##*/}
            break
        fi
    done
    [ -n "$bdf" ] || { say "vfio unavailable: no edu device (1234:11e8)"; return; }
    [ -e "$d/iommu_group" ] || { say "vfio unavailable: $bdf has no IOMMU group"; return; }
    grp=$(basename "$(readlink "$d/iommu_group")")
    echo vfio-pci >"$d/driver_override" || { say "vfio unavailable: driver_override"; return; }
    echo "$bdf" >/sys/bus/pci/drivers_probe 2>/dev/null
    [ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" = vfio-pci ] \
        || { say "vfio unavailable: $bdf did not bind to vfio-pci"; return; }
    [ -c "/dev/vfio/$grp" ] || { say "vfio unavailable: /dev/vfio/$grp missing"; return; }
    echo "DAXALLOC_GUEST_VFIO_BDF=$bdf"
    echo "DAXALLOC_GUEST_VFIO_GROUP=/dev/vfio/$grp"
    say "vfio: $bdf in group /dev/vfio/$grp"
    # The device's own cdev, for iommufd (kernels with CONFIG_VFIO_DEVICE_CDEV).
    local c
    for c in "$d"/vfio-dev/vfio*; do
        [ -e "$c" ] || { say "vfio: no device cdev (this kernel has no CONFIG_VFIO_DEVICE_CDEV)"; break; }
        [ -c "/dev/vfio/devices/${c##*/}" ] || { say "vfio: /dev/vfio/devices/${c##*/} missing"; break; }
        echo "DAXALLOC_GUEST_VFIO_CDEV=/dev/vfio/devices/${c##*/}"
        say "vfio: device cdev /dev/vfio/devices/${c##*/}"
    done
}
rdma_setup() {
    local err
    # rxe computes its ICRC with crc32, which needs a crc32 shash; newer
    # kernels (7.x) build it in and have no crc32_generic module.
    mp crc32_generic 2>/dev/null || say "rdma: no crc32_generic module (built in?)"
    err=$(mp rdma_rxe ib_uverbs rdma_ucm veth 2>&1) \
        || { say "rdma unavailable: modprobe: $err"; return; }
    ip link set lo up
    err=$( { ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up \
             && rdma link add rxe0 type rxe netdev v0; } 2>&1) \
        || { say "rdma unavailable: $err"; return; }
    [ -e /sys/class/infiniband/rxe0 ] || { say "rdma unavailable: rxe0 did not appear"; return; }
    echo "DAXALLOC_GUEST_RDMA_DEV=rxe0"
    say "rdma: rxe0 on veth v0"
}
(trap - ERR; set +e; vfio_setup) >"$base/vfio.env" &
vfio_pid=$!
(trap - ERR; set +e; rdma_setup) >"$base/rdma.env" &
rdma_pid=$!

# ---- device-dax devices ------------------------------------------------------
# Devices with capacity: a dynamic region always keeps one zero-sized "seed"
# device, which create-device sizes (and then adds a new seed).
dax_devices() {
    local d
    for d in /sys/bus/dax/devices/*; do
        if [ -e "$d" ] && [ "$(cat "$d/size")" != 0 ]; then echo "${d##*/}"; fi
    done | sort
}
new_device() { # $1: device list before; prints the one device added since
    local d
    d=$(comm -13 <(printf '%s\n' "$1") <(dax_devices))
    [ "$(printf '%s\n' "$d" | grep -c .)" = 1 ] || fail "expected one new dax device, got: $d"
    echo "$d"
}
region_of() { cat "/sys/bus/dax/devices/$1/../dax_region/id"; }
row() { # label kind dev
    local s=/sys/bus/dax/devices/$3
    [ -c "/dev/$3" ] || fail "/dev/$3 missing"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "/dev/$3" \
        "$(cat "$s/size")" "$(cat "$s/align")" "$(region_of "$3")" >>"$table"
}

t0=$(cut -d' ' -f1 /proc/uptime)
printf 'label\tkind\tname\tpath\tsize\talign\tregion\n' >"$table"
statics=() dynamics=()
while IFS=$'\t' read -r label kind size align _; do
    case $label in ''|'#'*|label) continue ;; esac
    case $kind in
        static) statics+=("$label $size $align") ;;
        dynamic) dynamics+=("$label $size $align") ;;
        *) fail "devices.tsv: unknown kind '$kind'" ;;
    esac
done <"$io/devices.tsv"

say "loading dax drivers"
mp nfit nd_pmem dax_pmem device_dax dax_hmem
if [ ${#statics[@]} -gt 0 ]; then
    regions=()
    for d in /sys/bus/nd/devices/region*; do [ ! -e "$d" ] || regions+=("${d##*/}"); done
    [ ${#regions[@]} = 1 ] || fail "expected one NVDIMM region, got: ${regions[*]}"
    # The NVDIMM's labels are blank on every boot (fresh backing file).
    say "labelling ${regions[0]}"
    ndctl disable-region all >/dev/null
    ndctl init-labels -f all >/dev/null
    ndctl enable-region all >/dev/null
    for r in "${statics[@]}"; do
        read -r label size align <<<"$r"
        say "creating $label"
        before=$(dax_devices)
        ndctl create-namespace -r "${regions[0]}" -m devdax -M mem -a "$align" -s "$size" -n "$label" >/dev/null \
            || fail "ndctl create-namespace $label ($size, align $align)"
        dev=$(new_device "$before")
        row "$label" static "$dev"
    done
fi

if [ ${#dynamics[@]} -gt 0 ]; then
    # dax_hmem starts with one device spanning the soft-reserved region: drop
    # it so the region's capacity is free for the table's devices.
    hmem=
    for c in /sys/bus/dax/devices/*/../dax_region/create; do
        if [ -e "$c" ]; then hmem=$(cat "${c%/create}/id"); break; fi
    done
    [ -n "$hmem" ] || fail "no hmem (soft-reserved) dax region; memmap= not honoured?"
    for d in $(dax_devices); do
        [ "$(region_of "$d")" = "$hmem" ] || continue
        daxctl disable-device "$d" >/dev/null 2>&1 || true
        # Destroying the seed fails with EBUSY once it is shrunk to zero:
        # that is enough, judge by the size.
        daxctl destroy-device "$d" >/dev/null 2>&1 || true
        [ ! -e "/sys/bus/dax/devices/$d" ] || [ "$(cat "/sys/bus/dax/devices/$d/size")" = 0 ] \
            || fail "daxctl destroy-device $d"
    done
    for r in "${dynamics[@]}"; do
        read -r label size align <<<"$r"
        say "creating $label"
        before=$(dax_devices)
        daxctl create-device -r "$hmem" -a "$align" -s "$size" >/dev/null 2>&1 \
            || fail "daxctl create-device $label ($size, align $align)"
        dev=$(new_device "$before")
        [ -e "/sys/bus/dax/devices/$dev/driver" ] || daxctl enable-device "$dev" >/dev/null
        row "$label" dynamic "$dev"
    done
fi
say "devices ready in $(awk -v a="$t0" '{printf "%.1f", $1 - a}' /proc/uptime) s:"
column -t -s $'\t' "$table" >&2 2>/dev/null || cat "$table" >&2

wait "$vfio_pid" "$rdma_pid" || true
mapfile -t extra_env < <(cat "$base/vfio.env" "$base/rdma.env")
trap - ERR

# ---- the command ---------------------------------------------------------------
mapfile -d '' -t cmd <"$io/cmd"
cwd=$(cat "$io/cwd")
cd "$cwd" || fail "cd $cwd"
say "setup done in $(awk -v a="$t0" '{printf "%.1f", $1 - a}' /proc/uptime) s; running: ${cmd[*]}"
: >"$io/started"
set +e
env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 \
    DAXALLOC_GUEST=1 \
    DAXALLOC_GUEST_DEVICES="$table" \
    DAXALLOC_GUEST_KERNEL_ROOT="$kroot" \
    "${extra_env[@]}" \
    "${cmd[@]}" </dev/null >"$io/stdout" 2>"$io/stderr"
st=$?
set -e
say "command exited with status $st"
echo "$st" >"$io/status.tmp"
mv "$io/status.tmp" "$io/status"
