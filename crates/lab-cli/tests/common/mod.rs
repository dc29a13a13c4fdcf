//! Helpers shared by the command-line test files.

use std::process::{Command, Output};

/// Runs `lab-cli` with `args`.
pub fn lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lab-cli"))
        .args(args)
        .output()
        .expect("lab-cli runs")
}

/// Runs `lab-cli … --json`, expects exit 0, returns the report.
pub fn json(args: &[&str]) -> serde_json::Value {
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
