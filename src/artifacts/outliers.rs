//! MNE's iterated z-scoring (`mne.preprocessing.bads._find_outliers`): values whose
//! |z| exceeds the threshold are masked and the z-scores recomputed over the rest, up to
//! `max_iter` rounds, so one huge outlier does not hide a second one.

/// Indices (ascending) of the outliers in `x`, two-tailed, as `_find_outliers(x,
/// threshold, max_iter)`. Z-scores use the mean and population standard deviation of the
/// values not yet masked. A NaN value (a constant component has a NaN correlation) makes
/// every z-score NaN, so nothing more is flagged; MNE's masked-array arithmetic gives
/// arbitrary flags in that case, which we do not reproduce.
pub fn find_outliers(x: &[f64], threshold: f64, max_iter: usize) -> Vec<usize> {
    let mut mask = vec![false; x.len()];
    for _ in 0..max_iter {
        let kept: Vec<f64> = x
            .iter()
            .zip(&mask)
            .filter(|(_, m)| !**m)
            .map(|(v, _)| *v)
            .collect();
        if kept.is_empty() {
            break;
        }
        let n = kept.len() as f64;
        let mean = kept.iter().sum::<f64>() / n;
        let std = (kept.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
        let mut any = false;
        for (v, m) in x.iter().zip(mask.iter_mut()) {
            if *m {
                continue;
            }
            let z = ((v - mean) / std).abs();
            if z > threshold {
                *m = true;
                any = true;
            }
        }
        if !any {
            break;
        }
    }
    mask.iter()
        .enumerate()
        .filter(|(_, m)| **m)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_round_finds_the_outlier_the_first_one_hid() {
        // Checked against MNE: _find_outliers(x, 3.0) == [0, 13]; max_iter=1 gives [0].
        let x = [
            10., 1., 2., 3., 2., 1., 2., 3., 1., 2., 3., 2., 1., 6., 2., 1., 2., 3., 2., 1.,
        ];
        assert_eq!(find_outliers(&x, 3.0, 2), vec![0, 13]);
        assert_eq!(find_outliers(&x, 3.0, 1), vec![0]);
    }

    #[test]
    fn nan_flags_nothing_new() {
        assert!(find_outliers(&[1.0, f64::NAN, 100.0, 1.0], 1.0, 2).is_empty());
    }
}
