//! MNE's `_smart_pad(x, (n_left, n_right), 'reflect_limited')`: odd (point) reflection
//! about the edge samples, limited to the signal length and zero-filled beyond it.

/// Returns `[zeros, 2 x[0] - x[n_left..1], x, 2 x[-1] - x[-2..], zeros]`.
pub fn reflect_limited(x: &[f64], n_left: usize, n_right: usize) -> Vec<f64> {
    let n = x.len();
    let mut out = Vec::with_capacity(n + n_left + n_right);
    if n == 0 {
        out.resize(n_left + n_right, 0.0);
        return out;
    }
    let (first, last) = (x[0], x[n - 1]);
    // numpy slice x[n_left:0:-1] clips to x[n-1:0:-1] when n_left >= n.
    let left_len = n_left.min(n - 1);
    out.resize(n_left - left_len, 0.0);
    for i in (1..=left_len).rev() {
        out.push(2.0 * first - x[i]);
    }
    out.extend_from_slice(x);
    let right_len = n_right.min(n - 1);
    for i in 0..right_len {
        out.push(2.0 * last - x[n - 2 - i]);
    }
    out.resize(n + n_left + n_right, 0.0);
    out
}
