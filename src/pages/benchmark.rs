//! In-browser benchmarks (page being built).

use crate::query::PageOptions;
use leptos::prelude::*;

/// The page. `pairs` is the whole URL query.
#[component]
pub fn BenchmarkPage(options: PageOptions, pairs: Vec<(String, String)>) -> impl IntoView {
    let _ = (options, pairs);
    view! { <h1>"In-browser benchmarks"</h1><p>"This page is being built."</p> }
}
