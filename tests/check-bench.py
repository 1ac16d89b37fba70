#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run daxalloc-bench and check the shape of its --json output (not its speed).

  check-bench.py BENCH [ARGS...]      e.g. check-bench.py daxalloc-bench --quick --json

Fails (exit 1) when the tool fails, its output is not JSON, a key is missing
or has the wrong type, a ratio does not match its values, a row without
values gives no reason, or one of the four metrics measured nothing, or the
run left the machine's huge page settings other than it found them.  Then
it feeds itself broken documents and fails unless it rejects every one.
"""
import copy
import json
import math
import subprocess
import sys

from json_shape import top_level

TOP = {"tool": str, "version": str, "quick": bool, "machine": str, "kernel": str,
       "stat": str, "devices": list, "results": list}
ROW = {"metric": str, "variant": str, "device": str, "baseline": str,
       "library": (int, float, type(None)), "baseline_value": (int, float, type(None)),
       "unit": str, "ratio": (int, float, type(None)), "higher_is_better": bool,
       "iterations": int, "stat": str, "machine": str, "kernel": str, "note": str}
METRICS = {"pin": "pin", "unpin": "pin", "alloc": "alloc", "fault": "fault",
           "faults": "fault", "restart": "restart"}
UNITS = {"ms/GiB", "pairs/s", "faults/GiB"}


def problems(doc):
    out = top_level(doc, TOP)
    if out:
        return out
    if doc["tool"] != "daxalloc-bench":
        out.append(f"tool is '{doc['tool']}'")
    if not doc["results"]:
        out.append("no results")
    measured = set()
    for i, r in enumerate(doc["results"]):
        where = f"row {i} ({r.get('metric')} {r.get('variant')})" if isinstance(r, dict) else f"row {i}"
        if not isinstance(r, dict):
            out.append(f"{where}: not an object")
            continue
        bad = [k for k, t in ROW.items() if k not in r or not isinstance(r[k], t) or
               (t is int and isinstance(r[k], bool))]
        if bad:
            out.append(f"{where}: missing or mistyped {', '.join(bad)}")
            continue
        if r["metric"] not in METRICS:
            out.append(f"{where}: unknown metric")
        if r["unit"] not in UNITS:
            out.append(f"{where}: unknown unit '{r['unit']}'")
        if not r["variant"] or not r["machine"] or not r["kernel"]:
            out.append(f"{where}: empty variant, machine or kernel")
        lib, base, q = r["library"], r["baseline_value"], r["ratio"]
        for name, v in (("library", lib), ("baseline_value", base), ("ratio", q)):
            if v is not None and (not math.isfinite(v) or v < 0):
                out.append(f"{where}: {name} is {v}")
        if lib is not None and base is not None and base > 0:
            if q is None or abs(q - lib / base) > 1e-6 * max(1.0, abs(q)):
                out.append(f"{where}: ratio {q} is not library / baseline = {lib / base}")
        elif q is not None:
            out.append(f"{where}: a ratio without both values")
        if (lib is None or base is None) and not r["note"]:
            out.append(f"{where}: a missing value with no note saying why")
        if (lib is not None or base is not None) and r["iterations"] < 1:
            out.append(f"{where}: values from {r['iterations']} iterations")
        if lib is not None and base is not None:
            measured.add(METRICS.get(r["metric"], "?"))
    for m in ("pin", "alloc", "fault", "restart"):
        if m not in measured:
            out.append(f"metric '{m}' has no row with both a library and a baseline value")
    return out


def self_test(doc):
    """Every mutation must be caught: the check can fail."""
    def mutated(fn):
        d = copy.deepcopy(doc)
        fn(d)
        return d

    both = next(i for i, r in enumerate(doc["results"])
                if r["library"] is not None and r["baseline_value"] is not None)
    cases = {
        "no results": lambda d: d.update(results=[]),
        "missing machine": lambda d: d.pop("machine"),
        "ratio off": lambda d: d["results"][both].update(ratio=d["results"][both]["ratio"] * 2 + 1),
        "string value": lambda d: d["results"][both].update(library="fast"),
        "unknown unit": lambda d: d["results"][both].update(unit="furlongs"),
        "silent gap": lambda d: d["results"][both].update(library=None, ratio=None, note=""),
        "metric gone": lambda d: d.update(results=[r for r in d["results"] if r["metric"] != "restart"]),
    }
    missed = [name for name, fn in cases.items() if not problems(mutated(fn))]
    return [f"self-test: the check accepted a document with {m}" for m in missed]


def hugepage_settings():
    """nr_hugepages and the overcommit limit of every huge page size."""
    import glob
    out = {}
    for d in sorted(glob.glob("/sys/kernel/mm/hugepages/hugepages-*")):
        for attr in ("nr_hugepages", "nr_overcommit_hugepages"):
            with open(f"{d}/{attr}") as f:
                out[f"{d.rsplit('/', 1)[1]}/{attr}"] = int(f.read())
    return out


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    before = hugepage_settings()
    run = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True)
    if run.returncode != 0:
        print(f"FAIL: {' '.join(sys.argv[1:])} exited {run.returncode}")
        return 1
    after = hugepage_settings()
    for k in before:
        if after.get(k) != before[k]:
            print(f"FAIL: the run left {k} at {after.get(k)}, it was {before[k]}")
            return 1
    try:
        doc = json.loads(run.stdout)
    except ValueError as e:
        print(f"FAIL: the output is not JSON: {e}")
        return 1
    bad = problems(doc)
    if not bad:
        bad = self_test(doc)
    for b in bad:
        print(f"FAIL: {b}")
    if bad:
        return 1
    print(f"ok: {len(doc['results'])} rows from {doc['kernel']}, every metric measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
