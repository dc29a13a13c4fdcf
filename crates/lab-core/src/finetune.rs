//! Realistic synthetic fine-tunes: a workload generator whose contributions
//! look like fine-tunes of one shared base model, so that merge strategies
//! built for real fine-tunes (task arithmetic, TIES, DARE, …) meet the
//! structure they were designed for — small, low-rank, partly overlapping
//! task vectors with sign conflicts — instead of independent Gaussian noise
//! (the plain workload in [`crate::workload`], which stays available).
//!
//! ## The model
//! For a `rows × cols` layer (`d_out × d_in`), seed `s` and contribution `i`:
//!
//! - **Base** (like a trained layer, LeCun-scaled):
//!   `W0[j,k] = g / √cols`, g ~ N(0, 1).
//! - **Low-rank factors** with a shared part: `U_i = λ·S + μ·O_i`
//!   (`rows × r`) and `V_i = λ·T + μ·P_i` (`cols × r`), where `S`, `T` are
//!   shared by every contribution, `O_i`, `P_i` are contribution `i`'s own,
//!   all entries N(0, 1), and `λ = overlap^¼`, `μ = √(1 − √overlap)` (so
//!   `λ² + μ² = 1`: every factor entry stays N(0, 1)).
//! - **Low-rank update**: `L_i = scale / √(r·cols) · U_i V_iᵀ`. Each entry
//!   has variance `scale² / cols`, so `scale` is the ratio of the update's
//!   RMS to the base's RMS (0.1 ⇒ the fine-tune moves weights by ~10 %).
//!   Two updates have expected inner product `λ⁴ = overlap` times their
//!   expected squared norm: **`overlap` is the expected cosine similarity of
//!   two dense task vectors** (0 ⇒ unrelated tasks whose signs conflict on
//!   half of the entries, 0.9 ⇒ closely related tasks).
//! - **Sparsification (magnitude-based)**: the `round(sparsity · rows·cols)`
//!   entries of `L_i` with the smallest magnitude are set to zero (ties
//!   broken towards keeping the lower row-major index, so the kept set is
//!   unique). Magnitude-based rather than random, so that the kept entries
//!   are exactly the ones a dense fine-tune changed most and the count is
//!   exact; `sparsity = 0` keeps the update dense.
//! - **Noise**: `E_i[j,k] = noise · g / √cols`, dense, added after
//!   sparsification (the small changes a fine-tune makes everywhere).
//! - **Task vector** `τ_i = sparsify(L_i) + E_i`; **contribution**
//!   `W_i = W0 + τ_i`.
//!
//! ## Determinism
//! Randomness comes only from [`Stream`]s keyed by `(seed, purpose, ids,
//! key)`: the base from `(s, Base, [], "finetune/base")`, the shared factors
//! from `(s, Tensor, [], "finetune/shared-u" | "finetune/shared-v")`, and
//! contribution `i`'s own factors and noise from `(s, Tensor, [i],
//! "finetune/u" | "finetune/v" | "finetune/noise")`, all drawn in row-major
//! order. So contribution `i` depends only on `(seed, spec, i)` — never on
//! how many contributions exist or in which order they are generated — and
//! these streams never coincide with the plain workload's. The matrix
//! product sums over the rank index in increasing order with separate
//! multiplies and adds (Rust never fuses them into FMAs); square roots come
//! from `libm`.

use crate::error::ConfigError;
use crate::rng::{Purpose, Stream};
use crate::tensor::{Tensor, TENSOR_ELEMENTS_MAX};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Largest `rows` or `cols`.
pub const FINETUNE_DIM_MAX: u32 = 1 << 16;

/// Largest rank of a task vector.
pub const FINETUNE_RANK_MAX: u32 = 256;

/// Most multiply-adds (`rows × cols × rank`) one contribution may cost.
pub const FINETUNE_WORK_MAX: u64 = 1 << 30;

/// Largest `scale` and `noise` (relative to the base's RMS).
pub const FINETUNE_MAGNITUDE_MAX: f64 = 100.0;

/// The shape of a synthetic fine-tune workload. See the module docs for the
/// formulas.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FineTuneSpec {
    /// Output dimension `d_out` (rows of the layer), 1..=[`FINETUNE_DIM_MAX`].
    pub rows: u32,
    /// Input dimension `d_in` (columns), 1..=[`FINETUNE_DIM_MAX`];
    /// `rows × cols` at most [`TENSOR_ELEMENTS_MAX`].
    pub cols: u32,
    /// Rank `r` of each task vector's low-rank update,
    /// 1..=min(rows, cols, [`FINETUNE_RANK_MAX`]).
    pub rank: u32,
    /// RMS of the low-rank update relative to the base's RMS,
    /// 0..=[`FINETUNE_MAGNITUDE_MAX`].
    pub scale: f64,
    /// Fraction of the update's entries zeroed (smallest magnitudes first),
    /// 0..=1.
    pub sparsity: f64,
    /// Expected cosine similarity between two dense task vectors, 0..=1.
    pub overlap: f64,
    /// RMS of the dense noise relative to the base's RMS,
    /// 0..=[`FINETUNE_MAGNITUDE_MAX`].
    pub noise: f64,
}

impl Default for FineTuneSpec {
    /// A 64 × 64 layer, rank-4 updates of 10 % of the base's RMS, dense,
    /// overlap 0.25, noise 1 %.
    fn default() -> FineTuneSpec {
        FineTuneSpec {
            rows: 64,
            cols: 64,
            rank: 4,
            scale: 0.1,
            sparsity: 0.0,
            overlap: 0.25,
            noise: 0.01,
        }
    }
}

/// Why a [`FineTuneSpec`] was rejected.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FineTuneError {
    /// An integer parameter outside its range.
    #[error("{name} must be between {min} and {max}, got {got}")]
    OutOfRange {
        name: &'static str,
        min: u64,
        max: u64,
        got: u64,
    },
    /// A real parameter outside its range, or NaN.
    #[error("{name} must be in {range}, got {got}")]
    BadValue {
        name: &'static str,
        range: &'static str,
        got: f64,
    },
    /// `rows × cols` above the tensor element limit.
    #[error("a {rows}×{cols} layer has {elements} elements, above the limit of {limit}")]
    TooLarge {
        rows: u32,
        cols: u32,
        elements: u64,
        limit: u64,
    },
    /// `rows × cols × rank` above [`FINETUNE_WORK_MAX`].
    #[error("rank {rank} on a {rows}×{cols} layer costs {work} multiply-adds per contribution, above the limit of {limit}")]
    TooMuchWork {
        rows: u32,
        cols: u32,
        rank: u32,
        work: u64,
        limit: u64,
    },
}

impl From<FineTuneError> for ConfigError {
    fn from(e: FineTuneError) -> ConfigError {
        match e {
            FineTuneError::OutOfRange {
                name,
                min,
                max,
                got,
            } => ConfigError::OutOfRange {
                name,
                min,
                max,
                got,
            },
            other => ConfigError::Invalid(other.to_string()),
        }
    }
}

impl FineTuneSpec {
    /// Checks every range and the size limits.
    pub fn validate(&self) -> Result<(), FineTuneError> {
        let dim_max = FINETUNE_DIM_MAX as u64;
        in_range("rows", self.rows as u64, 1, dim_max)?;
        in_range("cols", self.cols as u64, 1, dim_max)?;
        let elements = self.rows as u64 * self.cols as u64;
        if elements > TENSOR_ELEMENTS_MAX as u64 {
            return Err(FineTuneError::TooLarge {
                rows: self.rows,
                cols: self.cols,
                elements,
                limit: TENSOR_ELEMENTS_MAX as u64,
            });
        }
        let rank_max = self.rows.min(self.cols).min(FINETUNE_RANK_MAX) as u64;
        in_range("rank", self.rank as u64, 1, rank_max)?;
        let work = elements * self.rank as u64;
        if work > FINETUNE_WORK_MAX {
            return Err(FineTuneError::TooMuchWork {
                rows: self.rows,
                cols: self.cols,
                rank: self.rank,
                work,
                limit: FINETUNE_WORK_MAX,
            });
        }
        real_in("scale", self.scale, FINETUNE_MAGNITUDE_MAX, "[0, 100]")?;
        real_in("sparsity", self.sparsity, 1.0, "[0, 1]")?;
        real_in("overlap", self.overlap, 1.0, "[0, 1]")?;
        real_in("noise", self.noise, FINETUNE_MAGNITUDE_MAX, "[0, 100]")?;
        Ok(())
    }

    /// Elements of one tensor, `rows × cols`.
    pub fn elements(&self) -> usize {
        self.rows as usize * self.cols as usize
    }

    fn shape(&self) -> Vec<usize> {
        vec![self.rows as usize, self.cols as usize]
    }
}

fn in_range(name: &'static str, got: u64, min: u64, max: u64) -> Result<(), FineTuneError> {
    if got < min || got > max {
        return Err(FineTuneError::OutOfRange {
            name,
            min,
            max,
            got,
        });
    }
    Ok(())
}

fn real_in(
    name: &'static str,
    got: f64,
    max: f64,
    range: &'static str,
) -> Result<(), FineTuneError> {
    // Written so that NaN fails.
    if !(got >= 0.0 && got <= max) {
        return Err(FineTuneError::BadValue { name, range, got });
    }
    Ok(())
}

const KEY_BASE: &[u8] = b"finetune/base";
const KEY_SHARED_U: &[u8] = b"finetune/shared-u";
const KEY_SHARED_V: &[u8] = b"finetune/shared-v";
const KEY_U: &[u8] = b"finetune/u";
const KEY_V: &[u8] = b"finetune/v";
const KEY_NOISE: &[u8] = b"finetune/noise";

/// The base model `W0` (`rows × cols`, entries N(0, 1/cols)).
pub fn base(seed: u64, spec: &FineTuneSpec) -> Result<Tensor, FineTuneError> {
    spec.validate()?;
    let mut s = Stream::keyed(seed, Purpose::Base, &[], KEY_BASE);
    let sd = 1.0 / libm::sqrt(spec.cols as f64);
    let data: Vec<f64> = (0..spec.elements()).map(|_| s.gaussian() * sd).collect();
    Ok(tensor(spec, data))
}

/// Contribution `i`'s task vector `τ_i = sparsify(L_i) + E_i` (the
/// difference between its fine-tune and the base).
pub fn task_vector(seed: u64, spec: &FineTuneSpec, i: u32) -> Result<Tensor, FineTuneError> {
    spec.validate()?;
    let mut data = low_rank_update(seed, spec, i);
    sparsify(&mut data, spec.sparsity);
    if spec.noise > 0.0 {
        let mut s = Stream::keyed(seed, Purpose::Tensor, &[i as u64], KEY_NOISE);
        let sd = spec.noise / libm::sqrt(spec.cols as f64);
        for x in data.iter_mut() {
            *x += s.gaussian() * sd;
        }
    }
    Ok(tensor(spec, data))
}

/// Contribution `i`: the fine-tune `W_i = W0 + τ_i`, elementwise.
pub fn contribution(seed: u64, spec: &FineTuneSpec, i: u32) -> Result<Tensor, FineTuneError> {
    let b = base(seed, spec)?;
    let t = task_vector(seed, spec, i)?;
    let data: Vec<f64> = b.data().iter().zip(t.data()).map(|(w, d)| w + d).collect();
    Ok(tensor(spec, data))
}

fn tensor(spec: &FineTuneSpec, data: Vec<f64>) -> Tensor {
    Tensor::new(spec.shape(), data).expect("validated: rows × cols is within the element limit")
}

/// `L_i = scale / √(r·cols) · U_i V_iᵀ`, row-major.
fn low_rank_update(seed: u64, spec: &FineTuneSpec, i: u32) -> Vec<f64> {
    let (rows, cols, r) = (spec.rows as usize, spec.cols as usize, spec.rank as usize);
    let root = libm::sqrt(spec.overlap);
    let lambda = libm::sqrt(root);
    let mu = libm::sqrt(1.0 - root);
    let u = factor(seed, i, rows * r, KEY_SHARED_U, KEY_U, lambda, mu);
    let v = factor(seed, i, cols * r, KEY_SHARED_V, KEY_V, lambda, mu);
    let c = spec.scale / libm::sqrt(r as f64 * cols as f64);
    let mut out = Vec::with_capacity(rows * cols);
    for uj in u.chunks_exact(r) {
        for vk in v.chunks_exact(r) {
            let mut acc = 0.0;
            for l in 0..r {
                acc += uj[l] * vk[l];
            }
            out.push(c * acc);
        }
    }
    out
}

/// `λ·shared + μ·own`, `n` entries (a row-major factor matrix).
fn factor(
    seed: u64,
    i: u32,
    n: usize,
    shared_key: &[u8],
    own_key: &[u8],
    lambda: f64,
    mu: f64,
) -> Vec<f64> {
    let mut shared = Stream::keyed(seed, Purpose::Tensor, &[], shared_key);
    let mut own = Stream::keyed(seed, Purpose::Tensor, &[i as u64], own_key);
    (0..n)
        .map(|_| {
            let a = shared.gaussian();
            let b = own.gaussian();
            lambda * a + mu * b
        })
        .collect()
}

/// Zeroes the `round(sparsity · n)` smallest-magnitude entries (ties: the
/// higher row-major index is dropped first).
fn sparsify(data: &mut [f64], sparsity: f64) {
    let n = data.len();
    let zeros = (libm::round(sparsity * n as f64) as usize).min(n);
    if zeros == 0 {
        return;
    }
    let keep = n - zeros;
    if keep == 0 {
        data.iter_mut().for_each(|x| *x = 0.0);
        return;
    }
    // A strict total order (magnitude descending, then index ascending), so
    // the first `keep` after partitioning are the same set whatever the
    // selection algorithm does internally.
    let mut order: Vec<usize> = (0..n).collect();
    order.select_nth_unstable_by(keep - 1, |&a, &b| {
        data[b].abs().total_cmp(&data[a].abs()).then(a.cmp(&b))
    });
    for &idx in &order[keep..] {
        data[idx] = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparsify_keeps_the_largest_and_breaks_ties_by_index() {
        let mut v = vec![0.5, -3.0, 0.5, 2.0, -0.5, 1.0];
        sparsify(&mut v, 0.5);
        assert_eq!(v, vec![0.0, -3.0, 0.0, 2.0, 0.0, 1.0]);
        let mut v = vec![0.5, -0.5, 0.5, -0.5];
        sparsify(&mut v, 0.5);
        assert_eq!(v, vec![0.5, -0.5, 0.0, 0.0]);
        let mut v = vec![1.0, 2.0];
        sparsify(&mut v, 0.0);
        assert_eq!(v, vec![1.0, 2.0]);
        sparsify(&mut v, 1.0);
        assert_eq!(v, vec![0.0, 0.0]);
    }

    #[test]
    fn mixing_weights_keep_unit_variance() {
        for overlap in [0.0, 0.1, 0.5, 0.9, 1.0] {
            let root = libm::sqrt(overlap);
            let (l, m) = (libm::sqrt(root), libm::sqrt(1.0 - root));
            assert!((l * l + m * m - 1.0).abs() < 1e-15);
            assert!((l * l * l * l - overlap).abs() < 1e-15);
        }
    }
}
