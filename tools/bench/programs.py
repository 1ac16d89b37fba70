#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The subsection "Programs (guest, device-dax)" of BENCHMARKS.md, from the
JSON that tests/heap/programs.sh writes ($PROGRAMS_JSON) in the guest, one
file per kernel (tools/bench/programs-LINE.json, LINE one of guest.sh's
--kernel lines; tools/bench.sh --programs makes them).

  programs.py --out BENCHMARKS.md FILE.json...

replaces that subsection of --out (report.py calls section() when it writes
the whole page). Every number comes from the files; the words around them
are fixed here.
"""
import argparse
import json
import os
import sys

from pin_paths import version_key

TITLE = "### Programs (guest, device-dax)"


def load(paths):
    """The files' documents, each with its kernel line, oldest kernel first."""
    docs = []
    for p in paths:
        with open(p) as f:
            doc = dict(json.load(f), line=os.path.basename(p)[len("programs-"):-len(".json")])
        docs.append(doc)
    docs.sort(key=lambda d: version_key(d.get("kernel")))
    return docs


def num(v):
    return "–" if v is None else f"{v:,.0f}"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "–"


def secs(v):
    return "–" if v is None else f"{v:.1f}"


def mib(b):
    return "–" if b is None else f"{b / (1 << 20):.0f} MiB"


def section(docs):
    """The subsection's lines (from its title on)."""
    L = [TITLE, ""]
    if not docs:
        return L + ["Not run yet: `tools/bench.sh --programs`.", ""]
    reqs = sorted({d.get("requests") for d in docs if d.get("requests")})
    keys = sorted({d.get("keys") for d in docs if d.get("keys")})
    devs = sorted({d.get("device") for d in docs if d.get("device")})
    sizes = sorted({d.get("heap_size") for d in docs if d.get("heap_size")})
    L.append(
        "Debian's `redis-server`, unmodified, in the test guest (`tests/guest/README.md`), "
        "once with its heap in DRAM and once with it on device-dax through "
        "`libdaxalloc-preload.so` (a 2M-aligned hmem device, "
        f"{', '.join(f'`{d}`' for d in devs)}, {', '.join(sizes)} of heap per process), one "
        "after the other in the same guest, each driven by `redis-benchmark -t set,get -n "
        f"{'/'.join(map(str, reqs))} -r 50000 -d 1024 -P 16`; *peak RSS* is the server's "
        "`VmHWM` after the benchmark (in DRAM) or after the benchmark and "
        f"{'/'.join(map(str, keys))} more keys written and read back (on the device). "
        "Written by `tools/bench/report.py` from `tools/bench/programs-*.json`, which "
        "`tests/heap/programs.sh` writes (`$PROGRAMS_JSON`) from what it prints; the same "
        "script checks that the data reads back and that most of the heap is on the device.")
    L.append("")
    L.append("The guest's CPU is emulated and the machine was shared: compare the device with "
             "DRAM within a row, never across kernels.")
    L.append("")
    L.append("Reproduce (as root; one guest after another, a few minutes each under emulation): "
             "`tools/bench.sh --programs` for both kernels, or for one:")
    L.append("")
    L.append("```sh")
    L.append("tests/guest/guest.sh --kernel newest --timeout 900 -- \\")
    L.append("    tools/bench.sh --in-guest-programs tools/bench/programs-newest.json")
    L.append("python3 tools/bench/programs.py --out BENCHMARKS.md tools/bench/programs-*.json")
    L.append("```")
    L.append("")
    L.append("| kernel | SET, DRAM req/s | SET, device | device ÷ DRAM | GET, DRAM req/s | "
             "GET, device | device ÷ DRAM | peak RSS, DRAM | peak RSS, device |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for d in docs:
        g = d.get
        L.append(f"| {d.get('kernel')} (`--kernel {d['line']}`) | "
                 f"{num(g('redis_set_dram_rps'))} | {num(g('redis_set_device_rps'))} | "
                 f"{ratio(g('redis_set_device_rps'), g('redis_set_dram_rps'))} | "
                 f"{num(g('redis_get_dram_rps'))} | {num(g('redis_get_device_rps'))} | "
                 f"{ratio(g('redis_get_device_rps'), g('redis_get_dram_rps'))} | "
                 f"{num(g('redis_dram_peak_rss_kb'))} kB | {num(g('redis_device_peak_rss_kb'))} kB |")
    L.append("")
    L.append("What the peak RSS shows, per kernel, next to the server's `/proc/PID/smaps` "
             "with the heap on the device (resident in the device mapping; DRAM heap: "
             "anonymous mappings and `[heap]`):")
    L.append("")
    for d in docs:
        dram, dev = d.get("redis_dram_peak_rss_kb"), d.get("redis_device_peak_rss_kb")
        sd, sa = d.get("redis_device_smaps_device_bytes"), d.get("redis_device_smaps_dram_heap_bytes")
        if not dram or not dev:
            L.append(f"- {d.get('kernel')}: not measured.")
            continue
        side = "below" if dev < dram else "above" if dev > dram else "equal to"
        covers = ""
        if sd is not None and sd > dev * 1024:
            covers = (f": the peak RSS is less than the device mapping's {mib(sd)} resident, "
                      "so the device's pages are not (all) counted in it")
        elif sd is not None and sa is not None and sd + sa <= dev * 1024:
            covers = (f": the peak RSS holds the device mapping's resident pages and the DRAM "
                      f"heap together ({mib(sd + sa)}), so the device's pages count in it")
        L.append(f"- {d.get('kernel')}: peak RSS with the heap on the device "
                 f"{num(dev)} kB, {side} {num(dram)} kB in DRAM ({ratio(dev, dram)}×); smaps: "
                 f"device {mib(sd)}, DRAM heap {mib(sa)}{covers}.")
    L.append("")
    if any(d.get("memcslap_set_total_s") for d in docs):
        L.append("`memcached` with its heap on the device, driven by `memcslap --binary "
                 "--concurrency=4` (no DRAM run to compare with), total seconds:")
        L.append("")
        L.append("| kernel | keys per run | set | get (after loading its keys) |")
        L.append("|---|---:|---:|---:|")
        for d in docs:
            n = (d.get("memcslap_execute_number") or 0) * (d.get("memcslap_concurrency") or 0)
            L.append(f"| {d.get('kernel')} | {num(n) if n else '–'} | "
                     f"{secs(d.get('memcslap_set_total_s'))} | {secs(d.get('memcslap_get_total_s'))} |")
        L.append("")
    return L


def replace_section(page, lines):
    """@page's text with the subsection replaced (or added at the end of the heap's section)."""
    text = page.split("\n")
    start = next((i for i, l in enumerate(text) if l.strip() == TITLE), None)
    if start is None:
        heap = next((i for i, l in enumerate(text) if l.startswith("## Heap")), None)
        if heap is None:
            raise SystemExit("programs: no heap section in the page")
        at = next((i for i in range(heap + 1, len(text)) if text[i].startswith("## ")), len(text))
        return "\n".join(text[:at] + lines + text[at:])
    end = next((i for i in range(start + 1, len(text))
                if text[i].startswith("## ") or text[i].startswith("### ")), len(text))
    return "\n".join(text[:start] + lines + text[end:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    lines = section(load(a.files))
    with open(a.out) as f:
        page = f.read()
    with open(a.out, "w") as f:
        f.write(replace_section(page, lines))
    print(f"programs: wrote the subsection of {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
