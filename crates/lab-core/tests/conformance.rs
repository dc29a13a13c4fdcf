//! Conformance of the 26 reference-family strategies against the vectors
//! recorded from crdt-merge 0.9.5 (copied verbatim into
//! `tests/data/vectors/`), plus error-case tests for the strategies.

use lab_core::conformance::{check_file, CaseSet, FileReport, Verdict};
use lab_core::strategy::{find, merge_by_name, reference, MergeInputs, ParamValue, Params};
use lab_core::{MergeError, Tensor};
use std::path::PathBuf;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(vectors_dir().join(name)).expect("vector file is readable")
}

fn cases() -> CaseSet {
    CaseSet::parse(&read("cases.json")).expect("cases.json parses")
}

/// Checks one strategy file and fails with every mismatch listed.
fn conform(strategy: &str) -> FileReport {
    let report = check_file(&cases(), &read(&format!("{strategy}.json"))).expect("file checks");
    assert_eq!(report.strategy, strategy);
    let bad: Vec<String> = report
        .cases
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Mismatched | Verdict::Skipped))
        .map(|c| format!("{} [{:?}] {:?}: {}", c.label, c.class, c.verdict, c.note))
        .collect();
    assert!(bad.is_empty(), "{strategy}:\n{}", bad.join("\n"));
    // 12 records × (direct, insertion, state, state==direct) at least.
    assert!(
        report.cases.len() >= 48,
        "{strategy}: only {} checks",
        report.cases.len()
    );
    report
}

macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                conform(stringify!($name));
            }
        )*
        /// Every registered reference strategy has a test above.
        const TESTED: &[&str] = &[$(stringify!($name)),*];
    };
}

conformance_tests!(
    weight_average,
    slerp,
    task_arithmetic,
    linear,
    fisher_merge,
    regression_mean,
    ada_merging,
    dam,
    weight_scope_alignment,
    representation_surgery,
    evolutionary_merge,
    genetic_merge,
    safe_merge,
    led_merge,
    ties,
    dare,
    della,
    dare_ties,
    model_breadcrumbs,
    emr,
    star,
    svd_knot_tying,
    adarank,
    negative_merge,
    split_unlearn_merge,
    dual_projection,
);

#[test]
fn registry_lists_the_26_names_in_spec_order() {
    let names: Vec<&str> = reference::ALL.iter().map(|s| s.info().name).collect();
    assert_eq!(names, TESTED);
    for name in &names {
        assert!(
            vectors_dir().join(format!("{name}.json")).exists(),
            "{name}"
        );
    }
}

/// Prints the per-strategy table (visible with `--nocapture`) and checks
/// that every file produced checks of each expected kind.
#[test]
fn summary_table() {
    let cases = cases();
    println!(
        "{:<24} {:>5} {:>5} {:>5} {:>5} {:>10}",
        "strategy", "exact", "tol", "mism", "skip", "worst"
    );
    for name in TESTED {
        let r = check_file(&cases, &read(&format!("{name}.json"))).unwrap();
        println!(
            "{:<24} {:>5} {:>5} {:>5} {:>5} {:>10.2e}",
            r.strategy, r.exact, r.within_tolerance, r.mismatched, r.skipped, r.worst_rel_error
        );
        let interesting = |c: &&lab_core::conformance::CaseOutcome| {
            c.verdict != Verdict::Exact || c.label.contains("monte_carlo")
        };
        for c in r.cases.iter().filter(interesting) {
            println!("    {} [{:?}] {:?} {}", c.label, c.class, c.verdict, c.note);
        }
        assert!(
            r.cases.iter().any(|c| c.label.starts_with("variant[")),
            "{name}"
        );
    }
}

#[test]
fn class_e_strategies_are_bitwise_on_every_default_case() {
    for name in [
        "weight_average",
        "ties",
        "dare",
        "negative_merge",
        "evolutionary_merge",
    ] {
        let report = conform(name);
        let direct_exact = report
            .cases
            .iter()
            .filter(|c| c.label.ends_with("/direct"))
            .all(|c| c.verdict == Verdict::Exact);
        assert!(direct_exact, "{name}: a default case is not bitwise");
    }
}

// ---------------------------------------------------------------------------
// Error cases
// ---------------------------------------------------------------------------

struct Owned {
    ids: Vec<String>,
    tensors: Vec<Tensor>,
    weights: Vec<f64>,
    base: Option<Tensor>,
}

impl Owned {
    fn new(shape: &[usize], values: &[&[f64]], weights: &[f64], base: Option<&[f64]>) -> Owned {
        let t = |v: &[f64]| Tensor::new(shape.to_vec(), v.to_vec()).unwrap();
        Owned {
            ids: (0..values.len()).map(|i| format!("m{i}")).collect(),
            tensors: values.iter().map(|v| t(v)).collect(),
            weights: weights.to_vec(),
            base: base.map(t),
        }
    }

    fn run(&self, name: &str, params: &Params) -> Result<Tensor, MergeError> {
        let ids: Vec<&str> = self.ids.iter().map(String::as_str).collect();
        let tensors: Vec<&Tensor> = self.tensors.iter().collect();
        let inputs = MergeInputs {
            ids: &ids,
            tensors: &tensors,
            weights: &self.weights,
            base: self.base.as_ref(),
            seed: 42,
            tensor_key: "",
        };
        merge_by_name(name, &inputs, params)
    }

    /// Calls the strategy directly, bypassing `check_inputs`.
    fn run_direct(&self, name: &str) -> Result<Tensor, MergeError> {
        let ids: Vec<&str> = self.ids.iter().map(String::as_str).collect();
        let tensors: Vec<&Tensor> = self.tensors.iter().collect();
        let inputs = MergeInputs {
            ids: &ids,
            tensors: &tensors,
            weights: &self.weights,
            base: self.base.as_ref(),
            seed: 42,
            tensor_key: "",
        };
        let s = find(name).unwrap();
        let params = lab_core::strategy::resolve_params(s.info(), &Params::new()).unwrap();
        s.merge(&inputs, &params)
    }
}

fn all_names() -> Vec<&'static str> {
    reference::ALL.iter().map(|s| s.info().name).collect()
}

#[test]
fn zero_weight_sum_fails_exactly_for_the_16_weight_users() {
    let a: &[f64] = &[1.0, -2.0, 0.5, 3.0];
    let b: &[f64] = &[0.0, 1.0, 2.0, -1.0];
    let inputs = Owned::new(&[2, 2], &[a, b], &[1.0, -1.0], Some(&[0.1, 0.2, 0.3, 0.4]));
    let mut failing = Vec::new();
    for name in all_names() {
        match inputs.run(name, &Params::new()) {
            Err(MergeError::ZeroWeightSum) => failing.push(name),
            Err(e) => panic!("{name}: unexpected error {e}"),
            Ok(t) => assert_eq!(t.shape(), &[2, 2], "{name}"),
        }
    }
    let users: Vec<&str> = reference::ALL
        .iter()
        .filter(|s| s.info().uses_weights)
        .map(|s| s.info().name)
        .collect();
    assert_eq!(failing, users);
    assert_eq!(failing.len(), 16);
}

#[test]
fn structural_errors_are_typed() {
    let a: &[f64] = &[1.0, 2.0, 3.0];
    let one = Owned::new(&[3], &[a, a], &[1.0, 1.0], None);
    for name in all_names() {
        let info = find(name).unwrap().info();
        let r = one.run(name, &Params::new());
        if info.needs_base {
            assert!(
                matches!(r, Err(MergeError::MissingBase(_))),
                "{name}: {r:?}"
            );
            assert!(
                matches!(one.run_direct(name), Err(MergeError::MissingBase(_))),
                "{name}"
            );
        } else {
            assert!(r.is_ok(), "{name}: {r:?}");
        }
        let empty = Owned::new(&[3], &[], &[], Some(a));
        assert!(
            matches!(empty.run(name, &Params::new()), Err(MergeError::Empty)),
            "{name}"
        );
        assert!(
            matches!(empty.run_direct(name), Err(MergeError::Empty)),
            "{name}"
        );
        let mut odd = Owned::new(&[3], &[a, a], &[1.0], Some(a));
        assert!(
            matches!(odd.run_direct(name), Err(MergeError::WeightCount { .. })),
            "{name}"
        );
        odd.weights = vec![1.0, 1.0];
        odd.tensors[1] = Tensor::new(vec![1, 3], a.to_vec()).unwrap();
        assert!(
            matches!(odd.run_direct(name), Err(MergeError::ShapeMismatch { .. })),
            "{name}"
        );
        let nan: &[f64] = &[1.0, f64::NAN, 3.0];
        let bad = Owned::new(&[3], &[a, nan], &[1.0, 1.0], Some(a));
        assert!(
            matches!(
                bad.run(name, &Params::new()),
                Err(MergeError::NonFinite { .. })
            ),
            "{name}"
        );
    }
}

#[test]
fn zero_dimensional_tensors_fail_where_the_reference_crashes() {
    let base: &[f64] = &[0.5];
    let inputs = Owned::new(&[], &[&[1.0], &[2.0]], &[1.0, 1.0], Some(base));
    for name in all_names() {
        let r = inputs.run(name, &Params::new());
        if ["star", "adarank", "svd_knot_tying"].contains(&name) {
            assert!(
                matches!(r, Err(MergeError::ZeroDimensional(_))),
                "{name}: {r:?}"
            );
        } else {
            let t = r.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(t.shape(), &[] as &[usize], "{name}");
        }
    }
    // n = 1 returns the input before the 0-d crash, as in the reference.
    let single = Owned::new(&[], &[&[1.0]], &[1.0], Some(base));
    assert_eq!(single.run("star", &Params::new()).unwrap().data(), &[1.0]);
}

#[test]
fn odd_but_valid_inputs_do_not_panic() {
    let z: &[f64] = &[0.0; 6];
    let shapes: [&[usize]; 4] = [&[6], &[2, 3], &[3, 2], &[1, 6]];
    for shape in shapes {
        let zeros = Owned::new(shape, &[z, z, z], &[1.0, 2.0, 3.0], Some(z));
        let x: &[f64] = &[1.0, -1.0, 2.0, 0.0, 0.5, -3.0];
        let mixed = Owned::new(shape, &[x, z, x], &[1.0, 2.0, 3.0], Some(x));
        for name in all_names() {
            for inputs in [&zeros, &mixed] {
                let t = inputs
                    .run(name, &Params::new())
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(t.shape(), shape, "{name}");
                assert!(
                    t.first_non_finite().is_none(),
                    "{name} on {shape:?}: {:?}",
                    t.data()
                );
            }
        }
    }
}

#[test]
fn single_contribution_is_returned_unchanged_except_negative_merge() {
    let x: &[f64] = &[0.3, -1.25, 2.0, 0.1];
    let b: &[f64] = &[0.0, 1.0, -1.0, 0.5];
    let single = Owned::new(&[2, 2], &[x], &[1.5], Some(b));
    for name in all_names() {
        let t = single.run(name, &Params::new()).unwrap();
        match name {
            "negative_merge" => {
                let want: Vec<f64> = x.iter().zip(b).map(|(x, b)| b - 1.0 * (x - b)).collect();
                assert_eq!(t.data(), &want[..]);
            }
            // Computes b + 1.0·(x − b): x up to rounding (spec §1.2).
            "task_arithmetic" => {
                let want: Vec<f64> = x.iter().zip(b).map(|(x, b)| b + 1.0 * (x - b)).collect();
                assert_eq!(t.data(), &want[..]);
                assert_ne!(t.data(), x, "this input is chosen to show the rounding");
            }
            _ => assert_eq!(t.data(), x, "{name}"),
        }
    }
}

#[test]
fn bad_parameters_are_rejected() {
    let a: &[f64] = &[1.0, 2.0, 3.0];
    let inputs = Owned::new(&[3], &[a, a], &[1.0, 1.0], Some(&[0.0, 0.0, 0.0]));
    let with = |k: &str, v: ParamValue| {
        let mut p = Params::new();
        p.insert(k.into(), v);
        p
    };
    let cases = [
        ("ties", with("density", ParamValue::F64(1.5))),
        (
            "ties",
            with("majority_sign_method", ParamValue::Str("vote".into())),
        ),
        (
            "task_arithmetic",
            with("scaling_coefficients", ParamValue::Str("1,2,3".into())),
        ),
        (
            "task_arithmetic",
            with("scaling_coefficients", ParamValue::Str("x".into())),
        ),
        ("adarank", with("target_rank", ParamValue::Str("-1".into()))),
        (
            "negative_merge",
            with("models_to_negate", ParamValue::Str("a".into())),
        ),
        ("dam", with("steps", ParamValue::I64(-1))),
    ];
    for (name, params) in cases {
        let r = inputs.run(name, &params);
        assert!(
            matches!(r, Err(MergeError::BadParameter { .. })),
            "{name}: {r:?}"
        );
    }
}

/// Rewrites one element of a recorded tensor (`path` into the JSON) with
/// `f(old)`, and returns the report for the tampered file.
fn tampered(strategy: &str, path: &[&str], index: usize, f: fn(f64) -> f64) -> FileReport {
    let mut v: serde_json::Value =
        serde_json::from_str(&read(&format!("{strategy}.json"))).unwrap();
    let mut node = &mut v;
    for key in path {
        node = match key.parse::<usize>() {
            Ok(i) => &mut node[i],
            Err(_) => &mut node[*key],
        };
    }
    let hex = &mut node["hex"][index];
    let old = lab_core::conformance::parse_py_hex(hex.as_str().unwrap()).unwrap();
    *hex = serde_json::Value::from(lab_core::conformance::py_hex(f(old)));
    check_file(&cases(), &v.to_string()).unwrap()
}

fn verdict_of(report: &FileReport, label: &str) -> Verdict {
    report
        .cases
        .iter()
        .find(|c| c.label == label)
        .unwrap()
        .verdict
}

#[test]
fn tampered_outputs_are_detected_per_class() {
    let next_ulp = |x: f64| f64::from_bits(x.to_bits() + 1);
    // E: one ulp is a mismatch.
    let r = tampered("ties", &["cases", "0", "output_direct"], 3, next_ulp);
    assert_eq!(
        verdict_of(&r, "A01_gauss_4x6_n3/direct"),
        Verdict::Mismatched
    );
    assert_eq!(r.mismatched, 1);
    // R: one ulp is within tolerance, 1e-9 relative is not.
    let r = tampered("slerp", &["cases", "1", "output_direct"], 0, next_ulp);
    assert_ne!(
        verdict_of(&r, "A02_gauss_16_n3/direct"),
        Verdict::Mismatched
    );
    let r = tampered("slerp", &["cases", "1", "output_direct"], 0, |x| {
        x * (1.0 + 1e-9)
    });
    assert_eq!(
        verdict_of(&r, "A02_gauss_16_n3/direct"),
        Verdict::Mismatched
    );
    // X: no choice of singular-vector signs explains a 1e-6 change.
    let r = tampered("svd_knot_tying", &["cases", "0", "output_direct"], 5, |x| {
        x + 1e-6
    });
    assert_eq!(
        verdict_of(&r, "A01_gauss_4x6_n3/direct"),
        Verdict::Mismatched
    );
    // M: a mean that is no longer bit-identical still passes the z-test…
    let label = "A01_gauss_4x6_n3/monte_carlo 20000 seeds";
    let r = tampered("dare", &["monte_carlo", "0", "mc_mean"], 0, next_ulp);
    assert_eq!(verdict_of(&r, label), Verdict::WithinTolerance);
    // …but not a biased analytic expectation.
    let r = tampered(
        "dare",
        &["monte_carlo", "0", "analytic_expectation"],
        0,
        |x| x + 0.5,
    );
    assert_eq!(verdict_of(&r, label), Verdict::Mismatched);
}
