//! `lab-cli trust` with faults and with model files: exit codes, flags
//! recorded in the JSON report, and the shipped sample.

mod common;

use common::{json, lab};
use std::path::PathBuf;

fn sample(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../public/samples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn faults_are_flags_recorded_in_the_report_and_the_roots_still_agree() {
    let small = ["trust", "--nodes", "8", "--dim", "4"];
    let clean = json(&small);
    assert_eq!(
        clean["config"]["faults"]["phases"],
        serde_json::json!([]),
        "no faults"
    );
    let mut args = small.to_vec();
    args.extend([
        "--phases",
        "mod:2@1-8",
        "--loss",
        "0.3",
        "--duplicate",
        "0.2",
        "--delay-max",
        "2",
    ]);
    let r = json(&args);
    assert_eq!(r["verdict"]["passed"], true);
    let f = &r["config"]["faults"];
    assert_eq!(f["loss"], 0.3);
    assert_eq!(f["delay_max"], 2);
    assert_eq!(f["phases"][0]["heal"], 8);
    assert_eq!(r["results"]["trust_roots"], clean["results"]["trust_roots"]);
    assert_eq!(r["results"]["max_trust_divergence"], 0.0);
    assert_ne!(r["fingerprint"], clean["fingerprint"]);
    // The table lists the fault intervals.
    let out = lab(&args);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("fault: partition (2 groups by i mod 2) rounds 1…7"),
        "{text}"
    );
}

#[test]
fn a_partition_that_never_heals_exits_1_and_bad_fault_flags_exit_2() {
    let out = lab(&[
        "trust",
        "--nodes",
        "8",
        "--dim",
        "4",
        "--rounds-max",
        "20",
        "--phases",
        "halves@1-500",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("never reconnected"), "{text}");
    for (flag, value, named) in [
        ("--loss", "1", "loss"),
        ("--duplicate", "1.5", "duplicate"),
        ("--delay-max", "65", "delay_max"),
        ("--phases", "isolated:99@1-3", "phases"),
        ("--phases", "blob@1-3", "phases"),
        ("--link-until", "1", "link_until"),
    ] {
        let out = lab(&["trust", "--nodes", "8", flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(named), "{flag} {value}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn the_shipped_sample_runs_as_trust_weights() {
    let a = sample("silero-vad-6.2.3-16k.safetensors");
    let b = sample("silero-vad-6.2.3-jit-16k.safetensors");
    let args = [
        "trust",
        "--nodes",
        "8",
        "--weights",
        &a,
        &b,
        "--tensor",
        "lstm_cell.weight_hh",
    ];
    let r = json(&args);
    assert_eq!(r["verdict"]["passed"], true, "{}", r["verdict"]);
    let files = &r["config"]["workload"]["files"];
    assert_eq!(files["tensor"], "lstm_cell.weight_hh");
    assert_eq!(
        files["files"][0]["name"],
        "silero-vad-6.2.3-16k.safetensors"
    );
    assert_eq!(files["shape"], serde_json::json!([512, 128]));
    assert_eq!(r["results"]["deviation_weighted"], 0.0);
    assert_eq!(json(&args)["fingerprint"], r["fingerprint"]);
    // The command the report gives names the files and the tensor.
    let out = lab(&args[..args.len()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("file 1: silero-vad-6.2.3-jit-16k.safetensors"),
        "{text}"
    );
    // Without --tensor the common tensors are listed (exit 2).
    let out = lab(&["trust", "--nodes", "8", "--weights", &a, &b]);
    assert_eq!(out.status.code(), Some(2));
    // More files than members is named.
    let out = lab(&[
        "trust",
        "--nodes",
        "3",
        "--equivocators",
        "0",
        "--corrupters",
        "0",
        "--forgers",
        "0",
        "--replayers",
        "0",
        "--outsiders",
        "0",
        "--silent",
        "0",
        "--fanout",
        "1",
        "--weights",
        &a,
        &b,
        &a,
        &b,
        "--tensor",
        "lstm_cell.weight_hh",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("need at least 4 nodes"));
}
