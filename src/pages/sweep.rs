//! Experiment 3 — the strategy sweep: every merge strategy (or a chosen
//! subset) is run through Layer 1 (CRDT contribution set, resolved once)
//! and through the negative control (the same strategy applied pairwise in
//! gossip order). One `Job::SweepRow` per strategy goes to the worker pool;
//! the rows come back in job order and `lab_core::experiment::sweep::assemble`
//! (the function `lab-cli sweep` uses) builds the report, so the fingerprint
//! is the CLI's with any number of workers. The only numbers this page adds
//! are the per-job times it measured, kept in the report's `execution`.

mod chart;

use crate::components::controls::{
    fanout_field, protocol_field, workload_fields, Controls, FieldSpec, Form,
};
use crate::components::progress::ProgressBar;
use crate::components::report::{
    execution_of, outcome_view, stem, Download, Downloads, FingerprintBox, QueryIssues, Reproduce,
    SvgFigure, WorkersLine,
};
use crate::components::results::csv_field;
use crate::components::verdict::VerdictPanel;
use crate::components::weights::{self, Weights, WeightsPanel, WorkloadFiles};
use crate::coordinator::RunError;
use crate::jobs::Done;
use crate::protocol::{Job, JobOutput};
use crate::query::{
    apply_limits, encode_query, fit_dim, issue, PageQuery, DIM_BROWSER_MAX, NODES_BROWSER_MAX,
    ORDERINGS_BROWSER_MAX,
};
use crate::runner::{job_task_with, Runner};
use lab_core::experiment::convergence::FileTensors;
use lab_core::experiment::params::QueryIssue;
use lab_core::experiment::sweep::{self, StrategyRow, SweepConfig, SweepReport, FIELDS};
use lab_core::strategy::{self, Family};
use leptos::prelude::*;
use std::cmp::Ordering;
use std::sync::Arc;

/// A sweep config from query (or form) pairs: the engine's codec plus the
/// browser's limits.
pub fn config_from_pairs(pairs: &[(String, String)]) -> (SweepConfig, Vec<QueryIssue>) {
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
    let (mut config, engine_issues) = SweepConfig::from_query(&kept);
    issues.extend(engine_issues);
    fit_dim(
        config.nodes,
        &mut config.dim,
        SweepConfig::default().dim,
        &mut issues,
    );
    (config, issues)
}

/// One job per selected strategy (registry order), labelled by its name.
fn jobs(config: &SweepConfig) -> (Vec<Job>, Vec<String>) {
    config
        .selected()
        .into_iter()
        .map(|name| {
            let job = Job::SweepRow {
                config: config.clone(),
                strategy: name.to_string(),
            };
            (job, name.to_string())
        })
        .unzip()
}

/// The report from the jobs' outputs (in job order), checking that each
/// output is the row of the strategy its job asked for.
fn assemble_rows(config: &SweepConfig, done: Vec<Done>) -> Result<SweepReport, RunError> {
    let expected = config.selected();
    if done.len() != expected.len() {
        return Err(RunError::Protocol(format!(
            "{} rows for {} strategies",
            done.len(),
            expected.len()
        )));
    }
    let rows = done
        .into_iter()
        .zip(expected)
        .map(|(d, name)| match d.output {
            JobOutput::SweepRow(row) if row.strategy == name => Ok(*row),
            other => Err(RunError::Protocol(format!(
                "expected the row of '{name}', got {other:?}"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sweep::assemble(config, rows))
}

/// One job per strategy; a model-file workload's tensors go to every
/// worker first.
fn task(
    config: SweepConfig,
    tensors: Option<Arc<FileTensors>>,
) -> impl FnOnce(crate::pool::Pool, crate::runner::StatusSink) -> crate::runner::TaskFuture<SweepReport>
{
    let (jobs, labels) = jobs(&config);
    job_task_with(jobs, labels, tensors, move |done| {
        assemble_rows(&config, done)
    })
}

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
            format!("1…{ORDERINGS_BROWSER_MAX} per strategy"),
        ),
        protocol_field(form),
        fanout_field(form, NODES_BROWSER_MAX),
        FieldSpec::number("seed", "Seed", "0…2⁵³−1".to_string()),
    ];
    let mut advanced = vec![FieldSpec::text(
        "strategies",
        "Strategies by name",
        "comma-separated; empty = every strategy; follows the checkboxes above".to_string(),
    )];
    advanced.extend(workload_fields());
    (main, advanced)
}

/// Every registered strategy of `family`, in registry order.
fn family_names(family: Family) -> Vec<&'static str> {
    strategy::registry()
        .map(|s| s.info())
        .filter(|i| i.family == family)
        .map(|i| i.name)
        .collect()
}

/// Every registered strategy, in registry order.
fn all_names() -> Vec<&'static str> {
    strategy::registry().map(|s| s.info().name).collect()
}

/// The strategies the picker shows as checked: the names in the text (the
/// `strategies` field), every strategy when it is empty — unless the user
/// cleared the selection, which is the one state the text cannot hold.
fn selection(text: &str, cleared: bool) -> Vec<&'static str> {
    let names: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return if cleared { Vec::new() } else { all_names() };
    }
    all_names()
        .into_iter()
        .filter(|n| names.contains(n))
        .collect()
}

/// The `strategies` text of a selection (empty when every strategy is
/// selected, as the engine reads it) and whether it is empty.
fn serialise(selected: &[&str]) -> (String, bool) {
    let all = all_names();
    if selected.is_empty() {
        return (String::new(), true);
    }
    if all.iter().all(|n| selected.contains(n)) {
        return (String::new(), false);
    }
    let names: Vec<&str> = all.into_iter().filter(|n| selected.contains(n)).collect();
    (names.join(","), false)
}

/// The Experiment 3 page, initialised from the URL.
#[component]
pub fn SweepPage(query: PageQuery<SweepConfig>) -> impl IntoView {
    let form = Form::new(FIELDS, &query.config);
    let options = query.options;
    let workers = crate::runner::page_workers(&options);
    let runner = Runner::<SweepReport>::new(workers);
    let cleared = RwSignal::new(false);
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
        SweepConfig::to_query,
        SweepConfig::validate,
        task,
        &query.config,
        weights,
        move |_, issues| {
            if cleared.get_untracked() && form.field("strategies").get_untracked().trim().is_empty()
            {
                issues.push(issue(
                    "strategies",
                    "",
                    "pick at least one strategy".to_string(),
                ));
            }
        },
    );
    let from_link = weights::link_had_files(&query.issues);
    let (main, advanced) = fields(form);
    view! {
        <Intro/>
        <QueryIssues issues=query.issues/>
        <WorkersLine workers from_link=options.workers.is_some()/>
        <WeightsPanel weights running=runner.running.into() from_link/>
        <StrategyPicker form cleared running=runner.running.into()/>
        <Controls form main advanced running=runner.running.into() issues=form_issues.into() on_run on_cancel/>
        <ProgressBar clock=runner.clock.into()/>
        {move || runner.outcome.get().map(|o| outcome_view(o, |report| view! { <SweepResults report/> }.into_any()))}
    }
}

#[component]
fn Intro() -> impl IntoView {
    let reference = family_names(Family::Reference).len();
    let literature = family_names(Family::Literature).len();
    view! {
        <section class="intro" aria-labelledby="exp-title">
            <h1 id="exp-title">"Experiment 3 — strategy sweep"</h1>
            <p>
                "Experiment 1 shows convergence for one merge strategy. This sweep repeats it for every strategy the lab knows — "
                {reference}" in the "<strong>"reference family"</strong>" (bit-exact with the reference Python library, crdt-merge 0.9.5) and "
                {literature}" in the "<strong>"literature family"</strong>" (following the published papers; "<code>"ties:paper"</code>
                " is the paper's TIES next to the library's "<code>"ties"</code>")."
            </p>
            <ul>
                <li><strong>"Layer 1"</strong>": the nodes gossip a CRDT set of contributions, and each node applies the strategy "
                    "once to the whole set. Every strategy should converge: all nodes, in every ordering, bit-identical."</li>
                <li><strong>"Negative control"</strong>": the same strategy applied "<em>"pairwise"</em>", in gossip order, as a naive "
                    "system would (each node replaces its model by strategy(own, peer's)). Most strategies are not associative, so the "
                    "nodes end with different models; the chart shows by how much (relative to the largest value of the Layer-2 result)."</li>
            </ul>
            <p>
                "PASS means every strategy that accepts this input converged through Layer 1 and the negative control was measured. "
                "A strategy that rejects the input (e.g. one defined for exactly two models) is listed as not applicable, not as a failure. "
                "Each strategy is one job on the worker pool; the fingerprint equals "<code>"lab-cli sweep"</code>"'s."
            </p>
        </section>
    }
}

/// Checkboxes grouped by family, with All / None per family, writing the
/// `strategies` field of `form`.
#[component]
fn StrategyPicker(form: Form, cleared: RwSignal<bool>, running: Signal<bool>) -> impl IntoView {
    let text = form.field("strategies");
    let selected = Memo::new(move |_| selection(&text.get(), cleared.get()));
    let set = Callback::new(move |names: Vec<&'static str>| {
        let (t, c) = serialise(&names);
        cleared.set(c);
        text.set(t);
    });
    let total = all_names().len();
    let families = [
        (
            Family::Reference,
            "Reference family",
            "bit-exact with crdt-merge 0.9.5",
        ),
        (
            Family::Literature,
            "Literature family",
            "as published in the papers",
        ),
    ];
    let groups = families
        .into_iter()
        .map(|(family, title, note)| view! { <FamilyGroup family title note selected set/> })
        .collect_view();
    view! {
        <div class="controls strategy-picker" data-testid="strategy-picker">
            <fieldset disabled=move || running.get()>
                <legend>
                    "Strategies — "
                    <span data-testid="selected-count">{move || selected.with(Vec::len)}</span>
                    {format!(" of {total} selected")}
                </legend>
                <div class="picker-actions">
                    <button type="button" on:click=move |_| set.run(all_names())>"Select every strategy"</button>
                </div>
                <div class="families">{groups}</div>
            </fieldset>
        </div>
    }
}

#[component]
fn FamilyGroup(
    family: Family,
    title: &'static str,
    note: &'static str,
    selected: Memo<Vec<&'static str>>,
    set: Callback<Vec<&'static str>>,
) -> impl IntoView {
    let names = family_names(family);
    let count = names.len();
    let slug = match family {
        Family::Reference => "reference",
        Family::Literature => "literature",
    };
    let mine = names.clone();
    let chosen = move || selected.with(|s| mine.iter().filter(|n| s.contains(n)).count());
    let (all_of, none_of) = (names.clone(), names.clone());
    let select_all = move |_| {
        let mut s = selected.get_untracked();
        s.extend(all_of.iter().filter(|n| !s.contains(n)).collect::<Vec<_>>());
        set.run(s);
    };
    let select_none = move |_| {
        let s = selected.get_untracked();
        set.run(s.into_iter().filter(|n| !none_of.contains(n)).collect());
    };
    let boxes = names
        .into_iter()
        .map(|name| {
            let info = strategy::find(name).map(|s| s.info().summary).unwrap_or("");
            let id = format!("s-{}", name.replace(':', "-"));
            let toggle = move |ev: leptos::ev::Event| {
                let on = event_target_checked(&ev);
                let mut s = selected.get_untracked();
                s.retain(|n| *n != name);
                if on {
                    s.push(name);
                }
                set.run(s);
            };
            view! {
                <li>
                    <input type="checkbox" id=id.clone() value=name
                        prop:checked=move || selected.with(|s| s.contains(&name)) on:change=toggle/>
                    <label for=id title=info>{name}</label>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="family" data-family=slug>
            <div class="family-head">
                <p>
                    <strong>{title}</strong>" — "{note}" · "
                    <span class="family-count">{chosen}" of "{count}</span>
                </p>
                <div class="family-buttons" role="group" aria-label=format!("{title}: select")>
                    <button type="button" data-testid=format!("all-{slug}") aria-label=format!("Select all of the {}", title.to_lowercase()) on:click=select_all>"All"</button>
                    <button type="button" data-testid=format!("none-{slug}") aria-label=format!("Select none of the {}", title.to_lowercase()) on:click=select_none>"None"</button>
                </div>
            </div>
            <details>
                <summary>"Choose individual strategies"</summary>
                <ul class="strategy-boxes">{boxes}</ul>
            </details>
        </div>
    }
}

#[component]
fn SweepResults(report: Arc<SweepReport>) -> impl IntoView {
    let config = report.config.clone();
    let rows = report.results.rows.clone();
    let times = execution_of(&*report).map_or_else(Vec::new, |e| e.phases_ms);
    let divergence = chart::divergence_svg(&rows);
    let time = chart::time_svg(&rows, &times);
    let (divergence_dl, time_dl, csv_report) = (divergence.clone(), time.clone(), report.clone());
    let downloads = vec![
        Download::json(report.clone()),
        Download::csv("Table (CSV)", "export-csv", ".csv", move || {
            results_csv(&csv_report)
        }),
        Download::svg(
            "Divergence chart (SVG)",
            "export-svg",
            "-divergence.svg",
            move || divergence_dl.clone(),
        ),
        Download::svg(
            "Time chart (SVG)",
            "export-svg-time",
            "-time.svg",
            move || time_dl.clone(),
        ),
    ];
    view! {
        <section class="results-section sweep-results" aria-label="Results">
            <VerdictPanel
                verdict=report.verdict.clone()
                pass_text="Every strategy that accepts this input converged through Layer 1: all nodes, in every ordering, bit-identical."
                fail_text="Some strategy did not converge through Layer 1 — see the checks and the table."
            />
            <p data-testid="summary">{summary(&rows)}</p>
            <FingerprintBox fingerprint=report.fingerprint.clone() execution=execution_of(&*report)/>
            <Downloads stem=stem("sweep", &report.fingerprint) items=downloads/>
            <div class="sweep-charts">
                <div>
                    <h2>"Negative control: pairwise merging"</h2>
                    <SvgFigure
                        svg=divergence
                        caption="Largest relative difference between two nodes' models (bar) and from the Layer-2 result (ring) after every node merged pairwise in gossip order. Through Layer 1 the difference is 0 for every strategy. Hover or tap a row for details.".to_string()
                    />
                </div>
                <div>
                    <h2>"Time per strategy in this browser"</h2>
                    <SvgFigure
                        svg=time
                        testid="chart-time"
                        caption="Wall time of each strategy's job in one web worker (Layer-1 runs of every ordering, one resolve, the negative control), measured in this run; the first job on each worker may also include one-off warm-up. A timing: not part of the fingerprint.".to_string()
                    />
                </div>
            </div>
            <h2>"Per strategy"</h2>
            <SweepTable rows times/>
            {config.workload.files().cloned().map(|files| view! { <WorkloadFiles files/> })}
            // Long file names in `--weights` may wrap (style/weights.css).
            <div class="reproduce-weights">
                <Reproduce cli=config.cli_command() query=encode_query(&config.to_query())/>
            </div>
        </section>
    }
}

/// The rows in words: how many converged and how many the negative control
/// split.
fn summary(rows: &[StrategyRow]) -> String {
    let applicable: Vec<&StrategyRow> = rows.iter().filter(|r| !not_applicable(r)).collect();
    let converged = applicable.iter().filter(|r| r.layer1_converged).count();
    let measured: Vec<_> = rows
        .iter()
        .filter_map(|r| r.negative_control.as_ref())
        .collect();
    let split = measured.iter().filter(|n| n.distinct_models > 1).count();
    let skipped = rows.len() - applicable.len();
    format!(
        "Through Layer 1, {converged} of {} strategies converged{}. Merging pairwise in gossip order instead left the nodes with different models for {split} of {} strategies.",
        applicable.len(),
        if skipped == 0 {
            String::new()
        } else {
            format!(" ({skipped} not applicable to this input)")
        },
        measured.len()
    )
}

/// The strategy rejected this input (not a convergence failure).
fn not_applicable(row: &StrategyRow) -> bool {
    row.problem
        .as_deref()
        .is_some_and(|p| !p.starts_with("failed"))
}

/// A sortable column of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Strategy,
    Family,
    Class,
    Layer1,
    Models,
    Between,
    FromLayer2,
    Time,
}

/// A row's value in `column`, for sorting (None sorts last).
fn sort_value(row: &StrategyRow, ms: Option<f64>, column: Column) -> Option<f64> {
    let n = row.negative_control.as_ref();
    match column {
        Column::Strategy | Column::Family | Column::Class => None,
        Column::Layer1 => Some(layer1_rank(row) as f64),
        Column::Models => n.map(|n| n.distinct_models as f64),
        Column::Between => n.map(|n| n.max_deviation_between_nodes),
        Column::FromLayer2 => n.map(|n| n.max_deviation_from_layer2),
        Column::Time => ms,
    }
}

fn layer1_rank(row: &StrategyRow) -> u8 {
    if row.layer1_converged {
        0
    } else if not_applicable(row) {
        1
    } else {
        2
    }
}

/// The order of two rows by `column`; rows without a value (n/a) come
/// last in both directions.
fn compare(
    a: &(StrategyRow, Option<f64>),
    b: &(StrategyRow, Option<f64>),
    column: Column,
    ascending: bool,
) -> Ordering {
    let direct = |o: Ordering| if ascending { o } else { o.reverse() };
    match column {
        Column::Strategy => direct(a.0.strategy.cmp(&b.0.strategy)),
        Column::Family => direct(family_name(a.0.family).cmp(family_name(b.0.family))),
        Column::Class => direct(format!("{:?}", a.0.class).cmp(&format!("{:?}", b.0.class))),
        _ => match (sort_value(&a.0, a.1, column), sort_value(&b.0, b.1, column)) {
            (Some(x), Some(y)) => direct(x.total_cmp(&y)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
    }
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Reference => "reference",
        Family::Literature => "literature",
    }
}

/// The per-strategy table; a column header sorts by it (again: reversed).
#[component]
fn SweepTable(rows: Vec<StrategyRow>, times: Vec<(String, f64)>) -> impl IntoView {
    let problems = rows
        .iter()
        .filter_map(|r| r.problem.clone().map(|p| (r.strategy.clone(), p)))
        .map(|(name, p)| view! { <li><code>{name}</code>": "{p}</li> })
        .collect_view();
    let rows: Vec<(StrategyRow, Option<f64>)> = rows
        .into_iter()
        .map(|r| {
            let ms = times
                .iter()
                .find(|(k, _)| *k == r.strategy)
                .map(|(_, v)| *v);
            (r, ms)
        })
        .collect();
    let sort = RwSignal::new(None::<(Column, bool)>);
    let sorted = move || {
        let mut v = rows.clone();
        if let Some((column, ascending)) = sort.get() {
            // Stable: ties keep the run's (registry) order.
            v.sort_by(|a, b| compare(a, b, column, ascending));
        }
        v.into_iter().map(table_row).collect_view()
    };
    let header = move |column: Column, label: &'static str, numeric: bool| {
        let aria = move || match sort.get() {
            Some((c, true)) if c == column => "ascending",
            Some((c, false)) if c == column => "descending",
            _ => "none",
        };
        let arrow = move || match sort.get() {
            Some((c, true)) if c == column => " ▲",
            Some((c, false)) if c == column => " ▼",
            _ => "",
        };
        let click = move |_| {
            sort.update(|s| {
                *s = match *s {
                    Some((c, asc)) if c == column => Some((column, !asc)),
                    _ => Some((column, true)),
                }
            })
        };
        view! {
            <th scope="col" class:num=numeric aria-sort=aria>
                <button type="button" class="sort" on:click=click>{label}<span aria-hidden="true">{arrow}</span></button>
            </th>
        }
    };
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Results per strategy (scrolls sideways)">
            <table class="results sweep-table" data-testid="results">
                <caption class="sr-only">"Results per strategy; the column buttons sort the table"</caption>
                <thead>
                    <tr>
                        {header(Column::Strategy, "Strategy", false)}
                        {header(Column::Family, "Family", false)}
                        {header(Column::Class, "Class", false)}
                        {header(Column::Layer1, "Layer 1", false)}
                        {header(Column::Models, "Models", true)}
                        {header(Column::Between, "Between nodes", true)}
                        {header(Column::FromLayer2, "From Layer 2", true)}
                        {header(Column::Time, "Time in this browser", true)}
                        <th scope="col">"Notes"</th>
                    </tr>
                </thead>
                <tbody>{sorted}</tbody>
            </table>
        </div>
        <p class="muted">
            "Models, Between nodes, From Layer 2: the negative control — distinct final models among the nodes after merging "
            "pairwise in gossip order, and the largest relative difference between two nodes and from the Layer-2 result "
            "(1 model and 0 would mean no divergence). "
            "Class: how exactly the strategy reproduces across platforms (E bitwise, R reductions within 1e-12, S SVD within ~1e-10, "
            "X sign-dependent, M statistical). "
            "Time: wall time of the strategy's job in one web worker, measured in this run — not part of the fingerprint. "
            "Notes: “base model” — the strategy merges task vectors relative to a shared base model; "
            "“seeded” — it is stochastic, with its randomness seeded, so it is still reproducible."
        </p>
        <ul class="muted problems" data-testid="problems">{problems}</ul>
    }
}

fn table_row((row, ms): (StrategyRow, Option<f64>)) -> impl IntoView {
    let summary = strategy::find(&row.strategy)
        .map(|s| s.info().summary)
        .unwrap_or("");
    let (layer1, bad) = match layer1_rank(&row) {
        0 => ("converged", false),
        1 => ("n/a", false),
        _ => ("FAILED", true),
    };
    let n = row.negative_control.as_ref();
    let cell = |v: Option<String>| v.unwrap_or_else(|| "n/a".to_string());
    let mut notes = Vec::new();
    if row.needs_base {
        notes.push("base model");
    }
    if row.stochastic {
        notes.push("seeded");
    }
    if row.problem.is_some() {
        notes.push("see below");
    }
    view! {
        <tr>
            <th scope="row" title=summary>{row.strategy.clone()}</th>
            <td>{family_name(row.family)}</td>
            <td>{format!("{:?}", row.class)}</td>
            <td class:bad=bad title=row.problem.clone()>{layer1}</td>
            <td class="num">{cell(n.map(|n| n.distinct_models.to_string()))}</td>
            <td class="num">{cell(n.map(|n| chart::number(n.max_deviation_between_nodes)))}</td>
            <td class="num">{cell(n.map(|n| chart::number(n.max_deviation_from_layer2)))}</td>
            <td class="num">{ms.map_or_else(|| "—".to_string(), chart::duration)}</td>
            <td class="note">{notes.join(", ")}</td>
        </tr>
    }
}

/// The CSV header, one column per table column (plus digests and merges).
pub const CSV_HEADER: &str = "strategy,family,class,needs_base,stochastic,layer1,problem,pairwise_distinct_models,pairwise_merges,max_deviation_between_nodes,max_deviation_from_layer2,state_digest,resolved_digest,browser_job_ms";

/// The per-strategy table as CSV (RFC 4180), one row per strategy. The last
/// column is this browser's timing (empty for a report without one).
pub fn results_csv(report: &SweepReport) -> String {
    let times = report
        .execution
        .as_ref()
        .map(|e| e.phases_ms.clone())
        .unwrap_or_default();
    let mut out = format!("{CSV_HEADER}\r\n");
    for r in &report.results.rows {
        let n = r.negative_control.as_ref();
        let opt = |v: Option<String>| v.unwrap_or_default();
        let layer1 = match layer1_rank(r) {
            0 => "converged",
            1 => "not_applicable",
            _ => "failed",
        };
        let ms = times
            .iter()
            .find(|(k, _)| *k == r.strategy)
            .map(|(_, v)| format!("{v:.3}"));
        out.push_str(&format!(
            "{},{},{:?},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            csv_field(&r.strategy),
            family_name(r.family),
            r.class,
            r.needs_base,
            r.stochastic,
            layer1,
            csv_field(r.problem.as_deref().unwrap_or("")),
            opt(n.map(|n| n.distinct_models.to_string())),
            opt(n.map(|n| n.merges.to_string())),
            opt(n.map(|n| n.max_deviation_between_nodes.to_string())),
            opt(n.map(|n| n.max_deviation_from_layer2.to_string())),
            r.state_digest,
            r.resolved_digest,
            opt(ms)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::run_jobs;
    use crate::local::{block_on, LocalLink};

    fn small() -> SweepConfig {
        SweepConfig {
            nodes: 4,
            dim: 4,
            orderings: 1,
            strategies: vec![
                "weight_average".into(),
                "ties".into(),
                "ties:paper".into(),
                "slerp:mergekit".into(),
            ],
            ..SweepConfig::default()
        }
    }

    fn over_jobs(config: &SweepConfig, workers: u32) -> SweepReport {
        let (jobs, labels) = jobs(config);
        let mut link = LocalLink::new(workers);
        let done = block_on(run_jobs(&mut link, jobs, &labels, &mut |_| {})).unwrap();
        assemble_rows(config, done).unwrap()
    }

    #[test]
    fn rows_over_jobs_assemble_to_the_native_report() {
        let config = small();
        let native = sweep::run(&config).unwrap();
        for workers in [1, 2, 3] {
            let report = over_jobs(&config, workers);
            assert_eq!(report.fingerprint, native.fingerprint, "{workers} workers");
            assert_eq!(report, native);
        }
    }

    #[test]
    fn csv_has_one_row_per_strategy() {
        let config = small();
        let report = over_jobs(&config, 2);
        let csv = results_csv(&report);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 1 + config.strategies.len());
        let columns = CSV_HEADER.split(',').count();
        // slerp:mergekit's problem text has commas, so count outside quotes.
        for line in &lines {
            let mut quoted = false;
            let commas = line
                .chars()
                .filter(|c| {
                    if *c == '"' {
                        quoted = !quoted;
                    }
                    *c == ',' && !quoted
                })
                .count();
            assert_eq!(commas + 1, columns, "{line}");
        }
        assert!(lines[4].starts_with("slerp:mergekit,literature,"));
        assert!(lines[4].contains("not_applicable"));
    }

    #[test]
    fn a_mismatched_row_is_a_protocol_error() {
        let config = small();
        let (jobs, labels) = jobs(&config);
        let mut link = LocalLink::new(1);
        let mut done = block_on(run_jobs(&mut link, jobs, &labels, &mut |_| {})).unwrap();
        done.swap(0, 1);
        assert!(matches!(
            assemble_rows(&config, done),
            Err(RunError::Protocol(_))
        ));
    }

    #[test]
    fn sorting_keeps_not_applicable_rows_last() {
        let report = over_jobs(&small(), 1);
        let rows: Vec<(StrategyRow, Option<f64>)> =
            report.results.rows.into_iter().map(|r| (r, None)).collect();
        for ascending in [true, false] {
            let mut v = rows.clone();
            v.sort_by(|a, b| compare(a, b, Column::Between, ascending));
            assert_eq!(v.last().unwrap().0.strategy, "slerp:mergekit");
            let between: Vec<f64> = v
                .iter()
                .filter_map(|r| r.0.negative_control.as_ref())
                .map(|n| n.max_deviation_between_nodes)
                .collect();
            assert!(between
                .windows(2)
                .all(|w| (w[0] <= w[1]) == ascending || w[0] == w[1]));
        }
    }

    #[test]
    fn the_picker_round_trips_through_the_text() {
        assert_eq!(selection("", false).len(), all_names().len());
        assert!(selection("", true).is_empty());
        assert_eq!(
            selection(" ties:paper, ties ,nope", false),
            vec!["ties", "ties:paper"]
        );
        assert_eq!(serialise(&all_names()), (String::new(), false));
        assert_eq!(serialise(&[]), (String::new(), true));
        assert_eq!(
            serialise(&["ties:paper", "ties"]),
            ("ties,ties:paper".to_string(), false)
        );
    }

    #[test]
    fn permalinks_round_trip_and_limits_name_the_field() {
        let config = small();
        let (back, issues) = config_from_pairs(&config.to_query());
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, config);
        let pairs = vec![("strategies".to_string(), "nope".to_string())];
        let (back, issues) = config_from_pairs(&pairs);
        assert!(back.strategies.is_empty());
        assert_eq!(issues[0].key, "strategies");
        let pairs = vec![("orderings".to_string(), "500".to_string())];
        assert_eq!(config_from_pairs(&pairs).1[0].key, "orderings");
    }
}
