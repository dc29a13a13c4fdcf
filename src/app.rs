//! The app shell: header with the page tabs, the selected page, and a
//! footer. The page is chosen by the `exp` query parameter, so no router is
//! needed and a permalink is just the URL. `embed=1` drops the header and
//! footer (a chrome-less view of one experiment for an iframe).

use crate::browser;
use crate::pages::convergence::ConvergencePage;
use crate::pages::partition::PartitionPage;
use crate::query::{parse_query, read_options, read_page_query};
use lab_core::experiment::params::QueryIssue;
use leptos::prelude::*;

/// A page of the lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    Convergence,
    Partition,
}

impl PageKind {
    /// Every page, in tab order: (page, `exp` value, tab label).
    pub const ALL: [(PageKind, &'static str, &'static str); 2] = [
        (PageKind::Convergence, "convergence", "1 · Convergence"),
        (PageKind::Partition, "partition", "2 · Partition"),
    ];

    /// The page an `exp` value names.
    pub fn from_exp(exp: &str) -> Option<PageKind> {
        PageKind::ALL
            .iter()
            .find(|(_, e, _)| *e == exp)
            .map(|(p, _, _)| *p)
    }
}

/// Pages that do not exist yet, shown as disabled tabs.
const COMING: [&str; 3] = ["3 · Strategies", "4 · Scalability", "5 · Trust"];

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
        None => PageKind::Convergence,
        Some(e) => PageKind::from_exp(e).unwrap_or_else(|| {
            shell_issues.push(crate::query::issue(
                "exp",
                e,
                "unknown experiment; showing Experiment 1".into(),
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
                <p class="brand"><a href="?exp=convergence">"Convergence Lab"</a></p>
                <p class="tagline">"Why CRDT-based model merging converges — reproducible, in your browser"</p>
                <nav aria-label="Experiments">
                    <ul class="tabs">
                        {PageKind::ALL.map(|(p, exp, label)| tab(exp, label, p == page)).collect_view()}
                        {COMING.map(|label| view! { <li><span class="soon" title="coming soon">{label}</span></li> }).collect_view()}
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
    match page {
        PageKind::Convergence => {
            let mut query = read_page_query(pairs, crate::query::config_from_pairs);
            query.issues.splice(0..0, shell_issues);
            view! { <ConvergencePage query/> }.into_any()
        }
        PageKind::Partition => {
            let mut query = read_page_query(pairs, crate::pages::partition::config_from_pairs);
            query.issues.splice(0..0, shell_issues);
            view! { <PartitionPage query/> }.into_any()
        }
    }
}

fn tab(exp: &'static str, label: &'static str, current: bool) -> impl IntoView {
    view! {
        <li>
            <a href=format!("?exp={exp}") aria-current=current.then_some("page")>{label}</a>
        </li>
    }
}
