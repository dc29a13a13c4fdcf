//! Experiment E4 (trust): verdict, determinism, no false accusations,
//! byte-identical honest trust roots, typed config errors.

use lab_core::error::ConfigError;
use lab_core::experiment::trust::{parse_protocol, run, Behaviour, TrustConfig, TrustReport};
use lab_core::sim::Protocol;

fn run_ok(c: &TrustConfig) -> TrustReport {
    run(c).unwrap_or_else(|e| panic!("{c:?}: {e}"))
}

fn assert_invariants(r: &TrustReport) {
    let res = &r.results;
    assert_eq!(res.false_accusations, 0, "{:?}", r.config);
    assert_eq!(res.trust_roots.len(), 1, "{:?}", r.config);
    assert_eq!(res.max_trust_divergence, 0.0, "{:?}", r.config);
    assert_eq!(res.resolved_digests.len(), 1, "{:?}", r.config);
    assert!(
        res.deviation_weighted <= res.deviation_unweighted,
        "{:?}: {} > {}",
        r.config,
        res.deviation_weighted,
        res.deviation_unweighted
    );
}

#[test]
fn default_config_passes_with_every_behaviour_present() {
    let c = TrustConfig::default();
    for b in Behaviour::BYZANTINE {
        assert!(c.count(b) > 0, "{b:?} present in the default mix");
    }
    let r = run_ok(&c);
    for ch in &r.verdict.checks {
        println!(
            "[{}] {}: {}",
            if ch.passed { "ok" } else { "FAIL" },
            ch.name,
            ch.detail
        );
    }
    assert!(r.verdict.passed);
    assert_invariants(&r);
    let res = &r.results;
    // Every evidence-producing member was detected by every honest node.
    for d in res.detection.iter().filter(|d| d.produces_evidence) {
        assert!(d.manifested, "{d:?}");
        assert_eq!(d.detected_by, res.honest_nodes, "{d:?}");
        assert!(d.latency_rounds.is_some(), "{d:?}");
    }
    // Everything else: never accused.
    for d in res.detection.iter().filter(|d| !d.produces_evidence) {
        assert_eq!(d.detected_by, 0, "{d:?}");
    }
    assert!(res.drops.bad_signature > 0, "the forger's operations");
    assert!(
        res.drops.bad_evidence > 0,
        "the forger's fabricated evidence"
    );
    assert!(res.drops.unknown_identity > 0, "the outsider's Sybils");
    assert!(res.drops.replayed > 0, "the replayer");
    assert_eq!(
        res.deviation_weighted, 0.0,
        "trust weighting recovers honest-only exactly"
    );
    assert!(
        res.deviation_unweighted > 0.0,
        "Byzantine content entered the plain merge"
    );
    assert!(!res.per_round.is_empty());
    assert_eq!(res.per_round[0].mean_trust.len(), c.nodes as usize);
    let last = res.per_round.last().unwrap();
    assert!(last.evidence_held.iter().all(|&f| f == 1.0));
}

#[test]
fn fingerprint_is_stable_across_runs() {
    let c = TrustConfig::default();
    let a = run_ok(&c);
    let b = run_ok(&c);
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.fingerprint, a.recompute_fingerprint());
    assert_eq!(a, b);
    let other = run_ok(&TrustConfig { seed: 43, ..c });
    assert_ne!(a.fingerprint, other.fingerprint);
}

#[test]
fn no_false_accusations_over_seeds_and_mixes() {
    let mixes: [(u32, [u32; 6], Protocol, u32); 5] = [
        (6, [1, 1, 1, 1, 1, 0], Protocol::Push, 1),
        (7, [2, 0, 1, 0, 0, 1], Protocol::Pull, 2),
        (8, [0, 2, 0, 2, 1, 1], Protocol::PushPull, 1),
        (12, [2, 2, 2, 1, 1, 1], Protocol::PushPull, 3),
        (5, [0, 0, 2, 1, 1, 0], Protocol::Push, 2),
    ];
    for seed in [1u64, 7, 2026] {
        for (nodes, m, protocol, fanout) in mixes {
            let c = TrustConfig {
                nodes,
                dim: 3,
                equivocators: m[0],
                corrupters: m[1],
                forgers: m[2],
                replayers: m[3],
                outsiders: m[4],
                silent: m[5],
                protocol,
                fanout,
                seed,
                rounds_max: 200,
                ..TrustConfig::default()
            };
            let r = run_ok(&c);
            assert_invariants(&r);
            assert!(r.results.converged, "{c:?}");
            assert!(r.verdict.passed, "{c:?}: {:?}", r.verdict.checks);
        }
    }
}

#[test]
fn all_honest_run_has_no_evidence_and_zero_deviation() {
    let c = TrustConfig {
        nodes: 6,
        equivocators: 0,
        corrupters: 0,
        forgers: 0,
        replayers: 0,
        outsiders: 0,
        silent: 0,
        ..TrustConfig::default()
    };
    let r = run_ok(&c);
    assert!(r.verdict.passed, "{:?}", r.verdict.checks);
    let res = &r.results;
    assert!(res.evidence.is_empty());
    assert!(res.detection.is_empty());
    assert_eq!(res.deviation_weighted, 0.0);
    assert_eq!(res.deviation_unweighted, 0.0);
    assert_eq!(res.max_trust_divergence, 0.0);
    assert_eq!(res.drops.bad_signature, 0);
    assert_eq!(res.drops.unknown_identity, 0);
    assert!(res.excluded.is_empty());
    assert_eq!(res.resolved_digests, res.unweighted_digests);
}

#[test]
fn reference_contrast_is_labelled_and_diverges() {
    let c = TrustConfig {
        reference_contrast: true,
        ..TrustConfig::default()
    };
    let r = run_ok(&c);
    let rc = r.results.reference_contrast.as_ref().expect("requested");
    assert!(rc.label.contains("REFERENCE SEMANTICS"));
    assert!(rc.distinct_roots_homeostasis > 1);
    assert!(rc.max_divergence_homeostasis > 0.0);
    assert_eq!(rc.distinct_roots_plain, 1);
    // The lab's own layer next to it: exactly zero.
    assert_eq!(r.results.max_trust_divergence, 0.0);
}

#[test]
fn invalid_configs_are_typed_errors() {
    let d = TrustConfig::default();
    // Byzantine count ≥ nodes.
    let too_many = TrustConfig {
        nodes: 6,
        ..d.clone()
    };
    assert!(matches!(
        too_many.validate(),
        Err(ConfigError::OutOfRange {
            name: "byzantine members",
            got: 6,
            max: 5,
            ..
        })
    ));
    assert!(run(&too_many).is_err());
    // 0 nodes.
    assert!(matches!(
        TrustConfig {
            nodes: 0,
            ..d.clone()
        }
        .validate(),
        Err(ConfigError::OutOfRange { name: "nodes", .. })
    ));
    // Fan-out ≥ nodes.
    assert!(matches!(
        TrustConfig {
            fanout: 10,
            ..d.clone()
        }
        .validate(),
        Err(ConfigError::FanoutTooLarge {
            fanout: 10,
            nodes: 10
        })
    ));
    assert!(matches!(
        TrustConfig {
            fanout: 0,
            ..d.clone()
        }
        .validate(),
        Err(ConfigError::OutOfRange { name: "fanout", .. })
    ));
    // Unknown protocol, and all-pairs (not a gossip protocol).
    assert!(matches!(
        parse_protocol("flood"),
        Err(ConfigError::UnknownProtocol(_))
    ));
    assert!(matches!(
        parse_protocol("all-pairs"),
        Err(ConfigError::Invalid(_))
    ));
    assert_eq!(parse_protocol("push-pull"), Ok(Protocol::PushPull));
    assert!(matches!(
        TrustConfig {
            protocol: Protocol::AllPairs,
            ..d.clone()
        }
        .validate(),
        Err(ConfigError::Invalid(_))
    ));
    assert!(matches!(
        TrustConfig {
            strategy: "nope".into(),
            ..d.clone()
        }
        .validate(),
        Err(ConfigError::UnknownStrategy(_))
    ));
    assert!(d.validate().is_ok());
    assert!(d.cli_command().starts_with("lab-cli trust --nodes 10"));
}

#[test]
fn members_contribute_fine_tunes_by_default_or_gaussian_tensors() {
    use lab_core::experiment::convergence::{FineTuneParams, WorkloadKind};
    let ft = TrustConfig {
        nodes: 6,
        dim: 4,
        forgers: 0,
        replayers: 0,
        silent: 0,
        rounds_max: 40,
        ..TrustConfig::default()
    };
    assert_eq!(ft.workload, WorkloadKind::FineTune);
    assert!(ft
        .cli_command()
        .contains(" --workload finetune --ft-rank 4"));
    let g = TrustConfig {
        workload: WorkloadKind::Gaussian,
        ..ft.clone()
    };
    assert!(g.cli_command().ends_with(" --workload gaussian"));
    let (rf, rg) = (run_ok(&ft), run_ok(&g));
    assert!(rf.verdict.passed && rg.verdict.passed);
    assert_invariants(&rf);
    assert_invariants(&rg);
    assert_ne!(rf.results.resolved_digests, rg.results.resolved_digests);
    // Model files cannot be used here; bad fine-tune parameters are typed errors.
    assert!(matches!(
        TrustConfig {
            finetune: FineTuneParams {
                rank: 0,
                ..FineTuneParams::default()
            },
            ..ft.clone()
        }
        .validate(),
        Err(ConfigError::OutOfRange {
            name: "ft_rank",
            ..
        })
    ));
    let (back, issues) = TrustConfig::from_query(&g.to_query());
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(back, g);
}
