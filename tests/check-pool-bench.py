#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run daxalloc-pool-bench briefly and check the shape of its --json output
(not its speed): what tools/bench/report.py reads for BENCHMARKS.md.

  check-pool-bench.py POOL_BENCH

Fails (exit 1) when the tool fails, its output is not JSON, a key is
missing or not a positive number, or a count asked for has no row.  Then
it feeds itself broken documents and fails unless it rejects every one.
"""
import copy
import json
import subprocess
import sys

from json_shape import top_level

COUNTS = [0, 100]
TOP = {"device": str, "unit": int, "repeat": int, "rounds": int, "slice_ms": int, "cpus": int,
       "kernel": str, "results": list, "meta_reads": list}
ROW = ("raw_ns", "unnamed_ns", "named_ns", "open_ms", "read_once_ms", "open_journal_ms",
       "read_once_journal_ms")
READ = ("memcpy_ns", "meta_read_ns", "crc32c_ns")


def positive(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0


def problems(doc):
    out = top_level(doc, TOP)
    if out:
        return out
    seen = []
    for r in doc["results"]:
        if not isinstance(r, dict) or not isinstance(r.get("regions"), int):
            out.append(f"a result without its region count: {r!r}")
            continue
        seen.append(r["regions"])
        if "not_reached" in r:
            out.append(f"{r['regions']} regions not reached: {r['not_reached']}")
            continue
        for k in ROW:
            if not positive(r.get(k)):
                out.append(f"{r['regions']} regions: '{k}' missing or not a positive number")
        rec = r.get("journal_records")
        if not isinstance(rec, int) or isinstance(rec, bool) or rec < 0:
            out.append(f"{r['regions']} regions: 'journal_records' missing or not a count")
        elif r["regions"] > 0 and rec == 0:
            out.append(f"{r['regions']} regions filled, yet no journal record left to replay")
    if seen != COUNTS:
        out.append(f"rows for {seen}, asked for {COUNTS}")
    if len(doc["meta_reads"]) != 2:
        out.append(f"{len(doc['meta_reads'])} metadata reads, not 2 (header, table)")
    for m in doc["meta_reads"]:
        for k in READ:
            if not isinstance(m, dict) or not positive(m.get(k)):
                out.append(f"metadata read {m!r}: '{k}' missing or not a positive number")
    return out


def self_test(good):
    def pop_last(d):
        d["results"].pop()

    breaks = [
        lambda d: d["results"][0].pop("read_once_ms"),
        lambda d: d["results"][1].update(open_ms=0),
        pop_last,
        lambda d: d.update(meta_reads=[]),
        lambda d: d.update(kernel=6),
        lambda d: d["results"][1].pop("open_journal_ms"),
        lambda d: d["results"][1].update(journal_records=0),
        lambda d: d["meta_reads"][1].pop("crc32c_ns"),
    ]
    missed = []
    for i, brk in enumerate(breaks):
        d = copy.deepcopy(good)
        brk(d)
        if not problems(d):
            missed.append(i)
    return missed


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = [sys.argv[1], "--regions", ",".join(map(str, COUNTS)), "--repeat", "1", "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        print(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr}", file=sys.stderr)
        return 1
    try:
        doc = json.loads(p.stdout)
    except json.JSONDecodeError as e:
        print(f"not JSON: {e}\n{p.stdout}", file=sys.stderr)
        return 1
    bad = problems(doc)
    for b in bad:
        print(f"check-pool-bench: {b}", file=sys.stderr)
    missed = self_test(doc) if not bad else []
    for i in missed:
        print(f"check-pool-bench: broken document {i} was accepted", file=sys.stderr)
    if not bad and not missed:
        print(f"check-pool-bench: {len(doc['results'])} rows, {len(doc['meta_reads'])} reads: ok")
    return 1 if bad or missed else 0


if __name__ == "__main__":
    sys.exit(main())
