//! Symmetric windows exactly as `scipy.signal.get_window(name, n, fftbins=False)`.

use std::f64::consts::PI;

/// Window used to taper FIR designs (MNE's `fir_window`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    #[default]
    Hamming,
    Hann,
    Blackman,
}

impl Window {
    /// MNE's `_length_factors`: filter length (in units of 1/transition) that gives the
    /// window's nominal attenuation.
    pub fn length_factor(self) -> f64 {
        match self {
            Window::Hamming => 3.3,
            Window::Hann => 3.1,
            Window::Blackman => 5.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Window::Hamming => "hamming",
            Window::Hann => "hann",
            Window::Blackman => "blackman",
        }
    }

    /// Cosine-sum coefficients as scipy passes them to `general_cosine`
    /// (`general_hamming` uses `[alpha, 1 - alpha]`, computed, not literal).
    fn coefficients(self) -> Vec<f64> {
        match self {
            Window::Hamming => vec![0.54, 1.0 - 0.54],
            Window::Hann => vec![0.5, 1.0 - 0.5],
            Window::Blackman => vec![0.42, 0.50, 0.08],
        }
    }

    /// Symmetric window of `n` points (scipy `sym=True`).
    pub fn symmetric(self, n: usize) -> Vec<f64> {
        if n == 0 {
            return Vec::new();
        }
        if n == 1 {
            return vec![1.0];
        }
        let fac = linspace(-PI, PI, n);
        let mut w = vec![0.0; n];
        for (k, a) in self.coefficients().into_iter().enumerate() {
            for (wi, f) in w.iter_mut().zip(&fac) {
                *wi += a * (k as f64 * f).cos();
            }
        }
        w
    }
}

/// `numpy.linspace(start, stop, n)` with numpy's arithmetic (i*step + start, last = stop).
pub(crate) fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![start];
    }
    let step = (stop - start) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| i as f64 * step + start).collect();
    v[n - 1] = stop;
    v
}

/// Modified Bessel function of the first kind, order 0 (power series; |x| is small here).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut term, mut sum, mut k) = (1.0, 1.0, 1.0);
    while term > 1e-17 * sum {
        term *= q / (k * k);
        sum += term;
        k += 1.0;
    }
    sum
}

/// Symmetric Kaiser window, `scipy.signal.windows.kaiser(n, beta, sym=True)`.
pub fn kaiser(n: usize, beta: f64) -> Vec<f64> {
    if n == 1 {
        return vec![1.0];
    }
    let alpha = (n as f64 - 1.0) / 2.0;
    let denom = bessel_i0(beta);
    (0..n)
        .map(|i| {
            let r = (i as f64 - alpha) / alpha;
            bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / denom
        })
        .collect()
}
