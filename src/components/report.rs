//! Pieces every experiment page shows around its results: link problems,
//! the worker count, how a run ended, the fingerprint with where and how
//! it was computed, downloads, a chart figure and the reproduction block.

use crate::browser;
use crate::components::progress::format_duration;
use crate::runner::{Outcome, Timed};
use lab_core::experiment::params::QueryIssue;
use lab_core::report::Execution;
use leptos::prelude::*;
use serde::Serialize;
use std::sync::Arc;

/// URL parameters that could not be used.
#[component]
pub fn QueryIssues(issues: Vec<QueryIssue>) -> impl IntoView {
    (!issues.is_empty()).then(|| {
        view! {
            <div class="notice warn" role="alert" data-testid="query-issues">
                <p><strong>"Some link parameters could not be used"</strong>" — defaults were used instead:"</p>
                <ul>
                    {issues
                        .into_iter()
                        .map(|i| view! { <li><code>{format!("{}={}", i.key, i.value)}</code>": "{i.message}</li> })
                        .collect_view()}
                </ul>
            </div>
        }
    })
}

/// How many web workers the page uses, and why.
#[component]
pub fn WorkersLine(workers: u32, from_link: bool) -> impl IntoView {
    view! {
        <p class="workers-line">
            "Web workers: " <strong data-testid="workers">{workers}</strong>
            {if from_link { " (set by the link)" } else { " (one per logical core, at most 8)" }}
        </p>
    }
}

/// Form messages without the URL reader's "default used" note.
pub fn without_fallback_note(mut issue: QueryIssue) -> QueryIssue {
    if let Some(i) = issue.message.find("; default") {
        issue.message.truncate(i);
    }
    issue
}

/// The last run's outcome: `done` renders a report; Cancel and failures
/// get their own notices.
pub fn outcome_view<T: 'static>(
    outcome: Outcome<T>,
    done: impl FnOnce(Arc<T>) -> AnyView,
) -> AnyView {
    match outcome {
        Outcome::Done(report) => done(report),
        Outcome::Cancelled => view! {
            <p class="notice" role="status" data-testid="cancelled">"The run was cancelled. The workers were restarted; you can run again."</p>
        }
        .into_any(),
        Outcome::Failed(message) => view! {
            <div class="notice error" role="alert" data-testid="error">
                <p><strong>"The run failed: "</strong>{message}</p>
                <p>"The workers were restarted; you can run again."</p>
            </div>
        }
        .into_any(),
    }
}

/// The fingerprint and where and how the report was computed.
#[component]
pub fn FingerprintBox(fingerprint: String, execution: Option<Execution>) -> impl IntoView {
    view! {
        <div class="fingerprint-box">
            <h2>"Fingerprint"</h2>
            <p><code class="fingerprint" data-testid="fingerprint">{fingerprint}</code></p>
            <p class="muted">{execution_text(execution.as_ref())}</p>
        </div>
    }
}

/// "Computed in this browser by N web workers in T (timer resolution …)."
pub fn execution_text(execution: Option<&Execution>) -> String {
    let Some(e) = execution else {
        return String::new();
    };
    let isolated = e
        .environment
        .iter()
        .any(|(k, v)| k == "cross_origin_isolated" && v == "true");
    format!(
        "Computed in this browser by {} web worker{} in {} (timer resolution {} µs, {}).",
        e.workers,
        if e.workers == 1 { "" } else { "s" },
        format_duration(e.total_ms),
        e.timer_resolution_us,
        if isolated {
            "cross-origin isolated"
        } else {
            "not cross-origin isolated"
        }
    )
}

/// A file the user can download, made when the button is pressed.
#[derive(Clone)]
pub struct Download {
    pub label: &'static str,
    /// `data-testid` of the button.
    pub testid: &'static str,
    /// File name after the page's stem, e.g. `.csv` or `-rounds.svg`.
    pub suffix: String,
    pub mime: &'static str,
    pub make: Arc<dyn Fn() -> String + Send + Sync>,
}

impl Download {
    /// The report as JSON, exactly as `lab-cli --json` prints it.
    pub fn json<T: Serialize + Send + Sync + 'static>(report: Arc<T>) -> Download {
        Download {
            label: "Report (JSON)",
            testid: "export-json",
            suffix: ".json".into(),
            mime: "application/json",
            make: Arc::new(move || {
                serde_json::to_string_pretty(&*report)
                    .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
            }),
        }
    }

    /// A CSV table.
    pub fn csv(
        label: &'static str,
        testid: &'static str,
        suffix: &str,
        make: impl Fn() -> String + Send + Sync + 'static,
    ) -> Download {
        Download {
            label,
            testid,
            suffix: suffix.into(),
            mime: "text/csv",
            make: Arc::new(make),
        }
    }

    /// An SVG chart.
    pub fn svg(
        label: &'static str,
        testid: &'static str,
        suffix: &str,
        make: impl Fn() -> String + Send + Sync + 'static,
    ) -> Download {
        Download {
            label,
            testid,
            suffix: suffix.into(),
            mime: "image/svg+xml",
            make: Arc::new(make),
        }
    }
}

/// Download buttons; files are named `<stem><suffix>`.
#[component]
pub fn Downloads(stem: String, items: Vec<Download>) -> impl IntoView {
    let export_error = RwSignal::new(None::<String>);
    let buttons = items
        .into_iter()
        .map(|d| {
            let name = format!("{stem}{}", d.suffix);
            view! {
                <button type="button" data-testid=d.testid on:click=move |_| {
                    export_error.set(browser::download(&name, d.mime, &(d.make)()).err());
                }>{d.label}</button>
            }
        })
        .collect_view();
    view! {
        <div class="exports" role="group" aria-label="Downloads">
            {buttons}
            {move || export_error.get().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
        </div>
    }
}

/// An inline SVG chart with a caption.
#[component]
pub fn SvgFigure(
    svg: String,
    caption: String,
    #[prop(default = "chart")] testid: &'static str,
) -> impl IntoView {
    view! {
        <figure class="chart">
            <div class="chart-svg" data-testid=testid inner_html=svg></div>
            <figcaption>{caption}</figcaption>
        </figure>
    }
}

/// The `lab-cli` command (same fingerprint) and the permalink.
#[component]
pub fn Reproduce(cli: String, query: String) -> impl IntoView {
    let permalink = format!("{}?{}", browser::location_base(), query);
    view! {
        <h2>"Reproduce"</h2>
        <p>"The same run on the command line (same fingerprint):"</p>
        <pre class="cli"><code data-testid="cli">{cli_spans(&cli)}</code></pre>
        <p>"Permalink: " <a href=permalink.clone() data-testid="permalink">{permalink.clone()}</a></p>
    }
}

/// The command with each `--flag value` kept on one line when it wraps.
fn cli_spans(command: &str) -> impl IntoView {
    let mut parts = command.split(" --");
    let head = parts.next().unwrap_or_default().to_string();
    let args = parts
        .map(|a| view! { " "<span class="arg">{format!("--{a}")}</span> })
        .collect_view();
    view! { {head}{args} }
}

/// A file-name stem: experiment name and the fingerprint's first 12 digits.
pub fn stem(experiment: &str, fingerprint: &str) -> String {
    format!(
        "{experiment}-{}",
        fingerprint.get(..12).unwrap_or(fingerprint)
    )
}

/// The execution of a timed report, cloned for display.
pub fn execution_of<T: Timed>(report: &T) -> Option<Execution> {
    report.execution().cloned()
}
