//! :SweepConfig:Experiment 3 — strategy sweep (page being built).

use crate::query::PageQuery;
use lab_core::experiment::params::QueryIssue;
use lab_core::experiment::sweep::SweepConfig;
use leptos::prelude::*;

/// A config from query (or form) pairs: the engine's codec plus the
/// browser's limits.
pub fn config_from_pairs(pairs: &[(String, String)]) -> (SweepConfig, Vec<QueryIssue>) {
    SweepConfig::from_query(pairs)
}

/// The page, initialised from the URL.
#[component]
pub fn SweepPage(query: PageQuery<SweepConfig>) -> impl IntoView {
    let _ = query;
    view! { <h1>":SweepConfig:Experiment 3 — strategy sweep"</h1><p>"This page is being built."</p> }
}
