//! SVD-based strategies: `star` (spec §2.21), `svd_knot_tying` (§2.22),
//! `adarank` (§2.23) and `dual_projection` (§2.26). Tensors with one
//! dimension, or any dimension equal to 1, take elementwise "1-D" paths;
//! others are viewed as `shape[0] × rest` matrices.

use super::linalg::{matmul, small_side_svd, thin_svd, ThinSvd};
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
    /// `V_iᵀ` truncated (r × cols).
    pub vt: DMatrix<f64>,
}

impl KnotComponent {
    /// `Σ_k sign_k·s_k·(UQ)_k v_kᵀ` (all signs +1 when `signs` is `None`),
    /// row-major.
    pub(crate) fn recompose(&self, signs: Option<&[f64]>) -> Vec<f64> {
        let (rows, cols) = (self.uq.nrows(), self.vt.ncols());
        // Vᵀ row-major (row k contiguous); each entry sums over k in order.
        let vt_rows = self.vt.transpose();
        let vt_rows = vt_rows.as_slice();
        let mut out = vec![0.0; rows * cols];
        for (r, out_row) in out.chunks_exact_mut(cols).enumerate() {
            for (k, &sk) in self.s.iter().enumerate() {
                let a = self.uq[(r, k)] * (sk * signs.map_or(1.0, |s| s[k]));
                let v_k = &vt_rows[k * cols..(k + 1) * cols];
                for (o, v) in out_row.iter_mut().zip(v_k) {
                    *o += a * v;
                }
            }
        }
        out
    }
}

/// The matrix path's per-model terms (model 0 is the reference).
pub(crate) fn knot_components(
    inputs: &MergeInputs<'_>,
    b: &Tensor,
    params: &Params,
) -> Result<Vec<KnotComponent>, MergeError> {
    let (rows, cols) = matrix_dims(b.shape());
    let rank = param_i64(params, "rank").max(0) as usize;
    let procrustes = param_str(params, "alignment_method") == "procrustes";
    let svds: Vec<ThinSvd> = task_vectors(inputs, b)
        .iter()
        .map(|tau| thin_svd(rows, cols, tau).ok_or_else(|| svd_failed(&KNOT_INFO)))
        .collect::<Result<_, _>>()?;
    let full = svds[0].s.len();
    let r = if rank == 0 { full } else { rank.min(full) };
    let u_ref = svds[0].u.columns(0, r).into_owned();
    svds.iter()
        .enumerate()
        .map(|(i, svd)| {
            let u = svd.u.columns(0, r).into_owned();
            let uq = if procrustes && i > 0 {
                matmul(&u, &procrustes_rotation(&u, &u_ref)?)
            } else {
                u
            };
            Ok(KnotComponent {
                uq,
                s: svd.s[..r].to_vec(),
                vt: svd.vt.rows(0, r).into_owned(),
            })
        })
        .collect()
}

/// `Q = A Bᵀ` from the SVD `U_iᵀ U_ref = A Σ Bᵀ`.
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
