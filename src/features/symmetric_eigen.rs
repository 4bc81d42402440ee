//! Symmetric eigendecomposition for the small dense matrices of the covariance stage
//! (channels × channels, typically 8–128): Householder reduction to tridiagonal form with the
//! transformation accumulated explicitly, then the implicit QL algorithm with Wilkinson-style
//! shifts (EISPACK `tred2` + `tql2`, as in JAMA and Numerical Recipes).
//!
//! Why not faer's `self_adjoint_evd`: for 64×64 matrices it spends ~170 µs in its blocked
//! tridiagonalisation alone (per-call overhead of many tiny block operations), ~265 µs in all —
//! no faster than LAPACK behind `numpy.linalg.eigh`. The Riemannian mean needs about a thousand
//! of these per recording, so this is the whole cost of the tangent-space stage. Here every
//! inner loop runs over one contiguous column (the matrix is stored column-major), which the
//! compiler vectorises, and the workspace is allocated once per matrix size.
//!
//! Accuracy is that of any backward-stable symmetric solver (eigenvalues within a few
//! `ε‖A‖`, orthonormal eigenvectors), like LAPACK's; eigenvector signs are arbitrary, which
//! does not matter for the matrix functions `V f(Λ) Vᵀ` built from them. Single-threaded and
//! free of data-dependent parallelism, so bit-identical from run to run.

use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder};

use super::spd::SpdError;

/// A reusable eigendecomposition workspace for `n × n` symmetric matrices.
#[derive(Debug, Clone)]
pub struct SymmetricEigen {
    n: usize,
    /// Eigenvalues, ascending after [`SymmetricEigen::decompose`].
    values: Vec<f64>,
    /// Off-diagonal of the tridiagonal form, then scratch.
    offdiag: Vec<f64>,
    /// Column-major `n × n`: column `j` is the eigenvector of `values[j]`.
    vectors: Vec<f64>,
    /// Scratch for sorting.
    order: Vec<usize>,
    sorted: Vec<f64>,
    /// The plane rotations of the QL sweep being computed.
    cosines: Vec<f64>,
    sines: Vec<f64>,
    /// The rotations of the previous sweep, applied to `vectors` while the next sweep is
    /// computed (see [`PendingSweep`]).
    pending_cosines: Vec<f64>,
    pending_sines: Vec<f64>,
    carry: Vec<f64>,
}

/// Iterations allowed per eigenvalue in the QL sweep before giving up (LAPACK's `dsteqr`
/// allows 30 per eigenvalue; convergence is cubic, typically 1–2 are needed).
const MAX_ITERATIONS_PER_VALUE: usize = 30;

impl SymmetricEigen {
    pub fn new(n: usize) -> Self {
        Self {
            n,
            values: vec![0.0; n],
            offdiag: vec![0.0; n],
            vectors: vec![0.0; n * n],
            order: Vec::with_capacity(n),
            sorted: vec![0.0; n * n],
            cosines: vec![0.0; n],
            sines: vec![0.0; n],
            pending_cosines: vec![0.0; n],
            pending_sines: vec![0.0; n],
            carry: vec![0.0; n],
        }
    }

    pub fn dim(&self) -> usize {
        self.n
    }

    /// Decompose the symmetric matrix `a`, reading its lower triangle only (like
    /// `numpy.linalg.eigh(..., UPLO="L")`).
    pub fn decompose(&mut self, a: ArrayView2<f64>) -> Result<(), SpdError> {
        let (rows, cols) = a.dim();
        if rows != cols {
            return Err(SpdError::NotSquare { rows, cols });
        }
        if rows != self.n {
            *self = Self::new(rows);
        }
        let n = self.n;
        for j in 0..n {
            for i in j..n {
                let v = a[[i, j]];
                if !v.is_finite() {
                    return Err(SpdError::NotFinite);
                }
                self.vectors[j * n + i] = v;
            }
        }
        if n == 0 {
            return Ok(());
        }
        self.tridiagonalise_and_solve()?;
        self.sort_ascending();
        Ok(())
    }

    /// The decomposition proper, compiled for the widest vector unit the CPU has. The
    /// variants run the same operations in the same order (no fused multiply-adds, which Rust
    /// never introduces on its own, and no reassociated sums), so they give bit-identical
    /// results; only the width of the element-wise loops differs.
    fn tridiagonalise_and_solve(&mut self) -> Result<(), SpdError> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F, checked just above.
                unsafe { self.tridiagonalise_avx512() };
                // SAFETY: as above.
                return unsafe { self.ql_implicit_avx512() };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                unsafe { self.tridiagonalise_avx2() };
                // SAFETY: as above.
                return unsafe { self.ql_implicit_avx2() };
            }
        }
        self.tridiagonalise();
        self.ql_implicit()
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn tridiagonalise_avx512(&mut self) {
        self.tridiagonalise()
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn ql_implicit_avx512(&mut self) -> Result<(), SpdError> {
        self.ql_implicit()
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn tridiagonalise_avx2(&mut self) {
        self.tridiagonalise()
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn ql_implicit_avx2(&mut self) -> Result<(), SpdError> {
        self.ql_implicit()
    }

    /// Eigenvalues in ascending order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Eigenvectors as the columns of an `n × n` view.
    pub fn vectors(&self) -> ArrayView2<'_, f64> {
        ArrayView2::from_shape((self.n, self.n).f(), &self.vectors)
            .expect("the buffer holds n × n values")
    }

    /// `out = V diag(d) Vᵀ`, written in full (both triangles, exactly symmetric).
    pub fn reconstruct_into(&mut self, d: &[f64], mut out: ArrayViewMut2<f64>) {
        let n = self.n;
        assert_eq!(out.dim(), (n, n), "output is n × n");
        let mut acc = std::mem::take(&mut self.sorted);
        acc.fill(0.0);
        self.accumulate_lower(d, 1.0, &mut acc);
        for j in 0..n {
            for i in j..n {
                let v = acc[j * n + i];
                out[[i, j]] = v;
                out[[j, i]] = v;
            }
        }
        self.sorted = acc;
    }

    /// `acc += weight · V diag(d) Vᵀ` on the lower triangle of the column-major `n × n`
    /// buffer `acc` (the upper part is not touched). Column `j` of the product is
    /// `Σ_k d_k v_k[j] v_k`: axpys of contiguous eigenvectors into contiguous columns.
    pub fn accumulate_lower(&self, d: &[f64], weight: f64, acc: &mut [f64]) {
        let n = self.n;
        assert_eq!(d.len(), n, "one value per eigenvalue");
        assert_eq!(acc.len(), n * n, "accumulator is n × n");
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F, checked just above.
                return unsafe { self.accumulate_lower_avx512(d, weight, acc) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { self.accumulate_lower_avx2(d, weight, acc) };
            }
        }
        self.accumulate_lower_portable(d, weight, acc)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn accumulate_lower_avx512(&self, d: &[f64], weight: f64, acc: &mut [f64]) {
        self.accumulate_lower_portable(d, weight, acc)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn accumulate_lower_avx2(&self, d: &[f64], weight: f64, acc: &mut [f64]) {
        self.accumulate_lower_portable(d, weight, acc)
    }

    #[inline(always)]
    fn accumulate_lower_portable(&self, d: &[f64], weight: f64, acc: &mut [f64]) {
        let n = self.n;
        if n == 0 {
            return;
        }
        for (v, &dk) in self.vectors.chunks_exact(n).zip(d) {
            let dk = weight * dk;
            for (j, &vj) in v.iter().enumerate() {
                let s = dk * vj;
                let col = &mut acc[j * n + j..(j + 1) * n];
                for (o, x) in col.iter_mut().zip(&v[j..]) {
                    *o += s * x;
                }
            }
        }
    }

    /// EISPACK `tred2`: reduce the lower triangle of `vectors` (column-major) to tridiagonal
    /// form, leaving the diagonal in `values`, the sub-diagonal in `offdiag[1..]` and the
    /// orthogonal transformation in `vectors`. Element `(row k, column j)` is
    /// `vectors[j * n + k]`, so JAMA's `V[k][j]` loops over `k` run along a column.
    #[inline(always)]
    fn tridiagonalise(&mut self) {
        let n = self.n;
        let v = &mut self.vectors;
        let d = &mut self.values;
        let e = &mut self.offdiag;
        let at = |k: usize, j: usize| j * n + k;
        for j in 0..n {
            d[j] = v[at(n - 1, j)];
        }
        // The reduction works on the full symmetric matrix (both triangles, kept exactly
        // symmetric: the rank-2 update computes the same products for (k, j) and (j, k)), so
        // that `A u` is a sum of whole columns (axpys, in column order) instead of a dot
        // product and an axpy per column of the lower triangle, and the update runs down
        // whole columns: twice the flops of the update, a fraction of the time at 64×64.
        for j in 0..n {
            for k in j + 1..n {
                v[at(j, k)] = v[at(k, j)];
            }
        }
        for j in 0..n {
            d[j] = v[at(n - 1, j)];
        }
        for i in (1..n).rev() {
            let scale = sum_abs(&d[..i]);
            let mut h = 0.0;
            if scale == 0.0 {
                e[i] = d[i - 1];
                for j in 0..i {
                    d[j] = v[at(i - 1, j)];
                    v[at(i, j)] = 0.0;
                    v[at(j, i)] = 0.0;
                }
            } else {
                for dk in &mut d[..i] {
                    *dk /= scale;
                }
                h = dot(&d[..i], &d[..i]);
                let f = d[i - 1];
                let mut g = h.sqrt();
                if f > 0.0 {
                    g = -g;
                }
                e[i] = scale * g;
                h -= f * g;
                d[i - 1] = f - g;
                // The Householder vector u = d goes into column i (above the diagonal),
                // where the accumulation below expects it.
                let (block, rest) = v.split_at_mut(at(0, i));
                rest[..i].copy_from_slice(&d[..i]);
                // e = A u over the leading i × i block, columns four at a time (each
                // element still summed in column order).
                let e_block = &mut e[..i];
                e_block.fill(0.0);
                let mut quads = d[..i].chunks_exact(4);
                let mut j = 0;
                for f in quads.by_ref() {
                    let c0 = &block[at(0, j)..at(i, j)];
                    let c1 = &block[at(0, j + 1)..at(i, j + 1)];
                    let c2 = &block[at(0, j + 2)..at(i, j + 2)];
                    let c3 = &block[at(0, j + 3)..at(i, j + 3)];
                    for ((((ek, x0), x1), x2), x3) in
                        e_block.iter_mut().zip(c0).zip(c1).zip(c2).zip(c3)
                    {
                        *ek = *ek + x0 * f[0] + x1 * f[1] + x2 * f[2] + x3 * f[3];
                    }
                    j += 4;
                }
                for &f in quads.remainder() {
                    let c0 = &block[at(0, j)..at(i, j)];
                    for (ek, x0) in e_block.iter_mut().zip(c0) {
                        *ek += x0 * f;
                    }
                    j += 1;
                }
                for ek in e_block.iter_mut() {
                    *ek /= h;
                }
                let f = dot(e_block, &d[..i]);
                let hh = f / (h + h);
                for (ej, dj) in e_block.iter_mut().zip(&d[..i]) {
                    *ej -= hh * dj;
                }
                // A ← A − u pᵀ − p uᵀ on whole columns of the block.
                for (j, col) in block.chunks_exact_mut(n).enumerate().take(i) {
                    let (f, g) = (d[j], e[j]);
                    for ((c, ek), dk) in col[..i].iter_mut().zip(&e[..i]).zip(&d[..i]) {
                        *c -= f * ek + g * dk;
                    }
                }
                // The next row to eliminate (row i − 1 = column i − 1, by symmetry); row i
                // of the lower triangle is cleared, as the accumulation expects.
                d[..i].copy_from_slice(&v[at(0, i - 1)..at(i, i - 1)]);
                for j in 0..i {
                    v[at(i, j)] = 0.0;
                }
            }
            d[i] = h;
        }
        // Accumulate the transformations.
        for i in 0..n - 1 {
            v[at(n - 1, i)] = v[at(i, i)];
            v[at(i, i)] = 1.0;
            let h = d[i + 1];
            if h != 0.0 {
                let (left, right) = v.split_at_mut(at(0, i + 1));
                let u = &right[..=i];
                for (dk, uk) in d[..=i].iter_mut().zip(u) {
                    *dk = uk / h;
                }
                for j in 0..=i {
                    let col = &mut left[at(0, j)..=at(i, j)];
                    let g = dot(u, col);
                    for (c, dk) in col.iter_mut().zip(&d[..=i]) {
                        *c -= g * dk;
                    }
                }
            }
            v[at(0, i + 1)..=at(i, i + 1)].fill(0.0);
        }
        for j in 0..n {
            d[j] = v[at(n - 1, j)];
            v[at(n - 1, j)] = 0.0;
        }
        v[at(n - 1, n - 1)] = 1.0;
        e[0] = 0.0;
    }

    /// EISPACK `tql2`: implicit QL iterations on the tridiagonal form, rotating the columns of
    /// `vectors` (two contiguous columns per rotation).
    #[inline(always)]
    fn ql_implicit(&mut self) -> Result<(), SpdError> {
        let n = self.n;
        let d = &mut self.values;
        let e = &mut self.offdiag;
        let v = &mut self.vectors;
        let cosines = &mut self.cosines;
        let sines = &mut self.sines;
        let mut pending = PendingSweep {
            cosines: &mut self.pending_cosines,
            sines: &mut self.pending_sines,
            carry: &mut self.carry,
            l: 0,
            next: 0,
        };
        for i in 1..n {
            e[i - 1] = e[i];
        }
        e[n - 1] = 0.0;
        let mut f = 0.0;
        let mut tst1: f64 = 0.0;
        let eps = f64::EPSILON;
        for l in 0..n {
            tst1 = tst1.max(d[l].abs() + e[l].abs());
            let mut m = l;
            while m < n {
                if e[m].abs() <= eps * tst1 {
                    break;
                }
                m += 1;
            }
            // e[n − 1] is 0, so m < n always.
            if m > l {
                let mut iterations = 0;
                loop {
                    iterations += 1;
                    if iterations > MAX_ITERATIONS_PER_VALUE {
                        return Err(SpdError::NoConvergence);
                    }
                    let mut g = d[l];
                    let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                    let mut r = hypot(p, 1.0);
                    if p < 0.0 {
                        r = -r;
                    }
                    d[l] = e[l] / (p + r);
                    d[l + 1] = e[l] * (p + r);
                    let dl1 = d[l + 1];
                    let mut h = g - d[l];
                    for di in &mut d[l + 2..n] {
                        *di -= h;
                    }
                    f += h;
                    p = d[m];
                    let mut c = 1.0;
                    let mut c2 = c;
                    let mut c3 = c;
                    let el1 = e[l + 1];
                    let mut s = 0.0;
                    let mut s2 = 0.0;
                    for i in (l..m).rev() {
                        c3 = c2;
                        c2 = c;
                        s2 = s;
                        g = c * e[i];
                        h = c * p;
                        let inv_r;
                        (r, inv_r) = hypot_and_reciprocal(p, e[i]);
                        e[i + 1] = s * r;
                        s = e[i] * inv_r;
                        c = p * inv_r;
                        p = c * d[i] - s * g;
                        d[i + 1] = h + s * (c * g + s * d[i]);
                        cosines[i] = c;
                        sines[i] = s;
                        // The previous sweep's rotations fill the latency of this chain.
                        pending.step(v, n);
                    }
                    pending.finish(v, n);
                    pending.start(v, n, l, m, cosines, sines);
                    p = -s * s2 * c3 * el1 * e[l] / dl1;
                    e[l] = s * p;
                    d[l] = c * p;
                    if e[l].abs() <= eps * tst1 {
                        break;
                    }
                }
            }
            d[l] += f;
            e[l] = 0.0;
        }
        pending.finish(v, n);
        Ok(())
    }

    fn sort_ascending(&mut self) {
        let n = self.n;
        self.order.clear();
        self.order.extend(0..n);
        let values = &self.values;
        self.order
            .sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
        if self.order.iter().enumerate().all(|(i, &k)| i == k) {
            return;
        }
        for (slot, &k) in self.order.iter().enumerate() {
            self.sorted[slot * n..(slot + 1) * n]
                .copy_from_slice(&self.vectors[k * n..(k + 1) * n]);
            self.offdiag[slot] = self.values[k];
        }
        std::mem::swap(&mut self.vectors, &mut self.sorted);
        self.values.copy_from_slice(&self.offdiag);
    }
}

/// The rotations of the last QL sweep, not yet applied to the eigenvector columns. The
/// sweep's recurrence is a serial chain (a square root and a division per rotation) during
/// which the vector units idle; applying the previous sweep's rotations one per step of the
/// next chain keeps them busy, instead of a separate pass after each sweep (LAPACK `dlasr`;
/// saves ~4% of a 64×64 decomposition). Every element sees the same operations in the same
/// order as applying the sweeps one after the other, so the result is the same to the bit.
struct PendingSweep<'a> {
    cosines: &'a mut Vec<f64>,
    sines: &'a mut Vec<f64>,
    /// Column `i` (from `m` down) carried from one rotation to the next, for all rows.
    carry: &'a mut Vec<f64>,
    /// The sweep rotates columns `l ..= m`; `next` is the column above the next rotation
    /// (rotation `next − 1` acts on columns `next − 1` and `next`). Done when `next == l`.
    l: usize,
    next: usize,
}

impl PendingSweep<'_> {
    /// Takes over the rotations `cosines[l..m]`, `sines[l..m]` of a finished sweep (the
    /// previous pending sweep must be finished): swaps the buffers, so the caller's are
    /// free for the next sweep.
    #[inline(always)]
    fn start(
        &mut self,
        v: &[f64],
        n: usize,
        l: usize,
        m: usize,
        cosines: &mut Vec<f64>,
        sines: &mut Vec<f64>,
    ) {
        debug_assert_eq!(self.next, self.l, "the previous sweep is finished");
        std::mem::swap(self.cosines, cosines);
        std::mem::swap(self.sines, sines);
        self.carry.copy_from_slice(&v[m * n..(m + 1) * n]);
        self.l = l;
        self.next = m;
    }

    /// Applies the next rotation, if any, to all rows.
    #[inline(always)]
    fn step(&mut self, v: &mut [f64], n: usize) {
        if self.next == self.l {
            return;
        }
        let i = self.next - 1;
        let (c, s) = (self.cosines[i], self.sines[i]);
        let (lower, upper) = v[i * n..(i + 2) * n].split_at_mut(n);
        for ((&a, up), carry) in lower
            .iter()
            .zip(upper.iter_mut())
            .zip(self.carry.iter_mut())
        {
            *up = s * a + c * *carry;
            *carry = c * a - s * *carry;
        }
        self.next = i;
        if i == self.l {
            v[i * n..(i + 1) * n].copy_from_slice(self.carry);
        }
    }

    /// Applies the remaining rotations.
    #[inline(always)]
    fn finish(&mut self, v: &mut [f64], n: usize) {
        while self.next > self.l {
            self.step(v, n);
        }
    }
}

/// `Σ aᵢbᵢ` with eight interleaved partial sums (a fixed order, so the same result on every
/// CPU), which the compiler can keep in vector registers; a single running sum cannot be
/// vectorised without reassociating it.
#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0; 8];
    let (a8, a_rest) = a.split_at(n - n % 8);
    let (b8, b_rest) = b.split_at(n - n % 8);
    for (x, y) in a8.chunks_exact(8).zip(b8.chunks_exact(8)) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    let mut tail = 0.0;
    for (x, y) in a_rest.iter().zip(b_rest) {
        tail += x * y;
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
        + tail
}

/// `Σ |aᵢ|` with eight interleaved partial sums, like [`dot`].
#[inline(always)]
fn sum_abs(a: &[f64]) -> f64 {
    let n = a.len();
    let mut lanes = [0.0; 8];
    let (a8, rest) = a.split_at(n - n % 8);
    for x in a8.chunks_exact(8) {
        for k in 0..8 {
            lanes[k] += x[k].abs();
        }
    }
    let mut tail = 0.0;
    for x in rest {
        tail += x.abs();
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
        + tail
}

/// `(r, 1/r)` with `r = √(a² + b²)`, for the QL sweep's serial dependency chain: `1/r` as
/// `r · (1/(a² + b²))` lets the square root and the division run side by side (one latency
/// instead of two in a row; the chain is most of the sweep's time), at a rounding error of
/// 1.5 ulp instead of 0.5 in the rotation's cosine and sine.
#[inline(always)]
fn hypot_and_reciprocal(a: f64, b: f64) -> (f64, f64) {
    const SAFE_MIN: f64 = 1e-150;
    const SAFE_MAX: f64 = 1e150;
    let m = a.abs().max(b.abs());
    if m < SAFE_MAX && m > SAFE_MIN {
        let t = a * a + b * b;
        let r = t.sqrt();
        (r, r * (1.0 / t))
    } else {
        let r = a.hypot(b);
        (r, 1.0 / r)
    }
}

/// `√(a² + b²)`: `f64::hypot` (libm) guards against overflow and underflow at about ten
/// times the cost of a square root, and the QL sweep calls it once per rotation; the plain
/// formula is exact enough whenever the squares cannot overflow or underflow.
#[inline(always)]
fn hypot(a: f64, b: f64) -> f64 {
    const SAFE_MIN: f64 = 1e-150;
    const SAFE_MAX: f64 = 1e150;
    let m = a.abs().max(b.abs());
    if m < SAFE_MAX && m > SAFE_MIN {
        (a * a + b * b).sqrt()
    } else {
        a.hypot(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// A deterministic pseudo-random symmetric matrix with a wide spectrum.
    fn test_matrix(n: usize, seed: u64) -> Array2<f64> {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let b = Array2::from_shape_fn((n, n), |_| next());
        let mut a = b.dot(&b.t());
        for i in 0..n {
            a[[i, i]] += 1e-3 * (i as f64 + 1.0);
        }
        a
    }

    #[test]
    fn decomposition_reconstructs_and_is_orthonormal() {
        for (n, seed) in [(1, 1), (2, 2), (3, 3), (8, 4), (17, 5), (64, 6)] {
            let a = test_matrix(n, seed);
            let mut eig = SymmetricEigen::new(n);
            eig.decompose(a.view()).unwrap();
            let values = eig.values().to_vec();
            assert!(values.windows(2).all(|w| w[0] <= w[1]), "ascending");
            let v = eig.vectors().to_owned();
            let vtv = v.t().dot(&v);
            let scale = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let mut back = Array2::zeros((n, n));
            eig.reconstruct_into(&values, back.view_mut());
            for i in 0..n {
                for j in 0..n {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((vtv[[i, j]] - want).abs() < 1e-13, "n={n}: VᵀV");
                    assert!((back[[i, j]] - a[[i, j]]).abs() < 1e-13 * scale * n as f64);
                }
            }
            // A v = λ v for each pair.
            let av = a.dot(&v);
            for k in 0..n {
                for i in 0..n {
                    assert!((av[[i, k]] - values[k] * v[[i, k]]).abs() < 1e-12 * scale * n as f64);
                }
            }
        }
    }

    /// The vector-width variants chosen at run time must agree bit for bit with the portable
    /// build (baseline x86-64 or any other target), or results would depend on the machine.
    #[test]
    fn dispatched_and_portable_paths_are_bit_identical() {
        for (n, seed) in [(17, 7), (64, 8), (127, 9)] {
            let a = test_matrix(n, seed);
            let mut dispatched = SymmetricEigen::new(n);
            dispatched.decompose(a.view()).unwrap();
            let mut portable = SymmetricEigen::new(n);
            for j in 0..n {
                for i in j..n {
                    portable.vectors[j * n + i] = a[[i, j]];
                }
            }
            portable.tridiagonalise();
            portable.ql_implicit().unwrap();
            portable.sort_ascending();
            let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(dispatched.values()), bits(portable.values()));
            assert_eq!(bits(&dispatched.vectors), bits(&portable.vectors));
            let d: Vec<f64> = (0..n).map(|k| k as f64 - 3.5).collect();
            let mut acc_dispatched = vec![0.0; n * n];
            let mut acc_portable = vec![0.0; n * n];
            dispatched.accumulate_lower(&d, 0.25, &mut acc_dispatched);
            dispatched.accumulate_lower_portable(&d, 0.25, &mut acc_portable);
            assert_eq!(bits(&acc_dispatched), bits(&acc_portable));
        }
    }

    #[test]
    fn diagonal_repeated_and_zero_matrices() {
        let mut eig = SymmetricEigen::new(4);
        let d = Array2::from_diag(&ndarray::arr1(&[3.0, -1.0, 3.0, 0.0]));
        eig.decompose(d.view()).unwrap();
        assert_eq!(eig.values(), &[-1.0, 0.0, 3.0, 3.0]);
        eig.decompose(Array2::zeros((4, 4)).view()).unwrap();
        assert_eq!(eig.values(), &[0.0; 4]);
        let mut upper_garbage = Array2::from_elem((4, 4), f64::NAN);
        for i in 0..4 {
            for j in 0..=i {
                upper_garbage[[i, j]] = 1.0;
            }
        }
        eig.decompose(upper_garbage.view()).unwrap();
        let vals = eig.values();
        assert!((vals[3] - 4.0).abs() < 1e-14 && vals[..3].iter().all(|x| x.abs() < 1e-14));
        let not_square = Array2::<f64>::zeros((2, 3));
        assert_eq!(
            eig.decompose(not_square.view()),
            Err(SpdError::NotSquare { rows: 2, cols: 3 })
        );
    }
}
