//! Bit-exactness guard for the strategies: one digest line per (strategy,
//! parameter set, input set), covering every registered strategy of both
//! families with default parameters plus non-default ones for the
//! sparsification strategies, checked against
//! `tests/data/strategy_digests.txt`. Any optimisation must leave every line
//! unchanged; a deliberate change of outputs rewrites the file with
//!
//! ```text
//! cargo test -p lab-core --release --test strategy_digests -- --ignored --nocapture print_strategy_digests > crates/lab-core/tests/data/strategy_digests.txt
//! ```

use lab_core::pyrandom::PyRandom;
use lab_core::strategy::{merge_by_name, registry, MergeInputs, ParamValue, Params};
use lab_core::Tensor;

/// One seeded input set.
struct Case {
    label: String,
    ids: Vec<String>,
    tensors: Vec<Tensor>,
    weights: Vec<f64>,
    base: Tensor,
    seed: u64,
}

impl Case {
    /// Calls `f` with the case as merge inputs under `tensor_key`.
    fn with_inputs<R>(&self, tensor_key: &str, f: impl FnOnce(&MergeInputs<'_>) -> R) -> R {
        let ids: Vec<&str> = self.ids.iter().map(String::as_str).collect();
        let tensors: Vec<&Tensor> = self.tensors.iter().collect();
        f(&MergeInputs {
            ids: &ids,
            tensors: &tensors,
            weights: &self.weights,
            base: Some(&self.base),
            seed: self.seed,
            tensor_key,
        })
    }
}

/// Values drawn so that the sets contain exact zeros of the task vector
/// (x = b), tied magnitudes of both signs (quantised values) and plain
/// continuous values, depending on `style`.
fn make_case(n: usize, shape: &[usize], style: u8, seed: i128) -> Case {
    let mut rng = PyRandom::new(seed);
    let d: usize = shape.iter().product();
    let base: Vec<f64> = (0..d).map(|_| 2.0 * rng.random() - 1.0).collect();
    let tensors = (0..n)
        .map(|_| {
            let data = base
                .iter()
                .map(|&b| match style {
                    // Continuous.
                    0 => b + 0.5 * (2.0 * rng.random() - 1.0),
                    // Quantised offsets: many ties of equal magnitude, zeros.
                    1 => b + 0.25 * (rng.randint(-3, 3) as f64),
                    // Mostly unchanged entries, some continuous offsets.
                    _ => {
                        if rng.random() < 0.7 {
                            b
                        } else {
                            b + rng.random() - 0.5
                        }
                    }
                })
                .collect();
            Tensor::new(shape.to_vec(), data).expect("valid shape")
        })
        .collect();
    Case {
        label: format!("n{n}_{shape:?}_s{style}"),
        ids: (0..n).map(|i| format!("m{i:03}")).collect(),
        tensors,
        weights: (0..n).map(|i| 1.0 + (i % 7) as f64 / 3.0).collect(),
        base: Tensor::new(shape.to_vec(), base).expect("valid shape"),
        seed: 42 + seed as u64,
    }
}

/// FNV-1a over the shape and the bits of every value.
fn digest(t: &Tensor) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for &s in t.shape() {
        eat(&(s as u64).to_le_bytes());
    }
    for &v in t.data() {
        eat(&v.to_bits().to_le_bytes());
    }
    h
}

fn f(pairs: &[(&str, f64)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), ParamValue::F64(*v)))
        .collect()
}

fn with_str(mut p: Params, k: &str, v: &str) -> Params {
    p.insert(k.to_string(), ParamValue::Str(v.to_string()));
    p
}

/// Non-default parameter sets for the strategies whose hot paths are tuned.
fn extra_params(name: &str) -> Vec<Params> {
    match name {
        "ties" => vec![
            f(&[("density", 0.5)]),
            with_str(f(&[("density", 0.05)]), "majority_sign_method", "magnitude"),
            f(&[("density", 1.0)]),
            f(&[("density", 0.0)]),
        ],
        "dare" => vec![
            f(&[("drop_rate", 0.5)]),
            f(&[("drop_rate", 0.0)]),
            f(&[("drop_rate", 1.0)]),
            f(&[("drop_rate", 0.123456789)]),
            f(&[("drop_rate", 0.3)]),
        ],
        "della" => vec![
            f(&[("drop_rate", 0.5), ("epsilon", 0.05)]),
            f(&[("drop_rate", 0.0), ("epsilon", 0.0)]),
        ],
        "dare_ties" => vec![
            f(&[("drop_rate", 0.5), ("density", 0.5)]),
            f(&[("drop_rate", 0.3), ("density", 1.0)]),
        ],
        "model_breadcrumbs" => vec![
            f(&[("sparsity", 0.7)]),
            f(&[("sparsity", 0.0)]),
            with_str(f(&[("sparsity", 0.6)]), "mask_method", "random"),
            with_str(f(&[("sparsity", 0.9)]), "mask_method", "random"),
        ],
        "emr" => vec![f(&[("elect_ratio", 0.1)]), f(&[("elect_ratio", 1.0)])],
        _ => Vec::new(),
    }
}

#[test]
fn every_strategy_output_matches_its_recorded_digest() {
    let expected: Vec<&str> = include_str!("data/strategy_digests.txt").lines().collect();
    let now = strategy_digests();
    let changed: Vec<String> = now
        .iter()
        .zip(&expected)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("now {a}\n was {b}"))
        .collect();
    assert!(
        changed.is_empty(),
        "{} output(s) changed:\n{}",
        changed.len(),
        changed.join("\n")
    );
    assert_eq!(
        now.len(),
        expected.len(),
        "number of (strategy, parameters, input) lines"
    );
}

#[test]
#[ignore = "prints the digest lines (to rewrite the recorded file)"]
fn print_strategy_digests() {
    for line in strategy_digests() {
        println!("{line}");
    }
}

/// The digest lines, in registry order.
fn strategy_digests() -> Vec<String> {
    let mut lines = Vec::new();
    let cases = [
        make_case(1, &[33], 0, 1),
        make_case(2, &[17, 9], 1, 2),
        make_case(3, &[1001], 2, 3),
        make_case(5, &[64, 32], 0, 4),
        make_case(4, &[1], 1, 5),
        make_case(10, &[128, 128], 0, 6),
        make_case(7, &[129, 7], 1, 7),
        make_case(6, &[300], 2, 8),
    ];
    for strategy in registry() {
        let name = strategy.info().name;
        let mut sets = vec![Params::new()];
        sets.extend(extra_params(name));
        for (p_idx, params) in sets.iter().enumerate() {
            for case in &cases {
                let line = match case.with_inputs("w", |inputs| merge_by_name(name, inputs, params))
                {
                    Ok(t) => format!("{:016x}", digest(&t)),
                    Err(e) => format!("error: {e}"),
                };
                lines.push(format!("{name} p{p_idx} {} {line}", case.label));
            }
        }
    }
    lines
}

/// The bench's inputs (`benches/strategies.rs`): base ~ U(−1, 1),
/// `x_i = base + 0.5·U(−1, 1)` from `random.Random(2024)`.
fn bench_case(n: usize) -> Case {
    let mut rng = PyRandom::new(2024);
    let d = 128 * 128;
    let mut uniform =
        |count: usize| -> Vec<f64> { (0..count).map(|_| 2.0 * rng.random() - 1.0).collect() };
    let base = uniform(d);
    let tensors = (0..n)
        .map(|_| {
            let data = base
                .iter()
                .zip(uniform(d))
                .map(|(b, e)| b + 0.5 * e)
                .collect();
            Tensor::new(vec![128, 128], data).expect("valid shape")
        })
        .collect();
    Case {
        label: format!("bench{n}"),
        ids: (0..n).map(|i| format!("m{i:03}")).collect(),
        tensors,
        weights: (0..n).map(|i| 1.0 + i as f64 / 100.0).collect(),
        base: Tensor::new(vec![128, 128], base).expect("valid shape"),
        seed: 42,
    }
}

/// Minimum and median wall time of `merge_by_name` at the bench sizes for
/// the strategies named in `STRATS` (comma-separated; default: the
/// sparsification family), `REPS` repetitions each.
#[test]
#[ignore = "timing helper"]
fn time_strategies() {
    let names = std::env::var("STRATS")
        .unwrap_or_else(|_| "ties,dare,della,dare_ties,model_breadcrumbs,emr".into());
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(30);
    let sizes: Vec<usize> = std::env::var("SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 100]);
    for n in sizes {
        let case = bench_case(n);
        for name in names.split(',') {
            let mut times: Vec<f64> = case.with_inputs("", |inputs| {
                (0..reps)
                    .map(|_| {
                        let t = std::time::Instant::now();
                        let out = merge_by_name(name, inputs, &Params::new()).expect("merge");
                        std::hint::black_box(out);
                        t.elapsed().as_secs_f64() * 1e3
                    })
                    .collect()
            });
            times.sort_by(f64::total_cmp);
            println!(
                "{n}x128² {name:20} min {:8.3} ms  median {:8.3} ms",
                times[0],
                times[reps / 2]
            );
        }
    }
}
