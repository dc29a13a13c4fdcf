//! Experiment 1 — multi-node convergence: explanation, controls (with the
//! optional real-weights panel), progress, verdict, results, chart,
//! fingerprint, reproduction and exports.

use crate::browser;
use crate::components::chart::ConvergenceChart;
use crate::components::controls::{
    fanout_field, protocol_field, strategy_field, workload_fields, Controls, FieldSpec, Form,
};
use crate::components::network::{NetworkView, Trace};
use crate::components::progress::ProgressBar;
use crate::components::report::{
    execution_of, outcome_view, stem, without_fallback_note, Download, Downloads, FingerprintBox,
    QueryIssues, Reproduce, WorkersLine,
};
use crate::components::results::ResultsTable;
use crate::components::verdict::VerdictPanel;
use crate::components::weights::{
    send_tensors_first, with_weights, Weights, WeightsPanel, WorkloadFiles,
};
use crate::coordinator::{self, Progress};
use crate::export::results_csv;
use crate::query::{
    config_from_pairs, encode_query, page_query, PageQuery, DIM_BROWSER_MAX, NODES_BROWSER_MAX,
    ORDERINGS_BROWSER_MAX,
};
use crate::runner::{Finished, Runner, Status, StatusSink, TaskFuture};
use lab_core::experiment::convergence::{
    ConvergenceConfig, ConvergenceReport, FileTensors, FIELDS,
};
use lab_core::experiment::params::QueryIssue;
use lab_core::sim::Protocol;
use leptos::prelude::*;
use std::sync::Arc;

/// Runs Experiment 1 with the round-by-round coordinator; ordering 0's
/// rounds are recorded into `trace` for the network view. A model-file
/// workload's tensors go to every worker first.
fn task(
    config: ConvergenceConfig,
    tensors: Option<Arc<FileTensors>>,
    trace: RwSignal<Option<Arc<Trace>>>,
) -> impl FnOnce(crate::pool::Pool, StatusSink) -> TaskFuture<ConvergenceReport> {
    move |mut pool, sink| {
        Box::pin(async move {
            let all_pairs = config.protocol == Protocol::AllPairs;
            trace.set(None);
            if let Err(e) = send_tensors_first(&mut pool, tensors.as_deref(), &sink).await {
                return (pool, Err(e));
            }
            let mut recorded = Trace::new(config.nodes);
            let result = coordinator::run_observed(
                &mut pool,
                &config,
                &mut |p| sink(status(&p, all_pairs)),
                &mut |ordering, round, reports| {
                    if ordering == 0 {
                        recorded.record(round, reports);
                    }
                },
            )
            .await;
            if !all_pairs && result.is_ok() {
                trace.set(Some(Arc::new(recorded)));
            }
            let result = result.map(|f| Finished {
                report: f.report,
                phases_ms: f.phases_ms,
            });
            (pool, result)
        })
    }
}

/// A coordinator progress report in words.
fn status(p: &Progress, all_pairs: bool) -> Status {
    let text = if all_pairs {
        format!(
            "ordering {}/{} (all-pairs; {} finished)",
            (p.orderings_done + 1).min(p.orderings),
            p.orderings,
            p.orderings_done
        )
    } else {
        format!(
            "ordering {}/{}, round {} ({} of {} nodes agree)",
            p.ordering + 1,
            p.orderings,
            p.round,
            p.agreeing_nodes,
            p.nodes
        )
    };
    Status {
        fraction: p.fraction(),
        text,
    }
}

/// The controls of Experiment 1.
fn fields(form: Form) -> (Vec<FieldSpec>, Vec<FieldSpec>) {
    let main = vec![
        FieldSpec::number("nodes", "Nodes", format!("2…{NODES_BROWSER_MAX}")),
        FieldSpec::number(
            "dim",
            "Tensor side (dim × dim)",
            format!("1…{DIM_BROWSER_MAX}"),
        ),
        FieldSpec::number(
            "orderings",
            "Orderings",
            format!("1…{ORDERINGS_BROWSER_MAX}"),
        ),
        protocol_field(form),
        fanout_field(form, NODES_BROWSER_MAX),
        strategy_field(form),
        FieldSpec::number("seed", "Seed", "0…2⁵³−1".to_string()),
    ];
    let none = String::new;
    let mut advanced = vec![
        FieldSpec::number("rounds_max", "Rounds at most", "1…10,000".to_string()),
        FieldSpec::choice(
            "resolve",
            "Resolve",
            &[
                ("every-node", "every node"),
                ("once-per-state", "once per distinct state"),
            ],
            none(),
        ),
        FieldSpec::choice(
            "policy",
            "Conflict policy",
            &[("lww", "last writer wins"), ("fww", "first writer wins")],
            none(),
        ),
        FieldSpec::choice(
            "anti_entropy",
            "Anti-entropy",
            &[
                ("full", "full state"),
                ("delta", "deltas (request/reply)"),
                ("merkle", "Merkle digest diff"),
            ],
            none(),
        ),
    ];
    advanced.extend(workload_fields());
    (main, advanced)
}

/// The Experiment 1 page, initialised from the URL.
#[component]
pub fn ConvergencePage(query: PageQuery<ConvergenceConfig>) -> impl IntoView {
    let form = Form::new(FIELDS, &query.config);
    let options = query.options;
    let workers = crate::runner::page_workers(&options);
    let runner = Runner::<ConvergenceReport>::new(workers);
    let trace = RwSignal::new(None::<Arc<Trace>>);
    let form_issues = RwSignal::new(Vec::<QueryIssue>::new());
    let weights = Weights::new();
    let on_run = Callback::new(move |()| {
        let (config, issues) = config_from_pairs(&form.pairs());
        let mut issues: Vec<QueryIssue> = issues.into_iter().map(without_fallback_note).collect();
        let run = with_weights(
            config,
            weights.selection(),
            ConvergenceConfig::validate,
            &mut issues,
        );
        form_issues.set(issues);
        if let (Some((config, tensors)), true) = (run, form_issues.with_untracked(Vec::is_empty)) {
            browser::replace_query(&page_query(config.to_query(), &options));
            runner.start(task(config, tensors, trace));
        }
    });
    let on_cancel = Callback::new(move |()| runner.cancel());
    if options.run {
        runner.start(task(query.config.clone(), None, trace));
    }
    let from_link = query
        .issues
        .iter()
        .any(|i| i.key == "workload" && i.value == "files");
    let (main, advanced) = fields(form);
    view! {
        <Intro/>
        <QueryIssues issues=query.issues/>
        <WorkersLine workers from_link=options.workers.is_some()/>
        <WeightsPanel weights running=runner.running.into() from_link/>
        <Controls
            form
            main
            advanced
            running=runner.running.into()
            issues=form_issues.into()
            on_run
            on_cancel
        />
        <ProgressBar clock=runner.clock.into()/>
        {move || runner.outcome.get().map(|o| outcome_view(o, |report| view! { <RunResults report trace=trace.get_untracked()/> }.into_any()))}
    }
}

#[component]
fn Intro() -> impl IntoView {
    view! {
        <section class="intro" aria-labelledby="exp-title">
            <h1 id="exp-title">"Experiment 1 — multi-node convergence"</h1>
            <p>
                "Each of N simulated nodes contributes one model tensor — synthetic, or one tensor of real "
                <code>".safetensors"</code>" files you load below. The nodes exchange state under K independent, "
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

#[component]
fn RunResults(report: Arc<ConvergenceReport>, trace: Option<Arc<Trace>>) -> impl IntoView {
    let config = report.config.clone();
    let orderings = report.results.orderings.clone();
    let (csv_report, svg_report) = (report.clone(), report.clone());
    let downloads = vec![
        Download::json(report.clone()),
        Download::csv("Table (CSV)", "export-csv", ".csv", move || {
            results_csv(&csv_report)
        }),
        Download::svg("Chart (SVG)", "export-svg", ".svg", move || {
            crate::chart::convergence_svg(svg_report.config.nodes, &svg_report.results.orderings)
        }),
    ];
    view! {
        <section class="results-section" aria-label="Results">
            <VerdictPanel verdict=report.verdict.clone()/>
            <FingerprintBox fingerprint=report.fingerprint.clone() execution=execution_of(&*report)/>
            <Downloads stem=stem("convergence", &report.fingerprint) items=downloads/>
            <h2>"Per ordering"</h2>
            <ResultsTable orderings=orderings.clone()/>
            {config.workload.files().cloned().map(|files| view! { <WorkloadFiles files/> })}
            <h2>"Nodes agreeing per round"</h2>
            <ConvergenceChart nodes=config.nodes orderings/>
            {trace.map(|trace| view! { <h2>"The network, round by round"</h2><NetworkView trace/> })}
            // Long file names in `--weights` may wrap inside the argument
            // (style/weights.css), so the command fits a phone.
            <div class="reproduce-weights">
                <Reproduce cli=config.cli_command() query=encode_query(&config.to_query())/>
            </div>
        </section>
    }
}
