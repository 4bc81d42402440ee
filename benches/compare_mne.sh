#!/usr/bin/env bash
# Side-by-side benchmark: eegclean vs MNE-Python on the same input, one thread each.
# Run `benches/compare_mne.sh --help` for usage.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: benches/compare_mne.sh [--input s001r04|concat|large] [--reps N] [--keep]

Runs, back to back and one thread each, N repetitions (alternating eegclean, MNE) of
  eegclean: `eegclean run benches/compare_mne.yaml --jobs 1`
            (load -> rereference average -> filter 1-40 Hz + notch 60 -> Picard ICA 20
            components -> ICLabel -> remove artifact components -> write_edf)
  MNE:      benches/mne_equivalent.py, the same MNE calls as ../shared/ref/mne_pipeline.py
            stages a-e, g and i (read_raw_edf, standardize + montage + average reference,
            filter(1, 40), notch_filter(60), ICA picard fit, label_components, ica.apply,
            export_raw edf)
and prints one table: per stage and whole process, best and median time of each side, the
ratio MNE/eegclean, and peak RSS (/usr/bin/time -v). The table is also written to
benches/results/<input>-<git short hash>.{md,csv} (git-ignored; copy by hand to keep).

Inputs (--input, default s001r04):
  s001r04  ../shared/data/eegmmidb/S001/S001R04.edf (64 ch x 2 min @ 160 Hz)
  concat   the 8 runs ../shared/data/eegmmidb/S001/S001R0[1-8].edf: eegclean processes them
           as 8 recordings (--jobs 1), MNE reads them and concatenate_raws them
  large    128 ch x 60 min @ 512 Hz (~470 MB), generated once from those runs by
           ../shared/ref/make_synthetic.py into $EEGCLEAN_BENCH_CACHE/large.edf

Options:
  --reps N   repetitions of each side (default 3); the table shows best and median
  --keep     keep the scratch folder with outputs and raw measurements
  -h, --help this text

Environment:
  EEGCLEAN_BIN          eegclean binary to benchmark; when unset the script runs
                        `cargo build --release` and uses ${CARGO_TARGET_DIR:-target}/release/eegclean
  EEGCLEAN_BENCH_VENV   Python venv with MNE (default target/oracle-venv); created or reused
                        with scripts/oracle-venv.sh
  EEGCLEAN_BENCH_PYTHON use this Python interpreter (must have mne and edfio) instead of the venv
  EEGCLEAN_BENCH_DATA   the shared data folder (default ../shared/data)
  EEGCLEAN_BENCH_REF    the MNE reference harness folder (default ../shared/ref)
  EEGCLEAN_BENCH_CACHE  where the generated large input is kept (default target/bench-cache)
  EEGCLEAN_BENCH_TMP    scratch folder parent (default $TMPDIR or /tmp)
EOF
}

die() { echo "compare_mne: error: $*" >&2; exit 2; }

input=s001r04
reps=3
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --input) [ $# -ge 2 ] || die "--input needs a value (s001r04, concat or large)"; input=$2; shift 2 ;;
    --input=*) input=${1#--input=}; shift ;;
    --reps) [ $# -ge 2 ] || die "--reps needs a number"; reps=$2; shift 2 ;;
    --reps=*) reps=${1#--reps=}; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
case "$reps" in ''|*[!0-9]*|0) die "--reps must be a positive integer, got '$reps'" ;; esac
case "$input" in s001r04|concat|large) ;; *) die "unknown --input '$input' (s001r04, concat or large)" ;; esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# ../shared sits next to the main checkout; from a git worktree, look next to the main one.
shared=$repo/../shared
if [ ! -d "$shared" ]; then
  common=$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  [ -n "$common" ] && [ -d "$(dirname "$common")/../shared" ] && shared=$(dirname "$common")/../shared
fi
[ -d "$shared" ] && shared=$(cd "$shared" && pwd)
data=${EEGCLEAN_BENCH_DATA:-$shared/data}
ref=${EEGCLEAN_BENCH_REF:-$shared/ref}
cache=${EEGCLEAN_BENCH_CACHE:-$repo/target/bench-cache}

runs_dir=$data/eegmmidb/S001
s001_runs=()
for i in 1 2 3 4 5 6 7 8; do s001_runs+=("$runs_dir/S001R0$i.edf"); done
if [ "$input" != large ] || [ ! -s "$cache/large.edf" ]; then
  for f in "${s001_runs[@]}"; do
    [ -f "$f" ] || die "missing input run $f (set EEGCLEAN_BENCH_DATA to the shared data folder)"
  done
fi

# ---- tools ----
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is missing; it measures whole-process \
wall time and peak RSS. Install it: sudo apt-get install -y time"
/usr/bin/time -v true 2>&1 | grep -q "Maximum resident set size" \
  || die "/usr/bin/time is not GNU time (no -v); install it: sudo apt-get install -y time"

if [ -n "${EEGCLEAN_BENCH_PYTHON:-}" ]; then
  py=$EEGCLEAN_BENCH_PYTHON
else
  venv=${EEGCLEAN_BENCH_VENV:-$repo/target/oracle-venv}
  echo "compare_mne: Python venv $venv (scripts/oracle-venv.sh; first time installs MNE etc.)" >&2
  py=$("$repo/scripts/oracle-venv.sh" "$venv") || die "scripts/oracle-venv.sh $venv failed"
fi
[ -x "$py" ] || die "Python interpreter '$py' not found or not executable"
"$py" -c "import mne, edfio, mne_icalabel, picard" 2>/dev/null \
  || die "$py cannot import mne, edfio, mne_icalabel and picard; use scripts/oracle-venv.sh or set EEGCLEAN_BENCH_PYTHON"
# Both sides use the ICLabel network that mne-icalabel ships.
EEGCLEAN_ICLABEL_MODEL=$("$py" -c "import mne_icalabel, os; print(os.path.join(os.path.dirname(mne_icalabel.__file__), 'iclabel/network/assets/ICLabelNet.onnx'))")
export EEGCLEAN_ICLABEL_MODEL
[ -f "$EEGCLEAN_ICLABEL_MODEL" ] || die "ICLabelNet.onnx not found in mne-icalabel ($EEGCLEAN_ICLABEL_MODEL)"

if [ -n "${EEGCLEAN_BIN:-}" ]; then
  bin=$EEGCLEAN_BIN
else
  command -v cargo >/dev/null || die "cargo not found; install Rust or set EEGCLEAN_BIN to a built eegclean"
  echo "compare_mne: cargo build --release (set EEGCLEAN_BIN to skip)" >&2
  cargo build --release --bin eegclean >&2
  bin=${CARGO_TARGET_DIR:-$repo/target}/release/eegclean
fi
[ -x "$bin" ] || die "eegclean binary '$bin' not found or not executable (EEGCLEAN_BIN)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
case "$bin" in
  */release/*) build="release" ;;
  */debug/*) build="debug (dev profile: NOT a release build, eegclean times are pessimistic)" ;;
  *) build="unknown (not under a release/ or debug/ folder)" ;;
esac

# ---- input ----
case "$input" in
  s001r04) edfs=("$runs_dir/S001R04.edf") ;;
  concat) edfs=("${s001_runs[@]}") ;;
  large)
    large=$cache/large.edf
    if [ ! -s "$large" ]; then
      [ -f "$ref/make_synthetic.py" ] || die "missing $ref/make_synthetic.py (EEGCLEAN_BENCH_REF)"
      mkdir -p "$cache"
      echo "compare_mne: generating $large once (128 ch x 60 min @ 512 Hz, ~470 MB; minutes)" >&2
      OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        "$py" "$ref/make_synthetic.py" "$large.partial.edf" "${s001_runs[@]}" >&2 \
        || die "make_synthetic.py failed"
      mv "$large.partial.edf" "$large"
      if [ -f "$large.partial.edf.channels.txt" ]; then
        mv "$large.partial.edf.channels.txt" "$large.channels.txt"
      fi
    fi
    edfs=("$large") ;;
esac
for f in "${edfs[@]}"; do [ -f "$f" ] || die "missing input $f (EEGCLEAN_BENCH_DATA=$data)"; done

# ---- scratch ----
tmp=$(mktemp -d "${EEGCLEAN_BENCH_TMP:-${TMPDIR:-/tmp}}/compare_mne.XXXXXX")
if [ "$keep" = 1 ]; then echo "compare_mne: keeping $tmp" >&2; else trap 'rm -rf "$tmp"' EXIT; fi
mkdir -p "$tmp/in"
for f in "${edfs[@]}"; do ln -s "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" "$tmp/in/"; done
meas=$tmp/measurements.jsonl
: >"$meas"

export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 RAYON_NUM_THREADS=1
pipeline=$repo/benches/compare_mne.yaml
table_py=$repo/benches/compare_mne_table.py

# Seconds between two $EPOCHREALTIME stamps (bash >= 5; the locale may use ',' as decimal mark).
elapsed() { awk -v a="${1/,/.}" -v b="${2/,/.}" 'BEGIN { printf "%.6f", b - a }'; }
[ -n "${EPOCHREALTIME:-}" ] || die "bash >= 5 is needed (EPOCHREALTIME); this is bash $BASH_VERSION"

# ---- repetitions, alternating sides so machine drift hits both ----
# Both sides read the input from a warm page cache: without this the first reader after
# a large output was written (and fsync'd) pays the disk, which is a coin toss, not a
# property of either tool.
warm() { cat "${edfs[@]}" >/dev/null; }

for rep in $(seq 1 "$reps"); do
  warm
  out=$tmp/eegclean-$rep
  echo "compare_mne: rep $rep/$reps eegclean" >&2
  t0=$EPOCHREALTIME
  if ! /usr/bin/time -v -o "$tmp/time-eegclean-$rep.txt" \
      "$bin" run "$pipeline" --input "$tmp/in" --output "$out" --jobs 1 -q \
      >"$tmp/eegclean-$rep.log" 2>&1; then
    cat "$tmp/eegclean-$rep.log" >&2
    die "eegclean run failed (rep $rep); log above"
  fi
  t1=$EPOCHREALTIME
  "$py" "$table_py" collect eegclean "$rep" "$out" "$tmp/time-eegclean-$rep.txt" "$meas" \
    "$(elapsed "$t0" "$t1")"
  rm -rf "$out"

  warm
  out=$tmp/mne-$rep
  echo "compare_mne: rep $rep/$reps MNE" >&2
  t0=$EPOCHREALTIME
  if ! /usr/bin/time -v -o "$tmp/time-mne-$rep.txt" \
      "$py" "$repo/benches/mne_equivalent.py" "$out" "$tmp/mne-timings-$rep.json" "${edfs[@]}" \
      >"$tmp/mne-$rep.log" 2>&1; then
    cat "$tmp/mne-$rep.log" >&2
    die "MNE run failed (rep $rep); log above"
  fi
  t1=$EPOCHREALTIME
  "$py" "$table_py" collect mne "$rep" "$tmp/mne-timings-$rep.json" "$tmp/time-mne-$rep.txt" \
    "$meas" "$(elapsed "$t0" "$t1")"
  rm -rf "$out"
done

# ---- table ----
hash=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo nogit)
dirty=""
if [ "$hash" != nogit ] && [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  dirty=" (working tree has uncommitted changes)"
fi
mkdir -p "$repo/benches/results"
header=$tmp/header.json
INPUT="$input" INPUTS="${edfs[*]}" BIN="$bin" BUILD="$build" VERSION="$("$bin" --version 2>&1 | head -1)" \
COMMIT="$hash$dirty" REPS="$reps" MNE="$("$py" -c 'import mne; print(mne.__version__)' 2>/dev/null)" \
PYBIN="$py" HOST="$(uname -n) ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))" \
DATE="$(date -u +%Y-%m-%dT%H:%MZ)" "$py" - "$header" <<'EOF'
import json, os, sys
e = os.environ
json.dump({
    "input": e["INPUT"], "files": e["INPUTS"], "eegclean binary": e["BIN"],
    "build": e["BUILD"], "eegclean version": e["VERSION"], "commit": e["COMMIT"],
    "MNE": e["MNE"] + " via " + e["PYBIN"], "repetitions": e["REPS"],
    "threads": "1 each (eegclean --jobs 1, RAYON/OPENBLAS/OMP/MKL_NUM_THREADS=1)",
    "host": e["HOST"], "date": e["DATE"]}, open(sys.argv[1], "w"), indent=1)
EOF
"$py" "$table_py" table "$meas" "$header" "$repo/benches/results/$input-$hash"
