//! FFT block lengths chosen the way MNE chooses them, so segment boundaries (and hence
//! rounding) match `_overlap_add_filter`.

/// MNE's `next_fast_len`: the smallest 5-smooth number >= target (target itself if <= 6).
pub fn next_fast_len(target: usize) -> usize {
    if target <= 6 || target.is_power_of_two() {
        return target;
    }
    let mut n = target;
    loop {
        let mut m = n;
        for p in [2, 3, 5] {
            while m.is_multiple_of(p) {
                m /= p;
            }
        }
        if m == 1 {
            return n;
        }
        n += 1;
    }
}

/// MNE's overlap-add FFT length for a filter of `n_h` taps on `n_x` padded samples:
/// the power of two minimising a multiplication-count cost, or a single block.
pub fn overlap_add_n_fft(n_h: usize, n_x: usize) -> usize {
    let min_fft = 2 * n_h - 1;
    if n_x < min_fft {
        return next_fast_len(min_fft);
    }
    let lo = min_fft.next_power_of_two().trailing_zeros();
    let hi = n_x.next_power_of_two().trailing_zeros();
    let mut best = (f64::INFINITY, 1usize << lo);
    for k in lo..=hi {
        let n = 1usize << k;
        let cost = (n_x as f64 / (n - n_h + 1) as f64).ceil() * n as f64 * (k as f64 + 1.0)
            + 4e-5 * n as f64 * n_x as f64;
        if cost < best.0 {
            best = (cost, n);
        }
    }
    best.1
}
