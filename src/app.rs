//! The app shell: header with the page tabs, the selected page, and a
//! footer. The page is chosen by the `exp` query parameter, so no router is
//! needed and a permalink is just the URL. `embed=1` drops the header and
//! footer (a chrome-less view of one experiment for an iframe).

use crate::browser;
use crate::pages;
use crate::pages::benchmark::BenchmarkPage;
use crate::pages::convergence::ConvergencePage;
use crate::pages::overview::OverviewPage;
use crate::pages::partition::PartitionPage;
use crate::pages::reproduce::ReproducePage;
use crate::pages::scale::ScalePage;
use crate::pages::suite::SuitePage;
use crate::pages::sweep::SweepPage;
use crate::pages::trust::TrustPage;
use crate::query::{parse_query, read_options, read_page_query};
use lab_core::experiment::params::QueryIssue;
use leptos::prelude::*;

/// A page of the lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    Overview,
    Convergence,
    Partition,
    Sweep,
    Scale,
    Trust,
    Suite,
    Reproduce,
    Benchmark,
}

impl PageKind {
    /// Every page, in tab order: (page, `exp` value, tab label).
    pub const ALL: [(PageKind, &'static str, &'static str); 9] = [
        (PageKind::Overview, "overview", "Overview"),
        (PageKind::Convergence, "convergence", "1 · Convergence"),
        (PageKind::Partition, "partition", "2 · Partition"),
        (PageKind::Sweep, "sweep", "3 · Strategies"),
        (PageKind::Scale, "scale", "4 · Scalability"),
        (PageKind::Trust, "trust", "5 · Trust"),
        (PageKind::Suite, "suite", "Full suite"),
        (PageKind::Reproduce, "reproduce", "Reproduce"),
        (PageKind::Benchmark, "benchmark", "Benchmarks"),
    ];

    /// The page an `exp` value names.
    pub fn from_exp(exp: &str) -> Option<PageKind> {
        PageKind::ALL
            .iter()
            .find(|(_, e, _)| *e == exp)
            .map(|(p, _, _)| *p)
    }
}

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    let pairs = parse_query(&browser::location_search());
    let mut shell_issues: Vec<QueryIssue> = Vec::new();
    let exp = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "exp")
        .map(|(_, v)| v.clone());
    let page = match exp.as_deref() {
        None => PageKind::Overview,
        Some(e) => PageKind::from_exp(e).unwrap_or_else(|| {
            shell_issues.push(crate::query::issue(
                "exp",
                e,
                "unknown page; showing Experiment 1".into(),
            ));
            PageKind::Convergence
        }),
    };
    let embed = read_options(&pairs, &mut Vec::new()).embed;
    let body = page_view(page, &pairs, shell_issues);
    if embed {
        return view! { <main id="main" class="wrap embed">{body}</main> }.into_any();
    }
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="site-header">
            <div class="wrap">
                <p class="brand"><a href="?exp=overview">"Convergence Lab"</a></p>
                <p class="tagline">"Why CRDT-based model merging converges — reproducible, in your browser"</p>
                <nav aria-label="Experiments">
                    <ul class="tabs">
                        {PageKind::ALL.map(|(p, exp, label)| tab(exp, label, p == page)).collect_view()}
                    </ul>
                </nav>
            </div>
        </header>
        <main id="main" class="wrap">{body}</main>
        <footer class="site-footer">
            <div class="wrap">
                <p>"Runs entirely in this browser: no server computes anything and nothing is uploaded. "
                "Same config, same fingerprint — here and in " <code>"lab-cli"</code>"."</p>
            </div>
        </footer>
    }
    .into_any()
}

/// The selected page, read from the query; `shell_issues` (an unknown
/// `exp`) are shown with the page's own link problems.
fn page_view(page: PageKind, pairs: &[(String, String)], shell_issues: Vec<QueryIssue>) -> AnyView {
    macro_rules! experiment {
        ($module:ident, $page:ident) => {{
            let mut query = read_page_query(pairs, pages::$module::config_from_pairs);
            query.issues.splice(0..0, shell_issues);
            view! { <$page query/> }.into_any()
        }};
    }
    let options = read_options(pairs, &mut Vec::new());
    match page {
        PageKind::Convergence => {
            let mut query = read_page_query(pairs, crate::query::config_from_pairs);
            query.issues.splice(0..0, shell_issues);
            view! { <ConvergencePage query/> }.into_any()
        }
        PageKind::Partition => experiment!(partition, PartitionPage),
        PageKind::Sweep => experiment!(sweep, SweepPage),
        PageKind::Scale => experiment!(scale, ScalePage),
        PageKind::Trust => experiment!(trust, TrustPage),
        PageKind::Suite => experiment!(suite, SuitePage),
        PageKind::Overview => view! { <OverviewPage options pairs=pairs.to_vec()/> }.into_any(),
        PageKind::Reproduce => view! { <ReproducePage options pairs=pairs.to_vec()/> }.into_any(),
        PageKind::Benchmark => view! { <BenchmarkPage options pairs=pairs.to_vec()/> }.into_any(),
    }
}

fn tab(exp: &'static str, label: &'static str, current: bool) -> impl IntoView {
    view! {
        <li>
            <a href=format!("?exp={exp}") aria-current=current.then_some("page")>{label}</a>
        </li>
    }
}
