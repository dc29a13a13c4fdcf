//! What the web app sends between workers: experiment configs and results
//! must survive a postcard round trip (postcard cannot decode fields skipped
//! when serializing, untagged or internally tagged enums, or anything that
//! needs `deserialize_any`), and re-encoding must give the same bytes (the
//! fingerprint is computed over these bytes).

use lab_core::experiment::partition::{self, parse_phases, PartitionConfig};
use lab_core::experiment::scale::{self, ScaleConfig};
use lab_core::experiment::sweep::{self, SweepConfig};
use lab_core::experiment::trust::{self, TrustConfig};
use lab_core::sim::Protocol;
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let bytes = postcard::to_allocvec(value).expect("encodes");
    let back: T = postcard::from_bytes(&bytes)
        .unwrap_or_else(|e| panic!("{} does not decode: {e}", std::any::type_name::<T>()));
    assert_eq!(&back, value);
    assert_eq!(postcard::to_allocvec(&back).unwrap(), bytes);
}

#[test]
fn experiment_configs_and_results_round_trip_through_postcard() {
    // Trust: results with and without the reference contrast (an Option).
    for reference_contrast in [false, true] {
        let c = TrustConfig {
            nodes: 5,
            dim: 2,
            equivocators: 1,
            corrupters: 1,
            forgers: 0,
            replayers: 0,
            outsiders: 1,
            silent: 0,
            rounds_max: 20,
            reference_contrast,
            ..TrustConfig::default()
        };
        let r = trust::run(&c).unwrap();
        assert_eq!(
            r.results.reference_contrast.is_some(),
            reference_contrast,
            "{c:?}"
        );
        round_trip(&r.config);
        round_trip(&r.results);
        assert_eq!(r.recompute_fingerprint(), r.fingerprint);
    }

    // Partition: every phase shape in the config (the shape enum is
    // internally tagged in JSON), and a run's results.
    let all_shapes = PartitionConfig {
        nodes: 12,
        dim: 2,
        protocol: Protocol::Pull,
        phases: parse_phases(
            "halves@1-10,groups:4@12-20,mod:3@21-30,isolated:2@31-33,minority:3@40-50,bridge@51-60,asymmetric@61-70",
        )
        .unwrap(),
        loss: 0.25,
        duplicate: 0.5,
        delay_max: 2,
        ..PartitionConfig::default()
    };
    round_trip(&all_shapes);
    let json = serde_json::to_string(&all_shapes).unwrap();
    assert!(json.contains(r#""shape":"mod-groups","k":3"#), "{json}");
    assert_eq!(
        serde_json::from_str::<PartitionConfig>(&json).unwrap(),
        all_shapes
    );
    let c = PartitionConfig {
        nodes: 8,
        dim: 2,
        phases: parse_phases("mod:2@1-8,isolated:3@9-12").unwrap(),
        loss: 0.1,
        ..PartitionConfig::default()
    };
    let r = partition::run(&c).unwrap();
    round_trip(&r.config);
    round_trip(&r.results);

    // Sweep: one row with a negative control, and one for a strategy that
    // needs a base.
    let c = SweepConfig {
        nodes: 4,
        dim: 2,
        orderings: 1,
        strategies: vec!["weight_average".into(), "task_arithmetic".into()],
        ..SweepConfig::default()
    };
    round_trip(&c);
    for name in c.selected() {
        let row = sweep::sweep_one(&c, name).unwrap();
        round_trip(&row);
    }

    // Scale: a gossip point (with theory) and an all-pairs one (without).
    for protocol in [Protocol::PushPull, Protocol::AllPairs] {
        let c = ScaleConfig {
            sizes: vec![2, 4],
            dim: 2,
            orderings: 1,
            protocol,
            ..ScaleConfig::default()
        };
        round_trip(&c);
        let point = scale::run_point(&c, 4).unwrap();
        assert_eq!(point.theory.is_some(), protocol != Protocol::AllPairs);
        round_trip(&point);
    }
}
