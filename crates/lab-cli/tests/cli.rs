//! The command line's contract: exit 0 when the verdict holds, 1 when it
//! fails, 2 with a one-line reason on invalid input; `--json` prints a
//! schema-1 report whose fingerprint does not depend on `--executors`.

use std::process::{Command, Output};

fn lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lab-cli"))
        .args(args)
        .output()
        .expect("lab-cli runs")
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = lab(&all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

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
