//! The full suite: Experiments 1–4 in one report, as `lab-cli suite` runs
//! it. The `seed` preset reproduces the seed lab's default suite (30 nodes,
//! 128×128, 5 orderings, 3 partitions, all-pairs); otherwise the four
//! configs are derived from a few numbers exactly as the CLI derives them.
//!
//! Experiment 1 runs on the round-by-round coordinator over all workers;
//! the partition run, every sweep row and every scale size are then jobs
//! over the pool; `lab_core::experiment::suite::assemble` builds the report.

use crate::components::controls::{protocol_field, workload_fields, Controls, FieldSpec, Form};
use crate::components::progress::ProgressBar;
use crate::components::report::{
    execution_of, outcome_view, stem, Download, Downloads, FingerprintBox, QueryIssues, Reproduce,
    SvgFigure, WorkersLine,
};
use crate::components::results::group;
use crate::components::verdict::VerdictPanel;
use crate::components::weights::{self, send_tensors, Weights, WeightsPanel, WorkloadFiles};
use crate::coordinator::{self, Link, RunError};
use crate::jobs::{run_jobs, Done};
use crate::pool::Pool;
use crate::protocol::{Job, JobOutput};
use crate::query::{apply_limits, encode_query, PageQuery};
use crate::runner::{Finished, Runner, Status, StatusSink, TaskFuture, Timed};
use lab_core::experiment::convergence::FileTensors;
use lab_core::experiment::params::QueryIssue;
use lab_core::experiment::suite::{assemble, SuiteConfig, SuiteReport, SuiteResults, SuiteSpec};
use lab_core::experiment::{scale, sweep};
use lab_core::report::Execution;
use lab_core::sim::Protocol;
use leptos::prelude::*;
use std::sync::Arc;

/// Most nodes of a suite in the browser (every part runs at this size).
const SUITE_NODES_MAX: u32 = 200;
/// Largest tensor side of a suite in the browser.
const SUITE_DIM_MAX: u32 = 256;
/// Most orderings of a suite in the browser.
const SUITE_ORDERINGS_MAX: u32 = 10;
/// Share of the progress bar given to Experiment 1.
const CONVERGENCE_SHARE: f64 = 0.3;

/// A suite spec from query (or form) pairs, within the browser's limits;
/// bad values are named.
pub fn config_from_pairs(pairs: &[(String, String)]) -> (SuiteSpec, Vec<QueryIssue>) {
    let mut issues = Vec::new();
    let kept = apply_limits(
        pairs,
        &[
            ("nodes", SUITE_NODES_MAX as u64),
            ("dim", SUITE_DIM_MAX as u64),
            ("orderings", SUITE_ORDERINGS_MAX as u64),
        ],
        &mut issues,
    );
    let (spec, more) = SuiteSpec::from_query(&kept);
    issues.extend(more);
    (spec, issues)
}

/// The jobs after Experiment 1, with their labels.
fn jobs(config: &SuiteConfig) -> (Vec<Job>, Vec<String>) {
    let mut jobs = vec![Job::Partition(config.partition.clone())];
    let mut labels = vec!["2. partition".to_string()];
    for s in config.sweep.selected() {
        jobs.push(Job::SweepRow {
            config: config.sweep.clone(),
            strategy: s.to_string(),
        });
        labels.push(format!("3. {s}"));
    }
    for &n in &config.scale.sizes {
        jobs.push(Job::ScalePoint {
            config: config.scale.clone(),
            nodes: n,
        });
        labels.push(format!("4. n = {n}"));
    }
    (jobs, labels)
}

/// Puts the job outputs back into the partition, sweep and scale reports.
fn reports_from(
    config: &SuiteConfig,
    done: Vec<Done>,
) -> Result<
    (
        lab_core::experiment::partition::PartitionReport,
        sweep::SweepReport,
        scale::ScaleReport,
    ),
    RunError,
> {
    let mut partition = None;
    let mut rows = Vec::new();
    let mut points = Vec::new();
    for d in done {
        match d.output {
            JobOutput::Partition(r, _) => partition = Some((*r).into()),
            JobOutput::SweepRow(r) => rows.push(*r),
            JobOutput::ScalePoint(p) => points.push(*p),
            other => {
                return Err(RunError::Protocol(format!(
                    "unexpected job output {other:?}"
                )))
            }
        }
    }
    let partition =
        partition.ok_or_else(|| RunError::Protocol("the partition run is missing".into()))?;
    Ok((
        partition,
        sweep::assemble(&config.sweep, rows),
        scale::assemble(&config.scale, points),
    ))
}

/// Runs the whole suite over `link` (the pool, or in-process workers). A
/// model-file workload's `tensors` go to every worker before Experiment 1
/// and again before the jobs (Experiment 1's workload takes the workers'
/// copy: a worker keeps one copy of the tensors at a time).
pub async fn run_suite<L: Link>(
    link: &mut L,
    config: &SuiteConfig,
    tensors: Option<&FileTensors>,
    status: &dyn Fn(Status),
) -> Result<Finished<SuiteReport>, RunError> {
    let started = link.now_ms();
    let send = |what: &str| Status {
        fraction: 0.0,
        text: format!("sending the model tensors to the workers ({what})"),
    };
    if let Some(t) = tensors {
        status(send("1. convergence"));
        send_tensors(link, t).await?;
    }
    let all_pairs = config.convergence.protocol == Protocol::AllPairs;
    let convergence = coordinator::run(&mut *link, &config.convergence, &mut |p| {
        status(Status {
            fraction: CONVERGENCE_SHARE * p.fraction(),
            text: if all_pairs {
                format!(
                    "1. convergence: {} of {} orderings",
                    p.orderings_done, p.orderings
                )
            } else {
                format!(
                    "1. convergence: ordering {}/{}, round {}",
                    p.ordering + 1,
                    p.orderings,
                    p.round
                )
            },
        })
    })
    .await?;
    let mut phases_ms = vec![("1. convergence".to_string(), link.now_ms() - started)];
    if let Some(t) = tensors {
        status(Status {
            fraction: CONVERGENCE_SHARE,
            ..send("parts 2–4")
        });
        send_tensors(link, t).await?;
    }
    let (jobs, labels) = jobs(config);
    let done = run_jobs(link, jobs, &labels, &mut |p| {
        status(Status {
            fraction: CONVERGENCE_SHARE + (1.0 - CONVERGENCE_SHARE) * p.fraction(),
            text: format!(
                "{} of {} jobs of parts 2–4 done (last: {})",
                p.done, p.total, p.last
            ),
        })
    })
    .await?;
    phases_ms.extend(
        labels
            .iter()
            .cloned()
            .zip(done.iter().map(|d| d.elapsed_ms)),
    );
    let (partition, sweep, scale) = reports_from(config, done)?;
    let results = SuiteResults {
        convergence: convergence.report,
        partition,
        sweep,
        scale,
    };
    Ok(Finished {
        report: assemble(config, results),
        phases_ms,
    })
}

/// A finished suite: its report, and the spec it was derived from (for the
/// `lab-cli` command and the link).
#[derive(Clone)]
pub struct SuiteRun {
    pub report: SuiteReport,
    pub spec: SuiteSpec,
}

impl Timed for SuiteRun {
    fn set_execution(&mut self, execution: Execution) {
        self.report.set_execution(execution);
    }

    fn execution(&self) -> Option<&Execution> {
        self.report.execution()
    }
}

/// The suite over the pool; a model-file workload's tensors go to every
/// worker first (Experiment 1's executors and the jobs both use them).
fn task(
    spec: SuiteSpec,
    tensors: Option<Arc<FileTensors>>,
) -> impl FnOnce(Pool, StatusSink) -> TaskFuture<SuiteRun> {
    move |mut pool, sink| {
        Box::pin(async move {
            let result = run_suite(&mut pool, &spec.config(), tensors.as_deref(), &*sink).await;
            let result = result.map(|f| Finished {
                report: SuiteRun {
                    report: f.report,
                    spec,
                },
                phases_ms: f.phases_ms,
            });
            (pool, result)
        })
    }
}

fn fields(form: Form) -> (Vec<FieldSpec>, Vec<FieldSpec>) {
    let hint = |text: &str| custom_hint(form, text.to_string());
    let main = vec![
        FieldSpec::choice(
            "preset",
            "Preset",
            &[
                ("seed", "seed lab's default suite"),
                ("custom", "custom (numbers below)"),
            ],
            "seed: 30 nodes, 128×128, 5 orderings, 3 partitions, all-pairs, Gaussian tensors"
                .to_string(),
        ),
        FieldSpec::number("nodes", "Nodes", hint("2…200")),
        FieldSpec::number(
            "dim",
            "Tensor side",
            hint("1…256; sweep and scale use ≤ 64"),
        ),
        FieldSpec::number("orderings", "Orderings", hint("1…10")),
        FieldSpec::number("partitions", "Partitions (i mod P)", hint("2…nodes")),
        FieldSpec {
            hint: hint("all-pairs is the seed lab's schedule"),
            ..protocol_field(form)
        },
        FieldSpec::number("seed", "Seed", hint("0…2⁵³−1")),
    ];
    let advanced = workload_fields()
        .into_iter()
        .map(|f| FieldSpec {
            hint: custom_hint(form, f.hint.get_untracked()),
            ..f
        })
        .collect();
    (main, advanced)
}

/// A custom suite's field hint, or that the seed preset ignores the field.
fn custom_hint(form: Form, text: String) -> Signal<String> {
    Signal::derive(move || {
        if form.field("preset").get() == "seed" {
            "ignored by the seed preset".to_string()
        } else {
            text.clone()
        }
    })
}

/// The full-suite page, initialised from the URL.
#[component]
pub fn SuitePage(query: PageQuery<SuiteSpec>) -> impl IntoView {
    let form = Form::new(lab_core::experiment::suite::SPEC_FIELDS, &query.config);
    let options = query.options;
    let workers = crate::runner::page_workers(&options);
    let runner = Runner::<SuiteRun>::new(workers);
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
        SuiteSpec::to_query,
        SuiteSpec::validate,
        task,
        &query.config,
        weights,
        |_, _| {},
    );
    let from_link = weights::link_had_files(&query.issues);
    let (main, advanced) = fields(form);
    view! {
        <section class="intro" aria-labelledby="exp-title">
            <h1 id="exp-title">"Full suite — Experiments 1 to 4 in one report"</h1>
            <p>
                "Runs what the seed lab calls its full suite: multi-node convergence, partition and healing, the strategy sweep "
                "(with the negative control) and scalability, and combines the four reports into one, with one fingerprint. "
                "The seed preset uses the seed lab's defaults, its all-pairs schedule and its Gaussian tensors, so these numbers can be set beside the published ones; "
                "the same report comes out of " <code>"lab-cli suite"</code>"."
            </p>
            <p>
                "A custom suite runs every part on the workload you choose: synthetic fine-tunes (the default), Gaussian tensors, "
                "or one tensor of your own model files (node i contributes file i mod F, so the sweep runs at no fewer than F nodes and scalability starts at F nodes)."
            </p>
            <p>"Each part links to its own page with the same configuration, for its charts and details."</p>
        </section>
        <QueryIssues issues=query.issues/>
        <WorkersLine workers from_link=options.workers.is_some()/>
        <WeightsPanel weights running=runner.running.into() from_link/>
        <Controls form main advanced running=runner.running.into() issues=form_issues.into() on_run on_cancel/>
        <ProgressBar clock=runner.clock.into()/>
        {move || runner.outcome.get().map(|o| outcome_view(o, |run| {
            view! { <SuiteResultsView report=Arc::new(run.report.clone()) spec=run.spec.clone()/> }.into_any()
        }))}
    }
}

#[component]
fn SuiteResultsView(report: Arc<SuiteReport>, spec: SuiteSpec) -> impl IntoView {
    let r = &report.results;
    let c = &report.config;
    let convergence_svg =
        crate::chart::convergence_svg(c.convergence.nodes, &r.convergence.results.orderings);
    let partition_svg = crate::chart::convergence_svg_shaded(
        c.partition.nodes,
        std::slice::from_ref(&r.partition.results.run),
        &r.partition.results.fault_intervals,
    );
    let csv_report = report.clone();
    let (svg1, svg2) = (convergence_svg.clone(), partition_svg.clone());
    let downloads = vec![
        Download::json(report.clone()),
        Download::csv("Parts (CSV)", "export-csv", "-parts.csv", move || {
            parts_csv(&csv_report)
        }),
        Download::svg(
            "Convergence chart (SVG)",
            "export-svg",
            "-convergence.svg",
            move || svg1.clone(),
        ),
        Download::svg(
            "Partition chart (SVG)",
            "export-svg-partition",
            "-partition.svg",
            move || svg2.clone(),
        ),
    ];
    view! {
        <section class="results-section" aria-label="Results">
            <VerdictPanel
                verdict=report.verdict.clone()
                pass_text="All four experiments passed."
                fail_text="At least one experiment failed — see its row."
            />
            <FingerprintBox fingerprint=report.fingerprint.clone() execution=execution_of(&*report)/>
            <Downloads stem=stem("suite", &report.fingerprint) items=downloads/>
            <h2>"The four parts"</h2>
            <PartsTable report=report.clone()/>
            <h2>"1. Nodes agreeing per round"</h2>
            <SvgFigure svg=convergence_svg caption="Experiment 1: share of nodes holding the most common state after each round, per ordering.".to_string()/>
            <h2>"2. Partition and healing"</h2>
            <SvgFigure svg=partition_svg caption="Experiment 2: share of nodes agreeing per round; shaded while partitioned.".to_string() testid="chart-partition"/>
            {c.convergence.workload.files().cloned().map(|files| view! { <WorkloadFiles files/> })}
            // Long file names in `--weights` may wrap (style/weights.css).
            <div class="reproduce-weights">
                <Reproduce cli=spec.cli_command() query=encode_query(&spec.to_query())/>
            </div>
        </section>
    }
}

/// One row per part: verdict, headline numbers, fingerprint, and a link to
/// the part's own page with the same config.
#[component]
fn PartsTable(report: Arc<SuiteReport>) -> impl IntoView {
    let rows = parts(&report)
        .into_iter()
        .map(|p| {
            view! {
                <tr>
                    <th scope="row">{p.name}</th>
                    <td class:bad=!p.passed>{if p.passed { "PASS" } else { "FAIL" }}</td>
                    <td>{p.summary}</td>
                    <td><code title=p.fingerprint.clone()>{p.fingerprint.chars().take(16).collect::<String>()}</code></td>
                    <td><a href=format!("?{}", encode_query(&p.query))>"open"</a></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Parts (scrolls sideways)">
            <table class="results" data-testid="results">
                <thead>
                    <tr>
                        <th scope="col">"Part"</th>
                        <th scope="col">"Verdict"</th>
                        <th scope="col">"Headline"</th>
                        <th scope="col">"Fingerprint"</th>
                        <th scope="col">"Page"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// A part of the suite, for the table and the CSV.
struct Part {
    name: &'static str,
    passed: bool,
    summary: String,
    fingerprint: String,
    query: Vec<(String, String)>,
}

fn parts(report: &SuiteReport) -> Vec<Part> {
    let r = &report.results;
    let c = &report.config;
    let conv = &r.convergence.results;
    let rounds: Vec<String> = conv
        .orderings
        .iter()
        .map(|o| o.rounds.to_string())
        .collect();
    let sweep_rows = &r.sweep.results.rows;
    let converged = sweep_rows.iter().filter(|s| s.layer1_converged).count();
    let diverged = sweep_rows
        .iter()
        .filter(|s| {
            s.negative_control
                .as_ref()
                .is_some_and(|n| n.distinct_models > 1)
        })
        .count();
    let points = &r.scale.results.points;
    vec![
        Part {
            name: "1. convergence",
            passed: r.convergence.verdict.passed,
            summary: format!(
                "{} nodes × {} orderings; rounds {}; {} messages in ordering 0",
                c.convergence.nodes,
                c.convergence.orderings,
                rounds.join(", "),
                group(conv.orderings.first().map_or(0, |o| o.messages))
            ),
            fingerprint: r.convergence.fingerprint.clone(),
            query: c.convergence.to_query(),
        },
        Part {
            name: "2. partition and healing",
            passed: r.partition.verdict.passed,
            summary: format!(
                "{} phase(s); converged {} round(s) after the last heal",
                r.partition.results.phases.len(),
                r.partition.results.rounds_after_heal
            ),
            fingerprint: r.partition.fingerprint.clone(),
            query: c.partition.to_query(),
        },
        Part {
            name: "3. strategy sweep",
            passed: r.sweep.verdict.passed,
            summary: format!(
                "{converged} of {} strategies converge through Layer 1; pairwise merging diverges for {diverged}",
                sweep_rows.len()
            ),
            fingerprint: r.sweep.fingerprint.clone(),
            query: c.sweep.to_query(),
        },
        Part {
            name: "4. scalability",
            passed: r.scale.verdict.passed,
            summary: format!(
                "sizes {}; rounds {}",
                points.iter().map(|p| p.nodes.to_string()).collect::<Vec<_>>().join(", "),
                points
                    .iter()
                    .map(|p| format!("{:.1}", p.rounds_mean))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            fingerprint: r.scale.fingerprint.clone(),
            query: c.scale.to_query(),
        },
    ]
}

/// The parts table as CSV.
fn parts_csv(report: &SuiteReport) -> String {
    let mut out = String::from("part,passed,headline,fingerprint\r\n");
    for p in parts(report) {
        out.push_str(&format!(
            "{},{},{},{}\r\n",
            p.name,
            p.passed,
            crate::components::results::csv_field(&p.summary),
            p.fingerprint
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::{block_on, LocalLink};

    fn small() -> SuiteSpec {
        SuiteSpec {
            preset: "custom".into(),
            nodes: 6,
            dim: 2,
            orderings: 1,
            partitions: 2,
            protocol: Protocol::PushPull,
            seed: 3,
            ..SuiteSpec::default()
        }
    }

    #[test]
    fn the_suite_over_workers_matches_native() {
        let params = small();
        let config = params.config();
        let native = lab_core::experiment::suite::run(&config).unwrap();
        for workers in [1, 3] {
            let mut link = LocalLink::new(workers);
            let done = block_on(run_suite(&mut link, &config, None, &|_| {})).unwrap();
            assert_eq!(
                done.report.fingerprint, native.fingerprint,
                "{workers} workers"
            );
        }
        let csv = parts_csv(&native);
        assert_eq!(csv.lines().count(), 5);
    }

    /// A custom suite on model files: tensors sent to the workers, then
    /// every part over them, gives the native report at any worker count.
    #[test]
    fn a_suite_on_model_files_over_workers_matches_native() {
        use lab_core::experiment::convergence::WorkloadKind;
        let (files, tensors) = crate::components::weights::tests::two_files();
        let spec = SuiteSpec {
            workload: WorkloadKind::Files(files),
            ..small()
        };
        spec.validate().unwrap();
        let config = spec.config();
        let native =
            lab_core::experiment::suite::run_with_tensors(&config, Some(&tensors)).unwrap();
        assert!(native.verdict.passed);
        for workers in [1, 2] {
            let mut link = LocalLink::new(workers);
            let done = block_on(run_suite(&mut link, &config, Some(&tensors), &|_| {})).unwrap();
            assert_eq!(done.report, native, "{workers} workers");
        }
    }

    #[test]
    fn suite_params_round_trip_and_bad_values_are_named() {
        let params = small();
        let (back, issues) = config_from_pairs(&params.to_query());
        assert_eq!(back, params);
        assert!(issues.is_empty(), "{issues:?}");
        let pairs = vec![
            ("preset".to_string(), "custom".to_string()),
            ("partitions".to_string(), "1".to_string()),
            ("nodes".to_string(), "999".to_string()),
        ];
        let (p, issues) = config_from_pairs(&pairs);
        let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
        assert!(
            keys.contains(&"nodes") && keys.contains(&"partitions"),
            "{keys:?}"
        );
        assert_eq!(p.partitions, 3);
    }

    #[test]
    fn the_cli_command_names_the_preset_or_every_number() {
        assert_eq!(
            SuiteSpec::default().cli_command(),
            "lab-cli suite --preset seed"
        );
        assert!(small().cli_command().contains("--partitions 2"));
    }
}
