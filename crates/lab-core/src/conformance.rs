//! Conformance of the reference-family strategies against the vectors
//! recorded from crdt-merge 0.9.5 (`shared/vectors/README.md`).
//!
//! This module is pure: callers read the files and pass their text. The
//! inputs live in `cases.json` ([`CaseSet::parse`]); each per-strategy file
//! is then checked with [`check_file`], which runs every recorded call
//! through the registry and classifies it by the strategy's
//! reproducibility class (spec §1.9, README §9):
//!
//! - **E**: bitwise equality of every element with the `hex` values;
//! - **R**: `err ≤ 1e-12`, **S**: `err ≤ 1e-10` (`whiten` on a matrix with
//!   no more rows than columns: `1e-8`), where
//!   `err = max|port − ref| / max|ref|` (absolute when ref is all zeros);
//! - **X** (svd_knot_tying on matrices): the output must equal the reference
//!   for *some* choice of singular-vector signs (within class S), which is
//!   the sign-invariant content of README §9.3;
//! - **M** (dare, della, dare_ties Monte-Carlo blocks): the per-element mean
//!   and std over the recorded seeds are reproduced bitwise, or else pass
//!   the z-test of README §9.4.
//!
//! [`check_python_random`] checks [`crate::pyrandom`] against
//! `python_random.json`.

use crate::error::MergeError;
use crate::pyrandom::PyRandom;
use crate::strategy::reference::linalg::thin_svd;
use crate::strategy::reference::lowrank::knot_components;
use crate::strategy::reference::util::is_vector_like;
use crate::strategy::{
    find, merge_by_name, reference, resolve_params, MergeInputs, ParamDefault, ParamValue, Params,
    ReproClass, StrategyInfo,
};
use crate::tensor::Tensor;
use serde::Serialize;
use serde_json::Value;

/// Why a vector file could not be checked at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConformanceError {
    /// The text is not JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A field is missing or has the wrong type.
    #[error("unexpected vector format: {0}")]
    Format(String),
    /// The file names a strategy the registry does not have.
    #[error("strategy '{0}' is not registered")]
    UnknownStrategy(String),
    /// A record refers to a case that `cases.json` does not define.
    #[error("case '{0}' is not in cases.json")]
    UnknownCase(String),
}

/// How one recorded call compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Bit-identical to the reference.
    Exact,
    /// Not bit-identical, but within the class's tolerance (or property).
    WithinTolerance,
    /// Outside the class's tolerance, or a different error / no error.
    Mismatched,
    /// Not checked; `note` says why.
    Skipped,
}

/// One checked call.
#[derive(Clone, Debug, Serialize)]
pub struct CaseOutcome {
    /// What was checked, e.g. `A01_gauss_4x6_n3/direct`.
    pub label: String,
    /// The class it was judged by.
    pub class: ReproClass,
    /// How it compared.
    pub verdict: Verdict,
    /// `max|port − ref| / max|ref|` where a tensor was compared.
    pub rel_error: Option<f64>,
    /// Details: the tolerance used, the first differing element, the z-score.
    pub note: String,
}

/// The result of checking one per-strategy vector file.
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    /// The strategy name from the file.
    pub strategy: String,
    /// The strategy's class from the registry.
    pub class: ReproClass,
    /// Every checked call, in file order.
    pub cases: Vec<CaseOutcome>,
    /// Number of [`Verdict::Exact`] outcomes.
    pub exact: usize,
    /// Number of [`Verdict::WithinTolerance`] outcomes.
    pub within_tolerance: usize,
    /// Number of [`Verdict::Mismatched`] outcomes.
    pub mismatched: usize,
    /// Number of [`Verdict::Skipped`] outcomes.
    pub skipped: usize,
    /// Largest `rel_error` over all compared tensors (0 if all exact).
    pub worst_rel_error: f64,
}

impl FileReport {
    fn new(strategy: &str, class: ReproClass, cases: Vec<CaseOutcome>) -> FileReport {
        let count = |v: Verdict| cases.iter().filter(|c| c.verdict == v).count();
        let worst = cases.iter().filter_map(|c| c.rel_error).fold(0.0, f64::max);
        FileReport {
            strategy: strategy.to_string(),
            class,
            exact: count(Verdict::Exact),
            within_tolerance: count(Verdict::WithinTolerance),
            mismatched: count(Verdict::Mismatched),
            skipped: count(Verdict::Skipped),
            worst_rel_error: worst,
            cases,
        }
    }
}

// ---------------------------------------------------------------------------
// Hex floats and tensors
// ---------------------------------------------------------------------------

/// Parses Python's `float.hex()` notation exactly (README §2.3): normal
/// numbers, subnormals, signed zeros, `inf`, `-inf` and `nan`.
pub fn parse_py_hex(s: &str) -> Option<f64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let v = match body {
        "inf" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => parse_hex_magnitude(body)?,
    };
    Some(if neg { -v } else { v })
}

fn parse_hex_magnitude(body: &str) -> Option<f64> {
    let rest = body.strip_prefix("0x")?;
    let (mant, exp) = rest.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (lead, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if frac.len() > 13 || !frac.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bits = if frac.is_empty() {
        0
    } else {
        u64::from_str_radix(frac, 16).ok()? << (4 * (13 - frac.len()))
    };
    match lead {
        "1" if (-1022..=1023).contains(&exp) => {
            Some(f64::from_bits(((exp + 1023) as u64) << 52 | bits))
        }
        "0" if bits == 0 => Some(0.0),
        "0" if exp == -1022 => Some(f64::from_bits(bits)),
        _ => None,
    }
}

/// Formats a float in Python's `float.hex()` notation (for readable
/// mismatch notes).
pub fn py_hex(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x.is_infinite() {
        return format!("{sign}inf");
    }
    let bits = x.to_bits();
    let (e, frac) = (((bits >> 52) & 0x7ff) as i32, bits & ((1u64 << 52) - 1));
    match (e, frac) {
        (0, 0) => format!("{sign}0x0.0p+0"),
        (0, f) => format!("{sign}0x0.{f:013x}p-1022"),
        (e, f) => format!("{sign}0x1.{f:013x}p{:+}", e - 1023),
    }
}

fn field<'a>(v: &'a Value, key: &str) -> Result<&'a Value, ConformanceError> {
    v.get(key)
        .ok_or_else(|| ConformanceError::Format(format!("missing field '{key}'")))
}

fn as_str<'a>(v: &'a Value, key: &str) -> Result<&'a str, ConformanceError> {
    field(v, key)?
        .as_str()
        .ok_or_else(|| ConformanceError::Format(format!("'{key}' is not a string")))
}

fn as_array<'a>(v: &'a Value, key: &str) -> Result<&'a [Value], ConformanceError> {
    field(v, key)?
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| ConformanceError::Format(format!("'{key}' is not an array")))
}

/// A tensor object `{shape, data, hex}`; the `hex` values are normative.
fn tensor_of(v: &Value) -> Result<Tensor, ConformanceError> {
    let bad = |m: &str| ConformanceError::Format(format!("tensor: {m}"));
    let shape = as_array(v, "shape")?
        .iter()
        .map(|d| {
            d.as_u64()
                .map(|d| d as usize)
                .ok_or_else(|| bad("bad dimension"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let data = as_array(v, "hex")?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(parse_py_hex)
                .ok_or_else(|| bad("bad hex value"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Tensor::new(shape, data).map_err(|e| bad(&e.to_string()))
}

/// A tensor field that may be `null` (on error).
fn opt_tensor(v: &Value, key: &str) -> Result<Option<Tensor>, ConformanceError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(t) => tensor_of(t).map(Some),
    }
}

// ---------------------------------------------------------------------------
// Input cases
// ---------------------------------------------------------------------------

/// Contributions in one order: ids, tensors and weights aligned.
#[derive(Clone, Debug)]
struct Ordered {
    ids: Vec<String>,
    tensors: Vec<Tensor>,
    weights: Vec<f64>,
}

/// One input case of `cases.json`.
#[derive(Clone, Debug)]
pub struct InputCase {
    /// The case id, e.g. `A01_gauss_4x6_n3`.
    pub id: String,
    canonical: Ordered,
    insertion: Ordered,
    base: Tensor,
}

/// The parsed `cases.json`: the inputs every per-strategy file refers to.
#[derive(Clone, Debug)]
pub struct CaseSet {
    /// The cases in file order.
    pub cases: Vec<InputCase>,
}

impl CaseSet {
    /// Parses the text of `cases.json`.
    pub fn parse(json: &str) -> Result<CaseSet, ConformanceError> {
        let v: Value =
            serde_json::from_str(json).map_err(|e| ConformanceError::Json(e.to_string()))?;
        let cases = as_array(&v, "cases")?
            .iter()
            .map(parse_case)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CaseSet { cases })
    }

    fn get(&self, id: &str) -> Result<&InputCase, ConformanceError> {
        self.cases
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| ConformanceError::UnknownCase(id.to_string()))
    }
}

fn parse_case(v: &Value) -> Result<InputCase, ConformanceError> {
    let order = |key: &str| -> Result<Ordered, ConformanceError> {
        let mut o = Ordered {
            ids: Vec::new(),
            tensors: Vec::new(),
            weights: Vec::new(),
        };
        for id in as_array(v, key)? {
            let id = id
                .as_str()
                .ok_or_else(|| ConformanceError::Format("id is not a string".into()))?;
            o.tensors
                .push(tensor_of(field(field(v, "tensors_by_id")?, id)?)?);
            let w = field(field(v, "weights_by_id")?, id)?.as_f64();
            o.weights
                .push(w.ok_or_else(|| ConformanceError::Format("weight is not a number".into()))?);
            o.ids.push(id.to_string());
        }
        Ok(o)
    };
    Ok(InputCase {
        id: as_str(v, "id")?.to_string(),
        canonical: order("canonical_order_ids")?,
        insertion: order("insertion_order_ids")?,
        base: tensor_of(field(v, "base")?)?,
    })
}

// ---------------------------------------------------------------------------
// Running the port
// ---------------------------------------------------------------------------

/// One call of the port: the inputs in some order, the base if passed, the
/// seed, and the parameters.
struct Call<'a> {
    order: &'a Ordered,
    base: Option<&'a Tensor>,
    seed: u64,
    params: Params,
    /// `fisher_matrices`, which no parameter value can carry.
    fisher: Option<Vec<Tensor>>,
}

impl Call<'_> {
    fn run(&self, name: &str) -> Result<Tensor, MergeError> {
        let ids: Vec<&str> = self.order.ids.iter().map(String::as_str).collect();
        let tensors: Vec<&Tensor> = self.order.tensors.iter().collect();
        let inputs = MergeInputs {
            ids: &ids,
            tensors: &tensors,
            weights: &self.order.weights,
            base: self.base,
            seed: self.seed,
            tensor_key: "",
        };
        match &self.fisher {
            Some(f) => {
                let f: Vec<&Tensor> = f.iter().collect();
                reference::fisher_merge_with(&inputs, &f)
            }
            None => merge_by_name(name, &inputs, &self.params),
        }
    }
}

// ---------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------

/// How a tensor is judged.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// Bitwise only.
    Bitwise,
    /// Bitwise, else within the tolerance (classes R and S).
    Tolerance(f64),
    /// Bitwise expected natively; within 1e-12 accepted where libm rounds
    /// `gauss`'s cos/sin/log differently from glibc (spec §1.9 ¹).
    BitwiseOrLibm,
}

/// `max|a − r| / max|r|` (absolute when `r` is all zeros).
pub fn rel_error(port: &[f64], reference: &[f64]) -> f64 {
    let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = port
        .iter()
        .zip(reference)
        .fold(0.0f64, |m, (a, r)| m.max((a - r).abs()));
    let diff = if port.iter().chain(reference).any(|v| v.is_nan()) {
        f64::INFINITY
    } else {
        diff
    };
    if scale == 0.0 {
        diff
    } else {
        diff / scale
    }
}

fn bitwise_equal(a: &Tensor, b: &Tensor) -> bool {
    a.shape() == b.shape()
        && a.data()
            .iter()
            .zip(b.data())
            .all(|(x, y)| x.to_bits() == y.to_bits())
}

/// The first element whose bits differ, in hex notation.
fn first_difference(a: &Tensor, b: &Tensor) -> String {
    match a
        .data()
        .iter()
        .zip(b.data())
        .position(|(x, y)| x.to_bits() != y.to_bits())
    {
        Some(j) => format!(
            "element {j}: port {} vs reference {}",
            py_hex(a.data()[j]),
            py_hex(b.data()[j])
        ),
        None => String::new(),
    }
}

fn outcome(
    label: &str,
    class: ReproClass,
    verdict: Verdict,
    err: Option<f64>,
    note: String,
) -> CaseOutcome {
    CaseOutcome {
        label: label.to_string(),
        class,
        verdict,
        rel_error: err,
        note,
    }
}

/// Judges one port result against one reference tensor.
fn judge(
    label: &str,
    class: ReproClass,
    rule: Rule,
    port: &Tensor,
    reference: &Tensor,
) -> CaseOutcome {
    if port.shape() != reference.shape() {
        let note = format!(
            "shape {:?} vs reference {:?}",
            port.shape(),
            reference.shape()
        );
        return outcome(label, class, Verdict::Mismatched, None, note);
    }
    if bitwise_equal(port, reference) {
        return outcome(label, class, Verdict::Exact, Some(0.0), String::new());
    }
    let err = rel_error(port.data(), reference.data());
    let diff = first_difference(port, reference);
    let (tol, why) = match rule {
        Rule::Bitwise => (None, "bitwise required"),
        Rule::Tolerance(t) => (Some(t), "tolerance"),
        Rule::BitwiseOrLibm => (Some(1e-12), "libm-vs-glibc allowance of spec §1.9"),
    };
    match tol {
        Some(t) if err <= t => {
            let note = format!("err {err:.3e} ≤ {t:.0e} ({why}); first difference at {diff}");
            outcome(label, class, Verdict::WithinTolerance, Some(err), note)
        }
        _ => {
            let note = format!("err {err:.3e} ({why}); first difference at {diff}");
            outcome(label, class, Verdict::Mismatched, Some(err), note)
        }
    }
}

/// Expected error kinds for the reference's recorded exceptions.
fn error_matches(expected: &Value, got: &MergeError) -> bool {
    let ty = expected.get("type").and_then(Value::as_str).unwrap_or("");
    let msg = expected
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("");
    match got {
        MergeError::ZeroWeightSum => msg.contains("Sum of weights"),
        MergeError::MissingBase(_) => msg.contains("requires base"),
        MergeError::ZeroDimensional(_) => ty == "IndexError",
        MergeError::Empty => msg.contains("zero tensors") || msg.contains("empty"),
        MergeError::WeightCount { .. } => ty == "ValueError" && msg.contains("weight"),
        MergeError::ShapeMismatch { .. } => msg.contains("shape"),
        MergeError::BadParameter { .. } | MergeError::Invalid(_) => ty == "ValueError",
        _ => false,
    }
}

/// Judges a port result (or error) against a reference output (or error).
fn judge_result(
    label: &str,
    class: ReproClass,
    rule: Rule,
    port: &Result<Tensor, MergeError>,
    reference: Option<&Tensor>,
    expected_error: Option<&Value>,
) -> CaseOutcome {
    match (port, reference, expected_error) {
        (Ok(p), Some(r), _) => judge(label, class, rule, p, r),
        (Err(e), None, Some(x)) if error_matches(x, e) => outcome(
            label,
            class,
            Verdict::Exact,
            None,
            format!("same error kind: {e}"),
        ),
        (Err(e), None, Some(x)) => outcome(
            label,
            class,
            Verdict::Mismatched,
            None,
            format!("error {e} vs reference {x}"),
        ),
        (Err(e), _, _) => outcome(
            label,
            class,
            Verdict::Mismatched,
            None,
            format!("port failed: {e}"),
        ),
        (Ok(_), None, x) => outcome(
            label,
            class,
            Verdict::Mismatched,
            None,
            format!("port succeeded where the reference raised {x:?}"),
        ),
    }
}

// ---------------------------------------------------------------------------
// Per-file checks
// ---------------------------------------------------------------------------

/// What a file check needs at every step.
struct Ctx<'a> {
    name: &'a str,
    info: &'a StrategyInfo,
    cases: &'a CaseSet,
    passes_base: bool,
    defaults: Params,
}

/// Checks one per-strategy vector file (the text of `<strategy>.json`)
/// against the port, using the inputs of `cases`.
pub fn check_file(cases: &CaseSet, json: &str) -> Result<FileReport, ConformanceError> {
    let v: Value = serde_json::from_str(json).map_err(|e| ConformanceError::Json(e.to_string()))?;
    let name = as_str(&v, "strategy")?;
    let strategy = find(name).ok_or_else(|| ConformanceError::UnknownStrategy(name.to_string()))?;
    let info = strategy.info();
    let passes_base = field(field(&v, "resolve_passes")?, "base")?
        .as_bool()
        .unwrap_or(info.needs_base);
    let defaults = resolve_params(info, &Params::new())
        .map_err(|e| ConformanceError::Format(e.to_string()))?;
    let ctx = Ctx {
        name,
        info,
        cases,
        passes_base,
        defaults,
    };
    let mut out = Vec::new();
    for rec in as_array(&v, "cases")? {
        out.extend(check_record(&ctx, rec)?);
    }
    for (i, var) in as_array(&v, "param_variants")?.iter().enumerate() {
        out.push(check_variant(&ctx, i, var)?);
    }
    if let Some(Value::Array(checks)) = v.get("stochastic_checks") {
        for chk in checks {
            out.extend(check_stochastic(&ctx, chk)?);
        }
    }
    if let Some(Value::Array(blocks)) = v.get("monte_carlo") {
        for blk in blocks {
            out.push(check_monte_carlo(&ctx, blk)?);
        }
    }
    Ok(FileReport::new(name, info.class, out))
}

/// The rule and class for a default-parameter call on `case`.
fn rule_for(ctx: &Ctx<'_>, case: &InputCase) -> (ReproClass, Rule) {
    match ctx.info.class {
        ReproClass::E | ReproClass::M if is_optimiser(ctx.name) => {
            (ReproClass::E, Rule::BitwiseOrLibm)
        }
        ReproClass::E | ReproClass::M => (ReproClass::E, Rule::Bitwise),
        ReproClass::R => (ReproClass::R, Rule::Tolerance(1e-12)),
        ReproClass::S => (ReproClass::S, Rule::Tolerance(1e-10)),
        ReproClass::X => knot_rule(case),
    }
}

fn is_optimiser(name: &str) -> bool {
    name == "evolutionary_merge" || name == "genetic_merge"
}

/// svd_knot_tying: the 1-D paths and n = 1 are class E; identical inputs
/// are class S (Q = I); other matrix cases are class X.
fn knot_rule(case: &InputCase) -> (ReproClass, Rule) {
    let t = &case.canonical.tensors;
    if t.len() == 1 || is_vector_like(t[0].shape()) {
        (ReproClass::E, Rule::Bitwise)
    } else if t.windows(2).all(|w| bitwise_equal(&w[0], &w[1])) {
        (ReproClass::S, Rule::Tolerance(1e-10))
    } else {
        (ReproClass::X, Rule::Tolerance(1e-10))
    }
}

fn case_base<'a>(ctx: &Ctx<'_>, case: &'a InputCase) -> Option<&'a Tensor> {
    ctx.passes_base.then_some(&case.base)
}

/// One port call to compare with one recorded output of a `cases[]` record.
struct Probe<'a> {
    /// Label suffix: `direct`, `insertion_order`, …
    what: &'a str,
    /// The order the port was called with (svd_knot_tying's reference model
    /// is the first of it).
    order: &'a Ordered,
    got: Result<Tensor, MergeError>,
    /// The record's output and error fields.
    keys: (&'a str, &'a str),
}

/// One `cases[]` record: direct, insertion order, state (and
/// dual_projection's direct call with a base), plus the port's own
/// state-equals-direct check.
fn check_record(ctx: &Ctx<'_>, rec: &Value) -> Result<Vec<CaseOutcome>, ConformanceError> {
    let case = ctx.cases.get(as_str(rec, "case_id")?)?;
    let (class, rule) = rule_for(ctx, case);
    let run = |order, base, use_base: bool| {
        let mut params = ctx.defaults.clone();
        if use_base {
            params.insert("use_base".into(), ParamValue::Bool(true));
        }
        let call = Call {
            order,
            base,
            seed: 42,
            params,
            fisher: None,
        };
        call.run(ctx.name)
    };
    let (canon, ins) = (&case.canonical, &case.insertion);
    let mut probes = vec![
        Probe {
            what: "direct",
            order: canon,
            got: run(canon, case_base(ctx, case), false),
            keys: ("output_direct", "error_direct"),
        },
        Probe {
            what: "insertion_order",
            order: ins,
            got: run(ins, case_base(ctx, case), false),
            keys: ("output_insertion_order", "error_insertion_order"),
        },
        // A lab replica always has the base; the strategy decides whether
        // to use it (resolve() passes it only to BASE_REQUIRED).
        Probe {
            what: "state",
            order: canon,
            got: run(canon, Some(&case.base), false),
            keys: ("output_state", "error_state"),
        },
    ];
    if rec.get("output_direct_with_base").is_some() {
        probes.push(Probe {
            what: "direct_with_base",
            order: canon,
            got: run(canon, Some(&case.base), true),
            keys: ("output_direct_with_base", "error_direct_with_base"),
        });
    }
    let mut out = probes
        .iter()
        .map(|p| compare(ctx, case, (class, rule), p, rec))
        .collect::<Result<Vec<_>, _>>()?;
    out.push(state_equals_direct(
        case,
        class,
        &probes[2].got,
        &probes[0].got,
    ));
    Ok(out)
}

/// Compares a probe with the reference fields of `rec`.
fn compare(
    ctx: &Ctx<'_>,
    case: &InputCase,
    (class, rule): (ReproClass, Rule),
    probe: &Probe<'_>,
    rec: &Value,
) -> Result<CaseOutcome, ConformanceError> {
    let label = format!("{}/{}", case.id, probe.what);
    let reference = opt_tensor(rec, probe.keys.0)?;
    if class == ReproClass::X {
        if let (Ok(p), Some(r)) = (&probe.got, &reference) {
            let knot = KnotCall {
                order: probe.order,
                base: &case.base,
                params: &ctx.defaults,
            };
            return Ok(judge_knot_signs(&label, &knot, p, r));
        }
    }
    let err = rec.get(probe.keys.1).filter(|e| !e.is_null());
    Ok(judge_result(
        &label,
        class,
        rule,
        &probe.got,
        reference.as_ref(),
        err,
    ))
}

/// The port's state path must give the same bits as its direct path.
fn state_equals_direct(
    case: &InputCase,
    class: ReproClass,
    state: &Result<Tensor, MergeError>,
    direct: &Result<Tensor, MergeError>,
) -> CaseOutcome {
    let label = format!("{}/state_equals_direct", case.id);
    let same = match (state, direct) {
        (Ok(a), Ok(b)) => bitwise_equal(a, b),
        (Err(a), Err(b)) => a == b,
        _ => false,
    };
    if same {
        outcome(
            &label,
            class,
            Verdict::Exact,
            None,
            "port state path == port direct path".into(),
        )
    } else {
        outcome(
            &label,
            class,
            Verdict::Mismatched,
            None,
            "port state path differs from its direct path".into(),
        )
    }
}

// ---------------------------------------------------------------------------
// Parameter variants
// ---------------------------------------------------------------------------

/// Converts a variant's `kwargs` to the strategy's parameters.
fn variant_params(
    ctx: &Ctx<'_>,
    kwargs: &serde_json::Map<String, Value>,
) -> Result<(Params, Option<Vec<Tensor>>), String> {
    let mut params = Params::new();
    let mut fisher = None;
    for (key, val) in kwargs {
        if key == "fisher_matrices" {
            let list = val.as_array().ok_or("fisher_matrices is not a list")?;
            let t = list.iter().map(tensor_of).collect::<Result<Vec<_>, _>>();
            fisher = Some(t.map_err(|e| e.to_string())?);
            continue;
        }
        let spec = ctx
            .info
            .params
            .iter()
            .find(|p| p.name == key)
            .ok_or_else(|| format!("no parameter '{key}'"))?;
        params.insert(key.clone(), json_param(spec.default, val)?);
    }
    Ok((params, fisher))
}

/// One JSON keyword value as a parameter of the spec's type: lists and
/// numbers become strings for string parameters (`"0.5,1,0.3"`).
fn json_param(default: ParamDefault, val: &Value) -> Result<ParamValue, String> {
    let as_text = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.as_f64().map_or(n.to_string(), |f| {
            if n.is_f64() {
                format!("{f:?}")
            } else {
                n.to_string()
            }
        })),
        other => Err(format!("unsupported value {other}")),
    };
    match (default, val) {
        (ParamDefault::Str(_), Value::Array(items)) => {
            let parts = items.iter().map(as_text).collect::<Result<Vec<_>, _>>()?;
            Ok(ParamValue::Str(parts.join(",")))
        }
        (ParamDefault::Str(_), v) => as_text(v).map(ParamValue::Str),
        (ParamDefault::Bool(_), Value::Bool(b)) => Ok(ParamValue::Bool(*b)),
        (_, Value::Number(n)) if n.is_i64() => Ok(ParamValue::I64(n.as_i64().unwrap_or(0))),
        (_, Value::Number(n)) => n.as_f64().map(ParamValue::F64).ok_or("bad number".into()),
        (_, other) => Err(format!("unsupported value {other}")),
    }
}

/// The class and rule of a parameter variant on `case`.
fn variant_rule(ctx: &Ctx<'_>, case: &InputCase, params: &Params) -> (ReproClass, Rule) {
    let text = |k: &str| match params.get(k) {
        Some(ParamValue::Str(s)) => s.clone(),
        _ => String::new(),
    };
    if ctx.name == "representation_surgery" && text("correction_method") == "whiten" {
        let shape = case.base.shape();
        let wide = shape.len() == 2 && shape[0] <= shape[1];
        return (
            ReproClass::S,
            Rule::Tolerance(if wide { 1e-8 } else { 1e-10 }),
        );
    }
    if ctx.name == "svd_knot_tying" && text("alignment_method") == "none" {
        return (ReproClass::S, Rule::Tolerance(1e-10));
    }
    rule_for(ctx, case)
}

fn check_variant(ctx: &Ctx<'_>, i: usize, var: &Value) -> Result<CaseOutcome, ConformanceError> {
    let case = ctx.cases.get(as_str(var, "case_id")?)?;
    let kwargs = field(var, "kwargs")?
        .as_object()
        .ok_or_else(|| ConformanceError::Format("kwargs is not an object".into()))?;
    let label = format!("variant[{i}] {} {}", case.id, Value::Object(kwargs.clone()));
    let (mut params, fisher) = match variant_params(ctx, kwargs) {
        Ok(p) => p,
        Err(why) => return Ok(outcome(&label, ctx.info.class, Verdict::Skipped, None, why)),
    };
    let seed = field(var, "seed")?.as_i64();
    let base_passed = field(var, "base_passed")?.as_bool().unwrap_or(false);
    let has = |n: &str| ctx.info.params.iter().any(|p| p.name == n);
    if let (Some(s), false, true) = (seed, ctx.info.stochastic, has("seed")) {
        params.insert("seed".into(), ParamValue::I64(s));
    }
    if base_passed && has("use_base") {
        params.insert("use_base".into(), ParamValue::Bool(true));
    }
    let (class, rule) = variant_rule(ctx, case, &params);
    let call = Call {
        order: &case.canonical,
        base: base_passed.then_some(&case.base),
        seed: if ctx.info.stochastic {
            seed.unwrap_or(42) as u64
        } else {
            42
        },
        params: params.clone(),
        fisher,
    };
    let got = call.run(ctx.name);
    let reference = opt_tensor(var, "output")?;
    if class == ReproClass::X {
        if let (Ok(p), Some(r)) = (&got, &reference) {
            let full = resolve_params(ctx.info, &params).unwrap_or_default();
            let knot = KnotCall {
                order: &case.canonical,
                base: &case.base,
                params: &full,
            };
            return Ok(judge_knot_signs(&label, &knot, p, r));
        }
    }
    let err = var.get("error").filter(|e| !e.is_null());
    Ok(judge_result(
        &label,
        class,
        rule,
        &got,
        reference.as_ref(),
        err,
    ))
}

// ---------------------------------------------------------------------------
// Class X: svd_knot_tying up to singular-vector signs
// ---------------------------------------------------------------------------

/// The inputs of an svd_knot_tying call, for re-deriving its terms.
struct KnotCall<'a> {
    order: &'a Ordered,
    base: &'a Tensor,
    params: &'a Params,
}

/// Largest number of sign products searched exhaustively; above it, the
/// least-squares fit is rounded.
const SIGN_SEARCH_BITS_MAX: usize = 20;

/// svd_knot_tying's aligned term `R_i` depends on the SVD's signs only
/// through one product `ε_ik ∈ {±1}` per (model i > 0, component k):
/// re-signing model i's pairs by `D_i` and the reference's by `D_ref` gives
/// `R_i = U_i Q diag(S_i) (D_ref D_i) V_iᵀ`. So the reference output must
/// equal `b + Σ ŵ_i R_i(ε)` for some ε; this finds the best ε exhaustively
/// and judges that fit at class S. It also checks the port's own output
/// (all ε = +1) has the input shape and is finite.
fn judge_knot_signs(
    label: &str,
    knot: &KnotCall<'_>,
    port: &Tensor,
    reference: &Tensor,
) -> CaseOutcome {
    let class = ReproClass::X;
    if port.shape() != reference.shape() || port.first_non_finite().is_some() {
        let why = "shape or finiteness property failed".to_string();
        return outcome(label, class, Verdict::Mismatched, None, why);
    }
    let fit = match fit_signs(knot, reference) {
        Ok(f) => f,
        Err(e) => {
            let why = format!("port failed: {e}");
            return outcome(label, class, Verdict::Mismatched, None, why);
        }
    };
    let Some((pattern, err, count)) = fit else {
        let why = "the sign products are not determined by the output".to_string();
        return outcome(label, class, Verdict::Skipped, None, why);
    };
    let note = format!(
        "best fit over {count} singular-vector sign products: pattern {pattern}, err {err:.3e} (class S tolerance 1e-10)",
    );
    let verdict = if err <= 1e-10 {
        Verdict::WithinTolerance
    } else {
        Verdict::Mismatched
    };
    outcome(label, class, verdict, Some(err), note)
}

/// The best sign pattern for `reference`, its relative error and the
/// number of sign products; `None` when the output does not determine them.
fn fit_signs(
    knot: &KnotCall<'_>,
    reference: &Tensor,
) -> Result<Option<(String, f64, usize)>, MergeError> {
    let ids: Vec<&str> = knot.order.ids.iter().map(String::as_str).collect();
    let tensors: Vec<&Tensor> = knot.order.tensors.iter().collect();
    let inputs = MergeInputs {
        ids: &ids,
        tensors: &tensors,
        weights: &knot.order.weights,
        base: Some(knot.base),
        seed: 42,
        tensor_key: "",
    };
    let (terms, fixed) = knot_sign_terms(&inputs, knot.base, knot.params)?;
    let target: Vec<f64> = reference
        .data()
        .iter()
        .zip(&fixed)
        .map(|(r, f)| r - f)
        .collect();
    let fit = if terms.len() <= SIGN_SEARCH_BITS_MAX {
        Some(best_sign_fit(&terms, &target, reference.data()))
    } else {
        least_squares_sign_fit(&terms, &target, reference.data())
    };
    Ok(fit.map(|(p, e)| (p, e, terms.len())))
}

/// The sign-dependent terms `ŵ_i s_ik (UQ)_k v_ikᵀ` (i > 0) and the fixed
/// part `b + ŵ_0 R_0`.
fn knot_sign_terms(
    inputs: &MergeInputs<'_>,
    base: &Tensor,
    params: &Params,
) -> Result<(Vec<Vec<f64>>, Vec<f64>), MergeError> {
    let w = crate::strategy::normalised_weights(inputs.weights)?;
    let comps = knot_components(inputs, base, params)?;
    let fixed: Vec<f64> = comps[0]
        .recompose(None)
        .iter()
        .zip(base.data())
        .map(|(r, b)| b + w[0] * r)
        .collect();
    let mut terms = Vec::new();
    for (c, &wi) in comps.iter().zip(&w).skip(1) {
        for k in 0..c.s.len() {
            let mut signs = vec![0.0; c.s.len()];
            signs[k] = 1.0;
            terms.push(c.recompose(Some(&signs)).iter().map(|v| wi * v).collect());
        }
    }
    Ok((terms, fixed))
}

/// Exhaustive search over `±1` coefficients (Gray-code order) minimising
/// `max_j |Σ_t ε_t T_tj − target_j|`; returns the best pattern (`-` where
/// ε = −1) and that residual relative to `max|scale_of|`.
fn best_sign_fit(terms: &[Vec<f64>], target: &[f64], scale_of: &[f64]) -> (String, f64) {
    let mut sum = vec![0.0; target.len()];
    for t in terms {
        sum.iter_mut().zip(t).for_each(|(s, v)| *s += v);
    }
    let (mut pattern, mut best) = (0u64, (0u64, max_residual(&sum, target)));
    for g in 1u64..(1u64 << terms.len()) {
        let j = g.trailing_zeros() as usize;
        pattern ^= 1 << j;
        let step = if pattern & (1 << j) != 0 { -2.0 } else { 2.0 };
        sum.iter_mut()
            .zip(&terms[j])
            .for_each(|(s, v)| *s += step * v);
        let e = max_residual(&sum, target);
        if e < best.1 {
            best = (pattern, e);
        }
    }
    let signs: Vec<f64> = (0..terms.len())
        .map(|j| if best.0 & (1 << j) != 0 { -1.0 } else { 1.0 })
        .collect();
    (sign_pattern(&signs), best.1 / max_abs(scale_of))
}

/// For many sign products: the least-squares coefficients (through the
/// SVD), rounded to ±1, then the residual of that choice. `None` when the
/// output does not determine them (fewer elements than products).
fn least_squares_sign_fit(
    terms: &[Vec<f64>],
    target: &[f64],
    scale_of: &[f64],
) -> Option<(String, f64)> {
    let (d, k) = (target.len(), terms.len());
    if d < k {
        return None;
    }
    let a: Vec<f64> = (0..d * k).map(|i| terms[i % k][i / k]).collect();
    let svd = thin_svd(d, k, &a)?;
    let cutoff = svd.s.first().copied().unwrap_or(0.0) * 1e-12;
    let mut coef = vec![0.0; k];
    for (c, &sc) in svd.s.iter().enumerate().filter(|(_, &s)| s > cutoff) {
        let proj = (0..d).fold(0.0, |acc, r| acc + svd.u[(r, c)] * target[r]) / sc;
        (0..k).for_each(|j| coef[j] += svd.vt[(c, j)] * proj);
    }
    let signs: Vec<f64> = coef
        .iter()
        .map(|c| if *c < 0.0 { -1.0 } else { 1.0 })
        .collect();
    let mut sum = vec![0.0; d];
    for (t, e) in terms.iter().zip(&signs) {
        sum.iter_mut().zip(t).for_each(|(s, v)| *s += e * v);
    }
    Some((
        sign_pattern(&signs),
        max_residual(&sum, target) / max_abs(scale_of),
    ))
}

fn max_residual(sum: &[f64], target: &[f64]) -> f64 {
    sum.iter()
        .zip(target)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
}

/// `max|v|`, or 1 for an all-zero slice (absolute error then).
fn max_abs(v: &[f64]) -> f64 {
    match v.iter().fold(0.0f64, |m, x| m.max(x.abs())) {
        0.0 => 1.0,
        m => m,
    }
}

/// `+`/`-` per sign product.
fn sign_pattern(signs: &[f64]) -> String {
    signs
        .iter()
        .map(|&e| if e < 0.0 { '-' } else { '+' })
        .collect()
}

// ---------------------------------------------------------------------------
// Stochastic checks and Monte-Carlo blocks
// ---------------------------------------------------------------------------

fn check_stochastic(ctx: &Ctx<'_>, chk: &Value) -> Result<Vec<CaseOutcome>, ConformanceError> {
    let case = ctx.cases.get(as_str(chk, "case_id")?)?;
    let (class, rule) = rule_for(ctx, case);
    let seeds = field(chk, "seeds")?
        .as_object()
        .ok_or_else(|| ConformanceError::Format("seeds is not an object".into()))?;
    let mut out = Vec::new();
    for (seed_text, rec) in seeds {
        let seed: u64 = seed_text
            .parse()
            .map_err(|_| ConformanceError::Format(format!("seed '{seed_text}'")))?;
        let call = Call {
            order: &case.canonical,
            base: case_base(ctx, case),
            seed,
            params: ctx.defaults.clone(),
            fisher: None,
        };
        let (first, second) = (call.run(ctx.name), call.run(ctx.name));
        let label = format!("{}/seed {seed}", case.id);
        let mut o = judge_result(
            &label,
            class,
            rule,
            &first,
            opt_tensor(rec, "output")?.as_ref(),
            None,
        );
        if first != second {
            o.verdict = Verdict::Mismatched;
            o.note = format!("repeat call differs; {}", o.note);
        }
        out.push(o);
    }
    Ok(out)
}

/// Per-element mean and sample std over seeds `0..n`, summed sequentially
/// in seed order (README §5.5).
fn monte_carlo(
    ctx: &Ctx<'_>,
    case: &InputCase,
    n: u64,
) -> Result<(Vec<f64>, Vec<f64>), MergeError> {
    let runs = (0..n)
        .map(|seed| {
            let call = Call {
                order: &case.canonical,
                base: Some(&case.base),
                seed,
                params: ctx.defaults.clone(),
                fisher: None,
            };
            call.run(ctx.name).map(Tensor::into_data)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let d = case.base.len();
    let nf = n as f64;
    let mean: Vec<f64> = (0..d)
        .map(|j| runs.iter().fold(0.0, |a, r| a + r[j]) / nf)
        .collect();
    let std: Vec<f64> = (0..d)
        .map(|j| {
            let ss = runs.iter().fold(0.0, |a, r| {
                let e = r[j] - mean[j];
                a + e * e
            });
            (ss / (nf - 1.0)).sqrt()
        })
        .collect();
    Ok((mean, std))
}

fn check_monte_carlo(ctx: &Ctx<'_>, blk: &Value) -> Result<CaseOutcome, ConformanceError> {
    let case = ctx.cases.get(as_str(blk, "case_id")?)?;
    let n = field(blk, "n_seeds")?
        .as_u64()
        .ok_or_else(|| ConformanceError::Format("n_seeds".into()))?;
    let label = format!("{}/monte_carlo {n} seeds", case.id);
    let class = ReproClass::M;
    let ref_mean = tensor_of(field(blk, "mc_mean")?)?;
    let ref_std = tensor_of(field(blk, "mc_std_per_element")?)?;
    let expectation = opt_tensor(blk, "analytic_expectation")?;
    let (mean, std) = match monte_carlo(ctx, case, n) {
        Ok(r) => r,
        Err(e) => {
            return Ok(outcome(
                &label,
                class,
                Verdict::Mismatched,
                None,
                format!("port failed: {e}"),
            ))
        }
    };
    let z = match &expectation {
        Some(e) => max_z_one_sample(&mean, &std, e.data(), n as f64),
        None => max_z_two_sample(&mean, &std, ref_mean.data(), ref_std.data(), n as f64),
    };
    let err = rel_error(&mean, ref_mean.data());
    let bits_same = mean
        .iter()
        .zip(ref_mean.data())
        .all(|(a, b)| a.to_bits() == b.to_bits())
        && std
            .iter()
            .zip(ref_std.data())
            .all(|(a, b)| a.to_bits() == b.to_bits());
    let kind = if expectation.is_some() {
        "vs analytic expectation"
    } else {
        "two-sample vs mc_mean"
    };
    let note = format!("max z {z:.3} ({kind}, pass ≤ 5); mean/std bitwise: {bits_same}");
    let verdict = match (bits_same, z <= 5.0) {
        (true, true) => Verdict::Exact,
        (false, true) => Verdict::WithinTolerance,
        _ => Verdict::Mismatched,
    };
    Ok(outcome(&label, class, verdict, Some(err), note))
}

/// `max_j |m_j − E_j| / (s_j/√N)`; a zero std requires `|m − E| ≤ 1e-12·max|E|`.
fn max_z_one_sample(mean: &[f64], std: &[f64], e: &[f64], n: f64) -> f64 {
    let scale = e.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    mean.iter()
        .zip(std)
        .zip(e)
        .map(|((m, s), e)| {
            let dev = (m - e).abs();
            if *s == 0.0 {
                if dev <= 1e-12 * scale {
                    0.0
                } else {
                    f64::INFINITY
                }
            } else {
                dev / (s / n.sqrt())
            }
        })
        .fold(0.0, f64::max)
}

/// `max_j |m_j − r_j| / sqrt(s_j²/N + q_j²/N_ref)` with `N_ref = 20000`.
fn max_z_two_sample(mean: &[f64], std: &[f64], r: &[f64], q: &[f64], n: f64) -> f64 {
    (0..mean.len())
        .map(|j| {
            let dev = (mean[j] - r[j]).abs();
            let se = (std[j] * std[j] / n + q[j] * q[j] / 20_000.0).sqrt();
            if se == 0.0 {
                if dev == 0.0 {
                    0.0
                } else {
                    f64::INFINITY
                }
            } else {
                dev / se
            }
        })
        .fold(0.0, f64::max)
}

// ---------------------------------------------------------------------------
// python_random.json
// ---------------------------------------------------------------------------

/// Result of checking [`PyRandom`] against `python_random.json`.
///
/// The integer outputs (`getrandbits(32)`, `randint`) and `random()` depend
/// only on MT19937 and must match bitwise. `gauss` also goes through
/// `cos`, `sin` and `log`, which the reference takes from glibc and the port
/// from the `libm` crate (platform-independent, but not rounded like glibc
/// in a few percent of arguments, spec §1.9); a `gauss` value that differs
/// is accepted when it is within [`GAUSS_ABS_TOLERANCE`] and counted in
/// `gauss_within_tolerance`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RandomReport {
    /// Seeds checked.
    pub seeds: usize,
    /// Values compared (all sequences of all seeds).
    pub values: usize,
    /// Values that matched bitwise.
    pub exact: usize,
    /// `gauss` values that differ from CPython only at the ulp level.
    pub gauss_within_tolerance: usize,
    /// Human-readable descriptions of every other difference.
    pub mismatches: Vec<String>,
}

/// Largest accepted `|port − cpython|` for a `gauss` value, relative to
/// `max(1, |value|)`: a few ulps of the Box–Muller terms.
pub const GAUSS_ABS_TOLERANCE: f64 = 1e-15;

/// How a drawn value is compared.
#[derive(Clone, Copy, PartialEq)]
enum Draw {
    Bits,
    Gauss,
}

/// Checks every sequence of every seed in `python_random.json`.
pub fn check_python_random(json: &str) -> Result<RandomReport, ConformanceError> {
    let v: Value = serde_json::from_str(json).map_err(|e| ConformanceError::Json(e.to_string()))?;
    let mut report = RandomReport::default();
    for rec in as_array(&v, "seeds")? {
        let seed = as_str(rec, "seed")?;
        report.seeds += 1;
        let fresh = || {
            PyRandom::from_decimal(seed)
                .ok_or_else(|| ConformanceError::Format(format!("seed {seed}")))
        };
        type DrawFn = fn(&mut PyRandom) -> Value;
        let sequences: [(&str, Draw, DrawFn); 6] = [
            ("getrandbits32_first8", Draw::Bits, |r| {
                Value::from(r.getrandbits32())
            }),
            ("random_first16_hex", Draw::Bits, |r| {
                Value::from(py_hex(r.random()))
            }),
            ("gauss_0_1_first8_hex", Draw::Gauss, |r| {
                Value::from(py_hex(r.gauss(0.0, 1.0)))
            }),
            ("gauss_mu_third_sigma_0.3_first6_hex", Draw::Gauss, |r| {
                Value::from(py_hex(r.gauss(1.0 / 3.0, 0.3)))
            }),
            ("randint_0_9_first16", Draw::Bits, |r| {
                Value::from(r.randint(0, 9))
            }),
            ("randint_0_19_first16", Draw::Bits, |r| {
                Value::from(r.randint(0, 19))
            }),
        ];
        for (key, kind, draw) in sequences {
            let mut rng = fresh()?;
            for (i, want) in as_array(rec, key)?.iter().enumerate() {
                let got = draw(&mut rng);
                tally(&mut report, kind, &got, want, || {
                    format!("seed {seed} {key}[{i}]")
                });
            }
        }
        check_interleaved(rec, seed, &mut fresh()?, &mut report)?;
    }
    Ok(report)
}

/// Records one comparison in the report.
fn tally(
    report: &mut RandomReport,
    kind: Draw,
    got: &Value,
    want: &Value,
    what: impl Fn() -> String,
) {
    report.values += 1;
    let as_f64 = |v: &Value| v.as_str().and_then(parse_py_hex);
    let exact = match (as_f64(got), as_f64(want)) {
        (Some(a), Some(b)) => a.to_bits() == b.to_bits(),
        _ => got.as_i64().is_some() && got.as_i64() == want.as_i64(),
    };
    let close = match (kind, as_f64(got), as_f64(want)) {
        (Draw::Gauss, Some(a), Some(b)) => (a - b).abs() <= GAUSS_ABS_TOLERANCE * b.abs().max(1.0),
        _ => false,
    };
    if exact {
        report.exact += 1;
    } else if close {
        report.gauss_within_tolerance += 1;
    } else {
        report
            .mismatches
            .push(format!("{}: {got} vs {want}", what()));
    }
}

fn check_interleaved(
    rec: &Value,
    seed: &str,
    rng: &mut PyRandom,
    report: &mut RandomReport,
) -> Result<(), ConformanceError> {
    for (i, pair) in as_array(rec, "interleaved_random_gauss_randint")?
        .iter()
        .enumerate()
    {
        let label = pair.get(0).and_then(Value::as_str).unwrap_or("");
        let want = pair.get(1).cloned().unwrap_or(Value::Null);
        let (kind, got) = match label {
            "random" => (Draw::Bits, Value::from(py_hex(rng.random()))),
            "gauss(0,0.1)" => (Draw::Gauss, Value::from(py_hex(rng.gauss(0.0, 0.1)))),
            "randint(0,9)" => (Draw::Bits, Value::from(rng.randint(0, 9))),
            other => return Err(ConformanceError::Format(format!("unknown draw '{other}'"))),
        };
        tally(report, kind, &got, &want, || {
            format!("seed {seed} interleaved[{i}] {label}")
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_python_notation() {
        for s in [
            "0x1.5427b6a51d9d6p-2",
            "-0x1.8864d1da35dedp-3",
            "0x1.0000000000000p+0",
            "0x0.0p+0",
            "-0x0.0p+0",
            "0x0.0000000000001p-1022",
        ] {
            let v = parse_py_hex(s).unwrap();
            assert_eq!(py_hex(v), s);
        }
        assert_eq!(parse_py_hex("0x1.8p+1"), Some(3.0));
        assert!(parse_py_hex("0x2.0p+0").is_none());
        assert!(parse_py_hex("-inf").unwrap().is_infinite());
    }

    #[test]
    fn rel_error_is_relative_to_the_reference_scale() {
        assert_eq!(rel_error(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
        assert!((rel_error(&[1.0, 2.5], &[1.0, 2.0]) - 0.25).abs() < 1e-15);
        assert_eq!(rel_error(&[0.5], &[0.0]), 0.5);
    }

    #[test]
    fn sign_fit_finds_a_flipped_term() {
        let terms = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let (bits, err) = best_sign_fit(&terms, &[1.0, -1.0], &[1.0, -1.0]);
        assert_eq!(bits, "+-");
        assert_eq!(err, 0.0);
        let (bits, err) = least_squares_sign_fit(&terms, &[1.0, -1.0], &[1.0, -1.0]).unwrap();
        assert_eq!(bits, "+-");
        assert_eq!(err, 0.0);
    }
}
