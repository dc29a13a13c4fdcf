//! Thin SVD on row-major data: Golub–Kahan–Reinsch (Householder
//! bidiagonalisation, accumulation of the transformations, implicit-shift QR
//! on the bidiagonal), the algorithm of Golub & Reinsch (1970) as in
//! EISPACK `svd`, laid out column-major so every inner loop is contiguous.
//! Wide matrices are decomposed through their transpose; much taller than
//! wide ones are first reduced to their triangular QR factor.
//!
//! Why not `nalgebra::SVD`: its implicit-shift QR iteration silently returns
//! wrong decompositions for some inputs (nalgebra issue #1172, open against
//! 0.35): about 2 % of random rank-deficient matrices — including the
//! "identical contributions" matrices that merging produces — reconstruct
//! with errors of order 1. The Golub–Reinsch iteration here splits the
//! bidiagonal at every negligible entry and cancels negligible diagonal
//! entries before shifting, which is what those inputs need; the unit tests
//! cover them.
//!
//! Determinism: plain f64 arithmetic only (`+ − × ÷` and `sqrt`, all
//! IEEE-exact; no FMA, no `hypot` from the platform libm, no threads), and
//! every reduction has a fixed order (four interleaved partial sums, then
//! `(p0 + p1) + (p2 + p3)`, then the tail), so the bits are the same on
//! x86_64 and wasm32. The reference uses LAPACK `gesdd`; results agree to
//! class S (spec §1.9) on everything that does not depend on singular-vector
//! signs. Speed: ≈ 3.3 ms for a 128 × 128 matrix in release builds (the
//! one-sided Jacobi SVD this replaces took ≈ 30 ms; `svd_timing` below
//! measures it). `nalgebra::DMatrix` is kept as the storage type of the
//! factors.
//!
//! [`small_side_svd`] computes only the singular values and the smaller
//! side's vectors — U is then neither accumulated nor rotated, which is
//! about 40 % of the work for a square matrix; `s` and V are bit for bit
//! those of [`thin_svd`] — for the rank truncations of `star` and `adarank`
//! ([`SmallSideSvd::truncate`]) and for [`psd_eigh`]. (A plain
//! `√(a² + b²)` in place of [`pythag`] in the QR sweeps was tried: 5 %
//! faster on random matrices, but it nearly doubled the sweeps on
//! orthogonal ones — all singular values tied, as in `svd_knot_tying`'s
//! Procrustes step.)

use nalgebra::DMatrix;

/// QR iterations allowed per singular value (Golub–Reinsch needs about two
/// on average; EISPACK allows 30). Exhausting it (in practice: non-finite
/// intermediate values) makes the SVD report failure instead of looping.
const MAX_ITERATIONS: usize = 75;

/// A thin SVD `A = U·diag(s)·Vᵀ` with `s` in descending order and `U`, `V`
/// with orthonormal columns.
pub(crate) struct ThinSvd {
    /// rows × k, k = min(rows, cols).
    pub u: DMatrix<f64>,
    /// k singular values, descending, non-negative.
    pub s: Vec<f64>,
    /// k × cols.
    pub vt: DMatrix<f64>,
}

/// Thin SVD of the `rows × cols` row-major matrix `data`; `None` if the
/// matrix is empty, contains non-finite values, or (only possible when
/// intermediate values overflow) the iteration does not converge.
pub(crate) fn thin_svd(rows: usize, cols: usize, data: &[f64]) -> Option<ThinSvd> {
    if rows == 0 || cols == 0 || data.len() != rows * cols || data.iter().any(|v| !v.is_finite()) {
        return None;
    }
    if rows >= cols {
        // Column-major copy of A (rows × cols).
        let mut a = vec![0.0; rows * cols];
        for (i, row) in data.chunks_exact(cols).enumerate() {
            for (j, &x) in row.iter().enumerate() {
                a[j * rows + i] = x;
            }
        }
        let (u, s, v) = tall_svd(rows, cols, a, MAX_ITERATIONS, true)?;
        Some(ThinSvd {
            u: DMatrix::from_vec(rows, cols, u),
            s,
            vt: DMatrix::from_vec(cols, cols, v).transpose(),
        })
    } else {
        // A = (Aᵀ)ᵀ = (U' S V'ᵀ)ᵀ = V' S U'ᵀ; the row-major A is Aᵀ
        // column-major.
        let (u2, s, v2) = tall_svd(cols, rows, data.to_vec(), MAX_ITERATIONS, true)?;
        Some(ThinSvd {
            u: DMatrix::from_vec(rows, rows, v2),
            s,
            vt: DMatrix::from_vec(cols, rows, u2).transpose(),
        })
    }
}

/// Singular values and the singular vectors of the smaller side only of a
/// `rows × cols` matrix: enough for the rank truncations of `star` and
/// `adarank`, since `U_k·diag(s_k)·V_kᵀ = A·V_k·V_kᵀ = U_k·U_kᵀ·A`. Skipping
/// the other side saves its accumulation and half of the QR sweeps' work.
pub(crate) struct SmallSideSvd {
    rows: usize,
    cols: usize,
    /// p = min(rows, cols) singular values, descending, non-negative; bit
    /// for bit those of [`thin_svd`].
    pub s: Vec<f64>,
    /// p × p, column-major: column j is the j-th right singular vector when
    /// `rows ≥ cols`, the j-th left one otherwise; bit for bit the columns
    /// of [`thin_svd`]'s V or U.
    vecs: Vec<f64>,
}

/// [`SmallSideSvd`] of the `rows × cols` row-major matrix `data`; `None`
/// exactly when [`thin_svd`] gives `None`.
pub(crate) fn small_side_svd(rows: usize, cols: usize, data: &[f64]) -> Option<SmallSideSvd> {
    if rows == 0 || cols == 0 || data.len() != rows * cols || data.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let (_, s, vecs) = if rows >= cols {
        let mut a = vec![0.0; rows * cols];
        for (i, row) in data.chunks_exact(cols).enumerate() {
            for (j, &x) in row.iter().enumerate() {
                a[j * rows + i] = x;
            }
        }
        tall_svd(rows, cols, a, MAX_ITERATIONS, false)?
    } else {
        // The right singular vectors of Aᵀ (row-major A = column-major Aᵀ)
        // are the left ones of A.
        tall_svd(cols, rows, data.to_vec(), MAX_ITERATIONS, false)?
    };
    Some(SmallSideSvd {
        rows,
        cols,
        s,
        vecs,
    })
}

impl SmallSideSvd {
    /// For `rows ≥ cols`: the singular values and V (`cols × cols`,
    /// column j the j-th right singular vector), bit for bit those of
    /// [`thin_svd`]; `None` for wide matrices (whose small side is U).
    pub(crate) fn into_right(self) -> Option<(Vec<f64>, DMatrix<f64>)> {
        if self.rows < self.cols {
            return None;
        }
        let p = self.s.len();
        Some((self.s, DMatrix::from_vec(p, p, self.vecs)))
    }

    /// The rank-`k` truncation times `scale`, `scale·U_k·diag(s_k)·V_kᵀ`,
    /// row-major, computed from `data` (the decomposed matrix, row-major) as
    /// `(scale·A·V_k)·V_kᵀ` when `rows ≥ cols`, else `U_k·(scale·U_kᵀ·A)`.
    /// Every entry of the inner product is a [`dot`] or an in-order
    /// [`axpy`] sum, the outer one sums over `j < k` in order. `k` is
    /// clamped to the number of singular values; `k = 0` gives zeros.
    pub(crate) fn truncate(&self, data: &[f64], k: usize, scale: f64) -> Vec<f64> {
        let (rows, cols) = (self.rows, self.cols);
        assert_eq!(
            data.len(),
            rows * cols,
            "truncate: not the decomposed shape"
        );
        let k = k.min(self.s.len());
        let mut out = vec![0.0; rows * cols];
        if k == 0 {
            return out;
        }
        if rows >= cols {
            // Columns 0..k of V, each `cols` long.
            let vk = &self.vecs[..k * cols];
            let mut w = vec![0.0; k];
            for (a_row, out_row) in data.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
                for (wj, vj) in w.iter_mut().zip(vk.chunks_exact(cols)) {
                    *wj = scale * dot(a_row, vj);
                }
                for (&wj, vj) in w.iter().zip(vk.chunks_exact(cols)) {
                    axpy(wj, vj, out_row);
                }
            }
        } else {
            // Columns 0..k of U, each `rows` long; z = scale·U_kᵀ·A (k × cols,
            // row-major).
            let uk = &self.vecs[..k * rows];
            let mut z = vec![0.0; k * cols];
            for (zj, uj) in z.chunks_exact_mut(cols).zip(uk.chunks_exact(rows)) {
                for (&ujr, a_row) in uj.iter().zip(data.chunks_exact(cols)) {
                    axpy(ujr, a_row, zj);
                }
                zj.iter_mut().for_each(|x| *x *= scale);
            }
            for (r, out_row) in out.chunks_exact_mut(cols).enumerate() {
                for (zj, uj) in z.chunks_exact(cols).zip(uk.chunks_exact(rows)) {
                    axpy(uj[r], zj, out_row);
                }
            }
        }
        out
    }
}

/// Column-major `(U m×n, s, V n×n)` of the column-major `m × n` matrix `a`
/// (`m ≥ n ≥ 1`), sorted by descending singular value. Without `want_u`, U
/// is neither accumulated nor rotated and comes back empty; `s` and `V` are
/// bit for bit the same either way (U never feeds back into them).
fn tall_svd(
    m: usize,
    n: usize,
    mut a: Vec<f64>,
    max_iterations: usize,
    want_u: bool,
) -> Option<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    debug_assert!(m >= n && n >= 1 && a.len() == m * n);
    // Scale by an exact power of two so that the largest entry is about 1:
    // no intermediate value can then overflow or lose precision to
    // underflow. A no-op (bit for bit) for entries of ordinary size.
    let amax = a.iter().fold(0.0f64, |acc, x| acc.max(x.abs()));
    let exponent = scale_exponent(amax);
    if exponent != 0 {
        a.iter_mut().for_each(|x| *x = scale_by_pow2(*x, -exponent));
    }
    let (u, mut s, v) = if m >= QR_FIRST_RATIO * n {
        qr_then_svd(m, n, a, max_iterations, want_u)?
    } else {
        golub_reinsch(m, n, a, max_iterations, want_u)?
    };
    if exponent != 0 {
        s.iter_mut().for_each(|x| *x = scale_by_pow2(*x, exponent));
    }
    if u.iter().chain(&s).chain(&v).any(|x| !x.is_finite()) {
        return None;
    }
    Some(sort_desc(m, n, u, s, v))
}

/// For `m ≥ QR_FIRST_RATIO·n`, [`tall_svd`] first reduces A to its n × n
/// triangular factor R (A = Q·R) and decomposes R: the QR iterations then
/// rotate n-long instead of m-long columns of U (LAPACK `gesvd` does the
/// same above m ≈ 1.6·n).
const QR_FIRST_RATIO: usize = 2;

/// SVD through A = Q·R: `R = U_R·S·Vᵀ`, then `U = Q·[U_R; 0]` (only with
/// `want_u`).
fn qr_then_svd(
    m: usize,
    n: usize,
    mut a: Vec<f64>,
    max_iterations: usize,
    want_u: bool,
) -> Option<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    // Householder QR in place: reflector j (I + v·vᵀ/h_j, h_j < 0) in
    // A(j.., j), R above the diagonal of A and on `diag`. Same reflector
    // as the left one of the bidiagonalisation.
    let mut h = vec![0.0; n];
    let mut diag = vec![0.0; n];
    for j in 0..n {
        let (head, tail) = a.split_at_mut((j + 1) * m);
        let cj = &mut head[j * m + j..];
        let scale = abs_sum(cj);
        if scale == 0.0 {
            continue;
        }
        cj.iter_mut().for_each(|x| *x /= scale);
        let s = dot(cj, cj);
        let f = cj[0];
        let g = -sign(s.sqrt(), f);
        h[j] = f * g - s;
        cj[0] = f - g;
        for ck in tail.chunks_exact_mut(m) {
            let ck = &mut ck[j..];
            let f = dot(cj, ck) / h[j];
            axpy(f, cj, ck);
        }
        diag[j] = scale * g;
    }
    let mut r = vec![0.0; n * n];
    for k in 0..n {
        r[k * n..k * n + k].copy_from_slice(&a[k * m..k * m + k]);
        r[k * n + k] = diag[k];
    }
    let (ur, s, v) = golub_reinsch(n, n, r, max_iterations, want_u)?;
    if !want_u {
        return Some((Vec::new(), s, v));
    }
    let mut u = vec![0.0; m * n];
    for (uc, urc) in u.chunks_exact_mut(m).zip(ur.chunks_exact(n)) {
        uc[..n].copy_from_slice(urc);
    }
    for j in (0..n).rev() {
        if h[j] == 0.0 {
            continue;
        }
        let vj = &a[j * m + j..(j + 1) * m];
        for uc in u.chunks_exact_mut(m) {
            let uc = &mut uc[j..];
            let f = dot(vj, uc) / h[j];
            axpy(f, vj, uc);
        }
    }
    Some((u, s, v))
}

/// `e` with `2^−e·amax` in `[2^−300, 2^300]` (0 when `amax` already is, or
/// is 0).
fn scale_exponent(amax: f64) -> i32 {
    let limit = f64::from_bits((1023 + 300) << 52); // 2^300
    if amax == 0.0 || (amax <= limit && amax >= 1.0 / limit) {
        return 0;
    }
    // amax is finite and non-zero: its binary exponent (subnormals read
    // through a normalising multiplication).
    let (x, bias) = if amax < f64::MIN_POSITIVE {
        (amax * 2f64.powi(64), 64)
    } else {
        (amax, 0)
    };
    ((x.to_bits() >> 52) & 0x7ff) as i32 - 1023 - bias
}

/// `x·2^e`, exact whenever the result is a normal number (applied in steps
/// so that the factor itself is always representable).
fn scale_by_pow2(mut x: f64, mut e: i32) -> f64 {
    while e != 0 {
        let step = e.clamp(-1000, 1000);
        x *= f64::from_bits(((1023 + step) as u64) << 52);
        e -= step;
    }
    x
}

/// `√(a² + b²)` without destructive overflow or underflow (IEEE operations
/// only, so it is the same everywhere, unlike the platform `hypot`).
fn pythag(a: f64, b: f64) -> f64 {
    let (a, b) = (a.abs(), b.abs());
    if a > b {
        let r = b / a;
        a * (1.0 + r * r).sqrt()
    } else if b == 0.0 {
        0.0
    } else {
        let r = a / b;
        b * (1.0 + r * r).sqrt()
    }
}

/// `|a|` with the sign of `b` (Fortran `SIGN`: `+` for `b = ±0`).
fn sign(a: f64, b: f64) -> f64 {
    if b >= 0.0 {
        a.abs()
    } else {
        -a.abs()
    }
}

/// `Σ x_i·y_i` in a fixed order: four interleaved partial sums over the
/// chunks of four, combined as `(p0 + p1) + (p2 + p3)`, then the tail in
/// sequence.
fn dot(x: &[f64], y: &[f64]) -> f64 {
    debug_assert_eq!(x.len(), y.len());
    let mut p = [0.0f64; 4];
    let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        p[0] += a[0] * b[0];
        p[1] += a[1] * b[1];
        p[2] += a[2] * b[2];
        p[3] += a[3] * b[3];
    }
    let mut sum = (p[0] + p[1]) + (p[2] + p[3]);
    for (a, b) in xr.iter().zip(yr) {
        sum += a * b;
    }
    sum
}

/// `(dot(x, y), dot(x, z))`, bit for bit, in one pass.
fn dot2(x: &[f64], y: &[f64], z: &[f64]) -> (f64, f64) {
    debug_assert!(x.len() == y.len() && x.len() == z.len());
    let (mut p, mut q) = ([0.0f64; 4], [0.0f64; 4]);
    let (xc, yc, zc) = (x.chunks_exact(4), y.chunks_exact(4), z.chunks_exact(4));
    let (xr, yr, zr) = (xc.remainder(), yc.remainder(), zc.remainder());
    for ((a, b), c) in xc.zip(yc).zip(zc) {
        for t in 0..4 {
            p[t] += a[t] * b[t];
            q[t] += a[t] * c[t];
        }
    }
    let mut sp = (p[0] + p[1]) + (p[2] + p[3]);
    let mut sq = (q[0] + q[1]) + (q[2] + q[3]);
    for ((a, b), c) in xr.iter().zip(yr).zip(zr) {
        sp += a * b;
        sq += a * c;
    }
    (sp, sq)
}

/// `y ← y + f·x` and `z ← z + g·x`, bit for bit [`axpy`] twice.
fn axpy2(f: f64, g: f64, x: &[f64], y: &mut [f64], z: &mut [f64]) {
    for ((xi, yi), zi) in x.iter().zip(y.iter_mut()).zip(z.iter_mut()) {
        *yi += f * xi;
        *zi += g * xi;
    }
}

/// `Σ |x_i|` in the same fixed order as [`dot`].
fn abs_sum(x: &[f64]) -> f64 {
    let mut p = [0.0f64; 4];
    let xc = x.chunks_exact(4);
    let xr = xc.remainder();
    for a in xc {
        p[0] += a[0].abs();
        p[1] += a[1].abs();
        p[2] += a[2].abs();
        p[3] += a[3].abs();
    }
    let mut sum = (p[0] + p[1]) + (p[2] + p[3]);
    for a in xr {
        sum += a.abs();
    }
    sum
}

/// `y ← y + f·x`.
fn axpy(f: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += f * xi;
    }
}

/// Columns `p < q` of a column-major matrix with `m` rows, mutably.
fn column_pair(data: &mut [f64], m: usize, p: usize, q: usize) -> (&mut [f64], &mut [f64]) {
    debug_assert!(p < q);
    let (left, right) = data.split_at_mut(q * m);
    (&mut left[p * m..(p + 1) * m], &mut right[..m])
}

/// `(x, y) ← (c·x + s·y, c·y − s·x)` on columns `p < q`.
fn rotate(data: &mut [f64], m: usize, p: usize, q: usize, c: f64, s: f64) {
    let (x, y) = column_pair(data, m, p, q);
    for (xi, yi) in x.iter_mut().zip(y.iter_mut()) {
        let (a, b) = (*xi, *yi);
        *xi = a * c + b * s;
        *yi = b * c - a * s;
    }
}

/// The Golub–Reinsch SVD of the column-major `m × n` matrix `a` (`m ≥ n`):
/// `(U m×n, s, V n×n)`, column-major, unsorted, `s ≥ 0`; U empty without
/// `want_u`. `None` when some singular value needs more than
/// `max_iterations` QR steps (only non-finite data does).
fn golub_reinsch(
    m: usize,
    n: usize,
    mut a: Vec<f64>,
    max_iterations: usize,
    want_u: bool,
) -> Option<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let eps = f64::EPSILON;
    // Diagonal `w` and superdiagonal `e` (e[i] couples columns i−1 and i)
    // of the bidiagonal form.
    let mut w = vec![0.0; n];
    let mut e = vec![0.0; n];
    let mut row = vec![0.0; n];
    let mut sums = vec![0.0; m];
    let mut g = 0.0f64;
    let mut scale = 0.0f64;
    let mut anorm = 0.0f64;

    // Householder reduction to bidiagonal form: A = Q·B·Pᵀ, with the
    // reflectors stored in the annihilated parts of `a`.
    for i in 0..n {
        let l = i + 1;
        e[i] = scale * g;
        g = 0.0;
        // Left reflector: annihilates A(i+1.., i).
        {
            let (head, tail) = a.split_at_mut((i + 1) * m);
            let ci = &mut head[i * m + i..];
            scale = abs_sum(ci);
            if scale != 0.0 {
                ci.iter_mut().for_each(|x| *x /= scale);
                let s = dot(ci, ci);
                let f = ci[0];
                g = -sign(s.sqrt(), f);
                let h = f * g - s;
                ci[0] = f - g;
                // Two columns at a time (each column's dot and update are
                // exactly those of one at a time).
                let mut pairs = tail.chunks_exact_mut(2 * m);
                for pair in &mut pairs {
                    let (cj, ck) = pair.split_at_mut(m);
                    let (cj, ck) = (&mut cj[i..], &mut ck[i..]);
                    let (dj, dk) = dot2(ci, cj, ck);
                    axpy2(dj / h, dk / h, ci, cj, ck);
                }
                for cj in pairs.into_remainder().chunks_exact_mut(m) {
                    let cj = &mut cj[i..];
                    let f = dot(ci, cj) / h;
                    axpy(f, ci, cj);
                }
                ci.iter_mut().for_each(|x| *x *= scale);
            }
        }
        w[i] = scale * g;
        g = 0.0;
        scale = 0.0;
        // Right reflector: annihilates A(i, i+2..).
        if l < n {
            for k in l..n {
                row[k] = a[k * m + i];
            }
            scale = abs_sum(&row[l..n]);
            if scale != 0.0 {
                row[l..n].iter_mut().for_each(|x| *x /= scale);
                let s = dot(&row[l..n], &row[l..n]);
                let f = row[l];
                g = -sign(s.sqrt(), f);
                let h = f * g - s;
                row[l] = f - g;
                for k in l..n {
                    a[k * m + i] = row[k];
                    e[k] = row[k] / h;
                }
                // sums[j] = Σ_k A(j, k)·row[k] over k in order (rows j > i),
                // then A(j, k) += sums[j]·e[k]: every loop runs down a
                // column.
                let sums = &mut sums[l..m];
                sums.iter_mut().for_each(|x| *x = 0.0);
                for k in l..n {
                    let rk = row[k];
                    let col = &a[k * m + l..(k + 1) * m];
                    for (sj, ajk) in sums.iter_mut().zip(col) {
                        *sj += ajk * rk;
                    }
                }
                for k in l..n {
                    let ek = e[k];
                    let col = &mut a[k * m + l..(k + 1) * m];
                    for (ajk, sj) in col.iter_mut().zip(sums.iter()) {
                        *ajk += sj * ek;
                    }
                }
                for k in l..n {
                    a[k * m + i] *= scale;
                }
            }
        }
        anorm = anorm.max(w[i].abs() + e[i].abs());
    }

    // Accumulation of the right-hand transformations: V = P.
    let mut v = vec![0.0; n * n];
    for i in (0..n).rev() {
        if i + 1 < n {
            let l = i + 1;
            let g = e[l];
            if g != 0.0 {
                for k in l..n {
                    row[k] = a[k * m + i];
                }
                // Double division avoids possible underflow.
                let ail = row[l];
                for j in l..n {
                    v[i * n + j] = (row[j] / ail) / g;
                }
                // Columns j > i, two at a time (bit for bit one at a time).
                let (head, tail) = v.split_at_mut(l * n);
                let vi = &head[i * n + l..i * n + n];
                let mut pairs = tail.chunks_exact_mut(2 * n);
                for pair in &mut pairs {
                    let (vj, vk) = pair.split_at_mut(n);
                    let (vj, vk) = (&mut vj[l..], &mut vk[l..]);
                    let (sj, sk) = dot2(&row[l..n], vj, vk);
                    axpy2(sj, sk, vi, vj, vk);
                }
                for vj in pairs.into_remainder().chunks_exact_mut(n) {
                    let vj = &mut vj[l..];
                    let s = dot(&row[l..n], vj);
                    axpy(s, vi, vj);
                }
            }
            for j in l..n {
                v[j * n + i] = 0.0;
                v[i * n + j] = 0.0;
            }
        }
        v[i * n + i] = 1.0;
    }

    // Accumulation of the left-hand transformations: U = Q (thin), in place.
    let mut u = if want_u {
        accumulate_left(m, n, &mut a, &w);
        a
    } else {
        Vec::new()
    };

    // Diagonalisation of the bidiagonal form: implicit-shift QR on the
    // trailing unreduced block, one singular value at a time.
    let tol = eps * anorm;
    for k in (0..n).rev() {
        let mut iterations = 0;
        loop {
            // Find the block l..=k: e[l] negligible (l = 0: e[0] = 0 by
            // construction), or w[l−1] negligible (then e[l] is cancelled).
            let mut l = k;
            let mut cancel = true;
            loop {
                if l == 0 || e[l].abs() <= tol {
                    cancel = false;
                    break;
                }
                if w[l - 1].abs() <= tol {
                    break;
                }
                l -= 1;
            }
            if cancel {
                // w[l−1] ≈ 0: chase e[l] off the block with left rotations.
                let nm = l - 1;
                let (mut c, mut s) = (0.0, 1.0);
                for i in l..=k {
                    let f = s * e[i];
                    e[i] *= c;
                    if f.abs() <= tol {
                        break;
                    }
                    let g = w[i];
                    let h = pythag(f, g);
                    w[i] = h;
                    let h = 1.0 / h;
                    c = g * h;
                    s = -f * h;
                    if want_u {
                        rotate(&mut u, m, nm, i, c, s);
                    }
                }
            }
            let z = w[k];
            if l == k {
                // Converged: make the singular value non-negative.
                if z < 0.0 {
                    w[k] = -z;
                    v[k * n..(k + 1) * n].iter_mut().for_each(|x| *x = -*x);
                } else if z == 0.0 {
                    w[k] = 0.0;
                }
                break;
            }
            if iterations >= max_iterations {
                return None;
            }
            iterations += 1;
            // Shift from the bottom 2 × 2 minor (w[l], w[k−1] and e[k] are
            // non-negligible here, so nothing divides by zero).
            let mut x = w[l];
            let nm = k - 1;
            let mut y = w[nm];
            let mut g = e[nm];
            let mut h = e[k];
            let mut f = ((y - z) * (y + z) + (g - h) * (g + h)) / (2.0 * h * y);
            g = pythag(f, 1.0);
            f = ((x - z) * (x + z) + h * ((y / (f + sign(g, f))) - h)) / x;
            // Next QR transformation (bulge chase from l to k).
            let (mut c, mut s) = (1.0, 1.0);
            for j in l..=nm {
                let i = j + 1;
                g = e[i];
                y = w[i];
                h = s * g;
                g *= c;
                let mut z = pythag(f, h);
                e[j] = z;
                if z != 0.0 {
                    c = f / z;
                    s = h / z;
                } else {
                    (c, s) = (1.0, 0.0);
                }
                f = x * c + g * s;
                g = g * c - x * s;
                h = y * s;
                y *= c;
                rotate(&mut v, n, j, i, c, s);
                z = pythag(f, h);
                w[j] = z;
                // The rotation is arbitrary if z = 0: keep (c, s).
                if z != 0.0 {
                    z = 1.0 / z;
                    c = f * z;
                    s = h * z;
                }
                f = c * g + s * y;
                x = c * y - s * g;
                if want_u {
                    rotate(&mut u, m, j, i, c, s);
                }
            }
            e[l] = 0.0;
            e[k] = f;
            w[k] = x;
        }
    }
    Some((u, w, v))
}

/// Overwrites the column-major `m × n` matrix `a`, which holds the left
/// Householder reflectors of the bidiagonalisation below its diagonal, with
/// their product (the thin Q), `w` being the bidiagonal's diagonal.
fn accumulate_left(m: usize, n: usize, a: &mut [f64], w: &[f64]) {
    for i in (0..n).rev() {
        let l = i + 1;
        for j in l..n {
            a[j * m + i] = 0.0;
        }
        let (head, tail) = a.split_at_mut((i + 1) * m);
        let ci = &mut head[i * m..];
        if w[i] != 0.0 {
            let g = 1.0 / w[i];
            // Two columns at a time (bit for bit one at a time).
            let mut pairs = tail.chunks_exact_mut(2 * m);
            for pair in &mut pairs {
                let (cj, ck) = pair.split_at_mut(m);
                let (sj, sk) = dot2(&ci[l..], &cj[l..], &ck[l..]);
                let (fj, fk) = ((sj / ci[i]) * g, (sk / ci[i]) * g);
                axpy2(fj, fk, &ci[i..], &mut cj[i..], &mut ck[i..]);
            }
            for cj in pairs.into_remainder().chunks_exact_mut(m) {
                let s = dot(&ci[l..], &cj[l..]);
                let f = (s / ci[i]) * g;
                axpy(f, &ci[i..], &mut cj[i..]);
            }
            ci[i..].iter_mut().for_each(|x| *x *= g);
        } else {
            ci[i..].iter_mut().for_each(|x| *x = 0.0);
        }
        ci[i] += 1.0;
    }
}

/// Sorts the triplets by descending singular value (stable, total order).
fn sort_desc(
    m: usize,
    n: usize,
    u: Vec<f64>,
    s: Vec<f64>,
    v: Vec<f64>,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut order: Vec<usize> = (0..s.len()).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
    if order.iter().enumerate().all(|(i, &o)| i == o) {
        return (u, s, v);
    }
    let u = if u.is_empty() {
        u
    } else {
        order
            .iter()
            .flat_map(|&j| u[j * m..(j + 1) * m].iter().copied())
            .collect()
    };
    let v = order
        .iter()
        .flat_map(|&j| v[j * n..(j + 1) * n].iter().copied())
        .collect();
    let s = order.iter().map(|&i| s[i]).collect();
    (u, s, v)
}

#[cfg(test)]
impl ThinSvd {
    /// `U·diag(s')·Vᵀ` for replacement singular values `s'`, row-major
    /// (the tests' reconstruction; the strategies use
    /// [`SmallSideSvd::truncate`]).
    /// Each entry sums `(u_rk·s'_k)·v_ck` over k in order, skipping `s'_k = 0`.
    pub(crate) fn recompose(&self, s: &[f64]) -> Vec<f64> {
        let (rows, cols) = (self.u.nrows(), self.vt.ncols());
        // Vᵀ row-major: row k contiguous.
        let vt_rows: Vec<f64> = self.vt.transpose().as_slice().to_vec();
        let mut out = vec![0.0; rows * cols];
        for (r, out_row) in out.chunks_exact_mut(cols).enumerate() {
            for (k, &sk) in s.iter().enumerate() {
                if sk == 0.0 {
                    continue;
                }
                let a = self.u[(r, k)] * sk;
                axpy(a, &vt_rows[k * cols..(k + 1) * cols], out_row);
            }
        }
        out
    }
}

/// `A·B` for column-major matrices, each entry summed over the inner index
/// in order (plain multiply-then-add; `nalgebra`'s product goes through
/// `matrixmultiply`, whose kernels use FMA where the CPU has it, so its bits
/// differ between machines and from wasm32).
pub(crate) fn matmul(a: &DMatrix<f64>, b: &DMatrix<f64>) -> DMatrix<f64> {
    assert_eq!(a.ncols(), b.nrows(), "matmul: inner dimensions differ");
    let (m, n) = (a.nrows(), b.ncols());
    let mut out = DMatrix::<f64>::zeros(m, n);
    matmul_slices(
        m,
        a.ncols(),
        n,
        a.as_slice(),
        b.as_slice(),
        out.as_mut_slice(),
    );
    out
}

/// Rows and columns of the register block of [`matmul_slices`].
const MM_ROWS: usize = 4;
const MM_COLS: usize = 4;

/// `out = A·B` for the column-major `m × p` matrix `a` and `p × n` matrix
/// `b` (`out` is `m × n`, column-major, overwritten). Every entry is
/// `((0 + b_0j·a_i0) + b_1j·a_i1) + …`, summed over the inner index in
/// order, so the bits do not depend on the blocking, which only keeps a
/// `MM_ROWS × MM_COLS` block of sums in registers while the inner index
/// runs.
pub(crate) fn matmul_slices(m: usize, p: usize, n: usize, a: &[f64], b: &[f64], out: &mut [f64]) {
    assert!(a.len() == m * p && b.len() == p * n && out.len() == m * n);
    if m == 0 || n == 0 {
        return;
    }
    let full_cols = n - n % MM_COLS;
    let full_rows = m - m % MM_ROWS;
    for j0 in (0..full_cols).step_by(MM_COLS) {
        let bj: [&[f64]; MM_COLS] = std::array::from_fn(|jj| &b[(j0 + jj) * p..(j0 + jj + 1) * p]);
        for i0 in (0..full_rows).step_by(MM_ROWS) {
            let mut acc = [[0.0f64; MM_ROWS]; MM_COLS];
            for k in 0..p {
                let ak: &[f64; MM_ROWS] =
                    (&a[k * m + i0..k * m + i0 + MM_ROWS]).try_into().unwrap();
                for (acc_j, bcol) in acc.iter_mut().zip(&bj) {
                    let f = bcol[k];
                    for (s, x) in acc_j.iter_mut().zip(ak) {
                        *s += f * x;
                    }
                }
            }
            for (jj, acc_j) in acc.iter().enumerate() {
                let o = (j0 + jj) * m + i0;
                out[o..o + MM_ROWS].copy_from_slice(acc_j);
            }
        }
        for i in full_rows..m {
            for (jj, bcol) in bj.iter().enumerate() {
                let mut s = 0.0;
                for (k, &f) in bcol.iter().enumerate() {
                    s += f * a[k * m + i];
                }
                out[(j0 + jj) * m + i] = s;
            }
        }
    }
    for j in full_cols..n {
        let out_col = &mut out[j * m..(j + 1) * m];
        out_col.iter_mut().for_each(|x| *x = 0.0);
        for (k, &f) in b[j * p..(j + 1) * p].iter().enumerate() {
            axpy(f, &a[k * m..(k + 1) * m], out_col);
        }
    }
}

/// Eigendecomposition of the symmetric positive semi-definite `n × n`
/// row-major matrix `data` (a covariance): `(eigenvalues, eigenvectors as
/// columns)`. For a PSD matrix the SVD is an eigendecomposition; eigenvalues
/// that rounding made slightly negative come out as tiny positive values,
/// which the caller's clamp treats the same way.
pub(crate) fn psd_eigh(n: usize, data: &[f64]) -> Option<(Vec<f64>, DMatrix<f64>)> {
    let svd = small_side_svd(n, n, data)?;
    Some((svd.s, DMatrix::from_vec(n, n, svd.vecs)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyrandom::PyRandom;

    /// `rows × cols` row-major matrix of standard normal entries.
    fn gauss(rng: &mut PyRandom, rows: usize, cols: usize) -> Vec<f64> {
        (0..rows * cols).map(|_| rng.gauss(0.0, 1.0)).collect()
    }

    /// `L·R` for random Gaussian `L` (rows × rank) and `R` (rank × cols).
    fn low_rank(rng: &mut PyRandom, rows: usize, cols: usize, rank: usize) -> Vec<f64> {
        let l = gauss(rng, rows, rank);
        let r = gauss(rng, rank, cols);
        let mut a = vec![0.0; rows * cols];
        for i in 0..rows {
            for j in 0..cols {
                a[i * cols + j] = (0..rank).fold(0.0, |s, k| s + l[i * rank + k] * r[k * cols + j]);
            }
        }
        a
    }

    /// Max |MᵀM − I| for a column-orthonormal M.
    fn orthonormality_defect(m: &DMatrix<f64>) -> f64 {
        let k = m.ncols();
        let mut worst = 0.0f64;
        for p in 0..k {
            for q in 0..k {
                let d = (0..m.nrows()).fold(0.0, |acc, i| acc + m[(i, p)] * m[(i, q)]);
                let target = if p == q { 1.0 } else { 0.0 };
                worst = worst.max((d - target).abs());
            }
        }
        worst
    }

    /// Checks every property of the thin SVD of `a` and returns it:
    /// ‖U S Vᵀ − A‖_F ≤ 1e-12·‖A‖_F, U and V orthonormal to 1e-12, the
    /// right shapes, s sorted descending and non-negative (no −0).
    fn check(rows: usize, cols: usize, a: &[f64]) -> ThinSvd {
        let svd = thin_svd(rows, cols, a).expect("finite input decomposes");
        let k = rows.min(cols);
        assert_eq!(svd.u.shape(), (rows, k));
        assert_eq!(svd.s.len(), k);
        assert_eq!(svd.vt.shape(), (k, cols));
        assert!(
            svd.s.iter().all(|&x| x >= 0.0 && x.is_sign_positive()),
            "{rows}x{cols}: negative singular value in {:?}",
            svd.s
        );
        assert!(
            svd.s.windows(2).all(|w| w[0] >= w[1]),
            "{rows}x{cols}: unsorted {:?}",
            svd.s
        );
        let back = svd.recompose(&svd.s);
        // Frobenius norms of (U S Vᵀ − A)/max|A| and A/max|A| (no overflow
        // or underflow for extreme magnitudes).
        let amax = a.iter().fold(f64::MIN_POSITIVE, |acc, x| acc.max(x.abs()));
        let err = back
            .iter()
            .zip(a)
            .fold(0.0, |acc, (x, y)| acc + ((x - y) / amax) * ((x - y) / amax))
            .sqrt();
        let norm = a
            .iter()
            .fold(0.0, |acc, x| acc + (x / amax) * (x / amax))
            .sqrt();
        assert!(
            err <= 1e-12 * norm,
            "{rows}x{cols}: reconstruction error {err:e} for norm {norm:e}"
        );
        let du = orthonormality_defect(&svd.u);
        let dv = orthonormality_defect(&svd.vt.transpose());
        assert!(
            du <= 1e-12 && dv <= 1e-12,
            "{rows}x{cols}: U {du:e}, V {dv:e}"
        );
        svd
    }

    #[test]
    fn random_matrices_of_every_shape() {
        let mut rng = PyRandom::new(11);
        let shapes = [
            (1, 1),
            (1, 2),
            (2, 1),
            (1, 17),
            (17, 1),
            (2, 2),
            (3, 5),
            (5, 3),
            (4, 6),
            (6, 4),
            (7, 7),
            (16, 16),
            (33, 9),
            (9, 33),
            (64, 64),
            (100, 20),
            (20, 100),
            (128, 128),
            (256, 64),
            (3, 300),
        ];
        for (rows, cols) in shapes {
            let a = gauss(&mut rng, rows, cols);
            check(rows, cols, &a);
        }
    }

    #[test]
    fn singular_values_match_an_independent_decomposition() {
        // nalgebra's SVD is right on well-conditioned full-rank matrices
        // (its failures are rank-deficient ones); compare the values, and
        // ‖A‖_F² = Σ s².
        let mut rng = PyRandom::new(12);
        for (rows, cols) in [(5, 5), (12, 7), (7, 12), (40, 40), (70, 30)] {
            let a = gauss(&mut rng, rows, cols);
            let svd = check(rows, cols, &a);
            let mut theirs: Vec<f64> = nalgebra::DMatrix::from_row_slice(rows, cols, &a)
                .singular_values()
                .iter()
                .copied()
                .collect();
            theirs.sort_by(|x, y| y.total_cmp(x));
            for (x, y) in svd.s.iter().zip(&theirs) {
                assert!(
                    (x - y).abs() <= 1e-12 * theirs[0],
                    "{rows}x{cols}: {x} vs {y}"
                );
            }
            let fro2 = a.iter().fold(0.0, |acc, x| acc + x * x);
            let s2 = svd.s.iter().fold(0.0, |acc, x| acc + x * x);
            assert!((fro2 - s2).abs() <= 1e-12 * fro2);
        }
    }

    #[test]
    fn rank_deficient_matrices() {
        let mut rng = PyRandom::new(1);
        for trial in 0..400 {
            let rows = 1 + rng.randint(0, 9) as usize;
            let cols = 1 + rng.randint(0, 30) as usize;
            let rank = 1 + rng.randint(0, rows.min(cols) as i64 - 1) as usize;
            let mut a = low_rank(&mut rng, rows, cols, rank);
            if trial % 3 == 0 {
                // Identical rows (identical contributions).
                let first = a[..cols].to_vec();
                a.chunks_mut(cols)
                    .for_each(|row| row.copy_from_slice(&first));
            }
            let svd = check(rows, cols, &a);
            let r = if trial % 3 == 0 { 1 } else { rank };
            for &x in &svd.s[r.min(svd.s.len())..] {
                assert!(x <= 1e-13 * svd.s[0], "{rows}x{cols} rank {r}: {:?}", svd.s);
            }
        }
        // Larger ones, square, tall and wide.
        for (rows, cols, rank) in [(64, 64, 5), (128, 128, 40), (90, 30, 3), (30, 90, 29)] {
            let a = low_rank(&mut rng, rows, cols, rank);
            let svd = check(rows, cols, &a);
            assert!(svd.s[rank] <= 1e-13 * svd.s[0]);
        }
    }

    #[test]
    fn structured_matrices() {
        // Identity and scaled orthogonal matrices (all singular values tie).
        let n = 9;
        let eye: Vec<f64> = (0..n * n)
            .map(|i| f64::from(u8::from(i % (n + 1) == 0)))
            .collect();
        let svd = check(n, n, &eye);
        assert!(svd.s.iter().all(|&x| x == 1.0));
        // A single non-zero entry.
        let mut one = vec![0.0; 5 * 8];
        one[2 * 8 + 6] = -3.0;
        let svd = check(5, 8, &one);
        assert_eq!(svd.s[0], 3.0);
        assert!(svd.s[1..].iter().all(|&x| x == 0.0));
        // Zero rows and columns, a zero diagonal (the cancellation path),
        // graded rows, duplicated columns.
        let mut rng = PyRandom::new(3);
        let mut a = gauss(&mut rng, 12, 10);
        (0..10).for_each(|j| a[4 * 10 + j] = 0.0);
        (0..12).for_each(|i| a[i * 10 + 7] = 0.0);
        check(12, 10, &a);
        let mut bidiag = vec![0.0; 8 * 8];
        for i in 0..8 {
            bidiag[i * 8 + i] = if i % 3 == 1 { 0.0 } else { 1.0 + i as f64 };
            if i + 1 < 8 {
                bidiag[i * 8 + i + 1] = 0.5;
            }
        }
        check(8, 8, &bidiag);
        let mut graded = gauss(&mut rng, 10, 10);
        for i in 0..10 {
            (0..10).for_each(|j| graded[i * 10 + j] *= 10f64.powi(-(i as i32)));
        }
        check(10, 10, &graded);
        let mut dup = gauss(&mut rng, 20, 6);
        for i in 0..20 {
            dup[i * 6 + 5] = dup[i * 6];
            dup[i * 6 + 4] = -2.0 * dup[i * 6 + 1];
        }
        let svd = check(20, 6, &dup);
        assert!(svd.s[4] <= 1e-14 * svd.s[0] && svd.s[5] <= 1e-14 * svd.s[0]);
    }

    #[test]
    fn extreme_magnitudes_are_rescaled_exactly() {
        let mut rng = PyRandom::new(4);
        let a = gauss(&mut rng, 6, 9);
        let base = check(6, 9, &a);
        let tiny = f64::from_bits(3 << 52); // 2^−1020
        for scale in [1e300, 1e-300, tiny] {
            let b: Vec<f64> = a.iter().map(|x| x * scale).collect();
            let svd = check(6, 9, &b);
            for (x, y) in svd.s.iter().zip(&base.s) {
                assert!(
                    (x / scale - y).abs() <= 1e-12 * base.s[0],
                    "{scale:e}: {x} {y}"
                );
            }
        }
        // Entries near f64::MAX: a singular value beyond it cannot be
        // represented, which is a failure, not a wrong answer.
        assert!(thin_svd(2, 2, &[f64::MAX, f64::MAX, f64::MAX, f64::MAX]).is_none());
        assert!(thin_svd(1, 2, &[f64::MAX / 2.0, 0.0]).is_some());
    }

    #[test]
    fn zero_matrices() {
        for (rows, cols) in [(1, 1), (3, 5), (5, 3), (4, 4)] {
            let svd = check(rows, cols, &vec![0.0; rows * cols]);
            assert!(svd.s.iter().all(|&x| x == 0.0));
        }
    }

    #[test]
    fn non_finite_input_is_an_error_not_a_hang() {
        assert!(thin_svd(0, 3, &[]).is_none());
        assert!(thin_svd(2, 2, &[1.0; 3]).is_none());
        assert!(thin_svd(1, 2, &[1.0, f64::NAN]).is_none());
        assert!(thin_svd(2, 2, &[1.0, 2.0, f64::INFINITY, 0.0]).is_none());
        // The iteration itself is bounded: fed NaN directly (bypassing the
        // check above), it gives up after MAX_ITERATIONS steps per value.
        let mut rng = PyRandom::new(5);
        let mut a = gauss(&mut rng, 8, 8);
        a[9] = f64::NAN;
        assert!(golub_reinsch(8, 8, a.clone(), MAX_ITERATIONS, true).is_none());
        assert!(tall_svd(8, 8, a, MAX_ITERATIONS, true).is_none());
        // And a finite matrix that needs QR steps fails cleanly without any.
        let b = gauss(&mut rng, 8, 8);
        assert!(tall_svd(8, 8, b.clone(), 0, true).is_none());
        assert!(tall_svd(8, 8, b, MAX_ITERATIONS, true).is_some());
    }

    #[test]
    fn known_singular_values() {
        // The all-ones 3×5 matrix has the single non-zero singular value √15.
        let svd = check(3, 5, &[1.0; 15]);
        assert!((svd.s[0] - 15f64.sqrt()).abs() < 1e-14);
        assert!(svd.s[1].abs() < 1e-14 && svd.s[2].abs() < 1e-14);
        // diag(3, −5, 4) permuted: values 5, 4, 3 with matching vectors.
        let svd = check(3, 3, &[0.0, 3.0, 0.0, -5.0, 0.0, 0.0, 0.0, 0.0, 4.0]);
        assert_eq!(svd.s, vec![5.0, 4.0, 3.0]);
    }

    #[test]
    fn deterministic_bits() {
        // Same input, same bits (no hidden state); and a transposed input
        // gives the transposed factors.
        let mut rng = PyRandom::new(6);
        let a = gauss(&mut rng, 7, 11);
        let (x, y) = (thin_svd(7, 11, &a).unwrap(), thin_svd(7, 11, &a).unwrap());
        assert!(x.u == y.u && x.vt == y.vt);
        assert!(x
            .s
            .iter()
            .zip(&y.s)
            .all(|(p, q)| p.to_bits() == q.to_bits()));
        let at: Vec<f64> = (0..77).map(|i| a[(i % 7) * 11 + i / 7]).collect();
        let t = thin_svd(11, 7, &at).unwrap();
        assert!(t
            .s
            .iter()
            .zip(&x.s)
            .all(|(p, q)| p.to_bits() == q.to_bits()));
        assert!(t.u == x.vt.transpose() && t.vt == x.u.transpose());
    }

    #[test]
    fn matmul_is_the_plain_product() {
        let mut rng = PyRandom::new(8);
        let a = DMatrix::from_row_slice(7, 9, &gauss(&mut rng, 7, 9));
        let b = DMatrix::from_row_slice(9, 8, &gauss(&mut rng, 9, 8));
        let c = matmul(&a, &b);
        for i in 0..7 {
            for j in 0..8 {
                let want = (0..9).fold(0.0, |acc, k| acc + a[(i, k)] * b[(k, j)]);
                assert_eq!(c[(i, j)].to_bits(), want.to_bits());
            }
        }
        assert_eq!(
            matmul(&DMatrix::zeros(3, 0), &DMatrix::zeros(0, 2)),
            DMatrix::zeros(3, 2)
        );
    }

    #[test]
    fn eigh_of_diagonal() {
        let (vals, vecs) = psd_eigh(2, &[2.0, 0.0, 0.0, 5.0]).unwrap();
        assert!((vals[0] - 5.0).abs() < 1e-14 && (vals[1] - 2.0).abs() < 1e-14);
        assert!((vecs[(1, 0)].abs() - 1.0).abs() < 1e-14);
    }

    /// One-sided (Hestenes) Jacobi SVD of the row-major `rows × cols`
    /// matrix, the independent oracle of the tests below: rotates column
    /// pairs of A (and of V) until all are orthogonal; the singular values
    /// are the final column norms. Returns `(s, A·V, V)` with the columns of
    /// `A·V` = `u_j·s_j` and of `V` (both row-major) in descending order of
    /// `s`. Slow and simple on purpose.
    fn jacobi_oracle(rows: usize, cols: usize, data: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut a = data.to_vec();
        let mut v: Vec<f64> = (0..cols * cols)
            .map(|i| f64::from(u8::from(i % (cols + 1) == 0)))
            .collect();
        for _sweep in 0..100 {
            let mut rotated = false;
            for p in 0..cols {
                for q in p + 1..cols {
                    let (mut alpha, mut beta, mut gamma) = (0.0, 0.0, 0.0);
                    for r in 0..rows {
                        let (x, y) = (a[r * cols + p], a[r * cols + q]);
                        alpha += x * x;
                        beta += y * y;
                        gamma += x * y;
                    }
                    if gamma == 0.0 || gamma.abs() <= 1e-15 * (alpha * beta).sqrt() {
                        continue;
                    }
                    rotated = true;
                    let zeta = (beta - alpha) / (2.0 * gamma);
                    let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                    let c = 1.0 / (1.0 + t * t).sqrt();
                    let s = c * t;
                    for (m, n) in [(&mut a, rows), (&mut v, cols)] {
                        for r in 0..n {
                            let (x, y) = (m[r * cols + p], m[r * cols + q]);
                            m[r * cols + p] = c * x - s * y;
                            m[r * cols + q] = s * x + c * y;
                        }
                    }
                }
            }
            if !rotated {
                break;
            }
        }
        let norms: Vec<f64> = (0..cols)
            .map(|j| {
                (0..rows)
                    .fold(0.0, |acc, r| acc + a[r * cols + j] * a[r * cols + j])
                    .sqrt()
            })
            .collect();
        let mut order: Vec<usize> = (0..cols).collect();
        order.sort_by(|&x, &y| norms[y].total_cmp(&norms[x]));
        let permute = |m: &[f64], n: usize| -> Vec<f64> {
            (0..n * cols)
                .map(|i| m[(i / cols) * cols + order[i % cols]])
                .collect()
        };
        (
            order.iter().map(|&j| norms[j]).collect(),
            permute(&a, rows),
            permute(&v, cols),
        )
    }

    /// Max |x − y| over max |y| (absolute when y is all zeros): the class-S
    /// error measure of the spec.
    fn rel_err(x: &[f64], y: &[f64]) -> f64 {
        let ymax = y.iter().fold(0.0f64, |acc, v| acc.max(v.abs()));
        let d = x
            .iter()
            .zip(y)
            .fold(0.0f64, |acc, (p, q)| acc.max((p - q).abs()));
        if ymax == 0.0 {
            d
        } else {
            d / ymax
        }
    }

    #[test]
    fn singular_values_match_the_jacobi_oracle() {
        let mut rng = PyRandom::new(21);
        for (rows, cols, rank) in [
            (6, 6, 6),
            (20, 12, 12),
            (12, 20, 12),
            (40, 40, 40),
            (50, 17, 17),
            (30, 30, 7),
            (25, 40, 3),
            (64, 32, 1),
        ] {
            let a = if rank == rows.min(cols) {
                gauss(&mut rng, rows, cols)
            } else {
                low_rank(&mut rng, rows, cols, rank)
            };
            let svd = check(rows, cols, &a);
            // The oracle works on columns: give it the tall orientation.
            let (s, _, _) = if rows >= cols {
                jacobi_oracle(rows, cols, &a)
            } else {
                let at: Vec<f64> = (0..rows * cols)
                    .map(|i| a[(i % rows) * cols + i / rows])
                    .collect();
                jacobi_oracle(cols, rows, &at)
            };
            for (x, y) in svd.s.iter().zip(&s) {
                assert!(
                    (x - y).abs() <= 1e-12 * s[0],
                    "{rows}x{cols} rank {rank}: {x} vs {y}"
                );
            }
            for &x in &svd.s[rank..] {
                assert!(x <= 1e-13 * svd.s[0]);
            }
        }
    }

    #[test]
    fn small_side_is_bitwise_the_thin_svd() {
        let mut rng = PyRandom::new(22);
        for (rows, cols, rank) in [
            (1, 1, 1),
            (9, 9, 9),
            (17, 5, 5),
            (5, 17, 5),
            (40, 9, 9),
            (9, 40, 9),
            (33, 33, 4),
            (12, 30, 1),
            (128, 128, 128),
        ] {
            let a = if rank == rows.min(cols) {
                gauss(&mut rng, rows, cols)
            } else {
                low_rank(&mut rng, rows, cols, rank)
            };
            let full = thin_svd(rows, cols, &a).unwrap();
            let small = small_side_svd(rows, cols, &a).unwrap();
            let same = |x: &[f64], y: &[f64]| {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
            };
            assert!(same(&small.s, &full.s), "{rows}x{cols}");
            let vecs = if rows >= cols {
                full.vt.transpose()
            } else {
                full.u.clone()
            };
            assert!(same(&small.vecs, vecs.as_slice()), "{rows}x{cols}");
        }
        assert!(small_side_svd(0, 3, &[]).is_none());
        assert!(small_side_svd(1, 2, &[1.0, f64::NAN]).is_none());
        // psd_eigh goes through the small side: the same bits as the full
        // decomposition's V.
        let g = gauss(&mut rng, 15, 6);
        let mut cov = vec![0.0; 36];
        for p in 0..6 {
            for q in 0..6 {
                cov[p * 6 + q] = (0..15).fold(0.0, |acc, r| acc + g[r * 6 + p] * g[r * 6 + q]);
            }
        }
        let (vals, vecs) = psd_eigh(6, &cov).unwrap();
        let full = thin_svd(6, 6, &cov).unwrap();
        assert!(vals == full.s && vecs == full.vt.transpose());
    }

    #[test]
    fn truncation_matches_the_recomposition_and_the_oracle() {
        let mut rng = PyRandom::new(23);
        for (rows, cols, rank) in [
            (10, 10, 10),
            (24, 16, 16),
            (16, 24, 16),
            (50, 12, 12),
            (12, 50, 12),
            (30, 30, 6),
            (20, 35, 2),
            (64, 64, 64),
        ] {
            let a = if rank == rows.min(cols) {
                gauss(&mut rng, rows, cols)
            } else {
                low_rank(&mut rng, rows, cols, rank)
            };
            let full = check(rows, cols, &a);
            let small = small_side_svd(rows, cols, &a).unwrap();
            let p = rows.min(cols);
            let oracle = if rows >= cols {
                Some(jacobi_oracle(rows, cols, &a))
            } else {
                None
            };
            for k in [0, 1, p / 2, rank, p] {
                for scale in [1.0, 1.7] {
                    let s: Vec<f64> = full
                        .s
                        .iter()
                        .enumerate()
                        .map(|(i, &v)| if i < k { v * scale } else { 0.0 })
                        .collect();
                    let want = full.recompose(&s);
                    let got = small.truncate(&a, k, scale);
                    let err = rel_err(&got, &want);
                    assert!(err <= 1e-12, "{rows}x{cols} rank {rank} k {k}: {err:e}");
                    if k == 0 {
                        assert!(got.iter().all(|&x| x == 0.0));
                    }
                    // Against the Jacobi truncation where the cut is well
                    // defined (a gap after the k-th singular value).
                    if let Some((os, av, v)) = &oracle {
                        if k == 0 || (k < p && os[k - 1] - os[k] < 1e-3 * os[0]) {
                            continue;
                        }
                        let mut jac = vec![0.0; rows * cols];
                        for r in 0..rows {
                            for c in 0..cols {
                                jac[r * cols + c] = scale
                                    * (0..k).fold(0.0, |acc, j| {
                                        acc + av[r * cols + j] * v[c * cols + j]
                                    });
                            }
                        }
                        let err = rel_err(&got, &jac);
                        assert!(err <= 1e-10, "{rows}x{cols} k {k}: oracle {err:e}");
                    }
                }
            }
        }
        // Zero matrices truncate to zeros.
        let z = vec![0.0; 4 * 7];
        let svd = small_side_svd(4, 7, &z).unwrap();
        assert!(svd.truncate(&z, 2, 1.0).iter().all(|&x| x == 0.0));
    }

    /// Timing of `thin_svd` (release build):
    /// `cargo test -p lab-core --release --lib svd_timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn svd_timing() {
        let mut rng = PyRandom::new(7);
        for (rows, cols) in [
            (64, 64),
            (128, 128),
            (256, 64),
            (64, 256),
            (16384, 10),
            (100, 16384),
        ] {
            let a: Vec<f64> = (0..rows * cols).map(|_| rng.gauss(0.0, 1.0)).collect();
            let mut times = Vec::new();
            let start = std::time::Instant::now();
            while times.len() < 5 || (start.elapsed().as_secs_f64() < 2.0 && times.len() < 200) {
                let t = std::time::Instant::now();
                let svd = thin_svd(rows, cols, &a).unwrap();
                times.push(t.elapsed().as_secs_f64());
                assert!(svd.s[0] > 0.0);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "thin_svd {rows}x{cols}: median {:.3} ms, min {:.3} ms over {} runs",
                1e3 * times[times.len() / 2],
                1e3 * times[0],
                times.len()
            );
            let mut times = Vec::new();
            let start = std::time::Instant::now();
            while times.len() < 5 || (start.elapsed().as_secs_f64() < 2.0 && times.len() < 200) {
                let t = std::time::Instant::now();
                let svd = small_side_svd(rows, cols, &a).unwrap();
                times.push(t.elapsed().as_secs_f64());
                assert!(svd.s[0] > 0.0);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "small_side_svd {rows}x{cols}: median {:.3} ms, min {:.3} ms over {} runs",
                1e3 * times[times.len() / 2],
                1e3 * times[0],
                times.len()
            );
        }
    }
}
