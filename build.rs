//! Build script of the web app: turns the golden fingerprint file's
//! convergence cases into Rust data for the overview page's self-check
//! (`src/pages/overview/measure.rs`), so the page needs no JSON parser —
//! serde_json runs here, at build time. The file is checked natively by
//! `crates/lab-core/tests/golden.rs`; a malformed file fails the build.

use serde_json::Value;
use std::{env, fs, path::Path};

const GOLDEN: &str = "tests/data/golden/fingerprints.json";

fn main() {
    println!("cargo:rerun-if-changed={GOLDEN}");
    let text = fs::read_to_string(GOLDEN).unwrap_or_else(|e| panic!("{GOLDEN}: {e}"));
    let golden: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{GOLDEN}: {e}"));
    let cases = golden["cases"]
        .as_array()
        .expect("the golden file has a cases array");
    let mut out = String::from("&[\n");
    for case in cases.iter().filter(|c| c["experiment"] == "convergence") {
        let name = case["name"].as_str().expect("a golden case has a name");
        let config = case["config"]
            .as_object()
            .unwrap_or_else(|| panic!("golden case {name}: config is not an object"));
        let pairs: Vec<String> = config
            .iter()
            .map(|(key, value)| {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(_) | Value::Bool(_) => value.to_string(),
                    _ => panic!("golden case {name}: {key} is not a plain value"),
                };
                format!("({key:?}, {text:?})")
            })
            .collect();
        let fingerprint = case["fingerprint"]
            .as_str()
            .expect("a golden case has a fingerprint");
        out += &format!(
            "    ({name:?}, &[{}], {fingerprint:?}),\n",
            pairs.join(", ")
        );
    }
    out += "]\n";
    let dest = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("golden_cases.rs");
    fs::write(&dest, out).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
}
