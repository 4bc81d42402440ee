//! Several zero-phase FIR filters applied one after another (MNE's `raw.filter` then
//! `raw.notch_filter`) in one FFT pass over the signal instead of one pass per filter.
//!
//! MNE pads each pass by odd reflection and cuts it back, so the cascade is not simply a
//! convolution with the combined kernel h₁ ∗ h₂ ∗ …: the reflections differ near the ends.
//! Away from the ends they agree exactly (in exact arithmetic). With cᵢ = (Lᵢ − 1)/2 the
//! group delay of filter i, the combined filter applied to the signal padded as the first
//! pass pads it reads only original samples of every intermediate signal when
//! B ≤ t < n − B, B = c₂ + c₃ + …. The B samples at each end are computed by running the
//! cascade itself on a short piece of the signal at that end, long enough that the piece's
//! own far end cannot reach them and that every pass pads it as it pads the whole signal.
//! The result equals the sequential cascade to rounding (`tests` check this against it).

use ndarray::{ArrayViewMut2, s};

use super::convolve::convolve_full;
use super::fir_design::FirFilter;
use super::overlap_add::OverlapAdd;

/// Apply `filters` in order, each zero-phase with MNE's reflect-limited padding, to every
/// row of `data` in place; the same result as calling
/// [`FirFilter::apply_zero_phase`] for each filter in turn.
pub fn apply_cascade_zero_phase(filters: &[&FirFilter], mut data: ArrayViewMut2<f64>) {
    let n = data.ncols();
    let Some(plan) = CascadePlan::new(filters, n) else {
        for f in filters {
            f.apply_zero_phase(data.view_mut());
        }
        return;
    };
    if data.nrows() == 0 {
        return;
    }
    // The ends first (from the unfiltered signal), then the one combined pass in place.
    let (b, piece) = (plan.edge, plan.piece);
    let mut head = data.slice(s![.., ..piece]).to_owned();
    let mut tail = data.slice(s![.., n - piece..]).to_owned();
    for f in filters {
        f.apply_zero_phase(head.view_mut());
        f.apply_zero_phase(tail.view_mut());
    }
    OverlapAdd::with_edge(&plan.combined, n, plan.first_edge).apply_rows(data.view_mut());
    data.slice_mut(s![.., ..b]).assign(&head.slice(s![.., ..b]));
    data.slice_mut(s![.., n - b..])
        .assign(&tail.slice(s![.., piece - b..]));
}

/// What the single pass needs, or `None` when the cascade should run filter by filter
/// (fewer than two filters, an even length, or a signal too short for the shortcut to pay).
struct CascadePlan {
    combined: Vec<f64>,
    /// Reflection padding of the first filter's pass.
    first_edge: usize,
    /// Samples at each end taken from the sequential cascade on a piece of the signal.
    edge: usize,
    /// Length of those pieces.
    piece: usize,
}

impl CascadePlan {
    fn new(filters: &[&FirFilter], n: usize) -> Option<Self> {
        if filters.len() < 2 || filters.iter().any(|f| f.taps.len() % 2 == 0) {
            return None;
        }
        let delays: Vec<usize> = filters.iter().map(|f| (f.taps.len() - 1) / 2).collect();
        let edge: usize = delays[1..].iter().sum();
        let longest = filters.iter().map(|f| f.taps.len()).max().unwrap_or(0);
        // Exact outputs of the piece: t ≤ piece − 1 − Σcᵢ must cover t < edge; the padding
        // of each pass equals the whole signal's when the piece is at least as long as
        // every filter.
        let piece = (delays[0] + 2 * edge + 1).max(longest);
        if n < 4 * piece {
            return None;
        }
        let combined = filters[1..].iter().fold(filters[0].taps.clone(), |acc, f| {
            convolve_full(&acc, &f.taps)
        });
        Some(CascadePlan {
            combined,
            first_edge: filters[0].taps.len() - 1,
            edge,
            piece,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::{FilterLength, FirSpec, NotchSpec, Transition, Window};
    use crate::rng::Rng;
    use ndarray::Array2;

    fn band_pass(l: f64, h: f64, sfreq: f64) -> FirFilter {
        FirSpec {
            l_freq: Some(l),
            h_freq: Some(h),
            l_trans: Transition::Auto,
            h_trans: Transition::Auto,
            length: FilterLength::Auto,
            window: Window::Hamming,
        }
        .design(sfreq)
        .expect("valid band-pass")
    }

    /// Noise plus a drift and a step, so the ends (where the shortcut is not used) carry
    /// large, different values.
    fn signal(rows: usize, n: usize, seed: u64) -> Array2<f64> {
        let mut rng = Rng::new(seed);
        Array2::from_shape_fn((rows, n), |(r, t)| {
            let noise = rng.uniform() - 0.5;
            noise + 3e-3 * t as f64 * (r as f64 - 1.0) + if t > n / 3 { 5.0 } else { 0.0 }
        })
    }

    fn sequential(filters: &[&FirFilter], x: &Array2<f64>) -> Array2<f64> {
        let mut y = x.clone();
        for f in filters {
            f.apply_zero_phase(y.view_mut());
        }
        y
    }

    #[test]
    fn one_pass_equals_the_filters_applied_in_turn() {
        for &(sfreq, n) in &[
            (160.0, 19_680),
            (512.0, 30_001),
            (160.0, 4_000),
            (250.0, 700),
        ] {
            let bp = band_pass(1.0, 40.0, sfreq);
            let notch = NotchSpec::new(vec![60.0]).design(sfreq).expect("notch");
            let hp = band_pass(0.5, sfreq / 4.0, sfreq);
            for filters in [vec![&bp, &notch], vec![&notch, &bp], vec![&bp, &notch, &hp]] {
                let x = signal(3, n, n as u64);
                let want = sequential(&filters, &x);
                let mut got = x.clone();
                apply_cascade_zero_phase(&filters, got.view_mut());
                let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                let err = want
                    .iter()
                    .zip(&got)
                    .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
                assert!(
                    err <= 1e-12 * scale,
                    "sfreq {sfreq}, n {n}, {} filters: max error {err:e} of {scale:e}",
                    filters.len()
                );
            }
        }
    }

    #[test]
    fn the_shortcut_is_taken_only_where_it_is_exact() {
        let bp = band_pass(1.0, 40.0, 512.0);
        let notch = NotchSpec::new(vec![60.0]).design(512.0).expect("notch");
        let plan = CascadePlan::new(&[&bp, &notch], 1_000_000).expect("long signal");
        assert_eq!(plan.combined.len(), bp.taps.len() + notch.taps.len() - 1);
        assert_eq!(plan.edge, (notch.taps.len() - 1) / 2);
        assert!(CascadePlan::new(&[&bp, &notch], plan.piece).is_none());
        assert!(CascadePlan::new(&[&bp], 1_000_000).is_none());
        let even = FirFilter {
            taps: vec![0.5, 0.5],
            description: String::new(),
        };
        assert!(CascadePlan::new(&[&bp, &even], 1_000_000).is_none());
    }
}
