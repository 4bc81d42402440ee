#!/usr/bin/env python
"""The MNE side of benches/compare_mne.sh: the harness's stages a-e, g and i.

../shared/ref/mne_pipeline.py cannot skip ICA and still export (its --stop-after-ica returns
before stage i), so this driver makes exactly the same MNE calls as the harness in --lean
mode (in place, one pass, no defensive copies, no .npy dumps), timing each stage with
time.perf_counter:

  read       a  read_raw_edf(preload=True) [several files: + concatenate_raws]
  reference  b  eegbci.standardize (names ending in '.') + set_montage('standard_1005')
                + set_eeg_reference('average', projection=False)
  filter     c  filter(1, 40, FIR zero-phase firwin hamming) then notch_filter(60)
  ica        d  ICA(n_components=20, method='picard', fit_params=dict(ortho=False,
                extended=True), random_state=97).fit(raw)
  labels     e  mne_icalabel.label_components(raw, ica, method='iclabel')
  apply      g  ica.apply(raw, exclude=ICLabel eye/heart/muscle/line/channel noise, p > 0.5)
  write      i  mne.export.export_raw(fmt='edf') (edfio backend)

Usage: mne_equivalent.py OUT_DIR TIMINGS.json EDF [EDF ...]
Writes OUT_DIR/cleaned.edf and TIMINGS.json = {"stages": {name: seconds}, ...}; stage
"imports" is the time to import MNE and the submodules the stages use.
Threads: the caller sets OPENBLAS/OMP/MKL_NUM_THREADS=1; n_jobs=1 everywhere here.
"""
import json
import os
import sys
import time

# MNE loads most submodules lazily, on first use: about 1 s here, which would otherwise land
# in whichever stage touches them first. Load them up front and report the cost as its own
# row (it is still in the whole-process wall time).
T_START = time.perf_counter()
import edfio  # noqa: E402,F401
import mne  # noqa: E402
import mne.channels  # noqa: E402,F401
import mne.datasets.eegbci  # noqa: E402,F401
import mne.export  # noqa: E402,F401
import mne.filter  # noqa: E402,F401
import mne.io  # noqa: E402,F401
import mne.io.edf  # noqa: E402,F401
import scipy.signal  # noqa: E402,F401
import mne.preprocessing  # noqa: E402,F401
import picard  # noqa: E402,F401
import mne_icalabel  # noqa: E402,F401
from mne_icalabel import label_components  # noqa: E402
IMPORT_S = time.perf_counter() - T_START


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: mne_equivalent.py OUT_DIR TIMINGS.json EDF [EDF ...]")
    out_dir, timings_path, edfs = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    mne.set_log_level("WARNING")
    stages = {"imports": IMPORT_S}

    t0 = time.perf_counter()
    if len(edfs) == 1:
        raw = mne.io.read_raw_edf(edfs[0], preload=True)
    else:
        raw = mne.concatenate_raws([mne.io.read_raw_edf(f, preload=True) for f in edfs])
    stages["read"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if any(c.endswith(".") for c in raw.ch_names):
        mne.datasets.eegbci.standardize(raw)
    raw.set_montage("standard_1005")
    raw.set_eeg_reference("average", projection=False)
    stages["reference"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    raw.filter(l_freq=1.0, h_freq=40.0, method="fir", phase="zero",
               fir_window="hamming", fir_design="firwin", n_jobs=1)
    raw.notch_filter(60.0, n_jobs=1)
    stages["filter"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ica = mne.preprocessing.ICA(n_components=20, method="picard",
                                fit_params=dict(ortho=False, extended=True), random_state=97)
    ica.fit(raw)
    stages["ica"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    lab = label_components(raw, ica, method="iclabel")
    artifacts = {"eye blink", "heart beat", "muscle artifact", "line noise", "channel noise"}
    exclude = [i for i, (lb, p) in enumerate(zip(lab["labels"], lab["y_pred_proba"]))
               if lb in artifacts and p > 0.5]
    stages["labels"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ica.apply(raw, exclude=exclude)
    stages["apply"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    mne.export.export_raw(os.path.join(out_dir, "cleaned.edf"), raw, fmt="edf",
                          overwrite=True)
    stages["write"] = time.perf_counter() - t0

    with open(timings_path, "w") as f:
        json.dump(dict(stages=stages, n_channels=len(raw.ch_names), excluded=exclude,
                       ica_n_iter=int(ica.n_iter_),
                       sfreq=float(raw.info["sfreq"]), n_times=int(raw.n_times),
                       mne_version=mne.__version__), f, indent=1)


if __name__ == "__main__":
    main()
