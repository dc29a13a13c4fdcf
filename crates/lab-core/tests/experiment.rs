//! Experiment 1 end to end through the public API: verdicts, independence of
//! the executor count, sensitivity of the fingerprint, config validation and
//! the permalink codec.

use lab_core::crdt::ConflictPolicy;
use lab_core::experiment::convergence::{
    run, run_with, ConvergenceConfig, FineTuneParams, ResolveMode, WorkloadKind,
};
use lab_core::sim::{AntiEntropy, Protocol};
use lab_core::{ConfigError, LabError};

fn config(nodes: u32, protocol: Protocol, fanout: u32) -> ConvergenceConfig {
    ConvergenceConfig {
        nodes,
        dim: 6,
        orderings: 3,
        protocol,
        fanout,
        ..ConvergenceConfig::default()
    }
}

/// Runs with several executor counts and checks every run passes with one
/// fingerprint; returns it.
fn check_experiment(c: &ConvergenceConfig) -> String {
    let one = run(c).expect("runs");
    assert!(one.verdict.passed, "{:#?}", one.verdict);
    for executors in [2, 3, 7] {
        let many = run_with(c, executors, &mut |_| true).expect("runs");
        assert_eq!(many.fingerprint, one.fingerprint, "executors = {executors}");
        assert_eq!(many.results, one.results);
    }
    one.fingerprint
}

#[test]
fn every_protocol_converges_with_any_executor_count() {
    let mut seen = std::collections::BTreeSet::new();
    for (protocol, fanout) in [
        (Protocol::AllPairs, 1),
        (Protocol::Push, 1),
        (Protocol::Pull, 1),
        (Protocol::PushPull, 1),
        (Protocol::PushPull, 3),
    ] {
        assert!(seen.insert(check_experiment(&config(17, protocol, fanout))));
    }
}

#[test]
fn all_orderings_reach_the_same_state_but_take_different_paths() {
    let r = run(&config(40, Protocol::Push, 1)).unwrap();
    let o = &r.results.orderings;
    assert!(o.iter().all(|x| x.state_digest == o[0].state_digest));
    assert_eq!(o[0].state_digest, r.results.oracle_state_digest);
    assert_eq!(o[0].resolved_digest, r.results.oracle_resolved_digest);
    let rounds: Vec<Vec<u32>> = o
        .iter()
        .map(|x| x.per_round.iter().map(|s| s.agreeing_nodes).collect())
        .collect();
    assert!(
        rounds.windows(2).any(|w| w[0] != w[1]),
        "orderings should differ in their paths"
    );
}

#[test]
fn fingerprint_depends_on_every_config_field() {
    let base = config(12, Protocol::PushPull, 1);
    let f0 = run(&base).unwrap().fingerprint;
    let variants = [
        ConvergenceConfig {
            seed: 43,
            ..base.clone()
        },
        ConvergenceConfig {
            nodes: 13,
            ..base.clone()
        },
        ConvergenceConfig {
            dim: 7,
            ..base.clone()
        },
        ConvergenceConfig {
            orderings: 2,
            ..base.clone()
        },
        ConvergenceConfig {
            fanout: 2,
            ..base.clone()
        },
        ConvergenceConfig {
            protocol: Protocol::Pull,
            ..base.clone()
        },
        ConvergenceConfig {
            rounds_max: 999,
            ..base.clone()
        },
        ConvergenceConfig {
            resolve: ResolveMode::OncePerState,
            ..base.clone()
        },
        ConvergenceConfig {
            policy: ConflictPolicy::FirstWriterWins,
            ..base.clone()
        },
    ];
    for v in variants {
        assert_ne!(run(&v).unwrap().fingerprint, f0, "{v:?}");
    }
}

#[test]
fn once_per_state_resolving_gives_the_same_results() {
    let a = config(15, Protocol::Push, 2);
    let b = ConvergenceConfig {
        resolve: ResolveMode::OncePerState,
        ..a.clone()
    };
    assert_eq!(run(&a).unwrap().results, run(&b).unwrap().results);
}

#[test]
fn running_out_of_rounds_fails_the_verdict_loudly() {
    let c = ConvergenceConfig {
        rounds_max: 2,
        ..config(64, Protocol::Push, 1)
    };
    let r = run(&c).unwrap();
    assert!(!r.verdict.passed);
    let failed: Vec<&str> = r
        .verdict
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    assert!(failed.contains(&"converged"), "{failed:?}");
}

#[test]
fn invalid_configs_are_typed_errors() {
    let bad = [
        (
            ConvergenceConfig {
                nodes: 0,
                ..Default::default()
            },
            "nodes",
        ),
        (
            ConvergenceConfig {
                nodes: 1,
                ..Default::default()
            },
            "nodes",
        ),
        (
            ConvergenceConfig {
                nodes: 10_001,
                ..Default::default()
            },
            "nodes",
        ),
        (
            ConvergenceConfig {
                dim: 0,
                ..Default::default()
            },
            "dim",
        ),
        (
            ConvergenceConfig {
                dim: 5000,
                ..Default::default()
            },
            "dim",
        ),
        (
            ConvergenceConfig {
                orderings: 0,
                ..Default::default()
            },
            "orderings",
        ),
        (
            ConvergenceConfig {
                rounds_max: 0,
                ..Default::default()
            },
            "rounds_max",
        ),
        (
            ConvergenceConfig {
                seed: 1 << 60,
                ..Default::default()
            },
            "seed",
        ),
    ];
    for (c, field) in bad {
        match run(&c) {
            Err(LabError::Config(ConfigError::OutOfRange { name, .. })) => assert_eq!(name, field),
            other => panic!("{field}: expected OutOfRange, got {other:?}"),
        }
    }
    let fan = ConvergenceConfig {
        nodes: 5,
        fanout: 5,
        ..Default::default()
    };
    assert!(matches!(
        run(&fan),
        Err(LabError::Config(ConfigError::FanoutTooLarge { .. }))
    ));
    let strat = ConvergenceConfig {
        strategy: "nope".into(),
        ..Default::default()
    };
    assert!(matches!(
        run(&strat),
        Err(LabError::Config(ConfigError::UnknownStrategy(_)))
    ));
    let big = ConvergenceConfig {
        nodes: 10_000,
        dim: 1024,
        ..Default::default()
    };
    assert!(matches!(
        run(&big),
        Err(LabError::Config(ConfigError::Invalid(_)))
    ));
}

fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
    q.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn permalink_round_trips() {
    let c = ConvergenceConfig {
        nodes: 77,
        dim: 9,
        orderings: 4,
        protocol: Protocol::Pull,
        fanout: 3,
        strategy: "weight_average".into(),
        seed: 123456789,
        rounds_max: 50,
        resolve: ResolveMode::OncePerState,
        policy: ConflictPolicy::FirstWriterWins,
        anti_entropy: AntiEntropy::Delta,
        workload: WorkloadKind::FineTune,
        finetune: FineTuneParams {
            rank: 3,
            scale: 0.25,
            sparsity: 0.5,
            overlap: 0.75,
            noise: 0.125,
        },
    };
    let (back, issues) = ConvergenceConfig::from_query(&c.to_query());
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(back, c);
}

#[test]
fn bad_query_values_fall_back_to_defaults_and_name_the_parameter() {
    let (c, issues) = ConvergenceConfig::from_query(&pairs(&[
        ("v", "1"),
        ("nodes", "abc"),
        ("dim", "64"),
        ("protocol", "smoke-signals"),
    ]));
    let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["nodes", "protocol"]);
    assert_eq!(c.nodes, 30);
    assert_eq!(c.dim, 64);
    assert_eq!(c.protocol, Protocol::AllPairs);

    // Cross-field: fan-out must stay below the node count.
    let (c, issues) = ConvergenceConfig::from_query(&pairs(&[("nodes", "5"), ("fanout", "9")]));
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].key, "fanout");
    assert_eq!((c.nodes, c.fanout), (5, 1));

    // Out of range, and a value that overflows u32.
    let (c, issues) = ConvergenceConfig::from_query(&pairs(&[("nodes", "4294967298")]));
    assert_eq!(issues[0].key, "nodes");
    assert_eq!(c.nodes, 30);
    let (_, issues) = ConvergenceConfig::from_query(&pairs(&[("dim", "100000")]));
    assert_eq!(issues[0].key, "dim");
}

#[test]
fn delta_anti_entropy_reaches_the_same_state_with_fewer_bytes() {
    for protocol in [Protocol::Pull, Protocol::PushPull] {
        let full = ConvergenceConfig {
            nodes: 60,
            orderings: 2,
            ..config(60, protocol, 1)
        };
        let delta = ConvergenceConfig {
            anti_entropy: AntiEntropy::Delta,
            ..full.clone()
        };
        let a = run(&full).unwrap();
        let fingerprint = check_experiment(&delta);
        let b = run(&delta).unwrap();
        assert_eq!(b.fingerprint, fingerprint);
        assert!(b.verdict.passed);
        assert_eq!(
            a.results.orderings[0].state_digest,
            b.results.orderings[0].state_digest
        );
        assert_eq!(
            a.results.orderings[0].resolved_digest,
            b.results.orderings[0].resolved_digest
        );
        let bytes = |r: &lab_core::experiment::convergence::ConvergenceReport| {
            r.results.orderings[0].metadata_bytes
        };
        assert!(
            bytes(&b) * 2 < bytes(&a),
            "{protocol:?}: delta {} vs full {}",
            bytes(&b),
            bytes(&a)
        );
    }
    let push = ConvergenceConfig {
        anti_entropy: AntiEntropy::Delta,
        ..config(10, Protocol::Push, 1)
    };
    assert!(matches!(
        run(&push),
        Err(LabError::Config(ConfigError::Invalid(_)))
    ));
    // Merkle anti-entropy is a gossip exchange: all-pairs is refused in words.
    let all_pairs = ConvergenceConfig {
        anti_entropy: AntiEntropy::Merkle,
        ..config(10, Protocol::AllPairs, 1)
    };
    let err = all_pairs.validate().unwrap_err();
    assert!(err.to_string().contains("Merkle"), "{err}");
}

#[test]
fn the_finetune_workload_converges_and_changes_the_models() {
    let g = ConvergenceConfig {
        dim: 8,
        workload: WorkloadKind::Gaussian,
        ..config(12, Protocol::PushPull, 1)
    };
    let f = ConvergenceConfig {
        workload: WorkloadKind::FineTune,
        ..g.clone()
    };
    let (a, b) = (run(&g).unwrap(), run(&f).unwrap());
    assert!(b.verdict.passed, "{:#?}", b.verdict);
    assert_ne!(
        a.results.oracle_resolved_digest,
        b.results.oracle_resolved_digest
    );
    assert_eq!(
        check_experiment(&ConvergenceConfig {
            strategy: "ties".into(),
            ..f.clone()
        })
        .len(),
        64
    );
    assert!(f.cli_command().contains("--workload finetune --ft-rank 4"));
    let bad = ConvergenceConfig {
        finetune: FineTuneParams {
            rank: 0,
            ..FineTuneParams::default()
        },
        ..f.clone()
    };
    assert!(matches!(run(&bad), Err(LabError::Config(_))));
    let (_, issues) =
        ConvergenceConfig::from_query(&pairs(&[("workload", "finetune"), ("ft_scale", "NaN")]));
    assert_eq!(issues[0].key, "ft_scale");
    // Fine-tunes are the default; a rank above the side is capped at it.
    assert_eq!(
        ConvergenceConfig::default().workload,
        WorkloadKind::FineTune
    );
    let capped = ConvergenceConfig {
        dim: 2,
        finetune: FineTuneParams {
            rank: 9,
            ..FineTuneParams::default()
        },
        ..f
    };
    assert!(run(&capped).unwrap().verdict.passed);
    let (_, issues) = ConvergenceConfig::from_query(&pairs(&[("ft_rank", "257")]));
    assert_eq!(issues[0].key, "ft_rank");
}
