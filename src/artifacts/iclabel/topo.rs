//! ICLabel's scalp-map feature: EEGLAB `topoplotFast` as ported by mne-icalabel
//! (`_eeg_topoplot`, `_topoplotFast`, `_gdatav4`): electrode positions → EEGLAB polar
//! coordinates → biharmonic-spline (MATLAB griddata 'v4') interpolation of each mixing column
//! onto a 32×32 grid, masked to the head disc and normalised by the max |value|.

use std::f64::consts::PI;

use ndarray::{Array2, Array3, ArrayView2};

use super::{IcLabelError, solve_dense};

const GRID: usize = 32;
/// EEGLAB's head radius in its squeezed polar plane.
const HEAD_RADIUS: f64 = 0.5;

/// EEGLAB polar coordinates (th radians, rd) from MNE head-frame positions, as
/// mne-icalabel's `_mne_to_eeglab_locs` (nose along +y in MNE is +x in EEGLAB).
fn eeglab_polar(positions_m: ArrayView2<f64>) -> (Vec<f64>, Vec<f64>) {
    let mut th = Vec::with_capacity(positions_m.nrows());
    let mut rd = Vec::with_capacity(positions_m.nrows());
    for p in positions_m.rows() {
        let (x, y, z) = (p[1], -p[0], p[2]);
        let azimuth = y.atan2(x);
        let elevation = z.atan2((x * x + y * y).sqrt());
        th.push(-azimuth);
        rd.push((PI / 2.0 - elevation) / PI);
    }
    (th, rd)
}

/// The numpy spacing (ulp) of a positive double.
fn spacing(x: f64) -> f64 {
    let x = x.abs();
    f64::from_bits(x.to_bits() + 1) - x
}

/// mne-icalabel's `_mergepoints2D`/`_mergesimpts`: electrodes closer than a tolerance in
/// both x and y are replaced by one point at their mean (values averaged too). Returns the
/// groups of original indices and the merged coordinates.
fn merge_points(x: &[f64], y: &[f64]) -> Vec<(f64, f64, Vec<usize>)> {
    let range = |v: &[f64]| {
        let (lo, hi) = v
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &e| {
                (l.min(e), h.max(e))
            });
        hi - lo
    };
    let eps_x = spacing(0.5 * range(x)).cbrt();
    let eps_y = spacing(0.5 * range(y)).cbrt();
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| y[a].total_cmp(&y[b]));
    let mut used = vec![false; x.len()];
    let mut groups = Vec::new();
    for &p in &order {
        if used[p] {
            continue;
        }
        let members: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&q| !used[q] && (y[q] - y[p]).abs() < eps_y && (x[q] - x[p]).abs() < eps_x)
            .collect();
        let k = members.len() as f64;
        let mx = members.iter().map(|&q| x[q]).sum::<f64>() / k;
        let my = members.iter().map(|&q| y[q]).sum::<f64>() / k;
        for &q in &members {
            used[q] = true;
        }
        groups.push((mx, my, members));
    }
    groups
}

/// Biharmonic Green's function of Sandwell (1987): d²(ln d − 1), 0 at d = 0.
fn green(d: f64) -> f64 {
    if d <= 1e-8 {
        0.0
    } else {
        d * d * (d.ln() - 1.0)
    }
}

/// 32×32 maps [component, row, column] of the columns of `icawinv` ([channels, components]),
/// each divided by its max |value| (not yet scaled by 0.99).
pub fn topo_feature(
    icawinv: ArrayView2<f64>,
    positions_m: ArrayView2<f64>,
) -> Result<Array3<f32>, IcLabelError> {
    let (n_ch, n_comp) = icawinv.dim();
    if positions_m.dim() != (n_ch, 3) {
        return Err(IcLabelError::Input(format!(
            "positions {:?} for {n_ch} channels",
            positions_m.shape()
        )));
    }
    let (th, rd) = eeglab_polar(positions_m);
    let max_rd = rd.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    let plotrad = (max_rd * 1.02).clamp(HEAD_RADIUS, 1.0);
    let squeeze = HEAD_RADIUS / plotrad;
    let x: Vec<f64> = th
        .iter()
        .zip(&rd)
        .map(|(t, r)| r * t.cos() * squeeze)
        .collect();
    let y: Vec<f64> = th
        .iter()
        .zip(&rd)
        .map(|(t, r)| r * t.sin() * squeeze)
        .collect();
    let lim = |v: &[f64]| {
        let lo = v.iter().fold(-HEAD_RADIUS, |m, &e| m.min(e));
        let hi = v.iter().fold(HEAD_RADIUS, |m, &e| m.max(e));
        linspace(lo, hi, GRID)
    };
    let (xi, yi) = (lim(&x), lim(&y));

    let groups = merge_points(&x, &y);
    let n = groups.len();
    let mut g = Array2::<f64>::zeros((n, n));
    for (i, a) in groups.iter().enumerate() {
        for (j, b) in groups.iter().enumerate() {
            if i != j {
                g[[i, j]] = green((a.0 - b.0).hypot(a.1 - b.1));
            }
        }
    }
    // Values per merged point: the mean of its members' mixing weights, for every component.
    let mut v = Array2::<f64>::zeros((n, n_comp));
    for (i, (_, _, members)) in groups.iter().enumerate() {
        for c in 0..n_comp {
            v[[i, c]] =
                members.iter().map(|&q| icawinv[[q, c]]).sum::<f64>() / members.len() as f64;
        }
    }
    // One factorisation of the (component-independent) Green matrix serves all components.
    let w = solve_dense(g, v).map_err(|_| {
        IcLabelError::Input(
            "electrode positions give a singular spline system (duplicate positions?)".into(),
        )
    })?;

    let mut out = Array3::<f32>::zeros((n_comp, GRID, GRID));
    let mut gq = vec![0f64; n];
    let mut maps = Array3::<f64>::zeros((n_comp, GRID, GRID));
    // Grid point (row a, column b) of the output holds the spline at (xi[a], yi[b]) (mne-icalabel
    // transposes griddata's result) but the head mask is evaluated untransposed, at
    // (xi[b], yi[a]); both are reproduced as is.
    for a in 0..GRID {
        for b in 0..GRID {
            if xi[b].hypot(yi[a]) > HEAD_RADIUS {
                continue;
            }
            for (k, grp) in groups.iter().enumerate() {
                gq[k] = green((xi[a] - grp.0).hypot(yi[b] - grp.1));
            }
            for c in 0..n_comp {
                maps[[c, a, b]] = gq.iter().enumerate().map(|(k, g)| g * w[[k, c]]).sum();
            }
        }
    }
    for c in 0..n_comp {
        let max = maps
            .index_axis(ndarray::Axis(0), c)
            .iter()
            .fold(0f64, |m, v| m.max(v.abs()));
        if max == 0.0 || !max.is_finite() {
            return Err(IcLabelError::Input(format!(
                "component {c} has an all-zero scalp map"
            )));
        }
        for a in 0..GRID {
            for b in 0..GRID {
                out[[c, a, b]] = (maps[[c, a, b]] / max) as f32;
            }
        }
    }
    Ok(out)
}

/// numpy.linspace(lo, hi, n) (same formula: lo + i·step, last point exactly hi).
fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let step = (hi - lo) / (n - 1) as f64;
    (0..n)
        .map(|i| if i == n - 1 { hi } else { lo + i as f64 * step })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn green_function_interpolates_the_data_points() {
        // At the electrodes the spline must reproduce the data exactly (it interpolates).
        let pts: [(f64, f64); 5] = [
            (0.1, 0.2),
            (-0.3, 0.1),
            (0.25, -0.3),
            (-0.1, -0.2),
            (0.0, 0.35),
        ];
        let vals = [1.0, -2.0, 0.5, 3.0, -1.0];
        let n = pts.len();
        let g = Array2::from_shape_fn((n, n), |(i, j)| {
            green((pts[i].0 - pts[j].0).hypot(pts[i].1 - pts[j].1))
        });
        let v = Array2::from_shape_fn((n, 1), |(i, _)| vals[i]);
        let w = solve_dense(g.clone(), v).expect("nonsingular");
        let back = g.dot(&w);
        for i in 0..n {
            assert!((back[[i, 0]] - vals[i]).abs() < 1e-10);
        }
    }

    #[test]
    fn coincident_electrodes_are_merged() {
        let x = [0.1, 0.1 + 1e-9, -0.2];
        let y = [0.3, 0.3, 0.0];
        let groups = merge_points(&x, &y);
        assert_eq!(groups.len(), 2);
    }
}
