//! The full suite: Experiments 1–4 in one report (page being built).

use crate::query::PageQuery;
use lab_core::experiment::params::QueryIssue;
use lab_core::experiment::suite::SuiteConfig;
use leptos::prelude::*;

/// A suite config from query (or form) pairs.
pub fn config_from_pairs(_pairs: &[(String, String)]) -> (SuiteConfig, Vec<QueryIssue>) {
    (SuiteConfig::seed_preset(), Vec::new())
}

/// The page, initialised from the URL.
#[component]
pub fn SuitePage(query: PageQuery<SuiteConfig>) -> impl IntoView {
    let _ = query;
    view! { <h1>"Full suite"</h1><p>"This page is being built."</p> }
}
