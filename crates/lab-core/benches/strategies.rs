//! Time of one resolve (`merge_by_name` with default parameters, as the
//! CRDT layer calls it) for each of the 26 reference strategies, at
//! 10 × 128² and 100 × 128² contributions.
//!
//! The inputs are drawn from CPython's `random.Random(2024)` (through
//! `PyRandom`), so `bench/reference_strategies.py` can build the same
//! tensors for crdt-merge 0.9.5 and print the time ratios:
//!
//! ```text
//! CARGO_TARGET_DIR=target cargo bench -p lab-core --bench strategies
//! python3 bench/reference_strategies.py --criterion-dir target/criterion
//! ```
//!
//! Criterion groups are `resolve_<n>x128x128`, one function per strategy,
//! and `literature_<n>x128x128` for the literature family (`ties:paper`, …,
//! named with `_` for `:`), which has no Python counterpart.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lab_core::pyrandom::PyRandom;
use lab_core::strategy::{literature, merge_by_name, reference, MergeInputs, Params};
use lab_core::Tensor;
use std::time::Duration;

/// Side of the square tensors.
const SIDE: usize = 128;
/// Seed of the input generator (shared with the Python script).
const INPUT_SEED: i128 = 2024;

/// The bench inputs: base ~ U(−1, 1), `x_i = base + 0.5·U(−1, 1)`, weights
/// `1 + i/100`, ids `m000…`.
struct Inputs {
    ids: Vec<String>,
    tensors: Vec<Tensor>,
    weights: Vec<f64>,
    base: Tensor,
}

fn make_inputs(n: usize) -> Inputs {
    let mut rng = PyRandom::new(INPUT_SEED);
    let d = SIDE * SIDE;
    let mut uniform =
        |count: usize| -> Vec<f64> { (0..count).map(|_| 2.0 * rng.random() - 1.0).collect() };
    let base_data = uniform(d);
    let tensors = (0..n)
        .map(|_| {
            let noise = uniform(d);
            let data = base_data
                .iter()
                .zip(noise)
                .map(|(b, e)| b + 0.5 * e)
                .collect();
            Tensor::new(vec![SIDE, SIDE], data).expect("valid shape")
        })
        .collect();
    Inputs {
        ids: (0..n).map(|i| format!("m{i:03}")).collect(),
        tensors,
        weights: (0..n).map(|i| 1.0 + i as f64 / 100.0).collect(),
        base: Tensor::new(vec![SIDE, SIDE], base_data).expect("valid shape"),
    }
}

fn bench_size(c: &mut Criterion, n: usize) {
    let inputs = make_inputs(n);
    let ids: Vec<&str> = inputs.ids.iter().map(String::as_str).collect();
    let tensors: Vec<&Tensor> = inputs.tensors.iter().collect();
    let merge_inputs = MergeInputs {
        ids: &ids,
        tensors: &tensors,
        weights: &inputs.weights,
        base: Some(&inputs.base),
        seed: 42,
        tensor_key: "",
    };
    let params = Params::new();
    let mut group = c.benchmark_group(format!("resolve_{n}x{SIDE}x{SIDE}"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for strategy in reference::ALL {
        let name = strategy.info().name;
        group.bench_with_input(BenchmarkId::from_parameter(name), &name, |b, name| {
            b.iter(|| merge_by_name(name, &merge_inputs, &params).expect("resolve succeeds"))
        });
    }
    group.finish();
    let mut group = c.benchmark_group(format!("literature_{n}x{SIDE}x{SIDE}"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for strategy in literature::ALL {
        let name = strategy.info().name;
        if let Err(e) = merge_by_name(name, &merge_inputs, &params) {
            // slerp:mergekit takes exactly two models.
            eprintln!("skipping {name}: {e}");
            continue;
        }
        let label = name.replace(':', "_");
        group.bench_with_input(BenchmarkId::from_parameter(label), &name, |b, name| {
            b.iter(|| merge_by_name(name, &merge_inputs, &params).expect("resolve succeeds"))
        });
    }
    group.finish();
}

fn strategies(c: &mut Criterion) {
    bench_size(c, 10);
    bench_size(c, 100);
}

criterion_group!(benches, strategies);
criterion_main!(benches);
