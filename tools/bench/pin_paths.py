#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The "Pin path per kernel" section of BENCHMARKS.md and its plot, from the
JSON that tests/guest/pin-paths.sh writes in the guest, one file per kernel
(tools/bench/pin-paths-LINE.json, LINE one of guest.sh's --kernel lines).

  pin_paths.py --out BENCHMARKS.md --plots DIR FILE.json...

replaces that section of --out (report.py calls section() when it writes
the whole page). Every number comes from the files; the words around them
are fixed here. It prints whether each of the seeds' claims holds.
"""
import argparse
import json
import os
import re
import subprocess
import sys

TITLE = "## Pin path per kernel (guest, device-dax)"
MEMORY = ["devdax 4K", "devdax 2M", "devdax 1G", "hugetlb 2M", "hugetlb 1G"]
CONSUMERS = ["vfio", "rdma", "io_uring", "iommufd"]
CALLS = {
    "vfio": ("`VFIO_IOMMU_MAP_DMA`", "`VFIO_IOMMU_UNMAP_DMA`"),
    "rdma": ("`ibv_reg_mr`", "`ibv_dereg_mr`"),
    "io_uring": ("`io_uring_register_buffers`", "`io_uring_unregister_buffers`"),
    "iommufd": ("`IOMMU_IOAS_MAP`", "`IOMMU_IOAS_UNMAP`"),
}
# Consumers the pin-path probe can pin with (daxalloc-ctl vmemmap --pin-with).
PROBED = ["vfio", "rdma", "io_uring"]
PATH_TEXT = {"base_page": "per base page", "compound_page": "per compound page",
             "unknown": "inconclusive"}
# The seeds' claim: with the batched path, 2M pins for at most 1/10 of 4K and
# within 1.5x of hugetlb 2M; without it, 2M device-dax is "well above"
# hugetlb 2M, taken as at least twice.
BATCHED_2M_4K = 0.10
BATCHED_2M_HUGETLB = 1.5
BASE_2M_HUGETLB = 2.0


def version_key(release):
    return tuple(int(x) for x in re.findall(r"\d+", release or "")[:3])


def line_of(path):
    """pin-paths-6.12.json -> 6.12"""
    base = os.path.basename(path)
    return base[len("pin-paths-"):-len(".json")] if base.startswith("pin-paths-") else base


def load(paths):
    docs = []
    for p in paths:
        with open(p) as f:
            doc = json.load(f)
        doc["line"] = line_of(p)
        docs.append(doc)
    # 6.12 before 6.12-iommufd: the same version, Debian's build first
    return sorted(docs, key=lambda d: (version_key(d.get("release")), len(d["line"])))


def shorten(note, doc):
    """A row's note: the stand-in's advice to reserve pages is the guest's to follow."""
    cut = note.find("; reserve them")
    if cut < 0:
        return note
    pages = doc.get("hugepages_1g")
    got = f"; the guest reserves one 1G page at boot and had {pages} after asking for 2 at run time" \
        if pages is not None else ""
    return note[:cut] + got


def cells(doc):
    """{(consumer, memory): {pin_lib, pin_raw, unpin_lib, unpin_raw, n, note}}"""
    out = {}
    for m in doc["memory"]:
        res = m.get("result")
        if not res:
            why = "; ".join(m.get("stderr_tail") or []) or f"exit status {m.get('exit')}"
            out[("*", m["memory"])] = {"note": f"the run failed: {why}"}
            continue
        for r in res["results"]:
            if r["metric"] not in ("pin", "unpin") or "regions held" in r["variant"]:
                continue
            consumer = r["variant"].split()[0]
            c = out.setdefault((consumer, m["memory"]), {"note": ""})
            c[r["metric"] + "_lib"] = r.get("library")
            c[r["metric"] + "_raw"] = r.get("baseline_value")
            c["n"] = r.get("iterations")
            note = shorten(r.get("note") or "", doc)
            if note and note not in c["note"] and not note.startswith("library's own"):
                c["note"] = (c["note"] + "; " if c["note"] else "") + note
            if r["metric"] == "pin" and r.get("note", "").startswith("library's own"):
                c["own"] = r["note"]
    return out


def consumers_of(doc, cs):
    seen = {k[0] for k in cs if k[0] != "*"}
    seen |= {p["consumer"] for p in doc.get("probe", [])}
    return [c for c in CONSUMERS if c in seen] + sorted(seen - set(CONSUMERS))


def probe_of(doc, consumer):
    for p in doc.get("probe", []):
        if p["consumer"] == consumer:
            res = p.get("result")
            try:
                return res["targets"][0]["pin_path"], None
            except (TypeError, KeyError, IndexError):
                why = "; ".join(p.get("stderr_tail") or []) or f"exit status {p.get('exit')}"
                return None, why
    return None, "not run"


def ms(v):
    if v is None:
        return "–"
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 0.1 else f"{v:.3f}"


def ratio(a, b):
    return a / b if a and b else None


def fr(q):
    return "–" if q is None else f"{q:.3f}" if q < 0.1 else f"{q:.2f}"


def md(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def kernel_path(doc, cs):
    """The kernel's pin path for device-dax: what its consumers' probes found,
    when those that could tell agree (a consumer may be inconclusive)."""
    found = set()
    for consumer in consumers_of(doc, cs):
        pp, _ = probe_of(doc, consumer)
        if pp and pp.get("verdict") in ("base_page", "compound_page"):
            found.add(pp["verdict"])
    return found.pop() if len(found) == 1 else None


def claims(docs):
    """[(kernel, consumer, claim text, holds, numbers)] from the kernel-call pins."""
    out = []
    for doc in docs:
        cs = cells(doc)
        verdict = kernel_path(doc, cs)
        for consumer in consumers_of(doc, cs):
            g = lambda mem, k="pin_raw": cs.get((consumer, mem), {}).get(k)
            k4, k2, h2 = g("devdax 4K"), g("devdax 2M"), g("hugetlb 2M")
            q4, qh = ratio(k2, k4), ratio(k2, h2)
            nums = f"2M/4K = {fr(q4)}, 2M/hugetlb 2M = {fr(qh)}"
            if verdict == "compound_page":
                text = (f"batched path: 2M pin ≤ {BATCHED_2M_4K:g} × 4K and ≤ "
                        f"{BATCHED_2M_HUGETLB:g} × hugetlb 2M")
                holds = None if q4 is None or qh is None else \
                    q4 <= BATCHED_2M_4K and qh <= BATCHED_2M_HUGETLB
            elif verdict == "base_page":
                text = f"no batched path: 2M pin ≥ {BASE_2M_HUGETLB:g} × hugetlb 2M"
                holds = None if qh is None else qh >= BASE_2M_HUGETLB
            else:
                continue
            out.append((doc["release"], consumer, text, holds, nums))
    return out


def vmemmap_rows(doc):
    """What enabling the probe's device cost in RAM, per alignment, over its runs:
    [(align, (size, memmap), kernel_row, model bytes of each row, [measured], [matched])]."""
    rows = {}
    for p in doc.get("probe", []):
        try:
            t = p["result"]["targets"][0]
            samples = t["measured"]["samples"]
        except (TypeError, KeyError, IndexError):
            continue
        model = {m["align"]: m for m in t["model"]}
        for sm in samples:
            if not sm.get("measured") or sm["align"] not in model:
                continue
            m = model[sm["align"]]
            applied = f"{m['kernel_row']} ({m.get('kernel_row_from', 'version')})"
            r = rows.setdefault(sm["align"], ((t["size"], t.get("memmap")), [], m["total"], [], []))
            r[1].append(applied)
            r[3].append(sm["median"])
            r[4].append(sm.get("match") or "none")
    return [(a,) + rows[a] for a in sorted(rows)]


def mib(v):
    return f"{v / (1 << 20):.2f}" if abs(v) >= 1 << 20 else f"{v / 1024:.0f} KiB"


def vmemmap_table(doc):
    rows = vmemmap_rows(doc)
    if not rows:
        return []
    size, memmap = rows[0][1]
    L = [f"vmemmap of the probe's device ({size >> 30} GiB, memmap {({'ram': 'in RAM', 'device': 'on the device'}).get(memmap, 'where unknown')}), measured by each "
         "probe run (one cycle each) against the model: MiB an enable takes, the row the "
         "library applies to this kernel (and whence: its page size, the 2M measurement or "
         "the kernel's version) and the row each measurement is nearest to. At 1G "
         "the rows differ by a few KiB, less than the noise: only 2M tells the 2-page and "
         "1-page dedup apart.", "",
         "| align | model: no dedup | 2-page dedup | 1-page dedup | row applied | measured | nearest row |",
         "|---|---:|---:|---:|---|---:|---|"]
    names = {4096: "4K", 2 << 20: "2M", 1 << 30: "1G"}
    for align, _, row, total, measured, match in rows:
        L.append(f"| {names.get(align, align)} | {mib(total['no_dedup'])} | "
                 f"{mib(total['dedup_2page'])} | {mib(total['dedup_1page'])} | "
                 f"{', '.join(dict.fromkeys(row))} | "
                 f"{', '.join(mib(v) for v in measured)} | {', '.join(dict.fromkeys(match))} |")
    L.append("")
    return L


def holds_text(h):
    return "holds" if h else "not measured: no device-dax pin with this consumer (the table " \
        "says why)" if h is None else "**does not hold**"


def plot(docs, plots):
    """Pin and unpin of 1 GiB by the kernel's own call, per kernel and consumer."""
    labels, rows = [], []
    for doc in docs:
        cs = cells(doc)
        for consumer in consumers_of(doc, cs):
            vals = [[cs.get((consumer, m), {}).get(k) for m in MEMORY] for k in ("pin_raw", "unpin_raw")]
            if not any(v for vv in vals for v in vv):
                continue
            short = re.match(r"\d+\.\d+", doc.get("release") or "")
            # a kernel built here (6.12-iommufd) keeps its line's name
            tag = doc["line"] if "-" in doc["line"] or not short else short.group(0)
            labels.append(f"{tag} {consumer}")
            rows.append(vals)
    if not labels:
        return None
    png = os.path.join(plots, "pin-paths.png")
    dat = os.path.join(plots, "pin-paths.dat")
    with open(dat, "w") as f:
        for which in range(2):
            for label, vals in zip(labels, rows):
                f.write('"%s" %s\n' % (label, " ".join(
                    f"{v:g}" if v else "NaN" for v in vals[which])))
            f.write("\n\n")
    series = lambda idx: ", ".join(
        f'"{dat}" index {idx} using {i + 2}{":xtic(1)" if i == 0 else ""} title "{m}"'
        for i, m in enumerate(MEMORY))
    # room for each cluster's label (about 8 px a character at this font)
    width = max(900, max(110, 8 * max(map(len, labels))) * len(labels) + 250)
    script = f"""
set terminal pngcairo noenhanced size {width},900 font ",9"
set output "{png}"
set multiplot layout 2,1
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y 10
set grid ytics
set key outside right top
set ylabel "ms per GiB (log scale)"
set title "Pin 1 GiB, the consumer's own call, per kernel (guest, emulated CPU)"
plot {series(0)}
set title "Unpin 1 GiB, the consumer's own call, per kernel"
plot {series(1)}
unset multiplot
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"pin_paths: gnuplot failed: {e} {getattr(e, 'stderr', '') or ''}".strip(),
              file=sys.stderr)
        return None
    finally:
        os.unlink(dat)
    return png


def section(docs, plots, rel):
    """The section's lines (from its title on)."""
    L = [TITLE, ""]
    if not docs:
        return L + ["Not run yet: `tools/bench.sh --pin-paths`.", ""]
    n = sorted({c.get("n") for d in docs for c in cells(d).values() if c.get("n")})
    L.append(
        "Written by `tools/bench/report.py` from `tools/bench/pin-paths-*.json`, one file per "
        "kernel Debian users run, each made in the test guest (`tests/guest/README.md`) by "
        "`tests/guest/pin-paths.sh`: for every consumer the kernel offers, `daxalloc_pin` + "
        "`daxalloc_unpin` of a 1 GiB region and the consumer's own calls on the same memory, "
        "alternately (`daxalloc-bench --only pin`), on device-dax at 4K, 2M and 1G (pmem "
        "namespaces) and on hugetlb 2M and 1G pages (the stand-in, or pages mapped by hand "
        f"when it cannot be had), best of {'/'.join(map(str, n)) or '–'}; "
        "then daxalloc-ctl's pin-path probe (`daxalloc-ctl vmemmap DEV --measure --pin-with "
        "CONSUMER`), which pins the same GiB with the same consumer on one hmem device "
        "realigned to 4K and 2M and on hugetlb 2M pages, and says which path the kernel takes.")
    L.append("")
    without = [d["release"] for d in docs if not (d.get("iommufd") or {}).get("dev_iommu")]
    if len(without) == len(docs):
        L.append("No consumer here is iommufd: none of these kernels has it (no Debian kernel "
                 "enables `CONFIG_IOMMUFD`; each run looks for `/dev/iommu` and the module).")
        L.append("")
    else:
        have = [f"`{d['line']}`" for d in docs if (d.get("iommufd") or {}).get("dev_iommu")]
        L.append(f"iommufd only on {', '.join(have)}: no Debian kernel enables `CONFIG_IOMMUFD`, "
                 "so the guest harness builds one from Debian's `linux-source-6.12` with it on "
                 "(`tests/guest/build-kernel.sh`, an opt-in: see `tests/guest/README.md`).")
        L.append("")
    L.append("Reproduce (as root; one guest after another, a few minutes each under "
             "emulation): `tools/bench.sh --pin-paths` for Debian's three kernels, "
             "`tools/bench.sh --pin-paths=6.12-iommufd` for the one built with iommufd, "
             "or for one:")
    L.append("")
    L.append("```sh")
    L.append("tests/guest/guest.sh --kernel 6.12 --timeout 1500 -- \\")
    L.append("    tests/guest/pin-paths.sh build tools/bench/pin-paths-6.12.json")
    L.append("python3 tools/bench/pin_paths.py --out BENCHMARKS.md --plots tools/bench "
             "tools/bench/pin-paths-*.json")
    L.append("```")
    L.append("")
    L.append("The guest's CPU is emulated, the machine was shared, and the guest's clock runs "
             "at a different pace on each kernel under emulation: compare within a kernel, "
             "never across kernels. Values are ms for 1 GiB; *library* is the whole "
             "`daxalloc_pin` or `daxalloc_unpin`, *kernel call* the consumer's own.")
    L.append("")

    L.append("### The seeds' claim, checked")
    L.append("")
    L.append("From the kernel-call pins in the tables below, for every consumer that pinned "
             "device-dax; which claim applies to a kernel follows the path its probe found with "
             "the consumers that could tell, not its version.")
    L.append("")
    L.append("| kernel | consumer | claim | measured | |")
    L.append("|---|---|---|---|---|")
    for rel_, consumer, text, h, nums in claims(docs):
        L.append(f"| {rel_} | {consumer} | {text} | {nums} | {holds_text(h)} |")
    L.append("")

    for doc in docs:
        cs = cells(doc)
        L.append(f"### Linux {doc['release']} (`--kernel {doc['line']}`)")
        L.append("")
        io = doc.get("iommufd") or {}
        if io.get("dev_iommu") and any(k[0] == "iommufd" for k in cs):
            cfg = (io.get("config") or "").lstrip("# ")
            iommu = (f"iommufd: this kernel has it (`/dev/iommu`{', `' + cfg + '`' if cfg else ''}); "
                     "its pins go into an IOAS with the guest's edu device attached through its "
                     "VFIO cdev (`IOMMU_IOAS_MAP` pins nothing while no device is attached).")
        elif io.get("dev_iommu"):
            iommu = "iommufd: this kernel has it (`/dev/iommu`), but the guest pins no device through it yet."
        else:
            cfg = (io.get("config") or "").lstrip("# ")
            how = f"its config says `{cfg}`" if cfg else \
                "no `iommufd` module, no `/dev/iommu`" if io else "not checked in this run"
            iommu = f"iommufd: not in this kernel ({how}; no Debian kernel builds it)."
        L.append(iommu)
        L.append("")
        L.append("Pin path the probe found, per consumer:")
        L.append("")
        for consumer in consumers_of(doc, cs):
            if consumer not in PROBED:
                L.append(f"- {consumer}: not probed (the probe pins with "
                         f"{', '.join(PROBED)})")
                continue
            pp, why = probe_of(doc, consumer)
            if not pp:
                L.append(f"- {consumer}: no answer ({md(why)})")
                continue
            q4 = ratio(pp.get("ns_2m"), pp.get("ns_4k"))
            qh = ratio(pp.get("ns_2m"), pp.get("ns_hugetlb_2m"))
            if q4 is not None:
                L.append(f"- {consumer}: **{PATH_TEXT.get(pp['verdict'], pp['verdict'])}** "
                         f"(the probe's own pins: 2M/4K = {fr(q4)}, 2M/hugetlb 2M = {fr(qh)})")
            else:
                L.append(f"- {consumer}: {PATH_TEXT.get(pp['verdict'], pp['verdict'])}, not "
                         f"measured: {md(pp.get('how', ''))}")
        L.append("")
        L.append("| consumer | memory | pin, library | pin, kernel call | unpin, library | "
                 "unpin, kernel call | note |")
        L.append("|---|---|---:|---:|---:|---:|---|")
        for consumer in consumers_of(doc, cs):
            for mem in MEMORY:
                c = cs.get((consumer, mem)) or cs.get(("*", mem))
                if c is None:
                    continue
                L.append(f"| {consumer} | {mem} | {ms(c.get('pin_lib'))} | {ms(c.get('pin_raw'))} | "
                         f"{ms(c.get('unpin_lib'))} | {ms(c.get('unpin_raw'))} | {md(c['note'])} |")
        L.append("")
        L.extend(vmemmap_table(doc))
        L.append("| consumer | call | pin 2M / 4K | pin 2M / hugetlb 2M | pin 1G / 4K | "
                 "unpin 2M / 4K | unpin 2M / hugetlb 2M |")
        L.append("|---|---|---:|---:|---:|---:|---:|")
        for consumer in consumers_of(doc, cs):
            for side, name in (("raw", "kernel call"), ("lib", "library")):
                g = lambda mem, what: cs.get((consumer, mem), {}).get(f"{what}_{side}")
                qs = [ratio(g("devdax 2M", "pin"), g("devdax 4K", "pin")),
                      ratio(g("devdax 2M", "pin"), g("hugetlb 2M", "pin")),
                      ratio(g("devdax 1G", "pin"), g("devdax 4K", "pin")),
                      ratio(g("devdax 2M", "unpin"), g("devdax 4K", "unpin")),
                      ratio(g("devdax 2M", "unpin"), g("hugetlb 2M", "unpin"))]
                if not any(q is not None for q in qs):
                    continue
                call = CALLS.get(consumer, ("", ""))[0] if side == "raw" else "`daxalloc_pin`"
                L.append(f"| {consumer} | {name} {call} | " + " | ".join(fr(q) for q in qs) + " |")
        L.append("")
    png = plot(docs, plots)
    if png:
        L.append(f"![Pin path per kernel]({os.path.join(rel, os.path.basename(png))})")
        L.append("")
    return L


def report_claims(docs):
    for rel_, consumer, text, h, nums in claims(docs):
        print(f"pin_paths: {rel_} {consumer}: {text}: {nums}: {holds_text(h).strip('*')}")


def replace_section(page, lines):
    """@page's text with the section replaced (or added before the heap's)."""
    text = page.split("\n")
    start = next((i for i, l in enumerate(text) if l.strip() == TITLE), None)
    if start is None:
        at = next((i for i, l in enumerate(text) if l.startswith("## Heap")), len(text))
        return "\n".join(text[:at] + lines + text[at:])
    end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
    return "\n".join(text[:start] + lines + text[end:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--plots", required=True)
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    docs = load(a.files)
    rel = os.path.relpath(a.plots, os.path.dirname(os.path.abspath(a.out)) or ".")
    lines = section(docs, a.plots, rel)
    with open(a.out) as f:
        page = f.read()
    with open(a.out, "w") as f:
        f.write(replace_section(page, lines))
    report_claims(docs)
    print(f"pin_paths: wrote the section of {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
