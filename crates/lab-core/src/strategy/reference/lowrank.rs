//! SVD-based strategies: `star` (spec §2.21), `svd_knot_tying` (§2.22),
//! `adarank` (§2.23) and `dual_projection` (§2.26). Tensors with one
//! dimension, or any dimension equal to 1, take elementwise "1-D" paths;
//! others are viewed as `shape[0] × rest` matrices.

use super::linalg::{matmul, matmul_slices, small_side_svd, thin_svd};
use super::util::{
    add, bad_param, base, f64_param, i64_param, is_vector_like, kth_largest_py, matrix_dims,
    max_of, norm, np_sum, prelude, py_int, py_round_half_even, shape_mismatch, str_param, sub,
    task_vectors, weighted_fold, weights_hat,
};
use crate::error::MergeError;
use crate::strategy::{
    param_bool, param_f64, param_i64, param_str, Family, MergeInputs, ParamDefault, ParamSpec,
    Params, ReproClass, Strategy, StrategyInfo,
};
use crate::tensor::Tensor;
use nalgebra::DMatrix;

/// `b + Σ ŵ_i R_i`: the fold from zero, then the base added.
fn base_plus_weighted(b: &Tensor, w: &[f64], terms: &[Vec<f64>]) -> Tensor {
    let delta = weighted_fold(
        b.len(),
        w.iter().copied().zip(terms.iter().map(Vec::as_slice)),
    );
    b.with_data(add(b.data(), &delta))
}

/// The reference crashes (`IndexError`) on 0-d tensors in these strategies.
fn reject_zero_dim(info: &StrategyInfo, b: &Tensor) -> Result<(), MergeError> {
    if b.shape().is_empty() {
        return Err(MergeError::ZeroDimensional(info.name.to_string()));
    }
    Ok(())
}

fn svd_failed(info: &StrategyInfo) -> MergeError {
    MergeError::Invalid(format!("{}: SVD did not converge", info.name))
}

/// `star`: per task vector, keep the top `η` fraction (of entries on the
/// 1-D path, of singular values on the matrix path), rescale to preserve
/// the energy, and average.
pub struct Star;

static STAR_PARAMS: [ParamSpec; 2] = [
    f64_param(
        "rank_fraction",
        0.5,
        0.0,
        1.0,
        "η: fraction of entries / singular values kept per task vector (at least one).",
    ),
    str_param(
        "rescale_method",
        "energy",
        &["energy", "none"],
        "energy: rescale the kept part to the task vector's Frobenius norm.",
    ),
];

static STAR_INFO: StrategyInfo = StrategyInfo {
    name: "star",
    family: Family::Reference,
    needs_base: true,
    stochastic: false,
    uses_weights: true,
    class: ReproClass::S,
    params: &STAR_PARAMS,
    summary:
        "Truncates each task vector's spectrum to half its rank, restores its energy, averages.",
};

impl Strategy for Star {
    fn info(&self) -> &StrategyInfo {
        &STAR_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&STAR_INFO, inputs)? {
            return Ok(done);
        }
        let b = base(&STAR_INFO, inputs)?;
        reject_zero_dim(&STAR_INFO, b)?;
        let w = weights_hat(inputs)?;
        let eta = param_f64(params, "rank_fraction");
        let energy = param_str(params, "rescale_method") == "energy";
        let terms: Vec<Vec<f64>> = task_vectors(inputs, b)
            .into_iter()
            .map(|tau| {
                if is_vector_like(b.shape()) {
                    star_vector(tau, eta, energy)
                } else {
                    star_matrix(tau, b.shape(), eta, energy)
                }
            })
            .collect();
        Ok(base_plus_weighted(b, &w, &terms))
    }
}

/// 1-D path: keep `|τ| ≥` the k-th largest, `k = max(1, ⌊d·η⌋)`.
fn star_vector(tau: Vec<f64>, eta: f64, energy: bool) -> Vec<f64> {
    let a: Vec<f64> = tau.iter().map(|v| v.abs()).collect();
    if a.is_empty() || max_of(&a) == 0.0 {
        return tau;
    }
    let k = py_int(a.len() as f64 * eta).max(1);
    let theta = kth_largest_py(&a, k as i64 - 1);
    let kept: Vec<f64> = tau
        .iter()
        .zip(&a)
        .map(|(t, aj)| t * if *aj >= theta { 1.0 } else { 0.0 })
        .collect();
    if !energy {
        return kept;
    }
    let total = np_sum(&tau.iter().map(|v| v * v).collect::<Vec<_>>());
    let part = np_sum(&kept.iter().map(|v| v * v).collect::<Vec<_>>());
    let scale = (total / part).sqrt();
    kept.iter().map(|v| v * scale).collect()
}

/// Matrix path: zero the singular values from index k on; with `energy`,
/// rescale the kept ones to preserve the Frobenius norm. A failed SVD keeps
/// τ (as the reference does). The truncation `scale·U_k S_k V_kᵀ` is formed
/// as `scale·τ·V_k V_kᵀ` (or `U_k U_kᵀ·scale·τ` for wide τ), so only the
/// smaller side's singular vectors are computed.
fn star_matrix(tau: Vec<f64>, shape: &[usize], eta: f64, energy: bool) -> Vec<f64> {
    let (rows, cols) = matrix_dims(shape);
    let Some(svd) = small_side_svd(rows, cols, &tau) else {
        return tau;
    };
    let k = py_int(svd.s.len() as f64 * eta).max(1);
    let mut scale = 1.0;
    if energy {
        let total = np_sum(&svd.s.iter().map(|v| v * v).collect::<Vec<_>>());
        let part = np_sum(
            &svd.s
                .iter()
                .enumerate()
                .map(|(i, v)| if i < k { v * v } else { 0.0 })
                .collect::<Vec<_>>(),
        );
        if part > 0.0 {
            scale = (total / part).sqrt();
        }
    }
    svd.truncate(&tau, k, scale)
}

/// `svd_knot_tying`: per-model SVD, left singular vectors aligned to the
/// first model's by orthogonal Procrustes, then averaged. Depends on the
/// SVD's sign conventions (class X) on the matrix path.
pub struct SvdKnotTying;

static KNOT_PARAMS: [ParamSpec; 2] = [
    str_param(
        "alignment_method",
        "procrustes",
        &["procrustes", "none"],
        "procrustes: rotate each model's U onto the first model's; none: plain reconstruction.",
    ),
    i64_param(
        "rank",
        0,
        0.0,
        1.0e9,
        "Components kept per model; 0 = full rank (the reference's None).",
    ),
];

static KNOT_INFO: StrategyInfo = StrategyInfo {
    name: "svd_knot_tying",
    family: Family::Reference,
    needs_base: true,
    stochastic: false,
    uses_weights: true,
    class: ReproClass::X,
    params: &KNOT_PARAMS,
    summary: "Aligns each task vector's left singular vectors to the first model's, then averages.",
};

impl Strategy for SvdKnotTying {
    fn info(&self) -> &StrategyInfo {
        &KNOT_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&KNOT_INFO, inputs)? {
            return Ok(done);
        }
        let b = base(&KNOT_INFO, inputs)?;
        reject_zero_dim(&KNOT_INFO, b)?;
        let w = weights_hat(inputs)?;
        let taus = task_vectors(inputs, b);
        if is_vector_like(b.shape()) {
            return Ok(base_plus_weighted(b, &w, &taus));
        }
        let terms: Vec<Vec<f64>> = knot_components(inputs, b, params)?
            .iter()
            .map(|c| c.recompose(None))
            .collect();
        Ok(base_plus_weighted(b, &w, &terms))
    }
}

/// One model's aligned term `R_i = (U_i Q)·diag(S_i)·V_iᵀ`, kept factored so
/// that the conformance checks can re-sign its singular pairs.
pub(crate) struct KnotComponent {
    /// `U_i Q` (rows × r).
    pub uq: DMatrix<f64>,
    /// The truncated singular values `S_i`.
    pub s: Vec<f64>,
    /// `V_i` truncated (cols × r; column k is the k-th right singular
    /// vector).
    pub v: DMatrix<f64>,
}

impl KnotComponent {
    /// `Σ_k sign_k·s_k·(UQ)_k v_kᵀ` (all signs +1 when `signs` is `None`),
    /// row-major: entry (row, col) sums `((UQ)[row, k]·(s_k·sign_k))·v_k[col]`
    /// over k in order, from zero.
    pub(crate) fn recompose(&self, signs: Option<&[f64]>) -> Vec<f64> {
        let (rows, cols, r) = (self.uq.nrows(), self.v.nrows(), self.s.len());
        // The row-major output is the column-major cols × rows product
        // `V_r·B` with `B[k, row] = (UQ)[row, k]·(s_k·sign_k)`.
        let mut b = vec![0.0; r * rows];
        for (k, &sk) in self.s.iter().enumerate() {
            let ck = sk * signs.map_or(1.0, |s| s[k]);
            for (row, &u) in self.uq.column(k).iter().enumerate() {
                b[row * r + k] = u * ck;
            }
        }
        let mut out = vec![0.0; rows * cols];
        matmul_slices(cols, r, rows, self.v.as_slice(), &b, &mut out);
        out
    }
}

/// The matrix path's per-model terms (model 0 is the reference).
///
/// When every `U_i` is square (rows ≤ cols) and the rank is full, `U_i`
/// is orthogonal, so `P = U_iᵀ U_ref` is orthogonal, its polar factor is
/// `Q = P` and `U_i Q = U_i U_iᵀ U_ref = U_ref` exactly (spec §2.22, "what
/// it really computes"): the aligned factor is then taken as `U_ref`
/// itself, and only `S_i` and `V_i` of the other models are computed
/// (for square matrices without accumulating or rotating their U: bit for
/// bit the thin SVD's `S_i` and `V_i`). Otherwise (tall matrices,
/// truncated rank) `Q` is computed from `P`: [`polar_newton_schulz`], or
/// the SVD of P when that does not converge.
pub(crate) fn knot_components(
    inputs: &MergeInputs<'_>,
    b: &Tensor,
    params: &Params,
) -> Result<Vec<KnotComponent>, MergeError> {
    let (rows, cols) = matrix_dims(b.shape());
    let rank = param_i64(params, "rank").max(0) as usize;
    let procrustes = param_str(params, "alignment_method") == "procrustes";
    let taus = task_vectors(inputs, b);
    let full = rows.min(cols);
    let r = if rank == 0 { full } else { rank.min(full) };
    let square_full = procrustes && rows <= cols && r == rows;
    let mut comps = Vec::with_capacity(taus.len());
    let mut u_ref: Option<DMatrix<f64>> = None;
    for (i, tau) in taus.iter().enumerate() {
        if i > 0 && square_full && rows == cols {
            let (s, v) = small_side_svd(rows, cols, tau)
                .and_then(|svd| svd.into_right())
                .ok_or_else(|| svd_failed(&KNOT_INFO))?;
            let u_ref = u_ref.as_ref().expect("model 0 comes first");
            comps.push(KnotComponent {
                uq: u_ref.clone(),
                s: s[..r].to_vec(),
                v: v.columns(0, r).into_owned(),
            });
            continue;
        }
        let svd = thin_svd(rows, cols, tau).ok_or_else(|| svd_failed(&KNOT_INFO))?;
        let u = svd.u.columns(0, r).into_owned();
        let v = svd.vt.rows(0, r).transpose();
        let uq = match &u_ref {
            None => {
                u_ref = Some(u.clone());
                u
            }
            Some(u_ref) if procrustes => {
                if square_full {
                    u_ref.clone()
                } else {
                    let q = match polar_newton_schulz(&u, u_ref) {
                        Some(q) => q,
                        None => procrustes_rotation(&u, u_ref)?,
                    };
                    matmul(&u, &q)
                }
            }
            Some(_) => u,
        };
        comps.push(KnotComponent {
            uq,
            s: svd.s[..r].to_vec(),
            v,
        });
    }
    Ok(comps)
}

/// Newton–Schulz steps allowed before [`polar_newton_schulz`] gives up.
const NS_MAX_STEPS: usize = 10;

/// Once `‖XᵀX − I‖_F` is below this, one more step gives the polar factor
/// to rounding (the error is squared, times 3/4, by a step).
const NS_LAST_STEP: f64 = 1e-8;

/// `Q = A Bᵀ`, the orthogonal polar factor of `P = U_iᵀ U_ref = A Σ Bᵀ`,
/// without an SVD: the Newton–Schulz iteration `X ← X·(3I − XᵀX)/2` from
/// `X = P`. Since `U_i` and `U_ref` have orthonormal columns, `‖P‖₂ ≤ 1`,
/// and the iteration converges to the polar factor whenever P is
/// non-singular (quadratically once `XᵀX` is near I: `E ← −(3/4)E² + …`
/// for `E = XᵀX − I`). Used for tall matrices and truncated ranks (square
/// full-rank ones need no Q, see [`knot_components`]); there P is r × r
/// and orthogonal only when the two models' subspaces nearly coincide.
///
/// Deterministic stopping rule, checked before every step on
/// `δ = ‖XᵀX − I‖_F` (summed in a fixed order):
/// * `δ ≤ r·ε`: X is orthogonal to rounding, and then within `δ` of the
///   polar factor: return X;
/// * `δ ≤ NS_LAST_STEP`: take one step, return its result;
/// * otherwise take a step, at most `NS_MAX_STEPS`.
///
/// `None` (the caller then takes the SVD route) when the steps run out,
/// `δ ≥ 1` (a conservative gate: P singular, or far enough from
/// orthogonal that the iteration would be slow or, for `σ ≥ √3`, diverge;
/// σ ≤ 1 here, but the gate does not rely on it), or anything is not
/// finite.
fn polar_newton_schulz(u: &DMatrix<f64>, u_ref: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let (rows, r) = (u.nrows(), u.ncols());
    debug_assert_eq!(u_ref.shape(), (rows, r));
    if r == 0 {
        return None;
    }
    let mut x = vec![0.0; r * r];
    matmul_slices(
        r,
        rows,
        r,
        u.transpose().as_slice(),
        u_ref.as_slice(),
        &mut x,
    );
    let mut xt = vec![0.0; r * r];
    let mut g = vec![0.0; r * r];
    let mut next = vec![0.0; r * r];
    let tiny = r as f64 * f64::EPSILON;
    for step in 0..=NS_MAX_STEPS {
        // G = XᵀX and δ = ‖G − I‖_F.
        transpose_into(r, &x, &mut xt);
        matmul_slices(r, r, r, &xt, &x, &mut g);
        let mut sq = 0.0;
        for (idx, gv) in g.iter().enumerate() {
            let d = if idx % (r + 1) == 0 { gv - 1.0 } else { *gv };
            sq += d * d;
        }
        let delta = sq.sqrt();
        if !delta.is_finite() || delta >= 1.0 {
            return None;
        }
        if delta <= tiny {
            return Some(DMatrix::from_vec(r, r, x));
        }
        if step == NS_MAX_STEPS {
            return None;
        }
        // X ← X·M with M = (3I − G)/2.
        for (idx, gv) in g.iter_mut().enumerate() {
            let three = if idx % (r + 1) == 0 { 3.0 } else { 0.0 };
            *gv = (three - *gv) * 0.5;
        }
        matmul_slices(r, r, r, &x, &g, &mut next);
        std::mem::swap(&mut x, &mut next);
        if delta <= NS_LAST_STEP {
            return x
                .iter()
                .all(|v| v.is_finite())
                .then(|| DMatrix::from_vec(r, r, x));
        }
    }
    None
}

/// `out = Aᵀ` for the column-major `n × n` matrix `a`.
fn transpose_into(n: usize, a: &[f64], out: &mut [f64]) {
    for (j, col) in a.chunks_exact(n).enumerate() {
        for (i, &v) in col.iter().enumerate() {
            out[i * n + j] = v;
        }
    }
}

/// `Q = A Bᵀ` from the SVD `U_iᵀ U_ref = A Σ Bᵀ` (the fall-back of
/// [`polar_newton_schulz`]).
fn procrustes_rotation(u: &DMatrix<f64>, u_ref: &DMatrix<f64>) -> Result<DMatrix<f64>, MergeError> {
    let p = matmul(&u.transpose(), u_ref);
    let (n, m) = (p.nrows(), p.ncols());
    let row_major: Vec<f64> = (0..n * m).map(|i| p[(i / m, i % m)]).collect();
    let svd = thin_svd(n, m, &row_major).ok_or_else(|| svd_failed(&KNOT_INFO))?;
    Ok(matmul(&svd.u, &svd.vt))
}

/// `adarank`: per task vector, keep the components carrying 90 % of the
/// energy (or a fixed rank), no rescale, then average.
pub struct AdaRank;

static ADARANK_PARAMS: [ParamSpec; 2] = [
    str_param(
        "target_rank",
        "auto",
        &[],
        "'auto' (90 % energy) or a non-negative integer rank; 0 keeps all entries on the 1-D path and nothing on the matrix path (reference quirk).",
    ),
    str_param(
        "importance",
        "energy",
        &["energy", "variance"],
        "Importance measure; 'variance' behaves exactly like 'energy' in the reference.",
    ),
];

static ADARANK_INFO: StrategyInfo = StrategyInfo {
    name: "adarank",
    family: Family::Reference,
    needs_base: true,
    stochastic: false,
    uses_weights: true,
    class: ReproClass::S,
    params: &ADARANK_PARAMS,
    summary: "Keeps each task vector's components up to 90 % of its energy, then averages.",
};

/// `target_rank`: `None` for auto.
fn parse_target_rank(s: &str) -> Result<Option<usize>, MergeError> {
    if s.trim() == "auto" {
        return Ok(None);
    }
    s.trim().parse::<usize>().map(Some).map_err(|_| {
        bad_param(
            &ADARANK_INFO,
            "target_rank",
            format!("'{s}' is neither 'auto' nor a non-negative integer"),
        )
    })
}

impl Strategy for AdaRank {
    fn info(&self) -> &StrategyInfo {
        &ADARANK_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&ADARANK_INFO, inputs)? {
            return Ok(done);
        }
        let target = parse_target_rank(param_str(params, "target_rank"))?;
        let b = base(&ADARANK_INFO, inputs)?;
        reject_zero_dim(&ADARANK_INFO, b)?;
        let w = weights_hat(inputs)?;
        let terms: Vec<Vec<f64>> = task_vectors(inputs, b)
            .into_iter()
            .map(|tau| {
                if is_vector_like(b.shape()) {
                    Ok(adarank_vector(tau, target))
                } else {
                    adarank_matrix(tau, b.shape(), target)
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(base_plus_weighted(b, &w, &terms))
    }
}

/// First index where the sequential cumulative sum of `sq` reaches
/// `0.9·total`, plus one, at most `sq.len()`.
fn energy_rank(sq: &[f64], total: f64) -> usize {
    let mut c = 0.0;
    for (i, v) in sq.iter().enumerate() {
        c += v;
        if c >= 0.9 * total {
            return i + 1;
        }
    }
    sq.len()
}

/// 1-D path: keep `|τ| ≥` the k-th largest (Python indexing: k = 0 wraps to
/// the smallest, keeping everything).
fn adarank_vector(tau: Vec<f64>, target: Option<usize>) -> Vec<f64> {
    let a: Vec<f64> = tau.iter().map(|v| v.abs()).collect();
    if a.is_empty() || max_of(&a) == 0.0 {
        return tau;
    }
    let k = match target {
        Some(t) => t.min(a.len()),
        None => {
            let mut s = a.clone();
            s.sort_by(|x, y| y.total_cmp(x));
            let sq: Vec<f64> = s.iter().map(|v| v * v).collect();
            energy_rank(&sq, np_sum(&sq))
        }
    };
    let theta = kth_largest_py(&a, k as i64 - 1);
    tau.iter()
        .zip(&a)
        .map(|(t, aj)| t * if *aj >= theta { 1.0 } else { 0.0 })
        .collect()
}

/// Matrix path: keep the first k singular values (k = 0 keeps nothing).
fn adarank_matrix(
    tau: Vec<f64>,
    shape: &[usize],
    target: Option<usize>,
) -> Result<Vec<f64>, MergeError> {
    let (rows, cols) = matrix_dims(shape);
    let svd = small_side_svd(rows, cols, &tau).ok_or_else(|| svd_failed(&ADARANK_INFO))?;
    let sq: Vec<f64> = svd.s.iter().map(|v| v * v).collect();
    let k = match target {
        Some(t) => t.min(svd.s.len()),
        None => {
            let e = np_sum(&sq);
            if e == 0.0 {
                return Ok(tau);
            }
            let ratios: Vec<f64> = running_sum(&sq).iter().map(|c| c / e).collect();
            ratios
                .iter()
                .position(|&c| c >= 0.9)
                .map_or(svd.s.len(), |i| i + 1)
        }
    };
    // U_k S_k V_kᵀ, formed from τ and the smaller side's vectors.
    Ok(svd.truncate(&tau, k, 1.0))
}

/// numpy `cumsum` (sequential).
fn running_sum(v: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    v.iter()
        .map(|x| {
            acc += x;
            acc
        })
        .collect()
}

/// `dual_projection`: splits each delta into its projection on the top-k
/// right singular subspace of all deltas ("shared") and the rest ("task"),
/// and damps the task part by `1 − stability_weight`.
pub struct DualProjection;

static DUAL_PARAMS: [ParamSpec; 3] = [
    f64_param(
        "stability_weight",
        0.5,
        0.0,
        1.0,
        "s: how much of the task-specific (non-shared) part is removed.",
    ),
    f64_param(
        "rank_fraction",
        0.5,
        0.01,
        1.0,
        "ρ: the shared subspace keeps round(len(S)·ρ) components (at least one).",
    ),
    ParamSpec {
        name: "use_base",
        default: ParamDefault::Bool(false),
        range: None,
        choices: &[],
        doc: "Use the replica's base. The reference's resolve() never passes it (so the result is the weighted average); true reproduces the direct call with base=.",
    },
];

static DUAL_INFO: StrategyInfo = StrategyInfo {
    name: "dual_projection",
    family: Family::Reference,
    needs_base: false,
    stochastic: false,
    uses_weights: true,
    class: ReproClass::S,
    params: &DUAL_PARAMS,
    summary: "Keeps the deltas' shared low-rank subspace and damps the task-specific rest (the weighted average without a base).",
};

impl Strategy for DualProjection {
    fn info(&self) -> &StrategyInfo {
        &DUAL_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&DUAL_INFO, inputs)? {
            return Ok(done);
        }
        let w = weights_hat(inputs)?;
        let first = inputs.tensors[0];
        let b: Vec<f64> = match inputs.base {
            Some(b) if param_bool(params, "use_base") => {
                if b.shape() != first.shape() {
                    return Err(shape_mismatch("base", first.shape(), b.shape()));
                }
                b.data().to_vec()
            }
            _ => super::util::weighted_mean_of(inputs, &w),
        };
        let deltas: Vec<Vec<f64>> = inputs.tensors.iter().map(|t| sub(t.data(), &b)).collect();
        if deltas.iter().all(|d| norm(d) < 1e-15) {
            return Ok(first.with_data(b));
        }
        let s = param_f64(params, "stability_weight");
        let rho = param_f64(params, "rank_fraction");
        let delta = dual_delta(&deltas, &w, s, rho)?;
        Ok(first.with_data(add(&b, &delta)))
    }
}

/// `δ = Σ ŵ_i shared_i + (1 − s)·Σ ŵ_i task_i` with `shared_i = V_kᵀ V_k Δ_i`.
fn dual_delta(deltas: &[Vec<f64>], w: &[f64], s: f64, rho: f64) -> Result<Vec<f64>, MergeError> {
    let (n, d) = (deltas.len(), deltas[0].len());
    let flat: Vec<f64> = deltas.iter().flatten().copied().collect();
    let svd = thin_svd(n, d, &flat).ok_or_else(|| svd_failed(&DUAL_INFO))?;
    let len_s = svd.s.len();
    let k = (py_round_half_even(len_s as f64 * rho).max(1) as usize)
        .min(len_s)
        .min(n);
    let vk = svd.vt.rows(0, k);
    let shared: Vec<Vec<f64>> = deltas
        .iter()
        .map(|di| {
            let coords = vk * nalgebra::DVector::from_column_slice(di);
            (vk.transpose() * coords).as_slice().to_vec()
        })
        .collect();
    let task: Vec<Vec<f64>> = deltas
        .iter()
        .zip(&shared)
        .map(|(di, sh)| sub(di, sh))
        .collect();
    let sh_sum = weighted_fold(d, w.iter().copied().zip(shared.iter().map(Vec::as_slice)));
    let task_sum = weighted_fold(d, w.iter().copied().zip(task.iter().map(Vec::as_slice)));
    let damp = 1.0 - s;
    Ok(sh_sum
        .iter()
        .zip(&task_sum)
        .map(|(a, t)| a + damp * t)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyrandom::PyRandom;

    /// The first `r` left singular vectors of a random `rows × cols` matrix
    /// (near `near` plus `noise` times a random one, when given).
    fn left_vectors(
        rng: &mut PyRandom,
        rows: usize,
        cols: usize,
        r: usize,
        near: Option<&[f64]>,
        noise: f64,
    ) -> (Vec<f64>, DMatrix<f64>) {
        let a: Vec<f64> = (0..rows * cols)
            .map(|j| near.map_or(0.0, |n| n[j]) + noise * rng.gauss(0.0, 1.0))
            .collect();
        let svd = thin_svd(rows, cols, &a).unwrap();
        (a, svd.u.columns(0, r).into_owned())
    }

    fn max_diff(x: &DMatrix<f64>, y: &DMatrix<f64>) -> f64 {
        x.iter()
            .zip(y.iter())
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
    }

    #[test]
    fn newton_schulz_is_the_polar_factor_or_gives_up() {
        let mut rng = PyRandom::new(31);
        let mut converged = 0;
        for (rows, cols, r, noise) in [
            // Square, full rank: P orthogonal.
            (24, 24, 24, 1.0),
            (40, 60, 40, 1.0),
            // Truncated ranks and tall matrices of nearby models: P is
            // well-conditioned but not orthogonal; several steps.
            (30, 30, 10, 0.05),
            (50, 12, 12, 0.05),
            (64, 32, 32, 0.2),
            // Unrelated subspaces: P (nearly) singular, the SVD route.
            (64, 32, 32, 1.0),
            (30, 30, 5, 1.0),
        ] {
            let (a, u_ref) = left_vectors(&mut rng, rows, cols, r, None, 1.0);
            let (_, u) = left_vectors(&mut rng, rows, cols, r, Some(&a), noise);
            let svd_q = procrustes_rotation(&u, &u_ref).unwrap();
            match polar_newton_schulz(&u, &u_ref) {
                Some(q) => {
                    converged += 1;
                    let err = max_diff(&q, &svd_q);
                    assert!(err <= 1e-12, "{rows}x{cols} r {r}: {err:e}");
                }
                None => assert!(noise == 1.0 && r < rows, "{rows}x{cols} r {r}"),
            }
        }
        assert!(converged >= 5);
        // A singular P (orthogonal subspaces) is left to the SVD.
        let mut u = DMatrix::zeros(4, 2);
        let mut u_ref = DMatrix::zeros(4, 2);
        u[(0, 0)] = 1.0;
        u[(1, 1)] = 1.0;
        u_ref[(2, 0)] = 1.0;
        u_ref[(3, 1)] = 1.0;
        assert!(polar_newton_schulz(&u, &u_ref).is_none());
    }

    #[test]
    fn square_full_rank_terms_match_the_procrustes_route() {
        // The square full-rank path (U_i Q taken as U_ref, V_i from the
        // small side) against the spec's route, per term.
        let mut rng = PyRandom::new(32);
        let (rows, cols) = (20, 20);
        let taus: Vec<Vec<f64>> = (0..3)
            .map(|_| (0..rows * cols).map(|_| rng.gauss(0.0, 1.0)).collect())
            .collect();
        let b = Tensor::new(vec![rows, cols], vec![0.0; rows * cols]).unwrap();
        let tensors: Vec<Tensor> = taus
            .iter()
            .map(|t| Tensor::new(vec![rows, cols], t.clone()).unwrap())
            .collect();
        let refs: Vec<&Tensor> = tensors.iter().collect();
        let ids = ["a", "b", "c"];
        let inputs = MergeInputs {
            ids: &ids,
            tensors: &refs,
            weights: &[1.0, 1.0, 1.0],
            base: Some(&b),
            seed: 0,
            tensor_key: "",
        };
        let params = crate::strategy::resolve_params(&KNOT_INFO, &Params::new()).unwrap();
        let comps = knot_components(&inputs, &b, &params).unwrap();
        let u_ref = thin_svd(rows, cols, &taus[0]).unwrap().u;
        for (tau, c) in taus.iter().zip(&comps).skip(1) {
            let svd = thin_svd(rows, cols, tau).unwrap();
            let q = procrustes_rotation(&svd.u, &u_ref).unwrap();
            let want = KnotComponent {
                uq: matmul(&svd.u, &q),
                s: svd.s.clone(),
                v: svd.vt.transpose(),
            };
            assert!(c.s == want.s && c.v == want.v);
            let (x, y) = (c.recompose(None), want.recompose(None));
            let err = x
                .iter()
                .zip(&y)
                .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
            assert!(err <= 1e-12, "{err:e}");
        }
    }
}
