//! Experiment 2 through the public API.

use lab_core::experiment::partition::{
    format_phases, parse_phases, run, run_observed, run_with, PartitionConfig,
};
use lab_core::LabError;

fn config(phases: &str) -> PartitionConfig {
    PartitionConfig {
        nodes: 18,
        dim: 3,
        phases: parse_phases(phases).unwrap(),
        ..PartitionConfig::default()
    }
}

#[test]
fn the_seed_partition_heals_and_partitions_differ_meanwhile() {
    let r = run(&PartitionConfig {
        dim: 4,
        ..PartitionConfig::default()
    })
    .unwrap();
    assert!(r.verdict.passed, "{:#?}", r.verdict);
    let p = &r.results.phases[0];
    assert_eq!(p.groups.len(), 3);
    assert!(p.groups.iter().all(|g| g.converged && g.members == 10));
    assert!(p.groups_distinct);
    assert_ne!(p.groups[0].state_digest, r.results.run.state_digest);
}

#[test]
fn every_shape_heals_with_any_executor_count() {
    for phases in [
        "halves@1-12",
        "groups:4@1-15",
        "mod:2@1-12",
        "isolated:5@1-8",
        "minority:4@1-12",
        "bridge@1-12",
        "asymmetric@1-12",
        "halves@1-10,mod:3@14-25,isolated:0@30-34",
    ] {
        let c = config(phases);
        let one = run(&c).unwrap();
        assert!(one.verdict.passed, "{phases}: {:#?}", one.verdict);
        let three = run_with(&c, 3).unwrap();
        assert_eq!(one.fingerprint, three.fingerprint, "{phases}");
    }
}

#[test]
fn lossy_delaying_links_still_heal() {
    let c = PartitionConfig {
        loss: 0.3,
        duplicate: 0.2,
        delay_max: 3,
        ..config("groups:3@1-30")
    };
    let r = run(&c).unwrap();
    assert!(r.verdict.passed, "{:#?}", r.verdict);
    assert!(r.results.phases[0].dropped > 0);
    assert!(r
        .results
        .fault_intervals
        .iter()
        .any(|f| f.kind == "messages"));
}

#[test]
fn a_phase_too_short_to_converge_fails_loudly() {
    let r = run(&config("halves@1-2")).unwrap();
    assert!(!r.verdict.passed);
    let failed: Vec<&str> = r
        .verdict
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed, ["each partition converged internally"]);
}

#[test]
fn phases_round_trip_and_bad_input_is_rejected() {
    let text = "halves@1-10,groups:4@12-20,mod:3@21-30,isolated:2@31-33,minority:3@40-50,bridge@51-60,asymmetric@61-70";
    assert_eq!(format_phases(&parse_phases(text).unwrap()), text);
    for bad in [
        "",
        "halves",
        "halves@1",
        "halves@a-b",
        "groups@1-4",
        "nope@1-3",
        "mod:x@1-3",
    ] {
        assert!(parse_phases(bad).is_err(), "{bad}");
    }
    let invalid = [
        PartitionConfig {
            loss: 1.5,
            ..config("halves@1-5")
        },
        PartitionConfig {
            duplicate: -0.1,
            ..config("halves@1-5")
        },
        PartitionConfig {
            delay_max: 1000,
            ..config("halves@1-5")
        },
        PartitionConfig {
            rounds_max: 5,
            ..config("halves@1-10")
        },
        config("groups:40@1-5"),
        config("isolated:99@1-5"),
        config("minority:9@1-5"),
        config("halves@5-5"),
        PartitionConfig {
            protocol: lab_core::sim::Protocol::AllPairs,
            ..config("halves@1-5,mod:3@6-9")
        },
        PartitionConfig {
            protocol: lab_core::sim::Protocol::AllPairs,
            ..config("bridge@1-5")
        },
        PartitionConfig {
            protocol: lab_core::sim::Protocol::AllPairs,
            loss: 0.1,
            ..config("mod:3@1-5")
        },
    ];
    for c in invalid {
        assert!(
            matches!(run(&c), Err(LabError::Config(_))),
            "{:?}",
            c.phases
        );
    }
}

#[test]
fn the_seed_labs_all_pairs_partition_mode_heals() {
    let c = PartitionConfig {
        protocol: lab_core::sim::Protocol::AllPairs,
        ..config("mod:3@1-2")
    };
    let r = run(&c).unwrap();
    assert!(r.verdict.passed, "{:#?}", r.verdict);
    let p = &r.results.phases[0];
    assert!(p.groups.iter().all(|g| g.converged && g.members == 6));
    // Inside: 3 groups × 6·5 merges; healing: 18·17 merges.
    assert_eq!(p.messages, 3 * 30);
    assert_eq!(r.results.messages_after_heal, 18 * 17);
}

#[test]
fn an_observed_run_shows_every_round_with_sides_while_partitioned() {
    let c = config("mod:3@2-9");
    let mut seen = Vec::new();
    let observed = run_observed(&c, 2, None, &mut |v| {
        assert_eq!(v.digests.len(), 18);
        assert_eq!(v.live.len(), 18);
        let distinct = v
            .digests
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        assert_eq!(distinct as u32, v.stats.distinct_states);
        seen.push((v.round, v.sides.map(<[u32]>::to_vec), distinct));
    })
    .unwrap();
    // The view changes nothing: same report as an unobserved run.
    assert_eq!(observed.fingerprint, run_with(&c, 1).unwrap().fingerprint);
    let rounds: Vec<u32> = seen.iter().map(|s| s.0).collect();
    assert_eq!(rounds, (1..=rounds.len() as u32).collect::<Vec<_>>());
    for (round, sides, _) in &seen {
        match sides {
            Some(s) => {
                assert!((2..9).contains(round), "sides outside the phase: {round}");
                assert_eq!(s, &(0..18).map(|i| i % 3).collect::<Vec<u32>>());
            }
            None => assert!(!(2..9).contains(round), "no sides in round {round}"),
        }
    }
    assert_eq!(seen.last().unwrap().2, 1, "one state at the end");
}
