//! Experiment 4 — scalability: rounds to convergence, messages and bytes on
//! the wire against network size, beside gossip theory, with fitted log–log
//! slopes and this browser's time per size.
//!
//! Each size is one [`Job::ScalePoint`] (the engine's `scale::run_point`,
//! in one worker); the outputs, put back in size order, go through the same
//! `scale::assemble` `lab-cli scale` calls, so the fingerprint is `lab-cli`'s
//! for any number of workers. The biggest size is sent first: it dominates
//! the run, so the other workers clear the small sizes meanwhile.

mod chart;

use crate::components::controls::{
    protocol_field, strategy_field, workload_fields, Controls, FieldSpec, Form,
};
use crate::components::progress::{format_duration, ProgressBar};
use crate::components::report::{
    execution_of, outcome_view, stem, Download, Downloads, FingerprintBox, QueryIssues, Reproduce,
    SvgFigure, WorkersLine,
};
use crate::components::results::group;
use crate::components::verdict::VerdictPanel;
use crate::components::weights::{self, send_tensors_first, Weights, WeightsPanel, WorkloadFiles};
use crate::coordinator::{Link, RunError};
use crate::jobs::{run_jobs, JobProgress};
use crate::protocol::{Job, JobOutput};
use crate::query::{
    apply_limits, encode_query, issue, PageQuery, DIM_BROWSER_MAX, NODES_BROWSER_MAX,
    ORDERINGS_BROWSER_MAX, WORKLOAD_ELEMENTS_BROWSER_MAX,
};
use crate::runner::{Finished, Runner, Status, StatusSink, TaskFuture};
use lab_core::experiment::convergence::FileTensors;
use lab_core::experiment::params::QueryIssue;
use lab_core::experiment::scale::{
    loglog_slope, parse_sizes, ScaleConfig, ScalePoint, ScaleReport, FIELDS,
};
use lab_core::sim::Protocol;
use leptos::prelude::*;
use std::sync::Arc;

/// The page's sizes when the link gives none: up to the browser's largest
/// network, so the slopes span almost three decades.
pub const SIZES_BROWSER_DEFAULT: &str = "2,5,10,20,50,100,200,500,1000";
/// Schedules per size when the link gives none (the engine's 5 makes the
/// 1,000-node point alone take tens of seconds in a browser).
pub const ORDERINGS_BROWSER_DEFAULT: u32 = 3;
/// The speed goal's run: one 1,000-node push-pull convergence at 64×64.
pub const GOAL_NODES: u32 = 1_000;
pub const GOAL_DIM: u32 = 64;
/// The speed goal: that run in at most this long in a browser.
pub const GOAL_MS: f64 = 10_000.0;

/// A scale config from query (or form) pairs: the browser's defaults and
/// limits, then the engine's codec. Bad values are named and replaced.
pub fn config_from_pairs(pairs: &[(String, String)]) -> (ScaleConfig, Vec<QueryIssue>) {
    let mut issues = Vec::new();
    let mut kept = vec![
        ("sizes".to_string(), SIZES_BROWSER_DEFAULT.to_string()),
        (
            "orderings".to_string(),
            ORDERINGS_BROWSER_DEFAULT.to_string(),
        ),
    ];
    kept.extend(apply_limits(
        pairs,
        &[
            ("dim", DIM_BROWSER_MAX as u64),
            ("orderings", ORDERINGS_BROWSER_MAX as u64),
        ],
        &mut issues,
    ));
    kept.retain(|(k, v)| k != "sizes" || sizes_ok(v, &mut issues));
    let kept = fit_workload(kept, &mut issues);
    let (config, engine_issues) = ScaleConfig::from_query(&kept);
    issues.extend(engine_issues);
    (config, issues)
}

/// Whether `value` is a valid sizes list for the browser; if not, an issue
/// names `sizes` (the default list is then used).
fn sizes_ok(value: &str, issues: &mut Vec<QueryIssue>) -> bool {
    let message = match parse_sizes(value) {
        Err(e) => e.to_string(),
        Ok(sizes) => match sizes.iter().find(|&&n| !(2..=NODES_BROWSER_MAX).contains(&n)) {
            None => return true,
            Some(n) => format!(
                "every size must be from 2 to {NODES_BROWSER_MAX} in the browser (got {n}; use lab-cli for more)"
            ),
        },
    };
    issues.push(issue(
        "sizes",
        value,
        format!("{message}; default {SIZES_BROWSER_DEFAULT} used"),
    ));
    false
}

/// Drops the last `dim` when the largest size's workload, `(n + 1) × dim²`
/// tensor elements, would not fit one worker (each size runs in one).
fn fit_workload(
    mut pairs: Vec<(String, String)>,
    issues: &mut Vec<QueryIssue>,
) -> Vec<(String, String)> {
    let last = |pairs: &[(String, String)], key: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let largest = last(&pairs, "sizes")
        .and_then(|v| parse_sizes(&v).ok())
        .and_then(|s| s.last().copied())
        .unwrap_or(NODES_BROWSER_MAX);
    let Some(dim_text) = last(&pairs, "dim") else {
        return pairs;
    };
    let Ok(dim) = dim_text.parse::<u64>() else {
        return pairs;
    };
    let elements = (largest as u64 + 1) * dim * dim;
    if elements > WORKLOAD_ELEMENTS_BROWSER_MAX {
        let default = ScaleConfig::default().dim;
        issues.push(issue(
            "dim",
            &dim_text,
            format!("the largest size needs (n + 1) × dim² = {elements} tensor elements, more than a browser worker holds ({WORKLOAD_ELEMENTS_BROWSER_MAX}); use a smaller dim, smaller sizes or lab-cli; default {default} used"),
        ));
        pairs.retain(|(k, _)| k != "dim");
    }
    pairs
}

/// The config of the speed goal's run, keeping the form's strategy and seed.
fn goal_config(base: &ScaleConfig) -> ScaleConfig {
    ScaleConfig {
        sizes: vec![GOAL_NODES],
        dim: GOAL_DIM,
        orderings: 1,
        protocol: Protocol::PushPull,
        fanout: 1,
        ..base.clone()
    }
}

/// Whether a config is the speed goal's run.
fn is_goal(c: &ScaleConfig) -> bool {
    c.sizes == [GOAL_NODES]
        && c.dim == GOAL_DIM
        && c.orderings == 1
        && c.protocol == Protocol::PushPull
        && c.fanout == 1
}

/// How a size is named in progress and timings.
fn size_label(n: u32) -> String {
    format!("n = {n}")
}

/// A rough relative cost of one size (measured runs grow about as n^1.9),
/// used only to move the progress bar evenly.
fn cost_weight(n: u32) -> f64 {
    (n as f64).powf(1.9) + 50.0
}

/// Runs every size over `link` (biggest first) and assembles the report
/// from the points in size order; returns it with each size's time (ms,
/// in size order, labelled by [`size_label`]).
pub async fn run_scale<L: Link>(
    link: &mut L,
    config: &ScaleConfig,
    progress: &mut dyn FnMut(Status),
) -> Result<(ScaleReport, Vec<(String, f64)>), RunError> {
    let descending: Vec<u32> = config.sizes.iter().rev().copied().collect();
    let jobs = descending
        .iter()
        .map(|&nodes| Job::ScalePoint {
            config: config.clone(),
            nodes,
        })
        .collect();
    let labels: Vec<String> = descending.iter().map(|&n| size_label(n)).collect();
    let weight_total: f64 = descending.iter().map(|&n| cost_weight(n)).sum();
    let mut weight_done = 0.0;
    let mut on_job = |p: JobProgress| {
        if let Some(i) = labels.iter().position(|l| *l == p.last) {
            weight_done += cost_weight(descending[i]);
        }
        let text = if p.last.is_empty() {
            format!("0 of {} sizes done (largest first)", p.total)
        } else {
            format!("{} of {} sizes done (last: {})", p.done, p.total, p.last)
        };
        progress(Status {
            fraction: (weight_done / weight_total).min(1.0),
            text,
        });
    };
    let mut done = run_jobs(link, jobs, &labels, &mut on_job).await?;
    done.reverse();
    let mut points = Vec::with_capacity(done.len());
    let mut times_ms = Vec::with_capacity(done.len());
    for (d, &n) in done.into_iter().zip(&config.sizes) {
        let JobOutput::ScalePoint(point) = d.output else {
            return Err(RunError::Protocol(format!(
                "expected the scale point n = {n}, got {:?}",
                d.output
            )));
        };
        if point.nodes != n {
            return Err(RunError::Protocol(format!(
                "expected the scale point n = {n}, got n = {}",
                point.nodes
            )));
        }
        points.push(*point);
        times_ms.push((size_label(n), d.elapsed_ms));
    }
    Ok((
        lab_core::experiment::scale::assemble(config, points),
        times_ms,
    ))
}

/// Every size over the pool; a model-file workload's tensors go to every
/// worker first.
fn task(
    config: ScaleConfig,
    tensors: Option<Arc<FileTensors>>,
) -> impl FnOnce(crate::pool::Pool, StatusSink) -> TaskFuture<ScaleReport> {
    move |mut pool, sink| {
        Box::pin(async move {
            let sent = send_tensors_first(&mut pool, tensors.as_deref(), &sink).await;
            if let Err(e) = sent {
                return (pool, Err(e));
            }
            let result = run_scale(&mut pool, &config, &mut |s| sink(s)).await;
            let result = result.map(|(report, phases_ms)| Finished { report, phases_ms });
            (pool, result)
        })
    }
}

fn fields(form: Form) -> (Vec<FieldSpec>, Vec<FieldSpec>) {
    let main = vec![
        FieldSpec::text(
            "sizes",
            "Network sizes",
            format!("comma-separated, increasing, 2…{NODES_BROWSER_MAX}"),
        ),
        FieldSpec::number(
            "dim",
            "Tensor side (dim × dim)",
            format!("1…{DIM_BROWSER_MAX}"),
        ),
        FieldSpec::number(
            "orderings",
            "Schedules per size",
            format!("1…{ORDERINGS_BROWSER_MAX}; averaged"),
        ),
        protocol_field(form),
        FieldSpec::number(
            "fanout",
            "Fan-out k",
            "peers per node per round (capped at n − 1)".to_string(),
        ),
    ];
    let mut advanced = vec![
        strategy_field(form),
        FieldSpec::number("seed", "Seed", "0…2⁵³−1".to_string()),
    ];
    advanced.extend(workload_fields());
    (main, advanced)
}

/// The Experiment 4 page, initialised from the URL.
#[component]
pub fn ScalePage(query: PageQuery<ScaleConfig>) -> impl IntoView {
    let form = Form::new(FIELDS, &query.config);
    let options = query.options;
    let workers = crate::runner::page_workers(&options);
    let runner = Runner::<ScaleReport>::new(workers);
    let weights = Weights::new();
    let crate::runner::PageActions {
        issues: form_issues,
        on_run,
        on_cancel,
    } = weights::page_actions(
        form,
        runner,
        options,
        config_from_pairs,
        ScaleConfig::to_query,
        ScaleConfig::validate,
        task,
        &query.config,
        weights,
        |_, _| {},
    );
    let from_link = weights::link_had_files(&query.issues);
    let on_goal = Callback::new(move |()| {
        let (base, _) = config_from_pairs(&form.pairs());
        let goal = goal_config(&base);
        for f in FIELDS {
            form.field(f.key).set(f.get(&goal));
        }
        on_run.run(());
    });
    let (main, advanced) = fields(form);
    view! {
        <Intro/>
        <QueryIssues issues=query.issues/>
        <WorkersLine workers from_link=options.workers.is_some()/>
        <WeightsPanel weights running=runner.running.into() from_link/>
        <Controls form main advanced running=runner.running.into() issues=form_issues.into() on_run on_cancel/>
        <GoalPreset running=runner.running.into() on_goal/>
        <ProgressBar clock=runner.clock.into()/>
        {move || runner.outcome.get().map(|o| outcome_view(o, |report| view! { <ScaleResults report/> }.into_any()))}
    }
}

#[component]
fn Intro() -> impl IntoView {
    view! {
        <section class="intro" aria-labelledby="exp-title">
            <h1 id="exp-title">"Experiment 4 — scalability"</h1>
            <p>
                "How does convergence cost grow with the number of nodes n? For each network size the lab runs Experiment 1 "
                "(every node contributes one model; nodes gossip until all hold a bit-identical state) and records the "
                <strong>"rounds"</strong>" until every node agreed, the "<strong>"messages"</strong>" sent and the "
                <strong>"metadata bytes"</strong>" on the wire, averaged over independent seeded schedules."
            </p>
            <ul>
                <li>
                    <strong>"Gossip"</strong>" (push, pull, push-pull with fan-out k): in each round every node contacts k random peers. "
                    "Push sends its state, pull asks for theirs, push-pull does both. Rounds grow like log n — for one rumour, push with k = 1 "
                    "needs about log₂ n + ln n rounds and push-pull about log₃ n + O(log log n). A CRDT needs "
                    <em>"every"</em>" node's contribution everywhere (n rumours at once); the lab computes the exact one-rumour expectation, "
                    "an estimate for all rumours and rigorous bounds around it, and compares the measured rounds with them."
                </li>
                <li>
                    <strong>"All-pairs"</strong>" (every node merges every other node in turn) converges in one pass, but sends n(n − 1) "
                    "messages: O(n²) against gossip's O(n log n)."
                </li>
                <li>
                    <strong>"Bytes"</strong>": every message carries the sender's whole contribution set, whose metadata grows with n, so "
                    "bytes grow faster than messages. The fitted log–log slope of each quantity is its exponent: slope 1 is linear, 2 quadratic."
                </li>
            </ul>
            <p>
                "PASS means every size converged (every node bit-identical) and, for gossip, the mean rounds lie within the rigorous bounds "
                "(±1 round of sampling slack). Each size runs in one web worker; the sizes share the workers, largest first. The fingerprint equals "
                <code>"lab-cli scale"</code>"'s for the same settings, with any number of workers. Times are measured in this browser and are "
                "not part of the fingerprint."
            </p>
        </section>
    }
}

/// The speed goal's one-click run.
#[component]
fn GoalPreset(running: Signal<bool>, on_goal: Callback<()>) -> impl IntoView {
    view! {
        <section class="scale-goal" aria-labelledby="goal-title">
            <h2 id="goal-title">"Speed goal"</h2>
            <p>
                "One 1,000-node push-pull convergence with 64 × 64 tensors (fan-out 1, one schedule) should finish in this browser in at most "
                {format_duration(GOAL_MS)}". It runs as a single job, so it uses one worker whatever their number."
            </p>
            <button
                type="button"
                data-testid="goal-run"
                disabled=move || running.get()
                on:click=move |_| on_goal.run(())
            >
                "Run: 1,000-node push-pull at 64×64"
            </button>
        </section>
    }
}

/// Time per size (ms) from the report's execution, in point order.
fn point_times(report: &ScaleReport) -> Vec<Option<f64>> {
    let phases = report
        .execution
        .as_ref()
        .map(|e| e.phases_ms.as_slice())
        .unwrap_or_default();
    report
        .results
        .points
        .iter()
        .map(|p| {
            let label = size_label(p.nodes);
            phases.iter().find(|(l, _)| *l == label).map(|(_, ms)| *ms)
        })
        .collect()
}

/// Sizes whose job took less than this are left out of the time slope:
/// their time is mostly start-up, messaging and timer resolution.
pub const TIME_FIT_MS_MIN: f64 = 50.0;

/// The sizes the time slope is fitted over, in words.
fn time_fit_note() -> String {
    format!("sizes ≥ {}", format_duration(TIME_FIT_MS_MIN))
}

/// The log–log slope of the browser's time per size (`lab-core`'s fit),
/// over the sizes that took at least [`TIME_FIT_MS_MIN`].
fn time_slope(report: &ScaleReport, times: &[Option<f64>]) -> Option<f64> {
    let xy: Vec<(f64, f64)> = report
        .results
        .points
        .iter()
        .zip(times)
        .filter_map(|(p, t)| {
            t.filter(|&t| t >= TIME_FIT_MS_MIN)
                .map(|t| (p.nodes as f64, t))
        })
        .collect();
    loglog_slope(&xy)
}

#[component]
fn ScaleResults(report: Arc<ScaleReport>) -> impl IntoView {
    let config = report.config.clone();
    let r = &report.results;
    let times = point_times(&report);
    let t_slope = time_slope(&report, &times);
    let rounds_svg = chart::rounds_svg(&r.points, config.protocol.name(), config.fanout);
    let costs_svg = chart::costs_svg(&chart::cost_series(
        &r.points,
        &r.slopes,
        &times,
        t_slope,
        &time_fit_note(),
    ));
    let (rounds_dl, costs_dl) = (rounds_svg.clone(), costs_svg.clone());
    let (csv_report, csv_times) = (report.clone(), times.clone());
    let downloads = vec![
        Download::json(report.clone()),
        Download::csv("Table (CSV)", "export-csv", ".csv", move || {
            points_csv(&csv_report.results.points, &csv_times)
        }),
        Download::svg(
            "Rounds chart (SVG)",
            "export-svg",
            "-rounds.svg",
            move || rounds_dl.clone(),
        ),
        Download::svg(
            "Costs chart (SVG)",
            "export-svg-costs",
            "-costs.svg",
            move || costs_dl.clone(),
        ),
    ];
    let theory = r.points.iter().any(|p| p.theory.is_some());
    let rounds_caption = if theory {
        "Rounds until every node held the same state (dots: mean over the schedules; whiskers: fastest and slowest schedule). \
         Green: exact expected rounds for one rumour. Blue dashed: estimated rounds for all n rumours (the CRDT case), inside its rigorous bounds (shaded). \
         Pink dotted: the leading-order asymptotic formula for one rumour (it omits constant terms)."
    } else {
        "Rounds per schedule: all-pairs merges every pair in one sequential pass, so gossip theory does not apply."
    };
    view! {
        <section class="results-section" aria-label="Results">
            <VerdictPanel
                verdict=report.verdict.clone()
                pass_text="Every size converged to bit-identical nodes, and the measured rounds agree with gossip theory."
                fail_text="Some check failed — see below."
            />
            <GoalLine report=report.clone() times=times.clone()/>
            <FingerprintBox fingerprint=report.fingerprint.clone() execution=execution_of(&*report)/>
            <Downloads stem=stem("scale", &report.fingerprint) items=downloads/>
            <p class="scale-summary" data-testid="summary">{summary(&report)}</p>
            <div class="scale-charts">
                <section aria-labelledby="rounds-title">
                    <h2 id="rounds-title">"Rounds to convergence against network size"</h2>
                    <SvgFigure svg=rounds_svg caption=rounds_caption.to_string() testid="chart-rounds"/>
                </section>
                <section aria-labelledby="costs-title">
                    <h2 id="costs-title">"Messages, bytes and time (log–log)"</h2>
                    <SvgFigure
                        svg=costs_svg
                        caption=format!("Both axes logarithmic: a straight line of slope s means the quantity grows like nˢ (grey dashed: slopes 1 and 2 for reference). Messages and metadata bytes are per run (one schedule), their slopes fitted by the engine; time is the wall-clock time of each size's job in this browser (all its schedules, sharing the CPU with the other workers), fitted the same way over the sizes that took at least {} (below that, start-up and messaging dominate).", format_duration(TIME_FIT_MS_MIN))
                        testid="chart-costs"
                    />
                </section>
            </div>
            <h2>"Per size"</h2>
            <PointsTable points=r.points.clone() times=times/>
            <SlopesList report=report.clone() time_slope=t_slope/>
            {config.workload.files().cloned().map(|files| view! { <WorkloadFiles files/> })}
            // Long file names in `--weights` may wrap (style/weights.css).
            <div class="reproduce-weights">
                <Reproduce cli=config.cli_command() query=encode_query(&config.to_query())/>
            </div>
        </section>
    }
}

/// The run in one sentence, every number from the report.
fn summary(report: &ScaleReport) -> String {
    let r = &report.results;
    let (Some(first), Some(last)) = (r.points.first(), r.points.last()) else {
        return String::new();
    };
    let slope = |q: &str| {
        r.slopes
            .iter()
            .find(|s| s.quantity == q)
            .map_or_else(|| "—".to_string(), |s| format!("{:.2}", s.slope))
    };
    if r.points.len() == 1 {
        return format!(
            "n = {}: {:.2} rounds on average, {} messages and {} metadata bytes per run.",
            group(first.nodes as u64),
            first.rounds_mean,
            group(first.messages_mean.round() as u64),
            group(first.metadata_bytes_mean.round() as u64)
        );
    }
    format!(
        "From n = {} to n = {}: mean rounds went from {:.2} to {:.2} (log–log slope {}), messages per run from {} to {} (slope {}), metadata bytes per run from {} to {} (slope {}).",
        group(first.nodes as u64),
        group(last.nodes as u64),
        first.rounds_mean,
        last.rounds_mean,
        slope("rounds"),
        group(first.messages_mean.round() as u64),
        group(last.messages_mean.round() as u64),
        slope("messages"),
        group(first.metadata_bytes_mean.round() as u64),
        group(last.metadata_bytes_mean.round() as u64),
        slope("metadata bytes")
    )
}

/// Whether the speed goal was met, when the report is the goal's run.
#[component]
fn GoalLine(report: Arc<ScaleReport>, times: Vec<Option<f64>>) -> impl IntoView {
    let time = times.first().copied().flatten();
    (is_goal(&report.config)).then(|| {
        let total = report.execution.as_ref().map(|e| e.total_ms);
        let (met, text) = match time {
            Some(ms) => (
                ms <= GOAL_MS,
                format!(
                    "Speed goal: the 1,000-node push-pull convergence at 64×64 took {} in this browser's worker (whole run {}); the goal is at most {} — {}.",
                    format_duration(ms),
                    total.map_or_else(|| "?".to_string(), format_duration),
                    format_duration(GOAL_MS),
                    if ms <= GOAL_MS { "met" } else { "not met on this machine" }
                ),
            ),
            None => (false, "Speed goal: no time was measured for this run.".to_string()),
        };
        view! {
            <p class="notice scale-goal-line" class:warn=!met data-testid="goal-result" data-met=met.to_string()>{text}</p>
        }
    })
}

#[component]
fn PointsTable(points: Vec<ScalePoint>, times: Vec<Option<f64>>) -> impl IntoView {
    let rows = points
        .into_iter()
        .zip(times)
        .map(|(p, t)| {
            let th = p.theory.clone();
            let theory = |f: fn(&lab_core::experiment::scale::Theory) -> f64| {
                th.as_ref()
                    .map_or_else(|| "—".to_string(), |t| format!("{:.2}", f(t)))
            };
            let bounds = th.as_ref().map_or_else(
                || "—".to_string(),
                |t| format!("{:.2} – {:.2}", t.all_rumours_lower, t.all_rumours_upper),
            );
            let outside = th.as_ref().is_some_and(|t| {
                p.rounds_mean < t.all_rumours_lower - 1.0
                    || p.rounds_mean > t.all_rumours_upper + 1.0
            });
            view! {
                <tr>
                    <th scope="row" class="num">{group(p.nodes as u64)}</th>
                    <td class:bad=!p.converged>{if p.converged { "yes" } else { "no" }}</td>
                    <td class="num" class:bad=outside>{format!("{:.2}", p.rounds_mean)}</td>
                    <td class="num">{p.rounds_min}" – "{p.rounds_max}</td>
                    <td class="num">{theory(|t| t.one_rumour_mean)}</td>
                    <td class="num">{theory(|t| t.all_rumours_estimate)}</td>
                    <td class="num">{bounds}</td>
                    <td class="num">{theory(|t| t.asymptotic)}</td>
                    <td class="num">{group(p.messages_mean.round() as u64)}</td>
                    <td class="num">{group(p.metadata_bytes_mean.round() as u64)}</td>
                    <td class="num">{t.map_or_else(|| "—".to_string(), format_duration)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap scale-table" tabindex="0" role="region" aria-label="Results per network size (scrolls sideways)">
            <table class="results" data-testid="results">
                <thead>
                    <tr>
                        <th scope="col" class="num">"n"</th>
                        <th scope="col">"Converged"</th>
                        <th scope="col" class="num">"Rounds (mean)"</th>
                        <th scope="col" class="num">"Rounds min – max"</th>
                        <th scope="col" class="num">"One rumour: exact E"</th>
                        <th scope="col" class="num">"All rumours: estimate"</th>
                        <th scope="col" class="num">"All rumours: bounds"</th>
                        <th scope="col" class="num">"Asymptotic"</th>
                        <th scope="col" class="num">"Messages / run"</th>
                        <th scope="col" class="num">"Metadata bytes / run"</th>
                        <th scope="col" class="num">"Time in this browser"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <p class="muted">
            "Messages and bytes are means over the schedules of one size. Time is measured (the job's wall-clock time in a web worker, "
            "all schedules of the size) and is not part of the fingerprint; every other number comes from the engine."
        </p>
    }
}

/// The fitted slopes, in words.
#[component]
fn SlopesList(report: Arc<ScaleReport>, time_slope: Option<f64>) -> impl IntoView {
    let mut items: Vec<(String, String)> = report
        .results
        .slopes
        .iter()
        .map(|s| {
            (
                s.quantity.clone(),
                format!("{:.2} (over {} sizes)", s.slope, s.points),
            )
        })
        .collect();
    if let Some(k) = time_slope {
        items.push((
            format!("time in this browser (measured; {})", time_fit_note()),
            format!("{k:.2}"),
        ));
    }
    (!items.is_empty()).then(|| {
        view! {
            <h2>"Fitted log–log slopes"</h2>
            <dl class="scale-slopes" data-testid="slopes">
                {items
                    .into_iter()
                    .map(|(q, v)| view! { <div><dt>{q}</dt><dd class="num">{v}</dd></div> })
                    .collect_view()}
            </dl>
        }
    })
}

/// The points as CSV, with this run's time per size.
pub fn points_csv(points: &[ScalePoint], times_ms: &[Option<f64>]) -> String {
    let mut out = String::from(
        "nodes,converged,rounds_mean,rounds_min,rounds_max,one_rumour_mean,all_rumours_estimate,all_rumours_lower,all_rumours_upper,asymptotic,messages_mean,joins_mean,metadata_bytes_mean,tensor_bytes,state_digest,resolved_digest,browser_ms\r\n",
    );
    for (i, p) in points.iter().enumerate() {
        let t = p.theory.as_ref();
        let opt = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            p.nodes,
            p.converged,
            p.rounds_mean,
            p.rounds_min,
            p.rounds_max,
            opt(t.map(|t| t.one_rumour_mean)),
            opt(t.map(|t| t.all_rumours_estimate)),
            opt(t.map(|t| t.all_rumours_lower)),
            opt(t.map(|t| t.all_rumours_upper)),
            opt(t.map(|t| t.asymptotic)),
            p.messages_mean,
            p.joins_mean,
            p.metadata_bytes_mean,
            p.tensor_bytes,
            p.state_digest,
            p.resolved_digest,
            opt(times_ms.get(i).copied().flatten()),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::{block_on, LocalLink};
    use lab_core::experiment::scale::{self, format_sizes};

    fn sizes_text(config: &ScaleConfig) -> String {
        format_sizes(&config.sizes)
    }

    fn pairs(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn jobs_over_local_workers_match_the_engine() {
        let config = ScaleConfig {
            sizes: vec![2, 4, 8],
            dim: 2,
            orderings: 2,
            ..ScaleConfig::default()
        };
        let native = scale::run(&config).unwrap();
        for workers in [1, 2, 3] {
            let mut link = LocalLink::new(workers);
            let mut fractions = Vec::new();
            let (report, times) = block_on(run_scale(&mut link, &config, &mut |s| {
                fractions.push(s.fraction)
            }))
            .unwrap();
            assert_eq!(report.fingerprint, native.fingerprint, "{workers} workers");
            assert_eq!(report, native);
            let labels: Vec<&str> = times.iter().map(|(l, _)| l.as_str()).collect();
            assert_eq!(labels, ["n = 2", "n = 4", "n = 8"]);
            assert_eq!(fractions.len(), 4);
            assert!(fractions.windows(2).all(|w| w[0] <= w[1]));
            assert!((fractions[3] - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn all_pairs_over_jobs_matches_the_engine() {
        let config = ScaleConfig {
            sizes: vec![3, 5],
            dim: 2,
            orderings: 1,
            protocol: Protocol::AllPairs,
            ..ScaleConfig::default()
        };
        let native = scale::run(&config).unwrap();
        let mut link = LocalLink::new(2);
        let (report, _) = block_on(run_scale(&mut link, &config, &mut |_| {})).unwrap();
        assert_eq!(report.fingerprint, native.fingerprint);
    }

    #[test]
    fn browser_defaults_and_permalinks() {
        let (config, issues) = config_from_pairs(&[]);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(sizes_text(&config), SIZES_BROWSER_DEFAULT);
        assert_eq!(config.orderings, ORDERINGS_BROWSER_DEFAULT);
        let custom = ScaleConfig {
            sizes: vec![3, 30, 300],
            dim: 8,
            orderings: 2,
            protocol: Protocol::Pull,
            fanout: 2,
            ..config
        };
        let (back, issues) = config_from_pairs(&custom.to_query());
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, custom);
    }

    #[test]
    fn bad_sizes_name_the_field_and_use_the_default() {
        for bad in ["3,2", "1,4", "2,x", "", "2,5000"] {
            let (config, issues) = config_from_pairs(&pairs(&[("sizes", bad), ("dim", "4")]));
            assert_eq!(issues.len(), 1, "{bad}: {issues:?}");
            assert_eq!(issues[0].key, "sizes", "{bad}");
            assert_eq!(sizes_text(&config), SIZES_BROWSER_DEFAULT, "{bad}");
            assert_eq!(config.dim, 4);
        }
    }

    #[test]
    fn the_largest_size_must_fit_a_worker() {
        let (config, issues) = config_from_pairs(&pairs(&[("sizes", "10,1000"), ("dim", "512")]));
        assert_eq!(config.dim, ScaleConfig::default().dim);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].key, "dim");
        let (config, issues) = config_from_pairs(&pairs(&[("sizes", "2,10"), ("dim", "512")]));
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(config.dim, 512);
        let (_, issues) = config_from_pairs(&pairs(&[("orderings", "50")]));
        assert_eq!(issues[0].key, "orderings");
    }

    #[test]
    fn the_goal_preset_is_valid_and_recognised() {
        let (base, _) = config_from_pairs(&[]);
        let goal = goal_config(&base);
        assert!(is_goal(&goal));
        assert!(!is_goal(&base));
        let (back, issues) = config_from_pairs(&goal.to_query());
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, goal);
    }

    #[test]
    fn the_summary_reads_the_report() {
        let config = ScaleConfig {
            sizes: vec![2, 4],
            dim: 1,
            orderings: 1,
            ..ScaleConfig::default()
        };
        let report = scale::run(&config).unwrap();
        let text = summary(&report);
        assert!(text.starts_with("From n = 2 to n = 4"), "{text}");
        assert!(!text.contains('—'), "every slope is there: {text}");
        let one = scale::run(&ScaleConfig {
            sizes: vec![3],
            ..config
        })
        .unwrap();
        assert!(summary(&one).starts_with("n = 3: "));
    }

    #[test]
    fn the_time_slope_skips_sizes_under_the_floor() {
        let config = ScaleConfig {
            sizes: vec![2, 4, 8],
            dim: 1,
            orderings: 1,
            ..ScaleConfig::default()
        };
        let report = scale::run(&config).unwrap();
        let slope = time_slope(&report, &[Some(1.0), Some(100.0), Some(400.0)]).unwrap();
        assert!((slope - 2.0).abs() < 1e-9, "{slope}");
        assert_eq!(time_slope(&report, &[Some(1.0), None, Some(400.0)]), None);
    }

    #[test]
    fn csv_has_a_row_per_size_and_blank_theory_for_all_pairs() {
        let config = ScaleConfig {
            sizes: vec![2, 4],
            dim: 1,
            orderings: 1,
            protocol: Protocol::AllPairs,
            ..ScaleConfig::default()
        };
        let report = scale::run(&config).unwrap();
        let csv = points_csv(&report.results.points, &[Some(1.5), None]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        let header = lines[0].split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == header));
        assert!(lines[1].ends_with(",1.5"));
        assert!(lines[2].ends_with(','));
        assert!(lines[1].contains(",,,,,"), "no theory for all-pairs");
    }
}
