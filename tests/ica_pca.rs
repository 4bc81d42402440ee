//! The PCA stage of an ICA fit (`fit_pca_whitened`) against MNE's own steps on the same
//! arrays: `np.std` for the pre-whitener, then MNE's `_PCA(whiten=True)` (a full SVD of the
//! centred data with sklearn's `svd_flip`), on S001R04 and on the runs S001R01..R08
//! concatenated (each read, average-referenced and band-passed by MNE, as
//! `benches/ica_mne.py` prepares them).
//!
//! We diagonalise the channel Gram matrix instead of taking an SVD, so the comparison uses
//! the perturbation bounds of a symmetric eigenproblem whose matrix carries rounding errors
//! of about `n_channels · eps · λ_max`: Weyl's for the variances (`|Δλ_k| ≤ ‖ΔG‖`) and
//! Davis–Kahan's for the axes (`‖Δv_k‖ ≤ ‖ΔG‖ / gap_k`).

mod common;

use eegclean::ica::{ComponentCount, fit_pca_whitened, whitening::rank_rtol};
use eegclean::io::npy;
use ndarray::{Array1, Array2, Ix1, Ix2};

const ORACLE_MNE_PCA: &str = r#"
import os, sys, numpy as np, mne
from mne.utils import _PCA
shared, out = sys.argv[1], sys.argv[2]

def concatenated_runs():
    runs = []
    for r in range(1, 9):
        raw = mne.io.read_raw_edf(os.path.join(shared, f"data/eegmmidb/S001/S001R{r:02d}.edf"),
                                  preload=True, verbose="error")
        raw.set_eeg_reference("average", projection=False, verbose="error")
        raw.filter(l_freq=1.0, h_freq=40.0, method="fir", phase="zero", fir_window="hamming",
                   fir_design="firwin", n_jobs=1, verbose="error")
        runs.append(raw)
    return mne.concatenate_raws(runs, verbose="error").get_data()

cases = {
    "s001r04": np.load(os.path.join(shared, "ref/mne-S001R04/filtered_uV.npy")) * 1e-6,
    "s001_r01_r08": concatenated_runs(),
}
for name, x in cases.items():
    # MNE's ICA._fit: _compute_pre_whitener (one type, no noise cov), _pre_whiten, _PCA
    pre_whitener = np.std(x)
    pca = _PCA(n_components=None, whiten=True)
    z = pca.fit_transform((x / pre_whitener).T)
    np.save(f"{out}/{name}_x.npy", x)
    np.save(f"{out}/{name}_pre_whitener.npy", np.array([pre_whitener]))
    np.save(f"{out}/{name}_mean.npy", pca.mean_)
    np.save(f"{out}/{name}_components.npy", pca.components_)
    np.save(f"{out}/{name}_explained_variance.npy", pca.explained_variance_)
    np.save(f"{out}/{name}_whitened.npy", np.ascontiguousarray(z[:, :20].T))
"#;

fn load2(path: &std::path::Path) -> Array2<f64> {
    npy::read_f64(path)
        .unwrap()
        .into_dimensionality::<Ix2>()
        .unwrap()
}

fn load1(path: &std::path::Path) -> Array1<f64> {
    npy::read_f64(path)
        .unwrap()
        .into_dimensionality::<Ix1>()
        .unwrap()
}

#[test]
fn pca_matches_mne_svd_pca_within_eigenproblem_bounds() {
    let dir = common::scratch();
    let shared = common::shared();
    common::run_python(
        ORACLE_MNE_PCA,
        &[shared.to_str().unwrap(), dir.path().to_str().unwrap()],
    );
    let eps = f64::EPSILON;
    for name in ["s001r04", "s001_r01_r08"] {
        let file = |what: &str| dir.path().join(format!("{name}_{what}.npy"));
        let x = load2(&file("x"));
        let (n_ch, n_t) = x.dim();
        let (pca, z) = fit_pca_whitened(x.view(), ComponentCount::Count(20)).unwrap();

        let pw = load1(&file("pre_whitener"))[0];
        let pw_err = ((pca.pre_whitener - pw) / pw).abs();
        assert!(pw_err < 1e-14, "{name}: pre_whitener rel error {pw_err:e}");

        // The mean of pre-whitened data: summation rounding, relative to the values summed.
        let scale = x.iter().fold(0.0f64, |a, v| a.max(v.abs())) / pw;
        let mean_err = (&pca.mean - &load1(&file("mean")))
            .iter()
            .fold(0.0f64, |a, v| a.max(v.abs()));
        assert!(
            mean_err < 16.0 * eps * scale,
            "{name}: pca_mean error {mean_err:e}"
        );

        // Average reference: exactly one dependency among the 64 channels.
        let ev_ref = load1(&file("explained_variance"));
        assert_eq!(pca.rank, 63, "{name}");
        let ref_rank = ev_ref
            .iter()
            .filter(|&&v| v > ev_ref[0] * rank_rtol(n_ch))
            .count();
        assert_eq!(pca.rank, ref_rank, "{name}");

        let comps_ref = load2(&file("components"));
        assert_eq!(pca.components.dim(), comps_ref.dim());
        let norm_err = n_ch as f64 * eps * ev_ref[0];
        let (mut worst_ev, mut worst_ev_rel, mut worst_comp, mut worst_comp_rel) =
            (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for k in 0..pca.rank {
            let ev_err = (pca.explained_variance[k] - ev_ref[k]).abs();
            worst_ev = worst_ev.max(ev_err / norm_err);
            worst_ev_rel = worst_ev_rel.max(ev_err / ev_ref[k]);
            let gap = [k.checked_sub(1), Some(k + 1)]
                .into_iter()
                .flatten()
                .filter(|&j| j < n_ch)
                .map(|j| (ev_ref[k] - ev_ref[j]).abs())
                .fold(f64::INFINITY, f64::min);
            let comp_err = (&pca.components.row(k) - &comps_ref.row(k))
                .iter()
                .fold(0.0f64, |a, v| a.max(v.abs()));
            worst_comp = worst_comp.max(comp_err * gap / norm_err);
            worst_comp_rel = worst_comp_rel.max(comp_err);
        }
        eprintln!(
            "{name} ({n_ch} x {n_t}): variances within {worst_ev:.3} and axes within \
             {worst_comp:.3} of their bounds (largest errors {worst_ev_rel:.2e} relative, \
             {worst_comp_rel:.2e} absolute)"
        );
        // Comparing directly (no sign correction) also checks svd_flip's signs.
        assert!(worst_ev <= 1.0, "{name}: a variance is beyond Weyl's bound");
        assert!(
            worst_comp <= 1.0,
            "{name}: an axis is beyond Davis–Kahan's bound"
        );
        // The degenerate axis is rounding noise within the null space: same direction only.
        let last = pca.components.row(63).dot(&comps_ref.row(63)).abs();
        assert!((last - 1.0).abs() < 1e-9, "{name}: null axis |cos| {last}");

        // The whitened scores fed to the solver: the first 20 axes are well separated, so
        // their bound is far below 1e-12 of the scores' scale.
        let z_ref = load2(&file("whitened"));
        assert_eq!(z.dim(), z_ref.dim());
        let z_err = common::max_rel(z.as_slice().unwrap(), z_ref.as_slice().unwrap());
        eprintln!("{name}: whitened scores max error {z_err:.2e} of their largest value");
        assert!(z_err < 1e-12, "{name}: whitened scores error {z_err:e}");
    }
}
