//! Permalinks: the page's URL query ⇄ a convergence config, plus the
//! browser's own limits (smaller than the engine's: a tab has less memory
//! and patience than `lab-cli`). Reading never fails: every bad parameter
//! becomes a [`QueryIssue`] naming it, and its default is used.

use lab_core::experiment::convergence::ConvergenceConfig;
use lab_core::experiment::params::QueryIssue;

/// Most nodes a browser run may have.
pub const NODES_BROWSER_MAX: u32 = 1_000;
/// Largest tensor side in the browser.
pub const DIM_BROWSER_MAX: u32 = 512;
/// Most orderings per browser run.
pub const ORDERINGS_BROWSER_MAX: u32 = 20;
/// Most workers `?workers=N` may ask for.
pub const WORKERS_MAX: u32 = 16;
/// Most workers spawned by default (from `navigator.hardwareConcurrency`).
pub const WORKERS_DEFAULT_MAX: u32 = 8;
/// Most tensor elements, `(nodes + 1) × dim²`, a browser run may build: every
/// worker holds the whole workload, so this bounds each worker's memory
/// (2^24 f64 = 128 MiB; 1,000 nodes at 128 × 128 fit).
pub const WORKLOAD_ELEMENTS_BROWSER_MAX: u64 = 1 << 24;
/// Longest query string read, in bytes.
const QUERY_BYTES_MAX: usize = 4096;

/// What every page reads from its URL besides its config.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PageOptions {
    /// `workers=N`, when given and valid.
    pub workers: Option<u32>,
    /// `run=1`: start the run on load.
    pub run: bool,
    /// `embed=1`: a chrome-less view for an iframe.
    pub embed: bool,
}

/// Everything a page reads from its URL.
#[derive(Clone, Debug, PartialEq)]
pub struct PageQuery<C> {
    pub config: C,
    /// Parameters that could not be used, in words.
    pub issues: Vec<QueryIssue>,
    pub options: PageOptions,
}

/// Reads `workers`, `run` and `embed`; bad values become issues.
pub fn read_options(pairs: &[(String, String)], issues: &mut Vec<QueryIssue>) -> PageOptions {
    let mut options = PageOptions::default();
    let flag = |v: &str| v == "1" || v == "true";
    for (key, value) in pairs {
        match key.as_str() {
            "workers" => match value.parse::<u32>() {
                Ok(n) if (1..=WORKERS_MAX).contains(&n) => options.workers = Some(n),
                _ => issues.push(issue(
                    key,
                    value,
                    format!("workers must be a whole number from 1 to {WORKERS_MAX}; the default is used"),
                )),
            },
            "run" => options.run = flag(value),
            "embed" => options.embed = flag(value),
            _ => {}
        }
    }
    options
}

/// How a page reads its config from query pairs: the engine's codec plus
/// the page's browser limits; bad values become issues.
pub type ConfigReader<C> = fn(&[(String, String)]) -> (C, Vec<QueryIssue>);

/// Reads a page's query: its config through `config_from_pairs`, then the
/// options.
pub fn read_page_query<C>(
    pairs: &[(String, String)],
    config_from_pairs: ConfigReader<C>,
) -> PageQuery<C> {
    let (config, mut issues) = config_from_pairs(pairs);
    let options = read_options(pairs, &mut issues);
    PageQuery {
        config,
        issues,
        options,
    }
}

/// A config's query pairs plus `workers` when the link set it (so a
/// re-run keeps the link's worker count), encoded.
pub fn page_query(mut pairs: Vec<(String, String)>, options: &PageOptions) -> String {
    if let Some(n) = options.workers {
        pairs.push(("workers".into(), n.to_string()));
    }
    encode_query(&pairs)
}

/// Resets `dim` to `default` (with an issue naming it) when `(nodes + 1) ×
/// dim²` tensor elements would not fit a browser worker.
pub fn fit_dim(nodes: u32, dim: &mut u32, default: u32, issues: &mut Vec<QueryIssue>) {
    let elements = (nodes as u64 + 1) * (*dim as u64).pow(2);
    if elements > WORKLOAD_ELEMENTS_BROWSER_MAX {
        issues.push(issue(
            "dim",
            &dim.to_string(),
            format!("(nodes + 1) × dim² = {elements} elements is more than a browser worker holds ({WORKLOAD_ELEMENTS_BROWSER_MAX}); default {default} used"),
        ));
        *dim = default;
    }
}

/// Drops pairs whose whole-number value exceeds the browser's limit for
/// that key (`limits`: key → max), with an issue naming it; the engine's
/// default is then used.
pub fn apply_limits(
    pairs: &[(String, String)],
    limits: &[(&str, u64)],
    issues: &mut Vec<QueryIssue>,
) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter(|(key, value)| {
            let Some(&(_, max)) = limits.iter().find(|(k, _)| k == key) else {
                return true;
            };
            match value.parse::<u64>() {
                Ok(v) if v > max => {
                    issues.push(issue(
                        key,
                        value,
                        format!("{key} is at most {max} in the browser (use lab-cli for more); default used"),
                    ));
                    false
                }
                _ => true,
            }
        })
        .cloned()
        .collect()
}

/// A config from query (or form) pairs: the engine's checks plus the
/// browser's limits; bad values fall back to defaults and are reported.
pub fn config_from_pairs(pairs: &[(String, String)]) -> (ConvergenceConfig, Vec<QueryIssue>) {
    let mut issues = Vec::new();
    let kept = apply_limits(
        pairs,
        &[
            ("nodes", NODES_BROWSER_MAX as u64),
            ("dim", DIM_BROWSER_MAX as u64),
            ("orderings", ORDERINGS_BROWSER_MAX as u64),
        ],
        &mut issues,
    );
    let kept = fit_workload(kept, &mut issues);
    let (mut config, engine_issues) = ConvergenceConfig::from_query(&kept);
    issues.extend(engine_issues);
    if workload_elements(&config) > WORKLOAD_ELEMENTS_BROWSER_MAX {
        // Only reachable through defaults; kept as a bound, not a message.
        config.dim = ConvergenceConfig::default().dim;
    }
    (config, issues)
}

/// Drops `dim` (its default is used) when `(nodes + 1) × dim²` would not fit
/// a worker — before the engine's own, larger limit resets everything.
fn fit_workload(
    mut pairs: Vec<(String, String)>,
    issues: &mut Vec<QueryIssue>,
) -> Vec<(String, String)> {
    let defaults = ConvergenceConfig::default();
    let value = |key: &str, default: u32| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<u32>().ok())
            .unwrap_or(default)
    };
    let candidate = ConvergenceConfig {
        nodes: value("nodes", defaults.nodes),
        dim: value("dim", defaults.dim),
        ..defaults.clone()
    };
    let elements = workload_elements(&candidate);
    if elements > WORKLOAD_ELEMENTS_BROWSER_MAX {
        issues.push(issue(
            "dim",
            &candidate.dim.to_string(),
            format!(
                "(nodes + 1) × dim² = {elements} elements is more than a browser worker holds ({WORKLOAD_ELEMENTS_BROWSER_MAX}); use a smaller dim, fewer nodes or lab-cli; default {} used",
                defaults.dim
            ),
        ));
        pairs.retain(|(k, _)| k != "dim");
    }
    pairs
}

fn workload_elements(config: &ConvergenceConfig) -> u64 {
    (config.nodes as u64 + 1) * (config.dim as u64).pow(2)
}

pub fn issue(key: &str, value: &str, message: String) -> QueryIssue {
    QueryIssue {
        key: key.to_string(),
        value: value.to_string(),
        message,
    }
}

/// Splits `?a=1&b=x%20y` into decoded pairs (at most 4 KiB are read).
pub fn parse_query(search: &str) -> Vec<(String, String)> {
    let mut end = search.len().min(QUERY_BYTES_MAX);
    while !search.is_char_boundary(end) {
        end -= 1;
    }
    search[..end]
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Joins pairs into a query string (without the leading `?`).
pub fn encode_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |j: usize| bytes.get(j).and_then(|&c| (c as char).to_digit(16));
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(q: &str) -> PageQuery<ConvergenceConfig> {
        read_page_query(&parse_query(q), config_from_pairs)
    }

    #[test]
    fn a_permalink_round_trips() {
        let config = ConvergenceConfig {
            nodes: 77,
            strategy: "weight_average".into(),
            seed: 9,
            ..ConvergenceConfig::default()
        };
        let q = read(&format!("?{}", encode_query(&config.to_query())));
        assert_eq!(q.config, config);
        assert!(q.issues.is_empty(), "{:?}", q.issues);
    }

    #[test]
    fn bad_parameters_are_named_and_defaults_used() {
        let q = read("?nodes=abc&fanout=999&workers=99&run=1");
        assert_eq!(q.config, ConvergenceConfig::default());
        let keys: Vec<&str> = q.issues.iter().map(|i| i.key.as_str()).collect();
        assert!(
            keys.contains(&"nodes") && keys.contains(&"fanout") && keys.contains(&"workers"),
            "{keys:?}"
        );
        assert!(q.options.run);
        assert_eq!(q.options.workers, None);
    }

    #[test]
    fn browser_limits_apply() {
        let q = read("?nodes=5000&dim=600&orderings=50&workers=4");
        assert_eq!(q.config.nodes, ConvergenceConfig::default().nodes);
        assert_eq!(q.issues.len(), 3, "{:?}", q.issues);
        assert_eq!(q.options.workers, Some(4));
    }

    #[test]
    fn the_workload_must_fit_a_worker() {
        let q = read("?nodes=1000&dim=512");
        assert_eq!((q.config.nodes, q.config.dim), (1000, 128));
        assert_eq!(q.issues.len(), 1, "{:?}", q.issues);
        assert_eq!(q.issues[0].key, "dim");
        assert!(read("?nodes=1000&dim=128").issues.is_empty());
        assert!(read("?nodes=2&dim=512").issues.is_empty());
    }

    #[test]
    fn decoding_is_lenient() {
        assert_eq!(percent_decode("a%20b+c%zz%4"), "a b c%zz%4");
        assert_eq!(
            parse_query("?x&y=1&&"),
            vec![("x".into(), "".into()), ("y".into(), "1".into())]
        );
        assert_eq!(percent_encode("ties:paper & co"), "ties:paper%20%26%20co");
    }
}
