//! Thin SVD on row-major data: Householder QR (for tall matrices) followed
//! by one-sided Jacobi (Hestenes) on the square factor.
//!
//! Why not `nalgebra::SVD`: its implicit-shift QR iteration silently returns
//! wrong decompositions for some inputs (nalgebra issue #1172, open against
//! 0.35): here about 2 % of random rank-deficient matrices — including the
//! "identical contributions" matrices that merging produces — reconstruct
//! with errors of order 1. One-sided Jacobi is simple, converges for every
//! finite input, is accurate to a few ulps relative to the largest singular
//! value, and is deterministic (fixed sweep order, plain f64, no FMA).
//! The reference uses LAPACK `gesdd`; results agree to class S (spec §1.9)
//! on everything that does not depend on singular-vector signs.
//! `nalgebra::DMatrix` is kept as the storage type of the factors.

use nalgebra::DMatrix;

/// Sweep limit for Jacobi: convergence is quadratic and takes ~10 sweeps;
/// the limit only guards against non-finite input.
const MAX_SWEEPS: usize = 60;

/// A thin SVD `A = U·diag(s)·Vᵀ` with `s` in descending order and `U`, `V`
/// with orthonormal columns (completed deterministically where `s` is 0).
pub(crate) struct ThinSvd {
    /// rows × k, k = min(rows, cols).
    pub u: DMatrix<f64>,
    /// k singular values, descending.
    pub s: Vec<f64>,
    /// k × cols.
    pub vt: DMatrix<f64>,
}

/// Thin SVD of the `rows × cols` row-major matrix `data`; `None` if the
/// matrix is empty or contains non-finite values.
pub(crate) fn thin_svd(rows: usize, cols: usize, data: &[f64]) -> Option<ThinSvd> {
    if rows == 0 || cols == 0 || data.len() != rows * cols || data.iter().any(|v| !v.is_finite()) {
        return None;
    }
    if rows >= cols {
        let a = DMatrix::from_row_slice(rows, cols, data);
        let (u, s, v) = tall_svd(a);
        Some(ThinSvd {
            u,
            s,
            vt: v.transpose(),
        })
    } else {
        // A = (Aᵀ)ᵀ = (U' S V'ᵀ)ᵀ = V' S U'ᵀ.
        let at = DMatrix::from_column_slice(cols, rows, data);
        let (u2, s, v2) = tall_svd(at);
        Some(ThinSvd {
            u: v2,
            s,
            vt: u2.transpose(),
        })
    }
}

/// SVD of a tall matrix (`m ≥ n`): `(U m×n, s, V n×n)`, sorted.
fn tall_svd(a: DMatrix<f64>) -> (DMatrix<f64>, Vec<f64>, DMatrix<f64>) {
    let (m, n) = a.shape();
    if m == n {
        let (u, s, v) = jacobi(a);
        return sort_desc(u, s, v);
    }
    let (r, reflectors) = householder_qr(a);
    let (ur, s, v) = jacobi(r);
    let mut u = DMatrix::zeros(m, n);
    u.view_mut((0, 0), (n, n)).copy_from(&ur);
    apply_q(&reflectors, &mut u);
    sort_desc(u, s, v)
}

/// One-sided Jacobi on a square matrix: rotates column pairs until all are
/// orthogonal; then `s_j = ‖a_j‖`, `u_j = a_j / s_j`, `V` = the product of
/// the rotations. Works on column-major slices for speed.
fn jacobi(a: DMatrix<f64>) -> (DMatrix<f64>, Vec<f64>, DMatrix<f64>) {
    let (m, n) = a.shape();
    let mut cols = a.as_slice().to_vec();
    let mut v = DMatrix::<f64>::identity(n, n).as_slice().to_vec();
    for _ in 0..MAX_SWEEPS {
        // Squared column norms, refreshed each sweep and updated exactly
        // (in exact arithmetic) after each rotation.
        let mut norms: Vec<f64> = (0..n)
            .map(|j| dot(column(&cols, m, j), column(&cols, m, j)))
            .collect();
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let gamma = dot(column(&cols, m, p), column(&cols, m, q));
                if let Some((c, s, t)) = rotation(norms[p], norms[q], gamma) {
                    rotate_columns(&mut cols, m, p, q, c, s);
                    rotate_columns(&mut v, n, p, q, c, s);
                    norms[p] -= t * gamma;
                    norms[q] += t * gamma;
                    rotated = true;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let s: Vec<f64> = (0..n)
        .map(|j| dot(column(&cols, m, j), column(&cols, m, j)).sqrt())
        .collect();
    for (j, &sj) in s.iter().enumerate() {
        if sj > 0.0 {
            cols[j * m..(j + 1) * m].iter_mut().for_each(|x| *x /= sj);
        }
    }
    let mut u = DMatrix::from_column_slice(m, n, &cols);
    complete_orthonormal(&mut u, &s);
    (u, s, DMatrix::from_column_slice(n, n, &v))
}

/// Column `j` of a column-major matrix with `m` rows.
fn column(data: &[f64], m: usize, j: usize) -> &[f64] {
    &data[j * m..(j + 1) * m]
}

/// `Σ x_i·y_i`, sequential.
fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).fold(0.0, |acc, (a, b)| acc + a * b)
}

/// The Jacobi rotation `(c, s, t = s/c)` that makes two columns with
/// squared norms `alpha`, `beta` and inner product `gamma` orthogonal, or
/// `None` when they already are (to working precision).
fn rotation(alpha: f64, beta: f64, gamma: f64) -> Option<(f64, f64, f64)> {
    if gamma == 0.0 || gamma.abs() <= 1e-15 * (alpha * beta).abs().sqrt() {
        return None;
    }
    let zeta = (beta - alpha) / (2.0 * gamma);
    let t = if zeta.abs() > 1e150 {
        0.5 / zeta
    } else {
        zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt())
    };
    let c = 1.0 / (1.0 + t * t).sqrt();
    Some((c, c * t, t))
}

/// `(x_p, x_q) ← (c·x_p − s·x_q, s·x_p + c·x_q)` on a column-major matrix
/// with `m` rows (`p < q`).
fn rotate_columns(data: &mut [f64], m: usize, p: usize, q: usize, c: f64, s: f64) {
    let (left, right) = data.split_at_mut(q * m);
    let xp = &mut left[p * m..(p + 1) * m];
    let xq = &mut right[..m];
    for (a, b) in xp.iter_mut().zip(xq.iter_mut()) {
        let (u, w) = (*a, *b);
        *a = c * u - s * w;
        *b = s * u + c * w;
    }
}

/// Replaces the columns whose singular value is 0 by unit vectors
/// orthogonal to all other columns (Gram–Schmidt on e_0, e_1, …, twice).
fn complete_orthonormal(u: &mut DMatrix<f64>, s: &[f64]) {
    let m = u.nrows();
    let mut done: Vec<usize> = (0..s.len()).filter(|&j| s[j] > 0.0).collect();
    let mut next_e = 0;
    for j in (0..s.len()).filter(|&j| s[j] == 0.0) {
        while next_e < m {
            let mut cand = vec![0.0; m];
            cand[next_e] = 1.0;
            next_e += 1;
            for _ in 0..2 {
                for &k in &done {
                    let d = (0..m).fold(0.0, |acc, i| acc + u[(i, k)] * cand[i]);
                    (0..m).for_each(|i| cand[i] -= d * u[(i, k)]);
                }
            }
            let nrm = cand.iter().fold(0.0, |acc, x| acc + x * x).sqrt();
            if nrm > 0.5 {
                (0..m).for_each(|i| u[(i, j)] = cand[i] / nrm);
                done.push(j);
                break;
            }
        }
    }
}

/// Householder QR of a tall matrix: `(R n×n, reflectors)`, with
/// `A = H_0 H_1 … H_{n−1} [R; 0]` and each reflector `H = I − 2vvᵀ`.
fn householder_qr(mut a: DMatrix<f64>) -> (DMatrix<f64>, Vec<Vec<f64>>) {
    let (m, n) = a.shape();
    let mut reflectors = Vec::with_capacity(n);
    for j in 0..n {
        let x: Vec<f64> = (j..m).map(|i| a[(i, j)]).collect();
        let norm_x = x.iter().fold(0.0, |acc, v| acc + v * v).sqrt();
        let mut v = x;
        let alpha = if v[0] >= 0.0 { -norm_x } else { norm_x };
        v[0] -= alpha;
        let norm_v = v.iter().fold(0.0, |acc, t| acc + t * t).sqrt();
        if norm_v > 0.0 {
            v.iter_mut().for_each(|t| *t /= norm_v);
            reflect(&v, &mut a, j);
        } else {
            v.iter_mut().for_each(|t| *t = 0.0);
        }
        reflectors.push(v);
    }
    let r = DMatrix::from_fn(n, n, |i, k| if i <= k { a[(i, k)] } else { 0.0 });
    (r, reflectors)
}

/// Applies `I − 2vvᵀ` (acting on rows `offset..`) to every column of `b`.
fn reflect(v: &[f64], b: &mut DMatrix<f64>, offset: usize) {
    for k in 0..b.ncols() {
        let d = v
            .iter()
            .enumerate()
            .fold(0.0, |acc, (i, vi)| acc + vi * b[(offset + i, k)]);
        if d != 0.0 {
            for (i, vi) in v.iter().enumerate() {
                b[(offset + i, k)] -= 2.0 * d * vi;
            }
        }
    }
}

/// `b ← Q·b` for `Q = H_0 … H_{n−1}`.
fn apply_q(reflectors: &[Vec<f64>], b: &mut DMatrix<f64>) {
    for (j, v) in reflectors.iter().enumerate().rev() {
        reflect(v, b, j);
    }
}

/// Sorts the triplets by descending singular value (stable, total order).
fn sort_desc(
    u: DMatrix<f64>,
    s: Vec<f64>,
    v: DMatrix<f64>,
) -> (DMatrix<f64>, Vec<f64>, DMatrix<f64>) {
    let mut order: Vec<usize> = (0..s.len()).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
    let u = DMatrix::from_fn(u.nrows(), order.len(), |r, c| u[(r, order[c])]);
    let v = DMatrix::from_fn(v.nrows(), order.len(), |r, c| v[(r, order[c])]);
    let s = order.iter().map(|&i| s[i]).collect();
    (u, s, v)
}

impl ThinSvd {
    /// `U·diag(s')·Vᵀ` for replacement singular values `s'`, row-major.
    pub(crate) fn recompose(&self, s: &[f64]) -> Vec<f64> {
        let (rows, cols) = (self.u.nrows(), self.vt.ncols());
        let mut out = vec![0.0; rows * cols];
        for (k, &sk) in s.iter().enumerate() {
            if sk == 0.0 {
                continue;
            }
            for r in 0..rows {
                let a = self.u[(r, k)] * sk;
                for c in 0..cols {
                    out[r * cols + c] += a * self.vt[(k, c)];
                }
            }
        }
        out
    }
}

/// Eigendecomposition of the symmetric positive semi-definite `n × n`
/// row-major matrix `data` (a covariance): `(eigenvalues, eigenvectors as
/// columns)`. For a PSD matrix the SVD is an eigendecomposition; eigenvalues
/// that rounding made slightly negative come out as tiny positive values,
/// which the caller's clamp treats the same way.
pub(crate) fn psd_eigh(n: usize, data: &[f64]) -> Option<(Vec<f64>, DMatrix<f64>)> {
    let svd = thin_svd(n, n, data)?;
    Some((svd.s, svd.vt.transpose()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyrandom::PyRandom;

    /// Max |U S Vᵀ − A| / max |A|, and the orthonormality defects of U, V.
    fn defects(rows: usize, cols: usize, a: &[f64]) -> (f64, f64, f64) {
        let svd = thin_svd(rows, cols, a).unwrap();
        let back = svd.recompose(&svd.s);
        let scale = a.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
        let rec = back
            .iter()
            .zip(a)
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
            / scale;
        let k = svd.s.len();
        let eye = DMatrix::<f64>::identity(k, k);
        let du = (svd.u.transpose() * &svd.u - &eye).abs().max();
        let dv = (&svd.vt * svd.vt.transpose() - &eye).abs().max();
        assert!(svd.s.windows(2).all(|w| w[0] >= w[1]));
        (rec, du, dv)
    }

    #[test]
    fn reconstructs_random_and_rank_deficient_matrices() {
        let mut rng = PyRandom::new(1);
        for trial in 0..400 {
            let rows = 1 + rng.randint(0, 7) as usize;
            let cols = 1 + rng.randint(0, 30) as usize;
            let rank = 1 + rng.randint(0, rows.min(cols) as i64 - 1) as usize;
            let l: Vec<f64> = (0..rows * rank).map(|_| rng.gauss(0.0, 1.0)).collect();
            let r: Vec<f64> = (0..rank * cols).map(|_| rng.gauss(0.0, 1.0)).collect();
            let mut a = vec![0.0; rows * cols];
            for i in 0..rows {
                for j in 0..cols {
                    a[i * cols + j] =
                        (0..rank).fold(0.0, |s, k| s + l[i * rank + k] * r[k * cols + j]);
                }
            }
            if trial % 3 == 0 {
                let first = a[..cols].to_vec();
                a.chunks_mut(cols)
                    .for_each(|row| row.copy_from_slice(&first));
            }
            let (rec, du, dv) = defects(rows, cols, &a);
            assert!(
                rec < 1e-13 && du < 1e-13 && dv < 1e-13,
                "{rows}x{cols}: {rec} {du} {dv}"
            );
        }
    }

    #[test]
    fn zero_matrix_and_rejections() {
        let (rec, du, dv) = defects(3, 5, &[0.0; 15]);
        assert!(rec == 0.0 && du < 1e-15 && dv < 1e-15);
        assert!(thin_svd(0, 3, &[]).is_none());
        assert!(thin_svd(1, 2, &[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn known_singular_values() {
        // The all-ones 3×5 matrix has the single non-zero singular value √15.
        let svd = thin_svd(3, 5, &[1.0; 15]).unwrap();
        assert!((svd.s[0] - 15f64.sqrt()).abs() < 1e-14);
        assert!(svd.s[1].abs() < 1e-14 && svd.s[2].abs() < 1e-14);
    }

    #[test]
    fn eigh_of_diagonal() {
        let (vals, vecs) = psd_eigh(2, &[2.0, 0.0, 0.0, 5.0]).unwrap();
        assert!((vals[0] - 5.0).abs() < 1e-14 && (vals[1] - 2.0).abs() < 1e-14);
        assert!((vecs[(1, 0)].abs() - 1.0).abs() < 1e-14);
    }
}
