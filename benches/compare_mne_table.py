#!/usr/bin/env python
"""Helper of benches/compare_mne.sh: collect one repetition's numbers, and print the table.

  compare_mne_table.py collect eegclean REP OUT_DIR TIME_V.txt MEASUREMENTS.jsonl [WALL_S]
      per-stage seconds from every OUT_DIR/**/*_provenance.json ("timings_s"), summed over
      recordings (the `concat` input is 8 recordings on eegclean's side)
  compare_mne_table.py collect mne REP TIMINGS.json TIME_V.txt MEASUREMENTS.jsonl [WALL_S]
      per-stage seconds written by benches/mne_equivalent.py
  compare_mne_table.py table MEASUREMENTS.jsonl HEADER.json OUT_BASE
      prints the table; writes OUT_BASE.md and OUT_BASE.csv

Peak RSS comes from `/usr/bin/time -v` (TIME_V.txt); whole-process wall time from WALL_S
(measured by the shell around /usr/bin/time) when given, else from TIME_V.txt (10 ms steps).
Standard library only, so it runs under any Python 3.
"""
import csv
import glob
import json
import os
import re
import statistics
import sys

STAGES = [  # (row label, stage key)
    ("read", "read"),
    ("reference (average)", "reference"),
    ("band-pass 1-40 + notch 60", "filter"),
    ("ICA fit (picard, 20 comp.)", "ica"),
    ("ICLabel", "labels"),
    ("ICA apply", "apply"),
    ("write EDF", "write"),
]
MNE_ONLY = [("Python + MNE imports (MNE only)", "imports")]


def parse_time_v(path):
    """Wall seconds and peak RSS (MiB) from GNU time -v output."""
    text = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if not wall or not rss:
        sys.exit(f"compare_mne: cannot find wall time / max RSS in {path}; "
                 f"is /usr/bin/time GNU time?\n{text[-2000:]}")
    seconds = 0.0
    for part in wall.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    return seconds, int(rss.group(1)) / 1024.0


def collect(side, rep, src, time_v, out, wall_s=None):
    if side == "eegclean":
        files = glob.glob(os.path.join(src, "**", "*_provenance.json"), recursive=True)
        if not files:
            sys.exit(f"compare_mne: no *_provenance.json under {src}: did eegclean run?")
        stages = {}
        for f in files:
            for t in json.load(open(f))["timings_s"]:
                stages[t["stage"]] = stages.get(t["stage"], 0.0) + float(t["seconds"])
        n_recordings = len(files)
    elif side == "mne":
        stages = json.load(open(src))["stages"]
        n_recordings = 1
    else:
        sys.exit(f"compare_mne: unknown side {side!r}")
    needed = STAGES + (MNE_ONLY if side == "mne" else [])
    missing = [k for _, k in needed if k not in stages]
    if missing:
        sys.exit(f"compare_mne: {side} timings lack stage(s) {missing} (have {sorted(stages)})")
    wall, rss = parse_time_v(time_v)
    if wall_s is not None:  # the shell's clock: /usr/bin/time -v rounds to 10 ms
        wall = float(wall_s)
    with open(out, "a") as f:
        f.write(json.dumps(dict(side=side, rep=int(rep), stages=stages, wall_s=wall,
                                peak_rss_mib=rss, n_recordings=n_recordings)) + "\n")


def table(measurements, header_path, out_base):
    rows = [json.loads(line) for line in open(measurements) if line.strip()]
    header = json.load(open(header_path))
    by_side = {s: [r for r in rows if r["side"] == s] for s in ("eegclean", "mne")}
    for side, rs in by_side.items():
        if not rs:
            sys.exit(f"compare_mne: no {side} measurements in {measurements}")

    def values(side, key):
        rs = by_side[side]
        if key == "wall":
            return [r["wall_s"] for r in rs]
        if key == "rss":
            return [r["peak_rss_mib"] for r in rs]
        return [r["stages"][key] for r in rs]

    lines = [(label, key, "s") for label, key in STAGES + MNE_ONLY]
    lines += [("whole process (wall)", "wall", "s"), ("peak RSS", "rss", "MiB")]
    cols = ["stage", "unit", "eegclean best", "eegclean median", "MNE best", "MNE median",
            "MNE/eegclean (best)", "MNE/eegclean (median)"]
    table_rows = []
    for label, key, unit in lines:
        m = values("mne", key)
        e = values("eegclean", key) if (label, key) not in MNE_ONLY else None
        mb, mm = min(m), statistics.median(m)
        fmt = (lambda v: f"{v:.4f}") if unit == "s" else (lambda v: f"{v:.0f}")
        if e is None:
            table_rows.append([label, unit, "-", "-", fmt(mb), fmt(mm), "-", "-"])
            continue
        eb, em = min(e), statistics.median(e)
        ratio = (lambda a, b: f"{a / b:.1f}x" if b > 0 else "n/a")
        table_rows.append([label, unit, fmt(eb), fmt(em), fmt(mb), fmt(mm),
                           ratio(mb, eb), ratio(mm, em)])

    head_lines = [f"{k}: {v}" for k, v in header.items()]
    notes = [
        "Times: best and median over the repetitions; stage times from eegclean's "
        "*_provenance.json (timings_s) and from perf_counter in benches/mne_equivalent.py; "
        "whole process measured by the shell around /usr/bin/time -v (process start to exit), "
        "peak RSS (max resident set) from /usr/bin/time -v.",
        "MNE's 'reference' includes eegbci.standardize + set_montage; its band-pass and "
        "notch are two calls (raw.filter, raw.notch_filter), summed here.",
    ]
    if header.get("input") == "concat":
        notes.append("concat: eegclean processes the 8 runs as 8 recordings (--jobs 1, stage "
                     "times summed over recordings, one output file each); MNE reads them, "
                     "concatenate_raws, and writes one file.")

    # Sanity check: with --jobs 1 the stages of one process should not overlap in time.
    overlapped = [r for r in by_side["eegclean"]
                  if sum(r["stages"][k] for _, k in STAGES) > 1.02 * r["wall_s"]]
    if overlapped:
        r = overlapped[0]
        notes.append(
            f"WARNING: in {len(overlapped)} of {len(by_side['eegclean'])} eegclean runs the "
            f"stage times sum to more than the whole-process wall time (rep {r['rep']}: "
            f"{sum(r['stages'][k] for _, k in STAGES):.3f} s > {r['wall_s']:.3f} s), so "
            "stages overlapped (e.g. a pool thread waiting inside one recording's stage "
            "started another recording): eegclean per-stage rows are inflated; the "
            "whole-process row is right.")

    widths = [max(len(str(x)) for x in col) for col in zip(cols, *table_rows)]
    print()
    for h in head_lines:
        print(h)
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    print("  ".join("-" * w for w in widths))
    for r in table_rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    for n in notes:
        print("note:", n)

    with open(out_base + ".md", "w") as f:
        f.write(f"### eegclean vs MNE-Python — input `{header.get('input')}`\n\n")
        for h in head_lines:
            f.write(f"- {h}\n")
        f.write("\n| " + " | ".join(cols) + " |\n")
        f.write("|" + "|".join("---" for _ in cols) + "|\n")
        for r in table_rows:
            f.write("| " + " | ".join(r) + " |\n")
        f.write("\n" + "\n".join(f"_{n}_\n" for n in notes))
    # CSV: one plain header row, numbers without units, run metadata repeated on every row
    # so files from several commits can simply be concatenated and compared.
    meta_cols = ["input", "commit", "build", "eegclean binary", "repetitions", "date"]
    with open(out_base + ".csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([c.replace(" ", "_").replace("/", "_over_").replace("(", "")
                    .replace(")", "") for c in cols + meta_cols])
        for r in table_rows:
            w.writerow([v.rstrip("x") if v.endswith("x") else v for v in r]
                       + [str(header.get(k, "")) for k in meta_cols])
    print(f"\nwrote {out_base}.md and {out_base}.csv")


def main():
    a = sys.argv[1:]
    if len(a) in (6, 7) and a[0] == "collect":
        collect(*a[1:])
    elif len(a) == 4 and a[0] == "table":
        table(*a[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
