#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write BENCHMARKS.md and one plot per metric from daxalloc-bench --json runs.

  report.py --command CMD --out BENCHMARKS.md --plots DIR HOST.json GUEST.json

Every number in the page comes from the JSON files; the words around them
are fixed here. Where the library is slower than its baseline the page says
why, next to the table, with the size of the difference taken from the run.
"""
import argparse
import glob
import json
import math
import os
import subprocess
import sys

import pin_paths
import programs

# A pin or unpin within this much of the kernel's own call counts as equal.
PIN_GOAL = 1.02
# Anything else: slower than the baseline by more than run-to-run noise.
NOISE = 1.05

METRICS = [
    ("pin", "1. Pin and unpin", ["pin", "unpin"]),
    ("alloc", "2. Allocation: alloc+free pairs", ["alloc"]),
    ("fault", "3. Fault-in of 1 GiB", ["fault", "faults"]),
    ("restart", "4. Warm restart", ["restart"]),
]


def load(path):
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def fmt(v):
    if v is None:
        return "–"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def cost_ratio(r):
    """Library cost over baseline cost: > 1 means the library is slower."""
    lib, base = r.get("library"), r.get("baseline_value")
    if lib is None or base is None or lib <= 0 or base <= 0:
        return None
    return base / lib if r["higher_is_better"] else lib / base


def fmt_ratio(q):
    if q is None:
        return "–"
    return f"{q:.3f}" if 0.9 < q < 1.1 else f"{q:.3g}"


def verdict(q):
    if q is None:
        return ""
    if q >= 1.005:
        return f"{q:.2f}× slower" if q >= 1.1 else f"{(q - 1) * 100:.1f}% slower"
    if q <= 0.995:
        return f"{1 / q:.2f}× faster" if q <= 0.9 else f"{(1 - q) * 100:.1f}% faster"
    return "equal"


def per_call_us(r):
    """The library's extra time per call, in microseconds, from the row."""
    lib, base = r.get("library"), r.get("baseline_value")
    if lib is None or base is None:
        return None
    if r["unit"] == "pairs/s":
        return (1 / lib - 1 / base) * 1e6 if lib > 0 and base > 0 else None
    if r["unit"] == "ms/GiB":
        size = gib_of(r)
        return (lib - base) * size * 1e3 if size else None
    return None


def gib_of(r):
    """The size in GiB a row covers: "vfio 2M 1G", "2M 1G, populate", "1G 1G named region"."""
    parts = r["variant"].replace(",", " ").split()
    tok = parts[2] if r["metric"] in ("pin", "unpin") else parts[1] if len(parts) > 1 else ""
    units = {"K": 1 / (1 << 20), "M": 1 / 1024, "G": 1, "T": 1024}
    if len(tok) > 1 and tok[-1] in units and tok[:-1].isdigit():
        return int(tok[:-1]) * units[tok[-1]]
    return None


def own_work(r):
    """The library's own share of a pin, in percent, from the row's note."""
    key = "% of the best kernel pin"
    note = r.get("note", "")
    if key not in note:
        return None
    try:
        return float(note[:note.index(key)].rsplit("(", 1)[1])
    except (ValueError, IndexError):
        return None


def slower(r):
    q = cost_ratio(r)
    if q is None:
        return False
    goal = PIN_GOAL if r["metric"] in ("pin", "unpin") else NOISE
    return q > goal


def reason(r, guest):
    """Why the library is slower here: one sentence, or None."""
    m, b = r["metric"], r["baseline"]
    us = per_call_us(r)
    extra = f" (about {fmt(abs(us))} µs per call in this run)" if us is not None and not guest else ""
    if m in ("pin", "unpin"):
        ledger = (" and records the pin in the ledger other processes read (a record in "
                  "device memory taken under the pool lock, its consumer details written "
                  "under it again, cleared at the unpin)") if guest else ""
        own = own_work(r)
        if m == "pin" and "regions held" in r["variant"]:
            return ("`daxalloc_pin` first checks, under the pool lock, that its region is still "
                    "allocated (a lookup in the pool's index of offsets); the note gives the "
                    "library's own work for this run.")
        if m == "pin" and own is not None and (cost_ratio(r) - 1) * 100 > 2 * max(own, 0.1):
            return ("The library's own work, timed inside the same call (wall time of "
                    "`daxalloc_pin` less the kernel call it makes, in the row's note), is well "
                    "below the gap: the rest is run-to-run variation of the kernel's pin "
                    "(a shared machine; in the guest, an emulated one, with N = 3).")
        return (f"A fixed cost per call: the library checks the consumer and the range and "
                f"keeps the pin in its list{ledger}{extra}; the kernel's work is the same. "
                f"It shows where the kernel's own call is short (unpinning, small pins, "
                f"1G pages).")
    if m == "alloc" and "regions held" in r["variant"]:
        return ("A change is one journal record whatever the regions held, and names, offsets "
                "and free extents are indexed in memory; what still grows with them is the "
                "checkpoint a full journal writes every 1,008 changes (the whole table). See "
                "*Where the time goes*.")
    if m == "alloc" and b.startswith("mmap"):
        return ("An alloc+free pair is two crash-safe metadata transactions (the pool lock "
                "in device memory, a check that nobody changed the metadata, one journal "
                "record written twice), a record of the mapping for other processes and, at "
                "free, a look at what other owners map, against two system "
                f"calls by hand{extra}. See *Where the time goes* below.")
    if m == "alloc" and b.startswith("memkind"):
        return ("memkind hands out memory it keeps mapped in its own arenas: after the first "
                "allocation a pair makes no system call at all, and nothing survives the process. "
                "Every library allocation is a new mapping recorded on the device.")
    if m == "alloc" and b.startswith("pmem2"):
        return ("libpmem2 maps the same way but keeps no metadata; the library's metadata "
                "transaction costs more than pmem2's own setup here" + extra + ".")
    if m in ("fault", "faults") and "populate" in r["variant"]:
        return ("With populate the library's time includes `daxalloc_alloc` (the metadata "
                "transaction and the address reservation) around the same populating `mmap`" +
                extra + "; it shows where faulting in the whole range is itself quick (1G pages).")
    if m in ("fault", "faults"):
        return ("The same pages and the same number of faults, from mappings made the same "
                "way: the difference is run-to-run variation of the kernel's fault path (a "
                "shared machine; in the guest, an emulated one), largest where there are few "
                "faults to average over (1G pages: one fault per GiB).")
    if m == "restart":
        return ("Reopening costs the pool open (metadata mapped and validated) and the region "
                "mapping; on a pmem namespace the metadata is mapped with libpmem2, whose map "
                "call is slow." + extra)
    return None


def table(rows, guest):
    out = []
    if guest:
        out.append("| variant | baseline | library cost ÷ baseline | | N | note |")
        out.append("|---|---|---:|---|---:|---|")
    else:
        out.append("| variant | baseline | library | baseline | unit | library cost ÷ baseline | | N | note |")
        out.append("|---|---|---:|---:|---|---:|---|---:|---|")
    for r in rows:
        q = cost_ratio(r)
        noteline = r.get("note", "").replace("|", "\\|")
        if guest:
            out.append(f"| {r['variant']} | {r['baseline'] or '–'} | {fmt_ratio(q)} | "
                       f"{verdict(q)} | {r['iterations']} | {noteline} |")
        else:
            out.append(f"| {r['variant']} | {r['baseline'] or '–'} | {fmt(r.get('library'))} | "
                       f"{fmt(r.get('baseline_value'))} | {r['unit']} | {fmt_ratio(q)} | "
                       f"{verdict(q)} | {r['iterations']} | {noteline} |")
    return out


def explanations(rows, guest):
    seen, out = {}, []
    for r in rows:
        if not slower(r):
            continue
        why = reason(r, guest)
        if not why:
            continue
        key = why.split(" (about")[0]
        if key in seen:
            seen[key][1].append(r)
            continue
        seen[key] = [why, [r]]
    for why, rs in seen.values():
        names = "; ".join(f"{x['metric']} {x['variant']} vs {x['baseline']}" for x in rs)
        out.append(f"- **Slower: {names}.** {why}")
    return out


def cost_1g_4k(doc):
    """Pin cost ratio 1G pages / 4K pages, per consumer, at 1 GiB."""
    if not doc:
        return []
    pins = [r for r in doc["results"] if r["metric"] == "pin"]
    out = []
    for consumer in ("io_uring", "vfio", "rdma"):
        def find(align):
            for r in pins:
                parts = r["variant"].split()
                if len(parts) == 3 and parts[0] == consumer and parts[1] == align and parts[2] == "1G":
                    return r
            return None
        g, k = find("1G"), find("4K")
        if not g or not k:
            continue
        for key, label in (("baseline_value", "kernel call"), ("library", "daxalloc_pin")):
            if g.get(key) and k.get(key):
                out.append((consumer, label, g[key], k[key], g[key] / k[key]))
    return out


def plot(metric, title, host, guest, plots):
    """One PNG per metric: library cost over baseline, host and guest side by side."""
    names = dict(METRICS_SUB)[metric]
    labels, hv, gv = [], {}, {}
    for doc, store in ((host, hv), (guest, gv)):
        if not doc:
            continue
        for r in doc["results"]:
            if r["metric"] not in names or r["metric"] == "faults":
                continue
            q = cost_ratio(r)
            if q is None:
                continue
            label = short_label(r)
            if label not in labels:
                labels.append(label)
            store[label] = q
    if not labels:
        return None
    png = os.path.join(plots, f"{metric}.png")
    dat = os.path.join(plots, f"{metric}.dat")
    with open(dat, "w") as f:
        for l in labels:
            f.write('"%s" %s %s\n' % (l.replace('"', "'"),
                                       hv.get(l, "NaN"), gv.get(l, "NaN")))
    width = max(800, 40 * len(labels) + 200)
    # A histogram series without a single point stops gnuplot: leave it out.
    series = []
    if hv:
        series.append(f'"{dat}" using 2:xtic(1) title "host (hugetlb stand-in)" lc rgb "#3070b0"')
    if gv:
        series.append(f'"{dat}" using 3{"" if hv else ":xtic(1)"} '
                      'title "guest (device-dax, emulated)" lc rgb "#d08030"')
    series = ", ".join(series)
    script = f"""
set terminal pngcairo noenhanced size {width},680 font ",9"
set output "{png}"
set title "{title}: library cost / baseline cost (below 1: library faster)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y 2
set grid ytics
set xtics rotate by -45 scale 0 font ",9"
set ylabel "library / baseline (log scale)"
set key top left
set bmargin 12
plot {series}, \\
     1 with lines lc rgb "black" dt 2 notitle
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or ""
        print(f"report: gnuplot failed for {metric}: {e} {err.strip()}", file=sys.stderr)
        return None
    finally:
        os.unlink(dat)
    return png


def short_label(r):
    """An x-axis label: "unnamed 2M units, 4 threads" + memkind -> "2M unnamed x4 / memkind"."""
    v = r["variant"]
    if r["metric"] == "alloc":
        p = v.replace(",", "").split()
        if len(p) >= 4:
            v = f"{p[1]} {p[0]} x{p[3]}"
        return v + " / " + r["baseline"].split("_")[0].split("+")[0].split()[0]
    if r["metric"] in ("pin", "unpin"):
        return f"{r['metric']} {v}"
    return v.replace(" named region", "").replace("first touch", "touch")


METRICS_SUB = [(key, subs) for key, _, subs in METRICS]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--command", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--plots", required=True)
    ap.add_argument("host")
    ap.add_argument("guest")
    a = ap.parse_args()
    host, guest = load(a.host), load(a.guest)
    if not host and not guest:
        print("report: no results to report", file=sys.stderr)
        return 1
    os.makedirs(a.plots, exist_ok=True)
    rel = os.path.relpath(a.plots, os.path.dirname(os.path.abspath(a.out)) or ".")

    L = ["# Benchmarks", ""]
    L.append("libdaxalloc against the raw kernel and the libraries users would pick instead. "
             "Each library value and its baseline come from the same process, on the same "
             "memory, run alternately; every value is the best of N runs (N in the tables). "
             "This page is written by the benchmark run; do not edit it by hand.")
    L.append("")
    if " --only " in a.command:
        L.append(f"Reproduce: `tools/bench.sh` (as root on Debian 12; about ten minutes on two "
                 f"cores); the last run refreshed part of it: `{a.command}`.")
    else:
        L.append(f"Reproduce: `{a.command}` (as root on Debian 12; about ten minutes on two cores).")
    L.append("")
    L.append("| run | machine | kernel | devices |")
    L.append("|---|---|---|---|")
    for label, doc in (("host: hugetlb stand-in, native speed", host),
                       ("guest: real device-dax in QEMU (TCG, emulated CPU)", guest)):
        if doc:
            devs = ", ".join(doc.get("devices", []))
            L.append(f"| {label}{' (quick)' if doc.get('quick') else ''} | {doc['machine']} | "
                     f"{doc['kernel']} | {devs} |")
        else:
            L.append(f"| {label} | not run | | |")
    L.append("")
    L.append("The guest's CPU is emulated instruction by instruction, so its absolute times mean "
             "nothing: its tables give only the library's cost relative to its baseline. "
             "*library cost ÷ baseline* is time over time (for pairs per second: the inverse "
             "rate), so above 1 the library is slower. A dash: not measured, the note says why.")
    L.append("")

    for key, title, subs in METRICS:
        L.append(f"## {title}")
        L.append("")
        L.extend(INTRO[key])
        L.append("")
        for label, doc, is_guest in (("Host", host, False), ("Guest (device-dax)", guest, True)):
            if not doc:
                continue
            rows = [r for r in doc["results"] if r["metric"] in subs]
            if not rows:
                continue
            L.append(f"### {label}")
            L.append("")
            L.extend(table(rows, is_guest))
            L.append("")
            ex = explanations(rows, is_guest)
            if ex:
                L.extend(ex)
                L.append("")
        if key == "pin":
            ratios = [("host", x) for x in cost_1g_4k(host)] + [("guest", x) for x in cost_1g_4k(guest)]
            if ratios:
                L.append("### Cost of pinning 1 GiB: 1G pages against 4K pages")
                L.append("")
                L.append("| run | consumer | call | 1G pages, ms/GiB | 4K pages, ms/GiB | 1G / 4K |")
                L.append("|---|---|---|---:|---:|---:|")
                for where, (c, call, g, k, q) in ratios:
                    gv = fmt(g) if where == "host" else "–"
                    kv = fmt(k) if where == "host" else "–"
                    L.append(f"| {where} | {c} | {call} | {gv} | {kv} | {q:.3f} |")
                L.append("")
                L.append("On the host the 4K case is anonymous memory and the 1G case the hugetlb "
                         "stand-in (the stand-in has no 4K pages); in the guest both are "
                         "device-dax namespaces.")
                L.append("")
        if key == "alloc":
            L.extend(pool_section(load(os.path.join(os.path.dirname(a.host), "pool.json"))))
        png = plot(key, title.split(". ", 1)[-1], host, guest, a.plots)
        if png:
            L.append(f"![{title}]({os.path.join(rel, os.path.basename(png))})")
            L.append("")

    # Per-kernel pin paths come from the guest matrix (tools/bench.sh --pin-paths),
    # one JSON file per kernel, not from this run.
    docs = pin_paths.load(sorted(glob.glob(os.path.join(os.path.dirname(a.host),
                                                        "pin-paths-*.json"))))
    L.extend(pin_paths.section(docs, a.plots, rel))
    pin_paths.report_claims(docs)
    L.extend(heap_section(load(os.path.join(os.path.dirname(a.host), "heap.json"))))
    # The heap's programs come from the guest too (tools/bench.sh --programs),
    # one JSON file per kernel.
    L.extend(programs.section(programs.load(sorted(glob.glob(os.path.join(
        os.path.dirname(a.host), "programs-*.json"))))))
    L.extend(TIME_GOES)
    L.append("")
    L.append("Raw results: `tools/bench/host.json`, `tools/bench/guest.json` "
             "(`daxalloc-bench --json`).")
    with open(a.out, "w") as f:
        f.write("\n".join(L) + "\n")
    print(f"report: wrote {a.out} and the plots in {a.plots}")
    return 0


def pool_section(doc):
    """The pool engine at many regions held, from daxalloc-pool-bench --json (tools/bench/pool.json)."""
    if not doc:
        return []
    L = ["### Pool engine, many regions held (test device)", ""]
    L.append("`daxalloc_alloc` + `daxalloc_region_free` of one unit on a pool already holding N "
             "named regions, against `mmap` + `munmap` of one unit of the same file, alternating, "
             f"on a test-only device: an ordinary memfd with a {doc['unit'] >> 10} KiB unit "
             "(built into the benchmark only; the library cannot open it), so that counts no "
             "device here holds can be reached. *× raw* is time per library pair over time per "
             "raw pair; *÷ at 0* that ratio over the same ratio on an empty pool; *open* is "
             "`daxalloc_pool_open` of the pool holding N regions after the writer that filled "
             "it closed (a close folds a long journal into the table: a restart's open); *open, "
             "records left* the same with the journal records the fill left (*records*: as a "
             "writer killed leaves them; these opens are read-only, so that none folds them); "
             "*read once* is what copying the bytes an open must read (the newest table and the "
             "journal's records) from a fresh mapping of the device into fresh memory costs, in "
             "the same run: no open can take less. The three kinds of pair take turns in {doc['slice_ms']} ms slices, "
             f"{doc['rounds']} rounds, each of the six orders in turn, and each is its total "
             "time over its total pairs "
             "(what slows the machine for a while slows all three alike, and the checkpoints "
             "a full journal makes are counted as often as they come); open and read once are "
             f"the best of {doc['repeat']}. {doc['cpus']} CPUs, Linux {doc['kernel']}. Goals (issue "
             "#15): a pair at most 1.3× raw, at 100,000 regions at most 1.2× the ratio at 0, "
             "open at 100,000 regions within 20 ms. Reproduce: `build/tools/daxalloc-pool-bench --json` "
             "(`tools/bench.sh` runs it).")
    L.append("")
    L.append("| regions held | raw, µs/pair | unnamed, µs/pair | × raw | ÷ at 0 | named, µs/pair | "
             "× raw | ÷ at 0 | open, ms | read once, ms | records | open, records left, ms | "
             "read once, ms |")
    L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    x0 = None
    for r in doc["results"]:
        n = f"{r['regions']:,}"
        if "not_reached" in r:
            L.append(f"| {n} | – | – | – | – | – | – | – | – ({r['not_reached']}) | – | – | – | – |")
            continue
        x = (r["unnamed_ns"] / r["raw_ns"], r["named_ns"] / r["raw_ns"])
        if r["regions"] == 0:
            x0 = x
        rel = [f"{x[i] / x0[i]:.2f}" if x0 else "–" for i in (0, 1)]
        once = f"{r['read_once_ms']:.2f}" if "read_once_ms" in r else "–"
        if "open_journal_ms" in r:
            left = (f"{r['journal_records']:,} | {r['open_journal_ms']:.2f} | "
                    f"{r['read_once_journal_ms']:.2f}")
        else:
            left = "– | – | –"
        L.append(f"| {n} | {r['raw_ns'] / 1000:.2f} | {r['unnamed_ns'] / 1000:.2f} | {x[0]:.2f} | "
                 f"{rel[0]} | {r['named_ns'] / 1000:.2f} | {x[1]:.2f} | {rel[1]} | "
                 f"{r['open_ms']:.2f} | {once} | {left} |")
    L.append("")
    L.append("Names, offsets and free extents are indexed in memory (a hash and two treaps), so "
             "a pair does not scan the table. The table follows the device (format 2.1: here one "
             "entry per unit); a checkpoint rewrites it, and a large table's journal holds one "
             "record per four entries, so the checkpoints' share of a pair does not grow with it. "
             "Opening reads and checks the newest table only, replays the journal sorted and "
             "merged once, and builds the index from the sorted table in linear time; a "
             "writer's close folds a journal holding an eighth of its cells or more into the "
             "table, as SQLite's last connection folds its WAL, so that a restart reads the "
             "table alone. "
             "What a pair adds to the raw one is user time, some thousands of instructions: locking, "
             "the unchanged-state check (one header read when the lock names this handle), two "
             "journal records of two checksummed copies each, the index updates and the mapping "
             "records. With many regions held the index's treaps are deeper and a checkpoint "
             "(the index written in order straight into the standby table and checksummed as "
             "it goes) comes each time the journal fills, after a quarter as many records as the "
             "table holds entries: about 4 ms at 100,000 regions here, the first after an open "
             "(whose pages this mapping never touched) about 30. "
             "An open with records left costs a few times what reading its bytes once costs: "
             "the journal is read cell by cell and each record checked and collected, the table "
             "validated, the index built. After a close, an open reads the table alone, and "
             "checks every entry and name and builds the index; "
             "where a first touch of a fresh page is dear (in a virtual machine, as here), the "
             "bytes alone take half the 20 ms goal.")
    L.append("")
    if doc.get("meta_reads"):
        L.append("Reads of metadata go through a copy guarded against media errors nobody listed "
                 "(a SIGBUS in the copy makes those bytes unreadable instead of ending the "
                 "process): `meta_read` of a header and of a whole region table against `memcpy` "
                 "of the same bytes of the same mapping, alternating, same run; and the CRC-32C "
                 "a load checks them with (SSE4.2: from 768 bytes on, three streams at once, "
                 "joined after each block; a region table's took 3.0× as long in one stream).")
        L.append("")
        L.append("| metadata read | bytes | memcpy, ns | meta_read, ns | ÷ memcpy | CRC-32C, ns | "
                 "÷ memcpy |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        for r in doc["meta_reads"]:
            crc = (f"{r['crc32c_ns']:.1f} | {r['crc32c_ns'] / r['memcpy_ns']:.2f}"
                   if "crc32c_ns" in r else "– | –")
            L.append(f"| {r['what']} | {r['bytes']:,} | {r['memcpy_ns']:.1f} | "
                     f"{r['meta_read_ns']:.1f} | {r['meta_read_ns'] / r['memcpy_ns']:.2f} | {crc} |")
        L.append("")
    return L


def heap_section(doc):
    """The heap's section, from daxalloc-heap-bench --json (tools/bench/heap.json)."""
    if not doc:
        return []
    L = ["## Heap: malloc/free pairs per second", ""]
    L.append("`daxalloc_heap_malloc` + `daxalloc_heap_free` on a region of "
             f"`{doc['device']}` against glibc's `malloc` + `free` on DRAM, in the same process. "
             "Each thread allocates a batch of "
             f"{doc['batch']} objects (writing a byte of each) and frees them, over and over; "
             "*mixed* draws sizes log-uniformly from 16 B to 64 KiB. Also measured: the heap "
             "with `DAXALLOC_HEAP_COUNT` (*counted*), tbbmalloc's own `scalable_malloc` on DRAM "
             "(the allocator under the heap, without the pool and without libdaxalloc) and "
             "memkind's fixed kind (`memkind_create_fixed`) on another region of the same device.")
    L.append("")
    L.append("How it is measured: per thread count and size, the same worker threads run "
             f"every allocator in slots of about {doc['slot_ms']:g} ms, one slot each per round, "
             f"the order turning from round to round; {doc['rounds']} rounds after an untimed "
             "one. glibc and the heaps do the same number of batches per slot (calibrated on "
             "glibc); memkind, far slower, gets its own. Time is the process's CPU time "
             "(all threads), so other programs on the machine cost a slot nothing: pairs/s "
             "are per CPU-second. A value is the median of its slots; a ratio is the median "
             "of the per-round ratios to glibc's slot of the same round, with the quartiles "
             "in brackets. glibc is told to keep freed memory (`M_TRIM_THRESHOLD`, "
             "`M_MMAP_THRESHOLD`) as the heap does; otherwise it returns 64 freed objects of "
             "4 KiB and up to the kernel every batch and the table measures page faults. "
             f"{doc['cpus']} CPUs shared with other work, Linux {doc['kernel']}. Goal: at least "
             "0.9× glibc. Reproduce: `daxalloc-heap-bench --json` (`tools/bench.sh` runs it).")
    L.append("")
    L.append("| threads | size | glibc, pairs/s | daxalloc heap, pairs/s | heap ÷ glibc "
             "| counted ÷ glibc | tbbmalloc ÷ glibc | memkind fixed ÷ glibc |")
    L.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
    by = {(r["alloc"], r["threads"], r["size"]): r for r in doc["results"]}
    short = []
    for t, size in sorted({(r["threads"], r["size"]) for r in doc["results"]},
                          key=lambda x: (x[0], x[1] or 1 << 40)):
        g = by.get(("glibc", t, size))
        name = "mixed" if size == 0 else (f"{size >> 10} KiB" if size >= 1024 else f"{size} B")

        def q(a, spread=False):
            r = by.get((a, t, size))
            if not r or "ratio" not in r:
                return "–"
            v = f"{r['ratio']:.2f}"
            return v + f" ({r['ratio_q1']:.2f}–{r['ratio_q3']:.2f})" if spread else v
        d = by.get(("daxalloc", t, size))
        if d and d.get("ratio", 1) < 0.9:
            short.append(f"{name} at {t} thread{'s' if t > 1 else ''} ({d['ratio']:.2f})")
        L.append(f"| {t} | {name} | {fmt(g['pairs_per_s']) if g else '–'} | "
                 f"{fmt(d['pairs_per_s']) if d else '–'} | {q('daxalloc', True)} | "
                 f"{q('daxalloc-counted')} | {q('tbbmalloc')} | {q('memkind')} |")
    L.append("")
    if short:
        L.append("Below 0.9× glibc: " + ", ".join(short) + ".")
        L.append("")
    # The large sizes' ratios with the cache, from this run's table.
    large = []
    for size, name in ((16 << 10, "16 KiB"), (64 << 10, "64 KiB")):
        rs = [r["ratio"] for (a, t, sz), r in by.items()
              if a == "daxalloc" and sz == size and "ratio" in r]
        if rs:
            large.append(f"{name} is at {min(rs):.2f}–{max(rs):.2f}× glibc")
    L.extend(w.replace("{large}", " and ".join(large) or "the large sizes are as measured")
             for w in HEAP_WHY)
    L.append("")
    return L


# What the heap's table does not say by itself, measured (the commands are given).
HEAP_WHY = [
    "How well it repeats: three runs of `daxalloc-heap-bench --threads 1 --sizes 16,64 "
    "--rounds 21` one after the other, with other builds and tests keeping the machine busy "
    "(load 6 to 9 on 2 CPUs): 16 B 0.93, 0.92, 0.97; 64 B 0.92, 0.92, 0.90.",
    "",
    "Where the time goes. tbbmalloc's pool calls (`rml::pool_malloc`, `rml::pool_free`) run "
    "the same code as its `scalable_malloc` and `scalable_free` (oneTBB 2021.8, "
    "`src/tbbmalloc/frontend.cpp`): up to 4 KiB the heap is within about 10% of tbbmalloc "
    "alone, the difference being libdaxalloc's call, the ownership check and the 16-byte "
    "rounding (`round16()`, which changes no class at the measured sizes). The free's "
    "ownership check used to go through the PLT (an exported function called inside the "
    "library) and the pool's functions through PLT stubs; both are gone, which brought 16 B "
    "and 64 B from 0.80–0.87× to 0.90–0.96× on one thread. The pool policy (granularity, "
    "`fixed_pool`, `keep_all_memory`) only shapes how the pool takes memory from the region, "
    "which happens once per 16 KiB block or large object, not per pair.",
    "",
    "Large objects. Objects above 8064 bytes are tbbmalloc's large objects, and a thread of "
    "tbbmalloc caches at most 32 freed ones, 4 MiB in all (`LocalLOCImpl<8,32>`, compiled in: "
    "`scalable_allocation_mode` sets the process's default pool only, and the pool policy "
    "shapes how the pool takes memory, not this); the batch of 64 overflows it every round, "
    "which is why tbbmalloc alone stays at about half of glibc at 16 KiB and 64 KiB (the "
    "*tbbmalloc* column), as the heap did (0.37–0.51×; with `--batch 16` 1.14–1.18×). The "
    "heap keeps a cache of its own in front of the pool: per thread and heap up to 4 MiB of "
    "freed objects from 8065 B to 64 KiB, in lists by 4 KiB class, a one-byte mark per "
    "4 KiB of the heap telling a free which objects these are. A large object is asked of "
    "the pool at its class's size and page-aligned, so it may be up to 4 KiB larger than "
    "asked (`daxalloc_heap_usable_size` says so); the alignment lets a free skip the mark "
    "for nearly every small object: tbbmalloc puts large objects at any multiple of 64 bytes "
    "in a page, and reading the mark for every 64-byte-aligned pointer cost 16 B and 64 B "
    "2–3%. The cache goes back to the pool when its thread exits, when the thread caches "
    "for a fifth heap, and when a malloc finds the heap full; a heap destroyed while other "
    "threads cache for it is told by a generation, and their objects of it are dropped, "
    "never handed out by a later heap at the same address. With it {large} (the table). "
    "What it costs in memory: on the "
    "hugetlb stand-in, after three threads ran the model up to 64 KiB and exited, 79% as "
    "many 64 KiB objects fit as in a fresh heap, 82% without the cache "
    "(`tests/hugetlb/test-heap.c`, `large_objects_threads`).",
    "",
    "Small objects with and without the cache: `daxalloc-heap-bench --threads 1 --sizes "
    "16,64 --rounds 21`, the heap without the cache and with it run alternately, twice each "
    "(load about 4 on 2 CPUs): 16 B 0.93, 0.91 without, 0.93, 0.92 with; 64 B 0.95, 0.97 "
    "without, 0.94, 0.91 with. Not done: another allocator: memkind's fixed kinds "
    "take a mutex per call (the last column); jemalloc's Debian build replaces the process's "
    "malloc and cannot be loaded privately; mimalloc in Debian 12 is 2.0.9, older than its "
    "heaps confined to a caller's arena (`mi_heap_new_in_arena`, 2.1).",
    "",
    "The counted heap asks the pool for each object's size at malloc and at free "
    "(`rml::pool_msize`, which in Debian's build also calls `rml::pool_identify`): about 0.6× "
    "of the uncounted heap.",
]


INTRO = {
    "pin": [
        "`daxalloc_pin` + `daxalloc_unpin` of a whole region against the consumer's own call on "
        "the same memory, in ms per GiB: io_uring buffer registration on the host (hugetlb at "
        "2M and 1G; anonymous memory for 4K, where the library has nothing to offer); VFIO "
        "type1 (`VFIO_IOMMU_MAP_DMA` through the emulated IOMMU, QEMU's edu device) and RDMA "
        "(`ibv_reg_mr` on soft-RoCE) on device-dax in the guest. Sizes: 1 GiB and the largest "
        "that fits, at most 16 GiB; the *regions held* rows pin 1 GiB again on a pool holding 512 "
        "other regions. The goal is a library overhead of at most 2%: besides the wall-time "
        "ratio, each library row's note gives the library's own work, timed inside the same "
        "call (wall time of `daxalloc_pin` less the kernel call it makes), which the noise of "
        "a shared machine does not blur. Linux 6.1 refuses io_uring buffers on device-dax "
        "(fixed in 6.5): the guest rows say so.",
    ],
    "alloc": [
        "Allocation and free of one unit (2M or 1G) per pair, named and unnamed regions, one "
        "thread and four, in pairs per second, against: `mmap`+`munmap` of the same device by "
        "hand; libpmem2 (`pmem2_map_new`/`pmem2_map_delete` of the same device range); on the "
        "stand-in, memkind's hugetlb kind (`memkind_posix_memalign(MEMKIND_HUGETLB)` + "
        "`memkind_free`, 2M pages). The library does more per pair than any of them: it keeps "
        "a crash-safe record of every region on the device. The *regions held* rows repeat "
        "the single-thread pairs on a pool already holding 512 and 2,000 regions (on these "
        "devices a pool holds at most 2,048; the pool engine at 100,000 is below).",
    ],
    "fault": [
        "Mapping 1 GiB and writing one byte in every page (the kernel's page: 4K, 2M or 1G), "
        "then the same with populate (`DAXALLOC_ALLOC_POPULATE` / `MAP_POPULATE`), against an "
        "`mmap` of the same memory by hand; time per GiB and page faults per GiB "
        "(`getrusage`). On the stand-in the pages stay in the memfd after the first round, as "
        "device-dax memory always is, so both sides map resident memory; on the host the 4K "
        "case is a shmem memfd (kernel only).",
    ],
    "restart": [
        "A restarted program gets its 1 GiB back: the library reopens the pool and the named "
        "region and reads every 4K page; the baseline reads the same bytes from a file with "
        "`O_DIRECT` into a fresh buffer. On the host the file is on the machine's disk; in the "
        "guest it is on the 9p share (the host's page cache behind an emulated transport).",
    ],
}

TIME_GOES = [
    "## Where the time goes",
    "",
    "- **Pins** cost what the kernel charges: the library adds a check of the consumer and the "
    "range, a check under the pool lock that the region is still allocated, and a "
    "record in the pin ledger in device memory so that `daxalloc-ctl pins` and "
    "`daxalloc_region_free` see pins of every process. On a pool with few regions that is "
    "microseconds against milliseconds of page walking per GiB; the region check costs what "
    "a metadata reload costs (below).",
    "- **Allocation** is a metadata transaction, by design: every change takes the pool lock "
    "(a robust process-shared mutex in device memory, shared by every process and namespace), "
    "checks that the active metadata copy is still the one "
    "this handle last read or wrote (else reloads and validates the newest copy: other "
    "processes may have changed it; records other processes appended are applied), and "
    "writes one 256-byte journal record twice (each copy made durable in turn, with its "
    "CRC-32C); every 1,008 records (a large table's: one per four entries) the whole "
    "table is written as a checkpoint. An "
    "alloc+free pair does that twice, plus the mapping and the unmap `mmap` by hand makes "
    "too. The check is one header read when the lock names this handle as the last to "
    "let it go (every unlock writes its handle there; a holder that dies writes none), "
    "else both copies' headers and the journal's next cell are read. A free also asks "
    "whether another process maps "
    "the region: each pool handle records what it maps in device memory beside its lease, so "
    "the answer is a look at the live owners' records; `/proc` is read only where they cannot "
    "tell (an owner that died or forked while mapping, or one with more mappings than its "
    "records hold). Names, offsets and free extents are indexed in memory (built at load, "
    "kept in step with every change), so finding a name or a best fit does not scan the "
    "table. Left to do: checkpoints that write only what changed (today a checkpoint "
    "writes the whole table, paid for by a journal that grows with it).",
    "- **Fault-in** is the kernel's: the library maps with the same flags, so it takes the "
    "same faults at the same page size.",
    "- **Warm restart** avoids moving the data at all: the region comes back at the same "
    "place on the device, so a restart costs the open and the page-table faults, where the "
    "baseline copies every byte from storage.",
]

if __name__ == "__main__":
    sys.exit(main())
