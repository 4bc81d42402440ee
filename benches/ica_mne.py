#!/usr/bin/env python
"""MNE + python-picard side of benches/ica.rs: times
mne.preprocessing.ICA(n_components=20, method='picard',
                      fit_params=dict(ortho=False, extended=True), random_state=97).fit
on the same two data sets, one thread, and prints one JSON line per case.

  s001r04        ../shared/ref/mne-S001R04/filtered_uV.npy (MNE's own stage-c output),
                 as a RawArray in volts
  s001_r01_r08   S001R01..R08: read_raw_edf, set_eeg_reference('average'), filter(1, 40)
                 per run, then concatenate_raws (as benches/ica.rs prepares them)

Usage: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
       python benches/ica_mne.py [SHARED_DIR] [REPEATS]
Each case: REPEATS timed fits (time.perf_counter, after one untimed warm-up fit); the JSON
has every time, the minimum and median, MNE's n_iter_, and the load average.
"""
import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import mne  # noqa: E402
import numpy as np  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # the environment variables above already limit the pools
    threadpool_limits = None


def s001r04(shared):
    x = np.load(os.path.join(shared, "ref/mne-S001R04/filtered_uV.npy")) * 1e-6
    info = mne.create_info([f"E{i}" for i in range(x.shape[0])], 160.0, "eeg")
    return mne.io.RawArray(x, info, verbose="error")


def s001_r01_r08(shared):
    runs = []
    for r in range(1, 9):
        raw = mne.io.read_raw_edf(
            os.path.join(shared, f"data/eegmmidb/S001/S001R{r:02d}.edf"),
            preload=True, verbose="error")
        raw.set_eeg_reference("average", projection=False, verbose="error")
        raw.filter(l_freq=1.0, h_freq=40.0, method="fir", phase="zero",
                   fir_window="hamming", fir_design="firwin", n_jobs=1, verbose="error")
        runs.append(raw)
    return mne.concatenate_raws(runs, verbose="error")


def fit(raw):
    ica = mne.preprocessing.ICA(
        n_components=20, method="picard",
        fit_params=dict(ortho=False, extended=True), random_state=97,
        max_iter="auto", verbose="error")
    t0 = time.perf_counter()
    ica.fit(raw, verbose="error")
    return time.perf_counter() - t0, int(ica.n_iter_)


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "../../shared")
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    for name, make in (("s001r04", s001r04), ("s001_r01_r08", s001_r01_r08)):
        raw = make(shared)
        fit(raw)  # warm-up: lazy imports, allocator
        times, n_iter = [], None
        for _ in range(repeats):
            t, n_iter = fit(raw)
            times.append(t)
        print(json.dumps(dict(
            case=name, n_channels=len(raw.ch_names), n_times=int(raw.n_times),
            n_iter=n_iter, times_s=[round(t, 4) for t in times],
            min_s=round(min(times), 4), median_s=round(statistics.median(times), 4),
            loadavg=[round(v, 2) for v in os.getloadavg()],
            mne=mne.__version__)), flush=True)


if __name__ == "__main__":
    if threadpool_limits is not None:
        with threadpool_limits(limits=1):
            main()
    else:
        main()
