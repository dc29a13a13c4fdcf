//! :ScaleConfig:Experiment 4 — scalability (page being built).

use crate::query::PageQuery;
use lab_core::experiment::params::QueryIssue;
use lab_core::experiment::scale::ScaleConfig;
use leptos::prelude::*;

/// A config from query (or form) pairs: the engine's codec plus the
/// browser's limits.
pub fn config_from_pairs(pairs: &[(String, String)]) -> (ScaleConfig, Vec<QueryIssue>) {
    ScaleConfig::from_query(pairs)
}

/// The page, initialised from the URL.
#[component]
pub fn ScalePage(query: PageQuery<ScaleConfig>) -> impl IntoView {
    let _ = query;
    view! { <h1>":ScaleConfig:Experiment 4 — scalability"</h1><p>"This page is being built."</p> }
}
