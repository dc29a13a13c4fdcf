//! In-browser benchmarks: how fast this browser runs the lab's engine, on
//! the page's worker pool, next to reference numbers measured natively on
//! this project's machine kind (named with their source) and the issue's
//! targets. Speed is reported, never asserted (BENCHMARKS.md "In the
//! browser" records runs of this page).
//!
//! - [`measure`]: the plan and the measuring procedure (no web API, tested
//!   natively over in-process workers);
//! - [`format`]: numbers in words and the CSV;
//! - [`chart`]: the PCO chart (SVG).

pub mod chart;
pub mod format;
pub mod measure;

use crate::browser;
use crate::components::progress::ProgressBar;
use crate::components::report::{
    execution_text, outcome_view, Download, Downloads, QueryIssues, SvgFigure, WorkersLine,
};
use crate::query::{encode_query, issue, PageOptions};
use crate::runner::{Finished, Measured, Runner, Status, StatusSink, TaskFuture};
use format::{elapsed_text, per_op_text, rate_text, rows_csv, speedup_text};
use lab_core::experiment::params::QueryIssue;
use leptos::prelude::*;
use measure::{measure, Plan, Results, Row, Section};
use std::sync::Arc;

/// Experiment name in the JSON export.
pub const NAME: &str = "browser-bench";

/// What the page exports: the plan, the rows, and where they were measured.
pub type BenchReport = Measured<Plan, Results>;

/// Reads `quick` (1/true: tiny sizes; 0/false: the full benchmark).
pub fn quick_from_pairs(pairs: &[(String, String)], issues: &mut Vec<QueryIssue>) -> bool {
    let mut quick = false;
    for (key, value) in pairs.iter().filter(|(k, _)| k == "quick") {
        match value.as_str() {
            "1" | "true" => quick = true,
            "0" | "false" | "" => quick = false,
            _ => issues.push(issue(
                key,
                value,
                "quick must be 1 or 0; the full benchmark is used".into(),
            )),
        }
    }
    quick
}

fn task(plan: Plan) -> impl FnOnce(crate::pool::Pool, StatusSink) -> TaskFuture<BenchReport> {
    move |mut pool, sink| {
        Box::pin(async move {
            let result = measure(&mut pool, &plan, &mut |p| {
                let text = if p.step >= p.steps {
                    "finishing".to_string()
                } else {
                    format!("step {} of {}: {}", p.step + 1, p.steps, p.label)
                };
                sink(Status {
                    fraction: p.fraction,
                    text,
                })
            })
            .await;
            let result = result.map(|results| Finished {
                phases_ms: results
                    .rows
                    .iter()
                    .map(|r| (format!("{} ×{}", r.id, r.workers), r.elapsed_ms))
                    .collect(),
                report: BenchReport::new(NAME, plan, results),
            });
            (pool, result)
        })
    }
}

/// The page's permalink query.
fn bench_query(quick: bool, options: &PageOptions, run: bool) -> String {
    let mut pairs = vec![("exp".to_string(), "benchmark".to_string())];
    if quick {
        pairs.push(("quick".into(), "1".into()));
    }
    if let Some(n) = options.workers {
        pairs.push(("workers".into(), n.to_string()));
    }
    if run {
        pairs.push(("run".into(), "1".into()));
    }
    encode_query(&pairs)
}

/// The page. `pairs` is the whole URL query.
#[component]
pub fn BenchmarkPage(options: PageOptions, pairs: Vec<(String, String)>) -> impl IntoView {
    let mut issues = Vec::new();
    crate::query::read_options(&pairs, &mut issues);
    let quick = RwSignal::new(quick_from_pairs(&pairs, &mut issues));
    let workers = crate::runner::page_workers(&options);
    let runner = Runner::<BenchReport>::new(workers);
    let plan_of = move |quick: bool| if quick { Plan::quick() } else { Plan::full() };
    let on_run = move || {
        let q = quick.get_untracked();
        browser::replace_query(&bench_query(q, &options, false));
        runner.start(task(plan_of(q)));
    };
    if options.run {
        runner.start(task(plan_of(quick.get_untracked())));
    }
    view! {
        <Intro/>
        <QueryIssues issues/>
        <WorkersLine workers from_link=options.workers.is_some()/>
        <form class="controls" on:submit=move |ev| {
            ev.prevent_default();
            on_run();
        }>
            <fieldset disabled=move || runner.running.get()>
                <legend>"Size"</legend>
                <div class="bench-sizes">
                    <label>
                        <input type="radio" name="size" value="full" data-testid="size-full"
                            prop:checked=move || !quick.get() on:change=move |_| quick.set(false)/>
                        " Full benchmark (about half a minute on two cores)"
                    </label>
                    <label>
                        <input type="radio" name="size" value="quick" data-testid="size-quick"
                            prop:checked=move || quick.get() on:change=move |_| quick.set(true)/>
                        " Quick check (tiny sizes, a few seconds; the numbers mean nothing)"
                    </label>
                </div>
            </fieldset>
            <div class="actions">
                <button type="submit" class="primary" data-testid="run" disabled=move || runner.running.get()>
                    "Run"
                </button>
                <button type="button" data-testid="cancel" disabled=move || !runner.running.get()
                    on:click=move |_| runner.cancel()>
                    "Cancel"
                </button>
            </div>
        </form>
        <ProgressBar clock=runner.clock.into()/>
        {move || runner.outcome.get().map(|o| outcome_view(o, move |report| view! { <BenchResults report options/> }.into_any()))}
    }
}

#[component]
fn Intro() -> impl IntoView {
    view! {
        <section class="intro" aria-labelledby="exp-title">
            <h1 id="exp-title">"Benchmarks in this browser"</h1>
            <p>
                "How fast this browser runs the lab's engine (WebAssembly in web workers), measured now, on this device. "
                "Four things are timed:"
            </p>
            <ol>
                <li><strong>"CRDT join"</strong>" (Layer 1) of two states of 100 contributions — the operation gossip repeats; compared with the reference library (crdt-merge, Python) measured natively on this project's machine kind, and with the seed lab's claim of < 0.5 ms."</li>
                <li><strong>"Experiment 1 at 100 nodes"</strong>" end to end as the seed lab ran it (all-pairs, 128×128 tensors, 5 orderings, weight_average, every node resolves), spread over the workers exactly as on the Experiment 1 page; compared with the reference library's time for the same procedure."</li>
                <li><strong>"Experiment 1 at 1,000 nodes"</strong>" with push-pull gossip (64×64, one ordering); the issue's target is ≤ 10 s."</li>
                <li><strong>"Proof-carrying operations"</strong>" (E4): built and verified per second at each level, one at a time and in batches, on one worker and on every worker at once — the rows of "<code>"lab-cli pco-bench"</code>". All real Ed25519, except the two rows labelled “no signature”, which exist only to compare with the seed lab's figures (which had no real signatures)."</li>
            </ol>
            <p class="muted">
                "How: the page's clock ("<code>"performance.now()"</code>") around each job, so every time includes one message round trip. "
                "Each bench row first warms its worker up (untimed), then grows its job until one takes at least 0.2 s, and that job is the measurement — well above the timer's resolution (100 µs without cross-origin isolation). The row “on every worker at once” runs that job on each worker at the same time. "
                "Numbers vary with the device, the browser and whatever else is running; nothing here is a pass/fail test."
            </p>
        </section>
    }
}

#[component]
fn BenchResults(report: Arc<BenchReport>, options: PageOptions) -> impl IntoView {
    let rows = report.results.rows.clone();
    let workers = report.results.workers;
    let svg = chart::pco_svg(&rows, workers);
    let (csv_report, svg_download) = (report.clone(), svg.clone());
    let mut downloads = vec![
        Download::json(report.clone()),
        Download::csv("Table (CSV)", "export-csv", ".csv", move || {
            rows_csv(&csv_report.results.rows)
        }),
    ];
    if let Some(svg) = svg_download {
        downloads.push(Download::svg(
            "Chart (SVG)",
            "export-svg",
            ".svg",
            move || svg.clone(),
        ));
    }
    let stem = format!(
        "browser-bench-{}w{}",
        workers,
        if report.config.quick { "-quick" } else { "" }
    );
    let permalink = format!(
        "{}?{}",
        browser::location_base(),
        bench_query(report.config.quick, &options, true)
    );
    let sections = [Section::Join, Section::Experiment, Section::Pco]
        .into_iter()
        .map(|s| {
            let rows: Vec<Row> = rows.iter().filter(|r| r.section == s).cloned().collect();
            view! {
                <h2>{s.title()}</h2>
                <RowsTable rows/>
            }
        })
        .collect_view();
    view! {
        <section class="results-section" aria-label="Results">
            {report.config.quick.then(|| view! {
                <p class="notice warn" data-testid="quick-notice">"Quick check: tiny sizes and very short jobs. These numbers only show that the page works; run the full benchmark to measure."</p>
            })}
            <p class="muted" data-testid="environment">{execution_text(report.execution.as_ref())}</p>
            <Downloads stem items=downloads/>
            {sections}
            {svg.map(|svg| view! {
                <h2>"PCO throughput"</h2>
                <SvgFigure svg caption="Operations per second for each PCO row on one worker and on every worker at once (logarithmic axis). “No signature” rows only recompute a hash; they are not a security level.".to_string() testid="bench-chart"/>
            })}
            <h2>"Reproduce"</h2>
            <p>"Permalink (runs on load): " <a href=permalink.clone() data-testid="permalink">{permalink.clone()}</a></p>
            <p>"Native counterparts: " <code>"lab-cli pco-bench --seconds 0.4 --batch 64"</code>", "
                <code>"cargo bench -p lab-core --bench core"</code>", and "
                <code>"lab-cli convergence --nodes 100 --dim 128 --orderings 5"</code>"."</p>
        </section>
    }
}

#[component]
fn RowsTable(rows: Vec<Row>) -> impl IntoView {
    let body = rows.into_iter().map(row_view).collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Benchmark rows (scrolls sideways)">
            <table class="results bench-table" data-testid="bench-rows">
                <thead>
                    <tr>
                        <th scope="col">"Operation"</th>
                        <th scope="col" class="num">"Workers"</th>
                        <th scope="col" class="num">"Ops"</th>
                        <th scope="col" class="num">"Elapsed"</th>
                        <th scope="col" class="num">"Rate"</th>
                        <th scope="col" class="num">"Per op"</th>
                        <th scope="col">"Compared with"</th>
                        <th scope="col">"Ratio"</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}

fn row_view(r: Row) -> impl IntoView {
    let per_op = per_op_text(r.per_op_us());
    let ops = format!(
        "{} {}{}",
        crate::components::results::group(r.ops),
        r.unit,
        if r.ops == 1 { "" } else { "s" }
    );
    let (against, ratio, bad) = match &r.comparison {
        Some(c) => (
            format!("{} — {}", c.value, c.against),
            speedup_text(c),
            c.speedup.is_some_and(|s| s < 1.0),
        ),
        None => ("—".to_string(), "—".to_string(), false),
    };
    view! {
        <tr data-id=r.id.clone()>
            <th scope="row">{r.operation.clone()}<br/><small class="muted">{r.note.clone()}</small></th>
            <td class="num" data-label="Workers">{r.workers}</td>
            <td class="num" data-label="Ops">{ops}</td>
            <td class="num" data-label="Elapsed">{elapsed_text(r.elapsed_ms)}</td>
            <td class="num" data-label="Rate">{rate_text(r.rate_per_s)}</td>
            <td class="num" data-label="Per op">{per_op}</td>
            <td class="against" data-label="Compared with">{against}</td>
            <td class:bad=bad data-label="Ratio">{ratio}</td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_is_read_and_bad_values_are_named() {
        let p = |v: &str| vec![("quick".to_string(), v.to_string())];
        let mut issues = Vec::new();
        assert!(quick_from_pairs(&p("1"), &mut issues));
        assert!(!quick_from_pairs(&p("0"), &mut issues));
        assert!(issues.is_empty());
        assert!(!quick_from_pairs(&p("yes"), &mut issues));
        assert_eq!(issues[0].key, "quick");
    }

    #[test]
    fn the_permalink_keeps_quick_and_workers() {
        let options = PageOptions {
            workers: Some(2),
            ..PageOptions::default()
        };
        assert_eq!(
            bench_query(true, &options, true),
            "exp=benchmark&quick=1&workers=2&run=1"
        );
    }
}
