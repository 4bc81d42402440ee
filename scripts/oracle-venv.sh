#!/usr/bin/env bash
# Create (or reuse) the Python environment that holds the independent oracles our tests
# compare against: MNE, pyedflib, edfio, scipy, python-picard, pyriemann, mne-icalabel.
# Usage: scripts/oracle-venv.sh DIR    -> prints DIR/bin/python when ready.
# Versions are pinned to the ones the reference outputs in ../shared/ref were made with.
set -euo pipefail
dir=${1:?usage: oracle-venv.sh DIR}
stamp="$dir/.eegclean-oracles-v1"
if [ ! -f "$stamp" ]; then
  python3 -m venv "$dir" >&2
  "$dir/bin/pip" install -q --disable-pip-version-check \
    mne==1.13.2 mne-icalabel==0.10.0 python-picard==0.8.2 pyriemann==0.12 edfio==0.4.18 \
    pyEDFlib==0.1.42 numpy==2.4.6 scipy==1.17.1 scikit-learn==1.9.1 onnxruntime psutil >&2
  touch "$stamp"
fi
echo "$dir/bin/python"
