#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Debian's redis-server and memcached, unmodified, with their heap on a
# device through libdaxalloc-preload.so:
#   - each is driven by a load tool (redis-benchmark; memcslap), then its
#     data is written and read back by a client and compared;
#   - redis forks for BGSAVE (the child writes the dump from its copy of the
#     heap); a second redis-server loads the dump and every key is checked;
#   - /proc/PID/smaps: most of the heap's memory is on the device.
#
#   programs.sh PRELOAD DEVICE [HEAP_SIZE]
#
# DEVICE: /dev/daxX.Y (must hold a pool: daxalloc-ctl format), or the
# stand-in hugetlb:2M:SIZE.  Prints one line per check, "ok" or "FAIL", and
# ends with "N passed, N failed, N skipped"; exit 1 on any failure.
# $PROGRAMS_KEYS (default 20000) keys are written and read back; the load
# tools make $PROGRAMS_REQUESTS (default 50000) requests.  When
# $PROGRAMS_JSON names a file, the numbers printed (redis-benchmark's
# requests per second and peak RSS, heap in DRAM and on the device;
# memcslap's totals) are written there as JSON too.
set -uo pipefail

preload=${1:?usage: programs.sh PRELOAD DEVICE [HEAP_SIZE]}
device=${2:?usage: programs.sh PRELOAD DEVICE [HEAP_SIZE]}
heap_size=${3:-512M}
keys=${PROGRAMS_KEYS:-20000}
requests=${PROGRAMS_REQUESTS:-50000}
pass=0 fail=0 skip=0
# The numbers for $PROGRAMS_JSON, one "KEY VALUE" line each.
numbers=()
note() { numbers+=("$1 $2"); }
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
skipped() { echo "skip: $*"; skip=$((skip + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# A free TCP port on the loopback.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

heap_env=(DAXALLOC_HEAP_DEVICE="$device" DAXALLOC_HEAP_SIZE="$heap_size" DAXALLOC_HEAP_STATS=1
	  LD_PRELOAD="$preload")

# smaps of PID: "DEVICE_BYTES DRAM_HEAP_BYTES": the device mapping(s)
# (devdax, or the stand-in's memfd: hugetlb pages count apart from Rss)
# against the process's DRAM heap: [heap] and anonymous mappings.
heap_split() {
	awk -v dev="$device" '
		/^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : ""; for (i = 7; i <= NF; i++) name = name " " $i
			isdev = (index(name, "/dev/dax") == 1 || index(name, "/memfd:" dev) == 1)
			isanon = (name == "" || name == "[heap]"); next }
		/^(Rss|Shared_Hugetlb|Private_Hugetlb):/ {
			if (isdev) d += $2 * 1024; else if (isanon && $1 == "Rss:") a += $2 * 1024 }
		END { printf "%d %d\n", d, a }' "/proc/$1/smaps"
}

# Wait until a TCP port answers (or the process dies).
wait_port() {	# PORT PID
	for _ in $(seq 300); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

smaps_check() {	# NAME PID
	local split d a
	split=$(heap_split "$2")
	d=${split% *} a=${split#* }
	echo "  $1 smaps: device $((d >> 20)) MiB, DRAM heap (anonymous + [heap]) $((a >> 20)) MiB"
	check "$1: most of the heap is on $device (device $d > DRAM heap $a bytes)" [ "$d" -gt "$a" ]
}

# ---- redis -----------------------------------------------------------------
# "SET: N requests per second" and "GET: ..." lines of redis-benchmark on PORT.
redis_bench() {
	redis-benchmark -h 127.0.0.1 -p "$1" -t set,get -n "$requests" -r 50000 -d 1024 -P 16 -q \
		2>&1 | tr '\r' '\n' | grep -E '^(SET|GET): [0-9.]+ requests per second'
}

# Note redis-benchmark's SET and GET rates (and p50) from its lines in OUT.
note_rps() {	# WHERE OUT
	local op rate p50
	while read -r op rate p50; do
		note "redis_${op,,}_${1}_rps" "$rate"
		[ -n "$p50" ] && note "redis_${op,,}_${1}_p50_ms" "$p50"
	done < <(sed -nE 's/^(SET|GET): ([0-9.]+) requests per second(, p50=([0-9.]+) msec)?.*/\1 \2 \4/p' <<<"$2")
}

# The same benchmark on a server whose heap stays in DRAM: the baseline.
redis_dram() {
	local p pid out
	p=$(port)
	mkdir -p "$tmp/redis-dram"
	redis-server --port "$p" --bind 127.0.0.1 --dir "$tmp/redis-dram" --save "" \
		--appendonly no --daemonize no --logfile "$tmp/redis-dram/log" &
	pid=$!
	pids+=("$pid")
	wait_port "$p" "$pid" || { bad "redis-server in DRAM did not start"; return; }
	out=$(redis_bench "$p")
	echo "$out" | sed 's/^/  redis-benchmark, heap in DRAM (baseline): /'
	awk '{ print $2 }' <<<"$out" >"$tmp/redis-dram/rps"
	note_rps dram "$out"
	echo "  redis peak RSS in DRAM: $(awk '/^VmHWM/ { print $2, $3 }' "/proc/$pid/status")"
	note redis_dram_peak_rss_kb "$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")"
	redis-cli -h 127.0.0.1 -p "$p" SHUTDOWN NOSAVE >/dev/null 2>&1
	wait "$pid" 2>/dev/null
}

redis_run() {
	local p pid cli out i split
	if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
		skipped "redis: redis-server / redis-benchmark not installed (package redis-server)"
		return
	fi
	p=$(port)
	mkdir -p "$tmp/redis"
	env "${heap_env[@]}" redis-server --port "$p" --bind 127.0.0.1 --dir "$tmp/redis" \
		--save "" --appendonly no --daemonize no --logfile "$tmp/redis/log" &
	pid=$!
	pids+=("$pid")
	if ! wait_port "$p" "$pid"; then
		bad "redis-server with the heap on $device did not start"
		cat "$tmp/redis/log" 2>/dev/null | tail -5
		return
	fi
	cli=(redis-cli -h 127.0.0.1 -p "$p")
	# Load: the server's own benchmark, values of 1 KiB.
	out=$(redis_bench "$p")
	echo "$out" | sed 's/^/  redis-benchmark, heap on the device: /'
	note_rps device "$out"
	check "redis-benchmark SET/GET ran" grep -q 'GET:' <<<"$out"
	if ! kill -0 "$pid" 2>/dev/null; then
		bad "redis-server with the heap on $device died under load"
		dmesg 2>/dev/null | grep -E 'segfault|general protection|trap' | tail -n 3
		# the crash report's head: signal, address, stack, registers
		sed -n '/BUG REPORT START/,/INFO OUTPUT/p' "$tmp/redis/log" | head -n 60
		return
	fi
	# Data: KEYS keys written through the protocol, read back, compared.
	for ((i = 0; i < keys; i++)); do
		printf 'SET key:%d value-%d-%0200d\n' "$i" "$i" "$i"
	done >"$tmp/redis/set"
	"${cli[@]}" --pipe <"$tmp/redis/set" >"$tmp/redis/pipe.out" 2>&1
	check "redis: $keys keys written" grep -q "errors: 0, replies: $keys" "$tmp/redis/pipe.out"
	for ((i = 0; i < keys; i++)); do printf 'value-%d-%0200d\n' "$i" "$i"; done >"$tmp/redis/want"
	redis_read() {	# output file, CLI...
		local f=$1; shift
		for ((i = 0; i < keys; i += 500)); do
			local args=() j
			for ((j = i; j < i + 500 && j < keys; j++)); do args+=("key:$j"); done
			"$@" --raw MGET "${args[@]}"
		done >"$f"
	}
	redis_read "$tmp/redis/got" "${cli[@]}"
	check "redis: $keys values read back equal" cmp -s "$tmp/redis/want" "$tmp/redis/got"
	smaps_check redis "$pid"
	echo "  redis peak RSS, heap on the device: $(awk '/^VmHWM/ { print $2, $3 }' "/proc/$pid/status")"
	note redis_device_peak_rss_kb "$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")"
	split=$(heap_split "$pid")
	note redis_device_smaps_device_bytes "${split% *}"
	note redis_device_smaps_dram_heap_bytes "${split#* }"
	# fork: BGSAVE writes the dump in a child, from its copy of the heap.
	"${cli[@]}" BGSAVE >/dev/null
	for _ in $(seq 600); do
		"${cli[@]}" INFO persistence | grep -q 'rdb_bgsave_in_progress:0' && break
		sleep 0.1
	done
	check "redis: BGSAVE (fork) succeeded" \
		grep -q 'rdb_last_bgsave_status:ok' <<<"$("${cli[@]}" INFO persistence)"
	check "redis: the server still answers after the fork" \
		[ "$("${cli[@]}" GET key:7)" = "$(printf 'value-7-%0200d' 7)" ]
	"${cli[@]}" SHUTDOWN NOSAVE >/dev/null 2>&1
	wait "$pid" 2>/dev/null
	# The dump, loaded by a second server on the device too, holds every key.
	p=$(port)
	env "${heap_env[@]}" redis-server --port "$p" --bind 127.0.0.1 --dir "$tmp/redis" \
		--dbfilename dump.rdb --save "" --appendonly no --daemonize no \
		--logfile "$tmp/redis/log2" &
	pid=$!
	pids+=("$pid")
	if wait_port "$p" "$pid"; then
		for _ in $(seq 600); do	# until the dump is loaded
			redis-cli -h 127.0.0.1 -p "$p" INFO persistence | grep -q '^loading:0' && break
			sleep 0.1
		done
		redis_read "$tmp/redis/got2" redis-cli -h 127.0.0.1 -p "$p"
		check "redis: the BGSAVE dump holds the $keys values" \
			cmp -s "$tmp/redis/want" "$tmp/redis/got2"
		redis-cli -h 127.0.0.1 -p "$p" SHUTDOWN NOSAVE >/dev/null 2>&1
	else
		bad "redis: a second server did not start on the dump"
	fi
	wait "$pid" 2>/dev/null
	grep -h 'daxalloc-preload' "$tmp/redis/log" "$tmp/redis/log2" 2>/dev/null | head -3
}

# ---- memcached ---------------------------------------------------------------
mc_run() {
	local p pid out i
	if ! command -v memcached >/dev/null; then
		skipped "memcached: not installed (package memcached)"
		return
	fi
	p=$(port)
	env "${heap_env[@]}" memcached -l 127.0.0.1 -p "$p" -U 0 -m 400 -t 2 -u root \
		2>"$tmp/mc.log" &
	pid=$!
	pids+=("$pid")
	if ! wait_port "$p" "$pid"; then
		bad "memcached with the heap on $device did not start"
		tail -5 "$tmp/mc.log"
		return
	fi
	if command -v memcslap >/dev/null; then
		out=$(for t in set get; do
			memcslap --servers="127.0.0.1:$p" --binary --concurrency=4 \
				--execute-number=$((requests / 5)) --test=$t 2>&1 | sed "s/^/$t: /"
		done)
		grep -E 'Time to|Time total' <<<"$out" | sed 's/^/  memcslap /'
		note memcslap_execute_number $((requests / 5))
		note memcslap_concurrency 4
		while read -r t secs; do note "memcslap_${t}_total_s" "$secs"; done < <(
			sed -nE 's/^(set|get): .*Time total[^0-9]*([0-9.]+).*/\1 \2/p' <<<"$out")
		check "memcslap set and get ran" [ "$(grep -c 'Time total' <<<"$out")" -eq 2 ]
	else
		skipped "memcached load: memcslap not installed (package libmemcached-tools)"
	fi
	# Data: the text protocol over one connection, then read back.
	python3 - "$p" "$keys" <<'EOF'
import socket, sys
port, keys = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rwb")
def val(i): return (b"mc-%d-" % i) * (1 + i % 50)
for i in range(keys):
    v = val(i)
    f.write(b"set key:%d 0 0 %d noreply\r\n%s\r\n" % (i, len(v), v))
f.flush()
bad = 0
for i in range(0, keys, 100):
    ks = [b"key:%d" % j for j in range(i, min(i + 100, keys))]
    f.write(b"get " + b" ".join(ks) + b"\r\n"); f.flush()
    got = {}
    while True:
        line = f.readline()
        if line == b"END\r\n": break
        _, k, _, n = line.split()
        got[k] = f.read(int(n) + 2)[:-2]
    for j, k in zip(range(i, i + 100), ks):
        if got.get(k) != val(j): bad += 1
print("memcached: %d of %d values wrong or missing" % (bad, keys))
sys.exit(1 if bad else 0)
EOF
	check "memcached: $keys values read back equal" [ $? -eq 0 ]
	smaps_check memcached "$pid"
	kill "$pid"
	wait "$pid" 2>/dev/null
	grep -h 'daxalloc-preload' "$tmp/mc.log" | head -3
}

echo "programs: heap on $device ($heap_size per process), $preload"
command -v redis-server >/dev/null && redis_dram
redis_run
mc_run
echo "$pass passed, $fail failed, $skip skipped"
if [ -n "${PROGRAMS_JSON:-}" ]; then
	printf '%s\n' "${numbers[@]}" | python3 -c '
import json, os, sys
doc = {"kernel": os.uname().release, "device": sys.argv[1], "heap_size": sys.argv[2],
       "requests": int(sys.argv[3]), "keys": int(sys.argv[4]),
       "passed": int(sys.argv[5]), "failed": int(sys.argv[6]), "skipped": int(sys.argv[7])}
for line in sys.stdin:
    kv = line.split()
    if len(kv) == 2:
        doc[kv[0]] = float(kv[1]) if "." in kv[1] else int(kv[1])
json.dump(doc, open(sys.argv[8], "w"), indent=1, sort_keys=True)
' "$device" "$heap_size" "$requests" "$keys" "$pass" "$fail" "$skip" "$PROGRAMS_JSON" ||
		echo "programs: could not write $PROGRAMS_JSON" >&2
fi
[ "$fail" -eq 0 ]
