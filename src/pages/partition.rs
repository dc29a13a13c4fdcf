//! Experiment 2 — partition and healing: the network splits into groups
//! for some rounds (with optional loss, duplication and delay), each group
//! converges on its own, and after the heal everyone converges to the one
//! state an oracle computes from all contributions.
//!
//! The run is one job in one web worker (the engine's `partition::run`, the
//! function `lab-cli partition` calls), so its fingerprint is `lab-cli`'s.

use crate::components::controls::{
    fanout_field, protocol_field, strategy_field, workload_fields, Controls, FieldSpec, Form,
};
use crate::components::network::{NetworkView, Trace};
use crate::components::progress::ProgressBar;
use crate::components::report::{
    execution_of, outcome_view, stem, Download, Downloads, FingerprintBox, QueryIssues, Reproduce,
    SvgFigure, WorkersLine,
};
use crate::components::results::{csv_field, group, short};
use crate::components::verdict::VerdictPanel;
use crate::components::weights::{self, Weights, WeightsPanel, WorkloadFiles};
use crate::coordinator::RunError;
use crate::protocol::{Job, JobOutput};
use crate::query::{
    apply_limits, encode_query, fit_dim, PageQuery, DIM_BROWSER_MAX, NODES_BROWSER_MAX,
};
use crate::runner::{job_task_with, Runner, Timed};
use lab_core::experiment::convergence::FileTensors;
use lab_core::experiment::params::QueryIssue;
use lab_core::experiment::partition::{PartitionConfig, PartitionReport, PhaseResult, FIELDS};
use lab_core::report::Execution;
use leptos::prelude::*;
use std::sync::Arc;

/// A partition config from query (or form) pairs: the engine's codec plus
/// the browser's limits.
pub fn config_from_pairs(pairs: &[(String, String)]) -> (PartitionConfig, Vec<QueryIssue>) {
    let mut issues = Vec::new();
    let kept = apply_limits(
        pairs,
        &[
            ("nodes", NODES_BROWSER_MAX as u64),
            ("dim", DIM_BROWSER_MAX as u64),
        ],
        &mut issues,
    );
    let (mut config, engine_issues) = PartitionConfig::from_query(&kept);
    issues.extend(engine_issues);
    fit_dim(
        config.nodes,
        &mut config.dim,
        PartitionConfig::default().dim,
        &mut issues,
    );
    (config, issues)
}

/// A finished run: the report, and its rounds for the network view (a
/// view only: the report alone is what is exported and fingerprinted).
#[derive(Clone)]
pub struct PartitionRun {
    pub report: PartitionReport,
    pub trace: Arc<Trace>,
}

impl Timed for PartitionRun {
    fn set_execution(&mut self, execution: Execution) {
        self.report.set_execution(execution);
    }

    fn execution(&self) -> Option<&Execution> {
        self.report.execution()
    }
}

/// The run as one job; a model-file workload's tensors go to the pool's
/// workers first.
fn task(
    config: PartitionConfig,
    tensors: Option<Arc<FileTensors>>,
) -> impl FnOnce(crate::pool::Pool, crate::runner::StatusSink) -> crate::runner::TaskFuture<PartitionRun>
{
    job_task_with(
        vec![Job::Partition(config)],
        vec!["partition run".into()],
        tensors,
        |mut done| match done.pop().map(|d| d.output) {
            Some(JobOutput::Partition(r, trace)) => Ok(PartitionRun {
                report: (*r).into(),
                trace: Arc::new(*trace),
            }),
            other => Err(RunError::Protocol(format!(
                "expected a partition report, got {other:?}"
            ))),
        },
    )
}

fn fields(form: Form) -> (Vec<FieldSpec>, Vec<FieldSpec>) {
    let main = vec![
        FieldSpec::number("nodes", "Nodes", format!("2…{NODES_BROWSER_MAX}")),
        FieldSpec::number("dim", "Tensor side (dim × dim)", format!("1…{DIM_BROWSER_MAX}")),
        protocol_field(form),
        fanout_field(form, NODES_BROWSER_MAX),
        FieldSpec::text(
            "phases",
            "Partition phases",
            "shape@start-heal, comma-separated; shapes: halves, groups:K, mod:K, isolated:NODE, minority:M, bridge, asymmetric".to_string(),
        ),
        strategy_field(form),
        FieldSpec::number("seed", "Seed", "0…2⁵³−1".to_string()),
    ];
    let mut advanced = vec![
        FieldSpec::decimal(
            "loss",
            "Message loss while partitioned",
            "probability in [0, 1)".to_string(),
        ),
        FieldSpec::decimal(
            "duplicate",
            "Duplication while partitioned",
            "probability in [0, 1]".to_string(),
        ),
        FieldSpec::number(
            "delay_max",
            "Largest delay (rounds)",
            "0…64; reorders messages".to_string(),
        ),
        FieldSpec::number("rounds_max", "Rounds at most", "1…10,000".to_string()),
    ];
    advanced.extend(workload_fields());
    (main, advanced)
}

/// The Experiment 2 page, initialised from the URL.
#[component]
pub fn PartitionPage(query: PageQuery<PartitionConfig>) -> impl IntoView {
    let form = Form::new(FIELDS, &query.config);
    let options = query.options;
    let workers = crate::runner::page_workers(&options);
    let runner = Runner::<PartitionRun>::new(workers);
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
        PartitionConfig::to_query,
        PartitionConfig::validate,
        task,
        &query.config,
        weights,
        |_, _| {},
    );
    let from_link = weights::link_had_files(&query.issues);
    let (main, advanced) = fields(form);
    view! {
        <section class="intro" aria-labelledby="exp-title">
            <h1 id="exp-title">"Experiment 2 — partition and healing"</h1>
            <p>
                "The network splits into groups for a while (a phase: a shape, the round it starts and the round it heals); "
                "messages cannot cross between groups, and may also be lost, duplicated or delayed. "
                "Each group gossips on its own and reaches its own state. After the heal, the CRDT join makes every node "
                "reach the same state — the one an oracle gets by joining all contributions and resolving once."
            </p>
            <p>
                "PASS means: every disjoint group converged internally before its heal, the groups differed (so the heal "
                "had work to do), and after the last heal every node ended bit-identical to the oracle. The run is one job in one worker; "
                "its fingerprint equals " <code>"lab-cli partition"</code>"'s."
            </p>
        </section>
        <QueryIssues issues=query.issues/>
        <WorkersLine workers from_link=options.workers.is_some()/>
        <WeightsPanel weights running=runner.running.into() from_link/>
        <Controls form main advanced running=runner.running.into() issues=form_issues.into() on_run on_cancel/>
        <ProgressBar clock=runner.clock.into()/>
        {move || runner.outcome.get().map(|o| outcome_view(o, |run| view! { <PartitionResults run/> }.into_any()))}
    }
}

#[component]
fn PartitionResults(run: Arc<PartitionRun>) -> impl IntoView {
    let report = Arc::new(run.report.clone());
    let config = report.config.clone();
    let faults = Arc::new(report.results.fault_intervals.clone());
    let r = &report.results;
    let orderings = vec![r.run.clone()];
    let svg = crate::chart::convergence_svg_shaded(config.nodes, &orderings, &r.fault_intervals);
    let svg_download = svg.clone();
    let csv_report = report.clone();
    let downloads = vec![
        Download::json(report.clone()),
        Download::csv("Phases (CSV)", "export-csv", "-phases.csv", move || {
            phases_csv(&csv_report.results.phases)
        }),
        Download::svg("Chart (SVG)", "export-svg", ".svg", move || {
            svg_download.clone()
        }),
    ];
    let summary = format!(
        "After the last heal: {} rounds, {} messages, {} metadata bytes until every node agreed. Whole run: {} rounds.",
        r.rounds_after_heal,
        group(r.messages_after_heal),
        group(r.metadata_bytes_after_heal),
        r.run.rounds
    );
    view! {
        <section class="results-section" aria-label="Results">
            <VerdictPanel
                verdict=report.verdict.clone()
                pass_text="Each partition converged on its own, and after healing every node ended bit-identical to the oracle."
                fail_text="Some check failed — see below."
            />
            <FingerprintBox fingerprint=report.fingerprint.clone() execution=execution_of(&*report)/>
            <Downloads stem=stem("partition", &report.fingerprint) items=downloads/>
            <p data-testid="summary">{summary}</p>
            <h2>"Phases"</h2>
            <PhasesTable phases=r.phases.clone()/>
            {config.workload.files().cloned().map(|files| view! { <WorkloadFiles files/> })}
            <h2>"Nodes agreeing per round"</h2>
            <SvgFigure
                svg
                caption="Share of nodes holding the most common state after each round. Shaded: partitions and other faults (hover for details). Inside a partition at most one group can hold the most common state, so the line stays below 100 % until the heal.".to_string()
            />
            <h2>"The network, round by round"</h2>
            <NetworkView trace=Arc::clone(&run.trace) faults/>
            <p class="muted">
                "Oracle: state " <code title=r.oracle_state_digest.clone()>{short(&r.oracle_state_digest)}</code>
                ", merged model " <code title=r.oracle_resolved_digest.clone()>{short(&r.oracle_resolved_digest)}</code>"."
            </p>
            // Long file names in `--weights` may wrap (style/weights.css).
            <div class="reproduce-weights">
                <Reproduce cli=config.cli_command() query=encode_query(&config.to_query())/>
            </div>
        </section>
    }
}

#[component]
fn PhasesTable(phases: Vec<PhaseResult>) -> impl IntoView {
    let rows = phases
        .into_iter()
        .map(|p| {
            let groups = p
                .groups
                .iter()
                .map(|g| {
                    let at = g
                        .converged_at
                        .map_or_else(|| "never".to_string(), |r| format!("round {r}"));
                    format!("{} nodes → {} ({at})", g.members, short(&g.state_digest))
                })
                .collect::<Vec<_>>()
                .join("; ");
            let all_converged = p.groups.iter().all(|g| g.converged);
            view! {
                <tr>
                    <th scope="row">{p.label.clone()}</th>
                    <td class="num">{p.start}</td>
                    <td class="num">{p.heal}</td>
                    <td>{if p.disjoint { "yes" } else { "no" }}</td>
                    <td class:bad=p.disjoint && !all_converged>{if all_converged { "yes" } else { "no" }}</td>
                    <td>{if p.groups_distinct { "yes" } else { "no" }}</td>
                    <td class="num">{group(p.messages)}</td>
                    <td class="num">{group(p.dropped)}</td>
                    <td class="groups">{groups}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Phases (scrolls sideways)">
            <table class="results" data-testid="results">
                <thead>
                    <tr>
                        <th scope="col">"Phase"</th>
                        <th scope="col" class="num">"Start"</th>
                        <th scope="col" class="num">"Heal"</th>
                        <th scope="col">"Disjoint"</th>
                        <th scope="col">"Groups converged"</th>
                        <th scope="col">"Groups differ"</th>
                        <th scope="col" class="num">"Messages"</th>
                        <th scope="col" class="num">"Dropped"</th>
                        <th scope="col">"Groups (members → state, when)"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// The phases as CSV.
pub fn phases_csv(phases: &[PhaseResult]) -> String {
    let mut out = String::from(
        "phase,start,heal,disjoint,uniform_at_start,groups,groups_converged,groups_distinct,messages,metadata_bytes,dropped\r\n",
    );
    for p in phases {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\r\n",
            csv_field(&p.label),
            p.start,
            p.heal,
            p.disjoint,
            p.uniform_at_start,
            p.groups.len(),
            p.groups.iter().filter(|g| g.converged).count(),
            p.groups_distinct,
            p.messages,
            p.metadata_bytes,
            p.dropped
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_permalink_round_trips() {
        let config = PartitionConfig {
            nodes: 12,
            ..PartitionConfig::default()
        };
        let (back, issues) = config_from_pairs(&config.to_query());
        assert_eq!(back, config);
        assert!(issues.is_empty(), "{issues:?}");
    }

    #[test]
    fn browser_limits_name_the_field() {
        let pairs = vec![("nodes".to_string(), "5000".to_string())];
        let (config, issues) = config_from_pairs(&pairs);
        assert_eq!(config.nodes, PartitionConfig::default().nodes);
        assert_eq!(issues[0].key, "nodes");
    }

    #[test]
    fn phases_csv_has_one_row_per_phase() {
        let config = PartitionConfig {
            nodes: 6,
            dim: 2,
            ..PartitionConfig::default()
        };
        let report = lab_core::experiment::partition::run(&config).unwrap();
        let csv = phases_csv(&report.results.phases);
        assert_eq!(csv.lines().count(), 1 + report.results.phases.len());
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
