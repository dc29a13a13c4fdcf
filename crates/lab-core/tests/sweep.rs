//! Experiment 3 through the public API (small sizes; the CLI runs the seed's).

use lab_core::experiment::sweep::{run, SweepConfig};
use lab_core::sim::Protocol;

#[test]
fn every_strategy_converges_and_pairwise_averaging_drifts() {
    let c = SweepConfig {
        nodes: 4,
        dim: 3,
        orderings: 2,
        ..SweepConfig::default()
    };
    let r = run(&c).unwrap();
    assert!(r.verdict.passed, "{:#?}", r.verdict);
    let names: Vec<&str> = r.results.rows.iter().map(|x| x.strategy.as_str()).collect();
    assert!(names.contains(&"weight_average") && names.contains(&"ties:paper"));
    let wa = r
        .results
        .rows
        .iter()
        .find(|x| x.strategy == "weight_average")
        .unwrap();
    let nc = wa.negative_control.as_ref().unwrap();
    assert!(nc.distinct_models > 1 && nc.max_deviation_from_layer2 > 0.0);
    for row in &r.results.rows {
        if row.problem.is_none() {
            assert!(row.layer1_converged, "{}", row.strategy);
            assert_eq!(row.resolved_digest.len(), 64);
        }
    }
}

#[test]
fn gossip_sweeps_match_across_protocols_and_reject_unknown_names() {
    let c = SweepConfig {
        nodes: 6,
        dim: 2,
        orderings: 1,
        protocol: Protocol::PushPull,
        strategies: vec!["weight_average".into(), "median:paper".into()],
        ..SweepConfig::default()
    };
    let r = run(&c).unwrap();
    assert_eq!(r.results.rows.len(), 2);
    let all_pairs = run(&SweepConfig {
        protocol: Protocol::AllPairs,
        ..c.clone()
    })
    .unwrap();
    // Layer 2 sees the same set either way: same merged models.
    for (a, b) in r.results.rows.iter().zip(&all_pairs.results.rows) {
        assert_eq!(a.resolved_digest, b.resolved_digest);
    }
    let bad = SweepConfig {
        strategies: vec!["nope".into()],
        ..c
    };
    assert!(run(&bad).is_err());
}
