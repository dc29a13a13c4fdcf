//! Golden fingerprints shared with the WebAssembly test (tests/wasm_core.rs
//! at the repository root): both assert lab-core reproduces these values, so
//! native and wasm agree bit for bit. After an intended change run
//! `UPDATE_GOLDEN=1 cargo test -p lab-core --test golden` and review the diff.

use lab_core::experiment::convergence::{run, ConvergenceConfig};
use serde_json::Value;
use std::path::PathBuf;

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/golden/fingerprints.json")
}

#[test]
fn fingerprints_match_the_golden_file() {
    let path = golden_path();
    let text = std::fs::read_to_string(&path).expect("golden file exists");
    let mut golden: Value = serde_json::from_str(&text).expect("golden file is JSON");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    let cases = golden["cases"].as_array_mut().expect("cases array");
    assert!(!cases.is_empty());
    for case in cases.iter_mut() {
        let config: ConvergenceConfig =
            serde_json::from_value(case["config"].clone()).expect("valid config");
        let report = run(&config).expect("golden configs run");
        assert!(
            report.verdict.passed,
            "golden case {} must pass",
            case["name"]
        );
        assert_eq!(report.fingerprint, report.recompute_fingerprint());
        if case["fingerprint"] != report.fingerprint.as_str() {
            mismatches.push(format!(
                "{}: golden {} got {}",
                case["name"], case["fingerprint"], report.fingerprint
            ));
            case["fingerprint"] = Value::String(report.fingerprint.clone());
        }
    }
    if update && !mismatches.is_empty() {
        std::fs::write(&path, serde_json::to_string_pretty(&golden).unwrap() + "\n").unwrap();
        return;
    }
    assert!(
        mismatches.is_empty(),
        "fingerprints changed:\n{}",
        mismatches.join("\n")
    );
}
