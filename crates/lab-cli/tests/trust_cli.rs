//! `lab-cli trust` and `lab-cli pco-bench`: exit codes and JSON schema.

use std::process::Command;

fn lab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lab-cli"))
        .args(args)
        .output()
        .expect("lab-cli runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

#[test]
fn trust_cli_exit_codes_and_json_schema() {
    // Default run: verdict holds, schema-1 JSON.
    let (code, out, err) = lab(&["trust", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!(v["schema"], 1);
    assert_eq!(v["experiment"], "trust");
    assert_eq!(v["verdict"]["passed"], true);
    assert_eq!(v["fingerprint"].as_str().unwrap().len(), 64);
    assert_eq!(v["config"]["nodes"], 10);
    assert_eq!(v["results"]["false_accusations"], 0);
    assert_eq!(v["results"]["max_trust_divergence"], 0.0);
    assert_eq!(v["results"]["trust_roots"].as_array().unwrap().len(), 1);
    assert!(v["results"]["drops"]["bad_signature"].as_u64().unwrap() > 0);
    assert!(v["execution"]["total_ms"].as_f64().is_some());
    // Same fingerprint on a second run.
    let (_, out2, _) = lab(&["trust", "--json"]);
    let v2: serde_json::Value = serde_json::from_str(&out2).unwrap();
    assert_eq!(v["fingerprint"], v2["fingerprint"]);

    // Table output mentions the verdict and the fingerprint.
    let (code, out, _) = lab(&["trust", "--nodes", "8", "--dim", "3"]);
    assert_eq!(code, 0);
    assert!(out.contains("fingerprint:"));
    assert!(out.contains("false accusations:"));

    // Verdict fails (1 round cannot converge): exit 1.
    let (code, _, _) = lab(&["trust", "--rounds-max", "1"]);
    assert_eq!(code, 1);

    // Invalid input: exit 2 with a reason.
    for bad in [
        &["trust", "--nodes", "5"][..],
        &["trust", "--protocol", "flood"],
        &["trust", "--protocol", "all-pairs"],
        &["trust", "--nodes", "0"],
        &["trust", "--fanout", "10"],
        &["trust", "--strategy", "nope"],
    ] {
        let (code, _, err) = lab(bad);
        assert_eq!(code, 2, "{bad:?}");
        assert!(err.starts_with("lab-cli:"), "{bad:?}: {err}");
    }
}

#[test]
fn pco_bench_json_rows_are_labelled() {
    let (code, out, err) = lab(&["pco-bench", "--seconds", "0.01", "--batch", "8", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["schema"], 1);
    assert_eq!(v["experiment"], "pco-bench");
    let rows = v["results"].as_array().unwrap();
    for level in 0..4 {
        for mode in ["single", "batch"] {
            assert!(
                rows.iter().any(|r| r["label"] == "Ed25519"
                    && r["operation"] == "verify"
                    && r["level"] == level
                    && r["mode"] == mode),
                "verify level {level} {mode}"
            );
        }
    }
    assert!(rows
        .iter()
        .any(|r| r["label"] == "Ed25519" && r["operation"] == "build"));
    assert!(rows
        .iter()
        .all(|r| r["label"] == "Ed25519" || r["label"] == "no signature (comparison only)"));
    assert!(rows.iter().all(|r| r["per_second"].as_f64().unwrap() > 0.0));
    assert!(v["execution"]["total_ms"].as_f64().is_some());
    let (code, _, _) = lab(&["pco-bench", "--seconds", "0"]);
    assert_eq!(code, 2);
    let (code, _, _) = lab(&["pco-bench", "--batch", "0"]);
    assert_eq!(code, 2);
}
