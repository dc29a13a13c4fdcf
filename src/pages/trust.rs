//! Experiment E4 — the trust layer: Ed25519-signed contributions,
//! self-certifying evidence, trust as a grow-only CRDT and a trust-weighted
//! merge, under six Byzantine behaviours (`shared/spec/trust.md`).
//!
//! The run is one job in one web worker (the engine's `trust::run`, the
//! function `lab-cli trust` calls), so its fingerprint is `lab-cli`'s. This
//! module owns the page: intro, controls, results tables, exports; the SVG
//! charts live in [`chart`].

mod chart;

use crate::components::controls::{
    fanout_field, strategy_field, workload_fields, Controls, FieldSpec, Form,
};
use crate::components::progress::ProgressBar;
use crate::components::report::{
    execution_of, outcome_view, stem, Download, Downloads, FingerprintBox, QueryIssues, Reproduce,
    WorkersLine,
};
use crate::components::results::{csv_field, group, short};
use crate::components::verdict::VerdictPanel;
use crate::components::weights::{self, Weights, WeightsPanel, WorkloadFiles};
use crate::coordinator::RunError;
use crate::jobs::Done;
use crate::protocol::{Job, JobOutput};
use crate::query::{encode_query, issue, PageQuery};
use crate::runner::Runner;
use crate::runner::{job_task_with, Status, StatusSink, TaskFuture};
use lab_core::experiment::convergence::FileTensors;
use lab_core::experiment::params::QueryIssue;
use lab_core::experiment::trust::{
    Behaviour, Drops, TrustConfig, TrustReport, TrustResults, DIM_MAX, FIELDS, NODES_MAX,
    NODES_MIN, ROUNDS_MAX, SYBILS_PER_OUTSIDER,
};
use lab_core::sim::faults::DELAY_ROUNDS_MAX;
use lab_core::trust::REJECT_THRESHOLD;
use leptos::prelude::*;
use std::rc::Rc;
use std::sync::Arc;

/// What an honest member does, in the members table.
const HONEST_NOTE: &str = "publishes, verifies and relays";

/// The query keys of the six Byzantine counts, in the engine's order.
const COUNT_KEYS: [&str; 6] = [
    "equivocators",
    "corrupters",
    "forgers",
    "replayers",
    "outsiders",
    "silent",
];

/// A config from query (or form) pairs: the engine's codec, after naming
/// the parameter at fault when the Byzantine members would leave no honest
/// one (the engine alone only knows that the *total* is out of range).
///
/// `byzantine=F` (with `mix=a,b,…`, default all six) sets the counts from
/// a share of the roster instead, as `lab-cli trust --byzantine-fraction`
/// does; the page's own links then carry the counts.
pub fn config_from_pairs(pairs: &[(String, String)]) -> (TrustConfig, Vec<QueryIssue>) {
    let mut issues = Vec::new();
    let fraction = pairs.iter().rev().find(|(k, _)| k == "byzantine");
    let kept: Vec<(String, String)> = if fraction.is_some() {
        pairs
            .iter()
            .filter(|(k, _)| !COUNT_KEYS.contains(&k.as_str()))
            .cloned()
            .collect()
    } else {
        fit_byzantine(pairs, &mut issues)
    };
    let (mut config, engine_issues) = TrustConfig::from_query(&kept);
    issues.extend(engine_issues);
    if let Some((_, value)) = fraction {
        let mix = pairs
            .iter()
            .rev()
            .find(|(k, _)| k == "mix")
            .map_or("all", |(_, v)| v);
        let mut by_fraction = config.clone();
        let applied = value
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("'{value}' is not a number"))
            .and_then(|f| {
                let mix = Behaviour::parse_mix(mix).map_err(|e| format!("mix: {e}"))?;
                by_fraction
                    .set_byzantine_fraction(f, &mix)
                    .map_err(|e| e.to_string())?;
                by_fraction.validate().map_err(|e| e.to_string())
            });
        match applied {
            Ok(()) => config = by_fraction,
            Err(why) => {
                // Read the link again without the fraction: its counts, or
                // the defaults, fitted to the node count.
                let rest: Vec<(String, String)> = pairs
                    .iter()
                    .filter(|(k, _)| k != "byzantine" && k != "mix")
                    .cloned()
                    .collect();
                let (fallback, more) = config_from_pairs(&rest);
                issues = more;
                issues.push(issue(
                    "byzantine",
                    value,
                    format!("{why}; counts used instead"),
                ));
                config = fallback;
            }
        }
    }
    (config, issues)
}

/// The last whole-number value given for `key`, if it parses.
fn given(pairs: &[(String, String)], key: &str) -> Option<u32> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.trim().parse().ok())
}

fn default_count(key: &str) -> u32 {
    let d = TrustConfig::default();
    let field = FIELDS.iter().find(|f| f.key == key).expect("a count field");
    field.get(&d).parse().expect("counts are numbers")
}

/// Drops the counts (or the node count) that make `byzantine ≥ nodes`,
/// each with an issue naming it, so their defaults are used.
fn fit_byzantine(
    pairs: &[(String, String)],
    issues: &mut Vec<QueryIssue>,
) -> Vec<(String, String)> {
    let defaults = TrustConfig::default();
    let nodes_given = given(pairs, "nodes").filter(|n| (NODES_MIN..=NODES_MAX).contains(n));
    let nodes = nodes_given.unwrap_or(defaults.nodes);
    let limit = nodes as u64 - 1;
    let mut dropped: Vec<&str> = Vec::new();
    let value = |key: &str, dropped: &[&str]| -> u64 {
        match given(pairs, key) {
            Some(v) if !dropped.contains(&key) => v as u64,
            _ => default_count(key) as u64,
        }
    };
    // A single count above the limit is at fault on its own.
    for key in COUNT_KEYS {
        if let Some(v) = given(pairs, key).filter(|&v| v as u64 > limit) {
            dropped.push(key);
            issues.push(issue(
                key,
                &v.to_string(),
                format!(
                    "at most nodes − 1 = {limit} Byzantine members in total (at least one member must be honest); default {} used",
                    default_count(key)
                ),
            ));
        }
    }
    // Then the largest count raised above its default, one at a time.
    for _ in 0..=COUNT_KEYS.len() {
        let total: u64 = COUNT_KEYS.iter().map(|k| value(k, &dropped)).sum();
        if total <= limit {
            break;
        }
        let culprit = COUNT_KEYS
            .iter()
            .filter(|k| !dropped.contains(k))
            .filter_map(|&k| given(pairs, k).map(|v| (k, v)))
            .filter(|&(k, v)| v > default_count(k))
            .max_by_key(|&(_, v)| v);
        match culprit {
            Some((key, v)) => {
                dropped.push(key);
                issues.push(issue(
                    key,
                    &v.to_string(),
                    format!(
                        "{total} Byzantine members in total, but at most nodes − 1 = {limit} (at least one member must be honest); default {} used",
                        default_count(key)
                    ),
                ));
            }
            None => {
                // Only the node count can be at fault (the counts are at
                // most their defaults, which fit the default node count).
                dropped.push("nodes");
                issues.push(issue(
                    "nodes",
                    &nodes.to_string(),
                    format!(
                        "{total} Byzantine members need at least {} nodes (one honest); default {} used",
                        total + 1,
                        defaults.nodes
                    ),
                ));
                break;
            }
        }
    }
    pairs
        .iter()
        .filter(|(k, _)| !dropped.contains(&k.as_str()))
        .cloned()
        .collect()
}

/// The report from the single job's output (the worker ran `trust::run`).
fn report_from_outputs(mut done: Vec<Done>) -> Result<TrustReport, RunError> {
    match done.pop().map(|d| d.output) {
        Some(JobOutput::Trust(r)) if done.is_empty() => Ok((*r).into()),
        other => Err(RunError::Protocol(format!(
            "expected one trust report, got {other:?}"
        ))),
    }
}

/// The whole run as one job; the status says what the worker is doing:
/// until the first round ends, what it simulates, then the worker's
/// progress ("round r of at most N; …", throttled to about ten a second).
/// The bar counts rounds against the round limit, so a run that converges
/// early jumps to the end.
fn task(
    config: TrustConfig,
    tensors: Option<Arc<FileTensors>>,
) -> impl FnOnce(crate::pool::Pool, StatusSink) -> TaskFuture<TrustReport> {
    let text = format!(
        "simulating {} members ({} Byzantine) with Ed25519 signatures in one web worker",
        config.nodes,
        config.byzantine()
    );
    let inner = job_task_with(
        vec![Job::Trust(config)],
        vec!["trust run".into()],
        tensors,
        report_from_outputs,
    );
    move |pool, sink| {
        let wrapped: StatusSink = Rc::new(move |s: Status| {
            let text = if s.fraction <= 0.0 {
                text.clone()
            } else {
                s.text
            };
            sink(Status { text, ..s })
        });
        inner(pool, wrapped)
    }
}

/// One line per Byzantine behaviour: what the member does.
fn behaviour_line(b: Behaviour) -> String {
    match b {
        Behaviour::Honest => "publishes one signed contribution and relays what it verified".into(),
        Behaviour::Equivocator => "signs two different tensors for the same (model, version) and sends one or the other".into(),
        Behaviour::Corrupter => "signs a tensor digest but sends bytes that do not hash to it".into(),
        Behaviour::Forger => "claims an honest member's identity, signing with its own key, and fabricates evidence against it".into(),
        Behaviour::Replayer => "re-sends every operation it ever admitted, every round".into(),
        Behaviour::Outsider => format!("signs with {SYBILS_PER_OUTSIDER} Sybil identities that are not on the roster"),
        Behaviour::Silent => "publishes and gossips in round 1, then never sends again".into(),
    }
}

fn count_hint(b: Behaviour) -> &'static str {
    match b {
        Behaviour::Equivocator => "two signed versions, different content",
        Behaviour::Corrupter => "bytes ≠ signed digest",
        Behaviour::Forger => "signs as another member",
        Behaviour::Replayer => "re-sends old operations",
        Behaviour::Outsider => "identities not on the roster",
        Behaviour::Silent => "stops gossiping after round 1",
        Behaviour::Honest => "",
    }
}

/// "3…200; honest = 10 − 6 = 4", following the form.
fn honest_hint(form: Form) -> Signal<String> {
    Signal::derive(move || {
        let range = format!("{NODES_MIN}…{NODES_MAX}");
        let nodes = form.field("nodes").get().trim().parse::<u64>();
        let counts: Result<Vec<u64>, _> = COUNT_KEYS
            .iter()
            .map(|k| form.field(k).get().trim().parse::<u64>())
            .collect();
        match (nodes, counts) {
            (Ok(n), Ok(c)) => {
                let b: u64 = c.iter().sum();
                if b < n {
                    format!("{range}; honest = {n} − {b} Byzantine = {}", n - b)
                } else {
                    format!("{range}; {b} Byzantine need at least {} nodes", b + 1)
                }
            }
            _ => format!("{range}; honest = nodes − Byzantine"),
        }
    })
}

fn fields(form: Form) -> (Vec<FieldSpec>, Vec<FieldSpec>) {
    let protocol_hint = Signal::derive(move || {
        match form.field("protocol").get().as_str() {
            "push" => "each node sends to fan-out peers",
            "pull" => "each node asks fan-out peers",
            "push-pull" => "contacted pairs exchange",
            _ => "",
        }
        .to_string()
    });
    let mut main = vec![
        FieldSpec::number("nodes", "Members (nodes)", honest_hint(form)),
        FieldSpec::number("dim", "Tensor side (dim × dim)", format!("1…{DIM_MAX}")),
    ];
    let labels = [
        "Equivocators",
        "Corrupters",
        "Forgers",
        "Replayers",
        "Outsiders (Sybil)",
        "Silent nodes",
    ];
    for ((key, label), b) in COUNT_KEYS.into_iter().zip(labels).zip(Behaviour::BYZANTINE) {
        main.push(FieldSpec::number(key, label, count_hint(b).to_string()));
    }
    main.extend([
        FieldSpec::choice(
            "protocol",
            "Protocol",
            &[
                ("push", "push"),
                ("pull", "pull"),
                ("push-pull", "push-pull"),
            ],
            protocol_hint,
        ),
        fanout_field(form, NODES_MAX),
        strategy_field(form),
        FieldSpec::number("seed", "Seed", "keys, roles, gossip; 0…2⁵³−1".to_string()),
        FieldSpec::choice(
            "reference_contrast",
            "Reference contrast",
            &[("false", "off"), ("true", "on")],
            "also model the seed's semantics (0.5 default, unbound evidence, homeostasis)"
                .to_string(),
        ),
    ]);
    let mut advanced = vec![FieldSpec::number(
        "rounds_max",
        "Rounds at most",
        format!("1…{}", group(ROUNDS_MAX as u64)),
    )];
    advanced.extend(fault_fields());
    advanced.extend(workload_fields());
    (main, advanced)
}

/// The fault controls (none by default), grouped under "Advanced".
fn fault_fields() -> Vec<FieldSpec> {
    vec![
        FieldSpec::text(
            "phases",
            "Faults: partition phases",
            "none, or shape@start-heal, e.g. mod:2@1-20 (halves, groups:K, mod:K, isolated:N, minority:M, bridge, asymmetric)".to_string(),
        ),
        FieldSpec::decimal("loss", "Faults: message loss", "probability, 0 ≤ p < 1".to_string()),
        FieldSpec::decimal(
            "duplicate",
            "Faults: duplication",
            "probability a message arrives twice, 0…1".to_string(),
        ),
        FieldSpec::number(
            "delay_max",
            "Faults: delay at most",
            format!("rounds, 0…{DELAY_ROUNDS_MAX} (reorders)"),
        ),
        FieldSpec::number(
            "link_until",
            "Faults: message faults until",
            "round they stop; 0 = the whole run".to_string(),
        ),
    ]
}

/// The trust page, initialised from the URL.
#[component]
pub fn TrustPage(query: PageQuery<TrustConfig>) -> impl IntoView {
    let form = Form::new(FIELDS, &query.config);
    let options = query.options;
    let workers = crate::runner::page_workers(&options);
    let runner = Runner::<TrustReport>::new(workers);
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
        TrustConfig::to_query,
        TrustConfig::validate,
        task,
        &query.config,
        weights,
        |_, _| {},
    );
    let from_link = weights::link_had_files(&query.issues);
    let (main, advanced) = fields(form);
    view! {
        <Intro/>
        <QueryIssues issues=query.issues/>
        <WorkersLine workers from_link=options.workers.is_some()/>
        <p class="muted">"The whole run is one job, so it uses one of these workers."</p>
        <WeightsPanel weights running=runner.running.into() from_link/>
        <Controls form main advanced running=runner.running.into() issues=form_issues.into() on_run on_cancel/>
        <ProgressBar clock=runner.clock.into()/>
        {move || runner.outcome.get().map(|o| outcome_view(o, |report| view! { <TrustRunResults report/> }.into_any()))}
    }
}

#[component]
fn Intro() -> impl IntoView {
    let behaviours = Behaviour::BYZANTINE
        .into_iter()
        .map(|b| view! { <li><strong>{b.name()}</strong>" — "{behaviour_line(b)}</li> })
        .collect_view();
    view! {
        <section class="intro" aria-labelledby="exp-title">
            <h1 id="exp-title">"Experiment 5 — the trust layer (E4)"</h1>
            <p>
                "Can nodes that merge models by gossip keep out members that lie, without a central authority, and still all end "
                "with the same model? Each member has an "<strong>"Ed25519"</strong>" key derived from the seed; all public keys form "
                "the roster. Every contribution is "<strong>"signed"</strong>" and every node verifies it before it enters its set."
            </p>
            <ul>
                <li><strong>"Self-certifying evidence"</strong>" — a node records an offence only with proof anyone can check: two validly signed operations for one (model, version) with different content, or a signed digest the delivered bytes do not hash to. A bad signature or an unknown identity is dropped and counted, never held against the claimed sender (anyone can forge a “from” field)."</li>
                <li><strong>"Trust is a grow-only CRDT"</strong>" — the trust state is a set of verified evidence records; join is set union, so re-delivery never counts twice, and scores are a pure function of the set. Honest nodes that hold the same evidence have the same trust root, bit for bit."</li>
                <li><strong>"Trust-weighted resolve"</strong>" — each contribution's weight is multiplied by its originator's trust; members below "{REJECT_THRESHOLD}" are excluded. Every honest node still resolves the same bits."</li>
            </ul>
            <p>"The Byzantine members, one behaviour each:"</p>
            <ul>{behaviours}</ul>
            <p>
                "PASS means: no honest member was accused, every provable offence was detected by every honest node, honest nodes hold "
                "identical trust roots (score divergence exactly 0) and resolve identical models, trust weighting kept the merged model "
                "closer to the honest-only one than plain merging, and the honest nodes converged before the round limit."
            </p>
            <div class="notice">
                <p>
                    <strong>"About the seed lab's “E4 trust convergence: 0.000 max divergence, 3.84 ms”."</strong>
                    " That figure compared fresh trust lattices holding no evidence (every score at its 0.5 default), and the seed's "
                    "signatures were stubs — it tested nothing. This page instead injects the Byzantine members above, gossips real "
                    "Ed25519-signed operations and evidence, and reports what it measured: the largest score divergence and the number "
                    "of distinct trust roots among honest nodes, the rounds until every honest node held each piece of evidence, false "
                    "accusations, the merged model's deviation from the honest-only model, and the time this browser took. Switch on "
                    "“Reference contrast” to also see the seed's trust semantics fail to converge."
                </p>
            </div>
        </section>
    }
}

#[component]
fn TrustRunResults(report: Arc<TrustReport>) -> impl IntoView {
    let config = report.config.clone();
    let r = &report.results;
    let intervals = config.fault_intervals();
    let detect_svg = chart::detection_svg_shaded(r, &intervals);
    let faults_view = (!intervals.is_empty()).then(|| {
        let items = intervals
            .iter()
            .map(|i| {
                let end = if i.kind == "messages" && config.faults.link_until == 0 {
                    "the end of the run".to_string()
                } else {
                    i.end.saturating_sub(1).to_string()
                };
                view! { <li>{format!("{} — {}: rounds {} to {end}", i.kind, i.label, i.start)}</li> }
            })
            .collect_view();
        view! {
            <h2>"Faults"</h2>
            <ul data-testid="fault-intervals">{items}</ul>
            <p class="muted">"Shaded on the detection chart. A message that crosses an active partition is lost; peers are chosen among the reachable nodes. The verdict's last check says whether the network healed and what the faults did to the messages."</p>
        }
    });
    let trust_svg = chart::trust_svg(r);
    let contrast_svg = r
        .reference_contrast
        .as_ref()
        .map(|c| chart::contrast_svg(c, r.max_trust_divergence, r.trust_roots.len()));
    let mut downloads = vec![
        Download::json(report.clone()),
        csv_download(
            "Members (CSV)",
            "export-csv",
            "-members.csv",
            report.clone(),
            members_csv,
        ),
        csv_download(
            "Evidence (CSV)",
            "export-csv-evidence",
            "-evidence.csv",
            report.clone(),
            evidence_csv,
        ),
        svg_download(
            "Detection chart (SVG)",
            "export-svg",
            "-detection.svg",
            &detect_svg,
        ),
        svg_download(
            "Trust chart (SVG)",
            "export-svg-trust",
            "-trust.svg",
            &trust_svg,
        ),
    ];
    if let Some(svg) = &contrast_svg {
        downloads.push(svg_download(
            "Contrast chart (SVG)",
            "export-svg-contrast",
            "-contrast.svg",
            svg,
        ));
    }
    view! {
        <section class="results-section" aria-label="Results">
            <VerdictPanel
                verdict=report.verdict.clone()
                pass_text="No honest member was accused, every provable offence was detected by every honest node, and the honest nodes ended with identical trust roots and identical merged models."
                fail_text="Some check failed — see below."
            />
            <FingerprintBox fingerprint=report.fingerprint.clone() execution=execution_of(&*report)/>
            <Downloads stem=stem("trust", &report.fingerprint) items=downloads/>
            <h2>"Key figures"</h2>
            <KeyFigures results=r.clone()/>
            {faults_view}
            <h2>"Detection over rounds"</h2>
            <TrustFigure
                svg=detect_svg
                testid="chart"
                caption=format!(
                    "Share of the {} honest nodes holding each evidence record after each round (one line per record, coloured by kind; hover a line for the accused member). Evidence travels with the gossip: a record is complete when its line reaches 100 %.",
                    r.honest_nodes
                )
            />
            <h2>"Trust per member"</h2>
            <TrustFigure
                svg=trust_svg
                testid="chart-trust"
                caption=format!(
                    "Each member's overall trust (the minimum of six dimensions) as the honest nodes score it after the last round. Members below {REJECT_THRESHOLD} are excluded from the trust-weighted merge. Forgers, replayers, outsiders and silent members leave nothing provable (their messages are dropped or harmless), so their trust can only fall through a false accusation, which the verdict checks."
                )
            />
            {config.workload.files().cloned().map(|files| view! { <WorkloadFiles files/> })}
            <h2>"Members"</h2>
            <MembersTable results=r.clone()/>
            <h2>"Evidence"</h2>
            <EvidenceTable results=r.clone()/>
            <h2>"Dropped messages"</h2>
            <DropsTable drops=r.drops.clone()/>
            {contrast_svg.map(|svg| view! { <ContrastSection results=r.clone() svg/> })}
            // Long file names in `--weights` may wrap (style/weights.css).
            <div class="reproduce-weights">
                <Reproduce cli=config.cli_command() query=encode_query(&config.to_query())/>
            </div>
        </section>
    }
}

fn csv_download(
    label: &'static str,
    testid: &'static str,
    suffix: &str,
    report: Arc<TrustReport>,
    make: fn(&TrustResults) -> String,
) -> Download {
    Download::csv(label, testid, suffix, move || make(&report.results))
}

fn svg_download(label: &'static str, testid: &'static str, suffix: &str, svg: &str) -> Download {
    let svg = svg.to_string();
    Download::svg(label, testid, suffix, move || svg.clone())
}

/// A chart that scrolls sideways on narrow screens instead of shrinking
/// its text below legibility.
#[component]
fn TrustFigure(svg: String, caption: String, testid: &'static str) -> impl IntoView {
    view! {
        <figure class="chart trust-chart">
            <div class="chart-svg" data-testid=testid inner_html=svg></div>
            <figcaption>{caption}</figcaption>
        </figure>
    }
}

/// The run's headline numbers, each straight from the report.
#[component]
fn KeyFigures(results: TrustResults) -> impl IntoView {
    let r = results;
    let agreed = if r.converged {
        format!("after round {} ({} simulated)", r.rounds, r.rounds_run)
    } else {
        format!("not within {} rounds", r.rounds_run)
    };
    let excluded = if r.excluded.is_empty() {
        "none".to_string()
    } else {
        r.excluded
            .iter()
            .map(|n| format!("node {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows: Vec<(&str, String, bool)> = vec![
        (
            "Members",
            format!("{} ({} honest)", r.members.len(), r.honest_nodes),
            false,
        ),
        ("Honest nodes agreed", agreed, !r.converged),
        (
            "Messages / operations / evidence sent",
            format!(
                "{} / {} / {}",
                group(r.messages),
                group(r.ops_sent),
                group(r.evidence_sent)
            ),
            false,
        ),
        (
            "Signed operations verified (Ed25519)",
            format!("{} in {} batches", group(r.ops_verified), group(r.op_batches)),
            false,
        ),
        (
            "Proof-carrying operations",
            format!(
                "{} verified, {} applied, {} quarantined",
                group(r.pcos_verified),
                group(r.pcos_applied),
                group(r.pcos_quarantined)
            ),
            false,
        ),
        (
            "False accusations",
            group(r.false_accusations),
            r.false_accusations != 0,
        ),
        (
            "Distinct trust roots (honest nodes)",
            r.trust_roots.len().to_string(),
            r.trust_roots.len() != 1,
        ),
        (
            "Largest trust-score divergence",
            if r.max_trust_divergence == 0.0 {
                "0 (exact)".to_string()
            } else {
                chart::number(r.max_trust_divergence)
            },
            r.max_trust_divergence != 0.0,
        ),
        (
            "Distinct resolved models (honest nodes)",
            format!(
                "{} trust-weighted, {} unweighted",
                r.resolved_digests.len(),
                r.unweighted_digests.len()
            ),
            r.resolved_digests.len() != 1,
        ),
        ("Excluded from the merge", excluded, false),
        (
            "Deviation from the honest-only model",
            format!(
                "{} with trust weighting, {} without (relative max error; honest-only model: {} contributions)",
                chart::number(r.deviation_weighted),
                chart::number(r.deviation_unweighted),
                r.reference_members
            ),
            false,
        ),
    ];
    let items = rows
        .into_iter()
        .map(|(k, v, bad)| {
            view! {
                <div class="figure-row">
                    <dt>{k}</dt>
                    <dd class:bad=bad>{v}</dd>
                </div>
            }
        })
        .collect_view();
    view! { <dl class="trust-figures" data-testid="summary">{items}</dl> }
}

#[component]
fn MembersTable(results: TrustResults) -> impl IntoView {
    let trust = chart::final_trust(&results);
    let honest = results.honest_nodes;
    let rows = results
        .members
        .iter()
        .map(|m| {
            let d = results.detection.iter().find(|d| d.node == m.node);
            let t = trust.get(m.node as usize).copied().unwrap_or(1.0);
            let excluded = results.excluded.contains(&m.node);
            let detected = d.map_or_else(|| "—".to_string(), |d| format!("{} of {honest}", d.detected_by));
            let latency = d
                .and_then(|d| d.latency_rounds)
                .map_or_else(|| "—".to_string(), |l| l.to_string());
            let missed = d.is_some_and(|d| d.produces_evidence && d.manifested && d.detected_by != honest);
            let note = d.map_or_else(|| HONEST_NOTE.to_string(), |d| d.note.clone());
            let swatch = format!("background: {}", chart::behaviour_colour(m.behaviour));
            view! {
                <tr class:byzantine=m.behaviour != Behaviour::Honest>
                    <th scope="row" class="num">{m.node}</th>
                    <td><span class="swatch" style=swatch aria-hidden="true"></span>{m.behaviour.name()}</td>
                    <td class="num" class:bad=t < REJECT_THRESHOLD && m.behaviour == Behaviour::Honest>{chart::number(t)}</td>
                    <td>{if excluded { "yes" } else { "no" }}</td>
                    <td class="num" class:bad=missed>{detected}</td>
                    <td class="num">{latency}</td>
                    <td class="wrap">{note}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Members (scrolls sideways)">
            <table class="results" data-testid="results">
                <thead>
                    <tr>
                        <th scope="col" class="num">"Node"</th>
                        <th scope="col">"Behaviour"</th>
                        <th scope="col" class="num">"Final trust"</th>
                        <th scope="col">"Excluded"</th>
                        <th scope="col" class="num">"Evidence held by"</th>
                        <th scope="col" class="num">"Rounds to full detection"</th>
                        <th scope="col">"What happened"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[component]
fn EvidenceTable(results: TrustResults) -> impl IntoView {
    if results.evidence.is_empty() {
        return view! { <p class="muted" data-testid="evidence">"No evidence records: no member committed a provable offence in this run."</p> }.into_any();
    }
    let behaviour_of = |node: u32| {
        results
            .members
            .iter()
            .find(|m| m.node == node)
            .map_or("?", |m| m.behaviour.name())
    };
    let rows = results
        .evidence
        .iter()
        .map(|e| {
            view! {
                <tr>
                    <td>{e.kind.clone()}</td>
                    <td>{format!("node {} ({})", e.accused, behaviour_of(e.accused))}</td>
                    <td class="num">{e.first_round}</td>
                    <td class="num" class:bad=e.all_round.is_none()>{e.all_round.map_or_else(|| "never".to_string(), |r| r.to_string())}</td>
                    <td><code title=e.digest.clone()>{short(&e.digest)}</code></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Evidence (scrolls sideways)">
            <table class="results" data-testid="evidence">
                <thead>
                    <tr>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"Accused"</th>
                        <th scope="col" class="num">"First held (round)"</th>
                        <th scope="col" class="num">"Held by every honest node (round)"</th>
                        <th scope="col">"Record digest"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Every drop reason with its count and meaning, in report order.
pub fn drop_rows(d: &Drops) -> Vec<(&'static str, u64, &'static str)> {
    vec![
        (
            "bad_signature",
            d.bad_signature,
            "signature does not verify (forgeries)",
        ),
        (
            "unknown_identity",
            d.unknown_identity,
            "signer not on the roster (outsiders' Sybils)",
        ),
        (
            "replayed",
            d.replayed,
            "operation already applied (replays: no effect)",
        ),
        (
            "bad_evidence",
            d.bad_evidence,
            "evidence record that does not verify (fabricated)",
        ),
        (
            "malformed",
            d.malformed,
            "structurally invalid operation or payload",
        ),
        (
            "unbound_claims",
            d.unbound_claims,
            "PCO claims not bound to its signature",
        ),
        (
            "missing_history",
            d.missing_history,
            "PCO needing history not held yet",
        ),
        (
            "root_mismatch",
            d.root_mismatch,
            "PCO Merkle root differs after applying",
        ),
        ("not_minimal", d.not_minimal, "PCO delta bounds not minimal"),
        (
            "causality",
            d.causality,
            "PCO rejected for a causality violation",
        ),
        (
            "distrusted",
            d.distrusted,
            "PCO of a distrusted originator (level 2)",
        ),
        ("quarantined", d.quarantined, "PCO quarantined (level 3)"),
        (
            "relay_corrupted",
            d.relay_corrupted,
            "tensor bytes corrupted by a relay",
        ),
        (
            "ledger_full",
            d.ledger_full,
            "refused: operation ledger full",
        ),
        (
            "evidence_overflow",
            d.evidence_overflow,
            "evidence not kept: trust state full",
        ),
        (
            "duplicate_in_inbox",
            d.duplicate_in_inbox,
            "same operation twice in one round's inbox (not an attack)",
        ),
    ]
}

#[component]
fn DropsTable(drops: Drops) -> impl IntoView {
    let all = drop_rows(&drops);
    let zero: Vec<&str> = all.iter().filter(|r| r.1 == 0).map(|r| r.0).collect();
    let rows = all
        .into_iter()
        .filter(|r| r.1 != 0)
        .map(|(reason, count, meaning)| {
            view! {
                <tr>
                    <th scope="row"><code>{reason}</code></th>
                    <td class="num">{group(count)}</td>
                    <td class="wrap">{meaning}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p>"Summed over the honest nodes. None of these produced evidence against anyone."</p>
        <div class="table-wrap" tabindex="0" role="region" aria-label="Dropped messages (scrolls sideways)">
            <table class="results" data-testid="drops">
                <thead>
                    <tr>
                        <th scope="col">"Reason"</th>
                        <th scope="col" class="num">"Count"</th>
                        <th scope="col">"Meaning"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {(!zero.is_empty()).then(|| view! { <p class="muted">"Zero: "{zero.join(", ")}"."</p> })}
    }
}

#[component]
fn ContrastSection(results: TrustResults, svg: String) -> impl IntoView {
    let c = results
        .reference_contrast
        .clone()
        .expect("only shown with a contrast");
    view! {
        <h2>"Reference semantics (contrast — not this lab's design)"</h2>
        <p class="notice warn" data-testid="contrast-label">{c.label.clone()}</p>
        <p>
            {format!(
                "A model of the seed's trust lattice: {} nodes record unbound evidence and merge all-to-all in {} different orders. ",
                c.nodes, c.orders
            )}
            "With homeostasis the merge is neither associative nor idempotent, so the nodes end with different trust roots; "
            "without it they converge. This lab's layer, measured in this run among the honest nodes, is shown below them."
        </p>
        <TrustFigure
            svg
            testid="chart-contrast"
            caption=format!(
                "Largest per-dimension trust-score difference between any two nodes. Reference bars come from the contrast model (all-to-all merging, no Byzantine members); the lab's bar is this run's honest nodes after gossip with Byzantine members — a harder setting — measured at {}.",
                if results.max_trust_divergence == 0.0 { "exactly 0".to_string() } else { chart::number(results.max_trust_divergence) }
            )
        />
    }
}

/// The members with behaviour, final trust and detection, as CSV.
pub fn members_csv(r: &TrustResults) -> String {
    let trust = chart::final_trust(r);
    let mut out = String::from(
        "node,behaviour,final_trust,excluded,produces_evidence,manifested,detected_by,honest_nodes,latency_rounds,note\r\n",
    );
    for m in &r.members {
        let d = r.detection.iter().find(|d| d.node == m.node);
        let t = trust.get(m.node as usize).copied().unwrap_or(1.0);
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\r\n",
            m.node,
            m.behaviour.name(),
            t,
            r.excluded.contains(&m.node),
            d.is_some_and(|d| d.produces_evidence),
            d.is_some_and(|d| d.manifested),
            d.map_or(0, |d| d.detected_by),
            r.honest_nodes,
            d.and_then(|d| d.latency_rounds)
                .map_or_else(String::new, |l| l.to_string()),
            csv_field(&d.map_or_else(|| HONEST_NOTE.to_string(), |d| d.note.clone()))
        ));
    }
    out
}

/// The evidence records, as CSV.
pub fn evidence_csv(r: &TrustResults) -> String {
    let mut out = String::from("digest,kind,accused,accused_behaviour,first_round,all_round\r\n");
    for e in &r.evidence {
        let behaviour = r
            .members
            .iter()
            .find(|m| m.node == e.accused)
            .map_or("", |m| m.behaviour.name());
        out.push_str(&format!(
            "{},{},{},{},{},{}\r\n",
            e.digest,
            csv_field(&e.kind),
            e.accused,
            behaviour,
            e.first_round,
            e.all_round.map_or_else(String::new, |a| a.to_string())
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::run_jobs;
    use crate::local::{block_on, LocalLink};
    use lab_core::experiment::trust::{self, NAME};
    use lab_core::report::Report;

    fn pairs(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn small() -> TrustConfig {
        TrustConfig {
            nodes: 8,
            dim: 4,
            reference_contrast: true,
            ..TrustConfig::default()
        }
    }

    #[test]
    fn a_byzantine_fraction_in_the_link_sets_the_counts() {
        let (c, issues) = config_from_pairs(&pairs(&[
            ("nodes", "20"),
            ("byzantine", "0.3"),
            ("mix", "corrupter,silent"),
            ("forgers", "4"),
        ]));
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(
            (c.corrupters, c.silent, c.forgers, c.equivocators),
            (3, 3, 0, 0)
        );
        // The page's own link carries the counts and reads back the same.
        let (back, issues) = config_from_pairs(&c.to_query());
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, c);
        // A bad fraction or mix is named; the counts of the link are used.
        for (f, mix) in [("0.99", "all"), ("half", "all"), ("0.2", "sleeper")] {
            let (c, issues) = config_from_pairs(&pairs(&[
                ("nodes", "4"),
                ("byzantine", f),
                ("mix", mix),
                ("forgers", "2"),
            ]));
            assert!(issues.iter().any(|i| i.key == "byzantine"), "{issues:?}");
            c.validate().unwrap();
        }
    }

    /// `config` as one trust job over `workers` in-process workers.
    fn run_in_workers(config: &TrustConfig, workers: u32) -> TrustReport {
        let done = block_on(run_jobs(
            &mut LocalLink::new(workers),
            vec![Job::Trust(config.clone())],
            &["trust run".to_string()],
            &mut |_| {},
        ))
        .unwrap();
        report_from_outputs(done).unwrap()
    }

    #[test]
    fn the_job_output_is_lab_clis_report() {
        let config = small();
        let native = trust::run(&config).unwrap();
        let report = run_in_workers(&config, 2);
        assert_eq!(report.fingerprint, native.fingerprint);
        assert!(report.verdict.passed, "{:?}", report.verdict);
        // The decoded config and results are bit-identical: recomputing the
        // fingerprint from them gives the same digest.
        let again = Report::new(NAME, report.config, report.results, report.verdict);
        assert_eq!(again.fingerprint, native.fingerprint);
    }

    #[test]
    fn a_run_with_faults_in_a_worker_is_lab_clis_report() {
        let (config, issues) = config_from_pairs(&pairs(&[
            ("nodes", "8"),
            ("dim", "4"),
            ("phases", "mod:2@1-6"),
            ("loss", "0.2"),
            ("duplicate", "0.1"),
            ("delay_max", "1"),
        ]));
        assert!(issues.is_empty(), "{issues:?}");
        assert!(!config.faults.is_none());
        let native = trust::run(&config).unwrap();
        let report = run_in_workers(&config, 1);
        assert_eq!(report.config, config);
        assert_eq!(report.fingerprint, native.fingerprint);
        assert_eq!(report.fingerprint, report.recompute_fingerprint());
        assert!(report.verdict.passed, "{:?}", report.verdict);
        let (back, issues) = config_from_pairs(&config.to_query());
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, config);
    }

    #[test]
    fn a_trust_permalink_round_trips() {
        let config = small();
        let (back, issues) = config_from_pairs(&config.to_query());
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, config);
    }

    #[test]
    fn too_many_byzantine_members_name_the_count() {
        let (config, issues) = config_from_pairs(&pairs(&[("equivocators", "999")]));
        assert_eq!(config, TrustConfig::default());
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].key, "equivocators");
        assert_eq!(issues[0].value, "999");
        // Within the node count alone, but too many in total.
        let (config, issues) = config_from_pairs(&pairs(&[("nodes", "10"), ("forgers", "5")]));
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].key, "forgers");
        assert_eq!(config.forgers, 1);
        assert_eq!(config.nodes, 10);
        // The node count is at fault when the counts are at their defaults.
        let (config, issues) = config_from_pairs(&pairs(&[("nodes", "5")]));
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].key, "nodes");
        assert!(issues[0].message.contains("at least 7 nodes"), "{issues:?}");
        assert_eq!(config, TrustConfig::default());
        // Small rosters work once the counts fit.
        let (config, issues) = config_from_pairs(&pairs(&[
            ("nodes", "3"),
            ("forgers", "0"),
            ("replayers", "0"),
            ("outsiders", "0"),
            ("silent", "0"),
        ]));
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(config.byzantine(), 2);
    }

    #[test]
    fn other_bad_values_are_named_by_the_engine() {
        let (_, issues) = config_from_pairs(&pairs(&[("protocol", "all-pairs")]));
        assert_eq!(issues[0].key, "protocol");
        let (_, issues) = config_from_pairs(&pairs(&[("dim", "65")]));
        assert_eq!(issues[0].key, "dim");
    }

    #[test]
    fn csv_tables_are_well_formed() {
        let report = trust::run(&small()).unwrap();
        let r = &report.results;
        for (csv, rows) in [
            (members_csv(r), r.members.len()),
            (evidence_csv(r), r.evidence.len()),
        ] {
            let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
            assert_eq!(lines.len(), 1 + rows, "{csv}");
            let columns = lines[0].split(',').count();
            for line in &lines[1..] {
                // Quoted fields may hold commas: count outside quotes.
                let mut quoted = false;
                let commas = line
                    .chars()
                    .filter(|&c| {
                        if c == '"' {
                            quoted = !quoted;
                        }
                        c == ',' && !quoted
                    })
                    .count();
                assert_eq!(commas + 1, columns, "{line}");
            }
        }
        assert!(!r.evidence.is_empty());
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }

    #[test]
    fn every_drop_reason_is_listed() {
        let d = Drops::default();
        let json = serde_json::to_value(&d).unwrap();
        let rows = drop_rows(&d);
        assert_eq!(rows.len(), json.as_object().unwrap().len());
        for (reason, _, _) in rows {
            assert!(json.get(reason).is_some(), "{reason}");
        }
    }
}
