//! The app shell: header with the experiment tabs, the selected page, and a
//! footer. The page is chosen by the `exp` query parameter (only
//! `exp=convergence` exists so far), so no router is needed and a
//! permalink is just the URL.

use crate::browser;
use crate::pages::convergence::ConvergencePage;
use crate::query::{parse_query, read_page_query};
use leptos::prelude::*;

/// The experiments, in tab order: (query value, tab label, available).
const EXPERIMENTS: [(&str, &str, bool); 5] = [
    ("convergence", "1 · Convergence", true),
    ("partition", "2 · Partition", false),
    ("sweep", "3 · Strategies", false),
    ("scalability", "4 · Scalability", false),
    ("trust", "5 · Trust", false),
];

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    let query = read_page_query(&parse_query(&browser::location_search()));
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="site-header">
            <div class="wrap">
                <p class="brand"><a href="?exp=convergence">"Convergence Lab"</a></p>
                <p class="tagline">"Why CRDT-based model merging converges — reproducible, in your browser"</p>
                <nav aria-label="Experiments">
                    <ul class="tabs">{EXPERIMENTS.map(tab).collect_view()}</ul>
                </nav>
            </div>
        </header>
        <main id="main" class="wrap">
            <ConvergencePage query/>
        </main>
        <footer class="site-footer">
            <div class="wrap">
                <p>"Runs entirely in this browser: no server computes anything and nothing is uploaded. "
                "Same config, same fingerprint — here and in " <code>"lab-cli"</code>"."</p>
            </div>
        </footer>
    }
}

fn tab((exp, label, available): (&'static str, &'static str, bool)) -> impl IntoView {
    if available {
        view! { <li><a href=format!("?exp={exp}") aria-current="page">{label}</a></li> }.into_any()
    } else {
        view! { <li><span class="soon" title="coming soon">{label}</span></li> }.into_any()
    }
}
