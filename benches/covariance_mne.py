#!/usr/bin/env python
"""The pyriemann side of benches/covariance.rs: OAS covariances + Riemannian tangent space on
the shared runs concatenated, the harness's stage h (../shared/ref/mne_pipeline.py).

1. Epochs (written once, then reused): read the runs, concatenate_raws, standardize names +
   montage standard_1005, average reference, filter(1, 40) FIR zero-phase firwin hamming,
   notch_filter(60), then Epochs on T1/T2 (tmin 0, tmax 4 - 1/sfreq, no baseline,
   reject_by_annotation=True so epochs over run boundaries are dropped), in µV, saved as
   OUT/epochs_uV.npy. (The harness epochs its ICA-cleaned data; ICA changes the values, not the
   work the covariance stage does, so it is left out here.)
2. Timing (best of --reps, one BLAS thread unless told otherwise): Covariances(estimator='oas').fit_transform(X),
   TangentSpace(metric='riemann').fit_transform(C), and one numpy.linalg.eigh of a 64×64
   covariance. Also counts mean_riemann's iterations (the smallest maxiter that converges)
   and writes pyriemann's outputs (covariances_oas.npy, tangent_reference.npy,
   tangent_vectors.npy) so the Rust bench can report parity on the same array.

Usage: OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
         python benches/covariance_mne.py OUT_DIR [--reps N] [EDF ...]
(or all three =2 to give pyriemann's BLAS both cores of the 2-thread comparison)
EDF defaults to ../shared/data/eegmmidb/S001/S001R03..R14.edf (those that exist).
Prints a JSON summary and writes it to OUT_DIR/timings.json.
"""
import argparse
import json
import os
import sys
import time
import warnings

# One BLAS thread for the single-threaded comparison; the same N in all three for N cores.
BLAS_THREADS = {os.environ.get(var) for var in
                ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
if len(BLAS_THREADS) != 1 or not next(iter(BLAS_THREADS), "").isdigit():
    sys.exit("set OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS to the same N "
             "(1 for the single-threaded comparison)")
BLAS_THREADS = int(BLAS_THREADS.pop())

import numpy as np  # noqa: E402


def default_runs():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")
    root = os.environ.get("EEGCLEAN_SHARED", root)
    runs = [os.path.join(root, "data", "eegmmidb", "S001", f"S001R{r:02d}.edf")
            for r in range(3, 15)]
    return [p for p in runs if os.path.exists(p)]


def make_epochs(edfs):
    import mne
    mne.set_log_level("ERROR")
    raws = [mne.io.read_raw_edf(f, preload=True) for f in edfs]
    raw = mne.concatenate_raws(raws)
    if any(c.endswith(".") for c in raw.ch_names):
        mne.datasets.eegbci.standardize(raw)
    raw.set_montage("standard_1005")
    raw.set_eeg_reference("average", projection=False)
    raw.filter(l_freq=1.0, h_freq=40.0, method="fir", phase="zero", fir_window="hamming",
               fir_design="firwin", n_jobs=1)
    raw.notch_filter(60.0, n_jobs=1)
    ev, evid = mne.events_from_annotations(raw, event_id=dict(T1=2, T2=3))
    tmax = 4.0 - 1.0 / raw.info["sfreq"]
    epochs = mne.Epochs(raw, ev, evid, tmin=0.0, tmax=tmax, baseline=None, preload=True,
                        picks="eeg", reject_by_annotation=True)
    return epochs.get_data(copy=True) * 1e6


def best_of(reps, fn):
    times, out = [], None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), float(np.median(times)), out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out")
    p.add_argument("edf", nargs="*")
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    edfs = args.edf or default_runs()
    epochs_path = os.path.join(args.out, "epochs_uV.npy")
    if not os.path.exists(epochs_path):
        np.save(epochs_path, make_epochs(edfs))
    X = np.load(epochs_path)

    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace
    from pyriemann.utils.mean import mean_riemann

    cov_best, cov_med, C = best_of(args.reps, lambda: Covariances(estimator="oas").fit_transform(X))

    def ts():
        t = TangentSpace(metric="riemann")
        v = t.fit_transform(C)
        return t.reference_, v
    ts_best, ts_med, (ref, vec) = best_of(args.reps, ts)
    both_best, both_med, _ = best_of(
        args.reps,
        lambda: TangentSpace(metric="riemann").fit_transform(
            Covariances(estimator="oas").fit_transform(X)))
    one = np.ascontiguousarray(C[0])
    n_eigh = 200
    eigh_best, _, _ = best_of(args.reps, lambda: [np.linalg.eigh(one) for _ in range(n_eigh)])
    stack = np.ascontiguousarray(C)
    eigh_stack_best, _, _ = best_of(args.reps, lambda: np.linalg.eigh(stack))

    iterations = None
    for k in range(1, 51):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            mean_riemann(C, maxiter=k)
        if not any("Convergence not reached" in str(x.message) for x in w):
            iterations = k
            break

    np.save(os.path.join(args.out, "covariances_oas.npy"), C)
    np.save(os.path.join(args.out, "tangent_reference.npy"), ref)
    np.save(os.path.join(args.out, "tangent_vectors.npy"), vec)
    summary = dict(
        inputs=edfs, epochs_shape=list(X.shape), loadavg=os.getloadavg(),
        blas_threads=BLAS_THREADS,
        covariances_oas_s=dict(best=cov_best, median=cov_med),
        tangent_space_fit_transform_s=dict(best=ts_best, median=ts_med),
        oas_plus_tangent_space_s=dict(best=both_best, median=both_med),
        eigh_64x64_single_s=eigh_best / n_eigh,
        eigh_stack_per_matrix_s=eigh_stack_best / len(stack),
        mean_riemann_iterations=iterations,
    )
    with open(os.path.join(args.out, "timings.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
