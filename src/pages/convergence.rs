//! Experiment 1 — multi-node convergence: explanation, controls, progress,
//! verdict, results, chart, fingerprint, reproduction and exports.

use crate::browser;
use crate::components::chart::ConvergenceChart;
use crate::components::controls::{Controls, Form};
use crate::components::progress::{format_duration, ProgressBar, RunClock};
use crate::components::results::ResultsTable;
use crate::components::verdict::VerdictPanel;
use crate::coordinator::{self, Finished, Progress, RunError};
use crate::export::results_csv;
use crate::pool::{Canceller, Pool};
use crate::query::{config_from_pairs, encode_query, PageQuery, WORKERS_DEFAULT_MAX};
use lab_core::experiment::convergence::{ConvergenceConfig, ConvergenceReport};
use lab_core::experiment::params::QueryIssue;
use lab_core::report::Execution;
use lab_core::sim::Protocol;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::sync::Arc;
use std::time::Duration;

/// How often the elapsed time is refreshed while a run is under way.
const TICK_MS: u64 = 250;

/// How the last run ended.
#[derive(Clone, Debug)]
enum Outcome {
    Report(Arc<ConvergenceReport>),
    Cancelled,
    Failed(String),
}

/// The run machinery: the pool and what the page shows about a run. Every
/// field is a `Copy` handle, so the runner can move into any closure.
#[derive(Clone, Copy)]
struct Runner {
    workers: u32,
    pool: StoredValue<Option<Pool>, LocalStorage>,
    canceller: StoredValue<Option<Canceller>, LocalStorage>,
    ticker: StoredValue<Option<IntervalHandle>, LocalStorage>,
    started_ms: StoredValue<f64>,
    timer_resolution_us: StoredValue<f64>,
    running: RwSignal<bool>,
    clock: RwSignal<Option<RunClock>>,
    outcome: RwSignal<Option<Outcome>>,
}

impl Runner {
    fn new(workers: u32) -> Runner {
        let runner = Runner {
            workers,
            pool: StoredValue::new_local(None),
            canceller: StoredValue::new_local(None),
            ticker: StoredValue::new_local(None),
            started_ms: StoredValue::new(0.0),
            timer_resolution_us: StoredValue::new(browser::timer_resolution_us()),
            running: RwSignal::new(false),
            clock: RwSignal::new(None),
            outcome: RwSignal::new(None),
        };
        runner.respawn();
        runner
    }

    /// Replaces the pool with fresh workers (after a failure or Cancel).
    fn respawn(self) {
        self.pool.set_value(None); // terminates the old workers first
        match Pool::spawn(self.workers) {
            Ok(pool) => self.pool.set_value(Some(pool)),
            Err(e) => self.outcome.set(Some(Outcome::Failed(e))),
        }
    }

    fn start(self, config: ConvergenceConfig) {
        if self.running.get_untracked() {
            return;
        }
        if self.pool.with_value(|p| p.is_none()) {
            self.respawn();
        }
        let Some(pool) = self.pool.write_value().take() else {
            return;
        };
        self.canceller.set_value(Some(pool.canceller()));
        self.running.set(true);
        self.outcome.set(None);
        self.started_ms.set_value(browser::now_ms());
        self.clock.set(Some(RunClock {
            all_pairs: config.protocol == Protocol::AllPairs,
            ..RunClock::default()
        }));
        let tick = move || self.tick(None);
        self.ticker
            .set_value(set_interval_with_handle(tick, Duration::from_millis(TICK_MS)).ok());
        spawn_local(self.drive(pool, config));
    }

    /// Refreshes the elapsed time (and the progress, when one arrived).
    fn tick(self, progress: Option<Progress>) {
        let elapsed_ms = browser::now_ms() - self.started_ms.get_value();
        self.clock.update(|c| {
            if let Some(c) = c {
                c.elapsed_ms = elapsed_ms;
                if progress.is_some() {
                    c.progress = progress;
                }
            }
        });
    }

    async fn drive(self, mut pool: Pool, config: ConvergenceConfig) {
        let ready = pool.wait_ready().await;
        let started_ms = browser::now_ms();
        let result = match ready {
            Ok(()) => coordinator::run(&mut pool, &config, &mut |p| self.tick(Some(p))).await,
            Err(e) => Err(e),
        };
        let total_ms = browser::now_ms() - started_ms;
        self.finish(pool, result, total_ms);
    }

    fn finish(self, pool: Pool, result: Result<Finished, RunError>, total_ms: f64) {
        if let Some(t) = self.ticker.write_value().take() {
            t.clear();
        }
        self.canceller.set_value(None);
        let outcome = match result {
            Ok(finished) => {
                let report = self.with_execution(finished, pool.len(), total_ms);
                self.pool.set_value(Some(pool));
                Outcome::Report(Arc::new(report))
            }
            Err(e) => {
                drop(pool); // terminates the workers, even mid-computation
                match e {
                    RunError::Cancelled => {
                        self.respawn();
                        Outcome::Cancelled
                    }
                    // Respawned by the next run, so whatever broke (a
                    // network hiccup loading the worker) has a chance to heal.
                    e => Outcome::Failed(e.to_string()),
                }
            }
        };
        self.outcome.set(Some(outcome));
        self.clock.set(None);
        self.running.set(false);
    }

    fn with_execution(self, finished: Finished, workers: u32, total_ms: f64) -> ConvergenceReport {
        let mut report = finished.report;
        report.execution = Some(Execution {
            executor: "browser".into(),
            workers,
            total_ms,
            phases_ms: finished.phases_ms,
            timer_resolution_us: self.timer_resolution_us.get_value(),
            environment: browser::environment(),
        });
        report
    }

    fn cancel(self) {
        self.canceller.with_value(|c| {
            if let Some(c) = c {
                c.cancel();
            }
        });
    }
}

/// The Experiment 1 page, initialised from the URL.
#[component]
pub fn ConvergencePage(query: PageQuery) -> impl IntoView {
    let form = Form::new(&query.config);
    let workers = query
        .workers
        .unwrap_or_else(|| browser::default_workers(WORKERS_DEFAULT_MAX));
    let runner = Runner::new(workers);
    let form_issues = RwSignal::new(Vec::<QueryIssue>::new());
    let keep_workers = query.workers;
    let on_run = Callback::new(move |()| {
        let (config, issues) = config_from_pairs(&form.pairs());
        form_issues.set(issues.into_iter().map(without_fallback_note).collect());
        if form_issues.with_untracked(|i| i.is_empty()) {
            browser::replace_query(&page_query(&config, keep_workers));
            runner.start(config);
        }
    });
    let on_cancel = Callback::new(move |()| runner.cancel());
    if query.run {
        runner.start(query.config.clone());
    }
    view! {
        <Intro/>
        <QueryIssues issues=query.issues/>
        <p class="workers-line">
            "Web workers: " <strong data-testid="workers">{workers}</strong>
            {if query.workers.is_some() { " (set by the link)" } else { " (one per logical core, at most 8)" }}
        </p>
        <Controls
            form
            running=runner.running.into()
            issues=form_issues.into()
            on_run
            on_cancel
        />
        <ProgressBar clock=runner.clock.into()/>
        {move || runner.outcome.get().map(outcome_view)}
    }
}

/// The page's own query: the config plus `workers` when the link set it.
fn page_query(config: &ConvergenceConfig, workers: Option<u32>) -> String {
    let mut pairs = config.to_query();
    if let Some(n) = workers {
        pairs.push(("workers".into(), n.to_string()));
    }
    encode_query(&pairs)
}

/// Form messages without the URL reader's "default used" note.
fn without_fallback_note(mut issue: QueryIssue) -> QueryIssue {
    if let Some(i) = issue.message.find("; default") {
        issue.message.truncate(i);
    }
    issue
}

fn outcome_view(outcome: Outcome) -> AnyView {
    match outcome {
        Outcome::Report(report) => view! { <RunResults report/> }.into_any(),
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

#[component]
fn Intro() -> impl IntoView {
    view! {
        <section class="intro" aria-labelledby="exp-title">
            <h1 id="exp-title">"Experiment 1 — multi-node convergence"</h1>
            <p>
                "Each of N simulated nodes contributes one model tensor. The nodes exchange state under K independent, "
                "seeded merge orderings. Two layers make them agree:"
            </p>
            <ul>
                <li><strong>"Layer 1"</strong>" — each node keeps a set of contributions that is a CRDT: merging two sets is a lattice join (commutative, associative, idempotent), so the order of merges cannot matter."</li>
                <li><strong>"Layer 2"</strong>" — the merge strategy is applied once, to the whole set in canonical order, never pairwise."</li>
            </ul>
            <p>
                "The verdict is PASS only if every node, in every ordering, ends with a bit-identical state and merged model, "
                "equal to the join of all contributions resolved once. The fingerprint is the same here, with any number of workers, and in "
                <code>"lab-cli"</code>"."
            </p>
        </section>
    }
}

/// URL parameters that could not be used.
#[component]
fn QueryIssues(issues: Vec<QueryIssue>) -> impl IntoView {
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

#[component]
fn RunResults(report: Arc<ConvergenceReport>) -> impl IntoView {
    let config = report.config.clone();
    let permalink = format!(
        "{}?{}",
        browser::location_base(),
        encode_query(&config.to_query())
    );
    view! {
        <section class="results-section" aria-label="Results">
            <VerdictPanel verdict=report.verdict.clone()/>
            <div class="fingerprint-box">
                <h2>"Fingerprint"</h2>
                <p><code class="fingerprint" data-testid="fingerprint">{report.fingerprint.clone()}</code></p>
                <p class="muted">{execution_text(&report)}</p>
            </div>
            <Exports report=report.clone()/>
            <h2>"Per ordering"</h2>
            <ResultsTable orderings=report.results.orderings.clone()/>
            <h2>"Nodes agreeing per round"</h2>
            <ConvergenceChart nodes=config.nodes orderings=report.results.orderings.clone()/>
            <h2>"Reproduce"</h2>
            <p>"The same run on the command line (same fingerprint):"</p>
            <pre class="cli"><code data-testid="cli">{cli_spans(&config.cli_command())}</code></pre>
            <p>"Permalink: " <a href=permalink.clone() data-testid="permalink">{permalink.clone()}</a></p>
        </section>
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

fn execution_text(report: &ConvergenceReport) -> String {
    let Some(e) = &report.execution else {
        return String::new();
    };
    let isolated = e
        .environment
        .iter()
        .any(|(k, v)| k == "cross_origin_isolated" && v == "true");
    format!(
        "Computed in this browser by {} web worker{} in {} (timer resolution {} µs{}).",
        e.workers,
        if e.workers == 1 { "" } else { "s" },
        format_duration(e.total_ms),
        e.timer_resolution_us,
        if isolated {
            ", cross-origin isolated"
        } else {
            ""
        }
    )
}

#[component]
fn Exports(report: Arc<ConvergenceReport>) -> impl IntoView {
    let export_error = RwSignal::new(None::<String>);
    let stem = format!("convergence-{}", &report.fingerprint[..12]);
    let save = move |name: String, mime: &'static str, content: String| {
        export_error.set(browser::download(&name, mime, &content).err());
    };
    let (r1, r2, r3) = (report.clone(), report.clone(), report);
    let (s1, s2, s3) = (stem.clone(), stem.clone(), stem);
    view! {
        <div class="exports" role="group" aria-label="Downloads">
            <button type="button" data-testid="export-json" on:click=move |_| {
                let json = serde_json::to_string_pretty(&*r1).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
                save(format!("{s1}.json"), "application/json", json);
            }>"Report (JSON)"</button>
            <button type="button" data-testid="export-csv" on:click=move |_| {
                save(format!("{s2}.csv"), "text/csv", results_csv(&r2));
            }>"Table (CSV)"</button>
            <button type="button" data-testid="export-svg" on:click=move |_| {
                let svg = crate::chart::convergence_svg(r3.config.nodes, &r3.results.orderings);
                save(format!("{s3}.svg"), "image/svg+xml", svg);
            }>"Chart (SVG)"</button>
            {move || export_error.get().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
        </div>
    }
}
