//! The report every experiment returns: a versioned schema with the full
//! config (enough to re-run), the results, the verdict and a fingerprint — a
//! BLAKE3 digest over everything that is not a timing. Timings and facts
//! about where the run executed live in [`Execution`], outside the
//! fingerprint, and are filled in by the caller (CLI or browser).

use crate::hash::{Domain, Hasher};
use serde::{Deserialize, Serialize};

/// The report schema version.
pub const SCHEMA: u32 = 1;

/// One named check of a verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// The verdict: passed iff every check passed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub passed: bool,
    pub checks: Vec<Check>,
}

impl Verdict {
    pub fn from_checks(checks: Vec<Check>) -> Verdict {
        Verdict {
            passed: !checks.is_empty() && checks.iter().all(|c| c.passed),
            checks,
        }
    }
}

/// Where and how a run executed, and how long it took. Not fingerprinted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// "native" or "browser".
    pub executor: String,
    /// Number of executors (worker threads or web workers) used.
    pub workers: u32,
    /// Wall-clock duration of the whole run, in milliseconds.
    pub total_ms: f64,
    /// Named phase durations in milliseconds, in execution order.
    pub phases_ms: Vec<(String, f64)>,
    /// Timer resolution the measurement had, in microseconds (browsers clamp
    /// `performance.now()` to 100 µs without cross-origin isolation).
    pub timer_resolution_us: f64,
    /// Free-form environment facts (user agent, cross-origin isolation, …).
    pub environment: Vec<(String, String)>,
}

/// A complete experiment report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report<C, R> {
    pub schema: u32,
    pub experiment: String,
    pub lab_version: String,
    pub config: C,
    pub results: R,
    pub verdict: Verdict,
    /// Hex BLAKE3 digest over (schema, experiment, config, results, verdict).
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<Execution>,
}

impl<C: Serialize, R: Serialize> Report<C, R> {
    /// Builds a report and computes its fingerprint.
    pub fn new(experiment: &str, config: C, results: R, verdict: Verdict) -> Report<C, R> {
        let fingerprint = fingerprint(experiment, &config, &results, &verdict);
        Report {
            schema: SCHEMA,
            experiment: experiment.to_string(),
            lab_version: crate::LAB_VERSION.to_string(),
            config,
            results,
            verdict,
            fingerprint,
            execution: None,
        }
    }

    /// Recomputes the fingerprint from the content (to verify a report).
    pub fn recompute_fingerprint(&self) -> String {
        fingerprint(&self.experiment, &self.config, &self.results, &self.verdict)
    }
}

/// The fingerprint: postcard bytes of each part, length-prefixed, in the
/// fingerprint domain. Floats enter by their exact bits.
pub fn fingerprint<C: Serialize, R: Serialize>(
    experiment: &str,
    config: &C,
    results: &R,
    verdict: &Verdict,
) -> String {
    let mut h = Hasher::new(Domain::Fingerprint);
    h.u32(SCHEMA)
        .field(experiment.as_bytes())
        .field(&encode(config))
        .field(&encode(results))
        .field(&encode(verdict));
    h.finish().to_hex()
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("report parts are encodable")
}
