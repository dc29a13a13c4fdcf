//! The full suite and its seed preset.

use lab_core::experiment::convergence::WorkloadKind;
use lab_core::experiment::suite::{run, SuiteConfig};
use lab_core::sim::faults::PartitionShape;
use lab_core::sim::Protocol;

#[test]
fn the_seed_preset_is_the_seed_labs_default_suite() {
    let s = SuiteConfig::seed_preset();
    assert_eq!(
        (
            s.convergence.nodes,
            s.convergence.dim,
            s.convergence.orderings
        ),
        (30, 128, 5)
    );
    assert_eq!(s.convergence.protocol, Protocol::AllPairs);
    assert_eq!(
        s.partition.phases[0].shape,
        PartitionShape::ModGroups { k: 3 }
    );
    assert_eq!((s.sweep.nodes, s.sweep.dim), (10, 64));
    assert_eq!(s.scale.sizes, vec![2, 5, 10, 20, 30]);
    assert!(s.validate().is_ok());
}

#[test]
fn the_seed_preset_keeps_the_seed_labs_gaussian_workload() {
    let s = SuiteConfig::seed_preset();
    for (name, w) in [
        ("convergence", &s.convergence.workload),
        ("partition", &s.partition.workload),
        ("sweep", &s.sweep.workload),
        ("scale", &s.scale.workload),
    ] {
        assert_eq!(*w, WorkloadKind::Gaussian, "{name}");
    }
    // Every other suite (and every experiment by default) runs fine-tunes.
    let d = SuiteConfig::derived(30, 128, 5, 3, Protocol::AllPairs, 42);
    assert_eq!(d.convergence.workload, WorkloadKind::FineTune);
    assert_eq!(d.partition.workload, WorkloadKind::FineTune);
    assert_eq!(d.sweep.workload, WorkloadKind::FineTune);
    assert_eq!(d.scale.workload, WorkloadKind::FineTune);
    assert_ne!(d, s);
    assert_eq!(
        d.with_workload(WorkloadKind::Gaussian, s.convergence.finetune),
        s
    );
}

#[test]
fn a_small_derived_suite_passes_every_part() {
    for protocol in [Protocol::AllPairs, Protocol::PushPull] {
        let c = SuiteConfig::derived(6, 3, 2, 2, protocol, 7);
        let r = run(&c).unwrap();
        assert!(r.verdict.passed, "{protocol:?}: {:#?}", r.verdict);
        assert_eq!(r.verdict.checks.len(), 4);
    }
}

#[test]
fn a_suite_spec_round_trips_through_its_link_and_names_bad_values() {
    use lab_core::experiment::suite::SuiteSpec;
    let spec = SuiteSpec {
        preset: "custom".into(),
        nodes: 6,
        dim: 2,
        orderings: 1,
        partitions: 2,
        protocol: Protocol::PushPull,
        seed: 3,
        workload: WorkloadKind::Gaussian,
        ..SuiteSpec::default()
    };
    let (back, issues) = SuiteSpec::from_query(&spec.to_query());
    assert_eq!(back, spec);
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(
        spec.config(),
        SuiteConfig::derived(6, 2, 1, 2, Protocol::PushPull, 3)
            .with_workload(WorkloadKind::Gaussian, spec.finetune)
    );
    assert!(spec.cli_command().ends_with("--seed 3 --workload gaussian"));
    let pairs: Vec<(String, String)> = [
        ("preset", "custom"),
        ("partitions", "1"),
        ("workload", "files"),
        ("ft_rank", "0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let (p, issues) = SuiteSpec::from_query(&pairs);
    let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
    for key in ["partitions", "workload", "ft_rank"] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    assert_eq!(p.partitions, 3);
    assert_eq!(
        SuiteSpec::default().config(),
        SuiteConfig::seed_preset(),
        "the default spec is the seed preset"
    );
    assert_eq!(
        SuiteSpec::default().cli_command(),
        "lab-cli suite --preset seed"
    );
}
