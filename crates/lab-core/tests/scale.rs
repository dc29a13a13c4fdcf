//! Experiment 4 through the public API.

use lab_core::experiment::scale::{loglog_slope, run, ScaleConfig};
use lab_core::sim::Protocol;

#[test]
fn rounds_grow_logarithmically_and_match_theory() {
    let c = ScaleConfig {
        sizes: vec![4, 8, 16, 32, 64],
        dim: 2,
        orderings: 4,
        ..ScaleConfig::default()
    };
    let r = run(&c).unwrap();
    assert!(r.verdict.passed, "{:#?}", r.verdict);
    let rounds = r
        .results
        .slopes
        .iter()
        .find(|s| s.quantity == "rounds")
        .unwrap();
    assert!(
        rounds.slope > 0.1 && rounds.slope < 0.6,
        "rounds slope {}",
        rounds.slope
    );
    let msgs = r
        .results
        .slopes
        .iter()
        .find(|s| s.quantity == "messages")
        .unwrap();
    assert!(
        msgs.slope > 1.0 && msgs.slope < 1.6,
        "messages slope {}",
        msgs.slope
    );
    assert!(r.results.points.iter().all(|p| p.theory.is_some()));
}

#[test]
fn all_pairs_has_no_theory_and_one_pass() {
    let c = ScaleConfig {
        sizes: vec![2, 5, 10],
        dim: 2,
        orderings: 2,
        protocol: Protocol::AllPairs,
        ..ScaleConfig::default()
    };
    let r = run(&c).unwrap();
    assert!(r.verdict.passed);
    assert!(r
        .results
        .points
        .iter()
        .all(|p| p.rounds_mean == 1.0 && p.theory.is_none()));
    assert_eq!(r.results.points[2].joins_mean, 90.0);
    assert_eq!(ScaleConfig::seed_sizes(30), vec![2, 5, 10, 20, 30]);
}

#[test]
fn slope_fit_and_validation() {
    let xy: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0]
        .iter()
        .map(|&x| (x, 3.0 * x * x))
        .collect();
    assert!((loglog_slope(&xy).unwrap() - 2.0).abs() < 1e-12);
    assert!(loglog_slope(&[(1.0, 1.0)]).is_none());
    for bad in [vec![], vec![5, 3], vec![1, 4], vec![2, 2], vec![2, 20_000]] {
        assert!(
            run(&ScaleConfig {
                sizes: bad.clone(),
                ..ScaleConfig::default()
            })
            .is_err(),
            "{bad:?}"
        );
    }
}
