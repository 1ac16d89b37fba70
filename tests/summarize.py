#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Count the real test cases of a meson run.

A Criterion binary writes a JSON report per run (results/NAME.json, or
NAME.PART.json for a meson test that runs several binaries, such as the
devdax guest suite); its cases are counted one by one. A meson test with no
report counts as one case. A meson test that failed while its reports show
no failure (a crash, a hung guest, a harness error) counts one more failure.
Prints one line per meson test and ends with 'N passed, N failed, N skipped',
summed over every build directory given (default: build). With --status N
(the test command's own status so far), a failure no count shows is one more.
"""
import glob
import json
import os
import sys


def count(build, total):
    results = os.path.join(build, "tests", "results")
    log = os.path.join(build, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        print(f"  {build}: no test log: its build failed or its tests did not run")
        total["failed"] += 1
        return
    print(f"{build}:")
    with open(log) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    for run in runs:
        # meson prefixes "project:suite / " once there are several suites
        name, result = run["name"].split(" / ")[-1], run["result"]
        reports = sorted(glob.glob(os.path.join(results, name + ".json")) +
                         glob.glob(os.path.join(results, name + ".*.json")))
        p = fl = sk = 0
        for rep in reports:
            try:
                with open(rep) as f:
                    data = json.load(f)
            except (OSError, ValueError) as e:
                print(f"  {name}: unreadable report {os.path.basename(rep)}: {e}")
                fl += 1
                continue
            p += data.get("passed", 0)
            fl += data.get("failed", 0) + data.get("errored", 0)
            sk += data.get("skipped", 0)
        if not reports:
            if result == "OK":
                p = 1
            elif result == "SKIP":
                sk = 1
            else:
                fl = 1
        elif result not in ("OK", "SKIP") and fl == 0:
            fl = 1
        total["passed"] += p
        total["failed"] += fl
        total["skipped"] += sk
        print(f"  {name:<28} {result:<8} {p} passed, {fl} failed, {sk} skipped")


def main():
    total = {"passed": 0, "failed": 0, "skipped": 0}
    args = sys.argv[1:]
    status = 0
    if args[:1] == ["--status"]:
        status, args = int(args[1]), args[2:]
    for build in args or ["build"]:
        count(build, total)
    if status and not total["failed"]:
        # a step of the test command failed where no case is counted
        print(f"  the test command failed (status {status}) in a step that "
              "counts no case: see its output above")
        total["failed"] += 1
    print(f"{total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped")
    return 1 if total["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
