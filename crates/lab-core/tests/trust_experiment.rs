//! Experiment E4 (trust): verdict, determinism, no false accusations,
//! byte-identical honest trust roots, typed config errors.

mod common;

use common::safetensors;
use lab_core::error::ConfigError;
use lab_core::experiment::trust::{
    parse_protocol, parse_trust_phases, run, Behaviour, TrustConfig, TrustFaults, TrustReport,
};
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
    // Bad fine-tune parameters are typed errors.
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

#[test]
fn run_observed_ticks_every_round_and_gives_the_same_report() {
    use lab_core::experiment::trust::{run_observed, TrustTick};
    use std::ops::ControlFlow;
    let c = TrustConfig::default();
    let mut ticks: Vec<TrustTick> = Vec::new();
    let observed = run_observed(&c, &mut |t| {
        ticks.push(t);
        ControlFlow::Continue(())
    })
    .unwrap();
    let plain = run_ok(&c);
    assert_eq!(observed, plain);
    assert_eq!(observed.fingerprint, plain.fingerprint);
    assert_eq!(ticks.len() as u32, plain.results.rounds_run);
    for (i, t) in ticks.iter().enumerate() {
        assert_eq!(t.round, i as u32 + 1);
        assert_eq!(t.rounds_max, c.rounds_max);
        assert_eq!(t.honest, plain.results.honest_nodes);
        assert!(t.evidence_everywhere <= t.evidence_known);
    }
    let last = ticks.last().unwrap();
    assert_eq!(last.evidence_known as usize, plain.results.evidence.len());
    assert_eq!(last.evidence_everywhere, last.evidence_known);
    // Evidence held everywhere never shrinks.
    assert!(ticks
        .windows(2)
        .all(|w| w[0].evidence_everywhere <= w[1].evidence_everywhere));
    // Breaking stops the run at once, as a cancellation.
    let mut seen = 0;
    let err = run_observed(&c, &mut |_| {
        seen += 1;
        if seen == 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap_err();
    assert!(matches!(err, lab_core::error::LabError::Cancelled), "{err}");
    assert_eq!(seen, 2);
}

fn faults(phases: &str, loss: f64, duplicate: f64, delay_max: u32) -> TrustFaults {
    TrustFaults {
        phases: parse_trust_phases(phases).unwrap(),
        loss,
        duplicate,
        delay_max,
        link_until: 0,
    }
}

fn latency(r: &TrustReport) -> Vec<Option<u32>> {
    r.results
        .detection
        .iter()
        .filter(|d| d.produces_evidence)
        .map(|d| d.latency_rounds)
        .collect()
}

fn assert_detected(r: &TrustReport) {
    for d in r.results.detection.iter().filter(|d| d.produces_evidence) {
        assert!(d.manifested, "{d:?}");
        assert_eq!(d.detected_by, r.results.honest_nodes, "{d:?}");
    }
}

#[test]
fn honest_trust_roots_converge_byte_for_byte_under_loss_duplication_and_delay() {
    let clean = run_ok(&TrustConfig::default());
    for seed in [42u64, 7] {
        let c = TrustConfig {
            seed,
            faults: faults("none", 0.3, 0.2, 2),
            ..TrustConfig::default()
        };
        let r = run_ok(&c);
        assert!(r.verdict.passed, "{:?}", r.verdict.checks);
        assert_invariants(&r);
        assert_detected(&r);
        assert!(r.results.converged);
        let fault_check = r.verdict.checks.last().unwrap();
        assert_eq!(fault_check.name, "faults healed, then honest nodes agreed");
        assert!(
            fault_check.detail.contains(" lost, "),
            "{}",
            fault_check.detail
        );
        assert_eq!(
            c.fault_intervals()[0].kind,
            "messages",
            "the report's config records the interval"
        );
        if seed == 42 {
            // The same evidence, so the same trust root, as without faults.
            assert_eq!(r.results.trust_roots, clean.results.trust_roots);
            println!(
                "detection latency (rounds): no faults {:?} in {} rounds; 30 % loss, 20 % duplication, delay ≤ 2: {:?} in {} rounds",
                latency(&clean),
                clean.results.rounds_run,
                latency(&r),
                r.results.rounds_run
            );
        }
        // Deterministic.
        assert_eq!(run_ok(&c).fingerprint, r.fingerprint);
    }
}

#[test]
fn a_partition_that_heals_ends_with_identical_honest_roots() {
    let clean = run_ok(&TrustConfig::default());
    for phases in ["mod:2@1-12", "halves@2-10", "bridge@1-8,isolated:0@9-14"] {
        let c = TrustConfig {
            faults: faults(phases, 0.1, 0.1, 1),
            ..TrustConfig::default()
        };
        let r = run_ok(&c);
        assert!(r.verdict.passed, "{phases}: {:?}", r.verdict.checks);
        assert_invariants(&r);
        assert_detected(&r);
        assert_eq!(r.results.trust_roots, clean.results.trust_roots, "{phases}");
        let heal = c.faults.healed_from();
        assert!(
            r.results.rounds >= heal,
            "{phases}: agreed at {}",
            r.results.rounds
        );
        println!(
            "{phases} (+10 % loss/dup, delay ≤ 1): detection latency {:?}, agreed after round {} ({} run)",
            latency(&r),
            r.results.rounds,
            r.results.rounds_run
        );
    }
}

#[test]
fn a_partition_that_never_heals_fails_in_words() {
    let c = TrustConfig {
        rounds_max: 30,
        faults: faults("halves@1-500", 0.0, 0.0, 0),
        ..TrustConfig::default()
    };
    c.validate().unwrap();
    let r = run_ok(&c);
    assert!(!r.verdict.passed);
    assert!(!r.results.converged);
    assert_eq!(r.results.rounds_run, 30);
    let check = r
        .verdict
        .checks
        .iter()
        .find(|ch| ch.name == "faults healed, then honest nodes agreed")
        .unwrap();
    assert!(!check.passed);
    assert!(
        check.detail.contains("never reconnected"),
        "{}",
        check.detail
    );
    assert!(check.detail.contains("round 500"), "{}", check.detail);
}

#[test]
fn fault_parameters_round_trip_through_the_permalink_and_the_cli_command() {
    let c = TrustConfig {
        faults: TrustFaults {
            link_until: 20,
            ..faults("minority:2@3-9", 0.25, 0.5, 3)
        },
        ..TrustConfig::default()
    };
    c.validate().unwrap();
    let (back, issues) = TrustConfig::from_query(&c.to_query());
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(back, c);
    assert!(c.cli_command().contains(
        "--phases minority:2@3-9 --loss 0.25 --duplicate 0.5 --delay-max 3 --link-until 20"
    ));
    // A bad value is named, and its default used.
    let mut q = c.to_query();
    q.push(("phases".into(), "isolated:99@1-3".into()));
    q.push(("loss".into(), "1.5".into()));
    let (back, issues) = TrustConfig::from_query(&q);
    let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["loss", "phases"], "{issues:?}");
    assert!(back.faults.phases.is_empty());
    assert_eq!(back.faults.loss, 0.25, "the link's earlier valid loss");
    assert_eq!(back.faults.delay_max, 3);
    // Typed errors name the field.
    let err = TrustConfig {
        faults: faults("none", 0.0, 1.5, 0),
        ..TrustConfig::default()
    }
    .validate()
    .unwrap_err();
    assert!(err.to_string().starts_with("duplicate"), "{err}");
    assert!(matches!(
        TrustConfig {
            faults: faults("none", 0.0, 0.0, 99),
            ..TrustConfig::default()
        }
        .validate(),
        Err(ConfigError::OutOfRange {
            name: "delay_max",
            ..
        })
    ));
}

fn model_file(k: f32) -> Vec<u8> {
    let w: Vec<f32> = (0..12).map(|i| i as f32 * 0.25 + k).collect();
    safetensors(&[("layer.weight", &[4, 3], &w)])
}

#[test]
fn members_contribute_model_files_and_honest_nodes_resolve_the_honest_only_merge() {
    use lab_core::experiment::convergence::{load_files, WorkloadKind};
    use lab_core::experiment::trust::run_with_tensors;
    use lab_core::loader::Limits;
    use lab_core::strategy::{merge_by_name, MergeInputs, Params};
    let bytes = [model_file(0.0), model_file(1.0), model_file(-0.5)];
    let names = ["ft-a.safetensors", "ft-b.safetensors", "ft-c.safetensors"];
    let files: Vec<(&str, &[u8])> = names
        .iter()
        .zip(&bytes)
        .map(|(n, b)| (*n, b.as_slice()))
        .collect();
    let (workload, tensors) = load_files(&files, None, "layer.weight", None, &Limits::CLI).unwrap();
    let c = TrustConfig {
        workload: WorkloadKind::Files(workload.clone()),
        ..TrustConfig::default()
    };
    c.validate().unwrap();
    assert!(c.cli_command().contains(
        " --weights ft-a.safetensors ft-b.safetensors ft-c.safetensors --tensor layer.weight"
    ));
    let r = run_with_tensors(&c, Some(&tensors)).unwrap();
    assert!(r.verdict.passed, "{:?}", r.verdict.checks);
    assert_invariants(&r);
    assert_detected(&r);
    assert_eq!(r.config.workload, WorkloadKind::Files(workload));
    assert_eq!(r.results.deviation_weighted, 0.0);
    assert!(
        r.results.deviation_unweighted > 0.0,
        "poison entered the plain merge"
    );
    // The honest-only merge of the file tensors, computed here: every
    // member with legitimate content (node i contributes file i mod 3).
    let legit: Vec<u32> = r
        .results
        .members
        .iter()
        .filter(|m| {
            matches!(
                m.behaviour,
                Behaviour::Honest | Behaviour::Replayer | Behaviour::Silent
            )
        })
        .map(|m| m.node)
        .collect();
    assert_eq!(legit.len() as u32, r.results.reference_members);
    let ids: Vec<String> = legit.iter().map(|i| format!("m{i:05}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let ts: Vec<&lab_core::Tensor> = legit
        .iter()
        .map(|&i| &tensors.contributions[i as usize % 3])
        .collect();
    let base = lab_core::Tensor::zeros(&[4, 3]).unwrap();
    let expected = merge_by_name(
        "weight_average",
        &MergeInputs {
            ids: &ids,
            tensors: &ts,
            weights: &vec![1.0; ids.len()],
            base: Some(&base),
            seed: c.seed,
            tensor_key: "",
        },
        &Params::new(),
    )
    .unwrap();
    assert_eq!(r.results.resolved_digests, vec![expected.digest().to_hex()]);
    // Deterministic, and with faults too.
    assert_eq!(
        run_with_tensors(&c, Some(&tensors)).unwrap().fingerprint,
        r.fingerprint
    );
    let faulty = TrustConfig {
        faults: faults("mod:2@1-6", 0.2, 0.1, 1),
        ..c.clone()
    };
    let rf = run_with_tensors(&faulty, Some(&tensors)).unwrap();
    assert!(rf.verdict.passed, "{:?}", rf.verdict.checks);
    assert_eq!(rf.results.resolved_digests, r.results.resolved_digests);
    // Without the tensors, or with other ones: an error in words.
    let err = run(&c).unwrap_err().to_string();
    assert!(err.contains("load the files first"), "{err}");
    let mut other = tensors.clone();
    other.contributions.swap(0, 1);
    let err = run_with_tensors(&c, Some(&other)).unwrap_err().to_string();
    assert!(err.contains("ft-a.safetensors"), "{err}");
    // Fewer members than files: named.
    let few = TrustConfig {
        nodes: 3,
        equivocators: 0,
        corrupters: 0,
        forgers: 0,
        replayers: 0,
        outsiders: 0,
        silent: 1,
        fanout: 1,
        ..c.clone()
    };
    assert!(few.validate().is_ok());
    let two = TrustConfig { nodes: 2, ..few };
    assert!(two.validate().is_err());
}
