//! Experiment 1 on real model files: `load_files` (all or nothing, every
//! error naming its file), the file workload recorded in the config (names,
//! sizes, BLAKE3, tensor digests), `Workload::from_files` refusing tensors
//! other than the recorded ones, and runs whose fingerprint does not depend
//! on the number of executors. Includes a property test feeding arbitrary
//! bytes as one of the files.

mod common;

use common::safetensors as file;
use lab_core::experiment::convergence::{
    load_files, run_with, run_with_workload, ConvergenceConfig, FileTensors, FileWorkload,
    Workload, WorkloadKind,
};
use lab_core::loader::{Limits, LoadError, Slice};
use lab_core::sim::Protocol;
use lab_core::{LabError, Tensor};
use proptest::prelude::*;
use std::sync::Arc;

/// A small "fine-tune": a 4×3 weight and a bias, offset by `k`.
fn model(k: f32) -> Vec<u8> {
    let w: Vec<f32> = (0..12).map(|i| i as f32 * 0.25 + k).collect();
    file(&[
        ("layer.weight", &[4, 3], &w),
        ("layer.bias", &[3], &[k, -k, 0.5]),
    ])
}

#[allow(clippy::result_large_err)] // the loader's own error type, as is
fn load(
    files: &[(&str, &[u8])],
    base: Option<(&str, &[u8])>,
    slice: Option<Slice>,
) -> Result<(FileWorkload, FileTensors), LoadError> {
    load_files(files, base, "layer.weight", slice, &Limits::CLI)
}

fn config_for(files: FileWorkload, nodes: u32, protocol: Protocol) -> ConvergenceConfig {
    ConvergenceConfig {
        nodes,
        orderings: 3,
        protocol,
        fanout: 1,
        workload: WorkloadKind::Files(files),
        ..ConvergenceConfig::default()
    }
}

fn run_files(
    config: &ConvergenceConfig,
    tensors: FileTensors,
    executors: u32,
) -> Result<lab_core::experiment::convergence::ConvergenceReport, LabError> {
    let workload = Arc::new(Workload::from_files(config, tensors)?);
    run_with_workload(config, workload, executors, &mut |_| true)
}

#[test]
fn the_config_records_exactly_what_was_loaded() {
    let (a, b) = (model(0.0), model(1.0));
    let (files, tensors) =
        load(&[("a.safetensors", &a), ("b.safetensors", &b)], None, None).unwrap();
    assert_eq!(files.tensor, "layer.weight");
    assert_eq!(files.dtype, "F32");
    assert_eq!(files.shape, vec![4, 3]);
    assert_eq!(files.slice, None);
    assert_eq!(files.files.len(), 2);
    assert_eq!(files.files[0].name, "a.safetensors");
    assert_eq!(files.files[0].bytes, a.len() as u64);
    // Plain BLAKE3 of the file, as `b3sum` prints it.
    assert_eq!(files.files[1].blake3, blake3::hash(&b).to_hex().to_string());
    assert_eq!(
        files.files[1].tensor_digest,
        tensors.contributions[1].digest().to_hex()
    );
    assert_eq!(tensors.contributions[1].data()[0], 1.0);
    assert!(tensors.base.is_none() && files.base.is_none());
}

#[test]
fn a_file_run_converges_and_its_fingerprint_ignores_executors() {
    let (a, b, c) = (model(0.0), model(1.0), model(-2.0));
    let (files, tensors) = load(&[("a", &a), ("b", &b), ("c", &c)], None, None).unwrap();
    // 7 nodes over 3 files: round-robin, files a (×3), b (×2), c (×2).
    let config = config_for(files, 7, Protocol::PushPull);
    config.validate().unwrap();
    let one = run_files(&config, tensors.clone(), 1).unwrap();
    assert!(one.verdict.passed, "{:?}", one.verdict);
    let three = run_files(&config, tensors.clone(), 3).unwrap();
    assert_eq!(one.fingerprint, three.fingerprint);
    assert_eq!(one.recompute_fingerprint(), one.fingerprint);
    assert_eq!(one.results.orderings[0].visible_min, 7);
    // Tensor bytes follow the file tensor (12 elements), not `dim`.
    assert_eq!(one.results.orderings[0].tensor_bytes, 7 * 6 * 8 * 12);
    // Different files, different report.
    let (files2, tensors2) = load(&[("a", &a), ("b", &b), ("c", &b)], None, None).unwrap();
    let other = run_files(&config_for(files2, 7, Protocol::PushPull), tensors2, 1).unwrap();
    assert_ne!(other.fingerprint, one.fingerprint);
}

#[test]
fn the_merged_model_is_the_average_of_the_files() {
    // Resolved digest of weight_average over 2 nodes = digest of the mean.
    let (a, b) = (model(0.0), model(2.0));
    let (files, tensors) = load(&[("a", &a), ("b", &b)], None, None).unwrap();
    let config = ConvergenceConfig {
        orderings: 1,
        ..config_for(files, 2, Protocol::AllPairs)
    };
    let report = run_files(&config, tensors.clone(), 1).unwrap();
    let mean: Vec<f64> = tensors.contributions[0]
        .data()
        .iter()
        .zip(tensors.contributions[1].data())
        .map(|(x, y)| (x + y) / 2.0)
        .collect();
    let expected = Tensor::new(vec![4, 3], mean).unwrap().digest().to_hex();
    assert_eq!(report.results.oracle_resolved_digest, expected);
}

#[test]
fn base_requiring_strategies_need_a_base_file() {
    let (a, b, base) = (model(0.5), model(1.5), model(1.0));
    let (files, tensors) = load(&[("a", &a), ("b", &b)], None, None).unwrap();
    let mut config = config_for(files, 4, Protocol::AllPairs);
    config.strategy = "task_arithmetic".into();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("needs a base model"), "{err}");
    let (files, tensors_b) = load(
        &[("a", &a), ("b", &b)],
        Some(("base.safetensors", &base)),
        None,
    )
    .unwrap();
    assert_eq!(files.base.as_ref().unwrap().name, "base.safetensors");
    let config = ConvergenceConfig {
        workload: WorkloadKind::Files(files),
        ..config
    };
    let report = run_files(&config, tensors_b, 1).unwrap();
    assert!(report.verdict.passed);
    // The base must come with the tensors.
    let err = Workload::from_files(&config, tensors)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("and a base"), "{err}");
}

#[test]
fn other_tensors_than_the_recorded_ones_are_refused() {
    let (a, b) = (model(0.0), model(1.0));
    let (files, mut tensors) = load(&[("a", &a), ("b", &b)], None, None).unwrap();
    let config = config_for(files, 2, Protocol::AllPairs);
    let mut data = tensors.contributions[1].data().to_vec();
    data[5] += 1e-9;
    tensors.contributions[1] = tensors.contributions[1].with_data(data);
    let err = Workload::from_files(&config, tensors)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("file 'b'"), "{err}");
    // A synthetic config has no files.
    let t = FileTensors {
        contributions: vec![],
        base: None,
    };
    assert!(Workload::from_files(&ConvergenceConfig::default(), t).is_err());
}

#[test]
fn file_configs_are_validated_in_words() {
    let (a, b) = (model(0.0), model(1.0));
    let (files, _) = load(&[("a", &a), ("b", &b)], None, None).unwrap();
    let too_few_nodes = config_for(files.clone(), 2, Protocol::AllPairs);
    too_few_nodes.validate().unwrap();
    let mut three = files.clone();
    three.files.push(three.files[0].clone());
    let err = config_for(three, 2, Protocol::AllPairs)
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("at least 3 nodes"), "{err}");
    let mut one = files.clone();
    one.files.truncate(1);
    let err = config_for(one, 2, Protocol::AllPairs)
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("2…64 files"), "{err}");
    let mut bad_digest = files.clone();
    bad_digest.files[0].blake3 = "xyz".into();
    let err = config_for(bad_digest, 2, Protocol::AllPairs)
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("file 'a'"), "{err}");
    let mut bad_slice = files.clone();
    bad_slice.slice = Some(Slice::Rows { start: 0, end: 9 });
    let err = config_for(bad_slice, 2, Protocol::AllPairs)
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("bad slice"), "{err}");
    // A files config cannot run without its tensors.
    let err = run_with(&config_for(files, 2, Protocol::AllPairs), 1, &mut |_| true).unwrap_err();
    assert!(err.to_string().contains("needs its tensors"), "{err}");
}

#[test]
fn slices_are_recorded_and_reproduced() {
    let (a, b) = (model(0.0), model(1.0));
    let slice = Some(Slice::Rows { start: 1, end: 3 });
    let (files, tensors) = load(&[("a", &a), ("b", &b)], None, slice).unwrap();
    assert_eq!(files.shape, vec![4, 3]);
    assert_eq!(files.loaded_shape().unwrap(), vec![2, 3]);
    assert_eq!(tensors.contributions[0].shape(), &[2, 3]);
    let config = config_for(files, 3, Protocol::Pull);
    assert!(config.cli_command().contains(" --rows 1..3"));
    assert!(run_files(&config, tensors, 2).unwrap().verdict.passed);
}

#[test]
fn the_command_line_names_the_files() {
    let (a, b) = (model(0.0), model(1.0));
    let (files, _) = load(
        &[("a.safetensors", &a), ("it's b.safetensors", &b)],
        Some(("base.safetensors", &a)),
        None,
    )
    .unwrap();
    let cli = config_for(files, 2, Protocol::AllPairs).cli_command();
    assert!(
        cli.ends_with(
            " --weights a.safetensors 'it'\\''s b.safetensors' --tensor layer.weight --base base.safetensors"
        ),
        "{cli}"
    );
}

#[test]
fn configs_round_trip_and_links_refuse_files() {
    let (a, b) = (model(0.0), model(1.0));
    let (files, _) = load(&[("a", &a), ("b", &b)], None, Some(Slice::first_rows(2))).unwrap();
    let config = config_for(files, 2, Protocol::AllPairs);
    let json = serde_json::to_string(&config).unwrap();
    assert!(
        json.contains("\"files\":{\"files\":[{\"name\":\"a\""),
        "{json}"
    );
    assert_eq!(
        serde_json::from_str::<ConvergenceConfig>(&json).unwrap(),
        config
    );
    let bytes = postcard::to_allocvec(&config).unwrap();
    assert_eq!(
        postcard::from_bytes::<ConvergenceConfig>(&bytes).unwrap(),
        config
    );
    // A permalink cannot carry the files: it says so and falls back.
    let (back, issues) = ConvergenceConfig::from_query(&config.to_query());
    assert_eq!(back.workload, WorkloadKind::default());
    assert_eq!(issues.len(), 1);
    assert!(
        issues[0].message.contains("cannot travel in a link"),
        "{issues:?}"
    );
}

#[test]
fn every_load_error_names_its_file_and_nothing_is_half_loaded() {
    let good = model(0.0);
    let check = |bad: &[u8], what: &str| {
        let err = load(&[("good", &good), ("bad.safetensors", bad)], None, None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("bad.safetensors"), "{what}: {text}");
        assert!(text.contains(what), "{what}: {text}");
    };
    check(&good[..good.len() - 3], "truncated");
    check(&[0xff; 16], "header length");
    let mut corrupt = good.clone();
    corrupt[9] = b'#';
    check(&corrupt, "corrupt header");
    let nan = file(&[(
        "layer.weight",
        &[4, 3],
        &[
            0.0,
            1.0,
            f32::NAN,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
        ],
    )]);
    check(&nan, "NaN at element 2");
    let inf = file(&[("layer.weight", &[4, 3], &[f32::NEG_INFINITY; 12])]);
    check(&inf, "-infinity at element 0");
    let shape = file(&[("layer.weight", &[3, 4], &[0.0; 12])]);
    let err = load(&[("good", &good), ("bad.safetensors", &shape)], None, None).unwrap_err();
    assert!(
        matches!(err, LoadError::ShapeMismatch { ref file_b, .. } if file_b == "bad.safetensors")
    );
    let other = file(&[("other", &[1], &[0.0])]);
    let err = load(&[("good", &good), ("bad.safetensors", &other)], None, None).unwrap_err();
    assert!(matches!(err, LoadError::TensorNotFound { ref file, .. } if file == "bad.safetensors"));
    // The file size limit is checked before anything else.
    let tight = Limits {
        file_bytes_max: 64,
        ..Limits::CLI
    };
    let err = load_files(
        &[("good", &good), ("big", &good)],
        None,
        "layer.weight",
        None,
        &tight,
    )
    .unwrap_err();
    assert!(matches!(err, LoadError::FileTooLarge { ref file, .. } if file == "good"));
    // A tensor above the element limit asks for a slice.
    let small = Limits {
        elements_max: 6,
        ..Limits::CLI
    };
    let err = load_files(
        &[("a", &good), ("b", &good)],
        None,
        "layer.weight",
        None,
        &small,
    )
    .unwrap_err();
    assert!(err.to_string().contains("load a slice"), "{err}");
    assert!(load_files(
        &[("a", &good), ("b", &good)],
        None,
        "layer.weight",
        Some(Slice::first_rows(2)),
        &small
    )
    .is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the second file holds, loading returns a whole workload or
    /// an error naming a file; it never panics.
    #[test]
    fn arbitrary_second_files_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let good = model(0.0);
        match load(&[("good", &good), ("fuzz", &bytes)], None, None) {
            Ok((files, tensors)) => {
                prop_assert_eq!(tensors.contributions.len(), 2);
                prop_assert_eq!(files.files.len(), 2);
            }
            Err(e) => prop_assert!(e.to_string().contains("fuzz"), "{}", e),
        }
    }

    /// A mutated copy of a valid file either loads consistently or fails in
    /// words; when it loads, the run still converges.
    #[test]
    fn mutated_files_load_whole_or_not_at_all(pos in 0usize..160, byte in any::<u8>()) {
        let good = model(0.0);
        let mut bad = model(1.0);
        let i = pos % bad.len();
        bad[i] = byte;
        if let Ok((files, tensors)) = load(&[("good", &good), ("mutated", &bad)], None, None) {
            let config = ConvergenceConfig { orderings: 1, ..config_for(files, 2, Protocol::AllPairs) };
            let report = run_files(&config, tensors, 1);
            prop_assert!(report.map(|r| r.verdict.passed).unwrap_or(false));
        }
    }
}

// ---------------------------------------------------------------------------
// Partition, sweep and scale on the same model files (node i contributes
// file i mod F everywhere) and on the default fine-tune workload.

mod other_experiments {
    use super::{load, model};
    use lab_core::experiment::convergence::{FineTuneParams, WorkloadKind};
    use lab_core::experiment::partition::{self, parse_phases, PartitionConfig};
    use lab_core::experiment::scale::{self, ScaleConfig};
    use lab_core::experiment::sweep::{self, SweepConfig};
    use lab_core::sim::Protocol;
    use lab_core::LabError;

    /// Three small "fine-tunes" and the config-free tensors of each.
    fn three() -> (
        lab_core::experiment::convergence::FileWorkload,
        lab_core::experiment::convergence::FileTensors,
    ) {
        let (a, b, c) = (model(0.0), model(1.0), model(-2.0));
        load(&[("a", &a), ("b", &b), ("c", &c)], None, None).unwrap()
    }

    #[test]
    fn partition_heals_on_model_files_and_records_them() {
        let (files, tensors) = three();
        let config = PartitionConfig {
            nodes: 7,
            protocol: Protocol::PushPull,
            phases: parse_phases("mod:2@1-12").unwrap(),
            workload: WorkloadKind::Files(files.clone()),
            ..PartitionConfig::default()
        };
        config.validate().unwrap();
        assert!(config
            .cli_command()
            .contains(" --weights a b c --tensor layer.weight"));
        let one = partition::run_with_tensors(&config, 1, Some(&tensors)).unwrap();
        assert!(one.verdict.passed, "{:#?}", one.verdict);
        assert_eq!(one.config.workload, WorkloadKind::Files(files.clone()));
        let three = partition::run_with_tensors(&config, 3, Some(&tensors)).unwrap();
        assert_eq!(one.fingerprint, three.fingerprint);
        // The healed model is the one convergence merges from the same files.
        let conv = super::config_for(files.clone(), 7, Protocol::PushPull);
        let c = super::run_files(&conv, tensors.clone(), 1).unwrap();
        assert_eq!(
            one.results.oracle_resolved_digest,
            c.results.oracle_resolved_digest
        );
        // The seed lab's all-pairs partition mode takes files too.
        let all_pairs = PartitionConfig {
            protocol: Protocol::AllPairs,
            phases: parse_phases("mod:2@1-2").unwrap(),
            ..config.clone()
        };
        let r = partition::run_with_tensors(&all_pairs, 1, Some(&tensors)).unwrap();
        assert!(r.verdict.passed, "{:#?}", r.verdict);
        assert_eq!(
            r.results.oracle_resolved_digest,
            c.results.oracle_resolved_digest
        );
        // Without its tensors, or with other tensors: a typed error.
        assert!(matches!(partition::run(&config), Err(LabError::Config(_))));
        let (_, other) = load(
            &[("a", &model(0.0)), ("b", &model(1.0)), ("c", &model(5.0))],
            None,
            None,
        )
        .unwrap();
        let err = partition::run_with_tensors(&config, 1, Some(&other))
            .unwrap_err()
            .to_string();
        assert!(err.contains("file 'c'"), "{err}");
        // More files than nodes is refused by validation.
        let few = PartitionConfig {
            nodes: 2,
            phases: parse_phases("halves@1-5").unwrap(),
            ..config
        };
        assert!(few.validate().is_err());
    }

    #[test]
    fn sweep_on_model_files_skips_base_strategies_without_a_base() {
        let (files, tensors) = three();
        let config = SweepConfig {
            nodes: 4,
            orderings: 1,
            strategies: vec![
                "weight_average".into(),
                "task_arithmetic".into(),
                "median:paper".into(),
            ],
            workload: WorkloadKind::Files(files),
            ..SweepConfig::default()
        };
        config.validate().unwrap();
        let r = sweep::run_with_tensors(&config, Some(&tensors)).unwrap();
        assert!(r.verdict.passed, "{:#?}", r.verdict);
        let row = |n: &str| r.results.rows.iter().find(|x| x.strategy == n).unwrap();
        assert!(row("weight_average").layer1_converged);
        assert!(row("median:paper").layer1_converged);
        let ta = row("task_arithmetic");
        assert!(!ta.layer1_converged);
        assert!(ta.problem.as_deref().unwrap().contains("base"), "{ta:?}");
        // Pairwise merging of the real tensors drifts from the set merge.
        let nc = row("weight_average").negative_control.as_ref().unwrap();
        assert!(nc.distinct_models > 1 && nc.max_deviation_from_layer2 > 0.0);
        assert!(sweep::run(&config).is_err(), "files need their tensors");

        // With a base file, every strategy that needs one runs.
        let (a, b, c, base) = (model(0.0), model(1.0), model(-2.0), model(0.5));
        let (files, tensors) = load(
            &[("a", &a), ("b", &b), ("c", &c)],
            Some(("base", &base)),
            None,
        )
        .unwrap();
        let with_base = SweepConfig {
            strategies: vec!["task_arithmetic".into(), "ties:paper".into()],
            workload: WorkloadKind::Files(files),
            ..config
        };
        let r = sweep::run_with_tensors(&with_base, Some(&tensors)).unwrap();
        assert!(r.verdict.passed, "{:#?}", r.verdict);
        assert!(
            r.results.rows.iter().all(|x| x.layer1_converged),
            "{:#?}",
            r.results.rows
        );
    }

    #[test]
    fn scale_on_model_files_needs_enough_nodes_at_every_size() {
        let (files, tensors) = three();
        let config = ScaleConfig {
            sizes: vec![3, 5, 8],
            orderings: 2,
            workload: WorkloadKind::Files(files),
            ..ScaleConfig::default()
        };
        config.validate().unwrap();
        let r = scale::run_with_tensors(&config, Some(&tensors)).unwrap();
        assert!(r.verdict.passed, "{:#?}", r.verdict);
        // Tensor bytes follow the file tensor (12 elements), not `dim`.
        let p = &r.results.points[0];
        assert_eq!(p.tensor_bytes, 3 * 2 * 8 * 12);
        let small = ScaleConfig {
            sizes: vec![2, 4],
            ..config
        };
        assert!(small.validate().is_err(), "2 nodes cannot hold 3 files");
    }

    #[test]
    fn every_experiment_runs_fine_tunes_by_default_and_gaussian_on_request() {
        let ft = FineTuneParams::default();
        let p = PartitionConfig {
            nodes: 9,
            dim: 6,
            ..PartitionConfig::default()
        };
        let s = SweepConfig {
            nodes: 4,
            dim: 6,
            orderings: 1,
            strategies: vec![
                "weight_average".into(),
                "ties:paper".into(),
                "dare:paper".into(),
            ],
            ..SweepConfig::default()
        };
        let sc = ScaleConfig {
            sizes: vec![2, 4, 8],
            dim: 6,
            orderings: 2,
            ..ScaleConfig::default()
        };
        assert_eq!(p.workload, WorkloadKind::FineTune);
        assert_eq!(s.workload, WorkloadKind::FineTune);
        assert_eq!(sc.workload, WorkloadKind::FineTune);
        for cmd in [p.cli_command(), s.cli_command(), sc.cli_command()] {
            assert!(cmd.contains(" --workload finetune --ft-rank 4"), "{cmd}");
        }
        let pf = partition::run(&p).unwrap();
        let sf = sweep::run(&s).unwrap();
        let scf = scale::run(&sc).unwrap();
        for (name, passed) in [
            ("partition", pf.verdict.passed),
            ("sweep", sf.verdict.passed),
            ("scale", scf.verdict.passed),
        ] {
            assert!(passed, "{name} on fine-tunes");
        }
        let gaussian = |w: &mut WorkloadKind| *w = WorkloadKind::Gaussian;
        let (mut pg, mut sg, mut scg) = (p.clone(), s.clone(), sc.clone());
        gaussian(&mut pg.workload);
        gaussian(&mut sg.workload);
        gaussian(&mut scg.workload);
        assert!(pg.cli_command().ends_with(" --workload gaussian"));
        let pgr = partition::run(&pg).unwrap();
        let sgr = sweep::run(&sg).unwrap();
        let scgr = scale::run(&scg).unwrap();
        assert!(pgr.verdict.passed && sgr.verdict.passed && scgr.verdict.passed);
        assert_ne!(pgr.fingerprint, pf.fingerprint);
        assert_ne!(sgr.fingerprint, sf.fingerprint);
        assert_ne!(scgr.fingerprint, scf.fingerprint);
        // Different fine-tune parameters, different merged models.
        let sparse = SweepConfig {
            finetune: FineTuneParams {
                sparsity: 0.5,
                ..ft
            },
            ..s.clone()
        };
        let r = sweep::run(&sparse).unwrap();
        assert_ne!(
            r.results.rows[0].resolved_digest,
            sf.results.rows[0].resolved_digest
        );
    }

    #[test]
    fn workload_fields_round_trip_through_links() {
        let ft = FineTuneParams {
            rank: 3,
            scale: 0.5,
            sparsity: 0.75,
            overlap: 0.5,
            noise: 0.25,
        };
        let p = PartitionConfig {
            finetune: ft,
            ..PartitionConfig::default()
        };
        let (back, issues) = PartitionConfig::from_query(&p.to_query());
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, p);
        let s = SweepConfig {
            workload: WorkloadKind::Gaussian,
            ..SweepConfig::default()
        };
        let q = s.to_query();
        assert!(q.contains(&("workload".into(), "gaussian".into())));
        assert_eq!(SweepConfig::from_query(&q).0, s);
        let sc = ScaleConfig {
            finetune: ft,
            ..ScaleConfig::default()
        };
        assert!(sc
            .to_query()
            .contains(&("ft_sparsity".into(), "0.75".into())));
        assert_eq!(ScaleConfig::from_query(&sc.to_query()).0, sc);
        // A link cannot carry files: it falls back to the default, loudly.
        let (c, issues) = ScaleConfig::from_query(&[("workload".into(), "files".into())]);
        assert_eq!(c.workload, WorkloadKind::FineTune);
        assert_eq!(issues[0].key, "workload");
    }
}

#[test]
fn a_suite_runs_every_part_on_the_files() {
    use lab_core::experiment::suite::{self, SuiteSpec};
    use lab_core::experiment::{partition, scale, sweep};
    let (a, b, c) = (model(0.0), model(1.0), model(-0.5));
    let (workload, tensors) = load(&[("a", &a), ("b", &b), ("c", &c)], None, None).unwrap();
    let spec = SuiteSpec {
        preset: "custom".into(),
        nodes: 6,
        dim: 2,
        orderings: 1,
        partitions: 2,
        protocol: Protocol::PushPull,
        seed: 3,
        workload: WorkloadKind::Files(workload),
        ..SuiteSpec::default()
    };
    spec.validate().unwrap();
    assert!(spec
        .cli_command()
        .contains(" --weights a b c --tensor layer.weight"));
    let config = spec.config();
    // Node i contributes file i mod 3: every network has at least 3 nodes.
    assert_eq!(config.scale.sizes, vec![3, 5]);
    assert_eq!(config.sweep.nodes, 6);
    let report = suite::run_with_tensors(&config, Some(&tensors)).unwrap();
    assert!(report.verdict.passed, "{:#?}", report.verdict);
    assert_eq!(report.fingerprint, report.recompute_fingerprint());
    // Each part is the experiment's own run on the same tensors.
    let t = Some(&tensors);
    assert_eq!(
        report.results.partition.fingerprint,
        partition::run_with_tensors(&config.partition, 1, t)
            .unwrap()
            .fingerprint
    );
    assert_eq!(
        report.results.sweep.fingerprint,
        sweep::run_with_tensors(&config.sweep, t)
            .unwrap()
            .fingerprint
    );
    assert_eq!(
        report.results.scale.fingerprint,
        scale::run_with_tensors(&config.scale, t)
            .unwrap()
            .fingerprint
    );
    assert_eq!(
        report.results.convergence.fingerprint,
        run_files(&config.convergence, tensors.clone(), 1)
            .unwrap()
            .fingerprint
    );
    // Without its tensors a file suite is refused in words.
    let err = suite::run(&config).unwrap_err().to_string();
    assert!(err.contains("needs their tensors"), "{err}");
    // The seed preset keeps the seed lab's workload: no model files.
    let seed = SuiteSpec {
        preset: "seed".into(),
        ..spec.clone()
    };
    let err = seed.validate().unwrap_err().to_string();
    assert!(err.contains("custom preset"), "{err}");
    // Too few nodes for the files is named.
    let few = SuiteSpec { nodes: 2, ..spec };
    assert!(few
        .validate()
        .unwrap_err()
        .to_string()
        .contains("at least 3 nodes"));
}
