//! The command line's contract: exit 0 when the verdict holds, 1 when it
//! fails, 2 with a one-line reason on invalid input; `--json` prints a
//! schema-1 report whose fingerprint does not depend on `--executors`.

mod common;

use common::{json, lab};

#[test]
fn passing_run_exits_0_with_a_table() {
    let out = lab(&[
        "convergence",
        "--nodes",
        "8",
        "--dim",
        "4",
        "--orderings",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("verdict:     CONVERGED"), "{text}");
    assert!(text.contains("fingerprint: "));
}

#[test]
fn json_report_has_schema_1_and_a_stable_fingerprint() {
    let args = [
        "convergence",
        "--nodes",
        "20",
        "--dim",
        "8",
        "--orderings",
        "2",
        "--protocol",
        "push-pull",
    ];
    let a = json(&args);
    assert_eq!(a["schema"], 1);
    assert_eq!(a["experiment"], "convergence");
    assert_eq!(a["verdict"]["passed"], true);
    assert_eq!(a["config"]["nodes"], 20);
    let mut more = args.to_vec();
    more.extend(["--executors", "4"]);
    let b = json(&more);
    assert_eq!(a["fingerprint"], b["fingerprint"]);
    assert_eq!(b["execution"]["workers"], 4);
}

#[test]
fn failed_verdict_exits_1() {
    let out = lab(&[
        "convergence",
        "--nodes",
        "64",
        "--dim",
        "2",
        "--protocol",
        "push",
        "--rounds-max",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL"));
}

#[test]
fn invalid_input_exits_2_with_one_line() {
    for args in [
        vec!["convergence", "--nodes", "0"],
        vec!["convergence", "--nodes", "100000"],
        vec!["convergence", "--dim", "0"],
        vec!["convergence", "--dim", "5000"],
        vec!["convergence", "--protocol", "carrier-pigeon"],
        vec!["convergence", "--strategy", "nope"],
        vec!["convergence", "--nodes", "5", "--fanout", "5"],
        vec!["convergence", "--nodes", "abc"],
        vec!["convergence", "--executors", "0"],
        vec!["no-such-command"],
    ] {
        let out = lab(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.trim().is_empty(), "{args:?}: no reason given");
        if args[0] == "convergence" && args[1] != "--nodes" || args.get(2) != Some(&"abc") {
            // Our own validation errors are exactly one line.
            if err.starts_with("lab-cli: ") {
                assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Real weights: `--weights` with hand-made safetensors files.

/// A safetensors file with one F32 tensor `w` of shape `shape`.
fn safetensors(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let header = format!(
        "{{\"w\":{{\"dtype\":\"F32\",\"shape\":{shape:?},\"data_offsets\":[0,{}]}}}}",
        4 * values.len()
    );
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    out
}

/// A fresh directory for this test's files.
fn scratch(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lab-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn weights_run_records_the_files_and_ignores_executors() {
    let dir = scratch("weights");
    let a = write(
        &dir,
        "a.safetensors",
        &safetensors(&[2, 3], &[1., 2., 3., 4., 5., 6.]),
    );
    let b_bytes = safetensors(&[2, 3], &[0., 2., 0., 4., 0., 6.]);
    let b = write(&dir, "b.safetensors", &b_bytes);
    let args = [
        "convergence",
        "--nodes",
        "5",
        "--orderings",
        "2",
        "--protocol",
        "push-pull",
        "--weights",
        &a,
        &b,
        "--tensor",
        "w",
    ];
    let one = json(&args);
    let mut more = args.to_vec();
    more.extend(["--executors", "3"]);
    let three = json(&more);
    assert_eq!(one["fingerprint"], three["fingerprint"]);
    assert_eq!(one["verdict"]["passed"], true);
    let files = &one["config"]["workload"]["files"];
    assert_eq!(files["tensor"], "w");
    assert_eq!(files["shape"], serde_json::json!([2, 3]));
    // Names are recorded without their directory, so the page's command
    // (`--weights a.safetensors …`) reproduces the same fingerprint.
    assert_eq!(files["files"][0]["name"], "a.safetensors");
    assert_eq!(files["files"][1]["bytes"], b_bytes.len());
    assert_eq!(files["files"][1]["blake3"].as_str().unwrap().len(), 64);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn weights_errors_name_the_file_and_exit_2() {
    let dir = scratch("weights-errors");
    let good_bytes = safetensors(&[2], &[1., 2.]);
    let good = write(&dir, "good.safetensors", &good_bytes);
    let truncated = write(&dir, "cut.safetensors", &good_bytes[..good_bytes.len() - 2]);
    let nan = write(&dir, "nan.safetensors", &safetensors(&[2], &[1., f32::NAN]));
    let other = write(&dir, "other.safetensors", &safetensors(&[3], &[1., 2., 3.]));
    for (bad, words) in [
        (&truncated, "'cut.safetensors' is truncated"),
        (&nan, "'nan.safetensors', tensor 'w': NaN at element 1"),
        (&other, "other.safetensors"),
    ] {
        let out = lab(&["convergence", "--weights", &good, bad, "--tensor", "w"]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(words), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    // Without --tensor the common tensors are listed.
    let out = lab(&["convergence", "--weights", &good, &good]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("w  "));
    // More files than nodes, a base-requiring strategy without a base.
    let out = lab(&[
        "convergence",
        "--nodes",
        "2",
        "--weights",
        &good,
        &good,
        &good,
        "--tensor",
        "w",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 3 nodes"));
    let out = lab(&[
        "convergence",
        "--strategy",
        "ties",
        "--weights",
        &good,
        &good,
        "--tensor",
        "w",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a base model"));
    let out = lab(&[
        "convergence",
        "--strategy",
        "ties",
        "--weights",
        &good,
        &good,
        "--tensor",
        "w",
        "--base",
        &good,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_shipped_sample_merges() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../public/samples/");
    let a = format!("{dir}silero-vad-6.2.3-16k.safetensors");
    let b = format!("{dir}silero-vad-6.2.3-jit-16k.safetensors");
    let report = json(&[
        "convergence",
        "--nodes",
        "4",
        "--orderings",
        "2",
        "--weights",
        &a,
        &b,
        "--tensor",
        "conv1.weight",
        "--rows",
        "0..32",
    ]);
    assert_eq!(report["verdict"]["passed"], true);
    assert_eq!(
        report["config"]["workload"]["files"]["shape"],
        serde_json::json!([128, 129, 3])
    );
}

// ---------------------------------------------------------------------------
// The workload flags of partition, sweep and scale (the same as convergence).

/// Three 2×3 "fine-tunes" a, b, c of tensor "w" in `dir`; their paths.
fn three_files(dir: &std::path::Path) -> [String; 3] {
    [
        ("a", [1., 2., 3., 4., 5., 6.]),
        ("b", [0., 2., 0., 4., 0., 6.]),
        ("c", [3., 1., 4., 1., 5., 9.]),
    ]
    .map(|(name, values)| {
        write(
            dir,
            &format!("{name}.safetensors"),
            &safetensors(&[2, 3], &values),
        )
    })
}

#[test]
fn partition_sweep_and_scale_take_real_weights() {
    let dir = scratch("weights-experiments");
    let [a, b, c] = three_files(&dir);
    let base = write(&dir, "base.safetensors", &safetensors(&[2, 3], &[1.; 6]));
    let weights = ["--weights", &a, &b, &c, "--tensor", "w"];
    let with = |head: &[&str], tail: &[&str]| -> Vec<String> {
        head.iter()
            .chain(&weights)
            .chain(tail)
            .map(|s| s.to_string())
            .collect()
    };
    let run = |args: Vec<String>| json(&args.iter().map(String::as_str).collect::<Vec<_>>());

    // Partition: node i contributes file i mod 3; executors do not matter.
    let p = with(
        &["partition", "--nodes", "7", "--phases", "mod:2@1-10"],
        &[],
    );
    let one = run(p.clone());
    let mut more = p.clone();
    more.extend(["--executors".to_string(), "3".to_string()]);
    assert_eq!(one["fingerprint"], run(more)["fingerprint"]);
    assert_eq!(one["verdict"]["passed"], true);
    let files = &one["config"]["workload"]["files"];
    assert_eq!(files["files"][2]["name"], "c.safetensors");
    assert_eq!(
        files["files"][0]["tensor_digest"].as_str().unwrap().len(),
        64
    );
    // The same files through convergence give the same merged model.
    let conv = run(with(
        &["convergence", "--nodes", "7", "--protocol", "push-pull"],
        &[],
    ));
    assert_eq!(
        one["results"]["oracle_resolved_digest"],
        conv["results"]["oracle_resolved_digest"]
    );

    // Sweep: strategies that need a base are "not applicable" without one.
    let s = run(with(
        &["sweep", "--nodes", "4", "--orderings", "1"],
        &["--strategies", "weight_average,task_arithmetic"],
    ));
    assert_eq!(s["verdict"]["passed"], true);
    assert_eq!(s["config"]["workload"]["files"]["tensor"], "w");
    let rows = s["results"]["rows"].as_array().unwrap();
    assert_eq!(rows[0]["layer1_converged"], true);
    assert!(rows[1]["problem"].as_str().unwrap().contains("base"));
    let s = run(with(
        &["sweep", "--nodes", "4", "--orderings", "1"],
        &["--strategies", "task_arithmetic", "--base", &base],
    ));
    assert_eq!(s["results"]["rows"][0]["layer1_converged"], true);
    assert_eq!(
        s["config"]["workload"]["files"]["base"]["name"],
        "base.safetensors"
    );

    // Scale: every size must hold every file.
    let sc = run(with(&["scale", "--sizes", "3,6", "--orderings", "1"], &[]));
    assert_eq!(sc["verdict"]["passed"], true);
    assert_eq!(sc["results"]["points"].as_array().unwrap().len(), 2);
    let out = lab(&with(&["scale", "--sizes", "2,6"], &[])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 3 nodes"));
    // Without --tensor the common tensors are listed (exit 2).
    let out = lab(&["partition", "--weights", &a, &b]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("pick one with --tensor"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn workload_flags_choose_fine_tunes_or_gaussian_everywhere() {
    let small: [(&str, &[&str]); 4] = [
        (
            "convergence",
            &["--nodes", "4", "--dim", "4", "--orderings", "1"],
        ),
        (
            "partition",
            &["--nodes", "6", "--dim", "4", "--phases", "mod:2@1-8"],
        ),
        (
            "sweep",
            &[
                "--nodes",
                "3",
                "--dim",
                "4",
                "--orderings",
                "1",
                "--strategies",
                "weight_average",
            ],
        ),
        (
            "scale",
            &["--sizes", "2,4", "--dim", "4", "--orderings", "1"],
        ),
    ];
    for (cmd, args) in small {
        let base: Vec<&str> = std::iter::once(cmd).chain(args.iter().copied()).collect();
        // Fine-tunes by default, recorded in the config.
        let d = json(&base);
        assert_eq!(d["config"]["workload"], "fine-tune", "{cmd}");
        assert_eq!(d["config"]["finetune"]["rank"], 4, "{cmd}");
        let mut g = base.clone();
        g.extend(["--workload", "gaussian"]);
        let g = json(&g);
        assert_eq!(g["config"]["workload"], "gaussian", "{cmd}");
        assert_ne!(g["fingerprint"], d["fingerprint"], "{cmd}");
        let mut f = base.clone();
        f.extend([
            "--ft-rank",
            "2",
            "--ft-sparsity",
            "0.5",
            "--ft-overlap",
            "0.9",
        ]);
        let f = json(&f);
        assert_eq!(f["config"]["finetune"]["rank"], 2, "{cmd}");
        assert_eq!(f["config"]["finetune"]["sparsity"], 0.5, "{cmd}");
        assert_ne!(f["fingerprint"], d["fingerprint"], "{cmd}");
        // Bad values name their flag, on one line, exit 2.
        for (flag, value) in [
            ("--ft-rank", "0"),
            ("--workload", "uniform"),
            ("--ft-scale", "NaN"),
        ] {
            let mut bad = base.clone();
            bad.extend([flag, value]);
            let out = lab(&bad);
            assert_eq!(out.status.code(), Some(2), "{cmd} {flag} {value}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(flag) || err.contains(&flag[2..].replace('-', "_")),
                "{cmd}: {err}"
            );
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        }
    }
}

#[test]
fn a_derived_suite_runs_fine_tunes() {
    let out = lab(&["suite", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    // The seed preset keeps Gaussian tensors (checked in lab-core's tests:
    // running it takes minutes); a derived suite records fine-tunes.
    let small = [
        "suite",
        "--nodes",
        "4",
        "--dim",
        "3",
        "--orderings",
        "1",
        "--partitions",
        "2",
    ];
    let r = json(&small);
    assert_eq!(r["config"]["convergence"]["workload"], "fine-tune");
    assert_eq!(r["config"]["scale"]["workload"], "fine-tune");
    let g = json(&[&small[..], &["--workload", "gaussian"]].concat());
    assert_eq!(g["config"]["sweep"]["workload"], "gaussian");
    assert_ne!(g["fingerprint"], r["fingerprint"]);
}

#[test]
fn a_suite_runs_on_real_weights() {
    let dir = scratch("weights-suite");
    let [a, b, c] = three_files(&dir);
    let suite = [
        "suite",
        "--nodes",
        "6",
        "--orderings",
        "1",
        "--partitions",
        "2",
        "--protocol",
        "push-pull",
        "--weights",
        &a,
        &b,
        &c,
        "--tensor",
        "w",
    ];
    let r = json(&suite);
    assert_eq!(r["verdict"]["passed"], true, "{:#}", r["verdict"]);
    for part in ["convergence", "partition", "sweep", "scale"] {
        assert_eq!(
            r["config"][part]["workload"]["files"]["files"][2]["name"], "c.safetensors",
            "{part}"
        );
    }
    // Scalability starts at the file count (node i contributes file i mod 3).
    assert_eq!(r["config"]["scale"]["sizes"][0], 3);
    // The seed preset keeps the seed lab's Gaussian tensors: no files.
    let out = lab(&[
        "suite",
        "--preset",
        "seed",
        "--weights",
        &a,
        &b,
        "--tensor",
        "w",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("custom preset"));
    // Fewer nodes than files is refused in words.
    let mut few = suite.to_vec();
    few[2] = "2";
    let out = lab(&few);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 3 nodes"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn each_configs_printed_command_reproduces_its_fingerprint() {
    use lab_core::experiment::convergence::{self, ConvergenceConfig, WorkloadKind};
    use lab_core::experiment::{partition, scale, sweep};
    let args =
        |cmd: String| -> Vec<String> { cmd.split_whitespace().skip(1).map(String::from).collect() };
    let fingerprint = |cmd: String| {
        let a = args(cmd);
        json(&a.iter().map(String::as_str).collect::<Vec<_>>())["fingerprint"].clone()
    };
    for workload in [WorkloadKind::FineTune, WorkloadKind::Gaussian] {
        let c = ConvergenceConfig {
            nodes: 5,
            dim: 4,
            orderings: 1,
            workload: workload.clone(),
            ..ConvergenceConfig::default()
        };
        let r = convergence::run(&c).unwrap();
        assert_eq!(fingerprint(c.cli_command()), r.fingerprint.as_str());
        let p = partition::PartitionConfig {
            nodes: 6,
            dim: 4,
            phases: partition::parse_phases("mod:2@1-8").unwrap(),
            workload: workload.clone(),
            ..Default::default()
        };
        let r = partition::run(&p).unwrap();
        assert_eq!(fingerprint(p.cli_command()), r.fingerprint.as_str());
        let s = sweep::SweepConfig {
            nodes: 3,
            dim: 4,
            orderings: 1,
            strategies: vec!["weight_average".into(), "ties".into()],
            workload: workload.clone(),
            ..Default::default()
        };
        let r = sweep::run(&s).unwrap();
        assert_eq!(fingerprint(s.cli_command()), r.fingerprint.as_str());
        let sc = scale::ScaleConfig {
            sizes: vec![2, 4],
            dim: 4,
            orderings: 1,
            workload,
            ..Default::default()
        };
        let r = scale::run(&sc).unwrap();
        assert_eq!(fingerprint(sc.cli_command()), r.fingerprint.as_str());
    }
}

#[test]
fn trust_takes_the_synthetic_workload_flags() {
    let small = [
        "trust",
        "--nodes",
        "5",
        "--dim",
        "3",
        "--forgers",
        "0",
        "--replayers",
        "0",
        "--silent",
        "0",
        "--rounds-max",
        "40",
    ];
    let d = json(&small);
    assert_eq!(d["config"]["workload"], "fine-tune");
    let mut g = small.to_vec();
    g.extend(["--workload", "gaussian"]);
    let g = json(&g);
    assert_eq!(g["config"]["workload"], "gaussian");
    assert_ne!(g["fingerprint"], d["fingerprint"]);
    let mut bad = small.to_vec();
    bad.extend(["--ft-rank", "0"]);
    let out = lab(&bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ft_rank"));
    // No model files for trust.
    let out = lab(&["trust", "--weights", "a.safetensors"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn trust_takes_byzantine_members_as_a_fraction() {
    let base = ["trust", "--nodes", "10", "--dim", "2", "--rounds-max", "60"];
    let mut f = base.to_vec();
    f.extend(["--byzantine-fraction", "0.3", "--mix", "equivocator,forger"]);
    let d = json(&f);
    // round(0.3 × 10) = 3 dealt over the mix in order: 2 equivocators, 1 forger.
    assert_eq!(d["config"]["equivocators"], 2);
    assert_eq!(d["config"]["forgers"], 1);
    for other in ["corrupters", "replayers", "outsiders", "silent"] {
        assert_eq!(d["config"][other], 0, "{other}");
    }
    assert_eq!(d["verdict"]["passed"], true);
    // The same run by counts gives the same fingerprint.
    let mut c = base.to_vec();
    c.extend([
        "--equivocators",
        "2",
        "--forgers",
        "1",
        "--corrupters",
        "0",
        "--replayers",
        "0",
        "--outsiders",
        "0",
        "--silent",
        "0",
    ]);
    assert_eq!(json(&c)["fingerprint"], d["fingerprint"]);
    // Bad fractions, unknown behaviours, and counts beside a fraction: exit 2.
    for bad in [
        vec!["--byzantine-fraction", "1.5"],
        vec!["--byzantine-fraction", "0.2", "--mix", "sleeper"],
        vec!["--byzantine-fraction", "0.2", "--forgers", "1"],
        vec!["--mix", "forger"],
    ] {
        let mut args = base.to_vec();
        args.extend(bad.iter().copied());
        let out = lab(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}
