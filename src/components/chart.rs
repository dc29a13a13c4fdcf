//! The convergence chart on the page: the SVG from [`crate::chart`] inline.

use lab_core::experiment::convergence::OrderingResult;
use leptos::prelude::*;

/// Fraction of nodes agreeing per round, one line per ordering.
#[component]
pub fn ConvergenceChart(nodes: u32, orderings: Vec<OrderingResult>) -> impl IntoView {
    let svg = crate::chart::convergence_svg(nodes, &orderings);
    view! {
        <figure class="chart">
            <div class="chart-svg" data-testid="chart" inner_html=svg></div>
            <figcaption>
                "Share of nodes holding the most common state after each round (round 0: every node holds only its own contribution). "
                "Dashed lines are later orderings; identical lines overlap."
            </figcaption>
        </figure>
    }
}
