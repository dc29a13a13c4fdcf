//! Reproduce: open a report (a file from any experiment page or from
//! `lab-cli … --json`), check its fingerprint by recomputing it from the
//! content, and show the config, the exact `lab-cli` command and a link
//! that re-runs it here. Nothing is uploaded: the file is read in the page
//! and checked in a web worker ([`check_report`] runs there, as
//! `protocol::Job::CheckReport`, so the page's wasm carries no JSON
//! deserializer for the six report types).

use crate::components::report::{execution_text, FingerprintBox};
use crate::components::verdict::VerdictPanel;
use crate::jobs::OneWorker;
use crate::protocol::{Job, JobOutput};
use crate::query::{encode_query, PageOptions};
use lab_core::experiment::convergence::ConvergenceReport;
use lab_core::experiment::partition::PartitionReport;
use lab_core::experiment::scale::ScaleReport;
use lab_core::experiment::suite::{SuiteConfig, SuiteReport};
use lab_core::experiment::sweep::SweepReport;
use lab_core::experiment::trust::TrustReport;
use lab_core::report::{Execution, Verdict, SCHEMA};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;

/// Largest report file read, in bytes.
pub const REPORT_BYTES_MAX: usize = 64 << 20;

/// Why a report could not be checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ReportError {
    TooLarge(usize),
    NotJson(String),
    NoExperiment,
    UnknownExperiment(String),
    WrongSchema(u64),
    /// The content does not have the shape of that experiment's report.
    Shape {
        experiment: String,
        message: String,
    },
    /// The web worker that checks reports failed (or could not start).
    Worker(String),
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportError::TooLarge(n) => write!(
                f,
                "the file has {n} bytes; reports above {REPORT_BYTES_MAX} bytes are not read"
            ),
            ReportError::NotJson(e) => write!(f, "this is not JSON: {e}"),
            ReportError::NoExperiment => write!(f, "this JSON has no \"experiment\" field, so it is not a lab report"),
            ReportError::UnknownExperiment(e) => write!(
                f,
                "unknown experiment '{e}' (known: convergence, partition, sweep, scale, trust, suite)"
            ),
            ReportError::WrongSchema(s) => write!(f, "report schema {s}; this lab reads schema {SCHEMA}"),
            ReportError::Shape { experiment, message } => {
                write!(f, "not a valid '{experiment}' report: {message}")
            }
            ReportError::Worker(message) => write!(f, "the report could not be checked: {message}"),
        }
    }
}

/// What checking a report found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checked {
    pub experiment: String,
    pub lab_version: String,
    pub claimed: String,
    pub recomputed: String,
    pub verdict: Verdict,
    pub execution: Option<Execution>,
    /// The `lab-cli` command that recomputes it.
    pub cli: String,
    /// The query that re-runs it in this lab.
    pub query: Vec<(String, String)>,
    /// The config, pretty JSON.
    pub config_json: String,
}

impl Checked {
    pub fn verified(&self) -> bool {
        self.claimed == self.recomputed
    }
}

/// Parses `text` as a report of its experiment and recomputes the fingerprint.
pub fn check_report(text: &str) -> Result<Checked, ReportError> {
    if text.len() > REPORT_BYTES_MAX {
        return Err(ReportError::TooLarge(text.len()));
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ReportError::NotJson(e.to_string()))?;
    let experiment = value
        .get("experiment")
        .and_then(|e| e.as_str())
        .ok_or(ReportError::NoExperiment)?
        .to_string();
    let schema = value.get("schema").and_then(|s| s.as_u64()).unwrap_or(0);
    if schema != SCHEMA as u64 {
        return Err(ReportError::WrongSchema(schema));
    }
    // Parsed from the text again (not the Value) so floats keep their exact bits.
    match experiment.as_str() {
        "convergence" => checked::<ConvergenceReport>(text, &experiment, |r| {
            (r.config.cli_command(), r.config.to_query())
        }),
        "partition" => checked::<PartitionReport>(text, &experiment, |r| {
            (r.config.cli_command(), r.config.to_query())
        }),
        "sweep" => checked::<SweepReport>(text, &experiment, |r| {
            (r.config.cli_command(), r.config.to_query())
        }),
        "scale" => checked::<ScaleReport>(text, &experiment, |r| {
            (r.config.cli_command(), r.config.to_query())
        }),
        "trust" => checked::<TrustReport>(text, &experiment, |r| {
            (r.config.cli_command(), r.config.to_query())
        }),
        "suite" => checked::<SuiteReport>(text, &experiment, |r| suite_reproduction(&r.config)),
        _ => Err(ReportError::UnknownExperiment(experiment)),
    }
}

type Report<C, R> = lab_core::report::Report<C, R>;

fn checked<T>(
    text: &str,
    experiment: &str,
    reproduction: impl FnOnce(&T) -> (String, Vec<(String, String)>),
) -> Result<Checked, ReportError>
where
    T: DeserializeOwned + AsReport,
{
    let report: T = serde_json::from_str(text).map_err(|e| ReportError::Shape {
        experiment: experiment.to_string(),
        message: e.to_string(),
    })?;
    let (cli, query) = reproduction(&report);
    Ok(report.checked(cli, query))
}

/// What the page needs from every report type.
trait AsReport {
    fn checked(&self, cli: String, query: Vec<(String, String)>) -> Checked;
}

impl<C: Serialize, R: Serialize> AsReport for Report<C, R> {
    fn checked(&self, cli: String, query: Vec<(String, String)>) -> Checked {
        Checked {
            experiment: self.experiment.clone(),
            lab_version: self.lab_version.clone(),
            claimed: self.fingerprint.clone(),
            recomputed: self.recompute_fingerprint(),
            verdict: self.verdict.clone(),
            execution: self.execution.clone(),
            cli,
            query,
            config_json: serde_json::to_string_pretty(&self.config).unwrap_or_default(),
        }
    }
}

/// A suite config is reproducible when it is the seed preset or one the
/// CLI derives from its flags; anything else only by its JSON.
fn suite_reproduction(config: &SuiteConfig) -> (String, Vec<(String, String)>) {
    if *config == SuiteConfig::seed_preset() {
        return (
            "lab-cli suite --preset seed".into(),
            vec![
                ("v".into(), "1".into()),
                ("exp".into(), "suite".into()),
                ("preset".into(), "seed".into()),
            ],
        );
    }
    let c = &config.convergence;
    let k = config
        .partition
        .phases
        .first()
        .and_then(|p| match p.shape {
            lab_core::sim::faults::PartitionShape::ModGroups { k } => Some(k),
            _ => None,
        })
        .unwrap_or(3);
    let derived = SuiteConfig::derived(c.nodes, c.dim, c.orderings, k, c.protocol, c.seed);
    if derived != *config {
        return (
            "(this suite config is not one lab-cli suite derives from flags)".into(),
            Vec::new(),
        );
    }
    let cli = format!(
        "lab-cli suite --nodes {} --dim {} --orderings {} --partitions {k} --protocol {} --seed {}",
        c.nodes,
        c.dim,
        c.orderings,
        c.protocol.name(),
        c.seed
    );
    let query = [
        ("v", "1".to_string()),
        ("exp", "suite".into()),
        ("preset", "custom".into()),
        ("nodes", c.nodes.to_string()),
        ("dim", c.dim.to_string()),
        ("orderings", c.orderings.to_string()),
        ("partitions", k.to_string()),
        ("protocol", c.protocol.name().into()),
        ("seed", c.seed.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    (cli, query)
}

/// The Reproduce page.
#[component]
pub fn ReproducePage(options: PageOptions, pairs: Vec<(String, String)>) -> impl IntoView {
    let _ = (options, pairs);
    let text = RwSignal::new(String::new());
    let result = RwSignal::new(None::<Result<Checked, ReportError>>);
    let source = RwSignal::new(String::new());
    let checking = RwSignal::new(false);
    let worker = OneWorker::started();
    let check = move |from: String, content: String| {
        if content.len() > REPORT_BYTES_MAX {
            source.set(from);
            result.set(Some(Err(ReportError::TooLarge(content.len()))));
            return;
        }
        checking.set(true);
        spawn_local(async move {
            let checked = match worker.job(Job::CheckReport(content)).await {
                Ok(JobOutput::CheckReport(r)) => *r,
                Ok(_) => Err(ReportError::Worker("unexpected reply".into())),
                Err(message) => Err(ReportError::Worker(message)),
            };
            checking.set(false);
            source.set(from);
            result.set(Some(checked));
        });
    };
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        let name = file.name();
        if file.size() > REPORT_BYTES_MAX as f64 {
            source.set(name);
            result.set(Some(Err(ReportError::TooLarge(file.size() as usize))));
            return;
        }
        spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                Ok(v) => check(name, v.as_string().unwrap_or_default()),
                Err(e) => {
                    source.set(name);
                    result.set(Some(Err(ReportError::NotJson(format!(
                        "the file could not be read: {e:?}"
                    )))));
                }
            }
        });
    };
    view! {
        <section class="intro" aria-labelledby="exp-title">
            <h1 id="exp-title">"Reproduce a report"</h1>
            <p>
                "Every report — downloaded from an experiment page here, or printed by " <code>"lab-cli … --json"</code>
                " — carries its full configuration and a fingerprint: a BLAKE3 digest over the schema, the experiment, the config, "
                "the results and the verdict (timings excluded). Open one to check that its fingerprint matches its content, and to get "
                "the exact command and link that compute it again; the same config gives the same fingerprint on any machine, in any browser, "
                "with any number of workers."
            </p>
            <p class="muted">"The file is read in this page; nothing is uploaded."</p>
        </section>
        <div class="controls">
            <div class="field">
                <label for="report-file">"Report file (JSON)"</label>
                <input id="report-file" type="file" accept=".json,application/json" data-testid="report-file" on:change=on_file/>
            </div>
            <div class="field">
                <label for="report-text">"…or paste a report"</label>
                <textarea id="report-text" rows="6" spellcheck="false" data-testid="report-text"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            </div>
            <div class="actions">
                <button type="button" class="primary" data-testid="check" disabled=move || checking.get() on:click=move |_| check("pasted text".into(), text.get_untracked())>
                    "Check pasted report"
                </button>
            </div>
        </div>
        {move || checking.get().then(|| view! { <p class="muted" role="status">"Checking…"</p> })}
        {move || result.get().map(|r| match r {
            Ok(c) => view! { <CheckedView checked=c source=source.get_untracked()/> }.into_any(),
            Err(e) => view! {
                <div class="notice error" role="alert" data-testid="report-error">
                    <p><strong>{source.get_untracked()}": "</strong>{e.to_string()}</p>
                </div>
            }.into_any(),
        })}
    }
}

#[component]
fn CheckedView(checked: Checked, source: String) -> impl IntoView {
    let verified = checked.verified();
    let rerun = (!checked.query.is_empty()).then(|| {
        let mut q = checked.query.clone();
        q.push(("run".into(), "1".into()));
        format!("?{}", encode_query(&q))
    });
    let version_note = (checked.lab_version != lab_core::LAB_VERSION).then(|| {
        format!(
            "Made by lab version {}; this page is version {}. A different version may compute different results for the same config.",
            checked.lab_version,
            lab_core::LAB_VERSION
        )
    });
    view! {
        <section class="results-section" aria-label="Report check">
            <div class="notice" class:error=!verified data-testid="fingerprint-check" data-verified=verified.to_string() role="status">
                {if verified {
                    format!("✓ The fingerprint matches the content of {source} ({} report).", checked.experiment)
                } else {
                    format!("✗ The fingerprint does not match the content of {source}: the report was changed after it was made (recomputed {}).", checked.recomputed)
                }}
            </div>
            {version_note.map(|n| view! { <p class="notice warn">{n}</p> })}
            <FingerprintBox fingerprint=checked.claimed.clone() execution=None/>
            {checked.execution.as_ref().map(|e| view! { <p class="muted">"When it was made: "{execution_text(Some(e)).replace("Computed in this browser", "computed")}{format!(" Executor: {}.", e.executor)}</p> })}
            <VerdictPanel verdict=checked.verdict.clone() pass_text="The report's own verdict: every check passed." fail_text="The report's own verdict: a check failed."/>
            <h2>"Reproduce"</h2>
            <p>"On the command line (same fingerprint):"</p>
            <pre class="cli"><code data-testid="cli">{checked.cli.clone()}</code></pre>
            {rerun.map(|href| view! { <p><a href=href data-testid="rerun">"Run this config again in this browser"</a></p> })}
            <details>
                <summary>"Configuration"</summary>
                <pre class="cli"><code>{checked.config_json.clone()}</code></pre>
            </details>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::experiment::convergence::{run, ConvergenceConfig};
    use lab_core::experiment::partition::{self, PartitionConfig};

    #[test]
    fn a_report_verifies_and_a_tampered_one_does_not() {
        let config = ConvergenceConfig {
            nodes: 5,
            dim: 3,
            orderings: 2,
            ..ConvergenceConfig::default()
        };
        let json = serde_json::to_string_pretty(&run(&config).unwrap()).unwrap();
        let c = check_report(&json).unwrap();
        assert!(c.verified());
        assert_eq!(c.cli, config.cli_command());
        let tampered = json.replacen("\"converged\": true", "\"converged\": false", 1);
        assert_ne!(tampered, json);
        assert!(!check_report(&tampered).unwrap().verified());
    }

    /// The page's path: the text goes to a worker over the real wire
    /// encoding and the check comes back.
    #[test]
    fn a_report_is_checked_in_a_worker() {
        use crate::jobs::run_jobs;
        use crate::local::{block_on, LocalLink};
        let config = ConvergenceConfig {
            nodes: 4,
            dim: 2,
            orderings: 1,
            ..ConvergenceConfig::default()
        };
        let json = serde_json::to_string(&run(&config).unwrap()).unwrap();
        let mut link = LocalLink::new(1);
        let jobs = vec![
            Job::CheckReport(json.clone()),
            Job::CheckReport("{}".into()),
        ];
        let done = block_on(run_jobs(&mut link, jobs, &[], &mut |_| {})).unwrap();
        let results: Vec<_> = done
            .into_iter()
            .map(|d| match d.output {
                JobOutput::CheckReport(r) => *r,
                _ => panic!("unexpected output"),
            })
            .collect();
        assert_eq!(results[0], check_report(&json));
        assert!(results[0].as_ref().unwrap().verified());
        assert_eq!(results[1], Err(ReportError::NoExperiment));
    }

    #[test]
    fn a_partition_report_with_floats_verifies() {
        let config = PartitionConfig {
            nodes: 6,
            dim: 2,
            loss: 0.1,
            ..PartitionConfig::default()
        };
        let json = serde_json::to_string(&partition::run(&config).unwrap()).unwrap();
        assert!(check_report(&json).unwrap().verified());
    }

    #[test]
    fn bad_files_are_errors_in_words() {
        assert!(matches!(check_report("nope"), Err(ReportError::NotJson(_))));
        assert_eq!(check_report("{}"), Err(ReportError::NoExperiment));
        assert!(matches!(
            check_report(r#"{"experiment":"x","schema":1}"#),
            Err(ReportError::UnknownExperiment(_))
        ));
        assert_eq!(
            check_report(r#"{"experiment":"sweep","schema":7}"#),
            Err(ReportError::WrongSchema(7))
        );
        assert!(matches!(
            check_report(r#"{"experiment":"sweep","schema":1}"#),
            Err(ReportError::Shape { .. })
        ));
    }

    #[test]
    fn the_seed_suite_reproduces_by_preset() {
        let (cli, query) = suite_reproduction(&SuiteConfig::seed_preset());
        assert_eq!(cli, "lab-cli suite --preset seed");
        assert!(query.contains(&("preset".into(), "seed".into())));
        let derived = SuiteConfig::derived(8, 4, 1, 2, lab_core::sim::Protocol::PushPull, 5);
        let (cli, _) = suite_reproduction(&derived);
        assert!(cli.contains("--partitions 2"), "{cli}");
    }
}
