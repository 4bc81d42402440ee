//! The random start MNE gives Picard, reproduced bit for bit, so that `seed` means what
//! `random_state=seed` means in `mne.preprocessing.ICA` (MNE 1.13, python-picard 0.8.2):
//! MNE turns an integer `random_state` into `np.random.RandomState(seed)` (MT19937 with
//! numpy's legacy integer seeding) and hands it to python-picard, which draws
//! `normal(size=(n, n))` from it (the legacy polar Box–Muller `gauss`, row-major order) and
//! decorrelates that into its start.
//!
//! Same start ⇒ the same iterates as MNE up to rounding, hence (on well-conditioned data) the
//! same iteration count and components. numpy refuses seeds ≥ 2³²; for those we seed with
//! the two 32-bit words as `RandomState([low, high])` would.

use ndarray::Array2;

/// numpy's legacy `RandomState` (MT19937) as far as `normal` needs it.
struct LegacyRandomState {
    key: [u32; 624],
    pos: usize,
    gauss: Option<f64>,
}

impl LegacyRandomState {
    /// `RandomState(seed)` for 0 ≤ seed < 2³², else `RandomState([low, high])`.
    fn from_seed(seed: u64) -> Self {
        match u32::try_from(seed) {
            Ok(s) => Self::new(s),
            Err(_) => Self::from_key(&[seed as u32, (seed >> 32) as u32]),
        }
    }

    /// numpy's `init_by_array`.
    fn from_key(init_key: &[u32]) -> Self {
        const N: usize = 624;
        let mut rs = Self::new(19_650_218);
        let mt = &mut rs.key;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(init_key.len()) {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_664_525))
                .wrapping_add(init_key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= init_key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        rs
    }

    fn new(seed: u32) -> Self {
        let mut key = [0u32; 624];
        let mut s = seed;
        for (pos, k) in key.iter_mut().enumerate() {
            *k = s;
            s = 1_812_433_253u32
                .wrapping_mul(s ^ (s >> 30))
                .wrapping_add(pos as u32 + 1);
        }
        LegacyRandomState {
            key,
            pos: 624,
            gauss: None,
        }
    }

    fn next_u32(&mut self) -> u32 {
        const N: usize = 624;
        const M: usize = 397;
        const MATRIX_A: u32 = 0x9908_b0df;
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        if self.pos == N {
            for i in 0..N {
                let y = (self.key[i] & UPPER) | (self.key[(i + 1) % N] & LOWER);
                let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
                self.key[i] = self.key[(i + M) % N] ^ (y >> 1) ^ mag;
            }
            self.pos = 0;
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn next_double(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `legacy_gauss`: polar Box–Muller, the second value kept for the next call.
    fn gauss(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.next_double() - 1.0;
            let x2 = 2.0 * self.next_double() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }
}

/// python-picard's `random_state.normal(size=(n, n))` for MNE's `random_state=seed`: the
/// matrix its start is decorrelated from.
pub fn mne_picard_initial_normals(seed: u64, n: usize) -> Array2<f64> {
    let mut rs = LegacyRandomState::from_seed(seed);
    Array2::from_shape_simple_fn((n, n), || rs.gauss())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by numpy 2.4: `RandomState(97).normal(size=4)` and, for a seed above
    /// 2³², `RandomState([5, 1]).normal(size=2)`; tests/ica.rs compares whole matrices with
    /// numpy itself.
    #[test]
    fn numpy_legacy_normals() {
        let w = mne_picard_initial_normals(97, 2);
        assert_eq!(
            w.iter().copied().collect::<Vec<_>>(),
            vec![
                -1.751_187_751_292_001_5,
                -0.429_598_354_048_962_07,
                -0.746_389_188_577_270_3,
                1.006_847_638_323_439_3
            ]
        );
        let w = mne_picard_initial_normals((1 << 32) + 5, 1);
        assert_eq!(w[(0, 0)], -0.489_287_412_566_659_03);
    }
}
