//! Full linear convolution of two short kernels by direct summation (numpy's
//! `convolve(a, b)`, mode 'full'): how cascaded or doubled FIR filters are combined.

/// `a ∗ b`, length `a.len() + b.len() − 1` (empty when either is empty).
pub(crate) fn convolve_full(a: &[f64], b: &[f64]) -> Vec<f64> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, &x) in a.iter().enumerate() {
        for (o, &y) in out[i..].iter_mut().zip(b) {
            *o += x * y;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_definition() {
        let (a, b) = ([1.0, -2.0, 0.5], [3.0, 0.25]);
        let want: Vec<f64> = (0..4)
            .map(|k| {
                (0..3)
                    .filter(|&i| k >= i && k - i < 2)
                    .map(|i| a[i] * b[k - i])
                    .sum()
            })
            .collect();
        assert_eq!(convolve_full(&a, &b), want);
        assert!(convolve_full(&[], &b).is_empty());
    }
}
