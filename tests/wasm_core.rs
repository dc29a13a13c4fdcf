//! lab-core in WebAssembly, in headless Chromium: every golden case must give
//! the fingerprint the native test (crates/lab-core/tests/golden.rs) checks,
//! so native and wasm agree bit for bit — both with the engine's own runner
//! and through the browser's coordinator and worker logic (in-process).
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --test wasm_core`

#![cfg(target_arch = "wasm32")]

use convergence_lab::local::run_local;
use lab_core::experiment::convergence::{run, ConvergenceConfig};
use serde_json::Value;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const GOLDEN: &str = include_str!("data/golden/fingerprints.json");

/// The convergence cases of the golden file: (name, config, fingerprint).
fn golden_cases() -> Vec<(String, ConvergenceConfig, String)> {
    let golden: Value = serde_json::from_str(GOLDEN).expect("golden file is JSON");
    let cases = golden["cases"].as_array().expect("cases array");
    let out: Vec<_> = cases
        .iter()
        .filter(|c| c["experiment"] == "convergence")
        .map(|c| {
            let config = serde_json::from_value(c["config"].clone()).expect("valid config");
            let name = c["name"].as_str().unwrap_or("?").to_string();
            let fingerprint = c["fingerprint"].as_str().expect("fingerprint").to_string();
            (name, config, fingerprint)
        })
        .collect();
    assert!(!out.is_empty(), "no convergence cases in the golden file");
    out
}

#[wasm_bindgen_test]
fn engine_fingerprints_match_the_golden_file() {
    for (name, config, fingerprint) in golden_cases() {
        let report = run(&config).expect("golden configs run");
        assert!(report.verdict.passed, "{name}: the verdict must pass");
        assert_eq!(
            report.fingerprint, fingerprint,
            "{name}: wasm differs from native"
        );
    }
}

#[wasm_bindgen_test]
fn worker_path_fingerprints_match_the_golden_file() {
    for (name, config, fingerprint) in golden_cases() {
        for workers in [1, 3] {
            let report = run_local(&config, workers)
                .expect("golden configs run")
                .report;
            assert_eq!(
                report.fingerprint, fingerprint,
                "{name} with {workers} workers"
            );
        }
    }
}
