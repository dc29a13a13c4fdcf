//! :TrustConfig:Trust layer (E4) (page being built).

use crate::query::PageQuery;
use lab_core::experiment::params::QueryIssue;
use lab_core::experiment::trust::TrustConfig;
use leptos::prelude::*;

/// A config from query (or form) pairs: the engine's codec plus the
/// browser's limits.
pub fn config_from_pairs(pairs: &[(String, String)]) -> (TrustConfig, Vec<QueryIssue>) {
    TrustConfig::from_query(pairs)
}

/// The page, initialised from the URL.
#[component]
pub fn TrustPage(query: PageQuery<TrustConfig>) -> impl IntoView {
    let _ = query;
    view! { <h1>":TrustConfig:Trust layer (E4)"</h1><p>"This page is being built."</p> }
}
