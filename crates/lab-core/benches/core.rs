//! Layer-1 and simulator speed (criterion). The reference library
//! (crdt-merge 0.9.5, Python) needs 25–32 µs per merge of two states of 100
//! contributions and 245–321 ms for all-pairs gossip of 100 nodes; see
//! BENCHMARKS.md for the numbers measured here and how.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use lab_core::crdt::{ConflictPolicy, Contribution, ContributionSet, Hlc};
use lab_core::experiment::convergence::{schedule, ConvergenceConfig, Source, Workload};
use lab_core::hash::{digest, Domain};
use lab_core::sim::{Executor, Protocol};
use std::sync::Arc;

const POLICY: ConflictPolicy = ConflictPolicy::LastWriterWins;

/// A state holding contributions `ids`, each added by its own replica.
fn state(ids: std::ops::Range<u32>) -> ContributionSet {
    let mut s = ContributionSet::new();
    for i in ids {
        let mut one = ContributionSet::new();
        let stamp = Hlc {
            time: 0,
            logical: 0,
            node: i,
        };
        let c = Contribution::new(
            &format!("m{i:05}"),
            1,
            1.0,
            digest(Domain::Tensor, &i.to_le_bytes()),
            stamp,
        )
        .unwrap();
        one.add(i, c, POLICY).unwrap();
        s.join(&one);
    }
    s
}

fn join_benches(c: &mut Criterion) {
    let a = state(0..100);
    let b_same = a.clone();
    let b_decoded: ContributionSet =
        postcard::from_bytes(&postcard::to_allocvec(&a).unwrap()).unwrap();
    let b_half = state(50..150);
    let b_disjoint = state(100..200);
    let mut g = c.benchmark_group("join_100");
    for (name, other) in [
        ("identical_shared", &b_same),
        ("identical_decoded", &b_decoded),
        ("half_overlap", &b_half),
        ("disjoint", &b_disjoint),
    ] {
        g.bench_function(name, |bench| {
            bench.iter_batched_ref(
                || a.clone(),
                |x| black_box(x.join(black_box(other))),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn all_pairs_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("all_pairs");
    g.sample_size(20);
    for nodes in [30u32, 100] {
        let config = ConvergenceConfig {
            nodes,
            dim: 1,
            orderings: 1,
            ..ConvergenceConfig::default()
        };
        let workload = Arc::new(Workload::synthetic(&config));
        let sch = schedule(&config, 0);
        assert_eq!(sch.protocol, Protocol::AllPairs);
        g.bench_function(format!("gossip_{nodes}_nodes"), |bench| {
            bench.iter_batched_ref(
                || {
                    let source = Arc::new(Source {
                        workload: Arc::clone(&workload),
                        policy: POLICY,
                    });
                    Executor::new(sch, 0..nodes, source)
                },
                |ex| black_box(ex.run_all_pairs()),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, join_benches, all_pairs_benches);
criterion_main!(benches);
