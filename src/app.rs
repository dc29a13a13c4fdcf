//! The app shell: header with the page tabs, the selected page, and a
//! footer. The page is chosen by the `exp` query parameter, so no router is
//! needed and a permalink is just the URL. `embed=1` drops the header and
//! footer (a chrome-less view of one experiment for an iframe).
//!
//! Every tab is a full navigation, so the app ships as two bundles: the
//! page's own (`src/main.rs`: overview, Experiments 1–3, Reproduce) and a
//! second one for the rarely used pages (`src/bin/pages.rs`: scalability,
//! trust, full suite, benchmarks; see [`PageKind::in_pages_bundle`]), which
//! the first loads instead of mounting itself. Each bundle links only the
//! pages its [`Pages`] function names.

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

    /// Shown by the second bundle (`src/bin/pages.rs`), not the page's own.
    pub fn in_pages_bundle(self) -> bool {
        matches!(
            self,
            PageKind::Scale | PageKind::Trust | PageKind::Suite | PageKind::Benchmark
        )
    }

    /// The page an `exp` value names.
    pub fn from_exp(exp: &str) -> Option<PageKind> {
        PageKind::ALL
            .iter()
            .find(|(_, e, _)| *e == exp)
            .map(|(p, _, _)| *p)
    }
}

/// Renders `page` from the query `pairs`; `shell_issues` (an unknown
/// `exp`) are shown with the page's own link problems. Each bundle passes
/// the function that names the pages it carries.
pub type Pages = fn(PageKind, &[(String, String)], Vec<QueryIssue>) -> AnyView;

/// The page the `exp` query parameter selects (the last one wins), and
/// the link problem of an unknown value.
pub fn selected_page(pairs: &[(String, String)]) -> (PageKind, Vec<QueryIssue>) {
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
    (page, shell_issues)
}

/// The page this URL shows.
pub fn current_page() -> PageKind {
    selected_page(&parse_query(&browser::location_search())).0
}

/// The whole app, showing the pages `pages` renders.
pub fn app(pages: Pages) -> impl IntoView {
    let pairs = parse_query(&browser::location_search());
    let (page, shell_issues) = selected_page(&pairs);
    let embed = read_options(&pairs, &mut Vec::new()).embed;
    let body = pages(page, &pairs, shell_issues);
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

macro_rules! experiment {
    ($pairs:ident, $shell_issues:ident, $config_from_pairs:path, $page:ident) => {{
        let mut query = read_page_query($pairs, $config_from_pairs);
        query.issues.splice(0..0, $shell_issues);
        view! { <$page query/> }.into_any()
    }};
}

/// The page bundle's pages (`src/main.rs`); the others are never asked of
/// it (its `main` loads the second bundle for them), and show Experiment 1
/// if they are.
pub fn main_pages(
    page: PageKind,
    pairs: &[(String, String)],
    shell_issues: Vec<QueryIssue>,
) -> AnyView {
    let options = read_options(pairs, &mut Vec::new());
    match page {
        PageKind::Partition => experiment!(
            pairs,
            shell_issues,
            pages::partition::config_from_pairs,
            PartitionPage
        ),
        PageKind::Sweep => experiment!(
            pairs,
            shell_issues,
            pages::sweep::config_from_pairs,
            SweepPage
        ),
        PageKind::Overview => view! { <OverviewPage options pairs=pairs.to_vec()/> }.into_any(),
        PageKind::Reproduce => view! { <ReproducePage options pairs=pairs.to_vec()/> }.into_any(),
        PageKind::Convergence
        | PageKind::Scale
        | PageKind::Trust
        | PageKind::Suite
        | PageKind::Benchmark => experiment!(
            pairs,
            shell_issues,
            crate::query::config_from_pairs,
            ConvergencePage
        ),
    }
}

/// Every page (the second bundle, `src/bin/pages.rs`).
pub fn all_pages(
    page: PageKind,
    pairs: &[(String, String)],
    shell_issues: Vec<QueryIssue>,
) -> AnyView {
    let options = read_options(pairs, &mut Vec::new());
    match page {
        PageKind::Scale => experiment!(
            pairs,
            shell_issues,
            pages::scale::config_from_pairs,
            ScalePage
        ),
        PageKind::Trust => experiment!(
            pairs,
            shell_issues,
            pages::trust::config_from_pairs,
            TrustPage
        ),
        PageKind::Suite => experiment!(
            pairs,
            shell_issues,
            pages::suite::config_from_pairs,
            SuitePage
        ),
        PageKind::Benchmark => view! { <BenchmarkPage options pairs=pairs.to_vec()/> }.into_any(),
        _ => main_pages(page, pairs, shell_issues),
    }
}

fn tab(exp: &'static str, label: &'static str, current: bool) -> impl IntoView {
    view! {
        <li>
            <a href=format!("?exp={exp}") aria-current=current.then_some("page")>{label}</a>
        </li>
    }
}
