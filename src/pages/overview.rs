//! The landing page: what the lab demonstrates (Layer 1 / Layer 2 and the
//! negative control) in a few sentences and one diagram, the seed lab's
//! "Key Results" side by side with what this browser measures when asked
//! (nothing heavy runs on load: workers are spawned on "Measure"), and a
//! line per experiment page.
//!
//! - [`measure`]: the plan and the measuring procedure (no web API);
//! - [`claims`]: the Key Results rows, measured or not;
//! - [`diagram`]: the diagram (SVG).

pub mod claims;
pub mod diagram;
pub mod measure;

use crate::browser;
use crate::components::progress::ProgressBar;
use crate::components::report::{execution_text, outcome_view, Download, Downloads, QueryIssues};
use crate::pages::benchmark::quick_from_pairs;
use crate::query::{encode_query, PageOptions};
use crate::runner::{Finished, Measured, Outcome, Runner, Status, StatusSink, TaskFuture};
use claims::{claims, claims_csv, Claim};
use diagram::{diagram_svg, Layout};
use leptos::prelude::*;
use measure::{measure, Measurements, Plan};
use std::sync::Arc;

/// Experiment name in the JSON export.
pub const NAME: &str = "overview";

/// What "Measure" exports: the plan, the measurements, and where.
pub type OverviewReport = Measured<Plan, Measurements>;

fn task(plan: Plan) -> impl FnOnce(crate::pool::Pool, StatusSink) -> TaskFuture<OverviewReport> {
    move |mut pool, sink| {
        Box::pin(async move {
            let result = measure(&mut pool, &plan, &mut |p| {
                sink(Status {
                    fraction: p.fraction,
                    text: p.text,
                })
            })
            .await;
            let result = result.map(|results| Finished {
                phases_ms: Vec::new(),
                report: OverviewReport::new(NAME, plan, results),
            });
            (pool, result)
        })
    }
}

/// The page's permalink query (measures on load).
fn overview_query(quick: bool, options: &PageOptions) -> String {
    let mut pairs = vec![("exp".to_string(), NAME.to_string())];
    if quick {
        pairs.push(("quick".into(), "1".into()));
    }
    if let Some(n) = options.workers {
        pairs.push(("workers".into(), n.to_string()));
    }
    pairs.push(("run".into(), "1".into()));
    encode_query(&pairs)
}

/// The page. `pairs` is the whole URL query.
#[component]
pub fn OverviewPage(options: PageOptions, pairs: Vec<(String, String)>) -> impl IntoView {
    let mut issues = Vec::new();
    crate::query::read_options(&pairs, &mut issues);
    let quick = quick_from_pairs(&pairs, &mut issues);
    let plan = if quick { Plan::quick() } else { Plan::full() };
    view! {
        <Intro/>
        <QueryIssues issues/>
        {match plan {
            Ok(plan) => view! { <KeyResults plan options/> }.into_any(),
            Err(e) => view! {
                <p class="notice error" role="alert">"The golden fingerprints could not be read: "{e}</p>
            }.into_any(),
        }}
        <Experiments/>
    }
}

#[component]
fn Intro() -> impl IntoView {
    let wide = diagram_svg(Layout::Wide);
    let tall = diagram_svg(Layout::Tall);
    let download = wide.clone();
    view! {
        <section class="intro" aria-labelledby="ov-title">
            <h1 id="ov-title">"Why CRDT-based model merging converges"</h1>
            <p>
                "N nodes each contribute a model (a tensor) and gossip with each other in some order. Will they all end up with the "
                <em>"same"</em>" merged model? This lab shows that they do — bit for bit — when merging is split into two layers:"
            </p>
            <ul>
                <li><strong>"Layer 1"</strong>" — each node keeps the "<em>"set"</em>" of contributions it has seen. Merging two sets is a CRDT join (commutative, associative, idempotent), so every order of gossip, with any repeats, gives the same set."</li>
                <li><strong>"Layer 2"</strong>" — the merge strategy (weight averaging, TIES, SLERP, … 35 of them) is applied "<em>"once"</em>", to the whole set in a canonical order. Same set in, same bits out."</li>
            </ul>
            <p>
                "The "<strong>"negative control"</strong>" applies the same strategy pairwise, as messages arrive — what a naive system does. Because most strategies are not associative, "
                "nodes that saw different gossip orders end with different models."
            </p>
        </section>
        <figure class="chart ov-figure">
            <div class="chart-svg ov-wide" data-testid="diagram" inner_html=wide></div>
            <div class="chart-svg ov-tall" inner_html=tall></div>
            <figcaption>"First the lab's two layers, then the negative control. Every experiment page checks one side of this picture."</figcaption>
        </figure>
        <Downloads stem="convergence-lab".to_string() items=vec![Download::svg("Diagram (SVG)", "export-diagram", "-diagram.svg", move || download.clone())]/>
    }
}

#[component]
fn KeyResults(plan: Plan, options: PageOptions) -> impl IntoView {
    let workers = crate::runner::page_workers(&options);
    // Workers are spawned on the first "Measure", not on load: the landing
    // page stays light. The owner keeps the runner's signals alive.
    let owner = Owner::current();
    let runner = RwSignal::new_local(None::<Runner<OverviewReport>>);
    let plan_for_run = plan.clone();
    let start = move || {
        let r = match runner.get_untracked() {
            Some(r) => r,
            None => {
                let make = || Runner::<OverviewReport>::new(workers);
                let r = match &owner {
                    Some(o) => o.with(make),
                    None => make(),
                };
                runner.set(Some(r));
                r
            }
        };
        r.start(task(plan_for_run.clone()));
    };
    if options.run {
        start();
    }
    let running = Signal::derive(move || runner.get().is_some_and(|r| r.running.get()));
    let outcome = move || runner.get().and_then(|r| r.outcome.get());
    let measured = move || match outcome() {
        Some(Outcome::Done(report)) => Some(report),
        _ => None,
    };
    let plan = Arc::new(plan);
    let plan_table = plan.clone();
    let rows = Memo::new(move |_| claims(&plan_table, measured().as_ref().map(|r| &r.results)));
    let quick = plan.quick;
    view! {
        <section aria-labelledby="ov-key">
            <h2 id="ov-key">"The seed lab's Key Results, measured here"</h2>
            <p>
                "The seed lab (the Python demo this lab re-creates) published the claims below. Press "<strong>"Measure"</strong>
                " to test each one in this browser — a few seconds of small runs on "{workers}" web worker"{if workers == 1 { "" } else { "s" }}
                " — and see which hold as stated. The “how” column says exactly what runs."
            </p>
            <div class="actions">
                <button type="button" class="primary" data-testid="measure" disabled=move || running.get() on:click=move |_| start()>
                    "Measure in this browser"
                </button>
                <button type="button" data-testid="cancel" disabled=move || !running.get()
                    on:click=move |_| { if let Some(r) = runner.get_untracked() { r.cancel() } }>
                    "Cancel"
                </button>
            </div>
            {move || runner.get().map(|r| view! { <ProgressBar clock=r.clock.into()/> })}
            {move || outcome().and_then(|o| match o {
                Outcome::Done(_) => None,
                other => Some(outcome_view(other, |_| ().into_any())),
            })}
            <ClaimsTable rows=rows.into()/>
            {move || measured().map(|report| view! { <MeasuredFooter report options quick/> })}
        </section>
    }
}

#[component]
fn ClaimsTable(rows: Signal<Vec<Claim>>) -> impl IntoView {
    view! {
        <div class="table-wrap ov-claims-wrap" role="region" aria-label="Key results: the seed's claims and what this browser measured" tabindex="0">
            <table class="results ov-claims" data-testid="claims">
                <thead>
                    <tr>
                        <th scope="col">"Seed's claim"</th>
                        <th scope="col">"Measured here"</th>
                        <th scope="col">"How"</th>
                        <th scope="col">"Holds?"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || rows.get().into_iter().map(claim_row).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

fn claim_row(c: Claim) -> impl IntoView {
    view! {
        <tr data-claim=c.key>
            <th scope="row" data-label="Seed's claim"><span class="ov-metric">{c.metric}</span>" "<span class="ov-seed">{c.seed}</span></th>
            <td data-label="Measured here" data-testid="measured">{c.measured}</td>
            <td data-label="How" class="ov-how">{c.how}</td>
            <td data-label="Holds?" class=format!("ov-holds {}", c.holds.class()) data-testid="holds" data-holds=c.holds.word()>
                <strong><span aria-hidden="true">{c.holds.mark()}" "</span>{c.holds.word()}</strong>
                {(!c.why.is_empty()).then(|| view! { <br/><small>{c.why.clone()}</small> })}
            </td>
        </tr>
    }
}

#[component]
fn MeasuredFooter(report: Arc<OverviewReport>, options: PageOptions, quick: bool) -> impl IntoView {
    let rows = claims(&report.config, Some(&report.results));
    let permalink = format!(
        "{}?{}",
        browser::location_base(),
        overview_query(quick, &options)
    );
    let downloads = vec![
        Download::json(report.clone()),
        Download::csv("Table (CSV)", "export-csv", ".csv", move || {
            claims_csv(&rows)
        }),
    ];
    view! {
        <p class="muted" data-testid="environment">{execution_text(report.execution.as_ref())}</p>
        {quick.then(|| view! { <p class="notice warn">"Measured with the quick (smaller) configuration of this link."</p> })}
        <Downloads stem=format!("overview-{}w", report.results.workers) items=downloads/>
        <p>"Permalink (measures on load): " <a href=permalink.clone() data-testid="permalink">{permalink.clone()}</a></p>
    }
}

#[component]
fn Experiments() -> impl IntoView {
    let pages: [(&str, &str, &str); 8] = [
        ("convergence", "1 · Convergence", "N nodes gossip under K orderings; every node must end with the same state and a bit-identical merged model."),
        ("partition", "2 · Partition", "The network splits for a while (with loss, duplication, delay); each group converges alone, and after the heal everyone converges."),
        ("sweep", "3 · Strategies", "Every merge strategy through Layer 1, next to the negative control (pairwise merging in gossip order) that diverges."),
        ("scale", "4 · Scalability", "Rounds, messages and bytes versus network size, against what gossip theory predicts."),
        ("trust", "5 · Trust", "Signed contributions, proof-carrying operations and evidence against Byzantine peers; honest nodes agree on trust exactly."),
        ("suite", "Full suite", "Experiments 1–4 in one report, including the seed lab's default suite."),
        ("reproduce", "Reproduce", "Check a report file: recompute its fingerprint here and compare it with lab-cli's."),
        ("benchmark", "Benchmarks", "How fast this browser runs the engine, next to native reference numbers and the issue's targets."),
    ];
    view! {
        <section aria-labelledby="ov-pages">
            <h2 id="ov-pages">"The experiments"</h2>
            <ul class="ov-pages" data-testid="pages">
                {pages
                    .into_iter()
                    .map(|(exp, title, line)| view! {
                        <li><a href=format!("?exp={exp}")>{title}</a>" — "{line}</li>
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permalink_measures_on_load() {
        let options = PageOptions {
            workers: Some(3),
            ..PageOptions::default()
        };
        assert_eq!(
            overview_query(true, &options),
            "exp=overview&quick=1&workers=3&run=1"
        );
    }
}
