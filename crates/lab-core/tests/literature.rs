//! The literature family (`<method>:paper` / `:mergekit`): hand-computed
//! cases, algebraic properties, statistical checks of the stochastic methods,
//! mask independence, permutation invariance and typed errors.

use lab_core::strategy::literature::{common, dare, della, median, model_stock, slerp, ALL};
use lab_core::strategy::{
    find, merge_by_name, resolve_params, Family, MergeInputs, ParamValue, Params, ReproClass,
};
use lab_core::{MergeError, Tensor};
use proptest::prelude::*;

// ---------------------------------------------------------------- helpers

fn vec1(data: &[f64]) -> Tensor {
    Tensor::new(vec![data.len()], data.to_vec()).unwrap()
}

fn params(pairs: &[(&str, f64)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), ParamValue::F64(*v)))
        .collect()
}

/// One merge call: contributions `(id, tensor, weight)` in the order given.
struct Call<'a> {
    name: &'a str,
    ids: Vec<&'a str>,
    xs: Vec<&'a Tensor>,
    ws: Vec<f64>,
    base: Option<&'a Tensor>,
    seed: u64,
    key: &'a str,
    params: Params,
}

impl<'a> Call<'a> {
    fn new(name: &'a str, ids: &[&'a str], xs: &[&'a Tensor], base: Option<&'a Tensor>) -> Self {
        Call {
            name,
            ids: ids.to_vec(),
            xs: xs.to_vec(),
            ws: vec![1.0; xs.len()],
            base,
            seed: 42,
            key: "",
            params: Params::new(),
        }
    }
    fn weights(mut self, ws: &[f64]) -> Self {
        self.ws = ws.to_vec();
        self
    }
    fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    fn key(mut self, key: &'a str) -> Self {
        self.key = key;
        self
    }
    fn with(mut self, pairs: &[(&str, f64)]) -> Self {
        self.params = params(pairs);
        self
    }
    fn run(&self) -> Result<Tensor, MergeError> {
        let inputs = MergeInputs {
            ids: &self.ids,
            tensors: &self.xs,
            weights: &self.ws,
            base: self.base,
            seed: self.seed,
            tensor_key: self.key,
        };
        merge_by_name(self.name, &inputs, &self.params)
    }
    fn ok(&self) -> Vec<f64> {
        self.run().unwrap().into_data()
    }
}

const IDS: [&str; 6] = ["m0", "m1", "m2", "m3", "m4", "m5"];

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (j, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "element {j}: got {g}, want {w} (tol {tol})\n got {got:?}\nwant {want:?}"
        );
    }
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

const NAMES: [&str; 9] = [
    "ties:paper",
    "dare:paper",
    "dare_ties:paper",
    "della:paper",
    "breadcrumbs:paper",
    "model_stock:paper",
    "median:paper",
    "slerp:mergekit",
    "karcher:paper",
];

// ---------------------------------------------------------------- registry

#[test]
fn all_literature_strategies_are_registered_with_correct_metadata() {
    // (name, needs_base, stochastic, uses_weights, class)
    let table = [
        ("ties:paper", true, false, false, ReproClass::E),
        ("dare:paper", true, true, true, ReproClass::M),
        ("dare_ties:paper", true, true, true, ReproClass::M),
        ("della:paper", true, true, true, ReproClass::M),
        ("breadcrumbs:paper", true, false, true, ReproClass::E),
        ("model_stock:paper", true, false, false, ReproClass::R),
        ("median:paper", false, false, false, ReproClass::E),
        ("slerp:mergekit", false, false, false, ReproClass::R),
        ("karcher:paper", false, false, true, ReproClass::R),
    ];
    assert_eq!(ALL.len(), table.len());
    for (s, (name, base, stoch, weights, class)) in ALL.iter().zip(table) {
        let info = s.info();
        assert_eq!(info.name, name);
        assert!(std::ptr::eq(find(name).unwrap().info(), info));
        assert_eq!(info.family, Family::Literature);
        assert_eq!(
            (
                info.needs_base,
                info.stochastic,
                info.uses_weights,
                info.class
            ),
            (base, stoch, weights, class),
            "{name}"
        );
        assert!(!info.summary.is_empty());
        let defaults = resolve_params(info, &Params::new()).unwrap();
        assert_eq!(defaults.len(), info.params.len());
        for p in info.params {
            assert!(!p.doc.is_empty(), "{name}.{}", p.name);
            let (lo, hi) = p.range.expect("every literature parameter has a range");
            let v = defaults[p.name].as_f64().unwrap();
            assert!(
                lo <= v && v <= hi,
                "{name}.{} default {v} outside [{lo}, {hi}]",
                p.name
            );
        }
    }
}

#[test]
fn out_of_range_parameters_are_rejected() {
    let (b, x) = (vec1(&[0.0; 3]), vec1(&[1.0, 2.0, 3.0]));
    for (name, key, v) in [
        ("ties:paper", "density", 1.5),
        ("dare:paper", "drop_rate", -0.1),
        ("della:paper", "epsilon", 0.6),
        ("slerp:mergekit", "t", 2.0),
        ("karcher:paper", "max_iter", 0.0),
    ] {
        let r = Call::new(name, &["a"], &[&x], Some(&b))
            .with(&[(key, v)])
            .run();
        assert!(
            matches!(r, Err(MergeError::BadParameter { .. })),
            "{name}: {r:?}"
        );
    }
}

// ---------------------------------------------------------------- TIES

/// Base b = 1 everywhere; task vectors (density 0.4 → k = round(0.4·5) = 2):
///   τ1 = [ 3, -1,  2,  .5, -4]  → top-2 |·|: 4 (j4), 3 (j0) → τ̂1 = [ 3, 0, 0, 0, -4]
///   τ2 = [-2,  5,  1,  -1, -3]  → top-2: 5 (j1), 3 (j4)     → τ̂2 = [ 0, 5, 0, 0, -3]
///   τ3 = [-6, -2, .5,   1,  2]  → top-2: 6 (j0), then the tie |2| at j1 and
///                                 j4 goes to the lower index → τ̂3 = [-6, -2, 0, 0, 0]
/// Elect sign(Σ τ̂): j0: 3−6 = −3 → −; j1: 5−2 = 3 → +; j2, j3: 0 → none;
///   j4: −4−3 = −7 → −.
/// Disjoint mean: j0: −6; j1: 5; j2, j3: 0; j4: (−4−3)/2 = −3.5.
/// λ = 1: b + δ = [−5, 6, 1, 1, −2.5];  λ = 0.5: [−2, 3.5, 1, 1, −0.75].
#[test]
fn ties_three_vectors_by_hand() {
    let b = vec1(&[1.0; 5]);
    let x1 = vec1(&[4.0, 0.0, 3.0, 1.5, -3.0]);
    let x2 = vec1(&[-1.0, 6.0, 2.0, 0.0, -2.0]);
    let x3 = vec1(&[-5.0, -1.0, 1.5, 2.0, 3.0]);
    let call = |lambda: f64, ws: &[f64]| {
        Call::new("ties:paper", &IDS[..3], &[&x1, &x2, &x3], Some(&b))
            .weights(ws)
            .with(&[("density", 0.4), ("lambda", lambda)])
            .ok()
    };
    assert_eq!(call(1.0, &[1.0; 3]), vec![-5.0, 6.0, 1.0, 1.0, -2.5]);
    assert_eq!(call(0.5, &[1.0; 3]), vec![-2.0, 3.5, 1.0, 1.0, -0.75]);
    // The paper has no per-model weights: they are ignored, even a zero sum.
    assert_eq!(
        call(1.0, &[5.0, -5.0, 0.0]),
        vec![-5.0, 6.0, 1.0, 1.0, -2.5]
    );
}

#[test]
fn trim_keeps_exactly_k_with_ties_to_the_lower_index() {
    let mut v = vec![2.0, -2.0, 1.0, 2.0, 0.5];
    common::trim_top_k(&mut v, 0.4);
    assert_eq!(v, vec![2.0, -2.0, 0.0, 0.0, 0.0]);
    let mut v = vec![0.1, 0.3, -0.2];
    common::trim_top_k(&mut v, 0.01); // round(0.03) = 0, raised to 1
    assert_eq!(v, vec![0.0, 0.3, 0.0]);
    let mut v = vec![0.1, 0.3, -0.2];
    common::trim_top_k(&mut v, 0.0);
    assert_eq!(v, vec![0.0; 3]);
    assert_eq!(common::count_of(0.7, 10), 7);
    assert_eq!(common::count_of(0.29, 100), 29);
}

#[test]
fn ties_with_full_density_is_idempotent_unlike_the_reference() {
    // Three identical models: the disjoint mean gives τ back (the reference
    // divides a normalised sum by the count and returns b + τ/3).
    let b = vec1(&[0.5, -1.0, 2.0]);
    let x = vec1(&[1.5, -3.0, 2.25]);
    let out = Call::new("ties:paper", &IDS[..3], &[&x, &x, &x], Some(&b))
        .with(&[("density", 1.0)])
        .ok();
    assert_eq!(out, x.data());
}

#[test]
fn ties_sign_tie_merges_nothing_and_zero_density_returns_base() {
    let b = vec1(&[0.0, 0.0]);
    let x1 = vec1(&[1.0, 2.0]);
    let x2 = vec1(&[-1.0, 1.0]);
    let out = Call::new("ties:paper", &IDS[..2], &[&x1, &x2], Some(&b))
        .with(&[("density", 1.0)])
        .ok();
    assert_eq!(out, vec![0.0, 1.5]);
    let out = Call::new("ties:paper", &IDS[..2], &[&x1, &x2], Some(&b))
        .with(&[("density", 0.0)])
        .ok();
    assert_eq!(out, vec![0.0, 0.0]);
}

// ---------------------------------------------------------------- DARE

fn task_arithmetic(b: &Tensor, xs: &[&Tensor], ws: &[f64], lambda: f64) -> Vec<f64> {
    let mut acc = vec![0.0; b.len()];
    for (x, w) in xs.iter().zip(ws) {
        for ((a, xj), bj) in acc.iter_mut().zip(x.data()).zip(b.data()) {
            *a += w * (xj - bj);
        }
    }
    b.data()
        .iter()
        .zip(&acc)
        .map(|(bj, a)| bj + lambda * a)
        .collect()
}

fn three_models() -> (Tensor, [Tensor; 3]) {
    let b = vec1(&[0.5, -1.0, 2.0, 0.0, 1.0, -0.25]);
    let xs = [
        vec1(&[1.5, -0.5, 2.5, 0.75, 0.0, 1.0]),
        vec1(&[0.0, -2.0, 3.0, -1.0, 1.5, -0.5]),
        vec1(&[1.0, 0.5, 1.0, 0.25, 2.0, 0.5]),
    ];
    (b, xs)
}

#[test]
fn dare_without_dropping_is_task_arithmetic_bitwise() {
    let (b, [x1, x2, x3]) = three_models();
    let ws = [0.7, 1.3, -0.4];
    let out = Call::new("dare:paper", &IDS[..3], &[&x1, &x2, &x3], Some(&b))
        .weights(&ws)
        .with(&[("drop_rate", 0.0), ("lambda", 0.6)])
        .ok();
    assert_eq!(
        bits(&out),
        bits(&task_arithmetic(&b, &[&x1, &x2, &x3], &ws, 0.6))
    );
}

#[test]
fn dare_dropping_everything_returns_the_base() {
    let (b, [x1, x2, x3]) = three_models();
    let out = Call::new("dare:paper", &IDS[..3], &[&x1, &x2, &x3], Some(&b))
        .with(&[("drop_rate", 1.0)])
        .ok();
    assert_eq!(out, b.data());
}

#[test]
fn dare_survivors_are_rescaled_and_the_rest_dropped() {
    let tau: Vec<f64> = (1..=200).map(|i| i as f64 * 0.25).collect();
    let dropped = dare::drop_and_rescale(7, "m", "layer.0", &tau, 0.75);
    let kept = dropped.iter().filter(|v| **v != 0.0).count();
    for (t, d) in tau.iter().zip(&dropped) {
        assert!(*d == 0.0 || *d == t * 4.0, "{t} -> {d}");
    }
    // 200 Bernoulli(0.25) keeps: mean 50, sd ≈ 6.1.
    assert!((25..=75).contains(&kept), "kept {kept}");
}

#[test]
fn dare_masks_depend_on_seed_and_tensor_key_only() {
    let tau = vec![1.0; 64];
    let m = |seed, id, key| dare::drop_and_rescale(seed, id, key, &tau, 0.5);
    assert_eq!(m(1, "a", "w"), m(1, "a", "w"));
    assert_ne!(m(1, "a", "w"), m(2, "a", "w"));
    assert_ne!(m(1, "a", "w"), m(1, "b", "w"));
    assert_ne!(m(1, "a", "w"), m(1, "a", "v"));
    // "a\0" ‖ 0 ‖ "w" and "a" ‖ 0 ‖ "\0w" have the same key bytes; the id
    // length in the stream ids keeps them apart.
    assert_ne!(m(1, "a\0", "w"), m(1, "a", "\0w"));
    let (b, [x1, x2, _]) = three_models();
    let run = |key| {
        Call::new("dare:paper", &IDS[..2], &[&x1, &x2], Some(&b))
            .key(key)
            .ok()
    };
    assert_ne!(run("layer.0"), run("layer.1"));
}

/// Over 4000 seeds the mean of DARE's result is task arithmetic
/// `b + λ·Σ w_i τ_i`; per element `Var = λ²·Σ w_i² τ_i² · p/(1 − p)`.
#[test]
fn dare_expectation_is_task_arithmetic_z_test() {
    let (b, [x1, x2, x3]) = three_models();
    let (ws, p, lambda, seeds) = ([1.0, 0.5, 2.0], 0.9, 0.8, 4000u64);
    let xs = [&x1, &x2, &x3];
    let expected = task_arithmetic(&b, &xs, &ws, lambda);
    let mut sum = vec![0.0; b.len()];
    for seed in 0..seeds {
        let out = Call::new("dare:paper", &IDS[..3], &xs, Some(&b))
            .weights(&ws)
            .seed(seed)
            .with(&[("drop_rate", p), ("lambda", lambda)])
            .ok();
        sum.iter_mut().zip(&out).for_each(|(s, o)| *s += o);
    }
    for j in 0..b.len() {
        let var: f64 = xs
            .iter()
            .zip(&ws)
            .map(|(x, w)| (lambda * w * (x.data()[j] - b.data()[j])).powi(2) * p / (1.0 - p))
            .sum();
        let mean = sum[j] / seeds as f64;
        if var == 0.0 {
            assert_eq!(mean, expected[j]);
            continue;
        }
        let z = (mean - expected[j]) / (var / seeds as f64).sqrt();
        assert!(
            z.abs() < 4.5,
            "element {j}: mean {mean}, expected {}, z {z}",
            expected[j]
        );
    }
}

#[test]
fn dare_ties_without_dropping_is_ties_without_trim() {
    let (b, [x1, x2, x3]) = three_models();
    let xs = [&x1, &x2, &x3];
    let dt = Call::new("dare_ties:paper", &IDS[..3], &xs, Some(&b))
        .with(&[("drop_rate", 0.0), ("lambda", 0.7)])
        .ok();
    let ties = Call::new("ties:paper", &IDS[..3], &xs, Some(&b))
        .with(&[("density", 1.0), ("lambda", 0.7)])
        .ok();
    assert_eq!(bits(&dt), bits(&ties));
}

#[test]
fn dare_ties_uses_dares_masks() {
    // One contribution of weight 1: the election keeps its own entries, so
    // dare_ties and dare give the same bits for the same seed and key.
    let (b, [x1, ..]) = three_models();
    for seed in 0..20 {
        let run = |name| {
            Call::new(name, &["solo"], &[&x1], Some(&b))
                .seed(seed)
                .key("k")
                .ok()
        };
        assert_eq!(bits(&run("dare:paper")), bits(&run("dare_ties:paper")));
    }
}

#[test]
fn dare_ties_elects_by_weighted_mass() {
    // p = 0, no trim: v = w·τ. j0: 1·2 + 3·(−1) = −1 → −, mean of {−3} = −3.
    let b = vec1(&[0.0, 0.0]);
    let x1 = vec1(&[2.0, 1.0]);
    let x2 = vec1(&[-1.0, 1.0]);
    let out = Call::new("dare_ties:paper", &IDS[..2], &[&x1, &x2], Some(&b))
        .weights(&[1.0, 3.0])
        .with(&[("drop_rate", 0.0)])
        .ok();
    assert_eq!(out, vec![-3.0, 2.0]);
}

// ---------------------------------------------------------------- DELLA

#[test]
fn magprune_keep_probabilities_by_hand() {
    // Ranks by magnitude: 0.1 < 0.2 < 0.3 < 0.4 < 0.5 → rank_norm 0, ¼, ½, ¾, 1
    // → keep = (0.5 − 0.2) + 0.4·rank_norm.
    let k = della::magprune_keep_probs(&[-0.3, 0.1, 0.5, -0.2, 0.4], 0.5, 0.2);
    assert_close(&k, &[0.5, 0.3, 0.7, 0.4, 0.6], 1e-15);
    // Ties share their average rank: |1| twice at ranks 1 and 2 → 1.5/3.
    let k = della::magprune_keep_probs(&[0.5, -1.0, 1.0, 2.0], 0.5, 0.3);
    assert_close(&k, &[0.2, 0.5, 0.5, 0.8], 1e-15);
    assert_close(&della::magprune_keep_probs(&[3.0], 0.4, 0.1), &[0.4], 1e-15);
}

#[test]
fn magprune_ranks_per_row_of_the_last_dimension() {
    let tau = [1.0, 2.0, 30.0, 10.0];
    let mut kept_low = [0u32; 4];
    for seed in 0..2000 {
        let v = della::magprune(seed, "m", "", &tau, 2, 0.5, 0.4);
        for (c, x) in kept_low.iter_mut().zip(&v) {
            *c += (*x != 0.0) as u32;
        }
    }
    // Per row [1, 2] and [30, 10]: keep 0.1, 0.9 and 0.9, 0.1. Ranked over
    // the whole tensor instead, element 0 and 1 would both be low.
    let rates: Vec<f64> = kept_low.iter().map(|&c| c as f64 / 2000.0).collect();
    assert_close(&rates, &[0.1, 0.9, 0.9, 0.1], 0.05);
}

/// One contribution of weight 1: the election keeps its own entries, so the
/// result is `b + λ·τ̃` with `E[τ̃_j] = τ_j` and `Var = τ_j²(1 − k_j)/k_j`.
#[test]
fn della_is_unbiased_z_test() {
    let b = Tensor::new(vec![2, 4], vec![0.5, -1.0, 0.0, 2.0, 1.0, 1.0, -0.5, 0.0]).unwrap();
    let tau = [0.3, -1.2, 0.05, 2.0, -0.7, 0.9, 0.1, -0.4];
    let x = b.with_data(b.data().iter().zip(&tau).map(|(b, t)| b + t).collect());
    let (density, epsilon, seeds) = (0.5, 0.3, 4000u64);
    let mut sum = [0.0; 8];
    for seed in 0..seeds {
        let out = Call::new("della:paper", &["m"], &[&x], Some(&b))
            .seed(seed)
            .with(&[("density", density), ("epsilon", epsilon)])
            .ok();
        sum.iter_mut().zip(&out).for_each(|(s, o)| *s += o);
    }
    let taus: Vec<f64> = x.data().iter().zip(b.data()).map(|(x, b)| x - b).collect();
    let mut keep = della::magprune_keep_probs(&taus[..4], density, epsilon);
    keep.extend(della::magprune_keep_probs(&taus[4..], density, epsilon));
    for j in 0..8 {
        let var = taus[j] * taus[j] * (1.0 - keep[j]) / keep[j];
        let z = (sum[j] / seeds as f64 - x.data()[j]) / (var / seeds as f64).sqrt();
        assert!(z.abs() < 4.5, "element {j}: z {z}");
    }
}

#[test]
fn della_keeping_everything_is_ties_without_trim() {
    let (b, [x1, x2, x3]) = three_models();
    let xs = [&x1, &x2, &x3];
    let della = Call::new("della:paper", &IDS[..3], &xs, Some(&b))
        .with(&[("density", 1.0), ("epsilon", 0.0), ("lambda", 0.9)])
        .ok();
    let ties = Call::new("ties:paper", &IDS[..3], &xs, Some(&b))
        .with(&[("density", 1.0), ("lambda", 0.9)])
        .ok();
    assert_eq!(bits(&della), bits(&ties));
}

#[test]
fn della_rejects_a_window_outside_zero_one() {
    let (b, [x1, ..]) = three_models();
    for (density, epsilon) in [(0.1, 0.1), (0.2, 0.3), (0.95, 0.1)] {
        let r = Call::new("della:paper", &["m"], &[&x1], Some(&b))
            .with(&[("density", density), ("epsilon", epsilon)])
            .run();
        assert!(
            matches!(r, Err(MergeError::BadParameter { .. })),
            "{density} {epsilon}: {r:?}"
        );
    }
}

// ---------------------------------------------------------------- mask independence

fn dyadic(range: i32, len: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec((-range..=range).prop_map(|k| k as f64 / 4.0), len)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Adding a contribution never changes another's mask: with every weight
    /// but a's set to 0, the result of {a, b} and of {a, b, c} (c anywhere in
    /// canonical order) is bitwise `b + λ·τ̃_a` from the public mask helpers.
    #[test]
    fn masks_do_not_depend_on_the_other_contributions(
        seed in any::<u64>(),
        c_id in "[a-z]{1,3}",
        key in "[a-z.0-9]{0,6}",
        vals in dyadic(8, 4 * 8),
    ) {
        prop_assume!(c_id != "m" && c_id != "t");
        let base = Tensor::new(vec![2, 4], vals[..8].to_vec()).unwrap();
        let xs: Vec<Tensor> = vals[8..].chunks(8).map(|c| base.with_data(c.to_vec())).collect();
        let tau_a: Vec<f64> = xs[0].data().iter().zip(base.data()).map(|(x, b)| x - b).collect();
        let mut three = vec![("m", &xs[0], 1.0), ("t", &xs[1], 0.0), (c_id.as_str(), &xs[2], 0.0)];
        three.sort_by(|p, q| p.0.cmp(q.0));
        let run = |name: &str, set: &[(&str, &Tensor, f64)]| {
            let ids: Vec<&str> = set.iter().map(|c| c.0).collect();
            let ts: Vec<&Tensor> = set.iter().map(|c| c.1).collect();
            let ws: Vec<f64> = set.iter().map(|c| c.2).collect();
            Call::new(name, &ids, &ts, Some(&base)).weights(&ws).seed(seed).key(&key)
                .with(&[("lambda", 0.5)]).ok()
        };
        let two = [("m", &xs[0], 1.0), ("t", &xs[1], 0.0)];
        let dropped = dare::drop_and_rescale(seed, "m", &key, &tau_a, 0.9);
        let pruned = della::magprune(seed, "m", &key, &tau_a, 4, 0.2, 0.1);
        for (name, delta) in [("dare:paper", &dropped), ("dare_ties:paper", &dropped), ("della:paper", &pruned)] {
            let want: Vec<f64> = base.data().iter().zip(delta).map(|(b, d)| b + 0.5 * d).collect();
            prop_assert_eq!(bits(&run(name, &two)), bits(&want), "{} with {{a, b}}", name);
            prop_assert_eq!(bits(&run(name, &three)), bits(&want), "{} with {{a, b, c}}", name);
        }
    }

    /// Permuting the (id, tensor, weight) triples leaves the result of the
    /// order-independent strategies unchanged (dyadic inputs make every sum
    /// exact, so the comparison is bitwise; DARE at p = ½ rescales by 2).
    #[test]
    fn order_independent_strategies_ignore_the_input_order(
        vals in dyadic(12, 5 * 6),
        wk in prop::collection::vec(1i32..=4, 4),
        perm in Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
        seed in any::<u64>(),
    ) {
        let base = vec1(&vals[..6]);
        let xs: Vec<Tensor> = vals[6..].chunks(6).map(vec1).collect();
        let ws: Vec<f64> = wk.iter().map(|&k| k as f64 / 2.0).collect();
        let ids = ["a", "b", "c", "d"];
        let run = |name: &str, order: &[usize], pairs: &[(&str, f64)]| {
            let id: Vec<&str> = order.iter().map(|&i| ids[i]).collect();
            let ts: Vec<&Tensor> = order.iter().map(|&i| &xs[i]).collect();
            let w: Vec<f64> = order.iter().map(|&i| ws[i]).collect();
            Call::new(name, &id, &ts, Some(&base)).weights(&w).seed(seed).with(pairs).run()
        };
        let cases: [(&str, &[(&str, f64)]); 6] = [
            ("ties:paper", &[("density", 0.5)]),
            ("breadcrumbs:paper", &[("small_fraction", 0.34), ("outlier_fraction", 0.17)]),
            ("median:paper", &[]),
            ("dare:paper", &[("drop_rate", 0.5)]),
            ("dare_ties:paper", &[("drop_rate", 0.5), ("density", 0.5)]),
            ("della:paper", &[("density", 0.5), ("epsilon", 0.25)]),
        ];
        for (name, pairs) in cases {
            let a = run(name, &[0, 1, 2, 3], pairs).unwrap();
            let b = run(name, &perm, pairs).unwrap();
            if name == "della:paper" {
                assert_close(b.data(), a.data(), 1e-14);
            } else {
                prop_assert_eq!(bits(a.data()), bits(b.data()), "{}", name);
            }
        }
        for name in ["model_stock:paper", "karcher:paper"] {
            match (run(name, &[0, 1, 2, 3], &[]), run(name, &perm, &[])) {
                (Ok(a), Ok(b)) => assert_close(b.data(), a.data(), 1e-12),
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                (a, b) => prop_assert!(false, "{}: {:?} vs {:?}", name, a, b),
            }
        }
    }
}

// ---------------------------------------------------------------- Breadcrumbs

#[test]
fn breadcrumbs_with_both_tails_zero_is_task_arithmetic() {
    let (b, [x1, x2, x3]) = three_models();
    let ws = [0.3, 1.0, -2.0];
    let out = Call::new("breadcrumbs:paper", &IDS[..3], &[&x1, &x2, &x3], Some(&b))
        .weights(&ws)
        .with(&[
            ("small_fraction", 0.0),
            ("outlier_fraction", 0.0),
            ("lambda", 0.4),
        ])
        .ok();
    assert_eq!(
        bits(&out),
        bits(&task_arithmetic(&b, &[&x1, &x2, &x3], &ws, 0.4))
    );
}

/// d = 10, small 0.5 → the 5 smallest |τ| masked, outlier 0.1 → the single
/// largest masked; ranks by |τ|: 0.1 (j3) < 0.2 (j7) < 0.3 (j0) < 0.4 (j9)
/// < 0.5 (j5) | 0.6 (j1) < 0.7 (j8) < 0.8 (j2) < 0.9 (j6) | 5.0 (j4).
/// Kept: j1, j8, j2, j6. With weights 2 and 1 on τ and −τ: sum = τ̃.
#[test]
fn breadcrumbs_masks_both_tails_by_hand() {
    let tau = [0.3, -0.6, 0.8, 0.1, -5.0, 0.5, -0.9, 0.2, 0.7, -0.4];
    let mut masked = tau;
    lab_core::strategy::literature::breadcrumbs::breadcrumb_mask(&mut masked, 0.5, 0.1);
    assert_eq!(masked, [0.0, -0.6, 0.8, 0.0, 0.0, 0.0, -0.9, 0.0, 0.7, 0.0]);
    let b = vec1(&[0.0; 10]);
    let x = vec1(&tau);
    let neg = vec1(&tau.map(|t| -t));
    let out = Call::new("breadcrumbs:paper", &IDS[..2], &[&x, &neg], Some(&b))
        .weights(&[2.0, 1.0])
        .with(&[("small_fraction", 0.5), ("outlier_fraction", 0.1)])
        .ok();
    assert_eq!(out, masked);
}

#[test]
fn breadcrumbs_rejects_tails_covering_more_than_everything() {
    let (b, [x1, ..]) = three_models();
    let r = Call::new("breadcrumbs:paper", &["m"], &[&x1], Some(&b))
        .with(&[("small_fraction", 0.8), ("outlier_fraction", 0.3)])
        .run();
    assert!(matches!(r, Err(MergeError::BadParameter { .. })), "{r:?}");
}

// ---------------------------------------------------------------- Model Stock

#[test]
fn model_stock_returns_identical_fine_tunes() {
    let b = vec1(&[0.5, -1.0, 2.0, 3.0]);
    let x = vec1(&[1.25, -0.75, 1.0, 3.5]);
    for n in [2, 3, 5] {
        let xs = vec![&x; n];
        let out = Call::new("model_stock:paper", &IDS[..n], &xs, Some(&b)).ok();
        assert_close(&out, x.data(), 1e-15);
    }
}

#[test]
fn model_stock_interpolation_ratio_by_hand() {
    // Deltas at 60°: cos = ½, t = 2·½ / (1 + ½) = ⅔; mean delta (¾, √3/4)
    // → result b + ⅔·(¾, √3/4) = b + (½, √3/6).
    let s3 = 3f64.sqrt();
    let b = vec1(&[1.0, 2.0]);
    let x1 = vec1(&[2.0, 2.0]);
    let x2 = vec1(&[1.5, 2.0 + s3 / 2.0]);
    let out = Call::new("model_stock:paper", &IDS[..2], &[&x1, &x2], Some(&b)).ok();
    assert_close(&out, &[1.5, 2.0 + s3 / 6.0], 1e-14);
    // Deltas e1, e2, e1: pairwise cosines 0, 1, 0 → mean ⅓ → t = 1/(5/3) = 0.6.
    let z = vec1(&[0.0, 0.0]);
    let (e1, e2) = (vec1(&[1.0, 0.0]), vec1(&[0.0, 1.0]));
    let out = Call::new("model_stock:paper", &IDS[..3], &[&e1, &e2, &e1], Some(&z)).ok();
    assert_close(&out, &[0.6 * 2.0 / 3.0, 0.6 / 3.0], 1e-15);
    assert_close(
        &[model_stock::interpolation_ratio(3, 1.0 / 3.0)],
        &[0.6],
        1e-15,
    );
}

#[test]
fn model_stock_orthogonal_or_opposed_deltas_give_the_base() {
    let b = vec1(&[1.0, 1.0]);
    let (x1, x2, x3) = (vec1(&[2.0, 1.0]), vec1(&[1.0, 2.0]), vec1(&[0.0, 1.0]));
    let out = Call::new("model_stock:paper", &IDS[..2], &[&x1, &x2], Some(&b)).ok();
    assert_eq!(out, b.data());
    let out = Call::new("model_stock:paper", &IDS[..2], &[&x1, &x3], Some(&b)).ok();
    assert_eq!(out, b.data());
    // A fine-tune equal to the base has no angle: its pairs count as cos 0.
    assert_close(
        &[model_stock::mean_pairwise_cosine(&[
            vec![1.0, 0.0],
            vec![0.0, 0.0],
        ])],
        &[0.0],
        0.0,
    );
}

#[test]
fn mean_pairwise_cosine_matches_the_pair_by_pair_mean() {
    let deltas = vec![
        vec![0.3, -1.2, 0.5, 2.0],
        vec![0.0, 0.0, 0.0, 0.0],
        vec![1.1, -0.4, -0.9, 0.7],
        vec![-0.2, 0.8, 0.6, 1.5],
        vec![2.0, -3.0, 0.1, 0.2],
    ];
    let mut sum = 0.0;
    let mut pairs = 0.0;
    for i in 0..deltas.len() {
        for j in i + 1..deltas.len() {
            let (a, b) = (&deltas[i], &deltas[j]);
            let d: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            let n = norm(a) * norm(b);
            sum += if n == 0.0 { 0.0 } else { d / n };
            pairs += 1.0;
        }
    }
    let got = model_stock::mean_pairwise_cosine(&deltas);
    assert_close(&[got], &[sum / pairs], 1e-15);
    assert_eq!(model_stock::mean_pairwise_cosine(&deltas[..1]), 0.0);
}

#[test]
fn model_stock_needs_two_fine_tunes_and_a_base() {
    let (b, [x1, ..]) = three_models();
    let r = Call::new("model_stock:paper", &["m"], &[&x1], Some(&b)).run();
    assert!(matches!(r, Err(MergeError::Invalid(_))), "{r:?}");
    let r = Call::new("model_stock:paper", &IDS[..2], &[&x1, &x1], None).run();
    assert!(matches!(r, Err(MergeError::MissingBase(_))), "{r:?}");
}

// ---------------------------------------------------------------- Median

#[test]
fn median_by_hand() {
    let xs = [
        vec1(&[1.0, 4.0, -0.0]),
        vec1(&[5.0, 1.0, 0.0]),
        vec1(&[3.0, 3.0, 0.0]),
        vec1(&[2.0, 2.0, -0.0]),
    ];
    let r = |n: usize| {
        Call::new(
            "median:paper",
            &IDS[..n],
            &xs.iter().collect::<Vec<_>>()[..n],
            None,
        )
        .ok()
    };
    // n = 3: [1,5,3] → 3, [4,1,3] → 3, [−0, 0, 0] → 0.
    assert_eq!(bits(&r(3)), bits(&[3.0, 3.0, 0.0]));
    // n = 4: [1,5,3,2] → (2+3)/2, [4,1,3,2] → (2+3)/2; [−0,0,0,−0] → (−0 + 0)/2 = 0.
    assert_eq!(bits(&r(4)), bits(&[2.5, 2.5, 0.0]));
    // The middle pair's sum overflows; the mean is still finite.
    let mut big = [1.5e308, 1e308];
    assert_close(&[median::median_of(&mut big)], &[1.25e308], 1e-15);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn median_of_identical_inputs_is_the_input(
        data in prop::collection::vec(-1e300f64..1e300, 1..20),
        n in 1usize..6,
    ) {
        let x = vec1(&data);
        let out = Call::new("median:paper", &IDS[..n], &vec![&x; n], None).ok();
        prop_assert_eq!(bits(&out), bits(&data));
    }

    #[test]
    fn median_is_permutation_invariant_for_any_floats(
        cols in prop::collection::vec(prop::collection::vec(-1e6f64..1e6, 5), 1..6),
        seed in any::<u64>(),
    ) {
        let xs: Vec<Tensor> = cols.iter().map(|c| vec1(c)).collect();
        let refs: Vec<&Tensor> = xs.iter().collect();
        let mut rev = refs.clone();
        rev.rotate_left((seed % refs.len() as u64) as usize);
        rev.reverse();
        let n = refs.len();
        let a = Call::new("median:paper", &IDS[..n], &refs, None).ok();
        let b = Call::new("median:paper", &IDS[..n], &rev, None).ok();
        prop_assert_eq!(bits(&a), bits(&b));
    }

    #[test]
    fn slerp_endpoints_are_exact(
        v0 in prop::collection::vec(-10f64..10.0, 1..12),
        shift in prop::collection::vec(-10f64..10.0, 12),
    ) {
        let v1: Vec<f64> = v0.iter().zip(&shift).map(|(a, s)| a * 0.3 + s).collect();
        let (a, c) = (vec1(&v0), vec1(&v1));
        let run = |t| Call::new("slerp:mergekit", &IDS[..2], &[&a, &c], None).with(&[("t", t)]).ok();
        prop_assert_eq!(bits(&run(0.0)), bits(&v0));
        prop_assert_eq!(bits(&run(1.0)), bits(&v1));
    }
}

// ---------------------------------------------------------------- SLERP

#[test]
fn slerp_interpolates_raw_vectors_by_hand() {
    // Orthogonal: θ0 = π/2, t = ½ → s0 = s1 = sin(π/4) = √2/2 on the raw
    // vectors (2, 0) and (0, 3): (√2, 1.5·√2).
    let r2 = 2f64.sqrt();
    let out = slerp::slerp_pair(0.5, &[2.0, 0.0], &[0.0, 3.0]);
    assert_close(&out, &[r2, 1.5 * r2], 1e-15);
    // 60° apart, t = ½: s0 = s1 = sin(30°)/sin(60°) = 1/√3.
    let out = slerp::slerp_pair(0.5, &[1.0, 0.0], &[0.5, 0.75f64.sqrt()]);
    let s = 1.0 / 3f64.sqrt();
    assert_close(&out, &[s * 1.5, s * 0.75f64.sqrt()], 1e-15);
}

#[test]
fn slerp_falls_back_to_lerp_when_parallel_or_antiparallel() {
    let lerp = |t: f64, a: &[f64], c: &[f64]| -> Vec<f64> {
        a.iter()
            .zip(c)
            .map(|(x, y)| (1.0 - t) * x + t * y)
            .collect()
    };
    let a = [1.0, 2.0];
    for c in [[-1.0, -2.0], [3.0, 6.0], [-2.0, -4.0002], [1.0, 2.0001]] {
        for t in [0.25, 0.5, 0.9] {
            assert_eq!(
                bits(&slerp::slerp_pair(t, &a, &c)),
                bits(&lerp(t, &a, &c)),
                "{c:?} {t}"
            );
        }
    }
    // Exactly antiparallel at t = ½ is the zero vector (no 0·∞ blow-up).
    assert_eq!(slerp::slerp_pair(0.5, &a, &[-1.0, -2.0]), vec![0.0, 0.0]);
    // |cos| = 0.999 < 0.9995 is spherical, not linear.
    let c = [0.999, (1.0 - 0.999 * 0.999f64).sqrt()];
    assert_ne!(
        slerp::slerp_pair(0.5, &[1.0, 0.0], &c),
        lerp(0.5, &[1.0, 0.0], &c)
    );
}

#[test]
fn slerp_with_a_zero_endpoint_scales_the_other_as_mergekit_does() {
    let v = [3.0, -4.0];
    for t in [0.25, 0.5, 0.75] {
        let f = ((1.0 - t) * std::f64::consts::FRAC_PI_2).sin();
        assert_close(
            &slerp::slerp_pair(t, &v, &[0.0, 0.0]),
            &[3.0 * f, -4.0 * f],
            1e-15,
        );
    }
    assert_eq!(slerp::slerp_pair(0.5, &[0.0; 3], &[0.0; 3]), vec![0.0; 3]);
}

#[test]
fn slerp_takes_exactly_two_models() {
    let (_, [x1, x2, x3]) = three_models();
    let one = Call::new("slerp:mergekit", &["m"], &[&x1], None).ok();
    assert_eq!(bits(&one), bits(x1.data()));
    let r = Call::new("slerp:mergekit", &IDS[..3], &[&x1, &x2, &x3], None).run();
    assert!(matches!(r, Err(MergeError::Invalid(_))), "{r:?}");
    // v0 is the first contribution in the order given (canonical order).
    let ab = Call::new("slerp:mergekit", &IDS[..2], &[&x1, &x2], None)
        .with(&[("t", 0.2)])
        .ok();
    let ba = Call::new("slerp:mergekit", &IDS[..2], &[&x2, &x1], None)
        .with(&[("t", 0.8)])
        .ok();
    assert_close(&ab, &ba, 1e-14);
}

// ---------------------------------------------------------------- Karcher

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn unit_of(v: &[f64]) -> Vec<f64> {
    let n = norm(v);
    v.iter().map(|x| x / n).collect()
}

/// Riemannian gradient of the weighted Fréchet function at `u`:
/// `Σ a_i θ_i/sin θ_i (v_i − cos θ_i u)`; zero at the Karcher mean.
fn frechet_gradient(u: &[f64], vs: &[Vec<f64>], a: &[f64]) -> f64 {
    let mut g = vec![0.0; u.len()];
    for (v, w) in vs.iter().zip(a) {
        let c: f64 = u
            .iter()
            .zip(v)
            .map(|(x, y)| x * y)
            .sum::<f64>()
            .clamp(-1.0, 1.0);
        let th = c.acos();
        let f = if th.sin() > 1e-12 { th / th.sin() } else { 1.0 };
        for ((gj, vj), uj) in g.iter_mut().zip(v).zip(u) {
            *gj += w * f * (vj - c * uj);
        }
    }
    norm(&g)
}

#[test]
fn karcher_of_two_is_the_slerp_midpoint_times_the_mean_norm() {
    let a = [2.0, 0.5, -1.0];
    let c = [-0.5, 3.0, 1.0];
    let out = Call::new("karcher:paper", &IDS[..2], &[&vec1(&a), &vec1(&c)], None).ok();
    let mid = slerp::slerp_pair(0.5, &unit_of(&a), &unit_of(&c));
    let m = (norm(&a) + norm(&c)) / 2.0;
    let want: Vec<f64> = unit_of(&mid).iter().map(|x| x * m).collect();
    assert_close(&out, &want, 1e-14);
}

#[test]
fn karcher_weights_move_along_the_geodesic() {
    // Orthogonal directions with weights 1 : 3 → the mean sits ¾ of the way,
    // at 67.5°; magnitude ¼·2 + ¾·4 = 3.5.
    let out = Call::new(
        "karcher:paper",
        &IDS[..2],
        &[&vec1(&[2.0, 0.0]), &vec1(&[0.0, 4.0])],
        None,
    )
    .weights(&[1.0, 3.0])
    .ok();
    let ang = 67.5f64.to_radians();
    assert_close(&out, &[3.5 * ang.cos(), 3.5 * ang.sin()], 1e-13);
    // Orthonormal basis, equal weights → (1, 1, 1)/√3.
    let e = [
        vec1(&[1.0, 0.0, 0.0]),
        vec1(&[0.0, 1.0, 0.0]),
        vec1(&[0.0, 0.0, 1.0]),
    ];
    let out = Call::new("karcher:paper", &IDS[..3], &[&e[0], &e[1], &e[2]], None).ok();
    assert_close(&out, &[1.0 / 3f64.sqrt(); 3], 1e-15);
}

#[test]
fn karcher_result_is_a_stationary_point_of_the_frechet_function() {
    let vs = [
        vec![1.0, 0.2, -0.3, 0.5],
        vec![0.1, 1.5, 0.4, -0.2],
        vec![0.6, -0.4, 2.0, 0.3],
        vec![0.9, 0.8, 0.1, 1.2],
    ];
    let ws = [1.0, 2.0, 0.5, 3.0];
    let xs: Vec<Tensor> = vs.iter().map(|v| vec1(v)).collect();
    let out = Call::new(
        "karcher:paper",
        &IDS[..4],
        &xs.iter().collect::<Vec<_>>(),
        None,
    )
    .weights(&ws)
    .ok();
    let units: Vec<Vec<f64>> = vs.iter().map(|v| unit_of(v)).collect();
    let a: Vec<f64> = ws.iter().map(|w| w / 6.5).collect();
    let u = unit_of(&out);
    assert!(frechet_gradient(&u, &units, &a) < 1e-10);
    // The normalised Euclidean mean (the starting point) is not stationary,
    // so the iteration did real work.
    let mut m = vec![0.0; 4];
    for (v, w) in units.iter().zip(&a) {
        m.iter_mut().zip(v).for_each(|(x, y)| *x += w * y);
    }
    assert!(frechet_gradient(&unit_of(&m), &units, &a) > 1e-4);
    let mag: f64 = vs.iter().zip(&a).map(|(v, w)| w * norm(v)).sum();
    assert_close(&[norm(&out)], &[mag], 1e-14);
}

#[test]
fn karcher_identical_inputs_and_single_input() {
    let x = vec1(&[0.3, -1.7, 2.2, 0.0]);
    let out = Call::new("karcher:paper", &IDS[..3], &[&x, &x, &x], None).ok();
    assert_close(&out, x.data(), 1e-15);
    let one = Call::new("karcher:paper", &["m"], &[&x], None).ok();
    assert_eq!(bits(&one), bits(x.data()));
}

#[test]
fn karcher_zero_vectors_and_degenerate_directions() {
    let v = vec1(&[3.0, -4.0]);
    let z = vec1(&[0.0, 0.0]);
    // A zero input has no direction but counts with norm 0 in the magnitude.
    let out = Call::new("karcher:paper", &IDS[..2], &[&v, &z], None).ok();
    assert_close(&out, &[1.5, -2.0], 1e-15);
    let out = Call::new("karcher:paper", &IDS[..2], &[&z, &z], None).ok();
    assert_eq!(out, vec![0.0, 0.0]);
    // All weight on the zero input: magnitude 0.
    let out = Call::new("karcher:paper", &IDS[..2], &[&v, &z], None)
        .weights(&[0.0, 1.0])
        .ok();
    assert_eq!(out, vec![0.0, 0.0]);
    // Antipodal directions with equal weights: no unique mean.
    let neg = vec1(&[-6.0, 8.0]);
    let r = Call::new("karcher:paper", &IDS[..2], &[&v, &neg], None).run();
    assert!(matches!(r, Err(MergeError::Invalid(_))), "{r:?}");
    // Antipodal with unequal weights: every great circle through the pair
    // holds a minimiser, so there is no unique mean either.
    let r = Call::new("karcher:paper", &IDS[..2], &[&v, &neg], None)
        .weights(&[1.0, 3.0])
        .run();
    assert!(matches!(r, Err(MergeError::Invalid(_))), "{r:?}");
}

#[test]
fn karcher_weight_errors() {
    let (_, [x1, x2, _]) = three_models();
    let r = Call::new("karcher:paper", &IDS[..2], &[&x1, &x2], None)
        .weights(&[1.0, -1.0])
        .run();
    assert_eq!(r, Err(MergeError::ZeroWeightSum));
    let r = Call::new("karcher:paper", &IDS[..2], &[&x1, &x2], None)
        .weights(&[2.0, -1.0])
        .run();
    assert!(matches!(r, Err(MergeError::Invalid(_))), "{r:?}");
}

// ---------------------------------------------------------------- errors and edge shapes

fn needs_base(name: &str) -> bool {
    find(name).unwrap().info().needs_base
}

#[test]
fn bad_inputs_are_typed_errors_for_every_strategy() {
    let b = vec1(&[0.0, 1.0, 2.0]);
    let x = vec1(&[1.0, 2.0, 4.0]);
    let y = vec1(&[-1.0, 0.5, 3.0]);
    let short = vec1(&[1.0, 2.0]);
    let nan = vec1(&[1.0, f64::NAN, 2.0]);
    let huge = vec1(&[f64::MAX, 0.0, 0.0]);
    let neg_huge = vec1(&[-f64::MAX, 0.0, 0.0]);
    for name in NAMES {
        let base = Some(&b);
        let r = Call::new(name, &[], &[], base).run();
        assert_eq!(r, Err(MergeError::Empty), "{name}");
        let r = Call::new(name, &IDS[..2], &[&x, &short], base).run();
        assert!(
            matches!(r, Err(MergeError::ShapeMismatch { .. })),
            "{name}: {r:?}"
        );
        let r = Call::new(name, &IDS[..2], &[&x, &nan], base).run();
        assert!(
            matches!(r, Err(MergeError::NonFinite { .. })),
            "{name}: {r:?}"
        );
        let r = Call::new(name, &IDS[..2], &[&x, &y], base)
            .weights(&[1.0])
            .run();
        assert!(
            matches!(r, Err(MergeError::WeightCount { .. })),
            "{name}: {r:?}"
        );
        if needs_base(name) {
            let r = Call::new(name, &IDS[..2], &[&x, &y], None).run();
            assert!(
                matches!(r, Err(MergeError::MissingBase(_))),
                "{name}: {r:?}"
            );
            let r = Call::new(name, &IDS[..2], &[&x, &y], Some(&short)).run();
            assert!(
                matches!(r, Err(MergeError::ShapeMismatch { .. })),
                "{name}: {r:?}"
            );
            // Finite inputs whose task vector overflows: x − b = +∞.
            let r = Call::new(name, &IDS[..2], &[&huge, &huge], Some(&neg_huge)).run();
            assert!(
                matches!(r, Err(MergeError::NonFinite { .. })),
                "{name}: {r:?}"
            );
        }
    }
}

#[test]
fn direct_calls_without_resolved_params_do_not_panic() {
    let x = vec1(&[1.0, 2.0, 3.0]);
    let short = vec1(&[1.0]);
    for s in ALL {
        let inputs = MergeInputs {
            ids: &["a", "b"],
            tensors: &[&x, &short],
            weights: &[1.0, 1.0],
            base: Some(&x),
            seed: 1,
            tensor_key: "",
        };
        let r = s.merge(&inputs, &Params::new());
        assert!(
            matches!(r, Err(MergeError::ShapeMismatch { .. })),
            "{}: {r:?}",
            s.info().name
        );
        let inputs = MergeInputs {
            tensors: &[&x, &x],
            ..inputs
        };
        assert!(
            s.merge(&inputs, &Params::new()).is_ok(),
            "{}",
            s.info().name
        );
    }
}

/// `(strategy, parameters, expected value)`.
type Expect = (&'static str, &'static [(&'static str, f64)], f64);

#[test]
fn zero_dimensional_tensors_are_single_elements() {
    let s = |v: f64| Tensor::new(vec![], vec![v]).unwrap();
    let (b, x, y) = (s(1.0), s(2.0), s(3.0));
    // (name, params, expected) for x = 2, y = 3, base 1.
    let cases: [Expect; 8] = [
        ("ties:paper", &[], 2.5),
        ("dare:paper", &[("drop_rate", 0.0)], 4.0),
        ("dare_ties:paper", &[("drop_rate", 0.0)], 2.5),
        ("breadcrumbs:paper", &[("small_fraction", 0.0)], 4.0),
        ("model_stock:paper", &[], 2.5),
        ("median:paper", &[], 2.5),
        ("slerp:mergekit", &[], 2.5),
        ("karcher:paper", &[], 2.5),
    ];
    for (name, pairs, want) in cases {
        let out = Call::new(name, &IDS[..2], &[&x, &y], Some(&b))
            .with(pairs)
            .run()
            .unwrap();
        assert_eq!(out.shape(), &[] as &[usize], "{name}");
        assert_eq!(out.data(), &[want], "{name}");
    }
    let out = Call::new("della:paper", &IDS[..2], &[&x, &y], Some(&b))
        .run()
        .unwrap();
    assert_eq!(out.shape(), &[] as &[usize]);
    assert!(out.data()[0].is_finite());
}

#[test]
fn empty_tensors_give_empty_results() {
    for shape in [vec![0], vec![3, 0], vec![0, 4]] {
        let e = Tensor::new(shape.clone(), vec![]).unwrap();
        for name in NAMES {
            let out = Call::new(name, &IDS[..2], &[&e, &e], Some(&e))
                .run()
                .unwrap();
            assert_eq!(out.shape(), &shape[..], "{name}");
            assert!(out.is_empty(), "{name}");
        }
    }
}

#[test]
fn stochastic_strategies_are_deterministic_per_seed() {
    let (b, [x1, x2, x3]) = three_models();
    let xs = [&x1, &x2, &x3];
    for name in ["dare:paper", "dare_ties:paper", "della:paper"] {
        let run = |seed| {
            Call::new(name, &IDS[..3], &xs, Some(&b))
                .seed(seed)
                .with(&[])
                .ok()
        };
        assert_eq!(bits(&run(5)), bits(&run(5)), "{name}");
        let differs = (0..10).any(|s| run(s) != run(s + 100));
        assert!(differs, "{name}: the seed has no effect");
    }
}
